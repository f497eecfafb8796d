/*
 * kill_job: a node killed mid-run (issue 12). The last rank of the job,
 * the victim, SIGKILLs itself while the others are issuing GETs and sets
 * on every rank's keys; they must see the operations on the victim's
 * partitions fail with SK_ERR_UNREACHABLE (the owner is gone), every other
 * operation still answered and checked, and nothing hang. tests/e2e/jobs.sh
 * runs it (kv-kill).
 *
 *   skrun -n 4 kill_job [POST_OPS]
 *
 * Run it with skrun --enable-recovery (as mpirun's): the job goes on
 * without the victim, and skrun exits 137 (the victim's SIGKILL) once the
 * survivors end, whatever they did; their lines say how they fared.
 *
 * The victim does VICTIM_OPS operations like the others, stores the time
 * of its kill (CLOCK_REALTIME: the ranks share one machine's clock under
 * skrun -n; across hosts the figure would carry their clocks' offset) in
 * a key another rank owns, and raises SIGKILL. Each survivor notes when
 * its first operation on the victim's partitions failed, goes on for
 * POST_OPS operations (default 60) that must keep failing on the victim's
 * partitions and keep working on the others', then reads the kill time
 * and prints the delay next to rpc's liveness bound
 * ((SK_RPC_DEAD_PROBES + 2) x SKIFF_RPC_PROBE_MS, rpc/probe.c). The delay
 * is printed, not asserted; a survivor that sees no failure within
 * GIVE_UP_S of the kill says so and exits 1.
 *
 * Values check themselves: the first 8 bytes are a version, the rest is
 * made from the key and that version, so a wrong, stale-mixed or torn
 * value is caught.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <skiff/kv.h>
#include <skiff/os.h>
#include <skiff/rpc.h>

#define KEYS 64u        /* keys of each rank */
#define VMAX 256u
#define VICTIM_OPS 50u  /* the victim's operations before its kill */
#define GIVE_UP_S 60u   /* no failure by then: the dead owner went unseen */
#define DEAD_PROBES 4u  /* rpc's SK_RPC_DEAD_PROBES (rpc/rpc_int.h) */

#include "job.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t key_of(char *buf, unsigned rank, unsigned i)
{
	return (size_t)sprintf(buf, "kill:%u:%u", rank, i);
}

static uint64_t seed_of(const char *key, size_t klen, uint64_t ver)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ver;

	for (size_t i = 0; i < klen; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ull;
	return h | 1;
}

/* The value of @key at version @ver: @ver, then bytes made from both. */
static size_t make_val(unsigned char *v, const char *key, size_t klen,
		       uint64_t ver)
{
	uint64_t s = seed_of(key, klen, ver);
	size_t len = 8 + ver % (VMAX - 8);

	memcpy(v, &ver, 8);
	for (size_t i = 8; i < len; i++)
		v[i] = (unsigned char)rnd(&s);
	return len;
}

static int val_ok(const unsigned char *v, size_t len, const char *key,
		  size_t klen)
{
	unsigned char want[VMAX];
	uint64_t ver;

	if (len < 8)
		return 0;
	memcpy(&ver, v, 8);
	return make_val(want, key, klen, ver) == len &&
	       memcmp(want, v, len) == 0;
}

static void barrier(void)
{
	if (sk_os_barrier() != 0)
		FAIL("barrier failed");
}

/* The key holding the kill time: the first "kill:time:N" that a rank
 * other than @victim owns (every rank finds the same one). */
static size_t time_key(struct sk_kv *kv, unsigned victim, char *key)
{
	for (unsigned i = 0;; i++) {
		size_t klen = (size_t)sprintf(key, "kill:time:%u", i);

		if (sk_kv_owner_of(kv, key, klen) != victim)
			return klen;
	}
}

struct tally {
	unsigned ok, unreachable, victim_ok;
};

/* Invocation times of the victim's answered operations, to count those
 * answered after its kill (read from its memory, or sent before). */
#define VICTIM_TIMES 4096u
static uint64_t victim_inv[VICTIM_TIMES];

/* A random key of a random rank in @key; its draw in *@r_p. */
static size_t draw_key(unsigned n, uint64_t *x, char *key, uint64_t *r_p)
{
	uint64_t r = rnd(x);

	*r_p = r;
	return key_of(key, (unsigned)(r % n), (unsigned)(r >> 8) % KEYS);
}

/*
 * One operation on @key: 3 GETs in 4 (by the draw @r), else a set of a
 * new version. Returns its status; the answer of an SK_OK is checked
 * here, and a wrong one ends the rank.
 */
static sk_status_t one_op(struct sk_kv *kv, const char *key, size_t klen,
			  uint64_t r, uint64_t *x, unsigned char *val,
			  unsigned char *buf)
{
	enum sk_kv_res res;
	size_t vlen;
	sk_status_t st;

	if ((r >> 32) % 4 != 0) {
		st = sk_kv_get(kv, key, klen, buf, VMAX, &vlen, NULL, NULL,
			       &res);
		if (st != SK_OK)
			return st;
		if (res != SK_KV_OK)
			FAIL("get of %s: %s", key, sk_kv_res_str(res));
		if (vlen > VMAX || !val_ok(buf, vlen, key, klen))
			FAIL("get of %s: a value that was never written (%zu "
			     "bytes)", key, vlen);
		return SK_OK;
	}
	vlen = make_val(val, key, klen, rnd(x));
	st = sk_kv_set(kv, key, klen, val, vlen, 0, 0, &res);
	if (st != SK_OK)
		return st;
	if (res != SK_KV_STORED)
		FAIL("set of %s: %s", key, sk_kv_res_str(res));
	return SK_OK;
}

static void victim(struct sk_kv *kv, unsigned n, unsigned char *val,
		   unsigned char *buf)
{
	uint64_t x = 0x2545f4914f6cdd1dull, t;
	enum sk_kv_res res;
	char key[64];
	size_t klen;
	sk_status_t st;

	for (unsigned k = 0; k < VICTIM_OPS; k++) {
		uint64_t r;

		klen = draw_key(n, &x, key, &r);
		st = one_op(kv, key, klen, r, &x, val, buf);
		if (st != SK_OK)
			FAIL("before the kill: %s", sk_status_str(st));
	}
	printf("rank %u: %u operations done; SIGKILL now\n", me, VICTIM_OPS);
	fflush(stdout);
	/* Give the console line time to leave: the kill loses what has not. */
	sk_os_sleep_ms(50);
	/* The kill time is read before its store, so it is early by the
	 * store's round trip (well under a millisecond here). */
	klen = time_key(kv, me, key);
	t = now_ns();
	st = sk_kv_set(kv, key, klen, &t, sizeof(t), 0, 0, &res);
	if (st != SK_OK || res != SK_KV_STORED)
		FAIL("storing the kill time: %s", sk_status_str(st));
	raise(SIGKILL);
}

static void survivor(struct sk_kv *kv, unsigned n, unsigned post_ops,
		     unsigned char *val, unsigned char *buf)
{
	unsigned victim_rank = n - 1, after = 0, late = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull * (me + 1), t0 = now_ns();
	uint64_t t_inv = 0, t_err = 0, t_kill = 0, t;
	struct tally before = {0}, post = {0};
	const char *probe = getenv("SKIFF_RPC_PROBE_MS");
	enum sk_kv_res res;
	size_t klen, vlen;
	sk_status_t st;
	char key[64];

	/* post_ops after the first failure, and on until two of them were
	 * the dead rank's (keys are drawn at random: with a victim holding
	 * a tenth of the partitions, 60 draws give fewer than two of its
	 * keys about once in 70 survivors), within ten times as many. */
	while (after < post_ops ||
	       (post.unreachable < 2 && after < 10 * post_ops)) {
		uint64_t r, inv = now_ns();
		unsigned owner;
		char k[64];

		klen = draw_key(n, &x, k, &r);
		owner = sk_kv_owner_of(kv, k, klen);
		st = one_op(kv, k, klen, r, &x, val, buf);
		if (st != SK_OK && st != SK_ERR_UNREACHABLE)
			FAIL("an operation on %s: %s", k, sk_status_str(st));
		if (st == SK_ERR_UNREACHABLE && owner != victim_rank)
			FAIL("%s of rank %u's partition: %s; only rank %u died",
			     k, owner, sk_status_str(st), victim_rank);
		if (t_err == 0 && st == SK_ERR_UNREACHABLE) {
			t_inv = inv;
			t_err = now_ns();
		}
		if (t_err == 0) {
			before.ok++;
			if (owner == victim_rank &&
			    before.victim_ok < VICTIM_TIMES)
				victim_inv[before.victim_ok++] = inv;
			if (now_ns() - t0 > GIVE_UP_S * 1000000000ull)
				FAIL("no operation failed in %u s: the dead "
				     "rank %u went unseen", GIVE_UP_S,
				     victim_rank);
			continue;
		}
		/* Once seen gone, the victim stays gone. */
		if (owner == victim_rank && st != SK_ERR_UNREACHABLE)
			FAIL("%s answered by the dead rank %u after it "
			     "failed", k, victim_rank);
		post.ok += st == SK_OK;
		post.unreachable += st != SK_OK;
		after++;
	}
	if (post.ok == 0 || post.unreachable < 2)
		FAIL("after the kill: %u answered, %u unreachable: the test "
		     "proves nothing", post.ok, post.unreachable);
	klen = time_key(kv, victim_rank, key);
	st = sk_kv_get(kv, key, klen, &t, sizeof(t), &vlen, NULL, NULL, &res);
	if (st != SK_OK || res != SK_KV_OK || vlen != sizeof(t))
		FAIL("the kill time: %s, %s", sk_status_str(st),
		     st == SK_OK ? sk_kv_res_str(res) : "-");
	t_kill = t;
	for (unsigned i = 0; i < before.victim_ok; i++)
		late += victim_inv[i] > t_kill;
	printf("rank %u: %u operations answered before the first failure "
	       "(%u on rank %u's partitions, %u of them begun after its "
	       "kill); first failure %.1f ms after the kill (its call began "
	       "%.1f ms after it), liveness bound %u ms; then %u answered "
	       "and %u unreachable as expected; kill ok\n", me,
	       before.ok, before.victim_ok, victim_rank, late,
	       ((double)t_err - (double)t_kill) / 1e6,
	       ((double)t_inv - (double)t_kill) / 1e6,
	       (DEAD_PROBES + 2) * (unsigned)(probe ? atoi(probe) : 1000),
	       post.ok, post.unreachable);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sk_kv_attr attr = {
		.partitions = 16,
		.part_bytes = 256u << 10,
	};
	unsigned n = sk_os_size(), post_ops = 60;
	unsigned char *val, *buf;
	struct sk_rpc *rpc;
	struct sk_kv *kv;
	char key[64];
	sk_status_t st;

	me = sk_os_rank();
	if (argc > 2 || (argc == 2 && (post_ops = (unsigned)atoi(argv[1])) <
					       2)) {
		printf("usage: kill_job [POST_OPS >= 2]\n");
		return 2;
	}
	if (n < 3) {
		printf("kill_job: run it with skrun -n 3 or more\n");
		return 2;
	}
	kv = job_open(&rpc, &attr);
	val = malloc(VMAX);
	buf = malloc(VMAX);
	if (val == NULL || buf == NULL)
		FAIL("out of memory");
	for (unsigned i = 0; i < KEYS; i++) {
		size_t klen = key_of(key, me, i), vlen;
		enum sk_kv_res res;

		vlen = make_val(val, key, klen, i);
		st = sk_kv_set(kv, key, klen, val, vlen, 0, 0, &res);
		if (st != SK_OK || res != SK_KV_STORED)
			FAIL("set of %s: %s", key, sk_status_str(st));
	}
	barrier();
	if (me == n - 1)
		victim(kv, n, val, buf); /* does not return */
	survivor(kv, n, post_ops, val, buf);
	/* The victim is not waited for: it died (os.h). */
	barrier();
	sk_kv_close(kv);
	free(val);
	free(buf);
	return 0;
}
