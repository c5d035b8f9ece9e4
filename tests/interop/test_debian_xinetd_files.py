"""The xinetd.d files of Debian's packages, read by `porterd -t` and
`porterd -T` as xinetd reads them.

The packages are fetched with `apt-get download`, not installed (no
maintainer script runs, nothing is enabled), kept in the build folder for
the next run, and unpacked with `dpkg-deb -x` into the test's folder. For
each package the test lays out what a Debian 12 machine with xinetd and
that package installed has: xinetd's xinetd.conf (an empty defaults entry
and `includedir /etc/xinetd.d`), xinetd's own xinetd.d files, all shipped
disabled, and the package's file. Then `porterd -t -f xinetd.conf` must
say `configuration OK` without a warning, and `porterd -T` must show each
service the package's file enables, no other, with the values the file
gives and only what porterd fills in beside them (the id, the protocol
and the /etc/services port).

The files are read as they are shipped. What an installation here must
change, and nothing else, is changed explicitly:

- xinetd.conf's `includedir /etc/xinetd.d` names the test's folder;
- each `server` path gets the test's folder in front of it, where a
  stand-in script is: `-t` checks that the server can be executed, and the
  programs themselves are not installed;
- a file that a package ships as an example in /usr/share/doc goes into
  xinetd.d under a name without a dot, as its administrator installs it:
  includedir skips names with a dot, as xinetd does, so
  `xinetd.amandaclient` would never be read under its own name.

Users and groups: the files name root, nobody, backup and disk, which
every Debian system has, and _tang, which tang-common's maintainer script
creates (`adduser --system --group _tang`). porterd runs in a mount
namespace of its own whose /etc/passwd and /etc/group add each missing
account as a system user with a group of its name; the machine's files
are not changed.

xinetd's own files are checked both ways: as shipped (nothing enabled) and
each one enabled alone (`disable = no`, as an administrator enables one).
Two of them, `servers` and `services`, name internal services that xinetd
removed in 2.3.12; xinetd refuses them when they are enabled ("No such
internal service"), and so must porterd, with the file and line.
"""
import glob
import grp
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import unittest

from interop import PORTERD, SLOW, can_private_etc, need, need_root, private_etc

# The packages, each with its files: (path in the package, name in
# xinetd.d), and the ids of the services the files enable.
XINETD_FILES = ["chargen", "chargen-udp", "daytime", "daytime-udp", "discard", "discard-udp",
                "echo", "echo-udp", "servers", "services", "time", "time-udp"]
PACKAGES = {
    "xinetd": ([("etc/xinetd.d/" + n, n) for n in XINETD_FILES], set()),
    "tang-xinetd": ([("etc/xinetd.d/tangdx", "tangdx")], {"tangd"}),
    "amanda-common": ([("etc/xinetd.d/amanda", "amanda")], {"amanda"}),
    "amanda-client": ([("usr/share/doc/amanda-client/examples/xinetd.amandaclient",
                        "amanda")], {"amanda"}),
    "amanda-server": ([("usr/share/doc/amanda-server/examples/xinetd.amandaserver",
                        "amanda")], {"amanda"}),
    "rush": ([("usr/share/doc/rush/examples/rush.xinetd", "rush")],
             {"tcpmux", "sftp-rush", "scp-to"}),
    "fingerd": ([("usr/share/doc/fingerd/examples/finger.xinetd", "finger")], {"finger"}),
    "cfingerd": ([("usr/share/doc/cfingerd/examples/cfingerd.xinetd", "cfingerd")],
                 {"finger"}),
}

# Accounts the packages' maintainer scripts create, absent from a machine
# without them.
ACCOUNTS = ["_tang"]

# xinetd's files that name internal services it no longer has.
REMOVED_INTERNAL = {"servers", "services"}

# Attributes whose values are a set: their order in -T is porterd's.
SETS = {"type", "flags", "log_on_success", "log_on_failure"}

STAND_IN = "#!/bin/sh\n# a stand-in for %s: porterd -t checks that it can be executed\nexit 0\n"


def cache_dir():
    """Where the .deb files are kept between runs: the build folder."""
    build = os.environ.get("BUILD")
    top = os.path.abspath(build) if build else os.path.dirname(PORTERD)
    return os.path.join(top, "interop-debs")


def cached(cache, package):
    found = sorted(glob.glob(os.path.join(cache, glob.escape(package) + "_*.deb")))
    return found[-1] if found else None


def fetch(packages):
    """The .deb file of each package: from the cache, or downloaded into it.
    A machine without package lists gets them first (as root)."""
    cache = cache_dir()
    os.makedirs(cache, exist_ok=True)
    missing = [p for p in packages if not cached(cache, p)]
    if missing:
        tmp = tempfile.mkdtemp(prefix="download-", dir=cache)
        os.chmod(tmp, 0o755)
        try:
            cmd = ["apt-get", "download", "-q"] + missing
            r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True,
                               timeout=120 * SLOW)
            if r.returncode != 0 and os.geteuid() == 0:
                subprocess.run(["apt-get", "update", "-q"], capture_output=True,
                               timeout=300 * SLOW)
                r = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True,
                                   timeout=120 * SLOW)
            if r.returncode != 0:
                raise AssertionError("%s: exit %d:\n%s%s" % (" ".join(cmd), r.returncode,
                                                              r.stdout, r.stderr))
            # Whole files only, for a run that looks at the cache meanwhile.
            for f in os.listdir(tmp):
                os.rename(os.path.join(tmp, f), os.path.join(cache, f))
        finally:
            shutil.rmtree(tmp, True)
    debs = {p: cached(cache, p) for p in packages}
    for p, deb in debs.items():
        if not deb:
            raise AssertionError("apt-get download %s gave no .deb in %s" % (p, cache))
    return debs


def entries(text):
    """The service entries of xinetd-syntax text (a shipped file or
    porterd -T's output), in order: (name, {attribute: (operator,
    [values])}). Enough of the grammar for these files."""
    out, name, attrs = [], None, None
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#") or s == "{":
            continue
        if attrs is None:
            words = s.split()
            if words[0] == "service":
                name, attrs = words[1], {}
            elif words[0] == "defaults":
                name, attrs = None, {}
            continue
        if s == "}":
            if name is not None:
                out.append((name, attrs))
            name, attrs = None, None
            continue
        m = re.match(r"^(\w+)\s*(\+=|-=|=)\s*(.*)$", s)
        if not m:
            raise AssertionError("not an attribute line: %r" % line)
        attrs[m.group(1)] = (m.group(2), m.group(3).split())
    return out


def enabled(text):
    """The entries of a file that are not disabled."""
    return [(n, a) for n, a in entries(text) if a.get("disable", ("=", ["no"]))[1] != ["yes"]]


def enable(text):
    return re.sub(r"(?m)^(\s*disable\s*=\s*)yes\b", r"\1no", text)


class DebianXinetdFilesTest(unittest.TestCase):
    debs = None

    def setUp(self):
        need(self, "apt-get", "dpkg-deb")
        if DebianXinetdFilesTest.debs is None:
            DebianXinetdFilesTest.debs = fetch(sorted(PACKAGES))
        self.top = tempfile.mkdtemp(prefix="porter-debian-xinetd-")
        os.chmod(self.top, 0o755)
        self.addCleanup(shutil.rmtree, self.top, True)
        self.xinetd_d = os.path.join(self.top, "etc", "xinetd.d")
        self.main = os.path.join(self.top, "etc", "xinetd.conf")
        self.preexec = None

    def unpack(self, package):
        root = os.path.join(self.top, "pkg", package)
        if os.path.isdir(root):
            return root
        os.makedirs(root)
        r = subprocess.run(["dpkg-deb", "-x", self.debs[package], root], capture_output=True,
                           text=True, timeout=60 * SLOW)
        self.assertEqual(r.returncode, 0, r.stderr)
        return root

    def install(self, package, files, edit=None):
        """Puts the package's files into xinetd.d, each with its server
        moved into the test's folder (edit changes them further); returns
        {name in xinetd.d: text as written}."""
        root = self.unpack(package)
        os.makedirs(self.xinetd_d, exist_ok=True)
        written = {}
        for path, name in files:
            with open(os.path.join(root, path)) as f:
                text = f.read()
            text = self.stand_ins(text)
            if edit:
                text = edit(name, text)
            with open(os.path.join(self.xinetd_d, name), "w") as f:
                f.write(text)
            written[name] = text
        return written

    def stand_ins(self, text):
        def moved(m):
            server = m.group(2)
            path = self.top + server
            if not os.path.exists(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(STAND_IN % server)
                os.chmod(path, 0o755)
            return m.group(1) + path
        return re.sub(r"(?m)^(\s*server\s*=\s*)(/\S+)", moved, text)

    def tree(self, package, edit=None):
        """xinetd's main file and xinetd.d files, and package's files when
        it is another; returns the texts of package's files as written."""
        root = self.unpack("xinetd")
        with open(os.path.join(root, "etc", "xinetd.conf")) as f:
            main = f.read()
        self.assertEqual(len(re.findall(r"(?m)^includedir /etc/xinetd\.d$", main)), 1, main)
        os.makedirs(os.path.dirname(self.main), exist_ok=True)
        with open(self.main, "w") as f:
            f.write(main.replace("includedir /etc/xinetd.d", "includedir " + self.xinetd_d))
        files, _ = PACKAGES["xinetd"]
        own = self.install("xinetd", files, edit if package == "xinetd" else None)
        if package == "xinetd":
            return own
        files, _ = PACKAGES[package]
        return self.install(package, files, edit)

    def porterd(self, *args):
        return subprocess.run([PORTERD] + list(args) + ["-f", self.main], capture_output=True,
                              text=True, timeout=30 * SLOW, preexec_fn=self.preexec)

    def accounts(self):
        """Gives porterd a private /etc/passwd and /etc/group with the
        accounts of ACCOUNTS this machine lacks."""
        missing = []
        for name in ACCOUNTS:
            try:
                pwd.getpwnam(name)
            except KeyError:
                missing.append(name)
        if not missing:
            return
        need_root(self, "a mount namespace with a private /etc/passwd")
        if not can_private_etc():
            self.fail("no mount namespace with a private /etc/passwd for porterd")
        used_uids = {p.pw_uid for p in pwd.getpwall()}
        used_gids = {g.gr_gid for g in grp.getgrall()}
        with open("/etc/passwd") as f:
            passwd = f.read()
        with open("/etc/group") as f:
            group = f.read()
        for name in missing:
            # adduser --system takes the first free id from 100 up.
            uid = min(i for i in range(100, 1000) if i not in used_uids)
            gid = min(i for i in range(100, 1000) if i not in used_gids)
            used_uids.add(uid)
            used_gids.add(gid)
            passwd = passwd.rstrip("\n") + "\n%s:x:%d:%d::/nonexistent:/usr/sbin/nologin\n" % (
                name, uid, gid)
            group = group.rstrip("\n") + "\n%s:x:%d:\n" % (name, gid)
        etc = os.path.join(self.top, "private-etc")
        os.makedirs(etc)
        for fname, text in (("passwd", passwd), ("group", group)):
            with open(os.path.join(etc, fname), "w") as f:
                f.write(text)
            os.chmod(os.path.join(etc, fname), 0o644)
        self.preexec = private_etc({"/etc/passwd": os.path.join(etc, "passwd"),
                                    "/etc/group": os.path.join(etc, "group")})

    def check_ok(self):
        r = self.porterd("-t")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "configuration OK\n", ""),
                         "porterd -t:\n" + r.stdout + r.stderr)

    def dump(self):
        r = self.porterd("-T")
        self.assertEqual((r.returncode, r.stderr), (0, ""), "porterd -T:\n" + r.stderr)
        return r.stdout

    def check_dump(self, texts, ids):
        """porterd -T shows exactly the services the files enable, whose
        ids are ids, with the files' values."""
        dump = self.dump()
        shown = {a["id"][1][0]: (n, a) for n, a in entries(dump)}
        self.assertEqual(set(shown), ids, dump)
        for fname, text in texts.items():
            for name, attrs in enabled(text):
                sid = attrs["id"][1][0] if "id" in attrs else name
                where = "%s, service %s (%s):\n%s" % (fname, name, sid, dump)
                dname, got = shown[sid]
                self.assertEqual(dname, name, where)
                for attr, (op, values) in attrs.items():
                    if attr == "disable":
                        continue
                    self.assertIn(attr, got, where)
                    if attr in SETS:
                        self.assertEqual(set(got[attr][1]), set(values), where)
                    else:
                        self.assertEqual(got[attr][1], values, where)
                # Filled in: the id, the protocol of the socket type and
                # the port of the name in /etc/services.
                extra = set(got) - set(attrs)
                self.assertLessEqual(extra, {"id", "protocol", "port"}, where)
                protocol = got["protocol"][1][0]
                if "id" in extra:
                    self.assertEqual(got["id"][1], [name], where)
                if "protocol" in extra:
                    stype = attrs["socket_type"][1][0]
                    self.assertEqual(protocol, {"stream": "tcp", "dgram": "udp"}[stype], where)
                if "port" in extra:
                    self.assertEqual(got["port"][1], [str(socket.getservbyname(name, protocol))],
                                     where)

    def check_package(self, package):
        self.accounts()
        texts = self.tree(package)
        self.check_ok()
        self.check_dump(texts, PACKAGES[package][1])

    def test_xinetd_as_shipped(self):
        texts = self.tree("xinetd")
        self.assertEqual([enabled(t) for t in texts.values()], [[]] * len(texts))
        self.check_ok()
        self.assertEqual(entries(self.dump()), [])

    def test_xinetd_each_file_enabled(self):
        for name in XINETD_FILES:
            with self.subTest(name):
                shutil.rmtree(self.top)
                os.makedirs(self.top)
                texts = self.tree("xinetd", lambda n, t: enable(t) if n == name else t)
                text = texts[name]
                if name in REMOVED_INTERNAL:
                    line = 1 + text[:text.index("type")].count("\n")
                    r = self.porterd("-t")
                    self.assertEqual(r.returncode, 78, r)
                    self.assertEqual(r.stdout, "")
                    self.assertRegex(r.stderr, r"\A%s:%d: %s: xinetd's internal service %s is "
                                     r"not provided; porterctl \w+ shows the same to those "
                                     r"allowed on the control socket\n\Z" % (
                                         re.escape(os.path.join(self.xinetd_d, name)), line,
                                         name, name))
                    continue
                ids = {a["id"][1][0] for _, a in enabled(text)}
                self.assertTrue(ids, text)
                self.check_ok()
                self.check_dump({name: text}, ids)

    def test_tang_xinetd(self):
        self.check_package("tang-xinetd")

    def test_amanda_common(self):
        self.check_package("amanda-common")

    def test_amanda_client(self):
        self.check_package("amanda-client")

    def test_amanda_server(self):
        self.check_package("amanda-server")

    def test_rush(self):
        self.check_package("rush")

    def test_fingerd(self):
        self.check_package("fingerd")

    def test_cfingerd(self):
        self.check_package("cfingerd")
