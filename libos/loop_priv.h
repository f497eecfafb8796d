/*
 * Private to libos: the layout of the part of a timer and of a watch that
 * is the loop's own. loop.h gives callers storage of the right size and
 * alignment for it (the ->priv member), so that they can embed timers and
 * watches, and only their own fields (->cb, ->fd, ->events) by name: what
 * the loop keeps there may change without a caller noticing. Checked to
 * fit below. (libos is built with -fno-strict-aliasing, which the casts
 * rely on.)
 *
 * Included by loop.c, and by tests/libos/test_loop.c, which checks the
 * order of the loop's deadlines.
 */
#ifndef SKIFF_LIBOS_LOOP_PRIV_H
#define SKIFF_LIBOS_LOOP_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <skiff/loop.h>

struct sk_timer_priv {
	uint64_t deadline_ns;
	uint64_t seq;      /* start order: ties fire in it */
	uint32_t heap_idx; /* its place in the loop's heap */
	bool     armed;
};

struct sk_watch_priv {
	struct sk_watch *next;   /* the watches of one descriptor */
	uint64_t         look;   /* the last look that saw it */
	int              reg_fd; /* ->fd when started */
	unsigned         fixed;  /* revents if epoll cannot watch it */
	bool             active;
};

_Static_assert(sizeof(struct sk_timer_priv) <=
		       sizeof(((struct sk_timer *)0)->priv) &&
	       _Alignof(struct sk_timer_priv) <=
		       _Alignof(__typeof__(((struct sk_timer *)0)->priv)),
	       "struct sk_timer's storage does not fit sk_timer_priv");
_Static_assert(sizeof(struct sk_watch_priv) <=
		       sizeof(((struct sk_watch *)0)->priv) &&
	       _Alignof(struct sk_watch_priv) <=
		       _Alignof(__typeof__(((struct sk_watch *)0)->priv)),
	       "struct sk_watch's storage does not fit sk_watch_priv");

static inline struct sk_timer_priv *sk_timer_priv(struct sk_timer *t)
{
	return (struct sk_timer_priv *)(void *)&t->priv;
}

static inline const struct sk_timer_priv *
sk_timer_cpriv(const struct sk_timer *t)
{
	return (const struct sk_timer_priv *)(const void *)&t->priv;
}

static inline struct sk_watch_priv *sk_watch_priv(struct sk_watch *w)
{
	return (struct sk_watch_priv *)(void *)&w->priv;
}

static inline const struct sk_watch_priv *
sk_watch_cpriv(const struct sk_watch *w)
{
	return (const struct sk_watch_priv *)(const void *)&w->priv;
}

#endif /* SKIFF_LIBOS_LOOP_PRIV_H */
