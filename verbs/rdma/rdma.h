/*
 * The rdma provider's wire codecs: what a peer's packed endpoint address
 * and memory descriptor say, decoded and checked without a device. The
 * provider (rdma_ep.c, rdma_mr.c) connects and imports through these,
 * and the fuzz target tests/fuzz/fuzz_rdma_blobs.c drives the very same
 * functions, on any host.
 */
#ifndef SKIFF_VERBS_RDMA_H
#define SKIFF_VERBS_RDMA_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/status.h>

/* Endpoint address body: u32 qpn, u32 psn, u16 lid, u8 link layer,
 * u8 mtu (enum ibv_mtu), u8 gid[16], then the connection manager's part
 * (rdma_cm.c): u8 ipv4[4], u16 cm port, u64 tag. A cm port of 0 says the
 * endpoint connects by blob only; then ipv4 and tag are 0 too. */
struct rdma_peer_addr {
	uint32_t qpn;
	uint32_t psn;
	uint16_t lid;
	uint8_t link_layer;  /* IBV_LINK_LAYER_* */
	uint8_t mtu;         /* enum ibv_mtu */
	uint8_t gid[16];
	uint8_t ipv4[4];     /* the device's address, network order */
	uint16_t cm_port;    /* its listener's port; 0: blob only */
	uint64_t tag;        /* names the endpoint to the peer's listener */
};

sk_status_t rdma_ep_addr_encode(const struct rdma_peer_addr *a, void *buf,
				size_t *len_p);

/*
 * Decode a peer's endpoint address, for a device on @link_layer. Refuses,
 * with a message, what sk_wire_open refuses, a QPN or PSN past 24 bits,
 * an MTU that is not 256..4096, and a peer on another link layer.
 */
sk_status_t rdma_ep_addr_decode(const void *buf, size_t len,
				uint8_t link_layer, struct rdma_peer_addr *a);

/*
 * The private data of a connection request (rdma_connect, at most 56
 * bytes on RDMA_PS_TCP, zero-padded by the kernel): u64 target tag (the
 * passive endpoint, from its blob), u64 source tag, u32 qpn, u32 psn (the
 * active endpoint's, as its blob said).
 */
struct rdma_cm_req {
	uint64_t target;
	uint64_t source;
	uint32_t qpn;
	uint32_t psn;
};

sk_status_t rdma_cm_req_encode(const struct rdma_cm_req *q, void *buf,
			       size_t *len_p);

/* Decode a request's private data of @len bytes (the envelope's length
 * decides; zero padding after it is allowed, anything else is not). */
sk_status_t rdma_cm_req_decode(const void *buf, size_t len,
			       struct rdma_cm_req *q);

/* Memory descriptor body: u64 addr, u64 len, u32 rkey, u32 access. */
struct rdma_mr_desc {
	uint64_t addr;
	uint64_t len;
	uint32_t rkey;
	uint32_t access;     /* enum sk_access */
};

sk_status_t rdma_mr_desc_encode(const struct rdma_mr_desc *m, void *buf,
				size_t *len_p);

/* Decode a peer's memory descriptor; refuses what sk_wire_open and
 * sk_wire_check_range refuse. */
sk_status_t rdma_mr_desc_decode(const void *buf, size_t len,
				struct rdma_mr_desc *m);

#endif /* SKIFF_VERBS_RDMA_H */
