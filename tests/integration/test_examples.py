"""The shipped examples: the configuration make run serves, the container
challenge, the systemd unit and the default /etc/porter.conf, checked the
way a user would use them."""
import os
import re
import shutil
import subprocess
import tempfile

from harness import PORTERD, PorterTest, converse, entry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class ExamplesTest(PorterTest):
    def test_make_run_config_is_valid(self):
        r = subprocess.run([PORTERD, "-t", "-f", os.path.join(ROOT, "examples/porter.conf")],
                           capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "configuration OK\n", ""))

    def test_container_config_is_valid(self):
        tmp = tempfile.mkdtemp(prefix="porter-ex-")
        self.addCleanup(shutil.rmtree, tmp, True)
        banner = os.path.join(tmp, "banner_fail")
        shutil.copy(os.path.join(ROOT, "examples/container/banner_fail"), banner)
        with open(os.path.join(ROOT, "examples/container/porter.conf")) as f:
            text = f.read().replace("/etc/banner_fail", banner)
        conf = os.path.join(tmp, "chall.conf")
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([PORTERD, "-t", "-f", conf], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout), (0, "configuration OK\n"), r.stderr)

    def test_systemd_unit_runs_what_it_says(self):
        # The template make install fills in: every command is porterd's,
        # on the installed configuration, and a stop reaches the servers.
        with open(os.path.join(ROOT, "examples/porter.service.in")) as f:
            unit = f.read()
        self.assertIn("Type=notify", unit)
        starts = re.findall(r"^ExecStart=(\S+) (.*)$", unit, re.M)
        self.assertEqual(starts, [("@SBINDIR@/porterd", "-F -f @SYSCONFDIR@/porter.conf")])
        for line in re.findall(r"^Exec\w+=(.*)$", unit, re.M):
            self.assertRegex(line, r"^(@SBINDIR@/porterd .*-f @SYSCONFDIR@/porter\.conf|"
                                   r"/bin/kill -HUP \$MAINPID)$")
        self.assertRegex(unit, r"(?m)^KillMode=mixed$")
        # Per-connection cgroups go below porterd's, which systemd owns.
        self.assertRegex(unit, r"(?m)^Delegate=yes$")

    def test_default_config_is_valid(self):
        # What make install and the package put in /etc/porter.conf.
        tmp = tempfile.mkdtemp(prefix="porter-ex-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.mkdir(os.path.join(tmp, "porter.d"))
        with open(os.path.join(ROOT, "examples/default.conf.in")) as f:
            text = f.read().replace("@SYSCONFDIR@", tmp)
        self.assertIn("includedir %s/porter.d\n" % tmp, text)
        conf = os.path.join(tmp, "porter.conf")
        with open(conf, "w") as f:
            f.write(text)
        r = subprocess.run([PORTERD, "-t", "-f", conf], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "configuration OK\n", ""))
        # The line the comment offers for an xinetd tree, put in place of
        # the rest as it says, serves that tree with its own defaults.
        head, sep, _ = text.partition("\n#include /etc/xinetd.conf\n")
        self.assertTrue(sep)
        xinetd = os.path.join(tmp, "xinetd.conf")
        os.mkdir(os.path.join(tmp, "xinetd.d"))
        with open(xinetd, "w") as f:
            f.write("defaults\n{\n\tinstances = 60\n}\n\nincludedir %s/xinetd.d\n" % tmp)
        with open(os.path.join(tmp, "xinetd.d", "echo"), "w") as f:
            f.write(entry("echo", type="INTERNAL UNLISTED", port=17, socket_type="stream",
                          wait="no", bind="127.0.0.1").format())
        with open(conf, "w") as f:
            f.write(head + "\ninclude %s\n" % xinetd)
        r = subprocess.run([PORTERD, "-T", "-f", conf], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^service echo$")
        self.assertRegex(r.stdout, r"(?m)^\s*instances\s*= 60$")

    def test_make_run_serves_the_example(self):
        # The ports of examples/porter.conf are fixed; skip if taken.
        with open(os.path.join(ROOT, "examples/porter.conf")) as f:
            text = f.read()
        d = self.start(text.replace("{", "{{").replace("}", "}}"))
        self.assertEqual(converse(10100), b"Hello from porter. Bye.\n")
        self.assertEqual(converse(10102, b"abc\n"), b"ABC\n")
        self.assertTrue(converse(10013).endswith(b"\r\n"))
        self.assertEqual(converse(10007, b"echo me"), b"echo me")
        d.wait_log(r"greeting: listening on tcp 127\.0\.0\.1 port 10100")
