#!/usr/bin/env bash
# tests/examples.sh -- the examples against a real server: the embedded
# example's host build and the game loop, each through a whole account
# lifecycle against a throwaway prosody on 127.0.0.1 (ports 15622/15623).
#   tests/examples.sh BUILD_DIR     (holds embedded and game_loop, built)
# Ends with "N passed, N failed"; a prosody that cannot start is a failure.
set -u
cd "$(dirname "$0")/.." || exit 1
B=${1:-build/test}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/xep0077-examples.XXXXXX") || { echo "0 passed, 1 failed"; exit 1; }
passed=0
failed=0
cleanup() { tests/prosody.sh stop "$DIR" >/dev/null 2>&1; rm -rf "$DIR"; }
trap cleanup EXIT

if ! tests/prosody.sh start "$DIR" 15622 15623; then
  echo "FAIL examples: prosody did not start"
  echo "0 passed, 1 failed"
  exit 1
fi

step() { # step NAME CMD...: passes when CMD exits 0
  local name=$1
  shift
  echo "\$ $*"
  if timeout 120 "$@"; then
    passed=$((passed + 1))
    echo "ok $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name (exit $?)"
  fi
}

step "embedded example, host build" "$B/embedded" --connect 127.0.0.1:15622 \
  --cafile "$DIR/ca.pem" --domain localhost
step "game loop, 20 sessions" "$B/game_loop" -n 20 --fast --connect 127.0.0.1:15622 \
  --cafile "$DIR/ca.pem" --domain localhost
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
