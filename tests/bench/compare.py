#!/usr/bin/env python3
# Vendored from the team's shared/bench/compare.py so a user can reproduce the
# comparison in BENCHMARKS without it; keep the two in step.
"""Side-by-side static-file benchmark: drover against nginx (and other peers) with wrk.

Every server serves the same generated document root on loopback with the same
number of worker processes; wrk drives each in turn (A B A B ...) so machine
drift hits all of them alike. The figures to quote are ratios to nginx,
not absolute requests/s: these machines are shared and noisy. On two cores wrk
itself is often the bottleneck, so the server's CPU time per request
("cpu us/req", master + workers, from /proc) is the efficiency figure that
still separates servers when requests/s does not.

  python3 ../shared/bench/compare.py                      # defaults
  python3 ../shared/bench/compare.py --servers drover,nginx --scenarios small-ka
  python3 ../shared/bench/compare.py --json out.json
  python3 ../shared/bench/compare.py --tls --servers drover,nginx,h2o   # the same over HTTPS
  DROVER_ALT_BIN=/path/to/old/drover python3 ../shared/bench/compare.py --servers drover,drover-alt,nginx
                                       # before/after in one run: compare drover with drover-alt

--tls: every server gets the same ECDSA P-256 certificate (made here with the openssl
command), TLS 1.2/1.3, session resumption on; wrk connects over https. The canned
`limit` has no TLS and is skipped. lighttpd needs the Debian package lighttpd-mod-openssl.

Needs: wrk, nginx (Debian packages "wrk" and "nginx-light" or "nginx");
optional peers: lighttpd, h2o, apache2 (prefork MPM).
drover is started as: $DROVER_BIN -c CONFIG (default ./drover), with a YAML
config that uses the keys listen, workers, root, index, daemon, pid_file,
error_log, access_log.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SCENARIOS = {
    # name: (path, extra wrk headers, connections)
    "small-ka": ("/1k.html", [], 64),
    "small-close": ("/1k.html", ["Connection: close"], 32),
    "medium-ka": ("/64k.bin", [], 64),
    "large-ka": ("/1m.bin", [], 16),
    "notfound-ka": ("/missing.html", [], 64),
    "many-conns": ("/1k.html", [], 1000),
}
DEFAULT_SCENARIOS = "small-ka,small-close,medium-ka,large-ka"


def make_root(d):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "1k.html"), "w") as f:
        body = "<!doctype html><title>bench</title>\n"
        f.write(body + "x" * (1024 - len(body) - 1) + "\n")
    with open(os.path.join(d, "index.html"), "w") as f:
        f.write("<!doctype html><title>index</title><p>hello</p>\n")
    for name, size in (("64k.bin", 64 * 1024), ("1m.bin", 1024 * 1024)):
        with open(os.path.join(d, name), "wb") as f:
            f.write(os.urandom(size))


def make_cert(work):
    """A self-signed ECDSA P-256 certificate for 127.0.0.1/localhost, readable by every server."""
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    os.chmod(key, 0o644)
    return cert, key


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    name = "?"

    tls_capable = True

    def __init__(self, work, root, workers, log, tls=None):
        self.work = os.path.join(work, self.name)
        os.makedirs(self.work, exist_ok=True)
        os.chmod(self.work, 0o777)
        self.root, self.workers, self.log = root, workers, log
        self.tls = tls  # (cert, key) paths, or None for plain HTTP
        self.port = free_port()
        self.proc = None

    def available(self):
        return shutil.which(self.argv()[0]) is not None or os.path.exists(self.argv()[0])

    def start(self, pin):
        self.write_config()
        argv = self.argv()
        if pin is not None:
            argv = ["taskset", "-c", pin] + argv
        self.proc = subprocess.Popen(argv, stdout=open(os.path.join(self.work, "stdout"), "w"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_port(self.port, self.proc):
            self.stop()
            out = open(os.path.join(self.work, "stdout")).read()[-2000:]
            raise RuntimeError(f"{self.name} did not start listening on {self.port}:\n{out}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def group_pids(self):
        pids = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) == self.proc.pid:  # same process group
                    pids.append((pid, fields))
            except (OSError, IndexError, ValueError):
                continue
        return pids

    def cpu_ticks(self):
        """utime+stime (+ reaped children's) of the server's process group, in clock ticks."""
        return sum(int(f[11]) + int(f[12]) + int(f[13]) + int(f[14]) for _, f in self.group_pids())

    def rss_kib(self):
        """Summed RSS of the server's process group (master + workers)."""
        total = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[2]) != self.proc.pid:  # pgrp
                    continue
                with open(f"/proc/{pid}/status") as f:
                    m = re.search(r"VmRSS:\s+(\d+)", f.read())
                total += int(m.group(1)) if m else 0
            except (OSError, IndexError, ValueError):
                continue
        return total


class Drover(Server):
    name = "drover"

    def argv(self):
        return [os.environ.get("DROVER_BIN", "./drover"), "-c", os.path.join(self.work, "drover.yaml")]

    def write_config(self):
        access = os.path.join(self.work, "access.log") if self.log else "off"
        with open(os.path.join(self.work, "drover.yaml"), "w") as f:
            if self.tls:
                listen = f'  - {{address: "127.0.0.1:{self.port}", tls: true}}'
                tls = f'tls:\n  certificates:\n    - {{cert: "{self.tls[0]}", key: "{self.tls[1]}"}}\n'
            else:
                listen, tls = f'  - "127.0.0.1:{self.port}"', ""
            f.write(f"""listen:
{listen}
workers: {self.workers}
root: "{self.root}"
index: [index.html]
daemon: false
pid_file: "{self.work}/drover.pid"
error_log: "{self.work}/error.log"
access_log: "{access}"
{tls}""")


class DroverAlt(Drover):
    """A second drover in the same run, for before/after ratios that machine drift cannot skew:
    DROVER_ALT_BIN (default: DROVER_BIN) and DROVER_ALT_YAML (a file appended to its config)."""
    name = "drover-alt"

    def argv(self):
        return [os.environ.get("DROVER_ALT_BIN", os.environ.get("DROVER_BIN", "./drover")), "-c",
                os.path.join(self.work, "drover.yaml")]

    def write_config(self):
        super().write_config()
        extra = os.environ.get("DROVER_ALT_YAML")
        if extra:
            with open(os.path.join(self.work, "drover.yaml"), "a") as f, open(extra) as e:
                f.write("\n" + e.read())


class Nginx(Server):
    name = "nginx"

    def argv(self):
        return ["nginx", "-p", self.work, "-c", os.path.join(self.work, "nginx.conf")]

    def write_config(self):
        access = f"access_log {self.work}/access.log combined buffer=64k;" if self.log else "access_log off;"
        with open(os.path.join(self.work, "nginx.conf"), "w") as f:
            f.write(f"""worker_processes {self.workers};
daemon off;
pid {self.work}/nginx.pid;
error_log {self.work}/error.log;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  {access}
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path {self.work}/body;
  proxy_temp_path {self.work}/proxy;
  fastcgi_temp_path {self.work}/fastcgi;
  uwsgi_temp_path {self.work}/uwsgi;
  scgi_temp_path {self.work}/scgi;
  server {{
    listen 127.0.0.1:{self.port}{" ssl" if self.tls else ""};
    {f"ssl_certificate {self.tls[0]}; ssl_certificate_key {self.tls[1]}; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m; ssl_session_tickets on;" if self.tls else ""}
    root {self.root};
    index index.html;
  }}
}}
""")


class Lighttpd(Server):
    name = "lighttpd"

    def argv(self):
        return ["lighttpd", "-D", "-f", os.path.join(self.work, "lighttpd.conf")]

    def write_config(self):
        access = f'server.modules += ("mod_accesslog")\naccesslog.filename = "{self.work}/access.log"' if self.log else ""
        with open(os.path.join(self.work, "lighttpd.conf"), "w") as f:
            f.write(f"""server.document-root = "{self.root}"
server.bind = "127.0.0.1"
server.port = {self.port}
server.max-worker = {self.workers if self.workers > 1 else 0}
server.max-keep-alive-requests = 100000
server.max-connections = 4096
server.errorlog = "{self.work}/error.log"
server.pid-file = "{self.work}/lighttpd.pid"
index-file.names = ("index.html")
mimetype.assign = (".html" => "text/html", ".bin" => "application/octet-stream")
{access}
{self.tls_conf()}""")

    def tls_conf(self):
        if not self.tls:
            return ""
        return (f'server.modules += ("mod_openssl")\nssl.engine = "enable"\n'
                f'ssl.pemfile = "{self.tls[0]}"\nssl.privkey = "{self.tls[1]}"\n')


class H2o(Server):
    name = "h2o"

    def argv(self):
        return ["h2o", "-c", os.path.join(self.work, "h2o.conf")]

    def write_config(self):
        access = f"access-log: {self.work}/access.log" if self.log else ""
        with open(os.path.join(self.work, "h2o.conf"), "w") as f:
            f.write(f"""listen:
  host: 127.0.0.1
  port: {self.port}
{f"  ssl:{chr(10)}    certificate-file: {self.tls[0]}{chr(10)}    key-file: {self.tls[1]}" if self.tls else ""}
num-threads: {self.workers}
pid-file: {self.work}/h2o.pid
error-log: {self.work}/error.log
{access}
hosts:
  default:
    paths:
      /:
        file.dir: {self.root}
""")


class ApachePrefork(Server):
    name = "apache-prefork"
    tls_capable = False

    def argv(self):
        return ["apache2", "-DFOREGROUND", "-f", os.path.join(self.work, "httpd.conf")]

    def write_config(self):
        m = "/usr/lib/apache2/modules"
        access = f'LoadModule log_config_module {m}/mod_log_config.so\nCustomLog {self.work}/access.log combined' if self.log else ""
        with open(os.path.join(self.work, "httpd.conf"), "w") as f:
            f.write(f"""ServerRoot {self.work}
LoadModule mpm_prefork_module {m}/mod_mpm_prefork.so
LoadModule authz_core_module {m}/mod_authz_core.so
LoadModule mime_module {m}/mod_mime.so
LoadModule dir_module {m}/mod_dir.so
{access}
ServerName localhost
Listen 127.0.0.1:{self.port}
PidFile {self.work}/httpd.pid
ErrorLog {self.work}/error.log
Mutex file:{self.work}
DocumentRoot {self.root}
TypesConfig /etc/mime.types
DirectoryIndex index.html
StartServers 64
MinSpareServers 32
MaxSpareServers 128
ServerLimit 1024
MaxRequestWorkers 1024
MaxKeepAliveRequests 0
KeepAlive On
<Directory {self.root}>
  Require all granted
</Directory>
""")


class Limit(Server):
    """Canned-response floor (limit.c): CPU per request no real server can beat."""
    name = "limit"
    tls_capable = False

    def argv(self):
        return [os.path.join(self.work, "limit"), str(self.port)]

    def available(self):
        return shutil.which("cc") is not None

    def write_config(self):
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "limit.c")
        subprocess.run(["cc", "-O2", "-o", self.argv()[0], src], check=True)


PEERS = {c.name: c for c in (Drover, DroverAlt, Nginx, Lighttpd, H2o, ApachePrefork, Limit)}


def run_wrk(server, path, headers, conns, seconds, threads, pin):
    port = server.port
    scheme = "https" if server.tls else "http"
    t0 = server.cpu_ticks()
    argv = ["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s", "--latency"]
    for h in headers:
        argv += ["-H", h]
    argv.append(f"{scheme}://127.0.0.1:{port}{path}")
    if pin is not None:
        argv = ["taskset", "-c", pin] + argv
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout
    r = {"rps": 0.0, "p50_ms": None, "p99_ms": None, "errors": 0, "non2xx": 0, "mbps": 0.0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    if m:
        scale = {"B": 1 / 2**20, "KB": 1 / 1024, "MB": 1, "GB": 1024}.get(m.group(2), 0)
        r["mbps"] = float(m.group(1)) * scale

    def ms(v, unit):
        return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    for q, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(rf"^\s+{q}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m:
            r[key] = ms(*m.groups())
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["non2xx"] = int(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    r["requests"] = int(m.group(1)) if m else 0
    ticks = server.cpu_ticks() - t0
    hz = os.sysconf("SC_CLK_TCK")
    r["cpu_us_per_req"] = ticks * 1e6 / hz / r["requests"] if r["requests"] else None
    r["raw"] = out
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="drover,nginx", help="comma list of: " + ",".join(PEERS))
    ap.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help="comma list of: " + ",".join(SCENARIOS))
    ap.add_argument("--workers", type=int, default=1, help="worker processes (threads for h2o)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per scenario")
    ap.add_argument("--seconds", type=int, default=5, help="wrk duration per run")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads")
    ap.add_argument("--log", action="store_true", help="access logs on for every server")
    ap.add_argument("--pin-server", default="0", help="CPU list for servers ('' for none)")
    ap.add_argument("--pin-client", default="1", help="CPU list for wrk ('' for none)")
    ap.add_argument("--tls", action="store_true", help="every server over HTTPS with one ECDSA certificate")
    ap.add_argument("--json", help="write all results here")
    a = ap.parse_args()
    pin_s = a.pin_server or None
    pin_c = a.pin_client or None
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package: wrk)")

    work = tempfile.mkdtemp(prefix="drover-bench-")
    os.chmod(work, 0o755)  # servers started as root may drop to an unprivileged user
    root = os.path.join(work, "root")
    make_root(root)
    tls = make_cert(work) if a.tls else None
    servers = []
    for name in a.servers.split(","):
        if name not in PEERS:
            sys.exit(f"unknown server {name}")
        s = PEERS[name](work, root, a.workers, a.log, tls)
        if tls and not s.tls_capable:
            print(f"# skip {name}: no TLS", file=sys.stderr)
            continue
        if not s.available():
            print(f"# skip {name}: not installed", file=sys.stderr)
            continue
        servers.append(s)
    results = {}
    try:
        for s in servers:
            s.start(pin_s)
        # warm-up: one short run each so caches and worker pools are primed
        for s in servers:
            run_wrk(s, "/1k.html", [], 8, 1, 1, pin_c)
        for scen in a.scenarios.split(","):
            path, headers, conns = SCENARIOS[scen]
            for _ in range(a.rounds):
                for s in servers:
                    r = run_wrk(s, path, headers, conns, a.seconds, a.threads, pin_c)
                    results.setdefault(scen, {}).setdefault(s.name, []).append(r)
        rss = {s.name: s.rss_kib() for s in servers}
    finally:
        for s in servers:
            s.stop()

    base = "nginx" if any(s.name == "nginx" for s in servers) else None
    print(f"# workers={a.workers} rounds={a.rounds} seconds={a.seconds} log={'on' if a.log else 'off'} "
          f"tls={'on' if a.tls else 'off'} "
          f"pin server={pin_s} client={pin_c}")
    print(f"{'scenario':<13}{'server':<16}{'req/s(med)':>12}{'MB/s':>9}{'p99 ms':>9}{'errors':>8}{'non2xx':>8}"
          f"{'cpu us/req':>11}{'rps/nginx':>10}{'cpu/nginx':>10}")
    summary = {}
    for scen, by in results.items():
        med = {n: statistics.median(r["rps"] for r in rs) for n, rs in by.items()}
        cpu = {n: statistics.median(r["cpu_us_per_req"] or 0 for r in rs) for n, rs in by.items()}
        for n, rs in by.items():
            p99 = statistics.median(r["p99_ms"] or 0 for r in rs)
            mb = statistics.median(r["mbps"] for r in rs)
            err = sum(r["errors"] for r in rs)
            bad = sum(r["non2xx"] for r in rs)
            ratio = med[n] / med[base] if base and med.get(base) else float("nan")
            cratio = cpu[n] / cpu[base] if base and cpu.get(base) else float("nan")
            summary.setdefault(scen, {})[n] = {"rps": med[n], "mbps": mb, "p99_ms": p99, "errors": err,
                                                "non2xx": bad, "cpu_us_per_req": cpu[n],
                                                "ratio_vs_nginx": ratio, "cpu_ratio_vs_nginx": cratio}
            print(f"{scen:<13}{n:<16}{med[n]:>12.0f}{mb:>9.1f}{p99:>9.2f}{err:>8}{bad:>8}"
                  f"{cpu[n]:>11.2f}{ratio:>10.2f}{cratio:>10.2f}")
    print("# rss KiB after run (master+workers): " + ", ".join(f"{n}={v}" for n, v in rss.items()))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"summary": summary, "rss_kib": rss, "args": vars(a),
                       "runs": {sc: {n: [{k: v for k, v in r.items() if k != "raw"} for r in rs]
                                     for n, rs in by.items()} for sc, by in results.items()}}, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
