/*
 * mpi_file_bw TOTAL_MIB BS_KIB PATH: the MPI-IO side of
 * perf/compare-mpiio.sh (perf/os/shared_io.h): every rank writes its
 * slice of one file with MPI_File_write_at_all, BS KiB a call, then reads
 * it back with MPI_File_read_at_all. Which MPI-IO (OMPIO or ROMIO) is
 * mpirun's choice: --mca io ompio, --mca io romio321.
 */
#include <mpi.h>
#include <string.h>

#include "shared_io.h"

static MPI_File fh = MPI_FILE_NULL;
static int last_err = MPI_SUCCESS;

static int mpi_open(const char *path, int write)
{
	last_err = MPI_File_open(MPI_COMM_WORLD, path,
				 write ? MPI_MODE_WRONLY | MPI_MODE_CREATE :
					 MPI_MODE_RDONLY,
				 MPI_INFO_NULL, &fh);
	return last_err == MPI_SUCCESS ? 0 : -1;
}

static int mpi_io(int write, void *buf, size_t len, uint64_t off)
{
	MPI_Status st;
	int got = 0;

	last_err = write ? MPI_File_write_at_all(fh, (MPI_Offset)off, buf,
						 (int)len, MPI_BYTE, &st) :
			   MPI_File_read_at_all(fh, (MPI_Offset)off, buf,
						(int)len, MPI_BYTE, &st);
	if (last_err != MPI_SUCCESS)
		return -1;
	MPI_Get_count(&st, MPI_BYTE, &got);
	return (size_t)got == len ? 0 : -1;
}

static int mpi_close(void)
{
	last_err = fh == MPI_FILE_NULL ? MPI_SUCCESS : MPI_File_close(&fh);
	return last_err == MPI_SUCCESS ? 0 : -1;
}

static void mpi_barrier(void)
{
	MPI_Barrier(MPI_COMM_WORLD);
}

static const char *mpi_why(void)
{
	static char msg[MPI_MAX_ERROR_STRING];
	int len = 0;

	if (last_err == MPI_SUCCESS)
		return "short transfer";
	MPI_Error_string(last_err, msg, &len);
	return msg;
}

int main(int argc, char **argv)
{
	static const struct shio_ops ops = {mpi_open, mpi_io, mpi_close,
					    mpi_barrier, mpi_why, NULL, NULL};
	int rank, size, rc;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_File_set_errhandler(MPI_FILE_NULL, MPI_ERRORS_RETURN);
	rc = shio_main(&ops, argc, argv, (unsigned)rank, (unsigned)size,
		       "mpi_file_bw");
	MPI_Finalize();
	return rc;
}
