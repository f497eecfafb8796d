/*
 * The host's file service (fileserv.h): a node's open, read, write and the
 * rest, carried out by skrun on the node's behalf beneath one root.
 *
 * Confinement rests on the kernel, not on string checks. Every path is
 * resolved by openat2(2) from the root's descriptor with RESOLVE_BENEATH,
 * which refuses, within the lookup itself, any ".." that climbs above the
 * root and any symlink, at any depth, that leads out of it. Checking by hand
 * (realpath, then compare prefixes) would leave a window between check and
 * use in which a symlink swapped in by anything on the host escapes. The
 * price: absolute symlinks are refused even when they point back inside the
 * root; relative ones work.
 *
 * The only string work is on absolute paths: one that names the root or
 * something under it is made relative to the root, any other is refused.
 * unlink and mkdir act on a name in a directory, so they resolve the parent
 * beneath the root and hand the last component to unlinkat/mkdirat, which
 * never follow it.
 *
 * Handles are indexes into the node's own table; the host descriptors
 * behind them never leave this file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "fileserv.h"

#ifndef SYS_openat2
#define SYS_openat2 437 /* the same on every architecture */
#endif

/*
 * What a node may ask of open. The values are the host's; on x86-64 they
 * are also the wire's (hostproto.h). Everything else (O_PATH, O_TMPFILE,
 * O_NONBLOCK, O_ASYNC, ...) is refused rather than passed on.
 */
#define OPEN_FLAGS_OK                                                          \
	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY |     \
	 O_NOFOLLOW | O_CLOEXEC | O_DIRECT | O_SYNC | O_DSYNC)

/* O_DIRECT's memory alignment on the host's side: its buffers for a
 * node's data are aligned to this, or the bytes are copied through one
 * that is, so that only the node's offset and length (Linux's rules for
 * its file system) decide whether a transfer is EINVAL. */
#define DIRECT_ALIGN 4096u

/*
 * Added to every open. O_NONBLOCK so that the open itself never waits:
 * a FIFO without its other end opens at once for reading (and reads end
 * of file) and is -ENXIO for writing, as with O_NONBLOCK. The flag is
 * then taken off: skrun runs these calls on its file threads (fileq.h),
 * where a read or write that waits (a FIFO with a writer but no data yet)
 * holds up only the node that asked, as its own read would.
 */
#define OPEN_FLAGS_HOST (O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/* openat2() fails with EAGAIN when a concurrent rename kept it from proving
 * that a ".." stayed beneath the root; the man page says to retry. */
#define OPENAT2_TRIES 8

/*
 * Make @path relative to the root in *@rel_p (a pointer into @path, or
 * "."), or refuse it: too long, empty, or absolute and outside the root.
 * The node may repeat slashes; the root (from realpath) never does.
 */
static int relative(const struct sk_fsrv *srv, const char *path,
		    const char **rel_p)
{
	const char *p = path, *r = srv->root;

	if (path == NULL)
		return -EFAULT;
	if (strnlen(path, SK_HMSG_PATH_MAX) == SK_HMSG_PATH_MAX)
		return -ENAMETOOLONG;
	if (*path == '\0')
		return -ENOENT;
	if (*path != '/') {
		*rel_p = path;
		return 0;
	}
	while (*r != '\0') {
		if (*r == '/') {
			if (*p != '/')
				return -EACCES;
			while (*p == '/')
				p++;
			r++;
		} else if (*p++ != *r++) {
			return -EACCES;
		}
	}
	/* "/srv/rootx" is not under "/srv/root" (but "/x" is under "/"). */
	if (r[-1] != '/' && *p != '/' && *p != '\0')
		return -EACCES;
	while (*p == '/')
		p++;
	*rel_p = *p != '\0' ? p : ".";
	return 0;
}

/* openat2(@rel) beneath the root. An escape (EXDEV) is -EACCES to the node:
 * the path exists or not, it is simply not the node's to see. */
static int open_beneath(const struct sk_fsrv *srv, const char *rel, int flags,
			mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(uint32_t)flags,
		.mode = mode,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	int tries = 0;
	long fd;

	for (;;) {
		fd = syscall(SYS_openat2, srv->root_fd, rel, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && ++tries < OPENAT2_TRIES)
			continue;
		return errno == EXDEV ? -EACCES : -errno;
	}
}

/*
 * Open, beneath the root, the directory that holds the last component of
 * @rel, and point *@last_p at that component inside @buf (a copy of @rel,
 * SK_HMSG_PATH_MAX bytes). Trailing slashes are dropped: "a/b/" is "b" in
 * "a". A last component of "." is -EINVAL (as rmdir(".")); ".." is -EACCES,
 * since in the root it names the root's parent, which the *at() calls would
 * reach without any beneath check.
 */
static int open_parent(const struct sk_fsrv *srv, const char *rel, char *buf,
		       const char **last_p)
{
	const char *parent = ".";
	char *end, *last;

	/* relative() has bounded the length and made @rel[0] not '/'. */
	strcpy(buf, rel);
	end = buf + strlen(buf);
	while (end > buf + 1 && end[-1] == '/')
		*--end = '\0';
	last = strrchr(buf, '/');
	if (last == NULL) {
		last = buf;
	} else {
		*last++ = '\0';
		parent = buf;
	}
	if (strcmp(last, ".") == 0)
		return -EINVAL;
	if (strcmp(last, "..") == 0)
		return -EACCES;
	*last_p = last;
	return open_beneath(srv, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

static struct sk_fsrv_file *handle(struct sk_fsrv_files *files, int32_t fd)
{
	if (fd < 0 || fd >= SK_FSRV_MAX_FILES || files->f[fd].fd < 0)
		return NULL;
	return &files->f[fd];
}

int sk_fsrv_init(struct sk_fsrv *srv, const char *root, char *err,
		 size_t errlen)
{
	int ret;

	srv->root_fd = -1;
	if (root == NULL)
		root = ".";
	srv->root = realpath(root, NULL);
	if (srv->root == NULL)
		goto fail;
	srv->root_fd = open(srv->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (srv->root_fd < 0)
		goto fail;
	/* openat2 arrived in Linux 5.6; a container's seccomp profile may
	 * still refuse it. Without it nothing below the root opens. */
	srv->no_openat2 = 0;
	ret = open_beneath(srv, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (ret >= 0)
		close(ret);
	else if (ret == -ENOSYS || ret == -EPERM)
		srv->no_openat2 = -ret;
	return 0;

fail:
	ret = -errno;
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "--root '%s': %s", root, strerror(-ret));
	free(srv->root);
	srv->root = NULL;
	return ret;
}

void sk_fsrv_cleanup(struct sk_fsrv *srv)
{
	if (srv->root_fd >= 0)
		close(srv->root_fd);
	srv->root_fd = -1;
	free(srv->root);
	srv->root = NULL;
}

void sk_fsrv_files_init(struct sk_fsrv_files *files)
{
	for (int i = 0; i < SK_FSRV_MAX_FILES; i++) {
		files->f[i].fd = -1;
		files->f[i].dir = NULL;
	}
}

void sk_fsrv_files_cleanup(struct sk_fsrv_files *files)
{
	for (int i = 0; i < SK_FSRV_MAX_FILES; i++)
		if (files->f[i].fd >= 0)
			sk_fsrv_close(files, i);
}

/* sk_fsrv_write_key's: the file's device and inode, mixed (two files
 * that collide only share a queue), never 0. */
static uint64_t file_key(int fd, int32_t flags)
{
	struct stat st;

	if ((flags & O_DIRECT) || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return ((uint64_t)st.st_ino * 0x9e3779b97f4a7c15ull ^
		(uint64_t)st.st_dev) | 1;
}

int64_t sk_fsrv_open(struct sk_fsrv *srv, struct sk_fsrv_files *files,
		     const char *path, int32_t flags, uint32_t mode)
{
	const char *rel;
	int h, fd, ret;

	if ((flags & ~OPEN_FLAGS_OK) != 0 || (flags & O_ACCMODE) == O_ACCMODE)
		return -EINVAL;
	ret = relative(srv, path, &rel);
	if (ret < 0)
		return ret;
	for (h = 0; h < SK_FSRV_MAX_FILES; h++)
		if (files->f[h].fd < 0)
			break;
	if (h == SK_FSRV_MAX_FILES)
		return -EMFILE;
	/* openat2() insists on a zero mode unless it creates. */
	fd = open_beneath(srv, rel, flags | OPEN_FLAGS_HOST,
			  flags & O_CREAT ? mode & 0777 : 0);
	if (fd < 0)
		return fd;
	ret = fcntl(fd, F_GETFL);
	if (ret < 0 || fcntl(fd, F_SETFL, ret & ~O_NONBLOCK) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	files->f[h].fd = fd;
	files->f[h].dir = NULL;
	files->f[h].direct = (flags & O_DIRECT) != 0;
	files->f[h].wkey = file_key(fd, flags);
	return h;
}

uint64_t sk_fsrv_write_key(const struct sk_fsrv_files *files, int32_t fd)
{
	if (fd < 0 || fd >= SK_FSRV_MAX_FILES || files->f[fd].fd < 0)
		return 0;
	return files->f[fd].wkey;
}

int64_t sk_fsrv_close(struct sk_fsrv_files *files, int32_t fd)
{
	struct sk_fsrv_file *f = handle(files, fd);
	int ret;

	if (f == NULL)
		return -EBADF;
	/* fdopendir() took the descriptor over: closedir() closes it. */
	ret = f->dir != NULL ? closedir(f->dir) : close(f->fd);
	f->fd = -1;
	f->dir = NULL;
	/* Linux frees the descriptor even when close fails, so the slot is
	 * free either way; after EINTR there is nothing left to report. */
	if (ret < 0 && errno != EINTR)
		return -errno;
	return 0;
}

/* An O_DIRECT file's transfer whose host buffer is not aligned goes
 * through an aligned copy; NULL when none is needed (or none could be
 * had: then the kernel says what it says). */
static void *direct_copy(const struct sk_fsrv_file *f, const void *buf,
			 size_t len)
{
	if (!f->direct || len == 0 || (uintptr_t)buf % DIRECT_ALIGN == 0)
		return NULL;
	return aligned_alloc(DIRECT_ALIGN,
			     (len + DIRECT_ALIGN - 1) / DIRECT_ALIGN *
				     DIRECT_ALIGN);
}

int64_t sk_fsrv_read(struct sk_fsrv_files *files, int32_t fd, void *buf,
		     size_t len, int64_t offset)
{
	struct sk_fsrv_file *f = handle(files, fd);
	void *tmp, *to;
	ssize_t n;

	if (f == NULL)
		return -EBADF;
	if (offset < -1)
		return -EINVAL;
	tmp = direct_copy(f, buf, len);
	to = tmp ? tmp : buf;
	do {
		if (offset == -1)
			n = read(f->fd, to, len);
		else
			n = pread(f->fd, to, len, (off_t)offset);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	else if (tmp)
		memcpy(buf, tmp, (size_t)n);
	free(tmp);
	return n;
}

int64_t sk_fsrv_write(struct sk_fsrv_files *files, int32_t fd, const void *buf,
		      size_t len, int64_t offset)
{
	struct sk_fsrv_file *f = handle(files, fd);
	void *tmp;
	ssize_t n;

	if (f == NULL)
		return -EBADF;
	if (offset < -1)
		return -EINVAL;
	tmp = direct_copy(f, buf, len);
	if (tmp) {
		memcpy(tmp, buf, len);
		buf = tmp;
	}
	do {
		if (offset == -1)
			n = write(f->fd, buf, len);
		else
			n = pwrite(f->fd, buf, len, (off_t)offset);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	free(tmp);
	return n;
}

int64_t sk_fsrv_write_all(struct sk_fsrv_files *files, int32_t fd,
			  const void *buf, size_t len, int64_t offset)
{
	size_t done = 0;
	int64_t n;

	if (offset < 0)
		return -EINVAL;
	do {
		n = sk_fsrv_write(files, fd, (const char *)buf + done,
				  len - done, offset + (int64_t)done);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO; /* no progress and no reason */
		done += (size_t)n;
	} while (done < len);
	return (int64_t)done;
}

int64_t sk_fsrv_lseek(struct sk_fsrv_files *files, int32_t fd, int64_t offset,
		      int32_t whence)
{
	struct sk_fsrv_file *f = handle(files, fd);
	off_t pos;

	if (f == NULL)
		return -EBADF;
	if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
		return -EINVAL;
	pos = lseek(f->fd, (off_t)offset, whence);
	return pos < 0 ? -errno : pos;
}

static void fill_stat(const struct stat *sb, struct sk_hstat *st)
{
	memset(st, 0, sizeof(*st));
	st->size = (uint64_t)sb->st_size;
	st->mtime_ns = (uint64_t)sb->st_mtim.tv_sec * 1000000000u +
		       (uint64_t)sb->st_mtim.tv_nsec;
	st->ino = (uint64_t)sb->st_ino;
	st->mode = (uint32_t)sb->st_mode;
	st->nlink = (uint32_t)sb->st_nlink;
}

int64_t sk_fsrv_fstat(struct sk_fsrv_files *files, int32_t fd,
		      struct sk_hstat *st)
{
	struct sk_fsrv_file *f = handle(files, fd);
	struct stat sb;

	if (f == NULL)
		return -EBADF;
	if (fstat(f->fd, &sb) < 0)
		return -errno;
	fill_stat(&sb, st);
	return 0;
}

int64_t sk_fsrv_stat(struct sk_fsrv *srv, const char *path,
		     struct sk_hstat *st)
{
	const char *rel;
	struct stat sb;
	int fd, ret;

	ret = relative(srv, path, &rel);
	if (ret < 0)
		return ret;
	/* O_PATH: a file the host could not read still has its status,
	 * as stat(2) needs no permission on the file itself. */
	fd = open_beneath(srv, rel, O_PATH | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	ret = fstat(fd, &sb) < 0 ? -errno : 0;
	close(fd);
	if (ret == 0)
		fill_stat(&sb, st);
	return ret;
}

int64_t sk_fsrv_fsync(struct sk_fsrv_files *files, int32_t fd, bool data)
{
	struct sk_fsrv_file *f = handle(files, fd);

	if (f == NULL)
		return -EBADF;
	return (data ? fdatasync(f->fd) : fsync(f->fd)) < 0 ? -errno : 0;
}

int64_t sk_fsrv_ftruncate(struct sk_fsrv_files *files, int32_t fd,
			  int64_t length)
{
	struct sk_fsrv_file *f = handle(files, fd);

	if (f == NULL)
		return -EBADF;
	return ftruncate(f->fd, (off_t)length) < 0 ? -errno : 0;
}

int64_t sk_fsrv_rename(struct sk_fsrv *srv, const char *from, const char *to)
{
	char buf1[SK_HMSG_PATH_MAX], buf2[SK_HMSG_PATH_MAX];
	const char *rel1, *rel2, *last1, *last2;
	int pfd1, pfd2, ret;

	ret = relative(srv, from, &rel1);
	if (ret == 0)
		ret = relative(srv, to, &rel2);
	if (ret < 0)
		return ret;
	pfd1 = open_parent(srv, rel1, buf1, &last1);
	if (pfd1 < 0)
		return pfd1;
	pfd2 = open_parent(srv, rel2, buf2, &last2);
	if (pfd2 < 0) {
		close(pfd1);
		return pfd2;
	}
	/* Both parents are beneath the root, and renameat follows no
	 * symlink in the last components: it moves a link, not its
	 * target. */
	ret = renameat(pfd1, last1, pfd2, last2) < 0 ? -errno : 0;
	close(pfd1);
	close(pfd2);
	return ret;
}

int64_t sk_fsrv_unlink(struct sk_fsrv *srv, const char *path)
{
	char buf[SK_HMSG_PATH_MAX];
	const char *rel, *last;
	int pfd, ret;

	ret = relative(srv, path, &rel);
	if (ret < 0)
		return ret;
	/*
	 * unlink("x/") never removes anything: as unlink(2), it is -EISDIR if
	 * x resolves to a directory (the beneath check included), otherwise
	 * whatever opening it as one says (-ENOTDIR, -ENOENT, -EACCES).
	 */
	if (rel[strlen(rel) - 1] == '/') {
		pfd = open_beneath(srv, rel, O_PATH | O_DIRECTORY | O_CLOEXEC,
				   0);
		if (pfd < 0)
			return pfd;
		close(pfd);
		return -EISDIR;
	}
	pfd = open_parent(srv, rel, buf, &last);
	if (pfd < 0)
		return pfd;
	/* Linux says EISDIR for a directory, as the node's unlink(2) would. */
	ret = unlinkat(pfd, last, 0) < 0 ? -errno : 0;
	close(pfd);
	return ret;
}

int64_t sk_fsrv_mkdir(struct sk_fsrv *srv, const char *path, uint32_t mode)
{
	char buf[SK_HMSG_PATH_MAX];
	const char *rel, *last;
	int pfd, ret;

	ret = relative(srv, path, &rel);
	if (ret < 0)
		return ret;
	pfd = open_parent(srv, rel, buf, &last);
	if (pfd < 0)
		return pfd;
	ret = mkdirat(pfd, last, mode & 0777) < 0 ? -errno : 0;
	close(pfd);
	return ret;
}

int64_t sk_fsrv_readdir(struct sk_fsrv_files *files, int32_t fd, void *buf,
			size_t cap, size_t *used_p)
{
	struct sk_fsrv_file *f = handle(files, fd);
	uint8_t *out = buf;
	int64_t count = 0;
	size_t used = 0;

	*used_p = 0;
	if (f == NULL)
		return -EBADF;
	if (f->dir == NULL) {
		/* Fails with ENOTDIR unless the handle is a directory. */
		f->dir = fdopendir(f->fd);
		if (f->dir == NULL)
			return -errno;
	}
	for (;;) {
		long pos = telldir(f->dir);
		struct dirent *de;
		size_t need;

		errno = 0;
		de = readdir(f->dir);
		if (de == NULL) {
			/* An error after some entries waits for the next
			 * call, which meets it again before any entry. */
			if (errno != 0 && count == 0)
				return -errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		need = 1 + strlen(de->d_name) + 1;
		if (need > cap - used) {
			/* Put it back for the next call. */
			seekdir(f->dir, pos);
			if (count == 0)
				return -EINVAL; /* @cap holds not even one */
			break;
		}
		out[used] = de->d_type;
		memcpy(out + used + 1, de->d_name, need - 1);
		used += need;
		count++;
	}
	*used_p = used;
	return count;
}
