"""test_unix.py: services on Unix sockets (bind = unix:PATH, unix:@NAME):
the socket file's owner and mode, stale files, reloads that keep the
socket, removal at shutdown; rules on the client's credentials (only_uid,
only_gid with supplementary groups, no_uid, no_gid, per_uid); what the
server sees (REMOTE_UID, IPCREMOTEPATH ...); explain uid:USER; datagram
and seqpacket services; and what -t says of bad Unix configurations.

Clients run as other users through subprocess (user=, extra_groups=),
so these tests need root."""
import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap

from harness import PORTERD, PorterTest, entry, recv_all, wait_for

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))
PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))
REPORT = os.path.join(HELPERS, "report")

# A client in a process of its own, as another user: prints what it got.
CLIENT = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_UNIX, getattr(socket, sys.argv[2]))
    if len(sys.argv) > 3:
        s.bind(sys.argv[3])
    s.settimeout(10)
    s.connect(sys.argv[1].replace("@", "\\0", 1) if sys.argv[1][0] == "@" else sys.argv[1])
    s.sendall(b"ping\\n")
    s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        try:
            d = s.recv(65536)
        except ConnectionResetError:  # the server did not read the ping
            break
        if not d:
            break
        out += d
    sys.stdout.buffer.write(out)
""")


PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def env_of(out):
    """The environment report (tests/helpers/report.c) printed."""
    return dict(line[4:].split("=", 1) for line in out.splitlines()
                if line.startswith("env ") and "=" in line)


class UnixTest(PorterTest):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("clients as other users need root")
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="porter-unix-")
        os.chmod(self.tmp, 0o755)

    def tearDown(self):
        super().tearDown()
        subprocess.run(["rm", "-rf", self.tmp])

    def path(self, name):
        return os.path.join(self.tmp, name)

    def svc(self, name, bind, extra="", server=REPORT, args=None, **kw):
        attrs = dict(type="UNLISTED", socket_type="stream", wait="no", bind=bind,
                     user="root", server=server, server_args=args,
                     log_on_success="PID HOST EXIT", log_on_failure="HOST")
        attrs.update(kw)
        return entry(name, extra, **attrs)

    def client(self, path, user=None, groups=None, kind="SOCK_STREAM", bound=None):
        args = [PYTHON, "-c", CLIENT, path, kind] + ([bound] if bound else [])
        r = subprocess.run(args, capture_output=True, timeout=30, user=user,
                           group=None if user is None else user if user != "nobody"
                           else "nogroup", extra_groups=groups)
        return r.stdout.decode(errors="replace")

    def start_unix(self, conf, **kw):
        return self.start(conf, nports=1, **kw)

    # ------------------------------------------------------------ the socket

    def test_stream_service_and_what_the_server_sees(self):
        p = self.path("env.sock")
        d = self.start_unix(self.svc("env", "unix:" + p,
                                     "socket_mode = 0660\nsocket_user = daemon\n"
                                     "socket_group = nogroup"))
        st = os.stat(p)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, 65534)
        self.assertEqual(st.st_uid, 1)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(p)
            s.shutdown(socket.SHUT_WR)
            env = env_of(recv_all(s).decode())
        self.assertEqual(env["REMOTE_UID"], "0")
        self.assertEqual(env["IPCREMOTEEUID"], "0")
        self.assertEqual(env["REMOTE_GID"], str(os.getgid()))
        self.assertEqual(env["REMOTE_PID"], str(os.getpid()))
        self.assertEqual(env["PROTO"], "UNIX")
        self.assertEqual(env["IPCREMOTEPATH"], "")
        self.assertNotIn("REMOTE_ADDR", env)
        d.wait_log(r"START: env pid=\d+ from=uid:0\(pid %d\)$" % os.getpid())
        # A client bound to a name: the server is told it.
        out = self.client(p, bound=self.path("client.sock"))
        self.assertEqual(env_of(out)["IPCREMOTEPATH"], self.path("client.sock"))
        d.stop()
        self.assertFalse(os.path.exists(p), "the socket file is left at shutdown")

    def test_stale_file_is_replaced_and_a_live_one_is_not(self):
        stale, live, plain = self.path("stale.sock"), self.path("live.sock"), self.path("file")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(stale)
        s.close()  # the file stays: nothing listens on it
        keep = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        keep.bind(live)
        keep.listen(1)
        with open(plain, "w") as f:
            f.write("data\n")
        try:
            d = self.start_unix(self.svc("stale", "unix:" + stale) +
                                self.svc("live", "unix:" + live) +
                                self.svc("plain", "unix:" + plain))
            out = self.client(stale)
            self.assertIn("env PROTO=UNIX", out, d.text())
            d.wait_log(r"live: .*bind: Address already in use")
            d.wait_log(r"plain: .*bind: Address already in use")
            with open(plain) as f:
                self.assertEqual(f.read(), "data\n")
        finally:
            keep.close()

    def test_reload_keeps_the_socket_and_applies_its_mode(self):
        p = self.path("r.sock")
        conf = self.svc("r", "unix:" + p, "socket_mode = 0600")
        d = self.start_unix(conf)
        ino = os.stat(p).st_ino
        d.reload(conf.replace("0600", "0666"))
        d.wait_log(r"reload", timeout=10)
        wait_for(lambda: stat.S_IMODE(os.stat(p).st_mode) == 0o666, 10, "the new mode")
        self.assertEqual(os.stat(p).st_ino, ino)
        self.assertIn("env PROTO=UNIX", self.client(p))

    # ------------------------------------------------------------ credentials

    def test_only_uid_and_the_abstract_namespace(self):
        name = "@porter-test-%d" % os.getpid()
        d = self.start_unix(self.svc("abs", "unix:" + name, "only_uid = daemon"))
        self.assertIn("env REMOTE_UID=1\n", self.client(name, user="daemon"))
        self.assertEqual(self.client(name), "")
        d.wait_log(r"FAIL: abs credentials from=uid:0\(pid \d+\)$")

    def test_groups_and_the_more_specific_rule(self):
        p = self.path("g.sock")
        d = self.start_unix(self.svc("g", "unix:" + p, "only_gid = 4242\nno_uid = daemon"))
        # A supplementary group counts, as the kernel saw it at connect.
        self.assertIn("env REMOTE_UID=65534\n", self.client(p, user="nobody", groups=[4242]))
        self.assertEqual(self.client(p, user="nobody"), "")
        # The user's rule is more specific than the group's.
        self.assertEqual(self.client(p, user="daemon", groups=[4242]), "")
        self.assertEqual(d.count_log(r"FAIL: g credentials"), 2)

    def test_per_uid(self):
        p = self.path("slow.sock")
        d = self.start_unix(self.svc("slow", "unix:" + p, "per_uid = 1",
                                     server=os.path.join(HELPERS, "slow"), args="10000"))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as first:
            first.connect(p)
            d.wait_log(r"START: slow pid=\d+ from=uid:0")
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as second:
                second.settimeout(10)
                second.connect(p)
                self.assertEqual(recv_all(second), b"")
            d.wait_log(r"FAIL: slow per_source_limit from=uid:0")
            # Another user has a count of its own.
            self.client(p, user="daemon")
            d.wait_log(r"START: slow pid=\d+ from=uid:1\(pid \d+\)$")

    def test_explain_a_user(self):
        p = self.path("e.sock")
        d = self.start_unix(self.svc("e", "unix:" + p, "only_uid = daemon"))

        def explain(who):
            r = subprocess.run([PORTERCTL, "-C", d.control, "explain", "e", who],
                               capture_output=True, text=True, timeout=10)
            return r.stdout + r.stderr
        self.assertRegex(explain("uid:daemon"), r"credentials: uid 1 gid 1: only_uid \(allowed\)")
        out = explain("uid:0")
        self.assertRegex(out, r"credentials: uid 0 gid 0: not in only_uid or only_gid "
                              r"\(denied\)")
        self.assertIn("no such user", explain("uid:nosuchuser"))

    # ------------------------------------------------------------ other types

    def test_datagram_service_knows_the_sender(self):
        p, out = self.path("d.sock"), self.path("out")
        script = self.path("dgram.py")
        with open(script, "w") as f:
            f.write("#!%s\nimport os, socket, sys\n"
                    "s = socket.socket(fileno=0)\n"
                    "data = s.recv(100)\n"
                    "with open(sys.argv[1], 'w') as f:\n"
                    "    f.write(os.environ['REMOTE_UID'] + ' ' + os.environ['PROTO'] + ' '"
                    " + data.decode())\n" % PYTHON)
        os.chmod(script, 0o755)
        d = self.start_unix(self.svc("dg", "unix:" + p, socket_type="dgram", wait="yes",
                                     server=script, args=out))
        # From an unbound socket: no name to answer, credentials all the same.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"hello", p)
        wait_for(lambda: os.path.exists(out) and open(out).read() != "", 10, "the datagram")
        with open(out) as f:
            self.assertEqual(f.read(), "0 UNIX hello")
        d.wait_log(r"START: dg pid=\d+ from=uid:0\(pid %d\)$" % os.getpid())

    def test_seqpacket(self):
        p = self.path("sp.sock")
        d = self.start_unix(self.svc("sp", "unix:" + p, socket_type="seqpacket",
                                     server="/bin/cat"))
        self.assertEqual(self.client(p, kind="SOCK_SEQPACKET"), "ping\n")
        d.wait_log(r"EXIT: sp status=0 pid=\d+$")

    # ------------------------------------------------------------ -t

    def check(self, conf):
        path = self.path("check.conf")
        with open(path, "w") as f:
            f.write(conf.replace("{{", "{").replace("}}", "}"))
        r = subprocess.run([PORTERD, "-t", "-f", path], capture_output=True, text=True,
                           timeout=30)
        return r.returncode, (r.stdout + r.stderr).replace(path, "CONF")

    def test_check(self):
        long_path = "/run/" + "x" * 120
        rc, out = self.check(
            self.svc("long", "unix:" + long_path) +
            self.svc("rel", "unix:relative.sock") +
            self.svc("tcp", "127.0.0.1", port="7001", only_uid="root") +
            self.svc("addr", "unix:" + self.path("a.sock"), only_from="127.0.0.1") +
            self.svc("port", "unix:" + self.path("p.sock"), port="7002") +
            self.svc("who", "unix:" + self.path("w.sock"), only_uid="nosuchuser") +
            self.svc("first", "unix:" + self.path("d.sock")) +
            self.svc("dup", "unix:" + self.path("d.sock")) +
            self.svc("sp", "127.0.0.1", port="7003", socket_type="seqpacket"))
        self.assertEqual(rc, 78, out)
        for msg in ("long: bind = unix:%s: a socket path has 1 to 107 characters" % long_path,
                    "rel: bind = unix:relative.sock: expected an absolute path",
                    "tcp: only_uid judges the clients of a Unix socket",
                    "addr: only_from, no_access, libwrap and IDONLY judge addresses",
                    "port: port does not go with bind = unix:",
                    'who: only_uid: no user "nosuchuser"',
                    "dup: unix:%s is already used by first" % self.path("d.sock"),
                    "sp: socket_type seqpacket needs bind = unix:PATH"):
            self.assertIn(msg, out)
        rc, out = self.check(self.svc("open", "unix:/tmp/porter-open.sock"))
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"open: bind = unix:/tmp/porter-open.sock: /tmp is writable by "
                              r"others, who may replace the socket")
        self.assertFalse(re.search(r"error", out))
