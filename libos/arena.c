/*
 * One registered arena per node and the pools carved out of it.
 *
 * The arena is a bump allocator over one mapping: what libos and the layers
 * above take from it lives as long as the node, so there is nothing to free
 * but the whole. Pools turn a carved range into fixed-size objects on a free
 * list (as UCX's mpool and eRPC's msgbufs): get and put are O(1), with no
 * malloc and no registration on the datapath.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <skiff/arena.h>
#include <skiff/config.h>
#include <skiff/fault.h>

#define SK_HUGE_PAGE (2u << 20)

struct sk_arena {
	char          *base;
	size_t         size;
	size_t         used;
	bool           huge;
	struct sk_mr  *mr;
};

/*
 * Huge pages only where registration pins the whole arena anyway (the rdma
 * provider: ibv_reg_mr faults in every page, so 2 MiB pages cost no memory
 * and save the NIC's translation entries). Elsewhere (ucx) pages are
 * touched as used, and one huge page turned the few KiB of message slots
 * an idle node touches into 2 MiB of RSS (PSS of a node 4.7 -> 2.7 MiB,
 * of skrun with 4 nodes 9.1 -> 3.0 MiB; libos/README.md).
 */
static void *sk_arena_map(size_t *size_p, bool want_huge, bool *huge_p)
{
	size_t hsize = (*size_p + SK_HUGE_PAGE - 1) & ~(size_t)(SK_HUGE_PAGE - 1);
	void *p;

	*huge_p = false;
	if (!want_huge) {
		p = mmap(NULL, *size_p, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? NULL : p;
	}
	p = mmap(NULL, hsize, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p != MAP_FAILED) {
		*size_p = hsize;
		*huge_p = true;
		return p;
	}
	/* No reserved huge pages (the common case): ask for transparent
	 * ones on an ordinary mapping. */
	p = mmap(NULL, *size_p, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	madvise(p, *size_p, MADV_HUGEPAGE);
	return p;
}

sk_status_t sk_arena_create(struct sk_dev *dev, size_t size, unsigned access,
			    struct sk_arena **arena_p)
{
	struct sk_dev_attr attr;
	struct sk_arena *arena;
	unsigned long mb;
	sk_status_t st;

	if (size == 0) {
		st = sk_config_ulong("SKIFF_ARENA_MB", 1, 1ul << 20, &mb);
		if (st != SK_OK)
			return st;
		size = mb << 20;
	}
	arena = calloc(1, sizeof(*arena));
	if (arena == NULL)
		return SK_ERR_NOMEM;
	arena->size = (size + 4095) & ~(size_t)4095;
	sk_dev_query(dev, &attr);
	arena->base = SK_FAULT("arena_map") ? NULL :
		      sk_arena_map(&arena->size,
				   strcmp(attr.provider, "rdma") == 0,
				   &arena->huge);
	if (arena->base == NULL) {
		fprintf(stderr, "skiff: cannot map a %zu MiB arena "
				"(SKIFF_ARENA_MB)\n", size >> 20);
		st = SK_ERR_NOMEM;
		goto err_free;
	}
	st = sk_mr_reg(dev, arena->base, arena->size, access, &arena->mr);
	if (st != SK_OK) {
		fprintf(stderr, "skiff: cannot register a %zu MiB arena: %s "
				"(check `ulimit -l`, or lower SKIFF_ARENA_MB)\n",
			arena->size >> 20, sk_status_str(st));
		goto err_unmap;
	}
	*arena_p = arena;
	return SK_OK;

err_unmap:
	munmap(arena->base, arena->size);
err_free:
	free(arena);
	return st;
}

void sk_arena_destroy(struct sk_arena *arena)
{
	if (arena == NULL)
		return;
	sk_mr_dereg(arena->mr);
	munmap(arena->base, arena->size);
	free(arena);
}

const struct sk_mr *sk_arena_mr(const struct sk_arena *arena)
{
	return arena->mr;
}

bool sk_arena_huge(const struct sk_arena *arena)
{
	return arena->huge;
}

size_t sk_arena_size(const struct sk_arena *arena)
{
	return arena->size;
}

size_t sk_arena_used(const struct sk_arena *arena)
{
	return arena->used;
}

void *sk_arena_alloc(struct sk_arena *arena, size_t size, size_t align)
{
	size_t off = (arena->used + align - 1) & ~(align - 1);

	if (SK_FAULT("arena_alloc") || off > arena->size ||
	    size > arena->size - off) {
		fprintf(stderr, "skiff: arena exhausted: %zu of %zu MiB used, "
				"%zu bytes wanted (raise SKIFF_ARENA_MB)\n",
			arena->used >> 20, arena->size >> 20, size);
		return NULL;
	}
	arena->used = off + size;
	/* Fresh anonymous memory is zero already. */
	return arena->base + off;
}

sk_status_t sk_pool_init(struct sk_pool *pool, struct sk_arena *arena,
			 size_t obj_size, unsigned count)
{
	size_t sz = (obj_size + 63) & ~(size_t)63;
	unsigned i;

	if (count == 0 || sz < obj_size || sz > SIZE_MAX / count)
		return SK_ERR_INVAL;
	pool->base = sk_arena_alloc(arena, sz * count, 64);
	if (pool->base == NULL)
		return SK_ERR_NOMEM;
	pool->arena = arena;
	pool->obj_size = sz;
	pool->count = count;
	pool->nfree = count;
	pool->free_list = NULL;
	for (i = count; i-- > 0;) {
		void **obj = (void **)(pool->base + (size_t)i * sz);

		*obj = pool->free_list;
		pool->free_list = obj;
	}
	return SK_OK;
}

void *sk_pool_get(struct sk_pool *pool)
{
	void **obj = pool->free_list;

	if (SK_FAULT("pool_get") || obj == NULL)
		return NULL;
	pool->free_list = *obj;
	pool->nfree--;
	return obj;
}

void sk_pool_put(struct sk_pool *pool, void *obj)
{
	*(void **)obj = pool->free_list;
	pool->free_list = obj;
	pool->nfree++;
}
