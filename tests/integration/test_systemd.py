#!/usr/bin/env python3
"""systemd's protocols without systemd: the test plays the service manager.

- Notification (Type=notify): NOTIFY_SOCKET names a unix datagram socket the
  test owns; drover sends READY=1 once its workers are ready, RELOADING=1 and
  READY=1 around a reload, MAINPID= when an upgrade hands over (and the old
  master then says nothing more: no STOPPING=1 for a service that goes on),
  STOPPING=1 on a stop, and a STATUS= line.
- Socket activation: sockets the test bound are passed in LISTEN_FDS (with
  LISTEN_PID set to drover's own pid); one whose address is a listen entry
  is adopted and served, one that is not is closed, and a listen entry with
  no passed socket is bound as usual."""

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import (BIN, ServerTestCase, free_port, get, port_accepts,
                     run_main, wait_until)


NEXT_BIN = os.path.join(os.path.dirname(BIN), "drover-next")


class Notifier(object):
    """The manager's end of NOTIFY_SOCKET."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.msgs = []

    def close(self):
        self.sock.close()

    def wait_for(self, pred, timeout=10.0):
        """Reads datagrams until one satisfies pred (bounded); returns it."""
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            for m in self.msgs:
                if pred(m):
                    self.msgs.remove(m)
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                return None
            self.msgs.append(dict(ln.split("=", 1) for ln in
                                  data.decode().splitlines() if "=" in ln))
        return None

    def drain(self, wait=0.0):
        """Every datagram that arrives within `wait` seconds."""
        deadline = time.monotonic() + wait
        for _ in range(1000):
            left = max(0.001, deadline - time.monotonic())
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except (socket.timeout, BlockingIOError):
                break
            self.msgs.append(dict(ln.split("=", 1) for ln in
                                  data.decode().splitlines() if "=" in ln))
        out, self.msgs = self.msgs, []
        return out


class NotifyTest(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 2, "shutdown_timeout": "3s"}

    def setUp(self):
        super(NotifyTest, self).setUp()
        self.n = Notifier(os.path.join(self.srv.dir, "notify.sock"))
        self.addCleanup(self.n.close)
        os.environ["NOTIFY_SOCKET"] = self.n.path
        try:
            self.srv.start()
        finally:
            del os.environ["NOTIFY_SOCKET"]

    def test_ready_reload_upgrade_stop(self):
        srv, n = self.srv, self.n
        m = n.wait_for(lambda m: m.get("READY") == "1")
        self.assertTrue(m, "no READY=1" + srv.diag())
        self.assertIn("STATUS", m)
        self.assertIn("serving", m["STATUS"])

        srv.signal(signal.SIGHUP)
        m = n.wait_for(lambda m: m.get("RELOADING") == "1")
        self.assertTrue(m, "no RELOADING=1 on SIGHUP" + srv.diag())
        self.assertTrue(m.get("MONOTONIC_USEC", "").isdigit())
        self.assertTrue(n.wait_for(lambda m: m.get("READY") == "1"),
                        "no READY=1 after the reload" + srv.diag())

        old = srv.master
        p = srv.run("-s", "upgrade", timeout=40)
        self.assertEqual(p.returncode, 0, p.stderr.decode() + srv.diag())
        with open(srv.pid_file) as f:
            new = int(f.read())
        self.assertNotEqual(new, old)
        m = n.wait_for(lambda m: "MAINPID" in m)
        self.assertTrue(m, "no MAINPID= after the upgrade" + srv.diag())
        self.assertEqual(int(m["MAINPID"]), new)
        srv.remember(new)
        srv.master = new
        srv.workers()
        # The old master drains and exits without telling the manager the
        # service stops.
        self.assertEqual(srv.proc.wait(timeout=10), 0)
        late = n.drain(0.3)
        self.assertFalse([x for x in late if "STOPPING" in x],
                         "the old master said STOPPING=1 after handing over: %r" % late)

        srv.signal(signal.SIGQUIT)
        self.assertTrue(n.wait_for(lambda m: m.get("STOPPING") == "1"),
                        "no STOPPING=1 on SIGQUIT" + srv.diag())
        srv.wait_exit(10)

    def test_no_socket_no_messages(self):
        # Without NOTIFY_SOCKET nothing is sent (and nothing breaks).
        srv = self.make_server(workers=1)
        srv.start()
        self.assertEqual(get(srv.port, "/").status, 200)
        self.assertNotIn("NOTIFY_SOCKET", srv.log_text())
        self.assertNotIn("sd_notify", srv.log_text())


class BuiltinNotifyTest(ServerTestCase):
    """drover-next is built with the built-in fallback instead of libsystemd:
    the same messages, to a path or to an abstract ('@') socket."""
    start_server = False
    server_kwargs = {"workers": 1}

    def run_with(self, address, bind_to):
        if not os.access(NEXT_BIN, os.X_OK):
            self.skipTest("no %s (make check builds it; or make drover-next)" % NEXT_BIN)
        srv = self.srv
        n = Notifier(bind_to)
        self.addCleanup(n.close)
        env = dict(os.environ, NOTIFY_SOCKET=address)
        srv.proc = subprocess.Popen([NEXT_BIN, "-c", srv.conf_path, "-f"], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, cwd=srv.dir)
        srv.master = srv.proc.pid
        srv.remember(srv.master)
        srv.wait_serving()
        m = n.wait_for(lambda m: m.get("READY") == "1")
        self.assertTrue(m, "no READY=1 from the built-in sd_notify" + srv.diag())
        self.assertIn("-next", m.get("STATUS", ""))
        srv.signal(signal.SIGTERM)
        self.assertTrue(n.wait_for(lambda m: m.get("STOPPING") == "1"), srv.diag())
        srv.wait_exit(10)
        self.assertNotIn("NOTIFY_SOCKET", srv.log_text())

    def test_path(self):
        p = os.path.join(self.srv.dir, "n.sock")
        self.run_with(p, p)

    def test_abstract(self):
        name = "drover-test-notify-%d" % os.getpid()
        self.run_with("@" + name, "\0" + name)


def listening(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    return s


# Puts the passed fds at 3, 4, ... and sets LISTEN_PID to its own pid, which
# execv keeps: drover's pid. (A shell cannot redirect fds above 9 portably.)
WRAPPER = r"""
import os, sys
fds = [int(x) for x in sys.argv[1].split(",")]
for i, fd in enumerate(fds):
    os.dup2(fd, 3 + i)
for fd in fds:
    if fd >= 3 + len(fds):
        os.close(fd)
os.environ["LISTEN_FDS"] = str(len(fds))
os.environ["LISTEN_PID"] = str(os.getpid())
os.environ["LISTEN_FDNAMES"] = ":".join("passed%d" % i for i in range(len(fds)))
os.execv(sys.argv[2], sys.argv[2:])
"""


class SocketActivationTest(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 2}

    def test_passed_sockets(self):
        srv = self.srv
        p_passed, p_bound, p_stray = free_port(), free_port(), free_port()
        srv.conf["listen"] = ["127.0.0.1:%d" % p_passed, "127.0.0.1:%d" % p_bound]
        srv.port = p_passed
        srv.write_config()
        passed, stray = listening(p_passed), listening(p_stray)
        # Well above 3 and 4, so that putting them there clobbers nothing.
        high = [fcntl.fcntl(s.fileno(), fcntl.F_DUPFD, 50) for s in (passed, stray)]
        out = open(srv.stdout_path, "ab")
        err = open(srv.stderr_path, "ab")
        try:
            srv.proc = subprocess.Popen(
                [sys.executable, "-c", WRAPPER, ",".join(map(str, high)),
                 BIN, "-c", srv.conf_path, "-f"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=srv.dir,
                pass_fds=high)
        finally:
            out.close()
            err.close()
            for fd in high:
                os.close(fd)
        srv.master = srv.proc.pid
        srv.remember(srv.master)
        # Only drover holds the sockets now: what is served is served by it.
        passed.close()
        stray.close()
        srv.wait_serving()
        self.assertTrue(wait_until(lambda: len(srv.workers()) == 2, timeout=5), srv.diag())
        self.assertEqual(get(p_passed, "/").status, 200)
        self.assertEqual(get(p_bound, "/").status, 200)
        log = srv.log_text()
        self.assertIn("listening on 127.0.0.1:%d (inherited socket, fd 3)" % p_passed, log)
        self.assertIn("listening on 127.0.0.1:%d\n" % p_bound, log)
        self.assertIn("closing inherited socket (fd 4)", log)
        self.assertFalse(port_accepts(p_stray), "a passed socket that no listen entry names "
                                                "still takes connections")
        # The variables are not passed on: a reload keeps the adopted socket.
        srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload done" in srv.log_text(), timeout=10),
                        srv.diag())
        self.assertEqual(get(p_passed, "/").status, 200)

    def test_other_pid_ignored(self):
        # LISTEN_PID names another process: the sockets are not ours.
        srv = self.srv
        env = dict(os.environ, LISTEN_FDS="1", LISTEN_PID="1")
        srv.proc = subprocess.Popen([BIN, "-c", srv.conf_path, "-f"], env=env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, cwd=srv.dir)
        srv.master = srv.proc.pid
        srv.remember(srv.master)
        srv.wait_serving()
        self.assertNotIn("inherited", srv.log_text())


if __name__ == "__main__":
    run_main()
