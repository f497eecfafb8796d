/*
 * The perf tools' TCP exchange (perf_sock.h): listen or connect, whole
 * reads and writes that may progress a fabric while they wait, the
 * little-endian words and length-prefixed blobs, and the dead-peer check.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <skiff/le.h>

#include "perf_report.h"
#include "perf_sock.h"

static void perf_sock_nodelay(struct perf_sock *s)
{
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
}

int perf_sock_listen(struct perf_sock *s, unsigned port)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_ANY_INIT,
				  .sin6_port = htons((uint16_t)port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_ANY),
				 .sin_port = htons((uint16_t)port)};
	int one = 1, zero = 0, fd, conn, err;

	/* Dual-stack when the kernel has IPv6, else IPv4 alone. */
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) < 0)
			goto err_bind;
	} else {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			fprintf(stderr, "%s: socket: %s\n", s->name,
				strerror(errno));
			return PERF_EXIT_FAIL;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			goto err_bind;
	}
	if (listen(fd, 1) < 0) {
		fprintf(stderr, "%s: listen: %s\n", s->name, strerror(errno));
		close(fd);
		return PERF_EXIT_FAIL;
	}
	printf("%s: waiting for a client on port %u\n", s->name, port);
	do
		conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0) {
		fprintf(stderr, "%s: accept: %s\n", s->name, strerror(errno));
		close(fd);
		return PERF_EXIT_FAIL;
	}
	close(fd);
	s->fd = conn;
	perf_sock_nodelay(s);
	return 0;

err_bind:
	err = errno;
	fprintf(stderr, "%s: cannot listen on TCP port %u: %s\n", s->name,
		port, strerror(err));
	close(fd);
	return err == EADDRINUSE ? PERF_EXIT_PORT_BUSY : PERF_EXIT_FAIL;
}

int perf_sock_connect(struct perf_sock *s, const char *host, unsigned port)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	uint64_t deadline = perf_now_ns() + PERF_CONNECT_MS * 1000000ull;
	struct addrinfo *res, *ai;
	char serv[8];
	int err = 0, gai, fd;

	snprintf(serv, sizeof(serv), "%u", port);
	gai = getaddrinfo(host, serv, &hints, &res);
	if (gai) {
		fprintf(stderr, "%s: cannot resolve '%s': %s\n", s->name, host,
			gai_strerror(gai));
		return PERF_EXIT_FAIL;
	}
	for (;;) {
		for (ai = res; ai; ai = ai->ai_next) {
			fd = socket(ai->ai_family,
				    ai->ai_socktype | SOCK_CLOEXEC,
				    ai->ai_protocol);
			if (fd < 0) {
				err = errno;
				continue;
			}
			if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
				goto connected;
			err = errno;
			close(fd);
		}
		if (perf_now_ns() > deadline)
			break;
		usleep(100000);
	}
	fprintf(stderr, "%s: cannot connect to %s port %u for %d s: %s\n",
		s->name, host, port, PERF_CONNECT_MS / 1000, strerror(err));
	freeaddrinfo(res);
	return PERF_EXIT_FAIL;

connected:
	freeaddrinfo(res);
	s->fd = fd;
	perf_sock_nodelay(s);
	return 0;
}

void perf_sock_close(struct perf_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int perf_sock_write(struct perf_sock *s, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: cannot send to the peer: %s\n",
				s->name, strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Block until the socket is readable or @deadline (perf_now_ns() time, 0:
 * none) passes, progressing meanwhile if s->progress is set. */
static int perf_sock_wait(struct perf_sock *s, uint64_t deadline, int ms,
			  const char *what)
{
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	uint64_t until;

	for (;;) {
		int r, tmo = -1;

		if (s->progress) {
			tmo = 0;
		} else if (deadline) {
			uint64_t now = perf_now_ns();

			tmo = 1000;
			if (now < deadline && (deadline - now) / 1000000 < 1000)
				tmo = (int)((deadline - now) / 1000000) + 1;
		}
		r = poll(&pfd, 1, tmo);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "%s: poll on the socket: %s\n",
				s->name, strerror(errno));
			return -1;
		}
		if (deadline && perf_now_ns() >= deadline) {
			fprintf(stderr, "%s: the peer sent nothing for %d s "
					"while we waited for %s; giving up\n",
				s->name, ms / 1000, what ? what : "its answer");
			return -1;
		}
		if (!s->progress)
			continue;
		until = perf_now_ns() + PERF_IDLE_NS;
		do {
			for (int i = 0; i < PERF_IDLE_POLLS; i++)
				if (s->progress(s->arg))
					return -1;
		} while (perf_now_ns() < until);
	}
}

int perf_sock_read(struct perf_sock *s, void *buf, size_t len, int ms,
		   const char *what)
{
	uint64_t deadline = ms > 0 ? perf_now_ns() + (uint64_t)ms * 1000000 : 0;
	char *p = buf;

	while (len) {
		ssize_t n;

		if (perf_sock_wait(s, deadline, ms, what))
			return -1;
		n = recv(s->fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			fprintf(stderr, "%s: the peer closed the connection%s%s "
					"(see its messages)\n", s->name,
				what ? " while we waited for " : "",
				what ? what : "");
			return -1;
		}
		if (n < 0) {
			fprintf(stderr, "%s: cannot read %s%sfrom the peer: "
					"%s\n", s->name, what ? what : "",
				what ? " " : "", strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One little-endian word of @n bytes (4 or 8). */
static int perf_sock_send_word(struct perf_sock *s, uint64_t v, size_t n)
{
	uint8_t b[8];

	if (n == 4)
		sk_le32_put(b, (uint32_t)v);
	else
		sk_le64_put(b, v);
	return perf_sock_write(s, b, n);
}

static int perf_sock_recv_word(struct perf_sock *s, uint64_t *v, size_t n,
			       int ms, const char *what)
{
	uint8_t b[8];

	if (perf_sock_read(s, b, n, ms, what))
		return -1;
	*v = n == 4 ? sk_le32_get(b) : sk_le64_get(b);
	return 0;
}

int perf_sock_send_u32(struct perf_sock *s, uint32_t v)
{
	return perf_sock_send_word(s, v, 4);
}

int perf_sock_recv_u32(struct perf_sock *s, uint32_t *v, int ms,
		       const char *what)
{
	uint64_t w;

	if (perf_sock_recv_word(s, &w, 4, ms, what))
		return -1;
	*v = (uint32_t)w;
	return 0;
}

int perf_sock_send_u64(struct perf_sock *s, uint64_t v)
{
	return perf_sock_send_word(s, v, 8);
}

int perf_sock_recv_u64(struct perf_sock *s, uint64_t *v, int ms,
		       const char *what)
{
	return perf_sock_recv_word(s, v, 8, ms, what);
}

int perf_sock_blob_send(struct perf_sock *s, const void *blob, size_t len)
{
	if (perf_sock_send_u32(s, (uint32_t)len))
		return -1;
	return perf_sock_write(s, blob, len);
}

int perf_blob_len_check(uint32_t len, uint32_t max, const char *what,
			char *err, size_t errlen)
{
	if (len == 0 || len > max) {
		snprintf(err, errlen, "the peer sent %s of %u bytes (must be "
				      "1..%u); refused", what, len, max);
		return -1;
	}
	return 0;
}

int perf_sock_blob_recv(struct perf_sock *s, void *buf, uint32_t max,
			size_t *len_p, int ms, const char *what)
{
	char err[256];
	uint32_t len;

	if (perf_sock_recv_u32(s, &len, ms, what))
		return -1;
	if (perf_blob_len_check(len, max, what, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", s->name, err);
		return -1;
	}
	if (perf_sock_read(s, buf, len, ms, what))
		return -1;
	*len_p = len;
	return 0;
}

int perf_sock_peer_gone(struct perf_sock *s)
{
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	char byte;
	ssize_t n;

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	n = recv(s->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		fprintf(stderr, "%s: the peer stopped the test (see its "
				"messages)\n", s->name);
	else
		fprintf(stderr, "%s: the peer went away during the test%s%s\n",
			s->name, n < 0 ? ": " : "",
			n < 0 ? strerror(errno) : "");
	return 1;
}
