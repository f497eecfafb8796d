/*
 * libFuzzer target for the rdma provider's decoders of a peer's bytes, on
 * the provider's own code (verbs/rdma/rdma.h), with no device:
 *
 *  - rdma_ep_addr_decode, which rdma_ep_connect runs on the peer's packed
 *    address before it touches the QP, for a device on each link layer;
 *  - rdma_mr_desc_decode, and the provider's whole rkey_unpack through its
 *    ops table (it needs no device: the key is the peer's to honour);
 *  - rdma_cm_req_decode, which the listener runs on a connection request's
 *    private data (zero-padded by the kernel to its fixed size).
 *
 * Each input is used as it is and "sealed" (its body length and check word
 * recomputed, so that mutations reach the body instead of dying at the
 * check word). Oracles, each an abort:
 *  - an accepted address has a 24-bit QPN and PSN, an MTU of 256..4096 and
 *    the device's link layer; it encodes back (rdma_ep_addr_encode, what
 *    rdma_ep_addr_pack sends) to the very same bytes;
 *  - an accepted address has a connection-manager port exactly when it has
 *    an address and a tag;
 *  - an accepted request has non-zero tags, a 24-bit QPN and PSN, and
 *    encodes back to the bytes before the padding, which are all zeros;
 *  - an accepted descriptor passes sk_wire_check_range and encodes back to
 *    the same bytes; rkey_unpack accepts exactly what the decoder accepts,
 *    and its key says what the descriptor says.
 *
 * SKIFF_FUZZ_VERBOSE=1 keeps the decoders' messages; SKIFF_FUZZ_WRITE_SEEDS
 * =DIR writes valid blobs (made with the provider's encoders) and exits:
 * how tests/fuzz/corpus_rdma_blobs was made.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "../../verbs/provider.h"
#include "../../verbs/rdma/rdma.h"
#include "../../verbs/wire.h"
#include "../lib/wire_seal.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ep_addr(const uint8_t *data, size_t size)
{
	static const uint8_t lls[] = {IBV_LINK_LAYER_INFINIBAND,
				      IBV_LINK_LAYER_ETHERNET};

	for (size_t i = 0; i < sizeof(lls); i++) {
		struct rdma_peer_addr a;
		uint8_t back[SK_BLOB_MAX];
		size_t len = sizeof(back);

		if (rdma_ep_addr_decode(data, size, lls[i], &a) != SK_OK)
			continue;
		check(a.qpn <= 0xffffff && a.psn <= 0xffffff);
		check(a.mtu >= IBV_MTU_256 && a.mtu <= IBV_MTU_4096);
		check(a.link_layer == lls[i]);
		check((a.cm_port != 0) == (a.tag != 0) &&
		      (a.cm_port != 0) == (memcmp(a.ipv4, "\0\0\0\0", 4) != 0));
		check(rdma_ep_addr_encode(&a, back, &len) == SK_OK);
		check(len == size && memcmp(back, data, size) == 0);
	}
}

static void mr_desc(const uint8_t *data, size_t size)
{
	struct sk_ep ep = {.connected = 1}; /* rkey_unpack only keeps it */
	struct rdma_mr_desc m;
	struct sk_rkey *rkey = NULL;
	uint8_t back[SK_BLOB_MAX];
	size_t len = sizeof(back);
	sk_status_t st, ust;

	st = rdma_mr_desc_decode(data, size, &m);
	ust = sk_rdma_provider_ops.rkey_unpack(&ep, data, size, &rkey);
	check((st == SK_OK) == (ust == SK_OK));
	if (st != SK_OK)
		return;
	check(sk_wire_check_range(m.addr, m.len, m.access, "fuzz") == SK_OK);
	check(rdma_mr_desc_encode(&m, back, &len) == SK_OK);
	check(len == size && memcmp(back, data, size) == 0);
	check(rkey->ep == &ep && rkey->addr == m.addr && rkey->len == m.len &&
	      rkey->access == m.access);
	sk_rdma_provider_ops.rkey_destroy(rkey);
}

static void cm_req(const uint8_t *data, size_t size)
{
	struct rdma_cm_req q;
	uint8_t back[SK_BLOB_MAX];
	size_t len = sizeof(back);

	if (rdma_cm_req_decode(data, size, &q) != SK_OK)
		return;
	check(q.target != 0 && q.source != 0);
	check(q.qpn <= 0xffffff && q.psn <= 0xffffff);
	check(rdma_cm_req_encode(&q, back, &len) == SK_OK);
	check(len <= size && memcmp(back, data, len) == 0);
	for (size_t i = len; i < size; i++)
		check(data[i] == 0);
}

static void run(const uint8_t *data, size_t size)
{
	ep_addr(data, size);
	mr_desc(data, size);
	cm_req(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	/* Exactly sized on the heap: ASan sees a read past the blob. */
	copy = fuzz_dup(data, size);
	run(copy, size);
	if (sk_test_wire_seal(copy, size) == 0)
		run(copy, size);
	free(copy);
	return 0;
}

static void write_seeds(const char *dir)
{
	struct rdma_peer_addr roce = {
		.qpn = 0x000011, .psn = 0xabcdef, .lid = 0,
		.link_layer = IBV_LINK_LAYER_ETHERNET, .mtu = IBV_MTU_1024,
		.gid = {[10] = 0xff, [11] = 0xff, 192, 168, 1, 10},
	};
	struct rdma_peer_addr roce_cm = {
		.qpn = 0x000012, .psn = 0x123456, .lid = 0,
		.link_layer = IBV_LINK_LAYER_ETHERNET, .mtu = IBV_MTU_1024,
		.gid = {[10] = 0xff, [11] = 0xff, 10, 0, 2, 15},
		.ipv4 = {10, 0, 2, 15}, .cm_port = 40123,
		.tag = 0x0123456789abcdefull,
	};
	struct rdma_cm_req req = {.target = 0x0123456789abcdefull,
				  .source = 0x00000000deadbeefull,
				  .qpn = 0x000011, .psn = 0xabcdef};
	struct rdma_peer_addr ib = {
		.qpn = 0x000123, .psn = 1, .lid = 7,
		.link_layer = IBV_LINK_LAYER_INFINIBAND, .mtu = IBV_MTU_4096,
	};
	struct rdma_mr_desc mr = {.addr = 0x7f0000001000ull, .len = 65536,
				  .rkey = 0x1234, .access = SK_ACCESS_ALL};
	uint8_t blob[SK_BLOB_MAX];
	size_t len;

	len = sizeof(blob);
	check(rdma_ep_addr_encode(&roce, blob, &len) == SK_OK);
	fuzz_write_seed(dir, "ep-roce", -1, blob, len);
	len = sizeof(blob);
	check(rdma_ep_addr_encode(&ib, blob, &len) == SK_OK);
	fuzz_write_seed(dir, "ep-ib", -1, blob, len);
	len = sizeof(blob);
	check(rdma_ep_addr_encode(&roce_cm, blob, &len) == SK_OK);
	fuzz_write_seed(dir, "ep-roce-cm", -1, blob, len);
	len = sizeof(blob);
	check(rdma_cm_req_encode(&req, blob, &len) == SK_OK);
	fuzz_write_seed(dir, "cm-req", -1, blob, len);
	memset(blob + len, 0, 56 - len); /* as the kernel pads it */
	fuzz_write_seed(dir, "cm-req-padded", -1, blob, 56);
	len = sizeof(blob);
	check(rdma_mr_desc_encode(&mr, blob, &len) == SK_OK);
	fuzz_write_seed(dir, "mr", -1, blob, len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_seeds_if_asked(write_seeds);
	fuzz_quiet_unless_verbose();
	return 0;
}
