"""vsftpd in inetd mode (listen=NO) under porterd, with curl: list and
retrieve in passive mode, anonymously and as a local user the test
creates (and removes).

The service is examples/interop/ftp on a free port of 127.0.0.1;
vsftpd's own file is examples/interop/vsftpd.conf with its directories
in the test's folder: anon_root, and the secure_chroot_dir vsftpd insists
on (it must exist and not be writable by the ftp user).

vsftpd's exit status is 0 or 2 at random at the end of a session, under
any inetd: its privileged process dies with status 2 ("priv_sock_get_cmd")
when it sees the unprivileged one's socket close before it handles that
process's SIGCHLD, which exits 0. So the EXIT lines are checked to be there,
paired with the START lines, with one of those two statuses.
"""
import os

from interop import (PorterTest, example, local_user, need, need_root, ok, run, service,
                     sessions, settings)

VSFTPD = "/usr/sbin/vsftpd"
VSFTPD_STATUS = (0, 2)


class VsftpdTest(PorterTest):
    def setUp(self):
        need(self, VSFTPD, "curl")
        need_root(self, "vsftpd starts as root and chroots")

    def serve(self):
        conf = service(example("ftp"), type="UNLISTED", port="{PORT0}", bind="127.0.0.1",
                       server_args="{DIR}/vsftpd.conf", banner_fail="{DIR}/busy_banner")
        vconf = settings(example("vsftpd.conf"), "=", anon_root="{DIR}/anon",
                         secure_chroot_dir="{DIR}/empty",
                         vsftpd_log_file="{DIR}/vsftpd.log")
        d = self.start(conf, files={"vsftpd.conf": vconf,
                                    "busy_banner": "421 Server busy, please try later.\r\n",
                                    "anon/welcome.txt": "anonymous FTP under porter\n"})
        for sub in ("empty", "anon/pub"):
            os.makedirs(os.path.join(d.dir, sub), mode=0o755, exist_ok=True)
        self.blob = os.urandom(300 * 1024)
        with open(os.path.join(d.dir, "anon", "pub", "blob.bin"), "wb") as f:
            f.write(self.blob)
        self.base = "ftp://127.0.0.1:%d/" % d.port
        self.d = d
        return d

    def curl(self, url, *extra):
        r = run(["curl", "-sS", "--max-time", "20"] + list(extra) + [url])
        ok(self, r, self.d)
        return r.stdout

    def test_anonymous_list_and_retrieve(self):
        d = self.serve()
        listing = self.curl(self.base).decode()
        self.assertRegex(listing, r"(?m)^d.* pub\r?$")
        self.assertRegex(listing, r"(?m)^-.* welcome\.txt\r?$")
        self.assertEqual(self.curl(self.base + "welcome.txt"), b"anonymous FTP under porter\n")
        # EPSV above (curl's first choice), PASV here.
        self.assertEqual(self.curl(self.base + "pub/blob.bin", "--disable-epsv"), self.blob)
        names = self.curl(self.base + "pub/", "--list-only", "--disable-epsv")
        self.assertEqual(names.split(), [b"blob.bin"])
        sessions(self, d, "ftp", 4, status=VSFTPD_STATUS)
        with open(os.path.join(d.dir, "vsftpd.log")) as f:
            log = f.read()
        self.assertIn('OK DOWNLOAD: Client "127.0.0.1", "/pub/blob.bin", 307200 bytes', log)

    def test_local_user(self):
        d = self.serve()
        home = os.path.join(d.dir, "home")
        name, password = local_user(self, "ftp", home)
        os.makedirs(home, mode=0o700)
        secret = os.urandom(64 * 1024)
        with open(os.path.join(home, "mine.bin"), "wb") as f:
            f.write(secret)
        uid = int(run(["id", "-u", name]).stdout)
        for p in (home, os.path.join(home, "mine.bin")):
            os.chown(p, uid, -1)
        auth = ["--user", "%s:%s" % (name, password)]
        listing = self.curl(self.base, *auth).decode()
        self.assertRegex(listing, r"(?m)^-.* mine\.bin\r?$")
        self.assertEqual(self.curl(self.base + "mine.bin", "--disable-epsv", *auth), secret)
        # A wrong password is refused by vsftpd (through PAM).
        r = run(["curl", "-sS", "--max-time", "20", "--user", name + ":wrong", self.base])
        self.assertEqual(r.returncode, 67, r)   # CURLE_LOGIN_DENIED
        sessions(self, d, "ftp", 3, status=VSFTPD_STATUS)
