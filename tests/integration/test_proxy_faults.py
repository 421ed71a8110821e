#!/usr/bin/env python3
"""Reverse proxy faults that need a server of their own: an upstream whose
connect never completes (connect_timeout, and the next server after it),
a client that goes away while the upstream is silent (the upstream
connection is closed at once, not at read_timeout), an upstream that
answers before it has read the request body (its answer reaches the
client), one whose FIN comes with its keep-alive response (that connection
is not pooled), and a reload (the old generation's pooled upstream connections
are closed once idle). Real upstreams on 127.0.0.1."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import ServerTestCase, exchange, req, run_main, wait_until
from upstreams import RawServer, EchoServer, read_head, get


class Unanswered(object):
    """A listening socket that never accepts, its accept queue filled by
    connections of ours: the kernel then drops further SYNs, so a
    connect() to it neither completes nor fails: what a host that is
    down behind a firewall does."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = self.sock.getsockname()[1]
        self.fillers = []
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect(("127.0.0.1", self.port))
            except BlockingIOError:
                pass
            self.fillers.append(s)
        time.sleep(0.2)

    def stop(self):
        for s in self.fillers:
            s.close()
        self.sock.close()


class Watched(RawServer):
    """A raw upstream that reads the request head, stays silent (or, with
    answer, answers it and then waits), and records when drover closes the
    connection."""

    def __init__(self, answer=False):
        self.closed_at = []
        self.heads = 0
        self.answer = answer    # a 200 "ok" to the request first (keep-alive: pooled)
        super().__init__(self._behave)

    def _behave(self, s):
        if read_head(s):
            self.heads += 1
            if self.answer:
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        s.settimeout(30)
        try:
            while s.recv(65536):
                pass
        except OSError:
            pass
        self.closed_at.append(time.monotonic())


def early_answer(s):
    """Answers 413 to the head, without reading the body, and closes."""
    read_head(s)
    s.sendall(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"
              b"too big\n")
    time.sleep(0.5)
    s.close()


class ProxyFaultsTest(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 1}

    def setUp(self):
        super().setUp()
        self.stops = []

    def tearDown(self):
        for f in reversed(self.stops):
            f()

    def access_log(self):
        return self.srv.read(self.srv.access_log)

    def serve(self, upstreams, locations):
        self.srv.conf["upstreams"] = upstreams
        self.srv.conf["locations"] = locations
        self.srv.write_config()
        self.srv.start()

    def echo(self, name):
        e = EchoServer(("127.0.0.1", 0), name).start()
        self.stops.append(e.stop)
        return e, e.addr

    def test_connect_timeout_is_504(self):
        u = Unanswered()
        self.stops.append(u.stop)
        self.serve({"black": {"servers": ["127.0.0.1:%d" % u.port], "connect_timeout": "1s"}},
                   {"/api/": {"proxy": "black"}})
        t0 = time.monotonic()
        r = get(self.port, "/api/x", timeout=10)
        took = time.monotonic() - t0
        self.assertEqual(r.status, 504, r.body[:200])
        self.assertGreater(took, 0.8)
        self.assertLess(took, 4.0)
        self.assertIn("timed out (connect)", self.srv.log_text())

    def test_connect_timeout_tries_the_next_server(self):
        """Nothing was sent on a connect that timed out: like nginx's
        proxy_next_upstream timeout, any method goes to the next server."""
        u = Unanswered()
        self.stops.append(u.stop)
        e, addr = self.echo("good")
        self.serve({"two": {"servers": ["127.0.0.1:%d" % u.port, addr], "connect_timeout": "1s"}},
                   {"/api/": {"proxy": "two"}})
        for method in ("GET", "POST", "GET"):
            r = get(self.port, "/api/x", method=method, body=b"b" if method == "POST" else b"",
                    timeout=10)
            self.assertEqual(r.status, 200, (method, r.status, r.body[:200]))
            self.assertEqual(r.header("X-Upstream"), "good")

    def test_client_gone_closes_the_upstream(self):
        w = Watched()
        self.stops.append(w.stop)
        self.serve({"silent": {"servers": ["127.0.0.1:%d" % w.port], "read_timeout": "30s"}},
                   {"/api/": {"proxy": "silent"}})
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(req("GET", "/api/wait", headers={"Connection": "close"}))
        self.assertTrue(wait_until(lambda: w.heads == 1, timeout=5), "the upstream got no request")
        gone = time.monotonic()
        s.close()
        self.assertTrue(wait_until(lambda: w.closed_at, timeout=5),
                        "drover kept the upstream connection of a client that left")
        self.assertLess(w.closed_at[0] - gone, 3.0)
        self.assertTrue(wait_until(lambda: " 499 " in self.access_log(), timeout=5),
                        self.access_log())
        r = get(self.port, "/index.html")
        self.assertEqual(r.status, 200)

    def test_early_answer_reaches_the_client(self):
        """An upstream may refuse a body it has not read (a 413 from the
        head alone): the client gets that answer, as from nginx, not 502."""
        r = RawServer(early_answer)
        self.stops.append(r.stop)
        self.srv.conf["max_body_size"] = "64m"
        self.serve({"early": {"servers": ["127.0.0.1:%d" % r.port]}},
                   {"/api/": {"proxy": "early"}})
        body = b"x" * (16 * 1024 * 1024)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(req("POST", "/api/up", headers={"Content-Length": str(len(body)),
                                                   "Connection": "close"}))
        got = b""
        try:
            s.sendall(body)
        except OSError:
            pass  # drover stops reading the body once the answer is there
        s.settimeout(5)
        for _ in range(1000):
            try:
                b = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not b:
                break
            got += b
        s.close()
        self.assertTrue(got.startswith(b"HTTP/1.1 413"), got[:200])
        self.assertIn(b"too big", got)

    def test_idle_close_is_noticed_before_reuse(self):
        """A server that closes an idle pooled connection (its own
        keep-alive timeout): the next request, a POST that must not be
        retried once sent, goes on a fresh connection, not the dead one."""
        conns = []

        def answer_then_close(s):
            conns.append(s)
            head = read_head(s)
            n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0]) \
                if b"content-length:" in head.lower() else 0
            got = head.split(b"\r\n\r\n", 1)[1]
            while len(got) < n:
                got += s.recv(65536)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            time.sleep(0.2)
            s.close()
        r = RawServer(answer_then_close)
        self.stops.append(r.stop)
        self.serve({"pool": {"servers": ["127.0.0.1:%d" % r.port], "keepalive": 4}},
                   {"/api/": {"proxy": "pool"}})
        for i in range(3):
            res = get(self.port, "/api/p%d" % i, method="POST", body=b"data")
            self.assertEqual((res.status, res.body), (200, b"ok"), (i, self.srv.log_text()[-1500:]))
            time.sleep(0.6)
        self.assertEqual(r.accepted, 3)

    def fin_upstream(self, half):
        """The first connection's answer ends with a FIN in the same
        segment (TCP_CORK holds the last bytes until the FIN joins them),
        no Connection: close said. half: the upstream only shuts its
        sending side and then reads what comes without answering (a
        lingering close); else it closes. Later connections answer
        "second" and close."""
        first = []

        def behave(s):
            if not first:
                first.append(s)
                read_head(s)
                s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfir")
                time.sleep(0.2)  # drover reads the head and waits
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                s.send(b"st")
                if not half:
                    s.close()
                    return
                s.shutdown(socket.SHUT_WR)
                s.settimeout(10)
                for _ in range(1000):
                    if not s.recv(65536):
                        break
                return
            read_head(s)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n"
                      b"second")
            s.close()

        r = RawServer(behave)
        self.stops.append(r.stop)
        self.serve({"fin": {"servers": ["127.0.0.1:%d" % r.port], "read_timeout": "4s"}},
                   {"/api/": {"proxy": "fin"}})
        a = get(self.port, "/api/1", timeout=10)
        self.assertEqual((a.status, a.body), (200, b"first"))

    def test_fin_with_the_response_half_close(self):
        """The FIN came while the exchange held the connection: the next
        GET must not wait on it for read_timeout (it did: 504 after 4 s;
        before reads without EAGAIN it was retried at once)."""
        self.fin_upstream(half=True)
        t0 = time.monotonic()
        b = get(self.port, "/api/2", timeout=10)
        took = time.monotonic() - t0
        self.assertEqual((b.status, b.body), (200, b"second"),
                         (took, self.srv.log_text()[-600:]))
        self.assertLess(took, 2.0)

    def test_fin_with_the_response_then_post(self):
        """A POST, which is not retried once sent, after a response that
        came with its FIN: it goes on a fresh connection, not the closed
        one (502)."""
        self.fin_upstream(half=False)
        b = get(self.port, "/api/2", method="POST", body=b"data", timeout=10)
        self.assertEqual((b.status, b.body), (200, b"second"), self.srv.log_text()[-600:])

    def test_reload_closes_the_old_pool(self):
        w = Watched(answer=True)
        self.stops.append(w.stop)
        self.serve({"pool": {"servers": ["127.0.0.1:%d" % w.port], "keepalive": 4}},
                   {"/api/": {"proxy": "pool"}})
        r = get(self.port, "/api/a")
        self.assertEqual((r.status, r.body), (200, b"ok"))
        time.sleep(0.3)
        self.assertEqual(w.closed_at, [], "the pooled connection was closed before the reload")
        self.srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload done" in self.srv.log_text(), timeout=10),
                        self.srv.log_text()[-2000:])
        self.assertTrue(wait_until(lambda: w.closed_at, timeout=10),
                        "the old generation's pooled connection stayed open")
        r = get(self.port, "/api/b")
        self.assertEqual((r.status, r.body), (200, b"ok"))

    def test_reload_closes_the_old_pool_while_a_request_still_runs(self):
        """The old generation lives on while a slow request finishes; its
        idle pooled connections close at the reload all the same (the new
        generation has pools of its own)."""
        w = Watched(answer=True)
        self.stops.append(w.stop)

        def slow(s):
            read_head(s)
            time.sleep(4)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow")
            time.sleep(0.5)
            s.close()
        sl = RawServer(slow)
        self.stops.append(sl.stop)
        self.serve({"pool": {"servers": ["127.0.0.1:%d" % w.port], "keepalive": 4},
                    "slow": {"servers": ["127.0.0.1:%d" % sl.port]}},
                   {"/api/": {"proxy": "pool"}, "/slow/": {"proxy": "slow"}})
        self.assertEqual(get(self.port, "/api/a").body, b"ok")
        got = {}
        t = threading.Thread(target=lambda: got.setdefault("r", get(self.port, "/slow/", timeout=15)))
        t.start()
        self.assertTrue(wait_until(lambda: sl.accepted == 1, timeout=5))
        t0 = time.monotonic()
        self.srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: w.closed_at, timeout=3),
                        "the draining generation kept its idle upstream connection")
        self.assertLess(w.closed_at[0] - t0, 3.0)
        self.assertTrue(t.is_alive(), "the slow request ended before the check: no proof")
        t.join(15)
        self.assertEqual((got["r"].status, got["r"].body), (200, b"slow"))

    def test_reload_lets_inflight_requests_finish(self):
        """A reload that points the upstream elsewhere: the request under
        way on the old generation gets the old server's whole answer, the
        next ones go to the new server."""
        def slow(s):
            read_head(s)
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nold-")
            time.sleep(1.5)
            s.sendall(b"answer")
            time.sleep(0.5)
            s.close()
        old = RawServer(slow)
        self.stops.append(old.stop)
        e, new_addr = self.echo("new")
        self.serve({"app": {"servers": ["127.0.0.1:%d" % old.port]}}, {"/api/": {"proxy": "app"}})
        got = {}

        def inflight():
            got["r"] = get(self.port, "/api/slow", timeout=10)
        t = threading.Thread(target=inflight)
        t.start()
        self.assertTrue(wait_until(lambda: old.accepted == 1, timeout=5))
        self.srv.conf["upstreams"] = {"app": {"servers": [new_addr]}}
        self.srv.write_config()
        self.srv.signal(signal.SIGHUP)
        self.assertTrue(wait_until(lambda: "reload done" in self.srv.log_text(), timeout=10),
                        self.srv.log_text()[-2000:])
        r = get(self.port, "/api/after")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("X-Upstream"), "new")
        t.join(10)
        self.assertEqual((got["r"].status, got["r"].body), (200, b"old-answer"))

    def test_a_name_is_resolved_at_load(self):
        """A server given by name is resolved once, when the config is
        loaded (the loop never waits on DNS); one that does not resolve is
        refused with its file, line and key, by -t and at start."""
        e, addr = self.echo("named")
        port = int(addr.rsplit(":", 1)[1])
        self.srv.conf["upstreams"] = {"app": {"servers": ["no-such-host.invalid:%d" % port]}}
        self.srv.conf["locations"] = {"/api/": {"proxy": "app"}}
        self.srv.write_config()
        p = self.srv.run("-t")
        err = p.stderr.decode()
        self.assertNotEqual(p.returncode, 0)
        self.assertRegex(err, r"drover\.yaml:\d+.*servers.*no-such-host\.invalid.*resolve", err)
        self.serve({"app": {"servers": ["localhost:%d" % port]}}, {"/api/": {"proxy": "app"}})
        r = get(self.port, "/api/x")
        self.assertEqual(r.status, 200, r.body[:200])
        self.assertEqual(r.header("X-Upstream"), "named")


class ProxyNameAddressesTest(ServerTestCase):
    """A server named by a DNS name with two addresses is two servers, as
    with nginx: requests go to both in turn, each logged by its address.
    drover runs in a mount namespace of its own whose /etc/hosts gives
    multi.test 127.0.0.2 and 127.0.0.3 (the machine's is not touched)."""
    start_server = False
    server_kwargs = {"workers": 1}

    def setUp(self):
        super().setUp()
        hosts = os.path.join(self.srv.dir, "hosts")
        with open(hosts, "w") as f:
            f.write("127.0.0.1 localhost\n127.0.0.2 multi.test\n127.0.0.3 multi.test\n")
        probe = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                                'mount --bind "$0" /etc/hosts && getent ahostsv4 multi.test', hosts],
                               capture_output=True, text=True, timeout=10)
        if probe.returncode != 0 or "127.0.0.3" not in probe.stdout:
            self.skipTest("no private mount namespace here (unshare -m: %s)"
                          % (probe.stderr.strip() or probe.returncode))
        inner = self.srv.command

        def command(*args, conf=None):
            return (["unshare", "-m", "--propagation", "private", "sh", "-c",
                     'mount --bind "$0" /etc/hosts && exec "$@"', hosts] + inner(*args, conf=conf))
        self.srv.command = command
        self.ups = []
        port = None
        for addr, name in (("127.0.0.2", "two"), ("127.0.0.3", "three")):
            for _ in range(20):
                try:
                    e = EchoServer((addr, port or 0), name)
                    break
                except OSError:  # the first one's port is taken on the second address
                    port = None
                    for u in self.ups:
                        u.server_close()
                    self.ups = []
            self.ups.append(e)
            port = e.server_address[1]
        for e in self.ups:
            e.start()
        self.port_up = port

    def tearDown(self):
        for e in self.ups:
            e.stop()

    def test_every_address_is_a_server(self):
        self.srv.conf["upstreams"] = {"app": {"servers": ["multi.test:%d" % self.port_up]}}
        self.srv.conf["locations"] = {"/api/": {"proxy": "app"},
                                      "/url/": {"proxy": "http://multi.test:%d/" % self.port_up}}
        self.srv.conf["log_format"] = "json"
        self.srv.write_config()
        dump = self.srv.run("-T").stdout.decode()
        # The name as written (so -T reads back the same), what it gave in a comment.
        self.assertIn('{address: "multi.test:%d"' % self.port_up, dump)
        self.assertIn("# multi.test:%d: 127.0.0.2:%d, 127.0.0.3:%d\n"
                      % ((self.port_up,) * 3), dump)
        again = os.path.join(self.srv.dir, "again.yaml")
        with open(again, "w") as f:
            f.write(dump)
        back = subprocess.run(self.srv.command("-T", conf=again), capture_output=True,
                              timeout=10).stdout.decode()
        import re
        same = lambda t: re.sub(r"  # line \d+", "", t.split("\n", 1)[1])
        self.assertEqual(same(back), same(dump))
        self.srv.start()
        seen = [get(self.port, "/api/%d" % i).header("X-Upstream") for i in range(4)]
        self.assertEqual(sorted(set(seen)), ["three", "two"], seen)
        seen = [get(self.port, "/url/%d" % i).header("X-Upstream") for i in range(4)]
        self.assertEqual(sorted(set(seen)), ["three", "two"], seen)
        # The name is the Host a request without one gets.
        r = exchange(self.port, b"GET /api/h10 HTTP/1.0\r\n\r\n")
        self.assertEqual(r.status, 200)
        import json
        host = [v for k, v in json.loads(r.body)["headers"] if k.lower() == "host"]
        self.assertEqual(host, ["multi.test:%d" % self.port_up])
        self.assertTrue(wait_until(lambda: "127.0.0.3:%d" % self.port_up in self.access_log_text(),
                                   timeout=5))
        self.assertIn("127.0.0.2:%d" % self.port_up, self.access_log_text())

    def access_log_text(self):
        return self.srv.read(self.srv.access_log)


if __name__ == "__main__":
    run_main()
