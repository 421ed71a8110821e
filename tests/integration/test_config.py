#!/usr/bin/env python3
"""drover -t, and bad configs: errors name the file, the line and the key."""

import os
import re
import subprocess
import time
import unittest

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (ServerTestCase, port_accepts, run_main, wait_until,
                     yaml_scalar)

BAD_LINE = 5  # every bad file below has its fault on this line


class ConfigTest(ServerTestCase):
    start_server = False

    def lines(self, bad, listen=True):
        """A config whose line BAD_LINE is `bad`."""
        s = self.srv
        first = ('listen: ["127.0.0.1:%d"]' % s.port) if listen else "log_level: info"
        return "\n".join([
            first,
            "root: %s" % yaml_scalar(s.root),
            "pid_file: %s" % yaml_scalar(s.pid_file),
            "error_log: %s" % yaml_scalar(s.error_log),
            bad,
            "workers: 1" if not bad.startswith("workers") else "access_log: off",
        ]) + "\n"

    def write(self, name, text):
        path = os.path.join(self.srv.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def check(self, *args, path=None):
        return subprocess.run(
            [self.srv.command()[0], "-t", "-c", path or self.srv.conf_path] + list(args),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=10, cwd=self.srv.dir)

    def assertBad(self, name, bad, key, listen=True):
        path = self.write(name, self.lines(bad, listen))
        p = self.check(path=path)
        err = p.stderr.decode("utf-8", "replace")
        self.assertNotEqual(p.returncode, 0, "%s accepted: %r" % (bad, err))
        self.assertIn(path, err, "%s: message does not name the file: %r" % (bad, err))
        self.assertRegex(err, r"%s:%d\b" % (re.escape(path), BAD_LINE),
                         "%s: message does not name line %d: %r" % (bad, BAD_LINE, err))
        if key:
            self.assertIn(key, err, "%s: message does not name the key: %r" % (bad, err))
        return err

    def test_good(self):
        p = self.check()
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_good_values(self):
        path = self.write("good.yaml", self.lines(
            'keepalive_timeout: "500ms"\nclient_header_timeout: 2\n'
            'send_timeout: "2m"\nmax_header_size: "16k"\nindex: [index.html, index.htm]\n'
            'gzip_static: false\nautoindex: true\nlog_level: debug'))
        p = self.check(path=path)
        self.assertEqual(p.returncode, 0, p.stderr)
        path = self.write("auto.yaml", self.lines("workers: auto"))
        p = self.check(path=path)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unknown_key(self):
        self.assertBad("unknown.yaml", "colour: blue", "colour")
        self.assertNotIn("did you mean", self.assertBad("far.yaml", "colour: blue", "colour"))

    def test_unknown_key_suggestion(self):
        # a typo of a key of that section is answered with the key
        err = self.assertBad("typo.yaml", "keepalive_timout: 5s", "keepalive_timout")
        self.assertIn("did you mean keepalive_timeout?", err)

    def test_workers_many(self):
        self.assertBad("workers.yaml", "workers: many", "workers")

    def test_workers_negative(self):
        self.assertBad("workers-neg.yaml", "workers: -1", "workers")

    def test_bad_yaml(self):
        self.assertBad("syntax.yaml", "workers: 2: 3", None)

    def test_bad_listen(self):
        for i, v in enumerate(('["127.0.0.1:99999"]', '["nonsense"]',
                               '["127.0.0.1:"]', '["[::1:80"]')):
            with self.subTest(listen=v):
                self.assertBad("listen%d.yaml" % i, "listen: %s" % v, "listen",
                               listen=False)

    def test_bad_duration(self):
        self.assertBad("duration.yaml", 'keepalive_timeout: "5 parsecs"',
                       "keepalive_timeout")

    def test_bad_size(self):
        self.assertBad("size.yaml", 'max_header_size: "lots"', "max_header_size")

    def test_bad_bool(self):
        self.assertBad("bool.yaml", "gzip_static: maybe", "gzip_static")

    def test_bad_log_level(self):
        self.assertBad("level.yaml", "log_level: loud", "log_level")

    def test_missing_file(self):
        path = os.path.join(self.srv.dir, "no-such.yaml")
        p = self.check(path=path)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(path, p.stderr.decode("utf-8", "replace"))

    # Issue 15, item 8: config corners.

    def assertRefused(self, path, *wants):
        p = self.check(path=path)
        err = p.stderr.decode("utf-8", "replace")
        self.assertNotEqual(p.returncode, 0, "accepted: %r" % err)
        self.assertIn(path, err)
        for w in wants:
            self.assertIn(w, err)
        self.assertIn("test failed", err)
        return err

    def test_empty_config(self):
        # SPEC: an empty config document is an error (it used to mean
        # "listen on 0.0.0.0:8080 with every default").
        for i, text in enumerate(("", "# only a comment\n\n", "---\n...\n", "{}\n")):
            with self.subTest(text=text):
                self.assertRefused(self.write("blank%d.yaml" % i, text), "config is empty")

    def test_fifo_config(self):
        # A FIFO hung drover -t; now it is refused at once.
        path = os.path.join(self.srv.dir, "fifo.yaml")
        os.mkfifo(path)
        t0 = time.monotonic()
        self.assertRefused(path, "FIFO", "regular file")
        self.assertLess(time.monotonic() - t0, 5)

    def test_directory_config(self):
        path = os.path.join(self.srv.dir, "confdir")
        os.mkdir(path)
        err = self.assertRefused(path, "is a directory")
        self.assertNotIn("input error", err)

    def test_quoted_number(self):
        err = self.assertBad("quoted.yaml", 'workers: "2"', "workers")
        self.assertIn('got the string "2" (quotes make a string)', err)
        err = self.assertBad("quoted-bool.yaml", 'gzip_static: "true"', "gzip_static")
        self.assertIn('got the string "true" (quotes make a string)', err)

    def test_out_of_range_names_range(self):
        err = self.assertBad("range.yaml", "workers: 0", "workers")
        self.assertIn("workers: 0 is out of range 1..512", err)
        err = self.assertBad("range2.yaml", "max_header_size: 2m", "max_header_size")
        self.assertIn("out of range 1k..1m", err)

    def test_new_keys(self):
        path = self.write("new.yaml", self.lines(
            "server_tokens: true\nclient_body_timeout: 5s"))
        p = self.check(path=path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertBad("tokens.yaml", "server_tokens: sometimes", "server_tokens")
        self.assertBad("cbt.yaml", "client_body_timeout: 0", "client_body_timeout")

    # drover -T: the effective config, every default filled in.

    def dump(self, path):
        return subprocess.run(
            [self.srv.command()[0], "-T", "-c", path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, timeout=10, cwd=self.srv.dir)

    def test_dump(self):
        path = self.write("full.yaml", self.lines(
            'status: {path: /status, allow: [10.0.0.0/8]}\n'
            'cache_control: {html: no-cache}\nkeepalive_timeout: "1500ms"'))
        p = self.dump(path)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertIn("test is successful", p.stderr.decode())
        # every default filled in
        for line in ("listen: [\"127.0.0.1:%d\"]" % self.srv.port,
                     "workers: 1", "keepalive_timeout: 1500ms", "send_timeout: 30s",
                     "max_body_size: 1m", "server_tokens: false",
                     "client_body_timeout: 10s", "gzip_static: true", "access_log: off",
                     "log_level: info", "status:", "  path: \"/status\"",
                     '  allow: ["10.0.0.0/8"]', "mime_types: {}"):
            self.assertIn("\n" + line + "\n", out)
        # the output is itself a config that -t accepts, and dumps the same
        again = self.write("dumped.yaml", out)
        p2 = self.check(path=again)
        self.assertEqual(p2.returncode, 0, p2.stderr)
        p3 = self.dump(again)
        self.assertEqual(p3.returncode, 0, p3.stderr)
        self.assertEqual(out.split("\n", 1)[1], p3.stdout.decode().split("\n", 1)[1])

    def test_dump_bad(self):
        # An invalid config: the same message and exit status as -t, nothing on stdout.
        path = self.write("bad-dump.yaml", self.lines("workers: many"))
        p = self.dump(path)
        t = self.check(path=path)
        self.assertEqual(p.returncode, t.returncode)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stderr, t.stderr)
        self.assertEqual(p.stdout, b"")

    def test_shipped_config(self):
        # The source tree's own config is valid, checked from the source tree.
        from harness import SRCDIR
        conf = os.path.join(SRCDIR, "etc", "drover.yaml")
        if not os.path.exists(conf):
            self.skipTest("no etc/drover.yaml")
        p = subprocess.run([self.srv.command()[0], "-t", "-c", "etc/drover.yaml"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10, cwd=SRCDIR)
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_version_and_help(self):
        b = self.srv.command()[0]
        p = subprocess.run([b, "-v"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertRegex((p.stdout + p.stderr).decode(), r"\d+\.\d+")
        p = subprocess.run([b, "-h"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn("-c", (p.stdout + p.stderr).decode())
        p = subprocess.run([b, "-Z"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=10)
        self.assertNotEqual(p.returncode, 0)

    def test_start_with_bad_config(self):
        path = self.write("bad.yaml", self.lines("workers: many"))
        t0 = time.monotonic()
        p = subprocess.Popen([self.srv.command()[0], "-f", "-c", path],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, cwd=self.srv.dir)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate(timeout=5)
            self.fail("drover kept running with a bad config")
        self.assertNotEqual(p.returncode, 0)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertIn(path, err.decode("utf-8", "replace"))
        self.assertFalse(port_accepts(self.srv.port, 0.3), "serving with a bad config")
        self.assertFalse(os.path.exists(self.srv.pid_file))


if __name__ == "__main__":
    run_main()
