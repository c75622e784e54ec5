#!/bin/sh
# Lists C functions longer than a limit (default 70 lines, braces
# included) in lib/, cli/, daemon/, sasl/, the unit tests, the fuzz
# harnesses and the benchmarks; exits 1 when there is one. The tree is formatted by clang-format, so a function
# body opens with "{" and closes with "}" alone in column 0.
set -eu
limit=${1:-70}
cd "$(dirname "$0")/.."
awk -v limit="$limit" '
	FNR == 1 { start = 0 }
	/^\{$/ { start = FNR; name = prev }
	/^\}$/ && start {
		n = FNR - start + 2
		if (n > limit) { printf "%s:%d: %s: %d lines\n", FILENAME, start, name, n; bad = 1 }
		start = 0
	}
	/^[A-Za-z_].*\(/ { prev = $0; sub(/\(.*/, "", prev); sub(/.*[ *]/, "", prev) }
	END { exit bad }
' lib/*/*.c cli/*.c daemon/*.c sasl/*.c sasl/tests/*.c tests/unit/*.c fuzz/*.c \
	bench/*.c
