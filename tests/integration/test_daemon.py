#!/usr/bin/env python3
"""daemon: true detaches properly; -f keeps it in the foreground; relative
paths keep their meaning after chdir("/") and a reload."""

import os
import signal
import subprocess
import time
import unittest

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (INDEX_HTML, ServerTestCase, alive, get, proc_stat,
                     run_main, wait_until)


def ancestors(pid):
    out = []
    for _ in range(64):
        st = proc_stat(pid)
        if st is None or st["ppid"] == 0:
            break
        pid = st["ppid"]
        out.append(pid)
    return out


class DaemonTest(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 1, "daemon": True}

    def launch(self, cwd=None, conf_arg=None):
        """Runs drover without -f; returns the daemon's pid from the pid file."""
        srv = self.srv
        p = srv.spawn(cwd=cwd, conf=conf_arg)
        srv.proc = p
        t0 = time.monotonic()
        try:
            rc = p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # The launcher is ours; it must not be left running.
            srv.master = p.pid
            srv.remember(p.pid)
            self.fail("the launching process did not exit within 5 s%s" % srv.diag())
        self.assertEqual(rc, 0, "launcher exit status%s" % srv.diag())
        self.assertLess(time.monotonic() - t0, 5)

        def pid_from_file():
            try:
                with open(srv.pid_file) as f:
                    s = f.read().strip()
                return int(s) if s else None
            except (OSError, ValueError):
                return None
        pid = wait_until(pid_from_file, timeout=5)
        self.assertTrue(pid, "no pid file after daemonizing%s" % srv.diag())
        srv.master = pid
        srv.remember(pid)
        self.assertTrue(alive(pid), "the pid in the pid file is not running")
        self.assertNotEqual(pid, p.pid)
        return pid, p.pid

    def serves(self):
        ok = wait_until(lambda: self._try_get(), timeout=5, interval=0.1)
        self.assertTrue(ok, "daemon does not serve%s" % self.srv.diag())
        return ok

    def _try_get(self):
        try:
            r = get(self.port, "/", timeout=2)
        except (OSError, ValueError, EOFError):
            return None
        return r

    def test_daemonizes(self):
        pid, launcher = self.launch()
        st = proc_stat(pid)
        self.assertNotEqual(st["ppid"], launcher)
        self.assertTrue(st["ppid"] == 1 or st["ppid"] in ancestors(os.getpid()),
                        "ppid %d is neither init nor a subreaper" % st["ppid"])
        self.assertEqual(st["session"], pid, "not a session leader (setsid)")
        self.assertNotEqual(st["session"], os.getsid(0))
        self.assertEqual(st["tty_nr"], 0, "has a controlling terminal")
        for fd in (0, 1, 2):
            self.assertEqual(os.readlink("/proc/%d/fd/%d" % (pid, fd)), "/dev/null",
                             "fd %d" % fd)
        self.assertEqual(os.readlink("/proc/%d/cwd" % pid), "/")
        r = self.serves()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, INDEX_HTML)
        workers = wait_until(lambda: self.srv.workers(), timeout=5)
        self.assertEqual(len(workers), 1)

        os.kill(pid, signal.SIGTERM)
        self.srv.wait_exit(5)
        self.assertTrue(wait_until(lambda: not os.path.exists(self.srv.pid_file),
                                   timeout=2), "pid file left")
        self.assertTrue(wait_until(lambda: not any(alive(p, self.srv.known[p])
                                                   for p in workers), timeout=3))

    def test_relative_paths(self):
        # Relative root, logs, pid file and config path, resolved against the
        # working directory at start; chdir("/") and a reload change nothing.
        srv = self.srv
        srv.conf.update({"root": "www", "pid_file": "drover.pid",
                         "error_log": "error.log", "access_log": "access.log"})
        srv.write_config()
        pid, _ = self.launch(cwd=srv.dir, conf_arg="drover.yaml")
        r = self.serves()
        self.assertEqual(r.body, INDEX_HTML)
        old = wait_until(lambda: self.srv.workers(), timeout=5)
        os.kill(pid, signal.SIGHUP)
        self.assertTrue(wait_until(lambda: self.srv.workers()
                                   and not set(self.srv.workers()) & set(old),
                                   timeout=8),
                        "reload of a daemon did not start new workers%s" % srv.diag())
        self.assertTrue(alive(pid), "daemon died on reload%s" % srv.diag())
        r = get(self.port, "/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, INDEX_HTML)
        self.assertTrue(wait_until(lambda: "GET / " in srv.read(srv.access_log),
                                   timeout=3), "access log not at the relative path")
        os.kill(pid, signal.SIGTERM)
        srv.wait_exit(5)

    def test_foreground_flag(self):
        self.srv.start()
        self.assertIsNone(self.srv.proc.poll(), "-f with daemon: true detached")
        with open(self.srv.pid_file) as f:
            self.assertEqual(int(f.read().strip()), self.srv.proc.pid)
        self.assertEqual(get(self.port, "/").status, 200)


if __name__ == "__main__":
    run_main()
