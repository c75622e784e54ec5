#!/bin/bash
# scripts/fresh-root.sh [--no-cache] [REV]
#
# Runs the README's two commands (the first two lines of its first code
# block, as a newcomer would copy them) as root in a freshly bootstrapped
# Debian 12 root, on a clean copy of the repository at REV (default HEAD):
# proof that scripts/install-deps.sh installs everything the build, the
# demo and the test suite need, where a developer's machine may hide a
# tool installed by hand. Fails when either command fails.
#
# Needs root on a Debian host (installs debootstrap if missing). The root
# is made in a new /var/tmp/secretwatch-fresh-root.XXXXXX (or in
# $SW_FRESH_ROOT, emptied first), removed after a pass, kept after a
# failure. The bare root is cached as a tarball in /var/cache/secretwatch
# for a week; --no-cache bootstraps anew. Prints how long each part took.
set -euo pipefail

# Mounts are made in a private mount namespace: whatever happens to this
# script, none of them is left in the host's.
if [ -z "${SW_FRESH_NS:-}" ] && [ "$(id -u)" -eq 0 ]; then
	SW_FRESH_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

mirror=${SW_DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=${SW_FRESH_ROOT:-}
cache=/var/cache/secretwatch/bookworm-minbase.tar
use_cache=1
[ "${1:-}" = --no-cache ] && { use_cache=0; shift; }
rev=${1:-HEAD}

say() { printf '== fresh root: %s\n' "$*"; }
die() {
	printf 'fresh-root: %s\n' "$*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mounts)"
cd "$(dirname "$0")/.."
git rev-parse -q --verify "$rev^{commit}" >/dev/null || die "no commit $rev"
# SW_FRESH_ROOT is emptied with rm -rf: a folder of its own, outside the
# tree that is copied into it.
if [ -n "$root" ]; then
	case $root in /?*/?*) ;; *) die "SW_FRESH_ROOT: an absolute path, two levels deep at least" ;; esac
	case $root/ in "$PWD"/*) die "SW_FRESH_ROOT must be outside the repository" ;; esac
fi

mounted() { grep -q " $root/" /proc/self/mountinfo; }
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	local rc=$? pid m
	set +e
	# What the commands left running in the root (a Postfix, a daemon)
	# would keep its mounts busy.
	for pid in /proc/[0-9]*; do
		[ "$(readlink "$pid/root" 2>/dev/null)" = "$root" ] &&
			kill -KILL "${pid#/proc/}" 2>/dev/null
	done
	for m in dev/shm dev/pts dev run sys proc; do
		mountpoint -q "$root/$m" && { umount "$root/$m" || umount -l "$root/$m"; }
	done
	if [ "$rc" -eq 0 ] && ! mounted; then
		rm -rf --one-file-system "$root"
	elif [ "$rc" -ne 0 ]; then
		echo "fresh-root: the root is kept for a look: $root" >&2
	fi
}

# --- a bare Debian 12: "required" packages only ------------------------------
if ! command -v debootstrap >/dev/null; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi
# A folder of its own per run: two runs on one machine do not meet.
if [ -z "$root" ]; then
	root=$(mktemp -d /var/tmp/secretwatch-fresh-root.XXXXXX)
else
	mounted && die "something is still mounted under $root"
	rm -rf --one-file-system "$root"
	mkdir -p "$root"
fi
chmod 755 "$root"
trap cleanup EXIT
t0=$SECONDS
if [ "$use_cache" = 1 ] && [ -n "$(find "$cache" -mtime -7 2>/dev/null)" ]; then
	tar -C "$root" --numeric-owner -xpf "$cache"
	how="unpacked from $cache"
else
	if ! out=$(debootstrap --variant=minbase bookworm "$root" "$mirror" 2>&1); then
		printf '%s\n' "$out" | tail -20
		die "debootstrap failed"
	fi
	mkdir -p "${cache%/*}"
	tar -C "$root" --numeric-owner -cpf "$cache.$$" . && mv "$cache.$$" "$cache"
	how="debootstrap --variant=minbase bookworm $mirror"
fi
t_boot=$((SECONDS - t0))
say "base system in ${t_boot} s ($how)"

# --- what a machine has that a chroot lacks ----------------------------------
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
# libfaketime's POSIX semaphores live in /dev/shm: the root gets its own.
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"
mount -t tmpfs -o mode=0755,nosuid,nodev run "$root/run"
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# apt uses the host's mirror and suites (security updates included), but
# not a source signed by a key that the fresh root lacks (a third party's).
replaced=0
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] || continue
	# shellcheck disable=SC2013 # key file names, one word each
	for key in $(grep -oiE 'signed-by[:=] *[^] ]+' "$f" | sed 's/.*[:=] *//'); do
		[ -e "$root$key" ] || { say "leaves out $f (signed by $key)"; continue 2; }
	done
	[ "$replaced" = 1 ] || rm -f "$root/etc/apt/sources.list"
	replaced=1
	cp "$f" "$root$f"
done
# No init runs in the root: packages must not start services there.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# A clean copy of the repository, where a newcomer would have cloned it.
mkdir "$root/root/secretwatch"
git archive "$rev" | tar -x -C "$root/root/secretwatch"

# --- the README's two commands -------------------------------------------------
# The first two non-empty lines of the first fenced code block.
readme_cmds=$(awk '/^```/ { if (inblock) exit; inblock = 1; next }
	inblock && NF { print; if (++n == 2) exit }' "$root/root/secretwatch/README.md")
[ "$(printf '%s\n' "$readme_cmds" | grep -c .)" -eq 2 ] ||
	die "README.md: no two commands in the first code block"
n=0
times=""
while IFS= read -r cmd; do
	n=$((n + 1))
	say "command $n: $cmd"
	t0=$SECONDS
	# A root login shell's environment, nothing of this one's.
	rc=0
	timeout -k 10 2400 chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
		SHELL=/bin/bash TERM=dumb \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		/bin/bash -c "cd /root/secretwatch && $cmd" </dev/null || rc=$?
	t=$((SECONDS - t0))
	times="$times, command $n ${t} s"
	[ "$rc" -eq 0 ] || die "command $n failed (exit $rc) after ${t} s: $cmd"
	say "command $n passed in ${t} s"
done <<<"$readme_cmds"
say "both README commands passed: base ${t_boot} s$times"
