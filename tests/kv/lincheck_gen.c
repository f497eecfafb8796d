/*
 * The history generator (lincheck_gen.h). Its reference item is a plain
 * memcached item with real CAS tokens from one counter, as memcached
 * gives them; it shares no code with the checker's model, so the two
 * have to agree on the semantics independently.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck_gen.h"

#define GAP	100u /* ns between the operations' points */
#define VAL_MAX 200u /* appends beyond this become sets */

struct ref_item {
	bool present;
	uint8_t val[VAL_MAX + 32];
	uint32_t len;
	uint32_t flags;
	uint64_t cas;
	uint64_t last_seen; /* the token a gets last returned: cas fodder */
};

static uint64_t rnd(uint64_t *s)
{
	/* splitmix64: seeded runs are the same on every machine. */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t *s, uint64_t n)
{
	return n ? rnd(s) % n : 0;
}

static bool ref_number(const struct ref_item *it, uint64_t *v)
{
	return sk_lc_parse_number(it->val, it->len, v);
}

/* A value: a short word, or a number (some near 2^64, to wrap). */
static uint32_t gen_value(uint64_t *s, uint8_t *out)
{
	static const char *const nums[] = {"0",	 "1",  "7",
					   "42", "99", "18446744073709551610"};
	uint32_t n;

	if (below(s, 10) < 4) {
		const char *v = nums[below(s, 6)];

		n = (uint32_t)strlen(v);
		memcpy(out, v, n);
		return n;
	}
	n = (uint32_t)below(s, 5); /* empty values too */
	for (uint32_t i = 0; i < n; i++)
		out[i] = (uint8_t)('a' + below(s, 6));
	return n;
}

static enum sk_lc_opcode gen_code(uint64_t *s)
{
	static const unsigned weight[SK_LC_NOPS] = {
		[SK_LC_GET] = 20,    [SK_LC_GETS] = 10,	  [SK_LC_SET] = 12,
		[SK_LC_ADD] = 6,     [SK_LC_REPLACE] = 5, [SK_LC_APPEND] = 5,
		[SK_LC_PREPEND] = 3, [SK_LC_CAS] = 10,	  [SK_LC_DELETE] = 6,
		[SK_LC_INCR] = 8,    [SK_LC_DECR] = 5,	  [SK_LC_TOUCH] = 4,
	};
	unsigned total = 0, r;

	for (int c = 0; c < SK_LC_NOPS; c++)
		total += weight[c];
	r = (unsigned)below(s, total);
	for (int c = 0; c < SK_LC_NOPS; c++) {
		if (r < weight[c])
			return (enum sk_lc_opcode)c;
		r -= weight[c];
	}
	return SK_LC_GET;
}

static void store(struct ref_item *it, const uint8_t *v, uint32_t len,
		  uint32_t flags, uint64_t *counter)
{
	it->present = true;
	memcpy(it->val, v, len);
	it->len = len;
	it->flags = flags;
	it->cas = ++*counter;
}

/* Run @op on @it (when @apply) and fill in its result. */
static void ref_run(struct ref_item *it, struct sk_lc_op *op, bool apply,
		    uint64_t *counter, uint8_t *resbuf)
{
	uint8_t tmp[VAL_MAX + 32];
	uint64_t num;

	op->res = SK_LC_R_NONE;
	if (!apply)
		return;
	switch (op->code) {
	case SK_LC_GET:
	case SK_LC_GETS:
		if (!it->present) {
			op->res = SK_LC_R_MISS;
			break;
		}
		op->res = SK_LC_R_HIT;
		memcpy(resbuf, it->val, it->len);
		op->res_val = resbuf;
		op->res_val_len = it->len;
		op->res_flags = it->flags;
		op->res_num = op->code == SK_LC_GETS ? it->cas : 0;
		if (op->code == SK_LC_GETS)
			it->last_seen = it->cas;
		break;
	case SK_LC_SET:
		store(it, op->val, op->val_len, op->flags, counter);
		op->res = SK_LC_R_STORED;
		break;
	case SK_LC_ADD:
	case SK_LC_REPLACE:
		if (it->present != (op->code == SK_LC_REPLACE)) {
			op->res = SK_LC_R_NOT_STORED;
			break;
		}
		store(it, op->val, op->val_len, op->flags, counter);
		op->res = SK_LC_R_STORED;
		break;
	case SK_LC_APPEND:
	case SK_LC_PREPEND:
		if (!it->present) {
			op->res = SK_LC_R_NOT_STORED;
			break;
		}
		if (op->code == SK_LC_APPEND) {
			memcpy(tmp, it->val, it->len);
			memcpy(tmp + it->len, op->val, op->val_len);
		} else {
			memcpy(tmp, op->val, op->val_len);
			memcpy(tmp + op->val_len, it->val, it->len);
		}
		store(it, tmp, it->len + op->val_len, it->flags, counter);
		op->res = SK_LC_R_STORED;
		break;
	case SK_LC_CAS:
		if (!it->present)
			op->res = SK_LC_R_NOT_FOUND;
		else if (it->cas != op->arg)
			op->res = SK_LC_R_EXISTS;
		else {
			store(it, op->val, op->val_len, op->flags, counter);
			op->res = SK_LC_R_STORED;
		}
		break;
	case SK_LC_DELETE:
		op->res = it->present ? SK_LC_R_DELETED : SK_LC_R_NOT_FOUND;
		it->present = false;
		break;
	case SK_LC_INCR:
	case SK_LC_DECR: {
		char dec[sizeof(it->val)];
		int n;

		if (!it->present) {
			op->res = SK_LC_R_NOT_FOUND;
			break;
		}
		if (!ref_number(it, &num)) {
			op->res = SK_LC_R_NON_NUMERIC;
			break;
		}
		if (op->code == SK_LC_INCR)
			num += op->arg;
		else
			num = num < op->arg ? 0 : num - op->arg;
		n = snprintf(dec, sizeof(dec), "%" PRIu64, num);
		/* In place, padded to the old length, when it fits. */
		if ((uint32_t)n < it->len) {
			memset(dec + n, ' ', it->len - (uint32_t)n);
			n = (int)it->len;
		}
		store(it, (const uint8_t *)dec, (uint32_t)n, it->flags,
		      counter);
		op->res = SK_LC_R_NUMBER;
		op->res_num = num;
		break;
	}
	case SK_LC_TOUCH:
		op->res = it->present ? SK_LC_R_TOUCHED : SK_LC_R_NOT_FOUND;
		break;
	default:
		break;
	}
}

int sk_lc_gen(struct sk_lc_history *h, const struct sk_lc_gen_opts *o)
{
	uint64_t s = o->seed, counter = below(&s, 1000) * 1000;
	uint64_t W, *free_at = NULL;
	struct ref_item *items = NULL;
	uint8_t *argbuf = NULL, *resbuf = NULL;
	char key[32], err[200];
	int ret = -1;

	if (o->nkeys < 1 || o->nkeys > 1000 || o->nclients < 1 ||
	    o->nclients > 1000 || o->timeout_pct > 100 || o->lost_pct > 100)
		return -1;
	/* With W below GAP * (c - 1), an op answers before the points of
	 * the c - 1 ops after it: at most c - 2 clients are busy at any
	 * point, so one is always free. */
	W = (uint64_t)GAP * (o->nclients > 1 ? o->nclients - 1 : 1) - 1;
	free_at = calloc(o->nclients, sizeof(*free_at));
	items = calloc(o->nkeys, sizeof(*items));
	argbuf = malloc(VAL_MAX + 32);
	resbuf = malloc(VAL_MAX + 32);
	if (!free_at || !items || !argbuf || !resbuf)
		goto out;
	for (unsigned i = 0; i < o->nops; i++) {
		uint64_t p = 1000 + (uint64_t)GAP * i, back;
		unsigned k = (unsigned)below(&s, o->nkeys), c, nfree = 0;
		struct ref_item *it = &items[k];
		struct sk_lc_op op = {0};
		bool timeout, lost;

		for (c = 0; c < o->nclients; c++)
			nfree += free_at[c] < p;
		nfree = (unsigned)below(&s, nfree);
		for (c = 0; c < o->nclients; c++)
			if (free_at[c] < p && nfree-- == 0)
				break;
		op.client = c;
		op.code = gen_code(&s);
		op.val = argbuf;
		op.val_len = gen_value(&s, argbuf);
		if ((op.code == SK_LC_APPEND || op.code == SK_LC_PREPEND) &&
		    it->len + op.val_len > VAL_MAX)
			op.code = SK_LC_SET;
		op.flags = (uint32_t)below(&s, 4);
		if (op.code == SK_LC_CAS) {
			/* The current token, the last one a gets saw
			 * (maybe stale), or one nobody holds. */
			switch (below(&s, 3)) {
			case 0:
				op.arg = it->cas;
				break;
			case 1:
				op.arg = it->last_seen;
				break;
			default:
				op.arg = counter + 1000000 + below(&s, 10);
				break;
			}
		}
		if (op.code == SK_LC_INCR || op.code == SK_LC_DECR)
			op.arg = below(&s, 8) ? below(&s, 10) : UINT64_MAX - 2;
		timeout = below(&s, 100) < o->timeout_pct;
		lost = timeout && below(&s, 100) < o->lost_pct;
		ref_run(it, &op, !lost, &counter, resbuf);
		back = p - free_at[c] - 1;
		op.invoke = p - below(&s, (back < W ? back : W) + 1);
		if (timeout) {
			op.timed_out = true;
			op.res = SK_LC_R_NONE;
			free_at[c] = p + W;
		} else {
			op.response = p + below(&s, W + 1);
			free_at[c] = op.response;
		}
		snprintf(key, sizeof(key), "k%u", k);
		if (sk_lc_history_add(h, &op, key, strlen(key), err,
				      sizeof(err)))
			goto out;
	}
	ret = 0;
out:
	free(free_at);
	free(items);
	free(argbuf);
	free(resbuf);
	return ret;
}
