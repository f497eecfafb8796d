/*
 * kv_owner_job: the owner's incr/decr, touch/gat and hint handlers over
 * the fabric, before any client calls them (sk_kv_incr and sk_kv_touch
 * are to come): rank 0 sends rank 1 the rpcs a client will send, built
 * from kv_int.h's formats, and reads the answers with kv/wire.c's
 * response decoders; what it changed it reads back with sk_kv_get. Then
 * the refusals: malformed requests (-EPROTO), a key rank 1 does not own
 * (-ESTALE), a hint count past KV_HINT_MAX.
 *
 *	skrun -n 2 kv_owner_job      (any N >= 2; ranks past 1 only open)
 *
 * Each rank prints "rank R: ... owner ok" or says what failed and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* kv_int.h before kv.h: it sorts out store.h's spelling of the limits. */
#include "kv_int.h"
#include "wire.h"

#include <skiff/kv.h>
#include <skiff/os.h>
#include <skiff/rpc.h>

#include "job.h"

/* A key named "prefix:i" owned by rank r; its length in *klen_p. */
static void key_on(struct sk_kv *kv, const char *prefix, unsigned r,
		   char *key, size_t *klen_p)
{
	for (unsigned i = 0; i < 100000; i++) {
		size_t klen = (size_t)sprintf(key, "%s:%u", prefix, i);

		if (sk_kv_owner_of(kv, key, klen) == r) {
			*klen_p = klen;
			return;
		}
	}
	FAIL("no key of rank %u", r);
}

/* One request: hlen bytes of header, then n bytes; the status, and the
 * answer in resp (*got_p bytes). Small: any memory will do (rpc.h). */
static int call(struct sk_rpc_peer *peer, uint16_t id, const void *h,
		size_t hlen, const void *body, size_t n, void *resp,
		size_t cap, size_t *got_p)
{
	static unsigned char req[8192];
	int rc;

	if (hlen + n > sizeof(req))
		FAIL("request too long for the test");
	memcpy(req, h, hlen);
	if (n)
		memcpy(req + hlen, body, n);
	*got_p = 0;
	rc = sk_rpc_call_sync(peer, id, req, hlen + n, resp, cap, got_p);
	if (rc == -ECONNRESET)
		FAIL("rank 1 failed on request %u", id);
	return rc;
}

static uint64_t delta(struct sk_rpc_peer *peer, const char *key, size_t klen,
		      int incr, uint64_t d, int want, uint64_t *cas_p)
{
	struct kv_delta_req q = {.incr = (uint32_t)incr,
				 .klen = (uint32_t)klen, .delta = d};
	struct kv_delta_resp a = {0};
	unsigned char resp[sizeof(a)];
	size_t got;
	int rc = call(peer, KV_RPC_DELTA, &q, sizeof(q), key, klen, resp,
		      sizeof(resp), &got);

	if (rc != want)
		FAIL("%s %s %" PRIu64 ": status %d, not %d",
		     incr ? "incr" : "decr", key, d, rc, want);
	if (rc != SK_KV_OK) {
		if (got)
			FAIL("%s %s: %zu bytes with status %d", incr ? "incr" :
			     "decr", key, got, rc);
		return 0;
	}
	if (kv_dec_delta_resp(resp, got, &a) != 0)
		FAIL("%s %s: a malformed answer (%zu bytes)",
		     incr ? "incr" : "decr", key, got);
	if (cas_p)
		*cas_p = a.cas;
	return a.value;
}

/* sk_kv_get of key must give exactly want (wlen bytes) and flags; its
 * CAS is returned. */
static uint64_t get_is(struct sk_kv *kv, const char *key, size_t klen,
		       const char *want, size_t wlen, uint32_t wflags)
{
	char buf[64];
	enum sk_kv_res res;
	uint32_t flags = 0;
	uint64_t cas = 0;
	size_t vlen = 0;
	sk_status_t st;

	st = sk_kv_get(kv, key, klen, buf, sizeof(buf), &vlen, &flags, &cas,
		       &res);
	if (st != SK_OK)
		FAIL("get %s: %s", key, sk_status_str(st));
	if (want == NULL) {
		if (res != SK_KV_NOT_FOUND)
			FAIL("get %s: %s, not NOT_FOUND", key,
			     sk_kv_res_str(res));
		return 0;
	}
	if (res != SK_KV_OK || vlen != wlen || memcmp(buf, want, wlen) ||
	    flags != wflags)
		FAIL("get %s: %s, \"%.*s\" flags %" PRIu32 ", not \"%.*s\" "
		     "flags %" PRIu32, key, sk_kv_res_str(res),
		     (int)(vlen < sizeof(buf) ? vlen : sizeof(buf)), buf,
		     flags, (int)wlen, want, wflags);
	return cas;
}

static void set(struct sk_kv *kv, const char *key, size_t klen,
		const char *val, uint32_t flags)
{
	enum sk_kv_res res;
	sk_status_t st = sk_kv_set(kv, key, klen, val, strlen(val), flags, 0,
				   &res);

	if (st != SK_OK || res != SK_KV_STORED)
		FAIL("set %s: %s, %s", key, sk_status_str(st),
		     st == SK_OK ? sk_kv_res_str(res) : "-");
}

static int touch(struct sk_rpc_peer *peer, const char *key, size_t klen,
		 int32_t exptime, uint32_t mode, int32_t vivify,
		 void *resp, size_t cap, size_t *got_p)
{
	struct kv_touch_req q = {
		.exptime = exptime, .klen = (uint32_t)klen, .mode = mode,
		.vivify = vivify,
	};

	return call(peer, KV_RPC_TOUCH, &q, sizeof(q), key, klen, resp, cap,
		    got_p);
}

static void client(struct sk_rpc *rpc, struct sk_kv *kv)
{
	char n[32], s[32], none[32], mine[32], big[SK_KV_KEY_MAX + 1];
	size_t nlen, slen, nonelen, minelen, got;
	uint64_t cas0, cas1, cas2, v;
	unsigned char resp[256];
	struct kv_get_resp ga;
	struct sk_rpc_peer *peer;
	const char *val;
	uint64_t hashes[KV_HINT_MAX + 1];
	struct kv_hint_req hq;
	sk_status_t st;
	int rc;

	key_on(kv, "n", 1, n, &nlen);
	key_on(kv, "s", 1, s, &slen);
	key_on(kv, "none", 1, none, &nonelen);
	key_on(kv, "mine", 0, mine, &minelen);
	st = sk_rpc_connect(rpc, 1, -1, &peer);
	if (st != SK_OK)
		FAIL("connect to rank 1: %s", sk_status_str(st));

	/* incr/decr: memcached's digits, padded to the old length. */
	set(kv, n, nlen, "100", 5);
	cas0 = get_is(kv, n, nlen, "100", 3, 5);
	v = delta(peer, n, nlen, 0, 91, SK_KV_OK, &cas1);
	if (v != 9 || cas1 == cas0)
		FAIL("decr 91 of 100: %" PRIu64 ", cas %" PRIu64 " (was %"
		     PRIu64 ")", v, cas1, cas0);
	if (get_is(kv, n, nlen, "9  ", 3, 5) != cas1)
		FAIL("decr's answer and get's CAS differ");
	v = delta(peer, n, nlen, 1, 991, SK_KV_OK, &cas1);
	if (v != 1000)
		FAIL("incr 991 of 9: %" PRIu64, v);
	cas1 = get_is(kv, n, nlen, "1000", 4, 5);
	delta(peer, none, nonelen, 1, 1, SK_KV_NOT_FOUND, NULL);
	set(kv, s, slen, "abc", 0);
	delta(peer, s, slen, 1, 1, SK_KV_ENONNUM, NULL);

	/* touch and gat keep the CAS. */
	rc = touch(peer, n, nlen, 100, KV_TOUCH_TTL, 0, resp, sizeof(resp), &got);
	if (rc != SK_KV_TOUCHED || got != 0)
		FAIL("touch: status %d, %zu bytes", rc, got);
	if (get_is(kv, n, nlen, "1000", 4, 5) != cas1)
		FAIL("touch changed the CAS");
	rc = touch(peer, n, nlen, 0, KV_TOUCH_TTL | KV_TOUCH_ANSWER, 0, resp,
		   sizeof(resp), &got);
	if (rc != SK_KV_OK || kv_dec_get_resp(resp, got, &ga, &val) != 0 ||
	    ga.vlen != 4 || memcmp(val, "1000", 4) || ga.flags != 5 ||
	    ga.cas != cas1)
		FAIL("gat: status %d, %zu bytes", rc, got);
	rc = touch(peer, none, nonelen, 0, KV_TOUCH_TTL | KV_TOUCH_ANSWER, 0,
		   resp, sizeof(resp), &got);
	if (rc != SK_KV_NOT_FOUND || got != 0)
		FAIL("gat of a missing key: status %d", rc);
	/* An exptime in the past: gone. */
	rc = touch(peer, s, slen, -1, KV_TOUCH_TTL, 0, resp, sizeof(resp), &got);
	if (rc != SK_KV_TOUCHED)
		FAIL("touch -1: status %d", rc);
	get_is(kv, s, slen, NULL, 0, 0);

	/* Hints: taken (and, until eviction, dropped) up to the limit. */
	for (unsigned i = 0; i <= KV_HINT_MAX; i++)
		hashes[i] = sk_kv_key_hash(&kv->hkey, n, nlen) + i;
	hq = (struct kv_hint_req){.count = 3};
	rc = call(peer, KV_RPC_HINT, &hq, sizeof(hq), hashes, 3 * 8, resp,
		  sizeof(resp), &got);
	if (rc != 0 || got != 0)
		FAIL("hint of 3: status %d", rc);
	hq.count = KV_HINT_MAX;
	rc = call(peer, KV_RPC_HINT, &hq, sizeof(hq), hashes,
		  KV_HINT_MAX * 8, resp, sizeof(resp), &got);
	if (rc != 0)
		FAIL("hint of %u: status %d", KV_HINT_MAX, rc);
	hq.count = KV_HINT_MAX + 1;
	rc = call(peer, KV_RPC_HINT, &hq, sizeof(hq), hashes,
		  (KV_HINT_MAX + 1) * 8, resp, sizeof(resp), &got);
	if (rc != -EPROTO)
		FAIL("hint of %u: status %d, not -EPROTO", KV_HINT_MAX + 1, rc);

	/* Refused: malformed, or not rank 1's key. */
	delta(peer, n, nlen, 2, 1, -EPROTO, NULL);
	memset(big, 'k', sizeof(big));
	delta(peer, big, sizeof(big), 1, 1, -EPROTO, NULL);
	rc = touch(peer, n, nlen, 0, KV_TOUCH_TTL, 1, resp, sizeof(resp),
		   &got);
	if (rc != -EPROTO)
		FAIL("touch with an N expiry but no N: status %d", rc);
	rc = touch(peer, n, nlen, 0, KV_TOUCH_TTL | 64, 0, resp, sizeof(resp),
		   &got);
	if (rc != -EPROTO)
		FAIL("touch with an unknown mode bit: status %d", rc);
	/* The table's key rule (the default: protocol.txt's) is the
	 * handler's: the wire carries any 1 to 250 bytes. */
	delta(peer, "a\x01b", 3, 1, 1, -EPROTO, NULL);
	delta(peer, "a b", 3, 1, 1, -EPROTO, NULL);
	{
		struct kv_key_req kq = {.klen = 3};

		rc = call(peer, KV_RPC_GET, &kq, sizeof(kq), "a\x7f" "b", 3,
			  resp, sizeof(resp), &got);
		if (rc != -EPROTO)
			FAIL("get of a key with DEL: status %d", rc);
	}
	delta(peer, mine, minelen, 1, 1, -ESTALE, NULL);
	rc = touch(peer, mine, minelen, 0, KV_TOUCH_TTL, 0, resp, sizeof(resp), &got);
	if (rc != -ESTALE)
		FAIL("touch of rank 0's key at rank 1: status %d", rc);

	/* Rank 1 still serves, its item as the last incr left it. */
	cas2 = get_is(kv, n, nlen, "1000", 4, 5);
	if (cas2 != cas1)
		FAIL("the CAS moved without an update");
	printf("rank %u: incr/decr, touch/gat and hints at rank 1, and "
	       "their refusals; owner ok\n", me);
	fflush(stdout);
}

int main(void)
{
	struct sk_kv_attr attr = {.partitions = 16, .part_bytes = 1u << 20};
	struct sk_rpc *rpc;
	struct sk_kv *kv;

	me = sk_os_rank();
	if (sk_os_size() < 2)
		FAIL("needs 2 ranks at least");
	kv = job_open(&rpc, &attr);
	if (me == 0)
		client(rpc, kv);
	/* Rank 1 serves until rank 0 is done. */
	if (sk_os_barrier() != 0)
		FAIL("barrier failed");
	if (me != 0) {
		printf("rank %u: served; owner ok\n", me);
		fflush(stdout);
	}
	sk_kv_close(kv);
	return 0;
}
