/*
 * Unit tests of skcached's text and meta protocols (launcher/skcached/
 * mc_text.c). Bytes go to mc_text_parse as a client would send them; each
 * request it makes gets, by hand, the result kv would give (status, res,
 * value, flags, CAS, number: kv's contract in kv.h, not a mock of kv's
 * logic); finish writes the answer, which is compared byte for byte with
 * what the real memcached answered to the same bytes in the same state.
 * Those expected answers were taken from memcached 1.6.18 (`memcached -p
 * PORT -U 0`, python sockets), except where a comment says the gateway
 * differs on purpose (mc_text.c's header lists why).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "conn.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a connection fed by hand ---- */

/* kv's answer to one request. */
struct fake {
	sk_status_t status;
	enum sk_kv_res res;
	const char *value;      /* GET, GAT: the value when res is OK */
	uint32_t flags;
	uint64_t cas;
	uint64_t number;        /* INCR, DECR */
	uint32_t expiry;
	bool touched;           /* GAT: expiry_before is before, not expiry */
	uint32_t before;
	unsigned state;         /* GET, GAT: SK_KV_STATE_* */
};

#define OK(r) { .status = SK_OK, .res = (r) }
#define HIT(v, f) { .status = SK_OK, .res = SK_KV_OK, .value = (v), \
		    .flags = (f) }
#define MISS OK(SK_KV_NOT_FOUND)
#define DEAD { .status = SK_ERR_UNREACHABLE }

static struct mc_settings settings = {
	.item_max = 1024 * 1024,
	.verbose = 0,
	.cas_enabled = 1,
};

struct run {
	struct mc_conn c;
	const struct fake *fk;
	size_t nfk, used;
	char log[8192];         /* what was asked of kv */
	size_t loglen;
	int closed;
	unsigned ncmds;
	size_t consumed;
};

static const char *const cmd_names[] = {
	"GET", "STORE", "DELETE", "INCR", "DECR", "TOUCH", "GAT",
};
static const char *const op_names[] = {
	"set", "add", "replace", "append", "prepend", "cas",
};

/* Append to the log of what was asked of kv, cut at its end. */
static void logf_(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void logf_(struct run *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->log + r->loglen, sizeof(r->log) - r->loglen, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->loglen += (size_t)n;
	if (r->loglen >= sizeof(r->log))
		r->loglen = sizeof(r->log) - 1;
}

static void apply(struct run *r, struct sk_kv_req *q)
{
	const struct fake *f;

	/* Log the request the way a test can compare. */
	logf_(r, "%s %.*s", cmd_names[q->cmd], (int)q->klen,
	      (const char *)q->key);
	if (q->cmd == SK_KV_CMD_STORE)
		logf_(r, " %s f%u e%d c%llu [%.*s]", op_names[q->op],
		      q->flags, q->exptime, (unsigned long long)q->cas,
		      q->vlen > 64 ? 64 : (int)q->vlen,
		      (const char *)q->value);
	if (q->cmd == SK_KV_CMD_INCR || q->cmd == SK_KV_CMD_DECR)
		logf_(r, " d%llu", (unsigned long long)q->delta);
	if ((q->cmd == SK_KV_CMD_DELETE || q->cmd == SK_KV_CMD_INCR ||
	     q->cmd == SK_KV_CMD_DECR) && q->cas != 0)
		logf_(r, " c%llu", (unsigned long long)q->cas);
	if (q->cmd == SK_KV_CMD_TOUCH || q->cmd == SK_KV_CMD_GAT ||
	    (q->cmd == SK_KV_CMD_DELETE && (q->meta & SK_KV_META_TTL)))
		logf_(r, " e%d", q->exptime);
	/* SK_KV_META_*: W win, N vivify (its expiry), I invalidate, T ttl,
	 * R recache (its time), O recache the old expiry */
	if (q->meta) {
		logf_(r, " [%s%s%s%s%s%s]",
		      q->meta & SK_KV_META_WIN ? "W" : "",
		      q->meta & SK_KV_META_VIVIFY ? "N" : "",
		      q->meta & SK_KV_META_INVALIDATE ? "I" : "",
		      q->meta & SK_KV_META_TTL ? "T" : "",
		      q->meta & SK_KV_META_RECACHE ? "R" : "",
		      q->meta & SK_KV_META_RECACHE_OLD ? "O" : "");
		if (q->meta & SK_KV_META_VIVIFY)
			logf_(r, " n%d", q->vivify);
		if (q->meta & SK_KV_META_RECACHE)
			logf_(r, " r%d", q->recache);
	}
	logf_(r, "\n");

	if (r->used >= r->nfk)
		fprintf(stderr, "unscripted request; asked so far:\n%s", r->log);
	assert_true(r->used < r->nfk);
	f = &r->fk[r->used++];
	q->status = f->status;
	q->res = f->res;
	if (f->status == SK_OK && f->res == SK_KV_OK &&
	    (q->cmd == SK_KV_CMD_GET || q->cmd == SK_KV_CMD_GAT)) {
		/* the core's lent buffer, holding the whole value */
		q->vlen = strlen(f->value);
		q->buf = malloc(q->vlen + 1);
		assert_non_null(q->buf);
		memcpy(q->buf, f->value, q->vlen);
		q->cap = q->vlen;
		q->flags = f->flags;
		q->cas = f->cas;
		q->expiry = f->expiry;
		q->expiry_before = f->touched ? f->before : f->expiry;
		q->state = f->state;
	}
	if (q->cmd == SK_KV_CMD_STORE && f->res == SK_KV_STORED)
		q->cas = f->cas;
	if ((q->cmd == SK_KV_CMD_INCR || q->cmd == SK_KV_CMD_DECR) &&
	    f->status == SK_OK && f->res == SK_KV_OK) {
		q->cas = f->cas;
		q->expiry = f->expiry;
	}
	q->number = f->number;
	if (q->cmd == SK_KV_CMD_INCR || q->cmd == SK_KV_CMD_DECR)
		q->state = f->state;
	q->done = 1;
}

/*
 * Feed @len bytes at @in to a fresh connection as the core would: cut
 * commands, drop what the parser asks to swallow, answer each request
 * from @fk in order, finish (again while it re-arms). Returns the
 * answer, NUL-terminated, to free(); r->closed when a command closed.
 */
/* stats detail's table for feed's connection (NULL: none) */
static struct mc_prefixes *feed_prefixes;

static char *feed(struct run *r, const char *in, size_t len,
		  const struct fake *fk, size_t nfk)
{
	size_t pos = 0;
	char *out;

	memset(r, 0, sizeof(*r));
	r->c.prefixes = feed_prefixes;
	r->c.pub.settings = &settings;
	r->c.pub.settings_rw = &settings;
	r->fk = fk;
	r->nfk = nfk;
	while (pos < len) {
		struct mc_cmd *cmd = NULL;
		ssize_t n;
		unsigned i;
		int rc;

		if (r->c.pub.swallow) {
			size_t d = len - pos < r->c.pub.swallow ?
				   len - pos : r->c.pub.swallow;

			r->c.pub.swallow -= d;
			pos += d;
			continue;
		}
		n = mc_text_parse(&r->c, in + pos, len - pos, &cmd);
		assert_true(n >= 0);
		if (n == 0) {
			assert_null(cmd);
			break;
		}
		assert_non_null(cmd);
		assert_non_null(cmd->finish);
		assert_true((size_t)n <= len - pos);
		pos += (size_t)n;
		r->ncmds++;
		for (i = 0; i < cmd->nreq; i++)
			apply(r, &cmd->req[i]);
		while ((rc = cmd->finish(&r->c, cmd)) == 1)
			for (i = 0; i < cmd->nreq; i++)
				if (!cmd->req[i].done)
					apply(r, &cmd->req[i]);
		assert_int_equal(rc, 0);
		for (i = 0; i < cmd->nreq; i++)
			if (cmd->req[i].cmd == SK_KV_CMD_GET ||
			    cmd->req[i].cmd == SK_KV_CMD_GAT)
				free(cmd->req[i].buf);
		if (cmd->close_after) {
			r->closed = 1;
			mc_cmd_free(cmd);
			break;
		}
		mc_cmd_free(cmd);
	}
	r->consumed = pos;
	/* every scripted answer was asked for */
	assert_int_equal(r->used, r->nfk);
	out = malloc(r->c.out_len + 1);
	assert_non_null(out);
	if (r->c.out_len)
		memcpy(out, r->c.out, r->c.out_len);
	out[r->c.out_len] = '\0';
	mc_conn_out_free(&r->c);
	return out;
}

/* @in answers @want (a C string) with the requests answered by @fk. */
#define EXPECT(in, want, ...)                                                  \
	do {                                                                   \
		static const struct fake fk_[] = { __VA_ARGS__ };              \
		struct run r_;                                                 \
		char *o_ = feed(&r_, in, sizeof(in) - 1, fk_,                  \
				ARRAY_SIZE(fk_));                              \
		assert_string_equal(o_, want);                                 \
		free(o_);                                                      \
	} while (0)
#define EXPECT0(in, want)                                                      \
	do {                                                                   \
		struct run r_;                                                 \
		char *o_ = feed(&r_, in, sizeof(in) - 1, NULL, 0);             \
		assert_string_equal(o_, want);                                 \
		free(o_);                                                      \
	} while (0)

static char *repeat(char ch, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

/* ---- classic commands ---- */

static void test_get(void **state)
{
	(void)state;
	EXPECT("get a\r\n", "VALUE a 5 2\r\nhi\r\nEND\r\n", HIT("hi", 5));
	EXPECT("get zz\r\n", "END\r\n", MISS);
	EXPECT("get a zz a\r\n",
	       "VALUE a 0 1\r\nx\r\nVALUE a 0 1\r\nx\r\nEND\r\n",
	       HIT("x", 0), MISS, HIT("x", 0));
	/* bare \n ends a line too; extra spaces are nothing */
	EXPECT("get   a  \n", "VALUE a 0 1\r\nx\r\nEND\r\n", HIT("x", 0));
	/* gets prints the CAS kv gave */
	{
		static const struct fake f[] = {
			{ .status = SK_OK, .res = SK_KV_OK, .value = "hi",
			  .flags = 3, .cas = 77 },
		};
		struct run r;
		char *o = feed(&r, "gets a\r\n", 8, f, 1);

		assert_string_equal(o, "VALUE a 3 2 77\r\nhi\r\nEND\r\n");
		free(o);
	}
	/* a NUL ends memcached's line */
	{
		struct run r;
		static const struct fake f[] = { HIT("x", 0) };
		char *o = feed(&r, "get a\0b\r\n", 9, f, 1);

		assert_string_equal(o, "VALUE a 0 1\r\nx\r\nEND\r\n");
		free(o);
	}
	EXPECT0("get\r\n", "ERROR\r\n");
	EXPECT0("GET a\r\n", "ERROR\r\n");
	EXPECT0("gat 10\r\n", "END\r\n");
	EXPECT0("gat x a\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
}

static void test_gat(void **state)
{
	struct run r;
	static const struct fake f[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "v", .cas = 9 },
		MISS,
	};
	char *o = feed(&r, "gats 100 a b\r\n", 14, f, 2);

	(void)state;
	assert_string_equal(o, "VALUE a 0 1 9\r\nv\r\nEND\r\n");
	assert_string_equal(r.log, "GAT a e100\nGAT b e100\n");
	free(o);
}

static void test_get_key_limit(void **state)
{
	char *k250 = repeat('k', 250), *k251 = repeat('k', 251);
	char in[700];
	struct run r;
	char *o;
	int n;
	static const struct fake f[] = { MISS, MISS };

	(void)state;
	n = snprintf(in, sizeof(in), "get a %s\r\n", k250);
	o = feed(&r, in, (size_t)n, f, 2);
	assert_string_equal(o, "END\r\n");
	free(o);
	/* memcached 1.6.18: any key over 250 fails the whole get, the
	 * values before it included, which it looked up (its stats count
	 * them): a hit's value is dropped */
	{
		static const struct fake hit[] = { HIT("x", 0) };

		n = snprintf(in, sizeof(in), "get a %s\r\n", k251);
		o = feed(&r, in, (size_t)n, hit, 1);
		assert_string_equal(o,
				    "CLIENT_ERROR bad command line format\r\n");
		free(o);
		n = snprintf(in, sizeof(in), "get %s a\r\n", k251);
		o = feed(&r, in, (size_t)n, NULL, 0);
		assert_string_equal(o,
				    "CLIENT_ERROR bad command line format\r\n");
		free(o);
	}
	n = snprintf(in, sizeof(in), "set %s 0 0 1\r\nx\r\n", k251);
	o = feed(&r, in, (size_t)n, NULL, 0);
	/* ...and the data line is then a command of its own */
	assert_string_equal(o, "CLIENT_ERROR bad command line format\r\n"
			       "ERROR\r\n");
	free(o);
	{
		static const struct fake g[] = { OK(SK_KV_STORED), MISS };

		n = snprintf(in, sizeof(in), "set %s 0 0 1\r\nx\r\n"
			     "mg %s\r\n", k250, k250);
		o = feed(&r, in, (size_t)n, g, 2);
		assert_string_equal(o, "STORED\r\nEN\r\n");
		free(o);
	}
	n = snprintf(in, sizeof(in), "mg %s v\r\nms %s 1\r\nx\r\n", k251,
		     k251);
	o = feed(&r, in, (size_t)n, NULL, 0);
	assert_string_equal(o, "CLIENT_ERROR bad command line format\r\n"
			       "CLIENT_ERROR bad command line format\r\n"
			       "ERROR\r\n");
	free(o);
	free(k250);
	free(k251);
}

static void test_get_many_keys(void **state)
{
	/* 23 tokens fill memcached's tokenizer, the rest is read again */
	char in[8192];
	size_t n = 0, i;
	struct fake *f = calloc(MC_GET_KEYS_MAX + 1, sizeof(*f));
	struct run r;
	char *o;

	(void)state;
	assert_non_null(f);
	for (i = 0; i < MC_GET_KEYS_MAX + 1; i++)
		f[i] = (struct fake)MISS;
	n = (size_t)snprintf(in, sizeof(in), "get");
	for (i = 0; i < MC_GET_KEYS_MAX; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, " k");
	n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");
	o = feed(&r, in, n, f, MC_GET_KEYS_MAX);
	assert_string_equal(o, "END\r\n");
	free(o);
	/* one past: memcached would answer it; ours gives memcached's
	 * error for a multi-get it cannot hold */
	n = (size_t)snprintf(in, sizeof(in), "get");
	for (i = 0; i < MC_GET_KEYS_MAX + 1; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, " k");
	n += (size_t)snprintf(in + n, sizeof(in) - n, "\r\n");
	o = feed(&r, in, n, NULL, 0);
	assert_string_equal(o, "SERVER_ERROR out of memory writing get "
			       "response\r\n");
	free(o);
	free(f);
}

static void test_storage(void **state)
{
	struct run r;
	char *o;
	static const struct fake f[] = { OK(SK_KV_STORED) };

	(void)state;
	o = feed(&r, "set a 5 100 2\r\nhi\r\n", 19, f, 1);
	assert_string_equal(o, "STORED\r\n");
	assert_string_equal(r.log, "STORE a set f5 e100 c0 [hi]\n");
	free(o);
	EXPECT("add a 0 0 1\r\nx\r\n", "NOT_STORED\r\n",
	       OK(SK_KV_NOT_STORED));
	EXPECT("replace zz 0 0 1\r\nx\r\n", "NOT_STORED\r\n",
	       OK(SK_KV_NOT_STORED));
	EXPECT("append a 0 0 1\r\nx\r\n", "STORED\r\n", OK(SK_KV_STORED));
	EXPECT("prepend a 0 0 1\r\nx\r\n", "STORED\r\n", OK(SK_KV_STORED));
	EXPECT("cas a 0 0 1 5\r\nx\r\n", "EXISTS\r\n", OK(SK_KV_EXISTS));
	EXPECT("cas zz 0 0 1 5\r\nx\r\n", "NOT_FOUND\r\n",
	       OK(SK_KV_NOT_FOUND));
	{
		static const struct fake g[] = { OK(SK_KV_STORED) };

		o = feed(&r, "cas a 1 -1 0 18446744073709551615\r\n\r\n", 38,
			 g, 1);
		assert_string_equal(o, "STORED\r\n");
		assert_string_equal(
			r.log, "STORE a cas f1 e-1 c18446744073709551615 []\n");
		free(o);
	}
	/* noreply: nothing, whatever the answer */
	EXPECT("set a 0 0 1 noreply\r\nx\r\n", "", OK(SK_KV_STORED));
	EXPECT("add a 0 0 1 noreply\r\nx\r\n", "", OK(SK_KV_NOT_STORED));
	/* bad numbers */
	EXPECT0("set a 0 0 -1\r\n", "CLIENT_ERROR bad command line format\r\n");
	EXPECT0("set a x 0 1\r\n", "CLIENT_ERROR bad command line format\r\n");
	EXPECT0("set a -1 0 1\r\n", "CLIENT_ERROR bad command line format\r\n");
	EXPECT0("set a 0 1x 1\r\n", "CLIENT_ERROR bad command line format\r\n");
	EXPECT0("cas a 0 0 1 -\r\n", "CLIENT_ERROR bad command line format\r\n");
	/* "noreply" as the length: the error is silenced */
	EXPECT0("set a 0 0 noreply\r\n", "");
	EXPECT0("set a 0 0\r\n", "ERROR\r\n");
	EXPECT0("set a 0 0 1 noreply x\r\n", "ERROR\r\n");
	EXPECT0("cas a 0 0 1\r\n", "ERROR\r\n");
}

static void test_bad_data_chunk(void **state)
{
	(void)state;
	/* memcached reads length + 2 bytes, then the rest is a command */
	EXPECT0("set a 0 0 3\r\nabcde\r\n",
		"CLIENT_ERROR bad data chunk\r\nERROR\r\n");
	EXPECT0("set a 0 0 3 noreply\r\nabcde\r\n", "ERROR\r\n");
	EXPECT0("set a 0 0 2\r\nhiX\r\n",
		"CLIENT_ERROR bad data chunk\r\nERROR\r\n");
}

static void test_value_limit(void **state)
{
	size_t max = settings.item_max;
	char *buf = malloc(max + 64);
	struct run r;
	size_t n;
	char *o;
	static const struct fake f[] = { OK(SK_KV_STORED) };
	static const struct fake fd[] = { OK(SK_KV_NOT_FOUND) };

	(void)state;
	assert_non_null(buf);
	/* at item_max: stored (memcached's own limit counts its header) */
	n = (size_t)sprintf(buf, "set a 0 0 %zu\r\n", max);
	memset(buf + n, 'v', max);
	memcpy(buf + n + max, "\r\n", 2);
	o = feed(&r, buf, n + max + 2, f, 1);
	assert_string_equal(o, "STORED\r\n");
	free(o);
	/* past it: memcached's error, the data swallowed, and the key's
	 * old item dropped (memcached 1.6.18 unlinks it on a set too large) */
	n = (size_t)sprintf(buf, "set a 0 0 %zu\r\n", max + 1);
	memset(buf + n, 'v', max + 1);
	memcpy(buf + n + max + 1, "\r\nversion\r\n", 11);
	o = feed(&r, buf, n + max + 1 + 11, fd, 1);
	assert_string_equal(o, "SERVER_ERROR object too large for cache\r\n"
			       "VERSION " MC_VERSION "\r\n");
	assert_non_null(strstr(r.log, "DELETE a\n"));
	free(o);
	/* an add too large leaves the old item alone */
	n = (size_t)sprintf(buf, "add a 0 0 %zu\r\n", max + 1);
	memset(buf + n, 'v', max + 1);
	memcpy(buf + n + max + 1, "\r\n", 2);
	o = feed(&r, buf, n + max + 1 + 2, NULL, 0);
	assert_string_equal(o, "SERVER_ERROR object too large for cache\r\n");
	free(o);
	/* the line alone: what of the value is not here yet is swallowed
	 * as it comes */
	{
		struct mc_conn c = { .pub.settings = &settings };
		struct mc_cmd *cmd = NULL;
		ssize_t m = mc_text_parse(&c, buf, n, &cmd);

		assert_int_equal(m, (ssize_t)n);
		assert_non_null(cmd);
		assert_int_equal(c.pub.swallow, max + 3);
		mc_cmd_free(cmd);
	}
	free(buf);
}

static void test_delete(void **state)
{
	(void)state;
	EXPECT("delete a\r\n", "DELETED\r\n", OK(SK_KV_DELETED));
	EXPECT("delete a 0\r\n", "DELETED\r\n", OK(SK_KV_DELETED));
	EXPECT("delete a noreply\r\n", "", OK(SK_KV_NOT_FOUND));
	EXPECT("delete a 0 noreply\r\n", "", OK(SK_KV_DELETED));
	EXPECT("delete zz\r\n", "NOT_FOUND\r\n", MISS);
	EXPECT0("delete a 1\r\n", "CLIENT_ERROR bad command line format.  "
				  "Usage: delete <key> [noreply]\r\n");
	EXPECT0("delete a 0 0\r\n", "CLIENT_ERROR bad command line format.  "
				    "Usage: delete <key> [noreply]\r\n");
	EXPECT0("delete a x y z\r\n", "ERROR\r\n");
	EXPECT0("delete\r\n", "ERROR\r\n");
}

static void test_arith(void **state)
{
	(void)state;
	EXPECT("incr n 5\r\n", "15\r\n",
	       { .status = SK_OK, .res = SK_KV_OK, .number = 15 });
	EXPECT("decr n 100\r\n", "0\r\n",
	       { .status = SK_OK, .res = SK_KV_OK, .number = 0 });
	EXPECT("incr a 1\r\n", "NOT_FOUND\r\n", MISS);
	EXPECT("incr a 1\r\n", "CLIENT_ERROR cannot increment or decrement "
			       "non-numeric value\r\n", OK(SK_KV_ENONNUM));
	EXPECT("incr a 1 noreply\r\n", "", MISS);
	EXPECT0("incr a x\r\n",
		"CLIENT_ERROR invalid numeric delta argument\r\n");
	EXPECT0("incr n -1\r\n",
		"CLIENT_ERROR invalid numeric delta argument\r\n");
	EXPECT0("incr n 18446744073709551616\r\n",
		"CLIENT_ERROR invalid numeric delta argument\r\n");
	EXPECT0("incr\r\n", "ERROR\r\n");
	EXPECT0("incr a\r\n", "ERROR\r\n");
}

static void test_touch(void **state)
{
	(void)state;
	EXPECT("touch n 10\r\n", "TOUCHED\r\n", OK(SK_KV_TOUCHED));
	EXPECT("touch zz 1\r\n", "NOT_FOUND\r\n", MISS);
	EXPECT("touch n 10 noreply\r\n", "", OK(SK_KV_TOUCHED));
	EXPECT0("touch a x\r\n", "CLIENT_ERROR invalid exptime argument\r\n");
}

static void test_misc(void **state)
{
	struct run r;
	char *o;

	(void)state;
	EXPECT0("flush_all x\r\nflush_all 0\r\nflush_all noreply\r\n"
		"flush_all 10 noreply\r\nflush_all 1 2 3\r\nflush_all -5\r\n",
		"CLIENT_ERROR invalid exptime argument\r\nOK\r\nERROR\r\n"
		"OK\r\n");
	EXPECT0("verbosity\r\nverbosity x\r\nverbosity 1\r\n"
		"verbosity 1 noreply\r\nverbosity noreply\r\n"
		"verbosity 5 6 7\r\n",
		"ERROR\r\nCLIENT_ERROR bad command line format\r\nOK\r\n"
		"ERROR\r\n");
	o = feed(&r, "verbosity 9\r\n", 13, NULL, 0);
	assert_int_equal(settings.verbose, 2);
	settings.verbose = 0;
	free(o);
	EXPECT0("version 1 2\r\n", "VERSION " MC_VERSION "\r\n");
	/* memcached 1.6.18 without -A */
	EXPECT0("shutdown\r\nshutdown graceful\r\nshutdown a b c\r\n",
		"ERROR: shutdown not enabled\r\nERROR: shutdown not enabled\r\n"
		"ERROR: shutdown not enabled\r\n");
	EXPECT0("\r\n\na\r\nsets\r\nmz a\r\n",
		"ERROR\r\nERROR\r\nERROR\r\nERROR\r\nERROR\r\n");
	o = feed(&r, "quit\r\nversion\r\n", 15, NULL, 0);
	assert_string_equal(o, "");
	assert_true(r.closed);
	free(o);
	o = feed(&r, "GET / HTTP/1.1\r\n", 16, NULL, 0);
	assert_string_equal(o, "");
	assert_true(r.closed);
	free(o);
}

static void test_flush_stats(void **state)
{
	struct mc_conn c = { .pub.settings = &settings };
	struct mc_cmd *cmd = NULL;

	(void)state;
	assert_int_equal(mc_text_parse(&c, "flush_all 30\r\n", 14, &cmd), 14);
	assert_int_equal(cmd->special, MC_SP_FLUSH);
	assert_int_equal(cmd->flush_delay, 30);
	mc_cmd_free(cmd);
	/* over 30 days is a Unix time, which mc.h wants counted from now */
	{
		char in[64];
		int n = snprintf(in, sizeof(in), "flush_all %u\r\n",
				 mc_unix_now() + 100000000u);

		assert_int_equal(mc_text_parse(&c, in, (size_t)n, &cmd), n);
		assert_true(cmd->flush_delay >= 100000000 - 5 &&
			    cmd->flush_delay <= 100000000);
		mc_cmd_free(cmd);
	}
	assert_int_equal(mc_text_parse(&c, "flush_all 30\r\n", 14, &cmd), 14);
	cmd->special_status = -1;
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	assert_int_equal(mc_text_parse(&c, "stats\r\n", 7, &cmd), 7);
	assert_int_equal(cmd->special, MC_SP_STATS);
	assert_string_equal(cmd->stats_group, "");
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	assert_int_equal(mc_text_parse(&c, "stats foo\r\n", 11, &cmd), 11);
	assert_string_equal(cmd->stats_group, "foo");
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	c.out[c.out_len] = '\0';
	assert_memory_equal(c.out, "SERVER_ERROR flush failed on a node\r\n"
			    "STAT pid 0\r\n", 49);
	assert_string_equal(c.out + c.out_len - 12, "END\r\nERROR\r\n");
	mc_conn_out_free(&c);
}

/* stats sizes and stats reset, as memcached 1.6.18 answers them; the reset
 * zeroes the counters, not the items now, and takes the nodes' evictions
 * as the new zero. */
static void test_stats_reset_sizes(void **state)
{
	struct mc_node_stats node = {
		.rank = 1, .o = { .items = 5, .evictions = 7, .expired = 3 },
	};
	struct mc_stats st = {
		.cmd_get = 9, .get_hits = 4, .get_misses = 5, .cmd_set = 2,
		.total_connections = 3, .curr_connections = 1,
		.bytes_read = 100, .total_items = 2, .curr_items = 5,
		.evictions = 7, .expired = 3, .node = &node, .nnode = 1,
	};
	struct mc_conn c = { .pub.settings = &settings, .stats = &st };
	struct mc_cmd *cmd = NULL;

	(void)state;
	assert_int_equal(mc_text_parse(&c, "stats sizes\r\n", 13, &cmd), 13);
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	assert_int_equal(mc_text_parse(&c, "stats reset\r\n", 13, &cmd), 13);
	assert_int_equal(cmd->special, MC_SP_STATS);
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	c.out[c.out_len] = '\0';
	assert_string_equal(c.out, "STAT sizes_status disabled\r\nEND\r\n"
				   "RESET\r\n");
	assert_true(st.cmd_get == 0 && st.get_hits == 0 && st.get_misses == 0 &&
		    st.cmd_set == 0 && st.total_connections == 0 &&
		    st.bytes_read == 0 && st.total_items == 0 &&
		    st.evictions == 0 && st.expired == 0);
	/* the state stays */
	assert_true(st.curr_connections == 1 && st.curr_items == 5);
	assert_true(node.evictions_base == 7 && node.expired_base == 3);
	mc_conn_out_free(&c);
}

/* An entry of a DUMP answer at @p (kv.h's layout): its bytes. */
static size_t dump_ent(uint8_t *p, const char *key, size_t klen,
		       uint32_t vlen, uint32_t exptime)
{
	struct sk_kv_dump_ent e = {.vlen = vlen, .exptime = exptime,
				   .klen = (uint32_t)klen};
	size_t n = (sizeof(e) + klen + 7) & ~(size_t)7;

	memset(p, 0, n);
	memcpy(p, &e, sizeof(e));
	memcpy(p + sizeof(e), key, klen);
	return n;
}

/* The answer to @line alone, where it needs no node: an error. */
static void answer_of(const char *line, const char *want)
{
	struct mc_conn c = { .pub.settings = &settings };
	struct mc_cmd *cmd = NULL;

	assert_int_equal(mc_text_parse(&c, line, strlen(line), &cmd),
			 (ssize_t)strlen(line));
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	c.out[c.out_len] = '\0';
	assert_string_equal(c.out, want);
	mc_conn_out_free(&c);
}

/*
 * lru_crawler metadump: the classes asked (memcached's 1 to 63, "all" and
 * "hash" all of them), its errors as memcached 1.6.18 answers them
 * (checked against it), and the lines of what the core gathered: the key
 * URI-encoded as memcached encodes it, -1 for no expiry, the item's
 * bytes in its owner's store; each round's lines once, then END.
 */
static void test_metadump(void **state)
{
	struct mc_conn c = { .pub.settings = &settings };
	struct mc_cmd *cmd = NULL;
	uint8_t buf[256];
	size_t n = 0;
	const char *want;

	(void)state;
	answer_of("lru_crawler metadump 0\r\n", "BADCLASS invalid class id\r\n");
	answer_of("lru_crawler metadump 64\r\n",
		  "BADCLASS invalid class id\r\n");
	answer_of("lru_crawler metadump 1,x\r\n",
		  "BADCLASS invalid class id\r\n");
	answer_of("lru_crawler metadump -1\r\n",
		  "BADCLASS invalid class id\r\n");
	answer_of("lru_crawler metadump ,,\r\n",
		  "NOTSTARTED no items to crawl\r\n");
	answer_of("lru_crawler metadump\r\n", "ERROR\r\n");
	answer_of("lru_crawler metadump all x\r\n", "ERROR\r\n");
	answer_of("lru_crawler crawl all\r\n", "ERROR\r\n");
	answer_of("lru_crawler\r\n", "ERROR\r\n");

	assert_int_equal(mc_text_parse(&c, "lru_crawler metadump all\r\n", 26,
				       &cmd), 26);
	assert_true(cmd->special == MC_SP_STATS && cmd->dump &&
		    cmd->metadump && cmd->dump_class == 1 &&
		    cmd->dump_classes == ~(uint64_t)0 >> 1);
	mc_cmd_free(cmd);
	assert_int_equal(mc_text_parse(&c, "lru_crawler metadump hash\r\n",
				       27, &cmd), 27);
	assert_true(cmd->metadump && cmd->dump_classes == ~(uint64_t)0 >> 1);
	mc_cmd_free(cmd);
	assert_int_equal(mc_text_parse(&c, "lru_crawler metadump 63,,5,7\r\n",
				       30, &cmd), 30);
	assert_true(cmd->metadump && cmd->dump_class == 5 &&
		    cmd->dump_classes == ((1ull << 62) | (1u << 4) | (1u << 6)));

	/* a round's lines, of the class being walked */
	cmd->dump_class = 7;
	n += dump_ent(buf + n, "a", 1, 5, 0);
	n += dump_ent(buf + n, "k%20y \x01~._-Z9", 13, 1000, 1800000000u);
	((struct sk_kv_dump_ent *)buf)->cas = 42;
	cmd->dump_buf = buf;
	cmd->dump_len = n;
	cmd->dump_n = 2;
	mc_metadump_lines(&c, cmd);
	assert_true(cmd->dump_len == 0 && cmd->dump_n == 0);
	want = "key=a exp=-1 cas=42 cls=7 size=48\n"
	       "key=k%2520y%20%01~._-Z9 exp=1800000000 cas=0 cls=7 size=1056\n";
	assert_int_equal(c.out_len, strlen(want));
	assert_memory_equal(c.out, want, strlen(want));
	/* the end: nothing more gathered, END */
	cmd->finish(&c, cmd);
	cmd->dump_buf = NULL;
	mc_cmd_free(cmd);
	c.out[c.out_len] = '\0';
	assert_string_equal(c.out + strlen(want), "END\r\n");
	mc_conn_out_free(&c);
}

/*
 * stats items and stats slabs from the nodes' classes (memcached's names,
 * classes from 1, only those with items or chunks), and stats
 * cachedump's lines from what the core gathered: memcached's format, its
 * limit, keys that would break a line left out; its argument errors.
 */
static void test_stats_classes_dump(void **state)
{
	struct sk_kv_class_stats cls[3] = {
		{.chunk_size = 48, .chunks = 10, .free = 2, .quarantined = 3,
		 .items = 5, .item_bytes = 240, .sets = 9, .evicted = 4,
		 .evicted_exp = 1, .expired = 2},
		{.chunk_size = 64},
		{.chunk_size = 3 << 20 >> 2, .chunks = 2, .items = 2,
		 .item_bytes = 1000000, .sets = 2},
	};
	struct mc_stats st = {.cls = cls, .ncls = 3};
	struct mc_conn c = { .pub.settings = &settings, .stats = &st };
	struct mc_cmd *cmd = NULL;
	uint8_t buf[256];
	size_t n = 0;

	(void)state;
	assert_int_equal(mc_text_parse(&c, "stats items\r\n", 13, &cmd), 13);
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	c.out[c.out_len] = '\0';
	assert_string_equal(c.out,
		"STAT items:1:number 5\r\nSTAT items:1:mem_requested 240\r\n"
		"STAT items:1:evicted 4\r\nSTAT items:1:evicted_nonzero 1\r\n"
		"STAT items:1:crawler_reclaimed 2\r\n"
		"STAT items:3:number 2\r\n"
		"STAT items:3:mem_requested 1000000\r\n"
		"STAT items:3:evicted 0\r\nSTAT items:3:evicted_nonzero 0\r\n"
		"STAT items:3:crawler_reclaimed 0\r\nEND\r\n");
	mc_conn_out_free(&c);
	assert_int_equal(mc_text_parse(&c, "stats slabs\r\n", 13, &cmd), 13);
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	c.out[c.out_len] = '\0';
	/* 2 chunks of 768 KiB: 1.5 MiB, two of memcached's 1 MiB pages */
	assert_string_equal(c.out,
		"STAT 1:chunk_size 48\r\nSTAT 1:chunks_per_page 21845\r\n"
		"STAT 1:total_pages 1\r\nSTAT 1:total_chunks 10\r\n"
		"STAT 1:used_chunks 5\r\nSTAT 1:free_chunks 5\r\n"
		"STAT 1:cmd_set 9\r\n"
		"STAT 3:chunk_size 786432\r\nSTAT 3:chunks_per_page 1\r\n"
		"STAT 3:total_pages 2\r\nSTAT 3:total_chunks 2\r\n"
		"STAT 3:used_chunks 2\r\nSTAT 3:free_chunks 0\r\n"
		"STAT 3:cmd_set 2\r\n"
		"STAT active_slabs 2\r\nSTAT total_malloced 1573344\r\n"
		"END\r\n");
	mc_conn_out_free(&c);

	/* cachedump: the class and limit asked; the lines of what came */
	assert_int_equal(mc_text_parse(&c, "stats cachedump 3 2\r\n", 21,
				       &cmd), 21);
	assert_true(cmd->special == MC_SP_STATS && cmd->dump &&
		    cmd->dump_class == 3 && cmd->dump_limit == 2);
	n += dump_ent(buf + n, "a", 1, 5, 0);
	n += dump_ent(buf + n, "sp ace", 6, 1, 0);
	n += dump_ent(buf + n, "b\0c", 3, 70000, 1800000000u);
	n += dump_ent(buf + n, "d", 1, 1, 0);
	cmd->dump_buf = buf;
	cmd->dump_len = n;
	cmd->finish(&c, cmd);
	cmd->dump_buf = NULL;
	mc_cmd_free(cmd);
	assert_int_equal(c.out_len, 58);
	assert_memory_equal(c.out, "ITEM a [5 b; 0 s]\r\n"
			    "ITEM b\0c [70000 b; 1800000000 s]\r\nEND\r\n", 58);
	mc_conn_out_free(&c);
	EXPECT0("stats cachedump\r\nstats cachedump 1\r\n"
		"stats cachedump 1 x\r\nstats cachedump -1 0\r\n"
		"stats cachedump 64 0\r\nstats cachedump 0 0\r\n",
		"CLIENT_ERROR bad command line\r\n"
		"CLIENT_ERROR bad command line\r\n"
		"CLIENT_ERROR bad command line format\r\n"
		"CLIENT_ERROR bad command line format\r\n"
		"CLIENT_ERROR Illegal slab id\r\nEND\r\n");
}

/*
 * stats detail as memcached 1.6.18 answers it: usage errors, on and off,
 * and the dump of gets, hits, sets and deletes by key prefix (keys with a
 * ':' only), in memcached's order (its 256 buckets by MurmurHash3 of the
 * prefix: "b" 3, "a" 178). A pipelined "on" counts the commands after
 * it: counted as each is answered, not as it is read. Meta commands,
 * incr and touch are not counted.
 */
static void test_stats_detail(void **state)
{
	static struct mc_prefixes t;

	(void)state;
	feed_prefixes = &t;
	EXPECT("stats detail\r\nstats detail x\r\nstats detail dump\r\n"
	       "stats detail on\r\nset a:1 0 0 1\r\nx\r\n"
	       "get a:1 b:2 c\r\ndelete a:1\r\ntouch a:1 0\r\n"
	       "stats detail dump\r\nstats detail off\r\nget a:1\r\n"
	       "stats detail dump\r\n",
	       "CLIENT_ERROR usage: stats detail on|off|dump\r\n"
	       "CLIENT_ERROR usage: stats detail on|off|dump\r\nEND\r\n"
	       "OK\r\nSTORED\r\nVALUE a:1 0 1\r\nx\r\nEND\r\nDELETED\r\n"
	       "TOUCHED\r\n"
	       "PREFIX b get 1 hit 0 set 0 del 0\r\n"
	       "PREFIX a get 1 hit 1 set 1 del 1\r\nEND\r\n"
	       "OK\r\nVALUE a:1 0 1\r\nx\r\nEND\r\n"
	       "PREFIX b get 1 hit 0 set 0 del 0\r\n"
	       "PREFIX a get 1 hit 1 set 1 del 1\r\nEND\r\n",
	       OK(SK_KV_STORED), HIT("x", 0), MISS, MISS, OK(SK_KV_DELETED),
	       OK(SK_KV_TOUCHED), HIT("x", 0));
	/* a too large value (the set drops the key's item) and a bad data
	 * chunk are counted as sets */
	EXPECT("stats detail on\r\nset a:2 0 0 2000000\r\n",
	       "OK\r\nSERVER_ERROR object too large for cache\r\n", MISS);
	mc_prefix_clear(&t);
	EXPECT0("append b:9 0 0 1\r\nxy\r\nstats detail dump\r\n",
		"CLIENT_ERROR bad data chunk\r\nERROR\r\n" /* (memcached's) */
		"PREFIX b get 0 hit 0 set 1 del 0\r\nEND\r\n");
	feed_prefixes = NULL;
}

/* stats conns: memcached's four lines for each entry in use (no
 * listen_addr for a listener), the asking connection's state
 * conn_parse_cmd; free entries and ones being filled are left out.
 * (Their last commands are to come: 0 seconds, whenever the test runs.) */
static void test_stats_conns(void **state)
{
	struct mc_conn_rec rec[5] = {
		{.used = 1, .state = MC_CS_LISTENING, .last_cmd = 1ull << 40,
		 .addr = "tcp:0.0.0.0:11211"},
		{0},
		{.used = 1, .state = MC_CS_READ, .last_cmd = 1ull << 40,
		 .addr = "tcp:127.0.0.1:5000",
		 .listen_addr = "tcp:127.0.0.1:11211"},
		{.used = 1, .state = MC_CS_NREAD, .last_cmd = 1ull << 40,
		 .addr = "tcp6:[::1]:5001", .listen_addr = "tcp6:[::1]:11211"},
		{.used = 1, .state = 0, .addr = "filling"},
	};
	struct mc_conn_table t = {rec, 5};
	struct mc_conn c = { .pub.settings = &settings, .conns = &t, .rec = 2 };
	struct mc_cmd *cmd = NULL;
	char want[1024];
	unsigned secs = 0;

	(void)state;
	assert_int_equal(mc_text_parse(&c, "stats conns\r\n", 13, &cmd), 13);
	cmd->finish(&c, cmd);
	mc_cmd_free(cmd);
	c.out[c.out_len] = '\0';
	snprintf(want, sizeof(want),
		 "STAT 0:addr tcp:0.0.0.0:11211\r\nSTAT 0:state conn_listening\r\n"
		 "STAT 0:secs_since_last_cmd %u\r\n"
		 "STAT 2:addr tcp:127.0.0.1:5000\r\n"
		 "STAT 2:listen_addr tcp:127.0.0.1:11211\r\n"
		 "STAT 2:state conn_parse_cmd\r\n"
		 "STAT 2:secs_since_last_cmd %u\r\n"
		 "STAT 3:addr tcp6:[::1]:5001\r\n"
		 "STAT 3:listen_addr tcp6:[::1]:11211\r\n"
		 "STAT 3:state conn_nread\r\n"
		 "STAT 3:secs_since_last_cmd %u\r\nEND\r\n", secs, secs, secs);
	assert_string_equal(c.out, want);
	mc_conn_out_free(&c);
}

/* ---- pipelining, partial input, lines ---- */

static void test_pipeline(void **state)
{
	(void)state;
	EXPECT("set a 0 0 2\r\nhi\r\nget a b\r\ndelete a\r\nincr n 1\r\n"
	       "mn\r\n",
	       "STORED\r\nVALUE a 0 2\r\nhi\r\nEND\r\nDELETED\r\n2\r\nMN\r\n",
	       OK(SK_KV_STORED), HIT("hi", 0), MISS, OK(SK_KV_DELETED),
	       { .status = SK_OK, .res = SK_KV_OK, .number = 2 });
}

static void test_partial(void **state)
{
	static const char *const ins[] = {
		"set a 0 0 2\r\nhi\r\n",
		"get a b\r\n",
		"ms k 3 T0 F1\r\nabc\r\n",
		"mg k v\r\n",
		"cas a 0 0 1 3\r\nx\r\n",
		"version\r\n",
	};
	struct mc_conn c = { .pub.settings = &settings };
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ins); i++) {
		size_t len = strlen(ins[i]);

		for (n = 0; n < len; n++) {
			struct mc_cmd *cmd = NULL;
			char *p = malloc(n + 1);

			assert_non_null(p);
			memcpy(p, ins[i], n);
			assert_int_equal(mc_text_parse(&c, p, n, &cmd), 0);
			assert_null(cmd);
			free(p);
		}
		{
			struct mc_cmd *cmd = NULL;

			assert_int_equal(mc_text_parse(&c, ins[i], len, &cmd),
					 (ssize_t)len);
			mc_cmd_free(cmd);
		}
	}
}

static void test_line_limit(void **state)
{
	char *buf = malloc(300000);
	struct run r;
	char *o;
	size_t n;

	(void)state;
	assert_non_null(buf);
	/* a line of MC_LINE_MAX bytes, no newline yet: wait */
	memset(buf, 'x', MC_LINE_MAX + 1);
	{
		struct mc_conn c = { .pub.settings = &settings };
		struct mc_cmd *cmd = NULL;

		assert_int_equal(mc_text_parse(&c, buf, MC_LINE_MAX, &cmd), 0);
		/* one past: memcached hangs up without a word */
		assert_int_equal(mc_text_parse(&c, buf, MC_LINE_MAX + 1, &cmd),
				 MC_LINE_MAX + 1);
		assert_true(cmd->close_after);
		cmd->finish(&c, cmd);
		assert_int_equal(c.out_len, 0);
		mc_cmd_free(cmd);
	}
	/* a long line that does end is a command */
	n = (size_t)sprintf(buf, "get");
	while (n < MC_LINE_MAX + 100)
		n += (size_t)sprintf(buf + n, " %s", "kkkkkkkk");
	{
		struct mc_conn c = { .pub.settings = &settings };
		struct mc_cmd *cmd = NULL;

		/* a get may go on past MC_LINE_MAX, as memcached's does */
		assert_int_equal(mc_text_parse(&c, buf, n, &cmd), 0);
		memcpy(buf + n, "\r\n", 2);
		assert_int_equal(mc_text_parse(&c, buf, n + 2, &cmd),
				 (ssize_t)n + 2);
		assert_false(cmd->close_after);
		mc_cmd_free(cmd);
		/* ...up to the longest get of MC_GET_KEYS_MAX keys */
		memset(buf, ' ', 300000);
		memcpy(buf, "get k", 5);
		assert_int_equal(mc_text_parse(&c, buf, 300000, &cmd),
				 300000);
		assert_true(cmd->close_after);
		cmd->finish(&c, cmd);
		c.out[c.out_len] = '\0';
		assert_string_equal(c.out, "CLIENT_ERROR line too long\r\n");
		mc_cmd_free(cmd);
		mc_conn_out_free(&c);
	}
	o = feed(&r, "version\r\n", 9, NULL, 0);
	free(o);
	free(buf);
}

/* ---- a dead node ---- */

static void test_dead_node(void **state)
{
	(void)state;
	EXPECT("set a 0 0 1\r\nx\r\n", "SERVER_ERROR node unreachable\r\n",
	       DEAD);
	EXPECT("set a 0 0 1 noreply\r\nx\r\n", "", DEAD);
	EXPECT("delete a\r\n", "SERVER_ERROR node unreachable\r\n", DEAD);
	EXPECT("incr a 1\r\n", "SERVER_ERROR node unreachable\r\n", DEAD);
	/* multi-get: the values found, then the error instead of END; the
	 * next command works */
	EXPECT("get a b c\r\nget c\r\n",
	       "VALUE a 0 1\r\nx\r\nVALUE c 0 1\r\nz\r\n"
	       "SERVER_ERROR node unreachable\r\n"
	       "VALUE c 0 1\r\nz\r\nEND\r\n",
	       HIT("x", 0), DEAD, HIT("z", 0), HIT("z", 0));
	EXPECT("mg a v\r\nmg a q\r\nms a 1 q\r\nx\r\nmd a q\r\nma a q\r\n",
	       "SERVER_ERROR node unreachable\r\n"
	       "SERVER_ERROR node unreachable\r\n"
	       "SERVER_ERROR node unreachable\r\n"
	       "SERVER_ERROR node unreachable\r\n"
	       "SERVER_ERROR node unreachable\r\n",
	       DEAD, DEAD, DEAD, DEAD, DEAD);
}

/* ---- meta ---- */

static void test_mg(void **state)
{
	(void)state;
	EXPECT("mg a k v O123 q\r\n", "VA 2 ka O123\r\nhi\r\n", HIT("hi", 5));
	EXPECT("mg a s f v\r\n", "VA 2 s2 f5\r\nhi\r\n", HIT("hi", 5));
	EXPECT("mg a\r\n", "HD\r\n", HIT("hi", 5));
	EXPECT("mg a t\r\n", "HD t-1\r\n", HIT("hi", 5));
	EXPECT("mg zz k Oxx v\r\nmg zz q\r\nmg zz q k O1\r\nmn\r\n",
	       "EN kzz Oxx\r\nMN\r\n", MISS, MISS, MISS);
	{
		static const struct fake f[] = {
			{ .status = SK_OK, .res = SK_KV_OK, .value = "x",
			  .cas = 42 },
		};
		struct run r;
		char *o = feed(&r, "mg a c T30\r\n", 12, f, 1);

		assert_string_equal(o, "HD c42\r\n");
		assert_string_equal(r.log, "GAT a e30 [W]\n");
		free(o);
	}
	/* b: the key in base64; kv sees it decoded */
	{
		static const struct fake f[] = { MISS };
		struct run r;
		char *o = feed(&r, "mg Zm9v b k\r\n", 13, f, 1);

		assert_string_equal(o, "EN kZm9v b\r\n");
		assert_string_equal(r.log, "GET foo [W]\n");
		free(o);
	}
	EXPECT0("mg a b\r\n", "CLIENT_ERROR error decoding key\r\n");
	EXPECT0("mg a E\r\n", "CLIENT_ERROR invalid flag\r\n");
	EXPECT0("mg a ~\r\n", "CLIENT_ERROR invalid flag\r\n");
	EXPECT0("mg a v v\r\n", "CLIENT_ERROR duplicate flag\r\n");
	EXPECT0("mg a \x80\r\n", "CLIENT_ERROR duplicate flag\r\n");
	EXPECT0("mg a Oxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
		"CLIENT_ERROR opaque token too long\r\n");
	EXPECT0("mg a Tx\r\n",
		"CLIENT_ERROR bad token in command line format\r\n");
	EXPECT0("mg\r\n", "ERROR\r\n");
	EXPECT0("mg a s s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 "
		"s17 s18 s19\r\n",
		"CLIENT_ERROR options flags are too long\r\n");
	/* refused: memcached 1.6.18 answers these (h1, HD...); kv lacks
	 * what they need */
	EXPECT0("mg a h\r\nmg a l\r\n",
		"CLIENT_ERROR invalid flag\r\nCLIENT_ERROR invalid flag\r\n");
}

/* One command of @in, one request answered by f[0]: the answer must be
 * @out, and what was asked of kv @log (unless NULL). */
static void one_is(const char *in, const struct fake *f, const char *out,
		   const char *log)
{
	struct run r;
	char *o = feed(&r, in, strlen(in), f, 1);

	assert_string_equal(o, out);
	if (log)
		assert_string_equal(r.log, log);
	free(o);
}

/*
 * mg's t before its T: the TTL kv's touch replaced (memcached 1.6.18
 * runs the flags in order: on an item set for 100 s, "mg k t T30 v" VA 2
 * t100, then "mg k t" t30; with no expiry, "mg j t T40 c" HD t-1 c1; "mg
 * r t R200 T30" on 100 s HD t100 W).
 */
static void test_mg_ttl_order(void **state)
{
	uint32_t now = (uint32_t)time(NULL);
	const struct fake k[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "hi",
		  .expiry = now + 30, .touched = true, .before = now + 100 },
	};
	const struct fake j[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "hi", .cas = 1,
		  .expiry = now + 40, .touched = true, .before = 0 },
	};
	const struct fake r[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "hi",
		  .expiry = now + 30, .touched = true, .before = now + 100,
		  .state = SK_KV_STATE_WON },
	};
	struct run run;
	char *o;

	(void)state;
	/* the clock may turn a second between now and the answer */
	o = feed(&run, "mg k t T30 v\r\n", 14, k, 1);
	assert_true(strcmp(o, "VA 2 t100\r\nhi\r\n") == 0 ||
		    strcmp(o, "VA 2 t99\r\nhi\r\n") == 0);
	free(o);
	o = feed(&run, "mg k T30 t v\r\n", 14, k, 1);
	assert_true(strcmp(o, "VA 2 t30\r\nhi\r\n") == 0 ||
		    strcmp(o, "VA 2 t29\r\nhi\r\n") == 0);
	free(o);
	one_is("mg j t T40 c\r\n", j, "HD t-1 c1\r\n", "GAT j e40 [W]\n");
	o = feed(&run, "mg r t R200 T30\r\n", 17, r, 1);
	assert_true(strcmp(o, "HD t100 W\r\n") == 0 ||
		    strcmp(o, "HD t99 W\r\n") == 0);
	free(o);
}

/*
 * mg's win tokens (N, and the stale items md I and ms I leave): kv says
 * whether the item is stale, whether its token was won before, and
 * whether this request won it (struct sk_kv_req's state); mg prints Z, X
 * and W after the other flags. Answers from memcached 1.6.18 in the same
 * states (a miss, then N30; md I T30; a second mg).
 */
static void test_mg_tokens(void **state)
{
	static const struct fake created[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "", .cas = 1,
		  .state = SK_KV_STATE_WON | SK_KV_STATE_CREATED },
	};
	static const struct fake recached[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "v", .cas = 3,
		  .state = SK_KV_STATE_WON },
	};
	static const struct fake taken[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "", .cas = 1,
		  .state = SK_KV_STATE_TOKEN },
	};
	static const struct fake stale_won[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "hi", .cas = 8,
		  .state = SK_KV_STATE_STALE | SK_KV_STATE_WON },
	};
	static const struct fake stale_taken[] = {
		{ .status = SK_OK, .res = SK_KV_OK, .value = "hi", .cas = 8,
		  .state = SK_KV_STATE_STALE | SK_KV_STATE_TOKEN },
	};
	(void)state;
	/* "mg k1 N30 v c t s" on a miss: created, empty, won; t is N's */
	one_is("mg k1 N30 v c t s\r\n", created,
	       "VA 0 c1 t30 s0 W\r\n\r\n",
	       "GET k1 [WN] n30\n");
	/* then "mg k1 N30 s": Z */
	one_is("mg k1 N30 s\r\n", taken,
	       "HD s0 Z\r\n", NULL);
	/* a created item's t follows the flags' order: none before N or T,
	 * then the later of them; the expiry kv gets is the later one */
	one_is("mg k3 T40 N30 t\r\n", created,
	       "HD t30 W\r\n",
	       "GAT k3 e40 [WN] n30\n");
	one_is("mg k3 t N30 T40\r\n", created,
	       "HD t-1 W\r\n",
	       "GAT k3 e40 [WN] n40\n");
	one_is("mg k4 N0 t\r\n", created,
	       "HD t-1 W\r\n", NULL);
	/* a stale item (md I): the first mg wins (X W), the next sees X Z,
	 * after k and O */
	one_is("mg k1 k O5 v\r\n", stale_won,
	       "VA 2 kk1 O5 X W\r\nhi\r\n", NULL);
	one_is("mg k1 v\r\n", stale_taken,
	       "VA 2 Z X\r\nhi\r\n", NULL);
	/* get and gets never show them, and never ask to win */
	one_is("gets k1\r\n", stale_taken,
	       "VALUE k1 0 2 8\r\nhi\r\nEND\r\n",
	       "GET k1\n");
	/* R: kv decides ("mg r s R200" on an item set with T100: "HD s1
	 * W", a win that created nothing); R compares the expiry before a T
	 * that comes after it (kv's RECACHE_OLD), after one before it */
	one_is("mg r s R200\r\n", recached,
	       "HD s1 W\r\n",
	       "GET r [WR] r200\n");
	one_is("mg r R50 T10\r\n", recached,
	       "HD W\r\n",
	       "GAT r e10 [WRO] r50\n");
	one_is("mg r T10 R50\r\n", recached, "HD W\r\n",
	       "GAT r e10 [WR] r50\n");
	EXPECT0("mg r Rz\r\n",
		"CLIENT_ERROR bad token in command line format\r\n");
	/* N on a miss that kv could not create (no room): EN */
	one_is("mg k5 N30 v\r\n", (const struct fake[]){OK(SK_KV_ENOMEM)},
	       "EN\r\n", NULL);
	EXPECT0("mg k N\r\n",
		"CLIENT_ERROR bad token in command line format\r\n");
}

static void test_ms(void **state)
{
	struct run r;
	char *o;

	(void)state;
	{
		static const struct fake f[] = {
			{ .status = SK_OK, .res = SK_KV_STORED, .cas = 14 },
		};

		o = feed(&r, "ms b 2 T0 F7 k c O9\r\nhi\r\n", 25, f, 1);
		assert_string_equal(o, "HD kb c14 O9\r\n");
		assert_string_equal(r.log, "STORE b set f7 e0 c0 [hi]\n");
		free(o);
	}
	EXPECT("ms b 2 q\r\nhi\r\nms b 2 q ME\r\nhi\r\n", "NS\r\n",
	       OK(SK_KV_STORED), OK(SK_KV_NOT_STORED));
	EXPECT("ms a 2 c ME\r\nhi\r\nms a 2 c C1\r\nhi\r\nms nope 2 c MR\r\nhi\r\n",
	       "NS c0\r\nEX c0\r\nNS c0\r\n", OK(SK_KV_NOT_STORED),
	       OK(SK_KV_EXISTS), OK(SK_KV_NOT_STORED));
	{
		static const struct fake f[] = { OK(SK_KV_STORED) };

		o = feed(&r, "ms a 1 C5 MR T-1\r\nx\r\n", 21, f, 1);
		assert_string_equal(o, "HD\r\n");
		assert_string_equal(r.log, "STORE a cas f0 e-1 c5 [x]\n");
		free(o);
	}
	EXPECT0("ms b x\r\nhi\r\n",
		"CLIENT_ERROR bad command line format\r\nERROR\r\n");
	EXPECT0("ms b -1\r\n", "CLIENT_ERROR bad command line format\r\n");
	/* errors after the length swallow the value */
	EXPECT0("ms b 2 MZ\r\nhi\r\n",
		"CLIENT_ERROR invalid mode for ms M token\r\n");
	EXPECT0("ms b 2 MSS\r\nhi\r\n",
		"CLIENT_ERROR incorrect length for M token\r\n");
	EXPECT0("ms b 2 Z\r\nhi\r\n", "CLIENT_ERROR invalid flag\r\n");
	EXPECT0("ms b 2 q q\r\nhi\r\n", "CLIENT_ERROR duplicate flag\r\n");
	EXPECT0("ms b\r\n", "CLIENT_ERROR bad command line format\r\n");
	EXPECT0("ms\r\n", "ERROR\r\n");
	EXPECT0("ms b 2\r\nhiX\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n");
	EXPECT0("ms b 2 q\r\nhiX\r\n",
		"CLIENT_ERROR bad data chunk\r\nERROR\r\n");
	/* append and prepend with C: the CAS goes to kv, which tests it;
	 * C0 is none (memcached 1.6.18 on "x" with CAS 1: "ms b 1 MA C99 k
	 * O3" EX kb O3, "ms b 1 MA C1 c" HD c2, "ms b 1 MP C0 c" HD c3, "ms
	 * zz 1 MP C5" NS, "ms b 1 MA C99 q" EX) */
	{
		static const struct fake f[] = {
			OK(SK_KV_EXISTS),
			{ .status = SK_OK, .res = SK_KV_STORED, .cas = 2 },
			{ .status = SK_OK, .res = SK_KV_STORED, .cas = 3 },
			OK(SK_KV_NOT_STORED), OK(SK_KV_EXISTS),
		};
		const char *in = "ms b 1 MA C99 k O3\r\ny\r\nms b 1 MA C1 c\r\ny\r\n"
				 "ms b 1 MP C0 c\r\nz\r\nms zz 1 MP C5\r\ny\r\n"
				 "ms b 1 MA C99 q\r\ny\r\n";

		o = feed(&r, in, strlen(in), f, 5);
		assert_string_equal(o, "EX kb O3\r\nHD c2\r\nHD c3\r\nNS\r\n"
				       "EX\r\n");
		assert_string_equal(r.log,
				    "STORE b append f0 e0 c99 [y]\n"
				    "STORE b append f0 e0 c1 [y]\n"
				    "STORE b prepend f0 e0 c0 [z]\n"
				    "STORE zz prepend f0 e0 c5 [y]\n"
				    "STORE b append f0 e0 c99 [y]\n");
		free(o);
	}
	{
		char in[64];
		int n = snprintf(in, sizeof(in), "ms b %zu q\r\n",
				 settings.item_max + 1);

		static const struct fake fd[] = { OK(SK_KV_DELETED) };

		/* memcached also drops the key's old item (no stale data) */
		o = feed(&r, in, (size_t)n, fd, 1);
		assert_string_equal(
			o, "SERVER_ERROR object too large for cache\r\n");
		assert_non_null(strstr(r.log, "DELETE b\n"));
		assert_int_equal(r.c.pub.swallow, settings.item_max + 3);
		free(o);
	}
	/* I: a cas (C, in set or replace mode) may store a stale item; kv
	 * decides by the CAS. Without C, or in append mode, I changes
	 * nothing (memcached 1.6.18: "ms a 2 C1 I" under a newer CAS is HD,
	 * "ms a 2 C1 I MA" is EX, "ms a 2 C1 I ME" is NS, "ms a 2 I" is
	 * HD). */
	{
		static const struct fake f[] = {
			{ .status = SK_OK, .res = SK_KV_STORED, .cas = 9 },
			OK(SK_KV_EXISTS), OK(SK_KV_NOT_STORED),
			{ .status = SK_OK, .res = SK_KV_STORED, .cas = 10 },
			{ .status = SK_OK, .res = SK_KV_STORED, .cas = 11 },
		};
		const char *in = "ms a 2 C1 I c\r\nv2\r\nms a 2 C1 I MA\r\nv6\r\n"
				 "ms a 2 C1 I ME\r\nv7\r\nms a 2 I\r\nv5\r\n"
				 "ms a 2 C3 MR I\r\nv8\r\n";

		o = feed(&r, in, strlen(in), f, 5);
		assert_string_equal(o, "HD c9\r\nEX\r\nNS\r\nHD\r\nHD\r\n");
		assert_string_equal(r.log,
				    "STORE a cas f0 e0 c1 [v2] [I]\n"
				    "STORE a append f0 e0 c1 [v6]\n"
				    "STORE a add f0 e0 c1 [v7]\n"
				    "STORE a set f0 e0 c0 [v5]\n"
				    "STORE a cas f0 e0 c3 [v8] [I]\n");
		free(o);
	}
}

static void test_md(void **state)
{
	struct run r;
	char *o;

	(void)state;
	EXPECT("md b q\r\nmd b q\r\nmd b k O5 v\r\n", "NF\r\nNF kb O5\r\n",
	       OK(SK_KV_DELETED), MISS, MISS);
	EXPECT("md b\r\n", "HD\r\n", OK(SK_KV_DELETED));
	EXPECT0("md b Z\r\nmd b k k\r\nmd\r\n",
		"CLIENT_ERROR invalid or duplicate flag\r\n"
		"CLIENT_ERROR invalid or duplicate flag\r\nERROR\r\n");
	/* C: only the item with that CAS goes; EX shows despite q, and so
	 * do the O and k flags (memcached 1.6.18, "mg b c" then c1: "md b
	 * C99 q k O5" EX kb O5, "md b C0" EX, "md b C1 k O5" HD kb O5, "md
	 * b C1 q" NF; C0 matches no item, so skcached asks with a GET) */
	{
		static const struct fake f[] = {
			OK(SK_KV_EXISTS), HIT("x", 0), OK(SK_KV_DELETED), MISS,
			MISS,
		};

		const char *in = "md b C99 q k O5\r\nmd b C0\r\nmd b C1 k O5\r\n"
				 "md b C1 q\r\nmd b C0 q\r\n";

		o = feed(&r, in, strlen(in), f, 5);
		assert_string_equal(o, "EX kb O5\r\nEX\r\nHD kb O5\r\nNF\r\n"
				       "NF\r\n");
		assert_string_equal(r.log, "DELETE b c99\nGET b\nDELETE b c1\n"
					   "DELETE b c1\nGET b\n");
		free(o);
	}
	/* I: the item stays, stale; T gives it an expiry; q hides HD but not
	 * EX or NF (memcached 1.6.18: "md k1 I T30", "md a I q",
	 * "md a I C1" on another CAS, "md b I" on a miss) */
	{
		static const struct fake f[] = {
			OK(SK_KV_DELETED), OK(SK_KV_DELETED),
			OK(SK_KV_EXISTS), OK(SK_KV_NOT_FOUND),
		};
		const char *in = "md k1 I T30\r\nmd a I q\r\nmd a I C1\r\n"
				 "md b I k\r\n";

		o = feed(&r, in, strlen(in), f, 4);
		assert_string_equal(o, "HD\r\nEX\r\nNF kb\r\n");
		assert_string_equal(r.log, "DELETE k1 e30 [IT]\nDELETE a [I]\n"
					   "DELETE a c1 [I]\nDELETE b [I]\n");
		free(o);
	}
	/* C0 matches no item, I or not: a GET */
	{
		static const struct fake f[] = { HIT("x", 0) };

		o = feed(&r, "md a C0 I\r\n", 11, f, 1);
		assert_string_equal(o, "EX\r\n");
		assert_string_equal(r.log, "GET a\n");
		free(o);
	}
}

static void test_ma(void **state)
{
	struct run r;
	char *o;

	(void)state;
	EXPECT("ma n\r\nma n q\r\n", "NF\r\nNF\r\n", MISS, MISS);
	/* N: the miss becomes an add of J's number */
	{
		static const struct fake f[] = { MISS, OK(SK_KV_STORED) };

		o = feed(&r, "ma n N0 J10 v\r\n", 15, f, 2);
		assert_string_equal(o, "VA 2\r\n10\r\n");
		assert_string_equal(r.log, "INCR n d1\nSTORE n add f0 e0 c0 "
					   "[10]\n");
		free(o);
	}
	/* N and T on a created item: the later one's TTL (memcached
	 * 1.6.18: "ma x2 N100 T5" then mg t: t5; "T5 N100": t100) */
	{
		static const struct fake f[] = {
			MISS, OK(SK_KV_STORED), MISS, OK(SK_KV_STORED),
		};

		o = feed(&r, "ma x2 N100 T5\r\nma x3 T5 N100\r\n", 31, f, 4);
		assert_string_equal(o, "HD\r\nHD\r\n");
		assert_string_equal(r.log, "INCR x2 d1\nSTORE x2 add f0 e5 c0 "
					   "[0]\nINCR x3 d1\nSTORE x3 add f0 "
					   "e100 c0 [0]\n");
		free(o);
	}
	/* ...which q does not hide (memcached 1.6.18: "VA 1\r\n5\r\n") */
	EXPECT("ma vv1 q N0 J5 v\r\nma vv1 q N0 v\r\nmn\r\n",
	       "VA 1\r\n5\r\nMN\r\n", MISS, OK(SK_KV_STORED),
	       { .status = SK_OK, .res = SK_KV_OK, .number = 5 });
	EXPECT("ma n v MD D3\r\nma n q D2\r\n", "VA 1\r\n7\r\n",
	       { .status = SK_OK, .res = SK_KV_OK, .number = 7 },
	       { .status = SK_OK, .res = SK_KV_OK, .number = 9 });
	EXPECT("ma a\r\n", "CLIENT_ERROR cannot increment or decrement "
			   "non-numeric value\r\n", OK(SK_KV_ENONNUM));
	/* T: the new TTL after the number */
	{
		static const struct fake f[] = {
			{ .status = SK_OK, .res = SK_KV_OK, .number = 12 },
			OK(SK_KV_TOUCHED),
		};

		o = feed(&r, "ma n T10 v\r\n", 12, f, 2);
		assert_string_equal(o, "VA 2\r\n12\r\n");
		assert_string_equal(r.log, "INCR n d1\nTOUCH n e10\n");
		free(o);
	}
	/* ... but not after a number that outgrew its value: memcached
	 * gives T to the item it replaced ("99", "ma n T30 t v": VA 3 t30
	 * and 100; "mg n t" then t-1; from "99 " the same ma leaves t30) */
	{
		static const struct fake f[] = {
			{ .status = SK_OK, .res = SK_KV_OK, .number = 100,
			  .state = SK_KV_STATE_GREW },
		};

		o = feed(&r, "ma n T30 t v\r\n", 14, f, 1);
		assert_string_equal(o, "VA 3 t30\r\n100\r\n");
		assert_string_equal(r.log, "INCR n d1\n");
		free(o);
	}
	EXPECT0("ma n MX\r\nma n Dx\r\n",
		"CLIENT_ERROR invalid mode for ma M token\r\n"
		"CLIENT_ERROR invalid or duplicate flag\r\n");
	/* C, c and t (memcached 1.6.18 on "10" with CAS 2, no expiry:
	 * "ma n C99 c t k O1" EX kn O1, "ma n C99 q" EX, "ma n C2 c t v"
	 * VA 2 c3 t-1 and 11, "ma n C0 c t" HD c4 t-1: C0 is no test) */
	{
		static const struct fake f[] = {
			OK(SK_KV_EXISTS), OK(SK_KV_EXISTS),
			{ .status = SK_OK, .res = SK_KV_OK, .number = 11,
			  .cas = 3 },
			{ .status = SK_OK, .res = SK_KV_OK, .number = 12,
			  .cas = 4 },
		};

		const char *in = "ma n C99 c t k O1\r\nma n C99 q\r\n"
				 "ma n C2 c t v\r\nma n C0 c t\r\n";

		o = feed(&r, in, strlen(in), f, 4);
		assert_string_equal(o, "EX kn O1\r\nEX\r\nVA 2 c3 t-1\r\n11\r\n"
				       "HD c4 t-1\r\n");
		assert_string_equal(r.log, "INCR n d1 c99\nINCR n d1 c99\n"
					   "INCR n d1 c2\nINCR n d1\n");
		free(o);
	}
	/* t: the TTL before a T after it, the T's after (memcached on an
	 * item set for 300 s: "ma n t T100" HD t300, then "ma n T200 t c"
	 * HD t200 c3); on a created item the N's or T's, in their order
	 * ("ma zz4 t N50" HD t-1, "ma zz2 N50 t c" HD t50 c7, "ma zz5 N50
	 * T20 t" HD t20) */
	{
		struct fake f[] = {
			{ .status = SK_OK, .res = SK_KV_OK, .number = 11,
			  .cas = 2, .expiry = 0 },
			OK(SK_KV_TOUCHED),
			{ .status = SK_OK, .res = SK_KV_OK, .number = 12,
			  .cas = 3 },
			OK(SK_KV_TOUCHED),
			MISS, { .status = SK_OK, .res = SK_KV_STORED,
				.cas = 7 },
			MISS, OK(SK_KV_STORED),
			MISS, OK(SK_KV_STORED),
		};
		const char *in = "ma n t T100\r\nma n T200 t c\r\n"
				 "ma zz2 N50 t c\r\nma zz4 t N50\r\n"
				 "ma zz5 N50 T20 t\r\n";

		/* an expiry 300 s from now, as kv would answer it */
		f[0].expiry = (uint32_t)time(NULL) + 300;
		o = feed(&r, in, strlen(in), f, 10);
		assert_true(strcmp(o, "HD t300\r\nHD t200 c3\r\nHD t50 c7\r\n"
				      "HD t-1\r\nHD t20\r\n") == 0 ||
			    strcmp(o, "HD t299\r\nHD t200 c3\r\nHD t50 c7\r\n"
				      "HD t-1\r\nHD t20\r\n") == 0);
		free(o);
	}
	/* the CAS test comes before the digits are read (memcached: "ma m
	 * C1" on "ab" EX) */
	EXPECT("ma m C1\r\n", "EX\r\n", OK(SK_KV_EXISTS));
}

/* The rest of memcached 1.6.18's meta error strings. */
static void test_meta_errors(void **state)
{
	(void)state;
	EXPECT0("ms b 2 Jx\r\nhi\r\nms b 2 Dx\r\nhi\r\nms b 2 Fx\r\nhi\r\n"
		"ms b 2 Cx\r\nhi\r\nmn\r\n",
		"CLIENT_ERROR invalid numeric initial value\r\n"
		"CLIENT_ERROR invalid numeric delta value\r\n"
		"CLIENT_ERROR bad command line format\r\n"
		"CLIENT_ERROR bad token in command line format\r\nMN\r\n");
	/* too many flags: refused before the length, so no swallow */
	EXPECT0("ms b 2 s s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 "
		"s17\r\nhi\r\n"
		"md b s s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 s17 "
		"s18\r\n"
		"ma b s s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14 s15 s16 s17 "
		"s18\r\n",
		"CLIENT_ERROR options flags too long\r\nERROR\r\n"
		"CLIENT_ERROR options flags too long\r\n"
		"CLIENT_ERROR options flags too long\r\n");
	/* 32 bytes of opaque are fine, 33 are not */
	EXPECT("mg zz Oxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n",
	       "EN Oxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n", MISS);
	EXPECT0("md b Oxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
		"ma zz Oxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
		"ms b 2 Oxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nhi\r\nmn\r\n",
		"CLIENT_ERROR opaque token too long\r\n"
		"CLIENT_ERROR opaque token too long\r\n"
		"CLIENT_ERROR opaque token too long\r\nMN\r\n");
	/* kv's refusals, in memcached's words */
	EXPECT("ms b 1\r\nx\r\nset b 0 0 1\r\nx\r\nincr n 1\r\n"
	       "set b 0 0 1\r\nx\r\n",
	       "SERVER_ERROR out of memory storing object\r\n"
	       "SERVER_ERROR out of memory storing object\r\n"
	       "SERVER_ERROR out of memory\r\n"
	       "SERVER_ERROR object too large for cache\r\n",
	       OK(SK_KV_ENOMEM), OK(SK_KV_ENOMEM), OK(SK_KV_ENOMEM_DELTA),
	       OK(SK_KV_ETOOLARGE));
}

static void test_me(void **state)
{
	(void)state;
	/* memcached: "ME a exp=-1 la=0 cas=2 fetch=yes cls=1 size=61";
	 * kv knows no la, fetch or cls, and size is the value's */
	EXPECT("me a\r\nme zz\r\nme\r\n",
	       "ME a exp=-1 cas=0 size=2\r\nEN\r\n"
	       "CLIENT_ERROR bad command line format\r\n",
	       HIT("hi", 0), MISS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_gat),
		cmocka_unit_test(test_get_key_limit),
		cmocka_unit_test(test_get_many_keys),
		cmocka_unit_test(test_storage),
		cmocka_unit_test(test_bad_data_chunk),
		cmocka_unit_test(test_value_limit),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_arith),
		cmocka_unit_test(test_touch),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_flush_stats),
		cmocka_unit_test(test_stats_reset_sizes),
		cmocka_unit_test(test_stats_classes_dump),
		cmocka_unit_test(test_metadump),
		cmocka_unit_test(test_stats_detail),
		cmocka_unit_test(test_stats_conns),
		cmocka_unit_test(test_pipeline),
		cmocka_unit_test(test_partial),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_dead_node),
		cmocka_unit_test(test_mg),
		cmocka_unit_test(test_mg_tokens),
		cmocka_unit_test(test_mg_ttl_order),
		cmocka_unit_test(test_ms),
		cmocka_unit_test(test_md),
		cmocka_unit_test(test_ma),
		cmocka_unit_test(test_meta_errors),
		cmocka_unit_test(test_me),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
