# kv: the distributed hash table (kv/README.md). So far its partition
# store, a library of its own with no fabric: the rpc and one-sided GET
# paths will sit on top of it. kv/store.h is private to kv.

KV_STORE_SRC := kv/hash.c kv/store.c
KV_STORE_OBJ := $(KV_STORE_SRC:%.c=$(BUILD)/%.o)
LIBKV        := $(BUILD)/lib/libskiff_kv.a
ALL          += $(LIBKV)

$(LIBKV): $(KV_STORE_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The deliberately broken publish (kv/store.c, SK_KV_BROKEN_PUBLISH), for
# the torn-read stress to catch (tests/kv/torn.sh); never in the library.
$(BUILD)/kv/store_broken.o: kv/store.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (broken publish)")
	$(Q)$(CC) $(CPPFLAGS) -DSK_KV_BROKEN_PUBLISH $(CFLAGS) -c -o $@ $<
