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
 *           (SKIFF_KV_EVICT unset or 1) every set is stored, those that
 *           first answer ENOMEM (sets outrunning the quarantine) within
 *           a few waits of Q, and items were evicted; with
 *           SKIFF_KV_EVICT=0, or "full-attr" (no_evict = 1), a set
 *           answers ENOMEM once the partitions are full, still after
 *           waiting, and nothing is evicted.
 *
 * The partitions' number is SKIFF_KV_PARTITIONS's (the attribute is 0),
 * so that a bad setting must fail the open.
 *
 * Each rank prints "rank R: ... ok" or what failed, and exits 1. Run:
 *
 *   SKIFF_KV_PARTITIONS=16 skrun -n 2 evict_job idle|full|full-attr
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
		/* Out of memory with eviction on is the quarantine's: the
		 * chunks come back within Q (README, "When full"). */
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
		else if (evict)
			FAIL("set %s: ENOMEM after 10 waits of Q, eviction on",
			     key);
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
	       "Q, %" PRIu64 " evicted, %" PRIu64 " items; full %s ok\n", me,
	       stored, nomem, waits, st.evicted, st.items,
	       evict ? "evict" : "no_evict");
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
			  strcmp(argv[1], "full-attr") != 0)) {
		printf("usage: evict_job idle|full|full-attr\n");
		return 2;
	}
	if (strcmp(argv[1], "full-attr") == 0)
		attr.no_evict = 1;
	kv = job_open(&rpc, &attr);
	if (kv->owners[me].nowned == 0) {
		/* Rendezvous placement gave every partition to the others
		 * (1 in 2^15 with 16 partitions and 2 ranks): they check. */
		printf("rank %u: owns no partition; nothing to check ok\n", me);
	} else if (strcmp(argv[1], "idle") == 0) {
		idle(kv);
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
