"""The registration CLI on a scratch store: init, credentials, secrets,
status levels, the audit trail, rekey, and no secret ever shown."""
import os
import re
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
from swtest import ScratchCase, SW  # noqa: E402

SECRET = "q7Z8Q~Xy_z.Ab-cdEFghIJklMNopQRstUVwxYZ01"
DAY = 86400



class TestStartUp(ScratchCase):
    """Local commands start without libcurl and libcrypto: the network
    and certificate module brings them on first use."""
    LOADED = re.compile(r"file=(libcurl|libcrypto)\.so")

    def loaded(self, *args, code=0):
        r = self.s.run(*args, env={"LD_DEBUG": "files"})
        self.assertEqual(r.returncode, code, r.stderr[-2000:])
        return {m.group(1) for m in self.LOADED.finditer(r.stderr)}

    def test_local_commands_load_neither(self):
        self.s.init_with_cred()
        self.assertEqual(self.loaded("status", code=3), set())  # unknown
        for args in (["cred", "list"], ["log"]):
            self.assertEqual(self.loaded(*args), set(), args)

    def test_certificate_command_loads_the_module(self):
        self.s.init_with_cred()
        out = os.path.join(self.s.dir, "cert.pem")
        self.assertEqual(self.loaded("cert", "new", "mail", "--out", out),
                         {"libcurl", "libcrypto"})
        with open(out) as f:
            self.assertIn("BEGIN CERTIFICATE", f.read())


class TestInit(ScratchCase):
    def test_init_is_idempotent(self):
        r = self.s.run("init")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.stat(self.s.state).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(self.s.key).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.s.db).st_mode & 0o777, 0o600)
        with open(self.s.key, "rb") as f:
            key = f.read()
        self.s.run("cred", "add", "mail", "--tenant", swtest.TENANT,
                   "--client-id", swtest.CLIENT_ID, "--sender", swtest.SENDER)
        before = self.s.db_hash()
        r = self.s.run("init")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("already initialised", r.stdout)
        with open(self.s.key, "rb") as f:
            self.assertEqual(f.read(), key)
        self.assertEqual(self.s.db_hash(), before)

    def test_init_tightens_open_modes(self):
        self.s.run("init")
        os.chmod(self.s.state, 0o755)
        os.chmod(self.s.db, 0o644)
        r = self.s.run("init")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tightened", r.stderr)
        self.assertIn("was 0755, now 0700", r.stderr)
        self.assertEqual(os.stat(self.s.state).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(self.s.db).st_mode & 0o777, 0o600)
        r = self.s.run("init")
        self.assertNotIn("tightened", r.stderr)

    def test_init_refuses_new_key_for_existing_database(self):
        self.s.run("init")
        os.unlink(self.s.key)
        r = self.s.run("init")
        self.assertFails(r, "key file")
        self.assertFalse(os.path.exists(self.s.key))

    def test_version_and_help(self):
        r = subprocess.run([SW, "--version"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^secretwatch \d+\.\d+\.\d+\n$")
        for cmd in (["init"], ["cred", "add"], ["cred", "list"],
                    ["cred", "show"], ["cred", "rm"], ["secret", "add"],
                    ["secret", "list"], ["secret", "retire"], ["status"],
                    ["log"], ["rekey"], ["cred"], ["secret"], ["check"],
                    ["test"], ["doctor"], ["rotate"], ["token"]):
            r = subprocess.run([SW, *cmd, "--help"], capture_output=True,
                               text=True)
            self.assertEqual(r.returncode, 0, cmd)
            self.assertIn("usage:", r.stdout, cmd)
        r = subprocess.run([swtest.SWD, "--help"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0)
        self.assertIn("usage: secretwatchd", r.stdout)
        r = subprocess.run([swtest.SWD, "--version"], capture_output=True,
                           text=True)
        self.assertRegex(r.stdout, r"^secretwatchd \d+\.\d+\.\d+\n$")


class TestSecrets(ScratchCase):
    def setUp(self):
        super().setUp()
        self.s.init_with_cred()

    def add(self, value=SECRET, expires="+90d", *extra):
        return self.s.run("secret", "add", "mail", "--expires", expires,
                          *extra, input=value + "\n")

    def test_secret_never_stored_or_shown_in_clear(self):
        # A reader holding a snapshot keeps the WAL from being
        # checkpointed away, so its frames can be searched too.
        reader = sqlite3.connect(self.s.db)
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM credential").fetchall()
        r = self.add(SECRET, "+90d", "--key-id",
                     "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
        self.assertEqual(r.returncode, 0, r.stderr)
        wal = self.s.db + "-wal"
        self.assertTrue(os.path.exists(wal))
        for path in (self.s.db, wal):
            with open(path, "rb") as f:
                data = f.read()
            self.assertNotIn(SECRET.encode(), data, path)
            self.assertNotIn(SECRET[3:].encode(), data, path)
        reader.close()
        outputs = [r.stdout, r.stderr]
        for args in (["secret", "list"], ["status"], ["log"],
                     ["cred", "show", "mail"], ["cred", "list"]):
            for js in ([], ["--json"]):
                out = self.s.run(*js, *args)
                outputs += [out.stdout, out.stderr]
        text = "\n".join(outputs)
        self.assertNotIn(SECRET[3:], text)
        self.assertNotIn(SECRET[:6], text)
        self.assertIn("q7Z", text)
        self.assertIn("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", text)

    def test_json_shapes(self):
        self.add()
        r, doc = self.s.json("status")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(doc["now"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        c = doc["credentials"][0]
        self.assertEqual(c["name"], "mail")
        self.assertEqual(c["tenant"], swtest.TENANT)
        self.assertEqual(c["client_id"], swtest.CLIENT_ID)
        self.assertEqual(c["sender"], swtest.SENDER)
        self.assertEqual(c["level"], "ok")
        self.assertIsNone(c["active"])
        p = c["pending"][0]
        self.assertEqual(p["hint"], "q7Z")
        self.assertEqual(p["days_left"], 90)
        self.assertIsNone(p["last_test"])
        self.assertEqual(p["kind"], "secret")
        self.assertEqual(set(p) - {"note"}, {"id", "state", "kind", "hint",
                                            "key_id", "expires_at",
                                            "days_left", "last_test"})

    def test_status_levels_and_exit_codes(self):
        r = self.add(SECRET, "2027-06-01")
        self.assertEqual(r.returncode, 0, r.stderr)
        expiry = 1811808000  # 2027-06-01T00:00:00Z
        for days, level, code in ((31, "ok", 0), (30, "warning", 1),
                                  (8, "warning", 1), (7, "critical", 2),
                                  (-1, "expired", 2)):
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                 time.gmtime(expiry - days * DAY))
            r, doc = self.s.json("status", "mail", "--now", when)
            self.assertEqual(r.returncode, code, (days, r.stderr))
            self.assertEqual(doc["credentials"][0]["level"], level, days)
            self.assertEqual(doc["credentials"][0]["pending"][0]["days_left"],
                             days)
            r = self.s.run("status", "--now", when)
            self.assertEqual(r.returncode, code)
            self.assertIn(level, r.stdout)

    def test_thresholds_come_from_config(self):
        self.s.write_config("[watch]\nlevel_warning = 60d\n"
                            "level_critical = 20d\n")
        self.add(SECRET, "+45d")
        self.assertEqual(self.s.run("status").returncode, 1)
        self.assertEqual(self.s.run("status", "--now", "+30d").returncode, 2)

    def test_unknown_without_secret(self):
        r, doc = self.s.json("status")
        self.assertEqual(r.returncode, 3)
        self.assertEqual(doc["credentials"][0]["level"], "unknown")

    def test_retire_and_log(self):
        self.add()
        r = self.s.run("secret", "retire", "mail", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        r, doc = self.s.json("secret", "list")
        self.assertEqual(doc["secrets"][0]["state"], "retired")
        r, doc = self.s.json("log", "mail")
        kinds = [e["kind"] for e in doc["events"]]
        self.assertEqual(kinds, ["credential-added", "secret-added",
                                 "secret-retired"])
        self.assertFails(self.s.run("secret", "retire", "mail", "1"),
                         "already retired")

    def test_cred_rm_needs_force_with_live_secrets(self):
        self.add()
        before = self.s.db_hash()
        self.assertFails(self.s.run("cred", "rm", "mail"), "--force")
        self.assertEqual(self.s.db_hash(), before)
        r = self.s.run("cred", "rm", "mail", "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        r, doc = self.s.json("cred", "list")
        self.assertEqual(doc["credentials"], [])

    def test_rekey_keeps_secrets_readable(self):
        self.add()
        with open(self.s.key, "rb") as f:
            old = f.read()
        r = self.s.run("rekey")
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.s.key, "rb") as f:
            new = f.read()
        self.assertNotEqual(old, new)
        self.assertEqual(len(new), 32)
        self.assertFalse(os.path.exists(self.s.key + ".new"))
        # The value still decrypts: re-adding it is caught as a duplicate.
        self.assertFails(self.add(), "already registered")
        # The old key no longer opens the store.
        with open(self.s.key, "wb") as f:
            f.write(old)
        self.assertFails(self.add("other~value"), "does not match")

    def test_interrupted_rekey_is_finished(self):
        self.add()
        with open(self.s.key, "rb") as f:
            old = f.read()
        self.assertEqual(self.s.run("rekey").returncode, 0)
        # As if the rename after the commit had not happened.
        os.rename(self.s.key, self.s.key + ".new")
        with open(self.s.key, "wb") as f:
            f.write(old)
        os.chmod(self.s.key, 0o600)
        r = self.add("new~value-2")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("interrupted rekey", r.stderr)
        self.assertFalse(os.path.exists(self.s.key + ".new"))

    def test_wrong_key_file_changes_nothing(self):
        self.add()
        with open(self.s.key, "wb") as f:
            f.write(os.urandom(32))
        before = self.s.db_hash()
        for args, inp in ((["secret", "add", "mail", "--expires", "+9d"],
                           "zzz~other\n"), (["rekey"], None)):
            r = self.s.run(*args, input=inp)
            self.assertFails(r, "master key does not match")
            self.assertEqual(self.s.db_hash(), before)


if __name__ == "__main__":
    swtest.main()
