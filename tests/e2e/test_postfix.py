"""Real Postfix relaying through the XOAUTH2 plugin to the stand-in
Exchange server, with the token file kept by secretwatchd: a private
Postfix instance (its own config, queue and data directories; Debian's
master.cf, so the smtp client runs chrooted) with the built plugin, the
daemon (under faketime, so that it can be "an hour later") writing
<[tokens] dir>/mail for group postfix, and the stand-in as relayhost with
STARTTLS required.

Needs root (Postfix's master runs as root) and Debian's postfix package
(scripts/install-deps.sh); it fails, never skips, when either is missing.
"""
import hashlib
import os
import pwd
import grp
import shutil
import signal
import smtplib
import socket
import stat
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import docs  # noqa: E402
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


USAGE = docs.read(docs.USAGE)
OFFICE365 = "[smtp.office365.com]:587"


class PostfixInstance:
    """A private Postfix instance under a temp dir, set up with the
    main.cf lines, sasl_passwd entry and postconf command of docs/USAGE.md
    for a token directory of its own (pointed at the stand-in); EXTRA
    overrides main.cf settings."""

    def __init__(self, root, relay_port, ca_file, token_dir, extra=None):
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
        # The plugin of this build; the token directory is added below by
        # docs/USAGE.md's own command.
        env = ("MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C "
               "POSTLOG_SERVICE POSTLOG_HOSTNAME SASL_PATH=%s"
               % os.path.realpath(PLUGIN_DIR))
        relay = "[127.0.0.1]:%d" % relay_port
        self.sasl_passwd = os.path.join(self.etc, "sasl_passwd")
        with open(self.sasl_passwd, "w") as f:
            f.write(docs.sasl_passwd(USAGE).replace(OFFICE365, relay)
                    + "\n")
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
            "smtp_tls_CAfile": ca_file,
            "smtp_address_preference": "ipv4",
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
        }
        for line in docs.main_cf(USAGE):
            k, v = line.split(" = ", 1)
            main[k] = v.replace(OFFICE365, relay).replace(
                "/etc/postfix/sasl_passwd", self.sasl_passwd)
        self.usage_main_cf = [line.replace(OFFICE365, relay)
                              for line in docs.main_cf(USAGE)]
        main.update(extra or {})
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            for k, v in main.items():
                f.write("%s = %s\n" % (k, v))
        cmd, doc_dir = docs.postconf_token_dir(USAGE)
        r = subprocess.run(["/bin/sh", "-c", cmd.replace(doc_dir, token_dir)],
                           env=dict(os.environ, MAIL_CONFIG=self.etc),
                           capture_output=True, text=True, timeout=WAIT)
        if r.returncode != 0:
            raise AssertionError("docs/USAGE.md's postconf command failed: "
                                 "%s" % r.stderr)

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


class Daemon:
    """secretwatchd on the World's store under faketime: AT is where its
    clock starts (it runs on from there)."""

    def __init__(self, world):
        self.w = world
        self.logs = []

    def _cmd(self, *args):
        return [swtest.SWD, "-c", self.w.s.conf, *args]

    def once(self, at):
        p = subprocess.run(self._cmd("--once"), capture_output=True,
                           text=True, env=swtest.daemon_env(at),
                           timeout=WAIT)
        self.logs.append(p.stdout + p.stderr)
        if p.returncode != 0:
            raise AssertionError("secretwatchd --once failed (%d): %s"
                                 % (p.returncode, p.stderr))
        return p.stderr

    def start(self, at):
        """Runs the daemon until stop(), in a process group of its own
        with its cycle child."""
        self.proc = subprocess.Popen(self._cmd(), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env=swtest.daemon_env(at),
                                     start_new_session=True)
        return self.proc

    def stop(self):
        p, self.proc = getattr(self, "proc", None), None
        if p is None:
            return ""
        os.killpg(p.pid, signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
        self.logs.append(out + err)
        return err


class TestPostfix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise AssertionError("test_postfix must run as root: Postfix's "
                                 "master process runs as root")
        for p, package in ((POSTFIX, "postfix"), (POSTQUEUE, "postfix"),
                           ("/etc/postfix/master.cf", "postfix"),
                           (swtest.LIBFAKETIME, "libfaketime")):
            swtest.need(p, package)
        if not os.path.exists(PLUGIN):
            raise AssertionError("%s is not built" % PLUGIN)
        try:
            pwd.getpwnam("postfix")
            cls.gid = grp.getgrnam("postfix").gr_gid
        except KeyError:
            raise AssertionError("user or group postfix is missing")

    def setUp(self):
        self.w = m365.World(webhook=False)
        self.addCleanup(self.w.close)
        self.root = tempfile.mkdtemp(prefix="sw-postfix-")
        os.chmod(self.root, 0o755)
        self.addCleanup(shutil.rmtree, self.root, True)
        # The plugin's directory; secretwatchd creates it (0750,
        # root:postfix) with the first token file.
        self.tokens = os.path.join(self.root, "tokens")
        self.path = os.path.join(self.tokens, "mail")
        self.w.configure("[tokens]\ndir = %s\ngroup = postfix\n"
                         % self.tokens)
        r = self.w.run("cred", "set", "mail", "--token-file")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.d = Daemon(self.w)
        self.addCleanup(self.d.stop)
        self.t0 = int(time.time())
        self.pf = PostfixInstance(self.root, self.w.smtp.port,
                                  self.w.entra.ca_file, self.tokens)
        self.pf.start()
        self.addCleanup(self.pf.stop)

    def file_token(self):
        """The token of the daemon's file, or None while there is none."""
        try:
            with open(self.path) as f:
                data = f.read()
        except FileNotFoundError:
            return None
        self.assertTrue(data.endswith("\n") and data.count("\n") == 1)
        return data[:-1]

    def new_file_token(self, old):
        """Waits for the daemon to put a token other than OLD in the
        file."""
        return wait_for("a new token in %s (daemon: %s)"
                        % (self.path, self.d.logs),
                        lambda: (self.file_token() or old) != old
                        and self.file_token())

    def delivered(self, subject):
        for m in self.w.smtp.messages():
            if b"Subject: " + subject.encode() in m["eml"]:
                return m
        return None

    def arrived(self, subject, token):
        """Waits for SUBJECT at the stand-in; checks that it came with
        AUTH XOAUTH2 as the sender and exactly TOKEN, of the app."""
        msg = wait_for("delivery of %r at the stand-in (maillog:\n%s)"
                       % (subject, self.pf.log()),
                       lambda: self.delivered(subject))
        self.assertEqual(msg["auth_user"], m365.SENDER)
        self.assertEqual(msg["claims"]["appid"], m365.CLIENT)
        events = self.w.smtp.sessions()[msg["session"]]
        auths = [e for e in events if e["event"] == "auth"]
        self.assertEqual(len(auths), 1, events)
        self.assertTrue(auths[0]["ok"])
        self.assertEqual(auths[0]["token_sha256"], sha256(token))
        cmds = [e["line"] for e in events if e["event"] == "C"]
        self.assertTrue(any(c.upper().startswith("AUTH XOAUTH2")
                            for c in cmds), cmds)
        return msg

    def deferred(self, subject, why):
        """Submits SUBJECT, waits for its deferral and maillog line WHY."""
        self.pf.submit(subject)
        wait_for("a deferral logged with %r (maillog:\n%s)"
                 % (why, self.pf.log()),
                 lambda: "status=deferred" in self.pf.log()
                 and why in self.pf.log())
        self.assertIn(RCPT, self.pf.queue())
        self.assertIsNone(self.delivered(subject))
        self.assertNotIn("status=bounced", self.pf.log())

    def assertNoToken(self, *tokens):
        texts = [self.pf.log()] + self.d.logs
        for t in tokens:
            for part in t.split("."):
                if len(part) > 8:
                    for text in texts:
                        self.assertNotIn(part, text)

    def test_relay_with_the_daemons_token_file(self):
        self.w.add_secret(m365.S1, "+200d", "--activate")
        self.d.start(self.t0)
        token = self.new_file_token(None)
        st = os.stat(self.path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        self.assertEqual((st.st_uid, st.st_gid), (0, self.gid))
        st = os.stat(self.tokens)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o750)
        self.assertEqual(st.st_gid, self.gid)
        self.pf.submit("first")
        self.arrived("first", token)
        self.assertIn("status=sent", self.pf.log())
        # What 'secretwatch postfix' says is what docs/USAGE.md says and what
        # this Postfix runs with, and it finds the token directory passed.
        r = self.w.run("postfix", "mail", env={
            "MAIL_CONFIG": self.pf.etc,
            "SASL_PATH": os.path.realpath(PLUGIN_DIR)})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        printed = r.stdout.split("# /etc/postfix/main.cf\n", 1)[1]
        printed = printed.split("\n# ", 1)[0].splitlines()
        self.assertEqual(printed, self.pf.usage_main_cf)
        self.assertIn("ok: Postfix passes SECRETWATCH_TOKEN_DIR=%s to the "
                      "plugin (import_environment)" % self.tokens, r.stdout)
        self.assertNotIn("problem:", r.stdout)
        self.assertIn("mail: token file refreshed", self.d.stop())
        self.assertNoToken(token)
        # The smtp client really ran chrooted (Debian's master.cf).
        with open(os.path.join(self.pf.etc, "master.cf")) as f:
            self.assertRegex(f.read(), r"(?m)^smtp\s+unix\s+-\s+-\s+y\s")

    def test_expired_with_the_daemon_stopped_then_restarted(self):
        # Entra hands out tokens that live 2 s (by the real clock, the
        # one the plugin and the stand-in read); the daemon writes one and
        # is not running when it expires.
        self.w.entra.update_scenario(expires_in=2)
        self.w.add_secret(m365.S1, "+200d", "--activate")
        self.d.once(self.t0)
        short = self.file_token()
        exp = fakes.decode_jwt(short)["exp"]
        wait_for("the token to expire", lambda: time.time() > exp + 1)
        self.deferred("late", "/mail holds an expired token (expired ")
        log = self.pf.log()
        self.assertRegex(log, r"XOAUTH2: cannot authenticate: token file "
                         + self.tokens + r"/mail holds an expired token "
                         r"\(expired [0-9T:Z-]+, \d+ s ago; is "
                         r"secretwatchd running\?\)")
        # Started again, an hour later by its clock, the daemon refreshes
        # the file at once; postqueue -f delivers the deferred mail.
        self.w.entra.update_scenario(expires_in=3599)
        self.d.start(self.t0 + 3600)
        token = self.new_file_token(short)
        self.pf.flush()
        self.arrived("late", token)
        wait_for("an empty queue", lambda: RCPT not in self.pf.queue())
        self.assertIn("mail: token file refreshed", self.d.stop())
        self.assertNoToken(short, token)

    def test_switch_to_a_new_secret_keeps_mail_flowing(self):
        self.w.add_secret(m365.S1, "+100d", "--activate")
        self.d.once(self.t0)
        old = self.file_token()
        self.assertEqual(fakes.decode_jwt(old)["xms_sw_secret"], "s1")
        self.pf.submit("before")
        self.arrived("before", old)
        # A pending secret: the daemon tests it, switches, and rewrites
        # the file with a token of the new secret.
        self.w.add_secret(m365.S2, "+300d")
        self.d.start(self.t0 + 60)
        token = self.new_file_token(old)
        self.assertEqual(fakes.decode_jwt(token)["xms_sw_secret"], "s2")
        _, doc = self.w.s.json("secret", "list", "mail")
        self.assertIn("active", [s["state"] for s in doc["secrets"]])
        self.pf.submit("after")
        msg = self.arrived("after", token)
        self.assertEqual(msg["claims"]["xms_sw_secret"], "s2")
        self.d.stop()
        self.assertNoToken(old, token)

    def test_removed_file_defers_until_the_daemon_rewrites_it(self):
        self.w.add_secret(m365.S1, "+200d", "--activate")
        self.d.once(self.t0)
        os.unlink(self.path)
        self.deferred("gone", "/mail is missing")
        self.d.once(self.t0 + 60)
        token = self.file_token()
        self.pf.flush()
        self.arrived("gone", token)

    def test_refused_token_defers(self):
        # The stand-in refuses the token (535 5.7.3): soft bounce keeps
        # the mail deferred, never bounced.
        self.w.add_secret(m365.S1, "+200d", "--activate")
        self.w.smtp.update_scenario(
            service_principals={m365.CLIENT: {"full_access": []}})
        self.d.once(self.t0)
        self.deferred("refused", "535 5.7.3")


if __name__ == "__main__":
    swtest.main()
