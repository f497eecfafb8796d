/*
 * Little-endian loads and stores: the one byte-order codec of the tree.
 * verbs' wire envelope (verbs/wire.c), the benchmarks' TCP exchange
 * (perf/) and the tests' and fuzz targets' models of the wire formats all
 * read and write their integers through these, so there is one place that
 * says what "little-endian" means, and no per-file copy to drift.
 *
 * Header-only and dependency-free on purpose: it sits in verbs/internal/
 * so that every layer above (libos, rpc, perf, tests) may include it, but,
 * like fault.h, it is not installed (mk/install.sh):
 * byte order is a helper of Skiff's own formats, not an API Skiff offers
 * applications.
 *
 * The pointers may be unaligned; nothing is bounds-checked here (that is
 * the caller's reader, e.g. sk_wire_get_u32()).
 */
#ifndef SKIFF_LE_H
#define SKIFF_LE_H

#include <stdint.h>

static inline uint16_t sk_le16_get(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t sk_le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t sk_le64_get(const uint8_t *p)
{
	return (uint64_t)sk_le32_get(p) | (uint64_t)sk_le32_get(p + 4) << 32;
}

static inline void sk_le16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void sk_le32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void sk_le64_put(uint8_t *p, uint64_t v)
{
	sk_le32_put(p, (uint32_t)v);
	sk_le32_put(p + 4, (uint32_t)(v >> 32));
}

#endif /* SKIFF_LE_H */
