/*
 * kv_job: kv inside a real skrun job, written from kv.h, rpc.h and os.h
 * alone, as an application would (tests/e2e/jobs.sh runs it).
 *
 *   all     every rank sets KEYS keys of its own, values of 0..8 KiB made
 *           from the key (so a wrong, stale or torn value is caught),
 *           then every rank GETs every key of every rank and checks it;
 *           each rank deletes every tenth of its keys, and every rank
 *           checks that those miss and the rest still hit. Then the
 *           limits, on rank 0's keys read from every rank: a 250-byte key
 *           is stored and read, a 251-byte one and one with a space are
 *           refused (EFORMAT); a value of SK_KV_VALUE_MAX bytes is stored
 *           and read back, one byte more is refused (ETOOLARGE).
 *           Then every storage command and incr/decr/touch/gat with
 *           memcached's corner cases, incr/decr/delete with a CAS to
 *           match, once on a key this rank owns (in
 *           place) and once on a key of the next rank (over the fabric);
 *           then batches (sk_kv_batch): GETs and SETs mixed, past
 *           SK_KV_INFLIGHT_MAX, exactly at it, with a refused request
 *           among them, and requests driven by sk_kv_progress alone.
 *
 *   gone    every rank sets KEYS keys of its own; rank 1 then closes its
 *           kv and ends, while the others GET every key:
 *           those of rank 1's partitions fail with SK_ERR_UNREACHABLE,
 *           and so do sets of them; the rest are read and checked.
 *
 *   hostile every rank sets KEYS keys of its own; rank 0 then sends
 *           random bytes of random lengths (0 .. 9000, so some go by
 *           RDMA) to every kv handler id of every other rank (the first
 *           five, then the other eleven of kv's sixteen, each counted on
 *           a line of its own); none may crash or hang an owner or be
 *           taken, and every key still reads back whole.
 *
 *   anykeys the table opened with sk_kv_attr.any_keys (memcached's own
 *           key rule, skcached's): every rank sets keys holding control
 *           bytes, a space, DEL and NUL (memaslap's start with 0x10s),
 *           every rank reads every rank's back and checks them, deletes
 *           its own; a 251-byte key and an empty one are still refused.
 *
 * Each rank prints one line of counts ("rank R: ... ok") or says what
 * failed and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <skiff/kv.h>
#include <skiff/os.h>
#include <skiff/rpc.h>

#define KEYS 200u
#define VMAX 8192u

#include "job.h"

static size_t key_of(char *buf, unsigned rank, unsigned i)
{
	return (size_t)sprintf(buf, "kvjob:%u:%u", rank, i);
}

static size_t vlen_of(unsigned i)
{
	return (size_t)i * VMAX / (KEYS - 1); /* 0 .. 8192 */
}

/* FNV-1a of the key seeds the value's bytes: each value checks itself
 * against its key. */
static uint64_t seed_of(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < klen; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void fill(unsigned char *v, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		v[i] = (unsigned char)seed;
	}
}

static int check(const unsigned char *v, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (v[i] != (unsigned char)seed)
			return -1;
	}
	return 0;
}

static const char *res_str(enum sk_kv_res r)
{
	const char *s = sk_kv_res_str(r);

	return s ? s : "(bad result)";
}

static void set_one(struct sk_kv *kv, const void *key, size_t klen,
		    const unsigned char *val, size_t vlen, uint32_t flags,
		    enum sk_kv_res want)
{
	enum sk_kv_res res;
	sk_status_t st;

	st = sk_kv_set(kv, key, klen, val, vlen, flags, 0, &res);
	if (st != SK_OK)
		FAIL("set of a %zu-byte key, %zu-byte value: %s", klen, vlen,
		     sk_status_str(st));
	if (res != want)
		FAIL("set of a %zu-byte key, %zu-byte value: %s, not %s",
		     klen, vlen, res_str(res), res_str(want));
}

/* GET and compare with what fill() made; want SK_KV_OK or
 * SK_KV_NOT_FOUND. */
static void get_one(struct sk_kv *kv, const void *key, size_t klen,
		    unsigned char *buf, size_t cap, size_t want_len,
		    uint32_t want_flags, enum sk_kv_res want)
{
	enum sk_kv_res res;
	uint32_t flags = 0;
	size_t vlen = 0;
	sk_status_t st;

	st = sk_kv_get(kv, key, klen, buf, cap, &vlen, &flags, NULL, &res);
	if (st != SK_OK)
		FAIL("get of %.*s: %s", (int)(klen > 40 ? 40 : klen),
		     (const char *)key, sk_status_str(st));
	if (res != want)
		FAIL("get of %.*s: %s, not %s", (int)(klen > 40 ? 40 : klen),
		     (const char *)key, res_str(res), res_str(want));
	if (want != SK_KV_OK)
		return;
	if (vlen != want_len || flags != want_flags ||
	    check(buf, vlen, seed_of(key, klen)) != 0)
		FAIL("get of %.*s: %zu bytes, flags %" PRIu32 "%s (want %zu "
		     "bytes, flags %" PRIu32 ")", (int)(klen > 40 ? 40 : klen),
		     (const char *)key, vlen, flags,
		     vlen == want_len ? ", corrupted" : "", want_len,
		     want_flags);
}

/* A key of rank r with every byte kv's default rule refuses (any_keys). */
static size_t odd_key_of(char *buf, unsigned rank, unsigned i)
{
	size_t n = (size_t)sprintf(buf, "\x10\x10odd %u:%u\x01\t\x7f", rank,
				   i);

	buf[n++] = '\0';
	buf[n++] = '\r';
	buf[n++] = '\n';
	return n;
}

static void del_one(struct sk_kv *kv, const void *key, size_t klen,
		    enum sk_kv_res want)
{
	enum sk_kv_res res;
	sk_status_t st;

	st = sk_kv_delete(kv, key, klen, &res);
	if (st != SK_OK)
		FAIL("delete: %s", sk_status_str(st));
	if (res != want)
		FAIL("delete of a %zu-byte key: %s, not %s", klen,
		     res_str(res), res_str(want));
}

static void barrier(void)
{
	if (sk_os_barrier() != 0)
		FAIL("barrier failed");
}

static void limits(struct sk_kv *kv, unsigned char *big)
{
	char key[SK_KV_KEY_MAX + 2];
	enum sk_kv_res res;
	sk_status_t st;

	memset(key, 'k', sizeof(key));
	if (me == 0) {
		fill(big, SK_KV_KEY_MAX, seed_of(key, SK_KV_KEY_MAX));
		set_one(kv, key, SK_KV_KEY_MAX, big, SK_KV_KEY_MAX, 250,
			SK_KV_STORED);
		fill(big, SK_KV_VALUE_MAX, seed_of("big", 3));
		set_one(kv, "big", 3, big, SK_KV_VALUE_MAX, 7, SK_KV_STORED);
	}
	/* Refused by every rank, before any owner is asked. */
	set_one(kv, key, SK_KV_KEY_MAX + 1, big, 1, 0, SK_KV_EFORMAT);
	set_one(kv, "a key", 5, big, 1, 0, SK_KV_EFORMAT);
	set_one(kv, "big2", 4, big, SK_KV_VALUE_MAX + 1, 0, SK_KV_ETOOLARGE);
	del_one(kv, key, SK_KV_KEY_MAX + 1, SK_KV_EFORMAT);
	st = sk_kv_get(kv, key, SK_KV_KEY_MAX + 1, big, 1, NULL, NULL, NULL,
		       &res);
	if (st != SK_OK || res != SK_KV_EFORMAT)
		FAIL("get of a 251-byte key: %s, %s", sk_status_str(st),
		     res_str(res));
	barrier();
	get_one(kv, key, SK_KV_KEY_MAX, big, SK_KV_VALUE_MAX, SK_KV_KEY_MAX,
		250, SK_KV_OK);
	get_one(kv, "big", 3, big, SK_KV_VALUE_MAX, SK_KV_VALUE_MAX, 7, SK_KV_OK);
	get_one(kv, "big2", 4, big, SK_KV_VALUE_MAX, 0, 0, SK_KV_NOT_FOUND);
}

/* ---- every command, in place and over the fabric ---- */

/* A key named after @tag that rank @owner owns. */
static size_t key_owned(struct sk_kv *kv, char *buf, const char *tag,
			unsigned owner)
{
	for (unsigned j = 0;; j++) {
		size_t klen = (size_t)sprintf(buf, "ops:%u:%s:%u", me, tag, j);

		if (sk_kv_owner_of(kv, buf, klen) == owner)
			return klen;
	}
}

#define WANT(what, st, res, want) do {                                  \
	if ((st) != SK_OK || (res) != (want))                           \
		FAIL("%s (owner %u): %s, %s, not %s", what, owner,      \
		     sk_status_str(st), res_str(res), res_str(want));   \
} while (0)

static void store_want(struct sk_kv *kv, unsigned owner, const char *what,
		       enum sk_kv_op op, const char *key, size_t klen,
		       const void *v, size_t vlen, uint64_t cas,
		       uint64_t *cas_p, enum sk_kv_res want)
{
	enum sk_kv_res res = SK_KV_ERROR;
	sk_status_t st;

	st = sk_kv_store(kv, op, key, klen, v, vlen, 5, 0, cas, cas_p, &res);
	WANT(what, st, res, want);
}

/* GET @key and compare with the @len bytes at @want. */
static void get_want(struct sk_kv *kv, unsigned owner, const char *what,
		     const char *key, size_t klen, const void *want,
		     size_t len, unsigned char *buf, size_t cap,
		     uint64_t *cas_p)
{
	enum sk_kv_res res = SK_KV_ERROR;
	size_t vlen = 0;
	sk_status_t st;

	st = sk_kv_get(kv, key, klen, buf, cap, &vlen, NULL, cas_p, &res);
	WANT(what, st, res, SK_KV_OK);
	if (vlen != len || memcmp(buf, want, len) != 0)
		FAIL("%s (owner %u): %zu bytes, not the %zu written", what,
		     owner, vlen, len);
}

/* One request through the asynchronous API. */
static void one_want(struct sk_kv *kv, unsigned owner, const char *what,
		     struct sk_kv_req *r, enum sk_kv_res want)
{
	sk_status_t st = sk_kv_batch(kv, r, 1);

	if (st == SK_OK)
		st = r->status;
	WANT(what, st, r->res, want);
}

/*
 * incr, decr and delete with a CAS to match (struct sk_kv_req's cas, as
 * memcached's ma C, md C and binary incr/delete take one): another CAS is
 * refused with SK_KV_EXISTS and the item kept; the item's own is taken,
 * and incr/decr answer the new item's CAS and expiry.
 */
static void cas_ops(struct sk_kv *kv, unsigned owner, const char *num,
		    size_t nl)
{
	unsigned char buf[64];
	struct sk_kv_req r;
	enum sk_kv_res res = SK_KV_ERROR;
	uint64_t cas = 0, cas2 = 0;
	long long lo, hi;
	sk_status_t st;

	lo = (long long)time(NULL) + 3600 - 60;
	st = sk_kv_store(kv, SK_KV_SET, num, nl, "41", 2, 0, 3600, 0, &cas,
			 &res);
	WANT("set of 41 for 3600 s", st, res, SK_KV_STORED);
	hi = (long long)time(NULL) + 3600 + 60;
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_INCR, .key = num, .klen = nl,
			       .delta = 1, .cas = cas + 1};
	one_want(kv, owner, "incr with another CAS", &r, SK_KV_EXISTS);
	get_want(kv, owner, "get after incr with another CAS", num, nl, "41",
		 2, buf, sizeof(buf), NULL);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_DECR, .key = num, .klen = nl,
			       .delta = 1, .cas = cas};
	one_want(kv, owner, "decr with its CAS", &r, SK_KV_OK);
	if (r.number != 40 || r.cas == cas || r.cas == 0)
		FAIL("decr with its CAS (owner %u): %" PRIu64 ", CAS %" PRIu64
		     " after %" PRIu64, owner, r.number, r.cas, cas);
	if ((long long)r.expiry < lo || (long long)r.expiry > hi)
		FAIL("decr with its CAS (owner %u): expiry %u, not %lld..%lld",
		     owner, r.expiry, lo, hi);
	cas2 = 0;
	st = sk_kv_get(kv, num, nl, buf, sizeof(buf), NULL, NULL, &cas2, &res);
	WANT("get after decr", st, res, SK_KV_OK);
	if (cas2 != r.cas)
		FAIL("get after decr (owner %u): CAS %" PRIu64 ", decr said %"
		     PRIu64, owner, cas2, r.cas);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_DELETE, .key = num,
			       .klen = nl, .cas = cas};
	one_want(kv, owner, "delete with the old CAS", &r, SK_KV_EXISTS);
	get_want(kv, owner, "get after delete with the old CAS", num, nl,
		 "40", 2, buf, sizeof(buf), NULL);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_DELETE, .key = num,
			       .klen = nl, .cas = cas2};
	one_want(kv, owner, "delete with its CAS", &r, SK_KV_DELETED);
	st = sk_kv_get(kv, num, nl, buf, sizeof(buf), NULL, NULL, NULL, &res);
	WANT("get after delete with its CAS", st, res, SK_KV_NOT_FOUND);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_INCR, .key = num, .klen = nl,
			       .delta = 1, .cas = cas2};
	one_want(kv, owner, "incr with a CAS on an absent key", &r,
		 SK_KV_NOT_FOUND);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_DELETE, .key = num,
			       .klen = nl, .cas = cas2};
	one_want(kv, owner, "delete with a CAS of an absent key", &r,
		 SK_KV_NOT_FOUND);
	/* No CAS: any item; no expiry: 0. */
	store_want(kv, owner, "set of 7", SK_KV_SET, num, nl, "7", 1, 0, NULL,
		   SK_KV_STORED);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_INCR, .key = num, .klen = nl,
			       .delta = 2};
	one_want(kv, owner, "incr without a CAS", &r, SK_KV_OK);
	if (r.number != 9 || r.expiry != 0 || r.state != 0)
		FAIL("incr without a CAS (owner %u): %" PRIu64 ", expiry %u, "
		     "state %u", owner, r.number, r.expiry, r.state);
	/* 9 + 1 outgrows the value (SK_KV_STATE_GREW); 10 + 1 does not */
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_INCR, .key = num, .klen = nl,
			       .delta = 1};
	one_want(kv, owner, "incr past 9", &r, SK_KV_OK);
	if (r.number != 10 || r.state != SK_KV_STATE_GREW)
		FAIL("incr past 9 (owner %u): %" PRIu64 ", state %u", owner,
		     r.number, r.state);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_INCR, .key = num, .klen = nl,
			       .delta = 1};
	one_want(kv, owner, "incr of 10", &r, SK_KV_OK);
	if (r.number != 11 || r.state != 0)
		FAIL("incr of 10 (owner %u): %" PRIu64 ", state %u", owner,
		     r.number, r.state);
}

/* A GET or GAT with @meta: SK_KV_OK with @state, or SK_KV_NOT_FOUND. */
static void mget_want(struct sk_kv *kv, unsigned owner, const char *what,
		      const char *key, size_t klen, unsigned meta,
		      int32_t vivify, enum sk_kv_res want, unsigned state,
		      const char *value)
{
	unsigned char buf[64];
	struct sk_kv_req r = {
		.cmd = SK_KV_CMD_GET, .key = key, .klen = klen, .meta = meta,
		.vivify = vivify, .buf = buf, .cap = sizeof(buf),
	};

	one_want(kv, owner, what, &r, want);
	if (want != SK_KV_OK)
		return;
	if (r.state != state)
		FAIL("%s (owner %u): state %u, not %u", what, owner, r.state,
		     state);
	if (r.vlen != strlen(value) || memcmp(buf, value, r.vlen) != 0)
		FAIL("%s (owner %u): %zu bytes, not \"%s\"", what, owner,
		     r.vlen, value);
}

/* mg R (SK_KV_META_WIN | SK_KV_META_RECACHE) of @key's "v4": @state. */
static void mget_recache(struct sk_kv *kv, unsigned owner, const char *what,
			 const char *key, size_t klen, int32_t recache,
			 unsigned state)
{
	unsigned char buf[64];
	struct sk_kv_req r = {
		.cmd = SK_KV_CMD_GET, .key = key, .klen = klen,
		.meta = SK_KV_META_WIN | SK_KV_META_RECACHE,
		.recache = recache, .buf = buf, .cap = sizeof(buf),
	};

	one_want(kv, owner, what, &r, SK_KV_OK);
	if (r.state != state || r.vlen != 2 || memcmp(buf, "v4", 2) != 0)
		FAIL("%s (owner %u): state %u, not %u", what, owner, r.state,
		     state);
}

/*
 * memcached's stale items and win tokens through struct sk_kv_req's meta
 * (kv.h): mg N creates and wins, a later mg sees the token taken; md I
 * (DELETE | SK_KV_META_INVALIDATE) keeps the item stale, the next mg wins
 * it, the one after does not; ms I (a cas with an older CAS) stores it
 * stale; a set clears it. A plain GET never wins.
 */
static void meta_ops(struct sk_kv *kv, unsigned owner)
{
	const unsigned W = SK_KV_META_WIN, N = SK_KV_META_WIN |
					      SK_KV_META_VIVIFY;
	const unsigned X = SK_KV_STATE_STALE, Z = SK_KV_STATE_TOKEN,
		       WON = SK_KV_STATE_WON, NEW = SK_KV_STATE_CREATED;
	struct sk_kv_req r;
	uint64_t cas = 0, cas2 = 0;
	char k[64];
	size_t kl;

	kl = key_owned(kv, k, "meta", owner);
	mget_want(kv, owner, "mg on a miss", k, kl, W, 0, SK_KV_NOT_FOUND, 0,
		  "");
	mget_want(kv, owner, "mg N on a miss", k, kl, N, 30, SK_KV_OK,
		  WON | NEW, "");
	mget_want(kv, owner, "mg N after it", k, kl, N, 30, SK_KV_OK, Z, "");
	mget_want(kv, owner, "get after mg N", k, kl, 0, 0, SK_KV_OK, Z, "");
	store_want(kv, owner, "set after mg N", SK_KV_SET, k, kl, "v1", 2, 0,
		   &cas, SK_KV_STORED);
	mget_want(kv, owner, "mg after the set", k, kl, W, 0, SK_KV_OK, 0,
		  "v1");
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_DELETE, .key = k, .klen = kl,
			       .meta = SK_KV_META_INVALIDATE,
			       .cas = cas + 1};
	one_want(kv, owner, "md I with another CAS", &r, SK_KV_EXISTS);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_DELETE, .key = k, .klen = kl,
			       .meta = SK_KV_META_INVALIDATE |
				       SK_KV_META_TTL,
			       .exptime = 600, .cas = cas};
	one_want(kv, owner, "md I T600", &r, SK_KV_DELETED);
	mget_want(kv, owner, "get of a stale item", k, kl, 0, 0, SK_KV_OK, X,
		  "v1");
	mget_want(kv, owner, "mg of a stale item", k, kl, W, 0, SK_KV_OK,
		  X | WON, "v1");
	mget_want(kv, owner, "mg of a stale item, won", k, kl, W, 0,
		  SK_KV_OK, X | Z, "v1");
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_GET, .key = k, .klen = kl};
	one_want(kv, owner, "get of the stale item's CAS", &r, SK_KV_OK);
	cas2 = r.cas;
	if (cas2 == cas || r.expiry == 0)
		FAIL("md I (owner %u): CAS %" PRIu64 " after %" PRIu64
		     ", expiry %u", owner, cas2, cas, r.expiry);
	/* ms I: the CAS from before md I is older: stored, stale */
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_STORE, .op = SK_KV_CAS,
			       .key = k, .klen = kl, .value = "v2", .vlen = 2,
			       .cas = cas};
	one_want(kv, owner, "cas with an old CAS", &r, SK_KV_EXISTS);
	r.meta = SK_KV_META_INVALIDATE;
	r.cas = cas;
	one_want(kv, owner, "ms I with an old CAS", &r, SK_KV_STORED);
	mget_want(kv, owner, "mg after ms I", k, kl, W, 0, SK_KV_OK, X | Z,
		  "v2");
	store_want(kv, owner, "set of a stale item", SK_KV_SET, k, kl, "v3",
		   2, 0, NULL, SK_KV_STORED);
	mget_want(kv, owner, "mg after the set", k, kl, W, 0, SK_KV_OK, 0,
		  "v3");
	/* mg R: an item of 600 s is won by R 1200, not by R 30 */
	store_want(kv, owner, "set for R", SK_KV_SET, k, kl, "v4", 2, 0,
		   NULL, SK_KV_STORED);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_TOUCH, .key = k, .klen = kl,
			       .exptime = 600};
	one_want(kv, owner, "touch for R", &r, SK_KV_TOUCHED);
	/* a GAT answers the expiry its touch replaced (mg's t before T);
	 * a GET's is its expiry */
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_GAT, .key = k, .klen = kl,
			       .exptime = 900, .meta = W};
	one_want(kv, owner, "gat of 900 s", &r, SK_KV_OK);
	if (r.expiry_before == 0 || r.expiry < r.expiry_before + 300 ||
	    r.expiry > r.expiry_before + 302)
		FAIL("gat (owner %u): expiry %u, before it %u", owner,
		     r.expiry, r.expiry_before);
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_GET, .key = k, .klen = kl};
	one_want(kv, owner, "get after the gat", &r, SK_KV_OK);
	if (r.expiry_before != r.expiry)
		FAIL("get (owner %u): expiry %u, before it %u", owner,
		     r.expiry, r.expiry_before);
	mget_recache(kv, owner, "mg R30", k, kl, 30, 0);
	mget_recache(kv, owner, "mg R1200", k, kl, 1200, WON);
	mget_recache(kv, owner, "mg R1200 again", k, kl, 1200, Z);
	/* Unknown meta bits are the caller's error. */
	r = (struct sk_kv_req){.cmd = SK_KV_CMD_GET, .key = k, .klen = kl,
			       .meta = 64};
	if (sk_kv_post(kv, &r) != SK_ERR_INVAL)
		FAIL("a GET with meta 64 was posted (owner %u)", owner);
}

static void semantics(struct sk_kv *kv, unsigned owner,
		      const unsigned char *big)
{
	char k[64], absent[64], num[64];
	size_t kl, al, nl, vlen = 0;
	enum sk_kv_res res = SK_KV_ERROR;
	unsigned char buf[64];
	uint64_t cas = 0, cas2 = 0, v = 0;
	sk_status_t st;

	kl = key_owned(kv, k, "k", owner);
	al = key_owned(kv, absent, "absent", owner);
	nl = key_owned(kv, num, "num", owner);

	store_want(kv, owner, "add", SK_KV_ADD, k, kl, "mid", 3, 0, NULL,
		   SK_KV_STORED);
	store_want(kv, owner, "add on a present key", SK_KV_ADD, k, kl, "x",
		   1, 0, NULL, SK_KV_NOT_STORED);
	store_want(kv, owner, "replace on an absent key", SK_KV_REPLACE,
		   absent, al, "x", 1, 0, NULL, SK_KV_NOT_STORED);
	store_want(kv, owner, "replace", SK_KV_REPLACE, k, kl, "MID", 3, 0,
		   NULL, SK_KV_STORED);
	store_want(kv, owner, "append", SK_KV_APPEND, k, kl, "-z", 2, 0,
		   NULL, SK_KV_STORED);
	store_want(kv, owner, "prepend", SK_KV_PREPEND, k, kl, "a-", 2, 0,
		   NULL, SK_KV_STORED);
	store_want(kv, owner, "append on an absent key", SK_KV_APPEND,
		   absent, al, "x", 1, 0, NULL, SK_KV_NOT_STORED);
	store_want(kv, owner, "prepend on an absent key", SK_KV_PREPEND,
		   absent, al, "x", 1, 0, NULL, SK_KV_NOT_STORED);
	get_want(kv, owner, "get after append and prepend", k, kl, "a-MID-z",
		 7, buf, sizeof(buf), &cas);
	/* append and prepend with a CAS: another is refused, the item's
	 * taken (memcached's binary and meta append) */
	store_want(kv, owner, "append with another CAS", SK_KV_APPEND, k, kl,
		   "!", 1, cas + 1, NULL, SK_KV_EXISTS);
	store_want(kv, owner, "prepend with another CAS", SK_KV_PREPEND, k,
		   kl, "!", 1, cas + 1, NULL, SK_KV_EXISTS);
	store_want(kv, owner, "append with its CAS", SK_KV_APPEND, k, kl, "+",
		   1, cas, &cas, SK_KV_STORED);
	get_want(kv, owner, "get after append with its CAS", k, kl,
		 "a-MID-z+", 8, buf, sizeof(buf), &cas);

	/* cas: a moved-on CAS, the right one, an absent key. */
	store_want(kv, owner, "cas with another CAS", SK_KV_CAS, k, kl, "c1",
		   2, cas + 1, NULL, SK_KV_EXISTS);
	store_want(kv, owner, "cas", SK_KV_CAS, k, kl, "c2", 2, cas, &cas2,
		   SK_KV_STORED);
	if (cas2 == cas)
		FAIL("cas (owner %u): the CAS did not move", owner);
	store_want(kv, owner, "cas with the old CAS", SK_KV_CAS, k, kl, "c3",
		   2, cas, NULL, SK_KV_EXISTS);
	store_want(kv, owner, "cas on an absent key", SK_KV_CAS, absent, al,
		   "x", 1, 1, NULL, SK_KV_NOT_FOUND);
	get_want(kv, owner, "get after cas", k, kl, "c2", 2, buf, sizeof(buf),
		 NULL);

	cas_ops(kv, owner, num, nl);
	meta_ops(kv, owner);

	/* incr wraps at 2^64, decr stops at 0. */
	store_want(kv, owner, "set of 2^64 - 1", SK_KV_SET, num, nl,
		   "18446744073709551615", 20, 0, NULL, SK_KV_STORED);
	st = sk_kv_incr(kv, num, nl, 1, &v, &res);
	WANT("incr past 2^64 - 1", st, res, SK_KV_OK);
	if (v != 0)
		FAIL("incr past 2^64 - 1 (owner %u): %" PRIu64 ", not 0",
		     owner, v);
	st = sk_kv_incr(kv, num, nl, 7, &v, &res);
	WANT("incr", st, res, SK_KV_OK);
	st = sk_kv_decr(kv, num, nl, 3, &v, &res);
	WANT("decr", st, res, SK_KV_OK);
	if (v != 4)
		FAIL("incr 7, decr 3 (owner %u): %" PRIu64 ", not 4", owner,
		     v);
	st = sk_kv_decr(kv, num, nl, 100, &v, &res);
	WANT("decr past 0", st, res, SK_KV_OK);
	if (v != 0)
		FAIL("decr past 0 (owner %u): %" PRIu64 ", not 0", owner, v);
	st = sk_kv_get(kv, num, nl, buf, sizeof(buf), &vlen, NULL, NULL, &res);
	WANT("get of the number", st, res, SK_KV_OK);
	if (vlen == 0 || buf[0] != '0')
		FAIL("get of the number (owner %u): not 0", owner);
	st = sk_kv_incr(kv, absent, al, 1, &v, &res);
	WANT("incr on an absent key", st, res, SK_KV_NOT_FOUND);
	st = sk_kv_decr(kv, k, kl, 1, &v, &res);
	WANT("decr on a value not a number", st, res, SK_KV_ENONNUM);

	/* touch and gat */
	st = sk_kv_touch(kv, k, kl, 3600, &res);
	WANT("touch", st, res, SK_KV_TOUCHED);
	st = sk_kv_touch(kv, absent, al, 3600, &res);
	WANT("touch on an absent key", st, res, SK_KV_NOT_FOUND);
	vlen = 0;
	st = sk_kv_gat(kv, k, kl, 0, buf, sizeof(buf), &vlen, NULL, &cas, &res);
	WANT("gat", st, res, SK_KV_OK);
	if (vlen != 2 || memcmp(buf, "c2", 2) != 0 || cas != cas2)
		FAIL("gat (owner %u): not the value and CAS stored", owner);
	st = sk_kv_gat(kv, absent, al, 0, buf, sizeof(buf), &vlen, NULL, NULL,
		       &res);
	WANT("gat on an absent key", st, res, SK_KV_NOT_FOUND);
	/* A negative expiry expires the item at once. */
	st = sk_kv_touch(kv, k, kl, -1, &res);
	WANT("touch with exptime -1", st, res, SK_KV_TOUCHED);
	st = sk_kv_get(kv, k, kl, buf, sizeof(buf), NULL, NULL, NULL, &res);
	WANT("get after touch -1", st, res, SK_KV_NOT_FOUND);

	/* Past 1 MiB: rank 0's "big" holds SK_KV_VALUE_MAX bytes (limits);
	 * neither an append nor a prepend may grow it. (No 1 MiB item is
	 * made and dropped here: its quarantine would hold most of a 4 MiB
	 * partition for Q, and the batches after could find it full.) */
	st = sk_kv_store(kv, SK_KV_APPEND, "big", 3, "x", 1, 0, 0, 0, NULL,
			 &res);
	WANT("append past 1 MiB", st, res, SK_KV_NOT_STORED);
	st = sk_kv_store(kv, SK_KV_PREPEND, "big", 3, "x", 1, 0, 0, 0, NULL,
			 &res);
	WANT("prepend past 1 MiB", st, res, SK_KV_NOT_STORED);
	/* A small buffer gets the value's head and its whole length. */
	st = sk_kv_get(kv, "big", 3, buf, sizeof(buf), &vlen, NULL, NULL,
		       &res);
	WANT("get of 1 MiB into 64 bytes", st, res, SK_KV_OK);
	if (vlen != SK_KV_VALUE_MAX || check(buf, sizeof(buf),
					     seed_of("big", 3)) != 0)
		FAIL("get of 1 MiB into 64 bytes (owner %u): %zu bytes", owner,
		     vlen);
	store_want(kv, owner, "set of 1 MiB + 1", SK_KV_SET, absent, al, big,
		   SK_KV_VALUE_MAX + 1, 0, NULL, SK_KV_ETOOLARGE);

	/* k expired (touch -1): delete finds nothing, as memcached. */
	st = sk_kv_delete(kv, k, kl, &res);
	WANT("delete of an expired item", st, res, SK_KV_NOT_FOUND);
	store_want(kv, owner, "set after expiry", SK_KV_SET, k, kl, "d", 1, 0,
		   NULL, SK_KV_STORED);
	st = sk_kv_delete(kv, k, kl, &res);
	WANT("delete", st, res, SK_KV_DELETED);
	st = sk_kv_delete(kv, k, kl, &res);
	WANT("delete again", st, res, SK_KV_NOT_FOUND);
	st = sk_kv_delete(kv, num, nl, &res);
	WANT("delete of the number", st, res, SK_KV_DELETED);
}

/* ---- batches ---- */

#define BATCH 1000u

static size_t bkey_of(char *buf, unsigned rank, unsigned j)
{
	return (size_t)sprintf(buf, "batch:%u:%u", rank, j);
}

/* The value of batch key j: 0 .. 2 KiB, so some land in one unit of the
 * read buffer and some in several. */
static size_t bvlen_of(unsigned j)
{
	return (size_t)(j * 37u % 2049u);
}

struct bslot {
	char key[32];
	unsigned char *val;    /* a SET's value or a GET's buffer */
	uint64_t seed;
	size_t want;           /* a GET's length */
	uint32_t flags;
};

/*
 * @n requests (n may pass SK_KV_INFLIGHT_MAX), GETs of the job's keys and
 * SETs of this rank's batch keys mixed, @bad of them refused (an unknown
 * cmd); then one batch GETs back every batch key this rank set. Returns
 * the number of SETs.
 */
static unsigned batch_mixed(struct sk_kv *kv, unsigned n, unsigned nranks,
			    unsigned base, unsigned bad)
{
	struct sk_kv_req *r = calloc(n, sizeof(*r));
	struct bslot *b = calloc(n, sizeof(*b));
	unsigned sets = 0;
	sk_status_t st;

	if (r == NULL || b == NULL)
		FAIL("out of memory");
	for (unsigned i = 0; i < n; i++) {
		b[i].val = malloc(VMAX);
		if (b[i].val == NULL)
			FAIL("out of memory");
		if (i % 3 == 0) {
			/* A SET of a batch key. */
			unsigned j = base + i;
			size_t klen = bkey_of(b[i].key, me, j);

			b[i].seed = seed_of(b[i].key, klen);
			fill(b[i].val, bvlen_of(j), b[i].seed);
			r[i].cmd = SK_KV_CMD_STORE;
			r[i].op = SK_KV_SET;
			r[i].key = b[i].key;
			r[i].klen = klen;
			r[i].value = b[i].val;
			r[i].vlen = bvlen_of(j);
			r[i].flags = j;
		} else {
			/* A GET of one of the job's keys (every tenth is
			 * deleted). */
			unsigned rk = i % nranks, k = (i * 7u) % KEYS;

			k += k % 10 == 0;
			size_t klen = key_of(b[i].key, rk, k);

			b[i].seed = seed_of(b[i].key, klen);
			b[i].want = vlen_of(k);
			b[i].flags = rk << 16 | k;
			r[i].cmd = SK_KV_CMD_GET;
			r[i].key = b[i].key;
			r[i].klen = klen;
			r[i].buf = b[i].val;
			r[i].cap = VMAX;
		}
		if (bad && i % (n / bad) == n / bad / 2)
			r[i].cmd = SK_KV_CMD_COUNT; /* not a command */
	}
	st = sk_kv_batch(kv, r, n);
	if (st != SK_OK)
		FAIL("batch of %u: %s", n, sk_status_str(st));
	for (unsigned i = 0; i < n; i++) {
		if (!r[i].done)
			FAIL("batch of %u: request %u not done", n, i);
		if (r[i].cmd == SK_KV_CMD_COUNT) {
			if (r[i].status != SK_ERR_INVAL)
				FAIL("batch: a bad cmd: %s, not refused",
				     sk_status_str(r[i].status));
			continue;
		}
		if (r[i].status != SK_OK)
			FAIL("batch of %u: request %u (%s): %s", n, i,
			     b[i].key, sk_status_str(r[i].status));
		if (r[i].cmd == SK_KV_CMD_STORE) {
			if (r[i].res != SK_KV_STORED || r[i].cas == 0)
				FAIL("batch: set of %s: %s", b[i].key,
				     res_str(r[i].res));
			sets++;
			continue;
		}
		if (r[i].res != SK_KV_OK || r[i].vlen != b[i].want ||
		    r[i].flags != b[i].flags ||
		    check(b[i].val, r[i].vlen, b[i].seed) != 0)
			FAIL("batch: get of %s: %s, %zu bytes (want %zu), "
			     "flags %" PRIu32, b[i].key, res_str(r[i].res),
			     r[i].vlen, b[i].want, r[i].flags);
	}
	/* Read back what this batch set, in one batch of GETs. */
	memset(r, 0, n * sizeof(*r));
	for (unsigned i = 0; i < n; i++) {
		size_t klen = bkey_of(b[i].key, me, base + i);

		b[i].seed = seed_of(b[i].key, klen);
		r[i].cmd = SK_KV_CMD_GET;
		r[i].key = b[i].key;
		r[i].klen = klen;
		r[i].buf = b[i].val;
		r[i].cap = VMAX;
	}
	st = sk_kv_batch(kv, r, n);
	if (st != SK_OK)
		FAIL("batch of %u GETs: %s", n, sk_status_str(st));
	for (unsigned i = 0; i < n; i++) {
		int set = i % 3 == 0 &&
			  !(bad && i % (n / bad) == n / bad / 2);

		if (r[i].status != SK_OK ||
		    r[i].res != (set ? SK_KV_OK : SK_KV_NOT_FOUND))
			FAIL("batch: get of %s: %s, %s", b[i].key,
			     sk_status_str(r[i].status), res_str(r[i].res));
		if (set && (r[i].vlen != bvlen_of(base + i) ||
			    r[i].flags != base + i ||
			    check(b[i].val, r[i].vlen, b[i].seed) != 0))
			FAIL("batch: get of %s: %zu bytes, corrupted or "
			     "short", b[i].key, r[i].vlen);
	}
	for (unsigned i = 0; i < n; i++)
		free(b[i].val);
	free(b);
	free(r);
	return sets;
}

/* Requests driven by sk_kv_progress alone: it counts each one once. */
static void progress_only(struct sk_kv *kv, unsigned nranks)
{
	struct sk_kv_req r[32];
	unsigned char bufs[32][64];
	char keys[32][32];
	unsigned done = 0;

	memset(r, 0, sizeof(r));
	/* Keys 1..35 but the deleted tenths: k = i + i / 9 + 1. */
	for (unsigned i = 0; i < 32; i++) {
		r[i].cmd = SK_KV_CMD_GET;
		r[i].key = keys[i];
		r[i].klen = key_of(keys[i], i % nranks, i + i / 9 + 1);
		r[i].buf = bufs[i];
		r[i].cap = sizeof(bufs[i]);
		if (sk_kv_post(kv, &r[i]) != SK_OK)
			FAIL("post of a GET refused");
	}
	while (done < 32)
		done += sk_kv_progress(kv);
	if (sk_kv_progress(kv) != 0)
		FAIL("sk_kv_progress counted a request twice");
	for (unsigned i = 0; i < 32; i++) {
		if (!r[i].done || r[i].status != SK_OK ||
		    r[i].res != SK_KV_OK || r[i].vlen != vlen_of(i + i / 9 + 1))
			FAIL("progress: get of %s: %s, %s", keys[i],
			     sk_status_str(r[i].status), res_str(r[i].res));
	}
	/* Bad requests are refused at post. */
	memset(r, 0, sizeof(r[0]));
	r[0].cmd = SK_KV_CMD_COUNT;
	if (sk_kv_post(kv, &r[0]) != SK_ERR_INVAL ||
	    sk_kv_post(kv, NULL) != SK_ERR_INVAL)
		FAIL("post of a bad request not refused");
	r[0].cmd = SK_KV_CMD_GET;
	r[0].key = NULL;
	r[0].klen = 3;
	if (sk_kv_post(kv, &r[0]) != SK_ERR_INVAL)
		FAIL("post of a NULL key not refused");
}

static void batches(struct sk_kv *kv, unsigned nranks)
{
	struct sk_kv_stats a, z;
	unsigned sets;

	sk_kv_stats(kv, &a);
	sets = batch_mixed(kv, BATCH, nranks, 0, 4);
	sets += batch_mixed(kv, SK_KV_INFLIGHT_MAX, nranks, BATCH, 0);
	progress_only(kv, nranks);
	sk_kv_stats(kv, &z);
	/* Every one-sided GET of the batches was a hit; each hit's key
	 * goes to its owner as a hint. */
	if (z.gets_onesided > a.gets_onesided && z.hints_sent == a.hints_sent)
		FAIL("one-sided hits, but no hint sent");
	printf("rank %u: batches of %u and %u: %u sets, one-sided %" PRIu64
	       ", rpc %" PRIu64 ", hints %" PRIu64 "; batches ok\n", me,
	       BATCH, SK_KV_INFLIGHT_MAX, sets,
	       z.gets_onesided - a.gets_onesided, z.gets_rpc - a.gets_rpc,
	       z.hints_sent - a.hints_sent);
	fflush(stdout);
}

/* The "gone" mode after rank 1 has ended: every key, owned by rank 1 or
 * not, gets the answer its owner's state calls for, and nothing hangs. */
static void gone(struct sk_kv *kv, unsigned n, unsigned char *val,
		 unsigned char *buf)
{
	unsigned ok = 0, unreachable = 0;
	enum sk_kv_res res;
	char key[64];
	sk_status_t st;

	for (unsigned r = 0; r < n; r++) {
		for (unsigned i = 0; i < KEYS; i++) {
			size_t klen = key_of(key, r, i);
			size_t vlen = 0;

			st = sk_kv_get(kv, key, klen, buf, VMAX, &vlen, NULL,
				       NULL, &res);
			if (sk_kv_owner_of(kv, key, klen) == 1) {
				if (st != SK_ERR_UNREACHABLE)
					FAIL("get of %s on the gone rank 1: "
					     "%s", key, sk_status_str(st));
				fill(val, vlen_of(i), seed_of(key, klen));
				st = sk_kv_set(kv, key, klen, val, vlen_of(i),
					       0, 0, &res);
				if (st != SK_ERR_UNREACHABLE)
					FAIL("set of %s on the gone rank 1: "
					     "%s", key, sk_status_str(st));
				unreachable++;
				continue;
			}
			if (st != SK_OK || res != SK_KV_OK ||
			    vlen != vlen_of(i) ||
			    check(buf, vlen, seed_of(key, klen)) != 0)
				FAIL("get of %s after rank 1 ended: %s, %s",
				     key, sk_status_str(st), res_str(res));
			ok++;
		}
	}
	if (unreachable == 0)
		FAIL("rank 1 owned no key: the test proves nothing");
	printf("rank %u: after rank 1 ended: %u keys read, %u unreachable "
	       "as expected; gone ok\n", me, ok, unreachable);
	fflush(stdout);
}

/* Rank 0's attack on the others' kv handlers @first..@last (ids from
 * kv.h), @rounds times each. */
static void hostile(struct sk_rpc *rpc, unsigned n, unsigned first,
		    unsigned last, unsigned rounds)
{
	unsigned calls = 0, refused = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned char *req = sk_rpc_buf_alloc(rpc, 9000);
	unsigned char resp[256];

	if (req == NULL)
		FAIL("no rpc buffer");
	for (unsigned r = 1; r < n; r++) {
		struct sk_rpc_peer *peer;
		sk_status_t st = sk_rpc_connect(rpc, r, -1, &peer);

		if (st != SK_OK)
			FAIL("connect to rank %u: %s", r, sk_status_str(st));
		for (unsigned k = 0; k < rounds; k++) {
			for (unsigned id = first; id <= last; id++) {
				size_t len, got = 0;
				int rc;

				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				len = k % 10 == 9 ? 8192 + x % 808 : x % 300;
				fill(req, len, x);
				rc = sk_rpc_call_sync(peer, (uint16_t)id, req,
						      len, resp, sizeof(resp),
						      &got);
				if (rc == -ECONNRESET)
					FAIL("rank %u failed on bytes to "
					     "handler %u", r, id);
				calls++;
				refused += rc < 0;
			}
		}
	}
	sk_rpc_buf_free(rpc, req);
	printf("rank %u: %u calls of random bytes, %u refused (handlers "
	       "%u..%u); hostile sent\n", me, calls, refused, first, last);
	fflush(stdout);
	if (first > SK_KV_RPC_FIRST + 4 && refused != calls)
		FAIL("%u calls of random bytes were taken", calls - refused);
}

/* The job's end, whichever test ran: close the table, free the buffers. */
static int finish(struct sk_kv *kv, unsigned char *val, unsigned char *buf,
		  unsigned char *big)
{
	sk_kv_close(kv);
	free(val);
	free(buf);
	free(big);
	return 0;
}

int main(int argc, char **argv)
{
	struct sk_kv_attr attr = {
		.partitions = 16,
		.part_bytes = 4u << 20,
	};
	unsigned n = sk_os_size(), got = 0, misses = 0, deleted = 0;
	unsigned char *val, *buf, *big;
	struct sk_kv_stats ks;
	struct sk_rpc *rpc;
	struct sk_kv *kv;
	char key[64];

	me = sk_os_rank();
	if (argc != 2 || (strcmp(argv[1], "all") != 0 &&
			  strcmp(argv[1], "gone") != 0 &&
			  strcmp(argv[1], "hostile") != 0 &&
			  strcmp(argv[1], "anykeys") != 0)) {
		printf("usage: kv_job all|gone|hostile|anykeys\n");
		return 2;
	}
	attr.any_keys = strcmp(argv[1], "anykeys") == 0;
	kv = job_open(&rpc, &attr);
	val = malloc(VMAX);
	buf = malloc(VMAX);
	big = malloc(SK_KV_VALUE_MAX + 1);
	if (val == NULL || buf == NULL || big == NULL)
		FAIL("out of memory");

	for (unsigned i = 0; i < KEYS; i++) {
		size_t klen = key_of(key, me, i);

		fill(val, vlen_of(i), seed_of(key, klen));
		set_one(kv, key, klen, val, vlen_of(i), me << 16 | i,
			SK_KV_STORED);
	}
	barrier();
	if (attr.any_keys) {
		for (unsigned i = 0; i < KEYS; i++) {
			size_t klen = odd_key_of(key, me, i);

			fill(val, vlen_of(i), seed_of(key, klen));
			set_one(kv, key, klen, val, vlen_of(i), i,
				SK_KV_STORED);
		}
		barrier();
		for (unsigned r = 0; r < n; r++) {
			for (unsigned i = 0; i < KEYS; i++) {
				size_t klen = odd_key_of(key, r, i);

				get_one(kv, key, klen, buf, VMAX, vlen_of(i),
					i, SK_KV_OK);
				got++;
			}
		}
		barrier();
		for (unsigned i = 0; i < KEYS; i++) {
			size_t klen = odd_key_of(key, me, i);

			del_one(kv, key, klen, SK_KV_DELETED);
			get_one(kv, key, klen, buf, VMAX, 0, 0,
				SK_KV_NOT_FOUND);
		}
		memset(big, 'k', SK_KV_KEY_MAX + 1);
		set_one(kv, big, SK_KV_KEY_MAX + 1, val, 1, 0, SK_KV_EFORMAT);
		set_one(kv, big, 0, val, 1, 0, SK_KV_EFORMAT);
		printf("rank %u: %u keys with control bytes read back; "
		       "anykeys ok\n", me, got);
		fflush(stdout);
		barrier();
		return finish(kv, val, buf, big);
	}
	if (strcmp(argv[1], "hostile") == 0) {
		if (me == 0) {
			hostile(rpc, n, SK_KV_RPC_FIRST, SK_KV_RPC_FIRST + 4,
				200);
			hostile(rpc, n, SK_KV_RPC_FIRST + 5,
				SK_KV_RPC_FIRST + 15, 100);
		}
		barrier();
		for (unsigned r = 0; r < n; r++) {
			for (unsigned i = 0; i < KEYS; i++) {
				size_t klen = key_of(key, r, i);

				get_one(kv, key, klen, buf, VMAX, vlen_of(i),
					r << 16 | i, SK_KV_OK);
				got++;
			}
		}
		printf("rank %u: %u keys read back whole; hostile ok\n", me,
		       got);
		fflush(stdout);
		barrier();
		return finish(kv, val, buf, big);
	}
	if (strcmp(argv[1], "gone") == 0) {
		if (me != 1) {
			/* Returns once rank 1 has finished (os.h). */
			barrier();
			gone(kv, n, val, buf);
			barrier();
		}
		/* Rank 1 ends at once (libos ends its rpc at exit). */
		return finish(kv, val, buf, big);
	}
	for (unsigned r = 0; r < n; r++) {
		for (unsigned i = 0; i < KEYS; i++) {
			size_t klen = key_of(key, r, i);

			get_one(kv, key, klen, buf, VMAX, vlen_of(i),
				r << 16 | i, SK_KV_OK);
			got++;
		}
	}
	barrier();
	for (unsigned i = 0; i < KEYS; i += 10) {
		size_t klen = key_of(key, me, i);

		del_one(kv, key, klen, SK_KV_DELETED);
		del_one(kv, key, klen, SK_KV_NOT_FOUND);
		deleted++;
	}
	barrier();
	for (unsigned r = 0; r < n; r++) {
		for (unsigned i = 0; i < KEYS; i++) {
			size_t klen = key_of(key, r, i);
			int gone = i % 10 == 0;

			get_one(kv, key, klen, buf, VMAX, vlen_of(i),
				r << 16 | i, gone ? SK_KV_NOT_FOUND : SK_KV_OK);
			misses += gone;
			got += !gone;
		}
	}
	barrier();
	limits(kv, big);
	semantics(kv, me, big);
	semantics(kv, (me + 1) % n, big);
	barrier();
	batches(kv, n);
	sk_kv_stats(kv, &ks);
	printf("rank %u: set %u, deleted %u, got %u and missed %u as "
	       "expected (one-sided %" PRIu64 ", rpc %" PRIu64 ", local %"
	       PRIu64 ", retries %" PRIu64 "); limits ok\n", me, KEYS,
	       deleted, got, misses, ks.gets_onesided, ks.gets_rpc,
	       ks.gets_local, ks.read_retries);
	fflush(stdout);
	/* Nobody reads this node's partitions once all are here. */
	barrier();
	return finish(kv, val, buf, big);
}
