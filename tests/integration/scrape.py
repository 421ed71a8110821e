"""drover's /metrics page read as Prometheus reads it, for the tests of
test_metrics.py, test_metrics_tls_hosts.py and test_proxy_metrics.py.

A scrape is a GET of the page, parsed into {(name, frozenset of label
pairs): float}; value() and series() pick samples out of it. ScrapeMixin
gives a test case the waits on a figure (reports reach the master within a
second, so a count is waited for, never read once); promtool_check() runs
promtool on a page, and Prometheus runs a real one against the server. A
peer that is missing is installed when we may (have_prometheus) or the
test skips.

Every loop is bounded in count and in time; the Prometheus started here is
stopped by its Popen, in the test's cleanups. Stdlib only, beside
harness.py, not a test.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import urllib.parse
import urllib.request

from harness import free_port, get, port_accepts, wait_until

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse(text):
    """{(name, frozenset of label pairs): float} of a text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise AssertionError("not a sample line: %r" % line)
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    """The sample name{labels} (exactly those labels), or None."""
    return samples.get((name, frozenset(labels.items())))


def series(samples, name, **labels):
    """Every sample of name whose labels include labels: {labels: value}."""
    want = set(labels.items())
    return {k[1]: v for k, v in samples.items() if k[0] == name and want <= set(k[1])}


def scrape(port, path="/metrics"):
    """(the response, its samples); an AssertionError unless a 200."""
    r = get(port, path)
    if r.status != 200:
        raise AssertionError("GET %s: %d %r" % (path, r.status, r.body[:200]))
    return r, parse(r.body.decode("utf-8"))


class ScrapeMixin(object):
    """Waits on the figures of self.srv's page, for a ServerTestCase or a
    SharedServerTestCase."""

    scrape_interval = 0.2
    scrape_show = None  # what of a page a failed wait shows; None: all of it

    def wait_for(self, pred, what, timeout=5, show=None):
        """Scrapes until pred(samples) is true and returns those samples;
        else fails with what, show(the last samples) (default: scrape_show)
        and the server's diagnostics."""
        last = {}

        def ok():
            last["s"] = scrape(self.srv.port)[1]
            return pred(last["s"])
        if not wait_until(ok, timeout=timeout, interval=self.scrape_interval):
            show = show or self.scrape_show or (lambda s: s)
            self.fail("%s; have %r%s" % (what, show(last.get("s", {})), self.srv.diag()))
        return last["s"]

    def wait_value(self, want, name, timeout=5, **labels):
        """Waits until a scrape shows name{labels} == want; returns the
        samples of that scrape."""
        return self.wait_for(lambda s: value(s, name, **labels) == want,
                             "%s%r: want %r" % (name, labels, want), timeout=timeout,
                             show=lambda s: value(s, name, **labels))


def have_prometheus():
    """promtool and prometheus, installing the Debian package when they are
    missing and we may (root, apt-get). Returns None, or why not."""
    if shutil.which("promtool") and shutil.which("prometheus"):
        return None
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return "prometheus is not installed and apt-get cannot install it here"
    try:
        subprocess.run(["apt-get", "install", "-y", "prometheus"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "apt-get install -y prometheus failed: %s" % e
    if shutil.which("promtool") and shutil.which("prometheus"):
        return None
    return "apt-get install -y prometheus did not install promtool and prometheus"


def promtool_check(test, body):
    """`promtool check metrics` accepts body (bytes) without a word."""
    p = subprocess.run(["promtool", "check", "metrics"], input=body, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30)
    test.assertEqual(p.returncode, 0, p.stdout.decode("utf-8", "replace"))
    test.assertEqual(p.stdout.strip(), b"", p.stdout.decode("utf-8", "replace"))


class Prometheus(object):
    """A real Prometheus scraping 127.0.0.1:target every second (job
    "drover"), in a temporary directory; test's cleanups stop it (SIGTERM,
    then SIGKILL after 10 s) and remove the directory. Check
    have_prometheus() first."""

    def __init__(self, test, target):
        self.test = test
        d = tempfile.mkdtemp(prefix="drover-prom-")
        test.addCleanup(shutil.rmtree, d, True)
        conf = os.path.join(d, "prometheus.yml")
        with open(conf, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n"
                    "  - job_name: drover\n"
                    "    static_configs: [{targets: ['127.0.0.1:%d']}]\n" % target)
        self.log_path = os.path.join(d, "prometheus.log")
        self.port = free_port()
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["prometheus", "--config.file=" + conf,
                                      "--storage.tsdb.path=" + os.path.join(d, "data"),
                                      "--web.listen-address=127.0.0.1:%d" % self.port],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=d)
        log.close()
        test.addCleanup(self.stop)
        test.assertTrue(wait_until(lambda: port_accepts(self.port, 0.2), timeout=20, interval=0.2),
                        "prometheus did not listen")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def query(self, q):
        """The result list of an instant query (OSError when the HTTP API
        does not answer, or refuses the query)."""
        url = "http://127.0.0.1:%d/api/v1/query?%s" % (self.port, urllib.parse.urlencode({"query": q}))
        with urllib.request.urlopen(url, timeout=5) as f:
            answer = json.loads(f.read().decode("utf-8"))
        self.test.assertEqual(answer.get("status"), "success", answer)
        return answer["data"]["result"]

    def wait_result(self, q, timeout=30):
        """The first non-empty result of q (the first scrapes take a few
        seconds); fails with the end of Prometheus's log if none comes."""
        res = {}

        def scraped():
            try:
                res["r"] = self.query(q)
            except OSError:
                return False
            return bool(res["r"])
        if not wait_until(scraped, timeout=timeout, interval=0.5):
            with open(self.log_path, "rb") as f:
                self.test.fail("no scrape within %d s: %r\n%s" % (timeout, res.get("r"),
                                                                  f.read()[-2000:]))
        return res["r"]
