"""The Debian package, the way an administrator meets it: built by
`make deb` (which fails on any lintian warning), installed on this machine
with dpkg -i, checked and run as installed, removed, then purged.

Installed, the package must own what it ships and nothing else: porterd
and porterctl in /usr/sbin, /etc/porter.conf as a conffile that passes
`porterd -t`, an empty /etc/porter.d, and a unit that names the installed
porterd and configuration and is enabled (no systemd runs here, so the
package must install without starting it). The installed porterd serves a
service file dropped in /etc/porter.d. Removal keeps /etc/porter.conf and
a non-empty /etc/porter.d; purging takes them, and every other file the
package brought, away.

The test needs root and changes the machine's package database, so it
refuses to run where a porter package or any file of this one is there
already; whatever happens, it purges what it installed.
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

from interop import SLOW, free_ports, make, need, need_root, wait_for
from harness import converse

UNIT = "/lib/systemd/system/porter.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/porter.service"
HELPER_STATE = "/var/lib/systemd/deb-systemd-helper-enabled"


def status():
    """The package's dpkg status ("install ok installed", "deinstall ok
    config-files"), or None when dpkg knows nothing of it."""
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "porter"], capture_output=True,
                       text=True)
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def dpkg(*args):
    """Runs dpkg, waiting while another dpkg or apt holds its lock."""
    def done():
        r = subprocess.run(["dpkg"] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if r.returncode != 0 and re.search(r"lock|locked", r.stderr):
            return None
        return r
    return wait_for(done, 120, "the dpkg lock", interval=0.5)


def purge():
    if status() is not None:
        r = dpkg("--purge", "porter")
        if r.returncode != 0:
            raise AssertionError("dpkg --purge porter: %s%s" % (r.stdout, r.stderr))


def helper_state():
    """What deb-systemd-helper keeps about the unit."""
    found = []
    for d, _, names in os.walk(HELPER_STATE):
        found += [os.path.join(d, n) for n in names if n.startswith("porter.service")]
    return found


class PackageTest(unittest.TestCase):
    def setUp(self):
        need_root(self, "dpkg -i and dpkg --purge")
        need(self, "make", "dpkg-buildpackage", "dh", "lintian", "dpkg", "readelf",
             "systemd-analyze")
        self.tmp = tempfile.mkdtemp(prefix="porter-deb-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def refuse(self, why):
        msg = "%s; this test would replace it (dpkg --purge porter, if it is a leftover)" % why
        if os.environ.get("CI"):
            self.fail(msg)
        self.skipTest(msg)

    def test_build_install_run_remove_purge(self):
        out = make(self, "BUILD=" + os.path.join(self.tmp, "build"), "deb")
        self.assertIn("lintian --fail-on error,warning", out)
        debdir = os.path.join(self.tmp, "build", "deb")
        debs = glob.glob(os.path.join(debdir, "porter_*.deb"))
        self.assertEqual(len(debs), 1, os.listdir(debdir))
        deb = debs[0]
        # The binaries reach dh_strip unstripped: the symbols are kept.
        dbgsym = glob.glob(os.path.join(debdir, "porter-dbgsym_*.deb"))
        self.assertEqual(len(dbgsym), 1, os.listdir(debdir))
        r = subprocess.run(["dpkg-deb", "-c", dbgsym[0]], capture_output=True, text=True)
        self.assertRegex(r.stdout, r"/usr/lib/debug/\.build-id/\S+\.debug")

        r = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True)
        shipped = [os.path.normpath(line.split(None, 5)[5].split(" -> ")[0][1:])
                   for line in r.stdout.splitlines()]
        for p in ("/usr/sbin/porterd", "/usr/sbin/porterctl", "/etc/porter.conf",
                  "/etc/porter.d", UNIT):
            self.assertIn(p, shipped)

        if status() is not None:
            self.refuse("a porter package is installed (%s)" % status())
        there = [p for p in shipped if os.path.lexists(p) and
                 (not os.path.isdir(p) or p == "/etc/porter.d" or "porter" in p)]
        if there:
            self.refuse("%s exist already" % ", ".join(there))
        if os.path.lexists(WANTS) or helper_state():
            self.refuse("porter.service is enabled already")
        existed = {p for p in shipped if os.path.lexists(p)}

        self.addCleanup(purge)
        r = dpkg("-i", deb)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(status(), "install ok installed")
        self.check_installed(deb, shipped)
        self.check_runs()

        # Removed, the package leaves its configuration, and a porter.d
        # that still holds a service.
        mine = "/etc/porter.d/porter-test-%d" % os.getpid()
        with open(mine, "w") as f:
            f.write("# a service file of the administrator's\n")
        self.addCleanup(lambda: os.path.lexists(mine) and os.unlink(mine))
        r = dpkg("-r", "porter")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(status(), "deinstall ok config-files")
        self.assertFalse(os.path.lexists("/usr/sbin/porterd"))
        self.assertTrue(os.path.isfile("/etc/porter.conf"))
        self.assertTrue(os.path.isfile(mine))

        # Purged, with porter.d emptied meanwhile: nothing is left.
        os.unlink(mine)
        r = dpkg("--purge", "porter")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIsNone(status())
        left = [p for p in shipped if p not in existed and os.path.lexists(p)]
        self.assertEqual(left, [])
        self.assertFalse(os.path.lexists(WANTS))
        self.assertEqual(helper_state(), [])

    def check_installed(self, deb, shipped):
        r = subprocess.run(["dpkg", "-L", "porter"], capture_output=True, text=True, check=True)
        listed = {os.path.normpath(p) for p in r.stdout.split("\n") if p}
        self.assertEqual(listed, set(shipped))
        r = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "porter"],
                           capture_output=True, text=True, check=True)
        self.assertEqual([line.split()[0] for line in r.stdout.strip().splitlines()],
                         ["/etc/porter.conf"])
        self.assertEqual(os.listdir("/etc/porter.d"), [])

        version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        r = subprocess.run(["/usr/sbin/porterd", "-version"], capture_output=True, text=True)
        self.assertEqual(r.stdout, "porterd %s\n" % version)

        with open(UNIT) as f:
            unit = f.read()
        self.assertEqual(re.findall(r"^ExecStart=(.*)$", unit, re.M),
                         ["/usr/sbin/porterd -F -f /etc/porter.conf"])
        self.assertEqual(re.findall(r"^ExecStartPre=(.*)$", unit, re.M),
                         ["/usr/sbin/porterd -t -f /etc/porter.conf"])
        r = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # Enabled for the next boot; not started, since systemd is not
        # running here.
        self.assertEqual(os.readlink(WANTS), UNIT)

        # The check the unit runs before it starts porterd.
        r = subprocess.run(["/usr/sbin/porterd", "-t"], capture_output=True, text=True)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "configuration OK\n", ""))

    def check_runs(self):
        """The installed porterd, on the installed /etc/porter.conf, serves
        a service dropped in /etc/porter.d, as an administrator adds one."""
        port = free_ports(1)[0]
        svc = "/etc/porter.d/porter-test-echo"
        with open(svc, "w") as f:
            f.write("service echo\n{\n\tid          = porter-test-echo\n"
                    "\ttype        = INTERNAL UNLISTED\n\tport        = %d\n"
                    "\tbind        = 127.0.0.1\n\tsocket_type = stream\n"
                    "\twait        = no\n}\n" % port)
        self.addCleanup(lambda: os.path.lexists(svc) and os.unlink(svc))
        control = os.path.join(self.tmp, "control.sock")
        logpath = os.path.join(self.tmp, "porterd.log")
        with open(logpath, "wb") as log:
            proc = subprocess.Popen(["/usr/sbin/porterd", "-F", "-C", control],
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT)

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)

        def log():
            with open(logpath, errors="replace") as f:
                return f.read()
        wait_for(lambda: "started: 1 of 1 service listening" in log() or proc.poll() is not None, 10,
                 "porterd to start")
        self.assertIsNone(proc.poll(), log())
        self.assertEqual(converse(port, b"ping"), b"ping")
        r = subprocess.run(["/usr/sbin/porterctl", "-C", control, "status"],
                           capture_output=True, text=True, timeout=10 * SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("porter-test-echo", r.stdout)
        proc.send_signal(signal.SIGTERM)
        wait_for(lambda: proc.poll() is not None, 10, "porterd to stop")
        self.assertEqual(proc.returncode, 0, log())
        self.assertIn("START: porter-test-echo pid=0 from=127.0.0.1", log())
        os.unlink(svc)


if __name__ == "__main__":
    unittest.main()
