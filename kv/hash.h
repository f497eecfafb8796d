/*
 * SipHash (Aumasson and Bernstein), 64-bit output, keyed with 128 bits.
 * kv hashes keys with SipHash-1-3, keyed with the job's secret so that a
 * client cannot aim many keys at one bucket. Items are sealed with
 * sk_kv_check64, a multiply-fold hash that costs a fifth as much per byte
 * (kv/store.c; kv/README.md says why a check need not be SipHash). SipHash-2-4 is the same code with more rounds; it is kept
 * because the reference vectors are published for it, which tests the
 * rounds, the loads and the padding that 1-3 shares.
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

/* The item check of len bytes at data: 64 bits, keyed with the job's
 * secret and a seed (the item's offset in its region). Not a MAC: a
 * well-mixed sum that a mix of two items' bytes fails but with
 * probability about 2^-64. */
uint64_t sk_kv_check64(const struct sk_kv_hkey *key, uint64_t seed,
		       const void *data, size_t len);

#pragma GCC visibility pop

#endif
