#!/usr/bin/env python3
"""Proxied responses compressed on the fly (doc/configuration.md
"Compression" and "Reverse proxy"): the real binary in front of raw
upstreams on 127.0.0.1 that answer exactly what each test needs; bodies
decoded by Python's gzip and the zstd and brotli command line tools."""

import os
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import Conn, ServerTestCase, exchange, req, run_main, wait_until
from test_compress import decode, text
from upstreams import Upstreams, read_head

PAGE = text(6000)          # ~40 KB of words: compressible, over min_size


def length_reply(body, ctype="text/html; charset=utf-8", status="200 OK", extra=b""):
    """The same head for GET and HEAD (a HEAD gets no body)."""
    def behave(s):
        for _ in range(100):        # every request of a kept-alive connection
            head = read_head(s)
            if not head:
                return
            s.sendall(b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                      b"ETag: \"v1\"\r\n%s\r\n" % (status.encode(), ctype.encode(), len(body), extra)
                      + (b"" if head.startswith(b"HEAD ") else body))
    return behave


def chunked_reply(parts, pause=0.0, cut=False):
    def behave(s):
        head = read_head(s)
        if not head:
            return
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        if head.startswith(b"HEAD "):
            time.sleep(0.2)
            s.close()
            return
        for i, part in enumerate(parts):
            s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            if pause and i + 1 < len(parts):
                time.sleep(pause)
        if cut:
            time.sleep(0.2)
            s.close()
            return
        s.sendall(b"0\r\n\r\n")
        time.sleep(0.5)
        s.close()
    return behave


class ProxyCompressTest(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 1}

    def setUp(self):
        super().setUp()
        self.raws = Upstreams()

    def tearDown(self):
        self.raws.stop()

    def serve(self, routes, compress="on"):
        ups, locs = {}, {}
        for name, behave in routes.items():
            ups[name] = {"servers": [self.raws.raw(behave)]}
            locs["/%s/" % name] = {"proxy": name}
        self.srv.conf["upstreams"] = ups
        self.srv.conf["locations"] = locs
        self.srv.conf["compress"] = compress
        self.srv.conf["http2_cleartext"] = True
        self.srv.write_config()
        self.srv.start()

    def h2(self, path, ae, method="GET"):
        """curl over cleartext HTTP/2 (prior knowledge): (headers, raw body)."""
        with tempfile.TemporaryDirectory() as d:
            hf, bf = os.path.join(d, "h"), os.path.join(d, "b")
            argv = ["curl", "-s", "--http2-prior-knowledge", "-D", hf, "-o", bf,
                    "http://127.0.0.1:%d%s" % (self.port, path)]
            if method == "HEAD":
                argv.insert(2, "-I")
            if ae is not None:
                argv[2:2] = ["-H", "Accept-Encoding: " + ae]
            p = subprocess.run(argv, capture_output=True, timeout=20)
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(hf, "rb") as f:
                lines = f.read().decode("latin-1").split("\r\n")
            with open(bf, "rb") as f:
                body = f.read()
        self.assertTrue(lines[0].startswith("HTTP/2 "), lines[0])
        hdrs = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                hdrs[k.strip().lower()] = v.strip()
        hdrs[":status"] = lines[0].split()[1]
        return hdrs, body

    def test_http2_clients_get_it_compressed_too(self):
        parts = [b'{"n": %d, "pad": "%s"},\n' % (i, b"q" * 100) for i in range(400)]
        self.serve({"page": length_reply(PAGE), "chunks": chunked_reply(parts),
                    "chunks2": chunked_reply(parts), "bin": length_reply(PAGE, ctype="image/png")})
        for ae, want in (("gzip", "gzip"), ("br", "br"), ("zstd", "zstd")):
            h, body = self.h2("/page/", ae)
            self.assertEqual(h[":status"], "200")
            self.assertEqual(h.get("content-encoding"), want, (ae, h))
            self.assertEqual(h.get("vary"), "Accept-Encoding")
            self.assertNotIn("content-length", h)
            self.assertEqual(decode(want, body), PAGE, ae)
        h, body = self.h2("/chunks/", "br, gzip")
        self.assertEqual(h.get("content-encoding"), "br")
        self.assertEqual(decode("br", body), b"".join(parts))
        h, body = self.h2("/chunks2/", None)
        self.assertNotIn("content-encoding", h)
        self.assertEqual(body, b"".join(parts))
        h, body = self.h2("/bin/", "gzip")
        self.assertNotIn("content-encoding", h)
        self.assertEqual(body, PAGE)

    def ask(self, path, ae, version="HTTP/1.1", method="GET"):
        h = {"Connection": "close"}
        if ae is not None:
            h["Accept-Encoding"] = ae
        return exchange(self.port, req(method, path, version, h), head=(method == "HEAD"))

    def test_each_coding_round_trips(self):
        self.serve({"page": length_reply(PAGE)})
        for ae, want in (("gzip", "gzip"), ("br", "br"), ("zstd", "zstd"),
                         ("gzip, br, zstd", "zstd"), ("gzip;q=1, br;q=0.5", "gzip")):
            r = self.ask("/page/x", ae)
            self.assertEqual(r.status, 200, (ae, r.body[:200]))
            self.assertEqual(r.header("Content-Encoding"), want, ae)
            self.assertEqual(r.header("Vary"), "Accept-Encoding")
            self.assertEqual(r.header("Transfer-Encoding"), "chunked")
            self.assertIsNone(r.header("Content-Length"))
            self.assertEqual(r.header("ETag"), 'W/"v1"')
            self.assertEqual(decode(want, r.body), PAGE, ae)
            self.assertLess(len(r.body), len(PAGE) // 3)

    def test_identity_keeps_length_and_says_vary(self):
        self.serve({"page": length_reply(PAGE)})
        for ae in (None, "identity", "deflate", "gzip;q=0"):
            r = self.ask("/page/x", ae)
            self.assertIsNone(r.header("Content-Encoding"), ae)
            self.assertEqual(r.header("Content-Length"), str(len(PAGE)))
            self.assertEqual(r.header("Vary"), "Accept-Encoding")
            self.assertEqual(r.header("ETag"), '"v1"')
            self.assertEqual(r.body, PAGE)

    def test_what_is_not_compressed(self):
        self.serve({
            "bin": length_reply(PAGE, ctype="application/octet-stream"),
            "small": length_reply(b"tiny body"),
            "encoded": length_reply(PAGE, extra=b"Content-Encoding: gzip\r\n"),
            "notransform": length_reply(PAGE, extra=b"Cache-Control: public, no-transform\r\n"),
            "created": length_reply(PAGE, status="201 Created"),
        })
        for path in ("/bin/", "/small/", "/encoded/", "/notransform/", "/created/"):
            r = self.ask(path, "gzip, br, zstd")
            self.assertEqual(r.header("Content-Encoding"),
                             "gzip" if path == "/encoded/" else None, path)
            self.assertIsNotNone(r.header("Content-Length"), path)
            self.assertEqual(r.body, b"tiny body" if path == "/small/" else PAGE, path)
        self.assertIsNone(self.ask("/bin/", "gzip").header("Vary"))

    @staticmethod
    def fields(hdrs):
        """What a HEAD must say as the GET does: every field but Date and
        the framing (Transfer-Encoding, Connection), names lowered."""
        items = hdrs.items() if isinstance(hdrs, dict) else hdrs
        return sorted((k.lower(), v) for k, v in items
                      if k.lower() not in ("date", "transfer-encoding", "connection", ":status"))

    def test_head_says_what_get_says(self):
        """RFC 9110 9.3.2: a HEAD gets the GET's header fields: the coding
        the GET's body would get, Vary, the weak ETag, no Content-Length
        for a body compressed on the fly; identity (with the upstream's
        length) where the GET is identity. HTTP/1.1, 1.0 and HTTP/2."""
        parts = [b'{"n": %d, "pad": "%s"},\n' % (i, b"h" * 100) for i in range(300)]
        self.serve({"page": length_reply(PAGE), "chunks": chunked_reply(parts),
                    "small": length_reply(b"tiny body"),
                    "bin": length_reply(PAGE, ctype="image/png"),
                    "encoded": length_reply(PAGE, extra=b"Content-Encoding: gzip\r\n"),
                    "gone": length_reply(PAGE, status="404 Not Found")})
        cases = [("/page/", "gzip", "gzip"), ("/page/", "br", "br"), ("/page/", "zstd", "zstd"),
                 ("/page/", None, None), ("/page/", "gzip;q=0", None),
                 ("/chunks/", "gzip", None), ("/chunks/", "gzip, br", "br"),
                 ("/small/", "gzip", None), ("/bin/", "gzip", None), ("/encoded/", "br", "gzip"),
                 ("/gone/", "zstd", "zstd")]
        for path, ae, want in cases:
            for version in ("HTTP/1.1", "HTTP/1.0"):
                g = self.ask(path, ae, version=version)
                h = self.ask(path, ae, version=version, method="HEAD")
                what = (path, ae, version)
                self.assertEqual(h.status, g.status, what)
                self.assertEqual(g.header("Content-Encoding"), want, what)
                self.assertEqual(self.fields(h.headers), self.fields(g.headers), what)
                self.assertEqual(h.body, b"", what)
            h2g, _ = self.h2(path, ae)
            h2h, _ = self.h2(path, ae, method="HEAD")
            self.assertEqual(h2g.get("content-encoding"), want, (path, ae))
            self.assertEqual(self.fields(h2h), self.fields(h2g), (path, ae, "h2"))
        # Spelled out for the common case.
        h = self.ask("/page/", "br", method="HEAD")
        self.assertEqual((h.header("Content-Encoding"), h.header("Vary"), h.header("ETag")),
                         ("br", "Accept-Encoding", 'W/"v1"'))
        self.assertIsNone(h.header("Content-Length"))
        h = self.ask("/page/", None, method="HEAD")
        self.assertEqual((h.header("Content-Length"), h.header("ETag")), (str(len(PAGE)), '"v1"'))
        self.assertIsNone(h.header("Content-Encoding"))

    def test_chunked_upstream_streams_br_zstd_and_never_gzip(self):
        parts = [b'{"n": %d, "pad": "%s"},\n' % (i, b"x" * 200) for i in range(300)]
        whole = b"".join(parts)
        self.serve({"a": chunked_reply(parts), "b": chunked_reply(parts),
                    "c": chunked_reply(parts)})
        r = self.ask("/a/", "gzip, br")
        self.assertEqual(r.header("Content-Encoding"), "br")
        self.assertEqual(decode("br", r.body), whole)
        r = self.ask("/b/", "zstd")
        self.assertEqual(r.header("Content-Encoding"), "zstd")
        self.assertEqual(decode("zstd", r.body), whole)
        # gzip needs the whole body (libdeflate): an unknown length goes as it is
        r = self.ask("/c/", "gzip")
        self.assertIsNone(r.header("Content-Encoding"))
        self.assertEqual(r.header("Vary"), "Accept-Encoding")
        self.assertEqual(r.body, whole)

    def test_http10_client_gets_the_body_until_close(self):
        self.serve({"page": length_reply(PAGE)})
        r = self.ask("/page/", "gzip", version="HTTP/1.0")
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        self.assertIsNone(r.header("Transfer-Encoding"))
        self.assertIsNone(r.header("Content-Length"))
        self.assertEqual(decode("gzip", r.body), PAGE)

    def test_a_slow_stream_is_flushed(self):
        """The upstream sends a part, then waits: the part reaches the
        client compressed before the rest comes (the coder is flushed when
        the upstream has nothing more for now)."""
        first = b'{"event": "first", "pad": "%s"}\n' % (b"y" * 300)
        self.serve({"slow": chunked_reply([first, b'{"event": "second"}\n'], pause=2.0)})
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(req("GET", "/slow/", headers={"Accept-Encoding": "zstd",
                                                "Connection": "close"}))
        data = b""
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            s.settimeout(0.2)
            try:
                b = s.recv(65536)
            except socket.timeout:
                if b"\r\n\r\n" in data and len(data.split(b"\r\n\r\n", 1)[1]) > 20:
                    break
                continue
            if not b:
                break
            data += b
        took = time.monotonic() - t0
        s.close()
        self.assertLess(took, 1.6, "nothing of the first part before the second")
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertIn(b"Content-Encoding: zstd", head)
        # the chunks so far hold a zstd frame prefix that decodes to the first part
        raw = b""
        rest = body
        for _ in range(100):
            if b"\r\n" not in rest:
                break
            size, rest = rest.split(b"\r\n", 1)
            n = int(size, 16)
            if n == 0 or len(rest) < n + 2:
                break
            raw += rest[:n]
            rest = rest[n + 2:]
        out = subprocess.run(["zstd", "-dc"], input=raw, capture_output=True, timeout=10)
        self.assertEqual(out.stdout, first)     # all of it; zstd says the frame is unfinished

    def test_cut_body_never_ends_the_chunked_stream(self):
        parts = [b"z" * 5000] * 4
        self.serve({"cut": chunked_reply(parts, cut=True)})
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(req("GET", "/cut/", headers={"Accept-Encoding": "br", "Connection": "close"}))
        data = b""
        s.settimeout(5)
        for _ in range(1000):
            b = s.recv(65536)
            if not b:
                break
            data += b
        s.close()
        self.assertIn(b"Content-Encoding: br", data.split(b"\r\n\r\n", 1)[0])
        self.assertFalse(data.endswith(b"0\r\n\r\n"), data[-40:])
        self.assertTrue(wait_until(lambda: "closed its response body before the end"
                                   in self.srv.log_text(), timeout=5))

    def test_off_by_default_and_per_location(self):
        self.srv.conf["upstreams"] = {"app": {"servers": [self.raws.raw(length_reply(PAGE))]}}
        self.srv.conf["locations"] = {"/plain/": {"proxy": "app"},
                                      "/z/": {"proxy": "app", "compress": "on"}}
        self.srv.write_config()
        self.srv.start()
        r1 = self.ask("/plain/", "gzip")
        self.assertIsNone(r1.header("Content-Encoding"))
        self.assertIsNone(r1.header("Vary"))
        r2 = self.ask("/z/", "gzip")
        self.assertEqual(r2.header("Content-Encoding"), "gzip")
        self.assertEqual(decode("gzip", r2.body), PAGE)

    def test_keepalive_after_a_compressed_answer(self):
        self.serve({"page": length_reply(PAGE)})
        with Conn(self.port) as c:
            for ae in ("br", "gzip", None, "zstd"):
                c.send(req("GET", "/page/", headers={"Accept-Encoding": ae} if ae else None))
                r = c.read_response()
                self.assertEqual(r.status, 200)
                want = r.header("Content-Encoding")
                self.assertEqual(want, ae)
                self.assertEqual(decode(want, r.body) if want else r.body, PAGE)


if __name__ == "__main__":
    run_main()
