/*
 * libFuzzer target for the history parser of the linearizability checker
 * (tests/kv/lincheck.c's sk_lc_parse), which reads files that kv's tests
 * and people write. The input is the file. Oracles, each an abort:
 *
 *  - the parser accepts or refuses (0 or -1); a refusal's reason is one
 *    line of printable text that starts "line N:" with N at most the
 *    number of lines in the input, plus one;
 *  - an accepted history, written back with sk_lc_write_op, parses to
 *    a history that writes the very same text (the writer and the parser
 *    agree), with as many operations;
 *  - the checker runs on it to a verdict within a small step budget, and
 *    a key's window lies inside the history.
 *
 * The parser gets an exact-size heap copy, so ASan sees a read past the
 * end.
 *
 * Environment:
 *   SKIFF_FUZZ_WRITE_SEEDS=DIR  write the seeds to DIR and exit (how
 *                               tests/fuzz/corpus_lincheck was made)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lincheck.h"
#include "lincheck_gen.h"

#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *write_all(const struct sk_lc_history *h, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	check(f != NULL);
	for (size_t i = 0; i < h->nops; i++)
		check(sk_lc_write_op(f, h, &h->ops[i]) == 0);
	check(fclose(f) == 0);
	return text;
}

static void check_refusal(const char *err, const uint8_t *data, size_t size)
{
	unsigned line = 0, lines = 1;

	check_why(err);
	check(sscanf(err, "line %u:", &line) == 1);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	check(line >= 1 && line <= lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct sk_lc_opts opts = {.max_steps = 2000};
	struct sk_lc_history h, back;
	struct sk_lc_report rep;
	char err[256], *text, *text2;
	size_t len, len2;
	uint8_t *copy = fuzz_dup(data, size);
	int ret;

	sk_lc_history_init(&h);
	memset(err, 'E', sizeof(err));
	ret = sk_lc_parse(copy, size, &h, err, sizeof(err));
	check(ret == 0 || ret == -1);
	if (ret) {
		if (strstr(err, "out of memory") == NULL)
			check_refusal(err, data, size);
		goto out;
	}

	text = write_all(&h, &len);
	sk_lc_history_init(&back);
	check(sk_lc_parse(text, len, &back, err, sizeof(err)) == 0);
	check(back.nops == h.nops && back.nkeys == h.nkeys);
	text2 = write_all(&back, &len2);
	check(len2 == len && memcmp(text, text2, len) == 0);
	free(text);
	free(text2);
	sk_lc_history_cleanup(&back);

	check(sk_lc_check(&h, &opts, &rep) == 0);
	check(rep.nkeys == h.nkeys);
	for (size_t k = 0; k < rep.nkeys; k++) {
		const struct sk_lc_key_report *r = &rep.keys[k];

		check(r->verdict == SK_LC_OK ||
		      r->verdict == SK_LC_NOT_LINEARIZABLE ||
		      r->verdict == SK_LC_UNKNOWN);
		check(r->nwindow <= r->nops);
		for (size_t i = 0; i < r->nwindow; i++)
			check(r->window[i] < h.nops &&
			      h.ops[r->window[i]].key == k);
	}
	sk_lc_report_cleanup(&rep);
out:
	sk_lc_history_cleanup(&h);
	free(copy);
	return 0;
}

/* ---- the seed writer ---- */

static const char *const hand[][2] = {
	{"every-op", "# one of each operation and result\n"
		     "0 0 10 set k \"a\" 3 -> STORED\n"
		     "1 5 timeout set k x:62ff 1\n"
		     "0 20 30 add k \"b\" 0 -> NOT_STORED\n"
		     "0 40 50 replace k \"c\\\\\\\"\\x00\" 2 -> STORED\n"
		     "0 60 70 append k \"d\" -> STORED\n"
		     "0 80 90 prepend k x: -> STORED\n"
		     "0 100 110 gets k -> VALUE \"c\\\\\\\"\\x00d\" 2 7\n"
		     "0 120 130 cas k \"9\" 0 7 -> STORED\n"
		     "0 140 150 cas k \"9\" 0 7 -> EXISTS\n"
		     "0 160 170 incr k 18446744073709551615 -> 8\n"
		     "0 180 190 decr k 9 -> 0\n"
		     "0 200 210 touch k -> TOUCHED\n"
		     "0 220 230 get k -> VALUE \"0\" 0\n"
		     "0 240 250 delete k -> DELETED\n"
		     "0 260 270 get k -> END\n"
		     "0 280 290 incr k 1 -> NOT_FOUND\n"
		     "0 300 310 set k \"x\" 0 -> STORED\n"
		     "0 320 330 decr k 1 -> CLIENT_ERROR\n"
		     "2 340 timeout delete k -> ?\r\n"},
	{"not-linearizable", "0 0 10 set n \"0\" 0 -> STORED\n"
			     "1 20 100 incr n 1 -> 1\n"
			     "2 30 90 incr n 1 -> 1\n"},
	{"bad-line", "0 0 10 set k \"a\" 0 -> STORED\n0 5 x get k -> END\n"},
};

static void write_seeds(const char *dir)
{
	for (size_t i = 0; i < sizeof(hand) / sizeof(hand[0]); i++)
		fuzz_write_seed(dir, hand[i][0], -1, hand[i][1],
				strlen(hand[i][1]));
	for (unsigned s = 1; s <= 2; s++) {
		struct sk_lc_gen_opts o = {.seed = s,
					   .nkeys = s + 1,
					   .nops = 40,
					   .nclients = 4,
					   .timeout_pct = 10,
					   .lost_pct = 50};
		struct sk_lc_history h;
		char name[32], *text;
		size_t len;

		sk_lc_history_init(&h);
		check(sk_lc_gen(&h, &o) == 0);
		text = write_all(&h, &len);
		snprintf(name, sizeof(name), "generated-%u", s);
		fuzz_write_seed(dir, name, -1, text, len);
		free(text);
		sk_lc_history_cleanup(&h);
	}
}

FUZZ_INITIALIZE_WITH_SEEDS(write_seeds)
