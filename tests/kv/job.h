/*
 * What kv's skrun test jobs (tests/kv/kv_job.c and its siblings) share: this rank's number
 * for their messages, FAIL (say what failed, prefixed with the rank, and
 * exit 1, which skrun turns into the job's status), and a small xorshift
 * generator. One program per job: the state is each program's own.
 */
#ifndef SKIFF_TESTS_KV_JOB_H
#define SKIFF_TESTS_KV_JOB_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <skiff/kv.h>
#include <skiff/rpc.h>

static unsigned me;

#define FAIL(...) do {                                                  \
	printf("rank %u: ", me);                                        \
	printf(__VA_ARGS__);                                            \
	printf("\n");                                                   \
	fflush(stdout);                                                 \
	exit(1);                                                        \
} while (0)

/* rpc, then the table over it, as every job starts; a failure ends the
 * rank. */
static inline struct sk_kv *job_open(struct sk_rpc **rpc_p,
				     const struct sk_kv_attr *attr)
{
	struct sk_kv *kv;
	sk_status_t st;

	st = sk_rpc_open(rpc_p);
	if (st != SK_OK)
		FAIL("sk_rpc_open: %s", sk_status_str(st));
	st = sk_kv_open(*rpc_p, attr, &kv);
	if (st != SK_OK)
		FAIL("sk_kv_open: %s", sk_status_str(st));
	return kv;
}

/* xorshift64: @x must not be 0. */
static inline uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#endif
