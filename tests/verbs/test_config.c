/*
 * Unit tests of what verbs takes from outside the process and must refuse
 * cleanly: SKIFF_* variables (the registry in verbs/config.c, verbs' own
 * tables, and how sk_dev_open uses them), and peers' blobs handed to the public API of a real ucx device.
 * For the blobs, two endpoints of one device are fed truncated, foreign,
 * wrong-version and corrupted addresses and descriptors; each must be
 * refused with its status and leave the endpoint as it was, which the test
 * proves by connecting the two for real afterwards and moving data.
 * Every refusal logs a line on stderr; that noise is expected.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <skiff/config.h>
#include <skiff/verbs.h>

#include "../../verbs/provider.h"
#include "../../verbs/wire.h"
#include "../lib/ep_pair.h"
#include "../lib/wire_seal.h"

#define TIMEOUT_MS 10000
#define BUF_LEN	   4096

/* Every test starts from a clean environment: no SKIFF_* set. */
static void unset_all(void)
{
	for (const struct sk_config_table *t = sk_config_tables(); t; t = t->next)
		for (const struct sk_config_var *v = t->vars; v->name; v++)
			unsetenv(v->name);
}

static int clean_env(void **state)
{
	(void)state;
	unset_all();
	return 0;
}

/* ---- sk_config_ulong ---- */

static sk_status_t parse(const char *text, unsigned long min, unsigned long max,
			 unsigned long *val_p)
{
	setenv("SKIFF_SQ_DEPTH", text, 1);
	return sk_config_ulong("SKIFF_SQ_DEPTH", min, max, val_p);
}

static void test_ulong_accepts(void **state)
{
	static const struct {
		const char *text;
		unsigned long val;
	} ok[] = {
		{"0", 0},
		{"1", 1},
		{"42", 42},
		{"010", 10}, /* decimal, not octal */
		{"0x10", 16},
		{"0X1f", 31},
		{"0xFFFF", 0xffff},
		{"1k", 1024},
		{"1K", 1024},
		{"3k", 3072},
		{"2m", 2ul << 20},
		{"2M", 2ul << 20},
		{"1g", 1ul << 30},
		{"5G", 5ul << 30},
		{"0x2k", 2048},
		{"4294967296", 4294967296ul},
		{"18446744073709551615", ~0ul},
		{"0xffffffffffffffff", ~0ul},
		{"16777215g", 16777215ul << 30},
	};

	(void)state;
	_Static_assert(sizeof(unsigned long) == 8, "tests assume LP64");
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		unsigned long v = 12345;
		sk_status_t st = parse(ok[i].text, 0, ~0ul, &v);

		if (st != SK_OK || v != ok[i].val)
			fail_msg("'%s': status %d value %lu, expected %lu",
				 ok[i].text, st, v, ok[i].val);
	}
}

static void test_ulong_rejects(void **state)
{
	static const char *const bad[] = {
		"",   /* empty */
		"-1", /* negative */
		"-0",
		" -5", /* strtoull would skip the blank and take the sign */
		" 5",
		"+5",
		"abc", /* junk */
		"k",
		"0x", /* hex prefix, no digits */
		"x10",
		"1.5",
		"12abc", /* trailing garbage */
		"12 ",
		"1 k",
		"1kb",
		"1kk",
		"1t",
		"0x1g5",
		"99999999999999999999", /* overflow */
		"0x10000000000000000",
		"17179869184g", /* overflow by the suffix */
		"0x40000000000000k",
		"18014398509481984k",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned long v = 12345;
		sk_status_t st = parse(bad[i], 0, ~0ul, &v);

		if (st != SK_ERR_CONFIG)
			fail_msg("'%s' gave status %d, value %lu", bad[i], st,
				 v);
		assert_int_equal(v, 12345); /* written only on success */
	}
}

static void test_ulong_range(void **state)
{
	unsigned long v = 12345;

	(void)state;
	assert_int_equal(parse("2", 2, 100, &v), SK_OK);
	assert_int_equal(v, 2);
	assert_int_equal(parse("100", 2, 100, &v), SK_OK);
	assert_int_equal(v, 100);
	assert_int_equal(parse("0x64", 2, 100, &v), SK_OK);
	assert_int_equal(v, 100);
	v = 12345;
	assert_int_equal(parse("1", 2, 100, &v), SK_ERR_CONFIG);
	assert_int_equal(parse("0", 2, 100, &v), SK_ERR_CONFIG);
	assert_int_equal(parse("101", 2, 100, &v), SK_ERR_CONFIG);
	assert_int_equal(parse("1k", 2, 100, &v), SK_ERR_CONFIG);
	assert_int_equal(parse("0x65", 2, 100, &v), SK_ERR_CONFIG);
	assert_int_equal(v, 12345);
}

static void test_ulong_default(void **state)
{
	unsigned long v = 0;

	(void)state;
	/* Unset: the table's default ("256"). */
	assert_int_equal(sk_config_ulong("SKIFF_SQ_DEPTH", 0, ~0ul, &v), SK_OK);
	assert_int_equal(v, 256);
	/* Set but empty is a bad value, not the default. */
	setenv("SKIFF_SQ_DEPTH", "", 1);
	assert_int_equal(sk_config_ulong("SKIFF_SQ_DEPTH", 0, ~0ul, &v),
			 SK_ERR_CONFIG);
}

/* ---- sk_config_str and sk_config_print ---- */

static void test_str_default_vs_env(void **state)
{
	(void)state;
	assert_string_equal(sk_config_str("SKIFF_PROVIDER"), "auto");
	assert_string_equal(sk_config_str("SKIFF_DEVICE"), "");
	assert_string_equal(sk_config_str("SKIFF_SQ_DEPTH"), "256");
	setenv("SKIFF_PROVIDER", "ucx", 1);
	setenv("SKIFF_DEVICE", "rxe0", 1);
	assert_string_equal(sk_config_str("SKIFF_PROVIDER"), "ucx");
	assert_string_equal(sk_config_str("SKIFF_DEVICE"), "rxe0");
	setenv("SKIFF_PROVIDER", "", 1);
	assert_string_equal(sk_config_str("SKIFF_PROVIDER"), "");
	unsetenv("SKIFF_PROVIDER");
	assert_string_equal(sk_config_str("SKIFF_PROVIDER"), "auto");
}

/* Every table entry is well formed: a SKIFF_ name, a default, a help line,
 * bounds that hold the default; the tables are in layer order, verbs'
 * own first. */
static void test_table_sane(void **state)
{
	const struct sk_config_table *t;
	const struct sk_config_var *v;
	unsigned order = 0;
	int n = 0;

	(void)state;
	t = sk_config_tables();
	assert_non_null(t);
	assert_int_equal(t->order, SK_CONFIG_ORDER_VERBS);
	for (; t; t = t->next) {
		assert_true(t->order >= order);
		order = t->order;
		assert_non_null(t->layer);
		for (v = t->vars; v->name; v++, n++) {
			assert_int_equal(strncmp(v->name, "SKIFF_", 6), 0);
			assert_non_null(v->dflt);
			assert_non_null(v->help);
			assert_true(strlen(v->help) > 0);
			assert_null(strchr(v->help, '\n'));
			assert_true(v->kind == SK_CONFIG_TEXT ||
				    (v->kind >= SK_CONFIG_WORDS) == (v->words != NULL));
		}
	}
	/* verbs and both providers are linked into every program that
	 * reads the configuration. */
	assert_true(n >= 5 + 8 + 6);
	/* Each default passes its own check. */
	assert_int_equal(sk_config_check(), 0);
}

/* A variable declared by two layers is a bug: registering it aborts. */
static void test_register_twice_aborts(void **state)
{
	static const struct sk_config_var vars[] = {
		{"SKIFF_SQ_DEPTH", "1", "again", SK_CONFIG_TEXT, 0, 0, NULL},
		{NULL, NULL, NULL, 0, 0, 0, NULL},
	};
	static struct sk_config_table dup = {
		.layer = "test", .order = 99, .vars = vars,
	};
	static const struct sk_config_var own[] = {
		{"SKIFF_TEST_OWN", "7", "a test's own", SK_CONFIG_NUM, 1, 9, NULL},
		{NULL, NULL, NULL, 0, 0, 0, NULL},
	};
	static struct sk_config_table mine = {
		.layer = "test", .order = 99, .vars = own,
	};
	unsigned long val = 0;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sk_config_register(&dup);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);

	/* A new name is read and checked like the others, once registered
	 * (again is a no-op, not a duplicate). */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sk_config_register(&mine);
		sk_config_register(&mine);
		setenv("SKIFF_TEST_OWN", "10", 1);
		_exit(sk_config_check() != 1 ||
		      sk_config_ulong("SKIFF_TEST_OWN", 1, 9, &val) !=
			      SK_ERR_CONFIG);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A name missing from the table is a bug in the caller: it aborts. */
static void test_str_unknown_aborts(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sk_config_str("SKIFF_NO_SUCH_VARIABLE");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

static void test_print(void **state)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out;

	(void)state;
	setenv("SKIFF_SQ_DEPTH", "64", 1);
	out = open_memstream(&text, &size);
	assert_non_null(out);
	sk_config_print(out);
	fclose(out);
	for (const struct sk_config_table *t = sk_config_tables(); t;
	     t = t->next) {
		/* Each layer's heading comes before its variables. */
		char head[128];
		const char *at;

		snprintf(head, sizeof(head), "\n# ==== %s ====\n", t->layer);
		at = strstr(text, head);
		assert_non_null(at);
		for (const struct sk_config_var *v = t->vars; v->name; v++) {
			assert_true(strstr(text, v->name) > at);
			assert_non_null(strstr(text, v->help));
		}
	}
	assert_non_null(strstr(text, "\nSKIFF_PROVIDER=auto\n"));
	assert_non_null(strstr(text, "\nSKIFF_SQ_DEPTH=64   (default: 256)\n"));
	free(text);
}

/* ---- sk_dev_open and the environment ---- */

static void expect_open_fails(const char *provider, const char *device,
			      sk_status_t want)
{
	struct sk_dev *dev = (struct sk_dev *)&dev; /* must stay untouched */
	sk_status_t st = sk_dev_open(provider, device, &dev);

	if (st != want)
		fail_msg("sk_dev_open(%s, %s) = '%s', expected '%s'",
			 provider ? provider : "NULL", device ? device : "NULL",
			 sk_status_str(st), sk_status_str(want));
	assert_ptr_equal(dev, (struct sk_dev *)&dev);
}

static void test_open_bogus_provider(void **state)
{
	(void)state;
	setenv("SKIFF_PROVIDER", "bogus", 1);
	expect_open_fails(NULL, NULL, SK_ERR_NODEV);
	expect_open_fails("bogus", NULL, SK_ERR_NODEV);
	expect_open_fails("", NULL, SK_ERR_NODEV);
	assert_int_equal(sk_dev_open("ucx", NULL, NULL), SK_ERR_INVAL);
}

/* An explicit provider wins over SKIFF_PROVIDER. */
static void test_open_explicit_provider(void **state)
{
	struct sk_dev *dev = NULL;
	struct sk_dev_attr attr;

	(void)state;
	setenv("SKIFF_PROVIDER", "bogus", 1);
	assert_int_equal(sk_dev_open("ucx", NULL, &dev), SK_OK);
	sk_dev_query(dev, &attr);
	assert_string_equal(attr.provider, "ucx");
	sk_dev_close(dev);
}

static void test_open_bad_depth(void **state)
{
	static const char *const bad[] = {"abc", "1", "32769", "", "-4"};
	struct sk_dev *dev = NULL;
	struct sk_dev_attr attr;

	(void)state;
	setenv("SKIFF_PROVIDER", "ucx", 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("SKIFF_SQ_DEPTH", bad[i], 1);
		expect_open_fails(NULL, NULL, SK_ERR_CONFIG);
	}
	unsetenv("SKIFF_SQ_DEPTH");
	setenv("SKIFF_RQ_DEPTH", "lots", 1);
	expect_open_fails(NULL, NULL, SK_ERR_CONFIG);
	unsetenv("SKIFF_RQ_DEPTH");
	/* A good value is taken (rounded up to what the device does). */
	setenv("SKIFF_SQ_DEPTH", "100", 1);
	assert_int_equal(sk_dev_open(NULL, NULL, &dev), SK_OK);
	sk_dev_query(dev, &attr);
	assert_true(attr.sq_depth >= 100);
	sk_dev_close(dev);
}

/* The ring settings: out of range or not a power of two is refused. */
static void test_open_bad_ring(void **state)
{
	static const char *const bad_kb[] = {"100", "8", "2097152", "", "x"};
	static const char *const bad_shm[] = {"2", "yes", "-1", ""};
	struct sk_dev *dev = NULL;

	(void)state;
	setenv("SKIFF_PROVIDER", "ucx", 1);
	for (size_t i = 0; i < sizeof(bad_kb) / sizeof(bad_kb[0]); i++) {
		setenv("SKIFF_UCX_RING_KB", bad_kb[i], 1);
		expect_open_fails(NULL, NULL, SK_ERR_CONFIG);
	}
	unsetenv("SKIFF_UCX_RING_KB");
	for (size_t i = 0; i < sizeof(bad_shm) / sizeof(bad_shm[0]); i++) {
		setenv("SKIFF_UCX_SHM", bad_shm[i], 1);
		expect_open_fails(NULL, NULL, SK_ERR_CONFIG);
	}
	unsetenv("SKIFF_UCX_SHM");
	/* Good ones are taken. */
	setenv("SKIFF_UCX_RING_KB", "16", 1);
	setenv("SKIFF_UCX_SHM", "0", 1);
	assert_int_equal(sk_dev_open(NULL, NULL, &dev), SK_OK);
	sk_dev_close(dev);
	unsetenv("SKIFF_UCX_RING_KB");
	unsetenv("SKIFF_UCX_SHM");
}

/*
 * sk_config_check (skinfo -c) and a real ucx open agree: what one refuses
 * the other refuses, what one takes the other takes.
 */
static void test_check_agrees_with_open(void **state)
{
	static const struct {
		const char *name, *val;
		int bad;
	} cases[] = {
		{"SKIFF_UCX_RING_KB", "100", 1}, {"SKIFF_UCX_RING_KB", "8", 1},
		{"SKIFF_UCX_RING_KB", "x", 1},   {"SKIFF_UCX_RING_KB", "64", 0},
		{"SKIFF_UCX_SHM", "2", 1},       {"SKIFF_UCX_SHM", "0", 0},
		{"SKIFF_SQ_DEPTH", "1", 1},      {"SKIFF_SQ_DEPTH", "32769", 1},
		{"SKIFF_SQ_DEPTH", "32768", 0},  {"SKIFF_RQ_DEPTH", "0", 1},
		{"SKIFF_STALL_MS", "abc", 1},    {"SKIFF_STALL_MS", "0", 0},
		{"SKIFF_UCX_KEEPALIVE_MS", "9", 1},
		{"SKIFF_UCX_KEEPALIVE_MS", "10", 0},
		{"SKIFF_UCX_MAX_MRS", "1048577", 1},
		{"SKIFF_UCX_UNEXP_DEPTH", "1m", 0},
	};
	struct sk_dev *dev = NULL;

	(void)state;
	setenv("SKIFF_PROVIDER", "ucx", 1);
	assert_int_equal(sk_config_check(), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv(cases[i].name, cases[i].val, 1);
		assert_int_equal(sk_config_check(), cases[i].bad);
		if (cases[i].bad) {
			expect_open_fails(NULL, NULL, SK_ERR_CONFIG);
		} else {
			assert_int_equal(sk_dev_open(NULL, NULL, &dev), SK_OK);
			sk_dev_close(dev);
		}
		unsetenv(cases[i].name);
	}
	/* Not a provider: refused by both. */
	setenv("SKIFF_PROVIDER", "verbs", 1);
	assert_int_equal(sk_config_check(), 1);
	assert_int_not_equal(sk_dev_open(NULL, NULL, &dev), SK_OK);
	/* Two bad values, in two tables: both counted. (The layers above
	 * are not linked here, so their variables are not checked:
	 * tests/skinfo-checks.sh checks them through skinfo, which links
	 * every table.) */
	setenv("SKIFF_PROVIDER", "ucx", 1);
	setenv("SKIFF_SQ_DEPTH", "abc", 1);
	setenv("SKIFF_RDMA_TIMEOUT", "-1", 1);
	setenv("SKIFF_ARENA_MB", "abc", 1);
	assert_int_equal(sk_config_check(), 2);
	unsetenv("SKIFF_SQ_DEPTH");
	unsetenv("SKIFF_RDMA_TIMEOUT");
	unsetenv("SKIFF_ARENA_MB");
}

static void test_open_bad_device(void **state)
{
	(void)state;
	setenv("SKIFF_PROVIDER", "ucx", 1);
	setenv("SKIFF_DEVICE", "nope", 1);
	expect_open_fails(NULL, NULL, SK_ERR_NODEV);
	unsetenv("SKIFF_DEVICE");
	expect_open_fails("ucx", "nope", SK_ERR_NODEV);
}

/* On a host without an RDMA device, "rdma" says so (NODEV), it does not
 * fall back; where one is active the case does not apply. */
static void test_open_rdma_without_device(void **state)
{
	struct sk_dev_info info[16];
	int n = sk_rdma_provider_ops.list(info, 16);

	(void)state;
	for (int i = 0; i < n && i < 16; i++)
		if (info[i].usable)
			skip();
	expect_open_fails("rdma", NULL, SK_ERR_NODEV);
	setenv("SKIFF_PROVIDER", "rdma", 1);
	expect_open_fails(NULL, NULL, SK_ERR_NODEV);
}

/* ---- peers' blobs against a real ucx device ---- */

struct fixture {
	struct sk_dev *dev;
	struct sk_ep *a, *b; /* a is fed the bad blobs */
	uint8_t addr_a[SK_BLOB_MAX], addr_b[SK_BLOB_MAX];
	size_t addr_a_len, addr_b_len;
	void *buf;    /* local: sends, receives */
	void *target; /* remote: written and read via keys */
	struct sk_mr *mr, *tmr;
	uint8_t desc[SK_BLOB_MAX]; /* tmr, packed */
	size_t desc_len;
};

static int ucx_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	unset_all();
	assert_non_null(f);
	assert_int_equal(sk_dev_open("ucx", NULL, &f->dev), SK_OK);
	assert_int_equal(sk_ep_create(f->dev, &f->a), SK_OK);
	assert_int_equal(sk_ep_create(f->dev, &f->b), SK_OK);
	f->addr_a_len = f->addr_b_len = SK_BLOB_MAX;
	assert_int_equal(sk_ep_addr_pack(f->a, f->addr_a, &f->addr_a_len),
			 SK_OK);
	assert_int_equal(sk_ep_addr_pack(f->b, f->addr_b, &f->addr_b_len),
			 SK_OK);
	assert_int_equal(posix_memalign(&f->buf, 4096, BUF_LEN), 0);
	assert_int_equal(posix_memalign(&f->target, 4096, BUF_LEN), 0);
	memset(f->buf, 0, BUF_LEN);
	memset(f->target, 0, BUF_LEN);
	assert_int_equal(
		sk_mr_reg(f->dev, f->buf, BUF_LEN, SK_ACCESS_LOCAL, &f->mr),
		SK_OK);
	assert_int_equal(
		sk_mr_reg(f->dev, f->target, BUF_LEN,
			  SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE,
			  &f->tmr),
		SK_OK);
	f->desc_len = SK_BLOB_MAX;
	assert_int_equal(sk_mr_pack(f->tmr, f->desc, &f->desc_len), SK_OK);
	*state = f;
	return 0;
}

static int ucx_teardown(void **state)
{
	struct fixture *f = *state;

	sk_ep_destroy(f->a);
	sk_ep_destroy(f->b);
	sk_mr_dereg(f->tmr);
	sk_mr_dereg(f->mr);
	sk_dev_close(f->dev);
	free(f->target);
	free(f->buf);
	free(f);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for exactly @n completions. */
static void wait_wc(struct fixture *f, struct sk_wc *wc, int n)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;
	int got = 0;

	while (got < n && now_ms() < deadline) {
		int r = sk_dev_wait(f->dev, wc + got, n - got, 100);

		assert_true(r >= 0);
		got += r;
	}
	assert_int_equal(got, n);
}

static void connect_both(struct fixture *f)
{
	assert_int_equal(sk_ep_connect(f->a, f->addr_b, f->addr_b_len), SK_OK);
	assert_int_equal(sk_ep_connect(f->b, f->addr_a, f->addr_a_len), SK_OK);
}

/* One send from a into a receive posted on b: the pair works. */
static void send_recv_round(struct fixture *f, uint8_t seed)
{
	char msg[48], *rbuf = (char *)f->buf + 1024;
	struct sk_wc wc[2];
	int got_send = 0, got_recv = 0;

	memset(msg, seed, sizeof(msg));
	memset(rbuf, 0, sizeof(msg));
	assert_int_equal(sk_post_recv(f->b, f->mr, rbuf, sizeof(msg), rbuf),
			 SK_OK);
	assert_int_equal(sk_post_send(f->a, NULL, msg, sizeof(msg), 0, msg),
			 SK_OK);
	wait_wc(f, wc, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(wc[i].status, SK_OK);
		if (wc[i].opcode == SK_OP_SEND) {
			assert_ptr_equal(wc[i].ep, f->a);
			assert_ptr_equal(wc[i].ctx, msg);
			got_send++;
		} else {
			assert_int_equal(wc[i].opcode, SK_OP_RECV);
			assert_ptr_equal(wc[i].ep, f->b);
			assert_ptr_equal(wc[i].ctx, rbuf);
			assert_int_equal(wc[i].byte_len, sizeof(msg));
			got_recv++;
		}
	}
	assert_int_equal(got_send, 1);
	assert_int_equal(got_recv, 1);
	assert_memory_equal(rbuf, msg, sizeof(msg));
}

/* A heap copy of exactly @len bytes, so ASan builds catch an overread. */
static void *dup_blob(const void *blob, size_t len)
{
	void *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, blob, len);
	return p;
}

static sk_status_t connect_copy(struct sk_ep *ep, const void *blob, size_t len)
{
	void *p = dup_blob(blob, len);
	sk_status_t st = sk_ep_connect(ep, p, len);

	free(p);
	return st;
}

static void expect_connect(struct fixture *f, const void *blob, size_t len,
			   sk_status_t want, const char *what)
{
	sk_status_t st = connect_copy(f->a, blob, len);

	if (st != want)
		fail_msg("connect with %s: '%s', expected '%s'", what,
			 sk_status_str(st), sk_status_str(want));
}

/* The ucx endpoint address body (verbs/ucx/ucx_ep.c), to build variants. */
struct ucx_ep_body {
	uint32_t idx, gen;
	uint64_t keytab_addr;
	uint32_t keytab_size;
	uint16_t alen, klen; /* as written in the length fields */
	const void *abuf, *kbuf;
	size_t abuf_len, kbuf_len; /* bytes actually written */
	/* the receive ring: host id, pid, memfd, size, wakeup name */
	uint64_t host_id;
	uint32_t pid, mfd, rsize;
	const void *wname;
	uint8_t extra;		   /* trailing bytes after the body */
};

static void ucx_ep_body_read(const uint8_t *blob, size_t len,
			     struct ucx_ep_body *b)
{
	struct sk_wire_reader r;

	assert_int_equal(sk_wire_open(blob, len, SK_WIRE_MAGIC_EP,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_OK);
	memset(b, 0, sizeof(*b));
	b->idx = sk_wire_get_u32(&r);
	b->gen = sk_wire_get_u32(&r);
	b->keytab_addr = sk_wire_get_u64(&r);
	b->keytab_size = sk_wire_get_u32(&r);
	b->alen = sk_wire_get_u16(&r);
	b->klen = sk_wire_get_u16(&r);
	b->abuf = sk_wire_get_bytes(&r, b->alen);
	b->kbuf = sk_wire_get_bytes(&r, b->klen);
	b->abuf_len = b->alen;
	b->kbuf_len = b->klen;
	b->host_id = sk_wire_get_u64(&r);
	b->pid = sk_wire_get_u32(&r);
	b->mfd = sk_wire_get_u32(&r);
	b->rsize = sk_wire_get_u32(&r);
	b->wname = sk_wire_get_bytes(&r, 16);
	assert_int_equal(sk_wire_end(&r, "test"), SK_OK);
}

static size_t ucx_ep_body_write(const struct ucx_ep_body *b, uint8_t *buf,
				size_t cap)
{
	struct sk_wire_writer w;
	size_t len = 0;

	sk_wire_begin(&w, buf, cap);
	sk_wire_put_u32(&w, b->idx);
	sk_wire_put_u32(&w, b->gen);
	sk_wire_put_u64(&w, b->keytab_addr);
	sk_wire_put_u32(&w, b->keytab_size);
	sk_wire_put_u16(&w, b->alen);
	sk_wire_put_u16(&w, b->klen);
	sk_wire_put_bytes(&w, b->abuf, b->abuf_len);
	sk_wire_put_bytes(&w, b->kbuf, b->kbuf_len);
	sk_wire_put_u64(&w, b->host_id);
	sk_wire_put_u32(&w, b->pid);
	sk_wire_put_u32(&w, b->mfd);
	sk_wire_put_u32(&w, b->rsize);
	sk_wire_put_bytes(&w, b->wname, 16);
	for (unsigned i = 0; i < b->extra; i++)
		sk_wire_put_u8(&w, 0);
	assert_int_equal(
		sk_wire_finish(&w, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_UCX, &len),
		SK_OK);
	return len;
}

/* What the rdma provider sends (verbs/rdma/rdma_wire.c): a well-formed blob of
 * the wrong provider. */
static size_t rdma_ep_blob(uint8_t *buf, size_t cap)
{
	static const uint8_t gid[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 1};
	struct sk_wire_writer w;
	size_t len = 0;

	sk_wire_begin(&w, buf, cap);
	sk_wire_put_u32(&w, 0x11);     /* qpn */
	sk_wire_put_u32(&w, 0x123456); /* psn */
	sk_wire_put_u16(&w, 0);	       /* lid */
	sk_wire_put_u8(&w, 2);	       /* link layer: Ethernet */
	sk_wire_put_u8(&w, 3);	       /* IBV_MTU_1024 */
	sk_wire_put_bytes(&w, gid, sizeof(gid));
	assert_int_equal(
		sk_wire_finish(&w, SK_WIRE_MAGIC_EP, SK_WIRE_PROV_RDMA, &len),
		SK_OK);
	return len;
}

static size_t rdma_mr_blob(uint8_t *buf, size_t cap, uint64_t addr)
{
	struct sk_wire_writer w;
	size_t len = 0;

	sk_wire_begin(&w, buf, cap);
	sk_wire_put_u64(&w, addr);
	sk_wire_put_u64(&w, BUF_LEN);
	sk_wire_put_u32(&w, 0x1234); /* rkey */
	sk_wire_put_u32(&w, SK_ACCESS_ALL);
	assert_int_equal(
		sk_wire_finish(&w, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_RDMA, &len),
		SK_OK);
	return len;
}

static void test_connect_bad_blobs(void **state)
{
	struct fixture *f = *state;
	const uint8_t *good = f->addr_b;
	size_t len = f->addr_b_len;
	uint8_t blob[SK_BLOB_MAX + 16], junk[64];
	struct ucx_ep_body body, v;

	(void)state;
	/* Truncated at every length. */
	for (size_t i = 0; i < len; i++)
		expect_connect(f, good, i, SK_ERR_MALFORMED,
			       "a truncated blob");
	assert_int_equal(sk_ep_connect(f->a, NULL, 0), SK_ERR_MALFORMED);
	assert_int_equal(sk_ep_connect(f->a, NULL, len), SK_ERR_MALFORMED);

	/* Wrong version (refused before the check word is looked at). */
	memcpy(blob, good, len);
	blob[4] = SK_WIRE_VERSION + 1;
	expect_connect(f, blob, len, SK_ERR_VERSION, "a newer version");
	sk_test_wire_reseal(blob, len);
	expect_connect(f, blob, len, SK_ERR_VERSION, "a resealed version");

	/* Wrong length: one byte more, or a header that disagrees. */
	memcpy(blob, good, len);
	blob[len] = 0;
	expect_connect(f, blob, len + 1, SK_ERR_MALFORMED, "a trailing byte");
	blob[6]++;
	sk_test_wire_reseal(blob, len);
	expect_connect(f, blob, len, SK_ERR_MALFORMED, "a wrong body_len");

	/* Another provider's address, and a descriptor instead. */
	expect_connect(f, blob, rdma_ep_blob(blob, sizeof(blob)),
		       SK_ERR_WRONG_PROVIDER, "an rdma address");
	expect_connect(f, f->desc, f->desc_len, SK_ERR_MALFORMED,
		       "a memory descriptor");

	/* Corrupted: one flipped bit in the worker address, in the key,
	 * in the check word; and junk. */
	ucx_ep_body_read(good, len, &body);
	memcpy(blob, good, len);
	blob[SK_WIRE_HDR_LEN + 24 + body.alen / 2] ^= 0x10;
	expect_connect(f, blob, len, SK_ERR_MALFORMED, "a flipped address");
	memcpy(blob, good, len);
	blob[len - SK_WIRE_CHECK_LEN - 1] ^= 0x01;
	expect_connect(f, blob, len, SK_ERR_MALFORMED, "a flipped key");
	memcpy(blob, good, len);
	blob[len - 1] ^= 0x80;
	expect_connect(f, blob, len, SK_ERR_MALFORMED, "a flipped check");
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(i * 37 + 11);
	expect_connect(f, junk, sizeof(junk), SK_ERR_MALFORMED, "junk");

	/* Well-sealed, but the body is wrong. */
	v = body;
	v.extra = 1;
	expect_connect(f, blob, ucx_ep_body_write(&v, blob, sizeof(blob)),
		       SK_ERR_MALFORMED, "a trailing byte in the body");
	v = body;
	v.alen = (uint16_t)(body.alen + 1); /* claims more than is there */
	expect_connect(f, blob, ucx_ep_body_write(&v, blob, sizeof(blob)),
		       SK_ERR_MALFORMED, "a long address length");
	v = body;
	v.klen = 0xffff;
	expect_connect(f, blob, ucx_ep_body_write(&v, blob, sizeof(blob)),
		       SK_ERR_MALFORMED, "a huge key length");
	v = body;
	v.alen = 0;
	v.abuf_len = 0;
	expect_connect(f, blob, ucx_ep_body_write(&v, blob, sizeof(blob)),
		       SK_ERR_MALFORMED, "an empty worker address");
	v = body;
	v.klen = 0;
	v.kbuf_len = 0;
	expect_connect(f, blob, ucx_ep_body_write(&v, blob, sizeof(blob)),
		       SK_ERR_MALFORMED, "an empty key");
	v = body;
	v.idx = 0xffffffffu;
	expect_connect(f, blob, ucx_ep_body_write(&v, blob, sizeof(blob)),
		       SK_ERR_MALFORMED, "an endpoint index out of range");

	/* Not connected by any of that: posting is refused. */
	assert_int_equal(sk_post_send(f->a, NULL, "x", 1, 0, NULL),
			 SK_ERR_NOT_CONNECTED);

	/* The same endpoints connect for real and move data. */
	connect_both(f);
	send_recv_round(f, 0x5a);
	/* A connected endpoint refuses a second connect, good or bad. */
	assert_int_equal(sk_ep_connect(f->a, good, len), SK_ERR_INVAL);
	assert_int_equal(sk_ep_connect(f->a, junk, sizeof(junk)), SK_ERR_INVAL);
	send_recv_round(f, 0xa5);
}

/* A peer's ring that cannot be had (a descriptor that is not its ring, no
 * such process, a bad size, another host) is not an error: sends go
 * through UCX and the pair works. */
static void ring_refused(void **state, int how)
{
	struct fixture *f = *state;
	struct ucx_ep_body body, v;
	uint8_t blob[SK_BLOB_MAX + 16];
	size_t n;

	ucx_ep_body_read(f->addr_b, f->addr_b_len, &body);
	assert_int_not_equal(body.host_id, 0); /* rings are on here */
	v = body;
	switch (how) {
	case 0:
		v.mfd = 0; /* stdin: not a ring */
		break;
	case 1:
		v.pid = 0x7ffffff0u; /* no such process */
		break;
	case 2:
		v.rsize = 3000; /* not a power of two */
		break;
	default: {
		/* Another machine, as both sides see it: not even tried. */
		struct ucx_ep_body a;

		ucx_ep_body_read(f->addr_a, f->addr_a_len, &a);
		a.host_id ^= 1;
		n = ucx_ep_body_write(&a, blob, sizeof(blob));
		memcpy(f->addr_a, blob, n);
		f->addr_a_len = n;
		v.host_id ^= 1;
		break;
	}
	}
	n = ucx_ep_body_write(&v, blob, sizeof(blob));
	memcpy(f->addr_b, blob, n);
	f->addr_b_len = n;
	connect_both(f);
	/* Both ways: a sends through UCX, b into a's ring (or UCX). */
	for (int i = 0; i < 2; i++) {
		struct sk_ep *t = f->a;

		send_recv_round(f, 0x3c);
		send_recv_round(f, 0xc3);
		f->a = f->b;
		f->b = t;
	}
}

static void test_ring_not_a_ring(void **state) { ring_refused(state, 0); }
static void test_ring_no_process(void **state) { ring_refused(state, 1); }
static void test_ring_bad_size(void **state) { ring_refused(state, 2); }
static void test_ring_other_host(void **state) { ring_refused(state, 3); }

struct progress_arg {
	struct sk_dev *dev;
	atomic_int stop;
};

static void *progress_thread(void *arg)
{
	struct progress_arg *pa = arg;
	struct sk_wc wc;

	while (!atomic_load(&pa->stop))
		assert_true(sk_dev_poll(pa->dev, &wc, 1) == 0);
	return NULL;
}

/*
 * A send after a write must not be seen before the write, although sends
 * take the ring and writes take UCX: with UCX over TCP between two devices
 * of this process, a 32 KiB put is still streaming through a socket when
 * a ring send would be in the peer's ring already. Sends without a write
 * before them take the ring; the receiver must get them all in order, and
 * at each message see (in the last word of the write) every write posted
 * before it. With the provider's ring_dirty rule removed this fails.
 */
static void test_ring_write_then_send(void **state)
{
	struct sk_dev *d1, *d2;
	struct sk_ep *a = NULL, *b = NULL;
	uint8_t desc[SK_BLOB_MAX];
	size_t ld = sizeof(desc);
	enum { WLEN = 32768, WORDS = WLEN / 8 };
	uint64_t *target = NULL, *rbuf = NULL, *src = NULL, last_write = 0;
	uint64_t written_before[64];
	struct sk_mr *tmr, *rmr, *smr;
	struct sk_rkey *rkey;
	const unsigned rounds = 40, batch = 16;
	uint64_t next = 1, expect = 1;

	(void)state;
	unset_all();
	setenv("UCX_TLS", "tcp,self", 1);
	assert_int_equal(sk_dev_open("ucx", NULL, &d1), SK_OK);
	assert_int_equal(sk_dev_open("ucx", NULL, &d2), SK_OK);
	unsetenv("UCX_TLS");
	assert_int_equal(sk_test_ep_pair(d1, d2, &a, &b), SK_OK);
	assert_int_equal(posix_memalign((void **)&target, 4096, WLEN), 0);
	assert_int_equal(posix_memalign((void **)&rbuf, 4096, 64 * 64), 0);
	assert_int_equal(posix_memalign((void **)&src, 4096, 4 * WLEN), 0);
	memset(target, 0, WLEN);
	assert_int_equal(sk_mr_reg(d2, target, WLEN, SK_ACCESS_REMOTE_WRITE,
				   &tmr), SK_OK);
	assert_int_equal(sk_mr_reg(d2, rbuf, 64 * 64, SK_ACCESS_LOCAL, &rmr),
			 SK_OK);
	assert_int_equal(sk_mr_reg(d1, src, 4 * WLEN, SK_ACCESS_LOCAL, &smr),
			 SK_OK);
	assert_int_equal(sk_mr_pack(tmr, desc, &ld), SK_OK);
	/* The key check is a round trip: both devices must progress. */
	for (int i = 0; i < 64; i++)
		assert_int_equal(sk_post_recv(b, rmr, rbuf + i * 8, 64,
					      (void *)(uintptr_t)i), SK_OK);

	{
		/* The key check is a get, which over TCP d2 must serve:
		 * a thread progresses d2 (and nothing else) meanwhile. */
		struct progress_arg pa = {.dev = d2};
		pthread_t th;

		assert_int_equal(pthread_create(&th, NULL, progress_thread,
						&pa), 0);
		assert_int_equal(sk_rkey_unpack(a, desc, ld, &rkey), SK_OK);
		atomic_store(&pa.stop, 1);
		pthread_join(th, NULL);
	}

	for (unsigned r = 0; r < rounds; r++) {
		/* A batch: every third message has a write just before it. */
		for (unsigned k = 0; k < batch; k++, next++) {
			if (next % 3 == 0) {
				/* Four source buffers in turn: unsignaled
				 * writes own theirs until later ones
				 * complete. */
				uint64_t *w = src + (next / 3 % 4) * WORDS;

				for (unsigned j = 0; j < WORDS; j++)
					w[j] = next;
				assert_int_equal(
					sk_post_write(a, smr, w, WLEN, rkey,
						      (uintptr_t)target,
						      SK_POST_UNSIGNALED, NULL),
					SK_OK);
				last_write = next;
			}
			written_before[next % 64] = last_write;
			assert_int_equal(sk_post_send(a, NULL, &next, 8,
						      SK_POST_UNSIGNALED, NULL),
					 SK_OK);
		}
		while (expect < next) {
			struct sk_wc wc;
			int64_t deadline = now_ms() + TIMEOUT_MS;
			int n = 0;

			while (n == 0 && now_ms() < deadline) {
				struct sk_wc w1;

				assert_true(sk_dev_poll(d1, &w1, 1) == 0);
				n = sk_dev_poll(d2, &wc, 1);
			}
			assert_int_equal(n, 1);
			assert_int_equal(wc.status, SK_OK);
			assert_int_equal(wc.opcode, SK_OP_RECV);
			{
				uint64_t got;
				unsigned slot = (unsigned)(uintptr_t)wc.ctx;

				memcpy(&got, wc.data ? wc.data
						     : (void *)(rbuf + slot * 8),
				       8);
				if (wc.data)
					sk_ep_release(b, wc.data);
				assert_int_equal(got, expect);
				/* Every write posted before it is visible. */
				assert_true(((volatile uint64_t *)
						     target)[WORDS - 1] >=
					    written_before[expect % 64]);
				assert_int_equal(
					sk_post_recv(b, rmr, rbuf + slot * 8,
						     64, wc.ctx),
					SK_OK);
			}
			expect++;
		}
	}
	sk_rkey_destroy(rkey);
	sk_ep_destroy(a);
	sk_ep_destroy(b);
	sk_mr_dereg(smr);
	sk_mr_dereg(rmr);
	sk_mr_dereg(tmr);
	sk_dev_close(d1);
	sk_dev_close(d2);
	free(target);
	free(rbuf);
	free(src);
}

/* The ucx memory descriptor body (verbs/ucx/ucx_key.c). */
struct ucx_mr_body {
	uint64_t addr, len;
	uint32_t access, id;
	uint64_t cookie;
	uint16_t klen;
	const void *kbuf;
	size_t kbuf_len;
	uint8_t extra;
};

static void ucx_mr_body_read(const uint8_t *blob, size_t len,
			     struct ucx_mr_body *b)
{
	struct sk_wire_reader r;

	assert_int_equal(sk_wire_open(blob, len, SK_WIRE_MAGIC_MR,
				      SK_WIRE_PROV_UCX, "test", &r),
			 SK_OK);
	memset(b, 0, sizeof(*b));
	b->addr = sk_wire_get_u64(&r);
	b->len = sk_wire_get_u64(&r);
	b->access = sk_wire_get_u32(&r);
	b->id = sk_wire_get_u32(&r);
	b->cookie = sk_wire_get_u64(&r);
	b->klen = sk_wire_get_u16(&r);
	b->kbuf = sk_wire_get_bytes(&r, b->klen);
	b->kbuf_len = b->klen;
	assert_int_equal(sk_wire_end(&r, "test"), SK_OK);
}

static size_t ucx_mr_body_write(const struct ucx_mr_body *b, uint8_t *buf,
				size_t cap)
{
	struct sk_wire_writer w;
	size_t len = 0;

	sk_wire_begin(&w, buf, cap);
	sk_wire_put_u64(&w, b->addr);
	sk_wire_put_u64(&w, b->len);
	sk_wire_put_u32(&w, b->access);
	sk_wire_put_u32(&w, b->id);
	sk_wire_put_u64(&w, b->cookie);
	sk_wire_put_u16(&w, b->klen);
	sk_wire_put_bytes(&w, b->kbuf, b->kbuf_len);
	for (unsigned i = 0; i < b->extra; i++)
		sk_wire_put_u8(&w, 0);
	assert_int_equal(
		sk_wire_finish(&w, SK_WIRE_MAGIC_MR, SK_WIRE_PROV_UCX, &len),
		SK_OK);
	return len;
}

static void expect_unpack(struct sk_ep *ep, const void *blob, size_t len,
			  sk_status_t want, const char *what)
{
	struct sk_rkey *rkey = (struct sk_rkey *)&rkey; /* stays untouched */
	void *p = dup_blob(blob, len);
	sk_status_t st = sk_rkey_unpack(ep, p, len, &rkey);

	free(p);
	if (st != want)
		fail_msg("unpack of %s: '%s', expected '%s'", what,
			 sk_status_str(st), sk_status_str(want));
	if (st == SK_OK)
		sk_rkey_destroy(rkey);
	else
		assert_ptr_equal(rkey, (struct sk_rkey *)&rkey);
}

/* Write through a freshly imported key and read it back: the endpoint and
 * the import path both still work. */
static void write_read_round(struct fixture *f, uint8_t seed)
{
	char msg[32], *back = (char *)f->buf + 2048;
	struct sk_rkey *rkey;
	struct sk_wc wc;
	uint64_t raddr;

	assert_int_equal(sk_rkey_unpack(f->a, f->desc, f->desc_len, &rkey),
			 SK_OK);
	assert_true(sk_rkey_addr(rkey) == (uintptr_t)f->target);
	assert_true(sk_rkey_len(rkey) == BUF_LEN);
	assert_int_equal(sk_rkey_access(rkey) & (SK_ACCESS_REMOTE_READ |
						 SK_ACCESS_REMOTE_WRITE),
			 SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE);
	raddr = sk_rkey_addr(rkey) + 64;
	memset(msg, seed, sizeof(msg));
	assert_int_equal(sk_post_write(f->a, NULL, msg, sizeof(msg), rkey,
				       raddr, 0, msg),
			 SK_OK);
	wait_wc(f, &wc, 1);
	assert_int_equal(wc.status, SK_OK);
	assert_int_equal(wc.opcode, SK_OP_WRITE);
	assert_memory_equal((char *)f->target + 64, msg, sizeof(msg));
	memset(back, 0, sizeof(msg));
	assert_int_equal(sk_post_read(f->a, f->mr, back, sizeof(msg), rkey,
				      raddr, 0, back),
			 SK_OK);
	wait_wc(f, &wc, 1);
	assert_int_equal(wc.status, SK_OK);
	assert_int_equal(wc.opcode, SK_OP_READ);
	assert_memory_equal(back, msg, sizeof(msg));
	sk_rkey_destroy(rkey);
}

static void test_rkey_unpack_bad_blobs(void **state)
{
	struct fixture *f = *state;
	const uint8_t *good = f->desc;
	size_t len = f->desc_len;
	uint8_t blob[SK_BLOB_MAX + 16];
	struct ucx_mr_body body, v;
	struct sk_rkey *rkey;

	/* Not connected yet. */
	assert_int_equal(sk_rkey_unpack(f->a, good, len, &rkey),
			 SK_ERR_NOT_CONNECTED);
	connect_both(f);
	write_read_round(f, 1);

	for (size_t i = 0; i < len; i++)
		expect_unpack(f->a, good, i, SK_ERR_MALFORMED, "a truncation");
	memcpy(blob, good, len);
	blob[4] = 0;
	expect_unpack(f->a, blob, len, SK_ERR_VERSION, "version 0");
	memcpy(blob, good, len);
	blob[len] = 0;
	expect_unpack(f->a, blob, len + 1, SK_ERR_MALFORMED, "a trailing byte");
	expect_unpack(f->a, blob,
		      rdma_mr_blob(blob, sizeof(blob), (uintptr_t)f->target),
		      SK_ERR_WRONG_PROVIDER, "an rdma descriptor");
	expect_unpack(f->a, f->addr_b, f->addr_b_len, SK_ERR_MALFORMED,
		      "an endpoint address");
	for (size_t i = SK_WIRE_HDR_LEN; i < len; i++) {
		memcpy(blob, good, len);
		blob[i] ^= 0x04;
		expect_unpack(f->a, blob, len, SK_ERR_MALFORMED,
			      "a flipped bit");
	}

	/* Well-sealed, but the body is wrong. */
	ucx_mr_body_read(good, len, &body);
	v = body;
	v.len = 0;
	expect_unpack(f->a, blob, ucx_mr_body_write(&v, blob, sizeof(blob)),
		      SK_ERR_MALFORMED, "an empty range");
	v = body;
	v.addr = UINT64_MAX - 16;
	expect_unpack(f->a, blob, ucx_mr_body_write(&v, blob, sizeof(blob)),
		      SK_ERR_MALFORMED, "a wrapping range");
	v = body;
	v.access |= 0x100;
	expect_unpack(f->a, blob, ucx_mr_body_write(&v, blob, sizeof(blob)),
		      SK_ERR_MALFORMED, "unknown rights");
	v = body;
	v.klen = (uint16_t)(body.klen + 1);
	expect_unpack(f->a, blob, ucx_mr_body_write(&v, blob, sizeof(blob)),
		      SK_ERR_MALFORMED, "a long key length");
	v = body;
	v.extra = 3;
	expect_unpack(f->a, blob, ucx_mr_body_write(&v, blob, sizeof(blob)),
		      SK_ERR_MALFORMED, "trailing bytes in the body");

	/* After all that, the endpoint and the pair still work. */
	write_read_round(f, 2);
	send_recv_round(f, 3);
}

/* A well-formed descriptor the target did not issue is accepted (as a NIC
 * takes any rkey) and the operation fails at the target's check. */
static void test_rkey_forged(void **state)
{
	struct fixture *f = *state;
	uint8_t blob[SK_BLOB_MAX];
	struct ucx_mr_body body;
	struct sk_rkey *rkey;
	struct sk_wc wc;
	size_t len;

	connect_both(f);
	ucx_mr_body_read(f->desc, f->desc_len, &body);
	body.cookie ^= 1;
	len = ucx_mr_body_write(&body, blob, sizeof(blob));
	assert_int_equal(sk_rkey_unpack(f->a, blob, len, &rkey), SK_OK);
	memset(f->target, 0x11, 64);
	assert_int_equal(sk_post_write(f->a, NULL, "forged", 6, rkey,
				       sk_rkey_addr(rkey), 0, NULL),
			 SK_OK);
	wait_wc(f, &wc, 1);
	assert_int_equal(wc.status, SK_ERR_REMOTE_ACCESS);
	assert_int_equal(((uint8_t *)f->target)[0], 0x11);
	sk_rkey_destroy(rkey);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ulong_accepts, clean_env),
		cmocka_unit_test_setup(test_ulong_rejects, clean_env),
		cmocka_unit_test_setup(test_ulong_range, clean_env),
		cmocka_unit_test_setup(test_ulong_default, clean_env),
		cmocka_unit_test_setup(test_str_default_vs_env, clean_env),
		cmocka_unit_test_setup(test_table_sane, clean_env),
		cmocka_unit_test_setup(test_str_unknown_aborts, clean_env),
		cmocka_unit_test_setup(test_register_twice_aborts, clean_env),
		cmocka_unit_test_setup(test_print, clean_env),
		cmocka_unit_test_setup(test_open_bogus_provider, clean_env),
		cmocka_unit_test_setup(test_open_explicit_provider, clean_env),
		cmocka_unit_test_setup(test_open_bad_depth, clean_env),
		cmocka_unit_test_setup(test_open_bad_ring, clean_env),
		cmocka_unit_test_setup(test_check_agrees_with_open, clean_env),
		cmocka_unit_test_setup(test_open_bad_device, clean_env),
		cmocka_unit_test_setup(test_open_rdma_without_device,
				       clean_env),
		cmocka_unit_test(test_ring_write_then_send),
		cmocka_unit_test_setup_teardown(test_ring_not_a_ring,
						ucx_setup, ucx_teardown),
		cmocka_unit_test_setup_teardown(test_ring_no_process,
						ucx_setup, ucx_teardown),
		cmocka_unit_test_setup_teardown(test_ring_bad_size,
						ucx_setup, ucx_teardown),
		cmocka_unit_test_setup_teardown(test_ring_other_host,
						ucx_setup, ucx_teardown),
		cmocka_unit_test_setup_teardown(test_connect_bad_blobs,
						ucx_setup, ucx_teardown),
		cmocka_unit_test_setup_teardown(test_rkey_unpack_bad_blobs,
						ucx_setup, ucx_teardown),
		cmocka_unit_test_setup_teardown(test_rkey_forged, ucx_setup,
						ucx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
