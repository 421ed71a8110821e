#!/usr/bin/env python3
"""Locations (SPEC "Locations (per-path rules)") against the real binary:
nginx's matching order (exact, longest prefix, ^~, regexes in file order),
matching on the decoded normalised path, every rule key (root, alias,
autoindex, try_files with a file, a directory, =CODE and @name, return,
redirect and its codes and absolute Location, headers that replace
drover's own and null that removes one, cache_control, access_log off or a
path, methods), the variables, redirect_map (before the locations, per
host, 10,000 lines), hosts that do not inherit the top level's locations,
the json access log's "rule", drover -T /path [-H host], config errors
(-t names file:line and the key; a reload with one keeps the old rules),
a catastrophic regex that must not hang a worker; then a smaller set over
HTTP/2 (h2c prior knowledge, python3-h2) and over TLS (https in $scheme and
in a relative redirect's Location)."""

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (INDEX_HTML, Conn, ServerTestCase, SharedServerTestCase, exchange,
                     req, run_main, wait_until, yaml_dump, yaml_scalar)
import h2client
import tlsgen


# ---------------------------------------------------------------- YAML

class Raw(str):
    """A YAML scalar written as it is (off, true), not quoted."""


def scalar(v):
    """yaml_scalar, with a newline escaped: inside double quotes YAML folds
    a raw one into a space."""
    if isinstance(v, str):
        return '"%s"' % v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return yaml_scalar(v)


def flow(v):
    """A value in YAML flow style; None is null (the harness's yaml_flow
    leaves such keys out, and `X-Top: null` must be written)."""
    if v is None:
        return "null"
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, dict):
        return "{%s}" % ", ".join("%s: %s" % (scalar(k), flow(x)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return "[%s]" % ", ".join(flow(x) for x in v)
    return scalar(v)


def pattern_key(p):
    """A pattern in single quotes: YAML's double quotes read \\d as an escape."""
    return "'" + p.replace("'", "''") + "'"


def locations_yaml(rules, indent=""):
    """rules: a list of (pattern, rule) in file order."""
    lines = [indent + "locations:"]
    for pat, rule in rules:
        lines.append("%s  %s: %s" % (indent, pattern_key(pat), flow(rule)))
    return "\n".join(lines) + "\n"


def hosts_yaml(hosts):
    """hosts: name -> dict of keys; a "locations" value is a list of pairs."""
    lines = ["hosts:"]
    for name, keys in hosts.items():
        lines.append("  %s:" % yaml_scalar(name))
        for k, v in keys.items():
            if k == "locations":
                lines.append(locations_yaml(v, "    ").rstrip("\n"))
            else:
                lines.append("    %s: %s" % (k, flow(v)))
    return "\n".join(lines) + "\n"


def config_text(srv, rules=None, hosts=None, redirect_map=None, extra=""):
    text = yaml_dump(srv.conf)
    if redirect_map is not None:
        text += "redirect_map: %s\n" % yaml_scalar(redirect_map)
    text += extra
    if rules is not None:
        text += locations_yaml(rules)
    if hosts:
        text += hosts_yaml(hosts)
    return text


def write_tree(base, files):
    for rel, data in files.items():
        p = os.path.join(base, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    os.makedirs(base, exist_ok=True)
    return base


def line_of(path, needle):
    """1-based number of the first line of path that holds needle."""
    with open(path) as f:
        for i, ln in enumerate(f):
            if needle in ln:
                return i + 1
    raise AssertionError("%r not in %s" % (needle, path))


# ---------------------------------------------------------------- HTTP

def fetch(port, path, host=None, method="GET", headers=None, body=b"", timeout=5.0):
    """One request on a new connection, Connection: close; Host defaults to
    127.0.0.1:PORT (what a relative redirect's Location is built from)."""
    if host is None:
        host = "127.0.0.1:%d" % port
    h = [("Connection", "close")] + list((headers or {}).items())
    if body or method in ("POST", "PUT"):
        h.append(("Content-Length", str(len(body))))
    return exchange(port, req(method, path, "HTTP/1.1", h, body=body, host=host),
                    head=(method == "HEAD"), timeout=timeout)


# The default host's rules: the SPEC's example and one rule per case below.
BLOG = r"~ ^/blog/(\d+)/(.*)$"
IMG = r"~* \.(PNG|jpg)$"
VARS = r"~ ^/vars/(?<name>[a-z]+)/(\d+)$"
REDOS = r"~ ^/redos/(a+)+$"


def default_rules(srv, static_root, files_dir, rule_log):
    return [
        ("= /healthz", {"return": {"code": 200, "body": "ok\n"}, "access_log": Raw("off")}),
        ("/assets/", {"cache_control": "public, max-age=31536000, immutable"}),
        ("/", {"try_files": ["$uri", "$uri.html", "$uri/", "/index.html"]}),
        (BLOG, {"redirect": {"to": "/posts/$1-$2", "code": 301}}),
        (IMG, {"headers": {"X-Img": "yes"}}),
        ("^~ /static/", {"root": static_root}),
        ("/downloads/", {"alias": files_dir + "/", "autoindex": True}),
        ("/api/", {"methods": ["GET", "HEAD"], "return": 204}),
        ("/gone/", {"try_files": ["$uri", "=410"]}),
        ("/app/", {"try_files": ["$uri", "@fallback"]}),
        ("@fallback", {"return": {"code": 200, "body": "fallback for $uri\n", "type": "text/plain"}}),
        ("/hdr/", {"headers": {"X-Frame-Options": "SAMEORIGIN", "X-Top": None,
                               "Cache-Control": "no-store"}}),
        ("/ctype/", {"headers": {"Content-Type": "text/x-special"}}),
        # Matching order.
        ("= /blog/1/exact", {"return": {"code": 200, "body": "exact wins\n"}}),
        ("/deep/", {"return": {"code": 200, "body": "short prefix\n"}}),
        ("/deep/er/", {"return": {"code": 200, "body": "long prefix\n"}}),
        ("~* ^/ci/", {"return": {"code": 200, "body": "case-insensitive\n"}}),
        ("~ ^/order/", {"return": {"code": 200, "body": "first regex\n"}}),
        ("~ ^/order/a", {"return": {"code": 200, "body": "second regex\n"}}),
        ("/pre/", {"return": {"code": 200, "body": "prefix\n"}}),
        ("~ ^/pre/r", {"return": {"code": 200, "body": "regex over prefix\n"}}),
        ("^~ /stop/", {"return": {"code": 200, "body": "stop prefix\n"}}),
        ("/stop/deeper/", {"return": {"code": 200, "body": "deeper prefix\n"}}),
        ("~ ^/stop/", {"return": {"code": 200, "body": "regex after stop\n"}}),
        # Variables, codes, returns.
        (VARS, {"return": {"code": 200, "type": "text/plain",
                           "body": "name=$name 2=$2 uri=$uri ru=$request_uri args=$args "
                                   "host=$host scheme=$scheme port=$port\n"}}),
        ("/rc302/", {"redirect": {"to": "/to/302", "code": 302}}),
        ("/rc303/", {"redirect": {"to": "/to/303", "code": 303}}),
        ("/rc307/", {"redirect": {"to": "/to/307", "code": 307}}),
        ("/rc308/", {"redirect": {"to": "/to/308", "code": 308}}),
        ("/rplain/", {"redirect": "/target"}),
        ("/rabs/", {"redirect": {"to": "https://elsewhere.test/x", "code": 302}}),
        ("/forbidden/", {"return": 403}),
        ("= /created", {"return": {"code": 201, "body": "{\"made\": true}\n",
                                   "type": "application/json"}}),
        ("/logged/", {"return": {"code": 200, "body": "logged elsewhere\n"},
                      "access_log": rule_log}),
        (REDOS, {"return": {"code": 200, "body": "redos matched\n"}}),
    ]


REDIRECTS = (b"/old-page /new-page\n"
             b"/moved /elsewhere 302\n"
             b"/abs https://example.org/z 308\n"
             b"/api/legacy /api/v2 307\n"
             b"/decoded-path /d\n")


class LocationsTest(SharedServerTestCase):
    """One server, the default host with many rules, a.test with its own
    rules and map, b.test with none; json access log."""

    server_kwargs = {
        "workers": 1, "log_format": "json",
        "headers": {"X-Top": "top", "X-Frame-Options": "DENY", "X-Extra": "extra"},
        "cache_control": {"default": "max-age=60"},
        "files": {
            "about.html": b"about page\n",
            "docs/index.html": b"docs index\n",
            "assets/app.js": b"console.log(1);\n",
            "pics/a.png": b"a png\n", "pics/B.JPG": b"b jpg\n", "media/y.png": b"y png\n",
            "static/x.png": b"static under the host root: wrong\n",
            "downloads/f.txt": b"under the host root: wrong\n",
            "gone/here.txt": b"still here\n",
            "app/real.txt": b"real app file\n",
            "hdr/f.txt": b"hdr file\n",
            "ctype/f.txt": b"ctype file\n",
            "plain.txt": b"plain\n",
        },
    }

    @classmethod
    def populate(cls, srv):
        cls.static_root = write_tree(os.path.join(srv.dir, "static_root"),
                                     {"static/x.png": b"static png\n"})
        cls.files_dir = write_tree(os.path.join(srv.dir, "files"),
                                   {"f.txt": b"alias file\n", "sub/g.txt": b"g\n"})
        cls.a_root = write_tree(os.path.join(srv.dir, "a"),
                                {"index.html": b"a index\n", "x.txt": b"a x\n"})
        cls.rule_log = os.path.join(srv.dir, "rule.log")
        cls.map_path = os.path.join(srv.dir, "redirects.txt")
        with open(cls.map_path, "wb") as f:
            f.write(REDIRECTS)
        cls.a_map = os.path.join(srv.dir, "a-redirects.txt")
        with open(cls.a_map, "wb") as f:
            f.write(b"/a-old /a-new 302\n")
        hosts = {
            "a.test": {"root": cls.a_root, "redirect_map": cls.a_map,
                       "locations": [("= /only-a", {"return": {"code": 200, "body": "only a\n"}})]},
            "b.test": {"root": srv.root, "cache_control": {"default": "max-age=60"},
                       "headers": {"Cache-Control": "private", "X-B": "b"}},
        }
        srv.write_config(config_text(srv, default_rules(srv, cls.static_root, cls.files_dir,
                                                        cls.rule_log),
                                     hosts=hosts, redirect_map=cls.map_path))

    def body(self, path, **kw):
        r = fetch(self.port, path, **kw)
        return r.status, r.body

    def here(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    # -- matching order

    def test_exact_wins_at_once(self):
        self.assertEqual(self.body("/healthz"), (200, b"ok\n"))
        self.assertEqual(self.body("/healthz?probe=1"), (200, b"ok\n"))
        # The exact path only: the "/" rule's SPA fallback takes the rest.
        self.assertEqual(self.body("/healthz/"), (200, INDEX_HTML))
        self.assertEqual(self.body("/healthzz"), (200, INDEX_HTML))
        # Exact beats the blog regex, which would redirect.
        self.assertEqual(self.body("/blog/1/exact"), (200, b"exact wins\n"))

    def test_longest_prefix(self):
        self.assertEqual(self.body("/deep/x"), (200, b"short prefix\n"))
        self.assertEqual(self.body("/deep/er/x"), (200, b"long prefix\n"))
        self.assertEqual(self.body("/deep/er"), (200, b"short prefix\n"))

    def test_regexes_in_file_order_first_wins(self):
        self.assertEqual(self.body("/order/a"), (200, b"first regex\n"))

    def test_regex_beats_plain_prefix(self):
        self.assertEqual(self.body("/pre/x"), (200, b"prefix\n"))
        self.assertEqual(self.body("/pre/r"), (200, b"regex over prefix\n"))

    def test_caret_tilde_skips_regexes_when_longest(self):
        self.assertEqual(self.body("/stop/x"), (200, b"stop prefix\n"))
        # A longer plain prefix is the longest: the regexes are tried again.
        self.assertEqual(self.body("/stop/deeper/x"), (200, b"regex after stop\n"))
        # ^~ /static/ with its own root; the image regex never runs there.
        r = fetch(self.port, "/static/x.png")
        self.assertEqual((r.status, r.body), (200, b"static png\n"))
        self.assertIsNone(r.header("X-Img"), r.headers)

    def test_case_insensitive_regex(self):
        for path in ("/ci/x", "/CI/x", "/Ci/x"):
            self.assertEqual(self.body(path), (200, b"case-insensitive\n"), path)

    def test_case_insensitive_regex_headers(self):
        for path, want in (("/pics/a.png", b"a png\n"), ("/pics/B.JPG", b"b jpg\n"),
                           ("/media/y.png", b"y png\n")):
            r = fetch(self.port, path)
            self.assertEqual((r.status, r.body), (200, want), path)
            self.assertEqual(r.header_all("X-Img"), ["yes"], path)
        self.assertIsNone(fetch(self.port, "/plain.txt").header("X-Img"))

    def test_case_sensitive_regex(self):
        # "~" is case-sensitive: /BLOG/ is not the blog rule (SPA fallback).
        self.assertEqual(self.body("/BLOG/1/x"), (200, INDEX_HTML))

    def test_matching_on_decoded_normalised_path(self):
        for path in ("/assets/app.js", "/%61ssets/app.js", "//assets/app.js",
                     "/x/../assets/app.js", "/assets/./app.js", "/%61ssets/%61pp.js"):
            r = fetch(self.port, path)
            self.assertEqual((r.status, r.body), (200, b"console.log(1);\n"), path)
            self.assertEqual(r.header_all("Cache-Control"),
                             ["public, max-age=31536000, immutable"], path)
        self.assertEqual(self.body("/%68ealthz"), (200, b"ok\n"))
        r = fetch(self.port, "/bl%6fg/7/%41b")
        self.assertEqual((r.status, r.header("Location")), (301, self.here("/posts/7-Ab")))

    # -- try_files

    def test_try_files_spa(self):
        self.assertEqual(self.body("/plain.txt"), (200, b"plain\n"))           # $uri
        self.assertEqual(self.body("/about"), (200, b"about page\n"))          # $uri.html
        self.assertEqual(self.body("/docs"), (200, b"docs index\n"))           # $uri/
        self.assertEqual(self.body("/docs/"), (200, b"docs index\n"))
        for path in ("/client/side/route", "/missing.txt", "/x?y=1"):           # fallback
            r = fetch(self.port, path)
            self.assertEqual((r.status, r.body), (200, INDEX_HTML), path)
            self.assertEqual(r.header("Content-Type").split(";")[0], "text/html", path)

    def test_try_files_code(self):
        self.assertEqual(self.body("/gone/here.txt"), (200, b"still here\n"))
        self.assertEqual(self.body("/gone/missing")[0], 410)
        self.assertEqual(fetch(self.port, "/gone/missing", method="HEAD").status, 410)

    def test_try_files_named_location(self):
        self.assertEqual(self.body("/app/real.txt"), (200, b"real app file\n"))
        r = fetch(self.port, "/app/x/y")
        self.assertEqual((r.status, r.body), (200, b"fallback for /app/x/y\n"))
        self.assertEqual(r.header("Content-Type").split(";")[0], "text/plain")
        # A named location is not reachable by its name as a path.
        self.assertEqual(self.body("/@fallback"), (200, INDEX_HTML))

    # -- root, alias, autoindex

    def test_alias_replaces_prefix(self):
        self.assertEqual(self.body("/downloads/f.txt"), (200, b"alias file\n"))
        self.assertEqual(self.body("/downloads/sub/g.txt"), (200, b"g\n"))
        self.assertEqual(self.body("/downloads/nope.txt")[0], 404)
        r = fetch(self.port, "/downloads/")
        self.assertEqual(r.status, 200)
        self.assertIn(b"f.txt", r.body)
        self.assertIn(b"sub/", r.body)
        # Nothing outside the alias directory.
        for path in ("/downloads/../index.html", "/downloads/%2e%2e/a/x.txt",
                     "/downloads/..%2f..%2fetc/passwd"):
            st, body = self.body(path)
            self.assertNotEqual(body, b"a x\n", path)
            self.assertNotIn(b"root:", body, path)

    # -- return, redirect, methods

    def test_redirect_regex_captures_absolute_location(self):
        r = fetch(self.port, "/blog/12/hello-world")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), self.here("/posts/12-hello-world"))
        r = fetch(self.port, "/blog/1/x", host="example.test")
        self.assertEqual(r.header("Location"), "http://example.test/posts/1-x")
        # Not a number: not the blog rule.
        self.assertEqual(self.body("/blog/x/y"), (200, INDEX_HTML))

    def test_redirect_codes(self):
        for code in (302, 303, 307, 308):
            r = fetch(self.port, "/rc%d/x" % code)
            self.assertEqual(r.status, code)
            self.assertEqual(r.header("Location"), self.here("/to/%d" % code))
        r = fetch(self.port, "/rplain/x")
        self.assertEqual((r.status, r.header("Location")), (301, self.here("/target")))
        r = fetch(self.port, "/rabs/x")
        self.assertEqual((r.status, r.header("Location")), (302, "https://elsewhere.test/x"))

    def test_return(self):
        self.assertEqual(self.body("/forbidden/x")[0], 403)
        r = fetch(self.port, "/created")
        self.assertEqual((r.status, r.body), (201, b"{\"made\": true}\n"))
        self.assertEqual(r.header("Content-Type").split(";")[0], "application/json")
        self.assertEqual(r.header("Content-Length"), str(len(r.body)))
        r = fetch(self.port, "/api/x")
        self.assertEqual((r.status, r.body), (204, b""))

    def test_methods(self):
        self.assertEqual(fetch(self.port, "/api/x").status, 204)
        self.assertEqual(fetch(self.port, "/api/x", method="HEAD").status, 204)
        for method in ("POST", "DELETE", "PUT"):
            r = fetch(self.port, "/api/x", method=method)
            self.assertEqual(r.status, 405, method)
            self.assertEqual(r.tokens("Allow"), ["get", "head"], (method, r.headers))
        # Other locations keep the server's usual methods.
        self.assertEqual(fetch(self.port, "/plain.txt", method="HEAD").status, 200)

    # -- headers and cache_control

    def test_cache_control_rule(self):
        r = fetch(self.port, "/assets/app.js")
        self.assertEqual(r.header_all("Cache-Control"), ["public, max-age=31536000, immutable"])
        r = fetch(self.port, "/plain.txt")
        self.assertEqual(r.header_all("Cache-Control"), ["max-age=60"])

    def test_rule_headers_add_replace_remove(self):
        r = fetch(self.port, "/hdr/f.txt")
        self.assertEqual((r.status, r.body), (200, b"hdr file\n"))
        for name, want in (("X-Frame-Options", ["SAMEORIGIN"]),   # replaces the host's
                           ("Cache-Control", ["no-store"]),        # replaces drover's own
                           ("X-Top", []),                          # null removes it
                           ("X-Extra", ["extra"])):                # the host's others stay
            with self.subTest(header=name):
                self.assertEqual(r.header_all(name), want, r.headers)

    def test_rule_header_replaces_content_type(self):
        r = fetch(self.port, "/ctype/f.txt")
        self.assertEqual(r.header_all("Content-Type"), ["text/x-special"], r.headers)

    def test_host_headers_outside_rules(self):
        r = fetch(self.port, "/plain.txt")
        self.assertEqual(r.header_all("X-Frame-Options"), ["DENY"])
        self.assertEqual(r.header_all("X-Top"), ["top"])
        self.assertEqual(r.header_all("X-Extra"), ["extra"])

    def test_host_headers_replace_drovers_cache_control(self):
        r = fetch(self.port, "/plain.txt", host="b.test")
        self.assertEqual((r.status, r.body), (200, b"plain\n"))
        self.assertEqual(r.header_all("Cache-Control"), ["private"], r.headers)
        self.assertEqual(r.header("X-B"), "b")

    # -- variables

    def test_variables(self):
        r = fetch(self.port, "/vars/ab%63/42?x=1&y=%20")
        self.assertEqual(r.status, 200, r)
        want = ("name=abc 2=42 uri=/vars/abc/42 ru=/vars/ab%%63/42?x=1&y=%%20 args=x=1&y=%%20 "
                "host=127.0.0.1 scheme=http port=%d\n" % self.port)
        self.assertEqual(r.body.decode(), want)

    # -- redirect_map

    def test_redirect_map(self):
        for path, code, to in (("/old-page", 301, "/new-page"), ("/moved", 302, "/elsewhere"),
                               ("/abs", 308, "https://example.org/z"),
                               ("/%64ecoded-path", 301, "/d")):
            r = fetch(self.port, path)
            self.assertEqual(r.status, code, path)
            loc = r.header("Location") or ""
            if to.startswith("/"):
                self.assertIn(loc, (to, self.here(to)), path)
            else:
                self.assertEqual(loc, to, path)
        # Looked up before the locations (/api/ would answer 204).
        r = fetch(self.port, "/api/legacy")
        self.assertEqual(r.status, 307, r)
        # Exact paths only.
        self.assertEqual(self.body("/old-page/"), (200, INDEX_HTML))
        self.assertEqual(self.body("/old-page/x"), (200, INDEX_HTML))
        # The other host's map is its own.
        self.assertEqual(self.body("/a-old"), (200, INDEX_HTML))

    # -- hosts

    def test_host_rules_are_its_own(self):
        self.assertEqual(self.body("/only-a", host="a.test"), (200, b"only a\n"))
        self.assertEqual(self.body("/only-a"), (200, INDEX_HTML))
        # a.test inherits none of the top level's locations.
        self.assertEqual(self.body("/healthz", host="a.test")[0], 404)
        self.assertEqual(self.body("/client/route", host="a.test")[0], 404)
        self.assertEqual(self.body("/x.txt", host="a.test"), (200, b"a x\n"))
        r = fetch(self.port, "/blog/1/x", host="a.test")
        self.assertEqual(r.status, 404)
        r = fetch(self.port, "/a-old", host="a.test")
        self.assertEqual(r.status, 302)
        self.assertIn(r.header("Location"), ("/a-new", "http://a.test/a-new"))

    # -- access log

    def log_entries(self, path=None):
        out = []
        for ln in self.srv.read(path or self.srv.access_log).splitlines():
            try:
                out.append(json.loads(ln))
            except ValueError:
                pass
        return out

    def logged(self, requests, tag):
        """Sends requests [(path, host)] with User-Agent tag-i, then a last
        one; returns {agent: entry} of the main access log once the last
        one is in it."""
        mark = "%s-%d-%d" % (tag, os.getpid(), int(time.monotonic() * 1000))
        for i, (path, host) in enumerate(requests):
            fetch(self.port, path, host=host, headers={"User-Agent": "%s-%d" % (mark, i)})
        fetch(self.port, "/index.html", headers={"User-Agent": mark + "-last"})

        def by_agent():
            return {e.get("agent"): e for e in self.log_entries()}
        self.assertTrue(wait_until(lambda: mark + "-last" in by_agent(), timeout=5),
                        self.srv.read(self.srv.access_log)[-2000:])
        seen = by_agent()
        return [seen.get("%s-%d" % (mark, i)) for i in range(len(requests))], mark

    def test_access_log_off(self):
        (healthz, plain), _ = self.logged([("/healthz", None), ("/plain.txt", None)], "off")
        self.assertIsNotNone(plain)
        self.assertIsNone(healthz, "access_log: off logged /healthz: %r" % (healthz,))

    def test_access_log_rule_field(self):
        tests = [("/assets/app.js", None, "/assets/"), ("/blog/3/z", None, BLOG),
                 ("/static/x.png", None, "^~ /static/"), ("/plain.txt", None, "/"),
                 ("/created", None, "= /created"), ("/x.txt", "a.test", None)]
        entries, _ = self.logged([(p, h) for p, h, _ in tests], "rule")
        for (path, host, rule), e in zip(tests, entries):
            with self.subTest(path=path, host=host):
                self.assertIsNotNone(e)
                self.assertIn("rule", e, e)
                self.assertEqual(e["rule"], rule, e)

    def test_access_log_path_in_a_rule(self):
        (e,), mark = self.logged([("/logged/x", None)], "rulelog")
        with self.subTest(log="the rule's"):
            self.assertTrue(wait_until(lambda: mark + "-0" in self.srv.read(self.rule_log),
                                       timeout=5), "rule.log: %r" % self.srv.read(self.rule_log))
        with self.subTest(log="the host's"):
            self.assertIsNone(e, "logged in the host's log instead: %r" % (e,))

    # -- a regex that would backtrack for ever

    def test_catastrophic_regex_does_not_hang(self):
        self.assertEqual(self.body("/redos/aaaa"), (200, b"redos matched\n"))
        path = "/redos/" + "a" * 30 + "b"
        results = []

        def one():
            t0 = time.monotonic()
            try:
                r = fetch(self.port, path, timeout=8)
                results.append((r.status, time.monotonic() - t0))
            except (OSError, ValueError, EOFError) as e:
                results.append((repr(e), time.monotonic() - t0))
        threads = [threading.Thread(target=one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual(len(results), 3, results)
        for status, took in results:
            self.assertIsInstance(status, int, results)
            self.assertNotEqual(status, 500, results)
            self.assertLess(took, 2.0, results)
        # The limit counts as no match: the "/" rule's fallback answers.
        self.assertEqual(self.body(path), (200, INDEX_HTML))
        self.assertServes("a catastrophic regex")

    # -- drover -T /path

    def explain(self, path, host=None):
        args = ["-T", path] + (["-H", host] if host else [])
        p = self.srv.run(*args)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, (args, out, p.stderr))
        return out

    def test_explain(self):
        out = self.explain("/healthz")
        self.assertIn("the default host", out)
        self.assertIn('"= /healthz"', out)
        self.assertIn("exact", out)
        out = self.explain("/static/x.png")
        self.assertIn('"^~ /static/"', out)
        self.assertIn("^~", out)
        out = self.explain("/blog/5/x")
        self.assertIn('"%s"' % BLOG, out)
        self.assertIn("regex", out)
        self.assertIn("line %d" % line_of(self.srv.conf_path, BLOG), out)
        out = self.explain("/old-page")
        self.assertIn("redirect_map", out)
        out = self.explain("/deep/er/x")
        self.assertIn('"/deep/er/"', out)
        self.assertIn("prefix", out)
        out = self.explain("/%61ssets/app.js")
        self.assertIn('"/assets/"', out)
        out = self.explain("/only-a", host="a.test")
        self.assertIn("a.test", out)
        self.assertIn('"= /only-a"', out)
        out = self.explain("/x.txt", host="a.test")
        self.assertIn("a.test", out)
        self.assertIn("rule: none", out)
        out = self.explain("/only-a", host="nobody.test")
        self.assertIn("the default host", out)
        self.assertIn('"/"', out)


# ---------------------------------------------------------------- errors

class ConfigErrorTest(ServerTestCase):
    start_server = False

    def check(self, rules, redirect_map=None, hosts=None):
        self.srv.write_config(config_text(self.srv, rules, hosts=hosts, redirect_map=redirect_map))
        p = self.srv.run("-t")
        return p.returncode, p.stderr.decode("utf-8", "replace") + p.stdout.decode("utf-8", "replace")

    def assertRefused(self, rules, needle, wants, **kw):
        rc, err = self.check(rules, **kw)
        self.assertNotEqual(rc, 0, (rules, err))
        where = "drover.yaml:%d" % line_of(self.srv.conf_path, needle)
        self.assertIn(where, err, rules)
        for w in wants:
            self.assertIn(w, err, rules)
        return err

    def test_valid_config_passes(self):
        rc, err = self.check([("/x/", {"root": self.srv.root}), ("= /y", {"return": 204})])
        self.assertEqual(rc, 0, err)

    def test_unknown_rule_key(self):
        self.assertRefused([("/x/", {"bogus": 1})], "bogus", ["bogus"])

    def test_invalid_regex(self):
        self.assertRefused([("~ ^/(unclosed", {"return": 204})], "unclosed",
                           ["^/(unclosed", "offset"])

    def test_redirect_code_305(self):
        self.assertRefused([("/r/", {"redirect": {"to": "/x", "code": 305}})], "305",
                           ["redirect", "305"])

    def test_empty_try_files(self):
        self.assertRefused([("/t/", {"try_files": []})], "try_files", ["try_files"])

    def test_alias_and_root_together(self):
        self.assertRefused([("/d/", {"alias": "/tmp/", "root": "/tmp"})], "'/d/'",
                           ["alias", "root"])

    def test_try_files_names_missing_location(self):
        self.assertRefused([("/t/", {"try_files": ["$uri", "@missing"]})], "@missing", ["@missing"])

    def test_duplicate_patterns(self):
        err = self.assertRefused([("/a/", {"return": 204}), ("^~ /a/", {"return": 204})],
                                 "'^~ /a/'", ["/a/"])
        self.assertIn("line %d" % line_of(self.srv.conf_path, "'/a/'"), err)

    def test_pattern_without_leading_slash(self):
        self.assertRefused([("assets/", {"return": 204})], "'assets/'", ["assets/"])

    def test_bad_redirect_map_line(self):
        m = os.path.join(self.srv.dir, "bad-map.txt")
        with open(m, "w") as f:
            f.write("/ok /fine\n/also-ok /fine 302\n/three-words /x 999\n")
        rc, err = self.check([("/", {"return": 204})], redirect_map=m)
        self.assertNotEqual(rc, 0, err)
        self.assertIn("bad-map.txt:3", err)

    def test_bad_rule_inside_a_host(self):
        self.assertRefused(None, "bogus", ["a.test", "bogus"],
                           hosts={"a.test": {"locations": [("/x/", {"bogus": 1})]}})


class ReloadTest(ServerTestCase):
    server_kwargs = {"workers": 1}
    start_server = False

    def write(self, body, extra_rules=(), redirect_map=None):
        rules = [("= /ver", {"return": {"code": 200, "body": body}})] + list(extra_rules)
        self.srv.write_config(config_text(self.srv, rules, redirect_map=redirect_map))

    def ver(self):
        return fetch(self.port, "/ver").body

    def test_reload_with_bad_rules_keeps_old_ones(self):
        srv = self.srv
        good_map = os.path.join(srv.dir, "map.txt")
        with open(good_map, "w") as f:
            f.write("/m1 /one\n")
        self.write("v1\n", redirect_map=good_map)
        srv.start()
        self.assertEqual(self.ver(), b"v1\n")
        self.assertEqual(fetch(self.port, "/m1").status, 301)
        bad_map = os.path.join(srv.dir, "bad.txt")
        with open(bad_map, "w") as f:
            f.write("/m1 /one\nnot-a-path /x\n")
        cases = (
            ("bogus", [("/x/", {"bogus": 1})], None),
            ("offset", [("~ ^/(unclosed", {"return": 204})], None),
            ("305", [("/r/", {"redirect": {"to": "/x", "code": 305}})], None),
            ("@missing", [("/t/", {"try_files": ["$uri", "@missing"]})], None),
            ("bad.txt:2", [], bad_map),
        )
        for needle, rules, rmap in cases:
            before = len(srv.log_text())
            self.write("v2\n", rules, redirect_map=rmap or good_map)
            srv.signal(signal.SIGHUP)
            self.assertTrue(wait_until(lambda: needle in srv.log_text()[before:], timeout=5),
                            "reload error for %r not logged%s" % (needle, srv.diag()))
            for _ in range(3):
                self.assertEqual(self.ver(), b"v1\n", needle)
            self.assertEqual(fetch(self.port, "/m1").status, 301, needle)
        # A valid one then takes effect, the new map with it.
        with open(good_map, "w") as f:
            f.write("/m2 /two 302\n")
        self.write("v3\n", redirect_map=good_map)
        srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: self.ver() == b"v3\n", timeout=8, interval=0.1),
                        srv.diag())
        self.assertEqual(fetch(self.port, "/m2").status, 302)
        self.assertNotEqual(fetch(self.port, "/m1").status, 301)


# ---------------------------------------------------------------- big map

class BigRedirectMapTest(SharedServerTestCase):
    N = 10000
    CODES = (301, 302, 303, 307, 308)
    server_kwargs = {"workers": 1}

    @classmethod
    def populate(cls, srv):
        cls.map_path = os.path.join(srv.dir, "big-map.txt")
        with open(cls.map_path, "w") as f:
            for i in range(cls.N):
                f.write("/m/%d /target/%d %d\n" % (i, i, cls.CODES[i % len(cls.CODES)]))
        srv.write_config(config_text(srv, [("/m/", {"return": {"code": 200,
                                                                "body": "fell through $uri\n"}})],
                                     redirect_map=cls.map_path))

    def test_first_middle_last(self):
        for i in (0, 1, self.N // 2, self.N - 2, self.N - 1):
            r = fetch(self.port, "/m/%d" % i)
            self.assertEqual(r.status, self.CODES[i % len(self.CODES)], i)
            self.assertIn(r.header("Location"),
                          ("/target/%d" % i, "http://127.0.0.1:%d/target/%d" % (self.port, i)), i)

    def test_not_in_map_falls_through(self):
        for path in ("/m/%d" % self.N, "/m/5000/", "/m/-1", "/m/"):
            r = fetch(self.port, path)
            self.assertEqual((r.status, r.body), (200, ("fell through %s\n" % path).encode()), path)

    def test_check_is_quick(self):
        t0 = time.monotonic()
        p = self.srv.run("-t")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertLess(time.monotonic() - t0, 2.0)


# ---------------------------------------------------------------- HTTP/2

def proto_rules():
    return [
        ("= /healthz", {"return": {"code": 200, "body": "ok\n"}}),
        ("/assets/", {"cache_control": "public, max-age=31536000, immutable"}),
        ("/", {"try_files": ["$uri", "$uri.html", "/index.html"]}),
        (BLOG, {"redirect": {"to": "/posts/$1-$2", "code": 301}}),
        ("/api/", {"methods": ["GET", "HEAD"], "return": 204}),
        ("/app/", {"try_files": ["$uri", "@fallback"]}),
        ("@fallback", {"return": {"code": 200, "body": "fallback for $uri\n", "type": "text/plain"}}),
        ("/hdr/", {"headers": {"X-Frame-Options": "SAMEORIGIN", "X-Top": None,
                               "Cache-Control": "no-store"}}),
        ("= /vars", {"return": {"code": 200, "body": "scheme=$scheme host=$host port=$port "
                                                     "args=$args\n"}}),
    ]


PROTO_FILES = {"assets/app.js": b"js\n", "hdr/f.txt": b"hdr\n", "about.html": b"about\n"}


class H2Lists(h2client.H2 if h2client.available() else object):
    """h2client's connection, keeping each response's header list as well
    (its dict would hide a header sent twice)."""

    def _handle(self, ev):
        super()._handle(ev)
        if isinstance(ev, h2client.h2.events.ResponseReceived):
            self.streams[ev.stream_id].header_list = list(ev.headers)


def h2_all(st, name):
    return [v for k, v in getattr(st, "header_list", []) if k.lower() == name]


@unittest.skipUnless(h2client.available(), "python3-h2 is not installed")
class LocationsHttp2Test(SharedServerTestCase):
    server_kwargs = {"workers": 1, "http2_cleartext": True, "headers": {"X-Top": "top"},
                     "cache_control": {"default": "max-age=60"}, "files": PROTO_FILES}

    @classmethod
    def populate(cls, srv):
        srv.write_config(config_text(srv, proto_rules()))

    def get2(self, path, method="GET"):
        with H2Lists(self.port) as c:
            sid = c.request(path, method=method, authority="127.0.0.1:%d" % self.port)
            st = c.streams[sid]
            self.assertTrue(c.pump(lambda: st.ended or st.reset is not None, 5), path)
            return st

    def test_exact_and_try_files(self):
        st = self.get2("/healthz")
        self.assertEqual((st.status, bytes(st.body)), (200, b"ok\n"))
        st = self.get2("/about")
        self.assertEqual((st.status, bytes(st.body)), (200, b"about\n"))
        st = self.get2("/client/route")
        self.assertEqual((st.status, bytes(st.body)), (200, INDEX_HTML))
        st = self.get2("/app/x")
        self.assertEqual((st.status, bytes(st.body)), (200, b"fallback for /app/x\n"))

    def test_redirect(self):
        st = self.get2("/blog/9/h2")
        self.assertEqual(st.status, 301)
        self.assertEqual(h2_all(st, "location"), ["http://127.0.0.1:%d/posts/9-h2" % self.port])

    def test_methods(self):
        self.assertEqual(self.get2("/api/x").status, 204)
        st = self.get2("/api/x", method="DELETE")
        self.assertEqual(st.status, 405)
        self.assertEqual([t.strip().lower() for v in h2_all(st, "allow") for t in v.split(",")],
                         ["get", "head"])

    def test_cache_control_once(self):
        st = self.get2("/assets/app.js")
        self.assertEqual(h2_all(st, "cache-control"), ["public, max-age=31536000, immutable"])
        st = self.get2("/about.html")
        self.assertEqual(h2_all(st, "x-top"), ["top"])
        self.assertEqual(h2_all(st, "cache-control"), ["max-age=60"])

    def test_rule_headers(self):
        st = self.get2("/hdr/f.txt")
        self.assertEqual(bytes(st.body), b"hdr\n")
        for name, want in (("cache-control", ["no-store"]), ("x-frame-options", ["SAMEORIGIN"]),
                           ("x-top", [])):
            with self.subTest(header=name):
                self.assertEqual(h2_all(st, name), want, st.header_list)

    def test_variables(self):
        st = self.get2("/vars?a=b")
        self.assertEqual(bytes(st.body).decode(),
                         "scheme=http host=127.0.0.1 port=%d args=a=b\n" % self.port)

    def test_many_streams_one_connection(self):
        paths = ["/healthz", "/blog/1/a", "/app/q", "/assets/app.js", "/nothing"] * 4
        with H2Lists(self.port) as c:
            sids = [(c.request(p, authority="127.0.0.1:%d" % self.port), p) for p in paths]
            self.assertTrue(c.pump(lambda: all(c.streams[s].ended for s, _ in sids), 10))
            want = {"/healthz": 200, "/blog/1/a": 301, "/app/q": 200, "/assets/app.js": 200,
                    "/nothing": 200}
            for sid, p in sids:
                self.assertEqual(c.streams[sid].status, want[p], p)


# ---------------------------------------------------------------- TLS

class LocationsTlsTest(SharedServerTestCase):
    server_kwargs = {"workers": 1, "files": PROTO_FILES, "headers": {"X-Top": "top"},
                     "cache_control": {"default": "max-age=60"}}

    @classmethod
    def populate(cls, srv):
        d = tlsgen.certdir_in(srv)
        cls.ca = tlsgen.make_ca(d)
        cls.leaf = tlsgen.make_leaf(d, "ec", "DNS:localhost,IP:127.0.0.1", 2001)
        cls.tls_port = tlsgen.listen_tls(srv)
        srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(cls.leaf)]}
        srv.write_config(config_text(srv, proto_rules()))

    def tls_fetch(self, path, method="GET"):
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.set_alpn_protocols(["http/1.1"])
        with Conn(self.tls_port, timeout=5) as c:
            c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
            c.send(req(method, path, headers=[("Connection", "close")],
                       host="localhost:%d" % self.tls_port))
            return c.read_response(head=(method == "HEAD"))

    def test_scheme_is_https(self):
        r = self.tls_fetch("/vars?k=v")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body.decode(), "scheme=https host=localhost port=%d args=k=v\n"
                         % self.tls_port)
        r = fetch(self.port, "/vars")
        self.assertEqual(r.body.decode(), "scheme=http host=127.0.0.1 port=%d args=\n" % self.port)

    def test_relative_redirect_keeps_https(self):
        r = self.tls_fetch("/blog/4/tls")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "https://localhost:%d/posts/4-tls" % self.tls_port)
        r = fetch(self.port, "/blog/4/tls")
        self.assertEqual(r.header("Location"), "http://127.0.0.1:%d/posts/4-tls" % self.port)

    def test_rules_over_tls(self):
        r = self.tls_fetch("/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        r = self.tls_fetch("/client/route")
        self.assertEqual((r.status, r.body), (200, INDEX_HTML))
        r = self.tls_fetch("/api/x", method="POST")
        self.assertEqual(r.status, 405)

    def test_rule_headers_over_tls(self):
        r = self.tls_fetch("/hdr/f.txt")
        self.assertEqual((r.status, r.body), (200, b"hdr\n"))
        self.assertEqual(r.header_all("Cache-Control"), ["no-store"], r.headers)
        self.assertEqual(r.header_all("X-Top"), [], r.headers)

    def test_h2_over_tls_by_alpn(self):
        if shutil.which("curl") is None:
            self.skipTest("no curl")
        p = subprocess.run(["curl", "-sS", "--http2", "--cacert", self.ca, "--max-time", "10",
                            "-o", "/dev/null", "-D", "-",
                            "https://localhost:%d/blog/8/alpn" % self.tls_port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=15)
        head = p.stdout.decode("latin-1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(head.startswith("HTTP/2 301"), head)
        self.assertIn("location: https://localhost:%d/posts/8-alpn\r\n" % self.tls_port,
                      head.lower())


if __name__ == "__main__":
    run_main()
