/*
 * skcached: a memcached that keeps its items on Skiff nodes
 * (launcher/skcached/README.md, man/skcached.1).
 *
 * It takes memcached's command line, and becomes the skrun job that
 * serves it: it execs skrun (from its own directory) with T gateway ranks
 * on this host and N cache nodes, all running skcached-node
 * (gateway.c). skrun forwards SIGTERM and SIGINT to every rank; each
 * ends cleanly, so the job, and with it skcached, exits 0. A flag of
 * memcached's that means nothing here is refused, never ignored.
 */
#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <skiff/version.h>

#include "listen.h"
#include "mc.h"
#include "opts.h"

#define SKC_NODES_MAX 1024u
#define SKC_GATEWAYS_MAX 64u

struct skc_opts {
	unsigned nodes, threads, port;
	const char *listen;
	unsigned long conns, mem_mb, item_max;
	unsigned verbose;
	unsigned long spin_us;
	int no_evict;
	struct sk_host_list hosts;
	const char *provider;
};

/* A gateway's spin: long enough to catch a client's next request on a
 * busy connection without sleeping (waking costs tens of microseconds on
 * a virtual machine), short enough to sleep soon when the clients stop
 * (launcher/skcached/README.md, "Why the gateways spin"). */
#define SKC_SPIN_DEFAULT "50"

static const char skc_usage[] =
"Usage: skcached -n NODES [memcached's options] [--host H[:N],...]\n"
"\n"
"memcached's protocols (text, meta, binary) on TCP, with the items held\n"
"by NODES Skiff cache nodes started with skrun.\n"
"\n"
"  -n, --nodes N             cache nodes, 1 to 1024 (default 4)\n"
"  -p, --port N              TCP port (default 11211)\n"
"  -U, --udp-port N          only 0: UDP is not served\n"
"  -l, --listen ADDR         interface to listen on (default: all,\n"
"                            IPv4 and IPv6)\n"
"  -c, --conn-limit N        max simultaneous connections (default 1024)\n"
"  -t, --threads N           gateway processes, each with its own kv\n"
"                            client and fabric resources (default:\n"
"                            half the cores, 1 to 4)\n"
"  -m, --memory-limit MB     item memory, split over the nodes\n"
"                            (default 64)\n"
"  -M, --disable-evictions   answer SERVER_ERROR out of memory instead\n"
"                            of evicting\n"
"  -I, --max-item-size SIZE  largest value, e.g. 512k or 1m (default and\n"
"                            most: 1m; least: 1k)\n"
"  -v, --verbose             -v: errors and the start; -vv: also each\n"
"                            connection\n"
"  -H, --host H[:N],...      hosts for the cache nodes (skrun's\n"
"                            --host); the gateways stay here\n"
"      --hostfile FILE       the same from an Open MPI hostfile\n"
"      --provider P          fabric provider: rdma, ucx or auto\n"
"  -V, --version             print the version\n"
"  -h, --help                print this text\n"
"\n"
"It serves until SIGTERM or SIGINT, then stops the nodes and exits 0.\n"
"\n"
"Environment: SKIFF_GATEWAY_SPIN_US (default " SKC_SPIN_DEFAULT "): how long a\n"
"gateway polls its sockets after its last request before it sleeps,\n"
"while requests come on more than one connection; 0 sleeps at once (the\n"
"least CPU, the slowest answers at low load).\n";

/* memcached's flags that mean nothing here, with why. */
static const struct {
	const char *flag;
	const char *why;
} skc_refused[] = {
	{"-d", "daemonize: run it under a service manager instead"},
	{"-u", "it runs as the user who starts it"},
	{"-s", "unix sockets are not served, only TCP"},
	{"-a", "unix sockets are not served, only TCP"},
	{"-r", "core file limits are the shell's (ulimit -c)"},
	{"-k", "the nodes' memory is registered by Skiff already"},
	{"-P", "no pid file: skcached does not daemonize"},
	{"-f", "there are no slab classes: the store has its own size "
	       "classes"},
	{"-L", "there are no large pages here"},
	{"-D", "stats detail is not kept"},
	{"-R", "a connection's requests are never cut short"},
	{"-C", "CAS cannot be turned off: the table's safety uses it"},
	{"-b", "the listen backlog is fixed at 1024"},
	{"-B", "the protocol is chosen per connection (auto), always"},
	{"-S", "SASL is not supported"},
	{"-A", "shutdown by a command is not supported: send SIGTERM"},
	{"-e", "memory files are not supported"},
	{"-o", "memcached's extended options have no meaning here"},
	{"-N", "napi ids are not supported"},
	{"-Z", "TLS is not supported"},
	{"-W", "the watcher is not supported"},
	{"-X", "memcached's dump commands are not supported"},
	{"-Y", "authentication files are not supported"},
	{"-F", "flush_all is always allowed"},
	{"-T", "there are no slab rebalance knobs"},
};

/* A whole decimal number from @lo to @hi. */
static int skc_num(const char *s, unsigned long lo, unsigned long hi,
		   unsigned long *v)
{
	char *end;

	if (*s == '-' || *s == '+' || *s == '\0')
		return -1;
	errno = 0;
	*v = strtoul(s, &end, 10);
	return errno || *end || *v < lo || *v > hi ? -1 : 0;
}

/* -I as memcached reads it: bytes, or a number with k or m. */
static int skc_size(const char *s, unsigned long *v)
{
	char *end;
	unsigned long n, mul = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno)
		return -1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	if (*end || n > ULONG_MAX / mul)
		return -1;
	*v = n * mul;
	return 0;
}

__attribute__((format(printf, 1, 2))) static int skc_bad(const char *fmt,
							  ...)
{
	va_list ap;

	fprintf(stderr, "skcached: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'skcached -h'.\n");
	return 2;
}

/*
 * memcached's command line. Returns 0, -1 after --help or --version
 * (exit 0), or the exit status of a usage error (2).
 */
static int skc_parse(int argc, char **argv, struct skc_opts *o)
{
	char err[256];
	const char *spin;

	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	/* memcached's 4 threads at most, and a gateway for every two cores:
	 * each gateway is a process that keeps its core busy under load,
	 * and the clients and the cache nodes need the others. On 2 cores
	 * one gateway served 16 connections 1.6x faster than two
	 * (perf/README.md, "skcached"). */
	*o = (struct skc_opts){.nodes = 4, .port = 11211, .conns = 1024,
			       .mem_mb = 64, .item_max = SK_KV_VALUE_MAX,
			       .threads = ncpu >= 8   ? 4
					  : ncpu >= 4 ? (unsigned)ncpu / 2
						      : 1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		char name[32];
		unsigned long v;
		size_t n;

		/* -p11211, --port=11211 and -p 11211 alike. */
		if (a[0] != '-' || a[1] == '\0')
			return skc_bad("%s: not an option", a);
		if (a[1] == '-') {
			eq = strchr(a, '=');
			n = eq ? (size_t)(eq - a) : strlen(a);
			if (n >= sizeof(name))
				return skc_bad("unknown option %s", a);
			memcpy(name, a, n);
			name[n] = '\0';
			val = eq ? eq + 1 : NULL;
		} else {
			name[0] = '-';
			name[1] = a[1];
			name[2] = '\0';
			val = a[2] ? a + 2 : NULL;
		}
#define SKC_IS(s, l) (strcmp(name, s) == 0 || strcmp(name, l) == 0)
#define SKC_VAL() do {                                                     \
		if (val == NULL) {                                         \
			if (i + 1 >= argc)                                 \
				return skc_bad("%s needs a value", name);  \
			val = argv[++i];                                   \
		}                                                          \
	} while (0)
		if (SKC_IS("-h", "--help")) {
			fputs(skc_usage, stdout);
			return -1;
		}
		if (SKC_IS("-V", "--version")) {
			printf("skcached %s (Skiff %s)\n", MC_VERSION,
			       SKIFF_VERSION);
			return -1;
		}
		if (SKC_IS("-v", "--verbose")) {
			/* -vv is two of them. */
			if (name[1] == 'v' && val) {
				if (strspn(val, "v") != strlen(val))
					return skc_bad("bad option %s", a);
				o->verbose += (unsigned)strlen(val);
			}
			o->verbose++;
			continue;
		}
		if (SKC_IS("-M", "--disable-evictions")) {
			o->no_evict = 1;
			continue;
		}
		if (SKC_IS("-n", "--nodes")) {
			SKC_VAL();
			if (skc_num(val, 1, SKC_NODES_MAX, &v))
				return skc_bad("-n %s: the cache nodes, 1 to "
					       "1024", val);
			o->nodes = (unsigned)v;
		} else if (SKC_IS("-p", "--port")) {
			SKC_VAL();
			if (skc_num(val, 1, 65535, &v))
				return skc_bad("-p %s: a TCP port, 1 to "
					       "65535", val);
			o->port = (unsigned)v;
		} else if (SKC_IS("-U", "--udp-port")) {
			SKC_VAL();
			if (skc_num(val, 0, 0, &v))
				return skc_bad("-U %s: UDP is not served; "
					       "only -U 0 is taken", val);
		} else if (SKC_IS("-l", "--listen")) {
			SKC_VAL();
			if (strchr(val, ',') || strchr(val, ';'))
				return skc_bad("-l %s: one interface only",
					       val);
			o->listen = val;
		} else if (SKC_IS("-c", "--conn-limit")) {
			SKC_VAL();
			if (skc_num(val, 1, 1000000, &v))
				return skc_bad("-c %s: 1 to 1000000", val);
			o->conns = v;
		} else if (SKC_IS("-t", "--threads")) {
			SKC_VAL();
			if (skc_num(val, 1, SKC_GATEWAYS_MAX, &v))
				return skc_bad("-t %s: 1 to 64", val);
			o->threads = (unsigned)v;
		} else if (SKC_IS("-m", "--memory-limit")) {
			SKC_VAL();
			if (skc_num(val, 1, 1u << 20, &v))
				return skc_bad("-m %s: megabytes, 1 to "
					       "1048576", val);
			o->mem_mb = v;
		} else if (SKC_IS("-I", "--max-item-size")) {
			SKC_VAL();
			if (skc_size(val, &v) || v < 1024 ||
			    v > SK_KV_VALUE_MAX)
				return skc_bad("-I %s: from 1k to 1m (the "
					       "table's largest value)",
					       val);
			o->item_max = v;
		} else if (SKC_IS("-H", "--host")) {
			SKC_VAL();
			if (sk_hosts_parse(val, &o->hosts, err,
					   sizeof(err)) != 0)
				return skc_bad("%s", err);
		} else if (strcmp(name, "--hostfile") == 0) {
			SKC_VAL();
			if (sk_hostfile_load(val, &o->hosts, err,
					     sizeof(err)) != 0)
				return skc_bad("%s", err);
		} else if (strcmp(name, "--provider") == 0) {
			SKC_VAL();
			o->provider = val;
		} else {
			for (size_t k = 0; k < sizeof(skc_refused) /
						   sizeof(skc_refused[0]); k++)
				if (strcmp(name, skc_refused[k].flag) == 0)
					return skc_bad("memcached's %s means "
						       "nothing here (%s); "
						       "refused",
						       name,
						       skc_refused[k].why);
			return skc_bad("unknown option %s", a);
		}
#undef SKC_VAL
#undef SKC_IS
	}
	if (o->threads + o->nodes > 4096)
		return skc_bad("-t and -n: at most 4096 ranks in all");
	spin = getenv("SKIFF_GATEWAY_SPIN_US");
	if (spin == NULL || *spin == '\0')
		spin = SKC_SPIN_DEFAULT;
	if (skc_num(spin, 0, 1000000, &o->spin_us))
		return skc_bad("SKIFF_GATEWAY_SPIN_US=%s: microseconds, 0 to "
			       "1000000", spin);
	return 0;
}

/* skrun's --host value: the gateways' slots here, then the nodes' hosts. */
static char *skc_hosts(const struct skc_opts *o)
{
	size_t cap = 64, len;
	char *s;

	for (size_t i = 0; i < o->hosts.count; i++)
		cap += strlen(o->hosts.hosts[i].name) + 16;
	s = malloc(cap);
	if (s == NULL)
		return NULL;
	len = (size_t)snprintf(s, cap, "localhost:%u", o->threads);
	for (size_t i = 0; i < o->hosts.count; i++) {
		const struct sk_host *h = &o->hosts.hosts[i];
		int v6 = strchr(h->name, ':') != NULL;

		if (h->slots)
			len += (size_t)snprintf(s + len, cap - len,
						v6 ? ",[%s]:%u" : ",%s:%u",
						h->name, h->slots);
		else
			len += (size_t)snprintf(s + len, cap - len, ",%s",
						h->name);
	}
	return s;
}

/*
 * Whether the port is free at every address it will be served on: bound
 * here alone (no SO_REUSEPORT), so that a port another server listens on,
 * another skcached's included, fails now, in memcached's words, instead
 * of the gateways sharing it with that server (SO_REUSEPORT would let
 * them, between processes of one user). The gateways bind it again.
 */
static int skc_port_free(const struct skc_opts *o)
{
	int fds[MC_LISTEN_MAX], n;
	char err[256];

	n = mc_listen(o->listen, o->port, false, fds, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	while (n > 0)
		close(fds[--n]);
	return 0;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], dir[PATH_MAX], skrun[PATH_MAX + 8],
		node[PATH_MAX + 16], np[16], arena[40], port[16], conns[24],
		item[24], mem[24], gws[16], verbose[16], spin[24], shm[64],
		*hosts = NULL;
	const char *av[64];
	struct skc_opts o;
	unsigned long arena_mb;
	ssize_t sl;
	int rc, n = 0;
	char *slash;

	rc = skc_parse(argc, argv, &o);
	if (rc != 0) {
		sk_host_list_cleanup(&o.hosts);
		return rc < 0 ? 0 : rc;
	}
	if (skc_port_free(&o) != 0) {
		sk_host_list_cleanup(&o.hosts);
		return 71; /* EX_OSERR, as memcached */
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		fprintf(stderr, "skcached: /proc/self/exe: %s\n",
			strerror(errno));
		return 1;
	}
	self[sl] = '\0';
	memcpy(dir, self, (size_t)sl + 1);
	slash = strrchr(dir, '/');
	*slash = '\0';
	snprintf(skrun, sizeof(skrun), "%s/skrun", dir);
	snprintf(node, sizeof(node), "%s/skcached-node", dir);

	/* A cache node's arena holds its share of -m and the partitions'
	 * indexes (a sixteenth more), twice over for the partitions
	 * rendezvous hashing gives it beyond an even share, and room for rpc
	 * and kv's read buffer. */
	arena_mb = 2 * (o.mem_mb + o.mem_mb / 16 + 1) / o.nodes + 48;
	snprintf(arena, sizeof(arena), "SKIFF_ARENA_MB=%lu", arena_mb);
	snprintf(np, sizeof(np), "%u", o.threads + o.nodes);
	snprintf(gws, sizeof(gws), "%u", o.threads);
	snprintf(port, sizeof(port), "%u", o.port);
	snprintf(conns, sizeof(conns), "%lu", o.conns);
	snprintf(item, sizeof(item), "%lu", o.item_max);
	snprintf(mem, sizeof(mem), "%lu", o.mem_mb);
	snprintf(verbose, sizeof(verbose), "%u", o.verbose);

	av[n++] = "skrun";
	av[n++] = "-n";
	av[n++] = np;
	/* A dead node fails its keys only (issue 13): the job runs on. */
	av[n++] = "--enable-recovery";
	av[n++] = "-x";
	av[n++] = arena;
	if (o.hosts.count) {
		hosts = skc_hosts(&o);
		if (hosts == NULL) {
			fprintf(stderr, "skcached: out of memory\n");
			return 1;
		}
		av[n++] = "--host";
		av[n++] = hosts;
	}
	if (o.provider) {
		av[n++] = "--provider";
		av[n++] = o.provider;
	}
	av[n++] = node;
	av[n++] = "--gateways";
	av[n++] = gws;
	av[n++] = "--port";
	av[n++] = port;
	if (o.listen) {
		av[n++] = "--listen";
		av[n++] = o.listen;
	}
	av[n++] = "--conns";
	av[n++] = conns;
	av[n++] = "--item-max";
	av[n++] = item;
	av[n++] = "--mem-mb";
	av[n++] = mem;
	av[n++] = "--verbose";
	av[n++] = verbose;
	snprintf(spin, sizeof(spin), "%lu", o.spin_us);
	av[n++] = "--spin-us";
	av[n++] = spin;
	if (o.no_evict)
		av[n++] = "--no-evict";
	av[n] = NULL;

	/* The nodes' clean end after SIGTERM takes a moment (their kv
	 * closes after a barrier): skrun waits that long before SIGKILL,
	 * unless told otherwise. */
	setenv("SKIFF_KILL_GRACE_MS", "10000", 0);
	/* The cache nodes sleep until a completion wakes them: their work
	 * (a SET's rpc, a hint) is rare next to a GET, which costs them
	 * nothing. The gateways spin as --spin-us says (gateway.c). */
	setenv("SKIFF_LOOP_SPIN_US", "0", 0);
	/* The gateways share a segment named after their parent, skrun,
	 * which this process becomes: one left by an earlier job of the
	 * same pid that ended without removing it must not be theirs. */
	snprintf(shm, sizeof(shm), "/skcached.%d.conns", (int)getpid());
	shm_unlink(shm);
	execv(skrun, (char **)av);
	fprintf(stderr, "skcached: %s: %s\n", skrun, strerror(errno));
	free(hosts);
	sk_host_list_cleanup(&o.hosts);
	return 127;
}
