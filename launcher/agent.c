/*
 * skrun --agent: the remote end of an ssh launch. skrun runs it on the
 * rank's host through $SKIFF_SSH (spawn.c); it runs the rank there and
 * holds the ssh channel as its lifeline. Its first line on stdout is the
 * marker (skrun.h), so that skrun can tell ssh's own failure from the
 * rank's; a program it cannot start, it reports in a second line, which
 * output.c takes off the rank's output and jobctl.c says once per host.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
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
			      size_t n, pid_t pid)
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
			kill(-pid, sig);
		ll->len = 0;
		ll->overflow = false;
	}
}

/*
 * skrun --agent [--wdir DIR] VAR=val... -- prog args: run one node on this
 * host for a skrun elsewhere (or, inside Slurm, here through srun), in DIR
 * if this host has it (else in the ssh login's directory, as mpirun does).
 * The ssh or srun connection is its lifeline: when stdin reaches EOF
 * (skrun, ssh or srun died, or the job was aborted) the node's process
 * group is killed. A line "SIG n" on it (skrun forwarding a signal,
 * SK_AGENT_SIG_FMT) sends signal n to the node's group, and so does the
 * agent's own SIGTERM, SIGINT or SIGHUP (Slurm's scancel signals every
 * step's tasks). The agent exits with the node's status, or 128 + signal
 * after saying which (neither ssh nor srun carries a signal back).
 */
int sk_agent_main(int argc, char **argv)
{
	const char *wdir = NULL, *chdir_to = NULL, *rank;
	char host[256] = "";
	sigset_t set;
	int i = 2, status, sfd, wdir_err = 0;
	bool merge = false;
	pid_t pid, agent = getpid();
	struct pollfd pfd[2];
	struct sk_lifeline ll = {.len = 0};

	/* First of all: ssh got us running (see SK_AGENT_MARKER). */
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
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
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
		/* skrun says it, once for the host (SK_AGENT_MARKER). */
		dprintf(STDOUT_FILENO, SK_AGENT_FAIL_FMT, "exec", errno,
			wdir_err);
		_exit(SK_EXIT_NOSTART);
	}
	/* Also here, as spawn.c does: a "SIG n" already waiting on the
	 * lifeline must find the group even if the child has not run yet. */
	setpgid(pid, pid);
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

			if (read(sfd, &si, sizeof(si)) > 0) {
				if (si.ssi_signo != SIGCHLD)
					kill(-pid, (int)si.ssi_signo);
				else if (waitpid(pid, &status, WNOHANG) == pid)
					break;
			}
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
		sk_agent_lifeline(&ll, buf, (size_t)r, pid);
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
