# perf: the fuzz target of the benchmarks' TCP exchange checks.
#
# It runs the very checks the tools run (perf_hello.c's hello, perf_sock.c's
# blob length check); neither calls into Skiff verbs, so no verbs source or
# library is linked, only their headers.

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_perf_hello
$(FUZZ_BUILD)/fuzz_perf_hello: tests/fuzz/fuzz_perf_hello.c \
	perf/perf_hello.c perf/perf_sock.c $(wildcard perf/perf_*.h) \
	$(wildcard verbs/include/skiff/*.h verbs/internal/skiff/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Iperf -o $@ tests/fuzz/fuzz_perf_hello.c \
		perf/perf_hello.c perf/perf_sock.c
