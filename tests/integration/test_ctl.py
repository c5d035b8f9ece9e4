"""porterctl and the control socket: every command, in text and in JSON,
against a running porterd with live connections (a spawned server that
sleeps, an echo session held open); permissions; disable and enable taking
effect at once; explain; metrics; reload and check; the SIGUSR1 dump. Every
porterd here gets -C with a socket in a directory of the test's own, so the
tests never touch /run."""
import datetime
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import (PorterTest, Porterd, SLOW, converse, wait_for, FakeDNS, etc_with_dns,
                     refused, udp_ask)

PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))
HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))

CONF = """
service slow
{{
	type        = UNLISTED
	port        = {PORT0}
	socket_type = stream
	wait        = no
	user        = root
	server      = %(helpers)s/slow
	server_args = 30000
	bind        = 127.0.0.1
	instances   = 10
	per_source  = 5
}}

service echo
{{
	type        = INTERNAL UNLISTED
	port        = {PORT1}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.1
	only_from   = 127.0.0.0/8 10.0.0.0/8 .example.test
	no_access   = 10.1.0.0/16
}}

service daytime
{{
	id           = daytime-am
	type         = INTERNAL UNLISTED
	port         = {PORT2}
	socket_type  = stream
	wait         = no
	bind         = 127.0.0.1
	access_times = 08:00-09:00
}}
%(extra)s
"""

ECHO2 = """
service echo
{{
	id          = echo2
	type        = INTERNAL UNLISTED
	port        = {PORT3}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.1
}}
"""

BROKEN = """
service broken
{{
	socket_type = stream
	bogus       = 1
}}
"""

# An error in the defaults concerns every service: the whole file is
# refused.
FATAL = """
defaults
{{
	bogus       = 1
}}
"""

# One sample of the Prometheus text format: name{labels} value.
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
                    r'(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*\})? '
                    r'(-?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$')


UDP_ECHO = """
service echo
{{
	id          = echo-udp
	type        = INTERNAL UNLISTED
	port        = {PORT3}
	socket_type = dgram
	wait        = yes
	bind        = 127.0.0.1
}}
"""

# What a package removed but not purged leaves in the include directory:
# a server that is gone, run as a user that is gone.
STALE = """
service stale
{{
	type        = UNLISTED
	port        = {PORT3}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.1
	user        = nosuchuser
	server      = /nonexistent/in.fingerd
}}
"""

# One name on two addresses, and one service written twice.
TWINS = """
service echo
{{
	type        = INTERNAL UNLISTED
	port        = {PORT0}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.1
}}

service echo
{{
	type        = INTERNAL UNLISTED
	port        = {PORT0}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.2
}}

service echo
{{
	type        = INTERNAL UNLISTED
	id          = echo-dgram
	port        = {PORT1}
	socket_type = dgram
	wait        = yes
	bind        = 127.0.0.1
}}

service echo
{{
	type        = INTERNAL UNLISTED
	id          = echo-dgram
	port        = {PORT1}
	socket_type = dgram
	wait        = yes
	bind        = 127.0.0.1
}}
"""

# One service whose port is taken, one whose entry is wrong.
ONLY = """
service taken
{{
	type        = INTERNAL UNLISTED
	id          = echo
	port        = {port}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.1
}}

service wrong
{{
	type        = UNLISTED
	port        = {port}
	socket_type = stream
	wait        = maybe
	server      = /bin/cat
}}
"""

# A relay whose backend is a name: reading it waits for the resolver.
HELD = """
service held
{{
	type          = UNLISTED
	port          = {PORT3}
	socket_type   = stream
	wait          = no
	redirect      = held.porter.test 7
	bind          = 127.0.0.1
}}
"""


def conf(extra=""):
    return CONF % {"helpers": HELPERS, "extra": extra}


# A service whose per_source is one, and one reached through tcpmux whose
# instances is one.
MUXED = """
service one
{{
	type        = UNLISTED
	port        = {PORT3}
	socket_type = stream
	wait        = no
	user        = root
	server      = %(helpers)s/slow
	server_args = 30000
	bind        = 127.0.0.1
	instances   = 10
	per_source  = 1
	log_on_failure = HOST
}}

service tcpmux
{{
	type        = INTERNAL UNLISTED
	port        = {PORT4}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.1
}}

service muxed
{{
	type        = TCPMUX
	socket_type = stream
	wait        = no
	user        = root
	server      = %(helpers)s/slow
	server_args = 30000
	instances   = 1
	log_on_failure = HOST
}}
""" % {"helpers": HELPERS}


class CtlTest(PorterTest):
    def start_ctl(self, text=None, **kw):
        """A porterd with its control socket in a directory of its own."""
        self.sockdir = tempfile.mkdtemp(prefix="porter-ctl-")
        os.chmod(self.sockdir, 0o755)
        self.addCleanup(shutil.rmtree, self.sockdir, True)
        self.sock = os.path.join(self.sockdir, "ctl.sock")
        args = ("-C", self.sock) + tuple(kw.pop("args", ()))
        d = self.start(text if text is not None else conf(), args=args, **kw)
        d.wait_log(r"control: listening on " + re.escape(self.sock))
        return d

    def ctl(self, *args, sock=None, **kw):
        return subprocess.run([PORTERCTL, "-C", sock or self.sock] + list(args),
                              capture_output=True, text=True, timeout=30 * SLOW, **kw)

    def ok(self, *args):
        r = self.ctl(*args)
        self.assertEqual(r.returncode, 0, "porterctl %s: %s%s" % (args, r.stdout, r.stderr))
        return r.stdout

    def json(self, *args):
        return json.loads(self.ok(*(args + ("--json",))))

    def raw(self, data, timeout=10.0):
        """Sends bytes to the control socket; returns the whole answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout * SLOW)
            s.connect(self.sock)
            s.sendall(data)
            out = b""
            while True:
                b = s.recv(65536)
                if not b:
                    return out
                out += b

    def status(self, sid):
        for svc in self.json("status"):
            if svc["id"] == sid:
                return svc
        raise AssertionError("no service %r in status" % sid)

    def live(self, d):
        """A slow server running and an echo session open; returns both
        client sockets."""
        slow = d.connect(d.ports[0])
        self.addCleanup(slow.close)
        echo = d.connect(d.ports[1])
        self.addCleanup(echo.close)
        echo.sendall(b"hi\n")
        self.assertEqual(echo.recv(16), b"hi\n")
        wait_for(lambda: self.status("slow")["running"] == 1, what="the slow server")
        return slow, echo

    # ------------------------------------------------------------ status

    def test_status_text_and_json(self):
        d = self.start_ctl()
        self.live(d)
        out = self.ok("status")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(),
                         ["SERVICE", "PROTO", "ADDRESS", "PORT", "STATE", "RUNNING", "ACCEPTED",
                          "REFUSED"])
        rows = {l.split()[0]: l.split() for l in lines[1:]}
        self.assertEqual(rows["slow"], ["slow", "tcp", "127.0.0.1", str(d.ports[0]), "active",
                                        "1", "1", "0"])
        self.assertEqual(rows["echo"][:6], ["echo", "tcp", "127.0.0.1", str(d.ports[1]),
                                            "active", "1"])
        self.assertIn("daytime-am", rows)
        # The table is aligned: every header starts where its column does.
        self.assertEqual(len({len(l) for l in lines}), 1, out)

        js = {s["id"]: s for s in self.json("status")}
        self.assertEqual(set(js), {"slow", "echo", "daytime-am"})
        slow = js["slow"]
        self.assertEqual((slow["kind"], slow["protocol"], slow["address"], slow["port"],
                          slow["state"], slow["running"], slow["accepted"], slow["refused"],
                          slow["paused_why"]),
                         ("server", "tcp", "127.0.0.1", d.ports[0], "active", 1, 1, 0, []))
        self.assertEqual((js["echo"]["kind"], js["echo"]["running"]), ("internal", 1))
        # --json may come before the command as well.
        r = self.ctl("--json", "status")
        self.assertEqual([s["id"] for s in json.loads(r.stdout)],
                         ["slow", "echo", "daytime-am"])

    def test_connections_text_and_json(self):
        d = self.start_ctl()
        slow, echo = self.live(d)
        cport = slow.getsockname()[1]
        # The builtin's session is a live connection too, served inside
        # porterd: pid 0 and its byte counts.
        sessions = [c for c in self.json("connections") if c["service"] == "echo"]
        self.assertEqual(len(sessions), 1, sessions)
        self.assertEqual((sessions[0]["kind"], sessions[0]["pid"], sessions[0]["port"],
                          sessions[0]["bytes_in"], sessions[0]["bytes_out"]),
                         ("session", 0, echo.getsockname()[1], 3, 3))
        conns = [c for c in self.json("connections") if c["service"] == "slow"]
        self.assertEqual(len(conns), 1, conns)
        c = conns[0]
        self.assertEqual((c["kind"], c["peer"], c["port"], c["bytes_in"], c["bytes_out"]),
                         ("server", "127.0.0.1", cport, None, None))
        self.assertGreater(c["pid"], 0)
        with open("/proc/%d/cmdline" % c["pid"], "rb") as f:
            self.assertIn(b"slow", f.read())
        start = datetime.datetime.strptime(c["start"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc)
        self.assertLess(abs(time.time() - start.timestamp()), 60)
        self.assertGreaterEqual(c["duration"], 0)

        out = self.ok("connections")
        lines = out.splitlines()
        self.assertEqual(lines[0].split(),
                         ["SERVICE", "PEER", "PID", "START", "DURATION", "IN", "OUT", "KIND"])
        row = [l.split() for l in lines[1:] if l.startswith("slow ")]
        self.assertEqual(len(row), 1, out)
        self.assertEqual(row[0][1:4], ["127.0.0.1:%d" % cport, str(c["pid"]), c["start"]])
        self.assertEqual(row[0][5:], ["-", "-", "server"])

    # ------------------------------------------------------- disable, enable

    def prometheus(self, types=False):
        """The metrics in the Prometheus text format, checked line by line:
        {name{labels}: value}, and with types {name: type} too."""
        out = self.ok("metrics")
        self.assertTrue(out.endswith("\n"))
        samples = {}
        helped, typed = set(), {}
        for line in out.splitlines():
            if line.startswith("# HELP "):
                helped.add(line.split()[2])
                continue
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                self.assertIn(kind, ("counter", "gauge"))
                typed[name] = kind
                continue
            m = SAMPLE.match(line)
            self.assertIsNotNone(m, "not a sample line: %r" % line)
            self.assertIn(m.group(1), typed, "sample before its TYPE: %r" % line)
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
        self.assertEqual(set(typed), helped)
        return (samples, typed) if types else samples

    def udp_refused(self, port):
        """Whether a datagram to the port is refused (ICMP port
        unreachable): nothing listens there."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(5.0 * SLOW)
            u.connect(("127.0.0.1", port))
            u.send(b"ping")
            try:
                return u.recv(64) == b""
            except ConnectionRefusedError:
                return True

    def test_disable_refuses_at_once_and_enable_serves_again(self):
        d = self.start_ctl(conf(UDP_ECHO))
        _, session = self.live(d)
        self.assertEqual(self.ok("disable", "echo"), "echo: disabled\n")
        d.wait_log(r"echo: disabled through the control socket by uid %d" % os.geteuid())
        self.assertEqual(self.status("echo")["state"], "disabled")
        row = [l.split() for l in self.ok("status").splitlines() if l.startswith("echo ")]
        self.assertEqual(row[0][4], "disabled")
        # The port is closed: a client is refused at once, as a monitor
        # probing the port sees it.
        self.assertTrue(refused(d.ports[1]))
        # A session that was running goes on.
        session.sendall(b"still\n")
        self.assertEqual(session.recv(16), b"still\n")
        # Disabling twice changes nothing.
        js = self.json("disable", "echo")
        self.assertEqual(js, {"service": "echo", "state": "disabled", "changed": False})
        samples = self.prometheus()
        self.assertEqual(samples['porter_service_up{service="echo"}'], 0)
        self.assertEqual(samples['porter_service_disabled{service="echo"}'], 1)
        self.assertEqual(samples['porter_service_state{service="echo",state="disabled"}'], 1)

        js = self.json("enable", "echo")
        self.assertEqual(js, {"service": "echo", "state": "active", "changed": True})
        self.assertEqual(converse(d.ports[1], b"x"), b"x")
        self.assertEqual(self.ok("enable", "echo"), "echo: already enabled\n")

        # A datagram service: nothing answers while it is disabled.
        self.assertEqual(udp_ask(d.ports[3], b"u"), b"u")
        self.ok("disable", "echo-udp")
        self.assertTrue(self.udp_refused(d.ports[3]))
        self.ok("enable", "echo-udp")
        self.assertEqual(udp_ask(d.ports[3], b"v"), b"v")

        for cmd in ("disable", "enable", "pause", "resume"):
            r = self.ctl(cmd, "nosuch")
            self.assertEqual(r.returncode, 1)
            self.assertIn('no service "nosuch"', r.stderr)

    def test_enable_that_cannot_listen_says_so(self):
        d = self.start_ctl()
        self.ok("disable", "echo")
        # Someone else takes the port meanwhile.
        squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(squatter.close)
        squatter.bind(("127.0.0.1", d.ports[1]))
        squatter.listen(1)
        r = self.ctl("enable", "echo")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"echo: cannot listen: .*; it stays disabled")
        self.assertEqual(self.status("echo")["state"], "disabled")
        squatter.close()
        self.assertEqual(self.ok("enable", "echo"), "echo: enabled\n")
        self.assertEqual(converse(d.ports[1], b"back"), b"back")

    def test_pause_holds_clients_and_resume_serves_them(self):
        d = self.start_ctl()
        self.assertEqual(self.ok("pause", "echo"), "echo: paused\n")
        d.wait_log(r"echo: paused through the control socket by uid %d" % os.geteuid())
        echo = self.status("echo")
        self.assertEqual((echo["state"], echo["paused_why"]), ("paused", ["operator"]))
        # The socket stays open: the client waits in the kernel's queue.
        waiting = d.connect(d.ports[1])
        self.addCleanup(waiting.close)
        waiting.sendall(b"ping\n")
        # A client of a spawned service that gives up while it waits gets
        # no server when the service resumes; one that waits on does.
        self.ok("pause", "slow")
        gone = d.connect(d.ports[0])
        stays = d.connect(d.ports[0])
        self.addCleanup(stays.close)
        gone.close()
        self.assertEqual(self.ok("pause", "echo"), "echo: already paused\n")
        self.assertEqual(self.status("echo")["accepted"], 0)

        self.assertEqual(self.ok("resume", "echo"), "echo: resumed\n")
        waiting.settimeout(5.0 * SLOW)
        self.assertEqual(waiting.recv(16), b"ping\n")
        self.assertEqual(self.status("echo")["state"], "active")
        self.ok("resume", "slow")
        d.wait_log(r"INFO: slow: from=127\.0\.0\.1 left while the service was paused; "
                   r"not served$")
        wait_for(lambda: self.status("slow")["running"] == 1, what="the server of the client that stayed")
        self.assertEqual(self.status("slow")["accepted"], 1)

    def test_a_tcpmux_service_is_disabled_not_paused(self):
        d = self.start_ctl(conf(MUXED), nports=5)
        r = self.ctl("pause", "muxed")
        self.assertEqual(r.returncode, 1)
        self.assertIn("muxed is reached through tcpmux and has no queue of its own", r.stderr)
        self.assertEqual(self.status("muxed")["state"], "active")
        self.ok("disable", "muxed")
        self.assertEqual(self.status("muxed")["state"], "disabled")
        # Disabling the tcpmux service itself takes down what it reaches.
        self.ok("enable", "muxed")
        self.ok("disable", "tcpmux")
        self.assertEqual(self.status("muxed")["state"], "down")
        self.assertTrue(refused(d.ports[4]))

    def test_disabled_and_paused_services_stay_so_through_reloads(self):
        d = self.start_ctl()
        self.ok("disable", "echo")
        self.ok("pause", "slow")
        d.reload()
        self.assertEqual(self.status("echo")["state"], "disabled")
        self.assertEqual(self.status("slow")["state"], "paused")
        self.assertTrue(refused(d.ports[1]))
        # A new port means a new listener: still disabled, and closed.
        d.reload(conf().replace("{PORT1}", "{PORT3}", 1))
        echo = self.status("echo")
        self.assertEqual((echo["port"], echo["state"]), (d.ports[3], "disabled"))
        self.assertTrue(refused(d.ports[3]))
        self.ok("enable", "echo")
        self.assertEqual(converse(d.ports[3], b"a"), b"a")
        self.ok("resume", "slow")
        self.assertEqual(self.status("slow")["state"], "active")

    # ---------------------------------------------------------- explain

    def explain(self, *args):
        r = self.ctl("-n", "explain", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return dict(l.split(": ", 1) for l in r.stdout.splitlines())

    def test_explain_allow_and_deny_with_the_rule(self):
        d = self.start_ctl()
        self.live(d)
        e = self.explain("echo", "10.1.2.3")
        self.assertEqual((e["service"], e["client"], e["verdict"], e["rule"]),
                         ("echo", "10.1.2.3", "denied", "no_access 10.1.0.0/16"))
        e = self.explain("echo", "10.2.3.4")
        self.assertEqual((e["verdict"], e["rule"]), ("allowed", "only_from 10.0.0.0/8"))
        e = self.explain("echo", "192.0.2.1")
        self.assertEqual((e["verdict"], e["rule"]), ("denied", "not in only_from"))
        e = self.explain("echo", "::ffff:10.1.0.9")
        self.assertEqual((e["verdict"], e["rule"]), ("denied", "no_access 10.1.0.0/16"))
        # The first lines come in tcpdmatch's order.
        r = self.ctl("-n", "explain", "echo", "10.2.3.4")
        self.assertEqual([l.split(":")[0] for l in r.stdout.splitlines()[:4]],
                         ["service", "client", "verdict", "rule"])

        # access_times, at a time given and at one outside.
        e = self.explain("daytime-am", "127.0.0.1", "08:30")
        self.assertEqual((e["verdict"], e["time"]), ("allowed", "08:30"))
        e = self.explain("daytime-am", "127.0.0.1", "12:00")
        self.assertEqual((e["verdict"], e["rule"]), ("denied", "access_times 08:00-09:00"))

        # A domain rule sees the name porterctl passes on.
        out = self.raw(b"explain echo 192.0.2.1 name=host.example.test\n").decode()
        self.assertTrue(out.startswith("OK\n"), out)
        self.assertIn("verdict: allowed\nrule: only_from .example.test\n", out)
        out = self.raw(b"explain echo 192.0.2.1 name=\n").decode()
        self.assertIn("verdict: denied\n", out)
        self.assertIn("name: none\n", out)

        # The limits that depend on load, with the numbers of now; the
        # reverse lookup of 127.0.0.1 is done by porterctl itself.
        r = self.ctl("explain", "slow", "127.0.0.1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        js = json.loads(r.stdout)
        self.assertEqual((js["service"], js["verdict"], js["name_looked_up"]),
                         ("slow", "allowed", True))
        self.assertEqual(js["limits"]["instances"], {"current": 1, "max": 10, "reached": False})
        self.assertEqual(js["limits"]["per_source"], {"current": 1, "max": 5, "reached": False})
        e = self.explain("slow", "127.0.0.2")
        self.assertEqual(e["instances"], "1 running of 10")
        self.assertEqual(e["per_source"], "0 running for this source of 5")

        for bad in (("echo", "not-an-address"), ("echo", "10.0.0.1", "25:00"),
                    ("echo",)):
            self.assertEqual(self.ctl("-n", "explain", *bad).returncode, 64, bad)
        r = self.ctl("-n", "explain", "nosuch", "10.0.0.1")
        self.assertEqual(r.returncode, 1)
        self.assertIn('no service "nosuch"', r.stderr)

    def fake_porterd(self, path, answer):
        """A control socket at path that answers every request with answer."""
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(4)
        self.addCleanup(srv.close)

        def serve():
            while True:
                try:
                    c, _ = srv.accept()
                except OSError:
                    return
                with c:
                    c.recv(4096)
                    c.sendall(answer)
        threading.Thread(target=serve, daemon=True).start()

    def test_answers_cannot_drive_the_terminal(self):
        # Whatever answers on the socket, porterctl shows control
        # characters as \xNN instead of sending them to the terminal.
        tmp = tempfile.mkdtemp(prefix="porter-ctl-")
        self.addCleanup(shutil.rmtree, tmp, True)
        sock = os.path.join(tmp, "ctl.sock")
        self.fake_porterd(sock, b"OK\nred \x1b[31mtext\x07 and\ttab\n")
        r = self.ctl("status", sock=sock)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "red \\x1b[31mtext\\x07 and\ttab\n")
        os.unlink(sock)
        self.fake_porterd(sock, b"ERR bad \x1b]0;title\x07\n")
        r = self.ctl("status", sock=sock)
        self.assertEqual(r.returncode, 1)
        self.assertNotIn("\x1b", r.stderr)
        self.assertIn("bad \\x1b]0;title\\x07", r.stderr)

    def test_fallback_directory_of_another_user_is_not_used(self):
        # The fallback directory is under /tmp, where anyone can make one
        # first: porterctl uses it only when it is the user's own.
        if os.geteuid() != 0:
            self.skipTest("needs root to make a directory of another user")
        fallback = "/tmp/porter-0"
        if os.path.exists("/run/porter/control.sock") or os.path.exists(fallback):
            self.skipTest("a porterd control socket is in the default places")
        os.mkdir(fallback, 0o755)
        self.addCleanup(shutil.rmtree, fallback, True)
        self.fake_porterd(os.path.join(fallback, "control.sock"), b"OK\nspoofed\n")
        nobody = pwd.getpwnam("nobody")
        os.chown(fallback, nobody.pw_uid, nobody.pw_gid)
        r = subprocess.run([PORTERCTL, "status"], capture_output=True, text=True,
                           timeout=30 * SLOW)
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn("spoofed", r.stdout)
        self.assertIn("/tmp/porter-0 is not a directory of yours alone", r.stderr)
        # The user's own directory, writable by no one else, is used.
        os.chown(fallback, 0, 0)
        r = subprocess.run([PORTERCTL, "status"], capture_output=True, text=True,
                           timeout=30 * SLOW)
        self.assertEqual((r.returncode, r.stdout), (0, "spoofed\n"), r.stderr)

    def test_explain_says_what_the_daemon_does_at_a_limit(self):
        # One policy for both: when a limit is reached, the next client is
        # refused with the limit's word and explain says denied by it,
        # also for a service reached through tcpmux.
        d = self.start_ctl(conf(MUXED), nports=5)
        held = d.connect(d.ports[3])
        self.addCleanup(held.close)
        wait_for(lambda: self.status("one")["running"] == 1, what="the one server")
        e = self.explain("one", "127.0.0.1")
        self.assertEqual((e["verdict"], e["rule"]), ("denied", "per_source 1"))
        self.assertEqual(e["per_source"],
                         "1 running for this source of 1 (reached: a client is refused now)")
        # Another source is under its own limit.
        self.assertEqual(self.explain("one", "127.0.0.2")["verdict"], "allowed")
        # The daemon refuses the same client for the same reason.
        self.assertEqual(converse(d.ports[3]), b"")
        d.wait_log(r"FAIL: one per_source_limit from=127\.0\.0\.1")

        with socket.create_connection(("127.0.0.1", d.ports[4])) as s:
            s.sendall(b"muxed\r\n")
            self.addCleanup(s.close)
            wait_for(lambda: self.status("muxed")["running"] == 1, what="the muxed server")
            e = self.explain("muxed", "127.0.0.3")
            self.assertEqual((e["verdict"], e["rule"]), ("denied", "instances 1"))
            self.assertEqual(e["instances"],
                             "1 running of 1 (reached: a client is refused now)")
            js = json.loads(self.ok("explain", "muxed", "127.0.0.3", "--json"))
            self.assertEqual(js["limits"]["instances"],
                             {"current": 1, "max": 1, "reached": True})
            with socket.create_connection(("127.0.0.1", d.ports[4])) as s2:
                s2.settimeout(5 * SLOW)
                s2.sendall(b"muxed\r\n")
                self.assertEqual(s2.recv(64), b"-Access denied\r\n")
            d.wait_log(r"FAIL: muxed service_limit from=127\.0\.0\.1")

    def test_explain_sensor_list(self):
        d = self.start_ctl(conf("""
service trap
{{
	type        = UNLISTED
	port        = {PORT3}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.1
	flags       = SENSOR
	deny_time   = 10
}}
"""))
        self.assertEqual(self.explain("echo", "127.0.0.1")["verdict"], "allowed")
        converse(d.ports[3])
        d.wait_log(r"trap: 127\.0\.0\.1 touched the sensor")
        e = self.explain("echo", "127.0.0.1")
        self.assertEqual((e["verdict"], e["rule"]), ("denied", "sensor list"))

    # ---------------------------------------------------------- metrics

    def test_metrics_parse(self):
        d = self.start_ctl()
        self.live(d)
        samples, typed = self.prometheus(types=True)
        for name in ("porter_service_accepted_total", "porter_service_refused_total",
                     "porter_reloads_total"):
            self.assertEqual(typed[name], "counter")
        for name in ("porter_service_running", "porter_service_paused", "porter_children",
                     "porter_start_time_seconds"):
            self.assertEqual(typed[name], "gauge")
        self.assertEqual(samples['porter_service_accepted_total{service="slow"}'], 1)
        self.assertEqual(samples['porter_service_refused_total{service="slow"}'], 0)
        self.assertEqual(samples['porter_service_running{service="slow"}'], 1)
        self.assertEqual(samples['porter_service_running{service="echo"}'], 1)
        self.assertEqual(samples['porter_service_paused{service="echo"}'], 0)
        self.assertEqual(samples["porter_children"], 1)
        self.assertEqual(samples["porter_reloads_total"], 0)
        self.assertLess(abs(samples["porter_start_time_seconds"] - time.time()), 120)

        self.assertEqual(samples['porter_service_up{service="echo"}'], 1)
        self.assertEqual(samples['porter_service_state{service="echo",state="active"}'], 1)
        self.assertEqual(samples['porter_service_state{service="echo",state="paused"}'], 0)

        self.ok("pause", "echo")
        self.ok("disable", "slow")
        js = self.json("metrics")
        svc = {s["service"]: s for s in js["services"]}
        self.assertEqual((svc["echo"]["paused"], svc["echo"]["disabled"], svc["echo"]["running"],
                          svc["echo"]["up"], svc["echo"]["state"]), (1, 0, 1, 1, "paused"))
        self.assertEqual((svc["slow"]["paused"], svc["slow"]["disabled"], svc["slow"]["running"],
                          svc["slow"]["up"], svc["slow"]["state"]), (0, 1, 1, 0, "disabled"))
        self.assertEqual((svc["slow"]["accepted"], svc["slow"]["running"]), (1, 1))
        self.assertEqual(js["children"], 1)
        self.assertEqual(js["start_time_seconds"], int(samples["porter_start_time_seconds"]))

    # ------------------------------------------------------ reload, check

    def test_reload_applies_a_changed_configuration(self):
        d = self.start_ctl()
        d.write_conf(conf(ECHO2))
        out = self.ok("reload")
        self.assertEqual(out, "reloaded: 4 of 4 services listening\n")
        d.wait_log(r"reload requested through the control socket by uid %d" % os.geteuid())
        self.assertEqual(converse(d.ports[3], b"new"), b"new")
        self.assertEqual(self.status("echo2")["state"], "active")
        js = self.json("reload")
        self.assertEqual((js["errors"], js["services"]), (0, 4))

        # A file that cannot be read as a whole changes nothing, and the
        # answer carries the errors.
        d.write_conf(conf(ECHO2) + FATAL)
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("reload refused", r.stderr)
        self.assertRegex(r.stdout, re.escape(d.conf) + r":\d+: ")
        self.assertEqual(converse(d.ports[3], b"still"), b"still")
        js = self.json("metrics")
        self.assertEqual((js["reloads"], js["reload_failures"]), (2, 1))
        # SIGHUP still reloads as before.
        d.reload(conf())
        wait_for(lambda: "echo2" not in [s["id"] for s in self.json("status")],
                 what="echo2 removed")

    def test_reload_waits_for_names_without_stalling_the_loop(self):
        """A reload that waits for a name (a redirect host here) reads the
        files outside the loop: while the resolver holds the answer, other
        services answer, porterctl gets answers, and a second reload asked
        for meanwhile follows the first."""
        dns = FakeDNS("127.0.0.96", {}, held=["held.porter.test"],
                      forward={"held.porter.test": "127.0.0.1"})
        self.addCleanup(dns.close)
        d = self.start_ctl(preexec=etc_with_dns(self, "127.0.0.96", "timeout:30 attempts:1"))
        dns.start()
        d.write_conf(conf(HELD))
        answers = []
        t = threading.Thread(target=lambda: answers.append(self.ctl("reload")))
        t.start()
        self.addCleanup(t.join, 30 * SLOW)
        wait_for(lambda: dns.queried("held.porter.test"), what="the reload's query")
        d.send(signal.SIGHUP)
        check = []
        c = threading.Thread(target=lambda: check.append(self.ctl("check")))
        c.start()
        self.addCleanup(c.join, 30 * SLOW)
        # The answer is held, and everyone else is served.
        self.assertEqual(converse(d.ports[1], b"meanwhile"), b"meanwhile")
        self.assertEqual([s["id"] for s in self.json("status")], ["slow", "echo", "daytime-am"])
        self.assertEqual(answers, [])
        dns.gate.set()
        t.join(30 * SLOW)
        c.join(30 * SLOW)
        self.assertEqual([(r.returncode, r.stdout) for r in answers],
                         [(0, "reloaded: 4 of 4 services listening\n")])
        self.assertEqual([(r.returncode, r.stdout) for r in check],
                         [(0, "configuration OK\n")])
        d.wait_log(r"INFO: reloaded: 4 of 4 services listening$", count=2)
        self.assertEqual(self.status("held")["state"], "active")

    def test_check_with_a_broken_configuration_on_disk(self):
        d = self.start_ctl()
        self.assertEqual(self.ok("check"), "configuration OK\n")
        self.assertEqual(self.json("check"),
                         {"errors": 0, "warnings": 0, "diagnostics": [], "notes": []})
        d.write_conf(conf() + BROKEN)
        r = self.ctl("check")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"porterctl: \d+ errors? in the configuration")
        lines = r.stdout.splitlines()
        self.assertTrue(lines, r.stdout)
        for line in lines:
            self.assertRegex(line, re.escape(d.conf) + r":\d+: ")
        # The same lines as porterd -t prints.
        t = subprocess.run([os.environ.get("PORTERD", "build/porterd"), "-t", "-f", d.conf],
                           capture_output=True, text=True)
        self.assertEqual(t.returncode, 78)
        self.assertEqual(t.stderr.splitlines(), lines)
        r = self.ctl("check", "--json")
        self.assertEqual(r.returncode, 1)
        js = json.loads(r.stdout)
        self.assertGreaterEqual(js["errors"], 1)
        self.assertEqual(js["diagnostics"], lines)
        # Nothing was applied.
        self.assertEqual(converse(d.ports[1], b"ok"), b"ok")
        self.assertEqual(d.count_log(r"reloading"), 0)

    # ------------------------------------------------- broken entries

    def test_a_broken_entry_is_set_aside_and_the_rest_served(self):
        """A stale file (its server removed, its user gone) disables that
        service alone, at start-up and at a reload; -t still fails."""
        d = self.start_ctl(conf(STALE))
        text = d.subst(conf(STALE))
        line = [i + 1 for i, l in enumerate(text.splitlines()) if "in.fingerd" in l][0]
        d.wait_log(r"WARNING: stale: not served: %s:%d: stale: server /nonexistent/in\.fingerd: "
                   r"No such file or directory$" % (re.escape(d.conf), line))
        d.wait_log(r"INFO: porterd \S+ started: 3 of 4 services listening$")
        self.assertEqual(converse(d.ports[1], b"served"), b"served")
        stale = self.status("stale")
        self.assertEqual(stale["state"], "broken")
        self.assertRegex(stale["reason"], re.escape(d.conf) + r":\d+: stale: ")
        self.assertIn("stale: broken: %s:" % d.conf, self.ok("status"))
        samples = self.prometheus()
        self.assertEqual(samples['porter_service_up{service="stale"}'], 0)
        self.assertEqual(samples['porter_service_state{service="stale",state="broken"}'], 1)
        self.assertEqual(samples['porter_service_state{service="stale",state="active"}'], 0)
        r = self.ctl("enable", "stale")
        self.assertEqual(r.returncode, 1)
        self.assertIn("stale is broken and not served", r.stderr)
        # A check still fails, with every error.
        t = subprocess.run([os.environ.get("PORTERD", "build/porterd"), "-t", "-f", d.conf],
                           capture_output=True, text=True)
        self.assertEqual(t.returncode, 78)
        self.assertEqual(len(t.stderr.splitlines()), 2, t.stderr)

        # Fixed: the next reload serves it.
        d.write_conf(conf(STALE.replace("nosuchuser", "root")
                          .replace("/nonexistent/in.fingerd", "/bin/cat")))
        self.assertEqual(self.ok("reload"), "reloaded: 4 of 4 services listening\n")
        self.assertEqual(self.status("stale")["state"], "active")
        self.assertEqual(converse(d.ports[3], b"fixed"), b"fixed")
        # Broken again: the reload applies, the service is set aside, and
        # the answer says why.
        d.write_conf(conf(STALE))
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("user nosuchuser does not exist", r.stdout)
        self.assertIn("reloaded: 3 of 4 services listening", r.stdout)
        self.assertTrue(refused(d.ports[3]))
        self.assertEqual(self.status("stale")["state"], "broken")
        self.assertEqual(converse(d.ports[1], b"still"), b"still")

    def test_strict_refuses_any_error(self):
        path = os.path.join(tempfile.mkdtemp(prefix="porter-strict-"), "porter.conf")
        self.addCleanup(shutil.rmtree, os.path.dirname(path), True)
        with open(path, "w") as f:
            f.write(STALE.format(PORT3=1))
        r = subprocess.run([os.environ.get("PORTERD", "build/porterd"), "-F", "-strict", "-f",
                            path, "-C", path + ".sock"], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("user nosuchuser does not exist", r.stderr)
        # At a reload too: the configuration in force stays.
        d = self.start_ctl(args=("-strict",))
        d.write_conf(conf(STALE))
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertIn("reload refused: 2 errors", r.stderr)
        with self.assertRaises(AssertionError):
            self.status("stale")

    def test_nothing_served_exits_1(self):
        """A daemon that can serve nothing exits 1 rather than look up to
        a supervisor; -stayalive keeps it running."""
        squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(squatter.close)
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        text = ONLY.replace("{port}", str(port))
        d = Porterd(text, ready=False)
        self.addCleanup(d.close)
        self.assertEqual(d.proc.wait(10 * SLOW), 1)
        d.wait_log(r"WARNING: none of the 2 services could be served; exiting$")
        d = Porterd(text, args=("-stayalive",))
        self.addCleanup(d.close)
        d.wait_log(r"INFO: porterd \S+ started: 0 of 2 services listening$")
        self.assertIsNone(d.proc.poll())

    def test_entries_sharing_an_id_are_served(self):
        """xinetd's sample.conf: two telnet entries on different bind
        addresses; Debian's echo and echo-udp files both enabled."""
        d = self.start_ctl(TWINS)
        d.wait_log(r"warning: echo: the id is also used at %s:2; this entry is served as "
                   r"echo-2" % re.escape(d.conf))
        d.wait_log(r"warning: echo-dgram: the same service as at %s:\d+ \(same id, udp port "
                   r"%d\); this entry is ignored" % (re.escape(d.conf), d.ports[1]))
        self.assertEqual(converse(d.ports[0], b"one", host="127.0.0.1"), b"one")
        self.assertEqual(converse(d.ports[0], b"two", host="127.0.0.2"), b"two")
        self.assertEqual(udp_ask(d.ports[1], b"dgram"), b"dgram")
        self.assertEqual([(s["id"], s["address"]) for s in self.json("status")],
                         [("echo", "127.0.0.1"), ("echo-2", "127.0.0.2"),
                          ("echo-dgram", "127.0.0.1")])
        self.ok("disable", "echo-2")
        self.assertTrue(refused(d.ports[0], host="127.0.0.2"))
        self.assertEqual(converse(d.ports[0], b"still", host="127.0.0.1"), b"still")

    # ------------------------------------------------------ permissions

    def test_a_user_without_rights_is_refused(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run porterctl as another user")
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        d = self.start_ctl()
        st = os.stat(self.sock)
        self.assertEqual((st.st_mode & 0o777, st.st_gid), (0o660, 0))
        self.assertNotEqual(nobody.pw_gid, 0)

        # nobody with its own groups only: subprocess would keep root's.
        as_nobody = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}

        # The file modes keep nobody out.
        r = self.ctl("status", **as_nobody)
        self.assertEqual(r.returncode, 69, r.stderr)
        self.assertIn(self.sock, r.stderr)
        self.assertIn("Permission denied", r.stderr)

        # With the modes open, porterd checks the credentials itself.
        os.chmod(self.sock, 0o666)
        r = self.ctl("status", **as_nobody)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(r.stderr, "porterctl: permission denied\n")
        self.assertEqual(r.stdout, "")
        d.wait_log(r"control: uid %d \(pid \d+\) refused" % nobody.pw_uid)
        r = self.ctl("disable", "echo", **as_nobody)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.status("echo")["state"], "active")

        # A member of the socket's group is let in, by its primary or by a
        # supplementary group.
        other = [g for g in grp.getgrall() if g.gr_gid not in (0, nobody.pw_gid)][0]
        os.chown(self.sock, 0, other.gr_gid)
        os.chmod(self.sock, 0o660)
        r = self.ctl("status", user=nobody.pw_uid, group=other.gr_gid, extra_groups=[])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.ctl("status", user=nobody.pw_uid, group=nobody.pw_gid,
                     extra_groups=[other.gr_gid])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("slow", r.stdout)

    # ------------------------------------------------------ the socket

    def test_sigusr1_writes_the_state_dump(self):
        d = self.start_ctl()
        slow, _ = self.live(d)
        pid = [c for c in self.json("connections") if c["service"] == "slow"][0]["pid"]
        dump = os.path.join(self.sockdir, "porterd.dump")
        d.send(signal.SIGUSR1)
        d.wait_log(r"state dump written to " + re.escape(dump))
        st = os.stat(dump)
        self.assertEqual(st.st_mode & 0o777, 0o640)
        with open(dump) as f:
            text = f.read()
        self.assertTrue(text.startswith("porterd "), text)
        self.assertRegex(text, r"\ntime: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n")
        self.assertIn("\npid: %d\n" % d.proc.pid, text)
        self.assertRegex(text, r"\nslow +tcp +127\.0\.0\.1 +%d +active +1 " % d.ports[0])
        self.assertRegex(text, r"\nslow +127\.0\.0\.1:%d +%d " % (slow.getsockname()[1], pid))
        # A second dump replaces the first.
        d.send(signal.SIGUSR1)
        d.wait_log(r"state dump written to ", count=2)
        with open(dump) as f:
            self.assertEqual(f.read().count("state dump"), 1)

    def test_protocol_errors(self):
        self.start_ctl()
        self.assertTrue(self.raw(b"status\n").startswith(b"OK\nSERVICE"))
        self.assertEqual(self.raw(b"bogus\n"), b'ERR unknown command "bogus"\n')
        self.assertEqual(self.raw(b"\n"), b"ERR empty request\n")
        self.assertEqual(self.raw(b"disable\n"), b"ERR usage: disable ID\n")
        self.assertTrue(self.raw(b"x" * 5000).startswith(b"ERR the request is longer"))
        # A line without its newline still counts at end of input.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10 * SLOW)
            s.connect(self.sock)
            s.sendall(b"status")
            s.shutdown(socket.SHUT_WR)
            self.assertTrue(s.recv(3).startswith(b"OK"))
        # A client that sends nothing is dropped after 5 seconds.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10 * SLOW)
            s.connect(self.sock)
            t0 = time.monotonic()
            self.assertEqual(s.recv(100), b"ERR no request line within 5 seconds\n")
            self.assertGreater(time.monotonic() - t0, 4)

    def test_usage_and_unreachable(self):
        d = self.start_ctl()
        for args in ((), ("bogus",), ("disable",), ("status", "extra"), ("-x", "status")):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 64, (args, r.stderr))
            self.assertIn("usage", r.stderr)
        gone = os.path.join(self.sockdir, "none.sock")
        r = self.ctl("status", sock=gone)
        self.assertEqual(r.returncode, 69)
        self.assertIn(gone, r.stderr)
        d.stop()
        self.assertFalse(os.path.exists(self.sock))
        r = self.ctl("status")
        self.assertEqual(r.returncode, 69)
        self.assertIn(self.sock, r.stderr)

    def test_a_second_porterd_on_the_socket_refuses_to_start(self):
        d = self.start_ctl()
        other = Porterd(conf(), args=("-C", self.sock), ready=False)
        try:
            other.proc.wait(10 * SLOW)
            self.assertEqual(other.proc.returncode, 1, other.text())
            self.assertIn("control socket %s: another porterd answers there; not starting"
                          % self.sock, other.text())
        finally:
            other.close()
        # The first one still answers.
        self.ok("status")
        # A socket left by a porterd that died is stale and replaced.
        d.stop(signal.SIGKILL)
        self.assertTrue(os.path.exists(self.sock))
        third = self.start(conf(), args=("-C", self.sock))
        third.wait_log(r"control: removed the stale socket " + re.escape(self.sock))
        self.assertEqual(self.status("slow")["state"], "active")
