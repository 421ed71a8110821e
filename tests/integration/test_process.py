#!/usr/bin/env python3
"""The process tree: workers, respawn, death of the master, pid file, a
second instance on a busy port, the message queue."""

import os
import re
import signal
import subprocess
import time
import unittest

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (INDEX_HTML, ServerTestCase, alive, exe_of, get,
                     port_accepts, proc_stat, run_main, wait_until,
                     zombie_children)


class ProcessTest(ServerTestCase):
    server_kwargs = {"workers": 2}

    def test_two_workers(self):
        w = self.srv.workers()
        self.assertEqual(len(w), 2, "children: %r" % w)
        real = exe_of(self.srv.master)
        for pid in w:
            self.assertEqual(exe_of(pid), real)
            self.assertEqual(proc_stat(pid)["ppid"], self.srv.master)
        # And it stays two (no churn).
        time.sleep(0.5)
        self.assertEqual(self.srv.workers(), w)
        self.assertEqual(zombie_children(self.srv.master), [])

    def test_worker_respawn(self):
        old = self.srv.workers()
        self.assertEqual(len(old), 2)
        victim = old[0]
        self.srv.signal(signal.SIGKILL, victim)

        def replaced():
            w = self.srv.workers()
            return len(w) == 2 and victim not in w and w
        w = wait_until(replaced, timeout=5)
        self.assertTrue(w, "no replacement within 5 s: %r%s"
                        % (self.srv.workers(), self.srv.diag()))
        self.assertIn(old[1], w, "the other worker was replaced too")
        new = [p for p in w if p not in old]
        self.assertEqual(len(new), 1)
        self.assertTrue(wait_until(lambda: not zombie_children(self.srv.master),
                                   timeout=5),
                        "zombie children: %r" % zombie_children(self.srv.master))
        pat = re.compile(r"signal 9|killed|sigkill", re.I)
        self.assertTrue(wait_until(lambda: pat.search(self.srv.log_text()), timeout=3),
                        "error log does not mention the death:%s" % self.srv.diag())
        r = get(self.port, "/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, INDEX_HTML)

    def test_master_killed(self):
        workers = self.srv.workers()
        self.assertEqual(len(workers), 2)
        self.srv.signal(signal.SIGKILL)
        self.srv.proc.wait(timeout=5)
        gone = wait_until(lambda: not any(alive(p, self.srv.known[p])
                                          for p in workers), timeout=3)
        self.assertTrue(gone, "workers outlived the master: %r"
                        % [p for p in workers if alive(p)])
        self.assertTrue(wait_until(lambda: not port_accepts(self.port, 0.3), timeout=3),
                        "port still accepts after the master was killed")

    def test_pid_file(self):
        with open(self.srv.pid_file) as f:
            self.assertEqual(f.read().strip(), str(self.srv.master))
        workers = self.srv.workers()
        self.srv.signal(signal.SIGTERM)
        self.srv.wait_exit(5)
        self.assertTrue(wait_until(lambda: not os.path.exists(self.srv.pid_file),
                                   timeout=2), "pid file left after SIGTERM")
        self.assertTrue(wait_until(lambda: not any(alive(p, self.srv.known[p])
                                                   for p in workers), timeout=3))

    def test_second_instance(self):
        workers = self.srv.workers()
        t0 = time.monotonic()
        p = subprocess.Popen(self.srv.command("-f"), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             cwd=self.srv.dir)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            # Ours to stop: it was started here.
            p.kill()
            p.communicate(timeout=5)
            self.fail("second instance still running after 5 s")
        self.assertNotEqual(p.returncode, 0)
        self.assertLess(time.monotonic() - t0, 5)
        err = err.decode("utf-8", "replace")
        self.assertRegex(err, r"(?i)127\.0\.0\.1:%d|in use" % self.port,
                         "stderr of the second instance: %r" % err)
        # The first one is untouched.
        with open(self.srv.pid_file) as f:
            self.assertEqual(f.read().strip(), str(self.srv.master))
        self.assertTrue(self.srv.master_alive())
        self.assertEqual(self.srv.workers(), workers)
        for _ in range(4):
            r = get(self.port, "/")
            self.assertEqual(r.status, 200)

    def test_message_queue(self):
        if not os.path.isdir("/dev/mqueue"):
            self.skipTest("/dev/mqueue is not mounted")
        q = "/dev/mqueue/drover.%d" % self.srv.master
        self.assertTrue(wait_until(lambda: os.path.exists(q), timeout=3),
                        "%s missing while running" % q)
        self.srv.signal(signal.SIGTERM)
        self.srv.wait_exit(5)
        self.assertFalse(os.path.exists(q), "%s left after exit" % q)


if __name__ == "__main__":
    run_main()
