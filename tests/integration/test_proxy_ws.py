#!/usr/bin/env python3
"""WebSocket through the reverse proxy (doc/configuration.md "WebSocket"):
the real binary between a real client library (python3-websockets) and a
real WebSocket server (python3-websockets, asyncio in a thread), plus raw
socket upstreams for what a library would not do on purpose (bytes sent
with the 101, a 101 nobody asked for, a half-close, 50 MB pushed at a
client that does not read). Plain and TLS fronts; and the README's example
site (static files, an /api/ app, a WebSocket at /ws) served end to end from
the README's own YAML."""

import asyncio
import http
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

try:
    import websockets
except ImportError:
    # Debian's python3-websockets is in /usr/lib/python3/dist-packages,
    # which a pyenv or venv python does not see.
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import websockets
    except ImportError:
        websockets = None

from harness import (ServerTestCase, SharedServerTestCase, free_port, get, run_main, wait_until)
from upstreams import (EchoServer, Upstreams, access_lines, assert_no_worker_died,
                       echo_until_eof, read_head, rss_kib)
import tlsgen

README = os.path.join(os.environ.get("DROVER_SRCDIR",
                                     os.path.join(os.path.dirname(__file__), "..", "..")), "README")


class WsServer(object):
    """A websockets server on its own event loop in a thread: /echo echoes,
    /close closes with 4000 after the first message, /refuse answers 403."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.port = None
        self.paths = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise AssertionError("websockets server did not start")

    async def _handler(self, ws, path):
        self.paths.append(path)
        if path.endswith("/close"):
            await ws.recv()
            await ws.close(4000, "bye")
            return
        try:
            async for msg in ws:
                await ws.send(msg)
        except websockets.ConnectionClosed:
            pass  # the idle test's tunnel ends without a close frame

    async def _refuse(self, path, headers):
        if path.endswith("/refuse"):
            return (http.HTTPStatus.FORBIDDEN, {"Content-Type": "text/plain", "X-Why": "refused"}, b"no upgrade\n")
        return None

    async def _main(self):
        self.stop_future = self.loop.create_future()
        async with websockets.serve(self._handler, "127.0.0.1", 0, process_request=self._refuse,
                                    max_size=None, ping_interval=None) as s:
            self.port = s.sockets[0].getsockname()[1]
            self.ready.set()
            await self.stop_future

    def _run(self):
        self.loop.run_until_complete(self._main())

    def stop(self):
        self.loop.call_soon_threadsafe(
            lambda: self.stop_future.done() or self.stop_future.set_result(None))
        self.thread.join(10)


def client(uri, coro, ssl_ctx=None, timeout=30):
    """Runs coro(ws) on a new websockets client connection to uri."""
    async def main():
        async with websockets.connect(uri, ssl=ssl_ctx, max_size=None, ping_interval=None,
                                      open_timeout=10, close_timeout=5) as ws:
            return await coro(ws)
    return asyncio.run(asyncio.wait_for(main(), timeout))


def upgrade_req(path, extra=b""):
    return (b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: x-raw\r\n\r\n"
            % path.encode()) + extra


def read_101(s):
    """The client's response head (bytes after it kept) from drover."""
    head, _, rest = read_head(s).partition(b"\r\n\r\n")
    return head.decode("latin-1"), rest


def early(s):
    """101 with bytes in the same segment, then echoes until EOF."""
    read_head(s)
    s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-raw\r\nConnection: Upgrade\r\n"
              b"X-From: raw\r\n\r\nEARLY")
    echo_until_eof(s, 10000)
    s.close()


def half(s):
    """101, then reads until the client's EOF and answers after it."""
    head = read_head(s)
    got = head[head.index(b"\r\n\r\n") + 4:]
    s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-raw\r\nConnection: Upgrade\r\n\r\n")
    for _ in range(10000):
        b = s.recv(65536)
        if not b:
            break
        got += b
    time.sleep(0.2)
    s.sendall(b"got:" + got)
    s.close()


def always101(s):
    read_head(s)
    s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-raw\r\nConnection: Upgrade\r\n\r\n")
    time.sleep(1)
    s.close()


PUSH = 50 * 1024 * 1024


class Pusher(object):
    """101, then PUSH bytes as fast as the socket takes them; counts them."""

    def __init__(self):
        self.sent = 0
        self.done = threading.Event()

    def __call__(self, s):
        read_head(s)
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x-raw\r\nConnection: Upgrade\r\n\r\n")
        s.settimeout(60)
        block = b"p" * 65536
        while self.sent < PUSH:
            n = s.send(block[:PUSH - self.sent])
            self.sent += n
        self.done.set()
        s.close()


class ProxyWsTest(SharedServerTestCase):
    server_kwargs = {"workers": 1, "send_timeout": "20s"}

    @classmethod
    def populate(cls, srv):
        if websockets is None:
            raise unittest.SkipTest("no python3-websockets")
        cls.ws = WsServer()
        cls.raws = Upstreams()
        cls.pusher = Pusher()
        cls.certdir = tlsgen.certdir_in(srv)
        cls.certs = tlsgen.make_all(cls.certdir)
        cls.tls_port = tlsgen.listen_tls(srv)
        srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(cls.certs["ec"])]}
        wsaddr = "127.0.0.1:%d" % cls.ws.port
        srv.conf["log_format"] = "json"
        srv.conf["upstreams"] = {
            "ws": {"servers": [wsaddr]},
            "idle": {"servers": [wsaddr], "tunnel_timeout": "1s"},
            "down": {"servers": ["127.0.0.1:%d" % free_port()]},
            "early": {"servers": [cls.raws.raw(early)]},
            "half": {"servers": [cls.raws.raw(half)]},
            "always101": {"servers": [cls.raws.raw(always101)]},
            "push": {"servers": [cls.raws.raw(cls.pusher)]},
        }
        srv.conf["locations"] = {"/%s/" % n: {"proxy": n} for n in srv.conf["upstreams"]}
        srv.write_config()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if getattr(cls, "ws", None) is not None:
            cls.ws.stop()
        for r in getattr(cls, "raws", []):
            r.stop()

    def uri(self, path):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    # -- through the websockets library

    def test_text_and_binary_echo(self):
        async def talk(ws):
            await ws.send("hello")
            t = await ws.recv()
            await ws.send(b"\x00\x01\xff")
            b = await ws.recv()
            return t, b
        self.assertEqual(client(self.uri("/ws/echo"), talk), ("hello", b"\x00\x01\xff"))

    def test_one_megabyte_message(self):
        big = os.urandom(1024 * 1024)

        async def talk(ws):
            await ws.send(big)
            return await ws.recv()
        self.assertEqual(client(self.uri("/ws/echo"), talk), big)

    def test_many_messages(self):
        async def talk(ws):
            got = []
            for i in range(500):
                await ws.send("m%d" % i)
                got.append(await ws.recv())
            return got
        self.assertEqual(client(self.uri("/ws/echo"), talk), ["m%d" % i for i in range(500)])

    def test_server_initiated_close(self):
        async def talk(ws):
            await ws.send("x")
            try:
                await ws.recv()
            except websockets.ConnectionClosed as e:
                return e.rcvd.code, e.rcvd.reason
            return None
        self.assertEqual(client(self.uri("/ws/close"), talk), (4000, "bye"))

    def test_client_close_is_logged_as_101(self):
        async def talk(ws):
            await ws.send("logged")
            await ws.recv()
            await ws.close()
            return ws.close_code
        self.assertEqual(client(self.uri("/ws/logged"), talk), 1000)
        self.assertTrue(wait_until(lambda: access_lines(self.srv, "/ws/logged"), timeout=5))
        d = access_lines(self.srv, "/ws/logged")[-1]
        self.assertEqual(d["status"], 101)
        self.assertEqual(d["upstream_status"], 101)
        # What went to the client after the head: the echo and the close.
        self.assertGreaterEqual(d["bytes"], len("logged") + 2 + 4)

    def test_upstream_refuses_the_upgrade(self):
        async def talk(ws):
            return "opened"
        with self.assertRaises(websockets.InvalidStatusCode) as e:
            client(self.uri("/ws/refuse"), talk)
        self.assertEqual(e.exception.status_code, 403, self.srv.log_text()[-1500:])
        # Passed through as a response, and the connection is closed after.
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET /ws/refuse HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                      b"Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
            data = b""
            for _ in range(100):
                b = s.recv(65536)
                if not b:
                    break
                data += b
        self.assertTrue(data.startswith(b"HTTP/1.1 403 "), data)
        self.assertIn(b"X-Why: refused", data)
        self.assertIn(b"Connection: close", data)
        self.assertTrue(data.endswith(b"no upgrade\n"), data)

    def test_upstream_down_is_502(self):
        async def talk(ws):
            return "opened"
        with self.assertRaises(websockets.InvalidStatusCode) as e:
            client(self.uri("/down/x"), talk)
        self.assertEqual(e.exception.status_code, 502)

    def test_idle_tunnel_closed_after_tunnel_timeout(self):
        async def talk(ws):
            # Traffic every 0.4 s for 2 s keeps it open (an idle timeout,
            # not a lifetime)...
            for i in range(5):
                await ws.send("k%d" % i)
                assert await ws.recv() == "k%d" % i
                await asyncio.sleep(0.4)
            # ...then silence: drover closes both sides after 1 s.
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed:
                return time.monotonic() - t0
            return None
        took = client(self.uri("/idle/x"), talk)
        self.assertIsNotNone(took)
        self.assertLess(took, 5)
        self.assertGreater(took, 0.5)

    def test_tls_front(self):
        ctx = ssl.create_default_context(cafile=self.certs["ca"])
        big = os.urandom(1024 * 1024)

        async def talk(ws):
            await ws.send("over tls")
            t = await ws.recv()
            await ws.send(big)
            b = await ws.recv()
            got = []
            for i in range(200):
                await ws.send("t%d" % i)
                got.append(await ws.recv())
            return t, b, got
        t, b, got = client("wss://localhost:%d/ws/echo" % self.tls_port, talk, ssl_ctx=ctx)
        self.assertEqual(t, "over tls")
        self.assertEqual(b, big)
        self.assertEqual(got, ["t%d" % i for i in range(200)])

    def test_upgrade_headers_are_forwarded(self):
        # The library's handshake went through: Upgrade and Connection were
        # kept (the server checks both) and Sec-WebSocket-Accept came back.
        async def talk(ws):
            return ws.response_headers.get("Upgrade"), ws.response_headers.get("Server")
        self.assertEqual(client(self.uri("/ws/echo"), talk), ("websocket", "drover"))

    # -- raw upstreams

    def test_bytes_with_the_101_and_early_client_bytes(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            # Client bytes in the same segment as its head (pipelined early frames).
            s.sendall(upgrade_req("/early/x", b"PIPE"))
            head, rest = read_101(s)
            self.assertTrue(head.startswith("HTTP/1.1 101 Switching Protocols"), head)
            self.assertIn("\r\nUpgrade: x-raw", head)
            self.assertIn("\r\nConnection: upgrade", head)
            self.assertIn("\r\nX-From: raw", head)
            self.assertIn("\r\nServer: drover", head)
            self.assertIn("\r\nDate: ", head)
            want = b"EARLYPIPE"
            for _ in range(100):
                if len(rest) >= len(want):
                    break
                rest += s.recv(65536)
            self.assertEqual(rest, want)
            s.sendall(b"more")
            self.assertEqual(s.recv(100), b"more")

    def test_half_close_is_propagated(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(upgrade_req("/half/x", b"one,"))
            head, rest = read_101(s)
            self.assertTrue(head.startswith("HTTP/1.1 101 "), head)
            s.sendall(b"two")
            s.shutdown(socket.SHUT_WR)
            # The upstream sees our EOF, answers after it, then closes: we
            # get its bytes and then our EOF.
            for _ in range(100):
                b = s.recv(65536)
                if not b:
                    break
                rest += b
        self.assertEqual(rest, b"got:one,two")

    def test_101_without_an_upgrade_request_is_502(self):
        r = get(self.port, "/always101/x")
        self.assertEqual(r.status, 502)
        self.assertIn("did not ask to upgrade", self.srv.log_text())
        # HTTP/1.0 cannot upgrade either: its Upgrade is dropped, the 101 a 502.
        r = get(self.port, "/always101/y", version="HTTP/1.0",
                headers={"Connection": "Upgrade", "Upgrade": "x-raw"})
        self.assertEqual(r.status, 502)

    def test_slow_reader_memory_bounded(self):
        worker = self.srv.workers()[0]
        with open("/proc/%d/maps" % worker) as f:
            # AddressSanitizer's redzones and quarantine add their own
            # (2152 KiB seen once); what the upstream got stays the check.
            limit = 8192 if "libasan" in f.read() else 2048
        base = rss_kib(worker)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        try:
            s.sendall(upgrade_req("/push/x"))
            head, rest = read_101(s)
            self.assertTrue(head.startswith("HTTP/1.1 101 "), head)
            # The client does not read: the upstream gets stuck once the
            # sockets and drover's bounded buffer are full.
            time.sleep(1.5)
            stuck_at = self.pusher.sent
            grown = rss_kib(worker) - base
            self.assertLess(stuck_at, 16 * 1024 * 1024,
                            "drover took %d bytes from the upstream for a client that does not "
                            "read" % stuck_at)
            self.assertLess(grown, limit, "worker RSS grew by %d KiB" % grown)
            got = len(rest)
            deadline = time.monotonic() + 60
            while got < PUSH and time.monotonic() < deadline:
                b = s.recv(1 << 20)
                if not b:
                    break
                got += len(b)
            self.assertEqual(got, PUSH)
            self.assertLess(rss_kib(worker) - base, limit)
        finally:
            s.close()

    def test_idle_tunnels_hold_no_tunnel_buffers(self):
        # 150 open, idle tunnels that each moved 60 KB both ways: with two
        # 64 KiB buffers each held, the worker would grow by about 19 MiB;
        # they are released while idle.
        worker = self.srv.workers()[0]
        with open("/proc/%d/maps" % worker) as f:
            if "libasan" in f.read():
                # AddressSanitizer holds freed memory in quarantine: RSS
                # does not show what drover frees.
                self.skipTest("memory of idle tunnels not measured under AddressSanitizer")
        base = rss_kib(worker)
        socks = []
        try:
            for i in range(150):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                socks.append(s)
                s.sendall(upgrade_req("/early/i%d" % i, b"x"))
                head, rest = read_101(s)
                self.assertTrue(head.startswith("HTTP/1.1 101 "), head)
                for _ in range(10):
                    if len(rest) >= 6:
                        break
                    rest += s.recv(100)
                self.assertEqual(rest, b"EARLYx")
                # 60 KB both ways, so both buffers' pages were touched.
                s.sendall(b"y" * 60000)
                got = 0
                for _ in range(1000):
                    if got >= 60000:
                        break
                    got += len(s.recv(65536))
                self.assertEqual(got, 60000)
            grown = rss_kib(worker) - base
            self.assertLess(grown, 8192, "150 idle tunnels grew the worker by %d KiB" % grown)
            # Still tunnels: each echoes again.
            for s in socks[::15]:
                s.sendall(b"again")
                self.assertEqual(s.recv(100), b"again")
        finally:
            for s in socks:
                s.close()

    def test_zz_no_worker_died(self):
        assert_no_worker_died(self, self.srv)


class TunnelTimeoutConfigTest(ServerTestCase):
    """tunnel_timeout is checked like the other upstream durations."""
    start_server = False

    def test_bad_values_refused_with_file_line_and_key(self):
        for bad in ("0", "-1s", "2d", "soon"):
            self.srv.write_config(
                "listen: [\"127.0.0.1:%d\"]\nupstreams:\n  app:\n    servers: [\"127.0.0.1:1\"]\n"
                "    tunnel_timeout: %s\n" % (self.srv.port, bad))
            r = self.srv.run("-t")
            err = r.stderr.decode()
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertIn("drover.yaml:5", err, err)
            self.assertIn("tunnel_timeout", err, err)

    def test_printed_by_T(self):
        self.srv.write_config(
            "listen: [\"127.0.0.1:%d\"]\nupstreams:\n  app:\n    servers: [\"127.0.0.1:1\"]\n"
            "    tunnel_timeout: 90s\n  other:\n    servers: [\"127.0.0.1:2\"]\n" % self.srv.port)
        r = self.srv.run("-T")
        out = r.stdout.decode()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tunnel_timeout: 90s", out)
        self.assertIn("tunnel_timeout: 5m", out)


def readme_example():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"<!-- example-proxy -->\n```yaml\n(.*?)```\n<!-- /example-proxy -->", text, re.S)
    if m is None:
        raise AssertionError("README has no proxy example between its markers")
    return m.group(1)


class ReadmeExampleTest(ServerTestCase):
    """The README's "static files, an app behind /api/, a WebSocket at /ws"
    example, with its ports replaced by free ones."""
    start_server = False

    def setUp(self):
        super().setUp()
        if websockets is None:
            self.skipTest("no python3-websockets")
        self.api = EchoServer(("127.0.0.1", 0), "api").start()
        self.ws = WsServer()
        yaml = readme_example()
        for old, new in (("127.0.0.1:8080", self.srv.port), ("127.0.0.1:8000", self.api.server_address[1]),
                         ("127.0.0.1:8001", self.ws.port)):
            self.assertIn(old, yaml)
            yaml = yaml.replace(old, "127.0.0.1:%d" % new)
        yaml += ("pid_file: %s\nerror_log: %s\nworkers: 1\nshutdown_timeout: 5s\n"
                 % (self.srv.pid_file, self.srv.error_log))
        self.srv.write_config(yaml)

    def tearDown(self):
        super().tearDown()
        self.api.stop()
        self.ws.stop()

    def test_serves_it(self):
        srv = self.srv
        srv.write_file("index.html", b"<!doctype html><title>site</title>\n")
        srv.start(cwd=srv.dir)
        r = get(srv.port, "/")
        self.assertEqual((r.status, r.body), (200, b"<!doctype html><title>site</title>\n"))
        r = get(srv.port, "/api/users?id=7")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(json.loads(r.body)["path"], "/api/users?id=7")

        async def talk(ws):
            await ws.send("hi")
            return await ws.recv()
        self.assertEqual(client("ws://127.0.0.1:%d/ws" % srv.port, talk), "hi")
        self.assertEqual(self.ws.paths, ["/ws"])


if __name__ == "__main__":
    run_main()
