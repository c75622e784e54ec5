#!/bin/sh
# Style is checked, not hoped for: every C file must be as Debian 12's
# clang-format writes it (.clang-format), and no function in lib/, cli/,
# daemon/, sasl/, tests/unit/, fuzz/ or bench/ may be over 70 lines.
# Exits 1 naming what is off.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h')
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files
sh scripts/long-functions.sh 70
echo "style: $(echo "$files" | wc -l) files formatted, no function over 70 lines"
