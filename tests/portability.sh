#!/usr/bin/env bash
# tests/portability.sh -- the portability matrix (tests/run.sh calls it).
#
# The unit suites that need no network (test_xml on the golden documents in
# tests/xml, test_stream, test_register) are built with -Werror and run on:
#   x86_64-gcc, x86_64-clang  this machine
#   i386-m32                  gcc -m32, run natively (32-bit, little-endian)
#   armhf-qemu                arm-linux-gnueabihf-gcc, run under qemu-arm
#                             (32-bit ARMv7, char is unsigned)
#   s390x-qemu                s390x-linux-gnu-gcc, run under qemu-s390x
#                             (64-bit big-endian)
# and the header alone is compiled (not run) for Cortex-M0+ and Cortex-M4
# with arm-none-eabi-gcc, as C99 with gcc and clang, and as C++11 with g++
# and clang++.
#
# test_stream and test_register link mbedTLS for their crypto. The cross
# targets get it from Debian's multiarch packages (libmbedtls-dev:armhf,
# :s390x, :i386), so as root this script adds those architectures to dpkg.
# If a target's libmbedtls-dev:ARCH cannot be installed, its test_xml still
# runs and its two other suites fail with the reason.
#
# Output: one line per target, "ok TARGET (detail)" or "FAIL TARGET: reason",
# then "N passed, N failed". A target is one suite built and run on one
# platform, or one header build; it counts 1 however many checks the suite
# ran (tests/run.sh already adds every check of these suites on this
# machine; here the question is "does it build and pass there"). The
# suite's own count is shown in the ok line. Exit 1 if any target failed.
# Logs and binaries: build/portability/.
#
# Environment: TEST_TIMEOUT (seconds per test program, 300). CC, CFLAGS and
# friends are not used: every target names its own compiler, and host flags
# (e.g. sanitizers) would break the cross builds.
set -u
cd "$(dirname "$0")/.." || exit 1

TEST_TIMEOUT=${TEST_TIMEOUT:-300}
OUT=build/portability
rm -rf "$OUT" # never run a program left over from an earlier build
mkdir -p "$OUT"

WARN="-std=c99 -Wall -Wextra -Werror -pedantic"
POSIX="-D_POSIX_C_SOURCE=200809L"
MBED="-lmbedtls -lmbedx509 -lmbedcrypto"
# 32-bit builds read tests/xml with 64-bit directory offsets: under
# qemu-user the host kernel hands a 32-bit guest ext4's 64-bit readdir
# cookies, and a non-LFS readdir() then fails with EOVERFLOW (test_xml finds
# "0 golden documents"). This is about the test harness, not the library.
LFS="-D_FILE_OFFSET_BITS=64"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok $1${2:+ ($2)}"; }
bad() { failed=$((failed + 1)); echo "FAIL $1: $2"; }

# ---- tools ----------------------------------------------------------------
# Why a target cannot be built, by group of packages; empty when usable.
declare -A why
DEPS_LOG="$OUT/deps.log"

# need GROUP PKG... : make the packages usable with tests/deps.sh. One call
# per group, because deps.sh installs its list in one apt-get: a package
# that cannot be had must not keep the other targets' tools away.
need() {
  local group=$1 out
  shift
  if out=$(bash tests/deps.sh "$@" 2>>"$DEPS_LOG"); then
    why[$group]=""
    return 0
  fi
  echo "$out" >>"$DEPS_LOG"
  out=$(echo "$out" | grep '^missing:' | tail -n 1)
  why[$group]=${out:-"tests/deps.sh $* failed (see $DEPS_LOG)"}
}

# dpkg must know a foreign architecture before apt can install its
# packages; deps.sh runs apt-get update when something is missing, which
# the :ARCH packages then are.
if [ "$(id -u)" = 0 ]; then
  for arch in armhf s390x i386; do
    dpkg --print-foreign-architectures 2>/dev/null | grep -qx "$arch" ||
      dpkg --add-architecture "$arch" 2>>"$DEPS_LOG"
  done
fi

need host gcc clang g++ libmbedtls-dev
need eabi gcc-arm-none-eabi libnewlib-arm-none-eabi
need armhf gcc-arm-linux-gnueabihf qemu-user
need armhf_mbed libmbedtls-dev:armhf
need s390x gcc-s390x-linux-gnu qemu-user
need s390x_mbed libmbedtls-dev:s390x
need i386_mbed libmbedtls-dev:i386

# gcc -m32 needs the 32-bit libgcc and crt files. They come without the
# gcc-multilib meta package on purpose: gcc-multilib conflicts with every
# gcc-*-linux-gnu cross compiler, and apt would remove the ARM and s390x
# compilers to install it (it arrives as a Recommends of libc6-dev-i386,
# hence --no-install-recommends, which deps.sh does not pass).
m32_links() {
  printf 'int main(void) { return 0; }\n' |
    gcc -m32 -x c - -o "$OUT/m32_probe" >/dev/null 2>&1
}
GCCV=$(gcc -dumpversion 2>/dev/null | cut -d. -f1)
M32_PKGS="lib32gcc-${GCCV:-12}-dev libc6-dev-i386"
if ! m32_links && [ "$(id -u)" = 0 ]; then
  # shellcheck disable=SC2086 # one word per package
  { apt-get install -y --no-install-recommends $M32_PKGS ||
    { apt-get update && apt-get install -y --no-install-recommends $M32_PKGS; }; } \
    </dev/null >>"$DEPS_LOG" 2>&1
fi
if m32_links; then
  why[i386]=""
else
  why[i386]="gcc -m32 cannot link: apt-get install --no-install-recommends $M32_PKGS"
fi

# ---- the suites on each platform ------------------------------------------
# suites PLATFORM CC_GROUP MBED_GROUP RUNNER COMPILER [FLAGS...] : build and
# run test_xml, test_stream and test_register. RUNNER is empty (native) or
# the qemu command.
suites() {
  local plat=$1 ccg=$2 mbg=$3 runner=$4
  shift 4
  local s t bin log rc line p f t0 reason args
  for s in test_xml test_stream test_register; do
    t="$plat/$s"
    if [ -n "${why[$ccg]}" ]; then
      bad "$t" "${why[$ccg]}"
      continue
    fi
    if [ "$s" != test_xml ] && [ -n "${why[$mbg]}" ]; then
      bad "$t" "needs mbedTLS for this platform, not installable: ${why[$mbg]}"
      continue
    fi
    bin="$OUT/$plat-$s"
    log="$bin.build.log"
    # shellcheck disable=SC2086 # flag lists split into words on purpose
    if ! "$@" $WARN $POSIX -O2 -g -I. "tests/$s.c" -o "$bin" $MBED >"$log" 2>&1; then
      reason=$(grep -m 1 -E 'error|undefined reference' "$log")
      bad "$t" "build failed: ${reason:-$(tail -n 1 "$log")} (log: $log)"
      continue
    fi
    args=() # test_xml alone takes an argument: the golden documents
    [ "$s" = test_xml ] && args=(tests/xml)
    t0=$SECONDS
    # (in a subshell, so a crash is reported once, by us, not also by bash)
    # shellcheck disable=SC2086 # RUNNER is a command and its options, or nothing
    (timeout "$TEST_TIMEOUT" $runner "$bin" "${args[@]}" >"$bin.out" 2>"$bin.err" \
      </dev/null) 2>/dev/null
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$bin.out" | tail -n 1)
    if [ "$rc" -eq 124 ]; then
      bad "$t" "timed out after ${TEST_TIMEOUT}s (output: $bin.out)"
    elif [ -z "$line" ]; then
      reason=$(tail -n 1 "$bin.err")
      bad "$t" "exit code $rc and no 'N passed, N failed' line${reason:+: $reason} (output: $bin.out, $bin.err)"
    else
      p=${line%% passed*}
      f=${line#*passed, }
      f=${f%% failed}
      if [ "$f" -gt 0 ]; then
        reason=$(grep -m 1 '^FAIL' "$bin.out")
        bad "$t" "$f of $((p + f)) checks failed${reason:+, first: $reason} (output: $bin.out)"
      elif [ "$rc" -ne 0 ]; then
        bad "$t" "exit code $rc after reporting $p passed, 0 failed (stderr: $bin.err)"
      else
        ok "$t" "$p checks, $((SECONDS - t0))s"
      fi
    fi
  done
}

# header TARGET GROUP VARIANT COMPILER [FLAGS...] : compile xep0077.h alone
# with XEP0077_IMPLEMENTATION, once as it is and once with VARIANT (-D...).
header() {
  local t=$1 g=$2 variant=$3 log="$OUT/$1.log" v reason detail=""
  shift 3
  if [ -n "${why[$g]}" ]; then
    bad "$t" "${why[$g]}"
    return
  fi
  for v in "" "$variant"; do
    # shellcheck disable=SC2086 # an empty variant is no argument
    if ! "$@" $v -DXEP0077_IMPLEMENTATION -c xep0077.h -o "$OUT/$t.o" >"$log" 2>&1; then
      reason=$(grep -m 1 -E 'error' "$log")
      bad "$t" "${reason:-$(tail -n 1 "$log")}${v:+ (with $v)} (log: $log)"
      return
    fi
  done
  # For the microcontrollers, what a firmware pays in flash: size's "text"
  # column, which is code and read-only data (.text + .rodata) together.
  case "$1" in
    arm-none-eabi-*) detail="flash (.text+.rodata) $(arm-none-eabi-size "$OUT/$t.o" | awk 'NR == 2 { print $1 }') B with $variant, " ;;
  esac
  ok "$t" "${detail}as is and with $variant"
}

# Host (x86-64).
suites x86_64-gcc host host "" gcc
suites x86_64-clang host host "" clang
# i386: 32-bit little-endian, run natively; mbedTLS from libmbedtls-dev:i386.
suites i386-m32 i386 i386_mbed "" gcc -m32 $LFS
# ARM and s390x run under qemu-user. The binaries are static: the cross
# libc (libc6-armhf-cross, 2.36-8cross1 on Debian 12) and the multiarch
# libc6:armhf that libmbedtls-dev:armhf pulls in (2.36-9+deb12u*) are
# different builds, and "qemu-arm -L /usr/arm-linux-gnueabihf" loads the
# first one's ld.so with the second one's libc.so.6 (ld.so finds it on the
# host's multiarch path): every s390x program, even hello-world, dies with
# "stack smashing detected", and test_register on ARM crashes. Static
# binaries carry one libc and need no -L at all.
suites armhf-qemu armhf armhf_mbed qemu-arm arm-linux-gnueabihf-gcc -static $LFS
suites s390x-qemu s390x s390x_mbed qemu-s390x s390x-linux-gnu-gcc -static

# Microcontrollers: compile only (no mbedTLS there: the firmware brings its
# own TLS). -Wcast-align=strict because Cortex-M0+ faults on an unaligned
# access; -Wconversion because size_t and long are 32-bit there. NDEBUG is
# how firmware builds (the header's default assert pulls in newlib's stdio).
EABI="-x c -std=c99 -Os -Wall -Wextra -Werror -pedantic -Wcast-align=strict \
-Wconversion -Wsign-conversion -Wdouble-promotion"
# shellcheck disable=SC2086
header arm-none-eabi-cortex-m0plus eabi -DNDEBUG \
  arm-none-eabi-gcc -mcpu=cortex-m0plus -mthumb $EABI
# shellcheck disable=SC2086
header arm-none-eabi-cortex-m4 eabi -DNDEBUG \
  arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 $EABI

# The header as C99 and as C++11, with and without the mbedTLS glue.
# shellcheck disable=SC2086
header header-c99-gcc host -DXEP0077_MBEDTLS gcc -x c $WARN
# shellcheck disable=SC2086
header header-c99-clang host -DXEP0077_MBEDTLS clang -x c $WARN
header header-c++11-g++ host -DXEP0077_MBEDTLS \
  g++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic
header header-c++11-clang++ host -DXEP0077_MBEDTLS \
  clang++ -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
