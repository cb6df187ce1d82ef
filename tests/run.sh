#!/usr/bin/env bash
# tests/run.sh -- the test command (`make test`, README, CI).
#
# Runs every check in order and never skips one: a missing tool or a build
# that fails is a failed check. Test programs print their own
# "N passed, N failed" last line, which is added to the totals; a program
# that crashes, exits non-zero with no failure counted, or prints no such
# line counts as 1 failed. Compile checks and fuzz smokes count 1 each.
# The last line is always "<N> passed, <M> failed"; exit 1 if M > 0.
#
# Environment: CC (gcc), CXX (g++), CLANG (clang), CFLAGS (extra flags for
# every build), FUZZ_SMOKE (seconds per fuzzer, 20), TEST_TIMEOUT (seconds
# per program, 600).
set -u
cd "$(dirname "$0")/.." || exit 1

CC=${CC:-gcc}
CXX=${CXX:-g++}
CLANG=${CLANG:-clang}
CFLAGS=${CFLAGS:-}
FUZZ_SMOKE=${FUZZ_SMOKE:-20}
TEST_TIMEOUT=${TEST_TIMEOUT:-600}
OUT=build/test
rm -rf "$OUT" # never run a program left over from an earlier build
mkdir -p "$OUT"

# WARN_C and WARN_CXX build everything; the header itself must also stay
# clean under WARN_EXTRA (with -O2, which some warnings need).
WARN_C="-std=c99 -Wall -Wextra -Werror -pedantic"
WARN_EXTRA="-O2 -Wsign-conversion -Wconversion -Wstrict-prototypes \
-Wmissing-prototypes -Wmissing-declarations -Wredundant-decls -Wshadow \
-Wcast-qual -Wcast-align -Wwrite-strings -Wpointer-arith -Wundef -Wvla \
-Wdouble-promotion -Wformat=2"
WARN_CXX="-std=c++11 -Wall -Wextra -Werror"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
FUZZ="-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"

passed=0
failed=0
n=0

header() {
  n=$((n + 1))
  echo
  echo "== [$n] $*"
}

pass() { passed=$((passed + 1)); echo "ok"; }
fail() { failed=$((failed + 1)); echo "FAILED: $*"; }

# check TITLE CMD... : a check that passes when CMD exits 0.
check() {
  local title=$1 log="$OUT/step$((n + 1)).log"
  shift
  header "$title"
  if "$@" >"$log" 2>&1; then
    pass
  else
    tail -n 30 "$log"
    fail "$title"
  fi
}

# build TITLE CMD... : compile a test program; on failure count 1 failed and
# return 1 so the caller does not run it.
build() {
  local title=$1 log="$OUT/build$n.log"
  shift
  echo "\$ $*"
  if "$@" >"$log" 2>&1; then
    return 0
  fi
  tail -n 30 "$log"
  fail "$title: build failed"
  return 1
}

# run TITLE CMD... : run a test program and add its "N passed, N failed".
run() {
  local title=$1 out="$OUT/run$n.out" err="$OUT/run$n.err" rc line p f
  shift
  echo "\$ $*"
  # (in a subshell, so a crash is reported once, by us, not also by bash)
  (timeout "$TEST_TIMEOUT" "$@" >"$out" 2>"$err" </dev/null) 2>/dev/null
  rc=$?
  [ "$rc" -eq 124 ] && echo "timed out after ${TEST_TIMEOUT}s"
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    tail -n 20 "$out"
    tail -n 30 "$err"
    fail "$title: exit code $rc and no 'N passed, N failed' line"
    return
  fi
  p=${line%% passed*}
  f=${line#*passed, }
  f=${f%% failed}
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$f" -gt 0 ]; then
    grep -iE 'fail|error' "$out" | grep -vxF "$line" | tail -n 30
  fi
  echo "$line"
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    tail -n 30 "$err"
    fail "$title: exit code $rc after reporting no failure"
  fi
}

# fuzz NAME : build fuzz/fuzz_NAME.c and run it FUZZ_SMOKE seconds on the
# committed corpus; new inputs go to a scratch directory under build/.
fuzz() {
  local name=$1 variant=${2:-} flags=""
  local tag=$name${variant:+_$variant}
  local bin="$OUT/fuzz_$tag" log="$OUT/fuzz_$tag.log" scratch="$OUT/corpus_$tag"
  [ "$variant" = small ] && flags="-DXEP0077_SMALL" # the firmware (-Os) code paths
  header "fuzz_$tag, ${FUZZ_SMOKE}s on fuzz/corpus/$name"
  build "fuzz_$tag" "$CLANG" -g -O1 $FUZZ $flags $CFLAGS -I. "fuzz/fuzz_$name.c" -o "$bin" \
    -lmbedtls -lmbedx509 -lmbedcrypto ||
    return
  rm -rf "$scratch"
  mkdir -p "$scratch"
  echo "\$ $bin -max_total_time=$FUZZ_SMOKE $scratch fuzz/corpus/$name"
  if "$bin" -max_total_time="$FUZZ_SMOKE" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$OUT/crash-$tag-" \
      "$scratch" "fuzz/corpus/$name" >"$log" 2>&1 </dev/null; then
    grep -E '^(Done|stat::number_of_executed_units)' "$log"
    pass
  else
    # what failed, where, and the input: not the whole sanitizer report
    grep -E 'check failed|differ|wrote|writer |ERROR:|(READ|WRITE) of size|^ +#[0-4] |SUMMARY|Test unit written' \
      "$log" | head -n 30
    fail "fuzz_$tag (crash input: $OUT/crash-$tag-*)"
  fi
}

echo "xep0077.h tests"

# Tools first. A missing one fails here and again in every step needing it.
header "tools"
if bash tests/deps.sh gcc g++ clang make valgrind libexpat1-dev \
    libclang-rt-14-dev libmbedtls-dev prosody openssl gcc-arm-none-eabi \
    libnewlib-arm-none-eabi; then
  pass
else
  fail "tools missing"
fi

IMPL="-DXEP0077_IMPLEMENTATION -c xep0077.h"
check "header alone: $CC -std=c99, strict warnings" \
  "$CC" $WARN_C $WARN_EXTRA $CFLAGS -x c $IMPL -o "$OUT/hdr_gcc.o"
check "header alone: $CLANG -std=c99, strict warnings" \
  "$CLANG" $WARN_C $WARN_EXTRA $CFLAGS -x c $IMPL -o "$OUT/hdr_clang.o"
check "header alone: $CXX -std=c++11 -pedantic" \
  "$CXX" $WARN_CXX -pedantic $CFLAGS -x c++ $IMPL -o "$OUT/hdr_cxx.o"
MT="-DXEP0077_MBEDTLS $IMPL"
check "header + mbedTLS glue: $CC -std=c99, strict warnings" \
  "$CC" $WARN_C $WARN_EXTRA $CFLAGS -x c $MT -o "$OUT/hdr_mt_gcc.o"
check "header + mbedTLS glue: $CLANG -std=c99, strict warnings" \
  "$CLANG" $WARN_C $WARN_EXTRA $CFLAGS -x c $MT -o "$OUT/hdr_mt_clang.o"
check "header + mbedTLS glue: $CXX -std=c++11 -pedantic" \
  "$CXX" $WARN_CXX -pedantic $CFLAGS -x c++ $MT -o "$OUT/hdr_mt_cxx.o"

# XEP0077_STATIC promises two private copies in one program. Unused static
# functions are expected there, so that one warning is off.
static_link() {
  local t
  for t in a b; do
    printf '#define XEP0077_STATIC\n#define XEP0077_IMPLEMENTATION\n%s\n%s\n' \
      '#include "xep0077.h"' \
      "const char *name_$t(int s) { return xep0077_status_name(s); }" \
      >"$OUT/static_$t.c"
  done
  printf 'const char *name_a(int);\nconst char *name_b(int);\n%s\n' \
    'int main(void) { return name_a(0)[0] != name_b(0)[0]; }' >"$OUT/static_main.c"
  "$CC" $WARN_C -Wno-unused-function $CFLAGS -I. "$OUT/static_a.c" \
    "$OUT/static_b.c" "$OUT/static_main.c" -o "$OUT/static_two" &&
    "$OUT/static_two"
}
check "XEP0077_STATIC: two copies link into one program" static_link

header "test_xml ($CC)"
build test_xml "$CC" $WARN_C -g -O1 $CFLAGS -I. tests/test_xml.c \
  -o "$OUT/test_xml" && run test_xml "$OUT/test_xml" tests/xml

header "test_xml ($CLANG, ASan + UBSan)"
build test_xml_asan "$CLANG" -std=c99 -g -O1 $SAN $CFLAGS -I. \
  tests/test_xml.c -o "$OUT/test_xml_asan" &&
  run test_xml_asan "$OUT/test_xml_asan" tests/xml

header "test_xml under valgrind"
if [ -x "$OUT/test_xml" ]; then
  run test_xml_valgrind valgrind -q --error-exitcode=99 --leak-check=full \
    "$OUT/test_xml" tests/xml
else
  fail "test_xml_valgrind: no $OUT/test_xml to run"
fi

header "test_xml compiled as C++ ($CXX)"
build test_xml_cxx "$CXX" $WARN_CXX -g -O1 $CFLAGS -I. -x c++ \
  tests/test_xml.c -o "$OUT/test_xml_cxx" &&
  run test_xml_cxx "$OUT/test_xml_cxx" tests/xml

header "test_cpp ($CXX)"
build test_cpp "$CXX" $WARN_CXX -g -O1 $CFLAGS -I. tests/test_cpp.cpp \
  -o "$OUT/test_cpp" && run test_cpp "$OUT/test_cpp"

header "diff_expat (parser against expat)"
build diff_expat "$CC" $WARN_C -g -O1 $CFLAGS -I. tests/diff_expat.c \
  -o "$OUT/diff_expat" -lexpat && run diff_expat "$OUT/diff_expat"

POSIX="-D_POSIX_C_SOURCE=200809L"
MBED="-lmbedtls -lmbedx509 -lmbedcrypto"

# suite NAME FILE [LIBS...]: a scripted-transport suite with gcc, then with
# clang under ASan + UBSan.
suite() {
  local name=$1 file=$2
  shift 2
  header "$name ($CC)"
  build "$name" "$CC" $WARN_C $POSIX -g -O1 $CFLAGS -I. "$file" -o "$OUT/$name" "$@" &&
    run "$name" "$OUT/$name"
  header "$name ($CLANG, ASan + UBSan)"
  build "${name}_asan" "$CLANG" $WARN_C $POSIX -g -O1 $SAN $CFLAGS -I. "$file" \
    -o "$OUT/${name}_asan" "$@" && run "${name}_asan" "$OUT/${name}_asan"
}

suite test_stream tests/test_stream.c $MBED
header "test_stream under valgrind"
if [ -x "$OUT/test_stream" ]; then
  run test_stream_valgrind valgrind -q --error-exitcode=99 --leak-check=full "$OUT/test_stream"
else
  fail "test_stream_valgrind: no $OUT/test_stream to run"
fi
header "test_stream compiled as C++ ($CXX)"
build test_stream_cxx "$CXX" $WARN_CXX $POSIX -g -O1 $CFLAGS -I. -x c++ tests/test_stream.c \
  -o "$OUT/test_stream_cxx" $MBED && run test_stream_cxx "$OUT/test_stream_cxx"
suite test_register tests/test_register.c $MBED

# The hostile servers need the certificates prosody.sh generates (a CA, a
# server certificate, one for the wrong name, one from an unknown CA).
certs() {
  local d
  d=$(mktemp -d "${TMPDIR:-/tmp}/xep0077-certs.XXXXXX") || return 1
  tests/prosody.sh start "$d" 15522 15523 >/dev/null && tests/prosody.sh stop "$d" &&
    echo "$d"
}
header "hostile servers on loopback"
if CERTS=$(certs); then
  build hostile "$CC" $WARN_C $POSIX -g -O1 $CFLAGS -I. tests/hostile.c -o "$OUT/hostile" \
    $MBED -lpthread && run hostile "$OUT/hostile" "$CERTS"
  header "hostile servers, ASan + UBSan"
  build hostile_asan "$CLANG" $WARN_C $POSIX -g -O1 $SAN $CFLAGS -I. tests/hostile.c \
    -o "$OUT/hostile_asan" $MBED -lpthread && run hostile_asan "$OUT/hostile_asan" "$CERTS"
  rm -rf "$CERTS"
else
  fail "hostile: could not generate certificates with tests/prosody.sh"
fi

header "interop with a real prosody: stream, TLS, SASL, bind"
run interop bash tests/interop.sh
header "interop with a real prosody: registration, every virtual host"
run interop_register bash tests/interop_register.sh
header "interop registration, ASan + UBSan"
run interop_register_asan env CC="$CLANG" CFLAGS="-O1 $SAN" bash tests/interop_register.sh

EX="$WARN_C $POSIX $CFLAGS -I."
check "examples/xmpp-register builds ($CC and $CLANG)" sh -c \
  "$CC $EX examples/xmpp-register.c -o examples/xmpp-register $MBED &&
   $CLANG $EX examples/xmpp-register.c -o $OUT/xmpp-register-clang $MBED"
check "examples/embedded.c for Cortex-M4 (arm-none-eabi-gcc, newlib stubs)" \
  arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections \
  -std=c99 -Wall -Wextra -Werror -I. examples/embedded.c -Wl,--gc-sections \
  --specs=nosys.specs -o "$OUT/embedded-m4.elf"
header "examples against a real prosody (embedded host build, game loop)"
build embedded "$CC" $EX -g -DEMBEDDED_HOST_DEMO examples/embedded.c -o "$OUT/embedded" $MBED &&
  build game_loop "$CC" $EX -g examples/game_loop.c -o "$OUT/game_loop" $MBED &&
  run examples bash tests/examples.sh "$OUT"
check "make demo (xmpp-register through the whole account lifecycle)" bash examples/demo.sh

# XEP0077_SMALL (the default under -Os) compiles a different parser path:
# the same suites must pass with it.
header "XEP0077_SMALL: test_xml, diff_expat, test_stream, test_register"
build test_xml_small "$CC" $WARN_C -DXEP0077_SMALL -g -O1 $CFLAGS -I. tests/test_xml.c \
  -o "$OUT/test_xml_small" && run test_xml_small "$OUT/test_xml_small" tests/xml
build diff_expat_small "$CC" $WARN_C -DXEP0077_SMALL -g -O1 $CFLAGS -I. tests/diff_expat.c \
  -o "$OUT/diff_expat_small" -lexpat && run diff_expat_small "$OUT/diff_expat_small"
build test_stream_small "$CC" $WARN_C $POSIX -DXEP0077_SMALL -g -O1 $CFLAGS -I. \
  tests/test_stream.c -o "$OUT/test_stream_small" $MBED && run test_stream_small "$OUT/test_stream_small"
build test_register_small "$CC" $WARN_C $POSIX -DXEP0077_SMALL -g -O1 $CFLAGS -I. \
  tests/test_register.c -o "$OUT/test_register_small" $MBED &&
  run test_register_small "$OUT/test_register_small"

header "portability: x86-64 gcc/clang, i386, armhf and s390x under qemu, Cortex-M0+/M4, C++11"
run portability bash tests/portability.sh
header "static analysis: cppcheck, clang-tidy, symbols, no heap, no globals"
run static bash tests/static.sh
# Sizes are deterministic: over 12 KiB of Cortex-M4 code fails the build.
# The report is printed pass or fail: the sizes per section and per target.
header "code size: whole library, Cortex-M4 -Os -mthumb (budget 12288)"
if sh tests/budget.sh -m; then pass; else fail "code size"; fi

fuzz parser
fuzz parser small
fuzz writer
fuzz client
fuzz client small

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
