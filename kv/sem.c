// SPDX-License-Identifier: MIT
/*
 * kv/sem.c - memcached 1.6.18's semantics as pure functions (kv/sem.h).
 *
 * The parsers reproduce what memcached's util.c does with glibc's strtoull
 * and strtol in the C locale, over a counted buffer instead of a
 * NUL-terminated one: the end of the buffer plays the part of the NUL.
 */
#include "sem.h"

#include <string.h>

static const char *const res_str[SK_KV_RES_COUNT] = {
	[SK_KV_STORED] = "STORED",
	[SK_KV_NOT_STORED] = "NOT_STORED",
	[SK_KV_EXISTS] = "EXISTS",
	[SK_KV_NOT_FOUND] = "NOT_FOUND",
	[SK_KV_DELETED] = "DELETED",
	[SK_KV_TOUCHED] = "TOUCHED",
	[SK_KV_END] = "END",
	[SK_KV_OK] = "OK",
	[SK_KV_ERROR] = "ERROR",
	[SK_KV_EFORMAT] = "CLIENT_ERROR bad command line format",
	[SK_KV_EDATA] = "CLIENT_ERROR bad data chunk",
	[SK_KV_EDELTA] = "CLIENT_ERROR invalid numeric delta argument",
	[SK_KV_ENONNUM] = "CLIENT_ERROR cannot increment or decrement "
			  "non-numeric value",
	[SK_KV_EEXPTIME] = "CLIENT_ERROR invalid exptime argument",
	[SK_KV_EDELUSAGE] = "CLIENT_ERROR bad command line format.  "
			    "Usage: delete <key> [noreply]",
	[SK_KV_ETOOLARGE] = "SERVER_ERROR object too large for cache",
	[SK_KV_ENOMEM] = "SERVER_ERROR out of memory storing object",
	[SK_KV_ENOMEM_DELTA] = "SERVER_ERROR out of memory",
};

const char *sk_kv_res_str(enum sk_kv_res r)
{
	if ((unsigned)r >= SK_KV_RES_COUNT)
		return NULL;
	return res_str[r];
}

/* isspace() in the C locale */
static bool c_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Any length; sk_kv_key_ok (sem.h) checks 8-16 byte keys itself. Each
 * word with sk_kv_key_word_bad; byte by byte that was 8.5 instructions a
 * byte. */
bool sk_kv_key_ok_any(const void *key, size_t len)
{
	const unsigned char *k = key;
	uint64_t w;
	size_t i;

	if (!sk_kv_key_len_ok(len))
		return false;
	if (len < 8) {
		w = 'a' * 0x0101010101010101ull; /* the bytes past the key pass */
		for (i = 0; i < len; i++)
			w = w << 8 | k[i];
		return !sk_kv_key_word_bad(w);
	}
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, k + i, 8);
		if (sk_kv_key_word_bad(w))
			return false;
	}
	/* The last 0..7 bytes: the last 8, some checked twice. */
	if (i < len) {
		memcpy(&w, k + len - 8, 8);
		if (sk_kv_key_word_bad(w))
			return false;
	}
	return true;
}

/*
 * strtoull/strtol's scan: white space, sign, digits. The magnitude is
 * kept modulo nothing: a number past UINT64_MAX is ERANGE for both (strtol
 * overflows earlier; parse_i32's range check covers that). Then
 * memcached's test of what follows the digits: the end, a NUL, or white
 * space. Returns false where memcached's safe_* would.
 */
static bool scan_num(const char *s, size_t len, bool *neg, uint64_t *mag)
{
	size_t i = 0, d0;
	uint64_t v = 0;

	*neg = false;
	while (i < len && c_space((unsigned char)s[i]))
		i++;
	if (i < len && (s[i] == '+' || s[i] == '-')) {
		*neg = s[i] == '-';
		i++;
	}
	d0 = i;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10)
			return false; /* ERANGE */
		v = v * 10 + d;
	}
	if (i == d0)
		return false; /* no digits: endptr == str */
	if (i < len && s[i] != '\0' && !c_space((unsigned char)s[i]))
		return false;
	*mag = v;
	return true;
}

/* strchr(s, '-') != NULL, where s ends at len or at a NUL */
static bool has_minus(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && s[i] != '\0'; i++)
		if (s[i] == '-')
			return true;
	return false;
}

bool sk_kv_parse_u64(const char *s, size_t len, uint64_t *out)
{
	bool neg;
	uint64_t v;

	*out = 0;
	if (!scan_num(s, len, &neg, &v))
		return false;
	if (neg)
		v = -v; /* strtoull negates in unsigned arithmetic */
	/* safe_strtoull: refuse a '-' only when the result is >= 2^63 */
	if ((int64_t)v < 0 && has_minus(s, len))
		return false;
	*out = v;
	return true;
}

bool sk_kv_parse_flags(const char *s, size_t len, uint32_t *out)
{
	uint64_t v;

	*out = 0;
	/* safe_strtoul on LP64 is safe_strtoull; kv adds the range check */
	if (!sk_kv_parse_u64(s, len, &v) || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

bool sk_kv_parse_i32(const char *s, size_t len, int32_t *out)
{
	bool neg;
	uint64_t mag;

	*out = 0;
	if (!scan_num(s, len, &neg, &mag))
		return false;
	/* memcached keeps strtol's low 32 bits; kv refuses what does not fit */
	if (neg ? mag > (uint64_t)INT32_MAX + 1 : mag > INT32_MAX)
		return false;
	*out = neg ? (int32_t)(0 - (int64_t)mag) : (int32_t)mag;
	return true;
}

bool sk_kv_expired(uint64_t exp, uint64_t now)
{
	return exp != SK_KV_EXP_NEVER && exp <= now;
}

bool sk_kv_value_u64(const void *val, size_t len, uint64_t *out)
{
	*out = 0;
	/* do_add_delta: "Can't delta zero byte values." */
	if (len == 0)
		return false;
	/* the item's "\r\n" after the value ends the number like a NUL */
	return sk_kv_parse_u64(val, len, out);
}

enum sk_kv_res sk_kv_delta(const void *val, size_t len, bool incr,
			   uint64_t delta, uint64_t *result,
			   char digits[SK_KV_U64_DIGITS], size_t *ndigits,
			   size_t *new_len)
{
	char tmp[SK_KV_U64_DIGITS];
	uint64_t v;
	size_t n = 0, i;

	if (!sk_kv_value_u64(val, len, &v))
		return SK_KV_ENONNUM;
	if (incr)
		v += delta; /* wraps at 2^64 */
	else
		v = delta > v ? 0 : v - delta;
	*result = v;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		digits[i] = tmp[n - 1 - i];
	*ndigits = n;
	/* in place, space-padded, when it fits; else a value of the digits */
	*new_len = n <= len ? len : n;
	return SK_KV_OK;
}

enum sk_kv_res sk_kv_store_decide(enum sk_kv_op op,
				  const struct sk_kv_meta *cur, size_t cur_len,
				  const struct sk_kv_meta *req, size_t req_len,
				  struct sk_kv_meta *out)
{
	*out = *req;
	out->stale = false;
	switch (op) {
	case SK_KV_SET:
		return SK_KV_STORED;
	case SK_KV_ADD:
		return cur ? SK_KV_NOT_STORED : SK_KV_STORED;
	case SK_KV_REPLACE:
		return cur ? SK_KV_STORED : SK_KV_NOT_STORED;
	case SK_KV_APPEND:
	case SK_KV_PREPEND:
		if (!cur)
			return SK_KV_NOT_STORED;
		/* a CAS, when given, must match (memcached's binary and
		 * meta append) */
		if (req->cas != 0 && req->cas != cur->cas)
			return SK_KV_EXISTS;
		if (req_len > SK_KV_VALUE_MAX - cur_len || cur_len > SK_KV_VALUE_MAX)
			return SK_KV_NOT_STORED;
		out->flags = cur->flags;
		out->exp = cur->exp;
		return SK_KV_STORED;
	case SK_KV_CAS:
		if (!cur)
			return SK_KV_NOT_FOUND;
		/* a cas unique of 0 matches nothing (CAS_NONE is BADVAL here) */
		if (req->cas != 0 && req->cas == cur->cas)
			return SK_KV_STORED;
		/* ms I: an older CAS stores a stale item (CAS_STALE) */
		if (req->stale && req->cas != 0 && req->cas < cur->cas) {
			out->exp = cur->exp;
			out->stale = true;
			return SK_KV_STORED;
		}
		return SK_KV_EXISTS;
	}
	return SK_KV_ERROR;
}
