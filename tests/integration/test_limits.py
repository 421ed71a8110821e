#!/usr/bin/env python3
"""Malformed requests, smuggling, size limits and timeouts."""

import socket
import time
import unittest

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (INDEX_HTML, Conn, SharedServerTestCase, get, parse_head,
                     raw_exchange, req, run_main)


class MalformedTest(SharedServerTestCase):
    server_kwargs = {
        "workers": 1,
        "max_header_size": "4k",
        "client_header_timeout": "1s",
        "keepalive_timeout": "1s",
        "keepalive_requests": 3,
    }

    @classmethod
    def populate(cls, srv):
        srv.write_file("a.txt", "aaa\n")

    def bad(self, data, status, what=None):
        """data gets `status` (an int or a tuple), starting with a real
        status line, and the connection is closed; the server goes on."""
        what = what or repr(data[:60])
        out, closed = raw_exchange(self.port, data, timeout=5)
        self.assertTrue(out.startswith(b"HTTP/1.1 "),
                        "%s: expected an HTTP/1.1 status line, got %r"
                        % (what, out[:120]))
        st = parse_head(out)[1]
        want = status if isinstance(status, tuple) else (status,)
        self.assertIn(st, want, "%s: got %r" % (what, out[:200]))
        # RFC 9110 6.6.1: an origin server with a clock sends Date in 4xx.
        if 400 <= st < 500:
            self.assertIn(b"\r\nDate: ", out.split(b"\r\n\r\n")[0],
                          "%s: no Date in the %d" % (what, st))
        self.assertTrue(closed, "%s: connection left open after %d" % (what, st))
        self.assertServes(what)
        return out

    def test_garbage(self):
        self.bad(b"\x01\x02\x03 garbage \xff\xfe\r\n\r\n", 400)
        self.bad(b"this is not http at all\r\n\r\n", 400)

    def test_bare_lf(self):
        self.bad(b"GET / HTTP/1.1\nHost: x\n\n", 400)

    def test_bare_lf_in_headers(self):
        self.bad(b"GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400)

    def test_bare_cr(self):
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400)

    def test_obs_fold(self):
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400)
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n\tb\r\n\r\n", 400)

    def test_space_before_colon(self):
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 400)
        self.bad(b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400)

    def test_bad_field_name_and_value(self):
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\nX(bad): 1\r\n\r\n", 400)
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n", 400)
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", 400)

    def test_bad_request_line(self):
        self.bad(b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400)
        self.bad(b"GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400)
        self.bad(b"GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400)

    def test_cl_and_te(self):
        self.bad(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400)
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Length: 0\r\n\r\n", 400)

    def test_bad_content_length(self):
        self.bad(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400)
        self.bad(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400)
        self.bad(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                 b"Content-Length: 4\r\n\r\nabcd", 400)

    def test_te_not_chunked(self):
        self.bad(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400)

    def test_http2_version(self):
        self.bad(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)

    def test_no_version(self):
        self.bad(b"GET /\r\n\r\n", 400)
        self.bad(b"GET /\r\n", 400)

    def test_uri_too_long(self):
        self.bad(b"GET /" + b"a" * 20480 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414)

    def test_head_too_large(self):
        hdrs = b"".join(b"X-Filler-%03d: %s\r\n" % (i, b"v" * 90) for i in range(60))
        self.bad(b"GET / HTTP/1.1\r\nHost: x\r\n" + hdrs + b"\r\n", 431)

    def test_head_under_limit(self):
        r = get(self.port, "/a.txt",
                headers=[("X-Filler-%03d" % i, "v" * 40) for i in range(20)])
        self.assertEqual(r.status, 200)

    def test_missing_host(self):
        self.bad(b"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", 400)

    def test_two_hosts(self):
        self.bad(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)

    def test_http10_without_host_ok(self):
        r = get(self.port, "/a.txt", version="HTTP/1.0")
        self.assertEqual(r.status, 200)

    def test_body_discarded(self):
        smuggled = b"GET /smuggled-404 HTTP/1.1\r\nHost: x\r\n\r\n"
        data = (b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                % len(smuggled) + smuggled
                + req("GET", "/a.txt", headers={"Connection": "close"}))
        with Conn(self.port) as c:
            c.send(data)
            r1 = c.read_response()
            self.assertEqual(r1.status, 405)
            r2 = c.read_response()
            self.assertEqual(r2.status, 200,
                             "the POST body was parsed as a request: %r" % (r2,))
            self.assertEqual(r2.body, b"aaa\n")
            rest = c.read_until_close()
            self.assertEqual(rest, b"", "a third response: %r" % rest[:200])

    def test_header_timeout(self):
        # A slowloris: one byte every 300 ms never completes a head; the
        # 1 s limit is for the whole head, so it must be closed well before
        # the trickle would end.
        with Conn(self.port) as c:
            t0 = time.monotonic()
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ")
            closed_at = None
            for _ in range(30):
                if not c.is_open(0.3):
                    closed_at = time.monotonic() - t0
                    break
                try:
                    c.send(b"a")
                except OSError:
                    closed_at = time.monotonic() - t0
                    break
                if time.monotonic() - t0 > 6:
                    break
            self.assertIsNotNone(closed_at, "trickling client not closed in 6 s")
            self.assertGreater(closed_at, 0.7, "closed before client_header_timeout")
            self.assertLess(closed_at, 3.5)
            if c.buf:
                self.assertTrue(c.buf.startswith(b"HTTP/1.1 408"), c.buf[:100])

    def test_idle_connection_closed(self):
        with Conn(self.port) as c:
            t0 = time.monotonic()
            self.assertTrue(c.closed_within(4), "silent connection kept open")
            self.assertGreater(time.monotonic() - t0, 0.7)

    def test_keepalive_timeout(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/a.txt"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            t0 = time.monotonic()
            self.assertTrue(c.closed_within(4), "idle keep-alive connection kept open")
            took = time.monotonic() - t0
            self.assertGreater(took, 0.5)
            self.assertLess(took, 3.5)

    def test_keepalive_requests(self):
        with Conn(self.port) as c:
            for i in range(2):
                c.send(req("GET", "/a.txt"))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertFalse(r.closes(), "request %d closes" % (i + 1))
            c.send(req("GET", "/a.txt"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertTrue(r.closes(), "3rd response lacks Connection: close")
            self.assertTrue(c.closed_within(3))

    def test_keepalive_requests_pipelined(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/a.txt") * 4)
            for _ in range(3):
                self.assertEqual(c.read_response().status, 200)
            self.assertEqual(c.read_until_close(3), b"",
                             "a 4th response past keepalive_requests")


class SendTimeoutTest(SharedServerTestCase):
    """A client that stops reading is dropped after send_timeout."""

    SIZE = 16 * 1024 * 1024
    server_kwargs = {"workers": 1, "send_timeout": "1s"}

    @classmethod
    def populate(cls, srv):
        srv.write_file("big.bin", b"z" * cls.SIZE)

    def test_send_timeout(self):
        with Conn(self.port, timeout=10, rcvbuf=8192) as c:
            c.send(req("GET", "/big.bin"))
            time.sleep(3.5)
            try:
                got = len(c.read_until_close(timeout=10))
            except socket.timeout:
                self.fail("stalled connection not closed")
            self.assertLess(got, self.SIZE, "the whole body went to a client "
                            "that stopped reading for 3.5 s (send_timeout 1s)")
        self.assertServes("send timeout")

    def test_stalled_client_does_not_block(self):
        # One worker; a client that does not read a 16 MiB response must
        # not hold up the others (non-blocking sends).
        with Conn(self.port, timeout=10, rcvbuf=4096) as c:
            c.send(req("GET", "/big.bin"))
            time.sleep(0.2)
            for _ in range(5):
                t0 = time.monotonic()
                r = get(self.port, "/index.html")
                self.assertEqual(r.status, 200)
                self.assertLess(time.monotonic() - t0, 0.5)


class TrickleLoadTest(SharedServerTestCase):
    """200 slow clients do not stop a normal client from being served."""

    server_kwargs = {"workers": 2, "client_header_timeout": "10s"}

    def test_slow_clients_do_not_block(self):
        slow = []
        try:
            for _ in range(200):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ")
                s.setblocking(False)
                slow.append(s)
            times = []
            t_end = time.monotonic() + 2.5
            for _ in range(100):
                if time.monotonic() > t_end:
                    break
                for s in slow:
                    try:
                        s.send(b"a")
                    except OSError:
                        pass
                t0 = time.monotonic()
                r = get(self.port, "/index.html", timeout=5)
                times.append(time.monotonic() - t0)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.body, INDEX_HTML)
                time.sleep(0.3)
            self.assertGreaterEqual(len(times), 5)
            self.assertLess(max(times), 0.5, "slow responses: %r" % times)
        finally:
            for s in slow:
                s.close()


if __name__ == "__main__":
    run_main()
