"""porter's redirect in front of real servers: the same client checks as
test_micro_httpd and test_rsyncd, made through a relay port.

Each case serves the program on one port (examples/interop/http or
examples/interop/rsync) and examples/interop/http-relay on another, with
`redirect = 127.0.0.1 PORT` pointing at the first. The relay's START,
EXIT and TRAFFIC lines are checked beside the server's own.
"""
import re

from interop import PorterTest, example, need, need_root, service, sessions
from test_micro_httpd import MICRO_HTTPD, check_http, http_files
from test_rsyncd import RSYNC, check_rsync, rsync_files

RELAY_START = r"START: relay pid=0 from=127\.0\.0\.1$"
RELAY_EXIT = r"EXIT: relay status=0 pid=0 duration=\d+\(sec\)"
RELAY_TRAFFIC = r"TRAFFIC: relay in=(\d+)\(bytes\) out=(\d+)\(bytes\)$"


def relay(target_port="{PORT0}"):
    return service(example("http-relay"), id="relay", type="UNLISTED", port="{PORT1}",
                   bind="127.0.0.1", redirect="127.0.0.1 " + target_port)


class RedirectRelayTest(PorterTest):
    def relayed(self, d, count):
        """Every relayed connection has its START, EXIT and TRAFFIC line;
        returns the bytes relayed (in, out) over all of them."""
        d.wait_log(RELAY_START, count=count)
        d.wait_log(RELAY_EXIT, count=count)
        d.wait_log(RELAY_TRAFFIC, count=count)
        text = d.text()
        self.assertEqual(d.count_log(r"START: relay "), count, text)
        self.assertEqual(d.count_log(r"EXIT: relay "), count, text)
        self.assertNotRegex(text, r"FAIL: relay ", text)
        pairs = [(int(a), int(b)) for a, b in re.findall(RELAY_TRAFFIC, text, re.M)]
        return sum(a for a, _ in pairs), sum(b for _, b in pairs)

    def test_http_through_the_relay(self):
        need(self, MICRO_HTTPD, "curl")
        need_root(self, "the service runs as nobody:www-data")
        conf = service(example("http"), type="UNLISTED", port="{PORT0}", bind="127.0.0.1",
                       server_args="{DIR}/www") + relay()
        d = self.start(conf, files=http_files())
        statuses = check_http(self, d, d.ports[1])
        got = sessions(self, d, "http", len(statuses), status=(0, 1))
        self.assertEqual(got[:4], statuses[:4])
        self.assertEqual(sorted(got[4:]), statuses[4:])
        bytes_in, bytes_out = self.relayed(d, len(statuses))
        self.assertGreater(bytes_in, 0)
        # At least every body that came back went through the relay.
        self.assertGreater(bytes_out, 30 * 200 * 8)

    def test_rsync_through_the_relay(self):
        need(self, RSYNC)
        need_root(self, "rsync --daemon chroots into the module and switches to nobody")
        conf, files = rsync_files("127.0.0.1")
        d = self.start(conf + relay(), files=files)
        statuses = check_rsync(self, d, "rsync://127.0.0.1:%d/" % d.ports[1])
        self.assertEqual(sessions(self, d, "rsync", 3, status=(0, 255)), statuses)
        bytes_in, bytes_out = self.relayed(d, 3)
        self.assertGreater(bytes_out, 200 * 1000)
