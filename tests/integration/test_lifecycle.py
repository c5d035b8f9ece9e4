"""porterd's life: stopping (SIGTERM, SIGINT, SIGQUIT), reload (SIGHUP),
readiness notification, the pid file, daemon mode, running with no
services, running as PID 1, and no leaks over many short connections."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import harness
from harness import PorterTest, PORTERD, WRAPPER, SLOW, converse, free_ports, refused, wait_for, entry, children

SCRIPTS = {
    # A server that started a background job and waits for it.
    "bg.sh": "#!/bin/sh\nsleep 1000 &\necho pid=$$ bg=$!\nwait\n",
    # The same, deaf to SIGTERM (and so is its job: SIG_IGN is inherited).
    "deaf.sh": "#!/bin/sh\ntrap '' TERM\nsleep 1000 &\necho pid=$$ bg=$!\nwait\n",
    # The same, telling that SIGTERM came. (The job starts before the trap
    # is set: a job forked with the trap set could catch the signal in the
    # shell's handler before it execs sleep, and live on.)
    "term.sh": "#!/bin/sh\nsleep 1000 &\ntrap 'echo TERM > {DIR}/term.$$; exit 0' TERM\n"
               "echo pid=$$ bg=$!\nwait\n",
    # A server that leaves a job running and exits, as a mail server does.
    "leave.sh": "#!/bin/sh\nsleep 1000 </dev/null >/dev/null 2>&1 &\necho pid=$$ bg=$!\n",
    # A server whose job lives until the test writes to {DIR}/fifo.
    "fifo.sh": "#!/bin/sh\nsh -c 'read x < {DIR}/fifo' </dev/null >/dev/null 2>&1 &\n"
               "echo pid=$$ bg=$!\n",
}

# Runs a command as a child subreaper and reports every process it reaps,
# so the exit status of a daemon that forked away can be seen.
REAPER = r"""
import ctypes, os, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
if os.fork() == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
while True:
    try:
        pid, st = os.wait()
    except ChildProcessError:
        break
    print(pid, os.waitstatus_to_exitcode(st), flush=True)
"""


def spawn(sid, port, server, extra="", log="PID HOST EXIT"):
    """A spawned stream service; server is a path or a script in {DIR}."""
    if "/" not in server:
        server = "{DIR}/" + server
    return entry(sid, extra, type="UNLISTED", port=port, socket_type="stream", wait="no",
                 user="root", server=server, bind="127.0.0.1", log_on_success=log)


def echo_service(port, sid="echo", extra=""):
    return entry("echo", extra, id=sid, type="INTERNAL UNLISTED", port=port,
                 socket_type="stream", wait="no", bind="127.0.0.1")


def own_control(test, args):
    """args with a control socket of the test's own, for a porterd started
    without the harness: the default path is one for the whole machine."""
    if "-C" in args:
        return tuple(args)
    tmp = tempfile.mkdtemp(prefix="porter-ctl-")
    test.addCleanup(shutil.rmtree, tmp, True)
    return tuple(args) + ("-C", os.path.join(tmp, "control.sock"))


def gone(pid):
    """pid has exited (a zombie waiting for a reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        # Reaped between the open and the read: the read fails with ESRCH.
        return True


def proc_start(pid):
    """pid's start time in clock ticks since boot, None once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, ProcessLookupError):
        return None


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def listen_inode(port):
    """The inode of the TCP socket listening on 127.0.0.1:port."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == "0100007F:%04X" % port and fields[3] == "0A":
                return int(fields[9])
    return None


def socket_inodes(pid):
    out = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except FileNotFoundError:
            continue
        if m:
            out.add(int(m.group(1)))
    return out


def read_line(s):
    data = b""
    while not data.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            break
        data += b
    return data


class LifecycleTest(PorterTest):
    def start(self, conf, **kw):
        kw.setdefault("files", SCRIPTS)
        return super().start(conf, **kw)

    def tmpdir(self):
        tmp = tempfile.mkdtemp(prefix="porter-life-")
        os.chmod(tmp, 0o755)
        self.addCleanup(shutil.rmtree, tmp, True)
        return tmp

    def open_server(self, d, port=None):
        """Connects to a bg/deaf/leave script; returns the socket, the
        server's pid and its background job's pid."""
        s = d.connect(port)
        self.addCleanup(s.close)
        line = read_line(s)
        m = re.fullmatch(rb"pid=(\d+) bg=(\d+)\n", line)
        self.assertTrue(m, line)
        pid, bg = int(m.group(1)), int(m.group(2))
        self.kill_quietly(pid, bg)
        return s, pid, bg

    def kill_quietly(self, *pids):
        """At cleanup, SIGKILL these processes if they still run; a pid
        reused by another process since (its start time differs) is left
        alone."""
        started = [(p, proc_start(p)) for p in pids]

        def kill():
            for p, t in started:
                if t is not None and proc_start(p) == t:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        self.addCleanup(kill)

    # ------------------------------------------------------------ stop

    def check_terminate(self, sig):
        d = self.start(spawn("bg", "{PORT0}", "bg.sh"))
        _, pid, bg = self.open_server(d)
        self.assertFalse(gone(pid) or gone(bg))
        d.send(sig)
        wait_for(lambda: gone(pid) and gone(bg), what="server and its job gone")
        self.assertEqual(d.proc.wait(10 * SLOW), 0)
        self.assertEqual(d.count_log(r"INFO: EXIT: bg signal=15 pid=%d$" % pid), 1, d.text())
        self.assertEqual(d.count_log(r"INFO: stopping$"), 1, d.text())
        self.assertEqual(d.count_log(r"killing"), 0, d.text())

    def test_sigterm_stops_servers_and_their_process_groups(self):
        self.check_terminate(signal.SIGTERM)

    def test_sigint_acts_as_sigterm(self):
        self.check_terminate(signal.SIGINT)

    def test_sigterm_kills_a_deaf_server_after_the_grace_period(self):
        d = self.start(spawn("deaf", "{PORT0}", "deaf.sh") + echo_service("{PORT1}"))
        _, pid, bg = self.open_server(d)
        t0 = time.monotonic()
        d.send(signal.SIGTERM)
        # Listeners close at once, long before the servers are gone.
        wait_for(lambda: refused(d.ports[0]) and refused(d.ports[1]),
                 what="listeners closed")
        self.assertIsNone(d.proc.poll(), "porterd did not wait for its servers")
        self.assertFalse(gone(pid) or gone(bg))
        self.assertEqual(d.proc.wait(10 * SLOW), 0)
        elapsed = time.monotonic() - t0
        self.assertGreaterEqual(elapsed, 2.5, "the grace period is about 3 s")
        wait_for(lambda: gone(pid) and gone(bg), what="server and its job killed")
        # A probe that connected before SIGTERM was read may have started a
        # second deaf server: one warning, for however many.
        self.assertEqual(d.count_log(r"WARNING: killing \d+ servers? that did not stop$"), 1,
                         d.text())

    def test_sigkilled_server_exit_is_logged(self):
        """A server killed at the end of the grace period is reaped and its
        EXIT line written before porterd exits, as every other exit is."""
        d = self.start(spawn("deaf", "{PORT0}", "deaf.sh"))
        _, pid, bg = self.open_server(d)
        d.send(signal.SIGTERM)
        self.assertEqual(d.proc.wait(10 * SLOW), 0)
        self.assertEqual(d.count_log(r"INFO: EXIT: deaf signal=9 pid=%d$" % pid), 1, d.text())

    def test_sigquit_leaves_servers_running(self):
        d = self.start(spawn("bg", "{PORT0}", "bg.sh"))
        _, pid, bg = self.open_server(d)
        d.send(signal.SIGQUIT)
        self.assertEqual(d.proc.wait(10 * SLOW), 0)
        self.assertEqual(d.count_log(r"INFO: quitting; servers keep running$"), 1, d.text())
        self.assertFalse(gone(pid), "the server was stopped")
        self.assertFalse(gone(bg), "the server's job was stopped")

    def test_server_exit_leaves_its_background_job(self):
        d = self.start(spawn("leave", "{PORT0}", "leave.sh") +
                       spawn("other", "{PORT1}", "/bin/true"))
        s, pid, bg = self.open_server(d)
        self.assertEqual(s.recv(10), b"")
        d.wait_log(r"INFO: EXIT: leave status=0 pid=%d$" % pid)
        # One more connection handled and reaped after that one.
        converse(d.ports[1])
        d.wait_log(r"INFO: EXIT: other status=0 pid=\d+$")
        self.assertFalse(gone(bg), "the background job of an exited server was killed")

    # ---------------------------------------------------------- reload

    def test_reload_keeps_unchanged_listener_and_live_connection(self):
        conf = spawn("keep", "{PORT0}", "/bin/cat")
        d = self.start(conf)
        ino = listen_inode(d.ports[0])
        self.assertIn(ino, socket_inodes(d.proc.pid))
        with d.connect() as s:
            s.sendall(b"before\n")
            self.assertEqual(read_line(s), b"before\n")
            d.wait_log(r"INFO: START: keep pid=\d+ from=127\.0\.0\.1$")
            # The same listener, another log_on_success, and a new service.
            d.reload(conf.replace("PID HOST EXIT", "PID HOST EXIT DURATION") +
                     echo_service("{PORT1}"))
            self.assertEqual(d.count_log(r"INFO: reloaded: 2 of 2 services listening$"), 1, d.text())
            self.assertEqual(listen_inode(d.ports[0]), ino)
            self.assertIn(ino, socket_inodes(d.proc.pid))
            s.sendall(b"after\n")
            self.assertEqual(read_line(s), b"after\n")
            self.assertEqual(converse(d.ports[1], b"new"), b"new")
            d.wait_log(r"INFO: echo: listening on tcp 127\.0\.0\.1 port %d$" % d.ports[1])
            self.assertEqual(d.count_log(r"keep: removed"), 0, d.text())
            self.assertEqual(d.count_log(r"EXIT: keep"), 0, d.text())
        self.assertEqual(converse(d.ports[0], b"again"), b"again")
        # The new log_on_success is in force for the server that outlived
        # the reload.
        d.wait_log(r"INFO: EXIT: keep status=0 pid=\d+ duration=\d+\(sec\)$", count=1)

    def test_reload_moves_a_service_to_its_new_port(self):
        d = self.start(echo_service("{PORT0}"))
        self.assertEqual(converse(d.ports[0], b"x"), b"x")
        d.reload(echo_service("{PORT1}"))
        self.assertEqual(converse(d.ports[1], b"y"), b"y")
        self.assertTrue(refused(d.ports[0]), "the old port still listens")
        d.wait_log(r"INFO: echo: listening on tcp 127\.0\.0\.1 port %d$" % d.ports[1])

    def test_reload_removes_a_service_and_stops_its_servers(self):
        stay = echo_service("{PORT1}")
        # Two services go in one reload.
        d = self.start(spawn("bg", "{PORT0}", "term.sh") + stay +
                       echo_service("{PORT2}", sid="echo2"))
        _, pid, bg = self.open_server(d)
        d.reload(stay)
        d.wait_log(r"INFO: bg: removed; closing its listener$")
        d.wait_log(r"INFO: echo2: removed; closing its listener$")
        self.assertTrue(refused(d.ports[0]), "the removed service still listens")
        self.assertTrue(refused(d.ports[2]), "the removed service still listens")
        wait_for(lambda: gone(pid) and gone(bg), what="removed service's server and job gone")
        with open(os.path.join(d.dir, "term.%d" % pid)) as f:
            self.assertEqual(f.read(), "TERM\n")
        self.assertEqual(converse(d.ports[1], b"z"), b"z")
        self.assertIsNone(d.proc.poll())

    def test_reload_with_errors_keeps_the_configuration(self):
        good = echo_service("{PORT0}")
        d = self.start(good)
        # An error in the defaults concerns every service: nothing of the
        # file is applied, not even the entry with an error of its own.
        bad = good + """
defaults
{{
	bogus_attr  = 1
}}

service broken
{{
	type        = UNLISTED
	port        = {PORT1}
	socket_type = stream
	wait        = maybe
	user        = root
	server      = /bin/cat
}}
"""
        d.reload(bad)
        text = d.subst(bad)
        lineno = [i + 1 for i, l in enumerate(text.splitlines())
                  if "bogus_attr" in l or "maybe" in l]
        self.assertEqual(len(lineno), 2)
        d.wait_log(r"WARNING: %s:%d: unknown attribute \"bogus_attr\"$" %
                   (re.escape(d.conf), lineno[0]))
        d.wait_log(r"WARNING: %s:%d: wait: expected yes or no, not \"maybe\"$" %
                   (re.escape(d.conf), lineno[1]))
        d.wait_log(r"WARNING: reload: 2 errors; the configuration in force stays$")
        # What -t says is exactly what the reload logged.
        r = subprocess.run([PORTERD, "-t", "-f", d.conf], capture_output=True, text=True)
        self.assertEqual(r.returncode, 78)
        errs = [l for l in r.stderr.splitlines() if l]
        self.assertEqual(len(errs), 2, r.stderr)
        for e in errs:
            self.assertEqual(d.count_log(r"WARNING: %s$" % re.escape(e)), 1, d.text())
        self.assertEqual(converse(d.ports[0], b"still"), b"still")
        self.assertTrue(refused(d.ports[1]))
        self.assertEqual(d.count_log(r"INFO: reloaded"), 0, d.text())

    # ------------------------------------------------------- readiness

    def check_notify(self, address, bind_to):
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(ns.close)
        ns.bind(bind_to)
        ns.settimeout(5 * SLOW)
        d = self.start(spawn("s", "{PORT0}", "/bin/true") + echo_service("{PORT1}"),
                       env={"NOTIFY_SOCKET": address}, ready=False)
        self.assertEqual(ns.recv(4096), b"READY=1")
        # Ready means every port listens.
        self.assertFalse(refused(d.ports[0]))
        self.assertEqual(converse(d.ports[1], b"r"), b"r")
        t0 = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        d.reload()
        # systemd's Type=notify-reload: RELOADING=1 with the monotonic
        # time of the reload.
        msg = ns.recv(4096).split(b"\n")
        self.assertEqual(msg[0], b"RELOADING=1", msg)
        fields = dict(f.split(b"=", 1) for f in msg)
        self.assertEqual(set(fields), {b"RELOADING", b"MONOTONIC_USEC"}, msg)
        usec = int(fields[b"MONOTONIC_USEC"])
        self.assertTrue(t0 <= usec <= time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000, msg)
        self.assertEqual(ns.recv(4096), b"READY=1")
        d.send(signal.SIGTERM)
        self.assertEqual(ns.recv(4096), b"STOPPING=1")
        self.assertEqual(d.proc.wait(10 * SLOW), 0)

    def test_notify_socket(self):
        path = os.path.join(self.tmpdir(), "notify")
        self.check_notify(path, path)

    def test_notify_abstract_socket(self):
        name = "porter-test-notify-%d" % os.getpid()
        self.check_notify("@" + name, "\0" + name)

    # ------------------------------------------- pid file, daemon mode

    def test_pid_file(self):
        path = os.path.join(self.tmpdir(), "porterd.pid")
        d = self.start(echo_service("{PORT0}"), args=("-P", path))
        wait_for(lambda: os.path.exists(path), what="pid file")
        with open(path) as f:
            self.assertEqual(f.read(), "%d\n" % d.proc.pid)
        self.assertEqual(d.stop(), 0)
        self.assertFalse(os.path.exists(path), "pid file left behind")

    def write_conf(self, tmp, conf, nports=1):
        ports = free_ports(nports)
        subst = {"DIR": tmp}
        for i, p in enumerate(ports):
            subst["PORT%d" % i] = str(p)
        path = os.path.join(tmp, "porter.conf")
        with open(path, "w") as f:
            f.write(conf.format(**subst))
        return path, ports

    def read_pid(self, path):
        try:
            with open(path) as f:
                text = f.read()
        except FileNotFoundError:
            return None
        return int(text) if text.endswith("\n") else None

    def test_daemon_mode(self):
        tmp = self.tmpdir()
        conf, ports = self.write_conf(tmp, echo_service("{PORT0}"))
        pidfile = os.path.join(tmp, "porterd.pid")
        r = subprocess.run(WRAPPER + [PORTERD, "-f", conf, "-P", pidfile] +
                           list(own_control(self, ())),
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=10 * SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        pid = wait_for(lambda: self.read_pid(pidfile), what="pid file")
        self.kill_quietly(pid)
        self.assertFalse(gone(pid))
        self.assertNotEqual(os.getsid(pid), os.getsid(0), "still in the caller's session")
        wait_for(lambda: not refused(ports[0]), what="the daemon listening")
        self.assertEqual(converse(ports[0], b"daemon"), b"daemon")
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: gone(pid), what="the daemon gone")
        self.assertFalse(os.path.exists(pidfile), "pid file left behind")
        self.assertTrue(refused(ports[0]))

    # ----------------------------------------------------- no services

    def disabled(self):
        return """
service off
{{
	disable     = yes
	type        = INTERNAL UNLISTED
	port        = {PORT0}
	socket_type = stream
	wait        = no
}}
"""

    def run_daemon(self, tmp, args, background=False):
        """porterd in daemon mode under a subreaper; returns the reaper's
        Popen (its output lists "pid status" for each process reaped)."""
        conf, _ = self.write_conf(tmp, self.disabled())
        p = subprocess.Popen([sys.executable, "-c", REAPER] + WRAPPER +
                             [PORTERD, "-f", conf] + list(own_control(self, args)),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        return p

    def filelog_pid(self, path, pattern):
        """porterd's pid from a line of its -filelog file."""
        def find():
            try:
                with open(path) as f:
                    m = re.search(r"porterd\[(\d+)\]: " + pattern, f.read(), re.M)
            except FileNotFoundError:
                return None
            return m and int(m.group(1))
        return wait_for(find, what="%r in %s" % (pattern, path))

    def test_no_services_exits_1(self):
        tmp = self.tmpdir()
        log = os.path.join(tmp, "porterd.log")
        p = self.run_daemon(tmp, ["-filelog", log])
        out, _ = p.communicate(timeout=10 * SLOW)
        pid = self.filelog_pid(log, r"WARNING: no services; exiting$")
        self.assertIn("%d 1" % pid, out.splitlines(), out)

    def test_no_services_pid_file_removed(self):
        tmp = self.tmpdir()
        log = os.path.join(tmp, "porterd.log")
        pidfile = os.path.join(tmp, "porterd.pid")
        p = self.run_daemon(tmp, ["-filelog", log, "-P", pidfile])
        p.communicate(timeout=10 * SLOW)
        self.filelog_pid(log, r"WARNING: no services; exiting$")
        self.assertFalse(os.path.exists(pidfile), "pid file left behind by an exited porterd")

    def test_no_services_stayalive_daemon(self):
        tmp = self.tmpdir()
        log = os.path.join(tmp, "porterd.log")
        p = self.run_daemon(tmp, ["-filelog", log, "-stayalive"])
        pid = self.filelog_pid(log, r"INFO: porterd \S+ started: 0 of 0 services listening$")
        self.kill_quietly(pid)
        # Up and serving signals.
        os.kill(pid, signal.SIGHUP)
        self.filelog_pid(log, r"INFO: reloaded: 0 of 0 services listening$")
        self.assertIsNone(p.poll())
        os.kill(pid, signal.SIGTERM)
        out, _ = p.communicate(timeout=10 * SLOW)
        self.assertIn("%d 0" % pid, out.splitlines(), out)

    def test_no_services_stayalive_foreground(self):
        d = self.start(self.disabled(), args=("-stayalive",), ready=False)
        d.wait_log(r"INFO: porterd \S+ started: 0 of 0 services listening$")
        d.reload()
        self.assertIsNone(d.proc.poll())
        self.assertEqual(d.stop(), 0)

    # ----------------------------------------------------------- PID 1

    def test_pid1_reaps_orphans(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for a PID namespace")
        ns = ["unshare", "--pid", "--fork", "--mount-proc"]
        try:
            ok = subprocess.run(ns + ["true"], capture_output=True, timeout=10).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if not ok:
            self.skipTest("unshare --pid does not work here")
        # The harness has one wrapper for every porterd; this one runs
        # under unshare.
        saved = harness.WRAPPER
        harness.WRAPPER = ns + saved
        try:
            d = self.start(spawn("orphan", "{PORT0}", "fifo.sh", log="PID EXIT"), ready=False)
        finally:
            harness.WRAPPER = saved
        host = wait_for(lambda: children(d.proc.pid), what="porterd under unshare")[0]
        self.kill_quietly(host)
        with open("/proc/%d/status" % host) as f:
            nspid = re.search(r"^NSpid:\s+(.*)$", f.read(), re.M).group(1).split()
        self.assertEqual(nspid[-1], "1", "porterd is not PID 1 of its namespace")
        d.wait_log(r"porterd\[1\]: INFO: porterd \S+ started: 1 of 1 service listening$")
        fifo = os.path.join(d.dir, "fifo")
        os.mkfifo(fifo)
        with d.connect() as s:
            line = read_line(s)
            m = re.fullmatch(rb"pid=(\d+) bg=(\d+)\n", line)
            self.assertTrue(m, line)
            self.assertEqual(s.recv(10), b"")
        d.wait_log(r"INFO: EXIT: orphan status=0 pid=%s$" % m.group(1).decode())
        # The job outlived its server and now is porterd's own child.
        job = wait_for(lambda: children(host), what="the orphan re-parented to porterd")
        self.assertEqual(len(job), 1, job)
        with open(fifo, "w") as f:
            f.write("go\n")
        wait_for(lambda: gone(job[0]), what="the orphan exited")
        wait_for(lambda: children(host) == [], what="the orphan reaped (no zombie)")
        os.kill(host, signal.SIGTERM)
        self.assertEqual(d.proc.wait(10 * SLOW), 0)
        self.assertEqual(d.count_log(r"porterd\[1\]: INFO: stopped$"), 1, d.text())

    # ----------------------------------------------------------- leaks

    def test_connect_and_leave_leaks_nothing(self):
        d = self.start(spawn("t", "{PORT0}", "/bin/true", log=""))
        pid = d.proc.pid
        self.assertEqual(converse(d.port), b"")
        wait_for(lambda: children(pid) == [], what="first server reaped")
        before = nfds(pid)
        for i in range(1000):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if i % 2:
                # Leave with a reset.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.connect(("127.0.0.1", d.port))
            s.close()
        self.assertEqual(converse(d.port), b"")
        wait_for(lambda: children(pid) == [], timeout=20, what="every server reaped")
        wait_for(lambda: nfds(pid) == before, what="porterd's fd count back to %d" % before)
        self.assertIsNone(d.proc.poll())


class IncludeTest(PorterTest):
    def test_fifo_and_world_writable_includes(self):
        """An include that names a FIFO is an error at once, not a start-up
        that waits for a writer; an included file anyone may write is a
        warning, since its services run as root."""
        tmp = tempfile.mkdtemp(prefix="porter-inc-")
        self.addCleanup(shutil.rmtree, tmp, True)
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        shared = os.path.join(tmp, "shared.conf")
        with open(shared, "w") as f:
            f.write("service daytime\n{\n\ttype = INTERNAL UNLISTED\n\tport = 20094\n"
                    "\tsocket_type = stream\n\twait = no\n}\n")
        os.chmod(shared, 0o666)
        main = os.path.join(tmp, "porter.conf")
        with open(main, "w") as f:
            f.write("include %s\ninclude %s\n" % (fifo, shared))
        r = subprocess.run([PORTERD, "-t", "-f", main], capture_output=True, text=True,
                           timeout=20 * SLOW)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("%s:1: include %s: not a regular file" % (main, fifo), r.stderr)
        self.assertIn("%s:2: warning: %s is writable by anyone" % (main, shared), r.stderr)
