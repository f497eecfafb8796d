/*
 * kv requests: the asynchronous API of kv.h (sk_kv_post, sk_kv_progress,
 * sk_kv_wait, sk_kv_batch), the one path every call takes (client.c's
 * blocking calls post one request and wait for it). Owns the requests'
 * state (struct sk_kv_req_priv), the read buffer where READs land, the
 * queues of requests waiting for a resource, and the access hints.
 *
 * A request is a state machine stepped from sk_kv_post and from the pump
 * (kv_pump), never from a completion callback: READ completions and rpc
 * continuations only record what came and queue the request on ready_q,
 * so a step never runs inside another one.
 *
 * The one-sided GET follows kv/README.md, "The reader": READ the pair
 * into the request's own landing place, pick, READ a candidate into a run
 * of units of the item area, check; a GET slower than the lease or whose
 * check fails goes again from the pair, KV_READ_TRIES times in all, then
 * asks the owner by rpc (KV_RPC_GET). What a GET may wait for, in a queue,
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

#include <skiff/os.h>

#include "kv_int.h"

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
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
	unsigned ncand, ci, tries;
	uint64_t t0;
	int pair;                   /* landing place, -1: none */
	unsigned unit, nunits;      /* item landing run; nunits 0: none */
	sk_status_t rd_status;
	/* rpc */
	uint16_t id;
	int big;                    /* the response to a pool buffer */
	void *qbuf;                 /* pool buffer of a large request */
	void *resp;                 /* pool buffer of a large response */
	int rc;
	sk_status_t st;
	enum sk_kv_res res;
};

/* ---- queues ---- */

static void kv_q_push(struct sk_kv_req_priv **head, struct sk_kv_req_priv **tail,
		      struct sk_kv_req_priv *op)
{
	op->next = NULL;
	if (*tail)
		(*tail)->next = op;
	else
		*head = op;
	*tail = op;
}

static void kv_enq(struct kv_q *q, struct sk_kv_req_priv *op)
{
	kv_q_push(&q->head, &q->tail, op);
	q->n++;
}

static struct sk_kv_req_priv *kv_deq(struct kv_q *q)
{
	struct sk_kv_req_priv *op = q->head;

	if (op) {
		q->head = op->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		op->next = NULL;
	}
	return op;
}

/* ---- the read buffer ---- */

static void *kv_pair_at(struct sk_kv *kv, const struct sk_kv_req_priv *op)
{
	return (char *)kv->rbuf.base + (size_t)op->pair * SK_KV_PAIR_SIZE;
}

static void *kv_item_at(struct sk_kv *kv, const struct sk_kv_req_priv *op)
{
	return (char *)kv->rbuf.base + (size_t)KV_PAIRS * SK_KV_PAIR_SIZE +
	       (size_t)op->unit * KV_UNIT;
}

static bool kv_unit_used(const struct sk_kv *kv, unsigned u)
{
	return kv->unit_map[u / 64] >> (u % 64) & 1;
}

static void kv_units_mark(struct sk_kv *kv, unsigned at, unsigned n, bool on)
{
	for (unsigned u = at; u < at + n; u++) {
		if (on)
			kv->unit_map[u / 64] |= 1ull << (u % 64);
		else
			kv->unit_map[u / 64] &= ~(1ull << (u % 64));
	}
}

/* First fit of @n free units in a row. */
static bool kv_units_get(struct sk_kv *kv, unsigned n, unsigned *at_p)
{
	unsigned run = 0;

	for (unsigned u = 0; u < KV_UNITS; u++) {
		if (u % 64 == 0 && run == 0 && kv->unit_map[u / 64] == ~0ull) {
			u += 63;
			continue;
		}
		if (kv_unit_used(kv, u)) {
			run = 0;
			continue;
		}
		if (++run == n) {
			*at_p = u + 1 - n;
			kv_units_mark(kv, *at_p, n, true);
			return true;
		}
	}
	return false;
}

static void kv_units_put(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	if (op->nunits == 0)
		return;
	kv_units_mark(kv, op->unit, op->nunits, false);
	if (!op->lost)
		kv->units_live -= op->nunits;
	op->nunits = 0;
}

sk_status_t kv_client_init(struct sk_kv *kv)
{
	size_t size = (size_t)KV_PAIRS * SK_KV_PAIR_SIZE +
		      (size_t)KV_UNITS * KV_UNIT;
	sk_status_t st;

	st = sk_arena_region(kv->arena, size, SK_ACCESS_LOCAL, &kv->rbuf);
	if (st != SK_OK) {
		kv->rbuf.mr = NULL;
		fprintf(stderr, "skiff: kv: rank %u: no arena room for the "
			"read buffer (%zu bytes): %s\n", kv->rank, size,
			sk_status_str(st));
		return st;
	}
	for (unsigned i = 0; i < KV_PAIRS; i++)
		kv->pair_free[i] = (uint16_t)(KV_PAIRS - 1 - i);
	kv->npair_free = KV_PAIRS;
	return SK_OK;
}

/* ---- a request's life ---- */

static struct sk_kv_req_priv *kv_op_new(struct sk_kv *kv)
{
	struct sk_kv_req_priv *op = kv->cache;

	if (op)
		kv->cache = op->next;
	else if ((op = malloc(sizeof(*op))) == NULL)
		return NULL;
	memset(op, 0, sizeof(*op));
	op->kv = kv;
	op->pair = -1;
	return op;
}

static void kv_op_free(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	kv_units_put(kv, op);
	if (op->pair >= 0)
		kv->pair_free[kv->npair_free++] = (uint16_t)op->pair;
	op->pair = -1;
	if (op->qbuf)
		sk_rpc_buf_free(kv->rpc, op->qbuf);
	if (op->resp)
		sk_rpc_buf_free(kv->rpc, op->resp);
	op->next = kv->cache;
	kv->cache = op;
}

/* A request answered without going in flight. */
static void kv_req_answer(struct sk_kv *kv, struct sk_kv_req *req,
			  sk_status_t st, enum sk_kv_res res)
{
	req->status = st;
	req->res = res;
	req->priv_ = NULL;
	req->done = 1;
	kv->newly_done++;
}

static bool kv_finish(struct sk_kv *kv, struct sk_kv_req_priv *op,
		      sk_status_t st, enum sk_kv_res res)
{
	if (op->req)
		kv_req_answer(kv, op->req, st, res);
	kv->inflight--;
	kv_op_free(kv, op);
	return true;
}

/* A found item's value and attributes into the request. */
static void kv_req_value(struct sk_kv_req *req, const void *value,
			 uint32_t vlen, uint32_t flags, uint64_t cas)
{
	if (req == NULL)
		return;
	if (vlen && req->cap)
		memcpy(req->buf, value, vlen < req->cap ? vlen : req->cap);
	req->vlen = vlen;
	req->flags = flags;
	req->cas = cas;
}

/* ---- access hints ---- */

static void kv_hint_cont(void *arg, int status, const void *resp, size_t len)
{
	/* Advice: the owner's answer changes nothing here; its credit is
	 * back once this runs. */
	(void)arg, (void)status, (void)resp, (void)len;
}

/* Send @rank's pending hints, fire-and-forget. With no credit they stay
 * for the next try. */
static void kv_hint_send(struct sk_kv *kv, unsigned rank)
{
	struct kv_owner *o = &kv->owners[rank];
	char buf[sizeof(struct kv_hint_req) + sizeof(o->hints)];
	struct kv_hint_req q = {.count = o->nhints};
	size_t len = sizeof(q) + (size_t)o->nhints * sizeof(o->hints[0]);
	sk_status_t st;

	if (o->nhints == 0)
		return;
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

static void kv_hint_add(struct sk_kv *kv, unsigned rank, uint64_t h)
{
	struct kv_owner *o = &kv->owners[rank];
	unsigned max = sizeof(o->hints) / sizeof(o->hints[0]);

	if (o->nhints < max)
		o->hints[o->nhints++] = h;
	/* else: no credit to send the full list; this one is dropped,
	 * hints are advice. */
	if (o->nhints == max)
		kv_hint_send(kv, rank);
}

static void kv_hints_flush(struct sk_kv *kv)
{
	for (unsigned r = 0; r < kv->size; r++)
		kv_hint_send(kv, r);
}

/* ---- READs ---- */

static void kv_rd_done(struct sk_op *sop, const struct sk_wc *wc)
{
	struct sk_kv_req_priv *op = (struct sk_kv_req_priv *)sop;
	struct sk_kv *kv = op->kv;
	struct kv_owner *o = &kv->owners[op->rank];

	if (op->lost) {
		/* Its request ended when the owner failed; now its landing
		 * place is free. */
		if (op->prev)
			op->prev->next = op->next;
		else
			kv->lost = op->next;
		if (op->next)
			op->next->prev = op->prev;
		op->lost = 0;
		kv_op_free(kv, op);
		return;
	}
	for (unsigned i = 0; i < o->rd_out; i++) {
		if (o->rd_ops[i] == op) {
			o->rd_ops[i] = o->rd_ops[--o->rd_out];
			break;
		}
	}
	op->rd_status = wc->status;
	kv_enq(&kv->ready_q, op);
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
	o->rd_ops[o->rd_out++] = op;
	return true;
wait:
	op->step = self;
	kv_enq(&o->rd_wait, op);
	return false;
}

/* ---- GET ---- */

static bool kv_rpc_send(struct sk_kv *kv, struct sk_kv_req_priv *op);
static bool kv_get_pair(struct sk_kv *kv, struct sk_kv_req_priv *op);

static bool kv_get_by_rpc(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	kv_units_put(kv, op);
	kv->st.gets_rpc++;
	op->id = KV_RPC_GET;
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

static bool kv_get_onesided(struct sk_kv *kv, struct sk_kv_req_priv *op,
			    enum sk_kv_res res)
{
	kv->st.gets_onesided++;
	return kv_finish(kv, op, SK_OK, res);
}

/* A candidate's READ, once it has room to land. */
static bool kv_get_item_done(struct sk_kv *kv, struct sk_kv_req_priv *op);

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
	owner_now = (uint32_t)((o->unix_ns + (now - o->mono_ns)) /
			       1000000000ull);
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
	kv_req_value(req, iv.value, iv.vlen, iv.flags, iv.cas);
	kv_hint_add(kv, op->rank, op->plan.h);
	return kv_get_onesided(kv, op, SK_KV_OK);
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

static bool kv_get_pair(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	op->t0 = kv_mono_ns();
	return kv_read(kv, op, kv_pair_at(kv, op), SK_KV_PAIR_SIZE,
		       op->plan.pair_off, kv_get_pair_done, kv_get_pair);
}

/* ---- rpc: updates, the rpc GET ---- */

/* A GET's or gat's answer: kv_get_resp and the value. */
static sk_status_t kv_take_value(struct sk_kv_req_priv *op, const char *resp,
				 size_t len)
{
	struct kv_get_resp a;

	if (len < sizeof(a))
		return SK_ERR_MALFORMED;
	memcpy(&a, resp, sizeof(a));
	if (a.vlen != len - sizeof(a))
		return SK_ERR_MALFORMED;
	kv_req_value(op->req, resp + sizeof(a), a.vlen, a.flags, a.cas);
	return SK_OK;
}

/* The owner's answer, checked: each result has the body it should. */
static sk_status_t kv_take_resp(struct sk_kv_req_priv *op, int rc,
				const void *resp, size_t len)
{
	struct sk_kv_req *req = op->req;

	if (rc < 0)
		return kv_rpc_status(rc);
	if (rc >= SK_KV_RES_COUNT)
		return SK_ERR_MALFORMED;
	switch (op->id) {
	case KV_RPC_GET:
		if (rc == SK_KV_OK)
			return kv_take_value(op, resp, len);
		return rc == SK_KV_NOT_FOUND && len == 0 ? SK_OK
							 : SK_ERR_MALFORMED;
	case KV_RPC_TOUCH:
		if (rc == SK_KV_OK && req && req->cmd == SK_KV_CMD_GAT)
			return kv_take_value(op, resp, len);
		return len == 0 ? SK_OK : SK_ERR_MALFORMED;
	case KV_RPC_STORE:
		if (rc == SK_KV_STORED) {
			struct kv_cas_resp a;

			if (len != sizeof(a))
				return SK_ERR_MALFORMED;
			memcpy(&a, resp, sizeof(a));
			if (req)
				req->cas = a.cas;
			return SK_OK;
		}
		return len == 0 ? SK_OK : SK_ERR_MALFORMED;
	case KV_RPC_DELTA:
		if (rc == SK_KV_OK) {
			struct kv_delta_resp a;

			if (len != sizeof(a))
				return SK_ERR_MALFORMED;
			memcpy(&a, resp, sizeof(a));
			if (req) {
				req->number = a.value;
				req->cas = a.cas;
			}
			return SK_OK;
		}
		return len == 0 ? SK_OK : SK_ERR_MALFORMED;
	default:
		return len == 0 ? SK_OK : SK_ERR_MALFORMED;
	}
}

/* Runs when the owner answered: the response is valid only now, so it is
 * taken here; the request goes on in the pump. */
static void kv_rpc_cont(void *arg, int status, const void *resp, size_t len)
{
	struct sk_kv_req_priv *op = arg;

	op->rc = status;
	op->res = status >= 0 ? (enum sk_kv_res)status : SK_KV_END;
	if (status == -EMSGSIZE && !op->big)
		op->st = SK_ERR_AGAIN; /* again, with room for the value */
	else
		op->st = kv_take_resp(op, status, resp, len);
	kv_enq(&op->kv->ready_q, op);
}

static bool kv_rpc_done(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	if (op->st == SK_ERR_AGAIN &&
	    (op->id == KV_RPC_GET || op->id == KV_RPC_TOUCH)) {
		op->big = 1;
		return kv_rpc_send(kv, op);
	}
	if (op->st == SK_ERR_AGAIN)
		op->st = SK_ERR_MALFORMED;
	return kv_finish(kv, op, op->st, op->res);
}

/* The request's bytes for handler op->id, in @small or a pool buffer;
 * NULL when no pool buffer is free. */
static const void *kv_rpc_build(struct sk_kv *kv, struct sk_kv_req_priv *op,
				char *small, size_t *len_p)
{
	const struct sk_kv_req *req = op->req;
	char *p = small;
	size_t hlen;

	switch (op->id) {
	case KV_RPC_STORE: {
		struct kv_store_req q = {
			.op = req->op, .flags = req->flags,
			.exptime = req->exptime, .klen = (uint32_t)req->klen,
			.vlen = (uint32_t)req->vlen, .cas = req->cas,
		};
		size_t len = sizeof(q) + req->klen + req->vlen;

		if (len > SK_RPC_INLINE_MAX) {
			/* A registered buffer: the owner READs it. */
			if (op->qbuf == NULL &&
			    (op->qbuf = sk_rpc_buf_alloc(kv->rpc, len)) == NULL)
				return NULL;
			p = op->qbuf;
		}
		memcpy(p, &q, sizeof(q));
		memcpy(p + sizeof(q), req->key, req->klen);
		if (req->vlen)
			memcpy(p + sizeof(q) + req->klen, req->value,
			       req->vlen);
		*len_p = len;
		return p;
	}
	case KV_RPC_DELTA: {
		struct kv_delta_req q = {
			.incr = req->cmd == SK_KV_CMD_INCR,
			.klen = (uint32_t)req->klen, .delta = req->delta,
		};

		memcpy(p, &q, hlen = sizeof(q));
		break;
	}
	case KV_RPC_TOUCH: {
		struct kv_touch_req q = {
			.exptime = req->exptime, .klen = (uint32_t)req->klen,
			.gat = req->cmd == SK_KV_CMD_GAT,
		};

		memcpy(p, &q, hlen = sizeof(q));
		break;
	}
	default: { /* GET, DELETE */
		struct kv_key_req q = {.klen = (uint32_t)req->klen};

		memcpy(p, &q, hlen = sizeof(q));
		break;
	}
	}
	memcpy(p + hlen, req->key, req->klen);
	*len_p = hlen + req->klen;
	return p;
}

static bool kv_rpc_send(struct sk_kv *kv, struct sk_kv_req_priv *op)
{
	struct kv_owner *o = &kv->owners[op->rank];
	size_t len = 0, cap = sizeof(struct kv_get_resp) + SK_KV_VALUE_MAX;
	char small[SK_RPC_INLINE_MAX];
	const void *q;
	sk_status_t st;

	if (o->peer == NULL || sk_rpc_peer_failed(o->peer))
		return kv_finish(kv, op, SK_ERR_UNREACHABLE, SK_KV_END);
	q = kv_rpc_build(kv, op, small, &len);
	if (q != NULL && op->big && op->resp == NULL)
		op->resp = sk_rpc_buf_alloc(kv->rpc, cap);
	if (q == NULL || (op->big && op->resp == NULL)) {
		/* No pool buffer: wait for ours to come back, unless none
		 * is out. */
		if (kv->inflight <= 1)
			return kv_finish(kv, op, SK_ERR_NOMEM, SK_KV_END);
		goto wait;
	}
	st = sk_rpc_call(o->peer, op->id, q, len, op->resp,
			 op->resp ? cap : 0, kv_rpc_cont, op);
	if (st == SK_ERR_AGAIN)
		goto wait;
	if (st == SK_ERR_FLUSHED)
		return kv_finish(kv, op, SK_ERR_UNREACHABLE, SK_KV_END);
	if (st != SK_OK)
		return kv_finish(kv, op, st, SK_KV_END);
	op->step = kv_rpc_done;
	return true;
wait:
	op->step = kv_rpc_send;
	kv_enq(&o->rpc_wait, op);
	return false;
}

/* ---- failed owners ---- */

void kv_owner_fail(struct sk_kv *kv, unsigned rank)
{
	struct kv_owner *o = &kv->owners[rank];
	struct sk_kv_req_priv *op;

	for (unsigned i = 0; i < o->rd_out; i++) {
		op = o->rd_ops[i];
		if (op->req)
			kv_req_answer(kv, op->req, SK_ERR_UNREACHABLE,
				      SK_KV_END);
		op->req = NULL;
		kv->inflight--;
		if (op->nunits)
			kv->units_live -= op->nunits;
		op->lost = 1;
		op->prev = NULL;
		op->next = kv->lost;
		if (kv->lost)
			kv->lost->prev = op;
		kv->lost = op;
	}
	o->rd_out = 0;
	while ((op = kv_deq(&o->rd_wait)) != NULL)
		kv_finish(kv, op, SK_ERR_UNREACHABLE, SK_KV_END);
	while ((op = kv_deq(&o->rpc_wait)) != NULL)
		kv_finish(kv, op, SK_ERR_UNREACHABLE, SK_KV_END);
	o->nhints = 0;
}

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
	for (unsigned r = 0; r < kv->size; r++)
		if (kv->owners[r].rd_wait.n || kv->owners[r].rpc_wait.n)
			return true;
	return false;
}

static void kv_pump(struct sk_kv *kv)
{
	unsigned ran;

	do {
		struct sk_kv_req_priv *op;

		ran = 0;
		for (unsigned r = 0; r < kv->size; r++) {
			struct kv_owner *o = &kv->owners[r];

			if ((o->rd_out || o->rd_wait.n || o->rpc_wait.n) &&
			    (o->peer == NULL || sk_rpc_peer_failed(o->peer)))
				kv_owner_fail(kv, r);
		}
		while ((op = kv_deq(&kv->ready_q)) != NULL) {
			op->step(kv, op);
			ran++;
		}
		for (unsigned r = 0; r < kv->size; r++) {
			struct kv_owner *o = &kv->owners[r];

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

/* A request whose owner is this node: served in place. */
static void kv_post_local(struct sk_kv *kv, struct sk_kv_req *req,
			  struct kv_part *kp)
{
	struct sk_kv_item_view iv;
	enum sk_kv_res res = SK_KV_ERROR;
	uint64_t cas = 0, num = 0;

	switch (req->cmd) {
	case SK_KV_CMD_GET:
		kv->st.gets_local++;
		res = kv_own_get(kv, kp, req->key, req->klen, &iv);
		if (res == SK_KV_OK)
			kv_req_value(req, iv.value, iv.vlen, iv.flags, iv.cas);
		break;
	case SK_KV_CMD_GAT:
		res = kv_own_touch(kv, kp, req->key, req->klen, req->exptime,
				   &iv);
		if (res == SK_KV_OK)
			kv_req_value(req, iv.value, iv.vlen, iv.flags, iv.cas);
		break;
	case SK_KV_CMD_TOUCH:
		res = kv_own_touch(kv, kp, req->key, req->klen, req->exptime,
				   NULL);
		break;
	case SK_KV_CMD_STORE:
		res = kv_own_store(kv, kp, req->op, req->key, req->klen,
				   req->value, req->vlen, req->flags,
				   req->exptime, req->cas, &cas);
		if (res == SK_KV_STORED)
			req->cas = cas;
		break;
	case SK_KV_CMD_DELETE:
		res = kv_own_delete(kv, kp, req->key, req->klen);
		break;
	case SK_KV_CMD_INCR:
	case SK_KV_CMD_DECR:
		res = kv_own_delta(kv, kp, req->key, req->klen,
				   req->cmd == SK_KV_CMD_INCR, req->delta,
				   &num, &cas);
		if (res == SK_KV_OK) {
			req->number = num;
			req->cas = cas;
		}
		break;
	default:
		break;
	}
	kv_req_answer(kv, req, SK_OK, res);
}

static const uint16_t kv_cmd_rpc[SK_KV_CMD_COUNT] = {
	[SK_KV_CMD_GET] = KV_RPC_GET,     [SK_KV_CMD_STORE] = KV_RPC_STORE,
	[SK_KV_CMD_DELETE] = KV_RPC_DELETE, [SK_KV_CMD_INCR] = KV_RPC_DELTA,
	[SK_KV_CMD_DECR] = KV_RPC_DELTA,  [SK_KV_CMD_TOUCH] = KV_RPC_TOUCH,
	[SK_KV_CMD_GAT] = KV_RPC_TOUCH,
};

sk_status_t sk_kv_post(struct sk_kv *kv, struct sk_kv_req *req)
{
	struct sk_kv_req_priv *op;
	struct kv_owner *o;
	struct kv_part *kp;
	sk_status_t st;

	if (kv == NULL || req == NULL ||
	    (unsigned)req->cmd >= SK_KV_CMD_COUNT ||
	    (req->key == NULL && req->klen) ||
	    (req->cmd == SK_KV_CMD_STORE && req->value == NULL && req->vlen) ||
	    ((req->cmd == SK_KV_CMD_GET || req->cmd == SK_KV_CMD_GAT) &&
	     req->buf == NULL && req->cap))
		return SK_ERR_INVAL;
	req->done = 0;
	req->priv_ = NULL;
	if (!sk_kv_key_ok(req->key, req->klen) ||
	    (req->cmd == SK_KV_CMD_STORE && (unsigned)req->op > SK_KV_CAS)) {
		kv_req_answer(kv, req, SK_OK, SK_KV_EFORMAT);
		return SK_OK;
	}
	if (req->cmd == SK_KV_CMD_STORE && !sk_kv_value_ok(req->vlen)) {
		kv_req_answer(kv, req, SK_OK, SK_KV_ETOOLARGE);
		return SK_OK;
	}
	kp = kv_part_of(kv, req->key, req->klen);
	if (kp->owner == kv->rank) {
		kv_post_local(kv, req, kp);
		return SK_OK;
	}
	while (kv->inflight >= SK_KV_INFLIGHT_MAX) {
		if (kv_turn(kv, true) < 0) {
			kv_req_answer(kv, req, SK_ERR_IO, SK_KV_END);
			return SK_OK;
		}
	}
	/* First contact blocks here, serving the loop (kv.h). */
	st = req->cmd == SK_KV_CMD_GET ? kv_owner_get(kv, kp->owner, &o)
				       : kv_owner_connect(kv, kp->owner, &o);
	if (st != SK_OK) {
		kv_req_answer(kv, req, st, SK_KV_END);
		return SK_OK;
	}
	op = kv_op_new(kv);
	if (op == NULL) {
		kv_req_answer(kv, req, SK_ERR_NOMEM, SK_KV_END);
		return SK_OK;
	}
	op->req = req;
	op->rank = kp->owner;
	op->kp = kp;
	op->id = kv_cmd_rpc[req->cmd];
	req->priv_ = op;
	kv->inflight++;
	if (req->cmd != SK_KV_CMD_GET) {
		kv->st.updates_rpc++;
		kv_rpc_send(kv, op);
		return SK_OK;
	}
	/* A ready owner's partitions are all ready, unless its answer named
	 * one twice and missed another: then ask it by rpc; so too when
	 * lost READs hold every landing place. */
	if (!kp->ready || kv->npair_free == 0) {
		kv_get_by_rpc(kv, op);
		return SK_OK;
	}
	op->pair = kv->pair_free[--kv->npair_free];
	sk_kv_read_plan(&kp->view, &kv->hkey, req->key, req->klen, &op->plan);
	kv_get_pair(kv, op);
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
	size_t i = 0;

	kv_pump(kv);
	for (;;) {
		while (i < n && reqs[i].done)
			i++;
		if (i == n) {
			/* Those done meanwhile were the waiter's to see. */
			kv->newly_done = 0;
			return SK_OK;
		}
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

void kv_client_cleanup(struct sk_kv *kv)
{
	struct sk_kv_req_priv *op;

	for (uint32_t p = 0; kv->parts && kv->owners && p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];
		struct kv_owner *o = &kv->owners[kp->owner];

		/* Keys on a failed peer's endpoint are left (see
		 * kv_owner_forget). */
		if (kp->rkey && o->peer && !sk_rpc_peer_failed(o->peer))
			sk_rkey_destroy(kp->rkey);
		kp->rkey = NULL;
		kp->ready = 0;
	}
	/* READs lost on failed owners: their endpoints are gone (rpc.h:
	 * dropped without a completion), so nothing refers to them now. */
	while ((op = kv->lost) != NULL) {
		kv->lost = op->next;
		free(op);
	}
	while ((op = kv->cache) != NULL) {
		kv->cache = op->next;
		free(op);
	}
	if (kv->rbuf.mr) {
		sk_arena_region_release(kv->arena, &kv->rbuf);
		kv->rbuf.mr = NULL;
	}
}
