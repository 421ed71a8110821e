#!/usr/bin/env python3
"""Active health checks of upstreams (`health:`, doc/configuration.md
"Reverse proxy"), run by the master against real Python applications
(upstreams.py) whose /health can be switched to 500 or that stop
listening: a server is taken out within about two intervals with no client
request, and no request reaches it; it comes back after `passes`; backups
serve when every primary fails its checks; all down is a 502 at once; each
change is logged once; workers restarted by kill -9 see the verdict; a
reload applies a changed health configuration and stops checking what it
removed; bad health keys are refused naming file, line and key."""

import os
import selectors
import signal
import socket
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ServerTestCase, free_port, get, run_main, wait_until  # noqa: E402
from upstreams import App, assert_no_crash  # noqa: E402

INTERVAL = 0.3
HEALTH = {"path": "/health", "interval": "300ms", "timeout": "250ms", "fails": 2, "passes": 2}


def down_line(name, addr, why):
    return "upstream %s: server %s is down (health check: %s)" % (name, addr, why)


def up_line(name, addr, why="status 200"):
    return "upstream %s: server %s is up again (health check: %s)" % (name, addr, why)


class SlowHealth(object):
    """n listening ports on 127.0.0.1 served by one thread: each connection
    gets "200 OK" (Connection: close) delay seconds after its request head
    arrived. Many servers whose checks are all under way at once."""

    def __init__(self, n, delay):
        self.sel = selectors.DefaultSelector()
        self.delay = delay
        self.listeners = []
        for _ in range(n):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", 0))
            s.listen(16)
            s.setblocking(False)
            self.sel.register(s, 1, "listen")
            self.listeners.append(s)
        self.ports = [s.getsockname()[1] for s in self.listeners]
        self.conns = {}  # socket -> [bytes read, when to answer or None]
        self.answered = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            for key, _ in self.sel.select(timeout=0.05):
                s = key.fileobj
                if key.data == "listen":
                    try:
                        c, _ = s.accept()
                    except OSError:
                        continue
                    c.setblocking(False)
                    self.conns[c] = [b"", None]
                    self.sel.register(c, 1, "conn")
                    continue
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                st = self.conns.get(s)
                if not data or st is None:
                    self._drop(s)
                    continue
                st[0] += data
                if b"\r\n\r\n" in st[0] and st[1] is None:
                    st[1] = time.monotonic() + self.delay
            now = time.monotonic()
            for c, st in list(self.conns.items()):
                if st[1] is not None and now >= st[1]:
                    try:
                        c.send(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        self.answered += 1
                    except OSError:
                        pass
                    self._drop(c)

    def _drop(self, c):
        self.conns.pop(c, None)
        try:
            self.sel.unregister(c)
        except (KeyError, ValueError):
            pass
        c.close()

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        for c in list(self.conns):
            c.close()
        for s in self.listeners:
            s.close()


class HealthTestBase(ServerTestCase):
    start_server = False

    def setUp(self):
        super().setUp()
        # Runs before the server's own cleanup (cleanups run last first).
        self.addCleanup(assert_no_crash, self, self.srv)

    def app(self, name):
        a = App(name, port=free_port())
        self.addCleanup(a.stop)
        return a

    def start(self, upstreams, workers=1):
        self.srv.conf["workers"] = workers
        self.srv.conf["upstreams"] = upstreams
        self.srv.conf["locations"] = {"/%s/" % n: {"proxy": n} for n in upstreams}
        self.srv.write_config()
        self.srv.start()

    def wait_log(self, text, timeout=5):
        ok = wait_until(lambda: text in self.srv.log_text(), timeout=timeout, interval=0.05)
        self.assertTrue(ok, "no %r in the log%s" % (text, self.srv.diag()))

    def wait_checked(self, app, n=2, timeout=5):
        """Until app got n more health checks."""
        have = len(app.paths(health=True))
        ok = wait_until(lambda: len(app.paths(health=True)) >= have + n, timeout=timeout)
        self.assertTrue(ok, "%s not checked%s" % (app.name, self.srv.diag()))

    def spread(self, path, n=12):
        """n requests; the apps that answered them, by X-App."""
        out = []
        for i in range(n):
            r = get(self.port, "%s%d" % (path, i))
            self.assertEqual(r.status, 200, r.body)
            out.append(r.header("X-App"))
        return out


class HealthTest(HealthTestBase):
    def test_out_without_requests_none_sent_and_back_after_passes(self):
        a, b = self.app("a"), self.app("b")
        A, B = "127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port
        self.start({"app": {"servers": [A, B], "health": HEALTH}})
        self.wait_checked(a)
        self.assertEqual(sorted(set(self.spread("/app/x"))), ["a", "b"])
        # The check's request: GET path HTTP/1.1, the server's Host, close.
        method, target, headers, version = [s for s in a.seen if s[1] == "/health"][0]
        self.assertEqual((method, version), ("GET", "HTTP/1.1"))
        self.assertEqual(headers.get("Host"), A)
        self.assertEqual(headers.get("Connection"), "close")

        a.health["/health"] = 500
        t0 = time.monotonic()
        self.wait_log(down_line("app", A, "status 500"))
        took = time.monotonic() - t0
        # fails: 2 checks 300 ms apart, the first within an interval: about
        # two intervals; bounded loosely for a loaded machine.
        self.assertLess(took, 2 * INTERVAL + 1.5, "taken out after %.2fs" % took)
        before = len(a.paths())
        self.assertEqual(set(self.spread("/app/y", 16)), {"b"})
        self.assertEqual(len(a.paths()), before, "a request reached a server that is down")

        a.health["/health"] = 200
        self.wait_log(up_line("app", A))
        self.assertIn("a", self.spread("/app/z"))
        log = self.srv.log_text()
        self.assertEqual(log.count(down_line("app", A, "status 500")), 1, log[-3000:])
        self.assertEqual(log.count(up_line("app", A)), 1, log[-3000:])
        self.assertNotIn("server %s is down" % B, log)

    def test_passes_needed_before_back(self):
        a, b = self.app("a"), self.app("b")
        A, B = "127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port
        slow = dict(HEALTH, interval="500ms", fails=1, passes=3)
        self.start({"app": {"servers": [A, B], "health": slow}})
        self.wait_checked(a, 1)
        a.health["/health"] = 500
        self.wait_log(down_line("app", A, "status 500"))
        a.health["/health"] = 200
        n0 = len(a.paths(health=True))
        self.wait_log(up_line("app", A), timeout=8)
        # Three passing checks: the third one brings it back.
        self.assertGreaterEqual(len(a.paths(health=True)) - n0, 3)

    def test_refusing_server(self):
        a, b = self.app("a"), self.app("b")
        A, B = "127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port
        self.start({"app": {"servers": [A, B], "health": HEALTH}})
        self.wait_checked(a)
        a.refuse()
        self.wait_log(down_line("app", A, "connect(): Connection refused"))
        mark = len(self.srv.log_text())
        self.assertEqual(set(self.spread("/app/r", 12)), {"b"})
        # Not even tried: no connect() to it was logged by the proxy.
        self.assertNotIn("connect() to %s" % A, self.srv.log_text()[mark:])
        a.listen()
        self.wait_log(up_line("app", A))
        self.assertIn("a", self.spread("/app/s"))

    def test_hanging_check_times_out(self):
        a, b = self.app("a"), self.app("b")
        A, B = "127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port
        self.start({"app": {"servers": [A, B], "health": HEALTH}})
        self.wait_checked(a)
        a.health["/health"] = "hang"
        self.wait_log(down_line("app", A, "timed out after 250ms"))
        self.assertEqual(set(self.spread("/app/h", 8)), {"b"})
        # The master kept serving its loop meanwhile: a reload goes through.
        self.srv.signal(signal.SIGHUP)
        self.wait_log("reload done")

    def test_backup_then_all_down_is_502_at_once(self):
        a, b, c = self.app("a"), self.app("b"), self.app("c")
        A, B, C = ("127.0.0.1:%d" % x.port for x in (a, b, c))
        self.start({"app": {"servers": [A, B, {"address": C, "backup": True}],
                            "health": HEALTH}})
        self.wait_checked(c)
        self.assertEqual(sorted(set(self.spread("/app/p"))), ["a", "b"])
        a.health["/health"] = b.health["/health"] = 500
        self.wait_log(down_line("app", A, "status 500"))
        self.wait_log(down_line("app", B, "status 500"))
        self.assertEqual(set(self.spread("/app/q", 8)), {"c"})
        c.health["/health"] = 500
        self.wait_log(down_line("app", C, "status 500"))
        seen = sum(len(x.paths()) for x in (a, b, c))
        for i in range(5):
            t0 = time.monotonic()
            r = get(self.port, "/app/none%d" % i)
            self.assertEqual(r.status, 502)
            self.assertLess(time.monotonic() - t0, 0.5)
        self.assertEqual(sum(len(x.paths()) for x in (a, b, c)), seen,
                         "a request reached a server that is down")
        self.assertIn('upstream "app": no server left', self.srv.log_text())

    def test_one_server_down_is_502(self):
        # Unlike passive health, active checks take out a group's only server.
        a = self.app("a")
        A = "127.0.0.1:%d" % a.port
        self.start({"solo": {"servers": [A], "health": HEALTH}})
        self.wait_checked(a)
        self.assertEqual(get(self.port, "/solo/x").status, 200)
        a.health["/health"] = 503
        self.wait_log(down_line("solo", A, "status 503"))
        self.assertEqual(get(self.port, "/solo/y").status, 502)

    def test_restarted_workers_see_the_shared_state(self):
        a, b = self.app("a"), self.app("b")
        A, B = "127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port
        self.start({"app": {"servers": [A, B], "health": HEALTH}}, workers=2)
        self.wait_checked(a)
        # /health fails but a serves everything else: only the shared
        # verdict can keep requests away from it.
        a.health["/health"] = 500
        self.wait_log(down_line("app", A, "status 500"))
        old = set(self.srv.workers())
        for pid in old:
            self.srv.signal(signal.SIGKILL, pid)
        ok = wait_until(lambda: len(self.srv.workers()) == 2 and not old & set(self.srv.workers()),
                        timeout=10)
        self.assertTrue(ok, self.srv.diag())
        self.srv.wait_serving()
        before = len(a.paths())
        self.assertEqual(set(self.spread("/app/k", 20)), {"b"})
        self.assertEqual(len(a.paths()), before)
        self.assertEqual(self.srv.log_text().count(down_line("app", A, "status 500")), 1)


def sockets_to(pid, port):
    """TCP sockets of process pid connected to 127.0.0.1:port."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            field = line.split()
            if int(field[2].split(":")[1], 16) == port and field[9] in inodes:
                n += 1
    return n


class HealthForkTest(HealthTestBase):
    def test_workers_do_not_keep_the_checks_sockets(self):
        # A check that hangs is always under way (timeout 2s, checks never
        # overlap), so the workers forked by kill -9 fork during one: they
        # must close their copy, or the application sees a connection that
        # never closes from each of them.
        a, b = self.app("a"), self.app("b")
        A, B = "127.0.0.1:%d" % a.port, "127.0.0.1:%d" % b.port
        self.start({"app": {"servers": [A, B], "health": dict(HEALTH, timeout="2s")}}, workers=2)
        a.health["/health"] = "hang"
        self.assertTrue(wait_until(lambda: sockets_to(self.srv.master, a.port) == 1, timeout=5))
        old = set(self.srv.workers())
        for pid in old:
            self.srv.signal(signal.SIGKILL, pid)
        ok = wait_until(lambda: len(self.srv.workers()) == 2 and not old & set(self.srv.workers()),
                        timeout=10)
        self.assertTrue(ok, self.srv.diag())
        self.assertEqual(sockets_to(self.srv.master, a.port), 1)
        for pid in self.srv.workers():
            self.assertEqual(sockets_to(pid, a.port), 0, "worker %d holds a check's socket" % pid)


class HealthDescriptorsTest(HealthTestBase):
    def test_no_descriptor_left_is_not_the_servers_fault(self):
        # 120 healthy servers answering their checks after 1.5 s, all
        # checked within 500 ms: the master (RLIMIT_NOFILE 100) runs out of
        # descriptors for some checks. A check it cannot start is not a
        # failed check: no server is taken out, and it is logged once.
        slow = SlowHealth(120, 1.5)
        self.addCleanup(slow.stop)
        self.srv.nofile = (100, 100)
        self.srv.conf["worker_connections"] = 16
        h = dict(HEALTH, interval="500ms", timeout="3s", fails=1)
        self.start({"many": {"servers": ["127.0.0.1:%d" % p for p in slow.ports[:60]],
                             "health": h},
                    "more": {"servers": ["127.0.0.1:%d" % p for p in slow.ports[60:]],
                             "health": h}})
        ok = wait_until(lambda: "not counted against it" in self.srv.log_text(), timeout=10)
        self.assertTrue(ok, "the master never ran out of descriptors%s" % self.srv.diag())
        self.assertTrue(wait_until(lambda: slow.answered >= 240, timeout=20), slow.answered)
        log = self.srv.log_text()
        self.assertNotIn(" is down (health check", log, log[-2000:])
        self.assertEqual(log.count("not counted against it"), 1, log[-2000:])
        self.assertIn("Too many open files", log)


class HealthReloadTest(HealthTestBase):
    def reload(self):
        before = self.srv.log_text().count("reload done")
        self.srv.write_config()
        self.srv.signal(signal.SIGHUP)
        ok = wait_until(lambda: self.srv.log_text().count("reload done") > before, timeout=10)
        self.assertTrue(ok, self.srv.diag())

    def test_changed_config_applies_and_removed_stop(self):
        a, b, d = self.app("a"), self.app("b"), self.app("d")
        A, B, D = ("127.0.0.1:%d" % x.port for x in (a, b, d))
        self.start({"app": {"servers": [A, B], "health": HEALTH},
                    "other": {"servers": [D], "health": HEALTH}})
        self.wait_checked(d)
        # A new path that a fails: applied from the reload's commit.
        a.health["/ready"] = 503
        b.health["/ready"] = 200
        self.srv.conf["upstreams"]["app"]["health"] = dict(HEALTH, path="/ready")
        del self.srv.conf["upstreams"]["other"]
        del self.srv.conf["locations"]["/other/"]
        self.reload()
        self.wait_log(down_line("app", A, "status 503"))
        self.assertIn("/ready", b.paths(health=True))
        # The removed upstream is no longer checked.
        time.sleep(INTERVAL)
        n = len(d.paths(health=True))
        time.sleep(4 * INTERVAL)
        self.assertEqual(len(d.paths(health=True)), n)
        # Health checks removed: the server that was down serves again.
        del self.srv.conf["upstreams"]["app"]["health"]
        self.reload()
        self.wait_log("upstream app: server %s is up again (health checks stopped by the "
                      "reload)" % A)
        ok = wait_until(lambda: "a" in self.spread("/app/back", 6), timeout=5)
        self.assertTrue(ok, self.srv.diag())

    def test_bad_health_refused_by_t_and_by_reload(self):
        a = self.app("a")
        A = "127.0.0.1:%d" % a.port
        self.start({"app": {"servers": [A], "health": HEALTH}})
        cases = [
            ({"path": "health"}, "health.path", "must start with '/'"),
            ({"path": "/h", "interval": "0"}, "health.interval", "expected a duration"),
            ({"path": "/h", "timeout": "0"}, "health.timeout", "expected a duration"),
            ({"path": "/h", "bogus": "1"}, "health", 'unknown key "bogus"'),
            ({"path": "/h", "passes": "0"}, "health.passes", "expected 1 to 100"),
            ({"interval": "1s"}, "health", "path is required"),
        ]
        for bad, key, why in cases:
            self.srv.conf["upstreams"]["app"]["health"] = bad
            self.srv.write_config()
            p = self.srv.run("-t")
            err = p.stderr.decode()
            self.assertNotEqual(p.returncode, 0, bad)
            self.assertRegex(err, r"drover\.yaml:\d+: %s: " % key.replace(".", r"\."), err)
            self.assertIn(why, err)
        before = self.srv.log_text().count("reload failed")
        self.srv.signal(signal.SIGHUP)
        ok = wait_until(lambda: self.srv.log_text().count("reload failed") > before, timeout=10)
        self.assertTrue(ok, self.srv.diag())
        self.assertEqual(get(self.port, "/app/still").status, 200)


if __name__ == "__main__":
    run_main()
