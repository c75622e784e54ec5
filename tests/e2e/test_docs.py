"""The documents agree with each other and with the program: one first
run in README.md, OPERATIONS.md and secretwatch(1); a checklist before
it; a "try it without a tenant" that works as written; the Postfix
lines of docs/USAGE.md and OPERATIONS.md are the ones 'secretwatch
postfix' prints (and test_postfix.py runs Postfix with); and every link
between the documents, and every section the code cites, is there; and
no file outside tests/ holds a value shaped like a client secret."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import docs  # noqa: E402
import swtest  # noqa: E402

README = docs.read(docs.README)
USAGE = docs.read(docs.USAGE)
CONFIGURATION = docs.read(os.path.join(docs.ROOT, "docs",
                                       "CONFIGURATION.md"))
OPERATIONS = docs.read(docs.OPERATIONS)
CONF5 = docs.read(os.path.join(docs.ROOT, "packaging", "man",
                               "secretwatch.conf.5.scd"))
MAN8 = docs.read(os.path.join(docs.ROOT, "packaging", "man",
                              "secretwatchd.8.scd"))
# scdoc writes a backslash as two.
MAN1 = docs.read(docs.MAN1).replace("\\\\", "\\")


def first_run(text, heading):
    return docs.commands(docs.blocks(docs.section(text, heading))[0])


class FirstRun(unittest.TestCase):
    def test_one_first_run_everywhere(self):
        readme = first_run(README, "First run")
        self.assertEqual(first_run(OPERATIONS, "First run"), readme)
        self.assertEqual(first_run(MAN1, "EXAMPLES"), readme)
        # init -> cred add (with --object-id) -> secret add --activate ->
        # status -> the daemon.
        self.assertEqual([w[:2] for w in readme],
                         [["secretwatch", "init"], ["secretwatch", "cred"],
                          ["secretwatch", "secret"],
                          ["secretwatch", "status"],
                          ["systemctl", "enable"]])
        self.assertEqual(readme[1][2:4], ["add", "mail"])
        self.assertIn("--object-id", readme[1])
        self.assertEqual(readme[2][2:4], ["add", "mail"])
        self.assertIn("--activate", readme[2])
        self.assertEqual(readme[4], ["systemctl", "enable", "--now",
                                     "secretwatchd.service"])

    def test_the_credential_is_mail_everywhere(self):
        for name, text in (("README.md", README),
                           ("OPERATIONS.md", OPERATIONS),
                           ("secretwatch(1)", MAN1),
                           ("secretwatchd(8)", MAN8),
                           ("secretwatch.conf(5)", CONF5)):
            self.assertNotRegex(text, r"\bmailer\b", name)

    def test_before_you_start(self):
        text = docs.section(README, "Before you start")
        for step in ("App registration", "SMTP.SendAsApp",
                     "Grant admin consent", "New-ServicePrincipal",
                     "Add-MailboxPermission", "Authenticated SMTP",
                     "Set-CASMailbox", "Value"):
            self.assertIn(step, text)
        self.assertLess(README.index("## Before you start"),
                        README.index("## First run"))


class TryWithoutATenant(unittest.TestCase):
    """The README's block, run as it is written."""

    def test_the_block_works(self):
        block = docs.blocks(docs.section(README, "Try it without a tenant"))
        script = "\n".join(block[0]) + "\n"
        self.assertIn("--authority-url", script)
        self.assertIn("--smtp-url", script)
        self.assertIn("ca_file", script)
        tmp = tempfile.mkdtemp(prefix="sw-tryit-")
        self.addCleanup(shutil.rmtree, tmp, True)
        env = dict(os.environ, TMPDIR=tmp,
                   PATH=os.path.abspath(swtest.BIN_DIR) + ":"
                   + os.environ.get("PATH", "/usr/bin:/bin"))
        env.pop("SECRETWATCH_CONFIG", None)
        r = subprocess.run(["bash", "-e", "-c", script], cwd=docs.ROOT,
                           env=env, capture_output=True, text=True,
                           timeout=120, start_new_session=True)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertRegex(r.stdout, r"(?m)^switched mail to client secret "
                         r"#1 \(Abc~\)")
        self.assertRegex(r.stdout, r"(?m)^mail +ok .* tested and passed ")


# An Entra client secret's shape: three characters, a digit, "Q~", then
# 31 to 34 more, standing alone (scanners look for the same).
SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9_.~-])[A-Za-z0-9_.~-]{3}[0-9]Q~"
                          r"[A-Za-z0-9_.~-]{31,34}(?![A-Za-z0-9_.~-])")
# Tests hold their stand-in values; builds and the demo's scratch are not
# the project's files.
NOT_SCANNED = ("tests", ".git", "_demo", "__pycache__")


def project_files():
    root = os.path.normpath(docs.ROOT)
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in NOT_SCANNED and
                   not (top == root and d.startswith("build"))]
        for name in files:
            yield os.path.join(top, name)


class NoSecretShapedValue(unittest.TestCase):
    """Outside tests/, no file holds a value shaped like a real client
    secret: the README, the demo and the benchmarks make theirs when they
    run, so nothing a secret scanner flags is ever committed."""

    def test_none_outside_tests(self):
        found = []
        for path in project_files():
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for m in SECRET_SHAPE.finditer(text):
                found.append("%s: %s" % (os.path.relpath(path, docs.ROOT),
                                         m.group(0)))
        self.assertEqual(found, [])

    def test_the_shape_is_recognised(self):
        self.assertRegex('"Abc8Q~' + "x" * 34 + '"', SECRET_SHAPE)
        self.assertNotRegex("Abc8Q~%s", SECRET_SHAPE)


class PostfixAdvice(swtest.ScratchCase):
    def test_one_set_of_main_cf_lines(self):
        self.assertEqual(docs.main_cf(USAGE), docs.main_cf(OPERATIONS))
        self.assertEqual(docs.sasl_passwd(USAGE),
                         docs.sasl_passwd(OPERATIONS))
        self.assertEqual(docs.postconf_token_dir(USAGE),
                         docs.postconf_token_dir(OPERATIONS))
        # What the command prints for a credential on Microsoft 365.
        self.s.init_with_cred()
        r = self.s.run("postfix", "mail")
        printed = r.stdout.split("# /etc/postfix/main.cf\n", 1)[1]
        printed = printed.split("\n# ", 1)[0].splitlines()
        self.assertEqual(printed, docs.main_cf(USAGE))
        self.assertIn("\n%s\n" % docs.sasl_passwd(USAGE), r.stdout)

    def test_one_answer_for_another_token_directory(self):
        for text in (README, USAGE, CONFIGURATION, OPERATIONS, CONF5):
            self.assertNotIn("xoauth2_token_dir", text)
            self.assertNotIn("smtp.conf", text)
        self.assertRegex(CONF5, r"SECRETWATCH_TOKEN_DIR=")
        self.assertRegex(CONF5, r"import_environment")
        for text in (README, USAGE, OPERATIONS):
            self.assertNotRegex(text, r"smtp_sasl_security_options\s*=\s*"
                                r"noanonymous\b")
            self.assertNotIn("keep the default", text)


def headings(text):
    """The headings of a Markdown text, outside fenced blocks."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            m = re.match(r"^#+ (.*)$", line)
            if m:
                out.append(m.group(1).strip())
    return out


def anchors(text):
    """GitHub's anchors for the headings of text."""
    out = set()
    for h in headings(text):
        a = re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-")
        n, b = 0, a
        while b in out:
            n += 1
            b = "%s-%d" % (a, n)
        out.add(b)
    return out


class Links(unittest.TestCase):
    """The README leads to every document; every link between the
    documents reaches a file and a heading that are there; every
    section of docs/USAGE.md and docs/CONFIGURATION.md that the code
    cites by name is there."""

    DOCS = ["README.md", "docs/USAGE.md", "docs/CONFIGURATION.md",
            "docs/SECURITY.md", "docs/BENCHMARKS.md", "docs/ARCHITECTURE.md",
            "docs/PROTOCOL.md", "packaging/OPERATIONS.md"]

    def test_the_readme_leads_everywhere(self):
        linked = set(re.findall(r"\]\(([^)#\s]+)", README))
        for doc in self.DOCS[1:] + ["packaging/man/secretwatch.1.scd",
                                    "packaging/man/secretwatchd.8.scd",
                                    "packaging/man/secretwatch.conf.5.scd"]:
            self.assertIn(doc, linked, "README.md links no %s" % doc)

    def test_every_link_reaches_its_target(self):
        for doc in self.DOCS:
            text = docs.read(os.path.join(docs.ROOT, doc))
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"^[a-z]+:", target):
                    continue
                path, _, anchor = target.partition("#")
                path = os.path.normpath(os.path.join(
                    docs.ROOT, os.path.dirname(doc), path)) if path else \
                    os.path.join(docs.ROOT, doc)
                self.assertTrue(os.path.exists(path),
                                "%s: %s is not there" % (doc, target))
                if anchor:
                    self.assertIn(anchor, anchors(docs.read(path)),
                                  "%s: no heading for %s" % (doc, target))

    def test_the_sections_the_code_cites(self):
        cited = set()
        for top in ("lib", "cli", "daemon", "sasl", "fuzz", "tests"):
            for d, _, files in os.walk(os.path.join(docs.ROOT, top)):
                for f in files:
                    if not f.endswith((".c", ".h", ".py")):
                        continue
                    text = docs.read(os.path.join(d, f))
                    cited.update(re.findall(
                        r"(docs/(?:USAGE|CONFIGURATION)\.md), "
                        r"([A-Za-z][\w ]*[\w])", text))
        self.assertIn(("docs/USAGE.md", "Levels"), cited)
        for doc, name in cited:
            hs = [h.lower() for h in
                  headings(docs.read(os.path.join(docs.ROOT, doc)))]
            self.assertTrue(any(h == name.lower() or
                                h.startswith(name.lower() + ":")
                                for h in hs),
                            "%s has no section %r" % (doc, name))


if __name__ == "__main__":
    swtest.main()
