"""-inetd_ipv6, which Debian's start-up script for xinetd passes along with
-inetd_compat. In Debian's xinetd before 2.3.15 it made the services of
inetd.conf listen on IPv6 as well; porterd's tcp lines do that already,
as xinetd 2.3.15's do, so it is accepted and changes nothing: a tcp line
answers on 127.0.0.1 and ::1 with it and without it, and tcp4 and tcp6
lines keep to their own family."""
import os
import shutil
import subprocess
import tempfile

from harness import PORTERD, PorterTest, converse, free_ports, refused, wait_for


class InetdIpv6Test(PorterTest):
    def inetd(self):
        """An inetd.conf of three servers on free ports, one for each
        family of tcp; returns its path and the ports."""
        tmp = tempfile.mkdtemp(prefix="porter-inetd-")
        self.addCleanup(shutil.rmtree, tmp, True)
        ports = free_ports(3)
        path = os.path.join(tmp, "inetd.conf")
        with open(path, "w") as f:
            for port, proto in zip(ports, ("tcp", "tcp4", "tcp6")):
                f.write("%d stream %s nowait root /bin/echo echo %s\n" % (port, proto, proto))
        return path, ports

    def serve(self, *flags):
        path, (both, four, six) = self.inetd()
        # The defaults of the main file reach inetd.conf's services too.
        d = self.start("defaults\n{{\n\tlog_on_success = HOST\n}}\n", nports=1,
                       args=("-i", path) + flags)
        for port in (both, four, six):
            d.wait_log(r"INFO: %d: listening on tcp " % port)
        self.assertEqual(converse(both, host="127.0.0.1"), b"tcp\n")
        self.assertEqual(converse(both, host="::1"), b"tcp\n")
        self.assertEqual(converse(four, host="127.0.0.1"), b"tcp4\n")
        self.assertTrue(wait_for(lambda: refused(four, host="::1"), what="tcp4 not on ::1"))
        self.assertEqual(converse(six, host="::1"), b"tcp6\n")
        self.assertTrue(wait_for(lambda: refused(six, host="127.0.0.1"),
                                 what="tcp6 not on 127.0.0.1"))
        d.wait_log(r"INFO: START: %d from=::1$" % both)
        d.wait_log(r"INFO: START: %d from=127\.0\.0\.1$" % both)

    def test_with_inetd_ipv6(self):
        self.serve("-inetd_ipv6")

    def test_without_it_the_same(self):
        self.serve()

    def test_reads_no_file_by_itself(self):
        """Without -inetd_compat or -i it reads no inetd.conf: a main file
        alone checks clean, whether or not /etc/inetd.conf exists."""
        tmp = tempfile.mkdtemp(prefix="porter-inetd-")
        self.addCleanup(shutil.rmtree, tmp, True)
        conf = os.path.join(tmp, "porter.conf")
        with open(conf, "w") as f:
            f.write("service echo\n{\n\ttype = INTERNAL UNLISTED\n\tport = 7\n"
                    "\tsocket_type = stream\n\twait = no\n}\n")
        r = subprocess.run([PORTERD, "-t", "-f", conf, "-inetd_ipv6"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "configuration OK\n", ""))
        r = subprocess.run([PORTERD, "-T", "-f", conf, "-inetd_ipv6"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("service "), 1, r.stdout)
