#!/usr/bin/env python3
"""HTTPS at the level of records and writes: what a worker reads ahead and
when it stops reading, when session tickets and close_notify go out, and
files encrypted from their mapping (one worker, an ECDSA certificate made
here)."""

import http.client
import os
import socket
import ssl
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import INDEX_HTML, SharedServerTestCase, run_main, wait_until
import tlsgen

ONE = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
CLOSE = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


class TlsRecordsTest(SharedServerTestCase):
    server_kwargs = {"workers": 1, "files": {"big.bin": os.urandom(300000)}}

    @classmethod
    def populate(cls, srv):
        cls.certs = tlsgen.make_all(tlsgen.certdir_in(srv))
        cls.tls_port = tlsgen.listen_tls(srv)
        srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(cls.certs["ec"])]}
        srv.write_config()

    def context(self):
        # one for the class: a session resumes only in the context it came from
        cls = type(self)
        if getattr(cls, "ctx", None) is None:
            cls.ctx = ssl.create_default_context(cafile=self.certs["ca"])
            cls.ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        return cls.ctx

    def https(self):
        return http.client.HTTPSConnection("localhost", self.tls_port, timeout=10,
                                           context=self.context())

    def memory_handshake(self, session=None, rcvbuf=None):
        """A TLS 1.3 client over memory BIOs: (socket, SSLObject, in, out),
        its Finished still in out, not sent. rcvbuf: SO_RCVBUF to set."""
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context().wrap_bio(inc, out, server_hostname="localhost", session=session)
        s = socket.socket()
        self.addCleanup(s.close)
        if rcvbuf is not None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(10)
        s.connect(("127.0.0.1", self.tls_port))
        for _ in range(20):
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                s.sendall(out.read())
                chunk = s.recv(65536)
                self.assertTrue(chunk, "closed in the handshake")
                inc.write(chunk)
        return s, tls, inc, out

    def read_some(self, s, tls, inc, want, seconds=5):
        return tlsgen.read_plain(s, tls, inc, want, seconds)

    def test_records_together_and_apart(self):
        """A worker stops reading when a read empties the socket and OpenSSL
        holds nothing. Two requests in two records of one segment: the
        first read takes both, the second waits in OpenSSL and must be read
        without an edge. A request in two records a while apart: the second
        half raises the edge the worker waits for."""
        s, tls, inc, out = self.memory_handshake()
        s.sendall(out.read())  # the client's Finished
        time.sleep(0.2)  # the worker reads it alone, and sends its tickets

        def responses(n):
            data = self.read_some(s, tls, inc, lambda d: d.count(b"HTTP/1.1 200 OK") >= n)
            return data.count(b"HTTP/1.1 200 OK")

        tls.write(ONE)
        tls.write(ONE)
        s.sendall(out.read())  # two records, one send
        self.assertEqual(responses(2), 2)
        tls.write(ONE[:10])
        s.sendall(out.read())
        time.sleep(0.3)
        tls.write(ONE[10:])
        s.sendall(out.read())
        self.assertEqual(responses(1), 1)

    def test_pipelined_request_after_a_blocked_write_is_read(self):
        """Requests 1 (a large file) and 2 come in one segment; request 3
        comes while the worker waits to write request 1's file, and its
        edge is taken then. Request 2 is then served from what OpenSSL read
        ahead, without a read: that must not count as having emptied the
        socket, or request 3 waits for an edge that already came."""
        path = os.path.join(self.srv.root, "pipe.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(16 << 20))
        self.addCleanup(os.unlink, path)
        s, tls, inc, out = self.memory_handshake(rcvbuf=8192)
        s.sendall(out.read())
        time.sleep(0.2)
        tls.write(b"GET /pipe.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        tls.write(ONE)
        s.sendall(out.read())  # requests 1 and 2: two records, one segment
        time.sleep(0.5)        # the worker is blocked writing pipe.bin
        tls.write(ONE)
        s.sendall(out.read())  # request 3
        time.sleep(0.3)
        # 16 MiB through an 8 KiB receive buffer and Python's memory BIO
        # take 8-10 s on a quiet machine: the bound is for a loaded one.
        data = self.read_some(s, tls, inc, lambda d: d.count(b"HTTP/1.1 200 OK") >= 3,
                              seconds=60)
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 3)

    def test_file_truncated_while_sent_ends_that_connection_only(self):
        """Files go out encrypted from their mapping. A file truncated while
        a slow client reads it turns the next read of the mapping into
        SIGBUS: that connection closes short, the worker lives on."""
        path = os.path.join(self.srv.root, "trunc.bin")
        data = os.urandom(8 << 20)
        with open(path, "wb") as f:
            f.write(data)
        self.addCleanup(os.unlink, path)
        c = self.https()
        c.request("GET", "/trunc.bin")
        self.assertEqual(c.getresponse().read(), data)  # cached and mapped
        c.close()
        workers = sorted(self.srv.workers())
        s = self.context().wrap_socket(socket.create_connection(("127.0.0.1", self.tls_port), 10),
                                       server_hostname="localhost")
        self.addCleanup(s.close)
        s.sendall(b"GET /trunc.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        got = s.recv(65536)
        self.assertTrue(got.startswith(b"HTTP/1.1 200 OK"), got[:80])
        os.truncate(path, 100000)
        closed = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(got) < len(data):
            try:
                chunk = s.recv(65536)
            except (ssl.SSLError, OSError):
                closed = True
                break
            if not chunk:
                closed = True
                break
            got += chunk
        self.assertTrue(closed, "the connection was not closed")
        self.assertLess(len(got), len(data))
        self.assertTrue(wait_until(lambda: "file truncated while being sent" in self.srv.log_text(),
                                   timeout=5), "no warning in the error log")
        self.assertEqual(sorted(self.srv.workers()), workers, "a worker died")
        self.assertNotIn("signal 7", self.srv.log_text())
        c = self.https()
        c.request("GET", "/")
        self.assertEqual(c.getresponse().read(), INDEX_HTML)


    def test_precompressed_variant_is_sent_from_its_own_mapping(self):
        """gzip_static: the cache entry that holds the reference is the
        file's, the bytes are its .gz variant's; the mapping must be the
        variant's too, for a whole body and for a range."""
        plain, gz = os.urandom(100000), os.urandom(60000)
        for name, data in (("v.bin", plain), ("v.bin.gz", gz)):
            with open(os.path.join(self.srv.root, name), "wb") as f:
                f.write(data)
            self.addCleanup(os.unlink, os.path.join(self.srv.root, name))
        for _ in range(2):  # the second from the cache, mapped
            c = self.https()
            c.request("GET", "/v.bin", headers={"Accept-Encoding": "gzip"})
            r = c.getresponse()
            self.assertEqual(r.getheader("Content-Encoding"), "gzip")
            self.assertEqual(r.read(), gz)
            c.request("GET", "/v.bin", headers={"Accept-Encoding": "gzip",
                                                 "Range": "bytes=1000-1999"})
            r = c.getresponse()
            self.assertEqual(r.status, 206)
            self.assertEqual(r.read(), gz[1000:2000])
            c.request("GET", "/v.bin")
            self.assertEqual(c.getresponse().read(), plain)
            c.close()

    def test_tickets_go_at_once_to_a_client_that_waits(self):
        """A client that sends its request only once its Finished is
        acknowledged (Nagle) gets the tickets, and the acknowledgement,
        right after the handshake: without them it waited 40 ms for the
        server's delayed ACK."""
        s, tls, inc, out = self.memory_handshake()
        s.sendall(out.read())  # Finished alone
        self.read_some(s, tls, inc, lambda d: tls.session is not None and tls.session.has_ticket,
                       seconds=3)
        self.assertTrue(tls.session is not None and tls.session.has_ticket,
                        "no ticket before the request")

    def test_tickets_go_with_the_response_and_resume(self):
        """A request that comes with the client's Finished: the tickets wait
        for the response and go out in its write(); they must arrive and
        resume."""
        s, tls, inc, out = self.memory_handshake()
        tls.write(ONE)
        s.sendall(out.read())  # Finished and the request, one send
        data = self.read_some(s, tls, inc, lambda d: INDEX_HTML in d)
        self.assertIn(b"HTTP/1.1 200 OK", data)
        self.assertTrue(tls.session.has_ticket, "no ticket with the response")
        s2, tls2, inc2, out2 = self.memory_handshake(session=tls.session)
        self.assertTrue(tls2.session_reused)
        tls2.write(ONE)
        s2.sendall(out2.read())
        self.assertIn(INDEX_HTML, self.read_some(s2, tls2, inc2, lambda d: INDEX_HTML in d))
        # a resumed connection gets a fresh ticket with its response too
        self.assertNotEqual(tls2.session.id, tls.session.id)

    def test_close_response_ends_with_close_notify(self):
        """Connection: close: close_notify goes in the response's write()
        (small body) or at close (a file); either way the client sees a
        clean TLS close, not a bare FIN (SSLEOFError)."""
        for path in ("/", "/big.bin"):
            s = self.context().wrap_socket(socket.create_connection(("127.0.0.1", self.tls_port), 10),
                                           server_hostname="localhost",
                                           suppress_ragged_eofs=False)
            self.addCleanup(s.close)
            s.sendall(CLOSE.replace(b"GET / ", b"GET %s " % path.encode()))
            data = b""
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                chunk = s.recv(65536)  # SSLEOFError without close_notify
                if not chunk:
                    break
                data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 200 OK"), data[:80])
            self.assertIn(b"Connection: close", data)

if __name__ == "__main__":
    run_main()
