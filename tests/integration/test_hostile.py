#!/usr/bin/env python3
"""Hostile and malformed input over real sockets (issue 4): every case of
SPEC.md's HTTP section gets its status, a closed connection, and a worker
that goes on serving. Also what is valid and easy to get wrong: tab as
optional whitespace, OPTIONS *, Expect: 100-continue."""

import socket
import time
import unittest

import harness
from harness import Conn, get, raw_exchange, req

RL = b"GET / HTTP/1.1\r\n"
H = b"Host: h\r\n"

# (name, request bytes, status)
BAD = [
    # request smuggling: framing the server and a proxy could read differently
    ("CL and TE", RL + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    ("TE and CL", RL + H + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400),
    ("duplicate CL", RL + H + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    ("conflicting CL", RL + H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    ("CL list", RL + H + b"Content-Length: 5, 5\r\n\r\nhello", 400),
    ("non-numeric CL", RL + H + b"Content-Length: five\r\n\r\n", 400),
    ("negative CL", RL + H + b"Content-Length: -1\r\n\r\n", 400),
    ("hex CL", RL + H + b"Content-Length: 0x5\r\n\r\n", 400),
    ("CL with plus", RL + H + b"Content-Length: +5\r\n\r\n", 400),
    ("TE gzip", RL + H + b"Transfer-Encoding: gzip\r\n\r\n", 400),
    ("TE chunked, gzip", RL + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n", 400),
    ("TE chunked then gzip", RL + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
     400),
    ("TE in HTTP/1.0", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("obs-fold", RL + H + b"X-A: a\r\n b\r\n\r\n", 400),
    ("obs-fold with tab", RL + H + b"X-A: a\r\n\tb\r\n\r\n", 400),
    ("space before colon", RL + b"Host : h\r\n\r\n", 400),
    ("tab before colon", RL + H + b"Content-Length\t: 0\r\n\r\n", 400),
    # line ends: bare CR and bare LF are refused (the safe choice)
    ("bare CR in a value", RL + H + b"X-A: a\rb\r\n\r\n", 400),
    ("bare CR in the target", b"GET /a\rb HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("bare LF line ends", b"GET / HTTP/1.1\nHost: h\n\n", 400),
    ("bare LF after a field", RL + b"Host: h\nX: y\r\n\r\n", 400),
    # bytes that do not belong
    ("NUL in the target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("SOH in the target", b"GET /a\x01b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("DEL in the target", b"GET /a\x7fb HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("tab in the target", b"GET /a\tb HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("NUL in a value", RL + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("ESC in a value", RL + H + b"X-A: a\x1bb\r\n\r\n", 400),
    ("DEL in a value", RL + H + b"X-A: a\x7fb\r\n\r\n", 400),
    ("NUL in Host", RL + b"Host: h\x00evil\r\n\r\n", 400),
    ("@ in a field name", RL + H + b"X@Y: 1\r\n\r\n", 400),
    ("paren in a field name", RL + H + b"X(Y): 1\r\n\r\n", 400),
    ("empty field name", RL + H + b": 1\r\n\r\n", 400),
    ("no colon", RL + H + b"NoColon\r\n\r\n", 400),
    ("high byte in a field name", RL + H + b"X\xe9: 1\r\n\r\n", 400),
    # request line
    ("invalid method token", b"G@T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("method with a slash", b"GE/T / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("empty method", b" / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("two spaces", b"GET  / HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("lower-case protocol", b"GET / http/1.1\r\n" + H + b"\r\n", 400),
    ("version 1.x", b"GET / HTTP/1.x\r\n" + H + b"\r\n", 400),
    ("version 11", b"GET / HTTP/11\r\n" + H + b"\r\n", 400),
    ("HTTX", b"GET / HTTX/1.1\r\n" + H + b"\r\n", 400),
    ("trailing junk after version", b"GET / HTTP/1.1x\r\n" + H + b"\r\n", 400),
    ("HTTP/2.0", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("HTTP/0.9 as version", b"GET / HTTP/0.9\r\n" + H + b"\r\n", 505),
    ("no version (HTTP/0.9)", b"GET /\r\n\r\n", 400),
    ("no version, with a field", b"GET /index.html\r\nHost: h\r\n\r\n", 400),
    # Host
    ("no Host in 1.1", RL + b"User-Agent: x\r\n\r\n", 400),
    ("two Host", RL + b"Host: a\r\nHost: b\r\n\r\n", 400),
    ("two Host, same value", RL + b"Host: a\r\nhost: a\r\n\r\n", 400),
    # Host grammar (RFC 9112 3.2, issue 15): uri-host [":" port]
    ("Host with a space", RL + b"Host: bad host\r\n\r\n", 400),
    ("Host with a slash", RL + b"Host: a/b\r\n\r\n", 400),
    ("Host with a space and port", RL + b"Host: exa mple.com:80\r\n\r\n", 400),
    ("Host with userinfo", RL + b"Host: user@example.com\r\n\r\n", 400),
    ("Host port out of range", RL + b"Host: example.com:65536\r\n\r\n", 400),
    ("Host empty port", RL + b"Host: example.com:\r\n\r\n", 400),
    ("Host bad IPv6", RL + b"Host: [::1\r\n\r\n", 400),
    ("Host empty label", RL + b"Host: a..b\r\n\r\n", 400),
    ("absolute-form with userinfo", b"GET http://u@h/ HTTP/1.1\r\n" + H + b"\r\n", 400),
    # chunked at most once (RFC 9112 6.1): a 400 before the method's 405
    ("TE chunked, chunked", b"POST / HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
    ("TE chunked twice", b"POST / HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    # authority-form is for CONNECT only, and CONNECT takes only it
    ("authority-form GET", b"GET example.com:443 HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("CONNECT without a port", b"CONNECT example.com HTTP/1.1\r\n" + H + b"\r\n", 400),
    # absurd sizes and counts
    ("101 fields", RL + H + b"".join(b"X-%d: 1\r\n" % i for i in range(100)) + b"\r\n", 431),
    ("thousands of tiny fields", RL + H + b"a:\r\n" * 3000 + b"\r\n", 431),
    ("one huge field", RL + H + b"X: " + b"a" * 9000 + b"\r\n\r\n", 431),
    ("huge request line", b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
    ("GET *", b"GET * HTTP/1.1\r\n" + H + b"\r\n", 400),
]


class HostileTest(harness.SharedServerTestCase):
    server_kwargs = {"workers": 1, "max_header_size": "8k", "max_body_size": "1k"}

    def test_bad_requests(self):
        for name, data, status in BAD:
            with self.subTest(name):
                raw, closed = raw_exchange(self.port, data, timeout=3.0)
                self.assertTrue(closed, "%s: connection left open" % name)
                # always a real HTTP/1.1 status line, never a bare body
                self.assertTrue(raw.startswith(b"HTTP/1.1 %d " % status),
                                "%s: %r" % (name, raw[:80]))
                head = raw.split(b"\r\n\r\n", 1)[0].lower()
                self.assertIn(b"\r\nconnection: close", head, name)
                # nothing of the file leaks out
                self.assertNotIn(harness.INDEX_HTML, raw, name)
        self.assertServes("the bad requests")

    def test_bad_request_after_a_good_one(self):
        # pipelined: the good one is answered, the bad one gets its 400
        with Conn(self.port) as c:
            c.send(req("GET", "/index.html") + RL + b"Host: h\r\nX-A: a\r\n b\r\n\r\n")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, harness.INDEX_HTML))
            r = c.read_response()
            self.assertEqual(r.status, 400)
            self.assertTrue(c.closed_within(2.0))

    def test_smuggled_request_is_not_served(self):
        # A request hidden in a body with conflicting framing must never be
        # answered as a second request.
        data = (RL + H + b"Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n"
                b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n")
        raw, closed = raw_exchange(self.port, data, timeout=3.0)
        self.assertTrue(closed)
        self.assertEqual(raw.count(b"HTTP/1.1 "), 1, raw)

    def test_valid_whitespace(self):
        # tab and spaces are optional whitespace around a field value
        data = (b"GET /index.html HTTP/1.1\r\nHost:\th\t\r\nX-A: \t a b \t\r\n"
                b"If-None-Match:\t\"nope\"\t\r\nConnection:\tclose\r\n\r\n")
        with Conn(self.port) as c:
            c.send(data)
            r = c.read_response()
        self.assertEqual((r.status, r.body), (200, harness.INDEX_HTML))
        # an empty value is a value
        r = get(self.port, "/index.html", {"X-Empty": ""})
        self.assertEqual(r.status, 200)
        # leading empty lines before a request line are ignored (RFC 9112 2.2)
        with Conn(self.port) as c:
            c.send(b"\r\n" + req("GET", "/index.html", headers={"Connection": "close"}))
            self.assertEqual(c.read_response().status, 200)

    def test_exactly_100_fields(self):
        data = RL + H + b"".join(b"X-%d: 1\r\n" % i for i in range(98)) + b"Connection: close\r\n\r\n"
        with Conn(self.port) as c:
            c.send(data)
            self.assertEqual(c.read_response().status, 200)

    def test_valid_hosts(self):
        for host in (b"EXAMPLE.com.", b"example.com:8080", b"127.0.0.1:80", b"[::1]",
                     b"[2001:db8::1]:443", b""):
            with self.subTest(host):
                with Conn(self.port) as c:
                    c.send(b"GET /index.html HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
                    r = c.read_response()
                self.assertEqual((r.status, r.body), (200, harness.INDEX_HTML))

    def test_connect_authority_form(self):
        # RFC 9112 3.2.3: a well-formed CONNECT is a method drover does not
        # offer (405 with Allow), not a malformed request (400).
        with Conn(self.port) as c:
            c.send(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 405)
            self.assertEqual(r.header("Allow"), "GET, HEAD, OPTIONS")
        self.assertServes("CONNECT")

    def test_options_star(self):
        with Conn(self.port) as c:
            c.send(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Allow"), "GET, HEAD, OPTIONS")
            self.assertEqual(r.header("Content-Length"), "0")
            # and the connection stays usable
            c.send(req("GET", "/index.html"))
            self.assertEqual(c.read_response().status, 200)

    def test_expect_100_continue_with_body(self):
        # drover never reads a body it will not use: it answers at once,
        # without 100 Continue, and closes the connection (the client then
        # need not send the body at all).
        with Conn(self.port) as c:
            c.send(req("GET", "/index.html", headers={"Expect": "100-continue",
                                                      "Content-Length": "500"}))
            t0 = time.monotonic()
            r = c.read_response(timeout=3.0)
            self.assertLess(time.monotonic() - t0, 2.0)
            self.assertEqual((r.status, r.body), (200, harness.INDEX_HTML))
            self.assertNotIn(b"100 Continue", r.raw_head)
            self.assertTrue(r.closes())
            self.assertTrue(c.closed_within(3.0))
        # a client that sends its body anyway does not upset the server
        with Conn(self.port) as c:
            c.send(req("POST", "/index.html", headers={"Expect": "100-continue",
                                                       "Content-Length": "5"}, body=b"hello"))
            r = c.read_response(timeout=3.0)
            self.assertEqual(r.status, 405)
            self.assertTrue(c.closed_within(3.0))
        self.assertServes("Expect")

    def test_expect_100_continue_without_body(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/index.html", headers={"Expect": "100-continue"}))
            r = c.read_response()
            self.assertEqual((r.status, r.body), (200, harness.INDEX_HTML))
            self.assertFalse(r.closes())
            c.send(req("GET", "/index.html", headers={"Expect": "100-continue",
                                                      "Content-Length": "0"}))
            self.assertEqual(c.read_response().status, 200)

    def test_expect_other(self):
        r = get(self.port, "/index.html", {"Expect": "something-else"})
        self.assertEqual(r.status, 417)
        r = get(self.port, "/index.html", {"Expect": "100-continue", "Content-Length": "2048"})
        self.assertEqual(r.status, 413)  # above max_body_size: refused before any 100

    def test_body_on_get_is_skipped(self):
        # a body with a valid Content-Length is read and dropped; the next
        # request on the connection is found after it
        with Conn(self.port) as c:
            c.send(req("GET", "/index.html", headers={"Content-Length": "10"}, body=b"0123456789") +
                   req("GET", "/index.html"))
            self.assertEqual(c.read_response().status, 200)
            self.assertEqual(c.read_response().status, 200)


if __name__ == "__main__":
    harness.run_main()
