"""Limits, checked in the parent before anything is forked: instances,
per_source (and per_source_prefix), per_source_cps, cps (which pauses the
listener instead of closing it), max_load, the global -limit, the
per-connection time cap, a flood against a limited service, and refused
clients that cost no process.

Clients bind to distinct loopback sources (127.0.0.2, 127.0.0.3, ...) so
that porterd sees them as different peers. Counts that depend on which
client the kernel queues first are asserted on sets or with bounds; the
counts asserted exactly are the ones the parent decides alone, before any
fork, for clients that all arrive well inside one slow server's lifetime.
"""
import errno
import json
import os
import re
import selectors
import socket
import subprocess
import sys
import time

from harness import SLOW, PorterTest, converse, recv_all, wait_for, entry, refusals

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))


def service(sid, port, server=None, args="", extra="", internal=None):
    """One wait = no stream service on 127.0.0.1, logging what the tests
    read; port is a placeholder name such as PORT0. internal names a
    builtin (the service is then called that, with id sid)."""
    return entry(internal or sid, extra, id=sid,
                 type="UNLISTED%s" % (" INTERNAL" if internal else ""),
                 port="{%s}" % port, socket_type="stream", wait="no", bind="127.0.0.1",
                 log_on_failure="HOST", log_on_success="PID HOST EXIT",
                 user="root" if server else None, server=server,
                 server_args=args if server and args else None)


def slow(sid, port, ms, extra=""):
    return service(sid, port, "%s/slow" % HELPERS, str(ms), extra)


def porterd_children(pid):
    """pids whose parent is pid, zombies included, read from /proc/*/stat."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(name))
    return out


def alive(pid):
    """True while pid exists and is not a zombie (PID 1 here may be
    something that never reaps an orphan)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


class Client:
    """One non-blocking client connection and what became of it."""

    def __init__(self, port, source=None, tag=None):
        self.tag = tag
        self.source = source
        self.data = b""
        self.error = None
        self.t0 = time.monotonic()
        self.t_end = None
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        if source:
            self.sock.bind((source, 0))
        rc = self.sock.connect_ex(("127.0.0.1", port))
        if rc not in (0, errno.EINPROGRESS):
            self.finish(os.strerror(rc))

    @property
    def done(self):
        return self.t_end is not None

    @property
    def served(self):
        return self.done and self.error is None and self.data == b"done\n"

    @property
    def refused(self):
        """Accepted, then closed with nothing sent: what a limit does."""
        return self.done and self.error is None and self.data == b""

    @property
    def elapsed(self):
        return (self.t_end if self.done else time.monotonic()) - self.t0

    def finish(self, error=None):
        self.error = error
        self.t_end = time.monotonic()
        self.sock.close()

    def __repr__(self):
        return "<%s from %s: %r err=%s %.2fs>" % (self.tag, self.source, self.data,
                                                 self.error, self.elapsed)


def drive(clients, timeout, sel=None, until=None):
    """Reads every client until EOF, an error or the deadline; returns
    when all are done (or until() is true)."""
    own = sel is None
    sel = sel or selectors.DefaultSelector()
    for c in clients:
        if not c.done and c.sock.fileno() not in sel.get_map():
            sel.register(c.sock, selectors.EVENT_READ, c)
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline and any(not c.done for c in clients):
        if until is not None and until():
            break
        for key, _ in sel.select(timeout=0.05):
            c = key.data
            try:
                b = c.sock.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                sel.unregister(c.sock)
                c.finish(e.strerror)
                continue
            if b:
                c.data += b
            else:
                sel.unregister(c.sock)
                c.finish()
    if own:
        sel.close()
    return clients


def served_now(port, source=None, timeout=3.0):
    """One client now: True when it gets the slow server's answer."""
    c = Client(port, source)
    drive([c], timeout)
    if not c.done:
        c.finish("unfinished")
    return c.served


def fails(d, sid, reason):
    """The from= addresses of sid's FAIL lines for reason."""
    rx = re.compile(r"FAIL: %s %s from=(\S+)$" % (re.escape(sid), re.escape(reason)))
    return [m.group(1) for m in (rx.search(l) for l in d.text().splitlines()) if m]


# Measures the latency of a daytime service every 50 ms until its stdin
# closes, then prints what it saw as JSON; "ready" once it has started. A
# process of its own, so the flood's Python does not hold up its clock.
PROBE = r"""
import json, select, socket, sys, time
port = int(sys.argv[1])
lat, bad = [], []
print("ready", flush=True)
while True:
    t0 = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            data = b""
            while True:
                b = s.recv(256)
                if not b:
                    break
                data += b
        if data.endswith(b"\r\n") and len(data) > 10:
            lat.append(time.monotonic() - t0)
        else:
            bad.append(repr(data))
    except OSError as e:
        bad.append(str(e))
    if select.select([sys.stdin], [], [], 0.05)[0]:
        break
print(json.dumps({"lat": lat, "bad": bad}))
"""


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


class LimitsTest(PorterTest):
    def test_instances(self):
        d = self.start(slow("lim", "PORT0", 1500, "instances = 3"))
        clients = [Client(d.port, "127.0.0.%d" % (2 + i), i) for i in range(8)]
        drive(clients, 10)
        self.assertTrue(all(c.done for c in clients), clients)
        served = [c for c in clients if c.served]
        refused = [c for c in clients if c.refused]
        # The parent counts its running servers before it forks, and all
        # eight arrive long before the first server ends: exactly 3.
        self.assertEqual(len(served), 3, clients)
        self.assertEqual(len(refused), 5, clients)
        for c in refused:
            # Closed at once, well before any slow server has answered.
            self.assertLess(c.elapsed, 1.0 * SLOW, c)
        for c in served:
            self.assertGreater(c.elapsed, 1.3, c)
        d.wait_log(r"FAIL: lim service_limit from=", count=5)
        self.assertEqual(sorted(fails(d, "lim", "service_limit")),
                         sorted(c.source for c in refused))
        self.assertEqual(d.count_log(r"START: lim pid=\d+ from="), 3)
        # Once they have gone, the service serves again.
        d.wait_log(r"EXIT: lim status=0 pid=\d+$", count=3)
        again = drive([Client(d.port, "127.0.0.%d" % (20 + i)) for i in range(3)], 10)
        self.assertTrue(all(c.served for c in again), again)

    def test_per_source(self):
        d = self.start(slow("ps", "PORT0", 1000, "per_source = 2"))
        same = [Client(d.port, "127.0.0.2", i) for i in range(4)]
        other = Client(d.port, "127.0.0.3", "other")
        drive(same + [other], 10)
        self.assertEqual(sum(c.served for c in same), 2, same)
        self.assertEqual(sum(c.refused for c in same), 2, same)
        self.assertTrue(other.served, other)
        for c in same:
            if c.refused:
                self.assertLess(c.elapsed, 0.8 * SLOW, c)
        d.wait_log(r"FAIL: ps per_source_limit from=", count=2)
        self.assertEqual(fails(d, "ps", "per_source_limit"), ["127.0.0.2", "127.0.0.2"])
        # The count goes down as servers exit.
        d.wait_log(r"EXIT: ps status=0 pid=\d+$", count=3)
        self.assertTrue(served_now(d.port, "127.0.0.2"))

    def test_per_source_after_a_reload_raises_instances(self):
        # The per-source table was sized for instances = 2 and kept that
        # size when a reload raised them: a third source found it full and
        # went uncounted, free to start any number of servers.
        d = self.start(slow("grow", "PORT0", 30000, "instances = 2\n\tper_source = 1"))
        first = [d.connect(d.port, source="127.0.0.%d" % i) for i in (2, 3)]
        for s in first:
            self.addCleanup(s.close)
        wait_for(lambda: d.count_log(r"START: grow ") == 2, what="two servers")
        d.reload(slow("grow", "PORT0", 30000, "instances = 10\n\tper_source = 1"))
        third = drive([Client(d.port, "127.0.0.4", i) for i in range(3)], 3)
        self.assertEqual(sum(c.refused for c in third), 2, third)
        d.wait_log(r"FAIL: grow per_source_limit from=127\.0\.0\.4$", count=2)
        # The sources counted before the reload still are.
        again = drive([Client(d.port, "127.0.0.2", "again")], 3)
        self.assertTrue(again[0].refused, again)
        d.wait_log(r"FAIL: grow per_source_limit from=127\.0\.0\.2$")

    def test_per_source_prefix(self):
        d = self.start(slow("pfx", "PORT0", 1000, "per_source = 2\nper_source_prefix = 24 64"))
        net = [Client(d.port, src, src) for src in
               ("127.0.0.2", "127.0.0.3", "127.0.0.2", "127.0.0.3")]
        far = Client(d.port, "127.0.1.2", "far")
        drive(net + [far], 10)
        # Two addresses, one /24: one source with room for two. Whole
        # addresses would have let all four in.
        self.assertEqual(sum(c.served for c in net), 2, net)
        self.assertEqual(sum(c.refused for c in net), 2, net)
        self.assertTrue(far.served, far)
        d.wait_log(r"FAIL: pfx per_source_limit from=", count=2)
        got = fails(d, "pfx", "per_source_limit")
        self.assertEqual(len(got), 2, d.text())
        self.assertTrue(set(got) <= {"127.0.0.2", "127.0.0.3"}, got)

    def test_per_source_cps(self):
        d = self.start(slow("rate", "PORT0", 0, "per_source_cps = 2 3"))
        t0 = time.monotonic()
        burst = [Client(d.port, "127.0.0.2", i) for i in range(5)]
        other = Client(d.port, "127.0.0.3", "other")
        drive(burst + [other], 5)
        # All five came within far less than the 500 ms one token takes.
        self.assertLess(max(c.t0 for c in burst) - t0, 0.3, burst)
        self.assertEqual(sum(c.served for c in burst), 3, burst)
        self.assertEqual(sum(c.refused for c in burst), 2, burst)
        self.assertTrue(other.served, other)
        d.wait_log(r"FAIL: rate per_source_rate from=", count=2)
        self.assertEqual(fails(d, "rate", "per_source_rate"), ["127.0.0.2", "127.0.0.2"])
        # The bucket refills at 2 a second: soon one more gets through.
        wait_for(lambda: served_now(d.port, "127.0.0.2"), 3, "a token for 127.0.0.2",
                 interval=0.1)

    def test_cps_counts_only_admitted_clients(self):
        # Clients the access rules refuse do not count towards cps: a
        # flood of them does not pause the service for the others.
        d = self.start(slow("cps", "PORT0", 0, "cps = 5 2\n\tonly_from = 127.0.0.1"))
        pausing = r"cps: .*pausing the service"
        flood = drive([Client(d.port, "127.0.0.%d" % (2 + i), i) for i in range(30)], 10)
        self.assertTrue(all(c.refused for c in flood), flood)
        d.wait_log(r"FAIL: cps address from=", count=30)
        self.assertEqual(d.count_log(pausing), 0)
        ok = drive([Client(d.port, "127.0.0.1", "ok")], 5)
        self.assertTrue(ok[0].served and ok[0].elapsed < 1.0 * SLOW, ok)

    def test_cps_pauses_the_listener(self):
        d = self.start(slow("cps", "PORT0", 0, "cps = 5 2"))
        pausing = r"cps: 5 connections in one second; pausing the service for 2 s"
        flood = [Client(d.port, "127.0.0.%d" % (2 + i), i) for i in range(20)]
        self.assertFalse([c for c in flood if c.done], "a connect failed: %r" % flood)
        sel = selectors.DefaultSelector()
        drive(flood, 5, sel, until=lambda: d.count_log(pausing) > 0)
        d.wait_log(pausing)
        # During the pause the listener is still there: connect() succeeds
        # (xinetd closed it, so this was "connection refused") and the
        # client waits in the backlog instead of being turned away.
        pauses_before = d.count_log(pausing)
        probe = socket.create_connection(("127.0.0.1", d.port), timeout=2,
                                         source_address=("127.0.0.40", 0))
        t_probe = time.monotonic()
        self.addCleanup(probe.close)
        probe.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            probe.recv(16)
        probe.settimeout(15 * SLOW)
        self.assertEqual(recv_all(probe), b"done\n")
        waited = time.monotonic() - t_probe
        drive(flood, 20, sel)
        sel.close()
        pauses = d.count_log(pausing)
        served = sum(c.served for c in flood)
        print("\n  cps = 5 2, 20 at once: %d served, %d pauses; "
              "a client during pause %d waited %.1f s" %
              (served, pauses, pauses_before, waited))
        # cps pauses and never refuses: every client is served, five a
        # pause, the rest waiting in the kernel's queue meanwhile.
        self.assertTrue(all(c.done for c in flood), flood)
        self.assertEqual(served, 20, flood)
        self.assertEqual(d.count_log(r"FAIL: cps "), 0)
        self.assertGreaterEqual(pauses, 4)
        self.assertGreater(waited, 1.0)
        self.assertLess(waited, 2.0 * (pauses - pauses_before + 1) + 2.0 * SLOW)
        # Then the service is normal again: once the last window of one
        # second is over, a full rate's worth goes straight through.
        last = max(c.t_end for c in flood)
        wait_for(lambda: time.monotonic() - last > 1.1, 3, "a new one-second window")
        again = drive([Client(d.port, "127.0.0.%d" % (50 + i)) for i in range(5)], 5)
        self.assertTrue(all(c.served and c.elapsed < 1.0 * SLOW for c in again), again)
        # The fifth of them reaches the rate again and pauses the service.
        d.wait_log(pausing, count=pauses + 1)

    def test_max_load(self):
        with open("/proc/loadavg") as f:
            load = float(f.read().split()[0])
        d = self.start(service("high", "PORT0", internal="daytime", extra="max_load = 1000000") +
                       service("low", "PORT1", internal="daytime", extra="max_load = 0.000001"))
        self.assertTrue(converse(d.ports[0]).endswith(b"\r\n"))
        self.assertEqual(fails(d, "high", "load"), [])
        if load == 0.0:
            self.skipTest("the load average is 0.00: nothing is above max_load")
        c = drive([Client(d.ports[1], "127.0.0.2")], 5)[0]
        self.assertTrue(c.refused, c)
        d.wait_log(r"FAIL: low load from=127\.0\.0\.2$")

    def test_global_process_limit(self):
        d = self.start(slow("one", "PORT0", 1500) + slow("two", "PORT1", 1500),
                       args=("-limit", "2"))
        first = [Client(d.ports[0], "127.0.0.2", "one"), Client(d.ports[1], "127.0.0.3", "two")]
        d.wait_log(r"START: (one|two) pid=\d+ from=", count=2)
        third = Client(d.ports[0], "127.0.0.4", "third")
        drive([third], 5)
        self.assertTrue(third.refused and third.elapsed < 1.0 * SLOW, third)
        d.wait_log(r"FAIL: one process_limit from=127\.0\.0\.4$")
        drive(first, 10)
        self.assertTrue(all(c.served for c in first), first)
        d.wait_log(r"EXIT: (one|two) status=0 pid=\d+$", count=2)
        self.assertTrue(served_now(d.ports[1], "127.0.0.5"))

    def test_timeout_kills_the_process_group(self):
        script = ("#!/bin/sh\nsleep 1000 &\necho \"$$ $!\" > {DIR}/pids.tmp\n"
                  "mv {DIR}/pids.tmp {DIR}/pids\nexec sleep 1000\n")
        d = self.start(service("cap", "PORT0", "{DIR}/hang.sh", extra="timeout = 2"),
                       files={"hang.sh": script})
        t0 = time.monotonic()
        s = d.connect(source="127.0.0.2", timeout=10)
        self.addCleanup(s.close)
        path = os.path.join(d.dir, "pids")
        wait_for(lambda: os.path.exists(path), 5, "the server's pid file")
        with open(path) as f:
            server, grandchild = (int(x) for x in f.read().split())
        self.assertTrue(alive(server) and alive(grandchild))
        # EOF only once every holder of the connection is gone: the
        # background job too.
        self.assertEqual(recv_all(s), b"")
        took = time.monotonic() - t0
        self.assertGreater(took, 1.5)
        self.assertLess(took, 5.0 * SLOW)
        wait_for(lambda: not alive(server) and not alive(grandchild), 5,
                 "the server and its background job gone")
        d.wait_log(r"START: cap pid=%d from=127\.0\.0\.2$" % server)
        d.wait_log(r"EXIT: cap signal=9 pid=%d timeout=2\(sec\)$" % server)

    def test_flood(self):
        total, window, slow_ms = 2000, 200, 300
        d = self.start(slow("flood", "PORT0", slow_ms, "instances = 10") +
                       service("clock", "PORT1", internal="daytime"))
        probe = subprocess.Popen([sys.executable, "-c", PROBE, str(d.ports[1])],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(lambda: probe.poll() is None and probe.kill())
        self.assertEqual(probe.stdout.readline(), b"ready\n")
        sel = selectors.DefaultSelector()
        live, done = [], []
        opened = 0
        most = 0
        t0 = time.monotonic()
        stall_after = 5.0 * SLOW
        while opened < total or live:
            # Keep at most `window` attempts in flight, opened in waves.
            while opened < total and len(live) < window:
                c = Client(d.ports[0], "127.0.%d.%d" % (1 + opened // 250, 2 + opened % 250),
                           opened)
                opened += 1
                if c.done:
                    done.append(c)
                else:
                    live.append(c)
                    sel.register(c.sock, selectors.EVENT_READ, c)
            drive(live, 0.05, sel)
            for c in list(live):
                if not c.done and c.elapsed > stall_after:
                    sel.unregister(c.sock)
                    c.finish("stalled")
                if c.done:
                    live.remove(c)
                    done.append(c)
            most = max(most, len(porterd_children(d.proc.pid)))
        elapsed = time.monotonic() - t0
        sel.close()
        out, _ = probe.communicate(b"", timeout=30 * SLOW)
        res = json.loads(out)
        served = sum(c.served for c in done)
        refused = sum(c.refused for c in done)
        stalled = sum(c.error == "stalled" for c in done)
        other = len(done) - served - refused - stalled
        lat = res["lat"]
        print("\n  flood: %d attempts in %.1f s: %d served, %d refused, %d stalled, "
              "%d other errors; at most %d servers at once" %
              (len(done), elapsed, served, refused, stalled, other, most))
        if lat:
            print("  daytime probe during the flood: %d answers, p50 %.1f ms, "
                  "p99 %.1f ms, max %.1f ms" %
                  (len(lat), 1000 * percentile(lat, 50), 1000 * percentile(lat, 99),
                   1000 * max(lat)))
        self.assertEqual(res["bad"], [], "probes without an answer")
        self.assertGreater(len(lat), 0)
        self.assertEqual(len(done), total)
        self.assertGreater(served, 0)
        self.assertGreater(refused, 0)
        # Sampled, so a bound: never more than instances servers.
        self.assertLessEqual(most, 10)
        self.assertIsNone(d.proc.poll())
        wait_for(lambda: served_now(d.ports[0], "127.0.0.2"), 10, "the slow service again",
                 interval=0.2)
        self.assertTrue(converse(d.ports[1]).endswith(b"\r\n"))

    def test_refused_clients_cost_no_process(self):
        d = self.start(slow("busy", "PORT0", 60000, "instances = 1"))
        holder = Client(d.port, "127.0.0.2", "holder")
        self.addCleanup(lambda: holder.done or holder.finish())
        m = d.wait_log(r"START: busy pid=(\d+) from=127\.0\.0\.2$")
        pid = int(m.group(1))
        wait_for(lambda: porterd_children(d.proc.pid) == [pid], 5, "one child")
        seen = set()
        clients = []
        for wave in range(4):
            batch = [Client(d.port, "127.0.%d.%d" % (1 + wave, 2 + i)) for i in range(50)]
            clients += batch
            # Sampled at every turn of the read loop.
            drive(batch, 5, until=lambda: seen.update(porterd_children(d.proc.pid)))
            seen.update(porterd_children(d.proc.pid))
        self.assertTrue(all(c.refused for c in clients),
                        [c for c in clients if not c.refused][:5])
        wait_for(lambda: refusals(d, "busy", "service_limit") == 200, 10,
                 "200 refusals logged")
        # Sampled all along: no child but the one server ever appeared.
        self.assertEqual(seen, {pid})
        self.assertEqual(porterd_children(d.proc.pid), [pid])
        self.assertEqual(d.count_log(r"START: busy "), 1)
