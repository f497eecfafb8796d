/*
 * kv's hashes. SipHash with c compression and d finalization rounds, after the
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

/* n < 8 bytes at p, little-endian, zero above. */
static inline uint64_t load_tail(const uint8_t *p, size_t n)
{
	uint64_t w = 0;

	switch (n) {
	case 7: w |= (uint64_t)p[6] << 48; /* fall through */
	case 6: w |= (uint64_t)p[5] << 40; /* fall through */
	case 5: w |= (uint64_t)p[4] << 32; /* fall through */
	case 4: w |= (uint64_t)p[3] << 24; /* fall through */
	case 3: w |= (uint64_t)p[2] << 16; /* fall through */
	case 2: w |= (uint64_t)p[1] << 8;  /* fall through */
	case 1: w |= (uint64_t)p[0];       break;
	default: break;
	}
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
	b |= load_tail(p, len & 7);
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

/*
 * The multiply-fold hash (an item's seal, a key's hash): one 64x64->128-bit
 * multiply per 16 bytes, sk_kv_fold: the product's
 * halves folded by xor (the mixing step of wyhash, github.com/
 * wangyi-fudan/wyhash, which passes SMHasher). For 16 bytes SipHash-1-3
 * spends two rounds of 14 operations and a load and xors per word; this
 * spends two loads, two xors and a multiply. Every input goes through a
 * product with a secret-dependent operand: the job's key and the seed
 * (which says what is hashed: SK_KV_SEAL_SEED, SK_KV_KEY_SEED) enter the
 * state before the first word, the length at the start and at the end.
 *
 * A product is 0 when one operand is, and then forgets the other: with
 * a = w0 ^ s1 and b = w1 ^ h, that needs w0 = s1 or w1 = h, values that
 * depend on the job's secret, 2^-64 for bytes that do not know it.
 *
 * From 256 bytes on, four chains take 16 bytes each a turn (64 a turn
 * while 64 are left), as wyhash runs three: each product waits for its
 * own chain's last, not for the one before it. 1 KiB is checked in about
 * half the time of one chain, 100 KiB in a third (the three products
 * where the chains meet cost more than they save below 256 bytes). The chains start apart (h, and h with
 * one of three constants) and meet in order, each in a product with the
 * secret, so a block moved from one chain to another, or two chains'
 * blocks swapped, changes the result as in one chain.
 */
uint64_t sk_kv_check64(const struct sk_kv_hkey *key, uint64_t seed,
		       const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t s1 = key->k0 ^ SK_KV_CK_P1, s2 = key->k1 ^ SK_KV_CK_P2;
	uint64_t h = sk_kv_fold(seed ^ s1 ^ SK_KV_CK_P0, (uint64_t)len ^ s2);
	size_t n = len;

	if (n >= 256) {
		uint64_t h1 = h ^ SK_KV_CK_P1, h2 = h ^ SK_KV_CK_P2;
		uint64_t h3 = h ^ SK_KV_CK_P3;

		for (; n >= 64; p += 64, n -= 64) {
			h = sk_kv_fold(load_le64(p) ^ s1, load_le64(p + 8) ^ h);
			h1 = sk_kv_fold(load_le64(p + 16) ^ s1,
					load_le64(p + 24) ^ h1);
			h2 = sk_kv_fold(load_le64(p + 32) ^ s1,
					load_le64(p + 40) ^ h2);
			h3 = sk_kv_fold(load_le64(p + 48) ^ s1,
					load_le64(p + 56) ^ h3);
		}
		h = sk_kv_fold(h1 ^ s1, h ^ SK_KV_CK_P0);
		h = sk_kv_fold(h2 ^ s1, h ^ SK_KV_CK_P1);
		h = sk_kv_fold(h3 ^ s1, h ^ SK_KV_CK_P2);
	}

	for (; n >= 16; p += 16, n -= 16)
		h = sk_kv_fold(load_le64(p) ^ s1, load_le64(p + 8) ^ h);
	if (n) {
		/* The last 1..15 bytes, zero-padded (the length is in h).
		 * An item's seal has 12 (it starts 20 bytes in). */
		uint64_t w0, w1 = 0;

		if (n >= 8) {
			w0 = load_le64(p);
			w1 = load_tail(p + 8, n - 8);
		} else {
			w0 = load_tail(p, n);
		}
		h = sk_kv_fold(w0 ^ s1, w1 ^ h);
	}
	return sk_kv_fold(h ^ SK_KV_CK_P3, (uint64_t)len ^ s2 ^ SK_KV_CK_P0);
}
