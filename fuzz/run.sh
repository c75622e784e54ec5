#!/bin/sh
# fuzz/run.sh [SECONDS] - build the libFuzzer harnesses (clang, in
# build-fuzz unless SW_FUZZ_BUILD names another directory) and run each
# for SECONDS (default 20) on a scratch copy of its seed corpus, so the
# repository is never written to. A target passes when libFuzzer exits 0.
# On a failure the scratch directory, with the crashing input and the
# log, is kept and named; otherwise it is removed.
set -eu

secs=${1:-20}
case $secs in
'' | *[!0-9]*)
	echo "usage: fuzz/run.sh [SECONDS]" >&2
	exit 2
	;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SW_FUZZ_BUILD:-$root/build-fuzz}
targets="entra smtp jwt timefmt validate config graph"

# shellcheck source=SCRIPTDIR/../scripts/need.sh
. "$root/scripts/need.sh"
need "${CC:-clang}" clang
if [ ! -f "$build/CMakeCache.txt" ]; then
	CC=${CC:-clang} cmake -S "$root" -B "$build" -DSW_FUZZ=ON >/dev/null
fi
cmake --build "$build" --target fuzz -j"$(nproc)" >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/secretwatch-fuzz.XXXXXX")
keep=0
trap '[ "$keep" = 1 ] || rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# Leaks are findings; UBSan stops at the first report (the harnesses are
# built with -fno-sanitize-recover=all).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

passed=0
failed=0
for t in $targets; do
	dir=$work/$t
	mkdir -p "$dir/corpus" "$dir/crash"
	cp "$root/fuzz/corpus/$t/"* "$dir/corpus/"
	# -timeout: one input may take 10 s at most; timeout(1) bounds the
	# whole run should libFuzzer itself hang.
	if timeout -k 10 $((secs + 120)) "$build/bin/fuzz_$t" \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/crash/" \
		"$dir/corpus" >"$dir/log" 2>&1; then
		rc=0
		passed=$((passed + 1))
	else
		rc=$?
		failed=$((failed + 1))
		keep=1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
	last=$(grep -E '^#[0-9]+.*cov: ' "$dir/log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	if [ "$rc" = 0 ]; then
		echo "fuzz_$t: ok, ${runs:-?} runs, ${speed:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}"
	else
		echo "fuzz_$t: FAILED (exit $rc) after ${runs:-?} runs; log $dir/log"
		grep -E 'ERROR: |SUMMARY: |invariant failed|runtime error' \
			"$dir/log" | head -n 5 | sed 's/^/    /'
		for a in "$dir/crash/"*; do
			[ -e "$a" ] && echo "    input: $a"
		done
	fi
done
[ "$keep" = 1 ] && echo "logs and inputs kept in $work"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
