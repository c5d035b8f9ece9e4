"""popa3d under porterd, with curl: list and retrieve the messages of a
mailbox the test prepares.

The service is examples/interop/pop3 on a free port of 127.0.0.1. popa3d
has no configuration file and no option for where mailboxes are: it reads
/var/mail/USER (the path is compiled in), for a user of the password
database with a password (it refuses root and empty passwords). So the
test creates a user and its mailbox there, and removes both at the end.
"""
import grp
import os

from interop import PorterTest, example, local_user, need, need_root, ok, run, service, sessions

POPA3D = "/usr/sbin/popa3d"

MESSAGES = [
    b"From: Alice <alice@example.org>\nTo: you\nSubject: first\n\nHello from porter.\n",
    b"From: Bob <bob@example.org>\nTo: you\nSubject: second\n\nline one\n"
    b">From the mbox escape\n" + b"x" * 5000 + b"\nlast line\n",
]


def mbox(messages):
    out = b""
    for i, m in enumerate(messages):
        out += b"From sender%d@example.org Mon Jan  1 00:00:0%d 2024\n" % (i, i) + m + b"\n"
    return out


class Popa3dTest(PorterTest):
    def setUp(self):
        need(self, POPA3D, "curl")
        need_root(self, "popa3d checks passwords and reads /var/mail as the user")

    def test_list_and_retrieve(self):
        conf = service(example("pop3"), type="UNLISTED", port="{PORT0}", bind="127.0.0.1")
        d = self.start(conf)
        name, password = local_user(self, "pop3")
        box = "/var/mail/" + name
        with open(box, "wb") as f:
            f.write(mbox(MESSAGES))
        uid = int(run(["id", "-u", name]).stdout)
        os.chown(box, uid, grp.getgrnam("mail").gr_gid)
        os.chmod(box, 0o600)

        base = "pop3://127.0.0.1:%d/" % d.port
        auth = ["--user", "%s:%s" % (name, password)]

        def curl(url, *extra):
            r = run(["curl", "-sS", "--max-time", "20"] + auth + list(extra) + [url])
            ok(self, r, d)
            return r.stdout

        # On the wire a message has CRLF line ends; curl passes them on.
        wire = [m.replace(b"\n", b"\r\n") for m in MESSAGES]
        listing = curl(base)
        self.assertEqual(listing, b"1 %d\r\n2 %d\r\n" % (len(wire[0]), len(wire[1])))
        self.assertEqual(curl(base + "1"), wire[0])
        self.assertEqual(curl(base + "2"), wire[1])
        uidl = curl(base, "--request", "UIDL").split(b"\r\n")
        self.assertEqual([u.split(b" ")[0] for u in uidl if u], [b"1", b"2"])

        # A wrong password: refused, and the mailbox is untouched.
        r = run(["curl", "-sS", "--max-time", "20", "--user", name + ":wrong", base])
        self.assertEqual(r.returncode, 67, r)   # CURLE_LOGIN_DENIED
        with open(box, "rb") as f:
            self.assertEqual(f.read(), mbox(MESSAGES))

        # Five sessions, each popa3d gone with status 0 (the refused login
        # too: popa3d answered -ERR and the client said QUIT).
        sessions(self, d, "pop3", 5)
