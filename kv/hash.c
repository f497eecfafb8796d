/*
 * SipHash with c compression and d finalization rounds, after the
 * reference implementation (github.com/veorq/SipHash). One body serves
 * both variants: it is inlined with constant rounds into each, so the
 * loops unroll. Messages are read as little-endian 64-bit words, so the
 * result is the same on every host.
 */
#include <string.h>

#include "hash.h"

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3)                                     \
	do {                                                         \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0;               \
		v0 = ROTL(v0, 32);                                   \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;               \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;               \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2;               \
		v2 = ROTL(v2, 32);                                   \
	} while (0)

/* One message word into the state: c rounds (m, v0..v3, i and c are the
 * caller's). */
#define SIPWORD(word)                                                  \
	do {                                                           \
		m = (word);                                            \
		v3 ^= m;                                               \
		_Pragma("GCC unroll 4")                                \
		for (i = 0; i < c; i++)                                \
			SIPROUND(v0, v1, v2, v3);                      \
		v0 ^= m;                                               \
	} while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

static inline __attribute__((always_inline)) uint64_t
siphash(const struct sk_kv_hkey *key, const void *data, size_t len,
	const int c, const int d)
{
	const uint8_t *p = data;
	const uint8_t *end = p + (len & ~(size_t)7);
	uint64_t v0 = key->k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = key->k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = key->k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = key->k1 ^ 0x7465646279746573ull;
	uint64_t b = (uint64_t)len << 56;
	uint64_t m;
	int i;

	/* Two words a turn: the loop's own count, compare and branch are
	 * a tenth of a word's instructions at one round (kv's items are
	 * sealed with SipHash-1-3 of up to 1 MiB). */
	for (; end - p >= 16; p += 16) {
		SIPWORD(load_le64(p));
		SIPWORD(load_le64(p + 8));
	}
	if (p != end) {
		SIPWORD(load_le64(p));
		p += 8;
	}
	/* The last 0..7 bytes, with the length in the top byte. */
	switch (len & 7) {
	case 7: b |= (uint64_t)p[6] << 48; /* fall through */
	case 6: b |= (uint64_t)p[5] << 40; /* fall through */
	case 5: b |= (uint64_t)p[4] << 32; /* fall through */
	case 4: b |= (uint64_t)p[3] << 24; /* fall through */
	case 3: b |= (uint64_t)p[2] << 16; /* fall through */
	case 2: b |= (uint64_t)p[1] << 8;  /* fall through */
	case 1: b |= (uint64_t)p[0];       break;
	case 0: break;
	}
	v3 ^= b;
#pragma GCC unroll 4
	for (i = 0; i < c; i++)
		SIPROUND(v0, v1, v2, v3);
	v0 ^= b;
	v2 ^= 0xff;
#pragma GCC unroll 4
	for (i = 0; i < d; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t sk_kv_siphash13(const struct sk_kv_hkey *key, const void *data,
			 size_t len)
{
	return siphash(key, data, len, 1, 3);
}

uint64_t sk_kv_siphash24(const struct sk_kv_hkey *key, const void *data,
			 size_t len)
{
	return siphash(key, data, len, 2, 4);
}
