/*
 * Files of a node, served by the host (skrun's file service) over the
 * fabric. The API is POSIX's with an sk_ prefix, and sk_fopen() gives a
 * stdio FILE * on top of it, so fprintf, fgets and fread work unchanged.
 *
 * Paths are relative to the job's root on the host (skrun's working
 * directory, or its --root); the host refuses paths that escape it.
 * Small transfers travel inside messages; larger ones go in chunks of up to
 * 1 MiB, four at a time, through the host's buffer for this node (mapped
 * here where both are on one host, else moved by RDMA from a bounce
 * region or, for large ones, from the caller's own buffer).
 *
 * Writes left behind: a write to a handle without O_DIRECT, O_SYNC, O_DSYNC
 * or O_APPEND, once this node knows the handle's position, returns once
 * its bytes are sent (up to 16 KiB, inside the message; larger, on one
 * host, copied to the host's buffer), as write(2) returns once they are
 * in the page cache; on one host, a write that goes on from the last one
 * is added to its chunk while the host has not started it. This node's
 * own later calls see them (every other file call
 * waits for them first). Another node sees them after this one's
 * sk_close, sk_fsync or sk_os_barrier (MPI-IO's "sync, barrier" rule).
 * If one fails (ENOSPC, EIO), the next sk_write, sk_read, sk_fsync or
 * sk_close of that handle fails with its errno, as on NFS; the return
 * value of a write already returned is not changed.
 *
 * Every call blocks the calling (main) thread while it serves the node's
 * loop, and returns -1 with errno set on failure, as POSIX does. ENOSYS
 * means the process did not boot as a node.
 */
#ifndef SKIFF_FILE_H
#define SKIFF_FILE_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sk_stat {
	uint64_t size;
	uint64_t mtime_ns;
	uint64_t ino;
	uint32_t mode;
	uint32_t nlink;
};

int sk_open(const char *path, int flags, ...);
int sk_close(int fd);
ssize_t sk_read(int fd, void *buf, size_t len);
ssize_t sk_write(int fd, const void *buf, size_t len);
ssize_t sk_pread(int fd, void *buf, size_t len, off_t offset);
ssize_t sk_pwrite(int fd, const void *buf, size_t len, off_t offset);

/*
 * File memory, as MPI_Alloc_mem gives memory for RDMA: where the host
 * shares this machine, a buffer from sk_file_alloc is memory the host's
 * file threads reach themselves, so sk_read/sk_pread into it and
 * sk_write/sk_pwrite from it move each byte once (the host's pread(2) or
 * pwrite(2) on the buffer itself), with no copy on this node. Such a
 * transfer returns when the host is done with the buffer (no write left
 * behind, no read-ahead). Blocks are page-aligned (O_DIRECT's rule).
 * skrun gives each node SKIFF_FILE_MEM_MB of it (64 MiB, less past 64
 * nodes), in at most 255 blocks at once; when it is used up, past those
 * blocks, or on another host or over RDMA,
 * sk_file_alloc returns ordinary page-aligned memory, which every call
 * takes as any buffer. NULL with errno ENOMEM when there is no memory at
 * all. Free only with sk_file_free (NULL is ignored). malloc's blocks of
 * SKIFF_FILE_MALLOC_KB (512) or more come from the same memory while it
 * lasts (libos/README.md, "File memory"): large transfers from and into
 * them move with no copy on this node too.
 */
void *sk_file_alloc(size_t len);
void sk_file_free(void *p);
off_t sk_lseek(int fd, off_t offset, int whence);
int sk_fstat(int fd, struct sk_stat *st);
int sk_stat(const char *path, struct sk_stat *st);
int sk_fsync(int fd);
int sk_fdatasync(int fd);
/*
 * A collective flush, as MPI_File_sync then MPI_Barrier: every node of the
 * job calls it (each on its own handle, of one file or not); when it
 * returns on any node, every node's writes are in its file and fsynced on
 * the host. Returns this node's fsync result (0, or -1 with errno), or -1
 * with ENOTCONN when the barrier cannot be reached.
 */
int sk_fsync_all(int fd);
int sk_ftruncate(int fd, off_t length);
int sk_unlink(const char *path);
int sk_rename(const char *from, const char *to);
int sk_mkdir(const char *path, mode_t mode);

/* Directories: open with sk_opendir, then sk_readdir returns entries
 * (d_name and d_type filled; valid until the next call) and NULL at the
 * end or on error (errno then set). */
struct sk_dir;
struct sk_dir *sk_opendir(const char *path);
struct dirent *sk_readdir(struct sk_dir *dir);
int sk_closedir(struct sk_dir *dir);

/* A stdio stream over a host file; @mode as fopen's ("r", "w+", "a"...).
 * Close it with fclose(). */
FILE *sk_fopen(const char *path, const char *mode);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_FILE_H */
