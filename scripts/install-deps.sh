#!/bin/sh
# Installs the Debian 12 packages secretwatch needs to build, test and
# package it, on a machine that has only Debian's "required" packages
# (coreutils, util-linux for setpriv, flock and runuser, ...).
# With --bench, also what bench/ uses. Idempotent: apt runs only when
# something is missing. .ci/run proves the list in a fresh debootstrapped
# root (scripts/fresh-root.sh).
set -eu

# Build, unit tests, and the demo.
PKGS="build-essential cmake pkg-config
libcurl4-openssl-dev libssl-dev libsqlite3-dev libcjson-dev libsodium-dev
libsystemd-dev libcmocka-dev libsasl2-dev scdoc
python3 python3-cryptography openssl curl sqlite3 faketime libfaketime"
# The end-to-end tests: read-only checks under strace, a private Postfix
# with the XOAUTH2 plugin, valgrind on the SASL plugin and the CLI.
PKGS="$PKGS strace postfix sasl2-bin valgrind"
# .ci/run: style, sanitizers and fuzzing (clang), the Debian package.
PKGS="$PKGS clang clang-format libclang-rt-14-dev
lintian dpkg-dev file man-db systemd procps bash-completion"
case ${1:-} in
--bench) PKGS="$PKGS hyperfine jq bc time" ;;
'') ;;
*)
	echo "usage: sh scripts/install-deps.sh [--bench]" >&2
	exit 2
	;;
esac

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# Postfix is only a test subject (a private instance per test): no
	# system mail configuration, and no system MTA left running.
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The package may have started the system instance (it should not with "No
# configuration", but a policy-rc.d-less container can): stop it, keep it
# from starting at boot. The tests run their own instances.
if command -v postfix >/dev/null 2>&1 && [ -f /etc/postfix/main.cf ] &&
	postfix status >/dev/null 2>&1; then
	postfix stop >/dev/null 2>&1 || true
fi
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now postfix >/dev/null 2>&1 || true
fi
