"""interop.py: what the interop tests share on top of the integration harness.

Each test serves a real Debian daemon under porterd with a service file
from examples/interop/ (the configuration the README points to), changed
only where a test must: an unprivileged port on 127.0.0.1 and paths in a
temporary directory. A real client talks to it; the test checks what the
client got and the START and EXIT lines porterd logged. One test reads,
instead, the xinetd.d files Debian's packages ship, with porterd -t and -T.

A missing program skips the test, and fails it when CI is set: CI
installs every package (scripts/deps.sh).
"""
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

# Re-exported for the tests.
from harness import (PORTERD, SLOW, PorterTest, can_private_etc, free_ports,  # noqa: E402,F401
                     make_certs, private_etc, wait_for)

EXAMPLES = os.path.join(ROOT, "examples", "interop")


def need(test, *programs):
    """Skips the test unless every program is installed; in CI that is a
    failure instead."""
    missing = [p for p in programs
               if not (os.path.isabs(p) and os.access(p, os.X_OK)) and not shutil.which(p)]
    if not missing:
        return
    why = "not installed: %s (scripts/deps.sh installs it)" % ", ".join(missing)
    if os.environ.get("CI"):
        test.fail(why + "; CI must have it")
    test.skipTest(why)


def need_root(test, why):
    if os.geteuid() != 0:
        if os.environ.get("CI"):
            test.fail("needs root (%s); CI runs as root" % why)
        test.skipTest("needs root: " + why)


def example(name):
    with open(os.path.join(EXAMPLES, name)) as f:
        return f.read()


def braces(text):
    """Escapes text for the harness, which fills {PORTn} and {DIR} in with
    str.format."""
    return text.replace("{", "{{").replace("}", "}}")


def service(text, **attrs):
    """Template of an xinetd-syntax file: text with braces escaped and each
    attribute of attrs set in its (only) service entry. An attribute the
    entry has gets the new value, an absent one is added, None removes
    it. Values may hold {PORTn} and {DIR}."""
    lines = braces(text).split("\n")
    for name, value in attrs.items():
        rx = re.compile(r"^(\s*)%s(\s*)(\+=|-=|=)(\s*).*$" % re.escape(name))
        hit = [i for i, l in enumerate(lines) if rx.match(l)]
        if hit:
            i = hit[0]
            if value is None:
                del lines[i]
            else:
                m = rx.match(lines[i])
                lines[i] = "%s%s%s=%s%s" % (m.group(1), name, m.group(2), m.group(4), value)
            continue
        if value is None:
            continue
        end = max(i for i, l in enumerate(lines) if l.strip() == "}}")
        lines.insert(end, "\t%-14s = %s" % (name, value))
    return "\n".join(lines)


def settings(text, sep, **values):
    """Template of a "key = value" file (rsyncd.conf) or a "key=value" one
    (vsftpd.conf, sep "="): each key set (spaces in keys written as _),
    added at the end when absent. Values may hold {PORTn} and {DIR}."""
    lines = braces(text).split("\n")
    for key, value in values.items():
        key = key.replace("_", " ") if sep != "=" else key
        rx = re.compile(r"^(\s*)%s\s*=.*$" % re.escape(key))
        hit = [i for i, l in enumerate(lines) if rx.match(l)]
        if hit:
            lines[hit[0]] = rx.match(lines[hit[0]]).group(1) + key + sep + value
        else:
            lines.append(key + sep + value)
    return "\n".join(lines)


def run(cmd, timeout=30, **kw):
    """Runs a client to the end; returns its CompletedProcess (bytes)."""
    if "input" not in kw:
        kw.setdefault("stdin", subprocess.DEVNULL)
    kw.setdefault("capture_output", True)
    return subprocess.run(cmd, timeout=timeout * SLOW, **kw)


def ok(test, r, d=None):
    """Asserts a client exited 0, showing its output, and porterd's log
    when d is given, when not."""
    test.assertEqual(r.returncode, 0, "%s exited %s:\n%s\n%s%s" % (
        r.args[0], r.returncode, r.stdout.decode(errors="replace")[-2000:],
        r.stderr.decode(errors="replace")[-2000:],
        "\nporterd's log:\n" + d.text()[-4000:] if d is not None else ""))


START = r"START: %s pid=(\d+) from=(\S+)$"
EXIT = r"EXIT: %s (status|signal)=(\d+) pid=(\d+) duration=\d+\(sec\)$"
# A service with tls = yes: the EXIT line ends with the session's protocol.
EXIT_TLS = r"EXIT: %s (status|signal)=(\d+) pid=(\d+) duration=\d+\(sec\) tls=(\S+)$"


def sessions(test, d, sid, count=None, status=(0,), peer="127.0.0.1", timeout=10.0, tls=None):
    """Waits until porterd has logged count START lines for service sid
    (with count None: at least one) and as many EXIT lines, then checks
    that they pair up by pid, that every client was peer and that every
    server exited with a status in status. For a TLS service, tls is the
    protocols (("TLSv1.3",)) its EXIT lines may end with; every one must
    end with one of them. Returns the statuses in the order the servers
    started."""
    start_rx = re.compile(START % re.escape(sid), re.M)
    exit_rx = re.compile((EXIT if tls is None else EXIT_TLS) % re.escape(sid), re.M)

    def settled():
        text = d.text()
        n, m = len(start_rx.findall(text)), len(exit_rx.findall(text))
        return n == m and n >= (count or 1)
    try:
        wait_for(settled, timeout, "%s: START and EXIT lines" % sid)
    except AssertionError:
        raise AssertionError("%s: no %s START lines with an EXIT line each in:\n%s" %
                             (sid, count or "some", d.text()))
    text = d.text()
    starts = {m.group(1): m.group(2) for m in start_rx.finditer(text)}
    order = [m.group(1) for m in start_rx.finditer(text)]
    exits = {}
    for m in exit_rx.finditer(text):
        test.assertEqual(m.group(1), "status", "%s: a server was killed:\n%s" % (sid, text))
        if tls is not None:
            test.assertIn(m.group(4), tls, "%s: the protocol of a session:\n%s" % (sid, text))
        exits[m.group(3)] = int(m.group(2))
    if count is not None:
        test.assertEqual(len(starts), count, "%s: START lines:\n%s" % (sid, text))
    test.assertEqual(sorted(starts), sorted(exits),
                     "%s: START and EXIT lines do not pair up:\n%s" % (sid, text))
    for addr in starts.values():
        test.assertEqual(addr, peer, text)
    for pid, st in exits.items():
        test.assertIn(st, status, "%s: server %s exited %d:\n%s" % (sid, pid, st, text))
    return [exits[pid] for pid in order]


def tls_certs(test):
    """Makes the test certificates (tests/tls/mkcerts.sh: ca.pem, the
    server-ec and server-rsa pairs for localhost and 127.0.0.1, ...) in a
    folder removed at cleanup, and returns the folder. No key is kept."""
    need(test, "openssl")
    top = make_certs("porter-interop-certs-")
    test.addCleanup(shutil.rmtree, top, True)
    return top


def tls_service(text, certs, **attrs):
    """service() for a TLS service: the ECDSA and the RSA certificate of
    certs, in place of the paths the example names."""
    return service(text, tls_certificate="%s/server-ec.pem %s/server-rsa.pem" % (certs, certs),
                   tls_key="%s/server-ec.key %s/server-rsa.key" % (certs, certs), **attrs)


def local_user(test, kind, home=None):
    """Creates a local user with a password for a test that logs in as
    one (FTP, POP3, telnet) or gets mail (SMTP); removes it, and its
    /var/mail mailbox, at cleanup. This, the mailbox, the records of a
    telnet login in wtmp and lastlog and exim's log lines are the only
    changes the tests make outside their folders. Returns (name,
    password)."""
    need_root(test, "creating a local user")
    need(test, "useradd", "userdel", "chpasswd")
    name = "porter-%s-%d" % (kind, os.getpid())
    password = "Pw-%d-interop" % os.getpid()
    if subprocess.run(["id", name], capture_output=True).returncode == 0:
        # Left by an interrupted run of this same process id.
        subprocess.run(["userdel", name], capture_output=True)
    # No home created, no group of its own, no subordinate ids: the
    # fewest entries to undo. /bin/sh is in /etc/shells, which vsftpd's PAM
    # configuration (pam_shells) asks for.
    cmd = ["useradd", "-M", "-N", "-s", "/bin/sh", "-K", "SUB_UID_COUNT=0",
           "-K", "SUB_GID_COUNT=0", "-d", home or "/nonexistent", name]
    r = subprocess.run(cmd, capture_output=True, text=True)
    test.assertEqual(r.returncode, 0, "useradd: %s" % r.stderr)
    test.addCleanup(remove_user, name)
    r = subprocess.run(["chpasswd"], input="%s:%s\n" % (name, password),
                       capture_output=True, text=True)
    test.assertEqual(r.returncode, 0, "chpasswd: %s" % r.stderr)
    return name, password


def remove_user(name):
    def gone():
        if subprocess.run(["id", name], capture_output=True).returncode != 0:
            return True
        subprocess.run(["userdel", name], capture_output=True)
        return False
    try:
        # userdel refuses while a process of the user runs: give the last
        # server a moment to go.
        wait_for(gone, 5, "userdel " + name, interval=0.2)
    finally:
        for p in ("/var/mail/" + name, "/var/mail/%s.lock" % name):
            if os.path.lexists(p):
                os.unlink(p)


def make(test, *args, timeout=600):
    """Runs make in the tree with args, as a user would from a shell: none
    of the settings of a make that runs this suite (MAKEFLAGS carries
    check-asan's SAN=1, BUILD and the job server) leak in. Fails the test,
    with the end of the output, unless make exits 0; returns the output."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "BUILD")}
    jobs = "-j%d" % max(1, min(4, os.cpu_count() or 1))
    r = subprocess.run(["make", "--no-print-directory", "-C", ROOT, jobs] + list(args),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, env=env, text=True, timeout=timeout * SLOW)
    test.assertEqual(r.returncode, 0, "make %s exited %d:\n%s" % (
        " ".join(args), r.returncode, r.stdout[-6000:]))
    return r.stdout


def has_symbols(path):
    """Whether an ELF file still has its symbol table (readelf, binutils)."""
    r = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("readelf -S %s: %s" % (path, r.stderr))
    return re.search(r"\]\s+\.symtab\s", r.stdout) is not None

