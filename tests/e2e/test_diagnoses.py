"""Diagnoses that are true on any server: what `test` and `doctor` say
while they wait and when they fail, against the stand-ins."""
import os
import pty
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from m365 import S1, S3  # noqa: E402


def run_on_terminal(conf, *args, limit=60):
    """Run secretwatch with stderr on a pseudo-terminal; (exit code,
    what the terminal got)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([swtest.SW, "-c", conf, *args],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=slave, env=swtest.daemon_env())
    os.close(slave)
    got = b""
    deadline = time.time() + limit
    try:
        while time.time() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                got += chunk
            elif p.poll() is not None:
                break
        p.wait(timeout=max(1, deadline - time.time()))
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
        p.stdout.close()
    return p.returncode, got


class TestProgress(m365.WorldCase):
    """A test against a stalled token endpoint takes its whole budget:
    a person at a terminal is told it is still waiting; a log is not."""

    def setUp(self):
        super().setUp()
        self.w.configure("[watch]\ntest_deadline = 6s\n")
        self.w.add_secret(S1)
        self.w.entra.update_scenario(fault="slow", slow_seconds=30)

    def test_stalled_token_endpoint_shows_progress_on_a_terminal(self):
        t = time.time()
        code, got = run_on_terminal(self.w.s.conf, "test", "mail",
                                    "--token-only")
        self.assertLess(time.time() - t, 20)
        self.assertEqual(code, 2, got)
        self.assertIn(b"\rsecretwatch: still waiting for the token "
                      b"endpoint (3 s of 6 s)...\x1b[K", got)
        self.assertIn(b"(5 s of 6 s)...", got)
        self.assertNotIn(b"(2 s of 6 s)", got)
        # The line is cleared at the end; nothing else follows on stderr.
        self.assertTrue(got.endswith(b"\r\x1b[K"), got)

    def test_no_progress_when_not_a_terminal(self):
        r = self.w.run("test", "mail", "--token-only")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertNotIn("still waiting", r.stderr + r.stdout)
        self.assertNotIn("\x1b", r.stderr + r.stdout)


class TestPlainOAuthServer(m365.WorldCase):
    """A token endpoint that speaks plain RFC 6749 (no AADSTS codes): the
    diagnosis says what it said, and claims no step it did not prove."""

    def steps(self, doc):
        return {s["name"]: s for s in doc["steps"]}

    def test_bare_invalid_client_claims_nothing_about_the_app(self):
        self.w.entra.update_scenario(plain_oauth="bare")
        self.w.add_secret(S3)  # unknown to the stand-in
        r, doc = self.w.s.json("doctor", "mail")
        self.assertEqual(r.returncode, 2, r.stderr)
        d = doc["diagnosis"]
        self.assertEqual(d["step"], "client-authentication")
        self.assertIn("invalid_client (HTTP 401): no description",
                      d["summary"])
        self.assertIn("the client ID " + m365.CLIENT, d["remedy"])
        self.assertIn("did not say which", d["remedy"])
        # Nothing to look up that the reply does not have.
        for ask in ("error?code=", "Sign-in logs", "see the evidence"):
            self.assertNotIn(ask, d["remedy"])
        self.assertEqual(d["evidence"],
                         "invalid_client (HTTP 401): no description")
        st = self.steps(doc)
        self.assertEqual(st["tenant"]["status"], "passed")
        self.assertIn("answered (HTTP 401, invalid_client)",
                      st["tenant"]["detail"])
        self.assertEqual(st["app"]["status"], "skipped")
        self.assertIn("not known", st["app"]["detail"])
        self.assertEqual(st["secret"]["status"], "failed")
        r = self.w.run("doctor", "mail")
        app = [ln for ln in r.stdout.splitlines()
               if "App known and enabled" in ln]
        self.assertEqual(len(app), 1, r.stdout)
        self.assertTrue(app[0].strip().startswith("skipped"), app[0])

    def test_rfc_errors_say_what_the_server_said(self):
        self.w.entra.update_scenario(plain_oauth=True)
        self.w.add_secret(S3)
        r, doc = self.w.s.json("test", "mail", "--token-only")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("Client authentication failed.",
                      doc["diagnosis"]["summary"])
        # An unknown tenant: invalid_request, nothing Entra-specific.
        self.w.entra.set_scenario({"tenants": {}, "plain_oauth": True})
        r, doc = self.w.s.json("test", "mail", "--token-only")
        d = doc["diagnosis"]
        self.assertEqual(d["step"], "unknown")
        self.assertIn("invalid_request (HTTP 400)", d["summary"])
        self.assertIn("RFC 6749: the request lacks a parameter", d["summary"])
        self.assertNotIn("error?code=", d["remedy"])
        self.assertEqual(self.steps(doc)["app"]["status"], "skipped")

    def test_entra_code_still_proves_the_app(self):
        self.w.add_secret(S3)  # AADSTS7000215: Entra checked the app's
        r, doc = self.w.s.json("doctor", "mail")
        self.assertEqual(doc["diagnosis"]["step"], "secret-value")
        st = self.steps(doc)
        self.assertEqual(st["app"]["status"], "passed")
        self.assertIn("AADSTS7000215", st["tenant"]["detail"])


class TestXoauth2Refusals(m365.WorldCase):
    """A server other than Exchange refuses a bad token with XOAUTH2's
    error challenge; the diagnosis names the refusal, apart from a server
    that does not offer XOAUTH2 at all."""

    def refuse_with_challenge(self, **kw):
        # No service principal for the app: the token is refused.
        self.w.smtp.set_scenario(m365.smtp_scenario(
            service_principals={}, refused_token="challenge", **kw))

    def test_refused_token_is_not_called_not_offered(self):
        self.refuse_with_challenge()
        self.w.add_secret(S1)
        r, doc = self.w.s.json("doctor", "mail")
        self.assertEqual(r.returncode, 2, r.stderr)
        d = doc["diagnosis"]
        self.assertEqual(d["step"], "smtp-token-refused")
        self.assertIn("The server offered XOAUTH2 and refused the token "
                      f"for {m365.SENDER}: status 401, schemes bearer, "
                      "scope https://outlook.office365.com/.default",
                      d["summary"])
        self.assertNotIn("not offer", d["summary"] + d["remedy"])
        for words in ("audience", "aud is https://outlook.office365.com",
                      "SMTP.SendAsApp", "Add-MailboxPermission", "clock"):
            self.assertIn(words, d["remedy"])
        self.assertIn("XOAUTH2 error challenge: status 401", d["evidence"])
        st = {s["name"]: s["status"] for s in doc["steps"]}
        self.assertEqual(st["starttls"], "passed")
        self.assertEqual(st["xoauth2"], "failed")
        r = self.w.run("test", "mail")
        self.assertIn("(smtp-token-refused)", r.stdout)
        self.assertIn("refused the token", r.stdout)

    def test_challenge_status_and_scope_are_shown(self):
        self.refuse_with_challenge(challenge_status="400",
                                   challenge_scope="https://mail.example/")
        self.w.add_secret(S1)
        r, doc = self.w.s.json("test", "mail")
        self.assertIn("status 400, schemes bearer, scope "
                      "https://mail.example/", doc["diagnosis"]["summary"])

    def test_xoauth2_not_offered_says_what_was(self):
        self.w.smtp.set_scenario(m365.smtp_scenario(
            auth_mechanisms="LOGIN PLAIN"))
        self.w.add_secret(S1)
        r, doc = self.w.s.json("doctor", "mail")
        d = doc["diagnosis"]
        self.assertEqual(d["step"], "smtp-not-authenticated")
        self.assertIn("did not offer AUTH XOAUTH2 after STARTTLS: its EHLO "
                      "listed LOGIN PLAIN", d["summary"])
        self.assertIn("must offer AUTH XOAUTH2", d["remedy"])


if __name__ == "__main__":
    swtest.main()
