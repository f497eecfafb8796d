/*
 * The rpc workload of the fault walk (tests/faults/walk.sh): two real
 * processes, every kind of call, then the peers go. Built in the fault
 * build (make FAULTS=1), where SKIFF_FAULT_AT makes one operation fail.
 *
 * The client (this program) re-executes itself as the server under the
 * name fault_rpc_srv, so SKIFF_FAULT_PROC can aim at either process. The
 * client: open device, loop, arena and rpc; add the server as a peer; call
 * with a small request (inline, in ordinary memory), a large request
 * (read by the server by RDMA), a large response (written by RDMA), an
 * answer handed over in place, deferred answers out of order, a handler's
 * error and an unknown handler; remove the peer; add a second peer, call
 * it, and leave it to sk_rpc_destroy.
 *
 * Exit status, which the walk reads:
 *   0  everything done and every answer right
 *   1  a clear error: a call failed with a status, said on stderr
 *   3  wrong data: an answer said OK but its bytes or status are wrong
 *   4  no answer in 10 s (a hang the rpc should have ended)
 *   5  the server ended badly (a signal, a sanitizer's report)
 * Anything else (a signal, a sanitizer's report) is a bug.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <skiff/rpc.h>

#include "../lib/rpc_side.h"

enum { H_ECHO = 1, H_DEFER, H_FAIL, H_BIG, H_UNKNOWN = 9 };
enum { CMD_CONNECT = 1, CMD_EXIT };

#define WAIT_MS 10000

static const char *me = "fault_rpc";
/* How long sk_rpc_peer_add waits for the other side's hello. A side that
 * failed before sending it costs this much: rpc has no liveness check
 * before the hello, and UCX's keepalive does not fail an idle endpoint to
 * a process that exited. The walk sets FAULT_RPC_PEER_MS to keep its runs
 * short. */
static int peer_wait_ms = WAIT_MS;

static int fail(const char *what, int st)
{
	fprintf(stderr, "%s: %s: %s\n", me, what,
		st <= 0 && st > -100 ? sk_status_str((sk_status_t)st) :
				       strerror(-st));
	return 1;
}

/* This process's device, loop, arena and rpc; 1 (said why) if one of
 * them cannot be had. */
static int open_side(struct side *s)
{
	const char *what;
	sk_status_t st = side_open(s, 16u << 20, SK_ACCESS_ALL, &what);

	return st == SK_OK ? 0 : fail(what, st);
}

/* Make an endpoint, pair it with the other side's over @sock, add the
 * peer. */
static int peer_pair(struct side *s, int sock, struct sk_rpc_peer **p_p)
{
	struct sk_ep *ep;
	const char *what;
	int err;
	sk_status_t st;

	if ((err = ep_pair_over(s, sock, &ep, &what)) != 0)
		return fail(what, err);
	if ((st = sk_rpc_peer_add(s->rpc, ep, peer_wait_ms, p_p)) != SK_OK)
		return fail("peer add", st); /* the rpc destroyed ep */
	return 0;
}

static int check(const void *buf, size_t len, uint32_t seed)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != (unsigned char)((i * 131 + seed * 7 + (i >> 9)) &
					    0xff))
			return -1;
	return 0;
}

/* ---- the server ---- */

struct deferred {
	struct sk_timer    t;
	struct sk_rpc_req *req;
	uint32_t           tag;
	struct deferred   *next, **prev;
};

static struct sk_loop *srv_loop;
static struct deferred *srv_deferred; /* not answered yet */

static void defer_fire(struct sk_timer *t)
{
	struct deferred *d = (struct deferred *)t;
	void *out = sk_rpc_resp_buf(d->req, sizeof(d->tag));

	if (out != NULL) {
		memcpy(out, &d->tag, sizeof(d->tag));
		sk_rpc_respond(d->req, (int)d->tag, sizeof(d->tag));
	} else {
		sk_rpc_respond(d->req, -ENOMEM, 0);
	}
	*d->prev = d->next;
	if (d->next)
		d->next->prev = d->prev;
	free(d);
}

static void h_defer(struct sk_rpc_req *req, void *arg)
{
	uint32_t in[2];
	size_t len;
	const void *p = sk_rpc_req_data(req, &len);
	struct deferred *d;

	if (len != sizeof(in) || (d = calloc(1, sizeof(*d))) == NULL) {
		sk_rpc_respond(req, -EINVAL, 0);
		return;
	}
	memcpy(in, p, sizeof(in));
	d->req = req;
	d->tag = in[1];
	d->t.cb = defer_fire;
	d->next = srv_deferred;
	d->prev = &srv_deferred;
	if (srv_deferred)
		srv_deferred->prev = &d->next;
	srv_deferred = d;
	sk_timer_start(srv_loop, &d->t, in[0]); /* answered later */
}

struct srv_ctl {
	struct sk_watch w;
	struct side    *s;
	int             done, rc;
};

static void srv_cmd(struct sk_watch *w, unsigned revents)
{
	struct srv_ctl *c = (struct srv_ctl *)w;
	struct sk_rpc_peer *p;
	uint32_t cmd = 0;

	if (recv(w->fd, &cmd, sizeof(cmd), 0) != sizeof(cmd) ||
	    cmd == CMD_EXIT) {
		c->done = 1;
		return;
	}
	if (cmd == CMD_CONNECT && peer_pair(c->s, w->fd, &p) != 0) {
		c->rc = 1;
		c->done = 1;
	}
}

static int server_main(int sock)
{
	struct srv_ctl c = {.w = {.cb = srv_cmd, .fd = sock, .events = POLLIN}};
	struct sk_rpc_peer *p;
	struct side s;

	me = "fault_rpc_srv";
	if (open_side(&s) != 0)
		goto out;
	srv_loop = s.loop;
	c.s = &s;
	if (sk_rpc_register(s.rpc, H_ECHO, sk_test_h_echo, NULL) != SK_OK ||
	    sk_rpc_register(s.rpc, H_DEFER, h_defer, NULL) != SK_OK ||
	    sk_rpc_register(s.rpc, H_FAIL, sk_test_h_fail, NULL) != SK_OK ||
	    sk_rpc_register(s.rpc, H_BIG, sk_test_h_big, NULL) != SK_OK) {
		fail("register", SK_ERR_INVAL);
		goto out;
	}
	if (peer_pair(&s, sock, &p) != 0)
		goto out;
	/* Serve until the client says so, or goes. */
	sk_watch_start(s.loop, &c.w);
	while (!c.done)
		if (sk_loop_run_once(s.loop, 1000) < 0) {
			fail("loop", SK_ERR_IO);
			c.rc = 1;
			break;
		}
	side_close(&s);
	while (srv_deferred) {
		struct deferred *d = srv_deferred;

		srv_deferred = d->next; /* their requests went with the rpc */
		free(d);
	}
	return c.rc;
out:
	side_close(&s);
	return 1;
}

/* ---- the client ---- */

struct call {
	int      done;
	int      status;
	size_t   len;
	uint32_t tag;
	char     inl[256];
};

static void call_cont(void *arg, int status, const void *resp, size_t len)
{
	struct call *c = arg;

	c->done = 1;
	c->status = status;
	c->len = len;
	if (len == sizeof(c->tag))
		memcpy(&c->tag, resp, sizeof(c->tag));
	if (len <= sizeof(c->inl))
		memcpy(c->inl, resp, len);
}

/* Run the loop until @n calls are done, or WAIT_MS. */
static int wait_calls(struct side *s, struct call *c, unsigned n,
		      const char *what)
{
	uint64_t end = sk_time_ns() + (uint64_t)WAIT_MS * 1000000u;
	unsigned i, done;

	for (;;) {
		for (done = 0, i = 0; i < n; i++)
			done += c[i].done;
		if (done == n)
			return 0;
		if (sk_time_ns() > end) {
			fprintf(stderr, "%s: %s: no answer in %d ms\n", me,
				what, WAIT_MS);
			return 4;
		}
		if (sk_loop_run_once(s->loop, 100) < 0)
			return fail(what, SK_ERR_IO);
	}
}

/* One call, waited for. 0 when it ran (status in c->status). */
static int call1(struct side *s, struct sk_rpc_peer *p, uint16_t id,
		 const void *req, size_t len, void *resp, size_t cap,
		 struct call *c, const char *what)
{
	sk_status_t st;

	memset(c, 0, sizeof(*c));
	st = sk_rpc_call(p, id, req, len, resp, cap, call_cont, c);
	if (st != SK_OK)
		return fail(what, st);
	return wait_calls(s, c, 1, what);
}

static int wrong(const char *what)
{
	fprintf(stderr, "%s: %s: WRONG answer\n", me, what);
	return 3;
}

/* The calls on peer @p. */
static int calls(struct side *s, struct sk_rpc_peer *p)
{
	enum { LARGE = 100000, BIG_RESP = 300001, NDEFER = 6 };
	char small[200];
	/* Static: a call that never ended may still end in sk_rpc_destroy. */
	static struct call c, d[NDEFER];
	char *req = NULL, *resp = NULL;
	uint32_t n = BIG_RESP;
	unsigned i, posted;
	int rc;

	/* Inline, from ordinary memory, into ordinary memory. */
	sk_test_rpc_fill(small, sizeof(small), 1);
	rc = call1(s, p, H_ECHO, small, sizeof(small), NULL, 0, &c,
		   "small call");
	if (rc)
		goto out;
	if (c.status < 0) {
		rc = fail("small call", c.status);
		goto out;
	}
	if (c.status != 0 || c.len != sizeof(small) ||
	    memcmp(c.inl, small, c.len) != 0) {
		rc = wrong("small call");
		goto out;
	}

	/* A large request (read by RDMA) and its large echo (written). */
	req = sk_rpc_buf_alloc(s->rpc, LARGE);
	resp = sk_rpc_buf_alloc(s->rpc, BIG_RESP);
	if (req == NULL || resp == NULL) {
		rc = fail("buffers", SK_ERR_NOMEM);
		goto out;
	}
	sk_test_rpc_fill(req, LARGE, 2);
	rc = call1(s, p, H_ECHO, req, LARGE, resp, BIG_RESP, &c,
		   "large call");
	if (rc)
		goto out;
	if (c.status < 0) {
		rc = fail("large call", c.status);
		goto out;
	}
	if (c.len != LARGE || check(resp, LARGE, 2)) {
		rc = wrong("large call");
		goto out;
	}

	/* A small request, a large response. */
	rc = call1(s, p, H_BIG, &n, sizeof(n), resp, BIG_RESP, &c,
		   "large response");
	if (rc)
		goto out;
	if (c.status < 0) {
		rc = fail("large response", c.status);
		goto out;
	}
	if (c.len != BIG_RESP || check(resp, BIG_RESP, BIG_RESP)) {
		rc = wrong("large response");
		goto out;
	}

	/* Deferred answers, later calls answered first. */
	memset(d, 0, sizeof(d));
	for (posted = 0; posted < NDEFER; posted++) {
		uint32_t in[2] = {(NDEFER - posted) * 5, 1000 + posted};
		sk_status_t st = sk_rpc_call(p, H_DEFER, in, sizeof(in), NULL,
					     0, call_cont, &d[posted]);

		if (st != SK_OK) {
			/* Those posted still complete: wait for them. */
			wait_calls(s, d, posted, "deferred calls");
			rc = fail("deferred call", st);
			goto out;
		}
	}
	rc = wait_calls(s, d, NDEFER, "deferred calls");
	if (rc)
		goto out;
	for (i = 0; i < NDEFER; i++) {
		if (d[i].status < 0) {
			rc = fail("deferred call", d[i].status);
			goto out;
		}
		if ((uint32_t)d[i].status != 1000 + i || d[i].tag != 1000 + i) {
			rc = wrong("deferred call");
			goto out;
		}
	}

	/* A handler's error, an unknown handler. */
	rc = call1(s, p, H_FAIL, NULL, 0, NULL, 0, &c, "failing call");
	if (rc)
		goto out;
	if (c.status != -EIO) {
		rc = c.status == -ECONNRESET ? fail("failing call", c.status) :
					       wrong("failing call");
		goto out;
	}
	rc = call1(s, p, H_UNKNOWN, NULL, 0, NULL, 0, &c, "unknown handler");
	if (rc)
		goto out;
	if (c.status != -ENOENT)
		rc = c.status == -ECONNRESET ?
			     fail("unknown handler", c.status) :
			     wrong("unknown handler");
out:
	if (req)
		sk_rpc_buf_free(s->rpc, req);
	if (resp)
		sk_rpc_buf_free(s->rpc, resp);
	return rc;
}

static int client_main(int sock, pid_t srv)
{
	uint32_t cmd;
	static struct call c; /* as in calls() */
	struct sk_rpc_peer *p = NULL;
	struct side s;
	int rc, status;
	uint64_t end;

	rc = open_side(&s);
	if (rc)
		goto out;
	rc = peer_pair(&s, sock, &p);
	if (rc)
		goto out;
	rc = calls(&s, p);
	if (rc)
		goto out;
	sk_rpc_peer_remove(p);

	/* A second peer, called, then left to sk_rpc_destroy. */
	cmd = CMD_CONNECT;
	if (send(sock, &cmd, sizeof(cmd), MSG_NOSIGNAL) != sizeof(cmd)) {
		rc = fail("ask for a second connection", -errno);
		goto out;
	}
	rc = peer_pair(&s, sock, &p);
	if (rc)
		goto out;
	rc = call1(&s, p, H_ECHO, "again", 5, NULL, 0, &c, "second peer");
	if (rc)
		goto out;
	if (c.status < 0)
		rc = fail("second peer", c.status);
	else if (c.len != 5 || memcmp(c.inl, "again", 5) != 0)
		rc = wrong("second peer");
out:
	side_close(&s);
	cmd = CMD_EXIT;
	send(sock, &cmd, sizeof(cmd), MSG_NOSIGNAL);
	close(sock);
	/* After a success the server ends at once. After a failure it
	 * may wait in its sk_rpc_peer_add for a hello that will not come
	 * (this process is alive: no keepalive says it went), up to
	 * WAIT_MS; its own faults are walked by themselves. */
	end = sk_time_ns() + (rc ? 500ull : WAIT_MS + 5000ull) * 1000000u;
	while (waitpid(srv, &status, WNOHANG) == 0) {
		if (sk_time_ns() > end) {
			kill(srv, SIGKILL);
			waitpid(srv, &status, 0);
			if (rc)
				return rc;
			fprintf(stderr, "%s: the server did not exit\n", me);
			return 5;
		}
		usleep(10000);
	}
	if (WIFSIGNALED(status) ||
	    (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 1)) {
		/* The server's bug, found by a fault in either process. */
		fprintf(stderr, "%s: the server ended badly (status 0x%x)\n",
			me, status);
		return 5;
	}
	if (rc == 0 && WEXITSTATUS(status) != 0) {
		fprintf(stderr, "%s: the server failed, the client did not "
				"notice\n", me);
		return 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	int sv[2];
	pid_t pid;

	if (getenv("FAULT_RPC_PEER_MS"))
		peer_wait_ms = atoi(getenv("FAULT_RPC_PEER_MS"));
	if (peer_wait_ms <= 0)
		peer_wait_ms = WAIT_MS;
	if (argc == 3 && strcmp(argv[1], "--server") == 0)
		return server_main(atoi(argv[2]));
	if (argc != 1) {
		fprintf(stderr, "usage: fault_rpc (no arguments)\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) != 0) {
		perror("fault_rpc: socketpair");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fault_rpc: fork");
		return 1;
	}
	if (pid == 0) {
		char fd[16];

		close(sv[0]);
		snprintf(fd, sizeof(fd), "%d", sv[1]);
		/* Its own name, for SKIFF_FAULT_PROC. */
		execl("/proc/self/exe", "fault_rpc_srv", "--server", fd,
		      (char *)NULL);
		perror("fault_rpc: exec the server");
		_exit(127);
	}
	close(sv[1]);
	return client_main(sv[0], pid);
}
