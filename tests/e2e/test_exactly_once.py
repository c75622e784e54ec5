"""Exactly once across processes: concurrent cycles (CLI and daemon) warn,
switch and deploy once; a secret retired during its test is not switched;
the daemon survives 'secretwatch rekey'; read-only users read without
writing; a cycle waits for the cycle lock and says so."""
import fcntl
import hashlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from m365 import S1, S2  # noqa: E402

DAY = 86400
SETPRIV = ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]
CHECKS = 10


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def delivered(w, event):
    return [r["json"] for r in w.webhook.requests()
            if r["status"] == 200 and r["json"]
            and r["json"].get("event") == event]


def alert_mails(w, word):
    return [m for m in w.smtp.messages()
            if b"Subject: [secretwatch]" in m["eml"] and
            word in m["eml"].split(b"\r\n\r\n", 1)[0]]


def read_lines(path):
    try:
        with open(path) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


class OnceCase(m365.WorldCase):
    """The world with email and webhook alerts and a deploy hook that
    appends one line per run (with its SECRETWATCH_DEPLOY_ID)."""

    def setUp(self):
        super().setUp()
        self.deploys = os.path.join(self.w.s.dir, "deploys")
        self.hook = os.path.join(self.w.s.dir, "hook.sh")
        with open(self.hook, "w") as f:
            f.write("#!/bin/sh\ncat >/dev/null\n"
                    f"echo \"run ${{SECRETWATCH_DEPLOY_ID:-unset}}\" "
                    f">> {self.deploys}\n")
        os.chmod(self.hook, 0o755)
        self.alerts = (f"[alerts]\nemail_to = {m365.OPS}\n"
                       f"webhook_url = {self.w.webhook.url}/hook\n"
                       f"[deploy]\nhook = {self.hook}\n")
        self.t0 = int(time.time())

    def active_then_pending(self, first_expires):
        """S1 active (switched in before alerts are configured), S2
        pending; then alerts and the deploy hook configured."""
        self.w.add_secret(S1, rfc(first_expires))
        r = self.w.run("check", "--now", rfc(self.t0))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.w.add_secret(S2, "+400d")
        self.w.configure(self.alerts)

    def states(self):
        _, doc = self.w.s.json("secret", "list", "mail")
        return {s["hint"]: s["state"] for s in doc["secrets"]}

    def events(self):
        r, doc = self.w.s.json("log", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        return doc["events"]

    def notify_socket(self):
        return swtest.notify_socket(self, self.w.s.dir, 1)

    def daemon(self, at=None, notify=None):
        cmd = [swtest.SWD, "-c", self.w.s.conf]
        e = swtest.daemon_env(at)
        if notify:
            e["NOTIFY_SOCKET"] = notify
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, env=e)
        self.addCleanup(self.reap, p)
        return p

    def reap(self, p):
        if p.poll() is None:
            p.kill()
        p.wait(timeout=10)
        for f in (p.stdout, p.stderr):
            if f:
                f.close()

    def stop_daemon(self, p):
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=10)
        return err

    def await_status(self, sock, p, limit=30.0):
        """The next STATUS= the daemon sends after a cycle."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if p.poll() is not None:
                self.fail("secretwatchd exited: " + p.stderr.read())
            try:
                msg = sock.recv(4096).decode()
            except socket.timeout:
                continue
            if "STATUS=" in msg and "next check" in msg:
                return msg
        p.kill()
        self.fail("no cycle completed within %gs: %s"
                  % (limit, p.communicate(timeout=10)[1]))


class TestConcurrentCycles(OnceCase):
    def test_ten_checks_and_the_daemon_owe_everything_once(self):
        self.active_then_pending(self.t0 + 35 * DAY)
        at = self.t0 + 6 * DAY  # 29 days left: past the 30-day threshold
        sock, path = self.notify_socket()
        d = self.daemon(at=at, notify=path)
        checks = [subprocess.Popen(
            [swtest.SW, "-c", self.w.s.conf, "check", "--force", "--now",
             rfc(at + 30)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True) for _ in range(CHECKS)]
        for p in checks:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, out + err)
            self.assertNotIn("locked", err)
        self.await_status(sock, d)
        err = self.stop_daemon(d)
        self.assertNotIn("cycle failed", err)
        self.assertEqual(self.states(), {"S1a": "previous", "S2b": "active"})
        # One warning and one 'switched' alert on each channel.
        self.assertEqual(len(delivered(self.w, "expiry-warning")), 1)
        self.assertEqual(len(delivered(self.w, "switched")), 1)
        self.assertEqual(len(alert_mails(self.w, b"expires in")), 1)
        self.assertEqual(len(alert_mails(self.w, b"switched")), 1)
        # One deploy-hook run, with its idempotency key.
        runs = read_lines(self.deploys)
        self.assertEqual(len(runs), 1, runs)
        self.assertRegex(runs[0], r"^run mail-2-[0-9]+$")
        kinds = [e["kind"] for e in self.events()]
        self.assertEqual(kinds.count("switched"), 2)  # S1, then S2
        self.assertEqual(kinds.count("warning"), 1)
        self.assertEqual(kinds.count("deployed"), 1)
        self.assertNotIn("switch-abandoned", kinds)


class TestRetireDuringTest(OnceCase):
    def test_retired_while_tested_is_not_switched(self):
        self.active_then_pending(self.t0 + 200 * DAY)
        sid = [s["id"] for s in self.w.s.json("secret", "list", "mail")[1]
               ["secrets"] if s["hint"] == "S2b"][0]
        # The test send waits 3 s for the SMTP greeting.
        self.w.smtp.update_scenario(greeting_delay=3)
        n = len(self.w.entra.requests())
        rot = subprocess.Popen([swtest.SW, "-c", self.w.s.conf, "rotate",
                                "mail"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.reap, rot)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if any(r.get("secret_label") == "s2"
                   for r in self.w.entra.requests()[n:]):
                break
            if rot.poll() is not None:
                self.fail("rotate ended early: " + rot.communicate()[1])
            time.sleep(0.05)
        else:
            self.fail("rotate never asked for a token with S2")
        r = self.w.run("secret", "retire", "mail", str(sid))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(rot.poll(), "the test ended before the retire")
        out, err = rot.communicate(timeout=60)
        self.assertEqual(rot.returncode, 1, out + err)
        self.assertIn("not switched", err)
        self.assertEqual(self.states(), {"S1a": "active", "S2b": "retired"})
        self.assertEqual(delivered(self.w, "switched"), [])
        self.assertEqual(alert_mails(self.w, b"switched"), [])
        self.assertEqual(read_lines(self.deploys), [])
        ev = [e for e in self.events() if e["kind"] == "switch-abandoned"]
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0]["detail"]["state"], "retired")
        kinds = [e["kind"] for e in self.events()]
        self.assertEqual(kinds.count("switched"), 1)  # S1's only


    def test_retired_while_failing_is_not_marked_failed(self):
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"},
             {"label": "s2", "value": S2, "end": "2099-06-01",
              "reject_first": 1000}]))
        self.active_then_pending(self.t0 + 200 * DAY)
        t = self.t0 + 600
        r = self.w.run("check", "--force", "--now", rfc(t))  # first try fails
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.states(), {"S1a": "active", "S2b": "pending"})
        # Past switch_window the last try fails too, slowly: retired
        # meanwhile, it must stay retired and raise no alert.
        self.w.entra.update_scenario(fault="slow", slow_seconds=3,
                                     fault_first=1)
        chk = subprocess.Popen([swtest.SW, "-c", self.w.s.conf, "check",
                                "--force", "--now", rfc(t + 31 * 60)],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.reap, chk)
        time.sleep(1.0)
        r = self.w.run("secret", "retire", "mail", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNone(chk.poll(), "the test ended before the retire")
        out, err = chk.communicate(timeout=60)
        self.assertEqual(chk.returncode, 0, out + err)
        self.assertEqual(self.states(), {"S1a": "active", "S2b": "retired"})
        self.assertEqual(delivered(self.w, "switch-failed"), [])
        kinds = [e["kind"] for e in self.events()]
        self.assertNotIn("switch-failed", kinds)


class TestRekeyUnderDaemon(OnceCase):
    def test_daemon_cycles_on_after_rekey(self):
        self.w.add_secret(S1, "+200d")
        r = self.w.run("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.w.configure(self.alerts)
        sock, path = self.notify_socket()
        d = self.daemon(notify=path)
        self.await_status(sock, d)
        r = self.w.run("rekey")
        self.assertEqual(r.returncode, 0, r.stderr)
        d.send_signal(signal.SIGUSR1)
        self.await_status(sock, d)
        # The next cycle after that still switches and alerts.
        self.w.add_secret(S2, "+400d")
        d.send_signal(signal.SIGUSR1)
        self.await_status(sock, d)
        err = self.stop_daemon(d)
        self.assertNotIn("cycle failed", err)
        self.assertNotIn("does not match", err)
        self.assertEqual(self.states(), {"S1a": "previous", "S2b": "active"})
        self.assertEqual(len(delivered(self.w, "switched")), 1)
        self.assertEqual(len(read_lines(self.deploys)), 1)


def file_state(d):
    """Name -> (sha256, mtime_ns, size) of every file in directory d."""
    out = {}
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        st = os.stat(p)
        with open(p, "rb") as f:
            out[name] = (hashlib.sha256(f.read()).hexdigest(),
                         st.st_mtime_ns, st.st_size)
    return out


class TestReadOnlyUser(OnceCase):
    def setUp(self):
        super().setUp()
        # Tokens valid for less than the cache's 5-minute margin: token
        # requests one from Entra every time.
        self.w.entra.update_scenario(expires_in=120)
        self.w.add_secret(S1, "+20d")  # level warning
        r = self.w.run("check")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = self.w.s
        # Readable to others: scratch dir, state dir, database files.
        os.chmod(s.dir, 0o755)
        os.chmod(s.state, 0o755)
        for name in os.listdir(s.state):
            if name.startswith("secretwatch.db"):
                os.chmod(os.path.join(s.state, name), 0o644)
        self.assertEqual(os.stat(s.key).st_mode & 0o077, 0)
        # A key copy and a config that the user 'nobody' can read.
        ca = os.path.join(s.dir, "ca.pem")
        shutil.copy(self.w.entra.ca_file, ca)
        os.chmod(ca, 0o644)
        self.key_copy = os.path.join(s.dir, "nobody.key")
        shutil.copy(s.key, self.key_copy)
        os.chown(self.key_copy, 65534, 65534)
        os.chmod(self.key_copy, 0o600)
        self.conf = os.path.join(s.dir, "nobody.conf")
        with open(self.conf, "w") as f:
            f.write(f"[store]\ndatabase = {s.db}\n"
                    f"key_file = {self.key_copy}\n[tls]\nca_file = {ca}\n")
        os.chmod(self.conf, 0o644)
        os.chmod(s.conf, 0o644)
        # 'nobody' runs a copy of the program and its network module: the
        # build tree may be where only root can go (a clone in /root).
        self.bin = os.path.join(s.dir, "bin")
        os.mkdir(self.bin)
        os.chmod(self.bin, 0o755)
        shutil.copy(swtest.SW, self.bin)
        shutil.copy(os.path.join(swtest.BIN_DIR, "..", "lib",
                                 "libsecretwatch-net.so"), self.bin)

    def as_nobody(self, conf, *args, strace=None):
        cmd = [swtest.need("/usr/bin/setpriv", "util-linux"), *SETPRIV,
               os.path.join(self.bin, "secretwatch"), "-c", conf, *args]
        if strace:
            cmd = [swtest.need("/usr/bin/strace", "strace"), "-f", "-qq",
                   "-o", strace,
                   "-e", "trace=open,openat,creat,unlink,unlinkat,rename,"
                   "renameat,renameat2,mkdir,mkdirat,truncate,ftruncate"
                   ] + cmd
        e = {k: v for k, v in os.environ.items()
             if k not in ("SECRETWATCH_CONFIG", "CREDENTIALS_DIRECTORY")}
        e["HOME"] = "/nonexistent"
        e["LD_LIBRARY_PATH"] = self.bin
        if strace and "ASAN_OPTIONS" in e:
            # LeakSanitizer cannot run under ptrace.
            e["ASAN_OPTIONS"] += ":detect_leaks=0"
        return subprocess.run(cmd, capture_output=True, text=True, env=e,
                              cwd="/", timeout=60)

    def assertNoWrites(self, trace):
        """Nothing opened a store file for writing or made one. SQLite asks
        for its -wal and -shm read-write first and falls back to read-only
        when refused: only such refused attempts are fine."""
        with open(trace) as f:
            lines = [line for line in f.read().splitlines()
                     if self.w.s.state in line]
        writes = ("O_WRONLY", "O_RDWR", "O_CREAT", "unlink", "rename",
                  "mkdir", "truncate")
        bad = [line for line in lines if any(w in line for w in writes)
               and not (("-wal\"" in line or "-shm\"" in line) and
                        "= -1 EACCES" in line)]
        self.assertEqual(bad, [])
        self.assertTrue([line for line in lines if "secretwatch.db\"" in
                         line and "O_RDONLY" in line], lines)

    def test_status_with_no_key_gives_the_nagios_code(self):
        before = file_state(self.w.s.state)
        trace = os.path.join(self.w.s.dir, "status.strace")
        r = self.as_nobody(self.w.s.conf, "status", strace=trace)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # warning
        self.assertIn("mail", r.stdout)
        self.assertNoWrites(trace)
        r = self.as_nobody(self.w.s.conf, "--json", "status", "--now",
                           rfc(self.t0 + 30 * DAY))
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)  # expired
        self.assertEqual(file_state(self.w.s.state), before)

    def test_check_dry_run_needs_no_key(self):
        # The key file is the owner's, 0600: 'nobody' cannot read it, and
        # a dry run does not need it.
        before = file_state(self.w.s.state)
        trace = os.path.join(self.w.s.dir, "dryrun.strace")
        r = self.as_nobody(self.w.s.conf, "check", "--dry-run",
                           strace=trace)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("dry run: 1 credentials: 0 ok, 1 warning", r.stdout)
        self.assertNoWrites(trace)
        r = self.as_nobody(self.w.s.conf, "--json", "check", "--dry-run",
                           "--now", rfc(self.t0 + 30 * DAY))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["levels"]["expired"], 1)
        self.assertEqual(file_state(self.w.s.state), before)
        # Without --dry-run the cycle needs the key, and says so.
        r = self.as_nobody(self.w.s.conf, "check")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

    def test_missing_wal_files_are_explained(self):
        # A restored copy without -wal and -shm: this user cannot create
        # them, and is told what to do instead of "cannot write".
        for suffix in ("-wal", "-shm"):
            os.unlink(self.w.s.db + suffix)
        r = self.as_nobody(self.w.s.conf, "status")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("-wal and -shm files are missing", r.stderr)
        self.assertIn("once as the owner", r.stderr)
        r = self.w.run("status")  # the owner creates them, readable
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.as_nobody(self.w.s.conf, "status")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)

    def test_token_reads_and_writes_nothing(self):
        n = len(self.w.entra.requests())
        before = file_state(self.w.s.state)
        trace = os.path.join(self.w.s.dir, "token.strace")
        r = self.as_nobody(self.conf, "token", "mail", strace=trace)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        claims = m365.fakes.decode_jwt(r.stdout.strip())
        self.assertEqual(claims["xms_sw_secret"], "s1")
        self.assertEqual(len(self.w.entra.requests()), n + 1)
        self.assertEqual(file_state(self.w.s.state), before)
        self.assertNoWrites(trace)
        # Not cached: the next token is fetched again.
        r = self.as_nobody(self.conf, "token", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.w.entra.requests()), n + 2)
        self.assertEqual(file_state(self.w.s.state), before)


class TestCycleLockWait(OnceCase):
    def test_check_waits_for_the_cycle_lock_and_says_so(self):
        self.w.add_secret(S1, "+200d")
        fd = os.open(self.w.s.db + ".cycle", os.O_RDWR | os.O_CREAT, 0o600)
        self.addCleanup(os.close, fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        n = len(self.w.entra.requests())
        p = subprocess.Popen([swtest.SW, "-c", self.w.s.conf, "check"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(self.reap, p)
        err = b""
        deadline = time.monotonic() + 10
        while b"waiting for the cycle" not in err and \
                time.monotonic() < deadline and p.poll() is None:
            ready, _, _ = select.select([p.stderr], [], [], 0.2)
            if ready:
                err += os.read(p.stderr.fileno(), 4096)
        self.assertIn(b"waiting for the cycle", err)
        time.sleep(1.0)
        self.assertIsNone(p.poll(), "check did not wait")
        self.assertEqual(len(self.w.entra.requests()), n)
        self.assertEqual(self.states(), {"S1a": "pending"})
        fcntl.flock(fd, fcntl.LOCK_UN)
        out, rest = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, (err + rest).decode())
        self.assertEqual(self.states(), {"S1a": "active"})


if __name__ == "__main__":
    swtest.main()
