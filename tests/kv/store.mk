# tests/kv: the partition store's unit test and the torn-read stress
# (kv/store.c). The stress links the library, or the broken publish
# (kv/module.mk) for the variant that must fail (tests/kv/torn.sh).
#
# Only verbs' status.o comes from libskiff_verbs.a (sk_status_str), and
# no UCX library is linked: the store needs none, and UCX's memory hooks
# crash ThreadSanitizer's interceptors (tests/run-checks.sh, tsan).

KV_TESTS := $(BUILD)/tests/test_store $(BUILD)/tests/kv_stress_torn \
	    $(BUILD)/tests/kv_stress_torn_broken
ALL += $(KV_TESTS)

$(BUILD)/tests/kv/test_store.o $(BUILD)/tests/kv/stress_torn.o: \
	CPPFLAGS += -Ikv
$(BUILD)/tests/test_store: $(BUILD)/tests/kv/test_store.o $(LIBKV) \
	$(LIBVERBS)
$(BUILD)/tests/test_store: KV_TEST_LIBS := $(TEST_LIBS)
$(BUILD)/tests/kv_stress_torn: $(BUILD)/tests/kv/stress_torn.o $(LIBKV) \
	$(LIBVERBS)
$(BUILD)/tests/kv_stress_torn_broken: $(BUILD)/tests/kv/stress_torn.o \
	$(BUILD)/kv/store_broken.o $(BUILD)/kv/hash.o $(LIBVERBS)
$(KV_TESTS):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(KV_TEST_LIBS)

# The reader's judgement of bytes READ from a peer (tests/fuzz/fuzz_kvread.c).
FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_kvread
$(FUZZ_BUILD)/fuzz_kvread: tests/fuzz/fuzz_kvread.c $(KV_STORE_SRC) \
	kv/store.h kv/hash.h verbs/status.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ikv -Iverbs/include -o $@ \
		tests/fuzz/fuzz_kvread.c $(KV_STORE_SRC) verbs/status.c

# The location cache's judgement (kv/loc.h) on a partition in this
# process, the READs' orders built step by step; run by tests/kv/torn.sh.
KV_LOC_TEST := $(BUILD)/tests/test_kv_loc
ALL += $(KV_LOC_TEST)
$(BUILD)/tests/kv/test_loc.o: CPPFLAGS += -Ikv
$(KV_LOC_TEST): $(BUILD)/tests/kv/test_loc.o $(LIBKV) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(TEST_LIBS)
