# tests/kv/sem.mk: kv's memcached semantics (kv/sem.c), its unit test,
# the reference model and the differential test against a real memcached,
# and the semantics' fuzz target.
#
# KV_SEM_SRC is the library's share of kv/: the lead folds it into
# libskiff_kv (kv/module.mk) when that exists. Until then the tests link
# the object directly.

KV_SEM_SRC := kv/sem.c
KV_SEM_OBJ := $(KV_SEM_SRC:%.c=$(BUILD)/%.o)
KV_SEM_TEST_OBJ := $(addprefix $(BUILD)/tests/kv/,test_sem.o sem_model.o \
                   memcached_diff.o)
$(KV_SEM_TEST_OBJ): CPPFLAGS += -Ikv

TEST_PROGS += $(BUILD)/tests/test_sem $(BUILD)/tests/memcached_diff
$(BUILD)/tests/test_sem: $(BUILD)/tests/kv/test_sem.o \
	$(BUILD)/tests/kv/sem_model.o $(KV_SEM_OBJ)
$(BUILD)/tests/memcached_diff: $(BUILD)/tests/kv/memcached_diff.o \
	$(BUILD)/tests/kv/sem_model.o $(KV_SEM_OBJ)

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_kvsem
$(FUZZ_BUILD)/fuzz_kvsem: tests/fuzz/fuzz_kvsem.c $(KV_SEM_SRC) kv/sem.h \
	tests/kv/sem_model.c tests/kv/sem_model.h $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ikv -o $@ tests/fuzz/fuzz_kvsem.c \
		$(KV_SEM_SRC) tests/kv/sem_model.c
