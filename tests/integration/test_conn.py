"""Connection life cycle corners found in review: a connection that went
through the worker's ready queue must keep its timer, and a request that
arrives together with the client's FIN must be answered and the connection
closed at once, not after keepalive_timeout."""

import socket
import time

from harness import ServerTestCase, Conn, req, run_main


class ConnLifecycleTest(ServerTestCase):
    server_kwargs = {"workers": 1, "keepalive_timeout": "1s", "client_header_timeout": "1s"}

    def test_long_pipeline_keeps_its_timer(self):
        # A body byte plus 30 pipelined requests in one write: the state
        # machine's pass of 64 turns ends just as the last response is
        # written, so the idle connection goes through the ready queue;
        # afterwards it must still time out.
        first = (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nX")
        rest = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 30
        with Conn(self.port) as c:
            c.send(first + rest)
            for i in range(31):
                r = c.read_response()
                self.assertEqual(r.status, 200, "response %d" % i)
            self.assertTrue(c.closed_within(4.0),
                            "idle connection not closed after keepalive_timeout")

    def test_long_pipeline_with_partial_request_times_out(self):
        first = (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nX")
        rest = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 30
        with Conn(self.port) as c:
            c.send(first + rest + b"GET / HT")
            for i in range(31):
                self.assertEqual(c.read_response().status, 200)
            self.assertTrue(c.closed_within(4.0),
                            "a partial head escaped client_header_timeout")

    def test_request_with_fin_closes_promptly(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            # Let the worker accept first (its read finds nothing), then
            # the request and our FIN in one segment (corked), so the
            # server sees both in one wakeup.
            time.sleep(0.3)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            start = time.monotonic()
            data = b""
            while time.monotonic() - start < 5:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            took = time.monotonic() - start
        finally:
            s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:40])
        self.assertLess(took, 0.8, "closed only after %.2fs (keepalive_timeout is 1s)" % took)


if __name__ == "__main__":
    run_main()
