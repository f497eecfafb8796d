/*
 * The perf tools' command line (perf_opts.h): perftest's options, checked
 * against each tool's limits, with a usage text built from what the tool
 * accepts.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "perf_opts.h"

/* The lines of the options a tool may or may not take. */
static const struct {
	unsigned    flag; /* enum perf_opt_flags */
	const char *text;
} opt_help[] = {
	{PERF_OPT_ALL, "  -a, --all                run all sizes from 2 to "
		       "2^23 bytes"},
	{PERF_OPT_ATOMIC, "  -A, --atomic_type=<op>   CMP_AND_SWAP or "
			  "FETCH_AND_ADD (default FETCH_AND_ADD)"},
	{PERF_OPT_TX_DEPTH, "  -t, --tx-depth=<count>   writes outstanding "
			    "(default 128)"},
	{PERF_OPT_EVENTS, "  -e, --events             sleep on the completion "
			  "channel instead of polling"},
	{PERF_OPT_CHAIN, "      --chain=<count>      a sample is <count> reads, "
			 "each posted when the one\n"
			 "                           before it completed "
			 "(1-16, default 1; not perftest's)"},
};

static void perf_usage(const struct perf_tool *t, FILE *out)
{
	fprintf(out,
		"Usage:\n"
		"  %s [options]          start a server and wait for a client\n"
		"  %s [options] <host>   connect to the server on <host>\n"
		"\n%s over Skiff verbs (perftest-compatible options).\n\n"
		"Options:\n"
		"  -s, --size=<bytes>       message size (default %zu)\n"
		"  -n, --iters=<count>      iterations (default %lu)\n",
		t->name, t->name, t->title, t->def_size, t->def_iters);
	for (size_t i = 0; i < sizeof(opt_help) / sizeof(opt_help[0]); i++)
		if (t->opts & opt_help[i].flag)
			fprintf(out, "%s\n", opt_help[i].text);
	fprintf(out,
		"  -p, --port=<port>        TCP port of the exchange (default "
		"%d)\n"
		"  -d, --ib-dev=<dev>       device (default: $SKIFF_DEVICE, "
		"else the first)\n"
		"      --provider=<name>    rdma, ucx or auto (default: "
		"$SKIFF_PROVIDER, else auto)\n"
		"      --alloc              this side's memory from sk_mr_alloc "
		"(ucx: shared\n"
		"                           memory a peer on this host copies "
		"directly)\n"
		"  -h, --help               show this help\n"
		"\nBoth sides must run the same tool; the server takes the "
		"client's -s, -n, -a%s.\n"
		"Exit status: 0 ok, 1 failure, 2 usage, 3 server port in use.\n",
		PERF_DEFAULT_PORT,
		(t->opts & PERF_OPT_ATOMIC) ? ", -A" :
		(t->opts & PERF_OPT_TX_DEPTH) ? ", -t" : "");
}

int perf_parse_ulong(const char *text, unsigned long min, unsigned long max,
		     unsigned long *val_p)
{
	unsigned long long v;
	unsigned shift = 0;
	char *end;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || (shift && v > (~0ull >> shift)))
		return -1;
	v <<= shift;
	if (v < min || v > max)
		return -1;
	*val_p = (unsigned long)v;
	return 0;
}

static int perf_opt_bad(const struct perf_tool *t, const char *opt,
			const char *val, const char *why)
{
	fprintf(stderr, "%s: bad %s '%s': %s\n", t->name, opt, val, why);
	return PERF_EXIT_USAGE;
}

int perf_opts_parse(struct perf_opts *o, const struct perf_tool *tool,
		    int argc, char **argv)
{
	enum { OPT_PROVIDER = 0x100, OPT_ALLOC, OPT_CHAIN };
	static const struct option longopts[] = {
		{"size", required_argument, NULL, 's'},
		{"iters", required_argument, NULL, 'n'},
		{"all", no_argument, NULL, 'a'},
		{"port", required_argument, NULL, 'p'},
		{"ib-dev", required_argument, NULL, 'd'},
		{"atomic_type", required_argument, NULL, 'A'},
		{"tx-depth", required_argument, NULL, 't'},
		{"events", no_argument, NULL, 'e'},
		{"provider", required_argument, NULL, OPT_PROVIDER},
		{"alloc", no_argument, NULL, OPT_ALLOC},
		{"chain", required_argument, NULL, OPT_CHAIN},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long v;
	int ch;

	setvbuf(stdout, NULL, _IOLBF, 0);
	*o = (struct perf_opts){
		.tool = tool,
		.port = PERF_DEFAULT_PORT,
		.size = tool->def_size,
		.iters = tool->def_iters,
		.tx_depth = 128,
		.atomic = PERF_ATOMIC_FADD,
		.chain = 1,
	};
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":s:n:ap:d:A:t:eh", longopts,
				 NULL)) != -1) {
		unsigned need = ch == 'a' ? PERF_OPT_ALL :
				ch == 'A' ? PERF_OPT_ATOMIC :
				ch == 't' ? PERF_OPT_TX_DEPTH :
				ch == 'e' ? PERF_OPT_EVENTS :
				ch == OPT_CHAIN ? PERF_OPT_CHAIN : 0;

		if (need && !(tool->opts & need)) {
			if (ch == OPT_CHAIN)
				fprintf(stderr, "%s: option --chain does not "
						"apply to this test\n",
					tool->name);
			else
				fprintf(stderr, "%s: option -%c does not apply "
						"to this test\n",
					tool->name, ch);
			return PERF_EXIT_USAGE;
		}
		switch (ch) {
		case 's':
			if (perf_parse_ulong(optarg, tool->min_size,
					     PERF_MAX_SIZE_S, &v))
				return perf_opt_bad(tool, "size", optarg,
						    "need a byte count "
						    "in range");
			if (tool->test == PERF_TEST_ATOMIC_LAT && v != 8)
				return perf_opt_bad(tool, "size", optarg,
						    "atomics are 8 bytes");
			o->size = v;
			break;
		case 'n':
			if (perf_parse_ulong(optarg, tool->min_iters,
					     PERF_MAX_ITERS, &v))
				return perf_opt_bad(tool, "iteration count",
						    optarg, "out of range");
			o->iters = v;
			break;
		case 'a':
			o->all_sizes = 1;
			break;
		case 'p':
			if (perf_parse_ulong(optarg, 1, 65535, &v))
				return perf_opt_bad(tool, "port", optarg,
						    "need 1..65535");
			o->port = (unsigned)v;
			break;
		case 'd':
			o->device = optarg;
			break;
		case OPT_PROVIDER:
			o->provider = optarg;
			break;
		case OPT_ALLOC:
			o->alloc = 1;
			break;
		case OPT_CHAIN:
			if (perf_parse_ulong(optarg, 1, PERF_MAX_CHAIN, &v))
				return perf_opt_bad(tool, "chain", optarg,
						    "need 1..16");
			o->chain = (unsigned)v;
			break;
		case 'A':
			if (strcmp(optarg, "CMP_AND_SWAP") == 0)
				o->atomic = PERF_ATOMIC_CAS;
			else if (strcmp(optarg, "FETCH_AND_ADD") == 0)
				o->atomic = PERF_ATOMIC_FADD;
			else
				return perf_opt_bad(tool, "atomic type", optarg,
						    "need CMP_AND_SWAP or "
						    "FETCH_AND_ADD");
			break;
		case 't':
			if (perf_parse_ulong(optarg, 1, PERF_MAX_TX_DEPTH, &v))
				return perf_opt_bad(tool, "tx depth", optarg,
						    "need 1..65536");
			o->tx_depth = (uint32_t)v;
			break;
		case 'e':
			o->events = 1;
			break;
		case 'h':
			perf_usage(tool, stdout);
			return PERF_EXIT_OK;
		case ':':
			fprintf(stderr, "%s: option %s needs a value\n",
				tool->name, argv[optind - 1]);
			return PERF_EXIT_USAGE;
		default:
			fprintf(stderr, "%s: unknown option %s (try -h)\n",
				tool->name, argv[optind - 1]);
			return PERF_EXIT_USAGE;
		}
	}
	if (optind < argc)
		o->server = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (try -h)\n",
			tool->name, argv[optind]);
		return PERF_EXIT_USAGE;
	}
	return -1;
}

unsigned perf_opts_sizes(const struct perf_opts *o, size_t *sizes)
{
	unsigned n = 0;

	if (!o->all_sizes || o->tool->test == PERF_TEST_ATOMIC_LAT) {
		sizes[0] = o->size;
		return 1;
	}
	for (size_t s = 2; s <= PERF_MAX_SIZE; s <<= 1)
		sizes[n++] = s;
	return n;
}
