"""micro-httpd behind porterd's TLS, with curl over HTTPS: files, a
directory listing, a 404, ALPN, TLS 1.2 as well as 1.3, the RSA certificate
to a client that only takes RSA, and 10 requests at once.

The service is examples/interop/https on a free port of 127.0.0.1 with
the directory in the test's folder and the certificates of
tests/tls/mkcerts.sh. curl checks the certificate against the test CA and
the name localhost. micro-httpd exits 1 after an error page; every EXIT
line ends with the session's protocol.
"""
import os

from interop import (PorterTest, example, need, need_root, ok, run, sessions, tls_certs,
                     tls_service)

MICRO_HTTPD = "/usr/sbin/micro-httpd"
PARALLEL = 10


def https_files():
    files = {"www/index.html": "<html><body>porter over TLS</body></html>\n",
             "www/file": "served through porterd's TLS\n" * 2000,
             "www/sub/inner.txt": "inside a directory\n"}
    for i in range(PARALLEL):
        files["www/par/f%02d.txt" % i] = ("file %02d\n" % i) * (300 + 41 * i)
    return files


class TlsMicroHttpdTest(PorterTest):
    def setUp(self):
        need(self, MICRO_HTTPD, "curl")
        need_root(self, "the service runs as nobody:www-data")
        self.certs = tls_certs(self)

    def curl(self, d, path, *extra):
        url = "https://localhost:%d%s" % (d.port, path)
        r = run(["curl", "-sS", "-i", "--max-time", "20", "--cacert",
                 os.path.join(self.certs, "ca.pem"), "-w", "\n%{ssl_verify_result}"] +
                list(extra) + [url])
        ok(self, r, d)
        self.stderr = r.stderr.decode(errors="replace")
        out, _, verify = r.stdout.rpartition(b"\n")
        self.assertEqual(verify, b"0", "curl did not verify the certificate")
        head, _, body = out.partition(b"\r\n\r\n")
        return head.decode(), body

    def test_files_over_tls(self):
        conf = tls_service(example("https"), self.certs, type="UNLISTED", port="{PORT0}",
                           bind="127.0.0.1", server_args="{DIR}/www")
        d = self.start(conf, files=https_files())
        www = os.path.join(d.dir, "www")

        head, body = self.curl(d, "/file", "--verbose")
        self.assertRegex(head, r"^HTTP/1\.[01] 200 ")
        # curl offers h2 and http/1.1; the service's tls_alpn takes the second.
        self.assertRegex(self.stderr, r"ALPN[:,] server accepted (to use )?http/1\.1")
        self.assertEqual(body, open(os.path.join(www, "file"), "rb").read())

        head, body = self.curl(d, "/")
        self.assertIn("Content-Type: text/html", head)
        self.assertEqual(body, open(os.path.join(www, "index.html"), "rb").read())

        head, body = self.curl(d, "/sub/")
        self.assertRegex(head, r"^HTTP/1\.[01] 200 ")
        self.assertIn(b"inner.txt", body)

        head, _ = self.curl(d, "/missing.html")
        self.assertRegex(head, r"^HTTP/1\.[01] 404 ")
        sessions(self, d, "https", 4, status=(0, 1), tls=("TLSv1.3",))

        # TLS 1.2, with a client that takes only RSA: an ECDHE-RSA cipher
        # works only with the second pair, the RSA certificate.
        head, body = self.curl(d, "/file", "--tls-max", "1.2", "--ciphers",
                               "ECDHE-RSA-AES128-GCM-SHA256", "--verbose")
        self.assertEqual(body, open(os.path.join(www, "file"), "rb").read())
        self.assertIn("SSL connection using TLSv1.2 / ECDHE-RSA-AES128-GCM-SHA256", self.stderr)
        self.assertRegex(self.stderr, r"subject: CN=localhost")
        sessions(self, d, "https", 5, status=(0, 1), tls=("TLSv1.3", "TLSv1.2"))
        d.wait_log(r"EXIT: https status=0 pid=\d+ duration=\d+\(sec\) tls=TLSv1\.2$")

        # 10 at once.
        base = "https://localhost:%d" % d.port
        cmd = ["curl", "-sS", "--cacert", os.path.join(self.certs, "ca.pem"), "--parallel",
               "--parallel-immediate", "--parallel-max", str(PARALLEL), "--max-time", "30",
               "-w", "%{http_code} %{url_effective}\\n"]
        urls = ["%s/par/f%02d.txt" % (base, i) for i in range(PARALLEL)]
        for i, u in enumerate(urls):
            cmd += ["-o", os.path.join(d.dir, "got%02d" % i), u]
        r = run(cmd)
        ok(self, r, d)
        self.assertEqual(sorted(r.stdout.decode().split("\n")[:-1]),
                         sorted("200 " + u for u in urls))
        for i in range(PARALLEL):
            with open(os.path.join(d.dir, "got%02d" % i), "rb") as f:
                got = f.read()
            with open(os.path.join(www, "par", "f%02d.txt" % i), "rb") as f:
                self.assertEqual(got, f.read(), "parallel request %d" % i)
        got = sessions(self, d, "https", 5 + PARALLEL, status=(0, 1),
                       tls=("TLSv1.3", "TLSv1.2"))
        self.assertEqual(got[:5], [0, 0, 0, 1, 0])
        self.assertEqual(got[5:], [0] * PARALLEL)
