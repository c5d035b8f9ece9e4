"""Several porter hosts behind Debian's haproxy, on a network of namespaces.

The test builds the network of examples/haproxy/ with iproute2 and runs its
files there: haproxy.cfg in the balancer's namespace, porter.conf in three
porter hosts' namespaces, inner.conf in the inner host's, each changed only
where the test must: HAPROXY_CHANGES, the path of the server, and
per_source for the clients of HaproxyUnderLoadTest. Every address is the
example's own; none of them leaves the namespaces, which are deleted, with
whatever runs in them, when a test ends.

    client 172.16.1.11-13 (allowed), 172.16.2.66 (not in only_from)
      | eth0 -- cl0 (172.16.0.1)
    balancer: haproxy, :8080 -> whoami on the hosts, :8081 -> inner
      | br0 (10.0.0.1), a bridge with one veth to each host
      +-- n1 10.0.0.11, n2 10.0.0.12, n3 10.0.0.13: porterd, porter.conf
      +-- inner 10.0.0.21: porterd, inner.conf

The client's sockets are made in its namespace by the test itself
(setns on the creating thread), so a request costs no process.
"""
import contextlib
import csv
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import Porterd, recv_all
from interop import ROOT, SLOW, PorterTest, need, need_root, service, wait_for

EXAMPLE = os.path.join(ROOT, "examples", "haproxy")
PORTERCTL = os.environ.get("PORTERCTL", os.path.abspath("build/porterctl"))

# The example's addresses (haproxy.cfg, porter.conf, inner.conf).
BALANCER = "10.0.0.1"
HOSTS = {"n1": "10.0.0.11", "n2": "10.0.0.12", "n3": "10.0.0.13"}
INNER = "10.0.0.21"
# The client side, which the example leaves to the site: only_from lets
# 172.16.1.0/24 in.
FRONT = "172.16.0.1"
CLIENTS = ["172.16.1.11", "172.16.1.12", "172.16.1.13"]
DENIED = "172.16.2.66"
WHOAMI, RELAY = 8080, 8081

# What the test changes in haproxy.cfg, each line found exactly once: logs
# on haproxy's stderr, the stats socket in the test's folder, and checks
# often enough that a host is taken out within a second.
HAPROXY_CHANGES = [
    ("log /dev/log local0", "log stderr format raw local0 info"),
    ("stats socket /run/haproxy/admin.sock", "stats socket {DIR}/haproxy.sock"),
    ("default-server inter 2s fall 3 rise 2", "default-server inter 300ms fall 2 rise 2"),
]

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def netns(name):
    """Runs the block with the calling thread in network namespace name;
    sockets made there stay in it."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open("/run/netns/" + name, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns " + name)
        finally:
            os.close(target)
        try:
            yield
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(own)


def answer(addr, port, via):
    return ("you are %s port %d, through %s\n" % (addr, port, via)).encode()


class Network:
    """The namespaces and links of the example, named after this process so
    that parallel runs do not meet."""

    def __init__(self):
        self.tag = "porter-ha-%d" % os.getpid()
        self.made = []

    def name(self, role):
        return "%s-%s" % (self.tag, role)

    def ip(self, *args):
        r = subprocess.run(["ip"] + list(args), capture_output=True, text=True,
                           timeout=30 * SLOW)
        if r.returncode != 0:
            raise AssertionError("ip %s: %s" % (" ".join(args), r.stderr.strip()))

    def add(self, role):
        ns = self.name(role)
        if os.path.exists("/run/netns/" + ns):
            self.delete(ns)  # left by an interrupted run of the same pid
        self.ip("netns", "add", ns)
        self.made.append(ns)
        self.ip("-n", ns, "link", "set", "lo", "up")
        return ns

    def build(self):
        lb = self.add("lb")
        self.ip("-n", lb, "link", "add", "br0", "type", "bridge")
        self.ip("-n", lb, "addr", "add", BALANCER + "/24", "dev", "br0")
        self.ip("-n", lb, "link", "set", "br0", "up")
        for role, addr in list(HOSTS.items()) + [("inner", INNER)]:
            ns = self.add(role)
            self.ip("-n", lb, "link", "add", role, "type", "veth", "peer", "name", "eth0",
                    "netns", ns)
            self.ip("-n", lb, "link", "set", role, "master", "br0", "up")
            self.ip("-n", ns, "addr", "add", addr + "/24", "dev", "eth0")
            self.ip("-n", ns, "link", "set", "eth0", "up")
        cl = self.add("cl")
        self.ip("-n", lb, "link", "add", "cl0", "type", "veth", "peer", "name", "eth0",
                "netns", cl)
        self.ip("-n", lb, "addr", "add", FRONT + "/16", "dev", "cl0")
        self.ip("-n", lb, "link", "set", "cl0", "up")
        for addr in CLIENTS + [DENIED]:
            self.ip("-n", cl, "addr", "add", addr + "/16", "dev", "eth0")
        self.ip("-n", cl, "link", "set", "eth0", "up")

    @staticmethod
    def delete(ns):
        """Ends what still runs in ns (processes of this test), then deletes
        it; its veths go with it."""
        r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def destroy(self):
        for ns in reversed(self.made):
            self.delete(ns)
        self.made = []


class Haproxy:
    """haproxy in the foreground in the balancer's namespace, its log in a
    file, its stats socket at hand."""

    def __init__(self, ns, cfg, folder):
        self.sock = os.path.join(folder, "haproxy.sock")
        self.cfgpath = os.path.join(folder, "haproxy.cfg")
        with open(self.cfgpath, "w") as f:
            f.write(cfg)
        self.logpath = os.path.join(folder, "haproxy.log")
        self.log = open(self.logpath, "wb")
        self.proc = subprocess.Popen(["ip", "netns", "exec", ns, "haproxy", "-db", "-f",
                                      self.cfgpath], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def text(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def command(self, line):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5 * SLOW)
            s.connect(self.sock)
            s.sendall(line.encode() + b"\n")
            return recv_all(s).decode()

    def states(self):
        """{"backend/server": status} from show stat: UP, DOWN, MAINT, or a
        transition such as "UP 1/2"."""
        if self.proc.poll() is not None:
            raise AssertionError("haproxy exited (%s):\n%s" % (self.proc.returncode,
                                                               self.text()))
        if not os.path.exists(self.sock):
            return {}
        try:
            out = self.command("show stat")
        except OSError:
            return {}
        rows = list(csv.reader(l for l in out.splitlines() if l))
        if not rows or not rows[0] or not rows[0][0].startswith("# "):
            return {}
        head = [rows[0][0][2:]] + rows[0][1:]
        out = {}
        for r in rows[1:]:
            row = dict(zip(head, r))
            if row.get("svname") not in ("FRONTEND", "BACKEND"):
                out["%s/%s" % (row["pxname"], row["svname"])] = row.get("status")
        return out

    def wait_states(self, want, timeout=15):
        got = {}

        def done():
            got.update(self.states())
            return all(got.get(k) == v or (v == "DOWN" and (got.get(k) or "").startswith("DOWN"))
                       for k, v in want.items())
        try:
            wait_for(done, timeout, "haproxy's servers", interval=0.05)
        except AssertionError:
            raise AssertionError("haproxy's servers are %s, not %s; its log:\n%s" %
                                 (got, want, self.text()))

    def only(self, backend, node):
        """Sends backend's new connections to node alone: the others are
        put in maintenance (None: all back in service)."""
        want = {}
        for n in HOSTS:
            state = "ready" if node is None or n == node else "maint"
            out = self.command("set server %s/%s state %s" % (backend, n, state))
            if out.strip():
                raise AssertionError("set server %s/%s: %s" % (backend, n, out))
            want["%s/%s" % (backend, n)] = "UP" if state == "ready" else "MAINT"
        self.wait_states(want)

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Load:
    """One thread per client address asking whoami (or the relay) again
    and again until stopped; every answer is checked."""

    def __init__(self, test, port, addrs):
        self.test = test
        self.port = port
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.results = []   # (start, end, address, error or None)
        self.threads = [threading.Thread(target=self.run, args=(a,), daemon=True)
                        for a in addrs]
        for t in self.threads:
            t.start()

    def run(self, addr):
        while not self.stop_flag.is_set():
            t = time.monotonic()
            try:
                port, out = self.test.ask(addr, self.port)
                err = None if out == answer(addr, port, BALANCER) else "answer %r" % out
            except OSError as e:
                err = "%s: %s" % (type(e).__name__, e)
            with self.lock:
                self.results.append((t, time.monotonic(), addr, err))

    def count(self, addr=None, since=0.0):
        with self.lock:
            return sum(1 for t, _, a, e in self.results
                       if e is None and t >= since and (addr is None or a == addr))

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30 * SLOW)
        with self.lock:
            return list(self.results)


START = r"START: %s pid=(\d+) from=%s via=%s$"


class Scaleout(PorterTest):
    """The network of the example with everything running, for the tests
    below. WHOAMI_CHANGES: what a test class changes in the porter hosts'
    whoami service besides the server's path."""

    WHOAMI_CHANGES = {}

    def setUp(self):
        need_root(self, "network namespaces and veth pairs")
        need(self, "ip", "haproxy", PORTERCTL)
        self.dir = tempfile.mkdtemp(prefix="porter-ha-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        # whoami runs as nobody.
        os.chmod(self.dir, 0o755)
        self.whoami = os.path.join(self.dir, "whoami")
        shutil.copy(os.path.join(EXAMPLE, "whoami"), self.whoami)
        os.chmod(self.whoami, 0o755)

        self.net = Network()
        self.addCleanup(self.net.destroy)
        self.net.build()

        self.nodes = {n: self.porterd(n, "porter.conf", **self.WHOAMI_CHANGES) for n in HOSTS}
        self.inner = self.porterd("inner", "inner.conf")

        with open(os.path.join(EXAMPLE, "haproxy.cfg")) as f:
            cfg = f.read()
        # The network built here is the one the example describes.
        for n, addr in HOSTS.items():
            for port in (WHOAMI, RELAY):
                self.assertRegex(cfg, r"\n\s*server %s %s:%d check send-proxy-v2\n" %
                                 (n, re.escape(addr), port))
        self.assertRegex(self.conf("porter.conf"), r"redirect\s+= %s %d\n" %
                         (re.escape(INNER), WHOAMI))
        for old, new in HAPROXY_CHANGES:
            self.assertEqual(cfg.count(old), 1, "haproxy.cfg: %r" % old)
            cfg = cfg.replace(old, new.format(DIR=self.dir))
        self.lb = Haproxy(self.net.name("lb"), cfg, self.dir)
        self.addCleanup(self.lb.close)
        self.lb.wait_states({"%s/%s" % (b, n): "UP" for b in ("whoami", "inner") for n in HOSTS})

    def conf(self, name, **attrs):
        with open(os.path.join(EXAMPLE, name)) as f:
            return service(f.read(), server=self.whoami, **attrs)

    def porterd(self, role, name, **attrs):
        d = Porterd(self.conf(name, **attrs), nports=1,
                    prefix=["ip", "netns", "exec", self.net.name(role)])
        self.addCleanup(d.close)
        return d

    # ------------------------------------------------------------ clients

    def connect(self, addr, port):
        """A connection from addr, in the client's namespace, to the
        balancer's port."""
        with netns(self.net.name("cl")):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(10 * SLOW)
            s.bind((addr, 0))
            s.connect((FRONT, port))
        except BaseException:
            s.close()
            raise
        return s

    def ask(self, addr, port=WHOAMI):
        """One request: a line, then the answer until the server closes.
        Returns the client's port and the answer; a connection porter
        refused ends with no answer."""
        with self.connect(addr, port) as s:
            mine = s.getsockname()[1]
            s.sendall(b"hello\n")
            try:
                return mine, recv_all(s)
            except ConnectionResetError:
                return mine, b""

    def hold(self, addr, port=WHOAMI):
        """A connection that sends nothing: its whoami waits for a line."""
        s = self.connect(addr, port)
        self.addCleanup(s.close)
        return s

    # ------------------------------------------------------------ logs

    def starts(self, d, sid, addr, via):
        return d.count_log(START % (sid, re.escape(addr), re.escape(via)))

    def node_of(self, addr, count=1):
        """The porter host that has served count clients from addr."""
        def which():
            hit = [n for n, d in self.nodes.items()
                   if self.starts(d, "whoami", addr, BALANCER) >= count]
            return hit[0] if hit else None
        return wait_for(which, 10, "a START line for %s" % addr)

    def running(self, d, sid, addr):
        """The servers of sid that d started for addr and that have not
        exited."""
        text = d.text()
        started = set(re.findall(r"START: %s pid=(\d+) from=%s " % (sid, re.escape(addr)), text))
        ended = set(re.findall(r"EXIT: %s \w+=\d+ pid=(\d+) " % sid, text))
        return len(started - ended)

    def no_fail(self, *daemons):
        for d in daemons:
            self.assertNotRegex(d.text(), r"FAIL: |PROXY header refused", d.text())


class HaproxyScaleoutTest(Scaleout):
    """The example as it is: rules and limits on the real client."""

    def test_each_client_is_seen(self):
        """Several client addresses: each answer names the client and its
        port, and every host's log names the client with the balancer."""
        for _ in range(3):
            for addr in CLIENTS:
                port, out = self.ask(addr)
                self.assertEqual(out, answer(addr, port, BALANCER))
        for addr in CLIENTS:
            wait_for(lambda: sum(self.starts(d, "whoami", addr, BALANCER)
                                 for d in self.nodes.values()) == 3,
                     what="three START lines for %s" % addr)
        # balance source: one host serves each client.
        for addr in CLIENTS:
            self.assertEqual(sorted(self.starts(d, "whoami", addr, BALANCER)
                                    for d in self.nodes.values()), [0, 0, 3])
        # The checks (LOCAL headers) are served as clients at the
        # balancer's own address, and pass.
        for d in self.nodes.values():
            d.wait_log(START % ("whoami", re.escape(BALANCER), re.escape(BALANCER)))
            d.wait_log(r"EXIT: whoami status=0 pid=\d+ ")
        self.no_fail(self.inner, *self.nodes.values())

    def test_per_source_holds_across_the_balancer(self):
        """per_source = 2: a third connection at once from one client is
        refused, on the one host the balancer sends that client to."""
        addr = CLIENTS[0]
        self.hold(addr)
        node = self.node_of(addr)
        d = self.nodes[node]
        self.hold(addr)
        wait_for(lambda: self.running(d, "whoami", addr) == 2, what="two servers for " + addr)
        _, out = self.ask(addr)
        self.assertEqual(out, b"")
        d.wait_log(r"FAIL: whoami per_source_limit from=%s via=%s$" %
                   (re.escape(addr), re.escape(BALANCER)))
        for n, other in self.nodes.items():
            if n != node:
                self.assertEqual(self.starts(other, "whoami", addr, BALANCER), 0, other.text())
        # Other clients are served meanwhile.
        for other in CLIENTS[1:]:
            port, out = self.ask(other)
            self.assertEqual(out, answer(other, port, BALANCER))

    def test_only_from_denies_on_every_path(self):
        """A client outside only_from is refused through each porter host,
        and through each relay to the inner host; a client inside is
        served on the same paths."""
        for node, d in self.nodes.items():
            self.lb.only("whoami", node)
            n = d.count_log(r"FAIL: whoami address from=%s via=%s$" %
                            (re.escape(DENIED), re.escape(BALANCER)))
            self.assertEqual(self.ask(DENIED)[1], b"")
            d.wait_log(r"FAIL: whoami address from=%s via=%s$" %
                       (re.escape(DENIED), re.escape(BALANCER)), count=n + 1)
            port, out = self.ask(CLIENTS[0])
            self.assertEqual(out, answer(CLIENTS[0], port, BALANCER))
        for node in HOSTS:
            self.lb.only("inner", node)
            self.assertEqual(self.ask(DENIED, RELAY)[1], b"")
            self.inner.wait_log(r"FAIL: whoami address from=%s via=%s$" %
                                (re.escape(DENIED), re.escape(HOSTS[node])))
        for d in self.nodes.values():
            self.assertEqual(self.starts(d, "whoami", DENIED, BALANCER), 0, d.text())

    def test_a_disabled_service_is_drained(self):
        """porterctl disable closes the service's socket on one host: the
        checks take that host out of the service's backend alone, its
        clients go to the others, and enable brings it back."""
        self.ask(CLIENTS[0])
        node = self.node_of(CLIENTS[0])
        d = self.nodes[node]

        def ctl(*args):
            r = subprocess.run([PORTERCTL, "-C", d.control] + list(args), capture_output=True,
                               text=True, timeout=30 * SLOW)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        ctl("disable", "whoami")
        self.lb.wait_states({"whoami/" + node: "DOWN", "inner/" + node: "UP"})
        for addr in CLIENTS:
            port, out = self.ask(addr)
            self.assertEqual(out, answer(addr, port, BALANCER))
        self.assertEqual(self.starts(d, "whoami", CLIENTS[0], BALANCER), 1, d.text())
        ctl("enable", "whoami")
        self.lb.wait_states({"whoami/" + node: "UP"})
        port, out = self.ask(CLIENTS[0])
        self.assertEqual(out, answer(CLIENTS[0], port, BALANCER))
        self.assertEqual(self.node_of(CLIENTS[0], count=2), node)

    def test_relay_tells_the_inner_host(self):
        """Through porter's redirect with redirect_proxy = v2: the inner
        host's server sees the client, through whichever porter host, and
        its per_source counts the client across them."""
        for node, host in HOSTS.items():
            self.lb.only("inner", node)
            for addr in CLIENTS:
                port, out = self.ask(addr, RELAY)
                self.assertEqual(out, answer(addr, port, host))
                self.inner.wait_log(START % ("whoami", re.escape(addr), re.escape(host)))
            self.nodes[node].wait_log(r"START: inner pid=0 from=%s via=%s$" %
                                      (re.escape(CLIENTS[0]), re.escape(BALANCER)))
        # Two held through n1 and n2, the third through n3 is one too many.
        addr = CLIENTS[0]
        for i, node in enumerate(("n1", "n2")):
            self.lb.only("inner", node)
            self.hold(addr, RELAY)
            wait_for(lambda: self.running(self.inner, "whoami", addr) == i + 1,
                     what="%d servers for %s on the inner host" % (i + 1, addr))
        self.lb.only("inner", "n3")
        self.assertEqual(self.ask(addr, RELAY)[1], b"")
        self.inner.wait_log(r"FAIL: whoami per_source_limit from=%s via=%s$" %
                            (re.escape(addr), re.escape(HOSTS["n3"])))


class HaproxyUnderLoadTest(Scaleout):
    """Clients that ask again the moment an answer ends: a host killed, a
    host reloaded. per_source is lifted for them: a server counts until
    porterd has collected its exit, which the kernel reports a moment
    after the client saw the connection close, so a client this eager
    meets per_source = 2 with one request at a time."""

    WHOAMI_CHANGES = {"per_source": "UNLIMITED"}

    def test_a_dead_host_is_taken_out(self):
        """porterd killed on the host that serves a client: haproxy marks
        it down and, from then on, every client is served by the other
        two."""
        self.ask(CLIENTS[0])
        node = self.node_of(CLIENTS[0])
        load = Load(self, WHOAMI, CLIENTS)
        down = None
        try:
            wait_for(lambda: all(load.count(a) >= 3 for a in CLIENTS), 20, "the load running")
            self.nodes[node].proc.kill()
            self.lb.wait_states({"whoami/" + node: "DOWN", "inner/" + node: "DOWN"})
            down = time.monotonic()
            # The clients of the dead host among them: a few answers each.
            wait_for(lambda: all(load.count(a, since=down) >= 5 for a in CLIENTS), 20,
                     "answers after the host went down")
        finally:
            results = load.stop()
        after = [(a, e) for t, _, a, e in results if t >= down and e is not None]
        self.assertEqual(after, [], "clients failed after %s was marked down" % node)
        self.assertRegex(self.lb.text(), r"Server whoami/%s is DOWN" % node)
        # The dead host's client went to one of the others.
        others = [d for n, d in self.nodes.items() if n != node]
        wait_for(lambda: sum(self.starts(d, "whoami", CLIENTS[0], BALANCER) for d in others),
                 what="%s served by another host" % CLIENTS[0])
        before = [e for t, _, a, e in results if t < down and e is not None]
        print("\n  %s killed: %d of %d requests failed before haproxy marked it down %s, "
              "none after" % (node, len(before), len(results), sorted(set(before))))

    def test_reload_under_load_loses_no_connection(self):
        """porterctl reload on the host that serves the clients, with a
        changed configuration, while they keep asking: every request is
        answered, before, during and after."""
        self.ask(CLIENTS[0])
        node = self.node_of(CLIENTS[0])
        d = self.nodes[node]
        load = Load(self, WHOAMI, CLIENTS)
        reloads = []
        try:
            wait_for(lambda: load.count(CLIENTS[0]) >= 10, 20, "the load running")
            for i, per_source in enumerate(("50", "UNLIMITED") * 3):
                d.write_conf(self.conf("porter.conf", per_source=per_source))
                began = time.monotonic()
                r = subprocess.run([PORTERCTL, "-C", d.control, "reload"], capture_output=True,
                                   text=True, timeout=30 * SLOW)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                d.wait_log(r"reloaded: 2 of 2 services listening$", count=i + 1)
                reloads.append((began, time.monotonic()))
                wait_for(lambda: load.count(CLIENTS[0], since=reloads[-1][1]) >= 10, 20,
                         "answers after reload %d" % (i + 1))
        finally:
            results = load.stop()
        bad = [(a, e) for _, _, a, e in results if e is not None]
        self.assertEqual(bad, [], "%d of %d requests failed; %s's log:\n%s" %
                         (len(bad), len(results), node, d.text()))
        # The host reloaded kept serving: START lines after the last reload.
        text = d.text()
        last = text.rfind("reloaded: ")
        self.assertRegex(text[last:], (START % ("whoami", re.escape(CLIENTS[0]),
                                                 re.escape(BALANCER))).rstrip("$"))
        self.assertNotRegex(text, r"listening on tcp .* port 8080[\s\S]*listening on tcp .* "
                                  r"port 8080", "the listener was opened again:\n" + text)
        self.no_fail(d)
        during = sum(1 for t0, t1, _, _ in results if any(t0 < b and t1 > a for a, b in reloads))
        print("\n  %d requests answered, %d of them while %s reloaded (%d times)" %
              (len(results), during, node, len(reloads)))
