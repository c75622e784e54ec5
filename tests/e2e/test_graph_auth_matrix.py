"""Every command and cycle step that talks to Entra or Graph, with each
kind of credential. For a client secret, the token request carries it
in the body; for a certificate, a client assertion that the stand-in
Entra verifies against the uploaded certificate, and never a
client_secret field. No request body that either stand-in received
ever holds a private key: its PEM, its DER, or any 16-byte window of
its private numbers, raw, URL-escaped or base64."""
import base64
import datetime
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402
from m365 import CLIENT, S1, S2  # noqa: E402

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

fakes = m365.fakes
APP_OBJ = "dddddddd-0000-4000-8000-000000000004"
K1 = "0a000000-0000-4000-8000-000000000001"
K2 = "0a000000-0000-4000-8000-000000000002"
KC = "0c000000-0000-4000-8000-00000000000c"
ROLES = {"https://outlook.office365.com": ["SMTP.SendAsApp"],
         "https://graph.microsoft.com": ["Application.ReadWrite.OwnedBy",
                                         "Policy.Read.All"]}
DAY = 86400
WINDOW = 16


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def make_pair(days=120):
    """A key and a self-signed certificate, as a portal upload would
    have: (key PEM, cert PEM, cert DER)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    kpem = key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    return (kpem, cert.public_bytes(serialization.Encoding.PEM),
            cert.public_bytes(serialization.Encoding.DER))


def key_needles(key_pem):
    """Every 16-byte window of the key's private numbers (d, p, q and
    the CRT values): what no public part of a certificate holds, and
    what any encoding of the key (PKCS#1, PKCS#8, PEM) carries."""
    n = serialization.load_pem_private_key(key_pem, None).private_numbers()
    out = set()
    for i in (n.d, n.p, n.q, n.dmp1, n.dmq1, n.iqmp):
        b = i.to_bytes((i.bit_length() + 7) // 8, "big")
        out.update(b[k:k + WINDOW] for k in range(len(b) - WINDOW + 1))
    return out


def views(raw):
    """The body as sent, URL-unescaped, and every long base64 run in it
    decoded: a key hidden in any of these is found."""
    out = [raw, urllib.parse.unquote_to_bytes(raw)]
    for blob in list(out):
        for run in re.findall(rb"[A-Za-z0-9+/_-]{40,}={0,2}", blob):
            for dec in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    out.append(dec(run + b"=" * (-len(run) % 4)))
                except ValueError:
                    pass
    return out


def holds_key(raw, needles):
    for v in views(raw):
        if b"PRIVATE KEY" in v:
            return True
        for i in range(len(v) - WINDOW + 1):
            if v[i:i + WINDOW] in needles:
                return True
    return False


class Matrix(unittest.TestCase):
    """One world per kind of active material; steps run in order, each
    checked on the requests it made."""
    kind = None
    FORCE = ("--force",)

    def setUp(self):
        self.t0 = int(time.time())
        self.keys = []
        self.w = m365.World(cred=False)
        self.addCleanup(self.w.close)
        self.w.entra.set_scenario(m365.entra_scenario(roles=ROLES))
        app = {"id": APP_OBJ, "display_name": "matrix",
               "credentials": [
                   {"keyId": K1, "hint": S1[:3], "end": rfc(self.t0 +
                                                             300 * DAY)},
                   {"keyId": K2, "hint": S2[:3], "end": rfc(self.t0 +
                                                             400 * DAY)}]}
        if self.kind == "certificate":
            kpem, cpem, cder = make_pair()
            self.keys.append(kpem)
            app["keys"] = [{"key": base64.b64encode(cder).decode(),
                            "keyId": KC, "displayName": "portal"}]
        self.graph = self.w.stack.enter_context(
            fakes.Graph({"apps": {CLIENT: app}}, entra=self.w.entra))
        d = tempfile.mkdtemp(dir=self.w.s.dir)
        self.deployed = os.path.join(d, "deployed")
        hook = os.path.join(d, "hook.sh")
        with open(hook, "w") as f:
            f.write(f"#!/bin/sh\ncat >> {self.deployed}\n")
        os.chmod(hook, 0o755)
        self.w.configure(f"[rotate]\nbefore = 30d\nlifetime = 200d\n"
                         f"grace = 1d\n[deploy]\nhook = {hook}\n")
        self.w.add_cred("--graph-url", self.graph.url, "--rotate", "auto")
        if self.kind == "secret":
            self.w.add_secret(S1, rfc(self.t0 + 300 * DAY), "--key-id", K1,
                              "--activate")
        else:
            self.pem_files(kpem, cpem)
            self.ok("cert", "import", "mail", "--key-file", self.kfile,
                    "--cert-file", self.cfile)
            self.ok("rotate", "mail")
        self.seen = set()

    def pem_files(self, kpem, cpem):
        self.kfile = os.path.join(self.w.s.dir, "k.pem")
        self.cfile = os.path.join(self.w.s.dir, "c.pem")
        with open(os.open(self.kfile, os.O_WRONLY | os.O_CREAT, 0o600),
                  "wb") as f:
            f.write(kpem)
        with open(self.cfile, "wb") as f:
            f.write(cpem)

    def ok(self, *args, code=0, **kw):
        r = self.w.run(*args, **kw)
        self.assertEqual(r.returncode, code, (args, r.stdout, r.stderr))
        return r

    def at(self, days):
        """Step the stand-ins' clocks with the client's."""
        off = days * DAY
        sc = m365.entra_scenario(roles=ROLES)
        sc["clock_offset"] = off
        self.w.entra.set_scenario(sc)
        self.graph.update_scenario(clock_offset=off)
        return rfc(self.t0 + off)

    def active_kind(self):
        _, doc = self.w.s.json("status")
        return doc["credentials"][0]["active"]["kind"]

    def step(self, name, *args, graph=True, run=None, value=None):
        """Run one command (args, or the function run), then check the
        token requests it made: those for Graph authenticated as the
        active material's kind, every assertion verified by the
        stand-in, never a client_secret from a certificate world; and
        at least one Graph call when graph is set. value: a client
        secret the step registers, which reads Entra itself."""
        kind = self.active_kind()
        e0, g0 = len(self.w.entra.requests()), len(self.graph.requests())
        if run is not None:
            run()
        else:
            self.ok(*args)
        reqs = self.w.entra.requests()[e0:]
        bodies = self.w.entra.bodies()[e0:]
        self.assertEqual(len(reqs), len(bodies), name)
        self.assertTrue(reqs, f"{name}: no token request")
        greqs = [q for q in self.graph.requests()[g0:] if q["op"] != "admin"]
        self.assertEqual(bool(greqs), graph, f"{name}: Graph calls")
        for q, (_, raw) in zip(reqs, bodies):
            form = dict(urllib.parse.parse_qsl(raw.decode("latin-1")))
            self.assertNotEqual(q.get("secret_shape"), "invalid", name)
            if "client_assertion" in form:
                self.assertNotIn("client_secret", form, name)
                self.assertEqual(q["secret_via"], "assertion", (name, q))
                self.assertEqual(q["status"], 200, (name, q))
            if form.get("client_secret") == value:
                continue  # the new secret's own value, proving it
            if self.kind == "certificate":
                self.assertNotIn("client_secret", form, (name, q))
            if "graph" in (q["scope"] or ""):
                self.assertEqual(q["secret_via"],
                                 "assertion" if kind == "certificate"
                                 else "form", (name, q))
        self.seen.add(name)

    def test_every_graph_caller(self):
        self.step("token", run=self.token_uncached, graph=False)
        self.step("test", "test", "mail", graph=False)
        self.step("sync", "sync", "mail")
        self.step("doctor", run=self.doctor)
        self.step("daily sync", run=self.daemon_once)
        self.step("secret add without --expires", value=S2,
                  run=lambda: self.ok("secret", "add", "mail",
                                      input=S2 + "\n"))
        if self.kind == "certificate":
            # Registered to read Entra with the certificate; not to be
            # switched to.
            self.ok("secret", "retire", "mail", K2)
        self.step("cert new --upload", "cert", "new", "mail", "--upload",
                  "--out", os.path.join(self.w.s.dir, "new.pem"))
        kind = self.active_kind()
        self.step("rotate --new", "rotate", "mail", "--new")
        self.assertEqual(self.active_kind(), kind, "rotate --new")
        self.roll_and_revoke()
        self.assertEqual(self.active_kind(), kind, "the roll")
        if self.kind == "secret":
            self.step("migrate", "migrate", "mail", "--to", "certificate")
            self.assertEqual(self.active_kind(), "certificate")
        self.assertNoKeyInAnyBody()

    def token_uncached(self):
        con = sqlite3.connect(self.w.s.db)
        with con:
            con.execute("DELETE FROM token_cache")
        con.close()
        self.ok("token", "mail")

    def doctor(self):
        r = self.w.run("doctor", "mail")
        self.assertIn(r.returncode, (0, 2), r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"passed\s+Token for Microsoft Graph")

    def daemon_once(self):
        """The daemon's cycle a day later: its daily sync reads Entra."""
        self.at(1 + 60 / DAY)
        p = subprocess.run(swtest.wrap([swtest.SWD, "-c", self.w.s.conf,
                                        "--once"]),
                           env=swtest.daemon_env(self.t0 + DAY + 60),
                           capture_output=True, text=True,
                           timeout=120 * swtest.SLOW)
        self.assertEqual(p.returncode, 0, p.stderr)
        # Nothing failed (the cycle's own line counts "(0 failed)").
        said = [line for line in p.stderr.splitlines()
                if " cycle: " not in line]
        self.assertNotIn("failed", "\n".join(said), p.stderr)
        self.at(0)

    def roll_and_revoke(self):
        """The cycle's roll when the active one has 29 days left, then
        the revocation after grace."""
        _, doc = self.w.s.json("status")
        day = doc["credentials"][0]["active"]["days_left"] - 29
        self.step("the roll", "check", "--now", self.at(day), *self.FORCE)
        self.step("revoke after grace", "check", "--now", self.at(day + 2),
                  *self.FORCE)
        ops = [q["op"] for q in self.graph.requests()]
        self.assertIn("removekey" if self.kind == "certificate"
                      else "remove", ops)
        self.at(0)

    def assertNoKeyInAnyBody(self):
        if os.path.exists(self.deployed):
            with open(self.deployed, "rb") as f:
                text = f.read()
            self.keys += re.findall(
                rb"-----BEGIN PRIVATE KEY-----\n.*?"
                rb"-----END PRIVATE KEY-----\n", text, re.S)
        self.assertTrue(self.keys or self.kind == "secret")
        needles = set()
        for k in self.keys:
            needles |= key_needles(k)
        bodies = self.w.entra.bodies() + self.graph.bodies()
        self.assertGreater(len(bodies), 10)
        for path, raw in bodies:
            self.assertFalse(holds_key(raw, needles), path)
            if self.kind == "certificate" and S2.encode() not in raw:
                self.assertNotIn(b"client_secret", raw, path)


class TestClientSecret(Matrix):
    kind = "secret"


class TestCertificate(Matrix):
    kind = "certificate"


del Matrix

if __name__ == "__main__":
    swtest.main()
