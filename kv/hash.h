/*
 * kv's hashes, keyed with the job's 128-bit secret. Keys (sk_kv_key_hash)
 * and items (sk_kv_check64, the seal) go through a multiply-fold hash,
 * wyhash's step, a fifth of SipHash's cost per byte (kv/README.md says why
 * neither need be SipHash). Placement weighs partitions against ranks
 * with SipHash-1-3 (Aumasson and Bernstein), once per job; SipHash-2-4 is
 * the same code with more rounds, kept because the reference vectors are
 * published for it, which tests the rounds, the loads and the padding
 * that 1-3 shares.
 */
#ifndef SK_KV_HASH_H
#define SK_KV_HASH_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden) /* kv's own (kv_int.h) */

/* The 128-bit key: k0 is bytes 0..7 of the key read little-endian, k1
 * bytes 8..15, as in the reference implementation. */
struct sk_kv_hkey {
	uint64_t k0;
	uint64_t k1;
};

/* SipHash-1-3 and SipHash-2-4 of len bytes at data (any alignment). */
uint64_t sk_kv_siphash13(const struct sk_kv_hkey *key, const void *data,
			 size_t len);
uint64_t sk_kv_siphash24(const struct sk_kv_hkey *key, const void *data,
			 size_t len);

/* wyhash's primes: the multiply-fold's constants (hash.c) and the
 * close's (below). */
#define SK_KV_CK_P0 0xa0761d6478bd642full
#define SK_KV_CK_P1 0xe7037ed1a0b428dbull
#define SK_KV_CK_P2 0x8ebc6af09c88c6e3ull
#define SK_KV_CK_P3 0x589965cc75374cc3ull

/* The step: a 64x64->128-bit product, its halves folded by xor. */
static inline uint64_t sk_kv_fold(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* The multiply-fold hash of len bytes at data: 64 bits, keyed with the
 * job's secret and a seed. Not a MAC: a well-mixed sum that a mix of two
 * inputs fails but with probability about 2^-64. */
uint64_t sk_kv_check64(const struct sk_kv_hkey *key, uint64_t seed,
		       const void *data, size_t len);

/* An item's seal: sk_kv_check64 of its bytes from its flags on (store.h,
 * struct sk_kv_item_hdr), under a seed of its own. Whoever writes those
 * bytes makes it: the client of a SET by rpc, the owner for what it
 * builds. */
#define SK_KV_SEAL_SEED (UINT64_MAX - 1)

/* An item's check word: its seal closed with what only the owner knows
 * when it stores the item (the CAS it assigns, the absolute expiry, the
 * item's offset in the region), by two products with secret-dependent
 * operands: a reader that gets any of them from another item, or reads
 * the bytes at another place, fails it but with probability about 2^-64.
 * The CAS and expiry are folded apart from the seal and meet it in the
 * last product, so a reader's check is one product longer than the
 * seal's chain of multiplies (a GET waits for that chain). */
static inline uint64_t sk_kv_item_close(const struct sk_kv_hkey *key,
					uint64_t seal, uint64_t cas,
					uint32_t exptime, uint64_t region_off)
{
	uint64_t s1 = key->k0 ^ SK_KV_CK_P1, s2 = key->k1 ^ SK_KV_CK_P2;
	uint64_t m = sk_kv_fold(cas ^ s1, (uint64_t)exptime ^ s2);

	return sk_kv_fold(seal ^ m ^ SK_KV_CK_P3,
			  region_off ^ s2 ^ SK_KV_CK_P0);
}

/* A key's hash (its partition, bucket pair and fingerprint): the same
 * multiply-fold, keyed with the job's secret, under a seed that no item
 * offset can be (offsets are under 2^48), so that a key's hash and an
 * item's check never coincide by construction. kv/README.md, "Placement",
 * says why a keyed wyhash step is enough here, as in Go's and Zig's hash
 * tables. */
#define SK_KV_KEY_SEED UINT64_MAX
static inline uint64_t sk_kv_key_hash(const struct sk_kv_hkey *key,
				      const void *data, size_t len)
{
	return sk_kv_check64(key, SK_KV_KEY_SEED, data, len);
}

#pragma GCC visibility pop

#endif
