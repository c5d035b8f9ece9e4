"""Access control, black box: only_from and no_access (more specific rule
wins, an exact tie denies), host and .domain rules decided by reverse DNS
without blocking the loop, access_times, the SENSOR deny list, banners,
USERID and IDONLY against a fake RFC 1413 server, and JSON log lines.

Clients bind distinct loopback sources (127.0.0.2, 127.0.0.3, ... and ::1)
so that each is a different peer for porterd.
"""
import json
import os
import pwd
import re
import shutil
import socket
import struct
import subprocess
import tempfile
import threading
import time

from harness import (PORTERD, Porterd, PorterTest, recv_all, wait_for, SLOW, entry, refusals,
                     FakeDNS, private_etc, can_private_etc, etc_with_dns)

PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))
HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))
LOG = r"porterd\[\d+\]: INFO: "
FAIL_BYTES = "Go away.\r\n"
BANNER_BYTES = "Welcome to porter.\r\n"
SUCCESS_BYTES = "You may pass.\r\n"


def spawn_service(sid, port, extra="", bind="127.0.0.1", server="/bin/echo", args="ok",
                  log_success="PID HOST", log_failure="HOST"):
    """A spawned stream service; port is a placeholder such as "{PORT0}"."""
    return entry(sid, extra, type="UNLISTED", port=port, socket_type="stream", wait="no",
                 user="root", server=server, server_args=args, bind=bind or None,
                 log_on_success=log_success, log_on_failure=log_failure)


def udp_echo(sid, port, extra="", bind="127.0.0.1"):
    return entry("echo", extra, id=sid, type="INTERNAL UNLISTED", socket_type="dgram",
                 wait="yes", port=port, bind=bind or None, log_on_failure="HOST")


def ask(d, port, source, host="127.0.0.1"):
    """Connects from source and returns everything until EOF. The client
    never closes first (/bin/echo reads nothing), so its port is not left
    in TIME_WAIT where it would keep a later wildcard listener from
    binding."""
    with d.connect(port, host=host, source=source) as s:
        return recv_all(s)


def arrived(s):
    """What has arrived on s so far without waiting: None when nothing
    has, b"" for EOF."""
    s.setblocking(False)
    try:
        return s.recv(65536, socket.MSG_PEEK)
    except BlockingIOError:
        return None
    finally:
        s.settimeout(5.0 * SLOW)


def q(addr):
    return re.escape(addr) + "$"


# ---------------------------------------------------------------- fakes

class FakeIdentd:
    """An RFC 1413 server on addr:113 in a thread. Each query must be
    "<client port> , <server port>\\r\\n"; while gate is clear, answers
    wait; user (str, or bytes to send as they are) ends each answer.
    queries holds (lport, rport) pairs as received, bad holds any query that
    did not have the right form."""

    QUERY = re.compile(rb"^(\d+) , (\d+)\r\n$")

    def __init__(self, addr, user="alice"):
        self.user = user
        self.gate = threading.Event()
        self.gate.set()
        self.queries = []
        self.bad = []
        self.accepted = 0
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 113))
        self.sock.listen(64)
        self.stopping = False
        self.threads = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.stopping:
                c.close()
                return
            with self.lock:
                self.accepted += 1
            t = threading.Thread(target=self.answer, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def answer(self, c):
        with c:
            c.settimeout(10)
            data = b""
            try:
                while not data.endswith(b"\n") and len(data) < 1024:
                    b = c.recv(1024)
                    if not b:
                        break
                    data += b
            except OSError:
                return
            m = self.QUERY.match(data)
            with self.lock:
                if m is None:
                    self.bad.append(data)
                    return
                self.queries.append((int(m.group(1)), int(m.group(2))))
            self.gate.wait(10)
            try:
                user = self.user if isinstance(self.user, bytes) else self.user.encode()
                c.sendall(b"%s , %s : USERID : UNIX : %s\r\n" % (m.group(1), m.group(2), user))
            except OSError:
                pass

    def count(self):
        with self.lock:
            return len(self.queries)

    def settled(self):
        """True when every connection accepted so far has been read."""
        with self.lock:
            return len(self.queries) + len(self.bad) == self.accepted

    def close(self):
        self.gate.set()
        self.stopping = True
        try:
            poke = socket.create_connection(self.sock.getsockname(), timeout=1)
            poke.close()
        except OSError:
            pass
        self.thread.join(5)
        self.sock.close()
        for t in self.threads:
            t.join(5)


# ---------------------------------------------------------------- tests

# Each stream case: id, extra configuration, bind (None: dual stack), and
# the clients as (source, server address, expected bytes or None for
# "refused").
TCP_CASES = [
    ("only", "only_from = 127.0.0.2\n\tbanner_fail = {DIR}/fail.txt", "127.0.0.1",
     [("127.0.0.3", "127.0.0.1", FAIL_BYTES.encode()), ("127.0.0.2", "127.0.0.1", b"ok\n")]),
    ("noacc", "no_access = 127.0.0.3", "127.0.0.1",
     [("127.0.0.3", "127.0.0.1", None), ("127.0.0.2", "127.0.0.1", b"ok\n")]),
    # The more specific rule wins, whichever list holds it.
    ("narrowdeny", "only_from = 127.0.0.0/8\n\tno_access = 127.0.0.3", "127.0.0.1",
     [("127.0.0.3", "127.0.0.1", None), ("127.0.0.2", "127.0.0.1", b"ok\n")]),
    ("narrowallow", "no_access = 127.0.0.0/8\n\tonly_from = 127.0.0.2", "127.0.0.1",
     [("127.0.0.2", "127.0.0.1", b"ok\n"), ("127.0.0.3", "127.0.0.1", None)]),
    # An exact tie denies: the same address, or the same network.
    ("tie", "only_from = 127.0.0.2 127.0.0.3\n\tno_access = 127.0.0.3", "127.0.0.1",
     [("127.0.0.3", "127.0.0.1", None), ("127.0.0.2", "127.0.0.1", b"ok\n")]),
    ("tienet", "only_from = 127.0.0.0/24\n\tno_access = 127.0.0.0/24", "127.0.0.1",
     [("127.0.0.2", "127.0.0.1", None)]),
    # An empty only_from lets nobody in.
    ("empty", "only_from =", "127.0.0.1",
     [("127.0.0.1", "127.0.0.1", None), ("127.0.0.2", "127.0.0.1", None)]),
    # Trailing zero octets are wildcards: 127.0.0.0 is 127.0.0.0/8.
    ("wild", "only_from = 127.0.0.0", "127.0.0.1",
     [("127.0.0.2", "127.0.0.1", b"ok\n"), ("127.0.0.3", "127.0.0.1", b"ok\n")]),
    ("wildno", "no_access = 127.0.0.0", "127.0.0.1",
     [("127.0.0.2", "127.0.0.1", None)]),
    ("cidr", "only_from = 127.0.0.0/30", "127.0.0.1",
     [("127.0.0.4", "127.0.0.1", None), ("127.0.0.2", "127.0.0.1", b"ok\n"),
      ("127.0.0.3", "127.0.0.1", b"ok\n")]),
    ("fact", "only_from = 127.0.0.{{2,4}}", "127.0.0.1",
     [("127.0.0.3", "127.0.0.1", None), ("127.0.0.2", "127.0.0.1", b"ok\n"),
      ("127.0.0.4", "127.0.0.1", b"ok\n")]),
    ("six", "only_from = ::1", "::1",
     [("::1", "::1", b"ok\n")]),
    ("sixno", "only_from = ::2", "::1",
     [("::1", "::1", None)]),
    # Dual stack: an IPv4 client arrives through [::] and is matched by
    # IPv4 rules as a plain IPv4 address; an IPv4 rule, even 0.0.0.0 (every
    # IPv4 address), never matches ::1, nor an IPv6 rule an IPv4 client.
    ("dual", "only_from = 127.0.0.2", None,
     [("127.0.0.2", "127.0.0.1", b"ok\n"), ("127.0.0.3", "127.0.0.1", None),
      ("::1", "::1", None)]),
    ("dualall4", "only_from = 0.0.0.0", None,
     [("::1", "::1", None), ("127.0.0.3", "127.0.0.1", b"ok\n")]),
    ("dual6", "only_from = ::1", None,
     [("::1", "::1", b"ok\n"), ("127.0.0.2", "127.0.0.1", None)]),
]

UDP_CASES = [
    ("uonly", "only_from = 127.0.0.2", "127.0.0.1",
     [("127.0.0.3", "127.0.0.1", False), ("127.0.0.2", "127.0.0.1", True)]),
    ("unarrow", "only_from = 127.0.0.0/8\n\tno_access = 127.0.0.3", "127.0.0.1",
     [("127.0.0.3", "127.0.0.1", False), ("127.0.0.2", "127.0.0.1", True)]),
    ("utie", "only_from = 127.0.0.{{2,3}}\n\tno_access = 127.0.0.3/32", "127.0.0.1",
     [("127.0.0.3", "127.0.0.1", False), ("127.0.0.2", "127.0.0.1", True)]),
    ("udual", "only_from = 127.0.0.2", None,
     [("::1", "::1", False), ("127.0.0.3", "127.0.0.1", False),
      ("127.0.0.2", "127.0.0.1", True)]),
]


class AddressTest(PorterTest):
    def start_listening(self, conf, **kw):
        """self.start, on fresh ports again when a listener could not bind:
        free_ports checks 127.0.0.1 and ::1, but a dual-stack listener
        binds the wildcard address, which a TIME_WAIT connection from
        another loopback address (127.0.0.2:P) still holds."""
        for attempt in range(3):
            d = Porterd(conf, **kw)
            if "could not listen" not in d.text():
                self.addCleanup(d.close)
                return d
            text = d.text()
            d.close()
        self.fail("services could not listen three times:\n" + text)

    def test_address_matrix(self):
        conf = ""
        n = 0
        for sid, extra, bind, _ in TCP_CASES:
            conf += spawn_service(sid, "{PORT%d}" % n, extra, bind)
            n += 1
        for sid, extra, bind, _ in UDP_CASES:
            conf += udp_echo(sid, "{PORT%d}" % n, extra, bind)
            n += 1
        d = self.start_listening(conf, nports=n, files={"fail.txt": FAIL_BYTES})
        port = dict(zip([c[0] for c in TCP_CASES + UDP_CASES], d.ports))

        for sid, _, _, clients in TCP_CASES:
            # Every client of the service at once: a refused one is closed
            # at once while the allowed ones are served.
            socks = []
            for source, host, _ in clients:
                s = d.connect(port[sid], host=host, source=source)
                socks.append(s)
            for s, (source, host, want) in zip(socks, clients):
                t0 = time.monotonic()
                got = recv_all(s)
                s.close()
                what = "%s from %s" % (sid, source)
                # Refused: EOF, or exactly the banner_fail bytes.
                self.assertEqual(got, b"" if want is None else want, what)
                if want == b"ok\n":
                    d.wait_log(LOG + r"START: %s pid=\d+ from=%s" % (sid, q(source)))
                else:
                    self.assertLess(time.monotonic() - t0, 2.0 * SLOW, what)
                    d.wait_log(LOG + r"FAIL: %s address from=%s" % (sid, q(source)))
            for source, _, want in clients:
                starts = d.count_log(r"START: %s pid=\d+ from=%s" % (sid, q(source)))
                fails = d.count_log(r"FAIL: %s \S+ from=%s" % (sid, q(source)))
                if want == b"ok\n":
                    self.assertEqual((starts, fails), (1, 0), "%s from %s" % (sid, source))
                else:
                    # Refused in the parent: no server was ever started.
                    self.assertEqual((starts, fails), (0, 1), "%s from %s" % (sid, source))

        for sid, _, _, clients in UDP_CASES:
            socks = []
            for source, host, _ in clients:
                fam = socket.AF_INET6 if ":" in host else socket.AF_INET
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.settimeout(2.0 * SLOW)
                s.bind((source, 0))
                self.addCleanup(s.close)
                socks.append(s)
            for s, (source, host, allowed) in zip(socks, clients):
                payload = ("%s from %s" % (sid, source)).encode()
                s.sendto(payload, (host, port[sid]))
                if allowed:
                    self.assertEqual(s.recvfrom(65536)[0], payload)
                else:
                    d.wait_log(LOG + r"FAIL: %s address from=%s" % (sid, q(source)))
            # The allowed clients' answers came after the refused ones were
            # decided: had a refused client been answered, it would be here.
            for s, (source, _, allowed) in zip(socks, clients):
                if not allowed:
                    self.assertIsNone(arrived(s), "%s answered %s" % (sid, source))
                    self.assertEqual(d.count_log(r"FAIL: %s address from=%s" %
                                                 (sid, q(source))), 1)


class FailRateTest(PorterTest):
    def test_fail_lines_are_rate_limited(self):
        # Forged datagrams to a builtin and to a wait = yes service, from
        # many senders: at most 100 FAIL lines a second for each service,
        # then one SUPPRESSED line with the count of the others.
        d = self.start(udp_echo("uecho", "{PORT0}", "only_from = 127.0.0.1") +
                       entry("waited", "only_from = 127.0.0.1", type="UNLISTED",
                             port="{PORT1}", socket_type="dgram", protocol="udp",
                             wait="yes", user="root", server="%s/udpone" % HELPERS,
                             bind="127.0.0.1", log_on_failure="HOST"))
        n = 150
        for port in d.ports[:2]:
            for i in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.%d.%d" % (1 + i // 250, 2 + i % 250), 0))
                s.sendto(b"x", ("127.0.0.1", port))
                s.close()
        for sid in ("uecho", "waited"):
            d.wait_log(LOG + r"SUPPRESSED: %s lines=\d+$" % sid, timeout=10)
            # Every datagram is accounted for once, as a line or a count.
            wait_for(lambda: refusals(d, sid, "address") == n, 10,
                     "%d refusals of %s accounted for" % (n, sid))
            fails = d.count_log(r"FAIL: %s address from=" % sid)
            self.assertGreaterEqual(fails, 100, sid)
            self.assertLess(fails, n, sid)


class NameTest(PorterTest):
    def test_host_name_rule(self):
        try:
            name = socket.gethostbyaddr("127.0.0.1")[0]
        except OSError as e:
            self.skipTest("127.0.0.1 has no reverse name here (%s)" % e)
        if name != "localhost":
            self.skipTest("127.0.0.1 resolves to %r, not localhost" % name)
        d = self.start(spawn_service("byname", "{PORT0}", "only_from = localhost") +
                       spawn_service("plain", "{PORT1}"))
        self.assertEqual(ask(d, d.ports[0], "127.0.0.1"), b"ok\n")
        d.wait_log(LOG + r"START: byname pid=\d+ from=127\.0\.0\.1$")
        self.assertEqual(ask(d, d.ports[0], "127.0.0.5"), b"")
        d.wait_log(LOG + r"FAIL: byname address from=127\.0\.0\.5$")
        self.assertEqual(d.count_log(r"START: byname pid=\d+ from=127\.0\.0\.5$"), 0)
        # Clients of the name service and of a plain one, all at once.
        socks = []
        for i in range(20):
            src = "127.0.0.1" if i % 2 else "127.0.0.5"
            socks.append((src, d.ports[0], d.connect(d.ports[0], source=src)))
            socks.append((src, d.ports[1], d.connect(d.ports[1], source=src)))
        for src, p, s in socks:
            want = b"ok\n" if p == d.ports[1] or src == "127.0.0.1" else b""
            self.assertEqual(recv_all(s), want, "%s to %d" % (src, p))
            s.close()
        d.wait_log(LOG + r"FAIL: byname address from=127\.0\.0\.5$", count=11)
        d.wait_log(LOG + r"START: byname pid=\d+ from=127\.0\.0\.1$", count=11)

    def test_domain_rules_do_not_block(self):
        """Reverse names come from a private /etc/hosts and a fake DNS
        server in a mount namespace of porterd's own. The fake server holds
        the answer for 127.0.0.6, which proves a lookup is in flight while
        porterd serves other clients and services."""
        if not can_private_etc():
            self.skipTest("needs root and mount namespaces (private /etc/hosts)")
        tmp = tempfile.mkdtemp(prefix="porter-etc-")
        self.addCleanup(shutil.rmtree, tmp, True)
        hosts = os.path.join(tmp, "hosts")
        resolv = os.path.join(tmp, "resolv.conf")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n127.0.0.2 two.porter.test\n"
                    "127.0.0.3 three.porter.test\n127.0.0.4 four.other.test\n")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.99\noptions timeout:15 attempts:1\n")
        six = "6.0.0.127.in-addr.arpa"
        dns = FakeDNS("127.0.0.99", {six: "Six.Porter.Test"}, held=[six])
        self.addCleanup(dns.close)
        d = self.start(spawn_service("dom", "{PORT0}",
                                     "only_from = .porter.test\n\tno_access = three.porter.test") +
                       spawn_service("plain", "{PORT1}"),
                       preexec=private_etc({"/etc/hosts": hosts, "/etc/resolv.conf": resolv}))
        dns.start()

        # 127.0.0.6 waits for its name: the DNS server has the query.
        c6 = d.connect(d.ports[0], source="127.0.0.6")
        wait_for(lambda: dns.queried(six), what="the PTR query for 127.0.0.6")
        # Meanwhile the loop serves: another service, and other clients of
        # this one, allowed and refused.
        self.assertEqual(ask(d, d.ports[1], "127.0.0.6"), b"ok\n")
        self.assertEqual(ask(d, d.ports[0], "127.0.0.2"), b"ok\n")
        d.wait_log(LOG + r"START: dom pid=\d+ from=127\.0\.0\.2$")
        self.assertEqual(ask(d, d.ports[0], "127.0.0.3"), b"")
        d.wait_log(LOG + r"FAIL: dom address from=127\.0\.0\.3$")
        self.assertEqual(ask(d, d.ports[0], "127.0.0.5"), b"")
        d.wait_log(LOG + r"FAIL: dom address from=127\.0\.0\.5$")
        self.assertIsNone(arrived(c6), "127.0.0.6 decided before its name was known:\n" +
                          d.text())
        self.assertEqual(d.count_log(r"(START|FAIL): dom .*from=127\.0\.0\.6$"), 0)
        # The answer comes: 127.0.0.6 is six.porter.test, allowed.
        dns.gate.set()
        self.assertEqual(recv_all(c6), b"ok\n")
        c6.close()
        d.wait_log(LOG + r"START: dom pid=\d+ from=127\.0\.0\.6$")

        # 50 clients at once, each decided by its own name.
        verdict = {"127.0.0.2": True, "127.0.0.3": False, "127.0.0.4": False,
                   "127.0.0.5": False, "127.0.0.6": True}
        srcs = sorted(verdict)
        clients = []
        for i in range(50):
            src = srcs[i % len(srcs)]
            s = d.connect(d.ports[0], source=src)
            clients.append((src, s))
        for src, s in clients:
            self.assertEqual(recv_all(s), b"ok\n" if verdict[src] else b"", src)
            s.close()
        for src, ok in verdict.items():
            before = {"127.0.0.2": 1, "127.0.0.6": 1, "127.0.0.3": 1, "127.0.0.5": 1,
                      "127.0.0.4": 0}[src]
            if ok:
                d.wait_log(LOG + r"START: dom pid=\d+ from=%s" % q(src), count=before + 10)
            else:
                d.wait_log(LOG + r"FAIL: dom address from=%s" % q(src), count=before + 10)
            self.assertEqual(d.count_log(r"(START|FAIL): dom .*from=%s" % q(src)),
                             before + 10, src)


    def etc_with_dns(self, dns_addr, resolv_options):
        return etc_with_dns(self, dns_addr, resolv_options,
                            "127.0.0.1 localhost\n127.0.0.8 liar.porter.test\n")

    def test_names_are_forward_confirmed(self):
        # 127.0.0.7's reverse zone says liar.porter.test, but that name is
        # 127.0.0.8 (in /etc/hosts): the name is not the client's, so the
        # client has none.
        dns = FakeDNS("127.0.0.98", {"7.0.0.127.in-addr.arpa": "liar.porter.test",
                                     "6.0.0.127.in-addr.arpa": "six.porter.test"})
        self.addCleanup(dns.close)
        d = self.start(spawn_service("dom", "{PORT0}", "only_from = .porter.test"),
                       preexec=self.etc_with_dns("127.0.0.98", "timeout:5 attempts:1"))
        dns.start()
        self.assertEqual(ask(d, d.port, "127.0.0.7"), b"")
        d.wait_log(LOG + r"FAIL: dom address from=127\.0\.0\.7$")
        # A name whose forward lookup gives the client's address counts.
        self.assertEqual(ask(d, d.port, "127.0.0.6"), b"ok\n")
        d.wait_log(LOG + r"START: dom pid=\d+ from=127\.0\.0\.6$")

    def test_failed_lookup_denies(self):
        # no_access names a domain; 127.0.0.9's lookup never gets an
        # answer (the resolver gives up after a second): what the rule
        # would have said is unknown, so the client is refused, where a
        # client whose address has no name at all is let in.
        nine = "9.0.0.127.in-addr.arpa"
        dns = FakeDNS("127.0.0.97", {nine: "nine.evil.test"}, held=[nine])
        self.addCleanup(dns.close)
        d = self.start(spawn_service("deny", "{PORT0}", "no_access = .evil.test"),
                       preexec=self.etc_with_dns("127.0.0.97", "timeout:1 attempts:1"))
        dns.start()
        self.assertEqual(ask(d, d.port, "127.0.0.9"), b"")
        d.wait_log(LOG + r"FAIL: deny address from=127\.0\.0\.9$")
        self.assertEqual(ask(d, d.port, "127.0.0.5"), b"ok\n")
        d.wait_log(LOG + r"START: deny pid=\d+ from=127\.0\.0\.5$")


class WrapTest(PorterTest):
    """hosts.allow and hosts.deny, read by porterd itself, from files of the
    test's own bound over /etc in a mount namespace of porterd's."""

    def etc_wrap(self, allow, deny):
        if not can_private_etc():
            self.skipTest("needs root and mount namespaces (private /etc files)")
        for name in ("/etc/hosts.allow", "/etc/hosts.deny"):
            if not os.path.exists(name):
                # An empty file is what no file means: bind targets only.
                open(name, "a").close()
        tmp = tempfile.mkdtemp(prefix="porter-wrap-")
        self.addCleanup(shutil.rmtree, tmp, True)
        files = {}
        for name, text in (("hosts.allow", allow), ("hosts.deny", deny)):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            files["/etc/" + name] = path
        return private_etc(files)

    def test_hosts_allow_and_deny(self):
        etc = self.etc_wrap("echo: 127.0.0.4\n",
                            "# as Debian writes them\necho: 127.0.0.2 127.0.0.4\n"
                            "echo : 127.0.0.5\nALL: @netgroup\n")
        conf = (spawn_service("greet", "{PORT0}") + spawn_service("plain", "{PORT1}") +
                spawn_service("free", "{PORT2}", "flags = NOLIBWRAP"))
        d = self.start(conf, preexec=etc)
        # greet runs /bin/echo: "echo" names it in hosts.deny.
        self.assertEqual(ask(d, d.ports[0], "127.0.0.2"), b"")
        d.wait_log(LOG + r"FAIL: greet libwrap from=127\.0\.0\.2$")
        self.assertEqual(ask(d, d.ports[0], "127.0.0.5"), b"")
        d.wait_log(LOG + r"FAIL: greet libwrap from=127\.0\.0\.5$")
        # hosts.allow comes first.
        self.assertEqual(ask(d, d.ports[0], "127.0.0.4"), b"ok\n")
        self.assertEqual(ask(d, d.ports[0], "127.0.0.3"), b"ok\n")
        # NOLIBWRAP: the files are not asked.
        self.assertEqual(ask(d, d.ports[2], "127.0.0.2"), b"ok\n")
        # explain shows the deciding line.
        r = subprocess.run([PORTERCTL, "-C", d.control, "-n", "explain", "greet", "127.0.0.5"],
                           capture_output=True, text=True, timeout=30 * SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        e = dict(l.split(": ", 1) for l in r.stdout.splitlines())
        self.assertEqual((e["verdict"], e["rule"]),
                         ("denied", "/etc/hosts.deny:3: echo : 127.0.0.5"))
        # porterd -t reads them as the daemon does, and warns of what it
        # cannot honour, with the file and line.
        t = subprocess.run([PORTERD, "-t", "-f", d.conf], capture_output=True, text=True,
                           preexec_fn=etc, timeout=30 * SLOW)
        self.assertEqual(t.returncode, 0, t.stderr)
        self.assertIn('/etc/hosts.deny:4: warning: client pattern "@netgroup"', t.stderr)

    def test_name_patterns_wait_for_the_name(self):
        etc = self.etc_wrap("", "ALL: .porter.test EXCEPT good.porter.test\n")
        hosts = os.path.join(tempfile.mkdtemp(prefix="porter-etc-"), "hosts")
        self.addCleanup(shutil.rmtree, os.path.dirname(hosts), True)
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n127.0.0.2 bad.porter.test\n"
                    "127.0.0.3 good.porter.test\n")
        both = private_etc({"/etc/hosts": hosts})

        def setup():
            etc()
            both()
        d = self.start(spawn_service("named", "{PORT0}"), preexec=setup)
        self.assertEqual(ask(d, d.port, "127.0.0.2"), b"")
        d.wait_log(LOG + r"FAIL: named libwrap from=127\.0\.0\.2$")
        self.assertEqual(ask(d, d.port, "127.0.0.3"), b"ok\n")
        self.assertEqual(ask(d, d.port, "127.0.0.4"), b"ok\n")


class TimesTest(PorterTest):
    def test_access_times(self):
        # Ranges a couple of minutes wide on each side, so that the minute
        # turning over during the test changes no decision.
        t = time.localtime()
        now = t.tm_hour * 60 + t.tm_min

        def hm(m):
            m %= 1440
            return "%d:%02d" % (m // 60, m % 60)
        inside = "%s-%s" % (hm(now - 1), hm(now + 2))
        outside = "%s-%s" % (hm(now + 3), hm(now - 3))   # the rest of the day but 7 minutes
        d = self.start(spawn_service("open", "{PORT0}", "access_times = " + inside) +
                       spawn_service("shut", "{PORT1}", "access_times = " + outside))
        self.assertEqual(ask(d, d.ports[0], "127.0.0.2"), b"ok\n")
        d.wait_log(LOG + r"START: open pid=\d+ from=127\.0\.0\.2$")
        self.assertEqual(ask(d, d.ports[1], "127.0.0.2"), b"")
        d.wait_log(LOG + r"FAIL: shut time from=127\.0\.0\.2$")
        self.assertEqual(d.count_log(r"START: shut "), 0)


class SensorTest(PorterTest):
    def test_sensor_denies_everywhere_for_deny_time(self):
        conf = """
service sensor
{{
	type           = UNLISTED
	port           = {PORT0}
	socket_type    = stream
	wait           = no
	flags          = SENSOR
	deny_time      = 3s
	bind           = 127.0.0.1
	log_on_success = HOST
}}
service lookout
{{
	type           = UNLISTED
	port           = {PORT1}
	socket_type    = stream
	wait           = no
	flags          = SENSOR
	deny_time      = NEVER
	bind           = 127.0.0.1
	log_on_success = HOST
}}
""" + spawn_service("plain", "{PORT2}")
        d = self.start(conf)
        sensor, lookout, plain = d.ports[:3]

        # deny_time = NEVER only logs.
        self.assertEqual(ask(d, lookout, "127.0.0.11"), b"")
        d.wait_log(LOG + r"START: lookout from=127\.0\.0\.11$")
        self.assertEqual(ask(d, plain, "127.0.0.11"), b"ok\n")
        d.wait_log(LOG + r"START: plain pid=\d+ from=127\.0\.0\.11$")

        t0 = time.monotonic()
        self.assertEqual(ask(d, sensor, "127.0.0.7"), b"")
        d.wait_log(LOG + r"START: sensor from=127\.0\.0\.7$")
        d.wait_log(LOG + r"sensor: 127\.0\.0\.7 touched the sensor; denied everywhere for 3 s$")
        # Refused by an unrelated service, while another source is served.
        self.assertEqual(ask(d, plain, "127.0.0.7"), b"")
        d.wait_log(LOG + r"FAIL: plain address from=127\.0\.0\.7$")
        self.assertEqual(d.count_log(r"START: plain pid=\d+ from=127\.0\.0\.7$"), 0)
        self.assertEqual(ask(d, plain, "127.0.0.8"), b"ok\n")
        d.wait_log(LOG + r"START: plain pid=\d+ from=127\.0\.0\.8$")
        self.assertEqual(ask(d, plain, "127.0.0.11"), b"ok\n")
        # After the ban, 127.0.0.7 is served again.
        wait_for(lambda: ask(d, plain, "127.0.0.7") == b"ok\n", 6.0,
                 "127.0.0.7 to be served again", interval=0.1)
        self.assertGreaterEqual(time.monotonic() - t0, 2.9)
        d.wait_log(LOG + r"START: plain pid=\d+ from=127\.0\.0\.7$")


class BannerTest(PorterTest):
    def test_banners(self):
        d = self.start(spawn_service("ban", "{PORT0}",
                                     "only_from = 127.0.0.2\n"
                                     "\tbanner = {DIR}/banner.txt\n"
                                     "\tbanner_success = {DIR}/success.txt\n"
                                     "\tbanner_fail = {DIR}/fail.txt") +
                       spawn_service("hello", "{PORT1}", "banner = {DIR}/banner.txt"),
                       files={"banner.txt": BANNER_BYTES, "success.txt": SUCCESS_BYTES,
                              "fail.txt": FAIL_BYTES})
        # banner, then banner_success, then what the server writes.
        self.assertEqual(ask(d, d.ports[0], "127.0.0.2"),
                         (BANNER_BYTES + SUCCESS_BYTES + "ok\n").encode())
        self.assertEqual(ask(d, d.ports[1], "127.0.0.2"), (BANNER_BYTES + "ok\n").encode())
        # A refused client gets banner_fail and nothing else.
        self.assertEqual(ask(d, d.ports[0], "127.0.0.3"), FAIL_BYTES.encode())
        d.wait_log(LOG + r"FAIL: ban address from=127\.0\.0\.3$")


    def test_banner_links_and_strangers_files_are_not_sent(self):
        # A banner that is a link (here to a root-only file), or a file of
        # a user who is neither root nor the service's, is not sent: porterd
        # reads as root and would hand it to anyone.
        if os.geteuid() != 0:
            self.skipTest("needs root (files of other owners)")
        d0 = tempfile.mkdtemp(prefix="porter-banner-")
        self.addCleanup(shutil.rmtree, d0, True)
        secret = os.path.join(d0, "secret")
        with open(secret, "w") as f:
            f.write("root only\n")
        os.chmod(secret, 0o600)
        link = os.path.join(d0, "link")
        os.symlink(secret, link)
        stranger = os.path.join(d0, "stranger")
        with open(stranger, "w") as f:
            f.write("not mine\n")
        nobody = pwd.getpwnam("nobody")
        os.chown(stranger, nobody.pw_uid, nobody.pw_gid)
        own = os.path.join(d0, "own")
        with open(own, "w") as f:
            f.write(BANNER_BYTES)
        d = self.start(spawn_service("viaLink", "{PORT0}", "banner = %s" % link) +
                       spawn_service("stranger", "{PORT1}", "banner = %s" % stranger) +
                       spawn_service("own", "{PORT2}", "banner = %s" % own))
        d.wait_log(r"viaLink: banner %s" % re.escape(link))
        d.wait_log(r"stranger: banner %s: not a regular file of root or the service's user"
                   % re.escape(stranger))
        self.assertEqual(ask(d, d.ports[0], "127.0.0.2"), b"ok\n")
        self.assertEqual(ask(d, d.ports[1], "127.0.0.2"), b"ok\n")
        self.assertEqual(ask(d, d.ports[2], "127.0.0.2"), (BANNER_BYTES + "ok\n").encode())


class IdentTest(PorterTest):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (a fake identd on port 113)")
        self.identd = FakeIdentd("127.0.0.9")
        self.addCleanup(self.identd.close)

    def test_userid_logged_without_waiting(self):
        d = self.start(spawn_service("who", "{PORT0}", log_success="PID HOST USERID"))
        self.identd.gate.clear()
        s = d.connect(d.port, source="127.0.0.9")
        cport = s.getsockname()[1]
        # Served while the ident answer is still held back.
        self.assertEqual(recv_all(s), b"ok\n")
        s.close()
        d.wait_log(LOG + r"START: who pid=\d+ from=127\.0\.0\.9$")
        wait_for(lambda: self.identd.count() == 1, what="the ident query")
        self.assertEqual(self.identd.queries, [(cport, d.port)])
        self.assertEqual(d.count_log(r"USERID: "), 0)
        self.identd.gate.set()
        d.wait_log(LOG + r"USERID: who USERID : UNIX : alice$")
        self.assertEqual(self.identd.bad, [])

    def test_userid_escaped(self):
        """The ident answer is the peer's text: in a text line a control, a
        backslash or a byte from 0x7f up is written \\xNN, and in JSON it
        is a valid escape, so no answer can forge a line, send a terminal
        sequence or break the object."""
        self.identd.user = b'a"b\\c\x1b[31m\x7f\xc3\xa9\tx'
        d = self.start(spawn_service("who", "{PORT0}", log_success="USERID") +
                       spawn_service("jwho", "{PORT1}", "log_type = FILE {DIR}/j.log json",
                                     log_success="USERID"))
        self.assertEqual(ask(d, d.ports[0], "127.0.0.9"), b"ok\n")
        d.wait_log(LOG + re.escape(r'USERID: who USERID : UNIX : a"b\x5cc\x1b[31m\x7f\xc3\xa9\x09x')
                   + "$")
        self.assertEqual(ask(d, d.ports[1], "127.0.0.9"), b"ok\n")
        path = os.path.join(d.dir, "j.log")

        def userid():
            try:
                with open(path, "rb") as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                return None
            return [l for l in lines if b'"event":"USERID"' in l]
        line, = wait_for(userid, what="the JSON USERID line")
        self.assertTrue(line.isascii(), line)
        rec = json.loads(line)
        self.assertEqual(rec["text"], 'USERID : UNIX : a"b\\c\x1b[31m\x7f\u00c3\u00a9\tx')
        self.assertEqual(rec["service"], "jwho")

    def test_userid_forgeries(self):
        """Answers that try to forge lines: a carriage return before a fake
        FAIL line, Unicode line separators, invalid UTF-8 and 4 KiB. Every
        line porterd writes still parses, in text and in JSON, and no FAIL
        line appears that porterd did not write."""
        answers = [b"x\rFAIL: who address from=6.6.6.6",
                   b"y\xe2\x80\xa8FAIL: who address from=6.6.6.7\xc2\x85z",
                   b"\xff\xfe" + b"A" * 4096]
        d = self.start(spawn_service("who", "{PORT0}", log_success="USERID") +
                       spawn_service("jwho", "{PORT1}", "log_type = FILE {DIR}/j.log json",
                                     log_success="USERID"))
        for n, answer in enumerate(answers):
            self.identd.user = answer
            for port in d.ports[:2]:
                self.assertEqual(ask(d, port, "127.0.0.9"), b"ok\n")
            d.wait_log(LOG + r"USERID: who ", count=n + 1)
        path = os.path.join(d.dir, "j.log")

        def json_lines():
            try:
                with open(path, "rb") as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                return None
            userids = [l for l in lines if b'"event":"USERID"' in l]
            return lines if len(userids) == len(answers) else None
        for line in wait_for(json_lines, what="three JSON USERID lines"):
            self.assertTrue(line.isascii(), line)
            self.assertIn(json.loads(line)["event"], ("START", "USERID"))
        with open(d.logpath, "rb") as f:
            text = f.read()
        for line in text.splitlines():
            self.assertRegex(line, rb"^\S+ porterd\[\d+\]: [A-Z]+: ", line)
            self.assertTrue(line.isascii(), line)
        self.assertIn(b"USERID: who USERID : UNIX : x\n", text)
        self.assertNotRegex(text, rb"\n[^\n]*INFO: FAIL: who address from=6\.6\.6")

    def test_idonly(self):
        d = self.start(spawn_service("idonly", "{PORT0}", "flags = IDONLY",
                                     log_success="PID HOST USERID") +
                       spawn_service("marker", "{PORT1}", log_success="PID HOST USERID"))
        self.identd.gate.clear()
        s = d.connect(d.port, source="127.0.0.9")
        cport = s.getsockname()[1]
        wait_for(lambda: self.identd.count() == 1, what="the ident query")
        self.assertEqual(self.identd.queries, [(cport, d.port)])
        # Not served before the answer.
        self.assertIsNone(arrived(s), "decided before the ident answer:\n" + d.text())
        self.assertEqual(d.count_log(r"START: idonly "), 0)
        self.identd.gate.set()
        self.assertEqual(recv_all(s), b"ok\n")
        s.close()
        d.wait_log(LOG + r"USERID: idonly USERID : UNIX : alice$")
        d.wait_log(LOG + r"START: idonly pid=\d+ from=127\.0\.0\.9$")
        text = d.text()
        self.assertLess(text.index("USERID: idonly"), text.index("START: idonly"))
        # One query per client: a marker client's query, asked later, comes
        # in second.
        self.assertEqual(ask(d, d.ports[1], "127.0.0.9"), b"ok\n")
        wait_for(lambda: any(lp == d.ports[1] for _, lp in self.identd.queries),
                 what="the marker's ident query")
        wait_for(self.identd.settled, what="every ident query read")
        self.assertEqual([lp for _, lp in self.identd.queries], [d.port, d.ports[1]])
        d.wait_log(LOG + r"USERID: marker USERID : UNIX : alice$")
        self.assertEqual(d.count_log(r"USERID: idonly "), 1)

        # No identd on 127.0.0.10: refused.
        self.assertEqual(ask(d, d.port, "127.0.0.10"), b"")
        d.wait_log(LOG + r"NOID: idonly 127\.0\.0\.10 no server$")
        d.wait_log(LOG + r"FAIL: idonly ident from=127\.0\.0\.10$")
        self.assertEqual(d.count_log(r"START: idonly .*from=127\.0\.0\.10$"), 0)
        self.assertEqual(self.identd.bad, [])


    def test_waiting_clients_count_against_instances(self):
        # A client waiting for its ident answer holds its place in the
        # service's limits: with instances = 1 a second client is refused
        # at once, not served as a second server when the answers come.
        d = self.start(spawn_service("held", "{PORT0}", "flags = IDONLY\n\tinstances = 1",
                                     server="%s/slow" % HELPERS, args="30000",
                                     log_success="PID HOST USERID"))
        self.identd.gate.clear()
        a = d.connect(d.port, source="127.0.0.9")
        self.addCleanup(a.close)
        wait_for(lambda: self.identd.count() == 1, what="the first ident query")
        b = d.connect(d.port, source="127.0.0.9")
        self.addCleanup(b.close)
        d.wait_log(LOG + r"FAIL: held service_limit from=127\.0\.0\.9$")
        self.assertEqual(recv_all(b), b"")
        self.assertEqual(self.identd.count(), 1)
        self.identd.gate.set()
        d.wait_log(LOG + r"START: held pid=\d+ from=127\.0\.0\.9$")
        self.assertEqual(d.count_log(r"START: held "), 1)


class SilentIdentd:
    """An ident server on every loopback address that takes connections
    and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("0.0.0.0", 113))
        self.sock.listen(1024)
        self.held = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(c)

    def close(self):
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.thread.join(5)
        for c in self.held:
            c.close()


class IdentFloodTest(PorterTest):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (an ident server on port 113)")
        self.identd = SilentIdentd()
        self.addCleanup(self.identd.close)

    def test_flood_of_lookups_is_bounded(self):
        # 600 clients from 200 addresses, each logged with USERID, while
        # the ident server never answers: the lookups in flight stay under
        # their cap, so porterd's descriptors stay bounded and another
        # service keeps answering.
        daytime = ("\ttype = INTERNAL UNLISTED\n\tsocket_type = stream\n\twait = no\n"
                   "\tbind = 127.0.0.1\n")
        d = self.start("service daytime\n{{\n" + daytime + "\tport = {PORT0}\n"
                       "\tlog_on_success = HOST USERID\n}}\n"
                       "service daytime\n{{\n\tid = probe\n" + daytime +
                       "\tport = {PORT1}\n}}\n")
        pid = d.proc.pid
        base = len(os.listdir("/proc/%d/fd" % pid))
        most = base
        for i in range(600):
            src = "127.0.%d.%d" % (1 + i // 250, 1 + i % 200)
            self.assertNotEqual(ask(d, d.port, src), b"")
            if i % 50 == 0:
                most = max(most, len(os.listdir("/proc/%d/fd" % pid)))
                self.assertNotEqual(ask(d, d.ports[1], "127.0.0.1"), b"")
        most = max(most, len(os.listdir("/proc/%d/fd" % pid)))
        self.assertLessEqual(most, base + 128 + 8, "descriptors grew with the lookups")
        # The cap was what held them back: lookups did start.
        wait_for(lambda: len(self.identd.held) >= 100, what="ident lookups")
        self.assertNotEqual(ask(d, d.ports[1], "127.0.0.1"), b"")


class JsonLogTest(PorterTest):
    def test_json_lines(self):
        d = self.start(spawn_service("j", "{PORT0}",
                                     "only_from = 127.0.0.2\n"
                                     "\tlog_type = FILE {DIR}/s.json json",
                                     log_success="PID HOST EXIT DURATION"))
        path = os.path.join(d.dir, "s.json")

        def records(n):
            try:
                with open(path) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                return None
            return [json.loads(l) for l in lines] if len(lines) >= n else None
        self.assertEqual(ask(d, d.port, "127.0.0.2"), b"ok\n")
        wait_for(lambda: records(2), what="START and EXIT in s.json")
        self.assertEqual(ask(d, d.port, "127.0.0.3"), b"")
        recs = wait_for(lambda: records(3), what="FAIL in s.json")
        self.assertEqual(len(recs), 3)
        stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        for r in recs:
            self.assertRegex(r.pop("time"), stamp)
        start, exit_, fail = recs
        pid = start.get("pid")
        self.assertIsInstance(pid, int)
        self.assertEqual(start, {"event": "START", "service": "j", "pid": pid,
                                 "from": "127.0.0.2"})
        self.assertIsInstance(exit_.get("duration"), int)
        self.assertEqual(exit_, {"event": "EXIT", "service": "j", "status": 0, "pid": pid,
                                 "duration": exit_["duration"]})
        self.assertEqual(fail, {"event": "FAIL", "service": "j", "from": "127.0.0.3",
                                "reason": "address"})
        # Those lines go to the file, not to the daemon's log.
        self.assertEqual(d.count_log(r"(START|EXIT|FAIL): j "), 0)
