#!/bin/sh
# A self-contained walkthrough of secretwatch on a scratch store: no
# Microsoft tenant needed. Usage: scripts/demo.sh [BUILD_DIR]
set -eu
BUILD=${1:-build}
SW="$(cd "$BUILD/bin" && pwd)/secretwatch"
DEMO=$(mktemp -d /tmp/secretwatch-demo.XXXXXX)
trap 'rm -rf "$DEMO"' EXIT
cat >"$DEMO/secretwatch.conf" <<CONF
[store]
database = $DEMO/state/secretwatch.db
key_file = $DEMO/state/master.key
CONF
sw() { echo "\$ secretwatch $*" >&2; "$SW" -c "$DEMO/secretwatch.conf" "$@"; }

sw init
sw cred add alerts --tenant contoso.onmicrosoft.com \
	--client-id 11111111-2222-3333-4444-555555555555 \
	--sender alerts@contoso.com
echo "(the client secret's Value is piped on stdin, never on the command line)" >&2
printf 'Xq7Q~demo.secret_value-000000000000000000\n' |
	sw secret add alerts --expires +20d --note "created by ops"
sw status || echo "(exit $?: warning, as a Nagios check)" >&2
sw status --now +25d || echo "(exit $?: in 25 days it would be expired)" >&2
sw --json status || true
sw secret list
sw log
echo "demo finished" >&2
