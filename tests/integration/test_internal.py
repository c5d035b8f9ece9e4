"""The builtin services echo, discard, chargen, daytime and time, over TCP
and UDP, served inside porterd without a process."""
import calendar
import os
import re
import signal
import socket
import struct
import threading
import time

from harness import PorterTest, converse, recv_all, udp_ask, SLOW, entry, children

# Seconds from 1900-01-01 to 1970-01-01 (RFC 868).
EPOCH_1900 = 2208988800
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV",
          "DEC"]


def service(name, socket_type, port, sid=None, bind="127.0.0.1", extra=""):
    """One INTERNAL UNLISTED service; port is a placeholder such as
    "{PORT0}"."""
    return entry(name, extra, id=sid or "%s-%s" % (name, socket_type),
                 type="INTERNAL UNLISTED", socket_type=socket_type,
                 wait="yes" if socket_type == "dgram" else "no", port=port, bind=bind)


def chargen_pattern(nbytes):
    """RFC 864: 72-character lines of the 95 printable characters, each
    line starting one character further on, ended by CR LF."""
    out = bytearray()
    line = 0
    while len(out) < nbytes:
        out += bytes(0x20 + (line + i) % 95 for i in range(72)) + b"\r\n"
        line += 1
    return bytes(out[:nbytes])


def udp_socket(host="127.0.0.1", port=0, timeout=2.0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(timeout * SLOW)
    if port:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    return s


def known_udp_ports():
    """The ports /etc/services names for UDP."""
    out = set()
    with open("/etc/services") as f:
        for line in f:
            fields = line.split("#")[0].split()
            if len(fields) >= 2 and fields[1].endswith("/udp"):
                out.add(int(fields[1].split("/")[0]))
    return out


def pending(s):
    """The datagrams already queued on s, without waiting."""
    out = []
    timeout = s.gettimeout()
    s.setblocking(False)
    try:
        while True:
            out.append(s.recv(65536))
    except BlockingIOError:
        return out
    finally:
        s.settimeout(timeout)


class InternalTest(PorterTest):
    def start_all(self, bind="127.0.0.1", extra="", dgram_extra=""):
        conf = "".join(service(name, "stream", "{PORT%d}" % i, bind=bind, extra=extra)
                       for i, name in enumerate(("echo", "discard", "chargen", "daytime",
                                                 "time")))
        conf += "".join(service(name, "dgram", "{PORT%d}" % i, bind=bind, extra=dgram_extra)
                        for i, name in enumerate(("echo", "discard", "chargen", "daytime",
                                                  "time")))
        return self.start(conf, nports=5, env={"TZ": "UTC"})

    # --------------------------------------------------------------- TCP

    def test_echo_tcp(self):
        d = self.start_all()
        data = b"hello\r\nworld\x00\xff" + bytes(range(256))
        self.assertEqual(converse(d.ports[0], data), data)

    def test_echo_tcp_ipv6(self):
        d = self.start_all(bind="::1", extra="log_on_success = PID HOST")
        data = b"over IPv6\n"
        self.assertEqual(converse(d.ports[0], data, host="::1"), data)
        d.wait_log(r"INFO: START: echo-stream pid=0 from=::1$")
        self.assertEqual(udp_ask(d.ports[0], b"v6 datagram", host="::1"), b"v6 datagram")

    def test_echo_large_slow_reader(self):
        """4 MiB through a 16 KiB buffer to a client that writes everything
        first and reads slowly: no deadlock, not a byte lost or moved."""
        d = self.start_all()
        data = os.urandom(4 << 20)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(20 * SLOW)
        s.connect(("127.0.0.1", d.ports[0]))
        self.addCleanup(s.close)
        sent = []

        def writer():
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            sent.append(True)
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        got = bytearray()
        while True:
            b = s.recv(16384)
            if not b:
                break
            got += b
            time.sleep(0.0005)
        t.join(10 * SLOW)
        self.assertEqual(sent, [True])
        self.assertEqual(len(got), len(data))
        self.assertTrue(bytes(got) == data, "echo changed the bytes")

    def test_discard_tcp(self):
        d = self.start_all()
        # Far more than the socket buffers hold: it must be read.
        self.assertEqual(converse(d.ports[1], os.urandom(2 << 20), timeout=10), b"")

    def test_chargen_tcp(self):
        d = self.start_all()
        with d.connect(d.ports[2]) as s:
            got = b""
            want = 2 * 95 * 74 + 74
            while len(got) < want:
                b = s.recv(65536)
                self.assertTrue(b, "chargen closed early")
                got += b
        self.assertEqual(got[:74], b" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTU"
                         b"VWXYZ[\\]^_`abcdefg\r\n")
        self.assertEqual(got[74:148], b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUV"
                         b"WXYZ[\\]^_`abcdefgh\r\n")
        # The pattern goes on across the wrap of the 95-line cycle.
        self.assertEqual(got[:want], chargen_pattern(want))

    def check_daytime(self, text):
        m = re.fullmatch(rb"(\d\d) ([A-Z]{3}) (\d{4}) (\d\d):(\d\d):(\d\d) UTC\r\n", text)
        self.assertTrue(m, text)
        day, mon, year, hh, mm, ss = m.groups()
        t = calendar.timegm((int(year), MONTHS.index(mon.decode()) + 1, int(day), int(hh),
                             int(mm), int(ss)))
        self.assertLess(abs(t - time.time()), 5, text)

    def test_daytime_tcp(self):
        d = self.start_all()
        self.check_daytime(converse(d.ports[3], shut=False))
        # Input the client sent before porterd accepted is read away: the
        # answer is the same and ends in a FIN, not a reset. (porterd is
        # stopped so that the input is there first.)
        d.send(signal.SIGSTOP)
        try:
            s = d.connect(d.ports[3])
            s.sendall(b"ignored\r\n")
            s.shutdown(socket.SHUT_WR)
        finally:
            d.send(signal.SIGCONT)
        with s:
            self.check_daytime(recv_all(s))

    def check_time(self, data):
        self.assertEqual(len(data), 4, data)
        t = struct.unpack(">I", data)[0]
        self.assertLess(abs(t - (int(time.time()) + EPOCH_1900)), 5)

    def test_time_tcp(self):
        d = self.start_all()
        self.check_time(converse(d.ports[4], shut=False))

    # --------------------------------------------------------------- UDP

    def test_echo_udp(self):
        d = self.start_all()
        self.assertEqual(udp_ask(d.ports[0], b"ping\x00\xff"), b"ping\x00\xff")

    def test_chargen_udp(self):
        # FULLREPLY: lines of the pattern, whatever the request.
        d = self.start_all(dgram_extra="flags = FULLREPLY")
        got = udp_ask(d.ports[2], b"")
        self.assertEqual(len(got) % 74, 0, got)
        self.assertTrue(0 < len(got) <= 1024, len(got))
        self.assertEqual(got[:74], chargen_pattern(74))
        self.assertEqual(got[74:148], chargen_pattern(148)[74:])

    def test_daytime_udp(self):
        d = self.start_all(dgram_extra="flags = FULLREPLY")
        self.check_daytime(udp_ask(d.ports[3], b"x"))

    def test_time_udp(self):
        d = self.start_all(dgram_extra="flags = FULLREPLY")
        self.check_time(udp_ask(d.ports[4], b""))

    def test_udp_answers_no_larger_than_the_request(self):
        """By default a datagram builtin never sends more than it was sent:
        chargen answers as many bytes, daytime and time answer only a
        request at least as long as the answer."""
        d = self.start_all()
        self.assertEqual(udp_ask(d.ports[2], b"x" * 100), chargen_pattern(100))
        self.check_daytime(udp_ask(d.ports[3], b"x" * 64))
        self.check_time(udp_ask(d.ports[4], b"xxxx"))
        with udp_socket() as s:
            for port in (d.ports[2], d.ports[3], d.ports[4]):
                s.sendto(b"", ("127.0.0.1", port))
            s.sendto(b"x", ("127.0.0.1", d.ports[3]))
            s.sendto(b"xxx", ("127.0.0.1", d.ports[4]))
            self.barrier(d, s)
            # The barrier's answers came; none of the others did.
            self.assertEqual(pending(s), [])

    def barrier(self, d, s):
        """Two round trips to UDP echo from s: whatever porterd read before
        has been handled, and anything it sent is queued."""
        for i in range(2):
            token = b"barrier %d" % i
            s.sendto(token, ("127.0.0.1", d.ports[0]))
            self.assertEqual(s.recv(65536), token)

    def test_discard_udp(self):
        d = self.start_all()
        with udp_socket() as s:
            s.sendto(b"swallow this", ("127.0.0.1", d.ports[1]))
            self.barrier(d, s)
            self.assertEqual(pending(s), [])

    def assert_no_answer(self, d, client):
        """Neither UDP echo nor UDP chargen answers client."""
        client.sendto(b"echo?", ("127.0.0.1", d.ports[0]))
        client.sendto(b"chargen?", ("127.0.0.1", d.ports[2]))
        with udp_socket() as other:
            self.barrier(d, other)
            # The barrier went through echo after the client's datagram;
            # one more through chargen for chargen's socket.
            other.sendto(b"barrier", ("127.0.0.1", d.ports[2]))
            self.assertTrue(other.recv(65536))
        self.assertEqual(pending(client), [])

    def test_udp_no_answer_to_privileged_port(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to bind a port below 1024")
        d = self.start_all()
        for port in (999, 998, 997, 996):
            try:
                client = udp_socket(port=port)
                break
            except OSError:
                continue
        else:
            self.skipTest("no free port below 1024")
        self.addCleanup(client.close)
        self.assert_no_answer(d, client)

    def test_udp_no_answer_to_internal_service_port(self):
        """Two builtins must never be made to talk to each other: a datagram
        whose source port is that of an internal dgram service (daytime,
        here) gets no answer."""
        d = self.start_all()
        # 127.0.0.2 is loopback too: the client has daytime's port without
        # sharing daytime's own address, so an answer could only reach it.
        try:
            client = udp_socket(host="127.0.0.2", port=d.ports[3])
        except OSError as e:
            self.skipTest("cannot bind 127.0.0.2: %s" % e)
        self.addCleanup(client.close)
        self.assert_no_answer(d, client)
        # The same address from an ordinary port is answered.
        with udp_socket(host="127.0.0.2") as ok:
            ok.sendto(b"hi", ("127.0.0.1", d.ports[0]))
            self.assertEqual(ok.recv(65536), b"hi")

    def test_udp_no_answer_to_a_known_udp_service_port(self):
        """A source port that /etc/services names for UDP is a service that
        may answer datagrams itself (OpenVPN, RADIUS, mDNS, ...): porterd
        does not reflect at it, above 1024 too."""
        d = self.start_all()
        for port in sorted(known_udp_ports()):
            if port < 1024:
                continue
            try:
                client = udp_socket(host="127.0.0.2", port=port)
                break
            except OSError:
                continue
        else:
            self.skipTest("no free known UDP port above 1024")
        self.addCleanup(client.close)
        self.assert_no_answer(d, client)

    def test_udp_builtin_rate_per_source(self):
        """Without a per_source_cps of its own, a datagram builtin answers
        a source 10 times a second with a burst of 20: one forged address
        cannot have it send without bound."""
        d = self.start_all()
        with udp_socket(host="127.0.0.3") as s:
            for i in range(60):
                s.sendto(b"%d" % i, ("127.0.0.1", d.ports[0]))
            with udp_socket() as other:
                self.barrier(d, other)
            answers = pending(s)
        self.assertGreaterEqual(len(answers), 20)
        self.assertLess(len(answers), 40)

    # ---------------------------------------------------- many, no fork

    def test_200_concurrent_echo_sessions(self):
        d = self.start_all()
        socks = []
        try:
            for i in range(200):
                socks.append(d.connect(d.ports[0], timeout=10))
            for i, s in enumerate(socks):
                s.sendall(b"session %d\n" % i)
            for i, s in enumerate(socks):
                want = b"session %d\n" % i
                got = b""
                while len(got) < len(want):
                    b = s.recv(100)
                    self.assertTrue(b, "session %d closed" % i)
                    got += b
                self.assertEqual(got, want)
            for s in socks:
                s.shutdown(socket.SHUT_WR)
            for i, s in enumerate(socks):
                self.assertEqual(recv_all(s), b"", "session %d" % i)
        finally:
            for s in socks:
                s.close()

    def test_internal_services_do_not_fork(self):
        d = self.start_all(extra="log_on_success = PID HOST EXIT DURATION")
        pid = d.proc.pid
        with d.connect(d.ports[0]) as s, d.connect(d.ports[2]) as c:
            s.sendall(b"x")
            self.assertEqual(s.recv(10), b"x")
            self.assertTrue(c.recv(10))
            # Sessions in progress, and porterd has no child.
            self.assertEqual(children(pid), [])
        for p in (3, 4):
            converse(d.ports[p])
        d.wait_log(r"INFO: START: echo-stream pid=0 from=127\.0\.0\.1$")
        d.wait_log(r"INFO: START: chargen-stream pid=0 from=127\.0\.0\.1$")
        d.wait_log(r"INFO: START: daytime-stream pid=0 from=127\.0\.0\.1$")
        d.wait_log(r"INFO: START: time-stream pid=0 from=127\.0\.0\.1$")
        # Nothing was forked, so nothing exits.
        with d.connect(d.ports[0]) as s:
            s.sendall(b"y")
            self.assertEqual(s.recv(10), b"y")
        self.assertEqual(children(pid), [])
        self.assertEqual(d.count_log(r"EXIT:"), 0, d.text())
        self.assertEqual(d.count_log(r"START: .* pid=[1-9]"), 0, d.text())
