"""The sandbox of a spawned server: seccomp filters of system calls and
address families, the bounding set, no_new_privs. A hostile server tries
what the filter forbids; a plain service beside it keeps answering."""
import os
import re
import subprocess
import tempfile

from harness import PORTERD, PorterTest, converse

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))


def hostile(port, name, mode, extra):
    return """
service %s
{{
	type        = UNLISTED
	port        = {PORT%d}
	socket_type = stream
	wait        = no
	user        = root
	bind        = 127.0.0.1
	server      = %s/hostile
	server_args = %s
	log_on_success = PID EXIT
	%s
}}
""" % (name, port, HELPERS, mode, extra)


PLAIN = """
service echo
{{
	type        = INTERNAL UNLISTED
	id          = plain
	port        = {PORT3}
	socket_type = stream
	wait        = no
	bind        = 127.0.0.1
}}
"""

MODES = ("ptrace", "mount", "keyctl", "reboot")


class SeccompTest(PorterTest):
    def start_modes(self, extra):
        conf = "".join(hostile(i, m, m, extra) for i, m in enumerate(MODES[:3]))
        conf += hostile(4, MODES[3], MODES[3], extra) + PLAIN
        d = self.start(conf, nports=5)
        ports = {m: d.ports[i] for i, m in enumerate(MODES[:3])}
        ports["reboot"] = d.ports[4]
        return d, ports

    def assert_plain(self, d):
        self.assertEqual(converse(d.ports[3], b"still here\n"), b"still here\n")

    def test_killed_by_allow_list(self):
        # keyctl is in @system-service (its @keyring), as systemd.exec(5)
        # has it; a line of its own denies it here.
        d, ports = self.start_modes("system_call_filter = @system-service")
        for m in ("ptrace", "mount", "reboot"):
            out = converse(ports[m])
            self.assertNotIn(b"ok", out, m)
            self.assertNotIn(b"end", out, m)
            d.wait_log(r"EXIT: %s signal=31 pid=\d+ seccomp( syscall=%s)?$" % (m, m))
            self.assert_plain(d)
        # Unfiltered calls still work: keyctl answers with its errno.
        self.assertIn(b"end", converse(ports["keyctl"]))

    def test_exit_line_names_the_call(self):
        # The kernel writes the call into its log, at most 10 records in
        # 5 seconds for the whole machine: two kills here.
        if os.geteuid() != 0 or not os.access("/dev/kmsg", os.R_OK):
            self.skipTest("needs root and the kernel log")
        d = self.start(hostile(0, "trace", "ptrace", "system_call_filter = ~@debug") +
                       hostile(1, "boot", "reboot", "system_call_filter = ~@reboot") + PLAIN)
        self.assertEqual(converse(d.ports[0]), b"")
        self.assertEqual(converse(d.ports[1]), b"")
        d.wait_log(r"EXIT: trace signal=31 pid=\d+ seccomp syscall=ptrace$")
        d.wait_log(r"EXIT: boot signal=31 pid=\d+ seccomp syscall=reboot$")
        self.assert_plain(d)

    def test_keyring_denied(self):
        d = self.start(hostile(0, "keys", "keyctl", "system_call_filter = ~@keyring") + PLAIN)
        out = converse(d.port)
        self.assertEqual(out, b"")
        d.wait_log(r"EXIT: keys signal=31 pid=\d+ seccomp( syscall=keyctl)?$")
        self.assert_plain(d)

    def test_errno_instead(self):
        d, ports = self.start_modes(
            "system_call_filter = @system-service\n\tsystem_call_error = EPERM")
        for m in ("ptrace", "mount", "reboot"):
            self.assertEqual(converse(ports[m]), b"EPERM\nend\n", m)
            d.wait_log(r"EXIT: %s status=0 pid=\d+$" % m)
        self.assert_plain(d)

    def test_deny_list(self):
        d, ports = self.start_modes("system_call_filter = ~@mount")
        self.assertEqual(converse(ports["mount"]), b"")
        d.wait_log(r"EXIT: mount signal=31 pid=\d+ seccomp( syscall=mount)?$")
        # The rest is allowed: the kernel itself answers.
        self.assertEqual(converse(ports["reboot"]), b"EINVAL\nend\n")
        self.assertEqual(converse(ports["ptrace"]), b"ok\nend\n")
        self.assert_plain(d)

    def test_address_families(self):
        d = self.start(hostile(0, "inet", "socket-inet", "restrict_address_families = AF_UNIX")
                       + hostile(1, "deny6", "socket-inet",
                                 "restrict_address_families = ~AF_INET6")
                       + PLAIN)
        self.assertEqual(converse(d.ports[0]), b"EAFNOSUPPORT\nend\n")
        self.assertEqual(converse(d.ports[1]), b"ok\nend\n")
        self.assert_plain(d)

    def test_bounding_set(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        d = self.start(hostile(0, "caps", "caps", "capabilities = CAP_NET_BIND_SERVICE")
                       + hostile(1, "none", "caps", "capabilities =")
                       + hostile(2, "nobody", "caps",
                                 "capabilities = net_bind_service\n"
                                 "\tambient_capabilities = CAP_NET_BIND_SERVICE")
                       .replace("user        = root", "user = nobody")
                       + PLAIN)
        out = converse(d.ports[0]).decode()
        self.assertIn("CapBnd:\t%016x\n" % (1 << 10), out)
        self.assertIn("CapEff:\t%016x\n" % (1 << 10), out)
        out = converse(d.ports[1]).decode()
        self.assertIn("CapBnd:\t%016x\n" % 0, out)
        out = converse(d.ports[2]).decode()
        self.assertIn("CapBnd:\t%016x\n" % (1 << 10), out)
        self.assertIn("CapAmb:\t%016x\n" % (1 << 10), out)
        self.assertIn("CapEff:\t%016x\n" % (1 << 10), out)
        self.assert_plain(d)

    def test_no_new_privs(self):
        d = self.start(hostile(0, "nnp", "nnp", "no_new_privs = yes")
                       + hostile(1, "free", "nnp", "")
                       + hostile(2, "filtered", "nnp", "system_call_filter = ~@reboot")
                       + PLAIN)
        self.assertIn(b"NoNewPrivs:\t1\n", converse(d.ports[0]))
        self.assertIn(b"NoNewPrivs:\t0\n", converse(d.ports[1]))
        # A filter sets it too.
        out = converse(d.ports[2])
        self.assertIn(b"NoNewPrivs:\t1\n", out)
        self.assertIn(b"Seccomp:\t2\n", out)
        self.assert_plain(d)

    def test_dump(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "porter.conf")
            with open(path, "w") as f:
                f.write(("defaults\n{{\n\tno_new_privs = yes\n}}\n" +
                         hostile(0, "x", "nnp",
                                 "capabilities = net_bind_service cap_chown\n"
                                 "\tsystem_call_filter = ~ @mount reboot\n"
                                 "\tsystem_call_error = eacces\n"
                                 "\trestrict_address_families = AF_UNIX AF_INET"))
                        .format(PORT0=7999))
            t = subprocess.run([PORTERD, "-T", "-f", path], capture_output=True, text=True)
            self.assertEqual(t.returncode, 0, t.stderr)
            for line in (r"no_new_privs\s*= yes",
                         r"capabilities\s*= CAP_NET_BIND_SERVICE CAP_CHOWN",
                         r"system_call_filter\s*= ~@mount reboot",
                         r"system_call_error\s*= EACCES",
                         r"restrict_address_families\s*= AF_UNIX AF_INET"):
                self.assertTrue(re.search(line, t.stdout), (line, t.stdout))

    def test_check_errors(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "porter.conf")
            with open(path, "w") as f:
                f.write(hostile(0, "x", "nnp",
                                "system_call_filter = @system-service no_such_call\n"
                                "\tcapabilities = CAP_NET_BIND_SERVICE CAP_FLY\n"
                                "\trestrict_address_families = AF_UNIX @mount")
                        .format(PORT0=7999))
            t = subprocess.run([PORTERD, "-t", "-f", path], capture_output=True, text=True)
            self.assertEqual(t.returncode, 78, t.stdout + t.stderr)
            out = t.stdout + t.stderr
            self.assertIn('%s:13: system_call_filter: unknown system call or group '
                          '"no_such_call"' % path, out)
            self.assertIn('%s:14: capabilities: unknown capability "CAP_FLY"' % path, out)
            self.assertIn('%s:15: restrict_address_families: unknown address family '
                          '"@mount"' % path, out)
