/*
 * The node's state and its calls to the host: requests on the host channel
 * and their replies (hostproto.h, part 2), and the accessors of os.h.
 * Kept apart from boot.c so that code which only asks (rpc, in a program
 * that is not a node) does not bring __wrap_main with it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <skiff/os.h>

#include "node.h"

struct sk_node sk_node;

/* ---- calls to the host ---- */

/* A call's reply is in (or never will be): tell whoever is owed it. A
 * waiter sees ->done; an async call frees its slot here. */
static void sk_node_call_done(struct sk_hcall *c)
{
	c->done = true;
	if (c->on_reply) {
		c->on_reply(c);
	} else if (c->async) {
		c->busy = false;
		sk_node.ncalls--;
	}
}

bool sk_node_on_msg(struct sk_chan *chan, void *msg, size_t len)
{
	struct sk_hmsg_hdr h;
	struct sk_hcall *c;

	if (len < sizeof(h)) {
		fprintf(stderr, "skiff: short message from the host\n");
		return true;
	}
	memcpy(&h, msg, sizeof(h));
	if (h.len != len - sizeof(h) ||
	    (h.type != SK_HMSG_REPLY && h.type != SK_HMSG_BOOT &&
	     (h.type != SK_HMSG_PEER || sk_node.on_peer == NULL))) {
		fprintf(stderr, "skiff: malformed message from the host\n");
		return true;
	}
	if (h.type == SK_HMSG_PEER) {
		/* Its answer goes out from here: wait for a send slot. */
		if (!sk_chan_can_send(chan))
			return false;
		sk_node.on_peer(&h, (const char *)msg + sizeof(h));
		return true;
	}
	c = &sk_node.calls[h.req_id % SK_HMSG_CALL_SLOTS];
	if (!c->busy || c->req_id != h.req_id) {
		fprintf(stderr, "skiff: reply to no request from the host\n");
		return true;
	}
	c->result = h.result;
	c->reply_len = 0;
	if (c->reply != NULL) {
		if (h.len > c->reply_cap)
			c->result = -EIO;
		else {
			memcpy(c->reply, (char *)msg + sizeof(h), h.len);
			c->reply_len = h.len;
		}
	}
	sk_node_call_done(c);
	return true;
}

void sk_node_on_error(struct sk_chan *chan, sk_status_t st)
{
	unsigned i;

	sk_node.down = true;
	/* Wake every waiter: the host is gone. */
	for (i = 0; i < SK_HMSG_CALL_SLOTS; i++) {
		struct sk_hcall *c = &sk_node.calls[i];

		if (!c->busy)
			continue;
		c->result = -ENOTCONN;
		sk_node_call_done(c);
	}
}

struct sk_hcall *sk_node_send(uint16_t type, uint16_t flags, const void *p1,
			      size_t len1, const void *p2, size_t len2,
			      bool async)
{
	struct sk_hmsg_hdr h = {.type = type, .flags = flags};
	struct sk_hcall *c = NULL;
	unsigned i;
	sk_status_t st;

	for (;;) {
		if (sk_node.down)
			return NULL;
		/* Any free call slot; its index is the req_id's remainder,
		 * which the reply echoes. */
		for (i = 0; i < SK_HMSG_CALL_SLOTS; i++)
			if (!sk_node.calls[i].busy)
				break;
		if (i < SK_HMSG_CALL_SLOTS && sk_chan_can_send(&sk_node.chan))
			break;
		/* At most SK_HMSG_CALL_SLOTS requests in flight (hostproto.h):
		 * wait for a reply. */
		if (sk_loop_run_once(sk_node.loop, -1) < 0)
			return NULL;
	}
	c = &sk_node.calls[i];
	h.req_id = sk_node.next_req++ * SK_HMSG_CALL_SLOTS + i;
	st = sk_chan_send(&sk_node.chan, &h, p1, len1, p2, len2);
	if (st != SK_OK)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->busy = true;
	c->async = async;
	c->req_id = h.req_id;
	sk_node.ncalls++;
	return c;
}

int64_t sk_node_call(uint16_t type, uint16_t flags, const void *p1,
		     size_t len1, const void *p2, size_t len2, void *reply,
		     size_t reply_cap, size_t *reply_len_p)
{
	struct sk_hcall *c;
	int64_t result;

	c = sk_node_send(type, flags, p1, len1, p2, len2, false);
	if (c == NULL)
		return -ENOTCONN;
	c->reply = reply;
	c->reply_cap = reply_cap;
	while (!c->done)
		if (sk_loop_run_once(sk_node.loop, -1) < 0)
			break;
	result = c->done ? c->result : -ENOTCONN;
	if (reply_len_p)
		*reply_len_p = c->reply_len;
	c->busy = false;
	sk_node.ncalls--;
	return result;
}

int sk_node_post(uint16_t type, uint16_t flags, const void *p1, size_t len1)
{
	return sk_node_send(type, flags, p1, len1, NULL, 0, true) ? 0 :
								    -ENOTCONN;
}

int sk_node_barrier(void)
{
	int64_t rc;

	/* Every reply first: a file write left behind (file.c) is in the
	 * file before the other nodes pass the barrier. */
	sk_node_drain();
	sk_node.barriers++;
	rc = sk_node_call(SK_HMSG_BARRIER, 0, NULL, 0, NULL, 0, NULL, 0,
			  NULL);
	return rc < 0 ? (int)rc : 0;
}

void sk_node_drain(void)
{
	while (sk_node.ncalls > 0 && !sk_node.down)
		if (sk_loop_run_once(sk_node.loop, -1) < 0)
			break;
}

void sk_node_drain_ms(unsigned ms)
{
	uint64_t end = sk_time_ns() + (uint64_t)ms * 1000000ull;

	while (sk_node.ncalls > 0 && !sk_node.down) {
		uint64_t now = sk_time_ns();

		if (now >= end ||
		    sk_loop_run_once(sk_node.loop,
				     (int)((end - now) / 1000000 + 1)) < 0)
			break;
	}
}

bool sk_os_booted(void)
{
	return sk_node.booted;
}

unsigned sk_os_rank(void)
{
	return sk_node.booted ? sk_node.rank : 0;
}

unsigned sk_os_size(void)
{
	return sk_node.booted ? sk_node.size : 1;
}

uint64_t sk_os_job_id(void)
{
	return sk_node.job_id;
}

struct sk_dev *sk_os_dev(void)
{
	return sk_node.booted ? sk_node.dev : NULL;
}

struct sk_loop *sk_os_loop(void)
{
	return sk_node.booted ? sk_node.loop : NULL;
}

struct sk_arena *sk_os_arena(void)
{
	return sk_node.booted ? sk_node.arena : NULL;
}

bool sk_os_sealed(void)
{
	return sk_node.sealed;
}
