/*
 * evict_job: kv's "When full" and the owner's timer in a real skrun job
 * (kv/README.md). Each rank works on keys it owns (sk_kv_owner_of), so
 * that it can look at its own partitions' counts: the job includes kv's
 * private kv_int.h for that, as the store's unit test includes store.h.
 *
 *   idle    set then delete keys: their items wait in quarantine; with
 *           no update after, the owner's timer must reap them all; then
 *           set keys that expire in 1 s: the timer's crawler must retire
 *           them all, with no update and no GET.
 *   full    2,000 sets of 500 bytes into 64 KiB partitions: with eviction
 *           (SKIFF_KV_EVICT unset or 1) every set is stored at its first
 *           try (one outrunning the quarantine waits at the owner:
 *           kv/hold.c), and items were evicted; with SKIFF_KV_EVICT=0,
 *           or "full-attr" (no_evict = 1), a set answers ENOMEM once
 *           the partitions are full, and nothing is evicted.
 *   churn   160 overwrites of 500 bytes on 8 keys this rank owns, all in
 *           one partition (served in place), then as many on 8 keys of
 *           one partition the other owns (by rpc), with a quarantine of
 *           0.5 s: a partition's room for overwrites within one Q (its
 *           quarantine's bound, half the partition: some 50 items) is
 *           spent within half a second unless each takes 10 ms, so
 *           the overwrites after it must wait at the owner however slow
 *           the fabric. Every one is stored at its first try, the
 *           owner's count of waits grows in both rounds, and each key
 *           reads back its last value.
 *
 * The partitions' number is SKIFF_KV_PARTITIONS's (the attribute is 0),
 * so that a bad setting must fail the open.
 *
 * Each rank prints "rank R: ... ok" or what failed, and exits 1. Run:
 *
 *   SKIFF_KV_PARTITIONS=16 skrun -n 2 evict_job idle|full|full-attr|churn
 *   SKIFF_KV_EVICT=0 SKIFF_KV_PARTITIONS=16 skrun -n 2 evict_job full
 *   SKIFF_KV_PARTITIONS=3 skrun -n 2 evict_job full     (must fail: the
 *       open refuses the setting, naming it)
 *
 * With the owner's timer not started, "idle" fails (50 items still in
 * quarantine after 100 Q).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv_int.h"

#include <skiff/os.h>

#define Q_MS 20u
/* churn's quarantine and overwrites per round (see above). */
#define CHURN_Q_MS 500u
#define CHURN_N 160u

#include "job.h"

/* The next key (from *i on) that this rank owns. */
static size_t own_key(struct sk_kv *kv, char *buf, unsigned *i)
{
	size_t klen;

	for (;; (*i)++) {
		klen = (size_t)sprintf(buf, "evict:%u:%u", me, *i);
		if (sk_kv_owner_of(kv, buf, klen) == me)
			break;
	}
	(*i)++;
	return klen;
}

/* This rank's partitions' counts, summed. */
static void own_stats(struct sk_kv *kv, struct sk_kv_part_stats *sum)
{
	struct sk_kv_part_stats st;

	memset(sum, 0, sizeof(*sum));
	for (uint32_t p = 0; p < kv->nparts; p++) {
		if (kv->parts[p].part == NULL)
			continue;
		sk_kv_part_stats(kv->parts[p].part, &st);
		sum->items += st.items;
		sum->quarantined += st.quarantined;
		sum->evicted += st.evicted;
		sum->expired += st.expired;
	}
}

static enum sk_kv_res set_one(struct sk_kv *kv, const char *key, size_t klen,
			      const void *val, size_t vlen, int32_t exptime)
{
	enum sk_kv_res res;
	sk_status_t st;

	st = sk_kv_store(kv, SK_KV_SET, key, klen, val, vlen, 0, exptime, 0,
			 NULL, &res);
	if (st != SK_OK)
		FAIL("set %.*s: %s", (int)klen, key, sk_status_str(st));
	return res;
}

static void idle(struct sk_kv *kv)
{
	struct sk_kv_part_stats st;
	char key[64], val[100];
	unsigned i = 0, n, waited;
	enum sk_kv_res res;

	memset(val, 'i', sizeof(val));
	for (n = 0; n < 50; n++) {
		size_t klen = own_key(kv, key, &i);

		if (set_one(kv, key, klen, val, sizeof(val), 0) != SK_KV_STORED)
			FAIL("set %s: not stored", key);
		if (sk_kv_delete(kv, key, klen, &res) != SK_OK ||
		    res != SK_KV_DELETED)
			FAIL("delete %s: not deleted", key);
	}
	own_stats(kv, &st);
	if (st.quarantined == 0)
		FAIL("50 deletes, nothing in quarantine");
	/* No update from here on: only the timer can free them. A bound of
	 * 100 Q, against a hang, not a timing check. */
	for (waited = 0; st.quarantined && waited < 100; waited++) {
		sk_os_sleep_ms(Q_MS);
		own_stats(kv, &st);
	}
	if (st.quarantined)
		FAIL("%" PRIu64 " items still in quarantine after 100 Q idle",
		     st.quarantined);
	printf("rank %u: quarantine reaped while idle (after %u waits of "
	       "Q)\n", me, waited);

	for (n = 0; n < 50; n++) {
		size_t klen = own_key(kv, key, &i);

		if (set_one(kv, key, klen, val, sizeof(val), 1) != SK_KV_STORED)
			FAIL("set %s: not stored", key);
	}
	/* Expired within 1 to 2 s; the crawler's turn of every slot takes
	 * about 1.4 s. Bounded at 20 s. */
	own_stats(kv, &st);
	for (waited = 0; st.expired < 50 && waited < 1000; waited++) {
		sk_os_sleep_ms(Q_MS);
		own_stats(kv, &st);
	}
	if (st.expired < 50 || st.items != 0)
		FAIL("crawler: %" PRIu64 " of 50 expired, %" PRIu64 " items "
		     "left", st.expired, st.items);
	printf("rank %u: crawler retired 50 expired items; idle ok\n", me);
}

static void full(struct sk_kv *kv, int evict)
{
	struct sk_kv_part_stats st;
	char key[64], val[500];
	unsigned i = 0, n, stored = 0, nomem = 0, waits = 0;

	memset(val, 'f', sizeof(val));
	for (n = 0; n < 2000; n++) {
		size_t klen = own_key(kv, key, &i);
		enum sk_kv_res res;
		unsigned w;

		res = set_one(kv, key, klen, val, sizeof(val), 0);
		/* With eviction on the owner waits for quarantined memory
		 * itself: a set never answers ENOMEM (README, "When
		 * full"); the retries are no_evict's. */
		if (res == SK_KV_ENOMEM && evict)
			FAIL("set %s: ENOMEM with eviction on", key);
		for (w = 0; res == SK_KV_ENOMEM && w < 10; w++) {
			if (w == 0)
				nomem++;
			sk_os_sleep_ms(Q_MS);
			waits++;
			res = set_one(kv, key, klen, val, sizeof(val), 0);
		}
		if (res == SK_KV_STORED)
			stored++;
		else if (res != SK_KV_ENOMEM)
			FAIL("set %s: %s", key, sk_kv_res_str(res));
		else
			break; /* full for good: the rest would be too */
	}
	own_stats(kv, &st);
	if (evict && (stored != 2000 || st.evicted == 0))
		FAIL("evict: %u of 2000 stored, %" PRIu64 " evicted", stored,
		     st.evicted);
	if (!evict && (stored == 2000 || stored == 0 || st.evicted != 0))
		FAIL("no_evict: %u of 2000 stored, %" PRIu64 " evicted",
		     stored, st.evicted);
	printf("rank %u: %u stored, %u first answered ENOMEM, %u waits of "
	       "Q, %" PRIu64 " evicted, %" PRIu64 " items, %" PRIu64
	       " updates waited at the owner; full %s ok\n", me, stored,
	       nomem, waits, st.evicted, st.items, kv->waited,
	       evict ? "evict" : "no_evict");
}

/* 8 keys owned by rank @owner, all in one of its partitions. */
static void keys_of(struct sk_kv *kv, unsigned owner, char key[8][64],
		    size_t klen[8])
{
	struct kv_part *kp = NULL, *p;

	for (unsigned k = 0, i = 0; k < 8; i++) {
		klen[k] = (size_t)sprintf(key[k], "churn:%u:%u", me, i);
		if (sk_kv_owner_of(kv, key[k], klen[k]) != owner)
			continue;
		p = kv_part_of(kv, kv_key_hash(kv, key[k], klen[k]));
		if (kp == NULL)
			kp = p;
		if (p == kp)
			k++;
	}
}

/* CHURN_N overwrites of 500 bytes, round the 8 keys; then each must read
 * back its last value (that of overwrite CHURN_N - 8 + k). */
static void churn_keys(struct sk_kv *kv, char key[8][64], size_t klen[8])
{
	char val[500], got[500];
	size_t vlen;

	memset(val, 'c', sizeof(val));
	for (unsigned n = 0; n < CHURN_N; n++) {
		unsigned k = n % 8;
		enum sk_kv_res res;

		memcpy(val, &n, sizeof(n));
		res = set_one(kv, key[k], klen[k], val, sizeof(val), 0);
		if (res != SK_KV_STORED)
			FAIL("overwrite %u of %s: %s", n, key[k],
			     sk_kv_res_str(res));
	}
	for (unsigned k = 0; k < 8; k++) {
		enum sk_kv_res res;
		unsigned n;

		if (sk_kv_get(kv, key[k], klen[k], got, sizeof(got), &vlen,
			      NULL, NULL, &res) != SK_OK || res != SK_KV_OK ||
		    vlen != sizeof(got))
			FAIL("get %s after the churn", key[k]);
		memcpy(&n, got, sizeof(n));
		if (n != CHURN_N - 8 + k)
			FAIL("%s holds overwrite %u, not the last, %u", key[k],
			     n, CHURN_N - 8 + k);
	}
}

/* Two rounds, so that each owner's count of waits tells which path held:
 * this rank's own keys (served in place), then the other's (by rpc, the
 * other rank's owner holds them while this one only calls). */
static void churn(struct sk_kv *kv)
{
	char key[8][64];
	size_t klen[8];
	unsigned other = (me + 1) % sk_os_size();
	uint64_t local;

	keys_of(kv, me, key, klen);
	churn_keys(kv, key, klen);
	local = kv->waited;
	if (local == 0)
		FAIL("%u overwrites of its own keys, none waited for room: "
		     "the churn did not reach the quarantine's bound",
		     CHURN_N);
	if (sk_os_barrier() != 0)
		FAIL("barrier");
	if (kv->owners[other].nowned != 0) {
		keys_of(kv, other, key, klen);
		churn_keys(kv, key, klen);
	}
	if (sk_os_barrier() != 0)
		FAIL("barrier");
	if (kv->owners[(me + sk_os_size() - 1) % sk_os_size()].nowned != 0 &&
	    kv->waited == local)
		FAIL("the other rank's %u overwrites by rpc: none waited "
		     "here for room", CHURN_N);
	printf("rank %u: its own keys: %" PRIu64 " of %u overwrites "
	       "waited for room; the other's by rpc: %" PRIu64 "; last "
	       "values read back; churn ok\n", me, local, CHURN_N,
	       kv->waited - local);
}

int main(int argc, char **argv)
{
	struct sk_kv_attr attr = {
		.partitions = 0, /* SKIFF_KV_PARTITIONS */
		.part_bytes = 64u << 10,
		.quarantine_ms = Q_MS,
	};
	struct sk_rpc *rpc;
	struct sk_kv *kv;
	const char *ev;

	me = sk_os_rank();
	if (argc != 2 || (strcmp(argv[1], "idle") != 0 &&
			  strcmp(argv[1], "full") != 0 &&
			  strcmp(argv[1], "full-attr") != 0 &&
			  strcmp(argv[1], "churn") != 0)) {
		printf("usage: evict_job idle|full|full-attr|churn\n");
		return 2;
	}
	if (strcmp(argv[1], "full-attr") == 0)
		attr.no_evict = 1;
	if (strcmp(argv[1], "churn") == 0)
		attr.quarantine_ms = CHURN_Q_MS;
	kv = job_open(&rpc, &attr);
	if (kv->owners[me].nowned == 0) {
		/* Rendezvous placement gave every partition to the others
		 * (1 in 2^15 with 16 partitions and 2 ranks): they check. */
		printf("rank %u: owns no partition; nothing to check ok\n", me);
	} else if (strcmp(argv[1], "idle") == 0) {
		idle(kv);
	} else if (strcmp(argv[1], "churn") == 0) {
		churn(kv);
	} else {
		ev = getenv("SKIFF_KV_EVICT");
		full(kv, !attr.no_evict && !(ev && strcmp(ev, "0") == 0));
	}
	if (sk_os_barrier() != 0)
		FAIL("barrier");
	sk_kv_close(kv);
	sk_rpc_destroy(rpc);
	return 0;
}
