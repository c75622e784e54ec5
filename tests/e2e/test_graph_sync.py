"""secretwatch sync against the stand-in Graph and Entra: expiry drift
corrected and recorded, a secret removed in Entra alerted once (critical
for the active one, on the webhook), secrets unknown to the store listed,
Graph's refusals diagnosed, throttling retried, and no secret value in
any output, audit event or alert."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402
from m365 import CLIENT, S1, S2, SP_OID  # noqa: E402

fakes = m365.fakes
APP_OBJ = "dddddddd-0000-4000-8000-000000000004"
K1 = "0a000000-0000-4000-8000-000000000001"
K2 = "0a000000-0000-4000-8000-000000000002"
K3 = "0a000000-0000-4000-8000-000000000003"
ROLES = {"https://outlook.office365.com": ["SMTP.SendAsApp"],
         "https://graph.microsoft.com": ["Application.ReadWrite.OwnedBy"]}


def graph_scenario(**kw):
    sc = {"apps": {CLIENT: {
        "id": APP_OBJ, "display_name": "secretwatch-test",
        "credentials": [
            {"keyId": K1, "hint": S1[:3], "end": "2027-06-01T00:00:00Z"},
            {"keyId": K2, "hint": S2[:3], "end": "2027-09-01T00:00:00Z"},
            {"keyId": K3, "hint": "Zz9", "end": "2027-01-01T00:00:00Z",
             "displayName": "someone else's"}]}}}
    sc.update(kw)
    return sc


class SyncBase(unittest.TestCase):
    def scenario(self):
        return graph_scenario()

    def setUp(self):
        self.w = m365.World(cred=False)
        self.addCleanup(self.w.close)
        self.w.entra.set_scenario(m365.entra_scenario(roles=ROLES))
        self.graph = self.w.stack.enter_context(
            fakes.Graph(self.scenario(), entra=self.w.entra))
        self.w.configure(f"[alerts]\nwebhook_url = {self.w.webhook.url}\n")
        self.w.add_cred("--graph-url", self.graph.url)
        # S1 active with its key ID and a wrong expiry; S2 pending with
        # neither key ID nor the right expiry.
        self.w.add_secret(S1, "2027-05-01", "--key-id", K1, "--activate")
        self.w.add_secret(S2, "2027-08-01")
        self.outputs = []

    def sync(self, code=0):
        r, doc = self.w.s.json("sync", "mail")
        self.outputs += [r.stdout, r.stderr]
        self.assertEqual(r.returncode, code, r.stderr)
        return doc["credentials"][0]

    def events(self, kind):
        r, doc = self.w.s.json("log", "mail")
        self.outputs.append(r.stdout)
        evs = doc if isinstance(doc, list) else doc.get("events", [])
        return [e for e in evs if e.get("kind") == kind]

    def removal_alerts(self):
        return [q for q in self.w.webhook.requests()
                if "secret-removed" in json.dumps(q)]

    def assertNoSecrets(self):
        blob = "\n".join(self.outputs) + json.dumps(
            self.w.webhook.requests()) + json.dumps(self.graph.requests())
        for v in [S1, S2] + self.graph.issued():
            self.assertNotIn(v, blob)


class SyncCase(SyncBase):
    def test_drift_corrected_and_unknown_listed(self):
        c = self.sync()
        self.assertTrue(c["graph_ok"])
        self.assertEqual(c["app_object_id"], APP_OBJ)
        by = {s["hint"]: s for s in c["secrets"]}
        self.assertEqual(by[S1[:3]]["outcome"], "corrected")
        self.assertEqual(by[S1[:3]]["entra_expires_at"],
                         "2027-06-01T00:00:00Z")
        self.assertEqual(by[S2[:3]]["outcome"], "corrected")
        self.assertEqual([u["key_id"] for u in c["unknown"]], [K3])
        self.assertEqual(c["unknown"][0]["expires_at"],
                         "2027-01-01T00:00:00Z")
        corr = self.events("expiry-corrected")
        self.assertEqual(len(corr), 2, corr)
        self.assertIn("2027-05-01T00:00:00Z", json.dumps(corr))
        self.assertEqual(len(self.events("graph-read")), 1)
        r, lst = self.w.s.json("secret", "list", "mail")
        self.outputs.append(r.stdout)
        self.assertIn(K2, r.stdout)   # the key ID learnt by its hint
        self.assertIn("2027-09-01", r.stdout)
        # Once reconciled, a second sync changes nothing.
        c = self.sync()
        self.assertEqual({s["outcome"] for s in c["secrets"]}, {"same"})
        self.assertEqual(len(self.events("expiry-corrected")), 2)
        r = self.w.run("sync")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("unknown to secretwatch: Zz9~ key " + K3, r.stdout)
        self.outputs += [r.stdout, r.stderr]
        self.assertNoSecrets()

    def test_active_removed_in_entra_alerts_once(self):
        self.graph.delete(CLIENT, K1)
        c = self.sync()
        s1 = [s for s in c["secrets"] if s["hint"] == S1[:3]][0]
        self.assertEqual((s1["outcome"], s1["alerted"]), ("removed", True))
        alerts = self.removal_alerts()
        self.assertEqual(len(alerts), 1, self.w.webhook.requests())
        self.assertIn("critical", json.dumps(alerts[0]))
        self.assertIn(K1, json.dumps(alerts[0]))
        c = self.sync()
        s1 = [s for s in c["secrets"] if s["hint"] == S1[:3]][0]
        self.assertEqual((s1["outcome"], s1["alerted"]), ("removed", False))
        self.assertEqual(len(self.removal_alerts()), 1)
        self.assertEqual(len(self.events("secret-removed-in-entra")), 1)
        self.assertNoSecrets()

    def test_denied_diagnosed_with_commands(self):
        sc = graph_scenario()
        sc["apps"][CLIENT]["owner_of_itself"] = False
        self.graph.set_scenario(sc)
        c = self.sync(code=1)
        d = c["diagnosis"]
        self.assertEqual(d["step"], "graph-permission")
        self.assertIn("Application.ReadWrite.OwnedBy", d["remedy"])
        self.assertIn("az ad app owner add --id %s --owner-object-id %s"
                      % (CLIENT, SP_OID), d["remedy"])
        self.assertIn("New-MgApplicationOwnerByRef", d["remedy"])
        self.assertIn("Authorization_RequestDenied", d["evidence"])
        ev = self.events("graph-read")
        self.assertEqual(ev[-1]["detail"]["outcome"], "failed")
        self.assertEqual(self.events("expiry-corrected"), [])
        r = self.w.run("sync", "mail")
        self.assertEqual(r.returncode, 1)
        self.assertIn("broken step: Graph permission", r.stdout)
        self.assertNoSecrets()

    def test_not_found_diagnosed(self):
        self.graph.set_scenario({"apps": {}})
        d = self.sync(code=1)["diagnosis"]
        self.assertEqual(d["step"], "graph-app")
        self.assertIn(CLIENT, d["summary"])

    def test_throttling_retried(self):
        self.graph.set_scenario(graph_scenario(throttle=True,
                                               throttle_first=1,
                                               retry_after=1))
        c = self.sync()
        self.assertTrue(c["graph_ok"])
        gets = [q for q in self.graph.requests() if q["op"] == "get"]
        self.assertEqual([q["status"] for q in gets], [429, 200])


class TestHostileNames(SyncBase):
    """An app's owner names the app and its secrets; this host's terminal
    must not obey them."""

    def scenario(self):
        sc = graph_scenario()
        app = sc["apps"][CLIENT]
        app["display_name"] = "pay\u202eroll\u009b31m\u2066x"
        app["credentials"][2]["displayName"] = "z\u001b[2Jz\u202ey"
        app["credentials"][2]["hint"] = "\u202e"
        return sc

    def test_graph_names_escaped_on_the_terminal(self):
        raw = ("\x1b", "\x9b", "\u009b", "\u202e", "\u2066")
        for args in (["sync"], ["log", "mail"]):
            r = self.w.run(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            for ch in raw:
                self.assertNotIn(ch, r.stdout + r.stderr, args)
        r = self.w.run("sync")
        self.assertIn("app pay\\xe2\\x80\\xaeroll\\xc2\\x9b31m"
                      "\\xe2\\x81\\xa6x (object ID", r.stdout)
        self.assertIn("unknown to secretwatch: \\xe2\\x80\\xae~ key " + K3,
                      r.stdout)
        self.assertIn(", named z [2Jz\\xe2\\x80\\xaey", r.stdout)
        # JSON keeps the names as they are, for programs.
        c = self.sync()
        self.assertEqual(c["unknown"][0]["display_name"],
                         "z [2Jz\u202ey")


if __name__ == "__main__":
    swtest.main()
