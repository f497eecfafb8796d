/*
 * Job control, as mpirun's: how the job ends and with which exit status.
 * The first rank that fails (non-zero exit, signal, or a Skiff node
 * exiting without finalizing) aborts the job, unless --enable-recovery
 * (then it is reported, its status is the job's, and the rest run on):
 * the others get SIGTERM,
 * then SIGKILL after SKIFF_KILL_GRACE_MS, and skrun exits with that
 * rank's code (128 + signal for a signal). SIGINT, SIGTERM and SIGHUP are
 * forwarded to the ranks, whose statuses then make the job's (0 when
 * every rank handled the signal and exited 0); --timeout ends the job with 124. Every signal
 * skrun handles arrives through one signalfd on the loop, SIGCHLD too:
 * each rank's exit is reaped and explained here.
 *
 * The parts below skrun abort the job through sk_job_abort (job.c), which
 * comes here through the ops skrun hands down (sk_jobctl_vabort).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <skiff/config.h>

#include "skrun.h"

/* Every running rank: its process group, or, for a remote host's ranks,
 * their agent, through its lifeline (group.c). */
static void sk_job_signal_all(struct sk_job *job, int sig)
{
	unsigned r;

	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];

		if (n->pid <= 0 || n->exited || sk_launch[r].in_group)
			continue;
		kill(-n->pid, sig); /* its process group */
	}
	sk_groups_signal(job, sig);
}

/* A rank still running (@fin: and finalized). */
static bool sk_rank_in(const struct sk_hnode *h, bool fin)
{
	return !h->exited && (!fin || h->finalized);
}

/*
 * The ranks sk_rank_in() takes, as ranges ("0-3,7,9-10") in @buf, cut with
 * "..." if they do not fit; returns how many there are.
 */
static unsigned sk_ranks_list(const struct sk_job *job, bool fin, char *buf,
			      size_t cap)
{
	size_t len = 0;
	unsigned n = 0, r, first;

	buf[0] = '\0';
	for (r = 0; r < job->size; r++) {
		if (!sk_rank_in(&job->node[r], fin))
			continue;
		first = r;
		while (r + 1 < job->size && sk_rank_in(&job->node[r + 1], fin))
			r++;
		n += r - first + 1;
		if (len >= cap)
			continue;
		if (first == r)
			len += (size_t)snprintf(buf + len, cap - len, "%s%u",
						len ? "," : "", r);
		else
			len += (size_t)snprintf(buf + len, cap - len,
						"%s%u-%u", len ? "," : "",
						first, r);
	}
	if (len >= cap)
		memcpy(buf + cap - 4, "...", 4);
	return n;
}

/*
 * Which ranks a stop finds still running, and which of those had
 * finalized (their program ended; libos was closing), as @buf: " (6 of 16
 * ranks still running: 0-3,9,12; finalizing: 9)", or "" when none is.
 * What a hung job leaves to look at, as mpirun's --report-state-on-timeout.
 */
static const char *sk_job_running(const struct sk_job *job, char *buf,
				  size_t cap)
{
	char all[256], fin[256];
	unsigned n = sk_ranks_list(job, false, all, sizeof(all));
	unsigned nf = sk_ranks_list(job, true, fin, sizeof(fin));

	buf[0] = '\0';
	if (n > 0)
		snprintf(buf, cap, " (%u of %u rank%s still running: %s%s%s)",
			 n, job->size, job->size == 1 ? "" : "s", all,
			 nf ? "; finalizing: " : "", nf ? fin : "");
	return buf;
}

static void sk_job_kill_timer(struct sk_timer *t)
{
	struct sk_job *job = (struct sk_job *)((char *)t -
					       offsetof(struct sk_job, kill_t));

	job->killed = true;
	sk_job_signal_all(job, SIGKILL);
}

static void sk_job_set_code(struct sk_job *job, int code)
{
	if (!job->have_code) {
		job->exit_code = code;
		job->have_code = true;
	}
}

/* Stop the job: SIGTERM (or @sig) now, SIGKILL after the grace period. */
static void sk_job_stop(struct sk_job *job, int sig)
{
	unsigned long grace;

	if (job->aborting)
		return;
	job->aborting = true;
	if (sk_config_ulong("SKIFF_KILL_GRACE_MS", 0, 60000, &grace) != SK_OK)
		grace = 300;
	sk_job_signal_all(job, sig);
	job->kill_t.cb = sk_job_kill_timer;
	sk_timer_start(job->loop, &job->kill_t, grace);
	sk_bootsrv_check(job);
}

/* sk_job_abort's, through the job's ops. */
__attribute__((format(printf, 3, 0))) void
sk_jobctl_vabort(struct sk_job *job, int code, const char *fmt, va_list ap)
{
	if (job->aborting)
		return;
	fputs("skrun: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("; aborting the job\n", stderr);
	sk_job_set_code(job, code);
	sk_job_stop(job, SIGTERM);
}

static void sk_job_timeout(struct sk_timer *t)
{
	struct sk_job *job = (struct sk_job *)((char *)t -
					       offsetof(struct sk_job,
							timeout_t));
	char running[600];

	if (job->aborting)
		return;
	fprintf(stderr, "skrun: the job timed out after %g s (--timeout); "
			"killing it%s\n", job->opts.timeout_s,
		sk_job_running(job, running, sizeof(running)));
	sk_job_set_code(job, SK_EXIT_TIMEOUT);
	sk_job_stop(job, SIGTERM);
}

/* ---- a rank that exits ---- */

/*
 * A rank's non-zero exit that says more than its status: ssh that could
 * not reach the host (its exit 255, before the agent said a word), a
 * program that could not start there (the agent's 127), or a failure on a
 * host without a fabric. Each is said once per host, with the ranks it
 * takes, and aborts the job. Returns false for an ordinary exit status.
 */
static bool sk_exit_explained(struct sk_job *job, struct sk_hnode *n,
			      int code)
{
	struct sk_launch *l = &sk_launch[n->rank];
	unsigned count = l->host_size;

	if (n->srun && code != 0 && !l->agent_seen) {
		sk_job_abort(job, SK_EXIT_NOSTART,
			     "srun could not start skrun --agent on %s (it "
			     "exited %d before the agent said a word; see its "
			     "message above); %u rank%s could not start there",
			     n->host, code, count, count == 1 ? "" : "s");
		return true;
	}
	if (!n->local && code == 255 && !l->agent_seen) {
		sk_job_abort(job, SK_EXIT_NOSTART,
			     "ssh to %s failed (the ssh client exited 255 "
			     "before skrun --agent started there: it could "
			     "not connect or log in; see its message above); "
			     "%u rank%s could not start there",
			     n->host, count, count == 1 ? "" : "s");
		return true;
	}
	if (sk_via_agent(n) && l->fail == SK_AGENT_CHDIR) {
		sk_job_abort(job, SK_EXIT_NOSTART,
			     "cannot change to the working directory '%s' on "
			     "%s (--wdir): %s; %u rank%s could not start "
			     "there",
			     sk_wdir ? sk_wdir : "?", n->host,
			     strerror(l->fail_errno), count,
			     count == 1 ? "" : "s");
		return true;
	}
	if (sk_via_agent(n) && l->fail == SK_AGENT_EXEC) {
		char cwd[PATH_MAX], note[PATH_MAX + 128] = "";

		/* Without --wdir the agent tries skrun's directory and
		 * falls back to the login one: say so, it may be why. */
		if (l->fail_wdir_errno && getcwd(cwd, sizeof(cwd)))
			snprintf(note, sizeof(note),
				 " (it ran in the login directory: '%s' is "
				 "not usable there: %s)",
				 cwd, strerror(l->fail_wdir_errno));
		sk_job_abort(job, SK_EXIT_NOSTART,
			     "cannot start '%s' on %s: %s%s; %u rank%s could "
			     "not start there",
			     job->opts.argv[0], n->host,
			     strerror(l->fail_errno), note, count,
			     count == 1 ? "" : "s");
		return true;
	}
	/* A Skiff node that cannot open its device exits 1 (boot.c). */
	if (job->nofabric != NULL && n->local && code == 1) {
		sk_job_abort(job, code,
			     "rank %u (pid %d) on %s exited with status %d "
			     "(skrun runs without a fabric here: %s; a Skiff "
			     "program cannot boot on this host, plain "
			     "programs can)",
			     n->rank, (int)n->pid, n->host, code,
			     job->nofabric);
		return true;
	}
	return false;
}

/*
 * A rank failed. Without --enable-recovery that ends the job, as mpirun's
 * default; with it (Open MPI's option of that name) the failure is said
 * and becomes the job's exit status, and the other ranks run on: an
 * application that tolerates a lost node (kv fails only its partitions)
 * finishes its work.
 */
__attribute__((format(printf, 3, 4))) static void
sk_rank_failed(struct sk_job *job, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (!job->opts.recovery) {
		sk_jobctl_vabort(job, code, fmt, ap);
	} else {
		fputs("skrun: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputs("; the job goes on (--enable-recovery)\n", stderr);
		sk_job_set_code(job, code);
	}
	va_end(ap);
}

void sk_jobctl_rank_exited(struct sk_job *job, struct sk_hnode *n,
			   int status)
{
	n->exited = true;
	n->status = status;
	job->nexited++;
	sk_services_node_exited(job, n);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (!job->aborting)
			sk_rank_failed(job, 128 + sig,
				       "rank %u (pid %d) on %s was killed by "
				       "signal %d (%s)",
				       n->rank, (int)n->pid, n->host, sig,
				       sk_signame(sig));
		else
			sk_job_set_code(job, 128 + (job->fwd_sig ? job->fwd_sig
								 : sig));
	} else if (WEXITSTATUS(status) != 0) {
		int code = WEXITSTATUS(status);

		/* After a forwarded signal, a rank that fails says the
		 * signal: a remote rank's ssh exits 255 on SIGINT, and a
		 * rank SIGKILLed after the grace was still its doing. */
		if (job->aborting)
			sk_job_set_code(job, job->fwd_sig ? 128 + job->fwd_sig
							  : code);
		else if (!sk_exit_explained(job, n, code))
			sk_rank_failed(job, code,
				       "rank %u (pid %d) on %s exited with "
				       "status %d",
				       n->rank, (int)n->pid, n->host, code);
	} else if (n->joined && !n->finalized && !job->aborting) {
		sk_rank_failed(job, 1,
			       "rank %u (pid %d) on %s exited without "
			       "finalizing (status 0, but its Skiff runtime "
			       "never said goodbye)",
			       n->rank, (int)n->pid, n->host);
	}
	sk_bootsrv_check(job);
}

static void sk_reap(struct sk_job *job)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		unsigned r;

		if (pid <= 0)
			return;
		if (sk_groups_reap(job, pid, status))
			continue;
		/* A remote rank has its host's pid: never ours. */
		for (r = 0; r < job->size; r++) {
			if (job->node[r].pid == pid && !job->node[r].exited &&
			    !sk_launch[r].in_group) {
				sk_jobctl_rank_exited(job, &job->node[r],
						      status);
				break;
			}
		}
	}
}

static void sk_signal_readable(struct sk_watch *w, unsigned revents)
{
	struct sk_job *job = (struct sk_job *)((char *)w -
					       offsetof(struct sk_job, sig_w));
	struct signalfd_siginfo si;

	while (read(job->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		int sig = (int)si.ssi_signo;

		if (sig == SIGCHLD) {
			sk_reap(job);
			continue;
		}
		/* Said even when the job is already ending: under Slurm,
		 * scancel and the time limit signal skrun and its ranks
		 * together, and a rank's death may be seen first. */
		if (!job->aborting) {
			char running[600];

			fprintf(stderr, "skrun: got %s; forwarding it to the "
					"nodes%s\n",
				sigabbrev_np(sig) ? sigabbrev_np(sig)
						  : "a signal",
				sk_job_running(job, running, sizeof(running)));
		} else
			fprintf(stderr, "skrun: got %s while the job was "
					"ending; killing the nodes\n",
				sigabbrev_np(sig) ? sigabbrev_np(sig)
						  : "a signal");
		/* The ranks' statuses make the job's: a rank that does not
		 * end cleanly says 128 + sig (sk_jobctl_rank_exited); a program
		 * that takes it and exits 0 (skcached's nodes) ends the job
		 * with 0. */
		if (!job->aborting)
			job->fwd_sig = sig;
		if (job->aborting) {
			/* A second one: do not wait for the grace. */
			sk_job_signal_all(job, SIGKILL);
		} else {
			sk_job_stop(job, sig);
		}
	}
}

static void sk_stdin_readable(struct sk_watch *w, unsigned revents)
{
	struct sk_job *job = (struct sk_job *)((char *)w -
					       offsetof(struct sk_job,
							stdin_w));

	sk_services_stdin(job);
}

void sk_jobctl_last_signals(struct sk_job *job)
{
	struct signalfd_siginfo si;

	if (job->sig_fd < 0)
		return;
	while (read(job->sig_fd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo != SIGCHLD)
			fprintf(stderr, "skrun: got %s while the job was "
					"ending; its nodes had all exited\n",
				sigabbrev_np((int)si.ssi_signo) ?
					sigabbrev_np((int)si.ssi_signo) :
					"a signal");
}

void sk_jobctl_start(struct sk_job *job, const sigset_t *set)
{
	job->sig_fd = signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
	job->sig_w = (struct sk_watch){.fd = job->sig_fd, .events = POLLIN,
				       .cb = sk_signal_readable};
	sk_watch_start(job->loop, &job->sig_w);
	job->stdin_w = (struct sk_watch){.fd = STDIN_FILENO, .events = POLLIN,
					 .cb = sk_stdin_readable};
	if (job->opts.timeout_s > 0) {
		job->timeout_t.cb = sk_job_timeout;
		sk_timer_start(job->loop, &job->timeout_t,
			       (uint64_t)(job->opts.timeout_s * 1000.0 + 0.5));
	}
}
