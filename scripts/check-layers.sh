#!/bin/sh
# The layers of lib/ (docs/ARCHITECTURE.md) beyond what the build checks:
# the build lets a folder include only its own headers and those below
# it; this checks that a folder's private headers (*_impl.h) are included
# from that folder only, and that no file cites a document that is not
# in the repository. Exits 1 naming what is off.
set -eu
cd "$(dirname "$0")/.."
bad=0
for h in lib/*/*_impl.h; do
	dir=$(dirname "$h")
	name=$(basename "$h")
	if grep -rln "#include \"$name\"" lib cli daemon sasl tests/unit \
		fuzz bench | grep -v "^$dir/"; then
		echo "private header $h is included from outside $dir" >&2
		bad=1
	fi
done
# Comments cite docs/ARCHITECTURE.md and docs/PROTOCOL.md, never the
# design inputs that live outside the repository.
if grep -rnE '(^|[^/])(DESIGN|PROTOCOL)\.md' lib cli daemon sasl |
	grep -v 'docs/PROTOCOL\.md'; then
	echo "a comment cites a document outside the repository" >&2
	bad=1
fi
[ "$bad" -eq 0 ] && echo "layers: private headers stay in their folders"
exit "$bad"
