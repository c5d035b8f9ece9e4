"""porterd's TLS defaults as scanners see them: sslscan and testssl.sh
against examples/interop/https, which sets no tls_protocols, tls_ciphers
or tls_ciphersuites, on a free port of 127.0.0.1 with the certificates
of tests/tls/mkcerts.sh (an ECDSA and an RSA pair).

Asserted from each report (sslscan's XML, testssl.sh's JSON): SSLv2,
SSLv3, TLS 1.0 and TLS 1.1 refused; TLS 1.2 and 1.3 offered; no cipher
that is NULL, EXPORT, RC4, DES or 3DES, MD5 or anonymous, none under 128
bits; from sslscan also exactly the ciphers porter.conf(5) gives as the
defaults, none it rates below "acceptable", no insecure renegotiation, no
Heartbleed. And porterd's own word: every session it
let through to micro-httpd was TLS 1.2 or 1.3 (its EXIT lines), and it
logged the handshakes it refused.

sslscan probes SSLv2, SSLv3 and the TLS 1.3 suites with its own packets;
the ciphers of TLS 1.0 to 1.2 it can only offer through Debian's OpenSSL
3.0, which has no EXPORT, RC4, DES or 3DES cipher left (porterd links the
same library). testssl.sh offers those categories with its own packets
(its cipher-by-cipher pass, 370 connections, is left out: it takes a
minute and sslscan lists the ciphers). A last test runs the sslscan scan
against openssl s_server with everything allowed, to show that the scan
sees old protocols and weak ciphers where there are some.
"""
import json
import os
import re
import signal
import socket
import subprocess
import xml.etree.ElementTree as ET

from interop import (PorterTest, example, free_ports, need, need_root, ok, run, sessions,
                     tls_certs, tls_service, wait_for)

MICRO_HTTPD = "/usr/sbin/micro-httpd"
WEAK = re.compile(r"NULL|EXP|RC4|DES|MD5|ADH|AECDH|anon", re.I)
# The defaults porter.conf(5) gives for tls_ciphers and tls_ciphersuites.
DEFAULT_TLS12 = {
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384", "DHE-RSA-CHACHA20-POLY1305"}
DEFAULT_TLS13 = {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                 "TLS_AES_128_GCM_SHA256"}


def scan(test, port, d=None):
    """sslscan's report on 127.0.0.1:port, as (protocols, ciphers, root):
    protocols maps "SSLv3", "TLSv1.0" ... to whether they are enabled,
    ciphers is a list of dicts of the <cipher> attributes."""
    r = run(["sslscan", "--no-colour", "--sni-name=localhost", "--xml=-",
             "127.0.0.1:%d" % port], timeout=120)
    test.assertEqual(r.returncode, 0, "sslscan exited %d: %s%s" % (
        r.returncode, r.stderr.decode(errors="replace"),
        "\nporterd's log:\n" + d.text()[-4000:] if d is not None else ""))
    text = r.stdout.decode(errors="replace")
    root = ET.fromstring(text[text.index("<?xml"):])
    test.assertIsNotNone(root.find("ssltest"), text)
    protocols = {}
    for p in root.iter("protocol"):
        name = ("SSLv%s" if p.get("type") == "ssl" else "TLSv%s") % p.get("version")
        protocols[name] = p.get("enabled") == "1"
    ciphers = [dict(c.attrib) for c in root.iter("cipher")]
    return protocols, ciphers, root


class TlsScanTest(PorterTest):
    def setUp(self):
        need(self, "sslscan")
        self.certs = tls_certs(self)

    def test_default_policy(self):
        need(self, MICRO_HTTPD)
        need_root(self, "the service runs as nobody:www-data")
        conf = tls_service(example("https"), self.certs, type="UNLISTED", port="{PORT0}",
                           bind="127.0.0.1", server_args="{DIR}/www")
        for attr in ("tls_protocols", "tls_ciphers", "tls_ciphersuites"):
            self.assertNotRegex(conf, r"(?m)^\s*%s\s*=" % attr,
                                "the example must keep porter's defaults")
        d = self.start(conf, files={"www/index.html": "scanned\n"})
        protocols, ciphers, root = scan(self, d.port, d)
        report = ET.tostring(root, encoding="unicode")

        self.assertEqual(protocols, {"SSLv2": False, "SSLv3": False, "TLSv1.0": False,
                                     "TLSv1.1": False, "TLSv1.2": True, "TLSv1.3": True},
                         report)
        self.assertEqual({c["sslversion"] for c in ciphers}, {"TLSv1.2", "TLSv1.3"}, report)
        for c in ciphers:
            self.assertNotRegex(c["cipher"], WEAK, report)
            self.assertGreaterEqual(int(c["bits"]), 128, report)
            self.assertIn(c.get("strength"), ("strong", "acceptable"), report)
        # Exactly the documented defaults; with both certificates, the
        # ECDSA and the RSA ciphers alike.
        self.assertEqual({c["cipher"] for c in ciphers if c["sslversion"] == "TLSv1.2"},
                         DEFAULT_TLS12, report)
        self.assertEqual({c["cipher"] for c in ciphers if c["sslversion"] == "TLSv1.3"},
                         DEFAULT_TLS13, report)
        for r in root.iter("renegotiation"):
            self.assertFalse(r.get("supported") == "1" and r.get("secure") != "1", report)
        for h in root.iter("heartbleed"):
            self.assertEqual(h.get("vulnerable"), "0", report)

        # porterd refused the old protocols at the handshake and ran
        # micro-httpd only for sessions of TLS 1.2 and 1.3 (with no request
        # in them it exits 1, or 0 when the scanner closed first).
        self.assertGreater(d.count_log(r"FAIL: https tls from=127\.0\.0\.1$"), 0, d.text())
        sessions(self, d, "https", status=(0, 1), tls=("TLSv1.2", "TLSv1.3"), timeout=30)

    def test_default_policy_testssl(self):
        need(self, MICRO_HTTPD, "testssl")
        need_root(self, "the service runs as nobody:www-data")
        conf = tls_service(example("https"), self.certs, type="UNLISTED", port="{PORT0}",
                           bind="127.0.0.1", server_args="{DIR}/www")
        d = self.start(conf, files={"www/index.html": "scanned\n"})
        out = os.path.join(d.dir, "testssl.json")
        r = run(["testssl", "--quiet", "--color", "0", "--warnings", "off", "--nodns", "min",
                 "--protocols", "--std", "--jsonfile", out,
                 "127.0.0.1:%d" % d.port], timeout=300)
        ok(self, r, d)
        with open(out) as f:
            found = {}
            for e in json.load(f):
                found.setdefault(e["id"], []).append(e["finding"])
        report = json.dumps(found, indent=1)

        def finding(key):
            self.assertEqual(len(found.get(key, ())), 1, "%s: %s" % (key, report))
            return found[key][0]
        for key in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertEqual(finding(key), "not offered", report)
        self.assertEqual(finding("TLS1_2"), "offered", report)
        self.assertRegex(finding("TLS1_3"), r"^offered", report)
        # NULL, anonymous, EXPORT, LOW (64 bits, DES, RC2, RC4), 3DES and
        # IDEA, and the CBC ciphers: none.
        for key in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):
            self.assertEqual(finding("cipherlist_" + key), "not offered", report)
        self.assertEqual(finding("cipherlist_STRONG"), "offered", report)
        # The ciphers one by one are sslscan's part (test_default_policy):
        # testssl.sh's --each-cipher makes 370 connections.
        self.assertGreater(d.count_log(r"FAIL: https tls from=127\.0\.0\.1$"), 0, d.text())
        sessions(self, d, "https", status=(0, 1), tls=("TLSv1.2", "TLSv1.3"), timeout=30)

    def test_scan_sees_weak_settings(self):
        # The scan above can fail: against a server that allows TLS 1.0 and
        # every cipher the library has, it reports them.
        need(self, "openssl")
        port = free_ports(1)[0]
        env = dict(os.environ, OPENSSL_CONF="/dev/null")
        srv = subprocess.Popen(
            ["openssl", "s_server", "-quiet", "-www", "-accept", "127.0.0.1:%d" % port,
             "-cert", os.path.join(self.certs, "server-rsa.pem"),
             "-key", os.path.join(self.certs, "server-rsa.key"),
             "-min_protocol", "TLSv1", "-cipher", "ALL:COMPLEMENTOFALL:@SECLEVEL=0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=env)
        self.addCleanup(srv.wait, 10)
        self.addCleanup(srv.send_signal, signal.SIGTERM)

        def listening():
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 10, "openssl s_server on port %d" % port)
        protocols, ciphers, root = scan(self, port)
        report = ET.tostring(root, encoding="unicode")
        self.assertTrue(protocols["TLSv1.0"] and protocols["TLSv1.1"], report)
        names = {c["cipher"] for c in ciphers}
        self.assertTrue(any("NULL" in n for n in names), report)
        self.assertTrue(any("MD5" in n for n in names), report)
        self.assertTrue(any(n.startswith(("ADH-", "AECDH-")) for n in names), report)
        self.assertTrue(any(int(c["bits"]) < 128 for c in ciphers), report)
        self.assertTrue(any(c.get("strength") not in ("strong", "acceptable")
                            for c in ciphers), report)
