/*
 * Driving UCX: ucx_progress runs the worker's progress (ucx_progress_drain
 * until it finds nothing), and ucx_cb_dev tells the callbacks it runs
 * which device they belong to. The bottom of the provider: every file may
 * call it, it calls none of them.
 */

#include <stdbool.h>

#include "ucx_int.h"

/* The device whose worker this thread is progressing (ucx_int.h). */
__thread struct ucx_dev *ucx_cb_dev;

/* Up to @max progress calls, until one finds nothing or, @to_completion,
 * one made completions. */
static inline void ucx_progress_until(struct ucx_dev *d, int max,
				      bool to_completion)
{
	struct ucx_dev *saved = ucx_cb_dev;

	ucx_cb_dev = d;
	for (int i = 0; i < max; i++) {
		if (ucp_worker_progress(d->worker) == 0)
			break;
		d->ucp_armed = 0; /* it did something: arm it anew */
		d->moved++;
		if (to_completion && d->cq_tail != d->cq_head)
			break;
	}
	ucx_cb_dev = saved;
}

void ucx_progress(struct ucx_dev *d)
{
	/* Stop at the first progress that made completions: one more call
	 * that finds nothing costs as much as the useful one. */
	ucx_progress_until(d, UCX_PROGRESS_SPIN, true);
}

/*
 * Progress until the worker finds nothing more (sk_dev_drain): UCX's
 * messages from peers (keepalive checks above all) wait in our
 * shared-memory FIFO until a progress reads them, and sk_dev_poll
 * progresses only every 4th poll when rings carry the sends. Bounded, in
 * case peers keep sending.
 */
void ucx_progress_drain(struct ucx_dev *d)
{
	ucx_progress_until(d, 4096, false);
}
