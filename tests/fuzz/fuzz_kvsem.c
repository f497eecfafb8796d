/*
 * libFuzzer target for kv's memcached semantics (kv/sem.c): the parsers of
 * a client's bytes (keys, flags, exptime, lengths, cas uniques, deltas,
 * and stored values read by incr/decr) and, through the reference model
 * (tests/kv/sem_model.c), whole text-protocol command streams.
 *
 * Every parser gets an exact-size heap copy of the input, so ASan sees a
 * read past its end (they take a length and need no NUL). Oracles, each an
 * abort:
 *
 *  - sk_kv_parse_u64 agrees, verdict and value, with memcached 1.6.18's
 *    own safe_strtoull (util.c, copied below as it is) run through glibc's
 *    strtoull on a NUL-terminated copy; sk_kv_parse_flags with its
 *    safe_strtoul plus kv's 32-bit range check; sk_kv_parse_i32 with its
 *    safe_strtol before the truncation to 32 bits, plus kv's range check;
 *  - sk_kv_key_ok agrees with the rule spelled out byte by byte;
 *  - sk_kv_delta on the input as a stored value: refuses exactly what
 *    sk_kv_value_u64 refuses; otherwise gives the wrapped sum or the
 *    floored difference, its digits as "%llu" prints them, and a length
 *    of max(old length, digits);
 *  - sk_kv_exptime_abs/sk_kv_expired keep memcached's reading for any
 *    exptime the input parses to;
 *  - the model takes the input as a command stream without crashing,
 *    uses no more than it was given, and ends every reply with "\r\n".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sem.h"
#include "../kv/sem_model.h"
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- memcached 1.6.18's util.c, as it is (xisspace: isspace) ---- */

#include <ctype.h>
#define xisspace(c) isspace((unsigned char)c)

static bool safe_strtoull(const char *str, uint64_t *out)
{
	errno = 0;
	*out = 0;
	char *endptr;
	unsigned long long ull = strtoull(str, &endptr, 10);
	if ((errno == ERANGE) || (str == endptr))
		return false;
	if (xisspace(*endptr) || (*endptr == '\0' && endptr != str)) {
		if ((long long)ull < 0) {
			if (strchr(str, '-') != NULL)
				return false;
		}
		*out = ull;
		return true;
	}
	return false;
}

static bool safe_strtoul(const char *str, unsigned long *out)
{
	char *endptr = NULL;
	unsigned long l = 0;
	*out = 0;
	errno = 0;
	l = strtoul(str, &endptr, 10);
	if ((errno == ERANGE) || (str == endptr))
		return false;
	if (xisspace(*endptr) || (*endptr == '\0' && endptr != str)) {
		if ((long)l < 0) {
			if (strchr(str, '-') != NULL)
				return false;
		}
		*out = l; /* memcached stores this into a uint32_t */
		return true;
	}
	return false;
}

static bool safe_strtol(const char *str, long *out)
{
	errno = 0;
	*out = 0;
	char *endptr;
	long l = strtol(str, &endptr, 10);
	if ((errno == ERANGE) || (str == endptr))
		return false;
	if (xisspace(*endptr) || (*endptr == '\0' && endptr != str)) {
		*out = l; /* memcached stores this into an int32_t */
		return true;
	}
	return false;
}

/* ---- the oracles ---- */

static uint64_t fixed_now(void *arg)
{
	return 1800000000;
}

static void check_parsers(const uint8_t *data, size_t size)
{
	char *buf = (char *)fuzz_dup(data, size);
	char *z = malloc(size + 1);
	uint64_t u, ru;
	unsigned long rl;
	long rsl;
	uint32_t f;
	int32_t i;
	bool ok, rok;

	check(z != NULL);
	memcpy(z, data, size);
	z[size] = '\0'; /* memcached's view: the token up to its first NUL */

	ok = sk_kv_parse_u64(buf, size, &u);
	rok = safe_strtoull(z, &ru);
	check(ok == rok);
	check(!ok || u == ru);
	check(ok || u == 0);

	ok = sk_kv_parse_flags(buf, size, &f);
	rok = safe_strtoul(z, &rl) && rl <= UINT32_MAX;
	check(ok == rok);
	check(!ok || f == rl);

	ok = sk_kv_parse_i32(buf, size, &i);
	rok = safe_strtol(z, &rsl) && rsl >= INT32_MIN && rsl <= INT32_MAX;
	check(ok == rok);
	check(!ok || i == rsl);
	if (ok) {
		const uint64_t now = 1800000000;
		uint64_t e = sk_kv_exptime_abs(i, now);

		if (i == 0)
			check(e == SK_KV_EXP_NEVER && !sk_kv_expired(e, now));
		else if (i < 0)
			check(sk_kv_expired(e, 1) && sk_kv_expired(e, now));
		else if (i <= SK_KV_REL_MAX)
			check(e == now + (uint64_t)i && !sk_kv_expired(e, now) &&
			      sk_kv_expired(e, e));
		else
			check(e == (uint64_t)i &&
			      sk_kv_expired(e, now) == ((uint64_t)i <= now));
	}

	ok = size >= 1 && size <= SK_KV_KEY_MAX;
	for (size_t k = 0; k < size && ok; k++)
		ok = data[k] > 0x20 && data[k] != 0x7f;
	check(sk_kv_key_ok(buf, size) == ok);

	free(z);
	free(buf);
}

static void check_delta(const uint8_t *data, size_t size)
{
	char digits[SK_KV_U64_DIGITS], want[32];
	uint64_t delta = 0, v, res = 0;
	size_t nd = 0, nl = 0, vlen;
	bool incr;
	uint8_t *val;
	enum sk_kv_res r;

	/* first byte: incr or decr; next 8: the delta; the rest: the value */
	if (size < 9)
		return;
	incr = data[0] & 1;
	memcpy(&delta, data + 1, 8);
	vlen = size - 9;
	val = fuzz_dup(data + 9, vlen);
	r = sk_kv_delta(val, vlen, incr, delta, &res, digits, &nd, &nl);
	if (!sk_kv_value_u64(val, vlen, &v)) {
		check(r == SK_KV_ENONNUM);
		free(val);
		return;
	}
	check(r == SK_KV_OK);
	if (incr)
		check(res == v + delta);
	else
		check(res == (delta > v ? 0 : v - delta));
	snprintf(want, sizeof(want), "%llu", (unsigned long long)res);
	check(nd == strlen(want) && !memcmp(digits, want, nd));
	check(nl == (nd > vlen ? nd : vlen));
	free(val);
}

static void check_model(const uint8_t *data, size_t size)
{
	struct skm_buf out = { 0 };
	struct skm *m = skm_new(fixed_now, NULL);
	char *buf = (char *)fuzz_dup(data, size);
	long used;

	check(m != NULL);
	used = skm_exec(m, buf, size, &out);
	check(used >= 0 && (size_t)used <= size);
	check(out.len == 0 ||
	      (out.len >= 2 && !memcmp(out.p + out.len - 2, "\r\n", 2)));
	skm_buf_free(&out);
	skm_free(m);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_parsers(data, size);
	check_delta(data, size);
	check_model(data, size);
	return 0;
}
