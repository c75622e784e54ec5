"""The network paths of the CLI and the daemon under valgrind, against the
stand-in servers: test, doctor, token (network and cache), rotate, check,
secretwatchd --once, and a reader's sweep, inventory and doctor. Any
memory error or definite leak fails.
Usage: /usr/bin/python3 tests/valgrind_m365.py [BUILD_DIR]"""
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
os.environ["SW_BIN_DIR"] = os.path.join(BUILD, "bin")
os.environ.setdefault("SW_FAKES", os.path.join(HERE, "fakes"))
sys.path.insert(0, os.path.join(HERE, "e2e"))
import m365  # noqa: E402

VALGRIND = ["/usr/bin/valgrind", "-q", "--error-exitcode=99",
            "--leak-check=full", "--errors-for-leak-kinds=definite,indirect"]


def run_steps(w, steps):
    """Each (args, wanted exit) under valgrind: (passed, failed)."""
    passed = failed = 0
    for args, want in steps:
        r = subprocess.run(VALGRIND + [m365.swtest.SW, "-c", w.s.conf,
                                       *args],
                           capture_output=True, text=True, timeout=300)
        ok = r.returncode == want
        passed, failed = passed + ok, failed + (not ok)
        if not ok:
            print(f"FAIL (exit {r.returncode}, want {want}): "
                  f"secretwatch {' '.join(args)}\n{r.stderr}")
    return passed, failed


def sweep_paths():
    """A reader without a mailbox: its sweep of a small directory (a
    certificate, a secret and a SAML certificate 10 days from expiry, a
    warning; an app without owners), the inventory in each form, doctor,
    and a cycle."""
    w = m365.World(cred=False)
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                         time.gmtime(time.time() + 10 * 86400))
    directory = {"domain": "contoso.com", "applications": [
        {"displayName": "payroll", "owners": ["alice@contoso.com"],
         "credentials": [{"kind": "secret", "end": "2099-01-01"},
                         {"kind": "certificate", "end": soon,
                          "thumbprint": "ab" * 20}]},
        {"displayName": "orphan", "owners": [], "credentials": [
            {"kind": "secret", "end": soon, "hint": "orp"}]}],
        "service_principals": [{"displayName": "saml", "credentials": [
            {"kind": "saml", "end": soon, "thumbprint": "cd" * 20}]}]}
    try:
        w.entra.set_scenario(m365.entra_scenario(roles={
            "https://graph.microsoft.com": ["Application.Read.All"]}))
        graph = w.stack.enter_context(m365.fakes.Graph(
            {"directories": {m365.TENANT: directory}}, entra=w.entra))
        w.configure(f"[alerts]\nwebhook_url = {w.webhook.url}\n")
        assert w.s.run("init").returncode == 0
        r = w.s.run("cred", "add", "reader", "--tenant", m365.TENANT,
                    "--client-id", m365.CLIENT, "--sweep",
                    "--authority-url", w.entra.url, "--graph-url", graph.url)
        assert r.returncode == 0, r.stderr
        r = w.s.run("secret", "add", "reader", "--expires", "+200d",
                    input=m365.S1 + "\n")
        assert r.returncode == 0, r.stderr
        return run_steps(w, [
            (["sweep"], 0), (["--json", "sweep", "reader"], 0),
            (["inventory"], 1), (["inventory", "--csv"], 1),
            (["--json", "inventory", "--within", "30"], 1),
            (["inventory", "--within", "soon"], 3),
            (["doctor", "reader"], 0), (["check"], 0)])
    finally:
        w.close()


def main():
    try:
        m365.swtest.need(VALGRIND[0], "valgrind")
    except m365.swtest.MissingProgram as e:
        sys.exit(str(e))
    passed, failed = sweep_paths()
    w = m365.World(f"[alerts]\nemail_to = {m365.OPS}\n")
    try:
        w.configure(w.extra + f"webhook_url = {w.webhook.url}/hook\n")
        w.add_secret(m365.S1, "+20d")
        steps = [
            (["test", "mail"], 0), (["doctor", "mail"], 0),
            (["rotate", "mail"], 0), (["token", "mail"], 0),
            (["token", "mail"], 0), (["--json", "test", "mail"], 0),
            (["check"], 0), (["test", "mail", "--secret", "99"], 1),
        ]
        p, f = run_steps(w, steps)
        passed, failed = passed + p, failed + f
        w.add_secret(m365.S2, "+300d")
        r = subprocess.run(VALGRIND + [m365.swtest.SWD, "-c", w.s.conf,
                                       "--once"],
                           capture_output=True, text=True, timeout=300)
        ok = r.returncode == 0 and "switched" in r.stderr
        passed, failed = passed + ok, failed + (not ok)
        if not ok:
            print(f"FAIL (exit {r.returncode}): secretwatchd --once\n"
                  f"{r.stderr}")
    finally:
        w.close()
    print(f"valgrind network paths: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
