"""Robustness: descriptor exhaustion, fork failure, what a server inherits
(descriptors, environment, limits, socket options), IPv6, many clients at
once and clients that reset straight away."""
import errno
import os
import pwd
import re
import resource
import selectors
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

from harness import SLOW, WRAPPER, PorterTest, converse, recv_all, refused, wait_for, entry
from test_spawn import parse_report

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))
TICK = os.sysconf("SC_CLK_TCK")
# Under valgrind a spawned child runs on the simulated CPU until it execs:
# valgrind fakes RLIMIT_NOFILE, cannot live under a small RLIMIT_AS, and
# leaves every signal blocked after a failed fork (so porterd dies of the
# next stack-growth fault). Those tests measure valgrind, not porterd.
VALGRIND = any("valgrind" in w for w in WRAPPER)


def skip_under_valgrind(test):
    if VALGRIND:
        test.skipTest("not meaningful under valgrind (see VALGRIND above)")


def service(name, port, server=None, args="", extra="", socket_type="stream",
            internal=False, bind="127.0.0.1", id=None):
    """One service entry; port is a placeholder name such as PORT0."""
    return entry(name, extra, id=id, type="UNLISTED%s" % (" INTERNAL" if internal else ""),
                 port="{%s}" % port, socket_type=socket_type,
                 wait="yes" if socket_type == "dgram" else "no", bind=bind or None,
                 user="root" if server else None, server=server,
                 server_args=args if server and args else None)


def cpu_seconds(pid):
    """User plus system CPU time of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def echo_works(port, host="127.0.0.1"):
    """True when the echo service on port answers now."""
    try:
        return converse(port, b"ping\n", host=host, timeout=1.0) == b"ping\n"
    except OSError:
        return False


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def can_raise_nofile_hard(hard):
    """Whether this process may give a child a hard RLIMIT_NOFILE of hard
    (root without CAP_SYS_RESOURCE, as in a default container, may not)."""
    code = ("import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (1024, %d))" % hard)
    return subprocess.run([sys.executable, "-c", code], stderr=subprocess.DEVNULL).returncode == 0


def as_user_raise_nproc(pw, pid, limit):
    """Raises RLIMIT_NPROC of pid from a forked process with pw's
    credentials; returns its exit status (0: done)."""
    child = os.fork()
    if child == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            resource.prlimit(pid, resource.RLIMIT_NPROC, (limit, limit))
            code = 0
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])


class ExhaustionTest(PorterTest):
    def test_emfile_pauses_without_spinning(self):
        def low_nofile():
            resource.setrlimit(resource.RLIMIT_NOFILE, (40, 40))

        d = self.start(service("echo", "PORT0", internal=True), preexec=low_nofile)
        pid = d.proc.pid
        self.assertTrue(echo_works(d.port))
        # Echo sessions hold a descriptor each; the kernel keeps completing
        # handshakes into the backlog after porterd runs out.
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        for _ in range(60):
            clients.append(d.connect())
        d.wait_log(r"WARNING: echo: accept \(pausing the service for 250 ms\): "
                   r"Too many open files$")
        # Saturated: it must sleep between attempts, not spin on a readable
        # listener it cannot accept from.
        before, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(1.0)
        used, elapsed = cpu_seconds(pid) - before, time.monotonic() - t0
        self.assertLess(used, 0.2 * elapsed * SLOW,
                        "porterd used %.2f s of CPU in %.2f s while out of descriptors" %
                        (used, elapsed))
        # The pause is said once, not at every re-arm (250 ms); that it
        # keeps re-arming shows below, when echo answers again.
        self.assertEqual(d.count_log(r"echo: accept \(pausing"), 1)
        self.assertIsNone(d.proc.poll())
        for c in clients:
            c.close()
        clients.clear()
        wait_for(lambda: echo_works(d.port), 10, "echo answering again")

    def test_thousand_concurrent_connections(self):
        n = 1000
        if raise_nofile(n + 100) < n + 100:
            self.skipTest("cannot open %d descriptors" % (n + 100))
        d = self.start(service("slow", "PORT0", "%s/slow" % HELPERS, "1000",
                               "log_on_success = PID EXIT"))
        sel = selectors.DefaultSelector()
        got = {}
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        t0 = time.monotonic()
        for i in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            socks.append(s)
            rc = s.connect_ex(("127.0.0.1", d.port))
            self.assertIn(rc, (0, errno.EINPROGRESS), os.strerror(rc))
            got[i] = b""
            sel.register(s, selectors.EVENT_READ, i)
        left = n
        deadline = t0 + 30 * SLOW
        while left > 0 and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                try:
                    b = key.fileobj.recv(64)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    b = b""
                    got[key.data] += ("<%s>" % e).encode()
                if b:
                    got[key.data] += b
                else:
                    sel.unregister(key.fileobj)
                    left -= 1
        elapsed = time.monotonic() - t0
        sel.close()
        bad = {i: v for i, v in got.items() if v != b"done\n"}
        self.assertEqual(left, 0, "%d connections unfinished after %.1f s" % (left, elapsed))
        self.assertEqual(len(bad), 0, "%d connections did not get done: %r" %
                         (len(bad), list(bad.items())[:5]))
        # Served side by side: one after the other would take 1000 s.
        self.assertLess(elapsed, 25 * SLOW)
        wait_for(lambda: d.count_log(r"EXIT: slow status=0 pid=\d+$") == n, 20,
                 "%d EXIT lines" % n, interval=0.2)

    def test_resets_leak_nothing(self):
        d = self.start(service("echo", "PORT0", internal=True) +
                       service("report", "PORT1", "%s/report" % HELPERS, "",
                               "log_on_success = PID EXIT"))
        pid = d.proc.pid
        self.assertTrue(echo_works(d.ports[0]))
        self.assertIn(b"\nend\n", converse(d.ports[1]))
        d.wait_log(r"EXIT: report ")
        wait_for(lambda: d.proc.poll() is None and fd_count(pid), what="porterd's fds")
        baseline = fd_count(pid)
        linger = struct.pack("ii", 1, 0)
        for i in range(500):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                s.connect(("127.0.0.1", d.ports[i % 2]))
        # Healthy: both kinds of service still answer.
        self.assertIsNone(d.proc.poll())
        wait_for(lambda: echo_works(d.ports[0]), 10, "echo after the resets")
        self.assertIn(b"\nend\n", converse(d.ports[1]))
        # And every descriptor of those connections is gone again.
        wait_for(lambda: fd_count(pid) == baseline, 10,
                 "porterd's fd count back to %d (now %d)" % (baseline, fd_count(pid)))
        self.assertIsNone(d.proc.poll())


class ForkFailureTest(PorterTest):
    def test_fork_failure_flood_keeps_few_connections(self):
        # With no process to be had, each client is kept for a retry: 64
        # at most, the others get FAIL fork at once, so porterd's
        # descriptors stay bounded.
        as_nobody_no_procs = self.nobody_without_processes()
        conf = service("retry", "PORT0", "/bin/echo", "hello", """
                    log_on_failure = HOST""").replace("user        = root",
                                                      "user        = nobody")
        d = self.start(conf, preexec=as_nobody_no_procs)
        base = len(os.listdir("/proc/%d/fd" % d.proc.pid))
        clients = [d.connect(d.port) for _ in range(150)]
        self.addCleanup(lambda: [c.close() for c in clients])
        d.wait_log(r"FAIL: retry fork from=127\.0\.0\.1$", count=150 - 64, timeout=10)
        # Refused at once, while the 64 kept ones are still being tried
        # (a second apart, five times).
        self.assertLess(d.count_log(r"FAIL: retry fork "), 150)
        self.assertLessEqual(len(os.listdir("/proc/%d/fd" % d.proc.pid)), base + 64 + 4)
        d.wait_log(r"FAIL: retry fork from=127\.0\.0\.1$", count=150, timeout=15)
        self.assertIsNone(d.proc.poll())

    def nobody_without_processes(self):
        """A preexec that makes porterd nobody, with porterd itself the one
        process nobody may have: every fork fails."""
        skip_under_valgrind(self)
        if os.geteuid() != 0:
            self.skipTest("needs root to run porterd as another user")
        nobody = pwd.getpwnam("nobody")
        nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]

        def as_nobody_no_procs():
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            resource.setrlimit(resource.RLIMIT_NPROC, (1, nproc_hard))
        return as_nobody_no_procs

    def test_fork_failure(self):
        as_nobody_no_procs = self.nobody_without_processes()
        nobody = pwd.getpwnam("nobody")
        nproc_hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]

        conf = (service("nr", "PORT0", "/bin/echo", "hello", """
                    flags = NORETRY
                    log_on_failure = HOST
                    log_on_success = PID HOST""").replace("user        = root",
                                                           "user        = nobody") +
                service("retry", "PORT1", "/bin/echo", "hello", """
                    log_on_failure = HOST
                    log_on_success = PID HOST""").replace("user        = root",
                                                           "user        = nobody"))
        d = self.start(conf, preexec=as_nobody_no_procs)
        self.assertEqual(os.stat("/proc/%d" % d.proc.pid).st_uid, nobody.pw_uid)

        # Without NORETRY the connection is kept while fork fails.
        kept = d.connect(d.ports[1])
        t0 = time.monotonic()
        kept.settimeout(0.5)
        self.assertRaises(socket.timeout, kept.recv, 1)

        # With NORETRY: closed at once, one FAIL line, porterd stays.
        with d.connect(d.ports[0]) as s:
            self.assertEqual(recv_all(s), b"")
        d.wait_log(r"WARNING: nr: fork: Resource temporarily unavailable$")
        d.wait_log(r"FAIL: nr fork from=127\.0\.0\.1$")
        self.assertIsNone(d.proc.poll())
        self.assertRaises(socket.timeout, kept.recv, 1)

        # The kept one is closed after five tries a second apart.
        kept.settimeout(10 * SLOW)
        self.assertEqual(recv_all(kept), b"")
        waited = time.monotonic() - t0
        kept.close()
        self.assertGreater(waited, 3.0, "closed after %.1f s, not after 5 tries" % waited)
        self.assertEqual(d.count_log(r"FAIL: retry fork from=127\.0\.0\.1$"), 1)
        self.assertIsNone(d.proc.poll())

        # A retry that succeeds once processes are allowed again. Only a
        # process of porterd's own credentials (or CAP_SYS_RESOURCE) may
        # raise its limit, so a nobody process does it.
        kept = d.connect(d.ports[1])
        kept.settimeout(0.5)
        self.assertRaises(socket.timeout, kept.recv, 1)
        self.assertEqual(as_user_raise_nproc(nobody, d.proc.pid, nproc_hard), 0)
        kept.settimeout(5 * SLOW)
        self.assertEqual(recv_all(kept), b"hello\n")
        kept.close()
        d.wait_log(r"START: retry pid=\d+ from=127\.0\.0\.1$")
        self.assertEqual(d.count_log(r"FAIL: retry "), 1)
        # And the NORETRY service works again too.
        self.assertEqual(converse(d.ports[0]), b"hello\n")
        d.wait_log(r"START: nr pid=\d+ from=127\.0\.0\.1$")


class InheritTest(PorterTest):
    def report(self, name="report", port="PORT0", extra="", bind="127.0.0.1"):
        return service(name, port, "%s/report" % HELPERS, "", extra, bind=bind)

    def test_no_daemon_fd_reaches_a_server(self):
        conf = self.report()
        for i in range(1, 21):
            conf += service("echo", "PORT%d" % i, internal=True, id="echo%d" % i,
                            socket_type="stream" if i <= 10 else "dgram")
        d = self.start(conf, nports=21)
        d.wait_log(r"porterd \S+ started: 21 of 21 services listening")
        # Live internal sessions, each with a descriptor in porterd.
        sessions = []
        self.addCleanup(lambda: [s.close() for s in sessions])
        for i in range(1, 6):
            s = d.connect(d.ports[i])
            s.sendall(b"hi\n")
            self.assertEqual(s.recv(16), b"hi\n")
            sessions.append(s)
        self.assertGreater(fd_count(d.proc.pid), 30)
        r = parse_report(converse(d.port))
        self.assertIn("end", r)
        self.assertEqual(r["fds"], "0,1,2")

    def test_environment(self):
        extra = """
            passenv = PASS_ME OVERRIDE_ME REMOTE_HOST LISTEN_FDS
            env = OVERRIDE_ME=new EXTRA=x REMOTE_ADDR=evil TCPREMOTEIP=evil PROTO=evil"""
        conf = self.report(extra=extra) + self.report("all", "PORT1")
        d = self.start(conf, env={"PASS_ME": "1", "DONT_PASS": "2", "OVERRIDE_ME": "old",
                                  "REMOTE_HOST": "evil", "LISTEN_FDS": "7", "LC_TIME": "C"})
        raw = converse(d.port)
        env = parse_report(raw)["env"]
        self.assertEqual(env.get("PASS_ME"), "1")
        self.assertEqual(env.get("OVERRIDE_ME"), "new")
        self.assertEqual(env.get("EXTRA"), "x")
        for name in ("DONT_PASS", "PATH", "LISTEN_FDS"):
            self.assertNotIn(name, env)
        # Per-connection variables are porterd's, whatever env says.
        self.assertEqual(env.get("REMOTE_HOST"), "127.0.0.1")
        self.assertEqual(env.get("REMOTE_ADDR"), "127.0.0.1")
        self.assertEqual(env.get("TCPREMOTEIP"), "127.0.0.1")
        self.assertEqual(env.get("PROTO"), "TCP")
        for name in ("OVERRIDE_ME", "REMOTE_HOST", "REMOTE_ADDR", "TCPREMOTEIP", "PROTO"):
            self.assertEqual(raw.count(b"\nenv %s=" % name.encode()), 1, name)
        self.assertEqual(set(env), {"PASS_ME", "OVERRIDE_ME", "EXTRA", "REMOTE_HOST",
                                    "REMOTE_ADDR", "REMOTE_PORT", "PROTO", "TCPREMOTEIP",
                                    "TCPREMOTEPORT", "TCPLOCALIP", "TCPLOCALPORT"})
        # Without passenv only the search path, time zone and locale of
        # porterd's environment pass.
        env = parse_report(converse(d.ports[1]))["env"]
        self.assertNotIn("DONT_PASS", env)
        self.assertNotIn("PASS_ME", env)
        self.assertEqual(env.get("PATH"), os.environ.get("PATH"))
        self.assertEqual(env.get("LC_TIME"), "C")
        self.assertEqual(env.get("REMOTE_HOST"), "127.0.0.1")
        self.assertNotIn("LISTEN_FDS", env)

    def test_environment_follows_a_reload(self):
        # A server's environment points into the configuration in force
        # and, without env or passenv, into one array shared by services:
        # a reload must leave no server with the old values (and, under
        # AddressSanitizer, no pointer into the freed configuration).
        d = self.start(self.report(extra="env = FOO=one") + self.report("plain", "PORT1"),
                       env={"TZ": "PorterTest0"})
        self.assertEqual(parse_report(converse(d.port))["env"].get("FOO"), "one")
        self.assertNotIn("FOO", parse_report(converse(d.ports[1]))["env"])
        d.reload(self.report(extra="env = FOO=two EXTRA=x") +
                 self.report("plain", "PORT1", extra="env = BAR=y"))
        env = parse_report(converse(d.port))["env"]
        self.assertEqual((env.get("FOO"), env.get("EXTRA"), env.get("TZ")),
                         ("two", "x", "PorterTest0"))
        env = parse_report(converse(d.ports[1]))["env"]
        self.assertEqual((env.get("BAR"), env.get("TZ")), ("y", "PorterTest0"))
        self.assertNotIn("FOO", env)
        d.reload(self.report() + self.report("plain", "PORT1"))
        for port in (d.port, d.ports[1]):
            env = parse_report(converse(port))["env"]
            self.assertEqual(env.get("TZ"), "PorterTest0")
            self.assertFalse({"FOO", "EXTRA", "BAR"} & set(env), env)

    def test_limits_nice_umask(self):
        skip_under_valgrind(self)
        d = self.start(self.report(extra="""
            rlimit_cpu = 7
            rlimit_as = 512M
            rlimit_files = 77
            nice = 5
            umask = 027"""))
        r = parse_report(converse(d.port))
        self.assertEqual(r["cpu"], "7/7")
        self.assertEqual(r["as"], "%d/%d" % (512 << 20, 512 << 20))
        self.assertEqual(r["nofile"], "77/77")
        self.assertEqual(r["nice"], str(min(19, os.getpriority(os.PRIO_PROCESS, 0) + 5)))
        self.assertEqual(r["umask"], "027")

    def test_umask_is_never_world_writable(self):
        # Started with umask 000, porterd adds 022, for what it creates and
        # for servers without a umask of their own.
        skip_under_valgrind(self)
        pidfile = os.path.join(tempfile.mkdtemp(prefix="porter-pid-"), "porterd.pid")
        self.addCleanup(shutil.rmtree, os.path.dirname(pidfile), True)
        d = self.start(self.report(), preexec=lambda: os.umask(0), args=("-P", pidfile))
        self.assertEqual(parse_report(converse(d.port))["umask"], "022")
        self.assertEqual(os.stat(pidfile).st_mode & 0o777, 0o644)

    def test_pid_file_link_is_not_followed(self):
        # A link where the pid file goes must not make porterd write
        # through it.
        tmp = tempfile.mkdtemp(prefix="porter-pid-")
        self.addCleanup(shutil.rmtree, tmp, True)
        target = os.path.join(tmp, "target")
        with open(target, "w") as f:
            f.write("keep\n")
        pidfile = os.path.join(tmp, "porterd.pid")
        os.symlink(target, pidfile)
        d = self.start(self.report(), args=("-P", pidfile))
        d.wait_log(r"pid file %s: " % re.escape(pidfile))
        with open(target) as f:
            self.assertEqual(f.read(), "keep\n")

    def nofile_seen(self, soft, hard):
        skip_under_valgrind(self)
        def limit():
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

        d = self.start(self.report(), preexec=limit)
        r = parse_report(converse(d.port))
        s, _, h = r["nofile"].partition("/")
        return int(s), int(h)

    def test_nofile_default_is_porterds_soft(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        s, h = self.nofile_seen(1024, hard)
        self.assertEqual(s, 1024)
        self.assertLessEqual(h, 65536)
        self.assertGreaterEqual(h, s)

    def test_nofile_default_capped(self):
        if not can_raise_nofile_hard(1048576):
            # Without CAP_SYS_RESOURCE the hard limit cannot pass the cap;
            # what porterd was given below the cap reaches the server.
            hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
            self.assertLessEqual(hard, 1048576)
            s, h = self.nofile_seen(256, min(hard, 65536))
            self.assertEqual((s, h), (256, min(hard, 65536)))
            return
        s, h = self.nofile_seen(1024, 1048576)
        self.assertEqual(s, 1024)
        self.assertLessEqual(h, 65536)
        s, h = self.nofile_seen(200000, 1048576)
        self.assertEqual((s, h), (65536, 65536))

    def test_ipv6(self):
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        conf = (self.report("dual", "PORT0", "log_on_success = HOST", bind=None) +
                self.report("v4", "PORT1", "flags = IPv4", bind=None) +
                self.report("v6", "PORT2", "v6only = yes", bind="::1") +
                self.report("v6any", "PORT3", "v6only = yes", bind=None))
        d = self.start(conf)
        env = parse_report(converse(d.ports[0], host="127.0.0.1"))["env"]
        self.assertEqual(env["REMOTE_HOST"], "127.0.0.1")
        self.assertEqual(env["TCPREMOTEIP"], "127.0.0.1")
        self.assertEqual(env["TCPLOCALIP"], "127.0.0.1")
        d.wait_log(r"START: dual from=127\.0\.0\.1$")
        env = parse_report(converse(d.ports[0], host="::1"))["env"]
        self.assertEqual(env["REMOTE_HOST"], "::1")
        self.assertEqual(env["TCPREMOTEIP"], "::1")
        self.assertEqual(env["TCPLOCALIP"], "::1")
        d.wait_log(r"START: dual from=::1$")

        self.assertIn("end", parse_report(converse(d.ports[1], host="127.0.0.1")))
        self.assertTrue(refused(d.ports[1], "::1"), "flags = IPv4 answered on ::1")

        self.assertIn("end", parse_report(converse(d.ports[2], host="::1")))
        self.assertTrue(refused(d.ports[2], "127.0.0.1"),
                        "bind = ::1 with v6only = yes answered on 127.0.0.1")
        # v6only on the wildcard address: IPv6 only, no IPv4 at all.
        self.assertIn("end", parse_report(converse(d.ports[3], host="::1")))
        self.assertTrue(refused(d.ports[3], "127.0.0.1"),
                        "v6only = yes (no bind) answered on 127.0.0.1")

    def test_nodelay_keepalive(self):
        conf = (service("opts", "PORT0", "%s/sockopts" % HELPERS, "",
                        "flags = NODELAY KEEPALIVE") +
                service("plain", "PORT1", "%s/sockopts" % HELPERS))
        d = self.start(conf)
        self.assertEqual(converse(d.ports[0]), b"nodelay=1 keepalive=1\n")
        self.assertEqual(converse(d.ports[1]), b"nodelay=0 keepalive=0\n")
