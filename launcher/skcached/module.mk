# skcached: memcached's protocols on TCP in front of kv (launcher/skcached/
# README.md). MC_PROTO_SRC is the part with no fabric: the commands, the
# output and the parsers of client bytes, which the unit tests and the
# fuzz targets link alone.

MC_PROTO_SRC := launcher/skcached/mc_core.c
MC_PROTO_OBJ := $(MC_PROTO_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/launcher/skcached/%.o: CPPFLAGS += -Ikv/include -Ilauncher/skcached
$(BUILD)/tests/skcached/%.o: CPPFLAGS += -Ikv/include -Ilauncher/skcached

# The text and meta protocols (mc_text.c), the binary protocol
# (mc_bin.c): unit tests and fuzz targets.
MC_PROTO_SRC += launcher/skcached/mc_text.c launcher/skcached/mc_bin.c
MC_PROTO_OBJ := $(MC_PROTO_SRC:%.c=$(BUILD)/%.o)

TEST_PROGS += $(BUILD)/tests/test_mc_text $(BUILD)/tests/test_mc_bin
$(BUILD)/tests/test_mc_text: $(BUILD)/tests/skcached/test_mc_text.o \
	$(MC_PROTO_OBJ)
$(BUILD)/tests/test_mc_bin: $(BUILD)/tests/skcached/test_mc_bin.o \
	$(MC_PROTO_OBJ)

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_mc_text $(FUZZ_BUILD)/fuzz_mc_bin
$(FUZZ_BUILD)/fuzz_mc_%: tests/fuzz/fuzz_mc_%.c $(MC_PROTO_SRC) \
	launcher/skcached/mc.h launcher/skcached/conn.h \
	$(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Ikv/include -Ilauncher/skcached -o $@ \
		$< $(MC_PROTO_SRC)

# skcached: memcached's command line, which becomes a skrun job
# (skcached.c, with skrun's host parsers); skcached-node: what its ranks
# run, gateways and cache nodes (gateway.c); both bind the port
# (listen.c).
$(BUILD)/launcher/skcached/%.o: CPPFLAGS += -Ilauncher -Ilibos/include \
	-Irpc/include
ALL += $(BUILD)/bin/skcached $(BUILD)/bin/skcached-node
$(BUILD)/bin/skcached: $(BUILD)/launcher/skcached/skcached.o \
	$(BUILD)/launcher/skcached/listen.o \
	$(LAUNCHER_OPTS_SRC:%.c=$(BUILD)/%.o)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lrt

$(BUILD)/bin/skcached-node: $(BUILD)/launcher/skcached/gateway.o \
	$(BUILD)/launcher/skcached/listen.o \
	$(MC_PROTO_OBJ) $(LIBKV) $(LIBRPC) $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS) -lrt
