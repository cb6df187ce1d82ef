#!/usr/bin/env bash
# examples/demo.sh - what `make demo` runs: an account's whole life with
# examples/xmpp-register against a throwaway prosody on 127.0.0.1.
#
#   bash examples/demo.sh        (DEMO_PORTS="C2S DIRECT_TLS", default "15422 15423")
#
# 1. Makes sure prosody, libmbedtls-dev, gcc, make and openssl are there
#    (tests/deps.sh: installs them as root, else prints
#    "missing: apt-get install ..." and exits 1), and builds
#    examples/xmpp-register when it is missing or older than its sources.
# 2. Starts prosody (tests/prosody.sh) in a fresh mktemp -d directory,
#    with its own test CA.
# 3. Runs each step with TLS verification ON (--cafile DIR/ca.pem), checks
#    its exit status (and for a refusal, the error it names), prints it.
# 4. Stops the server and removes the directory on every exit path.
# Exit status: 0 when every step did what it should, 1 otherwise.
set -u
cd "$(dirname "$0")/.." || exit 1

read -r C2S_PORT TLS_PORT <<<"${DEMO_PORTS:-15422 15423}"
BIN=examples/xmpp-register
CC=${CC:-gcc}

# ---- 1. dependencies and the binary ---------------------------------------
bash tests/deps.sh prosody libmbedtls-dev gcc make openssl || exit 1
if [ ! -x "$BIN" ] || [ "$BIN" -ot examples/xmpp-register.c ] || [ "$BIN" -ot xep0077.h ]; then
	echo "building $BIN"
	"$CC" -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -I. \
		examples/xmpp-register.c -o "$BIN" -lmbedtls -lmbedx509 -lmbedcrypto || exit 1
fi

# ---- 2. the server ----------------------------------------------------------
DIR=$(mktemp -d "${TMPDIR:-/tmp}/xmpp-register-demo.XXXXXX") || exit 1
STARTED=0
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ "$STARTED" = 1 ] && ! tests/prosody.sh stop "$DIR"; then
		echo "demo: WARNING: prosody stop failed ($DIR)" >&2
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STARTED=1
if ! tests/prosody.sh start "$DIR" "$C2S_PORT" "$TLS_PORT"; then
	echo "demo: prosody did not start on 127.0.0.1:$C2S_PORT/$TLS_PORT" >&2
	exit 1
fi

# ---- 3. the steps -------------------------------------------------------------
# A name and passwords unique to this run. PASS1 and PASS2 reach
# xmpp-register on standard input ("-"), never in its argv (where `ps`
# shows them).
RAND=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
ACCOUNT=demo-$RAND@localhost
PASS1=first-$RAND
PASS2=second-$RAND
XR=("$BIN" --cafile "$DIR/ca.pem" --connect "127.0.0.1:$C2S_PORT" --timeout 10)
SHOW="xmpp-register --cafile \$DIR/ca.pem --connect 127.0.0.1:$C2S_PORT --timeout 10"

TOTAL=9
STEP=0
FAILED=0

# step TITLE STDIN WANT_STATUS WANT_STDERR ARGS...: run xmpp-register with
# the passwords named in STDIN (variable names, one line each) on its
# standard input, print its output, and check its exit status and, when
# WANT_STDERR is not empty, that its error line contains that word.
step() {
	local title=$1 names=$2 want=$3 want_err=$4 input="" shown="" name out err rc verdict
	shift 4
	for name in $names; do
		input+="${!name}"$'\n'
		shown+=" \"\$$name\""
	done
	STEP=$((STEP + 1))
	echo
	echo "== step $STEP/$TOTAL: $title"
	echo "\$ ${shown:+printf '%s\\n'$shown | }$SHOW $*"
	out=$(printf '%s' "$input" | "${XR[@]}" "$@" 2>"$DIR/stderr")
	rc=$?
	err=$(cat "$DIR/stderr")
	[ -n "$out" ] && printf '%s\n' "$out"
	[ -n "$err" ] && printf '%s\n' "$err"
	verdict=ok
	if [ "$rc" != "$want" ]; then
		verdict="WRONG: expected exit $want"
	elif [ -n "$want_err" ] && [[ $err != *"$want_err"* ]]; then
		verdict="WRONG: expected an error naming '$want_err'"
	fi
	echo "-> exit $rc ($verdict)"
	[ "$verdict" = ok ] || FAILED=$((FAILED + 1))
}

echo "account $ACCOUNT, PASS1=$PASS1, PASS2=$PASS2"
step "fields localhost" "" 0 "" \
	fields localhost
step "register $ACCOUNT (the password on stdin: '-')" PASS1 0 "" \
	register "$ACCOUNT" -
step "register $ACCOUNT again: the name is taken (exit 1)" "" 1 "conflict" \
	register "$ACCOUNT" another-password
step "info $ACCOUNT" PASS1 0 "" \
	info "$ACCOUNT" -
step "passwd $ACCOUNT (old, then new password on stdin)" "PASS1 PASS2" 0 "" \
	passwd "$ACCOUNT" - -
step "info $ACCOUNT with the new password" PASS2 0 "" \
	info "$ACCOUNT" -
step "info $ACCOUNT with the old password: refused (exit 5)" PASS1 5 "not-authorized" \
	info "$ACCOUNT" -
step "cancel $ACCOUNT" PASS2 0 "" \
	cancel "$ACCOUNT" -
step "info $ACCOUNT after cancel: refused (exit 5)" PASS2 5 "not-authorized" \
	info "$ACCOUNT" -

echo
if [ "$FAILED" = 0 ]; then
	echo "demo: all $TOTAL steps did what they should"
	exit 0
fi
echo "demo: $FAILED of $TOTAL steps went wrong"
exit 1
