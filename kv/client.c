/*
 * kv client: the blocking calls of kv.h, each one request (req.c) posted
 * and waited for, so that both APIs take one path and answer alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "req.h"

/* ---- the blocking calls ---- */

/* Post @r, wait for it; its status. */
static sk_status_t kv_call(struct sk_kv *kv, struct sk_kv_req *r)
{
	sk_status_t st = sk_kv_post(kv, r);

	if (st == SK_OK)
		st = kv_wait(kv, r, 1);
	return st == SK_OK ? r->status : st;
}

static void kv_get_out(const struct sk_kv_req *r, size_t *vlen_p,
		       uint32_t *flags_p, uint64_t *cas_p)
{
	if (r->res != SK_KV_OK)
		return;
	if (vlen_p)
		*vlen_p = r->vlen;
	if (flags_p)
		*flags_p = r->flags;
	if (cas_p)
		*cas_p = r->cas;
}

sk_status_t sk_kv_get(struct sk_kv *kv, const void *key, size_t klen,
		      void *buf, size_t cap, size_t *vlen_p,
		      uint32_t *flags_p, uint64_t *cas_p,
		      enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = SK_KV_CMD_GET, .key = key, .klen = klen,
		.buf = buf, .cap = cap,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	/* A key in memory mapped here is read on the spot (kv_get_now);
	 * everything else, and every doubt, is a request. */
	if (kv != NULL && (klen == 0 || key != NULL) &&
	    (buf != NULL || cap == 0) && kv_get_now(kv, &r))
		st = r.status;
	else
		st = kv_call(kv, &r);
	if (st != SK_OK)
		return st;
	*res_p = r.res;
	kv_get_out(&r, vlen_p, flags_p, cas_p);
	return SK_OK;
}

sk_status_t sk_kv_gat(struct sk_kv *kv, const void *key, size_t klen,
		      int32_t exptime, void *buf, size_t cap, size_t *vlen_p,
		      uint32_t *flags_p, uint64_t *cas_p,
		      enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = SK_KV_CMD_GAT, .key = key, .klen = klen,
		.buf = buf, .cap = cap, .exptime = exptime,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st != SK_OK)
		return st;
	*res_p = r.res;
	kv_get_out(&r, vlen_p, flags_p, cas_p);
	return SK_OK;
}

sk_status_t sk_kv_store(struct sk_kv *kv, enum sk_kv_op op, const void *key,
			size_t klen, const void *value, size_t vlen,
			uint32_t flags, int32_t exptime, uint64_t cas,
			uint64_t *cas_p, enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = SK_KV_CMD_STORE, .op = op, .key = key, .klen = klen,
		.value = value, .vlen = vlen, .flags = flags,
		.exptime = exptime, .cas = cas,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st != SK_OK)
		return st;
	*res_p = r.res;
	if (r.res == SK_KV_STORED && cas_p)
		*cas_p = r.cas;
	return SK_OK;
}

sk_status_t sk_kv_set(struct sk_kv *kv, const void *key, size_t klen,
		      const void *value, size_t vlen, uint32_t flags,
		      int32_t exptime, enum sk_kv_res *res_p)
{
	return sk_kv_store(kv, SK_KV_SET, key, klen, value, vlen, flags,
			   exptime, 0, NULL, res_p);
}

/* incr, decr: @cmd. */
static sk_status_t kv_delta(struct sk_kv *kv, enum sk_kv_cmd cmd,
			    const void *key, size_t klen, uint64_t delta,
			    uint64_t *value_p, enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = cmd, .key = key, .klen = klen, .delta = delta,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st != SK_OK)
		return st;
	*res_p = r.res;
	if (r.res == SK_KV_OK && value_p)
		*value_p = r.number;
	return SK_OK;
}

sk_status_t sk_kv_incr(struct sk_kv *kv, const void *key, size_t klen,
		       uint64_t delta, uint64_t *value_p,
		       enum sk_kv_res *res_p)
{
	return kv_delta(kv, SK_KV_CMD_INCR, key, klen, delta, value_p, res_p);
}

sk_status_t sk_kv_decr(struct sk_kv *kv, const void *key, size_t klen,
		       uint64_t delta, uint64_t *value_p,
		       enum sk_kv_res *res_p)
{
	return kv_delta(kv, SK_KV_CMD_DECR, key, klen, delta, value_p, res_p);
}

/* touch, delete: a key and an answer. */
static sk_status_t kv_keyed(struct sk_kv *kv, enum sk_kv_cmd cmd,
			    const void *key, size_t klen, int32_t exptime,
			    enum sk_kv_res *res_p)
{
	struct sk_kv_req r = {
		.cmd = cmd, .key = key, .klen = klen, .exptime = exptime,
	};
	sk_status_t st;

	if (res_p == NULL)
		return SK_ERR_INVAL;
	st = kv_call(kv, &r);
	if (st == SK_OK)
		*res_p = r.res;
	return st;
}

sk_status_t sk_kv_touch(struct sk_kv *kv, const void *key, size_t klen,
			int32_t exptime, enum sk_kv_res *res_p)
{
	return kv_keyed(kv, SK_KV_CMD_TOUCH, key, klen, exptime, res_p);
}

sk_status_t sk_kv_delete(struct sk_kv *kv, const void *key, size_t klen,
			 enum sk_kv_res *res_p)
{
	return kv_keyed(kv, SK_KV_CMD_DELETE, key, klen, 0, res_p);
}
