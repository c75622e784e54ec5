"""Output read at 3 a.m.: tables with their headers and times people read,
an error without a table in front of it, alert lines that say one thing
once, and a daemon in the foreground that says when and what."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import m365  # noqa: E402
import swtest  # noqa: E402

RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


class Tables(swtest.ScratchCase):
    def setUp(self):
        super().setUp()
        self.s.init_with_cred()
        r = self.s.run("secret", "add", "mail", "--expires", "+90d",
                       input=m365.S1 + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def old_event(self, at, detail):
        """An event as an earlier release wrote it."""
        with sqlite3.connect(self.s.db) as db:
            db.execute("INSERT INTO event (at, credential, secret_id, kind, "
                       "detail) VALUES (?, 'mail', 1, 'secret-added', ?)",
                       (at, json.dumps(detail)))

    def test_log_has_a_header_and_rfc3339_times(self):
        exp = int(time.time()) + 90 * 86400
        self.old_event(int(time.time()), {"hint": "S1a", "key_id": "",
                                          "expires_at": exp})
        r = self.s.run("log", "mail")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertRegex(lines[0], r"^TIME +CREDENTIAL +SECRET +EVENT +"
                         r"DETAIL$")
        want = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))
        self.assertIn('"expires_at":"%s"' % want, lines[-1])
        self.assertNotIn(str(exp), r.stdout)
        _, doc = self.s.json("log", "mail")
        self.assertEqual(doc["events"][-1]["detail"]["expires_at"], want)

    def test_log_since_a_time_ago(self):
        self.old_event(int(time.time()) - 7200, {"hint": "old"})
        r = self.s.run("log", "mail", "--since", "-1h")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("secret-added", r.stdout)
        self.assertNotIn('"old"', r.stdout)
        r = self.s.run("log", "mail", "--since", "-3h")
        self.assertIn('"old"', r.stdout)
        r = self.s.run("log", "--since", "yesterday")
        self.assertFails(r, "--since: 'yesterday' is not a time: use "
                         "YYYY-MM-DD, an RFC 3339 time such as "
                         "2027-06-01T12:00:00Z, or a time ago such as -1h")
        self.assertNotIn("+", r.stderr)

    def test_status_labels_its_columns_and_an_error_stands_alone(self):
        r = self.s.run("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout.splitlines()[0],
                         r"^NAME +LEVEL +SECRET +EXPIRES +DAYS +LAST TEST$")
        self.assertRegex(r.stdout.splitlines()[1],
                         r" pending, not yet tested$")
        r = self.s.run("status", "nosuch")
        self.assertEqual((r.returncode, r.stdout), (3, ""))
        self.assertEqual(r.stderr, "secretwatch: no credential named "
                         "'nosuch': see 'secretwatch cred list'\n")


class AlertLines(m365.WorldCase):
    def alert_lines(self, text, event):
        return [l for l in text.splitlines()
                if l.startswith("secretwatch: alert %s " % event)]

    def test_switch_says_it_once(self):
        r = self.w.add_secret(m365.S1, "+200d", "--activate")
        self.assertRegex(r.stdout, r"(?m)^switched mail to client secret #1 "
                         r"\(S1a~\): it passed a token request and an XOAUTH2 "
                         r"test send$")
        lines = self.alert_lines(r.stderr, "switched")
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], r"^secretwatch: alert switched \(ok\): "
                         r"secretwatch switched mail to client secret S1a~ "
                         r"\(key unknown, expires %s\) after a successful "
                         r"token request and XOAUTH2 test send\.$" % RFC3339)
        # Nothing else on stderr says it again.
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)

    def test_warning_says_it_once(self):
        self.w.add_secret(m365.S1, "+40d", "--activate")
        r = self.w.run("check", "--now", "+15d", "--force")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = self.alert_lines(r.stderr, "expiry-warning")
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], r"^secretwatch: alert expiry-warning "
                         r"\(warning\): The client secret S1a~ \(key unknown\)"
                         r" of mail expires %s, in 25 days\. To do: " % RFC3339)
        self.assertEqual(lines[0].count("S1a~"), 1, lines[0])
        self.assertEqual(lines[0].count("25 days"), 1, lines[0])


class LevelCodes(m365.WorldCase):
    """One level -> code mapping: status's exit code is the metric."""

    def level(self, prom):
        with open(prom) as f:
            m = re.search(r'(?m)^secretwatch_credential_level\{credential='
                          r'"mail"\} (\d+)$', f.read())
        return int(m.group(1))

    def test_metric_is_the_exit_code(self):
        prom = os.path.join(self.w.s.dir, "sw.prom")
        self.w.configure("[metrics]\ntextfile = %s\n" % prom)
        cases = [("unknown", [], 3), ("warning", [], 1),
                 ("expired", ["--now", "+21d"], 2)]
        for name, now, code in cases:
            with self.subTest(level=name):
                if name == "warning":
                    self.w.add_secret(m365.S1, "+20d", "--activate")
                r = self.w.run("status", "mail", *now)
                self.assertEqual(r.returncode, code, r.stdout)
                self.assertIn(" %s " % name, r.stdout)
                r = self.w.run("check", *swtest.force(now))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(self.level(prom), code)

class DaemonForeground(m365.WorldCase):
    """secretwatchd on a terminal or in a file, not under journald."""

    STAMP = r"(?m)^%s secretwatchd: " % RFC3339

    def config(self, webhook):
        extra = "[alerts]\nemail_to = %s\n" % m365.OPS
        if webhook:
            extra += "webhook_url = %s/hook\n" % self.w.webhook.url
        self.w.configure(extra)

    def once(self):
        p = subprocess.run([swtest.SWD, "-c", self.w.s.conf, "--once"],
                           capture_output=True, text=True, timeout=60,
                           env=swtest.daemon_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stderr

    def test_lines_are_stamped_and_name_the_channels(self):
        self.config(webhook=True)
        self.w.add_secret(m365.S1, "+200d")
        err = self.once()
        lines = err.splitlines()
        self.assertTrue(lines, err)
        for line in lines:
            self.assertRegex(line, self.STAMP)
        self.assertRegex(err, self.STAMP + r"alert switched \(ok\): ")
        self.assertRegex(err, self.STAMP + r"mail: alert switched delivered "
                         r"by email$")
        self.assertRegex(err, self.STAMP + r"mail: alert switched delivered "
                         r"by webhook$")
        self.assertRegex(err, self.STAMP + r"cycle: 1 credentials: 1 ok, .*"
                         r"1 switched, .* 3 alerts delivered; next check "
                         + RFC3339 + "$")
        self.assertNotIn("only alert channel", err)

    def test_email_only_is_warned_at_start_and_by_doctor(self):
        self.config(webhook=False)
        self.w.add_secret(m365.S1, "+200d", "--activate")
        err = self.once()
        self.assertRegex(err, self.STAMP + r"email is the only alert channel "
                         r"besides this log: alert mail goes out through the "
                         r"secrets being watched")
        r = self.w.run("doctor", "mail")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertIn("warning: email is the only alert channel", r.stdout)

    def test_every_cycle_says_so(self):
        self.config(webhook=True)
        self.w.add_secret(m365.S1, "+200d", "--activate")
        err_path = os.path.join(self.w.s.dir, "daemon.err")
        with open(err_path, "w") as err:
            p = subprocess.Popen([swtest.SWD, "-c", self.w.s.conf],
                                 stderr=err, env=swtest.daemon_env())
        self.addCleanup(p.wait, 10)
        self.addCleanup(p.terminate)
        # Quiet cycles too: the first, then two asked for with SIGUSR1.
        for want in (1, 2, 3):
            deadline = time.monotonic() + 30
            while True:
                with open(err_path) as f:
                    got = len(re.findall(r"(?m) cycle: 1 credentials: 1 ok"
                                         r".*; next check " + RFC3339 + "$",
                                         f.read()))
                if got >= want:
                    break
                self.assertLess(time.monotonic(), deadline, "%d cycle lines"
                                % got)
                time.sleep(0.05)
            p.send_signal(signal.SIGUSR1)  # a cycle now


if __name__ == "__main__":
    swtest.main()
