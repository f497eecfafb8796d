/*
 * skcached's listening sockets (listen.h).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

/* memcached's words for a failed bind, with and without -l. */
static void mc_listen_err(char *err, size_t errlen, const char *host,
			  unsigned port, const char *why)
{
	if (host)
		snprintf(err, errlen,
			 "failed to listen on one of interface(s) %s: %s", host,
			 why);
	else
		snprintf(err, errlen, "failed to listen on TCP port %u: %s",
			 port, why);
}

int mc_listen(const char *host, unsigned port, bool reuseport, int *fds,
	      char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL, *a;
	char svc[8];
	int n = 0, rc, one = 1, e = 0;

	snprintf(svc, sizeof(svc), "%u", port);
	rc = getaddrinfo(host, svc, &hints, &ai);
	if (rc != 0) {
		mc_listen_err(err, errlen, host, port,
			      rc == EAI_SYSTEM ? strerror(errno)
					       : gai_strerror(rc));
		return -1;
	}
	for (a = ai; a && n < MC_LISTEN_MAX; a = a->ai_next) {
		int fd = socket(a->ai_family,
				a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				0);

		if (fd < 0) {
			if (errno == EAFNOSUPPORT)
				continue; /* no IPv6 here */
			e = errno;
			break;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (reuseport)
			setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
				   sizeof(one));
		if (a->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
				   sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
		    (reuseport && listen(fd, 1024) != 0)) {
			e = errno;
			close(fd);
			/* IPv6 present but not configured: as absent. */
			if (a->ai_family == AF_INET6 && e == EADDRNOTAVAIL) {
				e = 0;
				continue;
			}
			break;
		}
		fds[n++] = fd;
	}
	freeaddrinfo(ai);
	if (e == 0 && n == 0)
		e = EADDRNOTAVAIL;
	if (e != 0) {
		while (n > 0)
			close(fds[--n]);
		mc_listen_err(err, errlen, host, port, strerror(e));
		return -1;
	}
	return n;
}
