/*
 * skcached: memcached's binary protocol (mc.h), answered as memcached
 * 1.6.18 answers it (its proto_bin.c and protocol_binary.h; every answer
 * below was compared with the real memcached 1.6.18, see
 * tests/skcached/test_mc_bin.c and mc_bin_oracle.py).
 *
 * A request is a 24-byte header (magic 0x80, opcode, key length, extras
 * length, body length, opaque, CAS, all big-endian), then the extras, the
 * key and the value, which make up the body. An answer is the same header
 * with magic 0x81 and a status, the request's opcode and opaque echoed.
 * Quiet opcodes (getq, setq, ...) answer nothing when they succeed (getq
 * and getkq nothing on a miss either); their errors are answered.
 *
 * Where skcached differs from memcached 1.6.18, and why:
 * - kv's answers memcached never gives: a request whose kv status is not
 *   SK_OK answers 0x0086 "Temporary failure" when the key's node is gone
 *   (SK_ERR_UNREACHABLE: another try may find it back), 0x0082 "Out of
 *   memory" for SK_ERR_NOMEM, 0x0084 "Internal error" otherwise; a flush
 *   or stats a node failed (special_status) answers 0x0086. (Keys are
 *   any bytes, as memcached's: skcached opens kv with any_keys.)
 * - kv's delete, incr/decr, append and prepend take no CAS unique, so
 *   those with a non-zero CAS in the header answer 0x0083 "Not supported"
 *   (memcached compares it) instead of acting without it.
 * - An unknown opcode answers 0x0081 "Unknown command" and the packet is
 *   dropped whole. memcached drops body-length bytes *after* the extras and
 *   key (it swallows extlen + keylen bytes of the next request, and answers
 *   only once those arrived), which throws the client out of step.
 * - A stat or touch/gat whose body is longer than its key and extras:
 *   memcached runs it, then reads the extra bytes as the next header (so
 *   it closes: its stat answer is lost, a touch's goes out). Here both
 *   answer 0x0004 "Invalid arguments" and close, as memcached's other
 *   malformed requests do.
 * - Values: kv takes values up to item_max bytes whatever the key (see
 *   kv/sem.h); memcached refuses from 1048518 - keylen bytes (its item
 *   header counts). Past item_max both answer 0x0003 "Too large." and drop
 *   the value.
 * - Expirations are unsigned 32-bit here; kv's are int32: values past
 *   INT32_MAX (2038) are taken as INT32_MAX, where memcached would keep
 *   them as a later absolute time.
 * - verbosity (0x1b) is not a binary command of memcached 1.6.18: it
 *   answers "Unknown command" there and here. Of the stat groups,
 *   "reset" resets, "sizes" says it is disabled, "items" and "slabs"
 *   answer as in text, "conns" is "Not found" (memcached answers it in
 *   text only), and "detail on", "off" and "dump" answer as memcached's
 *   binary does (the dump in one stat, "detailed").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mc.h"

#define BIN_REQ_MAGIC 0x80
#define BIN_RES_MAGIC 0x81
#define BIN_HDR_LEN 24u
/* incr's expiration word meaning "no initial value: fail on a miss" */
#define BIN_INCR_NO_INITIAL 0xffffffffu
/* incr with an initial value: how many times an add that lost its race to
 * another creator goes back to incr before answering memcached's
 * "Not stored." (memcached answers that at once). */
#define BIN_INCR_ROUNDS 8u

enum bin_opcode {
	BIN_GET = 0x00,
	BIN_SET = 0x01,
	BIN_ADD = 0x02,
	BIN_REPLACE = 0x03,
	BIN_DELETE = 0x04,
	BIN_INCREMENT = 0x05,
	BIN_DECREMENT = 0x06,
	BIN_QUIT = 0x07,
	BIN_FLUSH = 0x08,
	BIN_GETQ = 0x09,
	BIN_NOOP = 0x0a,
	BIN_VERSION = 0x0b,
	BIN_GETK = 0x0c,
	BIN_GETKQ = 0x0d,
	BIN_APPEND = 0x0e,
	BIN_PREPEND = 0x0f,
	BIN_STAT = 0x10,
	BIN_SETQ = 0x11,
	BIN_ADDQ = 0x12,
	BIN_REPLACEQ = 0x13,
	BIN_DELETEQ = 0x14,
	BIN_INCREMENTQ = 0x15,
	BIN_DECREMENTQ = 0x16,
	BIN_QUITQ = 0x17,
	BIN_FLUSHQ = 0x18,
	BIN_APPENDQ = 0x19,
	BIN_PREPENDQ = 0x1a,
	BIN_TOUCH = 0x1c,
	BIN_GAT = 0x1d,
	BIN_GATQ = 0x1e,
	BIN_SASL_LIST_MECHS = 0x20,
	BIN_SASL_AUTH = 0x21,
	BIN_SASL_STEP = 0x22,
	BIN_GATK = 0x23,
	BIN_GATKQ = 0x24,
};

enum bin_status {
	BIN_OK = 0x0000,
	BIN_ENOENT = 0x0001,
	BIN_EEXISTS = 0x0002,
	BIN_E2BIG = 0x0003,
	BIN_EINVAL = 0x0004,
	BIN_NOT_STORED = 0x0005,
	BIN_DELTA_BADVAL = 0x0006,
	BIN_UNKNOWN_COMMAND = 0x0081,
	BIN_ENOMEM = 0x0082,
	BIN_NOT_SUPPORTED = 0x0083,
	BIN_EINTERNAL = 0x0084,
	BIN_ETMPFAIL = 0x0086,
};

/* The request header, in host order (the opaque is kept as its bytes:
 * memcached echoes it without looking). */
struct bin_hdr {
	uint8_t magic, opcode, extlen;
	uint16_t keylen;
	uint32_t bodylen;
	uint8_t opaque[4];
	uint64_t cas;
};

/* A command's own bytes (cmd->priv): this, then the key, then the value. */
struct bin_cmd {
	uint8_t opcode;         /* the request's: the answer echoes it */
	uint8_t base;           /* with its quiet variant folded */
	uint8_t quiet;
	uint8_t opaque[4];
	uint16_t err;           /* error answers: the status... */
	const char *msg;        /* ...and the body */
	uint32_t exp_raw;       /* incr: the expiration word */
	uint64_t delta;         /* incr: the delta */
	uint64_t initial;       /* incr: the initial value */
	uint64_t cas;           /* incr: the header's CAS to match, or 0 */
	unsigned rounds;        /* incr: the adds tried */
	char digits[24];        /* incr: the initial value, as added */
	uint16_t klen;
	char key[];
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) << 32 | get32(p + 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

/* kv's expirations are int32 (memcached's text protocol reads them so);
 * binary's are unsigned. */
static int32_t bin_exptime(uint32_t e)
{
	return e > INT32_MAX ? INT32_MAX : (int32_t)e;
}

static const char *bin_status_str(uint16_t status)
{
	switch (status) {
	case BIN_ENOENT:
		return "Not found";
	case BIN_EEXISTS:
		return "Data exists for key.";
	case BIN_E2BIG:
		return "Too large.";
	case BIN_EINVAL:
		return "Invalid arguments";
	case BIN_NOT_STORED:
		return "Not stored.";
	case BIN_DELTA_BADVAL:
		return "Non-numeric server-side value for incr or decr";
	case BIN_UNKNOWN_COMMAND:
		return "Unknown command";
	case BIN_ENOMEM:
		return "Out of memory";
	case BIN_NOT_SUPPORTED:
		return "Not supported";
	case BIN_ETMPFAIL:
		return "Temporary failure";
	default:
		return "Internal error";
	}
}

/* ---- answers ---- */

static void bin_out_hdr(struct mc_conn *c, const struct bin_cmd *b,
			uint8_t opcode, uint16_t status, uint16_t keylen,
			uint8_t extlen, uint32_t bodylen, uint64_t cas)
{
	uint8_t h[BIN_HDR_LEN];

	h[0] = BIN_RES_MAGIC;
	h[1] = opcode;
	put16(h + 2, keylen);
	h[4] = extlen;
	h[5] = 0;       /* datatype: raw bytes */
	put16(h + 6, status);
	put32(h + 8, bodylen);
	memcpy(h + 12, b->opaque, 4);
	put64(h + 16, cas);
	mc_out(c, h, sizeof(h));
}

/* An error: memcached's write_bin_error, @msg NULL for its usual text. */
static void bin_out_error(struct mc_conn *c, const struct bin_cmd *b,
			  uint16_t status, const char *msg)
{
	size_t n;

	if (msg == NULL)
		msg = bin_status_str(status);
	n = strlen(msg);
	bin_out_hdr(c, b, b->opcode, status, 0, 0, (uint32_t)n, 0);
	mc_out(c, msg, n);
}

/* A success with no body (store, delete, flush, quit, noop): nothing
 * when quiet. */
static void bin_out_ok(struct mc_conn *c, const struct bin_cmd *b,
		       uint64_t cas)
{
	if (!b->quiet)
		bin_out_hdr(c, b, b->opcode, BIN_OK, 0, 0, 0, cas);
}

/* A request kv could not carry out: answered, quiet or not. Returns 1
 * when it answered. */
static int bin_out_failed(struct mc_conn *c, const struct bin_cmd *b,
			  const struct sk_kv_req *r)
{
	if (r->status == SK_OK)
		return 0;
	if (r->status == SK_ERR_UNREACHABLE)
		bin_out_error(c, b, BIN_ETMPFAIL, NULL);
	else if (r->status == SK_ERR_NOMEM)
		bin_out_error(c, b, BIN_ENOMEM, NULL);
	else
		bin_out_error(c, b, BIN_EINTERNAL, NULL);
	return 1;
}

/* kv's answers every command reads alike (memcached's write_bin_error
 * calls); the rest are the command's own. */
static void bin_out_res(struct mc_conn *c, const struct bin_cmd *b,
			enum sk_kv_res res)
{
	switch (res) {
	case SK_KV_NOT_FOUND:
		bin_out_error(c, b, BIN_ENOENT, NULL);
		break;
	case SK_KV_EXISTS:
		bin_out_error(c, b, BIN_EEXISTS, NULL);
		break;
	case SK_KV_NOT_STORED:
		bin_out_error(c, b, BIN_NOT_STORED, NULL);
		break;
	case SK_KV_EFORMAT:
		bin_out_error(c, b, BIN_EINVAL, NULL);
		break;
	case SK_KV_ETOOLARGE:
		bin_out_error(c, b, BIN_E2BIG, NULL);
		break;
	case SK_KV_ENONNUM:
		bin_out_error(c, b, BIN_DELTA_BADVAL, NULL);
		break;
	case SK_KV_ENOMEM:
		/* memcached's out_of_memory() strips "SERVER_ERROR " */
		bin_out_error(c, b, BIN_ENOMEM,
			      "Out of memory allocating item");
		break;
	case SK_KV_ENOMEM_DELTA:
		bin_out_error(c, b, BIN_ENOMEM,
			      "Out of memory incrementing value");
		break;
	default:
		bin_out_error(c, b, BIN_EINTERNAL, NULL);
		break;
	}
}

/* ---- finish functions ---- */

static int bin_finish_error(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct bin_cmd *b = cmd->priv;

	/* memcached answers nothing to a bad magic byte: it closes */
	if (b->err != BIN_OK)
		bin_out_error(c, b, b->err, b->msg);
	return 0;
}

static int bin_finish_simple(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct bin_cmd *b = cmd->priv;
	size_t n;

	switch (b->base) {
	case BIN_VERSION:
		n = strlen(MC_VERSION);
		bin_out_hdr(c, b, b->opcode, BIN_OK, 0, 0, (uint32_t)n, 0);
		mc_out(c, MC_VERSION, n);
		break;
	case BIN_FLUSH:
		if (cmd->special_status != 0)
			bin_out_error(c, b, BIN_ETMPFAIL, NULL);
		else
			bin_out_ok(c, b, 0);
		break;
	default:        /* noop, quit */
		bin_out_ok(c, b, 0);
		break;
	}
	return 0;
}

struct bin_stat_arg {
	struct mc_conn *c;
	const struct bin_cmd *b;
};

/* One statistic: a stat answer with its name as key and its value as the
 * rest of the body (memcached's append_bin_stats). */
static void bin_stat_one(void *arg, const char *name, const char *value)
{
	struct bin_stat_arg *a = arg;
	size_t kl = strlen(name), vl = strlen(value);

	if (kl > UINT16_MAX || vl > UINT32_MAX - kl)
		return;
	bin_out_hdr(a->c, a->b, BIN_STAT, BIN_OK, (uint16_t)kl, 0,
		    (uint32_t)(kl + vl), 0);
	mc_out(a->c, name, kl);
	mc_out(a->c, value, vl);
}

static int bin_finish_stats(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct bin_cmd *b = cmd->priv;
	struct bin_stat_arg a = { c, b };

	if (cmd->special_status != 0) {
		bin_out_error(c, b, BIN_ETMPFAIL, NULL);
		return 0;
	}
	if (mc_stats_each(c, cmd->stats_group, bin_stat_one, &a) != 0) {
		bin_out_error(c, b, BIN_ENOENT, NULL);
		return 0;
	}
	/* the end: an empty stat */
	bin_out_hdr(c, b, BIN_STAT, BIN_OK, 0, 0, 0, 0);
	return 0;
}

/* stats detail's dump, gathered for one packet (mc_detail's callback) */
struct bin_detail_buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void bin_detail_put(void *arg, const void *s, size_t n)
{
	struct bin_detail_buf *d = arg;

	if (d->failed)
		return;
	if (d->cap - d->len < n) {
		size_t cap = d->cap ? d->cap : 256;
		char *p;

		while (cap - d->len < n)
			cap *= 2;
		p = realloc(d->p, cap);
		if (p == NULL) {
			d->failed = 1;
			return;
		}
		d->p = p;
		d->cap = cap;
	}
	memcpy(d->p + d->len, s, n);
	d->len += n;
}

/* memcached's binary stats detail (proto_bin.c, process_bin_stat): on
 * and off answer the end packet alone; dump one stat "detailed" whose
 * value is the text's dump, END included, then the end. */
static int bin_finish_detail(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct bin_cmd *b = cmd->priv;

	if (cmd->detail_op == 'd') {
		struct bin_detail_buf d = {0};

		mc_detail(c, 'd', bin_detail_put, &d);
		if (d.failed) {
			free(d.p);
			bin_out_error(c, b, BIN_ENOMEM,
				      "Out of memory generating stats");
			return 0;
		}
		bin_out_hdr(c, b, BIN_STAT, BIN_OK, 8, 0,
			    (uint32_t)(8 + d.len), 0);
		mc_out(c, "detailed", 8);
		mc_out(c, d.p, d.len);
		free(d.p);
	} else {
		mc_detail(c, cmd->detail_op, NULL, NULL);
	}
	bin_out_hdr(c, b, BIN_STAT, BIN_OK, 0, 0, 0, 0);
	return 0;
}

/* get, getq, getk, getkq, touch, gat, gatq, gatk, gatkq */
static int bin_finish_get(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct bin_cmd *b = cmd->priv;
	const struct sk_kv_req *r = &cmd->req[0];
	int with_key = b->base == BIN_GETK || b->base == BIN_GATK;
	int with_value = b->base != BIN_TOUCH;
	uint16_t kl = with_key ? b->klen : 0;
	size_t vl = with_value ? r->vlen : 0;
	uint8_t flags[4];

	mc_detail_count(c, b->key, b->klen, MC_PFX_GET,
			r->status == SK_OK && r->res == SK_KV_OK);
	if (bin_out_failed(c, b, r))
		return 0;
	if (r->res == SK_KV_NOT_FOUND) {
		if (b->quiet)
			return 0;
		if (!with_key) {
			bin_out_error(c, b, BIN_ENOENT, NULL);
			return 0;
		}
		bin_out_hdr(c, b, b->opcode, BIN_ENOENT, kl, 0, kl, 0);
		mc_out(c, b->key, kl);
		return 0;
	}
	if (r->res != SK_KV_OK) {
		bin_out_res(c, b, r->res);
		return 0;
	}
	/* The core lends a buffer as long as the value: anything else is
	 * the core's fault, not the item's. */
	if (vl > 0 && (r->buf == NULL || vl > r->cap ||
		       vl > UINT32_MAX - 4 - kl)) {
		bin_out_error(c, b, BIN_EINTERNAL, NULL);
		return 0;
	}
	bin_out_hdr(c, b, b->opcode, BIN_OK, kl, 4, (uint32_t)(4 + kl + vl),
		    r->cas);
	put32(flags, r->flags);
	mc_out(c, flags, 4);
	mc_out(c, b->key, kl);
	mc_out(c, r->buf, vl);
	return 0;
}

/* set, add, replace (a cas when the header's CAS is not 0), append,
 * prepend: memcached's complete_update_bin */
static int bin_finish_store(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct bin_cmd *b = cmd->priv;
	const struct sk_kv_req *r = &cmd->req[0];

	if (bin_out_failed(c, b, r))
		return 0;
	switch (r->res) {
	case SK_KV_STORED:
		bin_out_ok(c, b, r->cas);
		break;
	case SK_KV_NOT_STORED:
		if (r->op == SK_KV_ADD)
			bin_out_error(c, b, BIN_EEXISTS, NULL);
		else if (r->op == SK_KV_REPLACE)
			bin_out_error(c, b, BIN_ENOENT, NULL);
		else
			bin_out_error(c, b, BIN_NOT_STORED, NULL);
		break;
	default:
		bin_out_res(c, b, r->res);
		break;
	}
	return 0;
}

static int bin_finish_delete(struct mc_conn *c, struct mc_cmd *cmd)
{
	const struct bin_cmd *b = cmd->priv;
	const struct sk_kv_req *r = &cmd->req[0];

	if (bin_out_failed(c, b, r))
		return 0;
	if (r->res == SK_KV_DELETED)
		bin_out_ok(c, b, 0);
	else
		bin_out_res(c, b, r->res);
	return 0;
}

static void bin_out_number(struct mc_conn *c, const struct bin_cmd *b,
			   uint64_t v, uint64_t cas)
{
	uint8_t body[8];

	if (b->quiet)
		return;
	bin_out_hdr(c, b, b->opcode, BIN_OK, 0, 0, sizeof(body), cas);
	put64(body, v);
	mc_out(c, body, sizeof(body));
}

/* Set @r (again) to the incr or decr the header asks for. */
static void bin_arm_delta(const struct bin_cmd *b, struct sk_kv_req *r)
{
	memset(r, 0, sizeof(*r));
	r->cmd = b->base == BIN_INCREMENT ? SK_KV_CMD_INCR : SK_KV_CMD_DECR;
	r->key = b->key;
	r->klen = b->klen;
	r->delta = b->delta;
	r->cas = b->cas;
}

/* Set @r to the add of the initial value (memcached's: flags 0, the
 * request's expiration). */
static void bin_arm_initial(struct bin_cmd *b, struct sk_kv_req *r)
{
	int n = snprintf(b->digits, sizeof(b->digits), "%llu",
			 (unsigned long long)b->initial);

	memset(r, 0, sizeof(*r));
	r->cmd = SK_KV_CMD_STORE;
	r->op = SK_KV_ADD;
	r->key = b->key;
	r->klen = b->klen;
	r->value = b->digits;
	r->vlen = (size_t)n;
	r->exptime = bin_exptime(b->exp_raw);
}

/*
 * incr, decr. On a miss with an initial value, memcached adds the initial
 * value and answers it; here that add is a second round. An add that
 * finds the key there (another client created it meanwhile) goes back to
 * incr, a few times at most, then answers memcached's "Not stored.".
 */
static int bin_finish_incr(struct mc_conn *c, struct mc_cmd *cmd)
{
	struct bin_cmd *b = cmd->priv;
	struct sk_kv_req *r = &cmd->req[0];

	if (bin_out_failed(c, b, r))
		return 0;
	if (r->cmd == SK_KV_CMD_STORE) {
		switch (r->res) {
		case SK_KV_STORED:
			bin_out_number(c, b, b->initial, r->cas);
			return 0;
		case SK_KV_ENOMEM:
			bin_out_error(c, b, BIN_ENOMEM,
				      "Out of memory allocating new item");
			return 0;
		case SK_KV_NOT_STORED:
			if (++b->rounds >= BIN_INCR_ROUNDS) {
				bin_out_error(c, b, BIN_NOT_STORED, NULL);
				return 0;
			}
			bin_arm_delta(b, r);
			return 1;
		default:
			bin_out_res(c, b, r->res);
			return 0;
		}
	}
	if (r->res == SK_KV_OK) {
		bin_out_number(c, b, r->number, r->cas);
		return 0;
	}
	if (r->res == SK_KV_NOT_FOUND && b->exp_raw != BIN_INCR_NO_INITIAL) {
		bin_arm_initial(b, r);
		return 1;
	}
	bin_out_res(c, b, r->res);
	return 0;
}

/* ---- the parser ---- */

static void bin_hdr_read(const uint8_t *p, struct bin_hdr *h)
{
	h->magic = p[0];
	h->opcode = p[1];
	h->keylen = get16(p + 2);
	h->extlen = p[4];
	h->bodylen = get32(p + 8);
	memcpy(h->opaque, p + 12, 4);
	h->cas = get64(p + 16);
}

/* The quiet opcodes and the ones they are quiet versions of. */
static uint8_t bin_base(uint8_t op, uint8_t *quiet_p)
{
	static const uint8_t loud[][2] = {
		{ BIN_SETQ, BIN_SET },         { BIN_ADDQ, BIN_ADD },
		{ BIN_REPLACEQ, BIN_REPLACE }, { BIN_DELETEQ, BIN_DELETE },
		{ BIN_INCREMENTQ, BIN_INCREMENT },
		{ BIN_DECREMENTQ, BIN_DECREMENT },
		{ BIN_QUITQ, BIN_QUIT },       { BIN_FLUSHQ, BIN_FLUSH },
		{ BIN_APPENDQ, BIN_APPEND },   { BIN_PREPENDQ, BIN_PREPEND },
		{ BIN_GETQ, BIN_GET },         { BIN_GETKQ, BIN_GETK },
		{ BIN_GATQ, BIN_GAT },         { BIN_GATKQ, BIN_GATK },
	};

	for (size_t i = 0; i < sizeof(loud) / sizeof(loud[0]); i++) {
		if (loud[i][0] == op) {
			*quiet_p = 1;
			return loud[i][1];
		}
	}
	*quiet_p = 0;
	return op;
}

/* A command of @nreq requests with room for @klen + @vlen bytes of key
 * and value after its bin_cmd; the key copied in. NULL: out of memory. */
static struct mc_cmd *bin_cmd_new(const struct bin_hdr *h, unsigned nreq,
				  const uint8_t *key, uint16_t klen,
				  size_t vlen, mc_finish_func_t finish)
{
	struct mc_cmd *cmd;
	struct bin_cmd *b;

	cmd = mc_cmd_new(nreq, sizeof(*b) + klen + vlen);
	if (cmd == NULL)
		return NULL;
	b = cmd->priv;
	b->opcode = h->opcode;
	b->base = bin_base(h->opcode, &b->quiet);
	memcpy(b->opaque, h->opaque, 4);
	b->klen = klen;
	if (klen > 0)
		memcpy(b->key, key, klen);
	cmd->finish = finish;
	return cmd;
}

/*
 * A command that only answers @status (@msg NULL: its usual text; status
 * 0: nothing), having consumed @used bytes, then dropping @swallow more
 * as they come; @close_after for the errors after which memcached closes
 * (then all @len bytes are taken: nothing after them is read). When even
 * this small command cannot be allocated: 0, as if the bytes were not all
 * there yet (the core calls again); a larger one that cannot be is
 * answered by bin_oom, memcached's "Out of memory" and close.
 */
static ssize_t bin_answer(struct mc_conn *c, const struct bin_hdr *h,
			  uint16_t status, const char *msg, int close_after,
			  size_t used, size_t swallow, size_t len,
			  struct mc_cmd **cmd_p)
{
	struct mc_cmd *cmd;
	struct bin_cmd *b;

	cmd = bin_cmd_new(h, 0, NULL, 0, 0, bin_finish_error);
	if (cmd == NULL)
		return 0;
	b = cmd->priv;
	b->err = status;
	b->msg = msg;
	cmd->close_after = close_after;
	if (close_after) {
		used = len;
	} else {
		mc_conn_pub(c)->swallow = swallow;
	}
	*cmd_p = cmd;
	return (ssize_t)used;
}

static ssize_t bin_oom(struct mc_conn *c, const struct bin_hdr *h,
		       size_t len, struct mc_cmd **cmd_p)
{
	return bin_answer(c, h, BIN_ENOMEM, NULL, 1, len, 0, len, cmd_p);
}

/* memcached's handle_binary_protocol_error: "Invalid arguments", close */
static ssize_t bin_protocol_error(struct mc_conn *c, const struct bin_hdr *h,
				  size_t len, struct mc_cmd **cmd_p)
{
	return bin_answer(c, h, BIN_EINVAL, NULL, 1, len, 0, len, cmd_p);
}

static size_t bin_item_max(struct mc_conn *c)
{
	const struct mc_settings *s = mc_conn_pub(c)->settings;

	if (s == NULL || s->item_max == 0 || s->item_max > SK_KV_VALUE_MAX)
		return SK_KV_VALUE_MAX;
	return s->item_max;
}

/* A stat request "detail" + @rest: " dump", " on" or " off" by their
 * first bytes, as memcached compares them; else "Not found". */
static ssize_t bin_detail(struct mc_conn *c, const struct bin_hdr *h,
			  const char *rest, size_t n, size_t need, size_t len,
			  struct mc_cmd **cmd_p)
{
	struct mc_cmd *cmd;
	char op = n >= 5 && memcmp(rest, " dump", 5) == 0 ? 'd'
		  : n >= 3 && memcmp(rest, " on", 3) == 0  ? 'n'
		  : n >= 4 && memcmp(rest, " off", 4) == 0 ? 'f'
							   : 0;

	if (op == 0)
		return bin_answer(c, h, BIN_ENOENT, NULL, 0, need, 0, len,
				  cmd_p);
	cmd = bin_cmd_new(h, 0, NULL, 0, 0, bin_finish_detail);
	if (cmd == NULL)
		return bin_oom(c, h, len, cmd_p);
	cmd->detail_op = op;
	*cmd_p = cmd;
	return (ssize_t)need;
}

/* One kv request on the key of the command at @p (after the extras). */
static ssize_t bin_keyed(struct mc_conn *c, const struct bin_hdr *h,
			 const uint8_t *p, size_t vlen, size_t used,
			 size_t len, mc_finish_func_t finish,
			 struct mc_cmd **cmd_p, struct mc_cmd **keyed_p)
{
	struct mc_cmd *cmd;
	struct bin_cmd *b;
	const uint8_t *key = p + BIN_HDR_LEN + h->extlen;

	cmd = bin_cmd_new(h, 1, key, h->keylen, vlen, finish);
	if (cmd == NULL)
		return bin_oom(c, h, len, cmd_p);
	b = cmd->priv;
	if (vlen > 0)
		memcpy(b->key + h->keylen, key + h->keylen, vlen);
	cmd->req[0].key = b->key;
	cmd->req[0].klen = h->keylen;
	*cmd_p = cmd;
	*keyed_p = cmd;
	return (ssize_t)used;
}

ssize_t mc_bin_parse(struct mc_conn *c, const char *buf, size_t len,
		     struct mc_cmd **cmd_p)
{
	const uint8_t *p = (const uint8_t *)buf;
	struct mc_cmd *cmd = NULL;
	struct bin_cmd *b;
	struct sk_kv_req *r;
	struct bin_hdr h;
	uint8_t base, quiet;
	size_t need, vlen = 0;
	ssize_t used;

	if (len < BIN_HDR_LEN)
		return 0;
	bin_hdr_read(p, &h);
	/* memcached closes without a word */
	if (h.magic != BIN_REQ_MAGIC)
		return bin_answer(c, &h, BIN_OK, NULL, 1, len, 0, len, cmd_p);
	/* memcached reads the extras and key before these checks; they need
	 * neither, so they do not wait for them */
	if ((size_t)h.keylen + h.extlen > h.bodylen)
		return bin_answer(c, &h, BIN_UNKNOWN_COMMAND, NULL, 1, len, 0,
				  len, cmd_p);
	if (h.keylen > MC_KEY_MAX)
		return bin_protocol_error(c, &h, len, cmd_p);
	need = BIN_HDR_LEN + (size_t)h.bodylen;
	base = bin_base(h.opcode, &quiet);

	switch (base) {
	case BIN_VERSION:
	case BIN_NOOP:
	case BIN_QUIT:
		if (h.extlen != 0 || h.keylen != 0 || h.bodylen != 0)
			return bin_protocol_error(c, &h, len, cmd_p);
		cmd = bin_cmd_new(&h, 0, NULL, 0, 0, bin_finish_simple);
		if (cmd == NULL)
			return bin_oom(c, &h, len, cmd_p);
		cmd->close_after = base == BIN_QUIT;
		*cmd_p = cmd;
		return BIN_HDR_LEN;

	case BIN_FLUSH: {
		uint32_t e = 0, now;

		if (h.keylen != 0 || h.bodylen != h.extlen ||
		    (h.extlen != 0 && h.extlen != 4))
			return bin_protocol_error(c, &h, len, cmd_p);
		if (len < need)
			return 0;
		if (h.extlen == 4)
			e = get32(p + BIN_HDR_LEN);
		cmd = bin_cmd_new(&h, 0, NULL, 0, 0, bin_finish_simple);
		if (cmd == NULL)
			return bin_oom(c, &h, len, cmd_p);
		cmd->special = MC_SP_FLUSH;
		/* memcached's realtime(): up to 30 days relative, beyond an
		 * absolute Unix time (one already past: now) */
		if (e > 60 * 60 * 24 * 30) {
			now = mc_unix_now();
			e = e > now ? e - now : 0;
		}
		cmd->flush_delay = bin_exptime(e);
		*cmd_p = cmd;
		return (ssize_t)need;
	}

	case BIN_STAT: {
		const char *g = (const char *)p + BIN_HDR_LEN;
		size_t gl = h.keylen;

		if (h.extlen != 0 || h.bodylen != h.keylen)
			return bin_protocol_error(c, &h, len, cmd_p);
		if (len < need)
			return 0;
		/* a group name longer than any or with a NUL in it is
		 * a group nobody knows */
		if (gl >= sizeof(cmd->stats_group) || memchr(g, 0, gl))
			return bin_answer(c, &h, BIN_ENOENT, NULL, 0, need, 0,
					  len, cmd_p);
		if (gl >= 6 && memcmp(g, "detail", 6) == 0)
			return bin_detail(c, &h, g + 6, gl - 6, need, len,
					  cmd_p);
		/* memcached answers conns in text only */
		if (gl == 5 && memcmp(g, "conns", 5) == 0)
			return bin_answer(c, &h, BIN_ENOENT, NULL, 0, need, 0,
					  len, cmd_p);
		cmd = bin_cmd_new(&h, 0, NULL, 0, 0, bin_finish_stats);
		if (cmd == NULL)
			return bin_oom(c, &h, len, cmd_p);
		cmd->special = MC_SP_STATS;
		/* memcached compares the first 8 bytes only (5 for
		 * reset) */
		if (gl >= 8 && memcmp(g, "settings", 8) == 0)
			gl = 8;
		else if (gl >= 5 && memcmp(g, "reset", 5) == 0)
			gl = 5;
		memcpy(cmd->stats_group, g, gl);
		cmd->stats_group[gl] = '\0';
		*cmd_p = cmd;
		return (ssize_t)need;
	}

	case BIN_GET:
	case BIN_GETK:
		if (h.extlen != 0 || h.bodylen != h.keylen || h.keylen == 0)
			return bin_protocol_error(c, &h, len, cmd_p);
		if (len < need)
			return 0;
		used = bin_keyed(c, &h, p, 0, need, len, bin_finish_get,
				 cmd_p, &cmd);
		if (cmd != NULL)
			cmd->req[0].cmd = SK_KV_CMD_GET;
		return used;

	case BIN_TOUCH:
	case BIN_GAT:
	case BIN_GATK:
		if (h.extlen != 4 || h.keylen == 0 ||
		    h.bodylen != (uint32_t)h.extlen + h.keylen)
			return bin_protocol_error(c, &h, len, cmd_p);
		if (len < need)
			return 0;
		used = bin_keyed(c, &h, p, 0, need, len, bin_finish_get,
				 cmd_p, &cmd);
		if (cmd != NULL) {
			/* touch too: it answers the item's flags and CAS */
			cmd->req[0].cmd = SK_KV_CMD_GAT;
			cmd->req[0].exptime =
				bin_exptime(get32(p + BIN_HDR_LEN));
		}
		return used;

	case BIN_DELETE:
		if (h.keylen == 0 || h.extlen != 0 || h.bodylen != h.keylen)
			return bin_protocol_error(c, &h, len, cmd_p);
		if (len < need)
			return 0;
		/* A CAS other than 0: only the item with it goes (else
		 * "Data exists for key"), as in memcached. */
		used = bin_keyed(c, &h, p, 0, need, len, bin_finish_delete,
				 cmd_p, &cmd);
		if (cmd != NULL) {
			b = cmd->priv;
			mc_detail_count(c, b->key, b->klen, MC_PFX_DEL, 0);
			cmd->req[0].cmd = SK_KV_CMD_DELETE;
			cmd->req[0].cas = h.cas;
		}
		return used;

	case BIN_INCREMENT:
	case BIN_DECREMENT:
		if (h.keylen == 0 || h.extlen != 20 ||
		    h.bodylen != (uint32_t)h.extlen + h.keylen)
			return bin_protocol_error(c, &h, len, cmd_p);
		if (len < need)
			return 0;
		used = bin_keyed(c, &h, p, 0, need, len, bin_finish_incr,
				 cmd_p, &cmd);
		if (cmd != NULL) {
			b = cmd->priv;
			b->delta = get64(p + BIN_HDR_LEN);
			b->initial = get64(p + BIN_HDR_LEN + 8);
			b->exp_raw = get32(p + BIN_HDR_LEN + 16);
			b->cas = h.cas; /* not 0: the item's must match */
			bin_arm_delta(b, &cmd->req[0]);
		}
		return used;

	case BIN_SET:
	case BIN_ADD:
	case BIN_REPLACE:
	case BIN_APPEND:
	case BIN_PREPEND: {
		int update = base == BIN_SET || base == BIN_ADD ||
			     base == BIN_REPLACE;

		if (update ? h.extlen != 8 || h.keylen == 0
			   : h.extlen != 0 || h.keylen == 0)
			return bin_protocol_error(c, &h, len, cmd_p);
		vlen = h.bodylen - h.extlen - h.keylen;
		/* memcached answers before the value arrives, and drops it
		 * as it comes; a set also drops the key's old item ("stale
		 * data", its proto_bin.c says), so that one waits for the
		 * key, and its delete's answer is not told */
		if (vlen > bin_item_max(c)) {
			size_t head = BIN_HDR_LEN + h.extlen + h.keylen;

			if (base == BIN_SET) {
				if (len < head)
					return 0;
				used = bin_keyed(c, &h, p, 0, head, len,
						 bin_finish_error, cmd_p, &cmd);
				if (cmd == NULL)
					return used;
				b = cmd->priv;
				b->err = BIN_E2BIG;
				mc_detail_count(c, b->key, b->klen, MC_PFX_SET,
						0);
				cmd->req[0].cmd = SK_KV_CMD_DELETE;
				cmd->too_large = 1;
				mc_conn_pub(c)->swallow = vlen;
				return used;
			}
			/* (counted as taken, as memcached counts it before
			 * it finds it too large: when its key is here) */
			if (len >= head)
				mc_detail_count(c, p + BIN_HDR_LEN + h.extlen,
						h.keylen, MC_PFX_SET, 0);
			used = bin_answer(c, &h, BIN_E2BIG, NULL, 0,
					  BIN_HDR_LEN, h.bodylen, len, cmd_p);
			if (used > 0) /* *cmd_p is the answer */
				(*cmd_p)->too_large = 1;
			return used;
		}
		if (len < need)
			return 0;
		used = bin_keyed(c, &h, p, vlen, need, len, bin_finish_store,
				 cmd_p, &cmd);
		if (cmd == NULL)
			return used;
		b = cmd->priv;
		mc_detail_count(c, b->key, b->klen, MC_PFX_SET, 0);
		r = &cmd->req[0];
		r->cmd = SK_KV_CMD_STORE;
		r->value = b->key + h.keylen;
		r->vlen = vlen;
		switch (base) {
		case BIN_SET:
			r->op = SK_KV_SET;
			break;
		case BIN_ADD:
			r->op = SK_KV_ADD;
			break;
		case BIN_REPLACE:
			r->op = SK_KV_REPLACE;
			break;
		case BIN_APPEND:
			r->op = SK_KV_APPEND;
			break;
		default:
			r->op = SK_KV_PREPEND;
			break;
		}
		if (update) {
			r->flags = get32(p + BIN_HDR_LEN);
			r->exptime = bin_exptime(get32(p + BIN_HDR_LEN + 4));
			/* memcached: any update with a CAS is a cas */
			if (h.cas != 0)
				r->op = SK_KV_CAS;
		}
		/* append and prepend test it too (0: none) */
		r->cas = h.cas;
		return used;
	}

	case BIN_SASL_LIST_MECHS:
		/* memcached without SASL */
		if (h.extlen != 0 || h.keylen != 0 || h.bodylen != 0)
			return bin_protocol_error(c, &h, len, cmd_p);
		return bin_answer(c, &h, BIN_UNKNOWN_COMMAND, NULL, 0,
				  BIN_HDR_LEN, 0, len, cmd_p);
	case BIN_SASL_AUTH:
	case BIN_SASL_STEP:
		if (h.extlen != 0 || h.keylen == 0)
			return bin_protocol_error(c, &h, len, cmd_p);
		return bin_answer(c, &h, BIN_UNKNOWN_COMMAND, NULL, 0,
				  BIN_HDR_LEN, h.bodylen, len, cmd_p);
	default:
		return bin_answer(c, &h, BIN_UNKNOWN_COMMAND, NULL, 0,
				  BIN_HDR_LEN, h.bodylen, len, cmd_p);
	}
}
