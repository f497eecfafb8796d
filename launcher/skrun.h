/*
 * skrun's own parts, above the launcher's lower ones (job.h), and what
 * they share. Each calls only the parts listed before it:
 *
 *   output.c  the ranks' output: pipes, tags, --output-filename
 *   checks.c  refusals before any rank starts (program, --wdir, -x)
 *   spawn.c   starting a rank here (fork), or a remote host's agent
 *             (ssh, or srun inside Slurm, and skrun --agent --ranks);
 *             binding to cores
 *   group.c   the remote hosts' agents: one per host, its ranks' frames
 *   jobctl.c  the job's end: signals, --timeout, exits and exit status
 *   agent.c   skrun --agent, the remote end of an ssh or srun launch
 *   skrun.c   main: setup, the loop, cleanup
 *
 * Nothing below skrun (services.c, bootsrv.c, connect.c, job.c) includes
 * this file: what those must tell skrun goes through struct sk_job_ops.
 */
#ifndef SKIFF_LAUNCHER_SKRUN_H
#define SKIFF_LAUNCHER_SKRUN_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "job.h"

#define SK_EXIT_TIMEOUT 124 /* --timeout expired, as timeout(1) */
#define SK_EXIT_USAGE   2
#define SK_EXIT_LAUNCH  1
#define SK_EXIT_NOSTART 127 /* the program could not be started */

/*
 * What `skrun --agent` writes on its stdout before anything else, so that
 * skrun can tell an ssh client's own exit status 255 (it could not connect
 * or log in) from a program that exited 255: the marker arrived, so ssh
 * did its part. When the agent cannot start the program it says so in a
 * second line, "<marker minus newline> fail exec|chdir ERRNO WDIR_ERRNO",
 * so that skrun says it once per host rather than each agent once per
 * rank. skrun strips these lines from the rank's output (output.c).
 */
#define SK_AGENT_MARKER     "\001skrun-agent\n"
#define SK_AGENT_MARKER_LEN (sizeof(SK_AGENT_MARKER) - 1)
/* skrun to the agent, on the lifeline after the secret: send the node's
 * process group this signal (a line of its own). */
#define SK_AGENT_SIG_FMT    "SIG %d"
#define SK_AGENT_FAIL_FMT   "\001skrun-agent fail %s %d %d\n"

enum sk_agent_fail { SK_AGENT_OK = 0, SK_AGENT_EXEC, SK_AGENT_CHDIR };

/* skrun's own state per rank, beside job.h's struct sk_hnode. */
struct sk_launch {
	int      outfile[2];  /* --output-filename files, or -1 */
	unsigned local_idx;   /* its index among the ranks on this machine */
	unsigned host_rank;   /* its index among the ranks on its host */
	unsigned host_size;   /* how many ranks its host runs */
	/* remote: the agent's lines at the start of stdout */
	char     hdr[64];     /* a line held back until it is whole */
	size_t   hdr_len;
	bool     hdr_done;    /* past them: the rest is the rank's output */
	bool     agent_seen;  /* the marker arrived: ssh did its part */
	bool     in_group;    /* run by its host's agent (group.c) */
	enum sk_agent_fail fail; /* what the agent could not do */
	int      fail_errno, fail_wdir_errno;
};

/* [job->size], made by skrun.c's setup; defined in output.c. */
extern struct sk_launch *sk_launch;

/* --wdir made absolute (relative to skrun's directory), or NULL; set by
 * sk_wdir_setup (checks.c). */
extern char *sk_wdir;

/* Whether rank @n runs under its host's `skrun --agent` (agent.c,
 * group.c): started there by ssh, or by srun inside a Slurm allocation;
 * else it is forked here and runs the program itself. */
static inline bool sk_via_agent(const struct sk_hnode *n)
{
	return !n->local || n->srun;
}

/* Whether @kv assigns the job's secret. */
static inline bool sk_is_secret(const char *kv)
{
	size_t l = strlen(SK_ENV_SECRET);

	return strncmp(kv, SK_ENV_SECRET, l) == 0 && kv[l] == '=';
}

static inline const char *sk_signame(int sig)
{
	const char *s = sigdescr_np(sig);

	return s ? s : "unknown signal";
}

/* output.c */

/* Write all of @buf to @fd, waiting while it is full; give up quietly
 * when it is gone. */
void sk_write_all(int fd, const char *buf, size_t len);
/* job->ops->output: what node @n put on @stream (1 stdout, 2 stderr). */
void sk_output_write(struct sk_job *job, struct sk_hnode *n, int stream,
		     const char *buf, size_t len);
/* At the job's end: the partial lines held for --tag-output, and their
 * buffers. */
void sk_output_flush(struct sk_job *job, struct sk_hnode *n);
/* The watch callback of a node's pipe (struct sk_pipe). */
void sk_pipe_readable(struct sk_watch *w, unsigned revents);
/* Close @n's pipe @s (0 stdout, 1 stderr), if open. */
void sk_pipe_close(struct sk_job *job, struct sk_hnode *n, int s);
/* What rank @n's agent passed on from @stream: on stdout, first the
 * agent's own lines (the marker, a failure to start), which are taken
 * off and kept in sk_launch; the rest is the rank's output. */
void sk_output_agent(struct sk_hnode *n, int stream, const char *buf,
		     size_t len);
/* The end of that stdout: a line held back is output after all. */
void sk_output_agent_end(struct sk_hnode *n);
/* --output-filename: make each rank's files. 0, or an exit status. */
int sk_outputs_open(const struct sk_job *job);

/* checks.c: each returns 0, or the exit status after saying why */

void sk_warn_env(const struct sk_job *job);
int sk_wdir_setup(const struct sk_job *job, bool any_local);
/* Slurm's allocation as the host list, and srun to start the ranks,
 * when skrun runs inside one (SKIFF_SLURM, no --host or --hostfile). */
int sk_slurm_setup(struct sk_job *job);
/* The program, once for the @nlocal ranks that run here (on @host). */
int sk_prog_setup(const struct sk_job *job, unsigned nlocal,
		  const char *host);

/* spawn.c */

/* Load the topology if binding or reporting it, and refuse to bind more
 * than this machine's cores to @nlocal ranks. 0, or an exit status. */
int sk_bind_setup(const struct sk_job *job, unsigned nlocal);
void sk_bind_cleanup(void);
/* Two pipes a local rank, and a few descriptors a node: raise the soft
 * descriptor limit to the hard one, as Open MPI's mpirun does, so that a
 * job is not bounded by a login's 1024; what skrun starts gets the limit
 * it was given back. */
void sk_fd_limit_raise(void);
/* Fork local rank @n. 0, or -errno. */
int sk_spawn(struct sk_job *job, struct sk_hnode *n);

/* A host's agent as sk_spawn_group started it: srun's or ssh's pid (and
 * process group), the agent's lifeline (nonblocking, the secret written),
 * and the read ends of its stdout and stderr (nonblocking). */
struct sk_group_proc {
	pid_t pid;
	int   lifeline, out, err;
};

/* Start the agent of @host that runs @ranks ("3,4,5", ascending) there:
 * an srun step (@srun) or over ssh. 0 with *@p filled, or -errno. */
int sk_spawn_group(struct sk_job *job, const char *host, bool srun,
		   const char *ranks, const char *self,
		   struct sk_group_proc *p);
void sk_report_binding(struct sk_job *job, struct sk_hnode *n);
/* --display-map: the placement, on stdout, before the job starts. */
void sk_display_map(struct sk_job *job);

/* group.c: one agent per remote host, over ssh or as a Slurm step */

/* A rank's end as its agent's frames, or its agent's end, tell it
 * (jobctl.c's, handed to sk_groups_start): @status as waitpid's. */
typedef void sk_rank_exit_func_t(struct sk_job *job, struct sk_hnode *n,
				 int status);

/* Group the ranks that run under an agent (sk_via_agent) by host, and
 * mark them in_group. 0, or an exit status after saying why. */
int sk_groups_setup(struct sk_job *job);
/* Start every host's agent; @exited learns of each rank's end. 0, or
 * -errno (said, and the job aborted). */
int sk_groups_start(struct sk_job *job, const char *self,
		    sk_rank_exit_func_t *exited);
/* Send @sig to every running agent's ranks (SIGKILL: cut the lifeline;
 * a second: kill srun or ssh). */
void sk_groups_signal(struct sk_job *job, int sig);
/* Process @pid's end if it is an agent's srun or ssh: true then. */
bool sk_groups_reap(struct sk_job *job, pid_t pid, int status);
/* How many agents' sruns or sshs are still running. */
unsigned sk_groups_running(void);
void sk_groups_cleanup(struct sk_job *job);

/* jobctl.c */

/* job->ops->abort. */
void sk_jobctl_vabort(struct sk_job *job, int code, const char *fmt,
		      va_list ap) __attribute__((format(printf, 3, 0)));
/* Rank @n ended with @status (waitpid's): say why if it failed, and end
 * the job or go on (sk_rank_exit_func_t). */
void sk_jobctl_rank_exited(struct sk_job *job, struct sk_hnode *n,
			   int status);
/* After the loop: say the signals that came as the last nodes exited
 * (scancel signals skrun and its batch step's nodes together, and the
 * nodes may all be gone before skrun reads its own). */
void sk_jobctl_last_signals(struct sk_job *job);
/* Watch the signals in @set (blocked already) and skrun's stdin, and
 * start --timeout's timer. */
void sk_jobctl_start(struct sk_job *job, const sigset_t *set);

/* agent.c */

/* skrun --agent ...: the whole process; returns its exit status. */
int sk_agent_main(int argc, char **argv);

#endif /* SKIFF_LAUNCHER_SKRUN_H */
