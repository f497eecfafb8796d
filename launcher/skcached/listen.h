/*
 * The TCP sockets skcached serves on: every address -l names, or, without
 * -l, every wildcard address of the host (0.0.0.0 and [::]), as memcached
 * binds them. skcached (skcached.c) binds them once, alone, before the job
 * starts, so that a port in use fails there with memcached's message; the
 * gateways (gateway.c) then bind them together (SO_REUSEPORT) and listen.
 */
#ifndef SKIFF_SKCACHED_LISTEN_H
#define SKIFF_SKCACHED_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

/* At most this many addresses (a name may resolve to several). */
#define MC_LISTEN_MAX 8

/*
 * Bind a socket to each address of @host (NULL: the wildcards) at @port:
 * shared with the other gateways (@reuseport, then listening), or alone
 * (a probe, not listening). An [::] socket takes IPv6 only, so that it and
 * 0.0.0.0 coexist; an address family the host lacks is skipped. Returns
 * the count put in @fds, or -1 with every socket closed and @err saying
 * why in memcached's words ("failed to listen on TCP port 11211: Address
 * already in use").
 */
int mc_listen(const char *host, unsigned port, bool reuseport, int *fds,
	      char *err, size_t errlen);

#endif /* SKIFF_SKCACHED_LISTEN_H */
