#!/usr/bin/env python3
"""Reverse proxy for HTTP/2 clients (README "Reverse proxy"): each stream
is its own HTTP/1.1 request to a real upstream (the Python applications
and raw servers of upstreams.py), with the response streamed back as
HEADERS and DATA under the client's flow control. Clients: curl
(--http2-prior-knowledge on the plain port, --http2 over TLS) and
python3-h2 (h2client.py) where frames and windows matter."""

import json
import os
import shutil
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import SharedServerTestCase, free_port, wait_until
import h2client
import tlsgen
from upstreams import (BIG, Dripper, RawServer, Upstreams, WsEcho, access_lines,
                       assert_no_worker_died, hang, raw, read_head, reset, rss_kib)


def late_last_chunk(s):
    """A chunked body whose last chunk comes a moment after the data: the
    stream must still end (END_STREAM) once it does."""
    read_head(s)
    s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
    time.sleep(0.5)
    s.sendall(b"0\r\n\r\n")
    time.sleep(0.5)
    s.close()


def delayed(s):
    """Answers after 2 s: longer than the front's keepalive_timeout."""
    read_head(s)
    time.sleep(2)
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\ndelayed")
    time.sleep(0.5)
    s.close()


def slow_peer(s):
    """Answers after 0.5 s with the port drover's connection came from."""
    read_head(s)
    time.sleep(0.5)
    body = b"%d" % s.getpeername()[1]
    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
    s.close()


@unittest.skipUnless(shutil.which("curl"), "no curl")
class ProxyH2Test(SharedServerTestCase):
    server_kwargs = {"workers": 1, "send_timeout": "5s", "http2_cleartext": True,
                     "max_body_size": "16m", "keepalive_timeout": "1s"}

    @classmethod
    def populate(cls, srv):
        cls.ups, cls.raws = Upstreams(), Upstreams()
        cls.a = cls.ups.echo("a")
        cls.c = cls.ups.echo("c")
        cls.refused = "127.0.0.1:%d" % free_port()
        cls.certdir = tlsgen.certdir_in(srv)
        cls.certs = tlsgen.make_all(cls.certdir)
        cls.tls_port = tlsgen.listen_tls(srv)
        srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(cls.certs["ec"])]}
        cls.refuser = cls.raws.add(RawServer(reset))  # reads the request, then resets
        cls.dripper = Dripper()
        cls.raws.add(cls.dripper.srv)
        cls.ws = WsEcho()
        cls.raws.add(cls.ws.srv)
        cls.wsidle = WsEcho()
        cls.raws.add(cls.wsidle.srv)
        cls.stuck = cls.raws.add(RawServer(hang, rcvbuf=4096))  # reads the head, then nothing
        upstreams = {
            "app": {"servers": [cls.a], "keepalive": 8},
            "down": {"servers": [cls.refused, "127.0.0.1:%d" % free_port()]},
            "slow": {"servers": [cls.raws.raw(hang)], "read_timeout": "1s"},
            "midbody": {"servers": [cls.raws.raw(raw(
                b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000))]},
            "midchunk": {"servers": [cls.raws.raw(raw(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc"))]},
            "reset": {"servers": [cls.raws.raw(reset)]},
            "late": {"servers": [cls.raws.raw(late_last_chunk)]},
            "delayed": {"servers": [cls.raws.raw(delayed)], "read_timeout": "5s"},
            "drip": {"servers": ["127.0.0.1:%d" % cls.dripper.srv.port], "keepalive": 4},
            "stuck": {"servers": ["127.0.0.1:%d" % cls.stuck.port], "send_timeout": "20s"},
            "ws": {"servers": ["127.0.0.1:%d" % cls.ws.srv.port]},
            "wsidle": {"servers": ["127.0.0.1:%d" % cls.wsidle.srv.port],
                       "tunnel_timeout": "1500ms", "read_timeout": "30s"},
            "peer": {"servers": [cls.raws.raw(slow_peer)]},
            "postfail": {"servers": ["127.0.0.1:%d" % cls.refuser.port, cls.c]},
            "failpost": {"servers": [cls.refused, cls.c]},
        }
        locations = {"/%s/" % n: {"proxy": n} for n in upstreams}
        locations["/api/"] = {"proxy": "app"}
        srv.conf["log_format"] = "json"
        srv.conf["upstreams"] = upstreams
        srv.conf["locations"] = locations
        srv.write_config()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.ups.stop()
        cls.raws.stop()

    # -- helpers

    def curl(self, *args, tls=False, timeout=20):
        """curl over HTTP/2: (exit code, body bytes, stderr text)."""
        if tls:
            base = ["curl", "-sS", "--http2", "--cacert", self.certs["ca"]]
        else:
            base = ["curl", "-sS", "--http2-prior-knowledge"]
        p = subprocess.run(base + ["--max-time", str(timeout)] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout + 10)
        return p.returncode, p.stdout, p.stderr.decode()

    def url(self, path, tls=False):
        if tls:
            return "https://localhost:%d%s" % (self.tls_port, path)
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def head_and_body(self, *args, **kw):
        """curl -i: (exit code, status, headers dict (lowercase), body)."""
        rc, out, err = self.curl("-i", *args, **kw)
        head, _, body = out.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/2") else 0
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs.setdefault(k.strip(), []).append(v.strip())
        return rc, status, hdrs, body

    def doc(self, *args, **kw):
        rc, status, hdrs, body = self.head_and_body(*args, **kw)
        self.assertEqual((rc, status), (0, 200), (body[:300], self.srv.log_text()[-2000:]))
        return hdrs, json.loads(body)

    @staticmethod
    def hdr(doc, name):
        return [v for k, v in doc["headers"] if k.lower() == name.lower()]

    # -- forwarding

    def test_get_forwarded_with_authority_as_host_and_forwarding_headers(self):
        hdrs, d = self.doc(self.url("/api/x?q=1"), "-H", "X-Forwarded-For: 10.1.1.1")
        self.assertEqual(d["method"], "GET")
        self.assertEqual(d["path"], "/api/x?q=1")
        self.assertEqual(self.hdr(d, "Host"), ["127.0.0.1:%d" % self.port])
        self.assertEqual(self.hdr(d, "X-Forwarded-For"), ["10.1.1.1, 127.0.0.1"])
        self.assertEqual(self.hdr(d, "X-Forwarded-Proto"), ["http"])
        self.assertEqual(self.hdr(d, "X-Forwarded-Host"), ["127.0.0.1:%d" % self.port])
        self.assertEqual(self.hdr(d, "Forwarded"),
                         ['for=127.0.0.1;proto=http;host="127.0.0.1:%d"' % self.port])
        self.assertEqual(hdrs["x-upstream"], ["a"])
        self.assertEqual(hdrs["server"][0].split("/")[0], "drover")

    def test_split_cookies_are_joined(self):
        # An HTTP/2 client may send each cookie in a field of its own; the
        # upstream gets one Cookie line (RFC 9113 8.2.3).
        with h2client.H2(self.port) as c:
            st = c.get("/api/cookies", [("cookie", "a=1"), ("x-y", "y"), ("cookie", "b=2")])
            self.assertEqual(st.status, 200)
            d = json.loads(bytes(st.body))
        self.assertEqual(self.hdr(d, "Cookie"), ["a=1; b=2"])

    def test_expect_100_continue(self):
        # A client that waits for 100 before its body gets it.
        with h2client.H2(self.port) as c:
            sid = c.request("/api/expect", method="POST", end=False,
                            headers=[("content-length", "5"), ("expect", "100-continue")])
            got = []
            orig = c._handle

            def handle(ev):
                if type(ev).__name__ == "InformationalResponseReceived":
                    got.append(dict(ev.headers).get(":status"))
                orig(ev)
            c._handle = handle
            c.pump(lambda: got, 5)
            self.assertEqual(got, ["100"])
            c.conn.send_data(sid, b"hello", end_stream=True)
            c.flush()
            st = c.streams[sid]
            c.pump(lambda: st.ended or st.reset is not None, 5)
            self.assertEqual(json.loads(bytes(st.body))["body"], "hello")

    def test_tls_h2_forwarded_as_https(self):
        rc, out, err = self.curl("-w", "\n%{http_version}", self.url("/api/t", tls=True), tls=True)
        self.assertEqual(rc, 0, err)
        body, _, version = out.rpartition(b"\n")
        self.assertEqual(version, b"2")
        d = json.loads(body)
        self.assertEqual(self.hdr(d, "Host"), ["localhost:%d" % self.tls_port])
        self.assertEqual(self.hdr(d, "X-Forwarded-Proto"), ["https"])
        self.assertIn("proto=https", self.hdr(d, "Forwarded")[0])
        rc, out, err = self.curl(self.url("/api/big", tls=True), tls=True, timeout=30)
        self.assertEqual((rc, len(out)), (0, len(BIG)), err)
        self.assertEqual(out, BIG)

    def test_post_body_is_forwarded(self):
        body = os.urandom(300000).hex().encode()[:300000]
        path = os.path.join(self.srv.dir, "post.bin")
        with open(path, "wb") as f:
            f.write(body)
        _, d = self.doc(self.url("/api/p"), "--data-binary", "@" + path)
        self.assertEqual(d["method"], "POST")
        self.assertEqual(d["body"].encode("latin-1"), body)
        self.assertEqual(self.hdr(d, "Content-Length"), [str(len(body))])

    def test_post_without_length_is_sent_chunked(self):
        # A body without content-length (DATA frames until END_STREAM) goes
        # upstream chunked.
        with h2client.H2(self.port) as c:
            sid = c.request("/api/postnolen", method="POST", end=False)
            for part in (b"one ", b"two " * 4000, b"two " * 1000, b"three"):
                c.conn.send_data(sid, part)
                c.flush()
            c.conn.end_stream(sid)
            c.flush()
            st = c.streams[sid]
            c.pump(lambda: st.ended or st.reset is not None, 10)
            self.assertEqual(st.status, 200, self.srv.log_text()[-2000:])
            self.assertTrue(st.ended and st.body, (st.reset, st.headers, bytes(st.body)[:200], self.srv.log_text()[-800:]))
            d = json.loads(bytes(st.body))
            self.assertEqual(d["body"], "one " + "two " * 5000 + "three")
            self.assertEqual(self.hdr(d, "Transfer-Encoding"), ["chunked"])
            # The same with a chunked response.
            sid = c.request("/api/chunked", method="POST", end=False)
            for part in (b"one ", b"two " * 4000, b"two " * 1000, b"three"):
                c.conn.send_data(sid, part)
            c.conn.end_stream(sid)
            c.flush()
            st = c.streams[sid]
            c.pump(lambda: st.ended or st.reset is not None, 10)
            self.assertTrue(st.ended, (st.reset, len(st.body)))
            self.assertEqual(bytes(st.body), b"hello chunked " + b"world" * 1000)

    def test_large_upload_is_flow_controlled(self):
        # 3 MB through one stream window (64 KiB): the window comes back as
        # the upstream takes the body, or this would stall.
        body = os.urandom(3 << 19)
        with h2client.H2(self.port, timeout=20) as c:
            sid = c.request("/api/up", method="POST", end=False,
                            headers=[("content-length", str(len(body)))])
            st = c.streams[sid]
            off = 0
            deadline = time.monotonic() + 30
            while off < len(body) and time.monotonic() < deadline and st.reset is None:
                w = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size)
                if w <= 0:
                    c.pump(lambda: c.conn.local_flow_control_window(sid) > 0 or st.reset is not None, 5)
                    continue
                n = min(w, len(body) - off)
                c.conn.send_data(sid, body[off:off + n], end_stream=(off + n == len(body)))
                c.flush()
                off += n
            c.pump(lambda: st.ended or st.reset is not None, 20)
            self.assertEqual(off, len(body), (st.reset, self.srv.log_text()[-1500:]))
            self.assertEqual(st.status, 200)
            self.assertEqual(json.loads(bytes(st.body))["body"].encode("latin-1"), body)

    def test_head(self):
        rc, status, hdrs, body = self.head_and_body("-I", self.url("/api/h"))
        self.assertEqual((rc, status, body), (0, 200, b""))
        self.assertIn("content-length", hdrs)

    def test_hop_by_hop_response_headers_dropped(self):
        rc, status, hdrs, body = self.head_and_body(self.url("/api/hop"))
        self.assertEqual((rc, status, body), (0, 200, b"hop"))
        for name in ("connection", "keep-alive", "x-secret", "transfer-encoding"):
            self.assertNotIn(name, hdrs)
        self.assertEqual(hdrs["x-kept"], ["k"])
        # HTTP/2 field names are lower case (curl would show them as sent).
        self.assertTrue(all(k == k.lower() for k in hdrs), hdrs)

    def test_chunked_upstream_body_is_decoded(self):
        rc, status, hdrs, body = self.head_and_body(self.url("/api/chunked"))
        self.assertEqual((rc, status), (0, 200))
        self.assertEqual(body, b"hello chunked " + b"world" * 1000)
        self.assertNotIn("transfer-encoding", hdrs)

    def test_last_chunk_arriving_late_ends_the_stream(self):
        with h2client.H2(self.port, timeout=10) as c:
            st = c.get("/late/x", timeout=5)
            self.assertEqual((st.status, bytes(st.body), st.ended, st.reset), (200, b"hello", True, None))

    def test_close_delimited_upstream_body(self):
        rc, out, err = self.curl(self.url("/api/close"))
        self.assertEqual((rc, out), (0, b"until close " * 1000), err)

    def test_concurrent_streams_on_one_connection(self):
        # Eight streams at once on one connection, each with its own
        # upstream request (the echo server sees eight connections' peers
        # or at least the eight requests), answered whole.
        with h2client.H2(self.port, timeout=20) as c:
            sids = [c.request("/api/many%d" % i) for i in range(6)]
            sids += [c.request("/api/big"), c.request("/api/chunked")]
            c.pump(lambda: all(c.streams[s].ended or c.streams[s].reset is not None for s in sids), 30)
            for i, s in enumerate(sids[:6]):
                st = c.streams[s]
                self.assertEqual(st.status, 200)
                self.assertEqual(json.loads(bytes(st.body))["path"], "/api/many%d" % i)
            self.assertEqual(bytes(c.streams[sids[6]].body), BIG)
            self.assertEqual(bytes(c.streams[sids[7]].body), b"hello chunked " + b"world" * 1000)
        # curl: several URLs over one connection.
        rc, out, err = self.curl("--parallel", "--parallel-immediate", "-w", "%{num_connects} ",
                                 *[self.url("/api/cur%d" % i) for i in range(4)])
        self.assertEqual(rc, 0, err)

    def test_concurrent_streams_have_their_own_upstream_connections(self):
        # Six streams at once to an upstream that takes 0.5 s per answer:
        # six upstream connections (six peers), answered together.
        with h2client.H2(self.port, timeout=10) as c:
            t = time.monotonic()
            sids = [c.request("/peer/%d" % i) for i in range(6)]
            c.pump(lambda: all(c.streams[s].ended or c.streams[s].reset is not None for s in sids), 8)
            took = time.monotonic() - t
            peers = {bytes(c.streams[s].body) for s in sids}
            self.assertTrue(all(c.streams[s].status == 200 for s in sids))
        self.assertEqual(len(peers), 6)
        self.assertLess(took, 2.0)

    def test_slow_reader_big_response_memory_bounded(self):
        # A client with a small window that gives it back slowly: the
        # worker holds a bounded buffer, not the 5 MiB body.
        worker = self.srv.workers()[0]
        base = rss_kib(worker)
        with h2client.H2(self.port, auto_ack=False, timeout=30, rcvbuf=65536) as c:
            sid = c.request("/api/big")
            st = c.streams[sid]
            c.pump(lambda: len(st.body) > 0, 5)
            time.sleep(1.0)
            grown = rss_kib(worker) - base
            # Now read it all, giving credit back.
            st.ack = True
            c.ack(sid, len(st.body))
            c.pump(lambda: st.ended or st.reset is not None, 30)
            self.assertEqual(bytes(st.body), BIG)
        self.assertLess(grown, 2048, "worker RSS grew by %d KiB while the client did not read" % grown)

    # -- failures

    def test_upstream_down_is_502(self):
        rc, status, hdrs, body = self.head_and_body(self.url("/down/x"))
        self.assertEqual((rc, status), (0, 502))

    def test_upstream_hang_is_504(self):
        t = time.monotonic()
        rc, status, hdrs, body = self.head_and_body(self.url("/slow/x"))
        self.assertEqual((rc, status), (0, 504))
        self.assertLess(time.monotonic() - t, 5)

    def test_upstream_reset_is_502(self):
        rc, status, hdrs, body = self.head_and_body(self.url("/reset/x"))
        self.assertEqual((rc, status), (0, 502))

    def test_truncated_length_body_resets_the_stream(self):
        with h2client.H2(self.port, timeout=10) as c:
            st = c.get("/midbody/x", timeout=10)
            self.assertEqual(st.status, 200)
            self.assertFalse(st.ended)
            self.assertEqual(st.reset, 2)  # INTERNAL_ERROR
            self.assertEqual(len(st.body), 5000)
        rc, out, err = self.curl(self.url("/midbody/x"))
        self.assertNotEqual(rc, 0)

    def test_truncated_chunked_body_resets_the_stream(self):
        with h2client.H2(self.port, timeout=10) as c:
            st = c.get("/midchunk/x", timeout=10)
            self.assertEqual(st.status, 200)
            self.assertFalse(st.ended)
            self.assertEqual(st.reset, 2)
        rc, out, err = self.curl(self.url("/midchunk/x"))
        self.assertNotEqual(rc, 0)

    def test_post_reset_after_connect_is_not_retried(self):
        # The first server reads the request, then resets: the POST may
        # have been received, so it is not sent to the next server (c sees
        # nothing): 502. (A GET would go on to c.)
        hits = [u.hits for u in self.ups if u.name == "c"][0]
        rc, status, hdrs, body = self.head_and_body(self.url("/postfail/p"), "--data-binary", "x=1")
        self.assertEqual((rc, status), (0, 502))
        self.assertEqual([u.hits for u in self.ups if u.name == "c"][0], hits)
        _, d = self.doc(self.url("/postfail/g"))
        self.assertEqual(d["server"], "c")

    def test_post_refused_connect_goes_to_next_server(self):
        hdrs, d = self.doc(self.url("/failpost/p"), "--data-binary", "a=b")
        self.assertEqual(d["method"], "POST")
        self.assertEqual(d["body"], "a=b")
        self.assertEqual(d["server"], "c")

    def test_client_reset_closes_the_upstream_connection(self):
        # A stream reset mid-response: its upstream connection is closed at
        # once (not read on, not pooled).
        self.dripper.closed_at = None
        with h2client.H2(self.port, timeout=10) as c:
            sid = c.request("/drip/x")
            st = c.streams[sid]
            c.pump(lambda: len(st.body) > 0, 5)
            self.assertEqual(st.status, 200)
            t = time.monotonic()
            c.conn.reset_stream(sid)
            c.flush()
            self.assertTrue(wait_until(lambda: self.dripper.closed_at is not None, timeout=5))
            self.assertLess(self.dripper.closed_at - t, 2)
            # The connection goes on.
            self.assertEqual(c.get("/api/after").status, 200)

    def test_upstream_slower_than_keepalive_timeout(self):
        # keepalive_timeout (1s) is for idle connections: a stream waiting
        # 2 s for its upstream is not idle.
        with h2client.H2(self.port, timeout=10) as c:
            st = c.get("/delayed/x", timeout=6)
            self.assertEqual((st.status, bytes(st.body)), (200, b"delayed"))

    def test_504_while_other_frames_keep_the_connection_busy(self):
        # The stream's own timer (read_timeout 1s) runs while PINGs keep the
        # connection's timers from ever firing.
        with h2client.H2(self.port, timeout=10) as c:
            sid = c.request("/slow/x")
            st = c.streams[sid]
            t = time.monotonic()
            for _ in range(20):
                if st.ended or st.reset is not None:
                    break
                c.conn.ping(b"12345678")
                c.flush()
                c.pump(lambda: st.ended or st.reset is not None, 0.3)
            self.assertEqual(st.status, 504)
            self.assertLess(time.monotonic() - t, 4)

    def test_upload_to_a_stuck_upstream_is_held_by_the_window(self):
        # The upstream reads nothing of the body: the stream's window is
        # not given back beyond what the sockets took, so the client stops
        # far short of its 12 MB (and drover holds at most one window).
        n = 12 << 20
        chunk = b"u" * 16384
        with h2client.H2(self.port, timeout=10) as c:
            sid = c.request("/stuck/x", method="POST", end=False, headers=[("content-length", str(n))])
            st = c.streams[sid]
            sent = 0
            stalled_since = None
            deadline = time.monotonic() + 20
            while sent < n and time.monotonic() < deadline and st.reset is None:
                w = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size)
                if w < len(chunk):
                    if stalled_since is None:
                        stalled_since = time.monotonic()
                    elif time.monotonic() - stalled_since > 1.5:
                        break
                    c.pump(lambda: c.conn.local_flow_control_window(sid) >= len(chunk), 0.3)
                    continue
                stalled_since = None
                c.conn.send_data(sid, chunk)
                c.flush()
                sent += len(chunk)
            self.assertIsNone(st.reset)
            self.assertIsNotNone(stalled_since, "sent %d bytes without a stall" % sent)
            self.assertLess(sent, n // 2)

    def test_extended_connect_websocket_tunnel(self):
        # RFC 8441: SETTINGS_ENABLE_CONNECT_PROTOCOL, then CONNECT with
        # :protocol websocket becomes an HTTP/1.1 Upgrade; the 101 is
        # :status 200, then DATA both ways; END_STREAM from the client
        # shuts the upstream's side, whose close ends the stream.
        with h2client.H2(self.port, timeout=10) as c:
            c.pump(lambda: 8 in c.remote_settings, 5)
            self.assertEqual(c.remote_settings.get(8), 1)
            sid = c.conn.get_next_available_stream_id()
            c.conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"),
                                      (":scheme", "http"), (":path", "/ws/chat?room=1"),
                                      (":authority", "127.0.0.1"), ("sec-websocket-version", "13"),
                                      ("sec-websocket-protocol", "chat, superchat"),
                                      ("sec-websocket-extensions", "permessage-deflate")])
            c.flush()
            st = c.streams[sid] = h2client.Stream(sid)
            c.pump(lambda: st.status != 0 and len(st.body) >= 2, 5)
            self.assertEqual(st.status, 200)
            self.assertEqual(st.headers.get("sec-websocket-protocol"), "chat")
            self.assertEqual(bytes(st.body), b"hi")
            c.conn.send_data(sid, b"ping one")
            c.flush()
            c.pump(lambda: bytes(st.body) == b"hiping one", 5)
            c.conn.send_data(sid, b"two", end_stream=True)
            c.flush()
            c.pump(lambda: st.ended or st.reset is not None, 5)
            self.assertEqual(bytes(st.body), b"hiping onetwobye")
            self.assertTrue(st.ended)
        head = self.ws.heads[-1].decode("latin-1")
        lines = head.split("\r\n")
        self.assertEqual(lines[0], "GET /ws/chat?room=1 HTTP/1.1")
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs.setdefault(k.strip().lower(), []).append(v.strip())
        self.assertEqual(hdrs["upgrade"], ["websocket"])
        self.assertEqual([v.lower() for v in hdrs["connection"]], ["upgrade"])
        self.assertEqual(hdrs["sec-websocket-version"], ["13"])
        self.assertEqual(hdrs["sec-websocket-protocol"], ["chat, superchat"])
        self.assertEqual(hdrs["sec-websocket-extensions"], ["permessage-deflate"])
        import base64
        self.assertEqual(len(base64.b64decode(hdrs["sec-websocket-key"][0])), 16)

    def test_extended_connect_tunnel_timeout(self):
        """A tunnel is bounded by tunnel_timeout, not read_timeout: one
        with bytes moving lives past it, a silent one ends after it."""
        with h2client.H2(self.port, timeout=10) as c:
            c.pump(lambda: 8 in c.remote_settings, 5)
            sid = c.conn.get_next_available_stream_id()
            c.conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"),
                                      (":scheme", "http"), (":path", "/wsidle/x"),
                                      (":authority", "127.0.0.1"), ("sec-websocket-version", "13")])
            c.flush()
            st = c.streams[sid] = h2client.Stream(sid)
            c.pump(lambda: st.status != 0 and len(st.body) >= 2, 5)
            self.assertEqual(st.status, 200)
            want = b"hi"
            for i in range(6):            # 6 x 0.5 s of pings: 3 s, twice the timeout
                c.conn.send_data(sid, b"p%d" % i)
                c.flush()
                want += b"p%d" % i
                c.pump(lambda: bytes(st.body) == want, 5)
                c.pump(lambda: st.ended or st.reset is not None, 0.5)
                self.assertIsNone(st.reset, "an active tunnel was cut")
                self.assertFalse(st.ended)
            t0 = time.monotonic()
            c.pump(lambda: st.ended or st.reset is not None, 10)
            took = time.monotonic() - t0
            self.assertTrue(st.ended or st.reset is not None, "a silent tunnel stayed open")
            self.assertLess(took, 4.0)
            self.assertGreater(took, 0.8)

    def test_extended_connect_refused_upgrade_is_the_answer(self):
        # An upstream that does not switch answers as it likes.
        with h2client.H2(self.port, timeout=10) as c:
            sid = c.conn.get_next_available_stream_id()
            c.pump(lambda: 8 in c.remote_settings, 5)
            c.conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "websocket"),
                                      (":scheme", "http"), (":path", "/api/ws"),
                                      (":authority", "127.0.0.1"), ("sec-websocket-version", "13")])
            c.flush()
            st = c.streams[sid] = h2client.Stream(sid)
            c.pump(lambda: st.ended or st.reset is not None, 5)
            # The echo app answers a GET it sees (no upgrade): 200 with its JSON.
            self.assertEqual(st.status, 200)
            self.assertEqual(json.loads(bytes(st.body))["method"], "GET")

    def test_extended_connect_other_protocol_is_501(self):
        with h2client.H2(self.port, timeout=10) as c:
            c.pump(lambda: 8 in c.remote_settings, 5)
            sid = c.conn.get_next_available_stream_id()
            c.conn.send_headers(sid, [(":method", "CONNECT"), (":protocol", "webtransport"),
                                      (":scheme", "http"), (":path", "/ws/x"),
                                      (":authority", "127.0.0.1")])
            c.flush()
            st = c.streams[sid] = h2client.Stream(sid)
            c.pump(lambda: st.ended or st.reset is not None, 5)
            self.assertEqual(st.status, 501)

    def test_access_log_has_upstream_fields(self):
        self.curl(self.url("/api/h2logged"))
        self.assertTrue(wait_until(lambda: access_lines(self.srv, "/api/h2logged"), timeout=5))
        ok = access_lines(self.srv, "/api/h2logged")[0]
        self.assertEqual(ok["upstream"], self.a)
        self.assertEqual(ok["upstream_status"], 200)
        self.assertEqual(ok["status"], 200)

    def test_zz_no_worker_died(self):
        assert_no_worker_died(self, self.srv)


if __name__ == "__main__":
    unittest.main()
