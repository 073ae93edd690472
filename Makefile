# Makefile - a thin wrapper over CMake and ctest. CMakeLists.txt is the build; this file only
# names the everyday commands. See README.md, "Development".
#
#   make deps       install missing Debian packages (scripts/deps.sh; does nothing when all present)
#   make build      configure and build in build/ (RelWithDebInfo)
#   make run        build, then run the worker in the foreground on ~/.mnemo (or $MNEMO_HOME):
#                   Unix socket $MNEMO_HOME/mnemo.sock, TCP 127.0.0.1:37777; Ctrl-C stops it
#   make test       the suite in build/, the concurrency tests under TSan in build-tsan/, then
#                   the whole suite under ASan+UBSan in build-asan/ (its ctest summary prints last)
#   make bench      build and run every build/bench_* program
#   make fmt        clang-format the sources in place; make fmt-check only reports
#   make clean      remove the build directories

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := build

JOBS ?= 2
# The sanitizer builds use clang, so every `make test` also proves the tree warning-free with
# both compilers (the normal build uses the default cc, gcc on Debian).
SAN_CC ?= clang
# Sanitizer builds keep assertions on (Debug) but optimize a little so timing tests stay
# meaningful.
SAN_CMAKE_FLAGS := -DCMAKE_C_COMPILER=$(SAN_CC) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1"
# The ASan build also builds the fuzzers (fuzz/, clang's libFuzzer): its ctest run replays
# each fuzz/corpus/<target> and fuzzes it for MNEMO_FUZZ_SECONDS (60 by default) as the tests
# fuzz_<target> (label fuzz).
ASAN_FUZZ_FLAGS := -DMNEMO_FUZZ=ON

# Any sanitizer report fails the test that triggered it.
ASAN_ENV := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:print_stacktrace=1:strict_string_checks=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
TSAN_ENV := TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

# TSan maps its shadow memory at fixed addresses; with a kernel that randomizes mmap more than
# the runtime expects, a program's mappings can land there and TSan aborts with "unexpected
# memory mapping" before any test runs. setarch -R turns address randomization off for ctest
# and every process it starts, where the kernel allows it.
ARCH := $(shell uname -m)
TSAN_RUN := $(shell setarch $(ARCH) -R true >/dev/null 2>&1 && echo setarch $(ARCH) -R)

FMT_FILES = $(shell find src tests bench fuzz -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | sort)

.PHONY: deps build run test test-normal test-tsan test-asan bench fmt fmt-check clean

deps:
	scripts/deps.sh

define build_normal
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build -j$(JOBS)
endef

define run_tests_normal
	$(build_normal)
	ctest --test-dir build --output-on-failure
endef

define run_tests_tsan
	cmake -S . -B build-tsan $(SAN_CMAKE_FLAGS) -DMNEMO_SANITIZE=thread
	cmake --build build-tsan -j$(JOBS)
	$(TSAN_ENV) $(TSAN_RUN) ctest --test-dir build-tsan -L concurrency --no-tests=error --output-on-failure
endef

define run_tests_asan
	cmake -S . -B build-asan $(SAN_CMAKE_FLAGS) -DMNEMO_SANITIZE=address,undefined $(ASAN_FUZZ_FLAGS)
	cmake --build build-asan -j$(JOBS)
	$(ASAN_ENV) ctest --test-dir build-asan --output-on-failure
endef

build: deps
	$(build_normal)

# The worker creates the home and the database when they are missing. exec: Ctrl-C and
# SIGTERM reach the worker itself, which stops cleanly.
run: build
	exec ./build/mnemo serve

# The ASan+UBSan run of the whole suite comes last, so its ctest summary is the last line.
test: deps
	$(run_tests_normal)
	$(run_tests_tsan)
	$(run_tests_asan)

test-normal: deps
	$(run_tests_normal)

test-tsan: deps
	$(run_tests_tsan)

test-asan: deps
	$(run_tests_asan)

# sqlite-vec (npm, pinned) is fetched first for bench_memory's comparison; without it (no npm,
# offline) bench_memory reports it as unavailable and every benchmark still runs.
bench: build
	@vec0=$$(bench/sqlite_vec.sh build) || vec0=; \
	export MNEMO_BENCH_VEC0="$$vec0"; \
	found=0; \
	for b in build/bench_*; do \
		if [[ -f "$$b" && -x "$$b" ]]; then \
			found=1; echo "== $$b"; "$$b"; \
		fi; \
	done; \
	if [[ $$found -eq 0 ]]; then echo "make bench: no benchmarks (bench/bench_*.c) to run"; fi

fmt: deps
	clang-format -i $(FMT_FILES)

fmt-check: deps
	clang-format --dry-run --Werror $(FMT_FILES)

clean:
	rm -rf build build-tsan build-asan

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary built by `make build`, the Claude Code
# plugin folder (integrations/claude-code, whose bin/mnemo-exec finds PREFIX/bin/mnemo) and the
# man page. make uninstall removes exactly those. Neither builds: run `make build` first, as
# yourself, so that `sudo make install` only copies.
PREFIX ?= /usr/local
DESTDIR ?=
# The binary to install (the tests install the one they were built with), and the full binary
# it runs every command but `hook` with (src/front/main.c), which goes to libexec.
INSTALL_BIN ?= build/mnemo
INSTALL_CORE = $(dir $(INSTALL_BIN))mnemo-core
MNEMO_LIBEXEC_DIR = $(DESTDIR)$(PREFIX)/libexec/mnemo
MNEMO_PLUGIN_DIR = $(DESTDIR)$(PREFIX)/share/mnemo/claude-code

.PHONY: install uninstall

install:
	@if [[ ! -x "$(INSTALL_BIN)" ]]; then echo "make install: $(INSTALL_BIN) is missing; run 'make build' first" >&2; exit 1; fi
	@if [[ ! -x "$(INSTALL_CORE)" ]]; then echo "make install: $(INSTALL_CORE) is missing; run 'make build' first" >&2; exit 1; fi
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(MNEMO_LIBEXEC_DIR)
	install -m 0755 "$(INSTALL_CORE)" $(MNEMO_LIBEXEC_DIR)/mnemo-core
	install -d $(MNEMO_PLUGIN_DIR)/.claude-plugin $(MNEMO_PLUGIN_DIR)/hooks $(MNEMO_PLUGIN_DIR)/bin
	install -m 0755 "$(INSTALL_BIN)" $(DESTDIR)$(PREFIX)/bin/mnemo
	install -m 0644 integrations/claude-code/.claude-plugin/plugin.json $(MNEMO_PLUGIN_DIR)/.claude-plugin/plugin.json
	install -m 0644 integrations/claude-code/hooks/hooks.json $(MNEMO_PLUGIN_DIR)/hooks/hooks.json
	install -m 0644 integrations/claude-code/.mcp.json $(MNEMO_PLUGIN_DIR)/.mcp.json
	install -m 0644 integrations/claude-code/README.md $(MNEMO_PLUGIN_DIR)/README.md
	install -m 0755 integrations/claude-code/bin/mnemo-exec $(MNEMO_PLUGIN_DIR)/bin/mnemo-exec
	install -m 0644 docs/mnemo.1 $(DESTDIR)$(PREFIX)/share/man/man1/mnemo.1

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mnemo $(DESTDIR)$(PREFIX)/share/man/man1/mnemo.1
	rm -f $(MNEMO_LIBEXEC_DIR)/mnemo-core
	rmdir $(MNEMO_LIBEXEC_DIR) $(DESTDIR)$(PREFIX)/libexec 2>/dev/null || true
	rm -rf $(MNEMO_PLUGIN_DIR)
	rmdir $(DESTDIR)$(PREFIX)/share/mnemo 2>/dev/null || true

# make fuzz [FUZZ_TARGETS="mcp redact"] [MNEMO_FUZZ_SECONDS=3600] [FUZZ_RUNS=10000000]: the long
# fuzzing run, one target at a time in build-fuzz/ (libFuzzer with ASan+UBSan), each until
# MNEMO_FUZZ_SECONDS pass or FUZZ_RUNS inputs ran. New interesting inputs are written into
# fuzz/corpus/<target> (review and commit them); a crash stops the run and leaves its input in
# build-fuzz/fuzz-artifacts/ (turn it into a regression test: tests/unit/test_fuzz_regressions.c).
FUZZ_TARGETS ?= adapter config fts_query http_json import llm_reply mcp redact
MNEMO_FUZZ_SECONDS ?= 3600
FUZZ_RUNS ?= 10000000

.PHONY: fuzz

fuzz: deps
	cmake -S . -B build-fuzz $(SAN_CMAKE_FLAGS) -DMNEMO_SANITIZE=address,undefined $(ASAN_FUZZ_FLAGS)
	cmake --build build-fuzz -j$(JOBS)
	mkdir -p build-fuzz/fuzz-artifacts
	for t in $(FUZZ_TARGETS); do \
		dict=; if [[ -f fuzz/dict/$$t.dict ]]; then dict=-dict=fuzz/dict/$$t.dict; fi; \
		echo "== fuzz_$$t: $(MNEMO_FUZZ_SECONDS) s or $(FUZZ_RUNS) runs"; \
		$(ASAN_ENV) build-fuzz/fuzz/fuzz_$$t $$dict -timeout=10 -rss_limit_mb=2560 \
			-malloc_limit_mb=2560 -print_final_stats=1 -max_total_time=$(MNEMO_FUZZ_SECONDS) \
			-runs=$(FUZZ_RUNS) -artifact_prefix=build-fuzz/fuzz-artifacts/$$t- fuzz/corpus/$$t; \
	done

# make torture: the long torture run (docs/RELIABILITY.md): every test labelled "torture" in
# build/ with MNEMO_TORTURE_LONG=1 (1,000 kills, 30 s stalls, 30 min of starvation and of load;
# about an hour and a half). `make test` runs the same tests in their short CI form. Figures
# are printed and kept in build/torture-results/<test>.txt.
.PHONY: torture

torture: deps
	$(build_normal)
	MNEMO_TORTURE_LONG=1 ctest --test-dir build -L torture --output-on-failure
