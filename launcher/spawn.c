/*
 * Starting processes. A local rank is forked and runs the program here,
 * bound to a core if asked, and writes into two pipes that output.c reads.
 * A remote host's ranks are one agent's (group.c): an ssh client, or srun
 * inside Slurm, that runs `skrun --agent --ranks LIST` there (agent.c),
 * given the job's environment on its command line and the job's secret
 * first on its stdin, the lifeline. Either way the process gets its own
 * process group, dies with skrun (PR_SET_PDEATHSIG), and starts with its
 * standard streams and nothing else of skrun's.
 *
 * Binding (--bind-to core, --report-bindings) needs this machine's
 * topology: sk_bind_setup loads it, and refuses to bind more ranks than
 * there are cores as mpirun does.
 */
#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <skiff/config.h>

#include "skrun.h"

static hwloc_topology_t sk_topo;

/* Quote @s for a POSIX shell (the remote side of ssh). */
static void sk_shell_quote(char **cmd, size_t *len, const char *s)
{
	size_t need = *len + 4 * strlen(s) + 4;
	char *p;

	*cmd = realloc(*cmd, need);
	if (*cmd == NULL)
		abort(); /* launch-time only */
	p = *cmd + *len;
	*p++ = ' ';
	*p++ = '\'';
	for (; *s; s++) {
		if (*s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	*p++ = '\'';
	*p = '\0';
	*len = (size_t)(p - *cmd);
}

/*
 * In the child, before exec: a rank starts with its standard streams and
 * nothing else of skrun's. UCX, libibverbs and hwloc open descriptors
 * without O_CLOEXEC (UCX's listening sockets, epoll sets, pipes), and a
 * node holding them keeps skrun's sockets open after skrun closes them.
 * close_range marks every descriptor above 2 close-on-exec in one system
 * call; before Linux 5.11, fcntl does it one at a time. Both are safe
 * between fork and exec, which malloc and opendir are not.
 */
static void sk_child_cloexec(void)
{
	int fd;

	if (close_range(3, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	for (fd = 3; fd < 65536; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

/* A growing argv, NULL-terminated; launch-time only, so abort on ENOMEM. */
struct sk_argv {
	char **v;
	size_t n, cap;
};

static void sk_argv_add(struct sk_argv *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? 2 * a->cap : 32;
		a->v = realloc(a->v, a->cap * sizeof(*a->v));
		if (a->v == NULL)
			abort();
	}
	a->v[a->n] = strdup(s);
	if (a->v[a->n] == NULL)
		abort();
	a->v[++a->n] = NULL;
}

/*
 * In the child: `skrun --agent [--chdir DIR | --wdir DIR] [--merge]
 * --ranks LIST --secret-stdin VAR=val... -- prog args`, the command line
 * of a remote host's agent, which runs the ranks of LIST there. The job's
 * secret comes on the agent's stdin, never in a command line (ps,
 * /proc/PID/cmdline on either host).
 */
static char **sk_agent_argv(struct sk_job *job, char **env_add, size_t nenv,
			    const char *self, const char *ranks)
{
	struct sk_argv a = {0};
	char *cwd = getcwd(NULL, 0);
	size_t k;
	int i;

	sk_argv_add(&a, self);
	sk_argv_add(&a, "--agent");
	if (sk_wdir != NULL) { /* --wdir: there, or not at all */
		sk_argv_add(&a, "--chdir");
		sk_argv_add(&a, sk_wdir);
	} else if (cwd != NULL) { /* where skrun runs, if it can */
		sk_argv_add(&a, "--wdir");
		sk_argv_add(&a, cwd);
	}
	if (job->opts.merge_stderr)
		sk_argv_add(&a, "--merge");
	sk_argv_add(&a, "--ranks");
	sk_argv_add(&a, ranks);
	sk_argv_add(&a, "--secret-stdin");
	/* skrun's own SKIFF_* and UCX_* settings, as local nodes inherit
	 * them (mpirun forwards its MCA settings the same way); the job's
	 * SKIFF_* variables below come last and win. */
	for (char **ev = environ; *ev; ev++)
		if ((strncmp(*ev, "SKIFF_", 6) == 0 ||
		     strncmp(*ev, "UCX_", 4) == 0) &&
		    strncmp(*ev, "SKIFF_SSH=", 10) != 0 && !sk_is_secret(*ev))
			sk_argv_add(&a, *ev);
	for (k = 0; k < nenv; k++)
		if (!sk_is_secret(env_add[k]))
			sk_argv_add(&a, env_add[k]);
	/* -x: Skiff nodes also get these at boot; programs that do not link
	 * Skiff only from the agent. */
	for (k = 0; k < job->opts.nenv; k++) {
		const char *e = job->opts.env[k], *v;
		char *kv = NULL;

		if (strchr(e, '=') != NULL) {
			sk_argv_add(&a, e);
		} else if ((v = getenv(e)) != NULL) {
			if (asprintf(&kv, "%s=%s", e, v) < 0)
				abort();
			sk_argv_add(&a, kv);
			free(kv);
		}
	}
	sk_argv_add(&a, "--");
	for (i = 0; i < job->opts.argc; i++)
		sk_argv_add(&a, job->opts.argv[i]);
	free(cwd);
	return a.v;
}

/*
 * $SKIFF_SSH HOST "skrun --agent ...". The remote command is one word,
 * quoted once for the remote shell; the local sh only parses $SKIFF_SSH
 * (which may hold quotes) and gets HOST and that word as "$@", so nothing
 * is unquoted twice.
 */
static void sk_exec_ssh(const char *host, char **av)
{
	const char *ssh = sk_config_str("SKIFF_SSH");
	char *cmd = NULL, *sh = NULL;
	size_t len = 0;

	for (; *av; av++)
		sk_shell_quote(&cmd, &len, *av);
	if (asprintf(&sh, "exec %s -o BatchMode=yes \"$@\"", ssh) < 0)
		_exit(127);
	execl("/bin/sh", "sh", "-c", sh, "sh", host, cmd + 1, (char *)NULL);
	fprintf(stderr, "skrun: cannot run ssh: %s\n", strerror(errno));
	_exit(127);
}

/*
 * Inside a Slurm allocation: `srun` runs the agent as a one-task step on
 * @host, the agent runs every rank skrun places there (group.c), and Slurm
 * places, tracks, signals and accounts for them (scontrol listpids,
 * sstat), as mpirun's one orted per node. --overlap: the step shares the
 * allocation's CPUs with any other. Its stdin is the lifeline, forwarded
 * to the one task; its stdout carries the agent's frames, --unbuffered
 * so that srun passes them on as they come rather than by lines. No
 * shell: the arguments go as they are.
 */
static void sk_exec_srun(const char *host, char **av)
{
	const char *srun = sk_config_str("SKIFF_SRUN");
	struct sk_argv a = {0};
	char *nodelist = NULL, *name = NULL;

	if (asprintf(&nodelist, "--nodelist=%s", host) < 0 ||
	    asprintf(&name, "--job-name=skiff.%s", host) < 0)
		_exit(127);
	sk_argv_add(&a, srun);
	sk_argv_add(&a, "--nodes=1");
	sk_argv_add(&a, "--ntasks=1");
	sk_argv_add(&a, nodelist);
	sk_argv_add(&a, name);
	sk_argv_add(&a, "--overlap");
	sk_argv_add(&a, "--unbuffered");
	sk_argv_add(&a, "--quiet");
	sk_argv_add(&a, "--");
	for (; *av; av++)
		sk_argv_add(&a, *av);
	execvp(srun, a.v);
	fprintf(stderr, "skrun: cannot run %s: %s\n", srun, strerror(errno));
	_exit(127);
}

/* skrun's descriptor limit as it was started, which every process it
 * starts gets back (sk_fd_limit_raise). */
static struct rlimit sk_nofile;
static bool sk_nofile_raised;

void sk_fd_limit_raise(void)
{
	struct rlimit raised;

	if (getrlimit(RLIMIT_NOFILE, &sk_nofile) != 0 ||
	    sk_nofile.rlim_cur >= sk_nofile.rlim_max)
		return;
	raised = sk_nofile;
	raised.rlim_cur = raised.rlim_max;
	sk_nofile_raised = setrlimit(RLIMIT_NOFILE, &raised) == 0;
}

/* In a child: what every launched process starts from. */
static void sk_child_reset(void)
{
	sigset_t all;

	if (sk_nofile_raised)
		setrlimit(RLIMIT_NOFILE, &sk_nofile);

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sk_child_cloexec();
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	/* The signals skrun forwards reach a rank (or its ssh) with their
	 * default action, as mpirun's do, even when skrun itself was started
	 * with them ignored: a background job of a shell without job control
	 * ignores SIGINT and SIGQUIT, and exec keeps an ignored signal
	 * ignored. A rank that handles them (skcached's) installs its own. */
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}

/* In the child: a local rank's binding, environment, directory, program. */
/* The core a local rank is bound to with --bind-to core: its index among
 * this machine's ranks, round the cores (sk_topo loaded). */
static unsigned sk_core_of(const struct sk_hnode *n)
{
	int ncores = hwloc_get_nbobjs_by_type(sk_topo, HWLOC_OBJ_CORE);

	return ncores > 0 ? sk_launch[n->rank].local_idx % (unsigned)ncores :
			    0;
}

static void sk_child_exec(struct sk_job *job, struct sk_hnode *n,
			  char **env_add, size_t nenv)
{
	size_t k;

	sk_child_reset();
	if (job->opts.bind == SK_BIND_CORE) {
		hwloc_obj_t core = hwloc_get_obj_by_type(
			sk_topo, HWLOC_OBJ_CORE, sk_core_of(n));

		if (core && hwloc_set_cpubind(sk_topo, core->cpuset,
					      HWLOC_CPUBIND_PROCESS) != 0)
			fprintf(stderr, "skrun: rank %u: cannot bind to core "
					"%u: %s\n", n->rank, core->logical_index,
				strerror(errno));
	}

	for (k = 0; k < nenv; k++)
		putenv(env_add[k]);
	/* -x VAR=val for programs that do not link Skiff (Skiff nodes get it
	 * again at boot); -x VAR is inherited as it is. */
	for (k = 0; k < job->opts.nenv; k++)
		if (strchr(job->opts.env[k], '='))
			putenv(job->opts.env[k]);
	/* Checked before any rank started; this is only a race. */
	if (sk_wdir && chdir(sk_wdir) != 0) {
		fprintf(stderr, "skrun: cannot change to the working directory "
				"'%s' on %s (--wdir): %s\n",
			sk_wdir, n->host, strerror(errno));
		_exit(SK_EXIT_NOSTART);
	}
	execvp(job->opts.argv[0], job->opts.argv);
	fprintf(stderr, "skrun: cannot start '%s' on %s: %s\n",
		job->opts.argv[0], n->host, strerror(errno));
	_exit(127);
}

/*
 * The job's secret, first on an agent's lifeline @fd (--secret-stdin): a
 * fresh pipe takes these ~80 bytes at once. If ssh or srun is gone
 * already, its exit status says why; nothing to add here. What follows
 * are signals for the agent (jobctl.c): never wait on one that does not
 * read.
 */
static void sk_give_secret(struct sk_job *job, int fd, const char *host)
{
	char line[sizeof(SK_ENV_SECRET) + 2 * SK_BOOT_SECRET_LEN + 2];
	int l = snprintf(line, sizeof(line), "%s=%s\n", SK_ENV_SECRET,
			 job->secret_hex);

	if (write(fd, line, (size_t)l) != l && errno != EPIPE)
		fprintf(stderr, "skrun: cannot give the agent on %s the job's "
				"secret: %s\n", host, strerror(errno));
	explicit_bzero(line, sizeof(line));
	fcntl(fd, F_SETFL, O_NONBLOCK);
}

/* What every rank's environment gets from skrun, into @env (at least 8
 * slots); *@nenv_p counts them. 0, or -ENOMEM. */
static int sk_env_common(struct sk_job *job, char **env, size_t *nenv_p)
{
	size_t nenv = 0;

	if (asprintf(&env[nenv++], "%s=%s", SK_ENV_BOOTSTRAP,
		     job->boot_addr) < 0 ||
	    asprintf(&env[nenv++], "%s=%s", SK_ENV_SECRET,
		     job->secret_hex) < 0 ||
	    asprintf(&env[nenv++], "%s=%u", SK_ENV_SIZE, job->size) < 0 ||
	    asprintf(&env[nenv++], "%s=%llu", SK_ENV_JOBID,
		     (unsigned long long)job->id) < 0 ||
	    asprintf(&env[nenv++], "SKIFF_PROVIDER=%s", job->provider) < 0) {
		for (size_t k = 0; k + 1 < nenv; k++)
			free(env[k]); /* env[nenv - 1] failed */
		return -ENOMEM;
	}
	*nenv_p = nenv;
	return 0;
}

int sk_spawn(struct sk_job *job, struct sk_hnode *n)
{
	char *env[16];
	size_t nenv = 0, k;
	int out[2], err[2];
	pid_t pid;

	if (sk_env_common(job, env, &nenv) != 0 ||
	    asprintf(&env[nenv++], "%s=%u", SK_ENV_RANK, n->rank) < 0 ||
	    /* As mpirun's OMPI_COMM_WORLD_LOCAL_RANK and _SIZE: where
	     * --map-by and -N put the rank among its host's. */
	    asprintf(&env[nenv++], "SKIFF_LOCAL_RANK=%u",
		     sk_launch[n->rank].host_rank) < 0 ||
	    asprintf(&env[nenv++], "SKIFF_LOCAL_SIZE=%u",
		     sk_launch[n->rank].host_size) < 0)
		return -ENOMEM;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		/* Merged, one pipe keeps the order the node wrote in. */
		dup2(job->opts.merge_stderr ? out[1] : err[1], STDERR_FILENO);
		if ((int)n->rank != job->opts.stdin_rank) {
			/* Like mpirun: stdin goes to one rank, 0 unless
			 * --stdin says otherwise. */
			int in = open("/dev/null", O_RDONLY);

			if (in >= 0)
				dup2(in, STDIN_FILENO);
		}
		sk_child_exec(job, n, env, nenv);
	}
	for (k = 0; k < nenv; k++)
		free(env[k]);
	close(out[1]);
	close(err[1]);
	n->pid = pid;
	setpgid(pid, pid); /* also here: no race with signal_all */
	for (k = 0; k < 2; k++) {
		struct sk_pipe *p = &n->pipe[k];

		p->w = (struct sk_watch){.fd = k ? err[0] : out[0],
					 .events = POLLIN,
					 .cb = sk_pipe_readable};
		p->node = n;
		p->stream = (int)k + 1;
		fcntl(p->w.fd, F_SETFL, O_NONBLOCK);
		sk_watch_start(job->loop, &p->w);
	}
	job->open_pipes += 2;
	return 0;
}

void sk_report_binding(struct sk_job *job, struct sk_hnode *n)
{
	int ncores = hwloc_get_nbobjs_by_type(sk_topo, HWLOC_OBJ_CORE);
	unsigned core = sk_core_of(n);
	hwloc_obj_t obj = hwloc_get_obj_by_type(sk_topo, HWLOC_OBJ_CORE, core);
	char set[128] = "";
	int i;

	for (i = 0; i < ncores && i < 64; i++)
		strcat(set, i == (int)core ? "[B]" : "[.]");
	if (job->opts.bind == SK_BIND_NONE || obj == NULL)
		fprintf(stderr, "[%s:%d] rank %u is not bound\n", job->hostname,
			(int)getpid(), n->rank);
	else
		fprintf(stderr, "[%s:%d] rank %u bound to core %u (PU %s): "
				"%s\n",
			job->hostname, (int)getpid(), n->rank, core,
			hwloc_bitmap_first(obj->cpuset) >= 0 ? "first" : "?",
			set);
}

/*
 * --display-map: where each rank runs, before any starts, on stdout, in
 * the shape of Open MPI 4.1's JOB MAP: each host with its slots and
 * ranks, each rank with its binding (a local rank's core, as
 * sk_child_exec picks it; a remote one's is its agent's to pick).
 */
/* Host @h's slots as the map shows them: given, 1 by default, or the
 * job's size where no host was named. */
static unsigned sk_map_slots(const struct sk_job *job, size_t h)
{
	const struct sk_host_list *hl = &job->opts.hosts;

	if (hl->count == 0)
		return job->size;
	return hl->hosts[h].slots ? hl->hosts[h].slots : 1;
}

void sk_display_map(struct sk_job *job)
{
	const struct sk_host_list *hl = &job->opts.hosts;
	size_t nh = hl->count ? hl->count : 1, h;
	unsigned long long total = 0;
	unsigned r;

	for (h = 0; h < nh; h++)
		total += sk_map_slots(job, h);
	printf(" Data for JOB [%llu,1] offset 0 Total slots allocated %llu\n\n"
	       " ========================   JOB MAP   ========================"
	       "\n",
	       (unsigned long long)job->id, total);
	for (h = 0; h < nh; h++) {
		const char *name = hl->count ? hl->hosts[h].name : "localhost";
		unsigned procs = 0;

		/* A host named twice is one entry per name here, as its
		 * ranks are placed (hosts.c merges them before). */
		for (r = 0; r < job->size; r++)
			procs += strcmp(job->node[r].host, name) == 0;
		printf("\n Data for node: %s\tNum slots: %u\tMax slots: 0\t"
		       "Num procs: %u\n",
		       strcmp(name, "localhost") == 0 ? job->hostname : name,
		       sk_map_slots(job, h), procs);
		for (r = 0; r < job->size; r++) {
			struct sk_hnode *n = &job->node[r];

			if (strcmp(n->host, name) != 0)
				continue;
			printf(" \tProcess jobid: [%llu,1] App: 0 Process "
			       "rank: %u Bound: ",
			       (unsigned long long)job->id, r);
			if (job->opts.bind != SK_BIND_CORE)
				printf("UNBOUND\n");
			else if (n->local)
				printf("core %u\n", sk_core_of(n));
			else
				printf("a core, picked on its host\n");
		}
	}
	printf("\n ============================================================="
	       "\n");
	fflush(stdout);
}

/* ---- the cores ---- */

/* mpirun's refusal to bind more ranks than this machine has cores. */
int sk_bind_setup(const struct sk_job *job, unsigned nlocal)
{
	char err[512];
	int ncores;

	if (job->opts.bind != SK_BIND_CORE && !job->opts.report_bindings)
		return 0;
	hwloc_topology_init(&sk_topo);
	hwloc_topology_load(sk_topo);
	ncores = hwloc_get_nbobjs_by_type(sk_topo, HWLOC_OBJ_CORE);
	if (ncores < 1)
		ncores = 1;
	if (sk_bind_check(&job->opts, job->hostname, nlocal, (unsigned)ncores,
			  err, sizeof(err)) != 0) {
		fprintf(stderr, "skrun: %s\n", err);
		return SK_EXIT_USAGE;
	}
	return 0;
}

void sk_bind_cleanup(void)
{
	if (sk_topo)
		hwloc_topology_destroy(sk_topo);
	sk_topo = NULL;
}

int sk_spawn_group(struct sk_job *job, const char *host, bool srun,
		   const char *ranks, const char *self,
		   struct sk_group_proc *p)
{
	char *env[16];
	size_t nenv = 0, k;
	int out[2], err[2], lifeline[2];
	pid_t pid;

	if (sk_env_common(job, env, &nenv) != 0)
		return -ENOMEM;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
	    pipe2(lifeline, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		dup2(lifeline[0], STDIN_FILENO);
		sk_child_reset();
		if (srun)
			sk_exec_srun(host, sk_agent_argv(job, env, nenv, self,
							 ranks));
		sk_exec_ssh(host, sk_agent_argv(job, env, nenv, self, ranks));
	}
	for (k = 0; k < nenv; k++)
		free(env[k]);
	close(out[1]);
	close(err[1]);
	close(lifeline[0]);
	setpgid(pid, pid); /* also here: no race with a signal */
	sk_give_secret(job, lifeline[1], host);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	*p = (struct sk_group_proc){.pid = pid, .lifeline = lifeline[1],
				   .out = out[0], .err = err[0]};
	return 0;
}
