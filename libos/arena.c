/*
 * One registered arena per node and the pools carved out of it.
 *
 * The arena is a bump allocator over one mapping: what libos and the layers
 * above take from it lives as long as the node, so there is nothing to free
 * but the whole. Pools turn a carved range into fixed-size objects on a free
 * list (as UCX's mpool and eRPC's msgbufs): get and put are O(1), with no
 * malloc and no registration on the datapath.
 *
 * What peers may touch is carved as regions, each registered on its own;
 * the arena's whole registration has the rights its creator gave it (a
 * node's: local only). A pool's free list and its objects' metadata are on
 * the heap, never inside the objects: the objects may be in a region a
 * peer writes, and nothing a peer writes may decide which object the
 * allocator hands out next or where a completion goes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <skiff/arena.h>
#include <skiff/config.h>
#include <skiff/fault.h>

#include "arena_priv.h"

/* The SKIFF_* table this file reads from (skiff/config.h). */
SK_CONFIG_USES(sk_os_config);

#define SK_HUGE_PAGE (2u << 20)
#define SK_PAGE      4096u

struct sk_arena {
	char          *base;
	size_t         size;
	size_t         used;
	bool           huge;
	struct sk_dev *dev;
	struct sk_mr  *mr;
	struct sk_mr **regions;  /* registrations of regions not released */
	bool direct_mem;         /* regions from sk_mr_alloc (verbs.h) */
	unsigned       nregions, regions_cap;
};

/*
 * Huge pages only where registration pins the whole arena anyway (the rdma
 * provider: ibv_reg_mr faults in every page, so 2 MiB pages cost no memory
 * and save the NIC's translation entries). Elsewhere (ucx) pages are
 * touched as used, and one huge page turned the few KiB of message slots
 * an idle node touches into 2 MiB of RSS, in every node and, per 2 MiB of
 * its slots, in skrun (the node's and skrun's memory with and without:
 * perf/README.md, perf/compare-boot.sh).
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
	arena->dev = dev;
	arena->size = (size + 4095) & ~(size_t)4095;
	sk_dev_query(dev, &attr);
	arena->direct_mem = attr.direct_mem;
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

void sk_arena_dereg(struct sk_arena *arena)
{
	if (arena == NULL)
		return;
	while (arena->nregions > 0)
		sk_mr_dereg(arena->regions[--arena->nregions]);
	if (arena->mr != NULL)
		sk_mr_dereg(arena->mr);
	arena->mr = NULL;
}

void sk_arena_destroy(struct sk_arena *arena)
{
	if (arena == NULL)
		return;
	sk_arena_dereg(arena);
	free(arena->regions);
	munmap(arena->base, arena->size);
	free(arena);
}

void sk_arena_no_direct(struct sk_arena *arena)
{
	arena->direct_mem = false;
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

static sk_status_t sk_arena_region_of(struct sk_arena *arena, size_t size,
				      unsigned access, bool direct,
				      struct sk_region *region)
{
	size_t sz = (size + SK_PAGE - 1) & ~(size_t)(SK_PAGE - 1);
	struct sk_mr *mr;
	sk_status_t st;
	char *base;

	if (size == 0 || sz < size)
		return SK_ERR_INVAL;
	if (arena->nregions == arena->regions_cap) {
		unsigned cap = arena->regions_cap ? 2 * arena->regions_cap : 4;
		struct sk_mr **r = realloc(arena->regions, cap * sizeof(*r));

		if (r == NULL)
			return SK_ERR_NOMEM;
		arena->regions = r;
		arena->regions_cap = cap;
	}
	/* Whole pages: the region shares no page with other arena memory,
	 * which is what a provider's own protection (UCX's, by pages, where
	 * it has any) can tell apart. */
	base = sk_arena_alloc(arena, sz, SK_PAGE);
	if (base == NULL)
		return SK_ERR_NOMEM;
	if (direct && arena->direct_mem) {
		/* Memory that peers on this host reach without this node
		 * (verbs.h, sk_mr_alloc): their READs of it cost it nothing.
		 * The arena still counts it (the range carved above stays
		 * untouched: address space, no memory). */
		st = sk_mr_alloc(arena->dev, sz, access, &mr);
		if (st == SK_OK)
			base = sk_mr_addr(mr);
	} else {
		st = sk_mr_reg(arena->dev, base, sz, access, &mr);
	}
	if (st != SK_OK) {
		fprintf(stderr, "skiff: cannot register a %zu KiB region of "
				"the arena: %s\n", sz >> 10,
			sk_status_str(st));
		return st;
	}
	arena->regions[arena->nregions++] = mr;
	*region = (struct sk_region){.base = base, .size = sz, .mr = mr};
	return SK_OK;
}

sk_status_t sk_arena_region(struct sk_arena *arena, size_t size,
			    unsigned access, struct sk_region *region)
{
	return sk_arena_region_of(arena, size, access, false, region);
}

sk_status_t sk_arena_region_direct(struct sk_arena *arena, size_t size,
				   unsigned access, struct sk_region *region)
{
	return sk_arena_region_of(arena, size, access, true, region);
}

void sk_arena_region_release(struct sk_arena *arena,
			     struct sk_region *region)
{
	unsigned i;

	if (region->mr == NULL)
		return;
	for (i = 0; i < arena->nregions; i++) {
		if (arena->regions[i] == region->mr) {
			arena->regions[i] = arena->regions[--arena->nregions];
			break;
		}
	}
	sk_mr_dereg(region->mr);
	region->mr = NULL;
}

sk_status_t sk_pool_init(struct sk_pool *pool, struct sk_arena *arena,
			 size_t obj_size, unsigned count)
{
	return sk_pool_init_attr(pool, arena, obj_size, count, NULL);
}

sk_status_t sk_pool_init_attr(struct sk_pool *pool, struct sk_arena *arena,
			      size_t obj_size, unsigned count,
			      const struct sk_pool_attr *attr)
{
	size_t sz = (obj_size + 63) & ~(size_t)63;
	unsigned access = attr ? attr->access & ~(unsigned)SK_ACCESS_LOCAL : 0;
	size_t meta_size = attr ? attr->meta_size : 0;
	struct sk_pool_priv *pp = sk_pool_priv(pool);
	sk_status_t st;
	unsigned i;

	memset(pool, 0, sizeof(*pool));
	if (count == 0 || sz < obj_size || sz > SIZE_MAX / count ||
	    (meta_size && count > SIZE_MAX / meta_size))
		return SK_ERR_INVAL;
	pp->free_idx = malloc(count * sizeof(*pp->free_idx));
	pp->busy = calloc(count, 1);
	pool->meta = meta_size ? calloc(count, meta_size) : NULL;
	if (pp->free_idx == NULL || pp->busy == NULL ||
	    (meta_size && pool->meta == NULL)) {
		st = SK_ERR_NOMEM;
		goto err_free;
	}
	if (access) {
		st = sk_arena_region(arena, sz * count,
				     access | SK_ACCESS_LOCAL, &pp->region);
		if (st != SK_OK)
			goto err_free;
		pool->base = pp->region.base;
		pool->mr = pp->region.mr;
	} else {
		pool->base = sk_arena_alloc(arena, sz * count, 64);
		if (pool->base == NULL) {
			st = SK_ERR_NOMEM;
			goto err_free;
		}
		pool->mr = arena->mr;
	}
	pp->arena = arena;
	pool->obj_size = sz;
	pool->count = count;
	pp->nfree = count;
	pool->meta_size = meta_size;
	/* Lowest index on top: objects are handed out in address order, and
	 * pages are touched as the pool is used. */
	for (i = 0; i < count; i++)
		pp->free_idx[i] = count - 1 - i;
	return SK_OK;

err_free:
	free(pp->free_idx);
	free(pp->busy);
	free(pool->meta);
	memset(pool, 0, sizeof(*pool));
	return st;
}

void sk_pool_fini(struct sk_pool *pool)
{
	struct sk_pool_priv *pp = sk_pool_priv(pool);

	if (pp->arena == NULL)
		return;
	sk_arena_region_release(pp->arena, &pp->region);
	free(pp->free_idx);
	free(pp->busy);
	free(pool->meta);
	memset(pool, 0, sizeof(*pool));
}

void *sk_pool_get(struct sk_pool *pool)
{
	struct sk_pool_priv *pp = sk_pool_priv(pool);
	unsigned i;

	if (SK_FAULT("pool_get") || pp->nfree == 0)
		return NULL;
	i = pp->free_idx[--pp->nfree];
	pp->busy[i] = 1;
	return pool->base + (size_t)i * pool->obj_size;
}

void sk_pool_put(struct sk_pool *pool, void *obj)
{
	struct sk_pool_priv *pp = sk_pool_priv(pool);
	const char *o = obj;
	size_t off, i;

	if (!sk_pool_has(pool, o))
		goto bad;
	off = (size_t)(o - pool->base);
	i = off / pool->obj_size;
	if (i * pool->obj_size != off || !pp->busy[i])
		goto bad;
	pp->busy[i] = 0;
	pp->free_idx[pp->nfree++] = (unsigned)i;
	return;
bad:
	fprintf(stderr, "skiff: sk_pool_put: %p is not an object this pool "
			"handed out (ignored)\n", obj);
}

unsigned sk_pool_nfree(const struct sk_pool *pool)
{
	return sk_pool_cpriv(pool)->nfree;
}
