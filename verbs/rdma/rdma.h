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
 * u8 mtu (enum ibv_mtu), u8 gid[16]. */
struct rdma_peer_addr {
	uint32_t qpn;
	uint32_t psn;
	uint16_t lid;
	uint8_t link_layer;  /* IBV_LINK_LAYER_* */
	uint8_t mtu;         /* enum ibv_mtu */
	uint8_t gid[16];
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
