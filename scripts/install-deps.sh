#!/bin/sh
# Installs the Debian 12 packages secretwatch needs to build, test, package
# and benchmark. Idempotent: apt runs only when something is missing.
set -eu

PKGS="build-essential cmake pkg-config
libcurl4-openssl-dev libssl-dev libsqlite3-dev libcjson-dev libsodium-dev
libsystemd-dev libcmocka-dev libsasl2-dev
python3 python3-cryptography openssl curl sqlite3 faketime valgrind
scdoc lintian dpkg-dev file man-db systemd procps bash-completion hyperfine jq bc
clang clang-format libclang-rt-14-dev
postfix sasl2-bin"

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
