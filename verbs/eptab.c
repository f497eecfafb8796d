/*
 * The endpoint table both providers share: endpoints of a device by index
 * and generation. Completions (rdma wr_id, ucx callback cookies) and peer
 * messages (ucx active-message headers) name an endpoint by both, so one
 * that arrives after its endpoint was destroyed, or its slot reused, finds
 * nothing instead of a stranger.
 */
#include <stdlib.h>
#include <string.h>

#include "provider.h"

sk_status_t sk_ep_table_add(struct sk_ep_table *t, struct sk_ep *ep,
			    uint32_t *idx_p, uint16_t *gen_p)
{
	uint32_t i;

	for (i = 0; i < t->n; i++)
		if (t->eps[i] == NULL)
			break;
	if (i == t->n) {
		uint32_t n = t->n ? t->n * 2 : 16;
		struct sk_ep **eps;
		uint16_t *gen;

		if (n > SK_EP_TABLE_MAX)
			return SK_ERR_NOMEM;
		eps = realloc(t->eps, n * sizeof(*eps));
		if (eps == NULL)
			return SK_ERR_NOMEM;
		t->eps = eps;
		gen = realloc(t->gen, n * sizeof(*gen));
		if (gen == NULL)
			return SK_ERR_NOMEM;
		t->gen = gen;
		memset(t->eps + t->n, 0, (n - t->n) * sizeof(*eps));
		memset(t->gen + t->n, 0, (n - t->n) * sizeof(*gen));
		t->n = n;
	}
	t->eps[i] = ep;
	*idx_p = i;
	*gen_p = ++t->gen[i];
	return SK_OK;
}

void sk_ep_table_del(struct sk_ep_table *t, uint32_t idx)
{
	t->eps[idx] = NULL;
}

void sk_ep_table_cleanup(struct sk_ep_table *t)
{
	free(t->eps);
	free(t->gen);
	memset(t, 0, sizeof(*t));
}
