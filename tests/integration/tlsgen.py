"""Throwaway certificates for the TLS tests, made with the openssl command:
a CA, RSA and ECDSA certificates for localhost, a wildcard, another name,
an expired one; and the few steps every TLS test shares. Not a test."""

import os
import shutil
import socket
import ssl
import subprocess
import time
import unittest

from harness import free_port


def have_openssl():
    return shutil.which("openssl") is not None


def certdir_in(srv):
    """A directory for certificates inside srv's own, so that it goes with
    the server; skips the test without the openssl command."""
    if not have_openssl():
        raise unittest.SkipTest("no openssl command")
    d = os.path.join(srv.dir, "certs")
    os.mkdir(d)
    return d


def listen_tls(srv, *more):
    """srv listens on its plain port, a new TLS port (returned) and more."""
    port = free_port()
    srv.conf["listen"] = (["127.0.0.1:%d" % srv.port, {"address": "127.0.0.1:%d" % port, "tls": True}]
                          + list(more))
    return port


def read_plain(s, tls, inc, want=None, seconds=5):
    """Plaintext from the server through the memory BIO inc of the
    SSLObject tls on socket s, until want(data) (None: the close) or
    seconds pass."""
    data = b""
    deadline = time.monotonic() + seconds
    s.settimeout(0.3)
    while (want is None or not want(data)) and time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        inc.write(chunk)
        try:
            for _ in range(100):
                got = tls.read(65536)
                if not got:
                    break
                data += got
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            pass
    return data


def _run(args, cwd):
    subprocess.run(["openssl"] + args, cwd=cwd, check=True, timeout=30,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_ca(d):
    _run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
          "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
          "-subj", "/CN=drover test CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    return os.path.join(d, "ca.pem")


def make_leaf(d, name, sans, serial, kind="ec", days=30, cn=None):
    """name.pem / name.key signed by the CA of d; sans: "DNS:a,IP:b".
    days < 0 makes a certificate that has already expired. cn: the
    subject's CN, else the first name (a CN holds 64 bytes at most)."""
    newkey = (["-newkey", "rsa:2048"] if kind == "rsa" else
              ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
    cn = cn or sans.split(",")[0].split(":", 1)[1]
    _run(["req", "-new"] + newkey + ["-nodes", "-keyout", name + ".key",
                                     "-out", name + ".csr", "-subj", "/CN=" + cn], d)
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\n" % sans)
    _run(["x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
          "-set_serial", str(serial), "-days", str(days), "-out", name + ".pem",
          "-extfile", name + ".ext"], d)
    return os.path.join(d, name + ".pem"), os.path.join(d, name + ".key")


def make_all(d):
    """Every certificate the tests use, in d: returns a dict of name ->
    (cert, key), plus "ca" -> the CA certificate."""
    out = {"ca": make_ca(d)}
    out["rsa"] = make_leaf(d, "rsa", "DNS:localhost,IP:127.0.0.1", 1001, "rsa")
    out["ec"] = make_leaf(d, "ec", "DNS:localhost,IP:127.0.0.1", 1002, "ec")
    out["wild"] = make_leaf(d, "wild", "DNS:*.example.test", 1003)
    out["other"] = make_leaf(d, "other", "DNS:other.test", 1004)
    out["expired"] = make_leaf(d, "expired", "DNS:expired.test", 1005, days=-1)
    return out


def cert_entry(pair):
    return {"cert": pair[0], "key": pair[1]}
