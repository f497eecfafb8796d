/*
 * The connection manager path (SKIFF_RDMA_CONNECT=cm, and "auto" where the
 * device has an IPv4 address and /dev/infiniband/rdma_cm opens): RC
 * endpoints connected through librdmacm, as perftest's -R and UCX's
 * sockaddr path do, so that the path follows from the peer's IP address
 * and a peer's exit reaches us as a disconnect at once.
 *
 * verbs' contract stays the blob exchange: each side packs its address,
 * the caller carries it, each side connects to the other's. A packed
 * address here adds the device's IPv4 address, the port of its listener
 * and a random 64-bit tag that names the endpoint. Of two endpoints, the
 * one with the lower tag is active:
 *
 *   active   connect(peer blob): resolve the peer's address, then the
 *            route (local steps: ARP and the routing table; no wait on the
 *            peer), build the address vector from the route, move the QP
 *            to RTR/RTS with the blob's QPN and PSN, then rdma_connect()
 *            with [target tag, source tag, QPN, PSN] as private data, and
 *            return. The CONNECT_RESPONSE arrives later, through progress,
 *            and is answered with rdma_establish().
 *   passive  connect(peer blob): RTR/RTS from the blob at once. The
 *            request arrives (before or after) on the device's listener,
 *            through progress: it is matched to the endpoint by the target
 *            tag, checked against the blob, and accepted with the QP's
 *            number.
 *
 * Neither side waits for the other inside connect: libos's exchange is
 * sequential (the first side connects before the second has the first's
 * blob), and a node waiting for the host over its boot socket does not
 * progress the fabric. The QPs are both RTS when connect returns, as on
 * the blob path; the CM connection, completed in the background, carries
 * the peer's departure: DISCONNECTED (the peer's kernel sends it when its
 * process exits, killed or not) moves the QP to the error state, which
 * flushes everything posted and everything posted later, the first with
 * SK_ERR_UNREACHABLE. The stall watchdog stays as the last resort.
 *
 * Progress: the channel is read before every sleep (rdma_dev_arm) and, on
 * a busy device, from every 64th poll at most every 10 ms; the fd a caller
 * sleeps on is an epoll fd over the CQ channel and the CM channel.
 */

#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "rdma_int.h"

#define RDMA_CM_BACKLOG 1024

/*
 * The kernel's CM gives up on a silent peer only after about a minute
 * (rdma_cm's 4.3 s response timeout, retried 15 times, or the 68 s its
 * MRA asks for). So a request or response that failed younger than this
 * was ended by the other side's departure, and the endpoint fails; an
 * older one may have been ended by a CM that gave up on a node that did
 * not progress, whose queue pair works: it is left to the watchdog.
 */
#define RDMA_CM_SURE_NS (30ull * 1000000000ull)

/* The private data of our own refusals: a rejection without it is the
 * peer's kernel ending a request nobody took (its endpoint or process
 * gone first), which is a departure, not a refusal. */
static const char rdma_cm_refusal[] = "skiff-refused";

static sk_status_t rdma_cm_addr(struct rdma_dev *d, int required)
{
	const char *cfg = sk_config_str("SKIFF_RDMA_CM_ADDR");

	if (cfg != NULL && cfg[0] != '\0') {
		if (inet_pton(AF_INET, cfg, d->cm_ip) != 1) {
			sk_log_error("SKIFF_RDMA_CM_ADDR='%s': not an IPv4 "
				     "address", cfg);
			return SK_ERR_CONFIG;
		}
		return SK_OK;
	}
	if (rdma_gid_is_ipv4(&d->gid)) {
		memcpy(d->cm_ip, d->gid.raw + 12, 4);
		return SK_OK;
	}
	if (required)
		sk_log_error("rdma: %s: the connection manager needs the "
			     "device's IPv4 address, and GID %d is not one: "
			     "set SKIFF_RDMA_CM_ADDR (IPoIB) or "
			     "SKIFF_RDMA_GID_INDEX", d->name, d->gid_index);
	return SK_ERR_UNSUPPORTED;
}


static int rdma_cm_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}


static void rdma_cm_sin(struct sockaddr_in *sin, const uint8_t ip[4],
			uint16_t port)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	memcpy(&sin->sin_addr, ip, 4);
}


static const char *rdma_cm_ip_str(const uint8_t ip[4], char *buf,
				  size_t len)
{
	return inet_ntop(AF_INET, ip, buf, (socklen_t)len) ? buf : "?";
}


/* The listener and the channel; the epoll fd over both channels. */
static sk_status_t rdma_cm_listen(struct rdma_dev *d)
{
	struct epoll_event ev = {.events = EPOLLIN};
	struct sockaddr_in sin;
	const char *owner;
	char ip[INET_ADDRSTRLEN];

	rdma_cm_ip_str(d->cm_ip, ip, sizeof(ip));
	if (rdma_cm_nonblock(d->cm_ch->fd) < 0 ||
	    rdma_create_id(d->cm_ch, &d->cm_listen, NULL, RDMA_PS_TCP)) {
		sk_log_error("rdma: %s: cannot create a listener: %s",
			     d->name, strerror(errno));
		return SK_ERR_IO;
	}
	rdma_cm_sin(&sin, d->cm_ip, 0);
	if (rdma_bind_addr(d->cm_listen, (struct sockaddr *)&sin)) {
		sk_log_error("rdma: %s: cannot listen on %s: %s", d->name, ip,
			     strerror(errno));
		return SK_ERR_IO;
	}
	owner = d->cm_listen->verbs ?
			ibv_get_device_name(d->cm_listen->verbs->device) :
			NULL;
	if (owner == NULL || strcmp(owner, d->name) != 0 ||
	    d->cm_listen->port_num != d->port) {
		sk_log_error("rdma: %s port %u: address %s belongs to %s "
			     "port %u (SKIFF_RDMA_CM_ADDR?)", d->name, d->port,
			     ip, owner ? owner : "no RDMA device",
			     d->cm_listen->port_num);
		return SK_ERR_CONFIG;
	}
	if (rdma_listen(d->cm_listen, RDMA_CM_BACKLOG)) {
		sk_log_error("rdma: %s: rdma_listen on %s: %s", d->name, ip,
			     strerror(errno));
		return SK_ERR_IO;
	}
	d->cm_port = ntohs(rdma_get_src_port(d->cm_listen));
	d->cm_look_ns = rdma_now_ns();
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0 ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->chan->fd, &ev) ||
	    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->cm_ch->fd, &ev)) {
		sk_log_error("rdma: %s: epoll: %s", d->name, strerror(errno));
		return SK_ERR_IO;
	}
	return SK_OK;
}


sk_status_t rdma_cm_open(struct rdma_dev *d)
{
	const char *mode = sk_config_str("SKIFF_RDMA_CONNECT");
	int required = mode != NULL && strcmp(mode, "cm") == 0;
	sk_status_t st;

	d->epfd = -1;
	if (mode == NULL || (strcmp(mode, "auto") != 0 &&
			     strcmp(mode, "cm") != 0 &&
			     strcmp(mode, "blob") != 0)) {
		sk_log_error("SKIFF_RDMA_CONNECT='%s': use auto, cm or blob",
			     mode ? mode : "");
		return SK_ERR_CONFIG;
	}
	if (strcmp(mode, "blob") == 0)
		return SK_OK;
	st = rdma_cm_addr(d, required);
	if (st == SK_ERR_UNSUPPORTED && !required)
		return SK_OK; /* auto: no address, the blob path */
	if (st != SK_OK)
		return st;
	d->cm_ch = rdma_create_event_channel();
	if (d->cm_ch == NULL) {
		if (!required && (errno == ENOENT || errno == ENODEV))
			return SK_OK; /* auto: no rdma_ucm, the blob path */
		sk_log_error("rdma: %s: cannot open the connection manager "
			     "(/dev/infiniband/rdma_cm; is rdma_ucm loaded?): "
			     "%s", d->name, strerror(errno));
		return SK_ERR_NODEV;
	}
	st = rdma_cm_listen(d);
	if (st != SK_OK)
		rdma_cm_close(d);
	return st;
}


void rdma_cm_close(struct rdma_dev *d)
{
	if (d->epfd >= 0)
		close(d->epfd);
	d->epfd = -1;
	if (d->cm_listen)
		rdma_destroy_id(d->cm_listen);
	d->cm_listen = NULL;
	if (d->cm_ch)
		rdma_destroy_event_channel(d->cm_ch);
	d->cm_ch = NULL;
}


/* Fail an endpoint for good: its QP to the error state, which flushes
 * what is posted and what will be. */
static void rdma_cm_fail(struct rdma_dev *d, struct rdma_ep *e, int state)
{
	e->cm_state = state;
	if (e->cm_gone)
		return;
	e->cm_gone = 1;
	rdma_qp_error(d, e);
}


/*
 * The handshake's last step (@what) failed. EINVAL: the peer ended the
 * request or connection first; within RDMA_CM_SURE_NS of @since_ns (when
 * the request could have arrived, or went out) that means it left, and
 * the endpoint fails. Otherwise the endpoint keeps its working QP, without
 * the connection manager's watch.
 */
static void rdma_cm_ended(struct rdma_dev *d, struct rdma_ep *e,
			  const char *what, uint64_t since_ns)
{
	int err = errno;

	if (err != EINVAL)
		sk_log_error("rdma: %s: endpoint %u: %s: %s", d->name, e->idx,
			     what, strerror(err));
	if (err == EINVAL && rdma_now_ns() - since_ns < RDMA_CM_SURE_NS)
		rdma_cm_fail(d, e, RDMA_CM_GONE);
	else
		e->cm_state = RDMA_CM_FAILED;
}


static struct rdma_ep *rdma_cm_find(struct rdma_dev *d, uint64_t tag)
{
	for (uint32_t i = 0; i < d->eps.n; i++) {
		struct rdma_ep *e = d->eps.eps[i] ? rdma_ep(d->eps.eps[i])
						  : NULL;

		if (e != NULL && e->tag == tag)
			return e;
	}
	return NULL;
}


static unsigned rdma_cm_min(unsigned a, unsigned b)
{
	return a < b ? a : b;
}


/* A peer's connection request on our listener: match, check, accept. */
static void rdma_cm_on_request(struct rdma_dev *d, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	struct rdma_conn_param cp = {0};
	struct rdma_ep *e = NULL;
	struct rdma_cm_req q;
	const char *why = NULL;

	if (rdma_cm_req_decode(ev->param.conn.private_data,
			       ev->param.conn.private_data_len, &q) != SK_OK)
		why = "a malformed request";
	else if ((e = rdma_cm_find(d, q.target)) == NULL)
		why = "no endpoint has its tag (destroyed since?)";
	else if (e->cm_id != NULL)
		why = "its endpoint is connected already";
	else if (q.source >= e->tag)
		why = "the requester has the higher tag: it should listen";
	else if (e->peer.tag != 0 &&
		 !rdma_cm_who_same(&(struct rdma_cm_who){q.source, q.qpn,
							  q.psn},
				   &e->peer))
		why = "it does not match the peer's packed address";
	if (why == NULL) {
		cp.qp_num = e->qp->qp_num;
		cp.responder_resources = (uint8_t)rdma_cm_min(
			ev->param.conn.initiator_depth, d->max_dest_rd_atomic);
		cp.initiator_depth = (uint8_t)rdma_cm_min(
			ev->param.conn.responder_resources, d->max_rd_atomic);
		cp.rnr_retry_count = 7;
		if (rdma_accept(id, &cp)) {
			/* The request arrived after our previous look at
			 * the channel. */
			rdma_cm_ended(d, e, "rdma_accept", d->cm_prev_ns);
			rdma_ack_cm_event(ev);
			rdma_destroy_id(id);
			return;
		}
	}
	if (why != NULL) {
		sk_log_error("rdma: %s: refusing a connection request: %s",
			     d->name, why);
		rdma_reject(id, rdma_cm_refusal, sizeof(rdma_cm_refusal));
		rdma_ack_cm_event(ev);
		rdma_destroy_id(id);
		return;
	}
	id->context = e;
	e->cm_id = id;
	e->cm_state = RDMA_CM_ACCEPTED;
	e->req = (struct rdma_cm_who){q.source, q.qpn, q.psn};
	rdma_ack_cm_event(ev);
}


static void rdma_cm_event(struct rdma_dev *d, struct rdma_cm_event *ev)
{
	struct rdma_ep *e = ev->id->context;

	if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
		rdma_cm_on_request(d, ev);
		return;
	}
	if (ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL) {
		sk_log_error("rdma: %s: the device is being removed", d->name);
		for (uint32_t i = 0; i < d->eps.n; i++)
			if (d->eps.eps[i])
				rdma_cm_fail(d, rdma_ep(d->eps.eps[i]),
					     RDMA_CM_GONE);
	}
	if (e == NULL) {
		rdma_ack_cm_event(ev);
		return;
	}
	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_RESOLVED:
		e->cm_state = RDMA_CM_ROUTE;
		if (rdma_resolve_route(ev->id, (int)d->cm_timeout_ms)) {
			e->cm_status = -errno;
			e->cm_state = RDMA_CM_FAILED;
		}
		break;
	case RDMA_CM_EVENT_ROUTE_RESOLVED:
		e->cm_state = RDMA_CM_RESOLVED;
		break;
	case RDMA_CM_EVENT_ADDR_ERROR:
	case RDMA_CM_EVENT_ROUTE_ERROR:
		e->cm_status = ev->status ? ev->status : -EHOSTUNREACH;
		e->cm_state = RDMA_CM_FAILED;
		break;
	case RDMA_CM_EVENT_CONNECT_RESPONSE:
		if (rdma_establish(ev->id))
			rdma_cm_ended(d, e, "rdma_establish", e->cm_sent_ns);
		else
			e->cm_state = RDMA_CM_ESTABLISHED;
		break;
	case RDMA_CM_EVENT_ESTABLISHED:
		e->cm_state = RDMA_CM_ESTABLISHED;
		break;
	case RDMA_CM_EVENT_REJECTED:
		if (ev->param.conn.private_data_len >= sizeof(rdma_cm_refusal) &&
		    memcmp(ev->param.conn.private_data, rdma_cm_refusal,
			   sizeof(rdma_cm_refusal)) == 0) {
			sk_log_error("rdma: %s: endpoint %u: the peer refused "
				     "the connection (its log says why)",
				     d->name, e->idx);
			rdma_cm_fail(d, e, RDMA_CM_FAILED);
		} else {
			rdma_cm_fail(d, e, RDMA_CM_GONE);
		}
		break;
	case RDMA_CM_EVENT_UNREACHABLE:
	case RDMA_CM_EVENT_CONNECT_ERROR:
		/* The peer's kernel never answered for its process, which
		 * takes requests from its progress: a node that did not
		 * progress for a minute, or a host that is down. The QP is
		 * left alone (it works in the first case; the transport or
		 * the watchdog fails it in the second). */
		sk_log_error("rdma: %s: endpoint %u: the peer never answered "
			     "the connection request (%s, status %d); its "
			     "departure will be found by the stall watchdog",
			     d->name, e->idx, rdma_event_str(ev->event),
			     ev->status);
		e->cm_state = RDMA_CM_FAILED;
		break;
	case RDMA_CM_EVENT_DISCONNECTED:
		/* Quietly: every peer's exit, orderly or not, says this; the
		 * endpoint's user hears it from its completions. */
		rdma_cm_fail(d, e, RDMA_CM_GONE);
		break;
	default:
		break;
	}
	rdma_ack_cm_event(ev);
}


void rdma_cm_progress(struct rdma_dev *d)
{
	struct rdma_cm_event *ev;

	if (d->cm_ch == NULL)
		return;
	/* Whatever is in the channel now arrived since the last look. */
	d->cm_prev_ns = d->cm_look_ns;
	d->cm_look_ns = rdma_now_ns();
	while (rdma_get_cm_event(d->cm_ch, &ev) == 0)
		rdma_cm_event(d, ev);
}


/* Wait for the active side's resolution (local steps, bounded by their
 * own timeouts), serving the channel's other events meanwhile. */
static sk_status_t rdma_cm_resolve(struct rdma_dev *d, struct rdma_ep *e,
				   const struct rdma_peer_addr *a)
{
	struct sockaddr_in src, dst;
	uint64_t end = rdma_now_ns() +
		       (2ull * d->cm_timeout_ms + 1000) * 1000000ull;
	char ip[INET_ADDRSTRLEN];

	rdma_cm_sin(&src, d->cm_ip, 0);
	rdma_cm_sin(&dst, a->ipv4, a->cm_port);
	rdma_cm_ip_str(a->ipv4, ip, sizeof(ip));
	e->cm_state = RDMA_CM_ADDR;
	if (rdma_resolve_addr(e->cm_id, (struct sockaddr *)&src,
			      (struct sockaddr *)&dst,
			      (int)d->cm_timeout_ms)) {
		sk_log_error("rdma: %s: cannot resolve %s: %s", d->name, ip,
			     strerror(errno));
		return SK_ERR_UNREACHABLE;
	}
	while (e->cm_state == RDMA_CM_ADDR || e->cm_state == RDMA_CM_ROUTE) {
		struct pollfd pfd = {.fd = d->cm_ch->fd, .events = POLLIN};

		if (rdma_now_ns() > end) {
			sk_log_error("rdma: %s: resolving %s took over %u ms",
				     d->name, ip, 2 * d->cm_timeout_ms + 1000);
			return SK_ERR_TIMEOUT;
		}
		if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
			return SK_ERR_IO;
		rdma_cm_progress(d);
	}
	if (e->cm_state != RDMA_CM_RESOLVED) {
		int err = e->cm_status < 0 ? -e->cm_status : EHOSTUNREACH;

		sk_log_error("rdma: %s: no route to %s port %u: %s", d->name,
			     ip, a->cm_port, strerror(err));
		return SK_ERR_UNREACHABLE;
	}
	return SK_OK;
}


/* The address vector of the resolved route: the GID follows from the
 * address. The route must leave by this device, port and GID. */
static sk_status_t rdma_cm_ah(struct rdma_dev *d, struct rdma_ep *e,
			      struct ibv_ah_attr *ah, enum ibv_mtu *mtu_p)
{
	const struct rdma_cm_id *id = e->cm_id;
	const struct ibv_sa_path_rec *path = id->route.path_rec;
	const char *owner = id->verbs ?
			ibv_get_device_name(id->verbs->device) : "none";

	if (strcmp(owner, d->name) != 0 || id->port_num != d->port) {
		sk_log_error("rdma: %s port %u: the route to the peer leaves "
			     "by %s port %u", d->name, d->port, owner,
			     id->port_num);
		return SK_ERR_UNREACHABLE;
	}
	if (id->route.num_paths < 1 || path == NULL) {
		sk_log_error("rdma: %s: the resolved route has no path",
			     d->name);
		return SK_ERR_UNREACHABLE;
	}
	memset(ah, 0, sizeof(*ah));
	ah->dlid = ntohs(path->dlid);
	ah->sl = path->sl;
	ah->port_num = d->port;
	if (d->link_layer == IBV_LINK_LAYER_ETHERNET || path->hop_limit > 1) {
		if (memcmp(path->sgid.raw, d->gid.raw, 16) != 0) {
			sk_log_error("rdma: %s: the route leaves by another "
				     "GID than index %d (SKIFF_RDMA_GID_INDEX)",
				     d->name, d->gid_index);
			return SK_ERR_UNREACHABLE;
		}
		ah->is_global = 1;
		ah->grh.dgid = path->dgid;
		ah->grh.sgid_index = (uint8_t)d->gid_index;
		ah->grh.flow_label = ntohl(path->flow_label);
		ah->grh.hop_limit = path->hop_limit ? path->hop_limit : 64;
		ah->grh.traffic_class = path->traffic_class;
	}
	*mtu_p = (enum ibv_mtu)(path->mtu & 0x3f);
	if (*mtu_p < IBV_MTU_256 || *mtu_p > IBV_MTU_4096)
		*mtu_p = d->mtu;
	return SK_OK;
}


static sk_status_t rdma_cm_active(struct rdma_dev *d, struct rdma_ep *e,
				  const struct rdma_peer_addr *a)
{
	struct rdma_cm_req q = {.target = a->tag, .source = e->tag,
				.qpn = e->qp->qp_num, .psn = e->psn};
	struct rdma_conn_param cp = {0};
	uint8_t pdata[56];
	size_t plen = sizeof(pdata);
	struct ibv_ah_attr ah;
	enum ibv_mtu mtu;
	sk_status_t st;

	if (rdma_create_id(d->cm_ch, &e->cm_id, e, RDMA_PS_TCP)) {
		sk_log_error("rdma: %s: rdma_create_id: %s", d->name,
			     strerror(errno));
		return SK_ERR_IO;
	}
	if ((st = rdma_cm_resolve(d, e, a)) ||
	    (st = rdma_cm_ah(d, e, &ah, &mtu)) ||
	    (st = rdma_qp_connect(d, e, &ah, a->qpn, a->psn,
				  mtu < a->mtu ? mtu : (enum ibv_mtu)a->mtu)) ||
	    (st = rdma_cm_req_encode(&q, pdata, &plen)))
		return st;
	cp.private_data = pdata;
	cp.private_data_len = (uint8_t)plen;
	cp.qp_num = e->qp->qp_num;
	cp.responder_resources = (uint8_t)d->max_dest_rd_atomic;
	cp.initiator_depth = (uint8_t)d->max_rd_atomic;
	cp.retry_count = d->retry_cnt;
	cp.rnr_retry_count = 7;
	if (rdma_connect(e->cm_id, &cp)) {
		sk_log_error("rdma: %s: rdma_connect: %s", d->name,
			     strerror(errno));
		return SK_ERR_IO;
	}
	e->cm_state = RDMA_CM_CONNECTING;
	e->cm_sent_ns = rdma_now_ns();
	return SK_OK;
}


sk_status_t rdma_cm_connect(struct rdma_dev *d, struct rdma_ep *e,
			    const struct rdma_peer_addr *a)
{
	struct ibv_ah_attr ah;
	sk_status_t st;

	if (e->peer.tag != 0) {
		sk_log_error("rdma: %s: endpoint %u is connected already",
			     d->name, e->idx);
		return SK_ERR_INVAL;
	}
	if (a->tag == e->tag) {
		sk_log_error("rdma: %s: endpoint %u: the peer's address has "
			     "this endpoint's own tag", d->name, e->idx);
		return SK_ERR_INVAL;
	}
	e->peer = (struct rdma_cm_who){a->tag, a->qpn, a->psn};
	if (e->tag < a->tag)
		return rdma_cm_active(d, e, a);

	/* Passive: the request may be in already (accepted, unchecked), or
	 * the peer even gone. */
	rdma_cm_progress(d);
	if (e->cm_gone) {
		sk_log_error("rdma: %s: endpoint %u: the peer left before it "
			     "was connected", d->name, e->idx);
		return SK_ERR_UNREACHABLE;
	}
	if (e->req.tag != 0 && !rdma_cm_who_same(&e->req, &e->peer)) {
		sk_log_error("rdma: %s: endpoint %u: the connection request it "
			     "accepted does not match the peer's packed "
			     "address", d->name, e->idx);
		rdma_cm_fail(d, e, RDMA_CM_FAILED);
		return SK_ERR_MALFORMED;
	}
	rdma_ah_from_blob(d, a, &ah);
	st = rdma_qp_connect(d, e, &ah, a->qpn, a->psn,
			     (enum ibv_mtu)a->mtu);
	/* A peer that left before we connected has been heard already. */
	if (st == SK_OK && e->cm_gone)
		rdma_qp_error(d, e);
	return st;
}


void rdma_cm_ep_destroy(struct rdma_dev *d, struct rdma_ep *e)
{
	/* A request for this endpoint still queued is answered first, so
	 * that its peer hears an orderly disconnect, not a refusal. */
	rdma_cm_progress(d);
	if (e->cm_id != NULL) {
		/* Sends the peer its DISCONNECTED (when connected). */
		rdma_destroy_id(e->cm_id);
		e->cm_id = NULL;
	}
}
