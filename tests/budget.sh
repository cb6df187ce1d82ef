#!/bin/sh
# tests/budget.sh -- the code-size budget of the whole library (issue 6):
# parser, writer, stream, SASL, registration and forms, compiled for a
# Cortex-M4 with -Os -mthumb, must fit in 12 KiB of .text. mbedTLS is not
# in it: the header is compiled without XEP0077_MBEDTLS (the glue is the
# host's choice, and mbedTLS is linked from its own library).
#
#   tests/budget.sh [HEADER]      report; exit 1 when over the budget
#   tests/budget.sh -v [HEADER]   also every function, largest first
#   tests/budget.sh -m [HEADER]   also the structs' sizes on every target whose
#                                 compiler is installed (README "Memory")
#
# What is counted: the header compiled alone with XEP0077_IMPLEMENTATION and
# -ffunction-sections, every function kept (no linking, so nothing is
# dropped as unused): the sum of all .text sections of the object. C library
# functions it calls (memcpy, strlen, ...) are outside it. Sizes are
# deterministic for a given compiler, so this is a check, not a benchmark.
# The per-section lines attribute each function to the section of the
# header (1. parser, 2. writer, 3. stream, 4. registration) whose
# implementation holds its first line.
#
# Env: ARM_PREFIX (arm-none-eabi-), BUDGET (12288), SIZE_CFLAGS (extra flags).
set -eu

cd "$(dirname "$0")/.."
P=${ARM_PREFIX:-arm-none-eabi-}
BUDGET=${BUDGET:-12288}
verbose=0 memory=0
HDR=xep0077.h
for a in "$@"; do
  case $a in
  -v) verbose=1 ;;
  -m) memory=1 ;;
  -*) echo "usage: $0 [-v] [-m] [HEADER]" >&2; exit 2 ;;
  *) HDR=$a ;;
  esac
done
for tool in "${P}gcc" "${P}nm" "${P}size"; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "budget.sh: $tool not found (apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi)" >&2
    exit 2
  }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
dir=$(cd "$(dirname "$HDR")" && pwd)
printf '#define XEP0077_IMPLEMENTATION\n#include "%s"\n' "$(basename "$HDR")" >"$tmp/impl.c"
# shellcheck disable=SC2086 # SIZE_CFLAGS is a list of flags
"${P}gcc" -mcpu=cortex-m4 -mthumb -Os -ffunction-sections -fdata-sections -g -std=c99 \
  -Wall -Wextra -Werror ${SIZE_CFLAGS:-} -I"$dir" -c "$tmp/impl.c" -o "$tmp/impl.o"

text=$("${P}size" -A -d "$tmp/impl.o" | awk '$1 ~ /^\.text/ { t += $2 } END { print t + 0 }')

# Section boundaries: the implementation's "---- N." banners (the second
# occurrence of each; the first is in the API part of the header).
bounds=$(awk '/^\/\* ---- [1-5]\. / { n[$3]++; if (n[$3] == 2) print NR, $3 }' "$HDR")
"${P}nm" -S -l -t d "$tmp/impl.o" | awk -v bounds="$bounds" -v verbose="$verbose" '
  BEGIN {
    k = split(bounds, b, /[ \n]/)
    for (i = 1; i + 1 <= k; i += 2) { line[++ns] = b[i] + 0; name[ns] = b[i + 1] }
    label["1."] = "parser"; label["2."] = "writer"; label["3."] = "stream + SASL"
    label["4."] = "registration + forms"; label["5."] = "mbedTLS glue"
  }
  NF >= 5 && ($3 == "t" || $3 == "T") {
    l = $5; sub(/.*:/, "", l); l += 0
    sec = "0."
    for (i = 1; i <= ns; i++) if (l >= line[i]) sec = name[i]
    sum[sec] += $2
    if (verbose) fn[++nf] = sprintf("%6d %-4s %s", $2, sec, $4)
  }
  END {
    label["0."] = "status catalogue, character tables"
    for (s in sum) printf "  %-4s %-36s %6d\n", s, label[s], sum[s] | "sort"
    close("sort")
    if (verbose) { for (i = 1; i <= nf; i++) print fn[i] | "sort -rn"; close("sort -rn") }
  }'
# sizeof per target: each struct becomes a const array of that many bytes
# and nm -S reads the size back, so a cross compiler is enough (nothing runs).
if [ "$memory" = 1 ]; then
  cat >"$tmp/sizes.c" <<'EOF'
#include "xep0077.h"
const char xep0077_sizeof_ctx[sizeof(xep0077)] = {0};
const char xep0077_sizeof_query[sizeof(xep0077_query)] = {0};
const char xep0077_sizeof_xml[sizeof(xep0077_xml)] = {0};
const char xep0077_sizeof_xmlw[sizeof(xep0077_xmlw)] = {0};
EOF
  echo "memory (bytes), target: sizeof xep0077, xep0077_query, xep0077_xml, xep0077_xmlw"
  while read -r label cc nm flags; do
    if ! command -v "$cc" >/dev/null 2>&1; then
      echo "  $label: $cc not installed"
      continue
    fi
    # shellcheck disable=SC2086 # flags is a list
    if "$cc" $flags -Os -I"$dir" -c "$tmp/sizes.c" -o "$tmp/sizes.o" 2>"$tmp/err"; then
      "$nm" -S -t d "$tmp/sizes.o" | awk -v l="$label" '
        $4 ~ /^xep0077_sizeof_/ { v[$4] = $2 + 0 }
        END { printf "  %-12s %6d %6d %6d %6d\n", l ":", v["xep0077_sizeof_ctx"],
                     v["xep0077_sizeof_query"], v["xep0077_sizeof_xml"], v["xep0077_sizeof_xmlw"] }'
    else
      echo "  $label: build failed: $(head -n 1 "$tmp/err")"
    fi
  done <<EOT
x86-64 gcc nm
i386 gcc nm -m32
armhf arm-linux-gnueabihf-gcc arm-linux-gnueabihf-nm
s390x s390x-linux-gnu-gcc s390x-linux-gnu-nm
cortex-m0+ ${P}gcc ${P}nm -mcpu=cortex-m0plus -mthumb
cortex-m4 ${P}gcc ${P}nm -mcpu=cortex-m4 -mthumb
EOT
  def() { awk -v m="$1" '$1 == "#define" && $2 == m { print $3 }' "$HDR"; }
  echo "  default buffers: receive $(def XEP0077_IN_SIZE), send $(def XEP0077_OUT_SIZE), parser $(def XEP0077_XML_SIZE) (in xep0077); query pool $(def XEP0077_QUERY_POOL)"
fi

echo "budget: whole library $text bytes .text (cortex-m4 -Os -mthumb, no mbedTLS), budget $BUDGET"
if [ "$text" -gt "$BUDGET" ]; then
  echo "budget: NOT MET, over by $((text - BUDGET)) bytes"
  exit 1
fi
echo "budget: ok, $((BUDGET - text)) bytes to spare"
