/*
 * The device: UCP context and worker, its settings, the poll and arm
 * that drive everything else, and the provider's operations table.
 */

#include <sched.h>
#include <stdbool.h>
#include <sys/epoll.h>

#include "ucx_int.h"

/* ---- device ---- */

static int ucx_list(struct sk_dev_info *info, int max)
{
	if (max > 0) {
		snprintf(info[0].name, sizeof(info[0].name), "ucp");
		snprintf(info[0].transport, sizeof(info[0].transport),
			 "UCX %s, transports from UCX_TLS",
			 ucp_get_version_string());
		info[0].usable = 1;
	}
	return 1;
}

/*
 * The transports the UCP context really uses. UCP 1.13 has no query for
 * them (ucp_ep_query's transports came later), so this reads the one
 * place it says: ucp_context_print_info's "resource N : md M dev D flags
 * XX tl/dev" lines, which list what survived UCX_TLS, UCX_NET_DEVICES
 * and the rest of UCX's filters.
 */
static int ucx_dev_transports(struct sk_dev *dev, struct sk_tl_info *tl,
			      int max)
{
	struct ucx_dev *d = ucx_dev(dev);
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int n = 0;

	if (f == NULL)
		return -1;
	ucp_context_print_info(d->ctx, f);
	fclose(f);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		const char *last, *slash;

		if (strstr(line, "resource") == NULL ||
		    strstr(line, " md ") == NULL)
			continue;
		last = strrchr(line, ' ');
		last = last ? last + 1 : line;
		slash = strchr(last, '/');
		if (slash == NULL || slash == last || slash[1] == '\0')
			continue;
		if (n < max) {
			snprintf(tl[n].tl, sizeof(tl[n].tl), "%.*s",
				 (int)(slash - last), last);
			snprintf(tl[n].dev, sizeof(tl[n].dev), "%s",
				 slash + 1);
		}
		n++;
	}
	free(text);
	return n;
}

/* Whether sk_mr_alloc's memory is a segment peers on this host map
 * (UCX allocates it from its posix shared-memory domain, the one left in
 * by default: sysv is left out below). */
static int ucx_dev_has_posix(struct sk_dev *dev)
{
	struct sk_tl_info tl[32];
	int n = ucx_dev_transports(dev, tl, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (strcmp(tl[i].tl, "posix") == 0)
			return 1;
	return 0;
}

static sk_status_t ucx_read_config(struct ucx_dev *d, unsigned long *ka_ms,
				   unsigned long *mrs)
{
	unsigned long sq, rq, uq, shm, ring_kb;
	sk_status_t st;

	unsigned long stall;

	if ((st = sk_config_ulong("SKIFF_STALL_MS", 0, 86400000, &stall)))
		return st;
	d->stall_ns = stall * 1000000ull;
	if ((st = sk_config_ulong("SKIFF_SQ_DEPTH", 2, 32768, &sq)) ||
	    (st = sk_config_ulong("SKIFF_RQ_DEPTH", 1, 32768, &rq)) ||
	    (st = sk_config_ulong("SKIFF_UCX_UNEXP_DEPTH", 1, 1 << 20, &uq)) ||
	    (st = sk_config_ulong("SKIFF_UCX_KEEPALIVE_MS", 10, 3600000,
				  ka_ms)) ||
	    (st = sk_config_ulong("SKIFF_UCX_MAX_MRS", 1, 1 << 20, mrs)) ||
	    (st = sk_config_ulong("SKIFF_UCX_KEY_CHECK_MS", 1, 3600000,
				  &d->key_check_ms)) ||
	    (st = sk_config_ulong("SKIFF_UCX_SHM", 0, 1, &shm)) ||
	    (st = sk_config_ulong("SKIFF_UCX_RING_KB", 16, 1 << 20, &ring_kb)))
		return st;
	if (ring_kb & (ring_kb - 1)) {
		sk_log_error("SKIFF_UCX_RING_KB=%lu: not a power of two",
			     ring_kb);
		return SK_ERR_CONFIG;
	}
	d->ring_on = (int)shm;
	d->ring_size = (uint32_t)(ring_kb * 1024);
	d->sq_depth = ucx_pow2(sq);
	d->rq_depth = ucx_pow2(rq);
	d->uq_depth = ucx_pow2(uq);
	return SK_OK;
}

static sk_status_t ucx_dev_open(const char *device, struct sk_dev **dev_p)
{
	ucp_params_t params = {
		.field_mask = UCP_PARAM_FIELD_FEATURES,
		.features = UCP_FEATURE_RMA | UCP_FEATURE_AMO64 |
			    UCP_FEATURE_AM | UCP_FEATURE_WAKEUP,
	};
	ucp_worker_params_t wp = {
		.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
		.thread_mode = UCS_THREAD_MODE_SINGLE,
	};
	ucp_am_handler_param_t ap = {
		.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID |
			      UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
			      UCP_AM_HANDLER_PARAM_FIELD_CB |
			      UCP_AM_HANDLER_PARAM_FIELD_ARG,
		.flags = UCP_AM_FLAG_WHOLE_MSG,
	};
	unsigned long ka_ms, mrs;
	char ka[32];
	ucp_config_t *config;
	struct ucx_dev *d;
	ucs_status_t us;
	sk_status_t st;

	if (device && strcmp(device, "ucp") != 0) {
		sk_log_error("ucx: no device named '%s' (the ucx provider has "
			     "one: 'ucp'; pick transports with UCX_TLS)",
			     device);
		return SK_ERR_NODEV;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		return SK_ERR_NOMEM;
	st = ucx_read_config(d, &ka_ms, &mrs);
	if (st != SK_OK)
		goto err_free;

	/* A transport-level variable, which ucp_config_modify() does not
	 * take in UCX 1.13: without it, peer error handling leaves shared
	 * memory out. Set only when the user did not. */
	setenv("UCX_POSIX_ERROR_HANDLING", "y", 0);
	/* Each shared-memory transport pre-faults 512 receive buffers of
	 * 8 KiB when the worker starts: most of a device open, and of a
	 * node's boot, where page faults are dear (VMs; perf/README.md,
	 * "Figures behind design choices"). Pools still grow on demand,
	 * 64 at a time. Set only when the user did not. */
	setenv("UCX_POSIX_RX_BUFS_GROW", "64", 0);
	if (getenv("UCX_TLS") != NULL) /* else sysv is left out (below) */
		setenv("UCX_SYSV_RX_BUFS_GROW", "64", 0);
	us = ucp_config_read(NULL, NULL, &config);
	if (us != UCS_OK)
		goto err_ucs;
	/* Peer failure detection: shared-memory transports take part only
	 * with their error handling on; keepalive bounds the detection. */
	snprintf(ka, sizeof(ka), "%lums", ka_ms);
	if (getenv("UCX_KEEPALIVE_INTERVAL") == NULL)
		ucp_config_modify(config, "KEEPALIVE_INTERVAL", ka);
	/* Every endpoint asks for peer error handling, which sysv lacks
	 * (UCX_SYSV_ERROR_HANDLING=n): its interface is never used, yet its
	 * receive buffers and FIFO cost memory in every process (posix, the
	 * same transport over other segments, carries the traffic). */
	if (getenv("UCX_TLS") == NULL)
		ucp_config_modify(config, "TLS", "^sysv");
	us = ucp_init(&params, config, &d->ctx);
	ucp_config_release(config);
	if (us != UCS_OK)
		goto err_ucs;
	us = ucp_worker_create(d->ctx, &wp, &d->worker);
	if (us != UCS_OK)
		goto err_cleanup;
	us = ucp_worker_get_efd(d->worker, &d->efd);
	if (us != UCS_OK)
		goto err_worker;
	us = ucp_worker_get_address(d->worker, &d->waddr, &d->waddr_len);
	if (us != UCS_OK)
		goto err_worker;
	ap.id = UCX_AM_SEND;
	ap.cb = ucx_am_send_cb;
	ap.arg = d;
	us = ucp_worker_set_am_recv_handler(d->worker, &ap);
	if (us != UCS_OK)
		goto err_addr;
	ap.id = UCX_AM_IMM;
	ap.cb = ucx_am_imm_cb;
	us = ucp_worker_set_am_recv_handler(d->worker, &ap);
	if (us != UCS_OK)
		goto err_addr;
	ap.id = UCX_AM_NOP;
	ap.cb = ucx_am_nop_cb;
	us = ucp_worker_set_am_recv_handler(d->worker, &ap);
	if (us != UCS_OK)
		goto err_addr;
	st = ucx_keytab_init(d, mrs);
	if (st != SK_OK)
		goto err_addr_st;
	st = ucx_cq_reserve(d, 64);
	if (st != SK_OK)
		goto err_keytab;

	d->imm_max = UCX_MAX_INLINE;
	d->imm_probe = UCX_IMM_PROBE;
	ucx_rings_init(d);
	snprintf(d->transport, sizeof(d->transport), "UCX %s",
		 ucp_get_version_string());
	d->super.ops = &sk_ucx_provider_ops;
	d->super.attr = (struct sk_dev_attr){
		.provider = "ucx",
		.name = "ucp",
		.transport = d->transport,
		.max_inline = UCX_MAX_INLINE,
		.max_msg = 1ul << 31,
		.sq_depth = d->sq_depth,
		.rq_depth = d->rq_depth,
		.native_atomics = 1,
		.has_fd = 1,
		.direct_mem = ucx_dev_has_posix(&d->super),
	};
	*dev_p = &d->super;
	return SK_OK;

err_keytab:
	ucp_rkey_buffer_release(d->keytab_rkey_buf);
	ucp_mem_unmap(d->ctx, d->keytab_memh);
	free(d->keytab);
err_addr_st:
	ucp_worker_release_address(d->worker, d->waddr);
	ucp_worker_destroy(d->worker);
	ucp_cleanup(d->ctx);
	free(d);
	return st;
err_addr:
	ucp_worker_release_address(d->worker, d->waddr);
err_worker:
	ucp_worker_destroy(d->worker);
err_cleanup:
	ucp_cleanup(d->ctx);
err_ucs:
	sk_log_error("ucx: cannot open UCP: %s", ucs_status_string(us));
	st = ucx_status(us);
err_free:
	free(d);
	return st;
}

void ucx_dev_close(struct sk_dev *dev)
{
	struct ucx_dev *d = ucx_dev(dev);

	for (uint32_t i = 0; i < d->eps.n; i++)
		if (d->eps.eps[i])
			sk_log_error("ucx: closing the device with endpoint %u "
				     "still open", i);
	ucp_rkey_buffer_release(d->keytab_rkey_buf);
	ucp_mem_unmap(d->ctx, d->keytab_memh);
	free(d->keytab);
	ucx_mr_retired_cleanup(d);
	ucp_worker_release_address(d->worker, d->waddr);
	ucp_worker_destroy(d->worker);
	/* The worker is gone: nothing can land in these any more. */
	while (d->fetches) {
		struct ucx_fetch *f = d->fetches;

		ucx_fetch_unlink(f);
		free(f);
	}
	ucp_cleanup(d->ctx);
	ucx_rings_cleanup(d);
	free(d->cq);
	sk_ep_table_cleanup(&d->eps);
	free(d);
}

/* A nap while requests in flight stand still (ucx_dev_arm) ends in time
 * to progress them again. While an endpoint owes completions, the
 * watchdog must run even if none ever wakes the caller: bound its sleep,
 * as the rdma provider does. */
static int ucx_dev_sleep_bound(const struct sk_dev *dev)
{
	const struct ucx_dev *d = sk_container_of(dev, const struct ucx_dev,
						  super);

	if (d->inflight && d->still_ns)
		return UCX_NAP_MS;
	if (d->stall_ns == 0)
		return -1;
	for (uint32_t i = 0; i < d->eps.n; i++) {
		const struct ucx_ep *e = d->eps.eps[i] ?
			ucx_ep(d->eps.eps[i]) : NULL;

		if (e && !e->stalled && e->uep && e->sq_head != e->sq_tail)
			return 100;
	}
	return -1;
}

static int ucx_dev_poll(struct sk_dev *dev, struct sk_wc *wc, int max)
{
	struct ucx_dev *d = ucx_dev(dev);
	int n = 0;

	d->polls++;
	if (d->nrings)
		ucx_rings_poll(d);
	/* UCX progresses when it owes us a request, or when it is the only
	 * way in and nothing came; with rings carrying sends, every 4th poll
	 * (its own messages, completions and keepalive). */
	if ((d->polls & 3) == 0 || d->inflight ||
	    (d->nrings == 0 && d->cq_tail == d->cq_head))
		ucx_progress(d);
	if (d->flush_owed)
		ucx_flush_failed(d);
	if (d->cq_tail != d->cq_head) {
		/* In locals: the stores to the endpoints' counts would make
		 * the compiler reload the queue's fields every time. */
		uint32_t tail = d->cq_tail, head = d->cq_head;
		uint32_t mask = d->cq_size - 1;
		const struct sk_wc *cq = d->cq;

		while (n < max && tail != head) {
			const struct sk_wc *c = &cq[tail++ & mask];
			struct ucx_ep *e = ucx_ep(c->ep);

			if (c->opcode >= SK_OP_RECV)
				e->rq_cq--;
			else
				e->sq_cq--;
			wc[n++] = *c;
		}
		d->cq_tail = tail;
	}
	/* The watchdog looks on every 64th poll, busy or not (a device kept
	 * busy by one endpoint still notices another's stall), and before
	 * the caller sleeps (ucx_dev_arm): one coarse clock read then, none
	 * on the other polls. */
	if (d->stall_ns && (d->polls & 63) == 0)
		ucx_watchdog(d);
	return n;
}

static int ucx_dev_fd(const struct sk_dev *dev)
{
	const struct ucx_dev *d = sk_container_of(dev, const struct ucx_dev,
						  super);

	return d->pfd >= 0 ? d->pfd : d->efd;
}

/* Which of the completion channel's two descriptors are readable now:
 * *ring for the wakeup socket, *ucp for the worker's efd. One
 * epoll_wait(2) with no timeout; on an error, both, which costs only the
 * syscalls this look saves. */
static void ucx_dev_ready(struct ucx_dev *d, int *ring, int *ucp)
{
	struct epoll_event ev[2];
	int n = epoll_wait(d->pfd, ev, 2, 0);

	*ring = *ucp = n < 0;
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == d->host.wake_fd)
			*ring = 1;
		else
			*ucp = 1;
	}
}

/* Whether the requests in flight have stood still, no progress call
 * (sk_dev_poll's or arm's) having done anything, for UCX_STILL_NS. */
static bool ucx_still(struct ucx_dev *d)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (d->still_ns == 0 || d->moved != d->still_moved) {
		d->still_ns = now;
		d->still_moved = d->moved;
		return false;
	}
	return now - d->still_ns >= UCX_STILL_NS;
}

/*
 * Before the caller sleeps on ucx_dev_fd. UCX's arm is a system call per
 * descriptor of its worker (its eventfd, its timer, each transport's
 * socket), made on every sleep, most of them finding nothing. But an armed
 * worker stays armed until one of them fires, which makes efd readable:
 * with rings (the usual same-host job), where the channel is our own
 * epoll of efd and the wakeup socket, one look at it tells which fired,
 * and the worker is armed anew only when efd did, or when anything went
 * through UCX since its last arm (ucp_armed is cleared by every post and
 * by every progress that did something). A node woken by a ring message
 * so pays one look and one read of the socket before it sleeps again,
 * where it paid five or six system calls; one woken by another of its
 * caller's descriptors (@quiet, sk_dev_rearm) pays none. Without rings
 * (no such look) the worker is armed anew unless @quiet.
 */
static sk_status_t ucx_dev_arm(struct sk_dev *dev, int quiet)
{
	struct ucx_dev *d = ucx_dev(dev);
	int ring = !quiet, ucp = !quiet;
	ucs_status_t us;

	if (d->stall_ns)
		ucx_watchdog(d);
	if (d->cq_tail != d->cq_head || d->flush_owed)
		return SK_ERR_BUSY;
	/* UCX completes some requests (endpoint flushes, shared-memory
	 * work) from progress alone, with no event on the fd: while any is
	 * in flight, keep polling, but give the core to whoever else is
	 * runnable first, since that may be the very peer whose progress
	 * answers it (many nodes on few cores). Alone on its core, the node
	 * gets it straight back. Once they have not moved for
	 * UCX_STILL_NS, their peer is busy elsewhere (a node waiting at boot
	 * for the host, which is starting the others): the worker is armed
	 * and the caller naps, a millisecond at most (ucx_dev_sleep_bound),
	 * instead of taking turns on the cores from the very processes it
	 * waits for. Idle, the worker sleeps. */
	if (d->inflight) {
		ucx_progress(d);
		if (d->cq_tail != d->cq_head)
			return SK_ERR_BUSY;
		if (!ucx_still(d)) {
			sched_yield();
			return SK_ERR_BUSY;
		}
	} else {
		d->still_ns = 0;
	}
	if (d->pfd >= 0 && !quiet)
		ucx_dev_ready(d, &ring, &ucp);
	if (d->nrings && ucx_rings_arm(d, ring))
		return SK_ERR_BUSY;
	if (d->ucp_armed && !ucp)
		return SK_OK;
	us = ucp_worker_arm(d->worker);
	if (us == UCS_ERR_BUSY)
		return SK_ERR_BUSY;
	if (us != UCS_OK)
		return ucx_status(us);
	d->ucp_armed = 1;
	return SK_OK;
}

static void ucx_dev_drain(struct sk_dev *dev)
{
	ucx_progress_drain(ucx_dev(dev));
}

const struct sk_provider_ops sk_ucx_provider_ops = {
	.name = "ucx",
	.list = ucx_list,
	.dev_open = ucx_dev_open,
	.dev_close = ucx_dev_close,
	.dev_poll = ucx_dev_poll,
	.dev_fd = ucx_dev_fd,
	.dev_arm = ucx_dev_arm,
	.dev_sleep_bound = ucx_dev_sleep_bound,
	.dev_drain = ucx_dev_drain,
	.mr_reg = ucx_mr_reg,
	.mr_alloc = ucx_mr_alloc,
	.mr_dereg = ucx_mr_dereg,
	.mr_pack = ucx_mr_pack,
	.rkey_unpack = ucx_rkey_unpack,
	.rkey_unpack_nowait = ucx_rkey_unpack_nowait,
	.rkey_destroy = ucx_rkey_destroy,
	.ep_create = ucx_ep_create,
	.ep_addr_pack = ucx_ep_addr_pack,
	.ep_connect = ucx_ep_connect,
	.ep_destroy = ucx_ep_destroy,
	.ep_cancel = ucx_ep_cancel,
	.post = ucx_post,
	.post_recv = ucx_post_recv,
	.ep_set_inplace = ucx_ep_set_inplace,
	.ep_release = ucx_ep_release,
	.dev_transports = ucx_dev_transports,
};
