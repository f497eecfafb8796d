/*
 * kvbench: YCSB-style load on Skiff's kv (kv.h), a node program run under
 * skrun. Every rank opens the table and loads its share of the keys; then
 * the client ranks (all of them, or --clients C) run the mix for -n
 * requests or -T seconds each, with 1 to 256 requests outstanding, and
 * rank 0 prints one table, as memtier_benchmark does: ops/s, hits and
 * misses, and latency average, p50, p99 and p99.9 per operation type.
 *
 *	skrun -n 4 build/perf/kv/kvbench --mix C --dist zipf --depth 16
 *
 * Depth 1 uses the blocking calls (sk_kv_get, sk_kv_set). A depth above 1
 * keeps that many requests in flight with the asynchronous API
 * (sk_kv_post, sk_kv_progress): post until W are outstanding, progress,
 * and time each request from its post to the pass that saw it done.
 *
 * Every value carries its key's number in its first and last 8 bytes, and
 * every hit is checked against it (and its length): a wrong value fails
 * the run (exit 1), as does any request that ends in an error.
 *
 * Other loads for perf/kv's scripts: --mix set (updates only), --mix null
 * (an empty rpc to the key's owner, answered by kvbench's own handler:
 * the rpc floor under a set), --owner R (only keys rank R owns), --remote
 * (only keys another rank owns). Run through a wrapper (perf/kv/on-rank.sh
 * starts one rank under valgrind), kvbench takes its arguments from the
 * word naming it on, since a node gets skrun's whole command line.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/kv.h>
#include <skiff/loop.h>
#include <skiff/os.h>
#include <skiff/rpc.h>

#include "../perf_opts.h"
#include "../perf_report.h"
#include "kvb_dist.h"

/* kvbench's own rpc handlers (kv takes SK_KV_RPC_FIRST and up). */
#define KVB_RPC_REPORT 1 /* a client's results, to rank 0 */
#define KVB_RPC_NULL   2 /* empty request, empty answer */
#define KVB_RPC_STOP   3 /* rank 0 to the others: stop serving */

#define KVB_DEPTH_MAX    SK_KV_INFLIGHT_MAX
#define KVB_KEYS_MAX     (1ul << 28)
#define KVB_REQ_MAX      (1ul << 40)

enum kvb_mix { KVB_A, KVB_B, KVB_C, KVB_SET, KVB_NULL };

static const struct {
	const char *name;
	double read;      /* fraction of GETs */
	const char *what;
} kvb_mixes[] = {
	[KVB_A] = {"A", 0.50, "YCSB A: 50% get, 50% set"},
	[KVB_B] = {"B", 0.95, "YCSB B: 95% get, 5% set"},
	[KVB_C] = {"C", 1.00, "YCSB C: get only"},
	[KVB_SET] = {"set", 0.0, "set only"},
	[KVB_NULL] = {"null", 0.0, "an empty rpc to the key's owner"},
};

struct kvb_opts {
	enum kvb_mix mix;
	int zipf;                 /* 0 uniform, 1 zipfian */
	enum kvb_zipf_method zmethod;
	double theta;
	unsigned long keys;
	unsigned long ksize, vsize;
	unsigned long depth;
	unsigned long requests;   /* per client; 0 with -T */
	double seconds;
	unsigned long warmup;     /* untimed requests per client */
	unsigned long clients;    /* ranks 0..clients-1 run the mix */
	long owner;               /* -1, or only keys of this rank */
	int remote;               /* only keys other ranks own */
	unsigned long partitions, part_bytes, quarantine_ms;
	int no_load;
	int spin;                 /* ranks not running the mix busy-poll */
	int quiet;
	uint64_t seed;
};

/* What a client sends rank 0 at the end. */
struct kvb_result {
	uint32_t rank;
	uint32_t depth;
	uint64_t ops, gets, sets, hits, misses, errors, bad_values;
	uint64_t time_ns;
	struct sk_kv_stats kst;
	struct kvb_hist get, set;
};

struct kvb {
	struct kvb_opts o;
	struct sk_rpc *rpc;
	struct sk_kv *kv;
	unsigned rank, size;
	uint64_t *idx;            /* keys this client draws from */
	uint64_t nidx;
	struct kvb_zipf z;
	uint64_t rng;
	struct sk_rpc_peer **peers; /* --mix null: by rank */
	/* rank 0: the results gathered */
	struct kvb_result *all;
	unsigned nall;
	volatile int stop;        /* KVB_RPC_STOP came */
	struct kvb_result me;
};

static unsigned kvb_rank;

#define KVB_ERR(...) do { \
	if (kvb_rank == 0) \
		fprintf(stderr, "kvbench: " __VA_ARGS__); \
} while (0)

static void kvb_usage(FILE *out)
{
	fprintf(out,
"Usage: skrun -n N kvbench [options]\n"
"\n"
"YCSB-style load on Skiff kv (kv.h). Every rank owns partitions and loads\n"
"its share of the keys; the client ranks then run the mix, and rank 0\n"
"prints ops/s and latency percentiles per operation, memtier-style.\n"
"\n"
"Workload:\n"
"  -m, --mix=A|B|C|set|null  A 50/50 get/set, B 95/5, C get only (default),\n"
"                            set: sets only, null: an empty rpc to the\n"
"                            key's owner (rpc's floor under a set)\n"
"  -d, --dist=uniform|zipf   key popularity (default uniform)\n"
"      --theta=T             zipf exponent, 0 < T < 1 (default 0.99)\n"
"      --zipf-gray           draw zipf ranks as YCSB does (Gray et al.;\n"
"                            approximate past rank 1) instead of exactly\n"
"  -k, --keys=N              keys in the table (default 100000)\n"
"  -K, --key-size=B          key bytes, 8..250 (default 16)\n"
"  -v, --value-size=B        value bytes, 16..1m (default 32; k/m suffixes)\n"
"  -D, --depth=W             requests outstanding per client, 1..%u\n"
"                            (default 1: the blocking calls; above 1:\n"
"                            sk_kv_post and sk_kv_progress)\n"
"  -n, --requests=N          timed requests per client (default 100000)\n"
"  -T, --time=S              run S seconds instead of -n requests\n"
"  -w, --warmup=N            untimed requests per client first (default\n"
"                            -n/10, at most 10000)\n"
"  -c, --clients=C           ranks 0..C-1 run the mix, the others only\n"
"                            serve their partitions (default: all)\n"
"      --owner=R             draw only keys that rank R owns\n"
"      --remote              draw only keys another rank owns\n"
"      --seed=S              random seed (default 1)\n"
"      --serve=sleep|spin    how a rank waits while others run the mix:\n"
"                            sleep on its loop (default) or busy-poll it,\n"
"                            as sk_read_lat's server does on ucx, where a\n"
"                            READ needs the owner's progress\n"
"\n"
"Table (sk_kv_open's attributes):\n"
"      --partitions=P        power of two (default 64)\n"
"      --part-bytes=B        bytes per partition (default: room for the\n"
"                            keys, twice over; needs SKIFF_ARENA_MB)\n"
"      --quarantine-ms=Q     freed items' quarantine (default kv's, 100);\n"
"                            a one-sided GET slower than Q/4 is retried\n"
"      --no-load             do not load the keys (GETs then miss)\n"
"  -q, --quiet               only the table and the summary line\n"
"  -h, --help                this help\n"
"\n"
"Output: a table per run, latencies in microseconds (memtier prints\n"
"milliseconds), then one line 'kvbench: key=value ...' for scripts.\n"
"Exit status: 0 ok, 1 a request failed or a value was wrong, 2 usage.\n",
		KVB_DEPTH_MAX);
}

static int kvb_bad(const char *opt, const char *val, const char *why)
{
	KVB_ERR("bad %s '%s': %s (kvbench --help)\n", opt, val, why);
	return PERF_EXIT_USAGE;
}

static int kvb_parse(struct kvb_opts *o, int argc, char **argv)
{
	enum {
		O_THETA = 0x100, O_GRAY, O_OWNER, O_REMOTE, O_SEED, O_PARTS,
		O_PBYTES, O_QUAR, O_NOLOAD, O_SERVE,
	};
	static const struct option longopts[] = {
		{"mix", required_argument, NULL, 'm'},
		{"dist", required_argument, NULL, 'd'},
		{"theta", required_argument, NULL, O_THETA},
		{"zipf-gray", no_argument, NULL, O_GRAY},
		{"keys", required_argument, NULL, 'k'},
		{"key-size", required_argument, NULL, 'K'},
		{"value-size", required_argument, NULL, 'v'},
		{"depth", required_argument, NULL, 'D'},
		{"requests", required_argument, NULL, 'n'},
		{"time", required_argument, NULL, 'T'},
		{"warmup", required_argument, NULL, 'w'},
		{"clients", required_argument, NULL, 'c'},
		{"owner", required_argument, NULL, O_OWNER},
		{"remote", no_argument, NULL, O_REMOTE},
		{"seed", required_argument, NULL, O_SEED},
		{"partitions", required_argument, NULL, O_PARTS},
		{"part-bytes", required_argument, NULL, O_PBYTES},
		{"quarantine-ms", required_argument, NULL, O_QUAR},
		{"no-load", no_argument, NULL, O_NOLOAD},
		{"serve", required_argument, NULL, O_SERVE},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v;
	long warmup = -1;
	char *end;
	int ch;

	*o = (struct kvb_opts){
		.mix = KVB_C, .theta = 0.99, .keys = 100000, .ksize = 16,
		.vsize = 32, .depth = 1, .requests = 100000, .owner = -1,
		.partitions = 64, .seed = 1,
	};
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":m:d:k:K:v:D:n:T:w:c:qh",
				 longopts, NULL)) != -1) {
		switch (ch) {
		case 'm': {
			size_t i;

			for (i = 0; i < sizeof(kvb_mixes) / sizeof(kvb_mixes[0]); i++)
				if (strcmp(optarg, kvb_mixes[i].name) == 0)
					break;
			if (i == sizeof(kvb_mixes) / sizeof(kvb_mixes[0]))
				return kvb_bad("--mix", optarg,
					       "A, B, C, set or null");
			o->mix = (enum kvb_mix)i;
			break;
		}
		case 'd':
			if (strcmp(optarg, "uniform") == 0)
				o->zipf = 0;
			else if (strcmp(optarg, "zipf") == 0)
				o->zipf = 1;
			else
				return kvb_bad("--dist", optarg,
					       "uniform or zipf");
			break;
		case O_THETA:
			errno = 0;
			o->theta = strtod(optarg, &end);
			if (errno || *end || !(o->theta > 0 && o->theta < 1))
				return kvb_bad("--theta", optarg,
					       "a number between 0 and 1");
			break;
		case O_GRAY:
			o->zmethod = KVB_ZIPF_GRAY;
			break;
		case 'k':
			if (perf_parse_ulong(optarg, 2, KVB_KEYS_MAX, &o->keys))
				return kvb_bad("--keys", optarg, "2 to 2^28");
			break;
		case 'K':
			if (perf_parse_ulong(optarg, 8, SK_KV_KEY_MAX, &o->ksize))
				return kvb_bad("--key-size", optarg, "8 to 250");
			break;
		case 'v':
			if (perf_parse_ulong(optarg, 16, SK_KV_VALUE_MAX,
					     &o->vsize))
				return kvb_bad("--value-size", optarg,
					       "16 to 1m bytes");
			break;
		case 'D':
			if (perf_parse_ulong(optarg, 1, KVB_DEPTH_MAX, &o->depth))
				return kvb_bad("--depth", optarg,
					       "1 to SK_KV_INFLIGHT_MAX (256)");
			break;
		case 'n':
			if (perf_parse_ulong(optarg, 1, KVB_REQ_MAX, &o->requests))
				return kvb_bad("--requests", optarg,
					       "1 to 2^40");
			break;
		case 'T':
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno || *end || !(o->seconds > 0) ||
			    o->seconds > 86400)
				return kvb_bad("--time", optarg,
					       "seconds, above 0, up to a day");
			break;
		case 'w':
			if (perf_parse_ulong(optarg, 0, KVB_REQ_MAX, &v))
				return kvb_bad("--warmup", optarg, "0 to 2^40");
			warmup = (long)v;
			break;
		case 'c':
			if (perf_parse_ulong(optarg, 1, 4096, &o->clients))
				return kvb_bad("--clients", optarg,
					       "1 to the job's size");
			break;
		case O_OWNER:
			if (perf_parse_ulong(optarg, 0, 4095, &v))
				return kvb_bad("--owner", optarg, "a rank");
			o->owner = (long)v;
			break;
		case O_REMOTE:
			o->remote = 1;
			break;
		case O_SEED:
			if (perf_parse_ulong(optarg, 0, ~0ul, &v))
				return kvb_bad("--seed", optarg, "a number");
			o->seed = v;
			break;
		case O_PARTS:
			if (perf_parse_ulong(optarg, 1, 1ul << 24, &v) ||
			    (v & (v - 1)))
				return kvb_bad("--partitions", optarg,
					       "a power of two up to 2^24");
			o->partitions = v;
			break;
		case O_PBYTES:
			if (perf_parse_ulong(optarg, 64 << 10, 1ul << 40, &v))
				return kvb_bad("--part-bytes", optarg,
					       "64k or more");
			o->part_bytes = v;
			break;
		case O_QUAR:
			if (perf_parse_ulong(optarg, 1, 3600000, &v))
				return kvb_bad("--quarantine-ms", optarg,
					       "1 to 3600000");
			o->quarantine_ms = v;
			break;
		case O_NOLOAD:
			o->no_load = 1;
			break;
		case O_SERVE:
			if (strcmp(optarg, "sleep") == 0)
				o->spin = 0;
			else if (strcmp(optarg, "spin") == 0)
				o->spin = 1;
			else
				return kvb_bad("--serve", optarg,
					       "sleep or spin");
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'h':
			if (kvb_rank == 0)
				kvb_usage(stdout);
			return PERF_EXIT_OK;
		case ':':
			KVB_ERR("option %s needs a value (kvbench --help)\n",
				argv[optind - 1]);
			return PERF_EXIT_USAGE;
		default:
			KVB_ERR("unknown option %s (kvbench --help)\n",
				argv[optind - 1]);
			return PERF_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		KVB_ERR("unexpected argument '%s' (kvbench --help)\n",
			argv[optind]);
		return PERF_EXIT_USAGE;
	}
	if (o->seconds > 0)
		o->requests = 0;
	if (warmup >= 0)
		o->warmup = (unsigned long)warmup;
	else
		o->warmup = o->requests ? (o->requests / 10 < 10000 ?
					   o->requests / 10 : 10000) : 10000;
	if (o->owner >= 0 && o->remote) {
		KVB_ERR("--owner and --remote: choose one\n");
		return PERF_EXIT_USAGE;
	}
	return -1;
}

/* ---- keys and values ---- */

/* Key @i: "k", then its number, zero-padded to @ksize bytes. */
static void kvb_key(char *key, unsigned long ksize, uint64_t i)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%" PRIu64, i);

	key[0] = 'k';
	memset(key + 1, '0', ksize - 1);
	memcpy(key + ksize - n, num, (size_t)n);
}

/* Key @i's value: its number in the first and last 8 bytes. */
static void kvb_value(unsigned char *val, unsigned long vsize, uint64_t i)
{
	memcpy(val, &i, 8);
	memcpy(val + vsize - 8, &i, 8);
}

static int kvb_value_ok(const unsigned char *val, size_t vlen,
			unsigned long vsize, uint64_t i)
{
	uint64_t a, b;

	if (vlen != vsize)
		return 0;
	memcpy(&a, val, 8);
	memcpy(&b, val + vsize - 8, 8);
	return a == i && b == i;
}

/* The keys this client draws from: all, --owner's or --remote's. */
static int kvb_pick_keys(struct kvb *b)
{
	char key[SK_KV_KEY_MAX];
	uint64_t n = 0;

	b->idx = malloc(b->o.keys * sizeof(*b->idx));
	if (b->idx == NULL)
		return -1;
	for (uint64_t i = 0; i < b->o.keys; i++) {
		unsigned r;

		if (b->o.owner >= 0 || b->o.remote) {
			kvb_key(key, b->o.ksize, i);
			r = sk_kv_owner_of(b->kv, key, b->o.ksize);
			if (b->o.owner >= 0 ? r != (unsigned)b->o.owner :
					      r == b->rank)
				continue;
		}
		b->idx[n++] = i;
	}
	b->nidx = n;
	return 0;
}

static uint64_t kvb_next_key(struct kvb *b)
{
	uint64_t r = b->o.zipf ? kvb_zipf_next(&b->z, &b->rng) :
				 kvb_rand_below(&b->rng, b->nidx);

	return b->idx[r];
}

/* ---- the run ---- */

struct kvb_slot {
	struct sk_kv_req r;
	uint64_t t0;
	uint64_t key;
	char kbuf[SK_KV_KEY_MAX];
	unsigned char *vbuf;      /* the value to set, or where a GET lands */
	int busy;                 /* posted, not yet accounted */
};

static int kvb_is_get(struct kvb *b)
{
	double rf = kvb_mixes[b->o.mix].read;

	if (rf >= 1.0)
		return 1;
	if (rf <= 0.0)
		return 0;
	return kvb_rand_unit(&b->rng) < rf;
}

/* Account one finished request (timed or not). */
static void kvb_done(struct kvb *b, int timed, int get, uint64_t key,
		     sk_status_t st, enum sk_kv_res res,
		     const unsigned char *val, size_t vlen, uint64_t ns)
{
	struct kvb_result *m = &b->me;

	if (st != SK_OK) {
		if (m->errors++ < 5)
			fprintf(stderr, "kvbench: rank %u: %s of key %" PRIu64
				": %s\n", b->rank, get ? "get" : "set", key,
				sk_status_str(st));
		return;
	}
	if (get && res == SK_KV_OK &&
	    !kvb_value_ok(val, vlen, b->o.vsize, key)) {
		if (m->bad_values++ < 5)
			fprintf(stderr, "kvbench: rank %u: key %" PRIu64
				": a wrong value (%zu bytes)\n", b->rank, key,
				vlen);
	} else if (!get && b->o.mix != KVB_NULL && res != SK_KV_STORED) {
		if (m->errors++ < 5)
			fprintf(stderr, "kvbench: rank %u: set of key %" PRIu64
				": %s\n", b->rank, key, sk_kv_res_str(res));
	}
	if (!timed)
		return;
	m->ops++;
	if (get) {
		m->gets++;
		if (res == SK_KV_OK)
			m->hits++;
		else
			m->misses++;
		kvb_hist_add(&m->get, ns);
	} else {
		m->sets++;
		kvb_hist_add(&m->set, ns);
	}
}

static sk_status_t kvb_null(struct kvb *b, const char *key,
			    enum sk_kv_res *res_p)
{
	unsigned r = sk_kv_owner_of(b->kv, key, b->o.ksize);
	size_t len = 0;
	sk_status_t st;
	int rc;

	if (b->peers[r] == NULL) {
		st = sk_rpc_connect(b->rpc, r, -1, &b->peers[r]);
		if (st != SK_OK) {
			b->peers[r] = NULL;
			return st;
		}
	}
	rc = sk_rpc_call_sync(b->peers[r], KVB_RPC_NULL, NULL, 0, NULL, 0,
			      &len);
	*res_p = SK_KV_STORED;
	return rc == 0 ? SK_OK : SK_ERR_IO;
}

/* Depth 1: the blocking calls. @n requests, or until @until_ns. */
static void kvb_run_sync(struct kvb *b, uint64_t n, uint64_t until_ns,
			 int timed, unsigned char *val, unsigned char *buf)
{
	char key[SK_KV_KEY_MAX];

	for (uint64_t i = 0; n ? i < n : perf_now_ns() < until_ns; i++) {
		uint64_t k = kvb_next_key(b), t0, t1;
		int get = kvb_is_get(b);
		enum sk_kv_res res = SK_KV_ERROR;
		size_t vlen = 0;
		sk_status_t st;

		kvb_key(key, b->o.ksize, k);
		t0 = perf_now_ns();
		if (b->o.mix == KVB_NULL) {
			st = kvb_null(b, key, &res);
		} else if (get) {
			st = sk_kv_get(b->kv, key, b->o.ksize, buf, b->o.vsize,
				       &vlen, NULL, NULL, &res);
		} else {
			kvb_value(val, b->o.vsize, k);
			st = sk_kv_set(b->kv, key, b->o.ksize, val, b->o.vsize,
				       0, 0, &res);
		}
		t1 = perf_now_ns();
		kvb_done(b, timed, get, k, st, res, buf, vlen, t1 - t0);
	}
}

static void kvb_slot_post(struct kvb *b, struct kvb_slot *s)
{
	int get = kvb_is_get(b);
	sk_status_t st;

	s->key = kvb_next_key(b);
	kvb_key(s->kbuf, b->o.ksize, s->key);
	memset(&s->r, 0, sizeof(s->r));
	s->r.key = s->kbuf;
	s->r.klen = b->o.ksize;
	if (get) {
		s->r.cmd = SK_KV_CMD_GET;
		s->r.buf = s->vbuf;
		s->r.cap = b->o.vsize;
	} else {
		kvb_value(s->vbuf, b->o.vsize, s->key);
		s->r.cmd = SK_KV_CMD_STORE;
		s->r.op = SK_KV_SET;
		s->r.value = s->vbuf;
		s->r.vlen = b->o.vsize;
	}
	s->busy = 1;
	s->t0 = perf_now_ns();
	st = sk_kv_post(b->kv, &s->r);
	if (st != SK_OK) {
		/* Not posted: done at once with the post's status. */
		s->r.status = st;
		s->r.done = 1;
	}
}

/*
 * Depth W: keep W requests in flight (sk_kv_post), progress, and on each
 * completion record its latency and post the next. @n requests in all, or
 * new ones until @until_ns. A request's latency runs from its post to the
 * progress pass after which it was seen done.
 */
static void kvb_run_async(struct kvb *b, uint64_t n, uint64_t until_ns,
			  int timed, struct kvb_slot *slots)
{
	unsigned w = (unsigned)b->o.depth, out = 0;
	uint64_t posted = 0;

	for (unsigned i = 0; i < w; i++) {
		slots[i].busy = 0;
		if (n ? posted < n : perf_now_ns() < until_ns) {
			kvb_slot_post(b, &slots[i]);
			posted++;
			out++;
		}
	}
	while (out) {
		uint64_t now;

		sk_kv_progress(b->kv);
		now = perf_now_ns();
		for (unsigned i = 0; i < w; i++) {
			struct kvb_slot *s = &slots[i];

			if (!s->busy || !s->r.done)
				continue;
			s->busy = 0;
			out--;
			kvb_done(b, timed, s->r.cmd == SK_KV_CMD_GET, s->key,
				 s->r.status, s->r.res, s->vbuf, s->r.vlen,
				 now - s->t0);
			if (n ? posted < n : now < until_ns) {
				kvb_slot_post(b, s);
				posted++;
				out++;
			}
		}
	}
}

static int kvb_run(struct kvb *b)
{
	unsigned char *val = NULL, *buf = NULL;
	struct kvb_slot *slots = NULL;
	uint64_t t0, t1;
	int ret = -1;

	val = malloc(b->o.vsize);
	buf = malloc(b->o.vsize);
	if (val == NULL || buf == NULL)
		goto out;
	if (b->o.depth > 1) {
		slots = calloc(b->o.depth, sizeof(*slots));
		if (slots == NULL)
			goto out;
		for (unsigned long i = 0; i < b->o.depth; i++) {
			slots[i].vbuf = malloc(b->o.vsize);
			if (slots[i].vbuf == NULL)
				goto out;
		}
	}
	if (b->o.depth == 1) {
		kvb_run_sync(b, b->o.warmup, 0, 0, val, buf);
		t0 = perf_now_ns();
		kvb_run_sync(b, b->o.requests,
			     t0 + (uint64_t)(b->o.seconds * 1e9), 1, val, buf);
	} else {
		kvb_run_async(b, b->o.warmup, 0, 0, slots);
		t0 = perf_now_ns();
		kvb_run_async(b, b->o.requests,
			      t0 + (uint64_t)(b->o.seconds * 1e9), 1, slots);
	}
	t1 = perf_now_ns();
	b->me.time_ns = t1 - t0;
	ret = 0;
out:
	if (slots)
		for (unsigned long i = 0; i < b->o.depth; i++)
			free(slots[i].vbuf);
	free(slots);
	free(val);
	free(buf);
	return ret;
}

/* ---- load ---- */

/* Every rank sets the keys i with i % size == rank, by the blocking call
 * (the load is not timed). */
static int kvb_load(struct kvb *b)
{
	unsigned char *val = malloc(b->o.vsize);
	char key[SK_KV_KEY_MAX];
	uint64_t bad = 0;

	if (val == NULL)
		return -1;
	memset(val, 'v', b->o.vsize);
	for (uint64_t i = b->rank; i < b->o.keys; i += b->size) {
		enum sk_kv_res res;
		sk_status_t st;

		kvb_key(key, b->o.ksize, i);
		kvb_value(val, b->o.vsize, i);
		st = sk_kv_set(b->kv, key, b->o.ksize, val, b->o.vsize, 0, 0,
			       &res);
		if (st != SK_OK || res != SK_KV_STORED) {
			if (bad++ < 5)
				fprintf(stderr, "kvbench: rank %u: loading key "
					"%" PRIu64 ": %s\n", b->rank, i,
					st != SK_OK ? sk_status_str(st) :
					sk_kv_res_str(res));
		}
	}
	free(val);
	return bad ? -1 : 0;
}

/* ---- results ---- */

static void kvb_take(struct kvb *b, const struct kvb_result *r)
{
	if (b->nall < b->size)
		b->all[b->nall++] = *r;
}

static void kvb_h_report(struct sk_rpc_req *req, void *arg)
{
	struct kvb *b = arg;
	size_t len;
	const void *d = sk_rpc_req_data(req, &len);
	struct kvb_result r;

	if (len != sizeof(r)) {
		sk_rpc_respond(req, -EINVAL, 0);
		return;
	}
	memcpy(&r, d, sizeof(r));
	kvb_take(b, &r);
	sk_rpc_respond(req, 0, 0);
}

static void kvb_h_null(struct sk_rpc_req *req, void *arg)
{
	(void)arg;
	sk_rpc_respond(req, 0, 0);
}

static void kvb_h_stop(struct sk_rpc_req *req, void *arg)
{
	struct kvb *b = arg;

	b->stop = 1;
	sk_rpc_respond(req, 0, 0);
}

/*
 * --serve spin: every rank but 0 busy-polls its loop once its own run is
 * over, until rank 0 has every client's result and says stop; rank 0
 * polls until the results are in. Without it, ranks wait in the barrier,
 * which sleeps. Returns 0, or -1 when the loop or a stop call failed.
 */
static int kvb_serve(struct kvb *b)
{
	struct sk_loop *loop = sk_os_loop();

	if (b->rank != 0) {
		while (!b->stop)
			if (sk_loop_run_once(loop, 0) < 0)
				return -1;
		return 0;
	}
	while (b->nall < b->o.clients)
		if (sk_loop_run_once(loop, 0) < 0)
			return -1;
	for (unsigned r = 1; r < b->size; r++) {
		struct sk_rpc_peer *p;
		size_t len = 0;

		if (sk_rpc_connect(b->rpc, r, -1, &p) != SK_OK ||
		    sk_rpc_call_sync(p, KVB_RPC_STOP, NULL, 0, NULL, 0,
				     &len) != 0)
			return -1;
	}
	return 0;
}

static int kvb_send_result(struct kvb *b)
{
	struct sk_rpc_peer *p;
	size_t len = 0;
	void *buf;
	int rc;

	if (sk_rpc_connect(b->rpc, 0, -1, &p) != SK_OK)
		return -1;
	buf = sk_rpc_buf_alloc(b->rpc, sizeof(b->me));
	if (buf == NULL)
		return -1;
	memcpy(buf, &b->me, sizeof(b->me));
	rc = sk_rpc_call_sync(p, KVB_RPC_REPORT, buf, sizeof(b->me), NULL, 0,
			      &len);
	sk_rpc_buf_free(b->rpc, buf);
	return rc == 0 ? 0 : -1;
}

/* Rank 0: every owner's figures, summed (SK_KV_CMD_OWNER_STATS); an
 * owner that does not answer counts nothing. */
/* Every owner's figures, summed; how many owners answered. */
static unsigned kvb_owners(struct kvb *b, struct sk_kv_owner_stats *sum)
{
	unsigned answered = 0;

	memset(sum, 0, sizeof(*sum));
	for (unsigned r = 0; r < b->size; r++) {
		struct sk_kv_owner_stats o;
		struct sk_kv_req q;

		memset(&q, 0, sizeof(q));
		q.cmd = SK_KV_CMD_OWNER_STATS;
		q.rank = r;
		q.buf = &o;
		q.cap = sizeof(o);
		if (sk_kv_post(b->kv, &q) != SK_OK ||
		    sk_kv_wait(b->kv, &q, 1) != SK_OK || q.status != SK_OK ||
		    q.res != SK_KV_OK)
			continue;
		sum->items += o.items;
		sum->evictions += o.evictions;
		sum->waited += o.waited;
		answered++;
	}
	return answered;
}

static void kvb_row(const char *type, double ops_s, double hits_s,
		    double miss_s, const struct kvb_hist *h, double kb_s)
{
	printf("%-10s %12.2f %12.2f %12.2f %13.3f %13.3f %13.3f %13.3f "
	       "%12.2f\n", type, ops_s, hits_s, miss_s,
	       h->count ? (double)h->sum_ns / (double)h->count / 1e3 : 0.0,
	       kvb_hist_pct(h, 0.50) / 1e3, kvb_hist_pct(h, 0.99) / 1e3,
	       kvb_hist_pct(h, 0.999) / 1e3, kb_s);
}

/* Rank 0: the table of all clients, as memtier's "ALL STATS". Clients
 * start together (a barrier); rates are the operations of all of them
 * over the longest client's timed span, so a client that finished early
 * (its keys were local) does not count as if it had gone on. */
static int kvb_print(struct kvb *b)
{
	struct kvb_hist *get = calloc(1, sizeof(*get));
	struct kvb_hist *set = calloc(1, sizeof(*set));
	struct kvb_hist *all = calloc(1, sizeof(*all));
	double gets_s = 0, sets_s = 0, hits_s = 0, miss_s = 0, secs = 0;
	uint64_t ops = 0, errors = 0, bad = 0, misses = 0;
	struct sk_kv_stats ks = {0};
	struct sk_kv_owner_stats os;
	unsigned owners;
	double item = (double)(b->o.ksize + b->o.vsize);
	const char *line = "------------------------------------------------"
			   "------------------------------------------------"
			   "------------------------------";
	int ret = 0;

	if (get == NULL || set == NULL || all == NULL) {
		ret = -1;
		goto out;
	}
	for (unsigned i = 0; i < b->nall; i++) {
		double s = (double)b->all[i].time_ns / 1e9;

		if (s > secs)
			secs = s;
	}
	if (secs <= 0)
		secs = 1e-9;
	for (unsigned i = 0; i < b->nall; i++) {
		const struct kvb_result *r = &b->all[i];

		gets_s += (double)r->gets / secs;
		sets_s += (double)r->sets / secs;
		hits_s += (double)r->hits / secs;
		miss_s += (double)r->misses / secs;
		ops += r->ops;
		errors += r->errors;
		bad += r->bad_values;
		misses += r->misses;
		kvb_hist_merge(get, &r->get);
		kvb_hist_merge(set, &r->set);
		ks.gets_local += r->kst.gets_local;
		ks.gets_onesided += r->kst.gets_onesided;
		ks.gets_rpc += r->kst.gets_rpc;
		ks.read_retries += r->kst.read_retries;
		ks.updates_rpc += r->kst.updates_rpc;
	}
	kvb_hist_merge(all, get);
	kvb_hist_merge(all, set);
	printf("\nkvbench: %u ranks, %u clients, mix %s (%s), %s%s, %lu keys "
	       "of %lu B, values of %lu B, depth %lu (%s), %s\n", b->size,
	       b->nall, kvb_mixes[b->o.mix].name, kvb_mixes[b->o.mix].what,
	       b->o.zipf ? "zipf " : "uniform",
	       b->o.zipf ? (b->o.zmethod == KVB_ZIPF_GRAY ? "(Gray)" :
			    "(exact)") : "",
	       b->o.keys, b->o.ksize, b->o.vsize, b->o.depth,
	       b->o.depth == 1 ? "blocking calls" : "sk_kv_post",
	       b->o.owner >= 0 ? "keys of one owner" :
	       b->o.remote ? "remote keys only" : "all keys");
	printf("\nALL STATS\n%s\n", line);
	printf("%-10s %12s %12s %12s %13s %13s %13s %13s %12s\n", "Type",
	       "Ops/sec", "Hits/sec", "Misses/sec", "Avg. Latency",
	       "p50 Latency", "p99 Latency", "p99.9 Latency", "KB/sec");
	printf("%-10s %12s %12s %12s %13s %13s %13s %13s %12s\n", "", "", "",
	       "", "(usec)", "(usec)", "(usec)", "(usec)", "");
	printf("%s\n", line);
	kvb_row(b->o.mix == KVB_NULL ? "Nulls" : "Sets", sets_s, 0, 0, set,
		sets_s * item / 1024);
	kvb_row("Gets", gets_s, hits_s, miss_s, get,
		(hits_s * item + miss_s * (double)b->o.ksize) / 1024);
	kvb_row("Totals", gets_s + sets_s, hits_s, miss_s, all,
		((sets_s + hits_s) * item + miss_s * (double)b->o.ksize) / 1024);
	printf("%s\n", line);
	printf("kv client counters (all clients): gets local %" PRIu64
	       ", one-sided %" PRIu64 ", by rpc %" PRIu64 ", read retries %"
	       PRIu64 ", updates by rpc %" PRIu64 "\n", ks.gets_local,
	       ks.gets_onesided, ks.gets_rpc, ks.read_retries, ks.updates_rpc);
	owners = kvb_owners(b, &os);
	if (owners == b->size)
		printf("kv owner counters (all owners): ");
	else
		printf("kv owner counters (%u of %u owners answered): ", owners,
		       b->size);
	printf("items %" PRIu64 ", evictions %" PRIu64 ", updates that waited "
	       "for room %" PRIu64 "\n", os.items, os.evictions, os.waited);
	if (os.waited)
		printf("kvbench: %" PRIu64 " updates waited at their owners for "
		       "memory still in quarantine: the partitions are small "
		       "for this rate of updates (--part-bytes; kv/README.md, "
		       "\"Quarantine\")\n", os.waited);
	printf("kvbench: mix=%s dist=%s keys=%lu ksize=%lu vsize=%lu depth=%lu "
	       "ranks=%u clients=%u ops=%" PRIu64 " secs=%.3f ops_s=%.0f "
	       "get_ops_s=%.0f set_ops_s=%.0f get_p50_us=%.3f get_p99_us=%.3f "
	       "get_p999_us=%.3f set_p50_us=%.3f set_p99_us=%.3f "
	       "set_p999_us=%.3f misses=%" PRIu64 " errors=%" PRIu64
	       " bad_values=%" PRIu64 " waited=%" PRIu64 "\n",
	       kvb_mixes[b->o.mix].name,
	       b->o.zipf ? "zipf" : "uniform", b->o.keys, b->o.ksize,
	       b->o.vsize, b->o.depth, b->size, b->nall, ops, secs,
	       gets_s + sets_s, gets_s, sets_s, kvb_hist_pct(get, 0.5) / 1e3,
	       kvb_hist_pct(get, 0.99) / 1e3, kvb_hist_pct(get, 0.999) / 1e3,
	       kvb_hist_pct(set, 0.5) / 1e3, kvb_hist_pct(set, 0.99) / 1e3,
	       kvb_hist_pct(set, 0.999) / 1e3, misses, errors, bad, os.waited);
	if (errors || bad)
		ret = -1;
out:
	free(get);
	free(set);
	free(all);
	return ret;
}

/* ---- the job ---- */

/* Bytes of one item, as the store rounds it: 64-byte units in size
 * classes growing by about 1.25 (kv/README.md). */
static uint64_t kvb_chunk(unsigned long ksize, unsigned long vsize)
{
	uint64_t units = (40 + ksize + vsize + 63) / 64, c = 1;

	while (c < units)
		c = c < 13 ? c + 1 : c + c / 4;
	return c * 64;
}

static void kvb_attr(const struct kvb *b, struct sk_kv_attr *a)
{
	uint64_t per = b->o.keys / b->o.partitions + 1;
	uint64_t bk = 2;

	/* Binomial spread over partitions, then room for out-of-place
	 * updates and quarantine: twice the items, plus a margin. */
	per += 4 * (uint64_t)sqrt((double)per) + 16;
	while (bk * 7 < per * 4) /* pairs at most a quarter full */
		bk *= 2;
	memset(a, 0, sizeof(*a));
	a->partitions = (uint32_t)b->o.partitions;
	a->buckets = bk;
	a->part_bytes = b->o.part_bytes ? b->o.part_bytes :
			4096 + bk * 64 + 2 * per * kvb_chunk(b->o.ksize,
							     b->o.vsize);
	if (a->part_bytes < (64u << 10))
		a->part_bytes = 64u << 10;
	a->part_bytes = (a->part_bytes + 4095) & ~(size_t)4095;
	if (b->o.part_bytes)
		a->buckets = 0;
	a->quarantine_ms = (uint32_t)b->o.quarantine_ms;
}

/* A node gets skrun's whole command line; under a wrapper it starts with
 * the wrapper's words: skip to the one naming kvbench. */
static int kvb_argv_start(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *s = strrchr(argv[i], '/');

		s = s ? s + 1 : argv[i];
		if (strcmp(s, "kvbench") == 0)
			return i;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct kvb b = {0};
	struct sk_kv_attr attr;
	sk_status_t st;
	int ret, skip;

	setvbuf(stdout, NULL, _IOLBF, 0);
	kvb_rank = sk_os_loop() ? sk_os_rank() : 0;
	skip = kvb_argv_start(argc, argv);
	ret = kvb_parse(&b.o, argc - skip, argv + skip);
	if (ret >= 0)
		return ret;
	if (sk_os_loop() == NULL) {
		fprintf(stderr, "kvbench: not a skrun node: run it as "
			"'skrun -n N kvbench [options]'\n");
		return PERF_EXIT_USAGE;
	}
	b.rank = sk_os_rank();
	b.size = sk_os_size();
	if (b.o.clients == 0)
		b.o.clients = b.size;
	if (b.o.clients > b.size) {
		KVB_ERR("--clients %lu: the job has %u ranks\n", b.o.clients,
			b.size);
		return PERF_EXIT_USAGE;
	}
	if (b.o.owner >= (long)b.size) {
		KVB_ERR("--owner %ld: the job has %u ranks\n", b.o.owner,
			b.size);
		return PERF_EXIT_USAGE;
	}
	if (b.o.remote && b.size < 2) {
		KVB_ERR("--remote needs 2 ranks or more\n");
		return PERF_EXIT_USAGE;
	}
	if (b.o.depth > 1 && b.o.mix == KVB_NULL) {
		KVB_ERR("--mix null runs at --depth 1 only\n");
		return PERF_EXIT_USAGE;
	}
	b.rng = b.o.seed * 0x9e3779b97f4a7c15ull + b.rank + 1;
	b.all = calloc(b.size, sizeof(*b.all));
	b.peers = calloc(b.size, sizeof(*b.peers));
	if (b.all == NULL || b.peers == NULL) {
		fprintf(stderr, "kvbench: out of memory\n");
		return PERF_EXIT_FAIL;
	}
	kvb_attr(&b, &attr);
	st = sk_rpc_open(&b.rpc);
	if (st != SK_OK) {
		fprintf(stderr, "kvbench: rank %u: sk_rpc_open: %s\n", b.rank,
			sk_status_str(st));
		return PERF_EXIT_FAIL;
	}
	if (sk_rpc_register(b.rpc, KVB_RPC_REPORT, kvb_h_report, &b) ||
	    sk_rpc_register(b.rpc, KVB_RPC_NULL, kvb_h_null, &b) ||
	    sk_rpc_register(b.rpc, KVB_RPC_STOP, kvb_h_stop, &b)) {
		fprintf(stderr, "kvbench: cannot register handlers\n");
		return PERF_EXIT_FAIL;
	}
	st = sk_kv_open(b.rpc, &attr, &b.kv);
	if (st != SK_OK) {
		/* Rendezvous placement is uneven: allow each rank twice its
		 * share, plus rpc's and kv's buffers. */
		unsigned long mb = (unsigned long)((2.0 * attr.partitions /
			b.size * (double)attr.part_bytes) / 1048576) + 8;

		fprintf(stderr, "kvbench: rank %u: sk_kv_open (%u partitions "
			"of %zu bytes, %llu buckets each): %s\n", b.rank,
			attr.partitions, attr.part_bytes,
			(unsigned long long)attr.buckets, sk_status_str(st));
		if (st == SK_ERR_NOMEM)
			fprintf(stderr, "kvbench: rank %u: try SKIFF_ARENA_MB="
				"%lu (or fewer --keys, more ranks)\n", b.rank,
				mb);
		return PERF_EXIT_FAIL;
	}
	if (b.rank == 0 && !b.o.quiet)
		printf("kvbench: %u partitions of %zu bytes (%llu buckets) "
		       "over %u ranks; loading %lu keys\n", attr.partitions,
		       attr.part_bytes, (unsigned long long)attr.buckets,
		       b.size, b.o.keys);
	ret = PERF_EXIT_OK;
	if (!b.o.no_load && kvb_load(&b) != 0)
		ret = PERF_EXIT_FAIL;
	if (sk_os_barrier() != 0)
		ret = PERF_EXIT_FAIL;
	if (ret == PERF_EXIT_OK && b.rank < b.o.clients) {
		if (kvb_pick_keys(&b) != 0 || b.nidx < 2) {
			fprintf(stderr, "kvbench: rank %u: %s\n", b.rank,
				b.idx ? "fewer than 2 keys to draw from "
				"(--owner, --remote, --keys)" : "out of memory");
			ret = PERF_EXIT_FAIL;
		} else if (b.o.zipf &&
			   kvb_zipf_init(&b.z, b.o.zmethod, b.nidx,
					 b.o.theta) != 0) {
			ret = PERF_EXIT_FAIL;
		} else {
			b.me.rank = b.rank;
			b.me.depth = (uint32_t)b.o.depth;
			if (kvb_run(&b) != 0)
				ret = PERF_EXIT_FAIL;
			sk_kv_stats(b.kv, &b.me.kst);
			if (b.rank == 0)
				kvb_take(&b, &b.me);
			else if (kvb_send_result(&b) != 0)
				ret = PERF_EXIT_FAIL;
		}
	}
	/* A rank that failed ends the job now (sk_os_abort: skrun kills
	 * the others): waiting for a stop, a report or a barrier, or
	 * finalizing, which waits for every node, could wait for ever. */
	if (ret != PERF_EXIT_OK)
		sk_os_abort(ret, "kvbench: rank %u failed; ending the job",
			    b.rank);
	if (b.o.spin && kvb_serve(&b) != 0) {
		fprintf(stderr, "kvbench: rank %u: serving: the loop or a stop "
			"call failed\n", b.rank);
		ret = PERF_EXIT_FAIL;
	}
	if (sk_os_barrier() != 0)
		ret = PERF_EXIT_FAIL;
	if (b.rank == 0 && ret == PERF_EXIT_OK) {
		if (b.nall != b.o.clients) {
			fprintf(stderr, "kvbench: %u of %lu clients reported\n",
				b.nall, b.o.clients);
			ret = PERF_EXIT_FAIL;
		} else if (kvb_print(&b) != 0) {
			ret = PERF_EXIT_FAIL;
		}
	}
	/* Every rank serves until rank 0 has asked each owner for its
	 * figures (kvb_owners): one that closed its kv first answers none. */
	if (sk_os_barrier() != 0)
		ret = PERF_EXIT_FAIL;
	if (b.me.errors || b.me.bad_values)
		ret = PERF_EXIT_FAIL;
	sk_kv_close(b.kv);
	sk_rpc_destroy(b.rpc);
	free(b.idx);
	free(b.all);
	free(b.peers);
	return ret;
}
