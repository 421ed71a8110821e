#!/usr/bin/env python3
"""Bytes a proxied client gets are counted as a file's are: in /metrics
(drover_http_response_bytes_total, and drover_host_response_bytes_total of
the host that answered) and in the access log's bytes, for a proxied
response, an HTTP/1.1 WebSocket tunnel after its 101, and an HTTP/2
extended CONNECT tunnel (RFC 8441). A real raw upstream on 127.0.0.1
sends a known number of bytes; the client counts what it got."""

import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import SharedServerTestCase, run_main, wait_until
from test_metrics import scrape, value
from upstreams import RawServer, access_lines, read_head
import h2client

N = 1 << 20  # what the upstream sends as a body or through a tunnel


def upstream(s):
    """/big/: a 200 with N bytes of body; /push/: a 101, N bytes, close."""
    head = read_head(s)
    if b" /push/" in head.split(b"\r\n", 1)[0]:
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\n\r\n")
    else:
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % N)
    s.sendall(b"u" * N)
    time.sleep(0.2)
    s.close()


class ProxyBytesTest(SharedServerTestCase):
    server_kwargs = {"workers": 1, "metrics": {"path": "/metrics"}, "http2_cleartext": True,
                     "log_format": "json"}

    @classmethod
    def populate(cls, srv):
        cls.up = RawServer(upstream)
        addr = "127.0.0.1:%d" % cls.up.port
        srv.conf["upstreams"] = {"app": {"servers": [addr]}}
        srv.conf["locations"] = {"/big/": {"proxy": "app"}, "/push/": {"proxy": "app"}}
        srv.write_config()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if getattr(cls, "up", None) is not None:
            cls.up.stop()

    def counted(self, got, do):
        """Runs do() (which returns the bytes the client got, heads
        included) and checks that both byte counters grew by that much.
        The scrapes' own responses are counted too: at most 12 of them
        (about 12 KB each) come between the two figures, far below N."""
        names = ("drover_http_response_bytes_total", "drover_host_response_bytes_total")
        labels = ({}, {"host": "_default"})
        s0 = scrape(self.port)[1]
        before = [value(s0, n, **l) or 0 for n, l in zip(names, labels)]
        took = do()
        self.assertGreaterEqual(took, got)
        last = {}

        def grown():
            last["s"] = scrape(self.port)[1]
            return all((value(last["s"], n, **l) or 0) - b >= took
                       for n, l, b in zip(names, labels, before))
        ok = wait_until(grown, timeout=6, interval=0.5)
        deltas = [(value(last["s"], n, **l) or 0) - b for n, l, b in zip(names, labels, before)]
        self.assertTrue(ok, "the client got %d bytes; the counters grew by %r%s"
                        % (took, deltas, self.srv.diag()))
        for d in deltas:
            self.assertLess(d, took + 256 * 1024, "counted more than was sent: %r" % deltas)

    def test_proxied_response(self):
        def do():
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                s.sendall(b"GET /big/r HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                return self.read_all(s)
        self.counted(N, do)
        self.assertTrue(wait_until(lambda: access_lines(self.srv, "/big/r"), timeout=5))
        self.assertEqual(access_lines(self.srv, "/big/r")[-1]["bytes"], N)

    def read_all(self, s):
        got = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            b = s.recv(1 << 20)
            if not b:
                break
            got += len(b)
        return got

    def test_http1_tunnel(self):
        def do():
            with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
                s.sendall(b"GET /push/h1 HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
                          b"Upgrade: websocket\r\n\r\n")
                return self.read_all(s)  # the 101 head, then N bytes and the upstream's end
        self.counted(N, do)
        self.assertTrue(wait_until(lambda: access_lines(self.srv, "/push/h1"), timeout=5))
        d = access_lines(self.srv, "/push/h1")[-1]
        self.assertEqual((d["status"], d["bytes"]), (101, N), d)
        self.assertGreaterEqual(d["duration_us"], 150000, d)

    @unittest.skipUnless(h2client.available(), "no python3-h2")
    def test_http2_tunnel(self):
        def do():
            with h2client.H2(self.port, timeout=10) as c:
                c.pump(lambda: 8 in c.remote_settings, 5)
                sid = c.conn.get_next_available_stream_id()
                c.conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"),
                                          (":scheme", "http"), (":path", "/push/h2"),
                                          (":authority", "127.0.0.1"),
                                          ("sec-websocket-version", "13")])
                c.flush()
                st = c.streams[sid] = h2client.Stream(sid)
                c.pump(lambda: st.ended or st.reset is not None, 20)
                self.assertEqual(st.status, 200)
                self.assertTrue(st.ended)
                return len(st.body)  # frames not counted here: at least this much went
        self.counted(N, do)
        self.assertTrue(wait_until(lambda: access_lines(self.srv, "/push/h2"), timeout=5))
        d = access_lines(self.srv, "/push/h2")[-1]
        self.assertEqual((d["status"], d["upstream_status"], d["bytes"]), (200, 101, N), d)
        # The stream lasted until the upstream's close, 0.2 s after its bytes:
        # the HTTP/2 log's duration is the stream's, as HTTP/1's is.
        self.assertGreaterEqual(d["duration_us"], 150000, d)


if __name__ == "__main__":
    run_main()
