/*
 * Boot and finalize of a node: the path from the program's entry to its
 * main() and back (the "Boot" flow of libos/README.md).
 *
 *   __wrap_main -> read SKIFF_BOOTSTRAP, the secret, rank and size
 *     -> open the device, map and register the arena (local use only),
 *        carve the bulk bounce region (the one part the host may read
 *        and write), make the host's endpoint
 *     -> TCP hello with its address; welcome with the host's
 *     -> connect, post receives, READY over the fabric
 *     -> BOOT reply (sent once every node is ready): argv and environment
 *     -> LISTEN for nodes that connect to this one (peer.c)
 *     -> console streams, atexit finalize, crash flush, optional seal
 *     -> main()
 *
 * Nothing here grows with the job's size: endpoints to other nodes are made
 * when first used (peer.c). Everything after the welcome crosses the
 * fabric. The host's replies arrive on the node's channel; sk_node_call()
 * runs the loop until its reply is in.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <skiff/config.h>
#include <skiff/os.h>

#include "arena_priv.h"
#include "console.h"
#include "fmem.h"
#include "node.h"
#include "peer.h"
#include "seal.h"

/* The SKIFF_* table this file reads from (skiff/config.h). */
SK_CONFIG_USES(sk_os_config);

int __real_main(int argc, char **argv, char **envp);
int __wrap_main(int argc, char **argv, char **envp);

static void sk_boot_die(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static void sk_boot_die(const char *fmt, ...)
{
	va_list ap;

	fputs("skiff: boot failed: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	/* What boot opened goes back before the exit: a provider's objects
	 * that only its shared memory points to would otherwise be lost
	 * (and said so by LeakSanitizer, as the fault walk found). */
	sk_ep_destroy(sk_node.host_ep);
	sk_node.host_ep = NULL;
	sk_arena_destroy(sk_node.arena);
	sk_node.arena = NULL;
	sk_loop_destroy(sk_node.loop);
	sk_node.loop = NULL;
	sk_dev_close(sk_node.dev);
	sk_node.dev = NULL;
	sk_node_peers_close(); /* none made yet: only the room for them */
	exit(1);
}

/* ---- the bootstrap exchange (TCP) ---- */

static int sk_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	if (hex == NULL || strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < 2 * n; i++) {
		char ch = hex[i];
		int v;

		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v = ch - 'A' + 10;
		else
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static unsigned long sk_env_ulong(const char *name, unsigned long max)
{
	const char *s = getenv(name);
	unsigned long v;
	char *end;

	if (s == NULL || *s == '\0')
		sk_boot_die("%s is not set (start the program with skrun)",
			    name);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || s[0] == '-' || v > max)
		sk_boot_die("%s='%s' is not a number up to %lu", name, s, max);
	return v;
}

/*
 * Connect @fd to @ai before @deadline_ns. Non-blocking, then poll: a host
 * that never answers the SYN (a filtered port, an address that routes
 * nowhere, a listener whose backlog is full) must cost the node its
 * timeout, not the kernel's minutes of SYN retries. 0, or -1 with errno.
 */
static int sk_boot_connect_one(int fd, const struct addrinfo *ai,
			       uint64_t deadline_ns)
{
	socklen_t sl = sizeof(int);
	int err = 0;

	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		uint64_t now = sk_time_ns();
		int rc;

		if (now >= deadline_ns) {
			errno = ETIMEDOUT;
			return -1;
		}
		rc = poll(&pfd, 1, (int)((deadline_ns - now) / 1000000 + 1));
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc > 0)
			break;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		return -1;
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}

static int sk_boot_connect(const char *addr, uint64_t deadline_ns)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM};
	struct addrinfo *res, *ai;
	char host[256];
	const char *colon = strrchr(addr, ':');
	int fd = -1, rc, one = 1, err = 0;

	if (colon == NULL || colon == addr ||
	    (size_t)(colon - addr) >= sizeof(host) || colon[1] == '\0')
		sk_boot_die("%s='%s' is not host:port", SK_ENV_BOOTSTRAP,
			    addr);
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = '\0';
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0)
		sk_boot_die("%s='%s': %s", SK_ENV_BOOTSTRAP, addr,
			    gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (sk_boot_connect_one(fd, ai, deadline_ns) == 0)
			break;
		err = errno;
		close(fd);
		fd = -1;
		if (err == ETIMEDOUT)
			break; /* the whole budget is spent */
	}
	freeaddrinfo(res);
	if (fd < 0 && err == ETIMEDOUT)
		sk_boot_die("cannot reach the host at %s: no answer within "
			    "SKIFF_BOOT_TIMEOUT_MS", addr);
	if (fd < 0)
		sk_boot_die("cannot reach the host at %s: %s", addr,
			    strerror(err));
	/* The exchange that follows has its own deadline (sk_boot_read)
	 * and sends a few hundred bytes into a fresh socket: blocking. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		sk_boot_die("bootstrap socket: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void sk_boot_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			sk_boot_die("bootstrap send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Read exactly @len bytes before @deadline_ns; 0, or -1 on EOF. */
static int sk_boot_read(int fd, void *buf, size_t len, uint64_t deadline_ns)
{
	char *p = buf;

	while (len > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		uint64_t now = sk_time_ns();
		ssize_t n;

		if (now >= deadline_ns)
			sk_boot_die("no answer from the host within "
				    "SKIFF_BOOT_TIMEOUT_MS");
		if (poll(&pfd, 1, (int)((deadline_ns - now) / 1000000 + 1)) <
		    0 && errno != EINTR)
			sk_boot_die("bootstrap poll: %s", strerror(errno));
		if (pfd.revents == 0)
			continue;
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			sk_boot_die("bootstrap receive: %s", strerror(errno));
		if (n == 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void sk_boot_put_blob(int fd, const void *blob, size_t len)
{
	uint16_t l = (uint16_t)len;

	sk_boot_write(fd, &l, sizeof(l));
	if (len)
		sk_boot_write(fd, blob, len);
}

static size_t sk_boot_get_blob(int fd, void *blob, uint64_t deadline_ns)
{
	uint16_t l;

	if (sk_boot_read(fd, &l, sizeof(l), deadline_ns) < 0)
		sk_boot_die("the host closed the bootstrap connection");
	if (l > SK_BLOB_MAX)
		sk_boot_die("malformed welcome (a %u-byte address)", l);
	if (l && sk_boot_read(fd, blob, l, deadline_ns) < 0)
		sk_boot_die("the host closed the bootstrap connection");
	return l;
}

static void sk_boot_exchange(const char *addr, const uint8_t *secret)
{
	struct sk_boot_hello hello = {
		.magic = SK_BOOT_MAGIC, .version = SK_BOOT_VERSION,
		.rank = sk_node.rank, .size = sk_node.size,
	};
	struct sk_boot_welcome w;
	unsigned long timeout_ms;
	uint64_t deadline;
	char blob[SK_BLOB_MAX];
	size_t len = sizeof(blob);
	sk_status_t st;
	int fd;

	if (sk_config_ulong("SKIFF_BOOT_TIMEOUT_MS", 1, 3600000,
			    &timeout_ms) != SK_OK)
		exit(1);
	deadline = sk_time_ns() + timeout_ms * 1000000ull;
	memcpy(hello.secret, secret, SK_BOOT_SECRET_LEN);
	st = sk_ep_addr_pack(sk_node.host_ep, blob, &len);
	if (st != SK_OK)
		sk_boot_die("endpoint address: %s", sk_status_str(st));
	fd = sk_boot_connect(addr, deadline);
	sk_boot_write(fd, &hello, sizeof(hello));
	sk_boot_put_blob(fd, blob, len);
	explicit_bzero(&hello, sizeof(hello));

	if (sk_boot_read(fd, &w, sizeof(w), deadline) < 0)
		sk_boot_die("the host at %s closed the connection "
			    "(is this the job's skrun?)", addr);
	if (w.magic != SK_BOOT_MAGIC || w.version != SK_BOOT_VERSION)
		sk_boot_die("%s does not speak Skiff's bootstrap", addr);
	if (w.result != SK_BOOT_OK)
		sk_boot_die("the host at %s refused rank %u: %s", addr,
			    sk_node.rank, sk_boot_result_str(w.result));
	if (w.size != sk_node.size)
		sk_boot_die("malformed welcome (size %u, not %u)", w.size,
			    sk_node.size);
	len = sk_boot_get_blob(fd, blob, deadline);
	st = sk_ep_connect(sk_node.host_ep, blob, len);
	if (st != SK_OK)
		sk_boot_die("connect to the host: %s", sk_status_str(st));
	close(fd);
}

/* ---- BOOT: argv and environment over the fabric ---- */

static char **sk_boot_strings(const char **pp, const char *end, uint32_t n)
{
	char **v = calloc((size_t)n + 1, sizeof(*v));
	const char *p = *pp;
	uint32_t i;

	if (v == NULL)
		sk_boot_die("out of memory");
	for (i = 0; i < n; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));

		if (nul == NULL)
			sk_boot_die("malformed BOOT message");
		v[i] = strdup(p);
		p = nul + 1;
	}
	*pp = p;
	return v;
}

/*
 * The host's bulk area for this node, where the host offers it (a memory
 * file on this machine, hostproto.h's struct sk_hmap): mapped, file
 * transfers copy into and out of it and the host reads and writes the
 * same pages, with no RDMA between (file.c). Mapping needs open(2), so it
 * is done here, before any seal. Anything short of a mapping of the whole
 * area leaves the bounce region in use; SKIFF_FILE_MAP=0 declines it.
 */
static void sk_boot_map_hostbuf(const void *desc, size_t len)
{
	uint64_t slices = SK_HMSG_BULK_DEPTH * (uint64_t)sk_node.chunk;
	unsigned long on;
	size_t maplen;
	char *p;

	if (sk_config_ulong("SKIFF_FILE_MAP", 0, 1, &on) != SK_OK || !on)
		return;
	p = sk_hmap_open(desc, len, &maplen);
	if (p == NULL)
		return;
	if (maplen < slices) {
		munmap(p, maplen);
		return;
	}
	sk_node.hostbuf = p;
	sk_node.hostbuf_len = maplen;
	if (maplen >= slices + SK_HMSG_CTL_SIZE)
		sk_node.hostctl = (uint32_t *)(p + slices);
	if (maplen > slices + SK_HMSG_CTL_SIZE) {
		/* The rest is the file memory (fmem.c). */
		sk_fmem_setup(p + slices + SK_HMSG_CTL_SIZE,
			      maplen - slices - SK_HMSG_CTL_SIZE);
	}
}

static char **sk_boot_receive(int *argc_p)
{
	static char buf[SK_HMSG_PAYLOAD_MAX];
	char mr[SK_BLOB_MAX];
	struct sk_hboot b;
	size_t len = sizeof(mr), got;
	const char *p;
	char **argv, **env;
	int64_t rc;
	uint32_t i;

	/* The host's key: the bounce region only, never the arena. */
	if (sk_mr_pack(sk_node.bounce_region.mr, mr, &len) != SK_OK)
		sk_boot_die("cannot describe the bounce buffer");
	rc = sk_node_call(SK_HMSG_READY, 0, mr, len, NULL, 0, buf,
			  sizeof(buf), &got);
	if (rc < 0)
		sk_boot_die("no BOOT from the host: %s", strerror((int)-rc));
	if (got < sizeof(b))
		sk_boot_die("malformed BOOT message");
	memcpy(&b, buf, sizeof(b));
	if (b.rank != sk_node.rank || b.size != sk_node.size || b.argc == 0 ||
	    b.argc > got || b.envc > got)
		sk_boot_die("malformed BOOT message");
	sk_node.job_id = b.job_id;
	p = buf + sizeof(b);
	argv = sk_boot_strings(&p, buf + got, b.argc);
	env = sk_boot_strings(&p, buf + got, b.envc);
	if ((size_t)(buf + got - p) != b.bulk_len ||
	    b.bulk_chunk < SK_HMSG_CHUNK_MIN ||
	    b.bulk_chunk > SK_HMSG_BULK_MAX ||
	    (b.bulk_chunk & (b.bulk_chunk - 1)) != 0)
		sk_boot_die("malformed BOOT message");
	sk_node.chunk = b.bulk_chunk;
	for (i = 0; i < b.envc; i++) {
		char *eq = strchr(env[i], '=');

		if (eq && eq != env[i]) {
			*eq = '\0';
			setenv(env[i], eq + 1, 1);
		}
		free(env[i]);
	}
	free(env);
	if (b.bulk_len > 0)
		sk_boot_map_hostbuf(p, b.bulk_len);
	*argc_p = (int)b.argc;
	return argv;
}

/* ---- boot, finalize, abort ---- */

static void sk_node_teardown(void)
{
	sk_node_peers_close();
	/* A block of the file memory still taken (malloc's, say) may be
	 * freed or read by what runs after this (exit handlers): its
	 * mapping stays until the process ends. */
	if (sk_node.hostbuf && !sk_fmem_busy()) {
		munmap(sk_node.hostbuf, sk_node.hostbuf_len);
		sk_node.hostbuf = NULL;
		sk_node.hostctl = NULL;
		sk_node.hostbuf_len = 0;
	}
	sk_chan_cleanup(&sk_node.chan);
	sk_ep_destroy(sk_node.host_ep);
	sk_arena_destroy(sk_node.arena);
	sk_loop_destroy(sk_node.loop);
	sk_dev_close(sk_node.dev);
	sk_node.dev = NULL;
	sk_node.booted = false;
}

static void sk_node_finalize(void)
{
	if (!sk_node.booted)
		return;
	/* Users of the fabric that libos outlives (rpc) go first, while
	 * their peers can still be told; nodes that connect from now on are
	 * refused. */
	sk_node_run_fini();
	sk_node_peers_flush(2000);
	/* Endpoints to other nodes go before the FINALIZE, which the host
	 * answers once every node has sent its own: no node tears down an
	 * endpoint to one that has exited (UCX would try to attach to the
	 * dead process's shared memory, and say so). A sealed node skips
	 * the provider's teardown, as below. */
	if (!sk_node.sealed)
		sk_node_peers_close();
	sk_console_flush();
	if (!sk_node.down) {
		/* The reply comes once the host has written everything this
		 * node said, and every node has finalized: nothing is lost at
		 * exit, and no node talks to this one any more. What they
		 * said before may still wait in the fabric (a UCX keepalive
		 * check of an endpoint this node has closed, whose answer
		 * needs the sender alive): handle it, then leave together. */
		if (sk_node_call(SK_HMSG_FINALIZE, 0, NULL, 0, NULL, 0, NULL,
				 0, NULL) == 0) {
			sk_dev_drain(sk_node.dev);
			sk_node_call(SK_HMSG_FINALIZE, SK_HFIN_LEAVE, NULL, 0,
				     NULL, 0, NULL, 0, NULL);
		}
	}
	sk_node.down = true;
	/* A sealed node cannot make the system calls a provider's teardown
	 * does (UCX closes sockets it would reopen); the exit that follows
	 * releases everything anyway. */
	if (!sk_node.sealed)
		sk_node_teardown();
}

static void sk_node_boot(void)
{
	const char *addr = getenv(SK_ENV_BOOTSTRAP);
	const char *jobid = getenv(SK_ENV_JOBID);
	uint8_t secret[SK_BOOT_SECRET_LEN];
	sk_status_t st;

	if (sk_hex_decode(getenv(SK_ENV_SECRET), secret, sizeof(secret)))
		sk_boot_die("%s must be %d hex digits", SK_ENV_SECRET,
			    2 * SK_BOOT_SECRET_LEN);
	/* The secret is the job's, not the application's: keep it out of
	 * what main() and its children see. */
	unsetenv(SK_ENV_SECRET);
	sk_node.size = (unsigned)sk_env_ulong(SK_ENV_SIZE, 1u << 20);
	sk_node.rank = (unsigned)sk_env_ulong(SK_ENV_RANK, 1u << 20);
	if (sk_node.size == 0 || sk_node.rank >= sk_node.size)
		sk_boot_die("rank %u is outside a job of size %u",
			    sk_node.rank, sk_node.size);
	sk_node.job_id = jobid ? strtoull(jobid, NULL, 10) : 0;

	st = sk_dev_open(NULL, NULL, &sk_node.dev);
	if (st != SK_OK)
		sk_boot_die("no fabric device: %s", sk_status_str(st));
	st = sk_loop_create(sk_node.dev, &sk_node.loop);
	if (st != SK_OK)
		sk_boot_die("event loop: %s", sk_status_str(st));
	/* Local rights only: the channel's slots, rpc's small buffers and
	 * whatever the application keeps here are no peer's to write.
	 * What peers may touch gets a region of its own (arena.h). */
	st = sk_arena_create(sk_node.dev, 0, SK_ACCESS_LOCAL, &sk_node.arena);
	if (st != SK_OK)
		sk_boot_die("arena: %s", sk_status_str(st));
	/* The host RDMA-writes file reads into it and RDMA-reads file
	 * writes out of it (file.c); nothing else is there. */
	st = sk_arena_region(sk_node.arena, SK_HMSG_BOUNCE_SIZE,
			     SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE,
			     &sk_node.bounce_region);
	if (st != SK_OK) /* the arena or the provider said why, above */
		sk_boot_die("bounce buffer: %s", sk_status_str(st));
	sk_node.bounce = sk_node.bounce_region.base;
	st = sk_ep_create_attr(sk_node.dev, &SK_CHAN_EP_ATTR,
			       &sk_node.host_ep);
	if (st != SK_OK)
		sk_boot_die("endpoint: %s", sk_status_str(st));
	if (sk_node_peers_init() != 0)
		sk_boot_die("out of memory");

	sk_boot_exchange(addr, secret);
	memset(secret, 0, sizeof(secret));

	sk_node.chan.on_msg = sk_node_on_msg;
	sk_node.chan.on_error = sk_node_on_error;
	st = sk_chan_init(&sk_node.chan, sk_node.loop, sk_node.arena,
			  sk_node.host_ep);
	if (st != SK_OK)
		sk_boot_die("host channel: %s", sk_status_str(st));
	sk_node.booted = true;
}

int __wrap_main(int argc, char **argv, char **envp)
{
	const char *seal;
	char **nargv;
	int nargc;

	if (getenv(SK_ENV_BOOTSTRAP) == NULL)
		return __real_main(argc, argv, envp);
	sk_node_boot();
	nargv = sk_boot_receive(&nargc);
	sk_node_listen_start();
	sk_console_install();
	atexit(sk_node_finalize);
	seal = sk_config_str("SKIFF_SEAL");
	if (strcmp(seal, "0") != 0 && strcmp(seal, "") != 0) {
		/* A sealed node cannot make endpoints (memfd, shared memory,
		 * sockets): connect to every node first, as the nodes did at
		 * boot before connections were made on first use. */
		if (sk_node_peers_connect_all() != 0)
			sk_os_abort(1, "SKIFF_SEAL: cannot connect to every "
				       "node before sealing");
		/* Shared-memory segments need open(2), which sealing
		 * takes away (verbs/README.md, "sk_mr_alloc"). */
		sk_arena_no_direct(sk_node.arena);
		if (sk_seal() != 0)
			sk_os_abort(1, "SKIFF_SEAL: cannot seal this node");
	}
	exit(__real_main(nargc, nargv, environ));
}

void sk_os_abort(int code, const char *fmt, ...)
{
	char msg[1024];
	int32_t c = code;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!sk_node_linked()) {
		fprintf(stderr, "skiff: abort: %s\n", msg);
		_exit(code);
	}
	sk_console_flush();
	sk_node_call(SK_HMSG_ABORT, 0, &c, sizeof(c), msg, strlen(msg) + 1,
		     NULL, 0, NULL);
	_exit(code);
}

void sk_os_sleep_ms(uint64_t ms)
{
	uint64_t end = sk_time_ns() + ms * 1000000ull;

	if (!sk_node.booted) {
		struct timespec ts = {(time_t)(ms / 1000),
				      (long)(ms % 1000) * 1000000};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		return;
	}
	for (;;) {
		uint64_t now = sk_time_ns();

		if (now >= end)
			return;
		sk_loop_run_once(sk_node.loop,
				 (int)((end - now + 999999) / 1000000));
	}
}
