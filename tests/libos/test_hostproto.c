/*
 * Unit tests of the host's two checkers of node bytes (hostproto.h):
 * sk_hmsg_parse() (libos/hostproto.c), which every host-service request
 * passes before a service sees it, and sk_boot_hello_parse()
 * (launcher/bootsrv.c), which reads the TCP bootstrap hello. Messages are
 * built byte by byte, little-endian, at the offsets asserted below, so the
 * tests pin the wire rather than the structs. A valid message of every kind
 * round-trips; then each rule of the checkers gets the input that breaks
 * it, and every prefix of every valid message is tried. Each parse sees an
 * exact-size heap copy, so under ASan a read past the end is a failure.
 *
 * bootsrv.c needs the rest of skrun; this program links the real libos and
 * verbs libraries for what they provide, and stand-ins
 * (tests/lib/bootsrv_standins.c) for the symbols of skrun.c and
 * services.c that the hello checker never reaches.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <cmocka.h>

#include <skiff/hostproto.h>
#include <skiff/le.h>

#include "job.h"

/* ---- the wire, byte by byte ---- */

#define OFF_TYPE   0
#define OFF_FLAGS  2
#define OFF_LEN    4
#define OFF_REQ_ID 8
#define OFF_RESULT 16
#define HDR        24

_Static_assert(offsetof(struct sk_hmsg_hdr, type) == OFF_TYPE, "type");
_Static_assert(offsetof(struct sk_hmsg_hdr, flags) == OFF_FLAGS, "flags");
_Static_assert(offsetof(struct sk_hmsg_hdr, len) == OFF_LEN, "len");
_Static_assert(offsetof(struct sk_hmsg_hdr, req_id) == OFF_REQ_ID, "req_id");
_Static_assert(offsetof(struct sk_hmsg_hdr, result) == OFF_RESULT, "result");
_Static_assert(sizeof(struct sk_hmsg_hdr) == HDR, "header is 24 bytes");

_Static_assert(offsetof(struct sk_hreq_open, flags) == 0, "open.flags");
_Static_assert(offsetof(struct sk_hreq_open, mode) == 4, "open.mode");
_Static_assert(offsetof(struct sk_hreq_fd, fd) == 0, "fd.fd");
_Static_assert(offsetof(struct sk_hreq_fd, reserved) == 4, "fd.reserved");
_Static_assert(offsetof(struct sk_hreq_io, fd) == 0, "io.fd");
_Static_assert(offsetof(struct sk_hreq_io, len) == 4, "io.len");
_Static_assert(offsetof(struct sk_hreq_io, offset) == 8, "io.offset");
_Static_assert(offsetof(struct sk_hreq_io, raddr) == 16, "io.raddr");
_Static_assert(offsetof(struct sk_hreq_lseek, fd) == 0, "lseek.fd");
_Static_assert(offsetof(struct sk_hreq_lseek, whence) == 4, "lseek.whence");
_Static_assert(offsetof(struct sk_hreq_lseek, offset) == 8, "lseek.offset");
_Static_assert(offsetof(struct sk_hreq_mkdir, mode) == 0, "mkdir.mode");
_Static_assert(offsetof(struct sk_hreq_peer, rank) == 0, "peer.rank");
_Static_assert(offsetof(struct sk_hreq_peer, service) == 4, "peer.service");
_Static_assert(offsetof(struct sk_hreq_peer, flags) == 6, "peer.flags");
_Static_assert(sizeof(struct sk_hreq_peer) == 8, "peer is 8 bytes");
_Static_assert(offsetof(struct sk_hstat, mode) == 24, "stat.mode");
_Static_assert(offsetof(struct sk_hboot, job_id) == 16, "boot.job_id");
_Static_assert(offsetof(struct sk_hboot, bulk_len) == 24, "boot.bulk_len");
_Static_assert(SK_HIO_HOSTBUF == 1 && SK_HIO_WHOLE == 2 && SK_HIO_GROW == 4,
	       "read/write flags on the wire");
_Static_assert(SK_HMSG_CTL_SIZE == 4096 && SK_HMSG_CTL_TAKEN == 0x80000000u,
	       "the growing writes' control words");

/* Type numbers and limits are on the wire too. */
_Static_assert(SK_HMSG_READY == 1 && SK_HMSG_CONSOLE == 2 &&
		       SK_HMSG_STDIN_READ == 3 && SK_HMSG_FINALIZE == 4 &&
		       SK_HMSG_ABORT == 5 && SK_HMSG_OPEN == 6 &&
		       SK_HMSG_CLOSE == 7 && SK_HMSG_READ == 8 &&
		       SK_HMSG_WRITE == 9 && SK_HMSG_LSEEK == 10 &&
		       SK_HMSG_FSTAT == 11 && SK_HMSG_UNLINK == 12 &&
		       SK_HMSG_MKDIR == 13 && SK_HMSG_READDIR == 14 &&
		       SK_HMSG_CONNECT == 15 && SK_HMSG_LISTEN == 16 &&
		       SK_HMSG_ACCEPT == 17 && SK_HMSG_BARRIER == 18 &&
		       SK_HMSG_CONNECTED == 19 && SK_HMSG_STAT == 20 &&
		       SK_HMSG_FSYNC == 21 && SK_HMSG_FTRUNCATE == 22 &&
		       SK_HMSG_RENAME == 23 && SK_HMSG_TYPE_MAX == 24,
	       "request types are on the wire");
_Static_assert(SK_HMSG_REPLY == 0x80 && SK_HMSG_BOOT == 0x81 &&
		       SK_HMSG_PEER == 0x82,
	       "reply types are on the wire");
_Static_assert(SK_HMSG_SLOT_SIZE == 16384 && SK_HMSG_SLOTS == 16,
	       "both sides post the same slots");
_Static_assert(SK_HMSG_CALL_SLOTS == SK_HMSG_SLOTS - 1,
	       "one slot each way is kept for LISTEN and PEER");
_Static_assert(SK_HACCEPT_MERGED == 1 && SK_HACCEPT_REFUSED == 2,
	       "accept flags are on the wire");
_Static_assert(SK_HSERVICE_MAX == 64, "services 0..63");
_Static_assert(SK_HMSG_PAYLOAD_MAX == 16384 - 24,
	       "a payload fills the rest of a slot");
_Static_assert(SK_HMSG_PATH_MAX == 4096, "paths fit PATH_MAX");
_Static_assert(SK_HMSG_BULK_MAX == 1u << 20, "a bulk request is 1 MiB at most");
_Static_assert(SK_HMSG_BULK_DEPTH == 4 && SK_HMSG_CHUNK_MIN == 64u << 10,
	       "four chunks in flight, of 64 KiB at least");
_Static_assert(SK_HMSG_BOUNCE_SIZE == 1u << 20, "1 MiB of bounce region");
_Static_assert(offsetof(struct sk_hboot, bulk_chunk) == 28,
	       "boot.bulk_chunk");

#define HOFF_MAGIC    0
#define HOFF_VERSION  4
#define HOFF_RESERVED 6
#define HOFF_RANK     8
#define HOFF_SIZE     12
#define HOFF_SECRET   16
#define HELLO         48

_Static_assert(offsetof(struct sk_boot_hello, magic) == HOFF_MAGIC, "magic");
_Static_assert(offsetof(struct sk_boot_hello, version) == HOFF_VERSION,
	       "version");
_Static_assert(offsetof(struct sk_boot_hello, reserved) == HOFF_RESERVED,
	       "reserved");
_Static_assert(offsetof(struct sk_boot_hello, rank) == HOFF_RANK, "rank");
_Static_assert(offsetof(struct sk_boot_hello, size) == HOFF_SIZE, "size");
_Static_assert(offsetof(struct sk_boot_hello, secret) == HOFF_SECRET,
	       "secret");
_Static_assert(sizeof(struct sk_boot_hello) == HELLO, "hello is 48 bytes");
_Static_assert(offsetof(struct sk_boot_welcome, result) == 6, "result");
_Static_assert(offsetof(struct sk_boot_welcome, size) == 8, "welcome size");
_Static_assert(SK_BOOT_MAGIC == 0x544b4253u, "\"SBKT\" little-endian");
_Static_assert(SK_BOOT_VERSION == 3, "a version bump is a wire change");
_Static_assert(SK_BOOT_SECRET_LEN == 32, "the secret is 32 bytes");
_Static_assert(SK_BLOB_MAX <= UINT16_MAX, "a u16 length holds any blob");
_Static_assert(SK_BOOT_MSG_MAX == HELLO + 2 + SK_BLOB_MAX,
	       "a hello and one blob, whatever the job's size");

/* ---- building requests ---- */

#define REQ_ID  0x0123456789abcdefull
#define MSG_CAP (SK_HMSG_SLOT_SIZE + 64)

#include "../lib/test_msg.h"

static void msg_begin(struct msg *m, uint16_t type, uint16_t flags)
{
	memset(m->b, 0, HDR);
	sk_le16_put(m->b + OFF_TYPE, type);
	sk_le16_put(m->b + OFF_FLAGS, flags);
	sk_le64_put(m->b + OFF_REQ_ID, REQ_ID);
	m->len = HDR;
}

/* A string with its NUL. */
static void msg_str(struct msg *m, const char *s)
{
	msg_bytes(m, s, strlen(s) + 1);
}

/* Set the header's length to the payload built so far. */
static void msg_seal(struct msg *m)
{
	sk_le32_put(m->b + OFF_LEN, (uint32_t)(m->len - HDR));
}

static sk_status_t parse(struct msg *m, struct sk_hreq *r, const char **why)
{
	const uint8_t *heap = msg_heap(m);

	*why = NULL;
	return sk_hmsg_parse(heap, m->len, r, why);
}

/* Refused as malformed, with a reason that names @reason. */
#define expect_refused(m, reason)                                          \
	do {                                                               \
		struct sk_hreq r_;                                         \
		const char *why_;                                          \
		assert_int_equal(parse(m, &r_, &why_), SK_ERR_MALFORMED);  \
		msg_check_why(why_, reason);                               \
	} while (0)

#define expect_ok(m, r)                                                    \
	do {                                                               \
		const char *why_;                                          \
		sk_status_t st_ = parse(m, r, &why_);                      \
		if (st_ != SK_OK)                                          \
			fail_msg("refused: %s", why_ ? why_ : "(no reason)"); \
		check_req((m)->heap, (m)->len, r);                         \
	} while (0)

/* @s, NUL-terminated, lies inside [buf, buf + len). */
static void check_str_inside(const uint8_t *buf, size_t len, const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	assert_non_null(s);
	assert_true(p >= buf && p < buf + len);
	assert_non_null(memchr(p, '\0', (size_t)(buf + len - p)));
}

/* What any accepted request promises, whatever its type. */
static void check_req(const uint8_t *buf, size_t len, const struct sk_hreq *r)
{
	const uint8_t *end = buf + len, *pl = buf + HDR;

	assert_int_equal(r->hdr.len, len - HDR);
	assert_int_equal(r->hdr.result, 0);
	assert_memory_equal(&r->hdr, buf, HDR);
	switch (r->hdr.type) {
	case SK_HMSG_READY:
	case SK_HMSG_CONSOLE:
		assert_ptr_equal(r->u.bytes.data, pl);
		assert_int_equal(r->u.bytes.len, len - HDR);
		break;
	case SK_HMSG_WRITE:
		if (r->io.raddr == 0) {
			assert_ptr_equal(r->u.bytes.data, pl + 24);
			assert_true(pl + 24 + r->u.bytes.len == end);
		}
		break;
	case SK_HMSG_ABORT:
		assert_ptr_equal(r->u.abort.msg, pl + 4);
		assert_int_equal(end[-1], 0);
		break;
	case SK_HMSG_OPEN:
		check_str_inside(buf, len, r->u.open.path);
		assert_ptr_equal(r->u.open.path, pl + 8);
		assert_ptr_equal(r->u.open.path + strlen(r->u.open.path) + 1,
				 end);
		break;
	case SK_HMSG_MKDIR:
		check_str_inside(buf, len, r->u.mkdir.path);
		assert_ptr_equal(r->u.mkdir.path, pl + 8);
		assert_ptr_equal(r->u.mkdir.path + strlen(r->u.mkdir.path) + 1,
				 end);
		break;
	case SK_HMSG_UNLINK:
		check_str_inside(buf, len, r->u.path);
		assert_ptr_equal(r->u.path, pl);
		assert_ptr_equal(r->u.path + strlen(r->u.path) + 1, end);
		break;
	case SK_HMSG_CONNECT:
	case SK_HMSG_ACCEPT:
		/* The address is the rest of the message, inside it. */
		assert_memory_equal(&r->u.peer.p, pl, 8);
		assert_ptr_equal(r->u.peer.blob, pl + 8);
		assert_true((const uint8_t *)r->u.peer.blob + r->u.peer.len ==
			    end);
		assert_true(r->u.peer.len <= SK_BLOB_MAX);
		break;
	case SK_HMSG_CONNECTED:
		assert_int_equal(len, HDR + 8);
		assert_memory_equal(&r->u.peer.p, pl, 8);
		break;
	default:
		break;
	}
}

static void check_hdr(const struct sk_hreq *r, uint16_t type, uint16_t flags,
		      uint32_t plen)
{
	assert_int_equal(r->hdr.type, type);
	assert_int_equal(r->hdr.flags, flags);
	assert_int_equal(r->hdr.len, plen);
	assert_true(r->hdr.req_id == REQ_ID);
	assert_true(r->hdr.result == 0);
}

/* The messages of each type, as the node's libos writes them. */

static void mk_bytes(struct msg *m, uint16_t type, uint16_t flags,
		     const void *p, size_t n)
{
	msg_begin(m, type, flags);
	msg_bytes(m, p, n);
	msg_seal(m);
}

static void mk_u32(struct msg *m, uint16_t type, uint32_t v)
{
	msg_begin(m, type, 0);
	msg_u32(m, v);
	msg_seal(m);
}

static void mk_abort(struct msg *m, int32_t code, const char *text)
{
	msg_begin(m, SK_HMSG_ABORT, 0);
	msg_u32(m, (uint32_t)code);
	msg_str(m, text);
	msg_seal(m);
}

/* OPEN and MKDIR: two u32s, then the path (@path NULL: none at all). */
static void mk_path2(struct msg *m, uint16_t type, uint32_t a, uint32_t b,
		     const char *path)
{
	msg_begin(m, type, 0);
	msg_u32(m, a);
	msg_u32(m, b);
	if (path)
		msg_str(m, path);
	msg_seal(m);
}

static void mk_unlink(struct msg *m, const char *path)
{
	msg_begin(m, SK_HMSG_UNLINK, 0);
	if (path)
		msg_str(m, path);
	msg_seal(m);
}

static void mk_fd(struct msg *m, uint16_t type, int32_t fd)
{
	msg_begin(m, type, 0);
	msg_u32(m, (uint32_t)fd);
	msg_u32(m, 0);
	msg_seal(m);
}

static void mk_io(struct msg *m, uint16_t type, int32_t fd, uint32_t len,
		  int64_t off, uint64_t raddr, const void *data, size_t n)
{
	msg_begin(m, type, 0);
	msg_u32(m, (uint32_t)fd);
	msg_u32(m, len);
	msg_u64(m, (uint64_t)off);
	msg_u64(m, raddr);
	if (n)
		msg_bytes(m, data, n);
	msg_seal(m);
}

/* A READ or WRITE with header flags @flags, nothing after the struct but
 * @n bytes of @data. */
static void mk_io_flags(struct msg *m, uint16_t type, uint16_t flags,
			uint32_t len, uint64_t raddr, const void *data,
			size_t n)
{
	msg_begin(m, type, flags);
	msg_u32(m, 3);
	msg_u32(m, len);
	msg_u64(m, 4096);
	msg_u64(m, raddr);
	if (n)
		msg_bytes(m, data, n);
	msg_seal(m);
}

static void mk_lseek(struct msg *m, int32_t fd, int32_t whence, int64_t off)
{
	msg_begin(m, SK_HMSG_LSEEK, 0);
	msg_u32(m, (uint32_t)fd);
	msg_u32(m, (uint32_t)whence);
	msg_u64(m, (uint64_t)off);
	msg_seal(m);
}

static uint8_t addr_byte(size_t j)
{
	return (uint8_t)(0x30 + 7 * j);
}

/* CONNECT and ACCEPT: struct sk_hreq_peer, then an address of @alen
 * bytes (addr_byte). */
static void mk_peer(struct msg *m, uint16_t type, uint32_t rank,
		    uint16_t service, uint16_t pflags, size_t alen)
{
	msg_begin(m, type, 0);
	msg_u32(m, rank);
	msg_u16(m, service);
	msg_u16(m, pflags);
	assert_true(m->len + alen <= MSG_CAP);
	for (size_t j = 0; j < alen; j++)
		m->b[m->len++] = addr_byte(j);
	msg_seal(m);
}

/* A path of @n bytes before its NUL, in a static buffer. */
static const char *long_path(size_t n)
{
	static char p[SK_HMSG_PATH_MAX + 16];

	assert_true(n < sizeof(p));
	memset(p, 'a', n);
	for (size_t i = 0; i < n; i += 64)
		p[i] = '/';
	p[n] = '\0';
	return p;
}

static const uint8_t arena_desc[] = {0x53, 0x4b, 0x4d, 0x52, 0x01, 0x02,
				     0x10, 0x00, 0xde, 0xad, 0xbe, 0xef,
				     0x00, 0x11, 0x22, 0x33};
static const char wdata[] = "hello, file\n";
#define RADDR 0x7f0012345000ull

/* ---- round trips ---- */

static void test_type_names(void **state)
{
	(void)state;
	for (unsigned t = SK_HMSG_READY; t < SK_HMSG_TYPE_MAX; t++)
		assert_string_not_equal(sk_hmsg_type_str(t), "unknown");
	assert_string_equal(sk_hmsg_type_str(0), "unknown");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_TYPE_MAX), "unknown");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_REPLY), "REPLY");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_BOOT), "BOOT");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_PEER), "PEER");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_CONNECT), "CONNECT");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_LISTEN), "LISTEN");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_ACCEPT), "ACCEPT");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_BARRIER), "BARRIER");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_CONNECTED), "CONNECTED");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_STAT), "STAT");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_FSYNC), "FSYNC");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_FTRUNCATE), "FTRUNCATE");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_RENAME), "RENAME");
	assert_string_equal(sk_hmsg_type_str(SK_HMSG_PEER + 1), "unknown");
	assert_string_equal(sk_hmsg_type_str(0xffff), "unknown");
	assert_string_equal(sk_boot_result_str(SK_BOOT_OK), "ok");
	assert_string_equal(sk_boot_result_str(99), "unknown result");
}

static void test_header_layout(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	mk_bytes(m, SK_HMSG_CONSOLE, 2, "xy", 2);
	assert_int_equal(m->b[OFF_TYPE], SK_HMSG_CONSOLE);
	assert_int_equal(m->b[OFF_FLAGS], 2);
	assert_int_equal(m->b[OFF_LEN], 2);
	assert_int_equal(m->b[OFF_REQ_ID], 0xef);
	assert_int_equal(m->b[OFF_REQ_ID + 7], 0x01);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_CONSOLE, 2, 2);
	msg_free(m);
}

static void test_ready(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	mk_bytes(m, SK_HMSG_READY, 0, arena_desc, sizeof(arena_desc));
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_READY, 0, sizeof(arena_desc));
	assert_ptr_equal(r.u.bytes.data, m->heap + HDR);
	assert_int_equal(r.u.bytes.len, sizeof(arena_desc));
	assert_memory_equal(r.u.bytes.data, arena_desc, sizeof(arena_desc));
	msg_free(m);
}

static void test_console(void **state)
{
	static const char text[] = "a line\n";
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	for (uint16_t stream = 1; stream <= 2; stream++) {
		mk_bytes(m, SK_HMSG_CONSOLE, stream, text, sizeof(text) - 1);
		expect_ok(m, &r);
		check_hdr(&r, SK_HMSG_CONSOLE, stream, sizeof(text) - 1);
		assert_ptr_equal(r.u.bytes.data, m->heap + HDR);
		assert_int_equal(r.u.bytes.len, sizeof(text) - 1);
		assert_memory_equal(r.u.bytes.data, text, sizeof(text) - 1);
	}
	/* Empty, and a whole slot. */
	mk_bytes(m, SK_HMSG_CONSOLE, 1, "", 0);
	expect_ok(m, &r);
	assert_int_equal(r.u.bytes.len, 0);
	msg_begin(m, SK_HMSG_CONSOLE, 2);
	memset(m->b + HDR, 'x', SK_HMSG_PAYLOAD_MAX);
	m->len = SK_HMSG_SLOT_SIZE;
	msg_seal(m);
	expect_ok(m, &r);
	assert_int_equal(r.u.bytes.len, SK_HMSG_PAYLOAD_MAX);
	msg_free(m);
}

static void test_stdin_read(void **state)
{
	static const uint32_t ok[] = {1, 4096, SK_HMSG_PAYLOAD_MAX};
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		mk_u32(m, SK_HMSG_STDIN_READ, ok[i]);
		expect_ok(m, &r);
		check_hdr(&r, SK_HMSG_STDIN_READ, 0, 4);
		assert_int_equal(r.u.max, ok[i]);
	}
	msg_free(m);
}

static void test_finalize(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	msg_begin(m, SK_HMSG_FINALIZE, 0);
	msg_seal(m);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_FINALIZE, 0, 0);
	msg_free(m);
	/* The second FINALIZE, and a flag nobody defined. */
	m = msg_new();
	msg_begin(m, SK_HMSG_FINALIZE, SK_HFIN_LEAVE);
	msg_seal(m);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_FINALIZE, SK_HFIN_LEAVE, 0);
	msg_free(m);
	m = msg_new();
	msg_begin(m, SK_HMSG_FINALIZE, 2);
	msg_seal(m);
	expect_refused(m, "unknown finalize flags");
	msg_free(m);
}

static void test_abort(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	mk_abort(m, -3, "rank 2: assertion failed");
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_ABORT, 0, 4 + 25);
	assert_int_equal(r.u.abort.code, -3);
	assert_ptr_equal(r.u.abort.msg, m->heap + HDR + 4);
	assert_string_equal(r.u.abort.msg, "rank 2: assertion failed");

	mk_abort(m, INT32_MIN, "");
	expect_ok(m, &r);
	assert_int_equal(r.u.abort.code, INT32_MIN);
	assert_string_equal(r.u.abort.msg, "");
	msg_free(m);
}

static void test_open(void **state)
{
	struct msg *m = msg_new();
	const char *lp = long_path(SK_HMSG_PATH_MAX - 1);
	struct sk_hreq r;

	(void)state;
	mk_path2(m, SK_HMSG_OPEN, 0x241 /* O_WRONLY|O_CREAT|O_TRUNC */, 0644,
		 "out/result.txt");
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_OPEN, 0, 8 + 15);
	assert_int_equal(r.u.open.o.flags, 0x241);
	assert_int_equal(r.u.open.o.mode, 0644);
	assert_ptr_equal(r.u.open.path, m->heap + HDR + 8);
	assert_string_equal(r.u.open.path, "out/result.txt");

	/* Negative flags pass: the file service judges them. */
	mk_path2(m, SK_HMSG_OPEN, (uint32_t)-1, 0, "/");
	expect_ok(m, &r);
	assert_int_equal(r.u.open.o.flags, -1);
	assert_string_equal(r.u.open.path, "/");

	/* The longest path: SK_HMSG_PATH_MAX bytes with its NUL. */
	mk_path2(m, SK_HMSG_OPEN, 0, 0, lp);
	expect_ok(m, &r);
	assert_int_equal(strlen(r.u.open.path), SK_HMSG_PATH_MAX - 1);
	msg_free(m);
}

static void test_fd_requests(void **state)
{
	static const uint16_t types[] = {SK_HMSG_CLOSE, SK_HMSG_FSTAT,
					 SK_HMSG_READDIR};
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		mk_fd(m, types[i], 17 + (int32_t)i);
		expect_ok(m, &r);
		check_hdr(&r, types[i], 0, 8);
		assert_int_equal(r.u.fd.fd, 17 + (int32_t)i);
		assert_int_equal(r.u.fd.reserved, 0);
	}
	msg_free(m);
}

static void test_read(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	/* Inline, at the file position. */
	mk_io(m, SK_HMSG_READ, 5, 4096, -1, 0, NULL, 0);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_READ, 0, 24);
	assert_int_equal(r.io.fd, 5);
	assert_int_equal(r.io.len, 4096);
	assert_true(r.io.offset == -1);
	assert_true(r.io.raddr == 0);
	assert_int_equal(r.u.bytes.len, 0);

	/* Inline, as much as a reply holds, at an offset. */
	mk_io(m, SK_HMSG_READ, 5, SK_HMSG_PAYLOAD_MAX, 1ll << 40, 0, NULL, 0);
	expect_ok(m, &r);
	assert_int_equal(r.io.len, SK_HMSG_PAYLOAD_MAX);
	assert_true(r.io.offset == 1ll << 40);

	/* Bulk, the most it may move; and zero bytes. */
	mk_io(m, SK_HMSG_READ, 6, SK_HMSG_BULK_MAX, 0, RADDR, NULL, 0);
	expect_ok(m, &r);
	assert_int_equal(r.io.fd, 6);
	assert_int_equal(r.io.len, SK_HMSG_BULK_MAX);
	assert_true(r.io.offset == 0);
	assert_true(r.io.raddr == RADDR);
	mk_io(m, SK_HMSG_READ, 6, 0, INT64_MAX, RADDR, NULL, 0);
	expect_ok(m, &r);
	assert_true(r.io.offset == INT64_MAX);
	msg_free(m);
}

static void test_write(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	mk_io(m, SK_HMSG_WRITE, 7, sizeof(wdata) - 1, 100, 0, wdata,
	      sizeof(wdata) - 1);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_WRITE, 0, 24 + sizeof(wdata) - 1);
	assert_int_equal(r.io.fd, 7);
	assert_int_equal(r.io.len, sizeof(wdata) - 1);
	assert_true(r.io.offset == 100);
	assert_true(r.io.raddr == 0);
	assert_ptr_equal(r.u.bytes.data, m->heap + HDR + 24);
	assert_int_equal(r.u.bytes.len, sizeof(wdata) - 1);
	assert_memory_equal(r.u.bytes.data, wdata, sizeof(wdata) - 1);

	/* Empty inline write; a whole slot of it. */
	mk_io(m, SK_HMSG_WRITE, 7, 0, -1, 0, NULL, 0);
	expect_ok(m, &r);
	assert_int_equal(r.u.bytes.len, 0);
	msg_begin(m, SK_HMSG_WRITE, 0);
	msg_u32(m, 7);
	msg_u32(m, SK_HMSG_PAYLOAD_MAX - 24);
	msg_u64(m, (uint64_t)-1);
	msg_u64(m, 0);
	memset(m->b + m->len, 'w', SK_HMSG_PAYLOAD_MAX - 24);
	m->len = SK_HMSG_SLOT_SIZE;
	msg_seal(m);
	expect_ok(m, &r);
	assert_int_equal(r.u.bytes.len, SK_HMSG_PAYLOAD_MAX - 24);

	/* Bulk. */
	mk_io(m, SK_HMSG_WRITE, 8, SK_HMSG_BULK_MAX, 4096, RADDR, NULL, 0);
	expect_ok(m, &r);
	assert_int_equal(r.io.fd, 8);
	assert_int_equal(r.io.len, SK_HMSG_BULK_MAX);
	assert_true(r.io.offset == 4096);
	assert_true(r.io.raddr == RADDR);
	msg_free(m);
}

static void test_lseek(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	mk_lseek(m, 9, 1 /* SEEK_CUR */, -12);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_LSEEK, 0, 16);
	assert_int_equal(r.u.lseek.fd, 9);
	assert_int_equal(r.u.lseek.whence, 1);
	assert_true(r.u.lseek.offset == -12);
	msg_free(m);
}

static void test_unlink(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	mk_unlink(m, "tmp/scratch");
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_UNLINK, 0, 12);
	assert_ptr_equal(r.u.path, m->heap + HDR);
	assert_string_equal(r.u.path, "tmp/scratch");
	mk_unlink(m, long_path(SK_HMSG_PATH_MAX - 1));
	expect_ok(m, &r);
	msg_free(m);
}

static void mk_trunc(struct msg *m, int32_t fd, uint32_t reserved,
		     int64_t length)
{
	msg_begin(m, SK_HMSG_FTRUNCATE, 0);
	msg_u32(m, (uint32_t)fd);
	msg_u32(m, reserved);
	msg_u64(m, (uint64_t)length);
	msg_seal(m);
}

/* STAT is a path, as UNLINK; FSYNC a handle and a flag; FTRUNCATE a
 * handle and a length past 4 GiB; RENAME two paths, back to back. */
static void test_stat_sync_trunc_rename(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	msg_begin(m, SK_HMSG_STAT, 0);
	msg_str(m, "data/in.dat");
	msg_seal(m);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_STAT, 0, 12);
	assert_string_equal(r.u.path, "data/in.dat");
	mk_fd(m, SK_HMSG_FSYNC, 4);
	expect_ok(m, &r);
	assert_int_equal(r.u.fd.fd, 4);
	sk_le16_put(m->b + OFF_FLAGS, SK_HFSYNC_DATA);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_FSYNC, SK_HFSYNC_DATA, 8);
	mk_trunc(m, 6, 0, (int64_t)5 << 30);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_FTRUNCATE, 0, 16);
	assert_int_equal(r.u.trunc.fd, 6);
	assert_true(r.u.trunc.length == (int64_t)5 << 30);
	mk_trunc(m, 6, 0, 0);
	expect_ok(m, &r);
	msg_begin(m, SK_HMSG_RENAME, 0);
	msg_str(m, "ckpt.tmp");
	msg_str(m, "ckpt/1");
	msg_seal(m);
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_RENAME, 0, 9 + 7);
	assert_ptr_equal(r.u.rename.from, m->heap + HDR);
	assert_string_equal(r.u.rename.from, "ckpt.tmp");
	assert_ptr_equal(r.u.rename.to, m->heap + HDR + 9);
	assert_string_equal(r.u.rename.to, "ckpt/1");
	/* Both paths at the limit: 8 KiB, inside a slot. */
	msg_begin(m, SK_HMSG_RENAME, 0);
	msg_str(m, long_path(SK_HMSG_PATH_MAX - 1));
	msg_str(m, long_path(SK_HMSG_PATH_MAX - 1));
	msg_seal(m);
	expect_ok(m, &r);
	msg_free(m);
}

static void check_bad_paths(uint16_t type, size_t fixed);

static void test_stat_sync_trunc_rename_bad(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	check_bad_paths(SK_HMSG_STAT, 0);
	mk_fd(m, SK_HMSG_FSYNC, 4);
	sk_le16_put(m->b + OFF_FLAGS, 2);
	expect_refused(m, "fsync flags");
	mk_fd(m, SK_HMSG_FSYNC, 4);
	sk_le32_put(m->b + HDR + 4, 1);
	expect_refused(m, "fsync flags");
	mk_trunc(m, 6, 0, -1);
	expect_refused(m, "negative length");
	mk_trunc(m, 6, 7, 10);
	expect_refused(m, "negative length");
	/* RENAME: one path, none, an empty one, a missing NUL, a third. */
	msg_begin(m, SK_HMSG_RENAME, 0);
	msg_str(m, "only");
	msg_seal(m);
	expect_refused(m, "missing path");
	msg_begin(m, SK_HMSG_RENAME, 0);
	msg_seal(m);
	expect_refused(m, "two paths");
	msg_begin(m, SK_HMSG_RENAME, 0);
	msg_str(m, "");
	msg_str(m, "to");
	msg_seal(m);
	expect_refused(m, "empty path");
	msg_begin(m, SK_HMSG_RENAME, 0);
	msg_str(m, "from");
	msg_bytes(m, "to", 2);
	msg_seal(m);
	expect_refused(m, "NUL-terminated");
	msg_begin(m, SK_HMSG_RENAME, 0);
	msg_str(m, "a");
	msg_str(m, "b");
	msg_str(m, "c");
	msg_seal(m);
	expect_refused(m, "NUL-terminated");
	msg_begin(m, SK_HMSG_RENAME, 0);
	msg_str(m, long_path(SK_HMSG_PATH_MAX));
	msg_str(m, "b");
	msg_seal(m);
	expect_refused(m, "SK_HMSG_PATH_MAX");
	msg_free(m);
}

static void test_mkdir(void **state)
{
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	mk_path2(m, SK_HMSG_MKDIR, 0755, 0, "out/d");
	expect_ok(m, &r);
	check_hdr(&r, SK_HMSG_MKDIR, 0, 8 + 6);
	assert_int_equal(r.u.mkdir.m.mode, 0755);
	assert_ptr_equal(r.u.mkdir.path, m->heap + HDR + 8);
	assert_string_equal(r.u.mkdir.path, "out/d");
	mk_path2(m, SK_HMSG_MKDIR, 0700, 0, long_path(SK_HMSG_PATH_MAX - 1));
	expect_ok(m, &r);
	msg_free(m);
}

/* The parsed peer request: its fields, and an address of @alen bytes
 * (addr_byte) right after them in the received buffer. */
static void check_peer(const struct msg *m, const struct sk_hreq *r,
		       uint16_t type, uint32_t rank, uint16_t service,
		       uint16_t pflags, size_t alen)
{
	check_hdr(r, type, 0, (uint32_t)(8 + alen));
	assert_int_equal(r->u.peer.p.rank, rank);
	assert_int_equal(r->u.peer.p.service, service);
	assert_int_equal(r->u.peer.p.flags, pflags);
	assert_ptr_equal(r->u.peer.blob, m->heap + HDR + 8);
	assert_int_equal(r->u.peer.len, alen);
	for (size_t j = 0; j < alen; j++)
		assert_int_equal(((const uint8_t *)r->u.peer.blob)[j],
				 addr_byte(j));
}

static void test_connect(void **state)
{
	static const size_t alen[] = {1, 40, SK_BLOB_MAX};
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	mk_peer(m, SK_HMSG_CONNECT, 3, 0, 0, 40);
	expect_ok(m, &r);
	check_peer(m, &r, SK_HMSG_CONNECT, 3, 0, 0, 40);
	/* The last service, and addresses from 1 byte to SK_BLOB_MAX. */
	for (size_t i = 0; i < sizeof(alen) / sizeof(alen[0]); i++) {
		mk_peer(m, SK_HMSG_CONNECT, 1, SK_HSERVICE_MAX - 1, 0,
			alen[i]);
		expect_ok(m, &r);
		check_peer(m, &r, SK_HMSG_CONNECT, 1, SK_HSERVICE_MAX - 1, 0,
			   alen[i]);
	}
	/* Any rank passes: the host judges it against the job's size
	 * (launcher/connect.c), which the checker does not know. */
	mk_peer(m, SK_HMSG_CONNECT, UINT32_MAX, 7, 0, 12);
	expect_ok(m, &r);
	check_peer(m, &r, SK_HMSG_CONNECT, UINT32_MAX, 7, 0, 12);
	msg_free(m);
}

static void test_accept(void **state)
{
	static const uint16_t with_addr[] = {0, SK_HACCEPT_MERGED};
	static const size_t alen[] = {1, 36, SK_BLOB_MAX};
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < sizeof(alen) / sizeof(alen[0]); i++) {
			mk_peer(m, SK_HMSG_ACCEPT, 2, (uint16_t)(5 + i),
				with_addr[f], alen[i]);
			expect_ok(m, &r);
			check_peer(m, &r, SK_HMSG_ACCEPT, 2, (uint16_t)(5 + i),
				   with_addr[f], alen[i]);
		}
		mk_peer(m, SK_HMSG_ACCEPT, 0, SK_HSERVICE_MAX - 1,
			with_addr[f], 8);
		expect_ok(m, &r);
		check_peer(m, &r, SK_HMSG_ACCEPT, 0, SK_HSERVICE_MAX - 1,
			   with_addr[f], 8);
	}
	/* Refused: no endpoint, so no address; it points at the end. */
	mk_peer(m, SK_HMSG_ACCEPT, 4, 0, SK_HACCEPT_REFUSED, 0);
	expect_ok(m, &r);
	check_peer(m, &r, SK_HMSG_ACCEPT, 4, 0, SK_HACCEPT_REFUSED, 0);
	assert_ptr_equal(r.u.peer.blob, m->heap + m->len);
	mk_peer(m, SK_HMSG_ACCEPT, 9, SK_HSERVICE_MAX - 1,
		SK_HACCEPT_REFUSED, 0);
	expect_ok(m, &r);
	check_peer(m, &r, SK_HMSG_ACCEPT, 9, SK_HSERVICE_MAX - 1,
		   SK_HACCEPT_REFUSED, 0);
	msg_free(m);
}

static void test_connected(void **state)
{
	static const uint32_t ranks[] = {0, 1, 4095, UINT32_MAX};
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	/* Any rank: the host checks it against the CONNECT it answered. */
	for (size_t i = 0; i < sizeof(ranks) / sizeof(ranks[0]); i++) {
		mk_peer(m, SK_HMSG_CONNECTED, ranks[i], (uint16_t)i, 0, 0);
		expect_ok(m, &r);
		check_hdr(&r, SK_HMSG_CONNECTED, 0, 8);
		assert_int_equal(r.u.peer.p.rank, ranks[i]);
		assert_int_equal(r.u.peer.p.service, i);
		assert_int_equal(r.u.peer.p.flags, 0);
	}
	mk_peer(m, SK_HMSG_CONNECTED, 2, SK_HSERVICE_MAX - 1, 0, 0);
	expect_ok(m, &r);
	assert_int_equal(r.u.peer.p.service, SK_HSERVICE_MAX - 1);
	msg_free(m);
}

static void test_listen_barrier(void **state)
{
	static const uint16_t types[] = {SK_HMSG_LISTEN, SK_HMSG_BARRIER};
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		msg_begin(m, types[i], 0);
		msg_seal(m);
		expect_ok(m, &r);
		check_hdr(&r, types[i], 0, 0);
	}
	msg_free(m);
}

/* ---- refusals: the envelope ---- */

static void test_shorter_than_header(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	mk_bytes(m, SK_HMSG_CONSOLE, 1, "", 0);
	for (size_t n = 0; n < HDR; n++) {
		m->len = n;
		expect_refused(m, "shorter than a header");
	}
	msg_free(m);
}

static void test_longer_than_slot(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	msg_begin(m, SK_HMSG_CONSOLE, 1);
	memset(m->b + HDR, 'x', SK_HMSG_PAYLOAD_MAX + 1);
	m->len = SK_HMSG_SLOT_SIZE + 1;
	msg_seal(m);
	expect_refused(m, "longer than a slot");
	msg_free(m);
}

static void test_len_disagrees(void **state)
{
	static const uint32_t bad[] = {0, 1, 3, 5, 0x80000000u, UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	mk_bytes(m, SK_HMSG_CONSOLE, 1, "four", 4);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sk_le32_put(m->b + OFF_LEN, bad[i]);
		expect_refused(m, "header length");
	}
	/* The high bytes count too. */
	sk_le32_put(m->b + OFF_LEN, 4 + 0x100);
	expect_refused(m, "header length");
	msg_free(m);
}

static void test_result_set(void **state)
{
	static const int64_t bad[] = {1, -1, -22, INT64_MIN, INT64_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_bytes(m, SK_HMSG_CONSOLE, 1, "x", 1);
		sk_le64_put(m->b + OFF_RESULT, (uint64_t)bad[i]);
		expect_refused(m, "result");
		mk_fd(m, SK_HMSG_CLOSE, 3);
		sk_le64_put(m->b + OFF_RESULT, (uint64_t)bad[i]);
		expect_refused(m, "result");
	}
	/* One byte set in the top half. */
	mk_bytes(m, SK_HMSG_CONSOLE, 1, "x", 1);
	m->b[OFF_RESULT + 7] = 0x01;
	expect_refused(m, "result");
	msg_free(m);
}

static void test_unknown_type(void **state)
{
	static const uint16_t bad[] = {0, SK_HMSG_TYPE_MAX,
				       SK_HMSG_TYPE_MAX + 1, 0x7f,
				       SK_HMSG_REPLY, SK_HMSG_BOOT,
				       SK_HMSG_PEER, SK_HMSG_PEER + 1,
				       0x100 | SK_HMSG_CONNECT,
				       0x100 | SK_HMSG_READY, 0xffff};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* With a payload that some type would take. */
		mk_fd(m, bad[i], 3);
		expect_refused(m, "unknown request type");
		msg_begin(m, bad[i], 0);
		msg_seal(m);
		expect_refused(m, "unknown request type");
	}
	msg_free(m);
}

/* ---- refusals: each type's payload ---- */

static void test_ready_empty(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	mk_bytes(m, SK_HMSG_READY, 0, "", 0);
	expect_refused(m, "payload shorter");
	msg_free(m);
}

static void test_console_flags(void **state)
{
	static const uint16_t bad[] = {0, 3, 4, 0x101, 0x8001, 0xffff};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_bytes(m, SK_HMSG_CONSOLE, bad[i], "x\n", 2);
		expect_refused(m, "console");
	}
	msg_free(m);
}

static void test_stdin_read_bad(void **state)
{
	static const uint32_t bad[] = {0, SK_HMSG_PAYLOAD_MAX + 1,
				       SK_HMSG_SLOT_SIZE, UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_u32(m, SK_HMSG_STDIN_READ, bad[i]);
		expect_refused(m, "stdin read size");
	}
	/* Not exactly a u32. */
	for (size_t n = 0; n <= 8; n++) {
		if (n == 4)
			continue;
		msg_begin(m, SK_HMSG_STDIN_READ, 0);
		memset(m->b + HDR, 0x01, n);
		m->len = HDR + n;
		msg_seal(m);
		expect_refused(m, "payload size");
	}
	msg_free(m);
}

static void test_finalize_payload(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	mk_bytes(m, SK_HMSG_FINALIZE, 0, "", 1);
	expect_refused(m, "payload size");
	mk_bytes(m, SK_HMSG_FINALIZE, 0, arena_desc, sizeof(arena_desc));
	expect_refused(m, "payload size");
	msg_free(m);
}

static void test_abort_bad(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	/* No message at all, or a part of the code. */
	for (size_t n = 0; n <= 4; n++) {
		msg_begin(m, SK_HMSG_ABORT, 0);
		memset(m->b + HDR, 0, n);
		m->len = HDR + n;
		msg_seal(m);
		expect_refused(m, "payload shorter");
	}
	/* A message without its NUL. */
	msg_begin(m, SK_HMSG_ABORT, 0);
	msg_u32(m, 1);
	msg_bytes(m, "oops", 4);
	msg_seal(m);
	expect_refused(m, "abort message");
	msg_begin(m, SK_HMSG_ABORT, 0);
	msg_u32(m, 1);
	msg_bytes(m, "x", 1);
	msg_seal(m);
	expect_refused(m, "abort message");
	/* NUL inside but not at the end. */
	msg_begin(m, SK_HMSG_ABORT, 0);
	msg_u32(m, 1);
	msg_bytes(m, "ab\0cd", 5);
	msg_seal(m);
	expect_refused(m, "abort message");
	msg_free(m);
}

/* @type's fixed part (left as it is), then the path bytes @p..@p+@n:
 * refused, naming @reason. */
static void refuse_path(struct msg *m, size_t fixed, const void *p, size_t n,
			const char *reason)
{
	m->len = HDR + fixed;
	msg_bytes(m, p, n);
	msg_seal(m);
	expect_refused(m, reason);
}

/*
 * The path rules, shared by OPEN, UNLINK and MKDIR: @fixed bytes of
 * request struct come first (0 for UNLINK).
 */
static void check_bad_paths(uint16_t type, size_t fixed)
{
	struct msg *m = msg_new();
	const char *lp;

	/* Missing. */
	msg_begin(m, type, 0);
	memset(m->b + HDR, 0, fixed);
	m->len = HDR + fixed;
	msg_seal(m);
	expect_refused(m, "missing path");
	/* The fixed part cut short. */
	for (size_t n = 0; n < fixed; n++) {
		m->len = HDR + n;
		msg_seal(m);
		expect_refused(m, "payload shorter");
	}
	/* Empty: just a NUL. */
	refuse_path(m, fixed, "", 1, "empty path");
	/* No NUL at the end. */
	refuse_path(m, fixed, "a/b", 3, "NUL-terminated");
	refuse_path(m, fixed, "x", 1, "NUL-terminated");
	/* A NUL in the middle: "a\0b\0" names "a" with bytes after it. */
	refuse_path(m, fixed, "a\0b", 4, "NUL-terminated");
	refuse_path(m, fixed, "\0\0", 2, "NUL-terminated");
	/* NUL-terminated, then trailing bytes. */
	refuse_path(m, fixed, "ok\0zz", 5, "NUL-terminated");
	/* One byte too long, with and without its NUL at the end. */
	lp = long_path(SK_HMSG_PATH_MAX);
	refuse_path(m, fixed, lp, SK_HMSG_PATH_MAX + 1, "SK_HMSG_PATH_MAX");
	m->len = HDR + fixed;
	msg_bytes(m, lp, SK_HMSG_PATH_MAX + 1);
	m->b[m->len - 1] = 'z';
	msg_seal(m);
	expect_refused(m, "SK_HMSG_PATH_MAX");
	/* Far too long: as much as a slot holds. */
	m->len = HDR + fixed;
	memset(m->b + m->len, 'p', SK_HMSG_PAYLOAD_MAX - fixed - 1);
	m->len = SK_HMSG_SLOT_SIZE;
	m->b[m->len - 1] = '\0';
	msg_seal(m);
	expect_refused(m, "SK_HMSG_PATH_MAX");
	msg_free(m);
}

static void test_open_bad_path(void **state)
{
	(void)state;
	check_bad_paths(SK_HMSG_OPEN, sizeof(struct sk_hreq_open));
}

static void test_unlink_bad_path(void **state)
{
	(void)state;
	check_bad_paths(SK_HMSG_UNLINK, 0);
}

static void test_mkdir_bad_path(void **state)
{
	(void)state;
	check_bad_paths(SK_HMSG_MKDIR, sizeof(struct sk_hreq_mkdir));
}

static void test_fixed_sizes(void **state)
{
	static const struct {
		uint16_t type;
		size_t   size;
	} fixed[] = {
		{SK_HMSG_CLOSE, 8}, {SK_HMSG_FSTAT, 8},
		{SK_HMSG_READDIR, 8}, {SK_HMSG_LSEEK, 16},
		{SK_HMSG_FSYNC, 8}, {SK_HMSG_FTRUNCATE, 16},
	};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		size_t want = fixed[i].size;
		const size_t sizes[] = {0, 1, want - 1, want + 1, 2 * want,
					want + 8};

		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			msg_begin(m, fixed[i].type, 0);
			memset(m->b + HDR, 0x03, sizes[j]);
			m->len = HDR + sizes[j];
			msg_seal(m);
			expect_refused(m, "payload size");
		}
	}
	msg_free(m);
}

static void test_io_short(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	for (uint16_t t = SK_HMSG_READ; t <= SK_HMSG_WRITE; t++) {
		for (size_t n = 0; n < sizeof(struct sk_hreq_io); n++) {
			msg_begin(m, t, 0);
			memset(m->b + HDR, 0, n);
			m->len = HDR + n;
			msg_seal(m);
			expect_refused(m, "payload shorter");
		}
	}
	msg_free(m);
}

static void test_io_bad_offset(void **state)
{
	static const int64_t bad[] = {-2, -4096, INT64_MIN};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_io(m, SK_HMSG_READ, 3, 10, bad[i], 0, NULL, 0);
		expect_refused(m, "negative file offset");
		mk_io(m, SK_HMSG_READ, 3, 10, bad[i], RADDR, NULL, 0);
		expect_refused(m, "negative file offset");
		mk_io(m, SK_HMSG_WRITE, 3, 3, bad[i], 0, "abc", 3);
		expect_refused(m, "negative file offset");
		mk_io(m, SK_HMSG_WRITE, 3, 10, bad[i], RADDR, NULL, 0);
		expect_refused(m, "negative file offset");
	}
	msg_free(m);
}

static void test_inline_write_len(void **state)
{
	static const uint32_t bad[] = {0, 2, 4, SK_HMSG_PAYLOAD_MAX,
				       SK_HMSG_BULK_MAX, UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mk_io(m, SK_HMSG_WRITE, 3, bad[i], 0, 0, "abc", 3);
		expect_refused(m, "inline length");
	}
	/* Length but no bytes. */
	mk_io(m, SK_HMSG_WRITE, 3, 1, 0, 0, NULL, 0);
	expect_refused(m, "inline length");
	msg_free(m);
}

static void test_inline_read_bad(void **state)
{
	static const uint32_t big[] = {SK_HMSG_PAYLOAD_MAX + 1,
				       SK_HMSG_SLOT_SIZE, SK_HMSG_BULK_MAX,
				       UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		mk_io(m, SK_HMSG_READ, 3, big[i], -1, 0, NULL, 0);
		expect_refused(m, "inline length");
	}
	/* A read carries no bytes, whatever its length says. */
	mk_io(m, SK_HMSG_READ, 3, 3, 0, 0, "abc", 3);
	expect_refused(m, "inline length");
	mk_io(m, SK_HMSG_READ, 3, 0, 0, 0, "a", 1);
	expect_refused(m, "inline length");
	msg_free(m);
}

static const char key[SK_BLOB_MAX + 1];

static void test_bulk_bad(void **state)
{
	static const uint32_t big[] = {SK_HMSG_BULK_MAX + 1, UINT32_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (uint16_t t = SK_HMSG_READ; t <= SK_HMSG_WRITE; t++) {
		for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
			mk_io(m, t, 3, big[i], 0, RADDR, NULL, 0);
			expect_refused(m, "bulk");
		}
		/* A key longer than any descriptor. */
		mk_io(m, t, 3, 3, 0, RADDR, key, SK_BLOB_MAX + 1);
		expect_refused(m, "bulk");
		mk_io(m, t, 3, 0, 0, 1, key, sizeof(key));
		expect_refused(m, "bulk");
	}
	msg_free(m);
}

/* BOOT's area descriptor (struct sk_hmap), field by field. */
_Static_assert(offsetof(struct sk_hmap, magic) == 0, "hmap.magic");
_Static_assert(offsetof(struct sk_hmap, pid) == 4, "hmap.pid");
_Static_assert(offsetof(struct sk_hmap, fd) == 8, "hmap.fd");
_Static_assert(offsetof(struct sk_hmap, len) == 16, "hmap.len");
_Static_assert(offsetof(struct sk_hmap, boot_id) == 24, "hmap.boot_id");
_Static_assert(SK_HMAP_MAGIC == 0x50414d53u, "\"SMAP\" little-endian");

/* What the node does with BOOT's descriptor of its area: an area made
 * here (this process plays the host) maps, and the two mappings are the
 * same pages, none of them written by making it; each field that is not
 * as made is refused with the errno sk_hmap_open documents. */
static void test_hmap(void **state)
{
	const size_t len = (size_t)64 << 20;
	struct sk_hmap d, bad;
	size_t got = 0;
	char *host, *node;
	char path[64];
	int fd;

	(void)state;
	assert_int_equal(sk_hmap_create(len, &d, (void **)&host), 0);
	assert_int_equal(d.magic, SK_HMAP_MAGIC);
	assert_int_equal(d.pid, (uint32_t)getpid());
	assert_true(d.len == len);
	assert_int_equal(d.boot_id[SK_HMAP_BOOT_ID_LEN - 1], '\0');
	assert_true(strlen(d.boot_id) > 0);
	/* Close-on-exec: no node inherits another's area. */
	assert_true(fcntl(d.fd, F_GETFD) & FD_CLOEXEC);

	node = sk_hmap_open(&d, sizeof(d), &got);
	assert_non_null(node);
	assert_true(got == len);
	assert_ptr_not_equal(node, host);
	host[0] = 'h';
	host[len - 1] = 't';
	node[4096] = 'n';
	assert_int_equal(node[0], 'h');
	assert_int_equal(node[len - 1], 't');
	assert_int_equal(host[4096], 'n');
	munmap(node, len);

	/* A descriptor of another length, or not one. */
	errno = 0;
	assert_null(sk_hmap_open(&d, sizeof(d) - 1, &got));
	assert_int_equal(errno, EINVAL);
	assert_null(sk_hmap_open(&d, 0, &got));
	assert_int_equal(errno, EINVAL);
#define BAD(field, value, err)                                         \
	do {                                                           \
		bad = d;                                               \
		bad.field = (value);                                   \
		errno = 0;                                             \
		assert_null(sk_hmap_open(&bad, sizeof(bad), &got));    \
		assert_int_equal(errno, (err));                        \
	} while (0)
	BAD(magic, SK_HMAP_MAGIC + 1, EINVAL);
	BAD(fd, -1, EINVAL);
	BAD(pid, 0, EINVAL);
	BAD(len, 0, EINVAL);
	BAD(len, SK_HMSG_AREA_MAX + 1, EINVAL);
	/* A length other than the file's. */
	BAD(len, len - 4096, EINVAL);
	BAD(len, len + 4096, EINVAL);
	/* Not this process's descriptor of it: no such one, or a file that
	 * is not the area (this test's stdin need not be a regular file). */
	BAD(fd, 1000000, ENOENT);
	BAD(pid, (uint32_t)getpid() + 4000000u, ENOENT);
	/* Another kernel's boot. */
	bad = d;
	bad.boot_id[0] = bad.boot_id[0] == '0' ? '1' : '0';
	errno = 0;
	assert_null(sk_hmap_open(&bad, sizeof(bad), &got));
	assert_int_equal(errno, EXDEV);
	/* A boot id that does not end inside its field. */
	bad = d;
	memset(bad.boot_id, 'a', sizeof(bad.boot_id));
	errno = 0;
	assert_null(sk_hmap_open(&bad, sizeof(bad), &got));
	assert_int_equal(errno, EINVAL);
#undef BAD
	/* A regular file of the right kind but not the host's memory file. */
	snprintf(path, sizeof(path), "/tmp/skiff-hmap-%d", (int)getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 4096), 0);
	bad = d;
	bad.fd = fd;
	errno = 0;
	assert_null(sk_hmap_open(&bad, sizeof(bad), &got));
	assert_int_equal(errno, EINVAL);
	close(fd);

	sk_hmap_destroy(&d, host);
	assert_int_equal(d.fd, -1);
	/* Nothing to make. */
	assert_int_equal(sk_hmap_create(0, &d, (void **)&host), -EINVAL);
	assert_int_equal(sk_hmap_create(SK_HMSG_AREA_MAX + 1, &d,
					(void **)&host), -EINVAL);
}

/* SK_HIO_HOSTBUF: a range of the host's bulk area, by its offset, inside
 * the largest area there is (the host checks its own); no bytes after the
 * struct; no other flag. */
static void test_hostbuf(void **state)
{
	static const uint64_t bad_raddr[] = {SK_HMSG_AREA_MAX - 511,
					     SK_HMSG_AREA_MAX,
					     SK_HMSG_AREA_MAX + 4096,
					     UINT64_MAX - 511, UINT64_MAX};
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	for (uint16_t t = SK_HMSG_READ; t <= SK_HMSG_WRITE; t++) {
		for (unsigned i = 0; i < SK_HMSG_BULK_DEPTH; i++) {
			mk_io_flags(m, t, SK_HIO_HOSTBUF, SK_HMSG_BULK_MAX,
				    (uint64_t)i * SK_HMSG_BULK_MAX, NULL, 0);
			expect_ok(m, &r);
			assert_int_equal(r.hdr.flags, SK_HIO_HOSTBUF);
			assert_true(r.io.raddr == (uint64_t)i *
							  SK_HMSG_BULK_MAX);
			assert_int_equal(r.u.bytes.len, 0);
		}
		mk_io_flags(m, t, SK_HIO_HOSTBUF, 0, 0, NULL, 0);
		expect_ok(m, &r);
		mk_io_flags(m, t, SK_HIO_HOSTBUF, 512, SK_HMSG_AREA_MAX - 512,
			    NULL, 0);
		expect_ok(m, &r);
		for (size_t i = 0; i < sizeof(bad_raddr) / sizeof(*bad_raddr);
		     i++) {
			mk_io_flags(m, t, SK_HIO_HOSTBUF, 512, bad_raddr[i],
				    NULL, 0);
			expect_refused(m, "host-buffer");
		}
		mk_io_flags(m, t, SK_HIO_HOSTBUF, SK_HMSG_BULK_MAX + 1, 0,
			    NULL, 0);
		expect_refused(m, "host-buffer");
		mk_io_flags(m, t, SK_HIO_HOSTBUF, 3, 0, "abc", 3);
		expect_refused(m, "host-buffer");
		for (unsigned f = 8; f < 0x10000; f <<= 1) {
			mk_io_flags(m, t, (uint16_t)f, 3, 0, "abc", 3);
			expect_refused(m, "unknown read/write flags");
		}
	}
	/* SK_HIO_WHOLE: a write's, alone or with SK_HIO_HOSTBUF; never a
	 * read's. */
	mk_io_flags(m, SK_HMSG_WRITE, SK_HIO_WHOLE | SK_HIO_HOSTBUF,
		    SK_HMSG_BULK_MAX, SK_HMSG_BULK_MAX, NULL, 0);
	expect_ok(m, &r);
	assert_int_equal(r.hdr.flags, SK_HIO_WHOLE | SK_HIO_HOSTBUF);
	mk_io_flags(m, SK_HMSG_WRITE, SK_HIO_WHOLE, 3, 0, "abc", 3);
	expect_ok(m, &r);
	mk_io_flags(m, SK_HMSG_READ, SK_HIO_WHOLE, 3, 0, NULL, 0);
	expect_refused(m, "unknown read/write flags");
	mk_io_flags(m, SK_HMSG_READ, SK_HIO_WHOLE | SK_HIO_HOSTBUF, 3, 0,
		    NULL, 0);
	expect_refused(m, "unknown read/write flags");
	/* SK_HIO_GROW: only a write left behind in the host's buffer. */
	mk_io_flags(m, SK_HMSG_WRITE,
		    SK_HIO_GROW | SK_HIO_WHOLE | SK_HIO_HOSTBUF, 3,
		    SK_HMSG_BULK_MAX, NULL, 0);
	expect_ok(m, &r);
	assert_int_equal(r.hdr.flags,
			 SK_HIO_GROW | SK_HIO_WHOLE | SK_HIO_HOSTBUF);
	mk_io_flags(m, SK_HMSG_WRITE, SK_HIO_GROW | SK_HIO_HOSTBUF, 3, 0,
		    NULL, 0);
	expect_refused(m, "unknown read/write flags");
	mk_io_flags(m, SK_HMSG_WRITE, SK_HIO_GROW | SK_HIO_WHOLE, 3, 0, "abc",
		    3);
	expect_refused(m, "unknown read/write flags");
	mk_io_flags(m, SK_HMSG_WRITE, SK_HIO_GROW, 3, 0, "abc", 3);
	expect_refused(m, "unknown read/write flags");
	mk_io_flags(m, SK_HMSG_READ,
		    SK_HIO_GROW | SK_HIO_WHOLE | SK_HIO_HOSTBUF, 3, 0, NULL, 0);
	expect_refused(m, "unknown read/write flags");
	mk_io_flags(m, SK_HMSG_READ, SK_HIO_GROW | SK_HIO_HOSTBUF, 3, 0, NULL,
		    0);
	expect_refused(m, "unknown read/write flags");
	msg_free(m);
}

/* A bulk request may carry the key of the node's buffer (zero-copy): any
 * bytes up to SK_BLOB_MAX, which the host imports as a descriptor. */
static void test_bulk_key(void **state)
{
	static const size_t lens[] = {1, 3, 100, SK_BLOB_MAX};
	struct msg *m = msg_new();
	struct sk_hreq r;

	(void)state;
	for (uint16_t t = SK_HMSG_READ; t <= SK_HMSG_WRITE; t++) {
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			mk_io(m, t, 3, SK_HMSG_BULK_MAX, 1ll << 33, RADDR,
			      key, lens[i]);
			expect_ok(m, &r);
			assert_true(r.io.raddr == RADDR);
			assert_int_equal(r.io.len, SK_HMSG_BULK_MAX);
			assert_ptr_equal(r.u.bytes.data, m->heap + HDR + 24);
			assert_int_equal(r.u.bytes.len, lens[i]);
		}
	}
	msg_free(m);
}

static const uint16_t peer_types[] = {SK_HMSG_CONNECT, SK_HMSG_ACCEPT};

static void test_peer_short(void **state)
{
	struct msg *m = msg_new();

	(void)state;
	/* Less than struct sk_hreq_peer, whatever its bytes say. */
	for (size_t t = 0; t < 2; t++) {
		for (size_t n = 0; n < sizeof(struct sk_hreq_peer); n++) {
			mk_peer(m, peer_types[t], 1, 0, 0, 0);
			m->len = HDR + n;
			msg_seal(m);
			expect_refused(m, "payload shorter");
		}
		/* An ACCEPT that says REFUSED, cut inside its flags. */
		mk_peer(m, peer_types[t], 1, 0, SK_HACCEPT_REFUSED, 0);
		m->len = HDR + 7;
		msg_seal(m);
		expect_refused(m, "payload shorter");
	}
	msg_free(m);
}

static void test_peer_bad_service(void **state)
{
	static const uint16_t bad[] = {SK_HSERVICE_MAX, SK_HSERVICE_MAX + 1,
				       0x100, 0x8000, UINT16_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t t = 0; t < 2; t++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			mk_peer(m, peer_types[t], 1, bad[i], 0, 16);
			expect_refused(m, "service number out of range");
		}
	}
	mk_peer(m, SK_HMSG_ACCEPT, 1, SK_HSERVICE_MAX, SK_HACCEPT_REFUSED, 0);
	expect_refused(m, "service number out of range");
	mk_peer(m, SK_HMSG_ACCEPT, 1, SK_HSERVICE_MAX, SK_HACCEPT_MERGED, 16);
	expect_refused(m, "service number out of range");
	msg_free(m);
}

static void test_peer_bad_flags(void **state)
{
	/* CONNECT takes no flags, ACCEPT one of MERGED and REFUSED. */
	static const uint16_t connect_bad[] = {
		SK_HACCEPT_MERGED, SK_HACCEPT_REFUSED,
		SK_HACCEPT_MERGED | SK_HACCEPT_REFUSED, 4, 0x100, 0x8000,
		UINT16_MAX};
	static const uint16_t accept_bad[] = {
		SK_HACCEPT_MERGED | SK_HACCEPT_REFUSED, 4,
		4 | SK_HACCEPT_MERGED, 4 | SK_HACCEPT_REFUSED, 0x100, 0x8000,
		UINT16_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(connect_bad) / sizeof(connect_bad[0]);
	     i++) {
		mk_peer(m, SK_HMSG_CONNECT, 1, 0, connect_bad[i], 16);
		expect_refused(m, "unknown connection flags");
		mk_peer(m, SK_HMSG_CONNECT, 1, 0, connect_bad[i], 0);
		expect_refused(m, "unknown connection flags");
	}
	for (size_t i = 0; i < sizeof(accept_bad) / sizeof(accept_bad[0]);
	     i++) {
		mk_peer(m, SK_HMSG_ACCEPT, 1, 0, accept_bad[i], 16);
		expect_refused(m, "unknown connection flags");
		mk_peer(m, SK_HMSG_ACCEPT, 1, 0, accept_bad[i], 0);
		expect_refused(m, "unknown connection flags");
	}
	msg_free(m);
}

static void test_peer_bad_address(void **state)
{
	static const uint16_t with_addr[] = {0, SK_HACCEPT_MERGED};
	static const size_t refused_len[] = {1, 8, SK_BLOB_MAX,
					     SK_BLOB_MAX + 1};
	const size_t most = SK_HMSG_PAYLOAD_MAX - sizeof(struct sk_hreq_peer);
	struct msg *m = msg_new();

	(void)state;
	/* CONNECT, ACCEPT and ACCEPT MERGED need 1..SK_BLOB_MAX bytes. */
	for (size_t i = 0; i < 3; i++) {
		uint16_t type = i ? SK_HMSG_ACCEPT : SK_HMSG_CONNECT;
		uint16_t pflags = i ? with_addr[i - 1] : 0;

		mk_peer(m, type, 1, 0, pflags, 0);
		expect_refused(m, "endpoint address missing");
		mk_peer(m, type, 1, 0, pflags, SK_BLOB_MAX + 1);
		expect_refused(m, "over SK_BLOB_MAX");
		mk_peer(m, type, 1, 0, pflags, 2 * SK_BLOB_MAX);
		expect_refused(m, "over SK_BLOB_MAX");
		/* As much as a slot holds. */
		mk_peer(m, type, 1, 0, pflags, most);
		assert_int_equal(m->len, SK_HMSG_SLOT_SIZE);
		expect_refused(m, "over SK_BLOB_MAX");
	}
	/* A refused ACCEPT carries none. */
	for (size_t i = 0; i < sizeof(refused_len) / sizeof(refused_len[0]);
	     i++) {
		mk_peer(m, SK_HMSG_ACCEPT, 1, 0, SK_HACCEPT_REFUSED,
			refused_len[i]);
		expect_refused(m, "endpoint address");
	}
	msg_free(m);
}

static void test_connected_bad(void **state)
{
	static const uint16_t bad_service[] = {SK_HSERVICE_MAX,
					       SK_HSERVICE_MAX + 1, 0x8000,
					       UINT16_MAX};
	static const uint16_t bad_flags[] = {SK_HACCEPT_MERGED,
					     SK_HACCEPT_REFUSED, 4, UINT16_MAX};
	static const size_t bad_size[] = {0, 1, 7, 9, 16, 8 + SK_BLOB_MAX};
	struct msg *m = msg_new();

	(void)state;
	/* Exactly a struct sk_hreq_peer: an address is not its to carry. */
	for (size_t i = 0; i < sizeof(bad_size) / sizeof(bad_size[0]); i++) {
		mk_peer(m, SK_HMSG_CONNECTED, 1, 0, 0, 0);
		memset(m->b + HDR + 8, 0x21, bad_size[i] > 8 ?
						     bad_size[i] - 8 : 0);
		m->len = HDR + bad_size[i];
		msg_seal(m);
		expect_refused(m, "payload size");
	}
	for (size_t i = 0; i < sizeof(bad_service) / sizeof(bad_service[0]);
	     i++) {
		mk_peer(m, SK_HMSG_CONNECTED, 1, bad_service[i], 0, 0);
		expect_refused(m, "service number or flags");
	}
	for (size_t i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]);
	     i++) {
		mk_peer(m, SK_HMSG_CONNECTED, 1, 0, bad_flags[i], 0);
		expect_refused(m, "service number or flags");
	}
	msg_free(m);
}

static void test_listen_barrier_payload(void **state)
{
	static const uint16_t types[] = {SK_HMSG_LISTEN, SK_HMSG_BARRIER};
	static const size_t sizes[] = {1, 4, 8, 9, SK_BLOB_MAX};
	struct msg *m = msg_new();

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		for (size_t j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			/* Even one shaped like a CONNECT. */
			mk_peer(m, types[i], 1, 0, 0, sizes[j]);
			expect_refused(m, "payload size");
			msg_begin(m, types[i], 0);
			memset(m->b + HDR, 0, sizes[j]);
			m->len = HDR + sizes[j];
			msg_seal(m);
			expect_refused(m, "payload size");
		}
	}
	msg_free(m);
}

/* ---- truncations ---- */

/*
 * Valid messages of every type, and from which payload length on a
 * shorter one (its header length fixed) is valid too: -1 for never.
 */
static int mk_sample(struct msg *m, unsigned i, long *prefix_ok)
{
	*prefix_ok = -1;
	switch (i) {
	case 0:
		mk_bytes(m, SK_HMSG_READY, 0, arena_desc, sizeof(arena_desc));
		*prefix_ok = 1;
		break;
	case 1:
		mk_bytes(m, SK_HMSG_CONSOLE, 2, wdata, sizeof(wdata) - 1);
		*prefix_ok = 0;
		break;
	case 2:
		mk_u32(m, SK_HMSG_STDIN_READ, 1024);
		break;
	case 3:
		msg_begin(m, SK_HMSG_FINALIZE, 0);
		msg_seal(m);
		break;
	case 4:
		mk_abort(m, 1, "fatal: out of memory");
		break;
	case 5:
		mk_path2(m, SK_HMSG_OPEN, 0, 0, "input.dat");
		break;
	case 6:
		mk_fd(m, SK_HMSG_CLOSE, 4);
		break;
	case 7:
		mk_io(m, SK_HMSG_READ, 4, 512, -1, 0, NULL, 0);
		break;
	case 8:
		mk_io(m, SK_HMSG_READ, 4, 65536, 0, RADDR, NULL, 0);
		break;
	case 9:
		mk_io(m, SK_HMSG_WRITE, 4, sizeof(wdata) - 1, 0, 0, wdata,
		      sizeof(wdata) - 1);
		break;
	case 10:
		mk_io(m, SK_HMSG_WRITE, 4, 65536, -1, RADDR, NULL, 0);
		break;
	case 11:
		mk_lseek(m, 4, 2 /* SEEK_END */, 0);
		break;
	case 12:
		mk_fd(m, SK_HMSG_FSTAT, 4);
		break;
	case 13:
		mk_unlink(m, "old.log");
		break;
	case 14:
		mk_path2(m, SK_HMSG_MKDIR, 0755, 0, "out");
		break;
	case 15:
		mk_fd(m, SK_HMSG_READDIR, 5);
		break;
	case 16:
		/* A shorter address is still an address. */
		mk_peer(m, SK_HMSG_CONNECT, 2, 0, 0, 40);
		*prefix_ok = 9;
		break;
	case 17:
		msg_begin(m, SK_HMSG_LISTEN, 0);
		msg_seal(m);
		break;
	case 18:
		mk_peer(m, SK_HMSG_ACCEPT, 1, 0, 0, 40);
		*prefix_ok = 9;
		break;
	case 19:
		mk_peer(m, SK_HMSG_ACCEPT, 1, 3, SK_HACCEPT_MERGED, 40);
		*prefix_ok = 9;
		break;
	case 20:
		mk_peer(m, SK_HMSG_ACCEPT, 1, 0, SK_HACCEPT_REFUSED, 0);
		break;
	case 21:
		msg_begin(m, SK_HMSG_BARRIER, 0);
		msg_seal(m);
		break;
	case 22:
		mk_peer(m, SK_HMSG_CONNECT, 0, SK_HSERVICE_MAX - 1, 0,
			SK_BLOB_MAX);
		*prefix_ok = 9;
		break;
	case 23:
		mk_peer(m, SK_HMSG_CONNECTED, 2, 1, 0, 0);
		break;
	case 24:
		msg_begin(m, SK_HMSG_STAT, 0);
		msg_str(m, "input.dat");
		msg_seal(m);
		break;
	case 25:
		mk_fd(m, SK_HMSG_FSYNC, 4);
		sk_le16_put(m->b + OFF_FLAGS, SK_HFSYNC_DATA);
		break;
	case 26:
		mk_trunc(m, 4, 0, (int64_t)5 << 30);
		break;
	case 27:
		/* Cut anywhere, one path or none is left: refused. */
		msg_begin(m, SK_HMSG_RENAME, 0);
		msg_str(m, "ckpt.tmp");
		msg_str(m, "ckpt.1");
		msg_seal(m);
		break;
	default:
		return 0;
	}
	return 1;
}

static void test_every_prefix(void **state)
{
	struct msg *m = msg_new();
	unsigned types = 0;
	long prefix_ok;

	(void)state;
	for (unsigned i = 0; mk_sample(m, i, &prefix_ok); i++) {
		size_t full = m->len;
		uint16_t type = m->b[OFF_TYPE];
		struct sk_hreq r;

		expect_ok(m, &r);
		types |= 1u << type;
		for (size_t n = 0; n < full; n++) {
			const char *why;
			sk_status_t st;

			/* As received: the header says more. */
			m->len = n;
			expect_refused(m, n < HDR ? "shorter than a header"
						  : "header length");
			if (n < HDR)
				continue;
			/* As a node could send it: the header agrees. */
			msg_seal(m);
			st = parse(m, &r, &why);
			if (prefix_ok >= 0 && (long)(n - HDR) >= prefix_ok) {
				if (st != SK_OK)
					fail_msg("%s prefix %zu refused: %s",
						 sk_hmsg_type_str(type), n,
						 why);
				check_req(m->heap, m->len, &r);
			} else {
				if (st != SK_ERR_MALFORMED)
					fail_msg("%s prefix %zu accepted",
						 sk_hmsg_type_str(type), n);
				assert_non_null(why);
				assert_true(why[0] != '\0');
			}
			m->len = full;
			msg_seal(m);
		}
	}
	/* Every request type was tried. */
	assert_int_equal(types, ((1u << SK_HMSG_TYPE_MAX) - 1) & ~1u);
	msg_free(m);
}

/* ---- the bootstrap hello ---- */

#define NODES_MAX 4
#define HBUF_CAP  (HELLO + 2 + 2 * SK_BLOB_MAX + 16)

struct hello_msg {
	uint8_t b[HBUF_CAP];
	size_t  len;
};

/* The result of one parse. */
struct hello_out {
	struct sk_boot_hello h;
	const void *blob;
	uint16_t    blob_len;
	size_t      used;
	const char *why;
	uint8_t    *heap;
};

static uint8_t blob_byte(size_t j)
{
	return (uint8_t)(0x40 + 3 * j);
}

/* A hello saying @size, followed by its one blob of @blen bytes; or, with
 * @nblobs 0, by nothing. */
static void mk_hello(struct hello_msg *hm, uint32_t rank, uint32_t size,
		     uint16_t blen, unsigned nblobs)
{
	uint8_t *p = hm->b;

	memset(p, 0, HELLO);
	sk_le32_put(p + HOFF_MAGIC, SK_BOOT_MAGIC);
	sk_le16_put(p + HOFF_VERSION, SK_BOOT_VERSION);
	sk_le32_put(p + HOFF_RANK, rank);
	sk_le32_put(p + HOFF_SIZE, size);
	for (size_t k = 0; k < SK_BOOT_SECRET_LEN; k++)
		p[HOFF_SECRET + k] = (uint8_t)(0xa0 + k);
	hm->len = HELLO;
	if (nblobs == 0)
		return;
	assert_true(hm->len + 2 + blen <= HBUF_CAP);
	sk_le16_put(p + hm->len, blen);
	hm->len += 2;
	for (size_t j = 0; j < blen; j++)
		p[hm->len++] = blob_byte(j);
}

/* Parse the first @len bytes of @hm from an exact-size heap copy, so that
 * under ASan a read past them fails. */
static int hello_parse(const struct hello_msg *hm, size_t len,
		       unsigned max_size, struct hello_out *o)
{
	free(o->heap);
	memset(o, 0, sizeof(*o));
	o->used = SIZE_MAX;
	o->heap = malloc(len ? len : 1);
	assert_non_null(o->heap);
	memcpy(o->heap, hm->b, len);
	return sk_boot_hello_parse(o->heap, len, max_size, &o->h, &o->blob,
				   &o->blob_len, &o->used, &o->why);
}

#define expect_hello_refused(hm, len, max, reason)                         \
	do {                                                               \
		struct hello_out o_ = {0};                                 \
		assert_int_equal(hello_parse(hm, len, max, &o_), -1);      \
		msg_check_why(o_.why, reason);                             \
		free(o_.heap);                                             \
	} while (0)

/* A whole hello of @size with a blob of @blen bytes parses back, under any
 * job size from its own up; every prefix of it needs more. */
static void check_hello(uint32_t rank, uint32_t size, uint16_t blen)
{
	const unsigned maxes[] = {size, size + 1, NODES_MAX, 1u << 20,
				  UINT32_MAX};
	struct hello_msg *hm = calloc(1, sizeof(*hm));
	struct hello_out o = {0};

	assert_non_null(hm);
	mk_hello(hm, rank, size, blen, 1);
	assert_int_equal(hm->len, HELLO + 2 + blen);
	assert_true(hm->len <= SK_BOOT_MSG_MAX);
	for (size_t n = 0; n < hm->len; n++)
		if (hello_parse(hm, n, size, &o) != 0)
			fail_msg("prefix of %zu bytes was not 'need more'", n);
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		if (maxes[i] < size)
			continue;
		assert_int_equal(hello_parse(hm, hm->len, maxes[i], &o), 1);
		assert_int_equal(o.used, hm->len);
		assert_int_equal(o.h.magic, SK_BOOT_MAGIC);
		assert_int_equal(o.h.version, SK_BOOT_VERSION);
		assert_int_equal(o.h.rank, rank);
		assert_int_equal(o.h.size, size);
		assert_memory_equal(o.h.secret, hm->b + HOFF_SECRET,
				    SK_BOOT_SECRET_LEN);
		assert_int_equal(o.blob_len, blen);
		assert_ptr_equal(o.blob, o.heap + HELLO + 2);
		for (size_t j = 0; j < blen; j++)
			assert_int_equal(((const uint8_t *)o.blob)[j],
					 blob_byte(j));
	}
	free(o.heap);
	free(hm);
}

static void test_hello_size1(void **state)
{
	(void)state;
	check_hello(0, 1, 48);
	check_hello(0, 1, 1);
}

static void test_hello_size3(void **state)
{
	(void)state;
	check_hello(1, 3, 7);
	check_hello(2, 3, 300);
}

/* The hello is the same size whatever the job's: one blob. */
static void test_hello_large_job(void **state)
{
	(void)state;
	check_hello(4095, 4096, 40);
	check_hello(0, 1u << 20, 40);
	check_hello(UINT32_MAX - 1, UINT32_MAX, 40);
}

/* The longest address, and so the longest hello: SK_BOOT_MSG_MAX. */
static void test_hello_longest(void **state)
{
	struct hello_msg *hm = calloc(1, sizeof(*hm));
	struct hello_out o = {0};

	(void)state;
	assert_non_null(hm);
	check_hello(3, NODES_MAX, SK_BLOB_MAX);
	mk_hello(hm, 3, NODES_MAX, SK_BLOB_MAX, 1);
	assert_int_equal(hm->len, SK_BOOT_MSG_MAX);
	assert_int_equal(hello_parse(hm, hm->len, NODES_MAX, &o), 1);
	assert_int_equal(o.used, SK_BOOT_MSG_MAX);
	free(o.heap);
	free(hm);
}

static void test_hello_every_prefix(void **state)
{
	struct hello_msg *hm = calloc(1, sizeof(*hm));
	struct hello_out o = {0};

	(void)state;
	assert_non_null(hm);
	mk_hello(hm, 1, 3, 20, 1);
	for (size_t n = 0; n < hm->len; n++)
		if (hello_parse(hm, n, 3, &o) != 0)
			fail_msg("prefix of %zu bytes was not 'need more'", n);
	assert_int_equal(hello_parse(hm, hm->len, 3, &o), 1);
	free(o.heap);
	free(hm);
}

static void test_hello_trailing(void **state)
{
	struct hello_msg *hm = calloc(1, sizeof(*hm));
	struct hello_out o = {0};
	size_t whole;

	(void)state;
	assert_non_null(hm);
	mk_hello(hm, 0, 2, 5, 1);
	whole = hm->len;
	memcpy(hm->b + hm->len, "more", 4);
	hm->len += 4;
	/* The hello is whole; the caller refuses what follows it. */
	assert_int_equal(hello_parse(hm, hm->len, 2, &o), 1);
	assert_int_equal(o.used, whole);
	assert_int_equal(o.blob_len, 5);
	/* What version 1 sent next: more blobs, one per rank. */
	hm->len = whole;
	sk_le16_put(hm->b + hm->len, 0);
	sk_le16_put(hm->b + hm->len + 2, 3);
	memcpy(hm->b + hm->len + 4, "abc", 3);
	hm->len += 7;
	assert_int_equal(hello_parse(hm, hm->len, 2, &o), 1);
	assert_int_equal(o.used, whole);
	free(o.heap);
	free(hm);
}

static void test_hello_bad_header(void **state)
{
	struct hello_msg *hm = calloc(1, sizeof(*hm));

	(void)state;
	assert_non_null(hm);
	mk_hello(hm, 0, 2, 5, 1);
	/* Magic: zero, byte-swapped, the welcome's. */
	sk_le32_put(hm->b + HOFF_MAGIC, 0);
	expect_hello_refused(hm, hm->len, 2, "not a Skiff");
	sk_le32_put(hm->b + HOFF_MAGIC, 0x53424b54u);
	expect_hello_refused(hm, hm->len, 2, "not a Skiff");
	expect_hello_refused(hm, HELLO, 2, "not a Skiff");
	sk_le32_put(hm->b + HOFF_MAGIC, SK_BOOT_MAGIC);
	/* Version: 0, the one before (1 + size blobs), the next, garbage. */
	sk_le16_put(hm->b + HOFF_VERSION, 0);
	expect_hello_refused(hm, hm->len, 2, "version");
	sk_le16_put(hm->b + HOFF_VERSION, SK_BOOT_VERSION - 1);
	expect_hello_refused(hm, hm->len, 2, "version");
	expect_hello_refused(hm, HELLO, 2, "version");
	sk_le16_put(hm->b + HOFF_VERSION, SK_BOOT_VERSION + 1);
	expect_hello_refused(hm, hm->len, 2, "version");
	sk_le16_put(hm->b + HOFF_VERSION, 0x0102);
	expect_hello_refused(hm, HELLO, 2, "version");
	sk_le16_put(hm->b + HOFF_VERSION, SK_BOOT_VERSION);
	/* Size: 0, over the job's, huge; refused before the blob. */
	sk_le32_put(hm->b + HOFF_SIZE, 0);
	expect_hello_refused(hm, hm->len, 2, "job size");
	expect_hello_refused(hm, HELLO, 2, "job size");
	sk_le32_put(hm->b + HOFF_SIZE, 3);
	expect_hello_refused(hm, hm->len, 2, "job size");
	sk_le32_put(hm->b + HOFF_SIZE, 2);
	expect_hello_refused(hm, hm->len, 1, "job size");
	sk_le32_put(hm->b + HOFF_SIZE, UINT32_MAX);
	expect_hello_refused(hm, HELLO, NODES_MAX, "job size");
	expect_hello_refused(hm, HELLO, UINT32_MAX - 1, "job size");
	free(hm);
}

static void test_hello_bad_blob(void **state)
{
	static const uint16_t big[] = {SK_BLOB_MAX + 1, 2 * SK_BLOB_MAX,
				       UINT16_MAX};
	struct hello_msg *hm = calloc(1, sizeof(*hm));

	(void)state;
	assert_non_null(hm);
	/* Too long, refused as soon as its length is in. */
	mk_hello(hm, 0, 1, SK_BLOB_MAX + 1, 1);
	expect_hello_refused(hm, hm->len, 1, "SK_BLOB_MAX");
	for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
		mk_hello(hm, 0, 1, 0, 0);
		sk_le16_put(hm->b + HELLO, big[i]);
		hm->len = HELLO + 2;
		expect_hello_refused(hm, hm->len, 1, "SK_BLOB_MAX");
	}
	/* Empty: no address for the host, whatever follows. */
	mk_hello(hm, 0, 2, 0, 1);
	assert_int_equal(hm->len, HELLO + 2);
	expect_hello_refused(hm, hm->len, 2, "no address for the host");
	memcpy(hm->b + hm->len, "\x03\x00" "abc", 5);
	hm->len += 5;
	expect_hello_refused(hm, hm->len, 2, "no address for the host");
	free(hm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_header_layout),
		cmocka_unit_test(test_ready),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_stdin_read),
		cmocka_unit_test(test_finalize),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_fd_requests),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_lseek),
		cmocka_unit_test(test_unlink),
		cmocka_unit_test(test_mkdir),
		cmocka_unit_test(test_stat_sync_trunc_rename),
		cmocka_unit_test(test_stat_sync_trunc_rename_bad),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_connected),
		cmocka_unit_test(test_listen_barrier),
		cmocka_unit_test(test_shorter_than_header),
		cmocka_unit_test(test_longer_than_slot),
		cmocka_unit_test(test_len_disagrees),
		cmocka_unit_test(test_result_set),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_ready_empty),
		cmocka_unit_test(test_console_flags),
		cmocka_unit_test(test_stdin_read_bad),
		cmocka_unit_test(test_finalize_payload),
		cmocka_unit_test(test_abort_bad),
		cmocka_unit_test(test_open_bad_path),
		cmocka_unit_test(test_unlink_bad_path),
		cmocka_unit_test(test_mkdir_bad_path),
		cmocka_unit_test(test_fixed_sizes),
		cmocka_unit_test(test_io_short),
		cmocka_unit_test(test_io_bad_offset),
		cmocka_unit_test(test_inline_write_len),
		cmocka_unit_test(test_inline_read_bad),
		cmocka_unit_test(test_bulk_bad),
		cmocka_unit_test(test_bulk_key),
		cmocka_unit_test(test_hostbuf),
		cmocka_unit_test(test_hmap),
		cmocka_unit_test(test_peer_short),
		cmocka_unit_test(test_peer_bad_service),
		cmocka_unit_test(test_peer_bad_flags),
		cmocka_unit_test(test_peer_bad_address),
		cmocka_unit_test(test_connected_bad),
		cmocka_unit_test(test_listen_barrier_payload),
		cmocka_unit_test(test_every_prefix),
		cmocka_unit_test(test_hello_size1),
		cmocka_unit_test(test_hello_size3),
		cmocka_unit_test(test_hello_large_job),
		cmocka_unit_test(test_hello_longest),
		cmocka_unit_test(test_hello_every_prefix),
		cmocka_unit_test(test_hello_trailing),
		cmocka_unit_test(test_hello_bad_header),
		cmocka_unit_test(test_hello_bad_blob),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
