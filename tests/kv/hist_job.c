/*
 * hist_job: record what concurrent kv clients saw, for kv_lincheck
 * (issue 12's linearizability check; tests/kv/hist.sh runs it).
 *
 *   skrun -n 4 hist_job OPS PREFIX
 *
 * Every rank runs CLIENTS clients at once through kv's asynchronous API
 * (sk_kv_post, sk_kv_progress), each with one operation in flight. A
 * rank issues OPS random operations in all on the same KEYS keys: get,
 * gets, set, add, replace, append, prepend, cas, delete, incr, decr and
 * touch, and writes them in kv_lincheck's history format
 * (tests/kv/README.md) to PREFIX.RANK on the host, which the script
 * merges. Every value written is unique to its client and operation, so
 * a read names the write it saw; half the sets write a number, for incr
 * and decr. An operation's response time is read after the progress
 * pass that saw it done: no earlier than its real answer, so its interval
 * holds it.
 *
 * Times are CLOCK_MONOTONIC nanoseconds, read just before the call and
 * just after it returned. On Linux that clock is one for every process of
 * a machine and never steps, so histories from ranks of one host share
 * it; ranks on several hosts would need clocks synchronised to within the
 * operations' gaps, or the checker could be misled. Each rank's history
 * is kept in memory and written after the run, so file I/O does not slow
 * the operations it records.
 *
 * A call that fails underneath (a status other than SK_OK) ends the rank:
 * no rank dies here, so none should.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <skiff/file.h>
#include <skiff/kv.h>
#include <skiff/os.h>
#include <skiff/rpc.h>

#define KEYS 4u
#define CLIENTS 4u /* per rank, each one operation in flight */
#define OPS_MAX 1000000u
#define VCAP (64u << 10)
/* A client sets a key anew instead of appending to it once it read a
 * value longer than this: appends alone would grow values without end. */
#define VLONG 200u

#include "job.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The history, one line per operation, grown as needed. */
static char *hist;
static size_t hist_len, hist_cap;

__attribute__((format(printf, 1, 2))) static void out(const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(hist + hist_len, hist_cap - hist_len, fmt, ap);
		va_end(ap);
		if (n < 0)
			FAIL("vsnprintf failed");
		if ((size_t)n < hist_cap - hist_len)
			break;
		hist_cap = (hist_cap + (size_t)n) * 2;
		hist = realloc(hist, hist_cap);
		if (hist == NULL)
			FAIL("out of memory for the history");
	}
	hist_len += (size_t)n;
}

/* A value as kv_lincheck reads it: x:HEX (x: when empty). */
static void out_val(const unsigned char *v, size_t len)
{
	out(" x:");
	for (size_t i = 0; i < len; i++)
		out("%02x", v[i]);
}

enum hop { H_GET, H_GETS, H_SET, H_ADD, H_REPLACE, H_APPEND, H_PREPEND,
	   H_CAS, H_DELETE, H_INCR, H_DECR, H_TOUCH, H_COUNT };

static const char *const hop_name[H_COUNT] = {
	"get", "gets", "set", "add", "replace", "append", "prepend", "cas",
	"delete", "incr", "decr", "touch",
};

/* Weights of the operations in the mix, out of 100. */
static const unsigned hop_weight[H_COUNT] = {
	[H_GET] = 20, [H_GETS] = 14, [H_SET] = 12, [H_ADD] = 6,
	[H_REPLACE] = 6, [H_APPEND] = 6, [H_PREPEND] = 4, [H_CAS] = 10,
	[H_DELETE] = 6, [H_INCR] = 7, [H_DECR] = 5, [H_TOUCH] = 4,
};

static enum hop draw_op(uint64_t r)
{
	unsigned w = (unsigned)(r % 100), sum = 0;

	for (unsigned i = 0; i < H_COUNT; i++) {
		sum += hop_weight[i];
		if (w < sum)
			return (enum hop)i;
	}
	return H_GET;
}

static const enum sk_kv_op store_op[H_COUNT] = {
	[H_SET] = SK_KV_SET, [H_ADD] = SK_KV_ADD, [H_REPLACE] = SK_KV_REPLACE,
	[H_APPEND] = SK_KV_APPEND, [H_PREPEND] = SK_KV_PREPEND,
	[H_CAS] = SK_KV_CAS,
};

/* The keys: key k is the first "hK.J" that rank k % N owns, so that
 * every rank serves some of them in place and reads the others from
 * their owners (placement changes with every job's secret). */
static char keys[KEYS][16];

static void pick_keys(struct sk_kv *kv, unsigned n)
{
	for (unsigned k = 0; k < KEYS; k++) {
		for (unsigned j = 0;; j++) {
			size_t klen = (size_t)sprintf(keys[k], "h%u.%u", k, j);

			if (sk_kv_owner_of(kv, keys[k], klen) == k % n)
				break;
		}
	}
}

/*
 * One client: at most one operation in flight (a client is sequential;
 * concurrency comes from the others). CLIENTS of them per rank run at
 * once through the asynchronous API, so the owner serves a rank's
 * requests interleaved, as it would several application threads'.
 */
struct client {
	unsigned id;            /* rank * CLIENTS + its index */
	struct sk_kv_req r;
	enum hop h;
	unsigned k;
	uint64_t t0;
	unsigned char val[32];
	uint64_t cas_sent;      /* the token a cas sent (q->cas comes back
				 * as the new item's) */
	unsigned char *buf;     /* VCAP bytes */
	/* The CAS token this client last saw through gets, per key (0:
	 * none), and the length of the value it last read. */
	uint64_t seen_cas[KEYS];
	size_t seen_len[KEYS];
};

/* Start client @c's next operation, number @op_no. */
static void start(struct sk_kv *kv, struct client *c, unsigned op_no,
		  uint64_t *x)
{
	uint64_t r = rnd(x);
	struct sk_kv_req *q = &c->r;
	size_t vlen;

	c->k = (unsigned)(r >> 40) % KEYS;
	c->h = draw_op(r);
	if ((c->h == H_APPEND || c->h == H_PREPEND) &&
	    c->seen_len[c->k] > VLONG)
		c->h = H_SET;
	memset(q, 0, sizeof(*q));
	q->key = keys[c->k];
	q->klen = strlen(keys[c->k]);
	switch (c->h) {
	case H_GET:
	case H_GETS:
		q->cmd = SK_KV_CMD_GET;
		q->buf = c->buf;
		q->cap = VCAP;
		break;
	case H_DELETE:
		q->cmd = SK_KV_CMD_DELETE;
		break;
	case H_INCR:
	case H_DECR:
		q->cmd = c->h == H_INCR ? SK_KV_CMD_INCR : SK_KV_CMD_DECR;
		/* Mostly small; 1 in 8 near 2^64, so incr wraps and decr
		 * stops at 0. */
		q->delta = (r >> 8) % 8 == 0 ? UINT64_MAX - (r >> 48) :
					       1 + (r >> 24) % 1000;
		break;
	case H_TOUCH:
		q->cmd = SK_KV_CMD_TOUCH;
		q->exptime = 3600; /* expiry is outside the model */
		break;
	default:
		/* A value no other operation writes: client, operation
		 * number; half of the sets a number, for incr and decr. */
		if (c->h == H_SET && (r >> 12) % 2)
			vlen = (size_t)sprintf((char *)c->val, "%u%07u",
					       c->id + 1, op_no);
		else
			vlen = (size_t)sprintf((char *)c->val, "%c%u.%u",
					       "abcdefgh"[c->id % 8], c->id,
					       op_no);
		q->cmd = SK_KV_CMD_STORE;
		q->op = store_op[c->h];
		q->value = c->val;
		q->vlen = vlen;
		q->flags = (uint32_t)(r >> 20) % 4;
		/* cas: mostly the last token seen; 1 in 4 a token off by
		 * one, which no version is likely to have. */
		if (c->h == H_CAS)
			q->cas = c->seen_cas[c->k] + ((r >> 16) % 4 == 0);
		c->cas_sent = q->cas;
		break;
	}
	c->t0 = mono_ns();
	if (sk_kv_post(kv, q) != SK_OK)
		FAIL("%s %s: not posted", hop_name[c->h], keys[c->k]);
}

/* Client @c's operation is done, seen at @t1: record it. */
static void finish(struct client *c, uint64_t t1)
{
	const struct sk_kv_req *q = &c->r;
	const char *key = keys[c->k];

	if (q->status != SK_OK)
		FAIL("%s %s: %s", hop_name[c->h], key,
		     sk_status_str(q->status));
	out("%u %" PRIu64 " %" PRIu64 " %s %s", c->id, c->t0, t1,
	    hop_name[c->h], key);
	switch (c->h) {
	case H_GET:
	case H_GETS:
		if (q->res == SK_KV_NOT_FOUND) {
			out(" -> END\n");
			return;
		}
		if (q->res != SK_KV_OK)
			FAIL("get %s: %s", key, sk_kv_res_str(q->res));
		if (q->vlen > VCAP)
			FAIL("get %s: %zu bytes, more than the test wrote",
			     key, q->vlen);
		c->seen_len[c->k] = q->vlen;
		out(" -> VALUE");
		out_val(c->buf, q->vlen);
		out(" %" PRIu32, q->flags);
		if (c->h == H_GETS) {
			out(" %" PRIu64, q->cas);
			c->seen_cas[c->k] = q->cas;
		}
		out("\n");
		return;
	case H_INCR:
	case H_DECR:
		out(" %" PRIu64 " ->", q->delta);
		if (q->res == SK_KV_OK)
			out(" %" PRIu64 "\n", q->number);
		else if (q->res == SK_KV_NOT_FOUND)
			out(" NOT_FOUND\n");
		else if (q->res == SK_KV_ENONNUM)
			out(" CLIENT_ERROR\n");
		else
			FAIL("%s %s: %s", hop_name[c->h], key,
			     sk_kv_res_str(q->res));
		return;
	case H_DELETE:
	case H_TOUCH:
		out(" -> %s\n", sk_kv_res_str(q->res));
		return;
	default:
		out_val(c->val, q->vlen);
		if (c->h != H_APPEND && c->h != H_PREPEND)
			out(" %" PRIu32, q->flags);
		if (c->h == H_CAS)
			out(" %" PRIu64, c->cas_sent);
		out(" -> %s\n", sk_kv_res_str(q->res));
		return;
	}
}

static void barrier(void)
{
	if (sk_os_barrier() != 0)
		FAIL("barrier failed");
}

int main(int argc, char **argv)
{
	struct sk_kv_attr attr = {
		.partitions = 16,
		.part_bytes = 256u << 10,
	};
	struct client cl[CLIENTS];
	unsigned long ops, started = 0, finished = 0;
	uint64_t x, t0;
	struct sk_rpc *rpc;
	struct sk_kv_stats ks;
	struct sk_kv *kv;
	char path[4096], *end;
	FILE *f;

	me = sk_os_rank();
	if (argc != 3 || (ops = strtoul(argv[1], &end, 10)) == 0 ||
	    *end != '\0' || ops > OPS_MAX) {
		printf("usage: hist_job OPS PREFIX (OPS 1 to %u; the history "
		       "goes to PREFIX.RANK)\n", OPS_MAX);
		return 2;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s.%u", argv[2], me) >=
	    sizeof(path)) {
		printf("hist_job: PREFIX is too long\n");
		return 2;
	}
	kv = job_open(&rpc, &attr);
	hist_cap = 1u << 20;
	hist = malloc(hist_cap);
	if (hist == NULL)
		FAIL("out of memory");
	memset(cl, 0, sizeof(cl));
	for (unsigned i = 0; i < CLIENTS; i++) {
		cl[i].id = me * CLIENTS + i;
		cl[i].buf = malloc(VCAP);
		if (cl[i].buf == NULL)
			FAIL("out of memory");
	}
	pick_keys(kv, sk_os_size());
	out("# hist_job rank %u of %u: %u clients, %lu operations on %u "
	    "keys, CLOCK_MONOTONIC ns\n", me, sk_os_size(), CLIENTS, ops,
	    KEYS);
	x = 0x9e3779b97f4a7c15ull * (me + 1) ^ (uint64_t)mono_ns();
	barrier();
	t0 = mono_ns();
	for (unsigned i = 0; i < CLIENTS && started < ops; i++)
		start(kv, &cl[i], (unsigned)started++, &x);
	while (finished < started) {
		uint64_t t1;

		sk_kv_progress(kv);
		t1 = mono_ns(); /* after the pass: no earlier than any answer */
		for (unsigned i = 0; i < CLIENTS; i++) {
			if (cl[i].r.done == 0 || cl[i].t0 == 0)
				continue;
			finish(&cl[i], t1);
			finished++;
			cl[i].t0 = 0;
			if (started < ops)
				start(kv, &cl[i], (unsigned)started++, &x);
		}
	}
	t0 = mono_ns() - t0;
	sk_kv_stats(kv, &ks);
	/* Everyone is done with the table before anyone closes it. */
	barrier();
	f = sk_fopen(path, "w");
	if (f == NULL)
		FAIL("open %s: %m", path);
	if (fwrite(hist, 1, hist_len, f) != hist_len || fclose(f) != 0)
		FAIL("write %s: %m", path);
	printf("rank %u: %lu operations in %.3f s (one-sided GETs %" PRIu64
	       ", local %" PRIu64 ", rpc %" PRIu64 ", retries %" PRIu64
	       "); history in %s\n", me, ops, (double)t0 / 1e9,
	       ks.gets_onesided, ks.gets_local, ks.gets_rpc, ks.read_retries,
	       path);
	fflush(stdout);
	barrier();
	sk_kv_close(kv);
	for (unsigned i = 0; i < CLIENTS; i++)
		free(cl[i].buf);
	free(hist);
	return 0;
}
