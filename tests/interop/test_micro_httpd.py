"""micro-httpd under porterd serving a directory, with curl: files, a
directory listing, a 404, and 30 requests at once.

The service is examples/interop/http on a free port of 127.0.0.1 with the
directory in the test's folder. micro-httpd answers one request per
process and exits 1 after an error page: porterd's EXIT lines say so.
"""
import os

from interop import PorterTest, example, need, need_root, ok, run, service, sessions

MICRO_HTTPD = "/usr/sbin/micro-httpd"
PARALLEL = 30


def http_files():
    """The served tree, as Porterd files (relative to {DIR})."""
    files = {"www/index.html": "<html><body>porter interop</body></html>\n",
             "www/notes.txt": "plain text\n" * 100,
             "www/sub/inner.txt": "inside a directory\n"}
    for i in range(PARALLEL):
        files["www/par/f%02d.txt" % i] = ("file %02d\n" % i) * (200 + 37 * i)
    return files


def check_http(test, d, port):
    """The client checks, against porterd's port (the service itself or a
    relay in front of it). Returns the exit statuses micro-httpd gives the
    requests made one after the other."""
    www = os.path.join(d.dir, "www")
    base = "http://127.0.0.1:%d" % port

    def get(path, *extra):
        r = run(["curl", "-sS", "-i", "--max-time", "20"] + list(extra) + [base + path])
        ok(test, r, d)
        head, _, body = r.stdout.partition(b"\r\n\r\n")
        return head.decode(), body

    head, body = get("/")
    test.assertRegex(head, r"^HTTP/1\.[01] 200 ")
    test.assertIn("Content-Type: text/html", head)
    test.assertEqual(body, open(os.path.join(www, "index.html"), "rb").read())

    head, body = get("/notes.txt")
    test.assertRegex(head, r"^HTTP/1\.[01] 200 ")
    test.assertIn("Content-Type: text/plain", head)
    test.assertEqual(body, open(os.path.join(www, "notes.txt"), "rb").read())

    head, body = get("/sub/")
    test.assertRegex(head, r"^HTTP/1\.[01] 200 ")
    test.assertIn(b"inner.txt", body)

    head, body = get("/missing.html")
    test.assertRegex(head, r"^HTTP/1\.[01] 404 ")

    # 30 at once: curl opens every connection before the first answer.
    urls = ["%s/par/f%02d.txt" % (base, i) for i in range(PARALLEL)]
    cmd = ["curl", "-sS", "--parallel", "--parallel-immediate", "--parallel-max",
           str(PARALLEL), "--max-time", "30", "-w", "%{http_code} %{url_effective}\\n"]
    for i, u in enumerate(urls):
        cmd += ["-o", os.path.join(d.dir, "got%02d" % i), u]
    r = run(cmd)
    ok(test, r, d)
    codes = sorted(r.stdout.decode().split("\n")[:-1])
    test.assertEqual(codes, sorted("200 " + u for u in urls))
    for i in range(PARALLEL):
        with open(os.path.join(d.dir, "got%02d" % i), "rb") as f:
            got = f.read()
        with open(os.path.join(www, "par", "f%02d.txt" % i), "rb") as f:
            test.assertEqual(got, f.read(), "parallel request %d" % i)
    return [0, 0, 0, 1] + [0] * PARALLEL


class MicroHttpdTest(PorterTest):
    def setUp(self):
        need(self, MICRO_HTTPD, "curl")
        need_root(self, "the service runs as nobody:www-data")

    def test_files_404_and_parallel(self):
        conf = service(example("http"), type="UNLISTED", port="{PORT0}", bind="127.0.0.1",
                       server_args="{DIR}/www")
        d = self.start(conf, files=http_files())
        statuses = check_http(self, d, d.port)
        got = sessions(self, d, "http", len(statuses), status=(0, 1))
        # One after the other the order is known; the 30 are all 0.
        self.assertEqual(got[:4], statuses[:4])
        self.assertEqual(sorted(got[4:]), statuses[4:])
