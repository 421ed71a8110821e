#!/usr/bin/env python3
"""Reload under load: wrk keeps 100 keep-alive connections busy while the
master gets a SIGHUP every second. No client sees an error, the process
count never passes 2 x workers, and the newest generation is all that is
left once the load stops. Needs wrk (skipped without it)."""

import re
import shutil
import signal
import subprocess
import threading
import time

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import ServerTestCase, get, run_main, wait_until

WORKERS = 2
SHUTDOWN = 5.0
DURATION = 6
RELOADS = 5          # one a second, the last well before wrk ends

STATUS_HEAD = re.compile(r"generation (\d+) serving")
STATUS_ROW = re.compile(r"^(\d+)\s+\d+\s+(\d+)\s+(\S+)\s")


def max_concurrent_from_log(log):
    """The most workers alive at once by the master's own log: +1 at
    "started worker PID", -1 when that pid is reaped."""
    live = set()
    most = 0
    for ln in log.splitlines():
        m = re.search(r"started worker (\d+) ", ln)
        if m:
            live.add(int(m.group(1)))
            most = max(most, len(live))
            continue
        m = re.search(r"worker (\d+) \(slot \d+, generation \d+\) (exited|was killed)", ln)
        if m:
            live.discard(int(m.group(1)))
    return most


def parse_status(text):
    gen = None
    rows = []
    pending = False
    for ln in text.splitlines():
        m = STATUS_HEAD.search(ln)
        if m:
            gen = int(m.group(1))
        if ln.startswith("reload: generation"):
            pending = True
        m = STATUS_ROW.match(ln)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return gen, rows, pending


class ReloadUnderLoadTest(ServerTestCase):
    server_kwargs = {"workers": WORKERS, "shutdown_timeout": "%ds" % SHUTDOWN,
                     "access_log": "off", "keepalive_timeout": "15s"}

    def setUp(self):
        if shutil.which("wrk") is None:
            self.skipTest("wrk is not installed")
        super(ReloadUnderLoadTest, self).setUp()

    def status(self):
        p = self.srv.run("-s", "status")
        self.assertEqual(p.returncode, 0, p.stderr)
        return parse_status(p.stdout.decode("utf-8", "replace"))

    def test_sighup_every_second_under_wrk(self):
        srv = self.srv
        first = srv.workers()
        counts = []
        stop = threading.Event()

        def sampler():
            # Every ~100 ms, at most for 60 s.
            for _ in range(600):
                if stop.is_set():
                    return
                counts.append(len(srv.workers()))
                time.sleep(0.1)
        th = threading.Thread(target=sampler)
        th.start()
        try:
            wrk = subprocess.Popen(["wrk", "-t1", "-c100", "-d%ds" % DURATION, "--latency",
                                    "http://127.0.0.1:%d/" % self.port],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
            try:
                sent = 0
                for _ in range(RELOADS):
                    time.sleep(1.0)
                    if wrk.poll() is not None:
                        break
                    srv.signal(signal.SIGHUP)
                    sent += 1
                out, _ = wrk.communicate(timeout=DURATION + 20)
            finally:
                if wrk.poll() is None:
                    wrk.kill()      # our own child, by its pid
                    wrk.wait(5)
            wrk_end = time.monotonic()
            out = out.decode("utf-8", "replace")

            # Within shutdown_timeout + 1 s only the newest generation is left.
            def settled():
                w = srv.workers()
                gen, rows, pending = self.status()
                if pending or len(w) != WORKERS or len(rows) != WORKERS:
                    return None
                if sorted(p for p, _, _ in rows) != w:
                    return None
                if any(g != gen or st != "ready" for _, g, st in rows):
                    return None
                return gen, w
            res = wait_until(settled, timeout=SHUTDOWN + 1, interval=0.1)
            took = time.monotonic() - wrk_end
        finally:
            stop.set()
            th.join(10)

        summary = [ln.strip() for ln in out.splitlines()
                   if re.search(r"requests in|Requests/sec|Latency\s|Socket errors|Non-2xx|"
                                r"99%", ln)]
        sys.stderr.write("\n  [wrk -t1 -c100 -d%ds --latency, SIGHUP x%d] "
                         % (DURATION, sent) + "\n  ".join(summary) + "\n")
        log = srv.log_text()
        by_log = max_concurrent_from_log(log)
        sys.stderr.write("  [workers] max %d in /proc over %d samples, max %d at once by the "
                         "log; %d reloads done, %d queued, %d failed; generation %s; "
                         "settled %.1f s after wrk\n"
                         % (max(counts or [0]), len(counts), by_log, log.count("reload done"),
                            log.count("reload queued"), log.count("failed"),
                            res[0] if res else "?", took))
        self.assertRegex(out, r"\d+ requests in", "wrk did not run:\n%s" % out)
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        if m:
            self.assertEqual([int(x) for x in m.groups()], [0, 0, 0, 0],
                             "wrk saw socket errors during reloads:\n%s%s" % (out, srv.diag()))
        self.assertNotIn("Non-2xx or 3xx responses", out, out)
        self.assertGreaterEqual(sent, 3, "too few reloads sent")
        self.assertTrue(counts, "no samples")
        self.assertLessEqual(max(counts), 2 * WORKERS,
                             "more than 2 x workers: max %d%s" % (max(counts), srv.diag()))
        self.assertLessEqual(by_log, 2 * WORKERS,
                             "the log shows %d workers at once%s" % (by_log, srv.diag()))
        self.assertTrue(res, "not settled to %d workers of the newest generation %.0f s after "
                        "wrk ended: %r %r%s" % (WORKERS, SHUTDOWN + 1, srv.workers(),
                                                self.status(), srv.diag()))
        gen, w = res
        self.assertGreater(gen, 1, "no reload happened")
        self.assertFalse(set(w) & set(first), "first generation still running")
        self.assertTrue(srv.master_alive())
        self.assertEqual(get(self.port, "/").status, 200)
        # A reload still queued when the load stopped may start one more
        # generation: that one settles too, within the same bound.
        time.sleep(1.0)
        self.assertTrue(wait_until(settled, timeout=SHUTDOWN + 1, interval=0.1),
                        "not settled a second later: %r %r" % (srv.workers(), self.status()))


if __name__ == "__main__":
    run_main()
