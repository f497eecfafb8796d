/*
 * Torn-read stress of the kv partition store (kv/store.c), in one
 * process: a writer thread owns a partition and keeps rewriting a few
 * keys with values of several sizes (32 B to 64 KiB), each carrying a
 * stamp (key id, write sequence) and its own checksum; reader threads do
 * what a one-sided GET does, on the live region: copy the bucket pair,
 * then the item, with a copy that orders nothing, as RDMA READ orders
 * nothing (the 64-byte lines in a random order, with pauses and yields
 * between lines), then apply the acceptance rules, the lease included.
 *
 * Every accepted value must be exactly one that was written: its bytes
 * those of (key, seq), its checksum good, its key the key asked, its seq
 * issued already and not older than one this reader saw before. One bad
 * value ends the run with exit status 3.
 *
 * --no-check leaves out rule (1), the item check, so that the run tests
 * what immutability, quarantine and the lease hold by themselves. Two
 * ways of breaking them must then be caught (tests/kv/torn.sh): built
 * with the broken publish (kv_stress_torn_broken, SK_KV_BROKEN_PUBLISH)
 * the writer rewrites live items in place; with --reuse-now the owner's
 * quarantine is 0 (retired chunks reused at once) while readers keep
 * their lease. With the check, neither may let a bad value through.
 *
 * --shift (with --evict): values of 2,000 to 4,000 bytes for 100 Q, then
 * of 32 to 300 for 100 Q, in turn, so that the store cuts the idle large
 * classes' free chunks into small ones (chunk_split), with readers on
 * them; the writer prints how many it cut.
 *
 * --evict KiB: the owner's store is that small (32 KiB or more), 64 keys
 * of 32 to 4,000 bytes, and the store's CLOCK eviction is on, so that
 * sets evict other keys' items (kv/README.md, "When full"); readers hint what they read, and the writer (the owner's
 * thread, as KV_RPC_HINT's handler would be) sets those reference bits.
 * An evicted key reads as a miss; the same rules hold for every value
 * accepted.
 *
 * --loc: each reader keeps a location cache (kv/loc.h, the same code a
 * client's GET runs) and, with a young entry for the key, copies the
 * cached item alone, its lines in a random order, judged by
 * kv_loc_accept; one not accepted starts again from the pair.
 * --loc-break age|cas|kill leaves one of kv_loc_accept's conditions out
 * (the age under 64 leases, the CAS compare, the look at the kill), to
 * see which of them the stress catches: without the kill's a reader
 * takes the killed item its entry names after the key moved on, whole
 * and passing its check, and is caught at once (exit 3). The age rule
 * and the CAS compare guard what this load cannot reach: an entry older
 * than 16 Q whose item's chunk the owner reused 64 times (its generation
 * back where it was), read in the instant between a touch's first store
 * and its publish (a reader here reads every key every few microseconds,
 * so a moved key's entry goes at its next GET); tests/kv/test_loc.c
 * builds those cases step by step instead.
 *
 * Besides being one written, never older than one the reader saw before:
 * an accepted value's seq must be newer than any the writer had replaced
 * or deleted before the GET began (g.gone, stored by the writer after its
 * call returned, loaded by the reader before its first copy): a GET
 * returns a value that was current at some moment during it.
 *
 * The readers' copies race with the writer's stores on purpose. Both go
 * through 8-byte atomics (the writer's relaxed, in kv/store.c; the
 * readers' acquire, below), so that ThreadSanitizer sees atomics, not a
 * data race, and still checks all the rest (the counters, the writer's
 * own state). No suppression is needed.
 *
 *   kv_stress_torn [--gets N] [--readers N] [--no-check] [--reuse-now]
 *                  [--seed S] [--quarantine-ms Q] [--evict KiB [--shift]]
 *                  [--loc] [--loc-break age|cas|kill]
 * exit 0: N GETs accepted, all good; 3: a bad value accepted; 1: a
 * failure of the test itself; 2: usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loc.h"
#include "store.h"

#define NKEYS      64 /* at most; 16 but with --evict */
#define NBUCKETS   64
#define STORE_SIZE (64u << 20)
#define VMAX       65536u
#define STAMP_SIZE 24u /* magic, key id, seq, vlen */
#define READERS_MAX 16

/* Value sizes, by sixteenths: large ones rarer, as they cost the readers
 * most time (a 64 KiB GET is 1025 lines to copy and check). */
static const uint32_t sizes[16] = { VMAX, 16000, 16000, 4000, 4000, 4000,
				    1000, 1000, 1000, 1000, 120, 120, 120,
				    32, 32, 32 };
#define STAMP_MAGIC 0x6e726f74u /* "torn" */

static const struct sk_kv_hkey hkey = { 0x0123456789abcdefull,
					0xfedcba9876543210ull };

static struct {
	uint8_t *region;
	struct sk_kv_part *part;
	struct sk_kv_view view;
	uint64_t lease_ns;
	uint64_t target;
	int no_check;
	int evict;
	int shift;                  /* --shift */
	uint64_t shift_ns, shift_t0; /* its phase length, and its start */
	uint64_t seed;
	/* Shared counters: atomics. */
	uint64_t issued[NKEYS];     /* highest seq handed to the store */
	uint64_t gone[NKEYS];       /* every seq up to this one replaced or
				     * deleted */
	int loc;                    /* --loc */
	int loc_break;              /* --loc-break: 2 age, 3 cas, 4 kill */
	unsigned nkeys;             /* keys in use */
	uint64_t hints;             /* --evict: keys read, a bit each */
	uint64_t key_hash[NKEYS];
	uint64_t accepted;
	int stop;
	int bad;
} g;

static char keys[NKEYS][24];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* FNV-1a over 8-byte words then bytes: the value's own checksum,
 * independent of kv's hash. */
static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull, w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0x100000001b3ull;
	}
	while (n--)
		h = (h ^ *p++) * 0x100000001b3ull;
	return h;
}

/* The value of (key, seq): stamp, bytes from (key, seq), checksum. */
static void value_make(uint8_t *v, uint32_t vlen, uint32_t key, uint64_t seq)
{
	uint64_t x = (uint64_t)key << 48 ^ seq ^ g.seed, r, sum;
	uint32_t magic = STAMP_MAGIC, i;

	memcpy(v, &magic, 4);
	memcpy(v + 4, &key, 4);
	memcpy(v + 8, &seq, 8);
	memcpy(v + 16, &vlen, 4);
	memset(v + 20, 0, 4);
	for (i = STAMP_SIZE; i + 8 <= vlen - 8; i += 8) {
		r = splitmix(&x);
		memcpy(v + i, &r, 8);
	}
	for (; i < vlen - 8; i++)
		v[i] = splitmix(&x);
	sum = fnv(v, vlen - 8);
	memcpy(v + vlen - 8, &sum, 8);
}

/* 0 if v is exactly the value (key, seq) written, for its seq. */
static int value_verify(const uint8_t *v, uint32_t vlen, uint32_t key,
			uint64_t *seq_p, uint8_t *scratch, const char **why)
{
	uint32_t magic, k, len;
	uint64_t seq, sum;

	*why = "size not one of the written sizes";
	if (vlen < STAMP_SIZE + 8 || vlen > VMAX)
		return -1;
	memcpy(&magic, v, 4);
	memcpy(&k, v + 4, 4);
	memcpy(&seq, v + 8, 8);
	memcpy(&len, v + 16, 4);
	memcpy(&sum, v + vlen - 8, 8);
	*seq_p = seq;
	*why = "checksum";
	if (sum != fnv(v, vlen - 8))
		return -1;
	*why = "stamp";
	if (magic != STAMP_MAGIC || len != vlen)
		return -1;
	*why = "stamp's key is not the key asked";
	if (k != key)
		return -1;
	*why = "seq never issued";
	if (seq == 0 || seq > __atomic_load_n(&g.issued[key], __ATOMIC_ACQUIRE))
		return -1;
	*why = "bytes differ from those written for (key, seq)";
	value_make(scratch, vlen, key, seq);
	if (memcmp(scratch, v, vlen))
		return -1;
	return 0;
}

/* ---- the writer: the partition's owner ---- */

/* The item of a SET by rpc as its client builds it (kv_int.h's
 * KV_RPC_STORE): header, key, value, zeros, sealed with reserved 0. */
static size_t img_build(uint8_t *img, const char *key, const void *v,
			uint32_t vlen, uint32_t flags)
{
	struct sk_kv_item_hdr ih = {.flags = flags, .vlen = vlen};
	size_t klen = strlen(key), len = sk_kv_item_size(klen, vlen);

	ih.klen = (uint8_t)klen;
	memset(img, 0, len);
	memcpy(img, &ih, sizeof(ih));
	memcpy(img + SK_KV_ITEM_HDR, key, klen);
	memcpy(img + SK_KV_ITEM_HDR + klen, v, vlen);
	ih.check = sk_kv_item_seal(&hkey, img, len);
	memcpy(img, &ih.check, sizeof(ih.check));
	return len;
}

static void *writer(void *arg)
{
	uint8_t *v = malloc(VMAX);
	uint8_t *img = malloc(sk_kv_item_size(SK_KV_KEY_MAX, VMAX));
	size_t img_len = 0;
	uint64_t x = g.seed ^ 0x5eed, seq[NKEYS] = { 0 }, writes = 0,
		 deletes = 0, waits = 0, gave_up = 0, hinted = 0, t_wait;
	int st, given_up;

	if (!v || !img) {
		fprintf(stderr, "writer: out of memory\n");
		__atomic_store_n(&g.bad, 1, __ATOMIC_RELAXED);
		free(v);
		free(img);
		return NULL;
	}
	while (!__atomic_load_n(&g.stop, __ATOMIC_RELAXED)) {
		uint64_t r = splitmix(&x);
		uint32_t key = r % g.nkeys, vlen = sizes[(r >> 8) % 16];
		uint64_t hints = __atomic_exchange_n(&g.hints, 0,
						     __ATOMIC_RELAXED);

		/* The readers' hints, applied by the owner's thread. */
		for (unsigned k = 0; hints; k++, hints >>= 1)
			if (hints & 1)
				hinted += sk_kv_part_ref(g.part, g.key_hash[k]);

		if ((r >> 16) % 32 == 0) {
			st = sk_kv_part_delete(g.part, keys[key],
					       strlen(keys[key]), now_ns());
			if (st && st != SK_KV_ERR_NOT_FOUND)
				goto err;
			__atomic_store_n(&g.gone[key], seq[key],
					 __ATOMIC_RELEASE);
			deletes++;
			continue;
		}
		/* --evict: values up to 4000 bytes, so that the 64 keys
		 * outgrow a small store by far and many classes share it. */
		if (g.evict && vlen > 4000)
			vlen = 32 + (uint32_t)(r >> 24) % 3969;
		/* --shift: large values, then small ones, in turn: in each
		 * small phase the large classes go idle and the store cuts
		 * their free chunks for the small (chunk_split). */
		if (g.shift)
			vlen = (now_ns() - g.shift_t0) / g.shift_ns % 2 ?
				       32 + (uint32_t)(r >> 24) % 269 :
				       2000 + (uint32_t)(r >> 24) % 2001;
		seq[key]++;
		value_make(v, vlen, key, seq[key]);
		/* Issued before it can be seen. */
		__atomic_store_n(&g.issued[key], seq[key], __ATOMIC_RELEASE);
		t_wait = now_ns();
		given_up = 0;
		/* Every other set as a SET by rpc arrives: the item built
		 * and sealed by its sender (sk_kv_part_put). */
		if (seq[key] % 2)
			img_len = img_build(img, keys[key], v, vlen, key);
		for (;;) {
			if (seq[key] % 2)
				st = sk_kv_part_put(g.part, img, img_len, 0,
						    now_ns(), NULL);
			else
				st = sk_kv_part_set(g.part, keys[key],
						    strlen(keys[key]), v, vlen,
						    NULL, 0, key, 0, now_ns(),
						    NULL);
			if (st != SK_KV_ERR_QUARANTINE_FULL &&
			    st != SK_ERR_NOMEM)
				break;
			/* With eviction, a class may have no chunk at all
			 * (the store was carved for others): after 10 Q,
			 * this value is given up (issued, never seen). */
			if (g.evict && now_ns() - t_wait > 40 * g.lease_ns) {
				gave_up++;
				given_up = 1;
				st = 0;
				break;
			}
			/* Wait for the oldest retired items to age Q. */
			waits++;
			sched_yield();
		}
		if (st)
			goto err;
		/* Set: what came before it left its slot. */
		if (!given_up)
			__atomic_store_n(&g.gone[key], seq[key] - 1,
					 __ATOMIC_RELEASE);
		writes++;
	}
	printf("writer: %" PRIu64 " sets, %" PRIu64 " deletes, %" PRIu64
	       " waits for quarantine\n", writes, deletes, waits);
	if (g.evict) {
		struct sk_kv_part_stats ps;

		sk_kv_part_stats(g.part, &ps);
		printf("writer: %" PRIu64 " evicted, %" PRIu64 " hints set a "
		       "bit, %" PRIu64 " values given up (no chunk in 10 Q), "
		       "%" PRIu64 " chunks split\n",
		       ps.evicted, hinted, gave_up, ps.split);
	}
	free(v);
	free(img);
	return NULL;
err:
	fprintf(stderr, "writer: %s\n", sk_kv_status_str(st));
	__atomic_store_n(&g.bad, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELAXED);
	free(v);
	free(img);
	return NULL;
}

/* ---- the readers: one-sided GETs ---- */

struct reader {
	pthread_t tid;
	unsigned id;
	uint64_t x;                 /* its random state */
	uint64_t accepted, misses, r_check, r_malformed, r_lease;
	uint64_t loc_hits, loc_misses;
	struct kv_loc *loc;         /* --loc: its location cache */
	uint64_t last[NKEYS];       /* newest seq this reader accepted */
	uint16_t order[(SK_KV_ITEM_HDR + 16 + VMAX) / SK_KV_LINE + 4];
};

/*
 * What a NIC's READ does to len bytes at off: each 64-byte line of the
 * region that the range touches copied in a random order (items are
 * 16-byte aligned, so their first and last lines may be shared with
 * other items), each 8-byte word whole (an atomic load: the race
 * with the owner's stores is the point), with yields and short pauses
 * between lines so that the owner can move on meanwhile. The loads are
 * acquire loads: the next READ is posted after this one completes, so
 * what this one saw (the slot's release store) comes before it, as a
 * completion orders it. (An acquire fence after relaxed loads says the
 * same, but ThreadSanitizer does not model fences; on x86 both are plain
 * loads.)
 */
static void nic_read(struct reader *rd, uint64_t off, size_t len, void *dst)
{
	/* Lines (64-byte blocks of the region) the READ touches; it need
	 * not start or end on one (items are in 16-byte units). */
	uint64_t first = off / SK_KV_LINE, end = off + len;
	unsigned n = (unsigned)((end - 1) / SK_KV_LINE - first + 1);
	const uint64_t *src = (const uint64_t *)g.region;
	uint64_t *d = dst;
	unsigned i, j;

	for (i = 0; i < n; i++)
		rd->order[i] = (uint16_t)i;
	for (i = n - 1; i > 0; i--) {
		uint16_t t;

		j = splitmix(&rd->x) % (i + 1);
		t = rd->order[i];
		rd->order[i] = rd->order[j];
		rd->order[j] = t;
	}
	for (i = 0; i < n; i++) {
		uint64_t r = splitmix(&rd->x), line = first + rd->order[i];
		uint64_t a = line * SK_KV_LINE, b = a + SK_KV_LINE, w;

		if (a < off)
			a = off;
		if (b > end)
			b = end;
		for (w = a / 8; w < b / 8; w++)
			d[w - off / 8] = __atomic_load_n(&src[w],
							 __ATOMIC_ACQUIRE);
		if (r % 1024 == 0)
			sched_yield();
		else if (r % 32 == 1)
			for (w = 0; w < (r >> 32) % 1000; w++)
				__asm__ __volatile__("" ::: "memory");
	}
}

static void report_bad(struct reader *rd, uint32_t key, const char *why,
		       uint64_t seq, uint32_t vlen)
{
	fprintf(stderr,
		"reader %u: ACCEPTED A BAD VALUE for key %u (%s): vlen %u, "
		"stamp seq %" PRIu64 ", issued %" PRIu64 ", last seen %" PRIu64
		"\n", rd->id, key, why, vlen, seq,
		__atomic_load_n(&g.issued[key], __ATOMIC_ACQUIRE),
		rd->last[key]);
	__atomic_store_n(&g.bad, 3, __ATOMIC_RELAXED);
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELAXED);
}

static void *reader(void *arg)
{
	struct reader *rd = arg;
	/* aligned_alloc wants a multiple of the alignment; items are of
	 * 16-byte units. */
	size_t max = (sk_kv_item_size(16, VMAX) + 63) / 64 * 64;
	uint8_t *item = aligned_alloc(64, max), *scratch = malloc(VMAX);
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
	uint8_t pair[SK_KV_PAIR_SIZE] __attribute__((aligned(64)));
	uint64_t batch = 0;

	if (g.loc)
		rd->loc = calloc(KV_LOC_ENTRIES, sizeof(*rd->loc));
	if (!item || !scratch || (g.loc && !rd->loc)) {
		fprintf(stderr, "reader: out of memory\n");
		__atomic_store_n(&g.bad, 1, __ATOMIC_RELAXED);
		goto out;
	}
	while (!__atomic_load_n(&g.stop, __ATOMIC_RELAXED)) {
		uint32_t key = splitmix(&rd->x) % g.nkeys;
		size_t klen = strlen(keys[key]);
		struct sk_kv_item_view v;
		struct sk_kv_plan plan;
		const struct sk_kv_cand *got = NULL;
		const struct kv_loc *e = NULL;
		struct kv_loc lc;
		const char *why;
		uint64_t t0, seq = 0, gone;
		unsigned n, i;
		int st;

		sk_kv_read_plan(&g.view, &hkey, keys[key], klen, &plan);
		gone = __atomic_load_n(&g.gone[key], __ATOMIC_ACQUIRE);
		t0 = now_ns();
		if (g.loc)
			e = kv_loc_find(rd->loc, plan.h, 0, t0,
					g.loc_break == 2 ? UINT64_MAX :
							   g.lease_ns);
		if (e && e->cand.len <= max) {
			/* The entry's item alone, judged as a client's GET
			 * does; not taken, the GET starts again from the
			 * pair. */
			uint64_t cas;

			lc = *e;
			nic_read(rd, lc.cand.off, lc.cand.len, item);
			v.cas = 0;
			v.killed = 0;
			st = g.no_check ?
				     sk_kv_read_parse(&plan, &lc.cand, item,
						      keys[key], klen, 0, &v) :
				     sk_kv_read_check(&plan, &lc.cand, item,
						      keys[key], klen, 0, &v);
			cas = g.loc_break == 3 ? lc.cas : v.cas;
			if (kv_loc_accept(&lc, st, cas,
					  g.loc_break == 4 ? 0 : (int)v.killed,
					  t0, now_ns(),
					  g.loc_break == 2 ? UINT64_MAX >>
						  SK_KV_GEN_BITS :
							     g.lease_ns)) {
				rd->loc_hits++;
				got = &lc.cand;
				goto judged;
			}
			rd->loc_misses++;
			kv_loc_drop(rd->loc, plan.h, &lc);
			t0 = now_ns();
		}
		nic_read(rd, plan.pair_off, SK_KV_PAIR_SIZE, pair);
		st = sk_kv_read_pick(&g.view, &plan, pair, cands, &n);
		if (st) {
			fprintf(stderr, "reader: %s\n", sk_kv_status_str(st));
			__atomic_store_n(&g.bad, 1, __ATOMIC_RELAXED);
			break;
		}
		st = SK_KV_ERR_NOT_FOUND;
		for (i = 0; i < n; i++) {
			if (cands[i].len > max)
				continue; /* not one of ours */
			nic_read(rd, cands[i].off, cands[i].len, item);
			st = g.no_check ?
				     sk_kv_read_parse(&plan, &cands[i], item,
						      keys[key], klen, 0, &v) :
				     sk_kv_read_check(&plan, &cands[i], item,
						      keys[key], klen, 0, &v);
			if (st != SK_KV_ERR_OTHER_KEY) {
				got = &cands[i];
				break;
			}
		}
judged:
		/* Rule (4): a GET slower than the lease is thrown away. */
		if (now_ns() - t0 >= g.lease_ns) {
			rd->r_lease++;
			continue;
		}
		if (st == SK_KV_ERR_NOT_FOUND || st == SK_KV_ERR_OTHER_KEY) {
			rd->misses++;
			continue;
		}
		if (st == SK_KV_ERR_BAD_CHECK) {
			rd->r_check++;
			continue;
		}
		if (st == SK_ERR_MALFORMED) {
			rd->r_malformed++;
			continue;
		}
		if (st) {
			fprintf(stderr, "reader: %s\n", sk_kv_status_str(st));
			__atomic_store_n(&g.bad, 1, __ATOMIC_RELAXED);
			break;
		}
		if (value_verify(v.value, v.vlen, key, &seq, scratch, &why)) {
			report_bad(rd, key, why, seq, v.vlen);
			break;
		}
		if (v.flags != key) {
			report_bad(rd, key, "client flags", seq, v.vlen);
			break;
		}
		/* Slot reads of one thread move forward in time. */
		if (seq < rd->last[key]) {
			report_bad(rd, key, "older than one seen before", seq,
				   v.vlen);
			break;
		}
		if (seq <= gone) {
			report_bad(rd, key, "replaced before the GET began",
				   seq, v.vlen);
			break;
		}
		rd->last[key] = seq;
		if (g.loc)
			kv_loc_fill(rd->loc, plan.h, 0, got, v.cas,
				    (int)v.killed, t0);
		rd->accepted++;
		if (g.evict)
			__atomic_fetch_or(&g.hints, 1ull << key,
					  __ATOMIC_RELAXED);
		if (++batch == 256) {
			if (__atomic_add_fetch(&g.accepted, batch,
					       __ATOMIC_RELAXED) >= g.target)
				__atomic_store_n(&g.stop, 1, __ATOMIC_RELAXED);
			batch = 0;
		}
	}
out:
	free(rd->loc);
	free(item);
	free(scratch);
	return NULL;
}

static int parse_u64(const char *s, uint64_t *v_p)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		return -1;
	*v_p = v;
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: kv_stress_torn [--gets N] [--readers N] "
			"[--no-check] [--reuse-now] [--seed S] "
			"[--quarantine-ms Q] [--evict KiB [--shift]] [--loc] "
			"[--loc-break age|cas|kill]\n");
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t readers = 3, q_ms = 20, t0, secs100, store = STORE_SIZE;
	int reuse_now = 0;
	uint64_t acc = 0, miss = 0, rc = 0, rm = 0, rl = 0, lh = 0, lm = 0;
	struct sk_kv_part_cfg cfg = { .nbuckets = NBUCKETS, .epoch = 1 };
	static struct reader rds[READERS_MAX];
	pthread_t wt;
	unsigned i;
	int a, st;

	g.target = 1000000;
	g.seed = 1;
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--no-check")) {
			g.no_check = 1;
			continue;
		}
		if (!strcmp(argv[a], "--reuse-now")) {
			reuse_now = 1;
			continue;
		}
		if (!strcmp(argv[a], "--loc")) {
			g.loc = 1;
			continue;
		}
		if (!strcmp(argv[a], "--shift")) {
			g.shift = 1;
			continue;
		}
		if (a + 1 >= argc)
			return usage();
		if (!strcmp(argv[a], "--gets")) {
			if (parse_u64(argv[++a], &g.target) || !g.target)
				return usage();
		} else if (!strcmp(argv[a], "--readers")) {
			if (parse_u64(argv[++a], &readers) || !readers ||
			    readers > READERS_MAX)
				return usage();
		} else if (!strcmp(argv[a], "--seed")) {
			if (parse_u64(argv[++a], &g.seed))
				return usage();
		} else if (!strcmp(argv[a], "--evict")) {
			/* Room for a few of the largest values' chunks. */
			if (parse_u64(argv[++a], &store) || store < 32 ||
			    store > STORE_SIZE >> 10)
				return usage();
			store <<= 10;
			g.evict = 1;
		} else if (!strcmp(argv[a], "--loc-break")) {
			a++;
			g.loc = 1;
			if (!strcmp(argv[a], "age"))
				g.loc_break = 2;
			else if (!strcmp(argv[a], "cas"))
				g.loc_break = 3;
			else if (!strcmp(argv[a], "kill"))
				g.loc_break = 4;
			else
				return usage();
		} else if (!strcmp(argv[a], "--quarantine-ms")) {
			if (parse_u64(argv[++a], &q_ms) || !q_ms ||
			    q_ms > 60000)
				return usage();
		} else {
			return usage();
		}
	}
	if (g.shift && !g.evict)
		return usage();
	g.nkeys = g.evict ? NKEYS : 16;
	for (i = 0; i < g.nkeys; i++) {
		snprintf(keys[i], sizeof(keys[i]), "torn-key-%02u", i);
		g.key_hash[i] = sk_kv_key_hash(&hkey, keys[i],
						strlen(keys[i]));
	}

	cfg.hkey = hkey;
	cfg.quarantine_ns = q_ms * 1000000;
	g.lease_ns = sk_kv_lease_ns(cfg.quarantine_ns);
	g.shift_ns = 100 * cfg.quarantine_ns; /* twice the store's idle */
	g.shift_t0 = now_ns();
	if (reuse_now)
		cfg.quarantine_ns = 0;
	if (g.evict)
		cfg.evict = sk_kv_part_evict_clock;
	g.region = aligned_alloc(4096, STORE_SIZE);
	if (!g.region) {
		fprintf(stderr, "kv_stress_torn: out of memory\n");
		return 1;
	}
	/* --evict: the same region, its store cut short. */
	st = sk_kv_part_init(g.region, g.evict ? store : STORE_SIZE, &cfg,
			     &g.part);
	if (st) {
		fprintf(stderr, "kv_stress_torn: init: %s\n",
			sk_kv_status_str(st));
		return 1;
	}
	st = sk_kv_view_from_hdr(g.region, SK_KV_HDR_SIZE, &g.view);
	if (st) {
		fprintf(stderr, "kv_stress_torn: header: %s\n",
			sk_kv_status_str(st));
		return 1;
	}
#ifdef SK_KV_BROKEN_PUBLISH
	printf("kv_stress_torn: BROKEN publish (in place)\n");
#endif
	printf("kv_stress_torn: %" PRIu64 " GETs, %" PRIu64 " readers, "
	       "Q %" PRIu64 " ms%s, lease %" PRIu64 " us, rule (1) %s%s\n",
	       g.target, readers, q_ms,
	       reuse_now ? " for readers, 0 (NO quarantine) for the owner" :
			   "",
	       g.lease_ns / 1000, g.no_check ? "OFF" : "on",
	       g.evict ? ", a small store that evicts" : "");
	if (g.loc)
		printf("kv_stress_torn: readers with a location cache%s%s\n",
		       g.loc_break ? ", BROKEN: no " : "",
		       g.loc_break == 2 ? "age under 64 leases" :
		       g.loc_break == 4 ? "look at the kill" :
		       g.loc_break == 3 ? "CAS compare" : "");
	fflush(stdout);

	t0 = now_ns();
	if (pthread_create(&wt, NULL, writer, NULL))
		return 1;
	for (i = 0; i < readers; i++) {
		rds[i].id = i;
		rds[i].x = g.seed * 1000 + i;
		if (pthread_create(&rds[i].tid, NULL, reader, &rds[i])) {
			__atomic_store_n(&g.stop, 1, __ATOMIC_RELAXED);
			readers = i;
			__atomic_store_n(&g.bad, 1, __ATOMIC_RELAXED);
			break;
		}
	}
	for (i = 0; i < readers; i++)
		pthread_join(rds[i].tid, NULL);
	__atomic_store_n(&g.stop, 1, __ATOMIC_RELAXED);
	pthread_join(wt, NULL);
	secs100 = (now_ns() - t0) / 10000000;

	for (i = 0; i < readers; i++) {
		acc += rds[i].accepted;
		miss += rds[i].misses;
		rc += rds[i].r_check;
		rm += rds[i].r_malformed;
		rl += rds[i].r_lease;
		lh += rds[i].loc_hits;
		lm += rds[i].loc_misses;
	}
	printf("kv_stress_torn: %" PRIu64 " GETs accepted, %" PRIu64
	       " misses (deleted), retries: %" PRIu64 " bad check, %" PRIu64
	       " malformed, %" PRIu64 " over the lease; %" PRIu64 ".%02" PRIu64
	       " s\n", acc, miss, rc, rm, rl, secs100 / 100, secs100 % 100);
	if (g.loc)
		printf("kv_stress_torn: location cache: %" PRIu64 " accepted "
		       "from the item copied alone, %" PRIu64 " not\n",
		       lh, lm);
	sk_kv_part_cleanup(g.part);
	free(g.region);
	if (g.bad == 3) {
		printf("kv_stress_torn: FAILED: a torn or wrong value was "
		       "accepted\n");
		return 3;
	}
	if (g.loc && lh == 0 && !g.bad) {
		printf("kv_stress_torn: FAILED: the location cache was never "
		       "used\n");
		return 1;
	}
	if (g.bad || acc < g.target) {
		printf("kv_stress_torn: FAILED\n");
		return 1;
	}
	printf("kv_stress_torn: ok, every accepted value was one written\n");
	return 0;
}
