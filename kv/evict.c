/*
 * kv when full (kv/README.md, "When full" and "The expiry crawler"): the
 * node's side of the store's CLOCK eviction, and an owner's timer.
 *
 * The policy itself is the store's (sk_kv_part_evict_clock, set as each
 * partition's evict hook by owner.c unless the table was opened with
 * no_evict or SKIFF_KV_EVICT=0). What the store cannot see is a GET that
 * read its region one-sided: clients tell the owner by KV_RPC_HINT, whose
 * handler (owner.c) calls kv_evict_hint for each key hash, which sets the
 * item's reference bit as the owner's own read would.
 *
 * The timer: every Q/2 it reaps each owned partition's quarantine (so
 * that memory retired by the last updates comes back without more
 * updates) and lets the expiry crawler visit a bounded number of its
 * slots. It reads no owner.c function, so that owner.c may call in here
 * without a cycle: the store's clock is CLOCK_MONOTONIC (sk_time_ns is
 * the same clock as owner.c's kv_mono_ns), expiry is in CLOCK_REALTIME
 * seconds, as the owner reads them.
 */
#include <stddef.h>
#include <time.h>

#include "kv_int.h"

/* Slot words the crawler visits per owned partition at each tick: with
 * 1 MiB partitions (1,024 buckets, 7,168 slots) one turn takes 28 ticks,
 * 1.4 s at Q = 100 ms, at a cost of microseconds per tick. */
#define KV_SWEEP_SLOTS 256u

void kv_evict_hint(struct sk_kv *kv, struct kv_part *kp, uint64_t key_hash)
{
	(void)kv;
	/* A hint for a partition this node does not own, or for an item
	 * gone since the client's read, marks nothing. */
	if (kp != NULL && kp->part != NULL)
		(void)sk_kv_part_ref(kp->part, key_hash);
}

static uint32_t kv_unix_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec > UINT32_MAX ? UINT32_MAX : (uint32_t)ts.tv_sec;
}

static void kv_sweep_tick(struct sk_timer *t)
{
	struct sk_kv *kv = (struct sk_kv *)((char *)t -
					    offsetof(struct sk_kv, sweep_timer));
	uint32_t unix_now = kv_unix_s();

	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct sk_kv_part *part = kv->parts[p].part;

		if (part == NULL)
			continue;
		/* Each call gets a time read after the previous one
		 * returned: it stamps what that one retired. */
		sk_kv_part_reap(part, sk_time_ns());
		/* Only items with an expiry are the crawler's: a partition
		 * that never held one (owner.c's kv_own_store and
		 * kv_own_touch say) has nothing for it, and its 256 slots
		 * cost about 3,800 instructions a tick. */
		if (kv->parts[p].may_expire)
			sk_kv_part_expire(part, unix_now, KV_SWEEP_SLOTS,
					  sk_time_ns());
	}
	sk_timer_start(kv->loop, t, kv->sweep_ms);
}

void kv_evict_start(struct sk_kv *kv)
{
	kv->sweep_ms = kv->quarantine_ns / 2000000u;
	if (kv->sweep_ms == 0)
		kv->sweep_ms = 1;
	kv->sweep_timer.cb = kv_sweep_tick;
	sk_timer_start(kv->loop, &kv->sweep_timer, kv->sweep_ms);
}

void kv_evict_stop(struct sk_kv *kv)
{
	/* Also on an open that failed before the start: a zeroed timer is
	 * not armed, and stopping it does nothing. */
	sk_timer_stop(kv->loop, &kv->sweep_timer);
}
