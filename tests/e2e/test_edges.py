"""Small truths at the edges of the command line: a name that does not
exist, a database path that is a link, a directory or another user's
file, and a database of another program, each told as what it is, with
nothing left behind; and text from outside shown escaped."""
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402

SETPRIV = ["/usr/bin/setpriv", "--reuid=daemon", "--regid=daemon",
           "--clear-groups"]


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


class TestDatabasePath(swtest.ScratchCase):
    def setUp(self):
        super().setUp()
        self.s.init_with_cred()

    def use_db(self, path):
        with open(self.s.conf, "w") as f:
            f.write(f"[store]\ndatabase = {path}\nkey_file = {self.s.key}\n")

    def test_symlinked_database_is_named_a_link(self):
        link = os.path.join(self.s.dir, "link.db")
        os.symlink(self.s.db, link)
        self.use_db(link)
        for args, code in ((["status"], 3), (["cred", "list"], 1),
                           (["check"], 1)):
            r = self.s.run(*args)
            self.assertFails(r, "is a symbolic link", code)
            self.assertIn("links are refused", r.stderr)
            self.assertIn(self.s.db, r.stderr)
            self.assertNotIn("check its owner", r.stderr)

    def test_directory_as_database_is_named_a_directory(self):
        d = os.path.join(self.s.dir, "dbdir")
        os.mkdir(d)
        self.use_db(d)
        for args, code in ((["status"], 3), (["check"], 1), (["init"], 1)):
            r = self.s.run(*args)
            self.assertFails(r, f"database {d} is a directory", code)
            self.assertIn(f"such as {d}/secretwatch.db", r.stderr)
            self.assertNotIn("disk I/O error", r.stderr)

    def test_other_users_database_names_its_owner(self):
        # The store belongs to 'nobody', 0600; 'daemon' runs the command.
        for top, dirs, files in os.walk(self.s.dir):
            os.chown(top, 65534, 65534)
            for n in files:
                os.chown(os.path.join(top, n), 65534, 65534)
        os.chmod(self.s.dir, 0o755)
        os.chmod(self.s.state, 0o755)
        os.chmod(self.s.conf, 0o644)
        for name in os.listdir(self.s.state):
            os.chmod(os.path.join(self.s.state, name), 0o600)
        for args, verb, code in ((["status"], "read", 3),
                                 (["cred", "list"], "read", 1),
                                 (["check"], "write", 1)):
            r = subprocess.run(SETPRIV + [swtest.SW, "-c", self.s.conf,
                                          *args],
                               capture_output=True, text=True, cwd="/")
            self.assertFails(r, "belongs to nobody (uid 65534) and is "
                             f"mode 0600: this user (uid 1) may not {verb}",
                             code)
            self.assertIn("run secretwatch as nobody", r.stderr)
            self.assertNotIn("-wal and -shm", r.stderr)


class TestForeignDatabase(swtest.ScratchCase):
    def test_check_on_foreign_database_leaves_no_lock_file(self):
        os.makedirs(self.s.state)
        con = sqlite3.connect(self.s.db)
        con.execute("CREATE TABLE songs (title TEXT)")
        con.commit()
        con.close()
        with open(self.s.db, "rb") as f:
            before = f.read()
        for args in (["check"], ["rotate", "mail"], ["rekey"]):
            r = self.s.run(*args)
            self.assertFails(r, "is not a secretwatch database")
        self.assertEqual(sorted(os.listdir(self.s.state)),
                         ["secretwatch.db"])
        with open(self.s.db, "rb") as f:
            self.assertEqual(f.read(), before)


class TestTerminalEscapes(swtest.ScratchCase):
    """What came from outside reaches the terminal escaped: no escape
    sequence, C1 control, bidirectional override or line break of its
    own, however it was encoded."""
    RAW = (b"\x1b", b"\x9b", b"\xc2\x9b", b"\xe2\x80\xae", b"\x07")

    def setUp(self):
        super().setUp()
        self.s.init_with_cred()

    def run_bytes(self, *args):
        return subprocess.run([swtest.SW, "-c", self.s.conf, *args],
                              capture_output=True, env=swtest.daemon_env())

    def assertClean(self, out):
        for raw in self.RAW:
            self.assertNotIn(raw, out)

    def test_config_bytes_escaped_in_errors(self):
        with open(self.s.conf, "ab") as f:
            f.write(b"[watch]\nbo\x1b[31mgus\x9b\xc2\x9b\xe2\x80\xae = 1\n")
        r = self.run_bytes("status")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertClean(r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        self.assertIn(b"bo\\x1b[31mgus\\x9b\\xc2\\x9b\\xe2\\x80\\xae",
                      r.stderr)

    def test_names_in_errors_stay_one_line(self):
        r = self.run_bytes("cred", "show",
                           b"a\nsecretwatch: mail: all steps passed\x9b")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        self.assertIn(b"'a\\x0asecretwatch: mail: all steps passed\\x9b'",
                      r.stderr)
        r = self.run_bytes("log", "mail\x1b[2J")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertClean(r.stderr)

    def test_cert_out_name_escaped(self):
        out = os.path.join(self.s.dir, "o\x1b[31mut\u202e.pem")
        r = self.run_bytes("cert", "new", "mail", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(out))
        self.assertClean(r.stdout)
        self.assertIn(b"o\\x1b[31mut\\xe2\\x80\\xae.pem in the Entra",
                      r.stdout)
        bad = os.path.join(self.s.dir, "nodir", "x\x1b[31m\n.pem")
        r = self.run_bytes("cert", "new", "mail", "--out", bad)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertClean(r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)


if __name__ == "__main__":
    swtest.main()
