"""Setups without dead ends: the first secret of a credential that can
read Graph takes its expiry and key ID from Entra with its own value; a
certificate uploaded in the portal rolls itself once the application's
object ID is given (or learned from a Graph read); secret retire takes
the portal's Secret ID; rotate --new of a certificate makes a
certificate; and warnings of a credential that rotates itself say what
the watchdog is doing."""
import base64
import datetime
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402
from m365 import CLIENT, S1  # noqa: E402
from test_rotation import APP_OBJ, DAY, K1, ROLES, rfc  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

fakes = m365.fakes
KC = "0c000000-0000-4000-8000-00000000000c"
NO_GRAPH = {"https://outlook.office365.com": ["SMTP.SendAsApp"]}


def portal_pair(days):
    """A key and certificate as a portal upload would have them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    return (key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()),
            cert.public_bytes(serialization.Encoding.PEM),
            cert.public_bytes(serialization.Encoding.DER))


class SetupCase(unittest.TestCase):
    roles = ROLES

    def setUp(self):
        self.t0 = int(time.time())
        self.w = m365.World(cred=False)
        self.addCleanup(self.w.close)
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"}],
            roles=self.roles))
        self.graph = self.w.stack.enter_context(
            fakes.Graph(self.scenario(), entra=self.w.entra))
        self.w.configure(f"[alerts]\nwebhook_url = {self.w.webhook.url}\n")

    def scenario(self, **kw):
        sc = {"apps": {CLIENT: {
            "id": APP_OBJ, "display_name": "secretwatch-test",
            "credentials": [{"keyId": K1, "hint": S1[:3],
                             "end": rfc(self.t0 + 200 * DAY)}]}}}
        sc.update(kw)
        return sc

    def ok(self, *args, code=0, **kw):
        r = self.w.run(*args, **kw)
        self.assertEqual(r.returncode, code, (args, r.stdout, r.stderr))
        return r

    def secrets(self):
        _, doc = self.w.s.json("secret", "list", "mail")
        return doc["secrets"]


class TestFirstSecret(SetupCase):
    def test_first_secret_reads_entra_with_its_own_value(self):
        self.w.add_cred("--graph-url", self.graph.url)
        r = self.ok("secret", "add", "mail", "--activate",
                    input=S1 + "\n")
        s = self.secrets()[0]
        self.assertEqual(s["key_id"], K1)
        self.assertEqual(s["expires_at"][:10], rfc(self.t0 + 200 * DAY)[:10])
        self.assertEqual(s["state"], "active")
        self.assertNotIn("needs --expires", r.stderr)

    def test_a_wrong_first_value_says_why_the_expiry_is_needed(self):
        self.w.add_cred("--graph-url", self.graph.url)
        r = self.w.run("secret", "add", "mail",
                       input="Zz9Q~not.the-value-0123456789abcdefghi\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs --expires", r.stderr)
        self.assertIn("rejected the client secret", r.stderr)
        self.assertEqual(self.secrets(), [])


class TestRetireByKeyId(SetupCase):
    def test_retire_takes_the_secret_id_of_the_portal(self):
        self.w.add_cred("--graph-url", self.graph.url)
        self.w.add_secret(S1, "+100d", "--key-id", K1)
        self.ok("secret", "retire", "mail", K1.upper())
        self.assertEqual(self.secrets()[0]["state"], "retired")


class TestPortalCertificate(SetupCase):
    roles = NO_GRAPH

    def scenario(self, **kw):
        sc = super().scenario(**kw)
        sc["apps"][CLIENT]["keys"] = [{
            "key": base64.b64encode(self.pair[2]).decode(), "keyId": KC,
            "displayName": "portal"}]
        return sc

    def setUp(self):
        self.pair = portal_pair(60)
        super().setUp()
        kpem, cpem, _ = self.pair
        kf = os.path.join(self.w.s.dir, "k.pem")
        cf = os.path.join(self.w.s.dir, "c.pem")
        with open(os.open(kf, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(kpem)
        with open(cf, "wb") as f:
            f.write(cpem)
        self.w.add_cred("--graph-url", self.graph.url, "--rotate", "auto")
        self.ok("cert", "import", "mail", "--key-file", kf, "--cert-file",
                cf)
        self.ok("rotate", "mail")

    def at(self, days):
        off = days * DAY
        sc = m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"}],
            roles=self.roles)
        sc["clock_offset"] = off
        self.w.entra.set_scenario(sc)
        self.graph.set_scenario(self.scenario(clock_offset=off))
        return self.ok("check", "--now", rfc(self.t0 + off), "--force")

    def test_rolls_once_its_object_id_is_given(self):
        self.at(31)  # 29 days left: the roll, but no object ID
        alerts = [q["json"] for q in self.w.webhook.requests()
                  if q["json"].get("event") == "rotation-failed"]
        self.assertEqual(len(alerts), 1)
        self.assertIn("--app-object-id", alerts[0]["message"])
        self.ok("cred", "set", "mail", "--app-object-id", APP_OBJ)
        r = self.ok("cred", "show", "mail")
        self.assertIn(APP_OBJ, r.stdout)
        self.at(32 + 1)  # a day after the refused try
        ops = [q["op"] for q in self.graph.requests()]
        self.assertIn("addkey", ops)
        _, doc = self.w.s.json("status")
        active = doc["credentials"][0]["active"]
        self.assertEqual(active["kind"], "certificate")
        self.assertNotEqual(active["key_id"], KC)

    def test_rotate_new_of_a_certificate_makes_a_certificate(self):
        self.ok("cred", "set", "mail", "--app-object-id", APP_OBJ)
        r = self.ok("rotate", "mail", "--new", "--dry-run")
        self.assertIn("addKey", r.stdout)
        self.assertIn("new certificate", r.stdout)
        self.assertNotIn("addPassword", r.stdout)
        self.ok("rotate", "mail", "--new")
        _, doc = self.w.s.json("status")
        self.assertEqual(doc["credentials"][0]["active"]["kind"],
                         "certificate")
        self.assertEqual([q["op"] for q in self.graph.requests()
                          if q["op"] in ("add", "addkey")], ["addkey"])


class TestWarningSaysWhatTheWatchdogDoes(SetupCase):
    def test_rotating_credential_warning(self):
        self.graph.set_scenario(self.scenario(replication_delay=3600))
        # A long switch window: the new secret keeps waiting.
        self.w.configure(self.w.extra + "[watch]\nswitch_window = 30d\n")
        self.w.add_cred("--graph-url", self.graph.url, "--rotate", "auto")
        self.w.add_secret(S1, rfc(self.t0 + 40 * DAY), "--key-id", K1,
                          "--activate")
        self.ok("check", "--now", rfc(self.t0 + 10 * DAY), "--force")
        self.ok("check", "--now", rfc(self.t0 + 26 * DAY), "--force")
        msgs = [q["json"]["message"] for q in self.w.webhook.requests()
                if q["json"].get("event") == "expiry-warning"]
        self.assertTrue(msgs)
        self.assertIn("waits for Entra to accept it", msgs[-1])
        self.assertIn("Only if that stops", msgs[-1])
        self.assertNotIn("Create a new client secret", json.dumps(msgs))


if __name__ == "__main__":
    swtest.main()
