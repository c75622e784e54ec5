"""Shared helpers for the end-to-end tests: a scratch store with its own
config, and a runner for the real secretwatch binaries."""
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BIN_DIR = os.environ.get("SW_BIN_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")
FAKES = os.environ.get("SW_FAKES") or os.path.join(
    os.path.dirname(__file__), "..", "fakes")
SW = os.path.join(BIN_DIR, "secretwatch")
SWD = os.path.join(BIN_DIR, "secretwatchd")
# SW_WRAP="valgrind -q ...": every secretwatch and secretwatchd a test
# runs through Scratch.run or wrap() goes under it (slower: longer
# timeouts).
WRAP = os.environ.get("SW_WRAP", "").split()
SLOW = 20 if WRAP else 1


def force(extra):
    """check's options: a cycle --now in the future acts only with
    --force, which a dry run does not take."""
    return tuple(extra) if "--dry-run" in extra else ("--force", *extra)


def wrap(cmd):
    """cmd (a list starting with SW or SWD) under SW_WRAP, if set."""
    return WRAP + list(cmd)

sys.path.insert(0, FAKES)
# need(program, package): the path of a program the tests call, or one
# line naming it and its Debian package (a failure, never a skip).
from fakes import MissingProgram, need  # noqa: E402,F401

TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SENDER = "alerts@contoso.com"


class Scratch:
    """A scratch directory with a config pointing at a store inside it."""

    def __init__(self, extra_config=""):
        self.dir = tempfile.mkdtemp(prefix="sw-e2e-")
        self.state = os.path.join(self.dir, "state")
        self.db = os.path.join(self.state, "secretwatch.db")
        self.key = os.path.join(self.state, "master.key")
        self.conf = os.path.join(self.dir, "secretwatch.conf")
        self.write_config(extra_config)

    def write_config(self, extra=""):
        with open(self.conf, "w") as f:
            f.write(f"[store]\ndatabase = {self.db}\nkey_file = {self.key}\n")
            f.write(extra)

    def run(self, *args, input=None, env=None, timeout=60):
        e = dict(os.environ)
        e.pop("SECRETWATCH_CONFIG", None)
        e.pop("CREDENTIALS_DIRECTORY", None)
        if env:
            e.update(env)
        return subprocess.run(wrap([SW, "-c", self.conf, *args]),
                              input=input, capture_output=True, text=True,
                              env=e, timeout=timeout * SLOW)

    def json(self, *args, **kw):
        r = self.run("--json", *args, **kw)
        return r, json.loads(r.stdout)

    def init_with_cred(self, name="mail", **extra):
        r = self.run("init")
        assert r.returncode == 0, r.stderr
        args = ["cred", "add", name, "--tenant", TENANT, "--client-id",
                CLIENT_ID, "--sender", SENDER]
        for k, v in extra.items():
            args += ["--" + k.replace("_", "-"), v]
        r = self.run(*args)
        assert r.returncode == 0, r.stderr

    def db_hash(self):
        h = hashlib.sha256()
        for suffix in ("", "-wal"):
            p = self.db + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    h.update(f.read())
        return h.hexdigest()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class ScratchCase(unittest.TestCase):
    """A test case with a fresh scratch store per test."""

    def setUp(self):
        self.s = Scratch()
        self.addCleanup(self.s.cleanup)

    def assertFails(self, r, words, code=1):
        """One clear line on stderr containing words, and exit code."""
        self.assertEqual(r.returncode, code, r.stderr)
        lines = r.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("secretwatch: "), lines[0])
        self.assertIn(words, lines[0])


LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"


def daemon_env(at=None):
    """Our environment without NOTIFY_SOCKET and, with AT, the clock
    starting at AT and running on. libfaketime is preloaded directly, not
    through the faketime wrapper: a killed wrapper leaves its semaphore
    in /dev/shm for a later process with the same PID to trip over
    ("sem_open: File exists"). It comes ahead of a sanitizer runtime."""
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    if at is None:
        return e
    e["LD_PRELOAD"] = need(LIBFAKETIME, "libfaketime")
    e["FAKETIME"] = "@" + time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
    e["TZ"] = "UTC"
    e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") +
                         ":verify_asan_link_order=0").lstrip(":")
    return e


def notify_socket(case, directory, timeout):
    """(socket, path): a datagram socket in DIRECTORY that receives
    sd_notify messages, closed when CASE is cleaned up."""
    path = os.path.join(directory, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(timeout)
    case.addCleanup(sock.close)
    return sock, path


def wait_daemon_lock_free(db, seconds=10):
    """A killed secretwatchd's cycle child dies a moment after it
    (PR_SET_PDEATHSIG), holding the store's single-instance lock until
    then; under the sanitizers long enough for the next start to fail.
    systemd waits for the whole unit; tests wait for the lock. Returns
    False when it stayed held."""
    deadline = time.time() + seconds
    with open(db + ".lock", "a") as f:
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f, fcntl.LOCK_UN)
                return True
            except BlockingIOError:
                if time.time() > deadline:
                    return False
                time.sleep(0.02)


class Result(unittest.TextTestResult):
    """A missing program is reported as its one line, without the
    traceback that would bury it."""

    def _exc_info_to_string(self, err, test):
        if isinstance(err[1], MissingProgram):
            return "%s\n" % err[1]
        return super()._exc_info_to_string(err, test)


def main():
    """Run the module's tests and print the plain closing line."""
    prog = unittest.main(exit=False, verbosity=2, testRunner=unittest.
                         TextTestRunner(resultclass=Result, verbosity=2))
    res = prog.result
    failed = len(res.failures) + len(res.errors)
    passed = res.testsRun - failed - len(res.skipped)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed or res.testsRun == 0 or res.skipped else 0)
