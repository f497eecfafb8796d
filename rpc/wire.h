/*
 * The rpc wire format (private to rpc/, and to its tests and fuzz target).
 *
 * Every message is a 40-byte header and, for an inline request or
 * response, its payload. A large request is a header whose req_addr points
 * at the payload in the caller's large-buffer region (the server RDMA-reads
 * it). A large response is not a message: the server RDMA-writes a trailer
 * and the payload to resp_addr - SK_RPC_TRAILER in the caller's
 * large-buffer region, with an immediate that names the call (index |
 * generation << 16). Both addresses are checked against that region's key
 * (the provider refuses what lies outside it).
 */
#ifndef SKIFF_RPC_WIRE_H
#define SKIFF_RPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/rpc.h>
#include <skiff/status.h>

#define SK_RPC_MAGIC 0x5243u /* "CR" little-endian */

enum sk_rpc_type {
	SK_RPC_REQ = 1,
	SK_RPC_RESP,
	SK_RPC_HELLO, /* payload: the packed descriptor of the sender's
	               * large-buffer region */
	SK_RPC_PING,  /* liveness check while calls wait; no payload */
	SK_RPC_PONG,  /* its answer; also: "I have your hello" */
};

enum sk_rpc_flags {
	SK_RPC_F_LARGE_REQ  = 1u << 0, /* payload at req_addr, len bytes */
	SK_RPC_F_RESP_ADDR  = 1u << 1, /* resp_addr takes resp_cap bytes */
};

struct sk_rpc_hdr {
	uint16_t magic;
	uint8_t  type;     /* enum sk_rpc_type */
	uint8_t  flags;    /* enum sk_rpc_flags */
	uint16_t handler;  /* REQ */
	uint16_t call;     /* the caller's call slot, < SK_RPC_CREDITS */
	uint32_t len;      /* payload bytes */
	uint32_t resp_cap; /* REQ: the most the caller takes back */
	uint32_t gen;      /* the call slot's generation */
	int32_t  status;   /* RESP */
	uint64_t req_addr;
	uint64_t resp_addr;
};

/* Written just before a large response's payload. */
struct sk_rpc_trailer {
	uint32_t call;
	uint32_t gen;
	uint32_t len;
	int32_t  status;
};

#define SK_RPC_HDR     sizeof(struct sk_rpc_hdr)
#define SK_RPC_TRAILER sizeof(struct sk_rpc_trailer)
#define SK_RPC_HEADROOM 64u /* before every rpc buffer: header or trailer */

_Static_assert(sizeof(struct sk_rpc_hdr) == 40, "rpc header is 40 bytes");
_Static_assert(sizeof(struct sk_rpc_trailer) == 16, "trailer is 16 bytes");
_Static_assert(SK_RPC_HDR + SK_RPC_INLINE_MAX <= SK_RPC_SLOT_SIZE,
	       "an inline message fits a slot");

/*
 * Check a message that arrived in a receive slot (@buf, @len bytes) and
 * copy its header to @h. Returns SK_OK or SK_ERR_MALFORMED with a reason
 * in @why: short, bad magic or type, unknown flags, lengths that disagree
 * with the bytes or exceed the limits, a call index out of range.
 */
sk_status_t sk_rpc_hdr_check(const void *buf, size_t len,
			     struct sk_rpc_hdr *h, const char **why);

#endif /* SKIFF_RPC_WIRE_H */
