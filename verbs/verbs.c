/*
 * The generic half of the driver: provider selection, argument checks that
 * do not depend on the provider, and dispatch through the provider's ops
 * table. Nothing here touches a NIC; see rdma/ and ucx/ for that.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <skiff/config.h>
#include <skiff/fault.h>
#include <skiff/verbs.h>

#include "provider.h"

static const struct sk_provider_ops *const sk_providers[] = {
	&sk_rdma_provider_ops,
	&sk_ucx_provider_ops,
};

static const struct sk_provider_ops *sk_provider_find(const char *name)
{
	for (size_t i = 0; i < SK_ARRAY_SIZE(sk_providers); i++)
		if (strcmp(sk_providers[i]->name, name) == 0)
			return sk_providers[i];
	return NULL;
}

/* "auto": rdma when some RDMA device has an active port, else ucx. */
const struct sk_provider_ops *sk_provider_auto(void)
{
	struct sk_dev_info info[16];
	int n = sk_rdma_provider_ops.list(info, (int)SK_ARRAY_SIZE(info));

	for (int i = 0; i < n && i < (int)SK_ARRAY_SIZE(info); i++)
		if (info[i].usable)
			return &sk_rdma_provider_ops;
	return &sk_ucx_provider_ops;
}

sk_status_t sk_dev_open(const char *provider, const char *device,
			struct sk_dev **dev_p)
{
	const struct sk_provider_ops *ops;

	if (dev_p == NULL)
		return SK_ERR_INVAL;
	if (provider == NULL)
		provider = sk_config_str("SKIFF_PROVIDER");
	if (device == NULL || device[0] == '\0') {
		device = sk_config_str("SKIFF_DEVICE");
		if (device[0] == '\0')
			device = NULL;
	}
	if (strcmp(provider, "auto") == 0) {
		ops = sk_provider_auto();
	} else {
		ops = sk_provider_find(provider);
		if (ops == NULL) {
			sk_log_error("unknown provider '%s' (SKIFF_PROVIDER: "
				     "rdma, ucx or auto)", provider);
			return SK_ERR_NODEV;
		}
	}
	if (SK_FAULT("dev_open"))
		return SK_ERR_NOMEM;
	return ops->dev_open(device, dev_p);
}

void sk_dev_close(struct sk_dev *dev)
{
	if (dev)
		dev->ops->dev_close(dev);
}

void sk_dev_query(const struct sk_dev *dev, struct sk_dev_attr *attr)
{
	*attr = dev->attr;
}

int sk_dev_poll(struct sk_dev *dev, struct sk_wc *wc, int max)
{
	if (max <= 0)
		return 0;
	return dev->ops->dev_poll(dev, wc, max);
}

int sk_dev_fd(const struct sk_dev *dev)
{
	return dev->ops->dev_fd(dev);
}

sk_status_t sk_dev_arm(struct sk_dev *dev)
{
	return dev->ops->dev_arm(dev, 0);
}

sk_status_t sk_dev_rearm(struct sk_dev *dev)
{
	return dev->ops->dev_arm(dev, 1);
}

static int64_t sk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sk_dev_sleep_bound(const struct sk_dev *dev)
{
	return dev->ops->dev_sleep_bound ? dev->ops->dev_sleep_bound(dev) : -1;
}

void sk_dev_drain(struct sk_dev *dev)
{
	if (dev->ops->dev_drain)
		dev->ops->dev_drain(dev);
}

int sk_dev_wait(struct sk_dev *dev, struct sk_wc *wc, int max, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? 0 : sk_now_ms() + timeout_ms;
	int fd = sk_dev_fd(dev);

	for (;;) {
		int n = sk_dev_poll(dev, wc, max);
		int left = -1;
		sk_status_t st;

		if (n != 0)
			return n;
		if (timeout_ms >= 0) {
			left = (int)(deadline - sk_now_ms());
			if (left <= 0)
				return 0;
		}
		if (fd < 0)
			continue; /* no channel: keep polling */
		st = sk_dev_arm(dev);
		if (st == SK_ERR_BUSY)
			continue;
		if (st != SK_OK)
			return st;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int bound = sk_dev_sleep_bound(dev);

		if (bound >= 0 && (left < 0 || bound < left))
			left = bound;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return sk_status_from_errno(errno);
	}
}

sk_status_t sk_mr_reg(struct sk_dev *dev, void *addr, size_t len,
		      unsigned access, struct sk_mr **mr_p)
{
	if (dev == NULL || addr == NULL || len == 0 || mr_p == NULL ||
	    (access & ~SK_ACCESS_ALL) || access == 0)
		return SK_ERR_INVAL;
	if (SK_FAULT("mr_reg"))
		return SK_ERR_NOMEM;
	return dev->ops->mr_reg(dev, addr, len, access | SK_ACCESS_LOCAL,
				mr_p);
}

sk_status_t sk_mr_alloc(struct sk_dev *dev, size_t len, unsigned access,
			struct sk_mr **mr_p)
{
	size_t sz = (len + 4095) & ~(size_t)4095;

	if (dev == NULL || len == 0 || sz < len || mr_p == NULL ||
	    (access & ~SK_ACCESS_ALL) || access == 0)
		return SK_ERR_INVAL;
	if (SK_FAULT("mr_alloc"))
		return SK_ERR_NOMEM;
	return dev->ops->mr_alloc(dev, sz, access | SK_ACCESS_LOCAL, mr_p);
}

void sk_mr_dereg(struct sk_mr *mr)
{
	if (mr)
		mr->dev->ops->mr_dereg(mr);
}

void *sk_mr_addr(const struct sk_mr *mr)
{
	return mr->addr;
}

size_t sk_mr_len(const struct sk_mr *mr)
{
	return mr->len;
}

sk_status_t sk_mr_pack(const struct sk_mr *mr, void *buf, size_t *len_p)
{
	if (mr == NULL || buf == NULL || len_p == NULL)
		return SK_ERR_INVAL;
	if (SK_FAULT("mr_pack"))
		return SK_ERR_NOMEM;
	return mr->dev->ops->mr_pack(mr, buf, len_p);
}

sk_status_t sk_rkey_unpack(struct sk_ep *ep, const void *buf, size_t len,
			   struct sk_rkey **rkey_p)
{
	if (ep == NULL || rkey_p == NULL)
		return SK_ERR_INVAL;
	if (!ep->connected)
		return SK_ERR_NOT_CONNECTED;
	if (SK_FAULT("rkey_unpack"))
		return SK_ERR_TIMEOUT; /* ucx: the key check's round trip */
	return ep->dev->ops->rkey_unpack(ep, buf, len, rkey_p);
}

sk_status_t sk_rkey_unpack_nowait(struct sk_ep *ep, const void *buf,
				  size_t len, struct sk_rkey **rkey_p)
{
	if (ep == NULL || rkey_p == NULL)
		return SK_ERR_INVAL;
	if (!ep->connected)
		return SK_ERR_NOT_CONNECTED;
	if (ep->dev->ops->rkey_unpack_nowait == NULL)
		return ep->dev->ops->rkey_unpack(ep, buf, len, rkey_p);
	return ep->dev->ops->rkey_unpack_nowait(ep, buf, len, rkey_p);
}

void sk_rkey_destroy(struct sk_rkey *rkey)
{
	if (rkey)
		rkey->dev->ops->rkey_destroy(rkey);
}

uint64_t sk_rkey_addr(const struct sk_rkey *rkey)
{
	return rkey->addr;
}

uint64_t sk_rkey_len(const struct sk_rkey *rkey)
{
	return rkey->len;
}

unsigned sk_rkey_access(const struct sk_rkey *rkey)
{
	return rkey->access;
}

static uint8_t *sk_rkey_map(const struct sk_rkey *rkey, uint64_t raddr,
			    unsigned access)
{
	if (rkey == NULL || rkey->direct == NULL ||
	    (rkey->access & access) != access || raddr < rkey->addr ||
	    raddr - rkey->addr >= rkey->len)
		return NULL;
	return rkey->direct + (raddr - rkey->addr);
}

const void *sk_rkey_ptr(const struct sk_rkey *rkey, uint64_t raddr)
{
	return sk_rkey_map(rkey, raddr, SK_ACCESS_REMOTE_READ);
}

void *sk_rkey_ptr_rw(const struct sk_rkey *rkey, uint64_t raddr)
{
	return sk_rkey_map(rkey, raddr,
			   SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE);
}

sk_status_t sk_ep_create_attr(struct sk_dev *dev,
			      const struct sk_ep_attr *attr,
			      struct sk_ep **ep_p)
{
	struct sk_dev_attr da;

	if (dev == NULL || ep_p == NULL)
		return SK_ERR_INVAL;
	sk_dev_query(dev, &da);
	if (SK_FAULT("ep_create"))
		return SK_ERR_NOMEM;
	return dev->ops->ep_create(
		dev, sk_ep_depth(attr ? attr->sq_depth : 0, da.sq_depth),
		sk_ep_depth(attr ? attr->rq_depth : 0, da.rq_depth), ep_p);
}

sk_status_t sk_ep_create(struct sk_dev *dev, struct sk_ep **ep_p)
{
	return sk_ep_create_attr(dev, NULL, ep_p);
}

sk_status_t sk_ep_addr_pack(const struct sk_ep *ep, void *buf, size_t *len_p)
{
	if (ep == NULL || buf == NULL || len_p == NULL)
		return SK_ERR_INVAL;
	if (SK_FAULT("ep_addr_pack"))
		return SK_ERR_NOMEM;
	return ep->dev->ops->ep_addr_pack(ep, buf, len_p);
}

sk_status_t sk_ep_connect(struct sk_ep *ep, const void *buf, size_t len)
{
	sk_status_t st;

	if (ep == NULL)
		return SK_ERR_INVAL;
	if (ep->connected)
		return SK_ERR_INVAL;
	if (SK_FAULT("ep_connect"))
		return SK_ERR_UNREACHABLE;
	st = ep->dev->ops->ep_connect(ep, buf, len);
	if (st == SK_OK)
		ep->connected = 1;
	return st;
}

void sk_ep_destroy(struct sk_ep *ep)
{
	if (ep)
		ep->dev->ops->ep_destroy(ep);
}

void sk_ep_set_user(struct sk_ep *ep, void *user)
{
	ep->user = user;
}

void *sk_ep_user(const struct sk_ep *ep)
{
	return ep->user;
}

static sk_status_t sk_post(struct sk_ep *ep, const struct sk_wr *op)
{
	if (ep == NULL)
		return SK_ERR_INVAL;
	if (!ep->connected)
		return SK_ERR_NOT_CONNECTED;
	if (op->len > ep->dev->attr.max_msg)
		return SK_ERR_INVAL;
	if (op->len && op->laddr == NULL)
		return SK_ERR_INVAL;
	if (op->mr == NULL && op->len > ep->dev->attr.max_inline)
		return SK_ERR_INVAL;
	/* As when the provider found the endpoint closed (its watchdog,
	 * keepalive or a peer that went away). */
	if (SK_FAULT(sk_opcode_str(op->opcode)))
		return SK_ERR_NOT_CONNECTED;
	return ep->dev->ops->post(ep, op);
}

sk_status_t sk_post_write(struct sk_ep *ep, const struct sk_mr *mr,
			  const void *laddr, size_t len,
			  const struct sk_rkey *rkey, uint64_t raddr,
			  unsigned flags, void *ctx)
{
	struct sk_wr op = {.opcode = SK_OP_WRITE, .flags = flags, .ctx = ctx,
			   .mr = mr, .laddr = (void *)laddr, .len = len,
			   .rkey = rkey, .raddr = raddr};

	if (rkey == NULL)
		return SK_ERR_INVAL;
	return sk_post(ep, &op);
}

sk_status_t sk_post_write_imm(struct sk_ep *ep, const struct sk_mr *mr,
			      const void *laddr, size_t len,
			      const struct sk_rkey *rkey, uint64_t raddr,
			      uint32_t imm, unsigned flags, void *ctx)
{
	struct sk_wr op = {.opcode = SK_OP_WRITE_IMM, .flags = flags,
			   .ctx = ctx, .mr = mr, .laddr = (void *)laddr,
			   .len = len, .rkey = rkey, .raddr = raddr,
			   .imm = imm};

	if (rkey == NULL)
		return SK_ERR_INVAL;
	return sk_post(ep, &op);
}

sk_status_t sk_post_read(struct sk_ep *ep, const struct sk_mr *mr,
			 void *laddr, size_t len, const struct sk_rkey *rkey,
			 uint64_t raddr, unsigned flags, void *ctx)
{
	struct sk_wr op = {.opcode = SK_OP_READ, .flags = flags, .ctx = ctx,
			   .mr = mr, .laddr = laddr, .len = len, .rkey = rkey,
			   .raddr = raddr};

	if (rkey == NULL || (mr == NULL && len))
		return SK_ERR_INVAL;
	return sk_post(ep, &op);
}

static sk_status_t sk_post_atomic(struct sk_ep *ep, struct sk_wr *op)
{
	if (op->mr == NULL || op->rkey == NULL || op->laddr == NULL ||
	    ((uintptr_t)op->laddr & 7) || (op->raddr & 7))
		return SK_ERR_INVAL;
	return sk_post(ep, op);
}

sk_status_t sk_post_cas(struct sk_ep *ep, const struct sk_mr *mr,
			uint64_t *result, const struct sk_rkey *rkey,
			uint64_t raddr, uint64_t compare, uint64_t swap,
			unsigned flags, void *ctx)
{
	struct sk_wr op = {.opcode = SK_OP_CAS, .flags = flags, .ctx = ctx,
			   .mr = mr, .laddr = result, .len = 8, .rkey = rkey,
			   .raddr = raddr, .compare_add = compare,
			   .swap = swap};

	return sk_post_atomic(ep, &op);
}

sk_status_t sk_post_fadd(struct sk_ep *ep, const struct sk_mr *mr,
			 uint64_t *result, const struct sk_rkey *rkey,
			 uint64_t raddr, uint64_t add, unsigned flags,
			 void *ctx)
{
	struct sk_wr op = {.opcode = SK_OP_FADD, .flags = flags, .ctx = ctx,
			   .mr = mr, .laddr = result, .len = 8, .rkey = rkey,
			   .raddr = raddr, .compare_add = add};

	return sk_post_atomic(ep, &op);
}

sk_status_t sk_post_send(struct sk_ep *ep, const struct sk_mr *mr,
			 const void *laddr, size_t len, unsigned flags,
			 void *ctx)
{
	struct sk_wr op = {.opcode = SK_OP_SEND, .flags = flags, .ctx = ctx,
			   .mr = mr, .laddr = (void *)laddr, .len = len};

	return sk_post(ep, &op);
}

sk_status_t sk_post_recv(struct sk_ep *ep, const struct sk_mr *mr,
			 void *laddr, size_t len, void *ctx)
{
	if (ep == NULL || mr == NULL || (len && laddr == NULL))
		return SK_ERR_INVAL;
	if (!ep->connected)
		return SK_ERR_NOT_CONNECTED;
	if (SK_FAULT("recv"))
		return SK_ERR_NOT_CONNECTED;
	return ep->dev->ops->post_recv(ep, mr, laddr, len, ctx);
}

sk_status_t sk_ep_set_inplace(struct sk_ep *ep, int on)
{
	if (ep == NULL)
		return SK_ERR_INVAL;
	if (ep->dev->ops->ep_set_inplace)
		ep->dev->ops->ep_set_inplace(ep, on != 0);
	return SK_OK;
}

void sk_ep_release(struct sk_ep *ep, void *data)
{
	if (ep && data && ep->dev->ops->ep_release)
		ep->dev->ops->ep_release(ep, data);
}

sk_status_t sk_ep_flush(struct sk_ep *ep, void *ctx)
{
	struct sk_wr op = {.opcode = SK_OP_FLUSH, .ctx = ctx};

	return sk_post(ep, &op);
}

sk_status_t sk_ep_cancel(struct sk_ep *ep)
{
	return ep->dev->ops->ep_cancel(ep);
}

/* For skinfo: the providers, in the order "auto" considers them. */
size_t sk_provider_count(void)
{
	return SK_ARRAY_SIZE(sk_providers);
}

const struct sk_provider_ops *sk_provider_get(size_t i)
{
	return i < SK_ARRAY_SIZE(sk_providers) ? sk_providers[i] : NULL;
}
