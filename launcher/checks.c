/*
 * skrun's refusals before any rank starts, as mpirun's are: a program that
 * this machine cannot run (said once for all its ranks, not once per
 * rank), a --wdir that is not there, and the warning for a -x VAR that
 * skrun's environment lacks. Nothing here starts a process; what the
 * remote hosts lack, their agents say (agent.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skiff/config.h>

#include "skrun.h"

char *sk_wdir;

/*
 * Whether execvp(@prog) would find something to run, searched as execvp
 * searches: @prog itself when it holds a '/' (relative to @wdir if one
 * is given, as the rank will chdir there first), else each directory of
 * @path. Returns 0 or the errno execvp would fail with. Done once per job
 * so that a missing program is said once, not once per rank.
 */
static int sk_prog_check(const char *prog, const char *wdir, const char *path)
{
	char buf[PATH_MAX];
	struct stat st;
	int found = ENOENT;

	if (strchr(prog, '/')) {
		if (prog[0] != '/' && wdir != NULL) {
			if (snprintf(buf, sizeof(buf), "%s/%s", wdir, prog) >=
			    (int)sizeof(buf))
				return ENAMETOOLONG;
			prog = buf;
		}
		if (stat(prog, &st) != 0)
			return errno;
		if (S_ISDIR(st.st_mode) || access(prog, X_OK) != 0)
			return EACCES;
		return 0;
	}
	if (path == NULL)
		path = "/bin:/usr/bin"; /* glibc's execvp default */
	while (*path) {
		size_t dl = strcspn(path, ":");

		if (snprintf(buf, sizeof(buf), "%.*s%s%s", (int)dl, path,
			     dl ? "/" : "", prog) < (int)sizeof(buf) &&
		    stat(buf, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(buf, X_OK) == 0)
				return 0;
			found = EACCES;
		}
		path += dl + (path[dl] == ':');
	}
	return found;
}

/* The PATH the ranks search: the last -x PATH=..., else skrun's. */
static const char *sk_job_path(const struct sk_job *job)
{
	const char *path = getenv("PATH");

	for (size_t k = 0; k < job->opts.nenv; k++)
		if (strncmp(job->opts.env[k], "PATH=", 5) == 0)
			path = job->opts.env[k] + 5;
	return path;
}

/* mpirun warns about -x VAR when skrun's environment has no VAR; the job
 * goes on and the ranks do not get it. */
void sk_warn_env(const struct sk_job *job)
{
	for (size_t k = 0; k < job->opts.nenv; k++) {
		const char *e = job->opts.env[k];

		if (strchr(e, '=') == NULL && getenv(e) == NULL)
			fprintf(stderr, "skrun: Warning: could not find "
					"environment variable \"%s\" (-x %s: "
					"the nodes will not have it)\n", e, e);
	}
}

/* --wdir: absolute (mpirun makes it so against its own directory), and
 * checked here when a rank runs on this machine. */
int sk_wdir_setup(const struct sk_job *job, bool any_local)
{
	const char *w = job->opts.wdir;
	char *cwd = NULL;
	struct stat st;

	if (w == NULL)
		return 0;
	if (w[0] == '/') {
		sk_wdir = strdup(w);
	} else {
		cwd = getcwd(NULL, 0);
		if (cwd == NULL || asprintf(&sk_wdir, "%s/%s", cwd, w) < 0)
			sk_wdir = NULL;
		free(cwd);
	}
	if (sk_wdir == NULL) {
		fprintf(stderr, "skrun: --wdir '%s': %s\n", w, strerror(errno));
		return SK_EXIT_USAGE;
	}
	if (!any_local)
		return 0;
	errno = 0;
	if (stat(sk_wdir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    access(sk_wdir, X_OK) != 0) {
		fprintf(stderr, "skrun: cannot change to the working directory "
				"'%s' on %s (--wdir): %s\n", sk_wdir,
			job->hostname, errno ? strerror(errno) :
					       strerror(ENOTDIR));
		return SK_EXIT_USAGE;
	}
	return 0;
}

/* The program, once for all the ranks that run here. */
int sk_prog_setup(const struct sk_job *job, unsigned nlocal,
		  const char *host)
{
	int e;

	if (nlocal == 0)
		return 0;
	e = sk_prog_check(job->opts.argv[0], sk_wdir, sk_job_path(job));
	if (e == 0)
		return 0;
	fprintf(stderr, "skrun: cannot start '%s' on %s: %s; %u rank%s could "
			"not start there\n", job->opts.argv[0], host,
		strerror(e), nlocal, nlocal == 1 ? "" : "s");
	return SK_EXIT_NOSTART;
}

static const char *sk_getenv(const char *name, void *arg)
{
	(void)arg;
	return getenv(name);
}

/*
 * Inside a Slurm allocation (SLURM_JOB_ID set) and with no --host or
 * --hostfile, the allocation is the job's host list, its tasks the
 * slots, and srun starts the ranks (spawn.c), as mpirun does inside one.
 * SKIFF_SLURM=no ignores it. Refused: variables that are missing,
 * malformed or contradict each other, no srun, or skrun itself inside a
 * step (srun skrun...: its ranks would be steps within a step).
 */
int sk_slurm_setup(struct sk_job *job)
{
	const char *mode = sk_config_str("SKIFF_SLURM");
	const char *srun = sk_config_str("SKIFF_SRUN");
	const char *step = getenv("SLURM_STEP_ID");
	struct sk_host_list list = {0};
	char err[512];
	unsigned ntasks;
	int rc;

	if (strcmp(mode, "no") == 0 || job->opts.hosts.count > 0 ||
	    job->opts.hostfile != NULL)
		return 0;
	if (strcmp(mode, "auto") != 0) {
		fprintf(stderr, "skrun: SKIFF_SLURM='%s' is not auto or no\n",
			mode);
		return SK_EXIT_USAGE;
	}
	rc = sk_slurm_alloc(sk_getenv, NULL, &list, &ntasks, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "skrun: inside a Slurm allocation, but %s\n",
			err);
		return SK_EXIT_USAGE;
	}
	if (step != NULL && strcmp(step, "4294967294") != 0 /* batch */ &&
	    strcmp(step, "4294967290") != 0 /* interactive */) {
		fprintf(stderr, "skrun: started as a task of Slurm step %s.%s "
				"(srun skrun ...?): run skrun itself in the "
				"allocation (salloc or sbatch), and it starts "
				"the ranks with srun; SKIFF_SLURM=no runs the "
				"ranks here without Slurm\n",
			getenv("SLURM_JOB_ID") ? getenv("SLURM_JOB_ID") : "?",
			step);
		sk_host_list_cleanup(&list);
		return SK_EXIT_USAGE;
	}
	if (sk_prog_check(srun, NULL, getenv("PATH")) != 0) {
		fprintf(stderr, "skrun: inside a Slurm allocation (SLURM_JOB_ID="
				"%s), but '%s' is not on PATH: skrun starts the "
				"ranks with it (SKIFF_SRUN names another; "
				"SKIFF_SLURM=no runs them here without Slurm)\n",
			getenv("SLURM_JOB_ID") ? getenv("SLURM_JOB_ID") : "?",
			srun);
		sk_host_list_cleanup(&list);
		return SK_EXIT_NOSTART;
	}
	sk_host_list_cleanup(&job->opts.hosts);
	job->opts.hosts = list;
	job->srun = true;
	/* In a batch script (its step has no SLURM_STEP_ID) skrun runs on
	 * a node of the allocation, SLURMD_NODENAME; under salloc it runs
	 * where salloc does, which may be no node of it. */
	if (step == NULL && getenv("SLURMD_NODENAME") != NULL) {
		const char *self = getenv("SLURMD_NODENAME");

		for (size_t i = 0; i < list.count; i++)
			if (strcmp(list.hosts[i].name, self) == 0)
				job->slurm_node = list.hosts[i].name;
	}
	return 0;
}
