/*
 * Unit tests of the blob codec (verbs/wire.c): the envelope every packed
 * endpoint address and memory descriptor carries, the field readers and
 * writers, and the range check of descriptors. Round trips prove what a
 * writer produces a reader takes back; the rest feeds the reader what a
 * peer could send instead (truncated, padded, foreign, corrupted) and
 * checks that each is refused with the status the API promises. The codec
 * logs every refusal on stderr; that noise is expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <skiff/le.h>
#include <skiff/verbs.h>

#include "../../verbs/wire.h"

/* The envelope, byte by byte (wire.h); peers depend on every offset. */
#define OFF_MAGIC    0
#define OFF_VERSION  4
#define OFF_PROVIDER 5
#define OFF_BODY_LEN 6
#define OFF_BODY     8

_Static_assert(SK_WIRE_HDR_LEN == 8, "envelope is 8 bytes");
_Static_assert(SK_WIRE_CHECK_LEN == 4, "check word is 4 bytes");
_Static_assert(OFF_BODY_LEN + 2 == SK_WIRE_HDR_LEN,
	       "body_len is the last field of the envelope");
_Static_assert(SK_WIRE_MAGIC_EP == 0x50454b53u, "\"SKEP\" little-endian");
_Static_assert(SK_WIRE_MAGIC_MR == 0x524d4b53u, "\"SKMR\" little-endian");
_Static_assert(SK_WIRE_VERSION == 1, "a version bump is a wire change");
_Static_assert(SK_WIRE_PROV_RDMA == 1 && SK_WIRE_PROV_UCX == 2,
	       "provider ids are on the wire");
_Static_assert(SK_WIRE_HDR_LEN + UINT16_MAX + SK_WIRE_CHECK_LEN > SK_BLOB_MAX,
	       "body_len can describe every blob the API allows");

#define BODY_MAX UINT16_MAX
#define BLOB_MAX (SK_WIRE_HDR_LEN + BODY_MAX + SK_WIRE_CHECK_LEN)

/* Recompute the check word after a test edited the blob on purpose. */
static void reseal(uint8_t *blob, size_t len)
{
	sk_le32_put(blob + len - SK_WIRE_CHECK_LEN,
		 sk_wire_hash32(blob, len - SK_WIRE_CHECK_LEN));
}

/* A blob with one field of every width, as the providers write them. */
static const uint8_t sample_bytes[5] = {0xde, 0xad, 0xbe, 0xef, 0x00};
#define SAMPLE_BODY (1 + 2 + 4 + 8 + sizeof(sample_bytes))
#define SAMPLE_LEN  (SK_WIRE_HDR_LEN + SAMPLE_BODY + SK_WIRE_CHECK_LEN)

/* The sample body: one field of each width, then bytes. */
static void put_sample(struct sk_wire_writer *w)
{
	sk_wire_put_u8(w, 0xa5);
	sk_wire_put_u16(w, 0xbeef);
	sk_wire_put_u32(w, 0xdeadbeef);
	sk_wire_put_u64(w, 0x0123456789abcdefull);
	sk_wire_put_bytes(w, sample_bytes, sizeof(sample_bytes));
}

static size_t make_sample(uint8_t *buf, size_t cap, uint32_t magic,
			  uint8_t prov)
{
	struct sk_wire_writer w;
	size_t len = 0;

	sk_wire_begin(&w, buf, cap);
	put_sample(&w);
	assert_int_equal(sk_wire_finish(&w, magic, prov, &len), SK_OK);
	assert_int_equal(len, SAMPLE_LEN);
	return len;
}

/* Seal @w's body as a ucx endpoint envelope and open it again into @r;
 * returns the envelope's length. */
static size_t seal_open_ep(struct sk_wire_writer *w, const uint8_t *buf,
			   struct sk_wire_reader *r)
{
	size_t len = 0;

	assert_int_equal(
		sk_wire_finish(w, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_UCX, &len),
		SK_OK);
	assert_int_equal(sk_wire_open(buf, len, SK_WIRE_MAGIC_EP,
				      SK_WIRE_PROV_UCX, "test", r),
			 SK_OK);
	return len;
}

/* Read the sample body back; SK_OK only if it was exactly that. */
static sk_status_t read_sample(const uint8_t *buf, size_t len)
{
	struct sk_wire_reader r;
	const uint8_t *bytes;
	sk_status_t st;

	st = sk_wire_open(buf, len, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_UCX, "test",
			  &r);
	if (st != SK_OK)
		return st;
	assert_int_equal(sk_wire_get_u8(&r), 0xa5);
	assert_int_equal(sk_wire_get_u16(&r), 0xbeef);
	assert_int_equal(sk_wire_get_u32(&r), 0xdeadbeef);
	assert_true(sk_wire_get_u64(&r) == 0x0123456789abcdefull);
	bytes = sk_wire_get_bytes(&r, sizeof(sample_bytes));
	assert_non_null(bytes);
	assert_memory_equal(bytes, sample_bytes, sizeof(sample_bytes));
	return sk_wire_end(&r, "test");
}

/* ---- layout and round trips ---- */

static void test_envelope_layout(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);

	(void)state;
	assert_memory_equal(buf + OFF_MAGIC, "SKEP", 4);
	assert_int_equal(buf[OFF_VERSION], SK_WIRE_VERSION);
	assert_int_equal(buf[OFF_PROVIDER], SK_WIRE_PROV_UCX);
	assert_int_equal(buf[OFF_BODY_LEN] | buf[OFF_BODY_LEN + 1] << 8,
			 SAMPLE_BODY);
	/* Fields are little-endian and packed, in writing order. */
	assert_int_equal(buf[OFF_BODY], 0xa5);
	assert_int_equal(buf[OFF_BODY + 1], 0xef);
	assert_int_equal(buf[OFF_BODY + 2], 0xbe);
	assert_int_equal(sk_le32_get(buf + OFF_BODY + 3), 0xdeadbeef);
	assert_int_equal(buf[OFF_BODY + 7], 0xef);
	assert_int_equal(buf[OFF_BODY + 14], 0x01);
	assert_memory_equal(buf + OFF_BODY + 15, sample_bytes,
			    sizeof(sample_bytes));
	assert_int_equal(sk_le32_get(buf + len - SK_WIRE_CHECK_LEN),
			 sk_wire_hash32(buf, len - SK_WIRE_CHECK_LEN));

	len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_MR,
			  SK_WIRE_PROV_RDMA);
	assert_memory_equal(buf + OFF_MAGIC, "SKMR", 4);
	assert_int_equal(buf[OFF_PROVIDER], SK_WIRE_PROV_RDMA);
}

/*
 * skiff/le.h is the byte order of every format and of the tests' models
 * of them, so it is checked here against literal bytes, not against
 * itself: any offset (unaligned), and the top bit of every width set.
 */
static void test_le_codec(void **state)
{
	static const uint8_t want[8] = {
		0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x81,
	};
	uint8_t b[9];

	(void)state;
	memset(b, 0, sizeof(b));
	sk_le64_put(b + 1, 0x8123456789abcdefull);
	assert_int_equal(b[0], 0);
	assert_memory_equal(b + 1, want, 8);
	assert_true(sk_le64_get(b + 1) == 0x8123456789abcdefull);
	assert_int_equal(sk_le32_get(b + 1), 0x89abcdef);
	assert_int_equal(sk_le32_get(b + 5), 0x81234567);
	assert_int_equal(sk_le16_get(b + 1), 0xcdef);
	assert_int_equal(sk_le16_get(b + 7), 0x8123);

	memset(b, 0, sizeof(b));
	sk_le32_put(b + 3, 0x89abcdef);
	assert_memory_equal(b + 3, want, 4);
	assert_int_equal(b[7], 0);
	sk_le16_put(b + 1, 0xcdef);
	assert_memory_equal(b + 1, want, 2);
	assert_int_equal(b[0], 0);
}

static void test_hash_vectors(void **state)
{
	(void)state;
	/* Published FNV-1a 32-bit test vectors. */
	assert_int_equal(sk_wire_hash32("", 0), 0x811c9dc5u);
	assert_int_equal(sk_wire_hash32("a", 1), 0xe40c292cu);
	assert_int_equal(sk_wire_hash32("foobar", 6), 0xbf9cf968u);
}

static void test_roundtrip_sample(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);

	(void)state;
	assert_int_equal(read_sample(buf, len), SK_OK);
}

/* Every width at its edges: 0, 1, the sign bit, all ones. */
static void test_roundtrip_widths(void **state)
{
	/* clang-format off */
	static const uint64_t vals[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
		0x7fffffffu, 0x80000000u, 0xffffffffu,
		0x7fffffffffffffffull, 0x8000000000000000ull, UINT64_MAX,
		0x0102030405060708ull,
	};
	/* clang-format on */
	const size_t n = sizeof(vals) / sizeof(vals[0]);
	uint8_t buf[SK_WIRE_HDR_LEN + 15 * sizeof(vals) + SK_WIRE_CHECK_LEN];
	struct sk_wire_writer w;
	struct sk_wire_reader r;
	size_t len = 0;

	(void)state;
	sk_wire_begin(&w, buf, sizeof(buf));
	for (size_t i = 0; i < n; i++) {
		sk_wire_put_u8(&w, (uint8_t)vals[i]);
		sk_wire_put_u16(&w, (uint16_t)vals[i]);
		sk_wire_put_u32(&w, (uint32_t)vals[i]);
		sk_wire_put_u64(&w, vals[i]);
	}
	assert_int_equal(
		sk_wire_finish(&w, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_RDMA, &len),
		SK_OK);
	assert_int_equal(len, SK_WIRE_HDR_LEN + 15 * n + SK_WIRE_CHECK_LEN);

	assert_int_equal(sk_wire_open(buf, len, SK_WIRE_MAGIC_MR,
				      SK_WIRE_PROV_RDMA, "test", &r),
			 SK_OK);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(sk_wire_get_u8(&r), (uint8_t)vals[i]);
		assert_int_equal(sk_wire_get_u16(&r), (uint16_t)vals[i]);
		assert_int_equal(sk_wire_get_u32(&r), (uint32_t)vals[i]);
		assert_true(sk_wire_get_u64(&r) == vals[i]);
	}
	assert_int_equal(sk_wire_end(&r, "test"), SK_OK);
}

static void test_roundtrip_empty_body(void **state)
{
	uint8_t buf[SK_WIRE_HDR_LEN + SK_WIRE_CHECK_LEN];
	struct sk_wire_writer w;
	struct sk_wire_reader r;

	(void)state;
	sk_wire_begin(&w, buf, sizeof(buf));
	sk_wire_put_bytes(&w, NULL, 0);
	assert_int_equal(seal_open_ep(&w, buf, &r), sizeof(buf));
	assert_int_equal(r.left, 0);
	assert_non_null(sk_wire_get_bytes(&r, 0));
	assert_int_equal(sk_wire_end(&r, "test"), SK_OK);
}

/* The largest body the u16 length can describe, and one byte more. */
static void test_roundtrip_max_body(void **state)
{
	uint8_t *buf = malloc(BLOB_MAX + 1);
	uint8_t *body = malloc(BODY_MAX + 1);
	struct sk_wire_writer w;
	struct sk_wire_reader r;
	const uint8_t *got;
	size_t len = 0;

	(void)state;
	assert_non_null(buf);
	assert_non_null(body);
	for (size_t i = 0; i <= BODY_MAX; i++)
		body[i] = (uint8_t)(i * 7);
	sk_wire_begin(&w, buf, BLOB_MAX);
	sk_wire_put_bytes(&w, body, BODY_MAX);
	assert_int_equal(
		sk_wire_finish(&w, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_UCX, &len),
		SK_OK);
	assert_int_equal(len, BLOB_MAX);
	assert_int_equal(sk_wire_open(buf, len, SK_WIRE_MAGIC_MR,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_OK);
	got = sk_wire_get_bytes(&r, BODY_MAX);
	assert_non_null(got);
	assert_memory_equal(got, body, BODY_MAX);
	assert_int_equal(sk_wire_end(&r, "test"), SK_OK);

	/* 65536 bytes of body do not fit the length field. */
	sk_wire_begin(&w, buf, BLOB_MAX + 1);
	sk_wire_put_bytes(&w, body, BODY_MAX + 1);
	assert_int_equal(
		sk_wire_finish(&w, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_UCX, &len),
		SK_ERR_INVAL);
	free(body);
	free(buf);
}

/* ---- refusals at the envelope ---- */

static void test_truncated_every_length(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);

	(void)state;
	for (size_t i = 0; i < len; i++) {
		/* A heap copy of exactly i bytes: ASan sees any overread. */
		uint8_t *cut = malloc(i ? i : 1);
		struct sk_wire_reader r;

		assert_non_null(cut);
		memcpy(cut, buf, i);
		assert_int_equal(sk_wire_open(cut, i, SK_WIRE_MAGIC_EP,
					      SK_WIRE_PROV_UCX, "test", &r),
				 SK_ERR_MALFORMED);
		free(cut);
	}
}

static void test_null_buffer(void **state)
{
	struct sk_wire_reader r;

	(void)state;
	assert_int_equal(sk_wire_open(NULL, 0, SK_WIRE_MAGIC_EP,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_ERR_MALFORMED);
	assert_int_equal(sk_wire_open(NULL, SAMPLE_LEN, SK_WIRE_MAGIC_EP,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_ERR_MALFORMED);
}

static void test_wrong_magic(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);
	struct sk_wire_reader r;

	(void)state;
	/* An endpoint address where a descriptor is expected. */
	assert_int_equal(sk_wire_open(buf, len, SK_WIRE_MAGIC_MR,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_ERR_MALFORMED);
	/* Garbage magic, even with a valid check word. */
	memcpy(buf, "XKEP", 4);
	reseal(buf, len);
	assert_int_equal(read_sample(buf, len), SK_ERR_MALFORMED);
}

static void test_wrong_version(void **state)
{
	static const uint8_t versions[] = {0, SK_WIRE_VERSION + 1, 0xff};
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);

	(void)state;
	for (size_t i = 0; i < sizeof(versions); i++) {
		buf[OFF_VERSION] = versions[i];
		reseal(buf, len);
		assert_int_equal(read_sample(buf, len), SK_ERR_VERSION);
	}
	/* A future version may change everything after the version byte,
	 * so it is refused before the length or check word are looked at. */
	buf[OFF_VERSION] = SK_WIRE_VERSION + 1;
	buf[OFF_BODY_LEN] ^= 0x40;
	assert_int_equal(read_sample(buf, len), SK_ERR_VERSION);
}

static void test_wrong_provider(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_RDMA);
	struct sk_wire_reader r;

	(void)state;
	assert_int_equal(read_sample(buf, len), SK_ERR_WRONG_PROVIDER);
	assert_int_equal(sk_wire_open(buf, len, SK_WIRE_MAGIC_EP,
				      SK_WIRE_PROV_RDMA, "test", &r),
			 SK_OK);
	/* A provider id nobody knows. */
	buf[OFF_PROVIDER] = 0x7e;
	reseal(buf, len);
	assert_int_equal(read_sample(buf, len), SK_ERR_WRONG_PROVIDER);
}

static void test_body_len_mismatch(void **state)
{
	static const int deltas[] = {
		-(int)SAMPLE_BODY, -1, 1, 2, 0x100, 0x7fff};
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);

	(void)state;
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		uint8_t copy[64];
		uint16_t body = (uint16_t)(SAMPLE_BODY + deltas[i]);

		memcpy(copy, buf, len);
		copy[OFF_BODY_LEN] = (uint8_t)body;
		copy[OFF_BODY_LEN + 1] = (uint8_t)(body >> 8);
		reseal(copy, len);
		assert_int_equal(read_sample(copy, len), SK_ERR_MALFORMED);
	}
}

/* Bytes after the check word: the blob is longer than its header says. */
static void test_trailing_bytes_after_blob(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);

	(void)state;
	buf[len] = 0;
	assert_int_equal(read_sample(buf, len + 1), SK_ERR_MALFORMED);
	/* Even if the extra bytes carry a valid check of everything before. */
	sk_le32_put(buf + len, sk_wire_hash32(buf, len));
	assert_int_equal(read_sample(buf, len + 4), SK_ERR_MALFORMED);
}

/* Every single-bit flip is caught, with the status its field deserves. */
static void test_flipped_bits(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);

	(void)state;
	for (size_t bit = 0; bit < len * 8; bit++) {
		uint8_t copy[64];
		size_t byte = bit / 8;
		sk_status_t want;

		memcpy(copy, buf, len);
		copy[byte] ^= (uint8_t)(1u << (bit % 8));
		if (byte == OFF_VERSION)
			want = SK_ERR_VERSION;
		else if (byte == OFF_PROVIDER)
			want = SK_ERR_WRONG_PROVIDER;
		else
			want = SK_ERR_MALFORMED; /* magic, length, check */
		assert_int_equal(read_sample(copy, len), want);
	}
}

/* A few multi-byte corruptions of the body and of the check word. */
static void test_corrupted_body_and_check(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);

	(void)state;
	for (size_t i = OFF_BODY; i < len; i++) {
		uint8_t copy[64];

		memcpy(copy, buf, len);
		copy[i] = (uint8_t)~copy[i];
		assert_int_equal(read_sample(copy, len), SK_ERR_MALFORMED);
		memcpy(copy, buf, len);
		copy[i] = 0;
		if (buf[i] != 0)
			assert_int_equal(read_sample(copy, len),
					 SK_ERR_MALFORMED);
	}
	/* Swapping two body bytes changes the FNV-1a too. */
	{
		uint8_t copy[64];
		uint8_t t;

		memcpy(copy, buf, len);
		t = copy[OFF_BODY + 3];
		copy[OFF_BODY + 3] = copy[OFF_BODY + 4];
		copy[OFF_BODY + 4] = t;
		assert_int_equal(read_sample(copy, len), SK_ERR_MALFORMED);
	}
}

/* ---- refusals in the body (the envelope is fine) ---- */

/* The body has one byte the decoder does not expect. */
static void test_trailing_bytes_in_body(void **state)
{
	uint8_t buf[64];
	struct sk_wire_writer w;
	struct sk_wire_reader r;

	(void)state;
	sk_wire_begin(&w, buf, sizeof(buf));
	sk_wire_put_u32(&w, 7);
	sk_wire_put_u8(&w, 0);
	seal_open_ep(&w, buf, &r);
	assert_int_equal(sk_wire_get_u32(&r), 7);
	assert_int_equal(sk_wire_end(&r, "test"), SK_ERR_MALFORMED);
}

/* The body is shorter than the decoder's fields: every read after the
 * overrun yields 0/NULL, even one that would fit, and end refuses. */
static void test_short_body(void **state)
{
	uint8_t buf[64];
	struct sk_wire_writer w;
	struct sk_wire_reader r;
	size_t len = 0;

	(void)state;
	sk_wire_begin(&w, buf, sizeof(buf));
	sk_wire_put_u32(&w, 0x11223344);
	sk_wire_put_u16(&w, 0x5566);
	len = seal_open_ep(&w, buf, &r);
	assert_int_equal(sk_wire_get_u32(&r), 0x11223344);
	/* 2 bytes left: a u64 overruns. */
	assert_true(sk_wire_get_u64(&r) == 0);
	assert_int_equal(sk_wire_get_u8(&r), 0); /* sticky */
	assert_int_equal(sk_wire_get_u16(&r), 0);
	assert_int_equal(sk_wire_get_u32(&r), 0);
	assert_null(sk_wire_get_bytes(&r, 1));
	assert_int_equal(sk_wire_end(&r, "test"), SK_ERR_MALFORMED);

	/* A length field read from the body that points past its end. */
	assert_int_equal(sk_wire_open(buf, len, SK_WIRE_MAGIC_EP,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_OK);
	assert_null(sk_wire_get_bytes(&r, 7));
	assert_int_equal(sk_wire_end(&r, "test"), SK_ERR_MALFORMED);
	assert_int_equal(sk_wire_open(buf, len, SK_WIRE_MAGIC_EP,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_OK);
	assert_null(sk_wire_get_bytes(&r, SIZE_MAX));
	assert_int_equal(sk_wire_end(&r, "test"), SK_ERR_MALFORMED);
}

/* Bytes handed out by the reader lie inside the body, never in the
 * envelope or the check word. */
static void test_bytes_point_into_body(void **state)
{
	uint8_t buf[64];
	size_t len = make_sample(buf, sizeof(buf), SK_WIRE_MAGIC_EP,
				 SK_WIRE_PROV_UCX);
	struct sk_wire_reader r;
	const uint8_t *p;

	(void)state;
	assert_int_equal(sk_wire_open(buf, len, SK_WIRE_MAGIC_EP,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_OK);
	p = sk_wire_get_bytes(&r, SAMPLE_BODY);
	assert_ptr_equal(p, buf + OFF_BODY);
	assert_null(sk_wire_get_bytes(&r, 1)); /* not the check word */
}

/* ---- the range check of descriptors ---- */

static void test_check_range(void **state)
{
	(void)state;
	assert_int_equal(sk_wire_check_range(0x1000, 4096, SK_ACCESS_ALL, "t"),
			 SK_OK);
	assert_int_equal(sk_wire_check_range(0, 1, 0, "t"), SK_OK);
	assert_int_equal(
		sk_wire_check_range(UINT64_MAX - 10, 10, SK_ACCESS_LOCAL, "t"),
		SK_OK);
	/* Empty. */
	assert_int_equal(sk_wire_check_range(0x1000, 0, SK_ACCESS_ALL, "t"),
			 SK_ERR_MALFORMED);
	assert_int_equal(sk_wire_check_range(0, 0, 0, "t"), SK_ERR_MALFORMED);
	/* Wrapping past the top of the address space. */
	assert_int_equal(sk_wire_check_range(UINT64_MAX, 2, SK_ACCESS_ALL, "t"),
			 SK_ERR_MALFORMED);
	assert_int_equal(sk_wire_check_range(1, UINT64_MAX, SK_ACCESS_ALL, "t"),
			 SK_ERR_MALFORMED);
	assert_int_equal(sk_wire_check_range(0x8000000000000000ull,
					     0x8000000000000001ull,
					     SK_ACCESS_ALL, "t"),
			 SK_ERR_MALFORMED);
	/* Rights nobody defined. */
	for (unsigned bit = 4; bit < 32; bit++)
		assert_int_equal(sk_wire_check_range(0x1000, 8,
						     SK_ACCESS_ALL | 1u << bit,
						     "t"),
				 SK_ERR_MALFORMED);
	assert_int_equal(sk_wire_check_range(0x1000, 8, UINT32_MAX, "t"),
			 SK_ERR_MALFORMED);
}

/* ---- the writer ---- */

/* For every capacity below what a blob needs, finish says INVAL and
 * nothing is written past the capacity. */
static void test_writer_overflow(void **state)
{
	enum { GUARD = 16 };
	uint8_t buf[SAMPLE_LEN + GUARD];

	(void)state;
	for (size_t cap = 0; cap < SAMPLE_LEN; cap++) {
		struct sk_wire_writer w;
		size_t len = 12345;

		memset(buf, 0xcc, sizeof(buf));
		sk_wire_begin(&w, buf, cap);
		put_sample(&w);
		assert_int_equal(sk_wire_finish(&w, SK_WIRE_MAGIC_EP,
						SK_WIRE_PROV_UCX, &len),
				 SK_ERR_INVAL);
		assert_int_equal(len, 12345); /* untouched on failure */
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], 0xcc);
	}
	/* Exactly enough. */
	assert_int_equal(make_sample(buf, SAMPLE_LEN, SK_WIRE_MAGIC_EP,
				     SK_WIRE_PROV_UCX),
			 SAMPLE_LEN);
}

/* Once a put did not fit, later smaller puts do not sneak in. */
static void test_writer_overrun_sticky(void **state)
{
	uint8_t buf[SK_WIRE_HDR_LEN + 4 + SK_WIRE_CHECK_LEN];
	struct sk_wire_writer w;
	size_t len = 0;

	(void)state;
	sk_wire_begin(&w, buf, sizeof(buf));
	sk_wire_put_u32(&w, 1); /* fills the body's room */
	sk_wire_put_u64(&w, 2); /* does not fit: overrun */
	sk_wire_put_u8(&w, 3);	/* would fit by itself */
	assert_int_equal(
		sk_wire_finish(&w, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_UCX, &len),
		SK_ERR_INVAL);
	assert_int_equal(w.overrun, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope_layout),
		cmocka_unit_test(test_le_codec),
		cmocka_unit_test(test_hash_vectors),
		cmocka_unit_test(test_roundtrip_sample),
		cmocka_unit_test(test_roundtrip_widths),
		cmocka_unit_test(test_roundtrip_empty_body),
		cmocka_unit_test(test_roundtrip_max_body),
		cmocka_unit_test(test_truncated_every_length),
		cmocka_unit_test(test_null_buffer),
		cmocka_unit_test(test_wrong_magic),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_wrong_provider),
		cmocka_unit_test(test_body_len_mismatch),
		cmocka_unit_test(test_trailing_bytes_after_blob),
		cmocka_unit_test(test_flipped_bits),
		cmocka_unit_test(test_corrupted_body_and_check),
		cmocka_unit_test(test_trailing_bytes_in_body),
		cmocka_unit_test(test_short_body),
		cmocka_unit_test(test_bytes_point_into_body),
		cmocka_unit_test(test_check_range),
		cmocka_unit_test(test_writer_overflow),
		cmocka_unit_test(test_writer_overrun_sticky),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
