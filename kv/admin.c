/*
 * kv's owner-wide commands, not tied to a key: memcached's flush_all,
 * an owner's figures for skcached's stats (kv.h, SK_KV_CMD_FLUSH,
 * SK_KV_CMD_OWNER_STATS and, per size class, SK_KV_CMD_CLASS_STATS), and
 * a size class's keys (SK_KV_CMD_DUMP, stats cachedump). Each is served
 * by rpc (KV_RPC_FLUSH, KV_RPC_OSTATS, KV_RPC_CSTATS, KV_RPC_DUMP) or in
 * place when the caller is the owner.
 *
 * A flush retires every item of the owner's partitions as deletes would
 * (sk_kv_part_flush), so one-sided readers see them go by the same rules.
 * A flush with a delay is a timer on the owner's loop; memcached keeps
 * one flush time, the latest command's, and so does this: a flush
 * replaces one still pending.
 */
#include <errno.h>
#include <stddef.h>
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

unsigned kv_own_cstats(struct sk_kv *kv, struct sk_kv_class_stats *cls)
{
	struct sk_kv_part_class one[SK_KV_PART_CLASSES];
	unsigned n = 0;

	_Static_assert(SK_KV_PART_CLASSES <= SK_KV_CLASSES_MAX,
		       "kv.h's bound holds the store's classes");
	/* The store's class is kv.h's, field for field (store.h). */
	_Static_assert(sizeof(struct sk_kv_part_class) ==
			       sizeof(struct sk_kv_class_stats) &&
		       offsetof(struct sk_kv_part_class, expired) ==
			       offsetof(struct sk_kv_class_stats, expired),
		       "the same ten counters");
	memset(cls, 0, SK_KV_CLASSES_MAX * sizeof(*cls));
	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		if (kp->owner != kv->rank || kp->part == NULL)
			continue;
		/* Every store has the same classes (store.c's are fixed). */
		n = sk_kv_part_classes(kp->part, one, SK_KV_PART_CLASSES);
		for (unsigned c = 0; c < n; c++) {
			struct sk_kv_class_stats k;

			memcpy(&k, &one[c], sizeof(k));
			sk_kv_class_stats_add(&cls[c], &k);
		}
	}
	return n;
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

void kv_h_cstats(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct sk_kv_class_stats *a;
	size_t len;
	unsigned n;

	(void)sk_rpc_req_data(req, &len);
	if (len != 0) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	a = sk_rpc_resp_buf(req, SK_KV_CLASSES_MAX * sizeof(*a));
	if (a == NULL) {
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	n = kv_own_cstats(kv, a);
	sk_rpc_respond(req, SK_KV_OK, n * sizeof(*a));
}

/* Packs the entries of a dump (kv_own_dump) while they fit. */
struct kv_dump_fill {
	uint8_t *out;
	size_t max, len;
	uint32_t count;
};

static int kv_dump_one(void *arg, const void *key, size_t klen,
		       uint32_t vlen, uint32_t exptime, uint64_t cas)
{
	struct kv_dump_fill *f = arg;
	struct sk_kv_dump_ent e = {.vlen = vlen, .exptime = exptime,
				   .klen = (uint32_t)klen, .cas = cas};
	size_t n = (sizeof(e) + klen + 7) & ~(size_t)7;

	if (f->max - f->len < n)
		return 1;
	memset(f->out + f->len, 0, n);
	memcpy(f->out + f->len, &e, sizeof(e));
	memcpy(f->out + f->len + sizeof(e), key, klen);
	f->len += n;
	f->count++;
	return 0;
}

/*
 * The cursor: the partition's index (kv->parts) in the high 32 bits, the
 * slot word in the low; 0 is the first slot word of the first, and the
 * walk never stops there with something taken, so 0 also says "done".
 */
size_t kv_own_dump(struct sk_kv *kv, unsigned cls, uint64_t *cursor,
		   void *out, size_t max, uint32_t *count)
{
	struct kv_dump_fill f = {.out = out, .max = max};
	uint32_t p = (uint32_t)(*cursor >> 32);
	uint64_t w = (uint32_t)*cursor;
	uint32_t now = (uint32_t)(kv_unix_ns() / 1000000000ull);

	for (; p < kv->nparts; p++, w = 0) {
		struct kv_part *kp = &kv->parts[p];
		uint64_t next;

		if (kp->owner != kv->rank || kp->part == NULL)
			continue;
		next = sk_kv_part_dump(kp->part, cls, w, now, kv_dump_one, &f);
		if (next < sk_kv_part_slot_words(kp->part)) {
			*cursor = (uint64_t)p << 32 | next;
			*count = f.count;
			return f.len;
		}
	}
	*cursor = 0;
	*count = f.count;
	return f.len;
}

void kv_h_dump(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct kv_dump_resp *a;
	struct kv_dump_req q;
	const void *data;
	size_t len;

	data = sk_rpc_req_data(req, &len);
	if (kv_dec_dump_req(data, len, &q) != 0) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	a = sk_rpc_resp_buf(req, sizeof(*a) + q.max);
	if (a == NULL) {
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	a->next = q.cursor;
	a->len = (uint32_t)kv_own_dump(kv, q.cls, &a->next, a + 1, q.max,
				       &a->count);
	sk_rpc_respond(req, SK_KV_OK, sizeof(*a) + a->len);
}
