"""What porterd logs: the per-service START, EXIT and FAIL lines in
xinetd's formats, log_type = FILE with its limits and reopening, where
the daemon's own messages go, and the name they go under."""
import calendar
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

from harness import PORTERD, PorterTest, converse, wait_for, entry, children

# xinetd's stamp: two-digit year, month and day not padded.
STAMP = r"(\d\d)/(\d{1,2})/(\d{1,2})@(\d\d):(\d\d):(\d\d)"

SCRIPTS = {
    "ok.sh": "#!/bin/sh\necho pid=$$\n",
    "status3.sh": "#!/bin/sh\necho pid=$$\nexit 3\n",
    "kill9.sh": "#!/bin/sh\necho pid=$$\nkill -9 $$\n",
    # The script exists; its interpreter does not: execve fails (ENOENT).
    "bad.sh": "#!/nonexistent/interp\necho never\n",
}


def spawn(sid, port, script="ok.sh", extra=""):
    """A spawned stream service running {DIR}/script."""
    return entry(sid, extra, type="UNLISTED", port=port, socket_type="stream", wait="no",
                 user="root", server="{DIR}/" + script, bind="127.0.0.1")


def server_pid(data):
    m = re.fullmatch(rb"pid=(\d+)\n", data)
    assert m, data
    return int(m.group(1))


def check_stamp(test, groups):
    """The stamp is now (porterd runs with TZ=UTC) and unpadded where
    xinetd does not pad."""
    yy, mo, dd, hh, mi, ss = (int(g) for g in groups)
    t = calendar.timegm((2000 + yy, mo, dd, hh, mi, ss))
    test.assertLess(abs(t - time.time()), 5, groups)
    test.assertEqual("/".join(groups[:3]), "%02d/%d/%d" % (yy, mo, dd))


class LoggingTest(PorterTest):
    def start(self, conf, **kw):
        kw.setdefault("files", SCRIPTS)
        env = {"TZ": "UTC"}
        env.update(kw.pop("env", {}))
        return super().start(conf, env=env, **kw)

    def daemon_line(self, d, msg):
        """The regex of one whole line porterd writes to its stderr."""
        return r"^%s porterd\[%d\]: %s$" % (STAMP, d.proc.pid, msg)

    def settle(self, d):
        """Every server has been reaped, so every EXIT line is written."""
        wait_for(lambda: children(d.proc.pid) == [], what="porterd's children reaped")

    def lines_of(self, d, sid):
        rx = re.compile(r": (START|EXIT|FAIL): %s( |$)" % re.escape(sid))
        return [l for l in d.text().splitlines() if rx.search(l)]

    def test_start_exit_formats(self):
        combos = [
            ("s-all", "PID HOST EXIT DURATION",
             [r"START: s-all pid={pid} from=127\.0\.0\.1",
              r"EXIT: s-all status=0 pid={pid} duration=\d+\(sec\)"]),
            ("s-pid", "PID", [r"START: s-pid pid={pid}"]),
            ("s-host", "HOST", [r"START: s-host from=127\.0\.0\.1"]),
            ("s-exit", "EXIT", [r"START: s-exit", r"EXIT: s-exit status=0"]),
            ("s-duration", "DURATION",
             [r"START: s-duration", r"EXIT: s-duration duration=\d+\(sec\)"]),
            ("s-pidexit", "PID EXIT",
             [r"START: s-pidexit pid={pid}", r"EXIT: s-pidexit status=0 pid={pid}"]),
            ("s-none", "", []),
        ]
        conf = "".join(spawn(sid, "{PORT%d}" % i, extra="log_on_success = " + what)
                       for i, (sid, what, _) in enumerate(combos))
        d = self.start(conf, nports=len(combos))
        pids = {}
        for i, (sid, _, _) in enumerate(combos):
            pids[sid] = server_pid(converse(d.ports[i]))
        for sid, _, want in combos:
            for w in want:
                d.wait_log(self.daemon_line(d, "INFO: " + w.format(pid=pids[sid])))
        self.settle(d)
        for sid, _, want in combos:
            got = self.lines_of(d, sid)
            self.assertEqual(len(got), len(want), "%s: %s" % (sid, got))
            for line, w in zip(got, want):
                self.assertRegex(line, self.daemon_line(d, "INFO: " + w.format(pid=pids[sid])))

    def test_exit_status_and_signal(self):
        full = "log_on_success = PID HOST EXIT DURATION"
        d = self.start(spawn("st", "{PORT0}", "status3.sh", full) +
                       spawn("sig", "{PORT1}", "kill9.sh", full))
        p = server_pid(converse(d.ports[0]))
        d.wait_log(self.daemon_line(d, r"INFO: EXIT: st status=3 pid=%d duration=\d+\(sec\)" % p))
        p = server_pid(converse(d.ports[1]))
        d.wait_log(self.daemon_line(d, r"INFO: EXIT: sig signal=9 pid=%d duration=\d+\(sec\)" % p))

    def test_exec_failure(self):
        full = "log_on_success = PID HOST EXIT DURATION"
        d = self.start(spawn("bad", "{PORT0}", "bad.sh", full + "\n\tlog_on_failure = HOST") +
                       spawn("bad2", "{PORT1}", "bad.sh", full + "\n\tlog_on_failure = ATTEMPT"))
        self.assertEqual(converse(d.ports[0]), b"")
        d.wait_log(self.daemon_line(d, r"WARNING: bad: exec %s: No such file or directory" %
                                    re.escape(os.path.join(d.dir, "bad.sh"))))
        d.wait_log(self.daemon_line(d, r"INFO: FAIL: bad exec from=127\.0\.0\.1"))
        self.assertEqual(converse(d.ports[1]), b"")
        d.wait_log(self.daemon_line(d, r"INFO: FAIL: bad2 exec"))
        self.settle(d)
        # An exec failure is no start and no exit.
        self.assertEqual(d.count_log(r"(START|EXIT): bad"), 0, d.text())
        self.assertEqual(d.count_log(r"FAIL: bad "), 1, d.text())
        self.assertEqual(d.count_log(r"FAIL: bad2"), 1, d.text())

    def test_long_service_id(self):
        """A 300-character id is longer than the line buffers porterd once
        had: the START and EXIT lines are still written whole."""
        sid = "long-" + "x" * 295
        full = "log_on_success = PID HOST EXIT DURATION"
        d = self.start(spawn(sid, "{PORT0}", extra=full))
        p = server_pid(converse(d.port))
        d.wait_log(self.daemon_line(d, r"INFO: START: %s pid=%d from=127\.0\.0\.1" % (sid, p)))
        d.wait_log(self.daemon_line(d, r"INFO: EXIT: %s status=0 pid=%d duration=\d+\(sec\)" %
                                    (sid, p)))

    def test_overlong_line_is_cut(self):
        """A line longer than porterd's 2048 bytes (here: a 3000-character
        id) is cut and says so: text ends with [cut], JSON closes the string
        and adds "cut": true, so it is still one valid object."""
        tid, jid = "t" * 3000, "j" * 3000
        log = "log_on_success = PID HOST"
        d = self.start(spawn(tid, "{PORT0}", extra=log) +
                       spawn(jid, "{PORT1}", extra=log + "\n\tlog_type = FILE {DIR}/j.log json"))
        converse(d.ports[0])
        m = d.wait_log(self.daemon_line(d, r"INFO: START: (t+)\[cut\]"))
        self.assertLessEqual(len(m.group(0).split("INFO: ", 1)[1]), 2048 + len("[cut]"))
        self.assertGreater(len(m.group(7)), 1900)
        converse(d.ports[1])
        path = os.path.join(d.dir, "j.log")
        wait_for(lambda: self.file_lines(path), what="the JSON START line")
        line, = self.file_lines(path)
        self.assertLessEqual(len(line), 2048 + len('","cut":true}'))
        rec = json.loads(line)
        self.assertEqual(sorted(rec), ["cut", "event", "service", "time"], line)
        self.assertIs(rec["cut"], True)
        self.assertEqual(rec["event"], "START")
        self.assertTrue(jid.startswith(rec["service"]), line)
        self.assertGreater(len(rec["service"]), 1900)

    def file_lines(self, path):
        try:
            with open(path) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait_file(self, path, pattern):
        rx = re.compile(pattern)

        def found():
            return [m for m in map(rx.fullmatch, self.file_lines(path)) if m]
        return wait_for(found, what="%r in %s" % (pattern, path))[0]

    def test_log_type_file(self):
        d = self.start(spawn("f", "{PORT0}", extra="log_type = FILE {DIR}/svc.log\n"
                             "\tlog_on_success = PID HOST EXIT DURATION"))
        path = os.path.join(d.dir, "svc.log")
        p = server_pid(converse(d.port))
        m = self.wait_file(path, r"%s: START: f pid=%d from=127\.0\.0\.1" % (STAMP, p))
        check_stamp(self, m.groups())
        m = self.wait_file(path, r"%s: EXIT: f status=0 pid=%d duration=\d+\(sec\)" % (STAMP, p))
        check_stamp(self, m.groups())
        self.assertEqual(len(self.file_lines(path)), 2, self.file_lines(path))
        # Not in the daemon's log as well.
        self.assertEqual(d.count_log(r"(START|EXIT): f "), 0, d.text())

    def test_log_file_link_is_not_followed(self):
        # A link where a service's log file goes: porterd, as root, must
        # not append through it to the file it points at.
        d = self.start(spawn("f", "{PORT0}", extra="log_type = FILE {DIR}/svc.log\n"
                             "\tlog_on_success = PID HOST"))
        target = os.path.join(d.dir, "target")
        with open(target, "w") as f:
            f.write("keep\n")
        os.symlink(target, os.path.join(d.dir, "svc.log"))
        converse(d.port)
        d.wait_log(r"log file %s: Too many levels of symbolic links"
                   % re.escape(os.path.join(d.dir, "svc.log")))
        with open(target) as f:
            self.assertEqual(f.read(), "keep\n")

    def test_log_file_reopened_on_sighup(self):
        d = self.start(spawn("f", "{PORT0}", extra="log_type = FILE {DIR}/svc.log\n"
                             "\tlog_on_success = PID EXIT"))
        path = os.path.join(d.dir, "svc.log")
        p1 = server_pid(converse(d.port))
        self.wait_file(path, r"%s: EXIT: f status=0 pid=%d" % (STAMP, p1))
        os.rename(path, path + ".1")
        d.reload()
        p2 = server_pid(converse(d.port))
        self.wait_file(path, r"%s: START: f pid=%d" % (STAMP, p2))
        self.wait_file(path, r"%s: EXIT: f status=0 pid=%d" % (STAMP, p2))
        old = self.file_lines(path + ".1")
        self.assertEqual(len(old), 2, old)
        self.assertTrue(all(("pid=%d" % p1) in l for l in old), old)
        self.assertTrue(all(("pid=%d" % p2) in l for l in self.file_lines(path)))

    def test_log_file_limits(self):
        d = self.start(spawn("h", "{PORT0}", extra="log_type = FILE {DIR}/svc.log 100 300\n"
                             "\tlog_on_success = PID HOST") +
                       spawn("barrier", "{PORT1}", extra="log_on_success = PID"))
        path = os.path.join(d.dir, "svc.log")
        hard = (r"WARNING: log file %s reached its hard limit of 300 bytes; no more lines are "
                r"written to it" % re.escape(path))
        soft = r"WARNING: log file %s is over its soft limit of 100 bytes" % re.escape(path)
        made = 0
        while d.count_log(hard) == 0:
            self.assertLess(made, 40, "no hard limit warning:\n" + d.text())
            converse(d.port)
            made += 1
        for i in range(3):
            converse(d.port)
            made += 1
        # Porterd handled every connection above before this one.
        p = server_pid(converse(d.ports[1]))
        d.wait_log(r"INFO: START: barrier pid=%d$" % p)
        self.assertEqual(d.count_log(self.daemon_line(d, soft)), 1, d.text())
        self.assertEqual(d.count_log(self.daemon_line(d, hard)), 1, d.text())
        with open(path, "rb") as f:
            data = f.read()
        lines = data.decode().splitlines(keepends=True)
        for l in lines:
            self.assertRegex(l, r"^%s: START: h pid=\d+ from=127\.0\.0\.1\n$" % STAMP)
        # Lines are written while the file is below the hard limit, and
        # not one after.
        self.assertGreaterEqual(len(data), 300)
        self.assertLess(len(data) - len(lines[-1]), 300)
        self.assertLess(len(lines), made)

    def test_filelog_option(self):
        tmp = tempfile.mkdtemp(prefix="porter-filelog-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "porterd.log")
        d = self.start(spawn("s", "{PORT0}", extra="log_on_success = PID"),
                       args=("-filelog", path), ready=False)
        rx = r"%s porterd\[%d\]: %%s" % (STAMP, d.proc.pid)
        m = self.wait_file(path, rx % r"INFO: porterd \S+ started: 1 of 1 service listening")
        check_stamp(self, m.groups()[:6])
        self.wait_file(path, rx % r"INFO: s: listening on tcp 127\.0\.0\.1 port %d" % d.port)
        p = server_pid(converse(d.port))
        self.wait_file(path, rx % r"INFO: START: s pid=%d" % p)
        d.send(signal.SIGTERM)
        self.wait_file(path, rx % r"INFO: stopped")
        self.assertEqual(d.proc.wait(10), 0)
        # Nothing on stderr.
        self.assertEqual(d.text(), "")

    def test_daemon_logs_to_stderr_in_foreground(self):
        d = self.start(spawn("s", "{PORT0}"))
        m = d.wait_log(self.daemon_line(d, r"INFO: porterd \S+ started: 1 of 1 service listening"))
        check_stamp(self, m.groups())
        d.wait_log(self.daemon_line(d, r"INFO: s: listening on tcp 127\.0\.0\.1 port %d" % d.port))
        self.assertEqual(d.stop(), 0)
        # (count_log: the harness's wait_log does not take anchored
        # patterns once porterd has exited.)
        self.assertEqual(d.count_log(self.daemon_line(d, r"INFO: stopping")), 1, d.text())
        self.assertEqual(d.count_log(self.daemon_line(d, r"INFO: stopped")), 1, d.text())

    def test_syslog_ident(self):
        """-syslog_ident NAME: the name of porterd's own lines, as in
        syslog (tests/interop/test_fail2ban.py), so that parsers written for
        xinetd find its FAIL lines; the service lines themselves keep their
        words."""
        d = self.start(spawn("s", "{PORT0}", extra="only_from = 127.0.0.2\n"
                             "\tlog_on_failure = HOST"), args=("-syslog_ident", "xinetd"))
        d.wait_log(r"^%s xinetd\[%d\]: INFO: porterd \S+ started: 1 of 1 service listening$" %
                   (STAMP, d.proc.pid))
        self.assertEqual(converse(d.port), b"")
        d.wait_log(r"^%s xinetd\[%d\]: INFO: FAIL: s address from=127\.0\.0\.1$" %
                   (STAMP, d.proc.pid))
        self.assertEqual(d.count_log(r"porterd\["), 0, d.text())

    def test_syslog_ident_in_filelog(self):
        tmp = tempfile.mkdtemp(prefix="porter-filelog-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "porterd.log")
        d = self.start(spawn("s", "{PORT0}", extra="log_on_success = PID"),
                       args=("-filelog", path, "-syslog_ident", "in.porter_2"), ready=False)
        rx = r"%s in\.porter_2\[%d\]: %%s" % (STAMP, d.proc.pid)
        self.wait_file(path, rx % r"INFO: porterd \S+ started: 1 of 1 service listening")
        p = server_pid(converse(d.port))
        self.wait_file(path, rx % r"INFO: START: s pid=%d" % p)
        self.assertEqual([l for l in self.file_lines(path) if "porterd[" in l], [])

    def test_syslog_ident_must_be_a_tag(self):
        """A name that would not read back as one word before "[PID]: " is
        a usage error, as -t shows."""
        tmp = tempfile.mkdtemp(prefix="porter-ident-")
        self.addCleanup(shutil.rmtree, tmp, True)
        conf = os.path.join(tmp, "porter.conf")
        with open(conf, "w") as f:
            f.write("service echo\n{\n\ttype = INTERNAL UNLISTED\n\tport = 7\n"
                    "\tsocket_type = stream\n\twait = no\n}\n")

        def check(*args):
            return subprocess.run([PORTERD, "-t", "-f", conf] + list(args),
                                  capture_output=True, text=True, timeout=30)
        for good in ("xinetd", "x" * 32, "in.telnetd", "a-b_c/1"):
            r = check("-syslog_ident", good)
            self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "configuration OK\n", ""))
        for bad in ("", "two words", "tab\tx", "a:b", "a[1]", "a]", "x" * 33, "\u00e9t\u00e9",
                    "bell\x07"):
            r = check("-syslog_ident", bad)
            self.assertEqual(r.returncode, 64, (bad, r.stdout, r.stderr))
            self.assertEqual(r.stderr,
                             "porterd: -syslog_ident needs 1 to 32 printable characters without "
                             "blanks, ':', '[' or ']', not \"%s\"\n" % bad)
        r = check("-syslog_ident")
        self.assertEqual(r.returncode, 64)
        self.assertIn("porterd: option -syslog_ident needs an argument", r.stderr)
