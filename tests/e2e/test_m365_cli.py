"""test, doctor, token and rotate against the stand-in Microsoft servers:
every failure class gets its setup step and remedy, and no secret or
token leaks into output, JSON or the audit trail."""
import email
import email.utils
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from m365 import WorldCase, S1, S2, S3  # noqa: E402


class TestSuccess(WorldCase):
    def test_test_delivers_with_exactly_that_secret(self):
        self.w.add_secret(S1)
        r = self.w.run("test", "mail")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("all steps passed", r.stdout)
        msgs = self.w.smtp.messages()
        self.assertEqual(len(msgs), 1)
        m = msgs[0]
        self.assertEqual(m["claims"]["xms_sw_secret"], "s1")
        self.assertEqual(m["auth_user"], m365.SENDER)
        self.assertEqual(m["rcpt"], [m365.OPS])
        msg = email.message_from_bytes(m["eml"])
        self.assertEqual(email.utils.parseaddr(msg["From"])[1], m365.SENDER)
        self.assertEqual(email.utils.parseaddr(msg["To"])[1], m365.OPS)
        self.assertIn("mail", msg["Subject"])
        self.assertIn("S1a", msg["Subject"])
        self.assertIsNotNone(msg["Date"])
        self.assertTrue(msg["Message-ID"].startswith("<"))
        # The token request carried exactly this secret.
        reqs = self.w.entra.requests()
        self.assertEqual(reqs[-1]["secret_label"], "s1")

    def test_token_cached_then_reused(self):
        self.w.add_secret(S1)
        self.assertEqual(self.w.run("rotate", "mail").returncode, 0)
        n = len(self.w.entra.requests())
        r = self.w.run("token", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        tok = r.stdout.strip()
        self.assertEqual(len(r.stdout.splitlines()), 1)
        self.assertEqual(tok.count("."), 2)
        claims = m365.fakes.decode_jwt(tok)
        self.assertEqual(claims["xms_sw_secret"], "s1")
        # The rotate's test cached the token: no new request.
        self.assertEqual(len(self.w.entra.requests()), n)
        r2 = self.w.run("token", "mail")
        self.assertEqual(r2.stdout.strip(), tok)
        self.assertEqual(len(self.w.entra.requests()), n)
        # The token is stored encrypted.
        with open(self.w.s.db, "rb") as f:
            self.assertNotIn(tok.encode(), f.read())

    def test_token_refetched_near_expiry(self):
        self.w.entra.update_scenario(expires_in=200)  # < 5 min margin
        self.w.add_secret(S1)
        self.assertEqual(self.w.run("rotate", "mail").returncode, 0)
        n = len(self.w.entra.requests())
        self.assertEqual(self.w.run("token", "mail").returncode, 0)
        self.assertEqual(len(self.w.entra.requests()), n + 1)

    def test_rotate_switches_and_keeps_previous(self):
        self.w.add_secret(S1, "+100d")
        self.assertEqual(self.w.run("rotate", "mail").returncode, 0)
        self.w.add_secret(S2, "+300d")
        r = self.w.run("rotate", "mail")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        _, doc = self.w.s.json("secret", "list", "mail")
        states = {s["hint"]: s["state"] for s in doc["secrets"]}
        self.assertEqual(states, {"S1a": "previous", "S2b": "active"})
        _, log = self.w.s.json("log", "mail")
        kinds = [e["kind"] for e in log["events"]]
        self.assertIn("switched", kinds)
        self.assertEqual(self.w.smtp.messages()[-1]["claims"]["xms_sw_secret"],
                         "s2")

    def test_activate_on_add(self):
        r = self.w.run("secret", "add", "mail", "--expires", "+90d",
                       "--activate", input=S1 + "\n")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        _, doc = self.w.s.json("status")
        self.assertEqual(doc["credentials"][0]["active"]["hint"], "S1a")
        self.assertTrue(doc["credentials"][0]["active"]["last_test"]["ok"])

    def test_activate_failure_stays_pending(self):
        r = self.w.run("secret", "add", "mail", "--expires", "+90d",
                       "--activate", input=S3 + "\n")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("secret-value", r.stdout)
        _, doc = self.w.s.json("status")
        self.assertIsNone(doc["credentials"][0]["active"])
        self.assertEqual(doc["credentials"][0]["level"], "critical")


class TestDiagnosis(WorldCase):
    """One failure class per case: (setup, step id, words in the remedy,
    failed probe step)."""

    def diagnose(self, step, remedy_words, failed=None, secret=S1,
                 token_only=False):
        self.w.add_secret(secret)
        args = ["test", "mail"] + (["--token-only"] if token_only else [])
        r = self.w.run(*args)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn(f"({step})", r.stdout)
        for wds in remedy_words:
            self.assertIn(wds, r.stdout)
        r, doc = self.w.s.json("doctor", "mail")
        self.assertEqual(r.returncode, 2)
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["diagnosis"]["step"], step)
        statuses = [s["status"] for s in doc["steps"]]
        self.assertIn("failed", statuses)
        first_fail = statuses.index("failed")
        self.assertTrue(all(s == "passed" for s in statuses[:first_fail]))
        self.assertTrue(all(s == "skipped" for s in statuses[first_fail + 1:]))
        if failed:
            self.assertEqual(doc["steps"][first_fail]["name"], failed)
        text = r.stdout + r.stderr
        self.assertNotIn(secret, text)
        self.assertNotIn(secret[6:], text)
        r = self.w.run("doctor", "mail")
        self.assertEqual(r.returncode, 2)
        self.assertIn("failed", r.stdout)
        self.assertIn("remedy:", r.stdout)
        return doc

    def test_unknown_tenant(self):
        self.w.entra.set_scenario({"tenants": {}})
        self.diagnose("tenant", [m365.TENANT], "tenant")

    def test_unknown_client_id(self):
        sc = m365.entra_scenario()
        app = sc["tenants"][m365.TENANT]["apps"].pop(m365.CLIENT)
        sc["tenants"][m365.TENANT]["apps"]["dddddddd-0000-4000-8000-0000000000ff"] = app
        self.w.entra.set_scenario(sc)
        self.diagnose("client-id", [m365.CLIENT], "app")

    def test_app_disabled(self):
        self.w.entra.set_scenario(m365.entra_scenario(disabled=True))
        self.diagnose("app-disabled", [], "app")

    def test_wrong_secret_value(self):
        self.diagnose("secret-value", ["Value"], "secret", secret=S3)

    def test_expired_secret(self):
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2020-01-01"}]))
        self.diagnose("secret-expired", ["secretwatch secret add mail"],
                      "secret")

    def test_no_smtp_role(self):
        self.w.entra.set_scenario(m365.entra_scenario(roles=[]))
        self.diagnose("api-permission", ["SMTP.SendAsApp", "admin consent"],
                      "role")

    def test_535_573_with_role(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(service_principals={}))
        self.diagnose("exchange-permission",
                      ["New-ServicePrincipal", m365.CLIENT, m365.SP_OID,
                       "Add-MailboxPermission", m365.SENDER, "FullAccess"],
                      "xoauth2")

    def test_smtp_auth_disabled_mailbox(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(
            mailboxes={m365.SENDER: {"smtp_auth": False}, m365.OPS: {}}))
        self.diagnose("smtp-auth-mailbox",
                      ["Set-CASMailbox", m365.SENDER,
                       "SmtpClientAuthenticationDisabled $false"], "xoauth2")

    def test_smtp_auth_disabled_tenant(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(tenant_smtp_auth=False))
        self.diagnose("smtp-auth-tenant", ["Set-TransportConfig"], "xoauth2")

    def test_conditional_access(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(
            mailboxes={m365.SENDER: {"conditional_access": True},
                       m365.OPS: {}}))
        self.diagnose("conditional-access", ["Conditional Access"], "xoauth2")

    def test_not_authenticated_530(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(no_auth=True))
        self.diagnose("smtp-not-authenticated", ["XOAUTH2"])

    def test_mailbox_logon_failure_430(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(
            mailboxes={m365.SENDER: {"logon_failure": True}, m365.OPS: {}}))
        self.diagnose("exchange-permission", ["Add-MailboxPermission"])

    def test_concurrency_432(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(force_432=True))
        self.diagnose("smtp-concurrency", ["3"])

    def test_old_tls_421(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(old_tls=True))
        self.diagnose("transport", ["TLS"])

    def test_no_starttls_refused(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(no_starttls=True))
        self.diagnose("transport", ["STARTTLS"], "starttls")
        self.assertEqual(self.w.smtp.messages(), [])

    def test_throttled_is_transient(self):
        self.w.entra.update_scenario(throttle=True)
        self.w.add_secret(S1)
        r = self.w.run("--json", "test", "mail", "--token-only", timeout=200)
        doc = json.loads(r.stdout)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(doc["diagnosis"]["transient"])

    def test_untrusted_certificate_refused(self):
        with m365.fakes.Entra(m365.entra_scenario(), rogue=True) as rogue:
            r = self.w.run("cred", "add", "rogue", "--tenant", m365.TENANT,
                           "--client-id", m365.CLIENT, "--sender",
                           m365.SENDER, "--authority-url", rogue.url,
                           "--smtp-url", self.w.smtp.url)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = self.w.run("secret", "add", "rogue", "--expires", "+9d",
                           input=S1 + "\n")
            r, doc = self.w.s.json("test", "rogue")
            self.assertEqual(r.returncode, 2)
            self.assertIn(doc["diagnosis"]["step"], ("transport", "network"))
            self.assertEqual(rogue.requests(), [])


class TestTransient(WorldCase):
    """Exchange Online's "try again later" is retried and named, and a
    test ends at its deadline."""

    BUSY = "421 4.3.2 Service not available, closing transmission channel"

    def test_one_421_is_retried(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(
            force_reply=self.BUSY, force_reply_first=1))
        self.w.add_secret(S1)
        r = self.w.run("test", "mail")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("all steps passed", r.stdout)
        self.assertEqual(len(self.w.smtp.messages()), 1)

    def test_421_that_persists_is_temporary(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(force_reply=self.BUSY))
        self.w.add_secret(S1)
        r = self.w.run("test", "mail")
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertIn("(smtp-temporary)", r.stdout)
        self.assertNotIn("(unknown)", r.stdout)
        r, doc = self.w.s.json("test", "mail")
        self.assertEqual(doc["diagnosis"]["step"], "smtp-temporary")
        self.assertTrue(doc["diagnosis"]["transient"])
        self.assertIn("after 3 attempts", doc["diagnosis"]["summary"])
        self.assertEqual(self.w.smtp.messages(), [])

    def test_stalled_token_endpoint_ends_at_the_deadline(self):
        self.w.configure("[watch]\ntest_deadline = 3s\n")
        self.w.entra.update_scenario(fault="slow", slow_seconds=60)
        self.w.add_secret(S1)
        t0 = time.monotonic()
        r = self.w.run("--json", "test", "mail", "--token-only",
                       timeout=200)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertLess(took, 10)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["diagnosis"]["step"], "network")
        self.assertTrue(doc["diagnosis"]["transient"])
        self.assertIn("no answer from the token endpoint within 3 s",
                      doc["diagnosis"]["summary"])


class TestSecrecy(WorldCase):
    def test_no_secret_or_token_anywhere(self):
        self.w.add_secret(S1, "+100d")
        self.w.run("rotate", "mail")
        tok = self.w.run("token", "mail").stdout.strip()
        self.assertTrue(tok)
        self.w.add_secret(S3, "+300d")
        outputs = []
        for args in (["test", "mail"], ["doctor", "mail"], ["rotate", "mail"],
                     ["status"], ["log"], ["secret", "list"], ["check"]):
            for js in ([], ["--json"]):
                r = self.w.run(*js, *args)
                outputs += [r.stdout, r.stderr]
        text = "\n".join(outputs)
        for s in (S1, S3, tok):
            self.assertNotIn(s, text)
            self.assertNotIn(s[8:40], text)
        for path in (self.w.s.db,):
            with open(path, "rb") as f:
                data = f.read()
            for s in (S1, S3, tok):
                self.assertNotIn(s.encode(), data)


if __name__ == "__main__":
    swtest.main()
