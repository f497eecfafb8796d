/*
 * A node's files: each call is one request to the host's file service
 * (hostproto.h), or, for bulk data, one request per chunk (the job's, from
 * BOOT; through the bounce region at most SK_HMSG_BOUNCE_CHUNK).
 *
 * Small transfers ride inside the messages. Large ones use the node's bounce
 * buffer, a region of the arena registered on its own for the host to read
 * and write (and the only memory of the node it has a key for): for a read the host RDMA-writes the chunk there and
 * then replies; for a write the node copies the chunk there and the host
 * RDMA-reads it before writing the file. The reply arrives only after the
 * host's RDMA operation has completed, so the bounce buffer is never reused
 * while the host still touches it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/config.h>
#include <skiff/file.h>

#include "fmem.h"
#include "node.h"

/* Largest read whose bytes come back inside the reply. */
#define SK_FILE_INLINE_MAX SK_HMSG_PAYLOAD_MAX
SK_CONFIG_USES(sk_os_config);

/* The smallest transfer that registers the caller's buffer instead of
 * copying through the bounce region (zero-copy): SKIFF_FILE_ZCOPY_KB, read
 * once; 0 never. */
static size_t sk_file_zcopy_min(void)
{
	static size_t min = 1;
	unsigned long kb;

	if (min == 1)
		min = sk_config_ulong("SKIFF_FILE_ZCOPY_KB", 0, 1ul << 30,
				      &kb) == SK_OK && kb > 0 ?
			      (size_t)kb << 10 : SIZE_MAX;
	return min;
}

/*
 * What each handle was opened with, by number (the host gives at most 256
 * per node), and what this node keeps of it:
 *
 * - O_DIRECT: the host's kernel judges a transfer's offset and length (the
 *   host aligns its own buffers), but the node's buffer never reaches a
 *   kernel, so the node checks it as Linux would: aligned to the usual
 *   logical block size. O_DIRECT, O_SYNC and O_DSYNC writes are never
 *   left behind (below): each returns when the host's write(2) has.
 * - O_APPEND: every write goes to the end, so a large one cannot be cut
 *   into chunks at offsets; it goes a chunk at a time.
 * - The file position, kept here from a handle's first bulk transfer at
 *   the position (one LSEEK asks the host where it is): from then on its
 *   reads and writes go at explicit offsets, so that they can overlap,
 *   and sk_lseek answers SEEK_SET and SEEK_CUR here. A handle without a
 *   position (a FIFO) stays with the host's.
 * - A left-behind write's failure, owed to the next sk_read, sk_write,
 *   sk_fsync or sk_close of the handle (as NFS reports them).
 */
#define SK_FILE_DIRECT_ALIGN 512u
#define SK_FILE_HANDLES      256u

enum {
	SK_FH_DIRECT = 1 << 0,
	SK_FH_APPEND = 1 << 1,
	SK_FH_SYNC   = 1 << 2, /* O_DIRECT, O_SYNC or O_DSYNC */
	SK_FH_POS    = 1 << 3, /* ->pos is the file position */
	SK_FH_NOPOS  = 1 << 4, /* the file has none (ESPIPE) */
};

struct sk_fh {
	uint8_t flags;
	uint8_t xfers; /* small transfers at the host's position, up to 2 */
	int     err;   /* a left-behind write's errno, or 0 */
	int64_t pos;
};

static struct sk_fh sk_fh[SK_FILE_HANDLES];

static struct sk_fh *sk_file_fh(int fd)
{
	static struct sk_fh none;

	if (fd < 0 || (unsigned)fd >= SK_FILE_HANDLES) {
		none = (struct sk_fh){0};
		return &none;
	}
	return &sk_fh[fd];
}

static bool sk_file_misaligned(int fd, const void *buf)
{
	return (sk_file_fh(fd)->flags & SK_FH_DIRECT) &&
	       (uintptr_t)buf % SK_FILE_DIRECT_ALIGN != 0;
}

static int sk_file_ret(int64_t rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return 0;
}

/*
 * Slice @i of the area a chunk's bytes go through: the host's bulk area,
 * mapped here (the host's file threads read and write the same pages), or
 * this node's bounce region (the host moves the bytes by RDMA). A slice
 * is a chunk: the job's (BOOT's), or the bounce region's if smaller.
 */
static uint32_t sk_file_chunk(void)
{
	if (sk_node.hostbuf || sk_node.chunk <= SK_HMSG_BOUNCE_CHUNK)
		return sk_node.chunk;
	return SK_HMSG_BOUNCE_CHUNK;
}

static char *sk_file_slice(unsigned i)
{
	return (sk_node.hostbuf ? sk_node.hostbuf : sk_node.bounce) +
	       (size_t)i * sk_file_chunk();
}

/* What a request says of slice @i: its offset in the host's area, or its
 * address in the bounce region. */
static uint64_t sk_file_slice_addr(unsigned i)
{
	return sk_node.hostbuf ? (uint64_t)i * sk_file_chunk() :
				 (uintptr_t)sk_file_slice(i);
}

static uint16_t sk_file_io_flags(void)
{
	return sk_node.hostbuf ? SK_HIO_HOSTBUF : 0;
}

/* Run the loop for a reply of the host's file service. Where the host
 * shares this machine (its buffer is mapped here), the answer is work of
 * its file threads on the same few cores: sleep at once rather than spin
 * on one of them (loop.h). */
static int sk_file_wait(void)
{
	return sk_node.hostbuf ? sk_loop_wait_once(sk_node.loop, -1) :
				 sk_loop_run_once(sk_node.loop, -1);
}

/*
 * Writes left behind: a write of a handle without O_DIRECT, O_SYNC or
 * O_DSYNC, at an offset, that goes through the host's buffer (or the
 * bounce region) returns once its last chunk is copied there and sent, as
 * write(2) returns once its bytes are in the page cache; its chunks
 * complete while the application goes on, so that its next write's copy
 * overlaps the host's write(2) of this one. Up to SK_HMSG_BULK_DEPTH
 * chunks are out: ring position i is slice i. Each asks the host for all
 * of it or the error (SK_HIO_WHOLE), which goes to its handle (->err).
 *
 * Every other file call waits for them first (sk_file_settle), so a node
 * reads what it wrote, and the host's work on a handle is over before it
 * is closed or synced; so do a barrier and the node's exit (node.c's
 * drain waits for every reply). Another node sees the bytes after this
 * one's sk_close, sk_fsync or a barrier, as MPI-IO's processes do after
 * a sync.
 *
 * Where the host takes growing writes (sk_node.hostctl, SK_HIO_GROW), a
 * write that goes on from where the newest chunk ends is added to that
 * chunk while the host has not started it (sk_wb_grow): a loop of small
 * writes then costs the host a request per chunk it writes, not one per
 * call, and still every byte of a write that returned is the host's.
 */
static struct {
	struct sk_hcall *call[SK_HMSG_BULK_DEPTH];
	int              fd[SK_HMSG_BULK_DEPTH];
	int64_t          off[SK_HMSG_BULK_DEPTH];
	uint32_t         len[SK_HMSG_BULK_DEPTH];
	bool             grow[SK_HMSG_BULK_DEPTH]; /* sent SK_HIO_GROW */
	unsigned         head, n;
} sk_wb;

/* A left-behind chunk's reply (or the link's end): its handle's error. */
static void sk_wb_reply(struct sk_hcall *c)
{
	unsigned i;

	for (i = 0; i < SK_HMSG_BULK_DEPTH; i++)
		if (sk_wb.call[i] == c)
			break;
	if (i < SK_HMSG_BULK_DEPTH) {
		struct sk_fh *h = sk_file_fh(sk_wb.fd[i]);
		int64_t rc = c->result;

		if (h->err == 0 && rc != (int64_t)sk_wb.len[i])
			h->err = rc < 0 ? (int)-rc : EIO;
		sk_wb.call[i] = NULL;
	}
	c->busy = false;
	sk_node.ncalls--;
}

/* Take the oldest left-behind chunk off the ring once its reply is in
 * (the link's end answers every call). */
static void sk_wb_pop(void)
{
	unsigned i = sk_wb.head;

	while (sk_wb.call[i] != NULL)
		if (sk_file_wait() < 0) {
			/* The loop itself failed: nothing will come. */
			struct sk_fh *h = sk_file_fh(sk_wb.fd[i]);

			if (h->err == 0)
				h->err = EIO;
			sk_wb.call[i] = NULL;
		}
	sk_wb.head = (i + 1) % SK_HMSG_BULK_DEPTH;
	sk_wb.n--;
}

/*
 * Read-ahead: a handle read at its position in pieces of at most a chunk
 * (a 64 KiB read loop, stdio's large reads) has the next chunks asked for
 * before it asks, up to SK_HMSG_BULK_DEPTH, in the slices: its reads are
 * then copies from chunks already here or on their way. Any other file
 * call, a write, a read elsewhere and a barrier drop it (sk_file_settle).
 */
static struct {
	int              fd;       /* -1: none */
	unsigned         barriers; /* sk_node.barriers when it started */
	struct sk_hcall *call[SK_HMSG_BULK_DEPTH];
	int64_t          got[SK_HMSG_BULK_DEPTH]; /* the reply's result */
	int64_t          off;      /* file offset of the head chunk */
	size_t           used;     /* bytes of the head chunk read */
	unsigned         head, n;
} sk_ra = {.fd = -1};

static void sk_ra_reply(struct sk_hcall *c)
{
	unsigned i;

	for (i = 0; i < SK_HMSG_BULK_DEPTH; i++)
		if (sk_ra.call[i] == c) {
			sk_ra.got[i] = c->result;
			sk_ra.call[i] = NULL;
		}
	c->busy = false;
	sk_node.ncalls--;
}

/* Ask for the chunk after the last one in the ring. */
static void sk_ra_ask(void)
{
	unsigned slot = (sk_ra.head + sk_ra.n) % SK_HMSG_BULK_DEPTH;
	struct sk_hreq_io io = {
		.fd = sk_ra.fd, .len = sk_file_chunk(),
		.offset = sk_ra.off + (int64_t)sk_ra.n * sk_file_chunk(),
		.raddr = sk_file_slice_addr(slot),
	};
	struct sk_hcall *call = sk_node_send(SK_HMSG_READ, sk_file_io_flags(),
					     &io, sizeof(io), NULL, 0, false);

	sk_ra.got[slot] = -ENOTCONN;
	if (call == NULL)
		return;
	call->on_reply = sk_ra_reply; /* no reply before the loop runs */
	sk_ra.call[slot] = call;
	sk_ra.n++;
}

/* Wait for what is asked and forget it all. */
static void sk_ra_drop(void)
{
	unsigned i;

	for (i = 0; i < SK_HMSG_BULK_DEPTH; i++)
		while (sk_ra.call[i] != NULL)
			if (sk_file_wait() < 0)
				sk_ra.call[i] = NULL; /* nothing will come */
	sk_ra.fd = -1;
	sk_ra.n = 0;
}

static bool sk_wb_overlaps(int64_t off, uint32_t len)
{
	unsigned k;

	for (k = 0; k < sk_wb.n; k++) {
		unsigned i = (sk_wb.head + k) % SK_HMSG_BULK_DEPTH;

		if (off < sk_wb.off[i] + (int64_t)sk_wb.len[i] &&
		    sk_wb.off[i] < off + (int64_t)len)
			return true;
	}
	return false;
}

/*
 * Add what fits of @len bytes at @off of @fd to the newest chunk left
 * behind, if the write goes on from its end and the host has not taken it
 * (SK_HIO_GROW): copy them after its bytes, then raise its length word
 * from what it was, which fails once the host has taken it (the copy is
 * then no one's). The count added, or 0.
 */
static size_t sk_wb_grow(int fd, const char *buf, size_t len, int64_t off)
{
	unsigned i = (sk_wb.head + sk_wb.n + SK_HMSG_BULK_DEPTH - 1) %
		     SK_HMSG_BULK_DEPTH;
	uint32_t have = sk_wb.len[i], add;
	bool clash = false;

	if (sk_wb.n == 0 || !sk_wb.grow[i] || sk_wb.call[i] == NULL ||
	    sk_wb.fd[i] != fd || sk_wb.off[i] + (int64_t)have != off ||
	    have >= sk_file_chunk())
		return 0;
	add = (uint32_t)(len < sk_file_chunk() - have ? len :
							sk_file_chunk() - have);
	/* Nor may it overlap an older chunk still out (sk_wb_overlaps). */
	sk_wb.n--;
	clash = sk_wb_overlaps(off, add);
	sk_wb.n++;
	if (clash ||
	    __atomic_load_n(&sk_node.hostctl[i], __ATOMIC_RELAXED) != have)
		return 0;
	memcpy(sk_file_slice(i) + have, buf, add);
	if (!__atomic_compare_exchange_n(&sk_node.hostctl[i], &have,
					 have + add, false, __ATOMIC_RELEASE,
					 __ATOMIC_RELAXED))
		return 0;
	sk_wb.len[i] += add;
	return add;
}

static void sk_wb_drain(void)
{
	while (sk_wb.n > 0)
		sk_wb_pop();
}

static void sk_file_settle(void)
{
	sk_wb_drain();
	if (sk_ra.fd >= 0)
		sk_ra_drop();
}

/* A read of at most a chunk at @pos of @fd, at its position: from the
 * read-ahead, started here when it is not @fd's at @pos. The count, 0 at
 * the end of the file, or -1 with errno. */
static ssize_t sk_ra_read(int fd, char *buf, size_t len, int64_t pos)
{
	size_t copied = 0;

	if (sk_ra.fd != fd || sk_ra.barriers != sk_node.barriers ||
	    pos != sk_ra.off + (int64_t)sk_ra.used || sk_ra.n == 0) {
		if (sk_ra.fd >= 0)
			sk_ra_drop();
		sk_ra.fd = fd;
		sk_ra.barriers = sk_node.barriers;
		sk_ra.off = pos;
		sk_ra.used = 0;
		sk_ra.head = 0;
		while (sk_ra.n < SK_HMSG_BULK_DEPTH) {
			unsigned n = sk_ra.n;

			sk_ra_ask();
			if (sk_ra.n == n)
				break;
		}
		if (sk_ra.n == 0) {
			sk_ra.fd = -1;
			errno = ENOTCONN;
			return -1;
		}
	}
	while (copied < len && sk_ra.n > 0) {
		unsigned h = sk_ra.head;
		int64_t got;
		size_t take;

		while (sk_ra.call[h] != NULL)
			if (sk_file_wait() < 0) {
				sk_ra.call[h] = NULL;
				sk_ra.got[h] = -EIO;
			}
		got = sk_ra.got[h];
		if (got < 0 || got > (int64_t)sk_file_chunk()) {
			sk_ra_drop(); /* the next read asks again */
			if (copied > 0)
				break;
			errno = got < 0 ? (int)-got : EIO;
			return -1;
		}
		if ((size_t)got <= sk_ra.used)
			break; /* the end of the file */
		take = (size_t)got - sk_ra.used;
		if (take > len - copied)
			take = len - copied;
		memcpy(buf + copied, sk_file_slice(h) + sk_ra.used, take);
		sk_ra.used += take;
		copied += take;
		if (sk_ra.used == sk_file_chunk()) {
			/* Read whole: its slice asks for the next one. */
			sk_ra.head = (h + 1) % SK_HMSG_BULK_DEPTH;
			sk_ra.n--;
			sk_ra.off += sk_file_chunk();
			sk_ra.used = 0;
			sk_ra_ask();
		} else if (sk_ra.used == (size_t)got) {
			break; /* a short chunk: the end, for now */
		}
	}
	return (ssize_t)copied;
}

/* The failure owed to handle @fd, if any: -1 with errno, once. */
static int sk_file_owed(int fd)
{
	struct sk_fh *h = sk_file_fh(fd);

	if (h->err == 0)
		return 0;
	errno = h->err;
	h->err = 0;
	return -1;
}

static bool sk_file_linked(void)
{
	if (!sk_node.booted) {
		errno = ENOSYS;
		return false;
	}
	if (sk_node.down) {
		errno = ENOTCONN;
		return false;
	}
	return true;
}

/* Before a call to the host: booted, linked, and no write left behind. */
static bool sk_file_ready(void)
{
	if (!sk_file_linked())
		return false;
	sk_file_settle();
	return sk_file_linked();
}

/* A path's bytes on the wire, with its NUL, or -errno: the host takes an
 * empty or overlong path for a malformed message (and cuts the node), so
 * they are refused here, as the kernel would refuse them. */
static int64_t sk_file_path_len(const char *path)
{
	size_t plen;

	if (path == NULL)
		return -EFAULT;
	plen = strlen(path) + 1;
	if (plen == 1)
		return -ENOENT;
	if (plen > SK_HMSG_PATH_MAX)
		return -ENAMETOOLONG;
	return (int64_t)plen;
}

static int64_t sk_file_path_call(uint16_t type, const void *fixed,
				 size_t flen, const char *path)
{
	int64_t plen = sk_file_path_len(path);

	if (plen < 0)
		return plen;
	return sk_node_call(type, 0, fixed, flen, path, (size_t)plen, NULL, 0,
			    NULL);
}

int sk_open(const char *path, int flags, ...)
{
	struct sk_hreq_open o = {.flags = flags, .mode = 0};
	int64_t rc;

	if (flags & O_CREAT) {
		va_list ap;

		va_start(ap, flags);
		o.mode = va_arg(ap, unsigned);
		va_end(ap);
	}
	if (!sk_file_ready())
		return -1;
	rc = sk_file_path_call(SK_HMSG_OPEN, &o, sizeof(o), path);
	if (sk_file_ret(rc))
		return -1;
	*sk_file_fh((int)rc) = (struct sk_fh){
		.flags = (flags & O_DIRECT ? SK_FH_DIRECT : 0) |
			 (flags & O_APPEND ? SK_FH_APPEND : 0) |
			 (flags & (O_DIRECT | O_SYNC | O_DSYNC) ? SK_FH_SYNC :
								   0),
	};
	return (int)rc;
}

/* The handle is closed, and a write left behind failed: close reports it
 * (the handle is gone all the same), as NFS's close does. */
int sk_close(int fd)
{
	struct sk_hreq_fd r = {.fd = fd};
	int rc, err;

	if (!sk_file_ready())
		return -1;
	err = sk_file_fh(fd)->err;
	rc = sk_file_ret(sk_node_call(SK_HMSG_CLOSE, 0, &r, sizeof(r), NULL,
				      0, NULL, 0, NULL));
	if (rc == 0) {
		*sk_file_fh(fd) = (struct sk_fh){0};
		if (err != 0) {
			errno = err;
			return -1;
		}
	}
	return rc;
}

/* One read of at most a chunk, through slice 0. */
static int64_t sk_file_read1(int fd, char *buf, size_t len, int64_t offset)
{
	struct sk_hreq_io io = {.fd = fd, .offset = offset};
	size_t got = 0;
	int64_t rc;

	if (len <= SK_FILE_INLINE_MAX) {
		io.len = (uint32_t)len;
		rc = sk_node_call(SK_HMSG_READ, 0, &io, sizeof(io), NULL, 0,
				  buf, len, &got);
		if (rc >= 0 && (uint64_t)rc != got)
			return -EIO;
		return rc;
	}
	io.len = (uint32_t)(len > sk_file_chunk() ? sk_file_chunk() : len);
	io.raddr = sk_file_slice_addr(0);
	rc = sk_node_call(SK_HMSG_READ, sk_file_io_flags(), &io, sizeof(io),
			  NULL, 0, NULL, 0, NULL);
	if (rc > (int64_t)io.len)
		return -EIO;
	if (rc > 0)
		memcpy(buf, sk_file_slice(0), (size_t)rc);
	return rc;
}

static int64_t sk_file_write1(int fd, const char *buf, size_t len,
			      int64_t offset)
{
	struct sk_hreq_io io = {.fd = fd, .offset = offset};
	int64_t rc;

	if (len <= SK_HMSG_PAYLOAD_MAX - sizeof(io)) {
		io.len = (uint32_t)len;
		return sk_node_call(SK_HMSG_WRITE, 0, &io, sizeof(io), buf, len,
				    NULL, 0, NULL);
	}
	io.len = (uint32_t)(len > sk_file_chunk() ? sk_file_chunk() : len);
	io.raddr = sk_file_slice_addr(0);
	memcpy(sk_file_slice(0), buf, io.len);
	rc = sk_node_call(SK_HMSG_WRITE, sk_file_io_flags(), &io, sizeof(io),
			  NULL, 0, NULL, 0, NULL);
	if (rc > (int64_t)io.len)
		return -EIO;
	return rc;
}

/* Loop over chunks one at a time until done, a short transfer, or an
 * error after some bytes (then the bytes count, as POSIX's partial
 * transfers): transfers at the file position that cannot be pipelined. */
/*
 * Whether file bytes must ride inside messages: a sealed node on a device
 * that maps shared memory (ucx on one host) whose host buffer is not
 * mapped here. There an RDMA with skrun has UCX attach skrun's shared
 * memory, which needs open(2), which the seal refuses (UCX then aborts
 * the node). A sealed node maps its host buffer at boot, before the seal,
 * so this is the fallback for a mapping refused or declined.
 */
static bool sk_file_inline_only(void)
{
	static int direct = -1;

	if (!sk_node.sealed || sk_node.hostbuf != NULL)
		return false;
	if (direct < 0) {
		struct sk_dev_attr attr;

		sk_dev_query(sk_node.dev, &attr);
		direct = attr.direct_mem != 0;
	}
	return direct;
}

/* The most one request of the serial path moves (see above). */
#define SK_FILE_INLINE_IO (SK_HMSG_PAYLOAD_MAX - sizeof(struct sk_hreq_io))

static ssize_t sk_file_rw_serial(bool write, int fd, void *buf, size_t len,
				 int64_t offset)
{
	bool small = sk_file_inline_only();
	size_t done = 0;

	while (done < len || (len == 0 && done == 0)) {
		size_t want = len - done;

		if (small && want > SK_FILE_INLINE_IO)
			want = SK_FILE_INLINE_IO;
		int64_t off = offset < 0 ? -1 : offset + (int64_t)done;
		int64_t rc = write ?
			sk_file_write1(fd, (char *)buf + done, want, off) :
			sk_file_read1(fd, (char *)buf + done, want, off);

		if (rc < 0) {
			if (done > 0)
				break;
			errno = (int)-rc;
			return -1;
		}
		done += (size_t)rc;
		if (rc == 0 || (size_t)rc < (want > sk_file_chunk() ?
						     sk_file_chunk() : want))
			break;
		if (len == 0)
			break;
	}
	return (ssize_t)done;
}

/* A chunk in flight: its call, and where its bytes go in the caller's
 * buffer. Ring position i uses bounce slice i. */
struct sk_file_chunk {
	struct sk_hcall *call;
	size_t           at;
	uint32_t         len;
};

/*
 * Whether a transfer of @len bytes at @buf goes from or into the file
 * memory (fmem.c), where the host's threads take the bytes from the
 * buffer itself: a block of sk_file_alloc's, or one malloc gave when the
 * transfer is SK_FILE_MALLOC_IO_MIN or more. A smaller transfer in a large
 * malloc'd buffer (a loop of 64 KiB reads into it, stdio's 8 KiB) goes
 * through the slices, which read ahead and leave writes behind, where
 * the file memory's pays a round trip a request. So does any transfer
 * from or into a malloc'd block that the slices pipeline (@piped: a
 * write they leave behind, a read at the position they read ahead) where
 * the host has a core to spare: the node's copy runs beside the host's
 * system call for the next chunk, where the file memory's call waits for
 * the host's, and each wait is two wake-ups (one node alone on 2 cores,
 * 4 GiB in 1 MiB calls, perf/compare-mpiio.sh, 2026-12-07: writes 5,004
 * MB/s left behind, 3,228 from the block, MPI-IO 6,365; reads 5.5-7.0
 * GB/s read ahead, 3.9-5.6 from the block). sk_file_alloc's blocks are the
 * application's to reuse the moment the call returns: never left behind.
 */
#define SK_FILE_MALLOC_IO_MIN (512u << 10)

static bool sk_file_in_mem(bool piped, const void *buf, size_t len)
{
	switch (sk_fmem_kind(buf, len)) {
	case SK_FMEM_FILE:
		return true;
	case SK_FMEM_MALLOC:
		return len >= SK_FILE_MALLOC_IO_MIN &&
		       !(piped && sk_fmem_spare_core());
	default:
		return false;
	}
}

/* A request's piece of a transfer in the file memory: the most a request
 * may move. Each costs a message, a thread's wake-up and a reply (~25 us)
 * where the host's system call moves 1 MiB in ~100 us; smaller pieces on
 * more threads were slower at 1, 4 and 16 nodes (measured: 4 GiB at 4
 * nodes read in 0.38 s in 1 MiB pieces, 0.56 s in 256 KiB). */
#define SK_FILE_MEM_CHUNK SK_HMSG_BULK_MAX

/* Wait for @c's reply and free its call; its result (or -ENOTCONN). */
static int64_t sk_file_reap(struct sk_file_chunk *c)
{
	int64_t rc;

	while (!c->call->done)
		if (sk_file_wait() < 0)
			break;
	rc = c->call->done ? c->call->result : -ENOTCONN;
	c->call->busy = false;
	sk_node.ncalls--;
	return rc;
}

/* The caller's buffer, registered for one transfer so that the host moves
 * its bytes by RDMA with no copy here: the host may read it (a write) or
 * write it (a read), and only for as long as the call lasts. */
struct sk_file_zcopy {
	struct sk_mr *mr;
	size_t        keylen;
	char          key[SK_BLOB_MAX];
};

/* Whether a transfer of @len bytes goes from the caller's buffer: large,
 * and no mapped host buffer here (there the one copy is this node's). */
static bool sk_file_zcopy_fits(size_t len)
{
	return sk_node.hostbuf == NULL && len >= sk_file_zcopy_min();
}

static bool sk_file_zcopy_start(struct sk_file_zcopy *z, bool write,
				void *buf, size_t len)
{
	z->mr = NULL;
	if (!sk_file_zcopy_fits(len))
		return false;
	/* Refused where the provider cannot (a sealed node's filter may
	 * refuse the system call): the bounce region then serves. */
	if (sk_mr_reg(sk_node.dev, buf, len,
		      write ? SK_ACCESS_REMOTE_READ : SK_ACCESS_REMOTE_WRITE,
		      &z->mr) != SK_OK)
		return false;
	z->keylen = sizeof(z->key);
	if (sk_mr_pack(z->mr, z->key, &z->keylen) != SK_OK) {
		sk_mr_dereg(z->mr);
		z->mr = NULL;
		return false;
	}
	return true;
}

/*
 * A transfer of more than a chunk at explicit offsets: up to
 * SK_HMSG_BULK_DEPTH chunks in flight, so that the host's system call for
 * one and the RDMA of the next overlap. The chunks move straight between
 * the caller's buffer and the host (zero-copy) where it registers, else
 * each through its own bounce slice and a copy here. They complete in any
 * order at the host but are taken in order here: the count returned is
 * the longest prefix that was transferred whole. A chunk that fails or
 * comes up short (end of file, a full disk) ends the transfer there, as a
 * short read or write would; chunks after it that were already in flight
 * are waited for, and their bytes not counted (a write's may have reached
 * the file beyond the count, as after a short write(2)). @mem: the buffer
 * is in the file memory (sk_file_in_mem), and the host's threads read
 * into and write from it.
 */
static ssize_t sk_file_rw_pipe(bool write, int fd, char *buf, size_t len,
			       int64_t offset, bool mem)
{
	struct sk_file_chunk ring[SK_HMSG_BULK_DEPTH];
	struct sk_file_zcopy z;
	/* Not where the host's area is mapped here: there the one copy is
	 * this node's, into memory the host reads (UCX would emulate an
	 * RDMA on the caller's buffer with this node's CPU anyway). */
	bool zcopy = !mem && sk_file_zcopy_start(&z, write, buf, len);
	/* Zero-copy chunks need only fit the host's slice; the file
	 * memory's, a request. */
	uint32_t chunk = mem ? SK_FILE_MEM_CHUNK :
			 zcopy ? sk_node.chunk : sk_file_chunk();
	unsigned head = 0, inflight = 0;
	size_t sent = 0, done = 0;
	int err = 0;
	bool stop = false;

	while (inflight > 0 || (!stop && sent < len)) {
		while (!stop && sent < len && inflight < SK_HMSG_BULK_DEPTH) {
			unsigned slot = (head + inflight) % SK_HMSG_BULK_DEPTH;
			char *slice = sk_file_slice(slot);
			struct sk_hreq_io io = {
				.fd = fd,
				.offset = offset + (int64_t)sent,
				.raddr = mem ? (uint64_t)(buf + sent -
							  sk_node.hostbuf) :
					 zcopy ? (uintptr_t)(buf + sent) :
						 sk_file_slice_addr(slot),
			};
			struct sk_hcall *call;

			io.len = (uint32_t)(len - sent > chunk ? chunk :
								 len - sent);
			if (write && !zcopy && !mem)
				memcpy(slice, buf + sent, io.len);
			call = sk_node_send(write ? SK_HMSG_WRITE :
						    SK_HMSG_READ,
					    zcopy ? 0 : sk_file_io_flags(),
					    &io, sizeof(io),
					    zcopy ? z.key : NULL,
					    zcopy ? z.keylen : 0, false);
			if (call == NULL) {
				err = ENOTCONN;
				stop = true;
				break;
			}
			ring[slot] = (struct sk_file_chunk){call, sent, io.len};
			inflight++;
			sent += io.len;
		}
		if (inflight == 0)
			break;

		struct sk_file_chunk *c = &ring[head];
		int64_t rc = sk_file_reap(c);
		char *slice = sk_file_slice(head);

		head = (head + 1) % SK_HMSG_BULK_DEPTH;
		inflight--;
		if (stop)
			continue; /* past a failed or short chunk */
		if (rc < 0 || rc > (int64_t)c->len) {
			err = rc < 0 ? (int)-rc : EIO;
			stop = true;
			continue;
		}
		if (!write && !zcopy && !mem && rc > 0)
			memcpy(buf + c->at, slice, (size_t)rc);
		done += (size_t)rc;
		if ((uint64_t)rc < c->len)
			stop = true;
	}
	/* Every reply is in: the host is done with the buffer. */
	if (zcopy)
		sk_mr_dereg(z.mr);
	if (done == 0 && err != 0) {
		errno = err;
		return -1;
	}
	return (ssize_t)done;
}

static int64_t sk_file_host_lseek(int fd, int64_t offset, int whence)
{
	struct sk_hreq_lseek r = {.fd = fd, .whence = whence,
				  .offset = offset};

	return sk_node_call(SK_HMSG_LSEEK, 0, &r, sizeof(r), NULL, 0, NULL, 0,
			    NULL);
}

/* Whether a write of @len bytes to @h may be left behind (sk_wb). Only
 * through the host's mapped buffer: there the host writes the chunks in
 * the order they were sent, which RDMA's completions would not keep. */
static bool sk_file_behind_ok(const struct sk_fh *h, size_t len)
{
	if (len == 0 || (h->flags & (SK_FH_SYNC | SK_FH_APPEND)))
		return false;
	/* A small one rides in its message: no slice, no RDMA. */
	if (len <= SK_FILE_INLINE_IO)
		return true;
	return sk_node.hostbuf != NULL;
}

/* Copy @len bytes into the ring's slices and send them, at @offset; back
 * once the last is sent (see sk_wb). A write of at most SK_FILE_INLINE_IO
 * goes inside its message instead (its ring position's slice unused).
 * The count sent, or -1 when nothing went (an earlier chunk's failure is
 * owed first). */
static ssize_t sk_file_write_behind(int fd, const char *buf, size_t len,
				    int64_t offset)
{
	struct sk_fh *h = sk_file_fh(fd);
	size_t sent = 0;

	while (sent < len) {
		struct sk_hreq_io io = {.fd = fd,
					.offset = offset + (int64_t)sent};
		bool grow = sk_node.hostctl != NULL;
		struct sk_hcall *call;
		unsigned slot;
		size_t added;

		if (grow && h->err == 0 &&
		    (added = sk_wb_grow(fd, buf + sent, len - sent,
					io.offset)) > 0) {
			sent += added;
			continue;
		}
		io.len = (uint32_t)(len - sent > sk_file_chunk() ?
					    sk_file_chunk() : len - sent);
		/* None may overlap one still out (of any handle: two may
		 * be one file): the host runs a file's writes in order
		 * (skrun's fileq keys), but not those of a file it could
		 * not key. */
		while (sk_wb.n == SK_HMSG_BULK_DEPTH ||
		       sk_wb_overlaps(io.offset, io.len))
			sk_wb_pop();
		if (h->err != 0)
			break; /* an earlier chunk failed: owed */
		slot = (sk_wb.head + sk_wb.n) % SK_HMSG_BULK_DEPTH;
		if (len <= SK_FILE_INLINE_IO && !grow) {
			call = sk_node_send(SK_HMSG_WRITE, SK_HIO_WHOLE, &io,
					    sizeof(io), buf, len, false);
		} else {
			io.raddr = sk_file_slice_addr(slot);
			memcpy(sk_file_slice(slot), buf + sent, io.len);
			if (grow)
				__atomic_store_n(&sk_node.hostctl[slot], io.len,
						 __ATOMIC_RELEASE);
			call = sk_node_send(SK_HMSG_WRITE,
					    sk_file_io_flags() | SK_HIO_WHOLE |
						    (grow ? SK_HIO_GROW : 0),
					    &io, sizeof(io), NULL, 0, false);
		}
		if (call == NULL) {
			if (h->err == 0)
				h->err = ENOTCONN;
			break;
		}
		/* No reply can be in before the loop runs again. */
		call->on_reply = sk_wb_reply;
		sk_wb.call[slot] = call;
		sk_wb.fd[slot] = fd;
		sk_wb.off[slot] = io.offset;
		sk_wb.len[slot] = io.len;
		sk_wb.grow[slot] = grow;
		sk_wb.n++;
		sent += io.len;
	}
	if (sent == 0)
		return sk_file_owed(fd);
	return (ssize_t)sent;
}

static ssize_t sk_file_rw(bool write, int fd, void *buf, size_t len,
			  int64_t offset)
{
	struct sk_fh *h = sk_file_fh(fd);
	bool behind, ahead, at_pos, mem;
	ssize_t done;

	if (!sk_file_linked())
		return -1;
	if (sk_file_misaligned(fd, buf)) {
		errno = EINVAL;
		return -1;
	}
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	/* A handle's first bulk transfer at the position, or its second
	 * there (a loop, stdio's): where is it? (The host's
	 * position moves with nothing else this node has out: its writes
	 * left behind go at offsets.) */
	if (offset < 0 && h->xfers < 2)
		h->xfers++;
	if (offset < 0 && (len > SK_FILE_INLINE_MAX || h->xfers == 2) &&
	    !(h->flags & (SK_FH_APPEND | SK_FH_POS | SK_FH_NOPOS))) {
		int64_t pos = sk_file_host_lseek(fd, 0, SEEK_CUR);

		if (pos >= 0) {
			h->flags |= SK_FH_POS;
			h->pos = pos;
		} else if (pos == -ESPIPE) {
			h->flags |= SK_FH_NOPOS;
		}
	}
	/* Whether the slices would pipeline it: a write left behind, a read
	 * at the position read ahead. */
	behind = write && sk_file_behind_ok(h, len);
	ahead = !write && offset < 0 && (h->flags & SK_FH_POS) &&
		!(h->flags & SK_FH_SYNC) && !sk_file_zcopy_fits(len) &&
		!sk_file_inline_only();
	/* From or into the file memory instead: the host's threads take the
	 * bytes from the buffer itself, while the call waits (the buffer is
	 * the application's again when it returns). */
	mem = len > SK_FILE_INLINE_IO &&
	      sk_file_in_mem(behind || ahead, buf, len);
	behind = behind && !mem;
	ahead = ahead && !mem;
	if (ahead)
		sk_wb_drain(); /* the read-ahead stays if it is this one's */
	else if (!behind)
		sk_file_settle();
	else if (sk_ra.fd >= 0)
		sk_ra_drop(); /* the write takes the slices */
	if (sk_file_owed(fd) != 0)
		return -1;
	if (ahead) {
		done = sk_ra_read(fd, buf, len, h->pos);
		if (done > 0)
			h->pos += done;
		return done;
	}
	at_pos = offset < 0 && (h->flags & SK_FH_POS);
	if (at_pos)
		offset = h->pos;
	if (offset < 0 || (h->flags & SK_FH_APPEND))
		done = sk_file_rw_serial(write, fd, buf, len, offset);
	else if (behind)
		done = sk_file_write_behind(fd, buf, len, offset);
	else if (len <= SK_FILE_INLINE_IO || sk_file_inline_only())
		done = sk_file_rw_serial(write, fd, buf, len, offset);
	else
		done = sk_file_rw_pipe(write, fd, buf, len, offset, mem);
	if (at_pos && done > 0)
		h->pos += done;
	return done;
}

ssize_t sk_read(int fd, void *buf, size_t len)
{
	return sk_file_rw(false, fd, buf, len, -1);
}

ssize_t sk_write(int fd, const void *buf, size_t len)
{
	return sk_file_rw(true, fd, (void *)buf, len, -1);
}

ssize_t sk_pread(int fd, void *buf, size_t len, off_t offset)
{
	if (offset < 0) {
		errno = EINVAL;
		return -1;
	}
	return sk_file_rw(false, fd, buf, len, offset);
}

ssize_t sk_pwrite(int fd, const void *buf, size_t len, off_t offset)
{
	if (offset < 0) {
		errno = EINVAL;
		return -1;
	}
	return sk_file_rw(true, fd, (void *)buf, len, offset);
}

/* Where a handle kept here is, SEEK_SET and SEEK_CUR are answered here
 * (with lseek's errors); SEEK_END asks the host, whose answer is kept. */
off_t sk_lseek(int fd, off_t offset, int whence)
{
	struct sk_fh *h = sk_file_fh(fd);
	int64_t rc;

	if (!sk_file_ready())
		return -1;
	if ((h->flags & SK_FH_POS) && (whence == SEEK_SET || whence == SEEK_CUR)) {
		int64_t base = whence == SEEK_CUR ? h->pos : 0;

		if (offset > 0 && base > INT64_MAX - offset) {
			errno = EOVERFLOW;
			return -1;
		}
		if (base + offset < 0) {
			errno = EINVAL;
			return -1;
		}
		h->pos = base + offset;
		return (off_t)h->pos;
	}
	rc = sk_file_host_lseek(fd, offset, whence);
	if (sk_file_ret(rc))
		return -1;
	if (h->flags & SK_FH_POS)
		h->pos = rc;
	return (off_t)rc;
}

/* FSTAT's and STAT's reply into *@st. */
static int sk_file_stat_ret(int64_t rc, size_t got, const struct sk_hstat *hs,
			    struct sk_stat *st)
{
	if (rc >= 0 && got != sizeof(*hs))
		rc = -EIO;
	if (sk_file_ret(rc))
		return -1;
	st->size = hs->size;
	st->mtime_ns = hs->mtime_ns;
	st->ino = hs->ino;
	st->mode = hs->mode;
	st->nlink = hs->nlink;
	return 0;
}

int sk_fstat(int fd, struct sk_stat *st)
{
	struct sk_hreq_fd r = {.fd = fd};
	struct sk_hstat hs;
	size_t got = 0;
	int64_t rc;

	if (!sk_file_ready())
		return -1;
	rc = sk_node_call(SK_HMSG_FSTAT, 0, &r, sizeof(r), NULL, 0, &hs,
			  sizeof(hs), &got);
	return sk_file_stat_ret(rc, got, &hs, st);
}

int sk_stat(const char *path, struct sk_stat *st)
{
	int64_t plen = sk_file_path_len(path), rc;
	struct sk_hstat hs;
	size_t got = 0;

	if (!sk_file_ready() || sk_file_ret(plen))
		return -1;
	rc = sk_node_call(SK_HMSG_STAT, 0, path, (size_t)plen, NULL, 0, &hs,
			  sizeof(hs), &got);
	return sk_file_stat_ret(rc, got, &hs, st);
}

/* After the writes left behind, the host's fsync; a failure of theirs is
 * this call's (the data did not reach the file). */
static int sk_file_sync(int fd, uint16_t flags)
{
	struct sk_hreq_fd r = {.fd = fd};
	int rc;

	if (!sk_file_ready())
		return -1;
	rc = sk_file_ret(sk_node_call(SK_HMSG_FSYNC, flags, &r, sizeof(r),
				      NULL, 0, NULL, 0, NULL));
	if (rc == 0 && sk_file_owed(fd) != 0)
		return -1;
	return rc;
}

int sk_fsync(int fd)
{
	return sk_file_sync(fd, 0);
}

int sk_fsync_all(int fd)
{
	int rc = sk_file_sync(fd, 0), err = errno;
	int brc;

	if (!sk_node.booted)
		return rc;
	brc = sk_node_barrier();
	if (rc != 0) {
		errno = err;
		return -1;
	}
	if (brc != 0) {
		errno = -brc;
		return -1;
	}
	return 0;
}

int sk_fdatasync(int fd)
{
	return sk_file_sync(fd, SK_HFSYNC_DATA);
}

int sk_ftruncate(int fd, off_t length)
{
	struct sk_hreq_trunc t = {.fd = fd, .length = length};

	if (!sk_file_ready())
		return -1;
	if (length < 0) {
		errno = EINVAL;
		return -1;
	}
	return sk_file_ret(sk_node_call(SK_HMSG_FTRUNCATE, 0, &t, sizeof(t),
					NULL, 0, NULL, 0, NULL));
}

int sk_rename(const char *from, const char *to)
{
	int64_t l1 = sk_file_path_len(from), l2 = sk_file_path_len(to);

	if (!sk_file_ready() || sk_file_ret(l1) || sk_file_ret(l2))
		return -1;
	return sk_file_ret(sk_node_call(SK_HMSG_RENAME, 0, from, (size_t)l1,
					to, (size_t)l2, NULL, 0, NULL));
}

int sk_unlink(const char *path)
{
	if (!sk_file_ready())
		return -1;
	return sk_file_ret(sk_file_path_call(SK_HMSG_UNLINK, NULL, 0, path));
}

int sk_mkdir(const char *path, mode_t mode)
{
	struct sk_hreq_mkdir m = {.mode = mode};

	if (!sk_file_ready())
		return -1;
	return sk_file_ret(sk_file_path_call(SK_HMSG_MKDIR, &m, sizeof(m),
					     path));
}

/* ---- directories ---- */

struct sk_dir {
	int           fd;
	bool          eof;
	size_t        len, pos; /* of the batch in buf */
	struct dirent ent;
	char          buf[SK_HMSG_PAYLOAD_MAX];
};

struct sk_dir *sk_opendir(const char *path)
{
	struct sk_dir *d;
	int fd = sk_open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		sk_close(fd);
		errno = ENOMEM;
		return NULL;
	}
	d->fd = fd;
	return d;
}

struct dirent *sk_readdir(struct sk_dir *d)
{
	const char *name, *nul;
	size_t n;

	if (d->pos >= d->len) {
		struct sk_hreq_fd r = {.fd = d->fd};
		int64_t rc;

		if (d->eof || !sk_file_ready())
			return NULL;
		rc = sk_node_call(SK_HMSG_READDIR, 0, &r, sizeof(r), NULL, 0,
				  d->buf, sizeof(d->buf), &d->len);
		d->pos = 0;
		if (rc < 0) {
			errno = (int)-rc;
			d->len = 0;
			return NULL;
		}
		if (rc == 0) {
			d->eof = true;
			d->len = 0;
			return NULL;
		}
	}
	/* An entry: u8 d_type, then the name and its NUL. */
	name = d->buf + d->pos + 1;
	nul = d->pos + 1 < d->len ?
		      memchr(name, '\0', d->len - d->pos - 1) : NULL;
	n = nul ? (size_t)(nul - name) : 0;
	if (nul == NULL || n == 0 || n >= sizeof(d->ent.d_name)) {
		errno = EIO;
		d->pos = d->len = 0;
		d->eof = true;
		return NULL;
	}
	memset(&d->ent, 0, sizeof(d->ent));
	d->ent.d_type = (unsigned char)d->buf[d->pos];
	memcpy(d->ent.d_name, name, n + 1);
	d->pos += n + 2;
	return &d->ent;
}

int sk_closedir(struct sk_dir *d)
{
	int rc = sk_close(d->fd);

	free(d);
	return rc;
}

/* ---- stdio streams ---- */

static ssize_t sk_fcookie_read(void *cookie, char *buf, size_t size)
{
	return sk_read((int)(intptr_t)cookie, buf, size);
}

static ssize_t sk_fcookie_write(void *cookie, const char *buf, size_t size)
{
	ssize_t n = sk_write((int)(intptr_t)cookie, buf, size);

	/* fopencookie wants 0 on error, not -1. */
	return n < 0 ? 0 : n;
}

static int sk_fcookie_seek(void *cookie, off64_t *offset, int whence)
{
	off_t r = sk_lseek((int)(intptr_t)cookie, *offset, whence);

	if (r < 0)
		return -1;
	*offset = r;
	return 0;
}

static int sk_fcookie_close(void *cookie)
{
	return sk_close((int)(intptr_t)cookie);
}

FILE *sk_fopen(const char *path, const char *mode)
{
	cookie_io_functions_t io = {
		.read = sk_fcookie_read, .write = sk_fcookie_write,
		.seek = sk_fcookie_seek, .close = sk_fcookie_close,
	};
	int flags, fd;
	bool plus = strchr(mode, '+') != NULL;
	FILE *f;

	switch (mode[0]) {
	case 'r': flags = plus ? O_RDWR : O_RDONLY; break;
	case 'w': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
	case 'a': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND;
		break;
	default:
		errno = EINVAL;
		return NULL;
	}
	if (strchr(mode, 'x'))
		flags |= O_EXCL;
	fd = sk_open(path, flags, 0666);
	if (fd < 0)
		return NULL;
	f = fopencookie((void *)(intptr_t)fd, mode, io);
	if (f == NULL) {
		sk_close(fd);
		return NULL;
	}
	return f;
}
