# perf/skcached: skcached against memcached (perf/README.md, "skcached").
#
#   mcload  the load generator both servers are driven by: C connections,
#           GET-only or GET/SET mixes of fixed-size values, ops/s, exact
#           p50/p99 and the server's CPU from /proc (perf/skcached/mcload.c)
#
# perf/skcached/vs-memcached.sh runs the table.

PERF_SKCACHED := $(BUILD)/perf/skcached/mcload
ALL += $(PERF_SKCACHED)

.PHONY: perf-skcached
perf-skcached: $(PERF_SKCACHED)

$(BUILD)/perf/skcached/mcload: $(BUILD)/perf/skcached/mcload.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^)
