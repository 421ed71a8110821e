#!/usr/bin/env python3
"""Stale message queues without /dev/mqueue: a master killed with SIGKILL
leaves its queue "/drover.<pid>" behind. With /dev/mqueue mounted the next
master lists and removes such queues; without the mount it cannot list, so
it removes the queue of the pid its pid file held. This test runs the second
master where /dev/mqueue is not mounted: as it is, or in a private mount
namespace (unshare -m) with the mount hidden."""

import ctypes
import ctypes.util
import os
import shutil
import signal
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import BIN, ServerTestCase, alive, run_main, wait_until


def librt():
    for name in ("rt", "c"):
        path = ctypes.util.find_library(name)
        if path:
            lib = ctypes.CDLL(path, use_errno=True)
            if hasattr(lib, "mq_open"):
                lib.mq_open.restype = ctypes.c_int
                lib.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int]
                return lib
    return None


def queue_exists(lib, name):
    fd = lib.mq_open(name.encode(), os.O_RDONLY)
    if fd < 0:
        return False
    lib.mq_close(fd)
    return True


class StaleQueueTest(ServerTestCase):
    server_kwargs = {"workers": 1}

    def test_queue_of_killed_master_removed_without_mount(self):
        lib = librt()
        if lib is None:
            self.skipTest("no mq_open in librt or libc")
        srv = self.srv
        old = srv.master
        name = "/drover.%d" % old
        self.assertTrue(queue_exists(lib, name), "the master has no queue %s" % name)
        workers = srv.workers()
        srv.signal(signal.SIGKILL)
        srv.proc.wait(5)
        self.assertTrue(wait_until(lambda: not any(alive(w, srv.known[w]) for w in workers),
                                   timeout=5))
        self.assertTrue(queue_exists(lib, name), "a SIGKILLed master's queue should be left")
        with open(srv.pid_file) as f:
            self.assertEqual(int(f.read()), old)

        # The next master, where /dev/mqueue is not mounted.
        cmd = [BIN, "-c", srv.conf_path, "-f"]
        how = "/dev/mqueue is not mounted"
        if os.path.ismount("/dev/mqueue"):
            probe = subprocess.run(["unshare", "-m", "sh", "-c", "umount -l /dev/mqueue"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if shutil.which("unshare") is None or probe.returncode != 0:
                self.skipTest("/dev/mqueue is mounted and unshare -m cannot hide it")
            cmd = ["unshare", "-m", "sh", "-c", 'umount -l /dev/mqueue && exec "$@"', "sh"] + cmd
            how = "unshare -m, /dev/mqueue unmounted"
        sys.stderr.write("\n  [second master: %s]\n" % how)
        out = open(srv.stdout_path, "ab")
        err = open(srv.stderr_path, "ab")
        try:
            srv.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                        cwd=srv.dir)
        finally:
            out.close()
            err.close()
        srv.master = srv.proc.pid
        srv.remember(srv.master)
        srv.wait_serving()
        self.assertFalse(queue_exists(lib, name), "stale queue %s still there%s"
                         % (name, srv.diag()))
        self.assertIn("removed the stale message queue %s of master %d" % (name, old),
                      srv.log_text())
        self.assertTrue(queue_exists(lib, "/drover.%d" % srv.master))


if __name__ == "__main__":
    run_main()
