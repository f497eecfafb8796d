# skcached: memcached's protocols on TCP in front of kv (launcher/skcached/
# README.md). MC_PROTO_SRC is the part with no fabric: the commands, the
# output and the parsers of client bytes, which the unit tests and the
# fuzz targets link alone.

MC_PROTO_SRC := launcher/skcached/mc_core.c
MC_PROTO_SRC += launcher/skcached/mc_bin.c
MC_PROTO_OBJ := $(MC_PROTO_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/launcher/skcached/%.o: CPPFLAGS += -Ikv/include -Ilauncher/skcached
$(BUILD)/tests/skcached/%.o: CPPFLAGS += -Ikv/include -Ilauncher/skcached

# The binary protocol (mc_bin.c): unit test and fuzz target.
TEST_PROGS += $(BUILD)/tests/test_mc_bin
$(BUILD)/tests/test_mc_bin: $(BUILD)/tests/skcached/test_mc_bin.o $(MC_PROTO_OBJ)

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_mc_bin
$(FUZZ_BUILD)/fuzz_mc_bin: tests/fuzz/fuzz_mc_bin.c $(MC_PROTO_SRC) \
	launcher/skcached/mc.h launcher/skcached/conn.h \
	$(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ikv/include -Ilauncher/skcached -o $@ \
		tests/fuzz/fuzz_mc_bin.c $(MC_PROTO_SRC)
