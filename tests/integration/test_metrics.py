#!/usr/bin/env python3
"""/metrics: the Prometheus text format (checked by promtool and scraped by a
real Prometheus), counts that match the requests made, counters that survive
a worker's kill -9 and a reload, request timing that puts a throttled client
in the high buckets, and the allow list."""

import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import ServerTestCase, get, run_main, wait_until  # noqa: E402
from scrape import (Prometheus, ScrapeMixin, have_prometheus, promtool_check,  # noqa: E402
                    scrape, value)

METRICS = {"path": "/metrics"}
CTYPE = "text/plain; version=0.0.4; charset=utf-8"


def counters(samples):
    """Every sample of a counter or histogram (what must never go down)."""
    return {k: v for k, v in samples.items()
            if k[0].endswith("_total") or k[0].startswith("drover_http_request_duration_seconds")}


class MetricsTest(ScrapeMixin, ServerTestCase):
    server_kwargs = {"workers": 2, "metrics": METRICS, "worker_timeout": "30s"}

    def test_format_and_promtool(self):
        why = have_prometheus()
        r, s = scrape(self.port)
        self.assertEqual(r.header("Content-Type"), CTYPE)
        text = r.body.decode("utf-8")
        for family in ("drover_build_info", "drover_start_time_seconds", "drover_http_requests_total",
                       "drover_http_request_duration_seconds", "drover_http_response_bytes_total",
                       "drover_http_request_bytes_total", "drover_connections",
                       "drover_connections_accepted_total", "drover_workers",
                       "drover_worker_restarts_total", "drover_reloads_total",
                       "drover_last_reload_success_timestamp_seconds", "drover_file_cache_hits_total",
                       "drover_file_cache_misses_total"):
            self.assertIn("# TYPE %s " % family, text)
        self.assertIn('le="+Inf"', text)
        self.assertEqual(value(s, "drover_workers", generation="1"), 2)
        self.assertAlmostEqual(value(s, "drover_start_time_seconds"), time.time(), delta=60)
        if why is not None:
            print("SKIP promtool: %s" % why)
            return
        promtool_check(self, r.body)

    def test_counts_match_requests(self):
        # Scrapes are GET 2xx: the test's own requests are GET 4xx and HEAD
        # 2xx, which nothing else makes.
        for i in range(7):
            self.assertEqual(get(self.port, "/missing-%d" % i).status, 404)
        for _ in range(5):
            self.assertEqual(get(self.port, "/index.html", method="HEAD").status, 200)
        self.wait_value(7, "drover_http_requests_total", code="4xx", method="GET")
        s = self.wait_value(5, "drover_http_requests_total", code="2xx", method="HEAD")
        n = sum(v for (name, _), v in s.items() if name == "drover_http_requests_total")
        # Every response written is timed (the last scrape's own is not yet).
        self.assertGreaterEqual(value(s, "drover_http_request_duration_seconds_count"), n - 1)
        self.assertGreater(value(s, "drover_http_request_duration_seconds_sum"), 0)
        self.assertGreater(value(s, "drover_http_request_bytes_total"), 12 * 30)
        self.assertGreater(value(s, "drover_http_response_bytes_total"), 12 * 100)
        self.assertGreaterEqual(value(s, "drover_connections_accepted_total"), 12)
        # Every request above looked a path up (entries live a second).
        self.assertGreaterEqual(value(s, "drover_file_cache_hits_total") +
                                value(s, "drover_file_cache_misses_total"), 12)
        self.assertGreaterEqual(value(s, "drover_file_cache_hits_total"), 1)
        self.assertGreaterEqual(value(s, "drover_file_cache_misses_total"), 7)
        # An unknown method is counted as "other", not by its name.
        self.assertEqual(get(self.port, "/", method="BREW").status, 501)
        self.wait_value(1, "drover_http_requests_total", code="5xx", method="other")

    def test_counters_survive_kill_and_reload(self):
        for i in range(20):
            get(self.port, "/missing-%d" % i)
        before = counters(self.wait_value(20, "drover_http_requests_total", code="4xx", method="GET"))
        victim = self.srv.workers()[0]
        self.srv.signal(signal.SIGKILL, victim)
        s = self.wait_value(1, "drover_worker_restarts_total", reason="crash", timeout=10)
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 2 and victim not in self.srv.workers(),
                                   timeout=10))
        after_kill = counters(s)
        for k, v in before.items():
            self.assertGreaterEqual(after_kill.get(k, -1), v, "%r went back after kill -9" % (k,))
        self.assertEqual(value(s, "drover_http_requests_total", code="4xx", method="GET"), 20)

        t0 = time.time()
        p = self.srv.run("-s", "reload", timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode("utf-8", "replace") + self.srv.diag())
        s = self.wait_value(1, "drover_reloads_total", result="ok")
        self.wait_for(lambda s: value(s, "drover_workers", generation="1") is None,
                      "generation 1 did not leave", timeout=10)
        s = scrape(self.port)[1]
        for k, v in after_kill.items():
            self.assertGreaterEqual(counters(s).get(k, -1), v, "%r went back after a reload" % (k,))
        self.assertEqual(value(s, "drover_http_requests_total", code="4xx", method="GET"), 20)
        self.assertEqual(value(s, "drover_workers", generation="2"), 2)
        self.assertGreaterEqual(value(s, "drover_last_reload_success_timestamp_seconds"), t0 - 1)

        # A reload the master refuses (SIGHUP with a bad file) is counted
        # as refused.
        good = open(self.srv.conf_path).read()
        self.srv.write_config("workers: [oops\n")
        self.srv.signal(signal.SIGHUP)
        s = self.wait_value(1, "drover_reloads_total", result="refused")
        # drover -s reload with the bad file reaches the master too: it
        # refuses, logs and counts it, and the client says why.
        before = len(self.srv.log_text())
        p = self.srv.run("-s", "reload", timeout=30)
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 1, err)
        self.assertIn(os.path.basename(self.srv.conf_path), err)
        self.assertIn("configuration is unchanged", err)
        s = self.wait_value(2, "drover_reloads_total", result="refused")
        log = self.srv.log_text()[before:]
        self.assertIn("reload failed", log, log)
        self.assertIn("drover.yaml:", log, log)
        self.srv.write_config(good)
        self.assertEqual(value(s, "drover_reloads_total", result="ok"), 1)
        self.assertEqual(value(s, "drover_workers", generation="2"), 2)

    def test_slow_client_lands_in_high_buckets(self):
        size = 8 << 20
        self.srv.write_file("big.bin", os.urandom(size))
        base = scrape(self.port)[1]
        fast_before = value(base, "drover_http_request_duration_seconds_bucket", le="0.1")
        # A small receive window, read slowly: the server cannot hand the
        # last byte to the kernel until the client has read most of it.
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.settimeout(10)
        c.connect(("127.0.0.1", self.port))
        c.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got, t0 = 0, time.monotonic()
        for _ in range(20000):
            b = c.recv(32768)
            if not b:
                break
            got += len(b)
            time.sleep(0.01)
            if time.monotonic() - t0 > 30:
                break
        c.close()
        self.assertGreater(got, size)
        def slow(s):
            return value(s, "drover_http_request_duration_seconds_count") - \
                value(s, "drover_http_request_duration_seconds_bucket", le="0.1")
        # The slow one is above 0.1 s; the scrapes around it are not.
        s = self.wait_for(lambda s: slow(s) >= 1, "no request above 0.1 s",
                          show=lambda s: sorted((dict(k[1]).get("le"), v) for k, v in s.items()
                                                if k[0] == "drover_http_request_duration_seconds_bucket"))
        self.assertEqual(slow(base), 0)
        self.assertGreater(value(s, "drover_http_request_duration_seconds_bucket", le="0.1"), fast_before)
        self.assertGreater(value(s, "drover_http_request_duration_seconds_sum"), 0.25)


class MetricsAllowTest(ServerTestCase):
    server_kwargs = {"workers": 1, "metrics": {"path": "/metrics", "allow": ["10.1.2.3"]}}

    def test_not_allowed_from_loopback(self):
        r = get(self.port, "/metrics")
        self.assertEqual(r.status, 403)
        self.assertNotIn(b"drover_", r.body)
        self.assertEqual(get(self.port, "/").status, 200)


class MetricsConfigTest(ServerTestCase):
    start_server = False

    def test_bad_metrics_path(self):
        self.srv.conf["metrics"] = {"path": "metrics"}
        self.srv.write_config()
        p = self.srv.run("-t")
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(p.stderr.decode("utf-8", "replace"),
                         r"%s:\d+: metrics\.path" % re.escape(self.srv.conf_path))

    def test_off_by_default(self):
        self.srv.start()
        self.assertEqual(get(self.port, "/metrics").status, 404)

    def test_section_leaves_top_level_keys_alone(self):
        # A metrics section once shared its scope bit with hosts: the
        # top-level keys a host may set (access_log, root, ...) were taken
        # as defaults inside it, and the access log went off.
        self.srv.conf["metrics"] = METRICS
        self.srv.write_config()
        p = self.srv.run("-T")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode("utf-8", "replace")
        self.assertIn('access_log: "%s"' % self.srv.access_log, out)
        section = out[out.index("\nmetrics:"):].split("\n")[2:]
        inner = [l for l in section[:section.index(next(l for l in section if l and not l.startswith(" ")))]
                 if l.strip() and not l.strip().startswith("#")]
        self.assertEqual(sorted(l.split(":")[0].strip() for l in inner), ["allow", "path"], inner)
        self.srv.start()
        get(self.port, "/")
        self.assertTrue(wait_until(lambda: "GET / HTTP/1.1" in self.srv.read(self.srv.access_log),
                                   timeout=5, interval=0.2), self.srv.diag())


class PrometheusScrapeTest(ScrapeMixin, ServerTestCase):
    """A real Prometheus scrapes drover and its HTTP API reports the figure."""
    server_kwargs = {"workers": 2, "metrics": METRICS}

    def test_prometheus_scrape(self):
        why = have_prometheus()
        if why is not None:
            print("SKIP: %s" % why)
            self.skipTest(why)
        # GET 4xx: requests only the test makes (scrapes are GET 2xx).
        for i in range(9):
            self.assertEqual(get(self.port, "/nothing-%d" % i).status, 404)
        self.wait_value(9, "drover_http_requests_total", code="4xx", method="GET")

        prom = Prometheus(self, self.port)
        result = prom.wait_result('drover_http_requests_total{code="4xx",method="GET"}')
        self.assertEqual(len(result), 1, result)
        self.assertEqual(float(result[0]["value"][1]), 9)
        self.assertEqual(result[0]["metric"]["job"], "drover")
        up = prom.query('up{job="drover"}')
        self.assertEqual(float(up[0]["value"][1]), 1)


if __name__ == "__main__":
    run_main()
