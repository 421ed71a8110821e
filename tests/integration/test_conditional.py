#!/usr/bin/env python3
"""Conditional requests, Cache-Control and byte ranges over real sockets
(issue 4): validators on every file response, RFC 9110 13.2.2 precedence,
single and multipart ranges (sent from memory and with sendfile), and the
limits that keep a range request from costing more than the whole file."""

import os
import re
import time
import unittest

import harness
from harness import Conn, get, req

MTIME = 1000000000  # Sun, 09 Sep 2001 01:46:40 GMT
MTIME_HTTP = "Sun, 09 Sep 2001 01:46:40 GMT"
SMALL = b"".join(b"%07d\n" % i for i in range(500))      # 4000 bytes: in memory
BIG = b"".join(b"%07d\n" % i for i in range(20000))      # 160000 bytes: sendfile
STRONG_ETAG = re.compile(r'^"[0-9a-f]+-[0-9a-f]+"$')


def yaml_value(v):
    if isinstance(v, dict):
        return "{%s}" % ", ".join("%s: %s" % (k, yaml_value(x)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return "[%s]" % ", ".join(yaml_value(x) for x in v)
    return harness.yaml_scalar(v)


def conf_text(conf):
    """harness.yaml_dump, with mappings (cache_control, error_pages ...)."""
    return "".join("%s: %s\n" % (k, yaml_value(v)) for k, v in conf.items() if v is not None)


def multipart(resp):
    """The parts of a multipart/byteranges body: [(content_range, type, bytes)]."""
    ctype = resp.header("Content-Type")
    m = re.match(r"multipart/byteranges; boundary=(\S+)$", ctype or "")
    if not m:
        raise AssertionError("not multipart/byteranges: %r" % ctype)
    delim = b"\r\n--" + m.group(1).encode()
    body = resp.body
    if not body.startswith(delim):
        raise AssertionError("body does not start with the boundary: %r" % body[:80])
    parts = []
    pos = 0
    for _ in range(100):
        assert body[pos:pos + len(delim)] == delim, body[pos:pos + 80]
        pos += len(delim)
        if body[pos:pos + 4] == b"--\r\n":
            assert pos + 4 == len(body), "bytes after the closing boundary"
            return parts
        assert body[pos:pos + 2] == b"\r\n"
        end = body.index(b"\r\n\r\n", pos)
        head = body[pos + 2:end].decode("latin-1").split("\r\n")
        fields = dict((h.split(":", 1)[0].lower(), h.split(":", 1)[1].strip()) for h in head)
        cr = re.match(r"bytes (\d+)-(\d+)/(\d+)$", fields["content-range"])
        a, b = int(cr.group(1)), int(cr.group(2))
        data = body[end + 4:end + 4 + b - a + 1]
        parts.append(((a, b, int(cr.group(3))), fields.get("content-type"), data))
        pos = end + 4 + b - a + 1
    raise AssertionError("too many parts")


class CondTest(harness.SharedServerTestCase):
    server_kwargs = {"workers": 1}

    @classmethod
    def populate(cls, srv):
        srv.conf["cache_control"] = {"default": "max-age=60", "html": "no-cache",
                                     "css": "public, max-age=86400"}
        srv.write_config(conf_text(srv.conf))
        srv.write_file("small.txt", SMALL, mtime=MTIME)
        srv.write_file("big.txt", BIG, mtime=MTIME)
        srv.write_file("style.css", b"body{}\n", mtime=MTIME)
        srv.write_file("page.html", b"<p>page</p>\n", mtime=MTIME)
        srv.write_file("empty.txt", b"", mtime=MTIME)
        srv.write_file("tiny.txt", SMALL[:200], mtime=MTIME)
        srv.write_file("noext", b"plain\n", mtime=MTIME)

    def etag(self, path):
        return get(self.port, path).header("ETag")

    # -- validators and Cache-Control

    def test_validators_on_every_file_response(self):
        etag = self.etag("/small.txt")
        self.assertRegex(etag, STRONG_ETAG)
        for method, headers, status in (
                ("GET", {}, 200), ("HEAD", {}, 200),
                ("GET", {"Range": "bytes=0-9"}, 206),
                ("GET", {"Range": "bytes=0-9,1000-1009"}, 206),
                ("GET", {"If-None-Match": etag}, 304),
                ("HEAD", {"If-None-Match": etag}, 304)):
            r = get(self.port, "/small.txt", headers, method=method)
            self.assertEqual(r.status, status, (method, headers))
            self.assertEqual(r.header("ETag"), etag, (method, headers))
            self.assertEqual(r.header("Last-Modified"), MTIME_HTTP, (method, headers))
            self.assertEqual(r.header("Cache-Control"), "max-age=60", (method, headers))
            self.assertEqual(r.header("Accept-Ranges"), "bytes")
        # the tag changes with the file
        self.assertNotEqual(self.etag("/big.txt"), etag)
        self.assertRegex(self.etag("/empty.txt"), STRONG_ETAG)

    def test_cache_control_per_extension(self):
        self.assertEqual(get(self.port, "/page.html").header("Cache-Control"), "no-cache")
        self.assertEqual(get(self.port, "/style.css").header("Cache-Control"),
                         "public, max-age=86400")
        self.assertEqual(get(self.port, "/noext").header("Cache-Control"), "max-age=60")
        self.assertEqual(get(self.port, "/").header("Cache-Control"), "no-cache")  # index.html
        # error responses are not the resource: no Cache-Control, no validators
        r = get(self.port, "/missing.html")
        self.assertEqual(r.status, 404)
        self.assertFalse(r.has("Cache-Control") or r.has("ETag") or r.has("Last-Modified"))

    # -- preconditions

    def test_if_none_match(self):
        etag = self.etag("/small.txt")
        for inm in (etag, '"x", ' + etag, "W/" + etag, "*", '"a",W/%s , "b"' % etag):
            r = get(self.port, "/small.txt", {"If-None-Match": inm})
            self.assertEqual((r.status, r.body), (304, b""), inm)
            self.assertFalse(r.has("Content-Length"), inm)
        for inm in ('"x"', etag.upper() if etag != etag.upper() else '"X"', etag[1:-1], ""):
            r = get(self.port, "/small.txt", {"If-None-Match": inm})
            self.assertEqual(r.status, 200, inm)
            self.assertEqual(r.body, SMALL)

    def test_if_none_match_on_two_lines(self):
        etag = self.etag("/small.txt")
        r = get(self.port, "/small.txt", [("If-None-Match", '"x"'), ("If-None-Match", etag)])
        self.assertEqual(r.status, 304)

    def test_if_modified_since(self):
        for ims, status in ((MTIME_HTTP, 304), ("Sun, 09 Sep 2001 01:46:41 GMT", 304),
                            ("Sun, 09 Sep 2001 01:46:39 GMT", 200),
                            ("Sunday, 09-Sep-01 01:46:40 GMT", 304),
                            ("Sun Sep  9 01:46:40 2001", 304),
                            ("not a date", 200), ("Fri, 01 Jan 2100 00:00:00 GMT", 200)):
            r = get(self.port, "/small.txt", {"If-Modified-Since": ims})
            self.assertEqual(r.status, status, ims)
            self.assertEqual(r.body, b"" if status == 304 else SMALL)

    def test_if_none_match_beats_if_modified_since(self):
        etag = self.etag("/small.txt")
        r = get(self.port, "/small.txt", {"If-None-Match": '"x"', "If-Modified-Since": MTIME_HTTP})
        self.assertEqual(r.status, 200)
        r = get(self.port, "/small.txt", {"If-None-Match": etag,
                                          "If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
        self.assertEqual(r.status, 304)

    def test_if_match_and_if_unmodified_since(self):
        etag = self.etag("/small.txt")
        for headers, status in (({"If-Match": etag}, 200), ({"If-Match": "*"}, 200),
                                ({"If-Match": '"x", ' + etag}, 200),
                                ({"If-Match": '"x"'}, 412), ({"If-Match": "W/" + etag}, 412),
                                ({"If-Unmodified-Since": MTIME_HTTP}, 200),
                                ({"If-Unmodified-Since": "Sun, 09 Sep 2001 01:46:39 GMT"}, 412),
                                ({"If-Unmodified-Since": "bogus"}, 200),
                                # If-Match present: If-Unmodified-Since is ignored
                                ({"If-Match": etag,
                                  "If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"}, 200),
                                # If-Match before If-None-Match
                                ({"If-Match": '"x"', "If-None-Match": etag}, 412),
                                ({"If-Match": etag, "If-None-Match": etag}, 304)):
            r = get(self.port, "/small.txt", headers)
            self.assertEqual(r.status, status, headers)
            if status == 412:
                self.assertNotEqual(r.body, SMALL)
        r = get(self.port, "/small.txt", {"If-Match": '"x"'}, method="HEAD")
        self.assertEqual(r.status, 412)

    def test_conditional_keeps_connection(self):
        etag = self.etag("/small.txt")
        with Conn(self.port) as c:
            c.send(req("GET", "/small.txt", headers={"If-None-Match": etag}))
            self.assertEqual(c.read_response().status, 304)
            c.send(req("GET", "/small.txt", headers={"If-Match": '"nope"'}))
            self.assertEqual(c.read_response().status, 412)
            c.send(req("GET", "/small.txt"))
            self.assertEqual(c.read_response().body, SMALL)

    # -- single ranges

    def test_single_ranges(self):
        for path, data in (("/small.txt", SMALL), ("/big.txt", BIG)):
            n = len(data)
            for spec, a, b in (("0-9", 0, 9), ("500-", 500, n - 1), ("-500", n - 500, n - 1),
                               ("10-%d" % (n * 2), 10, n - 1), ("-%d" % (n * 2), 0, n - 1)):
                r = get(self.port, path, {"Range": "bytes=" + spec})
                self.assertEqual(r.status, 206, (path, spec))
                self.assertEqual(r.header("Content-Range"), "bytes %d-%d/%d" % (a, b, n))
                self.assertEqual(int(r.header("Content-Length")), b - a + 1)
                self.assertEqual(r.body, data[a:b + 1], (path, spec))

    def test_unsatisfiable(self):
        for spec in ("4000-", "5000-6000", "-0", "4000-4001,9000-"):
            r = get(self.port, "/small.txt", {"Range": "bytes=" + spec})
            self.assertEqual(r.status, 416, spec)
            self.assertEqual(r.header("Content-Range"), "bytes */4000")
        r = get(self.port, "/empty.txt", {"Range": "bytes=0-"})
        self.assertEqual((r.status, r.header("Content-Range")), (416, "bytes */0"))

    def test_invalid_range_ignored(self):
        for v in ("bytes=5-2", "items=0-1", "bytes=x", "bytes=0-1;2-3", "bytes="):
            r = get(self.port, "/small.txt", {"Range": v})
            self.assertEqual((r.status, r.body), (200, SMALL), v)

    def test_two_range_fields_ignored(self):
        r = get(self.port, "/small.txt", [("Range", "bytes=0-9"), ("Range", "bytes=20-29")])
        self.assertEqual((r.status, r.body), (200, SMALL))

    def test_range_ignored_for_head(self):
        r = get(self.port, "/small.txt", {"Range": "bytes=0-9"}, method="HEAD")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Length"), "4000")

    def test_if_range(self):
        etag = self.etag("/small.txt")
        for if_range, status in ((etag, 206), ('"other"', 200), ("W/" + etag, 200),
                                 (MTIME_HTTP, 206), ("Sun, 09 Sep 2001 01:46:41 GMT", 200),
                                 ("garbage", 200)):
            r = get(self.port, "/small.txt", {"Range": "bytes=0-9", "If-Range": if_range})
            self.assertEqual(r.status, status, if_range)
            self.assertEqual(r.body, SMALL[:10] if status == 206 else SMALL)
        # If-Range without Range: ignored
        r = get(self.port, "/small.txt", {"If-Range": '"other"'})
        self.assertEqual(r.status, 200)

    # -- several ranges

    def check_multipart(self, path, data, spec, want):
        r = get(self.port, path, {"Range": "bytes=" + spec})
        self.assertEqual(r.status, 206, spec)
        self.assertEqual(int(r.header("Content-Length")), len(r.body))
        parts = multipart(r)
        self.assertEqual([p[0][:2] for p in parts], want, spec)
        for (a, b, n), ctype, body in parts:
            self.assertEqual(n, len(data))
            self.assertEqual(ctype, "text/plain; charset=utf-8")
            self.assertEqual(body, data[a:b + 1])
        self.assertLessEqual(len(r.body), len(data))
        return r

    def test_multipart_from_memory(self):
        self.check_multipart("/small.txt", SMALL, "0-9,1000-1099", [(0, 9), (1000, 1099)])
        self.check_multipart("/small.txt", SMALL, "-100, 0-9 ,2000-2009",
                             [(3900, 3999), (0, 9), (2000, 2009)])

    def test_multipart_with_sendfile(self):
        r = self.check_multipart("/big.txt", BIG, "100000-100099,0-9,159990-",
                                 [(100000, 100099), (0, 9), (159990, 159999)])
        self.assertEqual(r.header("ETag"), self.etag("/big.txt"))
        # sixteen parts, the most allowed
        spec = ",".join("%d-%d" % (i * 9000, i * 9000 + 99) for i in range(16))
        self.check_multipart("/big.txt", BIG, spec,
                             [(i * 9000, i * 9000 + 99) for i in range(16)])

    def test_overlapping_ranges_coalesced(self):
        # overlapping and nearly touching ranges become one part
        r = get(self.port, "/big.txt", {"Range": "bytes=100-199,150-299,320-399"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.header("Content-Range"), "bytes 100-399/160000")
        self.assertEqual(r.body, BIG[100:400])
        self.check_multipart("/big.txt", BIG, "5000-5099,0-99,50-149",
                             [(5000, 5099), (0, 149)])

    def test_range_abuse_gets_whole_file(self):
        # more than sixteen ranges, many tiny ones, more bytes than the
        # file, or parts that would cost more than the file: 200, whole
        cases = [",".join("%d-%d" % (i * 1000, i * 1000) for i in range(17)),
                 ",".join("%d-%d" % (i, i) for i in range(200)),
                 "0-,0-", "0-99999,50000-159999", "-100000,-100000"]
        for spec in cases:
            r = get(self.port, "/big.txt", {"Range": "bytes=" + spec})
            self.assertEqual(r.status, 200, spec[:60])
            self.assertEqual(len(r.body), len(BIG))
        # 4000-byte file, two tiny far-apart ranges: parts fit, 206
        self.assertEqual(get(self.port, "/small.txt", {"Range": "bytes=0-0,3999-3999"}).status,
                         206)
        # two tiny ranges of a 200-byte file: the part headers alone cost
        # more than the file
        r = get(self.port, "/tiny.txt", {"Range": "bytes=0-0,150-150"})
        self.assertEqual((r.status, r.body), (200, SMALL[:200]))

    def test_multipart_keepalive_and_pipelining(self):
        with Conn(self.port) as c:
            c.send(req("GET", "/big.txt", headers={"Range": "bytes=0-9,100000-100009"}) +
                   req("GET", "/small.txt", headers={"Range": "bytes=0-9,2000-2009"}) +
                   req("GET", "/big.txt", headers={"Range": "bytes=-5"}) +
                   req("GET", "/small.txt"))
            r1 = c.read_response()
            self.assertEqual([p[2] for p in multipart(r1)], [BIG[0:10], BIG[100000:100010]])
            r2 = c.read_response()
            self.assertEqual([p[2] for p in multipart(r2)], [SMALL[0:10], SMALL[2000:2010]])
            r3 = c.read_response()
            self.assertEqual((r3.status, r3.body), (206, BIG[-5:]))
            r4 = c.read_response()
            self.assertEqual((r4.status, r4.body), (200, SMALL))

    def test_access_log_counts_multipart_body(self):
        r = get(self.port, "/big.txt", {"Range": "bytes=0-9,100000-100009",
                                        "User-Agent": "multipart-log-check"})
        want = len(r.body)
        line = harness.wait_until(
            lambda: [ln for ln in self.srv.read(self.srv.access_log).splitlines()
                     if "multipart-log-check" in ln], timeout=3.0)
        self.assertTrue(line, "no access log line")
        self.assertIn('" 206 %d ' % want, line[-1])


if __name__ == "__main__":
    harness.run_main()
