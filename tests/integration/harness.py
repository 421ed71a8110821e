"""Shared harness for drover's integration tests.

Every test starts the real binary ($DROVER_BIN) with a throwaway YAML config
and document root in a fresh temporary directory, talks to it over sockets on
127.0.0.1, sends it signals and reads its logs and /proc.

Rules this module keeps, so that a failing test never leaves a server behind:
  - every loop is bounded in count and in time;
  - only processes this harness started, or children of a master it started
    (recorded with their start time, so a recycled pid is never hit), are
    ever signalled; never by name;
  - stop() sends SIGTERM to the master, waits, then SIGKILLs the master and
    every worker pid it has seen; the temporary directory is then removed.

Stdlib only.
"""

import atexit
import errno
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("DROVER_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
BIN = os.environ.get("DROVER_BIN") or os.path.join(SRCDIR, "drover")

START_TIMEOUT = 10.0   # the port must accept within this
STOP_TIMEOUT = 5.0     # SIGTERM to exit, before SIGKILL
IO_TIMEOUT = 5.0       # default per-exchange socket timeout

INDEX_HTML = b"<!DOCTYPE html>\n<html><head><title>drover</title></head>" \
             b"<body><p>It works.</p></body></html>\n"


def binary_ok():
    return os.path.isfile(BIN) and os.access(BIN, os.X_OK)


def run_main():
    """A test module's __main__: automake's protocol (0 ok, 1 fail, 77 skip)."""
    if not binary_ok():
        sys.stderr.write("SKIP: no drover binary at %s\n" % BIN)
        sys.exit(77)
    prog = unittest.main(exit=False, verbosity=2)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    if res.testsRun == 0 or len(res.skipped) == res.testsRun:
        sys.exit(77)
    sys.exit(0)


# ---------------------------------------------------------------- waiting

def wait_until(pred, timeout=5.0, interval=0.05, max_iter=None):
    """Calls pred() until it returns something truthy, at most `timeout`
    seconds and `max_iter` times; returns the last value (falsy on timeout)."""
    if max_iter is None:
        max_iter = int(timeout / interval) + 2
    deadline = time.monotonic() + timeout
    val = None
    for _ in range(max_iter):
        val = pred()
        if val:
            return val
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return val


# ---------------------------------------------------------------- queues

_librt = None


def mq_unlink(name):
    """mq_unlink(3); 0, or -1 when there was no such queue."""
    global _librt
    if _librt is None:
        import ctypes
        _librt = ctypes.CDLL("librt.so.1", use_errno=True)
    return _librt.mq_unlink(name.encode())


# ---------------------------------------------------------------- ports

# Ports are picked below the kernel's ephemeral range: a port the kernel
# hands to bind(0) is also one it hands to any outgoing connect() of a
# test running beside, which then takes it before drover binds it (CI
# saw exactly that). Below the range only another picker competes, and
# the claim files make parallel test processes skip each other's picks.
PORT_LOW, PORT_HIGH = 20000, 32000
PORT_CLAIMS = os.path.join(tempfile.gettempdir(), "drover-test-ports")
PORT_CLAIM_AGE = 3600.0    # a claim older than this is a dead run's
_claimed = []


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
        return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def _claim(port):
    path = os.path.join(PORT_CLAIMS, str(port))
    try:
        if not os.path.isdir(PORT_CLAIMS):
            os.makedirs(PORT_CLAIMS, exist_ok=True)
            os.chmod(PORT_CLAIMS, 0o1777)   # a run as nobody claims beside root's
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            if time.time() - os.stat(path).st_mtime < PORT_CLAIM_AGE:
                return False
            os.unlink(path)
        except OSError:
            return False
        return _claim(port)
    except OSError:
        return True     # no claims possible here: the bind check alone
    os.write(fd, b"%d\n" % os.getpid())
    os.close(fd)
    _claimed.append(path)
    return True


def _release_claims():
    for path in _claimed:
        try:
            os.unlink(path)
        except OSError:
            pass


atexit.register(_release_claims)


def _bindable(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port():
    lo, hi = _ephemeral_range()
    top = min(PORT_HIGH, lo) if lo > PORT_LOW else PORT_HIGH
    for _ in range(500):
        port = random.randrange(PORT_LOW, top)
        if _bindable(port) and _claim(port):
            return port
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_accepts(port, timeout=0.5):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return False
    s.close()
    return True


# ---------------------------------------------------------------- /proc

def proc_stat(pid):
    """Fields of /proc/PID/stat as a dict, or None when the pid is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("latin-1")
    except (OSError, ValueError):
        return None
    lp = data.find("(")
    rp = data.rfind(")")
    if lp < 0 or rp < 0:
        return None
    rest = data[rp + 2:].split()
    # rest[0] is field 3 (state); field N is rest[N - 3].
    try:
        return {
            "pid": int(data[:lp]),
            "comm": data[lp + 1:rp],
            "state": rest[0],
            "ppid": int(rest[1]),
            "pgrp": int(rest[2]),
            "session": int(rest[3]),
            "tty_nr": int(rest[4]),
            "starttime": int(rest[19]),
        }
    except (IndexError, ValueError):
        return None


def all_pids():
    out = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for n in names:
        if n.isdigit():
            out.append(int(n))
    return out


def children(pid, zombies=False):
    """Pids whose parent is pid; zombies (state Z) only when asked."""
    out = []
    for p in all_pids():
        st = proc_stat(p)
        if st is None or st["ppid"] != pid:
            continue
        if st["state"] == "Z" and not zombies:
            continue
        out.append(p)
    return sorted(out)


def zombie_children(pid):
    return [p for p in children(pid, zombies=True)
            if (proc_stat(p) or {}).get("state") == "Z"]


def alive(pid, starttime=None):
    """True when pid exists, is not a zombie, and (if given) started at
    starttime (so a recycled pid does not count)."""
    st = proc_stat(pid)
    if st is None or st["state"] in ("Z", "X"):
        return False
    if starttime is not None and st["starttime"] != starttime:
        return False
    return True


def own_lineage():
    """Our pid and our ancestors': never to be signalled by a cleanup."""
    out = {0, 1, os.getpid()}
    pid = os.getpid()
    for _ in range(64):
        st = proc_stat(pid)
        if st is None or st["ppid"] <= 1:
            break
        pid = st["ppid"]
        out.add(pid)
    return out


def exe_of(pid):
    try:
        return os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None


# ---------------------------------------------------------------- HTTP

class Response(object):
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value) as received
        self.body = body
        self.raw_head = raw_head

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return self.header(name) is not None

    def tokens(self, name):
        """Comma-separated tokens of a header, lower-cased."""
        out = []
        for v in self.header_all(name):
            out.extend(t.strip().lower() for t in v.split(",") if t.strip())
        return out

    def closes(self):
        return "close" in self.tokens("connection")

    def __repr__(self):
        return "<Response %s %d %r, %d body bytes>" % (
            self.version, self.status, self.headers, len(self.body))


class Incomplete(Exception):
    pass


def parse_head(buf):
    """Parses a response head at the start of buf. Returns (version, status,
    reason, headers, head_len) or raises Incomplete; ValueError when buf does
    not start like an HTTP response."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) >= 5 and not buf.startswith(b"HTTP/"):
            raise ValueError("not an HTTP response: %r" % buf[:80])
        raise Incomplete()
    head = buf[:end].decode("latin-1")
    lines = head.split("\r\n")
    m = re.match(r"^(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
    if not m:
        raise ValueError("bad status line: %r" % lines[0])
    headers = []
    for ln in lines[1:]:
        if ":" not in ln:
            raise ValueError("bad header line: %r" % ln)
        k, v = ln.split(":", 1)
        headers.append((k, v.strip(" \t")))
    return m.group(1), int(m.group(2)), m.group(3) or "", headers, end + 4


def body_length(status, headers, head_request):
    """Body length by RFC 9112 section 6.3: an int, 'chunked' or None (until
    close)."""
    if head_request or 100 <= status < 200 or status in (204, 304):
        return 0
    te = [v for k, v in headers if k.lower() == "transfer-encoding"]
    if te:
        return "chunked"
    cl = [v for k, v in headers if k.lower() == "content-length"]
    if cl:
        return int(cl[0])
    return None


def parse_chunked(data):
    """Returns (body, consumed) or raises Incomplete."""
    pos = 0
    body = b""
    for _ in range(1 << 20):
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            raise Incomplete()
        size = int(data[pos:eol].split(b";")[0], 16)
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)
            if end < 0:
                raise Incomplete()
            return body, end + 4
        if len(data) < pos + size + 2:
            raise Incomplete()
        body += data[pos:pos + size]
        pos += size + 2
    raise ValueError("too many chunks")


class Conn(object):
    """One client connection with a receive buffer."""

    def __init__(self, port, timeout=IO_TIMEOUT, rcvbuf=None, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _recv(self, deadline):
        """One recv into buf; False on EOF. Raises socket.timeout."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("deadline")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(262144)
        except ConnectionResetError:
            d = b""
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def read_response(self, head=False, timeout=None):
        """Reads one complete response (by Content-Length, chunked, or until
        close). Raises socket.timeout, or EOFError when the connection
        closes before a response starts."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for _ in range(1 << 20):
            try:
                version, status, reason, headers, hlen = parse_head(self.buf)
            except Incomplete:
                if self.eof or not self._recv(deadline):
                    if self.buf:
                        raise ValueError("connection closed inside a head: %r"
                                         % self.buf[:200])
                    raise EOFError("connection closed, no response")
                continue
            blen = body_length(status, headers, head)
            if blen == "chunked":
                try:
                    body, used = parse_chunked(self.buf[hlen:])
                except Incomplete:
                    if self.eof or not self._recv(deadline):
                        raise ValueError("closed inside a chunked body")
                    continue
                total = hlen + used
            elif blen is None:
                if not self.eof:
                    self._recv(deadline)
                    continue
                body, total = self.buf[hlen:], len(self.buf)
            else:
                if len(self.buf) < hlen + blen:
                    if self.eof or not self._recv(deadline):
                        raise ValueError("closed after %d of %d body bytes"
                                         % (len(self.buf) - hlen, blen))
                    continue
                body, total = self.buf[hlen:hlen + blen], hlen + blen
            raw = self.buf[:hlen]
            self.buf = self.buf[total:]
            return Response(version, status, reason, headers, body, raw)
        raise ValueError("read_response: too many iterations")

    def read_until_close(self, timeout=None):
        """Everything until EOF (buffered bytes included). Raises
        socket.timeout when the peer does not close in time."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for _ in range(1 << 20):
            if self.eof or not self._recv(deadline):
                break
        out, self.buf = self.buf, b""
        return out

    def closed_within(self, timeout):
        """True when the server closes the connection within timeout
        (discarding any bytes it sends first)."""
        try:
            self.read_until_close(timeout)
            return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def is_open(self, wait=0.2):
        """True when no EOF arrives within `wait` seconds (bytes that do
        arrive are kept in the buffer)."""
        if self.eof:
            return False
        deadline = time.monotonic() + wait
        for _ in range(1000):
            try:
                if not self._recv(deadline):
                    return False
            except socket.timeout:
                return True
            except OSError:
                return False
        return True


def req(method="GET", path="/", version="HTTP/1.1", headers=None, body=b"",
        host="localhost"):
    """Bytes of a request; headers is a list of (name, value) or a dict."""
    lines = ["%s %s %s" % (method, path, version)]
    if host is not None:
        lines.append("Host: %s" % host)
    if headers:
        items = headers.items() if isinstance(headers, dict) else headers
        for k, v in items:
            lines.append("%s: %s" % (k, v))
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if isinstance(body, str):
        body = body.encode("latin-1")
    return data + body


def exchange(port, data, head=False, timeout=IO_TIMEOUT):
    """Sends data on a new connection and returns the first response."""
    with Conn(port, timeout=timeout) as c:
        c.send(data)
        return c.read_response(head=head)


def get(port, path="/", headers=None, method="GET", version="HTTP/1.1",
        timeout=IO_TIMEOUT):
    """One request with Connection: close on a new connection."""
    h = [("Connection", "close")]
    if headers:
        h += list(headers.items() if isinstance(headers, dict) else headers)
    return exchange(port, req(method, path, version, h), head=(method == "HEAD"),
                    timeout=timeout)


def raw_exchange(port, data, timeout=IO_TIMEOUT):
    """Sends data and returns every byte until the server closes (or what
    arrived by the timeout, and a flag saying whether it closed)."""
    with Conn(port, timeout=timeout) as c:
        try:
            c.send(data)
        except OSError:
            pass
        try:
            return c.read_until_close(timeout), True
        except socket.timeout:
            return c.buf, False


# ---------------------------------------------------------------- YAML

def yaml_scalar(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    s = str(v)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def yaml_flow(v):
    """A value in YAML flow style: mappings and lists nest."""
    if isinstance(v, dict):
        return "{%s}" % ", ".join("%s: %s" % (k, yaml_flow(x)) for k, x in v.items()
                                  if x is not None)
    if isinstance(v, (list, tuple)):
        return "[%s]" % ", ".join(yaml_flow(x) for x in v)
    return yaml_scalar(v)


def yaml_dump(conf):
    lines = []
    for k, v in conf.items():
        if v is None:
            continue
        if isinstance(v, (list, tuple, dict)):
            lines.append("%s: %s" % (k, yaml_flow(v)))
        else:
            lines.append("%s: %s" % (k, yaml_scalar(v)))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the server

def as_root_user(text):
    """A config run by the tests as root keeps root workers (user: root):
    without a user drover gives them to nobody, who cannot read the tests'
    0700 temporary directories. test_user checks the fallback itself."""
    if os.geteuid() != 0 or re.search(r"(?m)^user\s*:", text):
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "user: root\n"


class Server(object):
    """A throwaway drover: temp dir with www/, drover.yaml, logs, pid file."""

    def __init__(self, workers=1, files=None, **overrides):
        self.dir = tempfile.mkdtemp(prefix="drover-it-")
        self.root = os.path.join(self.dir, "www")
        os.mkdir(self.root)
        self.port = free_port()
        self.conf_path = os.path.join(self.dir, "drover.yaml")
        self.pid_file = os.path.join(self.dir, "drover.pid")
        self.error_log = os.path.join(self.dir, "error.log")
        self.access_log = os.path.join(self.dir, "access.log")
        self.stdout_path = os.path.join(self.dir, "stdout.txt")
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        self.conf = {
            "listen": ["127.0.0.1:%d" % self.port],
            "workers": workers,
            "root": self.root,
            "pid_file": self.pid_file,
            "error_log": self.error_log,
            "access_log": self.access_log,
            "log_level": "info",
            "daemon": False,
            "keepalive_timeout": "5s",
            "client_header_timeout": "5s",
            "send_timeout": "5s",
            "shutdown_timeout": "5s",
        }
        if os.geteuid() == 0:
            self.conf["user"] = "root"
        self.conf.update(overrides)
        self.proc = None
        self.master = None           # pid of the master
        self.known = {}              # pid -> starttime of every process seen
        self.write_file("index.html", INDEX_HTML)
        for name, data in (files or {}).items():
            self.write_file(name, data)
        self.write_config()

    # -- files

    def path(self, name):
        return os.path.join(self.root, name.lstrip("/"))

    def write_file(self, name, data, mtime=None):
        p = self.path(name)
        if name.endswith("/"):
            os.makedirs(p, exist_ok=True)
            return p
        os.makedirs(os.path.dirname(p), exist_ok=True)
        if isinstance(data, str):
            data = data.encode("utf-8")
        with open(p, "wb") as f:
            f.write(data)
        if mtime is not None:
            os.utime(p, (mtime, mtime))
        return p

    def write_config(self, text=None, path=None):
        with open(path or self.conf_path, "w") as f:
            f.write(as_root_user(text) if text is not None else yaml_dump(self.conf))

    def read(self, path):
        try:
            with open(path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_text(self):
        return self.read(self.error_log)

    def stderr_text(self):
        return self.read(self.stderr_path)

    def diag(self):
        """Logs for failure messages."""
        return "\n--- stderr ---\n%s\n--- error log ---\n%s" % (
            self.stderr_text()[-3000:], self.log_text()[-3000:])

    # -- processes

    def command(self, *args, conf=None):
        return [BIN, "-c", conf or self.conf_path] + list(args)

    def run(self, *args, timeout=10, cwd=None):
        """Runs the binary to completion (-t, -s ...): CompletedProcess."""
        return subprocess.run(self.command(*args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout, cwd=cwd or self.dir)

    # (soft, hard) RLIMIT_NOFILE to start the binary with, as prlimit would
    # (the workers inherit it); None: the test runner's own.
    nofile = None

    def spawn(self, *args, cwd=None, conf=None):
        """Starts the binary with its output in files of the temp dir."""
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        limit = None
        if self.nofile is not None:
            import resource
            nofile = self.nofile

            def limit():
                resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        try:
            return subprocess.Popen(self.command(*args, conf=conf),
                                    stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=err, cwd=cwd or self.dir,
                                    preexec_fn=limit)
        finally:
            out.close()
            err.close()

    def remember(self, pid):
        st = proc_stat(pid)
        if st is not None and pid not in self.known:
            self.known[pid] = st["starttime"]

    def start(self, wait_workers=True, cwd=None):
        """drover -c CONF -f; waits until the port accepts and a request is
        answered (bounded), and until `workers` workers run."""
        for attempt in range(3):
            self.proc = self.spawn("-f", cwd=cwd)
            self.master = self.proc.pid
            self.remember(self.master)
            try:
                self.wait_serving()
                break
            except AssertionError:
                # Another test may have taken our free port between
                # free_port() and the bind: try another one.
                if (attempt == 2 or self.proc.poll() is None
                        or "in use" not in (self.stderr_text() + self.log_text())
                        or self.conf["listen"] != ["127.0.0.1:%d" % self.port]):
                    raise
                self.port = free_port()
                self.conf["listen"] = ["127.0.0.1:%d" % self.port]
                self.write_config()
        if wait_workers and isinstance(self.conf.get("workers"), int):
            n = self.conf["workers"]
            if not wait_until(lambda: len(self.workers()) == n, timeout=START_TIMEOUT):
                raise AssertionError("expected %d workers, have %r%s"
                                     % (n, self.workers(), self.diag()))
        return self

    def wait_serving(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 2):
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError("drover exited with %s during start%s"
                                     % (self.proc.returncode, self.diag()))
            if port_accepts(self.port, 0.5):
                left = max(0.5, deadline - time.monotonic())
                try:
                    get(self.port, "/", timeout=left)
                    return
                except (OSError, ValueError, EOFError):
                    pass
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        raise AssertionError("drover did not serve on port %d within %.0f s%s"
                             % (self.port, timeout, self.diag()))

    def workers(self, pid=None):
        """Live (non-zombie) children of the master that run the drover
        binary; every pid seen is remembered for the final cleanup."""
        master = pid or self.master
        if master is None:
            return []
        mexe = exe_of(master)
        out = []
        for p in children(master):
            e = exe_of(p)
            if mexe is not None and e is not None and e != mexe:
                continue
            self.remember(p)
            out.append(p)
        return out

    def master_alive(self):
        if self.proc is not None and self.master == self.proc.pid:
            return self.proc.poll() is None
        return self.master is not None and alive(self.master, self.known.get(self.master))

    def signal(self, sig, pid=None):
        """Sends sig to the master (or a pid this server owns)."""
        pid = pid or self.master
        if pid != self.master and pid not in self.known:
            raise ValueError("pid %d does not belong to this server" % pid)
        if pid in own_lineage():
            raise ValueError("refusing to signal %d: the test itself" % pid)
        os.kill(pid, sig)

    def _kill(self, pid, sig):
        """Cleanup's kill: only a live pid with the start time recorded for
        it, never the test process or its ancestors."""
        if pid is None or pid in own_lineage():
            return
        if pid in self.known and not alive(pid, self.known[pid]):
            return
        try:
            os.kill(pid, sig)
        except OSError:
            pass

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Waits for the master to exit; returns its status (None when it is
        not our child), or raises AssertionError on timeout."""
        if self.proc is not None and self.master == self.proc.pid:
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                raise AssertionError("master %d still running after %.1f s"
                                     % (self.master, timeout))
        if not wait_until(lambda: not self.master_alive(), timeout=timeout):
            raise AssertionError("master %d still running after %.1f s"
                                 % (self.master, timeout))
        return None

    def stop(self):
        """SIGTERM, bounded wait, SIGKILL; then SIGKILL every recorded worker
        that is still alive. Never raises."""
        try:
            if self.master is not None:
                self.workers()
                if self.master_alive():
                    self._kill(self.master, signal.SIGTERM)
                    try:
                        self.wait_exit(STOP_TIMEOUT)
                    except AssertionError:
                        self._kill(self.master, signal.SIGKILL)
                if self.proc is not None:
                    try:
                        self.proc.wait(timeout=STOP_TIMEOUT)
                    except subprocess.TimeoutExpired:
                        pass
            for pid, st in list(self.known.items()):
                if alive(pid, st):
                    self._kill(pid, signal.SIGKILL)
            self._unlink_queues()
        except Exception as e:  # cleanup must never hide the test's result
            sys.stderr.write("harness stop: %r\n" % (e,))

    def _unlink_queues(self):
        """Removes the message queue of every master of ours that is gone
        without removing it (a test that kills -9). Without /dev/mqueue
        mounted nothing else would, and leaked queues use up the user's
        RLIMIT_MSGQUEUE until mq_open fails for every later master."""
        pids = set(self.known)
        if self.master is not None:
            pids.add(self.master)
        for pid in pids:
            # No process at all with that pid: a recycled pid may be another
            # test's live master, whose queue it is now.
            if proc_stat(pid) is None:
                mq_unlink("/drover.%d" % pid)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.cleanup()


class ServerTestCase(unittest.TestCase):
    """One server per test: setUp builds it from server_args() and starts it
    unless start_server is False; tearDown always cleans up."""

    start_server = True
    server_kwargs = {}

    def make_server(self, **kw):
        args = dict(self.server_kwargs)
        args.update(kw)
        s = Server(**args)
        self.addCleanup(s.cleanup)
        return s

    def setUp(self):
        if not binary_ok():
            self.skipTest("no drover binary at %s" % BIN)
        self.srv = self.make_server()
        if self.start_server:
            self.srv.start()

    @property
    def port(self):
        return self.srv.port


class SharedServerTestCase(unittest.TestCase):
    """One server for the whole class (cheaper for pure HTTP tests)."""

    server_kwargs = {}
    srv = None

    @classmethod
    def populate(cls, srv):
        pass

    @classmethod
    def setUpClass(cls):
        if not binary_ok():
            raise unittest.SkipTest("no drover binary at %s" % BIN)
        cls.srv = Server(**cls.server_kwargs)
        try:
            cls.populate(cls.srv)
            cls.srv.start()
        except BaseException:
            cls.srv.cleanup()
            raise
        cls.port = cls.srv.port

    @classmethod
    def tearDownClass(cls):
        if cls.srv is not None:
            cls.srv.cleanup()

    def assertServes(self, msg=""):
        """The server still answers a plain GET / with 200."""
        r = get(self.port, "/index.html")
        self.assertEqual(r.status, 200, "server stopped serving after %s" % msg)
        self.assertEqual(r.body, INDEX_HTML)
