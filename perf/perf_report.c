/*
 * perftest-format tables and the verification pattern (perf_report.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "perf_report.h"

void perf_print_line(void)
{
	printf("---------------------------------------------------------------"
	       "------------------------\n");
}

void perf_lat_print_head(void)
{
	printf(" #bytes #iterations    t_min[usec]    t_max[usec]  "
	       "t_typical[usec]    t_avg[usec]    t_stdev[usec]   "
	       "99%% percentile[usec]   99.9%% percentile[usec] \n");
}

static int perf_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void perf_lat_print_row(size_t size, unsigned long iters, uint64_t *ns,
			size_t n, unsigned divisor)
{
	double f = 1000.0 * divisor, sum = 0, var = 0, avg;

	if (n == 0)
		return;
	qsort(ns, n, sizeof(*ns), perf_cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)ns[i];
	avg = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		var += ((double)ns[i] - avg) * ((double)ns[i] - avg);
	/* perftest prints two decimals; a READ in shared memory (ucx on one
	 * host) takes 60 ns, which two decimals round by up to 8%: three. */
	printf(" %-7zu %-10lu %-7.3f        %-7.3f      %-7.3f          "
	       " %-7.3f        %-7.3f         %-7.3f                %-7.3f\n",
	       size, iters, (double)ns[0] / f, (double)ns[n - 1] / f,
	       (double)ns[n / 2] / f, avg / f, sqrt(var / (double)n) / f,
	       (double)ns[(size_t)((double)n * 0.99)] / f,
	       (double)ns[(size_t)((double)n * 0.999)] / f);
}

void perf_bw_print_head(void)
{
	printf(" #bytes     #iterations    BW peak[MB/sec]    "
	       "BW average[MB/sec]   MsgRate[Mpps]\n");
}

void perf_bw_print_row(size_t size, unsigned long iters, double peak_mbs,
		       double avg_mbs, double mpps)
{
	printf(" %-7zu    %-10lu       %-7.2f            %-7.2f              "
	       "%-7.6f\n", size, iters, peak_mbs, avg_mbs, mpps);
}

/* ---- patterns ---- */

static inline uint64_t perf_xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

void perf_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)perf_xorshift(&x);
}

long perf_check(const void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)perf_xorshift(&x))
			return (long)i;
	return -1;
}
