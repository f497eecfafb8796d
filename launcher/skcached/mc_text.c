/*
 * skcached: memcached's text and meta protocols (mc.h's mc_text_parse and
 * the finish functions that write their answers), as memcached 1.6.18's
 * proto_text.c behaves: its tokenizer (spaces only, a NUL ends the line,
 * "\r\n" or "\n"), its number parsers (util.c's safe_strto*, glibc's
 * strtol and strtoul in the C locale, 64-bit long), its checks in its
 * order, and its strings. Where kv cannot do what a command asks, the
 * command is refused with the error memcached gives for it rather than
 * half done (the meta flags listed at meta_refused()).
 *
 * Deliberate differences, each because of kv or of mc.h's bounds:
 * - A value may be settings->item_max bytes, no more; memcached counts
 *   its item header against -I too, so its largest value is a little
 *   smaller.
 * - A key kv refuses (a control byte in it: kv's rule, memcached only
 *   forbids spaces) is a miss for a get and "CLIENT_ERROR bad command
 *   line format" for the others: such a key can never have been stored.
 * - memcached reads a multi-get of any length; ours stops at
 *   MC_GET_KEYS_MAX keys (see get_parse) and at the line such a get
 *   takes at most (GET_LINE_MAX).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc.h"

#define MAX_TOKENS 24            /* proto_text.c */
#define MFLAG_MAX_OPT_LENGTH 20  /* meta: tokens of a line, at most */
#define MFLAG_MAX_OPAQUE_LENGTH 32
#define MAX_VERBOSITY_LEVEL 2
/* memcached lets a get line go on past MC_LINE_MAX without its newline
 * (its multi-gets are unbounded); ours ends where MC_GET_KEYS_MAX keys of
 * MC_KEY_MAX bytes and memcached's 100 leading spaces would. */
#define GET_LINE_MAX (100u + 5u + MC_GET_KEYS_MAX * (MC_KEY_MAX + 1u) + 2u)

#define S_EFORMAT "CLIENT_ERROR bad command line format"

enum tkind {
	TK_MSG,         /* a fixed answer (or none): errors, mn, version */
	TK_GET,         /* get, gets, gat, gats */
	TK_STORE,       /* set, add, replace, append, prepend, cas */
	TK_DELETE,
	TK_ARITH,       /* incr, decr */
	TK_TOUCH,
	TK_VERBOSITY,
	TK_FLUSH,
	TK_STATS,
	TK_MG,
	TK_MS,
	TK_MD,
	TK_MA,
	TK_ME,
};

/* A command's own part (cmd->priv), followed by its keys, value and meta
 * flag tokens. */
struct tcmd {
	enum tkind kind;
	const char *msg;        /* TK_MSG: the line without "\r\n", or NULL */
	bool noreply;           /* text noreply, meta q */
	bool cas;               /* gets, gats */
	bool bad_key;           /* gat, gats: a key past 250 bytes came
	                         * after these, which were touched */
	bool value;             /* meta v */
	bool key_binary;        /* meta b: k prints the key in base64 */
	unsigned verbose;       /* TK_VERBOSITY */
	/* stats detail: what it counts for the key pfx_key when it is
	 * answered (memcached counts a command as it runs it, and a
	 * pipelined "stats detail on" runs before the commands after it):
	 * 1 + enum mc_prefix_count, or 0 for nothing */
	int pfx;
	const char *pfx_key;
	size_t pfx_klen;
	/* meta: the key as kv sees it (decoded), and the flag tokens of the
	 * line after it, each NUL-terminated, in their order. */
	const char *key;
	size_t klen;
	const char *flags;
	unsigned nflags;
	/* ma: T, N and J; the rounds of the finish (mc.h's re-arm). */
	bool ttl, vivify;
	bool ttl_last;          /* T comes after N: memcached applies both
	                         * to a created item in order */
	int32_t exptime, viv_exptime;
	uint64_t initial;
	int round;              /* 0 the incr, 1 its touch, 2 N's add */
	uint64_t number;        /* ma: the answer of round 0 */
	uint64_t new_cas;       /* ma: the item's CAS after round 0 or 2 */
	uint32_t expiry;        /* ma: its expiry after round 0 (kv's) */
	char numbuf[24];        /* ma N: the initial value, stored */
};

struct token {
	char *value;
	size_t length;
};

/* ---- memcached's helpers ---- */

/* isspace() in the C locale (util.c's xisspace) */
static bool xisspace(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* util.c's safe_strtoul, safe_strtol and safe_strtoull on a NUL-terminated
 * token; like memcached on a 64-bit host, the 32-bit ones keep the low
 * bits of what strtoul and strtol read. */
static bool safe_strtoul(const char *str, uint32_t *out)
{
	char *end;
	unsigned long l;

	*out = 0;
	errno = 0;
	l = strtoul(str, &end, 10);
	if (errno == ERANGE || str == end)
		return false;
	if (xisspace(*end) || *end == '\0') {
		if ((long)l < 0 && strchr(str, '-') != NULL)
			return false;
		*out = (uint32_t)l;
		return true;
	}
	return false;
}

static bool safe_strtol(const char *str, int32_t *out)
{
	char *end;
	long l;

	*out = 0;
	errno = 0;
	l = strtol(str, &end, 10);
	if (errno == ERANGE || str == end)
		return false;
	if (xisspace(*end) || *end == '\0') {
		*out = (int32_t)l;
		return true;
	}
	return false;
}

static bool safe_strtoull(const char *str, uint64_t *out)
{
	char *end;
	unsigned long long ull;

	*out = 0;
	errno = 0;
	ull = strtoull(str, &end, 10);
	if (errno == ERANGE || str == end)
		return false;
	if (xisspace(*end) || *end == '\0') {
		if ((long long)ull < 0 && strchr(str, '-') != NULL)
			return false;
		*out = ull;
		return true;
	}
	return false;
}

/* proto_text.c's tokenize_command over a NUL-terminated @command:
 * tokens split at spaces, at most @max - 1 of them, then the terminal
 * token (length 0; value NULL when the whole line was read, else the rest
 * of it). Returns the tokens counted with the terminal one. */
static size_t tokenize(char *command, struct token *tokens, size_t max)
{
	size_t ntokens = 0, len = strlen(command), i;
	char *s, *e;

	s = e = command;
	for (i = 0; i < len; i++) {
		if (*e == ' ') {
			if (s != e) {
				tokens[ntokens].value = s;
				tokens[ntokens].length = (size_t)(e - s);
				ntokens++;
				*e = '\0';
				if (ntokens == max - 1) {
					e++;
					s = e;
					break;
				}
			}
			s = e + 1;
		}
		e++;
	}
	if (s != e) {
		tokens[ntokens].value = s;
		tokens[ntokens].length = (size_t)(e - s);
		ntokens++;
	}
	tokens[ntokens].value = *e == '\0' ? NULL : e;
	tokens[ntokens].length = 0;
	return ntokens + 1;
}

/* base64.c's decoder (memcached's): bytes outside the alphabet are
 * skipped, '=' pads; 0 for anything it cannot decode. In place is fine:
 * the output never overtakes the input. */
static int b64_val(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	if (ch == '=')
		return 0;
	return -1;
}

static size_t b64_decode(const unsigned char *src, size_t len,
			 unsigned char *out)
{
	unsigned char block[4], *pos = out;
	size_t i, count = 0;
	int pad = 0, v;

	for (i = 0; i < len; i++)
		if (b64_val(src[i]) >= 0)
			count++;
	if (count == 0 || count % 4)
		return 0;
	count = 0;
	for (i = 0; i < len; i++) {
		v = b64_val(src[i]);
		if (v < 0)
			continue;
		if (src[i] == '=')
			pad++;
		block[count++] = (unsigned char)v;
		if (count == 4) {
			*pos++ = (unsigned char)((block[0] << 2) |
						 (block[1] >> 4));
			*pos++ = (unsigned char)((block[1] << 4) |
						 (block[2] >> 2));
			*pos++ = (unsigned char)((block[2] << 6) | block[3]);
			count = 0;
			if (pad) {
				if (pad == 1)
					pos--;
				else if (pad == 2)
					pos -= 2;
				else
					return 0;
				break;
			}
		}
	}
	return (size_t)(pos - out);
}

static void out_b64(struct mc_conn *c, const unsigned char *in, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];

	for (; len >= 3; in += 3, len -= 3) {
		q[0] = tab[in[0] >> 2];
		q[1] = tab[((in[0] & 3) << 4) | (in[1] >> 4)];
		q[2] = tab[((in[1] & 15) << 2) | (in[2] >> 6)];
		q[3] = tab[in[2] & 63];
		mc_out(c, q, 4);
	}
	if (len) {
		q[0] = tab[in[0] >> 2];
		if (len == 1) {
			q[1] = tab[(in[0] & 3) << 4];
			q[2] = '=';
		} else {
			q[1] = tab[((in[0] & 3) << 4) | (in[1] >> 4)];
			q[2] = tab[(in[1] & 15) << 2];
		}
		q[3] = '=';
		mc_out(c, q, 4);
	}
}

/* ---- answers ---- */

static struct tcmd *tc_of(struct mc_cmd *cmd)
{
	return cmd->priv;
}

static void out_line(struct mc_conn *c, const char *s)
{
	mc_out(c, s, strlen(s));
	mc_out(c, "\r\n", 2);
}

/* What a failed request (its node dead or lost) answers, short. */
static const char *status_reason(sk_status_t st)
{
	switch (st) {
	case SK_ERR_UNREACHABLE:
	case SK_ERR_NOT_CONNECTED:
	case SK_ERR_RETRY_EXCEEDED:
	case SK_ERR_FLUSHED:
		return "node unreachable";
	case SK_ERR_TIMEOUT:
		return "node timed out";
	case SK_ERR_NOMEM:
		return "out of memory";
	default:
		return "kv request failed";
	}
}

static void out_failed(struct mc_conn *c, const struct sk_kv_req *r)
{
	mc_outf(c, "SERVER_ERROR %s\r\n", status_reason(r->status));
}

/* memcached's line for a kv outcome of the classic commands. */
static const char *res_text(enum sk_kv_res res)
{
	switch (res) {
	case SK_KV_STORED: return "STORED";
	case SK_KV_NOT_STORED: return "NOT_STORED";
	case SK_KV_EXISTS: return "EXISTS";
	case SK_KV_NOT_FOUND: return "NOT_FOUND";
	case SK_KV_DELETED: return "DELETED";
	case SK_KV_TOUCHED: return "TOUCHED";
	case SK_KV_EFORMAT: return S_EFORMAT;
	case SK_KV_ENONNUM:
		return "CLIENT_ERROR cannot increment or decrement "
		       "non-numeric value";
	case SK_KV_ETOOLARGE: return "SERVER_ERROR object too large for cache";
	case SK_KV_ENOMEM: return "SERVER_ERROR out of memory storing object";
	case SK_KV_ENOMEM_DELTA: return "SERVER_ERROR out of memory";
	default: return "SERVER_ERROR Unhandled storage type.";
	}
}

/* stats detail's count of @cmd, once it runs (tcmd's pfx). */
static void tc_count(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);

	if (t->pfx)
		mc_detail_count(c, t->pfx_key, t->pfx_klen,
				(enum mc_prefix_count)(t->pfx - 1), 0);
}

static int finish_msg(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);

	tc_count(c, cmd);
	if (t->msg)
		out_line(c, t->msg);
	return 0;
}

/* A command that only answers @msg (NULL: nothing); NULL when out of
 * memory. */
static struct mc_cmd *msg_cmd(const char *msg)
{
	struct mc_cmd *cmd = mc_cmd_new(0, sizeof(struct tcmd));

	if (cmd == NULL)
		return NULL;
	cmd->finish = finish_msg;
	tc_of(cmd)->kind = TK_MSG;
	tc_of(cmd)->msg = msg;
	return cmd;
}

/*
 * get, gets, gat, gats. A key whose node failed makes the whole answer
 * end in "SERVER_ERROR <reason>" instead of END, after the values that
 * were found: the form memcached itself gives a multi-get it cannot
 * finish ("SERVER_ERROR out of memory writing get response" in place of
 * END), which clients read as a failed get rather than as misses. The
 * next command goes to the nodes afresh.
 */
static int finish_get(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);
	const struct sk_kv_req *failed = NULL;
	unsigned i;

	for (i = 0; i < cmd->nreq; i++) {
		const struct sk_kv_req *r = &cmd->req[i];

		mc_detail_count(c, r->key, r->klen, MC_PFX_GET,
				r->status == SK_OK && r->res == SK_KV_OK);
		if (t->bad_key)
			continue;
		if (r->status != SK_OK) {
			if (failed == NULL)
				failed = r;
			continue;
		}
		if (r->res != SK_KV_OK)
			continue;  /* a miss; a key kv refuses is one too */
		if (r->vlen && (r->buf == NULL || r->cap < r->vlen)) {
			if (failed == NULL)
				failed = r;
			continue;
		}
		mc_out(c, "VALUE ", 6);
		mc_out(c, r->key, r->klen);
		mc_out(c, " ", 1);
		mc_out_u64(c, r->flags);
		mc_out(c, " ", 1);
		mc_out_u64(c, r->vlen);
		if (t->cas) {
			mc_out(c, " ", 1);
			mc_out_u64(c, r->cas);
		}
		mc_out(c, "\r\n", 2);
		mc_out(c, r->buf, r->vlen);
		mc_out(c, "\r\n", 2);
	}
	if (t->bad_key)
		out_line(c, S_EFORMAT);
	else if (failed && failed->status != SK_OK)
		out_failed(c, failed);
	else if (failed)
		out_line(c, "SERVER_ERROR value lost");
	else
		mc_out(c, "END\r\n", 5);
	return 0;
}

/* set and co., delete, touch: one request, one line. */
static int finish_one(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);
	const struct sk_kv_req *r = &cmd->req[0];

	tc_count(c, cmd);
	if (t->noreply)
		return 0;
	if (r->status != SK_OK)
		out_failed(c, r);
	else
		out_line(c, res_text(r->res));
	return 0;
}

static int finish_arith(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);
	const struct sk_kv_req *r = &cmd->req[0];

	if (t->noreply)
		return 0;
	if (r->status != SK_OK)
		out_failed(c, r);
	else if (r->res == SK_KV_OK)
		mc_outf(c, "%" PRIu64 "\r\n", r->number);
	else
		out_line(c, res_text(r->res));
	return 0;
}

static int finish_verbosity(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);
	struct mc_conn_pub *pub = mc_conn_pub(c);

	if (pub->settings_rw)
		pub->settings_rw->verbose = (int)t->verbose;
	if (!t->noreply)
		out_line(c, "OK");
	return 0;
}

static int finish_flush(struct mc_conn *c, struct mc_cmd *cmd)
{
	if (tc_of(cmd)->noreply)
		return 0;
	if (cmd->special_status != 0)
		out_line(c, "SERVER_ERROR flush failed on a node");
	else
		out_line(c, "OK");
	return 0;
}

static void stat_line(void *arg, const char *name, const char *value)
{
	mc_outf(arg, "STAT %s %s\r\n", name, value);
}

static int finish_stats(struct mc_conn *c, struct mc_cmd *cmd)
{
	if (cmd->special_status != 0) {
		out_line(c, "SERVER_ERROR stats unavailable");
		return 0;
	}
	/* mc_stats_each refuses an unknown group before it prints. */
	if (mc_stats_each(c, cmd->stats_group, stat_line, c) != 0) {
		out_line(c, "ERROR");
		return 0;
	}
	if (strcmp(cmd->stats_group, "reset") == 0)
		out_line(c, "RESET");
	else
		mc_out(c, "END\r\n", 5);
	return 0;
}

/*
 * memcached's metadump lines (crawler.c, crawler_metadump_eval): "key=K
 * exp=E cas=C cls=N size=S\n", the key URI-encoded as memcached encodes
 * it (util.c, uriencode: all but letters, digits and "-._~" as %XX), E
 * the expiry in Unix seconds or -1 for none, S the item's bytes in its
 * owner's store. memcached's la (last access) and fetch (fetched since
 * set) are not there: kv keeps no access time, and GETs are one-sided
 * READs the owners never see. Expired items are not listed.
 */
void mc_metadump_lines(struct mc_conn *c, struct mc_cmd *cmd)
{
	static const char hex[] = "0123456789ABCDEF";
	const struct sk_kv_dump_ent *e;
	const uint8_t *key;
	size_t off = 0;

	while ((e = sk_kv_dump_next(cmd->dump_buf, cmd->dump_len, &off,
				    &key)) != NULL) {
		char line[4 + 3 * 250 + 96], *o = line;

		memcpy(o, "key=", 4);
		o += 4;
		for (uint32_t i = 0; i < e->klen; i++) {
			uint8_t b = key[i];

			if ((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
			    (b >= '0' && b <= '9') || b == '-' || b == '.' ||
			    b == '_' || b == '~') {
				*o++ = (char)b;
			} else {
				*o++ = '%';
				*o++ = hex[b >> 4];
				*o++ = hex[b & 15];
			}
		}
		o += snprintf(o, (size_t)(line + sizeof(line) - o),
			      " exp=%lld cas=%llu cls=%u size=%llu\n",
			      e->exptime ? (long long)e->exptime : -1ll,
			      (unsigned long long)e->cas, cmd->dump_class,
			      (unsigned long long)sk_kv_item_bytes(e->klen,
								   e->vlen));
		mc_out(c, line, (size_t)(o - line));
	}
	cmd->dump_len = 0;
	cmd->dump_n = 0;
}

static int finish_metadump(struct mc_conn *c, struct mc_cmd *cmd)
{
	if (cmd->special_status != 0) {
		out_line(c, "SERVER_ERROR out of memory writing stats");
		return 0;
	}
	mc_metadump_lines(c, cmd);
	mc_out(c, "END\r\n", 5);
	return 0;
}

/*
 * memcached's cachedump lines (items.c, item_cachedump): "ITEM key
 * [value bytes b; expiry s]", the expiry in Unix seconds (0: never), up
 * to limit keys (0: no limit) and MC_DUMP_MAX bytes with the END. Keys
 * with a space, CR or LF are left out, as memcached leaves out its binary
 * keys (the only ones that can hold them there): they would break the
 * lines.
 */
static int finish_dump(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct sk_kv_dump_ent *e;
	const uint8_t *key;
	size_t off = 0, bytes = 0;
	unsigned shown = 0;
	char line[64];

	if (cmd->special_status != 0) {
		out_line(c, "SERVER_ERROR out of memory writing stats");
		return 0;
	}
	while ((cmd->dump_limit == 0 || shown < cmd->dump_limit) &&
	       (e = sk_kv_dump_next(cmd->dump_buf, cmd->dump_len, &off,
				    &key)) != NULL) {
		int n;

		if (memchr(key, ' ', e->klen) || memchr(key, '\r', e->klen) ||
		    memchr(key, '\n', e->klen))
			continue;
		n = snprintf(line, sizeof(line), " [%u b; %u s]\r\n", e->vlen,
			     e->exptime);
		if (n < 0 || (size_t)n >= sizeof(line) ||
		    bytes + 5 + e->klen + (size_t)n + 5 > MC_DUMP_MAX)
			break;
		mc_out(c, "ITEM ", 5);
		mc_out(c, key, e->klen);
		mc_out(c, line, (size_t)n);
		bytes += 5 + e->klen + (size_t)n;
		shown++;
	}
	mc_out(c, "END\r\n", 5);
	return 0;
}

static void detail_put(void *arg, const void *p, size_t n)
{
	mc_out(arg, p, n);
}

static int finish_detail(struct mc_conn *c, struct mc_cmd *cmd)
{
	if (cmd->detail_op == 0)
		out_line(c, "CLIENT_ERROR usage: stats detail on|off|dump");
	else if (cmd->detail_op == 'd')
		mc_detail(c, 'd', detail_put, c);
	else {
		mc_detail(c, cmd->detail_op, NULL, NULL);
		out_line(c, "OK");
	}
	return 0;
}

/* ---- meta answers ---- */

/* The flag tokens of @t, one by one. */
#define for_each_flag(t, f, i)                                                 \
	for ((i) = 0, (f) = (t)->flags; (i) < (t)->nflags;                     \
	     (i)++, (f) += strlen(f) + 1)

static void out_meta_key(struct mc_conn *c, const struct tcmd *t)
{
	mc_out(c, " k", 2);
	if (t->key_binary) {
		out_b64(c, (const unsigned char *)t->key, t->klen);
		mc_out(c, " b", 2);
	} else {
		mc_out(c, t->key, t->klen);
	}
}

/* Flag token @f if it is O (echoed) or k (the key), which every meta
 * answer returns in the flags' order; false for any other. */
static bool out_meta_echo(struct mc_conn *c, const struct tcmd *t,
			  const char *f)
{
	if (f[0] == 'O') {
		mc_out(c, " ", 1);
		mc_out(c, f, strlen(f));
		return true;
	}
	if (f[0] == 'k') {
		out_meta_key(c, t);
		return true;
	}
	return false;
}

/* The O and k flags, all a miss or a failure returns. */
static void out_meta_ok(struct mc_conn *c, const struct tcmd *t)
{
	const char *f;
	unsigned i;

	for_each_flag(t, f, i)
		out_meta_echo(c, t, f);
}

static uint32_t ttl_left(uint32_t expiry)
{
	uint32_t now = mc_unix_now();

	return expiry > now ? expiry - now : 0;
}

/* memcached reads an exptime over 30 days as Unix time (REALTIME_MAXDELTA) */
#define REALTIME_MAXDELTA (60 * 60 * 24 * 30)

/*
 * The t flag, as memcached prints it->exptime less its clock: -1 for none;
 * the seconds left of the item's @expiry as kv holds it; or, on ma after a
 * T (or N on a created item), the exptime @given, which memcached prints
 * back exactly when it is relative. (An exptime already past expires the
 * item: memcached then prints its clock's wrap-around, 0 here.)
 */
static void out_meta_ttl(struct mc_conn *c, bool given, int32_t exptime,
			 uint32_t expiry)
{
	if (given) {
		if (exptime == 0)
			mc_out(c, " t-1", 4);
		else if (exptime > 0 && exptime <= REALTIME_MAXDELTA)
			mc_outf(c, " t%" PRId32, exptime);
		else
			mc_outf(c, " t%" PRIu32,
				exptime > 0 ? ttl_left((uint32_t)exptime) : 0);
	} else if (expiry == 0) {
		mc_out(c, " t-1", 4);
	} else {
		mc_outf(c, " t%" PRIu32, ttl_left(expiry));
	}
}

static int finish_mg(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);
	const struct sk_kv_req *r = &cmd->req[0];
	uint32_t expiry;
	int32_t ttl = 0;
	bool created;
	const char *f;
	unsigned i;

	if (r->status != SK_OK) {
		out_failed(c, r);
		return 0;
	}
	if (r->res != SK_KV_OK) {
		if (t->noreply)
			return 0;
		mc_out(c, "EN", 2);
		out_meta_ok(c, t);
		mc_out(c, "\r\n", 2);
		return 0;
	}
	if (t->value && r->vlen && (r->buf == NULL || r->cap < r->vlen)) {
		out_line(c, "SERVER_ERROR value lost");
		return 0;
	}
	/* N made it: memcached's new item has no expiry until the flags'
	 * walk reaches T or N. An item that was there has, until the walk
	 * reaches T, the expiry kv's touch replaced. */
	created = (r->state & SK_KV_STATE_CREATED) != 0;
	expiry = r->expiry_before;
	if (t->value)
		mc_outf(c, "VA %zu", r->vlen);
	else
		mc_out(c, "HD", 2);
	for_each_flag(t, f, i) {
		switch (f[0]) {
		case 's':
			mc_outf(c, " s%zu", r->vlen);
			break;
		case 'T':
			ttl = t->exptime;
			expiry = r->expiry;
			break;
		case 'N':
			ttl = t->viv_exptime;
			break;
		case 't':
			out_meta_ttl(c, created, ttl, expiry);
			break;
		case 'c':
			mc_outf(c, " c%" PRIu64, r->cas);
			break;
		case 'f':
			mc_outf(c, " f%" PRIu32, r->flags);
			break;
		default:
			out_meta_echo(c, t, f);
			break;
		}
	}
	/* The token flags, in memcached's order: Z (another won it), X
	 * (stale), W (this one won it). */
	if (r->state & SK_KV_STATE_TOKEN)
		mc_out(c, " Z", 2);
	if (r->state & SK_KV_STATE_STALE)
		mc_out(c, " X", 2);
	if (r->state & SK_KV_STATE_WON)
		mc_out(c, " W", 2);
	mc_out(c, "\r\n", 2);
	if (t->value) {
		mc_out(c, r->buf, r->vlen);
		mc_out(c, "\r\n", 2);
	}
	return 0;
}

static int finish_ms(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);
	const struct sk_kv_req *r = &cmd->req[0];
	const char *f;
	unsigned i;

	if (r->status != SK_OK) {
		out_failed(c, r);
		return 0;
	}
	switch (r->res) {
	case SK_KV_STORED:
		if (t->noreply)
			return 0;
		mc_out(c, "HD", 2);
		break;
	case SK_KV_EXISTS:
		mc_out(c, "EX", 2);
		break;
	case SK_KV_NOT_FOUND:
		mc_out(c, "NF", 2);
		break;
	case SK_KV_NOT_STORED:
		mc_out(c, "NS", 2);
		break;
	default:
		out_line(c, r->res == SK_KV_ETOOLARGE ||
			    r->res == SK_KV_ENOMEM || r->res == SK_KV_EFORMAT ?
			    res_text(r->res) :
			    "SERVER_ERROR Unhandled storage type.");
		return 0;
	}
	for_each_flag(t, f, i) {
		if (f[0] == 'c') {
			/* memcached: the new CAS once stored, else 0 */
			mc_outf(c, " c%" PRIu64,
				r->res == SK_KV_STORED ? r->cas : 0);
		} else {
			out_meta_echo(c, t, f);
		}
	}
	mc_out(c, "\r\n", 2);
	return 0;
}

static int finish_md(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);
	const struct sk_kv_req *r = &cmd->req[0];

	if (r->status != SK_OK) {
		out_failed(c, r);
		return 0;
	}
	if (r->cmd == SK_KV_CMD_GET) {
		/* md C0 (md_parse): no item's CAS is 0 */
		if (r->res == SK_KV_OK)
			mc_out(c, "EX", 2);
		else if (r->res == SK_KV_NOT_FOUND)
			mc_out(c, "NF", 2);
		else {
			out_line(c, res_text(r->res));
			return 0;
		}
	} else if (r->res == SK_KV_DELETED) {
		if (t->noreply)
			return 0;
		mc_out(c, "HD", 2);
	} else if (r->res == SK_KV_NOT_FOUND) {
		mc_out(c, "NF", 2);
	} else if (r->res == SK_KV_EXISTS) {
		mc_out(c, "EX", 2); /* C: the item's CAS moved on */
	} else {
		out_line(c, res_text(r->res));
		return 0;
	}
	out_meta_ok(c, t);
	mc_out(c, "\r\n", 2);
	return 0;
}

static void rearm(struct sk_kv_req *r)
{
	r->done = 0;
	r->status = SK_OK;
	r->res = 0;
}

/* ma's flags after HD or VA, in their order as memcached's loop takes
 * them: T, and N on a created item, set the TTL that a t after them
 * prints; c is the item's new CAS. */
static void out_ma_flags(struct mc_conn *c, const struct tcmd *t)
{
	bool given = false;
	int32_t exptime = 0;
	const char *f;
	unsigned i;

	for_each_flag(t, f, i) {
		switch (f[0]) {
		case 'c':
			mc_outf(c, " c%" PRIu64, t->new_cas);
			break;
		case 't':
			out_meta_ttl(c, given, exptime, t->expiry);
			break;
		case 'T':
			given = true;
			exptime = t->exptime;
			break;
		case 'N':
			if (t->round == 2) {
				given = true;
				exptime = t->viv_exptime;
			}
			break;
		default:
			out_meta_echo(c, t, f);
			break;
		}
	}
}

static int finish_ma(struct mc_conn *c, struct mc_cmd *cmd)
{
	struct tcmd *t = tc_of(cmd);
	struct sk_kv_req *r = &cmd->req[0];
	char num[24];
	int n;

	if (r->status != SK_OK) {
		out_failed(c, r);
		return 0;
	}
	switch (t->round) {
	case 0:
		if (r->res == SK_KV_OK) {
			t->number = r->number;
			t->new_cas = r->cas;
			t->expiry = r->expiry;
			/* T: the new TTL once the number changed. Not when
			 * it outgrew the old value: memcached's ma then gives
			 * T to the item it replaced (do_add_delta returns the
			 * old one), so the stored item keeps its TTL, though
			 * t prints T's. */
			if (t->ttl && !(r->state & SK_KV_STATE_GREW)) {
				r->cmd = SK_KV_CMD_TOUCH;
				r->exptime = t->exptime;
				rearm(r);
				t->round = 1;
				return 1;
			}
			break;
		}
		if (r->res == SK_KV_NOT_FOUND && t->vivify) {
			/* N: create the item with J's number, as an add
			 * (memcached holds the key's lock; an add loses to a
			 * racing creator, which answers NS). */
			n = snprintf(t->numbuf, sizeof(t->numbuf), "%" PRIu64,
				     t->initial);
			r->cmd = SK_KV_CMD_STORE;
			r->op = SK_KV_ADD;
			r->value = t->numbuf;
			r->vlen = (size_t)n;
			r->flags = 0;
			r->exptime = t->ttl && t->ttl_last ? t->exptime :
							     t->viv_exptime;
			r->cas = 0;
			rearm(r);
			t->round = 2;
			return 1;
		}
		if (r->res == SK_KV_NOT_FOUND || r->res == SK_KV_EXISTS) {
			/* EX: C, and the item's CAS moved on */
			mc_out(c, r->res == SK_KV_EXISTS ? "EX" : "NF", 2);
			out_meta_ok(c, t);
			mc_out(c, "\r\n", 2);
		} else {
			out_line(c, res_text(r->res));
		}
		return 0;
	case 1:
		/* The touch's own outcome does not change the answer: the
		 * number was applied. */
		break;
	default:
		if (r->res != SK_KV_STORED) {
			if (r->res != SK_KV_NOT_STORED) {
				out_line(c, res_text(r->res));
				return 0;
			}
			mc_out(c, "NS", 2);
			out_meta_ok(c, t);
			mc_out(c, "\r\n", 2);
			return 0;
		}
		t->number = t->initial;
		t->new_cas = r->cas;
		t->expiry = 0; /* memcached makes it without, then N or T */
		break;
	}
	/* q hides a changed number, but memcached still shows a created
	 * one (its vivify path never sets noreply's skip) */
	if (t->noreply && t->round != 2)
		return 0;
	n = snprintf(num, sizeof(num), "%" PRIu64, t->number);
	if (t->value)
		mc_outf(c, "VA %d", n);
	else
		mc_out(c, "HD", 2);
	out_ma_flags(c, t);
	mc_out(c, "\r\n", 2);
	if (t->value) {
		mc_out(c, num, (size_t)n);
		mc_out(c, "\r\n", 2);
	}
	return 0;
}

static int finish_me(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct tcmd *t = tc_of(cmd);
	const struct sk_kv_req *r = &cmd->req[0];
	long exp;

	if (r->status != SK_OK) {
		out_failed(c, r);
		return 0;
	}
	if (r->res != SK_KV_OK) {
		out_line(c, "EN");
		return 0;
	}
	mc_out(c, "ME ", 3);
	if (t->key_binary)
		out_b64(c, (const unsigned char *)t->key, t->klen);
	else
		mc_out(c, t->key, t->klen);
	/* memcached prints now - exptime (so an item that expires later is
	 * negative) and -1 for none. Of its other fields kv keeps none but
	 * the CAS and the size of the value: la, fetch and cls are left out
	 * rather than made up. */
	exp = r->expiry == 0 ? -1 :
	      (long)((int64_t)mc_unix_now() - (int64_t)r->expiry);
	mc_outf(c, " exp=%ld cas=%" PRIu64 " size=%zu\r\n", exp, r->cas,
		r->vlen);
	return 0;
}

/* ---- parsing ---- */

struct parse {
	struct mc_conn *c;
	struct token tok[MAX_TOKENS];
	size_t ntok;
	size_t used;            /* the line and its newline */
	const char *rest;       /* the bytes after the line */
	size_t nrest;
};

/* A command with @nreq requests and room for a tcmd and @extra bytes. */
static struct mc_cmd *cmd_new(unsigned nreq, size_t extra, enum tkind kind,
			      mc_finish_func_t finish)
{
	struct mc_cmd *cmd = mc_cmd_new(nreq, sizeof(struct tcmd) + extra);

	if (cmd == NULL)
		return NULL;
	cmd->finish = finish;
	tc_of(cmd)->kind = kind;
	return cmd;
}

static char *tc_bytes(struct mc_cmd *cmd)
{
	return (char *)cmd->priv + sizeof(struct tcmd);
}

/* set_noreply_maybe: the last token is "noreply" */
static bool noreply_maybe(const struct parse *p)
{
	const struct token *t = &p->tok[p->ntok - 2];

	return t->value && strcmp(t->value, "noreply") == 0;
}

/* A value's data: the answer when it is bad, 0 when it is all there and
 * well-terminated; -1 when more bytes must come. */
static int data_check(const struct parse *p, size_t vlen,
		      const char **err_p)
{
	if (p->nrest < vlen + 2)
		return -1;
	if (p->rest[vlen] != '\r' || p->rest[vlen + 1] != '\n') {
		*err_p = "CLIENT_ERROR bad data chunk";
		return 1;
	}
	return 0;
}

static struct mc_cmd *get_parse(struct parse *p, bool cas, bool touch)
{
	struct mc_cmd *cmd;
	int32_t exptime = 0;
	size_t first = 1, nkeys = 0, bytes = 0, i, k;
	bool bad = false;
	struct token *t;
	char *s, *e, *dst;

	if (touch) {
		if (!safe_strtol(p->tok[1].value, &exptime))
			return msg_cmd("CLIENT_ERROR invalid exptime argument");
		first = 2;
	}
	/* The keys: the tokens of the whole line (memcached tokenizes the
	 * rest again, past its 24 tokens), first a count and the lengths. */
	/* memcached: a key over 250 bytes fails the whole get or gat, after
	 * it looked up (a gat touched) the keys before it: counted in its
	 * stats, their answers dropped. */
	for (i = first; p->tok[i].length != 0 && !bad; i++) {
		if (p->tok[i].length > MC_KEY_MAX) {
			bad = true;
			break;
		}
		nkeys++;
		bytes += p->tok[i].length;
	}
	s = bad ? NULL : p->tok[i].value;
	while (s && *s) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		e = s;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - s) > MC_KEY_MAX) {
			bad = true;
			break;
		}
		nkeys++;
		bytes += (size_t)(e - s);
		s = e;
	}
	if (bad && nkeys == 0)
		return msg_cmd(S_EFORMAT);
	/* memcached answers a multi-get of any size; ours takes at most
	 * MC_GET_KEYS_MAX keys (a command's requests) and answers one larger
	 * with memcached's own error for a multi-get it cannot hold. */
	if (nkeys > MC_GET_KEYS_MAX)
		return msg_cmd("SERVER_ERROR out of memory writing get "
			       "response");
	cmd = cmd_new((unsigned)nkeys, bytes, TK_GET, finish_get);
	if (cmd == NULL)
		return NULL;
	tc_of(cmd)->cas = cas;
	tc_of(cmd)->bad_key = bad;
	dst = tc_bytes(cmd);
	k = 0;
	for (t = &p->tok[first]; t->length != 0 && k < nkeys; t++) {
		memcpy(dst, t->value, t->length);
		cmd->req[k].key = dst;
		cmd->req[k].klen = t->length;
		dst += t->length;
		k++;
	}
	s = k < nkeys ? t->value : NULL;
	while (s && *s && k < nkeys) {
		while (*s == ' ')
			s++;
		if (*s == '\0')
			break;
		e = s;
		while (*e && *e != ' ')
			e++;
		memcpy(dst, s, (size_t)(e - s));
		cmd->req[k].key = dst;
		cmd->req[k].klen = (size_t)(e - s);
		dst += e - s;
		k++;
		s = e;
	}
	for (k = 0; k < nkeys; k++) {
		cmd->req[k].cmd = touch ? SK_KV_CMD_GAT : SK_KV_CMD_GET;
		cmd->req[k].exptime = exptime;
	}
	return cmd;
}

/* A command of one request on the key of token 1. */
static struct mc_cmd *key_cmd(const struct token *key, enum tkind kind,
			      mc_finish_func_t finish, enum sk_kv_cmd kc)
{
	struct mc_cmd *cmd = cmd_new(1, key->length, kind, finish);

	if (cmd == NULL)
		return NULL;
	memcpy(tc_bytes(cmd), key->value, key->length);
	cmd->req[0].cmd = kc;
	cmd->req[0].key = tc_bytes(cmd);
	cmd->req[0].klen = key->length;
	return cmd;
}

/* @cmd counts @kind for the key of its first request in stats detail. */
static struct mc_cmd *pfx_counts(struct mc_cmd *cmd, enum mc_prefix_count kind)
{
	if (cmd != NULL) {
		tc_of(cmd)->pfx = 1 + (int)kind;
		tc_of(cmd)->pfx_key = cmd->req[0].key;
		tc_of(cmd)->pfx_klen = cmd->req[0].klen;
	}
	return cmd;
}

/* A command that only answers @msg (NULL: nothing), and counts @kind for
 * @key in stats detail. */
static struct mc_cmd *msg_key_cmd(const char *msg, const struct token *key,
				  enum mc_prefix_count kind)
{
	struct mc_cmd *cmd = cmd_new(0, key->length, TK_MSG, finish_msg);

	if (cmd == NULL)
		return NULL;
	memcpy(tc_bytes(cmd), key->value, key->length);
	tc_of(cmd)->msg = msg;
	tc_of(cmd)->pfx = 1 + (int)kind;
	tc_of(cmd)->pfx_key = tc_bytes(cmd);
	tc_of(cmd)->pfx_klen = key->length;
	return cmd;
}

/* set, add, replace, append, prepend (@op) and cas. Sets *swallow. */
static struct mc_cmd *update_parse(struct parse *p, enum sk_kv_op op,
				   bool handle_cas, size_t *need,
				   size_t *swallow)
{
	const struct mc_settings *set = mc_conn_pub(p->c)->settings;
	size_t item_max = set ? set->item_max : SK_KV_VALUE_MAX;
	bool noreply = noreply_maybe(p);
	struct mc_cmd *cmd;
	uint32_t flags;
	int32_t exptime, vlen;
	uint64_t cas = 0;
	const char *err = NULL;
	int rc;

	if (p->tok[1].length > MC_KEY_MAX)
		return msg_cmd(noreply ? NULL : S_EFORMAT);
	if (!(safe_strtoul(p->tok[2].value, &flags) &&
	      safe_strtol(p->tok[3].value, &exptime) &&
	      safe_strtol(p->tok[4].value, &vlen)))
		return msg_cmd(noreply ? NULL : S_EFORMAT);
	if (handle_cas && !safe_strtoull(p->tok[5].value, &cas))
		return msg_cmd(noreply ? NULL : S_EFORMAT);
	if (vlen < 0 || vlen > INT32_MAX - 2)
		return msg_cmd(noreply ? NULL : S_EFORMAT);
	if ((size_t)vlen > item_max) {
		/* memcached swallows the refused value's data and line end,
		 * and a set drops the key's old item ("stale data", its
		 * proto_text.c says): the delete's answer is not told. */
		*swallow = (size_t)vlen + 2;
		if (op != SK_KV_SET || handle_cas)
			cmd = msg_key_cmd(NULL, &p->tok[1], MC_PFX_SET);
		else
			cmd = pfx_counts(key_cmd(&p->tok[1], TK_MSG,
						 finish_msg,
						 SK_KV_CMD_DELETE), MC_PFX_SET);
		if (cmd == NULL)
			return NULL;
		cmd->too_large = 1;
		if (!noreply)
			tc_of(cmd)->msg = "SERVER_ERROR object too large for "
					  "cache";
		return cmd;
	}
	rc = data_check(p, (size_t)vlen, &err);
	if (rc < 0) {
		*need = (size_t)vlen + 2;
		return NULL;
	}
	*need = (size_t)vlen + 2;
	/* (counted in stats detail whatever its data, as memcached does) */
	if (rc > 0)
		return msg_key_cmd(noreply ? NULL : err, &p->tok[1], MC_PFX_SET);
	cmd = cmd_new(1, p->tok[1].length + (size_t)vlen, TK_STORE,
		      finish_one);
	if (cmd == NULL)
		return NULL;
	tc_of(cmd)->noreply = noreply;
	memcpy(tc_bytes(cmd), p->tok[1].value, p->tok[1].length);
	memcpy(tc_bytes(cmd) + p->tok[1].length, p->rest, (size_t)vlen);
	cmd->req[0].cmd = SK_KV_CMD_STORE;
	cmd->req[0].op = handle_cas ? SK_KV_CAS : op;
	cmd->req[0].key = tc_bytes(cmd);
	cmd->req[0].klen = p->tok[1].length;
	cmd->req[0].value = tc_bytes(cmd) + p->tok[1].length;
	cmd->req[0].vlen = (size_t)vlen;
	cmd->req[0].flags = flags;
	cmd->req[0].exptime = exptime;
	cmd->req[0].cas = cas;
	return pfx_counts(cmd, MC_PFX_SET);
}


static struct mc_cmd *delete_parse(struct parse *p)
{
	bool noreply = false;
	struct mc_cmd *cmd;

	if (p->ntok > 3) {
		bool zero = strcmp(p->tok[2].value, "0") == 0;
		bool valid;

		noreply = noreply_maybe(p);
		valid = (p->ntok == 4 && (zero || noreply)) ||
			(p->ntok == 5 && zero && noreply);
		if (!valid)
			return msg_cmd(noreply ? NULL :
				       "CLIENT_ERROR bad command line format."
				       "  Usage: delete <key> [noreply]");
	}
	if (p->tok[1].length > MC_KEY_MAX)
		return msg_cmd(noreply ? NULL : S_EFORMAT);
	cmd = pfx_counts(key_cmd(&p->tok[1], TK_DELETE, finish_one,
				 SK_KV_CMD_DELETE), MC_PFX_DEL);
	if (cmd)
		tc_of(cmd)->noreply = noreply;
	return cmd;
}

static struct mc_cmd *arith_parse(struct parse *p, bool incr)
{
	bool noreply = noreply_maybe(p);
	struct mc_cmd *cmd;
	uint64_t delta;

	if (p->tok[1].length > MC_KEY_MAX)
		return msg_cmd(noreply ? NULL : S_EFORMAT);
	if (!safe_strtoull(p->tok[2].value, &delta))
		return msg_cmd(noreply ? NULL :
			       "CLIENT_ERROR invalid numeric delta argument");
	cmd = key_cmd(&p->tok[1], TK_ARITH, finish_arith,
		      incr ? SK_KV_CMD_INCR : SK_KV_CMD_DECR);
	if (cmd) {
		tc_of(cmd)->noreply = noreply;
		cmd->req[0].delta = delta;
	}
	return cmd;
}

static struct mc_cmd *touch_parse(struct parse *p)
{
	bool noreply = noreply_maybe(p);
	struct mc_cmd *cmd;
	int32_t exptime;

	if (p->tok[1].length > MC_KEY_MAX)
		return msg_cmd(noreply ? NULL : S_EFORMAT);
	if (!safe_strtol(p->tok[2].value, &exptime))
		return msg_cmd(noreply ? NULL :
			       "CLIENT_ERROR invalid exptime argument");
	cmd = key_cmd(&p->tok[1], TK_TOUCH, finish_one, SK_KV_CMD_TOUCH);
	if (cmd) {
		tc_of(cmd)->noreply = noreply;
		cmd->req[0].exptime = exptime;
	}
	return cmd;
}

static struct mc_cmd *verbosity_parse(struct parse *p)
{
	bool noreply = noreply_maybe(p);
	struct mc_cmd *cmd;
	uint32_t level;

	if (!safe_strtoul(p->tok[1].value, &level))
		return msg_cmd(noreply ? NULL : S_EFORMAT);
	cmd = cmd_new(0, 0, TK_VERBOSITY, finish_verbosity);
	if (cmd) {
		tc_of(cmd)->noreply = noreply;
		tc_of(cmd)->verbose = level > MAX_VERBOSITY_LEVEL ?
				      MAX_VERBOSITY_LEVEL : level;
	}
	return cmd;
}

static struct mc_cmd *flush_parse(struct parse *p)
{
	bool noreply = noreply_maybe(p);
	struct mc_cmd *cmd;
	int32_t exptime = 0;

	if (p->ntok != (noreply ? 3u : 2u) &&
	    !safe_strtol(p->tok[1].value, &exptime))
		return msg_cmd(noreply ? NULL :
			       "CLIENT_ERROR invalid exptime argument");
	cmd = cmd_new(0, 0, TK_FLUSH, finish_flush);
	if (cmd == NULL)
		return NULL;
	tc_of(cmd)->noreply = noreply;
	cmd->special = MC_SP_FLUSH;
	/* mc.h counts the delay from now; memcached's is an exptime. */
	if (exptime > REALTIME_MAXDELTA) {
		uint32_t now = mc_unix_now();

		exptime = (uint32_t)exptime > now ?
			  (int32_t)((uint32_t)exptime - now) : 0;
	} else if (exptime < 0) {
		exptime = 0;
	}
	cmd->flush_delay = exptime;
	return cmd;
}

/* A walk of the nodes' keys from class @cls (gw_dump_more, gateway.c),
 * answered by @finish. */
static struct mc_cmd *dump_cmd(mc_finish_func_t finish, const char *group,
			       unsigned cls)
{
	struct mc_cmd *cmd = cmd_new(0, 0, TK_STATS, finish);

	if (cmd == NULL)
		return NULL;
	cmd->special = MC_SP_STATS;
	strcpy(cmd->stats_group, group);
	cmd->dump = 1;
	cmd->dump_class = cls;
	return cmd;
}

/* stats cachedump <class> <limit>: memcached's checks, in its order
 * (proto_text.c, process_stat); 64 is its MAX_NUMBER_OF_SLAB_CLASSES. */
static struct mc_cmd *cachedump_parse(struct parse *p)
{
	struct mc_cmd *cmd;
	uint32_t id, limit;

	if (p->ntok < 5)
		return msg_cmd("CLIENT_ERROR bad command line");
	if (!safe_strtoul(p->tok[2].value, &id) ||
	    !safe_strtoul(p->tok[3].value, &limit))
		return msg_cmd("CLIENT_ERROR bad command line format");
	if (id >= 64)
		return msg_cmd("CLIENT_ERROR Illegal slab id");
	cmd = dump_cmd(finish_dump, "cachedump", id);
	if (cmd != NULL)
		cmd->dump_limit = limit;
	return cmd;
}

/*
 * lru_crawler metadump <all|hash|id[,id...]> (memcached 1.6's
 * proto_text.c, process_lru_crawler_command; crawler.c,
 * lru_crawler_crawl): a line for every unexpired item of the classes
 * (memcached's ids 1 to 63, else BADCLASS; "hash" walks all), then END.
 * The crawler's other commands (crawl, enable, disable, sleep, tocrawl)
 * drive memcached's own LRU crawler, which skcached does not have (the
 * nodes retire expired items on their own): ERROR, memcached's answer
 * to a form it does not know.
 */
static struct mc_cmd *lru_crawler_parse(struct parse *p)
{
	const char *arg = p->ntok == 4 ? p->tok[2].value : NULL, *s;
	uint64_t classes = 0;
	struct mc_cmd *cmd;

	if (arg == NULL || strcmp(p->tok[1].value, "metadump") != 0)
		return msg_cmd("ERROR");
	if (strcmp(arg, "all") == 0 || strcmp(arg, "hash") == 0) {
		classes = ~(uint64_t)0 >> 1; /* 1 to 63 */
	} else {
		/* strtok_r's walk: empty pieces are skipped. */
		for (s = arg; *s != '\0';) {
			size_t n = strcspn(s, ",");
			char piece[24];
			uint32_t id;

			if (n == 0) {
				s++;
				continue;
			}
			if (n >= sizeof(piece))
				return msg_cmd("BADCLASS invalid class id");
			memcpy(piece, s, n);
			piece[n] = '\0';
			if (!safe_strtoul(piece, &id) || id < 1 || id >= 64)
				return msg_cmd("BADCLASS invalid class id");
			classes |= (uint64_t)1 << (id - 1);
			s += n;
		}
	}
	if (classes == 0)
		return msg_cmd("NOTSTARTED no items to crawl");
	cmd = dump_cmd(finish_metadump, "metadump",
		       (unsigned)__builtin_ctzll(classes) + 1);
	if (cmd != NULL) {
		cmd->metadump = 1;
		cmd->dump_classes = classes;
	}
	return cmd;
}

/* stats detail on|off|dump (proto_text.c, process_stats_detail): no
 * request; the table is the core's (mc_detail). */
static struct mc_cmd *detail_parse(struct parse *p)
{
	const char *op = p->ntok >= 4 ? p->tok[2].value : "";
	struct mc_cmd *cmd = cmd_new(0, 0, TK_STATS, finish_detail);

	if (cmd == NULL)
		return NULL;
	cmd->detail_op = strcmp(op, "on") == 0	  ? 'n'
			 : strcmp(op, "off") == 0 ? 'f'
			 : strcmp(op, "dump") == 0 ? 'd'
						   : 0;
	return cmd;
}

static struct mc_cmd *stats_parse(struct parse *p)
{
	struct mc_cmd *cmd;
	const char *group = p->ntok > 2 ? p->tok[1].value : "";

	if (strcmp(group, "cachedump") == 0)
		return cachedump_parse(p);
	if (strcmp(group, "detail") == 0)
		return detail_parse(p);
	/* Groups the core does not know answer ERROR in finish, as
	 * memcached's do. */
	if (strlen(group) >= sizeof(cmd->stats_group))
		return msg_cmd("ERROR");
	cmd = cmd_new(0, 0, TK_STATS, finish_stats);
	if (cmd == NULL)
		return NULL;
	cmd->special = MC_SP_STATS;
	strcpy(cmd->stats_group, group);
	return cmd;
}

/* ---- meta ---- */

struct mflags {
	bool has_error, value, quiet, has_cas, key_binary, vivify, new_ttl;
	bool recache;
	char mode;
	int32_t exptime, viv_exptime, recache_time;
	uint32_t client_flags;
	uint64_t cas, delta, initial;
	uint8_t seen[127];
};

/* _meta_flag_preparse: the flags from token @start on. 0, or -1 and
 * *errstr. */
static int meta_preparse(struct parse *p, size_t start, struct mflags *of,
			 const char **errstr)
{
	struct token *key = &p->tok[1];
	size_t i, ret;
	int32_t tmp;

	for (i = start; p->tok[i].length != 0; i++) {
		const char *v = p->tok[i].value;
		uint8_t o = (uint8_t)v[0];

		if (o >= 127 || of->seen[o]) {
			*errstr = "CLIENT_ERROR duplicate flag";
			return -1;
		}
		of->seen[o] = 1;
		switch (o) {
		case 'b':
			ret = b64_decode((unsigned char *)key->value,
					 key->length,
					 (unsigned char *)key->value);
			if (ret == 0) {
				*errstr = "CLIENT_ERROR error decoding key";
				of->has_error = true;
			}
			key->length = ret;
			of->key_binary = true;
			break;
		case 'N':
			of->vivify = true;
			if (!safe_strtol(v + 1, &tmp)) {
				*errstr = "CLIENT_ERROR bad token in command "
					  "line format";
				of->has_error = true;
			} else {
				of->viv_exptime = tmp;
			}
			break;
		case 'T':
			if (!safe_strtol(v + 1, &tmp)) {
				*errstr = "CLIENT_ERROR bad token in command "
					  "line format";
				of->has_error = true;
			} else {
				of->exptime = tmp;
				of->new_ttl = true;
			}
			break;
		case 'R':
			if (!safe_strtol(v + 1, &tmp)) {
				*errstr = "CLIENT_ERROR bad token in command "
					  "line format";
				of->has_error = true;
			} else {
				of->recache = true;
				of->recache_time = tmp;
			}
			break;
		case 'l': case 'O': case 'P': case 'L': case 'k': case 's':
		case 't': case 'c': case 'f': case 'h': case 'u': case 'I':
			break;
		case 'v':
			of->value = true;
			break;
		case 'q':
			of->quiet = true;
			break;
		case 'F':
			if (!safe_strtoul(v + 1, &of->client_flags))
				of->has_error = true;
			break;
		case 'C':
			if (!safe_strtoull(v + 1, &of->cas)) {
				*errstr = "CLIENT_ERROR bad token in command "
					  "line format";
				of->has_error = true;
			} else {
				of->has_cas = true;
			}
			break;
		case 'M':
			if (p->tok[i].length != 2) {
				*errstr = "CLIENT_ERROR incorrect length for M "
					  "token";
				of->has_error = true;
			} else {
				of->mode = v[1];
			}
			break;
		case 'J':
			if (!safe_strtoull(v + 1, &of->initial)) {
				*errstr = "CLIENT_ERROR invalid numeric initial "
					  "value";
				of->has_error = true;
			}
			break;
		case 'D':
			if (!safe_strtoull(v + 1, &of->delta)) {
				*errstr = "CLIENT_ERROR invalid numeric delta "
					  "value";
				of->has_error = true;
			}
			break;
		default:
			*errstr = "CLIENT_ERROR invalid flag";
			return -1;
		}
	}
	return of->has_error ? -1 : 0;
}

/*
 * The flags memcached 1.6.18 accepts whose effect kv cannot give, per
 * command; refused with memcached's error for an unknown flag:
 *   mg: h (hit before) and l (last access): the owner never sees a GET
 *       that READs its memory
 * Unlisted flags that a command ignores in memcached (u, P, L; v on md;
 * I on mg and ma; R on all but mg) are ignored here too.
 */
static bool meta_refused(char cm, const struct mflags *of)
{
	return cm == 'g' && (of->seen['h'] || of->seen['l']);
}

/* Whether flag @a comes before flag @b among the flags from token @start
 * on (both there; flags are never repeated). */
static bool meta_before(const struct parse *p, size_t start, char a, char b)
{
	for (size_t i = start; p->tok[i].length != 0; i++) {
		if (p->tok[i].value[0] == a)
			return true;
		if (p->tok[i].value[0] == b)
			return false;
	}
	return false;
}

/* Any O token over memcached's length. */
static bool meta_opaque_long(const struct parse *p, size_t start)
{
	size_t i;

	for (i = start; p->tok[i].length != 0; i++)
		if (p->tok[i].value[0] == 'O' &&
		    p->tok[i].length > MFLAG_MAX_OPAQUE_LENGTH)
			return true;
	return false;
}

/* A meta command on token 1's key with @extra more bytes; its flag tokens
 * from @start copied for the answer. */
static struct mc_cmd *meta_cmd(struct parse *p, size_t start, size_t extra,
			       enum tkind kind, mc_finish_func_t finish,
			       enum sk_kv_cmd kc, const struct mflags *of)
{
	size_t i, fbytes = 0;
	struct mc_cmd *cmd;
	struct tcmd *t;
	char *dst;

	for (i = start; p->tok[i].length != 0; i++)
		fbytes += p->tok[i].length + 1;
	cmd = cmd_new(1, p->tok[1].length + fbytes + extra, kind, finish);
	if (cmd == NULL)
		return NULL;
	t = tc_of(cmd);
	dst = tc_bytes(cmd);
	memcpy(dst, p->tok[1].value, p->tok[1].length);
	t->key = dst;
	t->klen = p->tok[1].length;
	dst += t->klen;
	t->flags = dst;
	for (i = start; p->tok[i].length != 0; i++) {
		memcpy(dst, p->tok[i].value, p->tok[i].length + 1);
		dst += p->tok[i].length + 1;
		t->nflags++;
	}
	t->noreply = of->quiet;
	t->value = of->value;
	t->key_binary = of->key_binary;
	cmd->req[0].cmd = kc;
	cmd->req[0].key = t->key;
	cmd->req[0].klen = t->klen;
	return cmd;
}

static struct mc_cmd *mg_parse(struct parse *p)
{
	const char *err = S_EFORMAT;
	struct mflags of = {0};
	struct mc_cmd *cmd;

	if (p->ntok < 3)
		return msg_cmd("ERROR");
	if (p->tok[1].length > MC_KEY_MAX)
		return msg_cmd(S_EFORMAT);
	if (p->ntok > MFLAG_MAX_OPT_LENGTH)
		return msg_cmd("CLIENT_ERROR options flags are too long");
	if (meta_preparse(p, 2, &of, &err) != 0)
		return msg_cmd(err);
	if (meta_refused('g', &of))
		return msg_cmd("CLIENT_ERROR invalid flag");
	if (meta_opaque_long(p, 2))
		return msg_cmd("CLIENT_ERROR opaque token too long");
	cmd = meta_cmd(p, 2, 0, TK_MG, finish_mg,
		       of.new_ttl ? SK_KV_CMD_GAT : SK_KV_CMD_GET, &of);
	if (cmd == NULL)
		return NULL;
	cmd->req[0].exptime = of.exptime;
	/* Every mg may win a stale item's token (X W); with N a miss
	 * creates the item, its expiry the later of T and N. */
	cmd->req[0].meta = SK_KV_META_WIN;
	/* R: a win too if the item expires before R's time (and, after a
	 * T among the flags, the T's expiry is the one compared) */
	if (of.recache) {
		cmd->req[0].meta |= SK_KV_META_RECACHE;
		cmd->req[0].recache = of.recache_time;
		if (of.new_ttl && meta_before(p, 2, 'R', 'T'))
			cmd->req[0].meta |= SK_KV_META_RECACHE_OLD;
	}
	if (of.vivify) {
		cmd->req[0].meta |= SK_KV_META_VIVIFY;
		cmd->req[0].vivify = of.new_ttl && meta_before(p, 2, 'N', 'T') ?
					     of.exptime :
					     of.viv_exptime;
	}
	tc_of(cmd)->exptime = of.exptime;
	tc_of(cmd)->viv_exptime = of.viv_exptime;
	return cmd;
}

static struct mc_cmd *ms_parse(struct parse *p, size_t *need,
			       size_t *swallow)
{
	const struct mc_settings *set = mc_conn_pub(p->c)->settings;
	size_t item_max = set ? set->item_max : SK_KV_VALUE_MAX;
	const char *err = S_EFORMAT;
	struct mflags of = {0};
	struct mc_cmd *cmd;
	enum sk_kv_op op = SK_KV_SET;
	int32_t vlen;
	int rc;

	if (p->ntok < 3)
		return msg_cmd("ERROR");
	if (p->tok[1].length > MC_KEY_MAX || p->ntok == 3)
		return msg_cmd(S_EFORMAT);
	if (p->ntok > MFLAG_MAX_OPT_LENGTH)
		return msg_cmd("CLIENT_ERROR options flags too long");
	if (!safe_strtol(p->tok[2].value, &vlen) || vlen < 0 ||
	    vlen > INT32_MAX - 2)
		return msg_cmd(S_EFORMAT);
	/* From here on an error swallows the value, as memcached does. */
	*swallow = (size_t)vlen + 2;
	if (meta_preparse(p, 3, &of, &err) != 0)
		return msg_cmd(err);
	switch (of.mode) {
	case 0: case 'S': op = SK_KV_SET; break;
	case 'E': op = SK_KV_ADD; break;
	case 'A': op = SK_KV_APPEND; break;
	case 'P': op = SK_KV_PREPEND; break;
	case 'R': op = SK_KV_REPLACE; break;
	default:
		return msg_cmd("CLIENT_ERROR invalid mode for ms M token");
	}
	if (meta_opaque_long(p, 3))
		return msg_cmd("CLIENT_ERROR opaque token too long");
	if (meta_refused('s', &of))
		return msg_cmd("CLIENT_ERROR invalid flag");
	if ((size_t)vlen > item_max) {
		/* memcached's ms drops the key's old item then, whatever the
		 * mode (no stale data); the delete's answer is not told. */
		cmd = meta_cmd(p, 3, 0, TK_MSG, finish_msg, SK_KV_CMD_DELETE,
			       &of);
		if (cmd != NULL) {
			tc_of(cmd)->msg = "SERVER_ERROR object too large for "
					  "cache";
			cmd->too_large = 1;
		}
		return cmd;
	}
	*swallow = 0;
	rc = data_check(p, (size_t)vlen, &err);
	*need = (size_t)vlen + 2;
	if (rc < 0)
		return NULL;
	if (rc > 0)
		return msg_cmd(err);   /* meta: errors despite q */
	/* A CAS turns set and replace into cas; add ignores it. */
	if (of.has_cas && (op == SK_KV_SET || op == SK_KV_REPLACE))
		op = SK_KV_CAS;
	cmd = meta_cmd(p, 3, (size_t)vlen, TK_MS, finish_ms, SK_KV_CMD_STORE,
		       &of);
	if (cmd == NULL)
		return NULL;
	{
		char *val = (char *)tc_of(cmd)->flags;
		unsigned i;

		/* the value goes after the flag tokens */
		for (i = 0; i < tc_of(cmd)->nflags; i++)
			val += strlen(val) + 1;
		memcpy(val, p->rest, (size_t)vlen);
		cmd->req[0].value = val;
	}
	cmd->req[0].op = op;
	cmd->req[0].vlen = (size_t)vlen;
	cmd->req[0].flags = of.client_flags;
	cmd->req[0].exptime = of.exptime;
	cmd->req[0].cas = of.has_cas ? of.cas : 0;
	/* I: a cas whose CAS is older than the item's stores it stale */
	if (of.seen['I'] && op == SK_KV_CAS)
		cmd->req[0].meta = SK_KV_META_INVALIDATE;
	return cmd;
}

static struct mc_cmd *md_parse(struct parse *p)
{
	const char *err = S_EFORMAT;
	struct mflags of = {0};
	struct mc_cmd *cmd;

	if (p->ntok < 3)
		return msg_cmd("ERROR");
	if (p->tok[1].length > MC_KEY_MAX)
		return msg_cmd(S_EFORMAT);
	if (p->ntok > MFLAG_MAX_OPT_LENGTH)
		return msg_cmd("CLIENT_ERROR options flags too long");
	if (meta_preparse(p, 2, &of, &err) != 0)
		return msg_cmd("CLIENT_ERROR invalid or duplicate flag");
	if (meta_opaque_long(p, 2))
		return msg_cmd("CLIENT_ERROR opaque token too long");
	if (meta_refused('d', &of))
		return msg_cmd("CLIENT_ERROR invalid flag");
	/* C: only the item with that CAS goes (kv's cas; its 0 is any
	 * item, memcached's C0 matches none: a GET says EX or NF). */
	cmd = meta_cmd(p, 2, 0, TK_MD, finish_md,
		       of.has_cas && of.cas == 0 ? SK_KV_CMD_GET :
						   SK_KV_CMD_DELETE, &of);
	if (cmd == NULL)
		return NULL;
	if (of.has_cas)
		cmd->req[0].cas = of.cas;
	/* I: the item stays, stale (with T a new expiry) */
	if (of.seen['I'] && cmd->req[0].cmd == SK_KV_CMD_DELETE) {
		cmd->req[0].meta = SK_KV_META_INVALIDATE |
				   (of.new_ttl ? SK_KV_META_TTL : 0);
		cmd->req[0].exptime = of.exptime;
	}
	return cmd;
}

static struct mc_cmd *ma_parse(struct parse *p)
{
	const char *err = S_EFORMAT;
	struct mflags of = {0};
	struct mc_cmd *cmd;
	bool incr = true;
	struct tcmd *t;

	of.delta = 1;
	if (p->ntok < 3)
		return msg_cmd("ERROR");
	if (p->tok[1].length > MC_KEY_MAX)
		return msg_cmd(S_EFORMAT);
	if (p->ntok > MFLAG_MAX_OPT_LENGTH)
		return msg_cmd("CLIENT_ERROR options flags too long");
	if (meta_preparse(p, 2, &of, &err) != 0)
		return msg_cmd("CLIENT_ERROR invalid or duplicate flag");
	switch (of.mode) {
	case 0: case 'I': case '+': incr = true; break;
	case 'D': case '-': incr = false; break;
	default:
		return msg_cmd("CLIENT_ERROR invalid mode for ma M token");
	}
	if (meta_refused('a', &of))
		return msg_cmd("CLIENT_ERROR invalid flag");
	if (meta_opaque_long(p, 2))
		return msg_cmd("CLIENT_ERROR opaque token too long");
	cmd = meta_cmd(p, 2, 0, TK_MA, finish_ma,
		       incr ? SK_KV_CMD_INCR : SK_KV_CMD_DECR, &of);
	if (cmd == NULL)
		return NULL;
	t = tc_of(cmd);
	t->ttl = of.new_ttl;
	t->exptime = of.exptime;
	t->vivify = of.vivify;
	t->viv_exptime = of.viv_exptime;
	t->initial = of.initial;
	t->ttl_last = meta_before(p, 2, 'N', 'T');
	cmd->req[0].delta = of.delta;
	/* C: only the item with that CAS (C0 is none, as in memcached) */
	cmd->req[0].cas = of.has_cas ? of.cas : 0;
	return cmd;
}

static struct mc_cmd *me_parse(struct parse *p)
{
	struct token *key = &p->tok[1];
	struct mc_cmd *cmd;
	bool bin = false;

	if (p->ntok < 3 || key->length > MC_KEY_MAX)
		return msg_cmd(S_EFORMAT);
	if (p->ntok >= 4 && p->tok[2].length == 1 &&
	    p->tok[2].value[0] == 'b') {
		size_t ret = b64_decode((unsigned char *)key->value,
					key->length,
					(unsigned char *)key->value);

		if (ret == 0)
			return msg_cmd(S_EFORMAT);
		key->length = ret;
		bin = true;
	}
	cmd = cmd_new(1, key->length, TK_ME, finish_me);
	if (cmd == NULL)
		return NULL;
	cmd->meta_debug = 1;
	memcpy(tc_bytes(cmd), key->value, key->length);
	tc_of(cmd)->key = tc_bytes(cmd);
	tc_of(cmd)->klen = key->length;
	tc_of(cmd)->key_binary = bin;
	cmd->req[0].cmd = SK_KV_CMD_GET;
	cmd->req[0].key = tc_bytes(cmd);
	cmd->req[0].klen = key->length;
	return cmd;
}

/*
 * process_command_ascii: one line's command. Commands with a value set
 * *need to the bytes of data (with its "\r\n") that follow the line, and
 * return NULL with *need set when they are not all there yet. A NULL
 * otherwise is out of memory.
 */
static struct mc_cmd *dispatch(struct parse *p, char *line, size_t *need,
			       size_t *swallow, bool *close)
{
	const char *c0;
	size_t n;

	p->ntok = tokenize(line, p->tok, MAX_TOKENS);
	if (p->ntok < 2 || p->tok[0].length < 2)
		return msg_cmd("ERROR");
	c0 = p->tok[0].value;
	n = p->ntok;
	if (c0[0] == 'm' && p->tok[0].length == 2) {
		switch (c0[1]) {
		case 'g': return mg_parse(p);
		case 's': return ms_parse(p, need, swallow);
		case 'd': return md_parse(p);
		case 'n': return msg_cmd("MN");
		case 'a': return ma_parse(p);
		case 'e': return me_parse(p);
		default: return msg_cmd("ERROR");
		}
	}
#define WANT(cond) if (!(cond)) return msg_cmd("ERROR")
	if (c0[0] == 'g') {
		WANT(n >= 3);
		if (strcmp(c0, "get") == 0)
			return get_parse(p, false, false);
		if (strcmp(c0, "gets") == 0)
			return get_parse(p, true, false);
		if (strcmp(c0, "gat") == 0)
			return get_parse(p, false, true);
		if (strcmp(c0, "gats") == 0)
			return get_parse(p, true, true);
		return msg_cmd("ERROR");
	}
	if (strcmp(c0, "bget") == 0) {
		/* memcached's ancient binary get, a get */
		WANT(n >= 3);
		return get_parse(p, false, false);
		return msg_cmd("ERROR");
	}
	if (strcmp(c0, "set") == 0 || strcmp(c0, "add") == 0 ||
	    strcmp(c0, "append") == 0 || strcmp(c0, "replace") == 0 ||
	    strcmp(c0, "prepend") == 0) {
		WANT(n == 6 || n == 7);
		return update_parse(p, c0[0] == 's' ? SK_KV_SET :
				       c0[0] == 'r' ? SK_KV_REPLACE :
				       c0[0] == 'p' ? SK_KV_PREPEND :
				       c0[1] == 'd' ? SK_KV_ADD : SK_KV_APPEND,
				    false, need, swallow);
	}
	if (strcmp(c0, "cas") == 0) {
		WANT(n == 7 || n == 8);
		return update_parse(p, SK_KV_CAS, true, need, swallow);
	}
	if (strcmp(c0, "stats") == 0)
		return stats_parse(p);
	if (strcmp(c0, "lru_crawler") == 0)
		return lru_crawler_parse(p);
	if (strcmp(c0, "incr") == 0 || strcmp(c0, "decr") == 0) {
		WANT(n == 4 || n == 5);
		return arith_parse(p, c0[0] == 'i');
	}
	if (strcmp(c0, "delete") == 0) {
		WANT(n >= 3 && n <= 5);
		return delete_parse(p);
	}
	if (strcmp(c0, "touch") == 0) {
		WANT(n == 4 || n == 5);
		return touch_parse(p);
	}
	if (strcmp(c0, "flush_all") == 0) {
		WANT(n >= 2 && n <= 4);
		return flush_parse(p);
	}
	if (strcmp(c0, "version") == 0)
		return msg_cmd("VERSION " MC_VERSION);
	/* memcached's answer without -A, whatever the arguments: skcached
	 * stops on SIGTERM or SIGINT only. */
	if (strcmp(c0, "shutdown") == 0)
		return msg_cmd("ERROR: shutdown not enabled");
	if (strcmp(c0, "quit") == 0) {
		*close = true;
		return msg_cmd(NULL);
	}
	if (strcmp(c0, "verbosity") == 0) {
		WANT(n == 3 || n == 4);
		return verbosity_parse(p);
	}
#undef WANT
	/* memcached hangs up on what looks like HTTP */
	if (strncmp(p->tok[n - 2].value, "HTTP/", 5) == 0) {
		*close = true;
		return msg_cmd(NULL);
	}
	return msg_cmd("ERROR");
}

/* The start of a line that memcached keeps reading past MC_LINE_MAX:
 * a get or gets after at most 100 spaces (try_read_command_ascii). */
static bool long_get(const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && buf[i] == ' ')
		i++;
	if (i > 100)
		return false;
	return (len - i >= 4 && memcmp(buf + i, "get ", 4) == 0) ||
	       (len - i >= 5 && memcmp(buf + i, "gets ", 5) == 0);
}

ssize_t mc_text_parse(struct mc_conn *c, const char *buf, size_t len,
		      struct mc_cmd **cmd_p)
{
	struct parse p = { .c = c };
	size_t el, line_len, need = 0, swallow = 0;
	const char *nl, *nul;
	struct mc_cmd *cmd;
	bool close = false;
	char small[MC_LINE_MAX + 1], *line;

	*cmd_p = NULL;
	if (len == 0)
		return 0;
	nl = memchr(buf, '\n', len);
	if (nl == NULL) {
		if (len <= MC_LINE_MAX)
			return 0;
		if (long_get(buf, len)) {
			if (len <= GET_LINE_MAX)
				return 0;
			/* Past what our largest get takes: memcached would
			 * read on; we say why and hang up. */
			cmd = msg_cmd("CLIENT_ERROR line too long");
		} else {
			/* memcached closes without a word */
			cmd = msg_cmd(NULL);
		}
		if (cmd == NULL)
			goto nomem;
		cmd->close_after = 1;
		*cmd_p = cmd;
		return (ssize_t)len;
	}
	el = (size_t)(nl - buf);
	line_len = el;
	if (el > 1 && buf[el - 1] == '\r')
		line_len--;
	/* memcached's line is a C string: a NUL ends it */
	nul = memchr(buf, '\0', line_len);
	if (nul)
		line_len = (size_t)(nul - buf);
	/* Most lines fit on the stack; a long multi-get's goes to the heap. */
	line = line_len < sizeof(small) ? small : malloc(line_len + 1);
	if (line == NULL)
		goto nomem;
	memcpy(line, buf, line_len);
	line[line_len] = '\0';
	p.used = el + 1;
	p.rest = buf + p.used;
	p.nrest = len - p.used;
	cmd = dispatch(&p, line, &need, &swallow, &close);
	if (line != small)
		free(line);
	if (cmd == NULL) {
		if (need && p.nrest < need)
			return 0;
		goto nomem;
	}
	if (close)
		cmd->close_after = 1;
	if (swallow) {
		/* A refused value: what of it is here is dropped now, the
		 * rest as it comes. */
		size_t here = swallow < p.nrest ? swallow : p.nrest;

		need = here;
		mc_conn_pub(c)->swallow = swallow - here;
	}
	*cmd_p = cmd;
	return (ssize_t)(p.used + need);
nomem:
	/* mc.h: out of memory answers so and closes, as memcached does. If
	 * even that small command cannot be had, -1: the core closes. */
	cmd = msg_cmd("SERVER_ERROR out of memory");
	if (cmd == NULL)
		return -1;
	cmd->close_after = 1;
	*cmd_p = cmd;
	return (ssize_t)len;
}
