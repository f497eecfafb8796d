/*
 * sk_file_bw [-c CHUNK] [-k] [-r] MIB PATH: file bandwidth through the host.
 *
 * A node writes MIB MiB to PATH (a path under the job's root, served by
 * skrun's file service) with sk_write, CHUNK bytes a call (default 1 MiB),
 * closes it, opens it again and reads it back with sk_read in the same
 * chunks. -k keeps the file's pages: the write overwrites it in place
 * (no O_TRUNC), so that it measures the path, not the page allocation of
 * a new file. -r only reads (PATH must hold MIB MiB an earlier run wrote
 * with the same CHUNK; write_s is then 0): a profile of the read alone.
 * It prints
 *
 *   write_bytes W write_s T read_bytes R read_s T
 *
 * where the write time runs from sk_open(O_CREAT [| O_TRUNC]) to the return
 * of sk_close and the read time from sk_open to sk_close, each with
 * clock_gettime(CLOCK_MONOTONIC) (dd's timer runs from after its opens to
 * after its closes: the two differ by one open, a round trip). Every chunk carries
 * its index in its first 8 bytes and the rest is a fixed pattern: the read
 * checks every index, and the whole of the first and the last chunk.
 * Nothing is synced: both directions go to and from the host's page cache.
 * Exit status: 0 ok, 1 an I/O call failed or the data read back is wrong,
 * 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <skiff/file.h>
#include <skiff/os.h>

#include "os_args.h"

static void usage(void)
{
	fprintf(stderr, "usage: sk_file_bw [-c CHUNK] [-k] [-r] MIB PATH\n");
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void fail(const char *what, const char *path)
{
	printf("sk_file_bw: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	unsigned long chunk = 1ul << 20, mib;
	unsigned char *pat, *buf;
	const char *path;
	size_t total, off, i;
	double t0, tw = 0, tr;
	int fd, c, trunc = O_TRUNC;
	bool only_read = false;

	while ((c = getopt(argc, argv, "c:kr")) != -1) {
		if (c == 'k') {
			trunc = 0;
			continue;
		}
		if (c == 'r') {
			only_read = true;
			continue;
		}
		if (c != 'c')
			usage();
		chunk = os_parse_count(optarg, 64ul << 20);
		if (chunk < 8)
			usage();
	}
	if (optind != argc - 2)
		usage();
	mib = os_parse_count(argv[optind], 1ul << 16);
	if (mib == 0)
		usage();
	path = argv[optind + 1];
	total = (size_t)mib << 20;
	if (!sk_os_booted()) {
		fprintf(stderr, "sk_file_bw: run me under skrun\n");
		return 1;
	}

	pat = malloc(chunk);
	buf = malloc(chunk);
	if (pat == NULL || buf == NULL) {
		printf("sk_file_bw: out of memory\n");
		return 1;
	}
	for (i = 0; i < chunk; i++)
		pat[i] = (unsigned char)(i * 131 + (i >> 8));

	if (only_read)
		goto read;
	t0 = now();
	fd = sk_open(path, O_WRONLY | O_CREAT | trunc, 0644);
	if (fd < 0)
		fail("open", path);
	for (off = 0; off < total; off += chunk) {
		size_t n = total - off < chunk ? total - off : chunk;
		uint64_t idx = off / chunk;
		ssize_t w;

		memcpy(pat, &idx, n < 8 ? n : 8);
		w = sk_write(fd, pat, n);
		if (w < 0)
			fail("write", path);
		if ((size_t)w != n) {
			printf("sk_file_bw: short write (%zd of %zu)\n", w, n);
			return 1;
		}
	}
	if (sk_close(fd) != 0)
		fail("close", path);
	tw = now() - t0;

read:
	t0 = now();
	fd = sk_open(path, O_RDONLY);
	if (fd < 0)
		fail("open", path);
	for (off = 0; off < total; off += chunk) {
		size_t n = total - off < chunk ? total - off : chunk, got = 0;
		uint64_t idx = off / chunk, seen = 0;

		while (got < n) {
			ssize_t r = sk_read(fd, buf + got, n - got);

			if (r < 0)
				fail("read", path);
			if (r == 0) {
				printf("sk_file_bw: %s ends at %zu, not %zu\n",
				       path, off + got, total);
				return 1;
			}
			got += (size_t)r;
		}
		memcpy(&seen, buf, n < 8 ? n : 8);
		memcpy(pat, &idx, n < 8 ? n : 8);
		if (memcmp(&seen, &idx, n < 8 ? n : 8) != 0 ||
		    ((idx == 0 || off + n == total) &&
		     memcmp(buf, pat, n) != 0)) {
			printf("sk_file_bw: wrong data in chunk %llu\n",
			       (unsigned long long)idx);
			return 1;
		}
	}
	if (sk_close(fd) != 0)
		fail("close", path);
	tr = now() - t0;

	printf("write_bytes %zu write_s %.6f read_bytes %zu read_s %.6f\n",
	       total, tw, total, tr);
	free(pat);
	free(buf);
	return 0;
}
