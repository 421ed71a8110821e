"""A small real application for the proxy's telemetry and health tests
(test_proxy_metrics.py, test_proxy_health.py): a ThreadingHTTPServer on
127.0.0.1 that records every request it gets and whose health answer can be
switched, or that can stop listening (refuse) and listen again on the same
port. Not a test itself."""

import http.server
import socket
import threading
import time


class AppHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "app"

    def log_message(self, *a):
        pass

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


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        pass  # drover closed a connection on purpose


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
                self.srv = _Server(("127.0.0.1", self.port), AppHandler)
                break
            except OSError as e:
                last = e
                time.sleep(0.1)
        else:
            raise last
        self.srv.app = self
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def refuse(self):
        """Stops listening: connects are refused until listen()."""
        if self.srv is not None:
            self.srv.shutdown()
            self.srv.server_close()
            self.thread.join(5)
            self.srv = None

    stop = refuse


class Hang(object):
    """Accepts, reads the request and never answers (until stop)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.1)
        while not self.stopping:
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(s)

    def stop(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()
        for s in self.conns:
            s.close()


def assert_no_crash(test, srv):
    """No worker of srv crashed (a sanitizer report ends a worker with
    status 1, UBSan's too) other than by the SIGKILL a test sent."""
    import re
    log = srv.log_text()
    bad = [l for l in log.splitlines()
           if "exited with status" in l and "exited with status 0" not in l
           or re.search(r"killed by signal (?!9 )", l)]
    test.assertEqual(bad, [], log[-2000:])
    err = srv.stderr_text()
    for what in ("runtime error", "AddressSanitizer", "LeakSanitizer"):
        test.assertNotIn(what, err, err[-2000:])


class SlowHealth(object):
    """n listening ports on 127.0.0.1 served by one thread: each connection
    gets "200 OK" (Connection: close) delay seconds after its request head
    arrived. Many servers whose checks are all under way at once."""

    def __init__(self, n, delay):
        import selectors
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
