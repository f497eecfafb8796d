/*
 * kv_hello: Skiff's distributed hash table (skiff/kv.h) from a node
 * program. Every node stores a few keys, then reads every other node's
 * keys back and prints what it got.
 *
 *     skiffcc kv_hello.c -o kv_hello
 *     skrun -n 4 ./kv_hello [KEYS]             (default 4 keys per node)
 *     skrun -n 4 ./kv_hello --bench MS          (then GETs for MS ms)
 *
 * The table is collective: every node opens it over its rpc (sk_rpc_open)
 * with the same attributes, and sk_kv_open returns once all have laid out
 * their partitions. A key lives in one node's partition, chosen by
 * hashing; a GET of another node's key reads that node's memory with
 * RDMA, without its CPU (a "one-sided" GET), and a set goes to the owner
 * by rpc. The calls block, serving the node's loop meanwhile, so a node
 * answers the others' sets even while it waits for its own.
 *
 * --bench MS then GETs the other nodes' keys, one at a time, for MS
 * milliseconds, and prints the rate: a quick look, not a benchmark
 * (perf/kv's kvbench is that).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <skiff/kv.h>
#include <skiff/os.h>
#include <skiff/rpc.h>

#define KEYS_MAX 100000u

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A whole decimal number from 1 to @max, or 0. */
static unsigned long number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	return end != s && *end == '\0' && *s != '-' && v <= max ? v : 0;
}

static int bench(struct sk_kv *kv, unsigned rank, unsigned size, unsigned keys,
		 unsigned long ms)
{
	struct sk_kv_stats before, after;
	char key[64], val[128];
	enum sk_kv_res res;
	unsigned long i, gets;
	double t, end;

	sk_kv_stats(kv, &before);
	t = now_s();
	end = t + (double)ms / 1e3;
	for (i = 0; i == 0 || now_s() < end; i++) {
		/* Keys of the other nodes, in turn. */
		unsigned other = (rank + 1 + (unsigned)(i % (size - 1))) % size;
		int klen = snprintf(key, sizeof(key), "hello:%u:%lu", other,
				    (i / (size - 1)) % keys);
		sk_status_t st = sk_kv_get(kv, key, (size_t)klen, val,
					   sizeof(val), NULL, NULL, NULL, &res);

		if (st != SK_OK || res != SK_KV_OK) {
			fprintf(stderr, "kv_hello: rank %u: get %s: %s\n", rank,
				key,
				st != SK_OK ? sk_status_str(st)
					    : sk_kv_res_str(res));
			return 1;
		}
	}
	t = now_s() - t;
	gets = i;
	sk_kv_stats(kv, &after);
	printf("kv_hello: rank %u: %lu GETs in %.3f s, %.0f GETs/s, "
	       "%.1f us each (%" PRIu64 " one-sided, %" PRIu64 " by rpc)\n",
	       rank, gets, t, (double)gets / t, t * 1e6 / (double)gets,
	       after.gets_onesided - before.gets_onesided,
	       after.gets_rpc - before.gets_rpc);
	return 0;
}

int main(int argc, char **argv)
{
	/* 16 partitions of 256 KiB: a few MiB of each node's arena, which
	 * the defaults (SKIFF_ARENA_MB=16) leave room for. */
	struct sk_kv_attr attr = {.partitions = 16, .part_bytes = 256 << 10};
	unsigned rank = sk_os_rank(), size = sk_os_size(), keys = 4, r, i;
	unsigned long bench_ms = 0;
	struct sk_kv_stats ks;
	char key[64], val[128];
	struct sk_rpc *rpc;
	struct sk_kv *kv;
	enum sk_kv_res res;
	sk_status_t st;
	int a = 1, rc = 0;

	if (a < argc && strcmp(argv[a], "--bench") == 0) {
		bench_ms = a + 1 < argc ? number(argv[a + 1], 3600000) : 0;
		a += 2;
		if (bench_ms == 0)
			a = argc + 1; /* usage */
	}
	if (a < argc)
		keys = (unsigned)number(argv[a++], KEYS_MAX);
	if (a != argc || keys == 0) {
		fprintf(stderr,
			"usage: kv_hello [--bench MS] [KEYS] (MS 1 "
			"to 3600000, KEYS 1 to %u)\n",
			KEYS_MAX);
		return 2;
	}
	if (size < 2) {
		fprintf(stderr, "kv_hello: run it with skrun -n 2 or more\n");
		return 2;
	}

	st = sk_rpc_open(&rpc);
	if (st == SK_OK)
		st = sk_kv_open(rpc, &attr, &kv);
	if (st != SK_OK) {
		fprintf(stderr, "kv_hello: rank %u: opening the table: %s\n",
			rank, sk_status_str(st));
		return 1;
	}

	/* Store this node's keys: "hello:RANK:I" = "rank RANK says hello I". */
	for (i = 0; i < keys; i++) {
		int klen = snprintf(key, sizeof(key), "hello:%u:%u", rank, i);
		int vlen = snprintf(val, sizeof(val), "rank %u says hello %u",
				    rank, i);

		st = sk_kv_set(kv, key, (size_t)klen, val, (size_t)vlen, rank,
			       0, &res);
		if (st != SK_OK || res != SK_KV_STORED) {
			fprintf(stderr, "kv_hello: rank %u: set %s: %s\n", rank,
				key,
				st != SK_OK ? sk_status_str(st)
					    : sk_kv_res_str(res));
			return 1;
		}
	}
	printf("kv_hello: rank %u stored %u keys\n", rank, keys);
	/* Nobody reads a key before its node has stored it. */
	sk_os_barrier();

	/* Read every other node's keys back and check them. */
	for (r = 0; r < size && rc == 0; r++) {
		for (i = 0; i < keys && r != rank; i++) {
			int klen =
				snprintf(key, sizeof(key), "hello:%u:%u", r, i);
			char want[128];
			size_t vlen = 0;
			uint32_t flags = 0;

			snprintf(want, sizeof(want), "rank %u says hello %u", r,
				 i);
			st = sk_kv_get(kv, key, (size_t)klen, val,
				       sizeof(val) - 1, &vlen, &flags, NULL,
				       &res);
			if (st != SK_OK || res != SK_KV_OK ||
			    vlen >= sizeof(val) || flags != r) {
				fprintf(stderr,
					"kv_hello: rank %u: get %s: "
					"%s\n",
					rank, key,
					st != SK_OK ? sk_status_str(st)
						    : sk_kv_res_str(res));
				rc = 1;
				break;
			}
			val[vlen] = '\0';
			if (strcmp(val, want) != 0) {
				fprintf(stderr,
					"kv_hello: rank %u: get %s: "
					"'%s', not '%s'\n",
					rank, key, val, want);
				rc = 1;
				break;
			}
			if (i == 0)
				printf("kv_hello: rank %u read %s = '%s' "
				       "(stored by rank %u, kept by rank "
				       "%u)\n",
				       rank, key, val, r,
				       sk_kv_owner_of(kv, key, (size_t)klen));
		}
	}
	if (rc == 0) {
		sk_kv_stats(kv, &ks);
		printf("kv_hello: rank %u read back the %u keys of the %u "
		       "other node%s: %" PRIu64 " one-sided GETs, %" PRIu64
		       " served locally, %" PRIu64 " by rpc\n",
		       rank, keys * (size - 1), size - 1, size > 2 ? "s" : "",
		       ks.gets_onesided, ks.gets_local, ks.gets_rpc);
		if (bench_ms)
			rc = bench(kv, rank, size, keys, bench_ms);
	}

	/* Close only once every node is done reading the others' keys. */
	sk_os_barrier();
	sk_kv_close(kv);
	return rc;
}
