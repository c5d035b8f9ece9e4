"""rsync's daemon mode under porterd, one `rsync --daemon` per connection
reading its own rsyncd.conf, with the rsync client: a tree of 200 files,
then an incremental sync of a few changed, added and deleted files,
checked by content.

The service is examples/interop/rsync (IPv6, as Red Hat shipped it) bound
to ::1 on a free port; rsyncd.conf is examples/interop/rsyncd.conf with the
module and the log file in the test's folder.
"""
import os
import random
import re
import shutil
import tempfile

from interop import (PorterTest, example, need, need_root, ok, run, service, sessions,
                     settings)

RSYNC = "/usr/bin/rsync"


def rsync_files(peer="::1"):
    """The service and its rsyncd.conf, as Porterd arguments; on an IPv4
    address the service's flags say IPv4."""
    conf = service(example("rsync"), type="UNLISTED", port="{PORT0}", bind=peer,
                   server_args="--daemon --config={DIR}/rsyncd.conf",
                   flags="IPv6" if ":" in peer else "IPv4")
    rsyncd = settings(example("rsyncd.conf"), " = ", path="{DIR}/pub",
                      log_file="{DIR}/rsyncd.log")
    return conf, {"rsyncd.conf": rsyncd, "pub/.keep": ""}


def make_tree(top, n=200, seed=6):
    """n files of varied sizes in nested directories; returns their
    relative paths."""
    rnd = random.Random(seed)
    paths = []
    for i in range(n):
        rel = os.path.join("d%d" % (i % 7), "e%d" % (i % 3), "f%03d.dat" % i)
        full = os.path.join(top, rel)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(rnd.randbytes(rnd.choice((0, 1, 100, 4096, 70000))))
        paths.append(rel)
    os.unlink(os.path.join(top, ".keep"))
    return paths


def tree(top):
    """{relative path: bytes} of every file under top."""
    out = {}
    for dirpath, _, names in os.walk(top):
        for n in names:
            full = os.path.join(dirpath, n)
            with open(full, "rb") as f:
                out[os.path.relpath(full, top)] = f.read()
    return out


def check_rsync(test, d, base):
    """The client checks against rsync://.../ base (the service itself or a
    relay in front of it): the module list, a tree of 200 files, then an
    incremental sync. Returns the exit statuses of the three daemons:
    rsync --daemon ends a session that only listed the modules with 255,
    under any inetd."""
    src = os.path.join(d.dir, "pub")
    paths = make_tree(src)
    dest = tempfile.mkdtemp(prefix="porter-rsync-")
    test.addCleanup(shutil.rmtree, dest, True)

    def sync():
        r = run([RSYNC, "-a", "--delete", "--stats", "-i", base + "pub/", dest])
        ok(test, r, d)
        return r.stdout.decode()

    # The module list, from the daemon's configuration.
    r = run([RSYNC, base])
    ok(test, r, d)
    test.assertRegex(r.stdout.decode(), r"(?m)^pub\s+public files$")

    out = sync()
    test.assertIn("Number of regular files transferred: 200", out)
    test.assertEqual(tree(dest), tree(src))

    # A few files change (in size and time, so rsync's quick check sees
    # them), one is added, one deleted: only those move.
    changed = paths[3:8]
    for rel in changed:
        full = os.path.join(src, rel)
        with open(full, "ab") as f:
            f.write(b"changed " + rel.encode())
        os.utime(full, (1700000000, 1700000000))
    with open(os.path.join(src, "d1", "new.txt"), "wb") as f:
        f.write(b"a new file\n")
    os.unlink(os.path.join(src, paths[100]))
    out = sync()
    test.assertIn("Number of regular files transferred: 6", out)
    moved = set(re.findall(r"(?m)^>f\S* (.+)$", out))
    test.assertEqual(moved, set(changed) | {"d1/new.txt"}, out)
    test.assertIn("*deleting   %s" % paths[100], out)
    test.assertEqual(tree(dest), tree(src))
    return [255, 0, 0]


class RsyncdTest(PorterTest):
    def setUp(self):
        need(self, RSYNC)
        need_root(self, "rsync --daemon chroots into the module and switches to nobody")

    def test_tree_then_incremental(self):
        conf, files = rsync_files()
        d = self.start(conf, files=files)
        statuses = check_rsync(self, d, "rsync://[::1]:%d/" % d.port)
        self.assertEqual(sessions(self, d, "rsync", 3, status=(0, 255), peer="::1"), statuses)
        with open(os.path.join(d.dir, "rsyncd.log")) as f:
            log = f.read()
        self.assertIn("rsync on pub/ from", log)
