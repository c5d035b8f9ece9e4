"""TLS and the relay to a backend: redirect over TLS passes the bytes both
ways and the end of each direction, and with redirect_proxy = v2 the
backend's PROXY header carries what the session said (ALPN, the SNI name
as AUTHORITY, the SSL TLV with version, client CN and cipher). The
backend is a listener in the test; the client is Python's ssl module.
Certificates are made at test time by tests/tls/mkcerts.sh."""
import os
import shutil
import socket
import ssl
import struct
import threading

from harness import make_certs, PorterTest, entry, recv_all

CERTS = None
SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def setUpModule():
    global CERTS
    CERTS = make_certs("porter-tls-relay.")


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def c(name):
    return os.path.join(CERTS, name)


class Backend:
    """Accepts one connection; with proxy, reads a v2 header first. Keeps
    what it read (after the header) until the client's end, then sends
    reply and closes."""

    def __init__(self, reply, proxy=False):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.reply = reply
        self.proxy = proxy
        self.header = None
        self.tlvs = {}
        self.got = None
        self.done = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def read_exact(self, s, n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b

    def serve(self):
        s, _ = self.ls.accept()
        with s:
            s.settimeout(10)
            if self.proxy:
                head = self.read_exact(s, 16)
                n = struct.unpack("!H", head[14:16])[0]
                body = self.read_exact(s, n)
                self.header = head + body
                at = 12  # IPv4 addresses and ports
                while at + 3 <= len(body):
                    kind, ln = body[at], struct.unpack("!H", body[at + 1:at + 3])[0]
                    self.tlvs[kind] = body[at + 3:at + 3 + ln]
                    at += 3 + ln
            self.got = recv_all(s)
            s.sendall(self.reply)
        self.done.set()


def ssl_tlv(value):
    """The sub-TLVs of PP2_TYPE_SSL after its client byte and verify word."""
    out = {"client": value[0], "verify": struct.unpack("!I", value[1:5])[0]}
    at = 5
    while at + 3 <= len(value):
        kind, ln = value[at], struct.unpack("!H", value[at + 1:at + 3])[0]
        out[kind] = value[at + 3:at + 3 + ln]
        at += 3 + ln
    return out


class TlsRelayTest(PorterTest):
    def start_relay(self, backend, **attrs):
        a = dict(type="UNLISTED", port="{PORT0}", socket_type="stream", wait="no",
                 bind="127.0.0.1", redirect="127.0.0.1 %d" % backend.port, tls="yes",
                 tls_certificate=c("server-ec.pem"), tls_key=c("server-ec.key"),
                 log_on_success="PID HOST EXIT DURATION", log_on_failure="HOST")
        a.update(attrs)
        return self.start(entry("relay", **a))

    def client(self, d, data, alpn=None, cert=False, sni="localhost"):
        ctx = ssl.create_default_context(cafile=c("ca.pem"))
        if alpn:
            ctx.set_alpn_protocols(alpn)
        if cert:
            ctx.load_cert_chain(c("client.pem"), c("client.key"))
        with socket.create_connection(("127.0.0.1", d.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni) as t:
                t.sendall(data)
                # The end of the input, as a TCP half-close under the
                # session (OpenSSL reads nothing once it has sent its own
                # close_notify): the backend sees it, and its answer still
                # comes back, then the server's close_notify.
                socket.socket.shutdown(t, socket.SHUT_WR)
                got = b""
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        return got, t
                    got += chunk

    def test_bytes_and_ends_pass_both_ways(self):
        b = Backend(b"answer after the end of input\n")
        d = self.start_relay(b)
        got, _ = self.client(d, b"x" * 100000)
        self.assertTrue(b.done.wait(10))
        self.assertEqual(b.got, b"x" * 100000)
        self.assertEqual(got, b"answer after the end of input\n")
        d.wait_log(r"EXIT: relay .*tls=TLSv1\.3")

    def test_redirect_proxy_carries_the_session(self):
        b = Backend(b"ok\n", proxy=True)
        d = self.start_relay(b, redirect_proxy="v2", tls_client_ca=c("ca.pem"),
                             tls_verify_client="optional", tls_alpn="h2 http/1.1")
        got, t = self.client(d, b"hello", alpn=["http/1.1"], cert=True, sni="a.test")
        self.assertEqual(got, b"ok\n")
        self.assertTrue(b.done.wait(10))
        self.assertEqual(b.header[:12], SIG)
        self.assertEqual(b.got, b"hello")
        self.assertEqual(b.tlvs.get(0x01), b"http/1.1")       # ALPN
        self.assertEqual(b.tlvs.get(0x02), b"a.test")         # AUTHORITY: the SNI name
        s = ssl_tlv(b.tlvs[0x20])
        self.assertEqual(s["client"], 0x07)                   # SSL, CERT_CONN, CERT_SESS
        self.assertEqual(s["verify"], 0)
        self.assertEqual(s[0x21], b"TLSv1.3")                 # version
        self.assertEqual(s[0x22], b"alice")                   # the client's CN
        self.assertTrue(s[0x23].startswith(b"TLS_"))          # cipher

    def test_redirect_proxy_without_a_client_certificate(self):
        b = Backend(b"ok\n", proxy=True)
        d = self.start_relay(b, redirect_proxy="v2")
        got, _ = self.client(d, b"hi")
        self.assertEqual(got, b"ok\n")
        self.assertTrue(b.done.wait(10))
        s = ssl_tlv(b.tlvs[0x20])
        self.assertEqual(s["client"], 0x01)
        self.assertNotIn(0x22, s)
        self.assertEqual(b.tlvs.get(0x02), b"localhost")

    def test_daytime_builtin_over_tls(self):
        d = self.start(entry("daytime", type="INTERNAL UNLISTED", id="daytime-tls",
                             port="{PORT0}", socket_type="stream", wait="no",
                             bind="127.0.0.1", tls="yes", tls_certificate=c("server-rsa.pem"),
                             tls_key=c("server-rsa.key")))
        ctx = ssl.create_default_context(cafile=c("ca.pem"))
        with socket.create_connection(("127.0.0.1", d.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as t:
                line = t.recv(200)
                self.assertRegex(line.decode(), r"^\d{2} [A-Z]{3} \d{4} \d\d:\d\d:\d\d")
                # The server's close_notify, then the end.
                self.assertEqual(t.recv(200), b"")

    def test_each_resumption_gets_a_ticket_for_the_next(self):
        # A TLS 1.3 client uses a ticket once: a session resumed from one
        # must bring a new ticket, or every other connection is a full
        # handshake.
        d = self.start(entry("daytime", type="INTERNAL UNLISTED", id="daytime-tls",
                             port="{PORT0}", socket_type="stream", wait="no",
                             bind="127.0.0.1", tls="yes", tls_certificate=c("server-ec.pem"),
                             tls_key=c("server-ec.key")))
        ctx = ssl.create_default_context(cafile=c("ca.pem"))
        session, reused, ids = None, [], []
        for _ in range(4):
            with socket.create_connection(("127.0.0.1", d.port), timeout=10) as raw:
                with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as t:
                    while t.recv(200):
                        pass
                    reused.append(t.session_reused)
                    session = t.session
                    ids.append(session.id)
        self.assertEqual(reused, [False, True, True, True])
        # A fresh ticket each time, not the one just used.
        self.assertEqual(len(set(ids)), 4, ids)

    def test_banner_goes_first_inside_the_session(self):
        # A redirect relays its session straight to the backend, except
        # when a banner has to go first: it goes inside the session.
        b = Backend(b"from the backend\n")
        d = self.start(entry("relay", type="UNLISTED", port="{PORT0}", socket_type="stream",
                             wait="no", bind="127.0.0.1", redirect="127.0.0.1 %d" % b.port,
                             tls="yes", tls_certificate=c("server-ec.pem"),
                             tls_key=c("server-ec.key"), banner="{DIR}/banner"),
                       files={"banner": "welcome\n"})
        got, _ = self.client(d, b"x")
        self.assertEqual(got, b"welcome\nfrom the backend\n")
        self.assertTrue(b.done.wait(10))
        self.assertEqual(b.got, b"x")
