/* SPDX-License-Identifier: MIT */
/*
 * kv/sem.h - memcached's semantics, without storage.
 *
 * Pure functions that decide what memcached 1.6.18 would answer: which keys
 * and field values it takes, how it reads an exptime, what incr and decr
 * make of a stored value, which stores go through, and the exact reply
 * strings. kv's owner and the skcached gateway both use them, so that the
 * project has one copy of these rules; tests/kv/memcached-diff checks them,
 * through a reference model, against a real memcached in the same run.
 *
 * Nothing here allocates, locks or reads a clock: "now" is always an
 * argument (whole Unix seconds). No parser reads past the length it is
 * given; none needs a NUL terminator.
 *
 * Where kv deliberately differs from memcached 1.6.18 (the rules,
 * or memcached truncating out-of-range numbers), the function's comment
 * says so, and the differential test's case file records both answers.
 */
#ifndef SKIFF_KV_SEM_H
#define SKIFF_KV_SEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* memcached's KEY_MAX_LENGTH */
#define SK_KV_KEY_MAX 250
/*
 * The largest value kv stores: 1 MiB of value bytes, whatever the key.
 * memcached's limit (-I 1m) is on the whole item: 48 bytes of header, 8 of
 * CAS, the key and a NUL, the value and "\r\n" must fit in 1048576, so the
 * largest value it takes is 1048517 - nkey bytes: 1048516 with a 1-byte
 * key, 1048267 with a 250-byte key (measured, tests/kv/memcached-cases).
 * kv keeps key and value apart and takes values up to exactly
 * SK_KV_VALUE_MAX, so values of 1048518 - nkey .. 1048576 bytes are the one
 * size range where kv stores and memcached refuses.
 */
#define SK_KV_VALUE_MAX (1u << 20)
/* memcached's REALTIME_MAXDELTA: exptimes up to this are relative */
#define SK_KV_REL_MAX (60 * 60 * 24 * 30)
/* digits of UINT64_MAX, the longest incr/decr result */
#define SK_KV_U64_DIGITS 20

/* Every outcome a client can see (enum sk_kv_res): public, in kv.h's
 * kv_res.h, because kv's API returns them. */
#include "include/skiff/kv_res.h"

#pragma GCC visibility push(hidden) /* kv's own (kv_int.h) */

/*
 * kv's key rule: 1..SK_KV_KEY_MAX bytes, none of them a control character
 * (0x00-0x1f, 0x7f) or a space. Bytes 0x80-0xff are allowed (UTF-8 keys).
 *
 * memcached 1.6.18's text protocol is laxer than its own protocol.txt: it
 * splits a command line on ' ' only, ends it at '\n' (dropping one '\r'
 * before it) and cuts it at the first NUL (strlen), and checks only the
 * length. So it stores keys containing \t, \r, \v, \f, 0x01-0x1f and 0x7f;
 * a key cannot contain ' ', '\n' or NUL only because the line cannot carry
 * them. sk_kv_key_ok refuses those keys (protocol.txt's rule, kv's by
 * default: kv.h's SK_KV_EFORMAT, as memcached answers a 251-byte key);
 * a table opened with sk_kv_attr.any_keys takes them, as skcached's
 * does (sk_kv_key_len_ok).
 */
bool sk_kv_key_ok_any(const void *key, size_t len);

/*
 * Whether any of the 8 bytes of w is a control character, a space or DEL
 * (a high bit per such byte): below 0x21 (the "has less than" test:
 * (w - 0x21..) & ~w keeps a byte's top bit when it borrowed and had none;
 * a false hit can only sit above a true one, so the test as a whole is
 * exact for bounds up to 0x80), or 0x7f (the same test for a zero byte of
 * w ^ 0x7f..).
 */
static inline uint64_t sk_kv_key_word_bad(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t d = w ^ (0x7f * ones);

	return (((w - 0x21 * ones) & ~w) | ((d - ones) & ~d)) & (0x80 * ones);
}

/* The length alone: 1 to SK_KV_KEY_MAX bytes (what the wire carries, and
 * all of the key rule of a table opened with sk_kv_attr.any_keys). */
static inline bool sk_kv_key_len_ok(size_t len)
{
	return len - 1 < SK_KV_KEY_MAX;
}

/* sk_kv_key_ok, the common 8-16 byte keys inline (every update's first
 * check at the owner): their first and last 8 bytes, one test. */
static inline bool sk_kv_key_ok(const void *key, size_t len)
{
	const unsigned char *k = key;
	uint64_t w, v;

	if (len < 8 || len > 16)
		return sk_kv_key_ok_any(key, len);
	memcpy(&w, k, 8);
	memcpy(&v, k + len - 8, 8);
	return !(sk_kv_key_word_bad(w) | sk_kv_key_word_bad(v));
}

/*
 * The field parsers read one token of a command line, as memcached's
 * safe_strtoull/safe_strtoul/safe_strtol do with glibc in the C locale:
 * leading white space (' ', \t, \n, \v, \f, \r) skipped, an optional '+' or
 * '-', at least one decimal digit, and then the end of the token, a NUL or
 * white space (the rest is ignored). A '-' makes strtoull negate modulo
 * 2^64, and memcached refuses the result only if it is >= 2^63 as well
 * (so "-0" is 0, and "-18446744073709551615" is 1).
 *
 * sk_kv_parse_u64: the cas unique and incr/decr's delta; exactly memcached.
 */
bool sk_kv_parse_u64(const char *s, size_t len, uint64_t *out);

/*
 * sk_kv_parse_flags: the 32-bit client flags. memcached 1.6.18 parses them
 * into an unsigned long and stores the low 32 bits, so it takes
 * "4294967296" as flags 0; kv refuses anything above UINT32_MAX.
 */
bool sk_kv_parse_flags(const char *s, size_t len, uint32_t *out);

/*
 * sk_kv_parse_i32: exptime and the data length. memcached 1.6.18 parses a
 * long and keeps the low 32 bits (exptime 4294967296 is 0, never expires;
 * 2147483648 is negative, already expired; length 4294967297 is 1); kv
 * refuses anything outside INT32_MIN..INT32_MAX. The caller checks the
 * sign of a length (memcached: SK_KV_EFORMAT for a negative one).
 */
bool sk_kv_parse_i32(const char *s, size_t len, int32_t *out);

/*
 * Expiry. An item's expiry is kept as absolute Unix seconds, 0 = never.
 *
 * sk_kv_exptime_abs turns the exptime field into that, as memcached's
 * realtime(): 0 is never; 1..SK_KV_REL_MAX (30 days) is relative to now;
 * above that it is an absolute Unix time (one in the past means expired
 * at once); a negative one means already expired (SK_KV_EXP_PAST).
 *
 * sk_kv_expired: an item is gone once now >= its expiry. memcached's now
 * is its own coarse clock: process start (wall clock at start, minus 62 s)
 * plus monotonic whole seconds, bumped once a second by a timer, so an
 * item set with exptime 1 lives between 0 and about 1 s; an absolute
 * exptime is read against that clock, not against later wall-clock steps.
 * kv's owner passes its own clock; readers must use the owner's.
 */
#define SK_KV_EXP_NEVER 0
#define SK_KV_EXP_PAST 1
static inline uint64_t sk_kv_exptime_abs(int32_t exptime, uint64_t now)
{
	if (exptime == 0)
		return SK_KV_EXP_NEVER;
	/* EXPTIME_TO_POSITIVE_TIME: negative becomes a time long past */
	if (exptime < 0)
		return SK_KV_EXP_PAST;
	if (exptime <= SK_KV_REL_MAX)
		return now + (uint64_t)exptime;
	/*
	 * Absolute. realtime() maps a time at or before the server's start
	 * to "1 s after start", which is past; any time <= now is past here.
	 * It cannot be 0 (never), being > SK_KV_REL_MAX.
	 */
	return (uint64_t)exptime;
}
bool sk_kv_expired(uint64_t exp, uint64_t now);

/*
 * incr/decr on a stored value.
 *
 * sk_kv_value_u64: how memcached reads the stored value: as
 * sk_kv_parse_u64 reads a token, the item's trailing "\r\n" standing for
 * the end. So " 12", "12 abc", "12\t", "+12" and "-0" are numbers; "",
 * "12abc", "abc", "-1" and "18446744073709551616" are not
 * (SK_KV_ENONNUM). memcached also refuses any item stored in chunks,
 * whatever it holds, and before it tests a CAS: sk_kv_mc_chunked, which
 * the owner applies too (kv_own_delta). kv does not emulate memcached on
 * a value of only white space, where
 * strtoull reads on past the item (1.6.18 then answers with digits from
 * whatever follows in the slab); kv answers SK_KV_ENONNUM.
 *
 * sk_kv_delta: the whole operation. incr adds modulo 2^64; decr stops at
 * 0. It writes the new number's digits to digits[] (no NUL) and their count
 * to *ndigits, and the new value's length to *new_len: memcached 1.6.18
 * rewrites a value in place when the number still fits, padding it with
 * spaces to the old length ("100" decr 91 reads "9  "), and otherwise
 * makes a value of exactly the digits. The stored value is digits[]
 * followed by new_len - ndigits spaces. The reply is the digits alone.
 * Flags and expiry are kept; the item gets a new CAS.
 */
bool sk_kv_value_u64(const void *val, size_t len, uint64_t *out);

/*
 * Whether memcached 1.6.18 at its defaults (-I 1m: 512 KiB chunks) stores
 * an item of this key length, client flags and value length in chunks:
 * its 48-byte header, the CAS, the key and a NUL, the flags unless 0, the
 * value and its "\r\n", past 512 KiB (checked against memcached: under a
 * 1-byte key a value of 524229 bytes, or 524225 with flags, is chunked).
 */
static inline bool sk_kv_mc_chunked(size_t klen, uint32_t flags, size_t vlen)
{
	return 48 + 8 + klen + 1 + (flags ? 4 : 0) + vlen + 2 > 512 * 1024;
}
enum sk_kv_res sk_kv_delta(const void *val, size_t len, bool incr,
			   uint64_t delta, uint64_t *result,
			   char digits[SK_KV_U64_DIGITS], size_t *ndigits,
			   size_t *new_len);

/*
 * The storage commands (enum sk_kv_op, kv_res.h). cur is the live item (NULL if there is none or it
 * has expired), req the request's flags, expiry and (for cas) cas unique.
 * On SK_KV_STORED, *out holds the flags and expiry the stored item gets:
 * the request's for set/add/replace/cas, the old item's for
 * append/prepend, which ignore the request's. The caller then gives it a
 * new CAS and stores the value (for append/prepend, the old value with the
 * new one after/before it). Otherwise the result is:
 *   add on a live item, replace/append/prepend on none: SK_KV_NOT_STORED;
 *   cas on none: SK_KV_NOT_FOUND; cas with another cas unique (0 too):
 *   SK_KV_EXISTS; append/prepend with a cas unique other than 0 and the
 *   item's: SK_KV_EXISTS;
 *   append/prepend past SK_KV_VALUE_MAX: SK_KV_NOT_STORED (memcached's
 *   answer when it cannot allocate the joined item).
 * A cas with req->stale (memcached's ms I) whose cas unique is below the
 * item's (and not 0) stores all the same, as memcached's CAS_STALE: *out
 * has the old item's expiry and stale set (the new item is stale, and
 * keeps the old one's token). out->stale is false on every other path.
 * The value's own size is checked first, by sk_kv_value_ok
 * (SK_KV_ETOOLARGE, after which memcached reads and drops the data block).
 */
struct sk_kv_meta {
	uint32_t flags;
	uint64_t exp; /* absolute, sk_kv_exptime_abs */
	uint64_t cas;
	bool stale;   /* req: ms I; out: the item is stored stale */
};

static inline bool sk_kv_value_ok(size_t len)
{
	return len <= SK_KV_VALUE_MAX;
}

enum sk_kv_res sk_kv_store_decide(enum sk_kv_op op,
				  const struct sk_kv_meta *cur, size_t cur_len,
				  const struct sk_kv_meta *req, size_t req_len,
				  struct sk_kv_meta *out);

/* Whether sk_kv_store_decide's answer for @op depends on the current item
 * (cur, cur_len): not for a set, which stores whatever is there, so an
 * owner need not look the key up first. */
static inline bool sk_kv_store_reads_cur(enum sk_kv_op op)
{
	return op != SK_KV_SET;
}

/*
 * touch and gat/gats: on a live item, set its expiry to
 * sk_kv_exptime_abs(exptime, now) and keep its value, flags and CAS
 * (touch answers SK_KV_TOUCHED, gat the value as get does); on none,
 * SK_KV_NOT_FOUND (gat: no VALUE line). delete: SK_KV_DELETED or
 * SK_KV_NOT_FOUND. get/gets never change anything.
 */

#pragma GCC visibility pop

#endif
