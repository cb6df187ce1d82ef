#!/usr/bin/env bash
# tests/static.sh -- static analysis of xep0077.h (tests/run.sh calls it).
#
#   cppcheck    --enable=warning,portability,performance, three configurations:
#               the plain library, the mbedTLS glue against the 2.28 API
#               (Debian's) and against the 3.6 API with PSA (branches no
#               compiler on this machine sees)
#   clang-tidy  bugprone, cert, clang-analyzer (path-sensitive), misc,
#               performance and portability checks, without and with the
#               mbedTLS glue (against the installed mbedTLS headers)
#   symbols     every external symbol the implementation defines starts with
#               xep0077_ (and none with the private xep0077__), built as C
#               and as C++ (extern "C": no mangled names); XEP0077_STATIC
#               defines none at all
#   no-heap     the library object without mbedTLS references no allocator
#   no-global-state  the library object has no writable data (.data, .bss)
#
# The translation unit is xep0077.h itself, compiled as C with
# -DXEP0077_IMPLEMENTATION: the clang static analyzer explores paths only
# through functions defined in the main file, so a two-line .c that includes
# the header gets syntax checks and nothing path-sensitive (that was measured:
# 126 functions "Syntax" only, 0 "Path").
#
# Output: one line per check, "ok CHECK (detail)" or "FAIL CHECK: reason",
# then "N passed, N failed"; each check counts 1. The full reports are in
# build/static/CHECK.log. Exit 1 if any check failed.
set -u
cd "$(dirname "$0")/.." || exit 1

OUT=build/static
rm -rf "$OUT"
mkdir -p "$OUT"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok $1${2:+ ($2)}"; }
bad() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# A missing tool fails the checks that need it, each saying so.
deps=$(bash tests/deps.sh gcc g++ binutils cppcheck clang-tidy libmbedtls-dev 2>"$OUT/deps.log")
missing=$(echo "$deps" | grep '^missing:' | tail -n 1)
# tool CHECK CMD : true when CMD is on PATH, else CHECK fails.
tool() {
  command -v "$2" >/dev/null 2>&1 && return 0
  bad "$1" "$2 not found${missing:+ ($missing)}"
  return 1
}

IMPL="-DXEP0077_IMPLEMENTATION"

# ---- cppcheck -------------------------------------------------------------
# No system include paths: cppcheck models libc with its std.cfg, and
# mbedTLS's headers (#include MBEDTLS_CONFIG_FILE) stop its preprocessor
# with "No header in #include" and multiply the configurations past its
# limit of 12. With -D on the command line cppcheck checks exactly that
# configuration, which is what we want: each run below is one build of the
# header that users make. No suppressions: the three runs are clean.
# (--inline-suppr only lets a future "// cppcheck-suppress id" in the header,
# justified there, take effect.)
cppcheck_run() {
  local name=$1 log="$OUT/$1.log" n
  shift
  tool "$name" cppcheck || return
  cppcheck --enable=warning,portability,performance --inline-suppr \
    --error-exitcode=1 --std=c99 --language=c -q \
    --template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
    $IMPL "$@" xep0077.h >"$log" 2>&1
  local rc=$?
  n=$(grep -cE '^[^ ]+:[0-9]+:[0-9]+: ' "$log")
  if [ "$rc" -eq 0 ] && [ "$n" -eq 0 ]; then
    ok "$name" "no findings"
  elif [ "$n" -gt 0 ]; then
    bad "$name" "$n findings, first: $(grep -m 1 -E '^[^ ]+:[0-9]+:[0-9]+: ' "$log") (log: $log)"
  else
    bad "$name" "exit code $rc: $(tail -n 1 "$log") (log: $log)"
  fi
}
cppcheck_run cppcheck -UXEP0077_MBEDTLS
cppcheck_run cppcheck-mbedtls2 -DXEP0077_MBEDTLS -DMBEDTLS_VERSION_NUMBER=0x021C0300
cppcheck_run cppcheck-mbedtls3 -DXEP0077_MBEDTLS -DMBEDTLS_VERSION_NUMBER=0x03060000 \
  -DMBEDTLS_PSA_CRYPTO_C -DMBEDTLS_FS_IO -DMBEDTLS_ERR_SSL_ASYNC_IN_PROGRESS=-0x6500 \
  -DMBEDTLS_ERR_SSL_CRYPTO_IN_PROGRESS=-0x7000 \
  -DMBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET=-0x7B00

# ---- clang-tidy -----------------------------------------------------------
# Checks off, and why:
#   bugprone-easily-swappable-parameters  flags the shape of an API (two
#       const char * in a row: name, value), not a defect; changing it
#       would break the public functions.
#   bugprone-not-null-terminated-result  flags memcpy of a literal prefix
#       ("n,,n=", ",r=") into buffers whose length the code tracks and
#       terminates later; its fix, strcpy, is what we avoid on purpose.
#   bugprone-narrowing-conversions  in C a character literal is an int, so
#       `cond ? table[i] : '='` stored in a char "narrows" every time; real
#       narrowing is caught by -Wconversion -Wsign-conversion, which
#       tests/run.sh builds the header with (gcc and clang, -Werror).
# Options:
#   bugprone-suspicious-string-compare.WarnOnImplicitComparison=false:
#       `if (strcmp(a, b))` for "differ" is this header's idiom; the check
#       still catches comparisons with suspicious constants (== 1, < -1),
#       a result stored in a char, and the like.
TIDY_CHECKS="-*,bugprone-*,cert-*,clang-analyzer-*,misc-*,performance-*,portability-*"
TIDY_CHECKS="$TIDY_CHECKS,-bugprone-easily-swappable-parameters"
TIDY_CHECKS="$TIDY_CHECKS,-bugprone-not-null-terminated-result"
TIDY_CHECKS="$TIDY_CHECKS,-bugprone-narrowing-conversions"
TIDY_CONFIG="{Checks: '$TIDY_CHECKS', CheckOptions: [\
{key: bugprone-suspicious-string-compare.WarnOnImplicitComparison, value: false}]}"

# Findings reviewed and judged harmless, each "CHECK|text of the flagged
# line". The header cannot carry NOLINT comments from this script, so they
# are matched here by check and source text (not line number, which moves).
# When the header is fixed, the entry shows up as stale in the ok line.
KNOWN=(
  # (empty: the three findings of the first run were fixed in the header)
)

tidy_run() {
  local name=$1 log="$OUT/$1.log" rc w file ln check src k i
  local n=0 nknown=0 first="" stale=""
  local -a hit=()
  shift
  tool "$name" clang-tidy || return
  clang-tidy --quiet --config="$TIDY_CONFIG" xep0077.h -- \
    -x c -std=c99 $IMPL "$@" >"$log" 2>&1
  rc=$?
  : >"$OUT/$name.findings"
  while IFS= read -r w; do
    file=${w%%:*}
    ln=${w#*:}
    ln=${ln%%:*}
    check=${w##*[}
    check=${check%]}
    src=$(sed -n "${ln}p" "$file" 2>/dev/null)
    for i in "${!KNOWN[@]}"; do
      k=${KNOWN[$i]}
      if [ "$check" = "${k%%|*}" ] && [[ "$src" == *"${k#*|}"* ]]; then
        hit[i]=1
        nknown=$((nknown + 1))
        continue 2
      fi
    done
    n=$((n + 1))
    first=${first:-$w}
    echo "$w" >>"$OUT/$name.findings"
  done < <(grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$log")
  for i in "${!KNOWN[@]}"; do
    [ -n "${hit[$i]:-}" ] || stale="$stale; stale KNOWN entry, drop it: ${KNOWN[$i]%%|*}"
  done
  if [ "$n" -gt 0 ]; then
    bad "$name" "$n new findings, first: $first (all: $OUT/$name.findings, log: $log)"
  elif [ "$rc" -ne 0 ]; then
    bad "$name" "exit code $rc: $(tail -n 1 "$log") (log: $log)"
  else
    ok "$name" "no new findings, $nknown known$stale"
  fi
}
tidy_run clang-tidy
tidy_run clang-tidy-mbedtls -DXEP0077_MBEDTLS

# ---- symbols --------------------------------------------------------------
# obj NAME COMPILER FLAGS... : build the header alone into $OUT/NAME.o.
obj() {
  local name=$1
  shift
  "$@" $IMPL -c xep0077.h -o "$OUT/$name.o" >"$OUT/$name.build.log" 2>&1
}

# prefix CHECK NAME COMPILER FLAGS... : every external symbol is xep0077_*.
prefix() {
  local check=$1 name=$2 syms wrong
  shift 2
  tool "$check" nm || return
  if ! obj "$name" "$@"; then
    bad "$check" "build failed: $(grep -m 1 error "$OUT/$name.build.log") (log: $OUT/$name.build.log)"
    return
  fi
  syms=$(nm -g --defined-only -P "$OUT/$name.o" | awk '{ print $1 }')
  wrong=$(echo "$syms" | grep -vE '^xep0077_[a-z0-9]' | grep -v '^$' | tr '\n' ' ')
  if [ -z "$syms" ]; then
    bad "$check" "no external symbol at all"
  elif [ -n "$wrong" ]; then
    bad "$check" "not public xep0077_ names: $wrong"
  else
    ok "$check" "$(echo "$syms" | wc -l) symbols, all xep0077_"
  fi
}
prefix symbols-c lib_c gcc -std=c99 -O2 -x c -DXEP0077_MBEDTLS
prefix symbols-c++ lib_cxx g++ -std=c++11 -O2 -x c++ -DXEP0077_MBEDTLS

# XEP0077_STATIC promises a private copy: nothing external at all.
if tool symbols-static nm; then
  if ! obj lib_static gcc -std=c99 -O2 -x c -DXEP0077_MBEDTLS -DXEP0077_STATIC; then
    bad symbols-static "build failed (log: $OUT/lib_static.build.log)"
  else
    ext=$(nm -g --defined-only -P "$OUT/lib_static.o" | awk '{ print $1 }' | tr '\n' ' ')
    if [ -z "${ext// /}" ]; then
      ok symbols-static "XEP0077_STATIC defines no external symbol"
    else
      bad symbols-static "external symbols with XEP0077_STATIC: $ext"
    fi
  fi
fi

# The caller owns all memory: no allocator, at -O0 and at -O2 (where the
# compiler could have turned something into a library call).
HEAP='malloc|calloc|realloc|reallocarray|free|aligned_alloc|posix_memalign|memalign|valloc|pvalloc|strdup|strndup|alloca|__builtin_alloca'
if tool no-heap nm; then
  heap=""
  for o in O0 O2; do
    if ! obj "lib_$o" gcc -std=c99 "-$o" -x c; then
      heap="$heap build -$o failed (log: $OUT/lib_$o.build.log)"
      continue
    fi
    h=$(nm -u -P "$OUT/lib_$o.o" | awk '{ print $1 }' | grep -xE "$HEAP" | tr '\n' ' ')
    [ -n "$h" ] && heap="$heap -$o references: $h"
  done
  if [ -z "$heap" ]; then
    ok no-heap "-O0 and -O2 reference no allocator"
  else
    bad no-heap "${heap# }"
  fi
fi

# No global state: no writable data in the object, mbedTLS glue included.
# -fno-pic, or the tables of string pointers (static const char *const
# names[]) land in .data.rel.ro, which is writable only until relocation.
if tool no-global-state size; then
  if ! obj lib_nopic gcc -std=c99 -O2 -fno-pic -x c -DXEP0077_MBEDTLS; then
    bad no-global-state "build failed (log: $OUT/lib_nopic.build.log)"
  else
    w=$(size -A "$OUT/lib_nopic.o" | awk '$1 ~ /^\.(s?data|s?bss|tbss|tdata)/ && $2 > 0 { printf "%s %s B, ", $1, $2 }')
    if [ -z "$w" ]; then
      ok no-global-state "no .data or .bss"
    else
      bad no-global-state "writable data: ${w%, }; symbols: $(nm "$OUT/lib_nopic.o" | awk '$2 ~ /^[bBcCdDgGsS]$/ { printf "%s ", $3 }')"
    fi
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
