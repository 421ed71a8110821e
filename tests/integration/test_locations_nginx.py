#!/usr/bin/env python3
"""Locations against nginx itself: the same rules written for both (nginx's
own documentation set, ^~ that is and is not the longest prefix, regexes in
file order against a plain prefix), each rule answering with its own status
code, and the same paths asked of both, raw bytes included (%-encoded,
doubled slashes, dot segments). Which rule answers must be the same.
Skips when nginx is not installed (scripts/deps --test installs
nginx-light)."""

import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from harness import ServerTestCase, exchange, free_port, port_accepts, req, run_main, wait_until

# (pattern as nginx writes it, as drover's YAML key, status it returns)
RULES = [
    ("= /", '"= /"', 200),
    ("/", '"/"', 201),
    ("/documents/", '"/documents/"', 202),
    ("^~ /images/", '"^~ /images/"', 203),
    (r"~* \.(gif|jpg|jpeg)$", r"'~* \.(gif|jpg|jpeg)$'", 204),
    ("^~ /p/", '"^~ /p/"', 205),
    ("/p/q/", '"/p/q/"', 206),
    (r"~ \.txt$", r"'~ \.txt$'", 207),
    ("~ ^/x/", "'~ ^/x/'", 208),
    (r"~ \.php$", r"'~ \.php$'", 209),
    ("/x/", '"/x/"', 210),
    ("^~ /x/static/", '"^~ /x/static/"', 211),
    ("= /exact", '"= /exact"', 212),
    (r"~ ^/exact", "'~ ^/exact'", 213),
]

PATHS = ["/", "/index.html", "/documents/a.html", "/documents/1.jpg", "/documents/1.JPG",
         "/images/1.gif", "/images/a", "/p/q/a.txt", "/p/a.txt", "/p/q/a.html", "/x/a.php",
         "/x/a.html", "/x/static/a.php", "/y/a.PHP", "/y/a.php", "/%64ocuments/x",
         "//images//a.gif", "/a/../images/b.jpg", "/x/static", "/x", "/p", "/documents",
         "/b.txt", "/b.TXT", "/exact", "/exactly", "/exact/", "/%70/q/a.txt",
         "/documents/./x.jpeg", "/images/../documents/y"]


class AgainstNginxTest(ServerTestCase):
    start_server = False

    def setUp(self):
        self.nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if self.nginx is None:
            self.skipTest("nginx is not installed (scripts/deps --test installs nginx-light)")
        super().setUp()
        d = self.srv.dir
        self.nport = free_port()
        locs = "\n".join("    location %s { return %d; }" % (p, code) for p, _, code in RULES)
        os.makedirs(os.path.join(d, "ngx-logs"))
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write("worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/ngx-logs/error.log;\n"
                    "events {}\nhttp {\n  access_log off;\n  client_body_temp_path %s/ngx-logs;\n"
                    "  server {\n    listen 127.0.0.1:%d;\n    root %s;\n%s\n  }\n}\n"
                    % (d, d, d, self.nport, self.srv.root, locs))
        self.srv.write_config(open(self.srv.conf_path).read() + "locations:\n" +
                              "".join("  %s: {return: %d}\n" % (k, code) for _, k, code in RULES))
        self.ngx = subprocess.Popen([self.nginx, "-p", d, "-c", os.path.join(d, "nginx.conf")],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        self.addCleanup(self._stop_nginx)
        if not wait_until(lambda: port_accepts(self.nport, 0.2) or self.ngx.poll() is not None,
                          timeout=10) or self.ngx.poll() is not None:
            self.skipTest("nginx did not start: %s" % self.ngx.stderr.read(2000))
        self.srv.start()

    def _stop_nginx(self):
        if self.ngx.poll() is None:
            self.ngx.send_signal(signal.SIGTERM)
            try:
                self.ngx.wait(10)
            except subprocess.TimeoutExpired:
                self.ngx.kill()
                self.ngx.wait(5)

    def test_same_rule_answers(self):
        differ = []
        for p in PATHS:
            a = exchange(self.nport, req("GET", p, headers=[("Connection", "close")])).status
            b = exchange(self.srv.port, req("GET", p, headers=[("Connection", "close")])).status
            if a != b:
                differ.append((p, a, b))
        self.assertEqual(differ, [], "(path, nginx, drover)")


if __name__ == "__main__":
    run_main()
