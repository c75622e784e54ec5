"""Small truths at the edges of the command line: a name that does not
exist is told as such."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402


class TestLogUnknownName(swtest.ScratchCase):
    def setUp(self):
        super().setUp()
        self.s.init_with_cred()

    def test_log_of_unknown_name_fails_like_status(self):
        r = self.s.run("log", "nosuch")
        self.assertFails(r, "no credential named 'nosuch'")
        self.assertIn("secretwatch cred list", r.stderr)
        self.assertEqual(r.stdout, "")
        r = self.s.run("--json", "log", "nosuch")
        self.assertFails(r, "no credential named 'nosuch'")
        self.assertEqual(r.stdout, "")
        r = self.s.run("log", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("credential-added", r.stdout)

    def test_log_of_removed_credential_still_shows_its_trail(self):
        self.assertEqual(self.s.run("cred", "rm", "mail").returncode, 0)
        r = self.s.run("log", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("credential-added", r.stdout)


if __name__ == "__main__":
    swtest.main()
