#!/usr/bin/env python3
"""The README's example site (README "Locations (site rules)"), taken from
the README itself so the two cannot drift: drover -t accepts it, and the
real binary serves every rule it shows: the SPA fallback with 200, clean
URLs, the health check kept out of the access log, immutable assets, the
blog redirect with captures, the alias'd downloads with a listing, the API's
methods, the redirect map, and -T's explanation."""

import json
import os
import re

from harness import ServerTestCase, get, run_main, wait_until

README = os.path.join(os.environ.get("DROVER_SRCDIR",
                                     os.path.join(os.path.dirname(__file__), "..", "..")), "README")


def example_yaml():
    text = open(README, encoding="utf-8").read()
    m = re.search(r"<!-- example-site -->\n```yaml\n(.*?)```\n<!-- /example-site -->", text, re.S)
    if m is None:
        raise AssertionError("README has no example site between its markers")
    return m.group(1)


class ExampleSiteTest(ServerTestCase):
    start_server = False

    def setUp(self):
        super().setUp()
        srv = self.srv
        srv.write_file("index.html", b"<!doctype html><title>app</title>\n")
        srv.write_file("about.html", b"about us\n")
        srv.write_file("assets/app.js", b"console.log(1)\n")
        srv.write_file("api/status.json", b'{"up":true}\n')
        files = os.path.join(srv.dir, "files")
        os.makedirs(files)
        with open(os.path.join(files, "manual.pdf"), "wb") as f:
            f.write(b"%PDF-1.4 manual\n")
        with open(os.path.join(srv.dir, "redirects.txt"), "w") as f:
            f.write("# moved in the redesign\n/old-about /about 301\n/shop https://shop.example.com/ 302\n")
        yaml = example_yaml().replace('listen: ["127.0.0.1:8080"]',
                                      'listen: ["127.0.0.1:%d"]' % srv.port)
        yaml += ("pid_file: %s\nerror_log: %s\nworkers: 1\nkeepalive_timeout: 5s\n"
                 "shutdown_timeout: 5s\n" % (srv.pid_file, srv.error_log))
        srv.write_config(yaml)
        srv.access_log = os.path.join(srv.dir, "access.log")

    def test_check_accepts_it(self):
        r = self.srv.run("-t", cwd=self.srv.dir)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_explain(self):
        r = self.srv.run("-T", "/blog/7/hello", cwd=self.srv.dir)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("the first regex in file order", out)
        self.assertIn("redirect 301 to /posts/7-hello", out)
        out = self.srv.run("-T", "/assets/app.js", cwd=self.srv.dir).stdout.decode()
        self.assertIn('"^~ /assets/"', out)

    def test_serves_it(self):
        srv = self.srv
        srv.start(cwd=srv.dir)
        p = srv.port
        # The SPA: an unknown path is the app with 200; the app is no-cache.
        r = get(p, "/settings/profile")
        self.assertEqual((r.status, r.body), (200, b"<!doctype html><title>app</title>\n"))
        self.assertEqual(r.header_all("Cache-Control"), ["no-cache"])
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        # Clean URLs, with the / rule's header.
        r = get(p, "/about")
        self.assertEqual((r.status, r.body), (200, b"about us\n"))
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        # Assets: a year, immutable, once.
        r = get(p, "/assets/app.js")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header_all("Cache-Control"), ["public, max-age=31536000, immutable"])
        self.assertEqual(get(p, "/assets/missing.js").status, 404)  # ^~: no SPA fallback
        # Old blog URLs.
        r = get(p, "/blog/2019/hello-world")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "http://localhost/posts/2019-hello-world")
        # Downloads from another directory, listed.
        self.assertEqual(get(p, "/downloads/manual.pdf").body, b"%PDF-1.4 manual\n")
        self.assertIn(b"manual.pdf", get(p, "/downloads/").body)
        # The API: its files, 404 for the rest, GET and HEAD only.
        self.assertEqual(get(p, "/api/status").body, b'{"up":true}\n')
        self.assertEqual(get(p, "/api/nope").status, 404)
        r = get(p, "/api/status", method="DELETE")
        self.assertEqual((r.status, r.header("Allow")), (405, "GET, HEAD"))
        # The migration's redirects, before the locations.
        r = get(p, "/old-about")
        self.assertEqual((r.status, r.header("Location")), (301, "http://localhost/about"))
        self.assertEqual(get(p, "/shop").header("Location"), "https://shop.example.com/")
        # The health check answers and is not logged; the others are, with their rule.
        r = get(p, "/healthz")
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        get(p, "/about")

        def lines():
            try:
                with open(srv.access_log) as f:
                    return [json.loads(l) for l in f if l.strip()]
            except OSError:
                return []
        # The log is written at least once a second: wait for the last line.
        self.assertTrue(wait_until(lambda: len([l for l in lines() if l["path"] == "/about"]) == 2,
                                   timeout=5), lines())
        logged = lines()
        self.assertFalse([l for l in logged if l["path"] == "/healthz"], logged)
        rules = {l["path"]: l["rule"] for l in logged}
        self.assertEqual(rules["/assets/app.js"], "^~ /assets/")
        self.assertEqual(rules["/old-about"], "redirect_map")
        self.assertEqual(rules["/settings/profile"], "= /index.html")


if __name__ == "__main__":
    run_main()
