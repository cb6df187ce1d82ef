# Makefile for xep0077.h (GNU make). `make test` is the test command.
#
#   make test    every check: compiles, unit tests, sanitizers, valgrind,
#                C++, expat differential, short fuzz runs (tests/run.sh)
#   make fuzz    the three fuzzers (parser, writer, whole client), and parser and client again built
#                with XEP0077_SMALL, for FUZZ_SECONDS each; FUZZ_MERGE=1 merges new
#                coverage into the committed corpus fuzz/corpus/
#   make demo    a throwaway prosody on 127.0.0.1, then examples/xmpp-register
#                through the whole account lifecycle (examples/demo.sh)
#   make bench   parse speed against expat, code size (bench/size.sh), then
#                200 registration lifecycles in one thread (bench/load.sh)
#   make size    the embedded example for Cortex-M4: code and RAM
#   make examples  build the three examples for this machine
#   make clean
#
# Overridable: CC, CXX, CLANG, CFLAGS (added to every build), FUZZ_SECONDS,
# FUZZ_SMOKE (seconds per fuzzer in `make test`), FUZZ_MERGE.

ifeq ($(origin CC),default)
CC = gcc
endif
ifeq ($(origin CXX),default)
CXX = g++
endif
CLANG ?= clang
CFLAGS ?=
FUZZ_SECONDS ?= 60
FUZZ_SMOKE ?= 20
FUZZ_MERGE ?= 0

B = build
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

export CC CXX CLANG CFLAGS FUZZ_SMOKE

.PHONY: test demo size examples fuzz fuzz-parser fuzz-writer fuzz-client fuzz-parser-small \
  fuzz-client-small bench clean

test:
	@bash tests/run.sh

# demo.sh installs what is missing first, then builds: no prerequisites here.
demo:
	@bash examples/demo.sh

size:
	@sh examples/size.sh

EXFLAGS = -std=c99 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -pedantic -I.
MBEDLIBS = -lmbedtls -lmbedx509 -lmbedcrypto
examples: examples/xmpp-register $(B)/embedded $(B)/game_loop

examples/xmpp-register: examples/xmpp-register.c xep0077.h
	$(CC) $(EXFLAGS) $(CFLAGS) $< -o $@ $(MBEDLIBS)

$(B)/embedded: examples/embedded.c xep0077.h
	@mkdir -p $(B)
	$(CC) $(EXFLAGS) $(CFLAGS) -DEMBEDDED_HOST_DEMO $< -o $@ $(MBEDLIBS)

$(B)/game_loop: examples/game_loop.c xep0077.h
	@mkdir -p $(B)
	$(CC) $(EXFLAGS) $(CFLAGS) $< -o $@ $(MBEDLIBS)

fuzz: fuzz-parser fuzz-writer fuzz-client fuzz-parser-small fuzz-client-small

# New inputs land in build/corpus/NAME, crashes in build/crashes/.
fuzz-parser fuzz-writer fuzz-client: fuzz-%: $(B)/fuzz_%
	@mkdir -p $(B)/corpus/$* $(B)/crashes
	$< -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	  -artifact_prefix=$(B)/crashes/$*- $(B)/corpus/$* fuzz/corpus/$*
ifeq ($(FUZZ_MERGE),1)
	$< -merge=1 fuzz/corpus/$* $(B)/corpus/$*
endif

# The same targets built with XEP0077_SMALL: the byte-by-byte paths a
# firmware build (-Os) runs instead of the -O2 speed paths. Same corpus.
fuzz-parser-small fuzz-client-small: fuzz-%-small: $(B)/fuzz_%_small
	@mkdir -p $(B)/corpus/$* $(B)/crashes
	$< -max_total_time=$(FUZZ_SECONDS) -timeout=10 -print_final_stats=1 \
	  -artifact_prefix=$(B)/crashes/$*-small- $(B)/corpus/$* fuzz/corpus/$*
ifeq ($(FUZZ_MERGE),1)
	$< -merge=1 fuzz/corpus/$* $(B)/corpus/$*
endif

$(B)/fuzz_%: fuzz/fuzz_%.c fuzz/xmlcheck.h xep0077.h
	@mkdir -p $(B)
	$(CLANG) $(FUZZ_FLAGS) $(CFLAGS) -I. $< -o $@ $(MBEDLIBS)

$(B)/fuzz_%_small: fuzz/fuzz_%.c fuzz/xmlcheck.h xep0077.h
	@mkdir -p $(B)
	$(CLANG) $(FUZZ_FLAGS) -DXEP0077_SMALL $(CFLAGS) -I. $< -o $@ $(MBEDLIBS)

bench: $(B)/bench_parse
	$(B)/bench_parse
	bash bench/size.sh
	bash bench/load.sh

$(B)/bench_parse: bench/bench_parse.c xep0077.h
	@mkdir -p $(B)
	$(CC) -std=c99 -O2 $(CFLAGS) -I. $< -o $@ -lexpat

clean:
	rm -rf $(B)
