/*
 * kv's fabric side, private: the node's state (the map of partitions to
 * owners, its own partitions, what it knows of each owner), the wire
 * format of its rpcs, and the functions its files share.
 *
 *   map.c     the job's secret and the placement (rendezvous hashing)
 *   owner.c   this node's partitions: layout, the updates, the handlers
 *   req.c     the requests (kv.h's asynchronous API), req.h; the
 *             one-sided GET as a state machine and access hints
 *             (req_get.c), updates and the rpc GET (req_rpc.c)
 *   client.c  first contact with an owner, the blocking calls
 *   kv.c      open and close
 *
 * Every word on the wire is in host byte order, as in the partition
 * regions (kv/store.h: one byte order per job).
 */
#ifndef SK_KV_INT_H
#define SK_KV_INT_H

#include <stdbool.h>
#include <stdint.h>

/* store.h and sem.h both define the key and value limits, with the same
 * values spelled differently; kv.h's spelling is sem.h's. */
#include "store.h"
#undef SK_KV_KEY_MAX
#undef SK_KV_VALUE_MAX

#include <skiff/arena.h>
#include <skiff/kv.h>
#include <skiff/loop.h>
#include <skiff/rpc.h>
#include <skiff/verbs.h>

#include "sem.h"

/* kv's files share these, and nothing beyond kv: hidden, so that
 * libskiff_kv.so exports exactly kv.h's functions. */
#pragma GCC visibility push(hidden)

/* The rpc handler ids, from SK_KV_RPC_FIRST (kv.h). */
enum {
	KV_RPC_SECRET = SK_KV_RPC_FIRST, /* rank 0: the job's hash secret */
	KV_RPC_DESC,                     /* an owner's partitions, its clock */
	KV_RPC_GET,
	KV_RPC_STORE,                    /* set, add, replace, append, ... */
	KV_RPC_DELETE,
	KV_RPC_DELTA,                    /* incr, decr */
	KV_RPC_TOUCH,                    /* touch, gat */
	KV_RPC_HINT,                     /* a client's one-sided accesses */
	KV_RPC_FLUSH,                    /* flush_all (admin.c) */
	KV_RPC_OSTATS,                   /* an owner's figures (admin.c) */
	KV_RPC_CSTATS,                   /* ... per size class (admin.c) */
	KV_RPC_DUMP,                     /* a size class's keys (admin.c) */
	KV_RPC_END
};

#define KV_EPOCH      1u   /* static membership, for now */
#define KV_READ_TRIES 8u   /* one-sided attempts before the rpc GET */
#define KV_PART_KB_MAX (1ul << 23) /* a partition's region: 8 GiB, what a
				    * slot's offset addresses */
#define KV_WIRE_MAGIC 0x31637266766b6b73ull /* "skkvfrc1" */

/* KV_RPC_SECRET: request and response. */
struct kv_secret_req {
	uint32_t partitions;  /* must agree with rank 0's */
	uint32_t epoch;
};
struct kv_secret_resp {
	uint64_t k0, k1;
};

/* KV_RPC_DESC: request { epoch }, response a header and one entry per
 * partition the owner holds, in increasing partition order, each
 * followed by desc_len bytes of sk_mr_pack's descriptor, padded to 8. */
struct kv_desc_req {
	uint32_t epoch;
	uint32_t reserved;
};
struct kv_desc_hdr {
	uint64_t magic;       /* KV_WIRE_MAGIC */
	uint32_t epoch;
	uint32_t count;
	uint64_t unix_ns;     /* the owner's clock (CLOCK_REALTIME) */
};
struct kv_desc_ent {
	uint32_t partition;
	uint32_t desc_len;    /* <= SK_BLOB_MAX */
	uint64_t base;        /* the region's address at the owner */
	struct sk_kv_region_hdr hdr; /* its header, as peers would READ it */
};

/* KV_RPC_GET and KV_RPC_DELETE: the key follows. The handler's status is
 * the enum sk_kv_res; GET's response on SK_KV_OK is kv_get_resp and the
 * value. */
struct kv_key_req {
	uint32_t klen;
	uint32_t reserved;
};
struct kv_delete_req {
	uint32_t klen;
	uint32_t mode;        /* 0, or KV_DELETE_STALE [| KV_DELETE_TTL] */
	uint64_t cas;         /* 0: any item; else only the one with it */
	int32_t exptime;      /* KV_DELETE_TTL's, as memcached reads it;
	                       * else 0 */
	uint32_t reserved;    /* 0 */
};
/* md I: the item stays, stale, its token free again, with a new CAS (and
 * with KV_DELETE_TTL the expiry exptime). */
#define KV_DELETE_STALE 1u
#define KV_DELETE_TTL 2u
struct kv_get_resp {
	uint32_t flags;
	uint32_t vlen;
	uint64_t cas;
	uint32_t exptime;     /* owner's Unix seconds, 0: never */
	uint32_t state;       /* SK_KV_STATE_* (kv.h): the item's before
	                       * this request, and WON */
	uint32_t exptime_before; /* a touch's: the expiry it replaced (a
	                          * created item's: its own); else exptime */
	uint32_t reserved;    /* 0 */
};

/*
 * KV_RPC_STORE: the new item whole, as the owner will store it (store.h,
 * struct sk_kv_item_hdr: the header, the key, the value, zeros to a
 * multiple of 16; sk_kv_item_size(klen, vlen) bytes), sealed by the
 * client (sk_kv_item_seal, with state 0). Three header fields carry
 * the request on the wire instead: check the seal, cas the CAS unique to
 * match (SK_KV_CAS; else 0), exptime the request's as memcached reads it,
 * state the op (| KV_STORE_STALE). The owner stores the rest as it came: a SET costs it
 * neither building the item nor sealing it (kv/README.md, "Updates").
 * The handler's status is the enum sk_kv_res; on SK_KV_STORED the
 * response is kv_cas_resp.
 */
struct kv_store_req {
	uint64_t seal;
	uint64_t cas;         /* SK_KV_CAS: the CAS unique to match */
	int32_t exptime;
	uint32_t flags;
	uint32_t vlen;
	uint8_t klen;
	uint8_t kind;         /* 0 */
	uint16_t op;          /* enum sk_kv_op, | KV_STORE_STALE */
};
/* ms I: with SK_KV_CAS, a CAS older than the item's still stores, the new
 * item stale and with the old one's expiry and token (the owner seals
 * it: its state is not the client's 0). */
#define KV_STORE_STALE 0x100u
_Static_assert(sizeof(struct kv_store_req) == SK_KV_ITEM_HDR,
	       "KV_RPC_STORE's header is the item's");
struct kv_cas_resp {
	uint64_t cas;
};

/* KV_RPC_DELTA: the key follows. On SK_KV_OK the response is
 * kv_delta_resp. */
struct kv_delta_req {
	uint32_t incr;        /* 1 incr, 0 decr */
	uint32_t klen;
	uint64_t delta;
	uint64_t cas;         /* 0: any item; else only the one with it */
};
struct kv_delta_resp {
	uint64_t value;
	uint64_t cas;         /* the new item's */
	uint32_t exptime;     /* its expiry, owner's Unix seconds, 0: never */
	uint32_t grew;        /* 1: the number outgrew the old value; else 0 */
};

/*
 * KV_RPC_TOUCH, the updates a read may make: touch, gat, and memcached's
 * mg with T, N or a stale item's token to win. The key follows. Without
 * KV_TOUCH_ANSWER it answers SK_KV_TOUCHED and no body; with it SK_KV_OK
 * and kv_get_resp and the value, as KV_RPC_GET.
 */
struct kv_touch_req {
	int32_t exptime;      /* KV_TOUCH_TTL's; else 0 */
	uint32_t klen;
	uint32_t mode;        /* KV_TOUCH_*: TTL or ANSWER at least */
	int32_t vivify;       /* KV_TOUCH_VIVIFY's expiry; else 0 */
	int32_t recache;      /* KV_TOUCH_RECACHE's time; else 0 */
	uint32_t reserved;    /* 0 */
};
#define KV_TOUCH_ANSWER 1u /* answer with the item (gat, mg) */
#define KV_TOUCH_TTL 2u    /* give it the expiry exptime (touch, gat) */
#define KV_TOUCH_WIN 4u    /* win its token if stale and not handed out */
#define KV_TOUCH_VIVIFY 8u /* on a miss create it, empty, token won */
#define KV_TOUCH_RECACHE 16u /* win it too if its expiry is before
                              * recache (mg R) */
#define KV_TOUCH_RECACHE_OLD 32u /* RECACHE compares the expiry before
                                  * TTL's, not after */
#define KV_TOUCH_MODES 63u

/*
 * KV_RPC_HINT: a client tells an owner which of its items it read
 * one-sided (C-Hint's access hints, kv/README.md "When full"), so that
 * eviction sees accesses the owner's CPU never did. count key hashes
 * (sk_kv_key_hash of the key) follow; at most KV_HINT_MAX. The owner
 * answers 0 and no body; hints for keys it does not hold are ignored.
 */
#define KV_HINT_MAX 512u
struct kv_hint_req {
	uint32_t count;
	uint32_t reserved;    /* 0 */
};

/*
 * KV_RPC_FLUSH: the owner's items go now (delay <= 0) or in delay
 * seconds, replacing a flush still pending; it answers SK_KV_OK, no body.
 * KV_RPC_OSTATS: no body; the answer is SK_KV_OK and struct
 * sk_kv_owner_stats (kv.h). KV_RPC_CSTATS: no body; the answer is SK_KV_OK
 * and a struct sk_kv_class_stats per class (kv_dec_cstats_resp).
 */
struct kv_flush_req {
	int32_t delay;
	uint32_t reserved;    /* 0 */
};

/*
 * KV_RPC_DUMP: the keys of size class cls from cursor on, at most max
 * bytes of entries (struct sk_kv_dump_ent, each padded to 8 with
 * zeros). The answer is SK_KV_OK, struct kv_dump_resp and the entries:
 * next is where the next call goes on (0: none left).
 */
struct kv_dump_req {
	uint64_t cursor;
	uint32_t cls;         /* < SK_KV_CLASSES_MAX */
	uint32_t max;         /* >= SK_KV_DUMP_MIN */
};
struct kv_dump_resp {
	uint64_t next;
	uint32_t len;         /* of the entries after this */
	uint32_t count;       /* entries */
};
/* The most entry bytes a dump answer carries (it goes inline). */
#define KV_DUMP_MAX (SK_RPC_INLINE_MAX - sizeof(struct kv_dump_resp))

/* What this node knows of a partition. */
struct kv_part {
	uint32_t owner;             /* rank */
	/* Owned here: */
	struct sk_kv_part *part;
	struct sk_region region;
	int may_expire;             /* has held an item with an expiry */
	int room_wait;              /* the last update's lack of room may
	                             * pass (kv_own_must_wait) */
	struct kv_held *held, *held_tail; /* updates waiting (hold.c) */
	/* Owned elsewhere, once its owner's descriptors came: */
	int ready;
	struct sk_kv_view view;
	struct sk_rkey *rkey;
	uint64_t base;
	/* Its region mapped here (sk_rkey_ptr: ucx shared memory on this
	 * host), or NULL: a GET copies instead of READing (req_get.c). */
	const uint8_t *direct;
};

/* Access hints go to an owner at most once in this many ns (req_get.c):
 * 64 key hashes per client per 10 ms at most. */
#define KV_HINT_PERIOD_NS 10000000ull

/* A full list of hints asks the clock whether its period passed once per
 * this many GETs (a GET takes ~0.15 us, the period 10 ms). */
#define KV_HINT_SKIP 64u

/* A wait whose requests were all done at once passes the loop once in
 * this many (req.c): the node keeps serving its peers. */
#define KV_TURN_EVERY 64u

/* An update held until its partition has room (hold.c). */
struct kv_held;

/* A FIFO of requests in flight (struct sk_kv_req_priv, req.c). */
struct sk_kv_req_priv;
struct kv_q {
	struct sk_kv_req_priv *head, *tail;
	unsigned n;
};

/* What this node knows of another node as an owner. */
struct kv_owner {
	struct sk_rpc_peer *peer;   /* NULL until first contact */
	int ready;                  /* its descriptors are here */
	uint64_t unix_ns;           /* its clock when it answered ... */
	uint64_t mono_ns;           /* ... on ours */
	uint32_t nowned;            /* partitions it holds, by the map */
	/* req.c: READs outstanding on its endpoint (at most
	 * SK_RPC_EP_SHARE, rpc.h), requests waiting to post a READ, and
	 * requests waiting for an rpc credit or a pool buffer. */
	struct sk_kv_req_priv *rd_ops[SK_RPC_EP_SHARE];
	unsigned rd_out;
	struct kv_q rd_wait, rpc_wait;
	int busy_listed;            /* in kv->busy (kv_owner_busy) */
	/* Key hashes of one-sided hits, not yet sent (KV_RPC_HINT), and
	 * when the last list went (at most one per KV_HINT_PERIOD_NS). */
	unsigned nhints;
	uint64_t hints[KV_HINT_MAX / 8];
	uint64_t hint_sent_ns;
	unsigned hint_skip;         /* full: drop this many before asking
	                             * the clock again */
};

/*
 * The read buffer (req.c), registered with local rights: KV_PAIRS landing
 * places of SK_KV_PAIR_SIZE, one per GET in flight (with room for some
 * held by READs lost on failed owners), then KV_UNITS units of
 * KV_UNIT bytes where items land, a run of units per item READ: enough
 * for SK_KV_INFLIGHT_MAX items of up to one unit plus the largest item
 * a set makes; a larger item waits for room.
 */
#define KV_ITEM_BYTES_MAX \
	((SK_KV_ITEM_HDR + SK_KV_KEY_MAX + SK_KV_VALUE_MAX + SK_KV_LINE - 1) \
	 / SK_KV_LINE * SK_KV_LINE)
#define KV_PAIRS (SK_KV_INFLIGHT_MAX + SK_KV_INFLIGHT_MAX / 4)
#define KV_UNIT  1024u
#define KV_UNITS (SK_KV_INFLIGHT_MAX + \
		  (KV_ITEM_BYTES_MAX + KV_UNIT - 1) / KV_UNIT)

struct sk_kv {
	struct sk_rpc *rpc;
	struct sk_loop *loop;
	struct sk_arena *arena;
	unsigned rank, size;
	uint32_t nparts;
	uint32_t epoch;
	size_t part_bytes;
	uint64_t buckets;
	uint64_t quarantine_ns;
	struct sk_kv_hkey hkey;
	int any_keys;               /* sk_kv_attr's: kv_key_ok */
	int have_secret;            /* rank 0 from the start; others once
	                             * rank 0 answered */
	int ready;                  /* partitions laid out: serve them */
	struct kv_part *parts;      /* [nparts] */
	struct kv_owner *owners;    /* [size] */
	/* The owners that may have READs out or requests waiting (a
	 * superset: req.c's pump drops the idle ones), so that a request's
	 * wait costs per busy owner, not per node of the job. */
	unsigned *busy;             /* [size] */
	unsigned nbusy;
	/* req.c */
	struct sk_region rbuf;      /* where READs land (local rights) */
	uint16_t pair_free[KV_PAIRS];
	unsigned npair_free;
	uint64_t unit_map[(KV_UNITS + 63) / 64]; /* 1: in use */
	unsigned units_live;        /* held by READs that will complete */
	struct kv_q ready_q;        /* completed, to be stepped */
	struct kv_q space_q;        /* waiting for item landing room */
	struct sk_kv_req_priv *lost;         /* READs lost on failed owners */
	struct sk_kv_req_priv *cache;        /* freed ops, for reuse */
	unsigned inflight;          /* posted requests not yet done */
	unsigned newly_done;        /* for sk_kv_progress's count */
	struct sk_kv_stats st;
	/* SKIFF_KV_GET (config.c): rpc, no one-sided GET; else direct:
	 * a GET copies an owner's region mapped here (sk_rkey_ptr) instead
	 * of READing it (onesided; not with read). Copies made, one per
	 * READ they stood for. */
	int get_rpc;
	int get_direct;
	uint64_t copies;
	unsigned unturned;          /* waits done without a loop pass */
	/* req_get.c: the location cache (loc.h), [KV_LOC_ENTRIES], and its
	 * counts, kv's own (sk_kv_stats is public: its struct stays). */
	struct kv_loc *loc;
	struct kv_loc_stats {
		uint64_t hits;      /* pair and item READ at once, accepted */
		uint64_t misses;    /* READ at once, the item not accepted */
		uint64_t skipped;   /* a young entry, but no room for two
		                     * READs: one after the other */
	} loc_st;
	/* evict.c */
	int evict;                  /* partitions evict by CLOCK when full */
	struct sk_timer sweep_timer; /* reap and crawl, every Q/2 */
	uint32_t sweep_ms;
	/* hold.c: updates waiting for room, and when to try them again */
	struct sk_timer hold_timer;
	uint64_t hold_at;           /* when it fires, if armed */
	unsigned nheld;
	uint64_t waited;            /* updates held, ever */
	/* admin.c: a flush_all with a delay, pending */
	struct sk_timer flush_timer;
	int flush_pending;
	uint32_t clients;           /* ranks 0..clients-1 own nothing */
};

/* map.c */
uint32_t kv_rendezvous(const struct sk_kv_hkey *hkey, uint32_t partition,
		       uint32_t epoch, unsigned nranks);
sk_status_t kv_fetch_secret(struct sk_kv *kv);
/* Each partition's owner (rendezvous, then a partition for every rank
 * that won none, when there are enough), counted in owners[].nowned. */
void kv_place(struct sk_kv *kv);
void kv_h_secret(struct sk_rpc_req *req, void *arg);

/* admin.c: flush_all and the owner's figures, by rpc or in place. */
void kv_h_flush(struct sk_rpc_req *req, void *arg);
void kv_h_ostats(struct sk_rpc_req *req, void *arg);
enum sk_kv_res kv_own_flush(struct sk_kv *kv, int32_t delay);
void kv_own_ostats(struct sk_kv *kv, struct sk_kv_owner_stats *st);
void kv_h_cstats(struct sk_rpc_req *req, void *arg);
void kv_h_dump(struct sk_rpc_req *req, void *arg);
/* Entries of class @cls from *@cursor on into @out (up to @max bytes,
 * >= SK_KV_DUMP_MIN): the bytes filled; *@cursor where to go on, 0 after
 * the last; *@count the entries. */
size_t kv_own_dump(struct sk_kv *kv, unsigned cls, uint64_t *cursor,
		   void *out, size_t max, uint32_t *count);
/* Into @cls (SK_KV_CLASSES_MAX of them): how many classes. */
unsigned kv_own_cstats(struct sk_kv *kv, struct sk_kv_class_stats *cls);
void kv_flush_stop(struct sk_kv *kv);

/* owner.c */
uint64_t kv_mono_ns(void);
uint64_t kv_unix_ns(void);
sk_status_t kv_own_init(struct sk_kv *kv);
void kv_own_cleanup(struct sk_kv *kv);
enum sk_kv_res kv_own_get(struct sk_kv *kv, struct kv_part *kp,
			  const void *key, size_t klen,
			  struct sk_kv_item_view *item_p);
enum sk_kv_res kv_own_store(struct sk_kv *kv, struct kv_part *kp,
			    enum sk_kv_op op, const void *key, size_t klen,
			    const void *value, size_t vlen, uint32_t flags,
			    int32_t exptime, uint64_t cas, bool stale,
			    const void *img, uint64_t *cas_p);
/* delete and delta: @cas 0 takes any live item, another only the one
 * with that CAS (else SK_KV_EXISTS), as memcached's binary and meta
 * commands do. delete's @mode: 0, or KV_DELETE_STALE (md I: the item is
 * kept, stale) with KV_DELETE_TTL for a new expiry @exptime. */
enum sk_kv_res kv_own_delete(struct sk_kv *kv, struct kv_part *kp,
			     const void *key, size_t klen, uint64_t cas,
			     unsigned mode, int32_t exptime);
enum sk_kv_res kv_own_delta(struct sk_kv *kv, struct kv_part *kp,
			    const void *key, size_t klen, bool incr,
			    uint64_t delta, uint64_t cas, uint64_t *value_p,
			    uint64_t *cas_p, uint32_t *exptime_p,
			    bool *grew_p);
/* KV_RPC_TOUCH's work, @mode its KV_TOUCH_* bits: touch (no ANSWER),
 * gat, or mg's (kv_int.h). With ANSWER the item in *item_p, as
 * kv_own_get's, its SK_KV_STATE_* in *state_p, and the expiry it had
 * before this touch in *before_p (a created item's: its own). */
enum sk_kv_res kv_own_touch(struct sk_kv *kv, struct kv_part *kp,
			    const void *key, size_t klen, unsigned mode,
			    int32_t exptime, int32_t vivify, int32_t recache,
			    struct sk_kv_item_view *item_p, unsigned *state_p,
			    uint32_t *before_p);
/* After a kv_own_* call answered @r: whether it found no room but may by
 * waiting (then hold the update: hold.c). Reading it forgets it. */
bool kv_own_must_wait(struct kv_part *kp, enum sk_kv_res r);
void kv_h_desc(struct sk_rpc_req *req, void *arg);
void kv_h_get(struct sk_rpc_req *req, void *arg);
void kv_h_store(struct sk_rpc_req *req, void *arg);
void kv_h_delete(struct sk_rpc_req *req, void *arg);
void kv_h_delta(struct sk_rpc_req *req, void *arg);
void kv_h_touch(struct sk_rpc_req *req, void *arg);
void kv_h_hint(struct sk_rpc_req *req, void *arg);

/* evict.c: a client's hint of a one-sided access to the item whose key
 * hashes (sk_kv_key_hash) to key_hash, in partition kp (KV_RPC_HINT);
 * the owner's quarantine and expiry timer, from open to close. */
void kv_evict_hint(struct sk_kv *kv, struct kv_part *kp, uint64_t key_hash);
void kv_evict_start(struct sk_kv *kv);
void kv_evict_stop(struct sk_kv *kv);

/* hold.c: an update that found no room but may by waiting (store.h:
 * the quarantine at its bound, or its class's chunks all in quarantine)
 * waits, a peer's (answered later) or this node's own (not done yet), and
 * is served again once the quarantine's oldest chunk has aged; so are the
 * partition's later updates, behind it. The holder says what serving a
 * request means: */
enum kv_serve_how {
	KV_SERVE,       /* serve it: true when answered, false: wait more */
	KV_END_NOMEM,   /* answer: no room after all (ENOMEM) */
	KV_END_CLOSED,  /* answer: this node's kv is closing */
};
typedef bool (*kv_serve_fn)(struct sk_kv *kv, struct kv_part *kp, void *req,
			    uint16_t id, enum kv_serve_how how);
static inline bool kv_hold_busy(const struct kv_part *kp)
{
	return kp->held != NULL;
}
void kv_hold(struct sk_kv *kv, struct kv_part *kp, void *req, uint16_t id,
	     kv_serve_fn serve);
void kv_hold_init(struct sk_kv *kv);
/* At close: every held update is ended (KV_END_CLOSED), the timer
 * stopped. */
void kv_hold_stop(struct sk_kv *kv);

/* config.c: fill the fields of *a left 0 from SKIFF_KV_* (or their
 * defaults); SK_ERR_CONFIG, with a message, for a bad setting. */
sk_status_t kv_config_attr(struct sk_kv_attr *a);
/* SKIFF_KV_GET: *rpc_p 1 for rpc; *direct_p 1 for onesided (copies of
 * regions mapped here), 0 for read and rpc; SK_ERR_CONFIG, with a
 * message, for another value. */
sk_status_t kv_config_get(int *rpc_p, int *direct_p);

/* client.c */
sk_status_t kv_owner_get(struct sk_kv *kv, unsigned rank,
			 struct kv_owner **o_p);
sk_status_t kv_owner_connect(struct sk_kv *kv, unsigned rank,
			     struct kv_owner **o_p);
sk_status_t kv_rpc_status(int rc);

/* req.c */
sk_status_t kv_client_init(struct sk_kv *kv);
void kv_client_cleanup(struct sk_kv *kv);
/* A request is done: its status and result (req_core.c). */
void kv_req_answer(struct sk_kv *kv, struct sk_kv_req *req, sk_status_t st,
		   enum sk_kv_res res);
/* sk_kv_wait without sending the access hints. */
sk_status_t kv_wait(struct sk_kv *kv, struct sk_kv_req *reqs, size_t n);
/* The owner @rank failed: its requests waiting or READing end with
 * SK_ERR_UNREACHABLE (before its keys go). */
void kv_owner_fail(struct sk_kv *kv, unsigned rank);

/* The table's key rule: any 1 to 250 bytes with sk_kv_attr.any_keys
 * (memcached's servers), else no space, control byte or DEL as well
 * (protocol.txt's rule, sk_kv_key_ok). */
static inline bool kv_key_ok(const struct sk_kv *kv, const void *key,
			     size_t klen)
{
	return kv->any_keys ? sk_kv_key_len_ok(klen) : sk_kv_key_ok(key, klen);
}

/* A key's hash: its partition here, its buckets in the owner's region. */
static inline uint64_t kv_key_hash(const struct sk_kv *kv, const void *key,
				   size_t klen)
{
	return sk_kv_key_hash(&kv->hkey, key, klen);
}

/* Owner @r is about to have a READ out or a request waiting. */
static inline void kv_owner_busy(struct sk_kv *kv, unsigned r)
{
	if (!kv->owners[r].busy_listed) {
		kv->owners[r].busy_listed = 1;
		kv->busy[kv->nbusy++] = r;
	}
}

static inline struct kv_part *kv_part_of(struct sk_kv *kv, uint64_t h)
{
	return &kv->parts[sk_kv_partition_of(h, kv->nparts)];
}

#pragma GCC visibility pop

#endif
