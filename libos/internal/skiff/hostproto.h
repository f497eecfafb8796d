/*
 * The wire between a node's library OS and the host (skrun).
 *
 * Two parts:
 *
 *  1. The bootstrap, over TCP, the only bytes that do not cross the fabric.
 *     It carries one fabric address each way and nothing else: the node
 *     sends a hello (job secret, rank, its endpoint address for the host);
 *     the host answers at once with a welcome (its endpoint address for that
 *     node). Then the socket closes. A node's boot is O(1) in the job's
 *     size: connections between nodes are made later, on first use, through
 *     the host (CONNECT below).
 *
 *  2. Host services, over the fabric: messages on the node's endpoint to the
 *     host. The discipline is request/response: every message a node sends
 *     is a request that gets exactly one reply, possibly later (a READY is
 *     answered by BOOT once every node is ready; a STDIN_READ when input
 *     arrives). A node keeps at most SK_HMSG_SLOTS requests outstanding, and
 *     each side keeps that many receives posted, so no send ever lacks a
 *     receive and neither side needs credits beyond that count.
 *
 *     Node-to-node connections (hostproto's third use): node A sends
 *     CONNECT (peer B, a service number, the endpoint address A made for
 *     B). Every node keeps one LISTEN outstanding; the host answers B's
 *     with PEER (A's rank, service, address). B connects an endpoint to it
 *     and sends ACCEPT (its own address), which is also its next LISTEN;
 *     the host then replies to A's CONNECT with B's address, and A says
 *     CONNECTED once its end is up (B's FINALIZE waits for that, so B can
 *     never be gone before A could connect to it). When A and B
 *     connect to each other at once, the one that first sees the other's
 *     request while its own is pending uses its pending endpoint for both
 *     (ACCEPT with SK_HACCEPT_MERGED) and the host drops the request that
 *     merge answered, so every pair ends with exactly one endpoint each.
 *
 * All integers are little-endian; structures are packed by construction
 * (every field naturally aligned, sizes asserted below). Everything a host
 * receives comes from a process it does not trust beyond the job secret, so
 * sk_hmsg_parse() checks every byte before a service sees it.
 */
#ifndef SKIFF_HOSTPROTO_H
#define SKIFF_HOSTPROTO_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/status.h>
#include <skiff/verbs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- 1. bootstrap (TCP) ---- */

#define SK_BOOT_MAGIC      0x544b4253u /* "SBKT" little-endian */
#define SK_BOOT_VERSION    3
#define SK_BOOT_SECRET_LEN 32          /* bytes; 64 hex digits in the env */

/* The environment skrun gives each node. */
#define SK_ENV_BOOTSTRAP "SKIFF_BOOTSTRAP" /* host:port of the bootstrap */
#define SK_ENV_SECRET    "SKIFF_JOB_SECRET"
#define SK_ENV_RANK      "SKIFF_RANK"
#define SK_ENV_SIZE      "SKIFF_SIZE"
#define SK_ENV_JOBID     "SKIFF_JOB_ID"

/* node -> host. Followed by one blob, a u16 length then the bytes: the
 * endpoint address the node made for the host. */
struct sk_boot_hello {
	uint32_t magic;
	uint16_t version;
	uint16_t reserved;
	uint32_t rank;
	uint32_t size;
	uint8_t  secret[SK_BOOT_SECRET_LEN];
};

enum sk_boot_result {
	SK_BOOT_OK = 0,
	SK_BOOT_BAD_SECRET,  /* wrong job secret */
	SK_BOOT_BAD_RANK,    /* rank out of range or size mismatch */
	SK_BOOT_DUP_RANK,    /* that rank has already joined */
	SK_BOOT_MALFORMED,   /* bad magic, version or blobs */
	SK_BOOT_ABORTED,     /* the job is ending */
};

/* host -> node. On SK_BOOT_OK followed by one blob as in the hello: the
 * host's endpoint address for this node. Otherwise followed by nothing. */
struct sk_boot_welcome {
	uint32_t magic;
	uint16_t version;
	uint16_t result; /* enum sk_boot_result */
	uint32_t size;
	uint32_t reserved;
};

_Static_assert(sizeof(struct sk_boot_hello) == 48, "hello is 48 bytes");
_Static_assert(sizeof(struct sk_boot_welcome) == 16, "welcome is 16 bytes");

/* Most bytes one bootstrap message may carry (a hello and its blob;
 * anything larger is refused before it is read). */
#define SK_BOOT_MSG_MAX (sizeof(struct sk_boot_hello) + 2 + SK_BLOB_MAX)

const char *sk_boot_result_str(unsigned result);

/* ---- 2. host services (fabric) ---- */

/* Receive slots per side and slot size. A message is a header and at most
 * SK_HMSG_PAYLOAD_MAX bytes; bulk file data moves by RDMA instead. */
#define SK_HMSG_SLOTS       16
#define SK_HMSG_SLOT_SIZE   16384
#define SK_HMSG_PAYLOAD_MAX (SK_HMSG_SLOT_SIZE - sizeof(struct sk_hmsg_hdr))
#define SK_HMSG_PATH_MAX    4096 /* bytes of a path, with its NUL */

enum sk_hmsg_type {
	/* requests, node -> host */
	SK_HMSG_READY = 1,  /* endpoints are up; payload: the descriptor of
	                     * the node's bounce region (the only memory of
	                     * the node the host may read or write). Reply:
	                     * BOOT, once all are ready */
	SK_HMSG_CONSOLE,    /* flags: 1 stdout, 2 stderr; payload: bytes */
	SK_HMSG_STDIN_READ, /* payload: u32 max. Reply: bytes; 0 = EOF */
	SK_HMSG_FINALIZE,   /* clean exit follows; reply once output is out
	                     * and every node has finalized. Then again
	                     * with SK_HFIN_LEAVE; reply once every node
	                     * has sent that (or gone) */
	SK_HMSG_ABORT,      /* payload: i32 code, then a message (NUL) */
	SK_HMSG_OPEN,       /* struct sk_hreq_open, then the path (NUL) */
	SK_HMSG_CLOSE,      /* struct sk_hreq_fd */
	SK_HMSG_READ,       /* struct sk_hreq_io */
	SK_HMSG_WRITE,      /* struct sk_hreq_io, then inline data if !raddr */
	SK_HMSG_LSEEK,      /* struct sk_hreq_lseek */
	SK_HMSG_FSTAT,      /* struct sk_hreq_fd. Reply: struct sk_hstat */
	SK_HMSG_UNLINK,     /* the path (NUL) */
	SK_HMSG_MKDIR,      /* struct sk_hreq_mkdir, then the path (NUL) */
	SK_HMSG_READDIR,    /* struct sk_hreq_fd (opened O_DIRECTORY). Reply:
	                     * entries, each u8 d_type then name (NUL);
	                     * result = their count, 0 at the end */
	SK_HMSG_CONNECT,    /* struct sk_hreq_peer (the peer), then the
	                     * endpoint address made for it. Reply: the
	                     * peer's address for ours (result 0), or
	                     * -ECONNREFUSED, -EINVAL; result 1 and no
	                     * address when a merge already answered it */
	SK_HMSG_LISTEN,     /* no payload. Reply: PEER, when a node connects
	                     * to this one */
	SK_HMSG_ACCEPT,     /* struct sk_hreq_peer (the connecting rank,
	                     * flags SK_HACCEPT_*), then this node's address
	                     * (none when refused). It is also the next
	                     * LISTEN: its reply is the next PEER */
	SK_HMSG_BARRIER,    /* no payload. Reply once every node of the job
	                     * that is still running has sent one */
	SK_HMSG_CONNECTED,  /* struct sk_hreq_peer (the rank a CONNECT went
	                     * to): the reply's address is connected. The
	                     * host holds that node's FINALIZE until then */
	SK_HMSG_STAT,       /* the path (NUL). Reply: struct sk_hstat */
	SK_HMSG_FSYNC,      /* struct sk_hreq_fd; flags SK_HFSYNC_DATA:
	                     * fdatasync, else fsync */
	SK_HMSG_FTRUNCATE,  /* struct sk_hreq_trunc */
	SK_HMSG_RENAME,     /* the old path (NUL), then the new one (NUL) */
	SK_HMSG_TYPE_MAX,
	/* replies, host -> node */
	SK_HMSG_REPLY = 0x80, /* result in hdr.result; payload per request */
	SK_HMSG_BOOT,         /* struct sk_hboot, then argv then env strings */
	SK_HMSG_PEER,         /* to a LISTEN or ACCEPT: struct sk_hreq_peer
	                       * (who connects, its service), then the
	                       * endpoint address it made for this node */
};

/* At most this many requests of a node are ordinary ones: the last receive
 * slot on each side is kept for the LISTEN (or ACCEPT) and its PEER. */
#define SK_HMSG_CALL_SLOTS (SK_HMSG_SLOTS - 1)

struct sk_hmsg_hdr {
	uint16_t type;   /* enum sk_hmsg_type */
	uint16_t flags;
	uint32_t len;    /* payload bytes after this header */
	uint64_t req_id; /* chosen by the node; echoed by the reply */
	int64_t  result; /* replies: >= 0 success, < 0 a negated errno */
};

struct sk_hreq_open {
	int32_t  flags; /* Linux O_* flags; O_CREAT etc. as on x86-64 */
	uint32_t mode;
};

struct sk_hreq_fd {
	int32_t  fd;    /* a handle the host returned from OPEN */
	uint32_t reserved;
};

/* READ: the host reads up to @len bytes at @offset (-1: the file position)
 * and, if @raddr is 0, returns them inline (@len <= SK_HMSG_PAYLOAD_MAX),
 * else RDMA-writes them to @raddr before replying.
 * WRITE: the bytes are inline after this struct (@raddr 0) or the host
 * RDMA-reads them from @raddr. @len is at most SK_HMSG_BULK_MAX.
 * A bulk request (@raddr set) is followed by nothing, and @raddr is in the
 * node's bounce region, or by the packed descriptor (sk_mr_pack, at most
 * SK_BLOB_MAX bytes) of a registration of the node's that covers it: the
 * application's own buffer, registered for this call (zero-copy). */
struct sk_hreq_io {
	int32_t  fd;
	uint32_t len;
	int64_t  offset;
	uint64_t raddr;
};
#define SK_HMSG_BULK_MAX (1u << 20)
/*
 * A node has up to SK_HMSG_BULK_DEPTH bulk requests in flight, each in its
 * own slice of the host's bulk area for it. A slice is the job's chunk
 * (BOOT's @bulk_chunk: a power of two from SK_HMSG_CHUNK_MIN to
 * SK_HMSG_BULK_MAX, which skrun sizes from the job's size, launcher/
 * services.c); through the node's bounce region (RDMA) a chunk is at most
 * SK_HMSG_BOUNCE_CHUNK, the region SK_HMSG_BOUNCE_SIZE.
 */
#define SK_HMSG_BULK_DEPTH   4u
#define SK_HMSG_CHUNK_MIN    (64u << 10)
#define SK_HMSG_BOUNCE_CHUNK (256u << 10)
#define SK_HMSG_BOUNCE_SIZE  (SK_HMSG_BULK_DEPTH * SK_HMSG_BOUNCE_CHUNK)
/* A node's area on the host: its slices, then (where mapped) the slices'
 * length words (SK_HMSG_CTL_SIZE), then its file memory (sk_file_alloc,
 * BOOT's descriptor says how long), at most this long in all. */
#define SK_HMSG_AREA_MAX     ((uint64_t)1 << 40)
/* READ's and WRITE's one flag: the bytes are (WRITE) or go (READ) in the
 * host's bulk area for this node, which the node has mapped (BOOT's
 * descriptor), at offset @raddr; @raddr + @len stays inside the area
 * (the host checks it against the area's size; at most SK_HMSG_AREA_MAX).
 * Nothing follows the struct. */
#define SK_HIO_HOSTBUF 1u
/* WRITE: all @len bytes or the error (a write left behind). */
#define SK_HIO_WHOLE   2u
/*
 * WRITE with SK_HIO_HOSTBUF and SK_HIO_WHOLE, @raddr a slice's start: the
 * node may go on adding bytes to the slice after it sent the request,
 * until the host takes it. A node's area is then followed by
 * SK_HMSG_CTL_SIZE bytes of control words, a uint32_t per slice: the
 * slice's length, which the node sets before it sends and raises with a
 * compare-and-swap after each copy it adds; the host's thread takes it
 * with an exchange for SK_HMSG_CTL_TAKEN as it starts the write, and
 * writes that many bytes (from @len up to the chunk; else EINVAL). So a
 * loop of small writes fills a slice while the host writes the last one,
 * and every byte of a write that returned is the host's: none waits in
 * the node. (BOOT's area length says whether the words are there.)
 */
#define SK_HIO_GROW    4u
#define SK_HMSG_CTL_SIZE  4096u
#define SK_HMSG_CTL_TAKEN 0x80000000u

struct sk_hreq_lseek {
	int32_t  fd;
	int32_t  whence;
	int64_t  offset;
};

struct sk_hreq_mkdir {
	uint32_t mode;
	uint32_t reserved;
};

/* FTRUNCATE: @length >= 0, reserved 0. */
struct sk_hreq_trunc {
	int32_t  fd;
	uint32_t reserved;
	int64_t  length;
};

#define SK_HFSYNC_DATA 1u /* FSYNC's flag: fdatasync */
/* FINALIZE's flag: the second FINALIZE, sent once the node has handled
 * what its peers sent before their own (sk_dev_drain); only after its
 * reply does a node tear down its device and exit. */
#define SK_HFIN_LEAVE 1u

/* CONNECT, ACCEPT, CONNECTED and PEER: a rank and a service. Services name who owns
 * the endpoints of a connection on each node: 0 is libos's own
 * (sk_os_peer), others are handed to their listener (sk_os_listen). */
struct sk_hreq_peer {
	uint32_t rank;
	uint16_t service;
	uint16_t flags; /* ACCEPT: SK_HACCEPT_* */
};
#define SK_HACCEPT_MERGED  1u /* my own CONNECT to that rank is answered */
#define SK_HACCEPT_REFUSED 2u /* no endpoint: the connect fails */
#define SK_HSERVICE_MAX    64u /* services 0..63 */

struct sk_hstat {
	uint64_t size;
	uint64_t mtime_ns;
	uint64_t ino;
	uint32_t mode;
	uint32_t nlink;
};

/* BOOT: then argc NUL-terminated strings, then envc "NAME=value" ones,
 * then @bulk_len bytes: a struct sk_hmap, the host's bulk area for this
 * node as a memory file it may map for SK_HIO_HOSTBUF transfers:
 * SK_HMSG_BULK_DEPTH * @bulk_chunk bytes of slices, SK_HMSG_CTL_SIZE more
 * where the host takes SK_HIO_GROW, then the node's file memory; 0 when
 * the host offers none (the device does not share memory on this host).
 * @bulk_chunk: the most one bulk request of this job moves. */
struct sk_hboot {
	uint32_t rank;
	uint32_t size;
	uint32_t argc;
	uint32_t envc;
	uint64_t job_id;
	uint32_t bulk_len;
	uint32_t bulk_chunk;
};

/*
 * A node's area as the host makes it where they share memory: a memory
 * file (memfd_create) of @len bytes that the node maps by opening
 * /proc/@pid/fd/@fd, the host's own descriptor of it, before any seal.
 * The file is sparse: a page costs RAM once it is touched, and making the
 * area costs the host nothing, however large the file memory in it
 * (UCX's shared-memory allocator writes every byte of a segment when it
 * makes one, which at 68 MiB a node was most of a large job's boot).
 * @boot_id is the host kernel's (/proc/sys/kernel/random/boot_id): a node
 * whose kernel is another declines the mapping, as a node that cannot
 * open the file does, and the bounce region serves its transfers.
 */
#define SK_HMAP_MAGIC 0x50414d53u /* "SMAP" little-endian */
#define SK_HMAP_BOOT_ID_LEN 40u

struct sk_hmap {
	uint32_t magic;
	uint32_t pid;
	int32_t  fd;
	uint32_t reserved;
	uint64_t len;
	char     boot_id[SK_HMAP_BOOT_ID_LEN]; /* NUL-padded text */
};

/* The host's side: a memory file of @len bytes, mapped at *@p and
 * described in @d; the file stays open until sk_hmap_destroy. 0, or
 * -errno. */
int sk_hmap_create(size_t len, struct sk_hmap *d, void **p);
void sk_hmap_destroy(struct sk_hmap *d, void *p);
/* The node's side: map the file @desc (@len bytes of BOOT) describes; its
 * length in *@len_p. NULL, errno set, where it cannot: a descriptor that
 * is not one (EINVAL), another kernel (EXDEV), a file it cannot open or
 * that is not as described. */
void *sk_hmap_open(const void *desc, size_t len, size_t *len_p);

_Static_assert(sizeof(struct sk_hmap) == 64, "hmap is 64 bytes");
_Static_assert(sizeof(struct sk_hmsg_hdr) == 24, "header is 24 bytes");
_Static_assert(sizeof(struct sk_hreq_open) == 8, "open is 8 bytes");
_Static_assert(sizeof(struct sk_hreq_fd) == 8, "fd is 8 bytes");
_Static_assert(sizeof(struct sk_hreq_io) == 24, "io is 24 bytes");
_Static_assert(sizeof(struct sk_hreq_lseek) == 16, "lseek is 16 bytes");
_Static_assert(sizeof(struct sk_hreq_mkdir) == 8, "mkdir is 8 bytes");
_Static_assert(sizeof(struct sk_hreq_trunc) == 16, "trunc is 16 bytes");
_Static_assert(sizeof(struct sk_hreq_peer) == 8, "peer is 8 bytes");
_Static_assert(sizeof(struct sk_hstat) == 32, "stat is 32 bytes");
_Static_assert(sizeof(struct sk_hboot) == 32, "boot is 32 bytes");

/* A request as the host sees it after sk_hmsg_parse(): every field checked,
 * every string NUL-terminated inside the message. Pointers point into the
 * message buffer. */
struct sk_hreq {
	struct sk_hmsg_hdr hdr;
	union {
		struct { const void *data; size_t len; } bytes; /* READY,
		                                 * CONSOLE, inline WRITE data,
		                                 * a bulk READ's or WRITE's key */
		uint32_t             max;        /* STDIN_READ */
		struct { int32_t code; const char *msg; } abort;
		struct { struct sk_hreq_open o; const char *path; } open;
		struct sk_hreq_fd    fd;         /* CLOSE, FSTAT, READDIR,
		                                  * FSYNC */
		struct sk_hreq_lseek lseek;
		struct { struct sk_hreq_mkdir m; const char *path; } mkdir;
		const char          *path;       /* UNLINK, STAT */
		struct sk_hreq_trunc trunc;      /* FTRUNCATE */
		struct { const char *from, *to; } rename;
		struct { struct sk_hreq_peer p; const void *blob;
			 size_t len; } peer;     /* CONNECT, ACCEPT,
		                                  * CONNECTED (no blob) */
	} u;
	struct sk_hreq_io io;                    /* READ, WRITE */
};

/*
 * Check a request that arrived in a receive slot (@buf, @len bytes) and
 * fill @req. Returns SK_OK, or SK_ERR_MALFORMED with a one-line reason in
 * @why (static text): a short or overlong message, a length field that
 * disagrees with the bytes, an unknown type, a missing NUL, a bad size.
 * Never reads outside [buf, buf + len).
 */
sk_status_t sk_hmsg_parse(const void *buf, size_t len, struct sk_hreq *req,
			  const char **why);

const char *sk_hmsg_type_str(unsigned type);

#ifdef __cplusplus
}
#endif

#endif /* SKIFF_HOSTPROTO_H */
