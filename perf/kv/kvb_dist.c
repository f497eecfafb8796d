/*
 * kvbench's key chooser and latency histogram (kvb_dist.h).
 *
 * The zipfian generator is Gray et al.'s, as YCSB's ZipfianGenerator
 * (core/src/main/java/site/ycsb/generator/ZipfianGenerator.java) has it:
 *
 *	alpha = 1 / (1 - theta)
 *	eta   = (1 - (2 / n)^(1 - theta)) / (1 - zeta(2) / zeta(n))
 *	u uniform in [0, 1), uz = u * zeta(n):
 *	uz < 1                -> 0
 *	uz < 1 + 0.5^theta    -> 1
 *	otherwise             -> n * (eta * u - eta + 1)^alpha
 *
 * That is an approximation past rank 1 (kvb_dist.h), so kvbench draws by
 * rejection-inversion by default, whose h(x) = x^-theta, H(x) = (x^(1 -
 * theta) - 1) / (1 - theta) the integral of h, and draw: u uniform in
 * (H(1.5) - 1, H(n + 0.5)], x = H^-1(u), k = round(x); accept k when k - x
 * <= s (a constant) or u >= H(k + 0.5) - h(k). Accepted k has exactly
 * P(k) = k^-theta / zeta(n); rank = k - 1. (As Apache Commons RNG's
 * RejectionInversionZipfSampler.)
 *
 * YCSB then scrambles ranks with a hash so that popular keys are not
 * neighbours; kv places keys by a keyed SipHash already, so kvbench uses
 * the ranks as they come (key i is the i-th most popular).
 */
#include <math.h>

#include "kvb_dist.h"

double kvb_zeta(uint64_t n, double theta)
{
	double sum = 0;

	/* Smallest terms first: the sum of 10^7 terms keeps its digits. */
	for (uint64_t i = n; i >= 1; i--)
		sum += 1.0 / pow((double)i, theta);
	return sum;
}

/* log1p(x) / x and expm1(x) / x, accurate near 0. */
static double kvb_h1(double x)
{
	return fabs(x) > 1e-8 ? log1p(x) / x :
				1 - x * (0.5 - x * (1.0 / 3 - 0.25 * x));
}

static double kvb_h2(double x)
{
	return fabs(x) > 1e-8 ? expm1(x) / x :
				1 + x * 0.5 * (1 + x / 3 * (1 + 0.25 * x));
}

static double kvb_h(const struct kvb_zipf *z, double x)
{
	return exp(-z->theta * log(x));
}

static double kvb_hint(const struct kvb_zipf *z, double x)
{
	double lx = log(x);

	return kvb_h2((1 - z->theta) * lx) * lx;
}

static double kvb_hint_inv(const struct kvb_zipf *z, double x)
{
	double t = x * (1 - z->theta);

	if (t < -1)
		t = -1;
	return exp(kvb_h1(t) * x);
}

int kvb_zipf_init(struct kvb_zipf *z, enum kvb_zipf_method method,
		  uint64_t n, double theta)
{
	double zeta2;

	if (n < 2 || !(theta > 0 && theta < 1))
		return -1;
	z->method = method;
	z->n = n;
	z->theta = theta;
	if (method == KVB_ZIPF_EXACT) {
		z->hx1 = kvb_hint(z, 1.5) - 1;
		z->hn = kvb_hint(z, (double)n + 0.5);
		z->s = 2 - kvb_hint_inv(z, kvb_hint(z, 2.5) - kvb_h(z, 2));
		return 0;
	}
	z->alpha = 1.0 / (1.0 - theta);
	z->zetan = kvb_zeta(n, theta);
	zeta2 = kvb_zeta(2, theta);
	z->eta = (1.0 - pow(2.0 / (double)n, 1.0 - theta)) /
		 (1.0 - zeta2 / z->zetan);
	z->half_pow_theta = pow(0.5, theta);
	return 0;
}

static uint64_t kvb_zipf_exact(const struct kvb_zipf *z, uint64_t *rng)
{
	for (;;) {
		double u = z->hn + kvb_rand_unit(rng) * (z->hx1 - z->hn);
		double x = kvb_hint_inv(z, u);
		double k = floor(x + 0.5);

		if (k < 1)
			k = 1;
		else if (k > (double)z->n)
			k = (double)z->n;
		if (k - x <= z->s || u >= kvb_hint(z, k + 0.5) - kvb_h(z, k))
			return (uint64_t)k - 1;
	}
}

uint64_t kvb_zipf_next(const struct kvb_zipf *z, uint64_t *rng)
{
	double u, uz;
	uint64_t r;

	if (z->method == KVB_ZIPF_EXACT)
		return kvb_zipf_exact(z, rng);
	u = kvb_rand_unit(rng);
	uz = u * z->zetan;

	if (uz < 1.0)
		return 0;
	if (uz < 1.0 + z->half_pow_theta)
		return 1;
	r = (uint64_t)((double)z->n * pow(z->eta * u - z->eta + 1.0,
					   z->alpha));
	return r < z->n ? r : z->n - 1;
}

static unsigned kvb_hist_idx(uint64_t v)
{
	unsigned e;

	if (v < KVB_HIST_EXACT)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* >= 7 */
	if (e >= 7 + KVB_HIST_OCT)
		return KVB_HIST_LEN - 1;
	return KVB_HIST_EXACT + (e - 7) * KVB_HIST_SUB +
	       (unsigned)((v >> (e - 6)) & (KVB_HIST_SUB - 1));
}

/* The middle of bucket @i. */
static double kvb_hist_mid(unsigned i)
{
	unsigned e, sub;

	if (i < KVB_HIST_EXACT)
		return i;
	e = 7 + (i - KVB_HIST_EXACT) / KVB_HIST_SUB;
	sub = (i - KVB_HIST_EXACT) % KVB_HIST_SUB;
	return (double)((uint64_t)(KVB_HIST_SUB + sub) << (e - 6)) +
	       (double)(1ull << (e - 6)) / 2.0;
}

void kvb_hist_add(struct kvb_hist *h, uint64_t ns)
{
	h->b[kvb_hist_idx(ns)]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

void kvb_hist_merge(struct kvb_hist *into, const struct kvb_hist *h)
{
	for (unsigned i = 0; i < KVB_HIST_LEN; i++)
		into->b[i] += h->b[i];
	into->count += h->count;
	into->sum_ns += h->sum_ns;
	if (h->max_ns > into->max_ns)
		into->max_ns = h->max_ns;
}

double kvb_hist_pct(const struct kvb_hist *h, double p)
{
	uint64_t need, cum = 0;

	if (h->count == 0)
		return 0;
	need = (uint64_t)ceil(p * (double)h->count);
	if (need == 0)
		need = 1;
	for (unsigned i = 0; i < KVB_HIST_LEN; i++) {
		cum += h->b[i];
		if (cum >= need)
			return kvb_hist_mid(i);
	}
	return (double)h->max_ns;
}
