#!/usr/bin/env python3
"""HAProxy in front of two drover instances (issue 13, "HAProxy in front").

HAProxy (the Debian package; scripts/deps --test installs it) listens on
127.0.0.1 and balances over two drovers with send-proxy-v2, option
redispatch, retries 3 and an http-check on drover's status path. Under wrk
through HAProxy, instance A is reloaded, instance B upgraded (-s upgrade),
and A gracefully stopped (-s quit) and started again; wrk must see no socket
error and no non-2xx. A build without binary upgrade stops and restarts B
instead of upgrading it.

HAProxy connects to the drovers from 127.0.0.2 (`source 127.0.0.2`), while
wrk's connections reach HAProxy from 127.0.0.1. So every line in drover's
access logs that says 127.0.0.1 took its address from the PROXY header, not
from the socket: the drovers trust only 127.0.0.2 (proxy_trusted), and
HAProxy's health checks, which v2 sends as LOCAL, are logged with the peer's
own 127.0.0.2.

Skipped, with the reason printed, without haproxy or wrk."""

import os
import re
import shutil
import socket
import subprocess
import sys
import time

from harness import (ServerTestCase, free_port, get, run_main, wait_until)

DURATION = 14
HAPROXY_CFG = """\
global
    maxconn 2000
    stats socket {dir}/admin.sock mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 20s
    timeout server 20s
    retries 3
    option redispatch
    # A request that met a connection drover was closing (a drained idle
    # keep-alive connection) is sent again on a new one.
    retry-on conn-failure empty-response response-timeout

frontend web
    bind 127.0.0.1:{fport}
    default_backend drovers

backend drovers
    balance roundrobin
    option httpchk
    http-check send meth GET uri /status ver HTTP/1.1 hdr Host localhost
    http-check expect status 200
    default-server send-proxy-v2 check inter 200ms fall 1 rise 2 source 127.0.0.2
    server a 127.0.0.1:{pa}
    server b 127.0.0.1:{pb}
"""


class HAProxyTest(ServerTestCase):
    start_server = False

    def setUp(self):
        # haproxy is in /usr/sbin, outside a Debian user's PATH.
        path = os.environ.get("PATH", "") + ":/usr/local/sbin:/usr/sbin:/sbin"
        self.haproxy_bin = shutil.which("haproxy", path=path)
        for tool in ("haproxy", "wrk"):
            if shutil.which(tool, path=path) is None:
                # Printed: a skip must say why (scripts/deps --test installs both).
                sys.stderr.write("\n  [skip] %s is not installed (scripts/deps --test)\n" % tool)
                self.skipTest("%s is not installed" % tool)
        super().setUp()
        self.a = self.srv
        self.b = self.make_server()
        for s in (self.a, self.b):
            s.pport = free_port()
            s.conf.update({
                "workers": 1,
                "listen": ["127.0.0.1:%d" % s.port,
                           {"address": "127.0.0.1:%d" % s.pport, "proxy_protocol": True}],
                "proxy_trusted": ["127.0.0.2"],
                # Health checks are LOCAL from 127.0.0.2.
                "status": {"path": "/status", "allow": ["127.0.0.0/8"]},
                "keepalive_timeout": "15s",
                "shutdown_timeout": "5s",
            })
            s.write_config()
            s.start()
        self.hdir = self.a.dir
        self.fport = free_port()
        self.cfg = os.path.join(self.hdir, "haproxy.cfg")
        with open(self.cfg, "w") as f:
            f.write(HAPROXY_CFG.format(dir=self.hdir, fport=self.fport,
                                       pa=self.a.pport, pb=self.b.pport))
        self.hlog = open(os.path.join(self.hdir, "haproxy.out"), "wb")
        self.addCleanup(self.hlog.close)
        self.haproxy = subprocess.Popen([self.haproxy_bin, "-f", self.cfg, "-db"],
                                        stdin=subprocess.DEVNULL, stdout=self.hlog,
                                        stderr=subprocess.STDOUT, cwd=self.hdir)
        self.addCleanup(self.stop_haproxy)
        self.assertTrue(wait_until(lambda: self.servers_up() == {"a", "b"}, timeout=10),
                        "HAProxy did not see both drovers UP: %r\n%s"
                        % (self.servers_up(), self.haproxy_out()))

    def stop_haproxy(self):
        # Our own child, by its pid.
        if self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(5)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait(5)

    def haproxy_out(self):
        return self.a.read(os.path.join(self.hdir, "haproxy.out"))[-3000:]

    def servers_up(self):
        """The backend servers HAProxy has UP, from its stats socket."""
        if self.haproxy.poll() is not None:
            return set()
        data = b""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(2)
                s.connect(os.path.join(self.hdir, "admin.sock"))
                s.sendall(b"show stat\n")
                for _ in range(100):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        except OSError:
            return set()
        up = set()
        for ln in data.decode("utf-8", "replace").splitlines():
            f = ln.split(",")
            if len(f) > 17 and f[0] == "drovers" and f[1] in ("a", "b") and f[17] == "UP":
                up.add(f[1])
        return up

    def upgrade_supported(self):
        p = subprocess.run([self.a.command()[0], "-h"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=10)
        return b"upgrade" in p.stdout

    def pid_file(self, srv):
        try:
            with open(srv.pid_file) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def quit_and_restart(self, srv, name, steps):
        p = srv.run("-s", "quit", timeout=15)
        steps.append("quit %s: %d" % (name, p.returncode))
        self.assertEqual(p.returncode, 0, p.stderr)
        srv.wait_exit(10)
        time.sleep(1.0)
        srv.start()
        steps.append("%s restarted" % name)
        self.assertTrue(wait_until(lambda: self.servers_up() == {"a", "b"}, timeout=5),
                        "%s not UP again in HAProxy: %r" % (name, self.servers_up()))

    def test_reload_upgrade_stop_restart_under_wrk(self):
        # The sequence: reload A, upgrade B, stop and restart A.
        # Without binary upgrade (-s upgrade) in this build, B is stopped
        # and restarted instead.
        upgrade = self.upgrade_supported()
        wrk = subprocess.Popen(["wrk", "-t1", "-c20", "-d%ds" % DURATION,
                                "http://127.0.0.1:%d/index.html" % self.fport],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
        steps = []
        try:
            time.sleep(2)
            p = self.a.run("-s", "reload", timeout=15)
            steps.append("reload a: %d" % p.returncode)
            self.assertEqual(p.returncode, 0, p.stderr)
            time.sleep(1.5)
            if upgrade:
                old = self.pid_file(self.b)
                p = self.b.run("-s", "upgrade", timeout=30)
                new = self.pid_file(self.b)
                if new not in (0, old):
                    # The harness follows the new master (stop() stops it).
                    self.b.remember(new)
                    self.b.master = new
                    self.b.workers()
                steps.append("upgrade b: %d" % p.returncode)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
                self.assertNotIn(new, (0, old), "the pid file does not name a new master")
                time.sleep(1.5)
                self.quit_and_restart(self.a, "a", steps)
            else:
                sys.stderr.write("\n  [no -s upgrade in this build: B is stopped and "
                                 "restarted instead]")
                self.quit_and_restart(self.b, "b", steps)
            out, _ = wrk.communicate(timeout=DURATION + 20)
        finally:
            if wrk.poll() is None:
                wrk.kill()  # our own child, by its pid
                wrk.wait(5)
        out = out.decode("utf-8", "replace")
        summary = [ln.strip() for ln in out.splitlines()
                   if re.search(r"requests in|Requests/sec|Socket errors|Non-2xx", ln)]
        sys.stderr.write("\n  [wrk -t1 -c20 -d%ds via HAProxy; %s] " % (DURATION, ", ".join(steps))
                         + "\n  ".join(summary) + "\n")
        m = re.search(r"(\d+) requests in", out)
        self.assertTrue(m, "wrk did not run:\n%s" % out)
        requests = int(m.group(1))
        m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
        if m:
            self.assertEqual([int(x) for x in m.groups()], [0, 0, 0, 0],
                             "wrk saw socket errors:\n%s\n%s" % (out, self.haproxy_out()))
        self.assertNotIn("Non-2xx or 3xx responses", out, out)

        # The access logs (flushed every second; B's spans its restart).
        def lines():
            out = []
            for s in (self.a, self.b):
                out += s.read(s.access_log).splitlines()
            return out
        time.sleep(1.2)
        wait_until(lambda: sum("/index.html" in l for l in lines()) >= requests, timeout=3)
        all_lines = lines()
        served = [l for l in all_lines if "GET /index.html " in l]
        checks = [l for l in all_lines if "GET /status " in l]
        self.assertGreaterEqual(len(served), requests, "fewer log lines than wrk's requests")
        bad = [l for l in served if not l.startswith("127.0.0.1 ")]
        self.assertFalse(bad, "not the client's address from the header: %r" % bad[:3])
        self.assertTrue(checks, "no health checks logged")
        self.assertTrue(all(l.startswith("127.0.0.2 ") for l in checks),
                        "LOCAL health checks not logged with the peer's address: %r" % checks[:3])
        for s in (self.a, self.b):
            self.assertNotIn("not in proxy_trusted", s.log_text())
            self.assertNotIn("malformed PROXY", s.log_text())
        self.assertGreater(sum(l.split(" ")[0] == "127.0.0.1" for l in served), 0)


if __name__ == "__main__":
    run_main()
