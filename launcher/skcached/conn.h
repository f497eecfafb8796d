/*
 * skcached: one client connection, and the gateway's figures that `stats`
 * prints. mc_core.c (commands, output, stats) needs only this; the
 * gateway (gateway.c) owns the rest of a connection's life.
 */
#ifndef SKCACHED_CONN_H
#define SKCACHED_CONN_H

#include <stdint.h>

#include "mc.h"

/* What `stats` prints (memcached's names); the gateway fills it. */
struct mc_stats {
	uint32_t pid;
	uint32_t gw_pid;            /* the gateway process whose slot it is */
	uint32_t gw_rank;           /* and its rank (`stats skiff`) */
	uint64_t started;           /* Unix seconds */
	/* CPU the server's processes used, microseconds (rusage_user,
	 * rusage_system): filled as `stats` is answered. */
	uint64_t cpu_user_us, cpu_system_us;
	uint64_t curr_connections, total_connections, rejected_connections;
	uint64_t cmd_get, cmd_set, cmd_flush, cmd_touch, cmd_meta;
	uint64_t get_hits, get_misses, get_expired, get_flushed;
	uint64_t delete_misses, delete_hits;
	uint64_t incr_misses, incr_hits, decr_misses, decr_hits;
	uint64_t cas_misses, cas_hits, cas_badval;
	uint64_t touch_hits, touch_misses;
	uint64_t store_too_large;   /* stores refused: larger than -I */
	uint64_t store_no_memory;   /* stores refused: no room in the table */
	uint64_t bytes_read, bytes_written;
	uint64_t limit_maxbytes;
	unsigned threads;
	unsigned max_connections;
	/* `stats skiff`: the fabric under the table (sk_dev_query). */
	const char *provider, *device, *transport;
	/* Summed over the nodes by the gateway before finish (MC_SP_STATS). */
	uint64_t curr_items, total_items, bytes, evictions, expired;
	unsigned nodes;
	/* `stats skiff`: each cache node's figures, as the last stats
	 * command gathered them (rank, and status 0 or -1: unreachable). */
	struct mc_node_stats {
		unsigned rank;
		int status;
		struct sk_kv_owner_stats o;
		/* Its evictions and expired at the last `stats reset`:
		 * `stats` counts from there, `stats skiff` from its start. */
		uint64_t evictions_base, expired_base;
	} *node;
	unsigned nnode;
	/* `stats items` and `stats slabs`: the nodes' size classes summed
	 * (SK_KV_CLASSES_MAX of them, ncls filled), as the last such
	 * command gathered them. */
	struct sk_kv_class_stats *cls;
	unsigned ncls;
};

/* stats detail's table (mc.h), in the gateways' shared segment. */
struct mc_prefix {
	uint32_t state;             /* 0 free, 1 being filled, 2 in use */
	uint32_t len;
	uint64_t seq;               /* when it came (the dump's order) */
	uint64_t count[4];          /* enum mc_prefix_count */
	char prefix[MC_KEY_MAX];
};
struct mc_prefixes {
	uint32_t on;
	uint32_t pad;
	uint64_t next_seq;
	struct mc_prefix ent[MC_PREFIX_MAX];
};
/* Count @kind (and a hit, for a get) for @key's prefix, if it has one,
 * while the table is on. Safe from several processes at once. */
void mc_prefix_count(struct mc_prefixes *t, const void *key, size_t klen,
		     enum mc_prefix_count kind, int hit);
/* `stats reset`: every prefix forgotten (memcached's stats_prefix_clear). */
void mc_prefix_clear(struct mc_prefixes *t);

/*
 * `stats conns`: every gateway's listening sockets and connections, in a
 * table the gateways share (gateway.c); each writes its own entries, any
 * prints them all. memcached numbers them by descriptor, which each
 * gateway process counts on its own: here the number is the entry's.
 */
enum { MC_CS_LISTENING = 1, MC_CS_READ, MC_CS_NREAD };
struct mc_conn_rec {
	uint32_t used;              /* 0 free, 1 taken */
	uint32_t state;             /* MC_CS_*, 0 while being filled */
	uint64_t last_cmd;          /* Unix seconds: its last command (a
	                             * listener: since it listens) */
	char addr[64];              /* memcached's "tcp:HOST:PORT" */
	char listen_addr[64];       /* a client's listener; "" for one */
};
struct mc_conn_table {
	struct mc_conn_rec *rec;
	unsigned n;
};

struct mc_conn {
	struct mc_conn_pub pub;
	/* Output not yet written to the socket. */
	char *out;
	size_t out_len, out_cap;
	int out_failed;             /* out of memory: close */
	struct mc_stats *stats;     /* the gateway's (may be NULL: zeros) */
	struct mc_prefixes *prefixes; /* stats detail's (may be NULL) */
	const struct mc_conn_table *conns; /* stats conns' (may be NULL) */
	int rec;                    /* this one's entry there, or -1 */
};

/* The counters (uint64_t fields of struct mc_stats) that `stats reset`
 * zeroes, by offset; a gateway sums them over the gateways (gateway.c).
 * The others are state (curr_connections) or the nodes' figures. */
extern const size_t mc_stats_counters[];
extern const unsigned mc_stats_ncounters;
/* Counter @k of @s. */
uint64_t *mc_stats_counter(struct mc_stats *s, unsigned k);

/* `stats reset`: zero @s's counters (memcached's stats_reset), and take
 * the nodes' evictions and expired as they are now for the new zero. */
void mc_stats_reset(struct mc_stats *s);

/* Drop the first @n bytes of the output (written). */
void mc_out_consume(struct mc_conn *c, size_t n);
void mc_conn_out_free(struct mc_conn *c);

#endif /* SKCACHED_CONN_H */
