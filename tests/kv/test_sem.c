// SPDX-License-Identifier: MIT
/*
 * tests/kv/test_sem.c - unit tests of kv/sem.c and the reference model.
 *
 * The expected values are memcached 1.6.18's (doc/protocol.txt, util.c's
 * safe_strto* with glibc, items.c, memcached.c's do_add_delta), each also
 * checked against a real memcached by tests/kv/memcached-diff.sh where the
 * text protocol can reach it. The model's clock is a variable here, so
 * expiry is tested at and past its second without sleeping.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sem.h"
#include "sem_model.h"

static void test_res_strings(void **state)
{
	int r;

	for (r = 0; r < SK_KV_RES_COUNT; r++) {
		const char *s = sk_kv_res_str(r);

		assert_non_null(s);
		assert_null(strpbrk(s, "\r\n"));
	}
	assert_null(sk_kv_res_str(SK_KV_RES_COUNT));
	assert_null(sk_kv_res_str((enum sk_kv_res)-1));
	assert_string_equal(sk_kv_res_str(SK_KV_STORED), "STORED");
	assert_string_equal(sk_kv_res_str(SK_KV_ENONNUM),
			    "CLIENT_ERROR cannot increment or decrement "
			    "non-numeric value");
	assert_string_equal(sk_kv_res_str(SK_KV_ETOOLARGE),
			    "SERVER_ERROR object too large for cache");
}

static void test_key(void **state)
{
	char k[SK_KV_KEY_MAX + 1];
	int c;

	memset(k, 'a', sizeof(k));
	assert_false(sk_kv_key_ok(k, 0));
	assert_true(sk_kv_key_ok(k, 1));
	assert_true(sk_kv_key_ok(k, SK_KV_KEY_MAX));	/* at the limit */
	assert_false(sk_kv_key_ok(k, SK_KV_KEY_MAX + 1)); /* past it */
	for (c = 0; c < 256; c++) {
		bool ok = c > ' ' && c != 0x7f;

		k[5] = (char)c;
		assert_int_equal(sk_kv_key_ok(k, 10), ok);
		/* first and last byte too */
		k[5] = 'a';
		k[0] = (char)c;
		assert_int_equal(sk_kv_key_ok(k, 10), ok);
		k[0] = 'a';
		k[9] = (char)c;
		assert_int_equal(sk_kv_key_ok(k, 10), ok);
		k[9] = 'a';
	}
}

/* sk_kv_key_ok reads words: every byte value at every place of keys of
 * every length up to 24 and of 250, among neighbours that pass but sit at
 * the edges of the rule (0x21, 0x7e, 0x80, 0xff), against the rule itself
 * byte by byte. */
static void test_key_words(void **state)
{
	static const unsigned char fill[] = {'a', 0x21, 0x7e, 0x80, 0xff};
	unsigned char k[SK_KV_KEY_MAX];
	size_t len, i;
	unsigned f;
	int c;

	(void)state;
	for (len = 1; len <= SK_KV_KEY_MAX; len = len == 24 ? 250 : len + 1) {
		for (f = 0; f < sizeof(fill); f++) {
			memset(k, fill[f], sizeof(k));
			assert_true(sk_kv_key_ok(k, len));
			for (i = 0; i < len; i++) {
				for (c = 0; c < 256; c++) {
					k[i] = (unsigned char)c;
					assert_int_equal(sk_kv_key_ok(k, len),
							 c > ' ' && c != 0x7f);
				}
				k[i] = fill[f];
			}
		}
	}
}

struct u64_case {
	const char *s;
	bool ok;
	uint64_t v;
};

static void test_parse_u64(void **state)
{
	static const struct u64_case cases[] = {
		{ "0", true, 0 },
		{ "1", true, 1 },
		{ "18446744073709551615", true, UINT64_MAX },
		{ "18446744073709551616", false, 0 }, /* ERANGE */
		{ "99999999999999999999999", false, 0 },
		{ "", false, 0 },
		{ " ", false, 0 },
		{ "+", false, 0 },
		{ "-", false, 0 },
		{ "abc", false, 0 },
		{ "12abc", false, 0 },
		{ "12 abc", true, 12 }, /* white space ends the number */
		{ "12\tx", true, 12 },
		{ " \t\v\f\r\n12", true, 12 },
		{ "+12", true, 12 },
		{ "-0", true, 0 },
		{ "-1", false, 0 }, /* 2^64-1 with a '-' */
		{ "-9223372036854775808", false, 0 },
		{ "-9223372036854775809", true, 9223372036854775807ull },
		{ "-18446744073709551615", true, 1 },
		{ "-18446744073709551616", false, 0 },
		{ "9223372036854775808", true, 9223372036854775808ull },
		{ "9223372036854775808 -", false, 0 }, /* strchr sees the '-' */
		{ "- 1", false, 0 },
		{ "0x10", false, 0 },
		{ "00012", true, 12 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 77;
		bool ok = sk_kv_parse_u64(cases[i].s, strlen(cases[i].s), &v);

		if (ok != cases[i].ok || v != cases[i].v)
			fail_msg("parse_u64(\"%s\") = %d %llu, want %d %llu",
				 cases[i].s, ok, (unsigned long long)v,
				 cases[i].ok, (unsigned long long)cases[i].v);
	}
	/* the length bounds the read: "123" of "12345" is 123 */
	{
		uint64_t v;

		assert_true(sk_kv_parse_u64("12345", 3, &v));
		assert_int_equal(v, 123);
		assert_false(sk_kv_parse_u64("12345", 0, &v));
		/* a NUL ends it as in memcached */
		assert_true(sk_kv_parse_u64("12\0x", 4, &v));
		assert_int_equal(v, 12);
	}
}

static void test_parse_flags(void **state)
{
	uint32_t f;

	assert_true(sk_kv_parse_flags("0", 1, &f));
	assert_int_equal(f, 0);
	assert_true(sk_kv_parse_flags("4294967295", 10, &f));
	assert_int_equal(f, UINT32_MAX);
	/* memcached 1.6.18 would store 0 for this; kv refuses */
	assert_false(sk_kv_parse_flags("4294967296", 10, &f));
	assert_false(sk_kv_parse_flags("-1", 2, &f));
	assert_false(sk_kv_parse_flags("1x", 2, &f));
	assert_true(sk_kv_parse_flags("+5", 2, &f));
	assert_int_equal(f, 5);
}

static void test_parse_i32(void **state)
{
	int32_t v;

	assert_true(sk_kv_parse_i32("2147483647", 10, &v));
	assert_int_equal(v, INT32_MAX);
	assert_false(sk_kv_parse_i32("2147483648", 10, &v));
	assert_true(sk_kv_parse_i32("-2147483648", 11, &v));
	assert_int_equal(v, INT32_MIN);
	assert_false(sk_kv_parse_i32("-2147483649", 11, &v));
	assert_false(sk_kv_parse_i32("4294967296", 10, &v));
	assert_true(sk_kv_parse_i32("-1", 2, &v));
	assert_int_equal(v, -1);
	assert_true(sk_kv_parse_i32("-0", 2, &v));
	assert_int_equal(v, 0);
	assert_false(sk_kv_parse_i32("abc", 3, &v));
	assert_false(sk_kv_parse_i32("", 0, &v));
	assert_false(sk_kv_parse_i32("99999999999999999999", 20, &v));
}

static void test_exptime(void **state)
{
	const uint64_t now = 1800000000;

	assert_int_equal(sk_kv_exptime_abs(0, now), SK_KV_EXP_NEVER);
	assert_false(sk_kv_expired(SK_KV_EXP_NEVER, now));
	assert_false(sk_kv_expired(SK_KV_EXP_NEVER, UINT64_MAX));
	/* negative: already expired */
	assert_true(sk_kv_expired(sk_kv_exptime_abs(-1, now), now));
	assert_true(sk_kv_expired(sk_kv_exptime_abs(INT32_MIN, now), now));
	/* relative: gone once now reaches it, not before */
	assert_int_equal(sk_kv_exptime_abs(1, now), now + 1);
	assert_false(sk_kv_expired(now + 1, now));
	assert_true(sk_kv_expired(now + 1, now + 1));
	/* 30 days is the last relative value, one more is absolute (1970) */
	assert_int_equal(sk_kv_exptime_abs(SK_KV_REL_MAX, now),
			 now + SK_KV_REL_MAX);
	assert_int_equal(sk_kv_exptime_abs(SK_KV_REL_MAX + 1, now),
			 SK_KV_REL_MAX + 1);
	assert_true(sk_kv_expired(sk_kv_exptime_abs(SK_KV_REL_MAX + 1, now),
				  now));
	/* absolute in the future and in the past */
	assert_false(sk_kv_expired(sk_kv_exptime_abs(1800000100, now), now));
	assert_true(sk_kv_expired(sk_kv_exptime_abs(1800000100, now),
				  1800000100));
	assert_true(sk_kv_expired(sk_kv_exptime_abs(1799999999, now), now));
	assert_true(sk_kv_expired(sk_kv_exptime_abs(1800000000, now), now));
}

static void delta(const char *val, bool incr, uint64_t d,
		  enum sk_kv_res want, const char *want_val)
{
	char digits[SK_KV_U64_DIGITS], got[64];
	size_t nd = 0, nl = 0;
	uint64_t v;
	enum sk_kv_res r;

	r = sk_kv_delta(val, strlen(val), incr, d, &v, digits, &nd, &nl);
	if (r != want)
		fail_msg("delta(\"%s\") = %d, want %d", val, r, want);
	if (r != SK_KV_OK)
		return;
	assert_true(nl < sizeof(got));
	memcpy(got, digits, nd);
	memset(got + nd, ' ', nl - nd);
	got[nl] = '\0';
	if (strcmp(got, want_val))
		fail_msg("delta(\"%s\") stored \"%s\", want \"%s\"", val, got,
			 want_val);
}

static void test_delta(void **state)
{
	delta("10", true, 5, SK_KV_OK, "15");
	delta("18446744073709551615", true, 1, SK_KV_OK,
	      "0                   ");
	delta("18446744073709551615", true, UINT64_MAX, SK_KV_OK,
	      "18446744073709551614");
	delta("5", false, 6, SK_KV_OK, "0");
	delta("5", false, UINT64_MAX, SK_KV_OK, "0");
	delta("100", false, 91, SK_KV_OK, "9  ");
	delta("9  ", true, 1, SK_KV_OK, "10 ");
	delta("99", true, 1, SK_KV_OK, "100");
	delta("5 abc", true, 1, SK_KV_OK, "6    ");
	delta(" 12", true, 1, SK_KV_OK, "13 ");
	delta("-0", true, 1, SK_KV_OK, "1 ");
	delta("", true, 1, SK_KV_ENONNUM, NULL);
	delta("   ", true, 1, SK_KV_ENONNUM, NULL);
	delta("12abc", true, 1, SK_KV_ENONNUM, NULL);
	delta("-1", false, 1, SK_KV_ENONNUM, NULL);
	delta("18446744073709551616", true, 1, SK_KV_ENONNUM, NULL);
}

static void test_store(void **state)
{
	struct sk_kv_meta cur = { .flags = 42, .exp = 100, .cas = 9 };
	struct sk_kv_meta req = { .flags = 7, .exp = 200, .cas = 9 }, out;

	assert_int_equal(sk_kv_store_decide(SK_KV_SET, NULL, 0, &req, 1, &out),
			 SK_KV_STORED);
	assert_int_equal(out.flags, 7);
	/* A set does not read the current item (the owner skips the
	 * lookup): the same answer with one. */
	assert_false(sk_kv_store_reads_cur(SK_KV_SET));
	memset(&out, 0, sizeof(out));
	assert_int_equal(sk_kv_store_decide(SK_KV_SET, &cur,
					    SK_KV_VALUE_MAX, &req, 1, &out),
			 SK_KV_STORED);
	assert_true(out.flags == req.flags && out.exp == req.exp &&
		    out.cas == req.cas);
	for (int op = SK_KV_ADD; op <= SK_KV_CAS; op++)
		assert_true(sk_kv_store_reads_cur((enum sk_kv_op)op));
	assert_int_equal(sk_kv_store_decide(SK_KV_ADD, &cur, 1, &req, 1, &out),
			 SK_KV_NOT_STORED);
	assert_int_equal(sk_kv_store_decide(SK_KV_ADD, NULL, 0, &req, 1, &out),
			 SK_KV_STORED);
	assert_int_equal(sk_kv_store_decide(SK_KV_REPLACE, NULL, 0, &req, 1, &out),
			 SK_KV_NOT_STORED);
	assert_int_equal(sk_kv_store_decide(SK_KV_REPLACE, &cur, 1, &req, 1, &out),
			 SK_KV_STORED);
	assert_int_equal(sk_kv_store_decide(SK_KV_APPEND, NULL, 0, &req, 1, &out),
			 SK_KV_NOT_STORED);
	assert_int_equal(sk_kv_store_decide(SK_KV_PREPEND, &cur, 1, &req, 1, &out),
			 SK_KV_STORED);
	assert_int_equal(out.flags, 42); /* the old item's */
	assert_int_equal(out.exp, 100);
	/* append up to the limit, and one byte past it */
	assert_int_equal(sk_kv_store_decide(SK_KV_APPEND, &cur, SK_KV_VALUE_MAX - 1,
				     &req, 1, &out),
			 SK_KV_STORED);
	assert_int_equal(sk_kv_store_decide(SK_KV_APPEND, &cur, SK_KV_VALUE_MAX, &req,
				     1, &out),
			 SK_KV_NOT_STORED);
	/* append and prepend with a CAS: only the item's matches; 0 is
	 * none given (memcached's binary and meta append) */
	req.cas = 8;
	assert_int_equal(sk_kv_store_decide(SK_KV_APPEND, &cur, 1, &req, 1, &out),
			 SK_KV_EXISTS);
	assert_int_equal(sk_kv_store_decide(SK_KV_PREPEND, &cur, 1, &req, 1,
					    &out),
			 SK_KV_EXISTS);
	assert_int_equal(sk_kv_store_decide(SK_KV_APPEND, NULL, 0, &req, 1, &out),
			 SK_KV_NOT_STORED);
	req.cas = 0;
	assert_int_equal(sk_kv_store_decide(SK_KV_APPEND, &cur, 1, &req, 1, &out),
			 SK_KV_STORED);
	req.cas = 9;
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, NULL, 0, &req, 1, &out),
			 SK_KV_NOT_FOUND);
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, &cur, 1, &req, 1, &out),
			 SK_KV_STORED);
	req.cas = 8;
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, &cur, 1, &req, 1, &out),
			 SK_KV_EXISTS);
	/* ms I (stale): a CAS below the item's stores, stale, with the old
	 * expiry; the item's own CAS stores as ever, not stale; above it, 0,
	 * or another op, the stale flag changes nothing. */
	req.stale = true;
	req.cas = 8;
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, &cur, 1, &req, 1, &out),
			 SK_KV_STORED);
	assert_true(out.stale);
	assert_int_equal(out.exp, cur.exp);
	assert_int_equal(out.flags, req.flags);
	req.cas = 9;
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, &cur, 1, &req, 1, &out),
			 SK_KV_STORED);
	assert_false(out.stale);
	assert_int_equal(out.exp, req.exp);
	req.cas = 10;
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, &cur, 1, &req, 1, &out),
			 SK_KV_EXISTS);
	req.cas = 0;
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, &cur, 1, &req, 1, &out),
			 SK_KV_EXISTS);
	req.cas = 8;
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, NULL, 0, &req, 1, &out),
			 SK_KV_NOT_FOUND);
	assert_int_equal(sk_kv_store_decide(SK_KV_APPEND, &cur, 1, &req, 1,
					    &out),
			 SK_KV_EXISTS);
	assert_int_equal(sk_kv_store_decide(SK_KV_SET, &cur, 1, &req, 1, &out),
			 SK_KV_STORED);
	assert_false(out.stale);
	req.stale = false;
	req.cas = 0;
	cur.cas = 0;
	assert_int_equal(sk_kv_store_decide(SK_KV_CAS, &cur, 1, &req, 1, &out),
			 SK_KV_EXISTS);
	assert_true(sk_kv_value_ok(SK_KV_VALUE_MAX));
	assert_false(sk_kv_value_ok(SK_KV_VALUE_MAX + 1));
}

/* ---- the model, with a clock the test moves ---- */

static uint64_t fake_now;

static uint64_t now_fn(void *arg)
{
	return fake_now;
}

static void exchange(struct skm *m, const char *in, const char *want)
{
	struct skm_buf out = { 0 };
	long used = skm_exec(m, in, strlen(in), &out);

	assert_int_equal(used, strlen(in));
	assert_true(skm_buf_put(&out, "", 1) == 0);
	if (strcmp(out.p, want))
		fail_msg("model: %s -> %s, want %s", in, out.p, want);
	skm_buf_free(&out);
}

static void test_model(void **state)
{
	struct skm *m;
	struct skm_buf out = { 0 };

	fake_now = 1800000000;
	m = skm_new(now_fn, NULL);
	assert_non_null(m);
	exchange(m, "set k 1 10 2\r\nab\r\n", "STORED\r\n");
	exchange(m, "get k\r\n", "VALUE k 1 2\r\nab\r\nEND\r\n");
	fake_now += 9;
	exchange(m, "get k\r\n", "VALUE k 1 2\r\nab\r\nEND\r\n");
	fake_now += 1; /* at its second: gone */
	exchange(m, "get k\r\n", "END\r\n");
	exchange(m, "set k 0 1800000005 1\r\na\r\n", "STORED\r\n");
	exchange(m, "get k\r\n", "END\r\n");
	exchange(m, "set k 0 1800000011 1\r\na\r\n", "STORED\r\n");
	exchange(m, "get k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n");
	exchange(m, "gat 0 k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n");
	fake_now += 100;
	exchange(m, "get k\r\n", "VALUE k 0 1\r\na\r\nEND\r\n");
	exchange(m, "incr k 1\r\n",
		 "CLIENT_ERROR cannot increment or decrement non-numeric "
		 "value\r\n");
	exchange(m, "set n 0 0 1\r\n9\r\nincr n 1\r\nget n\r\n",
		 "STORED\r\n10\r\nVALUE n 0 2\r\n10\r\nEND\r\n");
	exchange(m, "set a\tb 0 0 1\r\nx\r\n",
		 "CLIENT_ERROR bad command line format\r\nERROR\r\n");
	/* an incomplete data block is left for later */
	assert_int_equal(skm_exec(m, "get k\r\nset k 0 0 5\r\nab", 25, &out),
			 7);
	skm_buf_free(&out);
	skm_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_res_strings),
		cmocka_unit_test(test_key),
		cmocka_unit_test(test_key_words),
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_flags),
		cmocka_unit_test(test_parse_i32),
		cmocka_unit_test(test_exptime),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_store),
		cmocka_unit_test(test_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
