"""Certificates through the stand-in Graph: 'cert new --upload' adds the
certificate to the app's keyCredentials keeping the ones there (a GET of
the collection with its keys, then a PATCH of the whole collection), and
the stand-in Entra then verifies client assertions with it."""
import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from m365 import CLIENT, S1  # noqa: E402

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
        self.w.add_cred("--graph-url", self.graph.url)
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
        r = self.w.run("check", "--now", rfc(t + 30), "--force")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual([c["keyId"] for c in
                          self.graph.credentials(CLIENT)], [K1])
        # ...and goes after it, removed with a token got with the
        # certificate.
        r = self.w.run("check", "--now", rfc(t + 90), "--force")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.graph.credentials(CLIENT), [])
        _, doc = self.w.s.json("secret", "list", "mail")
        states = {s["kind"]: s["state"] for s in doc["secrets"]}
        self.assertEqual(states, {"secret": "revoked",
                                  "certificate": "active"})
        self.assertEqual(self.w.entra.requests()[-1]["secret_via"],
                         "assertion")

    def test_migrate_test_fails_then_watchdog_switches_and_removes(self):
        self.w.configure("[rotate]\ngrace = 1m\n")
        self.w.smtp.set_scenario(m365.smtp_scenario(
            service_principals={CLIENT: {"full_access": []}}))
        # The watchdog switches to a pending certificate that outlives
        # the active secret (as to a secret): 365 days > 300.
        r = self.w.run("migrate", "mail", "--to", "certificate",
                       "--remove-secrets", "--days", "365")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("stays pending", r.stdout)
        self.assertEqual(self.certs()[0]["state"], "pending")
        self.w.smtp.set_scenario(m365.smtp_scenario())
        t = int(time.time())
        for at in (t + 150, t + 240):  # the switch retry, then grace
            r = self.w.run("check", "--now", rfc(at), "--force")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(self.certs()[0]["state"], "active")
        self.assertEqual(self.graph.credentials(CLIENT), [])

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
        gs.update(getattr(self, "graph_extra", {}))
        self.graph.set_scenario(gs)
        r = self.w.run("check", "--now", rfc(self.t0 + off), "--force")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.outs.append(r.stdout + r.stderr)
        return r

    def setUp(self):
        super().setUp()
        self.outs = []
        self.t0 = int(time.time())
        d = tempfile.mkdtemp()
        self.deployed = os.path.join(d, "deployed")
        hook = os.path.join(d, "hook.sh")
        with open(hook, "w") as f:
            f.write(f"#!/bin/sh\ncat >> {self.deployed}\n")
        os.chmod(hook, 0o755)
        self.w.configure(
            "[rotate]\nbefore = 30d\nlifetime = 90d\ngrace = 2d\n"
            f"[deploy]\nhook = {hook}\n[metrics]\ntextfile = "
            f"{os.path.join(self.w.s.dir, 'm.prom')}\n")

    def assertNoKeyBytes(self):
        """No private key (DER, PEM, base64) in the store's directory
        (database, WAL, metrics), the output, or what the stand-ins
        were sent."""
        with open(self.deployed) as f:
            text = f.read()
        keys = re.findall(r"-----BEGIN PRIVATE KEY-----\n.*?"
                          r"-----END PRIVATE KEY-----\n", text, re.S)
        self.assertEqual(len(keys), 3)
        needles = [b"PRIVATE KEY"]
        openssl = swtest.need("openssl", "openssl")
        for k in keys:
            for fmt in (["-traditional"], []):
                der = subprocess.run(
                    [openssl, "pkey", "-outform", "DER"] + fmt,
                    input=k.encode(), capture_output=True,
                    check=True).stdout
                needles += [der[len(der) // 2:len(der) // 2 + 48],
                            base64.b64encode(der)[:64]]
            needles.append("".join(k.splitlines()[1:-1])[:64].encode())
        for args in (["--json", "status"], ["--json", "secret", "list"],
                     ["--json", "log"]):
            r = self.w.run(*args)
            self.outs.append(r.stdout + r.stderr)
        blobs = [o.encode() for o in self.outs]
        for top, _, files in os.walk(self.w.s.dir):
            for name in files:
                with open(os.path.join(top, name), "rb") as f:
                    blobs.append(f.read())
        blobs += [json.dumps(q).encode() for q in
                  self.w.entra.requests() + self.graph.requests()]
        for b in blobs:
            for n in needles:
                self.assertNotIn(n, b)

    def active(self):
        _, doc = self.w.s.json("status")
        return doc["credentials"][0]["active"]

    def test_migrate_then_roll_twice_without_permission(self):
        r = self.w.run("migrate", "mail", "--to", "certificate",
                       "--remove-secrets", "--days", "90")
        self.outs.append(r.stdout + r.stderr)
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
        self.assertNoKeyBytes()

    def migrate_auto(self):
        r = self.w.run("migrate", "mail", "--to", "certificate",
                       "--days", "90")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.w.run("cred", "set", "mail", "--rotate", "auto")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return self.active()["key_id"]

    def test_lost_addkey_reply_then_switched_to(self):
        first = self.migrate_auto()
        # addKey adds the key, and the reply is lost: the intent stays
        # open, the certificate pending with the key ID asked for.
        self.graph_extra = {"drop_addkey_reply": 1}
        self.at(61)
        self.assertEqual(self.active()["key_id"], first)
        lost = [k["keyId"] for k in self.graph.keys(CLIENT)
                if k["keyId"] != first]
        self.assertEqual(len(lost), 1)
        # Next cycle: it passes its test (Entra has it) and is switched
        # to; the intent is closed as done, with no second key.
        self.graph_extra = {}
        self.at(62)
        self.assertEqual(self.active()["key_id"], lost[0])
        self.assertEqual(sorted(k["keyId"] for k in
                                self.graph.keys(CLIENT)),
                         sorted([first, lost[0]]))
        self.assertEqual([q["op"] for q in self.graph.requests()].count(
            "addkey"), 1)

    def test_addkey_chooses_the_key_id_when_ours_is_refused(self):
        first = self.migrate_auto()
        for mode, calls in (("reject", [400, 200]), ("ignore", [200])):
            self.graph_extra = {"addkey_key_id": mode}
            before = len(self.graph.requests())
            self.at(61 if mode == "reject" else 122)
            adds = [q["status"] for q in self.graph.requests()[before:]
                    if q["op"] == "addkey"]
            self.assertEqual(adds, calls, mode)
            # The active certificate carries the key ID Graph gave it,
            # so its removal after grace finds it.
            now = self.active()["key_id"]
            self.assertNotEqual(now, first)
            self.assertIn(now, [k["keyId"] for k in self.graph.keys(CLIENT)])
            self.at((61 if mode == "reject" else 122) + 3)
            self.assertEqual([k["keyId"] for k in self.graph.keys(CLIENT)],
                             [now], mode)
            first = now

    def test_addkey_never_reached_is_undone_then_done(self):
        first = self.migrate_auto()
        # Graph answers 500 to addKey: nothing was made, but the client
        # cannot know; the intent stays open.
        self.graph_extra = {"fail_addkey": True}
        self.at(61)
        self.assertEqual([k["keyId"] for k in self.graph.keys(CLIENT)],
                         [first])
        # Next cycle: its test fails (Entra does not know the key), so
        # the key ID it asked for is removed (absent: 404), the row
        # ends (revoked), and a new roll succeeds.
        self.graph_extra = {}
        self.at(62)
        now = self.active()["key_id"]
        self.assertNotEqual(now, first)
        self.assertEqual(sorted(k["keyId"] for k in
                                self.graph.keys(CLIENT)),
                         sorted([first, now]))
        _, doc = self.w.s.json("secret", "list", "mail")
        # Gone from Entra, its row is revoked (its key wiped).
        self.assertIn(("certificate", "revoked"),
                      [(s["kind"], s["state"]) for s in doc["secrets"]])
        ops = [q["op"] for q in self.graph.requests()]
        self.assertIn("removekey", ops)

if __name__ == "__main__":
    swtest.main()
