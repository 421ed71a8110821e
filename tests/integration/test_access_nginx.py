#!/usr/bin/env python3
"""Access control against nginx itself, on the same configuration written
for both: auth_basic with the same htpasswd file (made by Apache's
htpasswd: bcrypt, apr1, {SHA}, SHA-256/512-crypt) and the same
Authorization headers, right, wrong and malformed; allow/deny behind
real_ip (set_real_ip_from + real_ip_recursive on) with the same
X-Forwarded-For values; limit_req (burst with nodelay, as drover's GCRA
behaves) with the same burst of requests. The status codes must be the
same, but for the two differences DIFFERENT lists (on purpose, each
checked). Skips when nginx or htpasswd is not installed (scripts/deps --test
installs nginx-light and apache2-utils)."""

import base64
import os
import shutil
import signal
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True

from harness import ServerTestCase, exchange, free_port, port_accepts, req, run_main, wait_until

USERS = [("b", "-B", "pw-b"), ("m", "-m", "pw-m"), ("s", "-s", "pw-s"),
         ("t", "-2", "pw-t"), ("f", "-5", "pw-f")]


def basic(raw):
    return "Basic " + base64.b64encode(raw).decode()


AUTHS = [None] + [basic(("%s:%s" % (u, p)).encode()) for u, _, p in USERS] + [
    basic(b"b:wrong"), basic(b"m:pw-M"), basic(b"nobody:pw-b"), basic(b"b"), basic(b":pw-b"),
    "Basic !!!", "Basic", "Bearer x", "basic " + base64.b64encode(b"s:pw-s").decode(),
    basic(b"s:pw-s\x00"), "Basic " + "QUFB" * 1000]

# Where drover differs on purpose, with (nginx, drover):
# - a NUL in the password: nginx hands the C string to crypt(), which stops
#   at the NUL, so "pw-s\0" is pw-s and passes; drover refuses any NUL.
# - "[v6]" in X-Forwarded-For: nginx takes only bare addresses; drover also
#   takes the bracketed form (and a port), as Forwarded writes it.
DIFFERENT = {basic(b"s:pw-s\x00"): (200, 401), "[2001:db8::9]": (403, 200)}

XFFS = [None, "10.1.1.1", "10.0.0.7", "8.8.8.8", "10.1.1.1, 8.8.8.8", "8.8.8.8, 10.1.1.1",
        "2001:db8::5", "10.1.1.1, 127.0.0.1", "10.1.1.1,127.0.0.1 , 127.0.0.1", "[2001:db8::9]"]


class AccessAgainstNginxTest(ServerTestCase):
    start_server = False
    server_kwargs = {"workers": 1}

    def setUp(self):
        self.nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if self.nginx is None:
            self.skipTest("nginx is not installed (scripts/deps --test installs nginx-light)")
        if shutil.which("htpasswd") is None:
            self.skipTest("htpasswd is not installed (scripts/deps --test installs apache2-utils)")
        super().setUp()
        s = self.srv
        d = s.dir
        pw = os.path.join(d, "htpasswd")
        for i, (u, flag, p) in enumerate(USERS):
            args = ["htpasswd", "-b" + ("c" if i == 0 else "")] + ([flag, "-C", "5"] if flag == "-B" else [flag])
            subprocess.run(args + [pw, u, p], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)
        for name in ("admin", "lan", "lim"):
            s.write_file(name + "/index.html", name)
        self.nport = free_port()
        os.makedirs(os.path.join(d, "ngx-logs"))
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            # Started as root, nginx's workers would run as nobody, who may
            # not read the temp dir: keep them as whoever runs the test.
            f.write(("user root root;\n" if os.geteuid() == 0 else "") +
                    "worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/ngx-logs/error.log;\n"
                    "events {}\nhttp {\n  access_log off;\n  client_body_temp_path %s/ngx-logs;\n"
                    "  limit_req_zone $binary_remote_addr zone=one:1m rate=10r/s;\n"
                    "  limit_req_status 429;\n"
                    "  set_real_ip_from 127.0.0.1;\n  real_ip_header X-Forwarded-For;\n"
                    "  real_ip_recursive on;\n"
                    "  server {\n    listen 127.0.0.1:%d;\n    root %s;\n"
                    "    location /admin/ { auth_basic \"Staff only\"; auth_basic_user_file %s; }\n"
                    "    location /lan/ { deny 10.0.0.7; allow 10.0.0.0/8; allow 2001:db8::/32; deny all; }\n"
                    "    location /lim/ { limit_req zone=one burst=5 nodelay; }\n"
                    "  }\n}\n" % (d, d, d, self.nport, s.root, pw))
        s.conf["real_ip"] = {"header": "X-Forwarded-For", "trusted": ["127.0.0.1"]}
        s.conf["locations"] = {
            "/admin/": {"auth": {"realm": "Staff only", "htpasswd": pw}},
            "/lan/": {"deny": ["10.0.0.7"], "allow": ["10.0.0.0/8", "2001:db8::/32"]},
            "/lim/": {"limit_req": {"rate": "10/s", "burst": 5}},
        }
        s.write_config()
        self.ngx = subprocess.Popen([self.nginx, "-p", d, "-c", os.path.join(d, "nginx.conf")],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        self.addCleanup(self._stop_nginx)
        if not wait_until(lambda: port_accepts(self.nport, 0.2) or self.ngx.poll() is not None,
                          timeout=10) or self.ngx.poll() is not None:
            self.skipTest("nginx did not start: %s" % self.ngx.stderr.read(2000))
        s.start()

    def _stop_nginx(self):
        if self.ngx.poll() is None:
            self.ngx.send_signal(signal.SIGTERM)
            try:
                self.ngx.wait(10)
            except subprocess.TimeoutExpired:
                self.ngx.kill()
                self.ngx.wait(5)

    def both(self, path, name, values):
        differ = []
        for v in values:
            h = [("Connection", "close")] + ([(name, v)] if v is not None else [])
            a = exchange(self.nport, req("GET", path, headers=h))
            b = exchange(self.srv.port, req("GET", path, headers=h))
            if v in DIFFERENT:
                self.assertEqual((a.status, b.status), DIFFERENT[v], v)
            elif a.status != b.status:
                differ.append((v if v is None or len(v) < 60 else v[:60] + "...", a.status, b.status))
        return differ

    def test_auth_basic(self):
        self.assertEqual(self.both("/admin/", "Authorization", AUTHS), [], "(header, nginx, drover)")
        a = exchange(self.nport, req("GET", "/admin/", headers=[("Connection", "close")]))
        b = exchange(self.srv.port, req("GET", "/admin/", headers=[("Connection", "close")]))
        # nginx sends no charset (RFC 7617 allows it; drover says UTF-8)
        self.assertEqual(a.header("WWW-Authenticate"), 'Basic realm="Staff only"')
        self.assertEqual(b.header("WWW-Authenticate"), 'Basic realm="Staff only", charset="UTF-8"')

    def test_allow_deny_behind_real_ip(self):
        self.assertEqual(self.both("/lan/", "X-Forwarded-For", XFFS), [], "(X-Forwarded-For, nginx, drover)")

    def test_limit_req_burst(self):
        a = [exchange(self.nport, req("GET", "/lim/", headers=[("Connection", "close")])).status
             for _ in range(20)]
        b = [exchange(self.srv.port, req("GET", "/lim/", headers=[("Connection", "close")])).status
             for _ in range(20)]
        # 20 requests in well under 100 ms: burst + 1 pass, the rest 429
        # (a request may slip in as a token comes back on a slow machine).
        self.assertIn(a.count(200), (6, 7), a)
        self.assertIn(b.count(200), (6, 7), b)
        self.assertEqual(set(a) | set(b), {200, 429})


if __name__ == "__main__":
    run_main()
