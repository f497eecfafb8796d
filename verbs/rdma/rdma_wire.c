/*
 * The wire codecs of rdma.h: a peer's packed endpoint address and memory
 * descriptor, encoded and checked without a device (the fuzz target
 * tests/fuzz/fuzz_rdma_blobs.c drives these same functions).
 */

#include <skiff/le.h>

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
	sk_wire_put_bytes(&w, a->ipv4, sizeof(a->ipv4));
	sk_wire_put_u16(&w, a->cm_port);
	sk_wire_put_u64(&w, a->tag);
	return sk_wire_finish(&w, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_RDMA, len_p);
}


sk_status_t rdma_ep_addr_decode(const void *buf, size_t len,
				uint8_t link_layer, struct rdma_peer_addr *a)
{
	static const char what[] = "rdma endpoint address";
	struct sk_wire_reader r;
	const void *gid, *ip;
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
	ip = sk_wire_get_bytes(&r, sizeof(a->ipv4));
	a->cm_port = sk_wire_get_u16(&r);
	a->tag = sk_wire_get_u64(&r);
	st = sk_wire_end(&r, what);
	if (st != SK_OK)
		return st;
	memcpy(a->gid, gid, sizeof(a->gid));
	memcpy(a->ipv4, ip, sizeof(a->ipv4));
	if (a->cm_port != 0 && (a->tag == 0 || sk_le32_get(a->ipv4) == 0)) {
		sk_log_error("%s: a connection-manager port without an "
			     "address or tag", what);
		return SK_ERR_MALFORMED;
	}
	if (a->cm_port == 0 && (a->tag != 0 || sk_le32_get(a->ipv4) != 0)) {
		sk_log_error("%s: an address or tag without a "
			     "connection-manager port", what);
		return SK_ERR_MALFORMED;
	}
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


sk_status_t rdma_cm_req_encode(const struct rdma_cm_req *q, void *buf,
			       size_t *len_p)
{
	struct sk_wire_writer w;

	sk_wire_begin(&w, buf, *len_p);
	sk_wire_put_u64(&w, q->target);
	sk_wire_put_u64(&w, q->source);
	sk_wire_put_u32(&w, q->qpn);
	sk_wire_put_u32(&w, q->psn);
	return sk_wire_finish(&w, SK_WIRE_MAGIC_CM, SK_WIRE_PROV_RDMA, len_p);
}


sk_status_t rdma_cm_req_decode(const void *buf, size_t len,
			       struct rdma_cm_req *q)
{
	static const char what[] = "rdma connection request";
	const uint8_t *p = buf;
	struct sk_wire_reader r;
	size_t whole;
	sk_status_t st;

	/* The kernel pads the private data to its fixed size: the envelope
	 * says how much is ours, and the rest must be zeros. */
	if (buf != NULL && len >= SK_WIRE_HDR_LEN) {
		whole = SK_WIRE_HDR_LEN + sk_le16_get(p + 6) +
			SK_WIRE_CHECK_LEN;
		for (size_t i = whole; i < len; i++) {
			if (p[i] != 0) {
				sk_log_error("%s: %zu bytes after its %zu",
					     what, len - whole, whole);
				return SK_ERR_MALFORMED;
			}
		}
		if (whole < len)
			len = whole;
	}
	st = sk_wire_open(buf, len, SK_WIRE_MAGIC_CM, SK_WIRE_PROV_RDMA, what,
			  &r);
	if (st != SK_OK)
		return st;
	q->target = sk_wire_get_u64(&r);
	q->source = sk_wire_get_u64(&r);
	q->qpn = sk_wire_get_u32(&r);
	q->psn = sk_wire_get_u32(&r);
	if ((st = sk_wire_end(&r, what)))
		return st;
	if (q->target == 0 || q->source == 0 || q->qpn > 0xffffff ||
	    q->psn > 0xffffff) {
		sk_log_error("%s: field out of range (tags %s, qpn %u psn %u)",
			     what, q->target && q->source ? "set" : "zero",
			     q->qpn, q->psn);
		return SK_ERR_MALFORMED;
	}
	return SK_OK;
}
