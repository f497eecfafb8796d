/*
 * Private to libos: the node's state and its calls to the host.
 */
#ifndef SKIFF_LIBOS_NODE_H
#define SKIFF_LIBOS_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <skiff/arena.h>
#include <skiff/chan.h>
#include <skiff/hostproto.h>
#include <skiff/loop.h>
#include <skiff/verbs.h>

/* One request to the host, waiting for its reply. */
struct sk_hcall {
	bool     busy;
	bool     done;
	bool     async;    /* nobody waits: the reply only frees the call */
	uint64_t req_id;
	int64_t  result;
	void    *reply;    /* where the reply's payload goes */
	size_t   reply_cap;
	size_t   reply_len;
};

struct sk_node {
	bool             booted;
	bool             sealed;
	bool             down;     /* finalized or the host link failed */
	unsigned         rank, size;
	uint64_t         job_id;
	struct sk_dev   *dev;
	struct sk_loop  *loop;
	struct sk_arena *arena;
	struct sk_ep    *host_ep;
	struct sk_ep   **peers;    /* [size], NULL for self */
	struct sk_chan   chan;
	struct sk_hcall  calls[SK_HMSG_SLOTS];
	unsigned         ncalls;   /* busy calls */
	uint64_t         next_req;
	char            *bounce;   /* SK_HMSG_BULK_MAX bytes in the arena */
};

extern struct sk_node sk_node;

/*
 * Send a request and wait for its reply: the reply's payload (at most
 * @reply_cap bytes) lands in @reply, its length in *@reply_len_p (may be
 * NULL). Returns the reply's result (>= 0, or a negated errno), or
 * -ENOTCONN when the host link is down, -EIO when the reply was malformed.
 */
int64_t sk_node_call(uint16_t type, uint16_t flags, const void *p1,
		     size_t len1, const void *p2, size_t len2, void *reply,
		     size_t reply_cap, size_t *reply_len_p);
/* Send a request whose reply nobody waits for (console output). Returns
 * 0 or -ENOTCONN. */
int sk_node_post(uint16_t type, uint16_t flags, const void *p1, size_t len1);
/* Wait until every request sent so far has its reply. */
void sk_node_drain(void);
/* The same, for at most @ms milliseconds (crash paths). */
void sk_node_drain_ms(unsigned ms);

/* console.c */
void sk_console_install(void);
void sk_console_flush(void);
/* seal.c */
int sk_seal(void);

#endif /* SKIFF_LIBOS_NODE_H */
