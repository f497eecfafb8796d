/*
 * kv requests, the bottom of the engine: a request's life (struct
 * sk_kv_req_priv, req.h), the queues, the read buffer's places and item
 * units, answering and finishing a request, what happens to an owner's
 * requests when it fails (once per request, though a GET may have two
 * READs out), and the client's setup and teardown. Everything
 * above (req_rpc.c, req_get.c, contact.c, req.c, client.c) calls into it;
 * it calls none of them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"

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

void kv_enq(struct kv_q *q, struct sk_kv_req_priv *op)
{
	kv_q_push(&q->head, &q->tail, op);
	q->n++;
}

void kv_enq_front(struct kv_q *q, struct sk_kv_req_priv *op)
{
	op->next = q->head;
	q->head = op;
	if (q->tail == NULL)
		q->tail = op;
	q->n++;
}

struct sk_kv_req_priv *kv_deq(struct kv_q *q)
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

void *kv_pair_at(struct sk_kv *kv, const struct sk_kv_req_priv *op)
{
	return (char *)kv->rbuf.base + (size_t)op->pair * SK_KV_PAIR_SIZE;
}

void *kv_item_at(struct sk_kv *kv, const struct sk_kv_req_priv *op)
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
bool kv_units_get(struct sk_kv *kv, unsigned n, unsigned *at_p)
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

void kv_units_put(struct sk_kv *kv, struct sk_kv_req_priv *op)
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

	kv->loc = calloc(KV_LOC_ENTRIES, sizeof(*kv->loc));
	if (kv->loc == NULL) {
		kv->rbuf.mr = NULL;
		fprintf(stderr, "skiff: kv: rank %u: no memory for the "
			"location cache\n", kv->rank);
		return SK_ERR_NOMEM;
	}
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

struct sk_kv_req_priv *kv_op_new(struct sk_kv *kv)
{
	struct sk_kv_req_priv *op = kv->cache;

	if (op)
		kv->cache = op->next;
	else if ((op = malloc(sizeof(*op))) == NULL)
		return NULL;
	memset(op, 0, offsetof(struct sk_kv_req_priv, cands));
	op->kv = kv;
	op->pair = -1;
	return op;
}

void kv_op_free(struct sk_kv *kv, struct sk_kv_req_priv *op)
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
void kv_req_answer(struct sk_kv *kv, struct sk_kv_req *req,
			  sk_status_t st, enum sk_kv_res res)
{
	req->status = st;
	req->res = res;
	req->priv_ = NULL;
	req->done = 1;
	kv->newly_done++;
}

bool kv_finish(struct sk_kv *kv, struct sk_kv_req_priv *op,
		      sk_status_t st, enum sk_kv_res res)
{
	if (op->req)
		kv_req_answer(kv, op->req, st, res);
	kv->inflight--;
	kv_op_free(kv, op);
	return true;
}

/* A found item's value and attributes into the request. */
void kv_req_value(struct sk_kv_req *req, const void *value,
			 uint32_t vlen, uint32_t flags, uint64_t cas,
			 uint32_t exptime, unsigned state)
{
	if (req == NULL)
		return;
	if (vlen && req->cap)
		memcpy(req->buf, value, vlen < req->cap ? vlen : req->cap);
	req->vlen = vlen;
	req->flags = flags;
	req->cas = cas;
	req->expiry = exptime;
	req->expiry_before = exptime;
	req->state = state;
}

/* ---- failed owners ---- */

void kv_owner_fail(struct sk_kv *kv, unsigned rank)
{
	struct kv_owner *o = &kv->owners[rank];
	struct sk_kv_req_priv *op;

	for (unsigned i = 0; i < o->rd_out; i++) {
		op = o->rd_ops[i];
		/* A GET with both its READs out is here twice: it ends
		 * once, and stays lost until both complete (req_get.c). */
		if (op->lost)
			continue;
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

/* ---- rpc statuses ---- */

sk_status_t kv_rpc_status(int rc)
{
	switch (rc) {
	case -ECONNRESET: /* the owner failed */
	case -ESHUTDOWN:  /* its kv is closed */
		return SK_ERR_UNREACHABLE;
	case -ENOMEM:
		return SK_ERR_NOMEM;
	case -EINVAL:
		return SK_ERR_INVAL;
	default:
		return SK_ERR_IO;
	}
}

void kv_client_cleanup(struct sk_kv *kv)
{
	struct sk_kv_req_priv *op;

	for (uint32_t p = 0; kv->parts && kv->owners && p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		/* A failed owner's too: a key may outlive its endpoint. */
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
	free(kv->loc);
	kv->loc = NULL;
}
