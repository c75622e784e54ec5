# shellcheck shell=sh
# Sourced by the shell scripts that run other programs (tests/, packaging/,
# fuzz/, bench/); the Python side is need() in tests/fakes/fakes.py.
#
# need PROGRAM PACKAGE [FLAG]: PROGRAM (a name on $PATH, or a file's path)
# is there, or one line names it and the Debian package that provides it,
# and the script exits 1: a check whose tool is missing fails, it is not
# left out. FLAG is the install-deps.sh flag that installs it (--bench).
need() {
	case $1 in
	/*) [ -e "$1" ] && return 0 ;;
	*) [ -x "$(command -v "$1" 2>/dev/null)" ] && return 0 ;;
	esac
	case $1 in /*/bin/* | /*/sbin/* | [!/]*) set -- "program $1" "$2" "${3:-}" ;; esac
	echo "missing $1: install the Debian package '$2' (scripts/install-deps.sh${3:+ $3} installs it)" >&2
	exit 1
}
