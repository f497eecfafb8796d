/*
 * sk_file_shared [-a] TOTAL_MIB BS_KIB PATH: N Skiff nodes write their
 * slices of one file through the host's file service, then read them back
 * (perf/os/shared_io.h; perf/compare-mpiio.sh runs it beside MPI-IO).
 * Each rank goes through its slice in order with sk_write and sk_read at
 * the file position, as a checkpoint does: the writes are left behind and
 * the reads read ahead where the node maps the host's buffer. -a: the
 * request buffer comes from sk_file_alloc (skiff/file.h): the host's
 * threads then read into it and write from it, with no copy on the node
 * (as an MPI program would take MPI_Alloc_mem's memory for RDMA).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include <skiff/file.h>
#include <skiff/os.h>

#include "shared_io.h"

static int fd = -1;
static uint64_t next; /* where the file position is */

static int sk_open_(const char *path, int write)
{
	fd = sk_open(path, write ? O_WRONLY | O_CREAT : O_RDONLY, 0644);
	next = 0;
	return fd < 0 ? -1 : 0;
}

static int sk_io(int write, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off != next && sk_lseek(fd, (off_t)off, SEEK_SET) != (off_t)off)
		return -1;
	n = write ? sk_write(fd, buf, len) : sk_read(fd, buf, len);
	if (n >= 0 && (size_t)n != len) {
		errno = EIO; /* short: the file is not what was written */
		return -1;
	}
	next = off + len;
	return n < 0 ? -1 : 0;
}

static int sk_close_(void)
{
	int rc = fd < 0 ? 0 : sk_close(fd);

	fd = -1;
	return rc;
}

static void sk_barrier_(void)
{
	sk_os_barrier();
}

static const char *sk_why(void)
{
	return strerror(errno);
}

int main(int argc, char **argv)
{
	struct shio_ops ops = {sk_open_, sk_io, sk_close_, sk_barrier_, sk_why,
			       NULL, NULL};

	if (!sk_os_booted()) {
		fprintf(stderr, "sk_file_shared: run me under skrun\n");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "-a") == 0) {
		ops.alloc = sk_file_alloc;
		ops.free = sk_file_free;
		argv[1] = argv[0];
		argc--, argv++;
	}
	return shio_main(&ops, argc, argv, sk_os_rank(), sk_os_size(),
			 "sk_file_shared");
}
