/*
 * Skiff kv: the outcomes of its operations, as memcached prints them
 * (sk_kv_res_str, kv/sem.c). Part of kv.h; a header of its own so that
 * kv/sem.h, which needs no fabric, includes it without kv.h's.
 */
#ifndef SKIFF_KV_RES_H
#define SKIFF_KV_RES_H

#ifdef __cplusplus
extern "C" {
#endif

/* Every outcome a client can see, as memcached prints it (sk_kv_res_str). */
enum sk_kv_res {
	SK_KV_STORED,
	SK_KV_NOT_STORED,
	SK_KV_EXISTS,
	SK_KV_NOT_FOUND,
	SK_KV_DELETED,
	SK_KV_TOUCHED,
	SK_KV_END,
	SK_KV_OK,
	SK_KV_ERROR,	   /* unknown command or wrong number of tokens */
	SK_KV_EFORMAT,	   /* bad key length, flags, exptime, length, cas */
	SK_KV_EDATA,	   /* data block not followed by \r\n */
	SK_KV_EDELTA,	   /* incr/decr's delta is not a uint64 */
	SK_KV_ENONNUM,	   /* incr/decr on a value that is not a number */
	SK_KV_EEXPTIME,	   /* touch/gat's exptime is not a number */
	SK_KV_EDELUSAGE,   /* delete with a hold time other than 0 */
	SK_KV_ETOOLARGE,   /* value over the limit */
	SK_KV_ENOMEM,	   /* store: no memory (when eviction is off) */
	SK_KV_ENOMEM_DELTA, /* incr/decr: no memory for the grown value */
	SK_KV_RES_COUNT
};

/*
 * memcached's storage commands (sk_kv_store, struct sk_kv_req): set, add
 * (only if absent), replace (only if present), append and prepend (to a
 * present value; they keep its flags and expiry), and cas (set, only if
 * the item's CAS is still the one given).
 */
enum sk_kv_op {
	SK_KV_SET,
	SK_KV_ADD,
	SK_KV_REPLACE,
	SK_KV_APPEND,
	SK_KV_PREPEND,
	SK_KV_CAS,
};

/* The reply line without its "\r\n"; NULL for a value out of range. */
const char *sk_kv_res_str(enum sk_kv_res r);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_KV_RES_H */
