"""inetd.conf dialects, black box: porterd -i reads a classic inetd.conf
the way openbsd-inetd does (the default) or, with -inetd_dialect
inetutils, the way inetutils-inetd does. The protocol words open different
sockets, only openbsd-inetd continues an entry on a line that starts with
a blank, and in both, tcpmux/NAME and tcpmux/+NAME entries are reached by
name through the tcpmux built-in, "+Go" first for a name with a '+'.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import unittest

from harness import PorterTest, PORTERD, converse, recv_all, refused

PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))

LOG = r"porterd\[\d+\]: INFO: "

# The tcpmux built-in on a free loopback port: an inetd.conf file alone
# gets one on port 1 of every address (test_tcpmux_builtin_added).
MUX_CONF = """
defaults
{{
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
}}

service tcpmux
{{
	type           = INTERNAL UNLISTED
	port           = {PORT0}
	socket_type    = stream
	wait           = no
	bind           = 127.0.0.1
}}
"""

# A TCPMUX server gives the positive reply itself.
PLAIN_SH = "#!/bin/sh\nprintf '+Ready\\r\\n'\necho plain here\n"

MUX_ENTRIES = (
    "tcpmux/+upper\tstream\ttcp\tnowait\troot\t/usr/bin/tr\ttr a-z A-Z\n"
    # No argv0: run under its file name, as both inetds do.
    "tcpmux/plain\tstream\ttcp\tnowait\troot\t{DIR}/plain.sh\n")

OPENBSD = MUX_ENTRIES + (
    "{PORT1}\tstream\ttcp\tnowait\troot\t/bin/echo\techo tcp\n"
    "{PORT2}\tstream\ttcp6\tnowait\troot\t/bin/echo\techo tcp6\n"
    "{PORT3}\tstream\ttcp4\tnowait\troot\t/bin/echo\techo\n"
    "\tcontinued on the next line\n")

INETUTILS = MUX_ENTRIES + (
    "{PORT1}\tstream\ttcp\tnowait\troot\t/bin/echo\techo tcp\n"
    "{PORT2}\tstream\ttcp6\tnowait\troot\t/bin/echo\techo tcp6\n"
    "{PORT3}\tstream\ttcp6only\tnowait\troot\t/bin/echo\techo tcp6only\n"
    "\t{PORT4}\tstream\ttcp\tnowait\troot\t/bin/echo\techo indented\n")


class Dialect:
    """What both dialects do with tcpmux entries; a subclass starts porterd
    on its dialect's file."""
    ARGS = ()
    INETD = ""

    def setUp(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        self.d = self.start(MUX_CONF, nports=5,
                            args=self.ARGS + ("-i", "{DIR}/inetd.conf"),
                            files={"inetd.conf": self.INETD, "plain.sh": PLAIN_SH})

    def ask(self, data):
        s = self.d.connect(self.d.ports[0])
        self.addCleanup(s.close)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return recv_all(s)

    def test_tcpmuxplus_entry_answers_go_then_runs_its_server(self):
        self.assertEqual(self.ask(b"upper\r\nabc\n"), b"+Go\r\nABC\n")
        self.d.wait_log(LOG + r"START: upper pid=[1-9]\d* from=127\.0\.0\.1$")
        self.d.wait_log(LOG + r"EXIT: upper status=0 pid=[1-9]\d*")

    def test_tcpmux_entry_server_gives_the_reply(self):
        # No "+Go" from porterd: exactly what the server writes.
        self.assertEqual(self.ask(b"plain\r\n"), b"+Ready\r\nplain here\n")
        self.d.wait_log(LOG + r"START: plain pid=[1-9]\d* from=127\.0\.0\.1$")

    def test_tcpmux_knows_only_the_entries(self):
        self.assertEqual(sorted(self.ask(b"help\r\n").split(b"\r\n")),
                         [b"", b"plain", b"upper"])
        self.assertEqual(self.ask(b"echo\r\n"), b"-Service not available\r\n")


class OpenbsdDialectTest(Dialect, PorterTest):
    INETD = OPENBSD

    def test_tcp_listens_on_ipv4_and_ipv6(self):
        p = self.d.ports[1]
        self.assertEqual(converse(p, host="127.0.0.1"), b"tcp\n")
        self.assertEqual(converse(p, host="::1"), b"tcp\n")

    def test_tcp6_is_ipv6_only(self):
        p = self.d.ports[2]
        self.assertEqual(converse(p, host="::1"), b"tcp6\n")
        self.assertTrue(refused(p, "127.0.0.1"), "tcp6 answered on 127.0.0.1")

    def test_line_starting_with_a_blank_continues_the_entry(self):
        self.assertEqual(converse(self.d.ports[3]), b"continued on the next line\n")


class InetutilsDialectTest(Dialect, PorterTest):
    ARGS = ("-inetd_dialect", "inetutils")
    INETD = INETUTILS

    def test_tcp_is_ipv4_only(self):
        p = self.d.ports[1]
        self.assertEqual(converse(p, host="127.0.0.1"), b"tcp\n")
        self.assertTrue(refused(p, "::1"), "tcp answered on ::1")

    def test_tcp6_takes_ipv4_clients_too(self):
        p = self.d.ports[2]
        self.assertEqual(converse(p, host="::1"), b"tcp6\n")
        self.assertEqual(converse(p, host="127.0.0.1"), b"tcp6\n")

    def test_tcp6only_is_ipv6_only(self):
        p = self.d.ports[3]
        self.assertEqual(converse(p, host="::1"), b"tcp6only\n")
        self.assertTrue(refused(p, "127.0.0.1"), "tcp6only answered on 127.0.0.1")

    def test_line_starting_with_a_blank_is_an_entry(self):
        self.assertEqual(converse(self.d.ports[4]), b"indented\n")

    def test_reload_and_check_keep_the_dialect(self):
        # Read as openbsd-inetd would, tcp6only is an error and tcp listens
        # on IPv6 too: both would show.
        r = subprocess.run([PORTERCTL, "-C", self.d.control, "check"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout), (0, "configuration OK\n"), r.stderr)
        self.d.reload()
        self.assertIn("reloaded: ", self.d.text())
        p = self.d.ports[1]
        self.assertEqual(converse(p, host="127.0.0.1"), b"tcp\n")
        self.assertTrue(refused(p, "::1"), "tcp answered on ::1 after a reload")
        self.assertEqual(converse(self.d.ports[3], host="::1"), b"tcp6only\n")


class TcpmuxBuiltinTest(unittest.TestCase):
    """The tcpmux built-in an inetd.conf file with tcpmux entries gets, as
    inetutils-inetd adds it: on port 1 of every address, so it is read here
    with -T rather than served."""

    def dump(self, text, *args):
        d = tempfile.mkdtemp(prefix="porter-it-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        with open(os.path.join(d, "plain.sh"), "w") as f:
            f.write(PLAIN_SH)
        os.chmod(os.path.join(d, "plain.sh"), 0o755)
        path = os.path.join(d, "inetd.conf")
        with open(path, "w") as f:
            f.write(text.format(DIR=d))
        r = subprocess.run([PORTERD, "-T"] + list(args) + ["-i", path],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def entry(self, dump, name):
        for block in dump.split("\n\n"):
            if block.startswith("service %s\n" % name):
                return block
        return None

    def test_tcpmux_builtin_added(self):
        for args in ((), ("-inetd_dialect", "inetutils")):
            block = self.entry(self.dump(MUX_ENTRIES, *args), "tcpmux")
            self.assertIsNotNone(block, args)
            self.assertRegex(block, r"\n\tid += tcpmux-stream\n")
            self.assertRegex(block, r"\n\ttype += INTERNAL\n")
            self.assertRegex(block, r"\n\tport += 1\n")
            self.assertNotIn("bind", block)
            self.assertNotIn("IPv", block)

    def test_tcpmux_line_of_the_file_serves(self):
        block = self.entry(self.dump(MUX_ENTRIES +
                                     "127.0.0.1:tcpmux\tstream\ttcp\tnowait\troot\tinternal\n"),
                           "tcpmux")
        self.assertRegex(block, r"\n\tid += tcpmux-stream\n")
        self.assertRegex(block, r"\n\tbind += 127\.0\.0\.1\n")


class DialectOptionTest(unittest.TestCase):
    def porterd(self, *args):
        return subprocess.run([PORTERD] + list(args), capture_output=True, text=True,
                              timeout=30)

    def test_unknown_dialect_is_a_usage_error(self):
        r = self.porterd("-t", "-inetd_dialect", "freebsd", "-i", "/dev/null")
        self.assertEqual(r.returncode, 64)
        self.assertIn('porterd: -inetd_dialect: expected openbsd or inetutils, not "freebsd"',
                      r.stderr)

    def test_dialect_without_an_inetd_file_is_a_usage_error(self):
        r = self.porterd("-t", "-inetd_dialect", "inetutils", "-f", "/dev/null")
        self.assertEqual(r.returncode, 64)
        self.assertIn("porterd: -inetd_dialect needs -i or -inetd_compat", r.stderr)
