/*
 * kv_job: kv inside a real skrun job, written from kv.h, rpc.h and os.h
 * alone, as an application would (tests/e2e/jobs.sh runs it).
 *
 *   all     every rank sets KEYS keys of its own, values of 0..8 KiB made
 *           from the key (so a wrong, stale or torn value is caught),
 *           then every rank GETs every key of every rank and checks it;
 *           each rank deletes every tenth of its keys, and every rank
 *           checks that those miss and the rest still hit. Then the
 *           limits, on rank 0's keys read from every rank: a 250-byte key
 *           is stored and read, a 251-byte one and one with a space are
 *           refused (EFORMAT); a value of SK_KV_VALUE_MAX bytes is stored
 *           and read back, one byte more is refused (ETOOLARGE).
 *
 *   gone    every rank sets KEYS keys of its own; rank 1 then closes its
 *           kv and ends, while the others GET every key:
 *           those of rank 1's partitions fail with SK_ERR_UNREACHABLE,
 *           and so do sets of them; the rest are read and checked.
 *
 *   hostile every rank sets KEYS keys of its own; rank 0 then sends
 *           random bytes of random lengths (0 .. 9000, so some go by
 *           RDMA) to every kv handler id of every other rank; none may
 *           crash or hang an owner, and every key still reads back whole.
 *
 * Each rank prints one line of counts ("rank R: ... ok") or says what
 * failed and exits 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/kv.h>
#include <skiff/os.h>
#include <skiff/rpc.h>

#define KEYS 1000u
#define VMAX 8192u

static unsigned me;

#define FAIL(...) do {                                                  \
	printf("rank %u: ", me);                                        \
	printf(__VA_ARGS__);                                            \
	printf("\n");                                                   \
	fflush(stdout);                                                 \
	exit(1);                                                        \
} while (0)

static size_t key_of(char *buf, unsigned rank, unsigned i)
{
	return (size_t)sprintf(buf, "kvjob:%u:%u", rank, i);
}

static size_t vlen_of(unsigned i)
{
	return (size_t)i * VMAX / (KEYS - 1); /* 0 .. 8192 */
}

/* FNV-1a of the key seeds the value's bytes: each value checks itself
 * against its key. */
static uint64_t seed_of(const void *key, size_t klen)
{
	const unsigned char *p = key;
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < klen; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static void fill(unsigned char *v, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		v[i] = (unsigned char)seed;
	}
}

static int check(const unsigned char *v, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (v[i] != (unsigned char)seed)
			return -1;
	}
	return 0;
}

static const char *res_str(enum sk_kv_res r)
{
	const char *s = sk_kv_res_str(r);

	return s ? s : "(bad result)";
}

static void set_one(struct sk_kv *kv, const void *key, size_t klen,
		    const unsigned char *val, size_t vlen, uint32_t flags,
		    enum sk_kv_res want)
{
	enum sk_kv_res res;
	sk_status_t st;

	st = sk_kv_set(kv, key, klen, val, vlen, flags, 0, &res);
	if (st != SK_OK)
		FAIL("set of a %zu-byte key, %zu-byte value: %s", klen, vlen,
		     sk_status_str(st));
	if (res != want)
		FAIL("set of a %zu-byte key, %zu-byte value: %s, not %s",
		     klen, vlen, res_str(res), res_str(want));
}

/* GET and compare with what fill() made; want SK_KV_OK or
 * SK_KV_NOT_FOUND. */
static void get_one(struct sk_kv *kv, const void *key, size_t klen,
		    unsigned char *buf, size_t cap, size_t want_len,
		    uint32_t want_flags, enum sk_kv_res want)
{
	enum sk_kv_res res;
	uint32_t flags = 0;
	size_t vlen = 0;
	sk_status_t st;

	st = sk_kv_get(kv, key, klen, buf, cap, &vlen, &flags, NULL, &res);
	if (st != SK_OK)
		FAIL("get of %.*s: %s", (int)(klen > 40 ? 40 : klen),
		     (const char *)key, sk_status_str(st));
	if (res != want)
		FAIL("get of %.*s: %s, not %s", (int)(klen > 40 ? 40 : klen),
		     (const char *)key, res_str(res), res_str(want));
	if (want != SK_KV_OK)
		return;
	if (vlen != want_len || flags != want_flags ||
	    check(buf, vlen, seed_of(key, klen)) != 0)
		FAIL("get of %.*s: %zu bytes, flags %" PRIu32 "%s (want %zu "
		     "bytes, flags %" PRIu32 ")", (int)(klen > 40 ? 40 : klen),
		     (const char *)key, vlen, flags,
		     vlen == want_len ? ", corrupted" : "", want_len,
		     want_flags);
}

static void del_one(struct sk_kv *kv, const void *key, size_t klen,
		    enum sk_kv_res want)
{
	enum sk_kv_res res;
	sk_status_t st;

	st = sk_kv_delete(kv, key, klen, &res);
	if (st != SK_OK)
		FAIL("delete: %s", sk_status_str(st));
	if (res != want)
		FAIL("delete of a %zu-byte key: %s, not %s", klen,
		     res_str(res), res_str(want));
}

static void barrier(void)
{
	if (sk_os_barrier() != 0)
		FAIL("barrier failed");
}

static void limits(struct sk_kv *kv, unsigned char *big)
{
	char key[SK_KV_KEY_MAX + 2];
	enum sk_kv_res res;
	sk_status_t st;

	memset(key, 'k', sizeof(key));
	if (me == 0) {
		fill(big, SK_KV_KEY_MAX, seed_of(key, SK_KV_KEY_MAX));
		set_one(kv, key, SK_KV_KEY_MAX, big, SK_KV_KEY_MAX, 250,
			SK_KV_STORED);
		fill(big, SK_KV_VALUE_MAX, seed_of("big", 3));
		set_one(kv, "big", 3, big, SK_KV_VALUE_MAX, 7, SK_KV_STORED);
	}
	/* Refused by every rank, before any owner is asked. */
	set_one(kv, key, SK_KV_KEY_MAX + 1, big, 1, 0, SK_KV_EFORMAT);
	set_one(kv, "a key", 5, big, 1, 0, SK_KV_EFORMAT);
	set_one(kv, "big2", 4, big, SK_KV_VALUE_MAX + 1, 0, SK_KV_ETOOLARGE);
	del_one(kv, key, SK_KV_KEY_MAX + 1, SK_KV_EFORMAT);
	st = sk_kv_get(kv, key, SK_KV_KEY_MAX + 1, big, 1, NULL, NULL, NULL,
		       &res);
	if (st != SK_OK || res != SK_KV_EFORMAT)
		FAIL("get of a 251-byte key: %s, %s", sk_status_str(st),
		     res_str(res));
	barrier();
	get_one(kv, key, SK_KV_KEY_MAX, big, SK_KV_VALUE_MAX, SK_KV_KEY_MAX,
		250, SK_KV_OK);
	get_one(kv, "big", 3, big, SK_KV_VALUE_MAX, SK_KV_VALUE_MAX, 7, SK_KV_OK);
	get_one(kv, "big2", 4, big, SK_KV_VALUE_MAX, 0, 0, SK_KV_NOT_FOUND);
}

/* The "gone" mode after rank 1 has ended: every key, owned by rank 1 or
 * not, gets the answer its owner's state calls for, and nothing hangs. */
static void gone(struct sk_kv *kv, unsigned n, unsigned char *val,
		 unsigned char *buf)
{
	unsigned ok = 0, unreachable = 0;
	enum sk_kv_res res;
	char key[64];
	sk_status_t st;

	for (unsigned r = 0; r < n; r++) {
		for (unsigned i = 0; i < KEYS; i++) {
			size_t klen = key_of(key, r, i);
			size_t vlen = 0;

			st = sk_kv_get(kv, key, klen, buf, VMAX, &vlen, NULL,
				       NULL, &res);
			if (sk_kv_owner_of(kv, key, klen) == 1) {
				if (st != SK_ERR_UNREACHABLE)
					FAIL("get of %s on the gone rank 1: "
					     "%s", key, sk_status_str(st));
				fill(val, vlen_of(i), seed_of(key, klen));
				st = sk_kv_set(kv, key, klen, val, vlen_of(i),
					       0, 0, &res);
				if (st != SK_ERR_UNREACHABLE)
					FAIL("set of %s on the gone rank 1: "
					     "%s", key, sk_status_str(st));
				unreachable++;
				continue;
			}
			if (st != SK_OK || res != SK_KV_OK ||
			    vlen != vlen_of(i) ||
			    check(buf, vlen, seed_of(key, klen)) != 0)
				FAIL("get of %s after rank 1 ended: %s, %s",
				     key, sk_status_str(st), res_str(res));
			ok++;
		}
	}
	if (unreachable == 0)
		FAIL("rank 1 owned no key: the test proves nothing");
	printf("rank %u: after rank 1 ended: %u keys read, %u unreachable "
	       "as expected; gone ok\n", me, ok, unreachable);
	fflush(stdout);
}

/* Rank 0's attack on the others' kv handlers (ids from kv.h). */
static void hostile(struct sk_rpc *rpc, unsigned n)
{
	unsigned calls = 0, refused = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned char *req = sk_rpc_buf_alloc(rpc, 9000);
	unsigned char resp[256];

	if (req == NULL)
		FAIL("no rpc buffer");
	for (unsigned r = 1; r < n; r++) {
		struct sk_rpc_peer *peer;
		sk_status_t st = sk_rpc_connect(rpc, r, -1, &peer);

		if (st != SK_OK)
			FAIL("connect to rank %u: %s", r, sk_status_str(st));
		for (unsigned k = 0; k < 200; k++) {
			for (unsigned id = SK_KV_RPC_FIRST;
			     id <= SK_KV_RPC_FIRST + 4; id++) {
				size_t len, got = 0;
				int rc;

				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				len = k % 10 == 9 ? 8192 + x % 808 : x % 300;
				fill(req, len, x);
				rc = sk_rpc_call_sync(peer, (uint16_t)id, req,
						      len, resp, sizeof(resp),
						      &got);
				if (rc == -ECONNRESET)
					FAIL("rank %u failed on bytes to "
					     "handler %u", r, id);
				calls++;
				refused += rc < 0;
			}
		}
	}
	sk_rpc_buf_free(rpc, req);
	printf("rank %u: %u calls of random bytes, %u refused; hostile "
	       "sent\n", me, calls, refused);
	fflush(stdout);
}

/* The job's end, whichever test ran: close the table, free the buffers. */
static int finish(struct sk_kv *kv, unsigned char *val, unsigned char *buf,
		  unsigned char *big)
{
	sk_kv_close(kv);
	free(val);
	free(buf);
	free(big);
	return 0;
}

int main(int argc, char **argv)
{
	struct sk_kv_attr attr = {
		.partitions = 16,
		.part_bytes = 4u << 20,
	};
	unsigned n = sk_os_size(), got = 0, misses = 0, deleted = 0;
	unsigned char *val, *buf, *big;
	struct sk_kv_stats ks;
	struct sk_rpc *rpc;
	struct sk_kv *kv;
	char key[64];
	sk_status_t st;

	me = sk_os_rank();
	if (argc != 2 || (strcmp(argv[1], "all") != 0 &&
			  strcmp(argv[1], "gone") != 0 &&
			  strcmp(argv[1], "hostile") != 0)) {
		printf("usage: kv_job all|gone|hostile\n");
		return 2;
	}
	st = sk_rpc_open(&rpc);
	if (st != SK_OK)
		FAIL("sk_rpc_open: %s", sk_status_str(st));
	st = sk_kv_open(rpc, &attr, &kv);
	if (st != SK_OK)
		FAIL("sk_kv_open: %s", sk_status_str(st));
	val = malloc(VMAX);
	buf = malloc(VMAX);
	big = malloc(SK_KV_VALUE_MAX + 1);
	if (val == NULL || buf == NULL || big == NULL)
		FAIL("out of memory");

	for (unsigned i = 0; i < KEYS; i++) {
		size_t klen = key_of(key, me, i);

		fill(val, vlen_of(i), seed_of(key, klen));
		set_one(kv, key, klen, val, vlen_of(i), me << 16 | i,
			SK_KV_STORED);
	}
	barrier();
	if (strcmp(argv[1], "hostile") == 0) {
		if (me == 0)
			hostile(rpc, n);
		barrier();
		for (unsigned r = 0; r < n; r++) {
			for (unsigned i = 0; i < KEYS; i++) {
				size_t klen = key_of(key, r, i);

				get_one(kv, key, klen, buf, VMAX, vlen_of(i),
					r << 16 | i, SK_KV_OK);
				got++;
			}
		}
		printf("rank %u: %u keys read back whole; hostile ok\n", me,
		       got);
		fflush(stdout);
		barrier();
		return finish(kv, val, buf, big);
	}
	if (strcmp(argv[1], "gone") == 0) {
		if (me != 1) {
			/* Returns once rank 1 has finished (os.h). */
			barrier();
			gone(kv, n, val, buf);
			barrier();
		}
		/* Rank 1 ends at once (libos ends its rpc at exit). */
		return finish(kv, val, buf, big);
	}
	for (unsigned r = 0; r < n; r++) {
		for (unsigned i = 0; i < KEYS; i++) {
			size_t klen = key_of(key, r, i);

			get_one(kv, key, klen, buf, VMAX, vlen_of(i),
				r << 16 | i, SK_KV_OK);
			got++;
		}
	}
	barrier();
	for (unsigned i = 0; i < KEYS; i += 10) {
		size_t klen = key_of(key, me, i);

		del_one(kv, key, klen, SK_KV_DELETED);
		del_one(kv, key, klen, SK_KV_NOT_FOUND);
		deleted++;
	}
	barrier();
	for (unsigned r = 0; r < n; r++) {
		for (unsigned i = 0; i < KEYS; i++) {
			size_t klen = key_of(key, r, i);
			int gone = i % 10 == 0;

			get_one(kv, key, klen, buf, VMAX, vlen_of(i),
				r << 16 | i, gone ? SK_KV_NOT_FOUND : SK_KV_OK);
			misses += gone;
			got += !gone;
		}
	}
	barrier();
	limits(kv, big);
	sk_kv_stats(kv, &ks);
	printf("rank %u: set %u, deleted %u, got %u and missed %u as "
	       "expected (one-sided %" PRIu64 ", rpc %" PRIu64 ", local %"
	       PRIu64 ", retries %" PRIu64 "); limits ok\n", me, KEYS,
	       deleted, got, misses, ks.gets_onesided, ks.gets_rpc,
	       ks.gets_local, ks.read_retries);
	fflush(stdout);
	/* Nobody reads this node's partitions once all are here. */
	barrier();
	return finish(kv, val, buf, big);
}
