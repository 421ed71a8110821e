#!/usr/bin/env python3
"""Who the workers run as when drover is started as root: the user key, and
without it nobody (as nginx does), said in the log; user: root keeps root
with a warning. A reload that changes it says so again."""

import os
import pwd
import grp
import signal
import unittest

from harness import ServerTestCase, get, run_main, wait_until


def ids(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return [int(x) for x in line.split()[1:]]
    return None


@unittest.skipUnless(os.geteuid() == 0, "needs root: the fallback is for a master run as root")
class UserTest(ServerTestCase):
    start_server = False

    def setUp(self):
        super().setUp()
        try:
            self.nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("this machine has no user nobody")

    def assertWorkersRunAs(self, uid, gid, msg=""):
        self.assertTrue(wait_until(lambda: len(self.srv.workers()) == 1, timeout=5))
        for w in self.srv.workers():
            self.assertEqual(ids(w, "Uid"), [uid] * 4, "worker %d uid %s" % (w, msg))
            self.assertEqual(ids(w, "Gid"), [gid] * 4, "worker %d gid %s" % (w, msg))

    def test_no_user_falls_back_to_nobody(self):
        self.srv.conf["user"] = None          # the harness would say root
        self.srv.write_config()
        self.assertNotIn("user:", self.srv.read(self.srv.conf_path))
        p = self.srv.run("-t")
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, out)
        self.assertEqual(len(out.strip().splitlines()), 1, out)
        self.srv.start()
        self.assertEqual(ids(self.srv.master, "Uid"), [0] * 4)
        self.assertWorkersRunAs(self.nobody.pw_uid, self.nobody.pw_gid)
        group = grp.getgrgid(self.nobody.pw_gid).gr_name
        self.assertIn("workers run as nobody:%s: %s sets no user" % (group, self.srv.conf_path),
                      self.srv.log_text())
        # The root was opened before the privileges went: still served.
        self.assertEqual(get(self.srv.port, "/").status, 200)

    def test_user_root_keeps_root_with_a_warning(self):
        self.srv.start()
        self.assertWorkersRunAs(0, 0)
        self.assertRegex(self.srv.log_text(),
                         r"\[warn\].*%s:\d+: user: root: workers run as root"
                         % self.srv.conf_path)
        self.assertNotIn("nobody", self.srv.log_text())

    def test_reload_to_no_user(self):
        self.srv.start()
        self.assertWorkersRunAs(0, 0, "before the reload")
        self.srv.conf["user"] = None
        self.srv.write_config()
        old = set(self.srv.workers())
        self.srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: self.srv.workers() and not old & set(self.srv.workers()),
                                   timeout=10), self.srv.diag())
        self.assertWorkersRunAs(self.nobody.pw_uid, self.nobody.pw_gid, "after the reload")
        self.assertIn("workers run as nobody:", self.srv.log_text())
        self.assertEqual(get(self.srv.port, "/").status, 200)


if __name__ == "__main__":
    run_main()
