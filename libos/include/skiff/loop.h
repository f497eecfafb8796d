/*
 * The event loop of a node (and of the host): fabric completions, timers and
 * file-descriptor events, in one thread.
 *
 * Completions are dispatched by context: every operation a loop user posts
 * passes a `struct sk_op *` as the verbs context, embedded in the user's own
 * structure (container_of), and its ->done is called with the completion.
 *
 * Idle policy: the loop polls the device for SKIFF_LOOP_SPIN_US after the
 * last event, then arms the completion channel and sleeps in epoll_wait(2)
 * on one epoll set that holds the channel and the watched descriptors, until
 * the next timer. An idle node therefore costs no CPU (tests run 64 nodes on
 * two cores).
 *
 * Scale: any number of timers and watches. Starting or stopping a timer is
 * O(log n) (a binary heap), a watch O(1) plus one epoll_ctl(2); a turn costs
 * the same with 1,000 idle watches as with none.
 *
 * Threads: a loop, its timers and watches belong to the thread that runs it;
 * run one loop (with its own device) per thread. Callbacks must do bounded
 * work and never block; they may start and stop any timer or watch,
 * including their own and ones that are due or ready in the same turn: a
 * timer or watch stopped by an earlier callback is not called, and one
 * started by a callback is first called on a later look, never with an event
 * seen before it was started. Once stopped, its memory may be freed or
 * reused at once, even from a callback. A callback that has to wait (libos's
 * own: a message to the host that waits for a send slot, such as a printf
 * inside a message's handler) may run the loop again: the nested turn first
 * takes the completions the outer turn polled and has not handed out, in
 * order, so the one it waits for is never held behind it.
 *
 * Watches, rules that follow from epoll:
 * - Stop a watch before closing its descriptor. (The kernel keeps watching a
 *   file that another descriptor, or a forked child, still holds open.)
 * - To change ->events of an active watch, call sk_watch_start() again.
 * - Several watches may share one descriptor; each is called with the events
 *   it asked for (plus POLLERR and POLLHUP).
 * - A descriptor epoll cannot watch is reported as poll(2) would: a regular
 *   file (or /dev/null) is always ready for what is asked; a closed one
 *   gets POLLNVAL.
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
 * memory is the caller's and must stay valid while the timer is armed.
 * Timers due at the same nanosecond fire in the order they were started.
 * ->cb is the caller's to set; ->priv is the loop's (when the timer is
 * due, its place among the armed ones): zero it before the first start,
 * as an initializer or calloc does, and leave it alone after. */
struct sk_timer {
	sk_timer_func_t  cb;
	union {
		uint64_t u64[3];
		void    *align;
	} priv;
};

/* A watched file descriptor. The memory is the caller's and must stay
 * valid while the watch is active; ->fd must not change while it is.
 * ->cb, ->fd and ->events are the caller's to set; ->priv is the loop's
 * (the other watches of the descriptor, the last look that saw it): zero
 * it before the first start, as an initializer or calloc does, and leave
 * it alone after. */
struct sk_watch {
	sk_watch_func_t  cb;
	int              fd;
	unsigned         events;   /* POLLIN, POLLOUT */
	union {
		uint64_t u64[4];
		void    *align;
	} priv;
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
/*
 * sk_loop_run_once() that sleeps as soon as nothing is ready, without the
 * SKIFF_LOOP_SPIN_US spin: for a wait whose answer is work on this host's
 * other cores (a file request the host's threads carry out), which a
 * spinning waiter would take a core from when cores are few.
 */
int sk_loop_wait_once(struct sk_loop *loop, int timeout_ms);
/*
 * How the loop waits when nothing is ready: it polls for @spin_us after
 * the last event (SKIFF_LOOP_SPIN_US until this is called), looking at
 * its descriptors every @fd_check_us meanwhile (20 by default: a look is
 * a system call), then sleeps. @fd_check_us 0 looks on every turn: for a
 * loop whose work comes mostly from descriptors (skcached's gateways
 * serving TCP), where waking from sleep costs more than the looks. Values
 * above 1,000,000 are taken as 1,000,000.
 */
void sk_loop_set_spin(struct sk_loop *loop, unsigned long spin_us,
		      unsigned long fd_check_us);
/* Run until sk_loop_stop() is called from a callback. */
sk_status_t sk_loop_run(struct sk_loop *loop);
void sk_loop_stop(struct sk_loop *loop);

/* Arm @timer (with ->cb set) to fire once, @ms from now (re-arms if armed). */
void sk_timer_start(struct sk_loop *loop, struct sk_timer *timer,
		    uint64_t ms);
void sk_timer_stop(struct sk_loop *loop, struct sk_timer *timer);
/* Whether @timer is armed: started, and neither fired nor stopped since. */
bool sk_timer_armed(const struct sk_timer *timer);

/* Watch @w->fd for @w->events (with ->cb set); the callback gets poll(2)'s
 * revents (POLLHUP and POLLERR included). On an active watch: take a new
 * ->events into account. A watch the kernel refuses (no memory, the
 * max_user_watches limit) is called with POLLERR, after a message. */
void sk_watch_start(struct sk_loop *loop, struct sk_watch *w);
void sk_watch_stop(struct sk_loop *loop, struct sk_watch *w);
/* Whether @w is active: started and not stopped since. */
bool sk_watch_active(const struct sk_watch *w);

/* The device of the loop (NULL if none). */
struct sk_dev *sk_loop_dev(const struct sk_loop *loop);

/* A monotonic clock in nanoseconds, the one timers use. */
uint64_t sk_time_ns(void);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_LOOP_H */
