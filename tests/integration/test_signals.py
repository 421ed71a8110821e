#!/usr/bin/env python3
"""Signals to the master (TERM, INT, QUIT, HUP, USR1, TTIN, TTOU) and the
-s command-line equivalents."""

import os
import re
import signal
import socket
import time
import unittest

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (INDEX_HTML, Conn, ServerTestCase, alive, get, req,
                     run_main, wait_until, yaml_dump)


def big_data(size):
    """Data whose every 4 KiB block names its offset, so a lost or repeated
    block shows."""
    blocks = []
    for off in range(0, size, 4096):
        head = b"%012d|" % off
        blocks.append(head + b"x" * (4096 - len(head) - 1) + b"\n")
    return b"".join(blocks)[:size]



def read_some_slowly(c):
    """Reads a response's head and a little of its body, slowly, so the
    rest of a large body is still in flight (bounded: 200 turns)."""
    for _ in range(200):
        try:
            c._recv(time.monotonic() + 5)
        except socket.timeout:
            break
        if b"\r\n\r\n" in c.buf and len(c.buf) > 65536:
            break
        time.sleep(0.005)

class StopTest(ServerTestCase):
    server_kwargs = {"workers": 2}

    def check_fast_stop(self, sig):
        workers = self.srv.workers()
        self.assertEqual(len(workers), 2)
        t0 = time.monotonic()
        self.srv.signal(sig)
        rc = self.srv.wait_exit(5)
        self.assertEqual(rc, 0, "master exit status after %s%s" % (sig, self.srv.diag()))
        self.assertTrue(wait_until(lambda: not any(alive(p, self.srv.known[p])
                                                   for p in workers),
                                   timeout=max(0.5, 5 - (time.monotonic() - t0))),
                        "workers still alive 5 s after %s" % sig)
        self.assertFalse(os.path.exists(self.srv.pid_file), "pid file left")

    def test_term(self):
        self.check_fast_stop(signal.SIGTERM)

    def test_int(self):
        self.check_fast_stop(signal.SIGINT)

    def test_term_with_idle_keepalive(self):
        # An idle keep-alive connection must not hold a fast stop back.
        with Conn(self.port) as c:
            c.send(req("GET", "/"))
            self.assertEqual(c.read_response().status, 200)
            self.check_fast_stop(signal.SIGTERM)
            self.assertTrue(c.closed_within(2))


class QuitTest(ServerTestCase):
    SIZE = 20 * 1024 * 1024
    server_kwargs = {"workers": 1, "shutdown_timeout": "20s", "send_timeout": "10s"}

    def test_quit_finishes_in_flight(self):
        data = big_data(self.SIZE)
        self.srv.write_file("big.bin", data)
        with Conn(self.port, timeout=10, rcvbuf=16384) as c:
            c.send(req("GET", "/big.bin"))
            # Read the head and a little of the body, slowly.
            read_some_slowly(c)
            self.assertTrue(c.buf.startswith(b"HTTP/1.1 200"), c.buf[:100])
            self.srv.signal(signal.SIGQUIT)
            time.sleep(0.5)
            self.assertTrue(self.srv.master_alive(),
                            "master exited with a response in flight%s" % self.srv.diag())
            # Now read the rest as fast as we can.
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            r = c.read_response(timeout=30)
            self.assertEqual(r.status, 200)
            self.assertEqual(len(r.body), self.SIZE, "truncated in-flight response")
            self.assertTrue(r.body == data, "in-flight response corrupted")
        rc = self.srv.wait_exit(5)
        self.assertEqual(rc, 0, self.srv.diag())
        self.assertFalse(os.path.exists(self.srv.pid_file))

    def test_quit_idle(self):
        workers = self.srv.workers()
        self.srv.signal(signal.SIGQUIT)
        self.assertEqual(self.srv.wait_exit(5), 0)
        self.assertTrue(wait_until(lambda: not any(alive(p, self.srv.known[p])
                                                   for p in workers), timeout=3))


class ReloadTest(ServerTestCase):
    server_kwargs = {"workers": 2, "shutdown_timeout": "3s"}

    def test_hup_new_generation(self):
        old = self.srv.workers()
        self.assertEqual(len(old), 2)
        self.srv.signal(signal.SIGHUP)
        statuses = []
        new = None
        deadline = time.monotonic() + 8
        for _ in range(400):
            r = get(self.port, "/")
            statuses.append(r.status)
            self.assertEqual(r.status, 200)
            w = self.srv.workers()
            if len(w) == 2 and not set(w) & set(old):
                new = w
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        self.assertIsNotNone(new, "no new generation: old %r now %r%s"
                             % (old, self.srv.workers(), self.srv.diag()))
        self.assertTrue(wait_until(lambda: not any(alive(p, self.srv.known[p])
                                                   for p in old), timeout=5),
                        "old workers still alive")
        for _ in range(5):
            r = get(self.port, "/")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, INDEX_HTML)
        self.assertTrue(self.srv.master_alive())

    def test_hup_applies_new_config(self):
        root2 = os.path.join(self.srv.dir, "www2")
        os.mkdir(root2)
        with open(os.path.join(root2, "index.html"), "wb") as f:
            f.write(b"second generation\n")
        self.srv.conf["root"] = root2
        self.srv.write_config()
        self.srv.signal(signal.SIGHUP)
        ok = wait_until(lambda: get(self.port, "/").body == b"second generation\n",
                        timeout=8, interval=0.1)
        self.assertTrue(ok, "reload did not apply the new root%s" % self.srv.diag())

    def test_hup_finishes_in_flight(self):
        # The old generation retires gracefully: a response it is sending
        # when the reload comes completes.
        size = 20 * 1024 * 1024
        data = big_data(size)
        self.srv.write_file("big.bin", data)
        old = self.srv.workers()
        with Conn(self.port, timeout=10, rcvbuf=16384) as c:
            c.send(req("GET", "/big.bin", headers={"Connection": "close"}))
            read_some_slowly(c)
            self.srv.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: len(set(self.srv.workers()) - set(old)) == 2,
                                       timeout=5), "no new generation")
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            r = c.read_response(timeout=30)
            self.assertEqual(r.status, 200)
            self.assertEqual(len(r.body), size, "response cut by the reload")
            self.assertTrue(r.body == data, "response corrupted by the reload")
        self.assertTrue(wait_until(lambda: not any(alive(p, self.srv.known[p])
                                                   for p in old), timeout=5),
                        "old workers still alive after their response")

    def test_hup_changes_worker_count(self):
        self.srv.conf["workers"] = 3
        self.srv.write_config()
        self.srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 3, timeout=8),
                        "workers after reload to 3: %r" % self.srv.workers())
        self.assertEqual(get(self.port, "/").status, 200)

    def test_hup_keeps_in_flight_keepalive_answering(self):
        # A connection opened before the reload still gets its response.
        with Conn(self.port) as c:
            c.send(req("GET", "/"))
            self.assertEqual(c.read_response().status, 200)
            self.srv.signal(signal.SIGHUP)
            time.sleep(0.2)
            try:
                c.send(req("GET", "/", headers={"Connection": "close"}))
                r = c.read_response()
                self.assertEqual(r.status, 200)
            except (EOFError, ConnectionError):
                pass  # closing an idle keep-alive connection is allowed
        r = get(self.port, "/")
        self.assertEqual(r.status, 200)

    def test_hup_invalid_config(self):
        old = self.srv.workers()
        before = len(self.srv.log_text())
        text = yaml_dump(self.srv.conf).replace("workers: 2", "workers: many")
        self.assertIn("workers: many", text)
        self.srv.write_config(text)
        self.srv.signal(signal.SIGHUP)

        # The message names the file with a line number, and the key.
        named = re.compile(r"%s:\d+:.*workers" % re.escape(self.srv.conf_path))

        def logged():
            return named.search(self.srv.log_text()[before:])
        t = wait_until(logged, timeout=3)
        self.assertTrue(t, "error log does not name the problem:%s" % self.srv.diag())
        time.sleep(0.5)
        self.assertEqual(self.srv.workers(), old, "workers replaced by a bad config")
        self.assertTrue(self.srv.master_alive())
        for _ in range(4):
            r = get(self.port, "/")
            self.assertEqual(r.status, 200)

    def test_ttin_ttou(self):
        self.srv.signal(signal.SIGTTIN)
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 3, timeout=3),
                        "TTIN: %r" % self.srv.workers())
        self.srv.signal(signal.SIGTTOU)
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 2, timeout=5),
                        "TTOU: %r" % self.srv.workers())
        self.assertEqual(get(self.port, "/").status, 200)


class ReopenTest(ServerTestCase):
    server_kwargs = {"workers": 2}

    def test_usr1_reopens_access_log(self):
        self.assertEqual(get(self.port, "/", headers={"User-Agent": "before"}).status, 200)
        self.assertTrue(wait_until(
            lambda: "before" in self.srv.read(self.srv.access_log), timeout=3))
        rotated = self.srv.access_log + ".1"
        os.rename(self.srv.access_log, rotated)
        self.srv.signal(signal.SIGUSR1)
        n = [0]

        def reopened():
            n[0] += 1
            get(self.port, "/", headers={"User-Agent": "after-%d" % n[0]})
            time.sleep(0.1)
            return "after-" in self.srv.read(self.srv.access_log)
        self.assertTrue(wait_until(reopened, timeout=5, interval=0.2),
                        "no new access log after USR1%s" % self.srv.diag())
        self.assertIn("before", self.srv.read(rotated))
        self.assertTrue(self.srv.master_alive())

    def test_usr1_reopens_error_log(self):
        rotated = self.srv.error_log + ".1"
        os.rename(self.srv.error_log, rotated)
        self.srv.signal(signal.SIGUSR1)
        # Something that is always logged: the death of a worker.
        time.sleep(0.3)
        self.srv.signal(signal.SIGKILL, self.srv.workers()[0])
        self.assertTrue(wait_until(lambda: os.path.exists(self.srv.error_log)
                                   and os.path.getsize(self.srv.error_log) > 0,
                                   timeout=5),
                        "error log not reopened after USR1")


class CommandLineSignalTest(ServerTestCase):
    server_kwargs = {"workers": 1}

    def test_s_reload(self):
        old = self.srv.workers()
        p = self.srv.run("-s", "reload")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(wait_until(lambda: self.srv.workers()
                                   and not set(self.srv.workers()) & set(old),
                                   timeout=8),
                        "-s reload did not reload%s" % self.srv.diag())
        self.assertEqual(get(self.port, "/").status, 200)

    def test_s_reopen(self):
        p = self.srv.run("-s", "reopen")
        self.assertEqual(p.returncode, 0, p.stderr)
        time.sleep(0.2)
        self.assertTrue(self.srv.master_alive())
        self.assertEqual(get(self.port, "/").status, 200)

    def test_s_stop(self):
        p = self.srv.run("-s", "stop")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.srv.wait_exit(5), 0)
        self.assertFalse(os.path.exists(self.srv.pid_file))
        # Now nothing runs: -s fails with a message.
        p = self.srv.run("-s", "reload")
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(p.stderr.strip(), "no message when nothing runs")

    def test_s_quit(self):
        p = self.srv.run("-s", "quit")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.srv.wait_exit(5), 0)


class NotRunningTest(ServerTestCase):
    start_server = False

    def test_s_without_pid_file(self):
        self.assertFalse(os.path.exists(self.srv.pid_file))
        for sig in ("reload", "stop"):
            p = self.srv.run("-s", sig)
            self.assertNotEqual(p.returncode, 0, sig)
            self.assertTrue(p.stderr.strip(), "%s: no message" % sig)

    def test_s_with_stale_pid_file(self):
        # A pid that no process has: the highest free one below pid_max.
        with open("/proc/sys/kernel/pid_max") as f:
            pid_max = int(f.read())
        stale = None
        for pid in range(pid_max - 1, pid_max - 200, -1):
            if not os.path.exists("/proc/%d" % pid):
                stale = pid
                break
        if stale is None:
            self.skipTest("no free pid found")
        with open(self.srv.pid_file, "w") as f:
            f.write("%d\n" % stale)
        p = self.srv.run("-s", "reload")
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(p.stderr.strip(), "no message for a stale pid file")

    def test_s_bad_argument(self):
        p = self.srv.run("-s", "explode")
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(p.stderr.strip())


if __name__ == "__main__":
    run_main()
