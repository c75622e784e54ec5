"""Token files: the daemon keeps <[tokens] dir>/<name> holding a valid
token of the active secret for the credentials that opted in (refresh,
failure, switch), `token NAME --file`, `cred set`, and `secretwatch
postfix NAME`."""
import grp
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import m365  # noqa: E402
from m365 import S1, S2  # noqa: E402

GROUP = grp.getgrgid(os.getgid()).gr_name


class TokenCase(m365.WorldCase):
    def setUp(self):
        super().setUp()
        self.dir = os.path.join(self.w.s.dir, "run", "tokens")
        self.w.configure(f"[alerts]\nwebhook_url = {self.w.webhook.url}/hook"
                         f"\n[tokens]\ndir = {self.dir}\ngroup = {GROUP}\n")
        self.logs = []
        r = self.w.run("cred", "set", "mail", "--token-file")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.path = os.path.join(self.dir, "mail")

    def once(self, at):
        cmd = [swtest.SWD, "-c", self.w.s.conf, "--once"]
        p = subprocess.run(cmd, capture_output=True, text=True,
                           env=swtest.daemon_env(at),
                           timeout=120)
        self.logs.append(p.stdout + p.stderr)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stderr

    def token(self):
        with open(self.path) as f:
            data = f.read()
        self.assertTrue(data.endswith("\n") and data.count("\n") == 1)
        return data[:-1]

    def claims(self):
        return m365.fakes.decode_jwt(self.token())

    def record(self):
        db = sqlite3.connect(self.w.s.db)
        row = db.execute("SELECT token_file_secret_id, token_file_expires_at"
                         " FROM credential WHERE name = 'mail'").fetchone()
        db.close()
        return row

    def alerts(self, event):
        return [r["json"] for r in self.w.webhook.requests()
                if r.get("json") and r["json"].get("event") == event]

    def assertNoTokenAnywhere(self, *tokens):
        _, audit = self.w.s.json("log")
        hooks = json.dumps([r.get("json") for r in
                            self.w.webhook.requests()])
        texts = self.logs + [json.dumps(audit), hooks]
        for t in tokens:
            for part in t.split("."):
                if len(part) > 8:
                    for text in texts:
                        self.assertNotIn(part, text)


class TestDaemon(TokenCase):
    def test_written_for_opted_in_only_with_mode_and_group(self):
        r = self.w.run("cred", "add", "other", "--tenant", m365.TENANT,
                       "--client-id", m365.CLIENT, "--sender", m365.SENDER,
                       "--authority-url", self.w.entra.url,
                       "--smtp-url", self.w.smtp.url)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.w.add_secret(S1, "+200d")
        r = self.w.s.run("secret", "add", "other", "--expires", "+200d",
                         input=S2 + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.once(int(time.time()))
        st = os.stat(self.path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        self.assertEqual(st.st_gid, os.getgid())
        self.assertEqual(stat.S_IMODE(os.stat(self.dir).st_mode), 0o750)
        self.assertEqual(self.claims()["appid"], m365.CLIENT)
        self.assertEqual(sorted(os.listdir(self.dir)), ["mail"])
        self.assertNoTokenAnywhere(self.token())

    def test_refresh_below_ten_minutes_and_same_directory(self):
        self.w.add_secret(S1, "+200d")
        t0 = int(time.time())
        self.once(t0)
        first, ino = self.token(), os.stat(self.dir).st_ino
        exp = self.record()[1]
        n = len(self.w.entra.requests())
        self.once(exp - 700)  # 11 minutes left: kept
        self.assertEqual(self.token(), first)
        self.assertEqual(len(self.w.entra.requests()), n)
        self.once(exp - 500)  # 8 minutes left: refreshed
        self.assertEqual(len(self.w.entra.requests()), n + 1)
        self.assertGreater(self.record()[1], exp)
        self.assertNotEqual(self.token(), first)
        self.assertEqual(os.stat(self.dir).st_ino, ino)
        self.assertNoTokenAnywhere(first, self.token())

    def test_failed_refresh_keeps_then_removes_and_alerts_once(self):
        self.w.add_secret(S1, "+200d")
        t0 = int(time.time())
        self.once(t0)
        first = self.token()
        exp = self.record()[1]
        self.w.entra.update_scenario(**m365.entra_scenario(secrets=[]))
        err = self.once(exp - 300)
        self.assertIn("token file not refreshed", err)
        self.assertEqual(self.token(), first)  # still valid: kept
        self.assertEqual(self.alerts("token-file-failed"), [])
        self.once(exp + 10)
        self.assertFalse(os.path.exists(self.path))
        self.once(exp + 100)
        self.once(exp + 200)
        self.assertEqual(len(self.alerts("token-file-failed")), 1)
        self.w.entra.update_scenario(**m365.entra_scenario())
        self.once(exp + 300)
        self.assertTrue(os.path.exists(self.path))
        self.assertNoTokenAnywhere(first, self.token())

    def test_switch_rewrites_with_new_secret(self):
        self.w.add_secret(S1, "+100d")
        t0 = int(time.time())
        self.once(t0)
        self.assertEqual(self.claims()["xms_sw_secret"], "s1")
        self.w.add_secret(S2, "+300d")
        self.once(t0 + 60)
        self.assertEqual(self.claims()["xms_sw_secret"], "s2")

    def test_opt_out_removes_file(self):
        self.w.add_secret(S1, "+200d")
        t0 = int(time.time())
        self.once(t0)
        self.assertTrue(os.path.exists(self.path))
        r = self.w.run("cred", "set", "mail", "--no-token-file")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.once(t0 + 60)
        self.assertFalse(os.path.exists(self.path))


class TestTokenFileCommand(TokenCase):
    def test_token_file_once(self):
        self.w.add_secret(S1, "+200d", "--activate")
        r = self.w.run("token", "mail", "--file")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("wrote " + self.path, r.stdout)
        tok = self.token()
        self.assertNotIn(tok.split(".")[1], r.stdout + r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o640)

    def test_token_file_needs_opt_in_and_dir(self):
        self.w.add_secret(S1, "+200d", "--activate")
        self.w.run("cred", "set", "mail", "--no-token-file")
        r = self.w.run("token", "mail", "--file")
        self.assertIn("has no token file", r.stderr)
        self.assertEqual(r.returncode, 1)
        self.w.configure("")
        r = self.w.run("token", "mail", "--file")
        self.assertIn("token files are off", r.stderr)


class TestPostfix(TokenCase):
    def test_config_lines_and_checks(self):
        self.w.add_secret(S1, "+200d", "--activate")
        host = self.w.smtp.url.split("://")[1]
        r = self.w.run("postfix", "mail")
        self.assertEqual(r.returncode, 1)  # no plugin, no file yet
        self.assertIn(f"relayhost = [{host.split(':')[0]}]:", r.stdout)
        self.assertIn("smtp_sasl_mechanism_filter = xoauth2", r.stdout)
        self.assertIn("smtp_tls_security_level = encrypt", r.stdout)
        self.assertIn(f"{m365.SENDER}:mail", r.stdout)
        self.assertIn("problem: the XOAUTH2 plugin", r.stdout)
        plug = os.path.join(self.w.s.dir, "sasl2")
        os.makedirs(plug)
        open(os.path.join(plug, "libxoauth2-secretwatch.so"), "w").close()
        # A token directory of its own reaches the plugin only when
        # Postfix passes it: said, with the command, until it does.
        etc = os.path.join(self.w.s.dir, "postfix")
        os.makedirs(etc)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write("import_environment = MAIL_CONFIG LANG=C\n")
        env = {"SASL_PATH": plug, "MAIL_CONFIG": etc}
        self.assertEqual(self.w.run("token", "mail", "--file").returncode, 0)
        r = self.w.run("postfix", "mail", env=env)
        self.assertEqual(r.returncode, 1, r.stdout)
        want = ('postconf -e "import_environment = $(postconf -h '
                'import_environment) SECRETWATCH_TOKEN_DIR=%s"' % self.dir)
        self.assertIn("problem: [tokens] dir is %s, not the plugin's default "
                      "/run/secretwatch/tokens, and Postfix's "
                      "import_environment does not pass it: %s; then postfix "
                      "stop; postfix start" % (self.dir, want), r.stdout)
        self.assertIn("\n%s\n" % want, r.stdout)
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write("import_environment = MAIL_CONFIG LANG=C "
                    "SECRETWATCH_TOKEN_DIR=%s\n" % self.dir)
        r = self.w.run("postfix", "mail", env=env)
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertNotIn("problem:", r.stdout)
        self.assertIn("more minutes", r.stdout)
        r, doc = self.w.s.json("postfix", "mail", env=env)
        self.assertTrue(doc["ok"])
        self.assertTrue(all(c["ok"] for c in doc["checks"]))
        os.chmod(self.path, 0o600)
        r = self.w.run("postfix", "mail", env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("problem: the token file", r.stdout)
        r = self.w.run("postfix", "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no credential named", r.stderr)

    def test_open_token_directory_reported_repaired_or_refused(self):
        # A local user who may write into the token directory can swap in
        # a token of their own, which Postfix's plugin would send.
        self.w.add_secret(S1, "+200d", "--activate")
        self.assertEqual(self.w.run("token", "mail", "--file").returncode, 0)
        for mode in (0o777, 0o1777, 0o770):
            os.chmod(self.dir, mode)
            r = self.w.run("postfix", "mail")
            self.assertEqual(r.returncode, 1)
            self.assertIn(f"problem: token directory {self.dir} is mode "
                          f"{mode:04o}: its group or others may write into "
                          "it and swap a token", r.stdout)
            # The writer owns it: the next write closes it first.
            r = self.w.run("token", "mail", "--file")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(os.stat(self.dir).st_mode & 0o7777,
                             mode & 0o755)
            r = self.w.run("postfix", "mail")
            self.assertNotIn("problem: token directory", r.stdout)
        # Another user's directory is never written into.
        os.chown(self.dir, 65534, -1)
        before = self.token()
        r = self.w.run("token", "mail", "--file")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"token directory {self.dir} belongs to uid 65534, "
                      "not to the user that writes the tokens (uid 0)",
                      r.stderr)
        self.assertEqual(self.token(), before)
        r = self.w.run("postfix", "mail")
        self.assertIn("problem: token directory", r.stdout)
        self.assertIn("belongs to uid 65534", r.stdout)


class TestCredSet(swtest.ScratchCase):
    def setUp(self):
        super().setUp()
        self.s.init_with_cred()

    def test_changes_in_one_step_with_event(self):
        r = self.s.run("cred", "set", "mail", "--sender", "b@contoso.com",
                       "--token-file", "--test-to", "ops@contoso.com")
        self.assertEqual(r.returncode, 0, r.stderr)
        _, c = self.s.json("cred", "show", "mail")
        self.assertEqual(c["sender"], "b@contoso.com")
        self.assertEqual(c["test_to"], "ops@contoso.com")
        self.assertEqual(c["token_file"], "yes")
        r = self.s.run("cred", "set", "mail", "--test-to", "")
        _, c = self.s.json("cred", "show", "mail")
        self.assertEqual(c["test_to"], "b@contoso.com")
        _, log = self.s.json("log", "mail")
        kinds = [ev["kind"] for ev in log["events"]]
        self.assertEqual(kinds.count("credential-changed"), 2)

    def test_bad_input_leaves_db_unchanged(self):
        before = self.s.db_hash()
        for args, words in [
            (["nosuch", "--token-file"], "no credential named 'nosuch'"),
            (["mail", "--sender", "not-a-mailbox"], "sender"),
            (["mail", "--cloud", "mars"], "cloud 'mars' is unknown"),
            (["mail", "--client-id", "x"], "client ID"),
            (["mail", "--smtp-url", "http://x"], "--smtp-url"),
            (["mail", "--token-file", "--sender", ""], "needs"),
            (["mail"], "nothing to change"),
        ]:
            r = self.s.run("cred", "set", *args)
            self.assertFails(r, words)
            self.assertEqual(self.s.db_hash(), before, args)


if __name__ == "__main__":
    swtest.main()
