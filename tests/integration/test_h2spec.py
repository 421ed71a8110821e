#!/usr/bin/env python3
"""HTTP/2 conformance (issue 14): h2spec (github.com/summerwind/h2spec)
against drover over cleartext HTTP/2 with prior knowledge
(http2_cleartext: true). Every case must pass. Skips, saying why, when the
h2spec binary is not installed (scripts/deps --test builds it with
../shared/tools/h2spec-build where that exists)."""

import re
import shutil
import subprocess
import unittest

import harness


def h2spec_bin():
    return shutil.which("h2spec")


@unittest.skipUnless(h2spec_bin(), "h2spec is not installed (see scripts/deps --test)")
class H2specTest(unittest.TestCase):
    def test_h2spec_cleartext(self):
        s = harness.Server(files={"small.txt": b"x" * 100}, http2_cleartext=True)
        try:
            s.start()
            p = subprocess.run([h2spec_bin(), "-h", "127.0.0.1", "-p", str(s.port), "-o", "5"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            out = p.stdout.decode("utf-8", "replace")
            m = re.search(r"(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed", out)
            self.assertIsNotNone(m, out[-3000:])
            total, passed, skipped, failed = map(int, m.groups())
            print("h2spec: %s" % m.group(0))
            fails = out[out.find("Failures:"):] if "Failures:" in out else ""
            self.assertEqual(failed, 0, fails[:4000])
            self.assertGreaterEqual(total, 146)
            self.assertEqual(s.proc.poll(), None, "drover died under h2spec" + s.diag())
        finally:
            s.stop()


if __name__ == "__main__":
    harness.run_main()
