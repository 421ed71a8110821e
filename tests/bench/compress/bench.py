#!/usr/bin/env python3
"""Compression under wrk: a 64 KiB JavaScript file asked for with
Accept-Encoding: gzip, served by
  drover-cache   compress: on (the variant made once, then from the cache)
  drover-static  gzip_static: on with a .gz sibling made by gzip -9
  nginx          gzip on; gzip_comp_level 6 (compresses every request)
one worker each, pinned to one core, wrk on the other. Prints req/s and
server CPU per request (utime+stime of the process group / requests), and
the compressed sizes of a few real files beside gzip -6.

  python3 tests/bench/compress/bench.py [--seconds 5] [--rounds 3]
Needs wrk, nginx (nginx-light), gzip; DROVER_BIN (default ./drover)."""
import argparse, gzip, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchlib import free_port, group_ticks, start, stop  # noqa: E402
import benchlib  # noqa: E402


def wrk(port, seconds):
    return benchlib.wrk(f"http://127.0.0.1:{port}/app.js", seconds, headers=["Accept-Encoding: gzip"],
                        strict_errors=False)


JQ = "/usr/share/javascript/jquery/jquery.js"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="drover-compress-bench.")
    os.chmod(work, 0o755)
    root = os.path.join(work, "www")
    os.makedirs(root)
    src = open(JQ, "rb").read() if os.path.exists(JQ) else (open(__file__, "rb").read() * 64)
    body = src[:65536]
    open(os.path.join(root, "app.js"), "wb").write(body)
    sroot = os.path.join(work, "static")
    os.makedirs(sroot)
    open(os.path.join(sroot, "app.js"), "wb").write(body)
    subprocess.run(["gzip", "-9", "-k", os.path.join(sroot, "app.js")], check=True)
    binp = os.path.abspath(os.environ.get("DROVER_BIN", "./drover"))
    servers = {}
    for name, r, extra in (("drover-cache", root,
                            "compress: {encodings: [gzip], cache: {path: %s/cc}}\n" % work),
                           ("drover-static", sroot, "gzip_static: on\n")):
        port = free_port()
        conf = os.path.join(work, name + ".yaml")
        open(conf, "w").write(f'listen: ["127.0.0.1:{port}"]\nworkers: 1\nroot: {r}\ndaemon: false\n'
                              f'pid_file: {work}/{name}.pid\nerror_log: {work}/{name}.err\n'
                              f'access_log: off\n{extra}')
        servers[name] = ([binp, "-c", conf], port)
    port = free_port()
    nconf = os.path.join(work, "nginx.conf")
    open(nconf, "w").write(f"""daemon off; worker_processes 1; pid {work}/nginx.pid;
error_log {work}/nginx.err; events {{ worker_connections 1024; }}
http {{ access_log off; types {{ application/javascript js; }}
  gzip on; gzip_comp_level 6; gzip_types application/javascript; gzip_min_length 256;
  server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n""")
    servers["nginx"] = (["nginx", "-c", nconf, "-p", work], port)
    res = {n: [] for n in servers}
    sizes = {}
    for rnd in range(a.rounds):
        for name, (argv, port) in servers.items():
            p = start(name, argv, port, work)
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/app.js",
                                             headers={"Accept-Encoding": "gzip"})
                for _ in range(20):  # the cache variant is made on the first asks
                    with urllib.request.urlopen(req, timeout=5) as r:
                        data = r.read()
                        enc = r.headers.get("Content-Encoding")
                    if enc == "gzip":
                        break
                    time.sleep(0.1)
                assert enc == "gzip" and gzip.decompress(data) == body, (name, enc)
                sizes[name] = len(data)
                t0 = group_ticks(p.pid)
                n = wrk(port, a.seconds)
                t1 = group_ticks(p.pid)
                res[name].append((n / a.seconds, (t1 - t0) / os.sysconf("SC_CLK_TCK") / n * 1e6))
            finally:
                stop(p)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ng = med([c for _, c in res["nginx"]])
    st = med([c for _, c in res["drover-static"]])
    print(f"{'server':<15}{'req/s':>10}{'CPU us/req':>12}{'x nginx':>9}{'x static':>10}{'bytes':>8}")
    for name in servers:
        rps = med([r for r, _ in res[name]])
        cpu = med([c for _, c in res[name]])
        print(f"{name:<15}{rps:>10.0f}{cpu:>12.2f}{cpu / ng:>9.3f}{cpu / st:>10.3f}{sizes[name]:>8}")
    print("64 KiB of", JQ if os.path.exists(JQ) else __file__, f"({len(body)} bytes);",
          f"{a.rounds} rounds of {a.seconds} s, medians")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
