#!/usr/bin/env python3
"""Nothing outside root is ever served, in any spelling; dotfiles are not
served; the server keeps serving after every hostile request."""

import os

import sys
sys.dont_write_bytecode = True  # keep the source tree clean

import unittest

from harness import (INDEX_HTML, Server, SharedServerTestCase, raw_exchange, get,
                     req, run_main, parse_head)

SECRET = b"TOP-SECRET-7f3a9c-do-not-serve"
SECRET2 = b"SIBLING-SECRET-41b2-do-not-serve"
DOT = b"DOTFILE-CONTENT-9e1d"

TRAVERSALS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/secret.txt",
    "/%2E%2E/secret.txt",
    "/%2E%2E%2Fsecret.txt",
    "/%2e%2e%2f%2e%2e%2fsecret.txt",
    "/.%2e/secret.txt",
    "/%2e./secret.txt",
    "/..%2fsecret.txt",
    "/sub/../../secret.txt",
    "/sub/%2e%2e/%2e%2e/secret.txt",
    "/sub/..%2f..%2fsecret.txt",
    "/a/..%2f..%2f..%2fetc/passwd",
    "/a/..%2f..%2fsecret.txt",
    "/../../../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/..\\secret.txt",
    "/sub\\..\\..\\secret.txt",
    "/..%5csecret.txt",
    "/%5c..%5c..%5csecret.txt",
    "/../secret.txt%00.html",
    "/%00/../secret.txt",
    "/index.html%00",
    "/index.html%00.txt",
    "/%252e%252e/secret.txt",
    "/..%c0%afsecret.txt",
    "/%c0%ae%c0%ae/secret.txt",
    "/./.././secret.txt",
    "//../secret.txt",
    "/../www-evil/secret2.txt",
    "/../www/../secret.txt",
    "/../www-evil%2fsecret2.txt",
    "/../drover.yaml",
    "/%2e%2e/drover.yaml",
    "http://localhost/../secret.txt",
    "http://localhost/%2e%2e/secret.txt",
    "../secret.txt",
    "secret.txt",
    "/.%00./secret.txt",
    "/%2e%2e%00/secret.txt",
    "/%%32%65%%32%65/secret.txt",
    "/%2", "/%zz/../secret.txt",
]

DOTFILES = [
    "/.htpasswd",
    "/%2ehtpasswd",
    "/%2Ehtpasswd",
    "/.git/config",
    "/.git/%63onfig",
    "/%2egit/config",
    "/sub/.hidden",
    "/sub/./.hidden",
    "/sub/%2ehidden",
    "/.git/",
    "/.git",
]


class SecurityTest(SharedServerTestCase):
    server_kwargs = {"workers": 1}

    @classmethod
    def populate(cls, srv):
        with open(os.path.join(srv.dir, "secret.txt"), "wb") as f:
            f.write(SECRET + b"\n")
        os.mkdir(os.path.join(srv.dir, "www-evil"))
        with open(os.path.join(srv.dir, "www-evil", "secret2.txt"), "wb") as f:
            f.write(SECRET2 + b"\n")
        srv.write_file("sub/page.txt", "page\n")
        srv.write_file("sub/.hidden", DOT)
        srv.write_file(".htpasswd", DOT)
        srv.write_file(".git/config", DOT)
        srv.write_file("a/b/c/x.txt", "x\n")

    def check_not_leaked(self, path, data):
        out, _closed = raw_exchange(self.port, data, timeout=5)
        status = None
        try:
            status = parse_head(out)[1]
        except Exception:
            pass
        self.assertFalse(status is not None and 200 <= status < 300,
                         "%r answered %s: %r" % (path, status, out[:300]))
        for needle in (SECRET, SECRET2, DOT, b"root:x:0:0", b"pid_file"):
            self.assertNotIn(needle, out, "%r leaked %r" % (path, needle))
        if out:
            self.assertTrue(out.startswith(b"HTTP/1."),
                            "%r: not an HTTP response: %r" % (path, out[:100]))
        self.assertServes(repr(path))
        return status

    def test_traversal(self):
        for path in TRAVERSALS:
            with self.subTest(path=path):
                data = req("GET", path, headers={"Connection": "close"})
                st = self.check_not_leaked(path, data)
                self.assertIn(st, (400, 403, 404), "%r answered %s" % (path, st))

    def test_traversal_head(self):
        for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt"):
            with self.subTest(path=path):
                data = req("HEAD", path, headers={"Connection": "close"})
                self.check_not_leaked(path, data)

    def test_raw_bytes_in_target(self):
        # A raw NUL, a raw backslash, a tab: never a 2xx, never the secret.
        for target in (b"/index.html\x00", b"/..\x00/secret.txt",
                       b"/\\..\\secret.txt", b"/..\t/secret.txt",
                       b"/\x2e\x2e/secret.txt"):
            with self.subTest(target=target):
                data = (b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n")
                self.check_not_leaked(target, data)

    def test_dotfiles(self):
        for path in DOTFILES:
            with self.subTest(path=path):
                data = req("GET", path, headers={"Connection": "close"})
                st = self.check_not_leaked(path, data)
                self.assertIn(st, (403, 404), "%r answered %s" % (path, st))

    def test_dot_segments_inside_root(self):
        # Resolved inside root or refused; never anything else.
        r = get(self.port, "/sub/../index.html")
        self.assertIn(r.status, (200, 400))
        if r.status == 200:
            self.assertEqual(r.body, INDEX_HTML)
        r = get(self.port, "/a/b/c/../../b/c/x.txt")
        self.assertIn(r.status, (200, 400))
        if r.status == 200:
            self.assertEqual(r.body, b"x\n")
        r = get(self.port, "/sub/page.txt")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"page\n")


class RedirectTest(SharedServerTestCase):
    """The 301 to a directory's slash form never points at another host."""

    @classmethod
    def populate(cls, srv):
        srv.write_file("images/", None)
        srv.write_file("images/index.html", b"images\n")

    def test_location_is_built_from_the_normalised_path(self):
        for target in ("//evil.example/../images", "///evil.example/../images",
                       "/%2fevil.example/../images", "/./images"):
            r = get(self.port, target)
            self.assertEqual(r.status, 301, target)
            loc = r.header("Location")
            self.assertEqual(loc, "/images/", "%s redirected to %r" % (target, loc))

    def test_location_keeps_the_query_and_encodes_the_path(self):
        self.srv.write_file("a b/", None)
        r = get(self.port, "/a%20b?x=1")
        self.assertEqual(r.status, 301)
        self.assertEqual(r.header("Location"), "/a%20b/?x=1")


class SymlinkTest(unittest.TestCase):
    """A symlink under root that points outside it is never followed out,
    with openat2(RESOLVE_BENEATH) and with the check that replaces it on
    kernels without openat2 (forced with DROVER_NO_OPENAT2)."""

    def check(self, env):
        srv = Server(workers=1)
        self.addCleanup(srv.cleanup)
        outside = os.path.join(srv.dir, "outside.txt")
        with open(outside, "wb") as f:
            f.write(SECRET)
        os.makedirs(os.path.join(srv.dir, "outdir"))
        with open(os.path.join(srv.dir, "outdir", "s.txt"), "wb") as f:
            f.write(SECRET2)
        os.symlink(outside, srv.path("link.txt"))
        os.symlink(os.path.join(srv.dir, "outdir"), srv.path("linkdir"))
        srv.write_file("inside.txt", b"inside\n")
        os.symlink("inside.txt", srv.path("ok.txt"))  # relative: stays inside
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            srv.start()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        for path in ("/link.txt", "/linkdir/s.txt"):
            r = get(srv.port, path)
            self.assertNotEqual(r.status, 200, "%s served through a symlink (%r)" % (path, env))
            self.assertNotIn(SECRET, r.body)
            self.assertNotIn(SECRET2, r.body)
        # A relative symlink that stays inside the root is fine. (Absolute
        # ones are refused by RESOLVE_BENEATH even when they point inside.)
        r = get(srv.port, "/ok.txt")
        self.assertEqual((r.status, r.body), (200, b"inside\n"))

    def test_openat2(self):
        self.check({})

    def test_fallback_without_openat2(self):
        self.check({"DROVER_NO_OPENAT2": "1"})


if __name__ == "__main__":
    run_main()
