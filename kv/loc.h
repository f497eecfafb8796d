/*
 * kv's location cache (kv/README.md, "The location cache"): where a
 * client last saw each key's item, so that its next GET can READ the
 * item alone instead of the bucket pair and then the item.
 * Pure functions of their arguments, like the reader's (store.h), so that
 * the torn-read stress (tests/kv/stress_torn.c --loc) judges with exactly
 * the code a GET runs.
 *
 * An entry says: the key whose full hash is h had its item at (off, len)
 * of partition part, its chunk in generation gen, with CAS cas, and a GET
 * that started at t_live (the reader's monotonic clock) found that item
 * in the key's slot. It may be used only while less than 64 L (the lease,
 * times the generations a slot and a check tell apart) has passed since
 * t_live: before then the owner cannot have reused the item's chunk 64
 * times, so bytes at (off, len) that pass the check in generation gen,
 * not killed, with the entry's CAS, are this item's (the proof is in the
 * README).
 */
#ifndef SK_KV_LOC_H
#define SK_KV_LOC_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#pragma GCC visibility push(hidden) /* kv's own (kv_int.h) */

#define KV_LOC_ENTRIES 4096u /* direct-mapped, a power of two */

/* How long an entry may be used: the lease for each generation a slot
 * tells apart. */
static inline uint64_t kv_loc_age_ns(uint64_t lease_ns)
{
	return lease_ns << SK_KV_GEN_BITS;
}

struct kv_loc {
	uint64_t h;                 /* the key's full hash */
	uint64_t cas;               /* the item's */
	uint64_t t_live;            /* see above */
	struct sk_kv_cand cand;     /* the item; len 0: an empty entry */
	uint32_t part;
};

static inline struct kv_loc *kv_loc_slot(struct kv_loc *tab, uint64_t h)
{
	return &tab[h & (KV_LOC_ENTRIES - 1)];
}

/* @h's entry, if it is there and still young enough at @now to be worth
 * a try (a GET that takes it must still end before t_live + 64 L). */
static inline const struct kv_loc *kv_loc_find(struct kv_loc *tab,
					       uint64_t h, uint32_t part,
					       uint64_t now, uint64_t lease_ns)
{
	const struct kv_loc *e = kv_loc_slot(tab, h);

	if (e->cand.len == 0 || e->h != h || e->part != part ||
	    now - e->t_live >= kv_loc_age_ns(lease_ns))
		return NULL;
	return e;
}

/* A GET that started at @t0 accepted the item @cand with @cas: its slot
 * pointed at it at some time after t0. A fill from an older GET does not
 * overwrite what a younger one saw of the same key. A @killed item (its
 * slot read before the owner's kill, its copy after) makes no entry: it
 * has left its slot, and the kill is what a hit looks for. */
static inline void kv_loc_fill(struct kv_loc *tab, uint64_t h, uint32_t part,
			       const struct sk_kv_cand *cand, uint64_t cas,
			       int killed, uint64_t t0)
{
	struct kv_loc *e = kv_loc_slot(tab, h);

	if (killed || (e->cand.len && e->h == h && e->part == part &&
		       (int64_t)(t0 - e->t_live) < 0))
		return;
	e->h = h;
	e->part = part;
	e->cand = *cand;
	e->cas = cas;
	e->t_live = t0;
}

/* Forget @h's entry (the client changed the key, or a GET found the
 * entry wrong); with @was, only if it still says what @was said. */
static inline void kv_loc_drop(struct kv_loc *tab, uint64_t h,
			       const struct kv_loc *was)
{
	struct kv_loc *e = kv_loc_slot(tab, h);

	if (e->h != h)
		return;
	if (was && (e->cand.off != was->cand.off ||
		    e->cand.gen != was->cand.gen || e->cas != was->cas))
		return;
	e->cand.len = 0;
}

/*
 * The judgement of a GET that READ entry @e's item alone, posted after its
 * @t0, completing at @t_done: accept the item only if
 *   - it is not @killed: the owner kills an item (SK_KV_CAS_KILLED in its
 *     CAS word) just before its slot store takes it out, so a READ that
 *     found the bit clear read the item while it was still in its slot
 *     (README);
 *   - its CAS, @cas, is e's;
 *   - the whole span from e's t_live to t_done is under 64 L: then no
 *     other item of the chunk can carry e's generation (README);
 *   - the GET itself, t0 to t_done, is under L (rule (4));
 *   - it passed rules (1) to (3) under e's offset and generation
 *     (@check_rc, sk_kv_read_check's answer, is 0): a second line, as
 *     in the README.
 */
static inline bool kv_loc_accept(const struct kv_loc *e, int check_rc,
				 uint64_t cas, int killed, uint64_t t0,
				 uint64_t t_done, uint64_t lease_ns)
{
	return check_rc == 0 && !killed && cas == e->cas &&
	       t_done - t0 < lease_ns &&
	       t_done - e->t_live < kv_loc_age_ns(lease_ns);
}

#pragma GCC visibility pop

#endif
