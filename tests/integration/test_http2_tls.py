#!/usr/bin/env python3
"""HTTP/2 over TLS (issues 10 and 14): ALPN picks h2 when http2 is on (the
default) and http/1.1 when it is off; curl and nghttp fetch over h2; h2spec
passes over TLS when installed."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

import harness
import tlsgen
from harness import Server, free_port

BIG = b"".join(b"%07d\n" % i for i in range(40000))


class Http2TlsTest(unittest.TestCase):
    def start(self, **conf):
        if not tlsgen.have_openssl():
            self.skipTest("no openssl command")
        self.certdir = tempfile.mkdtemp(prefix="drover-h2tls-")
        certs = tlsgen.make_all(self.certdir)
        self.tls_port = free_port()
        s = Server(files={"big.bin": BIG}, **conf)
        s.conf["listen"] = ["127.0.0.1:%d" % s.port,
                            {"address": "127.0.0.1:%d" % self.tls_port, "tls": True}]
        s.conf["tls"] = {"certificates": [tlsgen.cert_entry(certs["ec"])]}
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
