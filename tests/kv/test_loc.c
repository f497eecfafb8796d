/*
 * Unit tests of kv's location cache (kv/loc.h): the table (find, fill,
 * drop), and kv_loc_accept's judgement of a GET that READ the cached item
 * alone, on a partition in this process's memory with the owner's and
 * the reader's clock in the test's hands. Each case builds, step by step,
 * what the item's READ may find: the item still in its slot, killed (a bit
 * of its CAS word) after a set, touch or delete, its chunk taken by the key's next
 * value in the next generation, and the case a concurrent stress cannot
 * reach (tests/kv/stress_torn.c --loc-break age): 64 touches later, the
 * chunk holding the key with the entry's CAS in the entry's generation,
 * which only the age rule turns down.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loc.h"
#include "store.h"

#define Q_NS 100000000ull /* 100 ms */
#define PART_BYTES (1u << 20)

static const struct sk_kv_hkey hkey = { 0x1122334455667788ull,
					0x99aabbccddeeff00ull };

struct fx {
	uint8_t *mem;
	struct sk_kv_part *part;
	struct sk_kv_view view;
	struct sk_kv_plan plan;     /* of the key "k" */
	uint8_t pair[SK_KV_PAIR_SIZE];
	struct sk_kv_cand cands[SK_KV_PAIR_SLOTS];
	unsigned n;
	uint8_t item[4096];
	struct sk_kv_item_view iv;
	struct kv_loc tab[KV_LOC_ENTRIES];
};

static struct fx *fx_open(void)
{
	struct sk_kv_part_cfg c = { .nbuckets = 64, .epoch = 1,
				    .hkey = hkey, .quarantine_ns = Q_NS };
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->mem = aligned_alloc(4096, PART_BYTES);
	assert_non_null(f->mem);
	assert_int_equal(sk_kv_part_init(f->mem, PART_BYTES, &c, &f->part),
			 0);
	sk_kv_part_view(f->part, &f->view);
	sk_kv_read_plan(&f->view, &hkey, "k", 1, &f->plan);
	return f;
}

static void fx_close(struct fx *f)
{
	sk_kv_part_cleanup(f->part);
	free(f->mem);
	free(f);
}

/* The pair READ: a copy of the key's pair as it is now. */
static void read_pair(struct fx *f)
{
	memcpy(f->pair, f->mem + f->plan.pair_off, SK_KV_PAIR_SIZE);
	assert_int_equal(sk_kv_read_pick(&f->view, &f->plan, f->pair,
					 f->cands, &f->n), 0);
}

/* The item READ of @c: a copy of its bytes as they are now, judged by
 * rules 1 to 3. */
static int read_item(struct fx *f, const struct sk_kv_cand *c)
{
	assert_true(c->len <= sizeof(f->item));
	memcpy(f->item, f->mem + c->off, c->len);
	return sk_kv_read_check(&f->plan, c, f->item, "k", 1, 0, &f->iv);
}

static void set(struct fx *f, const char *v, uint64_t now)
{
	assert_int_equal(sk_kv_part_set(f->part, "k", 1, v, strlen(v), NULL,
					0, 0, 0, now, NULL), 0);
}

/* A GET without the cache at @t0: pair, then item; its entry filled. */
static void get_and_fill(struct fx *f, const char *want, uint64_t t0)
{
	read_pair(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(read_item(f, &f->cands[0]), 0);
	assert_int_equal(f->iv.vlen, strlen(want));
	assert_memory_equal(f->iv.value, want, f->iv.vlen);
	kv_loc_fill(f->tab, f->plan.h, 0, &f->cands[0], f->iv.cas, 0, t0);
}

static void table(void **state)
{
	struct kv_loc tab[KV_LOC_ENTRIES] = { 0 }, was;
	struct sk_kv_cand a = { 4096 + 64 * 64, 64, 0 }, b = { 8192, 128, 5 };
	uint64_t h = 0x123456789abcdef0ull, L = sk_kv_lease_ns(Q_NS);
	const struct kv_loc *e;

	(void)state;
	assert_null(kv_loc_find(tab, h, 0, 0, L)); /* empty */
	kv_loc_fill(tab, h, 3, &a, 7, 0, 1000);
	e = kv_loc_find(tab, h, 3, 1000, L);
	assert_non_null(e);
	assert_int_equal(e->cand.off, a.off);
	assert_int_equal(e->cand.len, a.len);
	assert_int_equal(e->cas, 7);
	/* Another key in the same place, another partition. */
	assert_null(kv_loc_find(tab, h + KV_LOC_ENTRIES, 3, 1000, L));
	assert_null(kv_loc_find(tab, h, 4, 1000, L));
	/* Young until 64 L have passed since t_live, not at 64 L. */
	assert_non_null(kv_loc_find(tab, h, 3, 1000 + 64 * L - 1, L));
	assert_null(kv_loc_find(tab, h, 3, 1000 + 64 * L, L));
	/* An older GET's fill leaves a younger one's entry. */
	kv_loc_fill(tab, h, 3, &b, 8, 0, 999);
	assert_int_equal(kv_loc_find(tab, h, 3, 1000, L)->cas, 7);
	kv_loc_fill(tab, h, 3, &b, 8, 0, 1001);
	assert_int_equal(kv_loc_find(tab, h, 3, 1001, L)->cas, 8);
	assert_int_equal(kv_loc_find(tab, h, 3, 1001, L)->cand.gen, 5);
	/* A drop as of an entry that has changed since leaves it. */
	was = *kv_loc_find(tab, h, 3, 1001, L);
	was.cas = 7;
	kv_loc_drop(tab, h, &was);
	assert_non_null(kv_loc_find(tab, h, 3, 1001, L));
	was.cas = 8;
	was.cand.gen = 4;
	kv_loc_drop(tab, h, &was);
	assert_non_null(kv_loc_find(tab, h, 3, 1001, L));
	kv_loc_drop(tab, h + KV_LOC_ENTRIES, NULL); /* another key's */
	assert_non_null(kv_loc_find(tab, h, 3, 1001, L));
	kv_loc_drop(tab, h, NULL);
	assert_null(kv_loc_find(tab, h, 3, 1001, L));
	/* A killed item makes no entry, and no hit. */
	kv_loc_fill(tab, h, 3, &a, 9, 1, 1002);
	assert_null(kv_loc_find(tab, h, 3, 1002, L));
	{
		struct kv_loc z = { .h = h, .cas = 9, .t_live = 1002,
				    .cand = a, .part = 3 };

		assert_true(kv_loc_accept(&z, 0, 9, 0, 1002, 1003, L));
		assert_false(kv_loc_accept(&z, 0, 9, 1, 1002, 1003, L));
	}
}

/* Nothing changed: a young entry's item is taken, not past 64 L, nor by a
 * GET slower than L. */
static void hit(void **state)
{
	struct fx *f = fx_open();
	uint64_t L = sk_kv_lease_ns(Q_NS), t = 1000, cas;
	struct kv_loc e;

	(void)state;
	set(f, "v1", t);
	get_and_fill(f, "v1", t);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t + 10, L);
	/* The item alone, READ now. */
	assert_int_equal(read_item(f, &e.cand), 0);
	cas = f->iv.cas;
	assert_true(kv_loc_accept(&e, 0, cas, 0, t + 10, t + 20, L));
	assert_memory_equal(f->iv.value, "v1", 2);
	/* Long after: still taken while under 64 L from the entry's GET ... */
	assert_true(kv_loc_accept(&e, 0, cas, 0, t + 64 * L - 10,
				  t + 64 * L - 1, L));
	/* ... not at 64 L, */
	assert_false(kv_loc_accept(&e, 0, cas, 0, t + 64 * L - 10, t + 64 * L,
				   L));
	/* nor a GET that itself took L (rule 4). */
	assert_false(kv_loc_accept(&e, 0, cas, 0, t + 10, t + 10 + L, L));
	/* A bad check, or another CAS: turned down. */
	assert_false(kv_loc_accept(&e, SK_KV_ERR_BAD_CHECK, cas, 0, t + 10,
				   t + 20, L));
	assert_false(kv_loc_accept(&e, 0, cas + 1, 0, t + 10, t + 20, L));
	fx_close(f);
}

/* The entry's item as a READ after it left its slot finds it: whole, its
 * check good (a GET that read its slot before the kill takes it), its CAS
 * the entry's, but killed: the hit turns it down, with the check or
 * without (read_parse): the first line. */
static void expect_killed(struct fx *f, const struct kv_loc *e, uint64_t t)
{
	struct sk_kv_item_view pv;
	uint64_t L = sk_kv_lease_ns(Q_NS);

	assert_int_equal(read_item(f, &e->cand), 0);
	assert_int_equal(f->iv.killed, 1);
	assert_int_equal(f->iv.cas, e->cas);
	assert_false(kv_loc_accept(e, 0, f->iv.cas, (int)f->iv.killed, t,
				   t + 1, L));
	assert_int_equal(sk_kv_read_parse(&f->plan, &e->cand, f->item, "k", 1,
					  0, &pv), 0);
	assert_int_equal(pv.killed, 1);
	assert_false(kv_loc_accept(e, 0, pv.cas, (int)pv.killed, t, t + 1, L));
	/* Blind to the kill, it would be taken. */
	assert_true(kv_loc_accept(e, 0, pv.cas, 0, t, t + 1, L));
}

/* The key set anew, touched (the same CAS, the item elsewhere) or
 * deleted: the entry's item is killed before its slot moves on. */
static void moved(void **state)
{
	struct fx *f = fx_open();
	uint64_t L = sk_kv_lease_ns(Q_NS), t = 1000;
	struct kv_loc e;

	(void)state;
	set(f, "v1", t);
	get_and_fill(f, "v1", t);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t, L);
	/* READ before the set: v1 whole, still in its slot: taken, and it
	 * linearizes there. */
	assert_int_equal(read_item(f, &e.cand), 0);
	assert_true(kv_loc_accept(&e, 0, f->iv.cas, 0, t + 5, t + 6, L));
	/* A GET without the entry reads the pair now (v1's slot) ... */
	read_pair(f);
	set(f, "v2", t + 10);
	expect_killed(f, &e, t + 15);
	/* ... and v1's item after the set: killed, and still its answer
	 * (v1 was the key's at the pair's read): rules 1 to 3 pass. */
	assert_int_equal(read_item(f, &f->cands[0]), 0);
	assert_memory_equal(f->iv.value, "v1", 2);
	assert_int_equal(f->iv.killed, 1);

	get_and_fill(f, "v2", t + 30);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t + 30, L);
	assert_int_equal(sk_kv_part_touch(f->part, "k", 1, 12345, t + 40), 0);
	expect_killed(f, &e, t + 45);
	/* touch kept the CAS: the new item, where the pair now points, has
	 * the entry's; the old one's kill is what tells them apart. */
	read_pair(f);
	assert_int_equal(f->n, 1);
	assert_true(f->cands[0].off != e.cand.off);
	assert_int_equal(read_item(f, &f->cands[0]), 0);
	assert_int_equal(f->iv.cas, e.cas);

	get_and_fill(f, "v2", t + 50);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t + 50, L);
	assert_int_equal(sk_kv_part_delete(f->part, "k", 1, t + 60), 0);
	expect_killed(f, &e, t + 65);
	fx_close(f);
}

/* Reap what was retired before @t (stamped now), then Q later: one chunk
 * comes free. */
static void reap_one(struct fx *f, uint64_t t)
{
	sk_kv_part_reap(f->part, t);
	assert_int_equal(sk_kv_part_reap(f->part, t + Q_NS), 1);
}

/*
 * The entry's item replaced, its chunk freed Q later and taken by the
 * key's next value, at the same offset, with the same length, in the
 * chunk's next generation: the entry's READ finds that value whole, which
 * fails the check under the entry's generation, and has another CAS.
 */
static void reused_chunk(void **state)
{
	struct fx *f = fx_open();
	uint64_t L = sk_kv_lease_ns(Q_NS), t = 1000, t_hit;
	struct kv_loc e;

	(void)state;
	set(f, "v1", t);
	get_and_fill(f, "v1", t);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t, L);
	set(f, "v2", t + 10);                         /* v1 killed, retired */
	reap_one(f, t + 20);
	t_hit = t + 20 + Q_NS + 1;

	/* The entry is young enough to be tried (under 64 L); its READ now
	 * finds v1 killed. */
	assert_non_null(kv_loc_find(f->tab, f->plan.h, 0, t_hit, L));
	expect_killed(f, &e, t_hit);
	/* v3 takes the chunk: the same offset and length, the next
	 * generation. */
	set(f, "v3", t_hit + 1);
	read_pair(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->cands[0].off, e.cand.off);
	assert_int_equal(f->cands[0].len, e.cand.len);
	assert_int_equal(f->cands[0].gen, (e.cand.gen + 1) & SK_KV_GEN_MASK);
	/* The entry's READ finds v3 whole: under the entry's generation its
	 * check fails; under its own it passes, with another CAS. */
	assert_int_equal(read_item(f, &e.cand), SK_KV_ERR_BAD_CHECK);
	assert_int_equal(read_item(f, &f->cands[0]), 0);
	assert_memory_equal(f->iv.value, "v3", 2);
	assert_true(f->iv.cas != e.cas);
	assert_false(kv_loc_accept(&e, 0, f->iv.cas, 0, t_hit + 2, t_hit + 3,
				   UINT64_MAX >> SK_KV_GEN_BITS));
	fx_close(f);
}

/*
 * What only the age rule turns down: touches move the key between two
 * chunks, keeping its CAS, until the entry's chunk is back in the entry's
 * generation (64 uses, each at least Q after the one before) holding the
 * key with the entry's CAS. A READ of it passes the check and the CAS
 * compare; the entry, 64 Q old by then, is past 64 L.
 */
static void touched_round(void **state)
{
	struct fx *f = fx_open();
	uint64_t L = sk_kv_lease_ns(Q_NS), t = 1000;
	unsigned uses = 0, x = 100;
	struct kv_loc e;

	(void)state;
	set(f, "v1", t);
	get_and_fill(f, "v1", t);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t, L);
	/* The first touch goes to a new chunk; every later one takes the
	 * chunk the one before left, once it is out of quarantine. */
	assert_int_equal(sk_kv_part_touch(f->part, "k", 1, x++, t + 1), 0);
	t += 2;
	while (uses < 64) {
		reap_one(f, t);
		t += Q_NS + 1;
		assert_int_equal(sk_kv_part_touch(f->part, "k", 1, x++, t), 0);
		read_pair(f);
		assert_int_equal(f->n, 1);
		if (f->cands[0].off == e.cand.off)
			uses++;
	}
	assert_int_equal(f->cands[0].len, e.cand.len);
	assert_int_equal(f->cands[0].gen, e.cand.gen);
	assert_true(t - e.t_live >= 64 * Q_NS);
	assert_int_equal(read_item(f, &e.cand), 0);
	assert_int_equal(f->iv.cas, e.cas);
	/* Not tried, not taken; without the age rule, taken. */
	assert_null(kv_loc_find(f->tab, f->plan.h, 0, t, L));
	assert_false(kv_loc_accept(&e, 0, f->iv.cas, 0, t, t + 1, L));
	assert_true(kv_loc_accept(&e, 0, f->iv.cas, 0, t, t + 1,
				  UINT64_MAX >> SK_KV_GEN_BITS));
	fx_close(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(hit),
		cmocka_unit_test(moved),
		cmocka_unit_test(reused_chunk),
		cmocka_unit_test(touched_round),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
