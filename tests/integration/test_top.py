#!/usr/bin/env python3
"""drover -s top: plain snapshots when its output is not a terminal (-n N),
and a live screen under a real terminal (tmux) that shows the workers, quits
on q or Ctrl-C and leaves the terminal as it found it."""

import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, ServerTestCase, get, run_main, wait_until  # noqa: E402


class TopPlainTest(ServerTestCase):
    server_kwargs = {"workers": 2}

    def test_two_plain_snapshots(self):
        for _ in range(5):
            get(self.port, "/")
        t0 = time.monotonic()
        p = self.srv.run("-s", "top", "-n", "2", timeout=15)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertNotIn("\033", out)  # no terminal codes in a file
        blocks = [b for b in out.split("\n\n") if b.strip()]
        self.assertEqual(len(blocks), 2, out)
        for b in blocks:
            self.assertIn("master %d" % self.srv.master, b)
            for pid in self.srv.workers():
                self.assertRegex(b, r"(?m)^%d +\d+ +1 +ready " % pid)
            self.assertRegex(b, r"(?m)^total: ")
        # The second one has rates: two pages a second apart.
        self.assertRegex(blocks[1], r"total: .*, \d+\.\d req/s")

    def test_bad_count(self):
        p = self.srv.run("-s", "top", "-n", "0")
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"-n 0", p.stderr)

    def test_no_master(self):
        self.srv.stop()
        p = self.srv.run("-s", "top", "-n", "1")
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no running master", p.stderr)


class TopTmuxTest(ServerTestCase):
    server_kwargs = {"workers": 2}

    def setUp(self):
        if shutil.which("tmux") is None:
            self.skipTest("tmux is not installed (apt-get install -y tmux)")
        super().setUp()
        # A private tmux server (its own socket in the test's directory):
        # nothing of the user's is touched, and kill-server ends only it.
        self.sock = os.path.join(self.srv.dir, "tmux.sock")
        self.addCleanup(self.tmux, "kill-server")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.sock] + list(args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "top").stdout.decode("utf-8", "replace")

    def run_top(self, key):
        stty = os.path.join(self.srv.dir, "stty.txt")
        done = os.path.join(self.srv.dir, "done.txt")
        # After top: the terminal's modes (top must have restored them) and
        # its exit status; the shell then waits to be killed with the server.
        cmd = "%s -c %s -s top; echo $? > %s; stty -a > %s; sleep 60" % (
            BIN, self.srv.conf_path, done, stty)
        self.tmux("new-session", "-d", "-s", "top", "-x", "160", "-y", "40", cmd)
        workers = self.srv.workers()
        self.assertEqual(len(workers), 2)
        shown = wait_until(lambda: all("\n%d " % p in self.screen() for p in workers) and
                           "q to quit" in self.screen(), timeout=10, interval=0.2)
        self.assertTrue(shown, "top did not show workers %r:\n%s" % (workers, self.screen()))
        # It refreshes: the rates appear with the second page.
        self.assertTrue(wait_until(lambda: "req/s, p50" in self.screen() and
                                   "- req/s" not in self.screen(), timeout=5, interval=0.2),
                        self.screen())
        self.tmux("send-keys", "-t", "top", key)
        self.assertTrue(wait_until(lambda: os.path.exists(stty) and os.path.getsize(stty) > 0,
                                   timeout=5, interval=0.1), "top did not quit on %s:\n%s"
                        % (key, self.screen()))
        with open(done) as f:
            rc = f.read().strip()
        with open(stty) as f:
            modes = f.read().split()
        self.assertIn("icanon", modes, "terminal left in raw mode")
        self.assertIn("echo", modes, "terminal left without echo")
        return rc

    def test_quits_on_q(self):
        self.assertEqual(self.run_top("q"), "0")

    def test_quits_on_ctrl_c(self):
        self.assertEqual(self.run_top("C-c"), "0")


if __name__ == "__main__":
    run_main()
