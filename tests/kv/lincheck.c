/*
 * The linearizability checker (lincheck.h): histories, their file format,
 * and the per-key search. tests/kv/README.md documents the format, the
 * model and the CAS-token rule; the comments here say why the code does
 * what it does.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"
#include "../lib/hex.h"

static const char *const op_names[SK_LC_NOPS] = {
	[SK_LC_GET] = "get",	     [SK_LC_GETS] = "gets",
	[SK_LC_SET] = "set",	     [SK_LC_ADD] = "add",
	[SK_LC_REPLACE] = "replace", [SK_LC_APPEND] = "append",
	[SK_LC_PREPEND] = "prepend", [SK_LC_CAS] = "cas",
	[SK_LC_DELETE] = "delete",   [SK_LC_INCR] = "incr",
	[SK_LC_DECR] = "decr",	     [SK_LC_TOUCH] = "touch",
};

static const char *const res_names[SK_LC_NRESULTS] = {
	[SK_LC_R_NONE] = "?",
	[SK_LC_R_HIT] = "VALUE",
	[SK_LC_R_MISS] = "END",
	[SK_LC_R_STORED] = "STORED",
	[SK_LC_R_NOT_STORED] = "NOT_STORED",
	[SK_LC_R_EXISTS] = "EXISTS",
	[SK_LC_R_NOT_FOUND] = "NOT_FOUND",
	[SK_LC_R_DELETED] = "DELETED",
	[SK_LC_R_TOUCHED] = "TOUCHED",
	[SK_LC_R_NUMBER] = "<number>",
	[SK_LC_R_NON_NUMERIC] = "CLIENT_ERROR",
};

const char *sk_lc_op_name(enum sk_lc_opcode code)
{
	return (unsigned)code < SK_LC_NOPS ? op_names[code] : "?";
}

const char *sk_lc_result_name(enum sk_lc_result res)
{
	return (unsigned)res < SK_LC_NRESULTS ? res_names[res] : "?";
}

/* The answers each operation can give (protocol.txt), as a bit mask. */
#define R(x) (1u << SK_LC_R_##x)
static const uint32_t op_results[SK_LC_NOPS] = {
	[SK_LC_GET] = R(HIT) | R(MISS),
	[SK_LC_GETS] = R(HIT) | R(MISS),
	[SK_LC_SET] = R(STORED),
	[SK_LC_ADD] = R(STORED) | R(NOT_STORED),
	[SK_LC_REPLACE] = R(STORED) | R(NOT_STORED),
	[SK_LC_APPEND] = R(STORED) | R(NOT_STORED),
	[SK_LC_PREPEND] = R(STORED) | R(NOT_STORED),
	[SK_LC_CAS] = R(STORED) | R(EXISTS) | R(NOT_FOUND),
	[SK_LC_DELETE] = R(DELETED) | R(NOT_FOUND),
	[SK_LC_INCR] = R(NUMBER) | R(NOT_FOUND) | R(NON_NUMERIC),
	[SK_LC_DECR] = R(NUMBER) | R(NOT_FOUND) | R(NON_NUMERIC),
	[SK_LC_TOUCH] = R(TOUCHED) | R(NOT_FOUND),
};
#undef R

static bool op_has_value(enum sk_lc_opcode c)
{
	return c == SK_LC_SET || c == SK_LC_ADD || c == SK_LC_REPLACE ||
	       c == SK_LC_APPEND || c == SK_LC_PREPEND || c == SK_LC_CAS;
}

static bool op_has_flags(enum sk_lc_opcode c)
{
	return c == SK_LC_SET || c == SK_LC_ADD || c == SK_LC_REPLACE ||
	       c == SK_LC_CAS;
}

/* Operations that change nothing: timed out, they constrain nothing. */
static bool op_read_only(enum sk_lc_opcode c)
{
	return c == SK_LC_GET || c == SK_LC_GETS || c == SK_LC_TOUCH;
}

static __attribute__((format(printf, 3, 4))) int fail(char *err, size_t errlen,
						      const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- histories ---- */

void sk_lc_history_init(struct sk_lc_history *h)
{
	memset(h, 0, sizeof(*h));
}

void sk_lc_history_cleanup(struct sk_lc_history *h)
{
	for (size_t i = 0; i < h->nblobs; i++)
		free(h->blobs[i]);
	free(h->blobs);
	free(h->ops);
	free(h->keys);
	memset(h, 0, sizeof(*h));
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * size);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

/* A copy of @len bytes that @h owns (a valid pointer even for 0). */
static const uint8_t *history_dup(struct sk_lc_history *h, const void *p,
				  size_t len)
{
	uint8_t *b;

	if (grow((void **)&h->blobs, &h->blobs_cap, h->nblobs + 1,
		 sizeof(*h->blobs)))
		return NULL;
	b = malloc(len ? len : 1);
	if (b == NULL)
		return NULL;
	if (len)
		memcpy(b, p, len);
	h->blobs[h->nblobs++] = b;
	return b;
}

static int key_check(const uint8_t *k, size_t len, char *err, size_t errlen)
{
	if (len == 0 || len > SK_LC_KEY_MAX)
		return fail(err, errlen, "a key of 1 to %u bytes, not %zu",
			    SK_LC_KEY_MAX, len);
	for (size_t i = 0; i < len; i++)
		if (k[i] <= 0x20 || k[i] == 0x7f)
			return fail(err, errlen,
				    "a key without spaces or control "
				    "characters (byte %zu is 0x%02x)",
				    i, k[i]);
	return 0;
}

static int op_check(const struct sk_lc_op *op, char *err, size_t errlen)
{
	if ((unsigned)op->code >= SK_LC_NOPS)
		return fail(err, errlen, "an operation, not code %d",
			    (int)op->code);
	if (op_has_value(op->code) && op->val_len > SK_LC_VALUE_MAX)
		return fail(err, errlen, "a value of at most %u bytes, not %u",
			    SK_LC_VALUE_MAX, op->val_len);
	if (op->timed_out) {
		if (op->res != SK_LC_R_NONE)
			return fail(err, errlen, "no result for a timed-out %s",
				    op_names[op->code]);
		return 0;
	}
	if ((unsigned)op->res >= SK_LC_NRESULTS ||
	    !(op_results[op->code] & (1u << op->res)))
		return fail(err, errlen, "a result that %s gives, not %s",
			    op_names[op->code], sk_lc_result_name(op->res));
	if (op->res == SK_LC_R_HIT && op->res_val_len > SK_LC_VALUE_MAX)
		return fail(err, errlen, "a value of at most %u bytes, not %u",
			    SK_LC_VALUE_MAX, op->res_val_len);
	if (op->response < op->invoke)
		return fail(
			err, errlen,
			"a response time at or after the invocation (%" PRIu64
			" < %" PRIu64 ")",
			op->response, op->invoke);
	return 0;
}

int sk_lc_history_add(struct sk_lc_history *h, const struct sk_lc_op *op,
		      const void *key, size_t key_len, char *err, size_t errlen)
{
	struct sk_lc_op o = *op;
	size_t k;

	if (key_check(key, key_len, err, errlen) || op_check(op, err, errlen))
		return -1;
	for (k = 0; k < h->nkeys; k++)
		if (h->keys[k].len == key_len &&
		    memcmp(h->keys[k].bytes, key, key_len) == 0)
			break;
	if (grow((void **)&h->ops, &h->ops_cap, h->nops + 1, sizeof(*h->ops)) ||
	    (k == h->nkeys && grow((void **)&h->keys, &h->keys_cap,
				   h->nkeys + 1, sizeof(*h->keys))))
		goto err_nomem;
	/* Copies first; the key is added last so that a failure leaves
	 * @h as it was (but for blobs nobody points to, freed at cleanup). */
	o.val = op_has_value(o.code) ? history_dup(h, op->val, op->val_len)
				     : NULL;
	if (!op_has_value(o.code))
		o.val_len = 0;
	/* Arguments the operation does not take are not kept, so that a
	 * written history reads back the same. */
	if (!op_has_flags(o.code))
		o.flags = 0;
	if (o.code != SK_LC_CAS && o.code != SK_LC_INCR && o.code != SK_LC_DECR)
		o.arg = 0;
	if (o.res != SK_LC_R_HIT) {
		o.res_flags = 0;
		if (o.res != SK_LC_R_NUMBER)
			o.res_num = 0;
	} else if (o.code != SK_LC_GETS) {
		o.res_num = 0;
	}
	if (op_has_value(o.code) && o.val == NULL)
		goto err_nomem;
	if (o.res == SK_LC_R_HIT) {
		o.res_val = history_dup(h, op->res_val, op->res_val_len);
		if (o.res_val == NULL)
			goto err_nomem;
	} else {
		o.res_val = NULL;
		o.res_val_len = 0;
	}
	if (k == h->nkeys) {
		const uint8_t *kb = history_dup(h, key, key_len);

		if (kb == NULL)
			goto err_nomem;
		h->keys[h->nkeys++] = (struct sk_lc_key){kb, (uint32_t)key_len};
	}
	o.key = (uint32_t)k;
	h->ops[h->nops++] = o;
	return 0;

err_nomem:
	return fail(err, errlen, "out of memory");
}

/* ---- the file format ---- */

struct lex {
	const char *p, *end; /* the rest of the line */
	uint8_t *buf[2];     /* scratch for the two values of a line */
	char *err;
	size_t errlen;
	unsigned line;
};

static void lex_space(struct lex *x)
{
	while (x->p < x->end && (*x->p == ' ' || *x->p == '\t'))
		x->p++;
}

/* The next bare word: its start and length (0 at the end of the line). */
static size_t lex_word(struct lex *x, const char **w)
{
	const char *s;

	lex_space(x);
	s = x->p;
	while (x->p < x->end && *x->p != ' ' && *x->p != '\t')
		x->p++;
	*w = s;
	return (size_t)(x->p - s);
}

static int lex_fail(struct lex *x, const char *what, const char *w, size_t n)
{
	if (n == 0)
		return fail(x->err, x->errlen,
			    "line %u: expected %s, found the end of the line",
			    x->line, what);
	char shown[41];
	size_t m = n > 40 ? 40 : n;

	/* The reason is one line of text whatever the file holds. */
	for (size_t i = 0; i < m; i++)
		shown[i] = w[i] >= 0x20 && w[i] < 0x7f ? w[i] : '?';
	shown[m] = '\0';
	return fail(x->err, x->errlen, "line %u: expected %s, found \"%s\"",
		    x->line, what, shown);
}

static bool word_is(const char *w, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(w, s, n) == 0;
}

static int lex_u64(struct lex *x, const char *what, uint64_t max, uint64_t *v)
{
	const char *w;
	size_t n = lex_word(x, &w);
	uint64_t r = 0;

	if (n == 0 || n > 20)
		return lex_fail(x, what, w, n);
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned char)w[i] - '0';

		if (d > 9 || r > (UINT64_MAX - d) / 10)
			return lex_fail(x, what, w, n);
		r = r * 10 + d;
	}
	if (r > max)
		return lex_fail(x, what, w, n);
	*v = r;
	return 0;
}

/*
 * A value: "quoted" with \\, \" and \xHH escapes, or x:HEX. Decoded into
 * x->buf[@which]; the length in *@len.
 */
static int lex_value(struct lex *x, int which, uint32_t *len)
{
	static const char what[] = "a value (\"text\" with \\\\, \\\" and "
				   "\\xHH escapes, or x:HEX)";
	uint8_t *out = x->buf[which];
	size_t n = 0;
	const char *w;

	lex_space(x);
	w = x->p;
	if (x->p < x->end && *x->p == '"') {
		x->p++;
		for (;;) {
			int hi, lo;

			if (x->p >= x->end)
				return fail(x->err, x->errlen,
					    "line %u: expected the closing "
					    "quote of a value",
					    x->line);
			if (*x->p == '"') {
				x->p++;
				break;
			}
			if (n == SK_LC_VALUE_MAX)
				return fail(x->err, x->errlen,
					    "line %u: expected a value of at "
					    "most %u bytes",
					    x->line, SK_LC_VALUE_MAX);
			if (*x->p != '\\') {
				out[n++] = (uint8_t)*x->p++;
				continue;
			}
			if (x->end - x->p >= 2 &&
			    (x->p[1] == '\\' || x->p[1] == '"')) {
				out[n++] = (uint8_t)x->p[1];
				x->p += 2;
				continue;
			}
			if (x->end - x->p < 4 || x->p[1] != 'x' ||
			    (hi = sk_test_hexval(x->p[2])) < 0 ||
			    (lo = sk_test_hexval(x->p[3])) < 0)
				return fail(x->err, x->errlen,
					    "line %u: expected \\\\, \\\" or "
					    "\\xHH in a quoted value",
					    x->line);
			out[n++] = (uint8_t)(hi << 4 | lo);
			x->p += 4;
		}
		/* A value is a word of its own. */
		if (x->p < x->end && *x->p != ' ' && *x->p != '\t')
			return fail(x->err, x->errlen,
				    "line %u: expected a space after a quoted "
				    "value",
				    x->line);
	} else {
		size_t wn = lex_word(x, &w);

		if (wn < 2 || w[0] != 'x' || w[1] != ':' || (wn - 2) % 2)
			return lex_fail(x, what, w, wn);
		if ((wn - 2) / 2 > SK_LC_VALUE_MAX)
			return fail(
				x->err, x->errlen,
				"line %u: expected a value of at most %u bytes",
				x->line, SK_LC_VALUE_MAX);
		for (size_t i = 2; i < wn; i += 2) {
			int hi = sk_test_hexval(w[i]), lo = sk_test_hexval(w[i + 1]);

			if (hi < 0 || lo < 0)
				return lex_fail(x, what, w, wn);
			out[n++] = (uint8_t)(hi << 4 | lo);
		}
	}
	*len = (uint32_t)n;
	return 0;
}

static int lex_end(struct lex *x, const char *what)
{
	const char *w;
	size_t n = lex_word(x, &w);

	if (n)
		return lex_fail(x, what, w, n);
	return 0;
}

static int parse_result(struct lex *x, struct sk_lc_op *op)
{
	const char *w;
	size_t n = lex_word(x, &w);
	uint64_t v;

	if (op->code == SK_LC_GET || op->code == SK_LC_GETS) {
		if (word_is(w, n, "END")) {
			op->res = SK_LC_R_MISS;
			return 0;
		}
		if (!word_is(w, n, "VALUE"))
			return lex_fail(x, "VALUE or END", w, n);
		op->res = SK_LC_R_HIT;
		op->res_val = x->buf[1];
		if (lex_value(x, 1, &op->res_val_len) ||
		    lex_u64(x, "the flags (0 to 4294967295)", UINT32_MAX, &v))
			return -1;
		op->res_flags = (uint32_t)v;
		if (op->code == SK_LC_GETS &&
		    lex_u64(x, "the cas token", UINT64_MAX, &op->res_num))
			return -1;
		return 0;
	}
	if ((op->code == SK_LC_INCR || op->code == SK_LC_DECR) && n &&
	    w[0] >= '0' && w[0] <= '9') {
		x->p = w; /* read it again as a number */
		op->res = SK_LC_R_NUMBER;
		return lex_u64(x, "the new value (0 to 2^64-1)", UINT64_MAX,
			       &op->res_num);
	}
	for (int r = SK_LC_R_STORED; r < SK_LC_NRESULTS; r++) {
		if (r == SK_LC_R_NUMBER || !word_is(w, n, res_names[r]))
			continue;
		op->res = (enum sk_lc_result)r;
		if (op_results[op->code] & (1u << r))
			return 0;
		break;
	}
	{
		char what[160];
		size_t m = 0;

		m += (size_t)snprintf(what, sizeof(what),
				      "a result of %s:", op_names[op->code]);
		for (int r = SK_LC_R_STORED; r < SK_LC_NRESULTS; r++)
			if (op_results[op->code] & (1u << r) &&
			    m < sizeof(what))
				m += (size_t)snprintf(what + m,
						      sizeof(what) - m, " %s",
						      res_names[r]);
		return lex_fail(x, what, w, n);
	}
}

static int parse_line(struct lex *x, struct sk_lc_history *h)
{
	struct sk_lc_op op = {.line = x->line};
	const char *w, *key;
	size_t n, key_len;
	uint64_t v;
	int c;

	if (lex_u64(x, "a client id (0 to 4294967295)", UINT32_MAX, &v))
		return -1;
	op.client = (uint32_t)v;
	if (lex_u64(x, "the invocation time in ns", UINT64_MAX, &op.invoke))
		return -1;
	lex_space(x);
	n = lex_word(x, &w);
	if (word_is(w, n, "timeout")) {
		op.timed_out = true;
	} else {
		x->p = w;
		if (lex_u64(x, "the response time in ns or \"timeout\"",
			    UINT64_MAX, &op.response))
			return -1;
		if (op.response < op.invoke)
			return fail(x->err, x->errlen,
				    "line %u: expected a response time at or "
				    "after the invocation time",
				    x->line);
	}
	n = lex_word(x, &w);
	for (c = 0; c < SK_LC_NOPS; c++)
		if (word_is(w, n, op_names[c]))
			break;
	if (c == SK_LC_NOPS)
		return lex_fail(x,
				"an operation (get gets set add replace append "
				"prepend cas delete incr decr touch)",
				w, n);
	op.code = (enum sk_lc_opcode)c;
	key_len = lex_word(x, &key);
	if (key_check((const uint8_t *)key, key_len, NULL, 0)) {
		if (key_len > SK_LC_KEY_MAX)
			return fail(
				x->err, x->errlen,
				"line %u: expected a key of at most %u bytes",
				x->line, SK_LC_KEY_MAX);
		return lex_fail(x, "a key", key, key_len);
	}
	if (op_has_value(op.code)) {
		op.val = x->buf[0];
		if (lex_value(x, 0, &op.val_len))
			return -1;
	}
	if (op_has_flags(op.code)) {
		if (lex_u64(x, "the flags (0 to 4294967295)", UINT32_MAX, &v))
			return -1;
		op.flags = (uint32_t)v;
	}
	if (op.code == SK_LC_CAS &&
	    lex_u64(x, "the cas token", UINT64_MAX, &op.arg))
		return -1;
	if ((op.code == SK_LC_INCR || op.code == SK_LC_DECR) &&
	    lex_u64(x, "the delta (0 to 2^64-1)", UINT64_MAX, &op.arg))
		return -1;
	n = lex_word(x, &w);
	if (op.timed_out) {
		/* "-> ?" may be written, nothing else. */
		if (n && !word_is(w, n, "->"))
			return lex_fail(x, "\"-> ?\" or the end of the line", w,
					n);
		if (n) {
			n = lex_word(x, &w);
			if (!word_is(w, n, "?"))
				return lex_fail(x,
						"\"?\": a timed-out operation "
						"has no result",
						w, n);
		}
		if (lex_end(x, "the end of the line"))
			return -1;
	} else {
		if (!word_is(w, n, "->"))
			return lex_fail(x, "\"->\" and the result", w, n);
		if (parse_result(x, &op) || lex_end(x, "the end of the line"))
			return -1;
	}
	if (sk_lc_history_add(h, &op, key, key_len, x->err, x->errlen)) {
		/* Keep the line number on the library's own reason. */
		char why[200];

		if (x->errlen == 0)
			return -1;
		snprintf(why, sizeof(why), "%s", x->err);
		return fail(x->err, x->errlen, "line %u: expected %s", x->line,
			    why);
	}
	return 0;
}

int sk_lc_parse(const void *buf, size_t len, struct sk_lc_history *h, char *err,
		size_t errlen)
{
	const char *p = buf, *end = p + len;
	struct lex x = {.err = err, .errlen = errlen};
	int ret = 0;

	x.buf[0] = malloc(SK_LC_VALUE_MAX);
	x.buf[1] = malloc(SK_LC_VALUE_MAX);
	if (x.buf[0] == NULL || x.buf[1] == NULL) {
		ret = fail(err, errlen, "out of memory");
		goto out;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		x.line++;
		x.p = p;
		x.end = eol;
		if (x.end > x.p && x.end[-1] == '\r')
			x.end--;
		p = nl ? nl + 1 : end;
		for (const char *q = x.p; q < x.end; q++)
			if (*q == '\0' || *q == '\r') {
				ret = fail(err, errlen,
					   "line %u: expected text, found a %s "
					   "byte",
					   x.line, *q ? "CR" : "NUL");
				goto out;
			}
		lex_space(&x);
		if (x.p == x.end || *x.p == '#')
			continue;
		if (parse_line(&x, h)) {
			ret = -1;
			goto out;
		}
	}
out:
	free(x.buf[0]);
	free(x.buf[1]);
	return ret;
}

static int write_value(FILE *f, const uint8_t *v, uint32_t len)
{
	if (fputc('"', f) == EOF)
		return -1;
	for (uint32_t i = 0; i < len; i++) {
		int r;

		if (v[i] == '"' || v[i] == '\\')
			r = fprintf(f, "\\%c", v[i]);
		else if (v[i] < 0x20 || v[i] >= 0x7f)
			r = fprintf(f, "\\x%02x", v[i]);
		else
			r = fputc(v[i], f) == EOF ? -1 : 1;
		if (r < 0)
			return -1;
	}
	return fputc('"', f) == EOF ? -1 : 0;
}

int sk_lc_write_op(FILE *f, const struct sk_lc_history *h,
		   const struct sk_lc_op *op)
{
	const struct sk_lc_key *k = &h->keys[op->key];
	int r = 0;

	if (op->timed_out)
		r |= fprintf(f, "%" PRIu32 " %" PRIu64 " timeout %s %.*s",
			     op->client, op->invoke, op_names[op->code],
			     (int)k->len, (const char *)k->bytes) < 0;
	else
		r |= fprintf(f, "%" PRIu32 " %" PRIu64 " %" PRIu64 " %s %.*s",
			     op->client, op->invoke, op->response,
			     op_names[op->code], (int)k->len,
			     (const char *)k->bytes) < 0;
	if (op_has_value(op->code))
		r |= fputc(' ', f) == EOF ||
		     write_value(f, op->val, op->val_len);
	if (op_has_flags(op->code))
		r |= fprintf(f, " %" PRIu32, op->flags) < 0;
	if (op->code == SK_LC_CAS || op->code == SK_LC_INCR ||
	    op->code == SK_LC_DECR)
		r |= fprintf(f, " %" PRIu64, op->arg) < 0;
	if (op->timed_out)
		return r || fputc('\n', f) == EOF ? -1 : 0;
	r |= fputs(" -> ", f) == EOF;
	switch (op->res) {
	case SK_LC_R_HIT:
		r |= fputs("VALUE ", f) == EOF ||
		     write_value(f, op->res_val, op->res_val_len);
		r |= fprintf(f, " %" PRIu32, op->res_flags) < 0;
		if (op->code == SK_LC_GETS)
			r |= fprintf(f, " %" PRIu64, op->res_num) < 0;
		break;
	case SK_LC_R_NUMBER:
		r |= fprintf(f, "%" PRIu64, op->res_num) < 0;
		break;
	default:
		r |= fputs(sk_lc_result_name(op->res), f) == EOF;
		break;
	}
	return r || fputc('\n', f) == EOF ? -1 : 0;
}

/* ---- the checker ---- */

/*
 * The sequential model: one memcached item, absent or present with a
 * value, flags and a version whose CAS token is unknown until the history
 * pins it. Values are interned per key (equal bytes, equal id), so a state
 * is four words and compares with memcmp.
 *
 * The CAS-token rule (README.md has the argument): every successful store
 * starts a version whose token is unknown ("unbound", tok = -1). A gets
 * hit on a version, or a successful cas against it, binds it to the token
 * seen. A token can be bound to one version of a key only (the store
 * never gives two versions of one key the same token), so the set of
 * tokens already bound is part of the state (@used). A cas against an
 * unbound version may fail (EXISTS) without binding anything: the rule
 * never records "not t", which makes it permissive, never strict.
 */
#define LC_PRESENT 1u

struct lc_state {
	uint32_t bits;
	uint32_t flags;
	uint32_t val;
	int32_t tok; /* index into the key's tokens, or -1: unbound */
};

struct lc_val {
	const uint8_t *p;
	uint32_t len;
	bool numeric;
	uint64_t num;
	uint64_t hash;
};

struct lc_entry {
	struct lc_entry *prev, *next, *match; /* match: the call's return */
	uint32_t op;			      /* local index */
	bool call;
};

struct lc_frame {
	struct lc_entry *e;
	unsigned choice;
	int32_t bind;
	struct lc_state old;
};

/* Everything about one key's sub-history. */
struct lc_key {
	const struct sk_lc_history *h;
	const size_t *idx; /* history index of each local op, by invocation */
	size_t n;
	uint32_t *arg_val; /* interned argument value of each op */
	uint32_t *res_val; /* interned hit value of each op */
	int32_t *tok;	   /* token index of a cas argument or gets hit */
	uint64_t *toks;	   /* distinct tokens, sorted */
	size_t ntoks;
	struct lc_val *vals;
	size_t nvals, vals_cap;
	uint32_t *vtab; /* open addressing: id + 1, 0 empty */
	size_t vtab_cap;
	uint8_t **owned; /* values the model made (append, incr) */
	size_t nowned, owned_cap;
	uint64_t steps, max_steps;
	bool nomem;
};

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x7fb5d329728ea185ull;
	x ^= x >> 27;
	x *= 0x81dadef4bc2dd44dull;
	x ^= x >> 33;
	return x;
}

/*
 * What memcached's incr and decr take for a number (its util.c,
 * safe_strtoull over glibc's strtoull in the C locale): optional white
 * space, an optional sign, at least one digit, no overflow past 2^64 - 1,
 * and then the end of the value or a white-space character (whatever
 * follows it). A '-' negates modulo 2^64, and is refused when the result
 * is 2^63 or more. So "12 " and "12 abc" are numbers, "12abc" is not.
 */
static bool ws(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

bool sk_lc_parse_number(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i = 0, d0;
	bool neg = false;
	uint64_t r = 0;

	while (i < n && ws(p[i]))
		i++;
	if (i < n && (p[i] == '+' || p[i] == '-'))
		neg = p[i++] == '-';
	d0 = i;
	for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
		unsigned d = p[i] - (unsigned)'0';

		if (r > (UINT64_MAX - d) / 10)
			return false;
		r = r * 10 + d;
	}
	if (i == d0 || (i < n && p[i] != '\0' && !ws(p[i])))
		return false;
	if (neg) {
		r = -r;
		if ((int64_t)r < 0)
			return false;
	}
	*v = r;
	return true;
}

static int vtab_grow(struct lc_key *k)
{
	size_t cap = k->vtab_cap ? k->vtab_cap * 2 : 256;
	uint32_t *t = calloc(cap, sizeof(*t));

	if (t == NULL)
		return -1;
	for (size_t i = 0; i < k->nvals; i++) {
		size_t s = k->vals[i].hash & (cap - 1);

		while (t[s])
			s = (s + 1) & (cap - 1);
		t[s] = (uint32_t)i + 1;
	}
	free(k->vtab);
	k->vtab = t;
	k->vtab_cap = cap;
	return 0;
}

/*
 * The id of the value @p/@n, added if new. @own: @p is a malloc'd buffer
 * the key takes over (freed here if the value was known). Returns -1 if
 * memory ran out.
 */
static int64_t intern(struct lc_key *k, const uint8_t *p, uint32_t n,
		      uint8_t *own)
{
	uint64_t hv = hash_bytes(p, n);
	struct lc_val *v;
	size_t s;

	if ((k->nvals + 1) * 2 > k->vtab_cap && vtab_grow(k))
		goto err;
	for (s = hv & (k->vtab_cap - 1); k->vtab[s];
	     s = (s + 1) & (k->vtab_cap - 1)) {
		v = &k->vals[k->vtab[s] - 1];
		if (v->hash == hv && v->len == n &&
		    (n == 0 || memcmp(v->p, p, n) == 0)) {
			free(own);
			return k->vtab[s] - 1;
		}
	}
	if (grow((void **)&k->vals, &k->vals_cap, k->nvals + 1,
		 sizeof(*k->vals)))
		goto err;
	if (own && grow((void **)&k->owned, &k->owned_cap, k->nowned + 1,
			sizeof(*k->owned)))
		goto err;
	if (own)
		k->owned[k->nowned++] = own;
	v = &k->vals[k->nvals];
	*v = (struct lc_val){.p = p, .len = n, .hash = hv};
	v->numeric = sk_lc_parse_number(p, n, &v->num);
	k->vtab[s] = (uint32_t)++k->nvals;
	return (int64_t)k->nvals - 1;
err:
	free(own);
	k->nomem = true;
	return -1;
}

static const struct sk_lc_op *kop(const struct lc_key *k, uint32_t i)
{
	return &k->h->ops[k->idx[i]];
}

static bool bit(const uint64_t *b, size_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *b, size_t i)
{
	b[i / 64] |= 1ull << (i % 64);
}

static void bit_clear(uint64_t *b, size_t i)
{
	b[i / 64] &= ~(1ull << (i % 64));
}

/* A hit's value @rv as the state's value: the same bytes (values are
 * interned, so the same index). incr/decr's padding is in the state's
 * value itself (sk_lc_apply). */
static bool val_match(const struct lc_key *k, const struct lc_state *s,
		      uint32_t rv)
{
	(void)k;
	return s->val == rv;
}

static void new_version(struct lc_state *ns, uint32_t val, uint32_t flags,
			uint32_t bits)
{
	ns->bits = LC_PRESENT | bits;
	ns->flags = flags;
	ns->val = val;
	ns->tok = -1;
}

/*
 * Apply local op @i with outcome @choice to @s. @pending: the op has no
 * recorded result (timed out, or answered after the window's cut), so any
 * outcome the model allows will do. Returns 1 with the new state in @ns
 * (and the token it binds in @bind, or -1), 0 if this outcome contradicts
 * the recorded result, -1 if there is no such outcome (or memory ran out:
 * k->nomem).
 */
static int step(struct lc_key *k, const struct lc_state *s,
		const uint64_t *used, uint32_t i, bool pending, unsigned choice,
		struct lc_state *ns, int32_t *bind)
{
	const struct sk_lc_op *op = kop(k, i);
	bool present = s->bits & LC_PRESENT;
	enum sk_lc_result want = pending ? SK_LC_R_NONE : op->res;
	int32_t ti = k->tok[i];

	*ns = *s;
	*bind = -1;
	if (op->code != SK_LC_CAS && choice > 0)
		return -1;
	switch (op->code) {
	case SK_LC_GET:
	case SK_LC_GETS:
		if (pending)
			return 1;
		if (!present)
			return want == SK_LC_R_MISS;
		if (want != SK_LC_R_HIT || op->res_flags != s->flags ||
		    !val_match(k, s, k->res_val[i]))
			return 0;
		if (op->code == SK_LC_GET)
			return 1;
		if (s->tok >= 0)
			return s->tok == ti;
		if (bit(used, (size_t)ti))
			return 0;
		ns->tok = ti;
		*bind = ti;
		return 1;
	case SK_LC_SET:
		new_version(ns, k->arg_val[i], op->flags, 0);
		return pending || want == SK_LC_R_STORED;
	case SK_LC_ADD:
	case SK_LC_REPLACE:
		if (present != (op->code == SK_LC_REPLACE))
			return pending || want == SK_LC_R_NOT_STORED;
		new_version(ns, k->arg_val[i], op->flags, 0);
		return pending || want == SK_LC_R_STORED;
	case SK_LC_APPEND:
	case SK_LC_PREPEND: {
		const struct lc_val *a = &k->vals[s->val],
				    *b = &k->vals[k->arg_val[i]];
		const struct lc_val *first, *second;
		uint8_t *cat;
		int64_t id;

		if (!present)
			return pending || want == SK_LC_R_NOT_STORED;
		if (!pending && want != SK_LC_R_STORED)
			return 0;
		first = op->code == SK_LC_APPEND ? a : b;
		second = op->code == SK_LC_APPEND ? b : a;
		cat = malloc((size_t)a->len + b->len + 1);
		if (cat == NULL) {
			k->nomem = true;
			return -1;
		}
		memcpy(cat, first->p, first->len);
		memcpy(cat + first->len, second->p, second->len);
		id = intern(k, cat, a->len + b->len, cat);
		if (id < 0)
			return -1;
		/* memcached keeps the flags of the item appended to. */
		new_version(ns, (uint32_t)id, s->flags, 0);
		return 1;
	}
	case SK_LC_CAS: {
		/* The outcomes, in the order choices take them: succeed (if
		 * the version's token can be the cas token), then EXISTS (if
		 * it can be another). */
		bool can_succeed, can_fail;
		unsigned nth = 0;

		if (!present) {
			if (choice > 0)
				return -1;
			return pending || want == SK_LC_R_NOT_FOUND;
		}
		can_succeed =
			s->tok >= 0 ? s->tok == ti : !bit(used, (size_t)ti);
		can_fail = s->tok != ti;
		if (!pending) {
			if (choice > 0)
				return -1;
			if (want == SK_LC_R_EXISTS)
				return can_fail;
			if (want != SK_LC_R_STORED || !can_succeed)
				return 0;
		} else {
			if (can_succeed && choice == nth++)
				goto stored;
			if (can_fail && choice == nth)
				return 1;
			return -1;
		}
	stored:
		if (s->tok < 0)
			*bind = ti;
		new_version(ns, k->arg_val[i], op->flags, 0);
		return 1;
	}
	case SK_LC_DELETE:
		if (!present)
			return pending || want == SK_LC_R_NOT_FOUND;
		*ns = (struct lc_state){.tok = -1};
		return pending || want == SK_LC_R_DELETED;
	case SK_LC_INCR:
	case SK_LC_DECR: {
		const struct lc_val *v;
		char dec[24];
		uint64_t r;
		int64_t id;
		uint8_t *own;
		uint32_t n;
		int len;

		if (!present)
			return pending || want == SK_LC_R_NOT_FOUND;
		/* Only a present key has a value (vals may be NULL else). */
		v = &k->vals[s->val];
		if (!v->numeric)
			return pending || want == SK_LC_R_NON_NUMERIC;
		if (op->code == SK_LC_INCR)
			r = v->num + op->arg; /* wraps at 2^64 */
		else
			r = v->num > op->arg ? v->num - op->arg : 0;
		if (!pending && (want != SK_LC_R_NUMBER || op->res_num != r))
			return 0;
		len = snprintf(dec, sizeof(dec), "%" PRIu64, r);
		/* memcached writes a result that fits over the old value in
		 * place, padded with spaces to its length; a longer one is a
		 * new item of exactly its digits. */
		n = (uint32_t)len > v->len ? (uint32_t)len : v->len;
		own = malloc(n);
		if (own == NULL) {
			k->nomem = true;
			return -1;
		}
		memcpy(own, dec, (size_t)len);
		memset(own + len, ' ', n - (uint32_t)len);
		id = intern(k, own, n, own);
		if (id < 0)
			return -1;
		new_version(ns, (uint32_t)id, s->flags, 0);
		return 1;
	}
	case SK_LC_TOUCH:
		/* Expiry is outside the model, and memcached's touch keeps
		 * the item's CAS token: presence is all it shows. */
		if (pending)
			return 1;
		return want == (present ? SK_LC_R_TOUCHED : SK_LC_R_NOT_FOUND);
	default:
		return 0;
	}
}

/*
 * The memo. A search node is (C, P, state, bound tokens): C the completed
 * ops linearized, P the pending ones. A node N is pruned when a node W
 * already visited has the same C, state and tokens and P(W) is a subset
 * of P(N): every continuation from N is one from W too (W may leave out
 * more pending ops; what may come next depends on C alone, through the
 * returns still in the list). So if N could reach a linearization, so
 * could W, and the search through W finds it (by induction on the length
 * of the shortest such continuation). With no pending ops this is Lowe's
 * memo of (set, state) pairs; with them it keeps a pending op's "applied
 * here, or later, or never" from multiplying the states by 2^pending.
 * Keys are compared whole, so a hash collision can never hide a
 * linearization.
 */
struct memo {
	uint64_t *keys; /* C, state, tokens: kw words each */
	size_t n, cap, kw;
	uint32_t *first; /* per key: its first P, index + 1 */
	size_t first_cap;
	uint64_t *ps; /* P sets: next index + 1, then pw words */
	size_t np, ps_cap, pw;
	uint32_t *tab; /* key index + 1 */
	size_t tab_cap;
};

static uint64_t blob_hash(const uint64_t *b, size_t words)
{
	uint64_t h = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < words; i++)
		h = mix64(h ^ b[i]) + i;
	return h;
}

static int memo_rehash(struct memo *m)
{
	size_t cap = m->tab_cap ? m->tab_cap * 2 : 1024, s;
	uint32_t *t;

	if (cap > UINT32_MAX)
		return -1;
	t = calloc(cap, sizeof(*t));
	if (t == NULL)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		s = blob_hash(m->keys + i * m->kw, m->kw) & (cap - 1);
		while (t[s])
			s = (s + 1) & (cap - 1);
		t[s] = (uint32_t)i + 1;
	}
	free(m->tab);
	m->tab = t;
	m->tab_cap = cap;
	return 0;
}

/* Add @p to key @ki's list. */
static int memo_add_p(struct memo *m, size_t ki, const uint64_t *p)
{
	uint64_t *node;

	if (m->np >= UINT32_MAX ||
	    grow((void **)&m->ps, &m->ps_cap, m->np + 1, (m->pw + 1) * 8))
		return -1;
	node = m->ps + m->np * (m->pw + 1);
	node[0] = m->first[ki];
	memcpy(node + 1, p, m->pw * 8);
	m->first[ki] = (uint32_t)++m->np;
	return 0;
}

/* Visit node (@key, @p): 1 if new (now remembered), 0 if subsumed by a
 * node visited before, -1 if memory ran out. */
static int memo_visit(struct memo *m, const uint64_t *key, const uint64_t *p)
{
	size_t s;

	if ((m->n + 1) * 2 > m->tab_cap && memo_rehash(m))
		return -1;
	for (s = blob_hash(key, m->kw) & (m->tab_cap - 1); m->tab[s];
	     s = (s + 1) & (m->tab_cap - 1)) {
		size_t ki = m->tab[s] - 1;

		if (memcmp(m->keys + ki * m->kw, key, m->kw * 8) != 0)
			continue;
		for (uint32_t j = m->first[ki]; j;) {
			const uint64_t *node = m->ps + (j - 1) * (m->pw + 1);
			size_t w = 0;

			while (w < m->pw && !(node[1 + w] & ~p[w]))
				w++;
			if (w == m->pw)
				return 0; /* a subset of @p was here */
			j = (uint32_t)node[0];
		}
		return memo_add_p(m, ki, p) ? -1 : 1;
	}
	if (m->n >= UINT32_MAX ||
	    grow((void **)&m->keys, &m->cap, m->n + 1, m->kw * 8) ||
	    grow((void **)&m->first, &m->first_cap, m->n + 1,
		 sizeof(*m->first)))
		return -1;
	memcpy(m->keys + m->n * m->kw, key, m->kw * 8);
	m->first[m->n] = 0;
	if (memo_add_p(m, m->n, p))
		return -1;
	m->tab[s] = (uint32_t)++m->n;
	return 1;
}

struct lc_event {
	uint64_t t;
	uint32_t op;
	bool call;
};

static int event_cmp(const void *a, const void *b)
{
	const struct lc_event *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	/* Calls first at equal times: operations that touch are taken as
	 * concurrent, the permissive reading. */
	if (x->call != y->call)
		return x->call ? -1 : 1;
	return x->op < y->op ? -1 : x->op > y->op;
}

static void lift(struct lc_entry *e)
{
	struct lc_entry *m = e->match;

	e->prev->next = e->next;
	if (e->next)
		e->next->prev = e->prev;
	if (m) {
		m->prev->next = m->next;
		if (m->next)
			m->next->prev = m->prev;
	}
}

static void unlift(struct lc_entry *e)
{
	struct lc_entry *m = e->match;

	if (m) {
		m->prev->next = m;
		if (m->next)
			m->next->prev = m;
	}
	e->prev->next = e;
	if (e->next)
		e->next->prev = e;
}

/*
 * Search the window of the key's ops invoked at or before @cut (those
 * answering after it are pending) for a linearization. Wing & Gong's
 * search as Lowe and porcupine run it: the list holds call and return
 * events in time order; walking it, a call is a candidate until the
 * first return still in the list (just-in-time linearization: an op
 * invoked after some unlinearized op answered cannot come before it); a
 * linearized call leaves the list with its return; reaching a return
 * means the current prefix is a dead end, so the last choice is undone.
 * Pending ops have no return, so they may be linearized anywhere after
 * their call, or never. They are tried in invocation order with the rest:
 * in a recorded run a timed-out op mostly took effect soon after its call,
 * and trying it there first finds linearizations fastest (trying pending
 * ops last prunes failing searches a little better, but makes some
 * linearizable ones run out of budget).
 */
static enum sk_lc_verdict search(struct lc_key *k, uint64_t cut)
{
	size_t n = k->n, lw = (n + 63) / 64, tw = (k->ntoks + 63) / 64;
	size_t words = lw + 2 + tw, nev = 0, nframes = 0, remaining = 0;
	struct lc_event *ev = calloc(2 * n + 1, sizeof(*ev));
	struct lc_entry *ent = calloc(2 * n + 1, sizeof(*ent));
	struct lc_entry **call_of = calloc(n + 1, sizeof(*call_of));
	struct lc_frame *fr = calloc(n + 1, sizeof(*fr));
	uint64_t *blob = calloc(words + lw, 8);
	bool *pend = calloc(n + 1, sizeof(*pend));
	struct memo m = {.kw = words, .pw = lw};
	enum sk_lc_verdict v = SK_LC_UNKNOWN;
	struct lc_entry head = {0}, *e, *prev;
	uint64_t *lin, *used, *plin;
	struct lc_state st = {.tok = -1};
	unsigned start_choice = 0;

	if (!ev || !ent || !call_of || !fr || !blob || !pend) {
		k->nomem = true;
		goto out;
	}
	/* blob: C (completed ops linearized), state, bound tokens; then P
	 * (pending ops linearized), kept apart for the memo. */
	lin = blob;
	used = blob + lw + 2;
	plin = blob + words;
	memcpy(lin + lw, &st, sizeof(st));
	for (uint32_t i = 0; i < n; i++) {
		const struct sk_lc_op *op = kop(k, i);

		if (op->invoke > cut)
			continue;
		pend[i] = op->timed_out || op->response > cut;
		if (pend[i] && op_read_only(op->code))
			continue;
		ev[nev++] = (struct lc_event){op->invoke, i, true};
		if (!pend[i]) {
			ev[nev++] = (struct lc_event){op->response, i, false};
			remaining++;
		}
	}
	qsort(ev, nev, sizeof(*ev), event_cmp);
	prev = &head;
	for (size_t j = 0; j < nev; j++) {
		e = &ent[j];
		e->op = ev[j].op;
		e->call = ev[j].call;
		e->prev = prev;
		prev->next = e;
		prev = e;
		if (e->call)
			call_of[e->op] = e;
		else
			call_of[e->op]->match = e;
	}

	/* The root is a visited node too: a pending op that changes
	 * nothing is then never linearized (it may as well be left out). */
	if (memo_visit(&m, blob, plin) < 0) {
		k->nomem = true;
		goto out;
	}
	e = head.next;
	for (;;) {
		if (remaining == 0) {
			v = SK_LC_OK;
			break;
		}
		if (e != NULL && e->call) {
			bool lifted = false;

			for (unsigned ch = start_choice;; ch++) {
				struct lc_state ns;
				int32_t bind;
				int r;

				if (++k->steps > k->max_steps)
					goto out; /* unknown */
				r = step(k, &st, used, e->op, pend[e->op], ch,
					 &ns, &bind);
				if (k->nomem)
					goto out;
				if (r < 0)
					break;
				if (r == 0)
					continue;
				bit_set(pend[e->op] ? plin : lin, e->op);
				if (bind >= 0)
					bit_set(used, (size_t)bind);
				memcpy(lin + lw, &ns, sizeof(ns));
				r = memo_visit(&m, blob, plin);
				if (r < 0) {
					k->nomem = true;
					goto out;
				}
				if (r == 1) {
					fr[nframes++] = (struct lc_frame){
						e, ch, bind, st};
					st = ns;
					lift(e);
					remaining -= e->match != NULL;
					e = head.next;
					start_choice = 0;
					lifted = true;
					break;
				}
				bit_clear(pend[e->op] ? plin : lin, e->op);
				if (bind >= 0)
					bit_clear(used, (size_t)bind);
				memcpy(lin + lw, &st, sizeof(st));
			}
			if (!lifted) {
				e = e->next;
				start_choice = 0;
			}
			continue;
		}
		/* No candidate left: undo the last choice. */
		if (nframes == 0) {
			v = SK_LC_NOT_LINEARIZABLE;
			break;
		}
		{
			struct lc_frame *f = &fr[--nframes];

			st = f->old;
			bit_clear(pend[f->e->op] ? plin : lin, f->e->op);
			if (f->bind >= 0)
				bit_clear(used, (size_t)f->bind);
			memcpy(lin + lw, &st, sizeof(st));
			unlift(f->e);
			remaining += f->e->match != NULL;
			e = f->e;
			start_choice = f->choice + 1;
		}
	}
out:
	free(m.keys);
	free(m.first);
	free(m.ps);
	free(m.tab);
	free(ev);
	free(ent);
	free(call_of);
	free(fr);
	free(blob);
	free(pend);
	return v;
}

static int size_cmp_invoke(const void *a, const void *b, void *arg)
{
	const struct sk_lc_history *h = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (h->ops[x].invoke != h->ops[y].invoke)
		return h->ops[x].invoke < h->ops[y].invoke ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void key_cleanup(struct lc_key *k)
{
	for (size_t i = 0; i < k->nowned; i++)
		free(k->owned[i]);
	free(k->owned);
	free(k->vals);
	free(k->vtab);
	free(k->arg_val);
	free(k->res_val);
	free(k->tok);
	free(k->toks);
}

static int32_t tok_index(const struct lc_key *k, uint64_t t)
{
	size_t lo = 0, hi = k->ntoks;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (k->toks[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (int32_t)lo;
}

/* Check one key: @idx its ops (history indices), @n of them. */
static int check_key(const struct sk_lc_history *h, size_t *idx, size_t n,
		     const struct sk_lc_opts *o, struct sk_lc_key_report *r)
{
	struct lc_key k = {
		.h = h, .idx = idx, .n = n, .max_steps = o->max_steps};
	uint64_t *cuts = NULL;
	size_t ncuts = 0;
	int ret = -1;

	qsort_r(idx, n, sizeof(*idx), size_cmp_invoke, (void *)h);
	k.arg_val = calloc(n + 1, sizeof(*k.arg_val));
	k.res_val = calloc(n + 1, sizeof(*k.res_val));
	k.tok = calloc(n + 1, sizeof(*k.tok));
	k.toks = calloc(n + 1, sizeof(*k.toks));
	cuts = calloc(n + 1, sizeof(*cuts));
	if (!k.arg_val || !k.res_val || !k.tok || !k.toks || !cuts)
		goto out;
	/* The tokens the history names; any other token is one nobody
	 * saw, which the model need not tell apart. */
	for (uint32_t i = 0; i < n; i++) {
		const struct sk_lc_op *op = kop(&k, i);

		if (op->code == SK_LC_CAS)
			k.toks[k.ntoks++] = op->arg;
		else if (op->code == SK_LC_GETS && !op->timed_out &&
			 op->res == SK_LC_R_HIT)
			k.toks[k.ntoks++] = op->res_num;
	}
	qsort(k.toks, k.ntoks, sizeof(*k.toks), u64_cmp);
	{
		size_t u = 0;

		for (size_t i = 0; i < k.ntoks; i++)
			if (u == 0 || k.toks[u - 1] != k.toks[i])
				k.toks[u++] = k.toks[i];
		k.ntoks = u;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct sk_lc_op *op = kop(&k, i);
		int64_t id;

		k.tok[i] = -1;
		if (op->code == SK_LC_CAS)
			k.tok[i] = tok_index(&k, op->arg);
		else if (op->code == SK_LC_GETS && !op->timed_out &&
			 op->res == SK_LC_R_HIT)
			k.tok[i] = tok_index(&k, op->res_num);
		if (op_has_value(op->code)) {
			id = intern(&k, op->val, op->val_len, NULL);
			if (id < 0)
				goto out;
			k.arg_val[i] = (uint32_t)id;
		}
		if (!op->timed_out && op->res == SK_LC_R_HIT) {
			id = intern(&k, op->res_val, op->res_val_len, NULL);
			if (id < 0)
				goto out;
			k.res_val[i] = (uint32_t)id;
		}
		if (!op->timed_out)
			cuts[ncuts++] = op->response;
	}

	r->verdict = search(&k, UINT64_MAX);
	if (k.nomem)
		goto out;
	if (r->verdict == SK_LC_NOT_LINEARIZABLE) {
		/*
		 * The shortest failing window. A window is linearizable if
		 * the whole history is (the ops linearized at or before the
		 * cut are a valid prefix of its linearization; the rest of
		 * the window is pending and may be left out), so failing is
		 * monotone in the cut and a binary search over the answer
		 * times finds the first. The largest cut is the whole
		 * history, known to fail. A window the budget cannot decide
		 * counts as passing: the cut found still fails for sure.
		 */
		size_t lo = 0, hi;

		r->window_shortest = !o->no_window;
		qsort(cuts, ncuts, sizeof(*cuts), u64_cmp);
		hi = ncuts ? ncuts - 1 : 0;
		while (!o->no_window && lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			enum sk_lc_verdict mv = search(&k, cuts[mid]);

			if (k.nomem)
				goto out;
			if (mv == SK_LC_NOT_LINEARIZABLE)
				hi = mid;
			else
				lo = mid + 1;
			if (mv == SK_LC_UNKNOWN)
				r->window_shortest = false;
		}
		r->cut = ncuts ? cuts[hi] : 0;
		r->window = calloc(n + 1, sizeof(*r->window));
		if (r->window == NULL)
			goto out;
		r->culprit = SIZE_MAX;
		for (uint32_t i = 0; i < n; i++) {
			const struct sk_lc_op *op = kop(&k, i);

			if (op->invoke > r->cut)
				break;
			r->window[r->nwindow++] = idx[i];
			if (!op->timed_out && op->response == r->cut &&
			    r->culprit == SIZE_MAX)
				r->culprit = idx[i];
		}
	}
	ret = 0;
out:
	r->steps = k.steps;
	r->nops = n;
	key_cleanup(&k);
	free(cuts);
	return ret;
}

void sk_lc_report_cleanup(struct sk_lc_report *rep)
{
	for (size_t i = 0; i < rep->nkeys; i++)
		free(rep->keys[i].window);
	free(rep->keys);
	memset(rep, 0, sizeof(*rep));
}

int sk_lc_check(const struct sk_lc_history *h, const struct sk_lc_opts *opts,
		struct sk_lc_report *rep)
{
	struct sk_lc_opts o = opts ? *opts : (struct sk_lc_opts){0};
	size_t *start = calloc(h->nkeys + 1, sizeof(*start));
	size_t *idx = calloc(h->nops + 1, sizeof(*idx));
	size_t *fill = calloc(h->nkeys + 1, sizeof(*fill));
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	if (o.max_steps == 0)
		o.max_steps = SK_LC_DEFAULT_MAX_STEPS;
	rep->keys = calloc(h->nkeys + 1, sizeof(*rep->keys));
	if (!start || !idx || !fill || !rep->keys)
		goto out;
	rep->nkeys = h->nkeys;
	/* Partition by key: a counting sort of the op indices. */
	for (size_t i = 0; i < h->nops; i++)
		fill[h->ops[i].key]++;
	for (size_t k = 0, s = 0; k < h->nkeys; k++) {
		start[k] = s;
		s += fill[k];
		fill[k] = start[k];
	}
	for (size_t i = 0; i < h->nops; i++)
		idx[fill[h->ops[i].key]++] = i;
	rep->verdict = SK_LC_OK;
	for (size_t k = 0; k < h->nkeys; k++) {
		struct sk_lc_key_report *r = &rep->keys[k];
		size_t n = fill[k] - start[k];

		r->key = (uint32_t)k;
		if (check_key(h, idx + start[k], n, &o, r))
			goto out;
		if (r->verdict == SK_LC_NOT_LINEARIZABLE ||
		    (r->verdict == SK_LC_UNKNOWN && rep->verdict == SK_LC_OK))
			rep->verdict = r->verdict;
	}
	ret = 0;
out:
	if (ret)
		sk_lc_report_cleanup(rep);
	free(start);
	free(idx);
	free(fill);
	return ret;
}
