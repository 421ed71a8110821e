#!/usr/bin/env python3
"""Reverse proxy (README "Reverse proxy"): the real binary in front of real
upstreams started here on 127.0.0.1: a Python application that echoes the
request it received as JSON (ThreadingHTTPServer), raw socket servers that
misbehave (garbage, a huge header block, Content-Length with
Transfer-Encoding, a close mid-body, a hang, a reset), a port where nothing
listens and a unix socket. Plain HTTP and a TLS front."""

import http.client
import json
import os
import shutil
import socket
import subprocess
import ssl
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (SharedServerTestCase, Conn, free_port, req, run_main, wait_until)
import tlsgen
from upstreams import (BIG, RawServer, UnixEcho, Upstreams, access_lines, assert_no_worker_died,
                       get, hang, raw, read_head, reset, rss_kib)


def creq(method, path, body=b""):
    """A keep-alive request with its body's Content-Length."""
    return req(method, path, headers={"Content-Length": str(len(body))} if body else None, body=body)


def flaky(s):
    """Answers the first request of a connection and keeps it open, then
    closes it when the second request arrives, before any byte of its
    response: what an application's own keep-alive timeout does in the
    moment drover reuses the connection."""
    head = read_head(s)
    if not head:
        return
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
    read_head(s)
    s.close()


def huge_head(s):
    read_head(s)
    s.sendall(b"HTTP/1.1 200 OK\r\n")
    try:
        for _ in range(200):  # 200 x 64 KiB, far over the limit
            s.sendall(b"X-Big: " + b"a" * 65520 + b"\r\n")
    except OSError:
        pass
    s.close()


class ProxyTest(SharedServerTestCase):
    server_kwargs = {"workers": 1, "send_timeout": "5s"}

    @classmethod
    def populate(cls, srv):
        cls.ups, cls.raws = Upstreams(), Upstreams()
        cls.a = cls.ups.echo("a")
        cls.b = cls.ups.echo("b")
        cls.c = cls.ups.echo("c")
        cls.bk = cls.ups.echo("backup")
        cls.unix_path = os.path.join(srv.dir, "app.sock")
        cls.ups.add(UnixEcho(cls.unix_path).start())
        cls.refused = "127.0.0.1:%d" % free_port()
        cls.certdir = tlsgen.certdir_in(srv)
        cls.certs = tlsgen.make_all(cls.certdir)
        cls.tls_port = tlsgen.listen_tls(srv)
        srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(cls.certs["ec"])]}
        bad = {
            "garbage": raw(b"HELLO I AM NOT HTTP\r\n\r\n"),
            "clte": raw(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"0\r\n\r\n"),
            "huge": huge_head,
            "midbody": raw(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000),
            "midchunk": raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5\r\nhello\r\n10\r\nabc"),
            "badchunk": raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5\r\nhello\r\nzz\r\n"),
            "hang": hang,
            "reset": reset,
        }
        cls.flaky = cls.raws.add(RawServer(flaky))
        cls.refused2 = "127.0.0.1:%d" % free_port()
        upstreams = {
            "app": {"servers": [cls.a]},
            "rr": {"servers": [{"address": cls.a, "weight": 3}, cls.b,
                               {"address": cls.bk, "backup": True}]},
            "failover": {"servers": [cls.refused, cls.c]},
            "down": {"servers": [cls.refused, "127.0.0.1:%d" % free_port()]},
            "onlybackup": {"servers": [cls.refused, {"address": cls.bk, "backup": True}]},
            "sock": {"servers": ["unix:" + cls.unix_path]},
            "nosock": {"servers": ["unix:" + os.path.join(srv.dir, "missing.sock")]},
            "slow": {"servers": [cls.raws.raw(hang)], "read_timeout": "1s"},
            "pool": {"servers": [cls.a], "keepalive": 4},
            "flaky": {"servers": ["127.0.0.1:%d" % cls.flaky.port], "keepalive": 4},
            "health": {"servers": [cls.refused2, cls.c], "max_fails": 1, "fail_timeout": "30s"},
        }
        locations = {
            "/api/": {"proxy": "app"},
            "/rr/": {"proxy": "rr"},
            "/failover/": {"proxy": "failover"},
            "/down/": {"proxy": "down"},
            "/onlybackup/": {"proxy": "onlybackup"},
            "/sock/": {"proxy": "sock"},
            "/nosock/": {"proxy": "nosock"},
            "/slow/": {"proxy": "slow"},
            "/pool/": {"proxy": "pool"},
            "/flaky/": {"proxy": "flaky"},
            "/health/": {"proxy": "health"},
            "/old/": {"proxy": "http://%s/new/" % cls.a},
            "/hdr/": {"proxy": "app", "headers": {"X-Front": "drover"}},
        }
        for name, behave in bad.items():
            upstreams[name] = {"servers": [cls.raws.raw(behave)], "read_timeout": "2s"}
            locations["/%s/" % name] = {"proxy": name}
        srv.conf["log_format"] = "json"
        srv.conf["upstreams"] = upstreams
        srv.conf["locations"] = locations
        srv.write_config()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.ups.stop()
        cls.raws.stop()

    def echo(self, path, port=None, **kw):
        r = get(port or self.port, path, **kw)
        self.assertEqual(r.status, 200, (r.status, r.body[:300], self.srv.log_text()[-2000:]))
        return json.loads(r.body)

    @staticmethod
    def hdr(doc, name):
        return [v for k, v in doc["headers"] if k.lower() == name.lower()]

    # -- forwarding

    def test_get_is_forwarded_with_host_and_forwarded_headers(self):
        d = self.echo("/api/x?q=1", headers={"Host": "example.test"})
        self.assertEqual(d["method"], "GET")
        self.assertEqual(d["path"], "/api/x?q=1")
        self.assertEqual(self.hdr(d, "Host"), ["example.test"])
        self.assertEqual(self.hdr(d, "X-Forwarded-For"), ["127.0.0.1"])
        self.assertEqual(self.hdr(d, "X-Forwarded-Proto"), ["http"])
        self.assertEqual(self.hdr(d, "X-Forwarded-Host"), ["example.test"])
        self.assertEqual(self.hdr(d, "Forwarded"), ['for=127.0.0.1;proto=http;host="example.test"'])

    def test_x_forwarded_for_is_appended(self):
        d = self.echo("/api/", headers={"X-Forwarded-For": "10.1.2.3"})
        self.assertEqual(self.hdr(d, "X-Forwarded-For"), ["10.1.2.3, 127.0.0.1"])

    def test_hop_by_hop_request_headers_are_removed(self):
        d = self.echo("/api/", headers={"Connection": "keep-alive, X-Drop", "X-Drop": "1",
                                        "Keep-Alive": "300", "TE": "trailers", "Upgrade": "h2c",
                                        "Proxy-Connection": "x", "Trailer": "x", "X-Keep": "2"})
        names = [k.lower() for k, _ in d["headers"]]
        for n in ("x-drop", "keep-alive", "te", "upgrade", "proxy-connection", "trailer"):
            self.assertNotIn(n, names)
        self.assertEqual(self.hdr(d, "X-Keep"), ["2"])
        self.assertEqual(self.hdr(d, "Connection"), ["keep-alive"])

    def test_hop_by_hop_response_headers_are_removed(self):
        r = get(self.port, "/api/hop")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("X-Secret"))
        self.assertIsNone(r.header("Keep-Alive"))
        self.assertEqual(r.header("X-Kept"), "k")
        self.assertEqual(r.header("Server"), "drover")
        self.assertEqual(r.body, b"hop")

    def test_url_proxy_replaces_the_location_prefix(self):
        d = self.echo("/old/a/b?z=9")
        self.assertEqual(d["path"], "/new/a/b?z=9")

    def test_url_proxy_dot_segments_stay_under_the_new_path(self):
        # Matched as /old/a once normalised: sent as /new/a, never as the
        # raw /x/../old/a under the upstream's own root.
        self.assertEqual(self.echo("/x/../old/a")["path"], "/new/a")
        self.assertEqual(self.echo("/%6Fld/b%20c")["path"], "/new/b%20c")

    def test_smuggled_request_is_not_forwarded_raw(self):
        # Content-Length with Transfer-Encoding is refused by the front's
        # parser: nothing reaches the upstream.
        before = sum(u.hits for u in self.ups)
        r = get(self.port, "/api/", method="POST",
                headers={"Content-Length": "4", "Transfer-Encoding": "chunked"},
                body=b"0\r\n\r\nGET /api/smuggled HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(r.status, 400)
        self.assertEqual(sum(u.hits for u in self.ups), before)

    def test_post_body_is_streamed(self):
        body = os.urandom(512 * 1024).hex().encode()[:900 * 1024]  # under max_body_size (1m)
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        c.request("POST", "/api/upload", body=body, headers={"Content-Type": "text/plain"})
        r = c.getresponse()
        d = json.loads(r.read())
        c.close()
        self.assertEqual(r.status, 200)
        self.assertEqual(d["method"], "POST")
        self.assertEqual(len(d["body"]), len(body))
        self.assertEqual(d["body"].encode("latin-1"), body)

    def test_body_over_max_body_size_is_413(self):
        before = sum(u.hits for u in self.ups)
        r = get(self.port, "/api/", method="POST", headers={"Content-Length": str(2 << 20)})
        self.assertEqual(r.status, 413)
        self.assertEqual(sum(u.hits for u in self.ups), before)

    def test_client_gone_mid_upload(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(creq("POST", "/api/gone", b"x" * 500000)[:100000])
        s.close()
        self.assertTrue(wait_until(lambda: "closed during its request body" in self.srv.log_text(),
                                   timeout=5), self.srv.log_text()[-1000:])
        self.assertEqual(get(self.port, "/api/ok").status, 200)

    def test_expect_100_continue_body(self):
        with Conn(self.port, timeout=10) as c:
            c.send(b"PUT /api/e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                   b"Expect: 100-continue\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 100)
            c.send(b"hello")
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(json.loads(r.body)["body"], "hello")

    def test_chunked_request_body_is_reframed(self):
        body = b"5;ext=x\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
        r = get(self.port, "/api/", method="POST", headers={"Transfer-Encoding": "chunked"},
                body=body)
        self.assertEqual(r.status, 200, r.body)
        d = json.loads(r.body)
        self.assertEqual(d["body"], "hello world")
        self.assertEqual(self.hdr(d, "Transfer-Encoding"), ["chunked"])
        self.assertEqual(self.hdr(d, "Content-Length"), [])

    def test_chunked_request_body_large_and_keepalive(self):
        data = os.urandom(300000).hex().encode()[:600000]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 7000]), data[i:i + 7000])
                          for i in range(0, len(data), 7000)) + b"0\r\n\r\n"
        with Conn(self.port, timeout=20) as c:
            c.send(req("PUT", "/api/large-chunked", headers={"Transfer-Encoding": "chunked"})
                   + framed + creq("GET", "/api/after-chunked"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(json.loads(r.body)["body"].encode("latin-1"), data)
            r = c.read_response()
            self.assertEqual(json.loads(r.body)["path"], "/api/after-chunked")

    def test_malformed_chunked_request_body_is_400(self):
        r = get(self.port, "/api/", method="POST", headers={"Transfer-Encoding": "chunked"},
                body=b"5\r\nhelloXX0\r\n\r\n")
        self.assertEqual(r.status, 400)

    def test_chunked_request_body_over_max_body_size_is_413(self):
        chunk = b"a" * 65536
        body = b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(18)) + b"0\r\n\r\n"
        r = get(self.port, "/api/", method="POST", headers={"Transfer-Encoding": "chunked"},
                body=body, timeout=10)
        self.assertEqual(r.status, 413)

    def test_keepalive_client_many_requests(self):
        with Conn(self.port, timeout=10) as c:
            for i in range(20):
                c.send(req("GET", "/api/k%d" % i))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertEqual(json.loads(r.body)["path"], "/api/k%d" % i)
            # HEAD: no body, and the connection still works after it.
            c.send(req("HEAD", "/api/h"))
            r = c.read_response(head=True)
            self.assertEqual(r.status, 200)
            c.send(req("GET", "/api/after"))
            self.assertEqual(json.loads(c.read_response().body)["path"], "/api/after")

    def test_pipelined_requests(self):
        with Conn(self.port, timeout=10) as c:
            c.send(creq("POST", "/api/p1", b"abc") + creq("GET", "/api/p2"))
            r1 = c.read_response()
            r2 = c.read_response()
            self.assertEqual(json.loads(r1.body)["body"], "abc")
            self.assertEqual(json.loads(r2.body)["path"], "/api/p2")

    def test_rule_headers_apply_to_proxied_responses(self):
        r = get(self.port, "/hdr/x")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Front"), "drover")
        self.assertEqual(r.header("X-Upstream"), "a")

    # -- response bodies

    def test_big_response_streams_whole(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        c.request("GET", "/api/big")
        r = c.getresponse()
        self.assertEqual(r.getheader("Content-Length"), str(len(BIG)))
        data = r.read()
        c.close()
        self.assertEqual(data, BIG)

    def test_slow_client_big_response_memory_bounded(self):
        # A client that reads slowly: the worker must not buffer the body
        # (its RSS stays well under the 5 MiB response).
        worker = self.srv.workers()[0]
        base = rss_kib(worker)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(req("GET", "/api/big"))
        time.sleep(1.0)
        grown = rss_kib(worker) - base
        got = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not got.endswith(BIG[-1000:]):
            b = s.recv(1 << 20)
            if not b:
                break
            got += b
        s.close()
        self.assertEqual(got[got.index(b"\r\n\r\n") + 4:], BIG)
        self.assertLess(grown, 2048, "worker RSS grew by %d KiB while the client did not read" % grown)

    def test_chunked_response_is_rechunked(self):
        with Conn(self.port, timeout=10) as c:
            c.send(req("GET", "/api/chunked"))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.header("Transfer-Encoding"), "chunked")
            self.assertEqual(r.body, b"hello chunked " + b"world" * 1000)
            self.assertNotIn(b"ext=1", r.raw_head)
            # The connection stays usable after it.
            c.send(req("GET", "/api/next"))
            self.assertEqual(c.read_response().status, 200)

    def test_chunked_response_to_http10_client(self):
        r = get(self.port, "/api/chunked", version="HTTP/1.0")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Transfer-Encoding"))
        self.assertEqual(r.body, b"hello chunked " + b"world" * 1000)

    def test_close_delimited_response(self):
        with Conn(self.port, timeout=10) as c:
            c.send(req("GET", "/api/close"))
            data = c.read_until_close()
            self.assertIn(b"200 OK", data.split(b"\r\n")[0])
            self.assertTrue(data.endswith(b"until close " * 1000))

    # -- balancing and failures

    def test_weighted_round_robin_and_backup_unused(self):
        names = [self.echo("/rr/%d" % i)["server"] for i in range(40)]
        self.assertEqual(names.count("a"), 30, names)
        self.assertEqual(names.count("b"), 10, names)
        self.assertNotIn("backup", names)
        # Smooth: never more than 3 a's in a row.
        self.assertNotIn("a,a,a,a", ",".join(names))

    def test_refused_goes_to_next_server(self):
        for i in range(4):
            d = self.echo("/failover/%d" % i)
            self.assertEqual(d["server"], "c")
        self.assertIn("connect() to %s" % self.refused, self.srv.log_text())

    def test_post_refused_goes_to_next_server(self):
        # Nothing was sent on a refused connect: even a POST moves on.
        r = get(self.port, "/failover/p", method="POST", body=b"data")
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.body)["body"], "data")

    def test_backup_when_primaries_down(self):
        self.assertEqual(self.echo("/onlybackup/x")["server"], "backup")

    def test_all_down_is_502_at_once(self):
        t = time.monotonic()
        r = get(self.port, "/down/x")
        self.assertEqual(r.status, 502)
        self.assertLess(time.monotonic() - t, 2)
        self.assertIn("no server left", self.srv.log_text())

    def test_unix_socket_upstream(self):
        d = self.echo("/sock/u")
        self.assertEqual(d["server"], "unix")
        self.assertEqual(d["path"], "/sock/u")

    def test_missing_unix_socket_is_502(self):
        r = get(self.port, "/nosock/x")
        self.assertEqual(r.status, 502)

    def test_read_timeout_is_504(self):
        t = time.monotonic()
        r = get(self.port, "/slow/x", timeout=10)
        self.assertEqual(r.status, 504)
        self.assertLess(time.monotonic() - t, 4)
        self.assertIn("timed out", self.srv.log_text())

    def test_passive_health_takes_a_failed_server_out(self):
        for i in range(6):
            self.assertEqual(self.echo("/health/%d" % i)["server"], "c")
        # Tried once, then out for fail_timeout (30s): no more connects.
        self.assertEqual(self.srv.log_text().count("connect() to %s" % self.refused2), 1)

    def test_garbage_is_502(self):
        self.assertEqual(get(self.port, "/garbage/x").status, 502)

    def test_cl_and_te_is_502(self):
        r = get(self.port, "/clte/x")
        self.assertEqual(r.status, 502)
        self.assertNotIn(b"0\r\n\r\n", r.body)

    def test_huge_header_block_is_502(self):
        self.assertEqual(get(self.port, "/huge/x", timeout=10).status, 502)
        self.assertIn("too large", self.srv.log_text())

    def test_reset_before_response_is_502(self):
        self.assertEqual(get(self.port, "/reset/x").status, 502)

    def test_post_reset_is_not_retried(self):
        r = [x for x in self.raws if x.behave is reset][0]
        before = r.accepted
        self.assertEqual(get(self.port, "/reset/p", method="POST", body=b"x").status, 502)
        self.assertEqual(r.accepted - before, 1)

    def test_truncated_length_body_closes_client(self):
        with Conn(self.port, timeout=10) as c:
            c.send(req("GET", "/midbody/x"))
            data = c.read_until_close(timeout=8)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Length: 100000", head)
        self.assertEqual(len(body), 5000)
        self.assertIn("before the end", self.srv.log_text())

    def test_truncated_chunked_body_never_completes(self):
        with Conn(self.port, timeout=10) as c:
            c.send(req("GET", "/midchunk/x"))
            data = c.read_until_close(timeout=8)
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertIn(b"Transfer-Encoding: chunked", head)
        self.assertIn(b"hello", body)
        self.assertFalse(body.endswith(b"0\r\n\r\n"), body)

    def test_malformed_chunked_body_closes_client(self):
        with Conn(self.port, timeout=10) as c:
            c.send(req("GET", "/badchunk/x"))
            data = c.read_until_close(timeout=8)
        self.assertFalse(data.endswith(b"0\r\n\r\n"), data)
        self.assertIn("malformed chunked", self.srv.log_text())

    def test_keepalive_pool_reuses_upstream_connections(self):
        peers = set()
        with Conn(self.port, timeout=10) as c:
            for i in range(10):
                c.send(req("GET", "/pool/%d" % i))
                peers.add(json.loads(c.read_response().body)["peer"])
        self.assertEqual(len(peers), 1, peers)

    def test_pooled_connection_closed_by_upstream_is_retried(self):
        d1 = self.echo("/pool/first")
        # The echo server's handler thread ends when drover's connection
        # idles; make the upstream close its side by shutting down its
        # listener's connections: a new echo server is not needed, the
        # ThreadingHTTPServer closes idle keep-alive connections only on
        # shutdown, so close them through the socket it holds.
        up = [u for u in self.ups if getattr(u, "name", "") == "a"][0]
        closed = 0
        for t in list(getattr(up, "_threads", []) or []):
            pass
        # Close every established connection the upstream accepted.
        import gc
        for o in gc.get_objects():
            if isinstance(o, socket.socket) and o.fileno() >= 0:
                try:
                    if (o.getsockname()[1] == up.server_address[1] and o is not up.socket
                            and o.getpeername()[1] == d1["peer"]):
                        o.shutdown(socket.SHUT_RDWR)
                        closed += 1
                except OSError:
                    pass
        self.assertEqual(closed, 1)
        time.sleep(0.2)
        d2 = self.echo("/pool/second")
        self.assertNotEqual(d2["peer"], d1["peer"])

    def test_pooled_connection_dying_in_use_is_retried_for_get_only(self):
        before = self.flaky.accepted
        r = get(self.port, "/flaky/1")
        self.assertEqual((r.status, r.body), (200, b"first"))
        # The pooled connection closes as the GET arrives: retried on a
        # fresh one, which answers.
        r = get(self.port, "/flaky/2")
        self.assertEqual((r.status, r.body), (200, b"first"))
        self.assertEqual(self.flaky.accepted - before, 2)
        # The same for a POST is a 502: the application may have acted on it.
        r = get(self.port, "/flaky/3", method="POST", body=b"x")
        self.assertEqual(r.status, 502)
        self.assertEqual(self.flaky.accepted - before, 2)

    def test_access_log_has_upstream_fields(self):
        self.echo("/api/logged")
        self.assertEqual(get(self.port, "/down/logged").status, 502)
        self.assertEqual(get(self.port, "/index.html").status, 200)
        self.assertTrue(wait_until(lambda: access_lines(self.srv, "/down/logged"), timeout=5))
        ok = access_lines(self.srv, "/api/logged")[0]
        self.assertEqual(ok["upstream"], self.a)
        self.assertEqual(ok["upstream_status"], 200)
        self.assertGreater(ok["upstream_us"], 0)
        self.assertLess(ok["upstream_us"], 5e6)
        bad = access_lines(self.srv, "/down/logged")[0]
        self.assertEqual(bad["status"], 502)
        self.assertIsNone(bad["upstream_status"])
        self.assertIn(bad["upstream"], [self.refused] + [
            s for s in self.srv.conf["upstreams"]["down"]["servers"]])
        self.assertNotIn("upstream", access_lines(self.srv, "/index.html")[-1])

    # -- TLS front

    def test_tls_front(self):
        ctx = ssl.create_default_context(cafile=self.certs["ca"])
        c = http.client.HTTPSConnection("localhost", self.tls_port, timeout=20, context=ctx)
        c.request("GET", "/api/t")
        r = c.getresponse()
        d = json.loads(r.read())
        self.assertEqual(self.hdr(d, "X-Forwarded-Proto"), ["https"])
        self.assertIn("proto=https", self.hdr(d, "Forwarded")[0])
        c.request("GET", "/api/big")
        r = c.getresponse()
        self.assertEqual(r.read(), BIG)
        c.request("GET", "/api/chunked")
        r = c.getresponse()
        self.assertEqual(r.read(), b"hello chunked " + b"world" * 1000)
        c.close()

    def test_http2_client_is_proxied(self):
        # An HTTP/2 stream is forwarded like an HTTP/1 request (the rest is
        # test_proxy_h2.py's).
        if shutil.which("curl") is None:
            self.skipTest("no curl")
        p = subprocess.run(["curl", "-sS", "--http2", "--cacert", self.certs["ca"], "--max-time", "10",
                            "-w", "\n%{http_version} %{http_code}",
                            "https://localhost:%d/api/h2" % self.tls_port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        body, _, out = p.stdout.decode().rpartition("\n")
        if not out.startswith("2 "):
            self.skipTest("curl without HTTP/2: %r" % out)
        self.assertEqual(out, "2 200")
        self.assertEqual(json.loads(body)["path"], "/api/h2")

    def test_server_keeps_serving(self):
        self.assertEqual(get(self.port, "/index.html").status, 200)
        self.assertEqual(len(self.srv.workers()), 1)

    def test_zz_no_worker_died(self):
        # Runs last (unittest sorts by name): no test made a worker crash
        # (a sanitizer report ends the worker with status 1).
        assert_no_worker_died(self, self.srv)


if __name__ == "__main__":
    run_main()
