/*
 * The wire codecs of rdma.h: a peer's packed endpoint address and memory
 * descriptor, encoded and checked without a device (the fuzz target
 * tests/fuzz/fuzz_rdma_blobs.c drives these same functions).
 */

#include "rdma_int.h"

sk_status_t rdma_mr_desc_encode(const struct rdma_mr_desc *m, void *buf,
				size_t *len_p)
{
	struct sk_wire_writer w;

	sk_wire_begin(&w, buf, *len_p);
	sk_wire_put_u64(&w, m->addr);
	sk_wire_put_u64(&w, m->len);
	sk_wire_put_u32(&w, m->rkey);
	sk_wire_put_u32(&w, m->access);
	return sk_wire_finish(&w, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_RDMA, len_p);
}


sk_status_t rdma_mr_desc_decode(const void *buf, size_t len,
				struct rdma_mr_desc *m)
{
	static const char what[] = "rdma memory descriptor";
	struct sk_wire_reader r;
	sk_status_t st;

	st = sk_wire_open(buf, len, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_RDMA, what,
			  &r);
	if (st != SK_OK)
		return st;
	m->addr = sk_wire_get_u64(&r);
	m->len = sk_wire_get_u64(&r);
	m->rkey = sk_wire_get_u32(&r);
	m->access = sk_wire_get_u32(&r);
	if ((st = sk_wire_end(&r, what)) ||
	    (st = sk_wire_check_range(m->addr, m->len, m->access, what)))
		return st;
	return SK_OK;
}


sk_status_t rdma_ep_addr_encode(const struct rdma_peer_addr *a, void *buf,
				size_t *len_p)
{
	struct sk_wire_writer w;

	sk_wire_begin(&w, buf, *len_p);
	sk_wire_put_u32(&w, a->qpn);
	sk_wire_put_u32(&w, a->psn);
	sk_wire_put_u16(&w, a->lid);
	sk_wire_put_u8(&w, a->link_layer);
	sk_wire_put_u8(&w, a->mtu);
	sk_wire_put_bytes(&w, a->gid, sizeof(a->gid));
	return sk_wire_finish(&w, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_RDMA, len_p);
}


sk_status_t rdma_ep_addr_decode(const void *buf, size_t len,
				uint8_t link_layer, struct rdma_peer_addr *a)
{
	static const char what[] = "rdma endpoint address";
	struct sk_wire_reader r;
	const void *gid;
	sk_status_t st;

	st = sk_wire_open(buf, len, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_RDMA, what,
			  &r);
	if (st != SK_OK)
		return st;
	a->qpn = sk_wire_get_u32(&r);
	a->psn = sk_wire_get_u32(&r);
	a->lid = sk_wire_get_u16(&r);
	a->link_layer = sk_wire_get_u8(&r);
	a->mtu = sk_wire_get_u8(&r);
	gid = sk_wire_get_bytes(&r, sizeof(a->gid));
	st = sk_wire_end(&r, what);
	if (st != SK_OK)
		return st;
	memcpy(a->gid, gid, sizeof(a->gid));
	if (a->qpn > 0xffffff || a->psn > 0xffffff || a->mtu < IBV_MTU_256 ||
	    a->mtu > IBV_MTU_4096) {
		sk_log_error("%s: field out of range (qpn %u psn %u mtu %u)",
			     what, a->qpn, a->psn, a->mtu);
		return SK_ERR_MALFORMED;
	}
	if (a->link_layer != link_layer) {
		sk_log_error("%s: peer is on %s, this device on %s", what,
			     rdma_link_layer_str(a->link_layer),
			     rdma_link_layer_str(link_layer));
		return SK_ERR_MALFORMED;
	}
	return SK_OK;
}
