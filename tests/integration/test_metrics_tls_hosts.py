#!/usr/bin/env python3
"""/metrics for HTTPS and virtual hosts: TLS handshakes, resumptions and
failures move as Python's ssl client makes them, each certificate's expiry
gauge equals its notAfter (read with the openssl command), per-host request
and byte counts match requests to two hosts and the default host, all of
them survive a worker's kill -9 and a reload, more hosts than the table's
rows keep the page bounded without losing counts, and promtool still
accepts the page."""

import calendar
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ServerTestCase, SharedServerTestCase, exchange, req,  # noqa: E402
                     wait_until, yaml_dump)
from scrape import ScrapeMixin, have_prometheus, promtool_check, scrape, value  # noqa: E402
import tlsgen  # noqa: E402
from test_vhosts import hosts_yaml, make_root  # noqa: E402


def tls_and_hosts(samples):
    """The TLS and per-host samples of a page, what a failed wait shows."""
    return {k: v for k, v in samples.items() if "tls" in k[0] or "host" in k[0]}


class MetricsTlsHostsTest(ScrapeMixin, SharedServerTestCase):
    server_kwargs = {"workers": 2, "metrics": {"path": "/metrics"}, "worker_timeout": "30s"}
    scrape_show = staticmethod(tls_and_hosts)

    @classmethod
    def populate(cls, srv):
        certdir = tlsgen.certdir_in(srv)
        cls.certs = {"ca": tlsgen.make_ca(certdir)}
        cls.certs["ec"] = tlsgen.make_leaf(certdir, "ec", "DNS:localhost,DNS:a.test,IP:127.0.0.1",
                                           2001, "ec")
        cls.certs["other"] = tlsgen.make_leaf(certdir, "other", "DNS:other.test", 2002, days=7)
        cls.tls_port = tlsgen.listen_tls(srv)
        srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(cls.certs[k]) for k in ("ec", "other")]}
        a = make_root(srv, "a", {"a.txt": b"a" * 100})
        b = make_root(srv, "b", {"b.txt": b"b" * 1000})
        srv.write_config(yaml_dump(srv.conf) + hosts_yaml({"a.test": {"root": a},
                                                           "b.test": {"root": b}}))

    def https_get(self, ctx, session=None):
        """One GET / over TLS; returns (session, reused)."""
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = b""
                for _ in range(100):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 "), data[:100])
                return s.session, s.session_reused

    def test_tls_handshakes_resumptions_failures(self):
        s0 = scrape(self.srv.port)[1]
        hs0 = value(s0, "drover_tls_handshakes_total")
        res0 = value(s0, "drover_tls_resumptions_total")
        fail0 = value(s0, "drover_tls_handshake_failures_total")
        self.assertIsNotNone(hs0, "no drover_tls_handshakes_total")
        ctx = ssl.create_default_context(cafile=self.certs["ca"])
        sess, reused = self.https_get(ctx)
        self.assertFalse(reused)
        _, reused = self.https_get(ctx, session=sess)
        self.assertTrue(reused, "the server did not resume the session")
        self.wait_for(lambda s: value(s, "drover_tls_handshakes_total") == hs0 + 2
                      and value(s, "drover_tls_resumptions_total") == res0 + 1,
                      "two handshakes, one resumed")
        # A client that does not trust the certificate aborts the handshake
        # with an alert: a failure, not a completed handshake.
        untrusting = ssl.create_default_context()
        with self.assertRaises(ssl.SSLError):
            self.https_get(untrusting)
        s = self.wait_for(lambda s: value(s, "drover_tls_handshake_failures_total") == fail0 + 1,
                          "one failed handshake")
        self.assertEqual(value(s, "drover_tls_handshakes_total"), hs0 + 2)

    def test_certificate_expiry(self):
        s = scrape(self.srv.port)[1]
        got = {dict(k[1])["names"]: v for k, v in s.items()
               if k[0] == "drover_tls_certificate_expiry_timestamp_seconds"}
        for key, names in (("ec", "localhost,a.test"), ("other", "other.test")):
            p = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", self.certs[key][0]],
                               stdout=subprocess.PIPE, check=True, timeout=30)
            end = p.stdout.decode().strip().split("=", 1)[1]  # "Jan  2 03:04:05 2027 GMT"
            want = calendar.timegm(time.strptime(end, "%b %d %H:%M:%S %Y GMT"))
            self.assertIn(names, got, got)
            self.assertEqual(got[names], want)
        self.assertEqual(len(got), 2, got)

    def test_per_host_counts_survive_kill(self):
        def host_req(host, path):
            return exchange(self.srv.port, req("GET", path, "HTTP/1.1", [("Connection", "close")],
                                               host=host))
        base = scrape(self.srv.port)[1]
        before = {k: v for k, v in base.items() if k[0].startswith("drover_host_")}

        def delta(s, name, **labels):
            return (value(s, name, **labels) or 0) - (before.get((name, frozenset(labels.items()))) or 0)
        sent = {"a.test": 0, "b.test": 0}
        for _ in range(3):
            r = host_req("a.test", "/a.txt")
            self.assertEqual(r.status, 200)
            sent["a.test"] += len(r.raw_head) + len(r.body)
        for _ in range(2):
            r = host_req("B.test", "/b.txt")
            self.assertEqual(r.status, 200)
            sent["b.test"] += len(r.raw_head) + len(r.body)
        self.assertEqual(host_req("a.test", "/nope").status, 404)
        self.assertEqual(host_req("nohost.test", "/nope").status, 404)

        def right(s):
            return (delta(s, "drover_host_requests_total", host="a.test", code="2xx") == 3
                    and delta(s, "drover_host_requests_total", host="a.test", code="4xx") == 1
                    and delta(s, "drover_host_requests_total", host="b.test", code="2xx") == 2
                    and delta(s, "drover_host_requests_total", host="_default", code="4xx") == 1)
        s = self.wait_for(right, "per-host counts: a.test 3 2xx + 1 4xx, b.test 2, _default 1 4xx")
        self.assertEqual(delta(s, "drover_host_response_bytes_total", host="b.test"), sent["b.test"])
        self.assertGreater(delta(s, "drover_host_response_bytes_total", host="a.test"), sent["a.test"])
        self.assertIsNone(value(s, "drover_host_requests_total", host="nohost.test", code="4xx"))

        kept = {k: v for k, v in s.items() if k[0].startswith("drover_host_") or k[0].startswith("drover_tls_")
                and k[0].endswith("_total")}
        victim = self.srv.workers()[0]
        self.srv.signal(signal.SIGKILL, victim)
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 2 and victim not in self.srv.workers(),
                                   timeout=10), self.srv.diag())
        after = scrape(self.srv.port)[1]
        for k, v in kept.items():
            self.assertGreaterEqual(after.get(k, -1), v, "%r went back after kill -9" % (k,))
        # A reload: new workers (and host numbering), the same rows.
        ok0 = value(after, "drover_reloads_total", result="ok")
        p = self.srv.run("-s", "reload", timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace") + self.srv.diag())
        after = self.wait_for(lambda s: value(s, "drover_reloads_total", result="ok") == ok0 + 1,
                              "a reload", timeout=15)
        for k, v in kept.items():
            self.assertGreaterEqual(after.get(k, -1), v, "%r went back after a reload" % (k,))

    def test_per_host_over_http2(self):
        if shutil.which("curl") is None:
            self.skipTest("no curl")
        key = ("drover_host_requests_total", frozenset({("host", "a.test"), ("code", "2xx")}))
        n0 = scrape(self.srv.port)[1].get(key, 0)
        p = subprocess.run(["curl", "-sS", "--http2", "--max-time", "10", "--cacert", self.certs["ca"],
                            "--resolve", "a.test:%d:127.0.0.1" % self.tls_port, "-o", os.devnull,
                            "-w", "%{http_version}", "https://a.test:%d/a.txt" % self.tls_port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)
        self.assertEqual(p.returncode, 0, p.stderr)
        if p.stdout.strip() != b"2":
            self.skipTest("curl did not speak HTTP/2 here: %r" % p.stdout)
        self.wait_for(lambda s: s.get(key, 0) == n0 + 1, "one HTTP/2 response counted for a.test")

    def test_promtool(self):
        why = have_prometheus()
        if why is not None:
            self.skipTest(why)
        exchange(self.srv.port, req("GET", "/", "HTTP/1.1", [("Connection", "close")], host="a.test"))
        self.wait_for(lambda s: any(k[0] == "drover_host_requests_total" for k in s), "a host series")
        r, s = scrape(self.srv.port)
        self.assertIn(b"drover_tls_certificate_expiry_timestamp_seconds{", r.body)
        promtool_check(self, r.body)


class MetricsManyHostsTest(ScrapeMixin, ServerTestCase):
    """More hosts than the table has rows: the page stays bounded, the
    overflow row counts the rest, and nothing is lost on the way (a worker
    sends a few messages a second, in turns)."""

    start_server = False
    server_kwargs = {"workers": 1, "metrics": {"path": "/metrics"}}
    NHOSTS = 80
    scrape_interval = 0.5

    def test_bounded_and_nothing_lost(self):
        hosts = {"h%02d.test" % i: {} for i in range(self.NHOSTS)}
        self.srv.write_config(yaml_dump(self.srv.conf) + hosts_yaml(hosts))
        self.srv.start()
        for name in hosts:
            r = exchange(self.srv.port, req("GET", "/nope", "HTTP/1.1", [("Connection", "close")],
                                            host=name))
            self.assertEqual(r.status, 404)
        def rows_4xx(s):
            return {dict(k[1])["host"]: v for k, v in s.items()
                    if k[0] == "drover_host_requests_total" and dict(k[1])["code"] == "4xx"}
        s = self.wait_for(lambda s: sum(v for h, v in rows_4xx(s).items()
                                        if h != "_default") == self.NHOSTS,
                          "%d hosts' 404s counted" % self.NHOSTS, timeout=15, show=rows_4xx)
        rows = rows_4xx(s)
        hosts_rows = {dict(k[1])["host"] for k in s if k[0].startswith("drover_host_")}
        # 64 rows: _default (the scrapes), 62 names, and _other for the rest.
        self.assertEqual(len(hosts_rows), 64, hosts_rows)
        self.assertIn("_default", hosts_rows)
        named = [h for h in rows if h not in ("_default", "_other")]
        self.assertEqual(len(named), 62, rows)
        self.assertEqual(rows.get("_other"), self.NHOSTS - 62, rows)


if __name__ == "__main__":
    unittest.main()
