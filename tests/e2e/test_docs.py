"""The documents agree with each other and with the program: the Postfix
lines of README.md and OPERATIONS.md are the ones 'secretwatch postfix'
prints (and test_postfix.py runs Postfix with)."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import docs  # noqa: E402
import swtest  # noqa: E402

README = docs.read(docs.README)
OPERATIONS = docs.read(docs.OPERATIONS)
CONF5 = docs.read(os.path.join(docs.ROOT, "packaging", "man",
                               "secretwatch.conf.5.scd"))


class PostfixAdvice(swtest.ScratchCase):
    def test_one_set_of_main_cf_lines(self):
        self.assertEqual(docs.main_cf(README), docs.main_cf(OPERATIONS))
        self.assertEqual(docs.sasl_passwd(README),
                         docs.sasl_passwd(OPERATIONS))
        self.assertEqual(docs.postconf_token_dir(README),
                         docs.postconf_token_dir(OPERATIONS))
        # What the command prints for a credential on Microsoft 365.
        self.s.init_with_cred()
        r = self.s.run("postfix", "mail")
        printed = r.stdout.split("# /etc/postfix/main.cf\n", 1)[1]
        printed = printed.split("\n# ", 1)[0].splitlines()
        self.assertEqual(printed, docs.main_cf(README))
        self.assertIn("\n%s\n" % docs.sasl_passwd(README), r.stdout)

    def test_one_answer_for_another_token_directory(self):
        for text in (README, OPERATIONS, CONF5):
            self.assertNotIn("xoauth2_token_dir", text)
            self.assertNotIn("smtp.conf", text)
        self.assertRegex(CONF5, r"SECRETWATCH_TOKEN_DIR=")
        self.assertRegex(CONF5, r"import_environment")
        for text in (README, OPERATIONS):
            self.assertNotRegex(text, r"smtp_sasl_security_options\s*=\s*"
                                r"noanonymous\b")
            self.assertNotIn("keep the default", text)


if __name__ == "__main__":
    swtest.main()
