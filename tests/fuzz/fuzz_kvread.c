/*
 * libFuzzer target for kv's reader (kv/store.h, "the reader"): the
 * functions that judge bytes a one-sided GET copied out of a peer's
 * region, which a faulty or hostile owner, a torn READ or a stray write
 * into the reader's own buffer can fill with anything.
 *
 * The first byte picks what the rest is:
 *
 *  0  a region header (sk_kv_view_from_hdr). Oracle: an accepted header
 *     gives a view whose buckets and store lie inside the sizes it names.
 *  1  a bucket pair (sk_kv_read_pick) under a good view. Oracle: every
 *     candidate lies inside the view's store, at most SK_KV_PAIR_SLOTS of
 *     them, and none on SK_KV_ERR_STALE.
 *  2  an item (sk_kv_read_check and sk_kv_read_parse) of any length.
 *     Oracle: an accepted item's key and value lie inside the bytes given.
 *  3  a mutation of a real item: a partition holds key "k" with a known
 *     value; the input names bytes of its copy to overwrite. Oracle:
 *     sk_kv_read_check accepts the copy only if it still holds exactly the
 *     value written (the check word is a 64-bit hash: a forgery the fuzzer
 *     finds is a bug in the check, not luck).
 *
 * Every function gets an exact-size heap copy, so ASan sees any read past
 * what was "read from the wire".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static const struct sk_kv_hkey hkey = { 0x0123456789abcdefull, 42 };

#define NBUCKETS 61u /* any B, not only powers of two */
#define STORE    (64u * 1024u)
#define PSIZE    (SK_KV_HDR_SIZE + NBUCKETS * SK_KV_LINE + STORE)

static void *mem;
static struct sk_kv_part *part;
static struct sk_kv_view view;
static uint8_t value[300];
static struct sk_kv_item_view real;      /* the item of "k", in mem */

static void die(const char *what)
{
	fprintf(stderr, "fuzz_kvread: %s\n", what);
	abort();
}

static void *copy(const uint8_t *p, size_t n);
static void inside(const struct sk_kv_item_view *v, const uint8_t *buf,
		   size_t len);
static int check_copy(const uint8_t *d, size_t n);

static void setup(void)
{
	struct sk_kv_part_cfg cfg = {
		.partition = 5, .epoch = 2, .owner_rank = 1,
		.nbuckets = NBUCKETS, .hkey = hkey,
		.quarantine_ns = 1000000,
	};

	mem = aligned_alloc(4096, (PSIZE + 4095) / 4096 * 4096);
	if (mem == NULL || sk_kv_part_init(mem, PSIZE, &cfg, &part) != 0 ||
	    sk_kv_view_from_hdr(mem, SK_KV_HDR_SIZE, &view) != 0)
		die("setup");
	for (unsigned i = 0; i < sizeof(value); i++)
		value[i] = (uint8_t)(i * 7 + 1);
	if (sk_kv_part_set(part, "k", 1, value, sizeof(value), NULL, 0, 9, 0,
			   1, NULL) != 0 ||
	    sk_kv_part_lookup(part, "k", 1, &real) != 0)
		die("setup: set");
	/* The oracle of mode 3 is not vacuous: the copy, unchanged, is
	 * accepted. */
	if (!check_copy(NULL, 0))
		die("setup: the real item's copy is refused");
}

static void *copy(const uint8_t *p, size_t n)
{
	void *c = malloc(n ? n : 1);

	if (c == NULL)
		die("malloc");
	memcpy(c, p, n);
	return c;
}

static void inside(const struct sk_kv_item_view *v, const uint8_t *buf,
		   size_t len)
{
	if (v->value < buf || v->value > buf + len ||
	    v->vlen > (size_t)(buf + len - v->value))
		die("accepted an item whose value lies outside the bytes read");
}

static void one_header(const uint8_t *d, size_t n)
{
	struct sk_kv_view v;
	void *c = copy(d, n);

	if (sk_kv_view_from_hdr(c, n, &v) == 0 &&
	    (v.store_off < SK_KV_HDR_SIZE ||
	     v.store_off < SK_KV_HDR_SIZE + v.nbuckets * SK_KV_LINE ||
	     v.nbuckets < 2 || v.nbuckets > SK_KV_BUCKETS_MAX))
		die("accepted a header whose parts overlap");
	free(c);
}

static void one_pair(const uint8_t *d, size_t n)
{
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
	struct sk_kv_plan plan;
	unsigned k, i;
	uint8_t *c;
	int st;

	if (n < 1 + SK_KV_PAIR_SIZE)
		return;
	k = d[0];
	sk_kv_read_plan(&view, &hkey, &k, 1, &plan);
	if (plan.pair_off < SK_KV_HDR_SIZE ||
	    plan.pair_off + SK_KV_PAIR_SIZE > view.store_off)
		die("plan: the pair outside the buckets");
	c = copy(d + 1, SK_KV_PAIR_SIZE);
	k = ~0u;
	st = sk_kv_read_pick(&view, &plan, c, cands, &k);
	if (k > SK_KV_PAIR_SLOTS || (st != 0 && k != 0))
		die("pick: bad candidate count");
	for (i = 0; i < k; i++) {
		if (cands[i].off < view.store_off ||
		    cands[i].off + cands[i].len > view.store_off +
						   view.store_size)
			die("pick: a candidate outside the store");
		if (cands[i].len > SK_KV_ITEM_MAX)
			die("pick: a candidate longer than any item");
	}
	free(c);
}

static void one_item(const uint8_t *d, size_t n)
{
	struct sk_kv_plan plan;
	struct sk_kv_cand cand = { 0 };
	struct sk_kv_item_view v;
	uint8_t *c;
	unsigned klen;

	if (n < 2)
		return;
	klen = 1 + d[0] % 8;
	if (n < 1 + klen)
		return;
	sk_kv_read_plan(&view, &hkey, d + 1, klen, &plan);
	d += 1 + klen;
	n -= 1 + klen;
	cand.off = view.store_off;
	cand.len = (uint32_t)n;
	c = copy(d, n);
	if (sk_kv_read_check(&plan, &cand, c, d - klen, klen, 0, &v) == 0)
		inside(&v, c, n);
	if (sk_kv_read_parse(&plan, &cand, c, d - klen, klen, 0, &v) == 0)
		inside(&v, c, n);
	free(c);
}

/* Copy "k"'s item, overwrite the (position, byte) pairs of d, and judge
 * the copy as a reader would; true if it was accepted (and then it must
 * be the value written). */
static int check_copy(const uint8_t *d, size_t n)
{
	struct sk_kv_plan plan;
	struct sk_kv_cand cand = { 0 };
	struct sk_kv_item_view v;
	const uint8_t *item;
	uint8_t *c;
	size_t len, i;
	int ok;

	sk_kv_read_plan(&view, &hkey, "k", 1, &plan);
	len = sk_kv_item_size(1, sizeof(value));
	/* The item's start: its value less the header and key. */
	item = real.value - SK_KV_ITEM_HDR - 1;
	cand.off = (uint64_t)(item - (const uint8_t *)mem);
	cand.len = (uint32_t)len;
	c = copy(item, len);
	for (i = 0; i + 3 <= n; i += 3)
		c[((size_t)d[i] << 8 | d[i + 1]) % len] = d[i + 2];
	ok = sk_kv_read_check(&plan, &cand, c, "k", 1, 0, &v) == 0;
	if (ok) {
		inside(&v, c, len);
		if (v.vlen != sizeof(value) ||
		    memcmp(v.value, value, sizeof(value)) != 0 || v.flags != 9 ||
		    v.cas != real.cas)
			die("accepted a changed item");
	}
	free(c);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (mem == NULL)
		setup();
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0:
		one_header(data + 1, size - 1);
		break;
	case 1:
		one_pair(data + 1, size - 1);
		break;
	case 2:
		one_item(data + 1, size - 1);
		break;
	default:
		(void)check_copy(data + 1, size - 1);
		break;
	}
	return 0;
}
