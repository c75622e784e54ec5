#!/usr/bin/python3
"""The whole secretwatch story on the stand-in Microsoft servers.

    /usr/bin/python3 scripts/demo.py [BUILD_DIR]     (default: build)

A fake Entra token endpoint, a fake Exchange Online SMTP server and a
webhook receiver (tests/fakes, all on 127.0.0.1) stand in for Microsoft
365, so no tenant is needed.  The story: a client secret is registered and
tested, the daemon warns as its expiry nears (today, then on later days
under faketime), the operator registers the replacement, the daemon tests
it with a real token request and XOAUTH2 send and switches, the deploy hook
gets the new secret; finally `doctor` diagnoses a mailbox with SMTP AUTH
disabled.

Every command is printed with its real output.  Each step is checked; the
first one that does not do what it should stops the demo with exit 1.  The
scratch store, certificates and servers are removed at the end, also on
failure or interruption.  Runs in a few seconds; gives up after 60.
"""

import contextlib
import email.parser
import email.policy
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))
import fakes  # noqa: E402

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"
STDBUF = "/usr/bin/stdbuf"
DAY = 86400
TIME_LIMIT = 60          # seconds for the whole demo
CMD_TIMEOUT = 30         # seconds for one command

TENANT = "contoso.onmicrosoft.com"
CLIENT = "11111111-2222-3333-4444-555555555555"
SP_OID = "99999999-8888-4777-8666-555555555555"
SENDER = "alerts@contoso.com"
OPS = "ops@contoso.com"
OLD_KEY = "6a1c0f3e-1d2b-4c5d-8e9f-0a1b2c3d4e5f"
NEW_KEY = "7b2d1e4f-2e3c-4d6e-9f0a-1b2c3d4e5f60"
# The bonus credential: another app that sends as a mailbox whose
# Authenticated SMTP is switched off.
CLIENT2 = "22222222-3333-4444-5555-666666666666"
SP_OID2 = "88888888-7777-4666-8555-444444444444"
REPORTS = "reports@contoso.com"


OLD = fakes.secret_value("Old")
NEW = fakes.secret_value("New")
REP = fakes.secret_value("Rep")
SECRETS = (OLD, NEW, REP)


def rfc(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def short(value):
    """What the demo may print of a secret: its first 3 characters."""
    return value[:3] + "\u2026"


class DemoFailed(Exception):
    pass


def on_signal(signum, frame):
    raise DemoFailed("interrupted by signal %d" % signum)


def on_alarm(signum, frame):
    raise DemoFailed("the demo took longer than %d s" % TIME_LIMIT)


class Demo:
    def __init__(self, build):
        self.bin = os.path.join(build, "bin")
        self.sw = os.path.join(self.bin, "secretwatch")
        self.swd = os.path.join(self.bin, "secretwatchd")
        self.transcript = []       # everything printed, for the leak check
        self.outputs = []          # everything the product wrote
        self.at = None             # the story's clock (None: real time)
        self.stack = contextlib.ExitStack()

    # -- printing -------------------------------------------------------

    def out(self, text=""):
        self.transcript.append(text)
        print(text, flush=True)

    def step(self, title):
        self.out()
        self.out("=" * 78)
        self.out(title)
        self.out("=" * 78)

    def say(self, text):
        for para in textwrap.dedent(text).strip().split("\n\n"):
            self.out(textwrap.fill(" ".join(para.split()), 76,
                                   initial_indent="# ",
                                   subsequent_indent="# "))

    def show(self, title, lines):
        self.out("  -- %s" % title)
        for line in lines:
            self.out("  | " + line)

    def ok(self, cond, what):
        if not cond:
            raise DemoFailed(what)
        self.out("  \u2713 " + what)

    # -- running the product --------------------------------------------

    def env(self):
        """The product's environment, its clock at the story's. The
        command shown says 'faketime -f'; libfaketime is preloaded
        directly, as a killed faketime wrapper elsewhere can leave a
        semaphore that fails a later one with the same PID."""
        e = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "CREDENTIALS_DIRECTORY",
                  "LD_PRELOAD", "FAKETIME"):
            e.pop(k, None)
        e["SECRETWATCH_CONFIG"] = self.conf
        e["PATH"] = self.bin + os.pathsep + e.get("PATH", "/usr/bin:/bin")
        e["TZ"] = "UTC"
        if self.at is not None:
            e["LD_PRELOAD"] = LIBFAKETIME
            e["FAKETIME"] = "@" + time.strftime("%Y-%m-%d %H:%M:%S",
                                                time.gmtime(self.at))
        # libfaketime is preloaded ahead of a sanitizer runtime, if any.
        e["ASAN_OPTIONS"] = (e.get("ASAN_OPTIONS", "") +
                             ":verify_asan_link_order=0").lstrip(":")
        return e

    def run(self, *args, stdin=None, stdin_shown=None, expect=0):
        """Run secretwatch/secretwatchd ARGS at the story's clock, print
        the command and its output, check the exit code."""
        prog = self.sw if args[0] == "secretwatch" else self.swd
        # stdout and stderr share one pipe, shown in the order written:
        # line-buffer stdout as on a terminal (a pty would make 'secret
        # add' prompt instead of reading the piped value).
        argv = [STDBUF, "-oL", prog, *args[1:]]
        shown = shlex.join(args)
        if self.at is not None:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.at))
            shown = "faketime -f %s %s" % (shlex.quote("@" + stamp), shown)
        if stdin_shown:
            shown = "%s | %s" % (stdin_shown, shown)
        self.out()
        self.out("$ " + shown)
        try:
            r = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               env=self.env(), timeout=CMD_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise DemoFailed("%s did not finish within %d s"
                             % (shown, CMD_TIMEOUT))
        self.outputs.append(r.stdout)
        for line in r.stdout.rstrip("\n").split("\n") if r.stdout else []:
            self.out(line)
        self.out("[exit %d]" % r.returncode)
        if self.at is not None:
            self.at += 60      # the next command a minute later
        if expect is not None and r.returncode != expect:
            raise DemoFailed("%s exited %d, expected %d"
                             % (shown, r.returncode, expect))
        return r

    def json(self, *args):
        """A --json query for the checks (not printed)."""
        argv = [self.sw, "--json", *args]
        r = subprocess.run(argv, capture_output=True, text=True,
                           env=self.env(), timeout=CMD_TIMEOUT)
        try:
            return json.loads(r.stdout)
        except ValueError:
            raise DemoFailed("secretwatch --json %s gave no JSON: %s"
                             % (" ".join(args), r.stderr.strip()))

    # -- the fakes ------------------------------------------------------

    def mails(self):
        return self.smtp.messages()

    def new_mails(self, since):
        return self.mails()[since:]

    def hooks(self):
        return [r for r in self.webhook.requests() if r.get("status") == 200]

    def show_mail(self, m, body_lines=4):
        msg = email.parser.BytesParser(policy=email.policy.default) \
            .parsebytes(m["eml"])
        self.outputs.append(m["eml"].decode("utf-8", "replace"))
        lines = ["SMTP envelope: MAIL FROM <%s>, RCPT TO %s" %
                 (m["mail_from"], ", ".join("<%s>" % r for r in m["rcpt"])),
                 "AUTH XOAUTH2 user=%s, token claims: appid=%s "
                 "roles=%s xms_sw_secret=%s" %
                 (m["auth_user"], m["claims"].get("appid"),
                  m["claims"].get("roles"),
                  m["claims"].get("xms_sw_secret")),
                 ""]
        for h in ("From", "To", "Subject", "X-Secretwatch-Event",
                  "X-Secretwatch-Level"):
            if msg[h] is not None:
                lines.append("%s: %s" % (h, msg[h]))
        lines.append("")
        body = msg.get_body(("plain",)).get_content().strip().split("\n")
        for line in body[:body_lines]:
            lines += textwrap.wrap(line, 74) or [""]
        if len(body) > body_lines:
            lines.append("[... %d more lines]" % (len(body) - body_lines))
        self.show("fake SMTP received message #%d" % m["n"], lines)
        return msg

    def show_hook(self, req):
        doc = req["json"]
        self.outputs.append(json.dumps(doc))
        self.show("webhook receiver got POST %s (%s)" %
                  (req["path"], req["content_type"]),
                  json.dumps(doc, indent=2).split("\n"))

    def subject(self, m):
        return email.parser.BytesParser(policy=email.policy.default) \
            .parsebytes(m["eml"])["Subject"] or ""

    # -- the story ------------------------------------------------------

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="secretwatch-demo.")
        # The servers' own temp directories go inside it too.
        tempfile.tempdir = os.path.join(self.dir, "servers")
        os.mkdir(tempfile.tempdir)
        self.conf = os.path.join(self.dir, "secretwatch.conf")
        self.hook = os.path.join(self.dir, "deploy-hook.sh")
        self.deployed = os.path.join(self.dir, "deployed-secret")
        self.prom = os.path.join(self.dir, "secretwatch.prom")

    def cleanup(self):
        self.stack.close()
        if getattr(self, "dir", None):
            shutil.rmtree(self.dir, ignore_errors=True)

    def step1_fakes(self):
        self.step("1. The stand-in Microsoft 365 and a scratch store")
        self.say("""
            Three stand-in servers on 127.0.0.1 play Microsoft's part: a
            fake Entra ID token endpoint, a fake Exchange Online SMTP
            submission server (STARTTLS, AUTH XOAUTH2), and a webhook
            receiver for alerts. Their certificates chain to a test CA,
            which the store's config trusts with [tls] ca_file.""")
        self.t0 = int(time.time())
        certs = fakes.Certs(os.path.join(self.dir, "certs"))
        self.entra_scenario = {"tenants": {TENANT: {"name": "contoso", "apps": {
            CLIENT: {"name": "mailer", "sp_object_id": SP_OID,
                     "secrets": [
                         {"label": "old", "value": OLD,
                          "end": rfc(self.t0 + 20 * DAY)},
                         {"label": "new", "value": NEW,
                          "end": rfc(self.t0 + 14 * DAY + 365 * DAY)}]},
            CLIENT2: {"name": "reporter", "sp_object_id": SP_OID2,
                      "secrets": [{"label": "rep", "value": REP,
                                   "end": rfc(self.t0 + 180 * DAY)}]}}}}}
        self.smtp_scenario = {
            "mailboxes": {SENDER: {}, OPS: {},
                          REPORTS: {"smtp_auth": False}},
            "service_principals": {CLIENT: {"full_access": [SENDER]},
                                   CLIENT2: {"full_access": [REPORTS]}}}
        self.entra = self.stack.enter_context(
            fakes.Entra(self.entra_scenario, certs=certs))
        self.smtp = self.stack.enter_context(
            fakes.Smtp(self.smtp_scenario, certs=certs))
        self.webhook = self.stack.enter_context(
            fakes.Webhook({}, certs=certs))
        self.show("stand-in servers", [
            "fake Entra   %s  tenant %s" % (self.entra.url, TENANT),
            "             app %s (\"mailer\") with two client secrets:"
            % CLIENT,
            "               old: hint %s, Entra end date %s"
            % (short(OLD), rfc(self.t0 + 20 * DAY)),
            "               new: hint %s, Entra end date %s"
            % (short(NEW), rfc(self.t0 + 379 * DAY)),
            "             app %s (\"reporter\"), one secret, hint %s"
            % (CLIENT2, short(REP)),
            "fake SMTP    %s  mailboxes %s, %s, %s"
            % (self.smtp.url, SENDER, OPS, REPORTS),
            "             (%s has Authenticated SMTP disabled)" % REPORTS,
            "webhook      %s" % self.webhook.url,
        ])
        with open(self.hook, "w") as f:
            f.write("#!/bin/sh\n"
                    "# Deploy hook: gets the new secret on stdin; here it\n"
                    "# only keeps it in a file (a real one would push it\n"
                    "# to the application that sends mail).\n"
                    "umask 077\n"
                    "cat > %s\n"
                    "env | grep '^SECRETWATCH_' | sort > %s.env\n"
                    % (shlex.quote(self.deployed),
                       shlex.quote(self.deployed)))
        os.chmod(self.hook, 0o755)
        with open(self.conf, "w") as f:
            f.write("[store]\n"
                    "database = %s/state/secretwatch.db\n"
                    "key_file = %s/state/master.key\n"
                    "[tls]\n"
                    "ca_file = %s\n"
                    "[alerts]\n"
                    "email_to = %s\n"
                    "webhook_url = %s\n"
                    "[deploy]\n"
                    "hook = %s\n"
                    "[metrics]\n"
                    "textfile = %s\n"
                    % (self.dir, self.dir, certs.ca_file, OPS,
                       self.webhook.url, self.hook, self.prom))
        self.out()
        self.out("$ export SECRETWATCH_CONFIG=%s TZ=UTC PATH=%s:$PATH"
                 % (self.conf, self.bin))
        self.out("$ cat $SECRETWATCH_CONFIG")
        with open(self.conf) as f:
            for line in f.read().rstrip("\n").split("\n"):
                self.out(line)
        self.out("$ cat %s" % self.hook)
        with open(self.hook) as f:
            for line in f.read().rstrip("\n").split("\n"):
                self.out(line)

    def step2_register(self):
        self.step("2. Register the credential and its client secret")
        self.run("secretwatch", "init")
        self.run("secretwatch", "cred", "add", "mail", "--tenant", TENANT,
                 "--client-id", CLIENT, "--sender", SENDER,
                 "--object-id", SP_OID, "--test-to", OPS,
                 "--authority-url", self.entra.url,
                 "--smtp-url", self.smtp.url)
        self.say("""
            The secret's Value goes in on stdin (pasted at a hidden
            prompt, or piped), never on the command line. It expires in
            20 days. --activate tests it at once: a token request to Entra,
            then an XOAUTH2 test send.""")
        n_mail = len(self.mails())
        self.run("secretwatch", "secret", "add", "mail", "--expires", "+20d",
                 "--key-id", OLD_KEY, "--note", "created by ops",
                 "--activate", stdin=OLD + "\n",
                 stdin_shown="printf '%s\\n' \"$OLD_SECRET\"")
        tests = [m for m in self.new_mails(n_mail)
                 if m["claims"].get("xms_sw_secret") == "old"]
        self.ok(tests, "the fake SMTP got a test message authenticated with "
                "a token from the old secret")
        self.run("secretwatch", "test", "mail")
        self.say("""
            status is a Nagios check: the secret expires within 30 days,
            so the level is warning, exit 1.""")
        r = self.run("secretwatch", "status", expect=1)
        self.ok("warning" in r.stdout, "status says warning (exit 1)")

    def daemon_once(self):
        n_mail, n_hook = len(self.mails()), len(self.hooks())
        r = self.run("secretwatchd", "--once")
        return r, self.new_mails(n_mail), self.hooks()[n_hook:]

    def warning_came(self, r, mails, hooks, level, max_days, full=False):
        warn_mails = [m for m in mails
                      if "expires in" in self.subject(m)]
        warn_hooks = [h for h in hooks
                      if h["json"].get("event") == "expiry-warning"]
        self.ok("1 warnings" in r.stdout, "the cycle sent one warning")
        self.ok(len(warn_mails) == 1 and warn_mails[0]["rcpt"] == [OPS],
                "one warning email went to %s" % OPS)
        self.ok(len(warn_hooks) == 1, "one warning reached the webhook")
        self.show_mail(warn_mails[0], 4 if full else 1)
        h = warn_hooks[0]
        if full:
            self.show_hook(h)
        else:
            j = h["json"]
            self.show("webhook receiver got POST %s" % h["path"], [
                "event=%s credential=%s hint=%s days_left=%s level=%s"
                % (j["event"], j["credential"], j["hint"], j["days_left"],
                   j["level"])])
        j = h["json"]
        self.ok(j["level"] == level and j["credential"] == "mail"
                and j["hint"] == OLD[:3] and 0 < j["days_left"] <= max_days,
                "webhook: %s, %d days left (threshold %d days)"
                % (j["level"], j["days_left"], max_days))
        msg = email.parser.BytesParser(policy=email.policy.default) \
            .parsebytes(warn_mails[0]["eml"])
        self.ok(msg["X-Secretwatch-Level"] == level,
                "email: X-Secretwatch-Level: %s" % level)

    def step3_warn(self):
        self.step("3. The daemon warns before the secret expires")
        self.say("""
            One watchdog cycle, today. The secret has 20 days left, past
            the 30-day threshold: one warning, by email (sent through the
            credential's own Microsoft 365 path, which still works) to
            ops, and by webhook.""")
        r, mails, hooks = self.daemon_once()
        self.warning_came(r, mails, hooks, "warning", 30, full=True)

        self.say("""
            Nobody acts. faketime moves the daemon's clock on: 8 days
            later the 14-day threshold is crossed, one more warning.""")
        self.at = self.t0 + 8 * DAY + 3600
        r, mails, hooks = self.daemon_once()
        self.warning_came(r, mails, hooks, "warning", 14)

        self.say("""
            Day 14: 6 days left, the 7-day threshold; now the warning is
            critical.""")
        self.at = self.t0 + 14 * DAY + 3600
        r, mails, hooks = self.daemon_once()
        self.warning_came(r, mails, hooks, "critical", 7)
        self.say("""
            The next cycle the same day sends nothing again: each threshold
            is alerted once (the cycle's line says 0 warnings).""")
        r, mails, hooks = self.daemon_once()
        self.ok("; 0 warnings," in r.stdout and not mails and not hooks,
                "no repeated alert: no mail, no webhook")
        r = self.run("secretwatch", "status", expect=2)
        self.ok("critical" in r.stdout, "status says critical (exit 2)")

    def step4_switch(self):
        self.step("4. The operator registers the new secret; the daemon "
                  "switches")
        self.say("""
            Still on day 14, the operator creates a new client secret for
            the app in Entra (the fake tenant knows it as "new") and
            registers it. It is stored encrypted, as pending, until a test
            with it succeeds.""")
        expires = time.strftime("%Y-%m-%d", time.gmtime(
            self.t0 + 14 * DAY + 365 * DAY))
        self.run("secretwatch", "secret", "add", "mail", "--expires", expires,
                 "--key-id", NEW_KEY, "--note", "rotated after the alert",
                 stdin=NEW + "\n",
                 stdin_shown="printf '%s\\n' \"$NEW_SECRET\"")
        self.say("""
            The daemon's next cycle: a token request with the new secret,
            an XOAUTH2 test send with that token, and only then the
            switch, the "switched" alert and the deploy hook.""")
        n_entra = len(self.entra.requests())
        r, mails, hooks = self.daemon_once()
        self.ok("1 switched" in r.stdout, "the cycle switched one credential")

        reqs = [q for q in self.entra.requests()[n_entra:]
                if q.get("secret_label") == "new"]
        self.show("fake Entra token requests with the new secret", [
            "%s %s client_id=%s scope=%s grant_type=%s secret=%s -> %s"
            % (q["method"], q["path"], q["client_id"], q["scope"],
               q["grant_type"], q["secret_label"], q["status"])
            for q in reqs])
        self.ok(any(q["status"] == 200 for q in reqs),
                "Entra issued a token for the new secret")

        tests = [m for m in mails
                 if m["claims"].get("xms_sw_secret") == "new"
                 and "test" in self.subject(m)]
        self.ok(tests, "the fake SMTP got the test send, authenticated with "
                "a token from the new secret (xms_sw_secret=new)")
        self.show_mail(tests[0], 3)

        switched = [m for m in mails
                    if "switched" in self.subject(m)]
        self.ok(len(switched) == 1, "the \"switched\" alert went out by "
                "email")
        self.show_mail(switched[0], 2)
        sw_hooks = [h for h in hooks if h["json"].get("event") == "switched"]
        self.ok(len(sw_hooks) == 1 and sw_hooks[0]["json"]["hint"] ==
                NEW[:3], "the \"switched\" alert reached the webhook")
        self.show_hook(sw_hooks[0])

        try:
            with open(self.deployed) as f:
                got = f.read()
            with open(self.deployed + ".env") as f:
                hook_env = f.read()
        except FileNotFoundError:
            raise DemoFailed("the deploy hook did not run")
        self.outputs.append(hook_env)
        self.show("the deploy hook's output", [
            "%s: %s (%d characters and a newline, from stdin)"
            % (os.path.basename(self.deployed), short(got),
               len(got.rstrip("\n")))] +
            ["%s.env: %s" % (os.path.basename(self.deployed), line)
             for line in hook_env.rstrip("\n").split("\n")])
        self.ok(got == NEW + "\n", "the deploy hook got the new secret "
                "on stdin")
        self.ok(NEW not in hook_env, "... and not in its environment")

        with open(self.prom) as f:
            prom = f.read()
        self.outputs.append(prom)
        lines = [ln for ln in prom.split("\n")
                 if ln and not ln.startswith("#")]
        self.show("metrics textfile %s (samples)" % self.prom, lines)
        self.ok('hint="%s",state="active"' % NEW[:3] in prom
                and 'secretwatch_credential_level{credential="mail"} 0'
                in prom, "metrics: the new secret is active, level 0 (ok)")

    def step5_after(self):
        self.step("5. Afterwards")
        r = self.run("secretwatch", "status")
        self.ok(" ok " in r.stdout, "status says ok (exit 0)")
        self.run("secretwatch", "secret", "list")
        states = {s["hint"]: s["state"]
                  for s in self.json("secret", "list", "mail")["secrets"]}
        self.ok(states == {NEW[:3]: "active", OLD[:3]: "previous"},
                "the new secret is active, the old one previous")
        self.run("secretwatch", "log")
        kinds = [e["kind"] for e in self.json("log", "mail")["events"]]
        for k in ("secret-added", "test-passed", "warning", "switched"):
            self.ok(k in kinds, "the audit trail has %s" % k)

    def step6_doctor(self):
        self.step("6. doctor: a mailbox with SMTP AUTH disabled")
        self.say("""
            A second credential: another app sending as %s, a mailbox whose
            Authenticated SMTP is switched off (as Exchange Online does by
            default). Its secret is registered pending; doctor walks the
            setup steps and stops at the broken one.""" % REPORTS)
        self.run("secretwatch", "cred", "add", "reports", "--tenant", TENANT,
                 "--client-id", CLIENT2, "--sender", REPORTS,
                 "--object-id", SP_OID2, "--test-to", OPS,
                 "--authority-url", self.entra.url,
                 "--smtp-url", self.smtp.url)
        self.run("secretwatch", "secret", "add", "reports", "--expires",
                 "+180d", stdin=REP + "\n",
                 stdin_shown="printf '%s\\n' \"$REPORTS_SECRET\"")
        r = self.run("secretwatch", "doctor", "reports", expect=2)
        self.ok("Set-CASMailbox" in r.stdout and REPORTS in r.stdout,
                "doctor names Authenticated SMTP and the Set-CASMailbox "
                "remedy for %s" % REPORTS)
        self.say("""
            The Exchange admin runs the remedy (Set-CASMailbox -Identity
            %s -SmtpClientAuthenticationDisabled $false); in the fake,
            that is a scenario change.""" % REPORTS)
        sc = json.loads(json.dumps(self.smtp_scenario))
        sc["mailboxes"][REPORTS] = {"smtp_auth": True}
        self.smtp.set_scenario(sc)
        self.run("secretwatch", "doctor", "reports")
        self.run("secretwatch", "rotate", "reports")
        self.run("secretwatch", "status")

    def leak_check(self):
        everything = "\n".join(self.transcript + self.outputs)
        for log in (self.entra.requests(), self.smtp.log(),
                    self.webhook.requests()):
            everything += json.dumps(log)
        for value in SECRETS:
            if value[3:] in everything:
                raise DemoFailed("a secret value (hint %s) appeared in the "
                                 "output, a log or a message"
                                 % value[:3])
        self.out()
        self.ok(True, "no secret value appeared in any command output, "
                "alert, message, metrics file or server log")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    if not os.path.isdir(os.path.join(build, "bin")) and \
            os.path.isdir(os.path.join(ROOT, build, "bin")):
        build = os.path.join(ROOT, build)
    build = os.path.abspath(build)
    for b in ("secretwatch", "secretwatchd"):
        if not os.access(os.path.join(build, "bin", b), os.X_OK):
            print("demo: %s/bin/%s not found: build first (cmake -S . -B "
                  "build && cmake --build build)" % (build, b),
                  file=sys.stderr)
            return 1
    try:
        fakes.need(LIBFAKETIME, "libfaketime")
        fakes.need(STDBUF, "coreutils")
    except fakes.MissingProgram as e:
        print("demo: %s" % e, file=sys.stderr)
        return 1
    try:
        sys.stdout.reconfigure(errors="replace")
    except AttributeError:
        pass
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TIME_LIMIT)
    start = time.monotonic()
    d = Demo(build)
    try:
        d.start()
        d.step1_fakes()
        d.step2_register()
        d.step3_warn()
        d.step4_switch()
        d.step5_after()
        d.step6_doctor()
        d.leak_check()
    except DemoFailed as e:
        signal.alarm(0)
        print("\nDEMO FAILED: %s" % e, file=sys.stderr, flush=True)
        return 1
    except Exception as e:  # noqa: BLE001 - report, clean up, fail
        signal.alarm(0)
        print("\nDEMO FAILED: %s: %s" % (type(e).__name__, e),
              file=sys.stderr, flush=True)
        return 1
    finally:
        signal.alarm(0)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        d.cleanup()
    print("\ndemo finished: every step did what it should (%.1f s)"
          % (time.monotonic() - start), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
