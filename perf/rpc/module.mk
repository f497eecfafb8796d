# perf/rpc: benchmarks of the rpc library (perf/README.md, "rpc").
#
#   rpc_lat       round-trip latency of an echo call, one at a time
#   rpc_tput      calls per second with 1, 8 and 64 calls outstanding
#   compare/mpi_pingpong  the Open MPI reference of perf/compare-rpc.sh: an
#                 osu_latency-style MPI_Send/MPI_Recv ping-pong (mpicc;
#                 built only where mpicc is installed)
#
# The two rpc tools are perf_common tools (TCP exchange, perftest-style
# output) linked with rpc_bench.o, the rpc library and libos (loop, arena).

PERF_RPC_PROGS := $(addprefix $(BUILD)/perf/,rpc_lat rpc_tput)
MPICC          ?= mpicc
PERF_RPC_MPI   := $(if $(shell command -v $(MPICC) 2>/dev/null),\
                  $(BUILD)/perf/compare/mpi_pingpong)
ALL += $(PERF_RPC_PROGS) $(PERF_RPC_MPI)

.PHONY: perf-rpc
perf-rpc: $(PERF_RPC_PROGS) $(PERF_RPC_MPI)

$(PERF_RPC_PROGS:%=%.o) $(BUILD)/perf/rpc_bench.o: \
	CPPFLAGS += -Irpc/include -Ilibos/include

# rpc_bench.o: the setup, server and end-of-run check both tools share.
$(PERF_RPC_PROGS): $(BUILD)/perf/%: $(BUILD)/perf/%.o \
	$(BUILD)/perf/rpc_bench.o $(PERF_COMMON) $(LIBRPC) \
	$(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(VERBS_LIBS) -lm

# Open MPI's wrapper compiler with our CFLAGS (warnings are errors), as
# perf/os's mpi_hello; mpi.h is a system header to it.
$(BUILD)/perf/compare/mpi_pingpong: perf/compare/mpi_pingpong.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MPICC   $@")
	$(Q)$(MPICC) $(CFLAGS) $(LDFLAGS) -o $@ $<
