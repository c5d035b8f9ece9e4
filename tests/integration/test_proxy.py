"""The PROXY protocol: a balancer in proxy_from puts a version 1 or 2
header before its client's bytes, and porterd serves the client the header
names: access rules, limits, logs, the server's environment and the relay
to a backend (redirect_proxy) all see that client. Headers are built here
byte by byte, as haproxy's proxy-protocol.txt describes them, and sent from
127.0.0.1 (the balancer) to porterd over loopback."""
import json
import os
import re
import socket
import struct
import subprocess
import time

from harness import PorterTest, SLOW, entry, recv_all, refusals, wait_for

PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))

SIG = b"\r\n\r\n\x00\r\nQUIT\n"

# A server that reads one line, then tells what it sees.
SERVER = "#!/bin/sh\nread line\necho \"line=$line\"\nenv | sort\n"


def v1(src, dst, sport, dport, fam="TCP4"):
    return ("PROXY %s %s %s %d %d\r\n" % (fam, src, dst, sport, dport)).encode()


def tlv(kind, value):
    return struct.pack("!BH", kind, len(value)) + value


def v2(src, dst, sport, dport, tlvs=b"", cmd=0x21, fam=0x11):
    if fam >> 4 == 2:
        addrs = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    else:
        addrs = socket.inet_aton(src) + socket.inet_aton(dst)
    body = addrs + struct.pack("!HH", sport, dport) + tlvs
    return SIG + bytes([cmd, fam]) + struct.pack("!H", len(body)) + body


def env_of(data):
    out = {}
    for line in data.decode(errors="replace").splitlines():
        k, _, v = line.partition("=")
        out.setdefault(k, v)
    return out


def ask(port, data, source="127.0.0.1", pieces=False, timeout=5.0):
    """Sends data (byte by byte when pieces) from source; returns all the
    answer."""
    with socket.create_connection(("127.0.0.1", port), timeout * SLOW,
                                  source_address=(source, 0)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if pieces:
            for i in range(len(data)):
                s.sendall(data[i:i + 1])
                time.sleep(0.002)  # separate segments, not a wait for anything
        else:
            s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s)


class ProxyTest(PorterTest):
    def start_proxy(self, extra_services="", **attrs):
        a = dict(type="UNLISTED", port="{PORT0}", socket_type="stream", wait="no", user="root",
                 server="{DIR}/server.sh", bind="127.0.0.1", proxy_protocol="any",
                 proxy_from="127.0.0.1", log_on_success="PID HOST EXIT",
                 log_on_failure="HOST")
        a.update(attrs)
        return self.start(entry("tell", **a) + extra_services, files={"server.sh": SERVER})

    def test_v1_client_is_the_one_the_header_names(self):
        d = self.start_proxy(log_type="FILE {DIR}/tell.json json")
        # Header and data in one segment: the data reaches the server.
        out = env_of(ask(d.port, v1("192.0.2.7", "198.51.100.1", 40001, 8080) + b"hello\n"))
        self.assertEqual(out["line"], "hello")
        self.assertEqual((out["REMOTE_ADDR"], out["REMOTE_PORT"]), ("192.0.2.7", "40001"))
        self.assertEqual((out["TCPREMOTEIP"], out["TCPREMOTEPORT"]), ("192.0.2.7", "40001"))
        self.assertEqual((out["TCPLOCALIP"], out["TCPLOCALPORT"]), ("198.51.100.1", "8080"))
        self.assertEqual(out["PROXY_PEER"], "127.0.0.1")
        path = os.path.join(d.dir, "tell.json")
        wait_for(lambda: os.path.exists(path) and b"EXIT" in open(path, "rb").read(),
                 what="the JSON lines")
        with open(path) as f:
            start = [json.loads(l) for l in f if l.strip()][0]
        self.assertEqual((start["event"], start["from"], start["via"]),
                         ("START", "192.0.2.7", "127.0.0.1"))
        # IPv6 clients, and a header sent one byte at a time.
        out = env_of(ask(d.port, v1("2001:db8::5", "2001:db8::1", 5, 6, "TCP6") + b"six\n",
                         pieces=True))
        self.assertEqual((out["line"], out["REMOTE_ADDR"]), ("six", "2001:db8::5"))

    def test_v2_with_tlvs(self):
        d = self.start_proxy()
        ssl = struct.pack("!BI", 0x01, 0) + tlv(0x21, b"TLSv1.3") + tlv(0x22, b"client.example")
        tlvs = (tlv(0x04, b"\0" * 7) + tlv(0x02, b"www.example.org") +
                tlv(0x05, b"req-\x01\x7f-1") + tlv(0x01, b"h2") + tlv(0x20, ssl) +
                tlv(0x30, b"netns"))
        out = env_of(ask(d.port, v2("203.0.113.9", "203.0.113.1", 1234, 443, tlvs) + b"v2\n",
                         pieces=True))
        self.assertEqual((out["line"], out["REMOTE_ADDR"], out["REMOTE_PORT"]),
                         ("v2", "203.0.113.9", "1234"))
        self.assertEqual((out["TCPLOCALIP"], out["TCPLOCALPORT"]), ("203.0.113.1", "443"))
        self.assertEqual(out["PROXY_AUTHORITY"], "www.example.org")
        self.assertEqual(out["PROXY_UNIQUE_ID"], "req-??-1")
        self.assertEqual(out["PROXY_SSL_CN"], "client.example")
        self.assertEqual(out["PROXY_ALPN"], "h2")
        out = env_of(ask(d.port, v2("2001:db8::9", "2001:db8::1", 7, 8, fam=0x21) + b"x\n"))
        self.assertEqual(out["REMOTE_ADDR"], "2001:db8::9")

    def test_local_and_unknown_keep_the_connection_ends(self):
        d = self.start_proxy()
        out = env_of(ask(d.port, SIG + b"\x20\x00\x00\x00" + b"local\n"))
        self.assertEqual((out["line"], out["REMOTE_ADDR"]), ("local", "127.0.0.1"))
        self.assertEqual(out["PROXY_PEER"], "127.0.0.1")
        out = env_of(ask(d.port, b"PROXY UNKNOWN whatever\r\nunknown\n"))
        self.assertEqual((out["line"], out["REMOTE_ADDR"]), ("unknown", "127.0.0.1"))

    def test_rules_and_limits_see_the_real_client(self):
        d = self.start_proxy(only_from="192.0.2.0/24", no_access="192.0.2.66",
                             per_source="1", server="/bin/sleep", server_args="30")
        held = socket.create_connection(("127.0.0.1", d.port), 5 * SLOW)
        self.addCleanup(held.close)
        held.sendall(v1("192.0.2.1", "198.51.100.1", 1, 2))
        d.wait_log(r"START: tell pid=\d+ from=192\.0\.2\.1 via=127\.0\.0\.1$")
        # The same client through the balancer again: per_source holds.
        self.assertEqual(ask(d.port, v1("192.0.2.1", "198.51.100.1", 3, 2)), b"")
        d.wait_log(r"FAIL: tell per_source_limit from=192\.0\.2\.1 via=127\.0\.0\.1$")
        # Another client is let in.
        other = socket.create_connection(("127.0.0.1", d.port), 5 * SLOW)
        self.addCleanup(other.close)
        other.sendall(v1("192.0.2.2", "198.51.100.1", 1, 2))
        d.wait_log(r"START: tell pid=\d+ from=192\.0\.2\.2 via=127\.0\.0\.1$")
        # porterctl sees the real clients too.
        r = subprocess.run([PORTERCTL, "-C", d.control, "--json", "connections"],
                           capture_output=True, text=True, timeout=30 * SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(c["peer"].rsplit(":", 1)[0] for c in json.loads(r.stdout)),
                         ["192.0.2.1", "192.0.2.2"])
        # only_from and no_access decide on the real client.
        self.assertEqual(ask(d.port, v1("203.0.113.5", "198.51.100.1", 1, 2)), b"")
        d.wait_log(r"FAIL: tell address from=203\.0\.113\.5 via=127\.0\.0\.1$")
        self.assertEqual(ask(d.port, v1("192.0.2.66", "198.51.100.1", 1, 2)), b"")
        d.wait_log(r"FAIL: tell address from=192\.0\.2\.66 via=127\.0\.0\.1$")

    def test_clients_not_in_proxy_from_are_direct(self):
        """A header from elsewhere is data: the echo service echoes it,
        and the client is 127.0.0.2 itself."""
        echo = entry("echo", type="INTERNAL UNLISTED", id="echo", port="{PORT1}",
                     socket_type="stream", wait="no", bind="127.0.0.1", proxy_protocol="v1",
                     proxy_from="127.0.0.1", log_on_success="HOST")
        d = self.start_proxy(echo)
        hdr = v1("192.0.2.7", "198.51.100.1", 1, 2)
        self.assertEqual(ask(d.ports[1], hdr + b"data", source="127.0.0.2"), hdr + b"data")
        d.wait_log(r"START: echo from=127\.0\.0\.2$")
        # Through the balancer, the builtin serves the client after it.
        self.assertEqual(ask(d.ports[1], hdr + b"data"), b"data")
        d.wait_log(r"START: echo from=192\.0\.2\.7 via=127\.0\.0\.1$")

    def test_a_header_from_elsewhere_does_not_pass_the_rules(self):
        """A client outside proxy_from that sends a header naming an allowed
        address is judged as itself, and refused."""
        d = self.start_proxy(only_from="192.0.2.0/24")
        self.assertEqual(ask(d.port, v1("192.0.2.7", "198.51.100.1", 1, 2) + b"x\n",
                             source="127.0.0.2"), b"")
        d.wait_log(r"FAIL: tell address from=127\.0\.0\.2$")
        self.assertEqual(d.count_log(r"START: tell"), 0, d.text())
        out = env_of(ask(d.port, v1("192.0.2.7", "198.51.100.1", 1, 2) + b"y\n"))
        self.assertEqual((out["line"], out["REMOTE_ADDR"]), ("y", "192.0.2.7"))

    def test_bad_headers_are_refused(self):
        d = self.start_proxy(proxy_protocol="v2", proxy_timeout="1")
        cases = [
            (v1("192.0.2.1", "192.0.2.2", 1, 2), "version 1 header where version 2 is expected"),
            (b"GET / HTTP/1.0\r\n\r\n", "no PROXY header"),
            (SIG + b"\x21\x11\xff\xff", "version 2 header longer than porterd reads"),
            (SIG + b"\x21\x41\x00\x0c" + b"\0" * 12, "version 2 unknown address family"),
            (SIG + b"\x21\x12\x00\x0c" + b"\0" * 12, "version 2 UDP addresses on a stream "
                                                     "connection"),
            (SIG + b"\x21\x31\x00\xd8" + b"\0" * 216, "version 2 UNIX addresses"),
            (SIG + b"\x31\x11\x00\x0c" + b"\0" * 12, "version 2 signature with another version"),
            (v2("192.0.2.1", "192.0.2.2", 1, 2, tlv(0x02, b"x")[:-1] + b"\x00\x09"),
             "version 2 TLV longer than the header"),
            (SIG[:5], "the connection ended before the header"),
        ]
        for n, (data, why) in enumerate(cases, 1):
            self.assertEqual(ask(d.port, data), b"", why)
            d.wait_log(r"tell: from=127\.0\.0\.1: PROXY header refused: %s" % re.escape(why))
            wait_for(lambda: refusals(d, "tell", "proxy") == n, what="FAIL line %d" % n)
        # A version 1 line that never ends: refused at 107 bytes.
        d2 = self.start_proxy(proxy_protocol="v1")
        self.assertEqual(ask(d2.port, b"PROXY TCP4 " + b"1" * 200), b"")
        d2.wait_log(r"PROXY header refused: version 1 line longer than 107 bytes")
        # Nothing sent: refused when proxy_timeout is over, and the
        # daemon serves others meanwhile.
        with socket.create_connection(("127.0.0.1", d.port), 5 * SLOW) as s:
            s.sendall(SIG[:3])
            out = env_of(ask(d.port, v2("192.0.2.8", "192.0.2.2", 1, 2) + b"meanwhile\n"))
            self.assertEqual(out["line"], "meanwhile")
            s.settimeout(10 * SLOW)
            self.assertEqual(s.recv(16), b"")
        d.wait_log(r"PROXY header refused: no whole header within proxy_timeout")
        self.assertEqual(d.count_log(r"FAIL: tell proxy from=127\.0\.0\.1$"), len(cases) + 1,
                         d.text())

    def test_redirect_sends_the_real_client_on(self):
        """porterd as a balancer of its own: a relay with redirect_proxy =
        v2 into a second service that takes the header; and v1 into a
        listener of the test's that shows the bytes."""
        front = entry("front", type="UNLISTED", port="{PORT1}", socket_type="stream", wait="no",
                      bind="127.0.0.1", redirect="127.0.0.1 {PORT0}", redirect_proxy="v2",
                      proxy_protocol="v2", proxy_from="127.0.0.1", log_on_success="HOST")
        direct = entry("direct", type="UNLISTED", port="{PORT2}", socket_type="stream",
                       wait="no", bind="127.0.0.1", redirect="127.0.0.1 {PORT3}",
                       redirect_proxy="v1")
        d = self.start_proxy(front + direct)
        tlvs = tlv(0x02, b"app.example") + tlv(0x05, b"abc123")
        out = env_of(ask(d.ports[1], v2("192.0.2.44", "203.0.113.80", 5555, 80, tlvs) + b"hop\n"))
        self.assertEqual((out["line"], out["REMOTE_ADDR"], out["REMOTE_PORT"]),
                         ("hop", "192.0.2.44", "5555"))
        self.assertEqual((out["TCPLOCALIP"], out["TCPLOCALPORT"]), ("203.0.113.80", "80"))
        self.assertEqual((out["PROXY_AUTHORITY"], out["PROXY_UNIQUE_ID"]),
                         ("app.example", "abc123"))
        d.wait_log(r"START: front from=192\.0\.2\.44 via=127\.0\.0\.1$")

        # A direct client relayed with a version 1 header.
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lst.close)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind(("127.0.0.1", d.ports[3]))
        lst.listen(1)
        c = socket.create_connection(("127.0.0.1", d.ports[2]), 5 * SLOW,
                                     source_address=("127.0.0.3", 0))
        self.addCleanup(c.close)
        c.sendall(b"after\n")
        lst.settimeout(5 * SLOW)
        conn, _ = lst.accept()
        self.addCleanup(conn.close)
        conn.settimeout(5 * SLOW)
        got = b""
        while b"after\n" not in got:
            chunk = conn.recv(4096)
            self.assertTrue(chunk, got)
            got += chunk
        self.assertEqual(got, v1("127.0.0.3", "127.0.0.1", c.getsockname()[1], d.ports[2]) +
                         b"after\n")
