# perf: the fuzz target of the benchmarks' TCP exchange checks.
#
# perf_common.c is compiled whole; its socket and device code needs the
# verbs sources and libraries to link, as fuzz_blobs does, though the
# target calls only the pure checks (perf_hello_parse and friends).

FUZZ_TARGETS += $(FUZZ_BUILD)/fuzz_perf_hello
$(FUZZ_BUILD)/fuzz_perf_hello: tests/fuzz/fuzz_perf_hello.c \
	perf/perf_common.c perf/perf_common.h $(VERBS_SRC) \
	$(wildcard verbs/*.h verbs/include/skiff/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)clang $(FUZZ_CFLAGS) -Iperf -o $@ tests/fuzz/fuzz_perf_hello.c \
		perf/perf_common.c $(VERBS_SRC) $(VERBS_LIBS) -lm
