"""secretwatchd killed with SIGKILL at random points of automatic
rotations through the stand-in Graph, its clock stepped with faketime so
that every round is due: after each kill the store holds exactly one
active secret and it works, Entra holds no secret that the store does not
know or has not scheduled for removal (an open intent's display name),
and the database is intact. A last run finishes the work: Entra ends with
exactly the active secret."""
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import test_rotation  # noqa: E402
from m365 import CLIENT  # noqa: E402

DAY = test_rotation.DAY


class TestRotationCrash(test_rotation.RotationCase):
    delay = 1
    ROUNDS = 50
    TIME_LIMIT = 150

    def setUp(self):
        super().setUp()
        # Short lifetimes keep the stepped clock within the test
        # certificates' validity across all rounds.
        self.w.configure(self.w.extra + "[rotate]\nlifetime = 40d\n")

    def daemon(self, at, *args):
        cmd = [swtest.SWD, "-c", self.w.s.conf, *args]
        e = swtest.daemon_env(at)
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=e,
                                start_new_session=True)

    def kill(self, p):
        try:  # the daemon and its cycle child
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.communicate(timeout=10)
        self.wait_lock_free()

    def wait_lock_free(self):
        if not swtest.wait_daemon_lock_free(self.w.s.db):
            self.fail("the killed daemon's lock stayed held")

    def query(self, sql):
        con = sqlite3.connect(self.w.s.db)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def active_expiry(self):
        rows = self.query("SELECT expires_at FROM secret "
                          "WHERE state = 'active'")
        self.assertEqual(len(rows), 1, rows)
        return rows[0][0]

    def check_invariants(self):
        self.assertEqual(self.query("PRAGMA integrity_check"), [("ok",)])
        self.active_expiry()
        r = self.w.run("test", "mail", "--token-only")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        known = {k for (k,) in self.query(
            "SELECT lower(key_id) FROM secret WHERE state != 'revoked' "
            "AND key_id IS NOT NULL")}
        scheduled = {n for (n,) in self.query(
            "SELECT display_name FROM rotation WHERE state = 'open'")}
        for c in self.graph.credentials(CLIENT):
            self.assertTrue(c["keyId"] in known or
                            c["displayName"] in scheduled,
                            (c, known, scheduled))

    def pause(self, rng):
        # Half the kills within the first half second, where the intent,
        # addPassword and the store of the new secret happen.
        if rng.random() < 0.5:
            return rng.uniform(0.0, 0.5)
        return rng.uniform(0.5, 4.0 + self.delay)

    def test_sigkill_during_rotations(self):
        rng = random.Random(int(os.environ.get("SW_CRASH_SEED", "1")))
        start = time.time()
        at = self.t0
        rounds = 0
        while (rounds < self.ROUNDS and
               time.time() - start < self.TIME_LIMIT):
            # The active secret has 29 days left: a rotation is due; or
            # 3 minutes on, when a switch is left to retry.
            at = max(at + 180, self.active_expiry() - 29 * DAY)
            p = self.daemon(at)
            time.sleep(self.pause(rng))
            self.kill(p)
            self.check_invariants()
            rounds += 1
        self.assertGreaterEqual(rounds, 5)
        adds = [q for q in self.ops("add") if q["status"] == 200]
        kinds = {}
        for ev in self.events():
            kinds[ev["kind"]] = kinds.get(ev["kind"], 0) + 1
        print(f"rotation crash rounds: {rounds}, events: {kinds}",
              file=sys.stderr)
        self.assertGreater(len(adds), 1)
        # A last run finishes the work: the newest secret switched (once
        # Entra has replicated it), then the old ones revoked after grace.
        for when in (at + 60, at + 120, at + 8 * DAY):
            time.sleep(self.delay + 0.5)
            p = self.daemon(when, "--once")
            _, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)
        self.check_invariants()
        self.assertWhole()
        active = self.query("SELECT lower(key_id) FROM secret "
                            "WHERE state = 'active'")
        self.assertEqual([c["keyId"] for c in
                          self.graph.credentials(CLIENT)],
                         [active[0][0]])
        self.assertNoSecrets()


if __name__ == "__main__":
    swtest.main()
