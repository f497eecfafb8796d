# rpc: request/response over the fabric. Includes libos and verbs headers.

# In the order they depend on each other, lowest first (rpc/README.md):
# each calls only files before it.
RPC_SRC := rpc/wire.c rpc/config.c rpc/core.c rpc/send.c rpc/probe.c \
	   rpc/large.c rpc/call.c rpc/serve.c rpc/recv.c rpc/close.c \
	   rpc/peer.c rpc/rpc.c
RPC_OBJ := $(RPC_SRC:%.c=$(BUILD)/%.o)
LIBRPC  := $(BUILD)/lib/libskiff_rpc.a
ALL     += $(LIBRPC)

$(RPC_OBJ): CPPFLAGS += -Irpc/include -Ilibos/include

$(LIBRPC): $(RPC_OBJ)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

# The rpc suite between two real processes (both providers).
TEST_PROGS += $(BUILD)/tests/test_rpc
$(BUILD)/tests/rpc/test_rpc.o: CPPFLAGS += -Irpc/include -Ilibos/include
$(BUILD)/tests/test_rpc: $(BUILD)/tests/rpc/test_rpc.o $(LIBRPC) $(LIBOS) \
	$(LIBVERBS)

# rpc inside skrun jobs, as an application uses it (tests/e2e/jobs.sh).
NODE_APPS += $(BUILD)/tests/rpc_job
ALL       += $(BUILD)/tests/rpc_job
$(BUILD)/tests/rpc/rpc_job.o: CPPFLAGS += -Irpc/include -Ilibos/include
$(BUILD)/tests/rpc_job: $(BUILD)/tests/rpc/rpc_job.o $(LIBRPC) $(LIBOS) \
	$(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)

# A node that attacks another's rpc with the verbs API (tests/e2e/jobs.sh).
NODE_APPS += $(BUILD)/tests/hostile_job
ALL       += $(BUILD)/tests/hostile_job
$(BUILD)/tests/rpc/hostile_job.o: CPPFLAGS += -Irpc/include -Ilibos/include
$(BUILD)/tests/hostile_job: $(BUILD)/tests/rpc/hostile_job.o $(LIBRPC) \
	$(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS)
