"""The network paths of the CLI and the daemon under valgrind, against the
stand-in servers: test, doctor, token (network and cache), rotate, check,
secretwatchd --once. Any memory error or definite leak fails.
Usage: /usr/bin/python3 tests/valgrind_m365.py [BUILD_DIR]"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
os.environ["SW_BIN_DIR"] = os.path.join(BUILD, "bin")
os.environ.setdefault("SW_FAKES", os.path.join(HERE, "fakes"))
sys.path.insert(0, os.path.join(HERE, "e2e"))
import m365  # noqa: E402

VALGRIND = ["/usr/bin/valgrind", "-q", "--error-exitcode=99",
            "--leak-check=full", "--errors-for-leak-kinds=definite,indirect"]


def main():
    try:
        m365.swtest.need(VALGRIND[0], "valgrind")
    except m365.swtest.MissingProgram as e:
        sys.exit(str(e))
    w = m365.World(f"[alerts]\nemail_to = {m365.OPS}\n")
    passed = failed = 0
    try:
        w.configure(w.extra + f"webhook_url = {w.webhook.url}/hook\n")
        w.add_secret(m365.S1, "+20d")
        steps = [
            (["test", "mail"], 0), (["doctor", "mail"], 0),
            (["rotate", "mail"], 0), (["token", "mail"], 0),
            (["token", "mail"], 0), (["--json", "test", "mail"], 0),
            (["check"], 0), (["test", "mail", "--secret", "99"], 1),
        ]
        for args, want in steps:
            r = subprocess.run(VALGRIND + [m365.swtest.SW, "-c", w.s.conf,
                                           *args],
                               capture_output=True, text=True, timeout=300)
            ok = r.returncode == want
            passed, failed = passed + ok, failed + (not ok)
            if not ok:
                print(f"FAIL (exit {r.returncode}, want {want}): "
                      f"secretwatch {' '.join(args)}\n{r.stderr}")
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
