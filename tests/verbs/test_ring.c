/*
 * Unit tests of the ucx provider's same-host rings (verbs/ucx/ring.h), on
 * a real memfd ring mapped twice in this process, as a peer maps it:
 * messages of every size across many laps (wrap cells), a full ring, the
 * sequence rule, malformed cells, and the sleep/wake handshake with a
 * real wakeup socket. The provider's use of rings (the merge with UCX
 * messages, endpoints) is tested by test_conformance and test_rpc, which
 * run with rings on by default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../verbs/ucx/ring.h"

#define SIZE 4096u

struct pair {
	struct ucx_ring_host host;
	struct ucx_ring_rx rx;
	struct ucx_ring_tx tx;
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	ucx_ring_host_init(&p->host);
	assert_true(p->host.wake_fd >= 0);
	assert_int_equal(ucx_ring_rx_create(&p->rx, SIZE), SK_OK);
	assert_int_equal(ucx_ring_tx_open(&p->tx, p->host.pid, p->rx.fd, SIZE,
					  p->host.wake_fd, p->host.wake_name),
			 SK_OK);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	ucx_ring_tx_close(&p->tx);
	ucx_ring_rx_destroy(&p->rx);
	ucx_ring_host_cleanup(&p->host);
	free(p);
	return 0;
}

static void fill(uint8_t *b, uint32_t len, uint64_t seq)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(seq * 31 + i);
}

/* Sizes 0..max in a pattern that wraps many times; each message checked
 * byte for byte, in order, one in flight or several. */
static void test_laps(void **state)
{
	struct pair *p = *state;
	uint32_t max = ucx_ring_max_msg(SIZE);
	uint8_t buf[SIZE], want[SIZE];
	uint64_t sent = 1, got = 1;

	assert_int_equal(max, SIZE / 4 - 16);
	for (unsigned i = 0; i < 3000; i++) {
		uint32_t len = (i * 37) % (max + 1);
		unsigned batch = 1 + i % 5;

		for (unsigned k = 0; k < batch; k++) {
			fill(buf, len, sent);
			if (!ucx_ring_put(&p->tx, sent, buf, len))
				break; /* full: drain below */
			sent++;
		}
		while (got < sent) {
			const char *why = NULL;
			uint32_t n = 0;
			const void *m = ucx_ring_peek(&p->rx, got, &n, &why);

			assert_non_null(m);
			assert_null(why);
			assert_int_equal(n, len);
			fill(want, n, got);
			assert_memory_equal(m, want, n);
			ucx_ring_pop(&p->rx, n);
			got++;
		}
	}
	assert_true(p->tx.tail > 20 * SIZE); /* many laps */
}

/* A full ring refuses (and sends nothing) until the receiver pops. */
static void test_full(void **state)
{
	struct pair *p = *state;
	uint8_t buf[SIZE];
	uint64_t seq = 1;
	unsigned n = 0;
	const char *why = NULL;
	uint32_t len = 0;

	memset(buf, 7, sizeof(buf));
	while (ucx_ring_put(&p->tx, seq, buf, 512))
		seq++, n++;
	assert_int_equal(n, SIZE / ucx_ring_cell_bytes(512));
	assert_false(ucx_ring_put(&p->tx, seq, buf, 512));
	/* Too big for any ring of this size. */
	assert_false(ucx_ring_put(&p->tx, seq, buf, ucx_ring_max_msg(SIZE) + 1));
	assert_non_null(ucx_ring_peek(&p->rx, 1, &len, &why));
	ucx_ring_pop(&p->rx, len);
	assert_true(ucx_ring_put(&p->tx, seq, buf, 512));
}

/* Only the expected number is taken: an older or newer one waits. */
static void test_sequence(void **state)
{
	struct pair *p = *state;
	const char *why = NULL;
	uint32_t len = 0;

	assert_true(ucx_ring_put(&p->tx, 5, "abc", 3));
	assert_null(ucx_ring_peek(&p->rx, 4, &len, &why));
	assert_null(why);
	assert_false(ucx_ring_ready(&p->rx, 4));
	assert_true(ucx_ring_ready(&p->rx, 5));
	assert_non_null(ucx_ring_peek(&p->rx, 5, &len, &why));
	assert_int_equal(len, 3);
}

/*
 * A payload that holds the number the receiver expects next, where a
 * later lap's next cell will start: with the ring empty, the receiver
 * looks there and must see no message. (It used to read the old payload
 * as a cell: a kv value carrying a counter failed an endpoint with "bad
 * ring cell", and a payload shaped like this one was delivered.)
 */
static void test_stale_payload(void **state)
{
	struct pair *p = *state;
	uint8_t buf[1000];
	const char *why = NULL;
	uint32_t len = 0;
	uint64_t seq;

	/* Message 1's cell is ring bytes 0..1023; byte 64 is its payload's
	 * byte 48: there, a cell numbered 6 of kind MSG and 4 bytes. */
	memset(buf, 0, sizeof(buf));
	seq = 6;
	memcpy(buf + 48, &seq, 8);
	buf[56] = 4;
	buf[60] = UCX_CELL_MSG;
	for (seq = 1; seq <= 4; seq++)
		assert_true(ucx_ring_put(&p->tx, seq, buf, sizeof(buf)));
	for (seq = 1; seq <= 4; seq++) {
		assert_non_null(ucx_ring_peek(&p->rx, seq, &len, &why));
		ucx_ring_pop(&p->rx, len);
	}
	/* Message 5, 64 bytes at ring offset 0: the next starts at 64. */
	assert_true(ucx_ring_put(&p->tx, 5, buf, 40));
	assert_non_null(ucx_ring_peek(&p->rx, 5, &len, &why));
	ucx_ring_pop(&p->rx, len);
	assert_false(ucx_ring_ready(&p->rx, 6));
	assert_null(ucx_ring_peek(&p->rx, 6, &len, &why));
	assert_null(why);
	/* And message 6, when it comes, is its own. */
	assert_true(ucx_ring_put(&p->tx, 6, "abcdefg", 7));
	assert_non_null(ucx_ring_peek(&p->rx, 6, &len, &why));
	assert_int_equal(len, 7);
}

/* Cells a peer could forge: each refused with a reason, nothing read
 * outside the ring. */
static void test_bad_cells(void **state)
{
	struct pair *p = *state;
	struct ucx_cell *c = (struct ucx_cell *)p->rx.data;
	const char *why;
	uint32_t len = 0;

	c->seq = 1;
	c->kind = 9;
	why = NULL;
	assert_null(ucx_ring_peek(&p->rx, 1, &len, &why));
	assert_string_equal(why, "an unknown cell kind");

	c->kind = UCX_CELL_MSG;
	c->len = SIZE; /* past the end */
	why = NULL;
	assert_null(ucx_ring_peek(&p->rx, 1, &len, &why));
	assert_string_equal(why, "a message runs past the ring");

	c->kind = UCX_CELL_WRAP; /* at offset 0: would spin */
	why = NULL;
	assert_null(ucx_ring_peek(&p->rx, 1, &len, &why));
	assert_string_equal(why, "a wrap cell at the start of the ring");

	/* A message cell just fitting before the end is fine. */
	p->rx.rpos = SIZE - 64;
	c = (struct ucx_cell *)(p->rx.data + SIZE - 64);
	c->seq = 2;
	c->kind = UCX_CELL_MSG;
	c->len = 48;
	why = NULL;
	assert_non_null(ucx_ring_peek(&p->rx, 2, &len, &why));
	c->len = 49;
	assert_null(ucx_ring_peek(&p->rx, 2, &len, &why));
}

/* The receiver going to sleep sets the flag; the next put sees it, clears
 * it and wakes the socket once; a second put does not wake again. */
static void test_wake(void **state)
{
	struct pair *p = *state;
	struct pollfd pfd = {.fd = p->host.wake_fd, .events = POLLIN};

	assert_false(ucx_ring_must_wake(&p->tx)); /* awake: no wakeup */
	atomic_store(&p->rx.ctl->sleeping, 1);
	assert_true(ucx_ring_put(&p->tx, 1, "x", 1));
	assert_true(ucx_ring_must_wake(&p->tx));
	ucx_ring_tx_wake(&p->tx);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	assert_true(ucx_ring_put(&p->tx, 2, "y", 1));
	assert_false(ucx_ring_must_wake(&p->tx)); /* cleared by the first */
	ucx_ring_host_drain(&p->host);
	assert_int_equal(poll(&pfd, 1, 0), 0);
}

/*
 * The sleep/wake handshake with two real threads racing: a receiver that
 * arms and sleeps on the wakeup socket whenever its next message is not
 * there (as sk_dev_wait does), and a sender that puts and wakes
 * (ucx_ring_must_wake, ucx_ring_tx_wake), pausing now and then so the
 * receiver does go to sleep, many thousands of times. A lost wakeup leaves
 * the receiver asleep with a message waiting: it waits 10 s on the socket
 * (a hang guard, not a timing check) and reports which message. Run under
 * TSan too (make check's tsan step).
 */
#define RACE_MSGS 50000u

struct race {
	struct pair *p;
	unsigned sleeps;     /* receiver: sleeps taken */
	unsigned wakes;      /* sender: wakeups sent */
	uint64_t lost_at;    /* receiver: the message it overslept, or 0 */
	int lost_ready;      /* ...and it was there, unannounced */
	uint64_t bad_at;     /* receiver: a message with wrong bytes, or 0 */
	_Atomic int stop;    /* receiver gave up: the sender stops too */
};

static void *race_sender(void *arg)
{
	struct race *rc = arg;
	uint8_t buf[256];
	unsigned rnd = 12345;

	for (uint64_t seq = 1; seq <= RACE_MSGS; seq++) {
		uint32_t len = (uint32_t)(seq * 13 % sizeof(buf));

		fill(buf, len, seq);
		while (!ucx_ring_put(&rc->p->tx, seq, buf, len)) {
			if (atomic_load(&rc->stop))
				return NULL;
			sched_yield(); /* full: the receiver pops */
		}
		if (ucx_ring_must_wake(&rc->p->tx)) {
			ucx_ring_tx_wake(&rc->p->tx);
			rc->wakes++;
		}
		/* Mostly, wait until the receiver took it: this message is
		 * then the last one, and only our wakeup can end a sleep it
		 * began (a later put would hide a lost one). Then spin a
		 * random while (0 to a few us) before the next put, so that
		 * puts land at every point of the receiver's drain, arm and
		 * check. Now and then stream on, or pause longer. */
		rnd = rnd * 1103515245u + 12345u;
		if ((rnd >> 16) % 4 != 0) {
			unsigned spin = (rnd >> 8) % 4096;

			while (atomic_load_explicit(&rc->p->tx.ctl->head,
						    memory_order_acquire) !=
			       rc->p->tx.tail) {
				if (atomic_load(&rc->stop))
					return NULL;
				sched_yield();
			}
			for (volatile unsigned i = 0; i < spin; i++)
				;
		} else if ((rnd >> 16) % 64 == 1) {
			usleep(1 + (rnd >> 20) % 50);
		}
	}
	return NULL;
}

static void *race_receiver(void *arg)
{
	struct race *rc = arg;
	struct pair *p = rc->p;
	struct pollfd pfd = {.fd = p->host.wake_fd, .events = POLLIN};
	uint8_t want[256];

	for (uint64_t seq = 1; seq <= RACE_MSGS; seq++) {
		const char *why = NULL;
		const void *m;
		uint32_t len = 0;

		/* Take it, or wait for it as sk_dev_wait does. A peek may
		 * find nothing yet after skipping a WRAP cell (the sender
		 * writes the message after it): wait for that too. */
		while ((m = ucx_ring_peek(&p->rx, seq, &len, &why)) == NULL) {
			if (why)
				break;
			ucx_ring_host_drain(&p->host);
			if (ucx_ring_rx_arm(&p->rx, seq))
				continue;
			rc->sleeps++;
			if (poll(&pfd, 1, 10000) == 0) {
				/* 10 s asleep: a lost wakeup if it waits. */
				rc->lost_ready = ucx_ring_ready(&p->rx, seq);
				rc->lost_at = seq;
				atomic_store(&rc->stop, 1);
				return NULL;
			}
		}
		fill(want, len, seq);
		if (m == NULL || len != seq * 13 % sizeof(want) ||
		    memcmp(m, want, len) != 0) {
			rc->bad_at = seq;
			atomic_store(&rc->stop, 1);
			return NULL;
		}
		ucx_ring_pop(&p->rx, len);
	}
	return NULL;
}

static void test_sleep_wake_race(void **state)
{
	struct race rc = {.p = *state};
	pthread_t tx, rx;

	assert_int_equal(pthread_create(&rx, NULL, race_receiver, &rc), 0);
	assert_int_equal(pthread_create(&tx, NULL, race_sender, &rc), 0);
	assert_int_equal(pthread_join(rx, NULL), 0);
	assert_int_equal(pthread_join(tx, NULL), 0);
	if (rc.lost_at)
		fail_msg("%s: message %llu, after %u sleeps and %u wakeups",
			 rc.lost_ready ? "lost wakeup: the message waited "
					 "while the receiver slept 10 s"
				       : "the sender sent nothing for 10 s",
			 (unsigned long long)rc.lost_at, rc.sleeps, rc.wakes);
	if (rc.bad_at)
		fail_msg("message %llu came out wrong",
			 (unsigned long long)rc.bad_at);
	print_message("%u messages, %u sleeps, %u wakeups\n", RACE_MSGS,
		      rc.sleeps, rc.wakes);
	/* The race was run: the receiver did sleep, and was woken. */
	assert_true(rc.sleeps > 0);
}

/* A ring that is not one: bad size, a descriptor that is not a ring. */
static void test_open_refused(void **state)
{
	struct pair *p = *state;
	struct ucx_ring_tx t;

	assert_int_not_equal(ucx_ring_tx_open(&t, p->host.pid, p->rx.fd, 3000,
					      p->host.wake_fd,
					      p->host.wake_name),
			     SK_OK);
	assert_int_not_equal(ucx_ring_tx_open(&t, p->host.pid, p->rx.fd,
					      2 * SIZE, p->host.wake_fd,
					      p->host.wake_name),
			     SK_OK);
	assert_int_not_equal(ucx_ring_tx_open(&t, p->host.pid, 0 /* stdin */,
					      SIZE, p->host.wake_fd,
					      p->host.wake_name),
			     SK_OK);
	assert_int_not_equal(ucx_ring_tx_open(&t, p->host.pid, -1, SIZE,
					      p->host.wake_fd,
					      p->host.wake_name),
			     SK_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_laps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_payload, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_cells, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleep_wake_race, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_refused, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
