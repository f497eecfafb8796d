/*
 * The perf tools' clock, perftest-format tables and data patterns. The
 * scripts (perf/compare-*.sh) parse these tables, so their columns are
 * perftest's, to the byte.
 *
 * Nothing here touches Skiff verbs: perf/compare/ucp_get_lat prints its
 * table with the same functions, so its statistics are sk_read_lat's.
 */
#ifndef SKIFF_PERF_REPORT_H
#define SKIFF_PERF_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t perf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void perf_print_line(void);

void perf_lat_print_head(void);

/*
 * Sort @ns (@n samples, nanoseconds) and print one perftest latency row:
 * min, max, typical (median), average, stdev, 99% and 99.9% percentiles,
 * each divided by @divisor (2 for half round trips).
 */
void perf_lat_print_row(size_t size, unsigned long iters, uint64_t *ns,
			size_t n, unsigned divisor);

void perf_bw_print_head(void);
void perf_bw_print_row(size_t size, unsigned long iters, double peak_mbs,
		       double avg_mbs, double mpps);

/* ---- data patterns for verification ---- */

void perf_fill(void *buf, size_t len, uint64_t seed);

/* Returns the offset of the first byte that differs from perf_fill()'s
 * pattern, or -1 if all match. */
long perf_check(const void *buf, size_t len, uint64_t seed);

#endif /* SKIFF_PERF_REPORT_H */
