/*
 * Sealing verbs' wire envelopes (verbs/wire.h) in tests and fuzz targets:
 * a blob that a test or the fuzzer changed gets a header and check word
 * that agree with it again, so that it reaches the checks behind the
 * envelope's. Written with skiff/le.h and sk_wire_hash32(), the
 * envelope's own definitions; test_wire checks those against literal
 * bytes.
 */
#ifndef SKIFF_TESTS_WIRE_SEAL_H
#define SKIFF_TESTS_WIRE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/le.h>

#include "../../verbs/wire.h"

/* Rewrite the check word of @len bytes (the header is left as it is, so a
 * test may seal a header that lies). */
static inline void sk_test_wire_reseal(uint8_t *blob, size_t len)
{
	sk_le32_put(blob + len - SK_WIRE_CHECK_LEN,
		    sk_wire_hash32(blob, len - SK_WIRE_CHECK_LEN));
}

/* Make the header's body length true for @len bytes, then reseal. Returns
 * -1 (and leaves @blob alone) if no envelope has @len bytes. */
static inline int sk_test_wire_seal(uint8_t *blob, size_t len)
{
	size_t body;

	if (len < SK_WIRE_HDR_LEN + SK_WIRE_CHECK_LEN)
		return -1;
	body = len - SK_WIRE_HDR_LEN - SK_WIRE_CHECK_LEN;
	if (body > UINT16_MAX)
		return -1;
	sk_le16_put(blob + 6, (uint16_t)body);
	sk_test_wire_reseal(blob, len);
	return 0;
}

#endif /* SKIFF_TESTS_WIRE_SEAL_H */
