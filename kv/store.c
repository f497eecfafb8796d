/*
 * The partition store (store.h; kv/README.md, "Design"): the layout of a
 * partition's region, the owner's out-of-place updates with their
 * quarantine, and the reader's acceptance rules.
 *
 * The owner is the region's only writer and the only one who knows where
 * free memory is: free lists, the quarantine and 4 bits per slot are on
 * its heap. It writes the region with relaxed 8-byte
 * atomic stores because peers' NICs (and, in tests, reader threads) read
 * it at the same moment; each update is published by one release store of
 * a slot word. A retired item stays untouched for Q before its chunk can
 * be reused, which is what lets a reader that finishes within L = Q/4 of
 * reading the slot take an immutable snapshot.
 *
 * SK_KV_BROKEN_PUBLISH (tests only, kv_stress_torn_broken) rewrites a
 * live item in place when the new one fits its chunk: the publish step
 * the design forbids, built to show that the torn-read stress catches it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define UNITS(bytes) ((bytes) / SK_KV_UNIT)
_Static_assert(SK_KV_FP_BITS + SK_KV_UNITS_BITS + SK_KV_LOC_BITS == 64,
	       "the slot word's fields fill its 64 bits");
_Static_assert(SK_KV_ITEM_UNITS_MAX <= SK_KV_UNITS_MAX,
	       "the largest item's size fits the slot's units field");
_Static_assert(sizeof(struct sk_kv_item_hdr) == SK_KV_ITEM_HDR &&
	       SK_KV_ITEM_HDR % 8 == 0, "the item header, whole words");
_Static_assert(offsetof(struct sk_kv_item_hdr, flags) == SK_KV_ITEM_SEALED,
	       "the seal starts at the flags");
/* A step of the update path, inlined into it: a SET is a few hundred
 * instructions, and calls between these small steps were a fifth of it
 * (kv/README.md, "Where kv stands"). */
#define KV_HOT static inline __attribute__((always_inline))
#define NCLASS_MAX SK_KV_PART_CLASSES
#define CLS_SMALL  256 /* units (4 KiB) under which class_of is a table */
/* Eviction runs ahead once less than 1/DIV of the store is uncarved, and
 * keeps at least 1/DIV of a class's chunks spare (class_reserve). Both
 * floors cover bursts beyond what the last window of Q saw, which do not
 * grow with the store: past TAIL_MAX bytes and RESERVE_MAX chunks a large
 * store keeps only those and what twice the window's sets need
 * (kv/README.md, "Liveness under a steady SET load"). */
#define SK_KV_EVICT_RESERVE_DIV 4
#define SK_KV_EVICT_TAIL_MAX    (256u << 10)
#define SK_KV_EVICT_RESERVE_MAX 64u
#define SK_KV_BORROW 4 /* classes up an item may borrow a free chunk from */

/*
 * The owner keeps no record per item: a live item's chunk is its slot
 * word's offset, its class that of the slot word's size, its key hash
 * that of the key in the item (computed for hints). What the slot word
 * cannot say is 4 bits per slot word, on the heap: CLOCK's reference bit
 * (read or written since the hand last passed) and how many classes
 * above its own the item's chunk is (it borrowed a larger free chunk,
 * chunk_alloc).
 */
#define SM_REF          1u
#define SM_BORROW_SHIFT 1

/* A chunk's tag, as free lists and the quarantine keep it: the slot's
 * gen:6 | off:29 (offset in units, and the generation of its next or
 * last use). */
static inline uint64_t chunk_tag(unsigned gen, uint64_t off)
{
	return (uint64_t)gen << SK_KV_OFF_BITS | off;
}
static inline unsigned tag_gen(uint64_t tag)
{
	return (tag >> SK_KV_OFF_BITS) & SK_KV_GEN_MASK;
}
static inline uint64_t tag_off(uint64_t tag) { return tag & SK_KV_OFF_MAX; }

/* Free chunks of a class: their tags, the generation each one's next
 * item gets. */
struct sk_kv_fvec {
	uint64_t *v;
	uint32_t n, cap;
};

/* A retired chunk: its tag (its last item's generation) and class, and
 * its retire stamp (0 until stamped: the last q_pend entries). */
#define QE_CLS_BITS 8
#define QE_CLS_MASK ((1u << QE_CLS_BITS) - 1)
struct sk_kv_qent {
	uint64_t off_cls;
	uint64_t retired_ns;
};

struct sk_kv_part {
	/* A key's hash its caller already made (sk_kv_part_hash_known):
	 * used while calls name the same key bytes. */
	uint64_t memo_h;
	size_t memo_klen;
	const void *memo_key;
	uint8_t *mem;
	struct sk_kv_region_hdr *hdr;
	uint64_t *bucket;            /* nbuckets x 8 words */
	uint8_t *store;
	struct sk_kv_part_cfg cfg;
	uint64_t store_off;
	uint64_t store_units;
	uint64_t bump;               /* first never-used unit */
	uint8_t *sm;                 /* 4 bits per slot word (SM_*) */
	uint32_t cls_units[NCLASS_MAX];
	unsigned nclass;
	uint8_t cls_small[CLS_SMALL]; /* class_of below CLS_SMALL units */
	struct sk_kv_fvec free[NCLASS_MAX];
	/* The quarantine: a ring of retired chunks, oldest first; the last
	 * q_pend were retired by the last call and wait for their stamp. */
	struct sk_kv_qent *q;
	uint64_t q_cap, q_head, q_len, q_pend;
	uint64_t q_bytes;
	uint64_t items;
	uint64_t cas_next;
	/* Eviction (kv/README.md, "When full"): chunks per class, carved
	 * and in quarantine (free ones: free[c].n); the CLOCK hand and the
	 * expiry crawler, slot word indexes into bucket[]. */
	uint32_t nchunk[NCLASS_MAX];
	uint32_t nchunk_peak[NCLASS_MAX]; /* chunk_split keeps half of it */
	uint32_t nquar[NCLASS_MAX];
	uint64_t hand;
	uint64_t crawl;
	uint64_t evicted;
	uint64_t expired;
	uint64_t split;             /* free chunks cut for a smaller class */
	/* Per class of chunk, for sk_kv_part_classes: the bytes its
	 * published items take, sets into it, and its items evicted (those
	 * with an expiry apart) and expired, ever. */
	uint64_t cls_ibytes[NCLASS_MAX];
	uint64_t cls_sets[NCLASS_MAX];
	uint64_t cls_evicted[NCLASS_MAX];
	uint64_t cls_evicted_exp[NCLASS_MAX];
	uint64_t cls_expired[NCLASS_MAX];
	int in_hook;                /* inside cfg.evict, called by a set */
	/* Sets per class in the current window of Q ([0], from win_start)
	 * and the one before ([1]): the demand class_reserve covers. */
	uint32_t win_n[NCLASS_MAX][2];
	uint64_t win_units[2]; /* the units of those sets, all classes */
	uint64_t last_set_ns[NCLASS_MAX]; /* a class's last set (chunk_split) */
	uint64_t split_next_ns; /* chunk_split found none: not before this */
	int nomem_for_good;     /* sk_kv_part_nomem_for_good */
	uint64_t win_start;
};

const char *sk_kv_status_str(int status)
{
	switch (status) {
	case SK_KV_ERR_NOT_FOUND:
		return "no such key";
	case SK_KV_ERR_PAIR_FULL:
		return "both buckets of the key's pair are full";
	case SK_KV_ERR_QUARANTINE_FULL:
		return "too many retired bytes in quarantine";
	case SK_KV_ERR_STALE:
		return "bucket of another epoch or partition (stale map)";
	case SK_KV_ERR_BAD_CHECK:
		return "item bytes fail their check";
	case SK_KV_ERR_OTHER_KEY:
		return "item of another key";
	case SK_KV_ERR_EXPIRED:
		return "item expired";
	default:
		return sk_status_str(status);
	}
}

/* ---- the reader ---- */

int sk_kv_view_from_hdr(const void *bytes, size_t len, struct sk_kv_view *view_p)
{
	struct sk_kv_region_hdr h;
	uint64_t units;

	if (len < sizeof(h))
		return SK_ERR_MALFORMED;
	memcpy(&h, bytes, sizeof(h));
	if (h.magic != SK_KV_MAGIC)
		return SK_ERR_MALFORMED;
	if (h.version != SK_KV_VERSION)
		return SK_ERR_VERSION;
	if (h.nbuckets < 2 || h.nbuckets > SK_KV_BUCKETS_MAX ||
	    h.store_off != SK_KV_HDR_SIZE + h.nbuckets * SK_KV_LINE ||
	    h.partition >= SK_KV_PART_MAX || h.store_size % SK_KV_UNIT)
		return SK_ERR_MALFORMED;
	units = UNITS(h.store_size);
	if (units == 0 || units > SK_KV_OFF_MAX + 1)
		return SK_ERR_MALFORMED;
	view_p->partition = h.partition;
	view_p->epoch = h.epoch;
	view_p->nbuckets = h.nbuckets;
	view_p->store_off = h.store_off;
	view_p->store_size = h.store_size;
	return SK_OK;
}

/*
 * The first bucket of the key's pair (b, b + 1), b in [0, B - 1): hash
 * bits 0..27 mapped onto the B - 1 places by multiply-shift, so B need
 * not be a power of two, and pairs overlap: bucket b is in the pairs that
 * start at b - 1 and at b, and a key may go to the less full of its two
 * (find_empty), which spreads the load better than disjoint pairs.
 */
KV_HOT uint64_t pair_bucket(uint64_t h, uint64_t nbuckets)
{
	return ((h & SK_KV_PLACE_MASK) * (nbuckets - 1)) >> SK_KV_PLACE_BITS;
}

void sk_kv_read_plan(const struct sk_kv_view *view,
		     const struct sk_kv_hkey *hkey, const void *key,
		     size_t klen, struct sk_kv_plan *plan_p)
{
	sk_kv_read_plan_hash(view, hkey, sk_kv_key_hash(hkey, key, klen),
			     plan_p);
}

void sk_kv_read_plan_hash(const struct sk_kv_view *view,
			  const struct sk_kv_hkey *hkey, uint64_t h,
			  struct sk_kv_plan *plan_p)
{
	plan_p->h = h;
	plan_p->hkey = *hkey;
	plan_p->fp = sk_kv_fp(h);
	plan_p->pair_off = SK_KV_HDR_SIZE +
			   pair_bucket(h, view->nbuckets) * SK_KV_LINE;
}

int sk_kv_read_pick(const struct sk_kv_view *view,
		    const struct sk_kv_plan *plan, const void *pair,
		    struct sk_kv_cand *cands, unsigned *n_p)
{
	const uint8_t *p = pair;
	uint64_t store_units = UNITS(view->store_size);
	uint64_t h0, h1;
	unsigned i, n = 0, fp = plan->fp;

	*n_p = 0;
	memcpy(&h0, p, 8);
	memcpy(&h1, p + SK_KV_LINE, 8);
	if (sk_kv_bhdr_epoch(h0) != view->epoch ||
	    sk_kv_bhdr_partition(h0) != view->partition ||
	    sk_kv_bhdr_epoch(h1) != view->epoch ||
	    sk_kv_bhdr_partition(h1) != view->partition)
		return SK_KV_ERR_STALE;
	/* Words 1..7 of each line, each read once; the fingerprint first:
	 * most slots are another key's or empty (0, and no plan's fp is
	 * 0). Unrolled, a slot that does not match costs five instructions
	 * (every GET looks at 14). */
	for (unsigned b = 0; b < 2; b++) {
		const uint8_t *line = p + b * SK_KV_LINE;

#pragma GCC unroll 7
		for (i = 1; i < 8; i++) {
			uint64_t s, units, off;

			memcpy(&s, line + 8 * i, 8);
			if (sk_kv_slot_fp(s) != fp)
				continue;
			units = sk_kv_slot_units(s);
			off = sk_kv_slot_off(s);
			/* A slot is the owner's word, but what a READ
			 * returns is bytes: never let one send the next
			 * READ out of bounds. */
			if (units == 0 || units > SK_KV_ITEM_UNITS_MAX ||
			    off >= store_units || units > store_units - off)
				continue;
			cands[n].off = view->store_off + off * SK_KV_UNIT;
			cands[n].len = units * SK_KV_UNIT;
			cands[n].gen = sk_kv_slot_gen(s);
			n++;
		}
	}
	*n_p = n;
	return SK_OK;
}

/* The check word the item of len bytes at item must carry at region_off
 * (store.h): its seal, recomputed, closed with its cas and exptime. */
static uint64_t item_check(const struct sk_kv_hkey *hkey,
			   uint64_t region_off, const uint8_t *item,
			   size_t len)
{
	struct sk_kv_item_hdr h;

	memcpy(&h, item, sizeof(h));
	return sk_kv_item_close(hkey, sk_kv_item_seal(hkey, item, len),
				h.cas & ~SK_KV_CAS_KILLED, h.exptime, region_off);
}

int sk_kv_read_parse(const struct sk_kv_plan *plan,
		     const struct sk_kv_cand *cand, const void *item,
		     const void *key, size_t klen, uint32_t owner_now,
		     struct sk_kv_item_view *item_p)
{
	const uint8_t *p = item;
	struct sk_kv_item_hdr h;

	if (cand->len < SK_KV_ITEM_HDR)
		return SK_ERR_MALFORMED;
	memcpy(&h, p, sizeof(h));
	/* Lengths first: the bytes may be anything, and the key compare
	 * below must stay inside the copy. */
	if (h.klen == 0 || h.vlen > SK_KV_VALUE_MAX ||
	    sk_kv_item_size(h.klen, h.vlen) != cand->len)
		return SK_ERR_MALFORMED;
	if (h.klen != klen || memcmp(p + SK_KV_ITEM_HDR, key, klen))
		return SK_KV_ERR_OTHER_KEY;
	if (h.state & ~SK_KV_ITEM_STATES)
		return SK_ERR_MALFORMED;
	if (h.exptime != 0 && h.exptime <= owner_now)
		return SK_KV_ERR_EXPIRED;
	item_p->state = h.state;
	item_p->value = p + SK_KV_ITEM_HDR + h.klen;
	item_p->vlen = h.vlen;
	item_p->flags = h.flags;
	item_p->cas = h.cas & ~SK_KV_CAS_KILLED;
	item_p->exptime = h.exptime;
	item_p->killed = (h.cas & SK_KV_CAS_KILLED) != 0;
	return SK_OK;
}

int sk_kv_read_check(const struct sk_kv_plan *plan,
		     const struct sk_kv_cand *cand, const void *item,
		     const void *key, size_t klen, uint32_t owner_now,
		     struct sk_kv_item_view *item_p)
{
	uint64_t check;

	if (cand->len < SK_KV_ITEM_HDR)
		return SK_ERR_MALFORMED;
	memcpy(&check, item, sizeof(check));
	if (check != item_check(&plan->hkey,
				sk_kv_item_place(cand->off, cand->gen), item,
				cand->len))
		return SK_KV_ERR_BAD_CHECK;
	return sk_kv_read_parse(plan, cand, item, key, klen, owner_now,
				item_p);
}

/* ---- the owner ---- */

/* Size classes in units, growing by ~1.25 like memcached's slabs, from
 * the smallest item (a 1-byte key, no value: 48 bytes) to the largest,
 * SK_KV_ITEM_UNITS_MAX: 48 classes. */
static void classes_init(struct sk_kv_part *part)
{
	uint64_t u = UNITS(sk_kv_item_size(1, 0));
	unsigned n = 0;

	while (u < SK_KV_ITEM_UNITS_MAX && n < NCLASS_MAX - 1) {
		part->cls_units[n++] = u;
		u = u + 1 > u * 5 / 4 ? u + 1 : u * 5 / 4;
	}
	part->cls_units[n++] = SK_KV_ITEM_UNITS_MAX;
	part->nclass = n;
	for (u = 0, n = 0; u < CLS_SMALL; u++) {
		while (part->cls_units[n] < u)
			n++;
		part->cls_small[u] = (uint8_t)n;
	}
}

/* The class of an item of units: a table for small items (every update
 * asks, and a retire), a binary search above. */
KV_HOT unsigned class_of(const struct sk_kv_part *part, uint64_t units)
{
	unsigned lo = 0, hi = part->nclass - 1;

	if (units < CLS_SMALL)
		return part->cls_small[units];
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;

		if (part->cls_units[mid] >= units)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* ---- what the owner keeps per slot: 4 bits ---- */

KV_HOT unsigned sm_get(const struct sk_kv_part *part, uint64_t w)
{
	return part->sm[w / 2] >> (w % 2 * 4) & 0xf;
}

KV_HOT void sm_put(struct sk_kv_part *part, uint64_t w, unsigned v)
{
	unsigned sh = w % 2 * 4;

	part->sm[w / 2] = (uint8_t)((part->sm[w / 2] & ~(0xfu << sh)) |
				    v << sh);
}

static void ref_set(struct sk_kv_part *part, uint64_t w)
{
	sm_put(part, w, sm_get(part, w) | SM_REF);
}

/* The chunk of slot word w's item (w in use): its tag (generation and
 * offset in units) from the slot word, its class from the item's size
 * and the classes it borrowed up. */
KV_HOT uint64_t slot_chunk(const struct sk_kv_part *part, uint64_t w,
			   unsigned *cls_p)
{
	uint64_t s = part->bucket[w];

	*cls_p = class_of(part, sk_kv_slot_units(s)) +
		 (sm_get(part, w) >> SM_BORROW_SHIFT);
	return s & ((1ull << SK_KV_LOC_BITS) - 1);
}

KV_HOT uint64_t cls_bytes(const struct sk_kv_part *part, unsigned c)
{
	return (uint64_t)part->cls_units[c] * SK_KV_UNIT;
}

/* ---- free chunks and the quarantine: arrays of offsets ---- */

unsigned long sk_kv_alloc_fail_in;

/* The heap for the arrays that grow after init: the only allocations an
 * update, a delete or a reap can make (tests fail them, store.h). */
static void *grow(void *p, size_t n)
{
	if (sk_kv_alloc_fail_in && --sk_kv_alloc_fail_in == 0)
		return NULL;
	return realloc(p, n);
}

static int fv_push(struct sk_kv_fvec *fv, uint64_t tag)
{
	if (fv->n == fv->cap) {
		uint32_t cap = fv->cap ? 2 * fv->cap : 8;
		uint64_t *v = grow(fv->v, (size_t)cap * sizeof(*v));

		if (!v)
			return SK_ERR_NOMEM;
		fv->v = v;
		fv->cap = cap;
	}
	fv->v[fv->n++] = tag;
	return SK_OK;
}

/* q_reserve's growing of the ring, seldom. */
static __attribute__((noinline)) int q_grow(struct sk_kv_part *part,
					    uint64_t n)
{
	struct sk_kv_qent *q;
	uint64_t cap = part->q_cap ? part->q_cap : 16, first;

	while (cap < part->q_len + n)
		cap *= 2;
	q = grow(NULL, cap * sizeof(*q));
	if (!q)
		return SK_ERR_NOMEM;
	/* The ring's two runs, oldest first (one when it has not wrapped). */
	first = part->q_cap - part->q_head;
	if (first > part->q_len)
		first = part->q_len;
	if (part->q_len) {
		memcpy(q, part->q + part->q_head, first * sizeof(*q));
		memcpy(q + first, part->q, (part->q_len - first) * sizeof(*q));
	}
	free(part->q);
	part->q = q;
	part->q_cap = cap;
	part->q_head = 0;
	return SK_OK;
}

/* Room for n more retired chunks, so that retiring one cannot fail once
 * a slot store has been made. */
KV_HOT int q_reserve(struct sk_kv_part *part, uint64_t n)
{
	if (part->q_len + n <= part->q_cap)
		return SK_OK;
	return q_grow(part, n);
}

KV_HOT struct sk_kv_qent *q_at(const struct sk_kv_part *part, uint64_t i)
{
	return &part->q[(part->q_head + i) & (part->q_cap - 1)];
}

int sk_kv_part_init(void *mem, size_t size, const struct sk_kv_part_cfg *cfg,
		    struct sk_kv_part **part_p)
{
	struct sk_kv_part *part;
	uint64_t nb = cfg->nbuckets, store_off, units, b, bhdr;

	if (!mem || ((uintptr_t)mem % SK_KV_LINE) || nb < 2 ||
	    nb > SK_KV_BUCKETS_MAX ||
	    cfg->partition >= SK_KV_PART_MAX)
		return SK_ERR_INVAL;
	store_off = SK_KV_HDR_SIZE + nb * SK_KV_LINE;
	if (size < store_off + SK_KV_UNIT)
		return SK_ERR_INVAL;
	units = UNITS(size - store_off);
	if (units > SK_KV_OFF_MAX + 1)
		units = SK_KV_OFF_MAX + 1;

	part = calloc(1, sizeof(*part));
	if (!part)
		return SK_ERR_NOMEM;
	part->sm = calloc(nb * 4, 1); /* 4 bits per slot word */
	if (!part->sm)
		goto err_free_part;

	part->mem = mem;
	part->hdr = mem;
	part->bucket = (uint64_t *)((uint8_t *)mem + SK_KV_HDR_SIZE);
	part->store = (uint8_t *)mem + store_off;
	part->cfg = *cfg;
	if (!part->cfg.quarantine_max)
		part->cfg.quarantine_max = units * SK_KV_UNIT / 2;
	part->store_off = store_off;
	part->store_units = units;
	part->cas_next = 1;
	classes_init(part);

	/* Not yet visible to any peer: plain stores. */
	memset(mem, 0, store_off);
	part->hdr->magic = SK_KV_MAGIC;
	part->hdr->version = SK_KV_VERSION;
	part->hdr->partition = cfg->partition;
	part->hdr->epoch = cfg->epoch;
	part->hdr->owner_rank = cfg->owner_rank;
	part->hdr->nbuckets = nb;
	part->hdr->store_off = store_off;
	part->hdr->store_size = units * SK_KV_UNIT;
	bhdr = sk_kv_bhdr_make(cfg->epoch, cfg->partition, 0);
	for (b = 0; b < nb; b++)
		part->bucket[b * 8] = bhdr;
	*part_p = part;
	return SK_OK;

err_free_part:
	free(part);
	return SK_ERR_NOMEM;
}

void sk_kv_part_cleanup(struct sk_kv_part *part)
{
	unsigned c;

	if (!part)
		return;
	for (c = 0; c < part->nclass; c++)
		free(part->free[c].v);
	free(part->q);
	free(part->sm);
	free(part);
}

void sk_kv_part_view(const struct sk_kv_part *part, struct sk_kv_view *view_p)
{
	view_p->partition = part->cfg.partition;
	view_p->epoch = __atomic_load_n(&part->hdr->epoch, __ATOMIC_RELAXED);
	view_p->nbuckets = part->cfg.nbuckets;
	view_p->store_off = part->store_off;
	view_p->store_size = part->store_units * SK_KV_UNIT;
}

/* The item slot word w (in use) points at. The owner reads its own region
 * with plain loads: nobody else writes it. */
KV_HOT const struct sk_kv_item_hdr *item_of(const struct sk_kv_part *part,
					    uint64_t w)
{
	return (const void *)(part->store +
			      sk_kv_slot_off(part->bucket[w]) * SK_KV_UNIT);
}

/* Whether the n key bytes at a and b are equal: two word compares for
 * the common 8-16 byte keys (memcmp's call was a fifth of find). */
KV_HOT int key_eq(const uint8_t *a, const void *b, size_t n)
{
	const uint8_t *q = b;
	uint64_t x0, x1, y0, y1;

	if (n < 8 || n > 16)
		return !memcmp(a, b, n);
	memcpy(&x0, a, 8);
	memcpy(&y0, q, 8);
	memcpy(&x1, a + n - 8, 8);
	memcpy(&y1, q + n - 8, 8);
	return !((x0 ^ y0) | (x1 ^ y1));
}

/* The word index (in part->bucket) of the key's live slot, or -1. The
 * pair's 14 slots unrolled, the two bucket headers (words 0 and 8) left
 * out: a used slot's fingerprint is never 0, so an empty one never
 * matches. */
KV_HOT int64_t find(const struct sk_kv_part *part, uint64_t h,
		    const void *key, size_t klen)
{
	uint64_t base = pair_bucket(h, part->cfg.nbuckets) * 8;
	const uint64_t *b = part->bucket + base;
	unsigned fp = sk_kv_fp(h), i;

#pragma GCC unroll 16
	for (i = 1; i < 16; i++) {
		const struct sk_kv_item_hdr *ih;

		if (i == 8 || sk_kv_slot_fp(b[i]) != fp)
			continue;
		ih = item_of(part, base + i);
		if (ih->klen == klen &&
		    key_eq((const uint8_t *)ih + SK_KV_ITEM_HDR, key, klen))
			return (int64_t)(base + i);
	}
	return -1;
}

/* An empty slot of the key's pair, in the bucket with more of them (the
 * first on a tie), or -1. */
KV_HOT int64_t find_empty(const struct sk_kv_part *part, uint64_t h)
{
	uint64_t base = pair_bucket(h, part->cfg.nbuckets) * 8, w;
	int64_t first[2] = { -1, -1 };
	unsigned nfree[2] = { 0, 0 }, i;

	for (i = 0; i < 2; i++)
		for (w = base + 8 * i + 1; w < base + 8 * i + 8; w++)
			if (part->bucket[w] == 0 && !nfree[i]++)
				first[i] = (int64_t)w;
	return nfree[1] > nfree[0] ? first[1] : first[0];
}

void sk_kv_part_hash_known(struct sk_kv_part *part, const void *key,
			   size_t klen, uint64_t h)
{
	part->memo_key = key;
	part->memo_klen = klen;
	part->memo_h = h;
}

void sk_kv_part_hash_forget(struct sk_kv_part *part)
{
	part->memo_key = NULL;
}

/* The hash of @key with the partition's key, or the one its caller made
 * for the same bytes (a SET or an rpc GET hashes its key once, in
 * owner.c): about 45 instructions for 16 bytes against two compares. */
KV_HOT uint64_t key_hash(const struct sk_kv_part *part, const void *key,
			 size_t klen)
{
	if (key == part->memo_key && klen == part->memo_klen)
		return part->memo_h;
	return sk_kv_key_hash(&part->cfg.hkey, key, klen);
}

int sk_kv_part_lookup(struct sk_kv_part *part, const void *key, size_t klen,
		      struct sk_kv_item_view *item_p)
{
	const struct sk_kv_item_hdr *ih;
	uint64_t h;
	int64_t w;

	if (klen == 0 || klen > SK_KV_KEY_MAX)
		return SK_ERR_INVAL;
	h = key_hash(part, key, klen);
	w = find(part, h, key, klen);
	if (w < 0)
		return SK_KV_ERR_NOT_FOUND;
	/* The owner's own read of the item: an access CLOCK counts. */
	ref_set(part, w);
	ih = item_of(part, w);
	item_p->value = (const uint8_t *)ih + SK_KV_ITEM_HDR + ih->klen;
	item_p->vlen = ih->vlen;
	item_p->flags = ih->flags;
	item_p->cas = ih->cas;
	item_p->exptime = ih->exptime;
	item_p->killed = 0;
	item_p->state = ih->state;
	return SK_OK;
}

/*
 * Items retired by the previous call get now_ns as their retire time. The
 * caller read now_ns after that call returned, so after the slot store
 * that unpublished them: a time taken before it (at the start of the call
 * that retired them) could be earlier than a reader's read of the slot by
 * as long as the owner stalled in between, and Q would start too soon.
 */
KV_HOT void stamp(struct sk_kv_part *part, uint64_t now_ns)
{
	uint64_t i;

	/* Inside an update's eviction hook, now_ns is the update's, read
	 * before the slot stores the hook makes: its retirees wait for the
	 * next call. */
	if (!part->q_pend || part->in_hook)
		return;
	i = part->q_len - part->q_pend;
	do
		q_at(part, i)->retired_ns = now_ns;
	while (++i < part->q_len);
	part->q_pend = 0;
}

/* Free what has aged Q by now_ns, without stamping: an update calls this
 * again after its eviction hook retired items during the call, and those
 * must get the next call's time, not this one's (see stamp). */
static __attribute__((noinline)) unsigned
reap_some(struct sk_kv_part *part, uint64_t now_ns)
{
	unsigned n = 0;

	/* FIFO in retire order; a clock that went back only delays. */
	while (part->q_len > part->q_pend) {
		struct sk_kv_qent *e = q_at(part, 0);
		unsigned c = e->off_cls & QE_CLS_MASK;
		uint64_t tag = e->off_cls >> QE_CLS_BITS;

		if (now_ns < e->retired_ns ||
		    now_ns - e->retired_ns < part->cfg.quarantine_ns)
			break;
		/* Out of quarantine, the chunk's next item is another
		 * generation. No heap for the free list: it stays in
		 * quarantine (a later reap retries). */
		if (fv_push(&part->free[c],
			    chunk_tag((tag_gen(tag) + 1) & SK_KV_GEN_MASK,
				      tag_off(tag))))
			break;
		part->q_head = (part->q_head + 1) & (part->q_cap - 1);
		part->q_len--;
		part->q_bytes -= cls_bytes(part, c);
		part->nquar[c]--;
		n++;
	}
	return n;
}

/* reap_aged, where the oldest entry may have aged: an update asks every
 * time, and most times it has not. */
KV_HOT unsigned reap_aged(struct sk_kv_part *part, uint64_t now_ns)
{
	const struct sk_kv_qent *e;

	if (part->q_len == part->q_pend)
		return 0;
	e = q_at(part, 0);
	if (now_ns < e->retired_ns ||
	    now_ns - e->retired_ns < part->cfg.quarantine_ns)
		return 0;
	return reap_some(part, now_ns);
}

unsigned sk_kv_part_reap(struct sk_kv_part *part, uint64_t now_ns)
{
	stamp(part, now_ns);
	return reap_aged(part, now_ns);
}

int sk_kv_part_nomem_for_good(const struct sk_kv_part *part)
{
	return part->nomem_for_good;
}

uint64_t sk_kv_part_room_at(const struct sk_kv_part *part, uint64_t now_ns)
{
	if (part->q_len == 0)
		return 0;
	if (part->q_len == part->q_pend)
		return now_ns + part->cfg.quarantine_ns;
	return q_at(part, 0)->retired_ns + part->cfg.quarantine_ns;
}

/* Out of its slot: quarantined, its time stamped by the next call. The
 * caller made room (q_reserve) before its slot store. */
KV_HOT void retire(struct sk_kv_part *part, uint64_t tag, unsigned c)
{
	struct sk_kv_qent *e = q_at(part, part->q_len);

	e->off_cls = tag << QE_CLS_BITS | c;
	e->retired_ns = 0;
	part->q_len++;
	part->q_pend++;
	part->q_bytes += cls_bytes(part, c);
	part->nquar[c]++;
}

/*
 * Kill slot word w's item, just before a slot store takes it out: set
 * SK_KV_CAS_KILLED in its CAS word (no CAS has it; the check closes over
 * the CAS without it, so a GET that read the slot before this store
 * still takes the item, current at that read). Ordered before the slot
 * store (release): a READ that finds the bit clear read the item while
 * it was still in its slot, which lets a location-cache GET READ the
 * item alone (kv/README.md, "The location cache").
 */
KV_HOT void item_kill(struct sk_kv_part *part, uint64_t w)
{
	uint64_t *cas = (uint64_t *)(part->store +
				     sk_kv_slot_off(part->bucket[w]) *
					     SK_KV_UNIT) +
			offsetof(struct sk_kv_item_hdr, cas) / 8;

	__atomic_store_n(cas, *cas | SK_KV_CAS_KILLED, __ATOMIC_RELAXED);
}

/* Slot word w's item out of its slot (slot := 0, release), killed first,
 * and retired. The caller made room for one retiree. */
static void unpublish(struct sk_kv_part *part, uint64_t w)
{
	unsigned c;
	uint64_t tag = slot_chunk(part, w, &c);

	part->cls_ibytes[c] -= sk_kv_slot_units(part->bucket[w]) * SK_KV_UNIT;
	item_kill(part, w);
	__atomic_store_n(&part->bucket[w], 0, __ATOMIC_RELEASE);
	sm_put(part, w, 0);
	retire(part, tag, c);
	part->items--;
}

/* A chunk taken for an update: offset in units, the generation its item
 * gets, class, and how many classes above the item's own it is
 * (borrowed). */
struct chunk {
	uint64_t off;
	unsigned gen;
	unsigned cls;
	unsigned borrow;
};

KV_HOT int pop_free(struct sk_kv_part *part, unsigned c, struct chunk *ch)
{
	struct sk_kv_fvec *fv = &part->free[c];
	uint64_t tag;

	if (!fv->n)
		return 0;
	tag = fv->v[--fv->n];
	ch->off = tag_off(tag);
	ch->gen = tag_gen(tag);
	ch->cls = c;
	return 1;
}

KV_HOT uint32_t class_reserve(const struct sk_kv_part *part, unsigned c);

#define SK_KV_SPLIT_IDLE_Q 50

/* The spare chunks an idle class keeps for when its sets come back: its
 * reserve, and at least a quarter of its chunks and two. */
static uint32_t split_keep(const struct sk_kv_part *part, unsigned b)
{
	uint32_t r = class_reserve(part, b);

	if (r < part->nchunk[b] / SK_KV_EVICT_RESERVE_DIV)
		r = part->nchunk[b] / SK_KV_EVICT_RESERVE_DIV;
	return r < 2 ? 2 : r;
}

/*
 * Memory for class c from a larger class that no longer uses it: cut a
 * free chunk of a class with no set for SPLIT_IDLE_Q windows of Q and
 * more spare chunks than it keeps (split_keep) into chunks of c (the
 * rest of it, under one chunk of c, is lost), one for the caller (ch,
 * when not NULL) and the others to c's free list. The first keeps the
 * chunk's generation (its old items' slot words named that offset), the
 * others start at 0 (none ever named theirs). A free chunk is out of
 * quarantine, so no reader holds it. Chunks are never merged, so this is
 * one way, and only idle classes give: after a workload moves to smaller
 * values, the new class grows into the memory the old one left free
 * instead of evicting its own items (kv/README.md, "When full").
 */
static __attribute__((noinline)) int chunk_split(struct sk_kv_part *part,
						 unsigned c, struct chunk *ch,
						 uint64_t now_ns)
{
	uint64_t cu = part->cls_units[c], bu, off, k, i, idle;
	struct sk_kv_fvec *fv = &part->free[c];
	struct chunk big;
	unsigned b;

	if (now_ns < part->split_next_ns)
		return 0;
	idle = SK_KV_SPLIT_IDLE_Q * part->cfg.quarantine_ns;
	for (b = c + 1; b < part->nclass; b++)
		if (part->free[b].n &&
		    part->cls_units[b] >= 2 * cu &&
		    part->nchunk[b] > part->nchunk_peak[b] / 2 &&
		    now_ns >= part->last_set_ns[b] + idle &&
		    part->free[b].n + part->nquar[b] > split_keep(part, b))
			break;
	if (b >= part->nclass) {
		/* Classes go idle slowly: look again a Q later. */
		part->split_next_ns = now_ns + part->cfg.quarantine_ns;
		return 0;
	}
	bu = part->cls_units[b];
	k = bu / cu;
	/* Room on c's free list for all the chunks and one more (a
	 * chunk_unalloc of the caller's). */
	while (fv->cap < fv->n + k + 1) {
		uint32_t cap = fv->cap ? fv->cap * 2 : 64;
		uint64_t *v = grow(fv->v, (size_t)cap * sizeof(*v));

		if (v == NULL)
			return 0;
		fv->v = v;
		fv->cap = cap;
	}
	if (!pop_free(part, b, &big))
		return 0;
	off = big.off;
	part->nchunk[b]--;
	part->nchunk[c] += k;
	if (part->nchunk[c] > part->nchunk_peak[c])
		part->nchunk_peak[c] = part->nchunk[c];
	part->split++;
	for (i = k - 1; i >= 1; i--)
		fv->v[fv->n++] = chunk_tag(0, off + i * cu);
	if (ch == NULL) {
		fv->v[fv->n++] = chunk_tag(big.gen, off);
		return 1;
	}
	ch->off = off;
	ch->gen = big.gen;
	ch->cls = c;
	ch->borrow = 0;
	return 1;
}

/*
 * A free chunk of the item's class, else a new one from the top, else a
 * free chunk of one of the next few classes (at most about 2.4 times the
 * size): the item sits in a larger chunk, which keeps its class, until it
 * leaves. This lets neighbouring classes lend to one that a burst of sets
 * emptied while its evicted chunks are still in quarantine. Else one cut
 * from an idle class's free chunk (chunk_split).
 */
KV_HOT int chunk_alloc(struct sk_kv_part *part, uint64_t units,
		       struct chunk *ch, uint64_t now_ns)
{
	unsigned c = class_of(part, units), b;
	uint64_t cu = part->cls_units[c];

	ch->borrow = 0;
	if (pop_free(part, c, ch))
		return 1;
	if (cu > part->store_units - part->bump) {
		for (b = c + 1; b < part->nclass && b <= c + SK_KV_BORROW; b++)
			if (pop_free(part, b, ch)) {
				ch->borrow = b - c;
				return 1;
			}
		return chunk_split(part, c, ch, now_ns);
	}
	ch->off = part->bump;
	ch->gen = 0;
	ch->cls = c;
	part->bump += cu;
	if (++part->nchunk[c] > part->nchunk_peak[c])
		part->nchunk_peak[c] = part->nchunk[c];
	return 1;
}

/* A chunk chunk_alloc gave back unused: to the top it came from, or to the
 * free list it was popped from (which has room for it again). */
static void chunk_unalloc(struct sk_kv_part *part, const struct chunk *ch)
{
	uint64_t cu = part->cls_units[ch->cls];
	struct sk_kv_fvec *fv = &part->free[ch->cls];

	if (ch->off + cu == part->bump) {
		part->bump -= cu;
		part->nchunk[ch->cls]--;
	} else {
		fv->v[fv->n++] = chunk_tag(ch->gen, ch->off);
	}
}

/* Writes a region with relaxed 8-byte stores, gathering bytes into
 * words: readers may be copying these lines right now (NICs, or the
 * stress test's threads), so a store must not be torn below a word. */
struct region_writer {
	uint64_t *w;
	uint8_t part[8];
	unsigned fill;
};

static void rw_put(struct region_writer *rw, const void *src, size_t n)
{
	const uint8_t *p = src;
	uint64_t v;

	while (n && rw->fill) {
		rw->part[rw->fill++] = *p++;
		n--;
		if (rw->fill == 8) {
			memcpy(&v, rw->part, 8);
			__atomic_store_n(rw->w++, v, __ATOMIC_RELAXED);
			rw->fill = 0;
		}
	}
	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&v, p, 8);
		__atomic_store_n(rw->w++, v, __ATOMIC_RELAXED);
	}
	while (n--)
		rw->part[rw->fill++] = *p++;
}

/* Zeros up to end (a word boundary past the data). */
static void rw_pad(struct region_writer *rw, uint64_t *end)
{
	if (rw->fill) {
		static const uint8_t zero[8];

		rw_put(rw, zero, 8 - rw->fill);
	}
	while (rw->w < end)
		__atomic_store_n(rw->w++, 0, __ATOMIC_RELAXED);
}

/*
 * The spare chunks a class keeps, free or in quarantine, once the store is
 * (nearly) carved out. Evicting makes a chunk usable only Q later, so a
 * class that waited until it had none would fail every set for Q. The
 * reserve covers twice the class's sets in the last whole window of Q (or
 * the current one, if more), plus two, and at least a quarter of its
 * chunks or RESERVE_MAX, whichever is fewer; at most half of them.
 * (Measured, kv/README.md: with an eighth, and no eviction before the
 * store was carved out, sets failed from the moment it was; plus one was
 * enough with 64-byte units, but the 16-byte units' finer classes leave
 * the largest ones fewer chunks, and a burst of one more set than the
 * last window's twice failed them.)
 */
KV_HOT uint32_t class_reserve(const struct sk_kv_part *part, unsigned c)
{
	uint32_t r = part->win_n[c][0] > part->win_n[c][1] ?
		     part->win_n[c][0] : part->win_n[c][1];
	uint32_t floor = part->nchunk[c] / SK_KV_EVICT_RESERVE_DIV;

	if (floor > SK_KV_EVICT_RESERVE_MAX)
		floor = SK_KV_EVICT_RESERVE_MAX;
	r = 2 * r + 2;
	if (r < floor)
		r = floor;
	if (r > part->nchunk[c] / 2)
		r = part->nchunk[c] / 2;
	return r;
}

/* Count a set of class c in the window of Q that holds now_ns. */
KV_HOT void class_count(struct sk_kv_part *part, unsigned c, uint64_t now_ns)
{
	uint64_t q = part->cfg.quarantine_ns ? part->cfg.quarantine_ns : 1;

	if (now_ns >= part->win_start + q) {
		int next = now_ns < part->win_start + 2 * q;
		unsigned i;

		/* The current window becomes the last one, or, after a
		 * quiet window, both start from nothing. */
		for (i = 0; i < part->nclass; i++) {
			part->win_n[i][1] = next ? part->win_n[i][0] : 0;
			part->win_n[i][0] = 0;
		}
		part->win_units[1] = next ? part->win_units[0] : 0;
		part->win_units[0] = 0;
		part->win_start = now_ns;
	}
	part->win_n[c][0]++;
	part->win_units[0] += part->cls_units[c];
	part->cls_sets[c]++;
	part->last_set_ns[c] = now_ns;
}

/* Whether the uncarved tail of the store is under twice the units set in
 * a window of Q (the last whole one or the current one), at least
 * TAIL_MAX bytes and at most a quarter of the store, or cannot hold a
 * chunk of class c: from then on eviction runs ahead, so the quarantine
 * pipeline fills while the tail still serves sets. */
KV_HOT int nearly_full(const struct sk_kv_part *part, unsigned c)
{
	uint64_t left = part->store_units - part->bump;
	uint64_t quarter = part->store_units / SK_KV_EVICT_RESERVE_DIV;
	uint64_t tail = part->win_units[0] > part->win_units[1] ?
			part->win_units[0] : part->win_units[1];

	tail *= 2;
	if (tail < UNITS(SK_KV_EVICT_TAIL_MAX))
		tail = UNITS(SK_KV_EVICT_TAIL_MAX);
	if (tail > quarter)
		tail = quarter;
	return left < part->cls_units[c] || left < tail;
}

/* The hook, with the stamp held off (see stamp). */
static int call_evict(struct sk_kv_part *part, uint64_t h, uint64_t need,
		      uint64_t now_ns)
{
	int st;

	part->in_hook = 1;
	st = part->cfg.evict(part, part->cfg.evict_arg,
			     SK_KV_HDR_SIZE +
			     pair_bucket(h, part->cfg.nbuckets) * SK_KV_LINE,
			     need, now_ns);
	part->in_hook = 0;
	return st;
}

/* Find the slot and the memory of an update, or say why not. */
/* No chunk of the class of @units, none free or in quarantine among the
 * classes it may borrow from: no wait brings one. */
static int nomem_for_good(const struct sk_kv_part *part, uint64_t units)
{
	unsigned c = class_of(part, units), b;

	if (part->nchunk[c])
		return 0;
	for (b = c + 1; b < part->nclass && b <= c + SK_KV_BORROW; b++)
		if (part->free[b].n || part->nquar[b])
			return 0;
	return 1;
}

KV_HOT int set_prepare(struct sk_kv_part *part, uint64_t h, const void *key,
		       size_t klen, uint64_t units, uint64_t now_ns,
		       int64_t *w_p, struct chunk *ch)
{
	int64_t w = find(part, h, key, klen);

	part->nomem_for_good = 0;
	if (w < 0)
		w = find_empty(part, h);
	if (w < 0)
		return SK_KV_ERR_PAIR_FULL;
#ifdef SK_KV_BROKEN_PUBLISH
	if (part->bucket[w]) {
		uint64_t tag = slot_chunk(part, w, &ch->cls);

		ch->off = tag_off(tag);
		ch->gen = tag_gen(tag);
		if (part->cls_units[ch->cls] >= units &&
		    ch->cls <= class_of(part, units) + SK_KV_BORROW) {
			ch->borrow = ch->cls - class_of(part, units);
			/* In place over the live item: what the design
			 * forbids. */
			*w_p = w;
			return SK_OK;
		}
	}
#endif
	reap_aged(part, now_ns);
	if (part->q_bytes >= part->cfg.quarantine_max)
		return SK_KV_ERR_QUARANTINE_FULL;
	/* Room to retire the item this update replaces, before any store. */
	if (q_reserve(part, 1) != SK_OK)
		return SK_ERR_NOMEM;
	if (!chunk_alloc(part, units, ch, now_ns)) {
		part->nomem_for_good = nomem_for_good(part, units);
		return SK_ERR_NOMEM;
	}
	*w_p = w;
	return SK_OK;
}

/* Publish the item built in ch at slot word w (one release store), and
 * retire the one it replaces. */
KV_HOT void publish(struct sk_kv_part *part, int64_t w, uint64_t h,
		    uint64_t units, const struct chunk *ch)
{
	uint64_t old = part->bucket[w], old_tag = 0;
	unsigned old_cls = 0;

	if (old) {
		old_tag = slot_chunk(part, w, &old_cls);
		part->cls_ibytes[old_cls] -= sk_kv_slot_units(old) * SK_KV_UNIT;
		if (tag_off(old_tag) != ch->off)
			item_kill(part, w);
	}
	part->cls_ibytes[ch->cls] += units * SK_KV_UNIT;
	__atomic_store_n(&part->bucket[w],
			 sk_kv_slot_make(sk_kv_fp(h), units, ch->gen, ch->off),
			 __ATOMIC_RELEASE);
	/* Written: an access. */
	sm_put(part, w, SM_REF | ch->borrow << SM_BORROW_SHIFT);
	if (!old)
		part->items++;
	else if (tag_off(old_tag) != ch->off)
		retire(part, old_tag, old_cls);
}

/*
 * Stamp, hash, and find the slot and the chunk of an update of units
 * units, calling the eviction hook where it may help: *h_p, *w_p and *ch
 * on SK_OK, else why not. Inlined into the two updates that build items
 * (their own copies of it are most of a SET's work).
 */
static inline __attribute__((always_inline)) int
set_place(struct sk_kv_part *part, const void *key, size_t klen,
	  uint64_t units, uint64_t now_ns, uint64_t *h_p, int64_t *w_p,
	  struct chunk *ch)
{
	unsigned tried = 0;
	uint64_t h;
	int st;

	stamp(part, now_ns);
	*h_p = h = key_hash(part, key, klen);
	for (;;) {
		unsigned kind;

		st = set_prepare(part, h, key, klen, units, now_ns, w_p, ch);
		if (st == SK_OK)
			return SK_OK;
		/* The hook once for a full pair, once for no chunk: a set of
		 * a new key into a full pair of a full store needs both. */
		kind = st == SK_KV_ERR_PAIR_FULL ? 1 : st == SK_ERR_NOMEM ? 2 : 0;
		if (!part->cfg.evict || !kind || (tried & kind))
			return st;
		tried |= kind;
		st = call_evict(part, h, kind == 2 ? units : 0, now_ns);
		if (st != SK_OK)
			return st;
	}
}

/* After an update's item is built in ch: publish it at w (the item's
 * stores before the slot's, release), then count the set and evict
 * ahead: what eviction frees is usable only Q later, so a class whose
 * spare chunks (free or on their way) run below its reserve gets more
 * now, before a set finds none. */
static inline __attribute__((always_inline)) void
set_done(struct sk_kv_part *part, int64_t w, uint64_t h, uint64_t units,
	 const struct chunk *ch, uint64_t now_ns)
{
	publish(part, w, h, units, ch);
	class_count(part, ch->cls, now_ns);
	if (part->cfg.evict && nearly_full(part, ch->cls) &&
	    part->free[ch->cls].n + part->nquar[ch->cls] <
		    class_reserve(part, ch->cls) &&
	    !chunk_split(part, ch->cls, NULL, now_ns))
		(void)call_evict(part, h, part->cls_units[ch->cls], now_ns);
}

int sk_kv_part_set(struct sk_kv_part *part, const void *key, size_t klen,
		   const void *a, size_t alen, const void *b, size_t blen,
		   uint32_t flags, uint32_t exptime, uint64_t now_ns,
		   uint64_t *cas_p)
{
	return sk_kv_part_set_state(part, key, klen, a, alen, b, blen, flags,
				    exptime, 0, now_ns, cas_p);
}

int sk_kv_part_set_state(struct sk_kv_part *part, const void *key,
			 size_t klen, const void *a, size_t alen,
			 const void *b, size_t blen, uint32_t flags,
			 uint32_t exptime, unsigned state, uint64_t now_ns,
			 uint64_t *cas_p)
{
	struct region_writer rw;
	struct sk_kv_item_hdr ih;
	struct chunk ch;
	uint64_t h, units, region_off, check;
	uint8_t *item;
	int64_t w;
	int st;

	if (klen == 0 || klen > SK_KV_KEY_MAX || alen > SK_KV_VALUE_MAX ||
	    blen > SK_KV_VALUE_MAX - alen || (state & ~SK_KV_ITEM_STATES))
		return SK_ERR_INVAL;
	units = UNITS(sk_kv_item_size(klen, alen + blen));
	st = set_place(part, key, klen, units, now_ns, &h, &w, &ch);
	if (st != SK_OK)
		return st;

	/* Build the whole item where no reader is directed yet. */
	item = part->store + ch.off * SK_KV_UNIT;
	region_off = part->store_off + ch.off * SK_KV_UNIT;
	memset(&ih, 0, sizeof(ih));
	ih.cas = part->cas_next++;
	ih.flags = flags;
	ih.exptime = exptime;
	ih.vlen = alen + blen;
	ih.klen = klen;
	ih.state = (uint16_t)state;
	rw.w = (uint64_t *)item + 1;
	rw.fill = 0;
	rw_put(&rw, (const uint8_t *)&ih + 8, sizeof(ih) - 8);
	rw_put(&rw, key, klen);
	if (alen)
		rw_put(&rw, a, alen);
	if (blen)
		rw_put(&rw, b, blen);
	rw_pad(&rw, (uint64_t *)(item + units * SK_KV_UNIT));
	check = item_check(&part->cfg.hkey,
			   sk_kv_item_place(region_off, ch.gen), item,
			   units * SK_KV_UNIT);
	__atomic_store_n((uint64_t *)item, check, __ATOMIC_RELAXED);

	set_done(part, w, h, units, &ch, now_ns);
	if (cas_p)
		*cas_p = ih.cas;
	return SK_OK;
}

int sk_kv_part_put(struct sk_kv_part *part, const void *img, size_t len,
		   uint32_t exptime, uint64_t now_ns, uint64_t *cas_p)
{
	const uint8_t *src = img;
	struct sk_kv_item_hdr ih;
	struct chunk ch;
	uint64_t h, units = UNITS(len), i, v, *dst;
	int64_t w;
	int st;

	memcpy(&ih, src, sizeof(ih));
	st = set_place(part, src + SK_KV_ITEM_HDR, ih.klen, units, now_ns, &h,
		       &w, &ch);
	if (st != SK_OK)
		return st;

	/* The sender's bytes from the flags on, word by word (relaxed
	 * stores, as rw_put's); the owner's fields and the closed check in
	 * the header's first words. */
	dst = (uint64_t *)(part->store + ch.off * SK_KV_UNIT);
	ih.cas = part->cas_next++;
	ih.exptime = exptime;
	ih.state = 0;
	ih.check = sk_kv_item_close(&part->cfg.hkey, ih.check, ih.cas, exptime,
				    sk_kv_item_place(part->store_off +
						     ch.off * SK_KV_UNIT,
						     ch.gen));
#pragma GCC unroll 4
	for (i = 0; i < SK_KV_ITEM_HDR / 8; i++) {
		memcpy(&v, (const uint8_t *)&ih + 8 * i, 8);
		__atomic_store_n(dst + i, v, __ATOMIC_RELAXED);
	}
	/* Two words a unit (an item is at least two units). */
	for (; i < units * (SK_KV_UNIT / 8); i += 2) {
		memcpy(&v, src + 8 * i, 8);
		__atomic_store_n(dst + i, v, __ATOMIC_RELAXED);
		memcpy(&v, src + 8 * i + 8, 8);
		__atomic_store_n(dst + i + 1, v, __ATOMIC_RELAXED);
	}

	set_done(part, w, h, units, &ch, now_ns);
	if (cas_p)
		*cas_p = ih.cas;
	return SK_OK;
}

int sk_kv_part_delete(struct sk_kv_part *part, const void *key, size_t klen,
		      uint64_t now_ns)
{
	uint64_t h;
	int64_t w;

	if (klen == 0 || klen > SK_KV_KEY_MAX)
		return SK_ERR_INVAL;
	h = key_hash(part, key, klen);
	stamp(part, now_ns);
	w = find(part, h, key, klen);
	if (w < 0)
		return SK_KV_ERR_NOT_FOUND;
	if (q_reserve(part, 1) != SK_OK)
		return SK_ERR_NOMEM;
	unpublish(part, w);
	return SK_OK;
}

/* ---- when full: CLOCK with access hints (kv/README.md, "When full") ---- */

/* The full hash of slot word w's key: items do not carry it (8 bytes
 * each), and a hint needs it only for the items whose fingerprint its
 * hash matches, about one. */
static uint64_t key_hash_of(const struct sk_kv_part *part, uint64_t w)
{
	const struct sk_kv_item_hdr *ih = item_of(part, w);

	return sk_kv_key_hash(&part->cfg.hkey,
			       (const uint8_t *)ih + SK_KV_ITEM_HDR, ih->klen);
}

int sk_kv_part_ref(struct sk_kv_part *part, uint64_t h)
{
	uint64_t base = pair_bucket(h, part->cfg.nbuckets) * 8, w;
	unsigned fp = sk_kv_fp(h);
	int n = 0;

	for (w = base; w < base + 16; w++) {
		uint64_t s = part->bucket[w];

		if (w % 8 && s && sk_kv_slot_fp(s) == fp &&
		    key_hash_of(part, w) == h) {
			ref_set(part, w);
			n++;
		}
	}
	return n;
}

/*
 * Whether retiring bytes more keeps the quarantine under limit. Eviction
 * and the crawler retire items nobody asked to change, so the owner's own
 * sweeps stop at half the bound and leave the rest to updates (a full
 * pair's one eviction may use it all).
 */
static int q_room(const struct sk_kv_part *part, uint64_t bytes,
		  uint64_t limit)
{
	return part->q_bytes + bytes < limit;
}

static void evict_slot(struct sk_kv_part *part, uint64_t w)
{
	unsigned c;

	(void)slot_chunk(part, w, &c);
	part->cls_evicted[c]++;
	part->cls_evicted_exp[c] += item_of(part, w)->exptime != 0;
	unpublish(part, w);
	part->evicted++;
}

/* A full pair: its first unreferenced item, clearing the bits it passes;
 * if all were referenced, the first on the second pass. The new item
 * takes the freed slot with its bit set, so the next eviction of this
 * pair passes it first. */
static int evict_pair(struct sk_kv_part *part, uint64_t pair_off)
{
	uint64_t base = (pair_off - SK_KV_HDR_SIZE) / 8, w;
	unsigned pass, c;

	for (pass = 0; pass < 2; pass++) {
		for (w = base; w < base + 16; w++) {
			unsigned v = sm_get(part, w);

			if (w % 8 == 0 || !part->bucket[w])
				continue;
			if (v & SM_REF) {
				sm_put(part, w, v & ~SM_REF);
				continue;
			}
			(void)slot_chunk(part, w, &c);
			if (!q_room(part, cls_bytes(part, c),
				    part->cfg.quarantine_max))
				return SK_KV_ERR_QUARANTINE_FULL;
			if (q_reserve(part, 1) != SK_OK)
				return SK_ERR_NOMEM;
			evict_slot(part, w);
			return SK_OK;
		}
	}
	return SK_KV_ERR_PAIR_FULL;
}

/*
 * No chunk of need units, or its class below its reserve: the hand sweeps
 * the slots, clearing the bits of the class's items it passes and
 * evicting those without, until the class has its reserve of spare
 * chunks (free or in quarantine) and, when it has no free one, one more
 * than it had. Chunks are never split, so only items in chunks of that
 * class help (an item borrowing a larger chunk counts for the chunk's
 * class). Bounded by two turns of the hand (one clears every bit).
 */
static int evict_units(struct sk_kv_part *part, uint64_t need)
{
	unsigned c = class_of(part, need), mc;
	uint64_t nwords = part->cfg.nbuckets * 8, steps, bytes, limit;
	uint64_t spare = part->free[c].n + part->nquar[c];
	uint64_t target = class_reserve(part, c), evicted = 0;

	if (part->free[c].n == 0 && target < spare + 1)
		target = spare + 1;
	if (part->nchunk[c] == 0)
		return SK_ERR_NOMEM; /* no chunk of this class to free */
	bytes = cls_bytes(part, c);
	limit = part->cfg.quarantine_max / 2;
	for (steps = 0; steps < 2 * nwords && spare < target; steps++) {
		uint64_t w = part->hand;
		unsigned v;

		part->hand = w + 1 < nwords ? w + 1 : 0;
		if (w % 8 == 0 || !part->bucket[w])
			continue;
		(void)slot_chunk(part, w, &mc);
		if (mc != c)
			continue;
		v = sm_get(part, w);
		if (v & SM_REF) {
			sm_put(part, w, v & ~SM_REF);
			continue;
		}
		if (!q_room(part, bytes, limit) ||
		    q_reserve(part, 1) != SK_OK)
			break;
		evict_slot(part, w);
		spare++;
		evicted++;
	}
	/* Nothing to evict, or the quarantine at the sweeps' half: no
	 * chunk for now (the update's answer either way). */
	return evicted || spare >= target ? SK_OK : SK_ERR_NOMEM;
}

int sk_kv_part_evict_clock(struct sk_kv_part *part, void *arg,
			   uint64_t pair_off, uint64_t need_units,
			   uint64_t now_ns)
{
	(void)arg;
	(void)now_ns;
	if (need_units == 0)
		return evict_pair(part, pair_off);
	return evict_units(part, need_units);
}

unsigned sk_kv_part_expire(struct sk_kv_part *part, uint32_t unix_now,
			   uint64_t max_slots, uint64_t now_ns)
{
	uint64_t nwords = part->cfg.nbuckets * 8, i;
	unsigned n = 0, c;

	stamp(part, now_ns);
	if (max_slots > nwords)
		max_slots = nwords;
	for (i = 0; i < max_slots; i++) {
		uint64_t w = part->crawl;
		const struct sk_kv_item_hdr *ih;

		part->crawl = w + 1 < nwords ? w + 1 : 0;
		if (w % 8 == 0 || !part->bucket[w])
			continue;
		ih = item_of(part, w);
		/* The reader's rule (3): expired at exptime. */
		if (ih->exptime == 0 || ih->exptime > unix_now)
			continue;
		(void)slot_chunk(part, w, &c);
		if (!q_room(part, cls_bytes(part, c),
			    part->cfg.quarantine_max / 2) ||
		    q_reserve(part, 1) != SK_OK)
			break;
		unpublish(part, w);
		part->expired++;
		part->cls_expired[c]++;
		n++;
	}
	return n;
}

int sk_kv_part_flush(struct sk_kv_part *part, uint64_t now_ns)
{
	uint64_t nwords = part->cfg.nbuckets * 8, w;
	int n = 0;

	stamp(part, now_ns);
	/* One reservation for them all: the flush is all or nothing. */
	if (q_reserve(part, part->items) != SK_OK)
		return SK_ERR_NOMEM;
	for (w = 0; w < nwords; w++) {
		if (w % 8 == 0 || !part->bucket[w])
			continue;
		unpublish(part, w);
		n++;
	}
	return n;
}

void sk_kv_part_restamp(struct sk_kv_part *part, uint32_t epoch)
{
	uint64_t bhdr = sk_kv_bhdr_make(epoch, part->cfg.partition, 0), b;

	__atomic_store_n(&part->hdr->epoch, epoch, __ATOMIC_RELAXED);
	for (b = 0; b < part->cfg.nbuckets; b++)
		__atomic_store_n(&part->bucket[b * 8], bhdr, __ATOMIC_RELEASE);
	part->cfg.epoch = epoch;
}

void sk_kv_part_stats(const struct sk_kv_part *part,
		      struct sk_kv_part_stats *stats_p)
{
	unsigned c;

	stats_p->items = part->items;
	stats_p->store_size = part->store_units * SK_KV_UNIT;
	stats_p->store_used = part->bump * SK_KV_UNIT;
	stats_p->free_bytes = 0;
	for (c = 0; c < part->nclass; c++)
		stats_p->free_bytes += part->free[c].n * cls_bytes(part, c);
	stats_p->quarantined = part->q_len;
	stats_p->quarantine_bytes = part->q_bytes;
	stats_p->evicted = part->evicted;
	stats_p->expired = part->expired;
	stats_p->split = part->split;
}

unsigned sk_kv_part_classes(const struct sk_kv_part *part,
			    struct sk_kv_part_class *cls, unsigned max)
{
	unsigned c;

	for (c = 0; c < part->nclass && c < max; c++) {
		struct sk_kv_part_class *k = &cls[c];

		k->chunk_size = cls_bytes(part, c);
		k->chunks = part->nchunk[c];
		k->free = part->free[c].n;
		k->quarantined = part->nquar[c];
		k->items = k->chunks - k->free - k->quarantined;
		k->item_bytes = part->cls_ibytes[c];
		k->sets = part->cls_sets[c];
		k->evicted = part->cls_evicted[c];
		k->evicted_exp = part->cls_evicted_exp[c];
		k->expired = part->cls_expired[c];
	}
	return part->nclass;
}

uint64_t sk_kv_part_slot_words(const struct sk_kv_part *part)
{
	return part->cfg.nbuckets * 8;
}

uint64_t sk_kv_part_dump(const struct sk_kv_part *part, unsigned cls,
			 uint64_t pos, uint32_t unix_now, sk_kv_dump_fn fn,
			 void *arg)
{
	uint64_t nwords = sk_kv_part_slot_words(part), w;
	unsigned c;

	for (w = pos; w < nwords; w++) {
		const struct sk_kv_item_hdr *ih;

		if (w % 8 == 0 || !part->bucket[w])
			continue;
		(void)slot_chunk(part, w, &c);
		if (c != cls)
			continue; /* (its item's lines not touched) */
		ih = item_of(part, w);
		if (ih->exptime != 0 && ih->exptime <= unix_now)
			continue;
		if (fn(arg, (const uint8_t *)ih + SK_KV_ITEM_HDR, ih->klen,
		       ih->vlen, ih->exptime, ih->cas))
			return w;
	}
	return nwords;
}

int sk_kv_part_touch(struct sk_kv_part *part, const void *key, size_t klen,
		     uint32_t exptime, uint64_t now_ns)
{
	return sk_kv_part_restate(part, key, klen, exptime, SK_KV_ITEM_KEEP,
				  false, now_ns, NULL);
}

int sk_kv_part_restate(struct sk_kv_part *part, const void *key,
		       size_t klen, uint32_t exptime, unsigned state,
		       bool new_cas, uint64_t now_ns, uint64_t *cas_p)
{
	struct region_writer rw;
	struct sk_kv_item_hdr ih;
	struct chunk ch;
	const uint8_t *src;
	uint64_t h, units, region_off, check, old_off;
	uint8_t *item;
	int64_t w;
	int st, attempt;

	if (klen == 0 || klen > SK_KV_KEY_MAX ||
	    (state != SK_KV_ITEM_KEEP && (state & ~SK_KV_ITEM_STATES)))
		return SK_ERR_INVAL;
	stamp(part, now_ns);
	h = key_hash(part, key, klen);
	w = find(part, h, key, klen);
	if (w < 0)
		return SK_KV_ERR_NOT_FOUND;
	units = sk_kv_slot_units(part->bucket[w]);
	for (attempt = 0;; attempt++) {
		st = set_prepare(part, h, key, klen, units, now_ns, &w, &ch);
		if (st == SK_OK)
			break;
		if (attempt || !part->cfg.evict || st != SK_ERR_NOMEM)
			return st;
		st = call_evict(part, h, units, now_ns);
		if (st != SK_OK)
			return st;
		/* The hook may have evicted this very key: nothing to
		 * touch (and its chunk is in quarantine, not free). */
		if (find(part, h, key, klen) < 0)
			return SK_KV_ERR_NOT_FOUND;
	}
	/* The eviction hook may have deleted this very key: set_prepare
	 * then gave an empty slot. Nothing to touch; the chunk goes back. */
	if (!part->bucket[w] || find(part, h, key, klen) != w) {
		chunk_unalloc(part, &ch);
		return SK_KV_ERR_NOT_FOUND;
	}

	/* The same item, bytes for bytes, but its expiry and state, in a
	 * new chunk: the old one stays as it is for readers who hold its
	 * slot. Its check is keyed with its new offset. The CAS is kept
	 * unless asked (memcached's touch does not change it). */
	old_off = sk_kv_slot_off(part->bucket[w]);
	src = (const uint8_t *)item_of(part, w);
	memcpy(&ih, src, sizeof(ih));
	ih.exptime = exptime;
	if (state != SK_KV_ITEM_KEEP)
		ih.state = (uint16_t)state;
	if (new_cas)
		ih.cas = part->cas_next++;
	item = part->store + ch.off * SK_KV_UNIT;
	region_off = part->store_off + ch.off * SK_KV_UNIT;
	rw.w = (uint64_t *)item + 1;
	rw.fill = 0;
	rw_put(&rw, (const uint8_t *)&ih + 8, sizeof(ih) - 8);
	/* (The same chunk only in the broken publish's build: in place,
	 * where the key and value are already there.) */
	if (ch.off != old_off) {
		rw_put(&rw, src + SK_KV_ITEM_HDR, (size_t)ih.klen + ih.vlen);
		rw_pad(&rw, (uint64_t *)(item + units * SK_KV_UNIT));
	}
	check = item_check(&part->cfg.hkey,
			   sk_kv_item_place(region_off, ch.gen), item,
			   units * SK_KV_UNIT);
	__atomic_store_n((uint64_t *)item, check, __ATOMIC_RELAXED);

	publish(part, w, h, units, &ch);
	if (cas_p)
		*cas_p = ih.cas;
	return SK_OK;
}
