# Axolotl build. One non-recursive Makefile, three variants of the same tree:
#   make              release  (-O2)           -> build/        binaries in build/bin/
#   make asan         ASan+UBSan (-O1)         -> build/asan/   what the tests run
#   make fuzz         clang libFuzzer+ASan     -> build/fuzz/   fuzz targets
# Other entry points: make check | demo | bench | deps | install | clean | format
#
# Every C file under src/ except the per-binary main files goes into libaxl.a;
# each directory in BIN_DIRS is one binary (all its .c files + libaxl.a).

V ?= release
PREFIX ?= /usr/local
# O: the build root (several builds of one tree can run side by side)
O ?= build

ifeq ($(V),release)
B        := $(O)
CC       ?= cc
VFLAGS   := -O2 -g
VLDFLAGS :=
else ifeq ($(V),asan)
B        := $(O)/asan
VFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
VLDFLAGS := -fsanitize=address,undefined
else ifeq ($(V),fuzz)
B        := $(O)/fuzz
CC       := clang
VFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -DAXL_FUZZ=1
VLDFLAGS := -fsanitize=fuzzer,address,undefined
else
$(error unknown variant V=$(V): use release, asan or fuzz)
endif
ifeq ($(CC),cc)
CC := gcc
endif

WARN     := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-missing-field-initializers -Wvla
CFLAGS   := -std=c11 -D_GNU_SOURCE $(WARN) $(VFLAGS) -Isrc -Iinclude -I$(B)/gen -MMD -MP $(EXTRA_CFLAGS)
LDLIBS   := -lxdp -lbpf -lelf -lz -lpthread -lm

# --- the library -------------------------------------------------------------
MAIN_DIRS := src/stackd
LIB_SRCS  := $(filter-out $(addsuffix /%,$(MAIN_DIRS)),$(shell find src -name '*.c' -not -path 'src/port/xdp/*' | sort))
LIB_OBJS  := $(LIB_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/gen/axl_xdp_obj.o
LIB       := $(B)/lib/libaxl.a

# --- binaries: name:dir ------------------------------------------------------
BINS := axl-stackd:src/stackd axl-ping:tools/axl-ping axl-nc:tools/axl-nc axlctl:tools/axlctl axl-dnsd:tools/axl-dnsd axl-kvd:tools/axl-kvd axl-httpd:tools/axl-httpd axl-load:tools/axl-load
BIN_TARGETS := $(foreach b,$(BINS),$(B)/bin/$(word 1,$(subst :, ,$(b))))
define bin_rule
$(B)/bin/$(1): $(patsubst %.c,$(B)/obj/%.o,$(wildcard $(2)/*.c)) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(VLDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach b,$(BINS),$(eval $(call bin_rule,$(word 1,$(subst :, ,$(b))),$(word 2,$(subst :, ,$(b))))))

# --- unit tests (cmocka) -----------------------------------------------------
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
$(B)/tests/%: $(B)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(VLDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# --- test helpers (C programs the integration tests run) ---------------------
TOOL_SRCS := $(sort $(wildcard tests/tools/*.c))
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(B)/tests/tools/%)
$(B)/tests/tools/%: $(B)/obj/tests/tools/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(VLDFLAGS) -o $@ $^ $(LDLIBS)

# --- fuzz targets (libFuzzer; V=fuzz only) -----------------------------------
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzzers/%)
$(B)/fuzzers/%: $(B)/obj/tests/fuzz/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(VLDFLAGS) -o $@ $^ $(LDLIBS)

# --- benchmarks (C drivers under bench/) -------------------------------------
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(B)/bench/%)
$(B)/bench/%: $(B)/obj/bench/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(VLDFLAGS) -o $@ $^ $(LDLIBS)

# --- the XDP program, embedded into the library as bytes ---------------------
BPF_CLANG  ?= clang
BPF_CFLAGS := -O2 -g -target bpf -Wall -I/usr/include/$(shell gcc -print-multiarch)
$(B)/bpf/axl_xdp.o: src/port/xdp/axl_xdp.bpf.c
	@mkdir -p $(@D)
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@
$(B)/gen/axl_xdp_obj.c: $(B)/bpf/axl_xdp.o
	@mkdir -p $(@D)
	cd $(B)/bpf && xxd -i axl_xdp.o > $(abspath $@).tmp
	mv $@.tmp $@
$(B)/obj/gen/axl_xdp_obj.o: $(B)/gen/axl_xdp_obj.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -O2 -c $< -o $@

# --- tc BPF programs the integration tests load (tests/bpf/; room "steer") ----
TEST_BPF_SRCS := $(sort $(wildcard tests/bpf/*.bpf.c))
TEST_BPF_OBJS := $(TEST_BPF_SRCS:tests/bpf/%.bpf.c=$(B)/tests/bpf/%.o)
$(B)/tests/bpf/%.o: tests/bpf/%.bpf.c
	@mkdir -p $(@D)
	$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@
build-all: $(TEST_BPF_OBJS)

# --- generic compile ---------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

.PHONY: all build-all asan fuzz check demo bench deps install man clean format unit tools
.DEFAULT_GOAL := all

build-all: $(LIB) $(BIN_TARGETS) $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS)
build-fuzz: $(LIB) $(FUZZ_BINS)

all:
	@scripts/deps.sh --quiet-if-present
	@$(MAKE) --no-print-directory V=release build-all
asan:
	@$(MAKE) --no-print-directory V=asan build-all
fuzz:
	@$(MAKE) --no-print-directory V=fuzz build-fuzz

# The whole suite: release + sanitizer builds, unit tests, fuzz smoke runs,
# integration and conformance tests in network namespaces. Closing line:
# "N passed, N failed".
check:
	@scripts/deps.sh --quiet-if-present
	@$(MAKE) --no-print-directory V=release build-all
	@$(MAKE) --no-print-directory V=asan build-all
	@$(MAKE) --no-print-directory V=fuzz build-fuzz
	@tests/run

demo:
	@scripts/deps.sh --quiet-if-present
	@$(MAKE) --no-print-directory V=release build-all
	@scripts/demo.sh

bench:
	@scripts/deps.sh --quiet-if-present
	@$(MAKE) --no-print-directory V=release build-all
	@bench/run

deps:
	@scripts/deps.sh

# --- man pages: man/NAME.1 when written by hand, else generated from the
# binary's --help by help2man, with man/NAME.h2m (NAME, DESCRIPTION,
# EXAMPLES, SEE ALSO ...) merged in when present --------------------------------
AXL_VERSION := 0.1.0
MAN_PAGES := $(foreach b,$(BINS),$(B)/man/$(word 1,$(subst :, ,$(b))).1)
$(B)/man/%.1: $(B)/bin/% $(wildcard man/*)
	@mkdir -p $(@D)
	@if [ -f man/$*.1 ]; then cp man/$*.1 $@; else \
	  help2man --no-info --no-discard-stderr --version-string=$(AXL_VERSION) \
	    $(if $(wildcard man/$*.h2m),--include=man/$*.h2m) -o $@ $(abspath $<) || { rm -f $@; exit 1; }; fi
man: $(MAN_PAGES)

# --- pkg-config file -----------------------------------------------------------
$(B)/axl.pc: Makefile
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: axl' 'Description: Axolotl user-space TCP/IP stack (native API and POSIX layer)' \
	  'Version: $(AXL_VERSION)' 'Cflags: -I$${includedir}' \
	  'Libs: -L$${libdir} -laxl $(LDLIBS)' > $@

# make install [PREFIX=/usr/local] [DESTDIR=]: binaries, the static library,
# the public headers (include/axl), a pkg-config file and the man pages.
install: all
	@$(MAKE) --no-print-directory V=release man $(B)/axl.pc
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/include/axl $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN_TARGETS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(B)/lib/libaxl.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(B)/axl.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 include/axl/*.h $(DESTDIR)$(PREFIX)/include/axl/
	install -m 644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man1/

format:
	clang-format -i $$(find src include tests bench tools apps -name '*.[ch]')

clean:
	rm -rf build

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
