# kv: the distributed hash table (kv/README.md): the partition store
# (no fabric: its tests link it without UCX), memcached's semantics, and
# the fabric side over rpc (kv.h). kv/store.h is private to kv. The shared
# library and the install are mk/install.mk's (KV_LIB_SRC).

KV_STORE_SRC := kv/hash.c kv/store.c
KV_STORE_OBJ := $(KV_STORE_SRC:%.c=$(BUILD)/%.o)
KV_FAB_SRC   := kv/map.c kv/owner.c kv/client.c kv/kv.c
KV_FAB_SRC   += kv/evict.c kv/hold.c kv/config.c
KV_FAB_SRC   += kv/wire.c kv/admin.c
KV_FAB_SRC   += kv/req_core.c kv/req_rpc.c kv/req_get.c kv/contact.c kv/req.c
KV_FAB_OBJ   := $(KV_FAB_SRC:%.c=$(BUILD)/%.o)
LIBKV        := $(BUILD)/lib/libskiff_kv.a
ALL          += $(LIBKV)

$(KV_FAB_OBJ): CPPFLAGS += -Ikv/include -Irpc/include -Ilibos/include

KV_LIB_SRC   = $(KV_STORE_SRC) $(KV_SEM_SRC) $(KV_FAB_SRC)

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

# skinfo -c lists and checks kv's SKIFF_KV_* too (kv/config.c needs only
# verbs' registry).
$(BUILD)/bin/skinfo: $(BUILD)/kv/config.o

# The owner's eviction and timer in real jobs (tests/kv/evict_job.c); it
# includes kv's private kv_int.h to read its own partitions' counts.
NODE_APPS += $(BUILD)/tests/evict_job
ALL       += $(BUILD)/tests/evict_job
$(BUILD)/tests/kv/evict_job.o: CPPFLAGS += -Ikv -Ikv/include -Irpc/include \
	-Ilibos/include
$(BUILD)/tests/evict_job: $(BUILD)/tests/kv/evict_job.o $(LIBKV) $(LIBRPC) \
	$(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)
