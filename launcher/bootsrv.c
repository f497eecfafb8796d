/*
 * The host's side of the bootstrap (hostproto.h, part 1): a TCP listener
 * that takes one hello per node, checks the job secret, connects the
 * host's endpoint for that node and answers at once with its address. Each
 * node's exchange is two messages of O(1) size, whatever the job's size.
 *
 * Everything read here comes from whoever can reach the port, so a
 * connection is bounded in size and time, and refused with a reason (bad
 * secret, bad or duplicate rank, malformed) without disturbing the job.
 * No connection can hold up another: each is read as its bytes come, by
 * the loop, and one that is silent or trickles is closed when a node's
 * own wait for its welcome (SKIFF_BOOT_TIMEOUT_MS) would have ended. When
 * too many are open, the oldest goes: a node sends its whole hello as it
 * connects, so the oldest still waiting for one is the least likely to be
 * a node.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <skiff/config.h>

#include "job.h"

struct sk_bconn {
	struct sk_bconn *prev, *next; /* open connections, oldest first */
	struct sk_job  *job;
	int             fd;
	char            peer[64];
	char           *buf;
	size_t          len, cap;
	struct sk_watch w;
	struct sk_timer t;
};

static unsigned sk_bconn_count;
static struct sk_bconn *sk_bconn_head, *sk_bconn_tail;

int sk_boot_hello_parse(const void *buf, size_t len, unsigned max_size,
			struct sk_boot_hello *hello, const void **blob_p,
			uint16_t *blob_len_p, size_t *used_p, const char **why)
{
	const char *p = buf;
	size_t off = sizeof(*hello);
	uint16_t l;

	if (len < sizeof(*hello))
		return 0;
	memcpy(hello, p, sizeof(*hello));
	if (hello->magic != SK_BOOT_MAGIC) {
		*why = "not a Skiff bootstrap hello";
		return -1;
	}
	if (hello->version != SK_BOOT_VERSION) {
		*why = "bootstrap version mismatch";
		return -1;
	}
	if (hello->size == 0 || hello->size > max_size) {
		*why = "job size out of range";
		return -1;
	}
	if (len - off < sizeof(l))
		return 0;
	memcpy(&l, p + off, sizeof(l));
	off += sizeof(l);
	if (l > SK_BLOB_MAX) {
		*why = "address longer than SK_BLOB_MAX";
		return -1;
	}
	if (l == 0) {
		*why = "no address for the host";
		return -1;
	}
	if (len - off < l)
		return 0;
	*blob_p = p + off;
	*blob_len_p = l;
	*used_p = off + l;
	return 1;
}

static void sk_bconn_close(struct sk_bconn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		sk_bconn_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		sk_bconn_tail = c->prev;
	sk_watch_stop(c->job->loop, &c->w);
	sk_timer_stop(c->job->loop, &c->t);
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c);
	sk_bconn_count--;
}

static int sk_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};

			/* A node that does not read its welcome for 5 s is
			 * dead or hostile: give up on it. */
			if (poll(&pfd, 1, 5000) <= 0)
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void sk_bconn_refuse(struct sk_bconn *c, unsigned result,
			    const char *why)
{
	struct sk_boot_welcome w = {.magic = SK_BOOT_MAGIC,
				    .version = SK_BOOT_VERSION,
				    .result = (uint16_t)result,
				    .size = c->job->size};

	fprintf(stderr, "skrun: refused a bootstrap connection from %s: %s\n",
		c->peer, why ? why : sk_boot_result_str(result));
	sk_send_all(c->fd, &w, sizeof(w));
	sk_bconn_close(c);
}

static int sk_secret_equal(const uint8_t *a, const uint8_t *b)
{
	uint8_t d = 0;
	size_t i;

	for (i = 0; i < SK_BOOT_SECRET_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int sk_put_blob(int fd, const void *blob, uint16_t len);

static void sk_bconn_hello(struct sk_bconn *c, const struct sk_boot_hello *h,
			   const void *blob, uint16_t blob_len)
{
	struct sk_boot_welcome w = {.magic = SK_BOOT_MAGIC,
				    .version = SK_BOOT_VERSION,
				    .result = SK_BOOT_OK};
	struct sk_job *job = c->job;
	char addr[SK_BLOB_MAX];
	size_t len = sizeof(addr);
	struct sk_hnode *n;
	sk_status_t st;

	w.size = job->size;
	if (!sk_secret_equal(h->secret, job->secret)) {
		sk_bconn_refuse(c, SK_BOOT_BAD_SECRET, NULL);
		return;
	}
	if (h->size != job->size || h->rank >= job->size) {
		sk_bconn_refuse(c, SK_BOOT_BAD_RANK, NULL);
		return;
	}
	n = &job->node[h->rank];
	if (n->joined || n->exited || job->booted) {
		sk_bconn_refuse(c, SK_BOOT_DUP_RANK, NULL);
		return;
	}
	if (job->aborting) {
		sk_bconn_refuse(c, SK_BOOT_ABORTED, NULL);
		return;
	}
	st = sk_services_connect(job, n, blob, blob_len);
	if (st == SK_OK) {
		st = sk_ep_addr_pack(n->ep, addr, &len);
		if (st != SK_OK)
			sk_services_disconnect(job, n);
	}
	if (st == SK_ERR_NODEV) {
		/* skrun has no fabric: sk_services_connect ended the job. */
		sk_bconn_refuse(c, SK_BOOT_ABORTED, "skrun has no fabric here");
		return;
	}
	if (st != SK_OK) {
		sk_bconn_refuse(c, SK_BOOT_MALFORMED, sk_status_str(st));
		return;
	}
	/* The welcome is a few hundred bytes into a fresh socket's buffer;
	 * a node that does not read it learns nothing it could use. */
	if (sk_send_all(c->fd, &w, sizeof(w)) < 0 ||
	    sk_put_blob(c->fd, addr, (uint16_t)len) < 0)
		fprintf(stderr, "skrun: cannot send rank %u its welcome\n",
			n->rank);
	n->joined = true;
	job->njoined++;
	sk_bconn_close(c);
	sk_bootsrv_check(job);
}

static void sk_bconn_readable(struct sk_watch *w, unsigned revents)
{
	struct sk_bconn *c = (struct sk_bconn *)((char *)w -
						 offsetof(struct sk_bconn, w));
	const size_t max = SK_BOOT_MSG_MAX;
	struct sk_boot_hello h;
	const void *blob = NULL;
	uint16_t blob_len = 0;
	const char *why = NULL;
	size_t used;
	ssize_t r;
	int rc;

	if (c->buf == NULL) {
		/* A hello and its one address: a fixed, small bound. */
		c->buf = malloc(max);
		if (c->buf == NULL) {
			sk_bconn_close(c);
			return;
		}
		c->cap = max;
	}
	if (c->len == c->cap) {
		sk_bconn_refuse(c, SK_BOOT_MALFORMED,
				"hello longer than SK_BOOT_MSG_MAX");
		return;
	}
	r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		if (c->len > 0)
			fprintf(stderr, "skrun: bootstrap connection from %s "
					"closed mid-hello (%zu bytes)\n",
				c->peer, c->len);
		sk_bconn_close(c);
		return;
	}
	c->len += (size_t)r;
	rc = sk_boot_hello_parse(c->buf, c->len, c->job->size, &h, &blob,
				 &blob_len, &used, &why);
	if (rc < 0)
		sk_bconn_refuse(c, SK_BOOT_MALFORMED, why);
	else if (rc > 0 && used != c->len)
		sk_bconn_refuse(c, SK_BOOT_MALFORMED,
				"bytes after the hello");
	else if (rc > 0)
		sk_bconn_hello(c, &h, blob, blob_len);
}

static void sk_bconn_timeout(struct sk_timer *t)
{
	struct sk_bconn *c = (struct sk_bconn *)((char *)t -
						 offsetof(struct sk_bconn, t));

	fprintf(stderr, "skrun: bootstrap connection from %s sent %zu bytes "
			"and no whole hello in %lu ms (SKIFF_BOOT_TIMEOUT_MS); "
			"closed\n",
		c->peer, c->len, c->job->boot_timeout_ms);
	sk_bconn_close(c);
}

static void sk_bootsrv_accept(struct sk_watch *w, unsigned revents)
{
	struct sk_job *job = (struct sk_job *)((char *)w -
					       offsetof(struct sk_job,
							listen_w));
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct sk_bconn *c;
	char ip[INET6_ADDRSTRLEN] = "?";
	int fd, one = 1;

	fd = accept4(job->listen_fd, (struct sockaddr *)&ss, &sl,
		     SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip,
			  sizeof(ip));
	else if (ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			  ip, sizeof(ip));
	/* Every node connects once; a flood beyond that is not ours. Make
	 * room by closing the oldest: refusing the newest instead would let
	 * a few idle connections keep every node out. */
	if (sk_bconn_count >= 2 * job->size + 16) {
		fprintf(stderr, "skrun: too many bootstrap connections; closed "
				"the oldest, from %s (%zu bytes in)\n",
			sk_bconn_head->peer, sk_bconn_head->len);
		sk_bconn_close(sk_bconn_head);
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		return;
	}
	sk_bconn_count++;
	c->prev = sk_bconn_tail;
	if (sk_bconn_tail)
		sk_bconn_tail->next = c;
	else
		sk_bconn_head = c;
	sk_bconn_tail = c;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->job = job;
	c->fd = fd;
	snprintf(c->peer, sizeof(c->peer), "%s", ip);
	c->w.fd = fd;
	c->w.events = POLLIN;
	c->w.cb = sk_bconn_readable;
	c->t.cb = sk_bconn_timeout;
	sk_watch_start(job->loop, &c->w);
	sk_timer_start(job->loop, &c->t, job->boot_timeout_ms);
}

/* The source address this host uses to reach @host (a UDP connect sends
 * nothing; it only asks the routing table). 0, or -1 if unknown. */
static int sk_route_src(const char *host, struct in_addr *src)
{
	struct addrinfo hints = {.ai_family = AF_INET,
				 .ai_socktype = SOCK_DGRAM};
	struct addrinfo *res;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd, rc = -1;

	if (getaddrinfo(host, "9", &hints, &res) != 0)
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
		*src = sa.sin_addr;
		rc = 0;
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

/*
 * Where the listener binds: loopback for a local job. With remote hosts,
 * the address SKIFF_BOOTSTRAP_ADDR names, else the one the routes to the
 * remote hosts leave from (when they all agree); every address only when
 * they do not. Returns 0, or -1 with a message in @err.
 */
static int sk_bootsrv_addr(struct sk_job *job, bool remote, const char *adv,
			   struct in_addr *addr, char *err, size_t cap)
{
	struct addrinfo hints = {.ai_family = AF_INET,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *res;
	struct in_addr src;
	bool have = false;
	unsigned r;

	addr->s_addr = htonl(INADDR_LOOPBACK);
	if (!remote)
		return 0;
	if (*adv != '\0') {
		if (getaddrinfo(adv, NULL, &hints, &res) != 0) {
			snprintf(err, cap, "SKIFF_BOOTSTRAP_ADDR='%s' does not "
					   "resolve to an IPv4 address", adv);
			return -1;
		}
		*addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
		return 0;
	}
	addr->s_addr = htonl(INADDR_ANY);
	for (r = 0; r < job->size; r++) {
		if (job->node[r].local)
			continue;
		if (sk_route_src(job->node[r].host, &src) != 0 ||
		    (have && src.s_addr != addr->s_addr)) {
			addr->s_addr = htonl(INADDR_ANY);
			return 0; /* no one answer: every address */
		}
		*addr = src;
		have = true;
	}
	return 0;
}

int sk_bootsrv_start(struct sk_job *job, bool remote)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	const char *adv = sk_config_str("SKIFF_BOOTSTRAP_ADDR");
	char ip[INET_ADDRSTRLEN], err[300];
	int fd, one = 1;

	if (sk_bootsrv_addr(job, remote, adv, &sa.sin_addr, err,
			    sizeof(err)) != 0) {
		fprintf(stderr, "skrun: %s\n", err);
		return -EINVAL;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
		int e = errno;

		if (e == EADDRNOTAVAIL)
			fprintf(stderr, "skrun: SKIFF_BOOTSTRAP_ADDR='%s' is "
					"not an address of this host\n", adv);
		close(fd);
		return -e;
	}
	job->listen_fd = fd;
	/* Advertise what was bound; a name only where every address is. */
	if (*adv == '\0' && sa.sin_addr.s_addr != htonl(INADDR_ANY) &&
	    inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip)) != NULL)
		adv = ip;
	else if (*adv == '\0')
		adv = job->hostname;
	snprintf(job->boot_addr, sizeof(job->boot_addr), "%s:%u", adv,
		 ntohs(sa.sin_port));
	job->listen_w.fd = fd;
	job->listen_w.events = POLLIN;
	job->listen_w.cb = sk_bootsrv_accept;
	sk_watch_start(job->loop, &job->listen_w);
	return 0;
}

void sk_bootsrv_stop(struct sk_job *job)
{
	while (sk_bconn_head)
		sk_bconn_close(sk_bconn_head);
	if (job->listen_fd >= 0) {
		sk_watch_stop(job->loop, &job->listen_w);
		close(job->listen_fd);
		job->listen_fd = -1;
	}
}

static int sk_put_blob(int fd, const void *blob, uint16_t len)
{
	if (sk_send_all(fd, &len, sizeof(len)) < 0)
		return -1;
	return len ? sk_send_all(fd, blob, len) : 0;
}

/* Every node has joined, or left without joining (a program that does not
 * link Skiff): the BOOT replies can go once the joined ones are ready. */
void sk_bootsrv_check(struct sk_job *job)
{
	unsigned r;

	if (job->welcomed)
		return;
	for (r = 0; r < job->size; r++)
		if (!job->node[r].joined && !job->node[r].exited &&
		    !job->aborting)
			return;
	job->welcomed = true;
	sk_services_boot(job);
	/* The listener stays: a late or foreign connection is answered
	 * with its reason (wrong secret, rank taken) until the job ends. */
}
