/*
 * loc_job: kv's location cache (kv/README.md, "The location cache") in a
 * real skrun job, under a writer that keeps changing the keys read.
 *
 *   skrun -n N loc_job WRITES        (N >= 2)
 *
 * Rank 0 owns the DATA keys and, WRITES times, sets one (a new value,
 * unique to its key and sequence number, 24 to 300 bytes so that items
 * change size class), deletes one, or touches one (same value and CAS,
 * the item moved; kv/store.h). After each set or delete has returned it
 * tells every reader by setting that reader's FLOOR key for it (a key
 * the reader owns): "s SEQ" (SEQ stored) or "d SEQ" (deleted after SEQ).
 *
 * Each reader (rank 1 and up) loops: read the floor of a data key from
 * its own partition (served in place: current), then GET the data key
 * twice, one-sided (the second mostly a location cache hit). Every value
 * accepted must be exactly the one written for its (key, seq); never
 * older than a value this reader got before for the key (monotonic
 * reads); and never older than the floor read before the GET began: a
 * value its writer had replaced or deleted before the GET could not be
 * current at any moment of it. A reader stops when rank 0 sets its STOP
 * key, after the last write, and must have taken location cache hits
 * (kv's own counter: the job includes kv_int.h, as evict_job does).
 *
 * A location cache that took a cached item without checking that this
 * GET's pair still points at it returns values replaced before the GET
 * (an item stays whole in quarantine for Q), which the floor catches.
 *
 * Each rank prints "rank R: ... ok", or what failed and exits 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kv_int.h"

#include <skiff/os.h>

#define NDATA 8u
#define VMAX 300u
#define KMAX 48u
#define SEARCH_MAX 1000000u
#define READS_MAX 50000000u /* per reader: a writer that never stops */
#define WRITES_MAX 1000000u
#define RANKS_MAX 16u

#include "job.h"

static struct sk_kv *kv;
static unsigned nranks;
static char data_key[NDATA][KMAX];
static char stop_key[KMAX];      /* a reader's */
static char floor_key[RANKS_MAX][NDATA][KMAX]; /* rank 0: the readers' */

/* A key named from @fmt and its numbers, that @owner owns. */
static void key_of(char *buf, unsigned owner, const char *what, unsigned a,
		   unsigned b)
{
	for (unsigned i = 0; i < SEARCH_MAX; i++) {
		int n = snprintf(buf, KMAX, "loc:%s:%u:%u:%u", what, a, b, i);

		if (sk_kv_owner_of(kv, buf, (size_t)n) == owner)
			return;
	}
	FAIL("no key of rank %u's in %u names", owner, SEARCH_MAX);
}

/* The value of (key k, seq): its length and bytes follow from both. */
static size_t value_make(char *v, unsigned k, uint64_t seq)
{
	size_t len = 24 + (k * 37u + seq * 13u) % (VMAX - 24 + 1);
	uint64_t x = (uint64_t)k << 40 ^ seq ^ 0x9e3779b97f4a7c15ull;
	int n = snprintf(v, VMAX + 1, "k=%u s=%" PRIu64 " ", k, seq);

	for (size_t i = (size_t)n; i < len; i++)
		v[i] = (char)('a' + rnd(&x) % 26);
	return len;
}

/*
 * A set that outruns the quarantine (more bytes retired within one Q
 * than its bound: kv/README.md, "When full", case 3) is answered
 * SK_KV_ENOMEM until the oldest retired items age, at most Q (100 ms).
 * Rank 0 sets its own keys with no rpc between, fast enough to do that
 * on a quick machine: it waits and tries again, for up to 20 Q, as
 * skcached's gateways do.
 */
static void set_key(const char *key, const char *v, size_t vlen)
{
	enum sk_kv_res res;
	sk_status_t st;

	for (unsigned tries = 0;; tries++) {
		st = sk_kv_set(kv, key, strlen(key), v, vlen, 0, 0, &res);
		if (st != SK_OK || res != SK_KV_ENOMEM || tries == 400)
			break;
		sk_os_sleep_ms(5);
	}
	if (st != SK_OK || res != SK_KV_STORED)
		FAIL("set %s: %s, %s", key, sk_status_str(st),
		     sk_kv_res_str(res));
}

static void tell_readers(unsigned k, char what, uint64_t seq)
{
	char f[32];
	int n = snprintf(f, sizeof(f), "%c %" PRIu64, what, seq);

	for (unsigned r = 1; r < nranks; r++)
		set_key(floor_key[r][k], f, (size_t)n);
}

static void writer(unsigned writes)
{
	uint64_t seq[NDATA] = { 0 }, x = 0x5eed, sets = 0, dels = 0,
		 touches = 0;
	char v[VMAX + 1];
	enum sk_kv_res res;
	sk_status_t st;

	for (unsigned r = 1; r < nranks; r++)
		for (unsigned k = 0; k < NDATA; k++)
			key_of(floor_key[r][k], r, "floor", r, k);
	for (unsigned w = 0; w < writes; w++) {
		uint64_t r = rnd(&x);
		unsigned k = r % NDATA, op = (r >> 8) % 10;
		const char *key = data_key[k];

		if (op == 0) {
			st = sk_kv_delete(kv, key, strlen(key), &res);
			if (st != SK_OK || (res != SK_KV_DELETED &&
					    res != SK_KV_NOT_FOUND))
				FAIL("delete: %s, %s", sk_status_str(st),
				     sk_kv_res_str(res));
			if (res == SK_KV_DELETED) {
				dels++;
				tell_readers(k, 'd', seq[k]);
			}
		} else if (op == 1) {
			/* A touch republishes the item: like a set, it may
			 * meet the quarantine's bound (set_key). */
			for (unsigned tries = 0;; tries++) {
				st = sk_kv_touch(kv, key, strlen(key),
						 (r >> 16) & 1 ? 3600 : 0,
						 &res);
				if (st != SK_OK || res != SK_KV_ENOMEM ||
				    tries == 400)
					break;
				sk_os_sleep_ms(5);
			}
			if (st != SK_OK || (res != SK_KV_TOUCHED &&
					    res != SK_KV_NOT_FOUND))
				FAIL("touch: %s, %s", sk_status_str(st),
				     sk_kv_res_str(res));
			touches += res == SK_KV_TOUCHED;
		} else {
			seq[k]++;
			set_key(key, v, value_make(v, k, seq[k]));
			sets++;
			tell_readers(k, 's', seq[k]);
		}
	}
	for (unsigned r = 1; r < nranks; r++) {
		key_of(stop_key, r, "stop", r, 0);
		set_key(stop_key, "stop", 4);
	}
	printf("rank %u: %" PRIu64 " sets, %" PRIu64 " deletes, %" PRIu64
	       " touches ok\n", me, sets, dels, touches);
}

/* A local GET of this reader's own key @key into @buf (NUL-ended);
 * false if absent. */
static bool get_own(const char *key, char *buf, size_t cap)
{
	enum sk_kv_res res;
	size_t vlen = 0;
	sk_status_t st;

	st = sk_kv_get(kv, key, strlen(key), buf, cap - 1, &vlen, NULL, NULL,
		       &res);
	if (st != SK_OK || (res != SK_KV_OK && res != SK_KV_NOT_FOUND))
		FAIL("get %s: %s, %s", key, sk_status_str(st),
		     sk_kv_res_str(res));
	if (res == SK_KV_NOT_FOUND)
		return false;
	buf[vlen < cap - 1 ? vlen : cap - 1] = 0;
	return true;
}

static void reader(void)
{
	char floor_k[NDATA][KMAX], buf[VMAX + 1], want[VMAX + 1], f[32];
	uint64_t last[NDATA] = { 0 }, x = 0xabcdef + me, got = 0, absent = 0;
	unsigned long long fseq;
	unsigned n;
	char what;

	for (unsigned k = 0; k < NDATA; k++)
		key_of(floor_k[k], me, "floor", me, k);
	key_of(stop_key, me, "stop", me, 0);
	for (n = 0; n < READS_MAX; n++) {
		unsigned k = rnd(&x) % NDATA;
		uint64_t fl = 0;
		int deleted = 0;

		if (n % 64 == 0 && get_own(stop_key, f, sizeof(f)))
			break;
		if (get_own(floor_k[k], f, sizeof(f))) {
			if (sscanf(f, "%c %llu", &what, &fseq) != 2)
				FAIL("floor %s: '%s'", floor_k[k], f);
			fl = fseq;
			deleted = what == 'd';
		}
		for (int i = 0; i < 2; i++) {
			enum sk_kv_res res;
			unsigned long long s;
			unsigned kk;
			size_t vlen = 0;
			sk_status_t st;

			st = sk_kv_get(kv, data_key[k], strlen(data_key[k]),
				       buf, VMAX, &vlen, NULL, NULL, &res);
			if (st != SK_OK)
				FAIL("get %s: %s", data_key[k],
				     sk_status_str(st));
			if (res == SK_KV_NOT_FOUND) {
				absent++;
				continue;
			}
			if (res != SK_KV_OK || vlen > VMAX)
				FAIL("get %s: %s, %zu bytes", data_key[k],
				     sk_kv_res_str(res), vlen);
			buf[vlen] = 0;
			if (sscanf(buf, "k=%u s=%llu ", &kk, &s) != 2 ||
			    kk != k || s == 0 || vlen != value_make(want, k, s) ||
			    memcmp(buf, want, vlen) != 0)
				FAIL("key %u: a value never written: '%.40s' "
				     "(%zu bytes)", k, buf, vlen);
			if (s < last[k])
				FAIL("key %u: seq %llu after %" PRIu64
				     " (not monotonic)", k, s, last[k]);
			if (s < fl || (deleted && s == fl))
				FAIL("key %u: seq %llu, but %s %" PRIu64
				     " before the GET began", k, s,
				     deleted ? "deleted after" : "stored",
				     fl);
			last[k] = s;
			got++;
		}
	}
	if (n == READS_MAX)
		FAIL("no stop after %u reads", READS_MAX);
	printf("rank %u: %" PRIu64 " values, %" PRIu64 " misses; location "
	       "cache %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64
	       " skipped; one-sided %" PRIu64 ", rpc %" PRIu64 ", retries %"
	       PRIu64 ", copies %" PRIu64 "\n", me, got, absent,
	       kv->loc_st.hits, kv->loc_st.misses, kv->loc_st.skipped,
	       kv->st.gets_onesided, kv->st.gets_rpc, kv->st.read_retries,
	       kv->copies);
	/* Where the owner's region is mapped here, GETs copy it and the
	 * cache is not used (SKIFF_KV_GET=read turns copies off). */
	if (kv->copies == 0 && kv->loc_st.hits == 0)
		FAIL("no GET took the location cache");
	printf("rank %u: reads ok\n", me);
}

int main(int argc, char **argv)
{
	struct sk_kv_attr attr = {
		.partitions = 16,
		.part_bytes = 64u << 10,
		.quarantine_ms = 20,
	};
	struct sk_rpc *rpc;
	unsigned long writes;
	char *end;

	me = sk_os_rank();
	nranks = sk_os_size();
	if (argc != 2 || (writes = strtoul(argv[1], &end, 10), *end) ||
	    writes == 0 || writes > WRITES_MAX || nranks < 2 ||
	    nranks > RANKS_MAX) {
		printf("usage: skrun -n N (2 to %u) loc_job WRITES (1 to %u)\n",
		       RANKS_MAX, WRITES_MAX);
		return 2;
	}
	kv = job_open(&rpc, &attr);
	for (unsigned k = 0; k < NDATA; k++)
		key_of(data_key[k], 0, "data", k, 0);
	if (me == 0)
		writer((unsigned)writes);
	else
		reader();
	if (sk_os_barrier() != 0)
		FAIL("barrier");
	sk_kv_close(kv);
	sk_rpc_destroy(rpc);
	return 0;
}
