#!/usr/bin/env python3
"""HTTP/2 over TLS (issues 10 and 14): ALPN picks h2 when http2 is on (the
default) and http/1.1 when it is off; curl and nghttp fetch over h2; h2spec
passes over TLS when installed."""

import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
import tlsgen
from harness import Server, free_port

BIG = b"".join(b"%07d\n" % i for i in range(40000))
HUGE = os.urandom(1024 * 1024 + 4321)


class Http2TlsTest(unittest.TestCase):
    def start(self, hsts=None, **conf):
        if not tlsgen.have_openssl():
            self.skipTest("no openssl command")
        self.certdir = tempfile.mkdtemp(prefix="drover-h2tls-")
        certs = self.certs = tlsgen.make_all(self.certdir)
        self.tls_port = free_port()
        s = Server(files={"big.bin": BIG, "huge.bin": HUGE}, **conf)
        s.conf["listen"] = ["127.0.0.1:%d" % s.port,
                            {"address": "127.0.0.1:%d" % self.tls_port, "tls": True}]
        s.conf["tls"] = {"certificates": [tlsgen.cert_entry(certs["ec"])]}
        if hsts is not None:
            s.conf["tls"]["hsts"] = hsts
        s.write_config()
        self.s = s
        s.start()
        self.addCleanup(s.stop)
        self.addCleanup(shutil.rmtree, self.certdir, True)

    def alpn(self, offer):
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.tls_port,
                            "-alpn", offer], input=b"", stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        m = re.search(rb"ALPN protocol: (\S+)", p.stdout)
        return m.group(1).decode() if m else None

    def test_h2_by_alpn(self):
        self.start()
        self.assertEqual(self.alpn("h2,http/1.1"), "h2")
        out = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w",
                              "%{http_version} %{http_code} %{size_download}",
                              "https://127.0.0.1:%d/big.bin" % self.tls_port],
                             stdout=subprocess.PIPE, timeout=20).stdout.decode()
        self.assertEqual(out, "2 200 %d" % len(BIG))
        body = subprocess.run(["curl", "-sk", "--http2", "-r", "100-199",
                               "https://127.0.0.1:%d/big.bin" % self.tls_port],
                              stdout=subprocess.PIPE, timeout=20).stdout
        self.assertEqual(body, BIG[100:200])

    def test_h2_head_is_the_http1_head(self):
        """HSTS on every HTTPS response and the Server line as server_tokens
        says, over h2 as over HTTP/1.1 (h2 once sent neither)."""
        self.start(hsts="max-age=600; includeSubDomains", server_tokens=True,
                   http2_cleartext=True)
        for version in ("--http2", "--http1.1"):
            p = subprocess.run(["curl", "-sk", version, "-D", "-", "-o", "/dev/null",
                                "https://127.0.0.1:%d/big.bin" % self.tls_port],
                               stdout=subprocess.PIPE, timeout=20)
            head = p.stdout.decode("latin-1").lower()
            self.assertIn("strict-transport-security: max-age=600; includesubdomains\r\n",
                          head, version)
            self.assertRegex(head, r"\r\nserver: drover/\S+\r\n", version)
        # Never over plain HTTP (h2c prior knowledge on the plain port).
        p = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-D", "-", "-o",
                            "/dev/null", "http://127.0.0.1:%d/big.bin" % self.s.port],
                           stdout=subprocess.PIPE, timeout=20)
        self.assertTrue(p.stdout.startswith(b"HTTP/2 200"), p.stdout[:100])
        self.assertNotIn(b"strict-transport-security", p.stdout.lower())

    def test_header_timeout_counts_from_the_connect(self):
        """client_header_timeout covers the handshake and the preface
        together, as it covers the handshake and the request head of
        HTTP/1: a client that takes 1.5 s of its 3 s to finish the handshake
        (ALPN h2) and then sends nothing is closed 3 s after it connected
        (it used to get keepalive_timeout, 5 s, from the handshake)."""
        self.start(client_header_timeout="3s")
        ctx = ssl.create_default_context(cafile=self.certs["ca"])
        ctx.set_alpn_protocols(["h2"])
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(inc, out, server_hostname="localhost")
        s = socket.create_connection(("127.0.0.1", self.tls_port), 10)
        self.addCleanup(s.close)
        t0 = time.monotonic()
        with self.assertRaises(ssl.SSLWantReadError):
            tls.do_handshake()
        s.sendall(out.read())
        time.sleep(1.5)
        for _ in range(20):
            inc.write(s.recv(65536))
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                pass
        s.sendall(out.read())   # Finished; then no preface
        self.assertEqual(tls.selected_alpn_protocol(), "h2")
        s.settimeout(5)
        try:
            while s.recv(65536):
                pass
        except ConnectionResetError:
            pass
        took = time.monotonic() - t0
        self.assertLess(took, 4.5, "closed %.1f s after the connect" % took)
        self.assertGreater(took, 2.5, "closed %.1f s after the connect" % took)

    def test_file_truncated_while_sent_over_h2(self):
        """Over h2 and TLS, a cached file's bytes are copied from its
        mapping into the records. Cut short while a slow client reads it,
        it ends that connection (logged as a truncation), the worker lives
        on, and the first bytes were the file's."""
        self.start()
        path = os.path.join(self.s.root, "trunc.bin")
        data = os.urandom(8 << 20)
        with open(path, "wb") as f:
            f.write(data)
        url = "https://127.0.0.1:%d/trunc.bin" % self.tls_port
        first = subprocess.run(["curl", "-sk", "--http2", url], stdout=subprocess.PIPE,
                               timeout=30).stdout
        self.assertEqual(first, data)   # cached, mapped
        workers = sorted(self.s.workers())
        out = os.path.join(self.certdir, "got.bin")
        slow = subprocess.Popen(["curl", "-sk", "--http2", "--limit-rate", "1M", "--max-time", "20",
                                 "-o", out, url], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            self.assertTrue(harness.wait_until(
                lambda: os.path.exists(out) and os.path.getsize(out) > 200000, timeout=10))
            os.truncate(path, 100000)
            self.assertNotEqual(slow.wait(30), 0, "curl got a whole body")
        finally:
            if slow.poll() is None:
                slow.kill()     # our own child, by its pid
                slow.wait(5)
        with open(out, "rb") as f:
            got = f.read()
        self.assertLess(len(got), len(data))
        self.assertEqual(got, data[:len(got)])
        self.assertTrue(harness.wait_until(
            lambda: "file truncated while being sent" in self.s.log_text(), timeout=5),
            self.s.log_text()[-600:])
        self.assertEqual(sorted(self.s.workers()), workers, "a worker died")
        self.assertNotIn("signal 7", self.s.log_text())
        r = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_code}",
                            "https://127.0.0.1:%d/big.bin" % self.tls_port],
                           stdout=subprocess.PIPE, timeout=20).stdout
        self.assertEqual(r, b"200")

    def test_streams_share_records_and_survive_a_full_socket(self):
        """Over TLS, frame headers and file payloads are gathered into
        records (write_pieces); a reader slower than the server keeps the
        socket full, so writes stop mid-record and resume from the cursor.
        Eight streams on one connection, two files, ranges: every body
        must come back byte for byte."""
        self.start()
        out = tempfile.mkdtemp(prefix="drover-h2tls-out-")
        self.addCleanup(shutil.rmtree, out, True)
        base = "https://127.0.0.1:%d/" % self.tls_port
        want = {}
        # Options are per URL after --next; --parallel is global.
        args = ["curl", "--parallel", "--parallel-max", "8"]
        for i in range(8):
            name = os.path.join(out, "o%d" % i)
            if i:
                args.append("--next")
            args += ["-sk", "--http2", "--limit-rate", "4M", "--max-time", "30", "-o", name]
            if i % 4 == 3:
                args += ["-r", "1000-700000", base + "huge.bin"]
                want[name] = HUGE[1000:700001]
            elif i % 2:
                args.append(base + "huge.bin")
                want[name] = HUGE
            else:
                args.append(base + "big.bin")
                want[name] = BIG
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        for name, body in want.items():
            with open(name, "rb") as f:
                got = f.read()
            self.assertEqual(len(got), len(body), name)
            self.assertTrue(got == body, "%s differs" % name)

    def test_http2_off_means_http11(self):
        self.start(http2=False)
        self.assertEqual(self.alpn("h2,http/1.1"), "http/1.1")

    @unittest.skipUnless(shutil.which("h2spec"), "h2spec is not installed")
    def test_h2spec_tls(self):
        self.start()
        p = subprocess.run(["h2spec", "-h", "127.0.0.1", "-p", str(self.tls_port), "-t", "-k",
                            "-o", "5"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
        out = p.stdout.decode("utf-8", "replace")
        m = re.search(r"(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed", out)
        self.assertIsNotNone(m, out[-3000:])
        print("h2spec over TLS: %s" % m.group(0))
        self.assertEqual(int(m.group(4)), 0, out[out.find("Failures:"):][:4000])


if __name__ == "__main__":
    harness.run_main()
