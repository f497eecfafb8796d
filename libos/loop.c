/*
 * The event loop: poll the device, fire due timers, watch descriptors, and
 * sleep on the completion channel when there is nothing to do.
 *
 * Timers sit on a list sorted by deadline and watches on a plain list: a
 * node has a handful of each, so both stay O(n) and simple. The spin-then-
 * sleep policy keeps latency low while traffic flows (a sleeping thread
 * takes microseconds to wake) and costs nothing when idle.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <skiff/config.h>
#include <skiff/loop.h>

#define SK_LOOP_BATCH     32 /* completions per poll */
#define SK_LOOP_MAX_WATCH 64
#define SK_LOOP_FD_CHECK_NS 20000ull /* descriptors while spinning */
#define SK_LOOP_CLOCK_EVERY 16 /* busy turns between two clock reads */

struct sk_loop {
	struct sk_dev   *dev;
	struct sk_timer *timers;  /* sorted by deadline */
	struct sk_watch *watches;
	uint64_t         spin_ns; /* SKIFF_LOOP_SPIN_US */
	uint64_t         last_event_ns;
	uint64_t         fd_check_ns;  /* last poll(2) of the watches */
	unsigned         quick_turns;  /* busy turns since the clock read */
	bool             busy;         /* events since last_event_ns */
	bool             stop;
};

uint64_t sk_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

sk_status_t sk_loop_create(struct sk_dev *dev, struct sk_loop **loop_p)
{
	struct sk_loop *loop;
	unsigned long spin_us;
	sk_status_t st;

	st = sk_config_ulong("SKIFF_LOOP_SPIN_US", 0, 1000000, &spin_us);
	if (st != SK_OK)
		return st;
	loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return SK_ERR_NOMEM;
	loop->dev = dev;
	loop->spin_ns = spin_us * 1000;
	loop->last_event_ns = sk_time_ns();
	*loop_p = loop;
	return SK_OK;
}

void sk_loop_destroy(struct sk_loop *loop)
{
	free(loop);
}

struct sk_dev *sk_loop_dev(const struct sk_loop *loop)
{
	return loop->dev;
}

void sk_loop_stop(struct sk_loop *loop)
{
	loop->stop = true;
}

void sk_timer_stop(struct sk_loop *loop, struct sk_timer *timer)
{
	struct sk_timer **pp;

	if (!timer->armed)
		return;
	for (pp = &loop->timers; *pp; pp = &(*pp)->next) {
		if (*pp == timer) {
			*pp = timer->next;
			break;
		}
	}
	timer->armed = false;
}

void sk_timer_start(struct sk_loop *loop, struct sk_timer *timer,
		    uint64_t ms)
{
	struct sk_timer **pp;

	sk_timer_stop(loop, timer);
	timer->deadline_ns = sk_time_ns() + ms * 1000000ull;
	for (pp = &loop->timers; *pp; pp = &(*pp)->next)
		if ((*pp)->deadline_ns > timer->deadline_ns)
			break;
	timer->next = *pp;
	*pp = timer;
	timer->armed = true;
}

void sk_watch_start(struct sk_loop *loop, struct sk_watch *w)
{
	if (w->active)
		return;
	w->next = loop->watches;
	loop->watches = w;
	w->active = true;
}

void sk_watch_stop(struct sk_loop *loop, struct sk_watch *w)
{
	struct sk_watch **pp;

	if (!w->active)
		return;
	for (pp = &loop->watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	w->active = false;
}

static int sk_loop_poll_dev(struct sk_loop *loop)
{
	struct sk_wc wc[SK_LOOP_BATCH];
	int n, i;

	if (loop->dev == NULL)
		return 0;
	n = sk_dev_poll(loop->dev, wc, SK_LOOP_BATCH);
	for (i = 0; i < n; i++) {
		struct sk_op *op = wc[i].ctx;

		/* Every loop user posts with an sk_op; a NULL context is a
		 * bug of ours, not of a peer. */
		if (op == NULL) {
			fprintf(stderr, "skiff: BUG: completion (%s, %s) "
					"without a context\n",
				sk_opcode_str(wc[i].opcode),
				sk_status_str(wc[i].status));
			abort();
		}
		op->done(op, &wc[i]);
	}
	return n;
}

static int sk_loop_fire_timers(struct sk_loop *loop, uint64_t now)
{
	int fired = 0;

	while (loop->timers && loop->timers->deadline_ns <= now) {
		struct sk_timer *t = loop->timers;

		loop->timers = t->next;
		t->armed = false;
		t->cb(t);
		fired++;
	}
	return fired;
}

/* poll(2) the watches and, if @dev_fd >= 0, the armed channel. */
static int sk_loop_poll_fds(struct sk_loop *loop, int dev_fd, int timeout_ms)
{
	struct pollfd pfd[SK_LOOP_MAX_WATCH + 1];
	struct sk_watch *ws[SK_LOOP_MAX_WATCH];
	struct sk_watch *w;
	int n = 0, nw = 0, rc, i, handled = 0;

	for (w = loop->watches; w && nw < SK_LOOP_MAX_WATCH; w = w->next) {
		ws[nw] = w;
		pfd[n].fd = w->fd;
		pfd[n].events = (short)w->events;
		pfd[n].revents = 0;
		n++, nw++;
	}
	if (dev_fd >= 0) {
		pfd[n].fd = dev_fd;
		pfd[n].events = POLLIN;
		pfd[n].revents = 0;
		n++;
	}
	if (n == 0 && timeout_ms == 0)
		return 0;
	rc = poll(pfd, (nfds_t)n, timeout_ms);
	if (rc <= 0)
		return 0; /* timeout or EINTR: the caller loops */
	/* A callback may stop any watch, including ones later in the array:
	 * check that each is still active before calling it. */
	for (i = 0; i < nw; i++) {
		if (pfd[i].revents == 0 || !ws[i]->active)
			continue;
		ws[i]->cb(ws[i], (unsigned)pfd[i].revents);
		handled++;
	}
	return handled;
}

static int sk_loop_timeout_ms(struct sk_loop *loop, uint64_t now,
			      int timeout_ms)
{
	int64_t t;

	if (loop->timers == NULL)
		return timeout_ms;
	t = ((int64_t)(loop->timers->deadline_ns - now) + 999999) / 1000000;
	if (t < 0)
		t = 0;
	if (timeout_ms >= 0 && t > timeout_ms)
		return timeout_ms;
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

int sk_loop_run_once(struct sk_loop *loop, int timeout_ms)
{
	uint64_t start = timeout_ms > 0 ? sk_time_ns() : 0, now;
	int n;

	for (;;) {
		n = sk_loop_poll_dev(loop);
		/* A turn that found completions returns without reading the
		 * clock, SK_LOOP_CLOCK_EVERY - 1 times in a row: timers and
		 * descriptors wait that many turns, a clock read a turn is
		 * saved. The spin is timed from the first empty turn. */
		if (n > 0 && ++loop->quick_turns < SK_LOOP_CLOCK_EVERY) {
			loop->busy = true;
			return n;
		}
		loop->quick_turns = 0;
		now = sk_time_ns();
		if (loop->busy) {
			loop->busy = false;
			loop->last_event_ns = now;
		}
		n += sk_loop_fire_timers(loop, now);
		/* Descriptors cost a poll(2) each look: while spinning, look
		 * every SK_LOOP_FD_CHECK_NS, not on every turn. */
		if (loop->watches && now - loop->fd_check_ns >=
					     SK_LOOP_FD_CHECK_NS) {
			loop->fd_check_ns = now;
			n += sk_loop_poll_fds(loop, -1, 0);
		}
		if (n > 0) {
			loop->last_event_ns = now;
			return n;
		}
		if (timeout_ms == 0)
			return 0;
		if (timeout_ms > 0 &&
		    now - start >= (uint64_t)timeout_ms * 1000000ull)
			return 0;
		if (now - loop->last_event_ns < loop->spin_ns)
			continue;
		/* Idle: sleep until a completion, a descriptor or a timer. */
		int wait = timeout_ms;

		if (timeout_ms > 0) {
			uint64_t left = (uint64_t)timeout_ms * 1000000ull -
					(now - start);
			wait = (int)((left + 999999) / 1000000);
		}
		wait = sk_loop_timeout_ms(loop, now, wait);
		if (loop->dev == NULL) {
			n = sk_loop_poll_fds(loop, -1, wait);
		} else if (sk_dev_fd(loop->dev) < 0) {
			/* No channel: nap briefly instead of spinning. */
			n = sk_loop_poll_fds(loop, -1, wait < 0 || wait > 1 ?
						       1 : wait);
		} else {
			sk_status_t st = sk_dev_arm(loop->dev);
			int bound = sk_dev_sleep_bound(loop->dev);

			if (st == SK_ERR_BUSY)
				continue;
			if (st != SK_OK)
				return st;
			if (bound >= 0 && (wait < 0 || bound < wait))
				wait = bound;
			n = sk_loop_poll_fds(loop, sk_dev_fd(loop->dev), wait);
		}
		if (n > 0) {
			loop->last_event_ns = sk_time_ns();
			return n;
		}
		/* Woken by the channel (or a timeout): spin again briefly. */
		loop->last_event_ns = sk_time_ns();
	}
}

sk_status_t sk_loop_run(struct sk_loop *loop)
{
	loop->stop = false;
	while (!loop->stop) {
		int n = sk_loop_run_once(loop, -1);

		if (n < 0)
			return (sk_status_t)n;
	}
	return SK_OK;
}
