#!/usr/bin/env python3
"""scripts/deps as a user who is not root and has no usable sudo: a missing
optional test peer is named and skipped (scripts/test then runs what it
can), a missing build dependency stops it with what to install. The real
script runs as nobody; dpkg-query answers for real except for the one
package the test calls missing, and sudo is one that would want a password."""

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import SRCDIR, run_main


def write_exe(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)


class DepsWithoutRootTest(unittest.TestCase):
    def setUp(self):
        if shutil.which("dpkg-query") is None:
            self.skipTest("no dpkg-query: scripts/deps knows Debian only")
        self.tmp = tempfile.mkdtemp(prefix="drover-deps-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o755)
        os.mkdir(os.path.join(self.tmp, "scripts"))
        shutil.copy2(os.path.join(SRCDIR, "scripts", "deps"), os.path.join(self.tmp, "scripts"))
        self.shim = os.path.join(self.tmp, "shim")
        os.mkdir(self.shim)
        self.marker = os.path.join(self.tmp, "apt-get-called")
        real = shutil.which("dpkg-query")
        # The last argument is the package: the one in MISSING is reported
        # as not installed, the rest by the real dpkg-query.
        write_exe(os.path.join(self.shim, "dpkg-query"),
                  '#!/bin/sh\nfor p; do :; done\n'
                  '[ "$p" = "$MISSING" ] && exit 1\nexec %s "$@"\n' % real)
        write_exe(os.path.join(self.shim, "sudo"),
                  '#!/bin/sh\necho "sudo: a password is required" >&2\nexit 1\n')
        write_exe(os.path.join(self.shim, "apt-get"),
                  '#!/bin/sh\ntouch %s\nexit 1\n' % self.marker)
        os.chmod(self.shim, 0o755)

    def deps(self, missing):
        env = {"PATH": "%s:/usr/local/bin:/usr/bin:/bin" % self.shim, "HOME": self.tmp,
               "MISSING": missing, "LC_ALL": "C"}
        cmd = ["sh", os.path.join(self.tmp, "scripts", "deps"), "--test"]
        if os.geteuid() == 0:
            try:
                nobody = pwd.getpwnam("nobody")
            except KeyError:
                self.skipTest("no user nobody to run it as")
            if shutil.which("setpriv") is None:
                self.skipTest("no setpriv")
            cmd = ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid,
                   "--clear-groups"] + cmd
        p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60, cwd=self.tmp)
        return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")

    def test_missing_optional_peer_is_skipped(self):
        rc, out = self.deps("wrk")
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"not root and no sudo: not installing the optional test peers:.*\bwrk\b")
        self.assertIn("will skip", out)
        self.assertFalse(os.path.exists(self.marker), "apt-get was run: " + out)

    def test_missing_build_dependency_stops(self):
        os.unlink(os.path.join(self.shim, "sudo"))   # no sudo at all, as on a bare machine
        if shutil.which("sudo", path="/usr/local/bin:/usr/bin:/bin"):
            self.skipTest("this machine has a real sudo")
        rc, out = self.deps("libyaml-dev")
        self.assertEqual(rc, 1, out)
        self.assertIn("deps: missing: libyaml-dev", out)
        self.assertIn("install them as root", out)
        self.assertFalse(os.path.exists(self.marker), "apt-get was run: " + out)


if __name__ == "__main__":
    run_main()
