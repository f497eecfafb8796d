/*
 * kv's owner-wide commands, not tied to a key: memcached's flush_all,
 * and an owner's figures for skcached's stats (kv.h, SK_KV_CMD_FLUSH and
 * SK_KV_CMD_OWNER_STATS). Each is served by rpc (KV_RPC_FLUSH,
 * KV_RPC_OSTATS) or in place when the caller is the owner.
 *
 * A flush retires every item of the owner's partitions as deletes would
 * (sk_kv_part_flush), so one-sided readers see them go by the same rules.
 * A flush with a delay is a timer on the owner's loop; memcached keeps
 * one flush time, the latest command's, and so does this: a flush
 * replaces one still pending.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kv_int.h"
#include "wire.h"

static void kv_flush_now(struct sk_kv *kv)
{
	uint64_t now = kv_mono_ns();

	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		if (kp->owner != kv->rank || kp->part == NULL)
			continue;
		if (sk_kv_part_flush(kp->part, now) < 0)
			/* The ring could not grow: the deletes one by one
			 * would have failed too. Said, and the rest go. */
			fprintf(stderr, "skiff: kv: rank %u: flush_all: no "
				"memory to retire partition %u's items\n",
				kv->rank, p);
	}
}

static void kv_flush_tick(struct sk_timer *t)
{
	struct sk_kv *kv = (struct sk_kv *)((char *)t -
					    offsetof(struct sk_kv,
						     flush_timer));

	kv->flush_pending = 0;
	kv_flush_now(kv);
}

void kv_flush_stop(struct sk_kv *kv)
{
	if (kv->flush_pending)
		sk_timer_stop(kv->loop, &kv->flush_timer);
	kv->flush_pending = 0;
}

enum sk_kv_res kv_own_flush(struct sk_kv *kv, int32_t delay)
{
	kv_flush_stop(kv);
	if (delay <= 0) {
		kv_flush_now(kv);
		return SK_KV_OK;
	}
	kv->flush_timer.cb = kv_flush_tick;
	sk_timer_start(kv->loop, &kv->flush_timer, (uint64_t)delay * 1000u);
	kv->flush_pending = 1;
	return SK_KV_OK;
}

void kv_own_ostats(struct sk_kv *kv, struct sk_kv_owner_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];
		struct sk_kv_part_stats ps;

		if (kp->owner != kv->rank || kp->part == NULL)
			continue;
		sk_kv_part_stats(kp->part, &ps);
		st->partitions++;
		st->items += ps.items;
		st->bytes += ps.store_used - ps.free_bytes -
			     ps.quarantine_bytes;
		st->limit_bytes += ps.store_size;
		st->evictions += ps.evicted;
		st->expired += ps.expired;
	}
	st->waited = kv->waited;
}

void kv_h_flush(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct kv_flush_req q;
	const void *data;
	size_t len;

	data = sk_rpc_req_data(req, &len);
	if (kv_dec_flush_req(data, len, &q) != 0) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	if (!kv->ready) {
		sk_rpc_respond(req, -EAGAIN, 0);
		return;
	}
	sk_rpc_respond(req, kv_own_flush(kv, q.delay), 0);
}

void kv_h_ostats(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct sk_kv_owner_stats *a;
	size_t len;

	(void)sk_rpc_req_data(req, &len);
	if (len != 0) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	a = sk_rpc_resp_buf(req, sizeof(*a));
	if (a == NULL) {
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	kv_own_ostats(kv, a);
	sk_rpc_respond(req, SK_KV_OK, sizeof(*a));
}
