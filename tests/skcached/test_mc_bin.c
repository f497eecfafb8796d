/*
 * Unit tests of skcached's binary protocol (launcher/skcached/mc_bin.c).
 * Each case feeds request packets to mc_bin_parse, answers the requests
 * of each command as kv would (status, res, value, flags, CAS: the
 * fields kv.h says it sets; GET and GAT with a buffer lent as the core
 * lends it), calls the command's finish, and compares the answer with
 * what the real memcached sent for the same request, byte for byte.
 *
 * The expectations (mc_bin_expect.h) were taken from memcached 1.6.18 by
 * tests/skcached/mc_bin_oracle.py on a fresh server, whose cases run in
 * this file's order: the CAS uniques and values the fake kv answers below
 * are the ones memcached's items had at that point. Where skcached
 * answers what memcached cannot (a dead node, kv's refusals) or answers
 * otherwise on purpose (mc_bin.c's head comment), the expectation is
 * built here and says so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conn.h"
#include "mc_bin_expect.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ITEM_MAX (1u << 20)

/* What kv answers one request: as kv.h's struct sk_kv_req fields. */
struct fake {
	sk_status_t status;
	enum sk_kv_res res;
	uint32_t flags;         /* GET, GAT */
	uint64_t cas;           /* GET, GAT, a store, INCR, DECR */
	const char *value;      /* GET, GAT */
	uint64_t number;        /* INCR, DECR */
};

#define KV(r, ...) { .status = SK_OK, .res = SK_KV_##r, __VA_ARGS__ }

/* A request as it was posted (copied: the command goes after finish). */
struct posted {
	enum sk_kv_cmd cmd;
	enum sk_kv_op op;
	char key[300];
	size_t klen;
	char *value;
	size_t vlen;
	uint32_t flags;
	int32_t exptime;
	uint64_t cas, delta;
};

static struct mc_settings settings;
static struct mc_stats stats;
static struct mc_conn conn;
static struct posted posted[16];
static unsigned nposted;
static int closed;              /* the last command had close_after */

static void conn_reset(size_t item_max)
{
	mc_conn_out_free(&conn);
	memset(&conn, 0, sizeof(conn));
	settings.item_max = item_max;
	settings.cas_enabled = 1;
	settings.verbose = 0;
	conn.pub.settings = &settings;
	conn.pub.settings_rw = &settings;
	conn.pub.proto = 'B';
	memset(&stats, 0, sizeof(stats));
	conn.stats = &stats;
	for (unsigned i = 0; i < nposted; i++)
		free(posted[i].value);
	nposted = 0;
	closed = 0;
}

static int setup(void **state)
{
	(void)state;
	conn_reset(ITEM_MAX);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	conn_reset(ITEM_MAX);
	mc_conn_out_free(&conn);
	return 0;
}

static void log_posted(const struct sk_kv_req *r)
{
	struct posted *p;

	assert_true(nposted < ARRAY_SIZE(posted));
	p = &posted[nposted++];
	memset(p, 0, sizeof(*p));
	p->cmd = r->cmd;
	p->op = r->op;
	assert_true(r->klen <= sizeof(p->key));
	memcpy(p->key, r->key, r->klen);
	p->klen = r->klen;
	if (r->cmd == SK_KV_CMD_STORE) {
		p->value = malloc(r->vlen + 1);
		assert_non_null(p->value);
		memcpy(p->value, r->value, r->vlen);
		p->value[r->vlen] = '\0';
		p->vlen = r->vlen;
	}
	p->flags = r->flags;
	p->exptime = r->exptime;
	p->cas = r->cas;
	p->delta = r->delta;
}

/* kv's side of one request: what kv sets, and for GET/GAT the buffer
 * the core lends (as long as the value: the core regrows it and asks
 * again when it was short). Returns the lent buffer, or NULL. */
static void *kv_answer(struct sk_kv_req *r, const struct fake *f)
{
	void *lent = NULL;

	log_posted(r);
	assert_int_equal(r->done, 0);
	assert_int_equal(r->status, SK_OK);
	r->status = f->status;
	r->res = f->res;
	if (f->status == SK_OK && f->res == SK_KV_OK &&
	    (r->cmd == SK_KV_CMD_GET || r->cmd == SK_KV_CMD_GAT)) {
		size_t n = strlen(f->value);

		assert_null(r->buf);
		lent = malloc(n ? n : 1);
		assert_non_null(lent);
		memcpy(lent, f->value, n);
		r->buf = lent;
		r->cap = n;
		r->vlen = n;
		r->flags = f->flags;
		r->cas = f->cas;
	}
	if (f->status == SK_OK && f->res == SK_KV_STORED)
		r->cas = f->cas;
	if (f->status == SK_OK && f->res == SK_KV_OK &&
	    (r->cmd == SK_KV_CMD_INCR || r->cmd == SK_KV_CMD_DECR)) {
		r->number = f->number;
		r->cas = f->cas;
	}
	r->done = 1;
	return lent;
}

/*
 * Parse the commands in @req (@len bytes: whole commands), answer their
 * requests with @fakes in turn (a round more when finish asks), finish
 * each, and return how many commands there were. @special_status is what
 * the core says of a flush or stats.
 */
static unsigned feed(const char *req, size_t len, const struct fake *fakes,
		     size_t nfakes, int special_status)
{
	size_t off = 0, nf = 0;
	unsigned ncmd = 0;

	while (off < len) {
		struct mc_cmd *cmd = NULL;
		void *lent[MC_GET_KEYS_MAX] = { 0 };
		ssize_t n;
		int again;

		n = mc_bin_parse(&conn, req + off, len - off, &cmd);
		assert_true(n > 0);
		assert_true((size_t)n <= len - off);
		assert_non_null(cmd);
		assert_non_null(cmd->finish);
		off += (size_t)n;
		/* what the command wants dropped is in this buffer */
		if (conn.pub.swallow > 0) {
			assert_true(conn.pub.swallow <= len - off);
			off += conn.pub.swallow;
			conn.pub.swallow = 0;
		}
		if (cmd->special != MC_SP_NONE)
			cmd->special_status = special_status;
		do {
			for (unsigned i = 0; i < cmd->nreq; i++) {
				assert_true(nf < nfakes);
				free(lent[i]);
				lent[i] = kv_answer(&cmd->req[i], &fakes[nf++]);
			}
			again = cmd->finish(&conn, cmd);
			assert_true(again == 0 || again == 1);
			if (again)
				assert_true(cmd->nreq > 0);
		} while (again);
		for (unsigned i = 0; i < cmd->nreq; i++)
			free(lent[i]);
		closed = cmd->close_after;
		mc_cmd_free(cmd);
		ncmd++;
		if (closed)
			break;
	}
	assert_int_equal(nf, nfakes);
	return ncmd;
}

static void assert_out(const char *ans, size_t alen)
{
	if (conn.out_len != alen ||
	    (alen > 0 && memcmp(conn.out, ans, alen) != 0)) {
		fprintf(stderr, "got %zu bytes:", conn.out_len);
		for (size_t i = 0; i < conn.out_len && i < 96; i++)
			fprintf(stderr, " %02x", (uint8_t)conn.out[i]);
		fprintf(stderr, "\nwant %zu bytes:", alen);
		for (size_t i = 0; i < alen && i < 96; i++)
			fprintf(stderr, " %02x", (uint8_t)ans[i]);
		fprintf(stderr, "\n");
	}
	assert_int_equal(conn.out_len, alen);
	if (alen > 0)
		assert_memory_equal(conn.out, ans, alen);
}

/* One case: its request, kv's answers, memcached's answer. */
#define CASE(name, ...)                                                        \
	do {                                                                   \
		static const struct fake f_[] = { __VA_ARGS__ };               \
		conn_reset(ITEM_MAX);                                          \
		feed(req_##name, req_##name##_len, f_, ARRAY_SIZE(f_), 0);    \
		assert_out(ans_##name, ans_##name##_len);                     \
	} while (0)
#define CASE0(name)                                                            \
	do {                                                                   \
		conn_reset(ITEM_MAX);                                          \
		feed(req_##name, req_##name##_len, NULL, 0, 0);               \
		assert_out(ans_##name, ans_##name##_len);                     \
	} while (0)

/* A response header, for the answers memcached cannot give. */
static size_t hdr(char *p, uint8_t op, uint16_t status, uint16_t kl,
		  uint8_t el, uint32_t bl, uint32_t opaque, uint64_t cas)
{
	uint8_t *h = (uint8_t *)p;

	memset(h, 0, 24);
	h[0] = 0x81;
	h[1] = op;
	h[2] = (uint8_t)(kl >> 8);
	h[3] = (uint8_t)kl;
	h[4] = el;
	h[6] = (uint8_t)(status >> 8);
	h[7] = (uint8_t)status;
	for (int i = 0; i < 4; i++) {
		h[8 + i] = (uint8_t)(bl >> (24 - 8 * i));
		h[12 + i] = (uint8_t)(opaque >> (24 - 8 * i));
	}
	for (int i = 0; i < 8; i++)
		h[16 + i] = (uint8_t)(cas >> (56 - 8 * i));
	return 24;
}

/* A request packet (header and body) into @p; returns its length. */
static size_t req(char *p, uint8_t op, const char *key, size_t kl,
		  const void *ext, uint8_t el, const void *val, size_t vl,
		  uint32_t opaque, uint64_t cas)
{
	size_t n = hdr(p, op, 0, (uint16_t)kl, el, (uint32_t)(el + kl + vl),
		       opaque, cas);

	p[0] = (char)0x80;
	if (el > 0)
		memcpy(p + n, ext, el);
	if (kl > 0)
		memcpy(p + n + el, key, kl);
	if (vl > 0)
		memcpy(p + n + el + kl, val, vl);
	return n + el + kl + vl;
}

static size_t err_answer(char *p, uint8_t op, uint16_t status,
			 const char *msg, uint32_t opaque)
{
	size_t n = hdr(p, op, status, 0, 0, (uint32_t)strlen(msg), opaque, 0);

	memcpy(p + n, msg, strlen(msg));
	return n + strlen(msg);
}

/* ---- memcached's answers, in the oracle's order ---- */

static void test_get_family(void **state)
{
	(void)state;
	CASE(set, KV(STORED, .cas = 1));
	assert_int_equal(posted[0].cmd, SK_KV_CMD_STORE);
	assert_int_equal(posted[0].op, SK_KV_SET);
	assert_string_equal(posted[0].key, "k1");
	assert_string_equal(posted[0].value, "hello");
	assert_int_equal(posted[0].flags, 0xdeadbeef);
	assert_int_equal(posted[0].exptime, 0);

	CASE(get_hit, KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"));
	assert_int_equal(posted[0].cmd, SK_KV_CMD_GET);
	CASE(getk_hit, KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"));
	/* getq: the hit answers, the miss does not */
	CASE(getq_hit_miss,
	     KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"),
	     KV(NOT_FOUND));
	CASE(getkq_miss, KV(NOT_FOUND));
	CASE(get_miss, KV(NOT_FOUND));
	CASE(getk_miss, KV(NOT_FOUND));
	/* touch answers the flags and CAS, not the value: it posts a GAT */
	CASE(touch_hit, KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"));
	assert_int_equal(posted[0].cmd, SK_KV_CMD_GAT);
	assert_int_equal(posted[0].exptime, 100);
	CASE(touch_miss, KV(NOT_FOUND));
	CASE(gat_hit, KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"));
	assert_int_equal(posted[0].cmd, SK_KV_CMD_GAT);
	assert_int_equal(posted[0].exptime, 0);
	CASE(gatk_hit, KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"));
	CASE(gatq_hit, KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"));
	CASE(gatq_miss, KV(NOT_FOUND));
	CASE(gatkq_miss, KV(NOT_FOUND));
	CASE(gatk_miss, KV(NOT_FOUND));
}

static void test_store_family(void **state)
{
	(void)state;
	CASE(add_exists, KV(NOT_STORED));
	assert_int_equal(posted[0].op, SK_KV_ADD);
	/* errors answer even when quiet */
	CASE(addq_exists, KV(NOT_STORED));
	CASE(replace_miss, KV(NOT_STORED));
	assert_int_equal(posted[0].op, SK_KV_REPLACE);
	CASE(append_miss, KV(NOT_STORED));
	assert_int_equal(posted[0].op, SK_KV_APPEND);
	assert_string_equal(posted[0].value, "x");
	CASE(prependq_miss, KV(NOT_STORED));
	assert_int_equal(posted[0].op, SK_KV_PREPEND);
	CASE(setq, KV(STORED, .cas = 2));
	assert_int_equal(posted[0].flags, 7);
	/* a set with a CAS unique is a cas; so is an add with one */
	CASE(set_cas_exists, KV(EXISTS));
	assert_int_equal(posted[0].op, SK_KV_CAS);
	assert_int_equal(posted[0].cas, 12345);
	CASE(set_cas_miss, KV(NOT_FOUND));
	CASE(add_cas_miss, KV(NOT_FOUND));
	assert_int_equal(posted[0].op, SK_KV_CAS);
	CASE(append, KV(STORED, .cas = 3));
	CASE(prepend, KV(STORED, .cas = 4));
	CASE(get_joined, KV(OK, .flags = 7, .cas = 4, .value = "zzabcyy"));
	CASE(replace, KV(STORED, .cas = 5));
	CASE(set_cas_ok, KV(STORED, .cas = 6));
	assert_int_equal(posted[0].op, SK_KV_CAS);
	assert_int_equal(posted[0].cas, 5);
	CASE(delete_hit, KV(DELETED));
	assert_int_equal(posted[0].cmd, SK_KV_CMD_DELETE);
	CASE(delete_miss, KV(NOT_FOUND));
	/* deleteq: the hit says nothing, the miss answers */
	CASE(deleteq_hit_miss, KV(DELETED), KV(NOT_FOUND));
}

static void test_incr_family(void **state)
{
	(void)state;
	/* expiration 0xffffffff: no initial value, a miss is a miss */
	CASE(incr_noinit_miss, KV(NOT_FOUND));
	assert_int_equal(nposted, 1);
	/* a miss with an initial value: the second round adds it */
	CASE(incr_init_miss, KV(NOT_FOUND), KV(STORED, .cas = 7));
	assert_int_equal(nposted, 2);
	assert_int_equal(posted[0].cmd, SK_KV_CMD_INCR);
	assert_int_equal(posted[0].delta, 5);
	assert_int_equal(posted[1].cmd, SK_KV_CMD_STORE);
	assert_int_equal(posted[1].op, SK_KV_ADD);
	assert_string_equal(posted[1].key, "n1");
	assert_string_equal(posted[1].value, "10");
	assert_int_equal(posted[1].flags, 0);
	assert_int_equal(posted[1].exptime, 0);
	CASE(incr_hit, KV(OK, .number = 15, .cas = 8));
	CASE(decr_floor, KV(OK, .number = 0, .cas = 9));
	assert_int_equal(posted[0].cmd, SK_KV_CMD_DECR);
	assert_int_equal(posted[0].delta, 100);
	CASE(incrq_hit, KV(OK, .number = 1, .cas = 10));
	CASE(decrq_init_miss, KV(NOT_FOUND), KV(STORED, .cas = 11));
	assert_string_equal(posted[1].value, "7");
	CASE(get_n2, KV(OK, .flags = 0, .cas = 11, .value = "7"));
	CASE(set_nn, KV(STORED, .cas = 12));
	CASE(incr_nonnum, KV(ENONNUM));
	CASE(incr_wrap, KV(OK, .number = 0, .cas = 13));
	assert_true(posted[0].delta == UINT64_MAX);
}

/* delete, incr, append and prepend with a CAS in the header: kv is asked
 * to match it
 * (sk_kv_req's cas), and its SK_KV_EXISTS is memcached's "Data exists for
 * key."; a CAS of 0 is no condition (every case above). */
static void test_cas_conditions(void **state)
{
	(void)state;
	CASE(set_k5, KV(STORED, .cas = 16));
	CASE(delete_cas_exists, KV(EXISTS));
	assert_int_equal(posted[0].cmd, SK_KV_CMD_DELETE);
	assert_int_equal(posted[0].cas, 116);
	CASE(set_n5, KV(STORED, .cas = 17));
	CASE(incr_cas_exists, KV(EXISTS));
	assert_int_equal(posted[0].cmd, SK_KV_CMD_INCR);
	assert_int_equal(posted[0].cas, 16);
	CASE(incr_cas_ok, KV(OK, .number = 6, .cas = 18));
	assert_int_equal(posted[0].cas, 17);
	CASE(delete_cas_ok, KV(DELETED));
	assert_int_equal(posted[0].cas, 16);
	CASE(incr_cas_miss, KV(NOT_FOUND));
	assert_int_equal(posted[0].cas, 16);
	CASE(set_k6, KV(STORED, .cas = 19));
	CASE(append_cas_exists, KV(EXISTS));
	assert_int_equal(posted[0].op, SK_KV_APPEND);
	assert_int_equal(posted[0].cas, 119);
	CASE(prepend_cas_ok, KV(STORED, .cas = 20));
	assert_int_equal(posted[0].op, SK_KV_PREPEND);
	assert_int_equal(posted[0].cas, 19);
	CASE(get_k6, KV(OK, .flags = 0, .cas = 20, .value = "yv"));
	/* the earlier cases posted no condition */
	CASE(delete_hit, KV(DELETED));
	assert_int_equal(posted[0].cas, 0);
	CASE(incr_hit, KV(OK, .number = 15, .cas = 8));
	assert_int_equal(posted[0].cas, 0);
}

/* An incr whose add of the initial value loses to another client's:
 * incr again (memcached itself answers "Not stored." there), a few times
 * at most. */
static void test_incr_initial_race(void **state)
{
	char p[128], want[128];
	size_t n, wn;
	uint8_t ext[20] = { 0 };

	(void)state;
	ext[7] = 5;                     /* delta 5 */
	ext[15] = 10;                   /* initial 10 */
	ext[19] = 60;                   /* expiration 60 */
	n = req(p, 0x05, "n1", 2, ext, 20, NULL, 0, 77, 0);
	{
		static const struct fake f[] = {
			KV(NOT_FOUND), KV(NOT_STORED), KV(OK, .number = 15,
							   .cas = 9),
		};

		conn_reset(ITEM_MAX);
		feed(p, n, f, ARRAY_SIZE(f), 0);
	}
	assert_int_equal(nposted, 3);
	assert_int_equal(posted[1].exptime, 60);
	assert_int_equal(posted[2].cmd, SK_KV_CMD_INCR);
	assert_int_equal(posted[2].delta, 5);
	/* memcached's incr_hit answer, with this opaque and CAS */
	wn = hdr(want, 0x05, 0, 0, 0, 8, 77, 9);
	memset(want + wn, 0, 8);
	want[wn + 7] = 15;
	assert_out(want, wn + 8);

	/* every add loses: "Not stored." after BIN_INCR_ROUNDS (8) adds */
	{
		static const struct fake f[] = {
			KV(NOT_FOUND), KV(NOT_STORED), KV(NOT_FOUND),
			KV(NOT_STORED), KV(NOT_FOUND), KV(NOT_STORED),
			KV(NOT_FOUND), KV(NOT_STORED), KV(NOT_FOUND),
			KV(NOT_STORED), KV(NOT_FOUND), KV(NOT_STORED),
			KV(NOT_FOUND), KV(NOT_STORED), KV(NOT_FOUND),
			KV(NOT_STORED),
		};

		conn_reset(ITEM_MAX);
		feed(p, n, f, ARRAY_SIZE(f), 0);
	}
	wn = err_answer(want, 0x05, 0x0005, "Not stored.", 77);
	assert_out(want, wn);
}

static void test_other_commands(void **state)
{
	char want[64];
	size_t n;

	(void)state;
	CASE0(flush);
	CASE0(flushq);
	CASE0(flush_exp);
	CASE0(noop);
	/* our version string, in memcached's packet */
	conn_reset(ITEM_MAX);
	feed(req_version, req_version_len, NULL, 0, 0);
	n = hdr(want, 0x0b, 0, 0, 0, (uint32_t)strlen(MC_VERSION), 48, 0);
	assert_memory_equal(want, ans_version, 8);
	assert_memory_equal(want + 12, ans_version + 12, 12);
	memcpy(want + n, MC_VERSION, strlen(MC_VERSION));
	assert_out(want, n + strlen(MC_VERSION));
	CASE0(unknown);
	CASE0(unknown_body);
	CASE0(sasl_list);
	CASE0(sasl_auth);
	/* memcached drops 4 bytes too many after verbosity (the oracle padded
	 * it); its answer is this one without the padding */
	conn_reset(ITEM_MAX);
	feed(req_verbosity, req_verbosity_len - 4, NULL, 0, 0);
	assert_out(ans_verbosity, ans_verbosity_len);
	CASE0(stat_bogus);
	CASE0(quit);
	assert_true(closed);
	CASE0(quitq);
	assert_true(closed);
}

static void test_flush_stats_special(void **state)
{
	struct mc_cmd *cmd = NULL;
	char want[64];
	size_t n;

	(void)state;
	conn_reset(ITEM_MAX);
	assert_int_equal(mc_bin_parse(&conn, req_flush_exp, req_flush_exp_len,
				      &cmd), req_flush_exp_len);
	assert_int_equal(cmd->special, MC_SP_FLUSH);
	assert_int_equal(cmd->flush_delay, 10);
	assert_int_equal(cmd->nreq, 0);
	mc_cmd_free(cmd);
	assert_int_equal(mc_bin_parse(&conn, req_flush, req_flush_len, &cmd),
			 req_flush_len);
	assert_int_equal(cmd->special, MC_SP_FLUSH);
	assert_int_equal(cmd->flush_delay, 0);
	mc_cmd_free(cmd);
	assert_int_equal(mc_bin_parse(&conn, req_stat_settings,
				      req_stat_settings_len, &cmd),
			 req_stat_settings_len);
	assert_int_equal(cmd->special, MC_SP_STATS);
	assert_string_equal(cmd->stats_group, "settings");
	mc_cmd_free(cmd);
	/* memcached compares "settings" by its first 8 bytes (it answered
	 * "stats settingsXYZ" with its settings) */
	{
		char p[64];
		size_t k = req(p, 0x10, "settingsXYZ", 11, NULL, 0, NULL, 0, 1,
			       0);

		assert_int_equal(mc_bin_parse(&conn, p, k, &cmd), k);
		assert_int_equal(cmd->special, MC_SP_STATS);
		assert_string_equal(cmd->stats_group, "settings");
		mc_cmd_free(cmd);
		/* and "reset" by its first 5 */
		k = req(p, 0x10, "resetXY", 7, NULL, 0, NULL, 0, 1, 0);
		assert_int_equal(mc_bin_parse(&conn, p, k, &cmd), k);
		assert_string_equal(cmd->stats_group, "reset");
		mc_cmd_free(cmd);
		/* other groups go as they are, "" for none */
		k = req(p, 0x10, "items", 5, NULL, 0, NULL, 0, 1, 0);
		assert_int_equal(mc_bin_parse(&conn, p, k, &cmd), k);
		assert_string_equal(cmd->stats_group, "items");
		mc_cmd_free(cmd);
		k = req(p, 0x10, "", 0, NULL, 0, NULL, 0, 1, 0);
		assert_int_equal(mc_bin_parse(&conn, p, k, &cmd), k);
		assert_string_equal(cmd->stats_group, "");
		mc_cmd_free(cmd);
		/* longer than any group: "Not found" without asking */
		k = req(p, 0x10, "abcdefghijklmnopqrstuvwxyz0123456789", 36,
			NULL, 0, NULL, 0, 1, 0);
		assert_int_equal(mc_bin_parse(&conn, p, k, &cmd), k);
		assert_int_equal(cmd->special, MC_SP_NONE);
		mc_cmd_free(cmd);
	}

	/* a node failed the flush or the stats: no memcached equivalent */
	conn_reset(ITEM_MAX);
	feed(req_flush, req_flush_len, NULL, 0, -1);
	n = err_answer(want, 0x08, 0x0086, "Temporary failure", 45);
	assert_out(want, n);
	conn_reset(ITEM_MAX);
	feed(req_stat_settings, req_stat_settings_len, NULL, 0, -1);
	n = err_answer(want, 0x10, 0x0086, "Temporary failure", 59);
	assert_out(want, n);
}

/* The stat packets: the gateway's own names, in memcached's packets; with
 * memcached's figures, its first two settings come out the same bytes. */
/*
 * stats detail in binary, as memcached's process_bin_stat: "detail on"
 * and "detail off" answer the end packet alone, "detail dump" a stat
 * "detailed" holding the text's dump, END included, then the end;
 * anything else after "detail" is "Not found". A get counts for its key's
 * prefix as it is answered. "conns" is not a binary stat group.
 */
static void test_stats_detail(void **state)
{
	static struct mc_prefixes t;
	static const char dump[] = "PREFIX k get 1 hit 1 set 0 del 0\r\nEND\r\n";
	static const struct fake f[] = { KV(OK, .value = "v") };
	char p[160], want[200];
	size_t n, w;

	(void)state;
	conn_reset(ITEM_MAX);
	conn.prefixes = &t;
	n = req(p, 0x10, "detail on", 9, NULL, 0, NULL, 0, 1, 0);
	n += req(p + n, 0x00, "k:1", 3, NULL, 0, NULL, 0, 2, 0);
	feed(p, n, f, 1, 0);
	assert_true(t.on);
	conn.out_len = 0;
	n = req(p, 0x10, "detail dump", 11, NULL, 0, NULL, 0, 3, 0);
	n += req(p + n, 0x10, "detail off", 10, NULL, 0, NULL, 0, 4, 0);
	n += req(p + n, 0x10, "detail x", 8, NULL, 0, NULL, 0, 5, 0);
	feed(p, n, NULL, 0, 0);
	w = hdr(want, 0x10, 0, 8, 0, (uint32_t)(8 + sizeof(dump) - 1), 3, 0);
	memcpy(want + w, "detailed", 8);
	memcpy(want + w + 8, dump, sizeof(dump) - 1);
	w += 8 + sizeof(dump) - 1;
	w += hdr(want + w, 0x10, 0, 0, 0, 0, 3, 0);
	w += hdr(want + w, 0x10, 0, 0, 0, 0, 4, 0);
	w += err_answer(want + w, 0x10, 0x0001, "Not found", 5);
	assert_out(want, w);
	assert_false(t.on);
	/* conns: text only, as in memcached */
	conn.out_len = 0;
	n = req(p, 0x10, "conns", 5, NULL, 0, NULL, 0, 6, 0);
	feed(p, n, NULL, 0, 0);
	w = err_answer(want, 0x10, 0x0001, "Not found", 6);
	assert_out(want, w);
	conn.prefixes = NULL;
}

static void test_stats_packets(void **state)
{
	/* maxbytes (40 bytes), maxconns (36 bytes), the end (24) */
	const size_t first = 40 + 36, end = 24;

	(void)state;
	conn_reset(ITEM_MAX);
	stats.limit_maxbytes = 67108864;
	stats.max_connections = 1024;
	feed(req_stat_settings, req_stat_settings_len, NULL, 0, 0);
	assert_int_equal(ans_stat_settings_len, first + end);
	assert_true(conn.out_len > first + end);
	assert_memory_equal(conn.out, ans_stat_settings, first);
	assert_memory_equal(conn.out + conn.out_len - end,
			    ans_stat_settings + first, end);
	/* the packets in between are whole stat packets */
	for (size_t off = first; off < conn.out_len - end;) {
		const uint8_t *h = (const uint8_t *)conn.out + off;
		uint32_t bl = (uint32_t)h[8] << 24 | h[9] << 16 | h[10] << 8 |
			      h[11];

		assert_int_equal(h[0], 0x81);
		assert_int_equal(h[1], 0x10);
		assert_true(h[2] << 8 | h[3]);
		assert_true(bl > (unsigned)(h[2] << 8 | h[3]));
		assert_memory_equal(h + 12, ans_stat_settings + 12, 4);
		off += 24 + bl;
		assert_true(off <= conn.out_len - end);
	}
}

/* Requests memcached refuses and closes on. */
static void test_protocol_errors(void **state)
{
	(void)state;
	CASE0(get_key251);
	assert_true(closed);
	CASE0(set_key251);
	assert_true(closed);
	CASE0(set_key0);
	assert_true(closed);
	CASE0(set_ext4);
	assert_true(closed);
	CASE0(get_ext4);
	assert_true(closed);
	CASE0(incr_ext16);
	assert_true(closed);
	CASE0(noop_body);
	assert_true(closed);
	CASE0(flush_ext8);
	assert_true(closed);
	CASE0(short_body);
	assert_true(closed);
	CASE0(bad_magic);
	assert_true(closed);
}

/* Our own refusals, where memcached would answer from its own item:
 * the stream stays usable. */
static void test_not_memcached(void **state)
{
	char p[512], want[128];
	size_t n, wn;

	(void)state;
	/* a dead node */
	{
		static const struct fake f[] = {
			{ .status = SK_ERR_UNREACHABLE },
		};

		conn_reset(ITEM_MAX);
		feed(req_get_hit, req_get_hit_len, f, 1, 0);
		wn = err_answer(want, 0x00, 0x0086, "Temporary failure",
				0xa1b2c3d4);
		assert_out(want, wn);
	}
	{
		/* quiet commands answer their failures too */
		static const struct fake f[] = {
			{ .status = SK_ERR_UNREACHABLE },
		};

		conn_reset(ITEM_MAX);
		feed(req_setq, req_setq_len, f, 1, 0);
		wn = err_answer(want, 0x11, 0x0086, "Temporary failure", 22);
		assert_out(want, wn);
	}
	{
		static const struct fake f[] = { { .status = SK_ERR_IO } };

		conn_reset(ITEM_MAX);
		feed(req_delete_hit, req_delete_hit_len, f, 1, 0);
		wn = err_answer(want, 0x04, 0x0084, "Internal error", 31);
		assert_out(want, wn);
	}
	/* a key kv refuses (a space in it): "Invalid arguments", open */
	{
		static const struct fake f[] = { KV(EFORMAT) };

		conn_reset(ITEM_MAX);
		n = req(p, 0x00, "a b", 3, NULL, 0, NULL, 0, 5, 0);
		feed(p, n, f, 1, 0);
		assert_false(closed);
		wn = err_answer(want, 0x00, 0x0004, "Invalid arguments", 5);
		assert_out(want, wn);
	}
	/* kv out of memory: memcached's out_of_memory() texts */
	{
		static const struct fake f[] = { KV(ENOMEM) };

		conn_reset(ITEM_MAX);
		feed(req_set, req_set_len, f, 1, 0);
		wn = err_answer(want, 0x01, 0x0082,
				"Out of memory allocating item", 0x01020304);
		assert_out(want, wn);
	}
	/* touch or stat with bytes after the key: "Invalid arguments" and
	 * close (memcached reads them as the next header, and closes) */
	conn_reset(ITEM_MAX);
	n = req(p, 0x1c, "k1", 2, "\0\0\0\0", 4, "zz", 2, 9, 0);
	feed(p, n, NULL, 0, 0);
	assert_true(closed);
	wn = err_answer(want, 0x1c, 0x0004, "Invalid arguments", 9);
	assert_out(want, wn);
	conn_reset(ITEM_MAX);
	n = req(p, 0x10, "settings", 8, NULL, 0, "zz", 2, 10, 0);
	feed(p, n, NULL, 0, 0);
	assert_true(closed);
	wn = err_answer(want, 0x10, 0x0004, "Invalid arguments", 10);
	assert_out(want, wn);
}

/* ---- limits ---- */

static void test_key_limit(void **state)
{
	(void)state;
	/* 250: a key; 251: memcached's "Invalid arguments" and close */
	CASE(get_key250, KV(NOT_FOUND));
	assert_int_equal(posted[0].klen, 250);
	assert_false(closed);
	CASE0(get_key251);
	assert_true(closed);
}

/* A set of @vlen bytes (opaque @opaque, quiet if @op says so). */
static char *big_set(uint8_t op, size_t vlen, uint32_t opaque, size_t *len_p)
{
	size_t el = op == 0x0e ? 0 : 8;
	char *p = malloc(24 + el + 3 + vlen);

	assert_non_null(p);
	memset(p + 24, 0, el);
	memset(p + 24 + el + 3, 'v', vlen);
	hdr(p, op, 0, 3, (uint8_t)el, (uint32_t)(el + 3 + vlen), opaque, 0);
	p[0] = (char)0x80;
	memcpy(p + 24 + el, "big", 3);
	*len_p = 24 + el + 3 + vlen;
	return p;
}

static void test_value_limit(void **state)
{
	struct mc_cmd *cmd = NULL;
	char want[64];
	size_t len, wn;
	char *p;

	(void)state;
	/* past item_max: memcached's "Too large." before the value came,
	 * and the value dropped as it comes; a set (and setq) also drops
	 * the key's old item, so it waits for the key (24 + 8 + 3 bytes),
	 * and its delete's answer is not told */
	p = big_set(0x01, ITEM_MAX + 1, 55, &len);
	assert_int_equal(len, req_set_too_large_len);
	conn_reset(ITEM_MAX);
	assert_int_equal(mc_bin_parse(&conn, p, 34, &cmd), 0);
	assert_int_equal(mc_bin_parse(&conn, p, 35, &cmd), 35);
	assert_int_equal(conn.pub.swallow, len - 35);
	assert_int_equal(cmd->nreq, 1);
	assert_int_equal(cmd->req[0].cmd, SK_KV_CMD_DELETE);
	assert_int_equal(cmd->req[0].klen, 3);
	assert_memory_equal(cmd->req[0].key, "big", 3);
	assert_int_equal(cmd->req[0].cas, 0);
	assert_true(cmd->too_large);
	assert_false(cmd->close_after);
	cmd->req[0].status = SK_OK;
	cmd->req[0].res = SK_KV_DELETED;
	assert_int_equal(cmd->finish(&conn, cmd), 0);
	mc_cmd_free(cmd);
	assert_out(ans_set_too_large, ans_set_too_large_len);
	{
		static const struct fake f[] = { KV(NOT_FOUND) };

		conn_reset(ITEM_MAX);
		feed(p, len, f, 1, 0);
	}
	assert_out(ans_set_too_large, ans_set_too_large_len);
	free(p);
	p = big_set(0x11, ITEM_MAX + 1, 56, &len);
	assert_int_equal(len, req_setq_too_large_len);
	{
		static const struct fake f[] = { KV(DELETED) };

		conn_reset(ITEM_MAX);
		feed(p, len, f, 1, 0);
	}
	assert_out(ans_setq_too_large, ans_setq_too_large_len);
	free(p);
	p = big_set(0x0e, ITEM_MAX + 1, 57, &len);
	assert_int_equal(len, req_append_too_large_len);
	conn_reset(ITEM_MAX);
	feed(p, len, NULL, 0, 0);
	assert_out(ans_append_too_large, ans_append_too_large_len);
	free(p);

	/* at item_max: kv takes it (memcached refuses from 1048515 bytes
	 * with this key: its item header counts, kv/sem.h); the answer is
	 * memcached's set answer */
	p = big_set(0x01, ITEM_MAX, 55, &len);
	{
		static const struct fake f[] = { KV(STORED, .cas = 1) };

		conn_reset(ITEM_MAX);
		assert_int_equal(mc_bin_parse(&conn, p, len - 1, &cmd), 0);
		feed(p, len, f, 1, 0);
	}
	assert_int_equal(posted[0].vlen, ITEM_MAX);
	wn = hdr(want, 0x01, 0, 0, 0, 0, 55, 1);
	assert_out(want, wn);
	free(p);

	/* a smaller -I: at it and past it */
	p = big_set(0x01, 1000, 1, &len);
	{
		static const struct fake f[] = { KV(STORED, .cas = 1) };

		conn_reset(1000);
		feed(p, len, f, 1, 0);
	}
	assert_int_equal(posted[0].vlen, 1000);
	free(p);
	p = big_set(0x01, 1001, 1, &len);
	{
		static const struct fake f[] = { KV(DELETED) };

		conn_reset(1000);
		feed(p, len, f, 1, 0);
	}
	wn = err_answer(want, 0x01, 0x0003, "Too large.", 1);
	assert_out(want, wn);
	free(p);
}

/* ---- the stream ---- */

/* Every prefix of a command is "not yet". */
static void test_partial(void **state)
{
	static const struct {
		const char *req;
		size_t len;
	} whole[] = {
		{ req_set, req_set_len },
		{ req_get_hit, req_get_hit_len },
		{ req_getk_hit, req_getk_hit_len },
		{ req_touch_hit, req_touch_hit_len },
		{ req_gatk_hit, req_gatk_hit_len },
		{ req_append, req_append_len },
		{ req_replace, req_replace_len },
		{ req_delete_hit, req_delete_hit_len },
		{ req_incr_hit, req_incr_hit_len },
		{ req_flush_exp, req_flush_exp_len },
		{ req_noop, req_noop_len },
		{ req_version, req_version_len },
		{ req_stat_settings, req_stat_settings_len },
		{ req_get_key250, req_get_key250_len },
		{ req_quit, req_quit_len },
	};

	(void)state;
	conn_reset(ITEM_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(whole); i++) {
		struct mc_cmd *cmd = NULL;
		char *copy;

		for (size_t n = 0; n < whole[i].len; n++) {
			/* exactly n bytes, so ASan sees a read past them */
			copy = malloc(n ? n : 1);
			assert_non_null(copy);
			memcpy(copy, whole[i].req, n);
			assert_int_equal(mc_bin_parse(&conn, copy, n, &cmd),
					 0);
			assert_null(cmd);
			free(copy);
		}
		assert_int_equal(mc_bin_parse(&conn, whole[i].req,
					      whole[i].len, &cmd),
				 whole[i].len);
		assert_non_null(cmd);
		mc_cmd_free(cmd);
		cmd = NULL;
	}
	/* those answered from the header alone wait for the header only */
	for (size_t n = 0; n < 24; n++) {
		struct mc_cmd *cmd = NULL;

		assert_int_equal(mc_bin_parse(&conn, req_unknown_body, n,
					      &cmd), 0);
		assert_int_equal(mc_bin_parse(&conn, req_get_key251, n, &cmd),
				 0);
		assert_int_equal(mc_bin_parse(&conn, req_bad_magic, n, &cmd),
				 0);
		assert_null(cmd);
	}
}

/* Commands in one buffer come out one by one, their answers in order,
 * the quiet ones' silence included. */
static void test_pipelined(void **state)
{
	static const struct fake f[] = {
		KV(STORED, .cas = 1),
		KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"),
		KV(OK, .flags = 0xdeadbeef, .cas = 1, .value = "hello"),
		KV(NOT_FOUND),
		KV(NOT_FOUND),
		KV(STORED, .cas = 2),
		KV(NOT_FOUND),
		KV(STORED, .cas = 7),
	};
	char in[1024], want[1024];
	size_t n = 0, wn = 0;

#define ADD(name)                                                              \
	do {                                                                   \
		memcpy(in + n, req_##name, req_##name##_len);                  \
		n += req_##name##_len;                                         \
		memcpy(want + wn, ans_##name, ans_##name##_len);               \
		wn += ans_##name##_len;                                        \
	} while (0)
	(void)state;
	ADD(set);
	ADD(get_hit);
	ADD(getq_hit_miss);
	ADD(getkq_miss);
	ADD(unknown_body);
	ADD(setq);
	ADD(incr_init_miss);
	ADD(noop);
	ADD(quit);
	ADD(noop);              /* after quit: never read */
#undef ADD
	conn_reset(ITEM_MAX);
	assert_int_equal(feed(in, n, f, ARRAY_SIZE(f), 0), 10);
	assert_true(closed);
	assert_out(want, wn - ans_noop_len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_get_family, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_store_family, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_incr_family, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cas_conditions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_incr_initial_race, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_other_commands, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_flush_stats_special,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_detail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stats_packets, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_protocol_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_not_memcached, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_key_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_value_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
