"""Rotation leaves nothing behind and never makes things worse: at most
one rotation-made secret in flight (rotate --new takes the watchdog's
again), a rotation-made secret that failed or was superseded leaves
Entra once, a lifetime policy that does not say its limit is found by
asking for shorter lifetimes (and remembered), a secret that would
expire before the active one is never made or switched to, the only
secret that works is never revoked, and a "what if" check in the future
changes nothing. Ends with a lifecycle through all of it, and the
daemon, ten checks and rotate --new at once."""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402
from m365 import CLIENT, S1, S2  # noqa: E402
from test_rotation import DAY, K1, ROLES, RotationCase, rfc  # noqa: E402

WINDOW = 31 * 60  # past the default switch_window


class LooseEnds(RotationCase):
    delay = 3600  # Entra "replicates" for an hour: tests keep it waiting

    def entra_keys(self):
        return sorted(c["keyId"] for c in self.graph.credentials(CLIENT))

    def states(self):
        return {s["key_id"]: s["state"] for s in self.secrets()}

    def replicated(self):
        """Entra accepts every secret made so far from now on."""
        for c in self.graph.credentials(CLIENT):
            self.graph.accept(CLIENT, c["keyId"])

    def with_s2(self):
        """S2 works at Entra, as a secret a person made in the portal."""
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"},
             {"label": "s2", "value": S2, "end": "2099-06-01"}],
            roles=ROLES))

    def at(self, days, **scenario):
        """The stand-in Graph's clock stepped with the client's."""
        self.graph.set_scenario(self.scenario(clock_offset=days * DAY,
                                              **scenario))
        return self.check(self.t0 + days * DAY)


class TestInFlight(LooseEnds):
    def test_rotate_new_takes_the_watchdogs_secret_again(self):
        t = self.t0 + 10 * DAY
        self.check(t)  # #2 made, not accepted yet
        self.assertEqual(len(self.ops("add")), 1)
        made = self.ops("add")[0]["key_id"]
        r = self.w.run("rotate", "mail", "--new")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("still waits for its switch", r.stdout)
        self.assertEqual(len(self.ops("add")), 1, "no #3")
        self.assertEqual(self.entra_keys(), sorted([K1, made]))
        self.assertWhole()

    def test_failed_rotation_secret_leaves_entra_once(self):
        t = self.t0 + 10 * DAY
        self.check(t)
        made = self.ops("add")[0]["key_id"]
        self.check(t + WINDOW)  # past the window: failed
        self.check(t + WINDOW + 60)  # removed once, revoked
        self.check(t + WINDOW + 120)
        self.assertEqual([q["key_id"] for q in self.ops("remove")], [made])
        self.assertEqual(self.states()[made], "revoked")
        self.assertEqual(self.entra_keys(), [K1])
        ev = self.events("revoked")
        self.assertEqual(len(ev), 1, ev)
        self.assertEqual(ev[0]["detail"]["reason"], "unused", ev)
        # A day later the next rotation makes one new secret, not two.
        self.check(t + DAY + WINDOW)
        self.assertEqual(len(self.ops("add")), 2)
        self.assertEqual(len(self.entra_keys()), 2)
        self.assertWhole()
        self.assertNoSecrets()

    def test_superseded_rotation_secret_leaves_entra(self):
        t = self.t0 + 10 * DAY
        self.check(t)
        made = self.ops("add")[0]["key_id"]
        # A person registers a secret that outlives it and switches.
        self.with_s2()
        self.w.add_secret(S2, rfc(self.t0 + 365 * DAY))
        r = self.w.run("rotate", "mail")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.states()[made], "failed")
        self.check(t + 60)
        self.assertEqual([q["key_id"] for q in self.ops("remove")
                          if q["key_id"] == made], [made])
        self.assertEqual(self.states()[made], "revoked")
        self.assertEqual(len(self.events("superseded")), 1)


class TestLifetimes(LooseEnds):
    delay = 0

    def test_policy_without_its_limit_is_stepped_down_and_learned(self):
        # No Policy.Read.All: the refusal does not name the limit.
        self.at(10, max_lifetime_days=90)
        adds = self.ops("add")
        self.assertEqual([q["status"] for q in adds], [400, 200])
        self.assertEqual(adds[1]["end"][:10], rfc(self.t0 + 100 * DAY)[:10])
        self.assertEqual(len(self.events("lifetime-learned")), 1)
        self.assertEqual(self.events("rotation-failed"), [])
        # The next rotation asks for the learned lifetime first.
        self.at(71, max_lifetime_days=90)
        self.assertEqual([q["status"] for q in self.ops("add")][2:], [200])

    def test_every_lifetime_refused_says_what_avoids_the_guessing(self):
        self.at(10, max_lifetime_days=20)
        # 180 days, then 90; 30 would end with the active secret.
        self.assertEqual([q["status"] for q in self.ops("add")], [400, 400])
        alerts = [q["json"] for q in self.w.webhook.requests()
                  if q["json"].get("event") == "rotation-failed"]
        self.assertEqual(len(alerts), 1)
        self.assertIn("Policy.Read.All", alerts[0]["message"])
        self.assertIn("[rotate] lifetime", alerts[0]["message"])
        self.assertIn("180, 90 days", alerts[0]["message"])
        self.assertWhole()

    def test_policy_shorter_than_what_is_left_makes_nothing(self):
        self.grant_policy_read()
        self.graph.set_scenario(self.scenario(max_lifetime_days=1))
        self.check(self.t0 + 10 * DAY)  # 30 days left, 1 allowed
        self.assertEqual(self.ops("add"), [])
        alerts = [q["json"] for q in self.w.webhook.requests()
                  if q["json"].get("event") == "rotation-failed"]
        self.assertEqual(len(alerts), 1)
        self.assertIn("would never be switched to", alerts[0]["message"])
        self.assertEqual(self.states(), {K1: "active"})


class TestNeverWorse(LooseEnds):
    delay = 0

    def test_the_only_valid_secret_is_never_revoked(self):
        # S2 expires before S1; a person switches to it all the same.
        self.with_s2()
        self.w.add_secret(S2, rfc(self.t0 + 20 * DAY))
        r = self.w.run("rotate", "mail", "--secret", "2")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.check(self.t0 + 8 * DAY)  # past grace: S1 outlives S2
        self.assertEqual(self.ops("remove"), [])
        self.assertEqual(self.states()[K1], "previous")

    def test_check_in_the_future_is_a_dry_run_unless_forced(self):
        before = self.w.s.db_hash()
        sent = len(self.w.webhook.requests())
        r = self.w.run("check", "--now", rfc(self.t0 + 45 * DAY))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("a dry run", r.stdout)
        self.assertEqual(self.w.s.db_hash(), before)
        self.assertEqual(len(self.w.webhook.requests()), sent)
        self.assertEqual(self.ops("add"), [])
        r = self.w.run("check", "--help")
        self.assertIn("--force", r.stdout)
        self.check(self.t0 + 45 * DAY)  # --force: as if it were then
        self.assertGreater(len(self.w.webhook.requests()), sent)


class TestConcurrent(LooseEnds):
    def test_daemon_ten_checks_and_rotate_new_leave_one(self):
        t = self.t0 + 10 * DAY
        env = swtest.daemon_env(t)
        d = subprocess.Popen(swtest.wrap([swtest.SWD, "-c", self.w.s.conf]),
                             env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        self.addCleanup(d.kill)
        procs = [subprocess.Popen(
            swtest.wrap([swtest.SW, "-c", self.w.s.conf, "check", "--now",
                         rfc(t + 5), "--force"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(10)]
        procs.append(subprocess.Popen(
            swtest.wrap([swtest.SW, "-c", self.w.s.conf, "rotate", "mail",
                         "--new"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        for p in procs:
            out, err = p.communicate(timeout=120 * swtest.SLOW)
            self.assertIn(p.returncode, (0, 1, 2), out + err)
        d.terminate()
        d.wait(30)
        self.assertTrue(swtest.wait_daemon_lock_free(self.w.s.db))
        # Whatever raced, one new secret is in flight.
        live = [k for k in self.entra_keys() if k != K1]
        self.assertEqual(len(live), 1, self.ops("add"))
        self.replicated()
        for k in range(3):
            self.check(t + 600 + k * 60)
        self.assertEqual(self.states()[live[0]], "active")
        self.assertEqual(self.entra_keys(), sorted([K1, live[0]]))
        self.check(t + 8 * DAY)  # grace over: only the active one stays
        self.assertEqual(self.entra_keys(), [live[0]])
        self.assertWhole()
        self.assertNoSecrets()


if __name__ == "__main__":
    swtest.main()
