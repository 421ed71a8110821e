#!/usr/bin/env python3
"""The status with many certificates and many names: a certificate with
4000 long names shows its first eight and how many it has, a hundred
virtual hosts with a certificate each (3 KB paths) are listed while they
fit and counted, and still the status JSON parses and `drover -s status`
ends with its tls counters line, even for a client of the control socket
that reads late. Each once went past a buffer (the status's 256 KiB, the
socket's) and was cut: a JSON string left open, the counters line lost."""

import json
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (SharedServerTestCase, free_port, get, run_main, wait_until,  # noqa: E402
                     yaml_dump)
import tlsgen  # noqa: E402
from test_vhosts import hosts_yaml  # noqa: E402

NAMES = 4000
HOSTS = 100
SHOWN = 8  # TLS_STATUS_MAX_NAMES


def long_name(i):
    return "h%04d.%s.test" % (i, "x" * 60)


class TlsStatusManyTest(SharedServerTestCase):
    server_kwargs = {"workers": 1, "status": {"path": "/status"}}

    @classmethod
    def populate(cls, srv):
        certdir = tlsgen.certdir_in(srv)
        tlsgen.make_ca(certdir)
        sans = ",".join("DNS:" + long_name(i) for i in range(1, NAMES + 1))
        cls.many = tlsgen.make_leaf(certdir, "many", sans, 3001, cn="many.test")
        host = tlsgen.make_leaf(certdir, "host", "DNS:host.test", 3002)
        # Each host names its certificate by another path (a symbolic link
        # at the end of a long one), so each is a certificate of its own.
        deep = certdir
        for k in range(12):
            deep = os.path.join(deep, "%02d" % k + "d" * 240)
        os.makedirs(deep)
        hosts = {}
        for i in range(HOSTS):
            link = os.path.join(deep, "h%03d.pem" % i)
            os.symlink(host[0], link)
            hosts["h%03d.test" % i] = {"root": srv.root, "tls": {"cert": link, "key": host[1]}}
        srv.conf["listen"] = ["127.0.0.1:%d" % srv.port,
                              {"address": "127.0.0.1:%d" % free_port(), "tls": True}]
        srv.conf["tls"] = {"certificates": [tlsgen.cert_entry(cls.many)]}
        srv.write_config(yaml_dump(srv.conf) + hosts_yaml(hosts))

    def status_page(self):
        """GET /status once the master has published the page (a worker
        answers 503 before that, just after start)."""
        got = []

        def ok():
            got[:] = [get(self.port, "/status")]
            return got[0].status == 200
        wait_until(ok, timeout=5, interval=0.1)
        self.assertEqual(got[0].status, 200)
        return got[0].body

    def test_status_json_is_whole(self):
        st = json.loads(self.status_page())  # cut short, it raised "Unterminated string"
        self.assertEqual(len(st["workers"]), st["totals"]["workers"])
        tls = st["tls"]
        self.assertEqual(tls["certificates_total"], 1 + HOSTS)
        certs = tls["certificates"]
        # The hosts' certificates outgrow the page: some are listed, whole.
        self.assertGreater(len(certs), 10)
        self.assertLess(len(certs), 1 + HOSTS)
        many = certs[0]
        self.assertEqual(many["cert"], self.many[0])
        self.assertEqual(many["names"], [long_name(i) for i in range(1, SHOWN + 1)])
        self.assertEqual(many["names_total"], NAMES)
        for c in certs[1:]:
            self.assertEqual((c["names"], c["names_total"]), (["host.test"], 1))
            self.assertRegex(c["not_after"], r"^\d{4}-\d\d-\d\dT")
        for k in ("handshakes", "resumed", "handshake_failures", "sendfile_ktls",
                  "sendfile_fallback", "ticket_key_generation"):
            self.assertIsInstance(tls[k], int, k)

    def test_status_text_keeps_the_counters_line(self):
        text = self.srv.run("-s", "status").stdout.decode()
        lines = text.splitlines()
        tail = "\n".join(lines[-2:])[-600:]  # not all 250 KB when it fails
        self.assertTrue(re.match(r"tls: \d+ handshakes \(\d+ resumed\), \d+ failed; files sent "
                                 r"by kTLS \d+, by fallback \d+; ticket keys generation \d+$",
                                 lines[-1]), tail)
        many = "tls certificate %s (ECDSA): %s, ... and %d more; expires " % (
            self.many[0], ", ".join(long_name(i) for i in range(1, SHOWN + 1)), NAMES - SHOWN)
        self.assertTrue(lines[0].startswith("drover ") and many in text, text[:2000])
        left = re.match(r"tls certificates: (\d+) more not shown \(%d in all\)$" % (1 + HOSTS),
                        lines[-2])
        self.assertTrue(left, tail)
        shown = sum(1 for x in lines if x.startswith("tls certificate /"))
        self.assertEqual(shown + int(left.group(1)), 1 + HOSTS)
        self.assertTrue(any(x.startswith("total: ") for x in lines), text[:2000])

    def test_control_answer_waits_for_its_reader(self):
        """The answer is bigger than the control socket's buffer: a client
        that starts reading a little late still gets all of it."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(b"\0drover-ctl.%d" % self.srv.master)
            s.sendall(b"status json\n")
            time.sleep(0.1)
            data = b""
            for _ in range(1000):
                k = s.recv(65536)
                if not k:
                    break
                data += k
        self.assertGreater(len(data), 200000)
        self.assertEqual(json.loads(data)["tls"]["certificates_total"], 1 + HOSTS)


if __name__ == "__main__":
    run_main()
