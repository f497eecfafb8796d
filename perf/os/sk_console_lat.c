/*
 * sk_console_lat [-p PERIOD_MS] SECONDS idle|ckpt MIB: a node's console
 * latency while the others of its job checkpoint (perf/compare-console-
 * ckpt.sh, with perf/os/linelat reading skrun's output).
 *
 * Rank 0 prints a line "console_lat SEQ NS" every PERIOD_MS (default 5)
 * for SECONDS, NS being CLOCK_MONOTONIC when printf was called, and
 * flushes it: linelat, reading skrun's stdout on the same host, takes the
 * difference. The other ranks, for the same SECONDS: "idle" sleeps on
 * their loops; "ckpt" writes their slices of ckpt.dat (MIB MiB over the
 * writers) in 1 MiB sk_write calls, over and over, and then each prints
 * "ckpt_mib R M", the MiB it wrote. Everyone meets at a barrier before
 * and after. Exit status 0, 1 a failed call, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skiff/file.h>
#include <skiff/os.h>

#include "os_args.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: sk_console_lat [-p PERIOD_MS] SECONDS "
			"idle|ckpt MIB\n");
	exit(2);
}

static int printer(uint64_t end, unsigned long period)
{
	uint64_t seq = 0;

	while (now_ns() < end) {
		printf("console_lat %llu %llu\n", (unsigned long long)seq++,
		       (unsigned long long)now_ns());
		fflush(stdout);
		sk_os_sleep_ms((unsigned)period);
	}
	return 0;
}

static int writer(uint64_t end, uint64_t slice, uint64_t off)
{
	const size_t bs = 1u << 20;
	unsigned char *buf = malloc(bs);
	uint64_t wrote = 0;
	int fd;

	if (buf == NULL)
		return 1;
	memset(buf, 0x5a, bs);
	fd = sk_open("ckpt.dat", O_WRONLY | O_CREAT, 0644);
	if (fd < 0) {
		printf("sk_console_lat: open ckpt.dat: %s\n", strerror(errno));
		return 1;
	}
	while (now_ns() < end) {
		if (sk_lseek(fd, (off_t)off, SEEK_SET) < 0)
			break;
		for (uint64_t k = 0; k < slice / bs && now_ns() < end; k++) {
			if (sk_write(fd, buf, bs) != (ssize_t)bs) {
				printf("sk_console_lat: write: %s\n",
				       strerror(errno));
				sk_close(fd);
				return 1;
			}
			wrote += bs;
		}
	}
	if (sk_close(fd) != 0) {
		printf("sk_console_lat: close: %s\n", strerror(errno));
		return 1;
	}
	printf("ckpt_mib %u %llu\n", sk_os_rank(),
	       (unsigned long long)(wrote >> 20));
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long period = 5, secs, mib;
	unsigned rank, size;
	uint64_t end, slice;
	int c, ckpt, rc;

	while ((c = getopt(argc, argv, "p:")) != -1) {
		if (c != 'p' || (period = os_parse_count(optarg, 1000)) == 0)
			usage();
	}
	if (optind != argc - 3 ||
	    (secs = os_parse_count(argv[optind], 3600)) == 0 ||
	    (mib = os_parse_count(argv[optind + 2], 1ul << 20)) == 0)
		usage();
	if (strcmp(argv[optind + 1], "idle") == 0)
		ckpt = 0;
	else if (strcmp(argv[optind + 1], "ckpt") == 0)
		ckpt = 1;
	else
		usage();
	if (!sk_os_booted()) {
		fprintf(stderr, "sk_console_lat: run me under skrun\n");
		return 1;
	}
	rank = sk_os_rank();
	size = sk_os_size();
	if (size < 2) {
		fprintf(stderr, "sk_console_lat: 2 ranks at least\n");
		return 2;
	}
	slice = ((uint64_t)mib << 20) / (size - 1) / (1u << 20) * (1u << 20);
	if (slice == 0)
		slice = 1u << 20;
	sk_os_barrier();
	end = now_ns() + (uint64_t)secs * 1000000000ull;
	if (rank == 0)
		rc = printer(end, period);
	else if (ckpt)
		rc = writer(end, slice, (uint64_t)(rank - 1) * slice);
	else
		rc = (sk_os_sleep_ms((unsigned)(secs * 1000)), 0);
	sk_os_barrier();
	return rc;
}
