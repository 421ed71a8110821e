#!/usr/bin/env python3
"""PROXY protocol on a listener with `proxy_protocol: true` (issue 13).

Headers are built here byte by byte (v1 text, v2 binary with TLVs) and sent
from plain sockets, so every case is exact: the header's client address is
what the access log and status.allow see; LOCAL is served with the peer's
own address; a malformed, truncated or missing header closes the connection
(no guessing); a peer outside proxy_trusted is closed and logged; a header
that never completes is closed after client_header_timeout.

Each server listens twice: self.port is plain (the harness's readiness
check speaks plain HTTP there) and self.pport requires the header."""

import os
import re
import socket
import struct
import time

from harness import (ServerTestCase, Conn, free_port, get, req, run_main,
                     wait_until)

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst="127.0.0.1", sport=40000, dport=80, family=None):
    family = family or ("TCP6" if ":" in src else "TCP4")
    return ("PROXY %s %s %s %d %d\r\n" % (family, src, dst, sport, dport)).encode()


def v2(src=None, dst=None, sport=40000, dport=80, local=False, tlvs=b""):
    """A v2 header: PROXY over TCP for src/dst, or LOCAL."""
    if local:
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack("!H", len(tlvs)) + tlvs
    if ":" in src:
        fam = 0x21
        addrs = (socket.inet_pton(socket.AF_INET6, src)
                 + socket.inet_pton(socket.AF_INET6, dst or "::1"))
    else:
        fam = 0x11
        addrs = socket.inet_aton(src) + socket.inet_aton(dst or "127.0.0.1")
    block = addrs + struct.pack("!HH", sport, dport) + tlvs
    return V2_SIG + bytes([0x21, fam]) + struct.pack("!H", len(block)) + block


def tlv(kind, value):
    return bytes([kind]) + struct.pack("!H", len(value)) + value


GET_CLOSE = req("GET", "/index.html", headers=[("Connection", "close")])


def get_close(marker):
    return req("GET", "/index.html?" + marker, headers=[("Connection", "close")])


class ProxyCase(ServerTestCase):
    start_server = False
    extra = {}

    def setUp(self):
        super().setUp()
        self.pport = free_port()
        self.srv.conf["listen"] = [
            "127.0.0.1:%d" % self.srv.port,
            {"address": "127.0.0.1:%d" % self.pport, "proxy_protocol": True},
        ]
        self.srv.conf.update(self.extra)
        self.srv.write_config()
        self.srv.start()

    def logged(self, marker, n=1, timeout=4.0):
        """The access log lines whose request carries marker (a query
        string of the test's own), once there are n of them: the log is
        flushed every second."""
        lines = []

        def enough():
            lines[:] = [l for l in self.srv.read(self.srv.access_log).splitlines()
                        if marker in l]
            return len(lines) >= n
        wait_until(enough, timeout=timeout)
        return lines

    def closed_without_response(self, data, timeout=3.0):
        """Sends data on the proxy port; True when the server closes
        without a byte of HTTP."""
        with Conn(self.pport) as c:
            try:
                c.send(data)
            except OSError:
                return True
            closed = c.closed_within(timeout)
            self.assertNotIn(b"HTTP/", c.buf, "answered: %r" % c.buf[:80])
            return closed


class ProxyHeaderTest(ProxyCase):
    server_kwargs = {"workers": 1, "client_header_timeout": "2s"}
    extra = {"status": {"path": "/status", "allow": ["203.0.113.0/24"]}}

    def test_v1_address_in_access_log(self):
        with Conn(self.pport) as c:
            c.send(v1("198.51.100.23") + get_close("v1"))
            self.assertEqual(c.read_response().status, 200)
        lines = self.logged("?v1 ")
        self.assertTrue(lines and lines[0].startswith("198.51.100.23 "), lines)

    def test_v1_ipv6_and_header_in_its_own_segment(self):
        # The header alone first, the request later: the header is consumed
        # and the request read on a later event.
        with Conn(self.pport) as c:
            c.send(v1("2001:db8::7", dst="::1"))
            time.sleep(0.2)
            c.send(get_close("v6"))
            self.assertEqual(c.read_response().status, 200)
        lines = self.logged("?v6 ")
        self.assertTrue(lines and lines[0].startswith("2001:db8::7 "), lines)

    def test_v2_with_tlvs_keepalive(self):
        # TLVs (ALPN, authority, a NOOP) are skipped; the address holds for
        # every request on the connection.
        tl = tlv(0x01, b"http/1.1") + tlv(0x02, b"example.com") + tlv(0x04, b"\x00" * 5)
        with Conn(self.pport) as c:
            c.send(v2("203.0.113.7", tlvs=tl) + req("GET", "/index.html?v2"))
            self.assertEqual(c.read_response().status, 200)
            c.send(req("GET", "/index.html?v2"))
            self.assertEqual(c.read_response().status, 200)
        lines = self.logged("?v2 ", 2)
        self.assertEqual([l.split(" ")[0] for l in lines], ["203.0.113.7"] * 2, lines)

    def test_v2_local_uses_peer_address(self):
        with Conn(self.pport) as c:
            c.send(v2(local=True) + get_close("local"))
            self.assertEqual(c.read_response().status, 200)
        lines = self.logged("?local ")
        self.assertTrue(lines and lines[0].startswith("127.0.0.1 "), lines)

    def test_v1_unknown_uses_peer_address(self):
        with Conn(self.pport) as c:
            c.send(b"PROXY UNKNOWN\r\n" + get_close("unknown"))
            self.assertEqual(c.read_response().status, 200)
        lines = self.logged("?unknown ")
        self.assertTrue(lines and lines[0].startswith("127.0.0.1 "), lines)

    def test_status_allow_decided_by_header_address(self):
        status_req = req("GET", "/status", headers=[("Connection", "close")])
        with Conn(self.pport) as c:
            c.send(v2("203.0.113.7") + status_req)
            r = c.read_response()
            self.assertEqual(r.status, 200, r)
        with Conn(self.pport) as c:
            c.send(v1("198.51.100.1") + status_req)
            self.assertEqual(c.read_response().status, 403)
        # An IPv4 client in an IPv6 header (a dual-stack balancer) counts
        # as IPv4.
        with Conn(self.pport) as c:
            c.send(v1("::ffff:203.0.113.8", dst="::1") + status_req)
            self.assertEqual(c.read_response().status, 200)
        # The plain listener: the peer 127.0.0.1 is not allowed.
        self.assertEqual(get(self.port, "/status").status, 403)
        # LOCAL: the peer's address decides, and it is not allowed either.
        with Conn(self.pport) as c:
            c.send(v2(local=True) + status_req)
            self.assertEqual(c.read_response().status, 403)

    def test_no_header_is_closed(self):
        # Plain HTTP on a proxy listener: closed, not served (no guessing).
        self.assertTrue(self.closed_without_response(GET_CLOSE))
        self.assertIn("malformed PROXY protocol header", self.srv.log_text())
        # The plain listener is not affected.
        self.assertEqual(get(self.port, "/index.html").status, 200)

    def test_malformed_headers_are_closed(self):
        bad = [
            b"PROXY TCP4 198.51.100.1 127.0.0.1 40000 80 extra\r\n",
            b"PROXY TCP4 2001:db8::1 127.0.0.1 40000 80\r\n",     # family mismatch
            b"PROXY TCP4 198.51.100.1 127.0.0.1 040000 80\r\n",
            b"PROXY TCP4 198.51.100.1 127.0.0.1 40000 80\n",      # bare LF
            b"PROXY " + b"X" * 120 + b"\r\n",                      # over 107 bytes
            V2_SIG + bytes([0x21, 0x11, 0x00, 0x04]) + b"\x00" * 4,  # block too short
            V2_SIG + bytes([0x21, 0x11, 0x00, 0x0f]) + b"\x00" * 12 + b"\x01\x00\x09",  # TLV overruns
            V2_SIG + bytes([0x31, 0x11, 0x00, 0x0c]) + b"\x00" * 12,  # version 3
        ]
        for data in bad:
            self.assertTrue(self.closed_without_response(data + GET_CLOSE),
                            "not closed: %r" % data)
        self.assertEqual(get(self.port, "/index.html").status, 200)

    def test_truncated_header_then_eof_is_closed(self):
        for data in (b"PROXY TCP4 198.51.100.1 127.0", v2("203.0.113.7")[:20]):
            s = socket.create_connection(("127.0.0.1", self.pport), timeout=3)
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                start = time.monotonic()
                try:
                    got = s.recv(100)
                except ConnectionResetError:
                    got = b""  # closed with our bytes unread: a reset
                self.assertEqual(got, b"")
                # Closed on the FIN, not by the 2 s header timeout.
                self.assertLess(time.monotonic() - start, 1.5)
            finally:
                s.close()
        self.assertTrue(wait_until(lambda: "PROXY protocol header cut short" in self.srv.log_text(),
                                   timeout=2), self.srv.diag())

    def test_header_timeout(self):
        # A header that never completes: closed after client_header_timeout.
        with Conn(self.pport) as c:
            c.send(b"PROXY TCP4 198.51.")
            start = time.monotonic()
            self.assertTrue(c.closed_within(6.0))
            took = time.monotonic() - start
        self.assertGreater(took, 1.5)
        self.assertLess(took, 5.0)
        # And a connection that sends nothing at all.
        with Conn(self.pport) as c:
            self.assertTrue(c.closed_within(6.0))
        self.assertIn("no PROXY protocol header within", self.srv.log_text())


class ProxyReloadTest(ProxyCase):
    server_kwargs = {"workers": 1}

    def test_reload_turns_proxy_protocol_off_and_on(self):
        # The same address, the flag changed by a reload: the new workers
        # follow the new configuration on the socket the master kept.
        addr = "127.0.0.1:%d" % self.pport
        self.srv.conf["listen"][1] = {"address": addr, "proxy_protocol": False}
        self.srv.write_config()
        p = self.srv.run("-s", "reload", timeout=15)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(get(self.pport, "/index.html").status, 200)
        self.srv.conf["listen"][1] = {"address": addr, "proxy_protocol": True}
        self.srv.write_config()
        p = self.srv.run("-s", "reload", timeout=15)
        self.assertEqual(p.returncode, 0, p.stderr)

        def refused():
            # An old worker still draining may serve one; bounded retries.
            with Conn(self.pport) as c:
                try:
                    c.send(GET_CLOSE)
                except OSError:
                    return True
                return c.closed_within(1.0) and b"HTTP/" not in c.buf
        self.assertTrue(wait_until(refused, timeout=8),
                        "plain HTTP still served after the reload")
        with Conn(self.pport) as c:
            c.send(v1("198.51.100.44") + get_close("reloaded"))
            self.assertEqual(c.read_response().status, 200)
        lines = self.logged("?reloaded ")
        self.assertTrue(lines and lines[0].startswith("198.51.100.44 "), lines)


class ProxyUntrustedTest(ProxyCase):
    server_kwargs = {"workers": 1}
    extra = {"proxy_trusted": ["10.0.0.0/8"]}

    def test_untrusted_peer_is_closed_and_logged(self):
        # A valid header from 127.0.0.1, which is not in proxy_trusted.
        self.assertTrue(self.closed_without_response(v1("198.51.100.9") + GET_CLOSE))
        self.assertTrue(wait_until(lambda: "not in proxy_trusted" in self.srv.log_text(),
                                   timeout=2), self.srv.diag())
        # A burst is logged at most once a second, not once per connection.
        for _ in range(20):
            self.closed_without_response(v1("198.51.100.9") + GET_CLOSE, timeout=1)
        time.sleep(0.2)
        n = self.srv.log_text().count("not in proxy_trusted")
        self.assertLessEqual(n, 3, self.srv.log_text()[-2000:])
        # Nothing was served on the proxy listener, and the plain one works.
        self.assertEqual(get(self.port, "/index.html?plain").status, 200)
        self.logged("?plain ")
        lines = self.srv.read(self.srv.access_log).splitlines()
        self.assertEqual(len(lines), 2, lines)  # the harness's GET / and ours


if __name__ == "__main__":
    run_main()
