# perf/os: benchmarks of the library OS and skrun (boot, console, files, idle).
#
# Skiff nodes (linked through libos, -Wl,--wrap=main):
#   sk_hello       one line per rank; perf/compare-boot.sh times skrun with it
#   sk_connect     the cost of connecting nodes on first use
#   sk_console_bw  MiB of text to stdout; perf/compare-os-io.sh
#   sk_file_bw     a file written and read back through the host; the same
#   sk_file_shared N nodes' slices of one file (perf/compare-mpiio.sh)
#   sk_console_lat a node's console latency beside a checkpoint
#   sk_idle        sleeps on its loop; perf/os/idle-cpu.sh
# Plain programs:
#   mpi_hello      the Open MPI reference of compare-boot.sh (mpicc); built
#                  only where mpicc is installed
#   mpi_file_bw    the MPI-IO reference of compare-mpiio.sh (mpicc)
#   walltime       runs a command, prints its wall time (CLOCK_MONOTONIC)
#   linelat        reads sk_console_lat's lines, prints their latency

PERF_OS_NODES := $(addprefix $(BUILD)/perf/os/,sk_hello sk_connect \
                 sk_console_bw sk_file_bw sk_file_shared sk_console_lat \
                 sk_idle)
PERF_OS_TOOLS := $(BUILD)/perf/os/walltime $(BUILD)/perf/os/linelat
MPICC         ?= mpicc
PERF_OS_MPI   := $(if $(shell command -v $(MPICC) 2>/dev/null),\
                 $(BUILD)/perf/os/mpi_hello $(BUILD)/perf/os/mpi_file_bw)
ALL += $(PERF_OS_NODES) $(PERF_OS_TOOLS) $(PERF_OS_MPI)

.PHONY: perf-os
perf-os: $(PERF_OS_NODES) $(PERF_OS_TOOLS) $(PERF_OS_MPI) $(BUILD)/bin/skrun

$(PERF_OS_NODES:%=%.o): CPPFLAGS += -Ilibos/include

$(PERF_OS_NODES): $(BUILD)/perf/os/%: $(BUILD)/perf/os/%.o $(LIBOS) $(LIBVERBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) $(SKIFF_APP_LDFLAGS) -o $@ \
		$(filter %.o %.a,$^) $(VERBS_LIBS)

$(PERF_OS_TOOLS): $(BUILD)/perf/os/%: $(BUILD)/perf/os/%.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $<

# Open MPI's wrapper compiler, with the same warnings; mpi.h is a system
# header to it. Not under $(BUILD)/%.o's rule: no -I of ours is needed.
$(BUILD)/perf/os/mpi_hello $(BUILD)/perf/os/mpi_file_bw: \
		$(BUILD)/perf/os/%: perf/os/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  MPICC   $@")
	$(Q)$(MPICC) $(CFLAGS) $(LDFLAGS) -o $@ $<
