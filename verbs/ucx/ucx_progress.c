/*
 * Driving UCX: ucx_progress runs the worker's progress, and ucx_cb_dev
 * tells the callbacks it runs which device they belong to. The bottom of
 * the provider: every file may call it, it calls none of them.
 */

#include "ucx_int.h"

/* The device whose worker this thread is progressing (ucx_int.h). */
__thread struct ucx_dev *ucx_cb_dev;

void ucx_progress(struct ucx_dev *d)
{
	struct ucx_dev *saved = ucx_cb_dev;

	ucx_cb_dev = d;
	/* Stop at the first progress that made completions: one more call
	 * that finds nothing costs as much as the useful one. */
	for (int i = 0; i < UCX_PROGRESS_SPIN; i++) {
		if (ucp_worker_progress(d->worker) == 0)
			break;
		d->ucp_armed = 0; /* it did something: arm it anew */
		if (d->cq_tail != d->cq_head)
			break;
	}
	ucx_cb_dev = saved;
}
