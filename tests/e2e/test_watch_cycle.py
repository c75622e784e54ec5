"""The watchdog cycle through 'secretwatch check': warnings exactly once
per threshold, verified switching with the deploy hook, propagation
retries, channel failures, metrics."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from swtest import force  # noqa: E402
from m365 import S1, S2  # noqa: E402

DAY = 86400


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def alert_mails(w):
    return [m for m in w.smtp.messages()
            if b"Subject: [secretwatch]" in m["eml"]]


def warning_mails(w):
    return [m for m in alert_mails(w) if b"expires in" in m["eml"]]


def delivered(w):
    """Webhook bodies that were answered 200, oldest first."""
    return [r["json"] for r in w.webhook.requests() if r["status"] == 200]


def hook_script(path, out):
    with open(path, "w") as f:
        f.write(f"#!/bin/sh\ncat > {out}\nenv > {out}.env\n")
    os.chmod(path, 0o755)


class CycleCase(m365.WorldCase):
    def setUp(self):
        super().setUp()
        self.hook_out = os.path.join(self.w.s.dir, "deployed")
        self.hook = os.path.join(self.w.s.dir, "hook.sh")
        hook_script(self.hook, self.hook_out)
        self.w.configure(
            f"[alerts]\nemail_to = {m365.OPS}\n"
            f"webhook_url = {self.w.webhook.url}/hook\n"
            f"[deploy]\nhook = {self.hook}\n"
            f"[metrics]\ntextfile = {self.w.s.dir}/sw.prom\n")
        self.t0 = int(time.time())

    def check(self, at, *extra):
        r = self.w.run("check", "--now", rfc(at), *force(extra))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r


class TestLifecycle(CycleCase):
    def test_one_alert_per_threshold_by_email_and_webhook(self):
        self.w.add_secret(S1, rfc(self.t0 + 35 * DAY))
        self.check(self.t0)  # the first secret becomes active by a switch
        for day in range(0, 38):
            for hour in (0, 6):  # repeated cycles must not repeat alerts
                self.check(self.t0 + day * DAY + hour * 3600 + 60)
        hooks = [b for b in delivered(self.w)
                 if b["event"] in ("expiry-warning", "expired")]
        self.assertEqual([h["days_left"] for h in hooks],
                         [30, 14, 7, 3, 1, 0])
        self.assertEqual([h["level"] for h in hooks],
                         ["warning", "warning", "critical", "critical",
                          "critical", "expired"])
        for h in hooks:
            self.assertEqual(h["credential"], "mail")
            self.assertEqual(h["hint"], "S1a")
            self.assertIn("secretwatch secret add mail", h["message"])
            self.assertIn("text", h)
            self.assertNotIn(S1[3:], json.dumps(h))
        mails = [m for m in alert_mails(self.w)
                 if b"switched" not in m["eml"]]
        self.assertEqual(len(mails), 6)
        for m in mails:
            self.assertEqual(m["rcpt"], [m365.OPS])
            self.assertEqual(m["auth_user"], m365.SENDER)
        _, log = self.w.s.json("log", "mail")
        warn = [e for e in log["events"] if e["kind"] == "warning"]
        self.assertEqual([e["detail"]["threshold_days"] for e in warn],
                         ["30", "14", "7", "3", "1", "0"])


class TestSwitch(CycleCase):
    def test_new_secret_tested_then_switched_with_deploy(self):
        self.w.add_secret(S1, "+40d")
        self.check(self.t0)
        self.w.add_secret(S2, "+400d")
        r = self.check(self.t0 + 60)
        self.assertIn("1 switched", r.stdout)
        _, doc = self.w.s.json("secret", "list", "mail")
        states = {s["hint"]: s["state"] for s in doc["secrets"]}
        self.assertEqual(states, {"S1a": "previous", "S2b": "active"})
        # Tested with a real XOAUTH2 send authenticated by s2's token.
        tests = [m for m in self.w.smtp.messages()
                 if m["claims"]["xms_sw_secret"] == "s2"]
        self.assertTrue(tests)
        # The deploy hook got the new secret on stdin, not in its env.
        with open(self.hook_out) as f:
            self.assertEqual(f.read(), S2 + "\n")
        with open(self.hook_out + ".env") as f:
            env = f.read()
        self.assertNotIn(S2, env)
        self.assertIn("SECRETWATCH_CREDENTIAL=mail", env)
        events = [b["event"] for b in delivered(self.w)]
        self.assertEqual(events.count("switched"), 2)  # first + second
        _, log = self.w.s.json("log", "mail")
        kinds = [e["kind"] for e in log["events"]]
        for k in ("secret-added", "test-passed", "switched",
                  "alert-delivered", "deployed"):
            self.assertIn(k, kinds)
        channels = {e["detail"]["channel"] for e in log["events"]
                    if e["kind"] == "alert-delivered"}
        self.assertEqual(channels, {"log", "email", "webhook"})
        # A second check has nothing more to switch or deploy.
        os.unlink(self.hook_out)
        self.check(self.t0 + 120)
        self.assertFalse(os.path.exists(self.hook_out))

    def test_metrics_textfile(self):
        self.w.add_secret(S1, "+40d")
        self.check(self.t0)
        with open(os.path.join(self.w.s.dir, "sw.prom")) as f:
            text = f.read()
        self.assertIn('secretwatch_secret_expiry_timestamp_seconds{'
                      'credential="mail"', text)
        self.assertIn('state="active"', text)
        self.assertIn('secretwatch_credential_level{credential="mail"} 0',
                      text)
        self.assertIn('secretwatch_switches_total{credential="mail"} 1',
                      text)
        self.assertNotIn(S1, text)


class TestDryRun(CycleCase):
    def test_dry_run_says_what_is_due_and_changes_nothing(self):
        self.w.add_secret(S1, "+10d")
        before = self.w.s.db_hash()
        n_entra = len(self.w.entra.requests())
        r = self.check(self.t0, "--dry-run")
        self.assertIn("would test secret #1 and switch to it", r.stderr)
        self.assertIn("would warn", r.stderr)
        self.assertIn("dry run:", r.stdout)
        self.assertEqual(self.w.s.db_hash(), before)
        self.assertEqual(len(self.w.entra.requests()), n_entra)
        self.assertEqual(self.w.webhook.requests(), [])
        self.assertFalse(os.path.exists(os.path.join(self.w.s.dir,
                                                     "sw.prom")))


class TestPropagation(CycleCase):
    def setUp(self):
        super().setUp()
        self.w.add_secret(S1, "+40d")
        self.check(self.t0)

    def new_secret(self, reject_first):
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2099-01-01"},
             {"label": "s2", "value": S2, "end": "2099-06-01",
              "reject_first": reject_first}]))
        self.w.add_secret(S2, "+400d")

    def states(self):
        _, doc = self.w.s.json("secret", "list", "mail")
        return {s["hint"]: s["state"] for s in doc["secrets"]}

    def test_switches_once_accepted(self):
        self.new_secret(2)
        t = self.t0 + 600
        self.check(t)
        self.assertEqual(self.states()["S2b"], "pending")
        self.check(t + 4)  # before the first retry (5 s): no attempt
        n = len([r for r in self.w.entra.requests()
                 if r.get("secret_label") == "s2"])
        self.assertEqual(n, 1)
        self.check(t + 5)  # the retries are adaptive: 5 s, then doubling
        self.assertEqual(self.states()["S2b"], "pending")
        self.check(t + 9)
        self.assertEqual(self.states()["S2b"], "pending")
        self.check(t + 10)
        self.assertEqual(self.states(), {"S1a": "previous", "S2b": "active"})

    def test_never_accepted_ends_failed(self):
        self.new_secret(1000)
        t = self.t0 + 600
        for k in range(0, 17):
            self.check(t + k * 120)
        self.assertEqual(self.states(), {"S1a": "active", "S2b": "failed"})
        failed = [e for e in delivered(self.w)
                  if e["event"] == "switch-failed"]
        self.assertEqual(len(failed), 1)
        self.assertIn("secret", failed[0]["message"])
        self.assertEqual(failed[0]["hint"], "S2b")


class TestChannels(CycleCase):
    def test_webhook_down_then_retried(self):
        self.w.add_secret(S1, "+20d")
        self.w.webhook.set_scenario({"mode": "down"})
        self.check(self.t0)  # switch + 30-day warning
        self.assertEqual(len(warning_mails(self.w)), 1)
        self.assertEqual(delivered(self.w), [])
        self.assertTrue(self.w.webhook.requests())  # it was tried
        _, log = self.w.s.json("log", "mail")
        failed = [e["detail"] for e in log["events"]
                  if e["kind"] == "alert-failed"]
        self.assertTrue(failed)
        self.assertEqual({f["channel"] for f in failed}, {"webhook"})
        self.assertIn("503", failed[0]["error"])
        self.w.webhook.set_scenario({"mode": "ok"})
        self.check(self.t0 + 3600)
        ok = [b["event"] for b in delivered(self.w)]
        self.assertEqual(ok.count("expiry-warning"), 1)
        # Email was not sent twice.
        self.assertEqual(len(warning_mails(self.w)), 1)

    def test_expired_secret_email_fails_webhook_delivers(self):
        self.w.add_secret(S1, "+5d")
        self.check(self.t0)
        n_mail = len(alert_mails(self.w))
        # In Entra the secret has lapsed now.
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": "s1", "value": S1, "end": "2020-01-01"}]))
        self.check(self.t0 + 6 * DAY)
        expired = [b for b in delivered(self.w) if b["event"] == "expired"]
        self.assertEqual(len(expired), 1)
        self.assertEqual(expired[0]["level"], "expired")
        self.assertEqual(len(alert_mails(self.w)), n_mail)
        _, doc = self.w.s.json("status", "--now", rfc(self.t0 + 6 * DAY))
        self.assertEqual(doc["credentials"][0]["level"], "expired")


class TestHealth(CycleCase):
    N = 12

    def test_concurrent_health_checks_find_a_revoked_secret(self):
        self.w.configure(self.w.extra + "[watch]\nhealth_concurrency = 4\n")
        values = [f"H{i:02d}Q~health-secret-{i}-" + "y" * 16
                  for i in range(self.N)]
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": f"h{i}", "value": v, "end": "2099-01-01"}
             for i, v in enumerate(values)]))
        for i, v in enumerate(values):
            name = f"app{i:02d}"
            r = self.w.run("cred", "add", name, "--tenant", m365.TENANT,
                           "--client-id", m365.CLIENT, "--sender",
                           m365.SENDER, "--test-to", m365.OPS,
                           "--authority-url", self.w.entra.url,
                           "--smtp-url", self.w.smtp.url)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = self.w.run("secret", "add", name, "--expires", "+300d",
                           input=v + "\n")
            self.assertEqual(r.returncode, 0, r.stderr)
        self.check(self.t0)  # every first secret is switched in
        # One secret is revoked in Entra before its expiry date.
        self.w.entra.set_scenario(m365.entra_scenario(
            [{"label": f"h{i}", "value": v, "end": "2099-01-01"}
             for i, v in enumerate(values) if i != 5]))
        r = self.w.run("--json", "check", "--now", rfc(self.t0 + DAY + 60),
                       "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = json.loads(r.stdout)
        self.assertEqual(rep["health_checks"], self.N)
        self.assertEqual(rep["health_failures"], 1)
        failed = [b for b in delivered(self.w)
                  if b["event"] == "health-failed"]
        self.assertEqual([b["credential"] for b in failed], ["app05"])
        _, doc = self.w.s.json("status", "--now", rfc(self.t0 + DAY + 60))
        levels = {c["name"]: c["level"] for c in doc["credentials"]}
        self.assertEqual(levels.pop("app05"), "critical")
        self.assertEqual(levels.pop("mail"), "unknown")  # no secret
        self.assertEqual(set(levels.values()), {"ok"})
        # A second failing check does not alert again.
        self.check(self.t0 + 2 * DAY + 60)
        failed = [b for b in delivered(self.w)
                  if b["event"] == "health-failed"]
        self.assertEqual(len(failed), 1)


if __name__ == "__main__":
    swtest.main()
