#!/usr/bin/env python3
"""Reverse proxy, each with a server of its own: send_timeout on an
upstream that stops reading a large body, and the pool's surplus (idle
connections above keepalive kept a second, then closed). Real raw
upstreams on 127.0.0.1."""

import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import SharedServerTestCase, req, run_main, wait_until
from upstreams import RawServer, get, hang, read_head


class ProxySendTimeoutTest(SharedServerTestCase):
    """An upstream that stops reading a large request body: send_timeout
    (1s) ends it with 504, not read_timeout (20s). Its own server: the body
    must be larger than what the sockets' buffers hold, so over the default
    max_body_size."""
    server_kwargs = {"workers": 1, "max_body_size": "64m"}

    @classmethod
    def populate(cls, srv):
        cls.stuck = RawServer(hang, rcvbuf=4096)  # reads the head, then nothing
        srv.conf["upstreams"] = {"stuck": {"servers": ["127.0.0.1:%d" % cls.stuck.port],
                                           "send_timeout": "1s", "read_timeout": "20s"}}
        srv.conf["locations"] = {"/stuck/": {"proxy": "stuck"}}
        srv.write_config()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.stuck.stop()

    def test_send_timeout_is_504(self):
        n = 32 << 20
        s = socket.create_connection(("127.0.0.1", self.port), timeout=15)
        s.sendall(req("POST", "/stuck/x")[:-2] + b"Content-Length: %d\r\n\r\n" % n)

        def send_body():
            chunk = b"z" * 65536
            try:
                for _ in range(n // len(chunk)):
                    s.sendall(chunk)
            except OSError:
                pass  # drover answered and closed
        t = time.monotonic()
        th = threading.Thread(target=send_body, daemon=True)
        th.start()
        data = b""
        while b"\r\n\r\n" not in data and time.monotonic() - t < 15:
            b = s.recv(65536)
            if not b:
                break
            data += b
        elapsed = time.monotonic() - t
        s.close()
        th.join(15)
        self.assertTrue(data.startswith(b"HTTP/1.1 504 "), data[:200])
        self.assertLess(elapsed, 8)
        self.assertIn("timed out (send)", self.srv.log_text())


class Gathering(object):
    """An upstream that answers the first request of each connection only
    when `n` connections have one waiting (so n are in flight at once),
    serves keep-alive requests after that, and counts its open connections."""

    def __init__(self, n):
        self.lock = threading.Lock()
        self.open = 0
        self.barrier = threading.Barrier(n, timeout=5)
        self.raw = RawServer(self.behave)

    def behave(self, s):
        with self.lock:
            self.open += 1
        try:
            for i in range(100):
                if not read_head(s):
                    break
                if i == 0:
                    try:
                        self.barrier.wait()
                    except threading.BrokenBarrierError:
                        pass
                body = b"%d" % s.getpeername()[1]
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        finally:
            with self.lock:
                self.open -= 1


class ProxyPoolSurplusTest(SharedServerTestCase):
    """keepalive 1, three requests in flight at once: the two connections
    above keepalive stay idle for a second (a load swinging around the
    limit reuses them rather than reconnecting), then are closed, the
    newest idle kept."""
    server_kwargs = {"workers": 1}

    @classmethod
    def populate(cls, srv):
        cls.up = Gathering(3)
        srv.conf["upstreams"] = {"one": {"servers": ["127.0.0.1:%d" % cls.up.raw.port],
                                         "keepalive": 1}}
        srv.conf["locations"] = {"/one/": {"proxy": "one"}}
        srv.write_config()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.up.raw.stop()

    def test_surplus_kept_a_moment_then_closed(self):
        got = []

        def one(i):
            got.append(get(self.port, "/one/%d" % i, timeout=10))

        ts = [threading.Thread(target=one, args=(i,)) for i in range(3)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(15)
        self.assertEqual([r.status for r in got], [200] * 3)
        peers = {int(r.body) for r in got}
        self.assertEqual(len(peers), 3, peers)
        # Closing the surplus at once would leave 1 open by now.
        time.sleep(0.3)
        self.assertEqual(self.up.open, 3)
        self.assertTrue(wait_until(lambda: self.up.open == 1, timeout=5), self.up.open)
        accepted = self.up.raw.accepted
        r = get(self.port, "/one/again")
        self.assertEqual(r.status, 200)
        self.assertIn(int(r.body), peers)
        self.assertEqual(self.up.raw.accepted, accepted)


if __name__ == "__main__":
    run_main()
