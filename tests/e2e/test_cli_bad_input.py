"""Every wrong value gets one clear line on stderr, exit 1, and the
database stays byte-for-byte unchanged."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
from swtest import ScratchCase, SW  # noqa: E402

GOOD = ["--tenant", swtest.TENANT, "--client-id", swtest.CLIENT_ID,
        "--sender", swtest.SENDER]


def replace(args, flag, value):
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


class TestBadInput(ScratchCase):
    def setUp(self):
        super().setUp()
        self.s.init_with_cred()
        r = self.s.run("secret", "add", "mail", "--expires", "+90d",
                       input="abc~first-secret-value\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.before = self.s.db_hash()

    def check(self, args, words, input=None, env=None, code=1):
        r = self.s.run(*args, input=input, env=env)
        self.assertFails(r, words, code)
        self.assertEqual(self.s.db_hash(), self.before, args)
        return r

    def test_bad_credential_fields(self):
        cases = [
            (["cred", "add", "Bad Name", *GOOD], "not a valid name"),
            (["cred", "add", "-x", *GOOD], "unknown"),
            (["cred", "add", "m2", *replace(GOOD, "--tenant", "undefined")],
             "neither a GUID nor a domain"),
            (["cred", "add", "m2",
              *replace(GOOD, "--client-id", "1234-5678")], "not a GUID"),
            (["cred", "add", "m2",
              *replace(GOOD, "--sender", "Alerts <a@b.com>")],
             "not a mailbox address"),
            (["cred", "add", "m2", *GOOD, "--object-id", "nope"],
             "not a GUID"),
            (["cred", "add", "m2", *GOOD, "--test-to", "x@"],
             "not a mailbox address"),
            (["cred", "add", "m2", *GOOD, "--cloud", "mars"], "unknown"),
            (["cred", "add", "m2", *GOOD, "--smtp-url", "smtps://h:465"],
             "smtp:// URL"),
            (["cred", "add", "m2", *GOOD, "--authority-url", "http://h"],
             "https:// URL"),
            (["cred", "add", "m2", "--tenant", swtest.TENANT],
             "needs --tenant, --client-id and --sender"),
            (["cred", "add", "mail", *GOOD], "exists already"),
            (["cred", "show", "nope"], "no credential named 'nope'"),
            (["cred", "rm", "nope"], "no credential named 'nope'"),
            (["cred", "add", "m2", "--tenant", "\xe9t\xe9.com",
              "--client-id", swtest.CLIENT_ID, "--sender", swtest.SENDER],
             "neither a GUID nor a domain"),
        ]
        for args, words in cases:
            with self.subTest(args=args):
                self.check(args, words)

    def test_bad_secret_registration(self):
        add = ["secret", "add", "mail", "--expires"]
        cases = [
            (add + ["next week"], "not a time", "x~y\n"),
            (add + ["2027-02-30"], "not a time", "x~y\n"),
            (add + ["2027-01-01T10:00:00"], "not a time", "x~y\n"),
            (add + ["2020-01-01"], "in the past", "x~y\n"),
            (add + ["-3d"], "in the past", "x~y\n"),
            (add + ["+1000000w"], "more than 10 years", "x~y\n"),
            (add + ["+3700d"], "more than 10 years", "x~y\n"),
            (add + ["2040-01-01"], "more than 10 years", "x~y\n"),
            (add + ["+90d", "--key-id", "xyz"], "not a GUID", "x~y\n"),
            (add + ["+90d"], "empty", "\n"),
            (add + ["+90d"], "empty", ""),
            (add + ["+90d"], "over the 1024-byte limit", "a" * 1025 + "\n"),
            (add + ["+90d"], "looks like the Secret ID",
             "8f7e6d5c-1234-4abc-9def-0123456789ab\n"),
            (add + ["+90d"], "looks like the Secret ID",
             " 8f7e6d5c-1234-4abc-9def-0123456789ab \n"),
            (add + ["+90d"], "looks like the Secret ID",
             "{8f7e6d5c-1234-4abc-9def-0123456789ab}\n"),
            (add + ["+90d"], "looks like the Secret ID",
             "8f7e6d5c12344abc9def0123456789ab\n"),
            (add + ["+90d"], "looks like the Secret ID",
             '"8f7e6d5c-1234-4abc-9def-0123456789ab"\n'),
            (add + ["+90d"], "looks like the Secret ID",
             "(8f7e6d5c-1234-4abc-9def-0123456789ab)\n"),
            (add + ["+90d"], "looks like the Secret ID",
             "urn:uuid:8f7e6d5c-1234-4abc-9def-0123456789ab\n"),
            (add + ["+90d"], "more than one line", "xyz~one\nxyz~two\n"),
            (add + ["+90d"], "already registered", "abc~first-secret-value\n"),
            (["secret", "add", "nope", "--expires", "+90d"],
             "no credential named 'nope'", "x~y\n"),
            (["secret", "add", "mail"], "needs --expires", "x~y\n"),
            (["secret", "add", "mail", "--expires", "+9d", "--note",
              "a\tb"], "control character", "x~y\n"),
            (["secret", "add", "mail", "--expires", "+9d", "--note",
              "invoice\u202egpj.exe"], "control character", "x~y\n"),
            (["secret", "retire", "mail", "abc"], "not a number", None),
            (["secret", "retire", "mail", "99"], "no secret with ID 99",
             None),
            (["secret", "list", "nope"], "no credential named", None),
            (["status", "--now", "soon"], "not a time", None),
            (["log", "--since", "yesterday"], "not a time", None),
            (["frobnicate"], "not a command", None),
            (["secret", "frob"], "not a command", None),
        ]
        for args, words, inp in cases:
            with self.subTest(args=args, input=inp and inp[:20]):
                code = 3 if args[0] == "status" else 1
                self.check(args, words, input=inp, code=code)

    def test_echoed_input_is_escaped(self):
        r = self.check(["cred", "show", "a\x1b[31mred\u202eevil"],
                       "no credential named")
        self.assertNotIn("\x1b", r.stderr)
        self.assertNotIn("\u202e", r.stderr)
        self.assertIn("\\x1b[31mred\\xe2\\x80\\xaeevil", r.stderr)

    def test_value_blanks_trimmed(self):
        r = self.s.run("secret", "add", "mail", "--expires", "+90d",
                       input="  xyz~pasted-value\t\n\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.s.run("--json", "secret", "list", "mail")
        self.assertIn('"hint":"xyz"', r.stdout.replace(" ", ""))

    def test_non_utf8_bytes(self):
        r = subprocess.run([SW, "-c", self.s.conf, "secret", "add", "mail",
                            "--expires", "+90d"],
                           input=b"abc\xff\xfe-secret\n", capture_output=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"not valid UTF-8", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertEqual(self.s.db_hash(), self.before)
        r = subprocess.run([SW, "-c", self.s.conf, "secret", "add", "mail",
                            "--expires", "+90d", "--note", b"bad\xffnote"],
                           input=b"xyz-secret\n", capture_output=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"not valid UTF-8", r.stderr)
        self.assertEqual(self.s.db_hash(), self.before)

    def test_missing_or_unreadable_files(self):
        os.rename(self.s.key, self.s.key + ".away")
        self.check(["secret", "add", "mail", "--expires", "+9d"],
                   "cannot open key file", input="x~y\n")
        os.rename(self.s.key + ".away", self.s.key)
        os.chmod(self.s.key, 0o644)
        self.check(["secret", "add", "mail", "--expires", "+9d"],
                   "chmod 600", input="x~y\n")
        os.chmod(self.s.key, 0o600)
        os.rename(self.s.db, self.s.db + ".away")
        r = self.s.run("status")
        self.assertFails(r, "secretwatch init", 3)
        r = self.s.run("cred", "list")
        self.assertFails(r, "secretwatch init")
        self.assertFalse(os.path.exists(self.s.db))
        os.rename(self.s.db + ".away", self.s.db)

    def test_bad_config(self):
        with open(self.s.conf, "a") as f:
            f.write("[watch]\nintervall = 1h\n")
        r = self.check(["status"], "[watch] intervall: unknown key", code=3)
        self.assertIn(self.s.conf + ":5:", r.stderr)
        r = subprocess.run([SW, "-c", "/nonexistent.conf", "status"],
                           capture_output=True, text=True)
        self.assertIn("cannot read config /nonexistent.conf", r.stderr)

    def test_config_from_environment(self):
        r = subprocess.run([SW, "cred", "list", "--names"],
                           capture_output=True, text=True,
                           env={**os.environ,
                                "SECRETWATCH_CONFIG": self.s.conf})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "mail\n")


if __name__ == "__main__":
    swtest.main()
