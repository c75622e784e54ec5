#!/usr/bin/python3
"""Delivery latency through a real Postfix relay to the stand-in Exchange
server (tests/fakes), warm: the time from the end of the submission to
Postfix's smtpd (250 after DATA) to the stand-in's arrival stamp of the
message (written before its 250), one message at a time.

Two private Postfix instances (tests/e2e/test_postfix.py builds them:
Debian's master.cf, chrooted smtp client, STARTTLS required) relay to the
same stand-in:
  xoauth2  AUTH XOAUTH2 through libxoauth2-secretwatch.so, with the token
           file that secretwatchd keeps;
  plain    AUTH PLAIN with a password (Postfix's own Cyrus PLAIN plugin);
           the stand-in accepts it for this comparison only (Exchange
           refuses basic auth).
Postfix opens one connection per message here (no backlog, so no
connection cache): every figure includes TCP, STARTTLS and AUTH.

Needs root and Debian's postfix package (scripts/install-deps.sh).
Usage: bench/postfix.py [BUILD_DIR] [N]   (defaults: build/, 200)
Not a test.
"""
import os
import smtplib
import statistics
import sys
import tempfile
import shutil
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                        else os.path.join(REPO, "build"))
N = int(sys.argv[2]) if len(sys.argv) > 2 else 200
WARM = 10
PASSWORD = "bench-password-for-the-stand-in"
os.environ.setdefault("SW_BIN_DIR", os.path.join(BUILD, "bin"))
os.environ.setdefault("SW_FAKES", os.path.join(REPO, "tests", "fakes"))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))

import m365  # noqa: E402
import test_postfix as tp  # noqa: E402


def deliver(world, pf, subject):
    """Submits SUBJECT; returns seconds from the submission's end (the 250
    after DATA) to the stand-in's arrival stamp."""
    before = len(world.smtp.messages())
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
        s.sendmail(m365.SENDER, [tp.RCPT],
                   "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nbody\r\n"
                   % (m365.SENDER, tp.RCPT, subject))
        t0 = time.time()
    deadline = t0 + 30
    while time.time() < deadline:
        for m in world.smtp.messages()[before:]:
            if b"Subject: " + subject.encode() in m["eml"]:
                return m["time"] - t0
        time.sleep(0.01)
    raise AssertionError("%s did not arrive (maillog:\n%s)"
                         % (subject, pf.log()))


def run(world, pf, label):
    pf.start()
    try:
        for i in range(WARM):
            deliver(world, pf, "%s warm %d" % (label, i))
        lat = [deliver(world, pf, "%s %d" % (label, i)) for i in range(N)]
    finally:
        pf.stop()
    lat.sort()
    return {"median": statistics.median(lat) * 1000,
            "p95": lat[int(0.95 * (len(lat) - 1))] * 1000,
            "min": lat[0] * 1000, "max": lat[-1] * 1000}


def main():
    if os.geteuid() != 0:
        sys.exit("bench/postfix.py: run as root (Postfix's master)")
    tp.TestPostfix.setUpClass()
    w = m365.World(webhook=False)
    root = tempfile.mkdtemp(prefix="sw-postfix-bench-")
    os.chmod(root, 0o755)
    try:
        tokens = os.path.join(root, "tokens")
        w.configure("[tokens]\ndir = %s\ngroup = postfix\n" % tokens)
        w.add_secret(m365.S1, "+200d", "--activate")
        assert w.run("cred", "set", "mail", "--token-file").returncode == 0
        tp.Daemon(w).once(int(time.time()))
        w.smtp.update_scenario(auth_mechanisms="LOGIN XOAUTH2 PLAIN",
                               plain_passwords={m365.SENDER: PASSWORD})
        res = {}
        pf = tp.PostfixInstance(os.path.join(root, "xoauth2"), w.smtp.port,
                                w.entra.ca_file, tokens)
        res["xoauth2"] = run(w, pf, "xoauth2")
        pf = tp.PostfixInstance(
            os.path.join(root, "plain"), w.smtp.port, w.entra.ca_file,
            tokens, {
                "smtp_sasl_password_maps":
                    "inline:{ { [127.0.0.1]:%d = %s:%s } }"
                    % (w.smtp.port, m365.SENDER, PASSWORD),
                "smtp_sasl_mechanism_filter": "plain",
                "smtp_sasl_security_options": "noanonymous",
                # Debian's Cyrus plugins (libsasl2-modules' PLAIN).
                "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG "
                                      "TZ LANG=C POSTLOG_SERVICE "
                                      "POSTLOG_HOSTNAME",
            })
        res["plain"] = run(w, pf, "plain")
    finally:
        w.close()
        shutil.rmtree(root, True)
    print("Postfix relay to the stand-in, %d messages one at a time "
          "after %d warm-up ones (ms, submission to arrival)" % (N, WARM))
    print("| relay auth | median | p95 | min | max |")
    print("|---|---:|---:|---:|---:|")
    for k, name in (("xoauth2", "AUTH XOAUTH2, plugin + token file"),
                    ("plain", "AUTH PLAIN, password")):
        r = res[k]
        print("| %s | %.1f | %.1f | %.1f | %.1f |"
              % (name, r["median"], r["p95"], r["min"], r["max"]))


if __name__ == "__main__":
    main()
