/*
 * kv's decoders of a peer's bytes (wire.h). The handlers (owner.c,
 * map.c) answer -EPROTO to whatever these refuse, before they look at the
 * node's state; the client takes the owners' answers through the response
 * decoders. Headers are copied out with memcpy: an rpc payload need not
 * be aligned.
 */
#include <errno.h>
#include <string.h>

#include "wire.h"

/* The key of klen bytes after a header of hlen bytes, which must end the
 * message exactly. */
static int kv_dec_key_after(const char *data, size_t len, size_t hlen,
			    uint32_t klen, const char **key_p)
{
	if (len - hlen != klen || !sk_kv_key_len_ok(klen))
		return -EPROTO;
	*key_p = data + hlen;
	return 0;
}

int kv_dec_key(const void *data, size_t len, struct kv_key_msg *m)
{
	struct kv_key_req q;

	if (len < sizeof(q))
		return -EPROTO;
	memcpy(&q, data, sizeof(q));
	if (q.reserved)
		return -EPROTO;
	m->klen = q.klen;
	return kv_dec_key_after(data, len, sizeof(q), q.klen, &m->key);
}

int kv_dec_delete(const void *data, size_t len, struct kv_delete_msg *m)
{
	struct kv_delete_req q;

	if (len < sizeof(q))
		return -EPROTO;
	memcpy(&q, data, sizeof(q));
	if (q.reserved || (q.mode & ~(KV_DELETE_STALE | KV_DELETE_TTL)) ||
	    (q.mode && !(q.mode & KV_DELETE_STALE)) ||
	    (!(q.mode & KV_DELETE_TTL) && q.exptime))
		return -EPROTO;
	m->mode = q.mode;
	m->exptime = q.exptime;
	m->cas = q.cas;
	m->klen = q.klen;
	return kv_dec_key_after(data, len, sizeof(q), q.klen, &m->key);
}

int kv_dec_delta(const void *data, size_t len, struct kv_delta_msg *m)
{
	struct kv_delta_req q;

	if (len < sizeof(q))
		return -EPROTO;
	memcpy(&q, data, sizeof(q));
	if (q.incr > 1)
		return -EPROTO;
	m->incr = q.incr;
	m->delta = q.delta;
	m->cas = q.cas;
	m->klen = q.klen;
	return kv_dec_key_after(data, len, sizeof(q), q.klen, &m->key);
}

int kv_dec_touch(const void *data, size_t len, struct kv_touch_msg *m)
{
	struct kv_touch_req q;

	if (len < sizeof(q))
		return -EPROTO;
	memcpy(&q, data, sizeof(q));
	if ((q.mode & ~KV_TOUCH_MODES) || q.reserved ||
	    !(q.mode & (KV_TOUCH_ANSWER | KV_TOUCH_TTL)) ||
	    (!(q.mode & KV_TOUCH_TTL) && q.exptime) ||
	    (!(q.mode & KV_TOUCH_VIVIFY) && q.vivify) ||
	    (!(q.mode & KV_TOUCH_RECACHE) &&
	     (q.recache || (q.mode & KV_TOUCH_RECACHE_OLD))))
		return -EPROTO;
	m->exptime = q.exptime;
	m->mode = q.mode;
	m->vivify = q.vivify;
	m->recache = q.recache;
	m->klen = q.klen;
	return kv_dec_key_after(data, len, sizeof(q), q.klen, &m->key);
}

int kv_dec_hint(const void *data, size_t len, struct kv_hint_msg *m)
{
	struct kv_hint_req q;

	if (len < sizeof(q))
		return -EPROTO;
	memcpy(&q, data, sizeof(q));
	if (q.reserved || q.count > KV_HINT_MAX ||
	    len - sizeof(q) != (size_t)q.count * sizeof(uint64_t))
		return -EPROTO;
	m->count = q.count;
	m->hashes = (const uint8_t *)data + sizeof(q);
	return 0;
}

int kv_dec_flush_req(const void *data, size_t len, struct kv_flush_req *q)
{
	if (len != sizeof(*q))
		return -EPROTO;
	memcpy(q, data, sizeof(*q));
	return q->reserved ? -EPROTO : 0;
}

int kv_dec_ostats_resp(const void *data, size_t len,
		       struct sk_kv_owner_stats *a)
{
	if (len != sizeof(*a))
		return -EPROTO;
	memcpy(a, data, sizeof(*a));
	return a->reserved ? -EPROTO : 0;
}

int kv_dec_cstats_resp(const void *data, size_t len,
		       struct sk_kv_class_stats *cls)
{
	size_t n = len / sizeof(*cls), i;

	if (len % sizeof(*cls) || n > SK_KV_CLASSES_MAX)
		return -EPROTO;
	memcpy(cls, data, len);
	for (i = 0; i < n; i++) {
		const struct sk_kv_class_stats *k = &cls[i];

		if (k->chunk_size == 0 ||
		    (i && k->chunk_size <= cls[i - 1].chunk_size) ||
		    k->free > k->chunks ||
		    k->quarantined > k->chunks - k->free ||
		    k->items != k->chunks - k->free - k->quarantined ||
		    k->evicted_exp > k->evicted)
			return -EPROTO;
	}
	return (int)n;
}

int kv_dec_dump_req(const void *data, size_t len, struct kv_dump_req *q)
{
	if (len != sizeof(*q))
		return -EPROTO;
	memcpy(q, data, sizeof(*q));
	return q->cls < SK_KV_CLASSES_MAX && q->max >= SK_KV_DUMP_MIN &&
			       q->max <= KV_DUMP_MAX
		       ? 0
		       : -EPROTO;
}

int kv_dec_dump_resp(const void *data, size_t len, struct kv_dump_resp *a,
		     const void **ents_p)
{
	const uint8_t *ents = (const uint8_t *)data + sizeof(*a);
	const struct sk_kv_dump_ent *e;
	const uint8_t *key;
	size_t off = 0, end;
	uint32_t n = 0;

	if (len < sizeof(*a))
		return -EPROTO;
	memcpy(a, data, sizeof(*a));
	if (a->len != len - sizeof(*a) || a->len > KV_DUMP_MAX ||
	    a->len % 8)
		return -EPROTO;
	while (off < a->len) {
		size_t at = off;

		e = sk_kv_dump_next(ents, a->len, &off, &key);
		if (e == NULL || e->reserved || e->vlen > SK_KV_VALUE_MAX)
			return -EPROTO;
		/* The padding: zeros, and whole. */
		end = at + sizeof(*e) + e->klen;
		if (off != ((end + 7) & ~(size_t)7))
			return -EPROTO;
		for (; end < off; end++)
			if (ents[end])
				return -EPROTO;
		n++;
	}
	if (n != a->count)
		return -EPROTO;
	*ents_p = ents;
	return 0;
}

int kv_dec_desc_req(const void *data, size_t len, struct kv_desc_req *q)
{
	if (len != sizeof(*q))
		return -EPROTO;
	memcpy(q, data, sizeof(*q));
	return q->reserved ? -EPROTO : 0;
}

int kv_dec_secret_req(const void *data, size_t len, struct kv_secret_req *q)
{
	if (len != sizeof(*q))
		return -EPROTO;
	memcpy(q, data, sizeof(*q));
	return 0;
}

/* ---- responses ---- */

int kv_dec_secret_resp(const void *data, size_t len,
		       struct kv_secret_resp *a)
{
	if (len != sizeof(*a))
		return -EPROTO;
	memcpy(a, data, sizeof(*a));
	return 0;
}

int kv_dec_get_resp(const void *data, size_t len, struct kv_get_resp *a,
		    const char **value_p)
{
	if (len < sizeof(*a))
		return -EPROTO;
	memcpy(a, data, sizeof(*a));
	if (a->vlen > SK_KV_VALUE_MAX || a->vlen != len - sizeof(*a) ||
	    a->reserved != 0 ||
	    (a->state & ~(SK_KV_STATE_STALE | SK_KV_STATE_TOKEN |
			  SK_KV_STATE_WON | SK_KV_STATE_CREATED)))
		return -EPROTO;
	*value_p = (const char *)data + sizeof(*a);
	return 0;
}

int kv_dec_cas_resp(const void *data, size_t len, struct kv_cas_resp *a)
{
	if (len != sizeof(*a))
		return -EPROTO;
	memcpy(a, data, sizeof(*a));
	return 0;
}

int kv_dec_delta_resp(const void *data, size_t len, struct kv_delta_resp *a)
{
	if (len != sizeof(*a))
		return -EPROTO;
	memcpy(a, data, sizeof(*a));
	return a->grew > 1 ? -EPROTO : 0;
}

int kv_dec_desc_hdr(const void *data, size_t len, struct kv_desc_hdr *h,
		    size_t *off_p)
{
	if (len < sizeof(*h))
		return -EPROTO;
	memcpy(h, data, sizeof(*h));
	/* Each entry takes sizeof(struct kv_desc_ent) at least. */
	if (h->magic != KV_WIRE_MAGIC ||
	    h->count > (len - sizeof(*h)) / sizeof(struct kv_desc_ent))
		return -EPROTO;
	*off_p = sizeof(*h);
	return 0;
}

int kv_dec_desc_ent(const void *data, size_t len, size_t *off_p,
		    struct kv_desc_ent *e, struct sk_kv_view *view_p,
		    const void **desc_p)
{
	const char *p = data;
	size_t off = *off_p, pad;

	if (off > len || len - off < sizeof(*e))
		return -EPROTO;
	memcpy(e, p + off, sizeof(*e));
	off += sizeof(*e);
	if (e->desc_len > SK_BLOB_MAX)
		return -EPROTO;
	pad = ((size_t)e->desc_len + 7) & ~(size_t)7;
	if (len - off < pad)
		return -EPROTO;
	if (sk_kv_view_from_hdr(&e->hdr, sizeof(e->hdr), view_p) != SK_OK ||
	    view_p->partition != e->partition)
		return -EPROTO;
	*desc_p = p + off;
	*off_p = off + pad;
	return 0;
}
