"""harness.py: black-box tests of a real porterd over real sockets.

A test writes a configuration with {PORT0}, {PORT1}, ... and {DIR}
placeholders, starts porterd in the foreground on it, talks to it over
loopback and asserts on the bytes it gets and on the log lines porterd
writes. Waiting is always for a condition with a deadline, never a bare
sleep. At teardown the daemon's log must hold no sanitizer report.
"""
import ctypes
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest

PORTERD = os.environ.get("PORTERD", os.path.abspath("build/porterd"))
WRAPPER = os.environ.get("PORTERD_WRAPPER", "").split()
HERE = os.path.dirname(os.path.abspath(__file__))
# Sanitizer builds are slower; every deadline scales with this.
SLOW = 3.0 if (os.environ.get("ASAN_OPTIONS") or WRAPPER) else 1.0
SANITIZER = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                       r"==\d+==ERROR|Invalid (read|write)|definitely lost: [1-9]")
# valgrind --track-fds: only descriptors beyond the standard three are a leak.
FDS_AT_EXIT = re.compile(r"FILE DESCRIPTORS: (\d+) open \((\d+) std\) at exit")


def wait_for(cond, timeout=5.0, what="condition", interval=0.01):
    """Polls cond() until it returns a true value; fails after timeout."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(interval)


def _can_bind(fam, typ, addr, port):
    t = socket.socket(fam, typ)
    try:
        t.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        t.close()


def free_ports(n, kind=socket.SOCK_STREAM):
    """n ports free right now for TCP and UDP on 127.0.0.1, ::1 and the
    wildcard address: a dual-stack listener clashes with a TIME_WAIT of any
    loopback source on its port."""
    ports = []
    tries = 0
    while len(ports) < n:
        tries += 1
        if tries > 1000:
            raise AssertionError("no free loopback ports")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        if p in ports:
            continue
        if all(_can_bind(fam, typ, addr, p) for fam, typ, addr in (
                (socket.AF_INET, socket.SOCK_STREAM, "127.0.0.1"),
                (socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1"),
                (socket.AF_INET6, socket.SOCK_STREAM, "::"),
                (socket.AF_INET6, socket.SOCK_DGRAM, "::"))):
            ports.append(p)
    return ports


class Porterd:
    """One porterd in the foreground on a configuration of the test's."""

    def __init__(self, conf, nports=4, args=(), env=None, preexec=None, user=None,
                 files=None, ready=True, prefix=()):
        self.closed = False
        self.dir = tempfile.mkdtemp(prefix="porter-it-")
        os.chmod(self.dir, 0o755)
        self.ports = free_ports(nports)
        self.files = files or {}
        subst = {"DIR": self.dir, "HERE": HERE}
        for i, p in enumerate(self.ports):
            subst["PORT%d" % i] = str(p)
        for name, text in self.files.items():
            path = os.path.join(self.dir, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text.format(**subst))
            if name.endswith(".sh"):
                os.chmod(path, 0o755)
        self.conf = os.path.join(self.dir, "porter.conf")
        self.write_conf(conf)
        self.logpath = os.path.join(self.dir, "porterd.log")
        self.log = open(self.logpath, "wb")
        e = dict(os.environ)
        if env:
            e.update(env)
        # A control socket of its own: daemons of parallel runs must not
        # meet at the default path.
        self.control = os.path.join(self.dir, "control.sock")
        # Arguments may name the test's files and ports too ("-i", "{DIR}/x").
        args = [self.subst(a) for a in args]
        if "-C" not in args:
            args = ["-C", self.control] + args
        # prefix: a command that runs porterd, such as ip netns exec NS; it
        # may name the test's ports too.
        prefix = [self.subst(a) for a in prefix]
        cmd = prefix + WRAPPER + [PORTERD, "-F", "-f", self.conf] + args
        self.proc = subprocess.Popen(cmd,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=e,
                                     preexec_fn=preexec, user=user)
        self.port = self.ports[0]
        if ready:
            self.wait_log(r"porterd \S+ started", 10)

    def subst(self, text):
        d = {"DIR": self.dir, "HERE": HERE}
        for i, p in enumerate(self.ports):
            d["PORT%d" % i] = str(p)
        return text.format(**d)

    def write_conf(self, conf):
        with open(self.conf, "w") as f:
            f.write(self.subst(conf))

    def text(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=5.0, count=1):
        """Waits until pattern matches count lines of the log; returns the
        last match."""
        rx = re.compile(pattern)

        def found():
            if self.proc.poll() is not None and self.count_log(pattern) < count:
                raise AssertionError("porterd exited (%s) before logging %r:\n%s" %
                                     (self.proc.returncode, pattern, self.text()))
            m = [x for x in (rx.search(l) for l in self.text().splitlines()) if x]
            return m[count - 1] if len(m) >= count else None
        try:
            return wait_for(found, timeout, "log line %r" % pattern)
        except AssertionError:
            raise AssertionError("no log line %r in:\n%s" % (pattern, self.text()))

    def count_log(self, pattern):
        rx = re.compile(pattern)
        return sum(1 for l in self.text().splitlines() if rx.search(l))

    def send(self, sig):
        self.proc.send_signal(sig)

    def reload(self, conf=None):
        """Rewrites the configuration (if given), sends SIGHUP and waits
        until the reload is done."""
        n = self.count_log(r"reloaded: |the configuration in force stays")
        if conf is not None:
            self.write_conf(conf)
        self.send(signal.SIGHUP)
        self.wait_log(r"reloaded: |the configuration in force stays", count=n + 1)

    def connect(self, port=None, host="127.0.0.1", source=None, timeout=5.0):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout * SLOW)
        if source:
            s.bind((source, 0))
        s.connect((host, port or self.port))
        return s

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("porterd did not stop on %s:\n%s" % (sig, self.text()))
        return self.proc.returncode

    def close(self):
        """Stops porterd; fails on a sanitizer report in its output."""
        if self.closed:
            return
        self.closed = True
        try:
            self.stop()
        finally:
            self.log.close()
            text = self.text()
            shutil.rmtree(self.dir, ignore_errors=True)
        m = SANITIZER.search(text)
        leaked = [m for m in FDS_AT_EXIT.finditer(text) if m.group(1) != m.group(2)]
        if m or leaked:
            raise AssertionError("sanitizer report in porterd's output:\n" + text)


def entry(name, extra="", **attrs):
    """One service entry of a configuration template (the harness fills in
    {PORTn} and {DIR}, so braces are doubled): the attributes in the order
    given, None leaving one out and "" writing it with no value, then the
    lines of extra. The tests' own helpers call this with their defaults."""
    lines = ["", "service %s" % name, "{{"]
    for k, v in attrs.items():
        if v is not None:
            lines.append(("\t%-14s = %s" % (k, v)).rstrip())
    lines += ["\t" + line.strip() for line in extra.strip().splitlines()]
    lines.append("}}")
    return "\n".join(lines) + "\n"


def check_conf(conf_text):
    """porterd -t on a configuration template: its exit code and what it
    said, with the file's name written CONF. Port n of the template is
    7000 + n: -t binds nothing."""
    text = re.sub(r"\{PORT(\d+)\}", lambda m: str(7000 + int(m.group(1))),
                  conf_text.replace("{{", "{").replace("}}", "}"))
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    try:
        r = subprocess.run([PORTERD, "-t", "-f", f.name], capture_output=True, text=True,
                           timeout=30)
        return r.returncode, (r.stdout + r.stderr).replace(f.name, "CONF")
    finally:
        os.unlink(f.name)


def refusals(d, sid, pattern=r"\S+"):
    """The clients of service sid refused so far, as porterd accounted for
    them: its FAIL lines (whose reason matches pattern) and the count of
    each SUPPRESSED line that stood for the FAIL lines over its rate."""
    text = d.text()
    return (len(re.findall(r"FAIL: %s %s from=" % (re.escape(sid), pattern), text)) +
            sum(int(n) for n in re.findall(r"SUPPRESSED: %s lines=(\d+)" % re.escape(sid),
                                           text)))


def children(pid):
    """The pids of pid's children, zombies included; none once pid is
    gone."""
    out = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                out += [int(x) for x in f.read().split()]
    except FileNotFoundError:
        pass
    return out


def refused(port, host="127.0.0.1", timeout=2.0):
    """Whether nothing listens on the port: connect() is refused. A connect
    that lands in a listener's queue as it closes is reset instead; that
    counts as not refused yet, for wait_for to try again."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout * SLOW)
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            return True
        except ConnectionResetError:
            return False
        return False


def recv_all(s, limit=1 << 24):
    """Reads until EOF."""
    out = b""
    while len(out) < limit:
        b = s.recv(65536)
        if not b:
            break
        out += b
    return out


def converse(port, data=b"", host="127.0.0.1", shut=True, timeout=5.0):
    """Connects, sends data, half-closes, returns everything until EOF."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.settimeout(timeout * SLOW)
        s.connect((host, port))
        if data:
            s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        return recv_all(s)


def udp_ask(port, data, host="127.0.0.1", timeout=2.0, source_port=0):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout * SLOW)
        if source_port:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, source_port))
        s.sendto(data, (host, port))
        return s.recvfrom(65536)[0]


class FakeDNS:
    """A DNS server on addr:53 (UDP) answering PTR queries from names, and
    A queries for those names with the address their PTR is for (porterd
    confirms a name forward), or with forward[name] when given; the
    queries in held wait until gate is set; everything else gets NXDOMAIN
    at once, but AAAA for a known name gets an empty answer."""

    def __init__(self, addr, names, held=(), forward=None):
        self.names = names
        self.forward = {}
        for ptr, name in names.items():
            octets = ptr.split(".")[:4]
            if ptr.endswith(".in-addr.arpa") and len(octets) == 4:
                self.forward[name.lower()] = ".".join(reversed(octets))
        self.forward.update(forward or {})
        self.held = set(held)
        self.gate = threading.Event()
        self.seen = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, 53))
        self.threads = []
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def encode(name):
        return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"

    def reply(self, data, addr):
        qid, _flags, qd = struct.unpack("!HHH", data[:6])
        p = 12
        labels = []
        while data[p] != 0:
            labels.append(data[p + 1:p + 1 + data[p]].decode())
            p += 1 + data[p]
        qname = ".".join(labels).lower()
        qtype = struct.unpack("!H", data[p + 1:p + 3])[0]
        question = data[12:p + 5]
        with self.lock:
            self.seen.append(qname)
        name = self.names.get(qname) if qtype == 12 else None
        if qtype == 1 and qname in self.forward:
            rdata = socket.inet_aton(self.forward[qname])
            out = (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question +
                   struct.pack("!HHHIH", 0xc00c, 1, 1, 60, len(rdata)) + rdata)
        elif qtype == 28 and qname in self.forward:
            out = struct.pack("!HHHHHH", qid, 0x8180, 1, 0, 0, 0) + question
        elif name is None:
            out = struct.pack("!HHHHHH", qid, 0x8183, 1, 0, 0, 0) + question
        else:
            rdata = self.encode(name)
            out = (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + question +
                   struct.pack("!HHHIH", 0xc00c, 12, 1, 60, len(rdata)) + rdata)
        if qname in self.held:
            t = threading.Thread(target=self.later, args=(out, addr), daemon=True)
            t.start()
            self.threads.append(t)
        else:
            self.sock.sendto(out, addr)

    def later(self, out, addr):
        self.gate.wait(20)
        self.sock.sendto(out, addr)

    def serve(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                return
            if data == b"stop":
                return
            try:
                self.reply(data, addr)
            except (IndexError, struct.error, UnicodeDecodeError):
                pass

    def queried(self, qname):
        with self.lock:
            return qname in self.seen

    def close(self):
        self.gate.set()
        if self.thread is not None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"stop", self.sock.getsockname())
            s.close()
            self.thread.join(5)
        for t in self.threads:
            t.join(5)
        self.sock.close()


CLONE_NEWNS = 0x20000
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000


def private_etc(files):
    """A preexec function that gives porterd a mount namespace of its own in
    which each target (/etc/hosts, /etc/resolv.conf, /etc/passwd, ...) is the given file.
    libc is loaded here, before the fork."""
    libc = ctypes.CDLL(None, use_errno=True)

    def setup():
        if libc.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
        for target, source in files.items():
            if libc.mount(source.encode(), target.encode(), None, MS_BIND, None) != 0:
                raise OSError(ctypes.get_errno(), "mount --bind " + source)
    return setup


def can_private_etc():
    """Whether a child can get a mount namespace with a private /etc/hosts."""
    if os.geteuid() != 0:
        return False
    tmp = tempfile.NamedTemporaryFile("w", delete=False)
    tmp.write("127.0.0.1 localhost\n")
    tmp.close()
    setup = private_etc({"/etc/hosts": tmp.name})
    pid = os.fork()
    if pid == 0:
        try:
            setup()
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    os.unlink(tmp.name)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def etc_with_dns(test, dns_addr, resolv_options, hosts="127.0.0.1 localhost\n"):
    """A preexec function for a porterd whose resolver asks dns_addr (with
    resolv.conf's options) and whose /etc/hosts holds hosts."""
    if not can_private_etc():
        test.skipTest("needs root and mount namespaces (private /etc/hosts)")
    tmp = tempfile.mkdtemp(prefix="porter-etc-")
    test.addCleanup(shutil.rmtree, tmp, True)
    paths = {"/etc/hosts": os.path.join(tmp, "hosts"),
             "/etc/resolv.conf": os.path.join(tmp, "resolv.conf")}
    with open(paths["/etc/hosts"], "w") as f:
        f.write(hosts)
    with open(paths["/etc/resolv.conf"], "w") as f:
        f.write("nameserver %s\noptions %s\n" % (dns_addr, resolv_options))
    return private_etc(paths)


def make_certs(prefix="porter-tls."):
    """The TLS tests' certificates (tests/tls/mkcerts.sh: ca.pem, the
    server-ec and server-rsa pairs for localhost and 127.0.0.1, b.pem for
    b.test, client and rogue pairs, ...) made in a new directory, which
    the caller removes; no key is ever kept in the tree."""
    top = tempfile.mkdtemp(prefix=prefix)
    r = subprocess.run(["sh", os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests",
                                           "tls", "mkcerts.sh"), top],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        shutil.rmtree(top, ignore_errors=True)
        raise RuntimeError("mkcerts.sh: " + r.stderr)
    return top


class PorterTest(unittest.TestCase):
    """Base class: self.start(conf) gives a Porterd that is closed (and
    checked for sanitizer reports) at the end of the test."""

    def start(self, conf, **kw):
        d = Porterd(conf, **kw)
        self.addCleanup(d.close)
        return d
