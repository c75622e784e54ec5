"""Errors that blame the right thing: a fault of this host's configuration
is not the secret failing, a secret that worked and is refused now was
revoked (not pasted wrong), and mistakes at the command line or in the
config say what was meant. Real binaries, stand-in servers on 127.0.0.1."""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402


class ConfigAndInput(swtest.ScratchCase):
    def test_section_typo_says_which_section_was_meant(self):
        self.s.write_config("[alert]\nemail_to = ops@contoso.com\n")
        r = self.s.run("cred", "list")
        self.assertFails(r, "%s:5: unknown section [alert]; did you mean "
                         "[alerts]?" % self.s.conf)
        self.assertNotIn("unknown key", r.stderr)

    def test_missing_ca_file_is_a_config_error(self):
        self.s.write_config("[tls]\nca_file = /nonexistent/relay-ca.pem\n")
        r = self.s.run("cred", "list")
        self.assertFails(r, "%s:5: [tls] ca_file: /nonexistent/relay-ca.pem:"
                         " no such file" % self.s.conf)

    def test_value_on_the_command_line_is_refused_without_echo(self):
        self.s.init_with_cred()
        for args in (["--value", m365.S1], ["--value=" + m365.S1]):
            r = self.s.run("secret", "add", "mail", "--expires", "+90d",
                           *args)
            self.assertFails(r, "secret values are never taken from the "
                             "command line")
            self.assertIn("standard input", r.stderr)
            self.assertNotIn(m365.S1[3:], r.stderr)

    def test_value_of_the_wrong_shape_warns(self):
        self.s.init_with_cred()
        cut = m365.S1[:25]
        r = self.s.run("secret", "add", "mail", "--expires", "+90d",
                       input=cut + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stderr, r"^secretwatch: warning: the value is 25 "
                         r"characters, and Entra's client secret values are "
                         r"40: check that the whole Value was copied")
        self.assertNotIn(cut[3:], r.stderr + r.stdout)
        r = self.s.run("secret", "add", "mail", "--expires", "+90d",
                       input="abcdefghijklmnopqrstuvwxyz0123456789ABCD\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("lacks the 'Q~'", r.stderr)
        # An Entra-shaped value registers without a word.
        r = self.s.run("secret", "add", "mail", "--expires", "+90d",
                       input=m365.S2 + "\n")
        self.assertEqual((r.returncode, r.stderr), (0, ""))


class Blame(m365.WorldCase):
    def metric(self, path, name):
        with open(path) as f:
            for line in f:
                if line.startswith(name + "{") and 'credential="mail"' in line:
                    return float(line.split()[-1])
        raise AssertionError("%s not in %s" % (name, path))

    def test_wrong_ca_file_is_not_the_secret_failing(self):
        prom = os.path.join(self.w.s.dir, "sw.prom")
        self.w.configure("[metrics]\ntextfile = %s\n" % prom)
        self.w.add_secret(m365.S1, "+200d", "--activate")
        # A CA file that exists but is not the one the servers chain to.
        self.w.s.write_config("[tls]\nca_file = %s\n[metrics]\ntextfile = "
                              "%s\n" % (self.w.entra.certs.rogue_ca_file,
                                        prom))
        r = self.w.run("test", "mail", "--token-only")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("broken step: TLS and transport (transport)", r.stdout)
        self.assertIn("Nothing was recorded against secret #1: the test "
                      "stopped before any server judged it (transport)",
                      r.stdout)
        r = self.w.run("status", "mail")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"\nmail +ok .* tested and passed ")
        _, log = self.w.s.json("log", "mail")
        kinds = [e["kind"] for e in log["events"]]
        self.assertNotIn("test-failed", kinds)
        self.assertIn("test-inconclusive", kinds)
        # The watchdog's health check of it, a day later: no failure
        # counted, no critical level, no alert about the secret.
        r = self.w.run("check", "--now", "+25h", "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("could not reach a verdict (transport", r.stderr)
        self.assertNotIn("alert health-failed", r.stderr)
        self.assertEqual(self.metric(prom, "secretwatch_test_failures_total"),
                         0)
        self.assertEqual(self.metric(prom, "secretwatch_credential_level"), 0)

    def test_revoked_secret_is_not_called_a_bad_paste(self):
        self.w.add_secret(m365.S1, "+200d", "--activate")
        r = self.w.run("test", "mail", "--token-only")
        self.assertEqual(r.returncode, 0, r.stdout)
        # Deleted in Entra: only s2 is left there.
        self.w.entra.set_scenario(m365.entra_scenario(
            secrets=[{"label": "s2", "value": m365.S2, "end": "2099-06-01"}]))
        r, doc = self.w.s.json("test", "mail", "--token-only")
        self.assertEqual(r.returncode, 2, r.stdout)
        d = doc["diagnosis"]
        self.assertEqual(d["step"], "secret-revoked")
        self.assertRegex(d["summary"], r"which passed a test at "
                         r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ: it was deleted or "
                         r"revoked in Entra")
        self.assertNotIn("Secret ID", d["remedy"])
        self.assertIn("secretwatch secret add mail --expires YYYY-MM-DD "
                      "--activate", d["remedy"])
        self.assertIn("AADSTS7000215", d["evidence"])
        # A secret never seen working gets the paste remedy still.
        self.w.add_secret(m365.S3, "+300d")
        r, doc = self.w.s.json("test", "mail", "--secret", "2",
                               "--token-only")
        self.assertEqual(doc["diagnosis"]["step"], "secret-value")
        self.assertIn("Secret ID", doc["diagnosis"]["remedy"])

    def test_revoked_with_graph_says_sync(self):
        self.w.add_secret(m365.S1, "+200d", "--activate")
        r = self.w.run("cred", "set", "mail", "--graph-url",
                       "https://127.0.0.1:9")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.w.entra.set_scenario(m365.entra_scenario(secrets=[]))
        r = self.w.run("test", "mail", "--token-only")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("(secret-revoked)", r.stdout)
        self.assertIn("'secretwatch sync mail' compares the store with what "
                      "Entra", r.stdout)

    def test_wrong_tenant_remedy_is_cred_set(self):
        self.w.add_secret(m365.S1, "+200d")
        r = self.w.run("cred", "set", "mail", "--tenant",
                       "dddddddd-0000-4000-8000-000000000009")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.w.run("doctor", "mail")
        self.assertEqual(r.returncode, 2, r.stdout)
        self.assertIn("(tenant)", r.stdout)
        self.assertIn("secretwatch cred set mail --tenant <tenant ID>",
                      r.stdout)
        self.assertNotIn("cred add", r.stdout)

    def test_token_only_lists_the_send_as_not_requested(self):
        self.w.add_secret(m365.S1, "+200d")
        for value, ok in ((None, True), ("S9z8Q~not.the.value.at.all-012"
                                         "3456789ab", False)):
            if value:
                self.w.add_secret(value, "+300d")
            r, doc = self.w.s.json("test", "mail", "--token-only")
            self.assertEqual(doc["ok"], ok, r.stdout)
            smtp = [s for s in doc["steps"] if s["name"] in
                    ("smtp", "starttls", "xoauth2", "send-as", "accepted")]
            self.assertEqual(len(smtp), 5)
            for s in smtp:
                self.assertEqual((s["status"], s["detail"]),
                                 ("skipped", "not requested (token only)"))
        r = self.w.run("test", "mail", "--token-only")
        self.assertNotRegex(r.stdout, r"SMTP server reachable +not run")

    def test_passed_pending_secret_says_how_to_activate(self):
        self.w.add_secret(m365.S1, "+200d")
        r = self.w.run("test", "mail")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("Secret #1 is still pending (a test does not switch): "
                      "'secretwatch rotate mail --secret 1' makes it active.",
                      r.stdout)
        r = self.w.run("rotate", "mail", "--secret", "1")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.w.run("test", "mail")
        self.assertNotIn("pending", r.stdout)


if __name__ == "__main__":
    swtest.main()
