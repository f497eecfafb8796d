/*
 * kv requests: the asynchronous API of kv.h (sk_kv_post, sk_kv_progress,
 * sk_kv_wait, sk_kv_batch), the one path every call takes (client.c's
 * blocking calls post one request and wait for it). Owns a request's
 * life (struct sk_kv_req_priv, req.h), the read buffer where READs land,
 * the queues of requests waiting for a resource and the pump that runs
 * them, the local path, and what happens to requests when an owner fails.
 * The GET's steps are req_get.c's, the rpc's req_rpc.c's; the queues and a
 * request's life req_core.c's, first contact with an owner contact.c's.
 *
 * A request is a state machine stepped from sk_kv_post and from the pump
 * (kv_pump), never from a completion callback: READ completions and rpc
 * continuations only record what came and queue the request on ready_q,
 * so a step never runs inside another one.
 *
 * What a GET may wait for, in a queue,
 * without blocking anyone: a place among the SK_RPC_EP_SHARE READs it may
 * have outstanding on the owner's endpoint (rpc.h, sk_rpc_peer_ep), and
 * room in the item area (a large item waits for the small ones ahead; if
 * only lost READs hold room, it asks by rpc).
 *
 * Updates and the rpc GET are sk_rpc_call with a continuation; with no
 * credit (SK_ERR_AGAIN) or no pool buffer they wait in their owner's
 * rpc_wait and are sent again from the pump.
 *
 * A failed owner: on ucx a READ held past the liveness bound is dropped
 * with its endpoint, without a completion (rpc/core.c). So when an
 * owner's peer fails, its READs are lost: their requests end at once with
 * SK_ERR_UNREACHABLE, while the READ keeps its landing place (kv->lost)
 * until it completes, if ever; sk_kv_close frees them regardless.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"

/* ---- the pump ---- */

/* Run the ops of @q that can go on now, in order; stop at the first that
 * must wait again (it went back to the tail). Returns how many went on. */
static unsigned kv_q_run(struct sk_kv *kv, struct kv_q *q)
{
	unsigned n = q->n, ran = 0;

	while (n--) {
		struct sk_kv_req_priv *op = kv_deq(q);

		if (!op->step(kv, op))
			break;
		ran++;
	}
	return ran;
}

static bool kv_waiting(const struct sk_kv *kv)
{
	if (kv->space_q.n)
		return true;
	for (unsigned i = 0; i < kv->nbusy; i++) {
		const struct kv_owner *o = &kv->owners[kv->busy[i]];

		if (o->rd_wait.n || o->rpc_wait.n)
			return true;
	}
	return false;
}

static void kv_pump(struct sk_kv *kv)
{
	unsigned ran;

	do {
		struct sk_kv_req_priv *op;

		ran = 0;
		/* Only the busy owners: an idle one leaves the list (an
		 * owner that becomes busy while this runs joins its end). */
		for (unsigned i = 0; i < kv->nbusy;) {
			unsigned r = kv->busy[i];
			struct kv_owner *o = &kv->owners[r];

			if (!o->rd_out && !o->rd_wait.n && !o->rpc_wait.n) {
				o->busy_listed = 0;
				kv->busy[i] = kv->busy[--kv->nbusy];
				continue;
			}
			if (o->peer == NULL || sk_rpc_peer_failed(o->peer))
				kv_owner_fail(kv, r);
			i++;
		}
		while ((op = kv_deq(&kv->ready_q)) != NULL) {
			op->step(kv, op);
			ran++;
		}
		for (unsigned i = 0; i < kv->nbusy; i++) {
			struct kv_owner *o = &kv->owners[kv->busy[i]];

			if (o->rd_wait.n && o->rd_out < SK_RPC_EP_SHARE)
				ran += kv_q_run(kv, &o->rd_wait);
			if (o->rpc_wait.n)
				ran += kv_q_run(kv, &o->rpc_wait);
		}
		if (kv->space_q.n)
			ran += kv_q_run(kv, &kv->space_q);
	} while (ran);
}

/* One turn of the loop: wait for an event, or only briefly when requests
 * wait for a resource that frees without one of ours (a credit, a pool
 * buffer, the send queue). */
static int kv_turn(struct sk_kv *kv, bool block)
{
	int rc = sk_loop_run_once(kv->loop,
				  !block ? 0 : kv_waiting(kv) ? 1 : -1);

	kv_pump(kv);
	return rc;
}

/* ---- the API ---- */

/* A request whose owner is this node, served in place; false, unanswered,
 * when an update must wait for room (hold.c holds it, and serves it
 * again with kv_serve_held). */
static bool kv_serve_local(struct sk_kv *kv, struct kv_part *kp,
			   struct sk_kv_req *req)
{
	struct sk_kv_item_view iv;
	enum sk_kv_res res = SK_KV_ERROR;
	unsigned state = 0;
	uint32_t before = 0;
	bool grew = false;
	uint64_t cas = 0, num = 0;
	uint32_t exptime = 0;

	switch (req->cmd) {
	case SK_KV_CMD_GET:
		kv->st.gets_local++;
		if (!kv_get_may_change(req)) {
			res = kv_own_get(kv, kp, req->key, req->klen, &iv);
			if (res == SK_KV_OK)
				kv_req_value(req, iv.value, iv.vlen, iv.flags,
					     iv.cas, iv.exptime, iv.state);
			break;
		}
		/* mg: it may win a token, or create the item */
		/* fall through */
	case SK_KV_CMD_GAT:
	case SK_KV_CMD_TOUCH:
		res = kv_own_touch(kv, kp, req->key, req->klen,
				   kv_touch_mode(req),
				   req->cmd == SK_KV_CMD_GET ? 0 : req->exptime,
				   req->vivify, req->recache, &iv, &state,
				   &before);
		if (res == SK_KV_OK) {
			kv_req_value(req, iv.value, iv.vlen, iv.flags, iv.cas,
				     iv.exptime, state);
			req->expiry_before = before;
		}
		break;
	case SK_KV_CMD_STORE:
		res = kv_own_store(kv, kp, req->op, req->key, req->klen,
				   req->value, req->vlen, req->flags,
				   req->exptime, req->cas,
				   (req->meta & SK_KV_META_INVALIDATE) != 0,
				   NULL, &cas);
		if (res == SK_KV_STORED)
			req->cas = cas;
		break;
	case SK_KV_CMD_DELETE:
		res = kv_own_delete(kv, kp, req->key, req->klen, req->cas,
				    kv_delete_mode(req), req->exptime);
		break;
	case SK_KV_CMD_INCR:
	case SK_KV_CMD_DECR:
		res = kv_own_delta(kv, kp, req->key, req->klen,
				   req->cmd == SK_KV_CMD_INCR, req->delta,
				   req->cas, &num, &cas, &exptime, &grew);
		if (res == SK_KV_OK) {
			req->number = num;
			req->cas = cas;
			req->expiry = exptime;
			req->state = grew ? SK_KV_STATE_GREW : 0;
		}
		break;
	default:
		break;
	}
	if (kv_own_must_wait(kp, res))
		return false;
	kv_req_answer(kv, req, SK_OK, res);
	return true;
}

/* hold.c's kv_serve_fn for this node's own held update. */
static bool kv_serve_held(struct sk_kv *kv, struct kv_part *kp, void *r,
			  uint16_t id, enum kv_serve_how how)
{
	struct sk_kv_req *req = r;

	(void)id;
	if (how == KV_END_CLOSED)
		kv_req_answer(kv, req, SK_ERR_UNREACHABLE, SK_KV_END);
	else if (how == KV_END_NOMEM)
		kv_req_answer(kv, req, SK_OK,
			      req->cmd == SK_KV_CMD_INCR ||
					      req->cmd == SK_KV_CMD_DECR ?
				      SK_KV_ENOMEM_DELTA : SK_KV_ENOMEM);
	else
		return kv_serve_local(kv, kp, req);
	return true;
}

static void kv_post_local(struct sk_kv *kv, struct sk_kv_req *req,
			  struct kv_part *kp)
{
	/* Updates keep their order behind held ones; a GET need not, but
	 * an mg's may change the item (its rpc is an update too). */
	if (((req->cmd == SK_KV_CMD_GET && !kv_get_may_change(req)) ||
	     !kv_hold_busy(kp)) &&
	    kv_serve_local(kv, kp, req))
		return;
	/* Posted, not done: kv_wait asks only whether priv_ is set. */
	req->priv_ = (struct sk_kv_req_priv *)kp;
	kv_hold(kv, kp, req, 0, kv_serve_held);
}

static const uint16_t kv_cmd_rpc[SK_KV_CMD_COUNT] = {
	[SK_KV_CMD_GET] = KV_RPC_GET,     [SK_KV_CMD_STORE] = KV_RPC_STORE,
	[SK_KV_CMD_DELETE] = KV_RPC_DELETE, [SK_KV_CMD_INCR] = KV_RPC_DELTA,
	[SK_KV_CMD_DECR] = KV_RPC_DELTA,  [SK_KV_CMD_TOUCH] = KV_RPC_TOUCH,
	[SK_KV_CMD_GAT] = KV_RPC_TOUCH,
};

/*
 * @req, going in flight to owner @rank: room among the requests in flight
 * (waiting, serving the loop), the owner connected (@desc: with its
 * partitions' descriptors; first contact blocks), and its op. NULL when
 * @req was answered instead.
 */
static struct sk_kv_req_priv *kv_op_begin(struct sk_kv *kv,
					  struct sk_kv_req *req,
					  unsigned rank, bool desc)
{
	struct sk_kv_req_priv *op;
	struct kv_owner *o;
	sk_status_t st;

	while (kv->inflight >= SK_KV_INFLIGHT_MAX) {
		if (kv_turn(kv, true) < 0) {
			kv_req_answer(kv, req, SK_ERR_IO, SK_KV_END);
			return NULL;
		}
	}
	st = desc ? kv_owner_get(kv, rank, &o) : kv_owner_connect(kv, rank, &o);
	if (st != SK_OK) {
		kv_req_answer(kv, req, st, SK_KV_END);
		return NULL;
	}
	op = kv_op_new(kv);
	if (op == NULL) {
		kv_req_answer(kv, req, SK_ERR_NOMEM, SK_KV_END);
		return NULL;
	}
	op->req = req;
	op->rank = rank;
	req->priv_ = op;
	kv->inflight++;
	return op;
}

/* flush_all and an owner's figures: to owner req->rank, no key. */
static sk_status_t kv_post_admin(struct sk_kv *kv, struct sk_kv_req *req)
{
	struct sk_kv_req_priv *op;

	size_t need = req->cmd == SK_KV_CMD_OWNER_STATS
			      ? sizeof(struct sk_kv_owner_stats)
		      : req->cmd == SK_KV_CMD_CLASS_STATS
			      ? SK_KV_CLASSES_MAX *
					sizeof(struct sk_kv_class_stats)
		      : req->cmd == SK_KV_CMD_DUMP ? SK_KV_DUMP_MIN
						   : 0;
	uint32_t count;

	if (req->rank >= kv->size || req->rank < kv->clients ||
	    (need && (req->buf == NULL || req->cap < need)) ||
	    (req->cmd == SK_KV_CMD_DUMP && req->cls >= SK_KV_CLASSES_MAX))
		return SK_ERR_INVAL;
	req->done = 0;
	req->priv_ = NULL;
	if (req->rank == kv->rank) {
		enum sk_kv_res res = SK_KV_OK;

		if (req->cmd == SK_KV_CMD_FLUSH)
			res = kv_own_flush(kv, req->exptime);
		else if (req->cmd == SK_KV_CMD_OWNER_STATS)
			kv_own_ostats(kv, req->buf);
		else if (req->cmd == SK_KV_CMD_CLASS_STATS)
			req->vlen = kv_own_cstats(kv, req->buf);
		else
			req->vlen = kv_own_dump(kv, req->cls, &req->cursor,
						req->buf, req->cap, &count);
		kv_req_answer(kv, req, SK_OK, res);
		return SK_OK;
	}
	op = kv_op_begin(kv, req, req->rank, false);
	if (op == NULL)
		return SK_OK;
	op->id = req->cmd == SK_KV_CMD_FLUSH	     ? KV_RPC_FLUSH
		 : req->cmd == SK_KV_CMD_OWNER_STATS ? KV_RPC_OSTATS
		 : req->cmd == SK_KV_CMD_CLASS_STATS ? KV_RPC_CSTATS
						     : KV_RPC_DUMP;
	kv_rpc_send(kv, op);
	return SK_OK;
}

bool kv_get_now(struct sk_kv *kv, struct sk_kv_req *req)
{
	struct kv_part *kp;
	uint64_t h;

	if (kv->get_rpc || kv->nbusy || !kv_key_ok(kv, req->key, req->klen))
		return false;
	h = kv_key_hash(kv, req->key, req->klen);
	kp = kv_part_of(kv, h);
	if (kp->owner == kv->rank || !kv_get_direct(kv, kp, h, req))
		return false;
	req->status = SK_OK;
	req->done = 1;
	/* As kv_wait does for requests done in their post: the node still
	 * answers its peers while it runs on them. */
	if (++kv->unturned >= KV_TURN_EVERY) {
		kv->unturned = 0;
		if (kv_turn(kv, false) < 0)
			req->status = SK_ERR_IO;
	}
	return true;
}

sk_status_t sk_kv_post(struct sk_kv *kv, struct sk_kv_req *req)
{
	struct sk_kv_req_priv *op;
	struct kv_part *kp;
	uint64_t h;

	if (kv == NULL || req == NULL ||
	    (unsigned)req->cmd >= SK_KV_CMD_COUNT ||
	    (req->meta & ~(SK_KV_META_WIN | SK_KV_META_VIVIFY |
			   SK_KV_META_INVALIDATE | SK_KV_META_TTL |
			   SK_KV_META_RECACHE | SK_KV_META_RECACHE_OLD)) ||
	    (req->key == NULL && req->klen) ||
	    (req->cmd == SK_KV_CMD_STORE && req->value == NULL && req->vlen) ||
	    ((req->cmd == SK_KV_CMD_GET || req->cmd == SK_KV_CMD_GAT) &&
	     req->buf == NULL && req->cap))
		return SK_ERR_INVAL;
	if (req->cmd == SK_KV_CMD_FLUSH || req->cmd == SK_KV_CMD_OWNER_STATS ||
	    req->cmd == SK_KV_CMD_CLASS_STATS || req->cmd == SK_KV_CMD_DUMP)
		return kv_post_admin(kv, req);
	req->done = 0;
	req->priv_ = NULL;
	req->state = 0;
	if (!kv_key_ok(kv, req->key, req->klen) ||
	    (req->cmd == SK_KV_CMD_STORE && (unsigned)req->op > SK_KV_CAS)) {
		kv_req_answer(kv, req, SK_OK, SK_KV_EFORMAT);
		return SK_OK;
	}
	if (req->cmd == SK_KV_CMD_STORE && !sk_kv_value_ok(req->vlen)) {
		kv_req_answer(kv, req, SK_OK, SK_KV_ETOOLARGE);
		return SK_OK;
	}
	h = kv_key_hash(kv, req->key, req->klen);
	kp = kv_part_of(kv, h);
	if (kp->owner == kv->rank) {
		kv_post_local(kv, req, kp);
		return SK_OK;
	}
	/* First contact blocks here, serving the loop (kv.h); GETs by rpc
	 * (SKIFF_KV_GET=rpc) need no descriptors. */
	op = kv_op_begin(kv, req, kp->owner,
			 req->cmd == SK_KV_CMD_GET && !kv->get_rpc);
	if (op == NULL)
		return SK_OK;
	op->kp = kp;
	op->id = kv_cmd_rpc[req->cmd];
	if (req->cmd != SK_KV_CMD_GET) {
		kv_loc_forget(kv, h);
		kv->st.updates_rpc++;
		kv_rpc_send(kv, op);
		return SK_OK;
	}
	/* A ready owner's partitions are all ready, unless its answer named
	 * one twice and missed another: then ask it by rpc; so too when
	 * lost READs hold every landing place; and always with
	 * SKIFF_KV_GET=rpc. */
	if (kv->get_rpc || !kp->ready || kv->npair_free == 0) {
		kv_get_by_rpc(kv, op);
		return SK_OK;
	}
	op->pair = kv->pair_free[--kv->npair_free];
	sk_kv_read_plan_hash(&kp->view, &kv->hkey, h, &op->plan);
	kv_get_start(kv, op);
	return SK_OK;
}

unsigned sk_kv_progress(struct sk_kv *kv)
{
	unsigned n;

	if (kv == NULL)
		return 0;
	kv_turn(kv, false);
	n = kv->newly_done;
	kv->newly_done = 0;
	return n;
}

/* sk_kv_wait without sending the hints: the blocking calls use it, as
 * one hint message per GET would cost the owner what one-sided GETs
 * save; their hints go KV_HINT_MAX / 8 at a time. */
sk_status_t kv_wait(struct sk_kv *kv, struct sk_kv_req *reqs, size_t n)
{
	bool turned = false;
	size_t i = 0;

	kv_pump(kv);
	for (;;) {
		while (i < n && reqs[i].done)
			i++;
		if (i == n) {
			/* Those done meanwhile were the waiter's to see. */
			kv->newly_done = 0;
			/* Requests done in their post (served here, or copies
			 * of a region mapped here) never turn the loop: the
			 * node must still answer its peers (their updates,
			 * rpc's liveness checks) while it runs on them. */
			if (!turned && ++kv->unturned >= KV_TURN_EVERY) {
				kv->unturned = 0;
				if (kv_turn(kv, false) < 0)
					return SK_ERR_IO;
			}
			return SK_OK;
		}
		turned = true;
		kv->unturned = 0;
		if (reqs[i].priv_ == NULL)
			return SK_ERR_INVAL; /* never posted */
		if (kv_turn(kv, true) < 0)
			return SK_ERR_IO;
	}
}

sk_status_t sk_kv_wait(struct sk_kv *kv, struct sk_kv_req *reqs, size_t n)
{
	sk_status_t st;

	if (kv == NULL || (reqs == NULL && n))
		return SK_ERR_INVAL;
	st = kv_wait(kv, reqs, n);
	kv_hints_flush(kv);
	return st;
}

sk_status_t sk_kv_batch(struct sk_kv *kv, struct sk_kv_req *reqs, size_t n)
{
	if (kv == NULL || (reqs == NULL && n))
		return SK_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		sk_status_t st = sk_kv_post(kv, &reqs[i]);

		/* A request refused is done, with its status, so the wait
		 * does not wait for it. */
		if (st != SK_OK) {
			reqs[i].status = st;
			reqs[i].priv_ = NULL;
			reqs[i].done = 1;
		}
	}
	return sk_kv_wait(kv, reqs, n);
}

