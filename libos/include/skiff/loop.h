/*
 * The event loop of a node (and of the host): fabric completions, timers and
 * file-descriptor events, in one thread.
 *
 * Completions are dispatched by context: every operation a loop user posts
 * passes a `struct sk_op *` as the verbs context, embedded in the user's own
 * structure (container_of), and its ->done is called with the completion.
 *
 * Idle policy: the loop polls the device for SKIFF_LOOP_SPIN_US after the
 * last event, then arms the completion channel and sleeps in poll(2) on the
 * channel's descriptor, the watched descriptors and the next timer. An idle
 * node therefore costs no CPU (tests run 16 nodes on two cores).
 *
 * Threads: a loop, its timers and watches belong to the thread that runs it;
 * run one loop (with its own device) per thread. Callbacks must do bounded
 * work and never block; they may start and stop timers and watches,
 * including their own.
 */
#ifndef SKIFF_LOOP_H
#define SKIFF_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <skiff/verbs.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_loop;
struct sk_op;
struct sk_timer;
struct sk_watch;

typedef void (*sk_op_func_t)(struct sk_op *op, const struct sk_wc *wc);
typedef void (*sk_timer_func_t)(struct sk_timer *timer);
typedef void (*sk_watch_func_t)(struct sk_watch *watch, unsigned revents);

/* The context of every operation posted by a loop user. */
struct sk_op {
	sk_op_func_t done;
};

/* A one-shot timer; re-arm it from its callback for a periodic one. The
 * memory is the caller's and must stay valid while the timer is armed. */
struct sk_timer {
	sk_timer_func_t  cb;
	uint64_t         deadline_ns; /* private */
	struct sk_timer *next;        /* private */
	bool             armed;       /* private */
};

/* A watched file descriptor. */
struct sk_watch {
	sk_watch_func_t  cb;
	int              fd;
	unsigned         events;  /* POLLIN, POLLOUT */
	struct sk_watch *next;    /* private */
	bool             active;  /* private */
};

/*
 * Create a loop over @dev (NULL: timers and descriptors only). The device
 * stays the caller's and must outlive the loop.
 * @loop_p  out, on success only. Free with sk_loop_destroy().
 */
sk_status_t sk_loop_create(struct sk_dev *dev, struct sk_loop **loop_p);
/* Destroy a loop. Armed timers and watches are forgotten, not called. */
void sk_loop_destroy(struct sk_loop *loop);

/*
 * Handle what is ready: completions, due timers, descriptors. When nothing
 * is, wait for at most @timeout_ms (-1: until something happens; 0: do not
 * wait), spinning first, then sleeping. Returns the number of events
 * handled, 0 on timeout, or a negative status if the device failed.
 */
int sk_loop_run_once(struct sk_loop *loop, int timeout_ms);
/* Run until sk_loop_stop() is called from a callback. */
sk_status_t sk_loop_run(struct sk_loop *loop);
void sk_loop_stop(struct sk_loop *loop);

/* Arm @timer (with ->cb set) to fire once, @ms from now (re-arms if armed). */
void sk_timer_start(struct sk_loop *loop, struct sk_timer *timer,
		    uint64_t ms);
void sk_timer_stop(struct sk_loop *loop, struct sk_timer *timer);

/* Watch @w->fd for @w->events (with ->cb set); the callback gets poll(2)'s
 * revents (POLLHUP and POLLERR included). */
void sk_watch_start(struct sk_loop *loop, struct sk_watch *w);
void sk_watch_stop(struct sk_loop *loop, struct sk_watch *w);

/* The device of the loop (NULL if none). */
struct sk_dev *sk_loop_dev(const struct sk_loop *loop);

/* A monotonic clock in nanoseconds, the one timers use. */
uint64_t sk_time_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_LOOP_H */
