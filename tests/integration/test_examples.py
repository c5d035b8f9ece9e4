"""The shipped examples: the configuration make run serves, the container
challenge, and the systemd unit, checked the way a user would use them."""
import os
import re
import shutil
import subprocess
import tempfile

from harness import PORTERD, PorterTest, converse

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
        with open(os.path.join(ROOT, "examples/porter.service")) as f:
            unit = f.read()
        self.assertIn("Type=notify", unit)
        starts = re.findall(r"^ExecStart=(\S+) (.*)$", unit, re.M)
        self.assertEqual(len(starts), 1)
        self.assertTrue(starts[0][0].endswith("/porterd"))
        self.assertIn("-F", starts[0][1].split())

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
