/*
 * The device's software completion queue: sized for every endpoint's
 * depths, resized only at endpoint creation, purged of a destroyed
 * endpoint's completions. Pushing is inline (ucx_int.h).
 */

#include "ucx_int.h"

/* ---- completion ring ---- */

static sk_status_t ucx_cq_resize(struct ucx_dev *d, uint32_t size)
{
	struct sk_wc *cq = malloc(size * sizeof(*cq));
	uint32_t n = 0;

	if (cq == NULL)
		return SK_ERR_NOMEM;
	while (d->cq_tail != d->cq_head)
		cq[n++] = d->cq[d->cq_tail++ & (d->cq_size - 1)];
	free(d->cq);
	d->cq = cq;
	d->cq_size = size;
	d->cq_tail = 0;
	d->cq_head = n;
	return SK_OK;
}

void __attribute__((cold, noinline))
ucx_cq_overflow(struct ucx_ep *e)
{
	sk_log_error("ucx: endpoint %u: the completion queue is full (a bug): "
		     "a completion is lost, endpoint failed", e->idx);
	e->failed = 1;
}

/* The completions of a destroyed endpoint leave the queue with it, so no
 * poll hands out a wc.ep that is gone (the rdma provider drops them by
 * generation at poll time). */
void ucx_cq_purge(struct ucx_dev *d, const struct ucx_ep *e)
{
	uint32_t mask = d->cq_size - 1, out = d->cq_tail;

	for (uint32_t i = d->cq_tail; i != d->cq_head; i++)
		if (d->cq[i & mask].ep != &e->super)
			d->cq[out++ & mask] = d->cq[i & mask];
	d->cq_head = out;
}

sk_status_t ucx_cq_reserve(struct ucx_dev *d, uint32_t more)
{
	uint32_t need = d->cq_need + more;

	if (need > d->cq_size) {
		sk_status_t st = ucx_cq_resize(d, ucx_pow2(need));

		if (st != SK_OK)
			return st;
	}
	d->cq_need = need;
	return SK_OK;
}
