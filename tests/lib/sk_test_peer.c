/*
 * The test peer: a forked process with its own Skiff device that serves
 * commands from the test over a socketpair (see sk_test_peer.h). It sleeps
 * on its completion channel and the socket together, so an idle peer costs
 * no CPU, and it keeps progressing its device while it waits for commands
 * (the ucx provider over TCP needs the target to progress).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sk_test_peer.h"

#define PEER_MAX 64

struct peer_region {
	void *buf;
	uint64_t size;
	struct sk_mr *mr;
	int owned_by_dev; /* sk_mr_alloc's: the device frees it at close */
};

struct peer_recv {
	void *buf;
	uint64_t size;
	int watch; /* region id, or -1 */
};

struct peer_state {
	int sock;
	struct sk_dev *dev;
	struct peer_region regions[PEER_MAX];
	struct sk_ep *eps[PEER_MAX];
	struct peer_recv recvs[SK_TEST_MAX_RECVS * 4];
	unsigned nrecvs;
	struct sk_test_recv seen[SK_TEST_MAX_RECVS * 4];
	unsigned nseen;
	void *rbuf;       /* receive pool */
	struct sk_mr *rmr;
	uint64_t rbuf_size;
	int alloc_mode;   /* SK_TEST_PEER_MEM=alloc */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sk_test_fill(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

uint64_t sk_test_cksum(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

int sk_test_wait(struct sk_dev *dev, struct sk_wc *wc, int n, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int got = 0;

	while (got < n) {
		int left = (int)(deadline - now_ms());
		int r;

		if (left <= 0)
			break;
		r = sk_dev_wait(dev, wc + got, n - got, left);
		if (r < 0)
			break;
		got += r;
	}
	return got;
}

/* ---- the peer process ---- */

static void peer_record(struct peer_state *s, const struct sk_wc *wc)
{
	struct sk_test_recv *r;
	const struct peer_recv *pr = wc->ctx;

	if (wc->opcode != SK_OP_RECV && wc->opcode != SK_OP_RECV_IMM)
		return;
	if (s->nseen == SK_TEST_MAX_RECVS * 4)
		return;
	r = &s->seen[s->nseen++];
	r->status = wc->status;
	r->opcode = wc->opcode;
	r->byte_len = wc->byte_len;
	r->imm = wc->imm;
	r->cksum = 0;
	if (wc->status != SK_OK || pr == NULL)
		return;
	if (wc->opcode == SK_OP_RECV && wc->byte_len <= pr->size)
		r->cksum = sk_test_cksum(pr->buf, wc->byte_len);
	else if (wc->opcode == SK_OP_RECV_IMM && pr->watch >= 0 &&
		 s->regions[pr->watch].buf &&
		 wc->byte_len <= s->regions[pr->watch].size)
		r->cksum = sk_test_cksum(s->regions[pr->watch].buf,
					 wc->byte_len);
}

static void peer_progress(struct peer_state *s)
{
	struct sk_wc wc[32];
	int n;

	while ((n = sk_dev_poll(s->dev, wc, 32)) > 0)
		for (int i = 0; i < n; i++)
			peer_record(s, &wc[i]);
}

static int peer_slot(void **arr, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (arr[i] == NULL)
			return (int)i;
	return -1;
}

static void peer_reg(struct peer_state *s, struct sk_test_msg *m)
{
	struct peer_region *r;
	size_t len = sizeof(m->blob);
	int id;

	for (id = 0; id < PEER_MAX; id++)
		if (s->regions[id].buf == NULL)
			break;
	if (id == PEER_MAX || m->a == 0) {
		m->status = SK_ERR_NOMEM;
		return;
	}
	r = &s->regions[id];
	r->size = m->a;
	if (s->alloc_mode) {
		/* SK_TEST_PEER_MEM=alloc: the provider's memory (verbs.h,
		 * sk_mr_alloc), which a ucx initiator on this host copies
		 * directly. Stays mapped after DEREG, for the checks. */
		m->status = sk_mr_alloc(s->dev, r->size, m->aux, &r->mr);
		if (m->status != SK_OK)
			return;
		r->buf = sk_mr_addr(r->mr);
		r->owned_by_dev = 1;
		sk_test_fill(r->buf, r->size, m->b);
		m->status = sk_mr_pack(r->mr, m->blob, &len);
		if (m->status != SK_OK) {
			sk_mr_dereg(r->mr);
			r->mr = NULL;
			r->buf = NULL;
			return;
		}
	} else {
		if (posix_memalign(&r->buf, 4096, m->a)) {
			r->buf = NULL;
			m->status = SK_ERR_NOMEM;
			return;
		}
		sk_test_fill(r->buf, r->size, m->b);
		m->status = sk_mr_reg(s->dev, r->buf, r->size, m->aux,
				      &r->mr);
		if (m->status == SK_OK)
			m->status = sk_mr_pack(r->mr, m->blob, &len);
		if (m->status != SK_OK) {
			free(r->buf);
			r->buf = NULL;
			return;
		}
	}
	m->blob_len = (uint32_t)len;
	m->id = (uint32_t)id;
}

static struct peer_region *peer_region(struct peer_state *s, uint32_t id)
{
	return id < PEER_MAX && s->regions[id].buf ? &s->regions[id] : NULL;
}

static void peer_connect(struct peer_state *s, struct sk_test_msg *m)
{
	size_t len = sizeof(m->blob);
	struct sk_ep *ep;
	int id = peer_slot((void **)s->eps, PEER_MAX);

	if (id < 0) {
		m->status = SK_ERR_NOMEM;
		return;
	}
	m->status = sk_ep_create(s->dev, &ep);
	if (m->status != SK_OK)
		return;
	m->status = sk_ep_connect(ep, m->blob, m->blob_len);
	if (m->status == SK_OK)
		m->status = sk_ep_addr_pack(ep, m->blob, &len);
	if (m->status != SK_OK) {
		sk_ep_destroy(ep);
		return;
	}
	s->eps[id] = ep;
	m->id = (uint32_t)id;
	m->blob_len = (uint32_t)len;
}

static void peer_ep_create(struct peer_state *s, struct sk_test_msg *m)
{
	size_t len = sizeof(m->blob);
	int id = peer_slot((void **)s->eps, PEER_MAX);

	if (id < 0) {
		m->status = SK_ERR_NOMEM;
		return;
	}
	m->status = sk_ep_create(s->dev, &s->eps[id]);
	if (m->status != SK_OK) {
		s->eps[id] = NULL;
		return;
	}
	m->status = sk_ep_addr_pack(s->eps[id], m->blob, &len);
	m->blob_len = (uint32_t)len;
	m->id = (uint32_t)id;
}

static void peer_ep_connect(struct peer_state *s, struct sk_test_msg *m)
{
	struct sk_ep *ep = m->id < PEER_MAX ? s->eps[m->id] : NULL;

	m->status = ep ? sk_ep_connect(ep, m->blob, m->blob_len)
		       : SK_ERR_INVAL;
}

static void peer_post_recvs(struct peer_state *s, struct sk_test_msg *m)
{
	struct sk_ep *ep = m->id < PEER_MAX ? s->eps[m->id] : NULL;
	uint64_t need = (uint64_t)m->aux * m->a;

	if (ep == NULL || m->aux == 0 ||
	    s->nrecvs + m->aux > SK_TEST_MAX_RECVS * 4) {
		m->status = SK_ERR_INVAL;
		return;
	}
	if (s->rbuf == NULL) {
		s->rbuf_size = 64ull << 20;
		if (posix_memalign(&s->rbuf, 4096, s->rbuf_size) ||
		    sk_mr_reg(s->dev, s->rbuf, s->rbuf_size, SK_ACCESS_LOCAL,
			      &s->rmr) != SK_OK) {
			m->status = SK_ERR_NOMEM;
			return;
		}
	}
	if (need > s->rbuf_size) {
		m->status = SK_ERR_NOMEM;
		return;
	}
	/* Each batch reuses the pool from its start: tests post a batch,
	 * wait for it, then post the next. */
	for (unsigned i = 0; i < m->aux; i++) {
		struct peer_recv *pr = &s->recvs[s->nrecvs++ %
						 (SK_TEST_MAX_RECVS * 4)];

		pr->buf = (char *)s->rbuf + i * m->a;
		pr->size = m->a;
		pr->watch = (int)m->b;
		m->status = sk_post_recv(ep, s->rmr, pr->buf, m->a, pr);
		if (m->status != SK_OK)
			return;
	}
	s->nrecvs %= SK_TEST_MAX_RECVS * 4;
	m->status = SK_OK;
}

static void peer_wait_recvs(struct peer_state *s, struct sk_test_msg *m)
{
	int64_t deadline = now_ms() + (int64_t)m->a;
	unsigned want = m->aux > SK_TEST_MAX_RECVS ? SK_TEST_MAX_RECVS : m->aux;
	struct {
		struct sk_test_msg hdr;
		struct sk_test_recv r[SK_TEST_MAX_RECVS];
	} *rep = calloc(1, sizeof(*rep));

	if (rep == NULL) {
		m->status = SK_ERR_NOMEM;
		return;
	}
	while (s->nseen < want && now_ms() < deadline) {
		struct sk_wc wc[32];
		int n = sk_dev_wait(s->dev, wc, 32,
				    (int)(deadline - now_ms()));

		for (int i = 0; i < n; i++)
			peer_record(s, &wc[i]);
	}
	rep->hdr = *m;
	rep->hdr.aux = s->nseen < want ? s->nseen : want;
	rep->hdr.status = SK_OK;
	memcpy(rep->r, s->seen, rep->hdr.aux * sizeof(rep->r[0]));
	memmove(s->seen, s->seen + rep->hdr.aux,
		(s->nseen - rep->hdr.aux) * sizeof(s->seen[0]));
	s->nseen -= rep->hdr.aux;
	if (send(s->sock, rep, sizeof(*rep), 0) < 0)
		_exit(3);
	free(rep);
	m->cmd = 0; /* replied already */
}

static void peer_send(struct peer_state *s, struct sk_test_msg *m)
{
	struct sk_ep *ep = m->id < PEER_MAX ? s->eps[m->id] : NULL;
	struct sk_mr *mr;
	struct sk_wc wc[16];
	void *buf;
	unsigned done = 0;

	if (ep == NULL || m->a == 0 || posix_memalign(&buf, 4096, m->a)) {
		m->status = SK_ERR_INVAL;
		return;
	}
	sk_test_fill(buf, m->a, m->b);
	m->status = sk_mr_reg(s->dev, buf, m->a, SK_ACCESS_LOCAL, &mr);
	if (m->status != SK_OK) {
		free(buf);
		return;
	}
	for (unsigned i = 0; i < m->aux && m->status == SK_OK; i++)
		m->status = sk_post_send(ep, mr, buf, m->a, 0, NULL);
	while (done < m->aux && m->status == SK_OK) {
		int n = sk_dev_wait(s->dev, wc, 16, 10000);

		if (n <= 0) {
			m->status = SK_ERR_TIMEOUT;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (wc[i].opcode == SK_OP_SEND) {
				done++;
				if (wc[i].status != SK_OK)
					m->status = wc[i].status;
			} else {
				peer_record(s, &wc[i]);
			}
		}
	}
	sk_mr_dereg(mr);
	free(buf);
}

/* What an operation against a descriptor on one endpoint needs: @m's
 * endpoint, its key unpacked, and a local buffer of @size bytes aligned to
 * @align, registered. Returns 0, or -1 with m->status set and nothing
 * held. */
static int peer_op_begin(struct peer_state *s, struct sk_test_msg *m,
			 size_t size, size_t align, struct sk_ep **ep_p,
			 void **buf_p, struct sk_mr **mr_p,
			 struct sk_rkey **rkey_p)
{
	struct sk_ep *ep = m->id < PEER_MAX ? s->eps[m->id] : NULL;

	if (ep == NULL || posix_memalign(buf_p, align, size)) {
		m->status = SK_ERR_INVAL;
		return -1;
	}
	m->status = sk_rkey_unpack(ep, m->blob, m->blob_len, rkey_p);
	if (m->status != SK_OK)
		goto out_free;
	m->status = sk_mr_reg(s->dev, *buf_p, size, SK_ACCESS_LOCAL, mr_p);
	if (m->status != SK_OK)
		goto out_rkey;
	*ep_p = ep;
	return 0;

out_rkey:
	sk_rkey_destroy(*rkey_p);
out_free:
	free(*buf_p);
	return -1;
}

static void peer_op_end(void *buf, struct sk_mr *mr, struct sk_rkey *rkey)
{
	sk_mr_dereg(mr);
	sk_rkey_destroy(rkey);
	free(buf);
}

/* After a post that returned @st: wait for its one completion. Returns 0
 * with its status in m->status, or -1 if there is none (the post failed,
 * or SK_ERR_TIMEOUT), with m->status saying which. */
static int peer_op_wait(struct peer_state *s, struct sk_test_msg *m,
			sk_status_t st)
{
	struct sk_wc wc;

	m->status = st;
	if (st != SK_OK)
		return -1;
	if (sk_test_wait(s->dev, &wc, 1, 10000) != 1) {
		m->status = SK_ERR_TIMEOUT;
		return -1;
	}
	m->status = wc.status;
	return 0;
}

/* Run @count atomics against a descriptor on one endpoint, one at a time:
 * FADD +1, or a compare-and-swap increment loop. c = successes. */
static void peer_atomics(struct peer_state *s, struct sk_test_msg *m)
{
	struct sk_ep *ep;
	struct sk_rkey *rkey;
	struct sk_mr *mr;
	uint64_t *res, guess = 0, ok = 0;
	void *buf;

	if (peer_op_begin(s, m, 64, 64, &ep, &buf, &mr, &rkey))
		return;
	res = buf;
	for (uint64_t i = 0; i < m->a && m->status == SK_OK;) {
		sk_status_t st;

		if (m->aux == SK_TEST_FADD)
			st = sk_post_fadd(ep, mr, res, rkey,
					  sk_rkey_addr(rkey), 1, 0, NULL);
		else
			st = sk_post_cas(ep, mr, res, rkey, sk_rkey_addr(rkey),
					 guess, guess + 1, 0, NULL);
		if (peer_op_wait(s, m, st))
			break;
		if (m->aux == SK_TEST_FADD || *res == guess) {
			ok++;
			i++;
			guess++;
		} else {
			guess = *res; /* lost the race: retry from its value */
		}
	}
	m->c = ok;
	peer_op_end(buf, mr, rkey);
}

/* What a hostile peer does with a key: write over everything it covers,
 * and past it. Each 4 KiB write is waited for, so c counts what landed. */
static void peer_scribble(struct peer_state *s, struct sk_test_msg *m)
{
	enum { CHUNK = 4096 };
	struct sk_ep *ep;
	struct sk_rkey *rkey;
	struct sk_mr *mr;
	uint64_t done = 0;
	void *buf;

	m->c = 0;
	if (peer_op_begin(s, m, CHUNK, 4096, &ep, &buf, &mr, &rkey))
		return;
	while (done < m->b) {
		uint64_t len = m->b - done < CHUNK ? m->b - done : CHUNK;

		sk_test_fill(buf, len, m->aux + done);
		if (peer_op_wait(s, m,
				 sk_post_write(ep, mr, buf, len, rkey,
					       sk_rkey_addr(rkey) + m->a +
						       done,
					       0, NULL)) ||
		    m->status != SK_OK)
			break;
		done += len;
	}
	m->c = done;
	peer_op_end(buf, mr, rkey);
}

static void peer_cleanup(struct peer_state *s)
{
	for (int i = 0; i < PEER_MAX; i++)
		if (s->eps[i])
			sk_ep_destroy(s->eps[i]);
	for (int i = 0; i < PEER_MAX; i++) {
		if (s->regions[i].mr)
			sk_mr_dereg(s->regions[i].mr);
		if (!s->regions[i].owned_by_dev)
			free(s->regions[i].buf);
	}
	if (s->rmr)
		sk_mr_dereg(s->rmr);
	free(s->rbuf);
	sk_dev_close(s->dev);
}

static void peer_handle(struct peer_state *s, struct sk_test_msg *m)
{
	struct peer_region *r;

	m->status = SK_OK;
	switch (m->cmd) {
	case SK_TEST_REG:
		peer_reg(s, m);
		break;
	case SK_TEST_DEREG:
		r = peer_region(s, m->id);
		if (r && r->mr) {
			sk_mr_dereg(r->mr);
			r->mr = NULL;
		} else {
			m->status = SK_ERR_INVAL;
		}
		break;
	case SK_TEST_CKSUM:
		r = peer_region(s, m->id);
		if (r == NULL || m->a > r->size || m->b > r->size - m->a)
			m->status = SK_ERR_INVAL;
		else
			m->c = sk_test_cksum((char *)r->buf + m->a, m->b);
		break;
	case SK_TEST_FILL:
		r = peer_region(s, m->id);
		if (r)
			sk_test_fill(r->buf, r->size, m->b);
		else
			m->status = SK_ERR_INVAL;
		break;
	case SK_TEST_CONNECT:
		peer_connect(s, m);
		break;
	case SK_TEST_EP_CREATE:
		peer_ep_create(s, m);
		break;
	case SK_TEST_EP_CONNECT:
		peer_ep_connect(s, m);
		break;
	case SK_TEST_POST_RECVS:
		peer_post_recvs(s, m);
		break;
	case SK_TEST_WAIT_RECVS:
		peer_wait_recvs(s, m);
		return;
	case SK_TEST_SEND:
		peer_send(s, m);
		break;
	case SK_TEST_ATOMICS:
		peer_atomics(s, m);
		break;
	case SK_TEST_SCRIBBLE:
		peer_scribble(s, m);
		break;
	default:
		m->status = SK_ERR_INVAL;
		break;
	}
}

static void peer_main(int sock)
{
	struct peer_state *s = calloc(1, sizeof(*s));
	struct sk_test_msg *m = calloc(1, sizeof(*m));

	if (s == NULL || m == NULL)
		_exit(2);
	s->sock = sock;
	s->alloc_mode = getenv("SK_TEST_PEER_MEM") &&
			strcmp(getenv("SK_TEST_PEER_MEM"), "alloc") == 0;
	if (sk_dev_open(NULL, NULL, &s->dev) != SK_OK)
		_exit(2);
	for (;;) {
		struct pollfd pfd[2] = {
			{.fd = sock, .events = POLLIN},
			{.fd = sk_dev_fd(s->dev), .events = POLLIN},
		};
		ssize_t n;

		peer_progress(s);
		/* Sleep only when the device is armed; look at the socket
		 * either way, so commands are never starved. */
		if (poll(pfd, 2, sk_dev_arm(s->dev) == SK_OK ? 1000 : 0) < 0 &&
		    errno != EINTR)
			_exit(3);
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = recv(sock, m, sizeof(*m), 0);
		if (n <= 0)
			break; /* the test is gone */
		if (m->cmd == SK_TEST_EXIT)
			break;
		peer_handle(s, m);
		if (m->cmd && send(sock, m, sizeof(*m), 0) < 0)
			break;
	}
	peer_cleanup(s);
	free(m);
	free(s);
	_exit(0);
}

int sk_test_peer_start(struct sk_test_peer *p)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -1;
	fflush(NULL);
	p->pid = fork();
	if (p->pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (p->pid == 0) {
		close(sv[0]);
		peer_main(sv[1]);
	}
	close(sv[1]);
	p->sock = sv[0];
	return 0;
}

int sk_test_peer_send(struct sk_test_peer *p, const struct sk_test_msg *msg)
{
	return send(p->sock, msg, sizeof(*msg), MSG_NOSIGNAL) ==
			       (ssize_t)sizeof(*msg)
		       ? 0 : SK_ERR_IO;
}

/* Wait for the peer's reply, progressing our side meanwhile. */
static void peer_await(struct sk_test_peer *p)
{
	struct pollfd pfd = {.fd = p->sock, .events = POLLIN};

	while (p->idle && poll(&pfd, 1, 0) == 0) {
		p->idle(p->idle_arg);
		if (poll(&pfd, 1, 1) != 0)
			break;
	}
}

int sk_test_peer_reply(struct sk_test_peer *p, struct sk_test_msg *msg)
{
	peer_await(p);
	if (recv(p->sock, msg, sizeof(*msg), 0) != (ssize_t)sizeof(*msg))
		return SK_ERR_IO;
	return msg->status;
}

int sk_test_peer_call(struct sk_test_peer *p, struct sk_test_msg *msg)
{
	if (sk_test_peer_send(p, msg))
		return SK_ERR_IO;
	return sk_test_peer_reply(p, msg);
}

int sk_test_peer_wait_recvs(struct sk_test_peer *p, unsigned count,
			    int timeout_ms, struct sk_test_recv *out,
			    unsigned max)
{
	struct {
		struct sk_test_msg hdr;
		struct sk_test_recv r[SK_TEST_MAX_RECVS];
	} *rep = calloc(1, sizeof(*rep));
	struct sk_test_msg m = {.cmd = SK_TEST_WAIT_RECVS, .aux = count,
				.a = (uint64_t)timeout_ms};
	int n = SK_ERR_IO;

	if (rep == NULL)
		return SK_ERR_NOMEM;
	if (sk_test_peer_send(p, &m) == 0 && (peer_await(p), 1) &&
	    recv(p->sock, rep, sizeof(*rep), 0) == (ssize_t)sizeof(*rep)) {
		n = (int)(rep->hdr.aux < max ? rep->hdr.aux : max);
		memcpy(out, rep->r, (size_t)n * sizeof(*out));
	}
	free(rep);
	return n;
}

int sk_test_peer_connect(struct sk_test_peer *p, struct sk_ep *ep)
{
	struct sk_test_msg m = {.cmd = SK_TEST_CONNECT};
	size_t len = sizeof(m.blob);
	int st;

	st = sk_ep_addr_pack(ep, m.blob, &len);
	if (st != SK_OK)
		return st;
	m.blob_len = (uint32_t)len;
	st = sk_test_peer_call(p, &m);
	if (st != SK_OK)
		return st;
	st = sk_ep_connect(ep, m.blob, m.blob_len);
	return st == SK_OK ? (int)m.id : st;
}

int sk_test_peers_connect(struct sk_test_peer *a, struct sk_test_peer *b,
			  int *a_ep, int *b_ep)
{
	struct sk_test_msg ma = {.cmd = SK_TEST_EP_CREATE};
	struct sk_test_msg mb = {.cmd = SK_TEST_CONNECT};
	int st;

	st = sk_test_peer_call(a, &ma);
	if (st != SK_OK)
		return st;
	memcpy(mb.blob, ma.blob, ma.blob_len);
	mb.blob_len = ma.blob_len;
	st = sk_test_peer_call(b, &mb);
	if (st != SK_OK)
		return st;
	ma.cmd = SK_TEST_EP_CONNECT;
	memcpy(ma.blob, mb.blob, mb.blob_len);
	ma.blob_len = mb.blob_len;
	st = sk_test_peer_call(a, &ma);
	if (st != SK_OK)
		return st;
	*a_ep = (int)ma.id;
	*b_ep = (int)mb.id;
	return 0;
}

int sk_test_peer_reg(struct sk_test_peer *p, struct sk_ep *ep, uint64_t size,
		     unsigned access, uint64_t seed, struct sk_rkey **rkey_p,
		     struct sk_test_msg *blob)
{
	struct sk_test_msg m = {.cmd = SK_TEST_REG, .a = size, .aux = access,
				.b = seed};
	int st = sk_test_peer_call(p, &m);

	if (st != SK_OK)
		return st;
	if (blob)
		*blob = m;
	if (rkey_p) {
		st = sk_rkey_unpack(ep, m.blob, m.blob_len, rkey_p);
		if (st != SK_OK)
			return st;
	}
	return (int)m.id;
}

uint64_t sk_test_peer_cksum(struct sk_test_peer *p, uint32_t id,
			    uint64_t off, uint64_t len, int *ok)
{
	struct sk_test_msg m = {.cmd = SK_TEST_CKSUM, .id = id, .a = off,
				.b = len};

	*ok = sk_test_peer_call(p, &m) == SK_OK;
	return *ok ? m.c : 0;
}

int sk_test_peer_stop(struct sk_test_peer *p, int timeout_ms)
{
	struct sk_test_msg m = {.cmd = SK_TEST_EXIT};
	int64_t deadline = now_ms() + timeout_ms;
	int status = -1;

	if (p->pid <= 0)
		return -1;
	sk_test_peer_send(p, &m);
	close(p->sock);
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid || (r < 0 && errno != EINTR))
			break;
		if (now_ms() > deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			break;
		}
		usleep(1000);
	}
	p->pid = 0;
	return status;
}
