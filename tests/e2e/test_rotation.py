"""Automatic rotation through the stand-in Graph and Entra, the clock
stepped with --now: nothing before [rotate] before, then exactly one
addPassword, the new secret refused while Entra replicates it, then
tested with a real XOAUTH2 send, switched and deployed; the old secret
kept through the grace period and then removed by its key ID, once.
Graph's refusals (permission, lifetime policy, throttling) diagnosed with
nothing half-done; an interrupted rotation's orphan removed; no secret
value anywhere a person or a program can read."""
import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402
from m365 import CLIENT, S1  # noqa: E402

fakes = m365.fakes
APP_OBJ = "dddddddd-0000-4000-8000-000000000004"
K1 = "0a000000-0000-4000-8000-000000000001"
DAY = 86400
ROLES = {"https://outlook.office365.com": ["SMTP.SendAsApp"],
         "https://graph.microsoft.com": ["Application.ReadWrite.OwnedBy"]}


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class RotationCase(unittest.TestCase):
    delay = 2

    def setUp(self):
        self.t0 = int(time.time())
        self.w = m365.World(cred=False)
        self.addCleanup(self.w.close)
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"}],
            roles=ROLES))
        self.graph = self.w.stack.enter_context(
            fakes.Graph(self.scenario(), entra=self.w.entra))
        self.hook_out = os.path.join(self.w.s.dir, "deployed")
        hook = os.path.join(self.w.s.dir, "hook.sh")
        with open(hook, "w") as f:
            f.write(f"#!/bin/sh\ncat > {self.hook_out}\n")
        os.chmod(hook, 0o755)
        self.prom = os.path.join(self.w.s.dir, "sw.prom")
        self.w.configure(f"[alerts]\nwebhook_url = {self.w.webhook.url}\n"
                         f"[deploy]\nhook = {hook}\n"
                         f"[metrics]\ntextfile = {self.prom}\n")
        self.w.add_cred("--graph-url", self.graph.url, "--rotate", "auto")
        self.w.add_secret(S1, rfc(self.t0 + 40 * DAY), "--key-id", K1,
                          "--activate")
        self.outputs = []

    def scenario(self, **kw):
        sc = {"apps": {CLIENT: {
            "id": APP_OBJ, "display_name": "secretwatch-test",
            "credentials": [{"keyId": K1, "hint": S1[:3],
                             "end": rfc(self.t0 + 40 * DAY)}]}},
            "replication_delay": self.delay}
        sc.update(kw)
        return sc

    def grant_policy_read(self):
        """Policy.Read.All on the Graph token, next to ROLES."""
        graph = ROLES["https://graph.microsoft.com"] + ["Policy.Read.All"]
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"}],
            roles=dict(ROLES, **{"https://graph.microsoft.com": graph})))

    def check(self, at, code=0):
        r = self.w.run("check", "--now", rfc(at), "--force")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        return r

    def ops(self, op):
        return [q for q in self.graph.requests() if q["op"] == op]

    def secrets(self):
        r, doc = self.w.s.json("secret", "list", "mail")
        self.outputs.append(r.stdout)
        return doc["secrets"]

    def events(self, kind=None):
        r, doc = self.w.s.json("log", "mail")
        self.outputs.append(r.stdout)
        evs = doc if isinstance(doc, list) else doc.get("events", [])
        return [e for e in evs if kind is None or e.get("kind") == kind]

    def db(self):
        con = sqlite3.connect(self.w.s.db)
        self.addCleanup(con.close)
        return con

    def assertWhole(self):
        """Nothing half-done: no open intent, no pending secret without
        a key ID, every secret in Entra known to the store, and the
        database intact."""
        con = self.db()
        self.assertEqual(con.execute("PRAGMA integrity_check").fetchone(),
                         ("ok",))
        self.assertEqual(con.execute(
            "SELECT count(*) FROM rotation WHERE state = 'open'"
        ).fetchone(), (0,))
        self.assertEqual(con.execute(
            "SELECT count(*) FROM secret WHERE state = 'pending' AND "
            "(key_id IS NULL OR key_id = '')").fetchone(), (0,))
        known = {k for (k,) in con.execute(
            "SELECT lower(key_id) FROM secret WHERE state != 'revoked'")}
        entra = {c["keyId"] for c in self.graph.credentials(CLIENT)}
        self.assertLessEqual(entra, known)

    def assertNoSecrets(self):
        prom = ""
        if os.path.exists(self.prom):
            with open(self.prom) as f:
                prom = f.read()
        blob = "\n".join(self.outputs) + prom + json.dumps(
            self.w.webhook.requests()) + json.dumps(
            self.graph.requests()) + json.dumps(self.events())
        for v in [S1] + self.graph.issued():
            self.assertNotIn(v, blob)


class TestLifecycle(RotationCase):
    def test_rotate_switch_deploy_then_revoke(self):
        t30 = self.t0 + 10 * DAY
        self.check(t30 - DAY)           # 31 days left: nothing
        self.assertEqual(self.ops("add"), [])
        self.check(t30)                 # 30 days left: one new secret
        self.check(t30)                 # the same run again: no second
        adds = self.ops("add")
        self.assertEqual(len(adds), 1, adds)
        self.assertEqual(adds[0]["status"], 200)
        new_key = adds[0]["key_id"]
        self.assertTrue(adds[0]["display_name"].startswith(
            "secretwatch " + rfc(t30)[:10] + " #"))
        by = {s["key_id"]: s for s in self.secrets()}
        # Refused at first: Entra has not replicated it yet.
        self.assertEqual(by[new_key]["state"], "pending")
        self.assertEqual(by[K1]["state"], "active")
        time.sleep(self.delay + 0.5)
        self.check(t30 + 5)             # the first retry: 5 s later
        by = {s["key_id"]: s for s in self.secrets()}
        self.assertEqual(by[new_key]["state"], "active")
        self.assertEqual(by[K1]["state"], "previous")
        issued = self.graph.issued()
        self.assertEqual(len(issued), 1)
        with open(self.hook_out) as f:
            self.assertEqual(f.read().strip(), issued[0])
        sends = [m for m in self.w.smtp.messages()]
        self.assertTrue(sends)
        # 6 days after the switch the old key is still in Entra.
        self.check(t30 + 5 + 6 * DAY)
        self.assertEqual(self.ops("remove"), [])
        self.assertIn(K1, [c["keyId"] for c in
                           self.graph.credentials(CLIENT)])
        # At 7 days it goes, by its key ID, once.
        self.check(t30 + 5 + 7 * DAY)
        self.check(t30 + 5 + 7 * DAY + 60)
        rm = self.ops("remove")
        self.assertEqual([q["key_id"] for q in rm], [K1])
        self.assertEqual([c["keyId"] for c in
                          self.graph.credentials(CLIENT)], [new_key])
        by = {s["key_id"]: s for s in self.secrets()}
        self.assertEqual(by[K1]["state"], "revoked")
        self.assertEqual(by[new_key]["state"], "active")
        self.assertEqual(len(self.ops("add")), 1)
        con = self.db()
        self.assertEqual(con.execute(
            "SELECT length(ciphertext) FROM secret WHERE key_id = ?",
            (K1,)).fetchone(), (0,))
        for kind in ("graph-add", "graph-remove", "revoked"):
            self.assertEqual(len(self.events(kind)), 1, kind)
        with open(self.prom) as f:
            prom = f.read()
        self.assertIn("secretwatch_rotations_total 1\n", prom)
        self.assertIn("secretwatch_graph_failures_total 0\n", prom)
        self.assertIn('secretwatch_next_rotation_timestamp_seconds'
                      '{credential="mail"}', prom)
        self.assertWhole()
        self.assertNoSecrets()


class TestRefusals(RotationCase):
    delay = 0

    def rotation_alerts(self):
        return [q for q in self.w.webhook.requests()
                if "rotation-failed" in json.dumps(q)]

    def test_denied(self):
        sc = self.scenario()
        sc["apps"][CLIENT]["owner_of_itself"] = False
        self.graph.set_scenario(sc)
        self.check(self.t0 + 10 * DAY)
        self.check(self.t0 + 10 * DAY + 3600)  # not again within a day
        self.assertEqual(len(self.ops("get")), 1)
        self.assertEqual(self.ops("add"), [])
        alerts = self.rotation_alerts()
        self.assertEqual(len(alerts), 1)
        self.assertIn("Application.ReadWrite.OwnedBy", json.dumps(alerts))
        ev = self.events("graph-read")
        self.assertEqual(ev[-1]["detail"]["outcome"], "failed")
        self.assertEqual(ev[-1]["detail"]["step"], "graph-permission")
        self.assertEqual([s["state"] for s in self.secrets()], ["active"])
        self.assertWhole()
        self.assertNoSecrets()

    def test_lifetime_policy_clamped(self):
        # The stand-in's policy counts from its own (real) clock.
        self.graph.set_scenario(self.scenario(max_lifetime_days=90))
        t30 = self.t0
        r = self.w.run("rotate", "mail", "--new")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stderr)
        adds = self.ops("add")
        self.assertEqual([q["status"] for q in adds], [400, 200])
        pend = [s for s in self.secrets() if s["key_id"] != K1]
        self.assertEqual(len(pend), 1)
        self.assertEqual(pend[0]["state"], "active")  # no delay
        self.assertEqual(pend[0]["expires_at"][:10],
                         rfc(t30 + 90 * DAY)[:10])
        self.assertWhole()
        self.assertNoSecrets()

    def test_lifetime_policy_read_first(self):
        # With Policy.Read.All the limit is read before asking: one
        # addPassword, accepted, for the longest lifetime allowed.
        self.grant_policy_read()
        self.graph.set_scenario(self.scenario(max_lifetime_days=90))
        r = self.w.run("rotate", "mail", "--new")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([q["status"] for q in self.ops("add")], [200])
        # The app's, then the tenant's, read once: the app's age (for a
        # limit that spares older apps) is known from the app's listing.
        self.assertEqual([q["status"] for q in self.ops("policy")],
                         [200] * 2)
        new = [s for s in self.secrets() if s["key_id"] != K1]
        self.assertEqual(new[0]["expires_at"][:10],
                         rfc(self.t0 + 90 * DAY)[:10])
        self.assertWhole()
        self.assertNoSecrets()

    def test_lifetime_policy_for_newer_apps_spares_this_one(self):
        self.grant_policy_read()
        self.graph.set_scenario(self.scenario(
            max_lifetime_days=90, policy_since="2021-06-01T00:00:00Z"))
        r = self.w.run("rotate", "mail", "--new")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stderr)
        adds = self.ops("add")
        self.assertEqual([q["status"] for q in adds], [200])
        self.assertEqual(adds[0]["end"][:10], rfc(self.t0 + 180 * DAY)[:10])

    def test_throttled_then_made(self):
        self.graph.set_scenario(self.scenario(
            throttle=True, throttle_first=2, retry_after=1))
        self.check(self.t0 + 10 * DAY)
        self.assertEqual(len([q for q in self.ops("add")
                              if q["status"] == 200]), 1)
        self.assertWhole()
        self.assertNoSecrets()

    def test_interrupted_rotation_orphan_removed(self):
        # A process died after addPassword, before storing the secret:
        # its intent is open and Entra holds a secret under its name.
        self.graph.set_scenario(self.scenario(replication_delay=600))
        self.check(self.t0 + 10 * DAY)
        made = self.ops("add")[0]
        con = self.db()
        with con:
            con.execute("UPDATE rotation SET state = 'open', "
                        "closed_at = NULL, secret_id = NULL, key_id = NULL")
            con.execute("DELETE FROM secret WHERE key_id = ?",
                        (made["key_id"],))
        con.close()
        self.check(self.t0 + 10 * DAY + 60)
        rm = self.ops("remove")
        self.assertEqual([q["key_id"] for q in rm], [made["key_id"]])
        self.assertEqual(len(self.ops("add")), 2)
        self.assertEqual(len(self.events("rotation-recovered")), 1)
        keys = {c["keyId"] for c in self.graph.credentials(CLIENT)}
        self.assertEqual(len(keys), 2)
        self.assertWhole()
        self.assertNoSecrets()


class TestDeployFailed(RotationCase):
    delay = 0

    def test_failed_deploy_blocks_revocation_and_alerts_once(self):
        with open(os.path.join(self.w.s.dir, "hook.sh"), "w") as f:
            f.write("#!/bin/sh\ncat > /dev/null\nexit 3\n")
        t30 = self.t0 + 10 * DAY
        for at in (t30, t30 + 120, t30 + 600, t30 + 3600):
            self.check(at)
        by = {s["key_id"]: s for s in self.secrets()}
        self.assertEqual(by[K1]["state"], "previous")
        self.assertGreaterEqual(len(self.events("deploy-failed")), 2)
        alerts = [q["json"] for q in self.w.webhook.requests()
                  if q["json"].get("event") == "deploy-failed"]
        self.assertEqual(len(alerts), 1, alerts)
        self.assertEqual(alerts[0]["level"], "warning")
        self.assertIn("not revoked", alerts[0]["message"])
        # Past the grace period: the old secret stays in Entra.
        self.check(t30 + 8 * DAY)
        self.assertEqual(self.ops("remove"), [])
        self.assertIn(K1, [c["keyId"] for c in
                           self.graph.credentials(CLIENT)])
        self.assertEqual(len([q for q in self.w.webhook.requests()
                              if q["json"].get("event") ==
                              "deploy-failed"]), 1)
        self.assertNoSecrets()


class TestDoctor(RotationCase):
    delay = 0

    def graph_rows(self):
        r = self.w.run("--json", "doctor", "mail")
        self.outputs += [r.stdout, r.stderr]
        doc = json.loads(r.stdout)
        return r, {g["step"]: g for g in doc["graph"]}

    def test_graph_steps_passed(self):
        r = self.w.run("doctor", "mail")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("Microsoft Graph (--rotate auto):", r.stdout)
        r, rows = self.graph_rows()
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual({k: v["status"] for k, v in rows.items()},
                         {"graph-token": "passed", "graph-read": "passed",
                          "graph-write": "passed", "graph-owner": "passed",
                          "graph-policy": "skipped"})
        self.assertIn("Application.ReadWrite.OwnedBy",
                      rows["graph-write"]["detail"])
        self.assertEqual(self.ops("add"), [])
        self.assertNoSecrets()

    def test_policy_read_with_permission(self):
        self.grant_policy_read()
        for app_policy, source in ((False, "the tenant's default policy"),
                                   (True, "the app's policy")):
            self.graph.set_scenario(self.scenario(
                max_lifetime_days=90, app_policy=app_policy))
            r, rows = self.graph_rows()
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            row = rows["graph-policy"]
            self.assertEqual(row["status"], "passed")
            self.assertEqual(row["detail"], source + " allows client "
                             "secrets 90 days at most; rotation asks for "
                             "that instead of 180")
        # None, or one for apps newer than this one (created 2020).
        for sc in (self.scenario(),
                   self.scenario(max_lifetime_days=90,
                                 policy_since="2021-06-01T00:00:00Z")):
            self.graph.set_scenario(sc)
            r, rows = self.graph_rows()
            self.assertEqual(rows["graph-policy"]["detail"],
                             "no policy limits client secrets; rotation "
                             "asks for 180 days")
        self.assertEqual(self.ops("add"), [])

    def test_policy_read_by_doctor_only(self):
        # The daily sync has no use for the policy: it does not read it.
        self.grant_policy_read()
        r = self.w.run("sync", "mail")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(len(self.ops("get")), 1)
        self.assertEqual(self.ops("policy"), [])
        self.graph_rows()
        self.assertEqual(len(self.ops("policy")), 2)

    def test_not_owner_and_no_role(self):
        sc = self.scenario()
        sc["apps"][CLIENT]["owner_of_itself"] = False
        self.graph.set_scenario(sc)
        r, rows = self.graph_rows()
        self.assertEqual(r.returncode, 2)
        self.assertEqual(rows["graph-token"]["status"], "passed")
        self.assertEqual(rows["graph-read"]["status"], "failed")
        self.assertEqual(rows["graph-owner"]["status"], "failed")
        self.assertIn("owner", rows["graph-owner"]["remedy"])
        # Without the Graph role: write permission fails, with its remedy.
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"}],
            roles={"https://outlook.office365.com": ["SMTP.SendAsApp"],
                   "https://graph.microsoft.com": []}))
        r, rows = self.graph_rows()
        self.assertEqual(r.returncode, 2)
        self.assertEqual(rows["graph-write"]["status"], "failed")
        self.assertIn("admin consent", rows["graph-write"]["remedy"])
        self.assertEqual(rows["graph-owner"]["status"], "skipped")
        self.assertEqual(self.ops("add"), [])
        self.assertNoSecrets()


class TestAddFromEntra(RotationCase):
    delay = 0
    K2 = "0b000000-0000-4000-8000-000000000002"

    def scenario(self, **kw):
        sc = super().scenario(**kw)
        sc["apps"][CLIENT]["credentials"].append(
            {"keyId": self.K2, "hint": m365.S2[:3],
             "end": rfc(self.t0 + 90 * DAY)})
        return sc

    def test_secret_add_takes_expiry_from_entra(self):
        r = self.w.run("secret", "add", "mail", input=m365.S2 + "\n")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stderr)
        by = {s["key_id"]: s for s in self.secrets()}
        self.assertEqual(by[self.K2]["expires_at"], rfc(self.t0 + 90 * DAY))
        self.assertEqual(by[self.K2]["state"], "pending")
        # A hint Entra does not have: says what to pass.
        r = self.w.run("secret", "add", "mail", input=m365.S3 + "\n")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 1)
        self.assertIn("--expires", r.stderr)
        self.assertIn(m365.S3[:3] + "~", r.stderr)
        self.assertEqual(len(self.secrets()), 2)
        self.assertNoSecrets()


class TestDailySync(RotationCase):
    delay = 0

    def test_cycle_reconciles_once_a_day(self):
        self.check(self.t0)             # never read: read now
        self.assertEqual(len(self.ops("get")), 1)
        self.graph.set_end(CLIENT, K1, rfc(self.t0 + 45 * DAY))
        self.check(self.t0 + 3600)      # within the day: not again
        self.assertEqual(len(self.ops("get")), 1)
        self.check(self.t0 + DAY + 60)  # a day on: read, and corrected
        self.assertEqual(len(self.ops("get")), 2)
        by = {s["key_id"]: s for s in self.secrets()}
        self.assertEqual(by[K1]["expires_at"], rfc(self.t0 + 45 * DAY))
        self.assertEqual(len(self.events("expiry-corrected")), 1)
        self.assertEqual(self.ops("add"), [])
        self.assertWhole()
        self.assertNoSecrets()


class TestManual(RotationCase):
    delay = 0

    def test_status_shows_next_rotation(self):
        at = rfc(self.t0 + 10 * DAY)
        r = self.w.run("status", "mail")
        self.assertIn("rotate: auto, next rotation " + at, r.stdout)
        r, doc = self.w.s.json("status")
        c = doc["credentials"][0]
        self.assertEqual((c["rotate"], c["next_rotation"]), ("auto", at))
        r = self.w.run("cred", "set", "mail", "--rotate", "manual")
        self.assertEqual(r.returncode, 0, r.stderr)
        r, doc = self.w.s.json("status")
        c = doc["credentials"][0]
        self.assertEqual((c["rotate"], c["next_rotation"]), ("manual", None))
        self.assertNotIn("rotate:", self.w.run("status").stdout)

    def test_rotate_new_and_dry_run(self):
        r = self.w.run("rotate", "mail", "--new", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("addPassword", r.stdout)
        self.assertEqual(self.ops("add"), [])
        r = self.w.run("rotate", "mail", "--new")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("made client secret", r.stdout)
        self.assertIn("switched mail", r.stdout)
        self.assertEqual(len(self.ops("add")), 1)
        self.assertWhole()
        self.assertNoSecrets()


if __name__ == "__main__":
    swtest.main()
