/*
 * kv owner: this node's partitions. Each lives in a region of the node's
 * arena registered with SK_ACCESS_REMOTE_READ only (no peer can write
 * it), laid out and written by kv/store.c; the decisions are kv/sem.c's.
 * The same functions answer the node's own calls (in place) and the rpcs
 * of other nodes (the handlers here), so the two paths cannot disagree.
 *
 * Clocks: the store's now_ns is CLOCK_MONOTONIC (quarantine ages); expiry
 * is in Unix seconds of this node's CLOCK_REALTIME, which readers estimate
 * from the value sent in KV_RPC_DESC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <skiff/os.h>

#include "kv_int.h"
#include "wire.h"

_Static_assert(SK_KV_STATE_STALE == SK_KV_ITEM_STALE &&
		       SK_KV_STATE_TOKEN == SK_KV_ITEM_TOKEN &&
		       !((SK_KV_STATE_WON | SK_KV_STATE_CREATED) &
			 SK_KV_ITEM_STATES),
	       "kv.h's item states are the item header's");

uint64_t kv_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

uint64_t kv_unix_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

sk_status_t kv_own_init(struct sk_kv *kv)
{
	struct sk_kv_part_cfg cfg = {
		.epoch = kv->epoch,
		.owner_rank = kv->rank,
		.nbuckets = kv->buckets,
		.hkey = kv->hkey,
		.quarantine_ns = kv->quarantine_ns,
		/* kv/README.md, "When full"; NULL: memcached -M. */
		.evict = kv->evict ? sk_kv_part_evict_clock : NULL,
	};
	sk_status_t st;

	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		if (kp->owner != kv->rank)
			continue;
		st = sk_arena_region_direct(kv->arena, kv->part_bytes,
				     SK_ACCESS_REMOTE_READ, &kp->region);
		if (st != SK_OK) {
			fprintf(stderr, "skiff: kv: rank %u: no arena room for "
				"partition %u (%zu bytes): %s\n", kv->rank, p,
				kv->part_bytes, sk_status_str(st));
			return st;
		}
		cfg.partition = p;
		st = sk_kv_part_init(kp->region.base, kp->region.size, &cfg,
				     &kp->part);
		if (st != SK_OK) {
			sk_arena_region_release(kv->arena, &kp->region);
			kp->region.mr = NULL;
			return st;
		}
	}
	return SK_OK;
}

void kv_own_cleanup(struct sk_kv *kv)
{
	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];

		if (kp->part) {
			sk_kv_part_cleanup(kp->part);
			kp->part = NULL;
		}
		if (kp->region.mr) {
			sk_arena_region_release(kv->arena, &kp->region);
			kp->region.mr = NULL;
		}
	}
}

/* An update found no room (the store's @st): note whether it may find
 * some by waiting, for kv_own_must_wait. */
static void kv_own_full(struct kv_part *kp, int st)
{
	kp->room_wait = st == SK_KV_ERR_QUARANTINE_FULL ||
			(st == SK_ERR_NOMEM &&
			 sk_kv_part_room_at(kp->part, 0) != 0 &&
			 !sk_kv_part_nomem_for_good(kp->part));
}

bool kv_own_must_wait(struct kv_part *kp, enum sk_kv_res r)
{
	bool wait = kp->room_wait &&
		    (r == SK_KV_ENOMEM || r == SK_KV_ENOMEM_DELTA);

	kp->room_wait = 0;
	return wait;
}

enum sk_kv_res kv_own_get(struct sk_kv *kv, struct kv_part *kp,
			  const void *key, size_t klen,
			  struct sk_kv_item_view *item_p)
{
	(void)kv;
	if (sk_kv_part_lookup(kp->part, key, klen, item_p) != 0)
		return SK_KV_NOT_FOUND;
	/* The clock only for an item that can expire (most have no
	 * expiry, and every GET by rpc comes here). */
	if (item_p->exptime != SK_KV_EXP_NEVER &&
	    sk_kv_expired(item_p->exptime, kv_unix_ns() / 1000000000ull))
		return SK_KV_NOT_FOUND;
	return SK_KV_OK;
}

/* An absolute expiry @exp as the item's 32-bit field (absolute expiries
 * fit it until 2106), noted for the expiry crawler (evict.c): the
 * partition's items may expire from now on. */
static inline uint32_t kv_own_exp_field(struct kv_part *kp, uint64_t exp)
{
	if (exp > UINT32_MAX)
		exp = UINT32_MAX;
	if (exp != SK_KV_EXP_NEVER)
		kp->may_expire = 1;
	return (uint32_t)exp;
}

/* The same of a request's exptime, read as memcached reads it at @now. */
static uint32_t kv_own_exp(struct kv_part *kp, int32_t exptime, uint64_t now)
{
	return kv_own_exp_field(kp, sk_kv_exptime_abs(exptime, now));
}

/* kv_own_store, inlined into the handler of a peer's update too (a call
 * of eleven arguments was a tenth of a SET's own work). */
static inline __attribute__((always_inline)) enum sk_kv_res
kv_store_in(struct kv_part *kp, enum sk_kv_op op, const void *key,
	    size_t klen, const void *value, size_t vlen, uint32_t flags,
	    int32_t exptime, uint64_t cas, bool stale, const void *img,
	    uint64_t *cas_p)
{
	struct sk_kv_meta cur, req, out;
	struct sk_kv_item_view iv;
	const struct sk_kv_meta *curp = NULL;
	const void *a = value, *b = NULL;
	size_t alen = vlen, blen = 0;
	enum sk_kv_res r;
	uint64_t now = 0;
	uint32_t exp;
	int st;

	if (!sk_kv_value_ok(vlen))
		return SK_KV_ETOOLARGE;
	/* A set neither looks the key up (the store finds its slot itself)
	 * nor, without a relative expiry, reads the clock, nor has anything
	 * to decide: a key's hash and bucket search and a clock read less
	 * per set. */
	if (exptime > 0)
		now = kv_unix_ns() / 1000000000ull;
	out.flags = flags;
	out.exp = sk_kv_exptime_abs(exptime, now);
	out.stale = false;
	if (sk_kv_store_reads_cur(op)) {
		if (exptime <= 0)
			now = kv_unix_ns() / 1000000000ull;
		if (sk_kv_part_lookup(kp->part, key, klen, &iv) == 0 &&
		    !sk_kv_expired(iv.exptime, now)) {
			cur.flags = iv.flags;
			cur.exp = iv.exptime;
			cur.cas = iv.cas;
			curp = &cur;
		}
		req = out;
		req.cas = cas;
		req.stale = stale;
		r = sk_kv_store_decide(op, curp, curp ? iv.vlen : 0, &req,
				       vlen, &out);
		if (r != SK_KV_STORED)
			return r;
	}
	/* The joined value: the old bytes stay in the region (the old item
	 * is only retired by the set) while the new item is built. */
	if (op == SK_KV_APPEND) {
		a = iv.value, alen = iv.vlen;
		b = value, blen = vlen;
		img = NULL;
	} else if (op == SK_KV_PREPEND) {
		b = iv.value, blen = iv.vlen;
		img = NULL;
	}
	exp = kv_own_exp_field(kp, out.exp);
	/* An item the client built and sealed (a peer's set, add, replace or
	 * cas: its flags are the request's) is stored as it came; not a
	 * stale one (ms I), whose state the client sealed as 0. */
	if (out.stale)
		st = sk_kv_part_set_state(kp->part, key, klen, value, vlen,
					  NULL, 0, out.flags, exp,
					  SK_KV_ITEM_STALE |
						  (iv.state & SK_KV_ITEM_TOKEN),
					  kv_mono_ns(), cas_p);
	else if (img)
		st = sk_kv_part_put(kp->part, img, sk_kv_item_size(klen, vlen),
				    exp, kv_mono_ns(), cas_p);
	else
		st = sk_kv_part_set(kp->part, key, klen, a, alen, b, blen,
				    out.flags, exp, kv_mono_ns(), cas_p);
	switch (st) {
	case 0:
		return SK_KV_STORED;
	case SK_ERR_INVAL:
		return SK_KV_ETOOLARGE;
	default:
		/* Full pair, no chunk, or too much in quarantine: the last
		 * two may pass within Q (hold.c waits for that); else
		 * memcached -M's answer. */
		kv_own_full(kp, st);
		return SK_KV_ENOMEM;
	}
}

enum sk_kv_res kv_own_store(struct sk_kv *kv, struct kv_part *kp,
			    enum sk_kv_op op, const void *key, size_t klen,
			    const void *value, size_t vlen, uint32_t flags,
			    int32_t exptime, uint64_t cas, bool stale,
			    const void *img, uint64_t *cas_p)
{
	(void)kv;
	return kv_store_in(kp, op, key, klen, value, vlen, flags, exptime, cas,
			   stale, img, cas_p);
}

/* Republish the key's item with @exp and @state (sk_kv_part_restate):
 * SK_KV_OK, SK_KV_NOT_FOUND (it was evicted to make room for itself), or
 * SK_KV_ENOMEM with the lack of room noted, as kv_own_store's. */
static enum sk_kv_res kv_own_restate(struct kv_part *kp, const void *key,
				     size_t klen, uint32_t exp,
				     unsigned state, bool new_cas)
{
	int st = sk_kv_part_restate(kp->part, key, klen, exp, state, new_cas,
				    kv_mono_ns(), NULL);

	if (st == SK_KV_ERR_NOT_FOUND)
		return SK_KV_NOT_FOUND;
	if (st != 0) {
		kv_own_full(kp, st);
		return SK_KV_ENOMEM;
	}
	return SK_KV_OK;
}

enum sk_kv_res kv_own_delete(struct sk_kv *kv, struct kv_part *kp,
			     const void *key, size_t klen, uint64_t cas,
			     unsigned mode, int32_t exptime)
{
	uint64_t now = kv_unix_ns() / 1000000000ull;
	struct sk_kv_item_view iv;
	enum sk_kv_res r;
	int live;

	(void)kv;
	if (sk_kv_part_lookup(kp->part, key, klen, &iv) != 0)
		return SK_KV_NOT_FOUND;
	live = !sk_kv_expired(iv.exptime, now);
	if (live && cas != 0 && iv.cas != cas)
		return SK_KV_EXISTS;
	/* md I: the item stays, stale, with a new CAS; its token is free
	 * again for the next mg (memcached's set_stale). */
	if (live && (mode & KV_DELETE_STALE)) {
		r = kv_own_restate(kp, key, klen,
				   mode & KV_DELETE_TTL ?
					   kv_own_exp(kp, exptime, now) :
					   iv.exptime,
				   (iv.state | SK_KV_ITEM_STALE) &
					   ~SK_KV_ITEM_TOKEN,
				   true);
		return r == SK_KV_OK ? SK_KV_DELETED : r;
	}
	/* An expired item goes too, but memcached answers NOT_FOUND. */
	if (sk_kv_part_delete(kp->part, key, klen, kv_mono_ns()) != 0)
		return SK_KV_NOT_FOUND;
	return live ? SK_KV_DELETED : SK_KV_NOT_FOUND;
}

/*
 * incr/decr (sem.h's sk_kv_delta): the new number's digits, padded with
 * spaces to the old length when they fit (memcached rewrites the value in
 * place then), as a new item with the old flags and expiry and a new CAS.
 * Items are immutable once published, so "in place" is memcached's value,
 * not its memory: the new item goes out of place as every update does.
 */
enum sk_kv_res kv_own_delta(struct sk_kv *kv, struct kv_part *kp,
			    const void *key, size_t klen, bool incr,
			    uint64_t delta, uint64_t cas, uint64_t *value_p,
			    uint64_t *cas_p, uint32_t *exptime_p,
			    bool *grew_p)
{
	uint64_t now = kv_unix_ns() / 1000000000ull, v;
	char digits[SK_KV_U64_DIGITS], pad_small[64], *pad = pad_small;
	struct sk_kv_item_view iv;
	size_t nd, new_len, plen;
	enum sk_kv_res r;
	int st;

	(void)kv;
	if (sk_kv_part_lookup(kp->part, key, klen, &iv) != 0 ||
	    sk_kv_expired(iv.exptime, now))
		return SK_KV_NOT_FOUND;
	/* memcached's order: an empty value or one it keeps in chunks is
	 * no number before any CAS test (sem.h), and the CAS is tested
	 * before the digits are read. */
	if (iv.vlen == 0 || sk_kv_mc_chunked(klen, iv.flags, iv.vlen))
		return SK_KV_ENONNUM;
	if (cas != 0 && iv.cas != cas)
		return SK_KV_EXISTS;
	r = sk_kv_delta(iv.value, iv.vlen, incr, delta, &v, digits, &nd,
			&new_len);
	if (r != SK_KV_OK)
		return r;
	/* The padding: up to the old length, which may be up to 1 MiB of a
	 * number padded with spaces. */
	plen = new_len - nd;
	if (plen > sizeof(pad_small)) {
		pad = malloc(plen);
		if (pad == NULL)
			return SK_KV_ENOMEM_DELTA;
	}
	memset(pad, ' ', plen);
	/* iv.value stays valid during the set: the old item is only retired
	 * by it, and sk_kv_delta already read it. */
	/* memcached rewrites a number that fits in place, item flags and
	 * all (a stale item stays stale); a longer one is a new item. */
	st = sk_kv_part_set_state(kp->part, key, klen, digits, nd, pad, plen,
				  iv.flags, iv.exptime,
				  new_len == iv.vlen ? iv.state : 0,
				  kv_mono_ns(), cas_p);
	if (pad != pad_small)
		free(pad);
	if (st != 0) {
		kv_own_full(kp, st); /* no room, as kv_own_store */
		return SK_KV_ENOMEM_DELTA;
	}
	*value_p = v;
	if (exptime_p)
		*exptime_p = iv.exptime;
	if (grew_p)
		*grew_p = new_len != iv.vlen;
	return SK_KV_OK;
}

/* mg R: an item of expiry @exp (0 never) whose token is free is won when
 * it expires before @recache, read as an exptime (memcached compares
 * it->exptime < realtime(R); an R of 0 or below never wins). */
static bool kv_own_recache(uint32_t exp, int32_t recache, uint64_t now)
{
	return exp != SK_KV_EXP_NEVER &&
	       (uint64_t)exp < sk_kv_exptime_abs(recache, now);
}

/*
 * touch, gat and mg (kv_int.h's KV_TOUCH_* in @mode): the live item gets
 * the new expiry with TTL (an exptime already past makes it expire at
 * once; gat still answers with it, as memcached 1.6.18 does) and keeps
 * its CAS; with WIN a stale item whose token no mg has won yet gives it
 * to this one (memcached's mg: X and W), and with VIVIFY a miss creates
 * an empty item (flags 0, expiry @vivify) whose token this one wins (mg
 * N). With RECACHE an item whose token is free wins it too when it
 * expires before @recache (mg R; its expiry before or after the TTL's,
 * as RECACHE_OLD says). Any change republishes the item
 * (sk_kv_part_restate).
 */
enum sk_kv_res kv_own_touch(struct sk_kv *kv, struct kv_part *kp,
			    const void *key, size_t klen, unsigned mode,
			    int32_t exptime, int32_t vivify, int32_t recache,
			    struct sk_kv_item_view *item_p, unsigned *state_p,
			    uint32_t *before_p)
{
	uint64_t now = kv_unix_ns() / 1000000000ull;
	struct sk_kv_item_view iv;
	unsigned state, new_state;
	uint32_t exp, before;
	enum sk_kv_res r;
	int st;

	(void)kv;
	if (sk_kv_part_lookup(kp->part, key, klen, &iv) != 0 ||
	    sk_kv_expired(iv.exptime, now)) {
		if (!(mode & KV_TOUCH_VIVIFY))
			return SK_KV_NOT_FOUND;
		before = kv_own_exp(kp, vivify, now);
		st = sk_kv_part_set_state(kp->part, key, klen, NULL, 0, NULL,
					  0, 0, before,
					  SK_KV_ITEM_TOKEN, kv_mono_ns(),
					  NULL);
		if (st != 0) {
			kv_own_full(kp, st);
			return SK_KV_ENOMEM;
		}
		state = SK_KV_STATE_WON | SK_KV_STATE_CREATED;
	} else {
		state = iv.state;
		new_state = iv.state;
		exp = before = iv.exptime;
		if (mode & KV_TOUCH_TTL)
			exp = kv_own_exp(kp, exptime, now);
		if (!(iv.state & SK_KV_ITEM_TOKEN) &&
		    (((mode & KV_TOUCH_WIN) &&
		      (iv.state & SK_KV_ITEM_STALE)) ||
		     ((mode & KV_TOUCH_RECACHE) &&
		      kv_own_recache(mode & KV_TOUCH_RECACHE_OLD ?
					     iv.exptime :
					     exp,
				     recache, now)))) {
			new_state |= SK_KV_ITEM_TOKEN;
			state |= SK_KV_STATE_WON;
		}
		if ((mode & KV_TOUCH_TTL) || new_state != iv.state) {
			r = kv_own_restate(kp, key, klen, exp, new_state,
					   false);
			if (r != SK_KV_OK)
				return r;
		}
	}
	if (!(mode & KV_TOUCH_ANSWER))
		return SK_KV_TOUCHED;
	if (sk_kv_part_lookup(kp->part, key, klen, item_p) != 0)
		return SK_KV_NOT_FOUND; /* cannot be: it was just published */
	*state_p = state;
	*before_p = before;
	return SK_KV_OK;
}

/* ---- the handlers: bytes from a peer, checked before use ---- */

/* The partition of a key in a request, if this node owns it; NULL for a
 * key that is not this node's (a peer with another map). */
static inline __attribute__((always_inline)) struct kv_part *
kv_req_part(struct sk_kv *kv, const void *key, size_t klen)
{
	uint64_t h = sk_kv_key_hash(&kv->hkey, key, klen);
	struct kv_part *kp = &kv->parts[sk_kv_partition_of(h, kv->nparts)];

	if (kp->part == NULL)
		return NULL;
	/* The store's calls for this request hash the key no more (the
	 * handler forgets it before the request's bytes can go). */
	sk_kv_part_hash_known(kp->part, key, klen, h);
	return kp;
}

void kv_h_desc(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct kv_desc_req q;
	struct kv_desc_hdr *h;
	const void *data;
	size_t len, cap, off;
	uint32_t count = 0;
	char *out;

	data = sk_rpc_req_data(req, &len);
	if (kv_dec_desc_req(data, len, &q) != 0) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	if (!kv->ready || q.epoch != kv->epoch) {
		sk_rpc_respond(req, kv->ready ? -ESTALE : -EAGAIN, 0);
		return;
	}
	cap = sizeof(*h);
	for (uint32_t p = 0; p < kv->nparts; p++)
		if (kv->parts[p].part)
			cap += sizeof(struct kv_desc_ent) + SK_BLOB_MAX;
	out = sk_rpc_resp_buf(req, cap);
	if (out == NULL) {
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	off = sizeof(*h);
	for (uint32_t p = 0; p < kv->nparts; p++) {
		struct kv_part *kp = &kv->parts[p];
		struct kv_desc_ent e;
		size_t dlen = SK_BLOB_MAX;

		if (kp->part == NULL)
			continue;
		if (sk_mr_pack(kp->region.mr, out + off + sizeof(e),
			       &dlen) != SK_OK) {
			sk_rpc_respond(req, -EIO, 0);
			return;
		}
		memset(&e, 0, sizeof(e));
		e.partition = p;
		e.desc_len = (uint32_t)dlen;
		e.base = (uintptr_t)kp->region.base;
		memcpy(&e.hdr, kp->region.base, sizeof(e.hdr));
		memcpy(out + off, &e, sizeof(e));
		off += sizeof(e) + ((dlen + 7) & ~(size_t)7);
		count++;
	}
	h = (struct kv_desc_hdr *)out;
	h->magic = KV_WIRE_MAGIC;
	h->epoch = kv->epoch;
	h->count = count;
	h->unix_ns = kv_unix_ns();
	sk_rpc_respond(req, 0, off);
}

/*
 * The partition of a decoded request's key, which must be this node's;
 * else the request is answered -ESTALE (not ready, or a peer with another
 * map) and NULL returned.
 */
static inline __attribute__((always_inline)) struct kv_part *
kv_req_take(struct sk_kv *kv, struct sk_rpc_req *req, const char *key,
	    uint32_t klen)
{
	struct kv_part *kp = kv->ready ? kv_req_part(kv, key, klen) : NULL;

	if (kp == NULL)
		sk_rpc_respond(req, -ESTALE, 0);
	return kp;
}

/* The SK_KV_OK answer of a get or gat: kv_get_resp and the value. */
static void kv_respond_item(struct sk_rpc_req *req,
			    const struct sk_kv_item_view *iv, unsigned state,
			    uint32_t before)
{
	struct kv_get_resp *a = sk_rpc_resp_buf(req, sizeof(*a) + iv->vlen);

	if (a == NULL) {
		/* The caller's buffer cannot take it. */
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return;
	}
	a->flags = iv->flags;
	a->vlen = iv->vlen;
	a->cas = iv->cas;
	a->exptime = iv->exptime;
	a->state = state;
	a->exptime_before = before;
	a->reserved = 0;
	memcpy(a + 1, iv->value, iv->vlen);
	sk_rpc_respond(req, SK_KV_OK, sizeof(*a) + iv->vlen);
}

void kv_h_get(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct sk_kv_item_view iv;
	struct kv_key_msg m;
	struct kv_part *kp;
	const void *data;
	enum sk_kv_res r;
	size_t len;

	data = sk_rpc_req_data(req, &len);
	if (kv_dec_key(data, len, &m) != 0 || !kv_key_ok(kv, m.key, m.klen)) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	if ((kp = kv_req_take(kv, req, m.key, m.klen)) == NULL)
		return;
	r = kv_own_get(kv, kp, m.key, m.klen, &iv);
	sk_kv_part_hash_forget(kp->part);
	if (r != SK_KV_OK) {
		sk_rpc_respond(req, r, 0);
		return;
	}
	kv_respond_item(req, &iv, iv.state, iv.exptime);
}

/*
 * The updates. Each kv_serve_* answers a decoded request and returns true,
 * or returns false, unanswered, when it found no room but may by waiting
 * (kv_own_must_wait): hold.c holds it and serves it again later
 * (kv_serve_again). While a partition holds updates, its later ones wait
 * behind them, in order.
 */
static inline __attribute__((always_inline)) bool
kv_serve_store(struct sk_kv *kv, struct kv_part *kp, struct sk_rpc_req *req,
	       const struct kv_store_msg *m)
{
	struct kv_cas_resp *a;
	enum sk_kv_res r;
	uint64_t cas = 0;

	(void)kv;
	r = kv_store_in(kp, m->op, m->key, m->klen, m->value, m->vlen,
			m->flags, m->exptime, m->cas, m->stale, m->img, &cas);
	if (r != SK_KV_STORED || (a = sk_rpc_resp_buf(req, sizeof(*a))) == NULL) {
		if (kv_own_must_wait(kp, r))
			return false;
		sk_rpc_respond(req, r, 0);
		return true;
	}
	a->cas = cas;
	sk_rpc_respond(req, r, sizeof(*a));
	return true;
}

static bool kv_serve_delete(struct sk_kv *kv, struct kv_part *kp,
			    struct sk_rpc_req *req,
			    const struct kv_delete_msg *m)
{
	enum sk_kv_res r = kv_own_delete(kv, kp, m->key, m->klen, m->cas,
					 m->mode, m->exptime);

	if (kv_own_must_wait(kp, r))
		return false; /* md I found no room to republish */
	sk_rpc_respond(req, r, 0);
	return true;
}

static bool kv_serve_delta(struct sk_kv *kv, struct kv_part *kp,
			   struct sk_rpc_req *req, const struct kv_delta_msg *m)
{
	struct kv_delta_resp *a;
	uint64_t value = 0, cas = 0;
	uint32_t exptime = 0;
	bool grew = false;
	enum sk_kv_res r;

	r = kv_own_delta(kv, kp, m->key, m->klen, m->incr, m->delta, m->cas,
			 &value, &cas, &exptime, &grew);
	if (r != SK_KV_OK) {
		if (kv_own_must_wait(kp, r))
			return false;
		sk_rpc_respond(req, r, 0);
		return true;
	}
	a = sk_rpc_resp_buf(req, sizeof(*a));
	if (a == NULL) {
		/* Done, but the caller cannot take the answer. */
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return true;
	}
	a->value = value;
	a->cas = cas;
	a->exptime = exptime;
	a->grew = grew;
	sk_rpc_respond(req, r, sizeof(*a));
	return true;
}

static bool kv_serve_touch(struct sk_kv *kv, struct kv_part *kp,
			   struct sk_rpc_req *req, const struct kv_touch_msg *m)
{
	struct sk_kv_item_view iv;
	unsigned state = 0;
	uint32_t before = 0;
	enum sk_kv_res r;

	/* An answer that will not fit the caller's buffer is sent back for
	 * a larger one before anything changes: done now, the touch would
	 * already have expired the item that the second try asks for, or
	 * the token it won would be another's Z. */
	if ((m->mode & KV_TOUCH_ANSWER) &&
	    kv_own_get(kv, kp, m->key, m->klen, &iv) == SK_KV_OK &&
	    sk_rpc_resp_buf(req, sizeof(struct kv_get_resp) + iv.vlen) ==
		    NULL) {
		sk_rpc_respond(req, -EMSGSIZE, 0);
		return true;
	}
	r = kv_own_touch(kv, kp, m->key, m->klen, m->mode, m->exptime,
			 m->vivify, m->recache, &iv, &state, &before);
	if (r != SK_KV_OK) {
		if (kv_own_must_wait(kp, r))
			return false;
		sk_rpc_respond(req, r, 0);
		return true;
	}
	kv_respond_item(req, &iv, state, before);
	return true;
}

/* An update's message, decoded by its KV_RPC_* id. */
union kv_update {
	struct kv_store_msg store;
	struct kv_delete_msg del;
	struct kv_delta_msg delta;
	struct kv_touch_msg touch;
};

/* Decode @req as update @id into *@m and point *@key_p and *@klen_p at
 * its key; 0 or -EPROTO. Inlined where @id is a constant (the handlers),
 * so that a SET pays for no switch (the shared handler cost about 60
 * instructions a SET as calls). */
static inline __attribute__((always_inline)) int kv_dec_update(uint16_t id, struct sk_rpc_req *req,
			 union kv_update *m, const char **key_p,
			 uint32_t *klen_p)
{
	size_t len;
	const void *data = sk_rpc_req_data(req, &len);

	switch (id) {
	case KV_RPC_STORE:
		if (kv_dec_store(data, len, &m->store) != 0)
			return -EPROTO;
		*key_p = m->store.key, *klen_p = m->store.klen;
		return 0;
	case KV_RPC_DELETE:
		if (kv_dec_delete(data, len, &m->del) != 0)
			return -EPROTO;
		*key_p = m->del.key, *klen_p = m->del.klen;
		return 0;
	case KV_RPC_DELTA:
		if (kv_dec_delta(data, len, &m->delta) != 0)
			return -EPROTO;
		*key_p = m->delta.key, *klen_p = m->delta.klen;
		return 0;
	case KV_RPC_TOUCH:
		if (kv_dec_touch(data, len, &m->touch) != 0)
			return -EPROTO;
		*key_p = m->touch.key, *klen_p = m->touch.klen;
		return 0;
	default:
		return -EPROTO;
	}
}

static inline __attribute__((always_inline)) bool
kv_serve_update(struct sk_kv *kv, struct kv_part *kp, struct sk_rpc_req *req,
		uint16_t id, const union kv_update *m)
{
	switch (id) {
	case KV_RPC_STORE:
		return kv_serve_store(kv, kp, req, &m->store);
	case KV_RPC_DELETE:
		return kv_serve_delete(kv, kp, req, &m->del);
	case KV_RPC_DELTA:
		return kv_serve_delta(kv, kp, req, &m->delta);
	default:
		return kv_serve_touch(kv, kp, req, &m->touch);
	}
}

/* hold.c's kv_serve_fn for a peer's held update (@id its KV_RPC_*). */
static bool kv_serve_again(struct sk_kv *kv, struct kv_part *kp, void *r,
			   uint16_t id, enum kv_serve_how how)
{
	struct sk_rpc_req *req = r;
	union kv_update m;
	const char *key;
	uint32_t klen;

	if (how == KV_END_CLOSED) {
		sk_rpc_respond(req, -ESHUTDOWN, 0);
		return true;
	}
	if (how == KV_END_NOMEM) {
		sk_rpc_respond(req, id == KV_RPC_DELTA ? SK_KV_ENOMEM_DELTA :
							SK_KV_ENOMEM, 0);
		return true;
	}
	/* A failed peer's update is dropped: it was told the owner's
	 * fate is unknown (SK_ERR_UNREACHABLE), and may have moved on. */
	if (sk_rpc_peer_failed(sk_rpc_req_peer(req))) {
		sk_rpc_respond(req, -ECONNRESET, 0);
		return true;
	}
	/* The same bytes decoded before they were held: they decode. */
	if (kv_dec_update(id, req, &m, &key, &klen) != 0)
		return true;
	return kv_serve_update(kv, kp, req, id, &m);
}

/* A peer's update @id: decoded, its partition taken, then served, or
 * held behind the partition's held ones (or for room). */
static inline __attribute__((always_inline)) void
kv_h_update(struct sk_rpc_req *req, struct sk_kv *kv, uint16_t id)
{
	union kv_update m;
	struct kv_part *kp;
	const char *key;
	uint32_t klen;

	if (kv_dec_update(id, req, &m, &key, &klen) != 0 ||
	    !kv_key_ok(kv, key, klen)) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	if ((kp = kv_req_take(kv, req, key, klen)) == NULL)
		return;
	if (kv_hold_busy(kp) || !kv_serve_update(kv, kp, req, id, &m))
		kv_hold(kv, kp, req, id, kv_serve_again);
	sk_kv_part_hash_forget(kp->part);
}

void kv_h_store(struct sk_rpc_req *req, void *arg)
{
	kv_h_update(req, arg, KV_RPC_STORE);
}

void kv_h_delete(struct sk_rpc_req *req, void *arg)
{
	kv_h_update(req, arg, KV_RPC_DELETE);
}

void kv_h_delta(struct sk_rpc_req *req, void *arg)
{
	kv_h_update(req, arg, KV_RPC_DELTA);
}

void kv_h_touch(struct sk_rpc_req *req, void *arg)
{
	kv_h_update(req, arg, KV_RPC_TOUCH);
}

void kv_h_hint(struct sk_rpc_req *req, void *arg)
{
	struct sk_kv *kv = arg;
	struct kv_hint_msg m;
	const void *data;
	size_t len;

	data = sk_rpc_req_data(req, &len);
	if (kv_dec_hint(data, len, &m) != 0) {
		sk_rpc_respond(req, -EPROTO, 0);
		return;
	}
	/* Hints for partitions this node does not hold (or not yet) are
	 * dropped: they are advice, never needed for correctness. */
	for (uint32_t i = 0; kv->ready && i < m.count; i++) {
		uint64_t h = kv_hint_hash(&m, i);
		struct kv_part *kp = &kv->parts[sk_kv_partition_of(h,
								   kv->nparts)];

		if (kp->part)
			kv_evict_hint(kv, kp, h);
	}
	sk_rpc_respond(req, 0, 0);
}
