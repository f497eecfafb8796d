/*
 * skrun --agent: a remote host's end of a launch. skrun runs one per host
 * (group.c) through $SKIFF_SSH, or through srun as a Slurm step (spawn.c);
 * it forks the host's ranks there and holds the ssh or srun channel as its
 * lifeline. Its first line on stdout is the marker (skrun.h), so that
 * skrun can tell ssh's or srun's own failure from the ranks'; after it
 * come only frames (parse.h) with each rank's output, pid and wait status.
 * A program it cannot start, a rank says in a line at the start of its
 * stdout, which output.c takes off and jobctl.c says once per host.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"
#include "skrun.h"

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
 * What skrun says on the lifeline after the secret: lines of
 * SK_AGENT_SIG_FMT. Anything else is skipped a line at a time, and a
 * line longer than the buffer is dropped whole.
 */
struct sk_lifeline {
	char   line[32];
	size_t len;
	bool   overflow;
};

static void sk_agent_lifeline(struct sk_lifeline *ll, const char *buf,
			      size_t n, void (*signal_fn)(int sig, void *arg),
			      void *arg)
{
	for (size_t i = 0; i < n; i++) {
		int sig;

		if (buf[i] != '\n') {
			if (ll->len < sizeof(ll->line) - 1)
				ll->line[ll->len++] = buf[i];
			else
				ll->overflow = true;
			continue;
		}
		ll->line[ll->len] = '\0';
		/* Only the signals skrun forwards (jobctl.c). */
		if (!ll->overflow &&
		    (sig = sk_parse_agent_sig(ll->line, ll->len)) != 0)
			signal_fn(sig, arg);
		ll->len = 0;
		ll->overflow = false;
	}
}

static uint64_t sk_agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the ranks of this host ---- */

/* One rank the agent runs, and its two pipes (read ends, or -1). */
struct sk_agent_rank {
	unsigned rank;
	pid_t    pid;
	int      fd[2];
	bool     exited;
};

/* Write a frame, whole, on stdout. If srun's stream is gone so is skrun:
 * the lifeline's end says so and stops the ranks. */
static void sk_agent_frame(enum sk_frame_kind kind, unsigned idx,
			   const void *data, size_t len)
{
	uint8_t hdr[SK_FRAME_HDR];
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)data, len}};
	int cnt = 2;

	sk_frame_header(hdr, kind, idx, (uint32_t)len);
	while (cnt > 0) {
		ssize_t w = writev(STDOUT_FILENO, iov + 2 - cnt, cnt);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		for (int i = 2 - cnt; i < 2 && w > 0; i++) {
			size_t t = (size_t)w < iov[i].iov_len ? (size_t)w
							      : iov[i].iov_len;

			iov[i].iov_base = (char *)iov[i].iov_base + t;
			iov[i].iov_len -= t;
			w -= (ssize_t)t;
			if (iov[i].iov_len == 0)
				cnt--;
		}
	}
}

static void sk_agent_value(enum sk_frame_kind kind, unsigned idx,
			   uint32_t value)
{
	uint8_t v[4] = {(uint8_t)value, (uint8_t)(value >> 8),
			(uint8_t)(value >> 16), (uint8_t)(value >> 24)};

	sk_agent_frame(kind, idx, v, sizeof(v));
}

/* Forward what rank @idx's pipe @s holds now. Returns 1 when it held
 * something, 0 when it was empty, -1 at its end (it is then closed). */
static int sk_agent_forward(struct sk_agent_rank *r, unsigned idx, int s)
{
	static char buf[SK_FRAME_DATA_MAX];
	ssize_t n = read(r->fd[s], buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		close(r->fd[s]);
		r->fd[s] = -1;
		return -1;
	}
	sk_agent_frame(s ? SK_FRAME_ERR : SK_FRAME_OUT, idx, buf, (size_t)n);
	return 1;
}

struct sk_agent_group_sig {
	struct sk_agent_rank *r;
	unsigned count;
};

/*
 * If rank @idx has ended (waitpid with @flags): its last words, then its
 * exit frame; *@code_p rises to its exit code. Returns whether it was
 * reaped now.
 */
static bool sk_agent_reap(struct sk_agent_rank *r, unsigned idx, int flags,
			  int *code_p)
{
	int st, code;

	if (r->exited || r->pid <= 0 || waitpid(r->pid, &st, flags) != r->pid)
		return false;
	for (int s = 0; s < 2; s++)
		while (r->fd[s] >= 0 && sk_agent_forward(r, idx, s) > 0)
			;
	r->exited = true;
	sk_agent_value(SK_FRAME_EXIT, idx, (uint32_t)st);
	code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	if (code > *code_p)
		*code_p = code;
	return true;
}

/* "--ranks 3,4,5": 1 to SK_OPTS_MAX_SLOTS ranks, ascending. */
static unsigned *sk_agent_ranks(const char *s, unsigned *count_p)
{
	unsigned *v = calloc(SK_OPTS_MAX_SLOTS, sizeof(*v)), n = 0;

	while (v != NULL) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (n == SK_OPTS_MAX_SLOTS ||
		    sk_parse_uint(s, len, 0, SK_OPTS_MAX_NODES - 1, &v[n]) !=
			    SK_NUM_OK ||
		    (n > 0 && v[n] <= v[n - 1]))
			break;
		n++;
		if (end == NULL) {
			*count_p = n;
			return v;
		}
		s = end + 1;
	}
	free(v);
	return NULL;
}

/* The descriptor limit the agent was started with, which its ranks get
 * back (sk_agent_group raises its own). */
static struct rlimit sk_agent_nofile;

/* In the child for rank @idx: its pipes, its identity, the program. */
static __attribute__((noreturn)) void
sk_agent_exec(const struct sk_agent_rank *r, unsigned idx, unsigned count,
	      int out, int err, const sigset_t *set, char **prog, int wdir_err,
	      pid_t agent)
{
	char v[16];
	int in = open("/dev/null", O_RDONLY);

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != agent) /* the agent died before prctl */
		_exit(SK_EXIT_LAUNCH);
	sigprocmask(SIG_UNBLOCK, set, NULL);
	signal(SIGPIPE, SIG_DFL);
	setrlimit(RLIMIT_NOFILE, &sk_agent_nofile);
	if (in >= 0) {
		dup2(in, STDIN_FILENO); /* not the lifeline */
		if (in != STDIN_FILENO)
			close(in);
	}
	dup2(out, STDOUT_FILENO);
	dup2(err, STDERR_FILENO);
	snprintf(v, sizeof(v), "%u", r->rank);
	setenv(SK_ENV_RANK, v, 1);
	snprintf(v, sizeof(v), "%u", idx);
	setenv("SKIFF_LOCAL_RANK", v, 1);
	snprintf(v, sizeof(v), "%u", count);
	setenv("SKIFF_LOCAL_SIZE", v, 1);
	execvp(prog[0], prog);
	/* skrun says it, once for the host (SK_AGENT_MARKER). */
	dprintf(STDOUT_FILENO, SK_AGENT_FAIL_FMT, "exec", errno, wdir_err);
	_exit(SK_EXIT_NOSTART);
}

static void sk_agent_group_kill(struct sk_agent_rank *r, unsigned count,
			       int sig)
{
	for (unsigned i = 0; i < count; i++)
		if (r[i].pid > 0 && !r[i].exited)
			kill(-r[i].pid, sig);
}

/* Every running rank's process group (sk_agent_group's signal_fn). */
static void sk_agent_signal_group(int sig, void *arg)
{
	struct sk_agent_group_sig *gs = arg;

	sk_agent_group_kill(gs->r, gs->count, sig);
}

/*
 * Run the @count ranks of @ranks here and frame their output, pids and
 * exit statuses on stdout (parse.h) until every one has exited and its
 * pipes are drained (for at most a second after the last exit: a
 * grandchild may hold one). The lifeline and the agent's own signals
 * reach every rank's process group. Returns the highest exit code.
 */
static int sk_agent_group(const unsigned *ranks, unsigned count, char **prog,
			  bool merge, int wdir_err, int sfd,
			  const sigset_t *set)
{
	struct sk_agent_rank *r = calloc(count, sizeof(*r));
	struct pollfd *pfd = calloc(2 + 2 * (size_t)count, sizeof(*pfd));
	/* pfd[k]'s rank and pipe, as 2 * index + pipe */
	unsigned *which = calloc(2 + 2 * (size_t)count, sizeof(*which));
	struct sk_lifeline ll = {.len = 0};
	struct sk_agent_group_sig gs = {.r = r, .count = count};
	unsigned running = 0, i;
	int code = 0;
	bool failed = false;
	pid_t agent = getpid();
	uint64_t drain_end = 0;

	/* A write to a gone skrun fails, and the lifeline's end says the
	 * rest; the ranks get SIGPIPE back (sk_agent_exec). */
	signal(SIGPIPE, SIG_IGN);
	/* Two pipes a rank: raise the soft descriptor limit to the hard one,
	 * as Open MPI's daemons do, so that a host's ranks are not bounded
	 * by a login's 1024 (its ranks get the old limit back). */
	if (getrlimit(RLIMIT_NOFILE, &sk_agent_nofile) == 0 &&
	    sk_agent_nofile.rlim_cur < sk_agent_nofile.rlim_max) {
		struct rlimit raised = sk_agent_nofile;

		raised.rlim_cur = raised.rlim_max;
		setrlimit(RLIMIT_NOFILE, &raised);
	}
	if (r == NULL || pfd == NULL || which == NULL) {
		fprintf(stderr, "skrun --agent: out of memory\n");
		free(r);
		free(pfd);
		free(which);
		return SK_EXIT_LAUNCH;
	}
	for (i = 0; i < count; i++) {
		int out[2], err[2] = {-1, -1};

		r[i].rank = ranks[i];
		r[i].fd[0] = r[i].fd[1] = -1;
		if (pipe2(out, O_CLOEXEC) < 0 ||
		    (!merge && pipe2(err, O_CLOEXEC) < 0)) {
			int e = errno;
			struct rlimit now;

			if (e == EMFILE && getrlimit(RLIMIT_NOFILE, &now) == 0)
				fprintf(stderr, "skrun --agent: %u ranks need "
						"%u descriptors, and this host "
						"allows %llu (ulimit -n)\n",
					count, (merge ? 1 : 2) * count + 8,
					(unsigned long long)now.rlim_cur);
			else
				fprintf(stderr, "skrun --agent: pipe: %s\n",
					strerror(e));
			failed = true;
			break;
		}
		r[i].pid = fork();
		if (r[i].pid == 0)
			sk_agent_exec(&r[i], i, count, out[1],
				      merge ? out[1] : err[1], set, prog,
				      wdir_err, agent);
		close(out[1]);
		if (!merge)
			close(err[1]);
		r[i].fd[0] = out[0];
		r[i].fd[1] = err[0];
		if (r[i].pid < 0) {
			fprintf(stderr, "skrun --agent: fork: %s\n",
				strerror(errno));
			failed = true;
			break;
		}
		/* Also here: a "SIG n" already on the lifeline must find
		 * the group even if the child has not run yet. */
		setpgid(r[i].pid, r[i].pid);
		for (int s = 0; s < 2; s++)
			if (r[i].fd[s] >= 0)
				fcntl(r[i].fd[s], F_SETFL, O_NONBLOCK);
		sk_agent_value(SK_FRAME_PID, i, (uint32_t)r[i].pid);
		running++;
	}
	if (failed) { /* ranks that cannot all start: none runs */
		sk_agent_group_kill(r, count, SIGKILL);
		running = 0;
		code = SK_EXIT_LAUNCH;
	}
	for (;;) {
		unsigned np = 2, open_fds = 0;
		int timeout = -1;

		pfd[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (i = 0; i < count; i++)
			for (int s = 0; s < 2; s++)
				if (r[i].fd[s] >= 0) {
					which[np] = 2 * i + (unsigned)s;
					pfd[np++] = (struct pollfd){
						.fd = r[i].fd[s],
						.events = POLLIN};
					open_fds++;
				}
		if (running == 0) {
			uint64_t now = sk_agent_now_ms();

			if (open_fds == 0 || failed)
				break;
			if (drain_end == 0)
				drain_end = now + 1000;
			if (now >= drain_end)
				break;
			timeout = (int)(drain_end - now);
		}
		if (poll(pfd, np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			pfd[0].revents = POLLHUP; /* cannot watch: stop */
		}
		/* Output first: what a rank wrote before it exited goes
		 * before its exit status. */
		for (unsigned k = 2; k < np; k++)
			if (pfd[k].revents != 0)
				sk_agent_forward(&r[which[k] / 2], which[k] / 2,
						 (int)(which[k] % 2));
		if (pfd[1].revents) {
			struct signalfd_siginfo si;

			while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo != SIGCHLD) {
					sk_agent_group_kill(r, count,
							    (int)si.ssi_signo);
					continue;
				}
				for (i = 0; i < count; i++)
					if (sk_agent_reap(&r[i], i, WNOHANG,
							  &code))
						running--;
			}
		}
		if (pfd[0].revents) {
			char buf[256];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				/* The lifeline is cut: skrun or srun is
				 * gone. */
				sk_agent_group_kill(r, count, SIGTERM);
				usleep(200000);
				sk_agent_group_kill(r, count, SIGKILL);
				/* Their ends, for a skrun still reading. */
				for (i = 0; i < count; i++)
					sk_agent_reap(&r[i], i, 0, &code);
				code = SK_EXIT_LAUNCH;
				break;
			}
			sk_agent_lifeline(&ll, buf, (size_t)n,
					  sk_agent_signal_group, &gs);
		}
	}
	for (i = 0; i < count; i++)
		for (int s = 0; s < 2; s++)
			if (r[i].fd[s] >= 0)
				close(r[i].fd[s]);
	free(r);
	free(pfd);
	free(which);
	return code;
}

/*
 * skrun --agent [--wdir DIR | --chdir DIR] [--merge] --ranks LIST
 * --secret-stdin VAR=val... -- prog args: run the ranks of LIST on this
 * host for a skrun elsewhere (group.c), reached by ssh, or by srun as the
 * one task of a Slurm step. Each rank runs prog with VAR=val...,
 * SKIFF_RANK, SKIFF_LOCAL_RANK (its index in LIST) and SKIFF_LOCAL_SIZE,
 * in its own process group, in DIR if this host has it (else in the ssh
 * login's directory, as mpirun does; --chdir: there or not at all). Their
 * output, pids and wait statuses go on stdout as frames after the marker
 * (parse.h; sk_agent_group). The ssh or srun connection is the lifeline:
 * when stdin reaches EOF (skrun, ssh or srun died, or the job was
 * aborted) every rank's group is killed; a line "SIG n" on it (skrun
 * forwarding a signal, SK_AGENT_SIG_FMT) sends signal n to each, and so
 * does the agent's own SIGTERM, SIGINT or SIGHUP (Slurm's scancel signals
 * every step's tasks).
 */
int sk_agent_main(int argc, char **argv)
{
	const char *wdir = NULL, *chdir_to = NULL;
	sigset_t set;
	int i = 2, status, sfd, wdir_err = 0;
	bool merge = false;
	unsigned *ranks = NULL, nranks = 0;

	/* First of all: ssh or srun got us running (SK_AGENT_MARKER). */
	if (write(STDOUT_FILENO, SK_AGENT_MARKER, SK_AGENT_MARKER_LEN) < 0)
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
		} else if (i + 1 < argc && ranks == NULL &&
			   strcmp(argv[i], "--ranks") == 0) {
			ranks = sk_agent_ranks(argv[i + 1], &nranks);
			if (ranks == NULL) {
				fprintf(stderr, "skrun --agent: bad --ranks "
						"'%s'\n", argv[i + 1]);
				return SK_EXIT_USAGE;
			}
			i += 2;
		} else if (i < argc &&
			   strcmp(argv[i], "--secret-stdin") == 0) {
			if (sk_agent_read_secret() != 0) {
				fprintf(stderr, "skrun --agent: no job secret "
						"on stdin\n");
				free(ranks);
				return SK_EXIT_USAGE;
			}
			i++;
		} else {
			break;
		}
	}
	if (ranks == NULL) {
		fprintf(stderr, "skrun --agent: no --ranks\n");
		return SK_EXIT_USAGE;
	}
	/* --wdir given to skrun: as mpirun, a rank does not start
	 * elsewhere than asked. Each rank's own stdout says it (skrun says
	 * it once for the host), and each ends 127. */
	if (chdir_to != NULL && chdir(chdir_to) != 0) {
		int e = errno;

		for (unsigned k = 0; k < nranks; k++) {
			char line[64];
			int len = snprintf(line, sizeof(line),
					   SK_AGENT_FAIL_FMT, "chdir", e, 0);

			sk_agent_frame(SK_FRAME_OUT, k, line, (size_t)len);
			sk_agent_value(SK_FRAME_EXIT, k,
				       (uint32_t)SK_EXIT_NOSTART << 8);
		}
		free(ranks);
		return SK_EXIT_NOSTART;
	}
	for (; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strchr(argv[i], '=') == NULL || putenv(argv[i]) != 0) {
			fprintf(stderr, "skrun --agent: bad assignment '%s'\n",
				argv[i]);
			free(ranks);
			return SK_EXIT_USAGE;
		}
	if (i + 1 >= argc) {
		fprintf(stderr, "skrun --agent: missing program\n");
		free(ranks);
		return SK_EXIT_USAGE;
	}
	if (wdir != NULL && chdir(wdir) != 0)
		wdir_err = errno;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		fprintf(stderr, "skrun --agent: signalfd: %s\n",
			strerror(errno));
		free(ranks);
		return SK_EXIT_LAUNCH;
	}
	status = sk_agent_group(ranks, nranks, argv + i + 1, merge, wdir_err,
				sfd, &set);
	free(ranks);
	close(sfd);
	return status;
}
