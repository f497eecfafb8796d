/*
 * Connections between nodes, brokered by the host (hostproto.h: CONNECT,
 * LISTEN, ACCEPT, PEER), and the job-wide barrier.
 *
 * The host only carries addresses: it keeps each node's one CONNECT in
 * flight (sk_hnode.conn) on the queue of the node it names, hands the
 * oldest to that node when its LISTEN (or ACCEPT) is outstanding, and
 * replies to the CONNECT with the ACCEPT's address. Nothing here grows with
 * the job's size but the queues, which hold at most one request per node.
 *
 * Every CONNECT gets exactly one reply: the target's address, result 1 when
 * a merge (both nodes connecting to each other) answered it already, or
 * -ECONNREFUSED when the target is not a Skiff node, has finished, died or
 * refused.
 *
 * Below services.c, which hands requests down here: a request that breaks
 * the protocol is returned to it as what the node sent, and services.c
 * cuts the node off. Replies go out through sk_reply (job.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "job.h"

#define SK_CONN_MERGED 1 /* CONNECT result: a merge answered it */

/* ---- replies that may wait for a send slot ---- */

static void sk_conn_flush(struct sk_hnode *n)
{
	struct sk_hconn *c = &n->conn;

	if (!c->answer_owed)
		return;
	if (n->link_down) {
		c->answer_owed = false;
		c->active = false;
		return;
	}
	if (!sk_chan_can_send(&n->chan))
		return; /* sk_conn_writable sends it */
	sk_reply(n, c->req_id, SK_HMSG_REPLY, c->result,
		 c->result == 0 ? c->blob : NULL,
		 c->result == 0 ? c->blob_len : 0, NULL, 0);
	c->answer_owed = false;
	c->active = false;
}

/* Answer @n's CONNECT (with the target's address when @result is 0). */
static void sk_conn_answer(struct sk_hnode *n, int64_t result,
			   const void *blob, size_t len)
{
	struct sk_hconn *c = &n->conn;

	if (!c->active || c->answer_owed)
		return;
	c->delivered = false;
	c->result = result;
	if (result == 0)
		n->confirm_to = c->to; /* it says CONNECTED next */
	if (result == 0) {
		memcpy(c->blob, blob, len);
		c->blob_len = (uint16_t)len;
	}
	c->answer_owed = true;
	sk_conn_flush(n);
}

/* ---- the queue of CONNECTs to a node ---- */

static void sk_connq_push(struct sk_hnode *t, struct sk_hnode *from)
{
	from->conn.next = NULL;
	if (t->connq_tail)
		t->connq_tail->conn.next = from;
	else
		t->connq_head = from;
	t->connq_tail = from;
}

static struct sk_hnode *sk_connq_pop(struct sk_hnode *t)
{
	struct sk_hnode *n = t->connq_head;

	if (n == NULL)
		return NULL;
	t->connq_head = n->conn.next;
	if (t->connq_head == NULL)
		t->connq_tail = NULL;
	n->conn.next = NULL;
	return n;
}

/* Take @from's CONNECT off @t's queue; false if it is not there. */
static bool sk_connq_remove(struct sk_hnode *t, struct sk_hnode *from)
{
	struct sk_hnode **pp, *prev = NULL;

	for (pp = &t->connq_head; *pp; prev = *pp, pp = &(*pp)->conn.next) {
		if (*pp != from)
			continue;
		*pp = from->conn.next;
		if (t->connq_tail == from)
			t->connq_tail = prev;
		from->conn.next = NULL;
		return true;
	}
	return false;
}

/* Hand @t the oldest CONNECT waiting for it, if it listens. */
static void sk_conn_deliver(struct sk_hnode *t)
{
	struct sk_hreq_peer p = {0};
	struct sk_hnode *from;

	if (!t->listening || t->serving != NULL || t->connq_head == NULL ||
	    t->link_down || !sk_chan_can_send(&t->chan))
		return;
	from = sk_connq_pop(t);
	p.rank = from->rank;
	p.service = from->conn.service;
	from->conn.delivered = true;
	t->serving = from;
	t->listening = false;
	sk_reply(t, t->listen_req, SK_HMSG_PEER, 0, &p, sizeof(p),
		 from->conn.blob, from->conn.blob_len);
}

/* ---- requests ---- */

static void sk_conn_connect(struct sk_job *job, struct sk_hnode *n,
			    const struct sk_hreq *req)
{
	const struct sk_hreq_peer *p = &req->u.peer.p;
	struct sk_hconn *c = &n->conn;
	struct sk_hnode *t;

	if (c->active) {
		/* libos sends one at a time: this node does not. */
		sk_reply(n, req->hdr.req_id, SK_HMSG_REPLY, -EBUSY, NULL, 0,
			 NULL, 0);
		return;
	}
	if (p->rank >= job->size || p->rank == n->rank) {
		sk_reply(n, req->hdr.req_id, SK_HMSG_REPLY, -EINVAL, NULL, 0,
			 NULL, 0);
		return;
	}
	t = &job->node[p->rank];
	c->active = true;
	c->delivered = false;
	c->answer_owed = false;
	c->to = p->rank;
	c->service = p->service;
	c->req_id = req->hdr.req_id;
	memcpy(c->blob, req->u.peer.blob, req->u.peer.len);
	c->blob_len = (uint16_t)req->u.peer.len;
	if (!t->ready || t->conn_closed || t->link_down || t->exited) {
		sk_conn_answer(n, -ECONNREFUSED, NULL, 0);
		return;
	}
	sk_connq_push(t, n);
	sk_conn_deliver(t);
}

static const char *sk_conn_listen(struct sk_job *job, struct sk_hnode *n,
				  const struct sk_hreq *req)
{
	if (n->listening || n->serving != NULL)
		return "a second LISTEN";
	n->listening = true;
	n->listen_req = req->hdr.req_id;
	sk_conn_deliver(n);
	return NULL;
}

static const char *sk_conn_accept(struct sk_job *job, struct sk_hnode *n,
				  const struct sk_hreq *req)
{
	const struct sk_hreq_peer *p = &req->u.peer.p;
	struct sk_hnode *from = n->serving;

	if (from == NULL || n->listening || p->rank != from->rank ||
	    p->service != from->conn.service)
		return "an ACCEPT of no request";
	n->serving = NULL;
	if (from->conn.active && from->conn.delivered &&
	    from->conn.to == n->rank) {
		if (p->flags & SK_HACCEPT_REFUSED) {
			sk_conn_answer(from, -ECONNREFUSED, NULL, 0);
		} else {
			n->unconfirmed++;
			sk_conn_answer(from, 0, req->u.peer.blob,
				       req->u.peer.len);
		}
	}
	if ((p->flags & SK_HACCEPT_MERGED) && n->conn.active &&
	    !n->conn.answer_owed && n->conn.to == from->rank &&
	    n->conn.service == p->service && !n->conn.delivered &&
	    sk_connq_remove(from, n)) {
		/* Its own CONNECT to that node was answered by the merge;
		 * had it been delivered, that node merges too. */
		sk_conn_answer(n, SK_CONN_MERGED, NULL, 0);
	}
	/* The ACCEPT is the next LISTEN. */
	n->listening = true;
	n->listen_req = req->hdr.req_id;
	sk_conn_deliver(n);
	return NULL;
}

/*
 * The end of a job, in two steps, as MPI_Finalize is collective. A node's
 * FINALIZE is answered once all its accepted peers have connected to it
 * and every node has finalized (or gone): no node tears down an endpoint
 * to one that has exited. The node then handles what its peers sent
 * before they finalized (sk_dev_drain) and sends FINALIZE again with
 * SK_HFIN_LEAVE, answered once every node has: only then may it exit, so
 * no node handles a message from a node that has exited (libos/README.md,
 * "Nobody leaves too early").
 */
/* Every node that joined has finalized (or, @leave, left), exited or lost
 * its link. */
static bool sk_conn_all_finalized(const struct sk_job *job, bool leave)
{
	for (unsigned r = 0; r < job->size; r++) {
		const struct sk_hnode *n = &job->node[r];

		if (n->joined && !(leave ? n->left : n->finalized) &&
		    !n->exited && !n->link_down)
			return false;
	}
	return true;
}

/* Answer what @t's FINALIZEs wait for, if it is there. @all: every node
 * has finalized (-1: not known yet), @all_left: every node has left. */
static void sk_conn_fin_answer(struct sk_hnode *t, int all, int all_left)
{
	if (t->link_down)
		return;
	/* Held until sent: a send that fails reports the link lost at
	 * once (on_error), which must know the node still waits for it. */
	if (t->fin_held && t->unconfirmed == 0 && sk_chan_can_send(&t->chan) &&
	    (all >= 0 ? all : sk_conn_all_finalized(t->job, false))) {
		sk_reply(t, t->fin_req, SK_HMSG_REPLY, 0, NULL, 0, NULL, 0);
		t->fin_held = false;
	}
	if (t->leave_held && sk_chan_can_send(&t->chan) &&
	    (all_left >= 0 ? all_left : sk_conn_all_finalized(t->job, true))) {
		sk_reply(t, t->leave_req, SK_HMSG_REPLY, 0, NULL, 0, NULL, 0);
		t->leave_held = false;
	}
}

static void sk_conn_fin_check(struct sk_hnode *t)
{
	sk_conn_fin_answer(t, -1, -1);
}

/* @n's end of the connection to its confirm_to node is up, or will never
 * be. */
static void sk_conn_confirm(struct sk_job *job, struct sk_hnode *n)
{
	struct sk_hnode *t;

	if (n->confirm_to == SK_NO_RANK)
		return;
	t = &job->node[n->confirm_to];
	n->confirm_to = SK_NO_RANK;
	if (t->unconfirmed > 0)
		t->unconfirmed--;
	sk_conn_fin_check(t);
}

const char *sk_conn_finalize(struct sk_job *job, struct sk_hnode *n,
			     const struct sk_hreq *req)
{
	if (req->hdr.flags & SK_HFIN_LEAVE) {
		if (!n->finalized || n->fin_held)
			return "a LEAVE before its FINALIZE was answered";
		if (n->left)
			return "a second LEAVE";
		n->left = true;
		n->leave_held = true;
		n->leave_req = req->hdr.req_id;
	} else {
		if (n->finalized)
			return "a second FINALIZE";
		n->finalized = true;
		sk_conn_node_closed(job, n);
		n->fin_held = true;
		n->fin_req = req->hdr.req_id;
	}
	sk_conn_fin_release(job);
	return NULL;
}

void sk_conn_fin_release(struct sk_job *job)
{
	int all = sk_conn_all_finalized(job, false);
	int all_left = sk_conn_all_finalized(job, true);

	for (unsigned r = 0; r < job->size; r++)
		sk_conn_fin_answer(&job->node[r], all, all_left);
}

static void sk_conn_connected(struct sk_job *job, struct sk_hnode *n,
			      const struct sk_hreq *req)
{
	/* One that matches nothing comes late (the node finished waiting,
	 * then finalized, which settled it): nothing to do. */
	if (n->confirm_to == req->u.peer.p.rank)
		sk_conn_confirm(job, n);
	sk_reply(n, req->hdr.req_id, SK_HMSG_REPLY, 0, NULL, 0, NULL, 0);
}

const char *sk_conn_serve(struct sk_job *job, struct sk_hnode *n,
			  const struct sk_hreq *req)
{
	switch (req->hdr.type) {
	case SK_HMSG_CONNECTED:
		sk_conn_connected(job, n, req);
		break;
	case SK_HMSG_CONNECT:
		sk_conn_connect(job, n, req);
		break;
	case SK_HMSG_LISTEN:
		return sk_conn_listen(job, n, req);
	case SK_HMSG_ACCEPT:
		return sk_conn_accept(job, n, req);
	}
	return NULL;
}

/* ---- the barrier ---- */

static bool sk_barrier_member(const struct sk_hnode *n)
{
	return n->joined && !n->conn_closed && !n->exited && !n->link_down;
}

static void sk_barrier_flush(struct sk_hnode *n)
{
	if (!n->barrier_owed || n->link_down)
		return;
	if (!sk_chan_can_send(&n->chan))
		return; /* sk_conn_writable sends it */
	sk_reply(n, n->barrier_req, SK_HMSG_REPLY, 0, NULL, 0, NULL, 0);
	n->barrier_owed = false;
}

/* Release the barrier when every node still running is in it. */
static void sk_barrier_check(struct sk_job *job)
{
	unsigned r;

	if (job->nbarrier == 0)
		return;
	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];

		if (sk_barrier_member(n) && !n->in_barrier)
			return;
	}
	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];

		if (!n->in_barrier)
			continue;
		n->in_barrier = false;
		n->barrier_owed = true;
		sk_barrier_flush(n);
	}
	job->nbarrier = 0;
}

const char *sk_barrier_serve(struct sk_job *job, struct sk_hnode *n,
			     const struct sk_hreq *req)
{
	if (n->in_barrier || n->barrier_owed)
		return "a second BARRIER";
	n->in_barrier = true;
	n->barrier_req = req->hdr.req_id;
	job->nbarrier++;
	sk_barrier_check(job);
	return NULL;
}

/* ---- a node that goes ---- */

void sk_conn_node_closed(struct sk_job *job, struct sk_hnode *n)
{
	struct sk_hnode *from;

	/* What it owed another node's FINALIZE, it will never give. */
	sk_conn_confirm(job, n);
	if (n->conn_closed) {
		/* Finalized before: the others' LEAVEs need not wait. */
		sk_conn_fin_release(job);
		return;
	}
	n->conn_closed = true;
	n->listening = false;
	/* Whoever waits for this node is refused. */
	while ((from = sk_connq_pop(n)) != NULL)
		sk_conn_answer(from, -ECONNREFUSED, NULL, 0);
	if (n->serving != NULL) {
		from = n->serving;
		n->serving = NULL;
		sk_conn_answer(from, -ECONNREFUSED, NULL, 0);
	}
	/* Its own CONNECT: off the queue it waits on; a node that already
	 * holds it will ACCEPT, which finds nobody to answer. */
	if (n->conn.active) {
		if (!n->conn.delivered && !n->conn.answer_owed)
			sk_connq_remove(&job->node[n->conn.to], n);
		if (n->link_down) {
			n->conn.active = false;
			n->conn.answer_owed = false;
		} else {
			sk_conn_answer(n, -ECONNREFUSED, NULL, 0);
		}
	}
	if (n->in_barrier) {
		n->in_barrier = false;
		job->nbarrier--;
		if (!n->link_down)
			sk_reply(n, n->barrier_req, SK_HMSG_REPLY,
				 -ECONNABORTED, NULL, 0, NULL, 0);
	}
	sk_barrier_check(job);
	sk_conn_fin_release(job); /* the others need not wait for it */
}

void sk_conn_writable(struct sk_job *job, struct sk_hnode *n)
{
	sk_conn_fin_check(n);
	sk_conn_flush(n);
	sk_barrier_flush(n);
	sk_conn_deliver(n);
}
