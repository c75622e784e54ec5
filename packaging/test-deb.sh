#!/bin/bash
# packaging/test-deb.sh BUILD_DIR
#
# Builds the Debian package the way packaging/OPERATIONS.md says (a tree
# configured with -DCMAKE_INSTALL_PREFIX=/usr, then 'cpack -G DEB' in it),
# lints it, installs it, uses the installed binaries, units and man pages,
# removes it, purges it, and checks that nothing of it is left. BUILD_DIR
# is that tree; one configured for another prefix (the development build)
# is left as it is: cpack must refuse it, and the package is built in a
# tree of this script's own instead.
#
# Runs as root on Debian 12. It installs and purges the package
# "secretwatch", so it refuses to run where that package is already
# installed. systemd need not be running (CI containers).
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -u

pass=0
fail=0
ok() { printf 'ok   %s\n' "$*"; pass=$((pass + 1)); }
no() { printf 'FAIL %s\n' "$*"; fail=$((fail + 1)); }
# check DESCRIPTION COMMAND...: one test from a command's exit status
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else no "$what"; fi
}
finish() {
	printf '%d passed, %d failed\n' "$pass" "$fail"
	[ "$fail" -eq 0 ]
	exit
}
die() {
	no "$*"
	finish
}

[ $# -eq 1 ] || {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
[ "$(id -u)" -eq 0 ] || die "must run as root (it installs a package)"
# What the checks below run: absent, they fail here, none is left out.
# shellcheck source=SCRIPTDIR/../scripts/need.sh
. "$(dirname "$0")/../scripts/need.sh"
need cpack cmake
need lintian lintian
need dpkg-architecture dpkg-dev
need readelf binutils
need nm binutils
need man man-db
need systemd-analyze systemd
need saslpluginviewer sasl2-bin
need /usr/share/bash-completion/bash_completion bash-completion
src=$(cd "$(dirname "$0")/.." && pwd)
build=$1
pkg=secretwatch
user=secretwatch
unitdir=/usr/lib/systemd/system
units="secretwatchd.service secretwatch-check.service secretwatch-check.timer"

if dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q installed; then
	die "$pkg is installed here; this test would purge it and its store"
fi

work=$(mktemp -d /tmp/secretwatch-deb.XXXXXX)
installed=0
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	if [ "$installed" -eq 1 ]; then
		rm -rf "$work/scratch"
		dpkg --purge "$pkg" >/dev/null 2>&1
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# --- build, as OPERATIONS.md says -----------------------------------------
# OPERATIONS.md: cmake -S . -B build-deb -DCMAKE_INSTALL_PREFIX=/usr &&
#         cmake --build build-deb -j2 && (cd build-deb && cpack -G DEB)
readme_build() {
	cmake -S "$src" -B "$1" -DCMAKE_INSTALL_PREFIX=/usr \
		>"$work/build.log" 2>&1 &&
		cmake --build "$1" -j2 >>"$work/build.log" 2>&1 ||
		{ tail -20 "$work/build.log"; die "build failed"; }
}
if [ ! -f "$build/CMakeCache.txt" ]; then
	readme_build "$build"
fi
build=$(cd "$build" && pwd)
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:[A-Z]*=//p' "$build/CMakeCache.txt")
grep -q '^SW_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" &&
	die "$build is a sanitizer build; package a release build instead"
if [ "$prefix" != /usr ]; then
	# A package made from it would look for its network module in
	# $prefix/lib/secretwatch: cpack must refuse, saying how to do it.
	(cd "$build" && cpack -G DEB -B "$work/refused") >"$work/cpack.log" 2>&1
	rc=$?
	check "cpack refuses a build configured for $prefix (exit $rc)" \
		sh -c "[ $rc -ne 0 ] && ! ls '$work/refused'/*.deb >/dev/null 2>&1 &&
		 tr '\n' ' ' <'$work/cpack.log' | tr -s ' ' |
		 grep -q 'configured for CMAKE_INSTALL_PREFIX=$prefix, and the Debian'"
	echo "note: $build is configured for $prefix; building the package in a tree configured as packaging/OPERATIONS.md says"
	build=$work/build-deb
	readme_build "$build"
else
	cmake --build "$build" -j2 >"$work/build.log" 2>&1 ||
		{ tail -20 "$work/build.log"; die "build failed"; }
fi
rm -f "$build/${pkg}"_*.deb
(cd "$build" && cpack -G DEB) >"$work/cpack.log" 2>&1 ||
	{ tail -20 "$work/cpack.log"; die "cpack failed"; }
deb=$(echo "$build/${pkg}"_*.deb)
[ -f "$deb" ] || die "cpack produced no .deb (or more than one)"
ok "built $(basename "$deb") with (cd $build && cpack -G DEB)"

depends=$(dpkg-deb -f "$deb" Depends)
echo "     Depends: $depends"
check "Depends computed from the binaries (libc6, libsodium23)" \
	grep -q 'libc6 .*libsodium23' <<<"$depends"
check "Depends computed from the network module (libcurl4, libssl3)" \
	grep -q 'libcurl4 (>= [0-9.]*).*libssl3\|libssl3.*libcurl4 (>= [0-9.]*)' <<<"$depends"
check "config is a conffile" \
	sh -c "dpkg-deb -I '$deb' conffiles | grep -qx /etc/secretwatch/secretwatch.conf"

# --- lintian ----------------------------------------------------------------
# Errors and warnings fail unless overridden, with a reason, in
# packaging/lintian-overrides (shipped in the package, where lintian
# reads it). Informational tags are shown.
if lintian --fail-on error,warning --display-info --show-overrides \
	"$deb" >"$work/lintian.log" 2>&1; then
	ok "lintian: no unjustified errors or warnings"
else
	no "lintian: errors or warnings not justified in packaging/lintian-overrides"
fi
grep -v 'running with root privileges' "$work/lintian.log" | sed 's/^/     /'

# --- install ----------------------------------------------------------------
# Docker images exclude /usr/share/man from dpkg; the man pages are part
# of what is tested, so include ours explicitly.
if dpkg --path-include='/usr/share/man/man[158]/secretwatch*' -i "$deb" \
	>"$work/dpkg.log" 2>&1; then
	installed=1
	ok "dpkg -i"
else
	sed 's/^/     /' "$work/dpkg.log"
	die "dpkg -i failed"
fi
dpkg -L "$pkg" >"$work/files"

check "system user $user exists" sh -c "getent passwd $user >/dev/null"
check "/var/lib/secretwatch is 0700 $user:$user" \
	test "$(stat -c '%a %U:%G' /var/lib/secretwatch)" = "700 $user:$user"
check "config is 0640 root:$user" test \
	"$(stat -c '%a %U:%G' /etc/secretwatch/secretwatch.conf)" = "640 root:$user"
enabled=$(find /etc/systemd/system -path '*.wants/secretwatch*' 2>/dev/null)
check "installation enabled no unit" test -z "$enabled"
if [ -d /run/systemd/system ]; then
	check "installation started no unit" \
		sh -c "! systemctl -q is-active $units"
fi

# --- the installed binaries -------------------------------------------------
for b in /usr/bin/secretwatch /usr/sbin/secretwatchd; do
	ver=$("$b" --version 2>&1)
	rc=$?
	check "$(basename "$b") --version: $ver" test "$rc" -eq 0 -a -n "$ver"
done

# The network module, opened on first use through the binaries' RUNPATH.
netmod=$(grep '/secretwatch/libsecretwatch-net\.so$' "$work/files")
check "the network module is installed (${netmod:-missing})" test -f "$netmod"
for b in /usr/bin/secretwatch /usr/sbin/secretwatchd; do
	rp=$(readelf -d "$b" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
	check "$(basename "$b") finds the module through RUNPATH $rp" \
		test -n "$netmod" -a "$rp/libsecretwatch-net.so" = "$netmod"
done
check "the module's libraries are all installed" \
	sh -c "! ldd '$netmod' | grep -q 'not found'"
for b in /usr/bin/secretwatch /usr/sbin/secretwatchd; do
	check "$(basename "$b") starts without libcurl and libcrypto (the module has them)" \
		sh -c "! readelf -d '$b' | grep -q 'NEEDED.*lib\(curl\|crypto\|ssl\)'"
done

# The Cyrus SASL client plugin, where libsasl2 looks for plugins.
saslplug=$(grep '/sasl2/libxoauth2-secretwatch\.so$' "$work/files")
check "the XOAUTH2 SASL plugin is installed (${saslplug:-missing})" \
	test "$saslplug" = "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/sasl2/libxoauth2-secretwatch.so" -a -f "$saslplug"
check "the plugin exports only sasl_client_plug_init" \
	test "$(nm -D --defined-only "$saslplug" 2>/dev/null | awk '{print $3}')" = sasl_client_plug_init
check "the plugin's libraries are all installed" \
	sh -c "! ldd '$saslplug' | grep -q 'not found'"
check "libsasl2 lists XOAUTH2 among its client mechanisms" \
	sh -c "saslpluginviewer -c 2>/dev/null | grep -q XOAUTH2"

# A scratch config and state directory, used as the service user would.
mkdir -p "$work/scratch"
cat >"$work/scratch/secretwatch.conf" <<EOF
[store]
database = $work/scratch/state/secretwatch.db
key_file = $work/scratch/state/master.key
EOF
chown -R "$user:" "$work/scratch"
chmod 0755 "$work"
as_user() { runuser -u "$user" -- "$@"; }
conf=$work/scratch/secretwatch.conf
state=$work/scratch/state

check "secretwatch -c SCRATCH init" as_user secretwatch -c "$conf" init
check "init made the state directory 0700" \
	test "$(stat -c %a "$state" 2>/dev/null)" = 700
check "init made a 32-byte master key 0600" \
	test "$(stat -c '%a %s' "$state/master.key" 2>/dev/null)" = "600 32"
check "init made the database" test -s "$state/secretwatch.db"
cp "$state/master.key" "$work/key.before" 2>/dev/null
check "init again is idempotent (exit 0, same key)" sh -c \
	"runuser -u $user -- secretwatch -c '$conf' init &&
	 cmp -s '$state/master.key' '$work/key.before'"
as_user secretwatch -c "$conf" status >"$work/status.out" 2>&1
rc=$?
sed 's/^/     /' "$work/status.out"
check "secretwatch -c SCRATCH status exits 0 or 3 on an empty store (got $rc)" \
	test "$rc" -eq 0 -o "$rc" -eq 3

# The packaged default config, as the service user: it must be readable.
check "secretwatch init with the packaged config" as_user secretwatch init
check "the store is in /var/lib/secretwatch" \
	test -s /var/lib/secretwatch/master.key -a -s /var/lib/secretwatch/secretwatch.db

# Under a running systemd, the binaries must also work inside the sandbox.
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	check "secretwatchd starts in its sandbox and reports READY=1" \
		systemctl start secretwatchd.service
	check "systemctl reload secretwatchd (SIGHUP)" \
		systemctl reload secretwatchd.service
	sleep 2
	check "secretwatchd is still running after the reload" \
		systemctl -q is-active secretwatchd.service
	check "secretwatch-check.service runs one cycle in its sandbox" \
		systemctl start secretwatch-check.service
	systemctl stop secretwatchd.service
	journalctl -q --no-pager -n 30 -u secretwatchd.service \
		-u secretwatch-check.service | sed 's/^/     /'
else
	echo "note: systemd is not running; the units are verified, not started"
fi

# --- man pages ----------------------------------------------------------------
render() { MANWIDTH=1000 man --warnings -P cat "$@" 2>"$work/man.err"; }
for page in 1:secretwatch 8:secretwatchd 5:secretwatch.conf; do
	sec=${page%%:*} name=${page#*:}
	check "man -w $sec $name" sh -c "man -w $sec $name >/dev/null"
	render "$sec" "$name" >"$work/man.$name"
	check "man $sec $name renders without warnings" \
		test -s "$work/man.$name" -a ! -s "$work/man.err"
done
check "man secretwatch and man 5 secretwatch.conf without a section" \
	sh -c "man -w secretwatch >/dev/null && man -w secretwatch.conf >/dev/null"

# Every command, flag and config key of docs/USAGE.md and
# docs/CONFIGURATION.md.
missing=
for w in init 'cred add' 'cred list' 'cred show' 'cred rm' 'secret add' \
	'secret list' 'secret retire' status check test rotate token log doctor \
	rekey sweep inventory -c --json --help --version --tenant --client-id \
	--sender --object-id --test-to --cloud --authority-url --smtp-url \
	--graph-url --sweep --no-sweep --names --force --expires --key-id --note \
	--activate --now --dry-run --secret --to --token-only --since --within \
	--expired --kind --owner --csv; do
	grep -qe "$w" "$work/man.secretwatch" || missing="$missing '$w'"
done
check "secretwatch(1) has every command and flag${missing:+ (missing:$missing)}" \
	test -z "$missing"
missing=
for w in -c --once --help --version SIGTERM SIGINT SIGHUP SIGUSR1 \
	READY=1 WATCHDOG=1 CREDENTIALS_DIRECTORY; do
	grep -qe "$w" "$work/man.secretwatchd" || missing="$missing '$w'"
done
check "secretwatchd(8) has every option and signal${missing:+ (missing:$missing)}" \
	test -z "$missing"
missing=
for w in '\[store\]' database key_file '\[watch\]' interval warn_days \
	level_warning level_critical test_active_every switch_retry \
	switch_window '\[alerts\]' email_to webhook_url exec '\[tls\]' ca_file \
	'\[metrics\]' textfile '\[deploy\]' hook '\[sweep\]' notify_owners \
	exclude include_microsoft metrics_per_credential; do
	grep -qe "$w" "$work/man.secretwatch.conf" || missing="$missing '$w'"
done
check "secretwatch.conf(5) has every section and key${missing:+ (missing:$missing)}" \
	test -z "$missing"

# --- bash completion ----------------------------------------------------------
# shellcheck disable=SC2016 # expanded by the inner bash
complete_line() { # prints the completions for the words given
	runuser -u "$user" -- bash -c '
		source /usr/share/bash-completion/bash_completion
		source /usr/share/bash-completion/completions/secretwatch
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_secretwatch secretwatch "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$@" | sort | tr '\n' ' '
}
got=$(complete_line secretwatch s)
check "completion: commands ($got)" test "$got" = "secret status sweep sync "
got=$(complete_line secretwatch cred add x --c)
check "completion: flags ($got)" test "$got" = "--client-id --cloud "
got=$(complete_line secretwatch cred add x --cloud '')
check "completion: clouds ($got)" test "$got" = "china dod global usgov "
got=$(complete_line secretwatch -c "$conf" status --n)
check "completion: flags after -c FILE ($got)" test "$got" = "--now "
as_user secretwatch -c "$conf" cred add mail \
	--tenant contoso.onmicrosoft.com --sender alerts@contoso.com \
	--client-id 00000000-0000-0000-0000-000000000001 >/dev/null
got=$(complete_line secretwatch -c "$conf" cred show '')
check "completion: credential names from cred list --names ($got)" \
	test "$got" = "mail "

# --- systemd units ------------------------------------------------------------
paths=
for u in $units; do paths="$paths $unitdir/$u"; done
# shellcheck disable=SC2086
systemd-analyze verify $paths >"$work/verify.log" 2>&1
rc=$?
sed 's/^/     /' "$work/verify.log"
check "systemd-analyze verify (exit $rc, nothing said about our units)" \
	sh -c "[ $rc -eq 0 ] && ! grep -q secretwatch '$work/verify.log'"
for u in secretwatchd.service secretwatch-check.service; do
	systemd-analyze security --offline=yes "$unitdir/$u" \
		>"$work/security.log" 2>&1
	exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
		"$work/security.log")
	grep -E '^✗' "$work/security.log" | sed 's/^/     /'
	check "systemd-analyze security $u: exposure ${exposure:-?} <= 2.0" \
		awk -v e="${exposure:-99}" 'BEGIN { exit !(e <= 2.0) }'
done

# --- remove, then purge -------------------------------------------------------
rm -rf "$work/scratch"
check "dpkg -r" sh -c "dpkg -r $pkg >'$work/dpkg.log' 2>&1"
check "remove keeps config, store, key and user" sh -c \
	"[ -f /etc/secretwatch/secretwatch.conf ] &&
	 [ -f /var/lib/secretwatch/master.key ] && getent passwd $user >/dev/null"
check "dpkg --purge" sh -c "dpkg --purge $pkg >'$work/dpkg.log' 2>&1"
installed=0

left=
while read -r f; do
	# Shared directories (/usr/bin, ...) stay; files and our own don't.
	if [ -e "$f" ] && { [ ! -d "$f" ] || [ "${f#*secretwatch}" != "$f" ]; }; then
		left="$left $f"
	fi
done <"$work/files"
for f in /etc/secretwatch /var/lib/secretwatch; do
	[ -e "$f" ] && left="$left $f"
done
check "purge left no file or directory${left:+ (left:$left)}" test -z "$left"
check "purge removed user and group $user" sh -c \
	"! getent passwd $user >/dev/null && ! getent group $user >/dev/null"
check "dpkg knows nothing of $pkg" sh -c \
	"! dpkg-query -W -f '\${db:Status-Status}' $pkg 2>/dev/null | grep -q ."

finish
