"""test_namespace.py: the namespaces and mounts of a spawned server
(private_tmp, protect_system, protect_home, *_paths, root_directory,
bind_paths, private_network, private_pid, private_ipc, private_uts,
hostname, sandbox = strict). A hostile server (tests/helpers/hostile.c)
tries what each one forbids; what it reports is asserted from the client's
side, its EXIT line from the log, and a plain service beside it keeps
answering.

Namespaces need root. The hostile program is copied out of the build tree
into a directory of its own under /srv: a build tree under /tmp or /root
would be hidden by the very mounts under test."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import json

from harness import PORTERD, SLOW, PorterTest, check_conf, converse, entry

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))
PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))

PLAIN = entry("echo", type="INTERNAL UNLISTED", id="plain", port="{PORT9}",
              bind="127.0.0.1", socket_type="stream", wait="no")


class NamespaceTest(PorterTest):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("namespaces need root")
        base = "/srv" if os.path.isdir("/srv") else "/var/lib"
        self.dir = tempfile.mkdtemp(prefix="porter-ns-", dir=base)
        os.chmod(self.dir, 0o755)
        self.hostile = os.path.join(self.dir, "hostile")
        shutil.copy(os.path.join(HELPERS, "hostile"), self.hostile)
        super().setUp()

    def tearDown(self):
        super().tearDown()
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def server(self, name, args, extra="", port=0, user="root", path=None):
        return entry(name, extra, type="UNLISTED", port="{PORT%d}" % port, bind="127.0.0.1",
                     socket_type="stream", wait="no", user=user,
                     server=path or self.hostile, server_args=args,
                     log_on_success="PID EXIT")

    def ask(self, d, port_index=0, data=b""):
        return converse(d.ports[port_index], data).decode()

    def assert_plain(self, d):
        self.assertEqual(converse(d.ports[9], b"still here\n"), b"still here\n")

    def start_one(self, args, extra, user="root"):
        return self.start(self.server("probe", args, extra, user=user) + PLAIN, nports=10)

    # ------------------------------------------------------------ /tmp

    def test_private_tmp_is_fresh_per_connection_and_sized(self):
        d = self.start(self.server("w", "write /tmp/mark", "private_tmp = yes", port=0) +
                       self.server("l", "list /tmp", "private_tmp = yes", port=1) +
                       self.server("f", "fill /tmp/big", "private_tmp = yes\ntmp_size = 256K",
                                   port=2) +
                       self.server("v", "list /var/tmp", "private_tmp = yes", port=3) +
                       PLAIN, nports=10)
        self.assertEqual(self.ask(d, 0), "ok\nend\n")
        # The file the first server wrote is gone for the next: a tmpfs each.
        self.assertEqual(self.ask(d, 1), "ok 0\nend\n")
        self.assertFalse(os.path.exists("/tmp/mark"))
        m = re.match(r"full (\d+) ENOSPC\n", self.ask(d, 2))
        self.assertTrue(m, "the tmpfs was not limited")
        self.assertLessEqual(int(m.group(1)), 256)
        self.assertEqual(self.ask(d, 3), "ok 0\nend\n")
        d.wait_log(r"EXIT: f status=0 pid=\d+$")
        self.assert_plain(d)

    # ------------------------------------------------------------ read-only

    def test_protect_system_strict_with_writable_and_read_only_paths(self):
        rw = os.path.join(self.dir, "state")
        ro = os.path.join(rw, "conf")
        os.makedirs(ro)
        d = self.start(
            self.server("etc", "write /etc/porter-ns-test", "protect_system = strict", port=0) +
            self.server("rw", "write %s/new" % rw,
                        "protect_system = strict\nread_write_paths = %s\n"
                        "read_only_paths = %s" % (rw, ro), port=1) +
            # The deeper path wins whatever the order of the lines.
            self.server("ro", "write %s/new" % ro,
                        "protect_system = strict\nread_only_paths = %s\n"
                        "read_write_paths = %s" % (ro, rw), port=2) +
            self.server("dev", "write /dev/null", "protect_system = strict", port=3) +
            self.server("usr", "write /usr/porter-ns-test", "protect_system = yes", port=4) +
            PLAIN, nports=10)
        self.assertEqual(self.ask(d, 0), "EROFS\nend\n")
        self.assertFalse(os.path.exists("/etc/porter-ns-test"))
        self.assertEqual(self.ask(d, 1), "ok\nend\n")
        self.assertTrue(os.path.exists(os.path.join(rw, "new")))
        self.assertEqual(self.ask(d, 2), "EROFS\nend\n")
        self.assertFalse(os.path.exists(os.path.join(ro, "new")))
        self.assertEqual(self.ask(d, 3), "ok\nend\n")
        self.assertEqual(self.ask(d, 4), "EROFS\nend\n")
        self.assertFalse(os.path.exists("/usr/porter-ns-test"))
        self.assert_plain(d)

    def test_protect_system_full_and_protect_home_choices(self):
        d = self.start(
            self.server("etc", "write /etc/porter-ns-test", "protect_system = full", port=0) +
            self.server("var", "write %s/full" % self.dir, "protect_system = full", port=1) +
            self.server("ro", "write /root/porter-ns-test", "protect_home = read-only",
                        port=2) +
            self.server("tmpfs", "write /root/porter-ns-test", "protect_home = tmpfs",
                        port=3) +
            PLAIN, nports=10)
        # full: /etc too, but not the rest of the system.
        self.assertEqual(self.ask(d, 0), "EROFS\nend\n")
        self.assertFalse(os.path.exists("/etc/porter-ns-test"))
        self.assertEqual(self.ask(d, 1), "ok\nend\n")
        self.assertEqual(self.ask(d, 2), "EROFS\nend\n")
        # tmpfs: an empty, writable home that is gone with the connection.
        self.assertEqual(self.ask(d, 3), "ok\nend\n")
        self.assertFalse(os.path.exists("/root/porter-ns-test"))
        self.assert_plain(d)

    def test_inaccessible_paths_and_protect_home(self):
        secret_dir = os.path.join(self.dir, "secrets")
        os.makedirs(secret_dir)
        secret = os.path.join(self.dir, "key")
        with open(secret, "w") as f:
            f.write("the secret\n")
        hide = "inaccessible_paths = %s %s" % (secret_dir, secret)
        d = self.start(
            # Without CAP_DAC_OVERRIDE, root is refused as anyone would be.
            self.server("dir", "list %s" % secret_dir, hide + "\ncapabilities =", port=0) +
            self.server("file", "read %s" % secret, hide, port=1) +
            self.server("home", "list /home", "protect_home = yes\ncapabilities =", port=2) +
            self.server("free", "read %s" % secret, "", port=3) +
            self.server("shadow", "read /etc/shadow", "inaccessible_paths = /etc/shadow",
                        port=4) +
            PLAIN, nports=10)
        self.assertEqual(self.ask(d, 0), "EACCES\nend\n")
        # Root may open the file put in its place: it is empty.
        self.assertEqual(self.ask(d, 1), "ok 0\nend\n")
        self.assertEqual(self.ask(d, 2), "EACCES\nend\n")
        self.assertEqual(self.ask(d, 3), "ok 11\nend\n")
        self.assertEqual(self.ask(d, 4), "ok 0\nend\n")
        self.assert_plain(d)

    # ------------------------------------------------------------ network, pid

    def test_private_network_has_nothing_but_the_connection(self):
        d = self.start(
            self.server("jailed", "connect {PORT9}", "private_network = yes", port=0) +
            self.server("free", "connect {PORT9}", "", port=1) + PLAIN, nports=10)
        # The server still talks to its client: the answer comes back.
        self.assertEqual(self.ask(d, 0), "ENETUNREACH\nend\n")
        self.assertEqual(self.ask(d, 1), "ok\nend\n")
        d.wait_log(r"private_network: servers share an empty network namespace")
        self.assert_plain(d)

    def test_private_pid_makes_the_server_pid_1_and_takes_its_children(self):
        d = self.start(self.server("pid", "pids", "private_pid = yes", port=0) +
                       self.server("esc", "escape", "private_pid = yes", port=1) +
                       self.server("free", "escape", "", port=2) + PLAIN, nports=10)
        self.assertEqual(self.ask(d, 0), "pid 1\nprocs 1\nend\n")
        # A grandchild that left the process group would hold the
        # connection for 60 s; the namespace dies with its PID 1.
        start = time.monotonic()
        out = converse(d.ports[1], timeout=20.0).decode()
        self.assertRegex(out, r"^\d+\n$")
        self.assertLess(time.monotonic() - start, 20.0 * SLOW)
        d.wait_log(r"EXIT: esc status=0 pid=\d+$")
        # Without it, the grandchild holds the connection (the control case).
        with socket.create_connection(("127.0.0.1", d.ports[2])) as s:
            s.settimeout(5 * SLOW)
            pid = int(s.recv(64).split()[0])
            d.wait_log(r"EXIT: free status=0 pid=\d+$")
            os.kill(pid, 9)
        self.assert_plain(d)

    def test_ipc_uts_and_hostname(self):
        d = self.start(self.server("all", "ns",
                                   "private_ipc = yes\nprivate_uts = yes\nprivate_pid = yes\n"
                                   "private_network = yes\nprivate_tmp = yes", port=0) +
                       self.server("none", "ns", "", port=1) +
                       self.server("host", "uname", "hostname = jail-1", port=2) + PLAIN,
                       nports=10)
        mine = {n: os.stat("/proc/self/ns/" + n).st_ino
                for n in ("ipc", "mnt", "net", "pid", "uts")}

        def seen(i):
            return {k: int(v) for k, v in (line.split() for line in
                                           self.ask(d, i).splitlines()[:-1])}
        jailed, free = seen(0), seen(1)
        for n in mine:
            self.assertNotEqual(jailed[n], mine[n], n)
            self.assertEqual(free[n], mine[n], n)
        self.assertEqual(self.ask(d, 2), "jail-1\nend\n")
        self.assertEqual(socket.gethostname(), os.uname().nodename)
        self.assertNotEqual(os.uname().nodename, "jail-1")
        self.assert_plain(d)

    # ------------------------------------------------------------ root_directory

    def make_root(self):
        root = os.path.join(self.dir, "root")
        for sub in ("bin", "dev", "proc", "tmp", "data", "ro"):
            os.makedirs(os.path.join(root, sub))
        self.root_entries = sorted(os.listdir(root))
        shutil.copy(self.hostile, os.path.join(root, "bin", "hostile"))
        # A build with sanitizers links the helpers dynamically: their
        # libraries go into the root too.
        ldd = subprocess.run(["ldd", self.hostile], capture_output=True, text=True).stdout
        for lib in re.findall(r"(/\S+) \(0x", ldd):
            dst = root + lib
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy(lib, dst)
        return root

    def test_root_directory_with_bind_paths(self):
        root = self.make_root()
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        jail = ("root_directory = %s\nbind_paths = %s:/data\n"
                "bind_read_only_paths = %s:/ro" % (root, data, data))
        conf = "".join(self.server("r%d" % i, args, jail, port=i, path="/bin/hostile")
                       for i, args in enumerate(("list /", "read /etc/shadow", "write /bin/x",
                                                 "write /data/out", "write /ro/out",
                                                 "write /dev/null", "pids")))
        d = self.start(conf + PLAIN, nports=10)
        entries = sorted(re.findall(r"entry (\S+)", self.ask(d, 0)))
        self.assertEqual(entries, sorted(set(self.root_entries) |
                                         {p for p in os.listdir(root) if p.startswith("lib")}))
        self.assertEqual(self.ask(d, 1), "ENOENT\nend\n")
        self.assertEqual(self.ask(d, 2), "EROFS\nend\n")
        self.assertEqual(self.ask(d, 3), "ok\nend\n")
        self.assertTrue(os.path.exists(os.path.join(data, "out")))
        os.unlink(os.path.join(data, "out"))
        self.assertEqual(self.ask(d, 4), "EROFS\nend\n")
        self.assertFalse(os.path.exists(os.path.join(data, "out")))
        self.assertEqual(self.ask(d, 5), "ok\nend\n")
        # Its /proc is there, and shows the host's processes without
        # private_pid.
        self.assertRegex(self.ask(d, 6), r"^pid \d+\nprocs \d+\nend\n$")
        self.assertNotIn("pid 1\n", self.ask(d, 6))
        self.assert_plain(d)

    # ------------------------------------------------------------ privileges

    def test_setuid_binary_does_not_raise_privileges(self):
        suid = os.path.join(self.dir, "hostile-suid")
        shutil.copy(self.hostile, suid)
        os.chmod(suid, 0o4755)
        args = "exec %s euid" % suid
        d = self.start(self.server("nnp", args, "no_new_privs = yes", user="nobody", port=0) +
                       self.server("free", args, "", user="nobody", port=1) + PLAIN,
                       nports=10)
        self.assertEqual(self.ask(d, 0), "euid 65534\nend\n")
        self.assertEqual(self.ask(d, 1), "euid 0\nend\n")
        self.assert_plain(d)

    # ------------------------------------------------------------ the bundle

    def test_sandbox_strict(self):
        conf = self.server("strict", "write /etc/porter-ns-test", "sandbox = strict",
                           user="nobody", port=0)
        d = self.start(conf +
                       self.server("nnp", "nnp", "sandbox = strict", user="nobody", port=1) +
                       self.server("tmp", "write /tmp/x", "sandbox = strict", user="nobody",
                                   port=2) +
                       self.server("home", "list /home", "sandbox = strict", user="nobody",
                                   port=3) +
                       self.server("inet6", "socket-inet",
                                   "sandbox = strict\nrestrict_address_families = AF_UNIX",
                                   user="nobody", port=4) +
                       self.server("shared", "list /tmp", "sandbox = strict\nprivate_tmp = no",
                                   user="nobody", port=5) +
                       PLAIN, nports=10)
        self.assertEqual(self.ask(d, 0), "EROFS\nend\n")
        out = self.ask(d, 1)
        self.assertIn("NoNewPrivs:\t1\n", out)
        self.assertIn("Seccomp:\t2\n", out)
        self.assertEqual(self.ask(d, 2), "ok\nend\n")
        self.assertEqual(self.ask(d, 3), "EACCES\nend\n")
        # Each part can be set otherwise.
        self.assertEqual(self.ask(d, 4), "EAFNOSUPPORT\nend\n")
        self.assertNotEqual(self.ask(d, 5), "ok 0\nend\n")
        self.assert_plain(d)

    def test_dump_shows_the_effective_sandbox(self):
        conf = self.server("s", "nnp", "sandbox = strict\nprivate_tmp = no", user="nobody")
        path = os.path.join(self.dir, "porter.conf")
        with open(path, "w") as f:
            f.write(conf.replace("{{", "{").replace("}}", "}").replace("{PORT0}", "7001"))
        t = subprocess.run([PORTERD, "-T", "-f", path], capture_output=True, text=True)
        self.assertEqual(t.returncode, 0, t.stderr)
        for line in (r"sandbox\s*= strict", r"no_new_privs\s*= yes", r"capabilities\s*=\n",
                     r"private_tmp\s*= no", r"protect_system\s*= strict",
                     r"protect_home\s*= yes", r"restrict_address_families\s*= AF_UNIX AF_INET",
                     r"system_call_filter\s*= @system-service"):
            self.assertTrue(re.search(line, t.stdout), (line, t.stdout))

    # ------------------------------------------------------------ porterctl security

    def test_porterctl_security(self):
        d = self.start(self.server("bare", "nnp", "") +
                       self.server("jail", "nnp", "sandbox = strict\nprivate_network = yes\n"
                                   "private_pid = yes\nprivate_ipc = yes\nmemory_max = 32M\n"
                                   "pids_max = 8", user="nobody", port=1) + PLAIN,
                       nports=10)

        def ctl(*args):
            r = subprocess.run([PORTERCTL, "-C", d.control] + list(args),
                               capture_output=True, text=True, timeout=10)
            return r.returncode, r.stdout + r.stderr
        rc, out = ctl("security")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"bare\s+root\s+10\.0\s+UNSAFE")
        self.assertRegex(out, r"jail\s+nobody\s+0\.5\s+OK")
        # Built-ins run no program: not listed.
        self.assertNotIn("plain", out)
        rc, out = ctl("--json", "security")
        rows = {r["id"]: r for r in json.loads(out)}
        self.assertEqual(rows["jail"]["could"], ["sees the host's whole file system"])
        self.assertIn("makes any system call (mount, ptrace, kexec_load, bpf ...)",
                      rows["bare"]["could"])
        rc, out = ctl("security", "jail")
        self.assertEqual(rc, 0, out)
        self.assertIn("+0.5 root_directory", out)
        self.assertRegex(out, r"0\.0 system_call_filter\s+confined")
        rc, out = ctl("security", "plain")
        self.assertNotEqual(rc, 0)
        self.assertIn("plain is served inside porterd", out)
        rc, out = ctl("security", "nosuch")
        self.assertNotEqual(rc, 0)
        self.assertIn("no service has the id nosuch", out)

    # ------------------------------------------------------------ -t

    def test_without_privileges_check_refuses_what_would_fail_at_connect(self):
        path = os.path.join(self.dir, "porter.conf")
        conf = (self.server("ns", "nnp", "private_tmp = yes", user="nobody", port=0) +
                self.server("caps", "nnp", "capabilities =", user="nobody", port=1) +
                self.server("nnp", "nnp", "no_new_privs = yes", user="nobody", port=2))
        with open(path, "w") as f:
            f.write(conf.replace("{{", "{").replace("}}", "}").replace("{PORT0}", "7001")
                    .replace("{PORT1}", "7002").replace("{PORT2}", "7003"))
        os.chmod(path, 0o644)
        r = subprocess.run(["runuser", "-u", "nobody", "--", PORTERD, "-t", "-f", path],
                           capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 78, out)
        self.assertIn("ns: namespaces (private_*, protect_*, *_paths, root_directory, "
                      "hostname) need porterd to have CAP_SYS_ADMIN", out)
        self.assertIn("caps: capabilities and ambient_capabilities need porterd to have "
                      "CAP_SETPCAP", out)
        self.assertNotIn("nnp:", out)
        # As root, the same file is fine.
        r = subprocess.run([PORTERD, "-t", "-f", path], capture_output=True, text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_check_errors(self):
        rc, out = check_conf(self.server("x", "nnp", "bind_paths = relative\nhostname = no_underscores\n"
                                    "tmp_size = 1K\nprotect_system = sometimes"))
        self.assertEqual(rc, 78, out)
        for msg in ('bind_paths: "relative" is not SOURCE or SOURCE:DESTINATION',
                    'hostname: "no_underscores" is not a host name',
                    'tmp_size: expected a size of at least 64K',
                    'protect_system: unknown value "sometimes" (known: no yes full strict)'):
            self.assertIn(msg, out)
        rc, out = check_conf(self.server("x", "nnp", "bind_paths = /nonexistent/src:/mnt"))
        self.assertEqual(rc, 78, out)
        self.assertIn("bind_paths: /nonexistent/src: No such file or directory", out)
        rc, out = check_conf(self.server("x", "nnp", "root_directory = /nonexistent/root",
                                    path="/bin/sh"))
        self.assertEqual(rc, 78, out)
        self.assertIn("root_directory /nonexistent/root: No such file or directory", out)
        rc, out = check_conf(self.server("x", "nnp", "read_only_paths = /nonexistent/ro\n"
                                    "tmp_size = 1M"))
        self.assertEqual(rc, 0, out)
        self.assertIn("read_only_paths: /nonexistent/ro: No such file or directory; "
                      "servers start without it", out)
        self.assertIn("tmp_size does nothing without private_tmp", out)
        # A root directory must hold the server.
        root = self.make_root()
        rc, out = check_conf(self.server("x", "nnp", "root_directory = %s" % root,
                                    path="/bin/nothing"))
        self.assertEqual(rc, 78, out)
        self.assertIn("server %s/bin/nothing: No such file or directory" % root, out)
