/*
 * skcached-node: the program every rank of a skcached job runs
 * (launcher/skcached/README.md). skcached (skcached.c) starts it with
 * skrun as T + N ranks: ranks 0..T-1 are the gateways, on the host that
 * clients reach, and ranks T..T+N-1 the cache nodes, which hold the
 * table's partitions (kv's clients attribute: the gateways own none).
 *
 * A cache node only serves its partitions, from its loop, until SIGTERM.
 *
 * A gateway serves memcached's protocols on TCP: it accepts on the shared
 * port (SO_REUSEPORT: the kernel spreads connections over the gateways,
 * memcached's -t threads), cuts each connection's bytes into commands
 * with the parsers (mc_text.c, mc_bin.c), posts every command's kv
 * requests at once (a multi-get reaches every owner together) and writes
 * the answers in arrival order as the commands at each connection's head
 * complete (mc.h).
 *
 * Re-entrancy: kv's post may serve the loop (a first contact, or when too
 * many requests are in flight), and so run the loop's callbacks. So the
 * callbacks of the sockets only note what happened; the work is done
 * between loop passes, in gw_run, never inside a callback. The gateway
 * also keeps its requests in flight under SK_KV_INFLIGHT_MAX itself, and
 * contacts every owner before it listens, so neither case arises there.
 *
 * Bounds (issue 13, "bad input"): a connection's input holds at most one
 * command (the parsers answer a line over MC_LINE_MAX or a value over -I
 * without waiting for more); its output past GW_OUT_HIGH, or
 * GW_CMDS_MAX commands in flight, stop its reading until they drain; past
 * -c connections (over all gateways, counted in a shared page) a new one
 * is told "ERROR Too many open connections" and closed, as memcached.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <skiff/kv.h>
#include <skiff/loop.h>
#include <skiff/os.h>
#include <skiff/rpc.h>
#include <skiff/verbs.h>

#include "conn.h"
#include "listen.h"

#define GW_OUT_HIGH  (4u << 20)  /* stop reading a connection past this */
#define GW_CMDS_MAX  256u        /* commands in flight per connection */
#define GW_READ_MIN  16384u      /* room asked of each read */
#define GW_BUF_FIRST 16384u      /* a GET's first value buffer */
#define GW_BUFS_KEPT 512u        /* of those, kept for the next GETs */
#define GW_HINT_SHORT 32u
#define GW_RETRY_NS  (2u * 1000000u) /* an update refused for memory... */
#define GW_RETRY_MAX 100u        /* ...asked again this often, 200 ms */

struct gw_conn {
	struct mc_conn mc;          /* first: the parsers' view */
	struct gw *gw;
	int fd;
	struct sk_watch w;
	unsigned revents;           /* noted by the callback */
	bool queued;                /* on gw->ready */
	struct gw_conn *next_ready;
	struct gw_conn *prev, *next; /* gw->conns */
	char *in;
	size_t in_len, in_cap;
	struct mc_cmd *head, *tail; /* in arrival order */
	unsigned ncmds;
	bool eof;                   /* the client closed its side */
	bool last_cut;              /* a quit or fatal error was parsed:
	                             * nothing after it is read */
	bool closing;               /* a close_after answer is written */
	bool dead;                  /* to free once its requests are done */
};
#define GW_LISTEN_RECS (GW_GATEWAYS_MAX * MC_LISTEN_MAX)

/*
 * What the gateways of one job share, in one segment named after skrun's
 * pid: the count of open connections that -c bounds; each gateway's
 * stats, in its slot (by rank), which it alone writes and every gateway
 * reads, so that `stats` is the server's, as memcached's threads' sums
 * are, whichever gateway a connection reached; and the zero `stats
 * reset` set (the counters' sums then, each cache node's evictions and
 * reclaims then).
 */
#define GW_GATEWAYS_MAX 64u
#define GW_NODES_MAX    1024u

struct gw_shm {
	uint64_t conns;
	uint64_t pad[7];
	struct mc_stats slot[GW_GATEWAYS_MAX];
	struct mc_stats base;
	struct {
		uint64_t evictions, expired;
	} node_base[GW_NODES_MAX];
	struct mc_prefixes prefixes; /* stats detail's, every gateway's */
};

struct gw {
	struct sk_kv *kv;
	struct sk_loop *loop;
	unsigned first_owner, size;
	struct mc_settings set;
	struct mc_stats *st;        /* this gateway's slot of the shared
	                             * segment (a cache node: its own) */
	/* Its listening sockets (listen.h), each watched. */
	struct gw_listener {
		struct sk_watch w;
		struct gw      *gw;
	} listen[MC_LISTEN_MAX];
	unsigned nlisten;
	bool accept_ready;
	int sig_fd;
	struct sk_watch sw;
	bool stop;
	struct gw_conn *conns;
	struct gw_conn *ready;
	struct mc_cmd *post_head, *post_tail; /* requests not yet posted */
	struct mc_cmd *retry;       /* to ask again later (gw_retry) */
	void *bufs[GW_BUFS_KEPT];   /* GET buffers of GW_BUF_FIRST, free */
	unsigned nbufs;
	/* While GETs find values longer than GW_BUF_FIRST, a GET's first
	 * buffer is as long as the longest of them (gw_regrow): a value
	 * longer than its buffer is read and checked twice. Back to
	 * GW_BUF_FIRST after GW_HINT_SHORT shorter ones in a row. */
	size_t get_hint;
	unsigned get_short;
	unsigned inflight;
	unsigned long conns_max;
	/* Whether to spin (gw_serve): the connection the last request came
	 * on, and when a request last came on another. */
	const struct gw_conn *last_conn;
	uint64_t switch_ns;
	struct gw_shm *shm;         /* shared by the gateways (gw_shared);
	                             * ->conns counts -c over them all */
	char shm_name[64];
	size_t shm_size;
	struct mc_conn_table ctab;  /* stats conns': after the segment's
	                             * struct gw_shm, -c entries and the
	                             * listeners' (GW_LISTEN_RECS) */
	unsigned rec_hint;          /* where the next claim looks first */
	unsigned verbose;
};

/* ---- the options skcached passes (skcached.c) ---- */

struct gw_opts {
	unsigned gateways;
	unsigned port;
	const char *listen;
	unsigned long conns;
	unsigned long item_max;
	unsigned verbose;
	unsigned long mem_mb;
	unsigned long spin_us;
	int no_evict;
};

static int gw_parse(int argc, char **argv, struct gw_opts *o)
{
	static const struct option lo[] = {
		{"gateways", required_argument, NULL, 'T'},
		{"port", required_argument, NULL, 'p'},
		{"listen", required_argument, NULL, 'l'},
		{"conns", required_argument, NULL, 'c'},
		{"item-max", required_argument, NULL, 'I'},
		{"verbose", required_argument, NULL, 'v'},
		{"mem-mb", required_argument, NULL, 'm'},
		{"no-evict", no_argument, NULL, 'M'},
		{"spin-us", required_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*o = (struct gw_opts){.gateways = 1, .port = 11211, .conns = 1024,
			      .item_max = SK_KV_VALUE_MAX, .mem_mb = 64};
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		char *end = NULL;
		unsigned long v = 0;

		if (c != 'l' && c != 'M' && c != '?') {
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end)
				return -1;
		}
		switch (c) {
		case 'T': o->gateways = (unsigned)v; break;
		case 'p': o->port = (unsigned)v; break;
		case 'l': o->listen = optarg; break;
		case 'c': o->conns = v; break;
		case 'I': o->item_max = v; break;
		case 'v': o->verbose = (unsigned)v; break;
		case 'm': o->mem_mb = v; break;
		case 'M': o->no_evict = 1; break;
		case 'S': o->spin_us = v; break;
		default: return -1;
		}
	}
	if (optind != argc || o->gateways == 0 ||
	    o->gateways > GW_GATEWAYS_MAX || o->port > 65535 ||
	    o->conns == 0 || o->item_max == 0 ||
	    o->item_max > SK_KV_VALUE_MAX || o->mem_mb == 0 ||
	    o->spin_us > 1000000)
		return -1;
	return 0;
}

/*
 * The table's shape from -m: P partitions of -m MiB / P each, P a power
 * of two, at least one per cache node, and more (up to 16 per node) while
 * each keeps GW_PART_MIN: a partition holds items of up to its size less
 * its index, and a value of memcached's 1 MiB wants a few MiB, with room
 * for the old items an overwrite leaves in quarantine (kv/README.md).
 */
#define GW_PART_MIN (4u << 20)
static void gw_attr(const struct gw_opts *o, unsigned nodes,
		    struct sk_kv_attr *a)
{
	uint64_t total = (uint64_t)o->mem_mb << 20, buckets;
	uint32_t p = 1;
	size_t items;

	while (p < nodes)
		p *= 2;
	while (p < 16u * nodes && total / (2 * p) >= GW_PART_MIN)
		p *= 2;
	/* -m is item memory, as memcached's: each partition's index and
	 * header come on top of its share. */
	items = total / p < (64u << 10) ? (64u << 10) : (size_t)(total / p);
	*a = (struct sk_kv_attr){
		.partitions = p,
		.part_bytes = sk_kv_part_bytes_for(items, &buckets),
		.buckets = buckets,
		.no_evict = o->no_evict,
		.clients = o->gateways,
		/* memcached's keys: any bytes its protocols can carry
		 * (memaslap's start with control bytes) */
		.any_keys = 1,
	};
}

/* ---- connections ---- */

static void gw_note(struct gw_conn *c, unsigned revents)
{
	struct gw *gw = c->gw;

	c->revents |= revents;
	if (!c->queued) {
		c->queued = true;
		c->next_ready = gw->ready;
		gw->ready = c;
	}
}

static void gw_conn_cb(struct sk_watch *w, unsigned revents)
{
	struct gw_conn *c = (struct gw_conn *)((char *)w -
					       offsetof(struct gw_conn, w));

	gw_note(c, revents);
}

/* Watch what the connection can use now: input while it may take more,
 * output while some waits. */
static void gw_conn_watch(struct gw_conn *c)
{
	unsigned ev = 0;

	if (!c->eof && !c->closing && !c->last_cut &&
	    c->mc.out_len < GW_OUT_HIGH &&
	    c->ncmds < GW_CMDS_MAX)
		ev |= POLLIN;
	if (c->mc.out_len)
		ev |= POLLOUT;
	if (ev == c->w.events)
		return;
	if (c->w.events)
		sk_watch_stop(c->gw->loop, &c->w);
	c->w.events = ev;
	if (ev)
		sk_watch_start(c->gw->loop, &c->w);
}

static void gw_cmd_release(struct gw *gw, struct mc_cmd *cmd)
{
	for (unsigned i = 0; i < cmd->nreq; i++) {
		struct sk_kv_req *r = &cmd->req[i];

		if (r->cmd != SK_KV_CMD_GET && r->cmd != SK_KV_CMD_GAT)
			continue;
		if (r->buf && r->cap == GW_BUF_FIRST &&
		    gw->nbufs < GW_BUFS_KEPT)
			gw->bufs[gw->nbufs++] = r->buf;
		else
			free(r->buf);
		r->buf = NULL;
	}
	for (unsigned i = 0; i < cmd->ncore; i++)
		free(cmd->core_req[i].buf);
	free(cmd->core_req);
	free(cmd->dump_buf);
	mc_cmd_free(cmd);
}

/* Are all of @cmd's requests (the parser's and the core's) done? */
static bool gw_cmd_quiet(const struct mc_cmd *cmd)
{
	if (cmd->nposted < cmd->nreq + cmd->ncore)
		return false;
	for (unsigned i = 0; i < cmd->nreq; i++)
		if (!cmd->req[i].done)
			return false;
	for (unsigned i = 0; i < cmd->ncore; i++)
		if (!cmd->core_req[i].done)
			return false;
	return true;
}

/* memcached's text of an address (memcached.c, get_conn_text). */
static void gw_addr_text(const struct sockaddr_storage *ss, char *out,
			 size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		snprintf(out, len, "tcp:%s:%u", host, ntohs(a->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
		snprintf(out, len, "tcp6:[%s]:%u", host, ntohs(a->sin6_port));
	} else {
		snprintf(out, len, "?");
	}
}

/*
 * An entry of stats conns' table for socket @fd (a client's when @peer,
 * else a listener's), or -1 when the table is full (not listed then). A
 * free entry is taken by a compare-and-swap (the gateways share the
 * table), filled, and its state published last.
 */
static int gw_rec_claim(struct gw *gw, int fd, bool peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	for (unsigned k = 0; k < gw->ctab.n; k++) {
		unsigned i = (gw->rec_hint + k) % gw->ctab.n;
		struct mc_conn_rec *r = &gw->ctab.rec[i];
		uint32_t zero = 0;

		if (__atomic_load_n(&r->used, __ATOMIC_RELAXED) ||
		    !__atomic_compare_exchange_n(&r->used, &zero, 1, false,
						 __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		gw->rec_hint = i + 1;
		r->addr[0] = r->listen_addr[0] = '\0';
		if (peer && getpeername(fd, (void *)&ss, &sl) == 0)
			gw_addr_text(&ss, r->addr, sizeof(r->addr));
		sl = sizeof(ss);
		if (getsockname(fd, (void *)&ss, &sl) == 0)
			gw_addr_text(&ss, peer ? r->listen_addr : r->addr,
				     sizeof(r->addr));
		__atomic_store_n(&r->last_cmd, mc_unix_now(),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&r->state,
				 peer ? MC_CS_READ : MC_CS_LISTENING,
				 __ATOMIC_RELEASE);
		return (int)i;
	}
	return -1;
}

static void gw_rec_release(struct gw *gw, int i)
{
	if (i < 0)
		return;
	__atomic_store_n(&gw->ctab.rec[i].state, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&gw->ctab.rec[i].used, 0, __ATOMIC_RELEASE);
}

static void gw_conn_free(struct gw_conn *c)
{
	struct gw *gw = c->gw;

	if (c->prev)
		c->prev->next = c->next;
	else
		gw->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (gw->last_conn == c)
		gw->last_conn = NULL;
	mc_conn_out_free(&c->mc);
	free(c->in);
	free(c);
}

/* Close now; the connection's memory goes when its requests are done (kv
 * still writes into them). */
static void gw_conn_close(struct gw_conn *c)
{
	struct gw *gw = c->gw;
	struct mc_cmd **pp, *cmd;

	if (c->dead)
		return;
	/* Commands not posted yet go now (they are the queue's tail). */
	for (pp = &c->head; *pp && (*pp)->dispatched; pp = &(*pp)->next)
		;
	c->tail = pp == &c->head ? NULL :
		  (struct mc_cmd *)((char *)pp - offsetof(struct mc_cmd, next));
	while ((cmd = *pp) != NULL) {
		*pp = cmd->next;
		c->ncmds--;
		gw_cmd_release(gw, cmd);
	}
	if (c->w.events)
		sk_watch_stop(gw->loop, &c->w);
	c->w.events = 0;
	if (gw->verbose > 1)
		fprintf(stderr, "<%d connection closed.\n", c->fd);
	close(c->fd);
	c->fd = -1;
	c->dead = true;
	gw_rec_release(gw, c->mc.rec);
	c->mc.rec = -1;
	gw->st->curr_connections--;
	__atomic_fetch_sub(&gw->shm->conns, 1, __ATOMIC_RELAXED);
}

static void gw_accept1(struct gw *gw, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct gw_conn *c;
		uint64_t n;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED && gw->verbose)
				fprintf(stderr, "skcached: accept: %s\n",
					strerror(errno));
			return;
		}
		n = __atomic_add_fetch(&gw->shm->conns, 1, __ATOMIC_RELAXED);
		if (n > gw->conns_max) {
			/* memcached's answer past -c (maxconns_fast). */
			static const char msg[] =
				"ERROR Too many open connections\r\n";

			__atomic_fetch_sub(&gw->shm->conns, 1,
					   __ATOMIC_RELAXED);
			gw->st->rejected_connections++;
			(void)!write(fd, msg, sizeof(msg) - 1);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			__atomic_fetch_sub(&gw->shm->conns, 1,
					   __ATOMIC_RELAXED);
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->gw = gw;
		c->fd = fd;
		c->mc.pub.settings = &gw->set;
		c->mc.pub.settings_rw = &gw->set;
		c->mc.stats = gw->st;
		c->mc.prefixes = gw->shm ? &gw->shm->prefixes : NULL;
		c->mc.conns = &gw->ctab;
		c->mc.rec = gw_rec_claim(gw, fd, true);
		c->w = (struct sk_watch){.fd = fd, .cb = gw_conn_cb};
		c->next = gw->conns;
		if (gw->conns)
			gw->conns->prev = c;
		gw->conns = c;
		gw->st->curr_connections++;
		gw->st->total_connections++;
		if (gw->verbose > 1)
			fprintf(stderr, "<%d new auto-negotiating client "
				"connection\n", fd);
		gw_conn_watch(c);
	}
}

static void gw_accept(struct gw *gw)
{
	unsigned i;

	for (i = 0; i < gw->nlisten; i++)
		gw_accept1(gw, gw->listen[i].w.fd);
}

/* ---- posting ---- */

/* A cachedump's buffer per owner: the entries of one round. */
#define GW_DUMP_BUF 8192u

static void gw_post_one(struct gw *gw, struct sk_kv_req *r);

/* The next class of a metadump's after the one walked, or 0. */
static unsigned gw_metadump_next(const struct mc_cmd *cmd)
{
	uint64_t rest = cmd->dump_class >= 64 ? 0 :
			cmd->dump_classes >> cmd->dump_class;

	if (rest == 0)
		return 0;
	return cmd->dump_class + (unsigned)__builtin_ctzll(rest) + 1;
}

/*
 * Take what the owners' DUMPs brought and ask those with more again,
 * while the answer wants more. A cachedump's: its limit of keys, or
 * MC_DUMP_MAX of lines, which the entries gathered fill once they are
 * twice it (an entry is 24 bytes, its key and up to 7 of padding; its
 * line "ITEM ", the key and at least 13: at most 32 bytes of entry for
 * 19 of line). A metadump's has no bound: each round's lines are written
 * at once, and when every owner is through a class the next class
 * starts; it waits (returns 2, dump_paused) while the connection has
 * GW_OUT_HIGH of output unread, and goes on when the client has read it
 * (gw_conn_turn). Returns 1 when some are out again, 0 when the walk is
 * over. A node that failed is left out, as its keys are in stats.
 */
static int gw_dump_more(struct gw *gw, struct gw_conn *c, struct mc_cmd *cmd)
{
	bool again = false;

	for (unsigned i = 0; i < cmd->ncore; i++) {
		struct sk_kv_req *r = &cmd->core_req[i];
		size_t off = 0;
		const uint8_t *key;

		if (r->status != SK_OK || r->res != SK_KV_OK) {
			r->cursor = 0;
			continue;
		}
		if (r->vlen) {
			uint8_t *nb = realloc(cmd->dump_buf,
					      cmd->dump_len + r->vlen);

			if (nb == NULL) {
				cmd->special_status = -1;
				return false;
			}
			memcpy(nb + cmd->dump_len, r->buf, r->vlen);
			cmd->dump_buf = nb;
			while (sk_kv_dump_next(r->buf, r->vlen, &off, &key))
				cmd->dump_n++;
			cmd->dump_len += r->vlen;
			r->vlen = 0;
		}
	}
	if (cmd->metadump) {
		mc_metadump_lines(&c->mc, cmd);
		cmd->dump_paused = c->mc.out_len >= GW_OUT_HIGH;
		if (cmd->dump_paused)
			return 2;
	}
	for (unsigned i = 0; i < cmd->ncore; i++) {
		struct sk_kv_req *r = &cmd->core_req[i];

		if (r->cursor == 0 || !r->done)
			continue;
		if (!cmd->metadump &&
		    ((cmd->dump_limit && cmd->dump_n >= cmd->dump_limit) ||
		     cmd->dump_len >= MC_DUMP_MAX * 2)) {
			r->cursor = 0;
			continue;
		}
		gw_post_one(gw, r);
		again = true;
	}
	if (again || !cmd->metadump)
		return again;
	/* Every owner is through this class: the next one, from the
	 * start, on every owner. */
	cmd->dump_class = gw_metadump_next(cmd);
	if (cmd->dump_class == 0 || cmd->dump_class > SK_KV_CLASSES_MAX)
		return 0;
	for (unsigned i = 0; i < cmd->ncore; i++) {
		struct sk_kv_req *r = &cmd->core_req[i];

		r->cls = cmd->dump_class - 1;
		r->cursor = 0;
		gw_post_one(gw, r);
	}
	return 1;
}

/*
 * The requests of @cmd the core adds, one per owner: flush_all; the
 * owners' figures for stats, or their size classes for stats items and
 * slabs; stats cachedump's DUMP of kv's class dump_class - 1 (1 is kv's
 * first, as memcached numbers its classes; 0 and those past kv's have no
 * item: END at once), which gw_dump_more asks again until it has enough.
 */
static int gw_cmd_special(struct gw *gw, struct mc_cmd *cmd)
{
	unsigned n = gw->size - gw->first_owner;
	enum sk_kv_cmd kind;
	size_t cap = 0;

	if (cmd->special == MC_SP_FLUSH) {
		kind = SK_KV_CMD_FLUSH;
	} else if (cmd->special != MC_SP_STATS) {
		return 0;
	} else if (cmd->dump) {
		if (cmd->dump_class == 0 ||
		    cmd->dump_class > SK_KV_CLASSES_MAX)
			return 0;
		kind = SK_KV_CMD_DUMP;
		cap = GW_DUMP_BUF;
	} else if (strcmp(cmd->stats_group, "items") == 0 ||
		   strcmp(cmd->stats_group, "slabs") == 0) {
		kind = SK_KV_CMD_CLASS_STATS;
		cap = SK_KV_CLASSES_MAX * sizeof(struct sk_kv_class_stats);
	} else if (cmd->stats_group[0] == '\0' ||
		   strcmp(cmd->stats_group, "skiff") == 0 ||
		   strcmp(cmd->stats_group, "reset") == 0) {
		kind = SK_KV_CMD_OWNER_STATS;
		cap = sizeof(struct sk_kv_owner_stats);
	} else {
		return 0; /* settings, sizes, or unknown: nothing to ask */
	}
	cmd->core_req = calloc(n, sizeof(*cmd->core_req));
	if (cmd->core_req == NULL)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct sk_kv_req *r = &cmd->core_req[i];

		r->rank = gw->first_owner + i;
		r->cmd = kind;
		if (kind == SK_KV_CMD_FLUSH)
			r->exptime = cmd->flush_delay;
		if (kind == SK_KV_CMD_DUMP)
			r->cls = cmd->dump_class - 1;
		r->cap = cap;
		if (cap && (r->buf = calloc(1, cap)) == NULL) {
			cmd->ncore = i;
			return -1;
		}
	}
	cmd->ncore = n;
	return 0;
}

static struct sk_kv_req *gw_req_at(struct mc_cmd *cmd, unsigned i)
{
	return i < cmd->nreq ? &cmd->req[i] : &cmd->core_req[i - cmd->nreq];
}

/* A read that must not be asked twice (a gat, an mg): its buffer is
 * whole from the start. */
static bool gw_req_once(const struct sk_kv_req *r)
{
	return r->cmd == SK_KV_CMD_GAT ||
	       (r->cmd == SK_KV_CMD_GET && r->meta != 0);
}

static void gw_post_one(struct gw *gw, struct sk_kv_req *r)
{
	sk_status_t st;

	/* A GET's value buffer starts small and regrows (gw_regrow); a
	 * gat's is whole at once, since a gat asked again would touch again,
	 * and the first touch may have expired the item; so is an mg's (a
	 * GET with meta), which may win a token the second ask would see
	 * taken. */
	if (gw_req_once(r) && r->buf == NULL) {
		r->buf = malloc(gw->set.item_max);
		r->cap = r->buf ? gw->set.item_max : 0;
	} else if (r->cmd == SK_KV_CMD_GET && r->buf == NULL && gw->get_hint) {
		r->buf = malloc(gw->get_hint);
		r->cap = r->buf ? gw->get_hint : 0;
	} else if (r->cmd == SK_KV_CMD_GET && r->buf == NULL) {
		r->buf = gw->nbufs ? gw->bufs[--gw->nbufs]
				   : malloc(GW_BUF_FIRST);
		r->cap = r->buf ? GW_BUF_FIRST : 0;
	}
	r->done = 0;
	st = sk_kv_post(gw->kv, r);
	if (st != SK_OK) {
		r->status = st;
		r->done = 1;
		return;
	}
	/* Done in its post (a copy of an owner's mapped region, an answer
	 * kv gave at once) or in flight, which kv's progress counts down. */
	if (!r->done)
		gw->inflight++;
}

/* Post what waits, within kv's bound on requests in flight. Whether any
 * command it finished posting is done already (its answer is due). */
static bool gw_post(struct gw *gw)
{
	struct mc_cmd *cmd;
	bool due = false;

	while ((cmd = gw->post_head) != NULL) {
		unsigned total = cmd->nreq + cmd->ncore;

		while (cmd->nposted < total &&
		       gw->inflight < SK_KV_INFLIGHT_MAX)
			gw_post_one(gw, gw_req_at(cmd, cmd->nposted++));
		if (cmd->nposted < total)
			return due;
		due |= gw_cmd_quiet(cmd);
		gw->post_head = cmd->post_next;
		if (gw->post_head == NULL)
			gw->post_tail = NULL;
	}
	return due;
}

static void gw_post_queue(struct gw *gw, struct mc_cmd *cmd)
{
	cmd->post_next = NULL;
	if (gw->post_tail)
		gw->post_tail->post_next = cmd;
	else
		gw->post_head = cmd;
	gw->post_tail = cmd;
}

/* Whether @r only reads: a GET without meta (an mg's may win a token or
 * create the item). */
static bool gw_req_reads(const struct sk_kv_req *r)
{
	return r->cmd == SK_KV_CMD_GET && r->meta == 0;
}

/*
 * Must @x wait for @y, an earlier command of the same connection still in
 * flight? When they touch a key in common and one of them changes it,
 * or when either is flush_all or stats (which see every key).
 */
static bool gw_cmd_conflict(const struct mc_cmd *x, const struct mc_cmd *y)
{
	if (x->special != MC_SP_NONE || y->special != MC_SP_NONE)
		return true;
	for (unsigned i = 0; i < x->nreq; i++) {
		const struct sk_kv_req *a = &x->req[i];

		for (unsigned j = 0; j < y->nreq; j++) {
			const struct sk_kv_req *b = &y->req[j];

			if ((!gw_req_reads(a) || !gw_req_reads(b)) &&
			    a->klen == b->klen &&
			    memcmp(a->key, b->key, a->klen) == 0)
				return true;
		}
	}
	return false;
}

/*
 * Post the commands of @c whose turn has come. memcached runs a
 * connection's commands one after the other, and a client may pipeline
 * "set k" and "get k": kv does not order requests in flight together
 * (kv.h). So a command waits for the earlier ones not yet answered that
 * it conflicts with (a key in common that one of them changes; flush_all
 * and stats wait for all, and all for them); the rest go together: a
 * pipelined run of gets, or of sets of different keys, reaches every
 * owner at once, and what the client sees is what one after the other
 * would give it. Answered, not just done: a command's finish may post
 * another round (ma's N adds the item its incr missed, ma's T touches
 * it, binary incr adds its initial value, a GET asks again with a larger
 * buffer, a SET refused for room is retried), and until it has answered,
 * a later command of its key would overtake that round (a pipelined
 * "ma k N0" and "get k" missed the new item half the time). Commands
 * keep their order of posting, so a command waits, too, behind an
 * earlier one that is itself waiting.
 */
static void gw_conn_dispatch(struct gw *gw, struct gw_conn *c)
{
	for (struct mc_cmd *cmd = c->head; cmd; cmd = cmd->next) {
		if (cmd->dispatched)
			continue;
		for (struct mc_cmd *y = c->head; y != cmd; y = y->next)
			if (gw_cmd_conflict(cmd, y))
				return;
		cmd->dispatched = 1;
		if (cmd->nreq + cmd->ncore)
			gw_post_queue(gw, cmd);
	}
}

/* ---- answers ---- */

/* The field at @off summed over the gateways' slots (each written by
 * its own gateway alone: read as it is now). */
static uint64_t gw_sum(struct gw *gw, size_t off)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < gw->first_owner; i++)
		sum += __atomic_load_n(
			(uint64_t *)((char *)&gw->shm->slot[i] + off),
			__ATOMIC_RELAXED);
	return sum;
}

/* Add the CPU gateway process @pid has used, from /proc/PID/stat (its
 * utime and stime, in clock ticks); nothing where that cannot be read. */
static void gw_proc_cpu(uint32_t pid, uint64_t *user_us, uint64_t *sys_us)
{
	unsigned long long ut, st;
	long hz = sysconf(_SC_CLK_TCK);
	char path[48], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: the fields
	 * start after its last ')'. utime and stime are the 14th and 15th. */
	p = strrchr(buf, ')');
	if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u "
				       "%*u %*u %llu %llu", &ut, &st) != 2)
		return;
	*user_us += ut * 1000000ull / (unsigned long long)hz;
	*sys_us += st * 1000000ull / (unsigned long long)hz;
}

/* rusage_user and rusage_system: the CPU of the server's processes, the
 * gateways (memcached's is its one process's; the cache nodes' is not
 * counted, as memcached's storage is no process of its own). This one's
 * by getrusage, the others' from /proc. */
static void gw_stats_cpu(struct gw *gw, struct mc_stats *v)
{
	struct rusage ru;

	v->cpu_user_us = v->cpu_system_us = 0;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		v->cpu_user_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 +
				 (uint64_t)ru.ru_utime.tv_usec;
		v->cpu_system_us = (uint64_t)ru.ru_stime.tv_sec * 1000000 +
				   (uint64_t)ru.ru_stime.tv_usec;
	}
	for (unsigned i = 0; gw->shm != NULL && i < gw->first_owner; i++) {
		uint32_t pid = gw->shm->slot[i].gw_pid;

		if (pid != 0 && pid != gw->st->gw_pid)
			gw_proc_cpu(pid, &v->cpu_user_us, &v->cpu_system_us);
	}
}

/* The server's stats as `stats` prints them: this gateway's, with the
 * counters and connections of every gateway since the last reset. */
static void gw_stats_view(struct gw *gw, struct mc_stats *v)
{
	*v = *gw->st;
	gw_stats_cpu(gw, v);
	if (gw->shm == NULL)
		return;
	for (unsigned k = 0; k < mc_stats_ncounters; k++) {
		uint64_t sum = gw_sum(gw, mc_stats_counters[k]);
		uint64_t base = __atomic_load_n(
			mc_stats_counter(&gw->shm->base, k), __ATOMIC_RELAXED);

		*mc_stats_counter(v, k) = sum > base ? sum - base : 0;
	}
	v->curr_connections =
		gw_sum(gw, offsetof(struct mc_stats, curr_connections));
}

/* `stats reset` was answered (mc_stats_reset took each node's figures as
 * its new zero, in gw->st->node): the zero for every gateway. */
static void gw_stats_reset(struct gw *gw)
{
	if (gw->shm == NULL)
		return;
	mc_prefix_clear(&gw->shm->prefixes);
	for (unsigned k = 0; k < mc_stats_ncounters; k++)
		__atomic_store_n(mc_stats_counter(&gw->shm->base, k),
				 gw_sum(gw, mc_stats_counters[k]),
				 __ATOMIC_RELAXED);
	for (unsigned i = 0; i < gw->st->nnode; i++) {
		const struct mc_node_stats *n = &gw->st->node[i];
		unsigned idx = n->rank - gw->first_owner;

		if (n->status != 0 || idx >= GW_NODES_MAX)
			continue;
		__atomic_store_n(&gw->shm->node_base[idx].evictions,
				 n->evictions_base, __ATOMIC_RELAXED);
		__atomic_store_n(&gw->shm->node_base[idx].expired,
				 n->expired_base, __ATOMIC_RELAXED);
	}
}

/*
 * A finished command's counts, as memcached keeps them: a hit or a miss
 * only where the item was found or not (an incr of a non-number, a bad
 * key or an unreachable owner is neither); `me` is cmd_meta alone.
 */
static void gw_count(struct gw *gw, const struct mc_cmd *cmd)
{
	struct mc_stats *s = gw->st;

	if (cmd->meta_debug) {
		s->cmd_meta++;
		return;
	}
	if (cmd->too_large) {
		s->store_too_large++;
		return;
	}
	for (unsigned i = 0; i < cmd->nreq; i++) {
		const struct sk_kv_req *r = &cmd->req[i];
		enum sk_kv_res res = r->status == SK_OK ? r->res : SK_KV_EFORMAT;
		bool miss = r->status == SK_OK && res == SK_KV_NOT_FOUND;

		switch (r->cmd) {
		case SK_KV_CMD_GET:
		case SK_KV_CMD_GAT:
			s->cmd_get++;
			if (r->cmd == SK_KV_CMD_GAT)
				s->cmd_touch++;
			if (res == SK_KV_OK)
				s->get_hits++;
			else if (miss)
				s->get_misses++;
			break;
		case SK_KV_CMD_STORE:
			s->cmd_set++;
			if (res == SK_KV_STORED)
				s->total_items++;
			else if (res == SK_KV_ETOOLARGE)
				s->store_too_large++;
			else if (res == SK_KV_ENOMEM)
				s->store_no_memory++;
			if (r->op != SK_KV_CAS)
				break;
			if (res == SK_KV_STORED)
				s->cas_hits++;
			else if (res == SK_KV_EXISTS)
				s->cas_badval++;
			else if (miss)
				s->cas_misses++;
			break;
		case SK_KV_CMD_DELETE:
			if (res == SK_KV_DELETED)
				s->delete_hits++;
			else if (miss)
				s->delete_misses++;
			break;
		case SK_KV_CMD_INCR:
			if (res == SK_KV_OK)
				s->incr_hits++;
			else if (miss)
				s->incr_misses++;
			break;
		case SK_KV_CMD_DECR:
			if (res == SK_KV_OK)
				s->decr_hits++;
			else if (miss)
				s->decr_misses++;
			break;
		case SK_KV_CMD_TOUCH:
			s->cmd_touch++;
			if (res == SK_KV_TOUCHED)
				s->touch_hits++;
			else if (miss)
				s->touch_misses++;
			break;
		default:
			break;
		}
	}
	if (cmd->special == MC_SP_FLUSH)
		s->cmd_flush++;
}

/* The owners' size classes, summed class by class (every owner has the
 * same ones) for `stats items` and `stats slabs`; a dead node's are not
 * there, as in `stats`. */
static void gw_sum_classes(struct gw *gw, struct mc_cmd *cmd)
{
	struct mc_stats *s = gw->st;

	memset(s->cls, 0, SK_KV_CLASSES_MAX * sizeof(*s->cls));
	s->ncls = 0;
	for (unsigned i = 0; i < cmd->ncore; i++) {
		const struct sk_kv_req *r = &cmd->core_req[i];
		const struct sk_kv_class_stats *k = r->buf;

		if (r->status != SK_OK || r->res != SK_KV_OK)
			continue;
		for (unsigned c = 0; c < r->vlen && c < SK_KV_CLASSES_MAX;
		     c++)
			sk_kv_class_stats_add(&s->cls[c], &k[c]);
		if (r->vlen > s->ncls)
			s->ncls = (unsigned)r->vlen;
	}
}

/* The owners' figures, summed into the stats the parser prints. A dead
 * node does not fail stats: the sums are the live nodes' (skiff_nodes
 * counts them) and `stats skiff` says which one is unreachable. */
static void gw_sum_owners(struct gw *gw, struct mc_cmd *cmd)
{
	struct mc_stats *s = gw->st;

	if (cmd->ncore && cmd->core_req[0].cmd == SK_KV_CMD_CLASS_STATS) {
		gw_sum_classes(gw, cmd);
		return;
	}
	s->curr_items = s->bytes = s->evictions = s->expired = 0;
	s->nodes = 0;
	s->nnode = 0;
	for (unsigned i = 0; i < cmd->ncore; i++) {
		const struct sk_kv_req *r = &cmd->core_req[i];
		const struct sk_kv_owner_stats *o = r->buf;
		struct mc_node_stats *n = &s->node[s->nnode++];

		n->rank = r->rank;
		n->status = r->status == SK_OK && r->res == SK_KV_OK ? 0 : -1;
		if (n->status != 0)
			continue;
		n->o = *o;
		if (gw->shm && n->rank - gw->first_owner < GW_NODES_MAX) {
			unsigned idx = n->rank - gw->first_owner;

			n->evictions_base = __atomic_load_n(
				&gw->shm->node_base[idx].evictions,
				__ATOMIC_RELAXED);
			n->expired_base = __atomic_load_n(
				&gw->shm->node_base[idx].expired,
				__ATOMIC_RELAXED);
		}
		s->nodes++;
		s->curr_items += o->items;
		s->bytes += o->bytes;
		/* Since the last reset (a node's figures only grow). */
		s->evictions += o->evictions - (o->evictions < n->evictions_base ?
						o->evictions : n->evictions_base);
		s->expired += o->expired - (o->expired < n->expired_base ?
					    o->expired : n->expired_base);
	}
}

/*
 * A GET whose value was longer than its buffer: a larger one, and again
 * (the value may have changed meanwhile: it goes round until it fits).
 * Returns true when @cmd has requests out again.
 */
static bool gw_regrow(struct gw *gw, struct mc_cmd *cmd)
{
	bool again = false;

	for (unsigned i = 0; i < cmd->nreq; i++) {
		struct sk_kv_req *r = &cmd->req[i];
		void *nb;

		if ((r->cmd != SK_KV_CMD_GET && r->cmd != SK_KV_CMD_GAT) ||
		    r->status != SK_OK || r->res != SK_KV_OK)
			continue;
		if (gw_req_once(r)) {
			/* Longer than -I (stored by another way in): not
			 * asked twice (gw_post_one). */
			if (r->vlen > r->cap)
				r->status = SK_ERR_NOMEM;
			continue;
		}
		if (r->cmd == SK_KV_CMD_GET && r->vlen > GW_BUF_FIRST) {
			gw->get_short = 0;
			if (r->vlen > gw->get_hint)
				gw->get_hint = r->vlen;
		} else if (r->cmd == SK_KV_CMD_GET && gw->get_hint &&
			   ++gw->get_short == GW_HINT_SHORT) {
			gw->get_hint = 0;
			gw->get_short = 0;
		}
		if (r->vlen <= r->cap)
			continue;
		nb = realloc(r->buf, r->vlen);
		if (nb == NULL) {
			r->status = SK_ERR_NOMEM;
			continue;
		}
		r->buf = nb;
		r->cap = r->vlen;
		gw_post_one(gw, r);
		again = true;
	}
	return again;
}

static uint64_t gw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * An update an owner refused for want of memory. Its quarantine holds the
 * items recent overwrites retired, for Q (100 ms, kv/README.md "Quarantine"),
 * where memcached would reuse their memory at once: so a burst of large
 * overwrites can find a partition full for a moment. The update is asked
 * again every GW_RETRY_NS, for two quarantines' time, before the client
 * is told (a table full for good, with -M, answers that much later).
 * Returns true when @cmd waits for its retry.
 */
static bool gw_retry(struct gw *gw, struct mc_cmd *cmd)
{
	bool again = false;

	if (cmd->retries >= GW_RETRY_MAX)
		return false;
	for (unsigned i = 0; i < cmd->nreq; i++) {
		struct sk_kv_req *r = &cmd->req[i];

		if (r->status == SK_OK && (r->res == SK_KV_ENOMEM ||
					   r->res == SK_KV_ENOMEM_DELTA)) {
			r->done = 0; /* posted again by gw_retry_due */
			again = true;
		}
	}
	if (!again)
		return false;
	cmd->retries++;
	cmd->retry_at = gw_now_ns() + GW_RETRY_NS;
	cmd->retry_next = gw->retry;
	gw->retry = cmd;
	return true;
}

/* Post the retries that are due. */
static void gw_retry_due(struct gw *gw)
{
	struct mc_cmd **pp = &gw->retry, *cmd;
	uint64_t now;

	if (gw->retry == NULL)
		return;
	now = gw_now_ns();
	while ((cmd = *pp) != NULL) {
		if (cmd->retry_at > now) {
			pp = &cmd->retry_next;
			continue;
		}
		*pp = cmd->retry_next;
		for (unsigned i = 0; i < cmd->nreq; i++)
			if (!cmd->req[i].done)
				gw_post_one(gw, &cmd->req[i]);
	}
}

/* Answer the commands at @c's head that are complete, in order. */
static void gw_conn_answer(struct gw *gw, struct gw_conn *c)
{
	struct mc_cmd *cmd;

	while ((cmd = c->head) != NULL && gw_cmd_quiet(cmd)) {
		/* A GET asked again with a larger buffer is often done in
		 * its post (a copy of the owner's mapped region): answered
		 * now, not at the loop's next wake-up, which nothing may
		 * bring for a while. */
		if (!c->dead && gw_regrow(gw, cmd)) {
			if (gw_cmd_quiet(cmd))
				continue;
			return;
		}
		if (!c->dead && gw_retry(gw, cmd))
			return;
		if (!c->dead && cmd->dump) {
			int more = gw_dump_more(gw, c, cmd);

			if (more == 2)
				return; /* the client reads first */
			if (more == 1) {
				if (gw_cmd_quiet(cmd))
					continue;
				return;
			}
		}
		if (!c->dead) {
			struct mc_stats view;
			int again;

			if (cmd->special == MC_SP_STATS && !cmd->dump) {
				if (cmd->ncore)
					gw_sum_owners(gw, cmd);
				gw_stats_view(gw, &view);
				c->mc.stats = &view;
			} else if (cmd->special == MC_SP_FLUSH) {
				for (unsigned i = 0; i < cmd->ncore; i++)
					if (cmd->core_req[i].status != SK_OK)
						cmd->special_status = -1;
			}
			again = cmd->finish(&c->mc, cmd);
			c->mc.stats = gw->st;
			if (cmd->special == MC_SP_STATS &&
			    strcmp(cmd->stats_group, "reset") == 0)
				gw_stats_reset(gw);
			if (again == 1) {
				/* Another round: re-post what it re-armed. */
				for (unsigned i = 0; i < cmd->nreq; i++)
					if (!cmd->req[i].done)
						gw_post_one(gw, &cmd->req[i]);
				continue;
			}
			gw_count(gw, cmd);
			if (cmd->close_after)
				c->closing = true;
		}
		c->head = cmd->next;
		if (c->head == NULL)
			c->tail = NULL;
		c->ncmds--;
		gw_cmd_release(gw, cmd);
	}
}

/* ---- a connection's turn ---- */

static void gw_conn_read(struct gw *gw, struct gw_conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->in_cap - c->in_len < GW_READ_MIN) {
			size_t cap = c->in_cap ? c->in_cap * 2 : GW_READ_MIN * 2;
			char *p;

			while (cap - c->in_len < GW_READ_MIN)
				cap *= 2;
			p = realloc(c->in, cap);
			if (p == NULL) {
				gw_conn_close(c);
				return;
			}
			c->in = p;
			c->in_cap = cap;
		}
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n > 0) {
			gw->st->bytes_read += (uint64_t)n;
			if (c != gw->last_conn) {
				if (gw->last_conn != NULL)
					gw->switch_ns = gw_now_ns();
				gw->last_conn = c;
			}
			/* Bytes a refused value still owes are dropped. */
			if (c->mc.pub.swallow) {
				size_t k = c->mc.pub.swallow < (size_t)n ?
						   c->mc.pub.swallow : (size_t)n;

				memmove(c->in + c->in_len, c->in + c->in_len + k,
					(size_t)n - k);
				c->mc.pub.swallow -= k;
				n -= (ssize_t)k;
			}
			c->in_len += (size_t)n;
			/* One read at a time when it filled the buffer: the
			 * parser may take a command before the next. */
			return;
		}
		if (n == 0) {
			c->eof = true;
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			gw_conn_close(c);
		return;
	}
}

static void gw_conn_parse(struct gw *gw, struct gw_conn *c)
{
	size_t off = 0;
	bool cut = false;

	while (!c->dead && !c->closing && !c->last_cut && off < c->in_len &&
	       c->ncmds < GW_CMDS_MAX && c->mc.out_len < GW_OUT_HIGH &&
	       c->mc.pub.swallow == 0) {
		struct mc_cmd *cmd = NULL;
		ssize_t n;

		if (c->mc.pub.proto == 0)
			c->mc.pub.proto = (unsigned char)c->in[off] == 0x80 ?
						  'B' : 'T';
		if (c->mc.pub.proto == 'B')
			n = mc_bin_parse(&c->mc, c->in + off, c->in_len - off,
					 &cmd);
		else
			n = mc_text_parse(&c->mc, c->in + off,
					  c->in_len - off, &cmd);
		if (n < 0) {
			/* Not even an error answer could be made. */
			gw_conn_close(c);
			return;
		}
		if (n == 0 || cmd == NULL)
			break;
		off += (size_t)n;
		cut = true;
		if (gw_cmd_special(gw, cmd) != 0) {
			/* No memory for the owners' requests. */
			gw_cmd_release(gw, cmd);
			mc_outf(&c->mc, "SERVER_ERROR out of memory\r\n");
			c->closing = true;
			break;
		}
		cmd->next = NULL;
		if (c->tail)
			c->tail->next = cmd;
		else
			c->head = cmd;
		c->tail = cmd;
		c->ncmds++;
		if (cmd->close_after) {
			/* Nothing after quit or a fatal error. */
			c->last_cut = true;
			break;
		}
	}
	/* A refused value whose bytes were here already: drop them now. */
	if (c->mc.pub.swallow && off < c->in_len) {
		size_t k = c->in_len - off < c->mc.pub.swallow ?
				   c->in_len - off : c->mc.pub.swallow;

		off += k;
		c->mc.pub.swallow -= k;
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	/* stats conns: the last command's time; waiting for a value's
	 * bytes (a whole line, or a binary header, here) or for a command */
	if (c->mc.rec >= 0) {
		struct mc_conn_rec *r = &gw->ctab.rec[c->mc.rec];
		bool nread = c->mc.pub.proto == 'B'
				     ? c->in_len >= 24
				     : c->in_len && memchr(c->in, '\n', c->in_len);

		/* (the kernel's coarse seconds: time(2) costs a tenth of
		 * mc_unix_now's clock, here on every request; memcached's
		 * own current_time is a second's tick too) */
		if (cut)
			__atomic_store_n(&r->last_cmd, (uint64_t)time(NULL),
					 __ATOMIC_RELAXED);
		__atomic_store_n(&r->state, nread ? MC_CS_NREAD : MC_CS_READ,
				 __ATOMIC_RELAXED);
	}
	/* Answered and idle: give a large buffer back. */
	if (c->in_len == 0 && c->in_cap > 4 * GW_READ_MIN) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

static void gw_conn_write(struct gw *gw, struct gw_conn *c)
{
	while (c->mc.out_len) {
		ssize_t n = send(c->fd, c->mc.out, c->mc.out_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			gw->st->bytes_written += (uint64_t)n;
			mc_out_consume(&c->mc, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			gw_conn_close(c);
		return;
	}
}

static void gw_conn_turn(struct gw *gw, struct gw_conn *c)
{
	unsigned ev = c->revents;

	c->revents = 0;
	if (!c->dead && (ev & (POLLIN | POLLHUP | POLLERR)))
		gw_conn_read(gw, c);
	if (!c->dead)
		gw_conn_parse(gw, c);
	gw_conn_dispatch(gw, c);
	gw_conn_answer(gw, c);
	if (!c->dead)
		gw_conn_parse(gw, c); /* room again after answers */
	gw_conn_dispatch(gw, c);
	if (!c->dead)
		gw_conn_write(gw, c);
	/* A metadump that waited for the client to read goes on once it
	 * has (its next round's lines then follow these). */
	if (!c->dead && c->head != NULL && c->head->dump_paused &&
	    c->mc.out_len < GW_OUT_HIGH) {
		gw_conn_answer(gw, c);
		gw_conn_write(gw, c);
	}
	if (!c->dead && c->mc.out_failed)
		gw_conn_close(c);
	if (!c->dead && c->mc.out_len == 0 &&
	    (c->closing || (c->eof && c->head == NULL)))
		gw_conn_close(c);
	if (!c->dead)
		gw_conn_watch(c);
}

/* ---- the gateway's loop ---- */

static void gw_listen_cb(struct sk_watch *w, unsigned revents)
{
	struct gw_listener *l = (struct gw_listener *)w;

	(void)revents;
	l->gw->accept_ready = true;
}

/* SIGTERM and SIGINT, in whichever thread they land (libos and the
 * provider have threads of their own, started before main could block
 * the signals): the handler only wakes the loop. */
static int gw_sig_efd = -1;

static void gw_sig_handler(int sig)
{
	uint64_t one = 1;
	int saved = errno;

	(void)sig;
	(void)!write(gw_sig_efd, &one, sizeof(one));
	errno = saved;
}

static void gw_sig_cb(struct sk_watch *w, unsigned revents)
{
	struct gw *gw = (struct gw *)((char *)w - offsetof(struct gw, sw));
	uint64_t n;

	(void)revents;
	if (read(gw->sig_fd, &n, sizeof(n)) == sizeof(n))
		gw->stop = true;
}

/* One pass over everything that may go on: new connections, the sockets
 * that spoke, the commands whose requests finished. */
static void gw_run(struct gw *gw)
{
	struct gw_conn *c, *next;

	if (gw->accept_ready) {
		gw->accept_ready = false;
		gw_accept(gw);
	}
	while ((c = gw->ready) != NULL) {
		gw->ready = c->next_ready;
		c->queued = false;
		gw_conn_turn(gw, c);
	}
	gw_post(gw);
	for (c = gw->conns; c; c = next) {
		next = c->next;
		if (c->head)
			gw_conn_turn(gw, c);
		if (c->dead && c->head == NULL)
			gw_conn_free(c);
	}
}

/*
 * Requests done since the last pass. kv's progress counts those done in
 * their post too, which the gateway never counted in flight; so it asks
 * kv only while some are, and then recounts them from the commands
 * (cheap next to the progress pass itself).
 */
static void gw_progress(struct gw *gw)
{
	unsigned n = 0;

	if (gw->inflight == 0)
		return;
	(void)sk_kv_progress(gw->kv);
	for (struct gw_conn *c = gw->conns; c; c = c->next)
		for (struct mc_cmd *cmd = c->head; cmd; cmd = cmd->next) {
			if (!cmd->dispatched)
				break;
			for (unsigned i = 0; i < cmd->nposted; i++) {
				struct sk_kv_req *r = i < cmd->nreq ?
					&cmd->req[i] :
					&cmd->core_req[i - cmd->nreq];

				n += !r->done;
			}
		}
	gw->inflight = n;
}

/* Listen on every address (listen.h) beside the other gateways. */
static int gw_listen(struct gw *gw, const struct gw_opts *o)
{
	int fds[MC_LISTEN_MAX], n, i;
	char err[256];

	n = mc_listen(o->listen, o->port, true, fds, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "skcached: %s\n", err);
		return -1;
	}
	for (i = 0; i < n; i++) {
		gw->listen[i] = (struct gw_listener){
			.w = {.fd = fds[i], .events = POLLIN,
			      .cb = gw_listen_cb},
			.gw = gw,
		};
		(void)gw_rec_claim(gw, fds[i], false);
		sk_watch_start(gw->loop, &gw->listen[i].w);
	}
	gw->nlisten = (unsigned)n;
	return 0;
}

/* The segment the gateways share (struct gw_shm); this gateway's stats
 * move to its slot. */
static int gw_shared(struct gw *gw)
{
	struct gw_shm *shm;
	int fd;

	snprintf(gw->shm_name, sizeof(gw->shm_name), "/skcached.%d.conns",
		 (int)getppid());
	gw->shm_size = sizeof(struct gw_shm) +
		       (gw->conns_max + GW_LISTEN_RECS) *
			       sizeof(struct mc_conn_rec);
	fd = shm_open(gw->shm_name, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)gw->shm_size) != 0) {
		fprintf(stderr, "skcached: shm %s: %s\n", gw->shm_name,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	shm = mmap(NULL, gw->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   0);
	close(fd);
	if (shm == MAP_FAILED)
		return -1;
	gw->shm = shm;
	gw->ctab = (struct mc_conn_table){
		.rec = (struct mc_conn_rec *)(shm + 1),
		.n = (unsigned)(gw->conns_max + GW_LISTEN_RECS),
	};
	shm->slot[sk_os_rank()] = *gw->st;
	gw->st = &shm->slot[sk_os_rank()];
	return 0;
}

/* Contact every owner before listening (kv's first contact blocks). */
static int gw_contact(struct gw *gw)
{
	unsigned n = gw->size - gw->first_owner;
	struct sk_kv_owner_stats os;
	int bad = 0;

	for (unsigned i = 0; i < n; i++) {
		struct sk_kv_req r = {.cmd = SK_KV_CMD_OWNER_STATS,
				      .rank = gw->first_owner + i,
				      .buf = &os, .cap = sizeof(os)};

		if (sk_kv_batch(gw->kv, &r, 1) != SK_OK || r.status != SK_OK) {
			fprintf(stderr, "skcached: cache node %u: %s\n",
				r.rank, sk_status_str(r.status));
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/*
 * Whether the gateway spins before it sleeps: only while requests come on
 * more than one connection, a request on another one in the last
 * GW_SPIN_SPAN spins. Then the next request (another connection's) comes
 * inside the spin, and catching it saves a wake-up on each side (the
 * load generator's too: README.md, "Why the gateways spin"). One client
 * connection's next request comes only after its round trip, which a
 * spin would fill with a busy core: the gateway sleeps at once, as
 * memcached's threads do, and costs what they cost per request.
 */
#define GW_SPIN_SPAN 4u

static bool gw_spins(const struct gw *gw, const struct gw_opts *o)
{
	return o->spin_us > 0 && gw->last_conn != NULL &&
	       gw_now_ns() - gw->switch_ns <
		       (uint64_t)GW_SPIN_SPAN * o->spin_us * 1000u;
}

static int gw_serve(struct gw *gw, const struct gw_opts *o)
{
	struct gw_conn *c;
	unsigned i;
	bool due = false;

	if (gw_shared(gw) != 0 || gw_contact(gw) != 0)
		return 1;
	/* A gateway's work comes from TCP: while more than one connection
	 * sends (gw_spins), it polls its sockets on every turn for --spin-us
	 * after its last event before it sleeps (their next request comes
	 * sooner than a wake-up would). A cache node sleeps at once
	 * (SKIFF_LOOP_SPIN_US, 0 from skcached). */
	sk_loop_set_spin(gw->loop, o->spin_us, 0);
	if (gw_listen(gw, o) != 0)
		return 1;
	if (sk_os_rank() == 0 && gw->verbose)
		fprintf(stderr, "skcached: serving on port %u: %u gateways, "
			"%u cache nodes, %lu MiB\n", o->port,
			gw->first_owner, gw->size - gw->first_owner,
			o->mem_mb);
	while (!gw->stop) {
		int wait = due ? 0 : gw->inflight || gw->retry ? 1 : -1;
		int rc = wait == 0 || gw_spins(gw, o) ?
				 sk_loop_run_once(gw->loop, wait) :
				 sk_loop_wait_once(gw->loop, wait);

		if (rc < 0)
			break;
		gw_progress(gw);
		gw_retry_due(gw);
		gw_run(gw);
		/* What waited for room in kv: one done in its post is
		 * answered on the next pass, which must not sleep. */
		due = gw_post(gw);
	}
	/* SIGTERM: no new connection, none served further; what kv still
	 * has in flight finishes before kv closes. */
	for (i = 0; i < gw->nlisten; i++) {
		sk_watch_stop(gw->loop, &gw->listen[i].w);
		close(gw->listen[i].w.fd);
	}
	for (c = gw->conns; c; c = c->next)
		gw_conn_close(c);
	gw->retry = NULL; /* their connections are closed */
	while (gw->inflight) {
		if (sk_loop_run_once(gw->loop, 1) < 0)
			break;
		gw_progress(gw);
	}
	while ((c = gw->conns) != NULL) {
		while (c->head) {
			struct mc_cmd *cmd = c->head;

			c->head = cmd->next;
			gw_cmd_release(gw, cmd);
		}
		gw_conn_free(c);
	}
	while (gw->nbufs)
		free(gw->bufs[--gw->nbufs]);
	return 0;
}

/* A cache node: serve the partitions until SIGTERM. */
static int gw_cache(struct gw *gw)
{
	while (!gw->stop)
		if (sk_loop_run_once(gw->loop, -1) < 0)
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct gw gw = {.sig_fd = -1};
	static struct mc_stats gw_own_stats;
	struct sk_kv_attr attr;
	struct sk_dev_attr dattr;
	struct sigaction sa = {.sa_handler = gw_sig_handler};
	struct gw_opts o;
	struct sk_rpc *rpc;
	sk_status_t st;
	int rc;

	if (gw_parse(argc, argv, &o) != 0) {
		fprintf(stderr, "skcached-node: started by skcached only "
			"(see skcached -h)\n");
		return 2;
	}
	/* A GET of a large value takes a buffer as large, and its answer
	 * another, each freed when written: glibc gave such blocks back to
	 * the system on free (mmap, or a trim of the heap's top) and the
	 * next GET faulted every page in again (a fifth of the gateway's
	 * time on 500 KB values). Keep freed memory for reuse, up to -I's
	 * scale. */
	mallopt(M_MMAP_THRESHOLD, (int)(o.item_max < (32u << 20) ?
					 2 * o.item_max + 4096 : 32u << 20));
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	gw.size = sk_os_size();
	gw.first_owner = o.gateways;
	if (gw.size <= o.gateways) {
		fprintf(stderr, "skcached-node: %u ranks for %u gateways: no "
			"cache node\n", gw.size, o.gateways);
		return 2;
	}
	gw.set = (struct mc_settings){.item_max = o.item_max,
				      .verbose = (int)o.verbose,
				      .cas_enabled = 1,
				      .tcpport = o.port,
				      .inter = o.listen};
	gw.verbose = o.verbose;
	gw.conns_max = o.conns;
	gw.st = &gw_own_stats;
	*gw.st = (struct mc_stats){.pid = (uint32_t)getppid(),
				  .gw_pid = (uint32_t)getpid(),
				  .gw_rank = sk_os_rank(),
				  .started = mc_unix_now(),
				  .limit_maxbytes = (uint64_t)o.mem_mb << 20,
				  .threads = o.gateways,
				  .max_connections = (unsigned)o.conns};
	/* SIGTERM and SIGINT (skrun forwards skcached's) end the job
	 * cleanly; they come through the loop. */
	gw.sig_fd = gw_sig_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (gw.sig_fd < 0) {
		fprintf(stderr, "skcached: eventfd: %s\n", strerror(errno));
		return 1;
	}
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	gw_attr(&o, gw.size - gw.first_owner, &attr);
	st = sk_rpc_open(&rpc);
	if (st == SK_OK)
		st = sk_kv_open(rpc, &attr, &gw.kv);
	if (st != SK_OK)
		sk_os_abort(1, "skcached: rank %u: opening the table: %s",
			    sk_os_rank(), sk_status_str(st));
	gw.loop = sk_os_loop();
	sk_dev_query(sk_os_dev(), &dattr);
	gw.st->provider = dattr.provider;
	gw.st->device = dattr.name;
	gw.st->transport = dattr.transport;
	gw.st->node = calloc(gw.size - gw.first_owner, sizeof(*gw.st->node));
	gw.st->cls = calloc(SK_KV_CLASSES_MAX, sizeof(*gw.st->cls));
	if (gw.st->node == NULL || gw.st->cls == NULL)
		sk_os_abort(1, "skcached: rank %u: out of memory",
			    sk_os_rank());
	gw.sw = (struct sk_watch){.fd = gw.sig_fd, .events = POLLIN,
				  .cb = gw_sig_cb};
	sk_watch_start(gw.loop, &gw.sw);

	rc = sk_os_rank() < o.gateways ? gw_serve(&gw, &o) : gw_cache(&gw);
	if (rc != 0)
		/* The others would serve on without it: the job ends (its
		 * reason is said above). */
		sk_os_abort(1, "skcached: rank %u could not serve",
			    sk_os_rank());

	/* Every rank ends together: no owner leaves while a gateway may
	 * still read its partitions. */
	sk_watch_stop(gw.loop, &gw.sw);
	if (sk_os_barrier() != 0 && rc == 0)
		rc = 1;
	sk_kv_close(gw.kv);
	sk_rpc_destroy(rpc);
	if (gw.shm) {
		munmap(gw.shm, gw.shm_size);
		if (sk_os_rank() == 0)
			shm_unlink(gw.shm_name);
	}
	return rc;
}
