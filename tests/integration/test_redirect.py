"""redirect, black box: the relay runs inside porterd's event loop.

Every target is a server the test runs itself on loopback (a Python
thread, or for the concurrency test one selectors loop), so the test sees
both ends of the relay: bytes are compared exactly, half-closes are
observed on the far side, and the TRAFFIC/EXIT/FAIL lines are checked
against what really crossed.
"""
import fcntl
import hashlib
import os
import resource
import selectors
import socket
import threading
import time

from harness import PorterTest, recv_all, wait_for, SLOW, entry, children

LOG = r"porterd\[\d+\]: INFO: "
MIB = 1 << 20


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def relay_conf(target_port, target_host="127.0.0.1", bind="127.0.0.1", extra="",
               sid="relay", port="{PORT0}"):
    """A redirect service; target_port may be a placeholder such as
    "{PORT1}"."""
    return entry(sid, extra, type="UNLISTED", port=port, socket_type="stream", wait="no",
                 bind=bind, redirect="%s %s" % (target_host, target_port),
                 log_on_success="PID HOST EXIT DURATION TRAFFIC", log_on_failure="HOST")


class Target:
    """A TCP server on loopback: handler(conn) runs in a thread of its own
    for every connection; what it returns (or raises) is kept in order."""

    def __init__(self, handler, host="127.0.0.1", backlog=64):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.results = []
        self.errors = []
        self.peers = []
        self.lock = threading.Lock()
        self.stopping = False
        self.threads = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                conn, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(None)
            with self.lock:
                self.peers.append(addr[0])
            t = threading.Thread(target=self._one, args=(conn,), daemon=True)
            self.threads.append(t)
            t.start()

    def _one(self, conn):
        try:
            r = self.handler(conn)
            with self.lock:
                self.results.append(r)
        except Exception as e:  # reported by the test through .errors
            with self.lock:
                self.errors.append(repr(e))
        finally:
            conn.close()

    def wait_results(self, n, timeout=10.0):
        wait_for(lambda: len(self.results) + len(self.errors) >= n, timeout,
                 "%d connection(s) handled by the target" % n)
        if self.errors:
            raise AssertionError("target failed: %s" % self.errors)
        return self.results

    def close(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def echo_handler(conn):
    n = 0
    while True:
        b = conn.recv(65536)
        if not b:
            return n
        conn.sendall(b)
        n += len(b)


class RedirectTest(PorterTest):
    def target(self, handler, **kw):
        t = Target(handler, **kw)
        self.addCleanup(t.close)
        return t

    def client(self, d, host="127.0.0.1", port=None, timeout=10.0):
        s = d.connect(port=port, host=host, timeout=timeout)
        self.addCleanup(s.close)
        return s

    # ---------------------------------------------------------- bulk

    def test_bulk_upload_exact_and_traffic_counted(self):
        size = 32 * MIB

        def sink(conn):
            h = hashlib.sha256()
            n = 0
            while True:
                b = conn.recv(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
            # The client's half-close arrived; the answer still goes back.
            conn.sendall(("%d %s\n" % (n, h.hexdigest())).encode())
            return n

        t = self.target(sink)
        d = self.start(relay_conf(t.port))
        data = os.urandom(size)
        s = self.client(d, timeout=30)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        reply = recv_all(s)
        want = ("%d %s\n" % (size, hashlib.sha256(data).hexdigest())).encode()
        self.assertEqual(reply, want)
        self.assertEqual(t.wait_results(1), [size])
        s.close()
        d.wait_log(LOG + r"TRAFFIC: relay in=%d\(bytes\) out=%d\(bytes\)$" % (size, len(want)))
        d.wait_log(LOG + r"EXIT: relay status=0 pid=0 duration=\d+\(sec\)$")
        d.wait_log(LOG + r"START: relay pid=0 from=127\.0\.0\.1$")

    def test_bulk_download_exact_and_traffic_counted(self):
        size = 32 * MIB
        data = os.urandom(size)

        def source(conn):
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
            return recv_all(conn)

        t = self.target(source)
        d = self.start(relay_conf(t.port))
        s = self.client(d, timeout=30)
        got = recv_all(s, limit=size + 1)
        self.assertEqual(len(got), size)
        self.assertTrue(got == data, "downloaded bytes differ")
        s.sendall(b"thanks")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(t.wait_results(1), [b"thanks"])
        self.assertEqual(recv_all(s), b"")
        d.wait_log(LOG + r"TRAFFIC: relay in=6\(bytes\) out=%d\(bytes\)$" % size)
        d.wait_log(LOG + r"EXIT: relay status=0 pid=0 duration=\d+\(sec\)$")

    # ---------------------------------------------------------- half-close

    def test_client_half_close_reaches_target(self):
        def answer_after_eof(conn):
            got = recv_all(conn)  # needs the client's FIN passed on
            conn.sendall(b"answer:" + got)
            return got

        t = self.target(answer_after_eof)
        d = self.start(relay_conf(t.port))
        s = self.client(d)
        s.sendall(b"question")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(s), b"answer:question")
        self.assertEqual(t.wait_results(1), [b"question"])
        d.wait_log(LOG + r"TRAFFIC: relay in=8\(bytes\) out=15\(bytes\)$")
        # A clean end on both sides: no suffix.
        d.wait_log(LOG + r"EXIT: relay status=0 pid=0 duration=\d+\(sec\)$")

    def test_target_half_close_reaches_client(self):
        def speak_first(conn):
            conn.sendall(b"greeting")
            conn.shutdown(socket.SHUT_WR)
            return recv_all(conn)  # the client still talks after our FIN

        t = self.target(speak_first)
        d = self.start(relay_conf(t.port))
        s = self.client(d)
        # EOF here means the target's FIN was passed on...
        self.assertEqual(recv_all(s), b"greeting")
        # ...and the other direction is still open.
        time.sleep(0.2)
        s.sendall(b"late words")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(t.wait_results(1), [b"late words"])
        d.wait_log(LOG + r"TRAFFIC: relay in=10\(bytes\) out=8\(bytes\)$")
        d.wait_log(LOG + r"EXIT: relay status=0 pid=0 duration=\d+\(sec\)$")

    # ---------------------------------------------------------- failures

    def test_refusing_target(self):
        # Bound but not listening: the port is ours and every SYN gets a RST.
        closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(closed.close)
        closed.bind(("127.0.0.1", 0))
        d = self.start(relay_conf(closed.getsockname()[1]))
        t0 = time.monotonic()
        s = self.client(d)
        self.assertEqual(recv_all(s), b"")
        self.assertLess(time.monotonic() - t0, 2.0 * SLOW)
        d.wait_log(LOG + r"FAIL: relay connect from=127\.0\.0\.1$")
        self.assertEqual(d.count_log(r"TRAFFIC: |EXIT: |START: "), 0, d.text())
        # The service is still there for the next client.
        s2 = self.client(d)
        self.assertEqual(recv_all(s2), b"")
        d.wait_log(LOG + r"FAIL: relay connect from=127\.0\.0\.1$", count=2)

    def test_target_that_never_accepts_times_out(self):
        # A listener nobody accepts from, with its queue full: the kernel
        # drops further SYNs, so the relay's connect hangs until
        # CONNECT_MS (10 s).
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lst.close)
        lst.bind(("127.0.0.1", 0))
        lst.listen(0)
        port = lst.getsockname()[1]
        fillers = []
        for _ in range(4):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.addCleanup(f.close)
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", port))
            fillers.append(f)
        # The queue is full once a new connect gets no answer.
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            with self.assertRaises(socket.timeout, msg="the listen queue did not fill"):
                probe.connect(("127.0.0.1", port))
        finally:
            probe.close()

        d = self.start(relay_conf(port))
        t0 = time.monotonic()
        s = self.client(d, timeout=20)
        self.assertEqual(recv_all(s), b"")
        took = time.monotonic() - t0
        self.assertGreater(took, 9.0, "gave up before the connect timeout:\n" + d.text())
        self.assertLess(took, 12.0 * SLOW, "no connect timeout")
        d.wait_log(LOG + r"FAIL: relay connect from=127\.0\.0\.1$")
        self.assertEqual(d.count_log(r"TRAFFIC: |EXIT: |START: "), 0, d.text())

    # ---------------------------------------------------------- timeouts

    def test_idle_relay_ends_busy_relay_lives(self):
        t = self.target(echo_handler)
        d = self.start(relay_conf(t.port, extra="redirect_idle = 2"))
        silent = self.client(d)
        busy = self.client(d)
        t0 = time.monotonic()
        done = {}

        def keep_busy():
            try:
                for i in range(9):  # 4 s of a byte every 0.5 s
                    busy.sendall(b"%d" % i)
                    done[i] = busy.recv(16)
                    time.sleep(0.5)
            except OSError as e:
                done["error"] = e

        th = threading.Thread(target=keep_busy)
        th.start()
        self.assertEqual(recv_all(silent), b"")
        took = time.monotonic() - t0
        self.assertGreater(took, 1.5)
        self.assertLess(took, 3.5 * SLOW)
        d.wait_log(LOG + r"EXIT: relay status=0 pid=0 duration=\d+\(sec\) idle$")
        th.join(10 * SLOW)
        self.assertNotIn("error", done)
        self.assertEqual([done[i] for i in range(9)], [b"%d" % i for i in range(9)])
        self.assertGreater(time.monotonic() - t0, 4.0)
        busy.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(busy), b"")
        d.wait_log(LOG + r"EXIT: relay status=0 pid=0 duration=\d+\(sec\)$")
        self.assertEqual(d.count_log(r"EXIT: relay .* idle$"), 1, d.text())

    def test_timeout_caps_duration(self):
        t = self.target(echo_handler)
        d = self.start(relay_conf(t.port, extra="timeout = 2"))
        s = self.client(d)
        t0 = time.monotonic()
        got = b""
        ended = None
        # Busy all along: only the cap can end it.
        while time.monotonic() - t0 < 6 * SLOW:
            try:
                s.sendall(b"x")
                b = s.recv(16)
            except OSError:
                b = b""
            if not b:
                ended = time.monotonic() - t0
                break
            got += b
            time.sleep(0.2)
        self.assertIsNotNone(ended, "the relay outlived its timeout")
        self.assertGreater(ended, 1.5)
        self.assertLess(ended, 3.5 * SLOW)
        self.assertTrue(got and set(got) == {ord("x")})
        d.wait_log(LOG + r"EXIT: relay status=0 pid=0 duration=\d+\(sec\) timeout$")
        d.wait_log(LOG + r"TRAFFIC: relay in=\d+\(bytes\) out=\d+\(bytes\)$")

    # ---------------------------------------------------------- IPv6

    def test_ipv6_listener_to_ipv4_target_and_back(self):
        t4 = self.target(echo_handler, host="127.0.0.1")
        t6 = self.target(echo_handler, host="::1")
        conf = (relay_conf(t4.port, target_host="127.0.0.1", bind="::1", sid="six2four",
                           port="{PORT0}") +
                relay_conf(t6.port, target_host="::1", bind="127.0.0.1", sid="four2six",
                           port="{PORT1}"))
        d = self.start(conf)
        s = self.client(d, host="::1", port=d.ports[0])
        s.sendall(b"over six")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(s), b"over six")
        s = self.client(d, host="127.0.0.1", port=d.ports[1])
        s.sendall(b"over four")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(s), b"over four")
        self.assertEqual(t4.wait_results(1), [8])
        self.assertEqual(t6.wait_results(1), [9])
        # Each target saw the relay's own socket, of the target's family.
        self.assertEqual(t4.peers, ["127.0.0.1"])
        self.assertEqual(t6.peers, ["::1"])
        d.wait_log(LOG + r"START: six2four pid=0 from=::1$")
        d.wait_log(LOG + r"TRAFFIC: six2four in=8\(bytes\) out=8\(bytes\)$")
        d.wait_log(LOG + r"START: four2six pid=0 from=127\.0\.0\.1$")
        d.wait_log(LOG + r"TRAFFIC: four2six in=9\(bytes\) out=9\(bytes\)$")

    # ---------------------------------------------------------- limits

    def test_instances_and_per_source_count_relays(self):
        t = self.target(echo_handler)
        d = self.start(relay_conf(t.port, extra="instances = 2\n\tper_source = 1"))

        def open_relay(source):
            s = d.connect(source=source)
            self.addCleanup(s.close)
            s.sendall(b"hi from " + source.encode())
            return s

        a = open_relay("127.0.0.1")
        self.assertEqual(a.recv(64), b"hi from 127.0.0.1")
        # A second relay from the same source: per_source.
        s = open_relay("127.0.0.1")
        self.assertEqual(recv_all(s), b"")
        d.wait_log(LOG + r"FAIL: relay per_source_limit from=127\.0\.0\.1$")
        b = open_relay("127.0.0.2")
        self.assertEqual(b.recv(64), b"hi from 127.0.0.2")
        # Two relays running: instances.
        s = open_relay("127.0.0.3")
        self.assertEqual(recv_all(s), b"")
        d.wait_log(LOG + r"FAIL: relay service_limit from=127\.0\.0\.3$")
        # A relay that ends gives its slots back.
        a.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(a), b"")
        d.wait_log(LOG + r"EXIT: relay ")
        c = open_relay("127.0.0.1")
        self.assertEqual(c.recv(64), b"hi from 127.0.0.1")
        self.assertEqual(children(d.proc.pid), [])

    # ---------------------------------------------------------- scale

    def test_no_process_per_relay(self):
        t = self.target(echo_handler)
        d = self.start(relay_conf(t.port))
        s = self.client(d)
        s.sendall(b"ping")
        self.assertEqual(s.recv(16), b"ping")
        # The relay is live and both ends talk, and porterd forked nothing.
        self.assertEqual(children(d.proc.pid), [])
        s.sendall(b"pong")
        self.assertEqual(s.recv(16), b"pong")
        s.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_all(s), b"")
        d.wait_log(LOG + r"TRAFFIC: relay in=8\(bytes\) out=8\(bytes\)$")

    def test_relays_to_clients_that_never_read_are_bounded(self):
        # 200 relays from porterd's own chargen to clients that never read
        # fill their pipes; grown pipes are held to a budget (64 MiB on
        # top of the 64 KiB pipes), where each used to grow to 1 MiB. A
        # relay of another client meanwhile moves its bytes.
        n = 200
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 8 * n + 256
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))
        chargen = entry("chargen", "", type="INTERNAL UNLISTED", port="{PORT1}",
                        socket_type="stream", wait="no", bind="127.0.0.1")
        echo = entry("echo", "", type="INTERNAL UNLISTED", port="{PORT2}",
                     socket_type="stream", wait="no", bind="127.0.0.1")
        d = self.start(relay_conf("{PORT1}") + chargen + echo +
                       relay_conf("{PORT2}", sid="bulk", port="{PORT3}"))
        stalled = []
        for i in range(n):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.connect(("127.0.0.1", d.port))
            stalled.append(c)
        self.addCleanup(lambda: [c.close() for c in stalled])

        def pipes():
            """porterd's pipes: {inode: size}."""
            out = {}
            fds = "/proc/%d/fd" % d.proc.pid
            for fd in os.listdir(fds):
                path = os.path.join(fds, fd)
                try:
                    if not os.readlink(path).startswith("pipe:"):
                        continue
                    st = os.stat(path)
                    f = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                except OSError:
                    continue
                try:
                    out[st.st_ino] = fcntl.fcntl(f, 1032)  # F_GETPIPE_SZ
                finally:
                    os.close(f)
            return out

        # Every relay's pipes are there, and the pipes that could grow have.
        wait_for(lambda: len(pipes()) >= 2 * n, 20, "the relays' pipes")
        wait_for(lambda: sum(1 for v in pipes().values() if v > 64 * 1024) >= 60, 20,
                 "grown pipes")
        # Another relay carries 8 MiB both ways meanwhile.
        with socket.create_connection(("127.0.0.1", d.ports[3]), timeout=30 * SLOW) as b:
            data = os.urandom(8 * MIB)
            t = threading.Thread(target=b.sendall, args=(data,))
            t.start()
            got = bytearray()
            while len(got) < len(data):
                chunk = b.recv(1 << 20)
                self.assertTrue(chunk, "the bulk relay ended early")
                got += chunk
            t.join()
            self.assertEqual(bytes(got), data)
        sizes = pipes()
        grown = sum(v - 64 * 1024 for v in sizes.values() if v > 64 * 1024)
        self.assertLessEqual(grown, 64 * MIB + 2 * MIB, "grown pipes: %d bytes" % grown)

    def test_thousand_concurrent_relays(self):
        n = 1000
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 4 * n + 256
        if hard != resource.RLIM_INFINITY and hard < want:
            self.skipTest("RLIMIT_NOFILE hard limit %d is below %d" % (hard, want))
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

        # One selectors loop serves every target-side connection: echo.
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind(("127.0.0.1", 0))
        lst.listen(4096)
        lst.setblocking(False)
        port = lst.getsockname()[1]
        stop = threading.Event()
        accepted = [0]

        def serve():
            sel = selectors.DefaultSelector()
            sel.register(lst, selectors.EVENT_READ)
            while not stop.is_set():
                for key, _ in sel.select(0.1):
                    if key.fileobj is lst:
                        while True:
                            try:
                                c, _ = lst.accept()
                            except BlockingIOError:
                                break
                            c.setblocking(True)
                            sel.register(c, selectors.EVENT_READ)
                            accepted[0] += 1
                        continue
                    c = key.fileobj
                    try:
                        b = c.recv(65536)
                    except OSError:
                        b = b""
                    if b:
                        c.sendall(b)
                    else:
                        sel.unregister(c)
                        c.close()
            for key in list(sel.get_map().values()):
                key.fileobj.close()
            sel.close()

        th = threading.Thread(target=serve, daemon=True)
        th.start()

        def finish():
            stop.set()
            th.join(5)
            lst.close()
        self.addCleanup(finish)

        d = self.start(relay_conf(port))
        clients = []
        self.addCleanup(lambda: [c.close() for c in clients])
        payloads = [(b"relay %04d " % i) * 6 for i in range(n)]  # 66 bytes each
        for p in payloads:
            c = d.connect(timeout=20)
            clients.append(c)
            c.sendall(p)
        for c, p in zip(clients, payloads):
            got = b""
            while len(got) < len(p):
                b = c.recv(len(p) - len(got))
                if not b:
                    break
                got += b
            self.assertEqual(got, p)
        # All n relays are open and have carried their bytes both ways.
        self.assertEqual(accepted[0], n)
        pid = d.proc.pid
        rss = vm_rss_kib(pid)
        nfds = len(os.listdir("/proc/%d/fd" % pid))
        print("\nporterd VmRSS with %d concurrent relays: %d KiB (%.1f MiB), %d fds" %
              (n, rss, rss / 1024.0, nfds))
        self.assertEqual(children(pid), [])
        bound = 64 * 1024 * (4 if SLOW > 1 else 1)
        self.assertLess(rss, bound, "porterd's RSS with %d relays" % n)
        for c in clients:
            c.shutdown(socket.SHUT_WR)
        for c in clients:
            self.assertEqual(recv_all(c), b"")
        d.wait_log(LOG + r"TRAFFIC: relay ", count=n, timeout=20)
        lines = [l for l in d.text().splitlines() if "TRAFFIC: relay " in l]
        self.assertEqual(len(lines), n)
        bad = [l for l in lines if not l.endswith(" in=66(bytes) out=66(bytes)")]
        self.assertEqual(bad, [])
