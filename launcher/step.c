/*
 * Inside a Slurm allocation, one srun step per host, as Open MPI's mpirun
 * starts one orted per node: its one task is `skrun --agent --ranks LIST`
 * (agent.c), which forks every rank skrun places on that host. Slurm
 * places, tracks, signals and accounts for them all (the ranks are the
 * step's processes), and a job pays for one srun per host rather than
 * one per rank.
 *
 * The step's stdout carries, after the agent's marker, the frames of
 * parse.h: each rank's output, its pid, and its wait status, which this
 * file hands to output.c and to job control (sk_rank_exit_func_t), so that
 * a rank in a step is explained as any other. srun's own stderr (its
 * errors, the agent's) goes to skrun's. Signals go down the step's
 * lifeline as "SIG n" lines (jobctl.c says why not through srun).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parse.h"
#include "skrun.h"

struct sk_step {
	struct sk_job      *job;
	const char         *host;
	unsigned           *ranks;    /* [nranks], ascending */
	unsigned            nranks;
	pid_t               pid;      /* srun, or 0 before it started */
	int                 lifeline; /* or -1 */
	struct sk_watch     out_w, err_w;
	bool                exited;
	size_t              marker;   /* bytes of SK_AGENT_MARKER seen */
	bool                broken;   /* its stream failed: no more read */
	struct sk_frame_rd  rd;
};

static struct sk_step *sk_steps;
static unsigned sk_nsteps, sk_nrunning;
static sk_rank_exit_func_t *sk_step_exited;

int sk_steps_setup(struct sk_job *job)
{
	unsigned r;

	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];
		struct sk_step *st = NULL;

		if (!n->srun)
			continue;
		for (unsigned k = 0; k < sk_nsteps; k++)
			if (strcmp(sk_steps[k].host, n->host) == 0)
				st = &sk_steps[k];
		if (st == NULL) {
			struct sk_step *v = realloc(
				sk_steps, (sk_nsteps + 1) * sizeof(*v));

			if (v == NULL)
				goto nomem;
			sk_steps = v;
			st = &sk_steps[sk_nsteps++];
			*st = (struct sk_step){
				.job = job, .host = n->host, .lifeline = -1,
				.out_w = {.fd = -1}, .err_w = {.fd = -1}};
			st->ranks = calloc(sk_launch[r].host_size,
					   sizeof(*st->ranks));
			if (st->ranks == NULL)
				goto nomem;
		}
		/* Ascending, and in the order of host_rank: the agent's
		 * SKIFF_LOCAL_RANK is the index. */
		st->ranks[st->nranks++] = r;
		sk_launch[r].in_step = true;
	}
	return 0;
nomem:
	fprintf(stderr, "skrun: out of memory\n");
	return SK_EXIT_LAUNCH;
}

static struct sk_step *sk_step_of(struct sk_watch *w, bool err)
{
	return (struct sk_step *)((char *)w -
				  (err ? offsetof(struct sk_step, err_w)
				       : offsetof(struct sk_step, out_w)));
}

static void sk_step_close(struct sk_step *st, struct sk_watch *w)
{
	if (w->fd < 0)
		return;
	sk_watch_stop(st->job->loop, w);
	close(w->fd);
	w->fd = -1;
	st->job->open_pipes--;
}

/* One thing the agent's frames said (sk_frame_func_t). */
static const char *sk_step_frame(void *arg, const struct sk_frame_ev *ev)
{
	struct sk_step *st = arg;
	struct sk_hnode *n = &st->job->node[st->ranks[ev->idx]];

	switch (ev->kind) {
	case SK_FRAME_OUT:
	case SK_FRAME_ERR:
		sk_output_agent(n, ev->kind == SK_FRAME_OUT ? 1 : 2, ev->data,
				ev->len);
		return NULL;
	case SK_FRAME_PID:
		if (n->exited)
			return "a pid for a rank that has exited";
		n->pid = (pid_t)ev->value;
		return NULL;
	case SK_FRAME_EXIT:
		if (n->exited)
			return "a second exit status for one rank";
		sk_output_agent_end(n);
		sk_step_exited(st->job, n, (int)ev->value);
		return NULL;
	}
	return "a frame of unknown kind";
}

/* What srun's stdout holds now: the marker, then frames. Returns false
 * at its end or once it is broken. */
static bool sk_step_read(struct sk_step *st)
{
	static char buf[65536];
	ssize_t r = read(st->out_w.fd, buf, sizeof(buf));
	size_t used = 0;

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return errno == EINTR;
	if (r <= 0) {
		if (st->marker == SK_AGENT_MARKER_LEN && !st->broken &&
		    !sk_frame_rd_idle(&st->rd))
			sk_job_abort(st->job, SK_EXIT_LAUNCH,
				     "the Slurm step on %s (srun pid %d) ended "
				     "in the middle of a frame",
				     st->host, (int)st->pid);
		sk_step_close(st, &st->out_w);
		return false;
	}
	while (used < (size_t)r && st->marker < SK_AGENT_MARKER_LEN) {
		if (buf[used] != SK_AGENT_MARKER[st->marker]) {
			sk_job_abort(st->job, SK_EXIT_LAUNCH,
				     "the Slurm step on %s (srun pid %d) wrote "
				     "something other than skrun --agent's "
				     "marker first", st->host, (int)st->pid);
			goto broken;
		}
		used++;
		if (++st->marker == SK_AGENT_MARKER_LEN)
			for (unsigned k = 0; k < st->nranks; k++)
				sk_launch[st->ranks[k]].agent_seen = true;
	}
	if (used < (size_t)r &&
	    sk_frame_feed(&st->rd, buf + used, (size_t)r - used,
			  sk_step_frame, st) != 0) {
		sk_job_abort(st->job, SK_EXIT_LAUNCH,
			     "the agent of the Slurm step on %s (srun pid %d) "
			     "sent a bad frame: %s",
			     st->host, (int)st->pid, st->rd.err);
		goto broken;
	}
	return true;
broken:
	/* Read no more of it; its ranks end with srun (sk_steps_reap). */
	st->broken = true;
	sk_step_close(st, &st->out_w);
	return false;
}

static void sk_step_out_readable(struct sk_watch *w, unsigned revents)
{
	sk_step_read(sk_step_of(w, false));
}

/* srun's own stderr, and the agent's: skrun's. */
static void sk_step_err_readable(struct sk_watch *w, unsigned revents)
{
	struct sk_step *st = sk_step_of(w, true);
	char buf[4096];
	ssize_t r = read(w->fd, buf, sizeof(buf));

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		sk_step_close(st, w);
		return;
	}
	sk_write_all(STDERR_FILENO, buf, (size_t)r);
}

int sk_steps_start(struct sk_job *job, const char *self,
		   sk_rank_exit_func_t *exited)
{
	sk_step_exited = exited;
	for (unsigned k = 0; k < sk_nsteps; k++) {
		struct sk_step *st = &sk_steps[k];
		struct sk_step_proc p;
		char *list = malloc((size_t)st->nranks * 11 + 1);
		size_t len = 0;
		int rc;

		if (list == NULL) {
			fprintf(stderr, "skrun: out of memory\n");
			return -ENOMEM;
		}
		for (unsigned i = 0; i < st->nranks; i++)
			len += (size_t)sprintf(list + len, i ? ",%u" : "%u",
					       st->ranks[i]);
		rc = sk_spawn_step(job, st->host, list, self, &p);
		free(list);
		if (rc < 0) {
			sk_job_abort(job, SK_EXIT_LAUNCH,
				     "cannot start the Slurm step on %s: %s",
				     st->host, strerror(-rc));
			/* Its ranks never started: they are over. */
			for (unsigned i = 0; i < st->nranks; i++)
				exited(job, &job->node[st->ranks[i]],
				       SK_EXIT_LAUNCH << 8);
			continue;
		}
		sk_frame_rd_init(&st->rd, st->nranks);
		st->pid = p.pid;
		st->lifeline = p.lifeline;
		st->out_w = (struct sk_watch){.fd = p.out, .events = POLLIN,
					      .cb = sk_step_out_readable};
		st->err_w = (struct sk_watch){.fd = p.err, .events = POLLIN,
					      .cb = sk_step_err_readable};
		sk_watch_start(job->loop, &st->out_w);
		sk_watch_start(job->loop, &st->err_w);
		job->open_pipes += 2;
		sk_nrunning++;
		/* Until the agent says each rank's own pid: srun's, for
		 * the messages of a step that never got that far. */
		for (unsigned i = 0; i < st->nranks; i++)
			job->node[st->ranks[i]].pid = p.pid;
	}
	return 0;
}

/*
 * The agent sends what arrives on the lifeline to every rank's process
 * group. srun itself would take SIGINT for its own (and end the step
 * abruptly); SIGKILL cuts the lifeline instead (the agent then kills the
 * ranks and exits, and srun with it), and a second SIGKILL, with the
 * lifeline already cut, kills srun.
 */
void sk_steps_signal(struct sk_job *job, int sig)
{
	for (unsigned k = 0; k < sk_nsteps; k++) {
		struct sk_step *st = &sk_steps[k];
		char line[32];
		int len;

		if (st->pid <= 0 || st->exited)
			continue;
		if (st->lifeline < 0) {
			if (sig == SIGKILL)
				kill(-st->pid, SIGKILL);
			continue;
		}
		len = snprintf(line, sizeof(line), SK_AGENT_SIG_FMT "\n", sig);
		if (write(st->lifeline, line, (size_t)len) != len &&
		    errno != EPIPE && errno != EAGAIN)
			fprintf(stderr, "skrun: cannot signal the ranks on %s "
					"through srun: %s\n", st->host,
				strerror(errno));
		if (sig == SIGKILL) {
			close(st->lifeline);
			st->lifeline = -1;
		}
	}
}

bool sk_steps_reap(struct sk_job *job, pid_t pid, int status)
{
	for (unsigned k = 0; k < sk_nsteps; k++) {
		struct sk_step *st = &sk_steps[k];

		if (st->pid != pid || st->exited)
			continue;
		st->exited = true;
		sk_nrunning--;
		if (st->lifeline >= 0) {
			close(st->lifeline);
			st->lifeline = -1;
		}
		/* Its last frames first: the ranks' own statuses. */
		while (st->out_w.fd >= 0 && sk_step_read(st))
			;
		/* A rank whose status never came ends with srun's: srun
		 * that could not start the agent (sk_launch's agent_seen
		 * says so, and jobctl.c explains it), or a step that
		 * ended under its ranks (its agent killed, say). */
		unsigned left = 0;

		for (unsigned i = 0; i < st->nranks; i++)
			left += !job->node[st->ranks[i]].exited;
		if (left && !job->aborting &&
		    sk_launch[st->ranks[0]].agent_seen) {
			int code = WIFSIGNALED(status)
					   ? 128 + WTERMSIG(status)
					   : WEXITSTATUS(status);
			char how[64];

			if (WIFSIGNALED(status))
				snprintf(how, sizeof(how),
					 "was killed by signal %d",
					 WTERMSIG(status));
			else
				snprintf(how, sizeof(how),
					 "exited with status %d", code);
			sk_job_abort(job, code ? code : SK_EXIT_LAUNCH,
				     "srun (pid %d) of the Slurm step on %s "
				     "%s before %u of its ranks had ended",
				     (int)pid, st->host, how, left);
		}
		for (unsigned i = 0; i < st->nranks; i++) {
			struct sk_hnode *n = &job->node[st->ranks[i]];

			if (n->exited)
				continue;
			sk_output_agent_end(n);
			sk_step_exited(job, n,
				       WIFEXITED(status) &&
						       WEXITSTATUS(status) == 0
					       ? SK_EXIT_LAUNCH << 8
					       : status);
		}
		return true;
	}
	return false;
}

unsigned sk_steps_running(void)
{
	return sk_nrunning;
}

void sk_steps_cleanup(struct sk_job *job)
{
	for (unsigned k = 0; k < sk_nsteps; k++) {
		struct sk_step *st = &sk_steps[k];

		sk_step_close(st, &st->out_w);
		sk_step_close(st, &st->err_w);
		if (st->lifeline >= 0)
			close(st->lifeline);
		free(st->ranks);
	}
	free(sk_steps);
	sk_steps = NULL;
	sk_nsteps = sk_nrunning = 0;
}
