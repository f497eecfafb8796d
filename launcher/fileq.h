/*
 * skrun's file threads: the file service's system calls (fileserv.c) run
 * here, off the service loop, so that a slow disk or a FIFO that waits
 * for data holds up only the node that asked, never another node's
 * console, stdin or boot.
 *
 * The loop's thread submits a request; a worker runs its ->work; the loop's
 * thread then runs its ->done, woken by an eventfd it watches. Workers are
 * started as requests need them, up to SK_FILEQ_THREADS; past that,
 * requests wait in order. Requests of one key run one at a time, in order
 * (skrun keys a file's buffered writes: see fileq.c). Nothing in ->work may touch the fabric, the loop
 * or anything else of the loop's thread: only the request and the files
 * it names.
 */
#ifndef SKIFF_LAUNCHER_FILEQ_H
#define SKIFF_LAUNCHER_FILEQ_H

#include <stdbool.h>
#include <stdint.h>

#include <skiff/loop.h>

/* At most this many requests run at once (each can wait in a system
 * call as long as its file makes it). */
#define SK_FILEQ_THREADS 16

struct sk_fileq_req {
	struct sk_fileq_req *next;
	/* Not 0: never runs beside another request of the same key; those
	 * run in the order they were submitted. */
	uint64_t             key;
	void (*work)(struct sk_fileq_req *req); /* on a worker */
	void (*done)(struct sk_fileq_req *req); /* on the loop's thread */
};

/* Watch the completions on @loop. 0, or -errno. */
int sk_fileq_init(struct sk_loop *loop);
/* Queue @req; its ->done follows on the loop's thread, never inside this
 * call. With no worker and none that can start, ->work runs here. */
void sk_fileq_submit(struct sk_fileq_req *req);
/* Whether requests are queued or running: the loop's thread then sleeps
 * rather than spins while it waits (skrun.c), leaving the cores to them. */
bool sk_fileq_busy(void);
/* How many requests are queued or running. */
unsigned sk_fileq_load(void);
/* Stop the workers that are idle, and tell the others to stop when
 * their request returns. Returns how many requests are still running or
 * queued: their memory must outlive the process's exit. */
unsigned sk_fileq_stop(void);

#endif /* SKIFF_LAUNCHER_FILEQ_H */
