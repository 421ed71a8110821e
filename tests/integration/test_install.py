#!/usr/bin/env python3
"""make install into a DESTDIR: the tree it leaves (binary, config with
absolute paths, init script, systemd unit, logrotate rules, man page, the
default site), make uninstall leaving nothing, and, as root, the installed
init script starting the installed binary, whose workers drop to a
throwaway system user.

The build tree is the directory of $DROVER_BIN; make runs there with
DESTDIR set, so nothing outside a temporary directory is written (but for
the temporary user of the root-only test, removed afterwards)."""

import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import unittest
import uuid

from harness import (BIN, SRCDIR, Server, alive, binary_ok, exe_of, get, run_main,
                     wait_until)
from test_supervision import parse_status

BUILDDIR = os.path.dirname(os.path.abspath(BIN))
MAKE = os.environ.get("MAKE") or "make"
PATH_VARS = ("prefix", "sbindir", "sysconfdir", "datadir", "localstatedir",
             "runstatedir", "mandir", "systemdunitdir", "PACKAGE_VERSION")


def make_env():
    """The environment for a make of our own: no jobserver or flags
    inherited from the make check that runs this test."""
    env = dict(os.environ)
    for k in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "GNUMAKEFLAGS"):
        env.pop(k, None)
    return env


def run_make(*args, timeout=120):
    p = subprocess.run([MAKE, "-C", BUILDDIR] + list(args), env=make_env(),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    p.out = p.stdout.decode("utf-8", "replace")
    return p


def configured_paths():
    """The install paths of this build tree, as make expands them."""
    with tempfile.NamedTemporaryFile("w", suffix=".mk", delete=False) as f:
        f.write("drover-print-paths:\n")
        for v in PATH_VARS:
            f.write("\t@echo '%s=$(%s)'\n" % (v, v))
        mk = f.name
    try:
        p = run_make("-s", "-f", "Makefile", "-f", mk, "drover-print-paths", timeout=60)
    finally:
        os.unlink(mk)
    if p.returncode != 0:
        raise AssertionError("cannot read the paths from the Makefile:\n" + p.out)
    out = {}
    for line in p.out.splitlines():
        k, sep, v = line.partition("=")
        if sep and k in PATH_VARS:
            out[k] = v
    missing = [v for v in PATH_VARS if not out.get(v)]
    if missing:
        raise AssertionError("no value for %s in:\n%s" % (missing, p.out))
    return out


def files_under(top):
    out = []
    for d, _, names in os.walk(top):
        for n in names:
            out.append(os.path.relpath(os.path.join(d, n), top))
    return sorted(out)


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def yaml_value(text, key):
    m = re.search(r"(?m)^%s:[ \t]*(.*?)[ \t]*$" % re.escape(key), text)
    return m.group(1) if m else None


class InstallBase(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if not binary_ok():
            raise unittest.SkipTest("no drover binary at %s" % BIN)
        if not os.path.isfile(os.path.join(BUILDDIR, "Makefile")):
            raise unittest.SkipTest("no Makefile beside %s" % BIN)
        if shutil.which(MAKE) is None:
            raise unittest.SkipTest("no make")
        cls.paths = configured_paths()

    def setUp(self):
        self.destdir = tempfile.mkdtemp(prefix="drover-install-")
        self.addCleanup(shutil.rmtree, self.destdir, True)
        # Files of the test's own, kept out of the installed tree.
        self.scratch = tempfile.mkdtemp(prefix="drover-install-scratch-")
        self.addCleanup(shutil.rmtree, self.scratch, True)

    def dest(self, path):
        return self.destdir + path

    def install(self):
        p = run_make("install", "DESTDIR=" + self.destdir)
        self.assertEqual(p.returncode, 0, "make install failed:\n" + p.out[-4000:])
        return p

    def uninstall(self):
        p = run_make("uninstall", "DESTDIR=" + self.destdir)
        self.assertEqual(p.returncode, 0, "make uninstall failed:\n" + p.out[-4000:])
        return p


class InstallTreeTest(InstallBase):

    def test_tree(self):
        P = self.paths
        self.install()
        conf_path = P["sysconfdir"] + "/drover/drover.yaml"
        logdir = P["localstatedir"] + "/log/drover"
        wwwdir = P["datadir"] + "/drover/www"
        pid_file = P["runstatedir"] + "/drover.pid"
        expected = {
            P["sbindir"] + "/drover": 0o755,
            conf_path: 0o644,
            conf_path + ".default": 0o644,
            P["sysconfdir"] + "/init.d/drover": 0o755,
            P["sysconfdir"] + "/default/drover": 0o644,
            P["sysconfdir"] + "/logrotate.d/drover": 0o644,
            P["systemdunitdir"] + "/drover.service": 0o644,
            P["systemdunitdir"] + "/drover.socket": 0o644,
            P["mandir"] + "/man8/drover.8": 0o644,
        }
        for path, mode in expected.items():
            st = os.stat(self.dest(path))
            self.assertTrue(stat.S_ISREG(st.st_mode), path)
            self.assertEqual(stat.S_IMODE(st.st_mode) & 0o777, mode,
                             "%s: mode %o" % (path, stat.S_IMODE(st.st_mode)))
        for d in (logdir, P["runstatedir"]):
            self.assertTrue(os.path.isdir(self.dest(d)), "no directory %s" % d)
        for path in expected:
            if path != P["sbindir"] + "/drover":
                self.assertNotRegex(read(self.dest(path)), r"@[A-Za-z_]+@",
                                    "a placeholder is left in %s" % path)

        # The binary: its default config is the installed one.
        sbin = self.dest(P["sbindir"] + "/drover")
        h = subprocess.run([sbin, "-h"], stdout=subprocess.PIPE, timeout=10)
        self.assertIn((P["sysconfdir"] + "/drover/drover.yaml").encode(), h.stdout)
        v = subprocess.run([sbin, "-v"], stdout=subprocess.PIPE, timeout=10)
        self.assertIn(P["PACKAGE_VERSION"].encode(), v.stdout)

        # The config: absolute installed paths, and valid.
        conf = read(self.dest(conf_path))
        self.assertEqual(conf, read(self.dest(conf_path + ".default")))
        self.assertEqual(yaml_value(conf, "root"), wwwdir)
        self.assertEqual(yaml_value(conf, "pid_file"), pid_file)
        self.assertEqual(yaml_value(conf, "error_log"), logdir + "/error.log")
        self.assertEqual(yaml_value(conf, "access_log"), logdir + "/access.log")
        self.assertEqual(yaml_value(conf, "daemon"), "true")
        self.assertEqual(yaml_value(conf, "listen"), '["127.0.0.1:8080"]')
        t = subprocess.run([sbin, "-t", "-c", self.dest(conf_path)], stderr=subprocess.PIPE,
                           timeout=10)
        self.assertEqual(t.returncode, 0, t.stderr)

        # The default site, byte for byte.
        src_www = os.path.join(SRCDIR, "www")
        self.assertEqual(files_under(self.dest(wwwdir)), files_under(src_www))
        for f in files_under(src_www):
            with open(os.path.join(src_www, f), "rb") as a, \
                    open(os.path.join(self.dest(wwwdir), f), "rb") as b:
                self.assertEqual(a.read(), b.read(), f)

        # The init script, with the installed paths.
        init = read(self.dest(P["sysconfdir"] + "/init.d/drover"))
        self.assertIn('DAEMON="%s/drover"' % P["sbindir"], init)
        self.assertIn('CONFIG="%s"' % conf_path, init)
        self.assertIn(P["sysconfdir"] + "/default/drover", init)
        self.assertIn("### BEGIN INIT INFO", init)
        p = subprocess.run(["/bin/sh", "-n", self.dest(P["sysconfdir"] + "/init.d/drover")],
                           stderr=subprocess.PIPE, timeout=10)
        self.assertEqual(p.returncode, 0, p.stderr)

        # The logrotate rules: USR1 through drover -s reopen, no copytruncate.
        rot = read(self.dest(P["sysconfdir"] + "/logrotate.d/drover"))
        self.assertIn(logdir + "/*.log {", rot)
        self.assertIn("%s/drover -s reopen -c %s" % (P["sbindir"], conf_path), rot)
        directives = [ln.split()[0] for ln in rot.splitlines()
                      if ln.strip() and not ln.strip().startswith("#")]
        self.assertNotIn("copytruncate", directives)
        logrotate = shutil.which("logrotate") or (
            "/usr/sbin/logrotate" if os.access("/usr/sbin/logrotate", os.X_OK) else None)
        if logrotate:
            # -d parses the rules and runs nothing.
            copy = os.path.join(self.scratch, "logrotate-check.conf")
            with open(copy, "w") as f:
                f.write(rot.replace(logdir, self.dest(logdir)))
            os.chmod(copy, 0o644)
            p = subprocess.run([logrotate, "-d", "-s", os.path.join(self.scratch, "state"), copy],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
            out = p.stdout.decode("utf-8", "replace")
            self.assertEqual(p.returncode, 0, out)
            self.assertNotIn("error:", out)
            self.assertIn("rotating pattern: %s/*.log" % self.dest(logdir), out)

        # The systemd unit.
        unit_path = self.dest(P["systemdunitdir"] + "/drover.service")
        unit = read(unit_path)
        exe = P["sbindir"] + "/drover"
        self.assertRegex(unit, r"(?m)^ExecStart=%s -f -c %s$" % (re.escape(exe), re.escape(conf_path)))
        self.assertRegex(unit, r"(?m)^ExecReload=%s -t -c %s$" % (re.escape(exe), re.escape(conf_path)))
        # -s reload waits for the outcome: a refused reload fails systemctl reload.
        self.assertRegex(unit, r"(?m)^ExecReload=%s -c %s -s reload$" % (re.escape(exe), re.escape(conf_path)))
        self.assertNotIn("kill -HUP", unit)
        for line in ("Type=notify", "KillSignal=SIGQUIT", "KillMode=mixed", "Restart=on-failure",
                     "NoNewPrivileges=yes", "ProtectSystem=strict", "WantedBy=multi-user.target"):
            self.assertRegex(unit, r"(?m)^%s$" % re.escape(line))
        caps = re.search(r"(?m)^CapabilityBoundingSet=(.*)$", unit).group(1).split()
        for cap in ("CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL"):
            self.assertIn(cap, caps)
        rw = re.search(r"(?m)^ReadWritePaths=(.*)$", unit).group(1)
        self.assertIn(logdir, rw)
        self.assertIn(P["runstatedir"], rw)
        self.verify_unit(unit, exe)

        # The man page.
        man_path = self.dest(P["mandir"] + "/man8/drover.8")
        man = read(man_path)
        self.assertRegex(man, r'(?m)^\.TH DROVER 8 ')
        for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "FILES",
                        "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
            self.assertRegex(man, r"(?m)^\.SH \"?%s\"?$" % section)
        for opt in ("c", "t", "T", "s", "f", "v", "h"):
            self.assertRegex(man, r"(?m)^\.B[IR]? \\-%s\b" % opt)
        for key in self.config_keys():
            self.assertRegex(man, r"(?m)^\.BR? .*\b%s\b" % re.escape(key),
                             "config key %s is not in drover(8)" % key)
        self.assertIn(conf_path, man)
        groff = shutil.which("groff")
        if groff:
            p = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z", man_path],
                               stderr=subprocess.PIPE, timeout=20)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr.decode("utf-8", "replace").strip(), "",
                             "groff warnings")

        # make uninstall leaves no file behind.
        self.uninstall()
        self.assertEqual(files_under(self.destdir), [])

    def config_keys(self):
        """Every top-level key of the parser's table (common/conf/conf_keys.c) and
        every key of the config table in README."""
        keys = set(re.findall(r'\{ "([a-z_]+)", CONF_KIND_[A-Z]+, TOP\b',
                              read(os.path.join(SRCDIR, "common", "conf", "conf_keys.c"))))
        self.assertIn("server_tokens", keys)
        for line in read(os.path.join(SRCDIR, "README")).splitlines():
            m = re.match(r"^\| `([a-z_]+)`(?:, `([a-z_]+)`)? \| ", line)
            if m:
                keys.update(k for k in m.groups() if k)
        for k in ("listen", "user", "group", "shutdown_timeout", "max_body_size"):
            self.assertIn(k, keys)
        return sorted(keys)

    def verify_unit(self, unit, exe):
        sa = shutil.which("systemd-analyze")
        if not sa:
            return
        # The unit as installed, with its paths moved into DESTDIR, so the
        # executables it names exist; man:drover(8) is looked up in DESTDIR.
        d = self.scratch
        moved = unit.replace(exe, self.dest(exe))
        with open(os.path.join(d, "drover.service"), "w") as f:
            f.write(moved)
        env = dict(os.environ)
        env["MANPATH"] = self.dest(self.paths["mandir"])
        env["SYSTEMD_LOG_LEVEL"] = "warning"
        p = subprocess.run([sa, "verify", os.path.join(d, "drover.service")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                           cwd=d)
        out = p.stdout.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, "systemd-analyze verify:\n" + out)
        self.assertNotIn("drover.service", out, "systemd-analyze verify:\n" + out)

    def test_config_kept_on_reinstall_and_uninstall(self):
        P = self.paths
        conf_path = self.dest(P["sysconfdir"] + "/drover/drover.yaml")
        self.install()
        with open(conf_path, "a") as f:
            f.write("workers: 2\n")
        edited = read(conf_path)
        p = self.install()
        self.assertIn("keeping", p.out)
        self.assertEqual(read(conf_path), edited, "make install overwrote an edited config")
        self.assertNotEqual(read(conf_path + ".default"), edited)
        self.uninstall()
        self.assertEqual(files_under(self.destdir),
                         [os.path.relpath(conf_path, self.destdir)],
                         "uninstall should remove all but the edited config")


class InstalledServiceAsRootTest(InstallBase):
    """The installed init script starts the installed binary as root; the
    master keeps root (it binds and supervises), the workers run as a
    throwaway system user."""

    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("not root")
        for tool in ("useradd", "userdel"):
            if not (shutil.which(tool) or os.access("/usr/sbin/" + tool, os.X_OK)):
                self.skipTest("no %s" % tool)
        super().setUp()

    def tool(self, name):
        return shutil.which(name) or "/usr/sbin/" + name

    def add_user(self):
        name = "drvt" + uuid.uuid4().hex[:8]
        p = subprocess.run([self.tool("useradd"), "--system", "--user-group",
                            "--no-create-home", "--home-dir", "/nonexistent",
                            "--shell", "/usr/sbin/nologin", name],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
        if p.returncode != 0:
            self.skipTest("useradd failed: %s" % p.stdout.decode("utf-8", "replace"))
        self.addCleanup(self.del_user, name)
        return pwd.getpwnam(name)

    def del_user(self, name):
        subprocess.run([self.tool("userdel"), name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30)
        # userdel removes the user's own group only with USERGROUPS_ENAB.
        if subprocess.run(["getent", "group", name], stdout=subprocess.DEVNULL,
                          timeout=10).returncode == 0:
            subprocess.run([self.tool("groupdel"), name], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)

    def test_installed_init_script_drops_privileges(self):
        P = self.paths
        self.install()
        user = self.add_user()
        sbin = self.dest(P["sbindir"] + "/drover")
        script = self.dest(P["sysconfdir"] + "/init.d/drover")
        srv = Server(workers=2, daemon=True, user=user.pw_name, group=user.pw_name)
        self.addCleanup(srv.cleanup)
        os.chmod(srv.dir, 0o755)

        env = make_env()
        env.update(DAEMON=sbin, CONFIG=srv.conf_path, PIDFILE=srv.pid_file,
                   DROVER_DEFAULTS=os.path.join(srv.dir, "no-defaults"))

        def run(action):
            p = subprocess.run(["/bin/sh", script, action], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            p.out = p.stdout.decode("utf-8", "replace")
            return p

        p = run("start")
        self.assertEqual(p.returncode, 0, "start:\n" + p.out + srv.diag())

        def master():
            try:
                with open(srv.pid_file) as f:
                    pid = int(f.read().strip())
            except (OSError, ValueError):
                return None
            return pid if alive(pid) else None
        pid = wait_until(master, timeout=5)
        self.assertTrue(pid, "no master%s" % srv.diag())
        srv.master = pid
        srv.remember(pid)
        # A worker is forked as root and drops its privileges before it
        # tells the master it is ready: look at its ids only once the master
        # says every worker is ready (a worker caught between fork() and
        # setuid() still shows uid 0, which is not a failure).
        def ready():
            w = srv.workers()
            p = srv.run("-s", "status")
            rows = parse_status(p.stdout.decode("utf-8", "replace"))["workers"]
            if len(w) != 2 or sorted(r["pid"] for r in rows) != sorted(w):
                return None
            return w if all(r["state"] == "ready" for r in rows) else None
        self.assertTrue(wait_until(ready, timeout=10, interval=0.1),
                        "workers not ready%s" % srv.diag())

        # The installed binary, master as root, workers as the user.
        self.assertEqual(os.path.realpath(exe_of(pid)), os.path.realpath(sbin))
        self.assertEqual(self.ids(pid, "Uid"), [0, 0, 0, 0])
        for w in srv.workers():
            self.assertEqual(self.ids(w, "Uid"), [user.pw_uid] * 4, "worker %d uid" % w)
            self.assertEqual(self.ids(w, "Gid"), [user.pw_gid] * 4, "worker %d gid" % w)
            self.assertEqual(self.ids(w, "Groups"), [user.pw_gid], "worker %d groups" % w)
        r = wait_until(lambda: self.try_get(srv.port), timeout=5, interval=0.1)
        self.assertTrue(r, "not serving%s" % srv.diag())
        self.assertEqual(r.status, 200)
        # The access log was created for the workers' user.
        self.assertTrue(wait_until(lambda: os.path.exists(srv.access_log), timeout=5))
        self.assertEqual(os.stat(srv.access_log).st_uid, user.pw_uid)

        p = run("status")
        self.assertEqual(p.returncode, 0, p.out)
        workers = srv.workers()
        p = run("stop")
        self.assertEqual(p.returncode, 0, "stop:\n" + p.out)
        self.assertFalse(alive(pid))
        self.assertTrue(wait_until(lambda: not any(alive(w) for w in workers), timeout=5))
        p = run("status")
        self.assertEqual(p.returncode, 3, p.out)

    @staticmethod
    def ids(pid, field):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return [int(x) for x in line.split()[1:]]
        return None

    @staticmethod
    def try_get(port):
        try:
            return get(port, "/", timeout=2)
        except (OSError, ValueError, EOFError):
            return None


class DocsTest(unittest.TestCase):
    """The documents in the source tree, read as shipped: they cannot drift from
    the parser's key table or point outside the repository."""

    def test_every_key_of_every_scope_in_man_page(self):
        table = read(os.path.join(SRCDIR, "common", "conf", "conf_keys.c"))
        keys = set(re.findall(r'\{ "([a-z_]+)", CONF_KIND_[A-Z]+, ', table))
        # Nested keys (listen's address, tls's cert, a location's return) count too.
        for k in ("listen", "address", "cert", "try_files", "limit_req"):
            self.assertIn(k, keys)
        man = read(os.path.join(SRCDIR, "etc", "drover.8"))
        for key in sorted(keys):
            self.assertRegex(man, r"\b%s\b" % re.escape(key),
                             "config key %s is not in etc/drover.8" % key)

    def test_shipped_texts_current(self):
        man = read(os.path.join(SRCDIR, "etc", "drover.8"))
        for stale in ("static-file server", "no\nscripting"):
            self.assertNotIn(stale, man)
        for field in ("scheme", "tls", "duration_us"):
            self.assertRegex(man, r"json[\s\S]*\b%s\b" % field)
        self.assertNotIn("static-file", read(os.path.join(SRCDIR, "etc", "drover.yaml")).splitlines()[0])
        self.assertNotIn("static-file", read(os.path.join(SRCDIR, "etc", "drover.service")))
        for name in ("LICENSE", "NEWS"):
            self.assertTrue(os.path.isfile(os.path.join(SRCDIR, name)), name)
        self.assertIn("BSD 2-Clause", read(os.path.join(SRCDIR, "LICENSE")))
        version = re.search(r"AC_INIT\(\[drover\], \[([^]]+)\]",
                            read(os.path.join(SRCDIR, "configure.ac"))).group(1)
        self.assertRegex(read(os.path.join(SRCDIR, "NEWS")), r"(?m)^\* drover %s\b" % re.escape(version))

    def test_man_page_reads_from_the_tree(self):
        """man ./etc/drover.8 shows real paths and the version, no @placeholders@."""
        man = read(os.path.join(SRCDIR, "etc", "drover.8"))
        self.assertNotRegex(man, r"@[A-Za-z_]+@")
        version = re.search(r"AC_INIT\(\[drover\], \[([^]]+)\]",
                            read(os.path.join(SRCDIR, "configure.ac"))).group(1)
        self.assertRegex(man, r'(?m)^\.TH DROVER 8 "[^"]*" "drover %s"' % re.escape(version))
        self.assertIn("/usr/local/etc/drover/drover.yaml", man)


if __name__ == "__main__":
    run_main()
