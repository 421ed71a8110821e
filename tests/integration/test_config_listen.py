#!/usr/bin/env python3
"""listen entries as strings or mappings {address, tls, redirect_https,
proxy_protocol}: accepted, printed back by -T, bad ones named by line."""

import os
import re
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import ServerTestCase, get, run_main, yaml_scalar


class ListenMappingTest(ServerTestCase):
    start_server = False

    def conf(self, listen_lines):
        s = self.srv
        return "\n".join(["listen:"] + ["  - " + l for l in listen_lines] + [
            "root: %s" % yaml_scalar(s.root),
            "pid_file: %s" % yaml_scalar(s.pid_file),
            "error_log: %s" % yaml_scalar(s.error_log),
            "workers: 1",
        ]) + "\n"

    def run_t(self, text, flag="-t"):
        path = os.path.join(self.srv.dir, "l.yaml")
        with open(path, "w") as f:
            f.write(text)
        p = subprocess.run([self.srv.command()[0], flag, "-c", path],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10, cwd=self.srv.dir)
        return path, p

    def test_mapping_is_served_like_a_string(self):
        # A mapping with only an address means what the string means.
        self.srv.conf["listen"] = [{"address": "127.0.0.1:%d" % self.srv.port}]
        self.srv.write_config()
        self.srv.start()
        self.assertEqual(get(self.srv.port, "/").status, 200)

    def test_dump_round_trip(self):
        p = self.srv.port
        text = self.conf(['"127.0.0.1:%d"' % p,
                          '{address: "127.0.0.1:%d", proxy_protocol: true}' % (p + 1),
                          '{address: "127.0.0.1:%d", redirect_https: true}' % (p + 2)])
        path, out = self.run_t(text, "-T")
        self.assertEqual(out.returncode, 0, out.stderr)
        dump = out.stdout.decode()
        self.assertIn('{address: "127.0.0.1:%d", proxy_protocol: true}' % (p + 1), dump)
        self.assertIn('{address: "127.0.0.1:%d", redirect_https: true}' % (p + 2), dump)
        self.assertIn('"127.0.0.1:%d"' % p, dump)
        _, again = self.run_t(dump, "-T")
        self.assertEqual(again.returncode, 0, again.stderr)
        strip = lambda s: [l for l in s.splitlines() if not l.startswith("# drover -T")]
        self.assertEqual(strip(again.stdout.decode()), strip(dump))

    def test_bad_entries_name_the_line(self):
        p = self.srv.port
        cases = [
            ("{tls: true}", "address is missing"),
            ('{address: "nonsense"}', "address"),
            ('{address: ":%d", tls: maybe}' % p, "listen.tls"),
            ('{address: ":%d", color: red}' % p, "unknown key"),
            ('{address: ":%d", redirect_https: true, tls: true}' % p, "redirect"),
            ('[":%d"]' % p, "listen"),
        ]
        for i, (entry, want) in enumerate(cases):
            with self.subTest(entry=entry):
                path, out = self.run_t(self.conf(['"127.0.0.1:%d"' % p, entry]))
                err = out.stderr.decode()
                self.assertNotEqual(out.returncode, 0, err)
                self.assertRegex(err, r"%s:3\b" % re.escape(path))
                self.assertIn(want, err)

    def test_duplicate_across_forms(self):
        p = self.srv.port
        path, out = self.run_t(self.conf(['"127.0.0.1:%d"' % p,
                                          '{address: "127.0.0.1:%d"}' % p]))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("listed twice", out.stderr.decode())


if __name__ == "__main__":
    run_main()
