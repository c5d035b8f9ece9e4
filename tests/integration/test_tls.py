"""TLS termination, black box: porterd holds the TLS session of each client
and serves the plaintext to a builtin, a spawned server or a redirect.

Clients are Python's ssl module (with memory BIOs where the test needs to
see or shape the bytes on the wire: a ClientHello sent a byte at a time,
a close_notify followed by more reading) and the real `openssl s_client`
(signature algorithms, sessions saved and resumed, renegotiation). Every
assertion is on what crossed a loopback socket or on porterd's log, status
and metrics. Certificates are made once per class by tests/tls/mkcerts.sh.
"""
import hashlib
import json
import os
import re
import resource
import selectors
import shutil
import socket
import ssl
import subprocess
import threading
import time

from harness import make_certs, PorterTest, SLOW, entry, recv_all, refusals, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HELPERS = os.environ.get("HELPERS", os.path.join(ROOT, "build", "tests", "helpers"))
PORTERCTL = os.environ.get("PORTERCTL", os.path.join(ROOT, "build", "porterctl"))
OPENSSL = shutil.which("openssl") or "openssl"

# A server that reads its input to the end, then answers: it can only
# answer once porterd has turned the client's end of input into an end of
# file on the server's stdin.
AFTER_EOF = "#!/bin/sh\nn=$(wc -c)\necho \"got $n bytes\"\necho bye\n"
# A server that answers and leaves without reading anything.
EARLY = "#!/bin/sh\necho early\n"


def env_of(data):
    """The environment the report helper printed ("env K=V" lines)."""
    out = {}
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("env "):
            k, _, v = line[4:].partition("=")
            out.setdefault(k, v)
    return out


def der_of(path):
    """The first certificate of a PEM file (a chain file holds more than
    one, which ssl.PEM_cert_to_DER_cert cannot read)."""
    with open(path) as f:
        return first_pem(f.read())


def first_pem(text):
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    return ssl.PEM_cert_to_DER_cert(m.group(0)) if m else None


def daemon_fail(sid, reason):
    """porterd's line for a failed handshake of service sid."""
    return r"%s: from=127\.0\.0\.1: TLS handshake failed: %s" % (re.escape(sid), reason)


def read_n(t, n):
    got = b""
    while len(got) < n:
        chunk = t.recv(n - len(got))
        if not chunk:
            break
        got += chunk
    return got


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def parse_labels(text):
    return dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', text or ""))


def start_with_copies(test, conf, copies):
    """test.start(conf) with copies {name in the daemon's directory: file to
    copy there} made before porterd reads its configuration."""
    texts = {}
    for name, src in copies.items():
        with open(src) as f:
            texts[name] = f.read().replace("{", "{{").replace("}", "}}")
    return test.start(conf, files=texts)


class BioClient:
    """A TLS client over memory BIOs on a plain socket: the test decides
    when each byte goes out, and can keep reading after its own
    close_notify."""

    def __init__(self, ctx, port, sni="localhost", timeout=10.0):
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_hostname=sni)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout * SLOW)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def hello(self):
        """The ClientHello, made but not sent."""
        try:
            self.obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        return self.out.read()

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def feed(self):
        data = self.sock.recv(65536)
        if data:
            self.inc.write(data)
        else:
            self.inc.write_eof()
        return data

    def handshake(self):
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                if not self.feed():
                    raise ConnectionError("EOF in the handshake")
        self.flush()

    def write(self, data):
        self.obj.write(data)
        self.flush()

    def close_notify(self):
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        self.flush()

    def read_to_end(self):
        """Everything until the server's close_notify and the TCP end:
        (data, whether close_notify came, whether the TCP end came)."""
        got = b""
        notified = False
        while True:
            try:
                chunk = self.obj.read(65536)
                if not chunk:
                    # The peer's close_notify, before the client sent its own.
                    notified = True
                    break
                got += chunk
                continue
            except ssl.SSLWantReadError:
                pass
            except ssl.SSLZeroReturnError:
                notified = True
                break
            except ssl.SSLError:
                break
            if not self.feed():
                return got, notified, True
        # After close_notify, the TCP end must follow without the client
        # doing anything more.
        while True:
            try:
                if not self.sock.recv(65536):
                    return got, notified, True
            except socket.timeout:
                return got, notified, False

    def close(self):
        self.sock.close()


class TlsTest(PorterTest):
    @classmethod
    def setUpClass(cls):
        cls.certs = make_certs()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certs, ignore_errors=True)

    def c(self, name):
        return os.path.join(self.certs, name)

    # -------------------------------------------------------- configuration

    def pairs(self, *names):
        """tls_certificate and tls_key for the named pairs, in order."""
        return dict(tls_certificate=" ".join(self.c(n + ".pem") for n in names),
                    tls_key=" ".join(self.c(n + ".key") for n in names))

    def spawned(self, sid, server, port="{PORT0}", **attrs):
        a = dict(type="UNLISTED", port=port, socket_type="stream", wait="no",
                 bind="127.0.0.1", user="root", server=server, tls="yes")
        a.update(self.pairs("server-ec"))
        a.update(log_on_success="PID HOST EXIT DURATION", log_on_failure="HOST")
        a.update(attrs)
        return entry(sid, **a)

    def builtin(self, name, sid, port="{PORT0}", **attrs):
        a = dict(type="INTERNAL UNLISTED", id=sid, port=port, socket_type="stream",
                 wait="no", bind="127.0.0.1", tls="yes")
        a.update(self.pairs("server-ec"))
        a.update(log_on_success="PID HOST EXIT DURATION", log_on_failure="HOST")
        a.update(attrs)
        return entry(name, **a)

    # --------------------------------------------------------------- clients

    def ctx(self, cert=None, alpn=None, check=True, version=None, ciphers=None):
        ctx = ssl.create_default_context(cafile=self.c("ca.pem"))
        if not check:
            ctx.check_hostname = False
        if cert:
            ctx.load_cert_chain(self.c(cert + ".pem"), self.c(cert + ".key"))
        if alpn:
            ctx.set_alpn_protocols(alpn)
        if version:
            ctx.minimum_version = ctx.maximum_version = version
        if ciphers:
            ctx.set_ciphers(ciphers)
        return ctx

    def tls(self, port, sni="localhost", source=None, ctx=None, host="127.0.0.1", **kw):
        """A finished TLS connection (an SSLSocket), closed at cleanup."""
        raw = socket.create_connection((host, port), 10 * SLOW,
                                       source_address=(source, 0) if source else None)
        self.addCleanup(raw.close)
        if ctx is None:
            kw.setdefault("check", sni is not None)
            ctx = self.ctx(**kw)
        t = ctx.wrap_socket(raw, server_hostname=sni)
        self.addCleanup(t.close)
        return t

    def bio(self, port, sni="localhost", ctx=None, **kw):
        b = BioClient(ctx or self.ctx(**kw), port, sni)
        self.addCleanup(b.close)
        return b

    def echoes(self, port, data=b"still here\n", **kw):
        """Whether a TLS client on port gets its data back; the connection
        is closed after."""
        t = self.tls(port, **kw)
        t.sendall(data)
        ok = read_n(t, len(data)) == data
        t.close()
        return ok

    def refused_tls(self, port, **kw):
        """A TLS client that must not be served: returns what it read (the
        handshake, or the first read after it, fails)."""
        try:
            t = self.tls(port, **kw)
            t.settimeout(10 * SLOW)
            return recv_all(t)
        except (ssl.SSLError, OSError):
            return b""

    def s_client(self, port, *args, sni="localhost", stdin=b"", timeout=20.0):
        cmd = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port, "-CAfile",
               self.c("ca.pem"), "-verify_return_error"]
        if sni:
            cmd += ["-servername", sni]
        r = subprocess.run(cmd + list(args), input=stdin, capture_output=True,
                           timeout=timeout * SLOW, env=dict(os.environ, OPENSSL_CONF="/dev/null"))
        return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

    def ctl(self, d, *args):
        r = subprocess.run([PORTERCTL, "-C", d.control] + list(args), capture_output=True,
                           text=True, timeout=30 * SLOW)
        self.assertEqual(r.returncode, 0, "porterctl %s: %s%s" % (args, r.stdout, r.stderr))
        return r.stdout

    def status(self, d, sid):
        for svc in json.loads(self.ctl(d, "status", "--json")):
            if svc.get("id") == sid:
                return svc
        raise AssertionError("no service %s in porterctl status --json" % sid)

    def metrics(self, d):
        """{(name, frozenset of labels): value} from porterctl metrics."""
        out = {}
        for line in self.ctl(d, "metrics").splitlines():
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$", line)
            if m and not line.startswith("#"):
                out[(m.group(1), frozenset(parse_labels(m.group(2)).items()))] = \
                    float(m.group(3))
        return out

    # ------------------------------------------------------------------ 1.

    def test_echo_builtin_round_trip(self):
        d = self.start(self.builtin("echo", "echo-tls"))
        t = self.tls(d.port)
        self.assertEqual(t.version(), "TLSv1.3")
        t.sendall(b"hello over tls\n")
        self.assertEqual(read_n(t, 15), b"hello over tls\n")
        # The client's close_notify ends the echo's input; the echo's end
        # comes back as porterd's close_notify.
        raw = t.unwrap()
        self.assertEqual(raw.recv(100), b"")
        d.wait_log(r"START: echo-tls pid=0 from=127\.0\.0\.1$")
        # TLS 1.2 too.
        t = self.tls(d.port, version=ssl.TLSVersion.TLSv1_2)
        self.assertEqual(t.version(), "TLSv1.2")
        t.sendall(b"twelve\n")
        self.assertEqual(read_n(t, 7), b"twelve\n")
        t.unwrap()
        d.wait_log(r"START: echo-tls pid=0 from=127\.0\.0\.1$", count=2)
        # A builtin's EXIT line, where porterd writes one, ends with tls=.
        self.assertEqual(d.count_log(r"EXIT: echo-tls") -
                         d.count_log(r"EXIT: echo-tls .* tls=TLSv1\.[23]$"), 0, d.text())
        # The port speaks only TLS: plaintext is not echoed.
        with d.connect() as s:
            s.sendall(b"plain text\n")
            self.assertNotIn(b"plain text", recv_all(s))
        d.wait_log(daemon_fail("echo-tls", "not_tls"))

    def test_tls_from_the_defaults(self):
        defaults = ("\ndefaults\n{{\n\ttls = yes\n\ttls_certificate = %s\n"
                    "\ttls_key = %s\n}}\n" % (self.c("server-rsa.pem"), self.c("server-rsa.key")))
        plain = dict(type="INTERNAL UNLISTED", socket_type="stream", wait="no",
                     bind="127.0.0.1")
        d = self.start(defaults + entry("echo", id="inherits", port="{PORT0}", **plain) +
                       entry("echo", id="optsout", port="{PORT1}", tls="no", **plain))
        t = self.tls(d.port)
        self.assertEqual(t.getpeercert(True), der_of(self.c("server-rsa.pem")))
        t.sendall(b"from the defaults\n")
        self.assertEqual(read_n(t, 18), b"from the defaults\n")
        with d.connect(d.ports[1]) as s:
            s.sendall(b"plain\n")
            self.assertEqual(read_n(s, 6), b"plain\n")

    # ------------------------------------------------------------------ 2.

    def test_spawned_server_sees_the_session(self):
        d = self.start(self.spawned("rep", os.path.join(HELPERS, "report"),
                                    tls_client_ca=self.c("ca.pem"),
                                    tls_verify_client="optional", tls_alpn="h2 http/1.1") +
                       self.spawned("rep6", os.path.join(HELPERS, "report"), port="{PORT1}",
                                    bind="::1"))
        t = self.tls(d.port, sni="a.test", source="127.0.0.5", cert="client",
                     alpn=["http/1.1"])
        self.assertEqual(t.selected_alpn_protocol(), "http/1.1")
        client_port = t.getsockname()[1]
        cipher = t.cipher()[0]
        env = env_of(recv_all(t))
        self.assertEqual(env.get("SSL_PROTOCOL"), "TLSv1.3", env)
        self.assertEqual(env.get("SSL_CIPHER"), cipher)
        self.assertEqual(env.get("SSL_TLS_SNI"), "a.test")
        self.assertEqual(env.get("SSL_ALPN"), "http/1.1")
        self.assertEqual(env.get("SSL_CLIENT_VERIFY"), "SUCCESS")
        self.assertEqual(env.get("SSL_CLIENT_S_DN"), "CN=alice")
        self.assertEqual(env.get("SSL_CLIENT_I_DN"), "CN=porter test CA")
        serial = ssl._ssl._test_decode_cert(self.c("client.pem"))["serialNumber"]
        self.assertEqual(int(env.get("SSL_CLIENT_M_SERIAL", "-1"), 16), int(serial, 16))
        self.assertEqual(env.get("SSL_CLIENT_CERT_SHA256", "").lower(),
                         hashlib.sha256(der_of(self.c("client.pem"))).hexdigest())
        # The real TCP connection, not the socketpair the server holds.
        self.assertEqual((env.get("REMOTE_ADDR"), env.get("REMOTE_PORT")),
                         ("127.0.0.5", str(client_port)))
        self.assertEqual((env.get("TCPREMOTEIP"), env.get("TCPREMOTEPORT")),
                         ("127.0.0.5", str(client_port)))
        self.assertEqual((env.get("TCPLOCALIP"), env.get("TCPLOCALPORT")),
                         ("127.0.0.1", str(d.port)))
        d.wait_log(r"START: rep pid=\d+ from=127\.0\.0\.5$")
        d.wait_log(r"EXIT: rep status=0 pid=\d+ duration=\d+\(sec\) tls=TLSv1\.3$")

        # No certificate (optional), no SNI, no ALPN: those variables say so
        # or are absent.
        t = self.tls(d.port, sni=None)
        env = env_of(recv_all(t))
        self.assertEqual(env.get("SSL_PROTOCOL"), "TLSv1.3", env)
        self.assertEqual(env.get("SSL_CLIENT_VERIFY"), "NONE")
        for k in ("SSL_TLS_SNI", "SSL_CLIENT_S_DN", "SSL_CLIENT_CERT_SHA256", "SSL_ALPN"):
            self.assertNotIn(k, env)
        # A certificate from another CA is never a SUCCESS: either the
        # handshake fails, or the server is told FAILED:reason.
        got = self.refused_tls(d.port, cert="rogue")
        if got:
            self.assertRegex(env_of(got).get("SSL_CLIENT_VERIFY", ""), r"^FAILED:.", got)
        else:
            d.wait_log(daemon_fail("rep", "client_certificate"))
        # Over IPv6, the addresses are the IPv6 ones (the certificate names
        # ::1 too).
        t = self.tls(d.ports[1], host="::1", sni=None)
        client_port = t.getsockname()[1]
        env = env_of(recv_all(t))
        self.assertEqual((env.get("REMOTE_ADDR"), env.get("REMOTE_PORT"), env.get("TCPLOCALIP"),
                          env.get("TCPLOCALPORT")), ("::1", str(client_port), "::1",
                                                     str(d.ports[1])), env)
        d.wait_log(r"START: rep6 pid=\d+ from=::1$")
        # TLS 1.2: the variables and the EXIT line say so.
        t = self.tls(d.port, version=ssl.TLSVersion.TLSv1_2)
        env = env_of(recv_all(t))
        self.assertEqual((env.get("SSL_PROTOCOL"), env.get("SSL_CIPHER")),
                         ("TLSv1.2", t.cipher()[0]), env)
        d.wait_log(r"EXIT: rep status=0 pid=\d+ duration=\d+\(sec\) tls=TLSv1\.2$")

    # ------------------------------------------------------------------ 3.

    def test_sni_and_key_type_pick_the_pair(self):
        d = self.start(self.builtin("echo", "sni",
                                    **self.pairs("server-ec", "server-rsa", "b", "chain")))
        ec, rsa, b = (der_of(self.c(n + ".pem")) for n in ("server-ec", "server-rsa", "b"))
        self.assertEqual(self.tls(d.port, sni="b.test").getpeercert(True), b)
        self.assertEqual(self.tls(d.port, sni="a.test").getpeercert(True), ec)
        self.assertEqual(self.tls(d.port, sni=None).getpeercert(True), ec)
        # A leaf under an intermediate: the file's chain is sent, so the
        # client verifies it with the root alone.
        self.assertEqual(self.tls(d.port, sni="c.test").getpeercert(True),
                         der_of(self.c("chain.pem")))
        # Names match whatever their case.
        rc, out = self.s_client(d.port, sni="B.TEST")
        self.assertEqual((rc, first_pem(out) == b), (0, True), out)
        # A name no certificate has: the first pair.
        self.assertEqual(self.tls(d.port, sni="nobody.test", check=False).getpeercert(True),
                         ec)
        # ECDSA or RSA, by the signature algorithms the client offers.
        rc, out = self.s_client(d.port, "-sigalgs", "rsa_pss_rsae_sha256:rsa_pkcs1_sha256")
        self.assertEqual((rc, first_pem(out) == rsa), (0, True), out)
        rc, out = self.s_client(d.port, "-sigalgs", "ecdsa_secp256r1_sha256")
        self.assertEqual((rc, first_pem(out) == ec), (0, True), out)
        # And in TLS 1.2 by the cipher suites.
        t = self.tls(d.port, version=ssl.TLSVersion.TLSv1_2, ciphers="ECDHE-RSA-AES128-GCM-SHA256")
        self.assertEqual(t.getpeercert(True), rsa)
        t = self.tls(d.port, version=ssl.TLSVersion.TLSv1_2,
                     ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
        self.assertEqual(t.getpeercert(True), ec)

    # ------------------------------------------------------------------ 4.

    def test_resumption_survives_a_reload(self):
        conf = self.builtin("daytime", "day") + self.builtin(
            "daytime", "strict", port="{PORT2}", tls_client_ca=self.c("ca.pem"),
            tls_verify_client="yes")
        d = self.start(conf)
        sess = [os.path.join(d.dir, "s%d.pem" % i) for i in range(3)]
        # daytime answers and closes: s_client reads the session ticket
        # before the end.
        rc, out = self.s_client(d.port, "-ign_eof", "-sess_out", sess[0])
        self.assertEqual(rc, 0, out)
        self.assertIn("New, TLSv1.3", out)
        rc, out = self.s_client(d.port, "-ign_eof", "-sess_in", sess[0])
        self.assertIn("Reused, TLSv1.3", out)
        # TLS 1.2 without tickets: the server's session cache.
        rc, out = self.s_client(d.port, "-ign_eof", "-tls1_2", "-no_ticket", "-sess_out",
                                sess[2])
        self.assertIn("New, TLSv1.2", out)
        rc, out = self.s_client(d.port, "-ign_eof", "-tls1_2", "-no_ticket", "-sess_in",
                                sess[2])
        self.assertIn("Reused, TLSv1.2", out)
        # A reload keeps the ticket keys.
        d.reload(conf + self.builtin("echo", "other", port="{PORT1}"))
        d.wait_log(r"reloaded: ")
        rc, out = self.s_client(d.port, "-ign_eof", "-sess_in", sess[0])
        self.assertIn("Reused, TLSv1.3", out)
        # A session of one service does not open another, which asks for a
        # client certificate the session never showed.
        rc, out = self.s_client(d.ports[2], "-ign_eof", "-sess_in", sess[0])
        self.assertNotIn("Reused", out)
        self.assertNotEqual(rc, 0, out)
        d.wait_log(daemon_fail("strict", "client_certificate"))
        self.assertEqual(d.count_log(r"START: strict"), 0, d.text())

    # ------------------------------------------------------------------ 5.

    def test_verify_client_yes(self):
        d = self.start(self.spawned("vfy", os.path.join(HELPERS, "report"),
                                    tls_client_ca=self.c("ca.pem"), tls_verify_client="yes"))
        self.assertEqual(self.refused_tls(d.port), b"")
        d.wait_log(daemon_fail("vfy", "client_certificate"))
        d.wait_log(r"FAIL: vfy tls from=127\.0\.0\.1$")
        self.assertEqual(self.refused_tls(d.port, cert="rogue"), b"")
        d.wait_log(daemon_fail("vfy", "client_certificate"), count=2)
        d.wait_log(r"FAIL: vfy tls from=127\.0\.0\.1$", count=2)
        self.assertEqual(d.count_log(r"START: vfy"), 0, d.text())
        env = env_of(recv_all(self.tls(d.port, cert="client")))
        self.assertEqual((env.get("SSL_CLIENT_VERIFY"), env.get("SSL_CLIENT_S_DN")),
                         ("SUCCESS", "CN=alice"), env)
        d.wait_log(r"START: vfy pid=\d+ from=127\.0\.0\.1$")
        # In TLS 1.2 the certificate is missed inside the handshake itself.
        self.assertEqual(self.refused_tls(d.port, version=ssl.TLSVersion.TLSv1_2), b"")
        d.wait_log(daemon_fail("vfy", "client_certificate"), count=3)
        self.assertEqual(d.count_log(r"START: vfy"), 1, d.text())

    # ------------------------------------------------------------------ 6.

    def test_bad_input(self):
        d = self.start(self.builtin("echo", "bad", tls_handshake_timeout="1") +
                       self.builtin("echo", "split", port="{PORT1}"))
        # Garbage, then a plaintext HTTP request, where a ClientHello was due.
        for n, junk in enumerate((b"\x01\x02\x03\x04\x05 this is no ClientHello\r\n" * 4,
                                  b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), 1):
            with d.connect() as s:
                s.sendall(junk)
                try:
                    self.assertNotIn(junk[:8], recv_all(s))
                except ConnectionResetError:
                    pass
            d.wait_log(daemon_fail("bad", "not_tls"), count=n)
            d.wait_log(r"FAIL: bad tls from=127\.0\.0\.1$", count=n)
        self.assertTrue(self.echoes(d.port))

        # A ClientHello one byte per segment: the handshake finishes.
        b = self.bio(d.ports[1])
        hello = b.hello()
        self.assertEqual(hello[0], 0x16)
        for i in range(len(hello)):
            b.sock.sendall(hello[i:i + 1])
            time.sleep(0.001)  # separate segments, not a wait for anything
        b.handshake()
        b.write(b"split hello\n")
        got = b""
        while b"\n" not in got:
            b.feed()
            try:
                got += b.obj.read(100)
            except ssl.SSLWantReadError:
                pass
        self.assertEqual(got, b"split hello\n")

        # A client that stops in the middle: timeout after 1 s, not before.
        with d.connect(timeout=10) as s:
            s.sendall(hello[:40])
            began = time.monotonic()
            try:
                recv_all(s)
            except ConnectionResetError:
                pass
            self.assertGreaterEqual(time.monotonic() - began, 0.9)
        d.wait_log(daemon_fail("bad", "timeout"))
        # One that leaves in the middle.
        with d.connect() as s:
            s.sendall(hello[:40])
        d.wait_log(daemon_fail("bad", "closed"))
        d.wait_log(r"FAIL: bad tls from=127\.0\.0\.1$", count=4)
        self.assertTrue(self.echoes(d.port))

    def test_renegotiation_is_refused(self):
        d = self.start(self.builtin("echo", "reneg"))
        out_path = os.path.join(d.dir, "s_client.out")
        with open(out_path, "wb") as out:
            p = subprocess.Popen([OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % d.port,
                                  "-servername", "localhost", "-CAfile", self.c("ca.pem"),
                                  "-verify_return_error", "-tls1_2", "-msg"],
                                 stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                                 env=dict(os.environ, OPENSSL_CONF="/dev/null"))
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))

        def text():
            with open(out_path, "rb") as f:
                return f.read().decode(errors="replace")
        p.stdin.write(b"ping\n")
        p.stdin.flush()
        wait_for(lambda: re.search(r"^ping$", text(), re.M), 10, "the echo of ping")
        p.stdin.write(b"R\n")
        p.stdin.flush()
        try:
            p.wait(10 * SLOW)
        except subprocess.TimeoutExpired:
            self.fail("s_client still connected 10 s after asking to renegotiate:\n" + text())
        out = text()
        self.assertIn("RENEGOTIATING", out)
        hellos = re.findall(r"<<< TLS 1\.2, Handshake \[[^]]*\], ServerHello$", out, re.M)
        self.assertEqual(len(hellos), 1, out)
        self.assertTrue(self.echoes(d.port))
        self.assertIsNone(d.proc.poll())

    # ------------------------------------------------------------------ 7.

    def test_a_flood_of_half_handshakes(self):
        n = 1000
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 2 * n + 512
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE,
                               (want, hard if hard == resource.RLIM_INFINITY else max(hard, want)))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        # porterd inherits the raised limit.
        d = self.start(self.builtin("echo", "flood", tls_handshake_timeout="2",
                                    instances="UNLIMITED", per_source="UNLIMITED") +
                       entry("echo", type="INTERNAL UNLISTED", id="plain", port="{PORT1}",
                             socket_type="stream", wait="no", bind="127.0.0.1"))
        pid = d.proc.pid
        base = fd_count(pid)
        # A whole TLS connection first: what porterd opens once and keeps
        # would be counted as a leak otherwise.
        self.assertTrue(self.echoes(d.port))
        wait_for(lambda: fd_count(pid) == base, 5, "porterd's descriptors back to %d" % base)
        hello = BioClient(self.ctx(), d.ports[1]).hello()
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", d.port), 10 * SLOW)
            s.sendall(hello[:100])
            socks.append(s)
        # porterd holds them all (with some tolerance: the first may time
        # out before the last is accepted on a slow machine).
        wait_for(lambda: fd_count(pid) - base >= n * 9 // 10, 5,
                 "porterd to hold %d half handshakes" % n)
        # The other service answers while they wait.
        for i in range(3):
            with socket.create_connection(("127.0.0.1", d.ports[1]), 10 * SLOW) as s:
                s.sendall(b"ping %d\n" % i)
                s.shutdown(socket.SHUT_WR)
                self.assertEqual(recv_all(s), b"ping %d\n" % i)
        # Each is ended by the handshake timeout.
        sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
        ended = 0
        deadline = time.monotonic() + 60 * SLOW
        while ended < n and time.monotonic() < deadline:
            for key, _ in sel.select(1):
                try:
                    data = key.fileobj.recv(4096)
                except (ConnectionResetError, BlockingIOError):
                    data = b""
                if not data:
                    sel.unregister(key.fileobj)
                    ended += 1
        sel.close()
        self.assertEqual(ended, n)
        wait_for(lambda: refusals(d, "flood", "tls") >= n, 20, "%d FAIL tls lines" % n)
        self.assertEqual(refusals(d, "flood", "tls"), n)
        failures = self.status(d, "flood")["tls"]["handshake_failures"]
        self.assertEqual(failures, n)
        self.assertEqual(self.metrics(d).get(("porter_tls_handshake_failures_total", frozenset(
            {"service": "flood", "reason": "timeout"}.items()))), n)
        wait_for(lambda: fd_count(pid) <= base, 20,
                 "porterd's descriptors back to %d" % base)
        for s in socks:
            s.close()
        self.assertTrue(self.echoes(d.port))
        wait_for(lambda: fd_count(pid) == base, 20, "porterd's descriptors back to %d" % base)

    # ------------------------------------------------------------------ 8.

    def test_access_rules_before_the_handshake(self):
        d = self.start(self.builtin("echo", "acl", only_from="192.0.2.0/24"))
        b = self.bio(d.port)
        b.sock.sendall(b.hello())
        try:
            got = recv_all(b.sock)
        except ConnectionResetError:
            got = b""
        self.assertEqual(got, b"", "porterd answered a refused client's ClientHello")
        d.wait_log(r"FAIL: acl address from=127\.0\.0\.1$")
        self.assertEqual(d.count_log(r"FAIL: acl tls|TLS handshake failed"), 0, d.text())
        tls = self.status(d, "acl").get("tls", {})
        self.assertEqual(tls.get("handshake_failures"), 0, tls)

    def test_limits_before_the_handshake(self):
        # A spawned server: per_source counts servers (builtins are not
        # counted, with or without TLS).
        d = self.start(self.spawned("ps", "/bin/cat", per_source="1") +
                       self.spawned("inst", "/bin/cat", port="{PORT1}", instances="1") +
                       self.spawned("deny", "/bin/cat", port="{PORT2}", no_access="127.0.0.1"))
        held = self.tls(d.port)
        held.sendall(b"held\n")
        self.assertEqual(read_n(held, 5), b"held\n")
        b = self.bio(d.port)
        b.sock.sendall(b.hello())
        try:
            got = recv_all(b.sock)
        except ConnectionResetError:
            got = b""
        self.assertEqual(got, b"", "porterd answered a ClientHello over per_source")
        d.wait_log(r"FAIL: ps per_source_limit from=127\.0\.0\.1$")
        self.assertEqual(d.count_log(r"FAIL: ps tls|TLS handshake failed"), 0, d.text())
        held.sendall(b"again\n")
        self.assertEqual(read_n(held, 6), b"again\n")
        # instances, and no_access, alike.
        held = self.tls(d.ports[1])
        held.sendall(b"held\n")
        self.assertEqual(read_n(held, 5), b"held\n")
        for port, sid, why in ((d.ports[1], "inst", "service_limit"),
                               (d.ports[2], "deny", "address")):
            b = self.bio(port)
            b.sock.sendall(b.hello())
            try:
                got = recv_all(b.sock)
            except ConnectionResetError:
                got = b""
            self.assertEqual(got, b"", "porterd answered a ClientHello refused for " + why)
            d.wait_log(r"FAIL: %s %s from=127\.0\.0\.1$" % (sid, why))
        self.assertEqual(d.count_log(r"FAIL: \S+ tls|TLS handshake failed"), 0, d.text())

    # ------------------------------------------------------------------ 9.

    def test_half_close_both_ways(self):
        d = self.start(self.spawned("half", "{DIR}/after.sh") +
                       self.spawned("early", "{DIR}/early.sh", port="{PORT1}"),
                       files={"after.sh": AFTER_EOF, "early.sh": EARLY})
        # close_notify from the client: the server gets the end of its input,
        # and its answer still comes back, then porterd's close_notify.
        b = self.bio(d.port)
        b.handshake()
        b.write(b"x" * 100000)
        b.close_notify()
        got, notified, tcp_end = b.read_to_end()
        self.assertEqual(got, b"got 100000 bytes\nbye\n")
        self.assertTrue(notified, "no close_notify from porterd")
        self.assertTrue(tcp_end, "no TCP end after porterd's close_notify")
        # A TCP half-close under the session does the same.
        t = self.tls(d.port)
        t.sendall(b"y" * 5000)
        socket.socket.shutdown(t, socket.SHUT_WR)
        self.assertEqual(recv_all(t), b"got 5000 bytes\nbye\n")
        # The server leaves first: the client gets its bytes, close_notify,
        # then the end, while it still could send.
        b = self.bio(d.ports[1])
        b.handshake()
        got, notified, tcp_end = b.read_to_end()
        self.assertEqual((got, notified, tcp_end), (b"early\n", True, True))
        d.wait_log(r"EXIT: half status=0 pid=\d+ duration=\d+\(sec\) tls=TLSv1\.3$", count=2)
        d.wait_log(r"EXIT: early status=0 pid=\d+ duration=\d+\(sec\) tls=TLSv1\.3$")

    # ----------------------------------------------------------------- 10.

    def test_reload_changes_the_certificate(self):
        """A reload gives new clients the new certificate and keeps running
        sessions; under -strict a reload whose key is not its
        certificate's is refused and the certificate in force stays
        (without -strict the entry is set aside, as for any error of one
        entry: test_tls_check)."""
        def conf(pair, key=None):
            a = self.pairs(pair)
            if key:
                a["tls_key"] = self.c(key)
            return self.builtin("echo", "rl", **a)
        d = self.start(conf("server-ec"), args=("-strict",))
        before = self.tls(d.port)
        before.sendall(b"one\n")
        self.assertEqual(read_n(before, 4), b"one\n")
        self.assertEqual(before.getpeercert(True), der_of(self.c("server-ec.pem")))
        d.reload(conf("b"))
        d.wait_log(r"reloaded: ")
        # The session opened before goes on.
        before.sendall(b"two\n")
        self.assertEqual(read_n(before, 4), b"two\n")
        new = self.tls(d.port, sni="b.test")
        self.assertEqual(new.getpeercert(True), der_of(self.c("b.pem")))
        # A key that is not the certificate's: the reload is refused with
        # file:line and the certificate in force stays.
        d.reload(conf("b", key="mismatch.key"))
        d.wait_log(r"porter\.conf:\d+: .*tls_key .*mismatch\.key")
        before.sendall(b"four\n")
        self.assertEqual(read_n(before, 5), b"four\n",
                         "the refused reload ended the session opened before it:\n" + d.text())
        t = self.tls(d.port, sni="b.test")
        self.assertEqual(t.getpeercert(True), der_of(self.c("b.pem")))
        t.sendall(b"three\n")
        self.assertEqual(read_n(t, 6), b"three\n")
        self.assertEqual(d.count_log(r"the configuration in force stays"), 1, d.text())

    def test_reload_reads_the_files_again(self):
        """The usual renewal: new files under the same names, the
        configuration unchanged, porterctl reload."""
        conf = self.builtin("echo", "renew", tls_certificate="{DIR}/cur.pem",
                            tls_key="{DIR}/cur.key")
        d = start_with_copies(self, conf, {"cur.pem": self.c("server-ec.pem"),
                                       "cur.key": self.c("server-ec.key")})
        before = self.tls(d.port, check=False)
        self.assertEqual(before.getpeercert(True), der_of(self.c("server-ec.pem")))
        for name, src in (("cur.pem", "b.pem"), ("cur.key", "b.key")):
            shutil.copyfile(self.c(src), os.path.join(d.dir, name))
        n = d.count_log(r"reloaded: ")
        self.ctl(d, "reload")
        d.wait_log(r"reloaded: ", count=n + 1)
        self.assertEqual(self.tls(d.port, sni="b.test").getpeercert(True),
                         der_of(self.c("b.pem")))
        before.sendall(b"old session\n")
        self.assertEqual(read_n(before, 12), b"old session\n")

    # ----------------------------------------------------------------- 11.

    def test_status_and_metrics(self):
        d = self.start(self.builtin("echo", "st", **self.pairs("server-ec", "b")) +
                       entry("echo", type="INTERNAL UNLISTED", id="plain", port="{PORT1}",
                             socket_type="stream", wait="no", bind="127.0.0.1"))
        self.assertTrue(self.echoes(d.port))
        self.assertTrue(self.echoes(d.port, sni="b.test"))
        with d.connect() as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            try:
                recv_all(s)
            except ConnectionResetError:
                pass
        d.wait_log(daemon_fail("st", "not_tls"))

        def cert_facts(name):
            dec = ssl._ssl._test_decode_cert(self.c(name))
            end = ssl.cert_time_to_seconds(dec["notAfter"])
            return end, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end))

        tls = wait_for(lambda: (self.status(d, "st").get("tls") or {}).get(
            "handshake_failures") == 1 and self.status(d, "st")["tls"], 5,
            "status --json with one handshake failure")
        certs = tls["certificates"]
        self.assertEqual(len(certs), 2, tls)
        end, iso = cert_facts("server-ec.pem")
        self.assertEqual({k: certs[0].get(k) for k in ("file", "subject", "names", "not_after")},
                         {"file": self.c("server-ec.pem"), "subject": "CN=localhost",
                          "names": ["localhost", "a.test", "127.0.0.1", "::1"],
                          "not_after": iso})
        self.assertIn(certs[0].get("days_left"),
                      (int((end - time.time()) // 86400), int((end - time.time()) // 86400) + 1))
        end_b, iso_b = cert_facts("b.pem")
        self.assertEqual((certs[1].get("file"), certs[1].get("subject"), certs[1].get("names"),
                          certs[1].get("not_after")),
                         (self.c("b.pem"), "CN=b.test", ["b.test"], iso_b))
        # "handshakes" counts the finished ones (porterctl(8) says so).
        self.assertEqual(tls.get("handshakes"), 2, tls)
        self.assertIsNone(self.status(d, "plain").get("tls", "absent"))

        m = self.metrics(d)

        def get(name, **labels):
            # The labels the specification names; porterd may add others
            # (such as the file, where two certificates share a subject).
            found = [v for (n, ls), v in m.items()
                     if n == name and frozenset(labels.items()) <= ls]
            self.assertLessEqual(len(found), 1, (name, labels, found))
            return found[0] if found else None
        self.assertEqual(get("porter_tls_certificate_not_after_seconds", service="st",
                             subject="CN=localhost"), end, m)
        self.assertEqual(get("porter_tls_certificate_not_after_seconds", service="st",
                             subject="CN=b.test"), end_b)
        self.assertEqual(get("porter_tls_handshakes_total", service="st"), tls["handshakes"])
        self.assertEqual(get("porter_tls_handshake_failures_total", service="st",
                             reason="not_tls"), 1)

    # ----------------------------------------------------------------- 12.

    def test_alpn_protocols_and_ciphers_must_meet(self):
        d = self.start(self.builtin("echo", "alpn", tls_alpn="h2") +
                       self.builtin("echo", "only13", port="{PORT1}", tls_protocols="TLSv1.3") +
                       self.builtin("echo", "ciph", port="{PORT2}", tls_protocols="TLSv1.2",
                                    tls_ciphers="ECDHE-ECDSA-AES256-GCM-SHA384") +
                       self.builtin("echo", "suite", port="{PORT3}",
                                    tls_ciphersuites="TLS_CHACHA20_POLY1305_SHA256") +
                       self.builtin("echo", "dflt", port="{PORT4}"), nports=5)
        # The server's preference wins among the client's.
        t = self.tls(d.port, alpn=["http/1.1", "h2"])
        self.assertEqual(t.selected_alpn_protocol(), "h2")
        self.assertEqual(self.refused_tls(d.port, alpn=["http/1.1"]), b"")
        d.wait_log(daemon_fail("alpn", "no_application_protocol"))
        d.wait_log(r"FAIL: alpn tls from=127\.0\.0\.1$")

        rc, out = self.s_client(d.ports[1], "-tls1_2")
        self.assertNotEqual(rc, 0, out)
        d.wait_log(daemon_fail("only13", "protocol_version"))
        self.assertTrue(self.echoes(d.ports[1]))

        self.assertEqual(self.refused_tls(d.ports[2], version=ssl.TLSVersion.TLSv1_2,
                                          ciphers="ECDHE-RSA-AES128-GCM-SHA256"), b"")
        d.wait_log(daemon_fail("ciph", "no_shared_cipher"))
        self.assertTrue(self.echoes(d.ports[2]))
        t = self.tls(d.ports[2], version=ssl.TLSVersion.TLSv1_2)
        self.assertEqual(t.cipher()[0], "ECDHE-ECDSA-AES256-GCM-SHA384")

        self.assertEqual(self.tls(d.ports[3]).cipher()[0], "TLS_CHACHA20_POLY1305_SHA256")
        # The default tls_protocols is TLS 1.2 and 1.3: a TLS 1.1 client is
        # refused even when it lowers its own security level to offer it.
        rc, out = self.s_client(d.ports[4], "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        self.assertNotEqual(rc, 0, out)
        d.wait_log(daemon_fail("dflt", "protocol_version"))
        rc, out = self.s_client(d.ports[4], "-tls1_2", "-brief", stdin=b"")
        self.assertEqual(rc, 0, out)
        self.assertIn("Protocol version: TLSv1.2", out)

    # ----------------------------------------------------------------- 13.

    def test_redirect_to_a_plaintext_backend(self):
        lst = socket.socket()
        self.addCleanup(lst.close)
        lst.bind(("127.0.0.1", 0))
        lst.listen(4)
        seen = []

        def backend():
            conn, _ = lst.accept()
            with conn:
                data = recv_all(conn)
                seen.append(data)
                conn.sendall(data.upper())
        th = threading.Thread(target=backend, daemon=True)
        th.start()
        d = self.start(self.spawned("rdr", None, redirect="127.0.0.1 %d" % lst.getsockname()[1],
                                    user=None))
        b = self.bio(d.port)
        b.handshake()
        b.write(b"to the backend\n")
        b.close_notify()
        got, notified, _ = b.read_to_end()
        th.join(10 * SLOW)
        self.assertEqual(seen, [b"to the backend\n"])
        self.assertEqual((got, notified), (b"TO THE BACKEND\n", True))
        d.wait_log(r"EXIT: rdr .* tls=TLSv1\.3$")


if __name__ == "__main__":
    import unittest
    unittest.main()
