/*
 * Registrations and keys: the key table every device publishes, and the
 * check of an imported key against its entry there.
 */

#include "ucx_int.h"

/* ---- registrations and keys ---- */

sk_status_t ucx_keytab_init(struct ucx_dev *d, unsigned long n)
{
	size_t len = (n + 1) * sizeof(struct ucx_keytab_entry);
	ucp_mem_map_params_t mp = {
		.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS |
			      UCP_MEM_MAP_PARAM_FIELD_LENGTH,
		.length = len,
	};
	ucs_status_t us;

	/* Entry 0 is never used, so key id 0 is always invalid. */
	d->keytab = aligned_alloc(4096, (len + 4095) & ~(size_t)4095);
	if (d->keytab == NULL)
		return SK_ERR_NOMEM;
	memset(d->keytab, 0, len);
	d->keytab_size = (uint32_t)n + 1;
	mp.address = d->keytab;
	us = ucp_mem_map(d->ctx, &mp, &d->keytab_memh);
	if (us != UCS_OK)
		goto err_free;
	us = ucp_rkey_pack(d->ctx, d->keytab_memh, &d->keytab_rkey_buf,
			   &d->keytab_rkey_len);
	if (us != UCS_OK)
		goto err_unmap;
	return SK_OK;

err_unmap:
	ucp_mem_unmap(d->ctx, d->keytab_memh);
err_free:
	sk_log_error("ucx: cannot register the key table: %s",
		     ucs_status_string(us));
	free(d->keytab);
	return ucx_status(us);
}

/* A registration of @memh: its key-table entry and, unless it is for
 * local use only, its packed UCX key. On failure @memh is unmapped. */
static sk_status_t ucx_mr_new(struct ucx_dev *d, ucp_mem_h memh, void *addr,
			      size_t len, unsigned access, int owned,
			      struct sk_mr **mr_p)
{
	struct ucx_keytab_entry *ent;
	struct ucx_mr *m;
	ucs_status_t us = UCS_ERR_NO_MEMORY;
	uint32_t id;

	for (id = 1; id < d->keytab_size; id++)
		if (d->keytab[id].cookie == 0)
			break;
	if (id == d->keytab_size) {
		sk_log_error("ucx: %u registrations in use "
			     "(SKIFF_UCX_MAX_MRS)", d->keytab_size - 1);
		ucp_mem_unmap(d->ctx, memh);
		return SK_ERR_NOMEM;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		goto err_unmap;
	m->memh = memh;
	m->owned = owned;
	/* A registration for local use only packs no UCX key at all: its
	 * descriptor then grants nothing, whoever reads it (the key table's
	 * rights are only advisory, verbs.h). */
	if ((access & ~(unsigned)SK_ACCESS_LOCAL) != 0) {
		us = ucp_rkey_pack(d->ctx, m->memh, &m->rkey_buf,
				   &m->rkey_len);
		if (us != UCS_OK)
			goto err_unmap;
	}
	do {
		if (getrandom(&m->cookie, sizeof(m->cookie), 0) !=
		    sizeof(m->cookie))
			m->cookie = ((uint64_t)rand() << 32) ^ (uint64_t)rand();
	} while (m->cookie == 0);
	m->key_id = id;
	ent = &d->keytab[id];
	ent->addr = (uintptr_t)addr;
	ent->len = len;
	ent->access = access;
	ent->rkey_hash = sk_wire_hash32(m->rkey_buf, m->rkey_len);
	ent->cookie = m->cookie; /* last: the entry is valid from here */
	m->super = (struct sk_mr){.dev = &d->super, .addr = addr, .len = len,
				  .access = access};
	*mr_p = &m->super;
	return SK_OK;

err_unmap:
	ucp_mem_unmap(d->ctx, memh);
	sk_log_error("ucx: cannot register %zu bytes: %s", len,
		     ucs_status_string(us));
	free(m);
	return ucx_status(us);
}

/*
 * Map @len bytes with UCX and register them: the caller's at @addr, or,
 * @addr NULL, memory UCX allocates. With its shared-memory transport on
 * (posix, UCX's default), UCX's own memory is a segment that a peer on
 * this host maps when it imports the key; UCX then does that peer's puts,
 * gets and atomics on it with the peer's own CPU (its mm transport:
 * memcpy and CPU atomics), never this process's: 0.07-0.08 us for a
 * 128-byte READ against 0.95-1.16 us for registered memory, whose gets
 * UCX emulates with active messages that this process must answer
 * (verbs/README.md, "sk_mr_alloc"). UCX falls back to ordinary pages where
 * it cannot (UCX_ALLOC_PRIO).
 */
static sk_status_t ucx_mr_map(struct sk_dev *dev, void *addr, size_t len,
			      unsigned access, struct sk_mr **mr_p)
{
	struct ucx_dev *d = ucx_dev(dev);
	ucp_mem_map_params_t mp = {
		.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS |
			      UCP_MEM_MAP_PARAM_FIELD_LENGTH |
			      UCP_MEM_MAP_PARAM_FIELD_FLAGS,
		.address = addr,
		.length = len,
		.flags = addr ? 0 : UCP_MEM_MAP_ALLOCATE,
	};
	ucp_mem_attr_t ma = {.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS |
					   UCP_MEM_ATTR_FIELD_LENGTH};
	ucp_mem_h memh;
	ucs_status_t us;

	us = ucp_mem_map(d->ctx, &mp, &memh);
	if (us != UCS_OK) {
		sk_log_error("ucx: cannot %s %zu bytes: %s",
			     addr ? "register" : "allocate", len,
			     ucs_status_string(us));
		return ucx_status(us);
	}
	if (addr == NULL) {
		us = ucp_mem_query(memh, &ma);
		if (us != UCS_OK || ma.length < len) {
			ucp_mem_unmap(d->ctx, memh);
			sk_log_error("ucx: allocated memory unknown: %s",
				     ucs_status_string(us));
			return SK_ERR_NOMEM;
		}
		addr = ma.address;
	}
	return ucx_mr_new(d, memh, addr, len, access, mp.address == NULL,
			  mr_p);
}

sk_status_t ucx_mr_reg(struct sk_dev *dev, void *addr, size_t len,
		       unsigned access, struct sk_mr **mr_p)
{
	return ucx_mr_map(dev, addr, len, access, mr_p);
}

sk_status_t ucx_mr_alloc(struct sk_dev *dev, size_t len, unsigned access,
			 struct sk_mr **mr_p)
{
	return ucx_mr_map(dev, NULL, len, access, mr_p);
}

/*
 * The key-table entry goes first: keys imported from now on are refused.
 * Memory UCX allocated stays mapped until the device closes: a peer's
 * write through a key it imported earlier (a late one, from another host,
 * lands through UCX in this process) must find memory that nobody reads,
 * not an unmapped page.
 */
void ucx_mr_dereg(struct sk_mr *mr)
{
	struct ucx_mr *m = sk_container_of(mr, struct ucx_mr, super);
	struct ucx_dev *d = ucx_dev(mr->dev);

	memset(&d->keytab[m->key_id], 0, sizeof(d->keytab[0]));
	if (m->rkey_buf != NULL)
		ucp_rkey_buffer_release(m->rkey_buf);
	m->rkey_buf = NULL;
	if (m->owned) {
		m->retired = d->retired;
		d->retired = m;
		return;
	}
	ucp_mem_unmap(d->ctx, m->memh);
	free(m);
}

void ucx_mr_retired_cleanup(struct ucx_dev *d)
{
	while (d->retired) {
		struct ucx_mr *m = d->retired;

		d->retired = m->retired;
		ucp_mem_unmap(d->ctx, m->memh);
		free(m);
	}
}

sk_status_t ucx_mr_desc_encode(const struct ucx_mr_desc *m, void *buf,
			       size_t *len_p)
{
	struct sk_wire_writer w;

	sk_wire_begin(&w, buf, *len_p);
	sk_wire_put_u64(&w, m->addr);
	sk_wire_put_u64(&w, m->len);
	sk_wire_put_u32(&w, m->access);
	sk_wire_put_u32(&w, m->key_id);
	sk_wire_put_u64(&w, m->cookie);
	sk_wire_put_u16(&w, m->rkey_len);
	sk_wire_put_bytes(&w, m->rkey, m->rkey_len);
	return sk_wire_finish(&w, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_UCX, len_p);
}

sk_status_t ucx_mr_desc_decode(const void *buf, size_t len,
			       struct ucx_mr_desc *m)
{
	static const char what[] = "ucx memory descriptor";
	struct sk_wire_reader r;
	sk_status_t st;

	st = sk_wire_open(buf, len, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_UCX, what,
			  &r);
	if (st != SK_OK)
		return st;
	m->addr = sk_wire_get_u64(&r);
	m->len = sk_wire_get_u64(&r);
	m->access = sk_wire_get_u32(&r);
	m->key_id = sk_wire_get_u32(&r);
	m->cookie = sk_wire_get_u64(&r);
	m->rkey_len = sk_wire_get_u16(&r);
	m->rkey = sk_wire_get_bytes(&r, m->rkey_len);
	if ((st = sk_wire_end(&r, what)) ||
	    (st = sk_wire_check_range(m->addr, m->len, m->access, what)))
		return st;
	return SK_OK;
}

sk_status_t ucx_mr_pack(const struct sk_mr *mr, void *buf,
			size_t *len_p)
{
	const struct ucx_mr *m = sk_container_of(mr, const struct ucx_mr,
						 super);
	struct ucx_mr_desc desc = {.addr = (uintptr_t)mr->addr,
				   .len = mr->len, .access = mr->access,
				   .key_id = m->key_id, .cookie = m->cookie,
				   .rkey_len = (uint16_t)m->rkey_len,
				   .rkey = m->rkey_buf};

	return ucx_mr_desc_encode(&desc, buf, len_p);
}

/* A key-table read finished. Its waiter may have given up (orphan): then
 * the read is freed here, with the buffer UCX just wrote. */
static void ucx_fetch_cb(void *request, ucs_status_t status, void *user_data)
{
	struct ucx_fetch *f = user_data;

	ucp_request_free(request);
	if (f->orphan) {
		ucx_fetch_unlink(f);
		free(f);
		return;
	}
	f->status = status;
	f->done = 1;
}

/*
 * Read entry @id of the peer's key table: one get, waited for. The get
 * lands in a heap buffer that belongs to the request, not in the caller's
 * frame: after a timeout UCX still owns it (ucp_request_cancel does
 * nothing for RMA) and may complete it whenever the peer answers. It then
 * stays on the device's list until its callback frees it, or until the
 * device closes.
 */
static sk_status_t ucx_keytab_fetch(struct ucx_dev *d, struct ucx_ep *e,
				    uint32_t id, struct ucx_keytab_entry *ent)
{
	int64_t deadline = ucx_now_ms() + (int64_t)d->key_check_ms;
	ucp_request_param_t p = {
		.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK |
				UCP_OP_ATTR_FIELD_USER_DATA,
		.cb.send = ucx_fetch_cb,
	};
	struct ucx_fetch *f = calloc(1, sizeof(*f));
	ucs_status_ptr_t req;
	sk_status_t st;

	if (f == NULL)
		return SK_ERR_NOMEM;
	p.user_data = f;
	d->ucp_armed = 0; /* ucx_dev_arm */
	req = ucp_get_nbx(e->uep, &f->ent, sizeof(f->ent),
			  e->keytab_addr + (uint64_t)id * sizeof(f->ent),
			  e->keytab_rkey, &p);
	if (req == NULL || UCS_PTR_IS_ERR(req)) {
		st = req ? ucx_status(UCS_PTR_STATUS(req)) : SK_OK;
		*ent = f->ent;
		free(f);
		return st;
	}
	f->next = d->fetches;
	if (f->next)
		f->next->pprev = &f->next;
	f->pprev = &d->fetches;
	d->fetches = f;
	while (!f->done) {
		if (ucx_now_ms() > deadline) {
			f->orphan = 1; /* ucx_fetch_cb or ucx_dev_close frees */
			sk_log_error("ucx: key check timed out after %lu ms "
				     "(SKIFF_UCX_KEY_CHECK_MS)",
				     d->key_check_ms);
			return SK_ERR_TIMEOUT;
		}
		ucx_progress(d);
	}
	st = ucx_status(f->status);
	*ent = f->ent;
	ucx_fetch_unlink(f);
	free(f);
	return st;
}

/* Import a descriptor; @ask: check its key against the target's table
 * (one round trip), else take it as the target's own word. */
static sk_status_t ucx_rkey_import(struct sk_ep *ep, const void *buf,
				   size_t len, int ask,
				   struct sk_rkey **rkey_p)
{
	struct ucx_ep *e = ucx_ep(ep);
	struct ucx_dev *d = ucx_dev(ep->dev);
	struct ucx_keytab_entry ent;
	struct ucx_mr_desc m;
	struct ucx_rkey *k;
	sk_status_t st;

	st = ucx_mr_desc_decode(buf, len, &m);
	if (st != SK_OK)
		return st;
	if (e->uep == NULL)
		return SK_ERR_NOT_CONNECTED; /* closed by the watchdog */
	k = calloc(1, sizeof(*k));
	if (k == NULL)
		return SK_ERR_NOMEM;
	k->super = (struct sk_rkey){.ep = ep, .dev = ep->dev, .addr = m.addr, .len = m.len,
				    .access = m.access};
	/* Ask the target whether it issued this key. */
	memset(&ent, 0, sizeof(ent));
	if (ask && m.rkey_len != 0 && m.key_id != 0 &&
	    m.key_id < e->keytab_size &&
	    m.cookie != 0) {
		st = ucx_keytab_fetch(d, e, m.key_id, &ent);
		if (st != SK_OK) {
			free(k);
			return st;
		}
	}
	if (m.rkey_len == 0) {
		/* a local-only registration: no key to import */
	} else if (!ask ||
	    (ent.cookie == m.cookie && ent.addr == m.addr &&
	     ent.len == m.len && ent.access == m.access &&
	     ent.rkey_hash == sk_wire_hash32(m.rkey, m.rkey_len))) {
		ucs_status_t us = ucp_ep_rkey_unpack(e->uep, m.rkey,
						     &k->urkey);
		void *p;
		if (us == UCS_ERR_SHMEM_SEGMENT) {
			/* The key is sound but its segment cannot be
			 * mapped: the target is gone, or this process may
			 * no longer open it (sealed mode). */
			sk_log_error("ucx memory descriptor: cannot map the "
				     "peer's shared memory: %s",
				     ucs_status_string(us));
			free(k);
			return SK_ERR_UNREACHABLE;
		}
		if (us != UCS_OK) {
			sk_log_error("ucx memory descriptor: UCX refused the "
				     "packed key: %s", ucs_status_string(us));
			free(k);
			return SK_ERR_MALFORMED;
		}
		/* A peer's shared segment on this host (sk_mr_alloc):
		 * mapped here, for sk_rkey_ptr. */
		if (m.len && ucp_rkey_ptr(k->urkey, m.addr, &p) == UCS_OK)
			k->super.direct = p;
	}
	/* else: urkey stays NULL and every operation on it fails with
	 * SK_ERR_REMOTE_ACCESS, as a NIC answers a bad key. */
	*rkey_p = &k->super;
	return SK_OK;
}

sk_status_t ucx_rkey_unpack(struct sk_ep *ep, const void *buf,
			    size_t len, struct sk_rkey **rkey_p)
{
	return ucx_rkey_import(ep, buf, len, 1, rkey_p);
}

/* The target's table would be asked about a key the target itself sent:
 * its answer proves nothing against it (verbs.h), and waiting for it
 * is what the caller cannot afford. */
sk_status_t ucx_rkey_unpack_nowait(struct sk_ep *ep, const void *buf,
				   size_t len, struct sk_rkey **rkey_p)
{
	return ucx_rkey_import(ep, buf, len, 0, rkey_p);
}

int ucx_rkey_honoured(const struct sk_rkey *rkey)
{
	return sk_container_of(rkey, const struct ucx_rkey, super)->urkey !=
	       NULL;
}

void ucx_rkey_destroy(struct sk_rkey *rkey)
{
	struct ucx_rkey *k = sk_container_of(rkey, struct ucx_rkey, super);

	if (k->urkey)
		ucp_rkey_destroy(k->urkey);
	free(k);
}
