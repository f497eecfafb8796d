/*
 * One agent per remote host, as Open MPI's mpirun starts one orted per
 * node: `skrun --agent --ranks LIST` (agent.c) forks every rank skrun
 * places on that host. Outside Slurm it is reached by ssh ($SKIFF_SSH);
 * inside an allocation it is the one task of an srun step, so that Slurm
 * places, tracks, signals and accounts for the ranks (they are the
 * step's processes). Either way a job pays for one connection or one
 * step per host, not one per rank.
 *
 * The agent's stdout carries, after its marker, the frames of parse.h:
 * each rank's output, its pid, and its wait status, which this file hands
 * to output.c and to job control (sk_rank_exit_func_t), so that a remote
 * rank is explained as a forked one is. The launcher's own stderr (ssh's
 * or srun's errors, the agent's) goes to skrun's. Signals go down the
 * agent's lifeline, its stdin, as "SIG n" lines: srun would keep SIGINT
 * for itself, and ssh carries no signal at all.
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

struct sk_group {
	struct sk_job      *job;
	const char         *host;
	unsigned           *ranks;    /* [nranks], ascending */
	unsigned            nranks;
	bool                srun;     /* a Slurm step, else ssh */
	pid_t               pid;      /* srun or ssh, or 0 before it started */
	int                 lifeline; /* or -1 */
	struct sk_watch     out_w, err_w;
	bool                exited;
	size_t              marker;   /* bytes of SK_AGENT_MARKER seen */
	bool                broken;   /* its stream failed: no more read */
	struct sk_frame_rd  rd;
};

/* "the Slurm step on " and a host name of up to 255 bytes, a pid */
#define SK_GROUP_NAME_MAX 320

static struct sk_group *sk_groups;
static unsigned sk_ngroups, sk_nrunning;
static sk_rank_exit_func_t *sk_group_exited;

int sk_groups_setup(struct sk_job *job)
{
	unsigned r;

	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];
		struct sk_group *g = NULL;

		if (!sk_via_agent(n))
			continue;
		for (unsigned k = 0; k < sk_ngroups; k++)
			if (strcmp(sk_groups[k].host, n->host) == 0)
				g = &sk_groups[k];
		if (g == NULL) {
			struct sk_group *v = realloc(
				sk_groups, (sk_ngroups + 1) * sizeof(*v));

			if (v == NULL)
				goto nomem;
			sk_groups = v;
			g = &sk_groups[sk_ngroups++];
			*g = (struct sk_group){
				.job = job, .host = n->host, .srun = n->srun,
				.lifeline = -1,
				.out_w = {.fd = -1}, .err_w = {.fd = -1}};
			g->ranks = calloc(sk_launch[r].host_size,
					   sizeof(*g->ranks));
			if (g->ranks == NULL)
				goto nomem;
		}
		/* Ascending, and in the order of host_rank: the agent's
		 * SKIFF_LOCAL_RANK is the index. */
		g->ranks[g->nranks++] = r;
		sk_launch[r].in_group = true;
	}
	return 0;
nomem:
	fprintf(stderr, "skrun: out of memory\n");
	return SK_EXIT_LAUNCH;
}

static struct sk_group *sk_group_of(struct sk_watch *w, bool err)
{
	return (struct sk_group *)((char *)w -
				  (err ? offsetof(struct sk_group, err_w)
				       : offsetof(struct sk_group, out_w)));
}

static void sk_group_close(struct sk_group *g, struct sk_watch *w)
{
	if (w->fd < 0)
		return;
	sk_watch_stop(g->job->loop, w);
	close(w->fd);
	w->fd = -1;
	g->job->open_pipes--;
}

/* One thing the agent's frames said (sk_frame_func_t). */
static const char *sk_group_frame(void *arg, const struct sk_frame_ev *ev)
{
	struct sk_group *g = arg;
	struct sk_hnode *n = &g->job->node[g->ranks[ev->idx]];

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
		sk_group_exited(g->job, n, (int)ev->value);
		return NULL;
	}
	return "a frame of unknown kind";
}

/* "the Slurm step on HOST (srun pid P)" or "ssh to HOST (pid P)", for
 * messages. */
static const char *sk_group_name(const struct sk_group *g, char *buf,
				 size_t len)
{
	snprintf(buf, len, g->srun ? "the Slurm step on %s (srun pid %d)"
				   : "ssh to %s (pid %d)",
		 g->host, (int)g->pid);
	return buf;
}

/* What the agent's stdout holds now: the marker, then frames. Returns false
 * at its end or once it is broken. */
static bool sk_group_read(struct sk_group *g)
{
	static char buf[65536];
	ssize_t r = read(g->out_w.fd, buf, sizeof(buf));
	size_t used = 0;
	char name[SK_GROUP_NAME_MAX];

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return errno == EINTR;
	if (r <= 0) {
		if (g->marker == SK_AGENT_MARKER_LEN && !g->broken &&
		    !sk_frame_rd_idle(&g->rd))
			sk_job_abort(g->job, SK_EXIT_LAUNCH,
				     "%s ended in the middle of a frame",
				     sk_group_name(g, name, sizeof(name)));
		sk_group_close(g, &g->out_w);
		return false;
	}
	while (used < (size_t)r && g->marker < SK_AGENT_MARKER_LEN) {
		if (buf[used] != SK_AGENT_MARKER[g->marker]) {
			sk_job_abort(g->job, SK_EXIT_LAUNCH,
				     "%s wrote something other than skrun "
				     "--agent's marker first",
				     sk_group_name(g, name, sizeof(name)));
			goto broken;
		}
		used++;
		if (++g->marker == SK_AGENT_MARKER_LEN)
			for (unsigned k = 0; k < g->nranks; k++)
				sk_launch[g->ranks[k]].agent_seen = true;
	}
	if (used < (size_t)r &&
	    sk_frame_feed(&g->rd, buf + used, (size_t)r - used,
			  sk_group_frame, g) != 0) {
		sk_job_abort(g->job, SK_EXIT_LAUNCH,
			     "the agent of %s sent a bad frame: %s",
			     sk_group_name(g, name, sizeof(name)), g->rd.err);
		goto broken;
	}
	return true;
broken:
	/* Read no more of it; its ranks end with srun or ssh
	 * (sk_groups_reap). */
	g->broken = true;
	sk_group_close(g, &g->out_w);
	return false;
}

static void sk_group_out_readable(struct sk_watch *w, unsigned revents)
{
	sk_group_read(sk_group_of(w, false));
}

/* srun's or ssh's own stderr, and the agent's: skrun's. */
static void sk_group_err_readable(struct sk_watch *w, unsigned revents)
{
	struct sk_group *g = sk_group_of(w, true);
	char buf[4096];
	ssize_t r = read(w->fd, buf, sizeof(buf));

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		sk_group_close(g, w);
		return;
	}
	sk_write_all(STDERR_FILENO, buf, (size_t)r);
}

int sk_groups_start(struct sk_job *job, const char *self,
		   sk_rank_exit_func_t *exited)
{
	sk_group_exited = exited;
	for (unsigned k = 0; k < sk_ngroups; k++) {
		struct sk_group *g = &sk_groups[k];
		struct sk_group_proc p;
		char *list = malloc((size_t)g->nranks * 11 + 1);
		size_t len = 0;
		int rc;

		if (list == NULL) {
			fprintf(stderr, "skrun: out of memory\n");
			return -ENOMEM;
		}
		for (unsigned i = 0; i < g->nranks; i++)
			len += (size_t)sprintf(list + len, i ? ",%u" : "%u",
					       g->ranks[i]);
		rc = sk_spawn_group(job, g->host, g->srun, list, self, &p);
		free(list);
		if (rc < 0) {
			sk_job_abort(job, SK_EXIT_LAUNCH,
				     "cannot start %s for the ranks on %s: %s",
				     g->srun ? "srun" : "ssh", g->host,
				     strerror(-rc));
			/* Its ranks never started: they are over. */
			for (unsigned i = 0; i < g->nranks; i++)
				exited(job, &job->node[g->ranks[i]],
				       SK_EXIT_LAUNCH << 8);
			continue;
		}
		sk_frame_rd_init(&g->rd, g->nranks);
		g->pid = p.pid;
		g->lifeline = p.lifeline;
		g->out_w = (struct sk_watch){.fd = p.out, .events = POLLIN,
					      .cb = sk_group_out_readable};
		g->err_w = (struct sk_watch){.fd = p.err, .events = POLLIN,
					      .cb = sk_group_err_readable};
		sk_watch_start(job->loop, &g->out_w);
		sk_watch_start(job->loop, &g->err_w);
		job->open_pipes += 2;
		sk_nrunning++;
		/* Until the agent says each rank's own pid: srun's or
		 * ssh's, for the messages of one that never got that far. */
		for (unsigned i = 0; i < g->nranks; i++)
			job->node[g->ranks[i]].pid = p.pid;
	}
	return 0;
}

/*
 * The agent sends what arrives on the lifeline to every rank's process
 * group: srun would take SIGINT for its own (and end the step abruptly),
 * and ssh carries no signal. SIGKILL cuts the lifeline instead (the agent
 * then kills the ranks, sends their statuses and exits, and srun or ssh
 * with it), and a second SIGKILL, with the lifeline already cut, kills
 * srun's or ssh's process group.
 */
void sk_groups_signal(struct sk_job *job, int sig)
{
	for (unsigned k = 0; k < sk_ngroups; k++) {
		struct sk_group *g = &sk_groups[k];
		char line[32];
		int len;

		if (g->pid <= 0 || g->exited)
			continue;
		if (g->lifeline < 0) {
			if (sig == SIGKILL)
				kill(-g->pid, SIGKILL);
			continue;
		}
		len = snprintf(line, sizeof(line), SK_AGENT_SIG_FMT "\n", sig);
		if (write(g->lifeline, line, (size_t)len) != len &&
		    errno != EPIPE && errno != EAGAIN)
			fprintf(stderr, "skrun: cannot signal the ranks on %s "
					"through %s: %s\n", g->host,
				g->srun ? "srun" : "ssh", strerror(errno));
		if (sig == SIGKILL) {
			close(g->lifeline);
			g->lifeline = -1;
		}
	}
}

bool sk_groups_reap(struct sk_job *job, pid_t pid, int status)
{
	for (unsigned k = 0; k < sk_ngroups; k++) {
		struct sk_group *g = &sk_groups[k];

		if (g->pid != pid || g->exited)
			continue;
		g->exited = true;
		sk_nrunning--;
		if (g->lifeline >= 0) {
			close(g->lifeline);
			g->lifeline = -1;
		}
		/* Its last frames first: the ranks' own statuses. */
		while (g->out_w.fd >= 0 && sk_group_read(g))
			;
		/* A rank whose status never came ends with srun's or
		 * ssh's: one that could not start the agent (sk_launch's
		 * agent_seen says so, and jobctl.c explains it), or one
		 * that ended under its ranks (the agent killed, say). */
		unsigned left = 0;

		for (unsigned i = 0; i < g->nranks; i++)
			left += !job->node[g->ranks[i]].exited;
		if (left && !job->aborting &&
		    sk_launch[g->ranks[0]].agent_seen) {
			char name[SK_GROUP_NAME_MAX];
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
				     "%s %s before %u of its ranks had ended",
				     sk_group_name(g, name, sizeof(name)), how,
				     left);
		}
		for (unsigned i = 0; i < g->nranks; i++) {
			struct sk_hnode *n = &job->node[g->ranks[i]];

			if (n->exited)
				continue;
			sk_output_agent_end(n);
			sk_group_exited(job, n,
				       WIFEXITED(status) &&
						       WEXITSTATUS(status) == 0
					       ? SK_EXIT_LAUNCH << 8
					       : status);
		}
		return true;
	}
	return false;
}

unsigned sk_groups_running(void)
{
	return sk_nrunning;
}

void sk_groups_cleanup(struct sk_job *job)
{
	for (unsigned k = 0; k < sk_ngroups; k++) {
		struct sk_group *g = &sk_groups[k];

		sk_group_close(g, &g->out_w);
		sk_group_close(g, &g->err_w);
		if (g->lifeline >= 0)
			close(g->lifeline);
		free(g->ranks);
	}
	free(sk_groups);
	sk_groups = NULL;
	sk_ngroups = sk_nrunning = 0;
}
