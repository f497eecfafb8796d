/*
 * Unit tests of skrun's option, --host and hostfile parsers and of the
 * placement of nodes on hosts (launcher/opts.c). Every option in both
 * spellings, and then what a user or a file could give instead: bad
 * numbers, numbers too big to fit, junk after them, names that are not
 * host or variable names, NUL bytes and CRLF in hostfiles. Each refusal is
 * checked for its exact message where opts.h or mpirun fixes one, and for
 * leaving the host list exactly as it was, since a caller keeps using it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "opts.h"
#include "parse.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

/* argv is "skrun" and the words given; NULL-terminated as main's is. */
#define ARGV(...) ((char *[]){"skrun", __VA_ARGS__, NULL})
#define ARGC(v)	  ((int)(sizeof(v) / sizeof((v)[0])) - 1)

/* Parse the words after "skrun"; the arrays live until the block ends. */
#define PARSE(o, err, ...)                                                     \
	sk_opts_parse(ARGC(ARGV(__VA_ARGS__)), ARGV(__VA_ARGS__), o, err,      \
		      sizeof(err))

/* Every error message is one line of printable text. */
static void assert_one_line(const char *err)
{
	assert_true(err[0] != '\0');
	for (const char *p = err; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

/* A failed parse leaves nothing to free: the struct is all zero. */
static void assert_opts_zero(const struct sk_job_opts *o)
{
	static const struct sk_job_opts zero;

	assert_memory_equal(o, &zero, sizeof(zero));
}

/*
 * Parse @argv (argv[0] included) and expect a refusal: the message
 * exactly @want, or containing it when @substr.
 */
static void opts_err(char **argv, const char *want, bool substr)
{
	struct sk_job_opts o;
	char err[256];
	int argc = 0;

	while (argv[argc])
		argc++;
	memset(err, 0, sizeof(err));
	assert_int_equal(sk_opts_parse(argc, argv, &o, err, sizeof(err)), -1);
	if (substr) {
		if (strstr(err, want) == NULL)
			fail_msg("error '%s' does not contain '%s'", err, want);
	} else {
		assert_string_equal(err, want);
	}
	assert_one_line(err);
	assert_opts_zero(&o);
	sk_opts_cleanup(&o); /* safe on the zeroed struct */
}

#define OPTS_ERR(want, ...)	opts_err(ARGV(__VA_ARGS__), want, false)
#define OPTS_ERR_HAS(want, ...) opts_err(ARGV(__VA_ARGS__), want, true)

/* The list as "name:slots name:slots", to compare in one go. */
static const char *list_str(const struct sk_host_list *list, char *buf,
			    size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < list->count && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s:%u",
					i ? " " : "", list->hosts[i].name,
					list->hosts[i].slots);
	return buf;
}

#define assert_list(list, want)                                                \
	do {                                                                   \
		char lbuf_[4096];                                              \
		assert_string_equal(list_str(list, lbuf_, sizeof(lbuf_)),      \
				    want);                                     \
	} while (0)

/* A deep copy of a list, to check a failed parse left it alone. */
struct snapshot {
	struct sk_host *hosts_ptr;
	size_t count;
	struct sk_host *copy;
	char **names;
};

static void snap_take(struct snapshot *s, const struct sk_host_list *list)
{
	s->hosts_ptr = list->hosts;
	s->count = list->count;
	s->copy = calloc(list->count + 1, sizeof(*s->copy));
	s->names = calloc(list->count + 1, sizeof(*s->names));
	assert_non_null(s->copy);
	assert_non_null(s->names);
	for (size_t i = 0; i < list->count; i++) {
		s->copy[i] = list->hosts[i];
		s->names[i] = strdup(list->hosts[i].name);
		assert_non_null(s->names[i]);
	}
}

/* Same array, same entries, same name pointers and bytes. */
static void snap_check(struct snapshot *s, const struct sk_host_list *list)
{
	assert_ptr_equal(list->hosts, s->hosts_ptr);
	assert_int_equal(list->count, s->count);
	for (size_t i = 0; i < s->count; i++) {
		assert_ptr_equal(list->hosts[i].name, s->copy[i].name);
		assert_int_equal(list->hosts[i].slots, s->copy[i].slots);
		assert_string_equal(list->hosts[i].name, s->names[i]);
	}
	for (size_t i = 0; i < s->count; i++)
		free(s->names[i]);
	free(s->names);
	free(s->copy);
}

/* A list to start from, so that failures have something to keep. */
static void list_seed(struct sk_host_list *list)
{
	char err[256];

	memset(list, 0, sizeof(*list));
	assert_int_equal(sk_hosts_parse("a:2,b", list, err, sizeof(err)), 0);
	assert_list(list, "a:2 b:1");
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);

		assert_true(r > 0);
		p += r;
		len -= (size_t)r;
	}
}

/* A temporary file holding @len bytes of @text; its path in @path. */
static void tmp_file(char *path, size_t pathlen, const void *text, size_t len)
{
	int fd;

	snprintf(path, pathlen, "/tmp/test_opts.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	write_all(fd, text, len);
	close(fd);
}

/* ---- sk_opts_parse: the program ---- */

static void test_opts_minimal(void **state)
{
	struct sk_job_opts o;
	char err[256];
	char **argv = ARGV("prog");

	(void)state;
	assert_int_equal(sk_opts_parse(2, argv, &o, err, sizeof(err)), 0);
	assert_int_equal(o.argc, 1);
	assert_ptr_equal(o.argv, argv + 1);
	assert_string_equal(o.argv[0], "prog");
	assert_null(o.argv[1]);
	/* Everything else at its default. */
	assert_int_equal(o.np, 0);
	assert_int_equal(o.hosts.count, 0);
	assert_null(o.hosts.hosts);
	assert_null(o.hostfile);
	assert_null(o.provider);
	assert_null(o.root);
	assert_false(o.tag_output);
	assert_false(o.report_bindings);
	assert_false(o.oversubscribe);
	assert_int_equal(o.bind, SK_BIND_NONE);
	assert_true(o.timeout_s == 0);
	assert_null(o.env);
	assert_int_equal(o.nenv, 0);
	assert_false(o.help);
	assert_false(o.version);
	sk_opts_cleanup(&o);
}

/* The first non-option word starts the program; the rest is its own. */
static void test_opts_program_args(void **state)
{
	char *argv[] = {"skrun",  "-n", "2", "ls", "-l",
			"--frob", "-n", "7", "--", NULL};
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(sk_opts_parse(ARGC(argv), argv, &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.np, 2);
	assert_int_equal(o.argc, 6);
	assert_ptr_equal(o.argv, argv + 3);
	assert_string_equal(o.argv[1], "-l");
	assert_string_equal(o.argv[5], "--");
	sk_opts_cleanup(&o);
}

static void test_opts_double_dash(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	/* After "--" even an option-looking word is the program. */
	assert_int_equal(PARSE(&o, err, "--tag-output", "--", "-weird", "-n"),
			 0);
	assert_true(o.tag_output);
	assert_int_equal(o.argc, 2);
	assert_string_equal(o.argv[0], "-weird");
	assert_string_equal(o.argv[1], "-n");
	sk_opts_cleanup(&o);

	/* A second "--" belongs to the program. */
	assert_int_equal(PARSE(&o, err, "--", "--", "x"), 0);
	assert_int_equal(o.argc, 2);
	assert_string_equal(o.argv[0], "--");
	sk_opts_cleanup(&o);

	OPTS_ERR("missing program to run", "-n", "2", "--");
	OPTS_ERR("missing program to run", "--");
}

static void test_opts_missing_program(void **state)
{
	struct sk_job_opts o;
	char err[256];
	char *argv0[] = {"skrun", NULL};

	(void)state;
	OPTS_ERR("missing program to run", "-n", "2");
	OPTS_ERR("missing program to run", "--host", "a", "--tag-output");
	assert_int_equal(sk_opts_parse(1, argv0, &o, err, sizeof(err)), -1);
	assert_string_equal(err, "missing program to run");
	assert_int_equal(sk_opts_parse(0, NULL, &o, err, sizeof(err)), -1);
	assert_string_equal(err, "missing program to run");
	OPTS_ERR("empty program name", "");
	OPTS_ERR("empty program name", "-n", "1", "--", "");
}

static void test_opts_help_version(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&o, err, "-h"), 0);
	assert_true(o.help);
	assert_false(o.version);
	assert_null(o.argv);
	assert_int_equal(o.argc, 0);
	sk_opts_cleanup(&o);

	assert_int_equal(PARSE(&o, err, "--help"), 0);
	assert_true(o.help);
	sk_opts_cleanup(&o);

	assert_int_equal(PARSE(&o, err, "-help"), 0);
	assert_true(o.help);
	sk_opts_cleanup(&o);

	assert_int_equal(PARSE(&o, err, "--version"), 0);
	assert_true(o.version);
	assert_false(o.help);
	sk_opts_cleanup(&o);
	/* mpirun's -V, and -v as issue 9 asked. */
	assert_int_equal(PARSE(&o, err, "-V"), 0);
	assert_true(o.version);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-v"), 0);
	assert_true(o.version);
	sk_opts_cleanup(&o);
	OPTS_ERR("-v takes no value", "-v=1");

	/* With a program too, both are still only flags. */
	assert_int_equal(PARSE(&o, err, "-n", "3", "--help", "prog"), 0);
	assert_true(o.help);
	assert_int_equal(o.np, 3);
	assert_int_equal(o.argc, 1);
	sk_opts_cleanup(&o);

	/* Other errors are still errors. */
	OPTS_ERR("unknown option '--frob'", "--help", "--frob");
	OPTS_ERR("-n: 'x' is not a number of nodes", "--version", "-n", "x");
	OPTS_ERR("--help takes no value", "--help=1");

	assert_non_null(strstr(sk_opts_usage(), "Usage: skrun"));
	assert_non_null(strstr(sk_opts_usage(), "--oversubscribe"));
	assert_non_null(strstr(sk_opts_usage(), "--hostfile"));
	assert_non_null(strstr(sk_opts_usage(), "--map-by"));
	assert_non_null(strstr(sk_opts_usage(), "--npernode"));
	assert_non_null(strstr(sk_opts_usage(), "--wdir"));
	assert_non_null(strstr(sk_opts_usage(), "--output-filename"));
	assert_non_null(strstr(sk_opts_usage(), "--merge-stderr-to-stdout"));
}

static void test_opts_unknown(void **state)
{
	(void)state;
	OPTS_ERR("unknown option '--frob'", "--frob", "prog");
	OPTS_ERR("unknown option '--frob'", "--frob=3", "prog");
	OPTS_ERR("unknown option '-l'", "-l", "prog");
	OPTS_ERR("unknown option '-n4'", "-n4", "prog");
	OPTS_ERR("unknown option '---n'", "---n", "4", "prog");
	OPTS_ERR("unknown option '-'", "-", "prog");
	OPTS_ERR("unknown option '--=x'", "--=x", "prog");
	OPTS_ERR("unknown option '--HOST'", "--HOST", "a", "prog");
	OPTS_ERR("unknown option '-npersocket'", "-npersocket", "2", "prog");
	OPTS_ERR("unknown option '--bind'", "--bind", "core", "prog");
}

/* ---- sk_opts_parse: each option ---- */

static void test_opts_np_spellings(void **state)
{
	static const char *const spell[] = {"-n",   "--n", "-np",
					    "--np", "-c",  "--c"};
	struct sk_job_opts o;
	char err[256], eq[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(spell); i++) {
		char **argv = ARGV((char *)spell[i], "12", "prog");

		assert_int_equal(sk_opts_parse(4, argv, &o, err, sizeof(err)),
				 0);
		assert_int_equal(o.np, 12);
		assert_int_equal(o.argc, 1);
		sk_opts_cleanup(&o);

		snprintf(eq, sizeof(eq), "%s=34", spell[i]);
		argv = ARGV(eq, "prog");
		assert_int_equal(sk_opts_parse(3, argv, &o, err, sizeof(err)),
				 0);
		assert_int_equal(o.np, 34);
		sk_opts_cleanup(&o);
	}
	/* Range ends, and leading zeros are still decimal. */
	assert_int_equal(PARSE(&o, err, "-n", "1", "p"), 0);
	assert_int_equal(o.np, 1);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-n", "4096", "p"), 0);
	assert_int_equal(o.np, SK_OPTS_MAX_NODES);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-n", "010", "p"), 0);
	assert_int_equal(o.np, 10);
	sk_opts_cleanup(&o);
	/* The last one given counts. */
	assert_int_equal(PARSE(&o, err, "-n", "2", "-np", "3", "p"), 0);
	assert_int_equal(o.np, 3);
	sk_opts_cleanup(&o);
}

static void test_opts_np_errors(void **state)
{
	(void)state;
	OPTS_ERR("-n: 'abc' is not a number of nodes", "-n", "abc", "p");
	OPTS_ERR("-np: 'abc' is not a number of nodes", "-np", "abc", "p");
	OPTS_ERR("--np: 'abc' is not a number of nodes", "--np=abc", "p");
	OPTS_ERR("-n: '' is not a number of nodes", "-n", "", "p");
	OPTS_ERR("-n: '' is not a number of nodes", "-n=", "p");
	OPTS_ERR("-n: '-1' is not a number of nodes", "-n", "-1", "p");
	OPTS_ERR("-n: '+1' is not a number of nodes", "-n", "+1", "p");
	OPTS_ERR("-n: ' 1' is not a number of nodes", "-n", " 1", "p");
	OPTS_ERR("-n: '1 ' is not a number of nodes", "-n", "1 ", "p");
	OPTS_ERR("-n: '4x' is not a number of nodes", "-n", "4x", "p");
	OPTS_ERR("-n: '4k' is not a number of nodes", "-n", "4k", "p");
	OPTS_ERR("-n: '1.5' is not a number of nodes", "-n", "1.5", "p");
	OPTS_ERR("-n: '0x10' is not a number of nodes", "-n", "0x10", "p");
	OPTS_ERR("-c: '0' is out of range (1 to 4096)", "-c", "0", "p");
	OPTS_ERR("-n: '4097' is out of range (1 to 4096)", "-n", "4097", "p");
	/* Far past 2^64: refused, not wrapped. */
	OPTS_ERR("-n: '18446744073709551617' is out of range (1 to 4096)", "-n",
		 "18446744073709551617", "p");
	OPTS_ERR_HAS("is out of range", "-n",
		     "99999999999999999999999999999999999999", "p");
	OPTS_ERR("-n: missing value", "-n");
	OPTS_ERR("--np: missing value", "--np");
}

static void test_opts_host(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&o, err, "--host", "h1:2,h2", "p"), 0);
	assert_list(&o.hosts, "h1:2 h2:1");
	sk_opts_cleanup(&o);

	/* Every spelling, repeated: appended in order. */
	assert_int_equal(PARSE(&o, err, "--host", "a", "-H", "b:3",
			       "--host=c:2", "-host", "d", "-H=e", "p"),
			 0);
	assert_list(&o.hosts, "a:1 b:3 c:2 d:1 e:1");
	sk_opts_cleanup(&o);

	/* A host named again gets the slots added, as in Open MPI. */
	assert_int_equal(PARSE(&o, err, "--host", "a,b", "--host", "a:2", "p"),
			 0);
	assert_list(&o.hosts, "a:3 b:1");
	sk_opts_cleanup(&o);

	OPTS_ERR("--host: missing value", "--host");
	OPTS_ERR("--host: empty host list", "--host", "", "p");
	OPTS_ERR("--host: 'a_b' is not a valid host name", "--host", "a_b",
		 "p");
	/* A bad second --host frees the first one's hosts (ASan checks). */
	OPTS_ERR("--host: 'x:0': slot count '0' is out of range (1 to 4096)",
		 "--host", "a,b,c", "--host", "x:0", "p");
}

static void test_opts_provider(void **state)
{
	static const char *const good[] = {"rdma", "ucx", "auto"};
	struct sk_job_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char **argv = ARGV("--provider", (char *)good[i], "p");

		assert_int_equal(sk_opts_parse(4, argv, &o, err, sizeof(err)),
				 0);
		assert_string_equal(o.provider, good[i]);
		assert_ptr_equal(o.provider, argv[2]); /* borrowed */
		sk_opts_cleanup(&o);
	}
	assert_int_equal(PARSE(&o, err, "--provider=ucx", "p"), 0);
	assert_string_equal(o.provider, "ucx");
	sk_opts_cleanup(&o);

	OPTS_ERR("--provider: 'verbs' is not a provider (rdma, ucx or auto)",
		 "--provider", "verbs", "p");
	OPTS_ERR("--provider: 'RDMA' is not a provider (rdma, ucx or auto)",
		 "--provider=RDMA", "p");
	OPTS_ERR("--provider: '' is not a provider (rdma, ucx or auto)",
		 "--provider", "", "p");
	OPTS_ERR("--provider: missing value", "--provider");
}

static void test_opts_flags(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&o, err, "--tag-output", "--report-bindings",
			       "--oversubscribe", "p"),
			 0);
	assert_true(o.tag_output);
	assert_true(o.report_bindings);
	assert_true(o.oversubscribe);
	sk_opts_cleanup(&o);

	/* Open MPI 4's single-dash spellings. */
	assert_int_equal(PARSE(&o, err, "-tag-output", "-report-bindings",
			       "-oversubscribe", "p"),
			 0);
	assert_true(o.tag_output && o.report_bindings && o.oversubscribe);
	sk_opts_cleanup(&o);

	/* mpirun's output and map flags; its root permission, which
	 * skrun does not need; its MCA parameters, which are refused. */
	assert_int_equal(PARSE(&o, err, "--timestamp-output", "-display-map",
			       "--allow-run-as-root", "p"),
			 0);
	assert_true(o.timestamp_output && o.display_map);
	assert_false(o.tag_output);
	sk_opts_cleanup(&o);
	OPTS_ERR("--mca: Open MPI's MCA parameters mean nothing to Skiff; its "
		 "settings are SKIFF_* variables (-x VAR=VALUE for the nodes)",
		 "--mca", "btl", "self", "p");
	OPTS_ERR("-gmca: Open MPI's MCA parameters mean nothing to Skiff; its "
		 "settings are SKIFF_* variables (-x VAR=VALUE for the nodes)",
		 "-gmca", "btl", "self", "p");
	OPTS_ERR("--allow-run-as-root takes no value", "--allow-run-as-root=1",
		 "p");
	/* --map-by ppr:N:node is -N N; other ppr forms are refused. */
	assert_int_equal(PARSE(&o, err, "--map-by", "ppr:3:node", "p"), 0);
	assert_int_equal(o.npernode, 3);
	assert_false(o.map_by_given);
	sk_opts_cleanup(&o);
	OPTS_ERR("--map-by: 'ppr:2:socket': only ppr:N:node is supported (N "
		 "nodes on each host)", "--map-by", "ppr:2:socket", "p");
	OPTS_ERR("--map-by: '0' is out of range (1 to 4096)", "--map-by",
		 "ppr:0:node", "p");
	OPTS_ERR("-N/--npernode and --map-by ppr:N:node cannot be combined "
		 "(they say the same)", "--map-by", "ppr:1:node", "-N", "1",
		 "p");
	OPTS_ERR("--map-by given twice (ppr:N:node and another)", "--map-by",
		 "slot", "--map-by", "ppr:1:node", "p");
	/* --stdin: a rank or none; all is refused. */
	assert_int_equal(PARSE(&o, err, "p"), 0);
	assert_int_equal(o.stdin_rank, 0);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "--stdin", "7", "p"), 0);
	assert_int_equal(o.stdin_rank, 7);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-stdin=none", "p"), 0);
	assert_int_equal(o.stdin_rank, -1);
	sk_opts_cleanup(&o);
	OPTS_ERR("--stdin all: not supported: one node reads stdin (a rank, "
		 "or none)", "--stdin", "all", "p");
	OPTS_ERR("--stdin: '-1' is not a rank (0 to 4095) or none", "--stdin",
		 "-1", "p");
	OPTS_ERR("--stdin: '4096' is not a rank (0 to 4095) or none",
		 "--stdin", "4096", "p");

	OPTS_ERR("--tag-output takes no value", "--tag-output=yes", "p");
	OPTS_ERR("--oversubscribe takes no value", "--oversubscribe=", "p");
	OPTS_ERR("-report-bindings takes no value", "-report-bindings=1", "p");
}

static void test_opts_env(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&o, err, "-x", "PATH", "-x", "A=1", "-x",
			       "_B=", "-x", "C=x=y z", "-x=D9", "p"),
			 0);
	assert_int_equal(o.nenv, 5);
	assert_string_equal(o.env[0], "PATH");
	assert_string_equal(o.env[1], "A=1");
	assert_string_equal(o.env[2], "_B=");
	assert_string_equal(o.env[3], "C=x=y z");
	assert_string_equal(o.env[4], "D9");
	sk_opts_cleanup(&o);

	OPTS_ERR("-x: '1A' is not a variable name", "-x", "1A", "p");
	OPTS_ERR("-x: '' is not a variable name", "-x", "", "p");
	OPTS_ERR("-x: '' is not a variable name", "-x", "=val", "p");
	OPTS_ERR("-x: 'A-B' is not a variable name", "-x", "A-B=1", "p");
	OPTS_ERR("-x: 'A B' is not a variable name", "-x", "A B", "p");
	OPTS_ERR("-x: 'A?' is not a variable name", "-x", "A\n", "p");
	OPTS_ERR("-x: '?\?' is not a variable name", "-x", "\xc3\xa9", "p");
	OPTS_ERR("-x: missing value", "-x");
	/* Earlier -x copies are freed on the error (ASan checks). */
	OPTS_ERR("-x: '9' is not a variable name", "-x", "A", "-x", "B=2", "-x",
		 "9", "p");
}

static void test_opts_env_max(void **state)
{
	int argc = 1 + 2 * (SK_OPTS_MAX_ENV + 1) + 1;
	char **argv = calloc((size_t)argc + 1, sizeof(*argv));
	char names[SK_OPTS_MAX_ENV + 1][16];
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_non_null(argv);
	argv[0] = "skrun";
	for (int i = 0; i <= SK_OPTS_MAX_ENV; i++) {
		snprintf(names[i], sizeof(names[i]), "V%d=%d", i, i);
		argv[1 + 2 * i] = "-x";
		argv[2 + 2 * i] = names[i];
	}
	argv[argc - 1] = "prog";
	/* The largest number of -x is taken... */
	argv[argc - 3] = "prog";
	assert_int_equal(sk_opts_parse(argc - 2, argv, &o, err, sizeof(err)),
			 0);
	assert_int_equal(o.nenv, SK_OPTS_MAX_ENV);
	assert_string_equal(o.env[SK_OPTS_MAX_ENV - 1], "V255=255");
	sk_opts_cleanup(&o);
	/* ...one more is not. */
	argv[argc - 3] = "-x";
	assert_int_equal(sk_opts_parse(argc, argv, &o, err, sizeof(err)), -1);
	assert_string_equal(err, "-x: more than 256 variables");
	assert_opts_zero(&o);
	free(argv);
}

static void test_opts_timeout(void **state)
{
	static const struct {
		const char *arg;
		double want;
	} good[] = {
		{"30", 30},	     {"0.5", 0.5},	 {".5", 0.5},
		{"5.", 5},	     {"1e3", 1000},	 {"1E3", 1000},
		{"2.5e-1", 0.25},    {"1e+2", 100},	 {"0001", 1},
		{"1000000000", 1e9}, {"0.000001", 1e-6},
	};
	static const char *const bad[] = {
		"0",	 "0.0",	 "-1",	     "+1",  "-0", "nan", "NaN",
		"inf",	 "-inf", "infinity", "1s",  " 1", "1 ",	 "0x10",
		"0x1p3", "",	 ".",	     "e5",  "1e", "1e+", "1..2",
		"1e5.5", "1,5",	 "1e-400",   "--1",
	};
	struct sk_job_opts o;
	char err[256], want[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		char **argv = ARGV("--timeout", (char *)good[i].arg, "p");

		assert_int_equal(sk_opts_parse(4, argv, &o, err, sizeof(err)),
				 0);
		assert_true(o.timeout_s == good[i].want);
		sk_opts_cleanup(&o);
	}
	assert_int_equal(PARSE(&o, err, "--timeout=2", "p"), 0);
	assert_true(o.timeout_s == 2);
	sk_opts_cleanup(&o);

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(want, sizeof(want),
			 "--timeout: '%s' is not a positive number of seconds",
			 bad[i]);
		opts_err(ARGV("--timeout", (char *)bad[i], "p"), want, false);
	}
	OPTS_ERR("--timeout: '1e10' is more than 1000000000 seconds",
		 "--timeout", "1e10", "p");
	OPTS_ERR("--timeout: '1e999' is more than 1000000000 seconds",
		 "--timeout", "1e999", "p");
	OPTS_ERR("--timeout: missing value", "--timeout");
}

static void test_opts_bind_to(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&o, err, "--bind-to", "core", "p"), 0);
	assert_int_equal(o.bind, SK_BIND_CORE);
	sk_opts_cleanup(&o);
	assert_int_equal(
		PARSE(&o, err, "--bind-to=core", "--bind-to=none", "p"), 0);
	assert_int_equal(o.bind, SK_BIND_NONE);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-bind-to", "core", "p"), 0);
	assert_int_equal(o.bind, SK_BIND_CORE);
	assert_true(o.bind_given);
	assert_false(o.bind_overload);
	sk_opts_cleanup(&o);
	assert_int_equal(
		PARSE(&o, err, "--bind-to", "core:overload-allowed", "p"), 0);
	assert_int_equal(o.bind, SK_BIND_CORE);
	assert_true(o.bind_overload);
	sk_opts_cleanup(&o);
	/* The last one wins, its modifier too. */
	assert_int_equal(PARSE(&o, err, "--bind-to", "core:overload-allowed",
			       "--bind-to", "core", "p"),
			 0);
	assert_false(o.bind_overload);
	sk_opts_cleanup(&o);

#define BIND_ERR(v)                                                            \
	"--bind-to: '" v "' is not supported (core, "                          \
	"core:overload-allowed or none)"
	OPTS_ERR(BIND_ERR("socket"), "--bind-to", "socket", "p");
	OPTS_ERR(BIND_ERR("Core"), "--bind-to=Core", "p");
	OPTS_ERR(BIND_ERR(""), "--bind-to", "", "p");
	OPTS_ERR(BIND_ERR("core:"), "--bind-to", "core:", "p");
	OPTS_ERR(BIND_ERR("none:overload-allowed"), "--bind-to",
		 "none:overload-allowed", "p");
#undef BIND_ERR
	OPTS_ERR("--bind-to: missing value", "--bind-to");
}

static void test_opts_map_by(void **state)
{
	static const struct {
		const char *val;
		enum sk_map map;
	} good[] = {{"slot", SK_MAP_SLOT},
		    {"node", SK_MAP_NODE},
		    {"core", SK_MAP_CORE}};
	struct sk_job_opts o;
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		assert_int_equal(
			PARSE(&o, err, "--map-by", (char *)good[i].val, "p"),
			0);
		assert_int_equal(o.map_by, good[i].map);
		assert_true(o.map_by_given);
		/* By core binds to cores, as mpirun's does... */
		assert_int_equal(o.bind, good[i].map == SK_MAP_CORE
						 ? SK_BIND_CORE
						 : SK_BIND_NONE);
		sk_opts_cleanup(&o);
	}
	assert_int_equal(PARSE(&o, err, "-map-by=node", "p"), 0);
	assert_int_equal(o.map_by, SK_MAP_NODE);
	sk_opts_cleanup(&o);
	/* ...unless --bind-to says otherwise, before or after. */
	assert_int_equal(
		PARSE(&o, err, "--bind-to", "none", "--map-by", "core", "p"),
		0);
	assert_int_equal(o.map_by, SK_MAP_CORE);
	assert_int_equal(o.bind, SK_BIND_NONE);
	sk_opts_cleanup(&o);
	assert_int_equal(
		PARSE(&o, err, "--map-by", "core", "--bind-to", "none", "p"),
		0);
	assert_int_equal(o.bind, SK_BIND_NONE);
	sk_opts_cleanup(&o);

	OPTS_ERR("--map-by: 'socket' is not supported (slot, node, core or ppr:N:node)",
		 "--map-by", "socket", "p");
	OPTS_ERR("--map-by: 'slot:OVERSUBSCRIBE' is not supported (slot, "
		 "node, core or ppr:N:node)",
		 "--map-by", "slot:OVERSUBSCRIBE", "p");
	OPTS_ERR("--map-by: 'Node' is not supported (slot, node, core or ppr:N:node)",
		 "--map-by=Node", "p");
	OPTS_ERR("--map-by: '' is not supported (slot, node, core or ppr:N:node)",
		 "--map-by", "", "p");
	OPTS_ERR("--map-by: missing value", "--map-by");
}

static void test_opts_npernode(void **state)
{
	static const char *const spell[] = {"-N", "--N", "-npernode",
					    "--npernode"};
	struct sk_job_opts o;
	char err[256], eq[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(spell); i++) {
		assert_int_equal(PARSE(&o, err, (char *)spell[i], "3", "p"), 0);
		assert_int_equal(o.npernode, 3);
		sk_opts_cleanup(&o);
		snprintf(eq, sizeof(eq), "%s=4096", spell[i]);
		assert_int_equal(PARSE(&o, err, eq, "p"), 0);
		assert_int_equal(o.npernode, 4096);
		sk_opts_cleanup(&o);
	}
	assert_int_equal(PARSE(&o, err, "--pernode", "p"), 0);
	assert_int_equal(o.npernode, 1);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-N", "2", "-n", "3", "p"), 0);
	assert_int_equal(o.npernode, 2);
	assert_int_equal(o.np, 3);
	sk_opts_cleanup(&o);

	OPTS_ERR("-N: 'x' is not a number of nodes per host", "-N", "x", "p");
	OPTS_ERR("-N: '-1' is not a number of nodes per host", "-N", "-1", "p");
	OPTS_ERR("-N: '2 ' is not a number of nodes per host", "-N", "2 ", "p");
	OPTS_ERR("-N: '' is not a number of nodes per host", "-N", "", "p");
	OPTS_ERR("-N: '0' is out of range (1 to 4096)", "-N", "0", "p");
	OPTS_ERR("--npernode: '4097' is out of range (1 to 4096)", "--npernode",
		 "4097", "p");
	OPTS_ERR("--npernode: '99999999999999999999' is out of range (1 to "
		 "4096)",
		 "--npernode", "99999999999999999999", "p");
	OPTS_ERR("-N: missing value", "-N");
	OPTS_ERR("--pernode takes no value", "--pernode=2", "p");
	OPTS_ERR("-N/--npernode and --map-by cannot be combined (-N places N "
		 "nodes on each host)",
		 "-N", "2", "--map-by", "node", "p");
	OPTS_ERR("-N/--npernode and --map-by cannot be combined (-N places N "
		 "nodes on each host)",
		 "--map-by", "slot", "--pernode", "p");
}

static void test_opts_wdir(void **state)
{
	struct sk_job_opts o;
	char err[256];
	char **argv = ARGV("--wdir", "/srv/job", "p");

	(void)state;
	assert_int_equal(sk_opts_parse(4, argv, &o, err, sizeof(err)), 0);
	assert_ptr_equal(o.wdir, argv[2]);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-wdir", "rel/dir", "p"), 0);
	assert_string_equal(o.wdir, "rel/dir");
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-wd=x", "p"), 0);
	assert_string_equal(o.wdir, "x");
	sk_opts_cleanup(&o);

	/* Whether it exists is skrun's to check, on the host it is for. */
	OPTS_ERR("--wdir: empty path", "--wdir", "", "p");
	OPTS_ERR("-wdir: empty path", "-wdir=", "p");
	OPTS_ERR("--wdir: missing value", "--wdir");
}

static void test_opts_output(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&o, err, "--output-filename", "out", "p"), 0);
	assert_string_equal(o.output_dir, "out");
	assert_false(o.output_nocopy);
	assert_false(o.merge_stderr);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-output-filename=/tmp/o:nocopy",
			       "--merge-stderr-to-stdout", "p"),
			 0);
	assert_string_equal(o.output_dir, "/tmp/o");
	assert_true(o.output_nocopy);
	assert_true(o.merge_stderr);
	sk_opts_cleanup(&o);
	/* Only the whole ":nocopy" suffix is a modifier. */
	assert_int_equal(
		PARSE(&o, err, "--output-filename", "a:b:nocopyx", "p"), 0);
	assert_string_equal(o.output_dir, "a:b:nocopyx");
	assert_false(o.output_nocopy);
	sk_opts_cleanup(&o);
	/* Given twice: the last one, nothing leaked (ASan). */
	assert_int_equal(PARSE(&o, err, "--output-filename", "a:nocopy",
			       "--output-filename", "b", "p"),
			 0);
	assert_string_equal(o.output_dir, "b");
	assert_false(o.output_nocopy);
	sk_opts_cleanup(&o);

	OPTS_ERR("--output-filename: empty path", "--output-filename", "", "p");
	OPTS_ERR("--output-filename: empty path", "--output-filename",
		 ":nocopy", "p");
	OPTS_ERR("--output-filename: missing value", "--output-filename");
	/* The copy is freed when a later option fails (ASan). */
	OPTS_ERR("-n: 'x' is not a number of nodes", "--output-filename", "d",
		 "-n", "x", "p");
	OPTS_ERR("--merge-stderr-to-stdout takes no value",
		 "--merge-stderr-to-stdout=1", "p");
}

/* --provider and -x SKIFF_PROVIDER name the job's provider: one answer. */
static void test_opts_provider_env(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&o, err, "-x", "SKIFF_PROVIDER=ucx", "p"), 0);
	assert_null(o.provider);
	assert_string_equal(o.provider_env, "ucx");
	sk_opts_cleanup(&o);
	/* Agreeing is fine. */
	assert_int_equal(PARSE(&o, err, "--provider", "rdma", "-x",
			       "SKIFF_PROVIDER=rdma", "p"),
			 0);
	assert_string_equal(o.provider, "rdma");
	assert_string_equal(o.provider_env, "rdma");
	sk_opts_cleanup(&o);
	/* A longer name is another variable. */
	assert_int_equal(PARSE(&o, err, "--provider", "rdma", "-x",
			       "SKIFF_PROVIDERS=ucx", "p"),
			 0);
	assert_null(o.provider_env);
	sk_opts_cleanup(&o);
	/* "-x SKIFF_PROVIDER" forwards skrun's own value. */
	setenv("SKIFF_PROVIDER", "ucx", 1);
	assert_int_equal(PARSE(&o, err, "-x", "SKIFF_PROVIDER", "p"), 0);
	assert_string_equal(o.provider_env, "ucx");
	sk_opts_cleanup(&o);
	OPTS_ERR("--provider rdma conflicts with -x SKIFF_PROVIDER=ucx: give "
		 "one of them",
		 "-x", "SKIFF_PROVIDER", "--provider", "rdma", "p");
	setenv("SKIFF_PROVIDER", "bogus", 1);
	OPTS_ERR("-x SKIFF_PROVIDER: 'bogus' is not a provider (rdma, ucx or "
		 "auto)",
		 "-x", "SKIFF_PROVIDER", "p");
	unsetenv("SKIFF_PROVIDER");
	assert_int_equal(PARSE(&o, err, "-x", "SKIFF_PROVIDER", "p"), 0);
	assert_null(o.provider_env);
	sk_opts_cleanup(&o);

	OPTS_ERR("--provider ucx conflicts with -x SKIFF_PROVIDER=rdma: give "
		 "one of them",
		 "--provider", "ucx", "-x", "SKIFF_PROVIDER=rdma", "p");
	/* The last -x is what the nodes would see. */
	OPTS_ERR("--provider ucx conflicts with -x SKIFF_PROVIDER=rdma: give "
		 "one of them",
		 "-x", "SKIFF_PROVIDER=ucx", "-x", "SKIFF_PROVIDER=rdma",
		 "--provider", "ucx", "p");
	OPTS_ERR("-x SKIFF_PROVIDER: 'verbs' is not a provider (rdma, ucx or "
		 "auto)",
		 "-x", "SKIFF_PROVIDER=verbs", "p");
	OPTS_ERR("-x SKIFF_PROVIDER: '' is not a provider (rdma, ucx or "
		 "auto)",
		 "-x", "SKIFF_PROVIDER=", "p");
}

static void test_opts_root(void **state)
{
	struct sk_job_opts o;
	char err[256];
	char **argv = ARGV("--root", "/srv/job", "p");

	(void)state;
	assert_int_equal(sk_opts_parse(4, argv, &o, err, sizeof(err)), 0);
	assert_ptr_equal(o.root, argv[2]);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "--root=rel/dir", "p"), 0);
	assert_string_equal(o.root, "rel/dir");
	sk_opts_cleanup(&o);

	OPTS_ERR("--root: empty path", "--root", "", "p");
	OPTS_ERR("--root: empty path", "--root=", "p");
	OPTS_ERR("--root: missing value", "--root");
}

static void test_opts_hostfile(void **state)
{
	static const char text[] = "# two hosts\nn1 slots=2\nn2\n";
	struct sk_job_opts o;
	char err[512], path[64], opt[96], want[160];

	(void)state;
	tmp_file(path, sizeof(path), text, sizeof(text) - 1);

	/* Both names, both spellings: the file is read at option time. */
	{
		char **argv = ARGV("--hostfile", path, "p");

		assert_int_equal(sk_opts_parse(4, argv, &o, err, sizeof(err)),
				 0);
		assert_ptr_equal(o.hostfile, argv[2]);
		assert_list(&o.hosts, "n1:2 n2:1");
		sk_opts_cleanup(&o);
	}
	assert_int_equal(PARSE(&o, err, "--machinefile", path, "p"), 0);
	assert_string_equal(o.hostfile, path);
	assert_list(&o.hosts, "n1:2 n2:1");
	sk_opts_cleanup(&o);
	snprintf(opt, sizeof(opt), "--hostfile=%s", path);
	assert_int_equal(PARSE(&o, err, opt, "p"), 0);
	assert_string_equal(o.hostfile, path);
	sk_opts_cleanup(&o);
	assert_int_equal(PARSE(&o, err, "-machinefile", path, "p"), 0);
	assert_list(&o.hosts, "n1:2 n2:1");
	sk_opts_cleanup(&o);

	/* --host and --hostfile in the order given. */
	assert_int_equal(PARSE(&o, err, "--host", "x:3", "--hostfile", path,
			       "-H", "y,n2", "p"),
			 0);
	assert_list(&o.hosts, "x:3 n1:2 n2:2 y:1");
	sk_opts_cleanup(&o);

	/* Its errors come out of sk_opts_parse. */
	OPTS_ERR("hostfile '/nonexistent/hosts': No such file or directory",
		 "--hostfile", "/nonexistent/hosts", "p");
	OPTS_ERR("hostfile '/nonexistent/hosts': No such file or directory",
		 "--machinefile=/nonexistent/hosts", "p");
	OPTS_ERR("--hostfile: empty path", "--hostfile", "", "p");
	OPTS_ERR("--hostfile: missing value", "--hostfile");
	snprintf(want, sizeof(want),
		 "--machinefile: only one hostfile per job ('%s' was given "
		 "already)",
		 path);
	opts_err(ARGV("--hostfile", path, "--machinefile", path, "p"), want,
		 false);
	unlink(path);

	tmp_file(path, sizeof(path), "good\nbad_host\n", 14);
	snprintf(want, sizeof(want),
		 "hostfile '%s' line 2: 'bad_host' is not a valid host name",
		 path);
	opts_err(ARGV("--host", "a", "--hostfile", path, "p"), want, false);
	unlink(path);
}

/* Quoted input is cut short and made printable: still one line. */
static void test_opts_messages(void **state)
{
	char longval[600], want[256];
	struct sk_job_opts o;
	char err[256], small[8];

	(void)state;
	memset(longval, 'z', sizeof(longval) - 1);
	longval[sizeof(longval) - 1] = '\0';
	opts_err(ARGV("-n", longval, "p"), "is not a number of nodes", true);
	opts_err(ARGV("-n", longval, "p"), "zzz...'", true);
	snprintf(want, sizeof(want), "unknown option '--%.*s...'", 42, longval);
	longval[0] = '-';
	longval[1] = '-';
	opts_err(ARGV(longval, "p"), want, false);

	OPTS_ERR("--provider: 'a?b?c' is not a provider (rdma, ucx or auto)",
		 "--provider", "a\nb\rc", "p");

	/* A short buffer gets a cut message; none at all is fine too. */
	assert_int_equal(PARSE(&o, small, "--frob", "p"), -1);
	assert_string_equal(small, "unknown");
	assert_opts_zero(&o);
	assert_int_equal(sk_opts_parse(ARGC(ARGV("--frob")), ARGV("--frob"), &o,
				       NULL, 0),
			 -1);
	assert_int_equal(
		sk_opts_parse(ARGC(ARGV("--frob")), ARGV("--frob"), &o, err, 0),
		-1);
}

/* A parse after a failed one sees nothing of it: no hidden state. */
static void test_opts_no_state(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	assert_int_equal(PARSE(&o, err, "-n", "2", "--host", "a", "-x", "A",
			       "--frob", "p"),
			 -1);
	assert_int_equal(PARSE(&o, err, "p"), 0);
	assert_int_equal(o.np, 0);
	assert_int_equal(o.hosts.count, 0);
	assert_int_equal(o.nenv, 0);
	sk_opts_cleanup(&o);
	sk_opts_cleanup(&o); /* twice is harmless */
}

/* ---- sk_hosts_parse ---- */

static void test_hosts_good(void **state)
{
	static const struct {
		const char *arg, *want;
	} cases[] = {
		{"a", "a:1"},
		{"h1:2,h2,h3:4", "h1:2 h2:1 h3:4"},
		{"node-7.example.com:16", "node-7.example.com:16"},
		{"10.0.0.2:3,localhost", "10.0.0.2:3 localhost:1"},
		{"a:007", "a:7"},
		{"a:4096", "a:4096"},
		{"A1", "A1:1"},
		{"1", "1:1"},
		/* IPv6: bare (its colons are not a count) or bracketed. */
		{"::1", "::1:1"},
		{"fe80::1:2", "fe80::1:2:1"},
		{"[::1]:4,[fe80::2]", "::1:4 fe80::2:1"},
		{"::ffff:10.0.0.1", "::ffff:10.0.0.1:1"},
		/* Named again: the slots add up, first position kept. */
		{"a,b,a", "a:2 b:1"},
		{"a:4095,a", "a:4096"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sk_host_list list = {0};

		if (sk_hosts_parse(cases[i].arg, &list, err, sizeof(err)))
			fail_msg("'%s': %s", cases[i].arg, err);
		assert_list(&list, cases[i].want);
		sk_host_list_cleanup(&list);
		assert_null(list.hosts);
		assert_int_equal(list.count, 0);
	}
}

static void test_hosts_names(void **state)
{
	char name[300], arg[320], err[256];
	struct sk_host_list list = {0};

	(void)state;
	/* 253 characters in labels of 63: the longest name. */
	memset(name, 'a', 253);
	name[253] = '\0';
	for (int i = 63; i < 253; i += 64)
		name[i] = '.';
	assert_int_equal(sk_hosts_parse(name, &list, err, sizeof(err)), 0);
	assert_int_equal(list.count, 1);
	assert_string_equal(list.hosts[0].name, name);
	sk_host_list_cleanup(&list);
	/* One more character is too long. */
	name[253] = 'a';
	name[254] = '\0';
	assert_int_equal(sk_hosts_parse(name, &list, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is not a valid host name"));
	/* A label of 64 is too long; 63 is fine. */
	memset(name, 'b', 64);
	name[64] = '\0';
	assert_int_equal(sk_hosts_parse(name, &list, err, sizeof(err)), -1);
	name[63] = '\0';
	snprintf(arg, sizeof(arg), "x.%s.y:2", name);
	assert_int_equal(sk_hosts_parse(arg, &list, err, sizeof(err)), 0);
	assert_int_equal(list.hosts[0].slots, 2);
	sk_host_list_cleanup(&list);
}

static void test_hosts_errors(void **state)
{
	static const struct {
		const char *arg, *want;
	} cases[] = {
		{"", "--host: empty host list"},
		{",", "--host: empty host name"},
		{"a,", "--host: empty host name"},
		{",a", "--host: empty host name"},
		{"a,,b", "--host: empty host name"},
		{"a:", "--host: 'a:': '' is not a slot count"},
		{"a:x", "--host: 'a:x': 'x' is not a slot count"},
		{"a:-1", "--host: 'a:-1': '-1' is not a slot count"},
		{"a:+1", "--host: 'a:+1': '+1' is not a slot count"},
		{"a: 1", "--host: 'a: 1': ' 1' is not a slot count"},
		{"a:1.5", "--host: 'a:1.5': '1.5' is not a slot count"},
		{"a:0x4", "--host: 'a:0x4': '0x4' is not a slot count"},
		{"a:0", "--host: 'a:0': slot count '0' is out of range "
			"(1 to 4096)"},
		{"a:4097", "--host: 'a:4097': slot count '4097' is out of "
			   "range (1 to 4096)"},
		{"a:99999999999999999999999",
		 "--host: "
		 "'a:99999999999999999999999': slot count "
		 "'99999999999999999999999' is out of range (1 to 4096)"},
		{":2", "--host: '' is not a valid host name"},
		{"a b", "--host: 'a b' is not a valid host name"},
		{" a", "--host: ' a' is not a valid host name"},
		{"a_b", "--host: 'a_b' is not a valid host name"},
		{"-a", "--host: '-a' is not a valid host name"},
		{"a-", "--host: 'a-' is not a valid host name"},
		{"a..b", "--host: 'a..b' is not a valid host name"},
		{".a", "--host: '.a' is not a valid host name"},
		{"a.", "--host: 'a.' is not a valid host name"},
		{"user@a", "--host: 'user@a' is not a valid host name"},
		{"^a", "--host: '^a' is not a valid host name"},
		{"a\tb", "--host: 'a?b' is not a valid host name"},
		{"h\xc3\xa9", "--host: 'h?\?' is not a valid host name"},
		{"a:2:3", "--host: 'a:2:3' is not a valid host name"},
		{"fe80::g", "--host: 'fe80::g' is not a valid host name"},
		{":::", "--host: ':::' is not a valid host name"},
		{"[::1", "--host: '[::1' has no ']'"},
		{"[::1]x", "--host: '[::1]x': expected ':' after ']'"},
		{"[::1]:", "--host: '[::1]:': '' is not a slot count"},
		{"[::1]:0", "--host: '[::1]:0': slot count '0' is out of range "
			    "(1 to 4096)"},
		{"[a]:2", "--host: '[a]:2' is not a valid host name"},
		{"[]:2", "--host: '[]:2' is not a valid host name"},
		{"a:4096,a", "--host: host 'a' has more than 4096 slots in "
			     "all"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sk_host_list list = {0};

		memset(err, 0, sizeof(err));
		if (sk_hosts_parse(cases[i].arg, &list, err, sizeof(err)) != -1)
			fail_msg("'%s' was taken", cases[i].arg);
		assert_string_equal(err, cases[i].want);
		assert_one_line(err);
		assert_null(list.hosts);
		assert_int_equal(list.count, 0);
	}
}

/* A refused --host leaves the list as it was, merges included. */
static void test_hosts_unchanged_on_error(void **state)
{
	static const char *const bad[] = {
		"c,d,e,bad_name", "a:3,b,c:0", "a:4094,a:1", "z,[::1", "b,,c",
	};
	struct sk_host_list list;
	struct snapshot snap;
	char err[256];

	(void)state;
	list_seed(&list);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snap_take(&snap, &list);
		assert_int_equal(
			sk_hosts_parse(bad[i], &list, err, sizeof(err)), -1);
		snap_check(&snap, &list);
	}
	/* And a good one after them still appends and merges. */
	assert_int_equal(sk_hosts_parse("c,a:2", &list, err, sizeof(err)), 0);
	assert_list(&list, "a:4 b:1 c:1");
	sk_host_list_cleanup(&list);
}

static void test_hosts_max_count(void **state)
{
	size_t cap = 6 * (SK_OPTS_MAX_NODES + 1);
	char *arg = malloc(cap), err[256];
	struct sk_host_list list = {0};
	struct snapshot snap;
	size_t off = 0;

	(void)state;
	assert_non_null(arg);
	for (int i = 0; i < SK_OPTS_MAX_NODES; i++)
		off += (size_t)snprintf(arg + off, cap - off, "%sh%d",
					i ? "," : "", i);
	assert_int_equal(sk_hosts_parse(arg, &list, err, sizeof(err)), 0);
	assert_int_equal(list.count, SK_OPTS_MAX_NODES);
	/* A known host still merges; a new one is one too many. */
	assert_int_equal(sk_hosts_parse("h7:3", &list, err, sizeof(err)), 0);
	assert_int_equal(list.hosts[7].slots, 4);
	snap_take(&snap, &list);
	assert_int_equal(sk_hosts_parse("h1,new", &list, err, sizeof(err)), -1);
	assert_string_equal(err, "--host: more than 4096 hosts");
	snap_check(&snap, &list);
	sk_host_list_cleanup(&list);

	/* Same in one go. */
	snprintf(arg + off, cap - off, ",one-more");
	assert_int_equal(sk_hosts_parse(arg, &list, err, sizeof(err)), -1);
	assert_string_equal(err, "--host: more than 4096 hosts");
	assert_int_equal(list.count, 0);
	free(arg);
}

/* ---- sk_hostfile_parse ---- */

struct hf_case {
	const char *text;
	size_t len;	  /* 0: strlen(text) */
	const char *want; /* the list, or the error */
};

static int hf_run(const struct hf_case *c, struct sk_host_list *list, char *err,
		  size_t errlen)
{
	size_t len = c->len ? c->len : strlen(c->text);

	return sk_hostfile_parse(c->text, len, list, err, errlen);
}

static void test_hostfile_good(void **state)
{
	static const struct hf_case cases[] = {
		{"a slots=2\nb\nc max_slots=4 slots=3\n", 0, "a:2 b:1 c:3"},
		/* Comments, whole-line or trailing, and blank lines. */
		{"# cluster\n\n  # indented comment\na # the head\n\n"
		 "b slots=4 # four cores\n#c\n",
		 0, "a:1 b:4"},
		{"a#no space before it\n", 0, "a:1"},
		{"a slots=2#x\n", 0, "a:2"},
		/* Blanks anywhere, '=' with blanks around it. */
		{" \t a \t slots = 2 \t \n\t\n \v\f\n", 0, "a:2"},
		{"a slots= 3 max_slots =3\n", 0, "a:3"},
		/* CRLF, a stray CR, and no newline at the end. */
		{"a slots=2\r\nb\r\n\r\n", 0, "a:2 b:1"},
		{"a\rslots=2\n", 0, "a:2"},
		{"a\nb slots=5", 0, "a:1 b:5"},
		/* Empty, or nothing but comments: no hosts, no error. */
		{"", 0, ""},
		{"\n\n\n", 0, ""},
		{"# nothing\n   \n#\n", 0, ""},
		/* The bounds of a count, and decimal leading zeros. */
		{"a slots=1\nb slots=4096\nc slots=010\n", 0,
		 "a:1 b:4096 c:10"},
		/* max_slots alone, or equal to slots. */
		{"a max_slots=8\nb slots=2 max_slots=2\n", 0, "a:1 b:2"},
		/* Open MPI's other spellings. */
		{"a count=2\nb cpu=3\nc max-slots=4\nd slots_max=4\n"
		 "e slots-max=2 cpu=2\nf max_count=9 count=1\n",
		 0, "a:2 b:3 c:1 d:1 e:2 f:1"},
		/* A host on two lines: the slots add up. */
		{"a\nb\na slots=3\n", 0, "a:4 b:1"},
		{"a slots=4095\na\n", 0, "a:4096"},
		/* Addresses. */
		{"10.0.0.1 slots=2\n::1\nfe80::1:2 slots=3\n", 0,
		 "10.0.0.1:2 ::1:1 fe80::1:2:3"},
		/* The text need not end with NUL: only @len bytes count. */
		{"a\nbcd!!", 3, "a:1 b:1"},
		{"a slots=12", 9, "a:1"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sk_host_list list = {0};

		if (hf_run(&cases[i], &list, err, sizeof(err)))
			fail_msg("case %zu: %s", i, err);
		assert_list(&list, cases[i].want);
		sk_host_list_cleanup(&list);
	}
}

static void test_hostfile_errors(void **state)
{
	static const struct hf_case cases[] = {
		/* Bad numbers. */
		{"a slots=x\n", 0,
		 "hostfile line 1: 'slots=x' is not a slot count"},
		{"a\nb\nc slots=x\n", 0,
		 "hostfile line 3: 'slots=x' is not a slot count"},
		{"a slots=-1", 0,
		 "hostfile line 1: 'slots=-1' is not a slot count"},
		{"a slots=+1", 0,
		 "hostfile line 1: 'slots=+1' is not a slot count"},
		{"a slots=1.5", 0,
		 "hostfile line 1: 'slots=1.5' is not a slot count"},
		{"a slots=0x10", 0,
		 "hostfile line 1: 'slots=0x10' is not a slot count"},
		{"a slots=4k", 0,
		 "hostfile line 1: 'slots=4k' is not a slot count"},
		{"a slots=", 0,
		 "hostfile line 1: 'slots=' is not a slot count"},
		{"a slots= # none\n", 0,
		 "hostfile line 1: 'slots=' is not a slot count"},
		{"a slots==2", 0,
		 "hostfile line 1: 'slots=' is not a slot count"},
		{"a slots=0", 0,
		 "hostfile line 1: 'slots=0' is out of range (1 to 4096)"},
		{"a max_slots=0", 0,
		 "hostfile line 1: 'max_slots=0' is out of range (1 to 4096)"},
		{"a slots=4097", 0,
		 "hostfile line 1: 'slots=4097' is out of range (1 to 4096)"},
		{"a slots=99999999999999999999999999999999", 0,
		 "hostfile line 1: 'slots=99999999999999999999999999999999' "
		 "is out of range (1 to 4096)"},
		{"a slots=18446744073709551617", 0,
		 "hostfile line 1: 'slots=18446744073709551617' is out of "
		 "range (1 to 4096)"},
		/* Keywords: unknown, valueless, repeated, inconsistent. */
		{"a foo=1", 0,
		 "hostfile line 1: unknown keyword 'foo' "
		 "(slots=N or max_slots=N)"},
		{"a b", 0,
		 "hostfile line 1: unknown keyword 'b' (slots=N or "
		 "max_slots=N)"},
		{"a username=bob", 0,
		 "hostfile line 1: unknown keyword "
		 "'username' (slots=N or max_slots=N)"},
		{"a SLOTS=2", 0,
		 "hostfile line 1: unknown keyword 'SLOTS' "
		 "(slots=N or max_slots=N)"},
		{"a slots", 0, "hostfile line 1: 'slots' needs '=N'"},
		{"a slots 4", 0, "hostfile line 1: 'slots' needs '=N'"},
		{"a slots=2 slots=3", 0,
		 "hostfile line 1: 'slots' given twice"},
		{"a slots=2 count=2", 0,
		 "hostfile line 1: 'count' given twice"},
		{"a max_slots=2 max-slots=3", 0,
		 "hostfile line 1: 'max-slots' given twice"},
		{"a slots=4 max_slots=2", 0,
		 "hostfile line 1: max_slots=2 is less than slots=4"},
		{"a max_slots=2 slots=4", 0,
		 "hostfile line 1: max_slots=2 is less than slots=4"},
		{"a slots=2 =3", 0, "hostfile line 1: stray '='"},
		/* The host comes first, and is a host name. */
		{"slots=2", 0,
		 "hostfile line 1: expected a host name first, "
		 "not 'slots='"},
		{"a = 2", 0,
		 "hostfile line 1: expected a host name first, "
		 "not 'a='"},
		{"a_b", 0, "hostfile line 1: 'a_b' is not a valid host name"},
		{"user@a", 0,
		 "hostfile line 1: 'user@a' is not a valid host name"},
		{"^a", 0, "hostfile line 1: '^a' is not a valid host name"},
		{"-a", 0, "hostfile line 1: '-a' is not a valid host name"},
		{"+n0", 0, "hostfile line 1: '+n0' is not a valid host name"},
		{"a..b", 0, "hostfile line 1: 'a..b' is not a valid host name"},
		{"[::1]", 0,
		 "hostfile line 1: '[::1]' is not a valid host name"},
		{"a:2", 0, "hostfile line 1: 'a:2' is not a valid host name"},
		{"h\xc3\xa9", 0,
		 "hostfile line 1: 'h?\?' is not a valid host name"},
		{"rank 0=a slot=0", 0,
		 "hostfile line 1: unknown keyword "
		 "'0' (slots=N or max_slots=N)"},
		/* NUL bytes, anywhere on the line, comments included. */
		{"a\nb\0\n", 4, "hostfile line 2: NUL byte"},
		{"\0", 1, "hostfile line 1: NUL byte"},
		{"a\n# \0 comment\n", 14, "hostfile line 2: NUL byte"},
		{"a slots=\0002\n", 11, "hostfile line 1: NUL byte"},
		/* Too many slots for one host, over two lines. */
		{"a slots=4000\nb\na slots=97\n", 0,
		 "hostfile line 3: host 'a' has more than 4096 slots in all"},
		/* Line numbers count blank, comment and CRLF lines. */
		{"\r\n# x\r\n\r\na\r\nb slots=0\r\n", 0,
		 "hostfile line 5: 'slots=0' is out of range (1 to 4096)"},
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sk_host_list list = {0};

		memset(err, 0, sizeof(err));
		if (hf_run(&cases[i], &list, err, sizeof(err)) != -1)
			fail_msg("case %zu was taken", i);
		assert_string_equal(err, cases[i].want);
		assert_one_line(err);
		assert_null(list.hosts);
		assert_int_equal(list.count, 0);
	}
}

static void test_hostfile_long_lines(void **state)
{
	char text[2100], err[256];
	struct sk_host_list list = {0};

	(void)state;
	/* 1024 bytes are fine, with LF or CRLF after them. */
	memset(text, ' ', 1024);
	text[0] = 'a';
	memcpy(text + 1024, "\r\nb\n", 4);
	assert_int_equal(sk_hostfile_parse(text, 1028, &list, err, sizeof(err)),
			 0);
	assert_list(&list, "a:1 b:1");
	sk_host_list_cleanup(&list);
	/* Also as the last line, without a newline. */
	assert_int_equal(sk_hostfile_parse(text, 1024, &list, err, sizeof(err)),
			 0);
	sk_host_list_cleanup(&list);

	/* 1025 are not, even as a comment. */
	memcpy(text, "b\n#", 3);
	memset(text + 3, 'c', 1024);
	assert_int_equal(
		sk_hostfile_parse(text, 2 + 1025, &list, err, sizeof(err)), -1);
	assert_string_equal(err, "hostfile line 2: longer than 1024 bytes");
	assert_int_equal(list.count, 0);
	/* A host name of 1025 characters is long before it is invalid. */
	memset(text, 'h', 2000);
	assert_int_equal(sk_hostfile_parse(text, 2000, &list, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "hostfile line 1: longer than 1024 bytes");
	/* A name of 254 is merely invalid, and quoted short. */
	assert_int_equal(sk_hostfile_parse(text, 254, &list, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "hostfile line 1: 'hhhh"));
	assert_non_null(strstr(err, "...' is not a valid host name"));
	assert_true(strlen(err) < 120);
}

/* A refused hostfile leaves the list as it was: no partial append. */
static void test_hostfile_unchanged_on_error(void **state)
{
	static const struct hf_case bad[] = {
		{"c\nd slots=3\na slots=2\nbad_name\n", 0, NULL},
		{"c\nd\ne\nf slots=0\n", 0, NULL},
		{"c\na slots=4095\n", 0, NULL}, /* a has 2 already */
		{"c\nd\n\0", 5, NULL},
		{"c\nd slots=1 slots=1\n", 0, NULL},
	};
	struct sk_host_list list;
	struct snapshot snap;
	char err[256];

	(void)state;
	list_seed(&list);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snap_take(&snap, &list);
		assert_int_equal(hf_run(&bad[i], &list, err, sizeof(err)), -1);
		snap_check(&snap, &list);
	}
	/* An empty file appends nothing and is no error. */
	assert_int_equal(sk_hostfile_parse("", 0, &list, err, sizeof(err)), 0);
	assert_list(&list, "a:2 b:1");
	/* A good one merges with what is there and appends the rest. */
	assert_int_equal(sk_hostfile_parse("c\nb slots=2\n", 12, &list, err,
					   sizeof(err)),
			 0);
	assert_list(&list, "a:2 b:3 c:1");
	sk_host_list_cleanup(&list);
}

static void test_hostfile_max_hosts(void **state)
{
	size_t cap = 8 * (SK_OPTS_MAX_NODES + 1);
	char *text = malloc(cap), err[256];
	struct sk_host_list list = {0};
	size_t off = 0;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < SK_OPTS_MAX_NODES; i++)
		off += (size_t)snprintf(text + off, cap - off, "h%d\n", i);
	assert_int_equal(sk_hostfile_parse(text, off, &list, err, sizeof(err)),
			 0);
	assert_int_equal(list.count, SK_OPTS_MAX_NODES);
	sk_host_list_cleanup(&list);
	off += (size_t)snprintf(text + off, cap - off, "h1\nextra\n");
	assert_int_equal(sk_hostfile_parse(text, off, &list, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "hostfile line 4098: more than 4096 hosts");
	assert_int_equal(list.count, 0);
	free(text);
}

/* ---- sk_hostfile_load ---- */

static void test_hostfile_load(void **state)
{
	static const char text[] = "n1 slots=2\r\nn2\n";
	struct sk_host_list list = {0};
	char path[64], err[256], want[256];

	(void)state;
	tmp_file(path, sizeof(path), text, sizeof(text) - 1);
	assert_int_equal(sk_hostfile_load(path, &list, err, sizeof(err)), 0);
	assert_list(&list, "n1:2 n2:1");
	/* Loaded twice: same hosts, slots added. */
	assert_int_equal(sk_hostfile_load(path, &list, err, sizeof(err)), 0);
	assert_list(&list, "n1:4 n2:2");
	sk_host_list_cleanup(&list);
	unlink(path);

	assert_int_equal(
		sk_hostfile_load("/nonexistent/x", &list, err, sizeof(err)),
		-1);
	assert_string_equal(err, "hostfile '/nonexistent/x': No such file or "
				 "directory");
	assert_int_equal(sk_hostfile_load("/tmp", &list, err, sizeof(err)), -1);
	assert_string_equal(err, "hostfile '/tmp': Is a directory");
	assert_int_equal(sk_hostfile_load("", &list, err, sizeof(err)), -1);
	assert_string_equal(err, "hostfile '': No such file or directory");
	assert_int_equal(list.count, 0);

	/* A parse error names the file and the line. */
	tmp_file(path, sizeof(path), "a\n\nb slots=x\n", 13);
	assert_int_equal(sk_hostfile_load(path, &list, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "hostfile '%s' line 3: 'slots=x' is not a slot count", path);
	assert_string_equal(err, want);
	assert_int_equal(list.count, 0);
	unlink(path);

	/* A file with no host in it is refused, though it parses. */
	tmp_file(path, sizeof(path), "# all down\n\n", 12);
	assert_int_equal(sk_hostfile_load(path, &list, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "hostfile '%s': no hosts in it", path);
	assert_string_equal(err, want);
	unlink(path);
	tmp_file(path, sizeof(path), "", 0);
	assert_int_equal(sk_hostfile_load(path, &list, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "hostfile '%s': no hosts in it", path);
	assert_string_equal(err, want);
	unlink(path);
}

static void test_hostfile_load_size(void **state)
{
	size_t max = 1u << 20;
	char *text = malloc(max + 1), path[64], err[256], want[256];
	struct sk_host_list list = {0};

	(void)state;
	assert_non_null(text);
	/* Exactly 1 MiB: one host, then comment lines of 1024 bytes. */
	memset(text, '#', max + 1);
	memcpy(text, "a\n", 2);
	for (size_t i = 2 + 1024; i < max; i += 1025)
		text[i] = '\n';
	tmp_file(path, sizeof(path), text, max);
	assert_int_equal(sk_hostfile_load(path, &list, err, sizeof(err)), 0);
	assert_list(&list, "a:1");
	sk_host_list_cleanup(&list);
	unlink(path);

	/* One byte more is too big. */
	tmp_file(path, sizeof(path), text, max + 1);
	assert_int_equal(sk_hostfile_load(path, &list, err, sizeof(err)), -1);
	snprintf(want, sizeof(want),
		 "hostfile '%s': too big (more than 1048576 bytes)", path);
	assert_string_equal(err, want);
	assert_int_equal(list.count, 0);
	unlink(path);
	free(text);
}

/* "--hostfile <(make-hosts)" hands skrun a pipe, not a file. */
static void test_hostfile_load_pipe(void **state)
{
	struct sk_host_list list = {0};
	char path[64], err[256];
	int fds[2];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	write_all(fds[1], "p1 slots=3\np2\n", 14);
	close(fds[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	assert_int_equal(sk_hostfile_load(path, &list, err, sizeof(err)), 0);
	assert_list(&list, "p1:3 p2:1");
	sk_host_list_cleanup(&list);
	close(fds[0]);
}

/* ---- sk_hosts_map ---- */

static void map_ok(const struct sk_host_list *list, unsigned np, bool over,
		   const unsigned *want, unsigned want_np)
{
	unsigned got_np = 12345, *host_of = NULL;
	char err[256];

	if (sk_hosts_map(list, np, over, &got_np, &host_of, err, sizeof(err)))
		fail_msg("np %u: %s", np, err);
	assert_int_equal(got_np, want_np);
	assert_non_null(host_of);
	assert_memory_equal(host_of, want, want_np * sizeof(*want));
	free(host_of);
}

static void test_map_empty_list(void **state)
{
	static const unsigned zeros[8];
	struct sk_host_list list = {0};

	(void)state;
	/* np 0 is 1; every node runs on localhost, slots or not. */
	map_ok(&list, 0, false, zeros, 1);
	map_ok(&list, 1, false, zeros, 1);
	map_ok(&list, 8, false, zeros, 8);
	map_ok(&list, 8, true, zeros, 8);
}

static void test_map_by_slot(void **state)
{
	struct sk_host_list list = {0};
	char err[256];

	(void)state;
	assert_int_equal(sk_hosts_parse("a:2,b:3,c", &list, err, sizeof(err)),
			 0);
	/* np 0: one node per slot, first host filled first. */
	map_ok(&list, 0, false, (const unsigned[]){0, 0, 1, 1, 1, 2}, 6);
	map_ok(&list, 6, false, (const unsigned[]){0, 0, 1, 1, 1, 2}, 6);
	map_ok(&list, 1, false, (const unsigned[]){0}, 1);
	map_ok(&list, 3, false, (const unsigned[]){0, 0, 1}, 3);
	/* Oversubscribed: the slots first, then one per host in turn. */
	map_ok(&list, 6, true, (const unsigned[]){0, 0, 1, 1, 1, 2}, 6);
	map_ok(&list, 10, true,
	       (const unsigned[]){0, 0, 1, 1, 1, 2, 0, 1, 2, 0}, 10);
	sk_host_list_cleanup(&list);

	/* Open MPI's counts: a:4,b:1 with 10 nodes is 7 and 3. */
	assert_int_equal(sk_hosts_parse("a:4,b", &list, err, sizeof(err)), 0);
	map_ok(&list, 10, true,
	       (const unsigned[]){0, 0, 0, 0, 1, 0, 1, 0, 1, 0}, 10);
	sk_host_list_cleanup(&list);
}

static void test_map_errors(void **state)
{
	struct sk_host_list list = {0};
	unsigned np = 77, *host_of = (unsigned *)&np;
	char err[256];

	(void)state;
	assert_int_equal(sk_hosts_parse("a:2,b", &list, err, sizeof(err)), 0);
	assert_int_equal(
		sk_hosts_map(&list, 4, false, &np, &host_of, err, sizeof(err)),
		-1);
	assert_string_equal(err,
			    "there are not enough slots available: 4 nodes "
			    "requested, 3 slots on 2 hosts (give more hosts "
			    "or slots, or --oversubscribe)");
	/* Outputs untouched on error. */
	assert_int_equal(np, 77);
	assert_ptr_equal(host_of, &np);
	assert_int_equal(sk_hosts_map(&list, SK_OPTS_MAX_NODES + 1, true, &np,
				      &host_of, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "4097 nodes is more than 4096");
	sk_host_list_cleanup(&list);

	assert_int_equal(sk_hosts_parse("a", &list, err, sizeof(err)), 0);
	assert_int_equal(
		sk_hosts_map(&list, 2, false, &np, &host_of, err, sizeof(err)),
		-1);
	assert_non_null(strstr(err, "1 slot on 1 host ("));
	sk_host_list_cleanup(&list);

	/* np 0 with more slots than nodes allowed: say so, not truncate. */
	assert_int_equal(sk_hosts_parse("a:4096,b:1", &list, err, sizeof(err)),
			 0);
	assert_int_equal(
		sk_hosts_map(&list, 0, false, &np, &host_of, err, sizeof(err)),
		-1);
	assert_string_equal(err, "the hosts have 4097 slots, more than 4096 "
				 "nodes: give -n");
	/* With -n it is fine. */
	assert_int_equal(sk_hosts_map(&list, SK_OPTS_MAX_NODES, false, &np,
				      &host_of, err, sizeof(err)),
			 0);
	assert_int_equal(np, SK_OPTS_MAX_NODES);
	for (unsigned k = 0; k < np; k++)
		assert_int_equal(host_of[k], 0);
	free(host_of);
	sk_host_list_cleanup(&list);
}

/* The largest job on the largest list: every index in range. */
static void test_map_large(void **state)
{
	struct sk_host_list list = {0};
	char err[256], name[16];
	unsigned np, *host_of;

	(void)state;
	for (int i = 0; i < SK_OPTS_MAX_NODES; i++) {
		snprintf(name, sizeof(name), "h%d:%d", i, 1 + i % 3);
		assert_int_equal(sk_hosts_parse(name, &list, err, sizeof(err)),
				 0);
	}
	assert_int_equal(sk_hosts_map(&list, SK_OPTS_MAX_NODES, false, &np,
				      &host_of, err, sizeof(err)),
			 0);
	assert_int_equal(np, SK_OPTS_MAX_NODES);
	for (unsigned k = 1; k < np; k++)
		assert_true(host_of[k] == host_of[k - 1] ||
			    host_of[k] == host_of[k - 1] + 1);
	assert_true(host_of[np - 1] < list.count);
	free(host_of);
	sk_host_list_cleanup(&list);
}

/* A list built by hand may say 0 slots: "not given", which is 1. */
static void test_map_zero_slots(void **state)
{
	struct sk_host hosts[] = {{"x", 0}, {"y", 2}};
	struct sk_host_list list = {hosts, 2};

	(void)state;
	map_ok(&list, 0, false, (const unsigned[]){0, 1, 1}, 3);
	map_ok(&list, 5, true, (const unsigned[]){0, 1, 1, 0, 1}, 5);
}

/* ---- sk_hosts_place: --map-by and -N ---- */

static void place_ok(const struct sk_host_list *list, unsigned np,
		     enum sk_map map, unsigned npernode, bool over,
		     const unsigned *want, unsigned want_np)
{
	struct sk_place p = {.np = np,
			     .map_by = map,
			     .npernode = npernode,
			     .oversubscribe = over};
	unsigned got_np = 12345, *host_of = NULL;
	char err[256];

	if (sk_hosts_place(list, &p, &got_np, &host_of, err, sizeof(err)))
		fail_msg("np %u map %d -N %u: %s", np, (int)map, npernode, err);
	assert_int_equal(got_np, want_np);
	assert_non_null(host_of);
	assert_memory_equal(host_of, want, want_np * sizeof(*want));
	free(host_of);
}

static void place_err(const struct sk_host_list *list, unsigned np,
		      enum sk_map map, unsigned npernode, bool over,
		      const char *want)
{
	struct sk_place p = {.np = np,
			     .map_by = map,
			     .npernode = npernode,
			     .oversubscribe = over};
	unsigned got_np = 77, *host_of = &got_np;
	char err[256];

	assert_int_equal(
		sk_hosts_place(list, &p, &got_np, &host_of, err, sizeof(err)),
		-1);
	assert_string_equal(err, want);
	assert_one_line(err);
	assert_int_equal(got_np, 77);
	assert_ptr_equal(host_of, &got_np);
}

static void test_place_by_node(void **state)
{
	struct sk_host_list list = {0};
	char err[256];

	(void)state;
	assert_int_equal(sk_hosts_parse("a:2,b:3,c", &list, err, sizeof(err)),
			 0);
	/* Round-robin, skipping hosts that are full: c has one slot. */
	place_ok(&list, 0, SK_MAP_NODE, 0, false,
		 (const unsigned[]){0, 1, 2, 0, 1, 1}, 6);
	place_ok(&list, 4, SK_MAP_NODE, 0, false,
		 (const unsigned[]){0, 1, 2, 0}, 4);
	place_ok(&list, 1, SK_MAP_NODE, 0, false, (const unsigned[]){0}, 1);
	/* Oversubscribed: the slots first, then round-robin as by slot. */
	place_ok(&list, 8, SK_MAP_NODE, 0, true,
		 (const unsigned[]){0, 1, 2, 0, 1, 1, 0, 1}, 8);
	place_err(&list, 7, SK_MAP_NODE, 0, false,
		  "there are not enough slots available: 7 nodes requested, "
		  "6 slots on 3 hosts (give more hosts or slots, or "
		  "--oversubscribe)");
	/* By core is by slot; the binding is skrun's. */
	place_ok(&list, 0, SK_MAP_CORE, 0, false,
		 (const unsigned[]){0, 0, 1, 1, 1, 2}, 6);
	place_ok(&list, 0, SK_MAP_SLOT, 0, false,
		 (const unsigned[]){0, 0, 1, 1, 1, 2}, 6);
	sk_host_list_cleanup(&list);

	/* No hosts: localhost, whatever the mapping. */
	place_ok(&list, 3, SK_MAP_NODE, 0, false, (const unsigned[]){0, 0, 0},
		 3);
}

static void test_place_npernode(void **state)
{
	struct sk_host_list list = {0};
	char err[256];

	(void)state;
	/* mpirun -H aa,bb -npernode 2: 0-1 on aa, 2-3 on bb. */
	assert_int_equal(sk_hosts_parse("aa:2,bb:2", &list, err, sizeof(err)),
			 0);
	place_ok(&list, 0, SK_MAP_SLOT, 2, false,
		 (const unsigned[]){0, 0, 1, 1}, 4);
	place_ok(&list, 0, SK_MAP_SLOT, 1, false, (const unsigned[]){0, 1}, 2);
	/* -n fewer than N per host: the first hosts get theirs. */
	place_ok(&list, 3, SK_MAP_SLOT, 2, false, (const unsigned[]){0, 0, 1},
		 3);
	place_ok(&list, 1, SK_MAP_SLOT, 2, false, (const unsigned[]){0}, 1);
	place_err(&list, 5, SK_MAP_SLOT, 2, false,
		  "your job has requested more processes than the ppr for "
		  "this topology can support: 5 nodes requested, -N 2 on 2 "
		  "hosts place 4");
	place_err(&list, 5, SK_MAP_SLOT, 2, true,
		  "your job has requested more processes than the ppr for "
		  "this topology can support: 5 nodes requested, -N 2 on 2 "
		  "hosts place 4");
	/* More per host than its slots: oversubscription. */
	place_err(&list, 0, SK_MAP_SLOT, 3, false,
		  "there are not enough slots available: -N 3 puts 3 nodes on "
		  "host 'aa', which has 2 slots (give more slots, or "
		  "--oversubscribe)");
	place_ok(&list, 0, SK_MAP_SLOT, 3, true,
		 (const unsigned[]){0, 0, 0, 1, 1, 1}, 6);
	/* Only the hosts that get ranks need the slots. */
	sk_host_list_cleanup(&list);
	assert_int_equal(sk_hosts_parse("aa:3,bb", &list, err, sizeof(err)), 0);
	place_ok(&list, 3, SK_MAP_SLOT, 3, false, (const unsigned[]){0, 0, 0},
		 3);
	place_ok(&list, 4, SK_MAP_SLOT, 3, false,
		 (const unsigned[]){0, 0, 0, 1}, 4);
	place_err(&list, 5, SK_MAP_SLOT, 3, false,
		  "there are not enough slots available: -N 3 puts 2 nodes on "
		  "host 'bb', which has 1 slot (give more slots, or "
		  "--oversubscribe)");
	sk_host_list_cleanup(&list);

	/* No hosts: N on localhost. */
	place_ok(&list, 0, SK_MAP_SLOT, 3, false, (const unsigned[]){0, 0, 0},
		 3);
	place_err(&list, 4, SK_MAP_SLOT, 3, false,
		  "your job has requested more processes than the ppr for "
		  "this topology can support: 4 nodes requested, -N 3 on 1 "
		  "host place 3");

	/* At the limits: 4096 per host on one host fits, on two it does
	 * not unless -n says how many. */
	assert_int_equal(
		sk_hosts_parse("a:4096,b:4096", &list, err, sizeof(err)), 0);
	place_err(&list, 0, SK_MAP_SLOT, 4096, false,
		  "-N 4096 on 2 hosts is 8192 nodes, more than 4096");
	{
		struct sk_place p = {.npernode = 4096, .np = 4096};
		unsigned np, *host_of;

		assert_int_equal(sk_hosts_place(&list, &p, &np, &host_of, err,
						sizeof(err)),
				 0);
		assert_int_equal(np, 4096);
		assert_int_equal(host_of[4095], 0);
		free(host_of);
	}
	sk_host_list_cleanup(&list);
}

/* mpirun's refusal to bind more processes than cores. */
static void test_bind_check(void **state)
{
	struct sk_job_opts o;
	char err[256];

	(void)state;
	memset(&o, 0, sizeof(o));
	/* Not binding: anything goes. */
	assert_int_equal(sk_bind_check(&o, "h", 100, 2, err, sizeof(err)), 0);
	o.bind = SK_BIND_CORE;
	assert_int_equal(sk_bind_check(&o, "h", 2, 2, err, sizeof(err)), 0);
	assert_int_equal(sk_bind_check(&o, "h", 3, 2, err, sizeof(err)), -1);
	assert_string_equal(err,
			    "a request was made to bind to that would result "
			    "in binding more processes than cpus on a "
			    "resource: bind to CORE, node h, 3 processes, 2 "
			    "cores (give --oversubscribe, --bind-to none or "
			    "--bind-to core:overload-allowed to allow it)");
	assert_int_equal(sk_bind_check(&o, "vm", 2, 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "node vm, 2 processes, 1 core ("));
	o.oversubscribe = true;
	assert_int_equal(sk_bind_check(&o, "h", 3, 2, err, sizeof(err)), 0);
	o.oversubscribe = false;
	o.bind_overload = true;
	assert_int_equal(sk_bind_check(&o, "h", 3, 2, err, sizeof(err)), 0);
}

/*
 * The agent's lifeline (agent.c): only "SIG n" with n a signal skrun
 * forwards is a signal; every other line, however close, is nothing.
 */
static void test_agent_sig_lines(void **state)
{
	static const struct {
		const char *line;
		int sig;
	} cases[] = {
		{"SIG 15", SIGTERM}, {"SIG 2", SIGINT}, {"SIG 1", SIGHUP},
		{"SIG 3", SIGQUIT}, {"SIG 9", SIGKILL}, {"SIG 015", SIGTERM},
		{"SIG 10", 0},       /* SIGUSR1: not forwarded */
		{"SIG 0", 0},        {"SIG 65", 0},
		{"SIG 4294967311", 0}, /* 2^32 + 15: no wrap to TERM */
		{"SIG 99999999999999999999999", 0},
		{"SIG +15", 0},      {"SIG -15", 0},  {"SIG  15", 0},
		{"SIG 15 ", 0},      {"SIG 15\r", 0}, {"SIG 15x", 0},
		{"SIG 0x0f", 0},     {"SIG ", 0},     {"SIG", 0},
		{"", 0},             {"sig 15", 0},   {" SIG 15", 0},
		{"SIGTERM", 0},      {"SIG\t15", 0},  {"SKIFF_JOB_SECRET=00", 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *l = cases[i].line;

		if (sk_parse_agent_sig(l, strlen(l)) != cases[i].sig)
			fail_msg("line '%s': want %d", l, cases[i].sig);
	}
	/* The length is the line's: a NUL inside is a byte, not an end. */
	assert_int_equal(sk_parse_agent_sig("SIG 15\0", 7), 0);
	assert_int_equal(sk_parse_agent_sig("SIG 1\0005", 7), 0);
	/* ...and the parser reads no further than it. */
	assert_int_equal(sk_parse_agent_sig("SIG 15", 5), SIGHUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_minimal),
		cmocka_unit_test(test_opts_program_args),
		cmocka_unit_test(test_opts_double_dash),
		cmocka_unit_test(test_opts_missing_program),
		cmocka_unit_test(test_opts_help_version),
		cmocka_unit_test(test_opts_unknown),
		cmocka_unit_test(test_opts_np_spellings),
		cmocka_unit_test(test_opts_np_errors),
		cmocka_unit_test(test_opts_host),
		cmocka_unit_test(test_opts_provider),
		cmocka_unit_test(test_opts_flags),
		cmocka_unit_test(test_opts_env),
		cmocka_unit_test(test_opts_env_max),
		cmocka_unit_test(test_opts_timeout),
		cmocka_unit_test(test_opts_bind_to),
		cmocka_unit_test(test_opts_map_by),
		cmocka_unit_test(test_opts_npernode),
		cmocka_unit_test(test_opts_wdir),
		cmocka_unit_test(test_opts_output),
		cmocka_unit_test(test_opts_provider_env),
		cmocka_unit_test(test_opts_root),
		cmocka_unit_test(test_opts_hostfile),
		cmocka_unit_test(test_opts_messages),
		cmocka_unit_test(test_opts_no_state),
		cmocka_unit_test(test_hosts_good),
		cmocka_unit_test(test_hosts_names),
		cmocka_unit_test(test_hosts_errors),
		cmocka_unit_test(test_hosts_unchanged_on_error),
		cmocka_unit_test(test_hosts_max_count),
		cmocka_unit_test(test_hostfile_good),
		cmocka_unit_test(test_hostfile_errors),
		cmocka_unit_test(test_hostfile_long_lines),
		cmocka_unit_test(test_hostfile_unchanged_on_error),
		cmocka_unit_test(test_hostfile_max_hosts),
		cmocka_unit_test(test_hostfile_load),
		cmocka_unit_test(test_hostfile_load_size),
		cmocka_unit_test(test_hostfile_load_pipe),
		cmocka_unit_test(test_map_empty_list),
		cmocka_unit_test(test_map_by_slot),
		cmocka_unit_test(test_map_errors),
		cmocka_unit_test(test_map_large),
		cmocka_unit_test(test_map_zero_slots),
		cmocka_unit_test(test_place_by_node),
		cmocka_unit_test(test_place_npernode),
		cmocka_unit_test(test_bind_check),
		cmocka_unit_test(test_agent_sig_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
