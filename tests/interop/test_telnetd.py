"""telnetd (inetutils-telnetd) under porterd: the telnet service of the
classic xinetd tutorial serves a login, a command and a logout.

The service file is the one Red Hat's telnet-server package installed as
/etc/xinetd.d/telnet, which xinetd tutorials and guides reprint to explain
the format. It is served as it is, with only what this machine and a test
must change:

- `disable = no`, as an administrator enabling it writes;
- `server`: Debian 12's telnetd (inetutils-telnetd) is /usr/sbin/telnetd;
  the netkit in.telnetd the file names is no longer packaged;
- `type = UNLISTED` and a free `port` on `bind = 127.0.0.1` instead of
  port 23 on every address.

The main file gives the logging defaults of Red Hat's xinetd.conf
(`log_on_success = PID HOST DURATION EXIT`, `log_on_failure = HOST`) and
includes the folder that holds the file; without `log_type` the service
lines go to porterd's own log, which the test reads. The file's
`log_on_failure += USERID` adds to the default and asks for the client's
ident answer only when a client is refused: a login that is served makes
no ident query and writes no USERID line.

telnetd runs login(1) on a pseudo-terminal; login checks the password with
PAM and records the session in utmp, wtmp and lastlog. The test creates a
local user with a password for it and removes it at the end (its wtmp and
lastlog entries stay, as after any login).
"""
import re
import select
import socket
import subprocess
import time

from interop import (PORTERD, SLOW, PorterTest, local_user, need, need_root, service,
                     sessions)

TELNETD = "/usr/sbin/telnetd"

# /etc/xinetd.d/telnet from Red Hat's telnet-server package.
TELNET = """\
# default: on
# description: The telnet server serves telnet sessions; it uses \\
#	unencrypted username/password pairs for authentication.
service telnet
{
	flags		= REUSE
	socket_type	= stream
	wait		= no
	user		= root
	server		= /usr/sbin/in.telnetd
	log_on_failure	+= USERID
	disable		= yes
}
"""

MAIN = """\
defaults
{{
	log_on_failure	= HOST
	log_on_success	= PID HOST DURATION EXIT
}}

includedir {DIR}/xinetd.d
"""

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
ECHO, SGA = 1, 3


class Telnet:
    """Just enough of a telnet client (RFC 854) for a login: it lets the
    server echo and suppress go-ahead, refuses every other option either
    side proposes, skips subnegotiations, and ends lines with CR LF."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        self.pending = b""   # an IAC sequence cut by the end of a read
        self.text = b""      # what the server sent, without IAC sequences
        self.closed = False

    def _feed(self, data):
        data = self.pending + data
        self.pending = b""
        out, reply, i = bytearray(), bytearray(), 0
        while i < len(data):
            c = data[i]
            if c != IAC:
                out.append(c)
                i += 1
                continue
            if i + 1 >= len(data):
                break
            cmd = data[i + 1]
            if cmd == IAC:
                out.append(IAC)
                i += 2
            elif cmd in (DO, DONT, WILL, WONT):
                if i + 2 >= len(data):
                    break
                opt = data[i + 2]
                if cmd == DO:
                    reply += bytes((IAC, WONT, opt))
                elif cmd == WILL:
                    reply += bytes((IAC, DO if opt in (ECHO, SGA) else DONT, opt))
                i += 3
            elif cmd == SB:
                end = data.find(bytes((IAC, SE)), i + 2)
                if end < 0:
                    break
                i = end + 2
            else:
                i += 2
        self.pending = data[i:]
        self.text += bytes(out)
        if reply:
            self.sock.sendall(bytes(reply))

    def expect(self, pattern, timeout=15.0):
        """Reads until pattern matches what came since the last match;
        returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout * SLOW
        while True:
            m = rx.search(self.text)
            if m:
                self.text = self.text[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                raise AssertionError("telnet: no %r in %r" % (pattern, self.text[-2000:]))
            if select.select([self.sock], [], [], left)[0]:
                data = self.sock.recv(65536)
                if not data:
                    self.closed = True
                self._feed(data)

    def line(self, text):
        self.sock.sendall(text.encode() + b"\r\n")

    def until_closed(self, timeout=15.0):
        deadline = time.monotonic() + timeout * SLOW
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("telnet: the server did not close; it sent %r" %
                                     self.text[-2000:])
            if select.select([self.sock], [], [], left)[0]:
                data = self.sock.recv(65536)
                if not data:
                    self.closed = True
                self._feed(data)
        return self.text

    def close(self):
        self.sock.close()


class TelnetdTest(PorterTest):
    def setUp(self):
        need(self, TELNETD, "login")
        need_root(self, "telnetd runs login, which needs root")

    def telnet_file(self):
        return service(TELNET, disable="no", server=TELNETD, type="UNLISTED", port="{PORT0}",
                       bind="127.0.0.1")

    def test_login_command_logout(self):
        d = self.start(MAIN, files={"xinetd.d/telnet": self.telnet_file()})
        d.wait_log(r"telnet: listening on tcp 127\.0\.0\.1 port %d$" % d.port)
        name, password = local_user(self, "telnet")

        t = Telnet(d.port)
        self.addCleanup(t.close)
        t.expect(rb"login: $")
        t.line(name)
        t.expect(rb"Password: $")
        t.line(password)
        # The shell's prompt, after what login prints (motd, no home).
        t.expect(rb"\$ $")
        # The shell runs the command: the output is not an echo of it.
        t.line('echo "porter-$((6 * 7)) as $(id -un) on $(tty)"')
        m = t.expect(rb"porter-42 as (\S+) on (\S+)\r\n")
        self.assertEqual(m.group(1).decode(), name, t.text)
        self.assertRegex(m.group(2).decode(), r"^/dev/pts/\d+$")
        t.line("exit")
        t.until_closed()

        statuses = sessions(self, d, "telnet", 1)
        self.assertEqual(statuses, [0])
        text = d.text()
        # Served, not refused: no ident query, no USERID or NOID line.
        for word in ("FAIL", "USERID", "NOID"):
            self.assertNotRegex(text, r"\b%s: telnet\b" % word, text)

    def test_dump(self):
        """porterd -T shows the file's values, USERID added to the
        defaults' HOST."""
        d = self.start(MAIN, files={"xinetd.d/telnet": self.telnet_file()})
        r = subprocess.run([PORTERD, "-T", "-f", d.conf], capture_output=True, text=True,
                           timeout=30 * SLOW)
        self.assertEqual(r.returncode, 0, r)
        entry = r.stdout[r.stdout.index("service telnet"):]
        for line in ("flags             = REUSE", "socket_type       = stream",
                     "wait              = no", "user              = root",
                     "server            = " + TELNETD,
                     "log_on_success    = PID HOST EXIT DURATION",
                     "log_on_failure    = HOST USERID"):
            self.assertIn("\t" + line + "\n", entry, r.stdout)
