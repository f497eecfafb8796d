/*
 * The node program of the end-to-end tests (tests/libos/e2e.sh): one binary,
 * linked as a Skiff node, that does what its first argument says. Output is
 * plain printf: what the tests read is what reached skrun over the fabric.
 *
 *   hello                 one line per rank
 *   order N               N numbered lines per rank
 *   exit CODE RANK        RANK exits with CODE, the others exit 0
 *   crash RANK            RANK dies of SIGSEGV, the others sleep 60 s
 *   sleep MS              every rank sleeps MS ms on its loop (idle)
 *   survive R MS          rank R is killed by SIGKILL at once; the others
 *                         sleep MS ms, say so and exit 0 (skrun
 *                         --enable-recovery)
 *   nofinal RANK          RANK _exit(0)s without finalizing
 *   noleave RANK          RANK finalizes (the first FINALIZE, by hand),
 *                         then _exit(0)s without the second (LEAVE)
 *   abort CODE            rank 0 calls sk_os_abort(CODE)
 *   files MB PATH         each rank writes its MB MiB slice of PATH, then
 *                         reads it back; prints slice checksums
 *   bigio                 rank 0's transfers of several chunks (pipelined)
 *   wbra                  (2 nodes) writes left behind, read-ahead, barriers
 *   appends [SEED]        every rank appends 64 records to one file (O_APPEND);
 *                         rank 0 finds each once, whole
 *   filemem               rank 0: transfers from and into sk_file_alloc
 *                         memory; its blocks used up, freed, merged
 *   malloc                rank 0: malloc's large blocks (file memory where
 *                         mapped), transfers, calloc, realloc, threads
 *   grow [die]            rank 0: 24 MiB in small writes at the position,
 *                         read back (or SIGKILLed: the host's file checked)
 *   fsyncall              every rank's slice, sk_fsync_all, the next rank's
 *                         slice read back
 *   readfile PATH         rank 0 reads PATH with fopen/fread; prints its
 *                         size and checksum
 *   stdin [RANK]          rank RANK (0) reads stdin to EOF; prints size,
 *                         checksum
 *   seal PATH             (SKIFF_SEAL=1) printf, a host file read, raw
 *                         open()/socket(), each reported, then the ring
 *   paths                 bad paths to the file service, each reported
 *   ring                  a send/recv around the ring of peers
 *   arenakey              (2 nodes) rank 1 sends rank 0 its arena's key;
 *                         rank 0 RDMA-writes with it and reports whether
 *                         the write was refused
 *   badmsg KIND           rank 0 sends the host a malformed request
 *                         (short len type nul result stream bulk)
 *   badreq                rank 0 sends well-formed requests the host must
 *                         refuse (bad handles, addresses outside its arena)
 *   fds                   counts sockets and pipes it shares with skrun
 *                         (its parent), other than the standard streams
 *   env VAR               prints VAR's value on every rank
 *   args                  prints argc and argv
 *   bootaddr MS           rank 0 prints SKIFF_BOOTSTRAP, all sleep MS ms
 *   fnvfile PATH          (no skrun needed) FNV of a local file, plain stdio
 *   fnvpattern BYTES      (no skrun needed) FNV of the files test's pattern
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skiff/file.h>
#include <skiff/os.h>

#include "../../libos/fmem.h"
#include "../../libos/node.h" /* badmsg only: the raw host channel */

/* FNV-1a over a buffer, continued from @h. */
static uint64_t fnv(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ull

/* The byte at @off of the test file: a pattern that catches misplaced
 * chunks. */
static unsigned char pattern(uint64_t off)
{
	/* A hash of the 8-byte word's index: no period a slice or a chunk
	 * could line up with. */
	uint64_t x = (off >> 3) * 0x9e3779b97f4a7c15ull;

	x ^= x >> 29;
	return (unsigned char)(x >> ((off & 7) * 8));
}

static int do_files(unsigned mb, const char *path)
{
	unsigned rank = sk_os_rank();
	size_t slice = (size_t)mb << 20, chunk = 3u << 20, done;
	uint64_t base = (uint64_t)rank * slice, hw = FNV_INIT, hr = FNV_INIT;
	unsigned char *buf = malloc(chunk);
	int fd;

	fd = sk_open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0 || buf == NULL) {
		printf("rank %u: open %s: %s\n", rank, path, strerror(errno));
		return 1;
	}
	for (done = 0; done < slice; done += chunk) {
		size_t n = slice - done < chunk ? slice - done : chunk, i;

		for (i = 0; i < n; i++)
			buf[i] = pattern(base + done + i);
		hw = fnv(hw, buf, n);
		if (sk_pwrite(fd, buf, n, (off_t)(base + done)) != (ssize_t)n) {
			printf("rank %u: pwrite: %s\n", rank, strerror(errno));
			return 1;
		}
	}
	for (done = 0; done < slice; done += chunk) {
		size_t n = slice - done < chunk ? slice - done : chunk;

		memset(buf, 0, n);
		if (sk_pread(fd, buf, n, (off_t)(base + done)) != (ssize_t)n) {
			printf("rank %u: pread: %s\n", rank, strerror(errno));
			return 1;
		}
		hr = fnv(hr, buf, n);
	}
	sk_close(fd);
	free(buf);
	printf("rank %u slice %016llx %016llx %s\n", rank,
	       (unsigned long long)hw, (unsigned long long)hr,
	       hw == hr ? "match" : "MISMATCH");
	return hw == hr ? 0 : 1;
}

/* The segments of do_slices' file: [off[i], off[i + 1]), from 1 byte to
 * 3 MiB each, the same list on every rank (seeded). */
static size_t slices_layout(uint64_t total, uint64_t seed, uint64_t **off_p)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1, *off = NULL, at = 0;
	size_t n = 0, cap = 0;

	for (;;) {
		if (n == cap) {
			uint64_t *o = realloc(off, (cap = cap ? 2 * cap : 64) *
							    sizeof(*off));

			if (o == NULL) {
				free(off);
				return 0;
			}
			off = o;
		}
		off[n++] = at;
		if (at == total)
			break;
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		at += 1 + x % (3u << 20);
		if (at > total)
			at = total;
	}
	*off_p = off;
	return n - 1;
}

/*
 * Many nodes write one file: its segments (random sizes, 1 byte to 3 MiB,
 * not multiples of a chunk) go to random ranks, each written with one
 * sk_pwrite in a random order; after a barrier every rank reads back its
 * own segments and those of the next rank, every byte checked against
 * pattern(). The host's bytes are checked by the caller (fnvfile against
 * fnvpattern of @mb MiB).
 */
static int do_slices(unsigned mb, const char *path, uint64_t seed)
{
	unsigned rank = sk_os_rank(), size = sk_os_size();
	uint64_t total = (uint64_t)mb << 20, *off = NULL, x, wrote = 0;
	size_t nseg = slices_layout(total, seed, &off), mine = 0, i, j;
	size_t *order = calloc(nseg ? nseg : 1, sizeof(*order));
	unsigned char *buf = malloc(3u << 20);
	unsigned bad = 0, checked = 0;
	int fd;

	if (nseg == 0 || order == NULL || buf == NULL)
		return 1;
	fd = sk_open(path, O_RDWR | O_CREAT, 0644);
	if (fd < 0) {
		printf("rank %u: open %s: %s\n", rank, path, strerror(errno));
		return 1;
	}
	/* The owner of segment i: a hash of i, so ranks interleave. */
#define SLICE_OWNER(i) ((unsigned)((((uint64_t)(i) + seed) * \
				    0xd6e8feb86659fd93ull) >> 40) % size)
	for (i = 0; i < nseg; i++)
		if (SLICE_OWNER(i) == rank)
			order[mine++] = i;
	x = seed ^ (0x2545f4914f6cdd1dull * (rank + 1));
	for (i = mine; i > 1; i--) { /* shuffled */
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		j = x % i;
		size_t t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
	for (i = 0; i < mine; i++) {
		uint64_t a = off[order[i]], n = off[order[i] + 1] - a;

		for (j = 0; j < n; j++)
			buf[j] = pattern(a + j);
		if (sk_pwrite(fd, buf, n, (off_t)a) != (ssize_t)n) {
			printf("rank %u: pwrite: %s\n", rank, strerror(errno));
			return 1;
		}
		wrote += n;
	}
	if (sk_os_barrier() != 0)
		return 1;
	for (i = 0; i < nseg; i++) {
		unsigned o = SLICE_OWNER(i);
		uint64_t a = off[i], n = off[i + 1] - a;

		if (o != rank && o != (rank + 1) % size)
			continue;
		memset(buf, 0, n);
		if (sk_pread(fd, buf, n, (off_t)a) != (ssize_t)n) {
			printf("rank %u: pread: %s\n", rank, strerror(errno));
			return 1;
		}
		for (j = 0; j < n; j++)
			bad += buf[j] != pattern(a + j);
		checked++;
	}
#undef SLICE_OWNER
	sk_close(fd);
	free(buf);
	free(order);
	free(off);
	printf("rank %u: wrote %zu of %zu segments (%llu bytes); read back "
	       "%u, its own and rank %u's: %s\n", rank, mine, nseg,
	       (unsigned long long)wrote, checked, (rank + 1) % size,
	       bad ? "MISMATCH" : "match");
	return bad ? 1 : 0;
}

static int do_readfile(const char *path)
{
	char buf[65536];
	uint64_t h = FNV_INIT, total = 0;
	size_t n;
	FILE *f;

	if (sk_os_rank() != 0)
		return 0;
	f = sk_fopen(path, "r");
	if (f == NULL) {
		printf("fopen %s: %s\n", path, strerror(errno));
		return 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		h = fnv(h, buf, n);
		total += n;
	}
	fclose(f);
	printf("read %llu bytes fnv %016llx\n", (unsigned long long)total,
	       (unsigned long long)h);
	return 0;
}

static int do_stdin(unsigned reader)
{
	char buf[4096];
	uint64_t h = FNV_INIT, total = 0;
	size_t n;

	if (sk_os_rank() != reader)
		return 0;
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0) {
		h = fnv(h, buf, n);
		total += n;
	}
	printf("stdin %llu bytes fnv %016llx\n", (unsigned long long)total,
	       (unsigned long long)h);
	return 0;
}

static int do_ring(void);

/* Sealed: 3 chunks + 5 bytes written (left behind where the host's buffer is
 * mapped), read back at the position (read ahead) and by offset (the
 * caller's buffer registered, where it is not mapped: the filter may
 * refuse the registration, and the bounce region serves). 0, or -1. */
static int seal_bulk(void)
{
	const size_t len = 3 * (size_t)SK_HMSG_BULK_MAX + 5;
	unsigned char *b = malloc(len), *r = malloc(len);
	char name[32];
	int fd, rc = -1;

	snprintf(name, sizeof(name), "seal.%u", sk_os_rank());
	if (b == NULL || r == NULL)
		goto out;
	for (size_t i = 0; i < len; i++)
		b[i] = pattern(i);
	fd = sk_open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		goto out;
	if (sk_write(fd, b, len) == (ssize_t)len &&
	    sk_lseek(fd, 0, SEEK_SET) == 0 &&
	    sk_read(fd, r, len) == (ssize_t)len && memcmp(b, r, len) == 0 &&
	    sk_pread(fd, r, len, 0) == (ssize_t)len && memcmp(b, r, len) == 0)
		rc = 0;
	else if (errno == 0)
		errno = EIO;
	sk_close(fd);
	sk_unlink(name);
out:
	free(b);
	free(r);
	return rc;
}

static int do_seal(const char *path)
{
	char line[256] = "";
	FILE *f;
	int fd, s;

	printf("sealed=%d\n", sk_os_sealed());
	f = sk_fopen(path, "r");
	if (f && fgets(line, sizeof(line), f))
		printf("host file: %s", line);
	else
		printf("host file: FAILED %s\n", strerror(errno));
	if (f)
		fclose(f);
	printf("bulk file: %s\n", seal_bulk() == 0 ? "ok" : strerror(errno));
	fd = open("/etc/hostname", O_RDONLY);
	printf("raw open: %s\n", fd < 0 ? strerror(errno) : "ALLOWED");
	s = socket(AF_INET, SOCK_STREAM, 0);
	printf("raw socket: %s\n", s < 0 ? strerror(errno) : "ALLOWED");
	/* Node to node still works: the endpoints were made before. */
	return sk_os_size() > 1 ? do_ring() : 0;
}

/* What /proc/PID/fd/FD leads to ("socket:[123]"), or "" if nothing. */
static void fd_target(pid_t pid, int fd, char *out, size_t cap)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
	n = readlink(path, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
}

/*
 * Every descriptor of this node above 2 that leads to the same socket or
 * pipe as one of skrun's (its parent, for local nodes) was inherited:
 * skrun's descriptors must not reach its ranks.
 */
static int do_fds(void)
{
	pid_t parent = getppid();
	unsigned shared = 0;
	char mine[256], theirs[256];

	for (int fd = 3; fd < 1024; fd++) {
		fd_target(getpid(), fd, mine, sizeof(mine));
		/* Sockets and pipes name their own inode; files and
		 * anon inodes (epoll, eventfd: one inode for all) do not. */
		if (strncmp(mine, "socket:", 7) != 0 &&
		    strncmp(mine, "pipe:", 5) != 0)
			continue;
		for (int pfd = 0; pfd < 1024; pfd++) {
			fd_target(parent, pfd, theirs, sizeof(theirs));
			if (strcmp(mine, theirs) == 0) {
				fprintf(stderr, "rank %u: fd %d is skrun's fd "
						"%d (%s)\n",
					sk_os_rank(), fd, pfd, mine);
				shared++;
				break;
			}
		}
	}
	printf("rank %u shares %u descriptors with skrun\n", sk_os_rank(),
	       shared);
	return 0;
}

static void try_open(const char *path)
{
	int fd = sk_open(path, O_RDONLY);

	printf("open %s: %s\n", path, fd < 0 ? strerror(errno) : "OPENED");
	if (fd >= 0)
		sk_close(fd);
}

static int do_paths(void)
{
	if (sk_os_rank() != 0)
		return 0;
	try_open("../outside");
	try_open("/etc/passwd");
	try_open("a/../../outside");
	try_open("escape-link/passwd");
	try_open("inside.txt");
	printf("mkdir ../x: %s\n",
	       sk_mkdir("../x", 0755) < 0 ? strerror(errno) : "MADE");
	printf("unlink /etc/hostname: %s\n",
	       sk_unlink("/etc/hostname") < 0 ? strerror(errno) : "UNLINKED");
	return 0;
}

static int posix_fails;

/* One check of do_posix: its line only when it fails, with errno. */
static void want(int ok, const char *what)
{
	if (ok)
		return;
	printf("posix: FAIL %s (errno: %s)\n", what, strerror(errno));
	posix_fails++;
}

/*
 * The calls beyond open/read/write (libos/README.md, "Files"): stat,
 * fsync, fdatasync, ftruncate (up past 4 GiB: a sparse file, its hole
 * read as zeros), pwrite and pread past 4 GiB, a read past the end,
 * rename, stdio, and their errors as Linux gives them, paths escaping
 * the root included. Rank 0 only; "posix: ok" at the end.
 */
static int do_posix(void)
{
	static const char data[] = "skiff posix";
	const off_t big = (off_t)5 << 30;
	struct sk_stat st;
	char buf[64];
	FILE *f;
	int fd;

	if (sk_os_rank() != 0)
		return 0;
	sk_unlink("posix.a");
	sk_unlink("posix.b");
	fd = sk_open("posix.a", O_RDWR | O_CREAT | O_TRUNC, 0644);
	want(fd >= 0, "open posix.a");
	want(sk_write(fd, data, sizeof(data)) == (ssize_t)sizeof(data),
	     "write");
	want(sk_fsync(fd) == 0, "fsync");
	want(sk_fdatasync(fd) == 0, "fdatasync");
	want(sk_stat("posix.a", &st) == 0 && st.size == sizeof(data) &&
		     S_ISREG(st.mode) && st.nlink == 1,
	     "stat: size, a regular file, one link");
	want(sk_ftruncate(fd, big) == 0, "ftruncate to 5 GiB");
	want(sk_fstat(fd, &st) == 0 && st.size == (uint64_t)big,
	     "size after ftruncate up");
	want(sk_pwrite(fd, data, sizeof(data), big + 1) ==
		     (ssize_t)sizeof(data), "pwrite past 4 GiB");
	memset(buf, 'x', sizeof(buf));
	want(sk_pread(fd, buf, sizeof(data), big + 1) ==
		     (ssize_t)sizeof(data) &&
		     memcmp(buf, data, sizeof(data)) == 0,
	     "pread past 4 GiB");
	want(sk_pread(fd, buf, 4, big - 4) == 4 &&
		     memcmp(buf, "\0\0\0\0", 4) == 0, "the hole reads zeros");
	want(sk_pread(fd, buf, 8, big + 1 + (off_t)sizeof(data)) == 0,
	     "a read past the end gives 0");
	want(sk_ftruncate(fd, 4) == 0 && sk_fstat(fd, &st) == 0 &&
		     st.size == 4, "ftruncate down to 4 bytes");
	want(sk_ftruncate(fd, -1) < 0 && errno == EINVAL,
	     "ftruncate to -1: EINVAL");
	want(sk_ftruncate(999, 0) < 0 && errno == EBADF,
	     "ftruncate of no file: EBADF");
	want(sk_fsync(999) < 0 && errno == EBADF, "fsync of no file: EBADF");
	sk_close(fd);
	want(sk_rename("posix.a", "posix.b") == 0, "rename");
	want(sk_stat("posix.a", &st) < 0 && errno == ENOENT,
	     "the old name is gone: ENOENT");
	want(sk_stat("posix.b", &st) == 0 && st.size == 4, "the new name");
	want(sk_stat("posix.b/x", &st) < 0 && errno == ENOTDIR,
	     "a file as a directory: ENOTDIR");
	want(sk_rename("posix.none", "posix.c") < 0 && errno == ENOENT,
	     "rename of nothing: ENOENT");
	want(sk_rename("posix.b", "../posix.c") < 0 && errno == EACCES,
	     "rename out of the root: EACCES");
	want(sk_rename("/etc/hostname", "posix.c") < 0 && errno == EACCES,
	     "rename from outside the root: EACCES");
	want(sk_stat("../", &st) < 0 && errno == EACCES,
	     "stat outside the root: EACCES");
	want(sk_stat("", &st) < 0 && errno == ENOENT,
	     "stat of an empty path: ENOENT");
	want(sk_rename("", "posix.c") < 0 && errno == ENOENT,
	     "rename of an empty path: ENOENT");
	want(sk_stat("posix.b", &st) == 0, "still served after those");
	/* Removed while open: the handle keeps the file, as a descriptor
	 * does. */
	fd = sk_open("posix.b", O_RDWR);
	want(fd >= 0, "open posix.b");
	want(sk_unlink("posix.b") == 0, "unlink while open");
	want(sk_stat("posix.b", &st) < 0 && errno == ENOENT,
	     "the name is gone");
	want(sk_fstat(fd, &st) == 0 && st.nlink == 0 && st.size == 4,
	     "the open file has no link and its 4 bytes");
	want(sk_pwrite(fd, "tail", 4, 4) == 4 &&
		     sk_pread(fd, buf, 8, 0) == 8 &&
		     memcmp(buf, "skiftail", 8) == 0,
	     "it is still read and written");
	want(sk_close(fd) == 0, "close the removed file");
	f = sk_fopen("posix.c", "w");
	want(f != NULL, "sk_fopen");
	if (f != NULL) {
		fprintf(f, "line %d\n", 42);
		want(fclose(f) == 0, "fclose");
	}
	want(sk_stat("posix.c", &st) == 0 && st.size == 8,
	     "stdio's bytes are in the file");
	sk_unlink("posix.c");
	printf("posix: %s\n", posix_fails ? "FAILED" : "ok");
	return posix_fails ? 1 : 0;
}

/* skrun's descriptors (this node's parent: a local rank) open on the
 * files kw.0 .. kw.7 of the job's root. */
static int kw_host_fds(void)
{
	char dir[64], path[512], target[512];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)getppid());
	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		ssize_t l;
		const char *base;

		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		l = readlink(path, target, sizeof(target) - 1);
		if (l <= 0)
			continue;
		target[l] = '\0';
		base = strrchr(target, '/');
		if (base && strncmp(base, "/kw.", 4) == 0 && base[4] >= '0' &&
		    base[4] <= '7' && base[5] == '\0')
			n++;
	}
	closedir(d);
	return n;
}

/*
 * A node killed with its files open (run with --enable-recovery, 2
 * ranks): rank 1 opens kw.0 .. kw.7 through the host and writes 64 MiB
 * into them, 1 MiB at a time, then waits; rank 0 sees skrun hold those 8
 * files, kills rank 1 with SIGKILL, and then sees skrun close all 8,
 * while its own files are still served. "killwrite: ok". (Killed during
 * a bulk write, the host's READ of its bounce buffer waits for the stall
 * watchdog; see tests/e2e/jobs.sh, t_killwrite.)
 */
/* @mid: rank 1 is killed while it writes (its writes out, the host's
 * threads on them), not between two requests. */
static int do_killwrite(bool mid)
{
	char *big, pidbuf[32];
	int fds[8], i, before, after = -1;
	ssize_t n;
	FILE *f;
	pid_t victim;

	if (sk_os_rank() == 1) {
		for (i = 0; i < 8; i++) {
			char name[16];

			snprintf(name, sizeof(name), "kw.%d", i);
			fds[i] = sk_open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
			if (fds[i] < 0)
				return 1;
		}
		big = malloc(1u << 20);
		if (big == NULL)
			return 1;
		memset(big, 'k', 1u << 20);
		for (i = 0; i < 64; i++)
			if (sk_pwrite(fds[i % 8], big, 1u << 20, 0) < 0)
				return 1;
		/* Its pid once its writes are done: killed between two
		 * requests, or (@mid) while it writes on. */
		f = sk_fopen("kw.pid", "w");
		if (f == NULL)
			return 1;
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
		if (sk_os_barrier() != 0)
			return 1;
		for (i = 0; mid; i++)
			if (sk_pwrite(fds[i % 8], big, 1u << 20,
				      (off_t)(i / 8 % 16) << 20) < 0)
				return 1;
		for (;;)
			sk_os_sleep_ms(1000);
	}
	if (sk_os_rank() != 0)
		return 0;
	if (sk_os_barrier() != 0)
		return 1;
	before = kw_host_fds();
	f = sk_fopen("kw.pid", "r");
	if (f == NULL || fgets(pidbuf, sizeof(pidbuf), f) == NULL)
		return 1;
	fclose(f);
	victim = (pid_t)atoi(pidbuf);
	if (mid)
		sk_os_sleep_ms(300); /* well into its writes */
	if (victim <= 0 || kill(victim, SIGKILL) != 0) {
		printf("killwrite: FAIL kill %d: %s\n", (int)victim,
		       strerror(errno));
		return 1;
	}
	for (i = 0; i < 200 && (after = kw_host_fds()) > 0; i++)
		sk_os_sleep_ms(50);
	big = malloc(1u << 20);
	if (big == NULL)
		return 1;
	memset(big, 'r', 1u << 20);
	i = sk_open("kw.own", O_RDWR | O_CREAT | O_TRUNC, 0644);
	n = i >= 0 ? sk_pwrite(i, big, 1u << 20, 0) : -1;
	n = n == 1 << 20 ? sk_pread(i, big, 1u << 20, 0) : -1;
	if (i >= 0)
		sk_close(i);
	for (int k = 0; k < 8; k++) {
		char name[16];

		snprintf(name, sizeof(name), "kw.%d", k);
		sk_unlink(name);
	}
	sk_unlink("kw.pid");
	sk_unlink("kw.own");
	printf("killwrite: skrun held %d of the killed node's files, then "
	       "%d; rank 0's own 1 MiB %s\n", before, after,
	       n == 1 << 20 ? "written and read" : "FAILED");
	if (before != 8 || after != 0 || n != 1 << 20)
		return 1;
	printf("killwrite: ok\n");
	return 0;
}

/*
 * A loop of small writes (libos/file.c: each added to the chunk the host
 * has not started, SK_HIO_GROW): rank 0 writes GROW_BYTES of the pattern
 * at the file position in pieces of 1 byte to 48 KiB (now and then up to
 * 300 KiB), and every 64th piece overwrites an earlier range with wrong
 * bytes and at once with the right ones (the later write must win). Then
 * @die: SIGKILL itself, so that the host's file must hold every byte of
 * every write that returned (the test script checks it); else closes,
 * reads it all back, checks each byte and says "grow: ok".
 */
#define GROW_BYTES (24u << 20)

static int do_grow(bool die)
{
	uint64_t x = 0x9e3779b97f4a7c15ull, done = 0;
	unsigned char *b = malloc(300u << 10), *r;
	unsigned piece = 0;
	int fd;

	fd = sk_open("grow.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || b == NULL)
		return 1;
	while (done < GROW_BYTES) {
		size_t n, i;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		n = x % 16 == 0 ? 1 + x / 16 % (300u << 10) :
				  1 + x / 16 % (48u << 10);
		if (n > GROW_BYTES - done)
			n = GROW_BYTES - done;
		for (i = 0; i < n; i++)
			b[i] = pattern(done + i);
		if (sk_write(fd, b, n) != (ssize_t)n) {
			printf("grow: FAIL write %zu at %llu: %s\n", n,
			       (unsigned long long)done, strerror(errno));
			return 1;
		}
		done += n;
		if (++piece % 64 == 0 && done > 4096) {
			uint64_t at = x / 64 % (done - 4096);

			for (i = 0; i < 4096; i++)
				b[i] = (unsigned char)~pattern(at + i);
			if (sk_pwrite(fd, b, 4096, (off_t)at) != 4096)
				return 1;
			for (i = 0; i < 4096; i++)
				b[i] = pattern(at + i);
			if (sk_pwrite(fd, b, 4096, (off_t)at) != 4096)
				return 1;
		}
	}
	if (die) {
		printf("grow: %u writes returned, dying\n", piece);
		fflush(stdout);
		raise(SIGKILL);
	}
	if (sk_close(fd) != 0 || (fd = sk_open("grow.dat", O_RDONLY)) < 0)
		return 1;
	free(b);
	r = malloc(GROW_BYTES);
	if (r == NULL || sk_read(fd, r, GROW_BYTES) != GROW_BYTES)
		return 1;
	for (done = 0; done < GROW_BYTES; done++)
		if (r[done] != pattern(done)) {
			printf("grow: FAIL byte %llu\n",
			       (unsigned long long)done);
			return 1;
		}
	free(r);
	sk_close(fd);
	printf("grow: ok, %u writes\n", piece);
	return 0;
}

/*
 * File memory (sk_file_alloc): rank 0 moves 3 MiB + 5 from one block to a
 * file at an odd offset and back into another, at the file position too,
 * a read short at the end of the file, each byte checked; then takes 1
 * MiB blocks until one is ordinary memory (where there is file memory,
 * exactly as many as fit, each used for a transfer), frees them in
 * another order, and takes all of the file memory as one block (the
 * freed blocks merged). "filemem: ok" with what it found.
 */
static bool fm_in(const void *p, size_t len)
{
	return sk_fmem_kind(p, len) != SK_FMEM_NONE;
}

static int fm_check(const unsigned char *b, size_t len, uint64_t off,
		    const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != pattern(off + i)) {
			printf("filemem: FAIL %s: byte %zu of %zu\n", what, i,
			       len);
			return 1;
		}
	return 0;
}

/*
 * 1 MiB blocks from @take until one is ordinary memory (where there is
 * file memory, exactly as many as fit), each used for a transfer through
 * @fd and checked; then all given back with @give, every other one first
 * (the freed blocks merge). How many were in file memory, or -1.
 */
static int fm_fill(void *(*take)(size_t), void (*give)(void *), int fd,
		   const char *what)
{
	const size_t mib = 1u << 20;
	unsigned char *blk[1024];
	unsigned n = 0;
	int inmem = 0;

	while (n < 1024) {
		blk[n] = take(mib);
		if (blk[n] == NULL)
			return -1;
		memset(blk[n], (int)n, mib);
		if (sk_pwrite(fd, blk[n], mib, 0) != (ssize_t)mib ||
		    sk_pread(fd, blk[n], mib, 0) != (ssize_t)mib ||
		    blk[n][mib - 1] != (unsigned char)n) {
			printf("%s: FAIL block %u\n", what, n);
			return -1;
		}
		if (!fm_in(blk[n++], mib))
			break;
		inmem++;
	}
	for (unsigned i = 0; i < n; i += 2)
		give(blk[i]);
	for (unsigned i = 1; i < n; i += 2)
		give(blk[i]);
	return inmem;
}

/*
 * The blocks' table at its limit and past it: page blocks until one is
 * ordinary memory (SK_FMEM_BLOCKS - 1 in a file memory of more pages);
 * that one moves bytes as any buffer; freeing one makes room again.
 */
static int fm_table(int fd)
{
	const size_t page = 4096;
	unsigned char *blk[SK_FMEM_BLOCKS + 1];
	unsigned n = 0, inmem;
	int rc = 1;

	if (sk_fmem_size() < (SK_FMEM_BLOCKS + 1) * page)
		return 0; /* the memory ends first: fm_fill's case */
	while (n <= SK_FMEM_BLOCKS) {
		blk[n] = sk_file_alloc(page);
		if (blk[n] == NULL)
			goto out;
		if (!fm_in(blk[n++], page))
			break;
	}
	inmem = n - 1;
	if (inmem != SK_FMEM_BLOCKS - 1 || fm_in(blk[inmem], page)) {
		printf("filemem: FAIL %u page blocks of file memory, want %u\n",
		       inmem, SK_FMEM_BLOCKS - 1);
		goto out;
	}
	for (size_t i = 0; i < page; i++)
		blk[inmem][i] = pattern(i);
	if (sk_pwrite(fd, blk[inmem], page, 0) != (ssize_t)page ||
	    sk_pread(fd, blk[0], page, 0) != (ssize_t)page ||
	    fm_check(blk[0], page, 0, "past the blocks' table"))
		goto out;
	sk_file_free(blk[inmem]);
	sk_file_free(blk[1]);
	blk[1] = sk_file_alloc(page);
	blk[inmem] = NULL;
	if (blk[1] == NULL || !fm_in(blk[1], page)) {
		printf("filemem: FAIL a freed block's room not taken again\n");
		goto out;
	}
	rc = 0;
out:
	for (unsigned i = 0; i < n; i++)
		sk_file_free(blk[i]);
	return rc;
}

static int do_filemem(void)
{
	const size_t big = (3u << 20) + 5, mib = 1u << 20;
	unsigned char *w, *r;
	size_t want;
	int fd, inmem;

	if (sk_os_rank() != 0)
		return 0;
	w = sk_file_alloc(big);
	r = sk_file_alloc(big);
	fd = sk_open("filemem.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (w == NULL || r == NULL || fd < 0 ||
	    (uintptr_t)w % 4096 != 0 || (uintptr_t)r % 4096 != 0)
		return 1;
	for (size_t i = 0; i < big; i++)
		w[i] = pattern(7 + i);
	if (sk_pwrite(fd, w, big, 7) != (ssize_t)big ||
	    sk_pread(fd, r, big, 7) != (ssize_t)big ||
	    fm_check(r, big, 7, "pread"))
		return 1;
	/* At the position: the rest of the file from 1000, short. */
	memset(r, 0, big);
	if (sk_lseek(fd, 1000, SEEK_SET) != 1000 ||
	    sk_read(fd, r, big) != (ssize_t)(big + 7 - 1000) ||
	    sk_lseek(fd, 0, SEEK_CUR) != (off_t)(big + 7) ||
	    fm_check(r, big + 7 - 1000, 1000, "read at the position"))
		return 1;
	/* Short within a large request's first half, and at the end (skrun
	 * may split a large read over two threads: services.c). */
	memset(r, 0, big);
	if (sk_pread(fd, r, mib, (off_t)(big + 7 - 100000)) != 100000 ||
	    fm_check(r, 100000, big + 7 - 100000, "pread short") ||
	    sk_pread(fd, r, mib, (off_t)(big + 7)) != 0)
		return 1;
	/* A write at the position from the middle of a block. */
	if (sk_lseek(fd, 0, SEEK_SET) != 0 ||
	    sk_write(fd, w + 993, mib) != (ssize_t)mib ||
	    sk_pread(fd, r, mib, 0) != (ssize_t)mib ||
	    fm_check(r, mib, 1000, "write at the position"))
		return 1;
	printf("filemem: transfers %s\n",
	       fm_in(w, big) ? "in file memory" : "in ordinary memory");
	sk_file_free(w);
	sk_file_free(r);
	/* Blocks until one is ordinary memory. */
	inmem = fm_fill(sk_file_alloc, sk_file_free, fd, "filemem");
	if (inmem < 0)
		return 1;
	/* As many as fit, up to the blocks' table (fmem.h): the last of
	 * SK_FMEM_BLOCKS is taken whole, never cut from the rest. */
	want = sk_fmem_size() / mib;
	if (want > SK_FMEM_BLOCKS)
		want = SK_FMEM_BLOCKS - 1;
	if (sk_fmem_size() != 0 && (size_t)inmem != want) {
		printf("filemem: FAIL %d blocks of %zu MiB (want %zu)\n",
		       inmem, sk_fmem_size() / mib, want);
		return 1;
	}
	if (sk_fmem_size() != 0 && fm_table(fd) != 0)
		return 1;
	if (sk_fmem_size() != 0) {
		w = sk_file_alloc(sk_fmem_size());
		if (!fm_in(w, sk_fmem_size())) {
			printf("filemem: FAIL freed blocks not merged\n");
			return 1;
		}
		sk_file_free(w);
	}
	sk_close(fd);
	sk_unlink("filemem.dat");
	printf("filemem: ok, %d MiB blocks of file memory\n", inmem);
	return 0;
}

/*
 * malloc's large blocks (libos/fmem.c): rank 0 mallocs a buffer of 3 MiB
 * + 5, which is file memory where the host's area is mapped (else
 * glibc's: both work alike), and moves it to a file and back at offsets
 * and at the position, in one call and in 64 KiB calls, each byte
 * checked; calloc of the block a dirty one left is all zero; realloc
 * grows (bytes kept), shrinks, and takes a glibc block past the bound;
 * posix_memalign, aligned_alloc and valloc are aligned and
 * malloc_usable_size covers the request; 1 MiB blocks until the file
 * memory is used up and glibc's serve the rest; two threads take and
 * free blocks at once. One block stays taken at exit, and a destructor
 * (which runs after libos's teardown) checks its bytes and frees it: the
 * mapping must outlive the teardown. "malloc: ok" with what it found.
 */
/* libos/fmem.c leaves malloc to a sanitizer. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MAL_SANITIZER 1
#else
#define MAL_SANITIZER 0
#endif

static unsigned char *mal_kept;
static size_t mal_kept_len;

static void mal_fini(void) __attribute__((destructor));
static void mal_fini(void)
{
	if (mal_kept == NULL)
		return;
	for (size_t i = 0; i < mal_kept_len; i++)
		if (mal_kept[i] != pattern(i))
			_exit(97);
	free(mal_kept);
}

static void *mal_churn(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	for (int i = 0; i < 2000; i++) {
		size_t len = (512u << 10) + (rand_r(&seed) % (1u << 20));
		unsigned char *p = malloc(len);

		if (p == NULL)
			return (void *)1;
		p[0] = p[len - 1] = (unsigned char)seed;
		if (p[0] != (unsigned char)seed ||
		    p[len - 1] != (unsigned char)seed)
			return (void *)1;
		free(p);
	}
	return NULL;
}

static int do_malloc(void)
{
	const size_t big = (3u << 20) + 5, mib = 1u << 20, step = 64u << 10;
	unsigned char *w, *r, *z;
	int inmem;
	pthread_t t[2];
	void *ret[2];
	size_t off;
	int fd;

	if (sk_os_rank() != 0)
		return 0;
	w = malloc(big);
	r = malloc(big);
	fd = sk_open("malloc.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (w == NULL || r == NULL || fd < 0)
		return 1;
	for (size_t i = 0; i < big; i++)
		w[i] = pattern(7 + i);
	if (sk_pwrite(fd, w, big, 7) != (ssize_t)big ||
	    sk_pread(fd, r, big, 7) != (ssize_t)big ||
	    fm_check(r, big, 7, "malloc pread"))
		return 1;
	/* 64 KiB calls at the position into the large buffer. */
	memset(r, 0, big);
	if (sk_lseek(fd, 7, SEEK_SET) != 7)
		return 1;
	for (off = 0; off < big; off += step) {
		size_t len = big - off < step ? big - off : step;

		if (sk_read(fd, r + off, len) != (ssize_t)len)
			return 1;
	}
	if (fm_check(r, big, 7, "malloc 64 KiB reads"))
		return 1;
	/* One read of it all at the position (read ahead through the
	 * slices where the host has a core to spare), then one write. */
	memset(r, 0, big);
	if (sk_lseek(fd, 7, SEEK_SET) != 7 ||
	    sk_read(fd, r, big) != (ssize_t)big ||
	    fm_check(r, big, 7, "malloc read at the position"))
		return 1;
	if (sk_lseek(fd, 7, SEEK_SET) != 7 ||
	    sk_write(fd, r, big) != (ssize_t)big ||
	    sk_pread(fd, w, big, 7) != (ssize_t)big ||
	    fm_check(w, big, 7, "malloc write at the position"))
		return 1;
	printf("malloc: large blocks %s%s\n",
	       fm_in(w, big) ? "in file memory" : "in ordinary memory",
	       MAL_SANITIZER ? " (a sanitizer's malloc)" : "");
	/* file.c's choice of path reads the kind: malloc's blocks are
	 * written behind through the slices where the host has a core to
	 * spare, sk_file_alloc's never (the application owns them). */
	if (fm_in(w, big)) {
		void *f = sk_file_alloc(mib);

		if (sk_fmem_kind(w, big) != SK_FMEM_MALLOC ||
		    (f != NULL && sk_fmem_kind(f, mib) != SK_FMEM_FILE)) {
			printf("malloc: FAIL block kinds: malloc's %d, "
			       "sk_file_alloc's %d\n",
			       (int)sk_fmem_kind(w, big),
			       f ? (int)sk_fmem_kind(f, mib) : -1);
			return 1;
		}
		sk_file_free(f);
	}
	/* calloc where a dirty block was. */
	free(w);
	z = calloc(1, big);
	if (z == NULL)
		return 1;
	for (size_t i = 0; i < big; i++)
		if (z[i] != 0) {
			printf("malloc: FAIL calloc byte %zu not zero\n", i);
			return 1;
		}
	free(z);
	/* realloc: grow, shrink, past the file memory. */
	w = realloc(r, big + mib);
	if (w == NULL || fm_check(w, big, 7, "realloc grown"))
		return 1;
	r = realloc(w, mib);
	if (r == NULL || fm_check(r, mib, 7, "realloc shrunk"))
		return 1;
	w = realloc(r, (size_t)1 << 30); /* more than any file memory */
	if (w == NULL || fm_in(w, 1) || fm_check(w, mib, 7, "realloc out"))
		return 1;
	free(w);
	/* Aligned kin, and what malloc_usable_size says. */
	if (posix_memalign((void **)&w, 4096, mib) != 0 ||
	    (uintptr_t)w % 4096 != 0 || malloc_usable_size(w) < mib)
		return 1;
	free(w);
	w = aligned_alloc(65536, 2 * mib);
	if (w == NULL || (uintptr_t)w % 65536 != 0 ||
	    malloc_usable_size(w) < 2 * mib)
		return 1;
	free(w);
	w = valloc(mib + 1);
	if (w == NULL || (uintptr_t)w % 4096 != 0)
		return 1;
	free(w);
	/* Blocks until the file memory is used up, then glibc's. */
	inmem = fm_fill(malloc, free, fd, "malloc");
	if (inmem < 0)
		return 1;
	/* Two threads at once. */
	for (int i = 0; i < 2; i++)
		if (pthread_create(&t[i], NULL, mal_churn,
				   (void *)(uintptr_t)(i + 1)) != 0)
			return 1;
	for (int i = 0; i < 2; i++)
		if (pthread_join(t[i], &ret[i]) != 0 || ret[i] != NULL)
			return 1;
	sk_close(fd);
	sk_unlink("malloc.dat");
	/* Kept past the teardown, for mal_fini. */
	mal_kept_len = mib + 3;
	mal_kept = malloc(mal_kept_len);
	if (mal_kept == NULL)
		return 1;
	for (size_t i = 0; i < mal_kept_len; i++)
		mal_kept[i] = pattern(i);
	printf("malloc: ok, %d MiB blocks of file memory\n", inmem);
	return 0;
}

/*
 * A full file system: rank 0 writes 64 KiB blocks into DIR/fill until the
 * host's write fails, which must be ENOSPC (with 0 or more bytes of a
 * partial block first); the node then goes on: it removes the file, which
 * gives the room back, writes and reads a small file there, and says
 * "enospc: ok". Run with DIR on a small file system.
 */
/*
 * Transfers of several chunks (pipelined, libos/file.c), each checked byte
 * for byte: at the file position (the position must end where read(2) and
 * write(2) leave it), short at the end of the file in the middle of the
 * chunks in flight, through an O_APPEND handle (which goes a chunk at a
 * time), from and into a buffer at an odd address with an odd length.
 * Run with SKIFF_FILE_ZCOPY_KB=0 (the bounce region) and without (the
 * caller's buffer registered). Rank 0 only; "bigio: ok" at the end.
 */
static int bigio_check(const unsigned char *b, size_t len, uint64_t off,
		       const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != pattern(off + i)) {
			printf("bigio: FAIL %s: byte %zu of %zu is wrong\n",
			       what, i, len);
			return 1;
		}
	return 0;
}

static int do_bigio(void)
{
	/* In units of the largest chunk a job has (its own may be less):
	 * every transfer below spans several chunks whatever the job's. */
	const size_t u = SK_HMSG_BULK_MAX;
	const size_t big = 3 * u + 5, tail = 7, cap = 6 * u;
	unsigned char *w, *r;
	off_t pos;
	ssize_t n;
	int fd, rc = 1;

	if (sk_os_rank() != 0)
		return 0;
	w = malloc(cap + 1);
	r = malloc(cap + 1);
	if (w == NULL || r == NULL)
		return 1;
	for (size_t i = 0; i < cap; i++)
		w[i] = pattern(i);
	fd = sk_open("bigio.a", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		printf("bigio: FAIL open: %s\n", strerror(errno));
		goto out;
	}
	/* At the position: 3 units + 5, then 7 bytes that must follow. */
	if ((n = sk_write(fd, w, big)) != (ssize_t)big ||
	    (n = sk_write(fd, w + big, tail)) != (ssize_t)tail ||
	    (pos = sk_lseek(fd, 0, SEEK_CUR)) != (off_t)(big + tail)) {
		printf("bigio: FAIL write at the position: %zd (%s)\n", n,
		       strerror(errno));
		goto out;
	}
	/* Short at the end, mid-pipeline: 5 units asked from 1. */
	n = sk_pread(fd, r, 5 * u, u);
	if (n != (ssize_t)(big + tail - u) ||
	    bigio_check(r, (size_t)n, u, "pread to the end"))
		goto fail_n;
	/* At the position again: all of it, then nothing. */
	if (sk_lseek(fd, 0, SEEK_SET) != 0 ||
	    (n = sk_read(fd, r, 4 * u)) != (ssize_t)(big + tail) ||
	    bigio_check(r, (size_t)n, 0, "read at the position") ||
	    (n = sk_read(fd, r, 2 * u)) != 0)
		goto fail_n;
	/* Odd address, odd length, explicit offset. */
	if ((n = sk_pwrite(fd, w + 1, u + 3, 1)) != (ssize_t)u + 3 ||
	    (n = sk_pread(fd, r + 1, u + 3, 1)) != (ssize_t)u + 3 ||
	    bigio_check(r + 1, (size_t)n, 1, "odd buffer"))
		goto fail_n;
	sk_close(fd);
	/* O_APPEND: two appends of 2 units + 1, in order. */
	fd = sk_open("bigio.b", O_WRONLY | O_CREAT | O_TRUNC | O_APPEND,
		     0644);
	if (fd < 0 ||
	    (n = sk_write(fd, w, 2 * u + 1)) != (ssize_t)(2 * u + 1) ||
	    (n = sk_write(fd, w + 2 * u + 1, 2 * u + 1)) !=
		    (ssize_t)(2 * u + 1))
		goto fail_n;
	sk_close(fd);
	fd = sk_open("bigio.b", O_RDONLY);
	if (fd < 0 || (n = sk_read(fd, r, cap)) != (ssize_t)(4 * u + 2) ||
	    bigio_check(r, (size_t)n, 0, "appended"))
		goto fail_n;
	printf("bigio: ok\n");
	rc = 0;
	goto out;
fail_n:
	printf("bigio: FAIL %zd (%s)\n", n, strerror(errno));
out:
	if (fd >= 0)
		sk_close(fd);
	sk_unlink("bigio.a");
	sk_unlink("bigio.b");
	free(w);
	free(r);
	return rc;
}

/*
 * Writes left behind and read-ahead (libos/file.c), at their seams, on 2
 * nodes: overlapping writes back to back land in the order written (the
 * host runs a node's writes side by side and the node keeps overlapping
 * ones apart: without that guard this fails only when the host's threads
 * happen to swap two, which is rare);
 * rank 0's read-ahead is not served after its own write, nor after a
 * barrier past which rank 1 rewrote the file; rank 1 reads after the
 * barrier what rank 0 left behind before it. "wbra: ok" from rank 0.
 */
static int wbra_expect(const unsigned char *b, size_t len, unsigned char v,
		       const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (b[i] != v) {
			printf("wbra: FAIL %s: byte %zu is %u, not %u\n", what,
			       i, b[i], v);
			return 1;
		}
	return 0;
}

static int do_wbra(void)
{
	const size_t mib = 1u << 20, piece = 65536;
	unsigned char *a = malloc(2 * mib), *r = malloc(2 * mib);
	unsigned rank = sk_os_rank();
	int fd = -1, rc = 1;

	if (a == NULL || r == NULL || sk_os_size() != 2)
		return 1;
	if (rank == 0) {
		fd = sk_open("wbra.dat", O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			goto fail;
		/* 1 MiB of 1s, then 2s over its second half and on, then
		 * 3s over its first 64 KiB: all left behind, overlapping. */
		memset(a, 1, mib);
		if (sk_pwrite(fd, a, mib, 0) != (ssize_t)mib)
			goto fail;
		memset(a, 2, mib);
		if (sk_pwrite(fd, a, mib, mib / 2) != (ssize_t)mib)
			goto fail;
		memset(a, 3, piece);
		if (sk_pwrite(fd, a, piece, 0) != (ssize_t)piece)
			goto fail;
		if (sk_pread(fd, r, mib + mib / 2, 0) != (ssize_t)(mib + mib / 2) ||
		    wbra_expect(r, piece, 3, "the last write") ||
		    wbra_expect(r + piece, mib / 2 - piece, 1, "the first") ||
		    wbra_expect(r + mib / 2, mib, 2, "the second"))
			goto out;
		/* 32 writes over one place, all out at once if they could
		 * be: the last one's bytes stay. */
		for (unsigned k = 0; k < 32; k++) {
			memset(a, 10 + k, piece);
			if (sk_pwrite(fd, a, piece, 8 * piece) !=
			    (ssize_t)piece)
				goto fail;
		}
		if (sk_pread(fd, r, piece, 8 * piece) != (ssize_t)piece ||
		    wbra_expect(r, piece, 41, "the last of 32 writes"))
			goto out;
		/* The same with small writes, which ride in their messages. */
		for (unsigned k = 0; k < 32; k++) {
			memset(a, 50 + k, 100);
			if (sk_pwrite(fd, a, 100, 9 * piece) != 100)
				goto fail;
		}
		if (sk_pread(fd, r, 100, 9 * piece) != 100 ||
		    wbra_expect(r, 100, 81, "the last of 32 small writes"))
			goto out;
		/* Read-ahead from 0, then a write inside what it holds. */
		if (sk_lseek(fd, 0, SEEK_SET) != 0 ||
		    sk_read(fd, r, piece) != (ssize_t)piece ||
		    wbra_expect(r, piece, 3, "a read from 0"))
			goto out;
		memset(a, 4, piece);
		if (sk_pwrite(fd, a, piece, 2 * piece) != (ssize_t)piece ||
		    sk_read(fd, r, piece) != (ssize_t)piece ||
		    wbra_expect(r, piece, 1, "a read after a write") ||
		    sk_read(fd, r, piece) != (ssize_t)piece ||
		    wbra_expect(r, piece, 4, "the write, read at the position"))
			goto out;
		/* Read-ahead of [4 piece, ...), which rank 1 rewrites. */
		if (sk_read(fd, r, piece) != (ssize_t)piece ||
		    wbra_expect(r, piece, 1, "a read before the barrier"))
			goto out;
	}
	if (sk_os_barrier() != 0)
		goto fail;
	if (rank == 1) {
		fd = sk_open("wbra.dat", O_RDWR);
		memset(a, 5, mib);
		if (fd < 0 ||
		    sk_pread(fd, r, piece, 2 * piece) != (ssize_t)piece ||
		    wbra_expect(r, piece, 4, "rank 0's write, on rank 1") ||
		    sk_pwrite(fd, a, mib, 4 * piece) != (ssize_t)mib)
			goto fail;
	}
	if (sk_os_barrier() != 0)
		goto fail;
	if (rank == 0) {
		if (sk_read(fd, r, piece) != (ssize_t)piece ||
		    wbra_expect(r, piece, 5, "read-ahead across a barrier"))
			goto out;
		printf("wbra: ok\n");
	}
	rc = 0;
	goto out;
fail:
	printf("wbra: FAIL rank %u: %s\n", rank, strerror(errno));
out:
	if (fd >= 0)
		sk_close(fd);
	sk_os_barrier();
	if (rank == 0)
		sk_unlink("wbra.dat");
	free(a);
	free(r);
	return rc;
}

/*
 * sk_fsync_all: every rank writes its 3 MiB + 1 slice of one file (left
 * behind where it can be), rank 0 only after a pause, so that the others
 * are waiting in the call; when it returns, every rank reads its
 * neighbour's slice whole. "fsyncall: ok" from rank 0.
 */
static int do_fsyncall(void)
{
	const size_t slice = (3u << 20) + 1;
	unsigned rank = sk_os_rank(), size = sk_os_size();
	unsigned next = (rank + 1) % size;
	unsigned char *b = malloc(slice), *r = malloc(slice);
	int fd, rc = 1;

	if (b == NULL || r == NULL)
		return 1;
	if (rank == 0)
		sk_unlink("fsyncall.dat");
	if (sk_os_barrier() != 0)
		return 1;
	fd = sk_open("fsyncall.dat", O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		goto fail;
	for (size_t i = 0; i < slice; i++)
		b[i] = pattern((uint64_t)rank * slice + i);
	if (rank == 0)
		sk_os_sleep_ms(300);
	if (sk_pwrite(fd, b, slice, (off_t)(rank * slice)) != (ssize_t)slice ||
	    sk_fsync_all(fd) != 0)
		goto fail;
	if (sk_pread(fd, r, slice, (off_t)(next * slice)) != (ssize_t)slice)
		goto fail;
	for (size_t i = 0; i < slice; i++)
		if (r[i] != pattern((uint64_t)next * slice + i)) {
			printf("fsyncall: FAIL rank %u: rank %u's byte %zu\n",
			       rank, next, i);
			goto out;
		}
	if (sk_close(fd) != 0)
		goto fail;
	fd = -1;
	if (sk_os_barrier() != 0)
		goto fail;
	if (rank == 0) {
		sk_unlink("fsyncall.dat");
		printf("fsyncall: ok\n");
	}
	rc = 0;
	goto out;
fail:
	printf("fsyncall: FAIL rank %u: %s\n", rank, strerror(errno));
out:
	if (fd >= 0)
		sk_close(fd);
	free(b);
	free(r);
	return rc;
}

/*
 * Many nodes appending to one file (O_APPEND): each rank appends 64
 * records of 1 B to 96 KiB (header: rank, sequence, length; then a
 * pattern of the three), each with one sk_write. After a barrier rank 0
 * reads the file through and finds every record once, whole: no append
 * was lost, torn or mixed with another. "appends: ok N bytes".
 */
struct app_rec {
	uint32_t magic, rank, seq, len;
};
#define APP_MAGIC 0x41505044u
#define APP_RECS  64u

static unsigned char app_byte(const struct app_rec *h, uint32_t i)
{
	return (unsigned char)(h->rank * 31 + h->seq * 7 + i * 13 + (i >> 9));
}

static int do_appends(uint64_t seed)
{
	unsigned rank = sk_os_rank(), size = sk_os_size();
	size_t cap = sizeof(struct app_rec) + 96 * 1024;
	unsigned char *b = malloc(cap);
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + rank + 1;
	int fd, rc = 1;

	if (b == NULL)
		return 1;
	if (rank == 0)
		sk_unlink("appends.dat");
	if (sk_os_barrier() != 0)
		return 1;
	fd = sk_open("appends.dat", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0)
		goto fail;
	for (uint32_t q = 0; q < APP_RECS; q++) {
		struct app_rec h = {APP_MAGIC, rank, q, 0};

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		h.len = 1 + (uint32_t)(x % (96 * 1024));
		memcpy(b, &h, sizeof(h));
		for (uint32_t i = 0; i < h.len; i++)
			b[sizeof(h) + i] = app_byte(&h, i);
		if (sk_write(fd, b, sizeof(h) + h.len) !=
		    (ssize_t)(sizeof(h) + h.len))
			goto fail;
	}
	if (sk_close(fd) != 0)
		goto fail;
	fd = -1;
	if (sk_os_barrier() != 0)
		goto fail;
	if (rank == 0) {
		FILE *f = sk_fopen("appends.dat", "r");
		unsigned char *seen = calloc((size_t)size * APP_RECS, 1);
		struct app_rec h;
		uint64_t bytes = 0, recs = 0;

		if (f == NULL || seen == NULL)
			goto fail;
		while (fread(&h, sizeof(h), 1, f) == 1) {
			if (h.magic != APP_MAGIC || h.rank >= size ||
			    h.seq >= APP_RECS || h.len > 96 * 1024 ||
			    seen[h.rank * APP_RECS + h.seq] ||
			    fread(b, 1, h.len, f) != h.len) {
				printf("appends: FAIL a torn or stray record "
				       "at byte %llu\n",
				       (unsigned long long)bytes);
				goto out;
			}
			for (uint32_t i = 0; i < h.len; i++)
				if (b[i] != app_byte(&h, i)) {
					printf("appends: FAIL rank %u's record "
					       "%u, byte %u\n", h.rank, h.seq, i);
					goto out;
				}
			seen[h.rank * APP_RECS + h.seq] = 1;
			bytes += sizeof(h) + h.len;
			recs++;
		}
		fclose(f);
		free(seen);
		if (recs != (uint64_t)size * APP_RECS) {
			printf("appends: FAIL %llu records of %u\n",
			       (unsigned long long)recs, size * APP_RECS);
			goto out;
		}
		sk_unlink("appends.dat");
		printf("appends: ok %llu bytes\n", (unsigned long long)bytes);
	}
	rc = 0;
	goto out;
fail:
	printf("appends: FAIL rank %u: %s\n", rank, strerror(errno));
out:
	if (fd >= 0)
		sk_close(fd);
	free(b);
	return rc;
}

/* A write then an fsync of @fd: the errno one of them reported (a write
 * left behind reports its failure on the next call), or 0. */
static int write_sync_err(int fd, const void *b, size_t len, ssize_t *n_p)
{
	int err = 0;

	*n_p = sk_write(fd, b, len);
	if (*n_p < 0)
		err = errno;
	if (sk_fsync(fd) < 0 && err == 0)
		err = errno;
	return err;
}

/* One write of several chunks that runs out of room: a short count, or
 * ENOSPC from it or from the fsync after it (a write left behind says so
 * there, as NFS does); what the file holds is the pattern; the next write
 * fails with ENOSPC. */
static int do_enospc_big(const char *dir)
{
	const size_t len = 3u << 20; /* the file system holds 1 MiB */
	char path[256];
	unsigned char *b = malloc(len), *back = malloc(len);
	struct sk_stat st;
	ssize_t n, m = -1;
	int fd, err, rc = 1;

	if (b == NULL || back == NULL)
		return 1;
	for (size_t i = 0; i < len; i++)
		b[i] = pattern(i);
	snprintf(path, sizeof(path), "%s/fill", dir);
	fd = sk_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	n = -1;
	err = fd < 0 ? errno : write_sync_err(fd, b, len, &n);
	/* A write that waits says so with its count; one left behind, with
	 * ENOSPC from the fsync. */
	if (err != ENOSPC && !(err == 0 && n >= 0 && (size_t)n < len)) {
		printf("enospc: FAIL a %zu-byte write into 1 MiB: %s\n", len,
		       err ? strerror(err) : "no error");
		goto out;
	}
	if (sk_fstat(fd, &st) != 0 || st.size >= len ||
	    (m = sk_pread(fd, back, st.size, 0)) != (ssize_t)st.size ||
	    memcmp(b, back, st.size) != 0) {
		printf("enospc: FAIL reading back what the file holds: %zd\n",
		       m);
		goto out;
	}
	err = write_sync_err(fd, b, len, &n);
	if (err != ENOSPC) {
		printf("enospc: FAIL the write after the short one: %s\n",
		       err ? strerror(err) : "no error");
		goto out;
	}
	/* A small write (left behind inside its message, where it can be)
	 * into the full file system: ENOSPC, from it or from the fsync. */
	err = write_sync_err(fd, b, 100, &n);
	if (err != ENOSPC) {
		printf("enospc: FAIL a small write: %s\n",
		       err ? strerror(err) : "no error");
		goto out;
	}
	printf("enospc: a %zu-byte write left %llu bytes\n", len,
	       (unsigned long long)st.size);
	rc = 0;
out:
	if (fd >= 0)
		sk_close(fd);
	free(b);
	free(back);
	return rc;
}

static int do_enospc(const char *dir)
{
	char path[256], buf[65536], back[16];
	uint64_t total = 0;
	ssize_t n = 0;
	int fd;

	if (sk_os_rank() != 0)
		return 0;
	memset(buf, 'f', sizeof(buf));
	snprintf(path, sizeof(path), "%s/fill", dir);
	fd = sk_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		printf("enospc: FAIL open %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (total < ((uint64_t)1 << 32) &&
	       (n = sk_write(fd, buf, sizeof(buf))) > 0)
		total += (uint64_t)n;
	if (n >= 0 || errno != ENOSPC) {
		printf("enospc: FAIL the write after %llu bytes: %s\n",
		       (unsigned long long)total,
		       n < 0 ? strerror(errno) : "no error");
		return 1;
	}
	printf("enospc: ENOSPC after %llu bytes\n",
	       (unsigned long long)total);
	sk_close(fd);
	if (sk_unlink(path) < 0) {
		printf("enospc: FAIL unlink: %s\n", strerror(errno));
		return 1;
	}
	/* One write of several chunks in flight that runs out of room:
	 * the count of what fits, the bytes it counts in the file, then
	 * ENOSPC. */
	if (do_enospc_big(dir) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/fill", dir);
	if (sk_unlink(path) < 0 && errno != ENOENT) {
		printf("enospc: FAIL unlink: %s\n", strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/after", dir);
	fd = sk_open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || sk_write(fd, "room again", 10) != 10 ||
	    sk_pread(fd, back, 10, 0) != 10 ||
	    memcmp(back, "room again", 10) != 0) {
		printf("enospc: FAIL writing after the room came back: %s\n",
		       strerror(errno));
		return 1;
	}
	sk_close(fd);
	sk_unlink(path);
	printf("enospc: ok\n");
	return 0;
}

/*
 * O_DIRECT through the host against this process's own open(2) of a file
 * beside it (a node of these tests runs on the host, in the job's root):
 * every transfer must get the same answer, and the same bytes back;
 * offsets, lengths and buffers that break O_DIRECT's alignment included.
 * Where the file system refuses O_DIRECT at open, both must refuse it
 * alike. Rank 0 only; "direct: ok ..." at the end.
 */
static int do_direct(void)
{
	static const struct {
		const char *what;
		off_t off;
		size_t len;
		size_t shift; /* the buffer's misalignment */
		int rd;
	} c[] = {
		{"write 4 KiB at 0", 0, 4096, 0, 0},
		{"write 1 MiB + 4 KiB at 4 KiB (bulk)", 4096, (1u << 20) + 4096,
		 0, 0},
		{"write at offset 100", 100, 4096, 0, 0},
		{"write of 100 bytes", 0, 100, 0, 0},
		{"write from a buffer 1 byte off", 0, 4096, 1, 0},
		{"read 4 KiB at 0", 0, 4096, 0, 1},
		{"read 1 MiB at 4 KiB (bulk)", 4096, 1u << 20, 0, 1},
		{"read at offset 100", 100, 4096, 0, 1},
		{"read of 100 bytes", 0, 100, 0, 1},
		{"read into a buffer 1 byte off", 0, 4096, 1, 1},
		{"read past the end", (off_t)8 << 20, 4096, 0, 1},
	};
	size_t cap = (2u << 20) + 8192, i, n = sizeof(c) / sizeof(c[0]);
	char *src = aligned_alloc(4096, cap), *a = aligned_alloc(4096, cap);
	char *b = aligned_alloc(4096, cap);
	int sfd, lfd, serr, lerr, fails = 0, einval = 0;

	if (sk_os_rank() != 0)
		return 0;
	if (src == NULL || a == NULL || b == NULL)
		return 1;
	for (i = 0; i < cap; i++)
		src[i] = (char)pattern(i);
	sfd = sk_open("direct.sk", O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	serr = errno;
	lfd = open("direct.lx", O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0644);
	lerr = errno;
	if ((sfd < 0) != (lfd < 0) || (sfd < 0 && serr != lerr)) {
		printf("direct: FAIL open: skiff %s, linux %s\n",
		       sfd < 0 ? strerror(serr) : "ok",
		       lfd < 0 ? strerror(lerr) : "ok");
		return 1;
	}
	if (sfd < 0) {
		/* tmpfs and overlayfs create the file, then refuse the
		 * flag. */
		sk_unlink("direct.sk");
		unlink("direct.lx");
		printf("direct: O_DIRECT refused here, by both alike (%s): "
		       "ok\n", strerror(serr));
		return 0;
	}
	for (i = 0; i < n; i++) {
		char *sb = (c[i].rd ? a : src) + c[i].shift;
		char *lb = (c[i].rd ? b : src) + c[i].shift;
		ssize_t s, l;

		errno = 0;
		s = c[i].rd ? sk_pread(sfd, sb, c[i].len, c[i].off) :
			      sk_pwrite(sfd, sb, c[i].len, c[i].off);
		serr = errno;
		errno = 0;
		l = c[i].rd ? pread(lfd, lb, c[i].len, c[i].off) :
			      pwrite(lfd, lb, c[i].len, c[i].off);
		lerr = errno;
		if (s != l || (s < 0 && serr != lerr) ||
		    (c[i].rd && s > 0 && memcmp(sb, lb, (size_t)s) != 0)) {
			printf("direct: FAIL %s: skiff %zd (%s), linux %zd "
			       "(%s)\n", c[i].what, s,
			       s < 0 ? strerror(serr) : "ok", l,
			       l < 0 ? strerror(lerr) : "ok");
			fails++;
		}
		einval += s < 0 && serr == EINVAL;
	}
	sk_close(sfd);
	close(lfd);
	sk_unlink("direct.sk");
	unlink("direct.lx");
	free(src);
	free(a);
	free(b);
	if (einval < 4) {
		printf("direct: FAIL only %d of the misaligned transfers were "
		       "EINVAL\n", einval);
		fails++;
	}
	printf("direct: %s (%zu transfers as Linux's, %d of them EINVAL)\n",
	       fails ? "FAILED" : "ok", n, einval);
	return fails ? 1 : 0;
}

struct ring_op {
	struct sk_op op;
	bool         done;
	sk_status_t  st;
	uint32_t     len;
};

static void ring_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct ring_op *r = (struct ring_op *)op;

	r->done = true;
	r->st = wc->status;
	r->len = wc->byte_len;
}

static int do_ring(void)
{
	unsigned rank = sk_os_rank(), size = sk_os_size();
	unsigned next = (rank + 1) % size, prev = (rank + size - 1) % size;
	struct sk_arena *a = sk_os_arena();
	char *buf = sk_arena_alloc(a, 128, 64);
	struct ring_op rx = {.op.done = ring_done}, tx = {.op.done = ring_done};
	char msg[64];
	sk_status_t st;

	if (size < 2) {
		printf("ring needs 2 nodes\n");
		return 1;
	}
	st = sk_post_recv(sk_os_peer(prev), sk_arena_mr(a), buf, 64, &rx.op);
	if (st != SK_OK)
		return 1;
	snprintf(buf + 64, 64, "token from %u", rank);
	st = sk_post_send(sk_os_peer(next), sk_arena_mr(a), buf + 64,
			  strlen(buf + 64) + 1, 0, &tx.op);
	if (st != SK_OK)
		return 1;
	while (!rx.done || !tx.done)
		sk_loop_run_once(sk_os_loop(), -1);
	snprintf(msg, sizeof(msg), "token from %u", prev);
	printf("rank %u got '%s' %s\n", rank, buf,
	       rx.st == SK_OK && tx.st == SK_OK && strcmp(buf, msg) == 0 ?
		       "ok" : "BAD");
	return 0;
}

/* The arena's own key must not let a peer write the arena: control data
 * (channel slots, rpc's small buffers, what the application keeps there)
 * lives in it. */
static int do_arenakey(void)
{
	struct sk_arena *a = sk_os_arena();
	char *buf = sk_arena_alloc(a, 64 + SK_BLOB_MAX, 64);
	struct ring_op rx = {.op.done = ring_done}, tx = {.op.done = ring_done},
		       wr = {.op.done = ring_done};
	struct sk_rkey *rkey;
	size_t len = SK_BLOB_MAX;
	sk_status_t st;

	if (sk_os_size() != 2) {
		printf("arenakey needs 2 nodes\n");
		return 1;
	}
	if (sk_os_rank() == 1) {
		st = sk_mr_pack(sk_arena_mr(a), buf, &len);
		if (st == SK_OK)
			st = sk_post_send(sk_os_peer(0), sk_arena_mr(a), buf,
					  len, 0, &tx.op);
		if (st != SK_OK)
			return 1;
		while (!tx.done)
			sk_loop_run_once(sk_os_loop(), -1);
		sk_os_barrier(); /* alive while rank 0 writes */
		return tx.st == SK_OK ? 0 : 1;
	}
	st = sk_post_recv(sk_os_peer(1), sk_arena_mr(a), buf, SK_BLOB_MAX,
			  &rx.op);
	if (st != SK_OK)
		return 1;
	while (!rx.done)
		sk_loop_run_once(sk_os_loop(), -1);
	if (rx.st != SK_OK ||
	    sk_rkey_unpack(sk_os_peer(1), buf, rx.len, &rkey) != SK_OK)
		return 1;
	memset(buf, 0xee, 64);
	st = sk_post_write(sk_os_peer(1), sk_arena_mr(a), buf, 64, rkey,
			   sk_rkey_addr(rkey), 0, &wr.op);
	while (st == SK_OK && !wr.done)
		sk_loop_run_once(sk_os_loop(), -1);
	if (st == SK_OK)
		st = wr.st;
	printf("write with a node's arena key: %s\n",
	       st == SK_ERR_REMOTE_ACCESS ? "refused" : sk_status_str(st));
	sk_rkey_destroy(rkey);
	sk_os_barrier();
	return 0;
}

struct raw_op {
	struct sk_op op;
	bool         done;
};

static void raw_done(struct sk_op *op, const struct sk_wc *wc)
{
	((struct raw_op *)op)->done = true;
}

/* Send @len raw bytes to the host, bypassing the channel's framing. */
static void raw_send(const void *bytes, size_t len)
{
	struct sk_arena *a = sk_os_arena();
	char *buf = sk_arena_alloc(a, len ? len : 1, 64);
	struct raw_op op = {.op.done = raw_done};

	memcpy(buf, bytes, len);
	if (sk_post_send(sk_node.host_ep, sk_arena_mr(a), buf, len, 0,
			 &op.op) != SK_OK)
		return;
	while (!op.done)
		sk_loop_run_once(sk_os_loop(), 1000);
}

/*
 * A malformed request of kind @kind: the host must cut this link, not
 * crash, and keep serving the other nodes; this node's next call fails.
 */
static int do_badmsg(const char *kind)
{
	struct {
		struct sk_hmsg_hdr h;
		char p[64];
	} m;
	size_t len = sizeof(m.h);

	if (sk_os_rank() != 0) {
		/* The others keep using the host while rank 0 misbehaves. */
		sk_os_sleep_ms(1000);
		printf("rank %u still served: %s\n", sk_os_rank(),
		       sk_open("x-missing", O_RDONLY) < 0 && errno == ENOENT ?
			       "yes" : "NO");
		return 0;
	}
	memset(&m, 0, sizeof(m));
	m.h.req_id = 999;
	if (strcmp(kind, "short") == 0) {
		len = 5;
	} else if (strcmp(kind, "len") == 0) {
		m.h.type = SK_HMSG_CONSOLE;
		m.h.flags = 1;
		m.h.len = 40; /* but no payload follows */
	} else if (strcmp(kind, "type") == 0) {
		m.h.type = 77;
	} else if (strcmp(kind, "nul") == 0) {
		struct sk_hreq_open o = {.flags = O_RDONLY};

		m.h.type = SK_HMSG_OPEN;
		memcpy(m.p, &o, sizeof(o));
		memcpy(m.p + sizeof(o), "no-nul", 6);
		m.h.len = sizeof(o) + 6;
		len += m.h.len;
	} else if (strcmp(kind, "result") == 0) {
		m.h.type = SK_HMSG_FINALIZE;
		m.h.result = -1;
	} else if (strcmp(kind, "stream") == 0) {
		m.h.type = SK_HMSG_CONSOLE;
		m.h.flags = 3;
		m.h.len = 2;
		memcpy(m.p, "x\n", 2);
		len += 2;
	} else if (strcmp(kind, "bulk") == 0) {
		struct sk_hreq_io io = {.fd = 0, .len = 64u << 20,
					.raddr = 4096};

		m.h.type = SK_HMSG_READ;
		memcpy(m.p, &io, sizeof(io));
		m.h.len = sizeof(io);
		len += sizeof(io);
	} else if (strcmp(kind, "leave") == 0) {
		/* Well formed, but out of turn: the second FINALIZE before
		 * the first. */
		m.h.type = SK_HMSG_FINALIZE;
		m.h.flags = SK_HFIN_LEAVE;
	} else if (strcmp(kind, "finflags") == 0) {
		m.h.type = SK_HMSG_FINALIZE;
		m.h.flags = 2;
	} else {
		printf("unknown badmsg kind %s\n", kind);
		return 2;
	}
	raw_send(&m, len);
	sk_os_sleep_ms(2000);
	printf("after badmsg: %s\n", sk_open("x", O_RDONLY) < 0 ?
					     strerror(errno) : "open worked");
	return 3;
}

static int64_t call(uint16_t type, const void *p, size_t len)
{
	return sk_node_call(type, 0, p, len, NULL, 0, NULL, 0, NULL);
}

/* Well-formed requests a host must refuse with an error reply. */
static int do_badreq(void)
{
	char *b = sk_arena_alloc(sk_os_arena(), 4096, 4096);
	struct sk_hreq_io io = {.fd = 9999, .len = 10, .offset = -1};
	struct sk_hreq_fd cl = {.fd = -5};
	struct sk_hreq_lseek ls = {.fd = 0, .whence = 99};
	int64_t rc;
	int fd;

	if (sk_os_rank() != 0)
		return 0;
	printf("read bad fd: %s\n", strerror((int)-call(SK_HMSG_READ, &io,
							 sizeof(io))));
	printf("close bad fd: %s\n", strerror((int)-call(SK_HMSG_CLOSE, &cl,
							  sizeof(cl))));
	fd = sk_open("inside.txt", O_RDONLY);
	ls.fd = fd;
	printf("lseek bad whence: %s\n",
	       strerror((int)-call(SK_HMSG_LSEEK, &ls, sizeof(ls))));
	io.fd = fd;
	io.len = 100000;
	io.raddr = 8; /* not in this node's arena */
	printf("bulk read outside the arena: %s\n",
	       strerror((int)-call(SK_HMSG_READ, &io, sizeof(io))));
	/* In the arena but not the bounce buffer: the host has no key for
	 * the rest of the arena. */
	io.raddr = (uintptr_t)b;
	io.len = 100;
	rc = call(SK_HMSG_READ, &io, sizeof(io));
	printf("bulk read into the arena, not the bounce buffer: %s\n",
	       rc >= 0 ? "allowed" : strerror((int)-rc));
	/* With a "key" that is no descriptor (zero-copy's payload). */
	rc = sk_node_call(SK_HMSG_READ, 0, &io, sizeof(io), "not a key", 9,
			  NULL, 0, NULL);
	printf("bulk read with a bad key: %s\n",
	       rc >= 0 ? "allowed" : strerror((int)-rc));
	/* A key of this node's bounce region itself, for the arena: its
	 * range does not cover the address. */
	{
		char desc[SK_BLOB_MAX];
		size_t dlen = sizeof(desc);

		if (sk_mr_pack(sk_node.bounce_region.mr, desc, &dlen) ==
		    SK_OK) {
			rc = sk_node_call(SK_HMSG_READ, 0, &io, sizeof(io),
					  desc, dlen, NULL, 0, NULL);
			printf("bulk read with a key that does not cover it: "
			       "%s\n", rc >= 0 ? "allowed" : strerror((int)-rc));
		}
	}
	/* The host's area, where mapped: a transfer on the slices' length
	 * words, across slices and file memory, past the file memory; a
	 * growing write in the file memory (its word would be past theirs). */
	if (sk_node.hostbuf != NULL) {
		uint64_t slices = SK_HMSG_BULK_DEPTH * (uint64_t)sk_node.chunk;
		static const struct {
			const char *what;
			uint16_t    type, flags;
			int64_t     at; /* from the file memory's start */
		} bad[] = {
			{"host-buffer read of the length words", SK_HMSG_READ,
			 SK_HIO_HOSTBUF, -(int64_t)SK_HMSG_CTL_SIZE},
			{"host-buffer read across slices and file memory",
			 SK_HMSG_READ, SK_HIO_HOSTBUF,
			 -(int64_t)SK_HMSG_CTL_SIZE - 5},
			{"host-buffer read past the file memory", SK_HMSG_READ,
			 SK_HIO_HOSTBUF, -1},
			{"growing write in the file memory", SK_HMSG_WRITE,
			 SK_HIO_HOSTBUF | SK_HIO_WHOLE | SK_HIO_GROW, 0},
		};

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			struct sk_hreq_io hio = {.fd = fd, .len = 10,
						 .offset = 0};

			hio.raddr = slices + SK_HMSG_CTL_SIZE + bad[k].at;
			if (bad[k].at == -1)
				hio.raddr = slices + SK_HMSG_CTL_SIZE +
					    sk_fmem_size() - 5;
			if (bad[k].type == SK_HMSG_WRITE) {
				sk_close(fd);
				fd = sk_open("badreq.out", O_RDWR | O_CREAT,
					     0644);
				hio.fd = fd;
			}
			rc = sk_node_call(bad[k].type, bad[k].flags, &hio,
					  sizeof(hio), NULL, 0, NULL, 0, NULL);
			printf("%s: %s\n", bad[k].what,
			       rc >= 0 ? "allowed" : strerror((int)-rc));
		}
		/* A growing write whose length word says more than its
		 * slice holds, or less than the request. */
		if (sk_node.hostctl != NULL) {
			struct sk_hreq_io hio = {.fd = fd, .len = 10,
						 .offset = 0, .raddr = 0};

			for (size_t k = 0; k < 2; k++) {
				__atomic_store_n(&sk_node.hostctl[0],
						 k == 0 ? sk_node.chunk + 1 : 5,
						 __ATOMIC_RELEASE);
				rc = sk_node_call(SK_HMSG_WRITE,
						  SK_HIO_HOSTBUF | SK_HIO_WHOLE |
							  SK_HIO_GROW,
						  &hio, sizeof(hio), NULL, 0,
						  NULL, 0, NULL);
				printf("growing write, length word %s: %s\n",
				       k == 0 ? "past its slice" :
						"under the request",
				       rc >= 0 ? "allowed" :
						 strerror((int)-rc));
			}
		}
		sk_unlink("badreq.out");
	} else {
		printf("host-buffer: not mapped\n");
	}
	sk_close(fd);
	printf("readdir on a file: %s\n",
	       sk_opendir("inside.txt") == NULL ? strerror(errno) : "opened");
	printf("still served: %s\n", sk_open("inside.txt", O_RDONLY) >= 0 ?
					      "yes" : "NO");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned rank = sk_os_rank(), size = sk_os_size();
	const char *cmd = argc > 1 ? argv[1] : "hello";
	const char *a2 = argc > 2 ? argv[2] : "0";
	const char *a3 = argc > 3 ? argv[3] : "0";
	int i;

	if (strcmp(cmd, "hello") == 0) {
		printf("hello from rank %u of %u\n", rank, size);
	} else if (strcmp(cmd, "order") == 0) {
		for (i = 0; i < atoi(a2); i++)
			printf("rank %u line %d\n", rank, i);
	} else if (strcmp(cmd, "exit") == 0) {
		if (rank == (unsigned)atoi(a3))
			return atoi(a2);
	} else if (strcmp(cmd, "crash") == 0) {
		if (rank == (unsigned)atoi(a2)) {
			printf("rank %u about to crash\n", rank);
			fflush(stdout);
			raise(SIGSEGV);
		}
		sk_os_sleep_ms(60000);
	} else if (strcmp(cmd, "survive") == 0) {
		if (rank == (unsigned)atoi(a2))
			raise(SIGKILL);
		sk_os_sleep_ms((uint64_t)atoll(a3));
		printf("rank %u outlived the failed rank\n", rank);
	} else if (strcmp(cmd, "sleep") == 0) {
		sk_os_sleep_ms((uint64_t)atoll(a2));
	} else if (strcmp(cmd, "nofinal") == 0) {
		if (rank == (unsigned)atoi(a2))
			_exit(0);
		sk_os_sleep_ms(60000);
	} else if (strcmp(cmd, "noleave") == 0) {
		printf("rank %u done\n", rank);
		if (rank == (unsigned)atoi(a2)) {
			/* Answered once every rank has finalized; then gone
			 * without a LEAVE, after the others' LEAVEs reached
			 * the host: they must not wait for this one. */
			int64_t rc = sk_node_call(SK_HMSG_FINALIZE, 0, NULL, 0,
						  NULL, 0, NULL, 0, NULL);

			usleep(300000);
			_exit(rc == 0 ? 0 : 3);
		}
	} else if (strcmp(cmd, "abort") == 0) {
		if (rank == 0)
			sk_os_abort(atoi(a2), "test abort from rank %u", rank);
		sk_os_sleep_ms(60000);
	} else if (strcmp(cmd, "files") == 0) {
		return do_files((unsigned)atoi(a2), a3);
	} else if (strcmp(cmd, "slices") == 0) {
		return do_slices((unsigned)atoi(a2), a3,
				 argc > 4 ? strtoull(argv[4], NULL, 10) : 1);
	} else if (strcmp(cmd, "readfile") == 0) {
		return do_readfile(a2);
	} else if (strcmp(cmd, "stdin") == 0) {
		return do_stdin(a2 ? (unsigned)atoi(a2) : 0);
	} else if (strcmp(cmd, "seal") == 0) {
		return do_seal(a2);
	} else if (strcmp(cmd, "fds") == 0) {
		return do_fds();
	} else if (strcmp(cmd, "paths") == 0) {
		return do_paths();
	} else if (strcmp(cmd, "posix") == 0) {
		return do_posix();
	} else if (strcmp(cmd, "direct") == 0) {
		return do_direct();
	} else if (strcmp(cmd, "appends") == 0) {
		return do_appends(a2 ? strtoull(a2, NULL, 10) : 1);
	} else if (strcmp(cmd, "fsyncall") == 0) {
		return do_fsyncall();
	} else if (strcmp(cmd, "wbra") == 0) {
		return do_wbra();
	} else if (strcmp(cmd, "bigio") == 0) {
		return do_bigio();
	} else if (strcmp(cmd, "enospc") == 0) {
		return do_enospc(a2);
	} else if (strcmp(cmd, "filemem") == 0) {
		return do_filemem();
	} else if (strcmp(cmd, "malloc") == 0) {
		return do_malloc();
	} else if (strcmp(cmd, "grow") == 0) {
		return rank == 0 ? do_grow(a2 && strcmp(a2, "die") == 0) : 0;
	} else if (strcmp(cmd, "killwrite") == 0) {
		return do_killwrite(strcmp(a2, "mid") == 0);
	} else if (strcmp(cmd, "ring") == 0) {
		return do_ring();
	} else if (strcmp(cmd, "arenakey") == 0) {
		return do_arenakey();
	} else if (strcmp(cmd, "badmsg") == 0) {
		return do_badmsg(a2);
	} else if (strcmp(cmd, "badreq") == 0) {
		return do_badreq();
	} else if (strcmp(cmd, "env") == 0) {
		const char *v = getenv(a2);

		printf("rank %u %s=%s\n", rank, a2, v ? v : "(unset)");
	} else if (strcmp(cmd, "bootaddr") == 0) {
		if (rank == 0) {
			const char *v = getenv("SKIFF_BOOTSTRAP");

			printf("bootstrap %s\n", v ? v : "(unset)");
			fflush(stdout);
		}
		sk_os_sleep_ms((uint64_t)atoll(a2));
	} else if (strcmp(cmd, "fnvfile") == 0) {
		char buf[65536];
		uint64_t h = FNV_INIT, total = 0;
		FILE *f = fopen(a2, "r");
		size_t n;

		if (f == NULL) {
			perror(a2);
			return 1;
		}
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
			h = fnv(h, buf, n);
			total += n;
		}
		fclose(f);
		printf("read %llu bytes fnv %016llx\n",
		       (unsigned long long)total, (unsigned long long)h);
	} else if (strcmp(cmd, "fnvpattern") == 0) {
		uint64_t h = FNV_INIT, total = strtoull(a2, NULL, 10), off;

		for (off = 0; off < total; off++) {
			unsigned char b = pattern(off);

			h = fnv(h, &b, 1);
		}
		printf("read %llu bytes fnv %016llx\n",
		       (unsigned long long)total, (unsigned long long)h);
	} else if (strcmp(cmd, "args") == 0) {
		printf("rank %u argc=%d", rank, argc);
		for (i = 0; i < argc; i++)
			printf(" [%s]", argv[i]);
		printf("\n");
	} else {
		fprintf(stderr, "node_app: unknown command '%s'\n", cmd);
		return 2;
	}
	return 0;
}
