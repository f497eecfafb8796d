/*
 * admin_job: kv's client-only ranks, flush_all, an owner's figures and a
 * GET's expiry, in a real skrun job, written from kv.h alone as skcached
 * uses them.
 *
 *   skrun -n N admin_job        (N >= 3)
 *
 * Rank 0 opens the table as a client (sk_kv_attr.clients = 1): it must
 * own no key. Every owner stores KEYS keys; then rank 0 checks:
 * - the owners' figures (SK_KV_CMD_OWNER_STATS) add up to what was
 *   stored and to every partition; asking a client rank or a rank past
 *   the job is refused (SK_ERR_INVAL);
 * - each owner's size classes (SK_KV_CMD_CLASS_STATS), asked by rpc and
 *   by the owner itself, hold its items, all in the class of a 48-byte
 *   chunk, with every set counted there; a buffer too small is refused;
 * - a DUMP of that class from every owner, 512 bytes at a time, lists
 *   each key stored exactly once (by rpc and in place);
 * - a GET says the item's expiry: 0 for none, now + exptime for a
 *   relative one;
 * - a flush_all with a delay leaves the items readable until it is due,
 *   then they are gone; one without a delay empties the table at once;
 *   a later flush replaces a pending one (memcached keeps one flush
 *   time).
 * Each rank prints "rank R: ... ok", or what failed and exits 1.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <skiff/os.h>

#include "job.h"

#define KEYS 64u
#define PARTS 32u

static struct sk_kv *kv;
static unsigned nranks;

/* One request to @rank (FLUSH, OWNER_STATS), waited for. */
static sk_status_t admin(enum sk_kv_cmd cmd, unsigned rank, int32_t delay,
			 struct sk_kv_owner_stats *os)
{
	struct sk_kv_req r = {.cmd = cmd, .rank = rank, .exptime = delay,
			      .buf = os, .cap = os ? sizeof(*os) : 0};
	sk_status_t st = sk_kv_batch(kv, &r, 1);

	if (st != SK_OK)
		return st;
	if (r.status == SK_OK && r.res != SK_KV_OK)
		FAIL("cmd %d to rank %u: answer %s", (int)cmd, rank,
		     sk_kv_res_str(r.res));
	return r.status;
}

/*
 * @rank's size classes agree with its figures: @items items (its own
 * count), every one and every set in the class of 48-byte chunks (keys
 * "k:R:I" with a 1-byte value: 32 + 8 + 1 bytes), which is the first.
 */
static void check_classes(unsigned rank, uint64_t items)
{
	static struct sk_kv_class_stats cls[SK_KV_CLASSES_MAX];
	struct sk_kv_req r = {.cmd = SK_KV_CMD_CLASS_STATS, .rank = rank,
			      .buf = cls, .cap = sizeof(cls)};
	uint64_t sum = 0;

	if (sk_kv_batch(kv, &r, 1) != SK_OK || r.status != SK_OK ||
	    r.res != SK_KV_OK)
		FAIL("classes of rank %u: %s", rank, sk_status_str(r.status));
	if (r.vlen < 40 || r.vlen > SK_KV_CLASSES_MAX ||
	    cls[0].chunk_size != 48)
		FAIL("rank %u: %zu classes, the first of %" PRIu64 " bytes",
		     rank, r.vlen, cls[0].chunk_size);
	for (size_t c = 0; c < r.vlen; c++)
		sum += cls[c].items;
	if (sum != items || cls[0].items != items ||
	    cls[0].sets < items || cls[0].item_bytes != 48 * items)
		FAIL("rank %u: classes hold %" PRIu64 " items (%" PRIu64
		     " in the first, %" PRIu64 " bytes, %" PRIu64 " sets), "
		     "its figures %" PRIu64, rank, sum, cls[0].items,
		     cls[0].item_bytes, cls[0].sets, items);
	r.cap = sizeof(cls) - 1;
	if (sk_kv_post(kv, &r) != SK_ERR_INVAL)
		FAIL("classes into too small a buffer not refused");
}

/*
 * @rank's keys of the first class, by DUMP in buffers of the least size
 * (many calls): each of them must be "k:R:I" (R an owner, I < KEYS), and
 * is marked in @seen (nranks x KEYS), which must not have it yet.
 * Returns how many.
 */
static unsigned dump_keys(unsigned rank, uint8_t *seen)
{
	static uint8_t buf[SK_KV_DUMP_MIN];
	struct sk_kv_req r = {.cmd = SK_KV_CMD_DUMP, .rank = rank,
			      .buf = buf, .cap = sizeof(buf)};
	unsigned n = 0, calls = 0;

	do {
		const struct sk_kv_dump_ent *e;
		const uint8_t *key;
		size_t off = 0;

		if (sk_kv_batch(kv, &r, 1) != SK_OK || r.status != SK_OK ||
		    r.res != SK_KV_OK)
			FAIL("dump of rank %u: %s", rank,
			     sk_status_str(r.status));
		while ((e = sk_kv_dump_next(buf, r.vlen, &off, &key))) {
			unsigned kr, ki;
			char k[32];

			memcpy(k, key, e->klen < 31 ? e->klen : 31);
			k[e->klen < 31 ? e->klen : 31] = '\0';
			if (sscanf(k, "k:%u:%u", &kr, &ki) != 2 || kr == 0 ||
			    kr >= nranks || ki >= KEYS || e->vlen != 1 ||
			    e->exptime != 0 || seen[kr * KEYS + ki]++)
				FAIL("dump of rank %u: %s (value %u, expiry "
				     "%u) twice or not ours", rank, k, e->vlen,
				     e->exptime);
			n++;
		}
		if (off != r.vlen)
			FAIL("dump of rank %u: %zu of %zu bytes walked", rank,
			     off, r.vlen);
		calls++;
	} while (r.cursor != 0);
	if (n > 21 && calls < 2)
		FAIL("dump of rank %u: %u keys in one call of 512 bytes", rank,
		     n);
	return n;
}

static void flush_all(int32_t delay)
{
	for (unsigned r = 1; r < nranks; r++) {
		sk_status_t st = admin(SK_KV_CMD_FLUSH, r, delay, NULL);

		if (st != SK_OK)
			FAIL("flush to rank %u: %s", r, sk_status_str(st));
	}
}

/* How many of every owner's keys are there. */
static unsigned present(void)
{
	char key[32], val[32];
	enum sk_kv_res res;
	unsigned n = 0;

	for (unsigned r = 1; r < nranks; r++) {
		for (unsigned i = 0; i < KEYS; i++) {
			int klen = snprintf(key, sizeof(key), "k:%u:%u", r, i);
			sk_status_t st = sk_kv_get(kv, key, (size_t)klen, val,
						   sizeof(val), NULL, NULL,
						   NULL, &res);

			if (st != SK_OK)
				FAIL("get %s: %s", key, sk_status_str(st));
			n += res == SK_KV_OK;
		}
	}
	return n;
}

static void store_all(unsigned rank)
{
	char key[32];
	enum sk_kv_res res;

	for (unsigned i = 0; i < KEYS; i++) {
		int klen = snprintf(key, sizeof(key), "k:%u:%u", rank, i);
		sk_status_t st = sk_kv_set(kv, key, (size_t)klen, "v", 1, 0, 0,
					   &res);

		if (st != SK_OK || res != SK_KV_STORED)
			FAIL("set %s: %s", key,
			     st != SK_OK ? sk_status_str(st)
					 : sk_kv_res_str(res));
	}
}

static void client(void)
{
	struct sk_kv_owner_stats os;
	uint64_t items = 0, parts = 0;
	char key[32], val[8];
	enum sk_kv_res res;
	struct sk_kv_req g = {0};
	uint32_t now;
	int klen;

	/* The owners' figures. */
	for (unsigned r = 1; r < nranks; r++) {
		sk_status_t st = admin(SK_KV_CMD_OWNER_STATS, r, 0, &os);

		if (st != SK_OK)
			FAIL("stats of rank %u: %s", r, sk_status_str(st));
		if (os.limit_bytes == 0 || os.bytes == 0 || os.reserved)
			FAIL("stats of rank %u: limit %" PRIu64 " bytes %"
			     PRIu64, r, os.limit_bytes, os.bytes);
		items += os.items;
		parts += os.partitions;
		check_classes(r, os.items);
	}
	if (items != (uint64_t)KEYS * (nranks - 1) || parts != PARTS)
		FAIL("owners hold %" PRIu64 " items in %" PRIu64 " partitions,"
		     " want %u in %u", items, parts, KEYS * (nranks - 1),
		     PARTS);
	if (admin(SK_KV_CMD_OWNER_STATS, 0, 0, &os) != SK_ERR_INVAL ||
	    admin(SK_KV_CMD_OWNER_STATS, nranks, 0, &os) != SK_ERR_INVAL)
		FAIL("stats of a client rank, or past the job, not refused");

	/* Every key, once, from the owners' dumps. */
	{
		uint8_t *seen = calloc((size_t)nranks * KEYS, 1);
		uint8_t small[SK_KV_DUMP_MIN];
		struct sk_kv_req d = {.cmd = SK_KV_CMD_DUMP, .rank = 1,
				      .buf = small, .cap = sizeof(small) - 1};
		unsigned n = 0;

		if (seen == NULL)
			FAIL("calloc");
		for (unsigned r = 1; r < nranks; r++)
			n += dump_keys(r, seen);
		if (n != KEYS * (nranks - 1))
			FAIL("dumps list %u keys, want %u", n,
			     KEYS * (nranks - 1));
		free(seen);
		if (sk_kv_post(kv, &d) != SK_ERR_INVAL)
			FAIL("a dump into %zu bytes not refused", d.cap);
		d.cap = sizeof(small);
		d.cls = SK_KV_CLASSES_MAX;
		if (sk_kv_post(kv, &d) != SK_ERR_INVAL)
			FAIL("a dump of class %u not refused", d.cls);
	}

	/* A GET's expiry. */
	klen = snprintf(key, sizeof(key), "exp:0");
	now = (uint32_t)time(NULL);
	if (sk_kv_store(kv, SK_KV_SET, key, (size_t)klen, "x", 1, 0, 1000, 0,
			NULL, &res) != SK_OK || res != SK_KV_STORED)
		FAIL("set %s", key);
	g = (struct sk_kv_req){.cmd = SK_KV_CMD_GET, .key = key,
			       .klen = (size_t)klen, .buf = val,
			       .cap = sizeof(val)};
	if (sk_kv_batch(kv, &g, 1) != SK_OK || g.status != SK_OK ||
	    g.res != SK_KV_OK)
		FAIL("get %s", key);
	if (g.expiry < now + 998 || g.expiry > now + 1002)
		FAIL("expiry %u, want about %u", g.expiry, now + 1000);
	g.expiry = 7;
	if (sk_kv_store(kv, SK_KV_SET, key, (size_t)klen, "x", 1, 0, 0, 0,
			NULL, &res) != SK_OK || sk_kv_batch(kv, &g, 1) != SK_OK ||
	    g.res != SK_KV_OK || g.expiry != 0)
		FAIL("expiry %u of an item that never expires", g.expiry);

	/* flush_all in 2 s: still there, then gone. */
	if (present() != KEYS * (nranks - 1))
		FAIL("%u keys before the flush", present());
	flush_all(2);
	if (present() != KEYS * (nranks - 1))
		FAIL("a flush in 2 s took keys at once");
	sk_os_sleep_ms(3000);
	if (present() != 0)
		FAIL("%u keys left 3 s after a flush in 2 s", present());

	/* A pending flush replaced by a later one: the later one's time. */
	for (unsigned r = 1; r < nranks; r++)
		store_all(r);
	flush_all(1);
	flush_all(60);
	sk_os_sleep_ms(2000);
	if (present() != KEYS * (nranks - 1))
		FAIL("the flush replaced by a later one still ran");
	flush_all(0);
	if (present() != 0)
		FAIL("%u keys left after flush_all", present());
	printf("rank 0: client: owners' figures, expiry, flush_all ok\n");
}

int main(void)
{
	struct sk_kv_attr attr = {.partitions = PARTS,
				  .part_bytes = 128u << 10, .clients = 1};
	struct sk_kv_attr bad;
	char key[32];
	struct sk_rpc *rpc;
	sk_status_t st;

	me = sk_os_rank();
	nranks = sk_os_size();
	if (nranks < 3)
		FAIL("run it with skrun -n 3 or more");
	/* A partition's size just outside its bounds (64 KiB to 8 GiB,
	 * what a slot's offset addresses) is refused before anything is
	 * set up; then the table opens on the same rpc. */
	if (sk_rpc_open(&rpc) != SK_OK)
		FAIL("sk_rpc_open");
	bad = attr;
	bad.part_bytes = ((size_t)8 << 30) + 1;
	if (sk_kv_open(rpc, &bad, &kv) != SK_ERR_INVAL)
		FAIL("part_bytes 8 GiB + 1 was not refused");
	bad.part_bytes = (64u << 10) - 1;
	if (sk_kv_open(rpc, &bad, &kv) != SK_ERR_INVAL)
		FAIL("part_bytes 64 KiB - 1 was not refused");
	st = sk_kv_open(rpc, &attr, &kv);
	if (st != SK_OK)
		FAIL("sk_kv_open: %s", sk_status_str(st));
	/* A client owns no key. */
	for (unsigned i = 0; i < 1000; i++) {
		int klen = snprintf(key, sizeof(key), "any:%u", i);

		if (sk_kv_owner_of(kv, key, (size_t)klen) == 0)
			FAIL("rank 0, a client, owns %s", key);
	}
	if (me != 0)
		store_all(me);
	if (sk_os_barrier() != 0)
		FAIL("barrier");
	if (me != 0) {
		/* The owner's own figures, in place (no rpc). */
		struct sk_kv_owner_stats os;

		uint8_t *seen = calloc((size_t)nranks * KEYS, 1);

		if (admin(SK_KV_CMD_OWNER_STATS, me, 0, &os) != SK_OK)
			FAIL("own figures");
		check_classes(me, os.items);
		if (seen == NULL || dump_keys(me, seen) != os.items)
			FAIL("own dump: not its %" PRIu64 " items", os.items);
		free(seen);
	}
	/* No set lands while an owner looks at its own. */
	if (sk_os_barrier() != 0)
		FAIL("barrier");
	if (me == 0)
		client();
	if (sk_os_barrier() != 0)
		FAIL("barrier");
	sk_kv_close(kv);
	sk_rpc_destroy(rpc);
	if (me != 0)
		printf("rank %u: owner ok\n", me);
	return 0;
}
