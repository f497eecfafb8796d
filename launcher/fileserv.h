/*
 * The host's file service: POSIX file operations on behalf of nodes,
 * confined to one directory tree (the job's working directory or skrun's
 * --root).
 *
 * Every path comes from a node and is resolved beneath the root with
 * openat2(RESOLVE_BENEATH): "..", absolute paths outside the root and
 * symlinks that point out are refused with -EACCES (absolute symlinks are,
 * even when they point back in). An absolute path inside the root is
 * accepted and made relative. Handles are small integers private to one
 * node's table, so a node can neither see nor close another node's files,
 * nor the host's.
 *
 * Every function returns >= 0 on success or a negated errno; none of them
 * touches the fabric, so skrun runs them on its file threads (fileq.h).
 * One node's table is used by one thread at a time; the root is only read.
 */
#ifndef SKIFF_LAUNCHER_FILESERV_H
#define SKIFF_LAUNCHER_FILESERV_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <skiff/hostproto.h>

/* Open files per node. */
#define SK_FSRV_MAX_FILES 256

struct sk_fsrv {
	int   root_fd;   /* O_PATH|O_DIRECTORY descriptor of the root */
	char *root;      /* its absolute, symlink-free path */
	int   no_openat2; /* errno of openat2(2) refused here (ENOSYS under
			   * an old kernel or a seccomp filter), else 0 */
};

struct sk_fsrv_file {
	int  fd;     /* host descriptor, -1 when the slot is free */
	DIR *dir;    /* set by the first READDIR on a directory */
	bool direct; /* opened O_DIRECT */
	uint64_t wkey; /* its file's, for sk_fsrv_write_key */
};

/* One node's open files. */
struct sk_fsrv_files {
	struct sk_fsrv_file f[SK_FSRV_MAX_FILES];
};

/* Open @root (NULL: the current directory). Returns 0, or -errno with a
 * message in @err ("--root 'x': No such file or directory"). Where this
 * system refuses openat2(2), which every path below the root goes through,
 * it still returns 0 with srv->no_openat2 set: the job runs, and each of
 * its nodes' path calls fails with that errno (the caller says why). */
int sk_fsrv_init(struct sk_fsrv *srv, const char *root, char *err,
		 size_t errlen);
void sk_fsrv_cleanup(struct sk_fsrv *srv);

void sk_fsrv_files_init(struct sk_fsrv_files *files);
/* Close everything a node left open (its exit, or the job's end). */
void sk_fsrv_files_cleanup(struct sk_fsrv_files *files);

/* @flags: O_RDONLY/O_WRONLY/O_RDWR with O_CREAT, O_EXCL, O_TRUNC, O_APPEND,
 * O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_DIRECT, O_SYNC, O_DSYNC; anything
 * else is -EINVAL. @mode is masked to 0777. Returns the node's handle. An
 * O_DIRECT file's reads and writes go through host memory aligned to 4
 * KiB, so its offsets and lengths meet the file system's rules or get
 * EINVAL, as the node's own would. */
int64_t sk_fsrv_open(struct sk_fsrv *srv, struct sk_fsrv_files *files,
		     const char *path, int32_t flags, uint32_t mode);
int64_t sk_fsrv_close(struct sk_fsrv_files *files, int32_t fd);
/* Not 0 for a regular file opened without O_DIRECT: the same for every
 * handle (any node's) of one file, so that skrun runs its writes one at a
 * time (fileq.h's keys) rather than have its threads spin on the file's
 * lock. 0 for anything else, or a handle not open. */
uint64_t sk_fsrv_write_key(const struct sk_fsrv_files *files, int32_t fd);
/* @offset -1: at (and advancing) the file position; else pread/pwrite. */
int64_t sk_fsrv_read(struct sk_fsrv_files *files, int32_t fd, void *buf,
		     size_t len, int64_t offset);
int64_t sk_fsrv_write(struct sk_fsrv_files *files, int32_t fd,
		      const void *buf, size_t len, int64_t offset);
/* A write at @offset (>= 0) of all @len bytes: a short write(2) goes on
 * from where it stopped, and its failure is the result. */
int64_t sk_fsrv_write_all(struct sk_fsrv_files *files, int32_t fd,
			  const void *buf, size_t len, int64_t offset);
int64_t sk_fsrv_lseek(struct sk_fsrv_files *files, int32_t fd,
		      int64_t offset, int32_t whence);
int64_t sk_fsrv_fstat(struct sk_fsrv_files *files, int32_t fd,
		      struct sk_hstat *st);
/* stat(2) of @path beneath the root (symlinks followed, beneath it). */
int64_t sk_fsrv_stat(struct sk_fsrv *srv, const char *path,
		     struct sk_hstat *st);
/* fsync(2), or fdatasync(2) when @data. */
int64_t sk_fsrv_fsync(struct sk_fsrv_files *files, int32_t fd, bool data);
int64_t sk_fsrv_ftruncate(struct sk_fsrv_files *files, int32_t fd,
			  int64_t length);
/* rename(2), both paths beneath the root. */
int64_t sk_fsrv_rename(struct sk_fsrv *srv, const char *from, const char *to);
int64_t sk_fsrv_unlink(struct sk_fsrv *srv, const char *path);
int64_t sk_fsrv_mkdir(struct sk_fsrv *srv, const char *path, uint32_t mode);
/* Pack as many entries of directory handle @fd (skipping "." and "..") as
 * fit in @cap bytes, each u8 d_type then the name and its NUL, into @buf;
 * *@used_p is the bytes written. Returns the entry count; 0 at the end. */
int64_t sk_fsrv_readdir(struct sk_fsrv_files *files, int32_t fd, void *buf,
			size_t cap, size_t *used_p);

#endif /* SKIFF_LAUNCHER_FILESERV_H */
