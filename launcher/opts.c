/*
 * skrun's command line (opts.h). The options follow Open MPI's mpirun, so
 * that a command line written for one works with the other, within the
 * subset Skiff supports: anything outside it is refused with a message
 * rather than ignored, because a silently dropped "-npernode" places a
 * job differently than its author meant. Host lists and hostfiles are
 * hosts.c's; placement is place.c's.
 *
 * All of this is bytes from outside (a user, a script), so every number
 * is parsed by hand (parse.c) and every quoted piece of input is made
 * printable and cut short in the one-line messages. Nothing here keeps
 * state between calls; getopt does, which is why it is not used.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* Longest --timeout: 1e9 s in nanoseconds still fits an int64_t. */
#define TIMEOUT_MAX_S 1e9

/* ---- the command line ---- */

enum opt_id {
	OPT_NP,
	OPT_HOST,
	OPT_HOSTFILE,
	OPT_PROVIDER,
	OPT_TAG_OUTPUT,
	OPT_RECOVERY,
	OPT_ENV,
	OPT_TIMEOUT,
	OPT_BIND_TO,
	OPT_REPORT_BINDINGS,
	OPT_OVERSUBSCRIBE,
	OPT_ROOT,
	OPT_HELP,
	OPT_VERSION,
	OPT_MAP_BY,
	OPT_NPERNODE,
	OPT_PERNODE,
	OPT_WDIR,
	OPT_OUTPUT_FILENAME,
	OPT_MERGE_STDERR,
	OPT_TIMESTAMP,
	OPT_DISPLAY_MAP,
	OPT_ALLOW_ROOT,
	OPT_MCA,
	OPT_STDIN,
};

/*
 * Names without their dashes. Each is taken with one dash or two, as
 * Open MPI 4's mpirun takes them: scripts written for it say "-np" and
 * "-hostfile" as often as "--np" and "--hostfile".
 */
static const struct opt {
	const char *name;
	enum opt_id id;
	bool has_value;
} opt_table[] = {
	{"n", OPT_NP, true},
	{"np", OPT_NP, true},
	{"c", OPT_NP, true},
	{"H", OPT_HOST, true},
	{"host", OPT_HOST, true},
	{"hostfile", OPT_HOSTFILE, true},
	{"machinefile", OPT_HOSTFILE, true},
	{"provider", OPT_PROVIDER, true},
	{"tag-output", OPT_TAG_OUTPUT, false},
	{"x", OPT_ENV, true},
	{"timeout", OPT_TIMEOUT, true},
	{"bind-to", OPT_BIND_TO, true},
	{"report-bindings", OPT_REPORT_BINDINGS, false},
	{"oversubscribe", OPT_OVERSUBSCRIBE, false},
	{"root", OPT_ROOT, true},
	{"h", OPT_HELP, false},
	{"help", OPT_HELP, false},
	{"version", OPT_VERSION, false},
	/* mpirun's -V; -v is its --verbose, which skrun does not have, and
	 * issue 9 asked for -v to print the version. */
	{"V", OPT_VERSION, false},
	{"v", OPT_VERSION, false},
	{"map-by", OPT_MAP_BY, true},
	{"N", OPT_NPERNODE, true},
	{"npernode", OPT_NPERNODE, true},
	{"pernode", OPT_PERNODE, false},
	{"wdir", OPT_WDIR, true},
	{"wd", OPT_WDIR, true},
	{"output-filename", OPT_OUTPUT_FILENAME, true},
	{"merge-stderr-to-stdout", OPT_MERGE_STDERR, false},
	{"enable-recovery", OPT_RECOVERY, false},
	{"timestamp-output", OPT_TIMESTAMP, false},
	{"display-map", OPT_DISPLAY_MAP, false},
	{"allow-run-as-root", OPT_ALLOW_ROOT, false},
	{"mca", OPT_MCA, true},
	{"gmca", OPT_MCA, true},
	{"stdin", OPT_STDIN, true},
};

static const char usage[] =
	"Usage: skrun [options] program [args...]\n"
	"\n"
	"Run a Skiff job: -n nodes of the program, placed on the hosts by "
	"slot\n(or as --map-by or -N say).\n"
	"\n"
	"  -n, -np, -c N          number of nodes, 1 to 4096 (default: one\n"
	"                         per slot of the hosts; 1 with no hosts)\n"
	"  -H, --host H[:N],...   hosts and their slots (default 1 each);\n"
	"                         may be repeated; an IPv6 address with a\n"
	"                         slot count is written [ADDR]:N\n"
	"  --hostfile, --machinefile FILE\n"
	"                         Open MPI hostfile, lines of\n"
	"                         \"host [slots=N] [max_slots=N]\"\n"
	"  --oversubscribe        allow more nodes than slots (the rest go\n"
	"                         round-robin over the hosts)\n"
	"  --map-by slot|node|core|ppr:N:node\n"
	"                         slot: fill each host's slots in turn\n"
	"                         (default); node: one node per host in\n"
	"                         turn; core: as slot, bound to a core each;\n"
	"                         ppr:N:node: as -N N\n"
	"  -N, --npernode N       N nodes on each host (--pernode: 1)\n"
	"  --provider P           fabric provider: rdma, ucx or auto\n"
	"  -x VAR[=VALUE]         set VAR in every node's environment, to\n"
	"                         VALUE or to its value here; may be repeated\n"
	"  --tag-output           prefix every line of output with its node\n"
	"  --timestamp-output     prefix every line of output with the time\n"
	"                         it reached skrun\n"
	"  --display-map          print where each node runs before the job\n"
	"                         starts\n"
	"  --allow-run-as-root    taken, as mpirun's: skrun runs as root\n"
	"                         without it\n"
	"  --stdin RANK|none      the node that reads skrun's stdin (default\n"
	"                         0); none: every node reads end of file\n"
	"  --timeout S            end the job after S seconds (S > 0, may be\n"
	"                         fractional)\n"
	"  --bind-to core|none    bind each node to a core (default: none;\n"
	"                         core with --map-by core); more nodes than\n"
	"                         cores is refused unless --oversubscribe\n"
	"                         or core:overload-allowed\n"
	"  --report-bindings      report each node's binding as it starts\n"
	"  --root DIR             directory tree the nodes' files live in\n"
	"                         (default: the nodes' working directory)\n"
	"  --wdir, -wd DIR        working directory of the nodes (default:\n"
	"                         skrun's); it must exist\n"
	"  --output-filename DIR[:nocopy]\n"
	"                         also write each node's output to\n"
	"                         DIR/1/rank.N/stdout and stderr (only there\n"
	"                         with :nocopy), as Open MPI 4.1 does\n"
	"  --merge-stderr-to-stdout\n"
	"                         send each node's stderr to its stdout\n"
	"  --enable-recovery      a node that fails (non-zero exit, signal)\n"
	"                         does not end the job: the others run on,\n"
	"                         and skrun exits with the first failure's\n"
	"                         status once all have ended\n"
	"  -h, --help             print this text\n"
	"  -V, -v, --version      print the version\n"
	"  --                     end of options\n"
	"\n"
	"Every option is also taken with a single dash (-hostfile) and with\n"
	"its value after '=' (--host=a,b). The first word that is not an\n"
	"option is the program; the words after it are its own.\n";

const char *sk_opts_usage(void)
{
	return usage;
}

static const struct opt *opt_find(const char *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (strlen(opt_table[i].name) == n &&
		    memcmp(opt_table[i].name, name, n) == 0)
			return &opt_table[i];
	return NULL;
}

/* A variable name as a POSIX shell takes it. */
static bool env_name_ok(const char *s, size_t n)
{
	if (n == 0 || sk_is_digit(s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sk_is_alnum(s[i]) && s[i] != '_')
			return false;
	return true;
}

static int add_env(struct sk_job_opts *o, const char *opt, const char *val,
		   char *err, size_t errlen)
{
	const char *eq = strchr(val, '=');
	size_t n = eq ? (size_t)(eq - val) : strlen(val);
	char q[SK_SHOW_MAX], **env, *copy;

	if (!env_name_ok(val, n))
		return sk_parse_err(err, errlen,
				    "%s: '%s' is not a variable name", opt,
				    SK_SHOW(q, val, n));
	if (o->nenv >= SK_OPTS_MAX_ENV)
		return sk_parse_err(err, errlen, "%s: more than %u variables",
				    opt, SK_OPTS_MAX_ENV);
	env = realloc(o->env, (o->nenv + 1) * sizeof(*env));
	if (env == NULL)
		return sk_parse_err(err, errlen, "%s: out of memory", opt);
	o->env = env;
	copy = strdup(val);
	if (copy == NULL)
		return sk_parse_err(err, errlen, "%s: out of memory", opt);
	o->env[o->nenv++] = copy;
	return 0;
}

/*
 * Seconds, decimal, > 0, e.g. "30" or "0.25". strtod alone would also
 * take "inf", "nan", hex floats and leading blanks, so the characters
 * are checked first. The upper bound keeps the value convertible to
 * nanoseconds in 64 bits.
 */
static int parse_timeout(struct sk_job_opts *o, const char *opt,
			 const char *val, char *err, size_t errlen)
{
	char q[SK_SHOW_MAX], *end;
	double v;

	if (!sk_is_digit(val[0]) && val[0] != '.')
		goto bad;
	for (const char *p = val; *p; p++)
		if (!sk_is_digit(*p) && !strchr(".eE+-", *p))
			goto bad;
	errno = 0;
	v = strtod(val, &end);
	if (end == val || *end != '\0')
		goto bad;
	if (v > TIMEOUT_MAX_S)
		return sk_parse_err(
			err, errlen, "%s: '%s' is more than %.0f seconds", opt,
			SK_SHOW(q, val, strlen(val)), TIMEOUT_MAX_S);
	/* ERANGE here is an underflow: "1e-400" is no timeout either. */
	if (!(v > 0) || errno == ERANGE)
		goto bad;
	o->timeout_s = v;
	return 0;
bad:
	return sk_parse_err(err, errlen,
			    "%s: '%s' is not a positive number of seconds", opt,
			    SK_SHOW(q, val, strlen(val)));
}

/*
 * --output-filename DIR[:nocopy], as Open MPI 4.1 takes it: ":nocopy"
 * keeps the output off the terminal. Only that suffix is cut: any other
 * colon is part of the path.
 */
static int parse_output_dir(struct sk_job_opts *o, const char *opt,
			    const char *val, char *err, size_t errlen)
{
	static const char nocopy[] = ":nocopy";
	size_t n = strlen(val), sn = sizeof(nocopy) - 1;
	bool cut = n >= sn && strcmp(val + n - sn, nocopy) == 0;

	if (cut)
		n -= sn;
	if (n == 0)
		return sk_parse_err(err, errlen, "%s: empty path", opt);
	free(o->output_dir);
	o->output_dir = strndup(val, n);
	if (o->output_dir == NULL)
		return sk_parse_err(err, errlen, "%s: out of memory", opt);
	o->output_nocopy = cut;
	return 0;
}

/* Apply option @id with value @val; @opt is its name as written. */
/* A count option's value: a number in [1, @max] of @what. */
static int opt_count(const char *opt, const char *val, unsigned max,
		     const char *what, unsigned *out, char *err, size_t errlen)
{
	char q[SK_SHOW_MAX];

	switch (sk_parse_uint(val, strlen(val), 1, max, out)) {
	case SK_NUM_OK:
		return 0;
	case SK_NUM_BAD:
		return sk_parse_err(err, errlen, "%s: '%s' is not a number of %s",
				    opt, SK_SHOW(q, val, strlen(val)), what);
	case SK_NUM_RANGE:
		return sk_parse_err(err, errlen,
				    "%s: '%s' is out of range (1 to %u)", opt,
				    SK_SHOW(q, val, strlen(val)), max);
	}
	return -1;
}

static int opt_apply(struct sk_job_opts *o, enum opt_id id, const char *opt,
		     const char *val, char *err, size_t errlen)
{
	char q[SK_SHOW_MAX], q2[SK_SHOW_MAX];

	switch (id) {
	case OPT_NP:
		return opt_count(opt, val, SK_OPTS_MAX_NODES, "nodes", &o->np,
				 err, errlen);
	case OPT_HOST:
		return sk_hosts_parse(val, &o->hosts, err, errlen);
	case OPT_HOSTFILE:
		/* A second one would have its hosts added to the first's. */
		if (o->hostfile)
			return sk_parse_err(
				err, errlen,
				"%s: only one hostfile per job ('%s' "
				"was given already)",
				opt,
				SK_SHOW(q, o->hostfile, strlen(o->hostfile)));
		if (val[0] == '\0')
			return sk_parse_err(err, errlen, "%s: empty path", opt);
		if (sk_hostfile_load(val, &o->hosts, err, errlen))
			return -1;
		o->hostfile = val;
		return 0;
	case OPT_PROVIDER:
		if (strcmp(val, "rdma") && strcmp(val, "ucx") &&
		    strcmp(val, "auto"))
			return sk_parse_err(
				err, errlen,
				"%s: '%s' is not a provider (rdma, ucx "
				"or auto)",
				opt, SK_SHOW(q, val, strlen(val)));
		o->provider = val;
		return 0;
	case OPT_TAG_OUTPUT:
		o->tag_output = true;
		return 0;
	case OPT_TIMESTAMP:
		o->timestamp_output = true;
		return 0;
	case OPT_DISPLAY_MAP:
		o->display_map = true;
		return 0;
	case OPT_ALLOW_ROOT:
		/* mpirun refuses root without it; skrun never does. */
		return 0;
	case OPT_STDIN: {
		unsigned r;

		if (strcmp(val, "none") == 0) {
			o->stdin_rank = -1;
			return 0;
		}
		if (strcmp(val, "all") == 0)
			return sk_parse_err(err, errlen,
					    "%s all: not supported: one node "
					    "reads stdin (a rank, or none)",
					    opt);
		if (sk_parse_uint(val, strlen(val), 0, SK_OPTS_MAX_NODES - 1,
				  &r) != SK_NUM_OK)
			return sk_parse_err(err, errlen,
					    "%s: '%s' is not a rank (0 to %u) "
					    "or none",
					    opt, SK_SHOW(q, val, strlen(val)),
					    SK_OPTS_MAX_NODES - 1);
		o->stdin_rank = (int)r;
		return 0;
	}
	case OPT_MCA:
		return sk_parse_err(err, errlen,
				    "%s: Open MPI's MCA parameters mean nothing "
				    "to Skiff; its settings are SKIFF_* "
				    "variables (-x VAR=VALUE for the nodes)",
				    opt);
	case OPT_ENV:
		return add_env(o, opt, val, err, errlen);
	case OPT_TIMEOUT:
		return parse_timeout(o, opt, val, err, errlen);
	case OPT_BIND_TO:
		o->bind_overload = false;
		if (strcmp(val, "core") == 0) {
			o->bind = SK_BIND_CORE;
		} else if (strcmp(val, "core:overload-allowed") == 0) {
			o->bind = SK_BIND_CORE;
			o->bind_overload = true;
		} else if (strcmp(val, "none") == 0) {
			o->bind = SK_BIND_NONE;
		} else {
			return sk_parse_err(err, errlen,
					    "%s: '%s' is not supported (core, "
					    "core:overload-allowed or none)",
					    opt, SK_SHOW(q, val, strlen(val)));
		}
		o->bind_given = true;
		return 0;
	case OPT_MAP_BY:
		/* ppr:N:node is what mpirun's -N stands for. */
		if (strncmp(val, "ppr:", 4) == 0) {
			const char *c = strchr(val + 4, ':');

			if (c == NULL || strcmp(c, ":node") != 0)
				return sk_parse_err(
					err, errlen,
					"%s: '%s': only ppr:N:node is "
					"supported (N nodes on each host)",
					opt, SK_SHOW(q, val, strlen(val)));
			if (o->ppr_given)
				return sk_parse_err(err, errlen,
						    "%s: a second ppr", opt);
			o->ppr_given = true;
			return opt_count(opt, strndupa(val + 4,
						       (size_t)(c - val - 4)),
					 SK_OPTS_MAX_SLOTS, "nodes per host",
					 &o->ppr, err, errlen);
		}
		if (strcmp(val, "slot") == 0)
			o->map_by = SK_MAP_SLOT;
		else if (strcmp(val, "node") == 0)
			o->map_by = SK_MAP_NODE;
		else if (strcmp(val, "core") == 0)
			o->map_by = SK_MAP_CORE;
		else
			return sk_parse_err(
				err, errlen,
				"%s: '%s' is not supported (slot, node, "
				"core or ppr:N:node)",
				opt, SK_SHOW(q, val, strlen(val)));
		o->map_by_given = true;
		return 0;
	case OPT_NPERNODE:
		return opt_count(opt, val, SK_OPTS_MAX_SLOTS, "nodes per host",
				 &o->npernode, err, errlen);
	case OPT_PERNODE:
		o->npernode = 1;
		return 0;
	case OPT_WDIR:
		if (val[0] == '\0')
			return sk_parse_err(err, errlen, "%s: empty path", opt);
		o->wdir = val;
		return 0;
	case OPT_OUTPUT_FILENAME:
		return parse_output_dir(o, opt, val, err, errlen);
	case OPT_RECOVERY:
		o->recovery = true;
		return 0;
	case OPT_MERGE_STDERR:
		o->merge_stderr = true;
		return 0;
	case OPT_REPORT_BINDINGS:
		o->report_bindings = true;
		return 0;
	case OPT_OVERSUBSCRIBE:
		o->oversubscribe = true;
		return 0;
	case OPT_ROOT:
		if (val[0] == '\0')
			return sk_parse_err(err, errlen, "%s: empty path", opt);
		o->root = val;
		return 0;
	case OPT_HELP:
		o->help = true;
		return 0;
	case OPT_VERSION:
		o->version = true;
		return 0;
	}
	return sk_parse_err(err, errlen, "%s: BUG: option %d not handled",
			    SK_SHOW(q2, opt, strlen(opt)), (int)id);
}

/* The value -x SKIFF_PROVIDER gives the nodes: its own, or skrun's. */
static const char *env_provider(const struct sk_job_opts *o)
{
	static const char name[] = "SKIFF_PROVIDER";
	const char *val = NULL;

	/* The last -x of a variable is the one the nodes see. */
	for (size_t k = 0; k < o->nenv; k++) {
		const char *e = o->env[k];

		if (strncmp(e, name, sizeof(name) - 1) != 0)
			continue;
		if (e[sizeof(name) - 1] == '=')
			val = e + sizeof(name);
		else if (e[sizeof(name) - 1] == '\0')
			val = getenv(name);
	}
	return val;
}

/*
 * What options say together: -N is a placement of its own; two ways of
 * naming the job's provider must agree (the host and the nodes would
 * otherwise open different ones and never connect); --map-by core binds
 * to cores unless --bind-to says otherwise, as in mpirun.
 */
static int opts_consistent(struct sk_job_opts *o, char *err, size_t errlen)
{
	const char *pe = env_provider(o);
	char q[SK_SHOW_MAX], q2[SK_SHOW_MAX];

	if (o->ppr_given) {
		if (o->npernode)
			return sk_parse_err(
				err, errlen,
				"-N/--npernode and --map-by ppr:N:node "
				"cannot be combined (they say the same)");
		if (o->map_by_given)
			return sk_parse_err(err, errlen,
					    "--map-by given twice (ppr:N:node "
					    "and another)");
		o->npernode = o->ppr;
	} else if (o->npernode && o->map_by_given)
		return sk_parse_err(
			err, errlen,
			"-N/--npernode and --map-by cannot be combined "
			"(-N places N nodes on each host)");
	if (pe) {
		if (strcmp(pe, "rdma") && strcmp(pe, "ucx") &&
		    strcmp(pe, "auto"))
			return sk_parse_err(err, errlen,
					    "-x SKIFF_PROVIDER: '%s' is not a "
					    "provider (rdma, ucx or auto)",
					    SK_SHOW(q, pe, strlen(pe)));
		if (o->provider && strcmp(o->provider, pe) != 0)
			return sk_parse_err(
				err, errlen,
				"--provider %s conflicts with -x "
				"SKIFF_PROVIDER=%s: give one of them",
				SK_SHOW(q, o->provider, strlen(o->provider)),
				SK_SHOW(q2, pe, strlen(pe)));
		o->provider_env = pe;
	}
	if (o->map_by == SK_MAP_CORE && !o->bind_given)
		o->bind = SK_BIND_CORE;
	return 0;
}

int sk_opts_parse(int argc, char **argv, struct sk_job_opts *o, char *err,
		  size_t errlen)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *word = argv[i], *name, *eq, *val = NULL;
		const struct opt *opt;
		size_t name_len;
		char shown[SK_SHOW_MAX];

		if (strcmp(word, "--") == 0) {
			i++;
			break;
		}
		/* The program; "" too, refused below. */
		if (word[0] != '-')
			break;
		name = word + 1 + (word[1] == '-');
		eq = strchr(name, '=');
		name_len = eq ? (size_t)(eq - name) : strlen(name);
		/* Messages name the option as written, without "=value". */
		SK_SHOW(shown, word, (size_t)(name - word) + name_len);
		opt = opt_find(name, name_len);
		if (opt == NULL) {
			if (name_len == 0)
				SK_SHOW(shown, word, strlen(word));
			sk_parse_err(err, errlen, "unknown option '%s'", shown);
			goto fail;
		}
		if (opt->has_value) {
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				sk_parse_err(err, errlen, "%s: missing value",
					     shown);
				goto fail;
			}
		} else if (eq) {
			sk_parse_err(err, errlen, "%s takes no value", shown);
			goto fail;
		}
		if (opt_apply(o, opt->id, shown, val, err, errlen))
			goto fail;
	}
	if (opts_consistent(o, err, errlen))
		goto fail;
	if (i < argc) {
		if (argv[i][0] == '\0') {
			sk_parse_err(err, errlen, "empty program name");
			goto fail;
		}
		o->argv = argv + i;
		o->argc = argc - i;
	} else if (!o->help && !o->version) {
		sk_parse_err(err, errlen, "missing program to run");
		goto fail;
	}
	return 0;
fail:
	sk_opts_cleanup(o);
	return -1;
}

void sk_opts_cleanup(struct sk_job_opts *o)
{
	sk_host_list_cleanup(&o->hosts);
	free(o->output_dir);
	for (size_t i = 0; i < o->nenv; i++)
		free(o->env[i]);
	free(o->env);
	memset(o, 0, sizeof(*o));
}
