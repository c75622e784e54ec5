#!/usr/bin/env bash
# Benchmark of 'secretwatch status' on big stores: N credentials x 2
# secrets, for N = 1,000, 10,000 and 100,000. Reports the wall time of
# 'status NAME' and of 'status --json' over all, and the peak RSS of the
# latter (which must not grow with N: the output is streamed).
# Usage: bench/status.sh [BUILD_DIR]
set -euo pipefail
# shellcheck source=SCRIPTDIR/../scripts/need.sh
. "$(dirname "$0")/../scripts/need.sh"
for tool in hyperfine jq bc; do need "$tool" "$tool" --bench; done
BUILD=$(cd "${1:-build}" && pwd)
SW=$BUILD/bin/secretwatch
DIR=$(mktemp -d /tmp/sw-bench.XXXXXX)
trap 'rm -rf "$DIR"' EXIT

peak_rss_kb() { # command... -> max RSS of the child in KiB
	/usr/bin/python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}

printf '%-9s %-14s %-16s %-16s %s\n' credentials fill_s "status NAME ms" \
	"status --json ms" "--json peak RSS KiB"
for n in 1000 10000 100000; do
	conf=$DIR/$n.conf
	printf '[store]\ndatabase = %s/%s.db\nkey_file = %s/key\n' "$DIR" "$n" \
		"$DIR" >"$conf"
	t0=$(date +%s.%N)
	"$BUILD/bin/fill_store" "$DIR/$n.db" "$DIR/key" "$n"
	fill=$(echo "$(date +%s.%N) - $t0" | bc)
	name=$(printf 'cred-%06d' $((n / 2)))
	hyperfine -N -w 5 -r 50 -i --export-json "$DIR/one.json" \
		"$SW -c $conf status $name" >/dev/null 2>&1
	hyperfine -N -w 1 -r 5 -i --export-json "$DIR/all.json" \
		"$SW -c $conf --json status" >/dev/null 2>&1
	one=$(jq '.results[0].mean * 1000' "$DIR/one.json")
	all=$(jq '.results[0].mean * 1000' "$DIR/all.json")
	rss=$(peak_rss_kb "$SW" -c "$conf" --json status)
	printf '%-11s %-14.1f %-16.2f %-16.1f %s\n' "$n" "$fill" "$one" "$all" "$rss"
done
