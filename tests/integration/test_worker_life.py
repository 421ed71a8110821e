#!/usr/bin/env python3
"""A worker's life under the master (issue 15 items 4, 7, 9, 13; issue 13's
first defect): where the first generation's warnings go, restart backoff
that spares healthy workers, one log line per hung worker, what a refused
-s reload says, and a graceful stop that refuses new clients at once."""

import errno
import os
import re
import signal
import socket
import time

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import Conn, ServerTestCase, alive, req, run_main, wait_until
from test_signals import big_data, read_some_slowly


def log_after(srv, offset):
    return srv.log_text()[offset:]


class FirstGenerationStderrTest(ServerTestCase):
    """Issue 15 item 4: stderr is switched off before the first fork."""
    server_kwargs = {"workers": 2, "root": "/nonexistent/drover-test-root"}

    def test_worker_errors_only_in_error_log(self):
        line = 'open("/nonexistent/drover-test-root")'  # the workers' line, not the master's
        self.assertTrue(wait_until(lambda: self.srv.log_text().count(line) >= 2, timeout=5),
                        "the workers did not log %r%s" % (line, self.srv.diag()))
        time.sleep(0.2)
        err = self.srv.stderr_text()
        self.assertNotIn(line, err, "a first-generation worker copied its error to stderr")
        # The master's own start-up warning still reaches the terminal.
        self.assertIn("is not a directory", err)


class RestartBackoffTest(ServerTestCase):
    """Issue 15 item 7: a worker that was serving is replaced at once; only
    workers that die young back off."""
    server_kwargs = {"workers": 2}

    def new_worker(self, gone, timeout):
        def found():
            w = [p for p in self.srv.workers() if p not in gone]
            return len(self.srv.workers()) == 2 and len(w) == 1 and w[0]
        return wait_until(found, timeout=timeout, interval=0.01)

    def test_healthy_worker_replaced_at_once(self):
        before = len(self.srv.log_text())
        killed = set()
        for i in range(3):
            time.sleep(1.3)  # READY for more than a second: a healthy worker
            workers = self.srv.workers()
            victim = workers[0]
            killed.add(victim)
            keep = set(workers) - {victim}
            t0 = time.monotonic()
            self.srv.signal(signal.SIGKILL, victim)
            new = self.new_worker(killed | keep, timeout=5)
            took = time.monotonic() - t0
            self.assertTrue(new, "kill %d: no replacement%s" % (i + 1, self.srv.diag()))
            self.assertLess(took, 0.5, "kill %d: replaced after %.2f s" % (i + 1, took))
            self.assertTrue(wait_until(lambda: "worker %d reports: started" % new
                                       in self.srv.log_text(), timeout=2),
                            "replacement %d never ready%s" % (new, self.srv.diag()))
        log = log_after(self.srv, before)
        self.assertNotIn("keeps dying", log, "a healthy worker's slot backed off")
        for pid in killed:
            self.assertRegex(log, r"worker %d \(slot \d+, generation 1\) was killed by signal 9" % pid)

    def test_worker_crashing_at_start_backs_off(self):
        # A worker that cannot open the access log exits at start (status 2):
        # its slot must still back off, with growing delays.
        os.unlink(self.srv.access_log)
        os.mkdir(self.srv.access_log)
        self.addCleanup(lambda: os.path.isdir(self.srv.access_log) and os.rmdir(self.srv.access_log))
        before = len(self.srv.log_text())
        time.sleep(1.3)
        self.srv.signal(signal.SIGKILL, self.srv.workers()[0])
        pat = re.compile(r"slot (\d+) keeps dying: next start in ([\d.]+)s")
        self.assertTrue(wait_until(lambda: len(pat.findall(log_after(self.srv, before))) >= 3,
                                   timeout=8), "no backoff%s" % self.srv.diag())
        found = pat.findall(log_after(self.srv, before))
        self.assertEqual(len({s for s, _ in found}), 1, found)
        ds = [float(d) for _, d in found]
        self.assertTrue(all(a < b for a, b in zip(ds, ds[1:])), "delays do not grow: %r" % ds)
        self.assertIn("could not set up", log_after(self.srv, before))


class HungWorkerTest(ServerTestCase):
    """Issue 15 item 9: a worker killed for missing heartbeats is logged once."""
    server_kwargs = {"workers": 3, "worker_timeout": "1s"}

    def test_logged_once(self):
        before = len(self.srv.log_text())
        victim = self.srv.workers()[0]
        start = self.srv.known[victim]

        def release():
            if alive(victim, start):
                try:
                    os.kill(victim, signal.SIGCONT)
                    os.kill(victim, signal.SIGKILL)
                except OSError:
                    pass
        self.addCleanup(release)
        self.srv.signal(signal.SIGSTOP, victim)
        self.assertTrue(wait_until(lambda: not alive(victim, start), timeout=10, interval=0.05),
                        "a stopped worker still alive%s" % self.srv.diag())
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 3, timeout=5))
        time.sleep(1.5)
        log = log_after(self.srv, before)
        lines = re.findall(r"worker %d \(slot \d+\) sent no heartbeat" % victim, log)
        self.assertEqual(len(lines), 1, "logged %d times:\n%s" % (len(lines), log))
        self.assertEqual(len(re.findall(r"worker %d .*killed by signal 9" % victim, log)), 1, log)


class RefusedReloadTest(ServerTestCase):
    """Issue 15 item 13: a refused -s reload says the server goes on as it was."""
    server_kwargs = {"workers": 1}

    def test_refused_reload_says_unchanged(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        self.srv.conf["listen"] = self.srv.conf["listen"] + ["127.0.0.1:%d" % busy.getsockname()[1]]
        self.srv.write_config()
        p = self.srv.run("-s", "reload", timeout=30)
        err = p.stderr.decode("utf-8", "replace")
        self.assertNotEqual(p.returncode, 0, err)
        self.assertIn("configuration is unchanged", err)
        self.assertIn("master %d is still serving" % self.srv.master, err)


class GracefulStopRefusesTest(ServerTestCase):
    """Issue 13: on QUIT every listening socket closes at once, in the master
    and the workers; the response in flight still completes."""
    SIZE = 20 * 1024 * 1024
    server_kwargs = {"workers": 2, "shutdown_timeout": "20s", "send_timeout": "10s"}

    def test_new_connect_refused_during_drain(self):
        data = big_data(self.SIZE)
        self.srv.write_file("big.bin", data)
        with Conn(self.port, timeout=10, rcvbuf=16384) as c:
            c.send(req("GET", "/big.bin"))
            read_some_slowly(c)
            self.assertTrue(c.buf.startswith(b"HTTP/1.1 200"), c.buf[:100])
            t0 = time.monotonic()
            self.srv.signal(signal.SIGQUIT)
            refused_after = None
            for _ in range(200):
                s = socket.socket()
                s.settimeout(1)
                try:
                    s.connect(("127.0.0.1", self.port))
                except ConnectionRefusedError:
                    refused_after = time.monotonic() - t0
                    break
                finally:
                    s.close()
                if time.monotonic() - t0 > 2:
                    break
                time.sleep(0.005)
            self.assertIsNotNone(refused_after, "connect() still accepted 2 s after QUIT%s"
                                 % self.srv.diag())
            self.assertLess(refused_after, 0.1, "connect() refused only after %.3f s" % refused_after)
            self.assertTrue(self.srv.master_alive(), "master exited with a response in flight")
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            r = c.read_response(timeout=30)
            self.assertEqual(r.status, 200)
            self.assertEqual(len(r.body), self.SIZE, "truncated in-flight response")
            self.assertTrue(r.body == data, "in-flight response corrupted")
        self.assertEqual(self.srv.wait_exit(5), 0, self.srv.diag())


if __name__ == "__main__":
    run_main()
