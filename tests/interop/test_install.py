"""make install and make uninstall, as an administrator runs them: what
goes where under PREFIX and SYSCONFDIR, into a staging folder (DESTDIR)
and into a prefix of the test's own; a default porter.conf installed once
and never overwritten; a unit that names the installed porterd and
configuration; stripped binaries unless STRIP= is given; and an uninstall
that leaves only a configuration the administrator changed.

The tree is built once, with plain flags, in the test's folder: the build
under test is not touched.
"""
import glob
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

from interop import ROOT, has_symbols, make, need

MAN = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "man", "*.[58]")))
EXAMPLES = sorted(os.path.basename(p) for p in
                  glob.glob(os.path.join(ROOT, "examples", "*.conf")) +
                  glob.glob(os.path.join(ROOT, "examples", "*.socket")))
# Installed with their layout under the documentation directory.
TREES = sorted(os.path.relpath(p, ROOT) for p in
               glob.glob(os.path.join(ROOT, "examples", "fail2ban", "README.md")) +
               glob.glob(os.path.join(ROOT, "examples", "fail2ban", "*", "*.conf")) +
               glob.glob(os.path.join(ROOT, "examples", "haproxy", "*")))


def tree(top):
    """(files, directories) under top, as paths relative to it."""
    files, dirs = set(), set()
    for d, subdirs, names in os.walk(top):
        rel = os.path.relpath(d, top)
        for n in subdirs:
            dirs.add(os.path.normpath(os.path.join(rel, n)))
        for n in names:
            files.add(os.path.normpath(os.path.join(rel, n)))
    return files, dirs


def read(path):
    with open(path) as f:
        return f.read()


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="porter-install-")
        cls.build = os.path.join(cls.tmp, "build")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def setUp(self):
        need(self, "make", "cc", "readelf", "strip")

    def make(self, *args):
        return make(self, "BUILD=" + self.build, *args)

    def expected(self, prefix, etc):
        """The files make install puts under prefix and etc, relative to
        the root of the tree they are in."""
        files = {prefix + "/sbin/porterd", prefix + "/sbin/porterctl",
                 prefix + "/lib/systemd/system/porter.service", etc + "/porter.conf"}
        for m in MAN:
            files.add("%s/share/man/man%s/%s" % (prefix, m[-1], m))
        for e in EXAMPLES:
            files.add(prefix + "/share/doc/porter/examples/" + e)
        for t in TREES:
            files.add(prefix + "/share/doc/porter/" + t)
        return {f.lstrip("/") for f in files}

    def check_unit(self, unit, sbin, etc):
        text = read(unit)
        self.assertEqual(re.findall(r"^ExecStart=(.*)$", text, re.M),
                         ["%s/porterd -F -f %s/porter.conf" % (sbin, etc)])
        for line in re.findall(r"^Exec\w+=(.*)$", text, re.M):
            if not line.startswith("/bin/kill "):
                self.assertTrue(line.startswith(sbin + "/porterd "), line)
                self.assertIn(" -f %s/porter.conf" % etc, line)
        self.assertNotIn("@", text)
        return text

    def test_destdir_install_twice_then_uninstall(self):
        dest = os.path.join(self.tmp, "dest")
        self.make("install", "DESTDIR=" + dest)
        files, dirs = tree(dest)
        self.assertEqual(files, self.expected("/usr/local", "/etc"))
        self.assertIn("etc/porter.d", dirs)
        self.assertEqual(os.listdir(os.path.join(dest, "etc/porter.d")), [])

        sbin = os.path.join(dest, "usr/local/sbin")
        for f in files:
            mode = stat.S_IMODE(os.stat(os.path.join(dest, f)).st_mode)
            self.assertEqual(mode, 0o755 if f.startswith("usr/local/sbin/") else 0o644, f)
        for b in ("porterd", "porterctl"):
            self.assertTrue(has_symbols(os.path.join(self.build, b)), b)
            self.assertFalse(has_symbols(os.path.join(sbin, b)), "%s is not stripped" % b)
        r = subprocess.run([os.path.join(sbin, "porterd"), "-version"], capture_output=True,
                           text=True)
        self.assertEqual((r.returncode, r.stdout[:8]), (0, "porterd "), r.stderr)

        self.check_unit(os.path.join(dest, "usr/local/lib/systemd/system/porter.service"),
                        "/usr/local/sbin", "/etc")
        conf = os.path.join(dest, "etc/porter.conf")
        default = read(conf)
        self.assertEqual(default, read(os.path.join(self.build, "porter.conf")))
        self.assertRegex(default, r"(?m)^includedir /etc/porter\.d$")

        # The administrator's changes survive a second install...
        changed = default + "# changed by the administrator\n"
        with open(conf, "w") as f:
            f.write(changed)
        out = self.make("install", "DESTDIR=" + dest)
        self.assertIn("porter.conf exists; left as it is", out)
        self.assertEqual(read(conf), changed)
        self.assertEqual(tree(dest)[0], files)

        # ...and the uninstall, which takes back everything else.
        out = self.make("uninstall", "DESTDIR=" + dest)
        self.assertIn("porter.conf differs from the default; left", out)
        files, dirs = tree(dest)
        self.assertEqual(files, {"etc/porter.conf"})
        self.assertEqual(read(conf), changed)
        self.assertEqual([d for d in dirs if "porter" in d], [])

    def test_prefix_install_runs_and_uninstalls_clean(self):
        # No DESTDIR: the paths in the unit and in porter.conf are the real
        # ones, so its commands can run as they are.
        prefix = os.path.join(self.tmp, "opt")
        etc = os.path.join(prefix, "etc")
        self.make("install", "PREFIX=" + prefix, "SYSCONFDIR=" + etc)
        files, _ = tree(prefix)
        self.assertEqual({os.path.join(prefix, f) for f in files},
                         {"/" + f for f in self.expected(prefix, etc)})
        self.assertRegex(read(os.path.join(etc, "porter.conf")),
                         r"(?m)^includedir %s/porter\.d$" % re.escape(etc))
        unit = self.check_unit(os.path.join(prefix, "lib/systemd/system/porter.service"),
                               os.path.join(prefix, "sbin"), etc)
        pre = re.search(r"^ExecStartPre=(.*)$", unit, re.M).group(1).split()
        r = subprocess.run(pre, capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "configuration OK\n", ""))

        # porter.conf is still the default: it goes too, and so does all.
        self.make("uninstall", "PREFIX=" + prefix, "SYSCONFDIR=" + etc)
        files, dirs = tree(prefix)
        self.assertEqual(files, set())
        self.assertEqual([d for d in dirs if "porter" in d], [])

    def test_empty_strip_keeps_the_symbols(self):
        dest = os.path.join(self.tmp, "debug")
        self.make("install", "DESTDIR=" + dest, "STRIP=")
        for b in ("porterd", "porterctl"):
            self.assertTrue(has_symbols(os.path.join(dest, "usr/local/sbin", b)), b)


if __name__ == "__main__":
    unittest.main()
