#!/bin/sh
# fuzz/campaign.sh SECONDS [JOBS] [TARGET...] - a long fuzzing campaign (not
# run by CI): each target runs for SECONDS on a working corpus seeded from
# fuzz/corpus/TARGET, JOBS targets at a time (default 1). At the end the
# new inputs that add coverage are merged back (libFuzzer -merge=1, so
# the committed corpus stays minimal) and a table of executions,
# coverage and crashes is printed. Crashing inputs are kept in
# fuzz/findings/TARGET/ to be fixed and turned into seeds.
set -eu

usage() {
	echo "usage: fuzz/campaign.sh SECONDS [JOBS] [TARGET...]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
secs=$1
shift
jobs=1
case ${1:-} in
[0-9]*)
	jobs=$1
	shift
	;;
esac
case $secs$jobs in *[!0-9]*) usage ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SW_FUZZ_BUILD:-$root/build-fuzz}
targets=${*:-entra smtp jwt timefmt validate config graph}

if [ ! -f "$build/CMakeCache.txt" ]; then
	CC=${CC:-clang} cmake -S "$root" -B "$build" -DSW_FUZZ=ON >/dev/null
fi
cmake --build "$build" --target fuzz -j"$(nproc)" >/dev/null
work=${SW_FUZZ_WORK:-$root/build-fuzz/campaign}
mkdir -p "$work"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

run_one() {
	t=$1
	dir=$work/$t
	mkdir -p "$dir/corpus" "$root/fuzz/findings/$t"
	cp -n "$root/fuzz/corpus/$t/"* "$dir/corpus/" 2>/dev/null || true
	# -fork: a crash is recorded and the campaign goes on; timeout(1)
	# bounds the whole run should libFuzzer itself hang.
	timeout -k 30 $((secs + 600)) "$build/bin/fuzz_$t" -fork=1 \
		-ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
		-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 \
		-artifact_prefix="$root/fuzz/findings/$t/" \
		"$dir/corpus" >"$dir/log" 2>&1 || true
	"$build/bin/fuzz_$t" -merge=1 "$root/fuzz/corpus/$t" "$dir/corpus" \
		>"$dir/merge.log" 2>&1 || true
}

# JOBS targets at a time, in rounds.
running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

printf '%-10s %12s %8s %8s %8s %8s\n' target execs exec/s cov ft crashes
for t in $targets; do
	log=$work/$t/log
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
	speed=$(echo "$last" | sed -n 's/.* exec\/s:* \([0-9]*\).*/\1/p')
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	crashes=$(find "$root/fuzz/findings/$t" -type f | wc -l)
	printf '%-10s %12s %8s %8s %8s %8s\n' "$t" "${execs:-?}" \
		"${speed:-?}" "${cov:-?}" "${ft:-?}" "$crashes"
done
