"""swtest.need: a program the tests call that is absent fails the test
with one line naming it and its Debian package; it never skips it, and
no traceback buries the line."""
import io
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import swtest  # noqa: E402
import fakes  # noqa: E402  (put on the path by swtest)

HINT = "(scripts/install-deps.sh installs it)"


def run_case(case_class):
    """(result, output) of CASE_CLASS's tests, reported as swtest.main
    reports them."""
    out = io.StringIO()
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case_class)
    runner = unittest.TextTestRunner(stream=out, resultclass=swtest.Result,
                                     verbosity=2)
    return runner.run(suite), out.getvalue()


class Samples:
    """Tests that need an absent program (not run on their own)."""

    class InTheTest(unittest.TestCase):
        def test_it(self):
            swtest.need("/usr/bin/sw-no-such-program", "sw-no-such-package")

    class ForTheClass(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            swtest.need("sw-no-such-program", "sw-no-such-package")

        def test_it(self):
            pass


class TestNeed(unittest.TestCase):
    def test_present_program_by_path_and_by_name(self):
        self.assertEqual(swtest.need("/usr/bin/python3", "python3"),
                         "/usr/bin/python3")
        path = swtest.need("sh", "dash")
        self.assertIn(os.path.dirname(path), fakes.BIN_DIRS)
        self.assertTrue(os.access(path, os.X_OK))

    def test_present_file(self):
        self.assertEqual(swtest.need("/etc/passwd", "base-passwd"),
                         "/etc/passwd")

    def test_absent(self):
        for what, shown in (("/usr/bin/sw-no-such-program",
                             "program /usr/bin/sw-no-such-program"),
                            ("sw-no-such-program",
                             "program sw-no-such-program"),
                            ("/usr/lib/sw-no-such-library.so.1",
                             "/usr/lib/sw-no-such-library.so.1")):
            with self.subTest(what=what):
                with self.assertRaises(swtest.MissingProgram) as cm:
                    swtest.need(what, "sw-no-such-package")
                self.assertEqual(str(cm.exception),
                                 "missing %s: install the Debian package "
                                 "'sw-no-such-package' %s" % (shown, HINT))

    def test_a_test_needing_it_fails_in_one_line(self):
        for case in (Samples.InTheTest, Samples.ForTheClass):
            with self.subTest(case=case.__name__):
                res, out = run_case(case)
                self.assertFalse(res.wasSuccessful())
                self.assertEqual(res.skipped, [])
                self.assertEqual(len(res.failures) + len(res.errors), 1)
                self.assertNotIn("Traceback", out)
                lines = [line for line in out.splitlines()
                         if "sw-no-such-program" in line]
                self.assertEqual(len(lines), 1, out)
                self.assertTrue(lines[0].startswith("missing program "),
                                out)
                self.assertIn("'sw-no-such-package'", lines[0])


if __name__ == "__main__":
    swtest.main()
