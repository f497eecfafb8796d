/*
 * Connections between nodes, made on first use through the host
 * (hostproto.h has the messages; libos/README.md the flow):
 *
 *   A: sk_os_connect(B, svc)  create an endpoint, CONNECT(B, svc, addr A)
 *   host                      queue it for B; answer B's LISTEN with PEER
 *   B: sk_node_on_peer        create an endpoint, connect it to addr A,
 *                             hand it to svc's owner, ACCEPT(addr B)
 *   host                      reply to A's CONNECT with addr B
 *   A                         connect to addr B; sk_os_connect returns
 *
 * B connects before A hears back, so A's first message never finds B's end
 * unconnected (on RC, B's end may see A's first packet before A's; the
 * transport retries it).
 *
 * A node has at most one CONNECT in flight (sk_peers.conn). When A and B
 * connect to each other at once, whichever first sees the other's request
 * while its own is in flight connects its pending endpoint to it and says
 * MERGED; the host then drops its own request (or, if already delivered,
 * the other side merges too). Either way each side ends with the one
 * endpoint it made, connected to the one the other made.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/config.h>
#include <skiff/os.h>

#include "node.h"
#include "peer.h"

/* The SKIFF_* table this file reads from (skiff/config.h). */
SK_CONFIG_USES(sk_os_config);

_Static_assert(SK_OS_SERVICE_MAX == SK_HSERVICE_MAX,
	       "os.h's services are hostproto's");

/* This node's one CONNECT in flight (at most one at a time: a second
 * sk_os_connect waits for the first). */
struct sk_node_conn {
	bool          active;   /* until the host's reply is in */
	bool          done;     /* connected (or failed): status says */
	bool          waiting;  /* sk_os_connect waits for it */
	unsigned      rank;
	uint16_t      service;
	struct sk_ep *ep;
	sk_status_t   status;
	char          reply[SK_BLOB_MAX];
};

/* An endpoint another node connected to a service nobody listens to yet. */
struct sk_node_parked {
	struct sk_node_parked *next;
	unsigned               rank;
	struct sk_ep          *ep;
};

struct sk_node_service {
	sk_os_accept_func_t    fn;
	void                  *arg;
	struct sk_node_parked *parked;
	bool                   closed; /* listened, then stopped: refuse */
};

#define SK_NODE_FINI_MAX 8
#define SK_NODE_LISTEN_REQ (1ull << 63) /* req_id bit of LISTEN/ACCEPT */

/* The connections of this node, and its finalize hooks. */
static struct {
	struct sk_ep         **ep;      /* [size], libos's own: made on
	                                 * first use */
	struct sk_node_conn    conn;
	struct sk_node_service service[SK_HSERVICE_MAX];
	uint64_t               listen_seq;
	bool                   closing; /* finalizing: accept nothing */
	struct {
		void (*fn)(void *arg);
		void *arg;
	} fini[SK_NODE_FINI_MAX];
	unsigned               nfini;
} sk_peers;

/* Keep @ep as libos's own endpoint to @rank. Its user pointer says whose
 * it is, so that rpc refuses to take it over (sk_rpc_peer_add). */
static void sk_node_peer_set(unsigned rank, struct sk_ep *ep)
{
	sk_ep_set_user(ep, &sk_node);
	sk_peers.ep[rank] = ep;
}

/* ---- LISTEN and ACCEPT ---- */

static void sk_node_send_listen(uint16_t type, const struct sk_hreq_peer *p,
				const void *blob, size_t len)
{
	struct sk_hmsg_hdr h = {.type = type};
	sk_status_t st;

	h.req_id = SK_NODE_LISTEN_REQ | sk_peers.listen_seq++;
	st = sk_chan_send(&sk_node.chan, &h, p, p ? sizeof(*p) : 0, blob,
			  len);
	/* The last slot on each side is kept for this one request, so only
	 * a broken link fails it, which the channel reports. */
	if (st != SK_OK && st != SK_ERR_FLUSHED)
		fprintf(stderr, "skiff: rank %u: cannot send %s to the host: "
				"%s\n",
			sk_node.rank, sk_hmsg_type_str(type),
			sk_status_str(st));
}

static void sk_node_on_peer(const struct sk_hmsg_hdr *h,
			    const void *payload);

int sk_node_peers_init(void)
{
	/* A pointer per rank, filled on first use: 2 KiB at 256 nodes. */
	sk_peers.ep = calloc(sk_node.size, sizeof(*sk_peers.ep));
	return sk_peers.ep ? 0 : -ENOMEM;
}

void sk_node_listen_start(void)
{
	/* The host answers the LISTEN with PEERs: node.c hands them here. */
	sk_node.on_peer = sk_node_on_peer;
	sk_node_send_listen(SK_HMSG_LISTEN, NULL, NULL, 0);
}

/* Whether @service takes a connection from @rank, asked before an
 * endpoint is made (sk_os_accept_func_t). */
static sk_status_t sk_node_admit(unsigned rank, unsigned service)
{
	struct sk_node_service *s = &sk_peers.service[service];

	if (service == 0)
		return SK_OK;
	if (s->closed)
		return SK_ERR_UNREACHABLE;
	if (s->fn != NULL && s->parked == NULL)
		return s->fn(s->arg, rank, NULL);
	return SK_OK; /* parked until someone listens */
}

/* Give an accepted endpoint to its service's owner, or park it. */
static sk_status_t sk_node_hand_over(unsigned rank, unsigned service,
				     struct sk_ep *ep)
{
	struct sk_node_service *s = &sk_peers.service[service];
	struct sk_node_parked *pk, **pp;

	if (service == 0) {
		if (sk_peers.ep[rank] != NULL)
			return SK_ERR_INVAL; /* it has ours already */
		sk_node_peer_set(rank, ep);
		return SK_OK;
	}
	if (s->closed)
		return SK_ERR_UNREACHABLE;
	if (s->fn != NULL && s->parked == NULL)
		return s->fn(s->arg, rank, ep);
	pk = malloc(sizeof(*pk));
	if (pk == NULL)
		return SK_ERR_NOMEM;
	pk->next = NULL;
	pk->rank = rank;
	pk->ep = ep;
	for (pp = &s->parked; *pp; pp = &(*pp)->next)
		;
	*pp = pk;
	return SK_OK;
}

/*
 * Another node connects to this one (PEER, the answer to our LISTEN or
 * ACCEPT). Answer at once with ACCEPT, which is also the next LISTEN.
 */
static void sk_node_on_peer(const struct sk_hmsg_hdr *h,
			    const void *payload)
{
	struct sk_node_conn *c = &sk_peers.conn;
	struct sk_hreq_peer p, a = {0};
	char blob[SK_BLOB_MAX];
	size_t len = sizeof(blob), alen;
	const char *why = NULL;
	struct sk_ep *ep = NULL;
	sk_status_t st = SK_OK;

	if (h->len < sizeof(p) || h->len - sizeof(p) > SK_BLOB_MAX ||
	    !(h->req_id & SK_NODE_LISTEN_REQ)) {
		/* Without a well-formed PEER we cannot even say whom we
		 * refuse: the host's message is broken, not a peer's. */
		fprintf(stderr, "skiff: malformed PEER from the host\n");
		return;
	}
	memcpy(&p, payload, sizeof(p));
	alen = h->len - sizeof(p);
	a.rank = p.rank;
	a.service = p.service;
	if (p.rank >= sk_node.size || p.rank == sk_node.rank ||
	    p.service >= SK_HSERVICE_MAX || alen == 0) {
		why = "a malformed request";
	} else if (sk_peers.closing) {
		why = NULL; /* finishing: refuse quietly */
		st = SK_ERR_UNREACHABLE;
	} else if (c->active && !c->done && c->rank == p.rank &&
		   c->service == p.service) {
		/* We are connecting to each other: one endpoint each. */
		st = sk_ep_connect(c->ep, (const char *)payload + sizeof(p),
				   alen);
		c->done = true;
		c->status = st;
		if (st == SK_OK) {
			ep = c->ep;
			a.flags = SK_HACCEPT_MERGED;
		}
	} else if (p.service == 0 && sk_peers.ep[p.rank] != NULL) {
		why = "a second connection";
	} else if ((st = sk_node_admit(p.rank, p.service)) != SK_OK) {
		why = "its service did not take the connection";
	} else if (sk_node.sealed) {
		why = "it is sealed (SKIFF_SEAL) and makes no new endpoints";
	} else {
		st = sk_ep_create(sk_node.dev, &ep);
		if (st == SK_OK)
			st = sk_ep_connect(ep, (const char *)payload +
						       sizeof(p),
					   alen);
		if (st != SK_OK && ep != NULL) {
			sk_ep_destroy(ep);
			ep = NULL;
		}
	}
	if (ep != NULL && sk_ep_addr_pack(ep, blob, &len) != SK_OK) {
		st = SK_ERR_INVAL;
		if (!(a.flags & SK_HACCEPT_MERGED))
			sk_ep_destroy(ep);
		else
			c->status = st;
		ep = NULL;
	}
	if (ep != NULL && !(a.flags & SK_HACCEPT_MERGED)) {
		st = sk_node_hand_over(p.rank, p.service, ep);
		if (st != SK_OK) {
			sk_ep_destroy(ep);
			ep = NULL;
			why = "its service did not take the connection";
		}
	}
	if (ep == NULL) {
		if (why != NULL || st != SK_ERR_UNREACHABLE)
			fprintf(stderr, "skiff: rank %u refused rank %u "
					"(service %u): %s\n",
				sk_node.rank, p.rank, p.service,
				why ? why : sk_status_str(st));
		a.flags = SK_HACCEPT_REFUSED;
		len = 0;
	}
	sk_node_send_listen(SK_HMSG_ACCEPT, &a, blob, len);
}

/* ---- CONNECT ---- */

static int sk_node_timeout_ms(int timeout_ms)
{
	unsigned long ms;

	if (timeout_ms >= 0)
		return timeout_ms;
	if (sk_config_ulong("SKIFF_BOOT_TIMEOUT_MS", 1, 3600000, &ms) !=
	    SK_OK)
		ms = 60000;
	return (int)ms;
}

/* Wait until no CONNECT of ours is in flight (a callback may ask for a
 * connection while another waits). */
static sk_status_t sk_node_conn_wait(uint64_t end)
{
	while (sk_peers.conn.active) {
		if (sk_node.down)
			return SK_ERR_UNREACHABLE;
		if (sk_time_ns() >= end)
			return SK_ERR_TIMEOUT;
		if (sk_loop_run_once(sk_node.loop, 10) < 0)
			return SK_ERR_IO;
	}
	return sk_node.down ? SK_ERR_UNREACHABLE : SK_OK;
}

static uint64_t sk_node_deadline(int timeout_ms)
{
	return sk_time_ns() +
	       (uint64_t)sk_node_timeout_ms(timeout_ms) * 1000000ull;
}

static sk_status_t sk_node_conn_status(int64_t result)
{
	switch (result) {
	case -ECONNREFUSED: return SK_ERR_UNREACHABLE;
	case -EINVAL:       return SK_ERR_INVAL;
	case -ENOTCONN:     return SK_ERR_UNREACHABLE;
	default:            return SK_ERR_IO;
	}
}

/*
 * The host answered our CONNECT. Usually sk_node_connect still waits and
 * takes the endpoint; if a merge answered it first, or the wait ran out,
 * this reply only ends the CONNECT (an endpoint of libos's own that connects
 * late is kept: the next sk_os_peer finds it).
 */
static void sk_node_conn_on_reply(struct sk_hcall *call)
{
	struct sk_node_conn *c = &sk_peers.conn;

	if (!c->done) {
		if (call->result == 0)
			c->status = sk_ep_connect(c->ep, c->reply,
						  call->reply_len);
		else
			c->status = sk_node_conn_status(call->result);
		c->done = true;
	}
	call->busy = false;
	sk_node.ncalls--;
	if (call->result == 0) {
		/* Our end is up (or failed for good): the other node may
		 * finish now. */
		struct sk_hreq_peer p = {.rank = c->rank,
					 .service = c->service};

		sk_node_post(SK_HMSG_CONNECTED, 0, &p, sizeof(p));
	}
	if (!c->waiting && c->ep != NULL) {
		if (c->status == SK_OK && c->service == 0 &&
		    sk_peers.ep != NULL && sk_peers.ep[c->rank] == NULL)
			sk_node_peer_set(c->rank, c->ep);
		else
			sk_ep_destroy(c->ep);
		c->ep = NULL;
	}
	c->active = false;
}

static sk_status_t sk_node_connect(unsigned rank, unsigned service,
				   uint64_t end, struct sk_ep **ep_p)
{
	struct sk_node_conn *c = &sk_peers.conn;
	struct sk_hreq_peer p = {.rank = rank, .service = (uint16_t)service};
	char blob[SK_BLOB_MAX];
	size_t len = sizeof(blob);
	struct sk_hcall *call;
	struct sk_ep *ep;
	sk_status_t st;

	if (!sk_node.booted || rank >= sk_node.size || rank == sk_node.rank ||
	    service >= SK_HSERVICE_MAX)
		return SK_ERR_INVAL;
	if (sk_peers.closing)
		return SK_ERR_UNREACHABLE; /* finalizing */
	if (sk_node.sealed) {
		/* The provider would need system calls the seal forbids
		 * (UCX attaches the peer's shared memory with open(2)). */
		fprintf(stderr, "skiff: rank %u: no new endpoint to rank %u "
				"for service %u: the node is sealed "
				"(SKIFF_SEAL); only libos's endpoints, made "
				"before sealing, exist\n",
			sk_node.rank, rank, service);
		return SK_ERR_UNSUPPORTED;
	}
	st = sk_node_conn_wait(end);
	if (st != SK_OK)
		return st;
	st = sk_ep_create(sk_node.dev, &ep);
	if (st != SK_OK)
		return st;
	st = sk_ep_addr_pack(ep, blob, &len);
	if (st != SK_OK) {
		sk_ep_destroy(ep);
		return st;
	}
	c->active = true;
	c->done = false;
	c->waiting = true;
	c->rank = rank;
	c->service = (uint16_t)service;
	c->ep = ep;
	c->status = SK_OK;
	call = sk_node_send(SK_HMSG_CONNECT, 0, &p, sizeof(p), blob, len,
			    false);
	if (call == NULL) {
		c->active = false;
		c->ep = NULL;
		sk_ep_destroy(ep);
		return SK_ERR_UNREACHABLE;
	}
	call->reply = c->reply;
	call->reply_cap = sizeof(c->reply);
	call->on_reply = sk_node_conn_on_reply;
	while (!c->done && !sk_node.down) {
		uint64_t now = sk_time_ns();

		if (now >= end)
			break;
		if (sk_loop_run_once(sk_node.loop,
				     (int)((end - now) / 1000000 + 1)) < 0)
			break;
	}
	c->waiting = false;
	if (!c->done) {
		/* The reply, when it comes, disposes of the endpoint. */
		return sk_node.down ? SK_ERR_UNREACHABLE : SK_ERR_TIMEOUT;
	}
	c->ep = NULL;
	if (c->status != SK_OK) {
		sk_ep_destroy(ep);
		return c->status;
	}
	*ep_p = ep;
	return SK_OK;
}

struct sk_ep *sk_os_peer(unsigned rank)
{
	struct sk_ep *ep;
	uint64_t end;

	if (!sk_node.booted || rank >= sk_node.size || rank == sk_node.rank ||
	    sk_peers.ep == NULL)
		return NULL;
	if (sk_peers.ep[rank] != NULL)
		return sk_peers.ep[rank];
	end = sk_node_deadline(-1);
	/* The other node may connect to us while we wait for our turn. */
	if (sk_node_conn_wait(end) != SK_OK)
		return NULL;
	if (sk_peers.ep[rank] != NULL)
		return sk_peers.ep[rank];
	if (sk_node_connect(rank, 0, end, &ep) != SK_OK)
		return NULL;
	sk_node_peer_set(rank, ep);
	return ep;
}

sk_status_t sk_os_connect(unsigned rank, unsigned service, int timeout_ms,
			  struct sk_ep **ep_p)
{
	if (service == 0)
		return SK_ERR_INVAL; /* libos's own: sk_os_peer */
	return sk_node_connect(rank, service, sk_node_deadline(timeout_ms),
			       ep_p);
}

sk_status_t sk_os_listen(unsigned service, sk_os_accept_func_t fn,
			 void *arg)
{
	struct sk_node_service *s;

	if (service == 0 || service >= SK_HSERVICE_MAX)
		return SK_ERR_INVAL;
	s = &sk_peers.service[service];
	s->fn = fn;
	s->arg = arg;
	s->closed = fn == NULL;
	/* Those that waited, in arrival order; fn may stop listening. */
	while (s->fn != NULL && s->parked != NULL) {
		struct sk_node_parked *pk = s->parked;

		s->parked = pk->next;
		if (s->fn(s->arg, pk->rank, NULL) != SK_OK ||
		    s->fn(s->arg, pk->rank, pk->ep) != SK_OK)
			sk_ep_destroy(pk->ep);
		free(pk);
	}
	/* Stopped: those still parked will never be taken. */
	while (s->closed && s->parked != NULL) {
		struct sk_node_parked *pk = s->parked;

		s->parked = pk->next;
		sk_ep_destroy(pk->ep);
		free(pk);
	}
	return SK_OK;
}

int sk_os_barrier(void)
{
	return sk_node.booted ? sk_node_barrier() : 0;
}

/* ---- finalize ---- */

sk_status_t sk_os_at_finalize(void (*fn)(void *arg), void *arg)
{
	if (sk_peers.nfini == SK_NODE_FINI_MAX)
		return SK_ERR_NOMEM;
	sk_peers.fini[sk_peers.nfini].fn = fn;
	sk_peers.fini[sk_peers.nfini].arg = arg;
	sk_peers.nfini++;
	return SK_OK;
}

void sk_os_at_finalize_cancel(void (*fn)(void *arg), void *arg)
{
	unsigned i;

	for (i = sk_peers.nfini; i-- > 0;) {
		if (sk_peers.fini[i].fn == fn && sk_peers.fini[i].arg == arg) {
			memmove(&sk_peers.fini[i], &sk_peers.fini[i + 1],
				(sk_peers.nfini - i - 1) *
					sizeof(sk_peers.fini[0]));
			sk_peers.nfini--;
			return;
		}
	}
}

void sk_node_run_fini(void)
{
	sk_peers.closing = true; /* refuse nodes that connect from now on */
	while (sk_peers.nfini > 0) {
		unsigned i = --sk_peers.nfini;

		sk_peers.fini[i].fn(sk_peers.fini[i].arg);
	}
}

int sk_node_peers_connect_all(void)
{
	unsigned i, j;

	/* Start past our own rank, so that the nodes do not all queue up
	 * at rank 0 at once. */
	for (i = 1; i < sk_node.size; i++) {
		j = (sk_node.rank + i) % sk_node.size;
		/* NULL for a rank that is not a Skiff program: no matter. */
		(void)sk_os_peer(j);
	}
	/* Everyone's endpoints are up before anyone seals. */
	return sk_os_barrier();
}

struct sk_node_flush {
	struct sk_op op;
	unsigned    *left;
};

static void sk_node_flush_done(struct sk_op *op, const struct sk_wc *wc)
{
	(*((struct sk_node_flush *)op)->left)--;
}

/*
 * Before the FINALIZE: every operation posted on libos's endpoints has
 * reached its peer. A provider may still hold a send (UCX, until its
 * wireup with a peer met late is done), and exiting would drop it.
 */
void sk_node_peers_flush(unsigned ms)
{
	uint64_t end = sk_time_ns() + (uint64_t)ms * 1000000ull;
	struct sk_node_flush *f;
	unsigned j, left = 0;

	if (sk_peers.ep == NULL || sk_node.down)
		return;
	f = calloc(sk_node.size, sizeof(*f));
	if (f == NULL)
		return;
	for (j = 0; j < sk_node.size; j++) {
		if (sk_peers.ep[j] == NULL)
			continue;
		f[j].op.done = sk_node_flush_done;
		f[j].left = &left;
		if (sk_ep_flush(sk_peers.ep[j], &f[j].op) == SK_OK)
			left++;
	}
	while (left > 0) {
		uint64_t now = sk_time_ns();

		if (now >= end ||
		    sk_loop_run_once(sk_node.loop,
				     (int)((end - now) / 1000000 + 1)) < 0)
			break;
	}
	if (left > 0) {
		/* Completions still owed point into f: keep it, where the
		 * leak checker sees it is kept on purpose (the node exits). */
		static struct sk_node_flush *volatile kept;

		kept = f;
		(void)kept;
		return;
	}
	free(f);
}

void sk_node_peers_close(void)
{
	unsigned j, s;

	for (s = 0; s < SK_HSERVICE_MAX; s++) {
		while (sk_peers.service[s].parked) {
			struct sk_node_parked *pk = sk_peers.service[s].parked;

			sk_peers.service[s].parked = pk->next;
			sk_ep_destroy(pk->ep);
			free(pk);
		}
	}
	for (j = 0; j < sk_node.size && sk_peers.ep; j++)
		if (sk_peers.ep[j])
			sk_ep_destroy(sk_peers.ep[j]);
	free(sk_peers.ep);
	sk_peers.ep = NULL;
}
