/*
 * skrun's file threads (fileq.h).
 *
 * One queue of requests under a mutex, a condition variable for idle
 * workers, and a list of finished requests that the loop's thread takes
 * whole when the eventfd says there are some (as memcached hands work
 * back to its event threads through a pipe). The loop's thread never
 * waits on a worker: it takes the mutex only to push or to swap a list.
 *
 * A request with a key (->key, not 0) never runs beside another of the
 * same key: they run one after another, in the order they came, and the
 * worker that ends one takes the next itself. skrun keys writes by their
 * file, whose inode lock would make them wait anyway: Linux takes it
 * whole for a buffered write (tmpfs, ext4, XFS), and a writer that finds
 * it taken spins on it before it sleeps (rwsem_spin_on_owner: 15% of a
 * 2-core machine's time while one node wrote one file from 4 threads),
 * on the cores the nodes need.
 *
 * Workers are detached: one may sit in read() on a FIFO for the job's
 * whole life, and skrun's exit must not wait for it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fileq.h"

static struct {
	pthread_mutex_t      lock;
	pthread_cond_t       cond;
	struct sk_fileq_req *head, *tail;  /* waiting for a worker */
	struct sk_fileq_req *done_head, *done_tail;
	unsigned             queued;       /* in head..tail */
	unsigned             running;      /* in a worker's ->work */
	unsigned             waking;       /* done, its worker yet to write
	                                    * the eventfd */
	unsigned             idle;         /* workers waiting on cond */
	unsigned             nthreads;
	uint64_t             keys[SK_FILEQ_THREADS]; /* a worker's; 0 none */
	bool                 slot_used[SK_FILEQ_THREADS];
	bool                 stopping;
	bool                 said_inline;
	int                  efd;
	struct sk_watch      w;
	struct sk_loop      *loop;
} sk_fq = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.efd = -1,
};

static void sk_fileq_wake(void)
{
	uint64_t one = 1;

	/* Fails only when the counter would overflow: then the loop has
	 * a wake-up pending anyway. */
	if (write(sk_fq.efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		perror("skrun: file threads: eventfd");
}

/* Called with the lock held: whether the loop must be woken for it (the
 * list was empty; else a wake-up for the list is on its way, and the loop
 * takes the whole list under the lock). The caller writes the eventfd
 * after it lets the lock go: the loop's thread wakes to take that lock. */
static bool sk_fileq_finish(struct sk_fileq_req *req)
{
	bool first = sk_fq.done_head == NULL;

	req->next = NULL;
	if (sk_fq.done_tail)
		sk_fq.done_tail->next = req;
	else
		sk_fq.done_head = req;
	sk_fq.done_tail = req;
	return first;
}

static bool sk_fileq_key_running(uint64_t key)
{
	for (unsigned i = 0; key != 0 && i < SK_FILEQ_THREADS; i++)
		if (sk_fq.keys[i] == key)
			return true;
	return false;
}

/* Called with the lock held: unlink and return the oldest request whose
 * key is not running, or NULL; *@more_p says whether another could run
 * beside it. */
static struct sk_fileq_req *sk_fileq_take(bool *more_p)
{
	struct sk_fileq_req *req, *prev = NULL, *got = NULL, *got_prev = NULL;

	*more_p = false;
	for (req = sk_fq.head; req; prev = req, req = req->next) {
		if (sk_fileq_key_running(req->key) ||
		    (got && req->key != 0 && req->key == got->key))
			continue;
		if (got) {
			*more_p = true;
			break;
		}
		got = req;
		got_prev = prev;
	}
	if (got == NULL)
		return NULL;
	if (got_prev)
		got_prev->next = got->next;
	else
		sk_fq.head = got->next;
	if (sk_fq.tail == got)
		sk_fq.tail = got_prev;
	sk_fq.queued--;
	return got;
}

static void *sk_fileq_worker(void *arg)
{
	unsigned slot = (unsigned)(uintptr_t)arg;
	struct sk_fileq_req *req = NULL;
	bool more;

	pthread_mutex_lock(&sk_fq.lock);
	for (;;) {
		bool signal, wake;

		while (!sk_fq.stopping && (req = sk_fileq_take(&more)) == NULL) {
			sk_fq.idle++;
			pthread_cond_wait(&sk_fq.cond, &sk_fq.lock);
			sk_fq.idle--;
		}
		if (sk_fq.stopping)
			break;
		signal = more && sk_fq.idle > 0;
		sk_fq.keys[slot] = req->key;
		sk_fq.running++;
		pthread_mutex_unlock(&sk_fq.lock);
		/* Wake-ups go after the unlock: a thread woken with the
		 * lock still held would only wait for it again. */
		if (signal)
			pthread_cond_signal(&sk_fq.cond);

		req->work(req);

		pthread_mutex_lock(&sk_fq.lock);
		sk_fq.keys[slot] = 0;
		sk_fq.running--;
		wake = sk_fileq_finish(req);
		if (wake) {
			/* Counted as waking: sk_fileq_stop keeps the eventfd
			 * open for this write. Not as running: once its done
			 * is the loop's, the request is not the threads' work
			 * (sk_fileq_busy), or skrun's last turn would wait for
			 * a wake-up that already came. */
			sk_fq.waking++;
			pthread_mutex_unlock(&sk_fq.lock);
			sk_fileq_wake();
			pthread_mutex_lock(&sk_fq.lock);
			sk_fq.waking--;
		}
	}
	sk_fq.slot_used[slot] = false;
	sk_fq.nthreads--;
	pthread_mutex_unlock(&sk_fq.lock);
	return NULL;
}

/* The loop's side: run ->done of everything finished, in order. */
static void sk_fileq_readable(struct sk_watch *w, unsigned revents)
{
	struct sk_fileq_req *req, *next;
	uint64_t n;

	(void)w;
	(void)revents;
	if (read(sk_fq.efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		perror("skrun: file threads: eventfd");
	pthread_mutex_lock(&sk_fq.lock);
	req = sk_fq.done_head;
	sk_fq.done_head = sk_fq.done_tail = NULL;
	pthread_mutex_unlock(&sk_fq.lock);
	for (; req; req = next) {
		next = req->next; /* ->done may submit @req again */
		req->done(req);
	}
}

unsigned sk_fileq_load(void)
{
	unsigned n;

	pthread_mutex_lock(&sk_fq.lock);
	n = sk_fq.queued + sk_fq.running;
	pthread_mutex_unlock(&sk_fq.lock);
	return n;
}

bool sk_fileq_busy(void)
{
	return sk_fileq_load() > 0;
}

int sk_fileq_init(struct sk_loop *loop)
{
	sk_fq.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sk_fq.efd < 0)
		return -errno;
	sk_fq.loop = loop;
	sk_fq.w = (struct sk_watch){.fd = sk_fq.efd, .events = POLLIN,
				    .cb = sk_fileq_readable};
	sk_watch_start(loop, &sk_fq.w);
	return 0;
}

/* Called with the lock held: a free worker slot, or -1. */
static int sk_fileq_free_slot(void)
{
	for (int i = 0; i < SK_FILEQ_THREADS; i++)
		if (!sk_fq.slot_used[i])
			return i;
	return -1;
}

void sk_fileq_submit(struct sk_fileq_req *req)
{
	pthread_attr_t attr;
	pthread_t tid;
	int rc = -1, slot;

	req->next = NULL;
	pthread_mutex_lock(&sk_fq.lock);
	if (sk_fq.tail)
		sk_fq.tail->next = req;
	else
		sk_fq.head = req;
	sk_fq.tail = req;
	sk_fq.queued++;
	/* One of a key that runs: the worker running it takes it next. */
	if (sk_fileq_key_running(req->key)) {
		pthread_mutex_unlock(&sk_fq.lock);
		return;
	}
	/* A new worker only when the idle ones cannot take everything
	 * queued: most jobs never start more than their busiest moment
	 * needs. The workers inherit the loop thread's blocked signals,
	 * which skrun takes through its signalfd. */
	if (sk_fq.queued > sk_fq.idle && sk_fq.nthreads < SK_FILEQ_THREADS &&
	    (slot = sk_fileq_free_slot()) >= 0) {
		if (pthread_attr_init(&attr) == 0) {
			pthread_attr_setdetachstate(&attr,
						    PTHREAD_CREATE_DETACHED);
			rc = pthread_create(&tid, &attr, sk_fileq_worker,
					    (void *)(uintptr_t)slot);
			pthread_attr_destroy(&attr);
		}
		if (rc == 0) {
			sk_fq.slot_used[slot] = true;
			sk_fq.nthreads++;
		}
	}
	if (sk_fq.nthreads == 0) {
		/* No thread at all (the system refused every one): the
		 * request is still served, here, as before there were
		 * threads. Nothing else is queued: nothing waits behind a
		 * key without a worker running it. */
		sk_fq.head = sk_fq.tail = NULL;
		sk_fq.queued = 0;
		if (!sk_fq.said_inline)
			fprintf(stderr, "skrun: cannot start a file thread: "
					"%s; file requests run in the service "
					"loop\n", strerror(rc > 0 ? rc : EAGAIN));
		sk_fq.said_inline = true;
		pthread_mutex_unlock(&sk_fq.lock);
		req->work(req);
		pthread_mutex_lock(&sk_fq.lock);
		sk_fileq_finish(req);
		pthread_mutex_unlock(&sk_fq.lock);
		sk_fileq_wake();
		return;
	}
	pthread_mutex_unlock(&sk_fq.lock);
	pthread_cond_signal(&sk_fq.cond);
}

unsigned sk_fileq_stop(void)
{
	unsigned left;

	if (sk_fq.efd < 0)
		return 0;
	pthread_mutex_lock(&sk_fq.lock);
	sk_fq.stopping = true;
	pthread_cond_broadcast(&sk_fq.cond);
	/* A worker done with its request is one write to a non-blocking
	 * eventfd from letting go: wait for it rather than leave the
	 * eventfd open for it. */
	while (sk_fq.waking) {
		pthread_mutex_unlock(&sk_fq.lock);
		sched_yield();
		pthread_mutex_lock(&sk_fq.lock);
	}
	left = sk_fq.running + sk_fq.queued;
	pthread_mutex_unlock(&sk_fq.lock);
	sk_watch_stop(sk_fq.loop, &sk_fq.w);
	/* A worker still in ->work writes the eventfd when it returns. */
	if (left == 0) {
		close(sk_fq.efd);
		sk_fq.efd = -1;
	}
	return left;
}
