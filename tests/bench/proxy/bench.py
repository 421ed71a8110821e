#!/usr/bin/env python3
"""The reverse proxy under wrk: the same upstream (nginx serving a 1 KiB
file, on core 1 beside wrk) behind
  drover   upstreams: {app: {servers: [UP], keepalive: 16}}, "/": {proxy: app}
  nginx    upstream app { server UP; keepalive 16; } proxy_pass http://app;
           proxy_http_version 1.1; proxy_set_header Connection "";
one worker each, the front pinned to core 0. Prints req/s and the front's
CPU per request (utime+stime of its process group / requests), then a 100 MB
download through each front: MB/s (curl) and the front's peak resident
memory (VmHWM of its processes, summed).

With --compress: a 40 KB JSON answer asked for with Accept-Encoding: gzip,
compressed by the front (drover `compress: on`, gzip at its on-the-fly
level 6; nginx `gzip on; gzip_proxied any; gzip_comp_level 6`), req/s and
CPU per request only.

With --keepalive N: both fronts keep N idle upstream connections instead
of 16 (64: more than wrk's 32 clients, so neither front ever reconnects; the
control for drover's pool, which keeps idle connections above keepalive
for a second where nginx closes them at once).

  python3 tests/bench/proxy/bench.py [--seconds 5] [--rounds 3] [--compress] [--keepalive N]
Needs wrk, nginx (nginx-light), curl; DROVER_BIN (default ./drover)."""
import argparse, os, re, shutil, signal, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import free_port, group_hwm_kib, group_ticks, start, stop  # noqa: E402
import benchlib  # noqa: E402


def wrk(port, seconds, path="/1k.html", headers=()):
    return benchlib.wrk(f"http://127.0.0.1:{port}{path}", seconds, headers=headers)


def json_body(n=40000):
    """Text like an API's answer: records with repeated keys, varied values."""
    import random
    rnd = random.Random(7)
    out, i = [], 0
    while sum(len(x) for x in out) < n:
        out.append('{"id": %d, "name": "user%d", "score": %.3f, "tags": ["%s", "%s"]},\n'
                   % (i, rnd.randrange(10**6), rnd.random() * 100,
                      rnd.choice(["red", "green", "blue", "gold"]), rnd.choice(["a", "bb", "ccc"])))
        i += 1
    return ("[" + "".join(out).rstrip(",\n") + "]\n").encode()


def download(port):
    out = subprocess.run(["taskset", "-c", "1", "curl", "-s", "-o", "/dev/null", "-w",
                          "%{http_code} %{size_download} %{speed_download}",
                          f"http://127.0.0.1:{port}/big.bin"],
                         capture_output=True, text=True, timeout=120).stdout.split()
    if out[0] != "200" or int(out[1]) != 100 << 20:
        sys.exit("download: %r" % out)
    return float(out[2]) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compress", action="store_true")
    ap.add_argument("--keepalive", type=int, default=16)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="drover-proxy-bench.")
    os.chmod(work, 0o755)
    root = os.path.join(work, "www")
    os.makedirs(root)
    open(os.path.join(root, "1k.html"), "wb").write(b"x" * 1023 + b"\n")
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.truncate(100 << 20)
    open(os.path.join(root, "api.json"), "wb").write(json_body())
    ctype = "default_type application/json;" if a.compress else ""
    zd = "compress: on\n" if a.compress else ""
    zn = ("gzip on; gzip_proxied any; gzip_comp_level 6; gzip_types application/json;"
          if a.compress else "")

    up = free_port()
    uconf = os.path.join(work, "upstream.conf")
    open(uconf, "w").write(f"""daemon off; worker_processes 1; pid {work}/up.pid;
error_log {work}/up.err; events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 100000; sendfile on; {ctype}
  server {{ listen 127.0.0.1:{up}; root {root}; }} }}\n""")
    upstream = start("upstream", ["nginx", "-c", uconf, "-p", work], up, work, "1")

    binp = os.path.abspath(os.environ.get("DROVER_BIN", "./drover"))
    servers = {}
    port = free_port()
    conf = os.path.join(work, "drover.yaml")
    open(conf, "w").write(f'listen: ["127.0.0.1:{port}"]\nworkers: 1\nroot: {root}\ndaemon: false\n'
                          f'pid_file: {work}/drover.pid\nerror_log: {work}/drover.err\n'
                          f'access_log: off\n{zd}upstreams:\n  app: {{servers: ["127.0.0.1:{up}"], '
                          f'keepalive: {a.keepalive}}}\nlocations:\n  "/": {{proxy: app}}\n')
    servers["drover"] = ([binp, "-c", conf], port)
    port = free_port()
    nconf = os.path.join(work, "nginx.conf")
    open(nconf, "w").write(f"""daemon off; worker_processes 1; pid {work}/nginx.pid;
error_log {work}/nginx.err; events {{ worker_connections 1024; }}
http {{ access_log off; {zn}
  upstream app {{ server 127.0.0.1:{up}; keepalive {a.keepalive}; }}
  server {{ listen 127.0.0.1:{port};
    location / {{ proxy_pass http://app; proxy_http_version 1.1;
                 proxy_set_header Connection ""; }} }} }}\n""")
    servers["nginx"] = (["nginx", "-c", nconf, "-p", work], port)

    res = {n: [] for n in servers}
    dl = {n: [] for n in servers}
    try:
        for rnd in range(a.rounds):
            for name, (argv, port) in servers.items():
                p = start(name, argv, port, work, "0")
                try:
                    t0 = group_ticks(p.pid)
                    if a.compress:
                        n = wrk(port, a.seconds, "/api.json", ["Accept-Encoding: gzip"])
                    else:
                        n = wrk(port, a.seconds)
                    t1 = group_ticks(p.pid)
                    res[name].append((n / a.seconds, (t1 - t0) / os.sysconf("SC_CLK_TCK") / n * 1e6))
                    before = group_hwm_kib(p.pid)
                    mbs = download(port) if not a.compress else 0.0
                    dl[name].append((mbs, before, group_hwm_kib(p.pid)))
                finally:
                    stop(p)
    finally:
        stop(upstream)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ng = med([c for _, c in res["nginx"]])
    ngr = med([r for r, _ in res["nginx"]])
    ngd = med([d[0] for d in dl["nginx"]]) or 1.0
    print(f"{'front':<8}{'req/s':>9}{'x nginx':>9}{'CPU us/req':>12}{'x nginx':>9}"
          f"{'100MB MB/s':>12}{'x nginx':>9}{'peak KiB before/after':>24}")
    for name in servers:
        rps = med([r for r, _ in res[name]])
        cpu = med([c for _, c in res[name]])
        mbs = med([d[0] for d in dl[name]])
        hw = sorted(dl[name])[len(dl[name]) // 2]
        print(f"{name:<8}{rps:>9.0f}{rps / ngr:>9.3f}{cpu:>12.2f}{cpu / ng:>9.3f}"
              f"{mbs:>12.0f}{mbs / ngd:>9.3f}{'%d / %d' % (hw[1], hw[2]):>24}")
    if a.compress:
        print(f"40 KB of JSON through one upstream, gzip by the front; {a.rounds} rounds of "
              f"{a.seconds} s, medians (no download run)")
    else:
        print(f"1 KiB through one upstream (nginx, keepalive {a.keepalive}); {a.rounds} rounds of "
              f"{a.seconds} s, medians; 100 MB download by curl, one per round")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
