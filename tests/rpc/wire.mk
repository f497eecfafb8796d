# tests/rpc: the unit test and fuzz target of the rpc's message checker.
#
# Both cover sk_rpc_hdr_check (rpc/wire.c), the one place where the rpc
# looks at a peer's bytes. The test links the real wire.o only (its rule
# and flags come from rpc/module.mk); the fuzz target compiles wire.c.

TEST_PROGS += $(BUILD)/tests/test_rpc_wire
$(BUILD)/tests/test_rpc_wire: $(BUILD)/tests/rpc/test_rpc_wire.o \
	$(BUILD)/rpc/wire.o
$(BUILD)/tests/rpc/test_rpc_wire.o: CPPFLAGS += -Irpc/include \
	-Ilibos/include -Irpc

RPC_FUZZ_SRC := rpc/wire.c

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_rpc
$(FUZZ_BUILD)/fuzz_rpc: tests/fuzz/fuzz_rpc.c $(RPC_FUZZ_SRC) rpc/wire.h \
	tests/rpc/wire_layout.h \
	rpc/include/skiff/rpc.h $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Irpc/include -Ilibos/include -Irpc -o $@ \
		tests/fuzz/fuzz_rpc.c $(RPC_FUZZ_SRC)
