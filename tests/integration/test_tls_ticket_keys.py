#!/usr/bin/env python3
"""ticket_key_file: servers that share key files resume each other's
sessions, as several instances behind a load balancer need (the first file
encrypts, every file decrypts: nginx's ssl_session_ticket_key rollover); a
reload that is refused keeps the keys in use, one that goes through
installs the new ones."""

import os
import shutil
import socket
import ssl
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # keep the source tree clean

from harness import Server, binary_ok, run_main
import tlsgen

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"


def fetch(ctx, port, session=None):
    """One GET / over TLS to port, offering session: (the session to
    resume next time, whether this one was resumed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
            s.sendall(REQUEST)
            data = b""
            for _ in range(1000):   # the response, then the close
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            if not data.startswith(b"HTTP/1.1 200"):
                raise AssertionError("port %d answered %r" % (port, data[:200]))
            # TLS 1.3 tickets come after the handshake: read to the end
            # above, so s.session is the one they made.
            return s.session, s.session_reused


class TicketKeyFilesTest(unittest.TestCase):

    def setUp(self):
        if not binary_ok():
            self.skipTest("no drover binary")
        if not tlsgen.have_openssl():
            self.skipTest("no openssl command")
        self.dir = tempfile.mkdtemp(prefix="drover-tkeys-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.ca = tlsgen.make_ca(self.dir)
        self.pair = tlsgen.make_leaf(self.dir, "site", "DNS:localhost,IP:127.0.0.1", 0x3333)
        self.keys = {}
        for name in ("k1", "k2"):
            self.keys[name] = os.path.join(self.dir, name + ".key")
            with open(self.keys[name], "wb") as f:
                f.write(os.urandom(80))
        # One client context: Python resumes a session only in the context
        # that made it, whichever server it goes to.
        self.ctx = ssl.create_default_context(cafile=self.ca)

    def start(self, key_files, cert=None, key=None):
        """A drover with 2 workers and ticket_key_file: key_files; returns
        (server, its TLS port)."""
        srv = Server(workers=2)
        self.addCleanup(srv.cleanup)
        port = tlsgen.listen_tls(srv)
        srv.conf["tls"] = {"certificates": [{"cert": cert or self.pair[0],
                                             "key": key or self.pair[1]}],
                           "ticket_key_file": key_files}
        srv.write_config()
        srv.start()
        return srv, port

    def resumes(self, session, port, times=4):
        """How many of `times` connections to port resumed session."""
        return sum(1 for _ in range(times) if fetch(self.ctx, port, session)[1])

    def test_servers_sharing_key_files_resume_each_other(self):
        k1, k2 = self.keys["k1"], self.keys["k2"]
        _, a = self.start([k1])
        _, b = self.start([k1])
        _, c = self.start([k2])
        _, d = self.start([k2, k1])     # rolling over: k2 encrypts, k1 still decrypts

        sess, reused = fetch(self.ctx, a)
        self.assertFalse(reused)
        self.assertEqual(self.resumes(sess, b), 4, "same key file, other server: every worker")
        self.assertEqual(self.resumes(sess, c), 0, "another key: a full handshake, no error")
        self.assertEqual(self.resumes(sess, d), 4, "an old key in the second file still decrypts")

        # d's own tickets are made with its first key, k2.
        sess_d, _ = fetch(self.ctx, d)
        self.assertEqual(self.resumes(sess_d, c), 4)
        self.assertEqual(self.resumes(sess_d, a), 0)

    def reload_keeps_the_keys(self, break_it, mend_it, failure):
        """A session from the key in use; a reload that reads a new ticket
        key and fails (break_it: how, failure: what -s reload says) leaves
        that key in use; once mended (mend_it), the reload installs it."""
        cert = os.path.join(self.dir, "live.pem")
        keyfile = os.path.join(self.dir, "live-ticket.key")
        shutil.copyfile(self.pair[0], cert)
        shutil.copyfile(self.keys["k1"], keyfile)
        srv, port = self.start([keyfile], cert=cert)
        sess, _ = fetch(self.ctx, port)
        self.assertEqual(self.resumes(sess, port), 4)

        shutil.copyfile(self.keys["k2"], keyfile)
        break_it(srv, cert)
        p = srv.run("-s", "reload", timeout=30)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertEqual(p.returncode, 1, out)
        self.assertIn(failure, out)
        self.assertEqual(self.resumes(sess, port), 4,
                         "a failed reload changed the ticket keys%s" % srv.diag())

        mend_it(srv, cert)
        p = srv.run("-s", "reload", timeout=30)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.resumes(sess, port), 0, "the reload did not install the new key")
        sess2, _ = fetch(self.ctx, port)
        self.assertEqual(self.resumes(sess2, port), 4)

    def test_refused_reload_keeps_the_keys(self):
        # refused before any worker starts: a broken certificate
        def break_it(srv, cert):
            with open(cert, "w") as f:
                f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                        "-----END CERTIFICATE-----\n")

        def mend_it(srv, cert):
            shutil.copyfile(self.pair[0], cert)
        self.reload_keeps_the_keys(break_it, mend_it, os.path.join(self.dir, "live.pem"))

    def test_aborted_reload_keeps_the_keys(self):
        # aborted after its workers started: they cannot open the access log
        def break_it(srv, cert):
            srv.conf["access_log"] = os.path.join(srv.dir, "no-such-dir", "access.log")
            srv.write_config()

        def mend_it(srv, cert):
            srv.conf["access_log"] = os.path.join(srv.dir, "access.log")
            srv.write_config()
        self.reload_keeps_the_keys(break_it, mend_it, "generation 2 failed")


if __name__ == "__main__":
    run_main()
