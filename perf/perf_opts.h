/*
 * The perf tools' command line: the options perftest's ib_* tools take,
 * each tool's identity and defaults, the limits the exchange also checks,
 * and the exit statuses scripts rely on.
 *
 * Nothing here touches Skiff verbs: perf/compare/ucp_get_lat, a plain
 * UCX program, parses its counts with perf_parse_ulong() and exits with
 * the same statuses.
 */
#ifndef SKIFF_PERF_OPTS_H
#define SKIFF_PERF_OPTS_H

#include <stddef.h>
#include <stdint.h>

#define PERF_DEFAULT_PORT  18515
#define PERF_MAX_SIZE      (1ul << 23) /* -a goes up to this, as perftest */
#define PERF_MAX_SIZE_S    (1ul << 30) /* largest -s */
#define PERF_MAX_ITERS     10000000ul  /* timestamps are kept in memory */
#define PERF_MAX_TX_DEPTH  65536u

/* Exit statuses of every tool; scripts rely on them. */
enum perf_exit {
	PERF_EXIT_OK        = 0,
	PERF_EXIT_FAIL      = 1, /* the test or a verification failed */
	PERF_EXIT_USAGE     = 2, /* bad command line */
	PERF_EXIT_PORT_BUSY = 3, /* server: the TCP port is taken */
};

/* Which tool is running; both sides must run the same one. */
enum perf_test {
	PERF_TEST_WRITE_LAT = 1,
	PERF_TEST_READ_LAT,
	PERF_TEST_ATOMIC_LAT,
	PERF_TEST_WRITE_BW,
	PERF_TEST_PINGPONG,
	PERF_TEST_CONN_RATE,
};

/* Options a tool accepts beyond the common ones (-s -n -p -d --provider). */
enum perf_opt_flags {
	PERF_OPT_ALL      = 1u << 0, /* -a */
	PERF_OPT_ATOMIC   = 1u << 1, /* -A CMP_AND_SWAP|FETCH_AND_ADD */
	PERF_OPT_TX_DEPTH = 1u << 2, /* -t */
	PERF_OPT_EVENTS   = 1u << 3, /* -e: sleep on the completion channel */
	PERF_OPT_CHAIN    = 1u << 4, /* --chain: dependent reads per sample */
};

#define PERF_MAX_CHAIN 16

enum perf_atomic {
	PERF_ATOMIC_FADD = 0,
	PERF_ATOMIC_CAS  = 1,
};

/* A tool's identity and defaults; one const instance per program. */
struct perf_tool {
	const char *name;       /* "sk_write_lat", used in messages */
	const char *title;      /* "RDMA_Write Latency Test" */
	enum perf_test test;
	unsigned opts;          /* enum perf_opt_flags */
	size_t def_size;
	unsigned long def_iters;
	unsigned long min_iters;
	size_t min_size;
	unsigned slots;         /* buffers of the message size to register */
};

/* The command line, after perf_opts_parse(). */
struct perf_opts {
	const struct perf_tool *tool;
	const char *server;     /* client: the server's host; server: NULL */
	const char *provider;   /* NULL: $SKIFF_PROVIDER */
	const char *device;     /* NULL: $SKIFF_DEVICE */
	unsigned port;
	size_t size;
	unsigned long iters;
	uint32_t tx_depth;
	int all_sizes;
	int atomic;             /* enum perf_atomic */
	int events;
	int alloc;              /* --alloc: memory from sk_mr_alloc */
	unsigned chain;         /* --chain: reads in a row per sample (1) */
};

/* A count with an optional k/m/g suffix (powers of 1024) in @min..@max.
 * Returns 0 and sets *@val_p, or -1 (nothing printed). */
int perf_parse_ulong(const char *text, unsigned long min, unsigned long max,
		     unsigned long *val_p);

/*
 * Parse argv for @tool into @o. Returns -1 when the program should go on,
 * or an exit status (PERF_EXIT_OK after -h, PERF_EXIT_USAGE after a
 * message). Also makes stdout line-buffered, for scripts that prefix it.
 */
int perf_opts_parse(struct perf_opts *o, const struct perf_tool *tool,
		    int argc, char **argv);

/* The message sizes to run: either opts->size or 2..PERF_MAX_SIZE with -a.
 * Returns how many were written to @sizes (room for 32). */
unsigned perf_opts_sizes(const struct perf_opts *o, size_t *sizes);

#endif /* SKIFF_PERF_OPTS_H */
