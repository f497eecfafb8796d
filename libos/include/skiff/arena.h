/*
 * The node's registered memory: one arena, registered once with the fabric,
 * and fixed-size pools carved out of it. Every fabric buffer of a node
 * (message slots, bulk bounce buffers, application buffers for one-sided
 * operations) comes from here, so nothing is registered on the datapath.
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

#include <skiff/verbs.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_arena;

/* A pool of equal objects carved out of an arena. */
struct sk_pool {
	struct sk_arena *arena;
	size_t           obj_size;  /* rounded up to 64 bytes */
	unsigned         count;
	unsigned         nfree;
	char            *base;
	void            *free_list; /* private */
};

/*
 * Map @size bytes (0: SKIFF_ARENA_MB) and register them on @dev with
 * @access rights (enum sk_access). @arena_p out, on success only; free with
 * sk_arena_destroy() after every operation on it has completed.
 */
sk_status_t sk_arena_create(struct sk_dev *dev, size_t size, unsigned access,
			    struct sk_arena **arena_p);
void sk_arena_destroy(struct sk_arena *arena);

/* The registration covering the whole arena. */
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

/* Carve a pool of @count objects of @obj_size bytes. */
sk_status_t sk_pool_init(struct sk_pool *pool, struct sk_arena *arena,
			 size_t obj_size, unsigned count);
/* An object, or NULL when all are in use. */
void *sk_pool_get(struct sk_pool *pool);
/* Return an object taken from this pool. */
void sk_pool_put(struct sk_pool *pool, void *obj);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_ARENA_H */
