#!/usr/bin/env bash
# Benchmark of the Microsoft 365 round trips against the stand-in servers
# (tests/fakes): 'secretwatch token' from the cache and from the network,
# the same token request made by the curl tool, and 'secretwatch test'
# against the two curl processes it replaces (token request, then XOAUTH2
# send over STARTTLS). Prints a table and the same figures as Markdown.
# See bench/m365_bench.py for what each row measures. Not a test.
# Usage: bench/m365.sh [BUILD_DIR]   (default: the repository's build/)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "${1:-$HERE/../build}" && pwd)
# shellcheck source=SCRIPTDIR/../scripts/need.sh
. "$HERE/../scripts/need.sh"
for tool in hyperfine jq curl; do need "$tool" "$tool" --bench; done
[ -x "$BUILD/bin/secretwatch" ] ||
	{ echo "bench/m365.sh: no $BUILD/bin/secretwatch; build first" >&2; exit 1; }
exec /usr/bin/python3 "$HERE/m365_bench.py" "$BUILD"
