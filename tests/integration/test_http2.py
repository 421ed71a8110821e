#!/usr/bin/env python3
"""HTTP/2 (issue 14) over real sockets, cleartext with prior knowledge
(http2_cleartext: true): many streams on one connection, the same handlers
as HTTP/1 (ranges, conditionals, HEAD, errors), flow control that stalls one
stream and nothing else, Rapid Reset cut off with the worker's CPU low,
GOAWAY on keep-alive timeout and on graceful stop, the header list limit,
one access log line per stream, and h2c refused when it is off.

Peers: python3-h2 (h2client.py), nghttp and h2load (nghttp2-client)."""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import unittest

import harness
import h2client
from harness import get

SMALL = b"small body\n" * 10                      # 110 bytes: from memory
BIG = b"".join(b"%07d\n" % i for i in range(40000))  # 320000 bytes: sendfile
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, sid, payload):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def frame_types(data):
    out = []
    while len(data) >= 9:
        n = int.from_bytes(data[:3], "big")
        out.append(data[3])
        data = data[9 + n:]
    return out


def hpack_get(path):
    """A header block for GET path (indexed and literal fields)."""
    # :method GET (2), :scheme http (6), :path literal with indexed name 4,
    # :authority literal with indexed name 1.
    p = path.encode()
    return bytes([0x82, 0x86, 0x04, len(p)]) + p + bytes([0x01, 9]) + b"127.0.0.1"


def window_update(sid, n):
    return struct.pack(">I", 4)[1:] + bytes([8, 0]) + struct.pack(">II", sid, n)


class RawFrames(object):
    """Reads HTTP/2 frames from a socket: (type, flags, stream, payload)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.data = {}
        self.closed = False

    def until(self, pred, timeout):
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            while len(self.buf) >= 9:
                n = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + n:
                    break
                f = (self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") & 0x7fffffff,
                     self.buf[9:9 + n])
                self.buf = self.buf[9 + n:]
                if f[0] == 0:
                    self.data[f[2]] = self.data.get(f[2], 0) + n
                if pred(f):
                    return f
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.sock.settimeout(min(left, 1.0))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
            self.buf += chunk
        return None


def utime(pid):
    """User plus system CPU ticks of pid (fields 14 and 15 of stat)."""
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])


def files():
    f = {"small.txt": SMALL, "big.bin": BIG}
    for i in range(40):
        f["f%d.txt" % i] = (b"file %d\n" % i) * (1 + i * 97)
    return f


@unittest.skipUnless(h2client.available(), "python3-h2 is not installed")
class Http2Test(unittest.TestCase):
    conf = {"http2_cleartext": True, "status": {"path": "/drover-status"},
            "metrics": {"path": "/metrics"}}

    def setUp(self):
        self.s = harness.Server(files=files(), **self.conf)
        self.s.start()

    def tearDown(self):
        self.s.stop()

    def worker(self):
        w = self.s.workers()
        self.assertEqual(len(w), 1)
        return w[0]

    def test_many_streams_one_connection(self):
        with h2client.H2(self.s.port) as c:
            sids = {}
            for i in range(40):
                sids[c.request("/f%d.txt" % i)] = "f%d.txt" % i
            for _ in range(3):
                sids[c.request("/big.bin")] = "big.bin"
            self.assertTrue(c.pump(lambda: all(c.streams[s].ended for s in sids), 15),
                            "not every stream ended")
            for sid, name in sids.items():
                st = c.streams[sid]
                self.assertEqual(st.status, 200, name)
                self.assertEqual(bytes(st.body), files()[name], name)
                self.assertEqual(st.headers.get("content-length"), str(len(files()[name])))
            self.assertEqual(c.remote_settings.get(3), 128)  # MAX_CONCURRENT_STREAMS

    def test_same_handlers(self):
        with h2client.H2(self.s.port) as c:
            st = c.get("/big.bin", [("range", "bytes=10-19")])
            self.assertEqual(st.status, 206)
            self.assertEqual(bytes(st.body), BIG[10:20])
            self.assertEqual(st.headers["content-range"], "bytes 10-19/%d" % len(BIG))
            st = c.get("/big.bin", [("range", "bytes=0-4,100000-100009")])
            self.assertEqual(st.status, 206)
            self.assertIn(b"Content-Range: bytes 100000-100009/%d" % len(BIG), bytes(st.body))
            self.assertIn(BIG[100000:100010], bytes(st.body))
            st = c.get("/small.txt")
            etag = st.headers["etag"]
            self.assertEqual(bytes(st.body), SMALL)
            st = c.get("/small.txt", [("if-none-match", etag)])
            self.assertEqual(st.status, 304)
            self.assertEqual(bytes(st.body), b"")
            st = c.get("/small.txt", method="HEAD")
            self.assertEqual(st.status, 200)
            self.assertEqual(st.headers["content-length"], str(len(SMALL)))
            self.assertEqual(bytes(st.body), b"")
            st = c.get("/nope")
            self.assertEqual(st.status, 404)
            self.assertIn(b"404", bytes(st.body))
            st = c.get("/small.txt", method="DELETE")
            self.assertEqual(st.status, 405)
            # :authority serves as Host, and is held to the same grammar.
            sid = c.request("/small.txt", authority="example.com:99999")
            c.pump(lambda: c.streams[sid].ended or c.streams[sid].reset is not None)
            self.assertEqual(c.streams[sid].status, 400)
            for k in st.headers:
                self.assertEqual(k, k.lower())
                self.assertNotIn(k, ("connection", "keep-alive", "transfer-encoding"))
        # One access log line per stream, protocol HTTP/2.0.
        self.assertTrue(harness.wait_until(
            lambda: '"GET /small.txt HTTP/2.0" 304 0' in self.s.read(self.s.access_log), 5),
            self.s.read(self.s.access_log))
        self.assertIn('"GET /big.bin HTTP/2.0" 206 10', self.s.read(self.s.access_log))

    def test_flow_control_stall_is_per_stream(self):
        # The client gives 1000 bytes of window and never more for the big
        # file; a second stream on the same connection and another
        # connection are served meanwhile.
        with h2client.H2(self.s.port, window=1000, auto_ack=False) as c:
            big = c.request("/big.bin")
            c.pump(lambda: len(c.streams[big].body) >= 1000, 5)
            self.assertEqual(len(c.streams[big].body), 1000)
            small = c.request("/small.txt")
            c.streams[small].ack = True
            self.assertTrue(c.pump(lambda: c.streams[small].ended, 5), "stalled behind a window")
            self.assertEqual(bytes(c.streams[small].body), SMALL)
            self.assertFalse(c.streams[big].ended)
            self.assertEqual(get(self.s.port, "/small.txt").body, SMALL)
            # Credit given back: the big stream finishes.
            c.streams[big].ack = True
            c.ack(big, 1000)
            c.conn.increment_flow_control_window(len(BIG))
            c.conn.increment_flow_control_window(len(BIG), big)
            c.flush()
            self.assertTrue(c.pump(lambda: c.streams[big].ended, 10))
            self.assertEqual(bytes(c.streams[big].body), BIG)

    def test_client_that_never_reads(self):
        # A client that sends requests and never reads its socket fills
        # the socket; the worker serves others meanwhile and stays idle.
        pid = self.worker()
        hog = h2client.H2(self.s.port, rcvbuf=4096, window=2 ** 31 - 1)
        hog.conn.increment_flow_control_window(2 ** 31 - 1 - 65535)
        for _ in range(10):
            hog.request("/big.bin")
        time.sleep(0.3)  # its socket fills: the worker waits on it
        t0 = utime(pid)
        start = time.monotonic()
        for _ in range(20):
            self.assertEqual(get(self.s.port, "/small.txt").body, SMALL)
        self.assertLess(time.monotonic() - start, 5)
        time.sleep(1)
        self.assertLess(utime(pid) - t0, 50, "the worker spins on a blocked client")
        # It was served as far as it read: read on, and every stream ends.
        self.assertTrue(hog.pump(lambda: all(st.ended for st in hog.streams.values()), 20))
        self.assertTrue(all(bytes(st.body) == BIG for st in hog.streams.values()))
        hog.close()

    def test_rapid_reset_is_cut_off(self):
        pid = self.worker()
        t0 = utime(pid)
        c = h2client.H2(self.s.port)
        sent = 0
        try:
            for _ in range(40):
                for _ in range(100):
                    sid = c.request("/small.txt")
                    c.conn.reset_stream(sid)
                    sent += 1
                c.flush()
                c.pump(lambda: c.goaway is not None, 0.01)
                if c.goaway is not None or c.closed:
                    break
        except OSError:
            pass  # the server closed while we were still sending
        c.pump(lambda: c.goaway is not None, 5)
        c.close()
        self.assertIsNotNone(c.goaway, "no GOAWAY after %d resets" % sent)
        # nghttp2's rate limit ends it with INTERNAL_ERROR (1.52 backport,
        # as upstream 1.57); ENHANCE_YOUR_CALM would do as well.
        self.assertIn(c.goaway.error_code, (2, 11))
        self.assertLess(sent, 4000)
        self.assertLess(utime(pid) - t0, 200, "Rapid Reset cost the worker too much CPU")
        self.assertTrue(harness.wait_until(lambda: "GOAWAY" in self.s.log_text(), 3), self.s.diag())
        self.assertEqual(get(self.s.port, "/small.txt").status, 200)

    def flood(self, frames, rcvbuf=4096):
        """Sends the preface, SETTINGS and frames on a socket that reads
        nothing; returns (the connection was closed or reset, what came)."""
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(5)
        sock.connect(("127.0.0.1", self.s.port))
        cut = False
        try:
            sock.sendall(PREFACE + frame(4, 0, 0, b""))
            for chunk in frames:
                sock.sendall(chunk)
        except OSError:
            cut = True
        got = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                d = sock.recv(1 << 20)
            except socket.timeout:
                break
            except OSError:
                cut = True
                break
            if not d:
                cut = True
                break
            got += d
        sock.close()
        return cut, got

    def test_ping_flood_is_cut_off(self):
        # PINGs from a client that never reads: their ACKs pile up, and
        # nghttp2's outbound-ack limit ends the connection.
        pings = frame(6, 0, 0, b"12345678") * 1000
        cut, _ = self.flood(pings for _ in range(200))
        self.assertTrue(cut)
        self.assertTrue(harness.wait_until(lambda: "Flooding" in self.s.log_text(), 3), self.s.diag())
        self.assertEqual(get(self.s.port, "/small.txt").status, 200)

    def test_continuation_flood_is_cut_off(self):
        # One header block spread over many CONTINUATION frames: nghttp2
        # allows 8, then GOAWAY.
        block = hpack_get("/small.txt")
        frames = [frame(1, 0x1, 1, block[:1])]  # HEADERS, END_STREAM, no END_HEADERS
        frames += [frame(9, 0, 1, b"") for _ in range(100)]
        cut, got = self.flood([b"".join(frames)], rcvbuf=65536)
        types = frame_types(got)
        self.assertIn(7, types, "no GOAWAY after a CONTINUATION flood: %r" % types)
        self.assertTrue(cut)
        self.assertTrue(harness.wait_until(lambda: "HTTP/2" in self.s.log_text(), 3), self.s.diag())

    def test_body_too_large_stops_the_upload(self):
        # A body over max_body_size (1m by default) is answered 413 as soon
        # as it is over, and the client is told to stop (RST_STREAM
        # NO_ERROR) rather than left to send the rest.
        with h2client.H2(self.s.port) as c:
            sid = c.request("/small.txt", method="POST", end=False)
            st = c.streams[sid]
            chunk = b"x" * 16000
            for _ in range(400):  # up to 6.4 MB
                if st.ended or st.reset is not None or c.closed:
                    break
                window = min(c.conn.local_flow_control_window(sid), c.conn.max_outbound_frame_size)
                if window < len(chunk):
                    c.pump(lambda: st.ended or c.conn.local_flow_control_window(sid) >= len(chunk), 2)
                    continue
                c.conn.send_data(sid, chunk)
                c.flush()
                c.pump(lambda: st.ended, 0.001)
            c.pump(lambda: st.reset is not None, 3)
            self.assertEqual(st.status, 413)
            self.assertEqual(st.reset, 0)  # NO_ERROR
            self.assertEqual(c.get("/small.txt").status, 200)

    def test_header_list_limit(self):
        with h2client.H2(self.s.port) as c:
            st = c.get("/small.txt", [("x-big", "a" * 3000), ("x-big2", "b" * 3000),
                                      ("x-big3", "c" * 3000)])
            self.assertEqual(st.status, 431)
            self.assertEqual(c.get("/small.txt").status, 200)

    def test_keepalive_timeout_sends_goaway(self):
        self.s.stop()
        self.s = harness.Server(files=files(), keepalive_timeout="1s", **self.conf)
        self.s.start()
        with h2client.H2(self.s.port) as c:
            self.assertEqual(c.get("/small.txt").status, 200)
            t = time.monotonic()
            c.pump(lambda: c.closed, 5)
            self.assertIsNotNone(c.goaway)
            self.assertEqual(c.goaway.error_code, 0)
            self.assertTrue(c.closed)
            self.assertLess(time.monotonic() - t, 4)

    def test_keepalive_requests_ends_the_connection_with_goaway(self):
        self.s.stop()
        self.s = harness.Server(files=files(), keepalive_requests=3, **self.conf)
        self.s.start()
        with h2client.H2(self.s.port) as c:
            for _ in range(3):
                self.assertEqual(c.get("/small.txt").status, 200)
            c.pump(lambda: c.goaway is not None, 5)
            self.assertIsNotNone(c.goaway)
            self.assertEqual(c.goaway.error_code, 0)
            self.assertEqual(c.goaway.last_stream_id, 5)  # the third stream: 1, 3, 5
            c.pump(lambda: c.closed, 5)
            self.assertTrue(c.closed)
        # Four streams at once (nghttp sends them together): three are
        # served, the fourth refused (the client may retry it elsewhere),
        # then GOAWAY once the three are answered.
        if shutil.which("nghttp") is None:
            self.skipTest("no nghttp (nghttp2-client)")
        out = subprocess.run(["nghttp", "-v", "-n", "-m", "4", "http://127.0.0.1:%d/small.txt" % self.s.port],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10).stdout.decode()
        frames = re.findall(r"recv (HEADERS|DATA|RST_STREAM|GOAWAY) frame <[^>]*stream_id=(\d+)>", out)
        heads = [int(sid) for kind, sid in frames if kind == "HEADERS"]
        resets = [int(sid) for kind, sid in frames if kind == "RST_STREAM"]
        self.assertEqual(len(heads), 3, out)
        self.assertEqual(len(resets), 1, out)
        self.assertGreater(resets[0], max(heads))
        self.assertIn("error_code=NO_ERROR", out[out.index("recv GOAWAY"):], out)
        self.assertEqual(frames[-1][0], "GOAWAY", out)  # after every response

    def test_stalled_request_is_reset_while_pings_keep_the_connection(self):
        # A request body that stops coming is reset after
        # client_body_timeout even though PINGs keep the connection busy
        # (the connection's own timers never fire then).
        self.s.stop()
        self.s = harness.Server(files=files(), client_body_timeout="1s", keepalive_timeout="10s",
                                **self.conf)
        self.s.start()
        with h2client.H2(self.s.port) as c:
            sid = c.request("/small.txt", method="POST", end=False)
            deadline = time.monotonic() + 6
            while c.streams[sid].reset is None and time.monotonic() < deadline:
                c.conn.ping(b"12345678")
                c.flush()
                c.pump(lambda: c.streams[sid].reset is not None, 0.3)
            self.assertEqual(c.streams[sid].reset, 8)  # CANCEL
            self.assertLess(time.monotonic() - (deadline - 6), 4)
            # The connection goes on.
            self.assertEqual(c.get("/small.txt").status, 200)
        self.assertIn("no request frame for 1 s: reset", self.s.log_text())

    def test_graceful_stop_lets_streams_finish(self):
        # python3-h2 stops at GOAWAY, so after the request this client
        # reads frames itself: a 1000-byte window stalls the stream, QUIT
        # brings GOAWAY (NO_ERROR), then credit lets the stream finish.
        c = h2client.H2(self.s.port, window=1000, auto_ack=False)
        big = c.request("/big.bin")
        sock = c.sock
        frames = RawFrames(sock)
        got = frames.until(lambda f: f[0] == 0 and f[2] == big and frames.data[big] >= 1000, 5)
        self.assertTrue(got, "no DATA")
        self.s.signal(signal.SIGQUIT)
        goaway = frames.until(lambda f: f[0] == 7, 5)
        self.assertTrue(goaway, "no GOAWAY on stop")
        self.assertEqual(struct.unpack(">II", goaway[3][:8])[1], 0)  # NO_ERROR
        sock.sendall(window_update(0, len(BIG)) + window_update(big, len(BIG)))
        end = frames.until(lambda f: f[0] == 0 and f[2] == big and f[1] & 1, 10)
        self.assertTrue(end, "the stream did not finish after GOAWAY")
        self.assertEqual(frames.data[big], len(BIG))
        self.assertTrue(frames.until(lambda f: False, 5) is None and frames.closed)
        sock.close()
        self.s.wait_exit(10)

    def test_reload_sends_goaway(self):
        # A reload drains the old worker: its idle HTTP/2 connection gets
        # GOAWAY (NO_ERROR) and is closed; the new generation serves.
        with h2client.H2(self.s.port) as c:
            self.assertEqual(c.get("/small.txt").status, 200)
            self.s.signal(signal.SIGHUP)
            self.assertTrue(c.pump(lambda: c.goaway is not None, 8), "no GOAWAY on reload")
            self.assertEqual(c.goaway.error_code, 0)
            c.pump(lambda: c.closed, 5)
            self.assertTrue(c.closed)
        with h2client.H2(self.s.port) as c:
            self.assertEqual(c.get("/small.txt").status, 200)

    def test_http1_still_served(self):
        r = get(self.s.port, "/small.txt")
        self.assertEqual((r.status, r.body), (200, SMALL))
        # Bytes that are neither the preface nor an HTTP/1 request line:
        # closed (HTTP/2 refuses the preface).
        with socket.create_connection(("127.0.0.1", self.s.port), timeout=5) as sock:
            sock.sendall(b"INVALID CONNECTION PREFACE\r\n\r\n")
            data = sock.recv(4096)
            self.assertFalse(data.startswith(b"HTTP/1.1"), data)

    def test_status_counts_http2(self):
        # The status page over HTTP/2 (the same handler), and its totals
        # count HTTP/2 connections and streams apart.
        def totals():
            with h2client.H2(self.s.port) as c:
                for _ in range(3):
                    self.assertEqual(c.get("/small.txt").status, 200)
                st = c.get("/drover-status")
                self.assertEqual(st.status, 200)
                t = json.loads(bytes(st.body))["totals"]["http2"]
                return t if t["connections"] >= 1 and t["streams"] >= 4 else None
        t = harness.wait_until(totals, 5, interval=0.3)
        self.assertTrue(t, "http2 counters never showed up")

    def test_metrics_count_streams(self):
        # /metrics counts HTTP/2 streams by method and status, and times
        # them, as it does HTTP/1 requests. HEAD, so the scrapes (GET over
        # HTTP/1) cannot touch the figure.
        with h2client.H2(self.s.port) as c:
            for _ in range(5):
                self.assertEqual(c.get("/small.txt", method="HEAD").status, 200)
        pat = re.compile(r'^drover_http_requests_total\{code="2xx",method="HEAD"\} (\S+)$', re.M)

        def heads():
            m = pat.search(get(self.s.port, "/metrics").body.decode())
            return m is not None and float(m.group(1)) == 5
        self.assertTrue(harness.wait_until(heads, 5, interval=0.3),
                        "5 HEAD streams never showed in /metrics")
        body = get(self.s.port, "/metrics").body.decode()
        m = re.search(r'^drover_http_request_duration_seconds_count (\S+)$', body, re.M)
        self.assertTrue(m and float(m.group(1)) >= 5, body[-400:])

    @unittest.skipUnless(shutil.which("nghttp"), "nghttp (nghttp2-client) is not installed")
    def test_nghttp(self):
        urls = ["http://127.0.0.1:%d/f%d.txt" % (self.s.port, i) for i in range(10)]
        out = subprocess.run(["nghttp", "-n", "-s", "-t", "10"] + urls, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=20).stdout.decode()
        self.assertEqual(len(re.findall(r"\b200\b", out)), 10, out)

    @unittest.skipUnless(shutil.which("h2load"), "h2load (nghttp2-client) is not installed")
    def test_h2load(self):
        out = subprocess.run(["h2load", "-n", "2000", "-c", "4", "-m", "10",
                              "http://127.0.0.1:%d/small.txt" % self.s.port],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30).stdout.decode()
        self.assertIn("2000 succeeded", out, out)


@unittest.skipUnless(h2client.available(), "python3-h2 is not installed")
class Http2VhostTest(unittest.TestCase):
    def test_authority_picks_the_virtual_host(self):
        s = harness.Server(files={"same.txt": b"default\n"}, http2_cleartext=True)
        try:
            root = os.path.join(s.dir, "a")
            os.makedirs(root)
            with open(os.path.join(root, "same.txt"), "wb") as f:
                f.write(b"root of a\n")
            alog = os.path.join(s.dir, "a.log")
            with open(os.path.join(root, "big.bin"), "wb") as f:
                f.write(b"b" * 100000)
            s.conf["metrics"] = {"path": "/metrics"}
            s.write_config(harness.yaml_dump(s.conf) + "hosts:\n  \"a.test\":\n    root: %s\n"
                           "    access_log: %s\n" % (root, alog))
            s.start()
            with h2client.H2(s.port) as c:
                st = c.get("/same.txt")
                self.assertEqual(bytes(st.body), b"default\n")
                sid = c.request("/same.txt", authority="a.test")
                c.pump(lambda: c.streams[sid].ended, 5)
                self.assertEqual(bytes(c.streams[sid].body), b"root of a\n")
                sid = c.request("/big.bin", authority="a.test")
                c.pump(lambda: c.streams[sid].ended, 5)
                self.assertEqual(len(c.streams[sid].body), 100000)
            self.assertTrue(harness.wait_until(
                lambda: "HTTP/2.0" in s.read(alog), 5), s.read(alog))
            # /metrics counts the host's HTTP/2 response bytes too.
            pat = re.compile(r'^drover_host_response_bytes_total\{host="a\.test"\} (\S+)$', re.M)

            def counted():
                m = pat.search(get(s.port, "/metrics").body.decode())
                return m is not None and float(m.group(1)) >= 100000
            self.assertTrue(harness.wait_until(counted, 5, interval=0.3),
                            get(s.port, "/metrics").body.decode()[-1500:])
        finally:
            s.stop()


@unittest.skipUnless(h2client.available(), "python3-h2 is not installed")
class Http2OffTest(unittest.TestCase):
    def test_prior_knowledge_refused_when_off(self):
        s = harness.Server(files={"small.txt": SMALL})
        try:
            s.start()
            with socket.create_connection(("127.0.0.1", s.port), timeout=5) as sock:
                sock.sendall(PREFACE)
                data = b""
                for _ in range(20):
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            # HTTP/1 answers the preface's request line with an error and
            # closes: no SETTINGS frame, no HTTP/2.
            self.assertTrue(data == b"" or re.match(rb"HTTP/1\.1 (400|505) ", data), data)
        finally:
            s.stop()


if __name__ == "__main__":
    harness.run_main()
