/*
 * hist_job: record what concurrent kv clients saw, for kv_lincheck
 * (issue 12's linearizability check; tests/kv/hist.sh runs it).
 *
 *   skrun -n 4 hist_job OPS PREFIX
 *
 * Every rank is one client (kv's calls block, and the asynchronous API
 * that would let a rank run several is not built yet). Each issues OPS
 * random operations on the same KEYS keys: get, gets, set, add, replace,
 * append, prepend, cas and delete (incr, decr and touch are not built
 * yet), and writes them in kv_lincheck's history format
 * (tests/kv/README.md) to PREFIX.RANK on the host, which the script
 * merges. Every value written is unique to its client and operation, so
 * a read names the write it saw.
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
	   H_CAS, H_DELETE, H_COUNT };

static const char *const hop_name[H_COUNT] = {
	"get", "gets", "set", "add", "replace", "append", "prepend", "cas",
	"delete",
};

/* Weights of the operations in the mix, out of 100. */
static const unsigned hop_weight[H_COUNT] = {
	[H_GET] = 22, [H_GETS] = 16, [H_SET] = 14, [H_ADD] = 8,
	[H_REPLACE] = 7, [H_APPEND] = 8, [H_PREPEND] = 5, [H_CAS] = 12,
	[H_DELETE] = 8,
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

/* The CAS token this client last saw through gets, per key (0: none),
 * and the length of the value it last read. */
static uint64_t seen_cas[KEYS];
static size_t seen_len[KEYS];

static void one(struct sk_kv *kv, unsigned op_no, uint64_t *x,
		unsigned char *buf)
{
	uint64_t r = rnd(x), t0, t1, cas = 0;
	unsigned k = (unsigned)(r >> 40) % KEYS;
	enum hop h = draw_op(r);
	unsigned char val[32];
	uint32_t flags = 0;
	enum sk_kv_res res;
	size_t klen, vlen = 0;
	const char *key = keys[k];
	sk_status_t st;

	klen = strlen(key);
	if ((h == H_APPEND || h == H_PREPEND) && seen_len[k] > VLONG)
		h = H_SET;
	if (h == H_GET || h == H_GETS) {
		t0 = mono_ns();
		st = sk_kv_get(kv, key, klen, buf, VCAP, &vlen, &flags, &cas,
			       &res);
		t1 = mono_ns();
		if (st != SK_OK)
			FAIL("%s %s: %s", hop_name[h], key, sk_status_str(st));
		out("%u %" PRIu64 " %" PRIu64 " %s %s ->", me, t0, t1,
		    hop_name[h], key);
		if (res == SK_KV_NOT_FOUND) {
			out(" END\n");
			return;
		}
		if (res != SK_KV_OK)
			FAIL("get %s: %s", key, sk_kv_res_str(res));
		if (vlen > VCAP)
			FAIL("get %s: %zu bytes, more than the test wrote",
			     key, vlen);
		seen_len[k] = vlen;
		out(" VALUE");
		out_val(buf, vlen);
		out(" %" PRIu32, flags);
		if (h == H_GETS) {
			out(" %" PRIu64, cas);
			seen_cas[k] = cas;
		}
		out("\n");
		return;
	}
	if (h == H_DELETE) {
		t0 = mono_ns();
		st = sk_kv_delete(kv, key, klen, &res);
		t1 = mono_ns();
		if (st != SK_OK)
			FAIL("delete %s: %s", key, sk_status_str(st));
		out("%u %" PRIu64 " %" PRIu64 " delete %s -> %s\n", me, t0, t1,
		    key, sk_kv_res_str(res));
		return;
	}
	/* A value no other operation writes: client, operation number. */
	vlen = (size_t)sprintf((char *)val, "%c%u.%u", "abcdefgh"[me % 8],
			       me, op_no);
	flags = (uint32_t)(r >> 20) % 4;
	if (h == H_CAS) {
		/* Mostly the last token seen; 1 in 4 a token off by one,
		 * which no version is likely to have. */
		cas = seen_cas[k] + ((r >> 16) % 4 == 0);
	}
	t0 = mono_ns();
	st = sk_kv_store(kv, store_op[h], key, klen, val, vlen, flags, 0, cas,
			 NULL, &res);
	t1 = mono_ns();
	if (st != SK_OK)
		FAIL("%s %s: %s", hop_name[h], key, sk_status_str(st));
	out("%u %" PRIu64 " %" PRIu64 " %s %s", me, t0, t1, hop_name[h], key);
	out_val(val, vlen);
	if (h != H_APPEND && h != H_PREPEND)
		out(" %" PRIu32, flags);
	if (h == H_CAS)
		out(" %" PRIu64, cas);
	out(" -> %s\n", sk_kv_res_str(res));
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
	uint64_t x, t0;
	unsigned long ops;
	unsigned char *buf;
	struct sk_rpc *rpc;
	struct sk_kv_stats ks;
	struct sk_kv *kv;
	char path[4096], *end;
	sk_status_t st;
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
	st = sk_rpc_open(&rpc);
	if (st != SK_OK)
		FAIL("sk_rpc_open: %s", sk_status_str(st));
	st = sk_kv_open(rpc, &attr, &kv);
	if (st != SK_OK)
		FAIL("sk_kv_open: %s", sk_status_str(st));
	buf = malloc(VCAP);
	hist_cap = 1u << 20;
	hist = malloc(hist_cap);
	if (buf == NULL || hist == NULL)
		FAIL("out of memory");
	pick_keys(kv, sk_os_size());
	out("# hist_job rank %u of %u: %lu operations on %u keys, "
	    "CLOCK_MONOTONIC ns\n", me, sk_os_size(), ops, KEYS);
	x = 0x9e3779b97f4a7c15ull * (me + 1) ^ (uint64_t)mono_ns();
	barrier();
	t0 = mono_ns();
	for (unsigned i = 0; i < ops; i++)
		one(kv, i, &x, buf);
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
	free(buf);
	free(hist);
	return 0;
}
