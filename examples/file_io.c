/*
 * file_io: every node writes its slice of one shared file through the host,
 * then reads the slice back and checks it.
 *
 *   skiffcc file_io.c -o file_io
 *   skrun -n 4 ./file_io [PATH [LINES]]     (default file_io.out, 16384)
 *
 * A node has no file system of its own: skiff/file.h's calls go to skrun's
 * file service, and PATH is relative to skrun's working directory (or its
 * --root). Each node writes LINES lines of 32 bytes at offset rank * LINES
 * * 32, "rank R line L" padded with blanks, so the file is readable text
 * and any misplaced byte shows. Large writes and reads move by RDMA
 * between the node's arena and the host, a chunk at a time.
 *
 * The file on the host can be checked with plain tools:
 *   awk 'BEGIN { for (r = 0; r < 4; r++) for (l = 0; l < 16384; l++)
 *        printf "%-31s\n", "rank " r " line " l }' | cmp - file_io.out
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/file.h>
#include <skiff/os.h>

#define LINE_LEN  32
#define MAX_LINES (1u << 22) /* 128 MiB per node */

/* Line @line of @rank's slice, exactly LINE_LEN bytes, into @buf. */
static void make_line(char *buf, unsigned rank, unsigned line)
{
	char text[LINE_LEN];
	int n = snprintf(text, sizeof(text), "rank %u line %u", rank, line);

	memset(buf, ' ', LINE_LEN - 1);
	memcpy(buf, text, (size_t)n);
	buf[LINE_LEN - 1] = '\n';
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "file_io.out";
	unsigned rank = sk_os_rank(), lines = 16384, i;
	size_t len, k;
	off_t off;
	char *want, *got;
	struct sk_stat st;
	ssize_t n;
	int fd;

	if (argc > 2) {
		char *end;
		unsigned long v = strtoul(argv[2], &end, 10);

		if (end == argv[2] || *end != '\0' || v < 1 || v > MAX_LINES) {
			fprintf(stderr,
				"file_io: LINES must be 1 to %u, not "
				"'%s'\n",
				MAX_LINES, argv[2]);
			return 2;
		}
		lines = (unsigned)v;
	}
	if (!sk_os_booted()) {
		fprintf(stderr,
			"file_io: the files are the host's: run it "
			"under skrun (skrun -n 4 %s)\n",
			argv[0]);
		return 2;
	}
	len = (size_t)lines * LINE_LEN;
	off = (off_t)rank * (off_t)len;
	want = (char *)malloc(len);
	got = (char *)malloc(len);
	if (want == NULL || got == NULL) {
		fprintf(stderr, "file_io: rank %u: out of memory\n", rank);
		return 1;
	}
	for (i = 0; i < lines; i++)
		make_line(want + (size_t)i * LINE_LEN, rank, i);

	/* Every node opens the same file; O_CREAT without O_TRUNC, so that
	 * no node cuts off what another wrote already. */
	fd = sk_open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		fprintf(stderr, "file_io: rank %u: open %s: %s\n", rank, path,
			strerror(errno));
		return 1;
	}
	n = sk_pwrite(fd, want, len, off);
	if (n != (ssize_t)len) {
		fprintf(stderr, "file_io: rank %u: pwrite: %s\n", rank,
			n < 0 ? strerror(errno) : "short write");
		return 1;
	}
	memset(got, 0, len);
	n = sk_pread(fd, got, len, off);
	if (n != (ssize_t)len) {
		fprintf(stderr, "file_io: rank %u: pread: %s\n", rank,
			n < 0 ? strerror(errno) : "short read");
		return 1;
	}
	if (memcmp(want, got, len) != 0) {
		for (k = 0; k < len && want[k] == got[k]; k++)
			;
		fprintf(stderr,
			"file_io: rank %u: byte %zu of the slice "
			"differs\n",
			rank, k);
		return 1;
	}
	if (sk_fstat(fd, &st) != 0 || st.size < (uint64_t)off + len) {
		fprintf(stderr,
			"file_io: rank %u: the file is shorter than "
			"my slice\n",
			rank);
		return 1;
	}
	sk_close(fd);
	printf("file_io: rank %u wrote and read back its %u lines of %s "
	       "(%zu bytes at offset %lld): ok\n",
	       rank, lines, path, len, (long long)off);
	free(want);
	free(got);
	return 0;
}
