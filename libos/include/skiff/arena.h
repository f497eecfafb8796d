/*
 * The node's registered memory: one arena, registered once with the fabric,
 * and fixed-size pools carved out of it. Every fabric buffer of a node
 * (message slots, bulk bounce buffers, application buffers for one-sided
 * operations) comes from here, so nothing is registered on the datapath.
 *
 * Rights: the arena's own registration is for local use (sends, receives,
 * the local side of one-sided operations). Memory a peer may read or write
 * is carved as a region (sk_arena_region): page-aligned, registered on its
 * own with only the rights its use needs, and its key is the only one that
 * leaves the node. Control data (a pool's free list, the completion context
 * of its objects: sk_pool_meta) lives outside the arena, in ordinary heap
 * memory no peer can reach, so a stray or hostile write into a region can
 * corrupt the data there and nothing else (libos/README.md, "Registered
 * regions").
 *
 * On the rdma provider, whose registration pins every page, the arena is
 * mapped with huge pages when the system has them (fewer TLB and NIC
 * translation misses), else with normal pages. On ucx it has normal pages,
 * touched only as they are used: an idle node holds a few KiB of it. Its
 * size is SKIFF_ARENA_MB.
 *
 * Threads: an arena and its pools belong to one thread, like the loop.
 */
#ifndef SKIFF_ARENA_H
#define SKIFF_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <skiff/verbs.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_arena;

/* A separately registered part of an arena (sk_arena_region). */
struct sk_region {
	char         *base;     /* page-aligned */
	size_t        size;     /* a multiple of the page size */
	struct sk_mr *mr;       /* covers exactly [base, base + size) */
};

/* How a pool is carved (sk_pool_init_attr). */
struct sk_pool_attr {
	/* 0 or SK_ACCESS_LOCAL: the objects are in the arena's own (local)
	 * registration. Remote rights: the objects get a region of their own
	 * with these rights (whose registration is then struct sk_pool.mr). */
	unsigned access;
	/* Bytes of metadata per object (sk_pool_meta), kept outside the
	 * arena: the place for what peers must not write, such as the
	 * struct sk_op of an operation using the object. Zeroed at init. */
	size_t   meta_size;
};

/*
 * A pool of equal objects carved out of an arena. The memory is the
 * caller's (embed it); sk_pool_init fills it. The named fields are the
 * caller's to read, never to write: set by sk_pool_init, they do not
 * change until sk_pool_fini. ->priv is the allocator's (its free list,
 * which objects are out, its region): storage only.
 */
struct sk_pool {
	char               *base;      /* object i: sk_pool_obj(pool, i) */
	size_t              obj_size;  /* rounded up to 64 bytes */
	unsigned            count;
	const struct sk_mr *mr;        /* the registration the objects are in:
	                                * the arena's, or the pool's own
	                                * region's with remote rights */
	char               *meta;      /* count * meta_size, on the heap:
	                                * sk_pool_meta() */
	size_t              meta_size;
	union {
		uint64_t u64[7];
		void    *align;
	} priv;
};

/*
 * Map @size bytes (0: SKIFF_ARENA_MB) and register them on @dev with
 * @access rights (enum sk_access): SK_ACCESS_LOCAL, as a node's and
 * skrun's are. Remote rights here would reach everything in the arena
 * (channel slots, every pool): give peers regions instead. @arena_p out,
 * on success only; free with sk_arena_destroy() after every operation on
 * it has completed.
 */
sk_status_t sk_arena_create(struct sk_dev *dev, size_t size, unsigned access,
			    struct sk_arena **arena_p);
void sk_arena_destroy(struct sk_arena *arena);
/*
 * Deregister the arena and every region of it, keeping the memory mapped
 * (sk_arena_destroy() unmaps it later, or the process's exit does): for
 * an owner that must close the device while another thread may still
 * write into the memory with plain stores (skrun's file threads at exit).
 */
void sk_arena_dereg(struct sk_arena *arena);

/* The registration covering the whole arena (for local use: never hand
 * its key to a peer). */
const struct sk_mr *sk_arena_mr(const struct sk_arena *arena);
/* Whether the arena got huge pages. */
bool sk_arena_huge(const struct sk_arena *arena);
size_t sk_arena_size(const struct sk_arena *arena);
size_t sk_arena_used(const struct sk_arena *arena);

/*
 * Take @size bytes aligned to @align (a power of two, at most 4096) for the
 * arena's lifetime. Returns NULL when the arena is exhausted (the message
 * names SKIFF_ARENA_MB). Memory is zeroed.
 */
void *sk_arena_alloc(struct sk_arena *arena, size_t size, size_t align);

/*
 * Carve a page-aligned region of @size bytes (rounded up to whole pages,
 * so it shares no page with other arena memory) and register it on its own
 * with @access rights (enum sk_access). @region out, on success only.
 * Returns SK_OK, SK_ERR_NOMEM when the arena is exhausted, or what
 * sk_mr_reg returns. The memory is the arena's for its lifetime; the
 * registration goes with sk_arena_region_release() or sk_arena_destroy().
 */
sk_status_t sk_arena_region(struct sk_arena *arena, size_t size,
			    unsigned access, struct sk_region *region);
/*
 * The same, but where the device has direct_mem (verbs.h) the pages are
 * sk_mr_alloc's, counted against the arena all the same: peers on this
 * host then READ them without this node's progress (kv's partitions).
 * Limit (UCX 1.13): a peer that imports the key just as this node dies
 * can crash inside UCX (verbs/README.md, "sk_mr_alloc"), so use it for
 * memory peers READ often, after they know the node is up.
 */
sk_status_t sk_arena_region_direct(struct sk_arena *arena, size_t size,
				   unsigned access, struct sk_region *region);
/* Deregister a region (keys peers hold for it stop working). Its memory
 * is not reused: whatever a peer writes there later reaches nobody. */
void sk_arena_region_release(struct sk_arena *arena,
			     struct sk_region *region);

/* Carve a pool of @count objects of @obj_size bytes in the arena's own
 * registration, with no metadata (sk_pool_init_attr with @attr NULL). */
sk_status_t sk_pool_init(struct sk_pool *pool, struct sk_arena *arena,
			 size_t obj_size, unsigned count);
/* The same, as @attr says. Free with sk_pool_fini(). */
sk_status_t sk_pool_init_attr(struct sk_pool *pool, struct sk_arena *arena,
			      size_t obj_size, unsigned count,
			      const struct sk_pool_attr *attr);
/* Free the pool's heap arrays and release its region. Its objects stay
 * arena memory (the arena has nothing to free but the whole); every
 * operation on them must have completed. */
void sk_pool_fini(struct sk_pool *pool);
/* An object, or NULL when all are in use. */
void *sk_pool_get(struct sk_pool *pool);
/* Return an object taken from this pool. Anything else (a pointer that is
 * not the start of one of its objects, or one already returned) is
 * refused with a message and changes nothing. */
void sk_pool_put(struct sk_pool *pool, void *obj);

/* How many objects are free (not handed out). */
unsigned sk_pool_nfree(const struct sk_pool *pool);

/* Object @i of the pool (i < pool->count). */
static inline void *sk_pool_obj(const struct sk_pool *pool, unsigned i)
{
	return pool->base + (size_t)i * pool->obj_size;
}

/* The index of the object @p points into (sk_pool_has must hold). */
static inline unsigned sk_pool_index(const struct sk_pool *pool,
				     const void *p)
{
	return (unsigned)((size_t)((const char *)p - pool->base) /
			  pool->obj_size);
}

/* Whether @p points into one of the pool's objects. */
static inline int sk_pool_has(const struct sk_pool *pool, const void *p)
{
	const char *b = (const char *)p;

	return b >= pool->base && b < pool->base + pool->obj_size *
						      pool->count;
}

/* The metadata of the object @p points into (sk_pool_has must hold). */
static inline void *sk_pool_meta(const struct sk_pool *pool, const void *p)
{
	size_t i = (size_t)((const char *)p - pool->base) / pool->obj_size;

	return pool->meta + i * pool->meta_size;
}

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_ARENA_H */
