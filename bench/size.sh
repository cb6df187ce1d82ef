#!/bin/sh
# Code size of the XML layer (parser + writer + status strings) on a
# Cortex-M4, and the size of the two context structs on host and target.
#
#   bench/size.sh            report
#   bench/size.sh -v         also list every symbol counted
#   bench/size.sh --check    exit 1 when .text is over 4096 bytes
#
# What is counted: the header is compiled once with the implementation and
# -ffunction-sections -fdata-sections, then linked with --gc-sections keeping
# only the XML layer's public functions (xep0077_xml_*, xep0077_xmlw_*,
# xep0077_strerror, xep0077_status_name). What survives is exactly what those
# functions reach: their private helpers, tables and strings, whatever they
# are named, and none of the XMPP/registration code sharing the header. C
# library calls (memcpy, strlen, ...) are left unresolved and not counted;
# they are listed. .rodata includes the one status catalogue that the whole
# library shares, since xep0077_strerror reaches every message in it. The sum over symbols whose *names* start with the XML
# prefixes is printed too: it misses the private helpers.
#
# Env: ARM_PREFIX (arm-none-eabi-), HOST_CC (cc), SIZE_CFLAGS (extra flags,
# e.g. -DNDEBUG), XML_API (extended regex of the XML layer's entry points).
set -eu

cd "$(dirname "$0")/.."
P=${ARM_PREFIX:-arm-none-eabi-}
HOST_CC=${HOST_CC:-cc}
API=${XML_API:-'^(xep0077_xml_|xep0077_xmlw_|xep0077_strerror$|xep0077_status_name$)'}
NAMED='^(xep0077_xml|xep0077__xml|xep0077_strerror|xep0077_status_name|xep0077__status)'
LIMIT=4096
CPU="-mthumb -mcpu=cortex-m4"
FLAGS="-Os $CPU -ffunction-sections -fdata-sections"
verbose=0 check=0
for a in "$@"; do
  case $a in
  -v) verbose=1 ;;
  --check) check=1 ;;
  *) echo "usage: $0 [-v] [--check]" >&2; exit 2 ;;
  esac
done

for tool in "${P}gcc" "${P}nm" "${P}size"; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "size.sh: $tool not found (apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)" >&2
    exit 2
  }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

printf '#define XEP0077_IMPLEMENTATION\n#include "xep0077.h"\n' >"$tmp/impl.c"
# shellcheck disable=SC2086 # word splitting of the flag lists is intended
"${P}gcc" $FLAGS ${SIZE_CFLAGS:-} -I. -c "$tmp/impl.c" -o "$tmp/impl.o"

entries=$("${P}nm" -g --defined-only "$tmp/impl.o" | awk -v re="$API" '$3 ~ re { print $3 }')
[ -n "$entries" ] || { echo "size.sh: no XML layer symbols in the object" >&2; exit 1; }
keep=""
first=""
for s in $entries; do
  keep="$keep -Wl,-u,$s"
  [ -n "$first" ] || first=$s
done
# shellcheck disable=SC2086
"${P}gcc" $CPU -nostdlib -Wl,--gc-sections -Wl,-e,"$first" \
  -Wl,--unresolved-symbols=ignore-all $keep "$tmp/impl.o" -o "$tmp/xml.elf"

sect() { "${P}size" -A -d "$tmp/xml.elf" | awk -v s="$1" '$1 == s { n = $2 } END { print n + 0 }'; }
text=$(sect .text)
rodata=$(sect .rodata)
data=$(($(sect .data) + $(sect .bss)))

if [ "$verbose" = 1 ]; then
  echo "symbols linked (bytes, nm type, name):"
  "${P}nm" -S --size-sort -t d "$tmp/xml.elf" | awk 'NF == 4 { printf "  %6d %s %s\n", $2, $3, $4 }'
fi
echo "entry points: $(echo "$entries" | wc -l | tr -d ' ') ($(echo "$entries" | tr '\n' ' ' | sed 's/ $//'))"
echo "C library calls (not counted): $("${P}nm" -u "$tmp/xml.elf" | awk '{ printf "%s%s", sep, $2; sep = " " }')"
strs=$("${P}size" -A -d "$tmp/impl.o" | awk '$1 ~ /\.str1\./ { s += $2 } END { print s + 0 }')
echo "xml layer, linked: .text $text, .rodata $rodata, .text+.rodata $((text + rodata)), .data+.bss $data"
echo "  (.rodata holds the whole status catalogue, XMPP codes included: strerror and"
echo "   status_name reach every name and message; string literals in the object: $strs)"
"${P}nm" -S -t d "$tmp/impl.o" | awk -v re="$NAMED" '
  NF == 4 && $4 ~ re { t = tolower($3); if (t == "t") x += $2; else if (t == "r") r += $2 }
  END { printf "xml layer, by name prefix only (misses private helpers): .text %d, .rodata %d\n", x, r }'
echo "whole object ($FLAGS${SIZE_CFLAGS:+ $SIZE_CFLAGS}):"
"${P}size" -B -d "$tmp/impl.o" | sed 's/^/  /'
echo "size: parser+writer $text bytes .text (cortex-m4 -Os -mthumb)"

# sizeof: each struct becomes a const array of that many bytes; nm -S
# reads its size back. Works for a cross target with nothing to run.
cat >"$tmp/sizes.c" <<'EOF'
#include "xep0077.h"
const char xep0077_sizeof_xml[sizeof(xep0077_xml)] = {0};
const char xep0077_sizeof_xmlw[sizeof(xep0077_xmlw)] = {0};
EOF
sizes() { # nm output -> "sizeof(...) N, sizeof(...) M"
  awk '$4 == "xep0077_sizeof_xml" { a = $2 + 0 }
       $4 == "xep0077_sizeof_xmlw" { b = $2 + 0 }
       END { printf "sizeof(xep0077_xml) %d, sizeof(xep0077_xmlw) %d", a, b }'
}
# shellcheck disable=SC2086
"${P}gcc" $FLAGS ${SIZE_CFLAGS:-} -I. -c "$tmp/sizes.c" -o "$tmp/sizes_arm.o"
# shellcheck disable=SC2086
"$HOST_CC" -O2 ${SIZE_CFLAGS:-} -I. -c "$tmp/sizes.c" -o "$tmp/sizes_host.o"
echo "host ($(uname -m)): $(nm -S -t d "$tmp/sizes_host.o" | sizes)"
echo "cortex-m4:     $("${P}nm" -S -t d "$tmp/sizes_arm.o" | sizes)"

if [ "$text" -gt "$LIMIT" ]; then
  echo "size: over the $LIMIT byte target by $((text - LIMIT)) bytes"
  [ "$check" = 1 ] && exit 1
fi
exit 0
