/*
 * The event loop: poll the device, fire due timers, watch descriptors, and
 * sleep on the completion channel when there is nothing to do.
 *
 * Timers sit in a binary min-heap ordered by (deadline, start order): start
 * and stop are O(log n), the next deadline O(1). Watches live in one epoll
 * set: starting or stopping one is one epoll_ctl(2), and a look at the
 * descriptors costs the same with 1,000 idle watches as with none (skrun
 * watches two pipes per node). The device's completion channel is in the
 * set too, so asleep the loop makes one epoll_wait(2), which both waits
 * and reports the watches' events. The spin-
 * then-sleep policy keeps latency low while traffic flows (a sleeping
 * thread takes microseconds to wake) and costs nothing when idle.
 *
 * epoll reports descriptors, not watches: an event carries the descriptor
 * and the generation of its slot, which changes whenever the descriptor
 * leaves the set. A stale event (its watches stopped by an earlier callback,
 * or the descriptor closed and its number reused for a new watch) finds a
 * different generation, or no watch that has not already been looked at, and
 * is dropped; no pointer to a watch ever goes through the kernel, so a
 * stopped watch may be freed at once.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <skiff/config.h>
#include <skiff/loop.h>

#include "loop_priv.h"

/* The SKIFF_* table this file reads from (skiff/config.h). */
SK_CONFIG_USES(sk_os_config);

#define SK_LOOP_BATCH     32 /* completions per poll */
#define SK_LOOP_EVENTS    64 /* descriptor events per look */
#define SK_LOOP_FD_CHECK_NS 20000ull /* descriptors while spinning */
#define SK_LOOP_SPIN_MAX_US 1000000ul /* SKIFF_LOOP_SPIN_US's bound */
#define SK_LOOP_CLOCK_EVERY 16 /* busy turns between two clock reads */
#define SK_LOOP_DEV_KEY   UINT64_MAX /* the channel's event: no slot's */

/* The callback gets epoll's events as poll(2)'s revents: same bits. */
_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT &&
	       EPOLLERR == POLLERR && EPOLLHUP == POLLHUP &&
	       EPOLLPRI == POLLPRI, "epoll and poll bits differ");

/* One per descriptor number that has (or had) watches. */
struct sk_fdslot {
	struct sk_watch *head;   /* its active watches */
	uint32_t         gen;    /* bumped when it leaves the epoll set */
	unsigned         events; /* registered: union of the watches' */
	bool             in_set;
};

struct sk_loop {
	struct sk_dev    *dev;
	int               epfd;
	int               dev_fd;       /* the completion channel, or -1 */
	bool              dev_in_set;   /* dev_fd is in the epoll set */
	bool              dev_armed;    /* the last arm said SK_OK, and no
					 * look or sleep since saw dev_fd
					 * readable: sk_dev_rearm will do */
	struct sk_timer **heap;         /* min-heap of armed timers */
	uint32_t          nheap, heap_cap;
	uint64_t          timer_seq;
	struct sk_fdslot *fds;          /* by descriptor number */
	size_t            nfds;
	struct sk_watch  *fixed;        /* watches epoll cannot watch */
	unsigned          nwatch;       /* active watches */
	uint64_t          look;         /* looks at the descriptors */
	uint64_t          spin_ns; /* SKIFF_LOOP_SPIN_US */
	uint64_t          fd_every_ns;  /* looks while spinning, this apart */
	uint64_t          last_event_ns;
	uint64_t          fd_check_ns;  /* last look at the watches */
	unsigned          quick_turns;  /* busy turns since the clock read */
	bool              busy;         /* events since last_event_ns */
	bool              stop;
	/* The last poll's completions, handed out in order from wc_next:
	 * a callback that runs the loop again (a printf that waits for a
	 * send slot, inside a message's handler) takes the rest of this
	 * batch before polling the device, so the completion it waits for
	 * cannot be stuck behind it in the outer call's batch. */
	struct sk_wc      wc[SK_LOOP_BATCH];
	unsigned          wc_n, wc_next;
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

	st = sk_config_ulong("SKIFF_LOOP_SPIN_US", 0, SK_LOOP_SPIN_MAX_US,
			     &spin_us);
	if (st != SK_OK)
		return st;
	loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return SK_ERR_NOMEM;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		fprintf(stderr, "skiff: event loop: epoll_create1: %s\n",
			strerror(errno));
		st = errno == ENOMEM ? SK_ERR_NOMEM : SK_ERR_IO;
		goto err_free;
	}
	/* The channel goes in the set, under a key no watch has: asleep, one
	 * epoll_wait(2) then waits for it and the watches at once, where
	 * poll(2) on both and a look at the set took two calls. A look while
	 * spinning may see it ready too (it is level-triggered, and disarmed
	 * only by the next sleep's arm): such an event is skipped. Where
	 * epoll refuses it, poll(2) sleeps on both, as before. */
	loop->dev_fd = dev != NULL ? sk_dev_fd(dev) : -1;
	if (loop->dev_fd >= 0) {
		struct epoll_event ev = {.events = EPOLLIN,
					 .data.u64 = SK_LOOP_DEV_KEY};

		loop->dev_in_set = epoll_ctl(loop->epfd, EPOLL_CTL_ADD,
					     loop->dev_fd, &ev) == 0;
	}
	loop->dev = dev;
	loop->spin_ns = spin_us * 1000;
	loop->fd_every_ns = SK_LOOP_FD_CHECK_NS;
	loop->last_event_ns = sk_time_ns();
	*loop_p = loop;
	return SK_OK;

err_free:
	free(loop);
	return st;
}

/* Armed timers and active watches are forgotten, not touched: their memory
 * may be gone already. */
void sk_loop_destroy(struct sk_loop *loop)
{
	if (loop == NULL)
		return;
	close(loop->epfd);
	free(loop->heap);
	free(loop->fds);
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

/* ---- timers: a binary min-heap of (deadline, start order) ---- */

static bool sk_timer_before(const struct sk_timer *ta,
			    const struct sk_timer *tb)
{
	const struct sk_timer_priv *a = sk_timer_cpriv(ta);
	const struct sk_timer_priv *b = sk_timer_cpriv(tb);

	return a->deadline_ns < b->deadline_ns ||
	       (a->deadline_ns == b->deadline_ns && a->seq < b->seq);
}

static void sk_heap_set(struct sk_loop *loop, uint32_t i, struct sk_timer *t)
{
	loop->heap[i] = t;
	sk_timer_priv(t)->heap_idx = i;
}

static void sk_heap_up(struct sk_loop *loop, uint32_t i)
{
	struct sk_timer *t = loop->heap[i];

	while (i > 0) {
		uint32_t parent = (i - 1) / 2;

		if (!sk_timer_before(t, loop->heap[parent]))
			break;
		sk_heap_set(loop, i, loop->heap[parent]);
		i = parent;
	}
	sk_heap_set(loop, i, t);
}

static void sk_heap_down(struct sk_loop *loop, uint32_t i)
{
	struct sk_timer *t = loop->heap[i];

	for (;;) {
		uint32_t c = 2 * i + 1;

		if (c >= loop->nheap)
			break;
		if (c + 1 < loop->nheap &&
		    sk_timer_before(loop->heap[c + 1], loop->heap[c]))
			c++;
		if (!sk_timer_before(loop->heap[c], t))
			break;
		sk_heap_set(loop, i, loop->heap[c]);
		i = c;
	}
	sk_heap_set(loop, i, t);
}

void sk_timer_stop(struct sk_loop *loop, struct sk_timer *timer)
{
	struct sk_timer_priv *tp = sk_timer_priv(timer);
	uint32_t i = tp->heap_idx;
	struct sk_timer *last;

	if (!tp->armed)
		return;
	tp->armed = false;
	last = loop->heap[--loop->nheap];
	if (i == loop->nheap)
		return;
	/* The last leaf takes the hole and moves up or down. */
	sk_heap_set(loop, i, last);
	if (i > 0 && sk_timer_before(last, loop->heap[(i - 1) / 2]))
		sk_heap_up(loop, i);
	else
		sk_heap_down(loop, i);
}

void sk_timer_start(struct sk_loop *loop, struct sk_timer *timer,
		    uint64_t ms)
{
	struct sk_timer_priv *tp = sk_timer_priv(timer);

	sk_timer_stop(loop, timer);
	if (loop->nheap == loop->heap_cap) {
		uint32_t cap = loop->heap_cap ? 2 * loop->heap_cap : 64;
		struct sk_timer **h = realloc(loop->heap, cap * sizeof(*h));

		/* A few KiB: nothing sensible is left to do without them,
		 * and a timer that silently never fires would hang its
		 * owner instead. */
		if (h == NULL || cap < loop->heap_cap) {
			fprintf(stderr, "skiff: event loop: no memory for "
					"%u timers\n", cap);
			abort();
		}
		loop->heap = h;
		loop->heap_cap = cap;
	}
	tp->deadline_ns = sk_time_ns() + ms * 1000000ull;
	tp->seq = loop->timer_seq++;
	tp->armed = true;
	loop->heap[loop->nheap] = timer;
	sk_heap_up(loop, loop->nheap++);
}

bool sk_timer_armed(const struct sk_timer *timer)
{
	return sk_timer_cpriv(timer)->armed;
}

/* ---- watches: one epoll set, slots by descriptor number ---- */

#define SK_WATCH_FIXED (1u << 31) /* in ->fixed: in loop->fixed */

static uint64_t sk_fdslot_key(const struct sk_fdslot *e, int fd)
{
	return (uint64_t)e->gen << 32 | (uint32_t)fd;
}

/* Bring @fd's registration in line with its watches. Returns 0 or an
 * errno of epoll_ctl. */
static int sk_fdslot_sync(struct sk_loop *loop, int fd)
{
	struct sk_fdslot *e = &loop->fds[fd];
	struct epoll_event ev = {0};
	unsigned events = 0;
	struct sk_watch *w;

	for (w = e->head; w; w = sk_watch_priv(w)->next)
		events |= w->events & (POLLIN | POLLOUT | POLLPRI);
	if (e->head == NULL) {
		if (e->in_set) {
			/* Fails only if the descriptor was closed first:
			 * then it left the set by itself. */
			epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
			e->in_set = false;
			e->gen++; /* events still queued are stale */
		}
		return 0;
	}
	if (e->in_set && events == e->events)
		return 0;
	ev.events = events;
	if (e->in_set) {
		ev.data.u64 = sk_fdslot_key(e, fd);
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
			goto done;
		if (errno != ENOENT)
			return errno;
		/* Closed without a stop and the number reused: a new file
		 * behind the same number. */
		e->in_set = false;
		e->gen++;
	}
	ev.data.u64 = sk_fdslot_key(e, fd);
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		if (errno != EEXIST)
			return errno;
		/* Closed without a stop while a copy kept the file in the
		 * set, and the number came back to it: take it over. */
		if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
			return errno;
	}
done:
	e->in_set = true;
	e->events = events;
	return 0;
}

static int sk_fdslot_grow(struct sk_loop *loop, int fd)
{
	size_t n = loop->nfds ? loop->nfds : 64;
	struct sk_fdslot *p;

	while (n <= (size_t)fd)
		n *= 2;
	if (n == loop->nfds)
		return 0;
	p = realloc(loop->fds, n * sizeof(*p));
	if (p == NULL)
		return ENOMEM;
	memset(p + loop->nfds, 0, (n - loop->nfds) * sizeof(*p));
	loop->fds = p;
	loop->nfds = n;
	return 0;
}

/* What poll(2) reports for a descriptor epoll refuses (@err). */
static unsigned sk_watch_fixed_revents(const struct sk_watch *w, int err)
{
	switch (err) {
	case EPERM: /* a regular file or /dev/null: always ready */
		return w->events & (POLLIN | POLLOUT);
	case EBADF:
		return POLLNVAL;
	default:
		fprintf(stderr, "skiff: event loop: cannot watch descriptor "
				"%d: %s\n", w->fd, strerror(err));
		return POLLERR;
	}
}

static void sk_watch_unlink(struct sk_watch **pp, struct sk_watch *w)
{
	for (; *pp; pp = &sk_watch_priv(*pp)->next) {
		if (*pp == w) {
			*pp = sk_watch_priv(w)->next;
			return;
		}
	}
}

void sk_watch_stop(struct sk_loop *loop, struct sk_watch *w)
{
	struct sk_watch_priv *wp = sk_watch_priv(w);

	if (!wp->active)
		return;
	wp->active = false;
	loop->nwatch--;
	if (wp->fixed) {
		sk_watch_unlink(&loop->fixed, w);
		wp->fixed = 0;
	} else if (wp->reg_fd >= 0) {
		sk_watch_unlink(&loop->fds[wp->reg_fd].head, w);
		sk_fdslot_sync(loop, wp->reg_fd);
	}
}

bool sk_watch_active(const struct sk_watch *w)
{
	return sk_watch_cpriv(w)->active;
}

void sk_watch_start(struct sk_loop *loop, struct sk_watch *w)
{
	struct sk_watch_priv *wp = sk_watch_priv(w);
	int err;

	if (wp->active) {
		/* A new ->events: re-register (one epoll_ctl at most). */
		if (wp->fixed == 0 && wp->reg_fd == w->fd) {
			if (w->fd < 0 || sk_fdslot_sync(loop, w->fd) == 0)
				return;
		}
		sk_watch_stop(loop, w);
	}
	wp->active = true;
	wp->look = loop->look; /* not called for events already seen */
	wp->reg_fd = w->fd;
	wp->fixed = 0;
	wp->next = NULL;
	loop->nwatch++;
	if (w->fd < 0)
		return; /* poll(2) ignores it; so do we */
	err = sk_fdslot_grow(loop, w->fd);
	if (err == 0) {
		struct sk_fdslot *e = &loop->fds[w->fd];

		wp->next = e->head;
		e->head = w;
		err = sk_fdslot_sync(loop, w->fd);
		if (err == 0)
			return;
		sk_watch_unlink(&loop->fds[w->fd].head, w);
		sk_fdslot_sync(loop, w->fd);
	}
	wp->reg_fd = -1;
	wp->fixed = SK_WATCH_FIXED | sk_watch_fixed_revents(w, err);
	wp->next = loop->fixed;
	loop->fixed = w;
}

static int sk_loop_poll_dev(struct sk_loop *loop)
{
	int n = 0;

	if (loop->dev == NULL)
		return 0;
	if (loop->wc_next == loop->wc_n) {
		int got = sk_dev_poll(loop->dev, loop->wc, SK_LOOP_BATCH);

		if (got <= 0)
			return got;
		loop->wc_n = (unsigned)got;
		loop->wc_next = 0;
	}
	/* A callback may run the loop (loop->wc above): each completion is
	 * taken off the batch before its callback runs, and copied, since
	 * a nested poll refills the array. */
	while (loop->wc_next < loop->wc_n) {
		struct sk_wc wc = loop->wc[loop->wc_next++];
		struct sk_op *op = wc.ctx;

		/* Every loop user posts with an sk_op; a NULL context is a
		 * bug of ours, not of a peer. */
		if (op == NULL) {
			fprintf(stderr, "skiff: BUG: completion (%s, %s) "
					"without a context\n",
				sk_opcode_str(wc.opcode),
				sk_status_str(wc.status));
			abort();
		}
		op->done(op, &wc);
		n++;
	}
	return n;
}

static int sk_loop_fire_timers(struct sk_loop *loop, uint64_t now)
{
	/* Timers started by these callbacks wait for the next turn, even
	 * if due: a timer re-armed with 0 ms cannot hold the loop here. */
	uint64_t seq_end = loop->timer_seq;
	int fired = 0;

	while (loop->nheap > 0) {
		struct sk_timer *t = loop->heap[0];

		if (sk_timer_priv(t)->deadline_ns > now ||
		    sk_timer_priv(t)->seq >= seq_end)
			break;
		sk_timer_stop(loop, t);
		t->cb(t);
		fired++;
	}
	return fired;
}

/* Call the watches of slot @fd (or of the fixed list if @fd < 0) that ask
 * for @revents and were not yet called in look @look. A callback may stop,
 * free or start any watch, so the list is walked again from its head after
 * each call: a watch is in it only while active, and ->look says whether
 * it was called (or started) during this look. A callback may also run
 * the loop (sk_rpc_peer_add does), whose looks are later ones: a watch
 * they called or started has seen newer events than @revents, and one
 * that is not ready any more must not be called with them (its read
 * would block). Several watches on one descriptor are rare; one is the
 * rule. */
static int sk_loop_call(struct sk_loop *loop, uint64_t look, int fd,
			unsigned revents)
{
	struct sk_watch *w;
	int handled = 0;

again:
	w = fd >= 0 ? loop->fds[fd].head : loop->fixed;
	for (; w; w = sk_watch_priv(w)->next) {
		struct sk_watch_priv *wp = sk_watch_priv(w);
		unsigned re;

		if (wp->look >= look)
			continue;
		re = fd >= 0 ? revents & (w->events | POLLERR | POLLHUP) :
			       wp->fixed & ~SK_WATCH_FIXED;
		if (re == 0)
			continue;
		wp->look = loop->look;
		w->cb(w, re);
		handled++;
		goto again;
	}
	return handled;
}

/* One look at the descriptors: epoll_wait(2) for at most @timeout_ms, then
 * the callbacks. */
static int sk_loop_look(struct sk_loop *loop, int timeout_ms)
{
	struct epoll_event ev[SK_LOOP_EVENTS];
	int n, i, handled = 0;
	uint64_t look;

	if (loop->fixed)
		timeout_ms = 0; /* poll(2) would return at once */
	if (loop->nwatch == 0 && timeout_ms == 0)
		return 0;
	n = epoll_wait(loop->epfd, ev, SK_LOOP_EVENTS, timeout_ms);
	look = ++loop->look;
	for (i = 0; i < n; i++) {
		uint64_t key = ev[i].data.u64;
		int fd = (int)(uint32_t)key;

		/* The channel's: the caller polls the device. */
		if (key == SK_LOOP_DEV_KEY) {
			loop->dev_armed = false;
			continue;
		}
		/* A stale event: its slot left the set since (stopped
		 * watches), or came back for another file. */
		if ((size_t)fd >= loop->nfds || !loop->fds[fd].in_set ||
		    loop->fds[fd].gen != (uint32_t)(key >> 32))
			continue;
		handled += sk_loop_call(loop, look, fd, ev[i].events);
	}
	if (loop->fixed)
		handled += sk_loop_call(loop, look, -1, 0);
	return handled; /* on EINTR or a timeout, 0: the caller loops */
}

/* Sleep on the armed channel and the watches for at most @timeout_ms. A
 * wake by the channel needs nothing here: the caller polls the device. */
static int sk_loop_sleep(struct sk_loop *loop, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{.fd = loop->dev_fd, .events = POLLIN},
		{.fd = loop->epfd, .events = POLLIN},
	};
	nfds_t n = loop->nwatch > 0 ? 2 : 1;

	if (loop->dev_in_set)
		return sk_loop_look(loop, timeout_ms);
	if (loop->fixed)
		timeout_ms = 0;
	if (poll(pfd, n, timeout_ms) <= 0 && !loop->fixed)
		return 0; /* timeout or EINTR: the caller loops */
	if (pfd[0].revents)
		loop->dev_armed = false;
	if (loop->fixed || (n == 2 && pfd[1].revents))
		return sk_loop_look(loop, 0);
	return 0;
}

static int sk_loop_timeout_ms(struct sk_loop *loop, uint64_t now,
			      int timeout_ms)
{
	int64_t t;

	if (loop->nheap == 0)
		return timeout_ms;
	t = ((int64_t)(sk_timer_priv(loop->heap[0])->deadline_ns - now) +
	     999999) / 1000000;
	if (t < 0)
		t = 0;
	if (timeout_ms >= 0 && t > timeout_ms)
		return timeout_ms;
	return t > INT32_MAX ? INT32_MAX : (int)t;
}

int sk_loop_run_once(struct sk_loop *loop, int timeout_ms)
{
	uint64_t start = timeout_ms > 0 ? sk_time_ns() : 0, now;
	bool look_due, idle;
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
		/* Descriptors cost an epoll_wait(2) each look: while
		 * spinning, look every fd_every_ns (SK_LOOP_FD_CHECK_NS, or
		 * sk_loop_set_spin's), not on every turn unless it is 0.
		 * Not when this turn ends in a sleep: the sleep looks at
		 * them (a request served by a loop that sleeps at once then
		 * costs one epoll_wait, not two). */
		look_due = loop->nwatch > 0 &&
			   now - loop->fd_check_ns >= loop->fd_every_ns;
		idle = n == 0 && timeout_ms != 0 &&
		       now - loop->last_event_ns >= loop->spin_ns &&
		       (timeout_ms < 0 ||
			now - start < (uint64_t)timeout_ms * 1000000ull);
		if (look_due && !idle) {
			loop->fd_check_ns = now;
			n += sk_loop_look(loop, 0);
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
			n = sk_loop_look(loop, wait);
		} else if (loop->dev_fd < 0) {
			/* No channel: nap briefly instead of spinning. */
			n = sk_loop_look(loop, wait < 0 || wait > 1 ? 1 : wait);
		} else {
			/* Armed, and the channel quiet since: the cheap
			 * arm (a sleep that a descriptor or timer ended). */
			sk_status_t st = loop->dev_armed ?
						 sk_dev_rearm(loop->dev) :
						 sk_dev_arm(loop->dev);
			int bound = sk_dev_sleep_bound(loop->dev);

			loop->dev_armed = st == SK_OK;

			/* Completions waiting, or work in flight that only
			 * polling completes (ucx's shared memory: its arm
			 * yields the core first, for the peer that may
			 * answer it): poll on. */
			if (st == SK_ERR_BUSY) {
				/* No sleep to look at the descriptors. */
				if (look_due) {
					loop->fd_check_ns = now;
					n = sk_loop_look(loop, 0);
					if (n > 0) {
						loop->last_event_ns = now;
						return n;
					}
				}
				continue;
			}
			if (st != SK_OK)
				return st;
			if (bound >= 0 && (wait < 0 || bound < wait))
				wait = bound;
			n = sk_loop_sleep(loop, wait);
		}
		/* The sleep looked at every descriptor: the next look is
		 * due a full interval from now, not on the next turn. */
		loop->last_event_ns = loop->fd_check_ns = sk_time_ns();
		if (n > 0)
			return n;
		/* Woken by the channel (or a timeout): spin again briefly. */
	}
}

int sk_loop_wait_once(struct sk_loop *loop, int timeout_ms)
{
	uint64_t spin = loop->spin_ns;
	int n;

	loop->spin_ns = 0;
	n = sk_loop_run_once(loop, timeout_ms);
	loop->spin_ns = spin;
	return n;
}

void sk_loop_set_spin(struct sk_loop *loop, unsigned long spin_us,
		      unsigned long fd_check_us)
{
	if (spin_us > SK_LOOP_SPIN_MAX_US)
		spin_us = SK_LOOP_SPIN_MAX_US;
	if (fd_check_us > SK_LOOP_SPIN_MAX_US)
		fd_check_us = SK_LOOP_SPIN_MAX_US;
	loop->spin_ns = (uint64_t)spin_us * 1000;
	loop->fd_every_ns = (uint64_t)fd_check_us * 1000;
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
