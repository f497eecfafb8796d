// SPDX-License-Identifier: MIT
/*
 * tests/kv/sem_model.c - the reference model (sem_model.h).
 *
 * The front end follows memcached 1.6.18's proto_text.c: a command line
 * ends at '\n' (one '\r' before it dropped) and at its first NUL; tokens
 * are split on ' ' only; each command checks its token count (else
 * "ERROR"), then the key length, then its numbers, in memcached's order,
 * because that order decides which error a client sees. What to answer
 * is kv/sem.h's business; this file only holds the items.
 */
#include "sem_model.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sem.h"

struct item {
	struct item *next;
	size_t nkey, len;
	struct sk_kv_meta meta;
	char *val;
	char key[SK_KV_KEY_MAX];
};

struct skm {
	struct item *head;
	uint64_t next_cas;
	uint64_t (*now)(void *arg);
	void *arg;
};

struct tok {
	const char *s;
	size_t len;
};

#define MAX_TOK 64

int skm_buf_put(struct skm_buf *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void skm_buf_free(struct skm_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

struct skm *skm_new(uint64_t (*now)(void *arg), void *arg)
{
	struct skm *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->now = now;
	m->arg = arg;
	m->next_cas = 1;
	return m;
}

static void item_free(struct item *it)
{
	free(it->val);
	free(it);
}

static void flush(struct skm *m)
{
	while (m->head) {
		struct item *it = m->head;

		m->head = it->next;
		item_free(it);
	}
}

void skm_free(struct skm *m)
{
	if (!m)
		return;
	flush(m);
	free(m);
}

/* The live item of a key; an expired one is dropped on the way. */
static struct item **find(struct skm *m, const struct tok *k)
{
	struct item **pp;

	for (pp = &m->head; *pp; pp = &(*pp)->next) {
		struct item *it = *pp;

		if (it->nkey != k->len || memcmp(it->key, k->s, k->len))
			continue;
		if (sk_kv_expired(it->meta.exp, m->now(m->arg))) {
			*pp = it->next;
			item_free(it);
			return NULL;
		}
		return pp;
	}
	return NULL;
}

static void unlink_key(struct skm *m, const struct tok *k)
{
	struct item **pp = find(m, k);

	if (pp) {
		struct item *it = *pp;

		*pp = it->next;
		item_free(it);
	}
}

static bool tok_is(const struct tok *t, const char *s)
{
	return t->len == strlen(s) && !memcmp(t->s, s, t->len);
}

/* memcached's key test (length) and kv's (sk_kv_key_ok) in one */
static bool key_bad(const struct tok *k)
{
	return !sk_kv_key_ok(k->s, k->len);
}

struct conn {
	struct skm *m;
	struct skm_buf *out;
	bool noreply;
	int err;
};

static void put(struct conn *c, const void *p, size_t n)
{
	if (skm_buf_put(c->out, p, n))
		c->err = -1;
}

static void out_res(struct conn *c, enum sk_kv_res r)
{
	const char *s = sk_kv_res_str(r);

	if (c->noreply) {
		c->noreply = false;
		return;
	}
	put(c, s, strlen(s));
	put(c, "\r\n", 2);
}

static void set_noreply(struct conn *c, const struct tok *t, size_t n)
{
	c->noreply = n >= 2 && tok_is(&t[n - 1], "noreply");
}

static void do_get(struct conn *c, struct tok *t, size_t n, bool cas,
		   bool touch)
{
	struct skm_buf hits = { 0 };
	size_t i = 1;
	uint64_t exp = 0;
	int32_t e;
	char hdr[64];

	if (touch) {
		if (!sk_kv_parse_i32(t[1].s, t[1].len, &e)) {
			out_res(c, SK_KV_EEXPTIME);
			return;
		}
		exp = sk_kv_exptime_abs(e, c->m->now(c->m->arg));
		i = 2;
	}
	for (; i < n; i++) {
		struct item **pp, *it;

		if (key_bad(&t[i])) {
			/* memcached drops the VALUEs it had stacked */
			skm_buf_free(&hits);
			out_res(c, SK_KV_EFORMAT);
			return;
		}
		pp = find(c->m, &t[i]);
		if (!pp)
			continue;
		it = *pp;
		if (touch)
			it->meta.exp = exp;
		if (cas)
			snprintf(hdr, sizeof(hdr), " %u %zu %llu\r\n",
				 it->meta.flags, it->len,
				 (unsigned long long)it->meta.cas);
		else
			snprintf(hdr, sizeof(hdr), " %u %zu\r\n",
				 it->meta.flags, it->len);
		if (skm_buf_put(&hits, "VALUE ", 6) ||
		    skm_buf_put(&hits, it->key, it->nkey) ||
		    skm_buf_put(&hits, hdr, strlen(hdr)) ||
		    skm_buf_put(&hits, it->val, it->len) ||
		    skm_buf_put(&hits, "\r\n", 2))
			c->err = -1;
	}
	put(c, hits.p, hits.len);
	skm_buf_free(&hits);
	out_res(c, SK_KV_END);
}

/*
 * set/add/replace/append/prepend/cas. Returns the bytes of data it took
 * after the line, or -1 when they have not all arrived.
 */
static long do_update(struct conn *c, struct tok *t, size_t n,
		      enum sk_kv_op op, const char *data, size_t avail)
{
	struct sk_kv_meta req = { 0 }, out;
	const struct sk_kv_meta *cur;
	struct item **pp, *it;
	int32_t e, vlen;
	uint64_t now = c->m->now(c->m->arg);
	enum sk_kv_res r;
	size_t need;
	char *nv;

	set_noreply(c, t, n);
	if (key_bad(&t[1])) {
		out_res(c, SK_KV_EFORMAT);
		return 0;
	}
	if (!sk_kv_parse_flags(t[2].s, t[2].len, &req.flags) ||
	    !sk_kv_parse_i32(t[3].s, t[3].len, &e) ||
	    !sk_kv_parse_i32(t[4].s, t[4].len, &vlen)) {
		out_res(c, SK_KV_EFORMAT);
		return 0;
	}
	req.exp = sk_kv_exptime_abs(e, now);
	if (op == SK_KV_CAS && !sk_kv_parse_u64(t[5].s, t[5].len, &req.cas)) {
		out_res(c, SK_KV_EFORMAT);
		return 0;
	}
	if (vlen < 0 || vlen > INT32_MAX - 2) {
		out_res(c, SK_KV_EFORMAT);
		return 0;
	}
	need = (size_t)vlen + 2;
	if (avail < need)
		return -1;
	if (!sk_kv_value_ok((size_t)vlen)) {
		/* the data block is read and dropped; a set loses the old item */
		out_res(c, SK_KV_ETOOLARGE);
		if (op == SK_KV_SET)
			unlink_key(c->m, &t[1]);
		return (long)need;
	}
	if (memcmp(data + vlen, "\r\n", 2)) {
		out_res(c, SK_KV_EDATA);
		return (long)need;
	}
	pp = find(c->m, &t[1]);
	cur = pp ? &(*pp)->meta : NULL;
	r = sk_kv_store_decide(op, cur, pp ? (*pp)->len : 0, &req, (size_t)vlen,
			&out);
	if (r != SK_KV_STORED) {
		out_res(c, r);
		return (long)need;
	}
	out.cas = c->m->next_cas++;
	if (op == SK_KV_APPEND || op == SK_KV_PREPEND) {
		it = *pp;
		nv = malloc(it->len + (size_t)vlen + 1);
		if (!nv) {
			c->err = -1;
			return (long)need;
		}
		if (op == SK_KV_APPEND) {
			memcpy(nv, it->val, it->len);
			memcpy(nv + it->len, data, (size_t)vlen);
		} else {
			memcpy(nv, data, (size_t)vlen);
			memcpy(nv + vlen, it->val, it->len);
		}
		free(it->val);
		it->val = nv;
		it->len += (size_t)vlen;
		it->meta = out;
		out_res(c, r);
		return (long)need;
	}
	nv = malloc((size_t)vlen + 1);
	if (!nv) {
		c->err = -1;
		return (long)need;
	}
	memcpy(nv, data, (size_t)vlen);
	if (pp) {
		it = *pp;
		free(it->val);
	} else {
		it = calloc(1, sizeof(*it));
		if (!it) {
			free(nv);
			c->err = -1;
			return (long)need;
		}
		memcpy(it->key, t[1].s, t[1].len);
		it->nkey = t[1].len;
		it->next = c->m->head;
		c->m->head = it;
	}
	it->val = nv;
	it->len = (size_t)vlen;
	it->meta = out;
	out_res(c, r);
	return (long)need;
}

static void do_delta(struct conn *c, struct tok *t, size_t n, bool incr)
{
	char digits[SK_KV_U64_DIGITS];
	size_t nd, nl;
	uint64_t delta, v;
	struct item **pp, *it;
	enum sk_kv_res r;
	char *nv;

	set_noreply(c, t, n);
	if (key_bad(&t[1])) {
		out_res(c, SK_KV_EFORMAT);
		return;
	}
	if (!sk_kv_parse_u64(t[2].s, t[2].len, &delta)) {
		out_res(c, SK_KV_EDELTA);
		return;
	}
	pp = find(c->m, &t[1]);
	if (!pp) {
		out_res(c, SK_KV_NOT_FOUND);
		return;
	}
	it = *pp;
	r = sk_kv_delta(it->val, it->len, incr, delta, &v, digits, &nd, &nl);
	if (r != SK_KV_OK) {
		out_res(c, r);
		return;
	}
	nv = malloc(nl + 1);
	if (!nv) {
		c->err = -1;
		return;
	}
	memcpy(nv, digits, nd);
	memset(nv + nd, ' ', nl - nd);
	free(it->val);
	it->val = nv;
	it->len = nl;
	it->meta.cas = c->m->next_cas++;
	if (c->noreply) {
		c->noreply = false;
		return;
	}
	put(c, digits, nd);
	put(c, "\r\n", 2);
}

static void do_delete(struct conn *c, struct tok *t, size_t n)
{
	struct item **pp;

	/* n counts real tokens; memcached's ntokens is n + 1 */
	if (n > 2) {
		bool hold0 = tok_is(&t[2], "0");
		bool valid;

		set_noreply(c, t, n);
		valid = (n == 3 && (hold0 || c->noreply)) ||
			(n == 4 && hold0 && c->noreply);
		if (!valid) {
			out_res(c, SK_KV_EDELUSAGE);
			return;
		}
	}
	if (key_bad(&t[1])) {
		out_res(c, SK_KV_EFORMAT);
		return;
	}
	pp = find(c->m, &t[1]);
	if (!pp) {
		out_res(c, SK_KV_NOT_FOUND);
		return;
	}
	unlink_key(c->m, &t[1]);
	out_res(c, SK_KV_DELETED);
}

static void do_touch(struct conn *c, struct tok *t, size_t n)
{
	struct item **pp;
	int32_t e;

	set_noreply(c, t, n);
	if (key_bad(&t[1])) {
		out_res(c, SK_KV_EFORMAT);
		return;
	}
	if (!sk_kv_parse_i32(t[2].s, t[2].len, &e)) {
		out_res(c, SK_KV_EEXPTIME);
		return;
	}
	pp = find(c->m, &t[1]);
	if (!pp) {
		out_res(c, SK_KV_NOT_FOUND);
		return;
	}
	(*pp)->meta.exp = sk_kv_exptime_abs(e, c->m->now(c->m->arg));
	out_res(c, SK_KV_TOUCHED);
}

/* One command line; returns the data bytes it took, -1 if incomplete. */
static long command(struct conn *c, const char *line, size_t ll,
		    const char *data, size_t avail)
{
	struct tok t[MAX_TOK];
	size_t n = 0, i, s = 0;
	const char *nul = memchr(line, '\0', ll);

	if (nul)
		ll = (size_t)(nul - line); /* memcached's strlen */
	for (i = 0; i <= ll; i++) {
		if (i < ll && line[i] != ' ')
			continue;
		if (i > s) {
			if (n == MAX_TOK) {
				out_res(c, SK_KV_ERROR);
				return 0;
			}
			t[n].s = line + s;
			t[n].len = i - s;
			n++;
		}
		s = i + 1;
	}
	c->noreply = false;
	/* memcached's ntokens is n + 1: it counts a terminal token */
	if (n < 1 || t[0].len < 2) {
		out_res(c, SK_KV_ERROR);
		return 0;
	}
	if (tok_is(&t[0], "get") || tok_is(&t[0], "gets")) {
		if (n < 2)
			goto error;
		do_get(c, t, n, t[0].len == 4, false);
	} else if (tok_is(&t[0], "gat") || tok_is(&t[0], "gats")) {
		if (n < 2)
			goto error;
		do_get(c, t, n, t[0].len == 4, true);
	} else if (tok_is(&t[0], "set") || tok_is(&t[0], "add") ||
		   tok_is(&t[0], "replace") || tok_is(&t[0], "append") ||
		   tok_is(&t[0], "prepend")) {
		enum sk_kv_op op = tok_is(&t[0], "set")	    ? SK_KV_SET :
				   tok_is(&t[0], "add")	    ? SK_KV_ADD :
				   tok_is(&t[0], "replace") ? SK_KV_REPLACE :
				   tok_is(&t[0], "append")  ? SK_KV_APPEND :
							      SK_KV_PREPEND;

		if (n != 5 && n != 6)
			goto error;
		return do_update(c, t, n, op, data, avail);
	} else if (tok_is(&t[0], "cas")) {
		if (n != 6 && n != 7)
			goto error;
		return do_update(c, t, n, SK_KV_CAS, data, avail);
	} else if (tok_is(&t[0], "incr") || tok_is(&t[0], "decr")) {
		if (n != 3 && n != 4)
			goto error;
		do_delta(c, t, n, t[0].s[0] == 'i');
	} else if (tok_is(&t[0], "delete")) {
		if (n < 2 || n > 4)
			goto error;
		do_delete(c, t, n);
	} else if (tok_is(&t[0], "touch")) {
		if (n != 3 && n != 4)
			goto error;
		do_touch(c, t, n);
	} else if (tok_is(&t[0], "flush_all") && n == 1) {
		flush(c->m);
		out_res(c, SK_KV_OK);
	} else if (tok_is(&t[0], "mn") && n == 1) {
		put(c, "MN\r\n", 4);
	} else {
		goto error;
	}
	return 0;
error:
	out_res(c, SK_KV_ERROR);
	return 0;
}

long skm_exec(struct skm *m, const char *in, size_t len, struct skm_buf *out)
{
	struct conn c = { .m = m, .out = out };
	size_t pos = 0;

	while (pos < len) {
		const char *nl = memchr(in + pos, '\n', len - pos);
		size_t ll, next;
		long took;

		if (!nl)
			break;
		next = (size_t)(nl - in) + 1;
		ll = (size_t)(nl - (in + pos));
		if (ll > 0 && in[pos + ll - 1] == '\r')
			ll--;
		took = command(&c, in + pos, ll, in + next, len - next);
		if (took < 0)
			break;
		pos = next + (size_t)took;
		if (c.err)
			return -1;
	}
	return (long)pos;
}
