/*
 * The SKIFF_* registry and parser. Each layer declares its variables next
 * to its code and registers them (skiff/config.h); verbs knows only its
 * own, and the layers above add theirs, as UCX's ucs config tables do.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/config.h>

#include "provider.h"

/* Both providers read these; sk_dev_open reads the first two. */
static const struct sk_config_var sk_verbs_config_vars[] = {
	{"SKIFF_PROVIDER", "auto",
	 "fabric provider: rdma, ucx, or auto (rdma if an RDMA port is active)",
	 SK_CONFIG_WORDS, 0, 0, "rdma ucx auto"},
	{"SKIFF_DEVICE", "",
	 "device to open (e.g. rxe0, mlx5_0); empty: the first usable one",
	 SK_CONFIG_TEXT, 0, 0, NULL},
	{"SKIFF_SQ_DEPTH", "256",
	 "operations outstanding per endpoint (send queue depth)",
	 SK_CONFIG_NUM, 2, 32768, NULL},
	{"SKIFF_RQ_DEPTH", "256", "receives posted per endpoint",
	 SK_CONFIG_NUM, 1, 32768, NULL},
	{"SKIFF_STALL_MS", "5000",
	 "fail an endpoint whose oldest operation got no completion for this "
	 "long (0: off): Soft-RoCE and some UCX paths never fail a dead peer; "
	 "unset, off on hardware RDMA NICs",
	 SK_CONFIG_NUM, 0, 86400000, NULL},
	{NULL, NULL, NULL, 0, 0, 0, NULL},
};

static struct sk_config_table sk_verbs_config = {
	.layer = "verbs: the driver, either provider",
	.order = SK_CONFIG_ORDER_VERBS,
	.vars = sk_verbs_config_vars,
};

/* The providers' tables (rdma/config.c, ucx/config.c): naming them here
 * links them in wherever the registry is. */
extern struct sk_config_table sk_rdma_config, sk_ucx_config;

static struct sk_config_table *sk_config_head;

static const struct sk_config_var *sk_config_in(
	const struct sk_config_table *t, const char *name)
{
	for (const struct sk_config_var *v = t->vars; v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

static const struct sk_config_var *sk_config_find(const char *name)
{
	const struct sk_config_var *v;

	for (const struct sk_config_table *t = sk_config_head; t; t = t->next)
		if ((v = sk_config_in(t, name)))
			return v;
	return NULL;
}

void sk_config_register(struct sk_config_table *table)
{
	struct sk_config_table **pp;

	for (pp = &sk_config_head; *pp; pp = &(*pp)->next)
		if (*pp == table)
			return;
	for (const struct sk_config_var *v = table->vars; v->name; v++) {
		if (sk_config_find(v->name) || sk_config_in(table, v->name) != v) {
			fprintf(stderr, "skiff: BUG: config variable %s is "
					"declared twice (%s)\n", v->name,
				table->layer);
			abort();
		}
	}
	/* In layer order, whatever order the constructors ran in. */
	for (pp = &sk_config_head; *pp && (*pp)->order <= table->order;
	     pp = &(*pp)->next)
		;
	table->next = *pp;
	*pp = table;
}

static void __attribute__((constructor)) sk_verbs_config_register(void)
{
	sk_config_register(&sk_verbs_config);
	sk_config_register(&sk_rdma_config);
	sk_config_register(&sk_ucx_config);
}

const struct sk_config_table *sk_config_tables(void)
{
	return sk_config_head;
}

const char *sk_config_str(const char *name)
{
	const struct sk_config_var *var = sk_config_find(name);
	const char *val;

	if (var == NULL) {
		fprintf(stderr, "skiff: BUG: config variable %s is in no "
				"registered table (skiff/config.h)\n", name);
		abort();
	}
	val = getenv(name);
	return val ? val : var->dflt;
}

sk_status_t sk_config_ulong(const char *name, unsigned long min,
			    unsigned long max, unsigned long *val_p)
{
	const char *text = sk_config_str(name);
	unsigned long long v;
	char *end;
	unsigned shift = 0;

	/* Digits only: strtoull would skip blanks, take a sign and read
	 * 010 as octal. */
	if (!isdigit((unsigned char)text[0]))
		goto bad;
	errno = 0;
	v = strtoull(text, &end,
		     text[0] == '0' && (text[1] | 0x20) == 'x' ? 16 : 10);
	if (end == text || errno)
		goto bad;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || (shift && v > (~0ull >> shift)))
		goto bad;
	v <<= shift;
	if (v < min || v > max)
		goto bad;
	*val_p = (unsigned long)v;
	return SK_OK;
bad:
	sk_log_error("%s='%s' is not a number in [%lu, %lu]", name, text, min,
		     max);
	return SK_ERR_CONFIG;
}

/* Whether @val is one of the space-separated @words. */
static int sk_config_word(const char *words, const char *val)
{
	size_t n = strlen(val);

	for (const char *w = words; *w;) {
		size_t wl = strcspn(w, " ");

		if (wl == n && n && strncmp(w, val, n) == 0)
			return 1;
		w += wl + (w[wl] == ' ');
	}
	return 0;
}

static int sk_config_check_one(const struct sk_config_var *c)
{
	const char *val = getenv(c->name);
	unsigned long v;

	if (val == NULL || c->kind == SK_CONFIG_TEXT)
		return 0; /* the default, which is good; or any text */
	if ((c->kind == SK_CONFIG_AUTO_NUM || c->kind == SK_CONFIG_AUTO_WORDS) &&
	    strcmp(val, "auto") == 0)
		return 0;
	switch (c->kind) {
	case SK_CONFIG_WORDS:
	case SK_CONFIG_AUTO_WORDS:
		if (sk_config_word(c->words, val))
			return 0;
		sk_log_error("%s='%s' is not one of: %s%s", c->name, val,
			     c->kind == SK_CONFIG_AUTO_WORDS ? "auto " : "",
			     c->words);
		return 1;
	case SK_CONFIG_NUM:
	case SK_CONFIG_AUTO_NUM:
	case SK_CONFIG_POW2:
		/* The very parser the reader uses, and its message. */
		if (sk_config_ulong(c->name, c->min, c->max, &v) != SK_OK)
			return 1;
		if (c->kind == SK_CONFIG_POW2 && (v & (v - 1))) {
			sk_log_error("%s=%lu: not a power of two", c->name, v);
			return 1;
		}
		return 0;
	case SK_CONFIG_TEXT:
		break;
	}
	return 0;
}

int sk_config_check(void)
{
	int bad = 0;

	for (const struct sk_config_table *t = sk_config_head; t; t = t->next)
		for (const struct sk_config_var *v = t->vars; v->name; v++)
			bad += sk_config_check_one(v);
	return bad;
}

void sk_config_print(FILE *out)
{
	for (const struct sk_config_table *t = sk_config_head; t; t = t->next) {
		fprintf(out, "#\n# ==== %s ====\n", t->layer);
		for (const struct sk_config_var *v = t->vars; v->name; v++) {
			const char *cur = getenv(v->name);

			fprintf(out, "#\n# %s\n#\n", v->help);
			if (cur)
				fprintf(out, "%s=%s   (default: %s)\n", v->name,
					cur, v->dflt);
			else
				fprintf(out, "%s=%s\n", v->name, v->dflt);
		}
	}
}
