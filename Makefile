# espprov — plain GNU make. `make help` lists the targets.
#
# Layout of the build: every folder's sources are found by wildcard, so a new
# file needs no Makefile edit. Libraries are static archives; dependencies point
# down only: provision -> flasher, spiffsgen.

PROG     := espprov
VERSION  := 0.1.0
PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
# Extra flags for one-off runs (e.g. `make EXTRA_CFLAGS=-O0`).
EXTRA_CFLAGS ?=
TEST_JOBS ?= 2

PKGS := openssl jansson libusb-1.0 sqlite3 zlib

WARN := -std=c11 -Wall -Wextra -Wpedantic -Werror \
        -Wmissing-prototypes -Wstrict-prototypes -Wold-style-definition \
        -Wshadow -Wvla -Wwrite-strings -Wformat=2 -Wpointer-arith \
        -Wcast-qual -Wundef
# Flags only one compiler knows. gcc: messages are cut to fixed buffers on
# purpose, so snprintf truncation is not a bug (clang has no such warning).
CC_IS_CLANG := $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null)),1)
ifneq ($(CC_IS_CLANG),1)
WARN += -Wno-format-truncation
endif
# Only OpenSSL 3 APIs that are not deprecated may be used.
DEFS := -D_GNU_SOURCE -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED \
        -DESPPROV_VERSION='"$(VERSION)"'
OPT  ?= -O2 -g

ifeq ($(SAN),1)
OPT      := -O1 -g -fno-omit-frame-pointer
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
endif

INCLUDES := -I. -Itests
CFLAGS_ALL = $(OPT) $(WARN) $(DEFS) $(INCLUDES) $(PKG_CFLAGS) $(SANFLAGS) $(EXTRA_CFLAGS) -MMD -MP
LDFLAGS_ALL = $(SANFLAGS) -pthread

# --------------------------------------------------------------------------
# Dependencies: installed on demand, then their flags cached in $(BUILD)/pkg.mk
# (make re-reads the Makefile once that file exists).
NODEPS_GOALS := clean help fmt fmt-check
ifeq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
else
-include $(BUILD)/pkg.mk
endif

$(BUILD)/.deps-build: .ci/deps
	@mkdir -p $(BUILD)
	@./.ci/deps build
	@touch $@

$(BUILD)/.deps-test: .ci/deps
	@mkdir -p $(BUILD)
	@./.ci/deps test
	@touch $@

$(BUILD)/pkg.mk: $(BUILD)/.deps-build
	@printf 'PKG_CFLAGS := %s\nPKG_LIBS := %s\n' \
	  "$$(pkg-config --cflags $(PKGS))" "$$(pkg-config --libs $(PKGS))" > $@

# --------------------------------------------------------------------------
# Sources
SPIFFSGEN_SRC := $(wildcard spiffsgen/*.c)
LFSGEN_SRC    := $(wildcard lfsgen/*.c)
FLASHER_SRC   := $(wildcard flasher/*.c)
# provision/ is a set of module folders (provision/README.md draws them); the
# command layer in provision/cli/ links against the rest as one archive.
CLI_SRC       := $(wildcard provision/cli/*.c)
PROVISION_SRC := $(filter-out $(CLI_SRC),$(wildcard provision/*/*.c))
# The firmware's portable config parser: built for the host and unit-tested.
FWLIB_SRC     := $(wildcard firmware/espprov_client/src/*.c)
ESPSIM_SRC    := $(wildcard tests/espsim/*.c)
TESTLIB_SRC   := $(wildcard tests/support/*.c)
UNIT_SRC      := $(wildcard tests/unit/test_*.c)
FUZZ_SRC      := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC     := $(wildcard tests/bench/bench_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIB_SPIFFSGEN := $(BUILD)/libspiffsgen.a
LIB_LFSGEN    := $(BUILD)/liblfsgen.a
LIB_FLASHER   := $(BUILD)/libflasher.a
LIB_PROVISION := $(BUILD)/libprovision.a
LIB_FW        := $(BUILD)/libfwconfig.a
LIB_TEST      := $(BUILD)/libtestsupport.a
LIBS_ALL      := $(LIB_PROVISION) $(LIB_FLASHER) $(LIB_SPIFFSGEN) $(LIB_LFSGEN)

BIN        := $(BUILD)/$(PROG)
ESPSIM     := $(BUILD)/espsim
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/replay_%,$(FUZZ_SRC))
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/tests/%,$(BENCH_SRC))
INTEGRATION_TESTS := $(sort $(wildcard tests/integration/*.sh))

ALL_OBJS := $(call obj,$(SPIFFSGEN_SRC) $(LFSGEN_SRC) $(FLASHER_SRC) $(PROVISION_SRC) $(CLI_SRC) \
              $(FWLIB_SRC) $(ESPSIM_SRC) $(TESTLIB_SRC) $(UNIT_SRC) $(FUZZ_SRC) \
              $(BENCH_SRC) tests/fuzz/replay_main.c)

.PHONY: all programs test check fuzz bench demo install uninstall clean help fmt fmt-check \
        firmware-check unit integration fuzz-replay stubs stubs-optional
.DEFAULT_GOAL := all
# Keep objects that only feed a test binary (make would delete them as intermediates).
.SECONDARY:

## Build the espprov binary (installs missing build packages first) and fetch the stubs
all: $(BIN) stubs-optional

## Build every program (espprov, espsim, unit, fuzz-replay and bench binaries), run none
programs: $(BIN) $(if $(ESPSIM_SRC),$(ESPSIM)) $(UNIT_BINS) $(FUZZ_REPLAY_BINS) $(BENCH_BINS)

# Quiet by default; `make V=1` shows the full command lines.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: %.c $(BUILD)/pkg.mk
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIB_SPIFFSGEN): $(call obj,$(SPIFFSGEN_SRC))
$(LIB_LFSGEN):    $(call obj,$(LFSGEN_SRC))
$(LIB_FLASHER):   $(call obj,$(FLASHER_SRC))
$(LIB_PROVISION): $(call obj,$(PROVISION_SRC))
$(LIB_FW):        $(call obj,$(FWLIB_SRC))
$(LIB_TEST):      $(call obj,$(TESTLIB_SRC))
$(BUILD)/lib%.a:
	@mkdir -p $(dir $@)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BIN): $(call obj,$(CLI_SRC)) $(LIBS_ALL)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(call obj,$(CLI_SRC)) $(LIBS_ALL) $(PKG_LIBS)

$(ESPSIM): $(call obj,$(ESPSIM_SRC))
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS) -lutil

$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(LIB_TEST) $(LIBS_ALL) $(LIB_FW)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB_TEST) $(LIBS_ALL) $(LIB_FW) $(PKG_LIBS) -lutil

$(BUILD)/tests/bench_%: $(BUILD)/obj/tests/bench/bench_%.o $(LIB_TEST) $(LIBS_ALL) $(LIB_FW)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $< $(LIB_TEST) $(LIBS_ALL) $(LIB_FW) $(PKG_LIBS) -lutil

# Fuzz targets are also linked with a corpus-replay main in every test build,
# so they compile, and their corpora run, under gcc and the sanitizers.
$(BUILD)/tests/replay_fuzz_%: $(BUILD)/obj/tests/fuzz/fuzz_%.o $(BUILD)/obj/tests/fuzz/replay_main.o $(LIBS_ALL) $(LIB_FW)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# --------------------------------------------------------------------------
# Flasher stubs: other projects' binaries, pinned in tools/stubs.lock and
# fetched once (stamp) into $(BUILD)/stubs/<family>/<chip>.json, next to the
# binary, where espprov looks for them. Verified tarballs are kept in
# STUB_CACHE, shared by every BUILD (the sanitizer build needs no download).
STUBS_DIR  := $(BUILD)/stubs
STUB_STAMP := $(STUBS_DIR)/.stamp
STUB_CACHE ?= build/stub-cache

## Fetch the pinned flasher stubs into $(BUILD)/stubs (fails without them)
stubs: $(STUB_STAMP)

$(STUB_STAMP): tools/stubs.lock tools/fetch-stubs.sh
	@mkdir -p $(BUILD)
	@./.ci/deps stubs
	@STUB_CACHE=$(STUB_CACHE) tools/fetch-stubs.sh $(STUBS_DIR)

# `make` itself must not fail offline: the binary works from the ROM loader
# and says how to get the stubs. A checksum mismatch still fails.
stubs-optional:
	@if [ ! -f $(STUB_STAMP) ] || [ tools/stubs.lock -nt $(STUB_STAMP) ] || \
	    [ tools/fetch-stubs.sh -nt $(STUB_STAMP) ]; then \
	  mkdir -p $(BUILD); ./.ci/deps stubs || true; \
	  STUB_CACHE=$(STUB_CACHE) tools/fetch-stubs.sh --optional $(STUBS_DIR); \
	fi

# --------------------------------------------------------------------------
# Tests

## Build and run every test (unit, integration, fuzz corpus replay, firmware cross-build)
test: $(BUILD)/.deps-test $(BIN) $(STUB_STAMP) $(if $(ESPSIM_SRC),$(ESPSIM)) $(UNIT_BINS) $(FUZZ_REPLAY_BINS)
	@BUILD=$(BUILD) ESPPROV=$(abspath $(BIN)) ESPSIM=$(abspath $(ESPSIM)) \
	  TEST_JOBS=$(TEST_JOBS) tests/run.sh $(UNIT_BINS) $(FUZZ_REPLAY_BINS) \
	  $(INTEGRATION_TESTS) tests/firmware-check.sh tests/check_includes.sh

## Run only the unit tests
unit: $(BUILD)/.deps-test $(UNIT_BINS) $(STUB_STAMP) $(if $(ESPSIM_SRC),$(ESPSIM))
	@BUILD=$(BUILD) ESPSIM=$(abspath $(ESPSIM)) tests/run.sh $(UNIT_BINS)

## Run only the integration tests (T=tests/integration/NAME.sh for one)
integration: $(BUILD)/.deps-test $(BIN) $(STUB_STAMP) $(if $(ESPSIM_SRC),$(ESPSIM))
	@BUILD=$(BUILD) ESPPROV=$(abspath $(BIN)) ESPSIM=$(abspath $(ESPSIM)) \
	  TEST_JOBS=$(TEST_JOBS) tests/run.sh $(or $(T),$(INTEGRATION_TESTS))

## Run the test suite built with AddressSanitizer + UndefinedBehaviorSanitizer
check:
	@$(MAKE) --no-print-directory BUILD=build/san SAN=1 test

## Cross-compile the firmware's config parser for the ESP8266 (xtensa-lx106)
firmware-check:
	@./.ci/deps firmware
	@tests/firmware-check.sh

## Build libFuzzer targets with clang and fuzz each for FUZZ_SECONDS (default 60)
fuzz:
	@./.ci/deps fuzz
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang $(BUILD)/pkg.mk >/dev/null
	@BUILD=build/fuzz FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) tests/fuzz/run-libfuzzer.sh $(FUZZ_SRC)

## Measure speed and memory (time-modelled simulator runs included); prints figures
bench: $(BUILD)/.deps-test $(BIN) $(STUB_STAMP) $(if $(ESPSIM_SRC),$(ESPSIM)) $(BENCH_BINS)
	@BUILD=$(BUILD) ESPPROV=$(abspath $(BIN)) ESPSIM=$(abspath $(ESPSIM)) \
	  tests/bench/run.sh $(BENCH_BINS) $(sort $(filter-out tests/bench/run.sh,$(wildcard tests/bench/*.sh)))

## Provision three simulated boards from profiles/demo.json and show the result
demo: $(BUILD)/.deps-test $(BIN) $(STUB_STAMP) $(ESPSIM)
	@BUILD=$(BUILD) ESPPROV=$(abspath $(BIN)) ESPSIM=$(abspath $(ESPSIM)) tests/demo.sh

# The man page is made from the help texts, so it cannot drift from them.
MANPAGE := $(BUILD)/$(PROG).1
$(MANPAGE): $(BIN) tools/mkman.sh
	@$(if $(Q),echo "  MAN     $@")
	$(Q)tools/mkman.sh $(BIN) $(VERSION) >$@.tmp && mv $@.tmp $@

SHARE := $(DESTDIR)$(PREFIX)/share
## Install espprov, espprov-sim, the flasher stubs, the man page, bash completion and the example profiles under PREFIX
install: $(BIN) $(ESPSIM) $(MANPAGE) stubs-optional
	install -d $(DESTDIR)$(PREFIX)/bin $(SHARE)/man/man1 $(SHARE)/bash-completion/completions \
	  $(SHARE)/doc/$(PROG) $(SHARE)/$(PROG)/profiles/firmware
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/$(PROG)
	install -m 0755 $(ESPSIM) $(DESTDIR)$(PREFIX)/bin/$(PROG)-sim
	install -m 0644 $(MANPAGE) $(SHARE)/man/man1/$(PROG).1
	install -m 0644 tools/espprov.bash $(SHARE)/bash-completion/completions/$(PROG)
	install -m 0644 README.md $(SHARE)/doc/$(PROG)/
	install -m 0644 profiles/*.json profiles/*.csv profiles/README.md $(SHARE)/$(PROG)/profiles/
	install -m 0644 profiles/firmware/*.bin profiles/firmware/README.md $(SHARE)/$(PROG)/profiles/firmware/
	@if [ -f $(STUB_STAMP) ]; then \
	  for d in $(STUBS_DIR)/*/; do f=$$(basename $$d); \
	    echo "install -m 0644 $$d* $(SHARE)/$(PROG)/stubs/$$f/"; \
	    install -d $(SHARE)/$(PROG)/stubs/$$f && \
	    install -m 0644 $$d* $(SHARE)/$(PROG)/stubs/$$f/ || exit 1; \
	  done; \
	else \
	  echo "install: note: no flasher stubs in $(STUBS_DIR); espprov will use the ROM loader" >&2; \
	  echo "hint: run: make stubs && make install" >&2; \
	fi

## Remove what `make install` put under PREFIX
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/$(PROG) $(DESTDIR)$(PREFIX)/bin/$(PROG)-sim
	rm -f $(SHARE)/man/man1/$(PROG).1 $(SHARE)/bash-completion/completions/$(PROG)
	rm -rf $(SHARE)/doc/$(PROG) $(SHARE)/$(PROG)

## Format the C sources with clang-format
fmt:
	clang-format -i $(shell git ls-files '*.c' '*.h')

## Fail if any C source is not clang-formatted
fmt-check:
	clang-format --dry-run -Werror $(shell git ls-files '*.c' '*.h')

## Remove build outputs
clean:
	rm -rf build

## List the targets
help:
	@awk '/^## /{doc=substr($$0,4); next} /^[a-z-]+:/{if(doc){split($$1,a,":"); printf "  %-15s %s\n", a[1], doc}; doc=""}' $(MAKEFILE_LIST)

-include $(ALL_OBJS:.o=.d)
