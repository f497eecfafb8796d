/*
 * A message built byte by byte, little-endian, for the unit tests of a
 * checker of peer bytes (tests/libos/test_hostproto.c: sk_hmsg_parse and
 * sk_boot_hello_parse; tests/rpc/test_rpc_wire.c: sk_rpc_hdr_check).
 *
 * The tests encode the wire from its specification with these helpers and
 * skiff/le.h alone, never with the code under test: they are the
 * independent oracle, so a change of the wire shows up as a failed test.
 * The checker sees msg_heap(), an exact-size heap copy, so under ASan a
 * read past the end is a failure.
 *
 * The includer defines MSG_CAP (the bytes a message may hold: the
 * protocol's slot and some room past it) and includes <cmocka.h> first.
 */
#ifndef SKIFF_TESTS_TEST_MSG_H
#define SKIFF_TESTS_TEST_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/le.h>

#ifndef MSG_CAP
#error "define MSG_CAP before including test_msg.h"
#endif

/* A message being built in @b; the checker sees @heap, an exact copy. */
struct msg {
	uint8_t  b[MSG_CAP];
	size_t   len;
	uint8_t *heap;
};

static inline struct msg *msg_new(void)
{
	struct msg *m = calloc(1, sizeof(*m));

	assert_non_null(m);
	return m;
}

static inline void msg_free(struct msg *m)
{
	free(m->heap);
	free(m);
}

/* The @len bytes built so far, copied to a heap block of exactly that
 * size (the previous copy is freed). */
static inline const uint8_t *msg_heap(struct msg *m)
{
	free(m->heap);
	m->heap = malloc(m->len ? m->len : 1);
	assert_non_null(m->heap);
	memcpy(m->heap, m->b, m->len);
	return m->heap;
}

/* ---- appending at the end ---- */

static inline void msg_bytes(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= MSG_CAP);
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static inline void msg_u16(struct msg *m, uint16_t v)
{
	assert_true(m->len + 2 <= MSG_CAP);
	sk_le16_put(m->b + m->len, v);
	m->len += 2;
}

static inline void msg_u32(struct msg *m, uint32_t v)
{
	assert_true(m->len + 4 <= MSG_CAP);
	sk_le32_put(m->b + m->len, v);
	m->len += 4;
}

static inline void msg_u64(struct msg *m, uint64_t v)
{
	assert_true(m->len + 8 <= MSG_CAP);
	sk_le64_put(m->b + m->len, v);
	m->len += 8;
}

/* ---- rewriting a field in place ---- */

static inline void set16(struct msg *m, size_t off, uint16_t v)
{
	assert_true(off + 2 <= MSG_CAP);
	sk_le16_put(m->b + off, v);
}

static inline void set32(struct msg *m, size_t off, uint32_t v)
{
	assert_true(off + 4 <= MSG_CAP);
	sk_le32_put(m->b + off, v);
}

static inline void set64(struct msg *m, size_t off, uint64_t v)
{
	assert_true(off + 8 <= MSG_CAP);
	sk_le64_put(m->b + off, v);
}

/* A checker's refusal reason: one line of printable text that names
 * @reason. */
static inline void msg_check_why(const char *why, const char *reason)
{
	assert_non_null(why);
	assert_true(why[0] != '\0');
	for (const char *p = why; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	if (reason != NULL && strstr(why, reason) == NULL)
		fail_msg("refused for \"%s\", not \"%s\"", why, reason);
}

#endif /* SKIFF_TESTS_TEST_MSG_H */
