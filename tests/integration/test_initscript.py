#!/usr/bin/env python3
"""The init script etc/init.d/drover, run for real against a throwaway config:
DAEMON, CONFIG and PIDFILE in the environment point it at the built binary
and a temporary directory, so nothing is installed.

start -> status -> reload (good and bad config) -> restart (bad, then good)
-> stop -> status; LSB exit codes; stale pid files; start-stop-daemon or
not; daemon: true or false; /etc/default/drover; logrotate (when installed).
Every master the script starts is recorded and killed at cleanup."""

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import unittest

from harness import (BIN, SRCDIR, Server, alive, binary_ok, get, port_accepts,
                     proc_stat, run_main, wait_until)

SCRIPT = os.path.join(SRCDIR, "etc", "init.d", "drover")
SCRIPT_TIMEOUT = 30     # no action may take longer than this


def read_pid(path):
    try:
        with open(path) as f:
            s = f.read().strip()
        return int(s) if s else None
    except (OSError, ValueError):
        return None


def is_drover(pid):
    """Only a drover process is ever recorded for the final kill: a stale
    pid file may name anything (this test writes its own pid in one)."""
    st = proc_stat(pid)
    return (pid != os.getpid() and st is not None
            and st["comm"].startswith("drover"))


class InitScriptTest(unittest.TestCase):

    def setUp(self):
        if not binary_ok():
            self.skipTest("no drover binary at %s" % BIN)
        if not os.path.isfile(SCRIPT):
            self.skipTest("no init script at %s" % SCRIPT)

    # ------------------------------------------------------------ helpers

    def make_server(self, **conf):
        args = {"workers": 1, "daemon": True}
        args.update(conf)
        srv = Server(**args)
        self.addCleanup(srv.cleanup)
        return srv

    def env(self, srv, **extra):
        env = dict(os.environ)
        for k in ("DAEMON", "CONFIG", "PIDFILE", "START_STOP_DAEMON",
                  "INIT_FUNCTIONS", "DROVER_DEFAULTS"):
            env.pop(k, None)
        env["DAEMON"] = BIN
        env["CONFIG"] = srv.conf_path
        env["PIDFILE"] = srv.pid_file
        # No /etc/default/drover of the machine running the tests.
        env["DROVER_DEFAULTS"] = os.path.join(srv.dir, "no-defaults")
        for k, v in extra.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        return env

    def script(self, srv, action, **extra):
        """Runs the init script; CompletedProcess with .out (stdout+stderr).
        Records the master it leaves running so cleanup can stop it."""
        p = subprocess.run(["/bin/sh", SCRIPT, action], env=self.env(srv, **extra),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=SCRIPT_TIMEOUT,
                           cwd=srv.dir)
        p.out = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.track(srv)
        return p

    def track(self, srv):
        pid = read_pid(srv.pid_file)
        if pid and alive(pid) and is_drover(pid):
            if srv.master != pid:
                srv.master = pid
                srv.known.pop(pid, None)
            srv.remember(pid)
            srv.workers()

    def assertRc(self, p, rc, what):
        self.assertEqual(p.returncode, rc, "%s: exit %d, expected %d:\n%s"
                         % (what, p.returncode, rc, p.out))

    def serving(self, srv, body=None):
        def ok():
            try:
                r = get(srv.port, "/", timeout=2)
            except (OSError, ValueError, EOFError):
                return None
            if r.status != 200 or (body is not None and r.body != body):
                return None
            return r
        return wait_until(ok, timeout=5, interval=0.1)

    def running_master(self, srv):
        """The pid in the pid file once its workers run (bounded)."""
        def m():
            pid = read_pid(srv.pid_file)
            if pid and alive(pid) and srv.workers(pid):
                return pid
            return None
        pid = wait_until(m, timeout=5)
        self.assertTrue(pid, "no running master with workers%s" % srv.diag())
        self.track(srv)
        return pid

    def gone(self, pid, timeout=5):
        return wait_until(lambda: not alive(pid), timeout=timeout)

    # ------------------------------------------------------------ tests

    def test_lsb_header_and_syntax(self):
        with open(SCRIPT) as f:
            text = f.read()
        self.assertTrue(text.startswith("#!/bin/sh\n"))
        m = re.search(r"^### BEGIN INIT INFO\n(.*?)^### END INIT INFO$", text, re.M | re.S)
        self.assertTrue(m, "no LSB header")
        header = m.group(1)
        for key in ("Provides", "Required-Start", "Required-Stop", "Default-Start",
                    "Default-Stop", "Short-Description"):
            self.assertRegex(header, r"(?m)^# %s:\s+\S" % key)
        self.assertRegex(header, r"(?m)^# Provides:\s+drover$")
        self.assertRegex(header, r"(?m)^# Default-Start:\s+2 3 4 5$")
        self.assertRegex(header, r"(?m)^# Default-Stop:\s+0 1 6$")
        for sh in ("sh", "dash", "bash"):
            path = shutil.which(sh)
            if path:
                p = subprocess.run([path, "-n", SCRIPT], stderr=subprocess.PIPE, timeout=10)
                self.assertEqual(p.returncode, 0, "%s -n: %s" % (sh, p.stderr))
        srv = self.make_server()
        p = self.script(srv, "bogus")
        self.assertRc(p, 2, "unknown action")
        self.assertIn("Usage:", p.out)
        for action in ("start", "stop", "restart", "reload", "force-reload", "status",
                       "configtest", "graceful-stop"):
            self.assertIn(action, p.out)

    def test_lifecycle(self):
        srv = self.make_server()
        srv.write_file("alt.html", "alternative index\n")

        p = self.script(srv, "status")
        self.assertRc(p, 3, "status before start")
        self.assertIn("not running", p.out)

        p = self.script(srv, "configtest")
        self.assertRc(p, 0, "configtest")
        self.assertIn("successful", p.out)

        t0 = time.monotonic()
        p = self.script(srv, "start")
        self.assertRc(p, 0, "start")
        self.assertLess(time.monotonic() - t0, 10)
        master = self.running_master(srv)
        self.assertIn(str(master), p.out)
        st = proc_stat(master)
        self.assertEqual(st["session"], master, "the master is not detached (setsid)")
        self.assertTrue(self.serving(srv), "not serving after start%s" % srv.diag())

        p = self.script(srv, "start")
        self.assertRc(p, 0, "start while running")
        self.assertIn("already running", p.out)
        self.assertEqual(read_pid(srv.pid_file), master)

        p = self.script(srv, "status")
        self.assertRc(p, 0, "status while running")
        self.assertIn("running (pid %d)" % master, p.out)

        # A good reload: a new generation of workers with the new index.
        old_workers = set(srv.workers())
        srv.conf["index"] = ["alt.html"]
        srv.write_config()
        p = self.script(srv, "reload")
        self.assertRc(p, 0, "reload")
        self.assertTrue(self.serving(srv, b"alternative index\n"),
                        "reload did not take effect%s" % srv.diag())
        self.assertTrue(wait_until(lambda: srv.workers() and
                                   not (set(srv.workers()) & old_workers), timeout=10),
                        "old workers still there after reload")
        self.assertEqual(read_pid(srv.pid_file), master, "reload changed the master")

        # A bad reload: refused before any signal reaches the master.
        workers = set(srv.workers())
        good = srv.read(srv.conf_path)
        srv.write_config(good + "keepalive_timout: 5s\n")
        p = self.script(srv, "reload")
        self.assertRc(p, 6, "reload with an invalid config")
        self.assertIn(srv.conf_path, p.out)
        self.assertIn("keepalive_timout", p.out)
        self.assertIn("not reloaded", p.out)
        p = self.script(srv, "force-reload")
        self.assertRc(p, 6, "force-reload with an invalid config")
        time.sleep(0.5)
        self.assertTrue(alive(master))
        self.assertEqual(set(srv.workers()), workers, "workers changed: HUP was sent")
        self.assertTrue(self.serving(srv, b"alternative index\n"))

        # A bad restart: refused, the server keeps running.
        p = self.script(srv, "restart")
        self.assertRc(p, 6, "restart with an invalid config")
        self.assertIn("not restarted", p.out)
        self.assertTrue(alive(master), "restart with a bad config stopped the server")
        self.assertEqual(read_pid(srv.pid_file), master)
        self.assertTrue(self.serving(srv))

        # A good restart: a new master.
        srv.write_config(good)
        p = self.script(srv, "restart")
        self.assertRc(p, 0, "restart")
        self.assertTrue(self.gone(master), "the old master survived restart")
        master2 = self.running_master(srv)
        self.assertNotEqual(master2, master)
        self.assertTrue(self.serving(srv, b"alternative index\n"))

        p = self.script(srv, "force-reload")
        self.assertRc(p, 0, "force-reload")
        p = self.script(srv, "try-restart")
        self.assertRc(p, 0, "try-restart")
        master3 = self.running_master(srv)
        self.assertNotEqual(master3, master2)
        self.assertTrue(self.serving(srv))

        workers = srv.workers()
        p = self.script(srv, "stop")
        self.assertRc(p, 0, "stop")
        # stop returns once the master has exited.
        self.assertFalse(alive(master3), "stop returned before the master exited")
        self.assertFalse(os.path.exists(srv.pid_file), "pid file left after stop")
        self.assertTrue(wait_until(lambda: not any(alive(w) for w in workers), timeout=5))
        self.assertFalse(port_accepts(srv.port))

        p = self.script(srv, "status")
        self.assertRc(p, 3, "status after stop")
        p = self.script(srv, "stop")
        self.assertRc(p, 0, "stop when stopped")
        self.assertIn("not running", p.out)
        p = self.script(srv, "reload")
        self.assertRc(p, 7, "reload when stopped")
        p = self.script(srv, "try-restart")
        self.assertRc(p, 0, "try-restart when stopped")
        self.assertFalse(os.path.exists(srv.pid_file), "try-restart started it")

    def test_stale_pid_file(self):
        srv = self.make_server()
        # A dead pid: a child of ours that has exited and been reaped.
        child = subprocess.Popen(["true"])
        child.wait()
        for stale in (child.pid, os.getpid()):  # dead; alive but not drover
            with open(srv.pid_file, "w") as f:
                f.write("%d\n" % stale)
            p = self.script(srv, "status")
            self.assertRc(p, 1, "status with a stale pid file (%d)" % stale)
            self.assertIn("pid file", p.out)
        p = self.script(srv, "stop")
        self.assertRc(p, 0, "stop with a stale pid file")
        self.assertFalse(os.path.exists(srv.pid_file), "stop left the stale pid file")
        self.assertTrue(alive(os.getpid()))

        with open(srv.pid_file, "w") as f:
            f.write("%d\n" % child.pid)
        p = self.script(srv, "start")
        self.assertRc(p, 0, "start over a stale pid file")
        master = self.running_master(srv)
        self.assertTrue(self.serving(srv))

        # A master killed outright leaves its pid file: status 1, then
        # stop cleans it.
        workers = srv.workers()
        os.kill(master, signal.SIGKILL)
        self.assertTrue(self.gone(master))
        self.assertTrue(wait_until(lambda: not any(alive(w) for w in workers), timeout=5))
        p = self.script(srv, "status")
        self.assertRc(p, 1, "status after SIGKILL")
        p = self.script(srv, "stop")
        self.assertRc(p, 0, "stop after SIGKILL")
        self.assertFalse(os.path.exists(srv.pid_file))
        p = self.script(srv, "status")
        self.assertRc(p, 3, "status after cleaning")

    def test_without_start_stop_daemon(self):
        srv = self.make_server()
        plain = {"START_STOP_DAEMON": "", "INIT_FUNCTIONS": ""}
        p = self.script(srv, "start", **plain)
        self.assertRc(p, 0, "start without start-stop-daemon")
        master = self.running_master(srv)
        self.assertTrue(self.serving(srv))
        p = self.script(srv, "status", **plain)
        self.assertRc(p, 0, "status")
        old = set(srv.workers())
        p = self.script(srv, "reload", **plain)
        self.assertRc(p, 0, "reload")
        self.assertTrue(wait_until(lambda: srv.workers() and not (set(srv.workers()) & old),
                                   timeout=10), "reload made no new workers")
        p = self.script(srv, "rotate", **plain)
        self.assertRc(p, 0, "rotate")
        self.assertTrue(wait_until(lambda: "reopening log files" in srv.log_text(), timeout=5),
                        "USR1 did not reach the master%s" % srv.diag())
        p = self.script(srv, "graceful-stop", **plain)
        self.assertRc(p, 0, "graceful-stop")
        self.assertFalse(alive(master), "graceful-stop returned before the master exited")
        self.assertFalse(os.path.exists(srv.pid_file))
        self.assertIn("graceful", srv.log_text().lower(), "no QUIT in the log%s" % srv.diag())

    def test_daemon_false_config(self):
        srv = self.make_server(daemon=False)
        p = self.script(srv, "start")
        self.assertRc(p, 0, "start with daemon: false")
        master = self.running_master(srv)
        self.assertTrue(self.serving(srv))
        st = proc_stat(master)
        self.assertEqual(st["session"], master, "not in a session of its own")
        self.assertNotEqual(st["ppid"], os.getpid())
        p = self.script(srv, "status")
        self.assertRc(p, 0, "status")
        p = self.script(srv, "stop")
        self.assertRc(p, 0, "stop")
        self.assertFalse(alive(master))

    def test_start_failures(self):
        srv = self.make_server()
        # Invalid config: 6, nothing started.
        srv.write_config("workers: lots\n")
        p = self.script(srv, "start")
        self.assertRc(p, 6, "start with an invalid config")
        self.assertIn("workers", p.out)
        self.assertFalse(os.path.exists(srv.pid_file))
        srv.write_config()
        # Port in use: fails at once, with drover's message.
        for daemon in (True, False):
            srv.conf["daemon"] = daemon
            srv.write_config()
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", srv.port))
                s.listen(1)
                t0 = time.monotonic()
                p = self.script(srv, "start")
                self.assertRc(p, 1, "start on a busy port (daemon: %s)" % daemon)
                self.assertLess(time.monotonic() - t0, 8, "start on a busy port was slow")
                self.assertIn("in use", p.out)
            finally:
                s.close()
            p = self.script(srv, "status")
            self.assertRc(p, 3, "status after a failed start")
        # Not installed: 5.
        p = self.script(srv, "start", DAEMON=os.path.join(srv.dir, "nope"))
        self.assertRc(p, 5, "start without the binary")

    def test_defaults_file_and_environment(self):
        srv = self.make_server()
        defaults = os.path.join(srv.dir, "default-drover")
        with open(defaults, "w") as f:
            f.write("CONFIG=%s\nPIDFILE=%s\n" % (srv.conf_path, srv.pid_file))
        # Paths from the defaults file alone.
        p = self.script(srv, "start", CONFIG=None, PIDFILE=None, DROVER_DEFAULTS=defaults)
        self.assertRc(p, 0, "start with paths from the defaults file")
        master = self.running_master(srv)
        # The environment wins over the defaults file.
        with open(defaults, "w") as f:
            f.write("CONFIG=%s/nonexistent.yaml\nPIDFILE=%s/nonexistent.pid\n"
                    % (srv.dir, srv.dir))
        p = self.script(srv, "status", DROVER_DEFAULTS=defaults)
        self.assertRc(p, 0, "status with the environment over the defaults file")
        p = self.script(srv, "status", PIDFILE=None, DROVER_DEFAULTS=defaults)
        self.assertRc(p, 3, "status with PIDFILE from the defaults file")
        # Without PIDFILE anywhere, the config's pid_file is used.
        p = self.script(srv, "status", PIDFILE=None)
        self.assertRc(p, 0, "status with the config's pid_file")
        self.assertIn(str(master), p.out)
        p = self.script(srv, "stop", PIDFILE=None)
        self.assertRc(p, 0, "stop with the config's pid_file")
        self.assertFalse(alive(master))

    def test_logrotate(self):
        logrotate = shutil.which("logrotate") or (
            "/usr/sbin/logrotate" if os.access("/usr/sbin/logrotate", os.X_OK) else None)
        if not logrotate:
            self.skipTest("logrotate is not installed")
        srv = self.make_server()
        logdir = os.path.join(srv.dir, "log")
        os.mkdir(logdir)
        srv.conf["error_log"] = srv.error_log = os.path.join(logdir, "error.log")
        srv.conf["access_log"] = srv.access_log = os.path.join(logdir, "access.log")
        srv.write_config()
        # The shipped rules, with the paths make install would fill in
        # pointing at this test's files.
        with open(os.path.join(SRCDIR, "etc", "logrotate.d", "drover")) as f:
            rules = f.read()
        directives = [ln.split()[0] for ln in rules.splitlines()
                      if ln.strip() and not ln.strip().startswith("#")]
        self.assertNotIn("copytruncate", directives)
        self.assertIn("postrotate", directives)
        rules = (rules.replace("@sysconfdir@/drover/drover.yaml", srv.conf_path)
                      .replace("@sysconfdir@/init.d/drover", SCRIPT)
                      .replace("@sbindir@", os.path.dirname(BIN))
                      .replace("@logdir@", logdir))
        self.assertNotRegex(rules, r"@\w+@")
        conf = os.path.join(srv.dir, "logrotate.conf")
        with open(conf, "w") as f:
            f.write(rules)
        os.chmod(conf, 0o644)

        p = self.script(srv, "start")
        self.assertRc(p, 0, "start")
        master = self.running_master(srv)
        self.assertEqual(get(srv.port, "/before").status, 404)
        self.assertTrue(wait_until(lambda: "/before" in srv.read(srv.access_log), timeout=5),
                        "no access log line")
        p = subprocess.run([logrotate, "-f", "-s", os.path.join(srv.dir, "state"), conf],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        self.assertEqual(p.returncode, 0, "logrotate: %s" % p.stdout.decode("utf-8", "replace"))
        old_access = srv.access_log + ".1"
        self.assertTrue(os.path.exists(old_access), "access.log was not rotated")
        self.assertTrue(os.path.exists(srv.error_log + ".1"), "error.log was not rotated")
        self.assertIn("/before", srv.read(old_access))
        # drover got USR1 (it says so in the old file, just before it
        # reopens), then new lines land in the new files.
        self.assertTrue(wait_until(lambda: "reopening log files" in
                                   srv.read(srv.error_log + ".1"), timeout=5),
                        "the master got no USR1%s" % srv.diag())

        # The worker reopens when the master's command reaches it: once one
        # request lands in the new access.log, every later one must.
        n = [0]

        def after_in_new():
            n[0] += 1
            try:
                get(srv.port, "/after-%d" % n[0], timeout=2)
            except (OSError, ValueError, EOFError):
                return False
            return "/after-" in srv.read(srv.access_log)
        self.assertTrue(wait_until(after_in_new, timeout=5, interval=0.3),
                        "new requests are not logged to the new access.log")
        self.assertEqual(get(srv.port, "/final").status, 404)
        self.assertTrue(wait_until(lambda: "/final" in srv.read(srv.access_log), timeout=5))
        self.assertNotIn("/final", srv.read(old_access))
        # The master's own lines (a reload) go to the new error.log.
        p = self.script(srv, "reload")
        self.assertRc(p, 0, "reload")
        self.assertTrue(wait_until(lambda: "reload" in srv.read(srv.error_log).lower(),
                                   timeout=5),
                        "the master does not log to the new error.log%s" % srv.diag())

        self.assertTrue(alive(master), "logrotate restarted drover")
        self.assertEqual(read_pid(srv.pid_file), master)
        p = self.script(srv, "stop")
        self.assertRc(p, 0, "stop")


if __name__ == "__main__":
    run_main()
