/*
 * The arena's regions and pools against a hostile peer: a real second
 * process (tests/lib) that RDMA-writes random bytes over every byte a key
 * covers, and past its end. The provider comes from SKIFF_PROVIDER (ucx on
 * the host; rdma inside the Soft-RoCE guest).
 *
 * What must hold: the arena's own registration grants no remote write;
 * a region's key reaches exactly its pages and no further (the write past
 * its end is refused, SK_ERR_REMOTE_ACCESS); a pool whose objects were
 * overwritten still hands out each free object exactly once and keeps its
 * per-object metadata, because neither lives in the objects; memory around
 * the region is untouched; a released region's key no longer works.
 *
 * Uses arena.h, and libos's private arena_priv.h for one thing: the region
 * a pool with remote rights carved (its pages, its size).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <skiff/arena.h>

#include "arena_priv.h"

#include "../lib/sk_test_peer.h"

#define OBJ_SIZE 1000
#define OBJ_N    24
#define CANARY   8192

struct fixture {
	struct sk_test_peer peer;
	struct sk_dev      *dev;
	struct sk_arena    *arena;
	char               *before, *after; /* arena memory around a region */
};

static void fx_idle(void *arg)
{
	struct fixture *f = arg;
	struct sk_wc wc[16];

	/* Nothing of ours is posted: this only drives the provider, which
	 * a peer's one-sided operation on us may need. */
	sk_dev_poll(f->dev, wc, 16);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(sk_test_peer_start(&f->peer), 0); /* fork first */
	f->peer.idle = fx_idle;
	f->peer.idle_arg = f;
	assert_int_equal(sk_dev_open(NULL, NULL, &f->dev), SK_OK);
	assert_int_equal(sk_arena_create(f->dev, 8u << 20, SK_ACCESS_LOCAL,
					 &f->arena),
			 SK_OK);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	sk_test_peer_stop(&f->peer, 5000);
	sk_arena_destroy(f->arena);
	sk_dev_close(f->dev);
	free(f);
	return 0;
}

/* A connected endpoint to the peer; its id in the peer. */
static int connect_peer(struct fixture *f, struct sk_ep **ep_p)
{
	int id;

	assert_int_equal(sk_ep_create(f->dev, ep_p), SK_OK);
	id = sk_test_peer_connect(&f->peer, *ep_p);
	assert_true(id >= 0);
	return id;
}

/* The peer writes random bytes over [@off, @off + @len) of what @mr's key
 * covers. Returns the status of its first failed write; *@written_p: the
 * bytes that landed before it. */
static sk_status_t scribble(struct fixture *f, int peer_ep,
			    const struct sk_mr *mr, uint64_t off, uint64_t len,
			    uint64_t *written_p)
{
	struct sk_test_msg m = {.cmd = SK_TEST_SCRIBBLE, .id = (uint32_t)peer_ep,
				.a = off, .b = len, .aux = 77};
	size_t blen = sizeof(m.blob);

	assert_int_equal(sk_mr_pack(mr, m.blob, &blen), SK_OK);
	m.blob_len = (uint32_t)blen;
	sk_test_peer_call(&f->peer, &m);
	*written_p = m.c;
	return m.status;
}

static void canaries_set(struct fixture *f)
{
	f->before = sk_arena_alloc(f->arena, CANARY, 64);
	assert_non_null(f->before);
	sk_test_fill(f->before, CANARY, 1);
}

static void canaries_check(struct fixture *f)
{
	char want[CANARY];

	f->after = sk_arena_alloc(f->arena, CANARY, 64);
	assert_non_null(f->after);
	sk_test_fill(want, CANARY, 1);
	assert_memory_equal(f->before, want, CANARY);
	/* Fresh arena memory after the region: still zero. */
	memset(want, 0, CANARY);
	assert_memory_equal(f->after, want, CANARY);
}

/* The arena's own key: no remote write lands anywhere in it. */
static void test_arena_key_local(void **state)
{
	struct fixture *f = *state;
	struct sk_ep *ep;
	uint64_t written;
	int id = connect_peer(f, &ep);

	canaries_set(f);
	assert_int_equal(scribble(f, id, sk_arena_mr(f->arena), 0, 4096,
				  &written),
			 SK_ERR_REMOTE_ACCESS);
	assert_int_equal(written, 0);
	canaries_check(f);
	sk_ep_destroy(ep);
}

/*
 * A pool in a region with remote write: the peer overwrites every byte of
 * the region, then tries the next page. The allocator and the metadata do
 * not notice.
 */
static void test_pool_region_hostile(void **state)
{
	struct fixture *f = *state;
	struct sk_pool_attr attr = {
		.access = SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE,
		.meta_size = sizeof(uint64_t),
	};
	const struct sk_region *region;
	struct sk_pool pool;
	char *obj[OBJ_N], *again[OBJ_N];
	struct sk_ep *ep;
	uint64_t written;
	unsigned i, j;
	int id;

	canaries_set(f);
	assert_int_equal(sk_pool_init_attr(&pool, f->arena, OBJ_SIZE, OBJ_N,
					   &attr),
			 SK_OK);
	region = &sk_pool_priv(&pool)->region;
	assert_non_null(region->mr);
	assert_ptr_equal(pool.mr, region->mr);
	assert_ptr_equal(pool.base, region->base);
	assert_ptr_equal(sk_pool_obj(&pool, 0), region->base);
	assert_int_equal(pool.count, OBJ_N);
	assert_int_equal((uintptr_t)region->base % 4096, 0);
	assert_int_equal(region->size % 4096, 0);
	assert_true(region->size >= pool.obj_size * OBJ_N);
	for (i = 0; i < OBJ_N; i++) {
		obj[i] = sk_pool_get(&pool);
		assert_non_null(obj[i]);
		*(uint64_t *)sk_pool_meta(&pool, obj[i]) = 0xc0de0000u + i;
	}
	assert_null(sk_pool_get(&pool));
	/* Half go back: the free list has entries while the peer writes. */
	for (i = 0; i < OBJ_N; i += 2)
		sk_pool_put(&pool, obj[i]);

	id = connect_peer(f, &ep);
	assert_int_equal(scribble(f, id, pool.mr, 0, region->size + 4096,
				  &written),
			 SK_ERR_REMOTE_ACCESS);
	assert_int_equal(written, region->size); /* all of it, no more */
	sk_ep_destroy(ep);

	for (i = 0; i < OBJ_N; i++)
		assert_int_equal(*(uint64_t *)sk_pool_meta(&pool, obj[i]),
				 0xc0de0000u + i);
	/* Exactly the objects put back come out, each once. */
	assert_int_equal(sk_pool_nfree(&pool), OBJ_N / 2);
	for (i = 0; i < OBJ_N / 2; i++) {
		again[i] = sk_pool_get(&pool);
		assert_non_null(again[i]);
		assert_true(sk_pool_has(&pool, again[i]));
		assert_ptr_equal(sk_pool_obj(&pool, sk_pool_index(&pool,
								  again[i])),
				 again[i]);
		assert_int_equal((again[i] - obj[0]) % (ptrdiff_t)pool.obj_size,
				 0);
		assert_int_equal(((again[i] - obj[0]) /
				  (ptrdiff_t)pool.obj_size) % 2, 0);
		for (j = 0; j < i; j++)
			assert_ptr_not_equal(again[i], again[j]);
	}
	assert_null(sk_pool_get(&pool));
	for (i = 0; i < OBJ_N; i++)
		sk_pool_put(&pool, obj[i]);
	assert_int_equal(sk_pool_nfree(&pool), OBJ_N);
	canaries_check(f);
	sk_pool_fini(&pool);
}

/* After release, a key imported for the region no longer works. */
static void test_region_release(void **state)
{
	struct fixture *f = *state;
	struct sk_region r;
	struct sk_test_msg m = {.cmd = SK_TEST_SCRIBBLE, .b = 64, .aux = 5};
	size_t blen = sizeof(m.blob);
	struct sk_ep *ep;
	char zero[64] = {0};

	assert_int_equal(sk_arena_region(f->arena, 100, SK_ACCESS_REMOTE_WRITE,
					 &r),
			 SK_OK);
	assert_int_equal(r.size, 4096);
	assert_int_equal(sk_mr_pack(r.mr, m.blob, &blen), SK_OK);
	m.blob_len = (uint32_t)blen;
	sk_arena_region_release(f->arena, &r);
	assert_null(r.mr);
	sk_arena_region_release(f->arena, &r); /* twice: nothing */
	m.id = (uint32_t)connect_peer(f, &ep);
	assert_int_equal(sk_test_peer_call(&f->peer, &m), SK_ERR_REMOTE_ACCESS);
	assert_int_equal(m.c, 0);
	assert_memory_equal(r.base, zero, sizeof(zero));
	sk_ep_destroy(ep);
}

/* Limits and misuse of a pool: every object and one more; puts of what it
 * did not hand out change nothing. */
static void test_pool_limits(void **state)
{
	struct fixture *f = *state;
	struct sk_pool pool;
	char *a, *b;

	assert_int_equal(sk_pool_init(&pool, f->arena, 0, 0), SK_ERR_INVAL);
	assert_int_equal(sk_pool_init(&pool, f->arena, SIZE_MAX - 8, 2),
			 SK_ERR_INVAL);
	assert_int_equal(sk_pool_init(&pool, f->arena, 64, 2), SK_OK);
	assert_ptr_equal(pool.mr, sk_arena_mr(f->arena));
	assert_null(sk_pool_priv(&pool)->region.mr);
	a = sk_pool_get(&pool);
	b = sk_pool_get(&pool);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(sk_pool_get(&pool)); /* the third of two */
	sk_pool_put(&pool, a);
	sk_pool_put(&pool, a);     /* twice */
	sk_pool_put(&pool, a + 1); /* inside an object */
	sk_pool_put(&pool, &pool); /* not the pool's */
	assert_int_equal(sk_pool_nfree(&pool), 1);
	assert_ptr_equal(sk_pool_get(&pool), a);
	assert_null(sk_pool_get(&pool));
	sk_pool_fini(&pool);
	sk_pool_fini(&pool); /* twice: nothing */
	/* An arena too small for the pool. */
	assert_int_equal(sk_pool_init(&pool, f->arena, 1u << 20, 64),
			 SK_ERR_NOMEM);
	assert_int_equal(sk_arena_region(f->arena, 64u << 20,
					 SK_ACCESS_REMOTE_READ, &(struct sk_region){0}),
			 SK_ERR_NOMEM);
	assert_int_equal(sk_arena_region(f->arena, 0, SK_ACCESS_REMOTE_READ,
					 &(struct sk_region){0}),
			 SK_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_arena_key_local, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pool_region_hostile,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_region_release, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pool_limits, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
