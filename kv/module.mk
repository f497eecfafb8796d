# kv: the distributed hash table (kv/README.md): the partition store
# (no fabric: its tests link it without UCX), memcached's semantics, and
# the fabric side over rpc (kv.h). kv/store.h is private to kv. A static
# library for now, like the others; the shared library and install
# (mk/install.mk) are to come.

KV_STORE_SRC := kv/hash.c kv/store.c
KV_STORE_OBJ := $(KV_STORE_SRC:%.c=$(BUILD)/%.o)
KV_FAB_SRC   := kv/map.c kv/owner.c kv/client.c kv/kv.c
KV_FAB_SRC   += kv/wire.c
KV_FAB_SRC   += kv/req.c kv/req_get.c kv/req_rpc.c
KV_FAB_OBJ   := $(KV_FAB_SRC:%.c=$(BUILD)/%.o)
LIBKV        := $(BUILD)/lib/libskiff_kv.a
ALL          += $(LIBKV)

$(KV_FAB_OBJ): CPPFLAGS += -Ikv/include -Irpc/include -Ilibos/include

$(LIBKV): $(KV_STORE_OBJ) $(KV_SEM_OBJ) $(KV_FAB_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The deliberately broken publish (kv/store.c, SK_KV_BROKEN_PUBLISH), for
# the torn-read stress to catch (tests/kv/torn.sh); never in the library.
$(BUILD)/kv/store_broken.o: kv/store.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (broken publish)")
	$(Q)$(CC) $(CPPFLAGS) -DSK_KV_BROKEN_PUBLISH $(CFLAGS) -c -o $@ $<

# kv inside skrun jobs, as an application uses it (tests/e2e/jobs.sh).
NODE_APPS += $(BUILD)/tests/kv_job
ALL       += $(BUILD)/tests/kv_job
$(BUILD)/tests/kv/kv_job.o: CPPFLAGS += -Ikv/include -Irpc/include \
	-Ilibos/include
$(BUILD)/tests/kv_job: $(BUILD)/tests/kv/kv_job.o $(LIBKV) $(LIBRPC) \
	$(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)
