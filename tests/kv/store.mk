# tests/kv: the partition store's unit test and the torn-read stress
# (kv/store.c). The stress links the library, or the broken publish
# (kv/module.mk) for the variant that must fail (tests/kv/torn.sh).

TEST_PROGS += $(BUILD)/tests/test_store
$(BUILD)/tests/kv/test_store.o: CPPFLAGS += -Ikv
$(BUILD)/tests/test_store: $(BUILD)/tests/kv/test_store.o $(LIBKV) \
	$(LIBVERBS)

KV_STRESS := $(BUILD)/tests/kv_stress_torn $(BUILD)/tests/kv_stress_torn_broken
ALL += $(KV_STRESS)
$(BUILD)/tests/kv/stress_torn.o: CPPFLAGS += -Ikv
$(BUILD)/tests/kv_stress_torn: $(BUILD)/tests/kv/stress_torn.o $(LIBKV) \
	$(LIBVERBS)
$(BUILD)/tests/kv_stress_torn_broken: $(BUILD)/tests/kv/stress_torn.o \
	$(BUILD)/kv/store_broken.o $(BUILD)/kv/hash.o $(LIBVERBS)
$(KV_STRESS):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(VERBS_LIBS) -lm
