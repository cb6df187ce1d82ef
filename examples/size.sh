#!/bin/sh
# examples/size.sh -- `make size`: examples/embedded.c built for a Cortex-M4
# (firmware build: placeholder board and TLS, no mbedTLS), and what it costs.
#
#   examples/size.sh        report
#   examples/size.sh -v     also list the library symbols counted
#
# Prints the ELF's .text/.rodata/.data/.bss (arm-none-eabi-size -A), then
#   embedded (cortex-m4 -Os): code <text+rodata> bytes, RAM <data+bss> bytes
#   library code: N bytes
# where N sums the sizes (arm-none-eabi-nm -S) of the symbols named xep0077*
# that survived --gc-sections: functions and const tables. Private helpers
# that -Os inlined are inside their callers' sizes; string literals have no
# symbol and are not counted (they are in .rodata above). The ELF's totals
# include newlib's start-up code and the C functions the library calls
# (memcpy, strlen, ...).
#
# Last, the heap check: the header alone, compiled with
# -DXEP0077_IMPLEMENTATION and without XEP0077_MBEDTLS, must reference no
# malloc, calloc, realloc or free; its undefined symbols are listed. Exits 1
# when the check or a build fails.
#
# Env: ARM_PREFIX (arm-none-eabi-), SIZE_CFLAGS (extra compiler flags).
set -eu

cd "$(dirname "$0")/.."
P=${ARM_PREFIX:-arm-none-eabi-}
EXTRA=${SIZE_CFLAGS:-}
verbose=0
for a in "$@"; do
  case $a in
  -v) verbose=1 ;;
  *) echo "usage: $0 [-v]" >&2; exit 2 ;;
  esac
done
for tool in "${P}gcc" "${P}nm" "${P}size"; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "size.sh: $tool not found (apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi)" >&2
    exit 1
  }
done

mkdir -p build
ELF=build/embedded-m4.elf
CPU="-mcpu=cortex-m4 -mthumb"
# shellcheck disable=SC2086 # EXTRA is a list of flags
"${P}gcc" $CPU -Os -ffunction-sections -fdata-sections -std=c99 -Wall -Wextra -Werror -I. \
  $EXTRA examples/embedded.c -Wl,--gc-sections --specs=nosys.specs -o "$ELF"

echo "$ELF (arm-none-eabi-gcc $CPU -Os, --gc-sections, newlib nosys):"
"${P}size" -A "$ELF" | awk '
  $1 == ".text" || $1 == ".rodata" || $1 == ".data" || $1 == ".bss" {
    printf "  %-8s %7d\n", $1, $2; s[$1] = $2
  }
  END {
    printf "embedded (cortex-m4 -Os): code %d bytes, RAM %d bytes\n",
      s[".text"] + s[".rodata"], s[".data"] + s[".bss"]
  }'

# Where the RAM goes: the largest objects in .data and .bss. nm -S prints
# sizes in hex; sh arithmetic reads 0x constants.
nm_out=$("${P}nm" -S --size-sort "$ELF")
ram=$(printf '%s\n' "$nm_out" | awk '$3 ~ /^[dDbB]$/ { print $2, $4 }' | tail -n 4)
line=""
while read -r size name; do
  [ -n "$name" ] && line=" $name $((0x$size))$line"
done <<EOF
$ram
EOF
echo "  RAM, largest:$line"

total=0 code=0 tables=0
while read -r _addr size type name; do
  case $name in xep0077*) ;; *) continue ;; esac
  n=$((0x$size))
  case $type in
  [tT]) code=$((code + n)) ;;
  [rR]) tables=$((tables + n)) ;;
  *) continue ;; # no library symbol should be data or bss: the library has no globals
  esac
  total=$((total + n))
  [ "$verbose" = 1 ] && printf '  %6d %s %s\n' "$n" "$type" "$name"
done <<EOF
$nm_out
EOF
echo "library code: $total bytes ($code in functions, $tables in const tables; strings not counted)"
libdata=$(printf '%s\n' "$nm_out" | awk '$3 ~ /^[dDbB]$/ && $4 ~ /^xep0077/' | wc -l)
if [ "$libdata" -ne 0 ]; then
  echo "size.sh: the library has writable globals:" >&2
  printf '%s\n' "$nm_out" | awk '$3 ~ /^[dDbB]$/ && $4 ~ /^xep0077/' >&2
  exit 1
fi

# The heap check, on the header alone.
OBJ=build/xep0077-m4.o
printf '#define XEP0077_IMPLEMENTATION\n#include "xep0077.h"\n' >build/xep0077-m4.c
# shellcheck disable=SC2086
"${P}gcc" $CPU -Os -ffunction-sections -fdata-sections -std=c99 -Wall -Wextra -Werror -I. \
  $EXTRA -c build/xep0077-m4.c -o "$OBJ"
undef=$("${P}nm" -u "$OBJ" | awk '{print $2}')
echo "library undefined symbols (header alone, -DXEP0077_IMPLEMENTATION, no XEP0077_MBEDTLS):" \
  "$(printf '%s\n' "$undef" | tr '\n' ' ')"
if printf '%s\n' "$undef" | grep -qx __assert_func; then
  echo "  (__assert_func is the default XEP0077_ASSERT; embedded.c sets its own, so the ELF has none)"
fi
heap=$(printf '%s\n' "$undef" | grep -E '^(malloc|calloc|realloc|free|_malloc_r|_calloc_r|_realloc_r|_free_r)$' || true)
if [ -n "$heap" ]; then
  echo "heap: FAIL, the library references: $heap"
  exit 1
fi
echo "heap: ok, no malloc/calloc/realloc/free referenced"
# And the whole firmware image: nothing pulled in a heap or stdio.
bad=$(printf '%s\n' "$nm_out" | awk '{print $NF}' | grep -xE \
  '(_?malloc(_r)?|_?calloc(_r)?|_?realloc(_r)?|_?free(_r)?|_?v?f?i?printf(_r)?|_?puts(_r)?|_?fputs(_r)?|__assert_func)' || true)
if [ -n "$bad" ]; then
  echo "firmware image: FAIL, links: $(printf "%s " "$bad")"
  exit 1
fi
echo "firmware image: ok, no malloc/free and no printf/puts/assert in $ELF"
