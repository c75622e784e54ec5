"""secretwatchd: the lifecycle across restarts under faketime, signals,
readiness, one daemon per store, and SIGKILL at random points during
switches."""
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from m365 import S1  # noqa: E402

DAY = 86400


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class DaemonCase(m365.WorldCase):
    def setUp(self):
        super().setUp()
        self.w.configure(f"[alerts]\nemail_to = {m365.OPS}\n"
                         f"webhook_url = {self.w.webhook.url}/hook\n")

    def daemon(self, *args, env=None, at=None, **kw):
        cmd = [swtest.SWD, "-c", self.w.s.conf, *args]
        e = swtest.daemon_env(at)
        e.update(env or {})
        return subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=e,
                                **kw)

    def once(self, at=None):
        p = self.daemon("--once", at=at)
        out, err = p.communicate(timeout=120)
        self.assertEqual(p.returncode, 0, err)
        return err


class TestLifecycleUnderFaketime(DaemonCase):
    def test_restarts_day_by_day(self):
        t0 = int(time.time())
        self.w.add_secret(S1, rfc(t0 + 35 * DAY))
        self.once(at=t0)
        for day in range(0, 38):
            self.once(at=t0 + day * DAY + 120)
        hooks = [r["json"] for r in self.w.webhook.requests()
                 if r["status"] == 200 and
                 r["json"]["event"] in ("expiry-warning", "expired")]
        self.assertEqual([h["days_left"] for h in hooks],
                         [30, 14, 7, 3, 1, 0])
        mails = [m for m in self.w.smtp.messages()
                 if b"[secretwatch]" in m["eml"] and
                 b"switched" not in m["eml"]]
        self.assertEqual(len(mails), 6)


class TestSignals(DaemonCase):
    def notify_socket(self):
        return swtest.notify_socket(self, self.w.s.dir, 10)

    def recv_until(self, sock, word, limit=20):
        got = []
        for _ in range(limit):
            msg = sock.recv(4096).decode()
            got.append(msg)
            if word in msg:
                return got
        self.fail(f"{word} not seen in {got}")

    def test_ready_status_watchdog_and_signals(self):
        self.w.add_secret(S1, "+100d")
        sock, path = self.notify_socket()
        p = self.daemon(env={"NOTIFY_SOCKET": path,
                             "WATCHDOG_USEC": "2000000"})
        self.addCleanup(p.kill)
        self.recv_until(sock, "READY=1")
        got = self.recv_until(sock, "STATUS=1 credentials")
        self.assertIn("next check", got[-1])
        # WATCHDOG_USEC=2s: pings at least every second while idle.
        self.recv_until(sock, "WATCHDOG=1")
        t = time.time()
        self.recv_until(sock, "WATCHDOG=1")
        self.assertLess(time.time() - t, 2.5)
        # SIGUSR1: a cycle now.
        n = len(self.w.entra.requests())
        p.send_signal(signal.SIGUSR1)
        self.recv_until(sock, "STATUS=")
        # SIGHUP with a broken config: old one kept, still running.
        with open(self.w.s.conf, "a") as f:
            f.write("[watch]\nbogus = 1\n")
        p.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        self.assertIsNone(p.poll())
        # SIGTERM: gone within a second.
        t = time.time()
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=5)
        self.assertLess(time.time() - t, 1.0)
        self.assertEqual(p.returncode, 0)
        err = p.stderr.read()
        self.assertIn("reload refused", err)
        self.assertIn("bogus", err)
        del n

    def test_sigterm_mid_cycle_stops_fast_and_leaves_no_half_switch(self):
        self.w.add_secret(S1, "+100d")
        # The token request hangs: the cycle is in the middle of a switch.
        self.w.entra.update_scenario(fault="slow", slow_seconds=20)
        p = self.daemon()
        self.addCleanup(p.kill)
        time.sleep(1.5)  # start-up takes milliseconds; now it waits on Entra
        self.assertIsNone(p.poll())
        t = time.time()
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=5)
        self.assertLess(time.time() - t, 1.0)
        _, doc = self.w.s.json("secret", "list", "mail")
        self.assertEqual([s["state"] for s in doc["secrets"]], ["pending"])
        # A restart completes the switch.
        self.w.entra.update_scenario(fault=None)
        self.once()
        _, doc = self.w.s.json("secret", "list", "mail")
        self.assertEqual([s["state"] for s in doc["secrets"]], ["active"])

    def test_sigterm_during_stalled_heartbeat_stops_fast(self):
        # A heartbeat receiver that takes the request and never answers.
        lsock = socket.socket()
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        lsock.settimeout(0.2)
        self.addCleanup(lsock.close)
        held, stop = [], threading.Event()

        def hold():
            while not stop.is_set():
                try:
                    c, _ = lsock.accept()
                except (socket.timeout, OSError):
                    continue
                held.append(c)
        t = threading.Thread(target=hold, daemon=True)
        t.start()
        self.addCleanup(lambda: [c.close() for c in held])
        self.addCleanup(stop.set)
        port = lsock.getsockname()[1]
        self.w.configure(self.w.extra + "heartbeat_url = "
                         f"http://127.0.0.1:{port}/hb\n")
        self.w.add_secret(S1, "+100d")
        p = self.daemon()
        self.addCleanup(p.kill)
        for _ in range(200):  # the cycle is done; the GET waits
            if held:
                break
            time.sleep(0.05)
        self.assertTrue(held, "the heartbeat never connected")
        time.sleep(0.5)
        self.assertIsNone(p.poll())
        t0 = time.time()
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
        took = time.time() - t0
        print(f"SIGTERM took {took:.3f} s", file=sys.stderr)
        self.assertLess(took, 2.0)
        self.assertEqual(p.returncode, 0)
        err = p.stderr.read()
        self.assertNotIn("heartbeat", err)

    def test_second_daemon_refused(self):
        self.w.add_secret(S1, "+100d")
        p = self.daemon()
        self.addCleanup(p.kill)
        time.sleep(0.5)
        q = self.daemon()
        out, err = q.communicate(timeout=10)
        self.assertEqual(q.returncode, 1)
        self.assertIn("already running", err)
        p.terminate()
        p.wait(timeout=5)

    def test_world_readable_key_refused(self):
        os.chmod(self.w.s.key, 0o644)
        p = self.daemon("--once")
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 1)
        self.assertIn("chmod 600", err)

    def test_idle_daemon_sleeps_until_deadline(self):
        self.w.add_secret(S1, "+100d")
        p = self.daemon()
        self.addCleanup(p.kill)
        time.sleep(1.0)
        n = len(self.w.entra.requests())
        # Nothing is due for an hour: no activity at all meanwhile.
        with open(f"/proc/{p.pid}/status") as f:
            ctx1 = [l for l in f if "ctxt_switches" in l]
        time.sleep(3.0)
        with open(f"/proc/{p.pid}/status") as f:
            ctx2 = [l for l in f if "ctxt_switches" in l]
        self.assertEqual(ctx1, ctx2)
        self.assertEqual(len(self.w.entra.requests()), n)
        p.terminate()
        p.wait(timeout=5)


class TestCrash(DaemonCase):
    ROUNDS = 100
    TIME_LIMIT = 240

    def test_sigkill_during_switches(self):
        rng = random.Random(int(os.environ.get("SW_CRASH_SEED", "1")))
        secrets = []
        outcomes = {"pending": 0, "active": 0}
        start = time.time()
        for i in range(self.ROUNDS):
            if time.time() - start > self.TIME_LIMIT:
                break
            value = f"K{i:03d}Q~crash-secret-{i}-" + "x" * 20
            secrets.append(value)
            self.w.entra.set_scenario(m365.entra_scenario(
                [{"label": f"k{j}", "value": v, "end": "2099-01-01"}
                 for j, v in enumerate(secrets)]))
            r = self.w.run("secret", "add", "mail", "--expires",
                           f"+{100 + i}d", input=value + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
            p = self.daemon()
            time.sleep(rng.uniform(0.0, 0.4))
            p.kill()
            p.wait(timeout=10)
            self.wait_cycle_child_gone()
            self.check_invariants(len(secrets))
            outcomes[self.state_of_newest()] += 1
        rounds = len(secrets)
        self.assertGreaterEqual(rounds, 20)
        # The kills landed both before and after switches completed.
        self.assertGreater(outcomes["pending"], 0, outcomes)
        self.assertGreater(outcomes["active"], 0, outcomes)
        print(f"crash rounds: {rounds}, {outcomes}", file=sys.stderr)
        # A restart finishes the work: the newest secret ends active.
        self.once()
        _, doc = self.w.s.json("secret", "list", "mail")
        newest = max(doc["secrets"], key=lambda s: s["days_left"])
        self.assertEqual(newest["state"], "active")
        self.assertEqual(newest["hint"], secrets[-1][:3])

    def wait_cycle_child_gone(self):
        if not swtest.wait_daemon_lock_free(self.w.s.db):
            self.fail("the killed daemon's lock stayed held")

    def state_of_newest(self):
        db = sqlite3.connect(self.w.s.db)
        try:
            return db.execute("SELECT state FROM secret ORDER BY id DESC "
                              "LIMIT 1").fetchone()[0]
        finally:
            db.close()

    def check_invariants(self, n):
        db = sqlite3.connect(self.w.s.db)
        try:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone(),
                             ("ok",))
            active = db.execute("SELECT count(*) FROM secret WHERE "
                                "state = 'active'").fetchone()[0]
            self.assertLessEqual(active, 1)
            total = db.execute("SELECT count(*) FROM secret").fetchone()[0]
            self.assertEqual(total, n)
        finally:
            db.close()


if __name__ == "__main__":
    swtest.main()
