/*
 * Unit tests of the host's file service (launcher/fileserv.c). Each test
 * gets a fresh directory tree from mkdtemp: "root", the root the service
 * is confined to, and beside it "outside", holding a file "secret" that no
 * path a node sends may read, overwrite, create beside or remove. The
 * ordinary operations are checked against what the host sees on disk; the
 * rest sends what a hostile node could (".." climbs, absolute paths,
 * symlinks out at every position, forbidden flags, forged handles) and
 * checks each is refused with the errno the API promises, leaving the
 * outside untouched. Tests run as root, so nothing here leans on
 * permission bits: confinement alone must hold.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileserv.h"

#define SECRET "do not leak"

struct fx {
	char top[PATH_MAX];	/* the mkdtemp directory */
	char root[PATH_MAX];	/* top/root */
	char outside[PATH_MAX]; /* top/outside */
	struct sk_fsrv srv;
	struct sk_fsrv_files files;
	int host_fds; /* open before the test */
};

/* ---- helpers ---- */

/* "@dir/@rel", in one of a few rotating buffers (several per assert). */
static const char *join(const char *dir, const char *rel)
{
	static char bufs[8][PATH_MAX];
	static unsigned next;
	char *b = bufs[next++ % 8];

	if (snprintf(b, PATH_MAX, "%s/%s", dir, rel) >= PATH_MAX)
		fail_msg("path too long: %s/%s", dir, rel);
	return b;
}

static void put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(close(fd), 0);
}

/* The whole of a (small) host file, NUL-terminated, in a static buffer. */
static const char *file_text(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static bool exists(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) == 0;
}

static bool host_fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* The outside is as setup left it: one file, unchanged. */
static void assert_outside_intact(struct fx *fx)
{
	int n = 0;
	DIR *d = opendir(fx->outside);
	struct dirent *de;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 1);
	assert_string_equal(file_text(join(fx->outside, "secret")), SECRET);
}

static int64_t fs_open(struct fx *fx, const char *path, int32_t flags)
{
	return sk_fsrv_open(&fx->srv, &fx->files, path, flags, 0644);
}

/* @path must be refused with -EACCES however it is opened. */
static void assert_escape_refused(struct fx *fx, const char *path)
{
	static const int32_t modes[] = {
		O_RDONLY,
		O_RDWR,
		O_WRONLY | O_CREAT | O_TRUNC,
		O_RDONLY | O_DIRECTORY,
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		int64_t ret = fs_open(fx, path, modes[i]);

		if (ret != -EACCES)
			fail_msg("open(\"%s\", %#x) = %lld, not -EACCES", path,
				 (unsigned)modes[i], (long long)ret);
	}
	assert_outside_intact(fx);
}

/* Descriptors this process has open (the count's own one included). */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static int rm_one(const char *path, const struct stat *sb, int type,
		  struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/skiff-fsrv-XXXXXX";
	char err[256];

	if (fx == NULL)
		return -1;
	fx->host_fds = count_fds();
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, fx->top) == NULL)
		return -1;
	if (snprintf(fx->root, sizeof(fx->root), "%s/root", fx->top) >=
		    (int)sizeof(fx->root) ||
	    snprintf(fx->outside, sizeof(fx->outside), "%s/outside", fx->top) >=
		    (int)sizeof(fx->outside))
		return -1;
	if (mkdir(fx->root, 0755) < 0 || mkdir(fx->outside, 0755) < 0)
		return -1;
	put_file(join(fx->outside, "secret"), SECRET);
	if (sk_fsrv_init(&fx->srv, fx->root, err, sizeof(err)) != 0)
		return -1;
	sk_fsrv_files_init(&fx->files);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	int leaked;

	sk_fsrv_files_cleanup(&fx->files);
	sk_fsrv_cleanup(&fx->srv);
	nftw(fx->top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	/* Every descriptor the service opened is closed again. */
	leaked = count_fds() != fx->host_fds;
	if (leaked)
		fprintf(stderr, "descriptors: %d before, %d after\n",
			fx->host_fds, count_fds());
	free(fx);
	return leaked ? -1 : 0;
}

/* ---- init ---- */

static void test_init(void **state)
{
	struct fx *fx = *state;
	struct sk_fsrv s;
	char err[PATH_MAX + 64], want[PATH_MAX + 64];
	const char *path;
	int cwd;

	path = join(fx->top, "nope");
	memset(err, 0, sizeof(err));
	assert_int_equal(sk_fsrv_init(&s, path, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "--root '%s': No such file or directory",
		 path);
	assert_string_equal(err, want);
	assert_null(s.root);
	assert_int_equal(s.root_fd, -1);
	sk_fsrv_cleanup(&s); /* harmless after a failed init */

	path = join(fx->outside, "secret");
	assert_int_equal(sk_fsrv_init(&s, path, err, sizeof(err)), -ENOTDIR);
	snprintf(want, sizeof(want), "--root '%s': Not a directory", path);
	assert_string_equal(err, want);

	/* A short buffer is cut and terminated; none at all is fine. */
	memset(err, 'x', sizeof(err));
	assert_int_equal(sk_fsrv_init(&s, "/nonexistent/x", err, 8), -ENOENT);
	assert_string_equal(err, "--root ");
	assert_int_equal(sk_fsrv_init(&s, "/nonexistent/x", NULL, 0), -ENOENT);

	/* Reached through a symlink, the root is still its real path. */
	assert_int_equal(symlink(fx->root, join(fx->top, "alias")), 0);
	assert_int_equal(
		sk_fsrv_init(&s, join(fx->top, "alias/"), err, sizeof(err)), 0);
	assert_string_equal(s.root, fx->root);
	sk_fsrv_cleanup(&s);
	assert_null(s.root);
	assert_int_equal(s.root_fd, -1);

	/* NULL: the current directory. */
	cwd = open(".", O_PATH | O_DIRECTORY);
	assert_true(cwd >= 0);
	assert_int_equal(chdir(fx->root), 0);
	assert_int_equal(sk_fsrv_init(&s, NULL, err, sizeof(err)), 0);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	assert_string_equal(s.root, fx->root);
	sk_fsrv_cleanup(&s);
}

/* A root of "/" takes every absolute path but still no "..". */
static void test_root_slash(void **state)
{
	struct fx *fx = *state;
	struct sk_fsrv s;
	char err[256];
	int64_t h;

	assert_int_equal(sk_fsrv_init(&s, "/", err, sizeof(err)), 0);
	assert_string_equal(s.root, "/");
	h = sk_fsrv_open(&s, &fx->files, "/etc/passwd", O_RDONLY, 0);
	assert_true(h >= 0);
	assert_int_equal(sk_fsrv_close(&fx->files, (int32_t)h), 0);
	h = sk_fsrv_open(&s, &fx->files, "//etc//passwd", O_RDONLY, 0);
	assert_true(h >= 0);
	assert_int_equal(sk_fsrv_close(&fx->files, (int32_t)h), 0);
	h = sk_fsrv_open(&s, &fx->files, "/", O_RDONLY | O_DIRECTORY, 0);
	assert_true(h >= 0);
	assert_int_equal(sk_fsrv_close(&fx->files, (int32_t)h), 0);
	assert_int_equal(
		sk_fsrv_open(&s, &fx->files, "../etc/passwd", O_RDONLY, 0),
		-EACCES);
	sk_fsrv_cleanup(&s);
}

/* ---- ordinary file operations ---- */

static void test_write_read_back(void **state)
{
	struct fx *fx = *state;
	char buf[64];
	int64_t h;

	h = sk_fsrv_open(&fx->srv, &fx->files, "f.txt",
			 O_CREAT | O_EXCL | O_RDWR, 0640);
	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_write(&fx->files, 0, "hello world", 11, -1),
			 11);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, SEEK_CUR), 11);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, SEEK_SET), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, sizeof(buf), -1), 11);
	assert_memory_equal(buf, "hello world", 11);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, sizeof(buf), -1), 0);

	/* pread and pwrite leave the position alone. */
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, 5, 6), 5);
	assert_memory_equal(buf, "world", 5);
	assert_int_equal(sk_fsrv_write(&fx->files, 0, "WORLD", 5, 6), 5);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, SEEK_CUR), 11);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, sizeof(buf), 0), 11);
	assert_memory_equal(buf, "hello WORLD", 11);
	/* Past the end: a hole, then the byte. */
	assert_int_equal(sk_fsrv_write(&fx->files, 0, "!", 1, 20), 1);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, -1, SEEK_END), 20);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, 4, 100), 0);
	assert_int_equal(sk_fsrv_close(&fx->files, 0), 0);
	assert_int_equal(sk_fsrv_close(&fx->files, 0), -EBADF);

	/* The host sees it all. */
	{
		struct stat sb;
		int fd = open(join(fx->root, "f.txt"), O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(fstat(fd, &sb), 0);
		assert_int_equal(sb.st_size, 21);
		assert_int_equal(sb.st_mode & 0777, 0640);
		assert_int_equal(read(fd, buf, sizeof(buf)), 21);
		assert_memory_equal(buf, "hello WORLD\0\0\0\0\0\0\0\0\0!", 21);
		close(fd);
	}

	/* O_EXCL on an existing file, O_TRUNC, O_APPEND. */
	assert_int_equal(sk_fsrv_open(&fx->srv, &fx->files, "f.txt",
				      O_CREAT | O_EXCL | O_WRONLY, 0644),
			 -EEXIST);
	h = fs_open(fx, "f.txt", O_WRONLY | O_TRUNC);
	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_write(&fx->files, 0, "ab", 2, -1), 2);
	assert_int_equal(sk_fsrv_close(&fx->files, 0), 0);
	h = fs_open(fx, "f.txt", O_WRONLY | O_APPEND);
	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, SEEK_SET), 0);
	assert_int_equal(sk_fsrv_write(&fx->files, 0, "cd", 2, -1), 2);
	assert_int_equal(sk_fsrv_close(&fx->files, 0), 0);
	assert_string_equal(file_text(join(fx->root, "f.txt")), "abcd");

	/* Created files in subdirectories; the mode's extra bits go. */
	assert_int_equal(mkdir(join(fx->root, "sub"), 0755), 0);
	h = sk_fsrv_open(&fx->srv, &fx->files, "sub/g", O_CREAT | O_WRONLY,
			 07777);
	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_close(&fx->files, 0), 0);
	{
		struct stat sb;

		assert_int_equal(stat(join(fx->root, "sub/g"), &sb), 0);
		assert_int_equal(sb.st_mode & 07777, 0755); /* umask 022 */
	}
	/* Without O_CREAT a missing file is missing. */
	assert_int_equal(fs_open(fx, "nope", O_RDONLY), -ENOENT);
	assert_int_equal(fs_open(fx, "nope/x", O_CREAT | O_WRONLY), -ENOENT);
}

static void test_big_io(void **state)
{
	struct fx *fx = *state;
	size_t len = SK_HMSG_BULK_MAX;
	uint8_t *out = malloc(len), *in = malloc(len + 100);
	int64_t h;

	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 131 + (i >> 12));
	h = fs_open(fx, "big", O_CREAT | O_RDWR);
	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_write(&fx->files, 0, out, len, -1),
			 (int64_t)len);
	/* A read asking for more than there is comes back short. */
	assert_int_equal(sk_fsrv_read(&fx->files, 0, in, len + 100, 0),
			 (int64_t)len);
	assert_memory_equal(in, out, len);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, in, 100, len - 10), 10);
	assert_memory_equal(in, out + len - 10, 10);
	free(out);
	free(in);
}

/* All of it or the error: a write left behind has no count to give. */
static void test_write_all(void **state)
{
	struct fx *fx = *state;
	size_t len = 3 * SK_HMSG_BULK_MAX + 7;
	uint8_t *out = malloc(len), *in = malloc(len);

	assert_non_null(out);
	assert_non_null(in);
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 7 + (i >> 9));
	assert_int_equal(fs_open(fx, "all", O_CREAT | O_RDWR), 0);
	assert_int_equal(sk_fsrv_write_all(&fx->files, 0, out, len, 5),
			 (int64_t)len);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, in, len, 5),
			 (int64_t)len);
	assert_memory_equal(in, out, len);
	/* Only at an offset; only a handle the node has. */
	assert_int_equal(sk_fsrv_write_all(&fx->files, 0, out, 1, -1),
			 -EINVAL);
	assert_int_equal(sk_fsrv_write_all(&fx->files, 7, out, 1, 0), -EBADF);
	/* A FIFO has no offsets: its error, not a count. */
	assert_int_equal(mkfifo(join(fx->root, "fifo"), 0600), 0);
	assert_int_equal(fs_open(fx, "fifo", O_RDWR), 1);
	assert_int_equal(sk_fsrv_write_all(&fx->files, 1, out, 10, 0),
			 -ESPIPE);
	free(out);
	free(in);
}

static void test_bad_offsets_and_whence(void **state)
{
	struct fx *fx = *state;
	char buf[8];
	int64_t h = fs_open(fx, "f", O_CREAT | O_RDWR);

	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, 1, -2), -EINVAL);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, 1, INT64_MIN),
			 -EINVAL);
	assert_int_equal(sk_fsrv_write(&fx->files, 0, "x", 1, -2), -EINVAL);
	assert_int_equal(sk_fsrv_write(&fx->files, 0, "x", 1, INT64_MIN),
			 -EINVAL);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, SEEK_DATA), -EINVAL);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, SEEK_HOLE), -EINVAL);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, 5), -EINVAL);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, -1), -EINVAL);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, -5, SEEK_SET), -EINVAL);
	/* Nothing moved or was written. */
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, SEEK_CUR), 0);
	assert_int_equal(sk_fsrv_lseek(&fx->files, 0, 0, SEEK_END), 0);
}

static void test_fstat(void **state)
{
	struct fx *fx = *state;
	struct sk_hstat st;
	struct stat sb;
	int64_t h;

	put_file(join(fx->root, "f"), "12345");
	assert_int_equal(link(join(fx->root, "f"), join(fx->root, "f2")), 0);
	assert_int_equal(stat(join(fx->root, "f"), &sb), 0);
	h = fs_open(fx, "f", O_RDONLY);
	assert_int_equal(h, 0);
	memset(&st, 0xa5, sizeof(st));
	assert_int_equal(sk_fsrv_fstat(&fx->files, 0, &st), 0);
	assert_int_equal(st.size, 5);
	assert_int_equal(st.ino, sb.st_ino);
	assert_int_equal(st.mode, sb.st_mode);
	assert_true(S_ISREG(st.mode));
	assert_int_equal(st.nlink, 2);
	assert_int_equal(st.mtime_ns,
			 (uint64_t)sb.st_mtim.tv_sec * 1000000000u +
				 (uint64_t)sb.st_mtim.tv_nsec);

	h = fs_open(fx, ".", O_RDONLY | O_DIRECTORY);
	assert_int_equal(h, 1);
	assert_int_equal(sk_fsrv_fstat(&fx->files, 1, &st), 0);
	assert_true(S_ISDIR(st.mode));
	assert_true(st.nlink >= 2);
}

/* ---- unlink and mkdir ---- */

static void test_unlink(void **state)
{
	struct fx *fx = *state;

	put_file(join(fx->root, "f"), "x");
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "f"), 0);
	assert_false(exists(join(fx->root, "f")));
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "f"), -ENOENT);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, ""), -ENOENT);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "no/such/f"), -ENOENT);

	/* In a subdirectory, by absolute path, after a harmless "..". */
	assert_int_equal(mkdir(join(fx->root, "d"), 0755), 0);
	put_file(join(fx->root, "d/g"), "x");
	put_file(join(fx->root, "d/h"), "x");
	put_file(join(fx->root, "d/i"), "x");
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "d/g"), 0);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, join(fx->root, "d/h")), 0);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "d/../d/i"), 0);
	assert_false(exists(join(fx->root, "d/g")));
	assert_false(exists(join(fx->root, "d/h")));
	assert_false(exists(join(fx->root, "d/i")));

	/* Directories are not unlink's, as with unlink(2). */
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "d"), -EISDIR);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "d/"), -EISDIR);
	put_file(join(fx->root, "g"), "x");
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "g/"), -ENOTDIR);
	assert_true(exists(join(fx->root, "g")));
	assert_true(exists(join(fx->root, "d")));

	/* Not the root, not its parent. */
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "."), -EINVAL);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, fx->root), -EINVAL);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, join(fx->root, "")), -EINVAL);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, ".."), -EACCES);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "d/.."), -EACCES);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "../outside/secret"),
			 -EACCES);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "d/../../outside/secret"),
			 -EACCES);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, join(fx->outside, "secret")),
			 -EACCES);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "../outside/"), -EACCES);

	/* Through a directory symlink out: refused. A symlink out as the
	 * last component: the link goes, what it names stays. */
	assert_int_equal(symlink(fx->outside, join(fx->root, "out")), 0);
	assert_int_equal(symlink("../outside", join(fx->root, "out2")), 0);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "out/secret"), -EACCES);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "out2/secret"), -EACCES);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "out/"), -EACCES);
	assert_int_equal(
		symlink(join(fx->outside, "secret"), join(fx->root, "ln")), 0);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "ln"), 0);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "out"), 0);
	assert_false(exists(join(fx->root, "ln")));
	assert_false(exists(join(fx->root, "out")));
	assert_true(exists(fx->root));
	assert_outside_intact(fx);
}

static void test_mkdir(void **state)
{
	struct fx *fx = *state;
	struct stat sb;

	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "d", 0750), 0);
	assert_int_equal(stat(join(fx->root, "d"), &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0750);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "d", 0755), -EEXIST);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "d/e/", 0755), 0);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "d//f//", 0755), 0);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "d/e/../g", 0755), 0);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, join(fx->root, "h"), 0755), 0);
	assert_true(exists(join(fx->root, "d/e")));
	assert_true(exists(join(fx->root, "d/f")));
	assert_true(exists(join(fx->root, "d/g")));
	assert_true(exists(join(fx->root, "h")));
	/* Extra mode bits go. */
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "s", 07777), 0);
	assert_int_equal(stat(join(fx->root, "s"), &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0755); /* umask 022 */

	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "x/y", 0755), -ENOENT);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "", 0755), -ENOENT);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, ".", 0755), -EINVAL);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, fx->root, 0755), -EINVAL);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "..", 0755), -EACCES);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "d/..", 0755), -EACCES);

	/* Escapes create nothing anywhere. */
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "../escape", 0755), -EACCES);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "d/../../escape", 0755),
			 -EACCES);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "../outside/escape", 0755),
			 -EACCES);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, join(fx->top, "escape"), 0755),
			 -EACCES);
	assert_int_equal(symlink(fx->outside, join(fx->root, "out")), 0);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "out/escape", 0755), -EACCES);
	/* mkdir never follows a last-component symlink, dangling or not. */
	assert_int_equal(symlink("../outside/escape", join(fx->root, "dl")), 0);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "dl", 0755), -EEXIST);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "dl/", 0755), -EEXIST);
	assert_false(exists(join(fx->top, "escape")));
	assert_outside_intact(fx);
}

/* ---- readdir ---- */

#define NDIRENTS 300

static void entry_name(char *buf, size_t len, int i)
{
	/* Lengths vary so that entries break at different places. */
	snprintf(buf, len, "e%03d-%.*s", i, i % 23, "abcdefghijklmnopqrstuvw");
}

static void test_readdir_many(void **state)
{
	struct fx *fx = *state;
	static const size_t caps[] = {40, 64, 257, 4096, 65536};
	int seen[NDIRENTS + 1];
	char name[64];
	uint8_t buf[65536];

	assert_int_equal(mkdir(join(fx->root, "big"), 0755), 0);
	for (int i = 0; i < NDIRENTS; i++) {
		entry_name(name, sizeof(name), i);
		put_file(join(join(fx->root, "big"), name), "");
	}
	assert_int_equal(mkdir(join(fx->root, "big/zdir"), 0755), 0);

	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		int64_t h = fs_open(fx, "big", O_RDONLY | O_DIRECTORY);
		int64_t n, total = 0;
		int calls = 0;
		size_t used;

		assert_int_equal(h, 0);
		memset(seen, 0, sizeof(seen));
		while ((n = sk_fsrv_readdir(&fx->files, 0, buf, caps[c],
					    &used)) > 0) {
			size_t off = 0;

			assert_true(used <= caps[c]);
			calls++;
			for (int64_t k = 0; k < n; k++) {
				uint8_t type = buf[off];
				const char *nm = (const char *)buf + off + 1;
				size_t nl = strnlen(nm, used - off - 1);
				int i;

				assert_true(off + 1 + nl < used);
				off += nl + 2;
				if (strcmp(nm, "zdir") == 0) {
					assert_int_equal(type, DT_DIR);
					seen[NDIRENTS]++;
					continue;
				}
				assert_int_equal(type, DT_REG);
				assert_int_equal(sscanf(nm, "e%03d-", &i), 1);
				assert_true(i >= 0 && i < NDIRENTS);
				entry_name(name, sizeof(name), i);
				assert_string_equal(nm, name);
				seen[i]++;
			}
			assert_int_equal(off, used);
			total += n;
		}
		assert_int_equal(n, 0);
		assert_int_equal(used, 0);
		assert_int_equal(total, NDIRENTS + 1);
		for (int i = 0; i <= NDIRENTS; i++)
			assert_int_equal(seen[i], 1);
		if (caps[c] <= 64)
			assert_true(calls > NDIRENTS / 8);
		/* At the end it stays at the end. */
		assert_int_equal(
			sk_fsrv_readdir(&fx->files, 0, buf, caps[c], &used), 0);
		assert_int_equal(sk_fsrv_close(&fx->files, 0), 0);
	}
}

static void test_readdir_cap(void **state)
{
	struct fx *fx = *state;
	char name[256];
	uint8_t buf[512];
	size_t used = 99;
	int64_t h;

	/* Empty: only "." and "..", which are never sent. */
	assert_int_equal(mkdir(join(fx->root, "empty"), 0755), 0);
	h = fs_open(fx, "empty", O_RDONLY | O_DIRECTORY);
	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_readdir(&fx->files, 0, buf, 0, &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(sk_fsrv_close(&fx->files, 0), 0);

	/* One longest name: 1 + 255 + 1 bytes. One byte less holds none, and
	 * that is an error, not the end; the entry is not lost. */
	assert_int_equal(mkdir(join(fx->root, "long"), 0755), 0);
	memset(name, 'n', 255);
	name[255] = '\0';
	put_file(join(join(fx->root, "long"), name), "");
	h = fs_open(fx, "long", O_RDONLY | O_DIRECTORY);
	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_readdir(&fx->files, 0, buf, 256, &used),
			 -EINVAL);
	assert_int_equal(used, 0);
	assert_int_equal(sk_fsrv_readdir(&fx->files, 0, buf, 0, &used),
			 -EINVAL);
	assert_int_equal(sk_fsrv_readdir(&fx->files, 0, buf, 257, &used), 1);
	assert_int_equal(used, 257);
	assert_int_equal(buf[0], DT_REG);
	assert_string_equal((char *)buf + 1, name);
	assert_int_equal(sk_fsrv_readdir(&fx->files, 0, buf, 257, &used), 0);
}

static void test_readdir_and_dirs(void **state)
{
	struct fx *fx = *state;
	uint8_t buf[256];
	size_t used;
	int64_t h;
	int raw;

	put_file(join(fx->root, "f"), "data");
	assert_int_equal(mkdir(join(fx->root, "d"), 0755), 0);
	put_file(join(fx->root, "d/x"), "");

	/* Not a directory: refused, and the handle is still good. */
	h = fs_open(fx, "f", O_RDONLY);
	assert_int_equal(h, 0);
	assert_int_equal(
		sk_fsrv_readdir(&fx->files, 0, buf, sizeof(buf), &used),
		-ENOTDIR);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, sizeof(buf), -1), 4);

	/* Directories: no data to read, not writable; O_DIRECTORY only on
	 * directories; readdir works without it. */
	assert_int_equal(fs_open(fx, "f", O_RDONLY | O_DIRECTORY), -ENOTDIR);
	assert_int_equal(fs_open(fx, "d", O_WRONLY), -EISDIR);
	assert_int_equal(fs_open(fx, "d", O_RDWR), -EISDIR);
	h = fs_open(fx, "d", O_RDONLY);
	assert_int_equal(h, 1);
	assert_int_equal(sk_fsrv_read(&fx->files, 1, buf, sizeof(buf), -1),
			 -EISDIR);
	assert_int_equal(
		sk_fsrv_readdir(&fx->files, 1, buf, sizeof(buf), &used), 1);
	assert_int_equal(used, 3);
	assert_memory_equal(buf, "\x08x", 3); /* DT_REG, "x", NUL */
	/* Still no data (ext4 may say -EINVAL now: its directory positions
	 * are hash cookies, which read(2) range-checks as file offsets). */
	assert_true(sk_fsrv_read(&fx->files, 1, buf, sizeof(buf), -1) < 0);
	assert_int_equal(sk_fsrv_write(&fx->files, 1, "x", 1, -1), -EBADF);

	/* Closing a handle that readdir used closes its descriptor once; the
	 * slot is free for the next open. */
	raw = fx->files.f[1].fd;
	assert_non_null(fx->files.f[1].dir);
	assert_int_equal(sk_fsrv_close(&fx->files, 1), 0);
	assert_false(host_fd_open(raw));
	assert_null(fx->files.f[1].dir);
	h = fs_open(fx, ".", O_RDONLY | O_DIRECTORY);
	assert_int_equal(h, 1);
	assert_int_equal(
		sk_fsrv_readdir(&fx->files, 1, buf, sizeof(buf), &used), 2);
}

/* ---- confinement ---- */

static void test_dotdot(void **state)
{
	struct fx *fx = *state;
	int64_t h;

	assert_int_equal(mkdir(join(fx->root, "a"), 0755), 0);
	assert_int_equal(mkdir(join(fx->root, "a/b"), 0755), 0);
	put_file(join(fx->root, "a/b/f"), "in");
	assert_escape_refused(fx, "..");
	assert_escape_refused(fx, "../x");
	assert_escape_refused(fx, "../outside/secret");
	assert_escape_refused(fx, "./../outside/secret");
	assert_escape_refused(fx, "a/../../x");
	assert_escape_refused(fx, "a/../../outside/secret");
	assert_escape_refused(fx, "a/b/../../../outside/secret");
	assert_escape_refused(fx, "a/b/../../..");
	assert_escape_refused(fx, "../root/a/b/f"); /* out and back in */
	assert_false(exists(join(fx->top, "x")));

	/* ".." that stays beneath the root is fine. */
	h = fs_open(fx, "a/b/../b/./f", O_RDONLY);
	assert_int_equal(h, 0);
	h = fs_open(fx, "a/..", O_RDONLY | O_DIRECTORY);
	assert_int_equal(h, 1);
	h = fs_open(fx, "a/b/../../a/b/f", O_RDONLY);
	assert_int_equal(h, 2);
}

static void test_absolute_paths(void **state)
{
	struct fx *fx = *state;
	char path[PATH_MAX + 16];
	char buf[16];
	int64_t h;

	put_file(join(fx->root, "f"), "in");
	assert_int_equal(mkdir(join(fx->root, "d"), 0755), 0);

	/* Inside the root: made relative. */
	h = fs_open(fx, join(fx->root, "f"), O_RDONLY);
	assert_int_equal(h, 0);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, sizeof(buf), -1), 2);
	assert_memory_equal(buf, "in", 2);
	snprintf(path, sizeof(path), "/%s//d/..///f", fx->root);
	assert_int_equal(fs_open(fx, path, O_RDONLY), 1);
	assert_int_equal(fs_open(fx, fx->root, O_RDONLY | O_DIRECTORY), 2);
	assert_int_equal(fs_open(fx, join(fx->root, ""), O_RDONLY), 3);
	h = fs_open(fx, join(fx->root, "new"), O_CREAT | O_WRONLY);
	assert_int_equal(h, 4);
	assert_true(exists(join(fx->root, "new")));

	/* Outside it: refused, whatever is there. */
	assert_escape_refused(fx, "/etc/passwd");
	assert_escape_refused(fx, "/");
	assert_escape_refused(fx, "//");
	assert_escape_refused(fx, "/nonexistent");
	assert_escape_refused(fx, fx->top);
	assert_escape_refused(fx, join(fx->outside, "secret"));
	assert_escape_refused(fx, join(fx->root, "../outside/secret"));
	assert_escape_refused(fx, join(fx->root, "d/../../outside/secret"));
	/* A sibling whose name begins with the root's is not the root. */
	snprintf(path, sizeof(path), "%sx", fx->root);
	assert_int_equal(mkdir(path, 0755), 0);
	put_file(join(path, "f"), "sibling");
	assert_escape_refused(fx, join(path, "f"));
	assert_escape_refused(fx, path);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, join(path, "f")), -EACCES);
	assert_string_equal(file_text(join(path, "f")), "sibling");
	/* A prefix of the root's own path is not the root either. */
	snprintf(path, sizeof(path), "%.*s", (int)strlen(fx->root) - 1,
		 fx->root);
	assert_escape_refused(fx, path);
}

static void test_symlinks_out(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(mkdir(join(fx->root, "d"), 0755), 0);
	/* Last component. */
	assert_int_equal(symlink("/etc/passwd", join(fx->root, "passwd")), 0);
	assert_int_equal(symlink("../outside/secret", join(fx->root, "rel")),
			 0);
	assert_int_equal(
		symlink(join(fx->outside, "secret"), join(fx->root, "abs")), 0);
	assert_escape_refused(fx, "passwd");
	assert_escape_refused(fx, "rel");
	assert_escape_refused(fx, "abs");
	assert_escape_refused(fx, join(fx->root, "rel"));
	/* Intermediate components: a directory symlink out. */
	assert_int_equal(symlink("/etc", join(fx->root, "etc")), 0);
	assert_int_equal(symlink(fx->outside, join(fx->root, "out")), 0);
	assert_int_equal(symlink("../../outside", join(fx->root, "d/out")), 0);
	assert_int_equal(symlink("..", join(fx->root, "up")), 0);
	assert_escape_refused(fx, "etc/passwd");
	assert_escape_refused(fx, "etc");
	assert_escape_refused(fx, "out/secret");
	assert_escape_refused(fx, "out/new");
	assert_escape_refused(fx, "d/out/secret");
	assert_escape_refused(fx, "up/outside/secret");
	assert_escape_refused(fx, "up/root/d");
	/* Chains: each link is harmless alone, the last one escapes. */
	assert_int_equal(symlink("l2", join(fx->root, "l1")), 0);
	assert_int_equal(symlink("d/l3", join(fx->root, "l2")), 0);
	assert_int_equal(symlink("../up", join(fx->root, "d/l3")), 0);
	assert_escape_refused(fx, "l1");
	assert_escape_refused(fx, "l1/outside/secret");
	assert_int_equal(symlink("d/out", join(fx->root, "c1")), 0);
	assert_escape_refused(fx, "c1/secret");
	/* Dangling links out: O_CREAT does not create at the far end. */
	assert_int_equal(symlink("../outside/created", join(fx->root, "dang")),
			 0);
	assert_int_equal(
		symlink(join(fx->top, "created"), join(fx->root, "dang2")), 0);
	assert_escape_refused(fx, "dang");
	assert_escape_refused(fx, "dang2");
	assert_false(exists(join(fx->top, "created")));
	/* O_NOFOLLOW refuses any symlink as the last component. */
	assert_int_equal(fs_open(fx, "rel", O_RDONLY | O_NOFOLLOW), -ELOOP);
	/* Magic links are not followed, even though /proc/self/root is "/". */
	assert_int_equal(symlink("/proc/self/root", join(fx->root, "proc")), 0);
	assert_escape_refused(fx, "proc/etc/passwd");
}

static void test_symlinks_in(void **state)
{
	struct fx *fx = *state;
	char buf[16];
	int64_t h;

	assert_int_equal(mkdir(join(fx->root, "d"), 0755), 0);
	assert_int_equal(mkdir(join(fx->root, "d/e"), 0755), 0);
	put_file(join(fx->root, "d/e/f"), "in");
	assert_int_equal(symlink("d/e/f", join(fx->root, "lf")), 0);
	assert_int_equal(symlink("d/e", join(fx->root, "le")), 0);
	assert_int_equal(symlink("../../lf", join(fx->root, "d/e/back")), 0);
	assert_int_equal(symlink("le", join(fx->root, "chain")), 0);

	static const char *const ok[] = {
		"lf", "le/f", "d/e/back", "chain/back", "chain/../../lf",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		h = fs_open(fx, ok[i], O_RDONLY);
		if (h < 0)
			fail_msg("open(\"%s\") = %lld", ok[i], (long long)h);
		assert_int_equal(sk_fsrv_read(&fx->files, (int32_t)h, buf,
					      sizeof(buf), -1),
				 2);
		assert_memory_equal(buf, "in", 2);
		assert_int_equal(sk_fsrv_close(&fx->files, (int32_t)h), 0);
	}
	/* A new file through a directory symlink lands inside. */
	h = fs_open(fx, "le/new", O_CREAT | O_WRONLY);
	assert_true(h >= 0);
	assert_true(exists(join(fx->root, "d/e/new")));
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, "le/sub", 0755), 0);
	assert_true(exists(join(fx->root, "d/e/sub")));
	assert_int_equal(sk_fsrv_unlink(&fx->srv, "chain/new"), 0);
	assert_false(exists(join(fx->root, "d/e/new")));

	/* RESOLVE_BENEATH refuses absolute symlinks, even into the root. */
	assert_int_equal(
		symlink(join(fx->root, "d/e/f"), join(fx->root, "absin")), 0);
	assert_int_equal(fs_open(fx, "absin", O_RDONLY), -EACCES);
}

static void test_path_length(void **state)
{
	struct fx *fx = *state;
	char *p = malloc(SK_HMSG_PATH_MAX + 1);

	assert_non_null(p);
	/* "a/a/a/.../a", every component short. */
	for (int i = 0; i < SK_HMSG_PATH_MAX; i++)
		p[i] = i % 2 ? '/' : 'a';
	p[SK_HMSG_PATH_MAX] = '\0';
	assert_int_equal(fs_open(fx, p, O_RDONLY), -ENAMETOOLONG);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, p), -ENAMETOOLONG);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, p, 0755), -ENAMETOOLONG);
	/* The longest path with its NUL: looked up (and not found). */
	p[SK_HMSG_PATH_MAX - 1] = '\0';
	p[SK_HMSG_PATH_MAX - 2] = 'a';
	assert_int_equal(fs_open(fx, p, O_RDONLY), -ENOENT);
	assert_int_equal(sk_fsrv_unlink(&fx->srv, p), -ENOENT);
	assert_int_equal(sk_fsrv_mkdir(&fx->srv, p, 0755), -ENOENT);
	assert_int_equal(fs_open(fx, "", O_RDONLY), -ENOENT);
	assert_int_equal(fs_open(fx, "", O_CREAT | O_WRONLY), -ENOENT);
	free(p);
}

/* ---- flags ---- */

static void test_flags(void **state)
{
	struct fx *fx = *state;
	static const int32_t bad[] = {
		O_PATH,
		O_PATH | O_DIRECTORY,
		O_TMPFILE | O_RDWR,
		O_NOCTTY,
		O_NONBLOCK,
		O_ASYNC,
		O_NOATIME,
		0100000, /* the kernel's O_LARGEFILE on x86-64 */
		O_ACCMODE,
		O_ACCMODE | O_CREAT,
		1 << 30,
		INT32_MIN,
		-1,
	};
	int64_t h;

	put_file(join(fx->root, "f"), "x");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		h = fs_open(fx, "f", bad[i]);
		if (h != -EINVAL)
			fail_msg("flags %#x: %lld, not -EINVAL",
				 (unsigned)bad[i], (long long)h);
		h = fs_open(fx, ".", bad[i] | O_CREAT);
		assert_int_equal(h, -EINVAL);
	}
	/* Refused before anything happens: nothing created. */
	assert_int_equal(fs_open(fx, "new", O_CREAT | O_WRONLY | O_NONBLOCK),
			 -EINVAL);
	assert_false(exists(join(fx->root, "new")));

	/* O_SYNC, O_DSYNC and O_DIRECT go to the host's open (the last as
	 * the file system takes it: tmpfs refuses it, as with the test's
	 * own open). */
	h = fs_open(fx, "f", O_WRONLY | O_SYNC);
	assert_true(h >= 0);
	assert_true(fcntl(fx->files.f[h].fd, F_GETFL) & O_SYNC);
	assert_int_equal(sk_fsrv_close(&fx->files, (int32_t)h), 0);
	h = fs_open(fx, "f", O_WRONLY | O_DSYNC);
	assert_true(h >= 0);
	assert_int_equal(sk_fsrv_close(&fx->files, (int32_t)h), 0);
	{
		int own = open(join(fx->root, "f"), O_RDONLY | O_DIRECT);
		int err = errno;

		h = fs_open(fx, "f", O_RDONLY | O_DIRECT);
		if (own >= 0) {
			close(own);
			assert_true(h >= 0);
			assert_true(fx->files.f[h].direct);
			assert_int_equal(sk_fsrv_close(&fx->files,
						       (int32_t)h), 0);
		} else {
			assert_int_equal(h, -err);
		}
	}

	/* The host's descriptor is close-on-exec whatever the node asks. */
	h = fs_open(fx, "f", O_RDONLY);
	assert_int_equal(h, 0);
	assert_true(fcntl(fx->files.f[0].fd, F_GETFD) & FD_CLOEXEC);
	h = fs_open(fx, "f", O_RDWR | O_CLOEXEC);
	assert_int_equal(h, 1);
	assert_true(fcntl(fx->files.f[1].fd, F_GETFD) & FD_CLOEXEC);

	/* Every allowed flag at once. */
	h = fs_open(fx, "g",
		    O_RDWR | O_CREAT | O_EXCL | O_TRUNC | O_APPEND |
			    O_NOFOLLOW | O_CLOEXEC);
	assert_int_equal(h, 2);
}

/* Opening a FIFO never waits for its other end; reads and writes behave
 * as a blocking descriptor's (skrun makes them on a file thread). */
static void test_fifo_opens_never_block(void **state)
{
	struct fx *fx = *state;
	char buf[8];
	int64_t r, w;

	assert_int_equal(mkfifo(join(fx->root, "fifo"), 0644), 0);
	alarm(10); /* a hang would otherwise stall the whole suite */
	assert_int_equal(fs_open(fx, "fifo", O_WRONLY), -ENXIO);
	r = fs_open(fx, "fifo", O_RDONLY);
	assert_int_equal(r, 0);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, sizeof(buf), -1), 0);
	w = fs_open(fx, "fifo", O_WRONLY);
	assert_int_equal(w, 1);
	/* Not O_NONBLOCK any more: a read without data would wait. */
	assert_int_equal(fcntl(fx->files.f[0].fd, F_GETFL) & O_NONBLOCK, 0);
	assert_int_equal(sk_fsrv_write(&fx->files, 1, "hi", 2, -1), 2);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, sizeof(buf), -1), 2);
	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, 1, 0), -ESPIPE);
	alarm(0);
}

/* ---- handles ---- */

static void test_bad_handles(void **state)
{
	struct fx *fx = *state;
	static const int32_t bad[] = {
		-1,
		INT32_MIN,
		SK_FSRV_MAX_FILES,
		SK_FSRV_MAX_FILES + 1,
		INT32_MAX,
		1,
		5, /* free slots */
	};
	struct sk_hstat st;
	char buf[8];
	size_t used;

	assert_int_equal(fs_open(fx, ".", O_RDONLY | O_DIRECTORY), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int32_t h = bad[i];

		assert_int_equal(sk_fsrv_close(&fx->files, h), -EBADF);
		assert_int_equal(sk_fsrv_read(&fx->files, h, buf, 1, -1),
				 -EBADF);
		assert_int_equal(sk_fsrv_write(&fx->files, h, buf, 1, 0),
				 -EBADF);
		assert_int_equal(sk_fsrv_lseek(&fx->files, h, 0, SEEK_SET),
				 -EBADF);
		assert_int_equal(sk_fsrv_fstat(&fx->files, h, &st), -EBADF);
		assert_int_equal(
			sk_fsrv_readdir(&fx->files, h, buf, sizeof(buf), &used),
			-EBADF);
	}
	/* A closed handle is as bad as one never opened. */
	assert_int_equal(sk_fsrv_close(&fx->files, 0), 0);
	assert_int_equal(sk_fsrv_fstat(&fx->files, 0, &st), -EBADF);
	assert_int_equal(sk_fsrv_close(&fx->files, 0), -EBADF);
}

static void test_emfile(void **state)
{
	struct fx *fx = *state;
	struct rlimit rl;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_cur < SK_FSRV_MAX_FILES + 64) {
		rl.rlim_cur = SK_FSRV_MAX_FILES + 64;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			skip();
	}
	put_file(join(fx->root, "f"), "x");
	for (int i = 0; i < SK_FSRV_MAX_FILES; i++)
		assert_int_equal(fs_open(fx, "f", O_RDONLY), i);
	assert_int_equal(fs_open(fx, "f", O_RDONLY), -EMFILE);
	/* Full: O_CREAT creates nothing. */
	assert_int_equal(fs_open(fx, "new", O_CREAT | O_WRONLY), -EMFILE);
	assert_false(exists(join(fx->root, "new")));
	/* The lowest free slot comes back first. */
	assert_int_equal(sk_fsrv_close(&fx->files, 200), 0);
	assert_int_equal(sk_fsrv_close(&fx->files, 17), 0);
	assert_int_equal(fs_open(fx, "f", O_RDONLY), 17);
	assert_int_equal(fs_open(fx, "f", O_RDONLY), 200);
	assert_int_equal(fs_open(fx, "f", O_RDONLY), -EMFILE);
}

/* One node's handles mean nothing in another's table. */
static void test_tables_isolated(void **state)
{
	struct fx *fx = *state;
	struct sk_fsrv_files *b = malloc(sizeof(*b));
	struct sk_hstat st;
	char buf[16];

	assert_non_null(b);
	sk_fsrv_files_init(b);
	assert_int_equal(sk_fsrv_open(&fx->srv, &fx->files, "a.txt",
				      O_CREAT | O_RDWR, 0644),
			 0);
	assert_int_equal(sk_fsrv_write(&fx->files, 0, "from a", 6, -1), 6);

	assert_int_equal(sk_fsrv_read(b, 0, buf, sizeof(buf), 0), -EBADF);
	assert_int_equal(sk_fsrv_write(b, 0, "x", 1, 0), -EBADF);
	assert_int_equal(sk_fsrv_fstat(b, 0, &st), -EBADF);
	assert_int_equal(sk_fsrv_lseek(b, 0, 0, SEEK_SET), -EBADF);
	assert_int_equal(sk_fsrv_close(b, 0), -EBADF);

	/* b's handle 0 is its own file. */
	assert_int_equal(
		sk_fsrv_open(&fx->srv, b, "b.txt", O_CREAT | O_RDWR, 0644), 0);
	assert_int_equal(sk_fsrv_write(b, 0, "from b", 6, -1), 6);
	assert_int_equal(sk_fsrv_close(b, 0), 0);
	sk_fsrv_files_cleanup(b);
	free(b);

	assert_int_equal(sk_fsrv_read(&fx->files, 0, buf, sizeof(buf), 0), 6);
	assert_memory_equal(buf, "from a", 6);
	assert_string_equal(file_text(join(fx->root, "b.txt")), "from b");

	/* And a server's paths are its own root's. */
	{
		struct sk_fsrv other;
		char err[64];

		assert_int_equal(
			sk_fsrv_init(&other, fx->outside, err, sizeof(err)), 0);
		assert_int_equal(
			sk_fsrv_open(&other, &fx->files, "secret", O_RDONLY, 0),
			1);
		assert_int_equal(fs_open(fx, "secret", O_RDONLY), -ENOENT);
		assert_int_equal(sk_fsrv_open(&other, &fx->files,
					      "../root/a.txt", O_RDONLY, 0),
				 -EACCES);
		sk_fsrv_cleanup(&other);
	}
}

/* Cleanup closes every host descriptor, directories included. */
static void test_files_cleanup(void **state)
{
	struct fx *fx = *state;
	int raw[4];
	uint8_t buf[64];
	size_t used;

	put_file(join(fx->root, "f"), "x");
	assert_int_equal(fs_open(fx, "f", O_RDONLY), 0);
	assert_int_equal(fs_open(fx, ".", O_RDONLY | O_DIRECTORY), 1);
	assert_int_equal(fs_open(fx, ".", O_RDONLY | O_DIRECTORY), 2);
	assert_int_equal(fs_open(fx, "f", O_WRONLY), 3);
	assert_int_equal(
		sk_fsrv_readdir(&fx->files, 1, buf, sizeof(buf), &used), 1);
	assert_int_equal(sk_fsrv_close(&fx->files, 3), 0);
	for (int i = 0; i < 4; i++)
		raw[i] = fx->files.f[i].fd;
	assert_int_equal(raw[3], -1);
	sk_fsrv_files_cleanup(&fx->files);
	for (int i = 0; i < 3; i++)
		assert_false(host_fd_open(raw[i]));
	for (int i = 0; i < SK_FSRV_MAX_FILES; i++) {
		assert_int_equal(fx->files.f[i].fd, -1);
		assert_null(fx->files.f[i].dir);
	}
	/* The table works again afterwards. */
	assert_int_equal(fs_open(fx, "f", O_RDONLY), 0);
}

/* sk_fsrv_write_key: one key for every handle of a regular file, any
 * node's; another file's differs; none for anything else. */
static void test_write_key(void **state)
{
	struct fx *fx = *state;
	struct sk_fsrv_files *b = malloc(sizeof(*b));
	uint64_t k;

	assert_non_null(b);
	sk_fsrv_files_init(b);
	assert_int_equal(fs_open(fx, "k1", O_CREAT | O_RDWR), 0);
	assert_int_equal(fs_open(fx, "k1", O_RDONLY), 1);
	assert_int_equal(fs_open(fx, "k2", O_CREAT | O_RDWR), 2);
	assert_int_equal(mkdir(join(fx->root, "kd"), 0755), 0);
	assert_int_equal(fs_open(fx, "kd", O_RDONLY | O_DIRECTORY), 3);
	assert_int_equal(mkfifo(join(fx->root, "kf"), 0600), 0);
	assert_int_equal(fs_open(fx, "kf", O_RDWR), 4);
	assert_int_equal(sk_fsrv_open(&fx->srv, b, "k1", O_WRONLY, 0), 0);
	k = sk_fsrv_write_key(&fx->files, 0);
	assert_int_not_equal(k, 0);
	assert_int_equal(sk_fsrv_write_key(&fx->files, 1), k);
	assert_int_equal(sk_fsrv_write_key(b, 0), k);
	assert_int_not_equal(sk_fsrv_write_key(&fx->files, 2), 0);
	assert_int_not_equal(sk_fsrv_write_key(&fx->files, 2), k);
	assert_int_equal(sk_fsrv_write_key(&fx->files, 3), 0);
	assert_int_equal(sk_fsrv_write_key(&fx->files, 4), 0);
	/* Closed, never open, out of range. */
	assert_int_equal(sk_fsrv_close(&fx->files, 1), 0);
	assert_int_equal(sk_fsrv_write_key(&fx->files, 1), 0);
	assert_int_equal(sk_fsrv_write_key(&fx->files, 9), 0);
	assert_int_equal(sk_fsrv_write_key(&fx->files, -1), 0);
	assert_int_equal(sk_fsrv_write_key(&fx->files, SK_FSRV_MAX_FILES), 0);
	sk_fsrv_files_cleanup(b);
	free(b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init),
		T(test_root_slash),
		T(test_write_read_back),
		T(test_big_io),
		T(test_write_all),
		T(test_write_key),
		T(test_bad_offsets_and_whence),
		T(test_fstat),
		T(test_unlink),
		T(test_mkdir),
		T(test_readdir_many),
		T(test_readdir_cap),
		T(test_readdir_and_dirs),
		T(test_dotdot),
		T(test_absolute_paths),
		T(test_symlinks_out),
		T(test_symlinks_in),
		T(test_path_length),
		T(test_flags),
		T(test_fifo_opens_never_block),
		T(test_bad_handles),
		T(test_emfile),
		T(test_tables_isolated),
		T(test_files_cleanup),
	};

	umask(022);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
