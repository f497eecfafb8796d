# perf/kv: benchmarks of kv, the distributed hash table (perf/README.md,
# "kv").
#
#   kvbench         YCSB A/B/C over kv.h, a skrun node program
#   kvb_zipf_check  holds kvbench's zipfian generator to the exact law
#   kv_mem          bytes per item of the partition store (no fabric)
#
# Scripts beside them (perf/kv/*.sh) run each next to its peer: memcached
# and memcslap, sk_read_lat, callgrind.

PERF_KV_NODES := $(BUILD)/perf/kv/kvbench
PERF_KV_TOOLS := $(BUILD)/perf/kv/kvb_zipf_check $(BUILD)/perf/kv/kv_mem
ALL += $(PERF_KV_NODES) $(PERF_KV_TOOLS)

.PHONY: perf-kv
perf-kv: $(PERF_KV_NODES) $(PERF_KV_TOOLS) $(BUILD)/bin/skrun \
	$(BUILD)/perf/sk_read_lat

# Build, then run every script of perf/kv/ (perf/kv/run.sh).
.PHONY: perf-kv-run
perf-kv-run: perf-kv
	$(Q)BUILD=$(BUILD) perf/kv/run.sh

$(BUILD)/perf/kv/kvbench.o: CPPFLAGS += -Ikv/include -Irpc/include \
	-Ilibos/include
$(BUILD)/perf/kv/kv_mem.o: CPPFLAGS += -Ikv

$(BUILD)/perf/kv/kvbench: $(BUILD)/perf/kv/kvbench.o \
	$(BUILD)/perf/kv/kvb_dist.o $(BUILD)/perf/perf_opts.o $(LIBKV) \
	$(LIBRPC) $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ $(filter %.o %.a,$^) \
		$(VERBS_LIBS) -lm

$(BUILD)/perf/kv/kvb_zipf_check: $(BUILD)/perf/kv/kvb_zipf_check.o \
	$(BUILD)/perf/kv/kvb_dist.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lm

# The store alone, and verbs' status strings: no UCX is linked.
$(BUILD)/perf/kv/kv_mem: $(BUILD)/perf/kv/kv_mem.o $(KV_STORE_OBJ) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lm
