#!/usr/bin/env python3
"""The reverse proxy's figures in /metrics (doc/configuration.md "Status and
metrics"): real proxied requests to real Python upstreams (upstream_app.py),
a port where nothing listens (502), a server that never answers (504), a
refused first server (a retry), then the scrape: counts exact, the histogram
consistent with the responses and with a slow response's bucket, a page that
promtool accepts and a real Prometheus scrapes (histogram_quantile works on
it), counters that survive a worker's kill -9 and a reload that adds an
upstream."""

import json
import os
import shutil
import signal
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ServerTestCase, free_port, get, port_accepts, run_main,  # noqa: E402
                     wait_until)
from test_metrics import have_prometheus, parse, scrape, value  # noqa: E402
from upstream_app import App, Hang, assert_no_crash  # noqa: E402

import subprocess  # noqa: E402


def series(samples, name, **labels):
    """Every sample of name whose labels include labels: {labels: value}."""
    want = set(labels.items())
    return {k[1]: v for k, v in samples.items() if k[0] == name and want <= set(k[1])}


class ProxyMetricsTest(ServerTestCase):
    start_server = False

    def setUp(self):
        super().setUp()
        self.addCleanup(assert_no_crash, self, self.srv)
        self.a = App("a")
        self.b = App("b")
        self.hang = Hang()
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

    def wait_metric(self, want, name, timeout=5, **labels):
        last = {}

        def ok():
            last["s"] = scrape(self.port)[1]
            return value(last["s"], name, **labels) == want
        if not wait_until(ok, timeout=timeout, interval=0.1):
            self.fail("%s%r: want %r, have %r%s" % (name, labels, want,
                                                   value(last["s"], name, **labels), self.srv.diag()))
        return last["s"]

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
            s = self.wait_metric(n, "drover_upstream_requests_total", upstream=name)
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
        self.wait_metric(2, "drover_http_requests_total", method="GET", code="5xx")

    def test_promtool_accepts_the_page(self):
        self.assertEqual(get(self.port, "/one/x").status, 200)
        self.assertEqual(get(self.port, "/refused/x").status, 502)
        self.wait_metric(1, "drover_upstream_requests_total", upstream="refused")
        why = have_prometheus()
        if why is not None:
            self.skipTest(why)
        r, _ = scrape(self.port)
        p = subprocess.run(["promtool", "check", "metrics"], input=r.body, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout.decode("utf-8", "replace"))
        self.assertEqual(p.stdout.strip(), b"", p.stdout.decode("utf-8", "replace"))

    def test_prometheus_scrapes_the_upstream_families(self):
        why = have_prometheus()
        if why is not None:
            self.skipTest(why)
        for i in range(4):
            self.assertEqual(get(self.port, "/one/p%d" % i).status, 200)
        self.assertEqual(get(self.port, "/refused/p").status, 502)
        self.wait_metric(4, "drover_upstream_requests_total", upstream="one")
        d = tempfile.mkdtemp(prefix="drover-prom-")
        self.addCleanup(shutil.rmtree, d, True)
        conf = os.path.join(d, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n  - job_name: drover\n"
                    "    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % self.port)
        pport = free_port()
        log = open(os.path.join(d, "prometheus.log"), "wb")
        proc = subprocess.Popen(["prometheus", "--config.file=" + conf,
                                 "--storage.tsdb.path=" + os.path.join(d, "data"),
                                 "--web.listen-address=127.0.0.1:%d" % pport],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=d)
        log.close()

        def stop():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
        self.addCleanup(stop)
        self.assertTrue(wait_until(lambda: port_accepts(pport, 0.2), timeout=20, interval=0.2),
                        "prometheus did not listen")

        def query(q):
            url = "http://127.0.0.1:%d/api/v1/query?%s" % (pport, urllib.parse.urlencode({"query": q}))
            with urllib.request.urlopen(url, timeout=5) as f:
                return json.loads(f.read().decode("utf-8"))["data"]["result"]
        res = {}

        def scraped():
            try:
                res["r"] = query('drover_upstream_requests_total{upstream="one"}')
            except OSError:
                return False
            return bool(res["r"])
        if not wait_until(scraped, timeout=30, interval=0.5):
            with open(os.path.join(d, "prometheus.log"), "rb") as f:
                self.fail("no scrape within 30 s: %r\n%s" % (res.get("r"), f.read()[-2000:]))
        self.assertEqual(float(res["r"][0]["value"][1]), 4)
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
        self.wait_metric(5, "drover_upstream_requests_total", upstream="one")
        # Counted into shared memory at once: a worker killed right after
        # loses nothing.
        for pid in self.srv.workers():
            self.srv.signal(signal.SIGKILL, pid)
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 2, timeout=10),
                        self.srv.diag())
        self.srv.wait_serving()
        s = self.wait_metric(5, "drover_upstream_requests_total", upstream="one")
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
        s = self.wait_metric(4, "drover_upstream_requests_total", upstream="two")
        self.assertEqual(value(s, "drover_upstream_requests_total", upstream="one"), 5)
        self.assertEqual(value(s, "drover_upstream_responses_total", upstream="two",
                               server=self.B, code="2xx"), 4)
        # The gauge covers the serving configuration only.
        self.assertIsNone(value(s, "drover_upstream_server_down", upstream="hang",
                                server=self.HANG, check="passive"))


class ProxyMetricsReloadFromNoneTest(ServerTestCase):
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

        def three():
            return value(scrape(self.port)[1], "drover_upstream_requests_total",
                         upstream="app") == 3
        self.assertTrue(wait_until(three, timeout=5), scrape(self.port)[0].body[-3000:])


if __name__ == "__main__":
    run_main()
