"""Real Postfix relaying through the XOAUTH2 plugin to the stand-in
Exchange server: a private Postfix instance (its own config, queue and
data directories; Debian's master.cf, so the smtp client runs chrooted)
with the built plugin, a token file from `secretwatch token`, and the
stand-in as relayhost with STARTTLS required.

Needs root (Postfix's master runs as root) and Debian's postfix package
(scripts/install-deps.sh); it fails, never skips, when either is missing.
"""
import base64
import hashlib
import json
import os
import pwd
import grp
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402

sys.path.insert(0, swtest.FAKES)
import fakes  # noqa: E402

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
PLUGIN_DIR = os.path.join(swtest.BIN_DIR, "..", "sasl2")
PLUGIN = os.path.join(PLUGIN_DIR, "libxoauth2-secretwatch.so")
RCPT = "someone@fabrikam.example"
WAIT = 60  # seconds, for any one thing to happen


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=WAIT):
    """Polls CHECK until it returns something true; fails after TIMEOUT."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ds waiting for %s"
                                 % (timeout, what))
        time.sleep(0.2)


def sha256(s):
    return hashlib.sha256(s.encode()).hexdigest()


class PostfixInstance:
    """A private Postfix instance under a temp dir."""

    def __init__(self, root, relay_port, ca_file, token_dir):
        self.root = root
        self.etc = os.path.join(root, "etc")
        self.spool = os.path.join(root, "spool")
        self.maillog = os.path.join(root, "maillog")
        self.port = free_port()
        os.makedirs(self.etc)
        data = os.path.join(root, "data")
        os.makedirs(data, 0o700)
        pf = pwd.getpwnam("postfix")
        os.chown(data, pf.pw_uid, pf.pw_gid)
        os.makedirs(self.spool)
        with open("/etc/postfix/master.cf") as f:
            master = f.read()
        # Debian's master.cf; only smtpd moves to a free loopback port.
        lines = master.splitlines(keepends=True)
        for i, line in enumerate(lines):
            if line.split()[:2] == ["smtp", "inet"]:
                lines[i] = line.replace("smtp", "127.0.0.1:%d" % self.port,
                                        1)
                break
        else:
            raise AssertionError("no smtpd line in Debian's master.cf")
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write("".join(lines))
        env = ("MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C "
               "POSTLOG_SERVICE POSTLOG_HOSTNAME "
               "SASL_PATH=%s SECRETWATCH_TOKEN_DIR=%s"
               % (os.path.realpath(PLUGIN_DIR), token_dir))
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.spool,
            "data_directory": data,
            "myhostname": "relay.test.invalid",
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "maillog_file": self.maillog,
            "maillog_file_prefixes": root,
            "import_environment": env,
            "relayhost": "[127.0.0.1]:%d" % relay_port,
            "smtp_tls_security_level": "encrypt",
            "smtp_tls_CAfile": ca_file,
            "smtp_sasl_auth_enable": "yes",
            "smtp_sasl_password_maps":
                "inline:{ { [127.0.0.1]:%d = %s:mail } }"
                % (relay_port, m365.SENDER),
            "smtp_sasl_mechanism_filter": "xoauth2",
            # smtp_sasl_security_options stays at Postfix's default
            # (noplaintext, noanonymous): the plugin must pass it.
            "smtp_address_preference": "ipv4",
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
        }
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))

    def run(self, *args, check=True):
        r = subprocess.run(list(args), capture_output=True, text=True,
                           timeout=WAIT)
        if check and r.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s\nmaillog:\n%s" % (
                " ".join(args), r.returncode, r.stdout, r.stderr,
                self.log()))
        return r

    def start(self):
        self.run(POSTFIX, "-c", self.etc, "check")
        self.run(POSTFIX, "-c", self.etc, "start")
        wait_for("smtpd on port %d" % self.port, self._listening)

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def stop(self):
        self.run(POSTFIX, "-c", self.etc, "stop", check=False)

    def log(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def queue(self):
        return self.run(POSTQUEUE, "-c", self.etc, "-p").stdout

    def flush(self):
        self.run(POSTQUEUE, "-c", self.etc, "-f")

    def submit(self, subject):
        with smtplib.SMTP("127.0.0.1", self.port, timeout=WAIT) as s:
            s.sendmail(m365.SENDER, [RCPT],
                       "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nbody\r\n"
                       % (m365.SENDER, RCPT, subject))


class TestPostfix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("test_postfix must run as root: Postfix's "
                                 "master process runs as root")
        for p in (POSTFIX, POSTQUEUE, "/etc/postfix/master.cf"):
            if not os.path.exists(p):
                raise AssertionError("%s is missing: install Debian's "
                                     "postfix (scripts/install-deps.sh)" % p)
        if not os.path.exists(PLUGIN):
            raise AssertionError("%s is not built" % PLUGIN)
        try:
            pwd.getpwnam("postfix")
            grp.getgrnam("postfix")
        except KeyError:
            raise AssertionError("user or group postfix is missing")

    def setUp(self):
        self.w = m365.World(webhook=False)
        self.addCleanup(self.w.close)
        self.w.add_secret(m365.S1, "+200d", "--activate")
        self.root = tempfile.mkdtemp(prefix="sw-postfix-")
        os.chmod(self.root, 0o755)
        self.addCleanup(shutil.rmtree, self.root, True)
        self.tokens = os.path.join(self.root, "tokens")
        os.mkdir(self.tokens, 0o750)
        os.chown(self.tokens, 0, grp.getgrnam("postfix").gr_gid)
        self.pf = PostfixInstance(self.root, self.w.smtp.port,
                                  self.w.entra.ca_file, self.tokens)
        self.pf.start()
        self.addCleanup(self.pf.stop)

    def write_token(self, token):
        """As secretwatchd will: the token and "\\n", 0640 root:postfix,
        written beside and renamed."""
        tmp = os.path.join(self.tokens, ".mail.tmp")
        with open(tmp, "w") as f:
            f.write(token + "\n")
        os.chmod(tmp, 0o640)
        os.chown(tmp, 0, grp.getgrnam("postfix").gr_gid)
        os.rename(tmp, os.path.join(self.tokens, "mail"))

    def fresh_token(self):
        r = self.w.run("token", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.strip()
        self.assertEqual(fakes.decode_jwt(token)["appid"], m365.CLIENT)
        return token

    def delivered(self, subject):
        for m in self.w.smtp.messages():
            if b"Subject: " + subject.encode() in m["eml"]:
                return m
        return None

    def auth_of(self, msg):
        """The stand-in's auth event of the session that carried MSG."""
        events = self.w.smtp.sessions()[msg["session"]]
        auths = [e for e in events if e["event"] == "auth"]
        self.assertEqual(len(auths), 1, events)
        cmds = [e["line"] for e in events if e["event"] == "C"]
        self.assertTrue(any(c.upper().startswith("AUTH XOAUTH2")
                            for c in cmds), cmds)
        return auths[0]

    def test_relay_with_token_file(self):
        token = self.fresh_token()
        self.write_token(token)
        self.pf.submit("first")
        msg = wait_for("delivery at the stand-in (maillog:\n%s)"
                       % self.pf.log(), lambda: self.delivered("first"))
        self.assertEqual(msg["auth_user"], m365.SENDER)
        self.assertEqual(msg["claims"]["appid"], m365.CLIENT)
        auth = self.auth_of(msg)
        self.assertTrue(auth["ok"])
        self.assertEqual(auth["token_sha256"], sha256(token))
        log = self.pf.log()
        self.assertIn("status=sent", log)
        self.assertNotIn(token, log)
        self.assertNotIn(token.split(".")[2], log)
        # The smtp client really ran chrooted (Debian's master.cf).
        with open(os.path.join(self.pf.etc, "master.cf")) as f:
            self.assertRegex(f.read(), r"(?m)^smtp\s+unix\s+-\s+-\s+y\s")

    def deferred(self, subject, why):
        """Submits SUBJECT, waits for its deferral and maillog line WHY."""
        self.pf.submit(subject)
        wait_for("a deferral logged with %r (maillog:\n%s)"
                 % (why, self.pf.log()),
                 lambda: "status=deferred" in self.pf.log()
                 and why in self.pf.log())
        q = self.pf.queue()
        self.assertIn(RCPT, q)
        self.assertIsNone(self.delivered(subject))

    def test_expired_then_valid(self):
        token = self.fresh_token()
        claims = fakes.decode_jwt(token)
        claims["exp"] = int(time.time()) - 60
        expired = fakes.make_jwt(claims)
        self.write_token(expired)
        self.deferred("late", "/mail holds an expired token (expired ")
        log = self.pf.log()
        self.assertIn("XOAUTH2: cannot authenticate: token file "
                      + self.tokens + "/mail", log)
        self.assertNotIn("bounced", log)
        self.assertNotIn(expired, log)
        # A valid token again: postqueue -f delivers the deferred mail.
        self.write_token(token)
        self.pf.flush()
        msg = wait_for("delivery after postqueue -f (maillog:\n%s)"
                       % self.pf.log(), lambda: self.delivered("late"))
        self.assertEqual(self.auth_of(msg)["token_sha256"], sha256(token))
        wait_for("an empty queue", lambda: RCPT not in self.pf.queue())

    def test_removed_then_valid(self):
        self.deferred("gone", "/mail is missing")
        self.assertNotIn("bounced", self.pf.log())
        token = self.fresh_token()
        self.write_token(token)
        self.pf.flush()
        wait_for("delivery after postqueue -f (maillog:\n%s)"
                 % self.pf.log(), lambda: self.delivered("gone"))

    def test_refused_token_defers(self):
        # The stand-in refuses the token (535 5.7.3): soft bounce keeps
        # the mail deferred, never bounced.
        self.w.smtp.update_scenario(
            service_principals={m365.CLIENT: {"full_access": []}})
        self.write_token(self.fresh_token())
        self.deferred("refused", "535 5.7.3")
        self.assertNotIn("status=bounced", self.pf.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
