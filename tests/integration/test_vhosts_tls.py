"""Virtual hosts over HTTPS: each host's own certificate (hosts: tls:) is
chosen by SNI, and a request whose Host names a host with a different
certificate than the one SNI chose gets 421 Misdirected Request (RFC 9110
15.5.20) instead of the other site's page under the wrong certificate."""

import os
import socket
import ssl

import tlsgen
from harness import ServerTestCase, free_port, run_main, yaml_dump, yaml_scalar


def host_roots(d, names):
    """A root per host name under d (root-NAME), each with who.txt saying
    the name: which host answered is in the body."""
    roots = {}
    for name in names:
        roots[name] = os.path.join(d, "root-" + name)
        os.makedirs(roots[name])
        with open(os.path.join(roots[name], "who.txt"), "w") as f:
            f.write(name + "\n")
    return roots


class VhostTlsTest(ServerTestCase):
    start_server = False

    def setUp(self):
        if not tlsgen.have_openssl():
            self.skipTest("no openssl command")
        super(VhostTlsTest, self).setUp()
        d = self.srv.dir
        self.ca = tlsgen.make_ca(d)
        default = tlsgen.make_leaf(d, "default", "DNS:localhost,IP:127.0.0.1", 11)
        a = tlsgen.make_leaf(d, "a", "DNS:a.test,DNS:www.a.test", 12)
        b = tlsgen.make_leaf(d, "b", "DNS:b.test", 13)
        roots = host_roots(d, ("a", "b"))
        self.tls_port = free_port()  # reserved by the harness, not guessed as port + 1
        conf = dict(self.srv.conf)
        conf.pop("listen")
        conf["log_format"] = "json"
        self.log = conf["access_log"]
        text = ("listen:\n  - \"127.0.0.1:%d\"\n  - {address: \"127.0.0.1:%d\", tls: true}\n"
                % (self.srv.port, self.tls_port) + yaml_dump(conf) +
                "tls:\n  hsts: max-age=100\n  certificates:\n    - {cert: %s, key: %s}\n"
                % (yaml_scalar(default[0]), yaml_scalar(default[1])) +
                "hosts:\n" +
                "  a.test:\n    aliases: [www.a.test]\n    root: %s\n    tls: {cert: %s, key: %s}\n"
                "    hsts: \"max-age=200; includeSubDomains\"\n"
                % (yaml_scalar(roots["a"]), yaml_scalar(a[0]), yaml_scalar(a[1])) +
                "  b.test:\n    root: %s\n    tls: {cert: %s, key: %s}\n    hsts: none\n"
                % (yaml_scalar(roots["b"]), yaml_scalar(b[0]), yaml_scalar(b[1])) +
                "  c.test:\n    root: %s\n" % yaml_scalar(roots["b"]))
        self.srv.write_config(text)
        self.srv.start()

    def get(self, sni, host):
        ctx = ssl.create_default_context(cafile=self.ca)
        ctx.check_hostname = False
        with socket.create_connection(("127.0.0.1", self.tls_port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=sni) as s:
                cn = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
                s.sendall(("GET /who.txt HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                           % host).encode())
                data = b""
                for _ in range(100):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        self.last_head = head.decode("latin-1")
        return cn, int(head.split()[1]), body

    def hsts_of(self, sni, host):
        self.get(sni, host)
        found = [l.split(":", 1)[1].strip() for l in self.last_head.split("\r\n")
                 if l.lower().startswith("strict-transport-security:")]
        self.assertLessEqual(len(found), 1, self.last_head)
        return found[0] if found else None

    def test_hsts_per_host(self):
        # a host's own hsts replaces tls.hsts; none drops it; unset inherits
        self.assertEqual(self.hsts_of("a.test", "a.test"), "max-age=200; includeSubDomains")
        self.assertIsNone(self.hsts_of("b.test", "b.test"))
        self.assertEqual(self.hsts_of("localhost", "c.test"), "max-age=100")
        self.assertEqual(self.hsts_of("localhost", "localhost"), "max-age=100")
        # never over plain HTTP (RFC 6797 7.2)
        with socket.create_connection(("127.0.0.1", self.srv.port), timeout=5) as s:
            s.sendall(b"GET /who.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            data = b""
            for _ in range(100):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        self.assertNotIn(b"strict-transport-security", data.lower())
        # the same over HTTP/2 (curl negotiates h2 by ALPN)
        import shutil
        import subprocess
        if shutil.which("curl") is None:
            return
        out = subprocess.run(["curl", "-sk", "--http2", "-o", "/dev/null", "-D", "-", "--resolve",
                              "a.test:%d:127.0.0.1" % self.tls_port,
                              "https://a.test:%d/who.txt" % self.tls_port],
                             capture_output=True, timeout=20).stdout.decode("latin-1")
        self.assertIn("HTTP/2 200", out)
        self.assertIn("strict-transport-security: max-age=200; includeSubDomains", out.lower().replace(
            "includesubdomains", "includeSubDomains"))

    def test_sni_picks_the_hosts_certificate(self):
        self.assertEqual(self.get("a.test", "a.test"), ("a.test", 200, b"a\n"))
        self.assertEqual(self.get("www.a.test", "WWW.A.TEST:443"), ("a.test", 200, b"a\n"))
        self.assertEqual(self.get("b.test", "b.test"), ("b.test", 200, b"b\n"))

    def test_421_when_host_names_another_certificate(self):
        cn, status, body = self.get("a.test", "b.test")
        self.assertEqual((cn, status), ("a.test", 421))
        self.assertIn(b"421 Misdirected Request", body)
        # Without SNI the default certificate is served: a host with its
        # own certificate is misdirected there too.
        self.assertEqual(self.get(None, "a.test")[1], 421)
        # c.test has no certificate of its own: the default one is its,
        # so with SNI a.test it is misdirected, without SNI it is not.
        self.assertEqual(self.get("a.test", "c.test")[1], 421)
        self.assertEqual(self.get("localhost", "c.test")[:2], ("localhost", 200))
        # Same certificate: not misdirected.
        self.assertEqual(self.get("www.a.test", "a.test")[1], 200)

    def test_json_log_shows_scheme_and_tls_version(self):
        import json
        import urllib.request
        from harness import wait_until
        self.assertEqual(self.get("b.test", "b.test")[1], 200)
        urllib.request.urlopen("http://127.0.0.1:%d/" % self.srv.port, timeout=5).read()

        def entries():
            return [json.loads(ln) for ln in self.srv.read(self.log).splitlines() if ln]
        self.assertTrue(wait_until(lambda: len(entries()) >= 2, timeout=4), self.srv.read(self.log))
        by = {e["scheme"]: e for e in entries()}
        self.assertEqual(by["https"]["tls"], "TLSv1.3")
        self.assertEqual(by["https"]["host"], "b.test")
        self.assertIsNone(by["http"]["tls"])


class HostOnlyTlsTest(ServerTestCase):
    """Each host's own tls: {cert, key} with no top-level tls section: the
    section's defaults apply, SNI picks each host's certificate, and the first
    host's answers clients without SNI (nginx's default server does so)."""
    start_server = False
    get = VhostTlsTest.get

    def setUp(self):
        if not tlsgen.have_openssl():
            self.skipTest("no openssl command")
        super(HostOnlyTlsTest, self).setUp()
        d = self.srv.dir
        self.ca = tlsgen.make_ca(d)
        a = tlsgen.make_leaf(d, "a", "DNS:a.test", 21)
        b = tlsgen.make_leaf(d, "b", "DNS:b.test", 22)
        roots = host_roots(d, ("a", "b"))
        self.tls_port = free_port()
        conf = dict(self.srv.conf)
        conf.pop("listen")
        self.text = ("listen:\n  - {address: \"127.0.0.1:%d\", tls: true}\n" % self.tls_port +
                     yaml_dump(conf) + "hosts:\n" +
                     "".join("  %s.test:\n    root: %s\n    tls: {cert: %s, key: %s}\n"
                             % (n, yaml_scalar(roots[n]), yaml_scalar(c[0]),
                                yaml_scalar(c[1])) for n, c in (("a", a), ("b", b))))
        self.srv.write_config(self.text)

    def test_hosts_certificates_without_a_tls_section(self):
        p = self.srv.run("-t")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.srv.port = self.tls_port   # the harness's readiness probe speaks HTTP
        self.srv.proc = self.srv.spawn("-f")
        self.srv.master = self.srv.proc.pid
        from harness import port_accepts, wait_until
        self.assertTrue(wait_until(lambda: port_accepts(self.tls_port), timeout=10), self.srv.diag())
        self.assertEqual(self.get("a.test", "a.test"), ("a.test", 200, b"a\n"))
        self.assertEqual(self.get("b.test", "b.test"), ("b.test", 200, b"b\n"))
        self.assertEqual(self.get(None, "a.test")[:2], ("a.test", 200))
        self.assertEqual(self.get(None, "b.test")[1], 421)
        # -T shows the tls section the hosts brought, with its defaults.
        out = self.srv.run("-T").stdout.decode()
        self.assertRegex(out, r"(?m)^tls:")

    def test_no_certificate_anywhere_is_still_refused(self):
        text = self.text.split("hosts:")[0]
        self.srv.write_config(text)
        p = self.srv.run("-t")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("has tls: true but there is no tls section with certificates",
                      p.stderr.decode())


if __name__ == "__main__":
    run_main()
