#!/usr/bin/env python3
"""Access control (README "Access control") against the real binary:
allow/deny over IPv4 and IPv6 (deny first, 403), real_ip (the rightmost
untrusted X-Forwarded-For or Forwarded for=, used by allow and the access
log; a spoofed header from an untrusted peer ignored), basic auth with
password files made by Apache's htpasswd (bcrypt, apr1, SHA-256/512-crypt,
{SHA}; yescrypt by libxcrypt through Python's crypt), 401 with its
WWW-Authenticate, malformed Authorization headers (bad base64, no colon, a
NUL, huge) all 401, auth: off in a location, the file re-read on reload, a
bcrypt credential hashed once per worker, failed logins limited with 429
without hashing; limit_req across 4 workers (one client over many
connections for 10 s: the accepted count within 5 % of the exact figure),
with a worker killed by SIGKILL mid-run, and across a reload; limit_conn;
the refusals in /metrics; config errors naming file, line and key.
Skips the auth tests when htpasswd is missing (scripts/deps --test installs
apache2-utils)."""

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True

from harness import (Conn, ServerTestCase, exchange, get, req, run_main, wait_until)
import h2client

HTPASSWD = shutil.which("htpasswd")


def basic(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def has_v6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def get6(port, path, headers=None):
    s = socket.create_connection(("::1", port), timeout=5)
    try:
        h = [("Connection", "close")] + list(headers or [])
        s.sendall(req("GET", path, headers=h))
        data = b""
        for _ in range(1000):
            b = s.recv(65536)
            if not b:
                break
            data += b
        return int(data.split(b" ", 2)[1])
    finally:
        s.close()


def status(port, path, headers=None):
    return get(port, path, headers=headers).status


class AddressTest(ServerTestCase):
    start_server = False

    def test_allow_deny_v4_v6(self):
        s = self.srv
        for d in ("v4", "v6", "both", "denied", "open"):
            s.write_file(d + "/index.html", d)
        s.conf["listen"] = ["127.0.0.1:%d" % s.port] + (["[::1]:%d" % s.port] if has_v6() else [])
        s.conf["locations"] = {
            "/v4/": {"allow": ["127.0.0.1"]},
            "/v6/": {"allow": ["::1"]},
            "/both/": {"allow": ["127.0.0.0/8", "::1/128"]},
            # deny is checked first: allow does not let 127.0.0.1 in again
            "/denied/": {"deny": ["127.0.0.0/24", "::/0"], "allow": ["127.0.0.1", "::1"]},
        }
        s.write_config()
        s.start()
        self.assertEqual(status(s.port, "/v4/"), 200)
        self.assertEqual(status(s.port, "/v6/"), 403)
        self.assertEqual(status(s.port, "/both/"), 200)
        self.assertEqual(status(s.port, "/denied/"), 403)
        self.assertEqual(status(s.port, "/open/"), 200)
        if has_v6():
            self.assertEqual(get6(s.port, "/v4/"), 403)
            self.assertEqual(get6(s.port, "/v6/"), 200)
            self.assertEqual(get6(s.port, "/both/"), 200)
            self.assertEqual(get6(s.port, "/denied/"), 403)

    def test_host_level_and_inherited(self):
        s = self.srv
        s.write_file("a/index.html", "a")
        s.conf["deny"] = ["127.0.0.1"]
        s.conf["locations"] = {"/a/": {"autoindex": True}, "/open/": {"deny": "none"}}
        s.write_file("open/index.html", "o")
        s.write_config()
        s.start()
        self.assertEqual(status(s.port, "/"), 403)
        self.assertEqual(status(s.port, "/a/"), 403)   # the location inherits deny
        self.assertEqual(status(s.port, "/open/"), 200)


class RealIpTest(ServerTestCase):
    start_server = False

    def setUp(self):
        super().setUp()
        self.srv.write_file("lan/index.html", "lan")
        self.srv.conf["locations"] = {"/lan/": {"allow": ["10.0.0.0/8"]}}

    def test_trusted_peer(self):
        s = self.srv
        s.conf["real_ip"] = {"header": "X-Forwarded-For", "trusted": ["127.0.0.1", "10.9.0.0/16"]}
        s.write_config()
        s.start()
        xff = lambda v: status(s.port, "/lan/", [("X-Forwarded-For", v)])
        self.assertEqual(status(s.port, "/lan/"), 403)           # the peer: 127.0.0.1
        self.assertEqual(xff("10.1.2.3"), 200)
        self.assertEqual(xff("10.1.2.3, 8.8.8.8"), 403)          # rightmost untrusted: 8.8.8.8
        self.assertEqual(xff("8.8.8.8, 10.1.2.3"), 200)          # what the client wrote is left of it
        self.assertEqual(xff("10.1.2.3, 10.9.1.1"), 200)         # a trusted proxy is skipped
        self.assertEqual(xff("10.1.2.3, garbage"), 403)          # garbage: the peer stays
        self.assertEqual(status(s.port, "/lan/", [("X-Forwarded-For", "8.8.8.8"),
                                                  ("X-Forwarded-For", "10.4.4.4")]), 200)
        self.assertEqual(xff("10.7.7.7"), 200)
        self.assertTrue(wait_until(lambda: "10.7.7.7 - - " in s.read(s.access_log), timeout=5),
                        s.read(s.access_log))

    def test_forwarded(self):
        s = self.srv
        s.conf["real_ip"] = {"header": "Forwarded", "trusted": ["127.0.0.1"]}
        s.write_config()
        s.start()
        fwd = lambda v: status(s.port, "/lan/", [("Forwarded", v)])
        self.assertEqual(fwd("for=10.1.1.1;proto=http"), 200)
        self.assertEqual(fwd('for="[2001:db8::1]:4711", for=10.1.1.1'), 200)
        self.assertEqual(fwd("for=10.1.1.1, for=192.0.2.1"), 403)
        self.assertEqual(fwd("for=unknown"), 403)

    def test_spoofed_from_untrusted_peer(self):
        s = self.srv
        s.conf["real_ip"] = {"header": "X-Forwarded-For", "trusted": ["192.0.2.1"]}
        s.write_config()
        s.start()
        self.assertEqual(status(s.port, "/lan/", [("X-Forwarded-For", "10.1.2.3")]), 403)
        get(s.port, "/", [("X-Forwarded-For", "10.66.66.66")])
        self.assertTrue(wait_until(lambda: "127.0.0.1 - - " in s.read(s.access_log), timeout=5))
        self.assertNotIn("10.66.66.66", s.read(s.access_log))

    def test_config_errors(self):
        s = self.srv
        for bad, key in ((("real_ip", {"header": "X-Forwarded-For"}), "real_ip"),
                         (("real_ip", {"trusted": ["10.0.0.0/40"]}), "real_ip"),
                         (("allow", ["300.1.1.1"]), "allow"),
                         (("deny", ["::g"]), "deny"),
                         (("limit_req", {"rate": "ten/s"}), "limit_req")):
            conf = dict(s.conf)
            conf[bad[0]] = bad[1]
            s.conf, saved = conf, s.conf
            s.write_config()
            s.conf = saved
            r = s.run("-t")
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertRegex(r.stderr.decode(), r"drover\.yaml:\d+: .*%s" % key)


@unittest.skipIf(HTPASSWD is None, "htpasswd is not installed (scripts/deps --test: apache2-utils)")
class AuthTest(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 1}

    def htpasswd(self, *args):
        subprocess.run([HTPASSWD] + list(args), check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)

    def setUp(self):
        super().setUp()
        s = self.srv
        self.pw = os.path.join(s.dir, "htpasswd")
        self.htpasswd("-bcB", "-C", "10", self.pw, "bcrypt", "pw-bcrypt")
        self.htpasswd("-bm", self.pw, "apr1", "pw-apr1")
        self.htpasswd("-bs", self.pw, "sha1", "pw-sha1")
        self.htpasswd("-b2", self.pw, "sha256", "pw-sha256")
        self.htpasswd("-b5", self.pw, "sha512", "pw-sha512")
        try:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import crypt
            y = crypt.crypt("pw-yescrypt", "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$")
        except Exception:
            y = None
        if y and y.startswith("$y$"):
            with open(self.pw, "a") as f:
                f.write("yescrypt:%s\n" % y)
        self.yescrypt = bool(y and y.startswith("$y$"))
        s.write_file("admin/index.html", "secret page")
        s.write_file("admin/public/index.html", "public")
        s.conf["locations"] = {
            "/admin/": {"auth": {"realm": "Staff only", "htpasswd": self.pw}},
            "/admin/public/": {"auth": "off"},
        }
        s.write_config()

    def test_every_format(self):
        s = self.srv.start()
        kinds = ["bcrypt", "apr1", "sha1", "sha256", "sha512"] + (["yescrypt"] if self.yescrypt else [])
        with open(self.pw) as f:
            text = f.read()
        self.assertIn("bcrypt:$2y$10$", text)
        self.assertIn("apr1:$apr1$", text)
        self.assertIn("sha1:{SHA}", text)
        self.assertIn("sha256:$5$", text)
        self.assertIn("sha512:$6$", text)
        for k in kinds:
            r = get(s.port, "/admin/", [("Authorization", basic(k, "pw-" + k))])
            self.assertEqual(r.status, 200, k)
            self.assertEqual(r.body, b"secret page")
            r = get(s.port, "/admin/", [("Authorization", basic(k, "pw-" + k + "x"))])
            self.assertEqual(r.status, 401, k)
        r = get(s.port, "/admin/")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header("WWW-Authenticate"), 'Basic realm="Staff only", charset="UTF-8"')
        self.assertEqual(status(s.port, "/admin/public/"), 200)
        self.assertEqual(status(s.port, "/"), 200)

    def test_malformed(self):
        s = self.srv.start()
        for v in ["Basic !!!notbase64", "Basic " + base64.b64encode(b"nocolon").decode(),
                  "Basic " + base64.b64encode(b"apr1\x00:pw-apr1").decode(),
                  "Basic " + base64.b64encode(b"apr1:pw-apr1\x00").decode(),
                  "Basic", "Basic ", "Bearer abc", "basic=", "Basic " + "A" * 5000,
                  basic("nobody", "x"), basic("", "pw-apr1")]:
            r = get(s.port, "/admin/", [("Authorization", v)])
            self.assertEqual(r.status, 401, v[:40])
            self.assertTrue(r.header("WWW-Authenticate", "").startswith("Basic realm="))
        # two Authorization headers: refused, not guessed
        self.assertEqual(status(s.port, "/admin/", [("Authorization", basic("apr1", "pw-apr1")),
                                                    ("Authorization", basic("apr1", "pw-apr1"))]), 401)
        # a NUL byte in the header line itself is the parser's 400
        r = exchange(s.port, b"GET /admin/ HTTP/1.1\r\nHost: a\r\nAuthorization: Basic a\x00b\r\n\r\n")
        self.assertIn(r.status, (400, 401))
        self.assertEqual(status(s.port, "/admin/", [("Authorization", basic("apr1", "pw-apr1"))]), 200)

    def test_bcrypt_hashed_once(self):
        s = self.srv
        self.htpasswd("-bB", "-C", "13", self.pw, "slow", "pw-slow")
        s.start()
        h = [("Authorization", basic("slow", "pw-slow"))]
        t0 = time.monotonic()
        self.assertEqual(status(s.port, "/admin/", h), 200)
        first = time.monotonic() - t0
        t0 = time.monotonic()
        for _ in range(20):
            self.assertEqual(status(s.port, "/admin/", h), 200)
        rest = (time.monotonic() - t0) / 20
        self.assertGreater(first, 0.1)             # cost 13 takes ~0.5 s here
        self.assertLess(rest, first / 5, (first, rest))

    def test_hashing_does_not_stall_the_loop(self):
        s = self.srv
        self.htpasswd("-bB", "-C", "14", self.pw, "slow", "pw-slow")
        s.start()   # one worker: any stall would show on the other connection
        result = {}

        def slow():
            t0 = time.monotonic()
            result["status"] = status(s.port, "/admin/", [("Authorization", basic("slow", "pw-slow"))])
            result["took"] = time.monotonic() - t0

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.1)
        worst = 0
        for _ in range(10):
            t0 = time.monotonic()
            self.assertEqual(status(s.port, "/"), 200)
            worst = max(worst, time.monotonic() - t0)
        t.join(30)
        self.assertEqual(result.get("status"), 200)
        self.assertGreater(result["took"], 0.5)     # cost 14: about a second
        self.assertLess(worst, 0.2, (worst, result))
        # a wrong password through the pool: 401 once, counted as a failure
        self.assertEqual(status(s.port, "/admin/", [("Authorization", basic("slow", "nope"))]), 401)

    def test_failures_limited_without_hashing(self):
        s = self.srv
        self.htpasswd("-bB", "-C", "12", self.pw, "slow", "pw-slow")
        s.start()
        codes = [status(s.port, "/admin/", [("Authorization", basic("slow", "guess%d" % i))])
                 for i in range(11)]
        self.assertEqual(codes, [401] * 11)
        t0 = time.monotonic()
        r = get(s.port, "/admin/", [("Authorization", basic("slow", "guess-more"))])
        took = time.monotonic() - t0
        self.assertEqual(r.status, 429)
        self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        self.assertLess(took, 0.1)   # a cost-12 bcrypt takes ~0.25 s: it was not run
        # the right password is refused too while limited: no oracle
        self.assertEqual(status(s.port, "/admin/", [("Authorization", basic("slow", "pw-slow"))]), 429)

    def test_reload_rereads_file(self):
        s = self.srv.start()
        self.assertEqual(status(s.port, "/admin/", [("Authorization", basic("new", "pw-new"))]), 401)
        self.htpasswd("-bm", self.pw, "new", "pw-new")
        self.htpasswd("-D", self.pw, "apr1")
        old = set(s.workers())
        s.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: s.workers() and not (set(s.workers()) & old), timeout=10))
        self.assertEqual(status(s.port, "/admin/", [("Authorization", basic("new", "pw-new"))]), 200)
        self.assertEqual(status(s.port, "/admin/", [("Authorization", basic("apr1", "pw-apr1"))]), 401)

    def test_bad_files(self):
        s = self.srv
        for text, where in (("ok:$apr1$abc$def\nplain:secret\n", ":2: user plain: a plaintext"),
                            ("des:rl0uE8PKJQ4Ec\n", ":1: user des: DES crypt")):
            with open(self.pw, "w") as f:
                f.write(text)
            r = s.run("-t")
            self.assertNotEqual(r.returncode, 0)
            err = r.stderr.decode()
            self.assertIn("auth: htpasswd: %s%s" % (self.pw, where), err)
            self.assertRegex(err, r"drover\.yaml:\d+: ")
        os.unlink(self.pw)
        r = s.run("-t")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("No such file", r.stderr.decode())


@unittest.skipUnless(h2client.available(), "python3-h2 is not installed")
@unittest.skipIf(HTPASSWD is None, "htpasswd is not installed")
class Http2Test(ServerTestCase):
    """The same checks over HTTP/2 (h2c): a stream waits for the hashing
    threads as an HTTP/1 request does while the connection's other streams
    and other connections go on; the answers are the same, and real_ip
    names the client in the log."""
    start_server = False
    server_kwargs = {"workers": 1, "http2_cleartext": True}

    def test_h2(self):
        s = self.srv
        pw = os.path.join(s.dir, "htpasswd")
        subprocess.run([HTPASSWD, "-bcB", "-C", "5", pw, "u", "p"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s.write_file("admin/index.html", "admin")
        s.write_file("lan/index.html", "lan")
        s.conf["real_ip"] = {"header": "X-Forwarded-For", "trusted": ["127.0.0.1"]}
        s.conf["locations"] = {"/admin/": {"auth": {"realm": "R", "htpasswd": pw}},
                               "/lan/": {"allow": ["10.0.0.0/8"]}}
        s.write_config()
        s.start()
        with h2client.H2(s.port) as c:
            st = c.get("/admin/")
            self.assertEqual(st.status, 401)
            auth = [("authorization", basic("u", "p"))]
            self.assertEqual(c.get("/admin/", auth).status, 200)
            self.assertEqual(c.get("/admin/", auth).status, 200)   # cached
            self.assertEqual(c.get("/admin/", [("authorization", basic("u", "q"))]).status, 401)
            self.assertEqual(c.get("/lan/").status, 403)
            self.assertEqual(c.get("/lan/", [("x-forwarded-for", "10.2.3.4")]).status, 200)
        self.assertTrue(wait_until(lambda: "10.2.3.4 - - " in s.read(s.access_log), timeout=5))

    def test_h2_stream_waits_off_the_loop(self):
        s = self.srv
        pw = os.path.join(s.dir, "htpasswd")
        subprocess.run([HTPASSWD, "-bcB", "-C", "14", pw, "slow", "pw-slow"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        s.write_file("admin/index.html", "admin")
        s.conf["locations"] = {"/admin/": {"auth": {"realm": "R", "htpasswd": pw}}}
        s.write_config()
        s.start()   # one worker: an inline hash would hold every stream
        with h2client.H2(s.port, timeout=30) as c:
            t0 = time.monotonic()
            slow = c.request("/admin/", [("authorization", basic("slow", "pw-slow"))])
            fast = c.request("/")
            self.assertTrue(c.pump(lambda: c.streams[fast].ended, 10))
            fast_took = time.monotonic() - t0
            self.assertFalse(c.streams[slow].ended)      # still being hashed
            worst = 0
            for _ in range(5):                        # another connection, meanwhile
                t1 = time.monotonic()
                self.assertEqual(status(s.port, "/"), 200)
                worst = max(worst, time.monotonic() - t1)
            self.assertTrue(c.pump(lambda: c.streams[slow].ended, 30))
            slow_took = time.monotonic() - t0
            self.assertEqual(c.streams[slow].status, 200)
            self.assertEqual(bytes(c.streams[slow].body), b"admin")
            self.assertEqual(c.streams[fast].status, 200)
            self.assertLess(fast_took, 0.2, (fast_took, slow_took))
            self.assertLess(worst, 0.2, (worst, slow_took))
            self.assertGreater(slow_took, 0.3)         # cost 14: it was hashed
            # cached now: the next stream is answered at once
            t2 = time.monotonic()
            self.assertEqual(c.get("/admin/", [("authorization", basic("slow", "pw-slow"))]).status, 200)
            self.assertLess(time.monotonic() - t2, 0.2)
        # a stream reset while its hash runs: the verdict resumes nothing
        with h2client.H2(s.port, timeout=30) as c:
            sid = c.request("/admin/", [("authorization", basic("slow", "other"))])
            c.conn.reset_stream(sid)
            c.flush()
            self.assertEqual(c.get("/").status, 200)
        time.sleep(1.5)
        with h2client.H2(s.port) as c:
            self.assertEqual(c.get("/").status, 200)   # the worker lived
        self.assertEqual(len(s.workers()), 1)


class ReadmeExampleTest(ServerTestCase):
    """The README's access-control example loads (drover -t), with its
    paths moved into a temp dir, and serves what it says."""
    start_server = False

    @unittest.skipIf(HTPASSWD is None, "htpasswd is not installed")
    def test_example(self):
        s = self.srv
        with open(os.path.join(os.environ.get("DROVER_SRCDIR", "."), "README")) as f:
            m = re.search(r"<!-- access-example -->\n```yaml\n(.*?)```\n<!-- /access-example -->",
                          f.read(), re.S)
        self.assertIsNotNone(m)
        text = m.group(1)
        for name in ("staging", "admin"):
            p = os.path.join(s.dir, name + ".htpasswd")
            subprocess.run([HTPASSWD, "-bcB", "-C", "5", p, "u", "p"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            text = text.replace("/etc/drover/%s.htpasswd" % name, p)
        for name in ("staging", "www"):
            os.makedirs(os.path.join(s.dir, name), exist_ok=True)
            with open(os.path.join(s.dir, name, "index.html"), "w") as f:
                f.write(name)
            text = text.replace("/srv/" + name, os.path.join(s.dir, name))
        text = text.replace('"0.0.0.0:8080"', '"127.0.0.1:%d"' % s.port)
        text += "pid_file: %s\nerror_log: %s\nworkers: 1\n" % (s.pid_file, s.error_log)
        s.write_config(text)
        r = s.run("-t")
        self.assertEqual(r.returncode, 0, r.stderr)
        s.start()
        host = lambda h, path, headers=None: exchange(s.port, req("GET", path, host=h, headers=[("Connection", "close")] + (headers or []))).status
        self.assertEqual(host("staging.example.com", "/"), 401)
        self.assertEqual(host("staging.example.com", "/", [("Authorization", basic("u", "p"))]), 200)
        self.assertEqual(host("staging.example.com", "/healthz"), 403)   # 127.0.0.1 is not the LB
        self.assertEqual(host("staging.example.com", "/healthz", [("X-Forwarded-For", "10.0.0.9")]), 403)
        self.assertEqual(host("www.example.com", "/"), 200)
        self.assertEqual(host("www.example.com", "/admin/"), 403)


def hammer(port, path, seconds, threads=8, headers=None):
    """One client (127.0.0.1) over a new connection per request, from
    several threads, for seconds: {status: count}."""
    counts = {}
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def run():
        for _ in range(100000):
            if time.monotonic() >= end:
                return
            try:
                st = get(port, path, headers=headers, timeout=5).status
            except (OSError, ValueError, EOFError):
                st = "error"
            with lock:
                counts[st] = counts.get(st, 0) + 1

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(seconds + 30)
    return counts


class LimitTest(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 4}

    def test_rate_across_workers(self):
        s = self.srv
        s.write_file("api/index.html", "api")
        s.conf["locations"] = {"/api/": {"limit_req": {"rate": "10/s", "burst": 0}}}
        s.write_config()
        s.start()
        t0 = time.monotonic()
        counts = hammer(s.port, "/api/", 10.0)
        took = time.monotonic() - t0
        exact = 1 + 10 * took
        ok = counts.get(200, 0)
        sys.stderr.write("\n  limit_req 10/s, 4 workers, %.2f s: %d accepted of %.1f exact, %r\n"
                         % (took, ok, exact, counts))
        self.assertLess(abs(ok - exact) / exact, 0.05, (counts, took))
        self.assertGreater(counts.get(429, 0), 10 * ok, counts)
        # A token comes back every 100 ms: on a loaded machine the first
        # request after the hammer may find one, the next few cannot all.
        for _ in range(20):
            r = get(s.port, "/api/")
            if r.status == 429:
                break
        self.assertEqual(r.status, 429)
        self.assertEqual(r.header("Retry-After"), "1")

    def test_worker_killed_mid_run(self):
        s = self.srv
        s.write_file("api/index.html", "api")
        s.conf["locations"] = {"/api/": {"limit_req": {"rate": "10/s"}}}
        s.write_config()
        s.start()
        victims = s.workers()[:2]

        def killer():
            time.sleep(2)
            s.signal(signal.SIGKILL, victims[0])
            time.sleep(2)
            s.signal(signal.SIGKILL, victims[1])

        k = threading.Thread(target=killer)
        t0 = time.monotonic()
        k.start()
        counts = hammer(s.port, "/api/", 8.0)
        took = time.monotonic() - t0
        k.join(10)
        exact = 1 + 10 * took
        ok = counts.get(200, 0)
        # Nothing wedged: the others served all along, and still limit.
        self.assertLess(abs(ok - exact) / exact, 0.1, (counts, took))
        self.assertTrue(wait_until(lambda: len(s.workers()) == 4, timeout=10))
        time.sleep(1.1)
        self.assertEqual([status(s.port, "/api/") for _ in range(3)][:2], [200, 429])

    def test_survives_reload(self):
        s = self.srv
        s.write_file("login/index.html", "login")
        s.conf["locations"] = {"/login/": {"limit_req": {"rate": "1/m", "burst": 1}}}
        s.write_config()
        s.start()
        self.assertEqual([status(s.port, "/login/") for _ in range(3)], [200, 200, 429])
        old = set(s.workers())
        s.conf["gzip_static"] = False   # a change, so the reload is a real one
        s.write_config()
        s.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: len(s.workers()) == 4 and not (set(s.workers()) & old),
                                   timeout=15), s.diag())
        r = get(s.port, "/login/")
        self.assertEqual(r.status, 429)   # no fresh allowance
        self.assertGreater(int(r.header("Retry-After")), 30)

    def test_counters_mapped_when_needed(self):
        """A site without limits or auth never maps the counters (2.4 MB);
        the first reload that adds a limit maps them before its workers
        fork, and the limit holds across all of them."""
        s = self.srv
        s.write_file("api/index.html", "api")
        s.write_config()
        s.start()

        def mapped(pid):
            with open("/proc/%d/maps" % pid) as f:
                return "drover-limits" in f.read()

        self.assertFalse(mapped(s.master))
        self.assertFalse(any(mapped(w) for w in s.workers()))
        old = set(s.workers())
        s.conf["locations"] = {"/api/": {"limit_req": {"rate": "1/m", "burst": 1}}}
        s.write_config()
        s.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: len(s.workers()) == 4 and not (set(s.workers()) & old),
                                   timeout=15), s.diag())
        self.assertTrue(mapped(s.master))
        codes = [status(s.port, "/api/") for _ in range(8)]   # over 4 workers: one count
        self.assertEqual(codes, [200, 200] + [429] * 6)

    def test_limit_conn(self):
        s = self.srv
        s.write_file("dl/index.html", "dl")
        s.conf["locations"] = {"/dl/": {"limit_conn": {"max": 2}}}
        s.write_config()
        s.start()
        a, b, c = Conn(s.port), Conn(s.port), Conn(s.port)
        try:
            for x in (a, b):
                x.send(req("GET", "/dl/"))
                self.assertEqual(x.read_response().status, 200)
            c.send(req("GET", "/dl/"))
            self.assertEqual(c.read_response().status, 429)
            c.send(req("GET", "/"))             # elsewhere the connection is fine
            self.assertEqual(c.read_response().status, 200)
            a.close()
            self.assertTrue(wait_until(lambda: status(s.port, "/dl/") == 200, timeout=5))
        finally:
            for x in (a, b, c):
                x.close()

    def test_metrics_count_refusals(self):
        s = self.srv
        s.conf["metrics"] = {"path": "/metrics"}
        s.write_file("api/index.html", "api")
        s.conf["locations"] = {"/api/": {"limit_req": {"rate": "1/m"}},
                               "/no/": {"deny": ["127.0.0.1"]}}
        s.write_config()
        s.start()
        for _ in range(3):
            status(s.port, "/api/")
            status(s.port, "/no/")

        def count(reason):
            m = re.search(r'drover_refused_total\{reason="%s"\} (\d+)' % reason,
                          get(s.port, "/metrics").body.decode())
            return int(m.group(1)) if m else -1

        self.assertTrue(wait_until(lambda: count("limit_req") == 2 and count("address") == 3,
                                   timeout=5), get(s.port, "/metrics").body.decode()[-2000:])
        self.assertEqual(count("auth"), 0)


if __name__ == "__main__":
    run_main()
