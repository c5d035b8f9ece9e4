"""test_cgroup.py: per-connection cgroups (memory_max, pids_max, cpu_max)
and the service-wide ones (service_memory_max, service_pids_max). Hostile
servers (tests/helpers/hostile.c) run into their limits; the EXIT line says
which fired; nothing a server started outlives its connection; the cgroup
directories go afterwards; the other services keep answering.

The tests need a cgroup controller porterd can use (root, v1 or v2); on a
machine without one they skip, and under CI=true that is a failure."""
import os
import re
import shutil
import socket
import subprocess
import tempfile

from harness import (PORTERD, SLOW, PorterTest, check_conf, converse, entry, recv_all,
                     wait_for)

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))
HOSTILE = os.path.join(HELPERS, "hostile")

ECHO = entry("echo", type="INTERNAL UNLISTED", port="{PORT1}", bind="127.0.0.1",
             socket_type="stream", wait="no")


def server(name, args, limits):
    return entry(name, limits, type="UNLISTED", port="{PORT0}", bind="127.0.0.1",
                 socket_type="stream", wait="no", user="root", server=HOSTILE,
                 server_args=args, log_on_success="PID EXIT")


def service_dirs(pid, sid, ctl=None):
    """The cgroup directories of service sid under porterd pid's cgroups:
    <its cgroup>/porter/<sid> in each hierarchy (only ctl's if given)."""
    out = []
    with open("/proc/%d/cgroup" % pid) as f:
        lines = f.read().splitlines()
    for line in lines:
        _, ctls, path = line.split(":", 2)
        if ctls == "":
            base = "/sys/fs/cgroup" + path
            if path.endswith("/porterd"):
                base = base[:-len("/porterd")]
        else:
            names = [c for c in ctls.split(",") if c in ("memory", "pids", "cpu")]
            if not names or (ctl is not None and ctl not in names):
                continue
            base = "/sys/fs/cgroup/%s%s" % (names[0], path)
        d = os.path.join(base, "porter", sid)
        if os.path.isdir(d):
            out.append(d)
    return out


def connection_dirs(pid, sid):
    """The per-connection cgroup directories of service sid under porterd
    pid's cgroups: <its cgroup>/porter/<sid>/* in each hierarchy."""
    return [os.path.join(d, n) for d in service_dirs(pid, sid) for n in os.listdir(d)
            if os.path.isdir(os.path.join(d, n))]


def forked(s):
    """The "forked N" line of a forkhold server: N."""
    line = s.makefile("rb").readline()
    m = re.match(rb"forked (\d+)", line)
    if not m:
        raise AssertionError("no forked line: %r" % line)
    return int(m.group(1))


def dead(pid):
    """Gone, or a zombie waiting for a parent that is not porterd's."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


class Cgroup(PorterTest):
    def setUp(self):
        rc, out = check_conf(server("probe", "escape", "pids_max = 8\nmemory_max = 32M"))
        if rc != 0:
            if os.environ.get("CI"):
                self.fail("no usable cgroup controller (CI must have one): " + out)
            self.skipTest("no usable cgroup controller: " + out.strip())

    def echo_answers(self, d):
        self.assertEqual(converse(d.ports[1], b"still here"), b"still here")

    def settled(self, d, sid):
        """After the service's connections: their cgroups are empty (kept
        for the next connection, or removed), and at shutdown every
        directory of the service goes."""
        def empty():
            for x in connection_dirs(d.proc.pid, sid):
                with open(os.path.join(x, "cgroup.procs")) as f:
                    if f.read() != "":
                        return False
            return True
        wait_for(empty, 10, "the cgroups of %s to be empty" % sid)
        self.echo_answers(d)
        dirs = service_dirs(d.proc.pid, sid)
        d.stop()
        wait_for(lambda: not any(os.path.exists(x) for x in dirs), 10,
                 "the cgroups of %s to be removed at exit" % sid)

    def test_memory_max_kills_the_hog(self):
        d = self.start(server("hog", "hog 1024", "memory_max = 32M") + ECHO)
        got = converse(d.port, timeout=20)
        self.assertTrue(got.startswith(b"start"), got)
        self.assertNotIn(b"survived", got)
        d.wait_log(r"EXIT: hog signal=9 pid=\d+ oom$", 10)
        self.echo_answers(d)
        self.settled(d, "hog")

    def test_pids_max_caps_the_fork_bomb(self):
        d = self.start(server("bomb", "forkbomb", "pids_max = 8") + ECHO)
        with socket.create_connection(("127.0.0.1", d.port), timeout=10 * SLOW) as s:
            self.echo_answers(d)  # while the bomb's children still wait
            got = recv_all(s)
        m = re.match(rb"forked (\d+)", got)
        self.assertTrue(m, got)
        # The server is one of the 8; a fork in flight may be counted late.
        self.assertLessEqual(int(m.group(1)), 8)
        d.wait_log(r"EXIT: bomb status=0 pid=\d+ pids_max$", 10)
        self.settled(d, "bomb")

    def test_double_fork_does_not_outlive_the_connection(self):
        d = self.start(server("escape", "escape", "pids_max = 50") + ECHO)
        with socket.create_connection(("127.0.0.1", d.port), timeout=10 * SLOW) as s:
            f = s.makefile("rb")
            pid = int(f.readline())
            self.assertFalse(dead(pid))
            # The grandchild holds the connection: the end comes when it is
            # killed, long before its 60 s.
            self.assertEqual(f.read(), b"")
        wait_for(lambda: dead(pid), 5, "the grandchild %d to die" % pid)
        d.wait_log(r"EXIT: escape status=0 pid=\d+$", 10)
        self.settled(d, "escape")

    def test_cpu_max_and_the_dump(self):
        d = self.start(server("cpu", "escape", "cpu_max = 100ms/1s") + ECHO)
        with socket.create_connection(("127.0.0.1", d.port), timeout=10 * SLOW) as s:
            pid = int(s.makefile("rb").readline())
        wait_for(lambda: dead(pid), 5, "the grandchild %d to die" % pid)
        self.settled(d, "cpu")
        r = subprocess.run([PORTERD, "-T", "-f", d.conf], capture_output=True, text=True,
                           timeout=30)
        self.assertRegex(r.stdout, r"cpu_max\s+= 100ms/1s")

    def test_cgroup_is_reused_with_fresh_counts(self):
        # One program, told by its client what to do: say which memory
        # cgroup it is in, use 64M, or fork 20 children.
        script = os.path.join(tempfile.mkdtemp(prefix="porter-cg-"), "task")
        self.addCleanup(shutil.rmtree, os.path.dirname(script), True)
        with open(script, "w") as f:
            f.write("#!/usr/bin/python3\n"
                    "import os, sys\n"
                    "what = sys.stdin.readline().strip()\n"
                    "if what == 'where':\n"
                    "    for line in open('/proc/self/cgroup'):\n"
                    "        if ':memory:' in line:\n"
                    "            print(line.split(':', 2)[2].strip())\n"
                    "elif what == 'hog':\n"
                    "    b = bytearray(64 << 20)\n"
                    "    for i in range(0, len(b), 4096):\n"
                    "        b[i] = 1\n"
                    "elif what == 'fork':\n"
                    "    for i in range(20):\n"
                    "        try:\n"
                    "            if os.fork() == 0:\n"
                    "                os._exit(0)\n"
                    "        except OSError:\n"
                    "            break\n"
                    "print('done', flush=True)\n")
        os.chmod(script, 0o755)
        d = self.start(entry("task", "memory_max = 32M\npids_max = 4", type="UNLISTED",
                             port="{PORT0}", bind="127.0.0.1", socket_type="stream",
                             wait="no", user="root", server=script,
                             log_on_success="PID EXIT") + ECHO)
        first = converse(d.port, b"where\n", timeout=20).split(b"\n")[0]
        d.wait_log(r"EXIT: task status=0 pid=\d+$")
        self.assertNotIn(b"done", converse(d.port, b"hog\n", timeout=20))
        d.wait_log(r"EXIT: task signal=9 pid=\d+ oom$")
        self.assertIn(b"done", converse(d.port, b"fork\n", timeout=20))
        d.wait_log(r"EXIT: task status=0 pid=\d+ pids_max$")
        # The same directory again, and its counts start afresh: the line
        # says neither oom nor pids_max.
        again = converse(d.port, b"where\n", timeout=20).split(b"\n")[0]
        self.assertEqual(again, first)
        d.wait_log(r"EXIT: task status=0 pid=\d+$", count=2)
        self.assertEqual(d.count_log(r"EXIT: task .*(oom|pids_max)$"), 2, d.text())
        # A reload drops what is kept: the next connection gets a new one.
        d.reload()
        d.wait_log(r"reload", timeout=10)
        third = converse(d.port, b"where\n", timeout=20).split(b"\n")[0]
        self.assertNotEqual(third, first)
        self.settled(d, "task")

    def test_check_refuses_limits_on_builtins(self):
        rc, out = check_conf(entry("echo", "memory_max = 32M", type="INTERNAL UNLISTED",
                              port="{PORT1}", socket_type="stream", wait="no"))
        self.assertEqual(rc, 78, out)
        self.assertIn("CONF:8: echo: memory_max: a builtin service starts no server to limit",
                      out)
        # From the defaults it applies where it can and is dropped elsewhere.
        conf = ("defaults\n{{\n\tpids_max = 8\n\tcpu_max = 50%\n}}\n" + ECHO +
                server("hog", "hog 1", ""))
        rc, out = check_conf(conf)
        self.assertEqual(rc, 0, out)
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write(conf.replace("{{", "{").replace("}}", "}").replace("{PORT0}", "7001")
                    .replace("{PORT1}", "7002"))
            f.flush()
            dump = subprocess.run([PORTERD, "-T", "-f", f.name], capture_output=True,
                                  text=True, timeout=30).stdout
        hog = dump[dump.index("service hog"):]
        echo = dump[dump.index("service echo"):dump.index("service hog")]
        self.assertRegex(hog, r"pids_max\s+= 8")
        self.assertRegex(hog, r"cpu_max\s+= 50%")
        self.assertNotIn("_max", echo)

    def test_service_pids_max_caps_the_sum(self):
        # Each server and its children may count 6 on their own; both
        # together only 8: the second server gets what the first left.
        d = self.start(server("twice", "forkhold 5", "pids_max = 6\nservice_pids_max = 8") +
                       ECHO)
        with d.connect(timeout=10) as a:
            self.assertEqual(forked(a), 5)  # the server and 5: 6 of 8
            self.echo_answers(d)
            with d.connect(timeout=10) as b:
                # Its server is the 7th; one fork in flight may count late.
                self.assertLessEqual(forked(b), 2)
                self.echo_answers(d)
            d.wait_log(r"EXIT: twice status=0 pid=\d+ service_pids_max$", 10)
            # The first holds on, untouched.
            self.assertEqual(d.count_log(r"EXIT: twice"), 1)
        d.wait_log(r"EXIT: twice status=0 pid=\d+$", 10)
        self.settled(d, "twice")

    def test_service_memory_max_caps_the_sum(self):
        # 30M each fits each server's 40M, but not both in 48M together.
        d = self.start(server("hogs", "hoghold 30",
                              "memory_max = 40M\nservice_memory_max = 48M") + ECHO)
        with d.connect(timeout=20) as a:
            self.assertEqual(a.makefile("rb").readline(), b"holding\n")
            self.echo_answers(d)
            with d.connect(timeout=20) as b:
                # The kernel kills the biggest in the service: either one.
                d.wait_log(r"EXIT: hogs signal=9 pid=\d+ service_oom$", 20)
                self.echo_answers(d)
        d.wait_log(r"EXIT: hogs", 10, count=2)
        # The kernel may kill the other too before the first one's pages
        # are freed; each fits its own limit, so neither line says oom.
        self.assertEqual(d.count_log(r" oom$"), 0, d.text())
        self.settled(d, "hogs")

    def test_service_limit_only_still_kills_the_rest(self):
        # No per-connection limit: each server still has a cgroup of its
        # own below the service's, and what it leaves is killed.
        d = self.start(server("esc", "escape", "service_pids_max = 50") + ECHO)
        with d.connect(timeout=10) as s:
            pid = int(s.makefile("rb").readline())
        # The server exits at once, so its directory may be gone already;
        # the grandchild, which left its session, dies only with it.
        wait_for(lambda: dead(pid), 5, "the grandchild %d to die" % pid)
        self.settled(d, "esc")

    def test_reload_rewrites_service_pids_max_in_place(self):
        conf = server("grow", "forkhold 5", "service_pids_max = %d") + ECHO
        d = self.start(conf % 4)
        with d.connect(timeout=10) as a:
            # 4: the server and 3 of its 5.
            self.assertLessEqual(forked(a), 3)
            [sdir] = service_dirs(d.proc.pid, "grow", "pids")
            d.reload(conf % 12)
            with open(os.path.join(sdir, "pids.max")) as f:
                self.assertEqual(f.read().strip(), "12")
            self.echo_answers(d)
            # The first keeps its pids; a second fits in what is left now.
            with d.connect(timeout=10) as b:
                self.assertEqual(forked(b), 5)
            d.wait_log(r"EXIT: grow status=0 pid=\d+$", 10)
            self.assertEqual(d.count_log(r"EXIT: grow"), 1)
            a.sendall(b"still connected\n")
        d.wait_log(r"EXIT: grow", 10, count=2)
        # Dropped, the limit is lifted in place.
        with d.connect(timeout=10) as a:
            forked(a)
            d.reload(server("grow", "forkhold 5", "pids_max = 50") + ECHO)
            with open(os.path.join(sdir, "pids.max")) as f:
                self.assertEqual(f.read().strip(), "max")
        self.echo_answers(d)

    def test_check_refuses_service_limits_without_a_server(self):
        for attr in ("service_memory_max = 32M", "service_pids_max = 8"):
            rc, out = check_conf(entry("echo", attr, type="INTERNAL UNLISTED", port="{PORT1}",
                                  socket_type="stream", wait="no"))
            self.assertEqual(rc, 78, out)
            self.assertIn("CONF:8: echo: %s: a builtin service starts no server to limit"
                          % attr.split()[0], out)
        rc, out = check_conf("defaults\n{{\n\tservice_pids_max = 8\n}}\n" + ECHO +
                        server("hog", "hog 1", "service_memory_max = 64M"))
        self.assertEqual(rc, 0, out)

    def test_check_refuses_bad_values(self):
        for attr, bad in (("memory_max", "12"), ("cpu_max", "0%"), ("cpu_max", "1ms/2s"),
                          ("pids_max", "0"), ("service_memory_max", "1K"),
                          ("service_pids_max", "0")):
            rc, out = check_conf(server("hog", "hog 1", "%s = %s" % (attr, bad)))
            self.assertEqual(rc, 78, out)
            self.assertRegex(out, r"CONF:\d+: %s: expected" % attr)
