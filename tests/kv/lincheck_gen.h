/*
 * Histories that are linearizable by construction, for testing the
 * checker and measuring it: a random sequential run of memcached
 * operations on a few keys, against a reference item per key written
 * apart from the checker's model, then given overlapping times that
 * contain each operation's place in that run.
 */
#ifndef SKIFF_TESTS_KV_LINCHECK_GEN_H
#define SKIFF_TESTS_KV_LINCHECK_GEN_H

#include "lincheck.h"

struct sk_lc_gen_opts {
	uint64_t seed;
	unsigned nkeys;	   /* 1 to 1000 */
	unsigned nops;	   /* in all */
	unsigned nclients; /* 1 to 1000 */
	/* Percent of operations that time out: applied at their point but
	 * unanswered, or (lost_pct of those) never applied at all. */
	unsigned timeout_pct;
	unsigned lost_pct;
};

/*
 * Append a generated history to @h (freshly initialized). Operation i of
 * the sequential run takes effect at time 1000 + 100 * i ns; its
 * interval contains that point and overlaps up to nclients - 2 others;
 * no client has two operations in flight. Returns 0, or -1 on bad
 * options or no memory.
 */
int sk_lc_gen(struct sk_lc_history *h, const struct sk_lc_gen_opts *o);

#endif /* SKIFF_TESTS_KV_LINCHECK_GEN_H */
