/*
 * A linearizability checker for histories of memcached operations
 * (tests/kv/README.md has the file format and the rules).
 *
 * A history is what concurrent clients recorded: for each operation, who
 * ran it, when it was invoked and when it answered (or that it timed out:
 * no answer, so it may or may not have been applied, at any time after
 * its invocation), what it asked and what it got. sk_lc_check() splits the
 * history by key (operations on different keys commute, so the history is
 * linearizable exactly when each key's sub-history is: linearizability is
 * local, Herlihy & Wing 1990) and searches each key's sub-history for a
 * sequential order that respects real time and the sequential model of one
 * memcached item: Wing & Gong's backtracking search with Lowe's
 * memoization of (linearized set, state) pairs and just-in-time
 * linearization, as in Lowe 2017 and porcupine.
 *
 * This code knows nothing of kv/: it judges recorded bytes only.
 */
#ifndef SKIFF_TESTS_KV_LINCHECK_H
#define SKIFF_TESTS_KV_LINCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* memcached's limits (doc/protocol.txt; kv's are the same, issue 12). */
#define SK_LC_KEY_MAX	250u
#define SK_LC_VALUE_MAX (1u << 20)

enum sk_lc_opcode {
	SK_LC_GET,
	SK_LC_GETS,
	SK_LC_SET,
	SK_LC_ADD,
	SK_LC_REPLACE,
	SK_LC_APPEND,
	SK_LC_PREPEND,
	SK_LC_CAS,
	SK_LC_DELETE,
	SK_LC_INCR,
	SK_LC_DECR,
	SK_LC_TOUCH,
	SK_LC_NOPS
};

enum sk_lc_result {
	SK_LC_R_NONE,	     /* timed out: no answer */
	SK_LC_R_HIT,	     /* get/gets: value, flags (and cas for gets) */
	SK_LC_R_MISS,	     /* get/gets: END with no item */
	SK_LC_R_STORED,	     /* set, add, replace, append, prepend, cas */
	SK_LC_R_NOT_STORED,  /* add, replace, append, prepend */
	SK_LC_R_EXISTS,	     /* cas: the token differs */
	SK_LC_R_NOT_FOUND,   /* cas, delete, incr, decr, touch */
	SK_LC_R_DELETED,     /* delete */
	SK_LC_R_TOUCHED,     /* touch */
	SK_LC_R_NUMBER,	     /* incr/decr: the new value */
	SK_LC_R_NON_NUMERIC, /* incr/decr: CLIENT_ERROR on a non-number */
	SK_LC_NRESULTS
};

/* One operation. Byte strings point into memory the history owns. */
struct sk_lc_op {
	uint32_t client;
	enum sk_lc_opcode code;
	uint32_t key; /* index into the history's keys */
	/* Arguments: the value of set/add/replace/append/prepend/cas, the
	 * flags of set/add/replace/cas, the token of cas or the delta of
	 * incr/decr. */
	const uint8_t *val;
	uint32_t val_len;
	uint32_t flags;
	uint64_t arg;
	uint64_t invoke;   /* ns, any epoch common to the history */
	uint64_t response; /* ns; meaningless when timed out */
	bool timed_out;
	/* The answer: res_val/res_flags of a hit, res_num the cas token of
	 * a gets hit or the new value of incr/decr. */
	enum sk_lc_result res;
	const uint8_t *res_val;
	uint32_t res_val_len;
	uint32_t res_flags;
	uint64_t res_num;
	uint32_t line; /* where it came from in a file; 0 if built */
};

struct sk_lc_key {
	const uint8_t *bytes;
	uint32_t len;
};

struct sk_lc_history {
	struct sk_lc_op *ops;
	size_t nops, ops_cap;
	struct sk_lc_key *keys;
	size_t nkeys, keys_cap;
	/* Every byte string the history owns, freed by cleanup. */
	uint8_t **blobs;
	size_t nblobs, blobs_cap;
};

void sk_lc_history_init(struct sk_lc_history *h);
void sk_lc_history_cleanup(struct sk_lc_history *h);

/*
 * Append a copy of @op on key @key (@key_len bytes) to @h. @op's byte
 * strings and @key are copied (the caller keeps its own); @op->key is
 * ignored and set from @key. The operation is checked first: a key of 1 to
 * SK_LC_KEY_MAX bytes without spaces or control characters, values up to
 * SK_LC_VALUE_MAX, a result that @op->code can give (none when timed out),
 * response >= invoke. Returns 0, or -1 with the reason in @err (one line,
 * NUL-terminated, truncated to @errlen) and @h unchanged.
 */
int sk_lc_history_add(struct sk_lc_history *h, const struct sk_lc_op *op,
		      const void *key, size_t key_len, char *err,
		      size_t errlen);

/*
 * Parse a history file's bytes (@buf, @len; need not be NUL-terminated)
 * into @h, which must be freshly initialized. Returns 0, or -1 with
 * "line N: ..." in @err saying what was expected; @h then holds the lines
 * before the bad one and still needs sk_lc_history_cleanup().
 */
int sk_lc_parse(const void *buf, size_t len, struct sk_lc_history *h, char *err,
		size_t errlen);

/* Write @op of @h as one line of the file format (with '\n'), which
 * sk_lc_parse() reads back as the same operation. Returns 0 or -1 on a
 * write error. */
int sk_lc_write_op(FILE *f, const struct sk_lc_history *h,
		   const struct sk_lc_op *op);

const char *sk_lc_op_name(enum sk_lc_opcode code);
const char *sk_lc_result_name(enum sk_lc_result res);

enum sk_lc_verdict {
	SK_LC_OK,		/* a linearization was found */
	SK_LC_NOT_LINEARIZABLE, /* the search space was exhausted */
	SK_LC_UNKNOWN,		/* the step budget ran out first */
};

#define SK_LC_DEFAULT_MAX_STEPS 2000000ull

struct sk_lc_opts {
	/* Search steps (tries to linearize one operation) allowed per key,
	 * including the search for the shortest failing window; 0 means
	 * SK_LC_DEFAULT_MAX_STEPS. Memory grows with the steps taken: each
	 * successful try may remember one (set, state) pair of about
	 * nops/8 bytes. */
	uint64_t max_steps;
	/* Skip the search for the shortest failing window. */
	bool no_window;
};

struct sk_lc_key_report {
	uint32_t key;
	enum sk_lc_verdict verdict;
	uint64_t steps; /* spent on this key */
	size_t nops;	/* the key's operations */
	/* NOT_LINEARIZABLE: the shortest prefix window found that cannot be
	 * linearized: every operation of the key invoked at or before @cut,
	 * those that answered after @cut taken as pending (timed out). The
	 * indices are into the history's ops, in invocation order; @culprit
	 * is the one that answered at @cut, the first answer that no order
	 * of what came before can explain. */
	uint64_t cut;
	size_t culprit;
	size_t *window;
	size_t nwindow;
	/* Every shorter window was shown linearizable. False when the
	 * budget left some undecided (or no_window): @window still cannot
	 * be linearized, but a shorter one might not either. */
	bool window_shortest;
};

struct sk_lc_report {
	enum sk_lc_verdict verdict;    /* NOT_LINEARIZABLE > UNKNOWN > OK */
	struct sk_lc_key_report *keys; /* one per key, in key order */
	size_t nkeys;
};

/*
 * Check @h. @opts may be NULL (defaults). Fills @rep, which the caller
 * releases with sk_lc_report_cleanup(). Returns 0, or -1 if memory ran
 * out (@rep is then empty).
 */
int sk_lc_check(const struct sk_lc_history *h, const struct sk_lc_opts *opts,
		struct sk_lc_report *rep);
void sk_lc_report_cleanup(struct sk_lc_report *rep);

/* memcached's test of a value as incr/decr's operand (its util.c,
 * safe_strtoull): optional white space and sign, digits that fit in 64
 * bits, then the end or white space. */
bool sk_lc_parse_number(const uint8_t *p, size_t n, uint64_t *v);

#endif /* SKIFF_TESTS_KV_LINCHECK_H */
