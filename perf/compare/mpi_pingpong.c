/*
 * mpi_pingpong: the MPI reference of perf/compare-rpc.sh, an
 * osu_latency-style blocking ping-pong between two ranks:
 *
 *   mpirun --allow-run-as-root --oversubscribe -n 2 mpi_pingpong [options]
 *
 * For each size, after a barrier, rank 0 does MPI_Send then MPI_Recv and
 * rank 1 MPI_Recv then MPI_Send (of the bytes it received: an echo, like
 * rpc_lat's handler), -w untimed warm-up round trips then -n timed ones.
 * Like osu_latency, "Latency" is (t_end - t_start) / (2 * iterations):
 * half a round trip, averaged over the timed loop (MPI_Wtime). Rank 0 also
 * reads CLOCK_MONOTONIC once per round trip (as Skiff's tools do) and
 * prints the median half and full round trips of those samples; the full
 * one (t_typical, last column) is what compare-rpc.sh compares with
 * rpc_lat's t_typical. The last message of each size is checked byte for
 * byte against what rank 0 sent.
 *
 * Options: -s SIZE (repeatable; default 32 and 4096), -n ITERS (default
 * 10000), -w WARMUP (default 100), -h. Exit status: 0 ok, 1 failure (a
 * mismatch, not 2 ranks), 2 bad command line.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PP_MAX_SIZES 16
#define PP_MAX_SIZE  (64ul << 20)
#define PP_MAX_ITERS 10000000ul

static uint64_t pp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int pp_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int pp_ulong(const char *s, unsigned long min, unsigned long max,
		    unsigned long *v)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	*v = strtoul(s, &end, 10);
	return *end != '\0' || *v < min || *v > max ? -1 : 0;
}

static void pp_usage(FILE *out)
{
	fprintf(out,
		"usage: mpirun -n 2 mpi_pingpong [-s SIZE]... [-n ITERS] "
		"[-w WARMUP]\n"
		"  -s SIZE    message size in bytes (repeatable; default 32 and "
		"4096)\n"
		"  -n ITERS   timed round trips per size (default 10000)\n"
		"  -w WARMUP  untimed round trips first (default 100)\n"
		"Prints osu_latency's half round trip (average) and the median "
		"half and full\nround trips of per-iteration samples.\n");
}

/* Parse the command line (every rank does, identically). Returns -1 to go
 * on, else an exit status. */
static int pp_args(int argc, char **argv, int rank, size_t *sizes,
		   unsigned *nsizes, unsigned long *iters,
		   unsigned long *warm)
{
	unsigned long v;
	int ch;

	opterr = 0;
	while ((ch = getopt(argc, argv, ":s:n:w:h")) != -1) {
		switch (ch) {
		case 's':
			if (pp_ulong(optarg, 0, PP_MAX_SIZE, &v) ||
			    *nsizes == PP_MAX_SIZES) {
				if (rank == 0)
					fprintf(stderr, "mpi_pingpong: bad size "
						"'%s' (0..%lu, at most %d)\n",
						optarg, PP_MAX_SIZE,
						PP_MAX_SIZES);
				return 2;
			}
			sizes[(*nsizes)++] = v;
			break;
		case 'n':
		case 'w':
			if (pp_ulong(optarg, ch == 'n', PP_MAX_ITERS, &v)) {
				if (rank == 0)
					fprintf(stderr, "mpi_pingpong: bad -%c "
						"'%s'\n", ch, optarg);
				return 2;
			}
			*(ch == 'n' ? iters : warm) = v;
			break;
		case 'h':
			if (rank == 0)
				pp_usage(stdout);
			return 0;
		default:
			if (rank == 0) {
				fprintf(stderr, "mpi_pingpong: %s %s\n",
					ch == ':' ? "missing value for" :
						    "unknown option",
					argv[optind - 1]);
				pp_usage(stderr);
			}
			return 2;
		}
	}
	if (optind < argc) {
		if (rank == 0)
			fprintf(stderr, "mpi_pingpong: unexpected argument "
				"'%s'\n", argv[optind]);
		return 2;
	}
	if (*nsizes == 0) {
		sizes[0] = 32;
		sizes[1] = 4096;
		*nsizes = 2;
	}
	return -1;
}

/* One size on rank @rank; rank 0 prints its row. Returns 0 or 1. */
static int pp_run(int rank, size_t size, unsigned long iters,
		  unsigned long warm, char *sbuf, char *rbuf, uint64_t *ns)
{
	double t0 = 0, t1;
	uint64_t last = 0;

	for (size_t i = 0; i < size; i++)
		sbuf[i] = (char)(i * 131 + size);
	memset(rbuf, 0, size);
	MPI_Barrier(MPI_COMM_WORLD);
	for (unsigned long i = 0; i < warm + iters; i++) {
		if (rank == 0) {
			uint64_t now = pp_now_ns();

			if (i == warm)
				t0 = MPI_Wtime();
			else if (i > warm)
				ns[i - warm - 1] = now - last;
			last = now;
			MPI_Send(sbuf, (int)size, MPI_CHAR, 1, 1,
				 MPI_COMM_WORLD);
			MPI_Recv(rbuf, (int)size, MPI_CHAR, 1, 1,
				 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		} else {
			MPI_Recv(rbuf, (int)size, MPI_CHAR, 0, 1,
				 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			MPI_Send(rbuf, (int)size, MPI_CHAR, 0, 1,
				 MPI_COMM_WORLD);
		}
	}
	if (rank != 0)
		return 0;
	t1 = MPI_Wtime();
	ns[iters - 1] = pp_now_ns() - last;
	if (memcmp(sbuf, rbuf, size) != 0) {
		fprintf(stderr, "mpi_pingpong: the %zu-byte echo differs from "
				"what was sent\n", size);
		return 1;
	}
	qsort(ns, iters, sizeof(*ns), pp_cmp);
	printf("%-10zu %14.2f %20.2f %18.2f\n", size,
	       (t1 - t0) * 1e6 / (2.0 * (double)iters),
	       (double)ns[iters / 2] / 2000.0, (double)ns[iters / 2] / 1000.0);
	return 0;
}

int main(int argc, char **argv)
{
	size_t sizes[PP_MAX_SIZES], max = 0;
	unsigned long iters = 10000, warm = 100;
	unsigned nsizes = 0;
	int rank, nranks, ret, fail = 0;
	char *sbuf, *rbuf;
	uint64_t *ns;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &nranks);
	ret = pp_args(argc, argv, rank, sizes, &nsizes, &iters, &warm);
	if (ret >= 0) {
		MPI_Finalize();
		return ret;
	}
	if (nranks != 2) {
		if (rank == 0)
			fprintf(stderr, "mpi_pingpong: needs exactly 2 ranks "
					"(mpirun -n 2), not %d\n", nranks);
		MPI_Finalize();
		return 1;
	}
	for (unsigned i = 0; i < nsizes; i++)
		if (sizes[i] > max)
			max = sizes[i];
	sbuf = malloc(max ? max : 1);
	rbuf = malloc(max ? max : 1);
	ns = malloc(iters * sizeof(*ns));
	if (sbuf == NULL || rbuf == NULL || ns == NULL) {
		fprintf(stderr, "mpi_pingpong: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	if (rank == 0) {
		char lib[MPI_MAX_LIBRARY_VERSION_STRING];
		int len;

		MPI_Get_library_version(lib, &len);
		lib[strcspn(lib, ",\n")] = '\0';
		printf("# mpi_pingpong: osu_latency-style MPI_Send/MPI_Recv "
		       "ping-pong, 2 ranks, %s\n"
		       "# %lu timed round trips per size after %lu warm-up\n"
		       "# Latency: half round trip, average over the loop "
		       "(osu_latency's figure);\n"
		       "# half_t_typical, t_typical: median half and FULL "
		       "round trip of per-iteration samples\n"
		       "# %-8s %14s %20s %18s\n", lib, iters, warm, "Size",
		       "Latency (us)", "half_t_typical (us)",
		       "t_typical (us)");
		fflush(stdout);
	}
	for (unsigned i = 0; i < nsizes && !fail; i++) {
		fail = pp_run(rank, sizes[i], iters, warm, sbuf, rbuf, ns);
		MPI_Bcast(&fail, 1, MPI_INT, 0, MPI_COMM_WORLD);
	}
	if (rank == 0)
		fflush(stdout);
	free(ns);
	free(rbuf);
	free(sbuf);
	MPI_Finalize();
	return fail;
}
