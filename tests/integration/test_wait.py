"""wait = yes services: the server gets the service socket itself.

A dgram server reads the datagrams, a stream server accepts on the
listening socket, and the service sleeps until that server exits; with
listen_fds the socket arrives the systemd way as fd 3.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import PORTERD, SLOW, PorterTest, recv_all

HELPERS = os.environ.get("HELPERS", os.path.abspath("build/tests/helpers"))
IN_TFTPD = "/usr/sbin/in.tftpd"


def need_program(test, path):
    """Skips a test whose program is missing; in CI that is a failure."""
    if os.path.exists(path) or shutil.which(path):
        return
    if os.environ.get("CI"):
        test.fail("%s is not installed (CI must have it)" % path)
    test.skipTest("%s is not installed" % path)


def parse_kv(data):
    """'k=v k=v' words (one line or many) into a dict."""
    out = {}
    for line in data.decode().splitlines():
        if "=" not in line:
            continue
        if line.count("=") == 1 or " " not in line:
            k, _, v = line.partition("=")
            out[k] = v
            continue
        for part in line.split(" "):
            k, _, v = part.partition("=")
            out[k] = v
    return out


class WaitDgramTest(PorterTest):
    def tftp(self, port, cwd, *command):
        """Runs the tftp-hpa client once; returns its CompletedProcess."""
        return subprocess.run(["tftp", "-m", "binary", "127.0.0.1", str(port), "-c"] +
                              list(command), cwd=cwd, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=30 * SLOW)

    def test_tftp_get_and_put(self):
        need_program(self, IN_TFTPD)
        need_program(self, "tftp")
        if os.geteuid() != 0:
            self.skipTest("in.tftpd -s (chroot) needs root")
        d = self.start("""
service tftp
{{
	type        = UNLISTED
	port        = {PORT0}
	socket_type = dgram
	protocol    = udp
	wait        = yes
	user        = root
	server      = %s
	server_args = -s {DIR}/tftp -c -p -u root -t 2
	bind        = 127.0.0.1
	log_on_success = PID HOST EXIT
}}
""" % IN_TFTPD, files={"tftp/.keep": ""})
        root = os.path.join(d.dir, "tftp")
        data = os.urandom(1 << 20)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(data)
        os.chmod(os.path.join(root, "big.bin"), 0o644)
        client = tempfile.mkdtemp(prefix="porter-tftp-")
        self.addCleanup(shutil.rmtree, client, True)
        with open(os.path.join(client, "up.bin"), "wb") as f:
            f.write(data[::-1])

        # Get, then put the reversed file under a new name.
        r = self.tftp(d.port, client, "get", "big.bin", "got.bin")
        self.assertEqual(r.returncode, 0, r)
        with open(os.path.join(client, "got.bin"), "rb") as f:
            self.assertTrue(f.read() == data, "the file got is not the file served")
        r = self.tftp(d.port, client, "put", "up.bin", "up.bin")
        self.assertEqual(r.returncode, 0, r)
        with open(os.path.join(root, "up.bin"), "rb") as f:
            self.assertTrue(f.read() == data[::-1], "the file put is not the file sent")
        d.wait_log(r"START: tftp pid=\d+ from=127\.0\.0\.1$")

        # Two clients at once, one getting and one putting.
        for name in ("got2.bin", "got3.bin"):
            if os.path.exists(os.path.join(client, name)):
                os.unlink(os.path.join(client, name))
        procs = [subprocess.Popen(["tftp", "-m", "binary", "127.0.0.1", str(d.port), "-c"] + c,
                                  cwd=client, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                 for c in (["get", "big.bin", "got2.bin"], ["put", "up.bin", "up2.bin"])]
        outs = [p.communicate(timeout=30 * SLOW)[0] for p in procs]
        for p, out in zip(procs, outs):
            self.assertEqual(p.returncode, 0, out)
        with open(os.path.join(client, "got2.bin"), "rb") as f:
            self.assertTrue(f.read() == data, "concurrent get: wrong bytes")
        with open(os.path.join(root, "up2.bin"), "rb") as f:
            self.assertTrue(f.read() == data[::-1], "concurrent put: wrong bytes")

    def udpone_conf(self, hold_ms):
        return """
service udpone
{{
	type        = UNLISTED
	port        = {PORT0}
	socket_type = dgram
	wait        = yes
	user        = root
	server      = %s/udpone
	server_args = {DIR}/lock %d
	bind        = 127.0.0.1
	log_on_success = PID HOST EXIT
}}
""" % (HELPERS, hold_ms)

    def test_datagrams_wait_for_the_next_server(self):
        d = self.start(self.udpone_conf(300))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5 * SLOW)
            # Two at once: the first server takes one, the second waits in
            # the socket until that server has exited.
            s.sendto(b"one", ("127.0.0.1", d.port))
            s.sendto(b"two", ("127.0.0.1", d.port))
            got = [parse_kv(s.recvfrom(1024)[0]) for _ in range(2)]
            self.assertEqual(sorted(g["data"] for g in got), ["one", "two"])
            self.assertEqual([g["lock"] for g in got], ["ok", "ok"],
                             "a second server ran while the first held the socket")
            self.assertNotEqual(got[0]["pid"], got[1]["pid"])
            first = got[0]["pid"]
            d.wait_log(r"EXIT: udpone status=0 pid=%s$" % first)

            # One sent while a server is known to be running (it has
            # answered and holds on for 300 ms): kept for the next one.
            s.sendto(b"three", ("127.0.0.1", d.port))
            a = parse_kv(s.recvfrom(1024)[0])
            self.assertEqual(a["data"], "three")
            s.sendto(b"four", ("127.0.0.1", d.port))
            b = parse_kv(s.recvfrom(1024)[0])
            self.assertEqual(b["data"], "four")
            self.assertEqual((a["lock"], b["lock"]), ("ok", "ok"))
            self.assertNotEqual(a["pid"], b["pid"])
            # porterd started b's server only after a's had exited. (The
            # START line may come after the server has already answered.)
            d.wait_log(r"START: udpone pid=%s " % b["pid"])
            text = d.text()
            self.assertLess(text.index("EXIT: udpone status=0 pid=%s" % a["pid"]),
                            text.index("START: udpone pid=%s " % b["pid"]), text)
        d.wait_log(r"EXIT: udpone status=0 pid=%s$" % b["pid"])
        self.assertEqual(d.count_log(r"START: udpone "), 4)

    def test_dgram_wait_no_refused(self):
        tmp = tempfile.mkdtemp(prefix="porter-it-")
        self.addCleanup(shutil.rmtree, tmp, True)
        conf = os.path.join(tmp, "porter.conf")
        with open(conf, "w") as f:
            f.write("service s\n{\n\ttype = UNLISTED\n\tport = 20140\n"
                    "\tsocket_type = dgram\n\twait = no\n\tuser = root\n"
                    "\tserver = /bin/cat\n}\n")
        r = subprocess.run([PORTERD, "-t", "-f", conf], capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(r.returncode, 78, r)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "%s:6: s: wait = no is not supported for dgram services; "
                         "use wait = yes (the server reads the datagrams itself)\n" % conf)


class WaitStreamTest(PorterTest):
    def conf(self, server, args="", extra=""):
        return """
service waitsvc
{{
	type        = UNLISTED
	port        = {PORT0}
	socket_type = stream
	wait        = yes
	user        = root
	server      = %s/%s
	%s
	bind        = 127.0.0.1
	log_on_success = PID HOST EXIT
	%s
}}
""" % (HELPERS, server, "server_args = " + args if args else "", extra)

    def test_server_gets_the_listening_socket(self):
        # The server waits 200 ms before it accepts: meanwhile the
        # listener is readable and the service must stay asleep.
        d = self.start(self.conf("acceptone", "200"))
        pids = []
        for i in range(2):
            with d.connect() as s:
                r = parse_kv(recv_all(s))
            self.assertEqual(r["listening"], "1", r)
            # The server expects a blocking socket, as inetd gives it.
            self.assertEqual(r["nonblock"], "0", r)
            pids.append(r["pid"])
            d.wait_log(r"EXIT: waitsvc status=0 pid=%s$" % r["pid"])
            self.assertEqual(d.count_log(r"START: waitsvc "), i + 1,
                             "more than one server per connection:\n" + d.text())
        self.assertNotEqual(pids[0], pids[1])
        for pid in pids:
            # No peer: porterd did not accept the connection itself.
            d.wait_log(r"START: waitsvc pid=%s from=<no address>$" % pid)

    def test_server_that_never_accepts_is_restarted_with_a_brake(self):
        # The server exits at once without accepting, so the client stays
        # queued and the socket stays readable: each quick exit makes the
        # next start wait longer (100, 200, 400, 800 ms), where porterd
        # used to start some 140 servers in 0.3 s.
        d = self.start(self.conf("slow", "0"))
        c = d.connect()
        self.addCleanup(c.close)
        d.wait_log(r"START: waitsvc ")
        t1 = time.monotonic()
        d.wait_log(r"START: waitsvc ", timeout=10, count=5)
        self.assertGreater(time.monotonic() - t1, 1.4, d.text())
        d.wait_log(r"waitsvc: servers exit at once; starting the next one after a pause")

    def test_listen_fds(self):
        d = self.start(self.conf("listenfds", extra="listen_fds  = yes"))
        with d.connect() as s:
            raw = recv_all(s)
        self.assertTrue(raw.endswith(b"\nend\n"), raw)
        r = parse_kv(raw)
        self.assertEqual(r["LISTEN_FDS"], "1", r)
        self.assertEqual(r["LISTEN_PID"], r["pid"], r)
        self.assertEqual(r["LISTEN_FDNAMES"], "waitsvc", r)
        for fd in ("fd0", "fd1", "fd2"):
            self.assertEqual(r[fd], "chr null", r)
        self.assertEqual(r["fd3"], "socket listening", r)
        self.assertEqual(r["fds"], "0,1,2,3", r)
        d.wait_log(r"EXIT: waitsvc status=0 pid=%s$" % r["pid"])
        # The next connection gets the next server.
        with d.connect() as s:
            r2 = parse_kv(recv_all(s))
        self.assertEqual(r2["LISTEN_PID"], r2["pid"])
        self.assertNotEqual(r2["pid"], r["pid"])
