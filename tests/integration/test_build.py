#!/usr/bin/env python3
"""The build system as a new user meets it (issue 15, items 10 and 11).

A copy of the source tree is configured in a separate (VPATH) build
directory, twice, with two different --sysconfdir: the second configure
must make master/main.o out of date (the paths live in config.h, which
config.status rewrites, not in a -DSYSCONFDIR that make cannot see), and the
rebuilt object must name the new path only. configure must end with its
summary. Only master/main.o is compiled, so the test stays well under a
minute. Nothing is written outside a temporary directory."""

import os
import shutil
import subprocess
import tempfile
import unittest

from harness import SRCDIR, run_main

MAKE = os.environ.get("MAKE") or "make"
# What a build needs from the source tree; an in-tree build's config.status,
# config.h and Makefile are left behind, since configure refuses a VPATH
# build next to a configured source tree.
SOURCES = ("configure", "configure.ac", "Makefile.am", "Makefile.in", "config.h.in",
           "aclocal.m4", "build-aux", "m4", "master", "worker", "common", "tests", "etc",
           "www", "scripts", ".ci", "README", "autogen.sh")
SKIP_NAMES = ("config.status", "config.h", "Makefile", "stamp-h1", "config.log")


def clean_env():
    """No jobserver or flags inherited from the make check running us."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS"):
        env.pop(k, None)
    return env


def run(args, cwd, timeout=60):
    p = subprocess.run(args, cwd=cwd, env=clean_env(), stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    p.out = p.stdout.decode("utf-8", "replace")
    return p


def ignore(d, names):
    return [n for n in names
            if n.endswith((".o", ".a", ".log", ".trs")) or n in (".deps", "__pycache__")]


class ReconfigureTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.isfile(os.path.join(SRCDIR, "configure")):
            raise unittest.SkipTest("no configure in %s (run autogen.sh)" % SRCDIR)
        cls.tmp = tempfile.mkdtemp(prefix="drover-build-")
        cls.src = os.path.join(cls.tmp, "src")
        os.mkdir(cls.src)
        for name in SOURCES:
            path = os.path.join(SRCDIR, name)
            if os.path.isdir(path):
                shutil.copytree(path, os.path.join(cls.src, name), symlinks=True,
                                ignore=ignore)
            elif os.path.isfile(path):
                shutil.copy2(path, os.path.join(cls.src, name))
        for name in SKIP_NAMES:
            assert not os.path.exists(os.path.join(cls.src, name)), name
        cls.build = os.path.join(cls.tmp, "build")
        os.mkdir(cls.build)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def configure(self, *args):
        # A shared cache makes the second run cheap: it holds the checks,
        # never the paths.
        cache = "--cache-file=" + os.path.join(self.tmp, "config.cache")
        p = run(["../src/configure", cache] + list(args), self.build, timeout=120)
        self.assertEqual(p.returncode, 0, p.out[-3000:])
        return p.out

    @property
    def main_o_path(self):
        return os.path.join(self.build, "master", "main.o")

    def main_o(self):
        with open(self.main_o_path, "rb") as f:
            return f.read()

    def make_main_o(self):
        p = run([MAKE, "config.h", "master/main.o"], self.build, timeout=120)
        self.assertEqual(p.returncode, 0, p.out[-3000:])

    def test_reconfigure_rebuilds(self):
        out = self.configure("--prefix=/opt/drover-a", "--sysconfdir=/opt/drover-a/etc")
        # configure ends with its summary (item 11)
        self.assertIn("drover ", out)
        summary = out[out.rindex("\ndrover "):]
        self.assertIn("prefix:       /opt/drover-a\n", summary)
        self.assertIn("config file:  /opt/drover-a/etc/drover/drover.yaml\n", summary)
        for feature in ("OpenSSL:", "nghttp2:"):
            self.assertRegex(summary, r"%s +(found|not found)" % feature)
        # opt-in (--with-libsystemd): not used by default
        self.assertRegex(summary, r"libsystemd: +not used")
        self.make_main_o()
        self.assertIn(b"/opt/drover-a/etc", self.main_o())
        # up to date, until the paths change
        before = os.stat(self.main_o_path).st_mtime_ns
        self.make_main_o()
        self.assertEqual(os.stat(self.main_o_path).st_mtime_ns, before,
                         "master/main.o rebuilt without a change")

        self.configure("--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var")
        self.make_main_o()
        self.assertNotEqual(os.stat(self.main_o_path).st_mtime_ns, before,
                            "reconfigure with another --sysconfdir did not rebuild "
                            "master/main.o")
        obj = self.main_o()
        self.assertIn(b"/etc\0", obj)
        self.assertNotIn(b"/opt/drover-a", obj)
        with open(os.path.join(self.build, "config.h")) as f:
            h = f.read()
        self.assertIn('#define SYSCONFDIR "/etc"', h)
        self.assertIn('#define RUNSTATEDIR "/var/run"', h)
        self.assertIn('#define DROVER_CONF_FILE "/etc/drover/drover.yaml"', h)
        # what the probes found is in config.h too (defined, or a comment)
        for macro in ("HAVE_OPENSSL", "HAVE_NGHTTP2", "HAVE_LIBSYSTEMD"):
            self.assertIn(macro, h)


if __name__ == "__main__":
    run_main()
