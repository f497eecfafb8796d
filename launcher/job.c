/*
 * The calls every part of the launcher may make on a job or a node,
 * whatever its place (job.h): the one way to answer a node's request, and
 * the two things a part below skrun's own must tell skrun, which go
 * through the ops skrun hands down. So services.c, connect.c and bootsrv.c
 * never call a function of skrun's, and skrun's parts sit above them all.
 */
#include <stdio.h>

#include "job.h"

void sk_reply(struct sk_hnode *n, uint64_t req_id, uint16_t type,
	      int64_t result, const void *p1, size_t len1, const void *p2,
	      size_t len2)
{
	struct sk_hmsg_hdr h = {.type = type, .req_id = req_id,
				.result = result};
	sk_status_t st;

	/* An exited node's last requests are still served (services.c,
	 * sk_services_node_exited); nobody reads their answers. */
	if (n->link_down || n->exited)
		return;
	st = sk_chan_send(&n->chan, &h, p1, len1, p2, len2);
	/* Callers check sk_chan_can_send() first; a failure here means the
	 * link broke, which the channel reports through on_error. */
	if (st != SK_OK && st != SK_ERR_FLUSHED)
		fprintf(stderr, "skrun: reply to rank %u failed: %s\n",
			n->rank, sk_status_str(st));
}

void sk_job_abort(struct sk_job *job, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	job->ops->abort(job, code, fmt, ap);
	va_end(ap);
}

void sk_job_output(struct sk_job *job, struct sk_hnode *n, int stream,
		   const char *buf, size_t len)
{
	job->ops->output(job, n, stream, buf, len);
}
