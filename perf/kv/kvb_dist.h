/*
 * kvbench's random parts: a 64-bit generator, the zipfian key chooser
 * YCSB uses (Gray et al., "Quickly generating billion-record synthetic
 * databases", SIGMOD 1994), and a log-linear latency histogram whose
 * percentiles are within 1/64 of the true sample. No Skiff dependency:
 * kvb_zipf_check tests the first two alone.
 */
#ifndef SKIFF_PERF_KVB_DIST_H
#define SKIFF_PERF_KVB_DIST_H

#include <stdint.h>

/* splitmix64 (Steele et al.): one 64-bit word of state, full period. */
static inline uint64_t kvb_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double kvb_rand_unit(uint64_t *s)
{
	return (double)(kvb_rand(s) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n >= 1 (Lemire's multiply; bias below 2^-32 for
 * the n kvbench uses). */
static inline uint64_t kvb_rand_below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)kvb_rand(s) * n) >> 64);
}

/*
 * Zipfian ranks 0..n-1, P(i) proportional to 1 / (i + 1)^theta, 0 < theta
 * < 1; rank 0 is the most popular. Two methods:
 * - KVB_ZIPF_EXACT (the default): rejection-inversion (Hoermann and
 *   Derflinger, "Rejection-inversion to generate variates from monotone
 *   discrete distributions", ACM TOMACS 1996), exact, O(1) time and space
 *   per draw, about 1.1 uniform draws each.
 * - KVB_ZIPF_GRAY: Gray et al.'s inversion, exactly as YCSB's
 *   ZipfianGenerator: ranks 0 and 1 exact, the others from the integral's
 *   closed form, which gives rank 2 19% too much mass at n = 10^5, theta
 *   0.99 (kvb_zipf_check). Kept to compare with YCSB's own figures.
 */
enum kvb_zipf_method { KVB_ZIPF_EXACT, KVB_ZIPF_GRAY };

struct kvb_zipf {
	enum kvb_zipf_method method;
	uint64_t n;
	double theta;
	/* Gray: */
	double alpha, zetan, eta, half_pow_theta;
	/* rejection-inversion: */
	double hx1, hn, s;
};

/* zeta(n, theta) = sum over i = 1..n of 1 / i^theta. */
double kvb_zeta(uint64_t n, double theta);
/* Returns 0, or -1 for n < 2 or theta outside (0, 1). O(n) once for
 * Gray's method (zeta(n)), O(1) for the exact one. */
int kvb_zipf_init(struct kvb_zipf *z, enum kvb_zipf_method method,
		  uint64_t n, double theta);
uint64_t kvb_zipf_next(const struct kvb_zipf *z, uint64_t *rng);

/*
 * Latencies in ns: values below 128 exactly, above in 64 steps per power
 * of two (so a percentile is off by at most 1/64 of itself), up to 2^40 ns
 * (18 minutes; larger ones land in the last bucket).
 */
#define KVB_HIST_EXACT 128u
#define KVB_HIST_SUB   64u
#define KVB_HIST_OCT   34u  /* 2^7 .. 2^40 */
#define KVB_HIST_LEN   (KVB_HIST_EXACT + KVB_HIST_OCT * KVB_HIST_SUB)

struct kvb_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	uint64_t b[KVB_HIST_LEN];
};

void kvb_hist_add(struct kvb_hist *h, uint64_t ns);
void kvb_hist_merge(struct kvb_hist *into, const struct kvb_hist *h);
/* The value (ns, the middle of its bucket) below which a fraction @p of
 * the samples lie; 0 for an empty histogram. */
double kvb_hist_pct(const struct kvb_hist *h, double p);

#endif /* SKIFF_PERF_KVB_DIST_H */
