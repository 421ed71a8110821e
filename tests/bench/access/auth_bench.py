#!/usr/bin/env python3
"""A bcrypt (cost 10) protected file with the right credentials against the
same file unprotected, and against nginx protecting it with the same
htpasswd file (nginx runs crypt() for every request). wrk sends the
Authorization header on every request; servers run in turn (A B C A B C)
with one worker each. Quote the ratios, not the figures: the machine is
shared and noisy.

  DROVER_BIN=./drover python3 tests/bench/access/auth_bench.py [--seconds 5 --rounds 3]

Needs wrk, htpasswd (apache2-utils) and, for the nginx column, nginx."""

import argparse
import base64
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import free_port, wait_port  # noqa: E402


def wrk(port, seconds, header):
    out = subprocess.run(["wrk", "-t1", "-c16", "-d%ds" % seconds, "-H", header,
                          "http://127.0.0.1:%d/site/1k.html" % port],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=seconds + 30).stdout.decode()
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit("non-2xx responses: %s" % out)
    return float(m.group(1)) if m else 0.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    drover = os.environ.get("DROVER_BIN", "./drover")
    d = tempfile.mkdtemp(prefix="drover-authbench-")
    os.makedirs(os.path.join(d, "www", "site"))
    with open(os.path.join(d, "www", "site", "1k.html"), "w") as f:
        f.write("x" * 1024)
    pw = os.path.join(d, "htpasswd")
    subprocess.run(["htpasswd", "-bcB", "-C", "10", pw, "user", "secret"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    header = "Authorization: Basic " + base64.b64encode(b"user:secret").decode()
    procs, servers = [], []
    try:
        for name, auth in (("drover unprotected", False), ("drover bcrypt-10", True)):
            port = free_port()
            conf = os.path.join(d, name.replace(" ", "_") + ".yaml")
            with open(conf, "w") as f:
                f.write('listen: ["127.0.0.1:%d"]\nroot: %s/www\nworkers: 1\npid_file: %s.pid\n'
                        "keepalive_requests: 1000000\n" % (port, d, conf))
                if auth:
                    f.write('locations:\n  "/site/": {auth: {realm: bench, htpasswd: %s}}\n' % pw)
            p = subprocess.Popen([drover, "-c", conf, "-f"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            procs.append(p)
            if not wait_port(port, p):
                raise SystemExit("%s did not start" % name)
            servers.append((name, port))
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if nginx:
            port = free_port()
            os.makedirs(os.path.join(d, "ngx"))
            with open(os.path.join(d, "nginx.conf"), "w") as f:
                f.write(("user root root;\n" if os.geteuid() == 0 else "") +
                        "worker_processes 1;\ndaemon off;\npid %s/ngx/pid;\nerror_log %s/ngx/err;\n"
                        "events {}\nhttp {\n access_log off;\n keepalive_requests 1000000;\n"
                        " client_body_temp_path %s/ngx;\n server {\n  listen 127.0.0.1:%d;\n"
                        "  root %s/www;\n  location /site/ { auth_basic bench; auth_basic_user_file %s; }\n"
                        " }\n}\n" % (d, d, d, port, d, pw))
            p = subprocess.Popen([nginx, "-p", d, "-c", os.path.join(d, "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            if wait_port(port, p):
                servers.append(("nginx bcrypt-10", port))
        res = {n: [] for n, _ in servers}
        for _ in range(a.rounds):
            for name, port in servers:
                res[name].append(wrk(port, a.seconds, header))
        base = statistics.median(res["drover unprotected"])
        print("# wrk -t1 -c16 -d%ds, %d rounds, 1 worker each, median req/s" % (a.seconds, a.rounds))
        for name, _ in servers:
            m = statistics.median(res[name])
            print("%-20s %10.0f  %.3fx unprotected   rounds: %s" % (name, m, m / base,
                  " ".join("%.0f" % x for x in res[name])))
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
