"""tcpmux (RFC 1078), black box: the internal tcpmux service, TCPMUX and
TCPMUXPLUS services behind it, and the xinetd bugs around it: any service
reachable by name (CVE-2012-0862), services run as root (CVE-2013-4342),
a stray NUL after the reply, and a name read with one read() that could
swallow the client's first bytes.
"""
import os
import pwd
import socket
import time

from harness import PorterTest, recv_all, SLOW

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))
LOG = r"porterd\[\d+\]: INFO: "

# The TCPMUX server speaks the positive reply itself.
PLAIN_SH = "#!/bin/sh\nprintf '+Ready\\r\\n'\necho plain here\n"

CONF = """
service tcpmux
{{
	type           = INTERNAL UNLISTED
	port           = {PORT0}
	socket_type    = stream
	wait           = no
	bind           = 127.0.0.1
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
}}

service upper
{{
	type           = TCPMUXPLUS
	socket_type    = stream
	wait           = no
	user           = root
	server         = /usr/bin/tr
	server_args    = a-z A-Z
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
}}

service plain
{{
	type           = TCPMUX
	socket_type    = stream
	wait           = no
	user           = root
	server         = {DIR}/plain.sh
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
}}

service report
{{
	type           = TCPMUXPLUS
	socket_type    = stream
	wait           = no
	user           = nobody
	server         = %(helpers)s/report
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
}}

service guarded
{{
	type           = TCPMUXPLUS
	socket_type    = stream
	wait           = no
	user           = root
	server         = /bin/echo
	server_args    = guarded ok
	only_from      = 127.0.0.1
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
}}

service bannered
{{
	type           = TCPMUXPLUS
	socket_type    = stream
	wait           = no
	user           = root
	server         = /bin/echo
	server_args    = after the banner
	banner         = {DIR}/banner.txt
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
}}

# An ordinary service: reachable on its own port, never through tcpmux.
service secret
{{
	type           = UNLISTED
	port           = {PORT1}
	socket_type    = stream
	wait           = no
	user           = root
	bind           = 127.0.0.1
	server         = /bin/echo
	server_args    = secret started
	log_on_success = PID HOST EXIT
	log_on_failure = HOST
}}
""" % {"helpers": HELPERS}

MUX_SERVICES = ["bannered", "guarded", "plain", "report", "upper"]
BANNER = "Welcome, tcpmux client.\r\n"


def recv_until_closed(s):
    """Everything until the peer closes, and how: "eof", or "reset" (a close
    with client bytes left unread makes the kernel send RST, which can
    destroy a reply still on its way)."""
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return out, "eof"
            out += b
    except ConnectionResetError:
        return out, "reset"


def parse_report(data):
    out = {}
    for line in data.decode().splitlines():
        if line.startswith(("env ", "fd0=", "fd1=", "fd2=", "argv")):
            k, _, v = line.partition("=")
            out[k] = v
            continue
        for part in line.split(" "):
            k, _, v = part.partition("=")
            out[k] = v
    return out


class TcpmuxTest(PorterTest):
    def setUp(self):
        self.d = self.start(CONF, files={"plain.sh": PLAIN_SH, "banner.txt": BANNER})

    def ask(self, data, source=None, shut=True, timeout=5.0):
        s = self.d.connect(source=source, timeout=timeout)
        self.addCleanup(s.close)
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        return recv_all(s)

    def test_tcpmuxplus_go_then_server(self):
        # The name and the server's input in one segment: the name is
        # consumed exactly, what follows is the server's stdin.
        got = self.ask(b"upper\r\nabc\n")
        self.assertEqual(got, b"+Go\r\nABC\n")
        d = self.d
        d.wait_log(LOG + r"START: tcpmux pid=0 from=127\.0\.0\.1$")
        d.wait_log(LOG + r"START: upper pid=[1-9]\d* from=127\.0\.0\.1$")
        d.wait_log(LOG + r"EXIT: upper status=0 pid=[1-9]\d*$")

    def test_go_comes_before_the_banner(self):
        # RFC 1078: the client reads "+Go" first; a banner is the service's.
        self.assertEqual(self.ask(b"bannered\r\n"),
                         b"+Go\r\n" + BANNER.encode() + b"after the banner\n")

    def test_tcpmux_server_speaks_for_itself(self):
        # Nothing from porterd: exactly what the server writes.
        self.assertEqual(self.ask(b"plain\r\n"), b"+Ready\r\nplain here\n")
        self.d.wait_log(LOG + r"START: plain pid=[1-9]\d* from=127\.0\.0\.1$")

    def test_names_are_case_insensitive(self):
        self.assertEqual(self.ask(b"UpPeR\r\nxyz\n"), b"+Go\r\nXYZ\n")
        self.assertEqual(self.ask(b"PLAIN\r\n"), b"+Ready\r\nplain here\n")

    def test_name_split_across_segments_without_spinning(self):
        s = self.d.connect()
        self.addCleanup(s.close)
        s.sendall(b"upp")
        pid = self.d.proc.pid

        def cpu():
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        time.sleep(0.2)
        c0 = cpu()
        time.sleep(1.0)
        spent = cpu() - c0
        s.sendall(b"er\r\nsplit\n")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(s), b"+Go\r\nSPLIT\n")
        # Waiting for the rest of the line must cost porterd nothing.
        self.assertLess(spent, 0.2, "porterd spun for %.2f s of CPU in 1 s waiting for "
                        "the end of a tcpmux line" % spent)

    def test_line_too_long(self):
        s = self.d.connect()
        self.addCleanup(s.close)
        s.sendall(b"a" * 300)
        got, how = recv_until_closed(s)
        self.assertEqual(got, b"-Line too long\r\n")
        # What the client sent unread does not turn the close into a reset.
        self.assertEqual(how, "eof")
        self.assertEqual(self.d.count_log(r"START: (?!tcpmux )"), 0, self.d.text())

    def test_help_lists_tcpmux_services(self):
        got = self.ask(b"help\r\n")
        self.assertNotIn(b"\0", got)
        self.assertTrue(got.endswith(b"\r\n"), got)
        lines = got[:-2].split(b"\r\n")
        self.assertEqual(sorted(l.decode() for l in lines), MUX_SERVICES)
        # Case-insensitive too.
        self.assertEqual(self.ask(b"HELP\r\n"), got)
        # A client sees only the services its address may reach: guarded
        # is only_from = 127.0.0.1.
        other = self.ask(b"help\r\n", source="127.0.0.2")
        self.assertEqual(sorted(l.decode() for l in other[:-2].split(b"\r\n")),
                         [n for n in MUX_SERVICES if n != "guarded"])

    def test_unknown_name(self):
        s = self.d.connect()
        self.addCleanup(s.close)
        s.sendall(b"nosuchservice\r\n")
        got, how = recv_until_closed(s)
        # Exactly the reply, no trailing NUL (xinetd sent one), then EOF.
        self.assertEqual(got, b"-Service not available\r\n")
        self.assertNotIn(b"\0", got)
        self.assertEqual(how, "eof")
        self.d.wait_log(LOG + r"FAIL: tcpmux service from=127\.0\.0\.1$")
        # With the client's next bytes already sent, the reply still arrives.
        s = self.d.connect()
        self.addCleanup(s.close)
        s.sendall(b"nosuchservice\r\nsome data for the server")
        got, how = recv_until_closed(s)
        self.assertEqual(got, b"-Service not available\r\n")
        self.assertEqual(how, "eof")
        self.d.wait_log(LOG + r"FAIL: tcpmux service from=127\.0\.0\.1$", count=2)

    def test_cve_2012_0862_ordinary_service_not_reachable(self):
        d = self.d
        # The internal tcpmux itself, and an ordinary service by name.
        for name in (b"secret", b"SECRET", b"tcpmux"):
            got = self.ask(name + b"\r\n", shut=False)
            self.assertEqual(got, b"-Service not available\r\n", name)
        d.wait_log(LOG + r"FAIL: tcpmux service from=127\.0\.0\.1$", count=3)
        self.assertEqual(d.count_log(r"START: secret "), 0, d.text())
        # The service works on its own port, so a START would have shown.
        s = d.connect(port=d.ports[1])
        self.addCleanup(s.close)
        self.assertEqual(recv_all(s), b"secret started\n")
        d.wait_log(LOG + r"START: secret pid=[1-9]\d* from=127\.0\.0\.1$")
        d.wait_log(LOG + r"EXIT: secret status=0 ")
        self.assertEqual(d.count_log(r"START: secret "), 1, d.text())

    def test_cve_2013_4342_runs_with_its_own_credentials(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        nobody = pwd.getpwnam("nobody")
        got = self.ask(b"report\r\n")
        self.assertTrue(got.startswith(b"+Go\r\n"), got[:100])
        r = parse_report(got[5:])
        self.assertEqual(r["uid"], str(nobody.pw_uid))
        self.assertEqual(r["euid"], str(nobody.pw_uid))
        self.assertEqual(r["gid"], str(nobody.pw_gid))
        self.assertEqual(r["egid"], str(nobody.pw_gid))
        self.assertNotIn("0", r["groups"].split(","))
        # A server's ordinary world: the connection on 0-2, blocking, and
        # nothing else of porterd's (no tcpmux listener, no relay pipe).
        self.assertEqual(r["fds"], "0,1,2")
        self.assertEqual(r["fd0_nonblock"], "0")
        self.assertTrue(r["fd0"].startswith("socket stream ino="), r["fd0"])
        self.assertEqual(r["fd0"], r["fd1"])

    def test_target_access_rules_apply(self):
        d = self.d
        s = d.connect(source="127.0.0.3")
        self.addCleanup(s.close)
        s.sendall(b"guarded\r\n")
        got, how = recv_until_closed(s)
        # RFC 1078: a negative reply, one '-' line, and nothing of the server.
        self.assertTrue(got.startswith(b"-") and got.endswith(b"\r\n"), got)
        self.assertEqual(got.count(b"\r\n"), 1, got)
        self.assertNotIn(b"+Go", got)
        self.assertNotIn(b"\0", got)
        self.assertEqual(how, "eof")
        d.wait_log(LOG + r"FAIL: guarded address from=127\.0\.0\.3$")
        self.assertEqual(d.count_log(r"START: guarded "), 0, d.text())
        # From an allowed address it runs.
        self.assertEqual(self.ask(b"guarded\r\n", source="127.0.0.1"),
                         b"+Go\r\nguarded ok\n")
        d.wait_log(LOG + r"START: guarded pid=[1-9]\d* from=127\.0\.0\.1$")

    def test_silent_client_gets_timeout(self):
        t0 = time.monotonic()
        s = self.d.connect(timeout=20)
        self.addCleanup(s.close)
        got, how = recv_until_closed(s)
        took = time.monotonic() - t0
        self.assertEqual(got, b"-Timeout\r\n")
        self.assertEqual(how, "eof")
        self.assertGreater(took, 9.0)
        self.assertLess(took, 12.0 * SLOW)
