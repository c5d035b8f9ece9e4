"""An xinetd tree as distributions install it, served by `porterd -f`.

The test lays out, in its folder, what Red Hat and SUSE put in /etc: a
main xinetd.conf with a defaults entry and `includedir`, and one file per
service in xinetd.d, in the shape their packages ship them: the internal
echo and daytime services (TCP and UDP, as xinetd's own contrib files),
tftp (from tftp-server) and rsync (from Red Hat's rsync). The files are
served as they are, with only what an installation on this machine must
change:

- the services the test uses say `disable = no`, as an administrator
  enabling them writes (chargen stays disabled and must stay closed);
- each gets a free port, with `type ... UNLISTED` where the name's port
  in /etc/services would otherwise be required (xinetd requires it too);
- paths point into the test's folder (the tftp root, rsyncd.conf, and
  includedir);
- the defaults' `log_type` is the FILE alternative the file itself offers
  in a comment, instead of syslog, so that the test can read the lines.

No `bind`: like the distribution's, the services listen on every address,
IPv4 and IPv6 (`v6only = no` in the defaults), and clients on 127.0.0.1
must be logged as plain IPv4 addresses.
"""
import os
import re
import shutil
import subprocess
import tempfile

from interop import PORTERD, PorterTest, SLOW, free_ports, need, need_root, ok, run, wait_for

XINETD_CONF = """\
#
# The main xinetd configuration file: defaults for every service, then the
# services, one file each, from xinetd.d.

defaults
{{
# Quick switches for services:
#	enabled		=
#	disabled	=

# Logging; the old SUSE default was a file:
	log_type	= FILE {DIR}/log/xinetd.log
#	log_type	= SYSLOG daemon info
	log_on_failure	= HOST ATTEMPT
	log_on_success	= HOST EXIT DURATION

# Access restrictions
#	no_access	=
#	only_from	= localhost
#	max_load	= 0
	cps		= 50 10
	instances	= 30
	per_source	= 10

# Interface to serve on, when not all:
#	bind		= 127.0.0.1

# Networking
#	mdns		= yes
	v6only		= no

# Environment of the servers
#	passenv		=
	groups		= yes
	umask		= 002

# Banners
#	banner		=
#	banner_fail	=
#	banner_success	=
}}

includedir {DIR}/etc/xinetd.d
"""

# Each internal service file: (file name, service, id, socket_type,
# protocol, wait, listed port in the shipped file or None).
INTERNAL = [
    ("echo", "echo", "echo-stream", "stream", "tcp", "no", None),
    ("echo-udp", "echo", "echo-dgram", "dgram", "udp", "yes", 7),
    ("daytime", "daytime", "daytime-stream", "stream", "tcp", "no", None),
    ("daytime-udp", "daytime", "daytime-dgram", "dgram", "udp", "yes", 13),
    ("chargen", "chargen", "chargen-stream", "stream", "tcp", "no", None),
]


def internal_file(service, sid, socket_type, protocol, wait, port):
    """An internal service's file as the distributions ship it: disabled,
    and with `type = INTERNAL UNLISTED` and the port when the shipped file
    has them."""
    text = ("# default: off\n# description: the %s service, %s version.\n\n"
            "service %s\n{{\n" % (service, protocol, service))
    text += "\ttype\t\t= INTERNAL%s\n" % (" UNLISTED" if port else "")
    text += "\tid\t\t= %s\n\tsocket_type\t= %s\n\tprotocol\t= %s\n" % (sid, socket_type,
                                                                       protocol)
    text += "\tuser\t\t= root\n\twait\t\t= %s\n\tdisable\t\t= yes\n" % wait
    if port:
        text += "\tport\t\t= %d\n" % port
    return text + "}}\n"


TFTP = """\
# default: off
# description: The tftp server serves files with the trivial file transfer \\
#	protocol, which diskless machines, printers and installers use.
service tftp
{{
	socket_type		= dgram
	protocol		= udp
	wait			= yes
	user			= root
	server			= /usr/sbin/in.tftpd
	server_args		= -s /var/lib/tftpboot
	disable			= yes
	per_source		= 11
	cps			= 100 2
	flags			= IPv4
}}
"""

RSYNC = """\
# default: off
# description: The rsync server, a good companion of an ftp server: it \\
#	checksums what it sends.
service rsync
{{
	disable	= yes
	flags		= IPv6
	socket_type     = stream
	wait            = no
	user            = root
	server          = /usr/bin/rsync
	server_args     = --daemon
	log_on_failure  += USERID
}}
"""

RSYNCD_CONF = """\
uid = nobody
gid = nogroup
use chroot = yes
log file = {DIR}/log/rsyncd.log

[files]
	path = {DIR}/srv/rsync
	comment = the test's files
	read only = yes
"""


def enable(text):
    return re.sub(r"(?m)^(\s*disable\s*=\s*)yes\s*$", r"\1no", text)


def at_port(text, port):
    """Gives the service a port (the placeholder {PORTn}): replaces the
    shipped one, or adds it together with UNLISTED in type."""
    if re.search(r"(?m)^\s*port\s*=", text):
        return re.sub(r"(?m)^(\s*port\s*=\s*)\d+\s*$", r"\g<1>" + port, text)
    if re.search(r"(?m)^\s*type\s*=", text):
        text = re.sub(r"(?m)^(\s*type\s*=.*?)\s*$", r"\1 UNLISTED", text)
    else:
        text = text.replace("{{\n", "{{\n\ttype\t\t= UNLISTED\n", 1)
    return text.replace("}}\n", "\tport\t\t= %s\n}}\n" % port, 1)


class XinetdTreeTest(PorterTest):
    def setUp(self):
        need(self, "/usr/sbin/in.tftpd", "tftp", "/usr/bin/rsync", "socat", "nc")
        need_root(self, "the servers run as root and nobody")
        self.top = tempfile.mkdtemp(prefix="porter-xinetd-")
        os.chmod(self.top, 0o755)
        self.addCleanup(shutil.rmtree, self.top, True)
        self.ports = free_ports(7)
        files, self.port = self.layout()
        subst = {"DIR": self.top}
        subst.update(("PORT%d" % i, str(p)) for i, p in enumerate(self.ports))
        for name, text in files.items():
            path = os.path.join(self.top, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text.format(**subst))
        self.main = os.path.join(self.top, "etc", "xinetd.conf")
        self.log = os.path.join(self.top, "log", "xinetd.log")

    def layout(self):
        """The files of the tree, and the port each service got."""
        files = {"etc/xinetd.conf": XINETD_CONF, "log/.keep": "",
                 "etc/rsyncd.conf": RSYNCD_CONF,
                 "srv/rsync/readme.txt": "served by rsync --daemon from an xinetd.d file\n",
                 "tftpboot/boot.txt": "a file for a diskless machine\n" * 1000}
        slots = {"echo": 0, "daytime": 1, "chargen": 2, "tftp": 3, "rsync": 4}
        port = {}
        for name, service, sid, st, proto, wait, listed in INTERNAL:
            text = internal_file(service, sid, st, proto, wait, listed)
            if service != "chargen":
                text = enable(text)
            port[service] = slots[service]
            files["etc/xinetd.d/" + name] = at_port(text, "{PORT%d}" % slots[service])
        port["tftp"], port["rsync"] = slots["tftp"], slots["rsync"]
        files["etc/xinetd.d/tftp"] = at_port(enable(TFTP).replace(
            "/var/lib/tftpboot", "{DIR}/tftpboot"), "{PORT3}")
        files["etc/xinetd.d/rsync"] = at_port(enable(RSYNC).replace(
            "--daemon", "--daemon --config={DIR}/etc/rsyncd.conf"), "{PORT4}")
        return files, {k: self.ports[v] for k, v in port.items()}

    def lines(self, rx):
        with open(self.log) as f:
            return re.findall(rx, f.read(), re.M)

    def test_check_then_serve(self):
        # porterd -t: the tree is accepted. The one warning is about
        # per_source in the tftp file, which means nothing for wait = yes.
        r = subprocess.run([PORTERD, "-t", "-f", self.main], capture_output=True, text=True,
                           timeout=30 * SLOW)
        self.assertEqual((r.returncode, r.stdout), (0, "configuration OK\n"), r)
        for line in r.stderr.splitlines():
            self.assertRegex(line, r"xinetd\.d/tftp:\d+: warning: .*per_source", r.stderr)

        # Serve it. The harness's own configuration file comes first on
        # the command line and the tree's main file last: the last -f wins.
        d = self.start("", args=("-f", self.main))
        port = self.port
        text = d.text()
        for sid, proto in (("echo-stream", "tcp"), ("echo-dgram", "udp"),
                           ("daytime-stream", "tcp"), ("daytime-dgram", "udp"),
                           ("tftp", "udp"), ("rsync", "tcp")):
            self.assertRegex(text, r"%s: listening on %s " % (sid, proto), text)
        self.assertNotIn("chargen", text)

        # The internal services.
        data = b"through the distribution's echo file\n" * 100
        r = run(["socat", "-", "TCP:127.0.0.1:%d" % port["echo"]], input=data)
        ok(self, r, d)
        self.assertEqual(r.stdout, data)
        r = run(["socat", "-", "UDP:127.0.0.1:%d" % port["echo"]], input=b"udp echo\n")
        ok(self, r, d)
        self.assertEqual(r.stdout, b"udp echo\n")
        r = run(["nc", "127.0.0.1", str(port["daytime"])])
        ok(self, r, d)
        self.assertRegex(r.stdout.decode(), r"\b20\d\d\b")
        # Over IPv6 too: v6only = no made the sockets dual-stack.
        r = run(["nc", "::1", str(port["daytime"])])
        ok(self, r, d)
        self.assertRegex(r.stdout.decode(), r"\b20\d\d\b")
        # chargen is disabled: nothing listens on its port.
        r = run(["nc", "-z", "127.0.0.1", str(port["chargen"])])
        self.assertNotEqual(r.returncode, 0, "something answers on the disabled chargen's port")

        # tftp and rsync, as their packages configured them.
        client = tempfile.mkdtemp(prefix="porter-xinetd-client-")
        self.addCleanup(shutil.rmtree, client, True)
        ok(self, run(["tftp", "-m", "binary", "127.0.0.1", str(port["tftp"]), "-c", "get",
                      "boot.txt"], cwd=client), d)
        with open(os.path.join(client, "boot.txt")) as f:
            self.assertEqual(f.read(), "a file for a diskless machine\n" * 1000)
        r = run(["rsync", "rsync://127.0.0.1:%d/" % port["rsync"]])
        ok(self, r, d)
        self.assertRegex(r.stdout.decode(), r"(?m)^files\s+the test's files$")
        ok(self, run(["rsync", "-a", "rsync://127.0.0.1:%d/files/" % port["rsync"],
                      client + "/rsync/"]), d)
        with open(os.path.join(client, "rsync", "readme.txt")) as f:
            self.assertEqual(f.read(), "served by rsync --daemon from an xinetd.d file\n")

        # The service lines went to the defaults' log file, in xinetd's
        # format for HOST EXIT DURATION (no PID), clients as plain IPv4.
        stamp = r"^\d\d/\d+/\d+@\d\d:\d\d:\d\d: "
        wait_for(lambda: len(self.lines(stamp + r"EXIT: rsync ")) == 2, 10, "rsync EXIT lines")
        self.assertEqual(len(self.lines(stamp + r"START: echo-stream from=127\.0\.0\.1$")), 1)
        self.assertEqual(len(self.lines(stamp + r"START: daytime-stream from=127\.0\.0\.1$")),
                         1)
        self.assertEqual(len(self.lines(stamp + r"START: daytime-stream from=::1$")), 1)
        self.assertEqual(len(self.lines(stamp + r"START: rsync from=127\.0\.0\.1$")), 2)
        # rsync --daemon ends a module listing with 255, a transfer with 0.
        self.assertEqual(self.lines(stamp + r"EXIT: rsync status=(\d+) duration=\d+\(sec\)$"),
                         ["255", "0"])
        self.assertEqual(len(self.lines(stamp + r"START: tftp from=127\.0\.0\.1$")), 1)
        self.assertEqual(self.lines(r"FAIL: "), [])

        # in.tftpd, without --timeout, stays fifteen minutes for more
        # requests: porterd ends it when it stops, and logs its end.
        d.stop()
        self.assertEqual(self.lines(stamp + r"EXIT: tftp (\w+=\d+) duration=\d+\(sec\)$"),
                         ["signal=15"])
