/*
 * skcached: commands, a connection's output and the stats table, which
 * the parsers and the gateway share (mc.h, conn.h).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"

/*
 * Commands of up to MC_CMD_SMALL bytes (a get or set of one key, with its
 * parser's bytes) are kept on a free list when freed, up to
 * MC_CMD_CACHED of them: a command is made and freed for every request,
 * and calloc and free cost about 550 instructions a GET, a tenth of a
 * gateway's whole work. A gateway is one thread; the list is per thread
 * all the same.
 */
#define MC_CMD_SMALL  1024
#define MC_CMD_CACHED 256

static __thread struct mc_cmd *mc_cmd_cache;
static __thread unsigned mc_cmd_ncached;

struct mc_cmd *mc_cmd_new(unsigned nreq, size_t extra)
{
	size_t head = (sizeof(struct mc_cmd) + 15) & ~(size_t)15;
	size_t reqs = ((size_t)nreq * sizeof(struct sk_kv_req) + 15) &
		      ~(size_t)15;
	size_t size;
	struct mc_cmd *cmd;

	if (nreq > MC_GET_KEYS_MAX || extra > (SIZE_MAX >> 2))
		return NULL;
	size = head + reqs + extra;
	if (size <= MC_CMD_SMALL && mc_cmd_cache != NULL) {
		cmd = mc_cmd_cache;
		mc_cmd_cache = cmd->next;
		mc_cmd_ncached--;
		memset(cmd, 0, size);
	} else {
		cmd = calloc(1, size <= MC_CMD_SMALL ? MC_CMD_SMALL : size);
		if (cmd == NULL)
			return NULL;
	}
	cmd->small = size <= MC_CMD_SMALL;
	cmd->nreq = nreq;
	cmd->req = nreq ? (struct sk_kv_req *)((char *)cmd + head) : NULL;
	cmd->priv = extra ? (char *)cmd + head + reqs : NULL;
	return cmd;
}

void mc_cmd_free(struct mc_cmd *cmd)
{
	if (cmd == NULL)
		return;
	if (cmd->small && mc_cmd_ncached < MC_CMD_CACHED) {
		cmd->next = mc_cmd_cache;
		mc_cmd_cache = cmd;
		mc_cmd_ncached++;
		return;
	}
	free(cmd);
}

struct mc_conn_pub *mc_conn_pub(struct mc_conn *c)
{
	return &c->pub;
}

static int mc_out_reserve(struct mc_conn *c, size_t n)
{
	size_t cap;
	char *p;

	if (c->out_failed)
		return -1;
	if (c->out_cap - c->out_len >= n)
		return 0;
	cap = c->out_cap ? c->out_cap : 4096;
	while (cap - c->out_len < n)
		cap *= 2;
	p = realloc(c->out, cap);
	if (p == NULL) {
		c->out_failed = 1;
		return -1;
	}
	c->out = p;
	c->out_cap = cap;
	return 0;
}

void mc_out(struct mc_conn *c, const void *p, size_t n)
{
	if (n == 0 || mc_out_reserve(c, n) != 0)
		return;
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
}

void mc_outf(struct mc_conn *c, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (mc_out_reserve(c, 256) != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(c->out + c->out_len, c->out_cap - c->out_len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= c->out_cap - c->out_len) {
		if (mc_out_reserve(c, (size_t)n + 1) != 0)
			return;
		va_start(ap, fmt);
		vsnprintf(c->out + c->out_len, c->out_cap - c->out_len, fmt,
			  ap);
		va_end(ap);
	}
	c->out_len += (size_t)n;
}

void mc_out_u64(struct mc_conn *c, uint64_t v)
{
	char buf[20], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mc_out(c, p, (size_t)(buf + sizeof(buf) - p));
}

void mc_out_consume(struct mc_conn *c, size_t n)
{
	if (n >= c->out_len) {
		c->out_len = 0;
		/* A large answer's buffer goes back when it has left. */
		if (c->out_cap > (1u << 16)) {
			free(c->out);
			c->out = NULL;
			c->out_cap = 0;
		}
		return;
	}
	memmove(c->out, c->out + n, c->out_len - n);
	c->out_len -= n;
}

void mc_conn_out_free(struct mc_conn *c)
{
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_cap = 0;
}

/*
 * kv's owners stamp expiries by CLOCK_REALTIME; time() reads the kernel's
 * coarse clock, which lags it by up to a tick, and would print t101 for an
 * item given T100 just as the second turns.
 */
uint32_t mc_unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint32_t)ts.tv_sec;
}

static void mc_stat_u64(mc_stat_func_t fn, void *arg, const char *name,
			uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	fn(arg, name, s);
}

#define MC_C(f) offsetof(struct mc_stats, f)
const size_t mc_stats_counters[] = {
	MC_C(total_connections), MC_C(rejected_connections), MC_C(cmd_get),
	MC_C(cmd_set),        MC_C(cmd_flush),     MC_C(cmd_touch),
	MC_C(cmd_meta),       MC_C(get_hits),      MC_C(get_misses),
	MC_C(get_expired),    MC_C(get_flushed),   MC_C(delete_misses),
	MC_C(delete_hits),    MC_C(incr_misses),   MC_C(incr_hits),
	MC_C(decr_misses),    MC_C(decr_hits),     MC_C(cas_misses),
	MC_C(cas_hits),       MC_C(cas_badval),    MC_C(touch_hits),
	MC_C(touch_misses),   MC_C(bytes_read),    MC_C(bytes_written),
	MC_C(total_items),    MC_C(store_too_large), MC_C(store_no_memory),
};
#undef MC_C
const unsigned mc_stats_ncounters =
	sizeof(mc_stats_counters) / sizeof(mc_stats_counters[0]);

uint64_t *mc_stats_counter(struct mc_stats *s, unsigned k)
{
	return (uint64_t *)((char *)s + mc_stats_counters[k]);
}

void mc_stats_reset(struct mc_stats *s)
{
	for (unsigned k = 0; k < mc_stats_ncounters; k++)
		*mc_stats_counter(s, k) = 0;
	s->evictions = s->expired = 0;
	for (unsigned i = 0; i < s->nnode; i++) {
		struct mc_node_stats *n = &s->node[i];

		if (n->status != 0)
			continue;
		n->evictions_base = n->o.evictions;
		n->expired_base = n->o.expired;
	}
}

/* memcached's slab page: its -I, 1 MiB by default (slab_page_size). */
#define MC_PAGE_SIZE (1u << 20)

/*
 * `stats items` and `stats slabs` from kv's size classes (struct
 * sk_kv_class_stats), numbered from 1 as memcached's slab classes are.
 * The fields are memcached's where kv keeps the figure; the rest are not
 * printed (kv has no segmented LRU, no access times, no per-class hit
 * counts: README.md, "stats items and stats slabs"). kv carves chunks one
 * at a time, not in pages: total_pages is the class's chunks' bytes in
 * memcached's 1 MiB pages, rounded up, so that tools that skip a class
 * with no page (memcached-tool's display) show it.
 */
static void mc_stats_classes(const struct mc_stats *s, bool items,
			     mc_stat_func_t fn, void *arg)
{
	uint64_t malloced = 0;
	unsigned active = 0;
	char name[64];

	for (unsigned i = 0; s->cls != NULL && i < s->ncls; i++) {
		const struct sk_kv_class_stats *k = &s->cls[i];
		uint64_t bytes = k->chunks * k->chunk_size;

#define MC_CLS_STAT(fmt, field, v) do { \
		snprintf(name, sizeof(name), fmt, i + 1, field); \
		mc_stat_u64(fn, arg, name, v); \
	} while (0)
		if (items && k->items != 0) {
			MC_CLS_STAT("items:%u:%s", "number", k->items);
			MC_CLS_STAT("items:%u:%s", "mem_requested",
				    k->item_bytes);
			MC_CLS_STAT("items:%u:%s", "evicted", k->evicted);
			MC_CLS_STAT("items:%u:%s", "evicted_nonzero",
				    k->evicted_exp);
			MC_CLS_STAT("items:%u:%s", "crawler_reclaimed",
				    k->expired);
		}
		if (!items && k->chunks != 0) {
			MC_CLS_STAT("%u:%s", "chunk_size", k->chunk_size);
			MC_CLS_STAT("%u:%s", "chunks_per_page",
				    MC_PAGE_SIZE / k->chunk_size);
			MC_CLS_STAT("%u:%s", "total_pages",
				    (bytes + MC_PAGE_SIZE - 1) / MC_PAGE_SIZE);
			MC_CLS_STAT("%u:%s", "total_chunks", k->chunks);
			MC_CLS_STAT("%u:%s", "used_chunks", k->items);
			/* Retired chunks are reusable a quarantine (ms)
			 * later: free, as memcached's freed chunks are. */
			MC_CLS_STAT("%u:%s", "free_chunks",
				    k->free + k->quarantined);
			MC_CLS_STAT("%u:%s", "cmd_set", k->sets);
			active++;
			malloced += bytes;
		}
#undef MC_CLS_STAT
	}
	if (!items) {
		mc_stat_u64(fn, arg, "active_slabs", active);
		mc_stat_u64(fn, arg, "total_malloced", malloced);
	}
}

/*
 * `stats conns`, memcached's lines for each listening socket and client
 * connection of every gateway: addr, listen_addr (a client's), state and
 * secs_since_last_cmd. The connection asking is conn_parse_cmd (it is),
 * an idle one conn_read, one with a command line whose value is still
 * coming conn_nread, as memcached says of its own.
 */
static void mc_stats_conns(struct mc_conn *c, uint64_t now, mc_stat_func_t fn,
			   void *arg)
{
	static const char *const state[] = {
		[MC_CS_LISTENING] = "conn_listening",
		[MC_CS_READ] = "conn_read",
		[MC_CS_NREAD] = "conn_nread",
	};
	char name[48], v[64];

	for (unsigned i = 0; c->conns != NULL && i < c->conns->n; i++) {
		const struct mc_conn_rec *r = &c->conns->rec[i];
		uint32_t st = __atomic_load_n(&r->state, __ATOMIC_ACQUIRE);
		uint64_t last = __atomic_load_n(&r->last_cmd,
						__ATOMIC_RELAXED);

		if (!__atomic_load_n(&r->used, __ATOMIC_ACQUIRE) || st == 0 ||
		    st > MC_CS_NREAD)
			continue;
		/* (a gateway may be closing it and another taking it
		 * meanwhile: the strings are copied whole, NUL at the end) */
		snprintf(name, sizeof(name), "%u:addr", i);
		memcpy(v, r->addr, sizeof(v));
		v[sizeof(v) - 1] = '\0';
		fn(arg, name, v);
		if (st != MC_CS_LISTENING) {
			snprintf(name, sizeof(name), "%u:listen_addr", i);
			memcpy(v, r->listen_addr, sizeof(v));
			v[sizeof(v) - 1] = '\0';
			fn(arg, name, v);
		}
		snprintf(name, sizeof(name), "%u:state", i);
		fn(arg, name, (int)i == c->rec ? "conn_parse_cmd" : state[st]);
		snprintf(name, sizeof(name), "%u:secs_since_last_cmd", i);
		mc_stat_u64(fn, arg, name, now > last ? now - last : 0);
	}
}

/* @us as memcached prints a CPU time: seconds and six decimals. */
static void mc_stat_secs(mc_stat_func_t fn, void *arg, const char *name,
			 uint64_t us)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu.%06llu", (unsigned long long)(us / 1000000),
		 (unsigned long long)(us % 1000000));
	fn(arg, name, v);
}

int mc_stats_each(struct mc_conn *c, const char *group, mc_stat_func_t fn,
		  void *arg)
{
	static const struct mc_stats zero;
	const struct mc_stats *s = c->stats ? c->stats : &zero;
	const struct mc_settings *set = c->pub.settings;
	uint64_t now = mc_unix_now();

	if (strcmp(group, "settings") == 0) {
		mc_stat_u64(fn, arg, "maxbytes", s->limit_maxbytes);
		mc_stat_u64(fn, arg, "maxconns", s->max_connections);
		mc_stat_u64(fn, arg, "tcpport", set ? set->tcpport : 0);
		fn(arg, "udpport", "0"); /* -U 0: no UDP, as skcached has */
		fn(arg, "inter", set && set->inter ? set->inter : "NULL");
		mc_stat_u64(fn, arg, "verbosity", set ? set->verbose : 0);
		fn(arg, "evictions", "on"); /* kv evicts to make room */
		mc_stat_u64(fn, arg, "num_threads", s->threads);
		fn(arg, "stat_key_prefix", ":");
		fn(arg, "detail_enabled",
		   c->prefixes && __atomic_load_n(&c->prefixes->on,
						  __ATOMIC_RELAXED) ? "yes"
								    : "no");
		fn(arg, "cas_enabled", "yes");
		mc_stat_u64(fn, arg, "item_size_max",
			    set ? set->item_max : 0);
		fn(arg, "binding_protocol", "auto-negotiate");
		return 0;
	}
	if (strcmp(group, "sizes") == 0) {
		/* memcached's answer without -o track_sizes; kv keeps no
		 * histogram of item sizes either. */
		fn(arg, "sizes_status", "disabled");
		return 0;
	}
	if (strcmp(group, "reset") == 0) {
		/* What memcached's stats_reset zeroes: the counters, not
		 * the state (connections and items now, the settings). The
		 * nodes' evictions and expired count on there: `stats`
		 * subtracts what they were now. Nothing to print. */
		if (c->stats != NULL)
			mc_stats_reset(c->stats);
		return 0;
	}
	if (strcmp(group, "conns") == 0) {
		mc_stats_conns(c, now, fn, arg);
		return 0;
	}
	if (strcmp(group, "items") == 0 || strcmp(group, "slabs") == 0) {
		mc_stats_classes(s, group[0] == 'i', fn, arg);
		return 0;
	}
	if (strcmp(group, "skiff") == 0) {
		char name[64];

		mc_stat_u64(fn, arg, "nodes", s->nnode);
		mc_stat_u64(fn, arg, "gateways", s->threads);
		mc_stat_u64(fn, arg, "gateway", s->gw_rank); /* answering */
		if (s->provider != NULL)
			fn(arg, "provider", s->provider);
		if (s->device != NULL)
			fn(arg, "device", s->device);
		if (s->transport != NULL)
			fn(arg, "transport", s->transport);
		for (unsigned i = 0; i < s->nnode; i++) {
			const struct mc_node_stats *n = &s->node[i];

#define MC_NODE_STAT(field, v) do { \
		snprintf(name, sizeof(name), "node%u:%s", n->rank, field); \
		mc_stat_u64(fn, arg, name, v); \
	} while (0)
			if (n->status != 0) {
				snprintf(name, sizeof(name), "node%u:state",
					 n->rank);
				fn(arg, name, "unreachable");
				continue;
			}
			snprintf(name, sizeof(name), "node%u:state", n->rank);
			fn(arg, name, "up");
			MC_NODE_STAT("partitions", n->o.partitions);
			MC_NODE_STAT("curr_items", n->o.items);
			MC_NODE_STAT("bytes", n->o.bytes);
			MC_NODE_STAT("limit_maxbytes", n->o.limit_bytes);
			MC_NODE_STAT("evictions", n->o.evictions);
			MC_NODE_STAT("reclaimed", n->o.expired);
			MC_NODE_STAT("waited_for_room", n->o.waited);
#undef MC_NODE_STAT
		}
		return 0;
	}
	if (group[0] != '\0')
		return -1;
	mc_stat_u64(fn, arg, "pid", s->pid);
	mc_stat_u64(fn, arg, "uptime", s->started && now > s->started ?
				       now - s->started : 0);
	mc_stat_u64(fn, arg, "time", now);
	fn(arg, "version", MC_VERSION);
	fn(arg, "pointer_size", sizeof(void *) == 8 ? "64" : "32");
	mc_stat_secs(fn, arg, "rusage_user", s->cpu_user_us);
	mc_stat_secs(fn, arg, "rusage_system", s->cpu_system_us);
	mc_stat_u64(fn, arg, "max_connections", s->max_connections);
	mc_stat_u64(fn, arg, "curr_connections", s->curr_connections);
	mc_stat_u64(fn, arg, "total_connections", s->total_connections);
	mc_stat_u64(fn, arg, "rejected_connections", s->rejected_connections);
	mc_stat_u64(fn, arg, "cmd_get", s->cmd_get);
	mc_stat_u64(fn, arg, "cmd_set", s->cmd_set);
	mc_stat_u64(fn, arg, "cmd_flush", s->cmd_flush);
	mc_stat_u64(fn, arg, "cmd_touch", s->cmd_touch);
	mc_stat_u64(fn, arg, "cmd_meta", s->cmd_meta);
	mc_stat_u64(fn, arg, "get_hits", s->get_hits);
	mc_stat_u64(fn, arg, "get_misses", s->get_misses);
	mc_stat_u64(fn, arg, "get_expired", s->get_expired);
	mc_stat_u64(fn, arg, "get_flushed", s->get_flushed);
	mc_stat_u64(fn, arg, "delete_misses", s->delete_misses);
	mc_stat_u64(fn, arg, "delete_hits", s->delete_hits);
	mc_stat_u64(fn, arg, "incr_misses", s->incr_misses);
	mc_stat_u64(fn, arg, "incr_hits", s->incr_hits);
	mc_stat_u64(fn, arg, "decr_misses", s->decr_misses);
	mc_stat_u64(fn, arg, "decr_hits", s->decr_hits);
	mc_stat_u64(fn, arg, "cas_misses", s->cas_misses);
	mc_stat_u64(fn, arg, "cas_hits", s->cas_hits);
	mc_stat_u64(fn, arg, "cas_badval", s->cas_badval);
	mc_stat_u64(fn, arg, "touch_hits", s->touch_hits);
	mc_stat_u64(fn, arg, "touch_misses", s->touch_misses);
	mc_stat_u64(fn, arg, "store_too_large", s->store_too_large);
	mc_stat_u64(fn, arg, "store_no_memory", s->store_no_memory);
	mc_stat_u64(fn, arg, "bytes_read", s->bytes_read);
	mc_stat_u64(fn, arg, "bytes_written", s->bytes_written);
	mc_stat_u64(fn, arg, "limit_maxbytes", s->limit_maxbytes);
	/* Past -c a connection is taken, told and closed (memcached's
	 * maxconns_fast): the listeners never stop. */
	fn(arg, "accepting_conns", "1");
	mc_stat_u64(fn, arg, "threads", s->threads);
	mc_stat_u64(fn, arg, "bytes", s->bytes);
	mc_stat_u64(fn, arg, "curr_items", s->curr_items);
	mc_stat_u64(fn, arg, "total_items", s->total_items);
	mc_stat_u64(fn, arg, "evictions", s->evictions);
	mc_stat_u64(fn, arg, "reclaimed", s->expired);
	mc_stat_u64(fn, arg, "skiff_nodes", s->nodes);
	return 0;
}

/* ---- stats detail: counts by key prefix (mc.h) ---- */

/* FNV-1a: where a prefix's probe starts. */
static uint32_t mc_prefix_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (uint8_t)*p++) * 16777619u;
	return h;
}

/*
 * The entry of @p, made if it is new. Gateways are processes sharing the
 * table: a free entry is taken by a compare-and-swap of its state, filled,
 * then published (release); one being filled by another is waited for a
 * little, and if it stays so this count is dropped, not written into a
 * second entry of the same prefix. NULL: no room, or dropped.
 */
static struct mc_prefix *mc_prefix_find(struct mc_prefixes *t, const char *p,
					size_t n)
{
	uint32_t h = mc_prefix_hash(p, n);

	for (unsigned i = 0; i < MC_PREFIX_MAX; i++) {
		struct mc_prefix *e = &t->ent[(h + i) % MC_PREFIX_MAX];
		uint32_t st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
		unsigned spins = 0;

		if (st == 0) {
			uint32_t zero = 0;

			if (__atomic_compare_exchange_n(&e->state, &zero, 1,
							false, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				e->len = (uint32_t)n;
				e->seq = __atomic_fetch_add(&t->next_seq, 1,
							    __ATOMIC_RELAXED);
				memcpy(e->prefix, p, n);
				__atomic_store_n(&e->state, 2,
						 __ATOMIC_RELEASE);
				return e;
			}
			st = zero;
		}
		while (st == 1 && spins++ < 1000)
			st = __atomic_load_n(&e->state, __ATOMIC_ACQUIRE);
		if (st == 1)
			return NULL;
		if (st == 2 && e->len == n && memcmp(e->prefix, p, n) == 0)
			return e;
	}
	return NULL;
}

void mc_prefix_count(struct mc_prefixes *t, const void *key, size_t klen,
		     enum mc_prefix_count kind, int hit)
{
	const char *k = key;
	struct mc_prefix *e;
	size_t n;

	if (t == NULL || !__atomic_load_n(&t->on, __ATOMIC_RELAXED))
		return;
	/* memcached's: up to the first ':', not past a NUL */
	for (n = 0; n < klen && k[n] != '\0' && k[n] != ':'; n++)
		;
	if (n == klen || k[n] != ':' || n > MC_KEY_MAX)
		return;
	e = mc_prefix_find(t, k, n);
	if (e == NULL)
		return;
	__atomic_add_fetch(&e->count[kind], 1, __ATOMIC_RELAXED);
	if (kind == MC_PFX_GET && hit)
		__atomic_add_fetch(&e->count[MC_PFX_HIT], 1, __ATOMIC_RELAXED);
}

void mc_prefix_clear(struct mc_prefixes *t)
{
	if (t == NULL)
		return;
	for (unsigned i = 0; i < MC_PREFIX_MAX; i++) {
		struct mc_prefix *e = &t->ent[i];

		/* Counts another gateway adds meanwhile may be lost or kept:
		 * stats, not the table. */
		if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != 2)
			continue;
		for (unsigned k = 0; k < 4; k++)
			__atomic_store_n(&e->count[k], 0, __ATOMIC_RELAXED);
		__atomic_store_n(&e->state, 0, __ATOMIC_RELEASE);
	}
}

/* MurmurHash3_x86_32, seed 0 (Appleby's public-domain code, as memcached
 * 1.6 hashes with by default), of a little-endian host. */
static uint32_t mc_murmur3(const void *key, size_t len)
{
	const uint8_t *d = key;
	uint32_t h = 0, k;
	size_t i;

#define MC_ROTL(x, r) ((x) << (r) | (x) >> (32 - (r)))
	for (i = 0; i + 4 <= len; i += 4) {
		memcpy(&k, d + i, 4);
		k *= 0xcc9e2d51u;
		k = MC_ROTL(k, 15) * 0x1b873593u;
		h ^= k;
		h = MC_ROTL(h, 13) * 5 + 0xe6546b64u;
	}
	k = 0;
	switch (len & 3) {
	case 3:
		k ^= (uint32_t)d[i + 2] << 16;
		/* fall through */
	case 2:
		k ^= (uint32_t)d[i + 1] << 8;
		/* fall through */
	case 1:
		k ^= d[i];
		k *= 0xcc9e2d51u;
		k = MC_ROTL(k, 15) * 0x1b873593u;
		h ^= k;
	}
#undef MC_ROTL
	h ^= (uint32_t)len;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ h >> 16;
}

/* A dump's order, memcached's: its 256 buckets by the prefix's hash, in
 * a bucket the newest first. */
struct mc_prefix_ord {
	uint32_t bucket;
	uint64_t seq;
	const struct mc_prefix *e;
};

static int mc_prefix_cmp(const void *a, const void *b)
{
	const struct mc_prefix_ord *x = a, *y = b;

	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

void mc_detail(struct mc_conn *c, char op, mc_put_func_t put, void *arg)
{
	static struct mc_prefix_ord ord[MC_PREFIX_MAX];
	struct mc_prefixes *t = c->prefixes;
	unsigned n = 0;

	if (op == 'd' && t == NULL) {
		put(arg, "END\r\n", 5);
		return;
	}
	if (t == NULL)
		return;
	if (op == 'n' || op == 'f') {
		__atomic_store_n(&t->on, op == 'n', __ATOMIC_RELAXED);
		return;
	}
	for (unsigned i = 0; i < MC_PREFIX_MAX; i++) {
		const struct mc_prefix *e = &t->ent[i];

		if (__atomic_load_n(&e->state, __ATOMIC_ACQUIRE) != 2)
			continue;
		ord[n++] = (struct mc_prefix_ord){
			.bucket = mc_murmur3(e->prefix, e->len) % 256,
			.seq = e->seq, .e = e,
		};
	}
	qsort(ord, n, sizeof(ord[0]), mc_prefix_cmp);
	for (unsigned i = 0; i < n; i++) {
		const struct mc_prefix *e = ord[i].e;
		uint64_t cnt[4];
		char tail[96];
		int k;

		for (unsigned j = 0; j < 4; j++)
			cnt[j] = __atomic_load_n(&e->count[j],
						 __ATOMIC_RELAXED);
		/* stats_prefix.c's "PREFIX %s get %llu hit %llu set %llu
		 * del %llu\r\n" (the prefix by its length: it may hold NUL) */
		k = snprintf(tail, sizeof(tail),
			     " get %llu hit %llu set %llu del %llu\r\n",
			     (unsigned long long)cnt[MC_PFX_GET],
			     (unsigned long long)cnt[MC_PFX_HIT],
			     (unsigned long long)cnt[MC_PFX_SET],
			     (unsigned long long)cnt[MC_PFX_DEL]);
		put(arg, "PREFIX ", 7);
		put(arg, e->prefix, e->len);
		put(arg, tail, (size_t)k);
	}
	put(arg, "END\r\n", 5);
}

void mc_detail_count(struct mc_conn *c, const void *key, size_t klen,
		     enum mc_prefix_count kind, int hit)
{
	mc_prefix_count(c->prefixes, key, klen, kind, hit);
}
