/*
 * skrun: start a Skiff job, as mpirun does, and be its host.
 *
 * One process does it all around one event loop (libos's): it forks local
 * nodes (remote ones through ssh and `skrun --agent`), runs the bootstrap
 * listener (bootsrv.c), serves the nodes over the fabric (services.c), and
 * forwards what nodes write to their pipes (programs that do not link
 * Skiff, and anything written before boot or after a crash).
 *
 * This file is the job from its command line to its exit status: main,
 * the setup (placement, the secret, the fabric or none, the bootstrap
 * listener, then the ranks), the loop that runs until every rank has
 * exited and said all it had to, and the cleanup. Its parts (skrun.h):
 * checks.c refuses what cannot run before any rank starts, spawn.c starts
 * the ranks, output.c carries their output, jobctl.c ends the job and
 * chooses its exit status, agent.c is `skrun --agent`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <skiff/config.h>

#include <skiff/version.h>

#include "fileq.h"
#include "skrun.h"

/* The SKIFF_* table this file reads from (skiff/config.h). */
SK_CONFIG_USES(sk_os_config);

#define SKRUN_VERSION SKIFF_VERSION /* skiff/version.h: the one place */
/* How long skrun carries out what the nodes sent before they all ended
 * (the main loop says why). */
#define SKRUN_FILE_DRAIN_MS 10000ull

/* Why skrun runs without a fabric ("" when it has one). */
static char sk_nofabric[512];

/* ---- the fabric, or none ---- */

/*
 * Open the job's provider, keeping what it says on stderr: on success it
 * is replayed (a warning stays a warning); on failure it is the reason
 * kept in sk_nofabric, said when a Skiff rank needs the fabric, and not
 * printed otherwise, as mpirun says nothing about fabrics to `hostname`.
 */
static sk_status_t sk_fabric_open(struct sk_job *job, const char *prov,
				  const char *from)
{
	int saved, mfd = memfd_create("skrun-open", MFD_CLOEXEC);
	char said[384] = "";
	sk_status_t st;
	ssize_t got = 0;
	bool ka_set;

	fflush(stderr);
	saved = mfd >= 0 ? dup(STDERR_FILENO) : -1;
	if (saved >= 0)
		dup2(mfd, STDERR_FILENO);
	/* No keepalive checks from skrun (ucx; the nodes still check it):
	 * a node's exit status tells skrun of its death, and a check sent to
	 * a node that has just exited makes UCX say on stdout that it cannot
	 * reach the node (libos/README.md, "Nobody leaves too early"). Only
	 * for skrun's own device: the nodes do not inherit it. */
	ka_set = getenv("UCX_KEEPALIVE_INTERVAL") == NULL &&
		 setenv("UCX_KEEPALIVE_INTERVAL", "inf", 0) == 0;
	st = sk_dev_open(prov, NULL, &job->dev);
	if (ka_set)
		unsetenv("UCX_KEEPALIVE_INTERVAL");
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
		got = pread(mfd, said, sizeof(said) - 1, 0);
		said[got > 0 ? got : 0] = '\0';
	}
	if (mfd >= 0)
		close(mfd);
	if (st == SK_OK) {
		sk_write_all(STDERR_FILENO, said, strlen(said));
		return st;
	}
	/* One line: "skiff: " prefixes dropped, lines joined. */
	for (char *p = said; (p = strchr(p, '\n')) != NULL;)
		*p = p[1] ? ';' : '\0';
	snprintf(sk_nofabric, sizeof(sk_nofabric),
		 "cannot open the fabric (provider %s%s%s): %s%s%s%s", prov,
		 from ? ", from " : "", from ? from : "", sk_status_str(st),
		 said[0] ? " (" : "",
		 strncmp(said, "skiff: ", 7) == 0 ? said + 7 : said,
		 said[0] ? ")" : "");
	job->dev = NULL;
	return st;
}

/* ---- main ---- */

static bool sk_host_is_local(const struct sk_job *job, const char *h)
{
	size_t hl = strcspn(job->hostname, ".");

	return strcmp(h, "localhost") == 0 ||
	       strcmp(h, job->hostname) == 0 ||
	       (strlen(h) == hl && strncmp(h, job->hostname, hl) == 0);
}

/*
 * The job's provider and where it was chosen: --provider, -x
 * SKIFF_PROVIDER (opts.c made sure the two agree), SKIFF_PROVIDER, or
 * auto. NULL, said, for a SKIFF_PROVIDER that names none.
 */
static const char *sk_job_provider(const struct sk_job *job,
				   const char **from_p)
{
	const char *prov;

	*from_p = "--provider";
	if (job->opts.provider)
		return job->opts.provider;
	*from_p = "-x SKIFF_PROVIDER";
	if (job->opts.provider_env)
		return job->opts.provider_env;
	prov = sk_config_str("SKIFF_PROVIDER");
	*from_p = getenv("SKIFF_PROVIDER") ? "SKIFF_PROVIDER" : NULL;
	if (strcmp(prov, "rdma") && strcmp(prov, "ucx") &&
	    strcmp(prov, "auto")) {
		fprintf(stderr, "skrun: SKIFF_PROVIDER='%s' is not a provider "
				"(rdma, ucx or auto)\n", prov);
		return NULL;
	}
	return prov;
}

/*
 * skrun's per-rank state (struct sk_launch, skrun.h) for the placement in
 * @host_of: each rank's place among its host's ranks and among this
 * machine's (every local host is this machine: one set of cores).
 * Out: how many ranks run here, and the host name of the first.
 */
static int sk_launch_setup(struct sk_job *job, const unsigned *host_of,
			   unsigned *nlocal_p, const char **first_local_p)
{
	unsigned *per_host, r, nlocal = 0;

	sk_launch = calloc(job->size, sizeof(*sk_launch));
	per_host = calloc(job->opts.hosts.count + 1, sizeof(*per_host));
	if (sk_launch == NULL || per_host == NULL) {
		free(per_host);
		free(sk_launch);
		sk_launch = NULL;
		return SK_EXIT_LAUNCH;
	}
	*first_local_p = NULL;
	for (r = 0; r < job->size; r++) {
		struct sk_launch *l = &sk_launch[r];

		l->outfile[0] = l->outfile[1] = -1;
		l->host_rank = per_host[host_of[r]]++;
		if (job->node[r].local) {
			l->local_idx = nlocal++;
			if (*first_local_p == NULL)
				*first_local_p = job->node[r].host;
		}
	}
	for (r = 0; r < job->size; r++)
		sk_launch[r].host_size = per_host[host_of[r]];
	free(per_host);
	*nlocal_p = nlocal;
	return 0;
}

static int sk_job_setup(struct sk_job *job, const char *self)
{
	struct sk_place place = {.np = job->opts.np,
				 .map_by = job->opts.map_by,
				 .npernode = job->opts.npernode,
				 .oversubscribe = job->opts.oversubscribe};
	const char *prov, *from, *first_local, *why;
	struct sk_dev_attr attr;
	char err[512];
	unsigned *host_of = NULL, r, np, nlocal;
	bool remote = false;
	sigset_t set;
	sk_status_t st;
	size_t k;
	int rc;

	/* Block the signals skrun handles before any thread exists (UCX
	 * starts one when the device opens): threads inherit the mask, so
	 * the signals all wait for the signalfd. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sk_fd_limit_raise();
	gethostname(job->hostname, sizeof(job->hostname) - 1);
	sk_warn_env(job);
	prov = sk_job_provider(job, &from);
	if (prov == NULL)
		return SK_EXIT_USAGE;
	rc = sk_slurm_setup(job);
	if (rc != 0)
		return rc;
	if (sk_hosts_place(&job->opts.hosts, &place, &np, &host_of, err,
			   sizeof(err)) != 0) {
		fprintf(stderr, "skrun: %s\n", err);
		return SK_EXIT_USAGE;
	}
	if (job->opts.stdin_rank >= 0 && (unsigned)job->opts.stdin_rank >= np) {
		fprintf(stderr, "skrun: --stdin %d: the job has %u node%s "
				"(ranks 0 to %u)\n",
			job->opts.stdin_rank, np, np == 1 ? "" : "s", np - 1);
		return SK_EXIT_USAGE;
	}
	job->size = np;
	job->id = (uint64_t)getpid();
	job->node = calloc(np, sizeof(*job->node));
	if (job->node == NULL)
		return SK_EXIT_LAUNCH;
	for (r = 0; r < np; r++) {
		struct sk_hnode *n = &job->node[r];

		n->rank = r;
		n->job = job;
		n->host = job->opts.hosts.count ?
				  job->opts.hosts.hosts[host_of[r]].name :
				  "localhost";
		n->local = sk_host_is_local(job, n->host);
		/* Inside Slurm, as mpirun: the ranks of the node a batch
		 * script runs skrun on are forked (in the batch step, which
		 * Slurm tracks); every other host's ranks are one srun step
		 * (group.c). */
		if (job->slurm_node != NULL &&
		    strcmp(n->host, job->slurm_node) == 0)
			n->local = true;
		else
			n->srun = job->srun;
		remote |= !n->local;
		n->confirm_to = SK_NO_RANK;
		n->pipe[0].w.fd = n->pipe[1].w.fd = -1;
		sk_fsrv_files_init(&n->files);
	}
	rc = sk_launch_setup(job, host_of, &nlocal, &first_local);
	free(host_of);
	if (rc == 0)
		rc = sk_groups_setup(job);
	/* Each refusal before any rank starts, as mpirun's are. */
	if (rc != 0 || (rc = sk_bind_setup(job, nlocal)) != 0 ||
	    (rc = sk_wdir_setup(job, nlocal > 0)) != 0 ||
	    (rc = sk_prog_setup(job, nlocal, first_local)) != 0 ||
	    (rc = sk_outputs_open(job)) != 0)
		return rc;
	if (job->opts.display_map)
		sk_display_map(job);

	if (getrandom(job->secret, sizeof(job->secret), 0) !=
	    (ssize_t)sizeof(job->secret)) {
		fprintf(stderr, "skrun: getrandom: %s\n", strerror(errno));
		return SK_EXIT_LAUNCH;
	}
	for (k = 0; k < sizeof(job->secret); k++)
		sprintf(job->secret_hex + 2 * k, "%02x", job->secret[k]);
	/* sk_config_ulong says what is wrong with a bad value. */
	if (sk_config_ulong("SKIFF_BOOT_TIMEOUT_MS", 1, 3600000,
			    &job->boot_timeout_ms) != SK_OK)
		return SK_EXIT_USAGE;
	/* Read, and refused when bad, whatever the provider. */
	job->file_mem = sk_services_file_mem(np, &why);
	if (why != NULL)
		return SK_EXIT_USAGE;

	/* The nodes' files live beneath their working directory unless
	 * --root says otherwise (the file service runs here: a --wdir
	 * only remote hosts have leaves it in skrun's directory). */
	if (sk_fsrv_init(&job->fsrv,
			 job->opts.root ? job->opts.root :
			 nlocal > 0     ? sk_wdir :
					  NULL,
			 err, sizeof(err)) != 0) {
		fprintf(stderr, "skrun: %s\n", err);
		return SK_EXIT_USAGE;
	}
	if (job->fsrv.no_openat2)
		fprintf(stderr, "skrun: warning: the nodes' file service needs "
				"openat2(2) (Linux 5.6 or later), which this "
				"system refuses (%s): their file calls will "
				"fail with that error\n",
			strerror(job->fsrv.no_openat2));
	/* No fabric is no reason to refuse `skrun hostname` (mpirun does
	 * not); a Skiff rank is told why when it tries to boot. */
	if (sk_fabric_open(job, prov, from) == SK_OK) {
		sk_dev_query(job->dev, &attr);
		job->provider = attr.provider;
	} else {
		job->provider = prov;
	}
	st = sk_loop_create(job->dev, &job->loop);
	if (st != SK_OK)
		return SK_EXIT_LAUNCH;
	if (job->dev == NULL) {
		/* No arena, no services: the bootstrap only answers, and a
		 * Skiff rank's hello ends the job with the reason
		 * (sk_services_connect). */
		job->nofabric = sk_nofabric;
		goto bootsrv;
	}
	/* Per node: a channel's slots and a bulk area (attr is the device's,
	 * queried above). Where nodes map skrun's memory the area, with the
	 * file memory, is a memory file of its own (services.c,
	 * sk_services_bulk); the arena keeps room for the slices, which
	 * serve should making that file fail. */
	job->bulk_chunk = sk_services_bulk_chunk(np, !attr.direct_mem);
	/* File memory only where nodes map skrun's memory. */
	if (!attr.direct_mem)
		job->file_mem = 0;
	st = sk_arena_create(job->dev,
			     (size_t)np * (SK_HMSG_BULK_DEPTH *
					   (size_t)job->bulk_chunk +
					   (SK_HMSG_SLOTS + SK_CHAN_SEND_SLOTS) *
						   SK_HMSG_SLOT_SIZE + 8192) +
				     (1u << 20),
			     SK_ACCESS_LOCAL, &job->arena);
	if (st != SK_OK)
		return SK_EXIT_LAUNCH;
	rc = sk_fileq_init(job->loop);
	if (rc != 0) {
		fprintf(stderr, "skrun: file threads: %s\n", strerror(-rc));
		return SK_EXIT_LAUNCH;
	}

bootsrv:
	rc = sk_bootsrv_start(job, remote);
	if (rc != 0) {
		fprintf(stderr, "skrun: bootstrap listener: %s\n",
			strerror(-rc));
		return SK_EXIT_LAUNCH;
	}
	sk_jobctl_start(job, &set);
	for (r = 0; r < np; r++) {
		if (sk_launch[r].in_group)
			continue;
		rc = sk_spawn(job, &job->node[r]);
		if (rc < 0) {
			struct rlimit lim;

			if (rc == -EMFILE &&
			    getrlimit(RLIMIT_NOFILE, &lim) == 0)
				sk_job_abort(job, SK_EXIT_LAUNCH,
					     "cannot start rank %u: %s (each "
					     "rank started here takes 2 "
					     "descriptors; ulimit -n allows "
					     "%llu)", r, strerror(-rc),
					     (unsigned long long)lim.rlim_cur);
			else
				sk_job_abort(job, SK_EXIT_LAUNCH,
					     "cannot start rank %u: %s", r,
					     strerror(-rc));
			/* None of the rest starts: each is over, so that the
			 * loop waits only for the ranks that run. */
			for (unsigned q = 0; q < np; q++)
				if (job->node[q].pid == 0 &&
				    !job->node[q].exited)
					sk_jobctl_rank_exited(
						job, &job->node[q],
						SK_EXIT_LAUNCH << 8);
			return 0;
		}
	}
	sk_groups_start(job, self, sk_jobctl_rank_exited);
	for (r = 0; r < np && job->opts.report_bindings; r++)
		sk_report_binding(job, &job->node[r]);
	return 0;
}

/* The placement and --output-filename state, and --wdir. */
static void sk_launch_cleanup(struct sk_job *job)
{
	for (unsigned r = 0; sk_launch && r < job->size; r++)
		for (int s = 0; s < 2; s++)
			if (sk_launch[r].outfile[s] >= 0)
				close(sk_launch[r].outfile[s]);
	free(sk_launch);
	sk_launch = NULL;
	free(sk_wdir);
	sk_wdir = NULL;
}

static void sk_job_cleanup(struct sk_job *job)
{
	unsigned r, busy;

	sk_bootsrv_stop(job);
	/* What the nodes sent before they exited (a UCX keepalive check of
	 * its endpoint to us) is handled while that endpoint still stands:
	 * once it is gone, UCX answers through a new endpoint, which fails
	 * to reach the dead node and says so. */
	if (job->dev)
		sk_dev_drain(job->dev);
	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];

		sk_output_flush(job, n);
		sk_pipe_close(job, n, 0);
		sk_pipe_close(job, n, 1);
		if (n->rkey)
			sk_rkey_destroy(n->rkey);
		if (n->ep)
			sk_ep_destroy(n->ep);
	}
	/* A file thread may still wait in a system call for a node (a read
	 * from a FIFO nobody writes, a disk that does not answer): it keeps
	 * its node (files, the bulk buffer's memory in the arena) and the
	 * root until the exit that follows. It never touches the fabric, so
	 * the registrations and the device go in any case. */
	busy = sk_fileq_stop();
	busy += sk_services_files_cleanup(job, busy == 0);
	sk_groups_cleanup(job);
	sk_launch_cleanup(job);
	sk_loop_destroy(job->loop);
	if (busy == 0) {
		sk_arena_destroy(job->arena);
		sk_dev_close(job->dev);
		sk_fsrv_cleanup(&job->fsrv);
		free(job->node);
	} else {
		sk_arena_dereg(job->arena);
		sk_dev_close(job->dev);
	}
	if (job->sig_fd >= 0)
		close(job->sig_fd);
	sk_bind_cleanup();
	sk_opts_cleanup(&job->opts);
}

/* What sk_job_setup allocated before it gave up; no rank was started. */
static void sk_job_setup_undo(struct sk_job *job)
{
	/* The fabric and the file service, if it got that far (a zeroed
	 * sk_fsrv has root_fd 0: not ours to close). */
	sk_arena_destroy(job->arena);
	sk_loop_destroy(job->loop);
	sk_dev_close(job->dev);
	if (job->fsrv.root != NULL)
		sk_fsrv_cleanup(&job->fsrv);
	sk_groups_cleanup(job);
	sk_launch_cleanup(job);
	free(job->node);
	job->node = NULL;
	sk_bind_cleanup();
	sk_opts_cleanup(&job->opts);
}

/* What the parts below skrun's own tell it (job.h): they never call up. */
static const struct sk_job_ops sk_skrun_ops = {
	.abort = sk_jobctl_vabort,
	.output = sk_output_write,
};

int main(int argc, char **argv)
{
	/* Static: what a file thread still in a system call uses at the
	 * end (sk_job_cleanup) stays reachable until the exit. */
	static struct sk_job job = {.ops = &sk_skrun_ops, .listen_fd = -1,
				    .sig_fd = -1};
	char err[512], self[PATH_MAX];
	ssize_t sl;
	int rc;

	if (argc > 1 && strcmp(argv[1], "--agent") == 0)
		return sk_agent_main(argc, argv);
	if (sk_opts_parse(argc, argv, &job.opts, err, sizeof(err)) != 0) {
		fprintf(stderr, "skrun: %s\nTry 'skrun --help'.\n", err);
		return SK_EXIT_USAGE;
	}
	if (job.opts.help) {
		fputs(sk_opts_usage(), stdout);
		sk_opts_cleanup(&job.opts);
		return 0;
	}
	if (job.opts.version) {
		printf("skrun (Skiff) %s\n", SKRUN_VERSION);
		sk_opts_cleanup(&job.opts);
		return 0;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[sl > 0 ? sl : 0] = '\0';

	rc = sk_job_setup(&job, self);
	if (rc != 0) {
		sk_job_setup_undo(&job);
		return rc;
	}
	/* Run until every node has exited and said all it had to say, and
	 * every remote host's agent (its srun or ssh) has ended. A
	 * grandchild may hold a pipe open: after the last exit, wait for
	 * end-of-file on the pipes (and the agents' ends) for at most a
	 * second. What the nodes sent before they ended is taken and
	 * carried out too (sk_services_node_exited: console lines, writes
	 * that returned once sent), and the file threads finish what they
	 * have, for at most SKRUN_FILE_DRAIN_MS. */
	uint64_t drain_end = 0, file_end = 0;

	while (job.nexited < job.size || job.open_pipes > 0 ||
	       sk_groups_running() > 0 || sk_fileq_busy() ||
	       sk_services_draining(&job)) {
		int timeout = -1;

		if (job.nexited == job.size) {
			uint64_t now = sk_time_ns(), end = 0;

			if (drain_end == 0) {
				drain_end = now + 1000000000ull;
				file_end = now + SKRUN_FILE_DRAIN_MS * 1000000ull;
			}
			if ((job.open_pipes > 0 || sk_groups_running() > 0) &&
			    now < drain_end)
				end = drain_end;
			if ((sk_fileq_busy() || sk_services_draining(&job)) &&
			    now < file_end && file_end > end)
				end = file_end;
			if (end == 0)
				break;
			timeout = (int)((end - now) / 1000000 + 1);
		}
		/* While file threads work, sleep when idle: spinning here
		 * would take a core from them (and from the nodes). */
		if ((sk_fileq_busy() ? sk_loop_wait_once(job.loop, timeout) :
				       sk_loop_run_once(job.loop, timeout)) < 0)
			break;
	}
	sk_jobctl_last_signals(&job);
	rc = job.have_code ? job.exit_code : 0;
	sk_job_cleanup(&job);
	return rc;
}
