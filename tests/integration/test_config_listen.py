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
import tlsgen


class ConfigCase(ServerTestCase):
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



class ListenMappingTest(ConfigCase):
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


class TlsConfigTest(ConfigCase):
    """The tls section at -t and -T: certificates are read and checked."""

    def setUp(self):
        if not tlsgen.have_openssl():
            self.skipTest("no openssl command")
        super(TlsConfigTest, self).setUp()
        tlsgen.make_ca(self.srv.dir)
        self.cert, self.key = tlsgen.make_leaf(self.srv.dir, "site", "DNS:localhost", 7)

    def tls_conf(self, cert, key, extra=""):
        p = self.srv.port
        return self.conf(['"127.0.0.1:%d"' % p,
                          '{address: "127.0.0.1:%d", tls: true}' % (p + 1)]) + \
            "tls:\n  certificates:\n    - {cert: %s, key: %s}\n%s" % (
                yaml_scalar(cert), yaml_scalar(key), extra)

    def test_tls_listener_without_certificate(self):
        p = self.srv.port
        path, out = self.run_t(self.conf(['"127.0.0.1:%d"' % p,
                                          '{address: "127.0.0.1:%d", tls: true}' % (p + 1)]))
        err = out.stderr.decode()
        self.assertNotEqual(out.returncode, 0)
        self.assertRegex(err, r"%s:3: listen: .*tls: true" % re.escape(path))

    def test_good_and_dump(self):
        path, out = self.run_t(self.tls_conf(self.cert, self.key,
                                             '  min_version: "1.3"\n  hsts: "max-age=600"\n'), "-T")
        self.assertEqual(out.returncode, 0, out.stderr)
        dump = out.stdout.decode()
        self.assertIn("tls:\n", dump)
        self.assertIn('certificates: [{cert: "%s", key: "%s"}]' % (self.cert, self.key), dump)
        self.assertIn("min_version: 1.3", dump)
        self.assertIn('hsts: "max-age=600"', dump)
        self.assertIn("ticket_key_file: none", dump)
        _, again = self.run_t(dump)
        self.assertEqual(again.returncode, 0, again.stderr)

    def test_missing_key_file(self):
        missing = os.path.join(self.srv.dir, "nope.key")
        _, out = self.run_t(self.tls_conf(self.cert, missing))
        err = out.stderr.decode()
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(missing, err)
        self.assertIn("No such file", err)

    def test_key_of_another_certificate(self):
        _, other_key = tlsgen.make_leaf(self.srv.dir, "other", "DNS:other", 8)
        _, out = self.run_t(self.tls_conf(self.cert, other_key))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(other_key, out.stderr.decode())

    def test_bad_ticket_key_file(self):
        short = os.path.join(self.srv.dir, "short.key")
        with open(short, "wb") as f:
            f.write(os.urandom(48))
        _, out = self.run_t(self.tls_conf(self.cert, self.key,
                                          "  ticket_key_file: %s\n" % yaml_scalar(short)))
        self.assertNotEqual(out.returncode, 0)
        self.assertIn(short, out.stderr.decode())

    def test_errors_name_file_line_and_key(self):
        # Like every other config error: "file:line: key: ...".
        path, out = self.run_t(self.tls_conf(self.cert, self.key, '  ciphers: "NOPE"\n'))
        err = out.stderr.decode()
        self.assertNotEqual(out.returncode, 0, err)
        line = self.tls_conf(self.cert, self.key).count("\n") + 1
        self.assertRegex(err, r"%s:%d: tls\.ciphers: .*NOPE.*no cipher match"
                         % (re.escape(path), line))
        gone = os.path.join(self.srv.dir, "gone.pem")
        path, out = self.run_t(self.tls_conf(gone, self.key))
        err = out.stderr.decode()
        self.assertNotEqual(out.returncode, 0, err)
        line = self.tls_conf(gone, self.key).count("\n")
        self.assertRegex(err, r"%s:%d: tls\.certificates: %s: No such file"
                         % (re.escape(path), line, re.escape(gone)))

    def test_cipher_list_without_tls12_suite(self):
        # OpenSSL takes these lists, then every TLS 1.2 handshake fails with
        # "no shared cipher": refused at -t unless TLS 1.3 only (site: ECDSA).
        line = self.tls_conf(self.cert, self.key).count("\n") + 1
        for ciphers in ("eNULL", "ECDHE-RSA-AES128-GCM-SHA256"):
            with self.subTest(ciphers=ciphers):
                extra = '  ciphers: "%s"\n' % ciphers
                path, out = self.run_t(self.tls_conf(self.cert, self.key, extra))
                err = out.stderr.decode()
                self.assertNotEqual(out.returncode, 0, err)
                self.assertRegex(err, r'%s:%d: tls\.ciphers: no TLS 1\.2 cipher in "%s" works '
                                 r"with an ECDSA certificate" % (re.escape(path), line, ciphers))
                _, out = self.run_t(self.tls_conf(self.cert, self.key,
                                                  extra + '  min_version: "1.3"\n'))
                self.assertEqual(out.returncode, 0, out.stderr)

    def test_name_without_tls12_suite_is_a_warning(self):
        # An RSA-only list with an RSA and an ECDSA name: the ECDSA name is
        # served over TLS 1.3 only, which is worth a warning, not a refusal.
        rsa, rsa_key = tlsgen.make_leaf(self.srv.dir, "rsa", "DNS:rsa.test", 10, kind="rsa")
        text = self.tls_conf(self.cert, self.key,
                             "    - {cert: %s, key: %s}\n"
                             '  ciphers: "ECDHE-RSA-AES128-GCM-SHA256"\n'
                             % (yaml_scalar(rsa), yaml_scalar(rsa_key)))
        path, out = self.run_t(text)
        err = out.stderr.decode()
        self.assertEqual(out.returncode, 0, err)
        lines = text.splitlines()
        cline = [i for i, l in enumerate(lines) if "ciphers:" in l][0] + 1
        eline = [i for i, l in enumerate(lines) if self.cert in l][0] + 1
        self.assertRegex(err, r"warn.*%s:%d: tls\.ciphers: .*ECDSA certificate %s \(line %d\)"
                         % (re.escape(path), cline, re.escape(self.cert), eline))
        self.assertNotIn(rsa, err)

    def test_expired_certificate_is_a_warning(self):
        cert, key = tlsgen.make_leaf(self.srv.dir, "old", "DNS:old.test", 9, days=-1)
        _, out = self.run_t(self.tls_conf(cert, key))
        err = out.stderr.decode()
        self.assertEqual(out.returncode, 0, err)
        self.assertRegex(err, r"warn.*%s.* expired on \S+" % re.escape(cert))

    def test_start_with_missing_certificate_fails(self):
        self.srv.write_config(self.tls_conf(os.path.join(self.srv.dir, "gone.pem"), self.key))
        p = subprocess.run(self.srv.command("-f"), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10,
                           cwd=self.srv.dir)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("gone.pem", p.stderr.decode() + self.srv.log_text())


if __name__ == "__main__":
    run_main()
