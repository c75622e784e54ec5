"""Benchmarks of the watchdog (not tests):

1. one 'secretwatch check' cycle over stores of 10,000 and 100,000
   credentials with nothing due: wall time and peak RSS;
2. secretwatchd idle: resident memory after its first cycle, and its
   context switches (wake-ups) over an idle minute;
3. health checks of 1,000 credentials against the stand-in token endpoint,
   one by one (health_concurrency = 1) versus concurrently.

Usage: /usr/bin/python3 bench/watch_bench.py [BUILD_DIR] [--idle-seconds N]
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "fakes"))
import fakes  # noqa: E402

args = [a for a in sys.argv[1:] if not a.startswith("--")]
BUILD = os.path.abspath(args[0] if args else os.path.join(ROOT, "build"))
IDLE = 60
if "--idle-seconds" in sys.argv:
    IDLE = int(sys.argv[sys.argv.index("--idle-seconds") + 1])
SW = os.path.join(BUILD, "bin", "secretwatch")
SWD = os.path.join(BUILD, "bin", "secretwatchd")
FILL = os.path.join(BUILD, "bin", "fill_store")
TENANT = "aaaaaaaa-0000-4000-8000-000000000001"
CLIENT = "bbbbbbbb-0000-4000-8000-000000000002"
SECRET = fakes.secret_value("Bnc")


def write_conf(d, name, extra=""):
    conf = os.path.join(d, name + ".conf")
    with open(conf, "w") as f:
        f.write(f"[store]\ndatabase = {d}/{name}.db\nkey_file = {d}/key\n")
        f.write(extra)
    return conf


PEAK_RSS = ("import resource, subprocess, sys\n"
            "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            "sys.exit(r.returncode)\n")


def timed(cmd, runs=3):
    """Best and mean wall time in ms, and the command's peak RSS in KiB
    (measured in a fresh wrapper, so no other child counts)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        times.append((time.perf_counter() - t) * 1000)
        if r.returncode != 0:
            sys.exit(f"{cmd} failed: {r.stderr}")
    r = subprocess.run(["/usr/bin/python3", "-c", PEAK_RSS, *cmd],
                       capture_output=True, text=True, check=True)
    return min(times), sum(times) / len(times), int(r.stdout)


def bench_cycle(d):
    print("## check cycle, nothing due\n")
    print("| credentials | best ms | mean ms | peak RSS KiB |")
    print("|---:|---:|---:|---:|")
    for n in (10000, 100000):
        conf = write_conf(d, f"idle{n}")
        subprocess.run([FILL, f"{d}/idle{n}.db", f"{d}/key", str(n),
                        "--idle"], check=True)
        best, mean, rss = timed([SW, "-c", conf, "check"])
        print(f"| {n:,} | {best:.0f} | {mean:.0f} | {rss} |")
    print()


def proc_status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def bench_idle(d):
    print("## secretwatchd idle\n")
    print("| credentials | RSS after first cycle KiB | context switches in "
          f"{IDLE} s idle |")
    print("|---:|---:|---:|")
    for n in (10, 100000):
        conf = write_conf(d, f"idle{n}") if n != 100000 else \
            os.path.join(d, "idle100000.conf")
        if n != 100000:
            subprocess.run([FILL, f"{d}/idle{n}.db", f"{d}/key", str(n),
                            "--idle"], check=True)
        p = subprocess.Popen([SWD, "-c", conf], stderr=subprocess.DEVNULL)
        try:
            time.sleep(3 if n < 1000 else 8)
            rss = proc_status(p.pid, "VmRSS")
            c0 = (proc_status(p.pid, "voluntary_ctxt_switches") +
                  proc_status(p.pid, "nonvoluntary_ctxt_switches"))
            time.sleep(IDLE)
            c1 = (proc_status(p.pid, "voluntary_ctxt_switches") +
                  proc_status(p.pid, "nonvoluntary_ctxt_switches"))
        finally:
            p.terminate()
            p.wait(timeout=10)
        print(f"| {n:,} | {rss} | {c1 - c0} |")
    print()


def bench_health(d):
    print("## health checks of 1,000 credentials (stand-in Entra)\n")
    print("The stand-in answers on loopback; the second set adds 50 ms to "
          "each reply,\nabout a round trip to login.microsoftonline.com.\n")
    print("| reply delay | health_concurrency | wall s | checks/s |")
    print("|---:|---:|---:|---:|")
    secret_file = os.path.join(d, "secret")
    with open(secret_file, "w") as f:
        f.write(SECRET + "\n")
    scenario = {"tenants": {TENANT: {"name": "contoso", "apps": {CLIENT: {
        "sp_object_id": "cccccccc-0000-4000-8000-000000000003",
        "secrets": [{"label": "b", "value": SECRET, "end": "2099-01-01"}]}}}}}
    with fakes.Entra(scenario) as entra:
        base = os.path.join(d, "health.db")
        subprocess.run([FILL, base, f"{d}/key", "1000", "--health",
                        entra.url, TENANT, CLIENT, secret_file], check=True)
        for delay, k in ((0, 1), (0, 8), (0, 16), (50, 1), (50, 8),
                         (50, 16), (50, 32)):
            entra.set_scenario(dict(scenario, fault="slow" if delay else None,
                                    slow_seconds=delay / 1000))
            shutil.copy(base, os.path.join(d, f"h{k}.db"))
            conf = write_conf(d, f"h{k}", f"[tls]\nca_file = {entra.ca_file}"
                              f"\n[watch]\nhealth_concurrency = {k}\n")
            t = time.perf_counter()
            r = subprocess.run([SW, "-c", conf, "--json", "check"],
                               capture_output=True, text=True)
            wall = time.perf_counter() - t
            if r.returncode != 0 or '"health_checks":1000' not in r.stdout:
                sys.exit(f"health bench failed: {r.stdout} {r.stderr}")
            print(f"| {delay} ms | {k} | {wall:.2f} | {1000 / wall:.0f} |")
    print()


def main():
    d = tempfile.mkdtemp(prefix="sw-watch-bench-")
    try:
        bench_cycle(d)
        bench_idle(d)
        bench_health(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
