#!/usr/bin/env python3
"""What a new user sees first: `drover -t` answers in one line, with or
without TLS; the logs and -s status say "1 worker", not "1 workers"; a
mistyped key is answered with the key that was meant."""

import os
import subprocess
import unittest

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import ServerTestCase, run_main, wait_until
import tlsgen


class CheckOutputTest(ServerTestCase):
    start_server = False

    def check(self):
        return self.srv.run("-t")

    def assertOneLine(self, p):
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(p.stdout, b"")
        self.assertEqual(err.count("\n"), 1, "-t printed more than one line: %r" % err)
        self.assertRegex(err, r"^drover: configuration file .* test is successful\n$")

    def setUp(self):
        super().setUp()
        self.srv = self.make_server()

    def test_plain(self):
        self.assertOneLine(self.check())

    def test_tls(self):
        # Loading certificates logs at info level (on a kernel without its
        # tls module: "no kernel TLS here"); a check says nothing of it.
        d = tlsgen.certdir_in(self.srv)
        certs = tlsgen.make_all(d)
        tlsgen.listen_tls(self.srv)
        self.srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(certs["ec"])]}
        self.srv.write_config()
        self.assertOneLine(self.check())


class OneWorkerTest(ServerTestCase):
    server_kwargs = {"workers": 1}

    def test_singular(self):
        self.assertTrue(wait_until(lambda: "started: 1 worker," in self.srv.log_text(), timeout=5),
                        self.srv.diag())
        p = self.srv.run("-s", "status")
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("serving, 1 worker (1 wanted)", out)
        # A reload logs the new generation's count the same way.
        p = self.srv.run("-s", "reload")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(wait_until(lambda: "(1 worker)" in self.srv.log_text(), timeout=5),
                        self.srv.diag())
        self.assertNotIn("1 workers", self.srv.log_text())


if __name__ == "__main__":
    run_main()
