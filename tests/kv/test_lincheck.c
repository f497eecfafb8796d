/*
 * Unit tests of the linearizability checker (tests/kv/lincheck.h): hand
 * histories that are and are not linearizable, each with the reason in
 * its comment; generated histories, linearizable by construction, and the
 * same with one answer made impossible; the step budget; the file
 * format's every rule, its limits at and past them, and a round trip; and
 * kv_lincheck's exit status, run as a real process.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lincheck.h"
#include "lincheck_gen.h"

extern char **environ;

/* Parse @text (which must be well formed) and check it with @max_steps
 * (0: the default). The report is left in @rep when it is not NULL. */
static enum sk_lc_verdict judge_rep(const char *text, uint64_t max_steps,
				    struct sk_lc_history *h,
				    struct sk_lc_report *rep)
{
	struct sk_lc_opts o = {.max_steps = max_steps};
	char err[256] = "";
	int rc;

	sk_lc_history_init(h);
	rc = sk_lc_parse(text, strlen(text), h, err, sizeof(err));
	if (rc)
		fail_msg("parse: %s", err);
	assert_int_equal(sk_lc_check(h, &o, rep), 0);
	return rep->verdict;
}

static enum sk_lc_verdict judge(const char *text)
{
	struct sk_lc_history h;
	struct sk_lc_report rep;
	enum sk_lc_verdict v = judge_rep(text, 0, &h, &rep);

	sk_lc_report_cleanup(&rep);
	sk_lc_history_cleanup(&h);
	return v;
}

#define assert_lin(text) assert_int_equal(judge(text), SK_LC_OK)
#define assert_not_lin(text)                                                   \
	assert_int_equal(judge(text), SK_LC_NOT_LINEARIZABLE)

/* ---- linearizable by hand ---- */

static void test_overlapping_set_get(void **state)
{
	/* Both gets overlap set b: one is before it, one after. */
	assert_lin("0 0 100 set k \"a\" 0 -> STORED\n"
		   "1 200 500 set k \"b\" 0 -> STORED\n"
		   "2 250 450 get k -> VALUE \"a\" 0\n"
		   "3 260 460 get k -> VALUE \"b\" 0\n");
	/* A get overlapping a set may see either value... */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "1 20 50 set k \"b\" 0 -> STORED\n"
		   "2 30 40 get k -> VALUE \"a\" 0\n");
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "1 20 50 set k \"b\" 0 -> STORED\n"
		   "2 30 40 get k -> VALUE \"b\" 0\n");
	/* ...and ops that touch (one answers when the next is invoked)
	 * count as concurrent. */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "1 10 20 get k -> END\n");
	/* An empty history, and a miss on a key nobody wrote. */
	assert_lin("");
	assert_lin("# nothing but a comment\n\n   \n");
	assert_lin("0 5 6 get nobody -> END\n");
}

static void test_concurrent_incrs(void **state)
{
	/* Two overlapping incrs answer 6 and 7, in either order of
	 * invocation; a later get sees 7. */
	assert_lin("0 0 10 set n \"5\" 0 -> STORED\n"
		   "1 20 100 incr n 1 -> 7\n"
		   "2 30 90 incr n 1 -> 6\n"
		   "3 110 120 get n -> VALUE \"7\" 0\n");
	/* incr wraps at 2^64, decr stops at 0; the results, shorter than
	 * the value, are written in place padded with spaces. */
	assert_lin("0 0 10 set n \"18446744073709551615\" 0 -> STORED\n"
		   "0 20 30 incr n 2 -> 1\n"
		   "0 40 50 decr n 5 -> 0\n"
		   "0 60 70 get n -> VALUE \"0                   \" 0\n");
	/* memcached pads a number that shrank in place with spaces: the
	 * padding is the value's, and what is appended comes after it. */
	assert_lin("0 0 10 set n \"10\" 7 -> STORED\n"
		   "0 20 30 decr n 1 -> 9\n"
		   "0 40 50 get n -> VALUE \"9 \" 7\n"
		   "0 60 70 append n \"x\" -> STORED\n"
		   "0 80 90 get n -> VALUE \"9 x\" 7\n"
		   "0 100 110 incr n 1 -> 10\n"
		   "0 120 130 get n -> VALUE \"10 \" 7\n");
	assert_not_lin("0 0 10 set n \"10\" 7 -> STORED\n"
		       "0 20 30 decr n 1 -> 9\n"
		       "0 40 50 get n -> VALUE \"9\" 7\n");
	/* A longer result is new bytes: no padding. */
	assert_lin("0 0 10 set n \"99\" 0 -> STORED\n"
		   "0 20 30 incr n 1 -> 100\n"
		   "0 40 50 get n -> VALUE \"100\" 0\n");
	/* memcached's numbers: white space and a sign before the digits,
	 * the end or white space (and anything) after them. */
	assert_lin("0 0 10 set n \" +7 tail\" 0 -> STORED\n"
		   "0 20 30 incr n 1 -> 8\n"
		   "0 40 50 set n \"7x\" 0 -> STORED\n"
		   "0 60 70 incr n 1 -> CLIENT_ERROR\n"
		   "0 80 90 set n \"-1\" 0 -> STORED\n"
		   "0 100 110 incr n 1 -> CLIENT_ERROR\n"
		   "0 120 130 set n \"-0\" 0 -> STORED\n"
		   "0 140 150 incr n 1 -> 1\n");
	/* Non-numbers, and a miss. */
	assert_lin("0 0 10 incr n 1 -> NOT_FOUND\n"
		   "0 20 30 set n \"x1\" 0 -> STORED\n"
		   "0 40 50 incr n 1 -> CLIENT_ERROR\n"
		   "0 60 70 set n \"\" 0 -> STORED\n"
		   "0 80 90 decr n 1 -> CLIENT_ERROR\n"
		   "0 100 110 set n \"18446744073709551616\" 0 -> STORED\n"
		   "0 120 130 incr n 1 -> CLIENT_ERROR\n");
}

static void test_timed_out_seen(void **state)
{
	/* A timed-out set, seen later: it was applied. */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "1 20 timeout set k \"b\" 0\n"
		   "2 100 110 get k -> VALUE \"b\" 0\n"
		   "3 120 130 get k -> VALUE \"b\" 0\n");
	/* Applied late: after a read that missed it. */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "1 20 timeout set k \"b\" 0 -> ?\n"
		   "2 100 110 get k -> VALUE \"a\" 0\n"
		   "3 120 130 get k -> VALUE \"b\" 0\n");
	/* A timed-out incr explains the jump. */
	assert_lin("0 0 10 set n \"1\" 0 -> STORED\n"
		   "1 20 timeout incr n 5\n"
		   "0 30 40 incr n 1 -> 7\n");
}

static void test_timed_out_never_seen(void **state)
{
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "1 20 timeout set k \"b\" 0\n"
		   "2 100 110 get k -> VALUE \"a\" 0\n");
	/* Timed-out reads constrain nothing. */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "1 20 timeout get k\n"
		   "1 30 timeout gets k\n"
		   "1 40 timeout touch k\n"
		   "2 100 110 get k -> VALUE \"a\" 0\n");
}

static void test_cas_after_gets(void **state)
{
	/* The token a gets saw lets a cas through once; the next version
	 * has a new token, which a second gets sees. */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "0 20 30 gets k -> VALUE \"a\" 0 77\n"
		   "0 40 50 cas k \"b\" 1 77 -> STORED\n"
		   "1 60 70 gets k -> VALUE \"b\" 1 78\n"
		   "1 80 90 cas k \"c\" 0 77 -> EXISTS\n"
		   "1 100 110 cas k \"c\" 0 78 -> STORED\n"
		   "1 120 130 get k -> VALUE \"c\" 0\n");
	/* Two clients race a cas on the same token: one wins. */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "0 20 30 gets k -> VALUE \"a\" 0 5\n"
		   "1 40 100 cas k \"b\" 0 5 -> EXISTS\n"
		   "2 50 90 cas k \"c\" 0 5 -> STORED\n"
		   "3 110 120 get k -> VALUE \"c\" 0\n");
	/* A cas with a token no gets returned succeeds only if it can be
	 * the current version's; a miss answers NOT_FOUND. */
	assert_lin("0 0 10 cas k \"a\" 0 9 -> NOT_FOUND\n"
		   "0 20 30 set k \"a\" 0 -> STORED\n"
		   "0 40 50 cas k \"b\" 0 9 -> STORED\n");
	/* A stale token's set timed out: it may land after the cas. */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "0 20 30 gets k -> VALUE \"a\" 0 77\n"
		   "1 40 timeout set k \"b\" 0\n"
		   "0 60 70 cas k \"c\" 0 77 -> STORED\n");
	/* touch keeps the token (memcached's does). */
	assert_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		   "0 20 30 gets k -> VALUE \"a\" 0 3\n"
		   "0 40 50 touch k -> TOUCHED\n"
		   "0 60 70 cas k \"b\" 0 3 -> STORED\n");
}

static void test_other_ops(void **state)
{
	/* add/replace/append/prepend/delete/touch, as protocol.txt has
	 * them: append keeps the flags of the item appended to. */
	assert_lin("0 0 10 replace k \"a\" 1 -> NOT_STORED\n"
		   "0 20 30 append k \"a\" -> NOT_STORED\n"
		   "0 30 40 touch k -> NOT_FOUND\n"
		   "0 40 50 add k \"m\" 4 -> STORED\n"
		   "0 60 70 add k \"z\" 5 -> NOT_STORED\n"
		   "0 80 90 append k \"n\" -> STORED\n"
		   "0 100 110 prepend k \"l\" -> STORED\n"
		   "0 120 130 get k -> VALUE \"lmn\" 4\n"
		   "0 140 150 replace k x:00ff 9 -> STORED\n"
		   "0 160 170 gets k -> VALUE \"\\x00\\xff\" 9 1\n"
		   "0 180 190 touch k -> TOUCHED\n"
		   "0 200 210 delete k -> DELETED\n"
		   "0 220 230 delete k -> NOT_FOUND\n"
		   "0 240 250 get k -> END\n");
	/* Keys are independent: each is checked alone. */
	assert_lin("0 0 100 set a \"1\" 0 -> STORED\n"
		   "1 0 100 set b \"2\" 0 -> STORED\n"
		   "0 200 210 get b -> VALUE \"2\" 0\n"
		   "1 200 210 get a -> VALUE \"1\" 0\n");
}

/* ---- not linearizable by hand ---- */

static void test_stale_read(void **state)
{
	struct sk_lc_history h;
	struct sk_lc_report rep;

	/* Client 2 saw b at 40; client 3, invoked after that, sees a,
	 * although nobody wrote a again. The set of b had not even
	 * answered: what counts is that its effect was observed. */
	assert_int_equal(judge_rep("0 0 10 set k \"a\" 0 -> STORED\n"
				   "1 20 100 set k \"b\" 0 -> STORED\n"
				   "2 30 40 get k -> VALUE \"b\" 0\n"
				   "3 50 60 get k -> VALUE \"a\" 0\n"
				   "0 200 210 get k -> VALUE \"b\" 0\n",
				   0, &h, &rep),
			 SK_LC_NOT_LINEARIZABLE);
	/* The explanation: the window up to the stale read's answer. */
	assert_int_equal(rep.nkeys, 1);
	assert_int_equal(rep.keys[0].cut, 60);
	assert_int_equal(h.ops[rep.keys[0].culprit].line, 4);
	assert_int_equal(rep.keys[0].nwindow, 4);
	sk_lc_report_cleanup(&rep);
	sk_lc_history_cleanup(&h);

	/* A timed-out set can flip a value once, not back. */
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "1 20 timeout set k \"b\" 0\n"
		       "2 30 40 get k -> VALUE \"b\" 0\n"
		       "3 50 60 get k -> VALUE \"a\" 0\n");
	/* It cannot be seen before it was invoked. */
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "2 20 30 get k -> VALUE \"b\" 0\n"
		       "1 40 timeout set k \"b\" 0\n");
	/* A completed delete, then a read of the old value. */
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "0 20 30 delete k -> DELETED\n"
		       "1 40 50 get k -> VALUE \"a\" 0\n");
}

static void test_never_written(void **state)
{
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "1 0 10 get k -> VALUE \"z\" 0\n");
	/* The right bytes with the wrong flags. */
	assert_not_lin("0 0 10 set k \"a\" 3 -> STORED\n"
		       "1 20 30 get k -> VALUE \"a\" 0\n");
	/* append keeps the old flags, not the command's (it has none). */
	assert_not_lin("0 0 10 set k \"a\" 3 -> STORED\n"
		       "0 20 30 append k \"b\" -> STORED\n"
		       "1 40 50 get k -> VALUE \"ab\" 0\n");
	/* A hit on a key nobody wrote. */
	assert_not_lin("0 0 10 get k -> VALUE \"\" 0\n");
	/* Padding is for incr's output only. */
	assert_not_lin("0 0 10 set k \"9\" 0 -> STORED\n"
		       "0 20 30 get k -> VALUE \"9 \" 0\n");
}

static void test_two_adds(void **state)
{
	assert_not_lin("0 0 100 add k \"a\" 0 -> STORED\n"
		       "1 0 100 add k \"b\" 0 -> STORED\n");
	/* With a delete between them, fine. */
	assert_lin("0 0 100 add k \"a\" 0 -> STORED\n"
		   "1 0 100 add k \"b\" 0 -> STORED\n"
		   "2 0 100 delete k -> DELETED\n");
	/* A replace that succeeds on a key that was never there. */
	assert_not_lin("0 0 10 replace k \"a\" 0 -> STORED\n");
}

static void test_lost_increment(void **state)
{
	assert_not_lin("0 0 10 set n \"0\" 0 -> STORED\n"
		       "1 20 100 incr n 1 -> 1\n"
		       "2 30 90 incr n 1 -> 1\n");
	/* Both answered, a later read shows one. */
	assert_not_lin("0 0 10 set n \"0\" 0 -> STORED\n"
		       "1 20 100 incr n 1 -> 2\n"
		       "2 30 90 incr n 1 -> 1\n"
		       "3 110 120 get n -> VALUE \"1\" 0\n");
	/* decr does not wrap. */
	assert_not_lin("0 0 10 set n \"1\" 0 -> STORED\n"
		       "0 20 30 decr n 2 -> 18446744073709551615\n");
}

static void test_stale_cas(void **state)
{
	/* The token 77 names the version a; b, written after it and
	 * before the cas, has another token. */
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "0 20 30 gets k -> VALUE \"a\" 0 77\n"
		       "1 40 50 set k \"b\" 0 -> STORED\n"
		       "0 60 70 cas k \"c\" 0 77 -> STORED\n");
	/* Two cas on one token cannot both win. */
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "0 20 30 gets k -> VALUE \"a\" 0 5\n"
		       "1 40 100 cas k \"b\" 0 5 -> STORED\n"
		       "2 50 90 cas k \"c\" 0 5 -> STORED\n");
	/* A gets that saw token 5 on the version a cas with 5 just
	 * replaced. */
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "0 20 30 cas k \"b\" 0 5 -> STORED\n"
		       "0 40 50 gets k -> VALUE \"b\" 0 5\n");
	/* One version, two tokens. */
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "0 20 30 gets k -> VALUE \"a\" 0 5\n"
		       "0 40 50 gets k -> VALUE \"a\" 0 6\n");
	/* The token the gets saw, then EXISTS with it and nothing
	 * written between. */
	assert_not_lin("0 0 10 set k \"a\" 0 -> STORED\n"
		       "0 20 30 gets k -> VALUE \"a\" 0 5\n"
		       "0 40 50 cas k \"b\" 0 5 -> EXISTS\n");
}

/* ---- generated ---- */

static void gen(struct sk_lc_history *h, uint64_t seed, unsigned nkeys,
		unsigned nops, unsigned nclients, unsigned timeout_pct)
{
	struct sk_lc_gen_opts o = {
		.seed = seed,
		.nkeys = nkeys,
		.nops = nops,
		.nclients = nclients,
		.timeout_pct = timeout_pct,
		.lost_pct = 50,
	};

	sk_lc_history_init(h);
	assert_int_equal(sk_lc_gen(h, &o), 0);
	assert_int_equal(h->nops, nops);
}

static void test_generated_linearizable(void **state)
{
	for (uint64_t seed = 1; seed <= 300; seed++) {
		struct sk_lc_history h;
		struct sk_lc_report rep;

		gen(&h, seed, 1 + seed % 4, 300, 1 + seed % 8,
		    (unsigned)(seed % 3) * 10);
		assert_int_equal(sk_lc_check(&h, NULL, &rep), 0);
		if (rep.verdict != SK_LC_OK)
			fail_msg("seed %" PRIu64 ": verdict %d", seed,
				 rep.verdict);
		sk_lc_report_cleanup(&rep);
		sk_lc_history_cleanup(&h);
	}
}

/*
 * One completed get or gets answers something no operation wrote: a
 * byte (0xff) no generated value has, or flags (1000) no write used.
 * The op must be linearized somewhere, and no state there holds that, so
 * the history is surely not linearizable, and the window must end at
 * that op's answer.
 */
static void test_generated_mutated(void **state)
{
	static const uint8_t bad[] = {'a', 0xff};
	/* A budget that keeps this test to a few seconds. */
	const struct sk_lc_opts o = {.max_steps = 300000};
	unsigned done = 0, decided = 0;

	for (uint64_t seed = 1; seed <= 300; seed++) {
		struct sk_lc_history h;
		struct sk_lc_report rep;
		size_t cand[300], nc = 0, pick;
		struct sk_lc_op *op;
		const struct sk_lc_key_report *kr;
		unsigned timeout_pct = (unsigned)(seed % 3) * 10;

		gen(&h, seed, 1 + seed % 4, 300, 1 + seed % 8, timeout_pct);
		for (size_t i = 0; i < h.nops; i++)
			if ((h.ops[i].code == SK_LC_GET ||
			     h.ops[i].code == SK_LC_GETS) &&
			    !h.ops[i].timed_out)
				cand[nc++] = i;
		if (nc == 0) {
			sk_lc_history_cleanup(&h);
			continue;
		}
		pick = cand[(seed * 7919) % nc];
		op = &h.ops[pick];
		op->res = SK_LC_R_HIT;
		if (seed % 2) {
			op->res_val = bad;
			op->res_val_len = sizeof(bad);
			op->res_flags = 0;
		} else {
			op->res_val = bad;
			op->res_val_len = 1;
			op->res_flags = 1000;
		}
		op->res_num = 12345;
		assert_int_equal(sk_lc_check(&h, &o, &rep), 0);
		kr = &rep.keys[op->key];
		/* Never ok. Every other key is untouched, so still ok. */
		if (kr->verdict == SK_LC_OK)
			fail_msg("seed %" PRIu64 ": judged linearizable", seed);
		for (size_t k = 0; k < rep.nkeys; k++)
			if (k != op->key)
				assert_int_equal(rep.keys[k].verdict, SK_LC_OK);
		/* Without timeouts the search is small enough to finish
		 * (README.md: timed-out ops are what makes failing searches
		 * expensive). */
		if (timeout_pct == 0)
			assert_int_equal(kr->verdict, SK_LC_NOT_LINEARIZABLE);
		if (kr->verdict == SK_LC_NOT_LINEARIZABLE) {
			decided++;
			assert_int_equal(rep.verdict, SK_LC_NOT_LINEARIZABLE);
			/* The window ends at the bad answer: no shorter one
			 * holds it, and the history is fine without it. */
			if (kr->window_shortest) {
				assert_int_equal(kr->cut, op->response);
				assert_int_equal(h.ops[kr->culprit].response,
						 op->response);
			}
			assert_true(kr->cut >= op->response);
		}
		sk_lc_report_cleanup(&rep);
		sk_lc_history_cleanup(&h);
		done++;
	}
	print_message("%u of %u decided\n", decided, done);
	assert_true(done >= 250);
	/* Measured: 248 of 300 decided within 300,000 steps. */
	assert_true(decided >= done * 8 / 10);
}

static void test_step_budget(void **state)
{
	struct sk_lc_history h;
	struct sk_lc_report rep;
	struct sk_lc_opts o = {.max_steps = 100};

	/* 2,000 ops on one key from 64 clients: far more than 100 steps. */
	gen(&h, 5, 1, 2000, 64, 5);
	assert_int_equal(sk_lc_check(&h, &o, &rep), 0);
	assert_int_equal(rep.verdict, SK_LC_UNKNOWN);
	assert_int_equal(rep.keys[0].verdict, SK_LC_UNKNOWN);
	assert_true(rep.keys[0].steps > 100);
	sk_lc_report_cleanup(&rep);
	/* Exactly enough steps, then one fewer: the budget is exact. */
	o.max_steps = 0;
	sk_lc_history_cleanup(&h);
	gen(&h, 7, 1, 200, 4, 0);
	assert_int_equal(sk_lc_check(&h, NULL, &rep), 0);
	assert_int_equal(rep.verdict, SK_LC_OK);
	o.max_steps = rep.keys[0].steps;
	sk_lc_report_cleanup(&rep);
	assert_int_equal(sk_lc_check(&h, &o, &rep), 0);
	assert_int_equal(rep.verdict, SK_LC_OK);
	sk_lc_report_cleanup(&rep);
	o.max_steps--;
	assert_int_equal(sk_lc_check(&h, &o, &rep), 0);
	assert_int_equal(rep.verdict, SK_LC_UNKNOWN);
	sk_lc_report_cleanup(&rep);
	sk_lc_history_cleanup(&h);

	/* A non-linearizable history with too small a budget is unknown,
	 * never ok. */
	assert_int_equal(judge_rep("0 0 10 set n \"0\" 0 -> STORED\n"
				   "1 20 100 incr n 1 -> 1\n"
				   "2 30 90 incr n 1 -> 1\n",
				   2, &h, &rep),
			 SK_LC_UNKNOWN);
	sk_lc_report_cleanup(&rep);
	sk_lc_history_cleanup(&h);
}

/* ---- the file format ---- */

/* @text must be refused with a reason containing @want. */
static void refused(const char *text, size_t len, const char *want)
{
	struct sk_lc_history h;
	char err[256] = "";

	sk_lc_history_init(&h);
	if (sk_lc_parse(text, len, &h, err, sizeof(err)) == 0)
		fail_msg("accepted: %.60s", text);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err, want);
	sk_lc_history_cleanup(&h);
}

#define REFUSED(text, want) refused(text, sizeof(text) - 1, want)

static void test_parse_errors(void **state)
{
	REFUSED("x 0 1 get k -> END\n", "line 1: expected a client id");
	REFUSED("0 0 1 get k -> END\n0 0 1 get k -> END\n1\n",
		"line 3: expected the invocation time");
	REFUSED("0 5 4 get k -> END\n", "response time at or after");
	REFUSED("0 5 soon get k -> END\n",
		"response time in ns or \"timeout\"");
	REFUSED("0 0 1 fetch k -> END\n", "expected an operation");
	REFUSED("0 0 1 get\n", "a key, found the end of the line");
	REFUSED("0 0 1 get k\n", "\"->\" and the result");
	REFUSED("0 0 1 get k -> STORED\n", "VALUE or END");
	REFUSED("0 0 1 set k \"a\" 0 -> DELETED\n", "a result of set: STORED");
	REFUSED("0 0 1 gets k -> VALUE \"a\" 0\n", "the cas token");
	REFUSED("0 0 1 get k -> VALUE \"a\" 0 5\n", "the end of the line");
	REFUSED("0 0 1 get k -> VALUE \"a\" 4294967296\n", "the flags");
	REFUSED("0 0 1 set k a 0 -> STORED\n", "a value");
	REFUSED("0 0 1 set k \"a 0 -> STORED\n", "closing quote");
	REFUSED("0 0 1 set k \"a\\q\" 0 -> STORED\n", "\\xHH");
	REFUSED("0 0 1 set k \"a\"0 -> STORED\n", "a space after");
	REFUSED("0 0 1 set k x:abc 0 -> STORED\n", "a value");
	REFUSED("0 0 1 set k x:zz 0 -> STORED\n", "a value");
	REFUSED("0 0 1 cas k \"a\" 0 -> STORED\n", "the cas token");
	REFUSED("0 0 1 incr k -> 1\n", "the delta");
	REFUSED("0 0 1 incr k 1 -> 18446744073709551616\n", "the new value");
	REFUSED("0 0 1 incr k 1 -> STORED\n", "a result of incr");
	REFUSED("0 0 timeout get k -> END\n", "\"?\"");
	REFUSED("0 0 timeout get k junk\n", "\"-> ?\"");
	REFUSED("0 0 timeout set k \"a\" 0 -> ? x\n", "end of the line");
	REFUSED("0 0 1 get k\x01 -> END\n", "a key");
	REFUSED("0 0 1 get k -> END\r\r\n", "CR");
	REFUSED("0 0 1 get k -> END\n0 0 1 get k\0 -> END\n",
		"line 2: expected text, found a NUL");
	REFUSED("4294967296 0 1 get k -> END\n", "a client id");
	REFUSED("0 18446744073709551616 1 get k -> END\n", "invocation");
}

static void test_parse_limits(void **state)
{
	size_t big = 2 * SK_LC_VALUE_MAX + 300;
	char *text = malloc(2 * big);
	struct sk_lc_history h;
	char err[256];
	size_t n;

	assert_non_null(text);
	/* A key of 250 bytes is fine, 251 is not. */
	n = (size_t)sprintf(text, "0 0 1 get ");
	memset(text + n, 'k', SK_LC_KEY_MAX);
	n += SK_LC_KEY_MAX;
	n += (size_t)sprintf(text + n, " -> END\n");
	sk_lc_history_init(&h);
	assert_int_equal(sk_lc_parse(text, n, &h, err, sizeof(err)), 0);
	assert_int_equal(h.keys[0].len, SK_LC_KEY_MAX);
	sk_lc_history_cleanup(&h);
	n = (size_t)sprintf(text, "0 0 1 get ");
	memset(text + n, 'k', SK_LC_KEY_MAX + 1);
	n += SK_LC_KEY_MAX + 1;
	n += (size_t)sprintf(text + n, " -> END\n");
	refused(text, n, "a key of at most 250 bytes");

	/* A value of 1 MiB is fine, quoted or hex; one byte more is not. */
	for (int hex = 0; hex < 2; hex++)
		for (size_t len = SK_LC_VALUE_MAX; len <= SK_LC_VALUE_MAX + 1;
		     len++) {
			n = (size_t)sprintf(text, "0 0 1 set k %s",
					    hex ? "x:" : "\"");
			memset(text + n, '6', hex ? 2 * len : len);
			n += hex ? 2 * len : len;
			n += (size_t)sprintf(text + n, "%s 0 -> STORED\n",
					     hex ? "" : "\"");
			if (len > SK_LC_VALUE_MAX) {
				refused(text, n, "at most 1048576 bytes");
				continue;
			}
			sk_lc_history_init(&h);
			assert_int_equal(
				sk_lc_parse(text, n, &h, err, sizeof(err)), 0);
			assert_int_equal(h.ops[0].val_len, len);
			assert_int_equal(h.ops[0].val[len - 1],
					 hex ? 0x66 : '6');
			sk_lc_history_cleanup(&h);
		}
	free(text);

	/* sk_lc_history_add checks built ops the same way. */
	{
		struct sk_lc_op op = {.code = SK_LC_GET,
				      .res = SK_LC_R_MISS,
				      .invoke = 2,
				      .response = 1};

		sk_lc_history_init(&h);
		assert_int_equal(
			sk_lc_history_add(&h, &op, "k", 1, err, sizeof(err)),
			-1);
		op.response = 2;
		assert_int_equal(
			sk_lc_history_add(&h, &op, "k k", 3, err, sizeof(err)),
			-1);
		op.res = SK_LC_R_STORED;
		assert_int_equal(
			sk_lc_history_add(&h, &op, "k", 1, err, sizeof(err)),
			-1);
		op.timed_out = true;
		assert_int_equal(
			sk_lc_history_add(&h, &op, "k", 1, err, sizeof(err)),
			-1);
		op.res = SK_LC_R_NONE;
		assert_int_equal(
			sk_lc_history_add(&h, &op, "k", 1, err, sizeof(err)),
			0);
		assert_int_equal(h.nops, 1);
		sk_lc_history_cleanup(&h);
	}
}

static bool same_bytes(const uint8_t *a, uint32_t al, const uint8_t *b,
		       uint32_t bl)
{
	return al == bl && (al == 0 || memcmp(a, b, al) == 0);
}

/* What sk_lc_write_op writes, sk_lc_parse reads back the same. */
static void test_round_trip(void **state)
{
	struct sk_lc_history h, back;
	char *text = NULL, err[256];
	size_t len = 0;
	FILE *f;

	gen(&h, 99, 5, 2000, 8, 10);
	{
		/* Bytes that need escapes. */
		static const uint8_t odd[] = {'"', '\\', 0, 0x7f, 0xff, ' '};
		struct sk_lc_op op = {.code = SK_LC_SET,
				      .val = odd,
				      .val_len = sizeof(odd),
				      .flags = 7,
				      .invoke = 1,
				      .response = 2,
				      .res = SK_LC_R_STORED};

		assert_int_equal(
			sk_lc_history_add(&h, &op, "~!", 2, err, sizeof(err)),
			0);
	}
	f = open_memstream(&text, &len);
	assert_non_null(f);
	for (size_t i = 0; i < h.nops; i++)
		assert_int_equal(sk_lc_write_op(f, &h, &h.ops[i]), 0);
	assert_int_equal(fclose(f), 0);
	sk_lc_history_init(&back);
	if (sk_lc_parse(text, len, &back, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(back.nops, h.nops);
	for (size_t i = 0; i < h.nops; i++) {
		const struct sk_lc_op *a = &h.ops[i], *b = &back.ops[i];
		const struct sk_lc_key *ka = &h.keys[a->key],
				       *kb = &back.keys[b->key];

		assert_true(same_bytes(ka->bytes, ka->len, kb->bytes, kb->len));
		assert_int_equal(a->client, b->client);
		assert_int_equal(a->code, b->code);
		assert_int_equal(a->invoke, b->invoke);
		assert_int_equal(a->timed_out, b->timed_out);
		if (!a->timed_out)
			assert_int_equal(a->response, b->response);
		assert_true(same_bytes(a->val, a->val_len, b->val, b->val_len));
		assert_int_equal(a->flags, b->flags);
		assert_int_equal(a->arg, b->arg);
		assert_int_equal(a->res, b->res);
		if (a->res == SK_LC_R_HIT) {
			assert_true(same_bytes(a->res_val, a->res_val_len,
					       b->res_val, b->res_val_len));
			assert_int_equal(a->res_flags, b->res_flags);
		}
		if (a->res == SK_LC_R_NUMBER ||
		    (a->res == SK_LC_R_HIT && a->code == SK_LC_GETS))
			assert_int_equal(a->res_num, b->res_num);
		assert_int_equal(b->line, i + 1);
	}
	free(text);
	sk_lc_history_cleanup(&back);
	sk_lc_history_cleanup(&h);
}

/* ---- kv_lincheck, as a process ---- */

static char dir[PATH_MAX];

static int run_cli(const char *text, const char *extra)
{
	char file[PATH_MAX + 16], tool[PATH_MAX + 16], *argv[5];
	int argc = 0, st;
	FILE *f;
	pid_t pid;

	snprintf(file, sizeof(file), "%s/h.txt", dir);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	{
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		assert_true(n > 0);
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		snprintf(tool, sizeof(tool), "%s/kv_lincheck", self);
	}
	argv[argc++] = tool;
	if (extra)
		argv[argc++] = (char *)extra;
	argv[argc++] = file;
	argv[argc] = NULL;
	{
		posix_spawn_file_actions_t fa;

		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY,
						 0);
		posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY,
						 0);
		assert_int_equal(
			posix_spawn(&pid, tool, &fa, NULL, argv, environ), 0);
		posix_spawn_file_actions_destroy(&fa);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_cli(void **state)
{
	static const char lost[] = "0 0 10 set n \"0\" 0 -> STORED\n"
				   "1 20 100 incr n 1 -> 1\n"
				   "2 30 90 incr n 1 -> 1\n";
	char tmpl[] = "/tmp/test_lincheck.XXXXXX";

	assert_non_null(mkdtemp(tmpl));
	snprintf(dir, sizeof(dir), "%s", tmpl);
	assert_int_equal(run_cli("0 0 10 set k \"a\" 0 -> STORED\n", NULL), 0);
	assert_int_equal(run_cli(lost, NULL), 1);
	assert_int_equal(run_cli(lost, "--max-steps=2"), 3);
	assert_int_equal(run_cli("0 0 10 set k\n", NULL), 2);
	assert_int_equal(run_cli("", "--max-steps=0"), 2);
	assert_int_equal(run_cli("", "--bogus"), 2);
	{
		char file[PATH_MAX + 16];

		snprintf(file, sizeof(file), "%s/h.txt", dir);
		unlink(file);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_overlapping_set_get),
		cmocka_unit_test(test_concurrent_incrs),
		cmocka_unit_test(test_timed_out_seen),
		cmocka_unit_test(test_timed_out_never_seen),
		cmocka_unit_test(test_cas_after_gets),
		cmocka_unit_test(test_other_ops),
		cmocka_unit_test(test_stale_read),
		cmocka_unit_test(test_never_written),
		cmocka_unit_test(test_two_adds),
		cmocka_unit_test(test_lost_increment),
		cmocka_unit_test(test_stale_cas),
		cmocka_unit_test(test_generated_linearizable),
		cmocka_unit_test(test_generated_mutated),
		cmocka_unit_test(test_step_budget),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_cli),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
