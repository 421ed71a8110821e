#!/usr/bin/env python3
"""Small things a new user met (issue 15, item 14): the man page names each
configuration key once; the source tree has the m4/ directory that
ACLOCAL_AMFLAGS names (else aclocal warns on the first build); the default
page's code blocks wrap instead of running past the column; scripts/run
ends its output with "serving http://HOST:PORT/ (Ctrl-C stops)" once the
server answers, and stops on Ctrl-C."""

import collections
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import BIN, SRCDIR, free_port, port_accepts, run_main, wait_until


class ManPageTest(unittest.TestCase):
    def test_each_key_once(self):
        with open(os.path.join(SRCDIR, "etc", "drover.8")) as f:
            text = f.read()
        for sec in re.split(r"^\.SH ", text, flags=re.M)[1:]:
            name = sec.split("\n", 1)[0]
            keys = re.findall(r"^\.TP\n\.B ([A-Za-z_]+)\s*$", sec, flags=re.M)
            twice = sorted(k for k, n in collections.Counter(keys).items() if n > 1)
            self.assertEqual(twice, [], "drover(8) %s lists these twice" % name)


class TreeTest(unittest.TestCase):
    def test_m4_directory(self):
        with open(os.path.join(SRCDIR, "Makefile.am")) as f:
            self.assertIn("-I m4", f.read())
        self.assertTrue(os.path.isdir(os.path.join(SRCDIR, "m4")),
                        "m4/ is missing: aclocal warns \"couldn't open directory 'm4'\"")

    def test_pre_wraps(self):
        with open(os.path.join(SRCDIR, "www", "style.css")) as f:
            css = f.read()
        m = re.search(r"(?m)^pre\s*\{([^}]*)\}", css)
        self.assertIsNotNone(m, "no pre rule in www/style.css")
        self.assertRegex(m.group(1), r"white-space:\s*pre-wrap",
                         "code blocks of the default page do not wrap")


class ScriptsRunTest(unittest.TestCase):
    """scripts/run from a copy of the tree whose scripts/build does nothing
    and whose ./drover is the binary under test."""

    def setUp(self):
        if shutil.which("curl") is None:
            self.skipTest("curl is missing")
        self.tmp = tempfile.mkdtemp(prefix="drover-run-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        for d in ("scripts", "etc", "www"):
            os.mkdir(os.path.join(self.tmp, d))
        shutil.copy2(os.path.join(SRCDIR, "scripts", "run"), os.path.join(self.tmp, "scripts"))
        with open(os.path.join(self.tmp, "scripts", "build"), "w") as f:
            f.write("#!/bin/sh\nexit 0\n")
        os.chmod(os.path.join(self.tmp, "scripts", "build"), 0o755)
        os.symlink(os.path.abspath(BIN), os.path.join(self.tmp, "drover"))
        with open(os.path.join(self.tmp, "www", "index.html"), "w") as f:
            f.write("hello\n")
        self.port = free_port()
        with open(os.path.join(self.tmp, "etc", "drover.yaml"), "w") as f:
            f.write("# test\nlisten: [\"127.0.0.1:%d\"]\nworkers: 1\nroot: www\n"
                    "pid_file: %s/drover.pid\n" % (self.port, self.tmp))

    def test_serving_line_last(self):
        p = subprocess.Popen(["sh", os.path.join(self.tmp, "scripts", "run")],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)

        def stop():
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)   # the group this test made
                p.wait(5)
            p.stdout.close()
        self.addCleanup(stop)
        want = "serving http://127.0.0.1:%d/ (Ctrl-C stops)" % self.port
        out = b""
        deadline = time.monotonic() + 15
        while want.encode() not in out and time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.5)
            if r:
                chunk = os.read(p.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
        self.assertIn(want, out.decode("utf-8", "replace"))
        # Nothing more once it serves (a moment for stragglers).
        r, _, _ = select.select([p.stdout], [], [], 1.0)
        if r:
            out += os.read(p.stdout.fileno(), 4096)
        lines = out.decode("utf-8", "replace").strip().splitlines()
        self.assertEqual(lines[-1], want, out)
        # Ctrl-C: the terminal sends INT to the whole foreground group.
        os.killpg(p.pid, signal.SIGINT)
        p.wait(10)
        self.assertEqual(p.returncode, 0, out)
        self.assertTrue(wait_until(lambda: not port_accepts(self.port), timeout=5),
                        "still serving after Ctrl-C")


if __name__ == "__main__":
    run_main()
