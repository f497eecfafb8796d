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
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <skiff/config.h>

#include "job.h"

#define SK_EXIT_TIMEOUT 124 /* --timeout expired, as timeout(1) */
#define SK_EXIT_USAGE   2
#define SK_EXIT_LAUNCH  1

static hwloc_topology_t sk_topo;

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

static void sk_tagged_line(struct sk_job *job, struct sk_hnode *n,
			   int stream, const char *line, size_t len)
{
	char tag[64];
	int tl = snprintf(tag, sizeof(tag), "[%llu,%u]<%s>:",
			  (unsigned long long)job->id, n->rank,
			  stream == 1 ? "stdout" : "stderr");
	int fd = stream == 1 ? STDOUT_FILENO : STDERR_FILENO;

	sk_write_all(fd, tag, (size_t)tl);
	sk_write_all(fd, line, len);
}

/* Write what node @n put on @stream (1 stdout, 2 stderr). Lines of one
 * node stay whole and in order; with --tag-output each gets its tag. */
void sk_job_output(struct sk_job *job, struct sk_hnode *n, int stream,
		   const char *buf, size_t len)
{
	struct sk_outbuf *o = &n->out[stream - 1];
	const char *nl;

	if (!job->opts.tag_output) {
		sk_write_all(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, buf,
			     len);
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

void sk_job_abort(struct sk_job *job, int code, const char *fmt, ...)
{
	va_list ap;

	if (job->aborting)
		return;
	fputs("skrun: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
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

static void sk_pipe_readable(struct sk_watch *w, unsigned revents)
{
	struct sk_pipe *p = (struct sk_pipe *)w;
	struct sk_hnode *n = p->node;
	char buf[65536];
	ssize_t r;

	r = read(w->fd, buf, sizeof(buf));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		sk_pipe_close(n->job, n, p->stream - 1);
		return;
	}
	sk_job_output(n->job, n, p->stream, buf, (size_t)r);
}

static const char *sk_signame(int sig)
{
	const char *s = sigdescr_np(sig);

	return s ? s : "unknown signal";
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

		if (!job->aborting)
			sk_job_abort(job, code,
				     "rank %u (pid %d) on %s exited with "
				     "status %d",
				     n->rank, (int)n->pid, n->host, code);
		else
			sk_job_set_code(job, code);
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

static void sk_child_exec(struct sk_job *job, struct sk_hnode *n,
			  char **env_add, size_t nenv, const char *self)
{
	sigset_t all;
	size_t k;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);

	if (job->opts.bind == SK_BIND_CORE && n->local) {
		int ncores = hwloc_get_nbobjs_by_type(sk_topo, HWLOC_OBJ_CORE);
		hwloc_obj_t core = hwloc_get_obj_by_type(
			sk_topo, HWLOC_OBJ_CORE,
			ncores > 0 ? (unsigned)n->rank % (unsigned)ncores : 0);

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
		if (cwd != NULL) { /* remote nodes start where skrun runs */
			sk_shell_quote(&cmd, &len, "--wdir");
			sk_shell_quote(&cmd, &len, cwd);
		}
		/* skrun's own SKIFF_* and UCX_* settings, as local nodes
		 * inherit them (mpirun forwards its MCA settings the same
		 * way); the job's SKIFF_* variables above come last and win. */
		for (char **ev = environ; *ev; ev++)
			if ((strncmp(*ev, "SKIFF_", 6) == 0 ||
			     strncmp(*ev, "UCX_", 4) == 0) &&
			    strncmp(*ev, "SKIFF_SSH=", 10) != 0)
				sk_shell_quote(&cmd, &len, *ev);
		for (k = 0; k < nenv; k++)
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
	    asprintf(&env[nenv++], "SKIFF_PROVIDER=%s", job->provider) < 0)
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
		dup2(err[1], STDERR_FILENO);
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
		close(lifeline[0]);
		n->stdin_fd = lifeline[1];
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
	unsigned core = ncores > 0 ? n->rank % (unsigned)ncores : 0;
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
 * skrun --agent [--wdir DIR] VAR=val... -- prog args: run one node on this
 * host for a skrun elsewhere, in DIR if this host has it (else in the ssh
 * login's directory, as mpirun does). The ssh connection is its lifeline:
 * when stdin reaches EOF (skrun or ssh died, or the job was aborted) the
 * node's process group is killed. The agent exits with the node's status,
 * or 128 + signal after saying which (ssh cannot carry a signal back).
 */
static int sk_agent_main(int argc, char **argv)
{
	const char *wdir = NULL, *rank;
	char host[256] = "";
	sigset_t set;
	int i = 2, status, sfd, wdir_err = 0;
	pid_t pid, agent = getpid();
	struct pollfd pfd[2];

	if (i + 1 < argc && strcmp(argv[i], "--wdir") == 0) {
		wdir = argv[i + 1];
		i += 2;
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
		execvp(argv[i + 1], argv + i + 1);
		status = errno;
		fprintf(stderr, "skrun: cannot start '%s': %s\n", argv[i + 1],
			strerror(status));
		if (wdir_err)
			fprintf(stderr, "skrun: (it ran in the login directory: "
					"'%s' is not usable on this host: %s)\n",
				wdir, strerror(wdir_err));
		_exit(127);
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
		gethostname(host, sizeof(host) - 1);
		fprintf(stderr, "skrun: rank %s (pid %d) on %s was killed by "
				"signal %d (%s)\n", rank ? rank : "?", (int)pid,
			host, WTERMSIG(status), sk_signame(WTERMSIG(status)));
		return 128 + WTERMSIG(status);
	}
	return WEXITSTATUS(status);
}

/* ---- main ---- */

static bool sk_host_is_local(const struct sk_job *job, const char *h)
{
	size_t hl = strcspn(job->hostname, ".");

	return strcmp(h, "localhost") == 0 ||
	       strcmp(h, job->hostname) == 0 ||
	       (strlen(h) == hl && strncmp(h, job->hostname, hl) == 0);
}

static int sk_job_setup(struct sk_job *job, const char *self)
{
	struct sk_dev_attr attr;
	char err[512];
	unsigned *host_of = NULL, r, np;
	bool remote = false;
	sigset_t set;
	sk_status_t st;
	size_t k;

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
	if (sk_hosts_map(&job->opts.hosts, job->opts.np,
			 job->opts.oversubscribe, &np, &host_of, err,
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
	free(host_of);

	if (getrandom(job->secret, sizeof(job->secret), 0) !=
	    (ssize_t)sizeof(job->secret)) {
		fprintf(stderr, "skrun: getrandom: %s\n", strerror(errno));
		return SK_EXIT_LAUNCH;
	}
	for (k = 0; k < sizeof(job->secret); k++)
		sprintf(job->secret_hex + 2 * k, "%02x", job->secret[k]);

	if (sk_fsrv_init(&job->fsrv, job->opts.root, err, sizeof(err)) != 0) {
		fprintf(stderr, "skrun: %s\n", err);
		return SK_EXIT_USAGE;
	}
	st = sk_dev_open(job->opts.provider, NULL, &job->dev);
	if (st != SK_OK) {
		fprintf(stderr, "skrun: cannot open the fabric (provider %s): "
				"%s\n", job->opts.provider ? job->opts.provider :
				"auto", sk_status_str(st));
		return SK_EXIT_LAUNCH;
	}
	sk_dev_query(job->dev, &attr);
	job->provider = attr.provider;
	st = sk_loop_create(job->dev, &job->loop);
	if (st != SK_OK)
		return SK_EXIT_LAUNCH;
	/* Per node: a channel's slots and a bulk buffer. */
	st = sk_arena_create(job->dev,
			     (size_t)np * (SK_HMSG_BULK_MAX +
					   (SK_HMSG_SLOTS + SK_CHAN_SEND_SLOTS) *
						   SK_HMSG_SLOT_SIZE + 8192) +
				     (1u << 20),
			     SK_ACCESS_LOCAL, &job->arena);
	if (st != SK_OK)
		return SK_EXIT_LAUNCH;

	if (sk_bootsrv_start(job, remote) != 0) {
		fprintf(stderr, "skrun: bootstrap listener: %s\n",
			strerror(errno));
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
	if (job->opts.bind == SK_BIND_CORE || job->opts.report_bindings) {
		hwloc_topology_init(&sk_topo);
		hwloc_topology_load(sk_topo);
	}
	for (r = 0; r < np; r++) {
		int rc = sk_spawn(job, &job->node[r], self);

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

static void sk_job_cleanup(struct sk_job *job)
{
	unsigned r;

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
		sk_fsrv_files_cleanup(&n->files);
	}
	sk_arena_destroy(job->arena);
	sk_loop_destroy(job->loop);
	sk_dev_close(job->dev);
	sk_fsrv_cleanup(&job->fsrv);
	if (job->sig_fd >= 0)
		close(job->sig_fd);
	free(job->node);
	if (sk_topo)
		hwloc_topology_destroy(sk_topo);
	sk_opts_cleanup(&job->opts);
}

int main(int argc, char **argv)
{
	struct sk_job job = {.listen_fd = -1, .sig_fd = -1};
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
		printf("skrun (Skiff) 0.1\n");
		sk_opts_cleanup(&job.opts);
		return 0;
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[sl > 0 ? sl : 0] = '\0';

	rc = sk_job_setup(&job, self);
	if (rc != 0) {
		sk_opts_cleanup(&job.opts);
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
