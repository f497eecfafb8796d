# skcached: memcached's protocols on TCP in front of kv (launcher/skcached/
# README.md). MC_PROTO_SRC is the part with no fabric: the commands, the
# output and the parsers of client bytes, which the unit tests and the
# fuzz targets link alone.

MC_PROTO_SRC := launcher/skcached/mc_core.c
MC_PROTO_OBJ := $(MC_PROTO_SRC:%.c=$(BUILD)/%.o)
$(BUILD)/launcher/skcached/%.o: CPPFLAGS += -Ikv/include -Ilauncher/skcached
$(BUILD)/tests/skcached/%.o: CPPFLAGS += -Ikv/include -Ilauncher/skcached
