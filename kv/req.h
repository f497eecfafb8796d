/*
 * kv requests, private to req*.c: a request's state while in flight and
 * what the three files share.
 *
 *   req.c      the API (post, progress, wait, batch), a request's life,
 *              the read buffer, the queues and the pump, failed owners
 *   req_get.c  the one-sided GET as a state machine, and access hints
 *   req_rpc.c  updates and the rpc GET: sk_rpc_call with a continuation
 */
#ifndef SK_KV_REQ_H
#define SK_KV_REQ_H

#include <stdbool.h>

#include "kv_int.h"
#include "loc.h"

#pragma GCC visibility push(hidden) /* kv's own (kv_int.h) */

typedef bool (*kv_step_fn)(struct sk_kv *kv, struct sk_kv_req_priv *op);

struct sk_kv_req_priv {
	struct sk_op rd;            /* first: the READ's completion context */
	struct sk_kv *kv;
	struct sk_kv_req *req;      /* NULL once lost */
	struct sk_kv_req_priv *next, *prev;
	kv_step_fn step;            /* what the pump runs next */
	unsigned rank;
	struct kv_part *kp;
	int lost;                   /* its READ outlived its owner */
	/* GET */
	struct sk_kv_plan plan;
	unsigned ncand, ci, tries;  /* cands: at the end */
	uint64_t t0;
	int pair;                   /* landing place, -1: none */
	unsigned unit, nunits;      /* item landing run; nunits 0: none */
	sk_status_t rd_status;
	/* READs posted and not yet completed (one at a time); a GET with
	 * a location cache entry (loc.h) READs the entry's item alone
	 * first, lc: the entry, as it was at the post. */
	unsigned nrd;
	struct kv_loc lc;
	/* rpc */
	uint16_t id;
	int big;                    /* the response to a pool buffer */
	void *qbuf;                 /* pool buffer of a large request */
	void *resp;                 /* pool buffer of a large response */
	int rc;
	sk_status_t st;
	enum sk_kv_res res;
	/* Last, and not zeroed by kv_op_new: only the first ncand are
	 * read, and sk_kv_read_pick writes them. */
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
};

/* req.c */
void kv_enq(struct kv_q *q, struct sk_kv_req_priv *op);
void kv_enq_front(struct kv_q *q, struct sk_kv_req_priv *op);
struct sk_kv_req_priv *kv_deq(struct kv_q *q);
void *kv_pair_at(struct sk_kv *kv, const struct sk_kv_req_priv *op);
void *kv_item_at(struct sk_kv *kv, const struct sk_kv_req_priv *op);
/* A run of @n free units of the item area, first fit. */
bool kv_units_get(struct sk_kv *kv, unsigned n, unsigned *at_p);
void kv_units_put(struct sk_kv *kv, struct sk_kv_req_priv *op);
struct sk_kv_req_priv *kv_op_new(struct sk_kv *kv);
void kv_op_free(struct sk_kv *kv, struct sk_kv_req_priv *op);
/* End @op's request with @st and @res; always true (a step's result). */
bool kv_finish(struct sk_kv *kv, struct sk_kv_req_priv *op, sk_status_t st,
	       enum sk_kv_res res);
void kv_req_value(struct sk_kv_req *req, const void *value, uint32_t vlen,
		  uint32_t flags, uint64_t cas, uint32_t exptime,
		  unsigned state);
/* Whether a GET's answer is its owner's to give (the request then goes by
 * rpc): a miss (@iv NULL) with SK_KV_META_VIVIFY, or a hit whose token a
 * SK_KV_META_WIN request would win (a stale item) or a RECACHE one may
 * (an expiry before recache, by @owner_now, the owner's clock as the
 * reader estimates it: a second early, the owner deciding). Both change
 * the item, which one-sided READs cannot. */
static inline bool kv_get_owner_decides(const struct sk_kv_req *req,
					const struct sk_kv_item_view *iv,
					uint32_t owner_now)
{
	if (iv == NULL)
		return (req->meta & SK_KV_META_VIVIFY) != 0;
	if (iv->state & SK_KV_ITEM_TOKEN)
		return false;
	if ((req->meta & SK_KV_META_WIN) && (iv->state & SK_KV_ITEM_STALE))
		return true;
	return (req->meta & SK_KV_META_RECACHE) &&
	       iv->exptime != SK_KV_EXP_NEVER &&
	       (uint64_t)iv->exptime <
		       sk_kv_exptime_abs(req->recache, owner_now) + 1;
}
/* Whether GET @req may change its item (an mg's: a token to win, an item
 * to create): then the owner serves it as an update (KV_RPC_TOUCH). */
static inline bool kv_get_may_change(const struct sk_kv_req *req)
{
	return (req->meta & (SK_KV_META_WIN | SK_KV_META_VIVIFY |
			     SK_KV_META_RECACHE)) != 0;
}
/* KV_RPC_DELETE's mode for @req. */
static inline uint32_t kv_delete_mode(const struct sk_kv_req *req)
{
	if (!(req->meta & SK_KV_META_INVALIDATE))
		return 0;
	return KV_DELETE_STALE |
	       (req->meta & SK_KV_META_TTL ? KV_DELETE_TTL : 0);
}
/* KV_RPC_TOUCH's mode for @req (a TOUCH, a GAT, or a GET with meta). */
static inline uint32_t kv_touch_mode(const struct sk_kv_req *req)
{
	uint32_t mode = KV_TOUCH_ANSWER;

	if (req->cmd == SK_KV_CMD_TOUCH)
		return KV_TOUCH_TTL;
	if (req->cmd == SK_KV_CMD_GAT)
		mode |= KV_TOUCH_TTL;
	if (req->meta & SK_KV_META_WIN)
		mode |= KV_TOUCH_WIN;
	if (req->meta & SK_KV_META_VIVIFY)
		mode |= KV_TOUCH_VIVIFY;
	if (req->meta & SK_KV_META_RECACHE) {
		mode |= KV_TOUCH_RECACHE;
		if (req->meta & SK_KV_META_RECACHE_OLD)
			mode |= KV_TOUCH_RECACHE_OLD;
	}
	return mode;
}

/* req_get.c. Steps return false when the request had to wait (queued). */
bool kv_get_pair(struct sk_kv *kv, struct sk_kv_req_priv *op);
/* A planned GET's first step: both READs at once with a young location
 * cache entry, else the pair. */
bool kv_get_start(struct sk_kv *kv, struct sk_kv_req_priv *op);
/* A blocking GET of @req's key (hash @h) in @kp, mapped here, done on the
 * spot: true with req->res (and the value) set; false when the request
 * must take the general path (req_get.c says when). */
#define KV_DIRECT_ITEM_MAX 1024u
bool kv_get_direct(struct sk_kv *kv, struct kv_part *kp, uint64_t h,
		   struct sk_kv_req *req);
/* The client changes the key of @key_hash (kv_key_hash): its location
 * cache entry goes. */
void kv_loc_forget(struct sk_kv *kv, uint64_t key_hash);
/* sk_kv_get's first try: true when @req (a GET) was answered on the spot
 * (kv_get_direct), with req->status and req->res set. */
bool kv_get_now(struct sk_kv *kv, struct sk_kv_req *req);
bool kv_get_by_rpc(struct sk_kv *kv, struct sk_kv_req_priv *op);
void kv_hint_add(struct sk_kv *kv, unsigned rank, uint64_t h);
void kv_hints_flush(struct sk_kv *kv);

/* req_rpc.c */
bool kv_rpc_send(struct sk_kv *kv, struct sk_kv_req_priv *op);

#pragma GCC visibility pop

#endif
