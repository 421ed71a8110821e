#!/usr/bin/env python3
"""Hardening found by outside testing (issue 15): the Server token
(server_tokens), no Content-Encoding on a 304 (RFC 9110 15.4.5), a client
that aborts a download logged at info, and the access log on a full disk
(lines dropped whole, one error-log line, writing resumes)."""

import os
import re
import socket
import struct
import subprocess
import time
import unittest

import harness
from harness import Conn, get

LINE = re.compile(rb'^\S+ - - \[[^\]]+\] "[^"]*" \d{3} \d+ "[^"]*" "[^"]*"$')


class TokensTest(harness.ServerTestCase):
    server_kwargs = {"workers": 1}

    def test_default_is_the_bare_name(self):
        self.assertEqual(get(self.port, "/index.html").header("Server"), "drover")

    def test_server_tokens_adds_the_version(self):
        srv = self.make_server(server_tokens=True)
        srv.start()
        server = get(srv.port, "/index.html").header("Server")
        self.assertRegex(server, r"^drover/\d+\.\d+")
        self.assertEqual(get(srv.port, "/missing").header("Server"), server)


class NotModifiedTest(harness.ServerTestCase):
    server_kwargs = {"workers": 1, "gzip_static": True}

    def test_304_of_a_precompressed_variant_has_no_content_encoding(self):
        body = b"x" * 20000
        self.srv.write_file("app.js", body)
        self.srv.write_file("app.js.gz", b"\x1f\x8b" + b"z" * 500)
        r = get(self.port, "/app.js", headers={"Accept-Encoding": "gzip"})
        self.assertEqual((r.status, r.header("Content-Encoding")), (200, "gzip"))
        etag = r.header("ETag")
        r = get(self.port, "/app.js", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        self.assertEqual(r.status, 304)
        self.assertFalse(r.has("Content-Encoding"), r.raw_head)
        self.assertEqual(r.header("ETag"), etag)
        self.assertEqual(r.header("Vary"), "Accept-Encoding")


class AbortTest(harness.ServerTestCase):
    server_kwargs = {"workers": 1, "log_level": "warn"}

    def test_aborted_download_is_not_an_error(self):
        self.srv.write_file("big.bin", b"\0" * (16 << 20))
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(5)
            s.connect(("127.0.0.1", self.port))
            s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: h\r\n\r\n")
            s.recv(1000)
            time.sleep(0.2)  # the server is blocked on a full window
            # RST: the next sendfile() gets ECONNRESET or EPIPE.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        time.sleep(0.5)
        self.assertEqual(get(self.port, "/index.html").status, 200)
        # Only the start's own warning, when the tests run as root (user: root).
        logged = [ln for ln in self.srv.log_text().splitlines()
                  if not ln.endswith("user: root: workers run as root")]
        self.assertEqual(logged, [], "an aborted download was logged")


class FullDiskTest(harness.ServerTestCase):
    """The access log on a 64 KiB tmpfs, filled up, then freed."""
    start_server = False
    server_kwargs = {"workers": 1}

    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            print("SKIP: mounting a tmpfs needs root")
            self.skipTest("mounting a tmpfs needs root")
        self.fs = os.path.join(self.srv.dir, "logfs")
        os.mkdir(self.fs)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", self.fs],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("SKIP: cannot mount a tmpfs: %s" % r.stderr.strip())
            self.skipTest("cannot mount a tmpfs: %s" % r.stderr.strip())
        self.addCleanup(subprocess.run, ["umount", "-l", self.fs], capture_output=True)
        self.srv.conf["access_log"] = os.path.join(self.fs, "access.log")
        self.srv.write_config()
        self.srv.start()

    def access_lines(self):
        with open(self.srv.conf["access_log"], "rb") as f:
            data = f.read()
        if data:
            self.assertTrue(data.endswith(b"\n"), "torn last line: %r" % data[-200:])
        lines = data.split(b"\n")[:-1]
        for ln in lines:
            self.assertRegex(ln, LINE)
        return lines

    def fill(self):
        """Fills the file system; returns the filler's path."""
        path = os.path.join(self.fs, "filler")
        with open(path, "wb", buffering=0) as f:
            for _ in range(1000):
                try:
                    f.write(b"f" * 512)
                except OSError:
                    break
        return path

    def requests(self, n, tag):
        with Conn(self.port) as c:
            for i in range(n):
                c.send(harness.req("GET", "/index.html?%s-%d" % (tag, i)))
                self.assertEqual(c.read_response().status, 200)

    def flushed(self):
        time.sleep(1.3)  # the worker writes its buffer at least once a second

    def test_full_disk(self):
        self.requests(5, "before")
        self.flushed()
        self.assertIn(b"before-4", self.access_lines()[-1])
        filler = self.fill()

        for k in range(3):
            self.requests(100, "full%d" % k)  # ~10 KB of lines each
            self.flushed()
        lines = self.access_lines()  # whole lines only, whatever fitted
        log = self.srv.log_text()
        about = [ln for ln in log.splitlines() if "access log" in ln]
        self.assertEqual(len(about), 1, log)
        self.assertIn("No space left on device", about[0])
        self.assertEqual(get(self.port, "/index.html").status, 200)

        os.unlink(filler)
        self.requests(5, "after")
        self.flushed()
        after = self.access_lines()
        self.assertEqual(len(after), len(lines) + 5 + 1, "lines did not resume")  # +1: the GET above
        self.assertIn(b"after-4", after[-1])
        self.assertIn("writing again", self.srv.log_text())


if __name__ == "__main__":
    harness.run_main()
