#!/usr/bin/env python3
"""Resource limits over real sockets (issue 4): client_header_timeout
counts from the first byte of a request, however slowly the rest comes;
a worker out of descriptors (EMFILE, under a low RLIMIT_NOFILE) or at
worker_connections does not spin: it pauses accepting, stays cheap in CPU,
and serves again once clients leave."""

import os
import socket
import subprocess
import time
import unittest

import harness
from harness import Conn, get, req

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (fields 14 and 15 of stat)."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        data = f.read().decode("latin-1")
    rest = data[data.rfind(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def open_idle(port, n, timeout=2.0):
    """n connections that send nothing; refused ones are skipped."""
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        out.append(s)
    return out


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


class LimitedServer(harness.Server):
    """A server started with RLIMIT_NOFILE lowered to nofile (soft and hard),
    as `prlimit --nofile=N` would; the workers inherit it."""

    def __init__(self, nofile, **kw):
        self.nofile = (nofile, nofile)
        super().__init__(**kw)


class HeaderTimeoutTest(harness.ServerTestCase):
    server_kwargs = {"workers": 1, "client_header_timeout": "1500ms", "keepalive_timeout": "10s"}

    def trickle_until_closed(self, c, limit=6.0):
        """Sends one byte every 0.25 s until the server closes; returns the
        seconds from the first byte to the close."""
        t0 = time.monotonic()
        c.sock.settimeout(0.25)
        for _ in range(int(limit / 0.25) + 1):
            try:
                c.sock.sendall(b"X")
            except OSError:
                break
            try:
                d = c.sock.recv(4096)
                if not d:
                    break
                c.buf += d
            except socket.timeout:
                pass
            except OSError:
                break
            if time.monotonic() - t0 > limit:
                self.fail("still open after %.1f s of trickling" % limit)
        return time.monotonic() - t0

    def test_trickle_on_a_new_connection(self):
        with Conn(self.port) as c:
            c.send(b"GET /index.html HTTP/1.1\r\nHost: h\r\nX-Slow: ")
            took = self.trickle_until_closed(c)
            self.assertLess(took, 2.8, "a byte a quarter-second kept the head open")
            self.assertGreater(took, 1.0)

    def test_trickle_after_keepalive_idle(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/index.html"))
            self.assertEqual(c.read_response().status, 200)
            time.sleep(1.0)  # idle: this is keepalive_timeout's time, not the head's
            c.send(b"GET /index.html HTTP/1.1\r\nHost: h\r\nX-Slow: ")
            took = self.trickle_until_closed(c)
            # counted from the first byte of this request, not from the end
            # of the previous response, and not re-armed by later bytes
            self.assertGreater(took, 1.2)
            self.assertLess(took, 2.8)
        r = get(self.port, "/index.html")
        self.assertEqual(r.status, 200)


def assert_not_spinning(test, worker, seconds=2.0):
    """The worker uses under a quarter of a CPU over `seconds`."""
    cpu0, t0 = cpu_seconds(worker), time.monotonic()
    time.sleep(seconds)
    used = cpu_seconds(worker) - cpu0
    wall = time.monotonic() - t0
    test.assertLess(used, 0.25 * wall, "worker spun: %.2f s CPU in %.2f s" % (used, wall))


class NoFileTest(unittest.TestCase):
    """RLIMIT_NOFILE of 40 leaves the worker room for a few connections
    after its reserve; sixty clients hold theirs open."""

    def setUp(self):
        if not harness.binary_ok():
            self.skipTest("no drover binary")
        # defer_accept off: the idle clients must reach the worker at once
        # for it to run out of descriptors.
        self.srv = LimitedServer(40, workers=1, client_header_timeout="20s",
                                 keepalive_timeout="20s", defer_accept=False)
        self.addCleanup(self.srv.cleanup)
        self.srv.start()
        self.port = self.srv.port

    def test_out_of_descriptors(self):
        worker = self.srv.workers()[0]
        socks = open_idle(self.port, 60)
        self.addCleanup(close_all, socks)
        self.assertGreater(len(socks), 30)  # the rest wait in the backlog
        time.sleep(0.5)
        # The worker keeps a reserve of descriptors (fd_budget): it stops
        # accepting before EMFILE, so it never runs out.
        self.assertNotIn("accept4()", self.srv.log_text())
        assert_not_spinning(self, worker)
        # the first connections are answered even now, the file opened from
        # the reserve
        socks[0].sendall(req("GET", "/index.html"))
        socks[0].settimeout(5)
        first = socks[0].recv(4096)
        self.assertRegex(first[:13], rb"^HTTP/1.1 200 ", first[:200])
        close_all(socks)
        # ... and once the clients are gone, everyone is served again
        ok = harness.wait_until(lambda: self.try_get(), timeout=8.0, interval=0.2)
        self.assertTrue(ok, "not serving after the clients left" + self.srv.diag())
        self.assertEqual(self.srv.workers(), [worker])  # the same worker, alive

    def try_get(self):
        try:
            return get(self.port, "/index.html", timeout=1.0).status == 200
        except (OSError, ValueError, EOFError):
            return False


class WorkerConnectionsTest(harness.ServerTestCase):
    server_kwargs = {"workers": 1, "worker_connections": 5, "client_header_timeout": "20s",
                     "keepalive_timeout": "20s", "defer_accept": False}

    def test_at_worker_connections(self):
        worker = self.srv.workers()[0]
        socks = open_idle(self.port, 30)
        self.addCleanup(close_all, socks)
        self.assertGreater(len(socks), 10)
        time.sleep(0.5)
        assert_not_spinning(self, worker)
        # one of the five accepted ones is served; a new client waits
        socks[0].sendall(req("GET", "/index.html"))
        socks[0].settimeout(5)
        self.assertTrue(socks[0].recv(4096).startswith(b"HTTP/1.1 200 "))
        self.assertRaises((socket.timeout, OSError), get, self.port, "/index.html", timeout=0.5)
        close_all(socks)
        ok = harness.wait_until(lambda: NoFileTest.try_get(self), timeout=8.0, interval=0.2)
        self.assertTrue(ok, "not serving after the clients left" + self.srv.diag())


class DeferAcceptTest(harness.ServerTestCase):
    """With defer_accept (the default), clients that connect and send
    nothing are not handed to the worker, so they cannot use up
    worker_connections: a real request is served at once beside them."""
    server_kwargs = {"workers": 1, "worker_connections": 5, "client_header_timeout": "20s"}

    def test_idle_connects_hold_no_slot(self):
        socks = open_idle(self.port, 20)
        self.addCleanup(close_all, socks)
        time.sleep(0.3)
        start = time.monotonic()
        r = get(self.port, "/index.html", timeout=2.0)
        self.assertEqual(r.status, 200)
        self.assertLess(time.monotonic() - start, 0.5)


if __name__ == "__main__":
    harness.run_main()
