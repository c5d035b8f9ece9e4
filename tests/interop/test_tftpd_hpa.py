"""tftpd-hpa's in.tftpd under porterd (UDP, wait = yes), with the tftp-hpa
client and curl: 1 MiB both ways, byte for byte, and two clients at once.

The service is examples/interop/tftp on a free port of 127.0.0.1, with the
directory in the test's folder and --timeout 1 so that in.tftpd leaves a
second after the last request instead of fifteen minutes.
"""
import os
import pwd
import shutil
import subprocess
import tempfile

from interop import PorterTest, SLOW, example, need, need_root, ok, run, service, sessions

IN_TFTPD = "/usr/sbin/in.tftpd"
MIB = 1 << 20


class TftpdHpaTest(PorterTest):
    def setUp(self):
        need(self, IN_TFTPD, "tftp", "curl")
        need_root(self, "in.tftpd --secure chroots and switches to the user tftp")
        try:
            self.tftp_user = pwd.getpwnam("tftp")
        except KeyError:
            self.fail("no user tftp: the tftpd-hpa package creates it")

    def serve(self):
        conf = service(example("tftp"), type="UNLISTED", port="{PORT0}", bind="127.0.0.1",
                       server_args="--secure --create --user tftp --timeout 1 {DIR}/tftp")
        d = self.start(conf, files={"tftp/.keep": ""})
        self.root = os.path.join(d.dir, "tftp")
        # --create writes as the user tftp.
        os.chown(self.root, self.tftp_user.pw_uid, self.tftp_user.pw_gid)
        self.client = tempfile.mkdtemp(prefix="porter-tftp-")
        self.addCleanup(shutil.rmtree, self.client, True)
        self.url = "tftp://127.0.0.1:%d/" % d.port
        return d

    def tftp(self, d, *command):
        return ["tftp", "-m", "binary", "127.0.0.1", str(d.port), "-c"] + list(command)

    def put_file(self, path, data, mode=0o644):
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)

    def read(self, path):
        with open(path, "rb") as f:
            return f.read()

    def same(self, path, data, what):
        got = self.read(path)
        self.assertEqual(len(got), len(data), what + ": wrong size")
        self.assertTrue(got == data, what + ": wrong bytes")

    def test_get_and_put_with_tftp_and_curl(self):
        d = self.serve()
        data = os.urandom(MIB)
        up = os.urandom(MIB)
        self.put_file(os.path.join(self.root, "big.bin"), data)
        self.put_file(os.path.join(self.client, "up.bin"), up)

        ok(self, run(self.tftp(d, "get", "big.bin", "got-tftp.bin"), cwd=self.client), d)
        self.same(os.path.join(self.client, "got-tftp.bin"), data, "tftp get")
        ok(self, run(self.tftp(d, "put", "up.bin", "up-tftp.bin"), cwd=self.client), d)
        self.same(os.path.join(self.root, "up-tftp.bin"), up, "tftp put")

        ok(self, run(["curl", "-sS", "-o", "got-curl.bin", self.url + "big.bin"],
                     cwd=self.client), d)
        self.same(os.path.join(self.client, "got-curl.bin"), data, "curl get")
        ok(self, run(["curl", "-sS", "-T", "up.bin", self.url + "up-curl.bin"],
                     cwd=self.client), d)
        self.same(os.path.join(self.root, "up-curl.bin"), up, "curl put")

        # A file that is not there: an error for the client, not for the
        # server, which goes on serving.
        r = run(self.tftp(d, "get", "nothere.bin", "nothere.bin"), cwd=self.client)
        self.assertIn(b"File not found", r.stdout + r.stderr)
        r = run(["curl", "-sS", "-o", "/dev/null", self.url + "nothere.bin"], cwd=self.client)
        self.assertNotEqual(r.returncode, 0)

        # Each in.tftpd took the socket, served what came and left a
        # second after the last request.
        sessions(self, d, "tftp")

    def test_two_clients_at_once(self):
        d = self.serve()
        data = os.urandom(MIB)
        up = os.urandom(MIB)
        self.put_file(os.path.join(self.root, "big.bin"), data)
        self.put_file(os.path.join(self.client, "up.bin"), up)
        rounds = ([self.tftp(d, "get", "big.bin", "a.bin"),
                   ["curl", "-sS", "-T", "up.bin", self.url + "b.bin"]],
                  [["curl", "-sS", "-o", "c.bin", self.url + "big.bin"],
                   self.tftp(d, "put", "up.bin", "d.bin")])
        for pair in rounds:
            procs = [subprocess.Popen(c, cwd=self.client, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                     for c in pair]
            for p in procs:
                out = p.communicate(timeout=30 * SLOW)[0]
                self.assertEqual(p.returncode, 0, "%s: %r" % (p.args, out))
        self.same(os.path.join(self.client, "a.bin"), data, "tftp get beside a curl put")
        self.same(os.path.join(self.root, "b.bin"), up, "curl put beside a tftp get")
        self.same(os.path.join(self.client, "c.bin"), data, "curl get beside a tftp put")
        self.same(os.path.join(self.root, "d.bin"), up, "tftp put beside a curl get")
        sessions(self, d, "tftp")
