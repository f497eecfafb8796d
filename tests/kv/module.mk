# tests/kv: the linearizability checker of kv's histories (README.md).
#
# The checker is test code with no Skiff dependency: it judges recorded
# histories, so kv's tests can run it on what their clients saw, and it
# builds without kv/. kv_lincheck is its command line; test_lincheck its
# unit test; fuzz_lincheck fuzzes the history parser.

LINCHECK_SRC := tests/kv/lincheck.c tests/kv/lincheck_gen.c
LINCHECK_OBJ := $(LINCHECK_SRC:%.c=$(BUILD)/%.o)

TEST_PROGS += $(BUILD)/tests/kv_lincheck $(BUILD)/tests/test_lincheck
$(BUILD)/tests/kv_lincheck: $(BUILD)/tests/kv/lincheck_main.o \
	$(LINCHECK_OBJ)
$(BUILD)/tests/test_lincheck: $(BUILD)/tests/kv/test_lincheck.o \
	$(LINCHECK_OBJ)

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_lincheck
$(FUZZ_BUILD)/fuzz_lincheck: tests/fuzz/fuzz_lincheck.c $(LINCHECK_SRC) \
	$(wildcard tests/kv/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Itests/kv -o $@ tests/fuzz/fuzz_lincheck.c \
		$(LINCHECK_SRC)

# Neither links Skiff, so neither needs the fabric's libraries.
$(BUILD)/tests/kv_lincheck $(BUILD)/tests/test_lincheck: VERBS_LIBS :=

# kv jobs of kvapps (tests/e2e/jobs.sh): a rank killed mid-run, and
# histories recorded for kv_lincheck (tests/kv/hist.sh).
KV_APPS_JOBS := $(BUILD)/tests/kill_job $(BUILD)/tests/hist_job
NODE_APPS += $(KV_APPS_JOBS)
ALL       += $(KV_APPS_JOBS)
$(KV_APPS_JOBS:$(BUILD)/tests/%=$(BUILD)/tests/kv/%.o): CPPFLAGS += \
	-Ikv/include -Irpc/include -Ilibos/include
$(KV_APPS_JOBS): $(BUILD)/tests/%: $(BUILD)/tests/kv/%.o $(LIBKV) \
	$(LIBRPC) $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)

# kv's decoders of a peer's bytes (kv/wire.c): the unit test at every
# limit and the fuzz target. Neither needs the fabric: wire.c's only
# calls are into sem.c and store.c (kv_int.h's fabric headers are read
# for its types only), so neither links UCX. test_kv_wire, not test_wire:
# verbs has that one.
KV_WIRE_SRC := kv/wire.c kv/sem.c kv/store.c kv/hash.c
TEST_PROGS += $(BUILD)/tests/test_kv_wire
$(BUILD)/tests/kv/test_wire.o: CPPFLAGS += -Ikv -Ikv/include \
	-Irpc/include -Ilibos/include
$(BUILD)/tests/test_kv_wire: $(BUILD)/tests/kv/test_wire.o \
	$(KV_WIRE_SRC:%.c=$(BUILD)/%.o) $(LIBVERBS)
$(BUILD)/tests/test_kv_wire: VERBS_LIBS :=

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_owner
$(FUZZ_BUILD)/fuzz_owner: tests/kv/fuzz_owner.c $(KV_WIRE_SRC) \
	verbs/status.c $(wildcard kv/*.h kv/include/skiff/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ikv -Ikv/include -Irpc/include \
		-Ilibos/include -o $@ tests/kv/fuzz_owner.c $(KV_WIRE_SRC) \
		verbs/status.c

# The owner's decisions (kv/owner.c: incr/decr, touch/gat) on a partition
# in the test's memory. owner.o brings the fabric's symbols (its handlers
# and the partitions' arena regions), so this one links every layer.
TEST_PROGS += $(BUILD)/tests/test_kv_owner
$(BUILD)/tests/kv/test_owner.o: CPPFLAGS += -Ikv -Ikv/include \
	-Irpc/include -Ilibos/include
$(BUILD)/tests/test_kv_owner: $(BUILD)/tests/kv/test_owner.o $(LIBKV) \
	$(LIBRPC) $(LIBOS) $(LIBVERBS)

# The owner's incr/decr, touch/gat and hint handlers over the fabric,
# driven by raw rpcs (tests/kv/owner_job.c): a skrun job of 2 ranks.
NODE_APPS += $(BUILD)/tests/kv_owner_job
ALL       += $(BUILD)/tests/kv_owner_job
$(BUILD)/tests/kv/owner_job.o: CPPFLAGS += -Ikv -Ikv/include \
	-Irpc/include -Ilibos/include
$(BUILD)/tests/kv_owner_job: $(BUILD)/tests/kv/owner_job.o $(LIBKV) \
	$(LIBRPC) $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)

# The location cache under a writer that keeps changing the keys read
# (tests/kv/loc_job.c, e2e kv-loc); it includes kv_int.h for the cache's
# counters.
NODE_APPS += $(BUILD)/tests/loc_job
ALL       += $(BUILD)/tests/loc_job
$(BUILD)/tests/kv/loc_job.o: CPPFLAGS += -Ikv -Ikv/include -Irpc/include \
	-Ilibos/include
$(BUILD)/tests/loc_job: $(BUILD)/tests/kv/loc_job.o $(LIBKV) $(LIBRPC) \
	$(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)

# kv's client-only ranks, flush_all, owners' figures and a GET's expiry,
# from kv.h alone (tests/kv/admin_job.c, e2e kv-admin).
NODE_APPS += $(BUILD)/tests/kv_admin_job
ALL       += $(BUILD)/tests/kv_admin_job
$(BUILD)/tests/kv/admin_job.o: CPPFLAGS += -Ikv/include -Irpc/include \
	-Ilibos/include
$(BUILD)/tests/kv_admin_job: $(BUILD)/tests/kv/admin_job.o $(LIBKV) \
	$(LIBRPC) $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)
