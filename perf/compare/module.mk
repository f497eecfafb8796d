# perf/compare: small peer programs that the comparison scripts run next to
# Skiff's tools where no stock tool measures the same thing.
#
# ucp_get_lat: UCP get latency with plain UCX, the reference for sk_read_lat
# in perf/compare-ucx.sh (ucx_perftest 1.13 gives no get latency). It
# shares the perf tools' parts that need no Skiff verbs (PERF_BASE: option
# parsing, the TCP exchange, the report), so its table's columns and
# statistics are sk_read_lat's, and links no Skiff library: its data path,
# and all of its code but those, is UCX alone.

UCP_GET_LAT := $(BUILD)/perf/compare/ucp_get_lat
ALL += $(UCP_GET_LAT)

$(UCP_GET_LAT): $(BUILD)/perf/compare/ucp_get_lat.o $(PERF_BASE)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) -lucp -lucs -lm
