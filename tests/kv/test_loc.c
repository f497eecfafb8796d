/*
 * Unit tests of kv's location cache (kv/loc.h): the table (find, fill,
 * drop), and kv_loc_accept's judgement of a GET that READ the pair and
 * the cached item at once, on a partition in this process's memory with
 * the owner's and the reader's clock in the test's hands. Each case
 * builds, step by step, an order of events two READs in flight together
 * may see: the item's lines copied at one moment, the pair's at another.
 *
 * The case a concurrent stress cannot reach (tests/kv/stress_torn.c
 * --loc-break age): an entry whose item's chunk was freed and taken by
 * the key's next value, the item READ landing before that value's first
 * store and the pair READ after its publish. The item check and the CAS
 * compare pass on a value replaced two sets earlier; the slot's
 * generation turns it down, and 64 uses of the chunk later, when the
 * generation is back where it was, only the age rule does.
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
	kv_loc_fill(f->tab, f->plan.h, 0, &f->cands[0], f->iv.cas, t0);
}

static void table(void **state)
{
	struct kv_loc tab[KV_LOC_ENTRIES] = { 0 }, was;
	struct sk_kv_cand a = { 4096 + 64 * 64, 64, 0 }, b = { 8192, 128, 5 };
	uint64_t h = 0x123456789abcdef0ull, L = sk_kv_lease_ns(Q_NS);
	const struct kv_loc *e;

	(void)state;
	assert_null(kv_loc_find(tab, h, 0, 0, L)); /* empty */
	kv_loc_fill(tab, h, 3, &a, 7, 1000);
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
	kv_loc_fill(tab, h, 3, &b, 8, 999);
	assert_int_equal(kv_loc_find(tab, h, 3, 1000, L)->cas, 7);
	kv_loc_fill(tab, h, 3, &b, 8, 1001);
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
}

/* Nothing changed: a young entry's item is taken, not past the lease. */
static void hit(void **state)
{
	struct fx *f = fx_open();
	uint64_t L = sk_kv_lease_ns(Q_NS), t = 1000;
	struct kv_loc e;

	(void)state;
	set(f, "v1", t);
	get_and_fill(f, "v1", t);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t + 10, L);
	/* Both READs at once: item first, pair after, or the other way. */
	assert_int_equal(read_item(f, &e.cand), 0);
	read_pair(f);
	assert_true(kv_loc_accept(&e, f->cands, f->n, 0, f->iv.cas, t + 10,
				  t + 20, L));
	assert_memory_equal(f->iv.value, "v1", 2);
	/* Long after: still taken while under 64 L from the entry's GET ... */
	assert_true(kv_loc_accept(&e, f->cands, f->n, 0, f->iv.cas,
				  t + 64 * L - 10, t + 64 * L - 1, L));
	/* ... not at 64 L, */
	assert_false(kv_loc_accept(&e, f->cands, f->n, 0, f->iv.cas,
				   t + 64 * L - 10, t + 64 * L, L));
	/* nor a GET that itself took L (rule 4). */
	assert_false(kv_loc_accept(&e, f->cands, f->n, 0, f->iv.cas, t + 10,
				   t + 10 + L, L));
	/* A bad check, or another CAS: turned down. */
	assert_false(kv_loc_accept(&e, f->cands, f->n, SK_KV_ERR_BAD_CHECK,
				   f->iv.cas, t + 10, t + 20, L));
	assert_false(kv_loc_accept(&e, f->cands, f->n, 0, f->iv.cas + 1,
				   t + 10, t + 20, L));
	fx_close(f);
}

/* The key set anew, or touched (the same CAS, the item elsewhere): the
 * pair no longer points at the entry's item. */
static void moved(void **state)
{
	struct fx *f = fx_open();
	uint64_t L = sk_kv_lease_ns(Q_NS), t = 1000;
	struct kv_loc e;

	(void)state;
	set(f, "v1", t);
	get_and_fill(f, "v1", t);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t, L);
	/* The item READ lands first: the old item, whole (quarantined). */
	assert_int_equal(read_item(f, &e.cand), 0);
	set(f, "v2", t + 10);
	read_pair(f);
	assert_int_equal(f->n, 1);
	assert_true(f->cands[0].off != e.cand.off);
	assert_false(kv_loc_accept(&e, f->cands, f->n, 0, f->iv.cas, t + 5,
				   t + 20, L));

	get_and_fill(f, "v2", t + 30);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t + 30, L);
	assert_int_equal(read_item(f, &e.cand), 0);
	assert_int_equal(sk_kv_part_touch(f->part, "k", 1, 12345, t + 40), 0);
	read_pair(f);
	assert_false(kv_loc_accept(&e, f->cands, f->n, 0, f->iv.cas, t + 35,
				   t + 50, L));
	/* touch kept the CAS: the CAS compare could not tell the old item
	 * from the new; the slot compare does. */
	assert_int_equal(f->cands[0].off != e.cand.off, 1);
	assert_int_equal(read_item(f, &f->cands[0]), 0);
	assert_int_equal(f->iv.cas, e.cas);
	fx_close(f);
}

/*
 * The entry's item replaced, its chunk freed Q later and taken by the
 * key's next value, at the same offset, with the same length. A GET with
 * the old entry: its item READ copies the freed chunk before the new
 * value's stores, its pair READ sees the new value's slot.
 */
static void reused_chunk(void **state)
{
	struct fx *f = fx_open();
	uint64_t L = sk_kv_lease_ns(Q_NS), t = 1000, t_hit;
	struct sk_kv_item_view old;
	struct kv_loc e, nogen;
	unsigned uses = 1;
	char v[8];

	(void)state;
	set(f, "v1", t);
	get_and_fill(f, "v1", t);
	e = *kv_loc_find(f->tab, f->plan.h, 0, t, L);
	set(f, "v2", t + 10);                         /* v1 retired */
	sk_kv_part_reap(f->part, t + 20);             /* ... stamped */
	assert_int_equal(sk_kv_part_reap(f->part, t + 20 + Q_NS), 1);
	t_hit = t + 20 + Q_NS + 1;

	/* The entry is young enough to be tried (under 64 L) ... */
	assert_non_null(kv_loc_find(f->tab, f->plan.h, 0, t_hit, L));
	/* ... and its item READ lands now, on the freed chunk, v1's bytes
	 * still whole ... */
	assert_int_equal(read_item(f, &e.cand), 0);
	old = f->iv;
	assert_memory_equal(old.value, "v1", 2);
	/* ... then v3 takes the chunk, and the pair READ sees it there: the
	 * same offset and length, the chunk's next generation. */
	set(f, "v3", t_hit + 1);
	read_pair(f);
	assert_int_equal(f->n, 1);
	assert_int_equal(f->cands[0].off, e.cand.off);
	assert_int_equal(f->cands[0].len, e.cand.len);
	assert_int_equal(f->cands[0].gen, (e.cand.gen + 1) & SK_KV_GEN_MASK);
	/* The check and the CAS pass on v1, which was replaced before this
	 * GET began; the generation turns it down ... */
	assert_false(kv_loc_accept(&e, f->cands, f->n, 0, old.cas, t_hit,
				   t_hit + 2, L));
	/* ... which a slot without one could not (the age rule then had to
	 * stop the entry at L, where it now goes on to 64 L). */
	nogen = e;
	nogen.cand.gen = f->cands[0].gen;
	assert_true(kv_loc_accept(&nogen, f->cands, f->n, 0, old.cas, t_hit,
				  t_hit + 2, L));

	/* The item READ landing after v3's publish reads v3 whole: the CAS
	 * compare turns that down too (a second line: an entry vouches for
	 * its own item only). */
	assert_int_equal(read_item(f, &e.cand), 0);
	assert_memory_equal(f->iv.value, "v3", 2);
	assert_false(kv_loc_accept(&nogen, f->cands, f->n, 0, f->iv.cas,
				   t_hit, t_hit + 2, UINT64_MAX));

	/* Set the key on, reaping each replaced item Q later, until the
	 * chunk's generation comes round to the entry's: 64 uses of it,
	 * each at least Q after the last. */
	t = t_hit + 1;
	for (unsigned i = 4; uses < 64; i++) {
		t += Q_NS + 2;
		sk_kv_part_reap(f->part, t);          /* stamp */
		assert_int_equal(sk_kv_part_reap(f->part, t + Q_NS), 1);
		t += Q_NS + 1;
		snprintf(v, sizeof(v), "v%u", i % 10);
		set(f, v, t);
		read_pair(f);
		assert_int_equal(f->n, 1);
		if (f->cands[0].off == e.cand.off)
			uses++;
	}
	assert_int_equal(f->cands[0].off, e.cand.off);
	assert_int_equal(f->cands[0].len, e.cand.len);
	assert_int_equal(f->cands[0].gen, e.cand.gen);
	assert_true(t - e.t_live >= 64 * Q_NS);
	/* Now only the age rule tells v1's entry from the chunk's item: a
	 * copy of v1 would pass the slot compare, the check and the CAS.
	 * But the entry is 64 Q old, past 64 L: not tried, not taken. */
	assert_null(kv_loc_find(f->tab, f->plan.h, 0, t, L));
	assert_false(kv_loc_accept(&e, f->cands, f->n, 0, old.cas, t, t + 1,
				   L));
	assert_true(kv_loc_accept(&e, f->cands, f->n, 0, old.cas, t, t + 1,
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
