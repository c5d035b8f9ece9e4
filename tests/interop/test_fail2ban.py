"""fail2ban (Debian's) reading what porterd logs.

The filter and jail of examples/fail2ban/ are run by fail2ban-regex over
the lines a real porterd wrote for real clients on loopback, in each place
porterd writes them: its own log file (-filelog), a service's log_type =
FILE, the JSON form of that file, and syslog. Debian's own xinetd-fail
filter, unchanged, reads the syslog lines of porterd -syslog_ident xinetd.

Clients refused for their address (only_from, no_access, hosts.deny) must
be found, IPv4 and IPv6, each with the time of its own line; clients over
a limit of their own address (per_source, per_source_cps) only in the
filter's aggressive mode; and nothing else: not the lines of clients that
were served, not refusals that are no client's fault, and not an ident
answer written to look like a FAIL line.

For syslog, porterd runs in a mount namespace of its own whose /dev/log is
a socket of the test's (the machine's /dev/log is not touched), and whose
/etc/hosts.deny is the test's; the test writes each datagram as a syslog
daemon writes it to /var/log/daemon.log.
"""
import ast
import ctypes
import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time

from interop import ROOT, SLOW, PorterTest, need, need_root, run, wait_for

import harness
from harness import entry

EXAMPLE = os.path.join(ROOT, "examples", "fail2ban")
DEBIAN = "/etc/fail2ban"

# The client whose ident server answers with text that imitates FAIL lines.
IDENT_CLIENT = "127.0.0.113"
FORGED = "x FAIL: acl address from=203.0.113.7"

# Who is refused, and why: (service, source, destination, reason).
ADDRESS = [("acl", "127.0.0.2", "127.0.0.1", "address"),
           ("acl", "127.0.0.3", "127.0.0.1", "address"),
           ("acl", None, "::1", "address"),
           ("noacc", "127.0.0.4", "127.0.0.1", "address")]
LIBWRAP = [("noacc", "127.0.0.10", "127.0.0.1", "libwrap")]
PER_SOURCE = ["127.0.0.5", "127.0.0.6"]   # per_source_limit, per_source_rate

SCRIPTS = {"bad.sh": "#!/nonexistent/interp\necho never\n"}


def hm(minutes):
    minutes %= 1440
    return "%d:%02d" % (minutes // 60, minutes % 60)


def config(log_type=None):
    """Every kind of FAIL line, each service on its own port: refusals for
    the address, the per-address limits, limits on every client (time,
    instances), a server that cannot run, and a served client whose ident
    answer imitates a FAIL line."""
    # porterd runs with TZ=UTC.
    t = time.gmtime()
    now = t.tm_hour * 60 + t.tm_min
    # The rest of the day but seven minutes around now: a minute turning
    # over during the test changes nothing.
    closed = "%s-%s" % (hm(now + 3), hm(now - 3))
    defaults = ["log_on_success = PID HOST EXIT", "log_on_failure = HOST"]
    if log_type:
        defaults.append("log_type = " + log_type)
    text = "defaults\n{{\n" + "".join("\t%s\n" % d for d in defaults) + "}}\n"

    def builtin(sid, port, extra=""):
        return entry("daytime", extra, id=sid, type="INTERNAL UNLISTED", port=port,
                     socket_type="stream", wait="no")

    def cat(sid, port, extra=""):
        return entry("cat-" + sid, extra, id=sid, type="UNLISTED", port=port,
                     socket_type="stream", wait="no", user="root", server="/bin/cat")
    # No bind: dual stack, so that ::1 reaches the service too.
    text += builtin("acl", "{PORT0}", "only_from = 127.0.0.1")
    text += builtin("noacc", "{PORT1}", "no_access = 127.0.0.4")
    text += cat("ps", "{PORT2}", "per_source = 1")
    text += builtin("rate", "{PORT3}", "per_source_cps = 1 1")
    text += cat("inst", "{PORT4}", "instances = 1")
    text += builtin("shut", "{PORT5}", "access_times = " + closed)
    text += entry("bad", "", type="UNLISTED", port="{PORT6}", socket_type="stream",
                  wait="no", user="root", server="{DIR}/bad.sh")
    text += builtin("who", "{PORT7}", "log_on_success += USERID")
    return text


class Identd:
    """An RFC 1413 server for IDENT_CLIENT: one answer, the forged text."""

    def __init__(self, test):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

        def bound():
            # Another suite's ident server may hold the port for a moment.
            try:
                self.sock.bind((IDENT_CLIENT, 113))
                return True
            except OSError:
                return False
        wait_for(bound, 30, "port 113 on " + IDENT_CLIENT, interval=0.2)
        self.sock.listen(4)
        self.sock.settimeout(30 * SLOW)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        test.addCleanup(self.close)

    def serve(self):
        try:
            c, _ = self.sock.accept()
        except OSError:
            return
        with c:
            c.settimeout(10 * SLOW)
            q = b""
            while not q.endswith(b"\n") and len(q) < 256:
                b = c.recv(256)
                if not b:
                    return
                q += b
            m = re.match(rb"(\d+) , (\d+)\r\n$", q)
            if m:
                c.sendall(b"%s , %s : USERID : UNIX : %s\r\n" % (m.group(1), m.group(2),
                                                                 FORGED.encode()))

    def close(self):
        try:
            # Wakes the accept() of a query that never came.
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.thread.join(10)


CLONE_NEWNS = 0x20000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000


def private_dirs(base, dirs):
    """A preexec function that gives porterd a mount namespace of its own
    in which each directory of dirs (/dev, /etc) is a fresh one holding
    links to everything the real one holds, except the names dirs maps: a
    str is the target of a link, bytes the content of a file. The real
    directories are bound under base first; nothing outside the namespace
    changes. libc is loaded here, before the fork."""
    libc = ctypes.CDLL(None, use_errno=True)
    real = {}
    for d in dirs:
        real[d] = os.path.join(base, "real" + d.replace("/", "-"))
        os.makedirs(real[d], exist_ok=True)

    def check(rc, what):
        if rc != 0:
            raise OSError(ctypes.get_errno(), what)

    def setup():
        check(libc.unshare(CLONE_NEWNS), "unshare")
        check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        for d, names in dirs.items():
            check(libc.mount(d.encode(), real[d].encode(), None, MS_BIND | MS_REC, None),
                  "mount --rbind " + d)
            check(libc.mount(b"tmpfs", d.encode(), b"tmpfs", 0, b"mode=0755"),
                  "mount tmpfs " + d)
            for n in os.listdir(real[d]):
                if n not in names:
                    os.symlink(os.path.join(real[d], n), os.path.join(d, n))
            for n, what in names.items():
                if isinstance(what, bytes):
                    with open(os.path.join(d, n), "wb") as f:
                        f.write(what)
                else:
                    os.symlink(what, os.path.join(d, n))
    return setup


def can_private_dirs(base):
    if os.geteuid() != 0:
        return False
    setup = private_dirs(base, {"/dev": {"log": "/nonexistent"}})
    pid = os.fork()
    if pid == 0:
        try:
            setup()
            os._exit(0 if os.path.exists("/dev/null") else 1)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


class Syslogd:
    """A syslog daemon in a thread: reads datagrams on a Unix socket and
    keeps them as the lines rsyslog writes, "Mmm dd hh:mm:ss HOST TAG: msg",
    with their priorities."""

    def __init__(self, test, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.lines = []
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()
        test.addCleanup(self.close)

    def serve(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if data == b"stop":
                return
            m = re.match(rb"<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (.*)$", data.rstrip(b"\n"),
                         re.S)
            with self.lock:
                if m is None:
                    self.lines.append((None, "unparsed: %r" % data))
                    continue
                self.lines.append((int(m.group(1)), "%s porter-test %s" % (
                    m.group(2).decode(), m.group(3).decode("utf-8", "replace"))))

    def text(self):
        with self.lock:
            return "".join(l + "\n" for _, l in self.lines)

    def priorities(self, pattern):
        """The priorities of the lines that match pattern."""
        with self.lock:
            return {p for p, l in self.lines if re.search(pattern, l)}

    def close(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.sendto(b"stop", self.sock.getsockname())
        except OSError:
            pass
        s.close()
        self.thread.join(10)
        self.sock.close()


def stamp_of(line, t):
    """The stamp that line begins with, and the same instant t written in
    that form, so that a date fail2ban read can be compared to it. Every
    stamp is in UTC: porterd runs with TZ=UTC."""
    tm = time.gmtime(t)
    m = re.match(r'\{"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)', line)
    if m:
        return m.group(1), time.strftime("%Y-%m-%dT%H:%M:%S", tm)
    m = re.match(r"(\d\d/\d{1,2}/\d{1,2}@\d\d:\d\d:\d\d)", line)
    if m:
        return m.group(1), "%02d/%d/%d@%02d:%02d:%02d" % (
            tm.tm_year % 100, tm.tm_mon, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
    m = re.match(r"([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d)", line)
    if m:
        return m.group(1), "%s %2d %s" % (time.strftime("%b", tm), tm.tm_mday,
                                          time.strftime("%H:%M:%S", tm))
    return line, "(no stamp)"


class Fail2banTest(PorterTest):
    def setUp(self):
        need(self, "fail2ban-regex", "fail2ban-client")
        need_root(self, "a fake ident server on port 113")
        for f in ("common.conf", "xinetd-fail.conf"):
            if not os.path.exists(os.path.join(DEBIAN, "filter.d", f)):
                self.fail("%s/filter.d/%s is missing: is fail2ban installed?" % (DEBIAN, f))
        self.tmp = tempfile.mkdtemp(prefix="porter-f2b-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        # A configuration directory for fail2ban-regex: Debian's common
        # definitions and xinetd filter, and porter's filter as shipped.
        self.cfg = os.path.join(self.tmp, "fail2ban")
        os.makedirs(os.path.join(self.cfg, "filter.d"))
        for f in ("common.conf", "xinetd-fail.conf"):
            shutil.copy(os.path.join(DEBIAN, "filter.d", f), os.path.join(self.cfg, "filter.d"))
        shutil.copy(os.path.join(EXAMPLE, "filter.d", "porterd.conf"),
                    os.path.join(self.cfg, "filter.d"))
        self.env = dict(os.environ, TZ="UTC")

    def start(self, conf, **kw):
        kw.setdefault("files", SCRIPTS)
        kw["env"] = dict(kw.get("env") or {}, TZ="UTC")
        return super().start(conf, nports=8, **kw)

    # ------------------------------------------------------------ clients

    def ask(self, d, port, source, host="127.0.0.1"):
        """What the service answers a client from source; b"" when it is
        refused."""
        with d.connect(port, host=host, source=source) as s:
            s.shutdown(socket.SHUT_WR)
            return harness.recv_all(s)

    def provoke(self, d, log, libwrap=False):
        """One client for each kind of line; returns when log() holds them
        all."""
        ports = dict(zip(["acl", "noacc", "ps", "rate", "inst", "shut", "bad", "who"], d.ports))
        Identd(self)
        fails = ADDRESS + (LIBWRAP if libwrap else [])
        for sid, src, dst, _ in fails:
            self.assertEqual(self.ask(d, ports[sid], src, dst), b"", (sid, src, dst))
        # Served clients, whose lines must not count.
        self.assertNotEqual(self.ask(d, ports["acl"], "127.0.0.1"), b"")
        self.assertNotEqual(self.ask(d, ports["noacc"], "127.0.0.1"), b"")
        self.assertNotEqual(self.ask(d, ports["who"], IDENT_CLIENT), b"")
        # per_source = 1: a second client from the address of a running
        # server is refused.
        held = d.connect(ports["ps"], source="127.0.0.5")
        wait_for(lambda: re.search(r"START: ps pid=\d+ from=127\.0\.0\.5$", log(), re.M),
                 what="the first ps server")
        self.assertEqual(self.ask(d, ports["ps"], "127.0.0.5"), b"")
        held.close()
        # per_source_cps = 1 1: connections in a row until one is refused.
        for _ in range(50):
            if self.ask(d, ports["rate"], "127.0.0.6") == b"":
                break
        else:
            self.fail("per_source_cps refused no client:\n" + log())
        # instances = 1: refused for another client's server.
        held = d.connect(ports["inst"], source="127.0.0.7")
        wait_for(lambda: re.search(r"START: inst pid=\d+ from=127\.0\.0\.7$", log(), re.M),
                 what="the inst server")
        self.assertEqual(self.ask(d, ports["inst"], "127.0.0.8"), b"")
        held.close()
        self.assertEqual(self.ask(d, ports["shut"], "127.0.0.9"), b"")
        self.assertEqual(self.ask(d, ports["bad"], "127.0.0.11"), b"")
        want = [r"FAIL: %s %s from=%s" % (sid, why, re.escape(src or dst))
                for sid, src, dst, why in fails]
        want += [r"FAIL: ps per_source_limit from=127\.0\.0\.5", "FAIL: rate per_source_rate",
                 r"FAIL: inst service_limit from=127\.0\.0\.8",
                 r"FAIL: shut time from=127\.0\.0\.9", r"FAIL: bad exec from=127\.0\.0\.11",
                 r"USERID: who USERID : UNIX : " + re.escape(FORGED) + "$",
                 r"EXIT: ps status=0", r"EXIT: inst status=0"]
        for w in want:
            wait_for(lambda: re.search(w, log(), re.M), what=w)

    def provoke_json(self, d, path):
        """provoke, for a JSON log: each object is shown to it as the text
        line of the same event."""
        def as_text():
            try:
                with open(path) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                return ""
            out = []
            for line in lines:
                rec = json.loads(line)
                words = [rec.pop("event") + ":", rec.pop("service")]
                del rec["time"]
                if "text" in rec:
                    words.append(rec.pop("text"))
                if "reason" in rec:
                    words.append(rec.pop("reason"))
                words += ["%s=%s" % kv for kv in rec.items()]
                out.append(" ".join(map(str, words)) + "\n")
            return "".join(out)
        self.provoke(d, as_text)

    # ------------------------------------------------------------ fail2ban

    def regex(self, path, filt):
        """fail2ban-regex over the file with a filter of self.cfg: the
        (host, time, line) of each line it counts, and its report of the
        dates it recognized, by template."""
        cmd = ["fail2ban-regex", "-c", self.cfg, path, filt]
        r = run(cmd + ["-o", "<ip>\t<time>\t<msg>"], timeout=60, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        found = []
        for line in r.stdout.decode().splitlines():
            host, t, msg = line.split("\t", 2)
            found.append((host, float(t), msg))
        r = run(cmd, timeout=60, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        report = r.stdout.decode()
        dates = {m.group(2): int(m.group(1)) for m in
                 re.finditer(r"^\|\s+\[(\d+)\] (.*)$", report.split("Date template hits:")[1],
                             re.M)}
        return found, dates

    def check(self, path, filt, hosts, template):
        """The filter counts exactly the lines of these hosts, each once
        and at the time its own line says; every line's date is read with
        the template."""
        found, dates = self.regex(path, filt)
        with open(path) as f:
            lines = f.read().splitlines()
        self.assertEqual(sorted(h for h, _, _ in found), sorted(hosts),
                         "%s over %s:\n%s" % (filt, path, "\n".join(lines)))
        for host, t, msg in found:
            self.assertIn(msg, lines)
            got, want = stamp_of(msg, t)
            self.assertEqual(got, want, "%s: date read as %s" % (msg, time.ctime(t)))
            self.assertNotIn("USERID", msg)
        hits = [n for name, n in dates.items() if template in name and n > 0]
        self.assertEqual(hits, [len(lines)], "%s: dates recognized: %s" % (path, dates))

    def normal(self, libwrap=False):
        return [src or dst for _, src, dst, _ in ADDRESS + (LIBWRAP if libwrap else [])]

    def aggressive(self, libwrap=False):
        return self.normal(libwrap) + PER_SOURCE

    # ------------------------------------------------------------ tests

    def test_filelog(self):
        """porterd's own log file, where the lines of services without
        log_type go: "STAMP porterd[PID]: INFO: FAIL: ..."."""
        path = os.path.join(self.tmp, "porterd.log")

        def log():
            try:
                with open(path) as f:
                    return f.read()
            except FileNotFoundError:
                return ""
        d = self.start(config(), args=("-filelog", path), ready=False)
        wait_for(lambda: re.search(r"porterd\[%d\]: INFO: porterd \S+ started" % d.proc.pid,
                                   log()), 10, "porterd started")
        self.provoke(d, log)
        self.assertRegex(log(), r"(?m)^\S+ porterd\[\d+\]: INFO: FAIL: acl address from=::1$")
        self.check(path, "porterd", self.normal(), "Year2/Month/Day@")
        self.check(path, "porterd[mode=aggressive]", self.aggressive(), "Year2/Month/Day@")

    def test_log_type_file(self):
        """A service's log_type = FILE: "STAMP: FAIL: ..."."""
        d = self.start(config("FILE {DIR}/svc.log"))
        path = os.path.join(d.dir, "svc.log")

        def log():
            try:
                with open(path) as f:
                    return f.read()
            except FileNotFoundError:
                return ""
        self.provoke(d, log)
        self.assertRegex(log(), r"(?m)^[\d/@:]+: FAIL: acl address from=::1$")
        self.check(path, "porterd", self.normal(), "Year2/Month/Day@")
        self.check(path, "porterd[mode=aggressive]", self.aggressive(), "Year2/Month/Day@")

    def test_log_type_json(self):
        """log_type = FILE ... json: one object a line."""
        d = self.start(config("FILE {DIR}/svc.json json"))
        path = os.path.join(d.dir, "svc.json")
        self.provoke_json(d, path)
        with open(path) as f:
            self.assertIn('"event":"FAIL","service":"acl","from":"::1","reason":"address"}',
                          f.read())
        self.check(path, "porterd", self.normal(), '"time":"Year-Month-DayT')
        self.check(path, "porterd[mode=aggressive]", self.aggressive(), '"time":"Year-Month-DayT')

    def test_syslog_as_xinetd(self):
        """porterd -syslog daemon -syslog_ident xinetd: the lines a syslog
        daemon writes match Debian's xinetd-fail filter as it is, and
        porter's filter told the name; hosts.deny refusals count too."""
        if not can_private_dirs(os.path.join(self.tmp, "probe")):
            self.fail("no private mount namespace with a /dev of its own here")
        sock = os.path.join(self.tmp, "log.sock")
        syslogd = Syslogd(self, sock)
        ns = private_dirs(os.path.join(self.tmp, "ns"), {
            "/dev": {"log": sock},
            "/etc": {"hosts.allow": b"", "hosts.deny": b"noacc: 127.0.0.10\n"},
        })
        d = self.start(config(), args=("-syslog", "daemon", "-syslog_ident", "xinetd"),
                       preexec=ns, ready=False)
        wait_for(lambda: re.search(r"xinetd\[%d\]: porterd \S+ started" % d.proc.pid,
                                   syslogd.text()), 10, "porterd started, in syslog")
        self.provoke(d, syslogd.text, libwrap=True)
        d.close()
        text = syslogd.text()
        self.assertNotIn("unparsed", text)
        self.assertRegex(text, r"(?m)^[A-Z][a-z]{2} [ \d]\d [\d:]{8} porter-test "
                         r"xinetd\[%d\]: FAIL: acl address from=::1$" % d.proc.pid)
        self.assertNotRegex(text, r"porterd\[")
        # daemon.info, as xinetd's service lines.
        self.assertEqual(syslogd.priorities(r"FAIL: "), {3 * 8 + 6}, text)
        path = os.path.join(self.tmp, "daemon.log")
        with open(path, "w") as f:
            f.write(text)
        syslog = "MON Day %k:Minute:Second"
        self.check(path, "xinetd-fail", self.normal(libwrap=True), syslog)
        self.check(path, "porterd[_daemon=xinetd]", self.normal(libwrap=True), syslog)
        self.check(path, "porterd[_daemon=xinetd,mode=aggressive]",
                   self.aggressive(libwrap=True), syslog)
        # Told another name, porter's filter leaves another daemon's lines.
        self.check(path, "porterd", [], syslog)

    def test_jail_loads(self):
        """The jail, with the filter, as fail2ban itself reads them from
        /etc/fail2ban/jail.d and filter.d: it bans on every port after two
        refusals, with the filter's patterns."""
        etc = os.path.join(self.tmp, "etc")
        shutil.copytree(DEBIAN, etc)
        shutil.copy(os.path.join(EXAMPLE, "filter.d", "porterd.conf"),
                    os.path.join(etc, "filter.d"))
        shutil.copy(os.path.join(EXAMPLE, "jail.d", "porterd.conf"), os.path.join(etc, "jail.d"))
        log = os.path.join(self.tmp, "daemon.log")
        open(log, "w").close()
        # Only the log's place is the machine's; other jails are not tested.
        with open(os.path.join(etc, "jail.d", "zz-test.local"), "w") as f:
            f.write("[porterd]\nlogpath = %s\nbackend = auto\n[sshd]\nenabled = false\n" % log)
        r = run(["fail2ban-client", "-c", etc, "-t"], env=self.env)
        self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        # What fail2ban-client would tell the server, one command a line.
        r = run(["fail2ban-client", "-c", etc, "-d"], env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        cmds = [ast.literal_eval(l) for l in r.stdout.decode().splitlines()]
        mine = [c for c in cmds if len(c) > 2 and c[1] == "porterd"]
        sets = {c[2]: c[3:] for c in mine if c[0] == "set"}
        self.assertIn(["add", "porterd", "auto"], mine)
        self.assertEqual(sets["maxretry"], [2])
        self.assertEqual(sets["addlogpath"], [log, "head"])
        action, = sets["addaction"]
        self.assertTrue(action.endswith("allports"), action)
        regexes, = [c[3] for c in mine if c[:3] == ["multi-set", "porterd", "addfailregex"]]
        self.assertEqual(regexes, [
            r"^\S+ (?:address|libwrap) from=<HOST>$",
            r'^"(?:[^"\\]|\\.)*","from":"<HOST>","reason":"(?:address|libwrap)"\}$'])
        params, = [c[4] for c in mine if c[:4] == ["multi-set", "porterd", "action", action]]
        self.assertIn(["port", "0:65535"], params)
