#!/usr/bin/env python3
""".ci/run always ends with its "ci: N passed, M failed" line (issue 15,
item 12), also when the first pass fails, and still exits non-zero then.

.ci/run is run from a copy in a temporary tree whose scripts/test,
configure and make are stand-ins that write an automake test-suite.log and
exit as told: the real passes take many minutes."""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import SRCDIR, run_main

FAKE_TEST = """#!/bin/sh
printf '# TOTAL: %d\\n# PASS: %d\\n# FAIL: %d\\n# ERROR: 0\\n' \\
    $((FIRST_PASS + FIRST_FAIL)) "$FIRST_PASS" "$FIRST_FAIL" > test-suite.log
test "$FIRST_FAIL" -eq 0
"""
FAKE_CONFIGURE = """#!/bin/sh
test "${CONFIGURE_FAILS:-0}" -eq 0 || exit 1
echo 'all:' > Makefile
"""
FAKE_MAKE = """#!/bin/sh
case "$*" in
  distclean) rm -f Makefile; exit 0 ;;
esac
printf '# TOTAL: %d\\n# PASS: %d\\n# FAIL: %d\\n# ERROR: %d\\n' \\
    $((SAN_PASS + SAN_FAIL)) "$SAN_PASS" "$SAN_FAIL" 0 > test-suite.log
test "$SAN_FAIL" -eq 0
"""


def write_exec(path, text):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, stat.S_IRWXU)


class CiRunTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="drover-ci-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        for d in (".ci", "scripts", "bin"):
            os.mkdir(os.path.join(self.tmp, d))
        shutil.copy2(os.path.join(SRCDIR, ".ci", "run"), os.path.join(self.tmp, ".ci", "run"))
        write_exec(os.path.join(self.tmp, "scripts", "test"), FAKE_TEST)
        write_exec(os.path.join(self.tmp, "scripts", "failed-logs"), "#!/bin/sh\nexit 0\n")
        write_exec(os.path.join(self.tmp, "configure"), FAKE_CONFIGURE)
        write_exec(os.path.join(self.tmp, "bin", "make"), FAKE_MAKE)

    def run_ci(self, **env):
        e = dict(os.environ)
        e["PATH"] = os.path.join(self.tmp, "bin") + os.pathsep + e.get("PATH", "")
        e.update({k: str(v) for k, v in env.items()})
        p = subprocess.run(["bash", os.path.join(self.tmp, ".ci", "run")], env=e,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        lines = p.stdout.decode("utf-8", "replace").strip().splitlines()
        return p.returncode, lines[-1] if lines else ""

    def test_all_pass(self):
        rc, last = self.run_ci(FIRST_PASS=3, FIRST_FAIL=0, SAN_PASS=4, SAN_FAIL=0)
        self.assertEqual((rc, last), (0, "ci: 7 passed, 0 failed"))

    def test_first_pass_fails(self):
        rc, last = self.run_ci(FIRST_PASS=3, FIRST_FAIL=2, SAN_PASS=4, SAN_FAIL=0)
        self.assertNotEqual(rc, 0)
        self.assertEqual(last, "ci: 7 passed, 2 failed")

    def test_second_pass_fails(self):
        rc, last = self.run_ci(FIRST_PASS=3, FIRST_FAIL=0, SAN_PASS=4, SAN_FAIL=1)
        self.assertNotEqual(rc, 0)
        self.assertEqual(last, "ci: 7 passed, 1 failed")

    def test_configure_fails(self):
        # no test-suite.log from the second pass: it still counts as a failure
        rc, last = self.run_ci(FIRST_PASS=3, FIRST_FAIL=0, SAN_PASS=4, SAN_FAIL=0,
                               CONFIGURE_FAILS=1)
        self.assertNotEqual(rc, 0)
        self.assertEqual(last, "ci: 3 passed, 1 failed")


if __name__ == "__main__":
    run_main()
