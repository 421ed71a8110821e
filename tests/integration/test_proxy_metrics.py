#!/usr/bin/env python3
"""The reverse proxy's figures in /metrics (doc/configuration.md "Status and
metrics"): real proxied requests to real Python upstreams (upstreams.py),
a port where nothing listens (502), a server that never answers (504), a
refused first server (a retry), then the scrape: counts exact, the histogram
consistent with the responses and with a slow response's bucket, a page that
promtool accepts and a real Prometheus scrapes (histogram_quantile works on
it), counters that survive a worker's kill -9 and a reload that adds an
upstream."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ServerTestCase, free_port, get, run_main, wait_until  # noqa: E402
from scrape import (Prometheus, ScrapeMixin, have_prometheus, promtool_check,  # noqa: E402
                    scrape, series, value)
from upstreams import App, RawServer, assert_no_crash, silent  # noqa: E402


class ProxyMetricsTest(ScrapeMixin, ServerTestCase):
    start_server = False
    scrape_interval = 0.1

    def setUp(self):
        super().setUp()
        self.addCleanup(assert_no_crash, self, self.srv)
        self.a = App("a")
        self.b = App("b")
        self.hang = RawServer(silent)  # accepts, never answers
        self.addCleanup(self.a.stop)
        self.addCleanup(self.b.stop)
        self.addCleanup(self.hang.stop)
        self.nothing = free_port()  # nothing listens there
        self.nothing2 = free_port()
        self.A = "127.0.0.1:%d" % self.a.port
        self.B = "127.0.0.1:%d" % self.b.port
        self.NOTHING = "127.0.0.1:%d" % self.nothing
        self.NOTHING2 = "127.0.0.1:%d" % self.nothing2
        self.HANG = "127.0.0.1:%d" % self.hang.port
        srv = self.srv
        srv.conf["workers"] = 2
        srv.conf["metrics"] = {"path": "/metrics"}
        srv.conf["upstreams"] = {
            "one": {"servers": [self.A]},
            "refused": {"servers": [self.NOTHING]},
            "hang": {"servers": [self.HANG], "read_timeout": "1s"},
            "retry": {"servers": [self.NOTHING2, self.B]},
        }
        srv.conf["locations"] = {
            "/one/": {"proxy": "one"},
            "/refused/": {"proxy": "refused"},
            "/hang/": {"proxy": "hang"},
            "/retry/": {"proxy": "retry"},
        }
        srv.write_config()
        srv.start()

    def test_counts_exact_and_histogram_consistent(self):
        for i in range(7):
            r = get(self.port, "/one/x%d" % i)
            self.assertEqual(r.status, 200, r.body)
        self.assertEqual(get(self.port, "/one/missing").status, 404)
        t0 = time.monotonic()
        self.assertEqual(get(self.port, "/one/slow?ms=300").status, 200)
        slow = time.monotonic() - t0
        self.assertEqual(get(self.port, "/refused/x").status, 502)
        t0 = time.monotonic()
        self.assertEqual(get(self.port, "/hang/x", timeout=10).status, 504)
        self.assertLess(time.monotonic() - t0, 4)
        r = get(self.port, "/retry/x")
        self.assertEqual((r.status, r.header("X-App")), (200, "b"))
        self.assertEqual(len(self.a.paths()), 9)

        # Counted when each exchange ends, a moment after the client has its
        # response (in whichever worker served it): wait for each.
        for name, n in (("refused", 1), ("hang", 1), ("retry", 1), ("one", 9)):
            s = self.wait_value(n, "drover_upstream_requests_total", upstream=name)
        A, B = self.A, self.B
        self.assertEqual(value(s, "drover_upstream_attempts_total", upstream="one", server=A), 9)
        self.assertEqual(value(s, "drover_upstream_responses_total", upstream="one", server=A,
                               code="2xx"), 8)
        self.assertEqual(value(s, "drover_upstream_responses_total", upstream="one", server=A,
                               code="4xx"), 1)
        self.assertEqual(value(s, "drover_upstream_retries_total", upstream="one"), 0)
        self.assertEqual(value(s, "drover_upstream_gateway_errors_total", upstream="one",
                               code="502"), 0)
        # The refused server: one try, one connect failure, one 502.
        self.assertEqual(value(s, "drover_upstream_requests_total", upstream="refused"), 1)
        self.assertEqual(value(s, "drover_upstream_gateway_errors_total", upstream="refused",
                               code="502"), 1)
        self.assertEqual(value(s, "drover_upstream_connect_failures_total", upstream="refused",
                               server=self.NOTHING), 1)
        self.assertEqual(value(s, "drover_upstream_attempts_total", upstream="refused",
                               server=self.NOTHING), 1)
        # A group of one server is never taken out (as in nginx).
        self.assertEqual(value(s, "drover_upstream_server_down", upstream="refused",
                               server=self.NOTHING, check="passive"), 0)
        # The hanging server: a 504, no response head, no connect failure.
        self.assertEqual(value(s, "drover_upstream_gateway_errors_total", upstream="hang",
                               code="504"), 1)
        self.assertEqual(value(s, "drover_upstream_gateway_errors_total", upstream="hang",
                               code="502"), 0)
        self.assertEqual(value(s, "drover_upstream_connect_failures_total", upstream="hang",
                               server=self.HANG), 0)
        self.assertEqual(value(s, "drover_upstream_response_duration_seconds_count",
                               upstream="hang", server=self.HANG), 0)
        # The retry: the refused first server, then b.
        self.assertEqual(value(s, "drover_upstream_requests_total", upstream="retry"), 1)
        self.assertEqual(value(s, "drover_upstream_retries_total", upstream="retry"), 1)
        self.assertEqual(value(s, "drover_upstream_attempts_total", upstream="retry",
                               server=self.NOTHING2), 1)
        self.assertEqual(value(s, "drover_upstream_attempts_total", upstream="retry", server=B), 1)
        self.assertEqual(value(s, "drover_upstream_connect_failures_total", upstream="retry",
                               server=self.NOTHING2), 1)
        self.assertEqual(value(s, "drover_upstream_responses_total", upstream="retry", server=B,
                               code="2xx"), 1)
        self.assertEqual(value(s, "drover_upstream_gateway_errors_total", upstream="retry",
                               code="502"), 0)
        # One failure of two servers takes it out (max_fails 1) in that worker.
        self.assertEqual(value(s, "drover_upstream_server_down", upstream="retry",
                               server=self.NOTHING2, check="passive"), 1)
        self.assertEqual(value(s, "drover_upstream_server_down", upstream="retry", server=B,
                               check="passive"), 0)
        # No health checks configured: no active gauge.
        self.assertIsNone(value(s, "drover_upstream_server_down", upstream="one", server=A,
                                check="active"))

        # Histograms: count = +Inf = the responses; buckets never go down;
        # the slow response is above 250 ms and within its measured time.
        for key, v in series(s, "drover_upstream_response_duration_seconds_count").items():
            labels = dict(key)
            resp = sum(series(s, "drover_upstream_responses_total", **labels).values())
            self.assertEqual(v, resp, labels)
            buckets = sorted(((float(dict(k)["le"]), b) for k, b in
                              series(s, "drover_upstream_response_duration_seconds_bucket",
                                     **labels).items()))
            self.assertEqual(buckets[-1], (float("inf"), v), labels)
            self.assertEqual([b for _, b in buckets], sorted(b for _, b in buckets), labels)
        one = dict(upstream="one", server=A)
        total = value(s, "drover_upstream_response_duration_seconds_sum", **one)
        self.assertGreaterEqual(total, 0.3)
        self.assertLess(total, 0.3 + 8 * 1.0)
        self.assertEqual(value(s, "drover_upstream_response_duration_seconds_bucket", le="0.25",
                               **one), 8)
        self.assertEqual(value(s, "drover_upstream_response_duration_seconds_bucket", le="0.5",
                               **one), 9 if slow < 0.5 else 8)
        # The 502 and the 504 are in the front's own counts too (reported
        # within a second).
        self.wait_value(2, "drover_http_requests_total", method="GET", code="5xx")

    def test_promtool_accepts_the_page(self):
        self.assertEqual(get(self.port, "/one/x").status, 200)
        self.assertEqual(get(self.port, "/refused/x").status, 502)
        self.wait_value(1, "drover_upstream_requests_total", upstream="refused")
        why = have_prometheus()
        if why is not None:
            self.skipTest(why)
        r, _ = scrape(self.port)
        promtool_check(self, r.body)

    def test_prometheus_scrapes_the_upstream_families(self):
        why = have_prometheus()
        if why is not None:
            self.skipTest(why)
        for i in range(4):
            self.assertEqual(get(self.port, "/one/p%d" % i).status, 200)
        self.assertEqual(get(self.port, "/refused/p").status, 502)
        self.wait_value(4, "drover_upstream_requests_total", upstream="one")
        prom = Prometheus(self, self.port)
        query = prom.query
        res = prom.wait_result('drover_upstream_requests_total{upstream="one"}')
        self.assertEqual(float(res[0]["value"][1]), 4)
        self.assertEqual(float(query('up{job="drover"}')[0]["value"][1]), 1)
        count = query('drover_upstream_response_duration_seconds_count{upstream="one"}')
        self.assertEqual([float(c["value"][1]) for c in count], [4])
        gw = query('drover_upstream_gateway_errors_total{upstream="refused",code="502"}')
        self.assertEqual(float(gw[0]["value"][1]), 1)
        # The histogram is one Prometheus understands.
        q = query('histogram_quantile(0.5, drover_upstream_response_duration_seconds_bucket'
                  '{upstream="one"})')
        self.assertEqual(len(q), 1, q)
        self.assertGreater(float(q[0]["value"][1]), 0)

    def test_counts_survive_kill_and_reload_that_adds_an_upstream(self):
        for i in range(5):
            self.assertEqual(get(self.port, "/one/k%d" % i).status, 200)
        self.wait_value(5, "drover_upstream_requests_total", upstream="one")
        # Counted into shared memory at once: a worker killed right after
        # loses nothing.
        for pid in self.srv.workers():
            self.srv.signal(signal.SIGKILL, pid)
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 2, timeout=10),
                        self.srv.diag())
        self.srv.wait_serving()
        s = self.wait_value(5, "drover_upstream_requests_total", upstream="one")
        self.assertEqual(value(s, "drover_upstream_attempts_total", upstream="one",
                               server=self.A), 5)
        # A reload that adds an upstream (and drops one): the new one is
        # counted, the old counts stay.
        self.srv.conf["upstreams"]["two"] = {"servers": [self.B]}
        self.srv.conf["locations"]["/two/"] = {"proxy": "two"}
        del self.srv.conf["upstreams"]["hang"]
        del self.srv.conf["locations"]["/hang/"]
        self.srv.write_config()
        before = self.srv.log_text().count("reload done")
        self.srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: self.srv.log_text().count("reload done") > before,
                                   timeout=10), self.srv.diag())
        ok = wait_until(lambda: get(self.port, "/two/x").status == 200, timeout=5)
        self.assertTrue(ok, self.srv.diag())
        # A fresh connection may still reach a draining worker (404 there).
        served = 1
        for i in range(20):
            served += get(self.port, "/two/y%d" % i).status == 200
            if served == 4:
                break
        self.assertEqual(served, 4)
        s = self.wait_value(4, "drover_upstream_requests_total", upstream="two")
        self.assertEqual(value(s, "drover_upstream_requests_total", upstream="one"), 5)
        self.assertEqual(value(s, "drover_upstream_responses_total", upstream="two",
                               server=self.B, code="2xx"), 4)
        # The gauge covers the serving configuration only.
        self.assertIsNone(value(s, "drover_upstream_server_down", upstream="hang",
                                server=self.HANG, check="passive"))


class ProxyMetricsReloadFromNoneTest(ScrapeMixin, ServerTestCase):
    """A server started without upstreams maps the table at the reload that
    brings the first ones."""

    server_kwargs = {"workers": 1, "metrics": {"path": "/metrics"}}

    def test_first_upstreams_by_reload(self):
        a = App("a")
        self.addCleanup(a.stop)
        r, s = scrape(self.port)
        self.assertNotIn(b"drover_upstream_", r.body)
        self.srv.conf["upstreams"] = {"app": {"servers": ["127.0.0.1:%d" % a.port]}}
        self.srv.conf["locations"] = {"/app/": {"proxy": "app"}}
        self.srv.write_config()
        self.srv.signal(signal.SIGHUP)
        ok = wait_until(lambda: get(self.port, "/app/x").status == 200, timeout=10)
        self.assertTrue(ok, self.srv.diag())
        for i in range(2):
            self.assertEqual(get(self.port, "/app/%d" % i).status, 200)
        self.wait_value(3, "drover_upstream_requests_total", upstream="app")


if __name__ == "__main__":
    run_main()
