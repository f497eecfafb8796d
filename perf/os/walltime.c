/*
 * walltime [-o FILE] PROGRAM [ARGS...]: run PROGRAM and print the wall time
 * it took, in nanoseconds of CLOCK_MONOTONIC from just before fork to the
 * return of waitpid, on a line of its own to FILE (default stderr). Exit
 * status: PROGRAM's, 128 + signal if it was killed, 127 if it could not be
 * run, 2 usage. The perf/os scripts time whole commands with it (date(1)
 * reads the realtime clock, which may step).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull +
	       (unsigned long long)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *outpath = NULL;
	unsigned long long t0, t1;
	FILE *out = stderr;
	int status, rc;
	pid_t pid;

	if (argc > 2 && strcmp(argv[1], "-o") == 0) {
		outpath = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: walltime [-o FILE] PROGRAM [ARGS...]\n");
		return 2;
	}
	if (outpath != NULL) {
		out = fopen(outpath, "we");
		if (out == NULL) {
			fprintf(stderr, "walltime: %s: %s\n", outpath,
				strerror(errno));
			return 2;
		}
	}
	t0 = now_ns();
	pid = fork();
	if (pid < 0) {
		perror("walltime: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "walltime: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("walltime: waitpid");
			return 127;
		}
	}
	t1 = now_ns();
	fprintf(out, "%llu\n", t1 - t0);
	if (fclose(out) != 0)
		return 127;
	if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	else
		rc = WEXITSTATUS(status);
	return rc;
}
