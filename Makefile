# Skiff top-level GNU Makefile (non-recursive).
#
#   make                   build everything into build/
#   make check             install missing Debian packages, build, run all tests
#   make demo              build and run the main demo job
#   make SANITIZER=address|undefined|thread [check]   sanitizer build in build-<san>/
#   make SANITIZER=address,undefined   both at once, in build-address-undefined/
#   make FAULTS=1 [SANITIZER=address]   fault-injection build (skiff/fault.h) in
#                          build-faults/ (build-address-faults/); tests/faults
#   make CC=clang          any compiler; warnings are errors with gcc and clang
#   make V=1               show the commands
#   make fuzz              build the libFuzzer targets (clang) in build-fuzz/
#   make install [PREFIX=/usr/local] [DESTDIR=]   and  make uninstall
#   make format            clang-format the sources

SHELL      := /bin/bash
CC         ?= cc
SANITIZER  ?=
comma      := ,
SAN_LIST   := $(subst $(comma), ,$(SANITIZER))
# The builds `make check` and `make demo` make themselves run this many
# jobs (a plain `make` runs one unless given -j).
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
FAULTS     ?=
V          ?= 0

# FAULTS=1: the fault-injection test build (skiff/fault.h), in its own
# directory: build-faults, or build-<san>-faults with a sanitizer.
ifeq ($(SANITIZER),)
BUILD      ?= build$(if $(filter 1,$(FAULTS)),-faults)
else
BUILD      ?= build-$(subst $(comma),-,$(SANITIZER))$(if $(filter 1,$(FAULTS)),-faults)
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wundef \
            -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -fno-strict-aliasing -pthread $(WARN)
CPPFLAGS += -Iverbs/include -Iverbs/internal -MMD -MP -D_GNU_SOURCE
# Each layer has two header directories. include/skiff/ is its public
# API, exactly the headers `make install` installs (mk/install.sh), which
# is all an application may include. internal/skiff/ holds what Skiff's own
# parts share and no application sees: verbs' fault-injection points and
# little-endian codec (fault.h, le.h), libos's channel and the host-node
# protocol (chan.h, hostproto.h), whose other end is the launcher. Above
# verbs, code sees only these two directories of the layers below it.
LDFLAGS  += -pthread

ifeq ($(FAULTS),1)
CPPFLAGS += -DSK_FAULT_INJECT
else ifneq ($(FAULTS),)
$(error FAULTS must be 1 or empty)
endif

ifneq ($(SANITIZER),)
ifneq ($(filter-out address undefined thread,$(SAN_LIST)),)
$(error SANITIZER must be address, undefined, thread or address,undefined)
endif
ifneq ($(and $(filter thread,$(SAN_LIST)),$(filter address,$(SAN_LIST))),)
$(error SANITIZER: thread and address cannot be built together)
endif
CFLAGS   += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SANITIZER)
ifneq ($(filter undefined,$(SAN_LIST)),)
CFLAGS   += -fno-sanitize-recover=all
endif
endif

VERBS_LIBS := -libverbs -lrdmacm -lucp -lucs
TEST_LIBS  := -lcmocka

# ---- verbs: the driver library ----
VERBS_SRC := verbs/status.c verbs/config.c verbs/wire.c verbs/verbs.c \
             verbs/eptab.c verbs/fault.c \
             $(addprefix verbs/rdma/,rdma_wire.c rdma_qp.c rdma_cm.c rdma_cq.c rdma_mr.c \
               rdma_ep.c rdma_ops.c rdma_dev.c config.c) \
             $(addprefix verbs/ucx/,ucx_dev.c ucx_ep.c ucx_ops.c ucx_sq.c \
               ucx_rq.c ucx_cq.c ucx_am.c ucx_ring.c ucx_key.c \
               ucx_watchdog.c ucx_progress.c ring.c config.c)

VERBS_OBJ := $(VERBS_SRC:%.c=$(BUILD)/%.o)
LIBVERBS  := $(BUILD)/lib/libskiff_verbs.a

# ---- programs ----
BIN_PROGS  := $(BUILD)/bin/skinfo
PERF_PROGS := $(addprefix $(BUILD)/perf/,sk_write_lat sk_read_lat \
              sk_atomic_lat sk_write_bw sk_pingpong sk_conn_rate)

# The perf tools' shared code, by concern (perf/README.md): PERF_BASE needs
# no Skiff verbs (ucp_get_lat links it alone); PERF_COMMON adds the hello
# and the verbs connection of the sk_* and rpc tools.
PERF_BASE   := $(addprefix $(BUILD)/perf/,perf_opts.o perf_sock.o \
               perf_report.o)
PERF_COMMON := $(PERF_BASE) $(addprefix $(BUILD)/perf/,perf_hello.o \
               perf_ctx.o)

TEST_PROGS := $(addprefix $(BUILD)/tests/,test_wire test_config \
              test_ring test_conformance test_rdma_cm)

ALL = $(LIBVERBS) $(BIN_PROGS) $(PERF_PROGS) $(TEST_PROGS)

FUZZ_BUILD   := build-fuzz
FUZZ_TARGETS := $(FUZZ_BUILD)/fuzz_blobs $(FUZZ_BUILD)/fuzz_ring \
                $(FUZZ_BUILD)/fuzz_rdma_blobs $(FUZZ_BUILD)/fuzz_ucx_rkey
FUZZ_CFLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -std=gnu11 \
                -Iverbs/include -Iverbs/internal -D_GNU_SOURCE $(WARN)

# Each component adds its programs, tests and fuzz targets to the lists above.
include libos/module.mk
include launcher/module.mk
include rpc/module.mk
include perf/rpc/module.mk
include tests/rpc/wire.mk
include tests/kv/sem.mk
include perf/compare/module.mk
include perf/os/module.mk
include tests/libos/module.mk
include tests/faults/module.mk
include kv/module.mk tests/kv/store.mk tests/kv/module.mk
# skcached uses kv (LIBKV, LIBRPC): after them.
include launcher/skcached/module.mk
include perf/kv/module.mk perf/skcached/module.mk
include perf/fuzz.mk
include examples/module.mk
include mk/install.mk

.PHONY: all check demo deps fuzz format clean perf softroce-check
.DEFAULT_GOAL := all

all: $(ALL)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBVERBS): $(VERBS_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# skinfo -c prints and checks every layer's SKIFF_* table. skinfo stays in
# verbs (it walks verbs' internal provider table), so its source names no
# layer above; the link brings in the layers' table objects, whose
# constructors register them, as ucx_info links libucs, uct and ucp.
SKINFO_CONFIG_OBJ := $(BUILD)/libos/config.o $(BUILD)/rpc/config.o \
                     $(BUILD)/launcher/config.o
$(BUILD)/bin/skinfo: $(BUILD)/verbs/skinfo.o $(BUILD)/verbs/ucx/uct_info.o \
	$(SKINFO_CONFIG_OBJ) $(LIBVERBS)
$(BUILD)/bin/skinfo: VERBS_LIBS += -luct # uct_info.c: skinfo only

$(PERF_PROGS): $(BUILD)/perf/%: $(BUILD)/perf/%.o $(PERF_COMMON) $(LIBVERBS)

TEST_COMMON := $(BUILD)/tests/lib/sk_test_peer.o
$(BUILD)/tests/test_wire: $(BUILD)/tests/verbs/test_wire.o $(LIBVERBS)
$(BUILD)/tests/test_config: $(BUILD)/tests/verbs/test_config.o $(LIBVERBS)
$(BUILD)/tests/test_ring: $(BUILD)/tests/verbs/test_ring.o $(LIBVERBS)
$(BUILD)/tests/test_conformance: $(BUILD)/tests/verbs/test_conformance.o \
	$(TEST_COMMON) $(LIBVERBS)
$(BUILD)/tests/test_rdma_cm: $(BUILD)/tests/verbs/test_rdma_cm.o \
	$(TEST_COMMON) $(LIBVERBS)

$(BIN_PROGS) $(PERF_PROGS):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(VERBS_LIBS) -lm

$(TEST_PROGS):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(VERBS_LIBS) \
		$(TEST_LIBS) -lm

# ---- user-facing targets ----
deps:
	$(Q)./mk/deps.sh

check: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) all
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) fuzz-build-if-clang
	$(Q)BUILD=$(BUILD) JOBS=$(JOBS) ./tests/run-checks.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) all
	$(Q)BUILD=$(BUILD) ./mk/demo.sh

# Every benchmark beside its peer, one report (perf/bench/run.sh; its
# options in BENCH_ARGS, e.g. --guest); two reports compared.
.PHONY: bench bench-compare
bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) ./perf/bench/run.sh $(BENCH_ARGS)

bench-compare:
	$(Q)/usr/bin/python3 perf/bench/compare.py $(OLD) $(NEW)

# ---- fuzzing (libFuzzer needs clang) ----
fuzz: $(FUZZ_TARGETS)

.PHONY: fuzz-build-if-clang
fuzz-build-if-clang:
	$(Q)if command -v clang >/dev/null; then \
		$(MAKE) --no-print-directory fuzz; \
	else echo "fuzz: clang not found (install clang)"; exit 1; fi

$(FUZZ_BUILD)/fuzz_blobs: tests/fuzz/fuzz_blobs.c $(VERBS_SRC) \
	$(wildcard verbs/*.h verbs/include/skiff/*.h verbs/internal/skiff/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_blobs.c $(VERBS_SRC) \
		$(VERBS_LIBS)

$(FUZZ_BUILD)/fuzz_ring: tests/fuzz/fuzz_ring.c $(VERBS_SRC) \
	$(wildcard verbs/*.h verbs/ucx/*.h verbs/include/skiff/*.h verbs/internal/skiff/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_ring.c $(VERBS_SRC) \
		$(VERBS_LIBS)

# The providers' own decoders (verbs/rdma/rdma.h, verbs/ucx/ucx_wire.h).
$(FUZZ_BUILD)/fuzz_rdma_blobs: tests/fuzz/fuzz_rdma_blobs.c $(VERBS_SRC) \
	$(wildcard verbs/*.h verbs/rdma/*.h verbs/include/skiff/*.h verbs/internal/skiff/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_rdma_blobs.c \
		$(VERBS_SRC) $(VERBS_LIBS)

$(FUZZ_BUILD)/fuzz_ucx_rkey: tests/fuzz/fuzz_ucx_rkey.c $(VERBS_SRC) \
	$(wildcard verbs/*.h verbs/ucx/*.h verbs/include/skiff/*.h verbs/internal/skiff/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_ucx_rkey.c \
		$(VERBS_SRC) $(VERBS_LIBS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-address build-undefined build-address-undefined \
		build-thread build-fuzz \
		build-faults build-*-faults

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
