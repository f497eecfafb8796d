/*
 * Two endpoints in one process, connected to each other, on one device or
 * two: completions on a device without a second process (test_loop,
 * test_config). Header-only; the includer has <skiff/verbs.h> on its path.
 */
#ifndef SKIFF_TESTS_EP_PAIR_H
#define SKIFF_TESTS_EP_PAIR_H

#include <stddef.h>

#include <skiff/verbs.h>

/* *@a_p on @da and *@b_p on @db, each connected to the other; SK_OK, or
 * the first failure (nothing is left made). */
static inline sk_status_t sk_test_ep_pair(struct sk_dev *da,
					  struct sk_dev *db,
					  struct sk_ep **a_p,
					  struct sk_ep **b_p)
{
	char addr_a[SK_BLOB_MAX], addr_b[SK_BLOB_MAX];
	size_t la = sizeof(addr_a), lb = sizeof(addr_b);
	struct sk_ep *a = NULL, *b = NULL;
	sk_status_t st;

	if ((st = sk_ep_create(da, &a)) != SK_OK ||
	    (st = sk_ep_create(db, &b)) != SK_OK ||
	    (st = sk_ep_addr_pack(a, addr_a, &la)) != SK_OK ||
	    (st = sk_ep_addr_pack(b, addr_b, &lb)) != SK_OK ||
	    (st = sk_ep_connect(a, addr_b, lb)) != SK_OK ||
	    (st = sk_ep_connect(b, addr_a, la)) != SK_OK) {
		if (b != NULL)
			sk_ep_destroy(b);
		if (a != NULL)
			sk_ep_destroy(a);
		return st;
	}
	*a_p = a;
	*b_p = b;
	return SK_OK;
}

#endif /* SKIFF_TESTS_EP_PAIR_H */
