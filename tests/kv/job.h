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

static unsigned me;

#define FAIL(...) do {                                                  \
	printf("rank %u: ", me);                                        \
	printf(__VA_ARGS__);                                            \
	printf("\n");                                                   \
	fflush(stdout);                                                 \
	exit(1);                                                        \
} while (0)

/* xorshift64: @x must not be 0. */
static inline uint64_t rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#endif
