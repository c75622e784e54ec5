"""Certificates through the stand-in Graph: 'cert new --upload' adds the
certificate to the app's keyCredentials keeping the ones there (a GET of
the collection with its keys, then a PATCH of the whole collection), and
the stand-in Entra then verifies client assertions with it."""
import base64
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
from m365 import CLIENT, S1, SP_OID  # noqa: E402

fakes = m365.fakes
APP_OBJ = "dddddddd-0000-4000-8000-000000000004"
K1 = "0a000000-0000-4000-8000-000000000001"
OWNED = {"https://outlook.office365.com": ["SMTP.SendAsApp"],
         "https://graph.microsoft.com": ["Application.ReadWrite.OwnedBy"]}


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def graph_scenario():
    return {"apps": {CLIENT: {
        "id": APP_OBJ, "display_name": "secretwatch-test",
        "credentials": [{"keyId": K1, "hint": S1[:3],
                         "end": "2099-01-01T00:00:00Z"}]}}}


class GraphCertCase(unittest.TestCase):
    def setUp(self):
        self.w = m365.World(cred=False)
        self.addCleanup(self.w.close)
        self.w.entra.set_scenario(m365.entra_scenario(roles=OWNED))
        self.graph = self.w.stack.enter_context(
            fakes.Graph(graph_scenario(), entra=self.w.entra))
        self.w.configure()
        self.assertEqual(self.w.run("init").returncode, 0)
        r = self.w.run("cred", "add", "mail", "--tenant", m365.TENANT,
                       "--client-id", CLIENT, "--sender", m365.SENDER,
                       "--object-id", SP_OID, "--test-to", m365.OPS,
                       "--authority-url", self.w.entra.url,
                       "--smtp-url", self.w.smtp.url,
                       "--graph-url", self.graph.url)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.w.add_secret(S1, "+300d", "--key-id", K1, "--activate")

    def new_cert(self, *extra):
        out = os.path.join(self.w.s.dir, "cert.pem")
        r = self.w.run("cert", "new", "mail", "--out", out, *extra)
        with open(out) as f:
            return r, f.read()

    def der_b64(self, pem):
        body = "".join(line for line in pem.splitlines()
                       if line and not line.startswith("-----"))
        return base64.b64encode(base64.b64decode(body)).decode()

    def certs(self):
        _, doc = self.w.s.json("secret", "list", "mail")
        return [s for s in doc["secrets"] if s["kind"] == "certificate"]


class TestUpload(GraphCertCase):
    def test_upload_keeps_existing_keys_and_then_signs_in(self):
        r, pem1 = self.new_cert("--upload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("uploaded to the app's certificates", r.stdout)
        r, pem2 = self.new_cert("--upload")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        keys = self.graph.keys(CLIENT)
        self.assertEqual([k["key"] for k in keys],
                         [self.der_b64(pem1), self.der_b64(pem2)])
        # The store knows each certificate's key ID in Entra.
        ids = sorted(c["key_id"] for c in self.certs())
        self.assertEqual(ids, sorted(k["keyId"] for k in keys))
        # A read of the collection, then a PATCH of all of it.
        ops = [q["op"] for q in self.graph.requests() if q["op"] != "admin"]
        self.assertEqual(ops, ["get", "patch", "get"] * 2)
        # The stand-in Entra verifies an assertion with the upload.
        r = self.w.run("rotate", "mail")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        _, doc = self.w.s.json("status")
        self.assertEqual(doc["credentials"][0]["active"]["kind"],
                         "certificate")
        req = self.w.entra.requests()[-1]
        self.assertEqual(req["secret_via"], "assertion")
        self.assertIn(req["secret_label"], ids)
        # The switch message names a certificate, and the old secret.
        con = sqlite3.connect(self.w.s.db)
        payloads = " ".join(p for (p,) in con.execute(
            "SELECT payload FROM outbox WHERE kind = 'alert'"))
        con.close()
        self.assertIn("switched mail to certificate", payloads)
        self.assertIn("The previous secret S1a~", payloads)

    def test_upload_refused_without_permission(self):
        self.w.entra.set_scenario(m365.entra_scenario(
            roles={"https://outlook.office365.com": ["SMTP.SendAsApp"]}))
        r, _ = self.new_cert("--upload")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("stored, pending, but the upload failed", r.stderr)
        self.assertEqual(self.graph.keys(CLIENT), [])
        self.assertEqual(len(self.certs()), 1)
        self.assertEqual(self.certs()[0]["state"], "pending")


class TestMigrate(GraphCertCase):
    def test_migrate_to_certificate_and_remove_secrets(self):
        self.w.configure("[rotate]\ngrace = 1m\n")
        r = self.w.run("migrate", "mail", "--to", "certificate",
                       "--remove-secrets")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("switched mail", r.stdout)
        self.assertNotIn("PRIVATE KEY", r.stdout + r.stderr)
        _, doc = self.w.s.json("status")
        cred = doc["credentials"][0]
        self.assertEqual(cred["active"]["kind"], "certificate")
        keys = self.graph.keys(CLIENT)
        self.assertEqual([k["keyId"] for k in keys],
                         [cred["active"]["key_id"]])
        # The client secret stays through the grace period...
        t = int(time.time())
        r = self.w.run("check", "--now", rfc(t + 30))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([c["keyId"] for c in
                          self.graph.credentials(CLIENT)], [K1])
        # ...and goes after it, removed with a token got with the
        # certificate.
        r = self.w.run("check", "--now", rfc(t + 90))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.graph.credentials(CLIENT), [])
        _, doc = self.w.s.json("secret", "list", "mail")
        states = {s["kind"]: s["state"] for s in doc["secrets"]}
        self.assertEqual(states, {"secret": "revoked",
                                  "certificate": "active"})
        self.assertEqual(self.w.entra.requests()[-1]["secret_via"],
                         "assertion")

    def test_migrate_needs_to_certificate(self):
        r = self.w.run("migrate", "mail", "--to", "secret")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(self.certs(), [])


DAY = 86400
NONE = {"https://outlook.office365.com": ["SMTP.SendAsApp"]}


class TestLifecycle(GraphCertCase):
    """Migrate, then two rolls with addKey and removeKey while the app
    holds no Graph permission at all, the clock stepped by days (the
    stand-ins' clocks stepped with it)."""

    def at(self, day, roles=NONE):
        off = day * DAY
        sc = m365.entra_scenario(roles=roles)
        sc["clock_offset"] = off
        self.w.entra.set_scenario(sc)
        gs = graph_scenario()
        gs["clock_offset"] = off
        self.graph.set_scenario(gs)
        r = self.w.run("check", "--now", rfc(self.t0 + off))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def active(self):
        _, doc = self.w.s.json("status")
        return doc["credentials"][0]["active"]

    def test_migrate_then_roll_twice_without_permission(self):
        self.t0 = int(time.time())
        self.w.configure("[rotate]\nbefore = 30d\nlifetime = 90d\n"
                         "grace = 2d\n")
        r = self.w.run("migrate", "mail", "--to", "certificate",
                       "--remove-secrets", "--days", "90")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        first = self.active()["key_id"]
        # The client secret leaves Entra after the grace period (this
        # needs the permission the migration used).
        self.at(3, OWNED)
        self.assertEqual(self.graph.credentials(CLIENT), [])
        seen = [first]
        for day in (61, 122):
            self.at(day)  # 29 days left: addKey, test, switch
            a = self.active()
            self.assertEqual(a["kind"], "certificate")
            self.assertNotIn(a["key_id"], seen)
            self.assertTrue(a["last_test"]["ok"])
            self.assertEqual(len(self.graph.keys(CLIENT)), 2)
            self.at(day + 3)  # after grace: removeKey of the old one
            self.assertEqual([k["keyId"] for k in self.graph.keys(CLIENT)],
                             [a["key_id"]])
            seen.append(a["key_id"])
        ops = [q["op"] for q in self.graph.requests()]
        self.assertEqual(ops.count("addkey"), 2)
        self.assertEqual(ops.count("removekey"), 2)
        self.assertNotIn(403, [q["status"] for q in self.graph.requests()
                               if q["op"] in ("addkey", "removekey")])
        _, doc = self.w.s.json("secret", "list", "mail")
        states = sorted((s["kind"], s["state"]) for s in doc["secrets"])
        self.assertEqual(states, [("certificate", "active"),
                                  ("certificate", "revoked"),
                                  ("certificate", "revoked"),
                                  ("secret", "revoked")])


if __name__ == "__main__":
    unittest.main()
