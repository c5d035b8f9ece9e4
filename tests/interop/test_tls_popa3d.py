"""popa3d behind porterd's TLS, with curl over POP3S: list and retrieve
the messages of a mailbox the test prepares, UIDL, and a wrong password.

The service is examples/interop/pop3s on a free port of 127.0.0.1 with
the certificates of tests/tls/mkcerts.sh; curl checks the certificate
against the test CA and the name localhost. As in test_popa3d.py, popa3d
reads /var/mail/USER of a user with a password, so the test creates one
and its mailbox there and removes both at the end.
"""
import grp
import os

from interop import (PorterTest, example, local_user, need, need_root, ok, run, sessions,
                     tls_certs, tls_service)
from test_popa3d import MESSAGES, mbox

POPA3D = "/usr/sbin/popa3d"


class TlsPopa3dTest(PorterTest):
    def setUp(self):
        need(self, POPA3D, "curl")
        need_root(self, "popa3d checks passwords and reads /var/mail as the user")
        self.certs = tls_certs(self)

    def test_list_and_retrieve_over_tls(self):
        conf = tls_service(example("pop3s"), self.certs, type="UNLISTED", port="{PORT0}",
                           bind="127.0.0.1")
        d = self.start(conf)
        name, password = local_user(self, "pop3s")
        box = "/var/mail/" + name
        with open(box, "wb") as f:
            f.write(mbox(MESSAGES))
        uid = int(run(["id", "-u", name]).stdout)
        os.chown(box, uid, grp.getgrnam("mail").gr_gid)
        os.chmod(box, 0o600)

        base = "pop3s://localhost:%d/" % d.port
        tls = ["--cacert", os.path.join(self.certs, "ca.pem")]
        auth = ["--user", "%s:%s" % (name, password)]

        def curl(url, *extra):
            r = run(["curl", "-sS", "--max-time", "20"] + tls + auth + list(extra) + [url])
            ok(self, r, d)
            return r

        # The greeting and the dialogue, inside a verified TLS 1.3 session.
        r = curl(base, "--verbose")
        err = r.stderr.decode(errors="replace")
        self.assertIn("SSL connection using TLSv1.3", err)
        self.assertIn("SSL certificate verify ok", err)
        self.assertRegex(err, r"(?m)^< \+OK")
        wire = [m.replace(b"\n", b"\r\n") for m in MESSAGES]
        self.assertEqual(r.stdout, b"1 %d\r\n2 %d\r\n" % (len(wire[0]), len(wire[1])))
        self.assertEqual(curl(base + "1").stdout, wire[0])
        self.assertEqual(curl(base + "2").stdout, wire[1])
        uidl = curl(base, "--request", "UIDL").stdout.split(b"\r\n")
        self.assertEqual([u.split(b" ")[0] for u in uidl if u], [b"1", b"2"])

        # A wrong password: refused, and the mailbox is untouched.
        r = run(["curl", "-sS", "--max-time", "20"] + tls + ["--user", name + ":wrong", base])
        self.assertEqual(r.returncode, 67, r)   # CURLE_LOGIN_DENIED
        with open(box, "rb") as f:
            self.assertEqual(f.read(), mbox(MESSAGES))

        # A client that does not trust the certificate stops at the handshake:
        # no popa3d runs for it.
        r = run(["curl", "-sS", "--max-time", "20"] + auth + [base])
        self.assertEqual(r.returncode, 60, r)   # CURLE_PEER_FAILED_VERIFICATION
        d.wait_log(r"FAIL: pop3s tls from=127\.0\.0\.1")

        sessions(self, d, "pop3s", 5, tls=("TLSv1.3",))
