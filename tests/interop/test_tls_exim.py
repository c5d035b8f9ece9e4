"""exim4 -bs behind porterd's TLS, with swaks over SMTPS (TLS from the
first byte): a whole SMTP transaction to a local user, delivered into
its mailbox; and a client that does not trust the certificate.

The service is examples/interop/smtps on a free port of 127.0.0.1 with
the certificates of tests/tls/mkcerts.sh; exim4 runs per connection as
Debian-exim with Debian's configuration as installed. swaks verifies the
certificate against the test CA. exim sees a local SMTP session (its
stdin is porterd's socketpair), which Debian's ACLs accept recipients
from; the recipient is a local user the test creates, at localhost, one
of exim's local domains, with its home in the test's folder (exim's
local delivery changes into it), and the message lands in
/var/mail/USER, which the test removes with the user; a message exim
could not deliver is taken off its queue. exim's own log (/var/log/exim4)
keeps its lines.
"""
import os
import re

from interop import (PorterTest, example, local_user, need, need_root, ok, run, sessions,
                     tls_certs, tls_service, wait_for)

EXIM = "/usr/sbin/exim4"


class TlsEximTest(PorterTest):
    def setUp(self):
        need(self, EXIM, "swaks")
        need_root(self, "exim4 -bs delivers into /var/mail as the local user")
        self.certs = tls_certs(self)

    def swaks(self, d, ca, *extra):
        return run(["swaks", "--tls-on-connect", "--tls-verify", "--tls-ca-path",
                    os.path.join(self.certs, ca), "--server", "127.0.0.1:%d" % d.port,
                    "--timeout", "20"] + list(extra))

    def test_smtp_transaction_over_tls(self):
        conf = tls_service(example("smtps"), self.certs, type="UNLISTED", port="{PORT0}",
                           bind="127.0.0.1")
        d = self.start(conf)
        # exim's mail_spool transport changes into the user's home first.
        name, _ = local_user(self, "smtps", home=d.dir)
        subject = "porter smtps %d" % os.getpid()
        r = self.swaks(d, "ca.pem", "--from", "sender@example.org", "--to",
                       name + "@localhost", "--header", "Subject: " + subject,
                       "--body", "Sent through porterd's TLS.")
        ok(self, r, d)
        out = r.stdout.decode(errors="replace")
        # swaks marks what went through TLS with ~ ("<~" from the server).
        self.assertRegex(out, r"(?m)^=== TLS started with cipher TLSv1\.3:")
        self.assertRegex(out, r'(?m)^=== TLS peer DN="/CN=localhost"$')
        self.assertRegex(out, r"(?m)^<~  220 .*ESMTP Exim ")
        self.assertRegex(out, r"(?m)^ ~> MAIL FROM:<sender@example\.org>\n<~  250 OK$")
        self.assertRegex(out, r"(?m)^ ~> RCPT TO:<%s@localhost>\n<~  250 Accepted$" %
                         re.escape(name))
        m = re.search(r"(?m)^<~  250 OK id=(\S+)$", out)
        self.assertIsNotNone(m, out)
        # Whatever exim could not deliver leaves its queue with the test.
        self.addCleanup(run, [EXIM, "-Mrm", m.group(1)])
        self.assertRegex(out, r"(?m)^<~  221 ")
        self.assertNotRegex(out, r"(?m)^<[~-]  [45]\d\d", out)

        box = "/var/mail/" + name

        def delivered():
            try:
                with open(box, "rb") as f:
                    return ("Subject: %s\n" % subject).encode() in f.read()
            except FileNotFoundError:
                return False
        wait_for(delivered, 15, "exim's delivery of %s into %s" % (m.group(1), box), 0.1)
        with open(box, "rb") as f:
            self.assertIn(b"Sent through porterd's TLS.", f.read())

        # A client that does not trust the certificate: no session, no exim.
        r = run(["swaks", "--tls-on-connect", "--tls-verify", "--tls-ca-path",
                 os.path.join(self.certs, "rogue-ca.pem"), "--server",
                 "127.0.0.1:%d" % d.port, "--timeout", "20", "--to", name + "@localhost",
                 "--quit-after", "RCPT"])
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn(b"TLS startup failed", r.stdout + r.stderr)
        d.wait_log(r"FAIL: submissions tls from=127\.0\.0\.1")

        sessions(self, d, "submissions", 1, tls=("TLSv1.3",))
