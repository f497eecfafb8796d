/*
 * skcached: what the gateway's core (gateway.c) and its protocol parsers
 * (mc_text.c: text and meta commands; mc_bin.c: the binary protocol)
 * share.
 *
 * A connection's bytes go to its parser, which cuts them into commands.
 * A command carries the kv requests it needs (struct sk_kv_req, kv.h,
 * with the caller's fields filled in); the core posts them all at once
 * (a multi-get fans out to every owner together), and when every
 * request of the command at the head of the connection's queue is done,
 * it calls the command's finish, which writes the answer with mc_out*().
 * Answers therefore leave in the order the commands came, however the
 * owners answer. A command with no request (version, an error) is
 * finished as soon as it reaches the head.
 *
 * Memory: a command is one allocation (mc_cmd_new): the command, its
 * requests, then @extra bytes of the parser's own (keys and values are
 * copied there: the input buffer moves). GET and GAT requests are posted
 * with buf NULL: the core lends each a value buffer, regrows it and asks
 * again when the value was longer, and frees it after finish. The gateway
 * keeps item data only for the life of one command.
 */
#ifndef SKCACHED_MC_H
#define SKCACHED_MC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skiff/kv.h>

/* What `version` answers, and binary's version: the memcached whose
 * protocols skcached speaks, as bare digits, since clients parse them (the
 * npm memcached client matches /(\d+)\.(\d+)\.(\d+)$/ and crashed on
 * "1.6.18-skiff"). `skcached -V` and `stats skiff` say it is Skiff. */
#define MC_VERSION "1.6.18"
/* memcached's limits (memcached.h): KEY_MAX_LENGTH, and the longest
 * command line it reads before "CLIENT_ERROR line too long"... */
#define MC_KEY_MAX 250u
#define MC_LINE_MAX 2048u
/* ...and the most keys one get takes (memcached has no limit but its
 * line; ours bounds a command's requests). */
#define MC_GET_KEYS_MAX 1024u

struct mc_conn;
struct mc_cmd;

/* The gateway's settings the parsers read (the command line's). */
struct mc_settings {
	size_t item_max;        /* -I: the largest value, at most 1 MiB */
	int verbose;            /* -v: 1, -vv: 2; `verbosity` sets it */
	int cas_enabled;        /* always 1 (memcached -C turns it off) */
	unsigned tcpport;       /* -p */
	const char *inter;      /* -l as given, or NULL */
};

/* Commands the core itself must carry out before finish. */
enum mc_special {
	MC_SP_NONE,
	MC_SP_FLUSH,    /* flush_all: every owner drops its items at
	                 * now + flush_delay (0: now) */
	MC_SP_STATS,    /* stats [group]: the core gathers the nodes'
	                 * figures; finish calls mc_stats_each */
};

/*
 * Write the answer of @cmd, whose requests are all done. Returns 0 when
 * answered; 1 when it needs another round first (binary's incr with an
 * initial value: the incr found nothing, so an add goes next): it has
 * re-armed some requests (their caller's fields set again, ->done and
 * ->status cleared), which the core posts, calling finish again when they
 * are done.
 */
typedef int (*mc_finish_func_t)(struct mc_conn *c, struct mc_cmd *cmd);

struct mc_cmd {
	/* Set by the parser: */
	mc_finish_func_t finish;    /* writes the answer; must be set */
	enum mc_special special;
	int32_t flush_delay;        /* MC_SP_FLUSH */
	char stats_group[32];       /* MC_SP_STATS: "" or the argument */
	int dump;                   /* MC_SP_STATS "cachedump" (text's), or
	                             * metadump: */
	unsigned dump_class;        /* the class asked (1 the smallest);
	                             * metadump: the one being walked */
	int metadump;               /* lru_crawler metadump (text's): every
	                             * class of dump_classes, a round of
	                             * lines at a time (mc_metadump_lines) */
	uint64_t dump_classes;      /* metadump: bit n-1 for class n */
	unsigned dump_limit;        /* keys at most, 0: as many as 2 MiB
	                             * of answer takes (memcached's) */
	int close_after;            /* close the connection after the
	                             * answer is written (quit, fatal) */
	int meta_debug;             /* me: counts as cmd_meta, not as a get
	                             * (memcached's meta_cmds) */
	int too_large;              /* a store refused as larger than -I:
	                             * counts as store_too_large, and the
	                             * delete of the key's old item it may
	                             * carry counts as nothing */
	char detail_op;             /* stats detail: 'n' on, 'f' off, 'd'
	                             * dump, 0 the usage error */
	unsigned nreq;              /* requests in req[] (mc_cmd_new) */
	struct sk_kv_req *req;
	void *priv;                 /* the parser's @extra bytes */
	/* The core's: */
	struct mc_cmd *next;
	struct mc_cmd *post_next;   /* waiting to be posted */
	unsigned nposted;           /* of req[] then core_req[] */
	int dispatched;             /* its turn came (gateway.c) */
	unsigned retries;           /* rounds refused for want of memory */
	uint64_t retry_at;          /* then asked again at (ns) */
	struct mc_cmd *retry_next;
	struct sk_kv_req *core_req; /* MC_SP_*: one per cache node */
	unsigned ncore;
	int special_status;         /* MC_SP_*: 0, or -1 when a node failed
	                             * (finish answers SERVER_ERROR) */
	uint8_t *dump_buf;          /* dump: the owners' entries, gathered
	                             * (kv.h, sk_kv_dump_next) */
	size_t dump_len;
	unsigned dump_n;            /* entries in dump_buf */
	int dump_paused;            /* metadump: the next round waits for
	                             * the client to read (gateway.c) */
	int small;                  /* mc_cmd_new's: a cached size */
};

/*
 * One command with @nreq zeroed requests and @extra zeroed bytes at
 * cmd->priv (aligned to 16). NULL when out of memory (the parser answers
 * SERVER_ERROR out of memory and closes, as memcached does).
 */
struct mc_cmd *mc_cmd_new(unsigned nreq, size_t extra);
void mc_cmd_free(struct mc_cmd *cmd);

/* A connection as the parsers see it; the rest is the core's. */
struct mc_conn_pub {
	const struct mc_settings *settings;
	struct mc_settings *settings_rw;  /* verbosity */
	/* Bytes still to drop from the input before parsing again (a value
	 * refused while its data is still arriving). The parser sets it;
	 * the core drops them as they come. */
	size_t swallow;
	/* The parser's state that lives from command to command (meta's
	 * base64 keys need none; binary needs none so far). */
	int proto;                  /* 0 undecided, 'T' text, 'B' binary */
};
struct mc_conn_pub *mc_conn_pub(struct mc_conn *c);

/*
 * The parsers. Given the @len bytes at @buf that the connection has
 * received and not yet consumed, cut one command:
 *   > 0: that many bytes consumed; *cmd_p is the command (never NULL).
 *     0: a whole command is not there yet; call again with more bytes.
 *        The parser must answer (with an error command) rather than wait
 *        once @len exceeds what one command can take (a line over
 *        MC_LINE_MAX, a value over settings->item_max + the line).
 * A fatal error (the stream cannot be resynchronized) is a command with
 * close_after set. The core decides the protocol from the first byte
 * (0x80: binary) and keeps it for the connection.
 */
ssize_t mc_text_parse(struct mc_conn *c, const char *buf, size_t len,
		      struct mc_cmd **cmd_p);
ssize_t mc_bin_parse(struct mc_conn *c, const char *buf, size_t len,
		     struct mc_cmd **cmd_p);

/* The core's output, for finish: bytes, and a formatted line. */
void mc_out(struct mc_conn *c, const void *p, size_t n);
void mc_outf(struct mc_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A decimal number, without printf (the VALUE line of every hit). */
void mc_out_u64(struct mc_conn *c, uint64_t v);

/*
 * For MC_SP_STATS's finish: call @fn for each statistic of @group ("":
 * the general ones, memcached's names summed over the nodes; "settings";
 * "items" and "slabs": the nodes' size classes; "skiff": per node), in order. Returns 0, or -1 for a group it does not
 * know (memcached 1.6 answers "ERROR" to those).
 */
typedef void (*mc_stat_func_t)(void *arg, const char *name,
			       const char *value);
int mc_stats_each(struct mc_conn *c, const char *group, mc_stat_func_t fn,
		  void *arg);

/*
 * memcached's `stats detail`: per key prefix (the bytes before the first
 * ':', in keys that have one), the gets, hits, sets and deletes, counted
 * while it is on (off at the start). A table of MC_PREFIX_MAX prefixes,
 * laid out to be shared by every gateway of a server (in their shared
 * segment: each counts into it, any dumps it); a prefix beyond the
 * table's room is not counted. mc_detail: on, off or, for a dump,
 * memcached's text of it (its PREFIX lines, then END) given to @put a
 * piece at a time; a connection without a table (tests) counts nothing.
 */
#define MC_PREFIX_MAX 1024u
enum mc_prefix_count { MC_PFX_GET, MC_PFX_HIT, MC_PFX_SET, MC_PFX_DEL };
typedef void (*mc_put_func_t)(void *arg, const void *p, size_t n);
void mc_detail(struct mc_conn *c, char op, mc_put_func_t put, void *arg);
/* Count one for @key's prefix, where memcached does: a get or gat's key
 * (and whether it hit) as it is answered, a storage command and a delete
 * as they are taken (whatever comes of them), text and binary; not meta
 * commands, incr, decr or touch. */
void mc_detail_count(struct mc_conn *c, const void *key, size_t klen,
		     enum mc_prefix_count kind, int hit);

/* memcached's bound on a cachedump's answer (items.c, memlimit), END
 * included. */
#define MC_DUMP_MAX (2u << 20)

/* metadump: write a line for each entry gathered in cmd->dump_buf (of
 * class cmd->dump_class), and empty it; the core calls it after each
 * round, and finish after the last, before its END. */
void mc_metadump_lines(struct mc_conn *c, struct mc_cmd *cmd);

/*
 * Besides value, flags and CAS, kv tells a GET or GAT req->expiry: the
 * item's expiry in Unix seconds by its owner's clock (0: never), for
 * meta's t flag. mc_unix_now is the gateway's Unix time, which the
 * job's hosts share, to count the seconds left from.
 */
uint32_t mc_unix_now(void);

#endif /* SKCACHED_MC_H */
