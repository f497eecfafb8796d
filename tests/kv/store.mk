# tests/kv: the partition store's unit test (kv/store.c).

TEST_PROGS += $(BUILD)/tests/test_store
$(BUILD)/tests/kv/test_store.o: CPPFLAGS += -Ikv
$(BUILD)/tests/test_store: $(BUILD)/tests/kv/test_store.o $(LIBKV) \
	$(LIBVERBS)
