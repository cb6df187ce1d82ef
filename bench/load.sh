#!/usr/bin/env bash
# bench/load.sh - registration lifecycles under load against a throwaway
# prosody on 127.0.0.1 (run by `make bench` after the parser benchmark).
#
#   bash bench/load.sh            200 sessions
#   LOAD_SESSIONS=500 bash bench/load.sh
#
# Builds bench/load.c with -O2 into build/load, starts prosody
# (tests/prosody.sh) on 127.0.0.1:15722 (STARTTLS) and :15723 (direct TLS,
# unused) in a temporary directory, runs build/load against it, and stops
# prosody on every exit path. Prints build/load's lines; exits non-zero when
# prosody cannot start or any session fails.
#
# Env: CC (gcc), CFLAGS (added), LOAD_SESSIONS (200), LOAD_LIMIT_S (120,
# the run's wall-clock bound), LOAD_C2S_PORT (15722), LOAD_TLS_PORT (15723).
set -euo pipefail

cd "$(dirname "$0")/.."
PROG=load.sh
CC=${CC:-gcc}
N=${LOAD_SESSIONS:-200}
LIMIT_S=${LOAD_LIMIT_S:-120}
C2S_PORT=${LOAD_C2S_PORT:-15722}
TLS_PORT=${LOAD_TLS_PORT:-15723}

die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

case $N in '' | *[!0-9]*) die "LOAD_SESSIONS must be a number" ;; esac
case $LIMIT_S in '' | *[!0-9]*) die "LOAD_LIMIT_S must be a number" ;; esac

mkdir -p build
# shellcheck disable=SC2086 # CFLAGS is a list of flags
$CC -std=c99 -O2 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -I. ${CFLAGS:-} \
	bench/load.c -o build/load -lmbedtls -lmbedx509 -lmbedcrypto ||
	die "could not build bench/load.c (needs libmbedtls-dev)"

# One descriptor per session on each side; prosody inherits this limit.
want=$((N + 64))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
	ulimit -n "$want" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$want" ] ||
		die "$N sessions need $want file descriptors; ulimit -n is $(ulimit -n) (hard $(ulimit -Hn))"
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/xep0077-load.XXXXXX")
cleanup() {
	bash tests/prosody.sh stop "$DIR" >/dev/null 2>&1 ||
		printf '%s: warning: could not stop prosody in %s\n' "$PROG" "$DIR" >&2
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash tests/prosody.sh start "$DIR" "$C2S_PORT" "$TLS_PORT" >/dev/null ||
	die "prosody did not start on 127.0.0.1:$C2S_PORT (see above)"

# prosody's CPU seconds so far (utime + stime), to show who bounds reg/s.
PPID_FILE="$DIR/prosody.pid"
[ -s "$PPID_FILE" ] || PPID_FILE="$DIR/prosody.launch.pid"
SPID=$(cat "$PPID_FILE")
server_cpu() {
	local st
	st=$(cat "/proc/$SPID/stat" 2>/dev/null) || { echo 0; return; }
	st=${st##*) }
	# shellcheck disable=SC2086 # split the fields
	set -- $st
	echo $((${12} + ${13}))
}
tck=$(getconf CLK_TCK)
cpu0=$(server_cpu)
t0=$(date +%s%N)

rc=0
timeout -k 5 $((LIMIT_S + 30)) build/load -n "$N" --port "$C2S_PORT" --cafile "$DIR/ca.pem" \
	--domain localhost --limit-s "$LIMIT_S" || rc=$?
if [ "$rc" != 0 ]; then
	printf '%s: build/load failed (exit %s); tail of the prosody log:\n' "$PROG" "$rc" >&2
	tail -n 30 "$DIR/prosody.log" >&2 || true
	exit 1
fi
cpu1=$(server_cpu)
t1=$(date +%s%N)
awk -v c="$((cpu1 - cpu0))" -v tck="$tck" -v ns="$((t1 - t0))" -v n="$N" 'BEGIN {
	printf "server: prosody (one thread, debug log on) used %.2f s CPU in %.2f s, %.1f ms per registration\n",
		c / tck, ns / 1e9, 1000 * c / tck / n }'
