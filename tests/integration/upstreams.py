"""The upstreams the reverse proxy tests (test_proxy*.py) put behind the
real binary, all on 127.0.0.1, and what those tests read of drover's side.
Not a test itself.

- EchoServer (UnixEcho on a unix socket): an application that answers a
  request with the request it got, as JSON; a few paths answer otherwise.
- App: an application that records every request, whose health answer can
  be switched, and that can stop listening and listen again on its port.
- RawServer: a socket server whose every connection runs a behaviour, for
  what an application would not do on purpose; read_head and the small
  behaviours (raw, hang, reset, silent, echo_until_eof), Dripper and
  WsEcho.
- Upstreams: the servers a test started, stopped together.
- get (a request with a body), access_lines (the JSON access log's lines
  for a path), rss_kib (a worker's memory), assert_no_crash and
  assert_no_worker_died."""

import base64
import hashlib
import http.server
import json
import os
import re
import socket
import socketserver
import threading
import time

from harness import exchange, req

BIG = os.urandom(5 * 1024 * 1024 + 77)  # what EchoServer's /api/big answers

# SO_LINGER on, 0 seconds: close() sends a reset.
LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"


def get(port, path, headers=None, method="GET", version="HTTP/1.1", timeout=5, body=b""):
    """One request on a new connection with Connection: close (harness.get,
    with a body): a Host header in headers replaces localhost; a body gets
    its Content-Length unless headers frame it."""
    h = dict(headers or {})
    host = h.pop("Host", "localhost")
    h.setdefault("Connection", "close")
    if body and "Transfer-Encoding" not in h:
        h.setdefault("Content-Length", str(len(body)))
    return exchange(port, req(method, path, version, h, body=body, host=host),
                    head=(method == "HEAD"), timeout=timeout)


# ---------------------------------------------------------------- applications

class _Serving(object):
    """A socketserver served by a thread of its own from start() to
    stop()."""
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client (drover) that went away on purpose

    def start(self, poll_interval=0.1):
        self.thread = threading.Thread(target=self.serve_forever,
                                       kwargs={"poll_interval": poll_interval}, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        # shutdown() waits for serve_forever to return: only after start().
        self.shutdown()
        self.server_close()


class HTTPUpstream(_Serving, http.server.ThreadingHTTPServer):
    """A ThreadingHTTPServer of handler on addr; self.addr is "host:port"."""
    allow_reuse_address = True

    @property
    def addr(self):
        return "%s:%d" % self.server_address[:2]


class _Handler(http.server.BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, as drover's pool wants), and quiet."""
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass


class EchoHandler(_Handler):
    """Echoes the request as JSON; a few paths answer otherwise."""
    server_version = "echo"

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            for _ in range(100000):
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    for _ in range(100):  # trailers
                        if self.rfile.readline() in (b"\r\n", b""):
                            break
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
            return out
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _reply(self, status, body, headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if not any(k.lower() == "content-length" for k, _ in headers):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _any(self):
        body = self._body()
        self.server.hits += 1
        if self.path.startswith("/api/big"):
            self._reply(200, BIG, [("Content-Type", "application/octet-stream")])
            return
        if self.path.startswith("/api/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            for part in (b"hello ", b"chunked ", b"world" * 1000):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Trailer: t\r\n\r\n")
            return
        if self.path.startswith("/api/close"):
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until close " * 1000)
            self.close_connection = True
            return
        if self.path.startswith("/api/hop"):
            self._reply(200, b"hop", [("Connection", "close, X-Secret"), ("X-Secret", "s"),
                                      ("Keep-Alive", "timeout=5"), ("X-Kept", "k")])
            return
        doc = {"method": self.command, "path": self.path,
               "headers": [[k, v] for k, v in self.headers.items()],
               "body": body.decode("latin-1"), "server": self.server.name,
               "peer": self.client_address[1]}
        self._reply(200, json.dumps(doc).encode(), [("Content-Type", "application/json"),
                                                    ("X-Upstream", self.server.name)])

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = _any


class EchoServer(HTTPUpstream):
    """EchoHandler on addr; name is its "server" and X-Upstream, hits the
    requests it got."""

    def __init__(self, addr, name):
        super().__init__(addr, EchoHandler)
        self.name = name
        self.hits = 0


class UnixEcho(_Serving, socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """EchoHandler on a unix socket at path, called "unix"."""

    def __init__(self, path):
        super().__init__(path, EchoHandler)
        self.name = "unix"
        self.hits = 0

    def get_request(self):
        s, _ = super().get_request()
        return s, ("unix", 0)


class AppHandler(_Handler):
    """App's answers (see App)."""
    server_version = "app"

    def do_GET(self):
        app = self.server.app
        path = self.path.split("?")[0]
        app.record(self.command, self.path, dict(self.headers.items()),
                   self.request_version)
        if path in app.health:
            status = app.health[path]
            if status == "hang":
                time.sleep(5)
                return
            self._reply(status, b"health %d\n" % status)
            return
        last = path.rsplit("/", 1)[-1]
        if last.startswith("slow"):
            ms = int(self.path.split("ms=")[1]) if "ms=" in self.path else 300
            time.sleep(ms / 1000.0)
        if last.startswith("missing"):
            self._reply(404, b"missing\n")
            return
        self._reply(200, ("%s %s\n" % (app.name, self.path)).encode())

    do_HEAD = do_GET

    def _reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-App", self.server.app.name)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class App(object):
    """App(name): listening at once on a free port (self.port). health maps
    a path to the status it answers (or "hang"); everything else is 200
    "name path", a last segment missing... 404, slow?ms=N after N ms. self.seen is
    every request as (method, target, headers, version)."""

    def __init__(self, name, port=0):
        self.name = name
        self.health = {"/health": 200}
        self.seen = []
        self.lock = threading.Lock()
        self.srv = None
        self.port = port
        self.listen()

    def record(self, method, target, headers, version):
        with self.lock:
            self.seen.append((method, target, headers, version))

    def paths(self, health=False):
        """The targets requested so far, without (or only) health checks."""
        with self.lock:
            return [t for _, t, _, _ in self.seen
                    if (t.split("?")[0] in self.health) == health]

    def listen(self):
        """Listens (again) on self.port; bounded retries while the old
        socket's port is still being released."""
        last = None
        for _ in range(50):
            try:
                self.srv = HTTPUpstream(("127.0.0.1", self.port), AppHandler)
                break
            except OSError as e:
                last = e
                time.sleep(0.1)
        else:
            raise last
        self.srv.app = self
        self.port = self.srv.server_address[1]
        self.srv.start(poll_interval=0.05)

    def refuse(self):
        """Stops listening: connects are refused until listen()."""
        if self.srv is not None:
            self.srv.stop()
            self.srv.thread.join(5)
            self.srv = None

    stop = refuse


# ---------------------------------------------------------------- raw servers

class RawServer(object):
    """A socket server whose every connection runs behave(sock); stopped by
    closing its listening socket. Connections are closed when it stops."""

    def __init__(self, behave, rcvbuf=None):
        self.behave = behave
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.addr = "127.0.0.1:%d" % self.port
        self.conns = []
        self.accepted = 0
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            self.conns.append(s)
            threading.Thread(target=self._one, args=(s,), daemon=True).start()

    def _one(self, s):
        try:
            s.settimeout(10)
            self.behave(s)
        except OSError:
            pass

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()
        for s in self.conns:
            try:
                s.close()
            except OSError:
                pass


def read_head(s):
    """The request head a raw upstream receives (bounded)."""
    data = b""
    for _ in range(1000):
        if b"\r\n\r\n" in data:
            break
        b = s.recv(65536)
        if not b:
            break
        data += b
    return data


def raw(reply, after=None):
    """Answers reply to the request head, then closes (after "hang": 8 s
    later; after "reset": with a reset)."""
    def behave(s):
        read_head(s)
        s.sendall(reply)
        if after == "hang":
            time.sleep(8)
        elif after == "reset":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
        s.close()
    return behave


def hang(s):
    """Reads the request head, answers nothing, closes 8 s later."""
    read_head(s)
    time.sleep(8)
    s.close()


def reset(s):
    """Reads the request head, then resets the connection before any byte
    of a response (a POST it got may have been acted on)."""
    read_head(s)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
    s.close()


def echo_until_eof(s, rounds):
    """Sends back what s receives until drover's end of file (at most
    rounds reads)."""
    for _ in range(rounds):
        b = s.recv(65536)
        if not b:
            break
        s.sendall(b)


def silent(s):
    """Neither reads nor answers: the connection stays open until the
    server stops."""


class Dripper(object):
    """An upstream that sends a large body slowly and notes when drover
    closes its connection (recv() returns b"")."""

    def __init__(self):
        self.closed_at = None
        self.srv = RawServer(self.behave)

    def behave(self, s):
        read_head(s)
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
        s.settimeout(0.05)
        for _ in range(200):  # 10 s at most
            try:
                s.sendall(b"d" * 16384)
            except OSError:
                break
            try:
                if s.recv(100) == b"":
                    break
            except socket.timeout:
                continue
            except OSError:
                break
        self.closed_at = time.monotonic()
        s.close()


class WsEcho(object):
    """A WebSocket-style upstream: checks nothing itself, keeps the head it
    got, answers 101 (Sec-WebSocket-Accept from the key, the first
    subprotocol offered) and then echoes bytes until drover shuts its side,
    then closes."""

    def __init__(self):
        self.heads = []
        self.srv = RawServer(self.behave)

    def behave(self, s):
        head = read_head(s)
        self.heads.append(head)
        hdrs = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        if hdrs.get("upgrade", "").lower() != "websocket":
            s.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno")
            s.close()
            return
        key = hdrs.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")
                                               .encode()).digest())
        proto = hdrs.get("sec-websocket-protocol", "").split(",")[0].strip()
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Accept: " + accept + b"\r\n" +
                  (b"Sec-WebSocket-Protocol: " + proto.encode() + b"\r\n" if proto else b"") +
                  b"\r\nhi")
        echo_until_eof(s, 1000)
        s.sendall(b"bye")
        s.close()


class Upstreams(list):
    """The servers a test started (EchoServers, RawServers, anything with
    stop()), stopped together by stop()."""

    def echo(self, name):
        """An EchoServer called name on a free port, serving: its address."""
        return self.add(EchoServer(("127.0.0.1", 0), name).start()).addr

    def raw(self, behave, **kw):
        """A RawServer running behave: its address."""
        return self.add(RawServer(behave, **kw)).addr

    def add(self, srv):
        self.append(srv)
        return srv

    def stop(self):
        for s in self:
            s.stop()


# ---------------------------------------------------------------- drover's side

def access_lines(srv, path):
    """The lines of srv's access log (log_format: json) whose path is path,
    as dicts, oldest first."""
    out = []
    for line in srv.read(srv.access_log).splitlines():
        d = json.loads(line)
        if d["path"] == path:
            out.append(d)
    return out


def rss_kib(pid):
    """The resident memory of process pid, in KiB (0 when unknown)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def assert_no_worker_died(test, srv):
    """No worker of srv exited or was killed at all, and no sanitizer
    printed a runtime error: the last test (test_zz_...) of a class whose
    tests never stop a worker on purpose."""
    log = srv.log_text()
    test.assertNotIn("exited with", log, log[-2000:])
    test.assertNotIn("killed by signal", log, log[-2000:])
    test.assertNotIn("runtime error", srv.stderr_text())


def assert_no_crash(test, srv):
    """No worker of srv crashed (a sanitizer report ends a worker with
    status 1, UBSan's too) other than by the SIGKILL a test sent."""
    log = srv.log_text()
    bad = [l for l in log.splitlines()
           if "exited with status" in l and "exited with status 0" not in l
           or re.search(r"killed by signal (?!9 )", l)]
    test.assertEqual(bad, [], log[-2000:])
    err = srv.stderr_text()
    for what in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
        test.assertNotIn(what, err, err[-2000:])
