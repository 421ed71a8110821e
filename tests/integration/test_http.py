#!/usr/bin/env python3
"""HTTP behaviour of drover: methods, headers, keep-alive, pipelining,
conditional and range requests, gzip_static, sendfile, the access log."""

import email.utils
import gzip
import os
import re
import socket
import time
import unittest

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (INDEX_HTML, Conn, SharedServerTestCase, get, req,
                     run_main, wait_until)

FIXED_MTIME = 1600000000  # Sun, 13 Sep 2020 12:26:40 GMT
PLAIN = b"hello plain text, not compressed at all\n" * 4
BIG = os.urandom(100 * 1024)
FIXED = b"0123456789abcdefghij"  # 20 bytes

IMF_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d "
                      r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                      r"\d{4} \d\d:\d\d:\d\d GMT$")


def media_type(r):
    return (r.header("Content-Type") or "").split(";")[0].strip().lower()


class HttpTest(SharedServerTestCase):
    server_kwargs = {"workers": 2, "gzip_static": True}

    @classmethod
    def populate(cls, srv):
        srv.write_file("style.css", "body { color: red }\n")
        srv.write_file("img.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 32)
        srv.write_file("app.js", "console.log(1);\n")
        srv.write_file("notes.txt", "notes\n")
        srv.write_file("data.json", '{"a": 1}\n')
        srv.write_file("pic.svg", '<svg xmlns="http://www.w3.org/2000/svg"/>\n')
        srv.write_file("dir/index.html", "<p>dir index</p>\n")
        srv.write_file("empty/other.txt", "not an index\n")
        srv.write_file("a.txt", PLAIN)
        srv.write_file("a.txt.gz", gzip.compress(PLAIN))
        srv.write_file("big.bin", BIG)
        srv.write_file("fixed.txt", FIXED, mtime=FIXED_MTIME)
        srv.write_file("a b.txt", "space in name\n")

    # ---- GET / HEAD basics

    def test_get_index(self):
        r = get(self.port, "/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.version, "HTTP/1.1")
        self.assertEqual(r.body, INDEX_HTML)
        for h in ("Date", "Server", "Content-Type", "Content-Length",
                  "Last-Modified", "ETag", "Accept-Ranges"):
            self.assertTrue(r.has(h), "missing %s in %r" % (h, r.headers))
        self.assertEqual(media_type(r), "text/html")
        self.assertEqual(int(r.header("Content-Length")), len(INDEX_HTML))
        self.assertEqual(r.header("Accept-Ranges"), "bytes")
        self.assertRegex(r.header("Date"), IMF_DATE)
        self.assertRegex(r.header("Last-Modified"), IMF_DATE)
        d = email.utils.parsedate_to_datetime(r.header("Date")).timestamp()
        self.assertLess(abs(d - time.time()), 120, r.header("Date"))
        self.assertRegex(r.header("ETag"), r'^(W/)?"[^"]+"$')

    def test_last_modified_is_file_mtime(self):
        r = get(self.port, "/fixed.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Last-Modified"),
                         email.utils.formatdate(FIXED_MTIME, usegmt=True))

    def test_head(self):
        with Conn(self.port) as c:
            # A HEAD followed by a GET on the same connection: a HEAD that
            # sent a body would make the second response unparseable.
            c.send(req("HEAD", "/") + req("GET", "/notes.txt",
                                          headers={"Connection": "close"}))
            r = c.read_response(head=True)
            self.assertEqual(r.status, 200)
            self.assertEqual(int(r.header("Content-Length")), len(INDEX_HTML))
            self.assertEqual(media_type(r), "text/html")
            for h in ("Date", "Server", "Last-Modified", "ETag", "Accept-Ranges"):
                self.assertTrue(r.has(h), "HEAD lacks %s" % h)
            self.assertTrue(c.buf.startswith(b"HTTP/1.1") or c.buf == b"",
                            "bytes after the HEAD head: %r" % c.buf[:60])
            r2 = c.read_response()
            self.assertEqual(r2.status, 200)
            self.assertEqual(r2.body, b"notes\n")
            self.assertEqual(c.read_until_close(), b"")

    def test_content_types(self):
        cases = {
            "/style.css": ("text/css",),
            "/img.png": ("image/png",),
            "/app.js": ("application/javascript", "text/javascript"),
            "/notes.txt": ("text/plain",),
            "/data.json": ("application/json",),
            "/pic.svg": ("image/svg+xml",),
            "/index.html": ("text/html",),
        }
        for path, types in cases.items():
            r = get(self.port, path)
            self.assertEqual(r.status, 200, path)
            self.assertIn(media_type(r), types, path)

    def test_percent_encoded_name(self):
        r = get(self.port, "/a%20b.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"space in name\n")

    def test_query_string_ignored(self):
        r = get(self.port, "/notes.txt?x=1&y=%2e%2e")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"notes\n")

    def test_404(self):
        r = get(self.port, "/no-such-file.html")
        self.assertEqual(r.status, 404)
        self.assertEqual(media_type(r), "text/html")
        self.assertGreater(len(r.body), 0)
        self.assertEqual(int(r.header("Content-Length")), len(r.body))

    # ---- directories

    def test_dir_redirect(self):
        r = get(self.port, "/dir")
        self.assertEqual(r.status, 301)
        loc = r.header("Location")
        self.assertIsNotNone(loc)
        self.assertRegex(loc, r"^(https?://[^/]+)?/dir/$")

    def test_dir_index(self):
        r = get(self.port, "/dir/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"<p>dir index</p>\n")
        self.assertEqual(media_type(r), "text/html")

    def test_dir_without_index(self):
        r = get(self.port, "/empty/")
        self.assertEqual(r.status, 403)

    # ---- methods

    def test_options(self):
        r = get(self.port, "/", method="OPTIONS")
        self.assertIn(r.status, (200, 204))
        allow = r.tokens("Allow")
        for m in ("get", "head", "options"):
            self.assertIn(m, allow, r.headers)

    def test_options_star(self):
        r = get(self.port, "*", method="OPTIONS")
        self.assertIn(r.status, (200, 204))
        self.assertIn("get", r.tokens("Allow"))

    def test_405(self):
        for m in ("POST", "PUT", "DELETE"):
            r = get(self.port, "/index.html", method=m,
                    headers={"Content-Length": "0"})
            self.assertEqual(r.status, 405, m)
            allow = r.tokens("Allow")
            self.assertIn("get", allow, m)
            self.assertIn("head", allow, m)

    def test_501(self):
        r = get(self.port, "/", method="BREW")
        self.assertEqual(r.status, 501)

    # ---- connections

    def test_keep_alive(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/notes.txt"))
            r1 = c.read_response()
            self.assertEqual(r1.status, 200)
            self.assertFalse(r1.closes())
            self.assertTrue(c.is_open(0.2))
            c.send(req("GET", "/index.html"))
            r2 = c.read_response()
            self.assertEqual(r2.status, 200)
            self.assertEqual(r2.body, INDEX_HTML)

    def test_http10_closes(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/notes.txt", version="HTTP/1.0", host=None))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"notes\n")
            self.assertTrue(c.closed_within(3), "HTTP/1.0 connection kept open")

    def test_http10_keep_alive(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/notes.txt", version="HTTP/1.0", host=None,
                       headers={"Connection": "keep-alive"}))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            if "keep-alive" not in r.tokens("Connection"):
                # Not honouring keep-alive is allowed; then it must close.
                self.assertTrue(c.closed_within(3))
                return
            c.send(req("GET", "/index.html", version="HTTP/1.0", host=None))
            r2 = c.read_response()
            self.assertEqual(r2.body, INDEX_HTML)
            self.assertTrue(c.closed_within(3))

    def test_connection_close(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/notes.txt", headers={"Connection": "close"}))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertTrue(r.closes())
            self.assertTrue(c.closed_within(3), "Connection: close not honoured")

    def test_pipelining(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/notes.txt") + req("GET", "/style.css")
                   + req("GET", "/index.html", headers={"Connection": "close"}))
            bodies = [c.read_response().body for _ in range(3)]
            self.assertEqual(bodies, [b"notes\n", b"body { color: red }\n",
                                      INDEX_HTML])
            self.assertEqual(c.read_until_close(), b"")

    def test_pipelining_mixed(self):
        # Big (sendfile) and small bodies, a range and a HEAD, in order.
        with Conn(self.port) as c:
            c.send(req("GET", "/big.bin") + req("GET", "/notes.txt")
                   + req("GET", "/big.bin", headers={"Range": "bytes=1000-"})
                   + req("HEAD", "/big.bin")
                   + req("GET", "/notes.txt", headers={"Connection": "close"}))
            r = c.read_response()
            self.assertTrue(r.body == BIG, "1st: big body differs")
            self.assertEqual(c.read_response().body, b"notes\n")
            r = c.read_response()
            self.assertEqual(r.status, 206)
            self.assertTrue(r.body == BIG[1000:], "3rd: range body differs")
            r = c.read_response(head=True)
            self.assertEqual(int(r.header("Content-Length")), len(BIG))
            self.assertEqual(c.read_response().body, b"notes\n")
            self.assertEqual(c.read_until_close(), b"")

    def test_pipelining_many(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/notes.txt") * 60
                   + req("GET", "/notes.txt", headers={"Connection": "close"}))
            for i in range(61):
                self.assertEqual(c.read_response().body, b"notes\n", "response %d" % i)
            self.assertEqual(c.read_until_close(), b"")

    def test_byte_at_a_time(self):
        data = req("GET", "/notes.txt", headers={"User-Agent": "slow"})
        with Conn(self.port) as c:
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for i in range(len(data)):
                c.send(data[i:i + 1])
                time.sleep(0.003)
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, b"notes\n")

    # ---- conditional requests

    def test_if_none_match(self):
        etag = get(self.port, "/notes.txt").header("ETag")
        with Conn(self.port) as c:
            c.send(req("GET", "/notes.txt", headers={"If-None-Match": etag})
                   + req("GET", "/notes.txt", headers={"Connection": "close"}))
            r = c.read_response()
            self.assertEqual(r.status, 304)
            self.assertEqual(r.body, b"")
            self.assertEqual(r.header("ETag"), etag)
            # No body after the 304: the next response follows its head.
            self.assertTrue(c.buf.startswith(b"HTTP/1.1") or c.buf == b"",
                            "bytes after the 304 head: %r" % c.buf[:60])
            r2 = c.read_response()
            self.assertEqual(r2.status, 200)

    def test_if_none_match_other(self):
        r = get(self.port, "/notes.txt", headers={"If-None-Match": '"nope"'})
        self.assertEqual(r.status, 200)
        r = get(self.port, "/notes.txt", headers={"If-None-Match": "*"})
        self.assertEqual(r.status, 304)

    def test_if_modified_since(self):
        lm = get(self.port, "/fixed.txt").header("Last-Modified")
        r = get(self.port, "/fixed.txt", headers={"If-Modified-Since": lm})
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        older = email.utils.formatdate(FIXED_MTIME - 3600, usegmt=True)
        r = get(self.port, "/fixed.txt", headers={"If-Modified-Since": older})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, FIXED)

    def test_if_none_match_beats_if_modified_since(self):
        # RFC 9110 13.2.2: with If-None-Match, If-Modified-Since is ignored.
        lm = get(self.port, "/fixed.txt").header("Last-Modified")
        r = get(self.port, "/fixed.txt",
                headers={"If-None-Match": '"stale"', "If-Modified-Since": lm})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, FIXED)

    # ---- ranges

    def test_range(self):
        r = get(self.port, "/fixed.txt", headers={"Range": "bytes=0-4"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, FIXED[:5])
        self.assertEqual(r.header("Content-Range"), "bytes 0-4/%d" % len(FIXED))
        self.assertEqual(int(r.header("Content-Length")), 5)

    def test_range_suffix_and_open(self):
        r = get(self.port, "/fixed.txt", headers={"Range": "bytes=-3"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, FIXED[-3:])
        self.assertEqual(r.header("Content-Range"),
                         "bytes %d-%d/%d" % (len(FIXED) - 3, len(FIXED) - 1, len(FIXED)))
        r = get(self.port, "/fixed.txt", headers={"Range": "bytes=15-"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, FIXED[15:])

    def test_range_unsatisfiable(self):
        r = get(self.port, "/fixed.txt", headers={"Range": "bytes=100-200"})
        self.assertEqual(r.status, 416)
        self.assertEqual(r.header("Content-Range"), "bytes */%d" % len(FIXED))

    def test_range_on_big_file(self):
        r = get(self.port, "/big.bin", headers={"Range": "bytes=50000-60000"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, BIG[50000:60001])

    def test_if_range(self):
        etag = get(self.port, "/fixed.txt").header("ETag")
        r = get(self.port, "/fixed.txt",
                headers={"Range": "bytes=0-4", "If-Range": etag})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, FIXED[:5])
        r = get(self.port, "/fixed.txt",
                headers={"Range": "bytes=0-4", "If-Range": '"stale"'})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, FIXED)

    # ---- gzip_static, sendfile

    def test_gzip_static(self):
        with open(self.srv.path("a.txt.gz"), "rb") as f:
            gz = f.read()
        r = get(self.port, "/a.txt", headers={"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        self.assertIn("accept-encoding", r.tokens("Vary"))
        self.assertEqual(r.body, gz)
        self.assertEqual(gzip.decompress(r.body), PLAIN)
        self.assertEqual(media_type(r), "text/plain")

        r = get(self.port, "/a.txt")
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Content-Encoding"))
        self.assertEqual(r.body, PLAIN)

        r = get(self.port, "/a.txt", headers={"Accept-Encoding": "gzip;q=0"})
        self.assertEqual(r.body, PLAIN, "gzip;q=0 means the client refuses gzip")

    def test_big_file_exact(self):
        r = get(self.port, "/big.bin")
        self.assertEqual(r.status, 200)
        self.assertEqual(int(r.header("Content-Length")), len(BIG))
        self.assertEqual(len(r.body), len(BIG))
        self.assertTrue(r.body == BIG, "100 KiB body differs")

    def test_changed_file_served_fresh(self):
        # A file that is replaced or deleted is served fresh soon after
        # (worker/handlers/file_cache.h promises within a second; allow 3 s).
        name = "/fresh-%d.txt" % os.getpid()
        self.srv.write_file(name, "old\n")
        self.assertEqual(get(self.port, name).body, b"old\n")
        self.srv.write_file(name, "new and longer\n")
        self.assertTrue(wait_until(lambda: get(self.port, name).body
                                   == b"new and longer\n", timeout=3, interval=0.1),
                        "changed file still served stale after 3 s")
        os.unlink(self.srv.path(name))
        self.assertTrue(wait_until(lambda: get(self.port, name).status == 404,
                                   timeout=3, interval=0.1),
                        "deleted file still served after 3 s")

    # ---- access log

    def test_access_log(self):
        name = "logged-%d.txt" % os.getpid()
        self.srv.write_file(name, "log me\n")
        r = get(self.port, "/" + name,
                headers={"Referer": "ref", "User-Agent": "agent"})
        self.assertEqual(r.status, 200)
        pat = re.compile(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d '
                         r'[+-]\d{4}\] "GET /%s HTTP/1\.1" 200 \d+ "ref" "agent"$'
                         % re.escape(name), re.M)

        def found():
            return pat.search(self.srv.read(self.srv.access_log))
        self.assertTrue(wait_until(found, timeout=3),
                        "no combined-format line for /%s in:\n%s"
                        % (name, self.srv.read(self.srv.access_log)[-2000:]))


class HttpOptionsTest(SharedServerTestCase):
    """The other side of the file-serving settings: autoindex on, gzip_static
    off, a custom index list, access_log off."""

    server_kwargs = {"workers": 1, "autoindex": True, "gzip_static": False,
                     "index": ["index.htm", "index.html"], "access_log": "off"}

    @classmethod
    def populate(cls, srv):
        srv.write_file("list/visible.txt", "v\n")
        srv.write_file("list/.hidden.txt", "h\n")
        srv.write_file("list/inner/deep.txt", "d\n")
        srv.write_file("htm/index.htm", "<p>htm index</p>\n")
        srv.write_file("htm/index.html", "<p>html index</p>\n")
        srv.write_file("a.txt", PLAIN)
        srv.write_file("a.txt.gz", gzip.compress(PLAIN))
        # "off" is written unquoted, the way a user writes it.
        text = open(srv.conf_path).read()
        text = text.replace('access_log: "off"', "access_log: off")
        srv.write_config(text)

    def test_autoindex(self):
        r = get(self.port, "/list/")
        self.assertEqual(r.status, 200)
        self.assertEqual(media_type(r), "text/html")
        self.assertIn(b"visible.txt", r.body)
        self.assertIn(b"inner", r.body)
        self.assertNotIn(b".hidden", r.body, "autoindex lists a dotfile")

    def test_index_order(self):
        r = get(self.port, "/htm/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"<p>htm index</p>\n")
        r = get(self.port, "/")
        self.assertEqual(r.body, INDEX_HTML)

    def test_gzip_static_off(self):
        r = get(self.port, "/a.txt", headers={"Accept-Encoding": "gzip"})
        self.assertEqual(r.status, 200)
        self.assertIsNone(r.header("Content-Encoding"))
        self.assertEqual(r.body, PLAIN)

    def test_access_log_off(self):
        self.assertEqual(get(self.port, "/a.txt").status, 200)
        time.sleep(1.2)
        names = os.listdir(self.srv.dir)
        self.assertNotIn("off", names, "access_log: off wrote a file named off")
        self.assertNotIn("access.log", names)


if __name__ == "__main__":
    run_main()
