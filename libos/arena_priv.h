/*
 * Private to libos: the layout of the part of a pool that is the
 * allocator's own. arena.h gives callers storage of the right size and
 * alignment for it (struct sk_pool's ->priv), so that they can embed a
 * pool and read what sk_pool_init set for them, and nothing a peer's
 * write or a caller's mistake could use to steer the allocator. Checked
 * to fit below. (libos is built with -fno-strict-aliasing, which the
 * cast relies on.)
 *
 * Included by arena.c, and by tests/libos/test_arena.c, which checks the
 * region a pool with remote rights gets.
 */
#ifndef SKIFF_LIBOS_ARENA_PRIV_H
#define SKIFF_LIBOS_ARENA_PRIV_H

#include <skiff/arena.h>

struct sk_pool_priv {
	struct sk_arena  *arena;
	struct sk_region  region;   /* its own, if it asked for remote
	                             * rights (else region.mr is NULL) */
	/* on the heap: the free objects' indexes (a stack) and which
	 * objects are handed out */
	unsigned         *free_idx;
	unsigned char    *busy;
	unsigned          nfree;
};

_Static_assert(sizeof(struct sk_pool_priv) <=
		       sizeof(((struct sk_pool *)0)->priv) &&
	       _Alignof(struct sk_pool_priv) <=
		       _Alignof(__typeof__(((struct sk_pool *)0)->priv)),
	       "struct sk_pool's storage does not fit sk_pool_priv");

/* Regions from now on are registered arena memory, never sk_mr_alloc's:
 * a sealed node may not create shared-memory segments (arena.c). */
void sk_arena_no_direct(struct sk_arena *arena);

static inline struct sk_pool_priv *sk_pool_priv(struct sk_pool *pool)
{
	return (struct sk_pool_priv *)(void *)&pool->priv;
}

static inline const struct sk_pool_priv *
sk_pool_cpriv(const struct sk_pool *pool)
{
	return (const struct sk_pool_priv *)(const void *)&pool->priv;
}

#endif /* SKIFF_LIBOS_ARENA_PRIV_H */
