/*
 * kv_lincheck: check a recorded history of memcached operations for
 * linearizability, key by key (tests/kv/README.md has the file format).
 *
 *   kv_lincheck [--max-steps N] [--no-window] FILE|-
 *   kv_lincheck --gen SEED,KEYS,OPS,CLIENTS[,TIMEOUT_PCT]
 *
 * Prints one line per key: ok, NOT LINEARIZABLE (followed by the
 * shortest window of operations that cannot be linearized) or unknown
 * (the step budget ran out). Exit status: 0 every key ok, 1 some key not
 * linearizable, 3 some key unknown and none failed, 2 bad command line or
 * malformed file, 4 out of memory. --gen writes a generated linearizable
 * history to stdout instead (lincheck_gen.h), for trying the checker out.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lincheck.h"
#include "lincheck_gen.h"

#define SHOW_MAX 50 /* window operations printed per failing key */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kv_lincheck [--max-steps N] [--no-window] FILE|-\n"
		"       kv_lincheck --gen SEED,KEYS,OPS,CLIENTS[,TIMEOUT_PCT]\n"
		"exit: 0 linearizable, 1 not, 3 unknown (step budget), "
		"2 bad input, 4 out of memory\n");
}

static int read_all(const char *path, char **buf_p, size_t *len_p)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t len = 0, cap = 1 << 16;
	char *buf = NULL, *nb;

	if (f == NULL) {
		fprintf(stderr, "kv_lincheck: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		size_t n;

		nb = realloc(buf, cap);
		if (nb == NULL) {
			fprintf(stderr, "kv_lincheck: %s: out of memory\n",
				path);
			goto err;
		}
		buf = nb;
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len < cap)
			break;
		cap *= 2;
	}
	if (ferror(f)) {
		fprintf(stderr, "kv_lincheck: %s: read error\n", path);
		goto err;
	}
	if (f != stdin)
		fclose(f);
	*buf_p = buf;
	*len_p = len;
	return 0;
err:
	if (f != stdin)
		fclose(f);
	free(buf);
	return -1;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static int gen(const char *spec)
{
	struct sk_lc_gen_opts o = {.timeout_pct = 2, .lost_pct = 50};
	uint64_t v[5] = {0, 0, 0, 0, 2};
	struct sk_lc_history h;
	char *copy = strdup(spec), *tok, *save = NULL;
	int n = 0, ret = 2;

	if (copy == NULL)
		return 4;
	for (tok = strtok_r(copy, ",", &save); tok && n < 5;
	     tok = strtok_r(NULL, ",", &save))
		if (parse_u64(tok, &v[n++]))
			break;
	if (n < 4 || tok != NULL || v[1] < 1 || v[1] > 1000 || v[3] < 1 ||
	    v[3] > 1000 || v[2] > 100000000 || v[4] > 100) {
		fprintf(stderr,
			"kv_lincheck: --gen wants "
			"SEED,KEYS,OPS,CLIENTS[,TIMEOUT_PCT] with 1-1000 keys, "
			"1-1000 clients, at most 10^8 ops, a percentage\n");
		free(copy);
		return 2;
	}
	free(copy);
	o.seed = v[0];
	o.nkeys = (unsigned)v[1];
	o.nops = (unsigned)v[2];
	o.nclients = (unsigned)v[3];
	o.timeout_pct = (unsigned)v[4];
	sk_lc_history_init(&h);
	if (sk_lc_gen(&h, &o)) {
		fprintf(stderr, "kv_lincheck: --gen: out of memory\n");
		ret = 4;
		goto out;
	}
	printf("# kv_lincheck --gen %s\n", spec);
	for (size_t i = 0; i < h.nops; i++)
		if (sk_lc_write_op(stdout, &h, &h.ops[i])) {
			fprintf(stderr, "kv_lincheck: write error\n");
			goto out;
		}
	ret = fflush(stdout) ? 2 : 0;
out:
	sk_lc_history_cleanup(&h);
	return ret;
}

static void print_key(const struct sk_lc_history *h,
		      const struct sk_lc_key_report *r, uint64_t max_steps)
{
	const struct sk_lc_key *k = &h->keys[r->key];
	size_t skip;

	printf("%.*s: ", (int)k->len, (const char *)k->bytes);
	switch (r->verdict) {
	case SK_LC_OK:
		printf("ok (%zu ops, %" PRIu64 " steps)\n", r->nops, r->steps);
		return;
	case SK_LC_UNKNOWN:
		printf("unknown (%zu ops: the budget of %" PRIu64
		       " steps ran out)\n",
		       r->nops, max_steps);
		return;
	case SK_LC_NOT_LINEARIZABLE:
		break;
	}
	printf("NOT LINEARIZABLE (%zu ops, %" PRIu64 " steps)\n", r->nops,
	       r->steps);
	if (r->culprit < h->nops)
		printf("  no order of the %zu operations invoked by t=%" PRIu64
		       " explains the answer of line %u (marked *);"
		       " operations answering after t are taken as pending\n",
		       r->nwindow, r->cut, h->ops[r->culprit].line);
	skip = r->nwindow > SHOW_MAX ? r->nwindow - SHOW_MAX : 0;
	if (skip)
		printf("  (%zu earlier operations of the window not shown)\n",
		       skip);
	for (size_t i = skip; i < r->nwindow; i++) {
		const struct sk_lc_op *op = &h->ops[r->window[i]];

		printf("  %c line %u: ", r->window[i] == r->culprit ? '*' : ' ',
		       op->line);
		sk_lc_write_op(stdout, h, op);
	}
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{"max-steps", required_argument, NULL, 's'},
		{"no-window", no_argument, NULL, 'w'},
		{"gen", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sk_lc_opts o = {.max_steps = SK_LC_DEFAULT_MAX_STEPS};
	struct sk_lc_history h;
	struct sk_lc_report rep;
	char err[256], *buf;
	size_t len;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_u64(optarg, &o.max_steps) ||
			    o.max_steps == 0) {
				fprintf(stderr,
					"kv_lincheck: --max-steps wants a "
					"positive integer, not \"%s\"\n",
					optarg);
				return 2;
			}
			break;
		case 'w':
			o.no_window = true;
			break;
		case 'g':
			if (optind != argc) {
				usage(stderr);
				return 2;
			}
			return gen(optarg);
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (read_all(argv[optind], &buf, &len))
		return 2;
	sk_lc_history_init(&h);
	if (sk_lc_parse(buf, len, &h, err, sizeof(err))) {
		fprintf(stderr, "kv_lincheck: %s: %s\n", argv[optind], err);
		ret = strstr(err, "out of memory") ? 4 : 2;
		goto out;
	}
	if (sk_lc_check(&h, &o, &rep)) {
		fprintf(stderr, "kv_lincheck: out of memory\n");
		ret = 4;
		goto out;
	}
	for (size_t i = 0; i < rep.nkeys; i++)
		print_key(&h, &rep.keys[i], o.max_steps);
	ret = rep.verdict == SK_LC_OK		      ? 0
	      : rep.verdict == SK_LC_NOT_LINEARIZABLE ? 1
						      : 3;
	sk_lc_report_cleanup(&rep);
out:
	sk_lc_history_cleanup(&h);
	free(buf);
	return ret;
}
