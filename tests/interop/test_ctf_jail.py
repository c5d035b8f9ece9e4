"""A CTF-style challenge served the way CTF hosts serve one: a small C
program with the usual weaknesses (tests/interop/ctf/notes.c, linked
statically), one process per connection, under sandbox = strict with a
root_directory holding nothing but the program and its flag,
memory_max = 32M, pids_max = 8 and timeout = 30. Real clients (socat and
nc) play the players: the challenge works, and what a player could do
with its weaknesses (run a shell, leave notes for the next player,
exhaust memory or processes) stays inside the connection's jail, while
another service keeps answering throughout.
"""
import os
import re
import shutil
import subprocess
import tempfile

from interop import HERE, PORTERD, PorterTest, need, need_root, ok, run

PORTERCTL = os.path.join(os.path.dirname(PORTERD), "porterctl")

CONF = """
service notes
{{
	type           = UNLISTED
	port           = {PORT0}
	bind           = 127.0.0.1
	socket_type    = stream
	wait           = no
	user           = nobody
	server         = /notes
	log_on_success = PID EXIT DURATION
	sandbox        = strict
	root_directory = %s
	private_network = yes
	private_pid    = yes
	memory_max     = 32M
	pids_max       = 8
	timeout        = 30
}}

service echo
{{
	type        = INTERNAL UNLISTED
	port        = {PORT1}
	bind        = 127.0.0.1
	socket_type = stream
	wait        = no
}}
"""

FLAG = "porter{jailed_but_served}"


class CtfJailTest(PorterTest):
    def setUp(self):
        need(self, "gcc", "socat", "nc")
        need_root(self, "namespaces and cgroups")
        base = "/srv" if os.path.isdir("/srv") else "/var/lib"
        self.dir = tempfile.mkdtemp(prefix="porter-ctf-", dir=base)
        self.root = os.path.join(self.dir, "root")
        for sub in ("dev", "proc", "tmp"):
            os.makedirs(os.path.join(self.root, sub))
        os.chmod(self.dir, 0o755)
        os.chmod(self.root, 0o755)
        r = run(["gcc", "-static", "-O1", "-o", os.path.join(self.root, "notes"),
                 os.path.join(HERE, "ctf", "notes.c")], timeout=120)
        ok(self, r)
        with open(os.path.join(self.root, "flag.txt"), "w") as f:
            f.write(FLAG + "\n")
        os.chmod(os.path.join(self.root, "flag.txt"), 0o444)
        super().setUp()
        self.d = self.start(CONF % self.root, nports=2)

    def tearDown(self):
        super().tearDown()
        if hasattr(self, "dir"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def play(self, lines, client="socat"):
        data = "".join(line + "\n" for line in lines).encode()
        if client == "socat":
            cmd = ["socat", "-t", "30", "-", "TCP:127.0.0.1:%d" % self.d.ports[0]]
        else:
            cmd = ["nc", "-N", "127.0.0.1", str(self.d.ports[0])]
        r = run(cmd, input=data, timeout=40)
        ok(self, r, self.d)
        return r.stdout.decode(errors="replace")

    def assert_echo(self):
        r = run(["nc", "-N", "127.0.0.1", str(self.d.ports[1])], input=b"ping\n")
        ok(self, r, self.d)
        self.assertEqual(r.stdout, b"ping\n")

    def test_the_challenge_is_playable(self):
        out = self.play(["name guest", "flag", "name admin", "flag", "quit"])
        self.assertIn("hello guest\n> only admin\n", out)
        self.assertIn("hello admin\n> %s\n" % FLAG, out)
        out = self.play(["name admin", "flag"], client="nc")
        self.assertIn(FLAG, out)
        self.d.wait_log(r"EXIT: notes status=0 pid=\d+ duration=\d+\(sec\)$", count=2)
        self.assert_echo()

    def test_no_shell_and_nothing_of_the_host(self):
        # Command injection finds no shell: the root holds the program
        # and its flag only.
        out = self.play(["run cat /etc/passwd", "run /bin/sh -c id"])
        self.assertEqual(out.count("run: 127\n"), 2, out)
        self.assertNotIn("root:x:0:0", out)
        self.assert_echo()

    def test_notes_do_not_reach_the_next_player(self):
        out = self.play(["note the flag is mine", "notes"])
        self.assertIn("noted\n> the flag is mine\n", out)
        out = self.play(["notes"], client="nc")
        self.assertIn("cannot open /tmp/notes", out)
        # Nor the host: the jail's /tmp was a tmpfs of that connection.
        self.assertEqual(os.listdir(os.path.join(self.root, "tmp")), [])
        self.assertFalse(os.path.exists("/tmp/notes"))

    def test_memory_and_processes_are_capped(self):
        out = self.play(["grow 64"])
        self.assertNotIn("grown", out)
        self.d.wait_log(r"EXIT: notes signal=9 pid=\d+ duration=\d+\(sec\) oom$")
        self.assert_echo()
        out = self.play(["spawn 50", "quit"])
        m = re.search(r"spawned (\d+)", out)
        self.assertTrue(m, out)
        # The server itself is one of the 8.
        self.assertEqual(int(m.group(1)), 7)
        self.d.wait_log(r"EXIT: notes status=0 pid=\d+ duration=\d+\(sec\) pids_max$")
        self.assert_echo()

    def test_porterctl_security_rates_it(self):
        r = run([PORTERCTL, "-C", self.d.control, "security", "notes"])
        ok(self, r, self.d)
        out = r.stdout.decode()
        self.assertRegex(out, r"^notes: exposure 0\.2 OK, user nobody\n")
        self.assertIn("+0.2 private_ipc", out)
