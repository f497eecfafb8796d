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
