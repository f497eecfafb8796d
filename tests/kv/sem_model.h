/* SPDX-License-Identifier: MIT */
/*
 * tests/kv/sem_model.h - a sequential, single-node reference model of kv's
 * memcached semantics, with a memcached text-protocol front end.
 *
 * An in-memory table driven only through kv/sem.h's functions. It exists
 * for tests: the differential test feeds it the bytes it sends a real
 * memcached and compares the replies; the linearizability checker can use
 * it as the sequential specification. Not fast (a linear list), not
 * concurrent, and it stops at an incomplete command.
 */
#ifndef SKIFF_TESTS_KV_SEM_MODEL_H
#define SKIFF_TESTS_KV_SEM_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct skm;

struct skm_buf {
	char *p;
	size_t len, cap;
};

/* now() gives the model's clock in whole Unix seconds. */
struct skm *skm_new(uint64_t (*now)(void *arg), void *arg);
void skm_free(struct skm *m);

/*
 * Runs every complete command in in[0..len) as memcached 1.6.18's text
 * protocol would, appending the replies to out. Returns the bytes used;
 * the rest is an incomplete command. -1 if out of memory.
 */
long skm_exec(struct skm *m, const char *in, size_t len, struct skm_buf *out);

/* Appends n bytes to b; -1 if out of memory. */
int skm_buf_put(struct skm_buf *b, const void *p, size_t n);
void skm_buf_free(struct skm_buf *b);

#endif
