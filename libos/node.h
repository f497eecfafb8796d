/*
 * Private to libos: the node's state and its calls to the host.
 */
#ifndef SKIFF_LIBOS_NODE_H
#define SKIFF_LIBOS_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <skiff/arena.h>
#include <skiff/chan.h>
#include <skiff/hostproto.h>
#include <skiff/loop.h>
#include <skiff/os.h>
#include <skiff/verbs.h>

/* One request to the host, waiting for its reply. */
struct sk_hcall {
	bool     busy;
	bool     done;
	bool     async;    /* nobody waits: the reply only frees the call */
	uint64_t req_id;
	int64_t  result;
	void    *reply;    /* where the reply's payload goes */
	size_t   reply_cap;
	size_t   reply_len;
	/* Called when the reply is in (or the link failed), instead of a
	 * waiter: it must clear ->busy and count the call out. */
	void   (*on_reply)(struct sk_hcall *c);
};

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

struct sk_node {
	bool             booted;
	bool             sealed;
	bool             down;     /* finalized or the host link failed */
	unsigned         rank, size;
	uint64_t         job_id;
	struct sk_dev   *dev;
	struct sk_loop  *loop;
	struct sk_arena *arena;
	struct sk_ep    *host_ep;
	struct sk_ep   **peers;    /* [size], libos's own: made on first use */
	struct sk_chan   chan;
	struct sk_hcall  calls[SK_HMSG_CALL_SLOTS];
	unsigned         ncalls;   /* busy calls */
	uint64_t         next_req;
	char            *bounce;   /* SK_HMSG_BULK_MAX bytes: bounce_region */
	struct sk_region bounce_region; /* the host reads and writes it */

	/* connections between nodes (peer.c) */
	struct sk_node_conn    conn;
	struct sk_node_service service[SK_HSERVICE_MAX];
	uint64_t               listen_seq;
	bool                   closing;  /* finalizing: accept nothing */
	struct {
		void (*fn)(void *arg);
		void *arg;
	} fini[SK_NODE_FINI_MAX];
	unsigned               nfini;
};

extern struct sk_node sk_node;

/*
 * Send a request and wait for its reply: the reply's payload (at most
 * @reply_cap bytes) lands in @reply, its length in *@reply_len_p (may be
 * NULL). Returns the reply's result (>= 0, or a negated errno), or
 * -ENOTCONN when the host link is down, -EIO when the reply was malformed.
 */
int64_t sk_node_call(uint16_t type, uint16_t flags, const void *p1,
		     size_t len1, const void *p2, size_t len2, void *reply,
		     size_t reply_cap, size_t *reply_len_p);
/* The host channel's callbacks (node.c). */
bool sk_node_on_msg(struct sk_chan *chan, void *msg, size_t len);
void sk_node_on_error(struct sk_chan *chan, sk_status_t st);

/* Send a request and return its call (NULL when the link is down): wait
 * for ->done by running the loop, then clear ->busy and count it out of
 * sk_node.ncalls (sk_node_call does). An @async call frees itself. */
struct sk_hcall *sk_node_send(uint16_t type, uint16_t flags, const void *p1,
			      size_t len1, const void *p2, size_t len2,
			      bool async);
/* Send a request whose reply nobody waits for (console output). Returns
 * 0 or -ENOTCONN. */
int sk_node_post(uint16_t type, uint16_t flags, const void *p1, size_t len1);
/* Wait until every request sent so far has its reply. */
void sk_node_drain(void);
/* The same, for at most @ms milliseconds (crash paths). */
void sk_node_drain_ms(unsigned ms);

/* peer.c: the LISTEN after boot, a PEER from the host, and teardown. */
void sk_node_listen_start(void);
void sk_node_on_peer(const struct sk_hmsg_hdr *h, const void *payload);
void sk_node_peers_flush(unsigned ms);
/* Sealed mode: libos's endpoint to every node, then a barrier. 0 or a
 * negated errno. */
int sk_node_peers_connect_all(void);
void sk_node_peers_close(void);
void sk_node_run_fini(void);

/* console.c */
void sk_console_install(void);
void sk_console_flush(void);
/* seal.c */
int sk_seal(void);

#endif /* SKIFF_LIBOS_NODE_H */
