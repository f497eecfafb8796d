/*
 * The checker of rpc messages: the one place where bytes from a peer are
 * looked at before the rpc acts on them (wire.h). tests/fuzz/fuzz_rpc.c
 * drives it with arbitrary bytes.
 */
#include <string.h>

#include "wire.h"

sk_status_t sk_rpc_hdr_check(const void *buf, size_t len,
			     struct sk_rpc_hdr *h, const char **why)
{
	size_t plen;

	if (len < SK_RPC_HDR) {
		*why = "shorter than a header";
		return SK_ERR_MALFORMED;
	}
	if (len > SK_RPC_SLOT_SIZE) {
		*why = "longer than a slot";
		return SK_ERR_MALFORMED;
	}
	memcpy(h, buf, SK_RPC_HDR);
	plen = len - SK_RPC_HDR;
	if (h->magic != SK_RPC_MAGIC) {
		*why = "bad magic";
		return SK_ERR_MALFORMED;
	}
	if (h->call >= SK_RPC_CREDITS && h->type != SK_RPC_HELLO &&
	    h->type != SK_RPC_PING && h->type != SK_RPC_PONG) {
		*why = "call index out of range";
		return SK_ERR_MALFORMED;
	}
	switch (h->type) {
	case SK_RPC_HELLO:
		if (h->flags || h->len != plen || plen == 0 ||
		    plen > SK_BLOB_MAX) {
			*why = "malformed hello";
			return SK_ERR_MALFORMED;
		}
		return SK_OK;
	case SK_RPC_PING:
	case SK_RPC_PONG:
		if (h->flags || h->len != 0 || plen != 0) {
			*why = "malformed liveness check";
			return SK_ERR_MALFORMED;
		}
		return SK_OK;
	case SK_RPC_RESP:
		if (h->flags || h->len != plen) {
			*why = "response length disagrees with the bytes";
			return SK_ERR_MALFORMED;
		}
		if (plen > SK_RPC_INLINE_MAX) {
			*why = "inline payload over SK_RPC_INLINE_MAX";
			return SK_ERR_MALFORMED;
		}
		return SK_OK;
	case SK_RPC_REQ:
		if (h->flags & ~(SK_RPC_F_LARGE_REQ | SK_RPC_F_RESP_ADDR)) {
			*why = "unknown request flags";
			return SK_ERR_MALFORMED;
		}
		if (h->flags & SK_RPC_F_LARGE_REQ) {
			if (plen != 0 || h->len <= SK_RPC_INLINE_MAX ||
			    h->len > SK_RPC_MSG_MAX || h->req_addr == 0) {
				*why = "malformed large request";
				return SK_ERR_MALFORMED;
			}
		} else if (h->len != plen) {
			*why = "request length disagrees with the bytes";
			return SK_ERR_MALFORMED;
		} else if (plen > SK_RPC_INLINE_MAX) {
			*why = "inline payload over SK_RPC_INLINE_MAX";
			return SK_ERR_MALFORMED;
		}
		if (h->resp_cap > SK_RPC_MSG_MAX ||
		    (h->flags & SK_RPC_F_RESP_ADDR ? h->resp_addr == 0 :
		     h->resp_cap > SK_RPC_INLINE_MAX)) {
			*why = "bad response capacity or address";
			return SK_ERR_MALFORMED;
		}
		return SK_OK;
	default:
		*why = "unknown message type";
		return SK_ERR_MALFORMED;
	}
}
