/*
 * kv: open and close (kv.h). Open is collective: the secret from rank 0
 * (map.c), the map, this node's partitions laid out (owner.c), then a
 * barrier, so that no rank reads a partition before its owner has it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/os.h>

#include "kv_int.h"

#define KV_PARTS_DEFAULT 256u
#define KV_PART_BYTES_DEFAULT (1u << 20)
#define KV_PART_BYTES_MIN (64u << 10)
/* What a slot's offset addresses (store.h), which leaves room for the
 * header and buckets of any region this large. */
#define KV_PART_BYTES_MAX ((SK_KV_OFF_MAX + 1) * SK_KV_UNIT)
_Static_assert(KV_PART_BYTES_MAX == (uint64_t)KV_PART_KB_MAX << 10,
	       "SKIFF_KV_PART_KB's bound is the store's");
#define KV_QUARANTINE_MS_DEFAULT 100u

static int kv_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* The default buckets of a region of @bytes: one per 1 KiB, a power of
 * two, at least 2. */
static uint64_t kv_buckets_for(uint64_t bytes)
{
	uint64_t b = 2;

	while (b * 2 <= bytes / 1024)
		b *= 2;
	return b;
}

size_t sk_kv_part_bytes_for(size_t item_bytes, uint64_t *buckets_p)
{
	uint64_t b = kv_buckets_for(item_bytes);

	*buckets_p = b;
	return item_bytes + SK_KV_HDR_SIZE + (size_t)b * SK_KV_LINE;
}

/* The attributes, with defaults filled in and checked. */
static sk_status_t kv_attr(struct sk_kv *kv, const struct sk_kv_attr *attr)
{
	struct sk_kv_attr a = {0};
	uint64_t lines;

	if (attr)
		a = *attr;
	if (kv_config_attr(&a) != SK_OK ||
	    kv_config_get(&kv->get_rpc, &kv->get_direct) != SK_OK)
		return SK_ERR_INVAL;
	if (a.partitions == 0)
		a.partitions = KV_PARTS_DEFAULT;
	if (!kv_pow2(a.partitions) || a.partitions > SK_KV_PART_MAX) {
		fprintf(stderr, "skiff: kv: partitions %u: not a power of two "
			"up to %u\n", a.partitions, SK_KV_PART_MAX);
		return SK_ERR_INVAL;
	}
	if (a.part_bytes == 0)
		a.part_bytes = KV_PART_BYTES_DEFAULT;
	if (a.part_bytes < KV_PART_BYTES_MIN ||
	    a.part_bytes > KV_PART_BYTES_MAX) {
		fprintf(stderr, "skiff: kv: part_bytes %zu: from %u to %llu\n",
			a.part_bytes, KV_PART_BYTES_MIN,
			(unsigned long long)KV_PART_BYTES_MAX);
		return SK_ERR_INVAL;
	}
	lines = (a.part_bytes - SK_KV_HDR_SIZE) / SK_KV_LINE;
	if (a.buckets == 0)
		a.buckets = kv_buckets_for(a.part_bytes);
	/* The buckets must leave room for items. */
	if (!kv_pow2(a.buckets) || a.buckets < 2 ||
	    a.buckets > SK_KV_BUCKETS_MAX || a.buckets >= lines / 2) {
		fprintf(stderr, "skiff: kv: buckets %llu: a power of two >= 2 "
			"taking under half of part_bytes\n",
			(unsigned long long)a.buckets);
		return SK_ERR_INVAL;
	}
	if (a.quarantine_ms == 0)
		a.quarantine_ms = KV_QUARANTINE_MS_DEFAULT;
	kv->nparts = a.partitions;
	kv->part_bytes = a.part_bytes;
	kv->buckets = a.buckets;
	kv->quarantine_ns = (uint64_t)a.quarantine_ms * 1000000ull;
	kv->evict = !a.no_evict;
	if (a.any_keys != 0 && a.any_keys != 1) {
		fprintf(stderr, "skiff: kv: any_keys %d: 0 or 1\n", a.any_keys);
		return SK_ERR_INVAL;
	}
	kv->any_keys = a.any_keys;
	if (a.clients >= kv->size) {
		fprintf(stderr, "skiff: kv: clients %u: fewer than the job's "
			"%u ranks\n", a.clients, kv->size);
		return SK_ERR_INVAL;
	}
	kv->clients = a.clients;
	return SK_OK;
}

static void kv_h_closed(struct sk_rpc_req *req, void *arg)
{
	(void)arg;
	sk_rpc_respond(req, -ESHUTDOWN, 0);
}

static void kv_free(struct sk_kv *kv)
{
	kv_evict_stop(kv);
	kv_flush_stop(kv);
	kv_hold_stop(kv);
	kv_client_cleanup(kv);
	kv_own_cleanup(kv);
	/* rpc cannot unregister: requests that come later are told this
	 * node's kv is closed. */
	for (unsigned id = KV_RPC_SECRET; id < KV_RPC_END; id++)
		sk_rpc_register(kv->rpc, id, kv_h_closed, NULL);
	free(kv->parts);
	free(kv->owners);
	free(kv->busy);
	free(kv);
}

sk_status_t sk_kv_open(struct sk_rpc *rpc, const struct sk_kv_attr *attr,
		       struct sk_kv **kv_p)
{
	static const struct {
		uint16_t id;
		sk_rpc_handler_func_t fn;
	} handlers[] = {
		{KV_RPC_SECRET, kv_h_secret}, {KV_RPC_DESC, kv_h_desc},
		{KV_RPC_GET, kv_h_get},       {KV_RPC_STORE, kv_h_store},
		{KV_RPC_DELETE, kv_h_delete}, {KV_RPC_DELTA, kv_h_delta},
		{KV_RPC_TOUCH, kv_h_touch},   {KV_RPC_HINT, kv_h_hint},
		{KV_RPC_FLUSH, kv_h_flush},   {KV_RPC_OSTATS, kv_h_ostats},
		{KV_RPC_CSTATS, kv_h_cstats}, {KV_RPC_DUMP, kv_h_dump},
	};
	struct sk_kv *kv;
	sk_status_t st;

	if (rpc == NULL || kv_p == NULL || sk_os_loop() == NULL)
		return SK_ERR_INVAL;
	kv = calloc(1, sizeof(*kv));
	if (kv == NULL)
		return SK_ERR_NOMEM;
	kv->rpc = rpc;
	kv->loop = sk_os_loop();
	kv->arena = sk_os_arena();
	kv->rank = sk_os_rank();
	kv->size = sk_os_size();
	kv->epoch = KV_EPOCH;
	kv_hold_init(kv);
	st = kv_attr(kv, attr);
	if (st != SK_OK) {
		free(kv);
		return st;
	}
	kv->parts = calloc(kv->nparts, sizeof(*kv->parts));
	kv->owners = calloc(kv->size, sizeof(*kv->owners));
	kv->busy = calloc(kv->size, sizeof(*kv->busy));
	if (kv->parts == NULL || kv->owners == NULL || kv->busy == NULL) {
		st = SK_ERR_NOMEM;
		goto fail;
	}
	/* Handlers first: requests may come as soon as the loop runs. */
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		st = sk_rpc_register(rpc, handlers[i].id, handlers[i].fn, kv);
		if (st != SK_OK)
			goto fail;
	}
	st = kv_fetch_secret(kv);
	if (st != SK_OK)
		goto fail;
	kv_place(kv);
	/* Where READs land (req.c). */
	st = kv_client_init(kv);
	if (st != SK_OK)
		goto fail;
	st = kv_own_init(kv);
	if (st != SK_OK)
		goto fail;
	kv->ready = 1;
	kv_evict_start(kv);
	if (sk_os_barrier() != 0) {
		st = SK_ERR_IO;
		goto fail;
	}
	*kv_p = kv;
	return SK_OK;
fail:
	kv_free(kv);
	return st;
}

void sk_kv_close(struct sk_kv *kv)
{
	if (kv)
		kv_free(kv);
}

void sk_kv_stats(const struct sk_kv *kv, struct sk_kv_stats *st)
{
	*st = kv->st;
}

unsigned sk_kv_owner_of(const struct sk_kv *kv, const void *key, size_t klen)
{
	uint64_t h = kv_key_hash(kv, key, klen);

	return kv_part_of((struct sk_kv *)kv, h)->owner;
}
