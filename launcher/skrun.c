/*
 * skrun: start a Skiff job, as mpirun does, and be its host.
 *
 * One process does it all around one event loop (libos's): it forks local
 * nodes (remote ones through ssh and `skrun --agent`), runs the bootstrap
 * listener (bootsrv.c), serves the nodes over the fabric (services.c), and
 * forwards what nodes write to their pipes (programs that do not link
 * Skiff, and anything written before boot or after a crash).
 *
 * Job control follows mpirun: the first node that fails (non-zero exit,
 * signal, or a Skiff node exiting without finalizing) aborts the job: the
 * others get SIGTERM, then SIGKILL after SKIFF_KILL_GRACE_MS, and skrun
 * exits with that node's code (128 + signal for a signal). SIGINT, SIGTERM
 * and SIGHUP are forwarded to the nodes. --timeout kills the job and exits
 * 124. Nodes run in their own process groups and die with skrun
 * (PR_SET_PDEATHSIG); remote ones die when their ssh connection closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <hwloc.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <skiff/config.h>

#include <skiff/version.h>

#include "fileq.h"
#include "job.h"

/* The SKIFF_* table this file reads from (skiff/config.h). */
SK_CONFIG_USES(sk_os_config);

#define SKRUN_VERSION SKIFF_VERSION /* skiff/version.h: the one place */

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
 * rank. skrun strips these lines from the rank's output.
 */
static const char sk_agent_marker[] = "\001skrun-agent\n";
#define SK_AGENT_MARKER_LEN (sizeof(sk_agent_marker) - 1)
#define SK_AGENT_FAIL_FMT   "\001skrun-agent fail %s %d %d\n"

enum sk_agent_fail { SK_AGENT_OK = 0, SK_AGENT_EXEC, SK_AGENT_CHDIR };

static hwloc_topology_t sk_topo;

/* skrun.c's own state per rank, beside job.h's struct sk_hnode. */
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
	enum sk_agent_fail fail; /* what the agent could not do */
	int      fail_errno, fail_wdir_errno;
};
static struct sk_launch *sk_launch;

/* Why skrun runs without a fabric ("" when it has one). */
static char sk_nofabric[512];

/* --wdir made absolute (relative to skrun's directory), or NULL. */
static char *sk_wdir;

/* ---- output ---- */

static void sk_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};

			poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0)
			return; /* our stdout is gone; nothing to do */
		buf += n;
		len -= (size_t)n;
	}
}

static void sk_outbuf_append(struct sk_outbuf *o, const char *buf,
			     size_t len)
{
	if (o->len + len > o->cap) {
		size_t ncap = o->cap ? o->cap : 256;
		char *nb;

		while (ncap < o->len + len)
			ncap *= 2;
		nb = realloc(o->buf, ncap);
		if (nb == NULL)
			return;
		o->buf = nb;
		o->cap = ncap;
	}
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
}

/* Output of node @n to where it goes: its --output-filename file, and
 * the terminal unless :nocopy. */
static void sk_emit(struct sk_job *job, struct sk_hnode *n, int stream,
		    const char *buf, size_t len)
{
	int f = sk_launch ? sk_launch[n->rank].outfile[stream - 1] : -1;

	if (f >= 0)
		sk_write_all(f, buf, len);
	if (!job->opts.output_nocopy)
		sk_write_all(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, buf,
			     len);
}

static void sk_tagged_line(struct sk_job *job, struct sk_hnode *n,
			   int stream, const char *line, size_t len)
{
	char tag[64];
	int tl = snprintf(tag, sizeof(tag), "[%llu,%u]<%s>:",
			  (unsigned long long)job->id, n->rank,
			  stream == 1 ? "stdout" : "stderr");

	/* Tagged in the files too, as Open MPI 4.1 does. */
	sk_emit(job, n, stream, tag, (size_t)tl);
	sk_emit(job, n, stream, line, len);
}

/* Write what node @n put on @stream (1 stdout, 2 stderr). Lines of one
 * node stay whole and in order; with --tag-output each gets its tag. */
static void sk_output_write(struct sk_job *job, struct sk_hnode *n,
			    int stream, const char *buf, size_t len)
{
	struct sk_outbuf *o;
	const char *nl;

	/* Over the fabric a Skiff node's two streams arrive apart: merge
	 * them here, in the order they came. */
	if (job->opts.merge_stderr)
		stream = 1;
	o = &n->out[stream - 1];
	if (!job->opts.tag_output) {
		sk_emit(job, n, stream, buf, len);
		return;
	}
	while (len > 0 && (nl = memchr(buf, '\n', len)) != NULL) {
		size_t l = (size_t)(nl - buf) + 1;

		if (o->len) {
			sk_outbuf_append(o, buf, l);
			sk_tagged_line(job, n, stream, o->buf, o->len);
			o->len = 0;
		} else {
			sk_tagged_line(job, n, stream, buf, l);
		}
		buf += l;
		len -= l;
	}
	if (len)
		sk_outbuf_append(o, buf, len);
}

static void sk_job_output_flush(struct sk_job *job, struct sk_hnode *n)
{
	int s;

	for (s = 1; s <= 2; s++) {
		struct sk_outbuf *o = &n->out[s - 1];

		if (o->len) {
			sk_outbuf_append(o, "\n", 1);
			sk_tagged_line(job, n, s, o->buf, o->len);
			o->len = 0;
		}
		free(o->buf);
		o->buf = NULL;
		o->cap = 0;
	}
}

/* ---- the end of a job ---- */

static void sk_job_signal_all(struct sk_job *job, int sig)
{
	unsigned r;

	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];

		if (n->pid > 0 && !n->exited)
			kill(-n->pid, sig); /* its process group */
	}
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
__attribute__((format(printf, 3, 0))) static void
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

	if (job->aborting)
		return;
	fprintf(stderr, "skrun: the job timed out after %g s (--timeout); "
			"killing it\n", job->opts.timeout_s);
	sk_job_set_code(job, SK_EXIT_TIMEOUT);
	sk_job_stop(job, SIGTERM);
}

/* ---- node processes ---- */

static void sk_pipe_readable(struct sk_watch *w, unsigned revents);

static void sk_pipe_close(struct sk_job *job, struct sk_hnode *n, int s)
{
	struct sk_watch *w = &n->pipe[s].w;

	if (w->fd < 0)
		return;
	sk_watch_stop(job->loop, w);
	close(w->fd);
	w->fd = -1;
	job->open_pipes--;
}

/* Whether the @n bytes held could still become one of the agent's lines. */
static bool sk_agent_prefix(const char *h, size_t n)
{
	static const char word[] = "\001skrun-agent";
	size_t wl = sizeof(word) - 1;

	if (memcmp(h, word, n < wl ? n : wl) != 0)
		return false;
	for (size_t i = wl; i < n; i++)
		if (!strchr(" -0123456789abcdefghijklmnopqrstuvwxyz\n", h[i]))
			return false;
	return true;
}

/* A whole line from the agent (with its newline): the marker, a failure,
 * or something else, which is output after all. */
static void sk_agent_line(struct sk_hnode *n, struct sk_launch *l)
{
	char kind[16];
	int e, we;

	if (l->hdr_len == SK_AGENT_MARKER_LEN &&
	    memcmp(l->hdr, sk_agent_marker, SK_AGENT_MARKER_LEN) == 0) {
		l->agent_seen = true;
		return;
	}
	l->hdr[l->hdr_len - 1] = '\0';
	if (sscanf(l->hdr, "\001skrun-agent fail %15s %d %d", kind, &e, &we) ==
		    3 &&
	    (strcmp(kind, "exec") == 0 || strcmp(kind, "chdir") == 0)) {
		l->fail = kind[0] == 'e' ? SK_AGENT_EXEC : SK_AGENT_CHDIR;
		l->fail_errno = e;
		l->fail_wdir_errno = we;
		l->agent_seen = true;
		return;
	}
	l->hdr[l->hdr_len - 1] = '\n';
	sk_output_write(n->job, n, 1, l->hdr, l->hdr_len);
	l->hdr_done = true;
}

/*
 * The start of a remote rank's stdout: the agent's lines, which are not
 * the rank's output. Only bytes that begin with the marker's first byte
 * are held back; anything else ends the agent's part at once. Returns how
 * many bytes of @buf it took.
 */
static size_t sk_agent_eat(struct sk_hnode *n, const char *buf, size_t len)
{
	struct sk_launch *l = &sk_launch[n->rank];
	size_t i = 0;

	while (i < len && !l->hdr_done) {
		if (l->hdr_len == 0 && buf[i] != sk_agent_marker[0]) {
			/* Output on stdout at all: ssh got through. */
			l->agent_seen = true;
			l->hdr_done = true;
			break;
		}
		l->hdr[l->hdr_len++] = buf[i++];
		if (l->hdr[l->hdr_len - 1] == '\n') {
			sk_agent_line(n, l);
			l->hdr_len = 0;
		} else if (!sk_agent_prefix(l->hdr, l->hdr_len) ||
			   l->hdr_len == sizeof(l->hdr)) {
			/* Not the agent's after all: the rank's output. */
			sk_output_write(n->job, n, 1, l->hdr, l->hdr_len);
			l->hdr_len = 0;
			l->agent_seen = true;
			l->hdr_done = true;
		}
	}
	return i;
}

/* Read what a node's pipe holds now. Returns false at its end. */
static bool sk_pipe_read(struct sk_pipe *p)
{
	struct sk_hnode *n = p->node;
	char buf[65536];
	ssize_t r;
	size_t used = 0;

	r = read(p->w.fd, buf, sizeof(buf));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return errno == EINTR;
	if (r <= 0) {
		struct sk_launch *l = &sk_launch[n->rank];

		if (p->stream == 1 && l->hdr_len) { /* a cut line is output */
			sk_output_write(n->job, n, 1, l->hdr, l->hdr_len);
			l->hdr_len = 0;
		}
		sk_pipe_close(n->job, n, p->stream - 1);
		return false;
	}
	if (!n->local && p->stream == 1 && !sk_launch[n->rank].hdr_done)
		used = sk_agent_eat(n, buf, (size_t)r);
	if (used < (size_t)r)
		sk_output_write(n->job, n, p->stream, buf + used,
			      (size_t)r - used);
	return true;
}

static void sk_pipe_readable(struct sk_watch *w, unsigned revents)
{
	sk_pipe_read((struct sk_pipe *)w);
}

/* Read all a node's stdout holds now: what its agent said before it
 * exited must be known before its exit status is explained. */
static void sk_pipe_drain(struct sk_hnode *n)
{
	while (n->pipe[0].w.fd >= 0 && sk_pipe_read(&n->pipe[0]))
		;
}

static const char *sk_signame(int sig)
{
	const char *s = sigdescr_np(sig);

	return s ? s : "unknown signal";
}

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

	if (!n->local)
		sk_pipe_drain(n);
	if (!n->local && code == 255 && !l->agent_seen) {
		sk_job_abort(job, SK_EXIT_NOSTART,
			     "ssh to %s failed (the ssh client exited 255 "
			     "before skrun --agent started there: it could "
			     "not connect or log in; see its message above); "
			     "%u rank%s could not start there",
			     n->host, count, count == 1 ? "" : "s");
		return true;
	}
	if (!n->local && l->fail == SK_AGENT_CHDIR) {
		sk_job_abort(job, SK_EXIT_NOSTART,
			     "cannot change to the working directory '%s' on "
			     "%s (--wdir): %s; %u rank%s could not start "
			     "there",
			     sk_wdir ? sk_wdir : "?", n->host,
			     strerror(l->fail_errno), count,
			     count == 1 ? "" : "s");
		return true;
	}
	if (!n->local && l->fail == SK_AGENT_EXEC) {
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
	if (sk_nofabric[0] != '\0' && n->local && code == 1) {
		sk_job_abort(job, code,
			     "rank %u (pid %d) on %s exited with status %d "
			     "(skrun runs without a fabric here: %s; a Skiff "
			     "program cannot boot on this host, plain "
			     "programs can)",
			     n->rank, (int)n->pid, n->host, code, sk_nofabric);
		return true;
	}
	return false;
}

static void sk_node_exited(struct sk_job *job, struct sk_hnode *n,
			   int status)
{
	n->exited = true;
	n->status = status;
	job->nexited++;
	sk_services_node_gone(job, n);
	if (n->stdin_fd >= 0) {
		close(n->stdin_fd);
		n->stdin_fd = -1;
	}
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (!job->aborting)
			sk_job_abort(job, 128 + sig,
				     "rank %u (pid %d) on %s was killed by "
				     "signal %d (%s)",
				     n->rank, (int)n->pid, n->host, sig,
				     sk_signame(sig));
		else
			sk_job_set_code(job, 128 + sig);
	} else if (WEXITSTATUS(status) != 0) {
		int code = WEXITSTATUS(status);

		if (job->aborting)
			sk_job_set_code(job, code);
		else if (!sk_exit_explained(job, n, code))
			sk_job_abort(job, code,
				     "rank %u (pid %d) on %s exited with "
				     "status %d",
				     n->rank, (int)n->pid, n->host, code);
	} else if (n->joined && !n->finalized && !job->aborting) {
		sk_job_abort(job, 1,
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
		for (r = 0; r < job->size; r++) {
			if (job->node[r].pid == pid && !job->node[r].exited) {
				sk_node_exited(job, &job->node[r], status);
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
		if (!job->aborting)
			fprintf(stderr, "skrun: got %s; forwarding it to the "
					"nodes\n", sigabbrev_np(sig) ?
					sigabbrev_np(sig) : "a signal");
		sk_job_set_code(job, 128 + sig);
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

/* Whether @kv assigns the job's secret. */
static bool sk_is_secret(const char *kv)
{
	size_t l = strlen(SK_ENV_SECRET);

	return strncmp(kv, SK_ENV_SECRET, l) == 0 && kv[l] == '=';
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

static void sk_child_exec(struct sk_job *job, struct sk_hnode *n,
			  char **env_add, size_t nenv, const char *self)
{
	sigset_t all;
	size_t k;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sk_child_cloexec();
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);

	if (job->opts.bind == SK_BIND_CORE && n->local) {
		int ncores = hwloc_get_nbobjs_by_type(sk_topo, HWLOC_OBJ_CORE);
		unsigned idx = sk_launch[n->rank].local_idx;
		hwloc_obj_t core = hwloc_get_obj_by_type(
			sk_topo, HWLOC_OBJ_CORE,
			ncores > 0 ? idx % (unsigned)ncores : 0);

		if (core && hwloc_set_cpubind(sk_topo, core->cpuset,
					      HWLOC_CPUBIND_PROCESS) != 0)
			fprintf(stderr, "skrun: rank %u: cannot bind to core "
					"%u: %s\n", n->rank, core->logical_index,
				strerror(errno));
	}

	if (n->local) {
		for (k = 0; k < nenv; k++)
			putenv(env_add[k]);
		/* -x VAR=val for programs that do not link Skiff (Skiff nodes
		 * get it again at boot); -x VAR is inherited as it is. */
		for (k = 0; k < job->opts.nenv; k++)
			if (strchr(job->opts.env[k], '='))
				putenv(job->opts.env[k]);
		/* Checked before any rank started; this is only a race. */
		if (sk_wdir && chdir(sk_wdir) != 0) {
			fprintf(stderr, "skrun: cannot change to the working "
					"directory '%s' on %s (--wdir): %s\n",
				sk_wdir, n->host, strerror(errno));
			_exit(SK_EXIT_NOSTART);
		}
		execvp(job->opts.argv[0], job->opts.argv);
		fprintf(stderr, "skrun: cannot start '%s' on %s: %s\n",
			job->opts.argv[0], n->host, strerror(errno));
		_exit(127);
	} else {
		/*
		 * $SKIFF_SSH HOST "skrun --agent [--wdir DIR] VAR=val ...
		 * -- prog args". The remote command is one word, quoted once
		 * for the remote shell; the local sh only parses $SKIFF_SSH
		 * (which may hold quotes) and gets HOST and that word as "$@",
		 * so nothing is unquoted twice.
		 */
		const char *ssh = sk_config_str("SKIFF_SSH");
		char *cmd = NULL, *sh = NULL, *cwd = getcwd(NULL, 0);
		size_t len = 0;
		int i;

		sk_shell_quote(&cmd, &len, self);
		sk_shell_quote(&cmd, &len, "--agent");
		if (sk_wdir != NULL) { /* --wdir: there, or not at all */
			sk_shell_quote(&cmd, &len, "--chdir");
			sk_shell_quote(&cmd, &len, sk_wdir);
		} else if (cwd != NULL) { /* where skrun runs, if it can */
			sk_shell_quote(&cmd, &len, "--wdir");
			sk_shell_quote(&cmd, &len, cwd);
		}
		if (job->opts.merge_stderr)
			sk_shell_quote(&cmd, &len, "--merge");
		/* The job's secret comes on the agent's stdin, never in a
		 * command line (ps, /proc/PID/cmdline on either host). */
		sk_shell_quote(&cmd, &len, "--secret-stdin");
		/* skrun's own SKIFF_* and UCX_* settings, as local nodes
		 * inherit them (mpirun forwards its MCA settings the same
		 * way); the job's SKIFF_* variables above come last and win. */
		for (char **ev = environ; *ev; ev++)
			if ((strncmp(*ev, "SKIFF_", 6) == 0 ||
			     strncmp(*ev, "UCX_", 4) == 0) &&
			    strncmp(*ev, "SKIFF_SSH=", 10) != 0 &&
			    !sk_is_secret(*ev))
				sk_shell_quote(&cmd, &len, *ev);
		for (k = 0; k < nenv; k++)
			if (!sk_is_secret(env_add[k]))
				sk_shell_quote(&cmd, &len, env_add[k]);
		/* -x: Skiff nodes also get these at boot; programs that do
		 * not link Skiff only from the agent. */
		for (k = 0; k < job->opts.nenv; k++) {
			const char *e = job->opts.env[k], *v;
			char *kv = NULL;

			if (strchr(e, '=') != NULL) {
				sk_shell_quote(&cmd, &len, e);
			} else if ((v = getenv(e)) != NULL) {
				if (asprintf(&kv, "%s=%s", e, v) < 0)
					_exit(127);
				sk_shell_quote(&cmd, &len, kv);
				free(kv);
			}
		}
		sk_shell_quote(&cmd, &len, "--");
		for (i = 0; i < job->opts.argc; i++)
			sk_shell_quote(&cmd, &len, job->opts.argv[i]);
		if (asprintf(&sh, "exec %s -o BatchMode=yes \"$@\"", ssh) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", sh, "sh", n->host, cmd + 1,
		      (char *)NULL);
		fprintf(stderr, "skrun: cannot run ssh: %s\n",
			strerror(errno));
		_exit(127);
	}
}

static int sk_spawn(struct sk_job *job, struct sk_hnode *n, const char *self)
{
	char *env[16];
	size_t nenv = 0, k;
	int out[2], err[2], lifeline[2] = {-1, -1};
	pid_t pid;

	if (asprintf(&env[nenv++], "%s=%s", SK_ENV_BOOTSTRAP,
		     job->boot_addr) < 0 ||
	    asprintf(&env[nenv++], "%s=%s", SK_ENV_SECRET,
		     job->secret_hex) < 0 ||
	    asprintf(&env[nenv++], "%s=%u", SK_ENV_RANK, n->rank) < 0 ||
	    asprintf(&env[nenv++], "%s=%u", SK_ENV_SIZE, job->size) < 0 ||
	    asprintf(&env[nenv++], "%s=%llu", SK_ENV_JOBID,
		     (unsigned long long)job->id) < 0 ||
	    asprintf(&env[nenv++], "SKIFF_PROVIDER=%s", job->provider) < 0 ||
	    /* As mpirun's OMPI_COMM_WORLD_LOCAL_RANK and _SIZE: where
	     * --map-by and -N put the rank among its host's. */
	    asprintf(&env[nenv++], "SKIFF_LOCAL_RANK=%u",
		     sk_launch[n->rank].host_rank) < 0 ||
	    asprintf(&env[nenv++], "SKIFF_LOCAL_SIZE=%u",
		     sk_launch[n->rank].host_size) < 0)
		return -ENOMEM;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)
		return -errno;
	if (!n->local && pipe2(lifeline, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int in;

		dup2(out[1], STDOUT_FILENO);
		/* Merged, one pipe keeps the order the node wrote in. */
		dup2(job->opts.merge_stderr && n->local ? out[1] : err[1],
		     STDERR_FILENO);
		if (!n->local) {
			dup2(lifeline[0], STDIN_FILENO);
		} else if (n->rank != 0) {
			/* Like mpirun: stdin goes to rank 0 only. */
			in = open("/dev/null", O_RDONLY);
			if (in >= 0)
				dup2(in, STDIN_FILENO);
		}
		sk_child_exec(job, n, env, nenv, self);
	}
	for (k = 0; k < nenv; k++)
		free(env[k]);
	close(out[1]);
	close(err[1]);
	if (!n->local) {
		char line[sizeof(SK_ENV_SECRET) + 2 * SK_BOOT_SECRET_LEN + 2];
		int l;

		close(lifeline[0]);
		n->stdin_fd = lifeline[1];
		/* The secret, first on the lifeline (--secret-stdin): a
		 * fresh pipe takes these ~80 bytes at once. If ssh is gone
		 * already, its exit status says why; nothing to add here. */
		l = snprintf(line, sizeof(line), "%s=%s\n", SK_ENV_SECRET,
			     job->secret_hex);
		if (write(n->stdin_fd, line, (size_t)l) != l && errno != EPIPE)
			fprintf(stderr, "skrun: rank %u: cannot give the agent "
					"its secret: %s\n", n->rank,
				strerror(errno));
		explicit_bzero(line, sizeof(line));
	}
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

static void sk_report_binding(struct sk_job *job, struct sk_hnode *n)
{
	int ncores = hwloc_get_nbobjs_by_type(sk_topo, HWLOC_OBJ_CORE);
	unsigned idx = sk_launch[n->rank].local_idx;
	unsigned core = ncores > 0 ? idx % (unsigned)ncores : 0;
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

/* ---- skrun --agent: the remote end of an ssh launch ---- */

/*
 * --secret-stdin: the first line on the lifeline is SKIFF_JOB_SECRET=HEX.
 * Read it a byte at a time (the rest of the stream is the lifeline's),
 * for at most 30 s, and put it in the environment the node inherits.
 */
static int sk_agent_read_secret(void)
{
	char line[sizeof(SK_ENV_SECRET) + 2 * SK_BOOT_SECRET_LEN + 2];
	size_t n = 0;
	int rc = -1;

	while (n < sizeof(line) - 1) {
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, 30000) <= 0)
			break;
		r = read(STDIN_FILENO, line + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (line[n] == '\n') {
			line[n] = '\0';
			if (sk_is_secret(line) &&
			    setenv(SK_ENV_SECRET,
				   line + strlen(SK_ENV_SECRET) + 1, 1) == 0)
				rc = 0;
			break;
		}
		n++;
	}
	explicit_bzero(line, sizeof(line));
	return rc;
}

/*
 * skrun --agent [--wdir DIR] VAR=val... -- prog args: run one node on this
 * host for a skrun elsewhere, in DIR if this host has it (else in the ssh
 * login's directory, as mpirun does). The ssh connection is its lifeline:
 * when stdin reaches EOF (skrun or ssh died, or the job was aborted) the
 * node's process group is killed. The agent exits with the node's status,
 * or 128 + signal after saying which (ssh cannot carry a signal back).
 */
static int sk_agent_main(int argc, char **argv)
{
	const char *wdir = NULL, *chdir_to = NULL, *rank;
	char host[256] = "";
	sigset_t set;
	int i = 2, status, sfd, wdir_err = 0;
	bool merge = false;
	pid_t pid, agent = getpid();
	struct pollfd pfd[2];

	/* First of all: ssh got us running (see sk_agent_marker). */
	if (write(STDOUT_FILENO, sk_agent_marker, SK_AGENT_MARKER_LEN) < 0)
		return SK_EXIT_LAUNCH;
	for (;;) {
		if (i + 1 < argc && strcmp(argv[i], "--wdir") == 0) {
			wdir = argv[i + 1];
			i += 2;
		} else if (i + 1 < argc && strcmp(argv[i], "--chdir") == 0) {
			chdir_to = argv[i + 1];
			i += 2;
		} else if (i < argc && strcmp(argv[i], "--merge") == 0) {
			merge = true;
			i++;
		} else if (i < argc &&
			   strcmp(argv[i], "--secret-stdin") == 0) {
			if (sk_agent_read_secret() != 0) {
				fprintf(stderr, "skrun --agent: no job secret "
						"on stdin\n");
				return SK_EXIT_USAGE;
			}
			i++;
		} else {
			break;
		}
	}
	gethostname(host, sizeof(host) - 1);
	/* --wdir given to skrun: as mpirun, a rank does not start
	 * elsewhere than asked. */
	if (chdir_to != NULL && chdir(chdir_to) != 0) {
		dprintf(STDOUT_FILENO, SK_AGENT_FAIL_FMT, "chdir", errno, 0);
		return SK_EXIT_NOSTART;
	}
	for (; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strchr(argv[i], '=') == NULL || putenv(argv[i]) != 0) {
			fprintf(stderr, "skrun --agent: bad assignment '%s'\n",
				argv[i]);
			return SK_EXIT_USAGE;
		}
	if (i + 1 >= argc) {
		fprintf(stderr, "skrun --agent: missing program\n");
		return SK_EXIT_USAGE;
	}
	if (wdir != NULL && chdir(wdir) != 0)
		wdir_err = errno;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "skrun --agent: signalfd: %s\n",
			strerror(errno));
		return SK_EXIT_LAUNCH;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "skrun --agent: fork: %s\n", strerror(errno));
		return SK_EXIT_LAUNCH;
	}
	if (pid == 0) {
		int in = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != agent) /* the agent died before prctl */
			_exit(SK_EXIT_LAUNCH);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		if (in >= 0) {
			dup2(in, STDIN_FILENO); /* not the lifeline */
			if (in != STDIN_FILENO)
				close(in);
		}
		if (merge)
			dup2(STDOUT_FILENO, STDERR_FILENO);
		execvp(argv[i + 1], argv + i + 1);
		/* skrun says it, once for the host (sk_agent_marker). */
		dprintf(STDOUT_FILENO, SK_AGENT_FAIL_FMT, "exec", errno,
			wdir_err);
		_exit(SK_EXIT_NOSTART);
	}
	pfd[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
	for (;;) {
		char buf[256];
		ssize_t r;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			pfd[0].revents = POLLHUP; /* cannot watch: stop */
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) > 0 &&
			    waitpid(pid, &status, WNOHANG) == pid)
				break;
		}
		if (pfd[0].revents == 0)
			continue;
		r = read(STDIN_FILENO, buf, sizeof(buf));
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			/* The lifeline is cut: skrun, or its ssh, is gone. */
			kill(-pid, SIGTERM);
			usleep(200000);
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return SK_EXIT_LAUNCH;
		}
	}
	if (WIFSIGNALED(status)) {
		rank = getenv(SK_ENV_RANK);
		fprintf(stderr, "skrun: rank %s (pid %d) on %s was killed by "
				"signal %d (%s)\n", rank ? rank : "?", (int)pid,
			host, WTERMSIG(status), sk_signame(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

/* ---- checks before any rank starts ---- */

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
static void sk_warn_env(const struct sk_job *job)
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
static int sk_wdir_setup(const struct sk_job *job, bool any_local)
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

/* mpirun's refusal to bind more ranks than this machine has cores. */
static int sk_bind_setup(const struct sk_job *job, unsigned nlocal)
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

/* mkdir -p @path (mode 0750, as Open MPI makes them). */
static int sk_mkdirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			*p = c;
			return -1;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/*
 * --output-filename DIR: DIR/1/rank.N/stdout and .../stderr per rank,
 * as Open MPI 4.1's mpirun writes them (1 is the job, the only one skrun
 * runs; N has as many digits as the job's size, zero-filled, so that they
 * sort). A relative DIR is skrun's directory's. With
 * --merge-stderr-to-stdout only stdout is made.
 */
static int sk_outputs_open(const struct sk_job *job)
{
	const char *dir = job->opts.output_dir;
	unsigned digits = 1, r;
	char path[PATH_MAX];

	if (dir == NULL)
		return 0;
	for (unsigned v = job->size; v >= 10; v /= 10)
		digits++;
	for (r = 0; r < job->size; r++) {
		int len = snprintf(path, sizeof(path), "%s/1/rank.%0*u", dir,
				   (int)digits, r);

		if (len < 0 || (size_t)len + sizeof("/stderr") > sizeof(path)) {
			fprintf(stderr, "skrun: --output-filename '%s': path "
					"too long\n", dir);
			return SK_EXIT_USAGE;
		}
		if (sk_mkdirs(path) != 0)
			goto fail;
		for (int s = 0; s < (job->opts.merge_stderr ? 1 : 2); s++) {
			snprintf(path + len, sizeof(path) - (size_t)len, "/%s",
				 s ? "stderr" : "stdout");
			sk_launch[r].outfile[s] =
				open(path, O_WRONLY | O_CREAT | O_TRUNC |
						   O_CLOEXEC | O_APPEND, 0644);
			if (sk_launch[r].outfile[s] < 0)
				goto fail;
			path[len] = '\0';
		}
	}
	return 0;
fail:
	fprintf(stderr, "skrun: --output-filename: cannot create '%s': %s\n",
		path, strerror(errno));
	return SK_EXIT_USAGE;
}

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

	fflush(stderr);
	saved = mfd >= 0 ? dup(STDERR_FILENO) : -1;
	if (saved >= 0)
		dup2(mfd, STDERR_FILENO);
	st = sk_dev_open(prov, NULL, &job->dev);
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
 * skrun.c's per-rank state (struct sk_launch) for the placement in
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

/* The program, once for all the ranks that run here. */
static int sk_prog_setup(const struct sk_job *job, unsigned nlocal,
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

static int sk_job_setup(struct sk_job *job, const char *self)
{
	struct sk_place place = {.np = job->opts.np,
				 .map_by = job->opts.map_by,
				 .npernode = job->opts.npernode,
				 .oversubscribe = job->opts.oversubscribe};
	const char *prov, *from, *first_local;
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
	gethostname(job->hostname, sizeof(job->hostname) - 1);
	sk_warn_env(job);
	prov = sk_job_provider(job, &from);
	if (prov == NULL)
		return SK_EXIT_USAGE;
	if (sk_hosts_place(&job->opts.hosts, &place, &np, &host_of, err,
			   sizeof(err)) != 0) {
		fprintf(stderr, "skrun: %s\n", err);
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
		remote |= !n->local;
		n->stdin_fd = -1;
		n->confirm_to = SK_NO_RANK;
		n->pipe[0].w.fd = n->pipe[1].w.fd = -1;
		sk_fsrv_files_init(&n->files);
	}
	rc = sk_launch_setup(job, host_of, &nlocal, &first_local);
	free(host_of);
	/* Each refusal before any rank starts, as mpirun's are. */
	if (rc != 0 || (rc = sk_bind_setup(job, nlocal)) != 0 ||
	    (rc = sk_wdir_setup(job, nlocal > 0)) != 0 ||
	    (rc = sk_prog_setup(job, nlocal, first_local)) != 0 ||
	    (rc = sk_outputs_open(job)) != 0)
		return rc;

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
	/* Per node: a channel's slots and a bulk buffer. */
	st = sk_arena_create(job->dev,
			     (size_t)np * (SK_HMSG_BULK_MAX +
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
	job->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
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
	for (r = 0; r < np; r++) {
		rc = sk_spawn(job, &job->node[r], self);

		if (rc < 0) {
			sk_job_abort(job, SK_EXIT_LAUNCH,
				     "cannot start rank %u: %s", r,
				     strerror(-rc));
			break;
		}
		if (job->opts.report_bindings)
			sk_report_binding(job, &job->node[r]);
	}
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
	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];

		sk_job_output_flush(job, n);
		sk_pipe_close(job, n, 0);
		sk_pipe_close(job, n, 1);
		if (n->rkey)
			sk_rkey_destroy(n->rkey);
		if (n->ep)
			sk_ep_destroy(n->ep);
		if (n->stdin_fd >= 0)
			close(n->stdin_fd);
	}
	/* A file thread may still wait in a system call for a node (a read
	 * from a FIFO nobody writes, a disk that does not answer): it keeps
	 * its node (files, the bulk buffer's memory in the arena) and the
	 * root until the exit that follows. It never touches the fabric, so
	 * the registrations and the device go in any case. */
	busy = sk_fileq_stop();
	busy += sk_services_files_cleanup(job, busy == 0);
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
	if (sk_topo)
		hwloc_topology_destroy(sk_topo);
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
	sk_launch_cleanup(job);
	free(job->node);
	job->node = NULL;
	if (sk_topo)
		hwloc_topology_destroy(sk_topo);
	sk_topo = NULL;
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
	/* Run until every node has exited and said all it had to say. A
	 * grandchild may hold a pipe open: after the last exit, wait for
	 * end-of-file on the pipes for at most a second. */
	uint64_t drain_end = 0;

	while (job.nexited < job.size || job.open_pipes > 0) {
		int timeout = -1;

		if (job.nexited == job.size) {
			uint64_t now = sk_time_ns();

			if (drain_end == 0)
				drain_end = now + 1000000000ull;
			if (now >= drain_end)
				break;
			timeout = (int)((drain_end - now) / 1000000 + 1);
		}
		if (sk_loop_run_once(job.loop, timeout) < 0)
			break;
	}
	rc = job.have_code ? job.exit_code : 0;
	sk_job_cleanup(&job);
	return rc;
}
