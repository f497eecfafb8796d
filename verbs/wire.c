/*
 * Wire codec: little-endian field readers and writers for the blobs verbs
 * exchanges with peers, and the envelope every blob starts with. Every
 * decoder of outside bytes in verbs goes through here, so bounds are
 * checked in one place (see wire.h for the layout).
 */
#include <string.h>

#include <skiff/le.h>
#include <skiff/verbs.h>

#include "provider.h"
#include "wire.h"

static const char *sk_wire_prov_name(uint8_t provider)
{
	switch (provider) {
	case SK_WIRE_PROV_RDMA:
		return "rdma";
	case SK_WIRE_PROV_UCX:
		return "ucx";
	default:
		return "unknown";
	}
}

sk_status_t sk_wire_open(const void *buf, size_t len, uint32_t magic,
			 uint8_t provider, const char *what,
			 struct sk_wire_reader *r)
{
	const uint8_t *p = buf;
	size_t body;

	if (buf == NULL || len < SK_WIRE_HDR_LEN) {
		sk_log_error("%s: truncated (%zu bytes, the header alone is %d)",
			     what, buf ? len : 0, SK_WIRE_HDR_LEN);
		return SK_ERR_MALFORMED;
	}
	if (sk_le32_get(p) != magic) {
		sk_log_error("%s: bad magic 0x%08x", what,
			     (unsigned)sk_le32_get(p));
		return SK_ERR_MALFORMED;
	}
	if (p[4] != SK_WIRE_VERSION) {
		sk_log_error("%s: wire version %u, this build speaks %u", what,
			     p[4], SK_WIRE_VERSION);
		return SK_ERR_VERSION;
	}
	if (p[5] != provider) {
		sk_log_error("%s: made by provider '%s', this is '%s'", what,
			     sk_wire_prov_name(p[5]),
			     sk_wire_prov_name(provider));
		return SK_ERR_WRONG_PROVIDER;
	}
	body = sk_le16_get(p + 6);
	if (len != SK_WIRE_HDR_LEN + body + SK_WIRE_CHECK_LEN) {
		sk_log_error("%s: length %zu does not match its header (%zu)",
			     what, len,
			     SK_WIRE_HDR_LEN + body + SK_WIRE_CHECK_LEN);
		return SK_ERR_MALFORMED;
	}
	if (sk_le32_get(p + len - SK_WIRE_CHECK_LEN) !=
	    sk_wire_hash32(p, len - SK_WIRE_CHECK_LEN)) {
		sk_log_error("%s: check word mismatch (corrupted)", what);
		return SK_ERR_MALFORMED;
	}
	r->p = p + SK_WIRE_HDR_LEN;
	r->left = body;
	r->overrun = 0;
	return SK_OK;
}

sk_status_t sk_wire_end(const struct sk_wire_reader *r, const char *what)
{
	if (r->overrun) {
		sk_log_error("%s: body truncated", what);
		return SK_ERR_MALFORMED;
	}
	if (r->left != 0) {
		sk_log_error("%s: %zu unexpected trailing bytes", what, r->left);
		return SK_ERR_MALFORMED;
	}
	return SK_OK;
}

static const uint8_t *sk_wire_take(struct sk_wire_reader *r, size_t n)
{
	const uint8_t *p;

	if (r->overrun || r->left < n) {
		r->overrun = 1;
		return NULL;
	}
	p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

uint8_t sk_wire_get_u8(struct sk_wire_reader *r)
{
	const uint8_t *p = sk_wire_take(r, 1);

	return p ? *p : 0;
}

#define SK_WIRE_GETTER(bits)                                              \
	uint##bits##_t sk_wire_get_u##bits(struct sk_wire_reader *r)      \
	{                                                                 \
		const uint8_t *p = sk_wire_take(r, (bits) / 8);           \
		return p ? sk_le##bits##_get(p) : 0;                      \
	}

SK_WIRE_GETTER(16)
SK_WIRE_GETTER(32)
SK_WIRE_GETTER(64)

const void *sk_wire_get_bytes(struct sk_wire_reader *r, size_t len)
{
	return sk_wire_take(r, len);
}

void sk_wire_begin(struct sk_wire_writer *w, void *buf, size_t cap)
{
	w->p = buf;
	w->left = cap;
	w->written = 0;
	w->overrun = 0;
	if (cap < SK_WIRE_HDR_LEN) {
		w->overrun = 1;
		return;
	}
	w->p += SK_WIRE_HDR_LEN;
	w->left -= SK_WIRE_HDR_LEN;
	w->written = SK_WIRE_HDR_LEN;
}

static uint8_t *sk_wire_room(struct sk_wire_writer *w, size_t n)
{
	uint8_t *p;

	if (w->overrun || w->left < n) {
		w->overrun = 1;
		return NULL;
	}
	p = w->p;
	w->p += n;
	w->left -= n;
	w->written += n;
	return p;
}

void sk_wire_put_u8(struct sk_wire_writer *w, uint8_t v)
{
	uint8_t *p = sk_wire_room(w, 1);

	if (p)
		*p = v;
}

#define SK_WIRE_PUTTER(bits)                                                \
	void sk_wire_put_u##bits(struct sk_wire_writer *w, uint##bits##_t v) \
	{                                                                   \
		uint8_t *p = sk_wire_room(w, (bits) / 8);                   \
		if (p)                                                      \
			sk_le##bits##_put(p, v);                            \
	}

SK_WIRE_PUTTER(16)
SK_WIRE_PUTTER(32)
SK_WIRE_PUTTER(64)

void sk_wire_put_bytes(struct sk_wire_writer *w, const void *src, size_t len)
{
	uint8_t *p = sk_wire_room(w, len);

	if (p && len)
		memcpy(p, src, len);
}

sk_status_t sk_wire_finish(struct sk_wire_writer *w, uint32_t magic,
			   uint8_t provider, size_t *len_p)
{
	uint8_t *start = w->p - w->written;
	size_t body = w->written - SK_WIRE_HDR_LEN;
	uint8_t *check;

	if (w->overrun || body > UINT16_MAX)
		return SK_ERR_INVAL;
	sk_le32_put(start, magic);
	start[4] = SK_WIRE_VERSION;
	start[5] = provider;
	sk_le16_put(start + 6, (uint16_t)body);
	check = sk_wire_room(w, SK_WIRE_CHECK_LEN);
	if (check == NULL)
		return SK_ERR_INVAL;
	sk_le32_put(check, sk_wire_hash32(start, w->written - 4));
	*len_p = w->written;
	return SK_OK;
}

uint32_t sk_wire_hash32(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

sk_status_t sk_wire_check_range(uint64_t addr, uint64_t len, uint32_t access,
				const char *what)
{
	if (len == 0 || addr + len < addr) {
		sk_log_error("%s: bad range [0x%llx, +%llu)", what,
			     (unsigned long long)addr, (unsigned long long)len);
		return SK_ERR_MALFORMED;
	}
	if (access & ~SK_ACCESS_ALL) {
		sk_log_error("%s: unknown access bits 0x%x", what, access);
		return SK_ERR_MALFORMED;
	}
	return SK_OK;
}
