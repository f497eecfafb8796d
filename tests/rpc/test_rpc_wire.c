/*
 * Unit tests of the rpc's checker of peer bytes, sk_rpc_hdr_check()
 * (rpc/wire.c), which every message a peer sends passes before the rpc
 * acts on it. Messages are built byte by byte, little-endian, at the
 * offsets asserted below, so the tests pin the wire rather than the
 * struct. A valid message of every kind round-trips; then each rule of the
 * checker gets the input that breaks it, and every prefix of every valid
 * message is tried. Each check sees an exact-size heap copy, so under ASan
 * a read past the end is a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <skiff/le.h>

#include "wire.h"
#include "wire_layout.h"

/* ---- the wire, byte by byte ---- */

_Static_assert(offsetof(struct sk_rpc_hdr, magic) == OFF_MAGIC, "magic");
_Static_assert(offsetof(struct sk_rpc_hdr, type) == OFF_TYPE, "type");
_Static_assert(offsetof(struct sk_rpc_hdr, flags) == OFF_FLAGS, "flags");
_Static_assert(offsetof(struct sk_rpc_hdr, handler) == OFF_HANDLER,
	       "handler");
_Static_assert(offsetof(struct sk_rpc_hdr, call) == OFF_CALL, "call");
_Static_assert(offsetof(struct sk_rpc_hdr, len) == OFF_LEN, "len");
_Static_assert(offsetof(struct sk_rpc_hdr, resp_cap) == OFF_RESP_CAP,
	       "resp_cap");
_Static_assert(offsetof(struct sk_rpc_hdr, gen) == OFF_GEN, "gen");
_Static_assert(offsetof(struct sk_rpc_hdr, status) == OFF_STATUS, "status");
_Static_assert(offsetof(struct sk_rpc_hdr, req_addr) == OFF_REQ_ADDR,
	       "req_addr");
_Static_assert(offsetof(struct sk_rpc_hdr, resp_addr) == OFF_RESP_ADDR,
	       "resp_addr");
_Static_assert(sizeof(struct sk_rpc_hdr) == HDR && SK_RPC_HDR == HDR,
	       "header is 40 bytes");

/* The large response's trailer is RDMA-written: on the wire as well. */
_Static_assert(offsetof(struct sk_rpc_trailer, call) == 0, "trailer.call");
_Static_assert(offsetof(struct sk_rpc_trailer, gen) == 4, "trailer.gen");
_Static_assert(offsetof(struct sk_rpc_trailer, len) == 8, "trailer.len");
_Static_assert(offsetof(struct sk_rpc_trailer, status) == 12,
	       "trailer.status");
_Static_assert(sizeof(struct sk_rpc_trailer) == 16 && SK_RPC_TRAILER == 16,
	       "trailer is 16 bytes");

/* Numbers and limits both sides must agree on. */
_Static_assert(SK_RPC_MAGIC == 0x5243u, "\"CR\" little-endian");
_Static_assert(SK_RPC_REQ == 1 && SK_RPC_RESP == 2 && SK_RPC_HELLO == 3 &&
		       SK_RPC_PING == 4 && SK_RPC_PONG == 5,
	       "message types are on the wire");
_Static_assert(SK_RPC_F_LARGE_REQ == 1 && SK_RPC_F_RESP_ADDR == 2,
	       "request flags are on the wire");
_Static_assert(SK_RPC_SLOT_SIZE == 8192, "both sides post the same slots");
_Static_assert(SK_RPC_INLINE_MAX == 8192 - 48, "inline payloads");
_Static_assert(SK_RPC_MSG_MAX == (1u << 20) + 4096u,
	       "messages are at most 1 MiB and a page");
_Static_assert(SK_RPC_CREDITS == 16, "calls outstanding per peer");
_Static_assert(SK_RPC_HANDLERS == 256, "handler ids");
_Static_assert(SK_BLOB_MAX == 1024, "a hello carries at most one blob");
_Static_assert(SK_RPC_CREDITS <= 0x10000u,
	       "an immediate's low 16 bits hold any call index");

/* ---- building messages ---- */

#define HANDLER   0x0107u
#define CALL      3u
#define GEN       0x0a0b0c0du
#define REQ_ADDR  0x7f0012340040ull
#define RESP_ADDR 0x7f0056780040ull
#define MSG_CAP   (SK_RPC_SLOT_SIZE + 64)

#include "../lib/test_msg.h"

static void msg_begin(struct msg *m, uint8_t type, uint8_t flags)
{
	memset(m->b, 0, HDR);
	sk_le16_put(m->b + OFF_MAGIC, SK_RPC_MAGIC);
	m->b[OFF_TYPE] = type;
	m->b[OFF_FLAGS] = flags;
	sk_le16_put(m->b + OFF_HANDLER, HANDLER);
	sk_le16_put(m->b + OFF_CALL, CALL);
	sk_le32_put(m->b + OFF_GEN, GEN);
	m->len = HDR;
}

/* @n payload bytes of a pattern, and the header's len set to them. */
static void msg_payload(struct msg *m, size_t n)
{
	assert_true(HDR + n <= MSG_CAP);
	for (size_t i = 0; i < n; i++)
		m->b[HDR + i] = (uint8_t)(i * 7 + 1);
	m->len = HDR + n;
	sk_le32_put(m->b + OFF_LEN, (uint32_t)n);
}

static sk_status_t check(struct msg *m, struct sk_rpc_hdr *h,
			 const char **why)
{
	const uint8_t *heap = msg_heap(m);

	*why = NULL;
	memset(h, 0xa5, sizeof(*h));
	return sk_rpc_hdr_check(heap, m->len, h, why);
}

/* Refused as malformed, with a reason that names @reason. */
#define expect_refused(m, reason)                                          \
	do {                                                               \
		struct sk_rpc_hdr h_;                                      \
		const char *why_;                                          \
		assert_int_equal(check(m, &h_, &why_), SK_ERR_MALFORMED);  \
		msg_check_why(why_, reason);                               \
	} while (0)

/* Accepted, with the header copied out as the bytes have it. */
#define expect_ok(m, h)                                                    \
	do {                                                               \
		const char *why_;                                          \
		sk_status_t st_ = check(m, h, &why_);                      \
		if (st_ != SK_OK)                                          \
			fail_msg("refused: %s",                            \
				 why_ ? why_ : "(no reason)");             \
		assert_memory_equal(h, (m)->heap, HDR);                    \
	} while (0)

static void check_hdr(const struct sk_rpc_hdr *h, uint8_t type,
		      uint8_t flags, uint32_t len)
{
	assert_int_equal(h->magic, SK_RPC_MAGIC);
	assert_int_equal(h->type, type);
	assert_int_equal(h->flags, flags);
	assert_int_equal(h->len, len);
	assert_int_equal(h->gen, GEN);
}

/* The messages of each kind, as rpc writes them. */

static void mk_hello(struct msg *m, size_t n)
{
	msg_begin(m, SK_RPC_HELLO, 0);
	set16(m, OFF_HANDLER, 0);
	set16(m, OFF_CALL, 0);
	set32(m, OFF_GEN, 0);
	msg_payload(m, n);
}

static void mk_ctl(struct msg *m, uint8_t type)
{
	msg_begin(m, type, 0);
	set16(m, OFF_HANDLER, 0);
	set16(m, OFF_CALL, 0);
	set32(m, OFF_GEN, 0);
}

static void mk_resp(struct msg *m, size_t n, int32_t status)
{
	msg_begin(m, SK_RPC_RESP, 0);
	set16(m, OFF_HANDLER, 0);
	set32(m, OFF_STATUS, (uint32_t)status);
	msg_payload(m, n);
}

/* An inline request; @resp_addr 0: the response comes back inline. */
static void mk_req(struct msg *m, size_t n, uint32_t resp_cap,
		   uint64_t resp_addr)
{
	msg_begin(m, SK_RPC_REQ, resp_addr ? SK_RPC_F_RESP_ADDR : 0);
	set32(m, OFF_RESP_CAP, resp_cap);
	set64(m, OFF_RESP_ADDR, resp_addr);
	msg_payload(m, n);
}

/* A large request: @len bytes at REQ_ADDR, nothing after the header. */
static void mk_req_large(struct msg *m, uint32_t len, uint32_t resp_cap,
			 uint64_t resp_addr)
{
	msg_begin(m, SK_RPC_REQ,
		  SK_RPC_F_LARGE_REQ | (resp_addr ? SK_RPC_F_RESP_ADDR : 0));
	set32(m, OFF_LEN, len);
	set32(m, OFF_RESP_CAP, resp_cap);
	set64(m, OFF_REQ_ADDR, REQ_ADDR);
	set64(m, OFF_RESP_ADDR, resp_addr);
}

/* A valid message of every kind, for the prefix test. */
static const struct valid {
	uint8_t  type;
	uint8_t  large; /* a large request: n is its len, not bytes */
	uint32_t n;     /* payload bytes */
	uint32_t cap;   /* a request's resp_cap */
	uint64_t addr;  /* a request's resp_addr; 0: none */
} valid[] = {
	{SK_RPC_HELLO, 0, 16, 0, 0},
	{SK_RPC_HELLO, 0, 1, 0, 0},
	{SK_RPC_HELLO, 0, SK_BLOB_MAX, 0, 0},
	{SK_RPC_PING, 0, 0, 0, 0},
	{SK_RPC_PONG, 0, 0, 0, 0},
	{SK_RPC_RESP, 0, 0, 0, 0},
	{SK_RPC_RESP, 0, 13, 0, 0},
	{SK_RPC_RESP, 0, SK_RPC_INLINE_MAX, 0, 0},
	{SK_RPC_REQ, 0, 0, SK_RPC_INLINE_MAX, 0},
	{SK_RPC_REQ, 0, 100, 0, 0},
	{SK_RPC_REQ, 0, SK_RPC_INLINE_MAX, SK_RPC_INLINE_MAX, 0},
	{SK_RPC_REQ, 0, 64, SK_RPC_MSG_MAX, RESP_ADDR},
	{SK_RPC_REQ, 1, SK_RPC_INLINE_MAX + 1, SK_RPC_INLINE_MAX, 0},
	{SK_RPC_REQ, 1, SK_RPC_MSG_MAX, 0, 0},
	{SK_RPC_REQ, 1, SK_RPC_INLINE_MAX + 1, 4096, RESP_ADDR},
	{SK_RPC_REQ, 1, SK_RPC_MSG_MAX, SK_RPC_MSG_MAX, RESP_ADDR},
};

#define NVALID (sizeof(valid) / sizeof(valid[0]))

static void mk_valid(struct msg *m, const struct valid *v)
{
	switch (v->type) {
	case SK_RPC_HELLO:
		mk_hello(m, v->n);
		break;
	case SK_RPC_PING:
	case SK_RPC_PONG:
		mk_ctl(m, v->type);
		break;
	case SK_RPC_RESP:
		mk_resp(m, v->n, -2);
		break;
	default:
		if (v->large)
			mk_req_large(m, v->n, v->cap, v->addr);
		else
			mk_req(m, v->n, v->cap, v->addr);
		break;
	}
}

/* ---- round trips ---- */

/* The struct rpc fills is the byte layout built here (this host is
 * little-endian, as every Skiff node is). */
static void test_struct_is_the_wire(void **state)
{
	struct sk_rpc_hdr h = {
		.magic = SK_RPC_MAGIC, .type = SK_RPC_REQ,
		.flags = SK_RPC_F_LARGE_REQ | SK_RPC_F_RESP_ADDR,
		.handler = HANDLER, .call = CALL, .len = 0x00123456,
		.resp_cap = 0x00054321, .gen = GEN, .status = -5,
		.req_addr = REQ_ADDR, .resp_addr = RESP_ADDR,
	};
	struct msg *m = msg_new();

	(void)state;
	mk_req_large(m, 0x00123456, 0x00054321, RESP_ADDR);
	set32(m, OFF_STATUS, (uint32_t)-5);
	assert_memory_equal(&h, m->b, HDR);
	/* Too long a large request, but the header copies out first. */
	expect_refused(m, "large request");
	msg_free(m);
}

static void test_hello(void **state)
{
	static const size_t lens[] = {1, 16, 200, SK_BLOB_MAX};
	struct msg *m = msg_new();
	struct sk_rpc_hdr h;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		mk_hello(m, lens[i]);
		expect_ok(m, &h);
		assert_int_equal(h.type, SK_RPC_HELLO);
		assert_int_equal(h.len, lens[i]);
	}
	/* The call, handler and generation of a hello mean nothing. */
	mk_hello(m, 16);
	set16(m, OFF_CALL, 0xffff);
	set16(m, OFF_HANDLER, 0xffff);
	set32(m, OFF_GEN, 0xffffffffu);
	set64(m, OFF_REQ_ADDR, REQ_ADDR);
	expect_ok(m, &h);
	assert_int_equal(h.call, 0xffff);
	msg_free(m);
}

static void test_ping_pong(void **state)
{
	static const uint8_t types[] = {SK_RPC_PING, SK_RPC_PONG};
	struct msg *m = msg_new();
	struct sk_rpc_hdr h;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		mk_ctl(m, types[i]);
		expect_ok(m, &h);
		assert_int_equal(h.type, types[i]);
		assert_int_equal(h.len, 0);
		/* No call slot is named: any index goes. */
		set16(m, OFF_CALL, SK_RPC_CREDITS);
		expect_ok(m, &h);
		set16(m, OFF_CALL, 0xffff);
		expect_ok(m, &h);
	}
	msg_free(m);
}

static void test_resp(void **state)
{
	static const int32_t st[] = {0, 1, -2, INT32_MIN, INT32_MAX};
	struct msg *m = msg_new();
	struct sk_rpc_hdr h;

	(void)state;
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		mk_resp(m, 10, st[i]);
		expect_ok(m, &h);
		check_hdr(&h, SK_RPC_RESP, 0, 10);
		assert_int_equal(h.status, st[i]);
		assert_int_equal(h.call, CALL);
	}
	mk_resp(m, 0, 0);
	expect_ok(m, &h);
	check_hdr(&h, SK_RPC_RESP, 0, 0);
	mk_resp(m, SK_RPC_INLINE_MAX, 0);
	expect_ok(m, &h);
	check_hdr(&h, SK_RPC_RESP, 0, SK_RPC_INLINE_MAX);
	/* The last call slot. */
	set16(m, OFF_CALL, SK_RPC_CREDITS - 1);
	expect_ok(m, &h);
	assert_int_equal(h.call, SK_RPC_CREDITS - 1);
	msg_free(m);
}

static void test_req_inline(void **state)
{
	static const size_t lens[] = {0, 1, 100, SK_RPC_INLINE_MAX};
	struct msg *m = msg_new();
	struct sk_rpc_hdr h;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* The response inline, as sk_rpc_call() asks without a
		 * response buffer. */
		mk_req(m, lens[i], SK_RPC_INLINE_MAX, 0);
		expect_ok(m, &h);
		check_hdr(&h, SK_RPC_REQ, 0, (uint32_t)lens[i]);
		assert_int_equal(h.handler, HANDLER);
		assert_int_equal(h.call, CALL);
		assert_int_equal(h.resp_cap, SK_RPC_INLINE_MAX);
		assert_true(h.req_addr == 0 && h.resp_addr == 0);
		/* Into a response buffer, up to the largest response. */
		mk_req(m, lens[i], SK_RPC_MSG_MAX, RESP_ADDR);
		expect_ok(m, &h);
		check_hdr(&h, SK_RPC_REQ, SK_RPC_F_RESP_ADDR,
			  (uint32_t)lens[i]);
		assert_int_equal(h.resp_cap, SK_RPC_MSG_MAX);
		assert_true(h.resp_addr == RESP_ADDR);
	}
	/* No response room at all, either way. */
	mk_req(m, 8, 0, 0);
	expect_ok(m, &h);
	mk_req(m, 8, 0, RESP_ADDR);
	expect_ok(m, &h);
	/* Any handler id: an unknown one is answered with -ENOENT. */
	mk_req(m, 8, 0, 0);
	set16(m, OFF_HANDLER, 0xffff);
	expect_ok(m, &h);
	assert_int_equal(h.handler, 0xffff);
	/* An inline request ignores req_addr. */
	set64(m, OFF_REQ_ADDR, REQ_ADDR);
	expect_ok(m, &h);
	/* Call slots 0 and the last. */
	set16(m, OFF_CALL, 0);
	expect_ok(m, &h);
	set16(m, OFF_CALL, SK_RPC_CREDITS - 1);
	expect_ok(m, &h);
	msg_free(m);
}

static void test_req_large(void **state)
{
	static const uint32_t lens[] = {SK_RPC_INLINE_MAX + 1, 65536,
					SK_RPC_MSG_MAX};
	struct msg *m = msg_new();
	struct sk_rpc_hdr h;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		mk_req_large(m, lens[i], SK_RPC_INLINE_MAX, 0);
		expect_ok(m, &h);
		check_hdr(&h, SK_RPC_REQ, SK_RPC_F_LARGE_REQ, lens[i]);
		assert_true(h.req_addr == REQ_ADDR && h.resp_addr == 0);
		assert_int_equal(h.resp_cap, SK_RPC_INLINE_MAX);
		mk_req_large(m, lens[i], SK_RPC_MSG_MAX, RESP_ADDR);
		expect_ok(m, &h);
		check_hdr(&h, SK_RPC_REQ,
			  SK_RPC_F_LARGE_REQ | SK_RPC_F_RESP_ADDR, lens[i]);
		assert_true(h.req_addr == REQ_ADDR && h.resp_addr == RESP_ADDR);
		assert_int_equal(h.resp_cap, SK_RPC_MSG_MAX);
		mk_req_large(m, lens[i], 0, RESP_ADDR);
		expect_ok(m, &h);
	}
	/* Addresses are the peer's: any non-zero value passes here (the
	 * rkey's bounds are checked when the read is posted). */
	mk_req_large(m, SK_RPC_MSG_MAX, 0, UINT64_MAX);
	set64(m, OFF_REQ_ADDR, 1);
	expect_ok(m, &h);
	set64(m, OFF_REQ_ADDR, UINT64_MAX);
	expect_ok(m, &h);
	msg_free(m);
}

/* ---- refusals: the envelope ---- */

static void test_shorter_than_header(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	mk_ctl(m, SK_RPC_PING);
	for (size_t n = 0; n < HDR; n++) {
		m->len = n;
		expect_refused(m, "shorter than a header");
	}
	msg_free(m);
}

static void test_longer_than_slot(void **state)
{
	static const size_t lens[] = {SK_RPC_SLOT_SIZE + 1,
				      SK_RPC_SLOT_SIZE + 2, MSG_CAP};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* Whatever the header says. */
		mk_resp(m, lens[i] - HDR, 0);
		expect_refused(m, "longer than a slot");
		mk_req(m, lens[i] - HDR, 0, 0);
		expect_refused(m, "longer than a slot");
	}
	msg_free(m);
}

static void test_bad_magic(void **state)
{
	static const uint16_t bad[] = {0, 0x4352, 0x5242, 0x5343, 0xd243,
				       0xffff};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_resp(m, 4, 0);
		set16(m, OFF_MAGIC, bad[i]);
		expect_refused(m, "bad magic");
		mk_hello(m, 16);
		set16(m, OFF_MAGIC, bad[i]);
		expect_refused(m, "bad magic");
	}
	msg_free(m);
}

static void test_unknown_type(void **state)
{
	static const uint8_t bad[] = {0, SK_RPC_PONG + 1, 0x7f, 0x80,
				      0x80 | SK_RPC_REQ, 0xff};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* Bytes some type would take. */
		mk_ctl(m, bad[i]);
		expect_refused(m, "unknown message type");
		mk_resp(m, 16, 0);
		m->b[OFF_TYPE] = bad[i];
		expect_refused(m, "unknown message type");
		mk_req(m, 16, 0, 0);
		m->b[OFF_TYPE] = bad[i];
		expect_refused(m, "unknown message type");
	}
	msg_free(m);
}

static void test_call_out_of_range(void **state)
{
	static const uint16_t bad[] = {SK_RPC_CREDITS, SK_RPC_CREDITS + 1,
				       0x100, 0x8000, 0xffff};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_resp(m, 4, 0);
		set16(m, OFF_CALL, bad[i]);
		expect_refused(m, "call index out of range");
		mk_req(m, 4, 0, 0);
		set16(m, OFF_CALL, bad[i]);
		expect_refused(m, "call index out of range");
		mk_req_large(m, SK_RPC_MSG_MAX, SK_RPC_MSG_MAX, RESP_ADDR);
		set16(m, OFF_CALL, bad[i]);
		expect_refused(m, "call index out of range");
	}
	msg_free(m);
}

/* ---- refusals: per type ---- */

static void test_hello_bad(void **state)
{
	static const uint8_t flags[] = {SK_RPC_F_LARGE_REQ,
					SK_RPC_F_RESP_ADDR, 0x80, 0xff};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		mk_hello(m, 16);
		m->b[OFF_FLAGS] = flags[i];
		expect_refused(m, "malformed hello");
	}
	/* len disagrees with the bytes, both ways, and in a high byte. */
	mk_hello(m, 16);
	set32(m, OFF_LEN, 15);
	expect_refused(m, "malformed hello");
	set32(m, OFF_LEN, 17);
	expect_refused(m, "malformed hello");
	set32(m, OFF_LEN, 16 + 0x01000000u);
	expect_refused(m, "malformed hello");
	set32(m, OFF_LEN, 0);
	expect_refused(m, "malformed hello");
	/* Empty: no descriptor at all. */
	mk_hello(m, 0);
	expect_refused(m, "malformed hello");
	/* Larger than any blob, with a len that agrees. */
	mk_hello(m, SK_BLOB_MAX + 1);
	expect_refused(m, "malformed hello");
	mk_hello(m, SK_RPC_SLOT_SIZE - HDR);
	expect_refused(m, "malformed hello");
	msg_free(m);
}

static void test_ping_pong_bad(void **state)
{
	static const uint8_t types[] = {SK_RPC_PING, SK_RPC_PONG};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		mk_ctl(m, types[i]);
		m->b[OFF_FLAGS] = 1;
		expect_refused(m, "malformed liveness check");
		mk_ctl(m, types[i]);
		set32(m, OFF_LEN, 1);
		expect_refused(m, "malformed liveness check");
		/* A payload, described or not. */
		msg_payload(m, 1);
		expect_refused(m, "malformed liveness check");
		set32(m, OFF_LEN, 0);
		expect_refused(m, "malformed liveness check");
	}
	msg_free(m);
}

static void test_resp_bad(void **state)
{
	static const uint8_t flags[] = {SK_RPC_F_LARGE_REQ,
					SK_RPC_F_RESP_ADDR, 0x80, 0xff};
	static const uint32_t lens[] = {0, 9, 11, 10 + 0x100, UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		mk_resp(m, 10, 0);
		m->b[OFF_FLAGS] = flags[i];
		expect_refused(m, "response length disagrees");
	}
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		mk_resp(m, 10, 0);
		set32(m, OFF_LEN, lens[i]);
		expect_refused(m, "response length disagrees");
	}
	/* A len with no bytes behind it. */
	mk_resp(m, 0, 0);
	set32(m, OFF_LEN, SK_RPC_INLINE_MAX);
	expect_refused(m, "response length disagrees");
	/* More inline bytes than rpc.h promises, though the slot has room. */
	mk_resp(m, SK_RPC_INLINE_MAX + 1, 0);
	expect_refused(m, "inline payload over SK_RPC_INLINE_MAX");
	mk_resp(m, SK_RPC_SLOT_SIZE - SK_RPC_HDR, 0);
	expect_refused(m, "inline payload over SK_RPC_INLINE_MAX");
	/* The same for an inline request. */
	mk_req(m, SK_RPC_INLINE_MAX + 1, 0, 0);
	expect_refused(m, "inline payload over SK_RPC_INLINE_MAX");
	msg_free(m);
}

static void test_req_flags_bad(void **state)
{
	static const uint8_t bad[] = {0x04, 0x08, 0x80, 0x04 | 0x01,
				      0x04 | 0x02, 0xff};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_req(m, 8, 0, RESP_ADDR);
		m->b[OFF_FLAGS] = bad[i];
		expect_refused(m, "unknown request flags");
		mk_req_large(m, SK_RPC_MSG_MAX, 0, RESP_ADDR);
		m->b[OFF_FLAGS] = bad[i];
		expect_refused(m, "unknown request flags");
	}
	msg_free(m);
}

static void test_req_inline_len_bad(void **state)
{
	static const uint32_t lens[] = {0, 99, 101, 100 + 0x10000,
					SK_RPC_INLINE_MAX, UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		mk_req(m, 100, 0, 0);
		set32(m, OFF_LEN, lens[i]);
		expect_refused(m, "request length disagrees");
		mk_req(m, 100, 0, RESP_ADDR);
		set32(m, OFF_LEN, lens[i]);
		expect_refused(m, "request length disagrees");
	}
	/* A len with no bytes behind it (the large flag left off). */
	mk_req(m, 0, 0, 0);
	set32(m, OFF_LEN, SK_RPC_MSG_MAX);
	set64(m, OFF_REQ_ADDR, REQ_ADDR);
	expect_refused(m, "request length disagrees");
	msg_free(m);
}

static void test_req_large_bad(void **state)
{
	static const uint32_t lens[] = {0, 1, SK_RPC_INLINE_MAX,
					SK_RPC_MSG_MAX + 1, 0x80000000u,
					UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		mk_req_large(m, lens[i], 0, 0);
		expect_refused(m, "malformed large request");
		mk_req_large(m, lens[i], SK_RPC_MSG_MAX, RESP_ADDR);
		expect_refused(m, "malformed large request");
	}
	/* Payload bytes after the header, whatever len says. */
	for (size_t n = 1; n <= 2; n++) {
		mk_req_large(m, SK_RPC_INLINE_MAX + 1, 0, 0);
		memset(m->b + HDR, 0x5a, n);
		m->len = HDR + n;
		expect_refused(m, "malformed large request");
	}
	mk_req_large(m, SK_RPC_INLINE_MAX + 1, 0, 0);
	msg_payload(m, SK_RPC_INLINE_MAX + 1);
	expect_refused(m, "malformed large request");
	/* Nowhere to read it from. */
	mk_req_large(m, SK_RPC_INLINE_MAX + 1, 0, 0);
	set64(m, OFF_REQ_ADDR, 0);
	expect_refused(m, "malformed large request");
	mk_req_large(m, SK_RPC_MSG_MAX, SK_RPC_MSG_MAX, RESP_ADDR);
	set64(m, OFF_REQ_ADDR, 0);
	expect_refused(m, "malformed large request");
	msg_free(m);
}

static void test_resp_room_bad(void **state)
{
	static const uint32_t caps[] = {SK_RPC_MSG_MAX + 1, 0x80000000u,
					UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	/* More than any response, either way. */
	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		mk_req(m, 8, caps[i], RESP_ADDR);
		expect_refused(m, "bad response capacity");
		mk_req(m, 8, caps[i], 0);
		expect_refused(m, "bad response capacity");
		mk_req_large(m, SK_RPC_MSG_MAX, caps[i], RESP_ADDR);
		expect_refused(m, "bad response capacity");
		mk_req_large(m, SK_RPC_MSG_MAX, caps[i], 0);
		expect_refused(m, "bad response capacity");
	}
	/* A response buffer at address 0. */
	mk_req(m, 8, 4096, RESP_ADDR);
	set64(m, OFF_RESP_ADDR, 0);
	expect_refused(m, "bad response capacity or address");
	mk_req(m, 8, 0, RESP_ADDR);
	set64(m, OFF_RESP_ADDR, 0);
	expect_refused(m, "bad response capacity or address");
	mk_req_large(m, SK_RPC_MSG_MAX, SK_RPC_MSG_MAX, RESP_ADDR);
	set64(m, OFF_RESP_ADDR, 0);
	expect_refused(m, "bad response capacity or address");
	/* No response buffer, and more than an inline response can hold
	 * (a resp_addr without the flag does not count). */
	mk_req(m, 8, SK_RPC_INLINE_MAX + 1, 0);
	expect_refused(m, "bad response capacity");
	set64(m, OFF_RESP_ADDR, RESP_ADDR);
	expect_refused(m, "bad response capacity");
	mk_req(m, 8, SK_RPC_MSG_MAX, 0);
	expect_refused(m, "bad response capacity");
	mk_req_large(m, SK_RPC_MSG_MAX, SK_RPC_INLINE_MAX + 1, 0);
	expect_refused(m, "bad response capacity");
	msg_free(m);
}

/* ---- every prefix, and one byte more ---- */

/*
 * Every rule ties the bytes after the header to the header's len (or to
 * none at all), so no proper prefix of a valid message is valid, and
 * neither is a valid message with a byte after it.
 */
static void test_every_prefix(void **state)
{
	struct msg *m = msg_new();
	struct sk_rpc_hdr h;

	(void)state;
	for (size_t i = 0; i < NVALID; i++) {
		size_t full;

		mk_valid(m, &valid[i]);
		full = m->len;
		expect_ok(m, &h);
		for (size_t n = 0; n < full; n++) {
			const char *why;

			m->len = n;
			if (check(m, &h, &why) != SK_ERR_MALFORMED)
				fail_msg("message %zu: a prefix of %zu bytes "
					 "of %zu was accepted",
					 i, n, full);
			msg_check_why(why, NULL);
		}
		m->b[full] = 0;
		m->len = full + 1;
		expect_refused(m, "");
	}
	msg_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_struct_is_the_wire),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_ping_pong),
		cmocka_unit_test(test_resp),
		cmocka_unit_test(test_req_inline),
		cmocka_unit_test(test_req_large),
		cmocka_unit_test(test_shorter_than_header),
		cmocka_unit_test(test_longer_than_slot),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_call_out_of_range),
		cmocka_unit_test(test_hello_bad),
		cmocka_unit_test(test_ping_pong_bad),
		cmocka_unit_test(test_resp_bad),
		cmocka_unit_test(test_req_flags_bad),
		cmocka_unit_test(test_req_inline_len_bad),
		cmocka_unit_test(test_req_large_bad),
		cmocka_unit_test(test_resp_room_bad),
		cmocka_unit_test(test_every_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
