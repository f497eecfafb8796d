/*
 * kv requests: the one-sided GET (kv/README.md, "The reader") as a state
 * machine of steps (req.h), and the access hints its hits give owners.
 * READ the pair into the request's landing place, pick, READ a candidate
 * into a run of units, check; too slow for the lease or a failed check:
 * again from the pair, KV_READ_TRIES times in all, then the rpc GET. A
 * step that cannot go on now queues the request (its owner's rd_wait
 * past SK_RPC_EP_SHARE READs, space_q when the item area is full) to be
 * run again by the pump.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"

/* ---- access hints ---- */

static void kv_hint_cont(void *arg, int status, const void *resp, size_t len)
{
	/* Advice: the owner's answer changes nothing here; its credit is
	 * back once this runs. */
	(void)arg, (void)status, (void)resp, (void)len;
}

/*
 * Send @rank's pending hints, fire-and-forget, at most once per
 * KV_HINT_PERIOD_NS: the owner's work on hints is then bounded by time,
 * not by the GETs it never sees (issue 12: its instructions must not grow
 * with one-sided GETs). Hints found while the list is full are dropped:
 * they are advice, and the hot keys of a period are the likeliest to be
 * among the first KV_HINT_MAX / 8 distinct ones read. With no credit they
 * stay for the next try.
 */
static void kv_hint_send(struct sk_kv *kv, unsigned rank)
{
	struct kv_owner *o = &kv->owners[rank];
	char buf[sizeof(struct kv_hint_req) + sizeof(o->hints)];
	struct kv_hint_req q = {.count = o->nhints};
	size_t len = sizeof(q) + (size_t)o->nhints * sizeof(o->hints[0]);
	uint64_t now;
	sk_status_t st;

	if (o->nhints == 0)
		return;
	now = kv_mono_ns();
	if (now - o->hint_sent_ns < KV_HINT_PERIOD_NS)
		return;
	o->hint_sent_ns = now;
	if (o->peer == NULL || sk_rpc_peer_failed(o->peer)) {
		o->nhints = 0;
		return;
	}
	memcpy(buf, &q, sizeof(q));
	memcpy(buf + sizeof(q), o->hints, len - sizeof(q));
	/* Under SK_RPC_INLINE_MAX: rpc copies it before returning. */
	st = sk_rpc_call(o->peer, KV_RPC_HINT, buf, len, NULL, 0,
			 kv_hint_cont, NULL);
	if (st == SK_ERR_AGAIN)
		return;
	if (st == SK_OK)
		kv->st.hints_sent += o->nhints;
	o->nhints = 0;
}

void kv_hint_add(struct sk_kv *kv, unsigned rank, uint64_t h)
{
	struct kv_owner *o = &kv->owners[rank];
	unsigned max = sizeof(o->hints) / sizeof(o->hints[0]);

	if (o->nhints < max) {
		o->hints[o->nhints++] = h;
		if (o->nhints < max)
			return;
	} else if (o->hint_skip) {
		/* Full, and its period had not passed when last asked:
		 * this one is dropped (hints are advice) without reading
		 * the clock, which cost a GET a fifth of its time. */
		o->hint_skip--;
		return;
	}
	kv_hint_send(kv, rank);
	if (o->nhints == max)
		o->hint_skip = KV_HINT_SKIP;
}

void kv_hints_flush(struct sk_kv *kv)
{
	for (unsigned r = 0; r < kv->size; r++)
		kv_hint_send(kv, r);
}

/* ---- READs ---- */

static bool kv_get_item_done(struct sk_kv *kv, struct sk_kv_req_priv *op);

/* One of @op's READs completed with @wc; its status into *@st_p. The
 * request goes on (ready_q) once all its READs have completed. */
static void kv_rd_complete(struct sk_kv_req_priv *op, const struct sk_wc *wc,
			   sk_status_t *st_p)
{
	struct sk_kv *kv = op->kv;
	struct kv_owner *o = &kv->owners[op->rank];

	if (op->lost) {
		/* Its request ended when the owner failed; once its last
		 * READ is in, its landing places are free. */
		if (--op->nrd)
			return;
		if (op->prev)
			op->prev->next = op->next;
		else
			kv->lost = op->next;
		if (op->next)
			op->next->prev = op->prev;
		/* Still lost while freed: kv_owner_fail took its units off
		 * units_live already. */
		kv_op_free(kv, op);
		return;
	}
	for (unsigned i = 0; i < o->rd_out; i++) {
		if (o->rd_ops[i] == op) {
			o->rd_ops[i] = o->rd_ops[--o->rd_out];
			break;
		}
	}
	*st_p = wc->status;
	if (--op->nrd == 0)
		kv_enq(&kv->ready_q, op);
}

static void kv_rd_done(struct sk_op *sop, const struct sk_wc *wc)
{
	struct sk_kv_req_priv *op = (struct sk_kv_req_priv *)sop;

	kv_rd_complete(op, wc, &op->rd_status);
}

/*
 * READ @len bytes at @roff of the op's partition into @laddr; @then runs
 * when it completes. Returns false when the op had to wait (queued, to
 * run @self again), true otherwise (posted, or the op went on).
 */
static bool kv_read(struct sk_kv *kv, struct sk_kv_req_priv *op,
		    void *laddr, size_t len, uint64_t roff, kv_step_fn then,
		    kv_step_fn self)
{
	struct kv_owner *o = &kv->owners[op->rank];
	struct sk_ep *ep;
	sk_status_t st;

	if (o->peer == NULL || sk_rpc_peer_failed(o->peer) ||
	    !op->kp->ready || (ep = sk_rpc_peer_ep(o->peer)) == NULL)
		return kv_finish(kv, op, SK_ERR_UNREACHABLE, SK_KV_END);
	if (op->kp->direct) {
		/*
		 * The owner's region is mapped here (sk_rkey_ptr): a copy
		 * stands for the READ, and the next step runs now. A copy
		 * orders the lines it reads no more than a READ does, and
		 * the rules that make a READ safe (README, "The reader")
		 * hold for it unchanged. The owner's liveness is rpc's
		 * verdict above, as for a READ (its memory stays readable
		 * after it dies). An item's copy comes after the pair's
		 * that named it as a READ posted after the pair's
		 * completion does: its address is computed from the slot
		 * word that copy loaded, and CPUs order such dependent
		 * loads (an acquire fence here would say it again, but
		 * ThreadSanitizer refuses fences).
		 */
		uint64_t rlen = sk_rkey_len(op->kp->rkey);

		if (roff > rlen || len > rlen - roff) {
			op->rd_status = SK_ERR_REMOTE_ACCESS;
		} else {
			memcpy(laddr, op->kp->direct + roff, len);
			op->rd_status = SK_OK;
		}
		kv->copies++;
		op->step = then;
		return then(kv, op);
	}
	if (o->rd_out >= SK_RPC_EP_SHARE)
		goto wait;
	op->rd.done = kv_rd_done;
	st = sk_post_read(ep, kv->rbuf.mr, laddr, len, op->kp->rkey,
			  op->kp->base + roff, 0, &op->rd);
	if (st == SK_ERR_AGAIN)
		goto wait;
	op->step = then;
	if (st != SK_OK) {
		op->rd_status = st;
		return then(kv, op);
	}
	kv_owner_busy(kv, op->rank);
	o->rd_ops[o->rd_out++] = op;
	op->nrd = 1;
	return true;
wait:
	/* A GET whose pair is read goes before those yet to start: its
	 * lease runs since its pair READ (rule 4). */
	op->step = self;
	kv_owner_busy(kv, op->rank);
	if (then == kv_get_item_done)
		kv_enq_front(&o->rd_wait, op);
	else
		kv_enq(&o->rd_wait, op);
	return false;
}

/* ---- GET ---- */

bool kv_rpc_send(struct sk_kv *kv, struct sk_kv_req_priv *op);
bool kv_get_pair(struct sk_kv *kv, struct sk_kv_req_priv *op);

bool kv_get_by_rpc(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	kv_units_put(kv, op);
	kv->st.gets_rpc++;
	/* mg's GET (SK_KV_META_*) asks as an update may: a token to win, an
	 * item to create. */
	op->id = op->req && kv_get_may_change(op->req) ? KV_RPC_TOUCH :
							  KV_RPC_GET;
	return kv_rpc_send(kv, op);
}

/* A READ that failed: the owner is gone, or it is rpc's to say (its probe
 * decides liveness): ask the owner by rpc, which answers or fails it. */
static bool kv_get_read_failed(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	struct kv_owner *o = &kv->owners[op->rank];

	if (o->peer == NULL || sk_rpc_peer_failed(o->peer))
		return kv_finish(kv, op, SK_ERR_UNREACHABLE, SK_KV_END);
	return kv_get_by_rpc(kv, op);
}

/* The owner's Unix seconds at our monotonic @now, as we estimate them
 * (rule 3). */
static uint32_t kv_owner_now(const struct kv_owner *o, uint64_t now)
{
	return (uint32_t)((o->unix_ns + (now - o->mono_ns)) / 1000000000ull);
}

static bool kv_get_onesided(struct sk_kv *kv, struct sk_kv_req_priv *op,
			    enum sk_kv_res res)
{
	if (res == SK_KV_NOT_FOUND && op->req &&
	    kv_get_owner_decides(op->req, NULL, 0))
		return kv_get_by_rpc(kv, op); /* mg N: the owner creates */
	kv->st.gets_onesided++;
	return kv_finish(kv, op, SK_OK, res);
}

/* A candidate's READ, once it has room to land. */

static bool kv_get_item(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	const struct sk_kv_cand *c = &op->cands[op->ci];

	if (op->nunits == 0) {
		unsigned n = (c->len + KV_UNIT - 1) / KV_UNIT;

		if (n > KV_UNITS)
			return kv_get_by_rpc(kv, op); /* larger than a set
						       * makes */
		if (!kv_units_get(kv, n, &op->unit)) {
			if (kv->units_live == 0)
				return kv_get_by_rpc(kv, op); /* lost READs
							       * hold it */
			op->step = kv_get_item;
			kv_enq(&kv->space_q, op);
			return false;
		}
		op->nunits = n;
		kv->units_live += n;
	}
	return kv_read(kv, op, kv_item_at(kv, op), c->len, c->off,
		       kv_get_item_done, kv_get_item);
}

/* A one-sided GET took the item @iv copied from @cand: its answer, an
 * entry for the next GET of the key (loc.h), the owner's access hint. */
static bool kv_get_took(struct sk_kv *kv, struct sk_kv_req_priv *op,
			const struct sk_kv_cand *cand,
			const struct sk_kv_item_view *iv)
{
	kv_loc_fill(kv->loc, op->plan.h, op->kp->view.partition, cand,
		    iv->cas, (int)iv->killed, op->t0);
	/* (A plain GET reads no clock for it.) */
	if (op->req && op->req->meta &&
	    kv_get_owner_decides(op->req, iv,
				 kv_owner_now(&kv->owners[op->rank],
					      kv_mono_ns())))
		return kv_get_by_rpc(kv, op); /* a token to win */
	kv_req_value(op->req, iv->value, iv->vlen, iv->flags, iv->cas,
		     iv->exptime, iv->state);
	kv_hint_add(kv, op->rank, op->plan.h);
	return kv_get_onesided(kv, op, SK_KV_OK);
}

static bool kv_get_item_done(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	struct sk_kv_req *req = op->req;
	struct kv_owner *o = &kv->owners[op->rank];
	struct sk_kv_item_view iv;
	uint64_t now;
	uint32_t owner_now;
	int rc;

	if (op->rd_status != SK_OK) {
		kv_units_put(kv, op);
		return kv_get_read_failed(kv, op);
	}
	now = kv_mono_ns();
	owner_now = kv_owner_now(o, now);
	rc = sk_kv_read_check(&op->plan, &op->cands[op->ci],
			      kv_item_at(kv, op), req->key, req->klen,
			      owner_now, &iv);
	if (rc == SK_KV_ERR_OTHER_KEY) {
		kv_units_put(kv, op);
		if (++op->ci < op->ncand)
			return kv_get_item(kv, op);
		return kv_get_onesided(kv, op, SK_KV_NOT_FOUND);
	}
	if (now - op->t0 >= sk_kv_lease_ns(kv->quarantine_ns) ||
	    (rc != 0 && rc != SK_KV_ERR_EXPIRED)) {
		/* Too slow to trust (rule 4), or a write raced us (a bad
		 * check, malformed bytes): again, from the pair. */
		kv_units_put(kv, op);
		if (++op->tries >= KV_READ_TRIES)
			return kv_get_by_rpc(kv, op);
		kv->st.read_retries++;
		return kv_get_pair(kv, op);
	}
	if (rc == SK_KV_ERR_EXPIRED) {
		kv_units_put(kv, op);
		return kv_get_onesided(kv, op, SK_KV_NOT_FOUND);
	}
	/* Its slot pointed at this item after t0 (README): a next GET may
	 * READ it alone. */
	return kv_get_took(kv, op, &op->cands[op->ci], &iv);
}

static bool kv_get_pair_done(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	unsigned n = 0;
	int rc;

	if (op->rd_status != SK_OK)
		return kv_get_read_failed(kv, op);
	rc = sk_kv_read_pick(&op->kp->view, &op->plan, kv_pair_at(kv, op),
			     op->cands, &n);
	if (rc == SK_KV_ERR_STALE)
		return kv_get_by_rpc(kv, op); /* the owner knows better */
	if (n == 0)
		return kv_get_onesided(kv, op, SK_KV_NOT_FOUND);
	op->ncand = n;
	op->ci = 0;
	return kv_get_item(kv, op);
}

bool kv_get_pair(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	op->t0 = kv_mono_ns();
	return kv_read(kv, op, kv_pair_at(kv, op), SK_KV_PAIR_SIZE,
		       op->plan.pair_off, kv_get_pair_done, kv_get_pair);
}

/* ---- a blocking GET of memory mapped here ---- */

/*
 * kv_get_pair .. kv_get_item_done for a partition mapped here
 * (kp->direct: ucx on one host), on the caller's stack: no request state,
 * no queue, no pump. The rules are kv_read's for its copies (README, "The
 * reader"): the lease runs from t0, read before the pair's copy, to after
 * the item's; the item's check; the bucket headers' epoch and partition.
 * Only a clean answer is given here: the item, or none of the key's (its
 * candidates all another key's, or none). Anything else (a bad check, a
 * copy slower than the lease, a stale map, an item larger than the copy
 * here, an owner not ready or failed) returns false, and the caller posts
 * the request, which retries, asks the owner, or fails as it always does.
 */
bool kv_get_direct(struct sk_kv *kv, struct kv_part *kp, uint64_t h,
		   struct sk_kv_req *req)
{
	struct kv_owner *o = &kv->owners[kp->owner];
	uint64_t pair[SK_KV_PAIR_SIZE / 8], item[KV_DIRECT_ITEM_MAX / 8];
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
	struct sk_kv_item_view iv;
	struct sk_kv_plan plan;
	uint64_t rlen, t0, now;
	unsigned n, i;
	int rc;

	if (kp->direct == NULL || !kp->ready || !o->ready ||
	    o->peer == NULL || sk_rpc_peer_failed(o->peer))
		return false;
	rlen = sk_rkey_len(kp->rkey);
	sk_kv_read_plan_hash(&kp->view, &kv->hkey, h, &plan);
	if (plan.pair_off > rlen || SK_KV_PAIR_SIZE > rlen - plan.pair_off)
		return false;
	t0 = kv_mono_ns();
	memcpy(pair, kp->direct + plan.pair_off, SK_KV_PAIR_SIZE);
	if (sk_kv_read_pick(&kp->view, &plan, pair, cands, &n) != SK_OK)
		return false;
	kv->copies++;
	for (i = 0; i < n; i++) {
		const struct sk_kv_cand *c = &cands[i];

		if (c->len > sizeof(item) || c->off > rlen ||
		    c->len > rlen - c->off)
			return false;
		/* Its address came from the pair's copy: a dependent load,
		 * ordered after it (kv_read). */
		memcpy(item, kp->direct + c->off, c->len);
		kv->copies++;
		now = kv_mono_ns();
		rc = sk_kv_read_check(&plan, c, item, req->key, req->klen,
				      kv_owner_now(o, now), &iv);
		if (rc == SK_KV_ERR_OTHER_KEY)
			continue;
		if (now - t0 >= sk_kv_lease_ns(kv->quarantine_ns) ||
		    (rc != 0 && rc != SK_KV_ERR_EXPIRED))
			return false;
		if (req->meta &&
		    kv_get_owner_decides(req,
					 rc == SK_KV_ERR_EXPIRED ? NULL : &iv,
					 kv_owner_now(o, now)))
			return false; /* the owner's to answer (mg) */
		kv->st.gets_onesided++;
		if (rc == SK_KV_ERR_EXPIRED) {
			req->res = SK_KV_NOT_FOUND;
			return true;
		}
		kv_req_value(req, iv.value, iv.vlen, iv.flags, iv.cas,
			     iv.exptime, iv.state);
		kv_hint_add(kv, kp->owner, h);
		req->res = SK_KV_OK;
		return true;
	}
	if (kv_get_owner_decides(req, NULL, 0))
		return false;
	kv->st.gets_onesided++;
	req->res = SK_KV_NOT_FOUND;
	return true;
}

/* ---- the location cache (loc.h; README, "The location cache") ---- */

void kv_loc_forget(struct sk_kv *kv, uint64_t key_hash)
{
	kv_loc_drop(kv->loc, key_hash, NULL);
}

static bool kv_get_cached(struct sk_kv *kv, struct sk_kv_req_priv *op);

/* The entry's item in: judge it by the entry (loc.h); if it does not
 * pass, the GET starts again from the pair, as one without the entry. */
static bool kv_get_cached_done(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	struct kv_owner *o = &kv->owners[op->rank];
	struct sk_kv_item_view iv = { 0 };
	struct sk_kv_req *req = op->req;
	uint64_t now;
	int rc;

	if (op->rd_status != SK_OK) {
		kv_units_put(kv, op);
		return kv_get_read_failed(kv, op);
	}
	now = kv_mono_ns();
	rc = sk_kv_read_check(&op->plan, &op->lc.cand, kv_item_at(kv, op),
			      req->key, req->klen, kv_owner_now(o, now), &iv);
	if (kv_loc_accept(&op->lc, rc, iv.cas, iv.killed, op->t0, now,
			  sk_kv_lease_ns(kv->quarantine_ns))) {
		kv->loc_st.hits++;
		return kv_get_took(kv, op, &op->lc.cand, &iv);
	}
	/* Killed (the key changed), too old by now, or expired: the READ
	 * is lost, and the entry with it. */
	kv->loc_st.misses++;
	kv_loc_drop(kv->loc, op->plan.h, &op->lc);
	kv_units_put(kv, op);
	return kv_get_pair(kv, op);
}

/* READ entry op->lc's item alone, into a run of units; without room for
 * it now, the GET READs the pair as one without the entry. */
static bool kv_get_cached(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	if (op->nunits == 0) {
		unsigned n = (op->lc.cand.len + KV_UNIT - 1) / KV_UNIT;

		if (n > KV_UNITS || !kv_units_get(kv, n, &op->unit)) {
			kv->loc_st.skipped++;
			return kv_get_pair(kv, op);
		}
		op->nunits = n;
		kv->units_live += n;
	}
	op->t0 = kv_mono_ns();
	return kv_read(kv, op, kv_item_at(kv, op), op->lc.cand.len,
		       op->lc.cand.off, kv_get_cached_done, kv_get_cached);
}

bool kv_get_start(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	const struct kv_loc *e;

	/* Copies are cheaper than the location cache's second look. */
	if (op->kp->direct)
		return kv_get_pair(kv, op);
	e = kv_loc_find(kv->loc, op->plan.h, op->kp->view.partition,
			kv_mono_ns(), sk_kv_lease_ns(kv->quarantine_ns));
	if (e == NULL)
		return kv_get_pair(kv, op);
	op->lc = *e;
	return kv_get_cached(kv, op);
}
