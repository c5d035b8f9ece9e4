"""porterctl restart: a new porterd takes every listening socket over from
the running one, which finishes what it serves and exits. Clients hammering
a spawned and a builtin service across the restart are never refused or
reset and always answered; every server started gets its EXIT line, from
whichever porterd started it; a session open across the restart goes on.
A new porterd that cannot start (a broken configuration) leaves the old one
serving, and porterctl restart fails with the error."""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import PorterTest, SLOW, converse, entry, wait_for

PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))
HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))

CONF = (entry("hello", type="UNLISTED", port="{PORT0}", socket_type="stream", wait="no",
              user="root", server="/bin/echo", server_args="hello", bind="127.0.0.1",
              log_on_success="PID EXIT") +
        entry("echo", type="INTERNAL UNLISTED", port="{PORT1}", socket_type="stream",
              wait="no", bind="127.0.0.1") +
        entry("slow", type="UNLISTED", port="{PORT2}", socket_type="stream", wait="no",
              user="root", server=HELPERS + "/slow", server_args="1500", bind="127.0.0.1",
              log_on_success="PID EXIT"))

RATE = 500  # connections a second, over all the client threads


def alive(pid):
    """Whether pid runs (a zombie no longer does)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


class Hammer:
    """Threads that connect to the services in turn at RATE a second and
    note every failure: a refused or reset connection, a wrong answer."""

    def __init__(self, d, threads=4):
        self.d = d
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.done = 0
        self.errors = []
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]
        self.period = len(self.threads) / RATE

    def one(self, i):
        if i % 2 == 0:
            return converse(self.d.ports[0], timeout=10) == b"hello\n"
        return converse(self.d.ports[1], b"ping %d" % i, timeout=10) == b"ping %d" % i

    def run(self, n):
        i = n
        nxt = time.monotonic()
        while not self.stop.is_set():
            try:
                ok = self.one(i)
                err = None if ok else "wrong answer"
            except OSError as e:
                err = repr(e)
            with self.lock:
                self.done += 1
                if err:
                    self.errors.append(err)
            i += len(self.threads)
            # Pacing of the load, not a wait for a condition.
            nxt += self.period
            pause = nxt - time.monotonic()
            if pause > 0:
                self.stop.wait(pause)

    def count(self):
        with self.lock:
            return self.done

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


class RestartTest(PorterTest):

    def porterctl(self, d, *words):
        return subprocess.run([PORTERCTL, "-C", d.control] + list(words),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60 * SLOW)

    def adopt(self, pid):
        """The new porterd is no child of the test's: stop it at the end,
        before the harness reads the log."""
        def stop():
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
                wait_for(lambda: not alive(pid), 15, "porterd %d to stop" % pid)
        self.addCleanup(stop)

    def restart(self, d):
        r = self.porterctl(d, "restart")
        self.assertEqual(r.returncode, 0, r.stderr + d.text())
        m = re.match(r"restarted: porterd pid (\d+) serves now\n$", r.stdout)
        self.assertTrue(m, r.stdout)
        pid = int(m.group(1))
        self.adopt(pid)
        return pid

    def test_restart_refuses_nobody_and_loses_no_exit(self):
        d = self.start(CONF)
        old = d.proc.pid
        # A builtin session and a server that outlive the restart.
        held = d.connect(d.ports[1])
        held.sendall(b"before\n")
        self.assertEqual(held.recv(100), b"before\n")
        slow = d.connect(d.ports[2], timeout=20)
        d.wait_log(r"START: slow ")
        with Hammer(d) as h:
            wait_for(lambda: h.count() >= 200, 20, "connections before the restart")
            new = self.restart(d)
            self.assertNotEqual(new, old)
            after = h.count()
            # The old one exits once its server and its session are done.
            held.sendall(b"across\n")
            self.assertEqual(held.recv(100), b"across\n")
            self.assertEqual(slow.recv(100), b"done\n")
            slow.close()
            self.assertTrue(alive(old) or d.proc.poll() is not None)
            held.close()
            self.assertEqual(d.proc.wait(20 * SLOW), 0, d.text())
            wait_for(lambda: h.count() >= after + 300, 30, "connections after the restart")
        self.assertEqual(h.errors, [], "%d of %d failed" % (len(h.errors), h.done))
        # The new one serves, and the control socket is its own.
        self.assertEqual(converse(d.ports[0]), b"hello\n")
        r = self.porterctl(d, "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        # Every server either porterd started has its EXIT line.
        def balanced():
            starts = re.findall(r"START: (?:hello|slow) pid=(\d+)", d.text())
            exits = re.findall(r"EXIT: (?:hello|slow) status=\d+ pid=(\d+)", d.text())
            return sorted(starts) == sorted(exits) and starts
        wait_for(balanced, 10, "an EXIT line for every START line")
        text = d.text()
        self.assertRegex(text, r"porterd\[%d\]: INFO: restart: pid %d serves now" % (old, new))
        self.assertRegex(text, r'porterd\[%d\]: INFO: hello: adopted fd \d+ named "hello" '
                         r"from pid %d" % (new, old))
        self.assertRegex(text, r"porterd\[%d\]: INFO: restart: everything here has finished"
                         % old)
        self.assertRegex(text, r"porterd\[%d\]: .*EXIT: slow status=0" % old)
        self.assertRegex(text, r"porterd\[%d\]: .*EXIT: hello status=0" % new)
        # The new one bound nothing itself.
        self.assertNotRegex(text, r"porterd\[%d\]: INFO: \S+: listening on tcp" % new)
        self.assertGreaterEqual(h.done, 500)

    def test_restart_with_a_broken_configuration_keeps_the_old_one(self):
        d = self.start(CONF)
        with open(d.conf, "a") as f:
            f.write("service broken\n{\n\tport = nonsense\n")
        with Hammer(d, threads=2) as h:
            wait_for(lambda: h.count() >= 50, 20, "connections before the restart")
            r = self.porterctl(d, "restart")
            n = h.count()
            wait_for(lambda: h.count() >= n + 50, 20, "connections after the restart")
        self.assertEqual(h.errors, [])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"restart failed: the new porterd refused to start; "
                         r"the running porterd goes on serving")
        self.assertRegex(r.stdout, r"porter\.conf:\d+: ")
        d.wait_log(r"WARNING: restart failed")
        d.wait_log(r"WARNING: restart: .*porter\.conf:\d+: ")
        self.assertIsNone(d.proc.poll())
        self.assertEqual(converse(d.ports[1], b"still"), b"still")
        # The old one still answers on its control socket, and reloads.
        self.assertEqual(self.porterctl(d, "status").returncode, 0)
        d.write_conf(CONF)
        new = self.restart(d)
        self.assertEqual(d.proc.wait(20 * SLOW), 0, d.text())
        self.assertEqual(converse(d.ports[1], b"again"), b"again")
        self.assertTrue(alive(new))

    def test_unix_socket_is_handed_over_not_removed(self):
        path = os.path.join(self.tmpdir(), "u.sock")
        d = self.start(CONF + entry("echo", type="INTERNAL UNLISTED", id="usock",
                                    bind="unix:" + path, socket_type="stream", wait="no"))
        ino = os.stat(path).st_ino
        new = self.restart(d)
        self.assertEqual(d.proc.wait(20 * SLOW), 0, d.text())
        # The old porterd left the file to the new one, which serves on it.
        self.assertEqual(os.stat(path).st_ino, ino)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10 * SLOW)
            s.connect(path)
            s.sendall(b"unix\n")
            s.shutdown(socket.SHUT_WR)
            self.assertEqual(s.recv(100), b"unix\n")
        os.kill(new, signal.SIGTERM)
        wait_for(lambda: not os.path.exists(path), 15, "the socket file to go at shutdown")

    def test_restart_tells_systemd_the_new_main_pid(self):
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(ns.close)
        path = os.path.join(self.tmpdir(), "notify")
        ns.bind(path)
        ns.settimeout(10 * SLOW)
        d = self.start(CONF, env={"NOTIFY_SOCKET": path})
        self.assertEqual(ns.recv(4096), b"READY=1")
        new = self.restart(d)
        got = {ns.recv(4096), ns.recv(4096)}
        # From the new one, then from the old one (systemd takes it from
        # the main process whatever NotifyAccess= says).
        self.assertEqual(got, {b"MAINPID=%d\nREADY=1" % new, b"MAINPID=%d" % new})
        self.assertEqual(d.proc.wait(20 * SLOW), 0, d.text())

    def tmpdir(self):
        t = tempfile.mkdtemp(prefix="porter-restart-")
        self.addCleanup(shutil.rmtree, t, True)
        return t
