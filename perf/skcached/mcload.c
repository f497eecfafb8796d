// SPDX-License-Identifier: MIT
/*
 * mcload - a small memcached load generator: C connections over TCP, each
 * with one request outstanding at a time (a closed loop, as memcslap and
 * memaslap drive a server), text-protocol GETs and SETs of fixed-size
 * values over a fixed key set, for a fixed time.
 *
 * It exists because memcslap 1.1 has no option for value sizes and no
 * latency percentiles, and memaslap is not shipped any more: the
 * benchmark of issue 13 needs both (perf/skcached/vs-memcached.sh).
 *
 * One thread drives every connection through epoll, so that on a small
 * machine the loader takes one core and leaves the rest to the server.
 * Every answer is checked (a GET must return the value size it asked
 * for, a SET must be STORED); a wrong answer fails the run.
 *
 * Phases: load every key with a SET (pipelined on one connection), then
 * run for --warmup seconds unmeasured, then --time seconds measured.
 * Each latency (request written to whole answer read) of the measured
 * phase is kept, so p50/p99 are exact. With --pid, the CPU time of those
 * processes and all their descendants (utime + stime from /proc/N/stat,
 * threads included) is read at the start and the end of the measured
 * phase: the server's CPU over exactly the measured operations.
 *
 * Output: one line of key=value pairs (see report()).
 * Exit status: 0 ok, 1 the run failed, 2 bad command line.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MCL_MAX_CONNS	1024
#define MCL_MAX_VALUE	(1024 * 1024 - 4096)	/* well inside memcached's -I 1m */
#define MCL_MAX_PIDS	16
#define MCL_KEY_FMT	"key:%010u"
#define MCL_KEY_LEN	14

struct mcl_opts {
	const char *host;
	const char *port;
	int conns;
	int get_pct;		/* GETs per 100 requests; the rest are SETs */
	int value;		/* value size in bytes */
	unsigned int keys;
	double warmup;
	double time;
	int npids;
	pid_t pids[MCL_MAX_PIDS];
	unsigned int seed;
};

struct mcl_conn {
	int fd;
	int is_get;		/* the request in flight */
	uint64_t sent_ns;
	uint64_t rng;
	size_t rlen;		/* bytes in rbuf */
	char *rbuf;
	size_t rcap;
};

struct mcl_run {
	struct mcl_opts o;
	struct mcl_conn *c;
	char *value;		/* the value every SET stores */
	char *req;		/* request scratch */
	uint32_t *lat_ns;	/* measured latencies */
	size_t nlat, lat_cap;
	uint64_t gets, sets, misses;
	int measuring;
};

static void __attribute__((format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("mcload: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: cheap, and each connection has its own stream */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcload -s HOST:PORT [-c CONNS] [-g GET_PCT] [-v BYTES] [-k KEYS]\n"
		"              [-w SECONDS] [-t SECONDS] [-P PID]... [-S SEED]\n"
		"  -s HOST:PORT  the memcached-protocol server\n"
		"  -c CONNS      connections, one request in flight on each (1..%d; default 1)\n"
		"  -g GET_PCT    GETs per 100 requests, the rest SETs (0..100; default 100)\n"
		"  -v BYTES      value size (1..%d; default 32)\n"
		"  -k KEYS       keys, all loaded before the run (1..10^9; default 10000)\n"
		"  -w SECONDS    unmeasured warm-up (0..600; default 0.5)\n"
		"  -t SECONDS    measured time (0.1..3600; default 3)\n"
		"  -P PID        count the CPU of PID and its descendants (up to %d times)\n"
		"  -S SEED       key choice seed (default 1)\n",
		MCL_MAX_CONNS, MCL_MAX_VALUE, MCL_MAX_PIDS);
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "mcload: %s: '%s' is not an integer in %ld..%ld\n",
			opt, s, min, max);
		exit(2);
	}
	return v;
}

static double parse_secs(const char *opt, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= min && v <= max)) {
		fprintf(stderr, "mcload: %s: '%s' is not a number of seconds in %g..%g\n",
			opt, s, min, max);
		exit(2);
	}
	return v;
}

static void parse_opts(struct mcl_opts *o, int argc, char **argv)
{
	static char hostbuf[256];
	char *colon;
	int ch;

	memset(o, 0, sizeof(*o));
	o->conns = 1;
	o->get_pct = 100;
	o->value = 32;
	o->keys = 10000;
	o->warmup = 0.5;
	o->time = 3;
	o->seed = 1;
	while ((ch = getopt(argc, argv, "s:c:g:v:k:w:t:P:S:h")) != -1) {
		switch (ch) {
		case 's':
			if (strlen(optarg) >= sizeof(hostbuf)) {
				fprintf(stderr, "mcload: -s: address too long\n");
				exit(2);
			}
			strcpy(hostbuf, optarg);
			colon = strrchr(hostbuf, ':');
			if (!colon || colon == hostbuf || !colon[1]) {
				fprintf(stderr, "mcload: -s: '%s' is not HOST:PORT\n", optarg);
				exit(2);
			}
			*colon = '\0';
			o->host = hostbuf;
			o->port = colon + 1;
			parse_long("-s port", o->port, 1, 65535);
			break;
		case 'c':
			o->conns = (int)parse_long("-c", optarg, 1, MCL_MAX_CONNS);
			break;
		case 'g':
			o->get_pct = (int)parse_long("-g", optarg, 0, 100);
			break;
		case 'v':
			o->value = (int)parse_long("-v", optarg, 1, MCL_MAX_VALUE);
			break;
		case 'k':
			o->keys = (unsigned int)parse_long("-k", optarg, 1, 1000000000);
			break;
		case 'w':
			o->warmup = parse_secs("-w", optarg, 0, 600);
			break;
		case 't':
			o->time = parse_secs("-t", optarg, 0.1, 3600);
			break;
		case 'P':
			if (o->npids == MCL_MAX_PIDS) {
				fprintf(stderr, "mcload: -P: at most %d\n", MCL_MAX_PIDS);
				exit(2);
			}
			o->pids[o->npids++] = (pid_t)parse_long("-P", optarg, 1, 1 << 30);
			break;
		case 'S':
			o->seed = (unsigned int)parse_long("-S", optarg, 0, 1L << 31);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "mcload: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
	if (!o->host) {
		fprintf(stderr, "mcload: -s HOST:PORT is required\n");
		usage(stderr);
		exit(2);
	}
}

/*
 * CPU seconds (utime + stime) of the processes in pids[] and every
 * descendant of theirs, from /proc. A descendant that has exited and been
 * reaped is in its parent's cutime, which a server's lifetime children
 * (the nodes) are not: they live as long as it does.
 */
struct mcl_proc {
	pid_t pid, ppid;
	unsigned long long ticks;
};

static double tree_cpu(const pid_t *pids, int npids, int *found)
{
	struct mcl_proc *p = NULL;
	size_t n = 0, cap = 0, i;
	char *in;
	struct dirent *de;
	double secs = 0;
	int changed;
	DIR *d;

	*found = 0;
	d = opendir("/proc");
	if (!d)
		die("/proc: %s", strerror(errno));
	while ((de = readdir(d))) {
		char path[300], buf[1024], *rp;
		unsigned long long ut, st;
		int ppid, fd;
		ssize_t len;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;	/* exited meanwhile */
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		/* the name is in parentheses and may hold anything: skip to
		 * the last ')' */
		rp = strrchr(buf, ')');
		if (!rp || sscanf(rp + 1,
				  " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				  &ppid, &ut, &st) != 3)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			p = realloc(p, cap * sizeof(*p));
			if (!p)
				die("out of memory");
		}
		p[n].pid = (pid_t)atoi(de->d_name);
		p[n].ppid = ppid;
		p[n].ticks = ut + st;
		n++;
	}
	closedir(d);

	in = calloc(n ? n : 1, 1);
	if (!in)
		die("out of memory");
	for (i = 0; i < n; i++)
		for (int j = 0; j < npids; j++)
			if (p[i].pid == pids[j])
				in[i] = 1;
	do {		/* descendants: until no process joins */
		changed = 0;
		for (i = 0; i < n; i++) {
			if (in[i])
				continue;
			for (size_t j = 0; j < n; j++) {
				if (in[j] && p[j].pid == p[i].ppid) {
					in[i] = 1;
					changed = 1;
					break;
				}
			}
		}
	} while (changed);
	for (i = 0; i < n; i++) {
		if (in[i]) {
			secs += (double)p[i].ticks;
			(*found)++;
		}
	}
	free(in);
	free(p);
	return secs / (double)sysconf(_SC_CLK_TCK);
}

static int dial(const struct mcl_opts *o)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res, *ai;
	int fd = -1, one = 1, rc;

	rc = getaddrinfo(o->host, o->port, &hints, &res);
	if (rc)
		die("%s:%s: %s", o->host, o->port, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		die("cannot connect to %s:%s: %s", o->host, o->port, strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			/* one request per connection: this only happens when
			 * the server stops reading; wait for it */
			struct timespec ts = { 0, 100000 };

			nanosleep(&ts, NULL);
			continue;
		}
		if (w <= 0)
			die("write: %s", w < 0 ? strerror(errno) : "closed");
		buf += w;
		len -= (size_t)w;
	}
}

static size_t make_set(struct mcl_run *r, char *buf, unsigned int key)
{
	int n = sprintf(buf, "set " MCL_KEY_FMT " 0 0 %d\r\n", key, r->o.value);

	memcpy(buf + n, r->value, (size_t)r->o.value);
	memcpy(buf + n + r->o.value, "\r\n", 2);
	return (size_t)n + (size_t)r->o.value + 2;
}

/* Load every key: SETs pipelined in batches on one connection. */
static void preload(struct mcl_run *r)
{
	size_t per = (size_t)r->o.value + 64, batch = 64, len = 0, got = 0;
	char *buf = malloc(per * batch), rd[4096];
	unsigned int k = 0, acked = 0, sent;
	int fd = dial(&r->o);

	if (!buf)
		die("out of memory");
	while (acked < r->o.keys) {
		len = 0;
		for (sent = 0; sent < batch && k < r->o.keys; sent++)
			len += make_set(r, buf + len, k++);
		write_all(fd, buf, len);
		/* each answer is "STORED\r\n" (8 bytes) */
		while (got < (size_t)sent * 8) {
			ssize_t n = read(fd, rd, sizeof(rd));

			if (n <= 0)
				die("preload: %s", n < 0 ? strerror(errno) : "server closed");
			for (ssize_t i = 0; i < n; i++) {
				if ("STORED\r\n"[(got + (size_t)i) % 8] != rd[i])
					die("preload: unexpected answer '%.*s'", (int)n, rd);
			}
			got += (size_t)n;
		}
		got -= (size_t)sent * 8;
		acked += sent;
	}
	close(fd);
	free(buf);
}

static void send_one(struct mcl_run *r, struct mcl_conn *c)
{
	unsigned int key = (unsigned int)(rng_next(&c->rng) % r->o.keys);
	size_t len;

	c->is_get = (int)(rng_next(&c->rng) % 100) < r->o.get_pct;
	if (c->is_get)
		len = (size_t)sprintf(r->req, "get " MCL_KEY_FMT "\r\n", key);
	else
		len = make_set(r, r->req, key);
	c->rlen = 0;
	c->sent_ns = now_ns();
	write_all(c->fd, r->req, len);
}

/*
 * Is the answer in c->rbuf complete? 1 yes (checked), 0 not yet; a wrong
 * answer ends the run.
 */
static int answer_done(struct mcl_run *r, struct mcl_conn *c)
{
	char *eol;
	size_t hdr, need;
	int bytes;

	if (!c->is_get) {
		if (c->rlen < 8)
			return 0;
		if (c->rlen != 8 || memcmp(c->rbuf, "STORED\r\n", 8))
			die("SET answered '%.*s'", (int)(c->rlen > 80 ? 80 : c->rlen), c->rbuf);
		return 1;
	}
	eol = memmem(c->rbuf, c->rlen, "\r\n", 2);
	if (!eol)
		return 0;
	hdr = (size_t)(eol - c->rbuf) + 2;
	if (hdr == 5 && !memcmp(c->rbuf, "END", 3)) {
		if (c->rlen != 5)
			die("GET: bytes after END");
		r->misses++;	/* evicted: counted, not fatal */
		return 1;
	}
	if (sscanf(c->rbuf, "VALUE %*s %*u %d", &bytes) != 1 || bytes != r->o.value)
		die("GET answered '%.*s'", (int)(hdr > 80 ? 80 : hdr), c->rbuf);
	need = hdr + (size_t)bytes + 2 + 5;
	if (c->rlen < need)
		return 0;
	if (c->rlen != need || memcmp(c->rbuf + need - 7, "\r\nEND\r\n", 7) ||
	    memcmp(c->rbuf + hdr, r->value, (size_t)bytes))
		die("GET: malformed answer or wrong value");
	return 1;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(const uint32_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p / 100.0 * (double)n);
	if (i >= n)
		i = n - 1;
	return v[i] / 1000.0;
}

static double loader_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	struct epoll_event ev, evs[64];
	uint64_t t_start, t_meas = 0, t_end, t_stop;
	double cpu0 = 0, cpu1 = 0, lcpu0 = 0, lcpu1, secs;
	int ep, found0 = 0, found1 = 0;
	struct mcl_run r;

	memset(&r, 0, sizeof(r));
	parse_opts(&r.o, argc, argv);
	r.value = malloc((size_t)r.o.value);
	r.req = malloc((size_t)r.o.value + 128);
	r.c = calloc((size_t)r.o.conns, sizeof(*r.c));
	r.lat_cap = 1 << 20;
	r.lat_ns = malloc(r.lat_cap * sizeof(*r.lat_ns));
	if (!r.value || !r.req || !r.c || !r.lat_ns)
		die("out of memory");
	for (int i = 0; i < r.o.value; i++)
		r.value[i] = (char)('a' + i % 26);

	preload(&r);

	ep = epoll_create1(0);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	for (int i = 0; i < r.o.conns; i++) {
		struct mcl_conn *c = &r.c[i];

		c->fd = dial(&r.o);
		fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
		c->rcap = (size_t)r.o.value + 256;
		c->rbuf = malloc(c->rcap);
		if (!c->rbuf)
			die("out of memory");
		c->rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(r.o.seed * 1000u + (unsigned)i + 1);
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
			die("epoll_ctl: %s", strerror(errno));
	}

	t_start = now_ns();
	t_meas = t_start + (uint64_t)(r.o.warmup * 1e9);
	t_stop = t_meas + (uint64_t)(r.o.time * 1e9);
	if (r.o.warmup == 0) {
		r.measuring = 1;
		cpu0 = tree_cpu(r.o.pids, r.o.npids, &found0);
		lcpu0 = loader_cpu();
	}
	for (int i = 0; i < r.o.conns; i++)
		send_one(&r, &r.c[i]);
	for (;;) {
		uint64_t t;
		int n = epoll_wait(ep, evs, 64, 1000);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait: %s", strerror(errno));
		if (n == 0)
			die("no answer for 1 s on any connection");
		for (int i = 0; i < n; i++) {
			struct mcl_conn *c = evs[i].data.ptr;
			ssize_t got;

			if (c->rlen == c->rcap)
				die("answer longer than %zu bytes", c->rcap);
			got = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0)
				die("read: %s", got < 0 ? strerror(errno) : "server closed");
			c->rlen += (size_t)got;
			if (!answer_done(&r, c))
				continue;
			t = now_ns();
			if (r.measuring) {
				if (r.nlat == r.lat_cap) {
					r.lat_cap *= 2;
					r.lat_ns = realloc(r.lat_ns, r.lat_cap * sizeof(*r.lat_ns));
					if (!r.lat_ns)
						die("out of memory");
				}
				r.lat_ns[r.nlat++] = (uint32_t)(t - c->sent_ns > UINT32_MAX ?
								UINT32_MAX : t - c->sent_ns);
				if (c->is_get)
					r.gets++;
				else
					r.sets++;
			}
			send_one(&r, c);
		}
		t = now_ns();
		if (!r.measuring && t >= t_meas) {
			r.measuring = 1;
			t_meas = t;
			t_stop = t + (uint64_t)(r.o.time * 1e9);
			cpu0 = tree_cpu(r.o.pids, r.o.npids, &found0);
			lcpu0 = loader_cpu();
		} else if (r.measuring && t >= t_stop) {
			break;
		}
	}
	t_end = now_ns();
	cpu1 = tree_cpu(r.o.pids, r.o.npids, &found1);
	lcpu1 = loader_cpu();
	if (r.o.npids && (!found0 || !found1))
		die("-P: no such process");

	secs = (double)(t_end - t_meas) / 1e9;
	qsort(r.lat_ns, r.nlat, sizeof(*r.lat_ns), cmp_u32);
	printf("mcload: conns=%d get_pct=%d value=%d keys=%u secs=%.3f ops=%zu"
	       " ops_s=%.0f gets=%llu sets=%llu misses=%llu p50_us=%.1f p99_us=%.1f"
	       " p999_us=%.1f max_us=%.1f",
	       r.o.conns, r.o.get_pct, r.o.value, r.o.keys, secs, r.nlat,
	       (double)r.nlat / secs, (unsigned long long)r.gets,
	       (unsigned long long)r.sets, (unsigned long long)r.misses,
	       pct_us(r.lat_ns, r.nlat, 50), pct_us(r.lat_ns, r.nlat, 99),
	       pct_us(r.lat_ns, r.nlat, 99.9),
	       r.nlat ? r.lat_ns[r.nlat - 1] / 1000.0 : 0.0);
	if (r.o.npids)
		printf(" server_cpu_s=%.2f server_procs=%d server_cpu_us_per_op=%.2f",
		       cpu1 - cpu0, found1,
		       r.nlat ? (cpu1 - cpu0) * 1e6 / (double)r.nlat : 0.0);
	printf(" loader_cpu_s=%.2f\n", lcpu1 - lcpu0);
	for (int i = 0; i < r.o.conns; i++) {
		close(r.c[i].fd);
		free(r.c[i].rbuf);
	}
	close(ep);
	free(r.c);
	free(r.lat_ns);
	free(r.req);
	free(r.value);
	return r.nlat ? 0 : 1;
}
