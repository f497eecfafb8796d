/*
 * Unit tests of skrun's reading of a Slurm allocation (launcher/slurm.c,
 * sk_slurm_alloc in opts.h): hostlist expressions as Slurm writes them
 * (ranges, zero padding, several bracket groups, suffixes), task counts
 * with repeats, the older variable names, and then what a broken or
 * hostile environment could hold instead: missing variables, counts that
 * contradict each other, bad syntax, expansions past skrun's limits. Each
 * refusal names the variable at fault and leaves the list untouched.
 *
 * Then the frames of a Slurm step's agent (launcher/frame.c, parse.h),
 * which skrun reads from srun's stdout: every split of a good stream
 * gives the same events, and each kind of damage stops the stream with
 * a message and delivers nothing after it.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opts.h"
#include "parse.h"

/* An environment: NULL-terminated "NAME=value" strings. */
static const char *env_get(const char *name, void *arg)
{
	size_t n = strlen(name);

	for (const char *const *e = arg; *e; e++)
		if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

#define ENV(...) ((const char *[]){__VA_ARGS__, NULL})

static int alloc(const char **env, struct sk_host_list *l, unsigned *nt,
		 char *err, size_t errlen)
{
	return sk_slurm_alloc(env_get, (void *)env, l, nt, err, errlen);
}

/* The list as "name:slots,..." for comparing. */
static const char *show(const struct sk_host_list *l)
{
	static char buf[65536];
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < l->count; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s:%u",
					i ? "," : "", l->hosts[i].name,
					l->hosts[i].slots);
	return buf;
}

static void expect_ok(const char **env, const char *want, unsigned want_nt)
{
	struct sk_host_list l = {0};
	unsigned nt = 0;
	char err[256] = "";

	assert_int_equal(alloc(env, &l, &nt, err, sizeof(err)), 1);
	assert_string_equal(err, "");
	assert_string_equal(show(&l), want);
	assert_int_equal(nt, want_nt);
	sk_host_list_cleanup(&l);
}

/* Refused with a message containing @want; the list kept as it was. */
static void expect_err(const char **env, const char *want)
{
	struct sk_host_list l = {0};
	unsigned nt = 77;
	char err[256] = "";

	assert_int_equal(sk_hosts_parse("keep:3", &l, err, sizeof(err)), 0);
	assert_int_equal(alloc(env, &l, &nt, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
	for (const char *p = err; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	assert_string_equal(show(&l), "keep:3");
	assert_int_equal(nt, 77);
	sk_host_list_cleanup(&l);
}

static void test_no_allocation(void **state)
{
	struct sk_host_list l = {0};
	unsigned nt = 5;
	char err[64] = "";

	(void)state;
	assert_int_equal(alloc(ENV("PATH=/bin", "SLURM_NODELIST=n1"), &l, &nt,
			       err, sizeof(err)),
			 0);
	assert_int_equal(l.count, 0);
	assert_int_equal(nt, 5);
}

static void test_simple(void **state)
{
	(void)state;
	expect_ok(ENV("SLURM_JOB_ID=12", "SLURM_JOB_NODELIST=localhost",
		      "SLURM_TASKS_PER_NODE=4"),
		  "localhost:4", 4);
	/* The older names, as sbatch still sets them. */
	expect_ok(ENV("SLURM_JOBID=12", "SLURM_NODELIST=n1,n2",
		      "SLURM_TASKS_PER_NODE=1(x2)", "SLURM_NNODES=2",
		      "SLURM_NPROCS=2"),
		  "n1:1,n2:1", 2);
}

static void test_ranges(void **state)
{
	(void)state;
	expect_ok(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=node[01-03,07]",
		      "SLURM_TASKS_PER_NODE=2(x3),1", "SLURM_JOB_NUM_NODES=4",
		      "SLURM_NTASKS=7"),
		  "node01:2,node02:2,node03:2,node07:1", 7);
	/* Padding follows each range's first bound, as Slurm writes them
	 * ("[01-03,7]" is node7); a wider number keeps its digits. */
	expect_ok(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=node[01-02,7]",
		      "SLURM_TASKS_PER_NODE=1(x3)"),
		  "node01:1,node02:1,node7:1", 3);
	expect_ok(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=n[8-11],m[098-100]",
		      "SLURM_TASKS_PER_NODE=1(x7)"),
		  "n8:1,n9:1,n10:1,n11:1,m098:1,m099:1,m100:1", 7);
	/* Suffixes, items mixed with plain names, several groups (the last
	 * varies fastest). */
	expect_ok(ENV("SLURM_JOB_ID=1",
		      "SLURM_JOB_NODELIST=gpu5,tux[1-2]-ib,r[1-2]n[3-4]",
		      "SLURM_TASKS_PER_NODE=4,2(x2),1(x4)"),
		  "gpu5:4,tux1-ib:2,tux2-ib:2,r1n3:1,r1n4:1,r2n3:1,r2n4:1",
		  12);
	expect_ok(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=10.0.0.[1-2]",
		      "SLURM_TASKS_PER_NODE=3,1"),
		  "10.0.0.1:3,10.0.0.2:1", 4);
}

static void test_missing(void **state)
{
	(void)state;
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_TASKS_PER_NODE=1"),
		   "SLURM_JOB_ID is set but SLURM_JOB_NODELIST is not");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a"),
		   "SLURM_JOB_ID is set but SLURM_TASKS_PER_NODE is not");
	expect_err(ENV("SLURM_JOB_ID=x1", "SLURM_JOB_NODELIST=a",
		       "SLURM_TASKS_PER_NODE=1"),
		   "SLURM_JOB_ID='x1' is not a Slurm job id");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=",
		       "SLURM_TASKS_PER_NODE=1"),
		   "SLURM_JOB_NODELIST is empty");
}

static void test_contradictions(void **state)
{
	(void)state;
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a,b",
		       "SLURM_TASKS_PER_NODE=1"),
		   "SLURM_TASKS_PER_NODE ('1') gives tasks for 1 node, but "
		   "SLURM_JOB_NODELIST has 2");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a",
		       "SLURM_TASKS_PER_NODE=1(x2)"),
		   "gives tasks for more nodes than SLURM_JOB_NODELIST's 1");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a[1-3]",
		       "SLURM_TASKS_PER_NODE=1(x3)", "SLURM_JOB_NUM_NODES=2"),
		   "SLURM_JOB_NUM_NODES=2, but SLURM_JOB_NODELIST ('a[1-3]') "
		   "names 3 nodes");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a[1-3]",
		       "SLURM_TASKS_PER_NODE=2(x3)", "SLURM_NTASKS=5"),
		   "SLURM_NTASKS=5, but SLURM_TASKS_PER_NODE ('2(x3)') adds "
		   "up to 6");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a,b,a",
		       "SLURM_TASKS_PER_NODE=1(x3)"),
		   "host 'a' is listed twice");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a[1-2],a2",
		       "SLURM_TASKS_PER_NODE=1(x3)"),
		   "host 'a2' is listed twice");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a",
		       "SLURM_TASKS_PER_NODE=1", "SLURM_NTASKS=0"),
		   "SLURM_NTASKS='0' is not a count");
}

static void test_bad_syntax(void **state)
{
	static const char *const bad_lists[][2] = {
		{"a[1-2", "has no ']'"},
		{"a1-2]", "unbalanced brackets"},
		{"a[[1-2]]", "unbalanced brackets"},
		{"a[]", "empty brackets"},
		{"a[2-1]", "range '2-1' runs backwards"},
		{"a[1-]", "is not a list of numbers"},
		{"a[x]", "is not a list of numbers"},
		{"a[1,,2]", "is not a list of numbers"},
		{"a[1-2,]", "is not a list of numbers"},
		{"a[1234567890]", "is not a list of numbers"},
		{"a,,b", "empty host name"},
		{"a,", "empty host name"},
		{"-a", "is not a valid host name"},
		{"a b", "is not a valid host name"},
		{"a;rm", "is not a valid host name"},
		{"a[1-2]$", "is not a valid host name"},
		{"a[1]b[1]c[1]d[1]e[1]", "more than 4 bracket groups"},
	};
	static const char *const bad_tasks[] = {
		"", "x", "0", "1(x0)", "1(x)", "1(2)", "1(x1", "-1", "1,",
		"4097", "1(x1)(x1)", " 1",
	};
	char nl[64], tp[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		snprintf(nl, sizeof(nl), "SLURM_JOB_NODELIST=%s",
			 bad_lists[i][0]);
		expect_err(ENV("SLURM_JOB_ID=1", nl,
			       "SLURM_TASKS_PER_NODE=1(x2)"),
			   bad_lists[i][1]);
	}
	for (size_t i = 0; i < sizeof(bad_tasks) / sizeof(bad_tasks[0]); i++) {
		snprintf(tp, sizeof(tp), "SLURM_TASKS_PER_NODE=%s",
			 bad_tasks[i]);
		expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a", tp),
			   "SLURM_TASKS_PER_NODE");
	}
}

/* skrun's limits: 4096 hosts, 4096 slots a host; at them and past. */
static void test_limits(void **state)
{
	struct sk_host_list l = {0};
	unsigned nt = 0;
	char err[256] = "";

	(void)state;
	assert_int_equal(alloc(ENV("SLURM_JOB_ID=1",
				   "SLURM_JOB_NODELIST=n[1-4096]",
				   "SLURM_TASKS_PER_NODE=1(x4096)"),
			       &l, &nt, err, sizeof(err)),
			 1);
	assert_int_equal(l.count, 4096);
	assert_string_equal(l.hosts[4095].name, "n4096");
	assert_int_equal(nt, 4096);
	sk_host_list_cleanup(&l);
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=n[1-4097]",
		       "SLURM_TASKS_PER_NODE=1(x4097)"),
		   "more than 4096 hosts");
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=n[1-4096],m",
		       "SLURM_TASKS_PER_NODE=1(x4097)"),
		   "more than 4096 hosts");
	/* A product of groups that would be huge is refused before any
	 * name is made. */
	expect_err(ENV("SLURM_JOB_ID=1",
		       "SLURM_JOB_NODELIST=a[1-999999999]b[1-999999999]",
		       "SLURM_TASKS_PER_NODE=1"),
		   "more than 4096 hosts");
	expect_ok(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a",
		      "SLURM_TASKS_PER_NODE=4096"),
		  "a:4096", 4096);
	expect_err(ENV("SLURM_JOB_ID=1", "SLURM_JOB_NODELIST=a",
		       "SLURM_TASKS_PER_NODE=4097"),
		   "'4097' is not a task count");
}

/* ---- a step's frames ---- */

#define EV_MAX 64

struct evlog {
	struct sk_frame_ev ev[EV_MAX];
	char data[4096];
	size_t dlen;
	unsigned n;
	const char *refuse_on_exit; /* the callback's refusal, if any */
};

static const char *log_ev(void *arg, const struct sk_frame_ev *ev)
{
	struct evlog *l = arg;

	assert_true(l->n < EV_MAX);
	l->ev[l->n] = *ev;
	if (ev->len) {
		assert_true(l->dlen + ev->len <= sizeof(l->data));
		memcpy(l->data + l->dlen, ev->data, ev->len);
		l->dlen += ev->len;
	}
	l->n++;
	return ev->kind == SK_FRAME_EXIT ? l->refuse_on_exit : NULL;
}

/* A stream: rank 1 says "hi\n" on stdout, its pid, rank 0 an error
 * line, rank 1's exit by signal 9, rank 0's exit 3. */
static size_t good_stream(uint8_t *buf)
{
	size_t n = 0;

	sk_frame_header(buf + n, SK_FRAME_OUT, 1, 3);
	memcpy(buf + n + SK_FRAME_HDR, "hi\n", 3);
	n += SK_FRAME_HDR + 3;
	sk_frame_value(buf + n, SK_FRAME_PID, 1, 4242);
	n += SK_FRAME_HDR + 4;
	sk_frame_header(buf + n, SK_FRAME_ERR, 0, 4);
	memcpy(buf + n + SK_FRAME_HDR, "bad\n", 4);
	n += SK_FRAME_HDR + 4;
	sk_frame_value(buf + n, SK_FRAME_EXIT, 1, 9);
	n += SK_FRAME_HDR + 4;
	sk_frame_value(buf + n, SK_FRAME_EXIT, 0, 3 << 8);
	return n + SK_FRAME_HDR + 4;
}

static void test_frames_good(void **state)
{
	uint8_t buf[256];
	size_t len = good_stream(buf);

	(void)state;
	assert_int_equal(len, 59);
	/* Whole, then a byte at a time, then in every two-piece split. */
	for (size_t split = 0; split <= len + 1; split++) {
		struct sk_frame_rd rd;
		struct evlog l = {.n = 0};

		sk_frame_rd_init(&rd, 2);
		if (split == len + 1) {
			for (size_t i = 0; i < len; i++) {
				assert_int_equal(sk_frame_feed(&rd,
					(char *)buf + i, 1, log_ev, &l), 0);
				/* Idle exactly between frames. */
				size_t at = i + 1;
				bool edge = at == 11 || at == 23 || at == 35 ||
					    at == 47 || at == 59;

				assert_int_equal(sk_frame_rd_idle(&rd), edge);
			}
		} else {
			assert_int_equal(sk_frame_feed(&rd, (char *)buf, split,
						       log_ev, &l), 0);
			assert_int_equal(sk_frame_feed(&rd, (char *)buf + split,
						       len - split, log_ev, &l),
					 0);
		}
		assert_true(sk_frame_rd_idle(&rd));
		assert_int_equal(l.dlen, 7);
		assert_memory_equal(l.data, "hi\nbad\n", 7);
		/* Output may come in pieces; the values come whole. */
		unsigned pid = 0, exits = 0;
		for (unsigned i = 0; i < l.n; i++) {
			if (l.ev[i].kind == SK_FRAME_PID) {
				assert_int_equal(l.ev[i].idx, 1);
				assert_int_equal(l.ev[i].value, 4242);
				pid++;
			} else if (l.ev[i].kind == SK_FRAME_EXIT) {
				assert_int_equal(l.ev[i].value,
						 l.ev[i].idx == 1 ? 9u : 3u << 8);
				exits++;
			} else {
				assert_int_equal(l.ev[i].idx,
						 l.ev[i].kind == SK_FRAME_OUT ? 1
									     : 0);
			}
		}
		assert_int_equal(pid, 1);
		assert_int_equal(exits, 2);
	}
}

/* One damaged frame after a good one: refused with @why, and the good
 * one's event was delivered, nothing after. */
static void expect_bad_frame(const uint8_t *frame, size_t flen,
			     const char *why)
{
	uint8_t buf[64];
	struct sk_frame_rd rd;
	struct evlog l = {.n = 0};

	sk_frame_value(buf, SK_FRAME_PID, 0, 7);
	memcpy(buf + SK_FRAME_HDR + 4, frame, flen);
	sk_frame_rd_init(&rd, 2);
	assert_int_equal(sk_frame_feed(&rd, (char *)buf,
				       SK_FRAME_HDR + 4 + flen, log_ev, &l),
			 -1);
	assert_int_equal(l.n, 1);
	if (strstr(rd.err, why) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", rd.err, why);
	assert_false(sk_frame_rd_idle(&rd));
	/* Sticky: nothing more is read. */
	assert_int_equal(sk_frame_feed(&rd, (char *)buf, SK_FRAME_HDR + 4,
				       log_ev, &l),
			 -1);
	assert_int_equal(l.n, 1);
}

static void test_frames_bad(void **state)
{
	uint8_t f[16];

	(void)state;
	sk_frame_header(f, SK_FRAME_OUT, 0, 1);
	f[0] = 0;
	expect_bad_frame(f, SK_FRAME_HDR + 1, "unknown kind 0.0");
	f[0] = 5;
	expect_bad_frame(f, SK_FRAME_HDR + 1, "unknown kind 5.0");
	f[0] = SK_FRAME_OUT;
	f[1] = 1;
	expect_bad_frame(f, SK_FRAME_HDR + 1, "unknown kind 1.1");
	sk_frame_header(f, SK_FRAME_OUT, 2, 1);
	expect_bad_frame(f, SK_FRAME_HDR + 1, "rank index 2 of a step of 2");
	sk_frame_header(f, SK_FRAME_ERR, 65535, 1);
	expect_bad_frame(f, SK_FRAME_HDR + 1, "rank index 65535");
	sk_frame_header(f, SK_FRAME_OUT, 0, 0);
	expect_bad_frame(f, SK_FRAME_HDR, "an output frame of 0 bytes");
	sk_frame_header(f, SK_FRAME_OUT, 0, SK_FRAME_DATA_MAX + 1);
	expect_bad_frame(f, SK_FRAME_HDR, "an output frame of 65537 bytes");
	sk_frame_header(f, SK_FRAME_OUT, 0, UINT32_MAX);
	expect_bad_frame(f, SK_FRAME_HDR, "an output frame of 4294967295");
	sk_frame_header(f, SK_FRAME_PID, 0, 3);
	expect_bad_frame(f, SK_FRAME_HDR, "a pid frame of 3 bytes, not 4");
	sk_frame_header(f, SK_FRAME_EXIT, 1, 8);
	expect_bad_frame(f, SK_FRAME_HDR, "an exit frame of 8 bytes, not 4");
	sk_frame_value(f, SK_FRAME_PID, 1, 0);
	expect_bad_frame(f, SK_FRAME_HDR + 4, "pid 0 for rank index 1");
	sk_frame_value(f, SK_FRAME_PID, 1, 0x80000000u);
	expect_bad_frame(f, SK_FRAME_HDR + 4, "pid 2147483648");
	/* Wait statuses: stopped (0x7f), continued (0xffff), a code with
	 * low bits, a signal with high bits, past 16 bits. */
	static const uint32_t bad_status[] = {0x7f, 0x137f, 0xffff, 0x0301,
					      0x0109, 0x10000, 0x41};
	for (size_t i = 0; i < sizeof(bad_status) / sizeof(bad_status[0]);
	     i++) {
		sk_frame_value(f, SK_FRAME_EXIT, 0, bad_status[i]);
		expect_bad_frame(f, SK_FRAME_HDR + 4, "is no wait status");
	}
}

/* The good statuses at their edges, and the callback's refusal. */
static void test_frames_status(void **state)
{
	static const uint32_t good[] = {0, 0xff00, 1, 64, 0x80 | 11};
	uint8_t f[16];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct sk_frame_rd rd;
		struct evlog l = {.n = 0};

		sk_frame_rd_init(&rd, 1);
		sk_frame_value(f, SK_FRAME_EXIT, 0, good[i]);
		assert_int_equal(sk_frame_feed(&rd, (char *)f,
					       SK_FRAME_HDR + 4, log_ev, &l),
				 0);
		assert_int_equal(l.n, 1);
		assert_int_equal(l.ev[0].value, good[i]);
	}
	struct sk_frame_rd rd;
	struct evlog l = {.n = 0, .refuse_on_exit = "a second exit status"};

	sk_frame_rd_init(&rd, 1);
	sk_frame_value(f, SK_FRAME_EXIT, 0, 0);
	assert_int_equal(sk_frame_feed(&rd, (char *)f, SK_FRAME_HDR + 4,
				       log_ev, &l),
			 -1);
	assert_string_equal(rd.err, "a second exit status");
	/* A step of no ranks takes no frame at all. */
	sk_frame_rd_init(&rd, 0);
	assert_int_equal(sk_frame_feed(&rd, (char *)f, SK_FRAME_HDR + 4,
				       log_ev, &l),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_allocation),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_contradictions),
		cmocka_unit_test(test_bad_syntax),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_frames_good),
		cmocka_unit_test(test_frames_bad),
		cmocka_unit_test(test_frames_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
