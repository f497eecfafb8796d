/*
 * kv owner: updates that wait for room (kv/README.md, "Quarantine").
 *
 * An update builds its new item in a free chunk and retires the old one
 * into quarantine, where it stays Q. So an owner can lack room for a while
 * without being full: its quarantine at its bound (more bytes retired
 * within one Q than half the store), or every spare chunk of the item's
 * class still ageing. Both pass within Q by themselves. Answering "out of
 * memory" then would fail a steady stream of overwrites into a nearly
 * empty table; memcached never does that. So the owner holds the update
 * (a peer's is answered later, rpc.h's deferred response; this node's own
 * request is not done yet) and serves it again when the quarantine's
 * oldest chunk has aged. Room comes back at the rate the quarantine
 * drains: the store's size over Q bounds a partition's overwrites per
 * second, as a disk's speed bounds its writes, and a writer past it waits
 * instead of failing.
 *
 * While a partition holds updates its later ones wait behind them, so that
 * a client's updates to one key still land in the order they came (kv.h
 * does not promise it for requests in flight together, but memcached's
 * clients expect it of one connection). GETs never wait: a one-sided one
 * cannot, and one by rpc reads what is published.
 *
 * An update still without room after KV_HOLD_MAX_Q quarantines gets the
 * answer it would have had (SK_KV_ENOMEM, as memcached -M): nothing may
 * hang. One whose class has no chunk at all and none to borrow is not
 * held (kv_own_full asks sk_kv_part_nomem_for_good): the store was carved
 * out for other sizes, and waiting behind it would hold its partition's
 * other updates for nothing. A held peer's update whose peer failed is
 * dropped.
 *
 * This file is only the queue and its timer: what serving, refusing and
 * ending a request mean is its holder's (kv_serve_fn), owner.c's for a
 * peer's rpc, req.c's for this node's own request.
 *
 * Held requests are bounded by what can be in flight: rpc's credits per
 * peer, and this node's own posted requests.
 */
#include <stdlib.h>

#include "kv_int.h"

/* How long an update may wait for room, in quarantines. */
#define KV_HOLD_MAX_Q 4u

struct kv_held {
	struct kv_held *next;
	void *req;                /* the holder's request */
	kv_serve_fn serve;        /* the holder's: serve it, or end it */
	uint64_t since_ns;        /* held since (CLOCK_MONOTONIC) */
	uint16_t id;              /* the holder's kind of request */
};

static struct sk_kv *kv_of_timer(struct sk_timer *t)
{
	return (struct sk_kv *)((char *)t - offsetof(struct sk_kv,
						     hold_timer));
}

/* Arm the timer for when @kp's quarantine next frees a chunk (at least
 * 1 ms from now: the loop's timers count milliseconds), unless it is
 * armed for earlier. */
static void kv_hold_arm(struct sk_kv *kv, struct kv_part *kp, uint64_t now)
{
	uint64_t at = sk_kv_part_room_at(kp->part, now), ms = 1;

	if (at > now)
		ms = (at - now + 999999) / 1000000;
	at = now + ms * 1000000;
	if (sk_timer_armed(&kv->hold_timer) && kv->hold_at <= at)
		return;
	kv->hold_at = at;
	sk_timer_start(kv->loop, &kv->hold_timer, (uint32_t)ms);
}

void kv_hold(struct sk_kv *kv, struct kv_part *kp, void *req, uint16_t id,
	     kv_serve_fn serve)
{
	struct kv_held *e = malloc(sizeof(*e));
	uint64_t now;

	if (e == NULL) {
		serve(kv, kp, req, id, KV_END_NOMEM);
		return;
	}
	/* The store's clock (owner.c's kv_mono_ns is the same). */
	now = sk_time_ns();
	e->req = req;
	e->serve = serve;
	e->id = id;
	e->next = NULL;
	e->since_ns = now;
	if (kp->held_tail)
		kp->held_tail->next = e;
	else
		kp->held = e;
	kp->held_tail = e;
	kv->nheld++;
	kv->waited++;
	kv_hold_arm(kv, kp, now);
}

static void kv_hold_pop(struct sk_kv *kv, struct kv_part *kp)
{
	struct kv_held *e = kp->held;

	kp->held = e->next;
	if (kp->held == NULL)
		kp->held_tail = NULL;
	kv->nheld--;
	free(e);
}

/* Serve @kp's held updates in order, up to the first that must wait
 * still (younger than the bound). */
static void kv_hold_run(struct sk_kv *kv, struct kv_part *kp, uint64_t now)
{
	struct kv_held *e;

	/* Stamp what the last call retired and free what has aged. */
	sk_kv_part_reap(kp->part, now);
	while ((e = kp->held) != NULL) {
		if (!e->serve(kv, kp, e->req, e->id, KV_SERVE)) {
			if (now - e->since_ns <
			    KV_HOLD_MAX_Q * kv->quarantine_ns)
				break;
			e->serve(kv, kp, e->req, e->id, KV_END_NOMEM);
		}
		kv_hold_pop(kv, kp);
	}
}

static void kv_hold_tick(struct sk_timer *t)
{
	struct sk_kv *kv = kv_of_timer(t);
	uint64_t now = sk_time_ns();

	for (uint32_t p = 0; kv->nheld && p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		if (kp->held == NULL)
			continue;
		kv_hold_run(kv, kp, now);
		if (kp->held)
			kv_hold_arm(kv, kp, now);
	}
}

void kv_hold_init(struct sk_kv *kv)
{
	kv->hold_timer.cb = kv_hold_tick;
}

void kv_hold_stop(struct sk_kv *kv)
{
	sk_timer_stop(kv->loop, &kv->hold_timer);
	for (uint32_t p = 0; kv->parts && p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		while (kp->held) {
			kp->held->serve(kv, kp, kp->held->req, kp->held->id,
					KV_END_CLOSED);
			kv_hold_pop(kv, kp);
		}
	}
}
