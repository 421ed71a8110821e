#!/usr/bin/env python3
"""Binary upgrade: SIGUSR2 or drover -s upgrade starts the binary at the path
the master was started with, hands it the listening sockets (LISTEN_FDS),
and the old master drains and exits once the new one is ready. A new master
that fails (bad config, a binary that exits) leaves the old one serving, and
-s upgrade says why. Under wrk, upgrades every 3 s lose nothing.

The master runs from a copy of the binary in the test's directory, so that
the test can replace that file as a package upgrade would."""

import os
import re
import shutil
import signal
import subprocess
import time
import unittest

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (BIN, ServerTestCase, alive, children, free_port, get, proc_stat,
                     run_main, wait_until)
import tlsgen

NEXT_BIN = os.path.join(os.path.dirname(BIN), "drover-next")
VERSION_RE = re.compile(r"^drover (\S+), master (\d+),")


def install(src, dst):
    """Replaces dst by a copy of src the way a package manager does: a new
    file renamed over the old path (the running binary stays intact)."""
    tmp = dst + ".new"
    shutil.copyfile(src, tmp)
    os.chmod(tmp, 0o755)
    os.rename(tmp, dst)


# A stand-in for a broken new binary: records what it was given, exits 1.
RECORDER = r"""
import os
env = os.environ.get
fds = " ".join(sorted(os.listdir("/proc/self/fd"), key=int))
with open("/proc/self/status") as f:
    sig = [ln.strip() for ln in f if ln.startswith(("SigBlk", "SigIgn"))]
with open(%r, "w") as f:
    f.write("pid=%%d LISTEN_PID=%%s LISTEN_FDS=%%s\n" %% (os.getpid(), env("LISTEN_PID"), env("LISTEN_FDS")))
    f.write("names=%%s from=%%s fd=%%s\n" %% (env("LISTEN_FDNAMES"), env("DROVER_UPGRADE_FROM"), env("DROVER_UPGRADE_FD")))
    f.write("\n".join(sig) + "\n" + fds + "\n")
    f.write("limits=%%s\n" %% env("DROVER_UPGRADE_LIMITS"))
raise SystemExit(1)
"""


def version_of(path):
    out = subprocess.run([path, "-v"], stdout=subprocess.PIPE, timeout=5).stdout
    return out.decode().split()[1]


class UpgradeCase(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 2, "shutdown_timeout": "5s"}

    def setUp(self):
        super(UpgradeCase, self).setUp()
        self.bindir = os.path.join(self.srv.dir, "sbin")
        os.makedirs(self.bindir)
        self.exe = os.path.join(self.bindir, "drover")
        install(BIN, self.exe)
        srv = self.srv
        self.configure()
        out = open(srv.stdout_path, "ab")
        err = open(srv.stderr_path, "ab")
        try:
            srv.proc = subprocess.Popen([self.exe, "-c", srv.conf_path, "-f"],
                                        stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=err, cwd=srv.dir)
        finally:
            out.close()
            err.close()
        srv.master = srv.proc.pid
        srv.remember(srv.master)
        srv.wait_serving()
        self.assertTrue(wait_until(lambda: len(srv.workers()) == 2, timeout=5),
                        srv.diag())

    def configure(self):
        """A subclass's changes to self.srv.conf before the start."""

    def pid_file(self):
        try:
            with open(self.srv.pid_file) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def status_version(self):
        p = self.srv.run("-s", "status")
        m = VERSION_RE.match(p.stdout.decode("utf-8", "replace"))
        return (m.group(1), int(m.group(2))) if m else (None, None)

    def upgrade(self, timeout=40):
        return self.srv.run("-s", "upgrade", timeout=timeout)

    def follow(self, new):
        """The harness now tracks the new master (stop() stops it)."""
        self.srv.remember(new)
        self.srv.master = new
        self.srv.workers()

    def assertServes(self):
        r = get(self.srv.port, "/")
        self.assertEqual(r.status, 200)


class UpgradeTlsTest(UpgradeCase):
    """The new master takes the old one's session ticket keys, so a client
    that saved a session before the upgrade resumes it after (nginx loses
    its shared session cache and, without ticket key files, its keys)."""

    def configure(self):
        if not tlsgen.have_openssl():
            self.skipTest("no openssl command")
        self.certs = tlsgen.make_all(self.srv.dir)
        self.tls_port = free_port()
        self.srv.conf["listen"] = ["127.0.0.1:%d" % self.srv.port,
                                   {"address": "127.0.0.1:%d" % self.tls_port, "tls": True}]
        self.srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(self.certs["ec"])]}
        self.srv.write_config()

    def s_client(self, *args):
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port,
                            "-servername", "localhost", "-ign_eof"] + list(args),
                           input=b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        return p.stdout.decode("utf-8", "replace")

    def test_sessions_resume_across_the_upgrade(self):
        srv = self.srv
        sess = os.path.join(srv.dir, "sess.pem")
        out = self.s_client("-sess_out", sess)
        self.assertIn("HTTP/1.1 200 OK", out)
        p = self.upgrade()
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode() + srv.diag())
        new = self.pid_file()
        self.follow(new)
        self.assertEqual(srv.proc.wait(timeout=10), 0, srv.diag())
        outs = [self.s_client("-sess_in", sess) for _ in range(4)]
        self.assertTrue(all("HTTP/1.1 200 OK" in o for o in outs), outs[0])
        reused = sum("Reused, TLS" in o for o in outs)
        self.assertEqual(reused, 4, "%d of 4 resumed after the upgrade" % reused)
        self.assertIn("session ticket key(s) taken over from the old master", srv.log_text())


class UpgradeLimitsTest(UpgradeCase):
    """The new master maps the old one's limit counters (the memfd comes
    with the listeners): a client limited before the upgrade still is."""

    def configure(self):
        self.srv.write_file("login/index.html", "login")
        self.srv.conf["locations"] = {"/login/": {"limit_req": {"rate": "1/m", "burst": 1}}}
        self.srv.write_config()

    def test_limits_survive_the_upgrade(self):
        srv = self.srv
        self.assertEqual([get(srv.port, "/login/").status for _ in range(3)], [200, 200, 429])
        p = self.upgrade()
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode() + srv.diag())
        new = self.pid_file()
        self.follow(new)
        self.assertEqual(srv.proc.wait(timeout=10), 0, srv.diag())
        self.assertTrue(wait_until(lambda: len(srv.workers()) == 2, timeout=5))
        r = get(srv.port, "/login/")
        self.assertEqual(r.status, 429)
        self.assertGreater(int(r.header("Retry-After")), 30)
        self.assertIn("limit counters are taken over from the old master", srv.log_text())


class UpgradeTest(UpgradeCase):

    def test_upgrade_hands_over(self):
        srv = self.srv
        old = srv.master
        old_workers = srv.workers()
        p = self.upgrade()
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0, out + srv.diag())
        self.assertRegex(out, r"upgrade ok: master \d+ is serving")
        new = self.pid_file()
        self.assertNotEqual(new, old, "pid file still names the old master")
        self.assertTrue(alive(new), srv.diag())
        self.assertEqual(proc_stat(new)["comm"], "drover")
        self.follow(new)
        self.assertServes()
        # The old master drains and exits; its workers go with it.
        self.assertEqual(srv.proc.wait(timeout=10), 0, srv.diag())
        self.assertTrue(wait_until(lambda: not any(alive(w, srv.known[w]) for w in old_workers),
                                   timeout=5))
        # The new master outlives its parent: reparented, not killed.
        self.assertTrue(alive(new))
        self.assertNotEqual(proc_stat(new)["ppid"], old)
        self.assertTrue(wait_until(lambda: len(srv.workers()) == 2, timeout=5))
        self.assertServes()
        log = srv.log_text()
        self.assertIn("(inherited socket, fd 3)", log)
        self.assertIn("upgrade: master %d is serving" % new, log)
        # And the new one upgrades again (its own path is known).
        p = self.upgrade()
        self.assertEqual(p.returncode, 0, p.stderr.decode() + srv.diag())
        newer = self.pid_file()
        self.assertNotIn(newer, (0, old, new))
        self.follow(newer)
        self.assertServes()
        self.assertTrue(wait_until(lambda: not alive(new), timeout=10), srv.diag())
        # The pid file survives the old master's exit.
        self.assertEqual(self.pid_file(), newer)

    def test_sigusr2(self):
        srv = self.srv
        old = srv.master
        srv.signal(signal.SIGUSR2)
        new = wait_until(lambda: self.pid_file() not in (0, old) and self.pid_file(),
                         timeout=10)
        self.assertTrue(new, "pid file never named a new master" + srv.diag())
        self.follow(new)
        self.assertEqual(srv.proc.wait(timeout=10), 0)
        self.assertServes()

    def test_broken_config_refused(self):
        srv = self.srv
        old = srv.master
        with open(srv.conf_path, "a") as f:
            f.write("workers: 3\n")          # set twice: an error naming the line
        p = self.upgrade()
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, err + srv.diag())
        self.assertIn("workers: set twice", err)
        self.assertIn("master %d keeps serving" % old, err)
        self.assertIn("upgrade failed", srv.log_text())
        self.assertEqual(self.pid_file(), old)
        self.assertIsNone(srv.proc.poll())
        self.assertServes()
        self.assertEqual(len(srv.workers()), 2)

    def test_broken_binary_refused(self):
        srv = self.srv
        old = srv.master
        script = self.exe + ".new"
        seen = os.path.join(srv.dir, "seen")
        # It records what it was given, then fails.
        with open(script, "w") as f:
            f.write("#!%s\n" % sys.executable + RECORDER % seen)
        os.chmod(script, 0o755)
        os.rename(script, self.exe)
        p = self.upgrade()
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, err + srv.diag())
        self.assertIn("exited with status 1 before it was ready", err)
        with open(seen) as f:
            lines = f.read().splitlines()
        m = re.match(r"pid=(\d+) LISTEN_PID=(\d+) LISTEN_FDS=1$", lines[0])
        self.assertTrue(m and m.group(1) == m.group(2), lines[0])
        self.assertEqual(lines[1], "names=127.0.0.1_%d from=%d fd=4" % (srv.port, old))
        # No signal the old master blocked for its signalfd stays blocked in
        # the new program. (SigIgn is not checked: Python ignores SIGPIPE
        # itself.)
        self.assertTrue(lines[2].startswith("SigBlk"), lines[2])
        self.assertEqual(lines[2].split()[1], "0" * 16, lines[2])
        # Only stdio, the socket at 3 and the report pipe at 4 (and the
        # directory the recorder lists): this site has no limits, so no
        # counters were mapped to hand on (test_limits_survive_the_upgrade
        # has them at 5).
        fds = sorted(int(x) for x in lines[4].split())
        self.assertEqual(fds[:5], [0, 1, 2, 3, 4], lines[4])
        self.assertEqual(lines[5], "limits=None")
        self.assertLessEqual(len(fds), 6, "the old master's descriptors leaked: %s" % lines[4])
        self.assertEqual(self.pid_file(), old)
        self.assertServes()
        # Reaped: no zombie left behind.
        self.assertEqual([c for c in os.listdir("/proc") if c.isdigit() and
                          (proc_stat(int(c)) or {}).get("ppid") == old and
                          (proc_stat(int(c)) or {}).get("state") == "Z"], [])
        # A missing binary is refused before anything starts.
        os.unlink(self.exe)
        p = self.upgrade()
        self.assertEqual(p.returncode, 1)
        self.assertIn("No such file or directory", p.stderr.decode())
        self.assertServes()

    def hang_binary(self):
        """The binary is replaced by one that never gets ready."""
        script = self.exe + ".new"
        with open(script, "w") as f:
            f.write("#!/bin/sh\nexec sleep 40\n")
        os.chmod(script, 0o755)
        os.rename(script, self.exe)

    def new_master_pid(self):
        kids = [c for c in children(self.srv.master) if proc_stat(c)["comm"] == "sleep"]
        return kids[0] if kids else None

    def test_late_new_master_killed(self):
        srv = self.srv
        old = srv.master
        self.hang_binary()
        t0 = time.monotonic()
        p = self.upgrade(timeout=60)
        took = time.monotonic() - t0
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, err + srv.diag())
        self.assertIn("not ready within 20s", err)
        self.assertGreater(took, 15)
        self.assertIsNone(self.new_master_pid(), "the late new master is still there")
        self.assertEqual(self.pid_file(), old)
        self.assertServes()

    def test_stop_during_upgrade(self):
        # A stop while the new master starts: it must not take over a server
        # that was told to stop.
        srv = self.srv
        self.hang_binary()
        srv.signal(signal.SIGUSR2)
        new = wait_until(self.new_master_pid, timeout=5)
        self.assertTrue(new, srv.diag())
        srv.remember(new)
        srv.signal(signal.SIGQUIT)
        self.assertEqual(srv.proc.wait(timeout=10), 0)
        self.assertTrue(wait_until(lambda: not alive(new, srv.known[new]), timeout=5),
                        "the new master outlived a stop during the upgrade")

    def test_new_master_workers_fail(self):
        # The new master's workers cannot start (the access log cannot be
        # opened): it gives up, and the old master keeps serving.
        srv = self.srv
        old = srv.master
        with open(srv.conf_path) as f:
            text = f.read()
        text = re.sub(r"(?m)^access_log:.*$", "access_log: %s"
                      % os.path.join(srv.dir, "no", "such", "dir", "a.log"), text)
        srv.write_config(text)
        p = self.upgrade()
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, err + srv.diag())
        self.assertIn("keeps serving", err)
        self.assertIn("a.log", err)
        self.assertEqual(self.pid_file(), old)
        self.assertServes()


class UpgradeUnderLoadTest(UpgradeCase):
    DURATION = 15
    server_kwargs = {"workers": 2, "shutdown_timeout": "5s", "access_log": "off",
                     "keepalive_timeout": "15s"}

    def setUp(self):
        if shutil.which("wrk") is None:
            self.skipTest("wrk is not installed")
        if not os.access(NEXT_BIN, os.X_OK):
            self.skipTest("no %s (make check builds it; or make drover-next)" % NEXT_BIN)
        super(UpgradeUnderLoadTest, self).setUp()

    def test_wrk_upgrade_every_3s(self):
        srv = self.srv
        versions = [version_of(BIN), version_of(NEXT_BIN)]
        self.assertNotEqual(versions[0], versions[1])
        bins = [BIN, NEXT_BIN]
        wrk = subprocess.Popen(["wrk", "-t2", "-c100", "-d%ds" % self.DURATION,
                                "http://127.0.0.1:%d/" % srv.port],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        done = []
        try:
            for i in range(1, 5):           # at 3, 6, 9, 12 s
                time.sleep(3.0)
                if wrk.poll() is not None:
                    break
                install(bins[i % 2], self.exe)
                p = self.upgrade()
                self.assertEqual(p.returncode, 0, p.stderr.decode() + srv.diag())
                ver, pid = self.status_version()
                self.assertEqual(ver, versions[i % 2], "the new version does not serve")
                self.assertEqual(pid, self.pid_file())
                self.follow(pid)
                done.append((ver, pid))
            out, _ = wrk.communicate(timeout=self.DURATION + 20)
        finally:
            if wrk.poll() is None:
                wrk.kill()              # our own child, by its pid
                wrk.wait(5)
        out = out.decode("utf-8", "replace")
        sys.stderr.write("\n  [wrk -t2 -c100 -d%ds, %d upgrades] %s\n"
                         % (self.DURATION, len(done), " | ".join(
                             ln.strip() for ln in out.splitlines()
                             if re.search(r"requests in|Socket errors|Non-2xx", ln))))
        self.assertRegex(out, r"\d+ requests in", out)
        self.assertNotIn("Socket errors", out, out + srv.diag())
        self.assertNotIn("Non-2xx or 3xx responses", out, out)
        self.assertGreaterEqual(len(done), 4, "too few upgrades")
        self.assertServes()


if __name__ == "__main__":
    run_main()
