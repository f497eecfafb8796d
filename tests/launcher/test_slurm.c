/*
 * Unit tests of skrun's reading of a Slurm allocation (launcher/slurm.c,
 * sk_slurm_alloc in opts.h): hostlist expressions as Slurm writes them
 * (ranges, zero padding, several bracket groups, suffixes), task counts
 * with repeats, the older variable names, and then what a broken or
 * hostile environment could hold instead: missing variables, counts that
 * contradict each other, bad syntax, expansions past skrun's limits. Each
 * refusal names the variable at fault and leaves the list untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "opts.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
