/*
 * Skiff kv: a hash table spread over the nodes of a skrun job, with
 * memcached's semantics (kv/README.md).
 *
 * The model. The table is cut into P partitions (a power of two); a key's
 * SipHash, keyed with a secret of the job, picks its partition, and
 * rendezvous hashing over ranks 0..N-1 picks each partition's owner, so
 * every node finds a key's owner by itself. Membership is static for now
 * (epoch 1: the job's N ranks). Each partition lives in a region of its
 * owner's arena that peers may only read (SK_ACCESS_REMOTE_READ).
 *
 * - A GET costs the owner nothing: the client READs the key's 128-byte
 *   bucket pair out of the owner's region, then the item a slot points
 *   at, and accepts it only by the store's rules (its seal, its key, its
 *   expiry by the owner's clock, and a lease on the whole GET's time).
 *   A GET that keeps failing those rules (a write racing it) falls back
 *   to asking the owner by rpc.
 * - Updates (set, delete) go by rpc to the owner, the only writer of its
 *   partitions, which decides them as memcached would (kv/sem.c) and
 *   publishes them so that a concurrent reader never accepts a torn item.
 * - A key owned by the caller itself is read and written in place.
 * - The first contact with an owner fetches, in one rpc, the descriptors
 *   of its partitions and its clock (expiry is the owner's).
 *
 * The blocking calls are one asynchronous request (below) posted and
 * waited for; they serve the node's loop while they wait (as
 * sk_rpc_call_sync), so a node's own partitions keep being served. The
 * first request to an owner blocks in its post until the owner answered
 * (connect, and for a GET its partitions' descriptors).
 * Everything belongs to the thread that runs the node's loop.
 *
 * Results: a call returns an sk_status_t for what went wrong underneath
 * (SK_ERR_UNREACHABLE: the key's owner is gone; the other partitions keep
 * working) and, when it returns SK_OK, memcached's answer in *res_p.
 *
 * kv uses rpc handler ids SK_KV_RPC_FIRST .. SK_KV_RPC_FIRST + 15 on the
 * rpc it is given: the program's own handlers must use other ids.
 */
#ifndef SKIFF_KV_H
#define SKIFF_KV_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/status.h>
#include <skiff/kv_res.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_rpc;
struct sk_kv;

/* memcached's key limit. Keys have no space, control byte or DEL
 * (protocol.txt's rule) unless the table is opened with
 * sk_kv_attr.any_keys (the rule memcached's servers keep). */
#define SK_KV_KEY_MAX 250
/* The value limit (memcached's -I 1m). */
#define SK_KV_VALUE_MAX (1u << 20)

#define SK_KV_RPC_FIRST 240u

struct sk_kv_attr {
	/* Partitions, a power of two, at most 2^24; 0: SKIFF_KV_PARTITIONS
	 * (256). The SKIFF_KV_* settings fill the fields left 0. */
	uint32_t partitions;
	/* Bytes of one partition's region (index and items), 64 KiB to
	 * 8 GiB; 0: SKIFF_KV_PART_KB (1 MiB). A node needs about P / N
	 * times this in its arena (SKIFF_ARENA_MB), next to rpc's share and
	 * 1.3 MiB of read buffer. */
	size_t part_bytes;
	/* Buckets of a partition, a power of two; 0: one per 1 KiB of
	 * part_bytes. */
	uint64_t buckets;
	/* The quarantine Q of freed items, in ms (kv/README.md); 0:
	 * SKIFF_KV_QUARANTINE_MS (100). A one-sided GET slower than Q / 4
	 * is retried. */
	uint32_t quarantine_ms;
	/* When a partition is full: 0 evicts by CLOCK with clients' access
	 * hints (kv/README.md, "When full"), unless SKIFF_KV_EVICT=0; 1
	 * answers SK_KV_ENOMEM (memcached -M). */
	int no_evict;
	/* Ranks 0 .. clients-1 hold no partition and only use the table
	 * (skcached's gateways); fewer than the job's ranks. 0: every rank
	 * holds partitions. */
	uint32_t clients;
	/* 1: a key is any 1 to SK_KV_KEY_MAX bytes, as memcached 1.6's
	 * servers take them (its text protocol splits a line on ' ' alone,
	 * so memaslap's keys carry control bytes; the binary protocol
	 * carries any byte). 0: no space, control byte or DEL either
	 * (protocol.txt's rule); other keys answer SK_KV_EFORMAT. Every
	 * rank the same. */
	int any_keys;
};

/*
 * The part_bytes and buckets of a partition whose items may take
 * @item_bytes (memcached's -m counts item memory only): @item_bytes plus
 * the index of one bucket per 1 KiB of it and the region's header. Sets
 * *@buckets_p (for sk_kv_attr.buckets) and returns part_bytes.
 */
size_t sk_kv_part_bytes_for(size_t item_bytes, uint64_t *buckets_p);

/*
 * Collective: every rank of the job calls it, with the same @attr (NULL:
 * the defaults), over its node's rpc (sk_rpc_open), before any of them
 * uses the table; it returns once every rank has laid its partitions out
 * (it runs an sk_os_barrier). Returns SK_OK and *@kv_p, SK_ERR_INVAL (bad
 * attributes or SKIFF_KV_* settings, not a skrun node), SK_ERR_NOMEM
 * (the arena cannot hold the partitions: raise SKIFF_ARENA_MB), or an rpc
 * status reaching rank 0 (which hands out the job's hash secret).
 */
sk_status_t sk_kv_open(struct sk_rpc *rpc, const struct sk_kv_attr *attr,
		       struct sk_kv **kv_p);
/*
 * End this node's part: its partitions go, so call it after the other
 * ranks are done with them (after an sk_os_barrier), before
 * sk_rpc_destroy.
 */
void sk_kv_close(struct sk_kv *kv);

/*
 * get: the value of @key (@klen bytes). On SK_OK, *@res_p is SK_KV_OK
 * (found: up to @cap bytes of the value copied to @buf, its whole length
 * in *@vlen_p, which the caller compares with @cap; its client flags and
 * CAS in *@flags_p and *@cas_p, each pointer may be NULL), SK_KV_NOT_FOUND,
 * or SK_KV_EFORMAT (a bad key). SK_ERR_UNREACHABLE: the owner is gone.
 */
sk_status_t sk_kv_get(struct sk_kv *kv, const void *key, size_t klen,
		      void *buf, size_t cap, size_t *vlen_p,
		      uint32_t *flags_p, uint64_t *cas_p,
		      enum sk_kv_res *res_p);

/*
 * store: memcached's storage command @op (kv_res.h: set, add, replace,
 * append, prepend, cas) of @vlen bytes at @value under @key, with client
 * @flags and memcached's @exptime (0 never, up to 30 days relative, beyond
 * absolute Unix seconds, negative already expired); append and prepend
 * keep the item's flags and expiry and ignore these. @cas is the CAS
 * unique a cas must match; append and prepend take one too (0: any item;
 * another: only the item with it, else SK_KV_EXISTS); set, add and
 * replace ignore it. *@res_p: SK_KV_STORED (the item's new CAS in
 * *@cas_p, which may be NULL), SK_KV_NOT_STORED (add on a present key;
 * replace, append or prepend on an absent one; an append past
 * SK_KV_VALUE_MAX), SK_KV_EXISTS (cas, or append/prepend with a CAS: the
 * item's moved on), SK_KV_NOT_FOUND (cas: no item), SK_KV_EFORMAT (bad
 * key or op), SK_KV_ETOOLARGE (over SK_KV_VALUE_MAX) or SK_KV_ENOMEM (the
 * partition is full and eviction is off, or nothing could be evicted:
 * kv/README.md, "When full"). An update that finds no room only because
 * freed memory is still in quarantine (updates retired more bytes within
 * one Q than half the partition) waits at the owner until some ages, up
 * to 4 Q; so a partition takes overwrites at most at about half its size
 * per Q.
 */
sk_status_t sk_kv_store(struct sk_kv *kv, enum sk_kv_op op, const void *key,
			size_t klen, const void *value, size_t vlen,
			uint32_t flags, int32_t exptime, uint64_t cas,
			uint64_t *cas_p, enum sk_kv_res *res_p);

/* set: sk_kv_store with SK_KV_SET. */
sk_status_t sk_kv_set(struct sk_kv *kv, const void *key, size_t klen,
		      const void *value, size_t vlen, uint32_t flags,
		      int32_t exptime, enum sk_kv_res *res_p);

/*
 * incr and decr by @delta, on a value that is a decimal number: incr wraps
 * at 2^64, decr stops at 0. *@res_p: SK_KV_OK (the new number in
 * *@value_p), SK_KV_NOT_FOUND, SK_KV_ENONNUM (the value is not a number),
 * SK_KV_EFORMAT (bad key) or SK_KV_ENOMEM_DELTA. The item keeps its flags
 * and expiry and gets a new CAS.
 */
sk_status_t sk_kv_incr(struct sk_kv *kv, const void *key, size_t klen,
		       uint64_t delta, uint64_t *value_p,
		       enum sk_kv_res *res_p);
sk_status_t sk_kv_decr(struct sk_kv *kv, const void *key, size_t klen,
		       uint64_t delta, uint64_t *value_p,
		       enum sk_kv_res *res_p);

/*
 * touch: give a present item the expiry @exptime (read as sk_kv_store
 * reads it), keeping its value, flags and CAS. *@res_p: SK_KV_TOUCHED,
 * SK_KV_NOT_FOUND or SK_KV_EFORMAT.
 * gat: touch, then answer as sk_kv_get (SK_KV_OK and the value).
 */
sk_status_t sk_kv_touch(struct sk_kv *kv, const void *key, size_t klen,
			int32_t exptime, enum sk_kv_res *res_p);
sk_status_t sk_kv_gat(struct sk_kv *kv, const void *key, size_t klen,
		      int32_t exptime, void *buf, size_t cap, size_t *vlen_p,
		      uint32_t *flags_p, uint64_t *cas_p,
		      enum sk_kv_res *res_p);

/* delete: *@res_p is SK_KV_DELETED, SK_KV_NOT_FOUND or SK_KV_EFORMAT.
 * (Of any item: SK_KV_CMD_DELETE below also takes a CAS to match.) */
sk_status_t sk_kv_delete(struct sk_kv *kv, const void *key, size_t klen,
			 enum sk_kv_res *res_p);

/*
 * The asynchronous calls: post many requests, then wait for them all; this
 * is how a node keeps the fabric busy. A request is a struct sk_kv_req the
 * caller owns and keeps in place until it is done; the blocking calls
 * above are one request posted and waited for, so both answer alike.
 *
 *	struct sk_kv_req r[64] = {0};
 *	for (i = 0; i < 64; i++) {
 *		r[i].cmd = SK_KV_CMD_GET;
 *		r[i].key = keys[i]; r[i].klen = 16;
 *		r[i].buf = bufs[i]; r[i].cap = 1024;
 *	}
 *	sk_kv_batch(kv, r, 64);       // r[i].status, r[i].res, r[i].vlen
 *
 * Requests to one owner may complete in any order, and two requests on
 * one key in flight together are not ordered: wait for the first before
 * posting the second if order matters.
 */
enum sk_kv_cmd {
	SK_KV_CMD_GET,     /* get/gets: buf, cap -> vlen, flags, cas */
	SK_KV_CMD_STORE,   /* op, value, vlen, flags, exptime, cas -> cas */
	SK_KV_CMD_DELETE,  /* cas (0: any) */
	SK_KV_CMD_INCR,    /* delta, cas (0: any) -> number, cas, expiry */
	SK_KV_CMD_DECR,    /* delta, cas (0: any) -> number, cas, expiry */
	SK_KV_CMD_TOUCH,   /* exptime */
	SK_KV_CMD_GAT,     /* exptime, buf, cap -> vlen, flags, cas */
	/* To one owner, rank (no key): */
	SK_KV_CMD_FLUSH,   /* memcached's flush_all: its items go, now
	                    * (exptime <= 0) or in exptime seconds; a later
	                    * flush replaces a pending one. res SK_KV_OK */
	SK_KV_CMD_OWNER_STATS, /* buf, cap >= sizeof(struct
	                    * sk_kv_owner_stats) -> its figures; SK_KV_OK */
	SK_KV_CMD_CLASS_STATS, /* buf, cap >= SK_KV_CLASSES_MAX x sizeof(
	                    * struct sk_kv_class_stats) -> vlen: how many
	                    * classes it filled in; SK_KV_OK */
	SK_KV_CMD_DUMP,    /* memcached's stats cachedump: the items of
	                    * size class cls (0 the smallest) from cursor on
	                    * (0: the first), into buf (cap >=
	                    * SK_KV_DUMP_MIN) as entries (sk_kv_dump_next)
	                    * -> vlen: the bytes filled; cursor: where the
	                    * next call goes on, 0 after the last. SK_KV_OK */
	SK_KV_CMD_COUNT
};

/*
 * memcached's meta-protocol variants of a request (struct sk_kv_req's
 * meta), for a gateway that speaks it (launcher/skcached). An item may be
 * stale (md I or ms I marked it since it was last set) and may have had
 * its token won (a meta get was told W: it should fetch the value anew;
 * the others are told Z meanwhile). kv keeps both on the item, and any
 * later set, append, prepend or delete clears them (a touch and an incr
 * that fits the old length keep them, as memcached's do).
 */
#define SK_KV_META_WIN 1u        /* GET, GAT: a stale item whose token no
                                  * one won yet gives it to this request
                                  * (every mg asks this) */
#define SK_KV_META_VIVIFY 2u     /* GET, GAT: on a miss, create an empty
                                  * item (flags 0, expiry vivify, read as
                                  * exptime) and win its token (mg N) */
#define SK_KV_META_INVALIDATE 4u /* DELETE: keep the item, stale, with a
                                  * new CAS and its token free again (md
                                  * I); STORE with SK_KV_CAS: a CAS below
                                  * the item's stores all the same, the new
                                  * item stale with the old one's expiry
                                  * and token (ms I) */
#define SK_KV_META_TTL 8u        /* DELETE with INVALIDATE: and the expiry
                                  * exptime (md I T) */
#define SK_KV_META_RECACHE 16u   /* GET, GAT: win the token of an item
                                  * whose token no one won and whose
                                  * expiry is before recache (read as
                                  * exptime) too, stale or not (mg R) */
#define SK_KV_META_RECACHE_OLD 32u /* GAT with RECACHE: compare the
                                  * expiry before this GAT's (R before T
                                  * in mg); else after it */

/* struct sk_kv_req's state after a GET or GAT answered SK_KV_OK: */
#define SK_KV_STATE_STALE 1u /* the item is stale (mg's X) */
#define SK_KV_STATE_TOKEN 2u /* its token was won before this request
                              * (mg's Z) */
#define SK_KV_STATE_WON 4u   /* this request won it (mg's W) */
#define SK_KV_STATE_CREATED 8u /* with WON: by creating the item (mg N) */
/* ... and after an INCR or DECR that answered SK_KV_OK: */
#define SK_KV_STATE_GREW 16u /* the number outgrew the old value, so the
                              * item was made anew (memcached's ma then
                              * gives its T to the old item: lost) */

/* At most this many requests of one node are in flight at once; a post
 * past it first waits (serving the loop) for one to finish. */
#define SK_KV_INFLIGHT_MAX 256u

struct sk_kv_req {
	/* Set by the caller: */
	enum sk_kv_cmd cmd;
	enum sk_kv_op op;       /* SK_KV_CMD_STORE */
	const void *key;
	size_t klen;
	const void *value;      /* SK_KV_CMD_STORE */
	void *buf;              /* GET, GAT: up to cap bytes of the value */
	size_t cap;
	uint32_t flags;         /* STORE: in; GET, GAT: out */
	int32_t exptime;        /* STORE, TOUCH, GAT */
	uint64_t delta;         /* INCR, DECR */
	unsigned rank;          /* FLUSH, OWNER_STATS, CLASS_STATS: the
	                         * owner asked */
	unsigned meta;          /* SK_KV_META_* (GET, GAT, DELETE, STORE),
	                         * 0 for none */
	int32_t vivify;         /* with SK_KV_META_VIVIFY */
	int32_t recache;        /* with SK_KV_META_RECACHE */
	unsigned cls;           /* DUMP: the size class */
	/* In and out: */
	uint64_t cursor;        /* DUMP: where to go on; where to next */
	size_t vlen;            /* STORE: in; GET, GAT: the whole length */
	uint64_t cas;           /* in: STORE with SK_KV_CAS the CAS to
	                         * match; DELETE, INCR, DECR 0 for any item,
	                         * else only the item with this CAS
	                         * (SK_KV_EXISTS otherwise, the item kept),
	                         * as memcached's binary and meta commands
	                         * take one; out: the item's CAS (GET, GAT, a
	                         * store, INCR, DECR) */
	/* Set by kv: */
	uint64_t number;        /* INCR, DECR: the new value */
	uint32_t expiry;        /* GET, GAT, INCR, DECR: the item's expiry,
	                         * Unix seconds by its owner's clock, 0:
	                         * never */
	uint32_t expiry_before; /* GET, GAT: the item's expiry before this
	                         * request's touch (mg's t before its T);
	                         * without one, as expiry */
	unsigned state;         /* GET, GAT: SK_KV_STATE_* */
	sk_status_t status;     /* as the blocking call's return */
	enum sk_kv_res res;     /* memcached's answer, when status is SK_OK */
	int done;               /* status and res are final */
	/* kv's own: its state while in flight, NULL otherwise. */
	struct sk_kv_req_priv *priv_;
};

/*
 * Start @req. SK_OK: it is in flight and will be done (req->done) after
 * sk_kv_progress or sk_kv_wait; SK_ERR_INVAL: a bad request (NULL pointers,
 * an unknown cmd), not posted. A bad key, too large a value and the like
 * are answers (req->res), as in the blocking calls, not errors here.
 */
sk_status_t sk_kv_post(struct sk_kv *kv, struct sk_kv_req *req);

/* One pass of the node's loop without blocking; returns how many of this
 * node's kv requests became done since the last sk_kv_progress or wait
 * (those a post answered at once included). */
unsigned sk_kv_progress(struct sk_kv *kv);

/* Wait, serving the loop, until the @n requests at @reqs are done. Each
 * has its own status; this returns SK_OK unless the wait itself failed. */
sk_status_t sk_kv_wait(struct sk_kv *kv, struct sk_kv_req *reqs, size_t n);

/* Post the @n requests at @reqs, then wait for them all. */
sk_status_t sk_kv_batch(struct sk_kv *kv, struct sk_kv_req *reqs, size_t n);

/* Counters of this node's client, for tests and benchmarks. */
struct sk_kv_stats {
	uint64_t gets_local;     /* served from this node's own partitions */
	uint64_t gets_onesided;  /* answered by READs alone */
	uint64_t gets_rpc;       /* fell back to the owner's rpc */
	uint64_t read_retries;   /* GET attempts the rules turned down */
	uint64_t updates_rpc;    /* updates sent to an owner */
	uint64_t hints_sent;     /* key hashes sent to owners (KV_RPC_HINT) */
};
void sk_kv_stats(const struct sk_kv *kv, struct sk_kv_stats *st);

/* An owner's figures (SK_KV_CMD_OWNER_STATS), over its partitions. */
struct sk_kv_owner_stats {
	uint64_t items;          /* published now */
	uint64_t bytes;          /* held by them (headers, keys, values) */
	uint64_t limit_bytes;    /* its partitions' item memory (their
	                          * regions less index and header) */
	uint64_t evictions;      /* ever */
	uint64_t expired;        /* retired by the expiry crawler, ever */
	uint64_t waited;         /* updates that waited for room (memory
	                          * still in quarantine), ever */
	uint32_t partitions;
	uint32_t reserved;
};

/*
 * One size class of an owner's item memory, over its partitions
 * (SK_KV_CMD_CLASS_STATS): memcached's slab class. Items are kept in
 * chunks of fixed sizes growing by about 1.25 from 48 bytes to the
 * largest item; every owner has the same classes, smallest first.
 */
#define SK_KV_CLASSES_MAX 64u
struct sk_kv_class_stats {
	uint64_t chunk_size;     /* bytes of each chunk */
	uint64_t chunks;         /* carved from the store (or cut from a
	                          * larger class's free chunk) */
	uint64_t free;           /* of those, reusable now */
	uint64_t quarantined;    /* retired, reusable a quarantine later */
	uint64_t items;          /* the rest: each holds a published item */
	uint64_t item_bytes;     /* what those items take (header, key and
	                          * value, padded to 16 bytes) */
	uint64_t sets;           /* items stored in these chunks, ever */
	uint64_t evicted;        /* items evicted from them, ever */
	uint64_t evicted_exp;    /* of those, items that had an expiry */
	uint64_t expired;        /* retired by the expiry crawler, ever */
};

/* @k's figures added to @sum's, the same class of another partition or
 * owner (the chunk size is @k's). */
static inline void
sk_kv_class_stats_add(struct sk_kv_class_stats *sum,
		      const struct sk_kv_class_stats *k)
{
	sum->chunk_size = k->chunk_size;
	sum->chunks += k->chunks;
	sum->free += k->free;
	sum->quarantined += k->quarantined;
	sum->items += k->items;
	sum->item_bytes += k->item_bytes;
	sum->sets += k->sets;
	sum->evicted += k->evicted;
	sum->evicted_exp += k->evicted_exp;
	sum->expired += k->expired;
}

/*
 * One item of an SK_KV_CMD_DUMP answer, its key's bytes after it; the
 * next one starts at the next multiple of 8. A dump is a walk of the
 * owner's slots over several calls, not a snapshot: an item set or
 * removed meanwhile may be listed or not. Expired items are not.
 */
struct sk_kv_dump_ent {
	uint32_t vlen;          /* the value's length */
	uint32_t exptime;       /* Unix seconds by the owner's clock, 0:
	                         * never */
	uint32_t klen;          /* 1 to 250 */
	uint32_t reserved;      /* 0 */
	uint64_t cas;           /* the item's CAS (memcached's metadump) */
};
#define SK_KV_DUMP_MIN 512u  /* the least buf a DUMP takes: room for an
                              * entry of the longest key */

/* The bytes an item of a @klen-byte key and a @vlen-byte value takes in
 * an owner's store: its 32-byte header, the key and the value, padded to
 * 16 (what struct sk_kv_class_stats's item_bytes adds up). */
static inline uint64_t
sk_kv_item_bytes(size_t klen, size_t vlen)
{
	return (32u + klen + vlen + 15u) & ~(uint64_t)15;
}

/* The entry at *@off of a DUMP's @len bytes at @buf, and its key
 * (*@key_p); *@off moves to the next. NULL after the last, or at bytes
 * that are not an entry. */
static inline const struct sk_kv_dump_ent *
sk_kv_dump_next(const void *buf, size_t len, size_t *off,
		const uint8_t **key_p)
{
	const struct sk_kv_dump_ent *e;
	size_t o = *off;

	if (o > len || len - o < sizeof(*e) || o % 8)
		return NULL;
	e = (const struct sk_kv_dump_ent *)((const uint8_t *)buf + o);
	if (e->klen == 0 || e->klen > 250 ||
	    len - o - sizeof(*e) < e->klen)
		return NULL;
	*key_p = (const uint8_t *)(e + 1);
	o += (sizeof(*e) + e->klen + 7) & ~(size_t)7;
	*off = o < len ? o : len;
	return e;
}

/* The rank owning @key's partition (where a set goes). */
unsigned sk_kv_owner_of(const struct sk_kv *kv, const void *key, size_t klen);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_KV_H */
