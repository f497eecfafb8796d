/*
 * skrun's file threads (launcher/fileq.c), with real threads and a real
 * loop: every request's ->work runs once and its ->done on the loop's
 * thread; requests of one key never run side by side and run in the order
 * they were submitted; requests of different keys do run side by side.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileq.h"

#define KEYS 3
#define PER_KEY 40
#define UNKEYED 40
#define NREQ (KEYS * PER_KEY + UNKEYED)

struct treq {
	struct sk_fileq_req q;
	unsigned            seq;  /* order of submission within its key */
	int                 meet; /* wait for the other of the pair */
};

static struct treq reqs[NREQ];
static int inside[KEYS + 1];       /* running now, per key */
static int overlapped;             /* a key ran twice at once */
static unsigned next_seq[KEYS + 1];
static int out_of_order;
static int works, dones, done_off_loop;
static int met[2];
static pthread_t loop_thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void sleep_us(long us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};

	nanosleep(&ts, NULL);
}

static void work(struct sk_fileq_req *q)
{
	struct treq *r = (struct treq *)q;
	unsigned k = (unsigned)q->key;

	pthread_mutex_lock(&lock);
	works++;
	if (k != 0) {
		if (inside[k]++ != 0)
			overlapped++;
		if (r->seq != next_seq[k]++)
			out_of_order++;
	}
	pthread_mutex_unlock(&lock);
	if (r->meet) {
		/* Two requests of different keys wait for each other: both
		 * see the other only if they run side by side. */
		int me = r->meet - 1;

		__atomic_store_n(&met[me], 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < 5000 &&
				!__atomic_load_n(&met[!me], __ATOMIC_SEQ_CST);
		     i++)
			sleep_us(1000);
		if (!__atomic_load_n(&met[!me], __ATOMIC_SEQ_CST))
			__atomic_store_n(&met[me], -1, __ATOMIC_SEQ_CST);
	} else {
		sleep_us(100);
	}
	pthread_mutex_lock(&lock);
	if (k != 0)
		inside[k]--;
	pthread_mutex_unlock(&lock);
}

static void done(struct sk_fileq_req *q)
{
	(void)q;
	if (!pthread_equal(pthread_self(), loop_thread))
		done_off_loop++;
	dones++;
}

static void test_keys(void **state)
{
	struct sk_loop *loop;
	unsigned n = 0;

	(void)state;
	loop_thread = pthread_self();
	assert_int_equal(sk_loop_create(NULL, &loop), SK_OK);
	assert_int_equal(sk_fileq_init(loop), 0);
	/* The pair first, so that they find free workers. */
	reqs[n] = (struct treq){.q.key = 1, .meet = 1};
	reqs[n + 1] = (struct treq){.q.key = 2, .meet = 2};
	next_seq[1] = next_seq[2] = 0;
	n += 2;
	/* The rest interleaved: key 1, 2, 3, none, ... */
	for (unsigned i = 0; n < NREQ; i++) {
		unsigned k = i % (KEYS + 1);

		reqs[n++] = (struct treq){
			.q.key = k,
			.seq = k == 1 || k == 2 ? i / (KEYS + 1) + 1 :
						  i / (KEYS + 1)};
	}
	for (unsigned i = 0; i < NREQ; i++) {
		reqs[i].q.work = work;
		reqs[i].q.done = done;
		sk_fileq_submit(&reqs[i].q);
	}
	for (int i = 0; i < 10000 && dones < NREQ; i++)
		sk_loop_run_once(loop, 10);
	assert_int_equal(dones, NREQ);
	assert_int_equal(works, NREQ);
	assert_int_equal(done_off_loop, 0);
	assert_int_equal(overlapped, 0);
	assert_int_equal(out_of_order, 0);
	assert_int_equal(met[0], 1);
	assert_int_equal(met[1], 1);
	assert_false(sk_fileq_busy());
	assert_int_equal(sk_fileq_stop(), 0);
	sk_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
