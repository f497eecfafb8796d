/*
 * The kv partition store (kv/README.md, "Design"): one partition of the
 * table laid out in one memory range that peers may only read, the
 * owner's operations on it, and the reader's rules for bytes copied out
 * of it by one-sided READs. Private to kv: not installed.
 *
 * Region of one partition (offsets from its start; header and buckets
 * 64-byte aligned, items 16-byte aligned):
 *
 *	[ header 4 KiB ][ B buckets x 64 B ][ item store ]
 *
 * Every word in the region is in host byte order; kv runs between hosts
 * of one byte order (little-endian, checked at compile time in store.c).
 *
 * Two sides, kept apart:
 * - the owner (struct sk_kv_part): the only writer. Its allocator, free
 *   lists, quarantine and CLOCK bits live on its heap, never in the
 *   region; it keeps no record per item. One thread at a time.
 * - the reader (sk_kv_read_*): pure functions of a view (struct
 *   sk_kv_view, from the region header), the key and bytes already copied
 *   out of the region. They touch no owner state, so a remote node runs
 *   them on what its READs returned.
 */
#ifndef SK_KV_STORE_H
#define SK_KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <skiff/status.h>

#include "hash.h"

#pragma GCC visibility push(hidden) /* kv's own (kv_int.h) */

#define SK_KV_LINE        64u      /* bucket size */
#define SK_KV_UNIT        16u      /* item size and offset unit */
#define SK_KV_HDR_SIZE    4096u    /* the region header's share */
#define SK_KV_SLOTS       7u       /* slots per bucket (words 1..7) */
#define SK_KV_PAIR_SIZE   128u     /* one GET's first READ */
#define SK_KV_PAIR_SLOTS  14u      /* candidate slots of one key */
#define SK_KV_ITEM_HDR    32u      /* struct sk_kv_item_hdr */
#define SK_KV_KEY_MAX     250u     /* memcached's key limit */
#define SK_KV_VALUE_MAX   1048576u /* 1 MiB, memcached's default -I */
#define SK_KV_UNITS_BITS  17u
#define SK_KV_GEN_BITS    6u
#define SK_KV_OFF_BITS    29u
#define SK_KV_LOC_BITS    (SK_KV_GEN_BITS + SK_KV_OFF_BITS)
#define SK_KV_UNITS_MAX   ((1u << SK_KV_UNITS_BITS) - 1) /* slot field */
#define SK_KV_GEN_MASK    ((1u << SK_KV_GEN_BITS) - 1)   /* slot field */
#define SK_KV_OFF_MAX     ((1ull << SK_KV_OFF_BITS) - 1) /* slot field, in
							* units: 8 GiB */
/* The largest item (a 250-byte key, 1 MiB) and its units: 65,554 of the
 * field's 131,071. */
#define SK_KV_ITEM_MAX \
	((SK_KV_ITEM_HDR + SK_KV_KEY_MAX + SK_KV_VALUE_MAX + SK_KV_UNIT - 1) \
	 / SK_KV_UNIT * SK_KV_UNIT)
#define SK_KV_ITEM_UNITS_MAX (SK_KV_ITEM_MAX / SK_KV_UNIT)
#define SK_KV_FP_BITS     12u
#define SK_KV_PART_MAX    (1u << 24) /* bucket header's partition field */
#define SK_KV_PLACE_BITS  28u      /* hash bits 0..27 place the pair */
#define SK_KV_PLACE_MASK  ((1ull << SK_KV_PLACE_BITS) - 1)
#define SK_KV_BUCKETS_MAX (1ull << SK_KV_PLACE_BITS) /* any B, 2 to this */
#define SK_KV_MAGIC       0x31766b6666696b73ull /* "skiffkv1" */
#define SK_KV_VERSION     10u /* 2: 16-byte units, slot fp:12|units:17|off:35;
			      * 3: pairs (b, b + 1) at any b, any B;
			      * 4: a 32-byte item header (no key hash);
			      * 5: the item check is sk_kv_check64;
			      * 6: keys hash with sk_kv_key_hash;
			      * 7: the check closes a seal of the bytes
			      *    from flags on (exptime before flags);
			      * 8: slot fp:12|units:17|gen:6|off:29;
			      * 9: the header's last u16 is the item's
			      *    state (stale, token won);
			      * 10: sk_kv_check64 runs four chains from
			      *    64 bytes on */

/* kv's statuses, next to the project's (skiff/status.h). */
enum {
	SK_KV_ERR_NOT_FOUND       = -100, /* no such key */
	SK_KV_ERR_PAIR_FULL       = -101, /* both buckets of the pair full */
	SK_KV_ERR_QUARANTINE_FULL = -102, /* retired bytes over the bound:
					   * wait for the oldest to age Q */
	SK_KV_ERR_STALE           = -103, /* bucket header: other epoch or
					   * partition than the reader's map */
	SK_KV_ERR_BAD_CHECK       = -104, /* item bytes fail their check */
	SK_KV_ERR_OTHER_KEY       = -105, /* a sound item of another key */
	SK_KV_ERR_EXPIRED         = -106, /* by the owner's clock */
};

/* Text for a kv status, or for any sk_status_t. */
const char *sk_kv_status_str(int status);

/* ---- the formats ---- */

/* slot = fp:12 | units:17 | gen:6 | off:29, sizes and offsets in 16-byte
 * units; 0 = empty (fp is never 0). gen counts the uses of the item's
 * chunk (mod 64): each time the chunk comes out of quarantine it rises
 * by one, so that a slot naming the same offset and length as an older
 * one, within 64 reuses, says it is another item (kv/README.md, "The
 * location cache"). */
static inline uint64_t sk_kv_slot_make(unsigned fp, uint64_t units,
				       unsigned gen, uint64_t off)
{
	return (uint64_t)fp << 52 | units << SK_KV_LOC_BITS |
	       (uint64_t)gen << SK_KV_OFF_BITS | off;
}
static inline unsigned sk_kv_slot_fp(uint64_t s) { return s >> 52; }
static inline uint64_t sk_kv_slot_units(uint64_t s)
{
	return (s >> SK_KV_LOC_BITS) & SK_KV_UNITS_MAX;
}
static inline unsigned sk_kv_slot_gen(uint64_t s)
{
	return (s >> SK_KV_OFF_BITS) & SK_KV_GEN_MASK;
}
static inline uint64_t sk_kv_slot_off(uint64_t s) { return s & SK_KV_OFF_MAX; }

/* Bucket word 0: epoch:32 (low) | partition:24 | flags:8 (high). */
static inline uint64_t sk_kv_bhdr_make(uint32_t epoch, uint32_t partition,
				       unsigned flags)
{
	return (uint64_t)flags << 56 | (uint64_t)(partition & 0xffffff) << 32 |
	       epoch;
}
static inline uint32_t sk_kv_bhdr_epoch(uint64_t w) { return (uint32_t)w; }
static inline uint32_t sk_kv_bhdr_partition(uint64_t w)
{
	return (w >> 32) & 0xffffff;
}

/* The region header, at offset 0. Written at init; the epoch again by
 * sk_kv_part_restamp. */
struct sk_kv_region_hdr {
	uint64_t magic;       /* SK_KV_MAGIC */
	uint32_t version;     /* SK_KV_VERSION */
	uint32_t partition;
	uint32_t epoch;
	uint32_t owner_rank;
	uint64_t nbuckets;    /* B, 2..SK_KV_BUCKETS_MAX */
	uint64_t store_off;   /* = SK_KV_HDR_SIZE + B x 64 */
	uint64_t store_size;  /* bytes, a multiple of SK_KV_UNIT */
};

/* An item, 16-byte aligned, immutable once its slot is published. After
 * the header: klen key bytes, vlen value bytes, zeros up to a multiple of
 * SK_KV_UNIT (16). Items may share a 64-byte line: the owner writes only
 * the words of free chunks, and of a live item only its CAS, once, just
 * before it leaves its slot: SK_KV_CAS_KILLED set ("the kill",
 * kv/README.md). The check closes over the CAS without that bit.
 *
 * check = sk_kv_item_close(seal, cas, exptime, sk_kv_item_place(the
 * item's offset in the region, its chunk's generation)), where seal =
 * sk_kv_item_seal of the bytes from flags to the
 * end (SK_KV_ITEM_SEALED on). The seal is made by whoever writes those
 * bytes (for a SET by rpc, the client, which sends the item whole:
 * wire.h); the owner closes it with the fields only it knows. A reader
 * recomputes both. */
struct sk_kv_item_hdr {
	uint64_t check;
	uint64_t cas;
	uint32_t exptime;     /* owner's Unix seconds, 0 = never */
	uint32_t flags;       /* memcached's client flags: sealed from here */
	uint32_t vlen;
	uint8_t klen;
	uint8_t kind;         /* 0; reserved for later kinds */
	uint16_t state;       /* SK_KV_ITEM_STALE | SK_KV_ITEM_TOKEN */
};
#define SK_KV_ITEM_SEALED 20u /* offsetof(struct sk_kv_item_hdr, flags) */

/* An item's state: memcached's ITEM_STALE (invalidated by md I or ms I
 * since it was last set) and ITEM_TOKEN_SENT (a meta get won its token:
 * later ones see Z, not W). Set only by the owner, which then seals the
 * item itself; a client's sealed item (KV_RPC_STORE) has state 0. */
#define SK_KV_ITEM_STALE 1u
#define SK_KV_ITEM_TOKEN 2u
#define SK_KV_ITEM_STATES (SK_KV_ITEM_STALE | SK_KV_ITEM_TOKEN)
#define SK_KV_ITEM_KEEP (~0u) /* sk_kv_part_restate: the state as it is */

/* The kill's bit in an item's CAS word: no CAS has it (they count from
 * 1). */
#define SK_KV_CAS_KILLED (1ull << 63)

/* Where an item is, as its check closes over it: its offset in the
 * region (under 2^47) and its chunk's generation (the slot's gen) above. */
static inline uint64_t sk_kv_item_place(uint64_t region_off, unsigned gen)
{
	return region_off | (uint64_t)gen << 56;
}

/* The seal of an item of len bytes (a multiple of SK_KV_UNIT, at least
 * SK_KV_ITEM_HDR) at item: of its bytes from SK_KV_ITEM_SEALED on. */
static inline uint64_t sk_kv_item_seal(const struct sk_kv_hkey *key,
				       const void *item, size_t len)
{
	return sk_kv_check64(key, SK_KV_SEAL_SEED,
			     (const uint8_t *)item + SK_KV_ITEM_SEALED,
			     len - SK_KV_ITEM_SEALED);
}

/* Bytes of the item of a key and value: header, key, value, padding
 * (kv.h says the same to its users: sk_kv_item_bytes). */
static inline uint64_t sk_kv_item_size(size_t klen, size_t vlen)
{
	return (SK_KV_ITEM_HDR + klen + vlen + SK_KV_UNIT - 1) &
	       ~(uint64_t)(SK_KV_UNIT - 1);
}
_Static_assert(SK_KV_ITEM_HDR == 32 && SK_KV_UNIT == 16,
	       "kv.h's sk_kv_item_bytes");

/* ---- placement inside a partition ---- */

/* h's bits: the top ones choose the partition (up to 24), bits 28..39
 * the fingerprint, bits 0..27 the bucket pair. */
static inline unsigned sk_kv_fp(uint64_t h)
{
	unsigned fp = (h >> 28) & ((1u << SK_KV_FP_BITS) - 1);

	return fp ? fp : 1;
}

/* partition = h >> (64 - log2 P), for P a power of two >= 1. */
static inline uint32_t sk_kv_partition_of(uint64_t h, uint32_t nparts)
{
	return nparts <= 1 ? 0 : h >> (64 - __builtin_ctz(nparts));
}

/* ---- the reader ---- */

/* What a reader knows of a partition: its region header, read once. */
struct sk_kv_view {
	uint32_t partition;
	uint32_t epoch;       /* of the reader's map */
	uint64_t nbuckets;
	uint64_t store_off;
	uint64_t store_size;
};

/*
 * Check the len bytes of a region header copied from a peer and fill
 * *view_p from them. SK_ERR_MALFORMED (short, bad magic, sizes that do
 * not add up) or SK_ERR_VERSION; *view_p is written only on success.
 */
int sk_kv_view_from_hdr(const void *hdr, size_t len, struct sk_kv_view *view_p);

/* The first READ of a GET: 128 bytes at pair_off in the region. */
struct sk_kv_plan {
	uint64_t h;
	uint64_t pair_off;
	unsigned fp;
	struct sk_kv_hkey hkey; /* the job's secret, for the item check */
};

/* One fingerprint match: READ len bytes at off in the region; gen is its
 * slot's chunk generation. */
struct sk_kv_cand {
	uint64_t off;
	uint32_t len;
	uint32_t gen;
};

void sk_kv_read_plan(const struct sk_kv_view *view,
		     const struct sk_kv_hkey *hkey, const void *key,
		     size_t klen, struct sk_kv_plan *plan_p);
/* The same from the key's hash (sk_kv_key_hash with hkey), for a caller
 * that already has it. */
void sk_kv_read_plan_hash(const struct sk_kv_view *view,
			  const struct sk_kv_hkey *hkey, uint64_t h,
			  struct sk_kv_plan *plan_p);

/*
 * From the 128 bytes of the pair (copied), the slots whose fingerprint
 * matches, in slot order, at most SK_KV_PAIR_SLOTS into cands; their
 * number in *n_p (0: the key is absent, as of this read). Slots that point
 * outside the store, or are longer than the largest item, are not
 * candidates. SK_KV_ERR_STALE when a bucket
 * header names another epoch or partition than the view: the reader's map
 * is out of date, and *n_p is 0.
 */
int sk_kv_read_pick(const struct sk_kv_view *view,
		    const struct sk_kv_plan *plan, const void *pair,
		    struct sk_kv_cand *cands, unsigned *n_p);

/* An accepted item, pointing into the caller's copy. */
struct sk_kv_item_view {
	const uint8_t *value;
	uint32_t vlen;
	uint32_t flags;
	uint64_t cas;         /* without SK_KV_CAS_KILLED */
	uint32_t exptime;
	uint32_t killed;      /* the copy had SK_KV_CAS_KILLED */
	uint32_t state;       /* SK_KV_ITEM_* (an unknown bit: malformed) */
};

/*
 * Rules (1) to (3) on the cand->len bytes copied from cand->off: (1) the
 * check matches (else SK_KV_ERR_BAD_CHECK), the header's lengths fit the
 * size read (else SK_ERR_MALFORMED), (2) it is the key's item: the key's
 * length and bytes (else SK_KV_ERR_OTHER_KEY), (3) not expired at
 * owner_now, the owner's Unix seconds as the reader estimates them (else
 * SK_KV_ERR_EXPIRED). Rule (4),
 * the lease, is the caller's: the GET must have taken less than
 * sk_kv_lease_ns(Q) on its monotonic clock. *item_p is written only on
 * success and points into item.
 */
int sk_kv_read_check(const struct sk_kv_plan *plan,
		     const struct sk_kv_cand *cand, const void *item,
		     const void *key, size_t klen, uint32_t owner_now,
		     struct sk_kv_item_view *item_p);

/* sk_kv_read_check without rule (1): what a reader could decide if items
 * carried no check. Exists so that the torn-read stress can show what the
 * first line of the safety argument (immutability, quarantine, lease)
 * holds by itself. */
int sk_kv_read_parse(const struct sk_kv_plan *plan,
		     const struct sk_kv_cand *cand, const void *item,
		     const void *key, size_t klen, uint32_t owner_now,
		     struct sk_kv_item_view *item_p);

/* The lease L of a quarantine Q: a GET slower than this is retried. */
static inline uint64_t sk_kv_lease_ns(uint64_t quarantine_ns)
{
	return quarantine_ns / 4;
}

/* ---- the owner ---- */

struct sk_kv_part;

/*
 * Called when an update finds no room: need_units == 0 when both buckets
 * of the pair (pair_off, region offset) are full, else the store has no
 * free chunk of need_units. Also called, with need_units, after an update
 * whose size class has fewer spare chunks (free or in quarantine) than
 * its reserve while the store is carved out: what eviction frees is
 * usable only Q later, so it must run ahead of the sets (its result is
 * then ignored). It may retire items (sk_kv_part_delete; items it retires
 * are stamped by the partition's next call, not with this now_ns, which
 * was read before its slot stores) and returns 0 to have the update try
 * once more (once per kind of failure), or a negative status that the
 * update returns. NULL: the update returns SK_KV_ERR_PAIR_FULL or
 * SK_ERR_NOMEM at once (memcached -M). sk_kv_part_evict_clock is the
 * store's policy.
 */
typedef int (*sk_kv_evict_func_t)(struct sk_kv_part *part, void *arg,
				  uint64_t pair_off, uint64_t need_units,
				  uint64_t now_ns);

struct sk_kv_part_cfg {
	uint32_t partition;        /* < SK_KV_PART_MAX */
	uint32_t epoch;
	uint32_t owner_rank;
	uint64_t nbuckets;         /* 2..SK_KV_BUCKETS_MAX, any */
	struct sk_kv_hkey hkey;    /* the job's key-hash secret */
	uint64_t quarantine_ns;    /* Q */
	uint64_t quarantine_max;   /* bytes retired at most; 0 = the store's
				    * size / 2 */
	sk_kv_evict_func_t evict;  /* may be NULL */
	void *evict_arg;
};

/*
 * Lay a partition out over size bytes at mem (64-byte aligned; the caller
 * owns it, registers it for peers' READs, and frees it after
 * sk_kv_part_cleanup). Writes the header and empty buckets; the item store
 * is the rest, which must hold at least one 16-byte unit and at most
 * SK_KV_OFF_MAX + 1 of them (beyond, the rest of mem is unused).
 * SK_ERR_INVAL for a bad size, alignment or field; SK_ERR_NOMEM.
 */
int sk_kv_part_init(void *mem, size_t size, const struct sk_kv_part_cfg *cfg,
		    struct sk_kv_part **part_p);
/* Frees the owner's heap state; mem is untouched. */
void sk_kv_part_cleanup(struct sk_kv_part *part);

/* The view a peer builds from this partition's header (for tests and the
 * owner's own reads). */
void sk_kv_part_view(const struct sk_kv_part *part, struct sk_kv_view *view_p);

/*
 * The key's live item (expired or not: expiry is the caller's), in
 * *item_p pointing into the region: valid until this key is next changed.
 * SK_KV_ERR_NOT_FOUND; SK_ERR_INVAL for a key of 0 or > 250 bytes.
 */
/*
 * @h is sk_kv_key_hash of @key with the partition's hkey, as the caller made
 * it (the owner, to find the partition): the calls on these very bytes
 * (the same @key pointer and @klen) take it instead of hashing them again,
 * until sk_kv_part_hash_forget. The caller must not change the bytes in
 * between. A call on any other key hashes its own. (Keeping a copy of the
 * bytes and comparing cost as much as the hash itself.)
 */
void sk_kv_part_hash_known(struct sk_kv_part *part, const void *key,
			   size_t klen, uint64_t h);
void sk_kv_part_hash_forget(struct sk_kv_part *part);

int sk_kv_part_lookup(struct sk_kv_part *part, const void *key, size_t klen,
		      struct sk_kv_item_view *item_p);

/*
 * Time: the owner's calls take now_ns, the caller's monotonic clock read
 * after its previous call to this partition returned (any sequential
 * caller does). An item retired by a call is stamped with the now_ns of
 * the next call (set, delete or reap), which is later than the slot store
 * that retired it, and is reused only from Q after that stamp.
 */

/*
 * Insert or replace: build the new item in free store memory, seal it,
 * publish it with one release store of its slot word, and retire the old
 * item (if any) into quarantine.
 * The value's bytes are vlen at value, or, for append/prepend, a then b
 * (b may be NULL with blen 0). cas is assigned (the partition's counter)
 * and returned in *cas_p (may be NULL).
 * Returns 0; SK_ERR_INVAL (key 0 or > 250 bytes, value > 1 MiB);
 * SK_KV_ERR_PAIR_FULL; SK_ERR_NOMEM (no free chunk, even after reaping
 * quarantine at now_ns); SK_KV_ERR_QUARANTINE_FULL (wait and retry).
 * On error the partition is unchanged.
 */
int sk_kv_part_set(struct sk_kv_part *part, const void *key, size_t klen,
		   const void *a, size_t alen, const void *b, size_t blen,
		   uint32_t flags, uint32_t exptime, uint64_t now_ns,
		   uint64_t *cas_p);
/* The same, the new item's state (SK_KV_ITEM_*) given; sk_kv_part_set's
 * is 0. */
int sk_kv_part_set_state(struct sk_kv_part *part, const void *key,
			 size_t klen, const void *a, size_t alen,
			 const void *b, size_t blen, uint32_t flags,
			 uint32_t exptime, unsigned state, uint64_t now_ns,
			 uint64_t *cas_p);

/*
 * The same for an item built and sealed by its sender (a SET by rpc,
 * wire.h): img is the whole item, len = sk_kv_item_size(klen, vlen) of
 * its header's lengths; its bytes from SK_KV_ITEM_SEALED on are stored as
 * they are and its check word is taken as their seal (not recomputed: a
 * wrong one fails the readers of this item's key, who then ask by rpc).
 * Its cas, exptime and state fields are not read: the item gets a new
 * cas, exptime here, and state 0. The caller checked the lengths and the key
 * (wire.c). Returns as sk_kv_part_set.
 */
int sk_kv_part_put(struct sk_kv_part *part, const void *img, size_t len,
		   uint32_t exptime, uint64_t now_ns, uint64_t *cas_p);

/*
 * touch: give the key's item the expiry exptime (owner's Unix seconds, 0
 * never) and keep everything else, its CAS included (memcached's touch
 * and gat keep it). Out of place like a set: a copy of the item with the
 * new expiry is built in free memory, sealed for its offset, published in
 * the same slot, and the old one retired. The eviction hook is called as
 * for a set when no chunk is free; if it evicts this key, the touch finds
 * nothing. Returns 0; SK_KV_ERR_NOT_FOUND (expired or not: expiry is the
 * caller's); SK_ERR_INVAL (key 0 or > 250 bytes); SK_ERR_NOMEM;
 * SK_KV_ERR_QUARANTINE_FULL. On error the partition is unchanged.
 */
int sk_kv_part_touch(struct sk_kv_part *part, const void *key, size_t klen,
		     uint32_t exptime, uint64_t now_ns);

/*
 * sk_kv_part_touch that may also change the item's state (SK_KV_ITEM_*,
 * or SK_KV_ITEM_KEEP as touch does) and give it a new CAS (new_cas; md I does both). With a new CAS, the
 * old copy's CAS word gets SK_KV_CAS_KILLED as a set's would, so that a
 * reader's location cache lets it go. *cas_p (may be NULL): the CAS the
 * item has now. Returns as sk_kv_part_touch.
 */
int sk_kv_part_restate(struct sk_kv_part *part, const void *key,
		       size_t klen, uint32_t exptime, unsigned state,
		       bool new_cas, uint64_t now_ns, uint64_t *cas_p);

/* Unpublish (slot := 0) and retire. 0 or SK_KV_ERR_NOT_FOUND,
 * SK_ERR_INVAL for a bad key length. */
int sk_kv_part_delete(struct sk_kv_part *part, const void *key, size_t klen,
		      uint64_t now_ns);

/*
 * flush_all: unpublish and retire every item, as that many deletes would,
 * past the quarantine's bound (the items held that memory already; it
 * comes free Q after). Returns how many, or SK_ERR_NOMEM (the quarantine
 * ring could not grow; nothing changed).
 */
int sk_kv_part_flush(struct sk_kv_part *part, uint64_t now_ns);

/* Stamp what the last call retired, and free the retired items that have
 * aged Q by now_ns. sk_kv_part_set calls it too; an idle owner calls it
 * from a timer. Returns how many came free. */
unsigned sk_kv_part_reap(struct sk_kv_part *part, uint64_t now_ns);

/* When the quarantine's oldest item comes free (its stamp + Q, in now_ns's
 * clock; an item not stamped yet counts as stamped at now_ns), or 0 when
 * the quarantine is empty: the earliest time an update refused for want of
 * room (SK_KV_ERR_QUARANTINE_FULL, SK_ERR_NOMEM) may find it. */
uint64_t sk_kv_part_room_at(const struct sk_kv_part *part, uint64_t now_ns);

/* Whether the last update's SK_ERR_NOMEM was for good: its class had no
 * chunk at all, and none of the classes it may borrow from had one free or
 * in quarantine, so waiting for the quarantine brings it nothing (the
 * store was carved out for other sizes; memcached answers out of memory
 * at once there too). 0 after any other outcome. */
int sk_kv_part_nomem_for_good(const struct sk_kv_part *part);

/* A new epoch in the region header and every bucket header, so that
 * readers with an older map see SK_KV_ERR_STALE. */
void sk_kv_part_restamp(struct sk_kv_part *part, uint32_t epoch);

struct sk_kv_part_stats {
	uint64_t items;            /* published */
	uint64_t store_size;       /* the store's bytes (items' memory) */
	uint64_t store_used;       /* bytes carved from the store */
	uint64_t free_bytes;       /* of those, in free chunks (reusable) */
	uint64_t quarantined;      /* retired items not yet free */
	uint64_t quarantine_bytes;
	uint64_t evicted;          /* by sk_kv_part_evict_clock, ever */
	uint64_t expired;          /* by sk_kv_part_expire, ever */
	uint64_t split;            /* free chunks cut into smaller ones */
};
void sk_kv_part_stats(const struct sk_kv_part *part,
		      struct sk_kv_part_stats *stats_p);

/* One size class of the store's chunks (memcached's slab class): kv.h's
 * struct sk_kv_class_stats, which kv_own_cstats sums these into, says
 * what each field is. */
struct sk_kv_part_class {
	uint64_t chunk_size, chunks, free, quarantined, items, item_bytes;
	uint64_t sets, evicted, evicted_exp, expired;
};
#define SK_KV_PART_CLASSES 64u /* the most a store has */

/* Slot words of the partition's index (its buckets' words, the headers
 * among them): the end of a dump's walk. */
uint64_t sk_kv_part_slot_words(const struct sk_kv_part *part);

/* For sk_kv_part_dump: one item; nonzero to stop before it. */
typedef int (*sk_kv_dump_fn)(void *arg, const void *key, size_t klen,
			     uint32_t vlen, uint32_t exptime, uint64_t cas);
/* The items of class @cls not expired at @unix_now, from slot word @pos
 * on (0: the first), each to @fn in slot order until it stops. Returns
 * where to go on: the slot word @fn stopped at, or the slot words' count
 * when the walk is through. */
uint64_t sk_kv_part_dump(const struct sk_kv_part *part, unsigned cls,
			 uint64_t pos, uint32_t unix_now, sk_kv_dump_fn fn,
			 void *arg);
/* The store's classes, smallest chunk first, into @cls (up to @max;
 * SK_KV_PART_CLASSES holds them all); returns how many it has: always
 * the same, carved or not. */
unsigned sk_kv_part_classes(const struct sk_kv_part *part,
			    struct sk_kv_part_class *cls, unsigned max);

/*
 * Tests only (test_store's nomem walk): when nonzero, counts down the
 * store's allocations after sk_kv_part_init (free lists, the quarantine
 * ring: the only ones an update, delete or reap makes), and the one that
 * takes it to 0 fails as an exhausted heap would. 0, never set outside
 * tests: no allocation fails but the heap's own.
 */
extern unsigned long sk_kv_alloc_fail_in;

/* ---- when full (kv/README.md, "When full") ---- */

/*
 * An access the owner did not make itself: set the CLOCK reference bit of
 * the items whose full key hash is h (a client's hint of its one-sided
 * GETs; two keys share a 64-bit hash with probability 2^-64 per pair).
 * The owner's own reads (sk_kv_part_lookup) and writes set it too.
 * Returns how many items it marked (0: none with that hash).
 */
int sk_kv_part_ref(struct sk_kv_part *part, uint64_t h);

/*
 * The store's eviction policy, an sk_kv_evict_func_t (arg unused): CLOCK
 * with second chance. need_units == 0: the pair's first item without its
 * bit, clearing the bits it passes (all set: the first, on a second pass).
 * need_units > 0: the partition's hand sweeps the slots (two turns at
 * most), clearing the bits of items of need_units' size class and
 * evicting those without, until that class has its reserve of spare
 * chunks, and one more spare than before when it had no free chunk.
 * Evicted items leave their slots and are retired as deletes are. Only
 * items of the same class help (chunks are never split): a class that
 * has no chunk gets SK_ERR_NOMEM (its item may still borrow a free chunk
 * of a larger class, see sk_kv_part_set). The hand's sweeps keep the
 * quarantine under half its bound (SK_ERR_NOMEM when that stops them
 * before they evict anything), a full pair's eviction under the whole
 * bound (else SK_KV_ERR_QUARANTINE_FULL).
 */
int sk_kv_part_evict_clock(struct sk_kv_part *part, void *arg,
			   uint64_t pair_off, uint64_t need_units,
			   uint64_t now_ns);

/*
 * The expiry crawler (memcached's, beside the readers' lazy rule (3)):
 * visit the next max_slots slot words (a cursor that wraps; at most one
 * turn) and retire the items expired at unix_now, the owner's Unix
 * seconds (exptime != 0 and <= unix_now). now_ns as for every owner call.
 * Stops early rather than take the quarantine past half its bound.
 * Returns how many it retired.
 */
unsigned sk_kv_part_expire(struct sk_kv_part *part, uint32_t unix_now,
			   uint64_t max_slots, uint64_t now_ns);
#pragma GCC visibility pop

#endif
