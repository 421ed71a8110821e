"""A small HTTP/2 client over a plain socket (h2c with prior knowledge) for
the HTTP/2 tests, built on python3-h2 (Debian's package lives in
/usr/lib/python3/dist-packages, which a pyenv or venv python does not see:
it is added to the path when the first import fails).

Every read is bounded by a deadline; nothing here retries for ever.
"""

import socket
import sys
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.settings
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    try:
        import h2.config
        import h2.connection
        import h2.events
        import h2.settings
    except ImportError:
        h2 = None


def available():
    return h2 is not None


class Stream(object):
    def __init__(self, sid):
        self.sid = sid
        self.headers = {}
        self.body = bytearray()
        self.ended = False
        self.reset = None

    @property
    def status(self):
        return int(self.headers.get(":status", "0"))


class H2(object):
    """One HTTP/2 connection. auto_ack: give flow-control credit back for
    what was received (off: the client stops reading in the HTTP/2 sense)."""

    def __init__(self, port, window=None, auto_ack=True, timeout=5.0, settings=None, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8")
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        s = dict(settings or {})
        if window is not None:
            s[h2.settings.SettingCodes.INITIAL_WINDOW_SIZE] = window
        if s:
            self.conn.update_settings(s)
        self.auto_ack = auto_ack
        self.streams = {}
        self.goaway = None
        self.closed = False
        self.remote_settings = {}
        self.flush()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, path, headers=(), method="GET", end=True, authority="127.0.0.1"):
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "http"), (":authority", authority),
                (":path", path)] + list(headers)
        self.conn.send_headers(sid, hdrs, end_stream=end)
        self.streams[sid] = Stream(sid)
        self.flush()
        return sid

    def ack(self, sid, n):
        try:
            self.conn.acknowledge_received_data(n, sid)
        except Exception:
            pass

    def _handle(self, ev):
        if isinstance(ev, h2.events.ResponseReceived):
            self.streams[ev.stream_id].headers = dict(ev.headers)
        elif isinstance(ev, h2.events.DataReceived):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st.body += ev.data
            if self.auto_ack or (st is not None and getattr(st, "ack", False)):
                self.ack(ev.stream_id, ev.flow_controlled_length)
        elif isinstance(ev, h2.events.StreamEnded):
            self.streams[ev.stream_id].ended = True
        elif isinstance(ev, h2.events.StreamReset):
            if ev.stream_id in self.streams:
                self.streams[ev.stream_id].reset = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = ev
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            for k, v in ev.changed_settings.items():
                self.remote_settings[k] = v.new_value

    def pump(self, until, timeout=5.0):
        """Reads and handles events until until() is true, the peer closes,
        or timeout; returns until()."""
        deadline = time.monotonic() + timeout
        for _ in range(100000):
            if until():
                return True
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                break
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            try:
                events = self.conn.receive_data(data)
            except Exception:
                self.closed = True
                break
            for ev in events:
                self._handle(ev)
            try:
                self.flush()
            except OSError:
                self.closed = True
        return until()

    def get(self, path, headers=(), method="GET", timeout=5.0):
        sid = self.request(path, headers, method)
        st = self.streams[sid]
        self.pump(lambda: st.ended or st.reset is not None, timeout)
        return st
