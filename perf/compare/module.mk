# perf/compare: small peer programs that the comparison scripts run next to
# Skiff's tools where no stock tool measures the same thing.
#
# ucp_get_lat: UCP get latency with plain UCX, the reference for sk_read_lat
# in perf/compare-ucx.sh (ucx_perftest 1.13 gives no get latency). It
# prints its table with perf_common.o's functions, so the columns and
# statistics are sk_read_lat's; perf_common.o also holds Skiff's connection
# plumbing, hence the verbs library on the link line, though ucp_get_lat
# calls none of it (its data path is UCX alone).

UCP_GET_LAT := $(BUILD)/perf/compare/ucp_get_lat
ALL += $(UCP_GET_LAT)

$(UCP_GET_LAT): $(BUILD)/perf/compare/ucp_get_lat.o \
	$(BUILD)/perf/perf_common.o $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(VERBS_LIBS) -lm
