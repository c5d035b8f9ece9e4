"""test_tls_check.py: what porterd -t says of a service's TLS files, and
that a configuration with a bad one is refused at start and at reload.

The certificates are made at test time by tests/tls/mkcerts.sh."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import socket
import ssl

from harness import make_certs, PORTERD, PorterTest, wait_for

PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))

CERTS = None


def setUpModule():
    global CERTS
    CERTS = make_certs("porter-tls-check.")


def tearDownModule():
    shutil.rmtree(CERTS, ignore_errors=True)


def braces(text):
    return text.replace("{", "{{").replace("}", "}}")


def c(name):
    return os.path.join(CERTS, name)


def tls_service(name, port, cert, key, extra=""):
    return f"""
service {name}
{{
	type            = UNLISTED
	port            = {port}
	bind            = 127.0.0.1
	socket_type     = stream
	wait            = no
	user            = root
	server          = /bin/cat
	tls             = yes
	tls_certificate = {cert}
	tls_key         = {key}
{extra}}}
"""


def check(conf_text, flag="-t"):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(conf_text)
    try:
        r = subprocess.run([PORTERD, flag, "-f", f.name], capture_output=True, text=True,
                           timeout=30)
        return r.returncode, r.stdout, r.stderr.replace(f.name, "CONF")
    finally:
        os.unlink(f.name)


class TlsCheck(unittest.TestCase):
    def test_good_pairs_check_clean(self):
        rc, out, err = check(tls_service(
            "ok", 20301, f"{c('server-ec.pem')} {c('server-rsa.pem')} {c('chain.pem')}",
            f"{c('server-ec.key')} {c('server-rsa.key')} {c('chain.key')}"))
        self.assertEqual((rc, out, err), (0, "configuration OK\n", ""))

    def test_key_of_another_certificate(self):
        rc, _, err = check(tls_service("mis", 20302, c("server-ec.pem"), c("mismatch.key")))
        self.assertEqual(rc, 78)
        self.assertEqual(err, f"CONF:13: mis: tls_key {c('mismatch.key')} is not the key of "
                              f"the certificate in {c('server-ec.pem')}\n")

    def test_chain_out_of_order(self):
        rc, _, err = check(tls_service("chain", 20303, c("badchain.pem"), c("chain.key")))
        self.assertEqual(rc, 78)
        self.assertIn(f"CONF:12: chain: tls_certificate {c('badchain.pem')}: certificate 2 did "
                      "not issue certificate 1", err)

    def test_not_pem(self):
        rc, _, err = check(tls_service("junk", 20304, "/etc/hostname", c("server-ec.key")))
        self.assertEqual(rc, 78)
        self.assertEqual(err, "CONF:12: junk: tls_certificate /etc/hostname: no PEM "
                              "certificate in the file\n")
        rc, _, err = check(tls_service("junkkey", 20304, c("server-ec.pem"), c("server-ec.pem")))
        self.assertEqual(rc, 78)
        self.assertIn(f"CONF:13: junkkey: tls_key {c('server-ec.pem')}: no PEM private key", err)

    def test_expiry_is_a_warning(self):
        rc, out, err = check(tls_service("soon", 20305, c("soon.pem"), c("soon.key")) +
                             tls_service("old", 20306, c("expired.pem"), c("expired.key")))
        self.assertEqual((rc, out), (0, "configuration OK\n"))
        self.assertRegex(err, r"CONF:12: warning: soon: tls_certificate \S+soon.pem expires "
                              r"in (9|10) days\n")
        self.assertIn(f"CONF:26: warning: old: tls_certificate {c('expired.pem')} has expired",
                      err)

    def test_client_ca_must_parse(self):
        rc, _, err = check(tls_service("ca", 20307, c("server-ec.pem"), c("server-ec.key"),
                                       "\ttls_client_ca = /etc/hostname\n"
                                       "\ttls_verify_client = yes\n"))
        self.assertEqual(rc, 78)
        self.assertIn("CONF:14: ca: tls_client_ca /etc/hostname: no PEM certificate could be "
                      "read", err)

    def test_bad_cipher_lists(self):
        rc, _, err = check(tls_service("ciph", 20308, c("server-ec.pem"), c("server-ec.key"),
                                       "\ttls_ciphers = NOSUCHCIPHER\n"))
        self.assertEqual(rc, 78)
        self.assertIn("CONF:14: ciph: tls_ciphers: no cipher match", err)
        rc, _, err = check(tls_service("suites", 20308, c("server-ec.pem"), c("server-ec.key"),
                                       "\ttls_ciphersuites = TLS_NOPE\n"))
        self.assertEqual(rc, 78)
        self.assertIn("CONF:14: suites: tls_ciphersuites:", err)

    def test_defaults_apply_where_they_can(self):
        # tls in the defaults: a datagram service cannot have it and is
        # served without it; the stream one gets it.
        conf = f"""
defaults
{{
	tls             = yes
	tls_certificate = {c('server-ec.pem')}
	tls_key         = {c('server-ec.key')}
}}
service daytime
{{
	type        = INTERNAL UNLISTED
	id          = daytime-udp
	port        = 20309
	socket_type = dgram
	wait        = yes
}}
"""
        rc, out, err = check(conf + tls_service("s", 20310, c("server-ec.pem"),
                                                c("server-ec.key")))
        self.assertEqual((rc, out, err), (0, "configuration OK\n", ""))
        dump = check(conf, "-T")[1]
        self.assertIn("service daytime", dump)
        self.assertNotIn("tls", dump.split("service daytime")[1])


class TlsRefusedAtStartAndReload(PorterTest):
    def conf(self, key):
        return braces(tls_service("good", "PORT", c("server-ec.pem"), key)).replace(
            "PORT", "{PORT0}")

    def served(self, d):
        ctx = ssl.create_default_context(cafile=c("ca.pem"))
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                t.sendall(b"still\n")
                return t.recv(100)

    def test_strict_reload_keeps_the_certificate_in_force(self):
        d = self.start(self.conf(c("server-ec.key")), nports=1, args=("-strict",))
        # A key that is not the certificate's: the reload is refused and
        # the old certificate stays in force.
        d.reload(self.conf(c("mismatch.key")))
        d.wait_log(r"is not the key of the certificate")
        d.wait_log(r"the configuration in force stays")
        self.assertEqual(self.served(d), b"still\n")

    def test_keep_going_sets_the_service_aside_with_its_reason(self):
        # Without -strict an error in an entry sets that entry aside, as
        # any error of one entry does (porterd(8)); the next good reload
        # serves it again.
        d = self.start(self.conf(c("server-ec.key")), nports=1)
        self.assertEqual(self.served(d), b"still\n")
        d.reload(self.conf(c("mismatch.key")))
        d.wait_log(r"good: not served: .*is not the key of the certificate")
        with self.assertRaises(OSError):
            self.served(d)
        d.reload(self.conf(c("server-ec.key")))
        self.assertEqual(self.served(d), b"still\n")


class TlsServedFacts(PorterTest):
    def test_encrypted_key_is_refused_at_once(self):
        key = os.path.join(CERTS, "enc.key")
        subprocess.run(["openssl", "pkey", "-in", c("server-ec.key"), "-aes256", "-passout",
                        "pass:secret", "-out", key], check=True)
        # No terminal prompt, even with one: stdin is porterd's own.
        rc, _, err = check(tls_service("enc", 20311, c("server-ec.pem"), key))
        self.assertEqual(rc, 78)
        self.assertEqual(err, f"CONF:13: enc: tls_key {key} is encrypted; porterd reads keys "
                              "without a passphrase (openssl pkey -in KEY -out PLAIN)\n")

    def test_configuration_cannot_fake_the_session(self):
        # env and passenv cannot set what only the session may say.
        conf = braces(tls_service("facts", "PORT", c("server-ec.pem"), c("server-ec.key"),
                                  "\tenv = SSL_CLIENT_VERIFY=SUCCESS SSL_CLIENT_S_DN=CN=root\n"
                                  "\tpassenv = SSL_TLS_SNI\n")).replace("PORT", "{PORT0}")
        conf = conf.replace("/bin/cat", "/usr/bin/env")
        d = self.start(conf, nports=1, env={"SSL_TLS_SNI": "forged"})
        ctx = ssl.create_default_context(cafile=c("ca.pem"))
        with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
            with ctx.wrap_socket(s, server_hostname="localhost") as t:
                out = b""
                while True:
                    chunk = t.recv(65536)
                    if not chunk:
                        break
                    out += chunk
        env = [line for line in out.decode().splitlines() if line.startswith("SSL_")]
        self.assertIn("SSL_CLIENT_VERIFY=NONE", env)
        self.assertIn("SSL_TLS_SNI=localhost", env)
        self.assertFalse([e for e in env if "SUCCESS" in e or "CN=root" in e or "forged" in e],
                         env)

    def test_flood_of_failed_handshakes_is_counted_not_all_logged(self):
        conf = braces(tls_service("flood", "PORT", c("server-ec.pem"), c("server-ec.key"),
                                  "\tlog_on_failure = HOST\n")).replace("PORT", "{PORT0}")
        d = self.start(conf, nports=1)
        n = 400
        t0 = time.monotonic()
        for _ in range(n):
            with socket.create_connection(("127.0.0.1", d.port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                s.recv(100)
        took = time.monotonic() - t0
        # Every failure is counted...
        metrics = lambda: subprocess.run(  # noqa: E731
            [PORTERCTL, "-C", d.control, "metrics"], capture_output=True, text=True).stdout
        want = 'porter_tls_handshake_failures_total{service="flood",reason="not_tls"} %d' % n
        wait_for(lambda: want in metrics(), what="the failures counted")
        # ... but the lines that say why are bounded like FAIL lines.
        lines = d.count_log(r"flood: from=127\.0\.0\.1: TLS handshake failed: not_tls")
        self.assertGreater(lines, 0)
        self.assertLessEqual(lines, 100 * (int(took) + 2))
