"""porterd's internal services with real clients: nc (netcat-openbsd) and
socat over TCP and UDP, as an operator would poke at them.

The services are declared as in examples/porter.conf. They are served
inside porterd with no process: porterd logs a START line (pid=0) for each
stream session, none for a datagram (porterd(8), LOGGING), and no EXIT
line.
"""
import re
import struct
import subprocess
import time

from interop import PorterTest, SLOW, need, ok, run

CONF = """
defaults
{{
	bind           = 127.0.0.1
	log_on_success = PID HOST EXIT DURATION
	log_on_failure = HOST
}}

service echo
{{
	id          = echo-stream
	type        = INTERNAL UNLISTED
	port        = {PORT0}
	socket_type = stream
	wait        = no
}}

service echo
{{
	id          = echo-dgram
	type        = INTERNAL UNLISTED
	port        = {PORT0}
	socket_type = dgram
	wait        = yes
}}

service daytime
{{
	id          = daytime-stream
	type        = INTERNAL UNLISTED
	port        = {PORT1}
	socket_type = stream
	wait        = no
}}

service daytime
{{
	id          = daytime-dgram
	type        = INTERNAL UNLISTED
	flags       = FULLREPLY
	port        = {PORT1}
	socket_type = dgram
	wait        = yes
}}

service time
{{
	id          = time-stream
	type        = INTERNAL UNLISTED
	port        = {PORT2}
	socket_type = stream
	wait        = no
}}

service chargen
{{
	id          = chargen-stream
	type        = INTERNAL UNLISTED
	port        = {PORT3}
	socket_type = stream
	wait        = no
}}

service discard
{{
	id          = discard-stream
	type        = INTERNAL UNLISTED
	port        = {PORT4}
	socket_type = stream
	wait        = no
}}
"""

# daytime's answer: "Sunday, November 29, 2026 12:30:17-UTC" or ctime's
# "Sun Nov 29 12:30:17 2026", whichever the server chose; both name the year.
YEAR = time.gmtime().tm_year


class NcSocatTest(PorterTest):
    def setUp(self):
        need(self, "nc", "socat")
        self.d = self.start(CONF, nports=5)

    def starts(self, sid, count):
        d = self.d
        if count:
            d.wait_log(r"START: %s pid=0 from=127\.0\.0\.1$" % sid, count=count)
        self.assertEqual(d.count_log(r"START: %s " % sid), count, d.text())

    def test_echo_tcp_and_udp(self):
        d = self.d
        port = str(d.ports[0])
        data = b"".join(b"line %d of the echo test\n" % i for i in range(2000))
        # nc -N: half-close after the end of input, then read to the end.
        r = run(["nc", "-N", "127.0.0.1", port], input=data)
        ok(self, r, d)
        self.assertTrue(r.stdout == data, "nc: echo over TCP changed the bytes")
        r = run(["socat", "-", "TCP:127.0.0.1:" + port], input=data)
        ok(self, r, d)
        self.assertTrue(r.stdout == data, "socat: echo over TCP changed the bytes")
        # UDP: one datagram each way. socat leaves half a second after the
        # end of its input; nc -w1 a second after the last packet.
        r = run(["socat", "-", "UDP:127.0.0.1:" + port], input=b"ping over udp\n")
        ok(self, r, d)
        self.assertEqual(r.stdout, b"ping over udp\n")
        r = run(["nc", "-u", "-w1", "127.0.0.1", port], input=b"nc over udp\n")
        ok(self, r, d)
        self.assertEqual(r.stdout, b"nc over udp\n")
        self.starts("echo-stream", 2)
        self.starts("echo-dgram", 0)
        self.assertEqual(d.count_log(r"EXIT: "), 0, d.text())

    def test_daytime_and_time(self):
        d = self.d
        port = str(d.ports[1])
        for cmd in (["nc", "127.0.0.1", port], ["socat", "-u", "TCP:127.0.0.1:" + port, "-"]):
            r = run(cmd)
            ok(self, r, d)
            self.assertRegex(r.stdout.decode(), r"^[^\n]*\b%d\b[^\n]*\r?\n$" % YEAR)
        # daytime over UDP with FULLREPLY answers any datagram, even one
        # shorter than the answer.
        r = run(["socat", "-", "UDP:127.0.0.1:" + port], input=b"\n")
        ok(self, r, d)
        self.assertRegex(r.stdout.decode(), r"\b%d\b" % YEAR)
        self.starts("daytime-stream", 2)
        self.starts("daytime-dgram", 0)

        # time: four bytes, seconds since 1900, big-endian.
        before = int(time.time())
        r = run(["socat", "-u", "TCP:127.0.0.1:%d" % d.ports[2], "-"])
        ok(self, r, d)
        self.assertEqual(len(r.stdout), 4, r.stdout)
        t = struct.unpack("!I", r.stdout)[0] - 2208988800
        self.assertLessEqual(abs(t - before), 5)
        self.starts("time-stream", 1)

    def test_chargen_and_discard(self):
        d = self.d
        # chargen sends until the client goes: read 10000 bytes and leave.
        p = subprocess.Popen(["nc", "127.0.0.1", str(d.ports[3])], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE)
        try:
            got = b""
            while len(got) < 10000:
                b = p.stdout.read1(65536)
                self.assertTrue(b, "chargen stopped after %d bytes" % len(got))
                got += b
        finally:
            p.kill()
            p.wait(10 * SLOW)
            p.stdout.close()
        lines = got.split(b"\r\n")[:-1]
        self.assertGreater(len(lines), 100)
        for line in lines:
            self.assertEqual(len(line), 72, line)
            self.assertTrue(re.fullmatch(rb"[ -~]{72}", line), line)
        # Each line starts one character further along.
        self.assertEqual(lines[1][:71], lines[0][1:])
        self.starts("chargen-stream", 1)

        # discard takes 4 MiB and answers nothing.
        r = run(["socat", "-u", "-", "TCP:127.0.0.1:%d" % d.ports[4]],
                input=b"x" * (4 << 20))
        ok(self, r, d)
        self.assertEqual(r.stdout, b"")
        self.starts("discard-stream", 1)
