"""Virtual hosts (README "Virtual hosts"), over sockets against the real
binary: matching (exact, alias, case, trailing dot, port, wildcard depth,
longest wildcard, no Host), per-host roots and caches (the same path under
two hosts), error pages, autoindex, mime_types, headers, redirect, per-host
access logs and their reopen, log_format json and vhost_combined, config
errors (unknown key in a host, a name given twice), -T and -t, 1,000 hosts
loaded in under a second, reloads that add a host (under wrk when it is
installed) or fail without disturbing the running hosts."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from harness import (ServerTestCase, SharedServerTestCase, Conn, Server, get, req,
                     exchange, run_main, wait_until, yaml_dump, yaml_flow, yaml_scalar)


def hosts_yaml(hosts):
    """The hosts: section; names quoted (a bare * would start a YAML alias)."""
    lines = ["hosts:"]
    for name, keys in hosts.items():
        lines.append("  %s:" % yaml_scalar(name))
        if not isinstance(keys, dict):
            lines[-1] += " " + yaml_flow(keys)
            continue
        for k, v in keys.items():
            lines.append("    %s: %s" % (k, yaml_flow(v)))
        if not keys:
            lines[-1] += " {}"
    return "\n".join(lines) + "\n"


def write_hosts_config(srv, hosts, extra=""):
    srv.write_config(yaml_dump(srv.conf) + extra + hosts_yaml(hosts))


def make_root(srv, name, files):
    root = os.path.join(srv.dir, name)
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.makedirs(root, exist_ok=True)
    return root


def fetch(port, path, host, headers=None, version="HTTP/1.1"):
    h = [("Connection", "close")] + list((headers or {}).items())
    return exchange(port, req("GET", path, version, h, host=host))


class VhostServingTest(SharedServerTestCase):
    """One server with several hosts, json access log."""

    server_kwargs = {"workers": 1, "log_format": "json", "headers": {"X-Top": "top"}}

    @classmethod
    def populate(cls, srv):
        srv.write_file("same.txt", b"default root\n")
        srv.write_file("dir/default.txt", b"x")
        a = make_root(srv, "a", {"same.txt": b"root of a\n", "404.html": b"a's own 404\n",
                                 "doc.md": b"# a\n"})
        b = make_root(srv, "b", {"same.txt": b"root of b\n", "dir/f.txt": b"f"})
        c = make_root(srv, "c", {"same.txt": b"root of c\n"})
        cls.a_log = os.path.join(srv.dir, "a.log")
        write_hosts_config(srv, {
            "a.test": {"aliases": ["www.a.test", "A2.test"], "root": a,
                       "error_pages": {"404": "/404.html"}, "access_log": cls.a_log,
                       "headers": {"X-Frame-Options": "DENY"},
                       "mime_types": {"md": "text/x-a-markdown"},
                       "cache_control": {"default": "max-age=7"}},
            "*.b.test": {"root": b, "autoindex": True},
            "*.deep.b.test": {"root": c},
            "old.test": {"redirect": "https://a.test/"},
        })

    def body(self, host, path="/same.txt", **kw):
        r = fetch(self.port, path, host, **kw)
        return r.status, r.body

    def test_same_path_under_each_host(self):
        self.assertEqual(self.body("a.test"), (200, b"root of a\n"))
        self.assertEqual(self.body("x.b.test"), (200, b"root of b\n"))
        self.assertEqual(self.body("localhost"), (200, b"default root\n"))

    def test_same_path_alternating_on_one_connection(self):
        # The caches are per host: after a hit for one host the other host's
        # file is still its own, and so is its ETag.
        etags = {}
        with Conn(self.port) as c:
            for _ in range(3):
                for host, want in (("a.test", b"root of a\n"), ("x.b.test", b"root of b\n"),
                                   ("y.deep.b.test", b"root of c\n")):
                    c.send(req(path="/same.txt", host=host))
                    r = c.read_response()
                    self.assertEqual((r.status, r.body), (200, want), host)
                    etags.setdefault(host, set()).add(r.header("ETag"))
        self.assertEqual(len(set.union(*etags.values())), 3, etags)

    def test_alias_case_dot_port(self):
        for host in ("www.a.test", "a2.test", "A.TEST", "a.test.", "a.test:8080", "WWW.A.Test.:1"):
            self.assertEqual(self.body(host), (200, b"root of a\n"), host)

    def test_wildcards(self):
        self.assertEqual(self.body("one.b.test"), (200, b"root of b\n"))
        self.assertEqual(self.body("two.one.b.test"), (200, b"root of b\n"))
        # Longest wildcard wins, at any depth under it.
        self.assertEqual(self.body("x.deep.b.test"), (200, b"root of c\n"))
        self.assertEqual(self.body("y.x.deep.b.test"), (200, b"root of c\n"))
        # The wildcard's suffix itself is not matched by it.
        self.assertEqual(self.body("b.test"), (200, b"default root\n"))
        self.assertEqual(self.body("deep.b.test"), (200, b"root of b\n"))

    def test_default_host(self):
        self.assertEqual(self.body("unknown.example"), (200, b"default root\n"))
        self.assertEqual(self.body("127.0.0.1"), (200, b"default root\n"))
        self.assertEqual(self.body("[::1]:80"), (200, b"default root\n"))
        # HTTP/1.0 without Host, and with an empty one.
        self.assertEqual(self.body(None, version="HTTP/1.0"), (200, b"default root\n"))
        self.assertEqual(self.body("", version="HTTP/1.0"), (200, b"default root\n"))

    def test_error_pages_per_host(self):
        self.assertEqual(self.body("a.test", "/missing"), (404, b"a's own 404\n"))
        st, body = self.body("localhost", "/missing")
        self.assertEqual(st, 404)
        self.assertIn(b"<h1>404 Not Found</h1>", body)
        # b has no 404.html of its own and inherits no error_pages.
        self.assertNotIn(b"a's own", self.body("x.b.test", "/missing")[1])

    def test_autoindex_per_host(self):
        self.assertEqual(fetch(self.port, "/dir/", "x.b.test").status, 200)
        self.assertIn(b"f.txt", fetch(self.port, "/dir/", "x.b.test").body)
        self.assertEqual(fetch(self.port, "/dir/", "localhost").status, 403)

    def test_mime_types_and_cache_control_per_host(self):
        r = fetch(self.port, "/doc.md", "a.test")
        self.assertEqual(r.header("Content-Type"), "text/x-a-markdown")
        self.assertEqual(r.header("Cache-Control"), "max-age=7")
        r = fetch(self.port, "/same.txt", "x.b.test")
        self.assertIsNone(r.header("Cache-Control"))

    def test_headers(self):
        r = fetch(self.port, "/same.txt", "a.test")
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        # The name goes out as the config wrote it, as nginx's add_header does.
        self.assertIn(b"\r\nX-Frame-Options: DENY\r\n", r.raw_head)
        self.assertIsNone(r.header("X-Top"))       # a sets headers: it replaces the top's
        r = fetch(self.port, "/same.txt", "x.b.test")
        self.assertEqual(r.header("X-Top"), "top")  # b inherits them
        r = fetch(self.port, "/nothing", "localhost")
        self.assertEqual((r.status, r.header("X-Top")), (404, "top"))

    def test_redirect_host(self):
        r = fetch(self.port, "/some/path?q=1&r=2", "old.test")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "https://a.test/some/path?q=1&r=2")
        r = fetch(self.port, "/", "OLD.test:81")
        self.assertEqual((r.status, r.header("Location")), (301, "https://a.test/"))
        # Every request, even for a file that exists under the default root.
        self.assertEqual(fetch(self.port, "/same.txt", "old.test").status, 301)

    def test_access_logs_per_host_json(self):
        fetch(self.port, "/same.txt", "A.test:8080", headers={"User-Agent": 'q"\\\xe9'})
        fetch(self.port, "/same.txt", "x.b.test", headers={"Referer": "http://r/"})
        fetch(self.port, "/same.txt", None, version="HTTP/1.0")

        def lines(path):
            return [json.loads(ln) for ln in self.srv.read(path).splitlines() if ln]
        self.assertTrue(wait_until(lambda: any(e["agent"].startswith('q"') for e in lines(self.a_log)),
                                   timeout=4), self.srv.read(self.a_log))
        a = lines(self.a_log)
        top = lines(self.srv.access_log)
        self.assertTrue(wait_until(lambda: any(e["host"] == "x.b.test" for e in lines(self.srv.access_log)),
                                   timeout=4))
        top = lines(self.srv.access_log)
        self.assertTrue(all(e["host"] in ("a.test", "www.a.test", "a2.test") for e in a), a)
        self.assertFalse([e for e in top if e["host"].endswith("a.test")], top)
        e = [x for x in a if x["agent"].startswith('q"')][-1]
        self.assertEqual(e["agent"], 'q"\\\u00e9')
        self.assertEqual((e["method"], e["path"], e["protocol"], e["status"], e["bytes"]),
                         ("GET", "/same.txt", "HTTP/1.1", 200, 10))
        self.assertEqual(e["client"], "127.0.0.1")
        self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertIsInstance(e["duration_us"], int)
        b = [x for x in top if x["host"] == "x.b.test"][-1]
        self.assertEqual(b["referer"], "http://r/")
        self.assertTrue(wait_until(lambda: any(x["host"] == "-" and x["protocol"] == "HTTP/1.0"
                                               for x in lines(self.srv.access_log)), timeout=4))


class VhostLogTest(ServerTestCase):
    server_kwargs = {"workers": 1, "log_format": "vhost_combined"}
    start_server = False

    def test_vhost_combined_and_reopen(self):
        srv = self.srv
        a = make_root(srv, "a", {"x.txt": b"a\n"})
        a_log = os.path.join(srv.dir, "a.log")
        write_hosts_config(srv, {"a.test": {"root": a, "access_log": a_log}})
        srv.start()
        fetch(self.port, "/x.txt", "A.test:99")
        fetch(self.port, "/x.txt", "other.test")
        self.assertTrue(wait_until(lambda: "other.test" in srv.read(srv.access_log), timeout=4))
        self.assertTrue(wait_until(lambda: srv.read(a_log), timeout=4))
        line = srv.read(a_log).splitlines()[-1]
        self.assertRegex(line, r'^a\.test 127\.0\.0\.1 - - \[[^]]+\] "GET /x\.txt HTTP/1\.1" 200 2 "-" "-"$')
        self.assertRegex(srv.read(srv.access_log), r'(?m)^other\.test 127\.0\.0\.1 - - \[')
        self.assertNotIn("a.test", srv.read(srv.access_log))
        # USR1 reopens every host's log, not only the top level's.
        os.rename(a_log, a_log + ".1")
        srv.signal(signal.SIGUSR1)
        ok = False
        for _ in range(40):
            fetch(self.port, "/x.txt", "a.test")
            if wait_until(lambda: "a.test" in srv.read(a_log), timeout=0.3):
                ok = True
                break
        self.assertTrue(ok, "a.log not reopened" + srv.diag())


class VhostConfigTest(ServerTestCase):
    start_server = False

    def check(self, hosts, extra=""):
        write_hosts_config(self.srv, hosts, extra)
        return self.srv.run("-t")

    def test_unknown_key_in_host_names_host_and_line(self):
        p = self.check({"a.test": {"root": "/tmp"}, "b.test": {"workers": 2}})
        self.assertNotEqual(p.returncode, 0)
        err = p.stderr.decode()
        with open(self.srv.conf_path) as f:
            line = [i + 1 for i, ln in enumerate(f) if "workers: 2" in ln][0]
        self.assertIn("drover.yaml:%d: host b.test: workers: unknown key" % line, err)

    def test_duplicate_name_names_both_lines(self):
        p = self.check({"a.test": {}, "b.test": {"aliases": ["c.test", "A.Test."]}})
        self.assertNotEqual(p.returncode, 0)
        err = p.stderr.decode()
        with open(self.srv.conf_path) as f:
            text = f.read().splitlines()
        la = [i + 1 for i, ln in enumerate(text) if '"a.test"' in ln][0]
        lb = [i + 1 for i, ln in enumerate(text) if "A.Test." in ln][0]
        self.assertIn('"A.Test." (line %d) is already a name of host "a.test" (line %d)' % (lb, la), err)
        p = self.check({"*.a.test": {}, "b.test": {"aliases": ["*.A.test"]}})
        self.assertIn("is already a name of host", p.stderr.decode())

    def test_bad_values(self):
        for hosts, want in (({"a b": {}}, "is not a host name"),
                            ({"a.test": {"redirect": "ftp://x"}}, "redirect: expected a URL"),
                            ({"a.test": {"tls": {"cert": "/etc/hostname"}}}, "key is missing"),
                            ({"a.test": {"headers": {"Content-Length": "1"}}}, "is not a header name"),
                            ({"a.test": "x"}, "expected a mapping")):
            p = self.check(hosts)
            self.assertNotEqual(p.returncode, 0, hosts)
            self.assertIn(want, p.stderr.decode(), hosts)

    def test_print_shows_inherited_and_reads_back(self):
        self.srv.conf["gzip_static"] = False
        write_hosts_config(self.srv, {"a.test": {"root": "/tmp", "autoindex": True}})
        p = self.srv.run("-T")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertRegex(out, r'\n  "a\.test":.*\n    root: "/tmp"\n    autoindex: true\n')
        self.assertIn("    # inherited: gzip_static: false\n", out)
        again = os.path.join(self.srv.dir, "again.yaml")
        with open(again, "w") as f:
            f.write(out)
        p2 = subprocess.run(self.srv.command("-T", conf=again), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p2.returncode, 0, p2.stderr)
        def body(text):  # without the file name and the line comments
            return re.sub(r"  # line \d+", "", text.split("\n", 2)[2])
        self.assertEqual(body(p2.stdout.decode()), body(out))

    def test_t_warns_about_a_wildcard_without_its_suffix(self):
        p = self.check({"*.a.test": {}, "*.b.test": {}, "b.test": {}})
        self.assertEqual(p.returncode, 0, p.stderr)
        err = p.stderr.decode()
        self.assertIn('"*.a.test" does not match "a.test" itself', err)
        self.assertNotIn('"b.test" itself', err)

    def test_thousand_hosts_load_under_a_second(self):
        hosts = {}
        for i in range(1000):
            hosts["h%d.example.com" % i] = {"aliases": ["www.h%d.example.com" % i],
                                            "root": self.srv.root,
                                            "headers": {"X-H": str(i)}}
        write_hosts_config(self.srv, hosts)
        t0 = time.monotonic()
        p = self.srv.run("-t")
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertLess(took, 1.0)
        self.srv.start()
        r = fetch(self.port, "/index.html", "www.h999.example.com")
        self.assertEqual((r.status, r.header("X-H")), (200, "999"))


class VhostReloadTest(ServerTestCase):
    server_kwargs = {"workers": 2, "access_log": "off"}
    start_server = False

    def reload_and_wait(self, check, timeout=8):
        self.srv.signal(signal.SIGHUP)
        return wait_until(check, timeout=timeout, interval=0.1)

    def test_reload_adds_changes_removes_hosts(self):
        srv = self.srv
        a = make_root(srv, "a", {"x.txt": b"a\n"})
        b = make_root(srv, "b", {"x.txt": b"b\n"})
        srv.write_file("x.txt", b"default\n")
        write_hosts_config(srv, {"a.test": {"root": a}})
        srv.start()
        self.assertEqual(fetch(self.port, "/x.txt", "b.test").body, b"default\n")
        write_hosts_config(srv, {"a.test": {"root": b}, "b.test": {"root": b}})
        # Until the old generation has closed its listeners a fresh
        # connection may still reach one of its workers: wait for both.
        self.assertTrue(self.reload_and_wait(
            lambda: fetch(self.port, "/x.txt", "b.test").body == b"b\n" and
            "reload done" in srv.log_text()), srv.diag())
        self.assertEqual(fetch(self.port, "/x.txt", "a.test").body, b"b\n")
        # A reload with a host log that cannot be opened is refused, naming
        # the host, and the running hosts are untouched.
        write_hosts_config(srv, {"c.test": {"root": a, "access_log": "/nonexistent/dir/c.log"}})
        srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: 'reload failed, configuration unchanged (generation 2 '
                                   'keeps serving): host c.test: access_log: open("/nonexistent/dir/c.log")'
                                   in srv.log_text(), timeout=10), srv.diag())
        for _ in range(3):
            self.assertEqual(fetch(self.port, "/x.txt", "b.test").body, b"b\n")
            self.assertEqual(fetch(self.port, "/x.txt", "c.test").body, b"default\n")
        # And a config error changes nothing either.
        write_hosts_config(srv, {"a.test": {"bogus": 1}})
        srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "host a.test: bogus" in srv.log_text(), timeout=5))
        self.assertEqual(fetch(self.port, "/x.txt", "b.test").body, b"b\n")
        # Removing: b.test goes to the default host.
        write_hosts_config(srv, {"a.test": {"root": a}})
        self.assertTrue(self.reload_and_wait(
            lambda: fetch(self.port, "/x.txt", "b.test").body == b"default\n"), srv.diag())

    def test_start_refused_when_a_host_log_cannot_be_opened(self):
        srv = self.srv
        write_hosts_config(srv, {"c.test": {"access_log": "/nonexistent/dir/c.log"}})
        p = subprocess.run(srv.command("-f"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10, cwd=srv.dir)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('host c.test: access_log: open("/nonexistent/dir/c.log")',
                      p.stderr.decode() + srv.log_text())

    def test_reload_adding_a_host_under_wrk(self):
        if shutil.which("wrk") is None:
            self.skipTest("wrk is not installed")
        srv = self.srv
        a = make_root(srv, "a", {"x.txt": b"a\n"})
        n = make_root(srv, "n", {"x.txt": b"new\n"})
        srv.write_file("x.txt", b"default\n")
        write_hosts_config(srv, {"a.test": {"root": a}})
        srv.start()
        wrk = subprocess.Popen(["wrk", "-t1", "-c20", "-d4s", "-H", "Host: new.test",
                                "http://127.0.0.1:%d/x.txt" % self.port],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        try:
            time.sleep(1.0)
            write_hosts_config(srv, {"a.test": {"root": a}, "new.test": {"root": n}})
            srv.signal(signal.SIGHUP)
            out, _ = wrk.communicate(timeout=30)
        finally:
            if wrk.poll() is None:
                wrk.kill()          # our own child, by its pid
                wrk.wait(5)
        out = out.decode("utf-8", "replace")
        sys.stderr.write("\n  [wrk -c20 -d4s, Host: new.test, SIGHUP adding it] %s\n"
                         % " ".join(ln.strip() for ln in out.splitlines() if "requests in" in ln))
        self.assertRegex(out, r"\d+ requests in", out)
        self.assertNotRegex(out, r"Socket errors", out)
        self.assertNotIn("Non-2xx", out)
        self.assertIn("reload done", srv.log_text())
        self.assertEqual(fetch(self.port, "/x.txt", "new.test").body, b"new\n")


if __name__ == "__main__":
    run_main()
