/*
 * Unit tests of the kv partition store (kv/store.c) and its hash
 * (kv/hash.c), on a partition in this process's memory: the owner's
 * operations, every limit (full bucket pair, out of memory, quarantine
 * bound, slot fields, key and value sizes), quarantine timing with the
 * time passed in, and the reader's rules run on copies of the region, as
 * a remote reader runs them on what its READs returned.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/mman.h>

#include "store.h"

#define Q_NS 100000000ull /* 100 ms */
/* The item of a key of up to 5 bytes ("key0" .. "key99") and a 1-byte
 * value: the tests' small items, all of one size. */
#define SMALL sk_kv_item_size(5, 1)

/*
 * Key 00 01 .. 0f, message 00 01 .. (i-1), for i = 0..63. SipHash-2-4:
 * the reference implementation's vectors_sip64 (github.com/veorq/SipHash
 * vectors.h). SipHash-1-3 has no table in the paper; these are OpenSSL
 * 3.0's SIPHASH MAC with c-rounds:1 d-rounds:3 size:8, an implementation
 * not written here, read little-endian.
 */
static const uint64_t sip24[64] = {
	0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
	0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
	0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
	0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
	0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
	0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull, 0x699ae9f52cbe4794ull,
	0x4bc1b3f0968dd39cull, 0xbb6dc91da77961bdull, 0xbed65cf21aa2ee98ull,
	0xd0f2cbb02e3b67c7ull, 0x93536795e3a33e88ull, 0xa80c038ccd5ccec8ull,
	0xb8ad50c6f649af94ull, 0xbce192de8a85b8eaull, 0x17d835b85bbb15f3ull,
	0x2f2e6163076bcfadull, 0xde4daaaca71dc9a5ull, 0xa6a2506687956571ull,
	0xad87a3535c49ef28ull, 0x32d892fad841c342ull, 0x7127512f72f27cceull,
	0xa7f32346f95978e3ull, 0x12e0b01abb051238ull, 0x15e034d40fa197aeull,
	0x314dffbe0815a3b4ull, 0x027990f029623981ull, 0xcadcd4e59ef40c4dull,
	0x9abfd8766a33735cull, 0x0e3ea96b5304a7d0ull, 0xad0c42d6fc585992ull,
	0x187306c89bc215a9ull, 0xd4a60abcf3792b95ull, 0xf935451de4f21df2ull,
	0xa9538f0419755787ull, 0xdb9acddff56ca510ull, 0xd06c98cd5c0975ebull,
	0xe612a3cb9ecba951ull, 0xc766e62cfcadaf96ull, 0xee64435a9752fe72ull,
	0xa192d576b245165aull, 0x0a8787bf8ecb74b2ull, 0x81b3e73d20b49b6full,
	0x7fa8220ba3b2eceaull, 0x245731c13ca42499ull, 0xb78dbfaf3a8d83bdull,
	0xea1ad565322a1a0bull, 0x60e61c23a3795013ull, 0x6606d7e446282b93ull,
	0x6ca4ecb15c5f91e1ull, 0x9f626da15c9625f3ull, 0xe51b38608ef25f57ull,
	0x958a324ceb064572ull,
};
static const uint64_t sip13[64] = {
	0xabac0158050fc4dcull, 0xc9f49bf37d57ca93ull, 0x82cb9b024dc7d44dull,
	0x8bf80ab8e7ddf7fbull, 0xcf75576088d38328ull, 0xdef9d52f49533b67ull,
	0xc50d2b50c59f22a7ull, 0xd3927d989bb11140ull, 0x369095118d299a8eull,
	0x25a48eb36c063de4ull, 0x79de85ee92ff097full, 0x70c118c1f94dc352ull,
	0x78a384b157b4d9a2ull, 0x306f760c1229ffa7ull, 0x605aa111c0f95d34ull,
	0xd320d86d2a519956ull, 0xcc4fdd1a7d908b66ull, 0x9cf2689063dbd80cull,
	0x8ffc389cb473e63eull, 0xf21f9de58d297d1cull, 0xc0dc2f46a6cce040ull,
	0xb992abfe2b45f844ull, 0x7ffe7b9ba320872eull, 0x525a0e7fdae6c123ull,
	0xf464aeb267349c8cull, 0x45cd5928705b0979ull, 0x3a3e35e3ca9913a5ull,
	0xa91dc74e4ade3b35ull, 0xfb0bed02ef6cd00dull, 0x88d93cb44ab1e1f4ull,
	0x540f11d643c5e663ull, 0x2370dd1f8c21d1bcull, 0x81157b6c16a7b60dull,
	0x4d54b9e57a8ff9bfull, 0x759f12781f2a753eull, 0xcea1a3bebf186b91ull,
	0x2cf508d3ada26206ull, 0xb6101c2da3c33057ull, 0xb3f47496ae3a36a1ull,
	0x626b57547b108392ull, 0xc1d2363299e41531ull, 0x667cc1923f1ad944ull,
	0x65704ffec8138825ull, 0x24f280d1c28949a6ull, 0xc2ca1cedfaf8876bull,
	0xc2164bfc9f042196ull, 0xa16e9c9368b1d623ull, 0x49fb169c8b5114fdull,
	0x9f3143f8df074c46ull, 0xc6fdaf2412cc86b3ull, 0x7eaf49d10a52098full,
	0x1cf313559d292f9aull, 0xc44a30dda2f41f12ull, 0x36fae98943a71ed0ull,
	0x318fb34c73f0bce6ull, 0xa27abf3670a7e980ull, 0xb4bcc0db243c6d75ull,
	0x23f8d852fdb71513ull, 0x8f035f4da67d8a08ull, 0xd89cd0e5b7e8f148ull,
	0xf6f4e6bcf7a644eeull, 0xaec59ad80f1837f2ull, 0xc3b2f6154b6694e0ull,
	0x9d199062b7bbb3a8ull,
};

static void hash_vectors(void **state)
{
	struct sk_kv_hkey k = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };
	uint8_t msg[64];
	unsigned i;

	for (i = 0; i < 64; i++)
		msg[i] = i;
	for (i = 0; i < 64; i++) {
		assert_int_equal(sk_kv_siphash24(&k, msg, i), sip24[i]);
		assert_int_equal(sk_kv_siphash13(&k, msg, i), sip13[i]);
	}
	/* Unaligned input reads the same bytes. */
	{
		uint8_t buf[65];

		memcpy(buf + 1, msg, 63);
		assert_int_equal(sk_kv_siphash13(&k, buf + 1, 63), sip13[63]);
	}
}

/*
 * The item check (sk_kv_check64) has no published vectors: it is tested
 * for what the torn-read argument asks of it. Every single-bit change,
 * every other seed or key, every other length with the same leading bytes
 * and every swap of two 16-byte blocks changes it; mixes of two items'
 * 64-byte lines (a torn READ) never pass; unaligned input reads the same.
 */
static void check64_properties(void **state)
{
	struct sk_kv_hkey k = { 0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull };
	struct sk_kv_hkey k2 = { k.k0, k.k1 ^ 1 };
	uint8_t a[1024], b[1024], m[1024], u[1025];
	unsigned len, bit, i, trial;
	uint64_t c;

	srand(64);
	for (i = 0; i < sizeof(a); i++) {
		a[i] = rand();
		b[i] = rand();
	}
	for (len = 0; len <= 200; len++) {
		c = sk_kv_check64(&k, 4096, a, len);
		for (bit = 0; bit < len * 8; bit++) {
			a[bit / 8] ^= 1u << (bit % 8);
			assert_int_not_equal(sk_kv_check64(&k, 4096, a, len), c);
			a[bit / 8] ^= 1u << (bit % 8);
		}
		assert_int_not_equal(sk_kv_check64(&k, 4112, a, len), c);
		assert_int_not_equal(sk_kv_check64(&k2, 4096, a, len), c);
		assert_int_not_equal(sk_kv_check64(&k, 4096, a, len + 1), c);
		memcpy(u + 1, a, len);
		assert_int_equal(sk_kv_check64(&k, 4096, u + 1, len), c);
	}
	/* Zero bytes are bytes: a message and itself with a zero appended. */
	memset(m, 0, sizeof(m));
	for (len = 0; len < 64; len++)
		assert_int_not_equal(sk_kv_check64(&k, 0, m, len),
				     sk_kv_check64(&k, 0, m, len + 1));
	/* Two different 16-byte blocks swapped. */
	for (len = 32; len <= 256; len += 16) {
		memcpy(m, a, len);
		memcpy(m, a + 16, 16);
		memcpy(m + 16, a, 16);
		assert_int_not_equal(sk_kv_check64(&k, 0, m, len),
				     sk_kv_check64(&k, 0, a, len));
	}
	/* Torn reads: each 64-byte line from a or b, at least one of each;
	 * the check of either whole item must not pass. */
	for (trial = 0; trial < 100000; trial++) {
		unsigned lines = 2 + trial % 15, mask;

		len = lines * 64 - 8;
		do
			mask = (unsigned)rand() & ((1u << lines) - 1);
		while (mask == 0 || mask == (1u << lines) - 1);
		for (i = 0; i < lines; i++)
			memcpy(m + i * 64, (mask >> i & 1) ? a + i * 64 :
							     b + i * 64, 64);
		c = sk_kv_check64(&k, 4096, m, len);
		assert_int_not_equal(c, sk_kv_check64(&k, 4096, a, len));
		assert_int_not_equal(c, sk_kv_check64(&k, 4096, b, len));
	}
}

static void formats_at_limits(void **state)
{
	uint64_t s = sk_kv_slot_make(0xfff, SK_KV_UNITS_MAX,
				     SK_KV_GEN_MASK, SK_KV_OFF_MAX);
	uint64_t w;

	assert_int_equal(s, UINT64_MAX);
	assert_int_equal(sk_kv_slot_fp(s), 0xfff);
	assert_int_equal(sk_kv_slot_units(s), SK_KV_UNITS_MAX);
	assert_int_equal(sk_kv_slot_gen(s), SK_KV_GEN_MASK);
	assert_int_equal(sk_kv_slot_off(s), SK_KV_OFF_MAX);
	s = sk_kv_slot_make(1, 1, 0, 0);
	assert_int_equal(sk_kv_slot_fp(s), 1);
	assert_int_equal(sk_kv_slot_units(s), 1);
	assert_int_equal(sk_kv_slot_off(s), 0);
	s = sk_kv_slot_make(1, SK_KV_UNITS_MAX, 0, 0);
	assert_int_equal(sk_kv_slot_fp(s), 1);
	assert_int_equal(sk_kv_slot_off(s), 0);
	/* The generation sits between the size and the offset, and
	 * touches neither. */
	s = sk_kv_slot_make(1, 1, SK_KV_GEN_MASK, 0);
	assert_int_equal(sk_kv_slot_units(s), 1);
	assert_int_equal(sk_kv_slot_gen(s), SK_KV_GEN_MASK);
	assert_int_equal(sk_kv_slot_off(s), 0);
	s = sk_kv_slot_make(1, 0, 1, SK_KV_OFF_MAX);
	assert_int_equal(sk_kv_slot_units(s), 0);
	assert_int_equal(sk_kv_slot_gen(s), 1);
	assert_int_equal(sk_kv_slot_off(s), SK_KV_OFF_MAX);

	w = sk_kv_bhdr_make(UINT32_MAX, SK_KV_PART_MAX - 1, 0xff);
	assert_int_equal(sk_kv_bhdr_epoch(w), UINT32_MAX);
	assert_int_equal(sk_kv_bhdr_partition(w), SK_KV_PART_MAX - 1);
	assert_int_equal(w >> 56, 0xff);

	/* The largest item kv stores fits the slot's units field. */
	assert_int_equal(sk_kv_item_size(SK_KV_KEY_MAX, SK_KV_VALUE_MAX),
			 SK_KV_ITEM_MAX);
	assert_int_equal(SK_KV_ITEM_MAX % SK_KV_UNIT, 0);
	assert_true(SK_KV_ITEM_UNITS_MAX <= SK_KV_UNITS_MAX);
	s = sk_kv_slot_make(1, SK_KV_ITEM_UNITS_MAX, 0, SK_KV_OFF_MAX);
	assert_int_equal(sk_kv_slot_units(s), SK_KV_ITEM_UNITS_MAX);
	assert_int_equal(sk_kv_slot_off(s), SK_KV_OFF_MAX);
	assert_int_equal(sizeof(struct sk_kv_item_hdr), SK_KV_ITEM_HDR);
	/* Items are whole 16-byte units. */
	assert_int_equal(sk_kv_item_size(1, 15 - SK_KV_ITEM_HDR % 16),
			 SK_KV_ITEM_HDR / 16 * 16 + 16);
	assert_int_equal(sk_kv_item_size(1, 16 - SK_KV_ITEM_HDR % 16),
			 SK_KV_ITEM_HDR / 16 * 16 + 32);

	assert_int_equal(sk_kv_fp(0), 1); /* never 0 */
	assert_int_equal(sk_kv_partition_of(UINT64_MAX, 1), 0);
	assert_int_equal(sk_kv_partition_of(UINT64_MAX, 256), 255);
	assert_int_equal(sk_kv_partition_of(1ull << 56, 256), 1);
}

/*
 * A key's pair is buckets (b, b + 1) for b in [0, B - 1), for any B from 2
 * to SK_KV_BUCKETS_MAX: always inside the bucket array, bucket-aligned,
 * and every start used (B = 3: both).
 */
static void pair_placement(void **state)
{
	static const uint64_t bs[] = { 2, 3, 5, 1000, 1024,
				       SK_KV_BUCKETS_MAX - 1,
				       SK_KV_BUCKETS_MAX };
	struct sk_kv_hkey hk = { 7, 8 };
	unsigned i, j, seen3 = 0;
	char k[16];

	for (i = 0; i < sizeof(bs) / sizeof(bs[0]); i++) {
		struct sk_kv_view v = {
			.nbuckets = bs[i],
			.store_off = SK_KV_HDR_SIZE + bs[i] * SK_KV_LINE,
		};
		uint64_t top = 0;

		for (j = 0; j < 20000; j++) {
			struct sk_kv_plan plan;

			snprintf(k, sizeof(k), "p%u", j);
			sk_kv_read_plan(&v, &hk, k, strlen(k), &plan);
			assert_true(plan.pair_off >= SK_KV_HDR_SIZE);
			assert_int_equal((plan.pair_off - SK_KV_HDR_SIZE) %
					 SK_KV_LINE, 0);
			assert_true(plan.pair_off + SK_KV_PAIR_SIZE <=
				    v.store_off);
			if (plan.pair_off > top)
				top = plan.pair_off;
			if (bs[i] == 3)
				seen3 |= 1u << (plan.pair_off -
						SK_KV_HDR_SIZE) / SK_KV_LINE;
		}
		/* The last pair, ending at the last bucket, is reached
		 * where 20,000 keys can reach it. */
		if (bs[i] <= 1024)
			assert_int_equal(top + SK_KV_PAIR_SIZE, v.store_off);
	}
	assert_int_equal(seen3, 3);
}

/* ---- a partition in this process ---- */

struct fx {
	void *mem;
	size_t size;
	struct sk_kv_part *part;
	struct sk_kv_view view;
	struct sk_kv_part_cfg cfg;
};

static struct sk_kv_part_cfg cfg_default(uint64_t nbuckets)
{
	struct sk_kv_part_cfg c = {
		.partition = 7, .epoch = 3, .owner_rank = 1,
		.nbuckets = nbuckets,
		.hkey = { 0x1234, 0x5678 },
		.quarantine_ns = Q_NS,
	};
	return c;
}

static void fx_open(struct fx *f, size_t store, const struct sk_kv_part_cfg *c)
{
	f->cfg = *c;
	f->size = SK_KV_HDR_SIZE + c->nbuckets * SK_KV_LINE + store;
	f->mem = aligned_alloc(4096, (f->size + 4095) & ~(size_t)4095);
	assert_non_null(f->mem);
	assert_int_equal(sk_kv_part_init(f->mem, f->size, c, &f->part), 0);
	/* As a peer: from the header's bytes. */
	assert_int_equal(sk_kv_view_from_hdr(f->mem, SK_KV_HDR_SIZE, &f->view),
			 0);
}

static void fx_close(struct fx *f)
{
	sk_kv_part_cleanup(f->part);
	free(f->mem);
}

/* A one-sided GET, on copies of the region's bytes. */
static int remote_get(struct fx *f, const void *key, size_t klen,
		      uint32_t owner_now, uint8_t *buf, size_t bufsize,
		      struct sk_kv_item_view *v)
{
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
	uint8_t pair[SK_KV_PAIR_SIZE];
	struct sk_kv_plan plan;
	unsigned n, i;
	int st;

	sk_kv_read_plan(&f->view, &f->cfg.hkey, key, klen, &plan);
	assert_true(plan.pair_off + SK_KV_PAIR_SIZE <= f->view.store_off);
	memcpy(pair, (uint8_t *)f->mem + plan.pair_off, sizeof(pair));
	st = sk_kv_read_pick(&f->view, &plan, pair, cands, &n);
	if (st)
		return st;
	for (i = 0; i < n; i++) {
		assert_true(cands[i].len <= bufsize);
		memcpy(buf, (uint8_t *)f->mem + cands[i].off, cands[i].len);
		st = sk_kv_read_check(&plan, &cands[i], buf, key, klen,
				      owner_now, v);
		if (st != SK_KV_ERR_OTHER_KEY)
			return st;
	}
	return SK_KV_ERR_NOT_FOUND;
}

static int set(struct fx *f, const char *key, const void *val, size_t vlen,
	       uint64_t now)
{
	return sk_kv_part_set(f->part, key, strlen(key), val, vlen, NULL, 0,
			      0, 0, now, NULL);
}

/*
 * The store's size classes (sk_kv_part_classes) against its totals
 * (sk_kv_part_stats), which other counters keep: items, evictions,
 * expiries, free and quarantined bytes add up, and each class's figures
 * hold together. Returns the bytes the classes say their items take.
 */
static uint64_t check_classes(struct fx *f)
{
	struct sk_kv_part_class k[SK_KV_PART_CLASSES];
	struct sk_kv_part_stats st;
	uint64_t items = 0, ev = 0, exp = 0, free_b = 0, q_b = 0, carved = 0;
	uint64_t bytes = 0;
	unsigned n = sk_kv_part_classes(f->part, k, SK_KV_PART_CLASSES), c;

	sk_kv_part_stats(f->part, &st);
	assert_true(n >= 40 && n <= SK_KV_PART_CLASSES);
	assert_int_equal(k[0].chunk_size, sk_kv_item_size(1, 0));
	assert_int_equal(k[n - 1].chunk_size, SK_KV_ITEM_MAX);
	for (c = 0; c < n; c++) {
		assert_true(c == 0 || k[c].chunk_size > k[c - 1].chunk_size);
		assert_true(k[c].free + k[c].quarantined <= k[c].chunks);
		assert_true(k[c].item_bytes <= k[c].items * k[c].chunk_size);
		assert_true(k[c].item_bytes >=
			    k[c].items * sk_kv_item_size(1, 0));
		assert_true(k[c].evicted_exp <= k[c].evicted);
		items += k[c].items;
		ev += k[c].evicted;
		exp += k[c].expired;
		free_b += k[c].free * k[c].chunk_size;
		q_b += k[c].quarantined * k[c].chunk_size;
		carved += k[c].chunks * k[c].chunk_size;
		bytes += k[c].item_bytes;
	}
	assert_int_equal(items, st.items);
	assert_int_equal(ev, st.evicted);
	assert_int_equal(exp, st.expired);
	assert_int_equal(free_b, st.free_bytes);
	assert_int_equal(q_b, st.quarantine_bytes);
	/* A cut leaves what its smaller chunks do not fill unused. */
	assert_true(carved <= st.store_used);
	return bytes;
}

/* The class whose chunks hold an item of @klen and @vlen bytes (the
 * smallest that fits: no store here lends a larger one). */
static unsigned class_for(struct fx *f, size_t klen, size_t vlen)
{
	struct sk_kv_part_class k[SK_KV_PART_CLASSES];
	unsigned n = sk_kv_part_classes(f->part, k, SK_KV_PART_CLASSES), c;

	for (c = 0; c < n; c++)
		if (k[c].chunk_size >= sk_kv_item_size(klen, vlen))
			return c;
	fail();
	return 0;
}

/*
 * What `stats items` and `stats slabs` show (skcached), class by class:
 * a set counts in its chunk's class, an overwrite with another size moves
 * the key's item there and leaves the old chunk in quarantine, expiry and
 * eviction count where the item was.
 */
static void class_figures(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_part_class k[SK_KV_PART_CLASSES];
	static char big[600];
	unsigned small, large;
	struct fx f;

	(void)state;
	memset(big, 'b', sizeof(big));
	fx_open(&f, 1 << 16, &c);
	small = class_for(&f, 1, 1);
	large = class_for(&f, 1, sizeof(big));
	assert_true(large > small);
	assert_int_equal(check_classes(&f), 0);
	assert_int_equal(set(&f, "a", "v", 1, 1), 0);
	assert_int_equal(set(&f, "b", big, sizeof(big), 1), 0);
	assert_int_equal(sk_kv_part_set(f.part, "e", 1, big, sizeof(big), NULL,
					0, 0, 100, 1, NULL), 0);
	assert_int_equal(check_classes(&f),
			 sk_kv_item_size(1, 1) + 2 * sk_kv_item_size(1, 600));
	sk_kv_part_classes(f.part, k, SK_KV_PART_CLASSES);
	assert_int_equal(k[small].items, 1);
	assert_int_equal(k[small].sets, 1);
	assert_int_equal(k[small].item_bytes, sk_kv_item_size(1, 1));
	assert_int_equal(k[large].items, 2);
	assert_int_equal(k[large].chunks, 2);
	assert_int_equal(k[large].sets, 2);

	/* "a" grows into the large class; its small chunk waits out Q. */
	assert_int_equal(set(&f, "a", big, sizeof(big), 2), 0);
	assert_int_equal(check_classes(&f), 3 * sk_kv_item_size(1, 600));
	sk_kv_part_classes(f.part, k, SK_KV_PART_CLASSES);
	assert_int_equal(k[small].items, 0);
	assert_int_equal(k[small].quarantined, 1);
	assert_int_equal(k[small].item_bytes, 0);
	assert_int_equal(k[large].items, 3);
	assert_int_equal(k[large].sets, 3);

	/* "e" expires where it was; Q later the small chunk is free. */
	assert_int_equal(sk_kv_part_expire(f.part, 100, 64 * 8, 3), 1);
	sk_kv_part_reap(f.part, 4 + Q_NS);
	assert_int_equal(check_classes(&f), 2 * sk_kv_item_size(1, 600));
	sk_kv_part_classes(f.part, k, SK_KV_PART_CLASSES);
	assert_int_equal(k[large].expired, 1);
	assert_int_equal(k[large].items, 2);
	assert_int_equal(k[small].free, 1);
	assert_int_equal(k[small].quarantined, 0);
	assert_int_equal(k[large].evicted, 0);
	fx_close(&f);
}

/* sk_kv_part_dump's callback: counts, and stops at the (stop)th. */
struct dump_seen {
	unsigned n, stop;
	uint64_t vlen_sum;
	uint32_t exptime_max;
	uint64_t cas[64]; /* each item's, as listed */
};

static int dump_count(void *arg, const void *key, size_t klen, uint32_t vlen,
		      uint32_t exptime, uint64_t cas)
{
	struct dump_seen *d = arg;

	assert_true(klen >= 1 && klen <= SK_KV_KEY_MAX);
	assert_true(memcmp(key, "d", 1) == 0);
	if (d->stop && d->n == d->stop)
		return 1;
	assert_true(d->n < 64);
	d->cas[d->n] = cas;
	d->n++;
	d->vlen_sum += vlen;
	if (exptime > d->exptime_max)
		d->exptime_max = exptime;
	return 0;
}

/*
 * memcached's stats cachedump, from one store: a class's items in slot
 * order, the expired left out, and a walk stopped by its callback goes on
 * where it stopped, over as many calls as it takes.
 */
static void dump_walk(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct dump_seen all = {0}, part = {0};
	uint64_t words, pos;
	unsigned small, i, calls;
	static char big[600];
	char k[16];
	struct fx f;

	(void)state;
	memset(big, 'b', sizeof(big));
	fx_open(&f, 1 << 16, &c);
	small = class_for(&f, 4, 1);
	for (i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "d%03u", i);
		assert_int_equal(sk_kv_part_set(f.part, k, 4, "v", 1, NULL, 0,
						0, i < 10 ? 100 : i < 20 ? 500
								  : 0,
						1, NULL), 0);
	}
	assert_int_equal(set(&f, "dbig", big, sizeof(big), 1), 0);
	words = sk_kv_part_slot_words(f.part);
	assert_int_equal(words, 64 * 8);
	/* At 200 the ten that expire at 100 are gone. */
	assert_int_equal(sk_kv_part_dump(f.part, small, 0, 200, dump_count,
					 &all), words);
	assert_int_equal(all.n, 30);
	assert_int_equal(all.vlen_sum, 30);
	assert_int_equal(all.exptime_max, 500);
	/* Each with its own CAS, as set: 1 to 41 (the set of "dbig" is
	 * the 41st), the first ten expired. */
	for (i = 0; i < all.n; i++) {
		assert_true(all.cas[i] > 10 && all.cas[i] <= 41);
		for (unsigned j = 0; j < i; j++)
			assert_true(all.cas[j] != all.cas[i]);
	}
	all = (struct dump_seen){0};
	assert_int_equal(sk_kv_part_dump(f.part, class_for(&f, 4, 600), 0,
					 200, dump_count, &all), words);
	assert_int_equal(all.n, 1);
	assert_int_equal(all.vlen_sum, 600);
	/* Three at a time: the same 30, each once. */
	for (pos = 0, calls = 0; pos < words; calls++) {
		uint64_t next;

		part.stop = part.n + 3;
		next = sk_kv_part_dump(f.part, small, pos, 200, dump_count,
				       &part);
		assert_true(next > pos || next == words);
		pos = next;
	}
	assert_int_equal(part.n, 30);
	assert_int_equal(calls, 10);
	/* A class with no item, and one past the last. */
	all = (struct dump_seen){0};
	assert_int_equal(sk_kv_part_dump(f.part, small + 1, 0, 200, dump_count,
					 &all), words);
	assert_int_equal(all.n, 0);
	assert_int_equal(sk_kv_part_dump(f.part, SK_KV_PART_CLASSES, 0, 200,
					 dump_count, &all), words);
	assert_int_equal(all.n, 0);
	fx_close(&f);
}

static void init_limits(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(2);
	struct sk_kv_part *p;
	size_t min = SK_KV_HDR_SIZE + 2 * SK_KV_LINE + SK_KV_UNIT;
	size_t one = SK_KV_HDR_SIZE + 2 * SK_KV_LINE + sk_kv_item_size(1, 1);
	uint8_t *mem = aligned_alloc(4096, 2 * 4096 + 65536);
	struct sk_kv_view v;

	assert_non_null(mem);
	assert_int_equal(sk_kv_part_init(NULL, min, &c, &p), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_init(mem + 8, min, &c, &p), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_init(mem, min - 1, &c, &p), SK_ERR_INVAL);
	c.nbuckets = 0;
	assert_int_equal(sk_kv_part_init(mem, 65536, &c, &p), SK_ERR_INVAL);
	c.nbuckets = 1;
	assert_int_equal(sk_kv_part_init(mem, 65536, &c, &p), SK_ERR_INVAL);
	c.nbuckets = SK_KV_BUCKETS_MAX + 1;
	assert_int_equal(sk_kv_part_init(mem, 65536, &c, &p), SK_ERR_INVAL);
	/* Any B from 2: not only powers of two. */
	c.nbuckets = 3;
	assert_int_equal(sk_kv_part_init(mem, 65536, &c, &p), 0);
	assert_int_equal(sk_kv_view_from_hdr(mem, SK_KV_HDR_SIZE, &v), 0);
	assert_int_equal(v.nbuckets, 3);
	assert_int_equal(v.store_off, SK_KV_HDR_SIZE + 3 * SK_KV_LINE);
	sk_kv_part_cleanup(p);
	c.nbuckets = 2;
	c.partition = SK_KV_PART_MAX;
	assert_int_equal(sk_kv_part_init(mem, 65536, &c, &p), SK_ERR_INVAL);
	c.partition = SK_KV_PART_MAX - 1;

	/* The smallest partition: one unit of store, too small for any
	 * item; and a store of exactly one item. A size between units
	 * leaves the rest unused. */
	assert_int_equal(sk_kv_part_init(mem, min + SK_KV_UNIT - 1, &c, &p),
			 0);
	assert_int_equal(sk_kv_view_from_hdr(mem, SK_KV_HDR_SIZE, &v), 0);
	assert_int_equal(v.store_size, SK_KV_UNIT);
	assert_int_equal(v.partition, SK_KV_PART_MAX - 1);
	assert_int_equal(sk_kv_part_set(p, "k", 1, "v", 1, NULL, 0, 0, 0, 0,
					NULL), SK_ERR_NOMEM);
	sk_kv_part_cleanup(p);
	assert_int_equal(sk_kv_part_init(mem, one, &c, &p), 0);
	assert_int_equal(sk_kv_part_set(p, "k", 1, "v", 1, NULL, 0, 0, 0, 0,
					NULL), 0);
	assert_int_equal(sk_kv_part_set(p, "j", 1, "v", 1, NULL, 0, 0, 0, 0,
					NULL), SK_ERR_NOMEM);
	sk_kv_part_cleanup(p);

	/* A header from a peer is checked, not trusted. */
	assert_int_equal(sk_kv_view_from_hdr(mem, 8, &v), SK_ERR_MALFORMED);
	((struct sk_kv_region_hdr *)mem)->version = SK_KV_VERSION + 1;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), SK_ERR_VERSION);
	/* Version 1 (64-byte units) reads slots differently, version 2
	 * places pairs differently: refused. */
	((struct sk_kv_region_hdr *)mem)->version = 1;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), SK_ERR_VERSION);
	((struct sk_kv_region_hdr *)mem)->version = 2;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), SK_ERR_VERSION);
	((struct sk_kv_region_hdr *)mem)->version = SK_KV_VERSION;
	((struct sk_kv_region_hdr *)mem)->nbuckets = 4;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), SK_ERR_MALFORMED);
	((struct sk_kv_region_hdr *)mem)->nbuckets = 2;
	((struct sk_kv_region_hdr *)mem)->store_size = SK_KV_UNIT + 1;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), SK_ERR_MALFORMED);
	/* At the slot's offset field's limit, and past it. */
	((struct sk_kv_region_hdr *)mem)->store_size =
		(SK_KV_OFF_MAX + 1) * SK_KV_UNIT;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), 0);
	assert_int_equal(v.store_size, (SK_KV_OFF_MAX + 1) * SK_KV_UNIT);
	((struct sk_kv_region_hdr *)mem)->store_size += SK_KV_UNIT;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), SK_ERR_MALFORMED);
	((struct sk_kv_region_hdr *)mem)->store_size = 0;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), SK_ERR_MALFORMED);
	((struct sk_kv_region_hdr *)mem)->magic ^= 1;
	assert_int_equal(sk_kv_view_from_hdr(mem, 4096, &v), SK_ERR_MALFORMED);
	free(mem);
}

/* sk_kv_part_hash_known: the owner's hash is taken for the same key
 * bytes only. A deliberately wrong one for "k1" must not reach "k2" (same
 * length, other bytes), which the reader, hashing for itself, must find;
 * the right one for "k1" gives what hashing would; after
 * sk_kv_part_hash_forget even the same bytes hash for themselves. */
static void hash_known(void **state)
{
	static const char k3[] = "k3";
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_item_view v, r;
	uint8_t buf[4096];
	uint64_t cas;
	struct fx f;

	(void)state;
	fx_open(&f, 1 << 20, &c);
	sk_kv_part_hash_known(f.part, "k1", 2, 12345);
	assert_int_equal(sk_kv_part_set(f.part, "k2", 2, "v2", 2, NULL, 0, 0,
					0, 10, &cas), 0);
	assert_int_equal(remote_get(&f, "k2", 2, 0, buf, sizeof(buf), &r), 0);
	assert_memory_equal(r.value, "v2", 2);
	sk_kv_part_hash_known(f.part, "k1", 2,
			      sk_kv_key_hash(&c.hkey, "k1", 2));
	assert_int_equal(sk_kv_part_set(f.part, "k1", 2, "v1", 2, NULL, 0, 0,
					0, 20, &cas), 0);
	assert_int_equal(remote_get(&f, "k1", 2, 0, buf, sizeof(buf), &r), 0);
	assert_memory_equal(r.value, "v1", 2);
	assert_int_equal(sk_kv_part_lookup(f.part, "k2", 2, &v), 0);
	assert_memory_equal(v.value, "v2", 2);
	/* Forgotten: a wrong hash for these very bytes is taken no more. */
	sk_kv_part_hash_known(f.part, k3, 2, 12345);
	sk_kv_part_hash_forget(f.part);
	assert_int_equal(sk_kv_part_set(f.part, k3, 2, "v3", 2, NULL, 0, 0,
					0, 30, &cas), 0);
	assert_int_equal(remote_get(&f, k3, 2, 0, buf, sizeof(buf), &r), 0);
	assert_memory_equal(r.value, "v3", 2);
	fx_close(&f);
}

static void owner_ops(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_item_view v, r;
	struct sk_kv_part_stats st;
	uint64_t cas1, cas2;
	uint8_t buf[4096];
	struct fx f;

	fx_open(&f, 1 << 20, &c);
	assert_int_equal(sk_kv_part_lookup(f.part, "a", 1, &v),
			 SK_KV_ERR_NOT_FOUND);
	assert_int_equal(remote_get(&f, "a", 1, 0, buf, sizeof(buf), &r),
			 SK_KV_ERR_NOT_FOUND);
	assert_int_equal(sk_kv_part_set(f.part, "a", 1, "hello", 5, NULL, 0,
					42, 1000, 10, &cas1), 0);
	assert_int_equal(sk_kv_part_lookup(f.part, "a", 1, &v), 0);
	assert_int_equal(v.vlen, 5);
	assert_memory_equal(v.value, "hello", 5);
	assert_int_equal(v.flags, 42);
	assert_int_equal(v.exptime, 1000);
	assert_int_equal(v.cas, cas1);

	/* The same from copied bytes, and expiry by the owner's clock. */
	assert_int_equal(remote_get(&f, "a", 1, 999, buf, sizeof(buf), &r), 0);
	assert_int_equal(r.vlen, 5);
	assert_memory_equal(r.value, "hello", 5);
	assert_int_equal(r.flags, 42);
	assert_int_equal(r.cas, cas1);
	assert_int_equal(remote_get(&f, "a", 1, 1000, buf, sizeof(buf), &r),
			 SK_KV_ERR_EXPIRED);

	/* Replace: out of place, the old item retired. Two pieces. */
	assert_int_equal(sk_kv_part_set(f.part, "a", 1, "hel", 3, "lo!", 3, 0,
					0, 20, &cas2), 0);
	assert_true(cas2 > cas1);
	assert_int_equal(remote_get(&f, "a", 1, UINT32_MAX, buf, sizeof(buf),
				    &r), 0);
	assert_int_equal(r.vlen, 6);
	assert_memory_equal(r.value, "hello!", 6);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.items, 1);
	assert_int_equal(st.quarantined, 1);

	assert_int_equal(sk_kv_part_delete(f.part, "a", 1, 30), 0);
	assert_int_equal(sk_kv_part_delete(f.part, "a", 1, 30),
			 SK_KV_ERR_NOT_FOUND);
	assert_int_equal(sk_kv_part_lookup(f.part, "a", 1, &v),
			 SK_KV_ERR_NOT_FOUND);
	assert_int_equal(remote_get(&f, "a", 1, 0, buf, sizeof(buf), &r),
			 SK_KV_ERR_NOT_FOUND);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.items, 0);
	assert_int_equal(st.quarantined, 2);
	assert_string_equal(sk_kv_status_str(SK_KV_ERR_PAIR_FULL),
			    "both buckets of the key's pair are full");
	fx_close(&f);
}

static void key_and_value_sizes(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_item_view r;
	char key[SK_KV_KEY_MAX + 1];
	size_t bufsize = sk_kv_item_size(SK_KV_KEY_MAX, SK_KV_VALUE_MAX);
	uint8_t *val = malloc(SK_KV_VALUE_MAX + 1), *buf = malloc(bufsize);
	size_t i;
	struct fx f;

	assert_non_null(val);
	assert_non_null(buf);
	for (i = 0; i <= SK_KV_VALUE_MAX; i++)
		val[i] = i * 7 + (i >> 13);
	memset(key, 'k', sizeof(key));
	fx_open(&f, 4 << 20, &c);

	assert_int_equal(sk_kv_part_set(f.part, key, 0, "v", 1, NULL, 0, 0, 0,
					0, NULL), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_set(f.part, key, SK_KV_KEY_MAX + 1, "v", 1,
					NULL, 0, 0, 0, 0, NULL), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_set(f.part, key, 1, val,
					SK_KV_VALUE_MAX + 1, NULL, 0, 0, 0, 0,
					NULL), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_set(f.part, key, 1, val, SK_KV_VALUE_MAX,
					"x", 1, 0, 0, 0, NULL), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_lookup(f.part, key, 0, &r), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_delete(f.part, key, 251, 0), SK_ERR_INVAL);

	/* A 1-byte key with an empty value; a 250-byte key with 1 MiB. */
	assert_int_equal(sk_kv_part_set(f.part, key, 1, NULL, 0, NULL, 0, 0, 0,
					0, NULL), 0);
	assert_int_equal(sk_kv_part_set(f.part, key, SK_KV_KEY_MAX, val,
					SK_KV_VALUE_MAX, NULL, 0, 0, 0, 0,
					NULL), 0);
	assert_int_equal(remote_get(&f, key, 1, 0, buf, bufsize, &r), 0);
	assert_int_equal(r.vlen, 0);
	assert_int_equal(remote_get(&f, key, SK_KV_KEY_MAX, 0, buf, bufsize,
				    &r), 0);
	assert_int_equal(r.vlen, SK_KV_VALUE_MAX);
	assert_memory_equal(r.value, val, SK_KV_VALUE_MAX);
	/* It is the largest item: its slot's size is SK_KV_ITEM_UNITS_MAX,
	 * and the reader READs exactly SK_KV_ITEM_MAX bytes. */
	{
		struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
		struct sk_kv_plan plan;
		unsigned n, j, found = 0;

		sk_kv_read_plan(&f.view, &c.hkey, key, SK_KV_KEY_MAX, &plan);
		assert_int_equal(sk_kv_read_pick(&f.view, &plan,
						 (uint8_t *)f.mem +
						 plan.pair_off, cands, &n), 0);
		for (j = 0; j < n; j++)
			found += cands[j].len == SK_KV_ITEM_MAX;
		assert_int_equal(found, 1);
	}
	/* 249 and 251 bytes of the same letter are other keys. */
	assert_int_equal(remote_get(&f, key, SK_KV_KEY_MAX - 1, 0, buf,
				    bufsize, &r), SK_KV_ERR_NOT_FOUND);
	fx_close(&f);
	free(val);
	free(buf);
}

static void keyname(char *k, unsigned i)
{
	snprintf(k, 16, "key%u", i);
}

/* Keys that land in one pair (B = 2 has only one). */
static void full_pair(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(2);
	char k[16];
	unsigned i;
	struct fx f;

	fx_open(&f, 1 << 16, &c);
	for (i = 0; i < SK_KV_PAIR_SLOTS; i++) {
		keyname(k, i);
		assert_int_equal(set(&f, k, "v", 1, 0), 0);
	}
	keyname(k, i);
	assert_int_equal(set(&f, k, "v", 1, 0), SK_KV_ERR_PAIR_FULL);
	/* Replacing a present key needs no new slot. */
	keyname(k, 3);
	assert_int_equal(set(&f, k, "w", 1, 0), 0);
	assert_int_equal(sk_kv_part_delete(f.part, k, strlen(k), 0), 0);
	keyname(k, SK_KV_PAIR_SLOTS);
	assert_int_equal(set(&f, k, "v", 1, 0), 0);
	fx_close(&f);
}

struct evict_log {
	int calls;
	uint64_t pair_off, need;
	int ret;
};

/* An eviction hook that deletes key0, the way a policy will. */
static int evict_key0(struct sk_kv_part *part, void *arg, uint64_t pair_off,
		      uint64_t need_units, uint64_t now_ns)
{
	struct evict_log *log = arg;

	log->calls++;
	log->pair_off = pair_off;
	log->need = need_units;
	if (log->ret)
		return log->ret;
	/* 0 even when key0 is gone already: the update tries once more
	 * only, then fails. */
	(void)sk_kv_part_delete(part, "key0", 4, now_ns);
	return 0;
}

static void evict_hook(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(2);
	struct evict_log log = { 0 };
	struct sk_kv_item_view v;
	char k[16];
	unsigned i;
	struct fx f;

	c.evict = evict_key0;
	c.evict_arg = &log;
	fx_open(&f, 1 << 16, &c);
	for (i = 0; i < SK_KV_PAIR_SLOTS; i++) {
		keyname(k, i);
		assert_int_equal(set(&f, k, "v", 1, 0), 0);
	}
	assert_int_equal(log.calls, 0);
	assert_int_equal(set(&f, "new", "v", 1, 0), 0);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.pair_off, SK_KV_HDR_SIZE);
	assert_int_equal(log.need, 0);
	assert_int_equal(sk_kv_part_lookup(f.part, "key0", 4, &v),
			 SK_KV_ERR_NOT_FOUND);
	/* key0 is gone: the hook frees nothing, the update fails. */
	assert_int_equal(set(&f, "new2", "v", 1, 0), SK_KV_ERR_PAIR_FULL);
	assert_int_equal(log.calls, 2);
	log.ret = SK_ERR_IO;
	assert_int_equal(set(&f, "new3", "v", 1, 0), SK_ERR_IO);
	fx_close(&f);
}

/*
 * Out of memory, and the chunks' lifecycle: a retired chunk is not reused
 * before Q has passed since its retirement, and is at Q.
 */
static void memory_and_quarantine(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_part_stats st;
	struct sk_kv_item_view v;
	uint64_t t0 = 5 * Q_NS;
	char k[16];
	unsigned i, n;
	struct fx f;

	/* A store of exactly 16 small items. */
	fx_open(&f, 16 * SMALL, &c);
	for (i = n = 0; i < 64; i++) {
		int r;

		keyname(k, i);
		r = set(&f, k, "v", 1, t0);
		if (r == SK_ERR_NOMEM)
			break;
		assert_int_equal(r, 0);
		n++;
	}
	assert_int_equal(n, 16);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.store_used, 16 * SMALL);
	/* The failed update changed nothing. */
	keyname(k, 16);
	assert_int_equal(sk_kv_part_lookup(f.part, k, strlen(k), &v),
			 SK_KV_ERR_NOT_FOUND);
	/* The last unit of the store holds a good item: find it. */
	for (i = 0; i < 16; i++) {
		uint8_t buf[64];
		struct sk_kv_item_view r;

		keyname(k, i);
		assert_int_equal(remote_get(&f, k, strlen(k), 0, buf,
					    sizeof(buf), &r), 0);
	}

	/* Delete one; an idle owner's timer stamps it at t0: quarantined
	 * until t0 + Q. */
	assert_int_equal(sk_kv_part_delete(f.part, "key0", 4, t0), 0);
	assert_int_equal(sk_kv_part_reap(f.part, t0), 0);
	assert_int_equal(set(&f, "late", "v", 1, t0 + Q_NS - 1), SK_ERR_NOMEM);
	/* Replacing needs memory too. */
	assert_int_equal(set(&f, "key1", "w", 1, t0 + Q_NS - 1), SK_ERR_NOMEM);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.quarantined, 1);
	assert_int_equal(set(&f, "late", "v", 1, t0 + Q_NS), 0);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.quarantined, 0);

	/* A retired item's time is that of the owner's next call, read after
	 * the slot store: not the time passed to the call that retired it. */
	t0 += 2 * Q_NS;
	assert_int_equal(sk_kv_part_delete(f.part, "late", 4, t0), 0);
	assert_int_equal(sk_kv_part_reap(f.part, t0 + Q_NS), 0);
	assert_int_equal(sk_kv_part_reap(f.part, t0 + 2 * Q_NS - 1), 0);
	/* A clock that goes back frees nothing. */
	assert_int_equal(sk_kv_part_reap(f.part, t0), 0);
	assert_int_equal(sk_kv_part_reap(f.part, t0 + 2 * Q_NS), 1);
	fx_close(&f);
}

static void quarantine_bound(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_part_stats st;
	unsigned i;
	struct fx f;

	c.quarantine_max = 4 * SMALL;
	fx_open(&f, 64 * SMALL, &c);
	/* Each rewrite retires one 64-byte item. */
	for (i = 0; i < 5; i++)
		assert_int_equal(set(&f, "k", "v", 1, 0), 0);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.quarantine_bytes, 4 * SMALL);
	assert_int_equal(set(&f, "k", "v", 1, Q_NS - 1),
			 SK_KV_ERR_QUARANTINE_FULL);
	assert_int_equal(set(&f, "other", "v", 1, Q_NS - 1),
			 SK_KV_ERR_QUARANTINE_FULL);
	/* Frees the three stamped at 0; the one stamped Q - 1 stays, and
	 * this update retires one more. */
	assert_int_equal(set(&f, "k", "v", 1, Q_NS), 0);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.quarantine_bytes, 2 * SMALL);
	fx_close(&f);
}

/* The reader's rules, on bytes a READ could return. */
static void reader_rules(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(2);
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS], cb;
	struct sk_kv_plan pa, pb;
	struct sk_kv_view old;
	struct sk_kv_item_view r;
	uint8_t pair[SK_KV_PAIR_SIZE], item[128], moved[256];
	uint64_t *w = (uint64_t *)pair;
	unsigned n, i;
	struct fx f;

	fx_open(&f, 1 << 16, &c);
	assert_int_equal(set(&f, "a", "alpha", 5, 0), 0);
	assert_int_equal(set(&f, "b", "beta", 4, 0), 0);
	sk_kv_read_plan(&f.view, &c.hkey, "a", 1, &pa);
	sk_kv_read_plan(&f.view, &c.hkey, "b", 1, &pb);
	memcpy(pair, (uint8_t *)f.mem + pa.pair_off, sizeof(pair));
	assert_int_equal(sk_kv_read_pick(&f.view, &pb, pair, cands, &n), 0);
	assert_true(n >= 1);
	cb = cands[0];
	memcpy(item, (uint8_t *)f.mem + cb.off, cb.len);
	assert_int_equal(sk_kv_read_check(&pb, &cb, item, "b", 1, 0, &r), 0);
	/* b's item asked for as a: another key. */
	assert_int_equal(sk_kv_read_check(&pa, &cb, item, "a", 1, 0, &r),
			 SK_KV_ERR_OTHER_KEY);
	/* One bit anywhere, padding included: the check fails. */
	for (i = 8; i < cb.len; i++) {
		item[i] ^= 0x10;
		assert_int_equal(sk_kv_read_check(&pb, &cb, item, "b", 1, 0,
						  &r), SK_KV_ERR_BAD_CHECK);
		item[i] ^= 0x10;
	}
	/* The same bytes said to be elsewhere: the check is of the place. */
	cb.off += SK_KV_UNIT;
	assert_int_equal(sk_kv_read_check(&pb, &cb, item, "b", 1, 0, &r),
			 SK_KV_ERR_BAD_CHECK);
	cb.off -= SK_KV_UNIT;
	/* Read at a wrong length (a torn slot): the check fails. */
	memset(moved, 0, sizeof(moved));
	memcpy(moved, item, cb.len);
	cb.len += SK_KV_UNIT;
	assert_int_equal(sk_kv_read_check(&pb, &cb, moved, "b", 1, 0, &r),
			 SK_KV_ERR_BAD_CHECK);
	/* Without the check, the lengths still keep parse inside the copy. */
	assert_int_equal(sk_kv_read_parse(&pb, &cb, moved, "b", 1, 0, &r),
			 SK_ERR_MALFORMED);
	cb.len -= SK_KV_UNIT;

	/* A slot past the store's end is no candidate. */
	for (i = 1; i < 16; i++)
		if (i != 8)
			w[i] = sk_kv_slot_make(pb.fp, 1, 0,
					       f.view.store_size / SK_KV_UNIT);
	assert_int_equal(sk_kv_read_pick(&f.view, &pb, pair, cands, &n), 0);
	assert_int_equal(n, 0);
	w[1] = sk_kv_slot_make(pb.fp, SK_KV_UNITS_MAX, 0, 0);
	w[2] = sk_kv_slot_make(pb.fp, 0, 0, 0);
	w[3] = sk_kv_slot_make(pb.fp, 1, 0, SK_KV_OFF_MAX);
	assert_int_equal(sk_kv_read_pick(&f.view, &pb, pair, cands, &n), 0);
	assert_int_equal(n, 0);

	/* A new epoch: a reader with the old map learns it is stale. */
	old = f.view;
	sk_kv_part_restamp(f.part, 4);
	memcpy(pair, (uint8_t *)f.mem + pa.pair_off, sizeof(pair));
	assert_int_equal(sk_kv_read_pick(&old, &pa, pair, cands, &n),
			 SK_KV_ERR_STALE);
	assert_int_equal(n, 0);
	assert_int_equal(sk_kv_view_from_hdr(f.mem, SK_KV_HDR_SIZE, &f.view),
			 0);
	assert_int_equal(f.view.epoch, 4);
	assert_int_equal(sk_kv_read_pick(&f.view, &pa, pair, cands, &n), 0);
	assert_true(n >= 1);
	/* The partition too, bucket by bucket. */
	old = f.view;
	old.partition = 8;
	assert_int_equal(sk_kv_read_pick(&old, &pa, pair, cands, &n),
			 SK_KV_ERR_STALE);
	w[8] = sk_kv_bhdr_make(4, 8, 0);
	assert_int_equal(sk_kv_read_pick(&f.view, &pa, pair, cands, &n),
			 SK_KV_ERR_STALE);
	fx_close(&f);
}

/*
 * The slot's fields at their limits, on a view of a store as large as the
 * offset field can address (2^29 units, 8 GiB): an item of the largest
 * size, at the first unit and ending at the store's last; one unit at the
 * last offset. A size past the largest item's, or past the store's end,
 * is no candidate. Each candidate carries its slot's generation.
 */
static void reader_slot_limits(void **state)
{
	struct sk_kv_view view = {
		.partition = 7, .epoch = 3, .nbuckets = 2,
		.store_off = SK_KV_HDR_SIZE + 2 * SK_KV_LINE,
		.store_size = (SK_KV_OFF_MAX + 1) * SK_KV_UNIT,
	};
	struct sk_kv_plan plan = { .h = 1, .fp = 0x123,
				   .pair_off = SK_KV_HDR_SIZE };
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
	uint64_t w[16] = { 0 }, top = SK_KV_OFF_MAX + 1;
	unsigned n;

	w[0] = w[8] = sk_kv_bhdr_make(3, 7, 0);
	w[1] = sk_kv_slot_make(0x123, SK_KV_ITEM_UNITS_MAX, 0, 0);
	w[2] = sk_kv_slot_make(0x123, SK_KV_ITEM_UNITS_MAX, 1,
			       top - SK_KV_ITEM_UNITS_MAX);
	w[3] = sk_kv_slot_make(0x123, 1, SK_KV_GEN_MASK, SK_KV_OFF_MAX);
	w[4] = sk_kv_slot_make(0x123, SK_KV_ITEM_UNITS_MAX + 1, 0, 0);
	w[5] = sk_kv_slot_make(0x123, SK_KV_UNITS_MAX, 0, 0);
	w[6] = sk_kv_slot_make(0x123, 2, 0, SK_KV_OFF_MAX);
	w[7] = sk_kv_slot_make(0x123, SK_KV_ITEM_UNITS_MAX, 0,
			       top - SK_KV_ITEM_UNITS_MAX + 1);
	w[9] = sk_kv_slot_make(0x124, 1, 0, 0); /* another fingerprint */
	assert_int_equal(sk_kv_read_pick(&view, &plan, w, cands, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(cands[0].off, view.store_off);
	assert_int_equal(cands[0].len, SK_KV_ITEM_MAX);
	assert_int_equal(cands[1].off + cands[1].len,
			 view.store_off + view.store_size);
	assert_int_equal(cands[1].len, SK_KV_ITEM_MAX);
	assert_int_equal(cands[2].off, view.store_off +
			 SK_KV_OFF_MAX * SK_KV_UNIT);
	assert_int_equal(cands[2].len, SK_KV_UNIT);
	assert_int_equal(cands[0].gen, 0);
	assert_int_equal(cands[1].gen, 1);
	assert_int_equal(cands[2].gen, SK_KV_GEN_MASK);
}

/*
 * A partition larger than the offset field addresses uses the first 2^29
 * units of its store (8 GiB) and leaves the rest. Reserved, not
 * touched: only the header and buckets are written.
 */
static void init_store_past_offset_field(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(2);
	size_t size = SK_KV_HDR_SIZE + 2 * SK_KV_LINE +
		      (SK_KV_OFF_MAX + 2) * SK_KV_UNIT;
	struct sk_kv_part_stats st;
	struct sk_kv_item_view v;
	struct sk_kv_part *p;
	struct sk_kv_view view;
	void *mem;

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		skip(); /* no 8 GiB of address space here */
	assert_int_equal(sk_kv_part_init(mem, size, &c, &p), 0);
	assert_int_equal(sk_kv_view_from_hdr(mem, SK_KV_HDR_SIZE, &view), 0);
	assert_int_equal(view.store_size, (SK_KV_OFF_MAX + 1) * SK_KV_UNIT);
	assert_int_equal(sk_kv_part_set(p, "k", 1, "v", 1, NULL, 0, 0, 0, 0,
					NULL), 0);
	assert_int_equal(sk_kv_part_lookup(p, "k", 1, &v), 0);
	sk_kv_part_stats(p, &st);
	assert_int_equal(st.store_used, sk_kv_item_size(1, 1));
	sk_kv_part_cleanup(p);
	munmap(mem, size);
}

/* Random bytes as an item: never accepted, never read out of bounds. */
static void reader_random_bytes(void **state)
{
	struct sk_kv_plan plan = { .h = 1, .fp = 1 };
	struct sk_kv_cand cand = { .off = 4096 + 128 };
	struct sk_kv_item_view r;
	uint8_t buf[256];
	unsigned i, j;

	srand(12);
	for (i = 0; i < 20000; i++) {
		cand.len = SK_KV_UNIT * (1 + i % 16);
		for (j = 0; j < cand.len; j++)
			buf[j] = rand();
		if (i % 2)
			/* a plausible klen */
			buf[offsetof(struct sk_kv_item_hdr, klen)] = 1 + i % 4;
		assert_int_not_equal(sk_kv_read_check(&plan, &cand, buf, "k",
						      1, 0, &r), 0);
		(void)sk_kv_read_parse(&plan, &cand, buf, "k", 1, 0, &r);
	}
}

/* ---- when full: CLOCK with access hints (kv/README.md, "When full") ---- */

static int present(struct fx *f, const char *k)
{
	struct sk_kv_item_view v;

	/* Note: the owner's lookup sets the item's reference bit. */
	return sk_kv_part_lookup(f->part, k, strlen(k), &v) == 0;
}

/* The region offset of a key's live item (its lookup marks it). */
static uint64_t item_off(struct fx *f, const char *k)
{
	struct sk_kv_item_view v;

	assert_int_equal(sk_kv_part_lookup(f->part, k, strlen(k), &v), 0);
	return (uint64_t)(v.value - strlen(k) - SK_KV_ITEM_HDR -
			  (const uint8_t *)f->mem);
}

/*
 * B = 2: every key in the one pair. A new key goes to the bucket with
 * more empty slots (the first on a tie), so keys 0, 2, .., 12 fill slot
 * words 1..7 and keys 1, 3, .., 13 words 9..15; eviction scans words 1..7,
 * then 9..15. A full pair evicts its first item without its bit; a
 * referenced item (the owner's read, or a client's hint by hash) is
 * passed once, its bit cleared: its second chance, and only one.
 */
static void evict_full_pair_clock(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(2);
	struct sk_kv_part_stats st;
	char k[16];
	unsigned i;
	struct fx f;

	c.evict = sk_kv_part_evict_clock;
	fx_open(&f, 1 << 16, &c);
	for (i = 0; i < SK_KV_PAIR_SLOTS; i++) {
		keyname(k, i);
		assert_int_equal(set(&f, k, "v", 1, 0), 0);
	}
	/* Every item was just written (bit set): the first pass clears
	 * them all, the second evicts word 1's, key0. */
	assert_int_equal(set(&f, "x", "v", 1, 0), 0);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.evicted, 1);
	assert_int_equal(st.items, SK_KV_PAIR_SLOTS);
	assert_false(present(&f, "key0"));
	/* Now x (word 1) alone has its bit. A client hints key2 (word 2)
	 * by its hash: key2 survives, key4 (word 3), unreferenced, goes. */
	assert_int_equal(sk_kv_part_ref(f.part, sk_kv_key_hash(&c.hkey,
								 "key2", 4)), 1);
	assert_int_equal(sk_kv_part_ref(f.part, 12345), 0);
	assert_int_equal(set(&f, "y", "v", 1, 0), 0);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.evicted, 2);
	assert_false(present(&f, "key4"));
	/* x and key2 had their chance (bits cleared on the way); y took
	 * word 3 with its bit. Next goes x, then key2. */
	assert_int_equal(set(&f, "z", "v", 1, 0), 0);
	assert_int_equal(set(&f, "z2", "v", 1, 0), 0);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.evicted, 4);
	assert_false(present(&f, "x"));
	assert_false(present(&f, "key2"));
	/* The owner's own read is an access: read all but key9 (word 13),
	 * and key9 is the one the next set evicts. */
	for (i = 0; i < SK_KV_PAIR_SLOTS; i++) {
		keyname(k, i);
		if (i != 0 && i != 2 && i != 4 && i != 9)
			assert_true(present(&f, k));
	}
	assert_true(present(&f, "y") && present(&f, "z") &&
		    present(&f, "z2"));
	assert_int_equal(set(&f, "w", "v", 1, 0), 0);
	assert_false(present(&f, "key9"));
	for (i = 0; i < SK_KV_PAIR_SLOTS; i++) {
		keyname(k, i);
		assert_true(i == 0 || i == 2 || i == 4 || i == 9 ||
			    present(&f, k));
	}
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.evicted, 5);
	assert_int_equal(st.items, SK_KV_PAIR_SLOTS);
	/* Evicted items wait in quarantine as deleted ones do. */
	assert_int_equal(st.quarantined, 5);
	fx_close(&f);
}

/*
 * A full store: eviction frees chunks of the class asked for, usable Q
 * after they left their slots; memcached -M (no hook) answers NOMEM.
 */
static void evict_full_store(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_part_stats st;
	uint64_t t0 = 5 * Q_NS, ahead;
	char big[600], k[16];
	unsigned i, run;
	struct fx f;

	memset(big, 'b', sizeof(big)); /* a class far above the small */
	/* A bound that leaves the hand's sweeps (half of it) room for the
	 * class's whole reserve. */
	c.quarantine_max = 4 * 32 * SMALL;
	for (run = 0; run < 2; run++) {
		c.evict = run ? sk_kv_part_evict_clock : NULL;
		fx_open(&f, 32 * SMALL, &c);
		for (i = 0; i < 32; i++) {
			keyname(k, i);
			assert_int_equal(set(&f, k, "v", 1, t0), 0);
		}
		sk_kv_part_stats(f.part, &st);
		assert_int_equal(st.store_used, 32 * SMALL);
		if (!run) {
			/* no_evict: out of memory now and later. */
			assert_int_equal(set(&f, "n", "v", 1, t0),
					 SK_ERR_NOMEM);
			assert_int_equal(set(&f, "n", "v", 1, t0 + 10 * Q_NS),
					 SK_ERR_NOMEM);
			assert_int_equal(st.evicted, 0);
			fx_close(&f);
			continue;
		}
		/* The last sets ran into the store's last quarter and
		 * evicted ahead, into quarantine. */
		ahead = st.evicted;
		assert_true(ahead >= 1);
		assert_int_equal(st.items, 32 - ahead);
		assert_int_equal(st.quarantined, ahead);
		/* Nothing free yet: this set evicts one more, and fails,
		 * for now only (its class's chunks are in quarantine). */
		assert_int_equal(set(&f, "n", "v", 1, t0), SK_ERR_NOMEM);
		assert_false(sk_kv_part_nomem_for_good(f.part));
		sk_kv_part_stats(f.part, &st);
		assert_int_equal(st.evicted, ahead + 1);
		/* Q later those evicted ahead are free: as many sets of
		 * new keys succeed at once. */
		for (i = 0; i < ahead; i++) {
			snprintf(k, sizeof(k), "n%u", i);
			assert_int_equal(set(&f, k, "v", 1, t0 + Q_NS), 0);
			assert_true(present(&f, k));
		}
		/* A class with no chunk at all, and none above it to lend
		 * (chunks are never split): NOMEM, and nothing of another
		 * class is evicted for it. */
		sk_kv_part_stats(f.part, &st);
		ahead = st.evicted;
		assert_int_equal(set(&f, "big", big, sizeof(big),
				     t0 + 3 * Q_NS), SK_ERR_NOMEM);
		assert_true(sk_kv_part_nomem_for_good(f.part));
		sk_kv_part_stats(f.part, &st);
		assert_int_equal(st.evicted, ahead);
		/* Any other outcome clears it. */
		assert_int_equal(set(&f, "n0", "w", 1, t0 + 3 * Q_NS), 0);
		assert_false(sk_kv_part_nomem_for_good(f.part));
		fx_close(&f);
	}
}

/*
 * An evicted item's chunk is not reused before Q from the owner's first
 * call after its eviction, even when the eviction happened inside a set
 * that then tried again (the retry must not stamp it with the set's own
 * time, read before the slot store).
 */
static void evict_not_reused_before_q(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	uint64_t off[16], t0 = 5 * Q_NS, t = t0 + Q_NS / 2;
	int gone_at_t[16] = { 0 };
	char k[16];
	unsigned i, j, ahead, gone;
	struct fx f;

	c.evict = sk_kv_part_evict_clock;
	c.quarantine_max = 4 * 16 * SMALL; /* room, as above */
	fx_open(&f, 16 * SMALL, &c);
	for (i = 0; i < 16; i++) {
		keyname(k, i);
		assert_int_equal(set(&f, k, "v", 1, t0), 0);
	}
	/* Some evicted ahead; the rest read (bits set). */
	for (i = ahead = 0; i < 16; i++) {
		keyname(k, i);
		if (present(&f, k))
			off[i] = item_off(&f, k);
		else
			off[i] = 0, ahead++;
	}
	assert_true(ahead >= 1);
	/* An idle owner's timer stamps them at t0: free at t0 + Q. */
	assert_int_equal(sk_kv_part_reap(f.part, t0), 0);
	/* No free chunk at t: the set evicts more (X) and fails. */
	assert_int_equal(set(&f, "new1", "v", 1, t), SK_ERR_NOMEM);
	for (i = gone = 0; i < 16; i++) {
		keyname(k, i);
		if (off[i] && !present(&f, k))
			gone_at_t[i] = 1, gone++;
	}
	assert_true(gone >= 1);
	/* The owner's next call, just before t + Q, stamps X, and frees
	 * those evicted ahead (stamped t0). */
	assert_int_equal(sk_kv_part_reap(f.part, t + Q_NS - 1), ahead);
	/* At t + Q those evicted ahead are free (a stamp of t, the failed
	 * set's own time, would free X's too, and X's come first). */
	for (j = 0; j < ahead; j++) {
		snprintf(k, sizeof(k), "new%u", 2 + j);
		assert_int_equal(set(&f, k, "v", 1, t + Q_NS), 0);
		for (i = 0; i < 16; i++)
			assert_true(!gone_at_t[i] ||
				    item_off(&f, k) != off[i]);
	}
	fx_close(&f);
}

/* The crawler retires what has expired by the owner's clock, a bounded
 * number of slots per call, and its memory comes back Q later. */
static void expiry_sweep(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_part_stats st;
	struct sk_kv_item_view r;
	uint8_t buf[64];
	unsigned i, n, calls;
	char k[16];
	struct fx f;

	fx_open(&f, 1 << 16, &c);
	for (i = 0; i < 25; i++) {
		keyname(k, i);
		assert_int_equal(sk_kv_part_set(f.part, k, strlen(k), "v", 1,
						NULL, 0, 0,
						i < 10 ? 100 : i < 20 ? 0 : 200,
						0, NULL), 0);
	}
	assert_int_equal(sk_kv_part_expire(f.part, 99, 64 * 8, 1), 0);
	/* One slot word at a time: bounded work per call. */
	for (calls = n = 0; calls < 64 * 8; calls++)
		n += sk_kv_part_expire(f.part, 100, 1, 2);
	assert_int_equal(n, 10);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.items, 15);
	assert_int_equal(st.expired, 10);
	assert_int_equal(st.quarantined, 10);
	for (i = 0; i < 25; i++) {
		keyname(k, i);
		assert_int_equal(remote_get(&f, k, strlen(k), 0, buf,
					    sizeof(buf), &r),
				 i < 10 ? SK_KV_ERR_NOT_FOUND : 0);
	}
	assert_int_equal(sk_kv_part_expire(f.part, UINT32_MAX, 64 * 8, 3), 5);
	/* Stamped at 3 (the next call), free at 3 + Q. */
	assert_int_equal(sk_kv_part_reap(f.part, 3), 0);
	assert_int_equal(sk_kv_part_reap(f.part, 3 + Q_NS - 1), 10);
	assert_int_equal(sk_kv_part_reap(f.part, 3 + Q_NS), 5);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.items, 10);
	assert_int_equal(st.quarantined, 0);
	fx_close(&f);
}

/* Value bytes of (key, seq): what a get must return exactly. */
static void fill_val(uint8_t *v, size_t n, unsigned key, unsigned seq)
{
	uint32_t x = key * 2654435761u ^ seq * 40503u;
	size_t i;

	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		v[i] = x >> 16;
	}
}

/* Key @key read as a peer would: 0 if absent, else 1 once its value is
 * the @len bytes fill_val gives for (@key, @seq). */
static unsigned read_back(struct fx *f, unsigned key, size_t len,
			  unsigned seq)
{
	static uint8_t want[16384], buf[16384];
	struct sk_kv_item_view r;
	char k[16];
	int rc;

	keyname(k, key);
	rc = remote_get(f, k, strlen(k), 0, buf, sizeof(buf), &r);
	if (rc == SK_KV_ERR_NOT_FOUND)
		return 0;
	assert_int_equal(rc, 0);
	assert_int_equal(r.vlen, len);
	fill_val(want, len, key, seq);
	assert_memory_equal(r.value, want, len);
	return 1;
}

/*
 * 100,000 sets of random sizes (0 to 2,000 bytes: 3 to 128 units of 16
 * bytes, 20 size classes) of 4,000 keys into a 256 KiB store, eviction
 * on, the owner's clock going Q / 8 per set: every set succeeds.
 * (Failures would come from a class whose sets in one Q outrun its
 * reserve, or a class left without chunks; kv/README.md, "When full".) Every key present reads
 * back, one-sided, as exactly its last value.
 */
static void evict_random_sets(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(256);
	static uint32_t last_seq[4000], last_len[4000];
	static uint8_t val[2048];
	struct sk_kv_part_stats st;
	uint64_t t = Q_NS;
	unsigned i, key, len, present_n = 0;
	uint64_t bytes = 0;
	char k[16];
	struct fx f;

	c.evict = sk_kv_part_evict_clock;
	fx_open(&f, 256 << 10, &c);
	srand(2026);
	for (i = 1; i <= 100000; i++) {
		key = rand() % 4000;
		len = rand() % 2001;
		keyname(k, key);
		fill_val(val, len, key, i);
		t += Q_NS / 8;
		assert_int_equal(sk_kv_part_set(f.part, k, strlen(k), val, len,
						NULL, 0, 0, 0, t, NULL), 0);
		last_seq[key] = i;
		last_len[key] = len;
		/* A client's hint now and then, as GETs would send. */
		if (i % 3 == 0) {
			keyname(k, rand() % 4000);
			(void)sk_kv_part_ref(f.part,
					     sk_kv_key_hash(&c.hkey, k,
							     strlen(k)));
		}
	}
	for (key = 0; key < 4000; key++) {
		unsigned in = read_back(&f, key, last_len[key], last_seq[key]);

		keyname(k, key);
		present_n += in;
		bytes += in ? sk_kv_item_size(strlen(k), last_len[key]) : 0;
	}
	sk_kv_part_stats(f.part, &st);
	print_message("evict_random_sets: %llu evicted, %llu chunks split, "
		      "%u of 4000 keys present, %llu bytes in quarantine\n",
		      (unsigned long long)st.evicted,
		      (unsigned long long)st.split, present_n,
		      (unsigned long long)st.quarantine_bytes);
	assert_int_equal(present_n, st.items);
	assert_true(st.evicted > 0);
	assert_int_equal(check_classes(&f), bytes);
	fx_close(&f);
}

/*
 * A store as skcached's -m 64 gives each partition (4 MiB of items), filled
 * with 1 KiB values of distinct keys at 32 sets a Q: every set succeeds,
 * and the items keep at least 85% of the store once it is carved out. The
 * floors that cover bursts (a quarter of the store uncarved, a quarter of
 * a class's chunks spare) stop growing with the store: with them a quarter
 * each, a store this size kept 56%, half of memcached's items at the same
 * memory (kv/README.md, "Liveness under a steady SET load").
 */
static void evict_large_store_keeps_most(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(4096);
	static uint8_t val[1024];
	struct sk_kv_part_stats st;
	size_t store = 4u << 20;
	uint64_t t = Q_NS, held;
	unsigned i;
	char k[16];
	struct fx f;

	(void)state;
	c.evict = sk_kv_part_evict_clock;
	fx_open(&f, store, &c);
	for (i = 0; i < 30000; i++) {
		snprintf(k, sizeof(k), "key:%010u", i);
		fill_val(val, sizeof(val), i, i);
		t += Q_NS / 32;
		assert_int_equal(sk_kv_part_set(f.part, k, strlen(k), val,
						sizeof(val), NULL, 0, 0, 0, t,
						NULL), 0);
	}
	sk_kv_part_stats(f.part, &st);
	/* The chunks holding items: carved, neither free nor retired. */
	held = st.store_used - st.free_bytes - st.quarantine_bytes;
	print_message("evict_large_store_keeps_most: %llu items in %.1f%% of "
		      "the store, %llu evicted\n",
		      (unsigned long long)st.items,
		      100.0 * (double)held / (double)store,
		      (unsigned long long)st.evicted);
	assert_true(st.evicted > 0);
	assert_true(held * 100 >= (uint64_t)store * 85);
	fx_close(&f);
}

/*
 * A workload that moves from large values to small ones in a full store:
 * 1 MiB filled by 16,000-byte values (their class carves it all), then
 * 100-byte values of new keys. The small values' class has no chunk and
 * none in reach; free chunks of the large class beyond its reserve are
 * cut into small ones (chunk_split), so every set succeeds and the new
 * keys fill the store, where without the cut each small set waited Q
 * for the few chunks eviction could give back. Every value read back is
 * the last one set.
 */
static void evict_sizes_shift(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(2048);
	static uint8_t val[16000];
	static uint32_t seq[6200];
	struct sk_kv_part_stats st;
	uint64_t t = Q_NS;
	unsigned i, key, failed = 0, present = 0;
	char k[16];
	struct fx f;

	(void)state;
	c.evict = sk_kv_part_evict_clock;
	fx_open(&f, 1u << 20, &c);
	/* Large values over 200 keys, eight a Q: the store fills, and
	 * evicting keeps the class's reserve spare. */
	for (i = 1; i <= 400; i++) {
		key = i % 200;
		keyname(k, key);
		fill_val(val, 16000, key, i);
		t += Q_NS / 8;
		assert_int_equal(sk_kv_part_set(f.part, k, strlen(k), val,
						16000, NULL, 0, 0, 0, t, NULL),
				 0);
		seq[key] = i;
	}
	/* A quiet second (the large class's demand falls to its floor),
	 * then small values of 6,000 new keys, eight a Q: the large class
	 * is idle for SPLIT_IDLE_Q (50) windows of Q after the first 400. */
	t += 10 * Q_NS;
	for (i = 401; i <= 6400; i++) {
		key = 200 + (i - 401);
		keyname(k, key);
		fill_val(val, 100, key, i);
		t += Q_NS / 8;
		if (sk_kv_part_set(f.part, k, strlen(k), val, 100, NULL, 0, 0,
				   0, t, NULL) != 0)
			failed++;
		else
			seq[key] = i;
	}
	for (key = 0; key < 6200; key++)
		present += read_back(&f, key, key < 200 ? 16000 : 100, seq[key]);
	sk_kv_part_stats(f.part, &st);
	print_message("evict_sizes_shift: %u small sets failed, %llu chunks "
		      "split, %u keys present (%llu items), %llu evicted\n",
		      failed, (unsigned long long)st.split, present,
		      (unsigned long long)st.items,
		      (unsigned long long)st.evicted);
	assert_int_equal(present, st.items);
	assert_int_equal(failed, 0);
	assert_true(st.split > 0);
	/* Without the cut the small class kept 44 (its own evictions fed
	 * it); with it, the large class's spare beyond a quarter. */
	assert_true(present >= 500);
	(void)check_classes(&f); /* the cut chunks counted in their class */
	fx_close(&f);
}

/*
 * touch: a new expiry, the same CAS, flags, key and value, published out
 * of place (the old item's bytes stay as they were, in quarantine); the
 * limits of a key; no room; and an eviction hook that evicts the very key
 * being touched.
 */
static void touch_keeps_cas(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_item_view v, r;
	struct sk_kv_part_stats st;
	struct evict_log log = {0};
	uint8_t buf[4096], before[64]; /* the item */
	char key[SK_KV_KEY_MAX + 1];
	const uint8_t *old_item;
	uint64_t cas1, cas2;
	struct fx f;

	fx_open(&f, 1 << 20, &c);
	memset(key, 'k', sizeof(key));
	assert_int_equal(sk_kv_part_touch(f.part, "t", 1, 5, 10),
			 SK_KV_ERR_NOT_FOUND);
	assert_int_equal(sk_kv_part_touch(f.part, key, 0, 5, 10),
			 SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_touch(f.part, key, SK_KV_KEY_MAX + 1, 5,
					  10), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_set(f.part, "t", 1, "value", 5, NULL, 0,
					7, 1000, 10, &cas1), 0);
	assert_int_equal(sk_kv_part_lookup(f.part, "t", 1, &v), 0);
	old_item = v.value - SK_KV_ITEM_HDR - 1;
	memcpy(before, old_item, sk_kv_item_size(1, 5));

	assert_int_equal(sk_kv_part_touch(f.part, "t", 1, 2000, 20), 0);
	assert_int_equal(sk_kv_part_lookup(f.part, "t", 1, &v), 0);
	assert_int_equal(v.cas, cas1);
	assert_int_equal(v.flags, 7);
	assert_int_equal(v.exptime, 2000);
	assert_int_equal(v.vlen, 5);
	assert_memory_equal(v.value, "value", 5);
	/* Out of place: the old item's bytes are untouched but for its
	 * CAS word, killed (SK_KV_CAS_KILLED) before its slot moved on. */
	assert_ptr_not_equal(v.value - SK_KV_ITEM_HDR - 1, old_item);
	assert_memory_equal(old_item, before, 8);
	assert_memory_equal(old_item + 16, before + 16,
			    sk_kv_item_size(1, 5) - 16);
	{
		uint64_t cas;

		memcpy(&cas, old_item + 8, 8);
		assert_true(cas == (cas1 | SK_KV_CAS_KILLED));
	}
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.items, 1);
	assert_int_equal(st.quarantined, 1);
	/* A reader accepts the new item (its check is for its new offset)
	 * up to the new expiry. */
	assert_int_equal(remote_get(&f, "t", 1, 1999, buf, sizeof(buf), &r), 0);
	assert_int_equal(r.cas, cas1);
	assert_int_equal(r.flags, 7);
	assert_memory_equal(r.value, "value", 5);
	assert_int_equal(remote_get(&f, "t", 1, 2000, buf, sizeof(buf), &r),
			 SK_KV_ERR_EXPIRED);
	/* 0: never again. */
	assert_int_equal(sk_kv_part_touch(f.part, "t", 1, 0, 30), 0);
	assert_int_equal(remote_get(&f, "t", 1, UINT32_MAX, buf, sizeof(buf),
				    &r), 0);
	assert_int_equal(r.cas, cas1);
	/* A later set still gets a new CAS. */
	assert_int_equal(sk_kv_part_set(f.part, "t", 1, "x", 1, NULL, 0, 0, 0,
					40, &cas2), 0);
	assert_true(cas2 > cas1);
	/* The longest key. */
	assert_int_equal(sk_kv_part_set(f.part, key, SK_KV_KEY_MAX, "v", 1,
					NULL, 0, 3, 0, 50, &cas1), 0);
	assert_int_equal(sk_kv_part_touch(f.part, key, SK_KV_KEY_MAX, 9, 60),
			 0);
	assert_int_equal(remote_get(&f, key, SK_KV_KEY_MAX, 8, buf,
				    sizeof(buf), &r), 0);
	assert_int_equal(r.cas, cas1);
	assert_int_equal(r.exptime, 9);
	fx_close(&f);

	/* No room for the copy: refused, the item as it was. */
	c = cfg_default(2);
	fx_open(&f, SMALL, &c);
	assert_int_equal(sk_kv_part_set(f.part, "k", 1, "v", 1, NULL, 0, 0, 5,
					0, &cas1), 0);
	assert_int_equal(sk_kv_part_touch(f.part, "k", 1, 6, 1), SK_ERR_NOMEM);
	assert_int_equal(sk_kv_part_lookup(f.part, "k", 1, &v), 0);
	assert_int_equal(v.exptime, 5);
	assert_int_equal(v.cas, cas1);
	fx_close(&f);

	/* The hook evicts the key being touched: nothing to touch. */
	c = cfg_default(2);
	c.quarantine_ns = 0;
	/* The bound past half a one-line store, so that retiring key0 is
	 * not refused as too much in quarantine. */
	c.quarantine_max = 4 * SMALL;
	c.evict = evict_key0;
	c.evict_arg = &log;
	fx_open(&f, SMALL, &c);
	assert_int_equal(sk_kv_part_set(f.part, "key0", 4, "v", 1, NULL, 0, 0,
					0, 0, NULL), 0);
	assert_int_equal(sk_kv_part_touch(f.part, "key0", 4, 6, 1),
			 SK_KV_ERR_NOT_FOUND);
	assert_int_equal(log.calls, 1);
	assert_int_equal(log.need, sk_kv_item_size(4, 1) / SK_KV_UNIT);
	assert_int_equal(sk_kv_part_lookup(f.part, "key0", 4, &v),
			 SK_KV_ERR_NOT_FOUND);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.items, 0);
	assert_int_equal(sk_kv_part_set(f.part, "key1", 4, "v", 1, NULL, 0, 0,
					0, 2, NULL), 0);
	fx_close(&f);
}

/*
 * One run of the nomem walk's workload: sets (values of 1 to 300 bytes,
 * 40 keys), deletes, touches and reaps into a 32 KiB store that evicts,
 * the clock going Q/4 per operation, with sk_kv_alloc_fail_in = fail_in.
 * Every answer must be one the call documents; one that failed changed
 * nothing (a key keeps its last value or stays absent), one that
 * succeeded did what it says. At the end, every key present holds
 * exactly its last value (owner's read and a reader's), the item count
 * agrees, and 10 Q later, with the heap back, the quarantine empties:
 * no retired chunk was lost. Returns how many answers were SK_ERR_NOMEM;
 * *fired_p: whether the fail_in-th allocation was reached.
 */
static unsigned nomem_run(unsigned long fail_in, int *fired_p)
{
	struct sk_kv_part_cfg c = cfg_default(8);
	static int32_t model[40];   /* op of the key's last set, -1 none */
	static uint32_t mlen[40];   /* and its length */
	static uint8_t val[300], buf[1024];
	struct sk_kv_part_stats st;
	struct sk_kv_item_view v;
	uint64_t t = Q_NS, x = 88172645463325252ull, present = 0;
	unsigned op, key, len, nomem = 0;
	char k[16];
	struct fx f;
	int rc;

	c.evict = sk_kv_part_evict_clock;
	fx_open(&f, 32 << 10, &c);
	memset(model, 0xff, sizeof(model));
	sk_kv_alloc_fail_in = fail_in;
	for (op = 0; op < 1500; op++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		key = x % 40;
		keyname(k, key);
		t += Q_NS / 4;
		switch (x >> 32 & 7) {
		case 0:
			rc = sk_kv_part_delete(f.part, k, strlen(k), t);
			assert_true(rc == 0 || rc == SK_KV_ERR_NOT_FOUND ||
				    rc == SK_ERR_NOMEM);
			if (rc != SK_ERR_NOMEM)
				model[key] = -1; /* gone, or evicted */
			break;
		case 1:
			(void)sk_kv_part_reap(f.part, t);
			rc = 0;
			break;
		case 2:
			rc = sk_kv_part_touch(f.part, k, strlen(k), 0, t);
			assert_true(rc == 0 || rc == SK_KV_ERR_NOT_FOUND ||
				    rc == SK_ERR_NOMEM ||
				    rc == SK_KV_ERR_QUARANTINE_FULL);
			break;
		default:
			len = 1 + (x >> 40) % 300;
			fill_val(val, len, key, op);
			rc = sk_kv_part_set(f.part, k, strlen(k), val, len,
					    NULL, 0, 0, 0, t, NULL);
			assert_true(rc == 0 || rc == SK_ERR_NOMEM ||
				    rc == SK_KV_ERR_QUARANTINE_FULL ||
				    rc == SK_KV_ERR_PAIR_FULL);
			if (rc == 0) {
				model[key] = (int32_t)op;
				mlen[key] = len;
			}
			break;
		}
		nomem += rc == SK_ERR_NOMEM;
	}
	for (key = 0; key < 40; key++) {
		uint8_t want[300];

		keyname(k, key);
		if (sk_kv_part_lookup(f.part, k, strlen(k), &v) != 0)
			continue; /* deleted or evicted */
		assert_true(model[key] >= 0);
		len = mlen[key];
		assert_int_equal(v.vlen, len);
		fill_val(want, len, key, (unsigned)model[key]);
		assert_memory_equal(v.value, want, len);
		assert_int_equal(remote_get(&f, k, strlen(k), 0, buf,
					    sizeof(buf), &v), 0);
		assert_memory_equal(v.value, want, len);
		present++;
	}
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.items, present);
	/* The heap back: every retired chunk comes free, and with every
	 * key deleted, every chunk carved: none was lost. */
	*fired_p = fail_in && !sk_kv_alloc_fail_in;
	sk_kv_alloc_fail_in = 0;
	for (key = 0; key < 40; key++) {
		keyname(k, key);
		rc = sk_kv_part_delete(f.part, k, strlen(k), t);
		assert_true(rc == 0 || rc == SK_KV_ERR_NOT_FOUND);
	}
	(void)sk_kv_part_reap(f.part, t + 10 * Q_NS);
	(void)sk_kv_part_reap(f.part, t + 20 * Q_NS);
	sk_kv_part_stats(f.part, &st);
	assert_int_equal(st.items, 0);
	assert_int_equal(st.quarantined, 0);
	assert_int_equal(st.quarantine_bytes, 0);
	assert_int_equal(st.free_bytes, st.store_used);
	fx_close(&f);
	return nomem;
}

/*
 * Every allocation an update, delete or reap makes (free lists, the
 * quarantine ring) failed in turn: the walk goes on until a run makes
 * fewer allocations than the one asked to fail.
 */
/*
 * An item's state (memcached's stale bit and win token): set by
 * sk_kv_part_set_state and sk_kv_part_restate, sealed with the item so a
 * reader sees it (and a flipped bit fails the check), kept by touch,
 * cleared by a set; restate with a new CAS gives one and kills the old
 * copy. Unknown state bits are refused.
 */
static void item_state(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(64);
	struct sk_kv_item_view v, r;
	uint8_t buf[4096];
	uint64_t cas1, cas2, cas3;
	struct fx f;

	(void)state;
	fx_open(&f, 1 << 20, &c);
	assert_int_equal(sk_kv_part_set_state(f.part, "s", 1, "v", 1, NULL, 0,
					      3, 0, 4, 10, &cas1),
			 SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_set_state(f.part, "s", 1, "", 0, NULL, 0,
					      0, 50, SK_KV_ITEM_TOKEN, 10,
					      &cas1), 0);
	assert_int_equal(sk_kv_part_lookup(f.part, "s", 1, &v), 0);
	assert_int_equal(v.state, SK_KV_ITEM_TOKEN);
	assert_int_equal(remote_get(&f, "s", 1, 1, buf, sizeof(buf), &r), 0);
	assert_int_equal(r.state, SK_KV_ITEM_TOKEN);
	assert_int_equal(r.vlen, 0);
	assert_int_equal(r.cas, cas1);
	/* touch keeps it; restate changes it, the CAS kept or new */
	assert_int_equal(sk_kv_part_touch(f.part, "s", 1, 60, 20), 0);
	assert_int_equal(remote_get(&f, "s", 1, 1, buf, sizeof(buf), &r), 0);
	assert_int_equal(r.state, SK_KV_ITEM_TOKEN);
	assert_int_equal(r.exptime, 60);
	assert_int_equal(sk_kv_part_restate(f.part, "s", 1, 70,
					    SK_KV_ITEM_STALE, false, 30,
					    &cas2), 0);
	assert_int_equal(cas2, cas1);
	assert_int_equal(remote_get(&f, "s", 1, 1, buf, sizeof(buf), &r), 0);
	assert_int_equal(r.state, SK_KV_ITEM_STALE);
	assert_int_equal(r.exptime, 70);
	assert_int_equal(r.cas, cas1);
	assert_int_equal(sk_kv_part_restate(f.part, "s", 1, 70,
					    SK_KV_ITEM_STATES, true, 40,
					    &cas3), 0);
	assert_true(cas3 > cas1);
	assert_int_equal(remote_get(&f, "s", 1, 1, buf, sizeof(buf), &r), 0);
	assert_int_equal(r.state, SK_KV_ITEM_STATES);
	assert_int_equal(r.cas, cas3);
	assert_int_equal(sk_kv_part_restate(f.part, "s", 1, 70, 4, false, 50,
					    NULL), SK_ERR_INVAL);
	assert_int_equal(sk_kv_part_restate(f.part, "t", 1, 70, 0, false, 50,
					    NULL), SK_KV_ERR_NOT_FOUND);
	/* a set clears it */
	assert_int_equal(sk_kv_part_set(f.part, "s", 1, "w", 1, NULL, 0, 0, 0,
					60, NULL), 0);
	assert_int_equal(remote_get(&f, "s", 1, 1, buf, sizeof(buf), &r), 0);
	assert_int_equal(r.state, 0);
	fx_close(&f);
}

/* A reader refuses an item with a state bit it does not know, even one
 * sealed and checked as the owner would. */
static void item_state_unknown(void **state)
{
	struct sk_kv_part_cfg c = cfg_default(2);
	struct sk_kv_cand cand = {.off = 4096, .len = 48, .gen = 0};
	struct sk_kv_item_hdr h = {.vlen = 1, .klen = 1, .cas = 5};
	struct sk_kv_item_view r;
	struct sk_kv_plan plan;
	uint8_t item[48] = {0};
	struct fx f;

	(void)state;
	fx_open(&f, 1 << 16, &c);
	sk_kv_read_plan(&f.view, &c.hkey, "a", 1, &plan);
	for (unsigned st = 0; st < 8; st++) {
		h.state = (uint16_t)st;
		memcpy(item, &h, sizeof(h));
		item[SK_KV_ITEM_HDR] = 'a';
		item[SK_KV_ITEM_HDR + 1] = 'v';
		h.check = sk_kv_item_close(&c.hkey,
					   sk_kv_item_seal(&c.hkey, item, 48),
					   5, 0, sk_kv_item_place(4096, 0));
		memcpy(item, &h, sizeof(h));
		assert_int_equal(sk_kv_read_check(&plan, &cand, item, "a", 1, 0,
						  &r),
				 st <= SK_KV_ITEM_STATES ? 0 : SK_ERR_MALFORMED);
		if (st <= SK_KV_ITEM_STATES)
			assert_int_equal(r.state, st);
	}
	fx_close(&f);
}

static void nomem_walk(void **state)
{
	unsigned long n;
	unsigned nomem = 0;
	int fired;

	assert_int_equal(nomem_run(0, &fired), 0);
	assert_false(fired);
	for (n = 1;; n++) {
		unsigned r = nomem_run(n, &fired);

		if (!fired) /* not reached: the walk is over */
			break;
		nomem += r;
	}
	print_message("nomem_walk: %lu allocations failed in turn, %u "
		      "answered SK_ERR_NOMEM\n", n - 1, nomem);
	assert_true(n > 8);
	assert_true(nomem > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hash_vectors),
		cmocka_unit_test(check64_properties),
		cmocka_unit_test(formats_at_limits),
		cmocka_unit_test(pair_placement),
		cmocka_unit_test(init_limits),
		cmocka_unit_test(owner_ops),
		cmocka_unit_test(hash_known),
		cmocka_unit_test(key_and_value_sizes),
		cmocka_unit_test(full_pair),
		cmocka_unit_test(evict_hook),
		cmocka_unit_test(memory_and_quarantine),
		cmocka_unit_test(quarantine_bound),
		cmocka_unit_test(reader_rules),
		cmocka_unit_test(reader_random_bytes),
		cmocka_unit_test(reader_slot_limits),
		cmocka_unit_test(init_store_past_offset_field),
		cmocka_unit_test(evict_full_pair_clock),
		cmocka_unit_test(evict_full_store),
		cmocka_unit_test(evict_not_reused_before_q),
		cmocka_unit_test(expiry_sweep),
		cmocka_unit_test(evict_random_sets),
		cmocka_unit_test(evict_large_store_keeps_most),
		cmocka_unit_test(evict_sizes_shift),
		cmocka_unit_test(touch_keeps_cas),
		cmocka_unit_test(item_state),
		cmocka_unit_test(item_state_unknown),
		cmocka_unit_test(nomem_walk),
		cmocka_unit_test(class_figures),
		cmocka_unit_test(dump_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
