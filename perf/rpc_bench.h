/*
 * What rpc_lat and rpc_tput share: perf_common's TCP exchange and device,
 * then a libos loop, an arena and an rpc instance with up to RB_MAX_PEERS
 * peers, the server's handlers and loop, and the end-of-run check that the
 * server served every call the client made.
 */
#ifndef SKIFF_PERF_RPC_BENCH_H
#define SKIFF_PERF_RPC_BENCH_H

#include <stdint.h>

#include <skiff/rpc.h>

#include "perf_common.h"

#define RB_HANDLER_STOP  0       /* the client's last call */
#define RB_HANDLER_SIZED 1       /* answers as many bytes, unwritten */
#define RB_HANDLER_ECHO  2       /* answers the request's bytes */
#define RB_MAX_PEERS 4

struct rb {
	struct perf_ctx      c;
	struct sk_loop      *loop;
	struct sk_arena     *arena;
	struct sk_rpc       *rpc;
	struct sk_rpc_peer  *peer[RB_MAX_PEERS];
	unsigned             npeers;
	unsigned long        turns, idle_turns; /* server loop */
	unsigned long        resp_fail;         /* server: respond() failed */
	int                  stop;              /* server: the stop call came */
};

/* Whether option -@s or --@l is on the command line (perf_opts_parse has
 * parsed it; this tells "given" from "defaulted"). */
int rb_opt_given(int argc, char **argv, char s, const char *l);
/*
 * Loop, arena and rpc over perf_common's device, with @npeers peers: the
 * first over perf_common's endpoint, the others over endpoints made here.
 * Both sides add them in the same order.
 */
int rb_setup(struct rb *b, unsigned npeers);
void rb_teardown(struct rb *b);
/*
 * Both tools' start, after their own option checks: perf_ctx_init(), a
 * server's check of the client's size against @max (@limit says why in
 * the message: "at most"), rb_setup() with @npeers, the header block;
 * then a server serves (rb_serve) and is done. Returns -1 for a client to
 * go on, or the exit status to return (all undone).
 */
int rb_start(struct rb *b, const struct perf_opts *o, size_t max,
	     const char *limit, unsigned npeers);
/* The untimed calls before a timed run of @iters: a tenth, at least 10. */
unsigned long rb_warmup(unsigned long iters);
/* Server: serve until the client's stop call, then answer its "done" with
 * the number of calls served. */
int rb_serve(struct rb *b);
/* Client: the stop call, then "done"; the server must have served our
 * @calls and the stop call. */
int rb_done(struct rb *b, uint64_t calls);

#endif /* SKIFF_PERF_RPC_BENCH_H */
