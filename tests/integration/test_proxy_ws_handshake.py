#!/usr/bin/env python3
"""The WebSocket (HTTP/1.1 Upgrade) request before the upstream's 101
(doc/configuration.md "WebSocket"): every Upgrade line the client sent
reaches the upstream as one list (RFC 9110 7.8), and a client that goes
away while the upstream has not answered yet (closes, resets, or shuts
its sending side) has its upstream connection closed at once, not at
read_timeout, and is logged 499, as an ordinary proxied request is (and
as nginx does with proxy_ignore_client_abort off). Real raw upstreams on
127.0.0.1 that record what they got and when drover closed them."""

import socket
import struct
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import SharedServerTestCase, get, req, run_main, wait_until
from upstreams import RawServer, access_lines, read_head


class Recorder(RawServer):
    """A raw upstream that keeps each request head by its path and notes
    when drover closed the connection. A path under /switch/ is answered
    101 and then echoed until drover's end of file; any other gets nothing
    (an application still thinking), for longer than the test waits."""

    def __init__(self):
        self.heads = {}
        self.closed = {}
        super().__init__(self._behave)

    def _behave(self, s):
        head = read_head(s)
        path = head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else ""
        self.heads[path] = head
        s.settimeout(40)
        try:
            if path.startswith("/switch/"):
                s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          b"Connection: Upgrade\r\n\r\n")
            for _ in range(10000):
                b = s.recv(65536)
                if not b:
                    break
                if path.startswith("/switch/"):
                    s.sendall(b)
        except OSError:
            pass
        self.closed[path] = time.monotonic()
        s.close()


def upgrade(path, lines=(b"Upgrade: websocket",)):
    return (b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n" % path.encode()
            + b"".join(l + b"\r\n" for l in lines) + b"Sec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")


def field_lines(head, name):
    """The values of every field line called name in a request head."""
    out = []
    for line in head.decode("latin-1").split("\r\n\r\n")[0].split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            out.append(v.strip())
    return out


class ProxyWsHandshakeTest(SharedServerTestCase):
    server_kwargs = {"workers": 1, "log_format": "json"}

    @classmethod
    def populate(cls, srv):
        cls.up = Recorder()
        addr = "127.0.0.1:%d" % cls.up.port
        # read_timeout far longer than any wait below: only noticing the
        # client can close the upstream connection in time.
        srv.conf["upstreams"] = {"held": {"servers": [addr], "read_timeout": "30s"}}
        srv.conf["locations"] = {"/held/": {"proxy": "held"}, "/switch/": {"proxy": "held"}}
        srv.write_config()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if getattr(cls, "up", None) is not None:
            cls.up.stop()

    # -- several Upgrade lines

    def test_every_upgrade_line_reaches_the_upstream(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(upgrade("/switch/lines", (b"Upgrade: x-first", b"X-Between: 1",
                                                b"upgrade: websocket, x-third/2")))
            data = read_head(s)  # the 101's head, and any bytes after it
            self.assertTrue(data.startswith(b"HTTP/1.1 101 "), data[:200])
            # Still a tunnel: bytes go both ways.
            s.sendall(b"frame")
            got = data.partition(b"\r\n\r\n")[2]
            for _ in range(100):
                if len(got) >= 5:
                    break
                got += s.recv(100)
            self.assertEqual(got, b"frame")
        head = self.up.heads["/switch/lines"]
        self.assertEqual(field_lines(head, "Upgrade"), ["x-first, websocket, x-third/2"], head)
        self.assertEqual(field_lines(head, "Connection"), ["upgrade"], head)
        self.assertEqual(field_lines(head, "X-Between"), ["1"], head)

    # -- a client that leaves before the 101

    def leave(self, path, how, request):
        """Sends request, waits until the upstream has it, then leaves
        (close, reset or shut_wr); returns the upstream's close delay."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            s.sendall(request)
            self.assertTrue(wait_until(lambda: path in self.up.heads, timeout=5),
                            "the upstream got no request" + self.srv.diag())
            time.sleep(0.2)  # drover waits for the answer now
            gone = time.monotonic()
            if how == "reset":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
            elif how == "close":
                s.close()
            else:
                s.shutdown(socket.SHUT_WR)
                # Still reading: drover closes this side too, without an answer.
                s.settimeout(5)
                self.assertEqual(s.recv(100), b"")
            self.assertTrue(wait_until(lambda: path in self.up.closed, timeout=5),
                            "the upstream connection of a client that left (%s) stayed open" % how)
            took = self.up.closed[path] - gone
        finally:
            s.close()
        self.assertTrue(wait_until(lambda: access_lines(self.srv, path), timeout=5), self.srv.diag())
        d = access_lines(self.srv, path)[-1]
        self.assertEqual(d["status"], 499, d)
        self.assertEqual(d["bytes"], 0, d)
        return took

    def test_upgrade_client_closes(self):
        self.assertLess(self.leave("/held/close", "close", upgrade("/held/close")), 2.0)

    def test_upgrade_client_resets(self):
        self.assertLess(self.leave("/held/reset", "reset", upgrade("/held/reset")), 2.0)

    def test_upgrade_client_shuts_its_sending_side(self):
        # Treated as gone, as an ordinary request with its whole head sent
        # (below): the tunnel passes a half-close on only after the 101.
        self.assertLess(self.leave("/held/shut", "shut_wr", upgrade("/held/shut")), 2.0)

    def test_upgrade_with_early_frames_client_closes(self):
        # Bytes after the head (frames sent before the 101) do not hide the close.
        self.assertLess(self.leave("/held/early", "close", upgrade("/held/early") + b"\x81\x02hi"),
                        2.0)

    def test_plain_request_client_shuts_its_sending_side(self):
        # The same rule for a request that does not ask to upgrade.
        self.assertLess(self.leave("/held/plain", "shut_wr", req("GET", "/held/plain")), 2.0)

    def test_zz_still_serving(self):
        self.assertEqual(get(self.port, "/index.html").status, 200)
        log = self.srv.log_text()
        self.assertNotIn("exited with", log, log[-2000:])
        self.assertNotIn("killed by signal", log, log[-2000:])


if __name__ == "__main__":
    run_main()
