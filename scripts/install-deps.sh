#!/bin/sh
# Installs the Debian 12 packages secretwatch needs to build, test, package
# and benchmark. Idempotent: apt runs only when something is missing.
set -eu

PKGS="build-essential cmake pkg-config
libcurl4-openssl-dev libsqlite3-dev libcjson-dev libsodium-dev
libsystemd-dev libcmocka-dev
python3 openssl curl sqlite3 faketime valgrind
scdoc lintian dpkg-dev file man-db systemd procps bash-completion hyperfine jq bc
clang libclang-rt-14-dev"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
