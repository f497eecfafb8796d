/*
 * mpi_hello [--pause FILE]: the reference of perf/compare-boot.sh.
 * MPI_Init, one line per rank, MPI_Finalize: what `mpirun -n N` costs to
 * start and end a job.
 *
 * --pause FILE: after the line, sleep until FILE exists (looked at every
 * 100 ms, for at most 10 minutes), then MPI_Finalize; compare-boot.sh
 * reads every rank's memory in that state, as it does sk_hello's.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	const char *pause = NULL;
	int rank, size;

	MPI_Init(&argc, &argv);
	if (argc == 3 && strcmp(argv[1], "--pause") == 0) {
		pause = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: mpi_hello [--pause FILE]\n");
		MPI_Finalize();
		return 2;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	printf("hello from rank %d of %d\n", rank, size);
	if (pause != NULL) {
		fflush(stdout);
		for (int i = 0; i < 6000 && access(pause, F_OK) != 0; i++)
			usleep(100000);
	}
	MPI_Finalize();
	return 0;
}
