"""wait = no stream services: what a spawned server sees."""
import os
import pwd

from harness import PorterTest, converse

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))


def parse_report(data):
    out = {"env": {}}
    for line in data.decode().splitlines():
        if line.startswith("env "):
            k, _, v = line[4:].partition("=")
            out["env"][k] = v
        elif line.startswith(("fd0=", "fd1=", "fd2=", "argv")):
            k, _, v = line.partition("=")
            out[k] = v
        else:
            for part in line.split(" "):
                k, _, v = part.partition("=")
                out[k] = v
    return out


class SpawnTest(PorterTest):
    def conf(self, extra=""):
        return """
service report
{{
	type        = UNLISTED
	port        = {PORT0}
	socket_type = stream
	wait        = no
	user        = root
	server      = %s/report
	server_args = one two
	bind        = 127.0.0.1
	log_on_success = PID HOST EXIT DURATION
	%s
}}
""" % (HELPERS, extra)

    def test_fds_and_environment(self):
        d = self.start(self.conf("env = FOO=bar"))
        r = parse_report(converse(d.port))
        self.assertIn("end", r)
        # fds 0, 1 and 2 are the connection, and nothing else is open.
        for fd in ("fd0", "fd1", "fd2"):
            self.assertTrue(r[fd].startswith("socket stream ino="), r[fd])
        self.assertEqual(r["fd0"], r["fd1"])
        self.assertEqual(r["fds"], "0,1,2")
        self.assertEqual(r["fd0_nonblock"], "0")
        self.assertEqual(r["argv0"], "report")
        self.assertEqual(r["argv1"], "one")
        self.assertEqual(r["argv2"], "two")
        env = r["env"]
        self.assertEqual(env["FOO"], "bar")
        self.assertEqual(env["REMOTE_HOST"], "127.0.0.1")
        self.assertEqual(env["REMOTE_ADDR"], "127.0.0.1")
        self.assertEqual(env["PROTO"], "TCP")
        self.assertEqual(env["TCPREMOTEIP"], "127.0.0.1")
        self.assertEqual(env["TCPLOCALIP"], "127.0.0.1")
        self.assertEqual(env["TCPLOCALPORT"], str(d.port))
        self.assertTrue(int(env["TCPREMOTEPORT"]) > 0)
        self.assertEqual(env["REMOTE_PORT"], env["TCPREMOTEPORT"])
        # A session of its own, signals back to default.
        self.assertEqual(r["sid"], r["pid"])
        self.assertEqual(r["pgid"], r["pid"])
        self.assertEqual(r["sigmask_empty"], "1")
        self.assertEqual(r["sigpipe"], "default")
        d.wait_log(r"START: report pid=%s from=127\.0\.0\.1$" % r["pid"])
        d.wait_log(r"EXIT: report status=0 pid=%s duration=\d+\(sec\)$" % r["pid"])

    def test_user_and_group_drop(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        nobody = pwd.getpwnam("nobody")
        d = self.start(self.conf().replace("user        = root",
                                           "user = nobody\n\tgroup = nogroup"))
        r = parse_report(converse(d.port))
        self.assertEqual(r["uid"], str(nobody.pw_uid))
        self.assertEqual(r["euid"], str(nobody.pw_uid))
        self.assertEqual(r["egid"], r["gid"])
        self.assertEqual(r["groups"], "")

    def test_supplementary_groups_cleared_even_for_root_servers(self):
        """A server running as porterd's own user still loses the
        supplementary groups porterd was started with (groups = no), and
        the system calls are only skipped when nothing would change."""
        if os.geteuid() != 0:
            self.skipTest("needs root")
        d = self.start(self.conf(), preexec=lambda: os.setgroups([100, 4]))
        r = parse_report(converse(d.port))
        self.assertEqual((r["uid"], r["gid"], r["groups"]), ("0", "0", ""))
        d2 = self.start(self.conf())
        r = parse_report(converse(d2.port))
        self.assertEqual((r["uid"], r["gid"], r["groups"]), ("0", "0", ""))
