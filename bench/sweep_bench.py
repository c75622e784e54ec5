#!/usr/bin/python3
"""Benchmark of sweeping a tenant's credentials (issue 19) against the
stand-in Entra and Graph (tests/fakes), with a generated tenant of
100,000 app registrations and 100,000 service principals (by default):
2 % of the objects with a credential ending within 30 days, 5 % of the
other credentials already ended, 10 % of the service principals
Microsoft's own, 3 % with a SAML certificate, 25 % of the objects
without owners.

    /usr/bin/python3 bench/sweep_bench.py BUILD_DIR [--apps N] [--sps M]

Rows:

  1. the stand-in alone: both collections listed over one keep-alive
     connection ($top=999, the nextLinks followed, nothing parsed but
     the nextLink): what the server side costs every client below;
  2. curl + jq, as admins' scripts and exporters do it: a bash loop that
     gets a token with curl, then for each collection curls a page, has
     jq count the credential rows ending within 30 days and print the
     @odata.nextLink, until there is none (one curl and one jq process
     per page; a SAML certificate counts as its three rows, as such
     scripts count them). Checked against the stand-in's truth;
  3. 'secretwatch sweep' with a reader credential (--sweep) on the same
     stand-ins, when the build has the command ('secretwatch sweep --help'
     exits 0; else the row says it is skipped): wall time, requests made
     (the stand-in's log: list pages, owner reads, token requests), peak
     RSS, and the store's size afterwards;
  4. 'secretwatch check' (one cycle) over that inventory: the first one
     (which handles whatever the sweep found due), then the best of three
     more with nothing left due.

Peak RSS is the largest process of the run (GNU time's %M, package
"time"; without it a Python wrapper's getrusage, which adds the
wrapper's own ~10 MiB, and the table says so): for the script that is
the biggest of bash, curl and jq, which run side by side, so their sum
is more. Every loop is bounded by a page count and every command by a
timeout. Prints the figures as a Markdown table. This is a benchmark,
never registered with ctest.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.environ.get("SW_FAKES") or
                os.path.join(ROOT, "tests", "fakes"))
import fakes  # noqa: E402

TENANT = "aaaaaaaa-0000-4000-8000-0000000000b1"
READER = "bbbbbbbb-0000-4000-8000-0000000000b2"
SECRET = fakes.secret_value("Rdr")
SCOPE = "https://graph.microsoft.com/.default"
SELECT = {"applications": "id,appId,displayName,createdDateTime,"
          "passwordCredentials,keyCredentials",
          "servicePrincipals": "id,appId,displayName,servicePrincipalType,"
          "appOwnerOrganizationId,preferredTokenSigningKeyThumbprint,"
          "passwordCredentials,keyCredentials"}
DAY = 86400
LIST_TIMEOUT = 900    # s for one full listing (either client)
CMD_TIMEOUT = 1800    # s for one secretwatch command

# What an admin's script does: bounded by pages, one curl and one jq per
# page. jq 1.6's fromdateiso8601 wants no fractional seconds.
SCRIPT = r"""#!/bin/bash
set -euo pipefail
tok=$(curl -sS --fail --cacert "$CA" --data-urlencode "client_id=$CLIENT" \
	--data-urlencode "client_secret@$SECRET_FILE" \
	--data-urlencode "scope=$SCOPE" -d grant_type=client_credentials \
	"$TOKEN_URL" | jq -er .access_token)
requests=1
total=0
for coll in applications servicePrincipals; do
	if [ "$coll" = applications ]; then sel=$SEL_APPS; else sel=$SEL_SPS; fi
	url="$GRAPH/v1.0/$coll?\$select=$sel&\$top=999"
	pages=0
	while [ -n "$url" ]; do
		if [ "$pages" -ge "$MAX_PAGES" ]; then
			echo "more than $MAX_PAGES pages of $coll" >&2
			exit 1
		fi
		out=$(curl -sS --fail -g --cacert "$CA" \
			-H "Authorization: Bearer $tok" "$url" |
			jq -r --argjson limit "$LIMIT" '
				([.value[] | (.passwordCredentials[], .keyCredentials[])
				  | .endDateTime | sub("\\.[0-9]+Z$"; "Z")
				  | fromdateiso8601 | select(. <= $limit)] | length),
				(.["@odata.nextLink"] // "-")')
		requests=$((requests + 1))
		pages=$((pages + 1))
		n=${out%%$'\n'*}
		url=${out#*$'\n'}
		[ "$url" != "-" ] || url=""
		total=$((total + n))
	done
done
echo "$requests $total"
"""

GNU_TIME = "/usr/bin/time"
# Without GNU time: a Python wrapper's getrusage, whose figure includes
# the wrapper's own ~10 MiB (the child's memory before exec is a copy of
# the wrapper's).
PEAK_RSS = ("import json, resource, subprocess, sys, time\n"
            "t, start = time.monotonic(), time.time()\n"
            "r = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE,\n"
            "                   stderr=subprocess.PIPE, text=True,\n"
            "                   timeout=float(sys.argv[1]))\n"
            "print(json.dumps({'rc': r.returncode, 'start': start,\n"
            "  'wall': time.monotonic() - t,\n"
            "  'rss_kib': resource.getrusage(resource.RUSAGE_CHILDREN)"
            ".ru_maxrss,\n  'out': r.stdout, 'err': r.stderr}))\n")


def die(msg):
    print("sweep_bench: " + msg, file=sys.stderr)
    sys.exit(1)


def need(program, package):
    try:
        return fakes.need(program, package)
    except fakes.MissingProgram:
        die("missing program %s: install the Debian package '%s' "
            "(scripts/install-deps.sh --bench installs it)"
            % (program, package))


def measured(cmd, env=None, timeout=CMD_TIMEOUT):
    """Run cmd: {rc, wall, rss_kib, out, err}; rss_kib is the largest
    process's peak (GNU time's %M, which counts the waited-for children
    too)."""
    if not os.access(GNU_TIME, os.X_OK):
        r = subprocess.run(["/usr/bin/python3", "-c", PEAK_RSS,
                            str(timeout), *cmd], capture_output=True,
                           text=True, env=env, timeout=timeout + 60)
        if r.returncode != 0:
            die("measuring %s failed: %s" % (cmd[0], r.stderr))
        return json.loads(r.stdout)
    fd, rss_file = tempfile.mkstemp(prefix="sw-rss-")
    os.close(fd)
    try:
        start = time.time()
        t = time.monotonic()
        r = subprocess.run([GNU_TIME, "-f", "%M", "-o", rss_file, *cmd],
                           capture_output=True, text=True, env=env,
                           timeout=timeout)
        wall = time.monotonic() - t
        with open(rss_file) as f:
            lines = f.read().split()
    finally:
        os.unlink(rss_file)
    return {"rc": r.returncode, "wall": wall, "start": start,
            "rss_kib": int(lines[-1]) if lines and lines[-1].isdigit()
            else 0, "out": r.stdout, "err": r.stderr}


def list_requests(graph, since):
    return [q for q in graph.requests()[since:] if q.get("op") == "list"]


def standin_alone(graph, token):
    """Both collections over one keep-alive connection; (s, pages)."""
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=graph.ca_file)
    conn = http.client.HTTPSConnection("127.0.0.1", graph.port,
                                       context=ctx, timeout=120)
    t0 = time.monotonic()
    pages = 0
    for coll in ("applications", "servicePrincipals"):
        url = "/v1.0/%s?$select=%s&$top=999" % (coll, SELECT[coll])
        while url:
            if pages > 10000 or time.monotonic() - t0 > LIST_TIMEOUT:
                die("the stand-in's listing does not end")
            conn.request("GET", url,
                         headers={"Authorization": "Bearer " + token})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                die("stand-in listing: %d %s" % (r.status, body[:200]))
            pages += 1
            d = json.loads(body)
            link = d.get("@odata.nextLink")
            url = urllib.parse.urlsplit(link)._replace(
                scheme="", netloc="").geturl() if link else None
    conn.close()
    return time.monotonic() - t0, pages


def token(entra):
    import ssl
    import urllib.request
    ctx = ssl.create_default_context(cafile=entra.ca_file)
    data = urllib.parse.urlencode({
        "client_id": READER, "client_secret": SECRET, "scope": SCOPE,
        "grant_type": "client_credentials"}).encode()
    with urllib.request.urlopen(entra.token_url(TENANT), data, context=ctx,
                                timeout=30) as r:
        return json.loads(r.read())["access_token"]


def curl_jq(entra, graph, work, now, n_objects):
    script = os.path.join(work, "sweep.sh")
    with open(script, "w") as f:
        f.write(SCRIPT)
    secret_file = os.path.join(work, "secret")
    with open(secret_file, "w") as f:
        f.write(SECRET)
    env = dict(os.environ, CA=graph.ca_file, CLIENT=READER,
               SECRET_FILE=secret_file, SCOPE=SCOPE,
               TOKEN_URL=entra.token_url(TENANT), GRAPH=graph.url,
               SEL_APPS=SELECT["applications"],
               SEL_SPS=SELECT["servicePrincipals"],
               LIMIT=str(now + 30 * DAY),
               MAX_PAGES=str(n_objects // 999 + 5))
    since = len(graph.requests())
    r = measured(["/bin/bash", script], env=env, timeout=LIST_TIMEOUT)
    if r["rc"] != 0:
        die("the curl + jq script failed: " + r["err"][-500:])
    requests, rows = (int(x) for x in r["out"].split())
    pages = len(list_requests(graph, since))
    if pages + 1 != requests:
        die("the script counted %d requests, the stand-in saw %d pages"
            % (requests, pages))
    return r, requests, rows


def store_size(state):
    total = 0
    for name in os.listdir(state):
        p = os.path.join(state, name)
        if os.path.isfile(p) and name.startswith("secretwatch.db"):
            total += os.path.getsize(p)
    return total


def secretwatch(sw, entra, graph, work):
    """The sweep and check rows, or None when the build has no sweep."""
    r = subprocess.run([sw, "sweep", "--help"], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0:
        return None, "this build has no 'sweep' command ('%s sweep " \
            "--help' exits %d)" % (sw, r.returncode)
    state = os.path.join(work, "state")
    os.makedirs(state, mode=0o700)
    conf = os.path.join(work, "secretwatch.conf")
    with open(conf, "w") as f:
        # The cycle writes the metrics too: the inventory's counts are
        # part of what a cycle over it costs.
        f.write("[store]\ndatabase = %s/secretwatch.db\nkey_file = %s/"
                "master.key\n[tls]\nca_file = %s\n[metrics]\ntextfile = "
                "%s/secretwatch.prom\n"
                % (state, state, graph.ca_file, state))
    env = dict(os.environ)
    for k in ("SECRETWATCH_CONFIG", "CREDENTIALS_DIRECTORY"):
        env.pop(k, None)

    def run(*args, stdin=None):
        q = subprocess.run([sw, "-c", conf, *args], input=stdin,
                           capture_output=True, text=True, env=env,
                           timeout=CMD_TIMEOUT)
        if q.returncode != 0:
            die("secretwatch %s: %s" % (" ".join(args[:2]),
                                        (q.stderr or q.stdout).strip()))
        return q
    run("init")
    run("cred", "add", "reader", "--tenant", TENANT, "--client-id", READER,
        "--sweep", "--authority-url", entra.url, "--graph-url", graph.url)
    run("secret", "add", "reader", "--expires", "+300d", "--activate",
        stdin=SECRET + "\n")
    g0, e0 = len(graph.requests()), len(entra.requests())
    sweep = measured([sw, "-c", conf, "sweep", "reader"], env=env)
    if sweep["rc"] != 0:
        die("secretwatch sweep: " + (sweep["err"] or sweep["out"])[-500:])
    log = graph.requests()[g0:]
    lists = [q["time"] for q in log if q.get("op") == "list"]
    owners = [q["time"] for q in log if q.get("op") == "owners"]
    # The listing alone (what curl + jq does), from the stand-in's log:
    # the process's start to the last page answered.
    sweep["list_wall"] = (max(lists) - sweep["start"]) if lists else 0
    sweep["owners_wall"] = (max(owners) - min(owners)) if owners else 0
    sweep["pages"] = sum(q.get("op") == "list" for q in log)
    sweep["owners"] = sum(q.get("op") == "owners" for q in log)
    sweep["tokens"] = len(entra.requests()) - e0
    sweep["store"] = store_size(state)
    first = measured([sw, "-c", conf, "check"], env=env)
    runs = [measured([sw, "-c", conf, "check"], env=env) for _ in range(3)]
    for c in [first] + runs:
        if c["rc"] not in (0, 1, 2):
            die("secretwatch check: " + (c["err"] or c["out"])[-500:])
    return {"sweep": sweep, "check_first": first,
            "check": min(runs, key=lambda c: c["wall"])}, None


def environment(build):
    build_type = "?"
    try:
        with open(os.path.join(build, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("CMAKE_BUILD_TYPE:"):
                    build_type = line.split("=", 1)[1].strip() or "(none)"
    except OSError:
        pass
    ver = subprocess.run(["jq", "--version"], capture_output=True,
                         text=True).stdout.strip()
    curl = subprocess.run(["curl", "--version"], capture_output=True,
                          text=True).stdout.split("\n")[0].split()[:2]
    return ("%s, %d CPUs, load %.2f; CMAKE_BUILD_TYPE %s; %s, %s"
            % (platform.machine(), os.cpu_count() or 0, os.getloadavg()[0],
               build_type, " ".join(curl), ver))


def mib(kib):
    return "%.1f MiB" % (kib / 1024)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("build")
    p.add_argument("--apps", type=int, default=100000)
    p.add_argument("--sps", type=int, default=100000)
    args = p.parse_args()
    build = os.path.abspath(args.build)
    sw = os.path.join(build, "bin", "secretwatch")
    if not os.access(sw, os.X_OK):
        die("%s is not built" % sw)
    need("curl", "curl")
    need("jq", "jq")
    now = int(time.time())
    n = args.apps + args.sps
    entra_sc = {"tenants": {TENANT: {"name": "bench", "apps": {READER: {
        "name": "sweep-reader",
        "roles": {"https://graph.microsoft.com": ["Application.Read.All",
                                                  "User.Read.All"]},
        "secrets": [{"label": "r", "value": SECRET, "end": "2099-01-01"}]}}}}}
    graph_sc = {"directories": {TENANT: {"generate": {
        "applications": args.apps, "service_principals": args.sps,
        "seed": 19, "now": now, "expiring_fraction": 0.02,
        "microsoft_fraction": 0.1, "saml_fraction": 0.03,
        "no_owner_fraction": 0.25, "ended_fraction": 0.05}}}}
    work = tempfile.mkdtemp(prefix="sw-sweep-bench-")
    env_line = environment(build)
    try:
        with fakes.Entra(entra_sc, args=["--max-lifetime", "7200"]) as entra, \
                fakes.Graph(graph_sc, entra=entra,
                            args=["--max-lifetime", "7200"]) as graph:
            print("tenant: %d applications + %d service principals "
                  "(generated)" % (args.apps, args.sps), flush=True)
            t = time.monotonic()
            truth = graph.expiring_report(TENANT, 30, now)
            counts = graph.directory_counts(TENANT)
            truth_s = time.monotonic() - t
            rows = sum(3 if c["saml"] else 1 for c in truth["credentials"])
            print("  truth: %d credentials (%d rows) end within 30 days, "
                  "of %d (%.1f s)" % (truth["count"], rows,
                                      counts["credentials"], truth_s),
                  flush=True)
            alone, alone_pages = standin_alone(graph, token(entra))
            print("  stand-in alone: %d pages in %.1f s" % (alone_pages,
                                                           alone),
                  flush=True)
            script, script_requests, found = curl_jq(entra, graph, work, now,
                                                     n)
            if found != rows:
                die("curl + jq found %d rows within 30 days, the truth has "
                    "%d" % (found, rows))
            print("  curl + jq: %.1f s, %d requests, %s" % (
                script["wall"], script_requests, mib(script["rss_kib"])),
                flush=True)
            sweep, skipped = secretwatch(sw, entra, graph, work)
            if skipped:
                print("  secretwatch: skipped: " + skipped, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    per = -(-args.apps // 999) + -(-args.sps // 999)
    print("\nSweep of %d app registrations + %d service principals "
          "(stand-ins in tests/fakes; %s):\n" % (args.apps, args.sps,
                                                 env_line))
    if not os.access(GNU_TIME, os.X_OK):
        print("(no %s, package 'time': peak RSS figures include ~10 MiB of "
              "a Python wrapper)\n" % GNU_TIME)
    print("| client | wall | requests | peak RSS | notes |")
    print("|---|---:|---:|---:|---|")
    print("| stand-in alone (one keep-alive connection) | %.1f s | %d | – | "
          "the server's share of every row |" % (alone, alone_pages))
    print("| curl + jq (bash loop, nextLink) | %.1f s | %d | %s | 1 token "
          "+ %d pages; %d rows within 30 days = the truth |"
          % (script["wall"], script_requests, mib(script["rss_kib"]),
             script_requests - 1, found))
    if sweep:
        s = sweep["sweep"]
        print("| secretwatch sweep | %.1f s | %d | %s | %d pages (ideal %d),"
              " %d owner reads, %d token; store %.1f MiB |"
              % (s["wall"], s["pages"] + s["owners"] + s["tokens"],
                 mib(s["rss_kib"]), s["pages"], per, s["owners"],
                 s["tokens"], s["store"] / 1048576))
        print("| of which the listing (to the last page) | %.1f s | %d | | "
              "what curl + jq does; then %d owner reads in %.1f s |"
              % (s["list_wall"], s["pages"] + s["tokens"], s["owners"],
                 s["owners_wall"]))
        c0, c = sweep["check_first"], sweep["check"]
        print("| secretwatch check, first cycle after the sweep | %.2f s | – "
              "| %s | |" % (c0["wall"], mib(c0["rss_kib"])))
        print("| secretwatch check, nothing due (best of 3) | %.2f s | – | "
              "%s | |" % (c["wall"], mib(c["rss_kib"])))
    else:
        print("| secretwatch sweep | – | – | – | skipped: %s |" % skipped)
    cs = truth["credentials"]
    print("\nTruth: of %d credentials, %d end within 30 days and %d have "
          "ended (%d SAML certificates among them); computed by the "
          "stand-in in %.1f s." % (counts["credentials"],
                                   sum(not c["expired"] for c in cs),
                                   sum(c["expired"] for c in cs),
                                   sum(c["saml"] for c in cs), truth_s))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nsweep_bench: interrupted", file=sys.stderr)
        sys.exit(130)
