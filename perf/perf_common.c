/*
 * The plumbing shared by the Skiff benchmarks and sk_pingpong: command
 * line, the out-of-band TCP exchange in the manner of perftest (the
 * client's parameters win; then each side sends its packed endpoint
 * address and memory descriptor, length-prefixed), barriers, busy-wait
 * helpers that notice a dead peer, and perftest-format reports.
 *
 * Waiting: with the rdma provider the NIC serves the peer's reads, writes
 * and atomics, so an idle side may sleep in the kernel like perftest's
 * server. The ucx provider may need the target to progress (RMA and
 * atomics over TCP or over shared memory without native support are
 * emulated with active messages), so with it every wait polls the device,
 * as ucx_perftest's responder does.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "perf_common.h"

#define PERF_MAGIC        0x534b5046u /* "SKPF" */
#define PERF_VERSION      1
#define PERF_PROV_LEN     8
#define PERF_MAX_SIZE_S   (1ul << 30) /* largest -s */
#define PERF_MAX_TX_DEPTH 65536u
#define PERF_GONE_EVERY   4096        /* busy-wait calls between checks */
#define PERF_IDLE_POLLS   64          /* device polls between clock looks */
#define PERF_IDLE_NS      100000      /* device polling between socket looks */
#define PERF_ERR_LEN      256         /* longest refusal: ~150 bytes */

/* ---- command line ---- */

static void perf_usage(const struct perf_tool *t, FILE *out)
{
	fprintf(out,
		"Usage:\n"
		"  %s [options]          start a server and wait for a client\n"
		"  %s [options] <host>   connect to the server on <host>\n"
		"\n%s over Skiff verbs (perftest-compatible options).\n\n"
		"Options:\n"
		"  -s, --size=<bytes>       message size (default %zu)\n"
		"  -n, --iters=<count>      iterations (default %lu)\n",
		t->name, t->name, t->title, t->def_size, t->def_iters);
	if (t->opts & PERF_OPT_ALL)
		fprintf(out, "  -a, --all                run all sizes from 2 to "
			     "2^23 bytes\n");
	if (t->opts & PERF_OPT_ATOMIC)
		fprintf(out, "  -A, --atomic_type=<op>   CMP_AND_SWAP or "
			     "FETCH_AND_ADD (default FETCH_AND_ADD)\n");
	if (t->opts & PERF_OPT_TX_DEPTH)
		fprintf(out, "  -t, --tx-depth=<count>   writes outstanding "
			     "(default 128)\n");
	if (t->opts & PERF_OPT_EVENTS)
		fprintf(out, "  -e, --events             sleep on the completion "
			     "channel instead of polling\n");
	fprintf(out,
		"  -p, --port=<port>        TCP port of the exchange (default "
		"%d)\n"
		"  -d, --ib-dev=<dev>       device (default: $SKIFF_DEVICE, "
		"else the first)\n"
		"      --provider=<name>    rdma, ucx or auto (default: "
		"$SKIFF_PROVIDER, else auto)\n"
		"  -h, --help               show this help\n"
		"\nBoth sides must run the same tool; the server takes the "
		"client's -s, -n, -a%s.\n"
		"Exit status: 0 ok, 1 failure, 2 usage, 3 server port in use.\n",
		PERF_DEFAULT_PORT,
		(t->opts & PERF_OPT_ATOMIC) ? ", -A" :
		(t->opts & PERF_OPT_TX_DEPTH) ? ", -t" : "");
}

/* Parse a count with an optional k/m/g suffix (powers of 1024). */
static int perf_parse_ulong(const char *text, unsigned long min,
			    unsigned long max, unsigned long *val_p)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || (shift && v > (~0ull >> shift)))
		return -1;
	v <<= shift;
	if (v < min || v > max)
		return -1;
	*val_p = (unsigned long)v;
	return 0;
}

static int perf_opt_bad(const struct perf_tool *t, const char *opt,
			const char *val, const char *why)
{
	fprintf(stderr, "%s: bad %s '%s': %s\n", t->name, opt, val, why);
	return PERF_EXIT_USAGE;
}

int perf_opts_parse(struct perf_opts *o, const struct perf_tool *tool,
		    int argc, char **argv)
{
	enum { OPT_PROVIDER = 0x100 };
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},
		{"iters", required_argument, NULL, 'n'},
		{"all", no_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"ib-dev", required_argument, NULL, 'd'},
		{"atomic_type", required_argument, NULL, 'A'},
		{"tx-depth", required_argument, NULL, 't'},
		{"events", no_argument, NULL, 'e'},
		{"provider", required_argument, NULL, OPT_PROVIDER},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v;
	int ch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	*o = (struct perf_opts){
		.tool = tool,
		.port = PERF_DEFAULT_PORT,
		.size = tool->def_size,
		.iters = tool->def_iters,
		.tx_depth = 128,
		.atomic = PERF_ATOMIC_FADD,
	};
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:n:ap:d:A:t:eh", longopts,
				 NULL)) != -1) {
		unsigned need = ch == 'a' ? PERF_OPT_ALL :
				ch == 'A' ? PERF_OPT_ATOMIC :
				ch == 't' ? PERF_OPT_TX_DEPTH :
				ch == 'e' ? PERF_OPT_EVENTS : 0;

		if (need && !(tool->opts & need)) {
			fprintf(stderr, "%s: option -%c does not apply to this "
					"test\n", tool->name, ch);
			return PERF_EXIT_USAGE;
		}
		switch (ch) {
		case 's':
			if (perf_parse_ulong(optarg, tool->min_size,
					     PERF_MAX_SIZE_S, &v))
				return perf_opt_bad(tool, "size", optarg,
						    "need a byte count "
						    "in range");
			if (tool->test == PERF_TEST_ATOMIC_LAT && v != 8)
				return perf_opt_bad(tool, "size", optarg,
						    "atomics are 8 bytes");
			o->size = v;
			break;
		case 'n':
			if (perf_parse_ulong(optarg, tool->min_iters,
					     PERF_MAX_ITERS, &v))
				return perf_opt_bad(tool, "iteration count",
						    optarg, "out of range");
			o->iters = v;
			break;
		case 'a':
			o->all_sizes = 1;
			break;
		case 'p':
			if (perf_parse_ulong(optarg, 1, 65535, &v))
				return perf_opt_bad(tool, "port", optarg,
						    "need 1..65535");
			o->port = (unsigned)v;
			break;
		case 'd':
			o->device = optarg;
			break;
		case OPT_PROVIDER:
			o->provider = optarg;
			break;
		case 'A':
			if (strcmp(optarg, "CMP_AND_SWAP") == 0)
				o->atomic = PERF_ATOMIC_CAS;
			else if (strcmp(optarg, "FETCH_AND_ADD") == 0)
				o->atomic = PERF_ATOMIC_FADD;
			else
				return perf_opt_bad(tool, "atomic type", optarg,
						    "need CMP_AND_SWAP or "
						    "FETCH_AND_ADD");
			break;
		case 't':
			if (perf_parse_ulong(optarg, 1, PERF_MAX_TX_DEPTH, &v))
				return perf_opt_bad(tool, "tx depth", optarg,
						    "need 1..65536");
			o->tx_depth = (uint32_t)v;
			break;
		case 'e':
			o->events = 1;
			break;
		case 'h':
			perf_usage(tool, stdout);
			return PERF_EXIT_OK;
		case ':':
			fprintf(stderr, "%s: option %s needs a value\n",
				tool->name, argv[optind - 1]);
			return PERF_EXIT_USAGE;
		default:
			fprintf(stderr, "%s: unknown option %s (try -h)\n",
				tool->name, argv[optind - 1]);
			return PERF_EXIT_USAGE;
		}
	}
	if (optind < argc)
		o->server = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (try -h)\n",
			tool->name, argv[optind]);
		return PERF_EXIT_USAGE;
	}
	return -1;
}

unsigned perf_opts_sizes(const struct perf_opts *o, size_t *sizes)
{
	unsigned n = 0;

	if (!o->all_sizes || o->tool->test == PERF_TEST_ATOMIC_LAT) {
		sizes[0] = o->size;
		return 1;
	}
	for (size_t s = 2; s <= PERF_MAX_SIZE; s <<= 1)
		sizes[n++] = s;
	return n;
}

/* ---- socket I/O ---- */

static const char *perf_name(const struct perf_ctx *c)
{
	return c->opts.tool->name;
}

static int perf_sock_write(struct perf_ctx *c, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(c->sock, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: cannot send to the peer: %s\n",
				perf_name(c), strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Poll the device from a socket wait, keeping what completes. */
static int perf_ctx_stash_poll(struct perf_ctx *c)
{
	unsigned room = PERF_STASH - (c->stash_head - c->stash_tail);
	struct sk_wc wc[PERF_STASH];
	int n;

	if (room == 0) {
		fprintf(stderr, "%s: %d completions arrived while waiting for "
				"the peer; giving up\n", perf_name(c),
			PERF_STASH);
		return -1;
	}
	n = sk_dev_poll(c->dev, wc, (int)room);
	if (n < 0) {
		fprintf(stderr, "%s: polling the device failed: %s\n",
			perf_name(c), sk_status_str((sk_status_t)n));
		return -1;
	}
	for (int i = 0; i < n; i++)
		c->stash[c->stash_head++ % PERF_STASH] = wc[i];
	return 0;
}

/* Block until the socket is readable, polling the device meanwhile when
 * the provider needs this side to progress. */
static int perf_sock_wait(struct perf_ctx *c)
{
	struct pollfd pfd = {.fd = c->sock, .events = POLLIN};
	int spin = c->dev != NULL && c->progress_peer;
	uint64_t until;

	for (;;) {
		int r = poll(&pfd, 1, spin ? 0 : -1);

		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "%s: poll on the socket: %s\n",
				perf_name(c), strerror(errno));
			return -1;
		}
		if (!spin)
			continue;
		/* Poll the device for a while before looking at the socket
		 * again: a poll() between every few device polls slowed the
		 * peer's emulated atomics down 2x. */
		until = perf_now_ns() + PERF_IDLE_NS;
		do {
			for (int i = 0; i < PERF_IDLE_POLLS; i++)
				if (perf_ctx_stash_poll(c))
					return -1;
		} while (perf_now_ns() < until);
	}
}

/* Read exactly @len bytes; short reads are continued, EOF is an error. */
static int perf_sock_read(struct perf_ctx *c, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n;

		if (perf_sock_wait(c))
			return -1;
		n = recv(c->sock, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			fprintf(stderr, "%s: the peer closed the connection "
					"(see its messages)\n", perf_name(c));
			return -1;
		}
		if (n < 0) {
			fprintf(stderr, "%s: cannot read from the peer: %s\n",
				perf_name(c), strerror(errno));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void perf_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t perf_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void perf_put_u64(uint8_t *p, uint64_t v)
{
	perf_put_u32(p, (uint32_t)(v >> 32));
	perf_put_u32(p + 4, (uint32_t)v);
}

static uint64_t perf_get_u64(const uint8_t *p)
{
	return (uint64_t)perf_get_u32(p) << 32 | perf_get_u32(p + 4);
}

int perf_ctx_send_u32(struct perf_ctx *c, uint32_t v)
{
	uint8_t b[4];

	perf_put_u32(b, v);
	return perf_sock_write(c, b, sizeof(b));
}

int perf_ctx_recv_u32(struct perf_ctx *c, uint32_t *v)
{
	uint8_t b[4];

	if (perf_sock_read(c, b, sizeof(b)))
		return -1;
	*v = perf_get_u32(b);
	return 0;
}

static int perf_blob_send(struct perf_ctx *c, const void *blob, size_t len)
{
	if (perf_ctx_send_u32(c, (uint32_t)len))
		return -1;
	return perf_sock_write(c, blob, len);
}

int perf_blob_len_check(uint32_t len, const char *what, char *err,
			size_t errlen)
{
	if (len == 0 || len > SK_BLOB_MAX) {
		snprintf(err, errlen, "the peer sent %s of %u bytes (must be "
				      "1..%d); refused", what, len,
			 SK_BLOB_MAX);
		return -1;
	}
	return 0;
}

/* Receive a length-prefixed blob into @buf (SK_BLOB_MAX bytes). */
static int perf_blob_recv(struct perf_ctx *c, void *buf, size_t *len_p,
			  const char *what)
{
	char err[PERF_ERR_LEN];
	uint32_t len;

	if (perf_ctx_recv_u32(c, &len))
		return -1;
	if (perf_blob_len_check(len, what, err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", perf_name(c), err);
		return -1;
	}
	if (perf_sock_read(c, buf, len))
		return -1;
	*len_p = len;
	return 0;
}

/* ---- meeting the peer ---- */

static int perf_listen(struct perf_ctx *c)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_addr = IN6ADDR_ANY_INIT,
				  .sin6_port = htons((uint16_t)c->opts.port)};
	struct sockaddr_in a4 = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_ANY),
				 .sin_port = htons((uint16_t)c->opts.port)};
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
			fprintf(stderr, "%s: socket: %s\n", perf_name(c),
				strerror(errno));
			return PERF_EXIT_FAIL;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) < 0)
			goto err_bind;
	}
	if (listen(fd, 1) < 0) {
		fprintf(stderr, "%s: listen: %s\n", perf_name(c),
			strerror(errno));
		close(fd);
		return PERF_EXIT_FAIL;
	}
	printf("%s: waiting for a client on port %u\n", perf_name(c),
	       c->opts.port);
	do
		conn = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	while (conn < 0 && errno == EINTR);
	if (conn < 0) {
		fprintf(stderr, "%s: accept: %s\n", perf_name(c),
			strerror(errno));
		close(fd);
		return PERF_EXIT_FAIL;
	}
	close(fd);
	c->sock = conn;
	return 0;

err_bind:
	err = errno;
	fprintf(stderr, "%s: cannot listen on TCP port %u: %s\n",
		perf_name(c), c->opts.port, strerror(err));
	close(fd);
	return err == EADDRINUSE ? PERF_EXIT_PORT_BUSY : PERF_EXIT_FAIL;
}

/* Connect to the server, retrying for PERF_CONNECT_MS: the server may
 * start a little after us. */
static int perf_connect(struct perf_ctx *c)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	uint64_t deadline = perf_now_ns() + PERF_CONNECT_MS * 1000000ull;
	struct addrinfo *res, *ai;
	char port[8];
	int err = 0, gai, fd;

	snprintf(port, sizeof(port), "%u", c->opts.port);
	gai = getaddrinfo(c->opts.server, port, &hints, &res);
	if (gai) {
		fprintf(stderr, "%s: cannot resolve '%s': %s\n", perf_name(c),
			c->opts.server, gai_strerror(gai));
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
		perf_name(c), c->opts.server, c->opts.port,
		PERF_CONNECT_MS / 1000, strerror(err));
	freeaddrinfo(res);
	return PERF_EXIT_FAIL;

connected:
	freeaddrinfo(res);
	c->sock = fd;
	return 0;
}

/*
 * The hello, PERF_HELLO_LEN bytes, integers big-endian:
 *    0  u32 magic "SKPF"     4  u16 version        6  u16 test id
 *    8  u64 message size    16  u64 iterations    24  u32 tx depth
 *   28  u8 all sizes        29  u8 atomic op      30  u8 events  31 zero
 *   32  provider name, NUL-padded to 8 bytes
 * The client sends it; the server checks it, adopts it and echoes it.
 */
void perf_hello_pack(const struct perf_opts *o, const char *provider,
		     uint8_t *b)
{
	memset(b, 0, PERF_HELLO_LEN);
	perf_put_u32(b, PERF_MAGIC);
	b[4] = 0;
	b[5] = PERF_VERSION;
	b[6] = 0;
	b[7] = (uint8_t)o->tool->test;
	perf_put_u64(b + 8, o->size);
	perf_put_u64(b + 16, o->iters);
	perf_put_u32(b + 24, o->tx_depth);
	b[28] = (uint8_t)o->all_sizes;
	b[29] = (uint8_t)o->atomic;
	b[30] = (uint8_t)o->events;
	strncpy((char *)b + 32, provider, PERF_PROV_LEN - 1);
}

int perf_hello_parse(const uint8_t *b, size_t len,
		     const struct perf_opts *mine,
		     const struct sk_dev_attr *attr, struct perf_opts *agreed,
		     char *err, size_t errlen)
{
	const struct perf_tool *t = mine->tool;
	char prov[PERF_PROV_LEN];
	uint64_t size, iters;
	uint32_t depth;

	/* The socket path always reads PERF_HELLO_LEN bytes; this guards
	 * other callers (the fuzz target) from reading past @b. */
	if (len != PERF_HELLO_LEN) {
		snprintf(err, errlen, "the peer's hello is %zu bytes, not %d",
			 len, PERF_HELLO_LEN);
		return -1;
	}
	if (perf_get_u32(b) != PERF_MAGIC) {
		snprintf(err, errlen, "the peer is not a Skiff benchmark (bad "
				      "magic); wrong port?");
		return -1;
	}
	if (b[4] != 0 || b[5] != PERF_VERSION) {
		snprintf(err, errlen, "the peer speaks exchange version %u, "
				      "we speak %u", b[4] << 8 | b[5],
			 PERF_VERSION);
		return -1;
	}
	if (b[6] != 0 || b[7] != t->test) {
		snprintf(err, errlen, "the peer runs another test (id %u, we "
				      "are %u); run the same tool on both "
				      "sides", b[6] << 8 | b[7], t->test);
		return -1;
	}
	memcpy(prov, b + 32, sizeof(prov));
	if (prov[PERF_PROV_LEN - 1] != '\0' ||
	    strcmp(prov, attr->provider) != 0) {
		prov[PERF_PROV_LEN - 1] = '\0';
		snprintf(err, errlen, "the peer uses provider '%s', we use "
				      "'%s'; set the same SKIFF_PROVIDER on "
				      "both", prov, attr->provider);
		return -1;
	}
	size = perf_get_u64(b + 8);
	iters = perf_get_u64(b + 16);
	depth = perf_get_u32(b + 24);
	if (size < t->min_size || size > PERF_MAX_SIZE_S ||
	    size > attr->max_msg ||
	    (t->test == PERF_TEST_ATOMIC_LAT && size != 8) ||
	    iters < t->min_iters || iters > PERF_MAX_ITERS || depth < 1 ||
	    depth > PERF_MAX_TX_DEPTH || b[28] > 1 || b[29] > 1 ||
	    b[30] > 1) {
		snprintf(err, errlen, "the peer asked for parameters out of "
				      "range (size %llu, iterations %llu, tx "
				      "depth %u); refused",
			 (unsigned long long)size, (unsigned long long)iters,
			 depth);
		return -1;
	}
	if (mine->server != NULL) {
		/* The server echoes what it adopted: it must be ours. */
		if (size != mine->size || iters != mine->iters ||
		    depth != mine->tx_depth || b[28] != mine->all_sizes ||
		    b[29] != mine->atomic) {
			snprintf(err, errlen, "the server did not agree to our "
					      "parameters");
			return -1;
		}
		*agreed = *mine;
		return 0;
	}
	/* -e (b[30]) is each side's own business: not adopted. */
	*agreed = *mine;
	agreed->size = (size_t)size;
	agreed->iters = (unsigned long)iters;
	agreed->tx_depth = depth;
	agreed->all_sizes = b[28];
	agreed->atomic = b[29];
	return 0;
}

/* Check the peer's hello and, on the server, adopt its parameters. */
static int perf_hello_check(struct perf_ctx *c, const uint8_t *b)
{
	char err[PERF_ERR_LEN];
	struct perf_opts agreed;

	if (perf_hello_parse(b, PERF_HELLO_LEN, &c->opts, &c->attr, &agreed,
			     err, sizeof(err))) {
		fprintf(stderr, "%s: %s\n", perf_name(c), err);
		return -1;
	}
	c->opts = agreed;
	return 0;
}

/* Client sends its hello, server checks and echoes. */
static int perf_hello(struct perf_ctx *c)
{
	uint8_t b[PERF_HELLO_LEN];

	if (!c->is_server) {
		perf_hello_pack(&c->opts, c->attr.provider, b);
		if (perf_sock_write(c, b, sizeof(b)) ||
		    perf_sock_read(c, b, sizeof(b)))
			return -1;
		return perf_hello_check(c, b);
	}
	if (perf_sock_read(c, b, sizeof(b)) || perf_hello_check(c, b))
		return -1;
	perf_hello_pack(&c->opts, c->attr.provider, b);
	return perf_sock_write(c, b, sizeof(b));
}

static int perf_ctx_alloc(struct perf_ctx *c)
{
	const struct perf_opts *o = &c->opts;
	size_t sizes[32], max = 0, len;
	unsigned n = perf_opts_sizes(o, sizes);
	sk_status_t st;

	for (unsigned i = 0; i < n; i++)
		if (sizes[i] > max)
			max = sizes[i];
	c->slot_len = (max + PERF_SLOT_ALIGN - 1) & ~(size_t)(PERF_SLOT_ALIGN - 1);
	c->buf_len = PERF_SLOT_ALIGN + o->tool->slots * c->slot_len;
	len = (c->buf_len + 4095) & ~(size_t)4095;
	c->buf = aligned_alloc(4096, len);
	if (c->buf == NULL) {
		fprintf(stderr, "%s: cannot allocate %zu bytes\n",
			perf_name(c), len);
		return -1;
	}
	memset(c->buf, 0, len);
	st = sk_mr_reg(c->dev, c->buf, c->buf_len, SK_ACCESS_ALL, &c->mr);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot register %zu bytes: %s\n",
			perf_name(c), c->buf_len, sk_status_str(st));
		free(c->buf);
		c->buf = NULL;
		return -1;
	}
	return 0;
}

/* Swap endpoint addresses and memory descriptors; connect; import. */
static int perf_ctx_connect(struct perf_ctx *c)
{
	uint8_t addr[SK_BLOB_MAX], desc[SK_BLOB_MAX];
	size_t alen = sizeof(addr), dlen = sizeof(desc);
	sk_status_t st;

	st = sk_ep_create(c->dev, &c->ep);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot create an endpoint: %s\n",
			perf_name(c), sk_status_str(st));
		return -1;
	}
	if ((st = sk_ep_addr_pack(c->ep, addr, &alen)) ||
	    (st = sk_mr_pack(c->mr, desc, &dlen))) {
		fprintf(stderr, "%s: cannot pack our address: %s\n",
			perf_name(c), sk_status_str(st));
		goto err_destroy_ep;
	}
	if (perf_blob_send(c, addr, alen) || perf_blob_send(c, desc, dlen))
		goto err_destroy_ep;
	if (perf_blob_recv(c, addr, &alen, "an endpoint address") ||
	    perf_blob_recv(c, desc, &dlen, "a memory descriptor"))
		goto err_destroy_ep;
	st = sk_ep_connect(c->ep, addr, alen);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot connect to the peer's endpoint: "
				"%s\n", perf_name(c), sk_status_str(st));
		goto err_destroy_ep;
	}
	st = sk_rkey_unpack(c->ep, desc, dlen, &c->rkey);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot import the peer's memory "
				"descriptor: %s\n", perf_name(c),
			sk_status_str(st));
		goto err_destroy_ep;
	}
	/* Both sides computed the same layout from the same parameters. */
	if (sk_rkey_len(c->rkey) < c->buf_len ||
	    (sk_rkey_access(c->rkey) & SK_ACCESS_ALL) != SK_ACCESS_ALL) {
		fprintf(stderr, "%s: the peer registered %llu bytes with "
				"rights 0x%x; we need %zu with all rights\n",
			perf_name(c),
			(unsigned long long)sk_rkey_len(c->rkey),
			sk_rkey_access(c->rkey), c->buf_len);
		goto err_destroy_rkey;
	}
	c->raddr = sk_rkey_addr(c->rkey);
	return 0;

err_destroy_rkey:
	sk_rkey_destroy(c->rkey);
	c->rkey = NULL;
err_destroy_ep:
	sk_ep_destroy(c->ep);
	c->ep = NULL;
	return -1;
}

int perf_ctx_init(struct perf_ctx *c, const struct perf_opts *o)
{
	sk_status_t st;
	int ret;

	*c = (struct perf_ctx){.opts = *o, .sock = -1,
			       .is_server = o->server == NULL};
	st = sk_dev_open(o->provider, o->device, &c->dev);
	if (st != SK_OK) {
		fprintf(stderr, "%s: cannot open the device (provider %s, "
				"device %s): %s\n", perf_name(c),
			o->provider ? o->provider : "$SKIFF_PROVIDER",
			o->device ? o->device : "default", sk_status_str(st));
		return PERF_EXIT_FAIL;
	}
	sk_dev_query(c->dev, &c->attr);
	c->progress_peer = strcmp(c->attr.provider, "rdma") != 0;

	ret = c->is_server ? perf_listen(c) : perf_connect(c);
	if (ret)
		goto err_close_dev;
	ret = PERF_EXIT_FAIL;
	setsockopt(c->sock, IPPROTO_TCP, TCP_NODELAY, &(int){1}, sizeof(int));
	if (perf_hello(c))
		goto err_close_sock;
	if (perf_ctx_alloc(c))
		goto err_close_sock;
	if (perf_ctx_connect(c))
		goto err_dereg;
	if (perf_ctx_sync(c))
		goto err_disconnect;
	return 0;

err_disconnect:
	sk_rkey_destroy(c->rkey);
	sk_ep_destroy(c->ep);
err_dereg:
	sk_mr_dereg(c->mr);
	free(c->buf);
err_close_sock:
	close(c->sock);
err_close_dev:
	sk_dev_close(c->dev);
	c->dev = NULL;
	return ret;
}

void perf_ctx_cleanup(struct perf_ctx *c)
{
	if (c->dev == NULL)
		return;
	sk_rkey_destroy(c->rkey);
	sk_ep_destroy(c->ep);
	sk_mr_dereg(c->mr);
	sk_dev_close(c->dev);
	free(c->buf);
	close(c->sock);
	c->dev = NULL;
}

int perf_ctx_sync(struct perf_ctx *c)
{
	uint32_t seq = ++c->sync_seq, got;

	/* The server speaks second, so a server that reaches the barrier
	 * early sends nothing while the client is still in its test (where
	 * perf_ctx_peer_gone() takes data on the socket for a failure). */
	if (c->is_server) {
		if (perf_ctx_recv_u32(c, &got) || perf_ctx_send_u32(c, seq))
			return -1;
	} else if (perf_ctx_send_u32(c, seq) || perf_ctx_recv_u32(c, &got)) {
		return -1;
	}
	if (got != seq) {
		fprintf(stderr, "%s: the peer is out of step (barrier %u, "
				"ours %u)\n", perf_name(c), got, seq);
		return -1;
	}
	return 0;
}

int perf_ctx_peer_gone(struct perf_ctx *c)
{
	struct pollfd pfd = {.fd = c->sock, .events = POLLIN};
	char byte;
	ssize_t n;

	if (++c->spins % PERF_GONE_EVERY)
		return 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	n = recv(c->sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		fprintf(stderr, "%s: the peer stopped the test (see its "
				"messages)\n", perf_name(c));
	else
		fprintf(stderr, "%s: the peer went away during the test%s%s\n",
			perf_name(c), n < 0 ? ": " : "",
			n < 0 ? strerror(errno) : "");
	return 1;
}

int perf_ctx_poll(struct perf_ctx *c, struct sk_wc *wc, int max,
		  const char *what)
{
	int n = 0;

	while (n < max && c->stash_tail != c->stash_head)
		wc[n++] = c->stash[c->stash_tail++ % PERF_STASH];
	if (n == 0) {
		n = sk_dev_poll(c->dev, wc, max);
		if (n < 0) {
			fprintf(stderr, "%s: polling the device failed during "
					"%s: %s\n", perf_name(c), what,
				sk_status_str((sk_status_t)n));
			return -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (wc[i].status == SK_OK)
			continue;
		fprintf(stderr, "%s: %s: a %s completed with error: %s\n",
			perf_name(c), what, sk_opcode_str(wc[i].opcode),
			sk_status_str(wc[i].status));
		return -1;
	}
	return n;
}

int perf_ctx_progress(struct perf_ctx *c, const char *what)
{
	struct sk_wc wc[16];

	return perf_ctx_poll(c, wc, 16, what);
}

int perf_ctx_wait_one(struct perf_ctx *c, struct sk_wc *wc, const char *what)
{
	for (;;) {
		int n;

		if (c->opts.events && c->stash_tail == c->stash_head) {
			n = sk_dev_wait(c->dev, wc, 1, 1000);
			if (n == 1 && wc->status != SK_OK) {
				fprintf(stderr, "%s: %s: a %s completed with "
						"error: %s\n", perf_name(c),
					what, sk_opcode_str(wc->opcode),
					sk_status_str(wc->status));
				return -1;
			}
			if (n < 0)
				fprintf(stderr, "%s: %s: waiting for a "
						"completion failed: %s\n",
					perf_name(c), what,
					sk_status_str((sk_status_t)n));
			c->spins = PERF_GONE_EVERY - 1; /* look every time */
		} else {
			n = perf_ctx_poll(c, wc, 1, what);
		}
		if (n < 0)
			return -1;
		if (n == 1)
			return 0;
		if (perf_ctx_peer_gone(c))
			return -1;
	}
}

/* ---- reports ---- */

void perf_print_line(void)
{
	printf("---------------------------------------------------------------"
	       "------------------------\n");
}

void perf_ctx_print_header(const struct perf_ctx *c)
{
	const struct perf_opts *o = &c->opts;
	const struct sk_dev_attr *a = &c->attr;
	char port[16];

	snprintf(port, sizeof(port), "%u", o->port);
	perf_print_line();
	printf("                    %s\n", o->tool->title);
	printf(" %-16s: %-14s %-15s: %s\n", "Provider", a->provider, "Device",
	       a->name);
	printf(" %-16s: %s\n", "Transport type", a->transport);
	printf(" %-16s: %-14s %-15s: %s\n", "Connection type", "RC", "Role",
	       c->is_server ? "server" : "client");
	if (o->tool->test == PERF_TEST_WRITE_BW)
		printf(" %-16s: %-14lu %-15s: %u\n", "Number of iters",
		       o->iters, "TX depth", o->tx_depth);
	else
		printf(" %-16s: %-14lu %-15s: %d\n", "Number of iters",
		       o->iters, "TX depth", 1);
	printf(" %-16s: %-14u %-15s: %s\n", "SQ depth", a->sq_depth,
	       "Native atomics", a->native_atomics ? "yes" : "no");
	printf(" %-16s: %zu[B]\n", "Max inline data", a->max_inline);
	if (o->tool->test == PERF_TEST_ATOMIC_LAT)
		printf(" %-16s: %s\n", "Atomic type",
		       o->atomic == PERF_ATOMIC_CAS ? "CMP_AND_SWAP"
						    : "FETCH_AND_ADD");
	printf(" %-16s: %-14s %-15s: %s\n", "Data ex. method", "Ethernet",
	       "TCP port", port);
	perf_print_line();
}

void perf_lat_print_head(void)
{
	printf(" #bytes #iterations    t_min[usec]    t_max[usec]  "
	       "t_typical[usec]    t_avg[usec]    t_stdev[usec]   "
	       "99%% percentile[usec]   99.9%% percentile[usec] \n");
}

static int perf_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void perf_lat_print_row(size_t size, unsigned long iters, uint64_t *ns,
			size_t n, unsigned divisor)
{
	double f = 1000.0 * divisor, sum = 0, var = 0, avg;

	if (n == 0)
		return;
	qsort(ns, n, sizeof(*ns), perf_cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)ns[i];
	avg = sum / (double)n;
	for (size_t i = 0; i < n; i++)
		var += ((double)ns[i] - avg) * ((double)ns[i] - avg);
	printf(" %-7zu %-10lu %-7.2f        %-7.2f      %-7.2f          "
	       " %-7.2f        %-7.2f         %-7.2f                %-7.2f\n",
	       size, iters, (double)ns[0] / f, (double)ns[n - 1] / f,
	       (double)ns[n / 2] / f, avg / f, sqrt(var / (double)n) / f,
	       (double)ns[(size_t)((double)n * 0.99)] / f,
	       (double)ns[(size_t)((double)n * 0.999)] / f);
}

void perf_bw_print_head(void)
{
	printf(" #bytes     #iterations    BW peak[MB/sec]    "
	       "BW average[MB/sec]   MsgRate[Mpps]\n");
}

void perf_bw_print_row(size_t size, unsigned long iters, double peak_mbs,
		       double avg_mbs, double mpps)
{
	printf(" %-7zu    %-10lu       %-7.2f            %-7.2f              "
	       "%-7.6f\n", size, iters, peak_mbs, avg_mbs, mpps);
}

/* ---- patterns ---- */

static inline uint64_t perf_xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

void perf_fill(void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)perf_xorshift(&x);
}

long perf_check(const void *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	const uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)perf_xorshift(&x))
			return (long)i;
	return -1;
}

int perf_ctx_start(struct perf_ctx *c, const struct perf_tool *tool,
		   int argc, char **argv)
{
	struct perf_opts opts;
	int ret = perf_opts_parse(&opts, tool, argc, argv);

	if (ret >= 0)
		return ret;
	ret = perf_ctx_init(c, &opts);
	return ret ? ret : -1;
}
