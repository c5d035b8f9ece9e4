"""Socket activation: porterd started by systemd-socket-activate (the
sd_listen_fds(3) protocol: LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES) serves
on the sockets it is given instead of binding them, by name and else by
address; a reload keeps them; a socket that fits no service is logged and
closed, and the service binds its own. systemd-socket-activate only starts
porterd when a client comes, so that client reached a socket porterd did
not make."""
import re
import shutil
import socket

from harness import PorterTest, converse, entry, refused, wait_for, SLOW

SSA = shutil.which("systemd-socket-activate")


def echo(port, sid="echo"):
    return entry("echo", id=sid, type="INTERNAL UNLISTED", port=port, socket_type="stream",
                 wait="no", bind="127.0.0.1")


def hello(port):
    return entry("hello", type="UNLISTED", port=port, socket_type="stream", wait="no",
                 user="root", server="/bin/echo", server_args="hello", bind="127.0.0.1",
                 log_on_success="PID EXIT")


CONF = echo("{PORT0}") + hello("{PORT1}")


class ActivateTest(PorterTest):

    def setUp(self):
        if SSA is None:
            self.skipTest("needs systemd-socket-activate (Debian's systemd package)")

    def activated(self, conf, *listen, datagram=False):
        """porterd under systemd-socket-activate with one socket per
        (address, name) in listen; nothing runs until a client comes."""
        prefix = [SSA]
        if datagram:
            prefix.append("--datagram")
        for addr, _ in listen:
            prefix += ["-l", addr]
        prefix.append("--fdname=" + ":".join(name for _, name in listen))
        return self.start(conf, prefix=prefix, ready=False)

    @staticmethod
    def early_client(port):
        """Connects as soon as systemd-socket-activate listens and sends
        a line; the connection waits in the kernel's queue."""
        def attempt():
            s = socket.socket()
            s.settimeout(10 * SLOW)
            try:
                s.connect(("127.0.0.1", port))
                return s
            except OSError:
                s.close()
                return None
        return wait_for(attempt, what="systemd-socket-activate to listen")

    def test_adopts_by_name_and_by_address_and_serves_the_first_client(self):
        d = self.activated(CONF, ("127.0.0.1:{PORT0}", "echo"),
                           ("127.0.0.1:{PORT1}", "unknown"))
        s = self.early_client(d.ports[0])
        self.addCleanup(s.close)
        s.sendall(b"early\n")
        s.shutdown(socket.SHUT_WR)
        d.wait_log(r"porterd \S+ started", 10)
        # The client that woke porterd up is served on the socket it was
        # queued on.
        self.assertEqual(s.recv(100), b"early\n")
        text = d.text()
        self.assertRegex(text, r"systemd passed 2 sockets")
        self.assertRegex(text, r'echo: adopted fd 3 named "echo" from systemd, listening on '
                         r"tcp 127\.0\.0\.1 port %d" % d.ports[0])
        # "unknown", systemd's name for an unnamed socket, is no service's:
        # the socket goes to the service bound where it is.
        self.assertRegex(text, r'hello: adopted fd 4 named "unknown" from systemd')
        self.assertNotRegex(text, r"(echo|hello): listening on")
        self.assertNotRegex(text, r"no service's socket")
        self.assertEqual(converse(d.ports[1]), b"hello\n")

        # A reload, with a service more, keeps both sockets.
        d.reload(CONF + echo("{PORT2}", "echo2"))
        self.assertEqual(d.count_log(r": adopted fd"), 2, d.text())
        self.assertEqual(d.count_log(r"(echo|hello): listening on"), 0, d.text())
        self.assertEqual(d.count_log(r"echo2: listening on"), 1, d.text())
        self.assertEqual(converse(d.ports[0], b"after"), b"after")
        self.assertEqual(converse(d.ports[1]), b"hello\n")
        self.assertEqual(converse(d.ports[2], b"two"), b"two")

    def test_a_socket_that_fits_no_service_is_closed_and_the_service_binds(self):
        # Named for echo but on another port, and named for nobody.
        d = self.activated(CONF, ("127.0.0.1:{PORT2}", "echo"),
                           ("127.0.0.1:{PORT3}", "nosuch"))
        s = self.early_client(d.ports[2])
        self.addCleanup(s.close)
        d.wait_log(r"porterd \S+ started", 10)
        d.wait_log(r'echo: the socket fd 3 named "echo" from systemd does not fit the '
                   r"service: bound to 127\.0\.0\.1 port %d, not to the service's address; "
                   r"porterd binds the service's own" % d.ports[2])
        d.wait_log(r'fd 3 named "echo" from systemd \(stream 127\.0\.0\.1 port %d\) is no '
                   r"service's socket; closing it" % d.ports[2])
        d.wait_log(r'fd 4 named "nosuch" from systemd \(stream 127\.0\.0\.1 port %d\) is no '
                   r"service's socket; closing it" % d.ports[3])
        d.wait_log(r"echo: listening on tcp 127\.0\.0\.1 port %d" % d.ports[0])
        self.assertEqual(converse(d.ports[0], b"own"), b"own")
        # Nothing listens where the stray sockets were.
        wait_for(lambda: refused(d.ports[2]) and refused(d.ports[3]),
                 what="the stray sockets to be closed")

    def test_a_socket_of_the_wrong_type_is_not_taken(self):
        d = self.activated(CONF, ("127.0.0.1:{PORT0}", "echo"), datagram=True)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(u.close)

        def poke():
            u.sendto(b"wake", ("127.0.0.1", d.ports[0]))
            return re.search(r"porterd \S+ started", d.text())
        wait_for(poke, 10, "porterd to start", interval=0.2)
        d.wait_log(r'echo: the socket fd 3 named "echo" from systemd does not fit the '
                   r"service: a dgram socket, the service wants stream")
        d.wait_log(r'fd 3 named "echo" from systemd \(dgram 127\.0\.0\.1 port %d\) is no '
                   r"service's socket" % d.ports[0])
        d.wait_log(r"echo: listening on tcp 127\.0\.0\.1 port %d" % d.ports[0])
        self.assertEqual(converse(d.ports[0], b"tcp"), b"tcp")
