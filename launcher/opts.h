/*
 * skrun's command line and host lists, parsed into one plain structure.
 *
 * Kept apart from the launcher's process and fabric code so that every parser
 * of outside bytes here (argv, --host lists, hostfiles) can be unit-tested and
 * fuzzed on its own. Nothing in this file touches processes or the network.
 */
#ifndef SKIFF_LAUNCHER_OPTS_H
#define SKIFF_LAUNCHER_OPTS_H

#include <stdbool.h>
#include <stddef.h>

/* One host of the job and the nodes it may run. */
struct sk_host {
	char    *name;  /* as written: "node7", "10.0.0.2", "localhost" */
	unsigned slots; /* nodes it may run; 0 in a list means "not given" */
};

struct sk_host_list {
	struct sk_host *hosts;
	size_t          count;
};

enum sk_bind { SK_BIND_NONE = 0, SK_BIND_CORE };

/* --map-by: how ranks are spread over the hosts' slots (mpirun's names). */
enum sk_map {
	SK_MAP_SLOT = 0, /* fill each host's slots in turn (the default) */
	SK_MAP_NODE,     /* one rank per host in turn, round-robin */
	SK_MAP_CORE,     /* as slot, a rank per core: binds to cores */
};

/* Largest -n, --host entry count, slots per host and -x count we accept. */
#define SK_OPTS_MAX_NODES 4096
#define SK_OPTS_MAX_SLOTS 4096
#define SK_OPTS_MAX_ENV   256

struct sk_job_opts {
	unsigned    np;            /* -n/-np/-c; 0 = not given */
	struct sk_host_list hosts; /* from --host and/or --hostfile, in order */
	const char *hostfile;      /* --hostfile/--machinefile path, or NULL */
	const char *provider;      /* --provider rdma|ucx|auto, or NULL */
	const char *root;          /* --root DIR for the file service, or NULL */
	bool        tag_output;    /* --tag-output */
	bool        timestamp_output; /* --timestamp-output */
	bool        display_map;   /* --display-map */
	int         stdin_rank;    /* --stdin: the rank that reads stdin
	                            * (default 0), -1 none */
	bool        report_bindings; /* --report-bindings */
	bool        oversubscribe; /* --oversubscribe */
	enum sk_bind bind;         /* --bind-to core|none (default none; core
	                            * with --map-by core, as mpirun) */
	bool        bind_given;    /* --bind-to was given */
	bool        bind_overload; /* --bind-to core:overload-allowed */
	enum sk_map map_by;        /* --map-by slot|node|core */
	bool        map_by_given;  /* --map-by was given */
	unsigned    npernode;      /* -N/--npernode/--pernode; 0 = not given */
	unsigned    ppr;           /* --map-by ppr:N:node's N (becomes
	                            * npernode) */
	bool        ppr_given;
	const char *wdir;          /* --wdir/-wdir/-wd DIR, or NULL */
	char       *output_dir;    /* --output-filename DIR (allocated: the
	                            * ":nocopy" suffix is cut off), or NULL */
	bool        output_nocopy; /* ...:nocopy: files only, not the terminal */
	bool        merge_stderr;  /* --merge-stderr-to-stdout */
	bool        recovery;      /* --enable-recovery: a failed rank does
	                            * not end the job */
	const char *provider_env;  /* the value -x SKIFF_PROVIDER[=val] gives
	                            * the nodes (borrowed), or NULL */
	double      timeout_s;     /* --timeout S (> 0), 0 = none */
	char      **env;           /* -x VAR or -x VAR=val, in order */
	size_t      nenv;
	char      **argv;          /* the program and its arguments (borrowed
	                            * from the caller's argv) */
	int         argc;
	bool        help;          /* -h/--help was given: print usage, exit 0 */
	bool        version;       /* -V/-v/--version was given */
};

/*
 * Parse skrun's arguments (argv[0] is skrun itself). Options end at the first
 * non-option word or at "--"; the rest is the program and its arguments.
 * Both "--opt val" and "--opt=val" are accepted, and "-np" as in mpirun.
 * On error returns -1 and writes one line (no trailing newline) to @err,
 * e.g. "-n: 'abc' is not a number of nodes"; the caller prints it with the
 * usage hint and exits 2. Returns 0 otherwise (help/version only set flags).
 * Strings in @o are borrowed from @argv, except hosts and env, which are
 * allocated; free them with sk_opts_cleanup().
 */
int sk_opts_parse(int argc, char **argv, struct sk_job_opts *o, char *err,
		  size_t errlen);
void sk_opts_cleanup(struct sk_job_opts *o);

/* The usage text (for -h and after a usage error). */
const char *sk_opts_usage(void);

/*
 * Parse an mpirun --host value, "h1:2,h2,h3:4", appending to @list.
 * A host without ":N" gets 1 slot, as in Open MPI. Returns 0 or -1 with
 * @err set.
 */
int sk_hosts_parse(const char *arg, struct sk_host_list *list, char *err,
		   size_t errlen);

/*
 * Parse an Open MPI hostfile held in memory (@text, @len bytes, need not be
 * NUL-terminated), appending to @list. Lines are "host [slots=N]
 * [max_slots=N]"; '#' starts a comment; blank lines are skipped; a host
 * without slots= gets 1. Any other word, a bad number or a NUL byte is an
 * error naming the line: "hostfile line 3: 'slots=x' is not a slot count".
 * Returns 0 or -1 with @err set; on error @list is left as it was.
 */
int sk_hostfile_parse(const char *text, size_t len, struct sk_host_list *list,
		      char *err, size_t errlen);

/* Read the file at @path (at most 1 MiB) and parse it as above. */
int sk_hostfile_load(const char *path, struct sk_host_list *list, char *err,
		     size_t errlen);

void sk_host_list_cleanup(struct sk_host_list *list);

/* What sk_hosts_place is asked for. */
struct sk_place {
	unsigned    np;            /* 0: one per slot, or -N per host */
	enum sk_map map_by;
	unsigned    npernode;      /* -N; 0 = not given */
	bool        oversubscribe;
};

/*
 * Place nodes on @list as mpirun does. By slot (and core): fill the first
 * host's slots, then the next; by node: one rank per host in turn,
 * skipping hosts whose slots are full; with -N: N ranks on each host in
 * order (np defaults to N per host, and more than that is an error).
 * More ranks than slots is an error unless @p->oversubscribe; then the
 * excess goes round-robin over the hosts. With an empty list every rank
 * goes to "localhost" (index 0 in @host_of, although the list has no
 * entry 0) and the slots do not limit it.
 * @host_of_p  out: malloc'd array of *@np_p host indexes (into @list).
 * Returns 0 or -1 with @err set, outputs untouched.
 */
int sk_hosts_place(const struct sk_host_list *list, const struct sk_place *p,
		   unsigned *np_p, unsigned **host_of_p, char *err,
		   size_t errlen);

/*
 * mpirun's refusal to bind more processes than there are cores: with
 * --bind-to core, @nprocs ranks on host @host with @ncores cores is an
 * error unless --oversubscribe or --bind-to core:overload-allowed (or
 * --bind-to none, which does not bind at all). Returns 0 or -1 with @err
 * set (one line).
 */
int sk_bind_check(const struct sk_job_opts *o, const char *host,
		  unsigned nprocs, unsigned ncores, char *err, size_t errlen);

/*
 * Place @np nodes on @list by slot, as mpirun does: fill the first host's
 * slots, then the next. With an empty list every node goes to "localhost"
 * (index 0 in @host_of_p, although the list has no entry 0).
 * If @np exceeds the total slots, it is an error unless @oversubscribe, in
 * which case placement wraps round-robin. If @np is 0, it becomes the total
 * number of slots (1 with an empty list).
 * @host_of_p  out: malloc'd array of *@np_p host indexes (into @list).
 * Returns 0 or -1 with @err set.
 */
int sk_hosts_map(const struct sk_host_list *list, unsigned np,
		 bool oversubscribe, unsigned *np_p, unsigned **host_of_p,
		 char *err, size_t errlen);

/*
 * Slurm's allocation (slurm.c): inside salloc or sbatch, the nodes
 * (SLURM_JOB_NODELIST, a hostlist expression such as "node[01-03],gpu5")
 * with their tasks as slots (SLURM_TASKS_PER_NODE, "2(x3),1"), checked
 * against SLURM_JOB_NUM_NODES and SLURM_NTASKS where those are set, as
 * mpirun reads them. @get returns a variable's value or NULL (a getenv
 * wrapper, or a test's table). Returns 0 when there is no allocation
 * (SLURM_JOB_ID unset); 1 when there is one: @list (emptied first) gets
 * its hosts and *@ntasks the sum of their slots; -1 with @err set (one
 * line naming the variables) when the variables are missing, malformed
 * or contradict each other, @list then untouched.
 */
int sk_slurm_alloc(const char *(*get)(const char *name, void *arg), void *arg,
		   struct sk_host_list *list, unsigned *ntasks, char *err,
		   size_t errlen);

#endif /* SKIFF_LAUNCHER_OPTS_H */
