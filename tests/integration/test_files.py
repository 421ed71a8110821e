#!/usr/bin/env python3
"""Precompressed files (file.gz and file.br), directory listings, custom
error pages and configured MIME types, over real sockets (issue 4)."""

import gzip
import os
import re
import unittest

import harness
from harness import Conn, get, req
from test_conditional import conf_text, multipart

TEXT = b"".join(b"line %05d of a text that compresses well\n" % i for i in range(400))
GZ = gzip.compress(TEXT, mtime=0)
BR = b"BR-ENCODED:" + GZ[::-1]  # not real brotli: only its bytes are compared
BIG_ERROR = b"<!doctype html><p>big error page</p>" + b"x" * 20000 + b"\n"


class PrecompressedTest(harness.SharedServerTestCase):
    server_kwargs = {"workers": 1}

    @classmethod
    def populate(cls, srv):
        srv.write_file("t.txt", TEXT)
        srv.write_file("t.txt.gz", GZ)
        srv.write_file("t.txt.br", BR)
        srv.write_file("onlygz.js", b"var a = 1;\n" * 100)
        srv.write_file("onlygz.js.gz", gzip.compress(b"var a = 1;\n" * 100, mtime=0))
        srv.write_file("plain.txt", b"no variants\n")
        srv.write_file("d/index.html", b"<p>dir index</p>\n")
        srv.write_file("d/index.html.gz", gzip.compress(b"<p>dir index</p>\n", mtime=0))

    def fetch(self, ae, path="/t.txt", extra=None, method="GET"):
        h = {} if ae is None else {"Accept-Encoding": ae}
        h.update(extra or {})
        return get(self.port, path, h, method=method)

    def test_negotiation(self):
        for ae, want in ((None, None), ("", None), ("gzip", "gzip"), ("br", "br"),
                         ("gzip, deflate, br, zstd", "br"), ("gzip, deflate", "gzip"),
                         ("br;q=0, gzip", "gzip"), ("gzip;q=0", None), ("br;q=0", None),
                         ("gzip;q=0.9, br;q=0.4", "gzip"), ("*", "br"), ("*;q=0", None),
                         ("x-gzip", "gzip"), ("identity", None), ("deflate", None),
                         ("gzip;q=0.5, identity", None), ("GZIP", "gzip")):
            r = self.fetch(ae)
            self.assertEqual(r.status, 200, ae)
            self.assertEqual(r.header("Content-Encoding"), want, ae)
            self.assertEqual(r.body, {None: TEXT, "gzip": GZ, "br": BR}[want], ae)
            self.assertEqual(r.header("Content-Type"), "text/plain; charset=utf-8")
            # every answer for a resource with variants varies
            self.assertEqual(r.header("Vary"), "Accept-Encoding", ae)

    def test_gz_only(self):
        self.assertEqual(self.fetch("br, gzip", "/onlygz.js").header("Content-Encoding"), "gzip")
        r = self.fetch("br", "/onlygz.js")
        self.assertEqual((r.header("Content-Encoding"), r.header("Vary")),
                         (None, "Accept-Encoding"))

    def test_no_variants_no_vary(self):
        r = self.fetch("gzip, br", "/plain.txt")
        self.assertFalse(r.has("Vary") or r.has("Content-Encoding"))

    def test_index_file_variant(self):
        r = self.fetch("gzip", "/d/")
        self.assertEqual((r.status, r.header("Content-Encoding")), (200, "gzip"))
        self.assertEqual(gzip.decompress(r.body), b"<p>dir index</p>\n")
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")

    def test_etag_per_encoding(self):
        tags = [self.fetch(ae).header("ETag") for ae in (None, "gzip", "br")]
        self.assertEqual(len(set(tags)), 3, tags)
        for t in tags:
            self.assertRegex(t, r'^"[0-9a-f]+-[0-9a-f]+(-gzip|-br)?"$')
        ident, gz, br = tags
        # a validator only matches the representation it came from
        self.assertEqual(self.fetch("gzip", extra={"If-None-Match": gz}).status, 304)
        self.assertEqual(self.fetch(None, extra={"If-None-Match": gz}).status, 200)
        self.assertEqual(self.fetch("br", extra={"If-None-Match": ident}).status, 200)
        r = self.fetch("br", extra={"If-None-Match": br})
        self.assertEqual((r.status, r.header("Vary"), r.header("ETag")), (304, "Accept-Encoding", br))
        # no representation metadata on a 304 (RFC 9110 15.4.5; issue 15)
        self.assertIsNone(r.header("Content-Encoding"))
        self.assertEqual(self.fetch("gzip", extra={"If-Match": ident}).status, 412)
        r = self.fetch("gzip", extra={"Range": "bytes=0-9", "If-Range": ident})
        self.assertEqual((r.status, r.body), (200, GZ))

    def test_ranges_apply_to_encoded_bytes(self):
        r = self.fetch("gzip", extra={"Range": "bytes=0-9"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("Content-Range"), "bytes 0-9/%d" % len(GZ))
        self.assertEqual((r.body, r.header("Content-Encoding")), (GZ[:10], "gzip"))
        r = self.fetch("br", extra={"Range": "bytes=-20"})
        self.assertEqual(r.header("Content-Range"),
                         "bytes %d-%d/%d" % (len(BR) - 20, len(BR) - 1, len(BR)))
        self.assertEqual(r.body, BR[-20:])
        r = self.fetch("gzip", extra={"Range": "bytes=%d-" % len(GZ)})
        self.assertEqual((r.status, r.header("Content-Range")), (416, "bytes */%d" % len(GZ)))
        self.assertEqual(r.header("Vary"), "Accept-Encoding")
        r = self.fetch(None, extra={"Range": "bytes=0-9,%d-%d" % (len(TEXT) - 10, len(TEXT) - 1)})
        self.assertEqual([p[2] for p in multipart(r)], [TEXT[:10], TEXT[-10:]])

    def test_head(self):
        r = self.fetch("gzip", method="HEAD")
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertEqual(r.header("Content-Length"), str(len(GZ)))
        self.assertEqual(r.header("Content-Encoding"), "gzip")

    def test_direct_request_for_the_gz(self):
        r = self.fetch("gzip", "/t.txt.gz")
        self.assertEqual(r.body, GZ)
        self.assertEqual(r.header("Content-Type"), "application/gzip")
        self.assertFalse(r.has("Content-Encoding"))


class GzipStaticOffTest(harness.SharedServerTestCase):
    server_kwargs = {"workers": 1, "gzip_static": False}

    @classmethod
    def populate(cls, srv):
        srv.write_file("t.txt", TEXT)
        srv.write_file("t.txt.gz", GZ)
        srv.write_file("t.txt.br", BR)

    def test_off(self):
        r = get(self.port, "/t.txt", {"Accept-Encoding": "gzip, br"})
        self.assertEqual(r.body, TEXT)
        self.assertFalse(r.has("Content-Encoding") or r.has("Vary"))


class ListingAndPagesTest(harness.SharedServerTestCase):
    server_kwargs = {"workers": 1, "autoindex": True}

    @classmethod
    def populate(cls, srv):
        srv.conf["error_pages"] = {404: "/errors/404.html", 403: "/errors/403.html",
                                   400: "/errors/400.html", 500: "/errors/missing.html",
                                   405: "/errors/big.html"}
        srv.conf["mime_types"] = {"md": "text/markdown; charset=utf-8", "html": "text/x-custom",
                                  "Drv": "application/x-drover"}
        srv.write_config(conf_text(srv.conf))
        srv.write_file("errors/404.html", b"<p>custom not found</p>\n")
        srv.write_file("errors/403.html", b"<p>custom forbidden</p>\n")
        srv.write_file("errors/400.html", b"<p>custom bad request</p>\n")
        srv.write_file("errors/big.html", BIG_ERROR)
        srv.write_file("list/b.txt", b"bb\n", mtime=1000000000)
        srv.write_file("list/a.txt", b"a\n", mtime=1000000000)
        srv.write_file("list/C.txt", b"c" * 1234)
        srv.write_file("list/sub/x.txt", b"x")
        srv.write_file("list/.hidden", b"secret")
        srv.write_file("list/.git/config", b"secret")
        srv.write_file('list/<i>&"q\'.txt', b"escaped")
        srv.write_file("list/sp ace.txt", b"s")
        srv.write_file("list/caf\u00e9.txt", b"utf8")
        srv.write_file("noindex/sub/.keep", b"")
        srv.write_file("doc.md", b"# title\n")
        srv.write_file("page.html", b"<p>x</p>\n")
        srv.write_file("thing.DRV", b"drv\n")
        srv.write_file("thing.png", b"png\n")
        os.mkfifo(srv.path("fifo"))

    def test_listing(self):
        r = get(self.port, "/list/")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        body = r.body.decode("utf-8")
        self.assertIn("Index of /list/", body)
        hrefs = re.findall(r'<a href="([^"]*)">', body)
        self.assertEqual(hrefs, ["../", "%3Ci%3E%26%22q%27.txt", "C.txt", "a.txt", "b.txt",
                                 "caf%C3%A9.txt", "sp%20ace.txt", "sub/"])
        self.assertIn("&lt;i&gt;&amp;&quot;q&#39;.txt</a>", body)
        self.assertNotIn("<i>", body)
        self.assertNotIn("hidden", body)
        self.assertNotIn(".git", body)
        self.assertRegex(body, r'a\.txt</a>\s+Sun, 09 Sep 2001 01:46:40 GMT\s+2\n')
        self.assertRegex(body, r'C\.txt</a>\s+\S.*GMT\s+1234\n')
        self.assertRegex(body, r'sub/</a>\s+\S.*GMT\s+-\n')
        # HEAD: the same length, no body
        h = get(self.port, "/list/", method="HEAD")
        self.assertEqual((h.status, h.body), (200, b""))
        self.assertEqual(h.header("Content-Length"), str(len(r.body)))
        # the links work
        self.assertEqual(get(self.port, "/list/%3Ci%3E%26%22q%27.txt").body, b"escaped")

    def test_listing_without_slash_redirects(self):
        r = get(self.port, "/list")
        self.assertEqual((r.status, r.header("Location")), (301, "/list/"))

    def test_dotfiles_not_listed_nor_served(self):
        self.assertEqual(get(self.port, "/list/.hidden").status, 404)
        self.assertEqual(get(self.port, "/list/.git/").status, 404)

    def test_custom_error_pages(self):
        r = get(self.port, "/nothing-here")
        self.assertEqual((r.status, r.body), (404, b"<p>custom not found</p>\n"))
        self.assertEqual(r.header("Content-Type"), "text/x-custom")  # mime_types applies
        self.assertFalse(r.has("ETag") or r.has("Last-Modified") or r.has("Accept-Ranges"))
        h = get(self.port, "/nothing-here", method="HEAD")
        self.assertEqual((h.status, h.body), (404, b""))
        self.assertEqual(h.header("Content-Length"), str(len(r.body)))
        # a page larger than the write buffer goes out with sendfile
        r = get(self.port, "/x", method="PUT")
        self.assertEqual((r.status, r.body), (405, BIG_ERROR))
        self.assertEqual(r.header("Allow"), "GET, HEAD, OPTIONS")
        # a malformed request gets its configured page too, and is closed
        with Conn(self.port) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n")
            r = c.read_response()
            self.assertEqual((r.status, r.body), (400, b"<p>custom bad request</p>\n"))
            self.assertTrue(c.closed_within(2.0))
        # not configured: built-in
        r = get(self.port, "/", method="BREW")
        self.assertEqual(r.status, 501)
        self.assertIn(b"501", r.body)

    def test_forbidden_page(self):
        # not a regular file: 403, with the configured page
        r = get(self.port, "/fifo")
        self.assertEqual((r.status, r.body), (403, b"<p>custom forbidden</p>\n"))

    def test_mime_types(self):
        self.assertEqual(get(self.port, "/doc.md").header("Content-Type"),
                         "text/markdown; charset=utf-8")
        self.assertEqual(get(self.port, "/page.html").header("Content-Type"), "text/x-custom")
        self.assertEqual(get(self.port, "/thing.DRV").header("Content-Type"), "application/x-drover")
        self.assertEqual(get(self.port, "/thing.png").header("Content-Type"), "image/png")
        self.assertEqual(get(self.port, "/list/C.txt").header("Content-Type"),
                         "text/plain; charset=utf-8")

    def test_keepalive_after_pages(self):
        with Conn(self.port) as c:
            for path, status in (("/missing", 404), ("/list/", 200), ("/x", 404), ("/doc.md", 200)):
                c.send(req("GET", path))
                self.assertEqual(c.read_response().status, status, path)


class ErrorPageMissingTest(harness.ServerTestCase):
    server_kwargs = {"workers": 1}

    def setUp(self):
        self.start_server = False
        super().setUp()
        self.srv.conf["error_pages"] = {404: "/nope.html", 500: "/nope.html"}
        self.srv.write_config(conf_text(self.srv.conf))
        self.srv.start()

    def test_builtin_page_when_configured_one_is_missing(self):
        r = get(self.port, "/missing")
        self.assertEqual(r.status, 404)
        self.assertIn(b"404 Not Found", r.body)
        self.assertEqual(get(self.port, "/").status, 200)


if __name__ == "__main__":
    harness.run_main()
