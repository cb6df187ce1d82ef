#!/usr/bin/env bash
# tests/interop_register.sh - start a throwaway prosody, run
# tests/interop_register against it, stop it.
#
#   tests/interop_register.sh [BINARY [C2S_PORT [DIRECT_TLS_PORT]]]   (ports 15322 15323)
#
# The ports differ from tests/interop.sh (15222/15223) so both can run at
# once. BINARY defaults to a fresh build of tests/interop_register.c with
# $CC (default gcc) and $CFLAGS added, e.g.
#   CC=clang CFLAGS="-fsanitize=address,undefined" tests/interop_register.sh
# INTEROP_WRAP is put in front of the binary, e.g.
#   INTEROP_WRAP="valgrind -q --error-exitcode=99 --leak-check=full" tests/interop_register.sh
# Prints the program's output (lifecycle lines "step   OK", "FAIL name:
# detail" per failed check, last line "N passed, N failed").
# Exit status: the program's; 1 with "0 passed, 1 failed" when prosody does
# not start or the build fails. Prosody is stopped and its directory removed
# on every exit path (its log is shown first when something failed).
set -u
cd "$(dirname "$0")/.." || exit 1

BIN=${1:-}
C2S_PORT=${2:-15322}
TLS_PORT=${3:-15323}
CC=${CC:-gcc}
CFLAGS=${CFLAGS:-}
WRAP=${INTEROP_WRAP:-}

DIR=$(mktemp -d "${TMPDIR:-/tmp}/xep0077-ibr.XXXXXX") || {
	echo "FAIL interop_register.sh: mktemp failed"
	echo "0 passed, 1 failed"
	exit 1
}
STARTED=0
STATUS=1

cleanup() {
	if [ "$STARTED" = 1 ]; then
		if [ "$STATUS" != 0 ] && [ -f "$DIR/prosody.log" ]; then
			echo "---- tail of prosody.log ----" >&2
			tail -n 30 "$DIR/prosody.log" >&2
		fi
		tests/prosody.sh stop "$DIR" || echo "interop_register.sh: WARNING: prosody stop failed ($DIR)" >&2
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail_setup() {
	echo "FAIL interop_register.sh: $*"
	echo "0 passed, 1 failed"
	exit 1
}

if [ -z "$BIN" ]; then
	BIN="$DIR/interop_register"
	# shellcheck disable=SC2086 # CFLAGS is a list of flags on purpose
	"$CC" -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -g -I. $CFLAGS \
		tests/interop_register.c -o "$BIN" -lmbedtls -lmbedx509 -lmbedcrypto ||
		fail_setup "build of tests/interop_register.c failed"
fi
[ -x "$BIN" ] || fail_setup "$BIN is not an executable"

echo "interop_register.sh: starting prosody in $DIR on 127.0.0.1:$C2S_PORT (STARTTLS) and :$TLS_PORT (direct TLS)"
STARTED=1
if ! tests/prosody.sh start "$DIR" "$C2S_PORT" "$TLS_PORT"; then
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
	echo "!!! interop_register.sh: PROSODY DID NOT START: NO REGISTRATION TEST RAN. !!!" >&2
	echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
	fail_setup "prosody did not start on 127.0.0.1:$C2S_PORT/$TLS_PORT (see stderr)"
fi

# shellcheck disable=SC2086 # WRAP is a command line on purpose
$WRAP "$BIN" "$DIR" "$C2S_PORT" "$TLS_PORT"
STATUS=$?
exit "$STATUS"
