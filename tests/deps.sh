#!/usr/bin/env bash
# tests/deps.sh PKG... -- make sure the named Debian packages are usable.
#
# Each package is probed by what we actually use from it (a command or a
# file), not by dpkg's records, so a tool installed another way counts too.
# When something is missing: as root, install it (apt-get update && apt-get
# install -y); otherwise print "missing: apt-get install PKG..." and exit 1.
set -u

# A probe is "cmd NAME" (a command on PATH) or "file GLOB" (a file exists).
probe_for() {
  case "$1" in
    gcc)                     echo "cmd gcc" ;;
    g++)                     echo "cmd g++" ;;
    clang)                   echo "cmd clang" ;;
    make)                    echo "cmd make" ;;
    valgrind)                echo "cmd valgrind" ;;
    libexpat1-dev)           echo "file /usr/include/expat.h" ;;
    # libFuzzer and the sanitizer runtimes of Debian 12's clang 14
    libclang-rt-14-dev)      echo "file /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" ;;
    llvm)                    echo "cmd llvm-symbolizer" ;;
    prosody)                 echo "cmd prosody" ;;
    libmbedtls-dev)          echo "file /usr/include/mbedtls/ssl.h" ;;
    openssl)                 echo "cmd openssl" ;;
    gcc-arm-none-eabi)       echo "cmd arm-none-eabi-gcc" ;;
    libnewlib-arm-none-eabi) echo "file /usr/lib/arm-none-eabi/newlib/libc.a" ;;
    *)                       echo "dpkg $1" ;;
  esac
}

have() {
  local kind what f
  read -r kind what <<<"$(probe_for "$1")"
  case "$kind" in
    cmd)  command -v "$what" >/dev/null 2>&1 ;;
    file) for f in $what; do [ -e "$f" ] && return 0; done; return 1 ;;
    dpkg) dpkg-query -W -f='${Status}' "$what" 2>/dev/null | grep -q 'ok installed' ;;
  esac
}

missing_pkgs() {
  local p out=""
  for p in "$@"; do have "$p" || out="$out $p"; done
  echo "${out# }"
}

missing=$(missing_pkgs "$@")
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  echo "installing: $missing"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # one word per package
  { apt-get update || echo "deps.sh: apt-get update failed; installing from the lists there are" >&2
    apt-get install -y $missing; } </dev/null >&2
  missing=$(missing_pkgs $missing)
  [ -z "$missing" ] && exit 0
fi
echo "missing: apt-get install $missing"
exit 1
