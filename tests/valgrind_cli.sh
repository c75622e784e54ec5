#!/usr/bin/env bash
# Runs the CLI's main paths under valgrind on a scratch store: any memory
# error or leak fails. Usage: tests/valgrind_cli.sh BUILD_DIR
set -u
# shellcheck source=SCRIPTDIR/../scripts/need.sh
. "$(dirname "$0")/../scripts/need.sh"
need valgrind valgrind
need openssl openssl
SW="$(cd "${1:-build}/bin" && pwd)/secretwatch"
DIR=$(mktemp -d /tmp/sw-valgrind.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
printf '[store]\ndatabase = %s/db\nkey_file = %s/key\n' "$DIR" "$DIR" >"$DIR/c.conf"
pass=0 fail=0

vg() { # expected-exit input args...
	local want=$1 input=$2 rc
	shift 2
	printf '%s' "$input" | valgrind -q --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite,indirect \
		"$SW" -c "$DIR/c.conf" "$@" >/dev/null 2>"$DIR/err"
	rc=$?
	if [ "$rc" = "$want" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL (exit $rc, want $want): secretwatch $*"
		cat "$DIR/err"
	fi
}

vg 0 "" init
vg 0 "" init
vg 0 "" cred add mail --tenant contoso.onmicrosoft.com \
	--client-id 11111111-2222-3333-4444-555555555555 --sender a@contoso.com
vg 1 "" cred add mail --tenant contoso.onmicrosoft.com \
	--client-id 11111111-2222-3333-4444-555555555555 --sender a@contoso.com
vg 0 $'abc~valgrind-secret-1\n' secret add mail --expires +40d --note one
vg 1 $'abc~valgrind-secret-1\n' secret add mail --expires +40d
vg 1 $'11111111-2222-3333-4444-555555555555\n' secret add mail --expires +40d
vg 1 "" secret add mail --expires yesterday
vg 0 "" status
vg 0 "" --json status
vg 2 "" status mail --now +35d
vg 0 "" secret list
vg 0 "" --json secret list mail
vg 0 "" log
vg 0 "" --json log mail
vg 0 "" cred show mail
vg 0 "" --json cred list
vg 0 "" rekey
vg 0 "" secret retire mail 1
vg 0 "" cred rm mail
vg 1 "" cred show mail
# Certificates: OpenSSL in the module, loaded on first use.
vg 0 "" cred add certs --tenant contoso.onmicrosoft.com \
	--client-id 11111111-2222-3333-4444-555555555555 --sender a@contoso.com
vg 0 "" cert new certs --days 30 --out "$DIR/cert.pem"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=vg -days 30 \
	-keyout "$DIR/imp.key" -out "$DIR/imp.pem" 2>/dev/null
vg 0 "$(cat "$DIR/imp.key")" cert import certs --key-file - \
	--cert-file "$DIR/imp.pem"
vg 1 "" cert import certs --key-file "$DIR/imp.key" --cert-file "$DIR/cert.pem"
vg 0 "" cred rm certs --force
vg 0 "" --help
echo "valgrind: $pass passed, $fail failed"
[ "$fail" = 0 ]
