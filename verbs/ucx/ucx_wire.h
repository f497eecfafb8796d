/*
 * The ucx provider's memory descriptor codec, and what an imported key
 * turned out to be: for the provider (ucx_key.c) and its fuzz target
 * (tests/fuzz/fuzz_ucx_rkey.c), which drives the provider's own
 * sk_rkey_unpack on a live UCX worker and checks it with these.
 */
#ifndef SKIFF_VERBS_UCX_WIRE_H
#define SKIFF_VERBS_UCX_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/status.h>
#include <skiff/verbs.h>

/* Memory descriptor body: u64 addr, u64 len, u32 access, u32 key id,
 * u64 cookie, u16 rkey length, rkey bytes. */
struct ucx_mr_desc {
	uint64_t addr;
	uint64_t len;
	uint32_t access;     /* enum sk_access */
	uint32_t key_id;     /* entry of the target's key table */
	uint64_t cookie;     /* that entry's, while it is registered */
	uint16_t rkey_len;
	const void *rkey;    /* UCX's packed rkey (in the blob, decoded) */
};

sk_status_t ucx_mr_desc_encode(const struct ucx_mr_desc *m, void *buf,
			       size_t *len_p);

/* Decode a peer's descriptor; refuses what sk_wire_open and
 * sk_wire_check_range refuse. m->rkey points into @buf. */
sk_status_t ucx_mr_desc_decode(const void *buf, size_t len,
			       struct ucx_mr_desc *m);

/* 1 when the target honoured the key at import (its key table entry
 * matched), 0 when every operation on it fails SK_ERR_REMOTE_ACCESS. */
int ucx_rkey_honoured(const struct sk_rkey *rkey);

#endif /* SKIFF_VERBS_UCX_WIRE_H */
