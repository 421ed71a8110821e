#!/usr/bin/env python3
"""Compression on the fly, once per file, in a cache all workers share
(issue 22, README "Compression"): negotiation by Accept-Encoding, variants
served like files (Content-Length, their own ETag, Range, 304, HEAD), made
once and kept across workers and restarts, large files off the loop, the
claim between racing makers, the bound, and the faults (a cache that cannot
be made or written, a full disk, a file changed while compressed, a corrupt
entry), each answered with a correct body. Decoding: Python's gzip, the
zstd and brotli command line tools."""

import gzip
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import harness
from harness import Server, get, wait_until, run_main

WORDS = ["drover", "server", "compress", "cache", "worker", "http", "file", "the",
         "of", "and", "<div class=x>", "</div>", "function", "return", "var"]


def text(n_words, seed=1):
    rnd = random.Random(seed)
    return " ".join(rnd.choice(WORDS) for _ in range(n_words)).encode()


SMALL = text(300)            # ~2 KiB: made on the loop, the first answer is compressed
BIG = text(60000, seed=2)    # ~400 KiB: made by the pool, identity until then


def tool_decode(tool, data):
    if shutil.which(tool) is None:
        raise unittest.SkipTest("no %s command" % tool)
    return subprocess.run([tool, "-dc"], input=data, stdout=subprocess.PIPE,
                          check=True, timeout=30).stdout


def decode(coding, data):
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "zstd":
        return tool_decode("zstd", data)
    if coding == "br":
        if shutil.which("brotli") is None:
            # scripts/deps installs python3-brotli, not the command.
            try:
                import brotli
            except ImportError:
                sys.path.append("/usr/lib/python3/dist-packages")
                try:
                    import brotli
                except ImportError:
                    raise unittest.SkipTest("no brotli command or module")
            return brotli.decompress(data)
        return tool_decode("brotli", data)
    return data


def entry_name(path, coding, level):
    st = os.stat(path)
    return "%x-%x-%x-%x.%x-%s%d" % (st.st_dev, st.st_ino, st.st_size, int(st.st_mtime),
                                    st.st_mtime_ns % 1000000000, coding, level)


class Base(unittest.TestCase):
    def start(self, workers=1, compress=None, **conf):
        self.cache = tempfile.mkdtemp(prefix="drover-zc-")
        self.addCleanup(shutil.rmtree, self.cache, True)
        z = dict(compress or {})
        cache = dict(z.get("cache") or {})
        if cache.get("path") is None:
            cache["path"] = self.cache
        z["cache"] = cache
        s = Server(workers=workers, files={"small.html": SMALL, "big.js": BIG,
                                           "tiny.txt": b"hi", "pic.png": SMALL},
                   compress=z, **conf)
        self.s = s
        s.start()
        self.addCleanup(s.stop)
        return s

    def fetch(self, path, ae=None, **kw):
        h = dict(kw.pop("headers", {}))
        if ae is not None:
            h["Accept-Encoding"] = ae
        return get(self.s.port, path, headers=h, **kw)

    def wait_compressed(self, path, coding, timeout=20):
        """Polls (bounded) until path comes compressed: the variant is ready."""
        got = []

        def ready():
            r = self.fetch(path, coding)
            got[:] = [r]
            return r.header("Content-Encoding") == coding
        self.assertTrue(wait_until(ready, timeout=timeout, interval=0.2),
                        "%s never came %s%s" % (path, coding, self.s.diag()))
        return got[0]


class CompressTest(Base):
    def test_negotiation(self):
        self.start()
        for ae, want in [("gzip", "gzip"), ("br", "br"), ("zstd", "zstd"),
                         ("gzip, deflate, br, zstd", "zstd"), ("*", "zstd"),
                         ("gzip;q=1, br;q=0.5, zstd;q=0.1", "gzip"),
                         ("zstd;q=0, br;q=0", None), ("identity", None), (None, None),
                         ("gzip;q=0.5, identity", None), ("identity;q=0", None),
                         ("identity;q=0, br;q=0.1", "br"),
                         # malformed: as if absent, never a 400
                         ("gzip junk, br", None), ("br;;;=", None), ("gzip;q=\"1", None)]:
            r = self.fetch("/small.html", ae)
            self.assertEqual(r.status, 200, ae)
            self.assertEqual(r.header("Content-Encoding"), want, ae)
            self.assertIn("accept-encoding", r.header("Vary", "").lower(), ae)
            self.assertEqual(int(r.header("Content-Length")), len(r.body), ae)
            self.assertEqual(decode(want, r.body), SMALL, ae)

    def test_server_preference(self):
        self.start(compress={"encodings": ["gzip", "zstd"]})
        r = self.fetch("/small.html", "br, zstd, gzip")
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        r = self.fetch("/small.html", "br")
        self.assertIsNone(r.header("Content-Encoding"))
        self.assertEqual(r.body, SMALL)

    def test_never_compressed(self):
        self.start()
        for path in ["/tiny.txt", "/pic.png"]:
            r = self.fetch(path, "gzip, br, zstd")
            self.assertIsNone(r.header("Content-Encoding"), path)
            self.assertIsNone(r.header("Vary"), path)

    def test_variant_is_a_file(self):
        self.start()
        full = self.fetch("/small.html", "gzip")
        etag = full.header("ETag")
        self.assertTrue(etag.startswith('"') and etag.endswith('-gzip"'), etag)
        self.assertNotEqual(etag, self.fetch("/small.html").header("ETag"))
        self.assertNotEqual(etag, self.fetch("/small.html", "br").header("ETag"))
        # Range on the compressed bytes
        r = self.fetch("/small.html", "gzip", headers={"Range": "bytes=10-99"})
        self.assertEqual(r.status, 206)
        self.assertEqual(r.body, full.body[10:100])
        self.assertEqual(r.header("Content-Range"), "bytes 10-99/%d" % len(full.body))
        self.assertEqual(r.header("Content-Encoding"), "gzip")
        # conditionals: the variant's own ETag
        r = self.fetch("/small.html", "gzip", headers={"If-None-Match": etag})
        self.assertEqual(r.status, 304)
        self.assertEqual(r.header("ETag"), etag)
        self.assertIn("accept-encoding", r.header("Vary", "").lower())
        r = self.fetch("/small.html", "br", headers={"If-None-Match": etag})
        self.assertEqual(r.status, 200)
        # HEAD says what GET says
        h = self.fetch("/small.html", "gzip", method="HEAD")
        for name in ["Content-Length", "Content-Encoding", "ETag", "Vary"]:
            self.assertEqual(h.header(name), full.header(name), name)
        self.assertEqual(h.body, b"")

    def test_large_file_off_the_loop(self):
        s = self.start()
        first = self.fetch("/big.js", "zstd")
        self.assertEqual(first.status, 200)
        if first.header("Content-Encoding") is None:
            self.assertEqual(first.body, BIG)  # identity meanwhile, never late
            self.assertIn("accept-encoding", first.header("Vary", "").lower())
        r = self.wait_compressed("/big.js", "zstd")
        self.assertEqual(decode("zstd", r.body), BIG)
        self.assertLess(len(r.body), len(BIG) / 3)
        # sendfile path, a range of it
        rr = self.fetch("/big.js", "zstd", headers={"Range": "bytes=1000-"})
        self.assertEqual(rr.body, r.body[1000:])

    def test_shared_by_workers_and_kept_across_restart(self):
        s = self.start(workers=2)
        for _ in range(6):
            self.assertEqual(self.fetch("/small.html", "br").header("Content-Encoding"), "br")
        names = [n for n in os.listdir(self.cache) if n.endswith("-br11")]
        self.assertEqual(len(names), 1, os.listdir(self.cache))
        ino = os.stat(os.path.join(self.cache, names[0])).st_ino
        s.stop()
        s.start()
        r = self.fetch("/small.html", "br")
        self.assertEqual(decode("br", r.body), SMALL)
        self.assertEqual(os.stat(os.path.join(self.cache, names[0])).st_ino, ino,
                         "the restarted server made the entry again")

    def test_sibling_wins(self):
        s = self.start()
        s.write_file("small.html.gz", gzip.compress(b"the sibling\n"))
        os.utime(s.path("small.html.gz"))
        time.sleep(1.2)  # the file cache's freshness
        r = self.fetch("/small.html", "gzip")
        self.assertEqual(decode("gzip", r.body), b"the sibling\n")
        s.write_file("small.html.zst", b"not really zstd")
        time.sleep(1.2)
        self.assertEqual(self.fetch("/small.html", "zstd").body, b"not really zstd")

    def test_per_location_and_host(self):
        self.start(locations={"/big.js": {"compress": "off"}})
        r = self.fetch("/big.js", "gzip")
        self.assertIsNone(r.header("Content-Encoding"))
        self.assertIsNone(r.header("Vary"))
        self.assertEqual(self.fetch("/small.html", "gzip").header("Content-Encoding"), "gzip")

    def test_bad_config_refused(self):
        s = Server(compress={"encodings": ["lz4"]})
        self.addCleanup(s.cleanup)
        p = s.run("-t")
        self.assertNotEqual(p.returncode, 0)
        err = p.stderr.decode()
        self.assertIn("drover.yaml:", err)
        self.assertIn("compress", err)
        self.assertIn("lz4", err)

    def test_eviction_by_max_size(self):
        s = self.start(compress={"cache": {"path": None, "max_size": "64k"},
                                 "encodings": ["gzip"]})
        for i in range(12):
            s.write_file("f%d.html" % i, text(6000, seed=10 + i))  # ~40 KiB, ~8 KiB gzipped
        for i in range(12):
            self.wait_compressed("/f%d.html" % i, "gzip")
            time.sleep(0.05)

        def bounded():
            return sum(os.path.getsize(os.path.join(self.cache, n))
                       for n in os.listdir(self.cache)) <= 64 * 1024
        self.assertTrue(wait_until(bounded, timeout=10), os.listdir(self.cache))
        self.assertEqual(decode("gzip", self.fetch("/f11.html", "gzip").body),
                         text(6000, seed=21))

    def test_changed_file_entries_cleaned(self):
        s = self.start(compress={"encodings": ["gzip"]})
        self.wait_compressed("/big.js", "gzip")
        old = entry_name(s.path("big.js"), "gzip", 9)
        self.assertIn(old, os.listdir(self.cache))
        with open(s.path("big.js"), "r+b") as f:   # in place: same inode
            f.write(b"CHANGED!")
        new_body = b"CHANGED!" + BIG[8:]
        time.sleep(1.2)
        r = self.wait_compressed("/big.js", "gzip")
        self.assertEqual(decode("gzip", r.body), new_body)
        self.assertTrue(wait_until(lambda: old not in os.listdir(self.cache), timeout=10),
                        "the old version's entry is still there")


class CompressFaultTest(Base):
    def test_cache_dir_cannot_be_made(self):
        d = tempfile.mkdtemp(prefix="drover-zc-")
        self.addCleanup(shutil.rmtree, d, True)
        blocker = os.path.join(d, "file")
        open(blocker, "w").close()
        s = Server(files={"small.html": SMALL}, compress={"cache": {"path": blocker + "/c"}})
        self.s = s
        s.start()
        self.addCleanup(s.stop)
        for _ in range(5):
            r = self.fetch("/small.html", "gzip")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, SMALL)
        self.assertEqual(s.log_text().count("compress cache: mkdir"), 1, s.log_text())

    def tmpfs(self, size):
        d = tempfile.mkdtemp(prefix="drover-zfs-")
        self.addCleanup(shutil.rmtree, d, True)
        if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                                                "tmpfs", d]).returncode != 0:
            self.skipTest("cannot mount a tmpfs")
        self.addCleanup(subprocess.run, ["umount", "-l", d])
        return d

    def test_full_disk(self):
        d = self.tmpfs("16k")
        s = Server(files={"big.js": BIG, "small.html": SMALL},
                   compress={"cache": {"path": d, "max_size": "64k"}, "encodings": ["gzip"]})
        self.s = s
        s.start()
        self.addCleanup(s.stop)
        # ~100 KiB of gzip cannot fit in 16 KiB: identity, correct, logged once
        for _ in range(8):
            r = self.fetch("/big.js", "gzip")
            self.assertEqual(decode(r.header("Content-Encoding"), r.body), BIG)
            time.sleep(0.3)
        self.assertTrue(wait_until(lambda: "No space left" in s.log_text() or
                                   "File too large" in s.log_text(), timeout=10), s.log_text())
        self.assertEqual(s.log_text().count("compress cache"), 1, s.log_text())
        self.assertFalse([n for n in os.listdir(d) if ".tmp." in n], os.listdir(d))
        # a small file still compresses once writing is tried again
        r = self.fetch("/small.html", "gzip")
        self.assertEqual(decode(r.header("Content-Encoding"), r.body), SMALL)

    def test_read_only_cache(self):
        d = self.tmpfs("1m")
        subprocess.run(["mount", "-o", "remount,ro", d], check=True)
        s = Server(files={"small.html": SMALL}, compress={"cache": {"path": d}})
        self.s = s
        s.start()
        self.addCleanup(s.stop)
        for _ in range(5):
            r = self.fetch("/small.html", "gzip")
            self.assertEqual(r.body, SMALL)
            self.assertIsNone(r.header("Content-Encoding"))
        self.assertEqual(s.log_text().count("compress cache"), 1, s.log_text())

    def test_corrupt_entry(self):
        s = self.start(compress={"encodings": ["gzip"]})
        good = self.fetch("/small.html", "gzip").body
        name = entry_name(s.path("small.html"), "gzip", 9)
        path = os.path.join(self.cache, name)
        for damage in ["flip", "truncate"]:
            with open(path, "r+b") as f:
                if damage == "flip":
                    f.seek(20)
                    b = f.read(1)
                    f.seek(20)
                    f.write(bytes([b[0] ^ 0xff]))
                else:
                    f.truncate(os.path.getsize(path) - 10)
            time.sleep(1.2)  # the worker's file cache builds the entry again
            for _ in range(3):
                r = self.fetch("/small.html", "gzip")
                self.assertEqual(decode(r.header("Content-Encoding"), r.body), SMALL, damage)
        self.assertEqual(self.fetch("/small.html", "gzip").body, good)
        self.assertEqual(s.log_text().count("is corrupt"), 1, s.log_text())

    def test_file_changed_while_compressed(self):
        # zstd 19 on ~6 MB takes seconds: long enough to rewrite it meanwhile,
        # same size and mtime put back, so only the check during the
        # compression can tell (ctime).
        huge = text(900000, seed=3)
        s = self.start(compress={"encodings": ["zstd"]})
        s.write_file("huge.txt", huge)
        st = os.stat(s.path("huge.txt"))
        self.assertIsNone(self.fetch("/huge.txt", "zstd").header("Content-Encoding"))
        time.sleep(0.3)
        changed = huge[::-1]
        with open(s.path("huge.txt"), "r+b") as f:
            f.write(changed)
        os.utime(s.path("huge.txt"), ns=(st.st_atime_ns, st.st_mtime_ns))
        r = self.wait_compressed("/huge.txt", "zstd", timeout=60)
        self.assertEqual(decode("zstd", r.body), changed)
        self.assertIn("changed while", s.log_text())

    def test_claims(self):
        s = self.start(compress={"encodings": ["zstd"]})
        name = entry_name(s.path("big.js"), "zstd", 19)
        claim = os.path.join(self.cache, name + ".claim")
        with open(claim, "w") as f:
            f.write("%d\n" % os.getpid())   # a live claimer: left alone
        for _ in range(10):
            r = self.fetch("/big.js", "zstd")
            self.assertEqual(r.body, BIG)
            self.assertIsNone(r.header("Content-Encoding"))
            time.sleep(0.2)
        self.assertNotIn(name, os.listdir(self.cache))
        dead = subprocess.Popen(["true"])
        dead.wait()
        with open(claim, "w") as f:
            f.write("%d\n" % dead.pid)      # a dead one: taken over
        r = self.wait_compressed("/big.js", "zstd")
        self.assertEqual(decode("zstd", r.body), BIG)
        self.assertTrue(wait_until(lambda: not os.path.exists(claim), timeout=5))

    def test_racing_workers(self):
        s = self.start(workers=2, compress={"encodings": ["zstd"]})
        import threading
        bodies = []

        def one():
            for _ in range(10):
                r = self.fetch("/big.js", "zstd")
                bodies.append(decode(r.header("Content-Encoding"), r.body))
        ts = [threading.Thread(target=one) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertTrue(all(b == BIG for b in bodies))
        self.wait_compressed("/big.js", "zstd")
        left = [n for n in os.listdir(self.cache) if ".tmp." in n or ".claim" in n]
        self.assertTrue(wait_until(lambda: not [n for n in os.listdir(self.cache)
                                               if ".tmp." in n or ".claim" in n], timeout=20), left)


class CompressProtocolsTest(Base):
    def test_http2_cleartext(self):
        self.start(http2_cleartext=True)
        self.wait_compressed("/big.js", "gzip")
        for path, body in [("/small.html", SMALL), ("/big.js", BIG)]:
            p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-D", "-", "-o", "-",
                                "-H", "Accept-Encoding: gzip",
                                "http://127.0.0.1:%d%s" % (self.s.port, path)],
                               stdout=subprocess.PIPE, timeout=20).stdout
            head, _, data = p.partition(b"\r\n\r\n")
            self.assertIn(b"HTTP/2 200", head)
            self.assertIn(b"content-encoding: gzip", head.lower())
            self.assertIn(b"vary: accept-encoding", head.lower())
            self.assertEqual(gzip.decompress(data), body)

    def test_tls(self):
        import tlsgen
        if not tlsgen.have_openssl():
            self.skipTest("no openssl command")
        certdir = tempfile.mkdtemp(prefix="drover-ztls-")
        self.addCleanup(shutil.rmtree, certdir, True)
        certs = tlsgen.make_all(certdir)
        tls_port = harness.free_port()
        s = self.start()
        s.conf["listen"] = ["127.0.0.1:%d" % s.port,
                            {"address": "127.0.0.1:%d" % tls_port, "tls": True}]
        s.conf["tls"] = {"certificates": [tlsgen.cert_entry(certs["ec"])]}
        s.write_config()
        s.stop()
        s.start()
        self.wait_compressed("/big.js", "br")
        for proto in ["--http1.1", "--http2"]:
            for path, body in [("/small.html", SMALL), ("/big.js", BIG)]:
                p = subprocess.run(["curl", "-sk", proto, "-D", "-", "-o", "-",
                                    "-H", "Accept-Encoding: br",
                                    "https://127.0.0.1:%d%s" % (tls_port, path)],
                                   stdout=subprocess.PIPE, timeout=20).stdout
                head, _, data = p.partition(b"\r\n\r\n")
                self.assertIn(b"content-encoding: br", head.lower(), proto)
                self.assertEqual(decode("br", data), body, proto)


if __name__ == "__main__":
    run_main()
