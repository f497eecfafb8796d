/*
 * What the node programs of e2e's stalled-node checks share (fifo_app,
 * keystall_app; tests/e2e/jobs.sh): rank 1 does something that stalls
 * and rank 0 shows the console still flows. Header-only: each program is
 * one file.
 *
 *   PROG FILE GO
 */
#ifndef SKIFF_TESTS_STALL_APP_H
#define SKIFF_TESTS_STALL_APP_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skiff/file.h>
#include <skiff/os.h>

/* The command line: exits 2 with a usage line unless it is PROG FILE GO. */
static inline void stall_app_args(int argc, const char *prog)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s FILE GO\n", prog);
		exit(2);
	}
}

/* Rank 1: open @path through the host's file service; exits 1 with a
 * message if it cannot. */
static inline int stall_app_open(const char *path)
{
	int fd = sk_open(path, O_RDONLY);

	if (fd < 0) {
		printf("rank 1 open: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* Rank 0: wait until the file @go exists here (a local check, not a
 * request to the host), then print "rank 0 speaks". */
static inline void stall_app_speak(const char *go)
{
	while (access(go, F_OK) != 0)
		sk_os_sleep_ms(20);
	printf("rank 0 speaks\n");
	fflush(stdout);
}

#endif /* SKIFF_TESTS_STALL_APP_H */
