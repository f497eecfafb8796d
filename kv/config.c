/*
 * kv's SKIFF_* variables (skiff/config.h), and their reader: the defaults
 * of struct sk_kv_attr's fields left 0 (kv.c's kv_attr checks the
 * result). The table needs nothing of kv but this file, so skinfo links
 * it (kv/module.mk) and `skinfo -c` lists and checks these with the other
 * layers' variables.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <skiff/config.h>

#include "kv_int.h"

static const struct sk_config_var sk_kv_config_vars[] = {
	{"SKIFF_KV_PARTITIONS", "256",
	 "partitions of a kv table (a power of two): every rank of the job "
	 "must use the same; sk_kv_attr.partitions overrides it",
	 SK_CONFIG_POW2, 1, 1ul << 24, NULL},
	{"SKIFF_KV_PART_KB", "1024",
	 "KiB of one kv partition's region (index and items); a node holds "
	 "about partitions / ranks of them in its arena (SKIFF_ARENA_MB); "
	 "at most 8 GiB, what a slot's offset addresses",
	 SK_CONFIG_NUM, 64, KV_PART_KB_MAX, NULL},
	{"SKIFF_KV_QUARANTINE_MS", "100",
	 "kv's quarantine Q: freed item memory is not reused for this long; "
	 "a one-sided GET slower than Q/4 is retried",
	 SK_CONFIG_NUM, 1, 60000, NULL},
	{"SKIFF_KV_EVICT", "1",
	 "1: a full kv partition evicts by CLOCK with clients' access hints; "
	 "0: it answers out of memory (memcached -M)",
	 SK_CONFIG_NUM, 0, 1, NULL},
	{"SKIFF_KV_GET", "onesided",
	 "onesided: a GET reads the owner's memory itself, copying it where "
	 "it is mapped here (ucx shared memory) and by one-sided READs "
	 "elsewhere; read: always by READs (to measure or test that path on "
	 "one host); rpc: every GET asks the owner by rpc",
	 SK_CONFIG_WORDS, 0, 0, "onesided read rpc"},
	{NULL, NULL, NULL, 0, 0, 0, NULL},
};

struct sk_config_table sk_kv_config = {
	.layer = "kv: the distributed hash table",
	.order = SK_CONFIG_ORDER_LAUNCHER + 10,
	.vars = sk_kv_config_vars,
};
SK_CONFIG_REGISTER_TABLE(sk_kv_config)

sk_status_t kv_config_attr(struct sk_kv_attr *a)
{
	unsigned long v;
	sk_status_t st;

	if (a->partitions == 0) {
		st = sk_config_ulong("SKIFF_KV_PARTITIONS", 1, 1ul << 24, &v);
		if (st != SK_OK)
			return st;
		/* sk_config_ulong checks bounds only; skinfo -c the rest. */
		if (v & (v - 1)) {
			fprintf(stderr, "skiff: SKIFF_KV_PARTITIONS=%lu: not a "
				"power of two\n", v);
			return SK_ERR_CONFIG;
		}
		a->partitions = (uint32_t)v;
	}
	if (a->part_bytes == 0) {
		st = sk_config_ulong("SKIFF_KV_PART_KB", 64, KV_PART_KB_MAX,
				     &v);
		if (st != SK_OK)
			return st;
		a->part_bytes = (size_t)v << 10;
	}
	if (a->quarantine_ms == 0) {
		st = sk_config_ulong("SKIFF_KV_QUARANTINE_MS", 1, 60000, &v);
		if (st != SK_OK)
			return st;
		a->quarantine_ms = (uint32_t)v;
	}
	/* no_evict = 1 in the attributes wins; 0 leaves it to the setting. */
	if (a->no_evict == 0) {
		st = sk_config_ulong("SKIFF_KV_EVICT", 0, 1, &v);
		if (st != SK_OK)
			return st;
		a->no_evict = v == 0;
	}
	return SK_OK;
}

/* SKIFF_KV_GET: how this node's GETs go; a client-side choice, so, unlike
 * the attributes above, ranks may differ. */
sk_status_t kv_config_get(int *rpc_p, int *direct_p)
{
	const char *v = sk_config_str("SKIFF_KV_GET");

	*rpc_p = strcmp(v, "rpc") == 0;
	*direct_p = strcmp(v, "onesided") == 0;
	if (*rpc_p || *direct_p || strcmp(v, "read") == 0)
		return SK_OK;
	fprintf(stderr, "skiff: SKIFF_KV_GET='%s': not one of onesided, "
		"read, rpc\n", v);
	return SK_ERR_CONFIG;
}
