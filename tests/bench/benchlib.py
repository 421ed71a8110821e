"""What the scenario benchmarks under tests/bench share: a free port, a
server started in its own process group pinned to a core and stopped by
that group, the group's CPU ticks and peak memory from /proc, and wrk's
request count. Stdlib only."""
import os
import re
import signal
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    """True once port accepts; False when proc exits or timeout passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def group_pids(pgid):
    """(pid, fields of /proc/pid/stat after the name) of the group's processes."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                out.append((int(pid), fields))
        except (OSError, ValueError, IndexError):
            pass
    return out


def group_ticks(pgid):
    """utime+stime+cutime+cstime of the group, in clock ticks."""
    return sum(sum(int(x) for x in f[11:15]) for _, f in group_pids(pgid))


def group_hwm_kib(pgid):
    """The group's peak resident memory (VmHWM summed), KiB."""
    total = 0
    for pid, _ in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/status") as f:
                m = re.search(r"VmHWM:\s+(\d+)", f.read())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def start(name, argv, port, work, core="0"):
    """argv pinned to core in a session of its own, its output in
    work/NAME.out; exits the benchmark when it does not listen on port."""
    out = open(os.path.join(work, name + ".out"), "w")
    p = subprocess.Popen(["taskset", "-c", core] + argv, stdout=out, stderr=subprocess.STDOUT,
                         start_new_session=True)
    if not wait_port(port, p):
        stop(p)
        with open(out.name) as f:
            sys.exit(f"{name} did not start: {f.read()[-1500:]}")
    return p


def stop(p):
    """SIGTERM to the process group, SIGKILL after 10 s."""
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def wrk(url, seconds, headers=(), conns=32, core="1", strict_errors=True):
    """wrk -t1 on core against url: the number of requests it completed;
    exits the benchmark on a non-2xx answer (and socket errors unless
    strict_errors is False)."""
    argv = ["taskset", "-c", core, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s"]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run(argv + [url], capture_output=True, text=True,
                         timeout=seconds + 30).stdout
    m = re.search(r"(\d+) requests in", out)
    if not m or "Non-2xx" in out or (strict_errors and "Socket errors" in out):
        sys.exit("wrk: " + out)
    return int(m.group(1))
