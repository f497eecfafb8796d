/*
 * The shared-file checkpoint of perf/compare-mpiio.sh, written once for
 * both sides: sk_file_shared (Skiff nodes, skiff/file.h) and mpi_file_bw
 * (MPI-IO), each of which supplies the five calls below.
 *
 * N ranks share one file of TOTAL MiB: rank r's slice is the r-th of N
 * equal slices (whole requests of BS KiB), written in BS requests, then,
 * after every rank closed the file, read back the same way. Each request
 * carries its global index in its first 8 bytes (the rest a fixed
 * pattern), and the read checks every index. Rank 0 prints
 *
 *   ranks N bytes B write_s W read_s R
 *
 * each time from a barrier before the open to a barrier after the close
 * (every rank's data is in the file, in the host's page cache: neither
 * side syncs). Exit status 0, 1 a failed call or wrong data, 2 usage.
 */
#ifndef SKIFF_PERF_OS_SHARED_IO_H
#define SKIFF_PERF_OS_SHARED_IO_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os_args.h"

/* The side's own: open (for writing or reading), one request at @off,
 * close, the barrier, and the failure message. */
struct shio_ops {
	int (*open)(const char *path, int write);
	int (*io)(int write, void *buf, size_t len, uint64_t off);
	int (*close)(void);
	void (*barrier)(void);
	const char *(*why)(void);
	/* The request buffer's; NULL: malloc and free. */
	void *(*alloc)(size_t len);
	void (*free)(void *p);
};

static double shio_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One pass over the rank's slice; the seconds from barrier to barrier,
 * or a negative value on failure (said on stdout). */
static double shio_pass(const struct shio_ops *ops, int write,
			const char *path, unsigned rank, uint64_t slice,
			size_t bs, unsigned char *buf)
{
	uint64_t first = rank * (slice / bs), n = slice / bs, k;
	double t0;
	int bad = 0;

	ops->barrier();
	t0 = shio_now();
	if (ops->open(path, write) != 0) {
		printf("shared_io: rank %u: open %s: %s\n", rank, path,
		       ops->why());
		bad = 1;
	}
	for (k = 0; !bad && k < n; k++) {
		uint64_t idx = first + k, seen;

		if (write)
			memcpy(buf, &idx, sizeof(idx));
		if (ops->io(write, buf, bs, rank * slice + k * bs) != 0) {
			printf("shared_io: rank %u: %s at %llu: %s\n", rank,
			       write ? "write" : "read",
			       (unsigned long long)(rank * slice + k * bs),
			       ops->why());
			bad = 1;
			break;
		}
		memcpy(&seen, buf, sizeof(seen));
		if (!write && seen != idx) {
			printf("shared_io: rank %u: request %llu holds %llu\n",
			       rank, (unsigned long long)idx,
			       (unsigned long long)seen);
			bad = 1;
		}
	}
	if (ops->close() != 0 && !bad) {
		printf("shared_io: rank %u: close: %s\n", rank, ops->why());
		bad = 1;
	}
	ops->barrier();
	return bad ? -1.0 : shio_now() - t0;
}

static int shio_main(const struct shio_ops *ops, int argc, char **argv,
		     unsigned rank, unsigned size, const char *prog)
{
	unsigned long mib, kib;
	unsigned char *buf;
	uint64_t slice;
	size_t bs;
	double tw, tr;

	if (argc != 4 || (mib = os_parse_count(argv[1], 1ul << 20)) == 0 ||
	    (kib = os_parse_count(argv[2], 1ul << 20)) == 0) {
		if (rank == 0)
			fprintf(stderr, "usage: %s TOTAL_MIB BS_KIB PATH\n",
				prog);
		return 2;
	}
	bs = (size_t)kib << 10;
	slice = (((uint64_t)mib << 20) / size) / bs * bs;
	if (slice == 0) {
		if (rank == 0)
			fprintf(stderr, "%s: %lu MiB over %u ranks is less "
					"than a %lu KiB request each\n",
				prog, mib, size, kib);
		return 2;
	}
	buf = ops->alloc ? ops->alloc(bs) : malloc(bs);
	if (buf == NULL)
		return 1;
	for (size_t i = 0; i < bs; i++)
		buf[i] = (unsigned char)(i * 131 + (i >> 8));
	tw = shio_pass(ops, 1, argv[3], rank, slice, bs, buf);
	tr = tw < 0 ? -1.0 : shio_pass(ops, 0, argv[3], rank, slice, bs, buf);
	if (ops->alloc)
		ops->free(buf);
	else
		free(buf);
	if (tw < 0 || tr < 0)
		return 1;
	if (rank == 0)
		printf("ranks %u bytes %llu write_s %.6f read_s %.6f\n", size,
		       (unsigned long long)(slice * size), tw, tr);
	return 0;
}

#endif /* SKIFF_PERF_OS_SHARED_IO_H */
