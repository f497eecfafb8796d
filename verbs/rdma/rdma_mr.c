/*
 * Registrations and remote keys: ibv_reg_mr with the rights asked for, and
 * the packed descriptor a peer imports.
 */

#include <sys/mman.h>

#include "rdma_int.h"

static int rdma_ibv_access(unsigned access)
{
	int a = IBV_ACCESS_LOCAL_WRITE;

	if (access & SK_ACCESS_REMOTE_READ)
		a |= IBV_ACCESS_REMOTE_READ;
	if (access & SK_ACCESS_REMOTE_WRITE)
		a |= IBV_ACCESS_REMOTE_WRITE;
	if (access & SK_ACCESS_REMOTE_ATOMIC)
		a |= IBV_ACCESS_REMOTE_ATOMIC;
	return a;
}


sk_status_t rdma_mr_reg(struct sk_dev *dev, void *addr, size_t len,
			unsigned access, struct sk_mr **mr_p)
{
	struct rdma_dev *d = rdma_dev(dev);
	struct rdma_mr *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return SK_ERR_NOMEM;
	m->mr = ibv_reg_mr(d->pd, addr, len, rdma_ibv_access(access));
	if (m->mr == NULL) {
		int err = errno;

		sk_log_error("rdma: %s: cannot register %zu bytes: %s%s",
			     d->name, len, strerror(err),
			     err == ENOMEM ? " (raise 'ulimit -l')" : "");
		free(m);
		return err == ENOMEM ? SK_ERR_NOMEM : sk_status_from_errno(err);
	}
	m->super = (struct sk_mr){.dev = dev, .addr = addr, .len = len,
				  .access = access};
	*mr_p = &m->super;
	return SK_OK;
}


/* The NIC reads and writes any registered memory itself: nothing to
 * choose, ordinary pages. Mapped until the device closes (verbs.h). */
sk_status_t rdma_mr_alloc(struct sk_dev *dev, size_t len, unsigned access,
			  struct sk_mr **mr_p)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sk_status_t st;

	if (p == MAP_FAILED)
		return SK_ERR_NOMEM;
	st = rdma_mr_reg(dev, p, len, access, mr_p);
	if (st != SK_OK) {
		munmap(p, len);
		return st;
	}
	sk_container_of(*mr_p, struct rdma_mr, super)->owned = 1;
	return SK_OK;
}


void rdma_mr_dereg(struct sk_mr *mr)
{
	struct rdma_mr *m = sk_container_of(mr, struct rdma_mr, super);

	if (ibv_dereg_mr(m->mr))
		sk_log_error("rdma: deregistration failed: %s",
			     strerror(errno));
	if (m->owned) {
		struct rdma_dev *d = rdma_dev(mr->dev);

		m->retired = d->retired;
		d->retired = m;
		return;
	}
	free(m);
}

void rdma_mr_retired_cleanup(struct rdma_dev *d)
{
	while (d->retired) {
		struct rdma_mr *m = d->retired;

		d->retired = m->retired;
		munmap(m->super.addr, m->super.len);
		free(m);
	}
}


sk_status_t rdma_mr_pack(const struct sk_mr *mr, void *buf,
			 size_t *len_p)
{
	const struct rdma_mr *m = sk_container_of(mr, const struct rdma_mr,
						  super);
	struct rdma_mr_desc desc = {.addr = (uintptr_t)mr->addr,
				    .len = mr->len, .rkey = m->mr->rkey,
				    .access = mr->access};

	return rdma_mr_desc_encode(&desc, buf, len_p);
}


sk_status_t rdma_rkey_unpack(struct sk_ep *ep, const void *buf,
			     size_t len, struct sk_rkey **rkey_p)
{
	struct rdma_mr_desc desc;
	struct rdma_rkey *k;
	sk_status_t st;

	st = rdma_mr_desc_decode(buf, len, &desc);
	if (st != SK_OK)
		return st;
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return SK_ERR_NOMEM;
	k->super = (struct sk_rkey){.ep = ep, .dev = ep->dev, .addr = desc.addr,
				    .len = desc.len, .access = desc.access};
	k->rkey = desc.rkey;
	*rkey_p = &k->super;
	return SK_OK;
}


void rdma_rkey_destroy(struct sk_rkey *rkey)
{
	free(sk_container_of(rkey, struct rdma_rkey, super));
}
