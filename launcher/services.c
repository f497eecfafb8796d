/*
 * The host services: what a node asks of the host over the fabric, on the
 * node's channel (hostproto.h, part 2). Console output, stdin for rank 0,
 * the BOOT reply with argv and environment, finalize and abort, and the
 * file service (fileserv.c) with bulk data moved by RDMA.
 *
 * Every request passes sk_hmsg_parse() first; a node that sends bytes it
 * fails is cut off: its endpoint is closed and the reason printed. The
 * answer to a request is always exactly one reply (sk_reply, job.c); when
 * no send slot is free the request stays in its receive slot (sk_chan)
 * until one is.
 *
 * Above connect.c and the file threads, below bootsrv.c and skrun: what
 * skrun must hear (a node's output, a reason to end the job) goes through
 * sk_job_output and sk_job_abort, the ops skrun handed down (job.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skiff/config.h>

#include "fileq.h"
#include "job.h"

static struct sk_hnode *sk_chan_node(struct sk_chan *chan)
{
	return chan->user;
}

static void sk_node_cut_timer(struct sk_timer *t)
{
	struct sk_hnode *n = (struct sk_hnode *)((char *)t -
						 offsetof(struct sk_hnode,
							  cut_t));

	if (n->rkey) {
		sk_rkey_destroy(n->rkey);
		n->rkey = NULL;
	}
	if (n->ep) {
		sk_ep_destroy(n->ep);
		n->ep = NULL;
	}
}

void sk_node_cut(struct sk_hnode *n, const char *what, const char *why)
{
	fprintf(stderr, "skrun: rank %u on %s sent %s%s%s%s; closing its "
			"connection\n",
		n->rank, n->host, what, why ? " (" : "", why ? why : "",
		why ? ")" : "");
	n->link_down = true;
	sk_chan_cleanup(&n->chan);
	sk_conn_node_closed(n->job, n);
	/* Close the endpoint outside this completion's callback: the node's
	 * pending and later requests then fail (ENOTCONN) instead of waiting
	 * for replies that will never come. */
	n->cut_t.cb = sk_node_cut_timer;
	sk_timer_start(n->job->loop, &n->cut_t, 0);
}

/* ---- files ---- */

/*
 * A node's file requests. Their system calls run on the file threads
 * (fileq.h), so a slow disk or a FIFO that waits holds up that node alone;
 * the fabric (bulk RDMA, the reply) stays on the loop's thread.
 *
 * A node has up to SK_HMSG_BULK_DEPTH requests in flight, each with its
 * own slice (a chunk) of the node's bulk area, so that one chunk's RDMA, another's
 * system call and the node's copy of a third overlap (libos/file.c sends
 * them). Only reads and writes at explicit offsets run side by side:
 * they touch no shared state (pread/pwrite on a descriptor the node's
 * table keeps open). Everything else (open, close, a transfer at the file
 * position, readdir...) has the node's files to itself: it waits for those
 * in flight, and those after it wait for it. A request that cannot start
 * stays in its receive slot (on_msg says "not now") and comes back when
 * a reply has gone, in arrival order.
 *
 * The message is copied here before it is parsed again, so the thread
 * works on bytes nobody else can change, and their pointers stay valid
 * after the receive slot is reposted.
 */
struct sk_fop {
	struct sk_fileq_req q;
	struct sk_op        bulk_op;
	struct sk_hnode    *node;
	char               *bulk;       /* its slice of the node's bulk area */
	char               *data;       /* where this one's bulk bytes are */
	struct sk_rkey     *key;        /* the node's buffer's, for this one */
	bool                busy;
	bool                on_thread;  /* between submit and ->done */
	bool                owed;       /* its reply waits for a send slot */
	struct sk_hreq      req;        /* parsed from msg */
	int64_t             rc;
	const void         *out;
	size_t              outlen;
	struct sk_hstat     st;
	/* A large read split over two file threads (sk_fop_split): the
	 * second part's request and count, the first part's length (0:
	 * not split), the parts still on a thread. */
	struct sk_fileq_req q2;
	int64_t             rc2;
	uint32_t            half;
	unsigned            parts;
	char                msg[SK_HMSG_SLOT_SIZE];
	char                buf[SK_HMSG_PAYLOAD_MAX]; /* inline read, readdir */
};

/* The registration the node's bulk area is in. */
static const struct sk_mr *sk_services_bulk_mr(struct sk_job *job,
					       const struct sk_hnode *n)
{
	return n->bulk_shared ? n->bulk_mr : sk_arena_mr(job->arena);
}

static bool sk_io_req(const struct sk_hreq *req)
{
	return req->hdr.type == SK_HMSG_READ || req->hdr.type == SK_HMSG_WRITE;
}

/* The bytes are in the node's bulk area on the host, which it maps. */
static bool sk_fop_hostbuf(const struct sk_fop *f)
{
	return sk_io_req(&f->req) && (f->req.hdr.flags & SK_HIO_HOSTBUF);
}

static bool sk_fop_bulk(const struct sk_fop *f)
{
	return sk_io_req(&f->req) &&
	       (f->req.io.raddr != 0 || sk_fop_hostbuf(f));
}

/* Whether @req may run beside the node's other file requests. */
static bool sk_fop_shared(const struct sk_hreq *req)
{
	return sk_io_req(req) && req->io.offset >= 0;
}

static bool sk_fops_on_thread(const struct sk_hnode *n)
{
	unsigned i;

	for (i = 0; n->fops && i < SK_HMSG_BULK_DEPTH; i++)
		if (n->fops[i].on_thread)
			return true;
	return false;
}

/* The request is over: its slot may take the node's next. */
static void sk_fop_end(struct sk_fop *f)
{
	struct sk_hnode *n = f->node;

	f->busy = false;
	f->owed = false;
	if (f->key) {
		sk_rkey_destroy(f->key);
		f->key = NULL;
	}
	n->fops_busy--;
	if (n->fops_busy == 0)
		n->fop_excl = false;
	if (n->files_owed && !sk_fops_on_thread(n)) {
		/* The node went while a thread had its files. */
		n->files_owed = false;
		sk_fsrv_files_cleanup(&n->files);
	}
	/* An exited node's requests that waited for this slot: no reply's
	 * completion will offer them again. */
	if (n->exited && !n->link_down)
		sk_chan_resume(&n->chan);
}

static void sk_fop_reply(struct sk_fop *f)
{
	struct sk_hnode *n = f->node;

	if (!n->link_down && !sk_chan_can_send(&n->chan)) {
		f->owed = true; /* on_writable sends it */
		return;
	}
	sk_reply(n, f->req.hdr.req_id, SK_HMSG_REPLY, f->rc, f->out,
		 f->outlen, NULL, 0);
	sk_fop_end(f);
}

static void sk_fop_fail(struct sk_fop *f, int64_t rc)
{
	f->rc = rc;
	f->out = NULL;
	f->outlen = 0;
	sk_fop_reply(f);
}

/*
 * A growing write's length (SK_HIO_GROW): take its slice's length word,
 * which the node may have raised since it sent the request, so that it
 * adds no more. On the file thread, as the write starts: the longer the
 * node had, the more it added. The length, or -EINVAL for one that is not
 * the node's to give (the node's bug, its own file's loss).
 */
static int64_t sk_fop_grown(struct sk_fop *f)
{
	uint32_t chunk = f->node->job->bulk_chunk, len;
	uint32_t *word;

	/* A slice's start (never file memory: its word would be past the
	 * page of them). */
	if (f->req.io.raddr % chunk != 0 ||
	    f->req.io.raddr >= SK_HMSG_BULK_DEPTH * (uint64_t)chunk)
		return -EINVAL;
	word = (uint32_t *)(f->node->bulk + SK_HMSG_BULK_DEPTH *
						   (size_t)chunk) +
	       f->req.io.raddr / chunk;
	len = __atomic_exchange_n(word, SK_HMSG_CTL_TAKEN, __ATOMIC_ACQUIRE);
	if (len < f->req.io.len || len > chunk)
		return -EINVAL;
	return len;
}

/* On a file thread: the system calls, nothing else. */
static void sk_fop_work(struct sk_fileq_req *q)
{
	struct sk_fop *f = (struct sk_fop *)((char *)q -
					     offsetof(struct sk_fop, q));
	const struct sk_hreq *req = &f->req;
	struct sk_hnode *n = f->node;
	struct sk_fsrv *srv = &n->job->fsrv;
	size_t used = 0;
	int64_t rc;

	f->out = NULL;
	f->outlen = 0;
	switch (req->hdr.type) {
	case SK_HMSG_OPEN:
		rc = sk_fsrv_open(srv, &n->files, req->u.open.path,
				  req->u.open.o.flags, req->u.open.o.mode);
		break;
	case SK_HMSG_CLOSE:
		rc = sk_fsrv_close(&n->files, req->u.fd.fd);
		break;
	case SK_HMSG_READ:
		if (sk_fop_bulk(f)) {
			/* Into the bulk slice: the node's mapping of it, or
			 * the loop's thread writes it to the node. */
			rc = sk_fsrv_read(&n->files, req->io.fd, f->data,
					  f->half ? f->half : req->io.len,
					  req->io.offset);
			break;
		}
		rc = sk_fsrv_read(&n->files, req->io.fd, f->buf, req->io.len,
				  req->io.offset);
		if (rc > 0) {
			f->out = f->buf;
			f->outlen = (size_t)rc;
		}
		break;
	case SK_HMSG_WRITE: {
		const void *src = sk_fop_bulk(f) ? f->data : req->u.bytes.data;
		size_t len = sk_fop_bulk(f) ? req->io.len : req->u.bytes.len;

		if (req->hdr.flags & SK_HIO_GROW) {
			int64_t grown = sk_fop_grown(f);

			if (grown < 0) {
				rc = grown;
				break;
			}
			len = (size_t)grown;
		}

		/* SK_HIO_WHOLE: all of it or the error (a write left
		 * behind, whose count nobody waits for). */
		rc = req->hdr.flags & SK_HIO_WHOLE ?
			     sk_fsrv_write_all(&n->files, req->io.fd, src, len,
					       req->io.offset) :
			     sk_fsrv_write(&n->files, req->io.fd, src, len,
					   req->io.offset);
		break;
	}
	case SK_HMSG_LSEEK:
		rc = sk_fsrv_lseek(&n->files, req->u.lseek.fd,
				   req->u.lseek.offset, req->u.lseek.whence);
		break;
	case SK_HMSG_FSTAT:
		rc = sk_fsrv_fstat(&n->files, req->u.fd.fd, &f->st);
		if (rc >= 0) {
			f->out = &f->st;
			f->outlen = sizeof(f->st);
		}
		break;
	case SK_HMSG_UNLINK:
		rc = sk_fsrv_unlink(srv, req->u.path);
		break;
	case SK_HMSG_STAT:
		rc = sk_fsrv_stat(srv, req->u.path, &f->st);
		if (rc >= 0) {
			f->out = &f->st;
			f->outlen = sizeof(f->st);
		}
		break;
	case SK_HMSG_FSYNC:
		rc = sk_fsrv_fsync(&n->files, req->u.fd.fd,
				   req->hdr.flags & SK_HFSYNC_DATA);
		break;
	case SK_HMSG_FTRUNCATE:
		rc = sk_fsrv_ftruncate(&n->files, req->u.trunc.fd,
				       req->u.trunc.length);
		break;
	case SK_HMSG_RENAME:
		rc = sk_fsrv_rename(srv, req->u.rename.from,
				    req->u.rename.to);
		break;
	case SK_HMSG_MKDIR:
		rc = sk_fsrv_mkdir(srv, req->u.mkdir.path,
				   req->u.mkdir.m.mode);
		break;
	case SK_HMSG_READDIR:
		rc = sk_fsrv_readdir(&n->files, req->u.fd.fd, f->buf,
				     sizeof(f->buf), &used);
		if (rc > 0) {
			f->out = f->buf;
			f->outlen = used;
		}
		break;
	default:
		rc = -ENOSYS;
		break;
	}
	f->rc = rc;
}

/* On a file thread: the second part of a split read (sk_fop_split). */
static void sk_fop_work2(struct sk_fileq_req *q)
{
	struct sk_fop *f = (struct sk_fop *)((char *)q -
					     offsetof(struct sk_fop, q2));
	const struct sk_hreq_io *io = &f->req.io;

	f->rc2 = sk_fsrv_read(&f->node->files, io->fd, f->data + f->half,
			      io->len - f->half, io->offset + f->half);
}

/* The CPUs this process may run on (its affinity), at least 1. */
static unsigned sk_services_cpus(void)
{
	static unsigned cpus;
	cpu_set_t set;

	if (cpus == 0) {
		cpus = 1;
		if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
		    CPU_COUNT(&set) > 1)
			cpus = (unsigned)CPU_COUNT(&set);
	}
	return cpus;
}

/*
 * Whether to split a large read at an offset over two file threads: only
 * while two threads would find cores no other file request holds. One
 * node reading in 1 MiB requests into its file memory leaves a core
 * idle otherwise (the copy is the host's pread, one thread per request,
 * and the node sleeps until the reply); where the threads already have a
 * request for every core, a split only adds a part's hand-offs (measured
 * on 2 cores: 4 GiB read by 4 nodes took 0.70-0.74 s in halves, 0.52-0.56
 * whole). Reads only: a file's writes run one at a time (fileq.c).
 */
#define SK_FOP_SPLIT_MIN (512u << 10)

static bool sk_fop_split(struct sk_fop *f)
{
	const struct sk_hreq_io *io = &f->req.io;

	if (f->req.hdr.type != SK_HMSG_READ || !sk_fop_bulk(f) ||
	    io->offset < 0 || io->len < SK_FOP_SPLIT_MIN ||
	    sk_fileq_load() + 2 > sk_services_cpus())
		return false;
	/* Page-aligned halves keep an O_DIRECT read's alignment. */
	f->half = (io->len / 2) & ~4095u;
	return true;
}

static void sk_fop_done(struct sk_fileq_req *q);

static void sk_fop_submit(struct sk_fop *f)
{
	f->on_thread = true;
	/* A file's writes run one at a time (fileq.c says why). */
	f->q.key = f->req.hdr.type == SK_HMSG_WRITE ?
			   sk_fsrv_write_key(&f->node->files, f->req.io.fd) :
			   0;
	f->q.work = sk_fop_work;
	f->q.done = sk_fop_done;
	f->half = 0;
	f->parts = 1;
	if (sk_fop_split(f)) {
		f->parts = 2;
		f->q2 = (struct sk_fileq_req){.work = sk_fop_work2,
					      .done = sk_fop_done};
		sk_fileq_submit(&f->q2);
	}
	sk_fileq_submit(&f->q);
}

/* Back on the loop's thread, once every part is. */
static void sk_fop_done(struct sk_fileq_req *q)
{
	struct sk_fop *f = q->work == sk_fop_work2 ?
		(struct sk_fop *)((char *)q - offsetof(struct sk_fop, q2)) :
		(struct sk_fop *)((char *)q - offsetof(struct sk_fop, q));
	struct sk_hnode *n = f->node;
	struct sk_job *job = n->job;
	sk_status_t st;

	if (--f->parts > 0)
		return;
	if (f->half) {
		/* The first part whole: the second's bytes count too (its
		 * error after the first's bytes, as a short read). */
		if (f->rc == (int64_t)f->half)
			f->rc += f->rc2 > 0 ? f->rc2 : 0;
		f->half = 0;
	}
	f->on_thread = false;
	if (n->link_down || n->exited) {
		sk_fop_end(f);
		return;
	}
	if (f->req.hdr.type == SK_HMSG_READ && sk_fop_bulk(f) &&
	    !sk_fop_hostbuf(f) && f->rc > 0) {
		st = sk_post_write(n->ep, sk_services_bulk_mr(job, n), f->data,
				   (size_t)f->rc, f->key ? f->key : n->rkey,
				   f->req.io.raddr, 0, &f->bulk_op);
		if (st == SK_OK)
			return; /* sk_bulk_done replies */
		f->rc = -EIO;
	}
	sk_fop_reply(f);
}

/* The RDMA of a bulk transfer completed. */
static void sk_bulk_done(struct sk_op *op, const struct sk_wc *wc)
{
	struct sk_fop *f = (struct sk_fop *)((char *)op -
					     offsetof(struct sk_fop,
						      bulk_op));
	struct sk_hnode *n = f->node;

	if (n->link_down || n->exited) {
		sk_fop_end(f);
		return;
	}
	if (wc->status != SK_OK) {
		/* A bad address from the node, or the link died. */
		sk_fop_fail(f, -EFAULT);
		return;
	}
	if (f->req.hdr.type == SK_HMSG_READ) {
		sk_fop_reply(f); /* rc: pread's count */
		return;
	}
	sk_fop_submit(f); /* the data is in: write it to the file */
}

/* Whether a SK_HIO_HOSTBUF transfer lies inside the node's slices or its
 * file memory (not across, not on the length words). A growing write's
 * slice start is sk_fop_grown's to check. */
static bool sk_hostbuf_range_ok(const struct sk_job *job,
				const struct sk_hreq_io *io)
{
	uint64_t slices = SK_HMSG_BULK_DEPTH * (uint64_t)job->bulk_chunk;
	uint64_t mem = slices + SK_HMSG_CTL_SIZE;

	if (io->raddr + io->len <= slices)
		return true;
	return io->raddr >= mem && io->raddr + io->len <= mem + job->file_mem;
}

static void sk_bulk_start(struct sk_job *job, struct sk_fop *f)
{
	struct sk_hnode *n = f->node;
	const struct sk_hreq_io *io = &f->req.io;
	const struct sk_rkey *rk;
	sk_status_t st;

	if (sk_fop_hostbuf(f)) {
		/* The node's bytes are here already, or go here: no RDMA.
		 * The parser kept the range below SK_HMSG_AREA_MAX; this
		 * node's area may be smaller. */
		if (!n->bulk_shared || !sk_hostbuf_range_ok(job, io)) {
			sk_fop_fail(f, -EINVAL);
			return;
		}
		f->data = n->bulk + io->raddr;
		if (f->req.hdr.type == SK_HMSG_WRITE && io->len == 0)
			sk_fop_fail(f, 0);
		else
			sk_fop_submit(f);
		return;
	}
	f->data = f->bulk;
	if (io->len > job->bulk_chunk) { /* more than its slice holds */
		sk_fop_fail(f, -EINVAL);
		return;
	}
	if (f->req.u.bytes.len > 0) {
		/* The node's own buffer, registered for this call: a key
		 * that does not import is the node's error, as a bad
		 * address is. Imported without a round trip for the same
		 * reason as the bounce region's (below): the node keeps
		 * the registration until this request's reply. */
		st = sk_rkey_unpack_nowait(n->ep, f->req.u.bytes.data,
					   f->req.u.bytes.len, &f->key);
		if (st != SK_OK) {
			sk_fop_fail(f, -EFAULT);
			return;
		}
	} else if (n->rkey == NULL) {
		/* Imported on the first bulk transfer, without the ucx key
		 * check's round trip: the descriptor is the node's own, of
		 * its arena, which lives as long as its link to us, and a
		 * node that does not answer (stopped, hostile, busy over
		 * TCP) would otherwise hold this loop, and every other
		 * node's console, for SKIFF_UCX_KEY_CHECK_MS. */
		st = sk_rkey_unpack_nowait(n->ep, n->desc, n->desc_len,
					   &n->rkey);
		if (st != SK_OK) {
			sk_fop_end(f);
			sk_node_cut(n, "a bad arena descriptor",
				    sk_status_str(st));
			return;
		}
	}
	rk = f->key ? f->key : n->rkey;
	if (io->raddr < sk_rkey_addr(rk) || io->len > sk_rkey_len(rk) ||
	    io->raddr - sk_rkey_addr(rk) > sk_rkey_len(rk) - io->len) {
		sk_fop_fail(f, -EFAULT);
		return;
	}
	f->bulk_op.done = sk_bulk_done;
	if (f->req.hdr.type == SK_HMSG_READ) {
		sk_fop_submit(f); /* pread, then the RDMA write */
		return;
	}
	if (io->len == 0) {
		sk_fop_fail(f, 0);
		return;
	}
	st = sk_post_read(n->ep, sk_services_bulk_mr(job, n), f->data,
			  io->len, rk, io->raddr, 0, &f->bulk_op);
	if (st != SK_OK)
		sk_fop_fail(f, -EIO);
}

/* A file request (@req, parsed from @msg): false to leave it in its slot
 * until it can start. */
static bool sk_serve_file(struct sk_job *job, struct sk_hnode *n,
			  const struct sk_hreq *req, const void *msg,
			  size_t len)
{
	struct sk_fop *f = NULL;
	const char *why = "";
	bool shared = sk_fop_shared(req);
	unsigned i;

	if (n->fop_excl || (!shared && n->fops_busy > 0) ||
	    n->fops_busy == SK_HMSG_BULK_DEPTH)
		return false;
	if (n->fops == NULL) {
		n->fops = calloc(SK_HMSG_BULK_DEPTH, sizeof(*n->fops));
		if (n->fops == NULL) {
			sk_reply(n, req->hdr.req_id, SK_HMSG_REPLY, -ENOMEM,
				 NULL, 0, NULL, 0);
			return true;
		}
		for (i = 0; i < SK_HMSG_BULK_DEPTH; i++) {
			n->fops[i].node = n;
			n->fops[i].bulk = n->bulk +
					  (size_t)i * job->bulk_chunk;
		}
	}
	for (i = 0; i < SK_HMSG_BULK_DEPTH; i++)
		if (!n->fops[i].busy) {
			f = &n->fops[i];
			break;
		}
	if (f == NULL) /* fops_busy says there is one */
		return false;
	if (len > sizeof(f->msg)) {
		sk_node_cut(n, "a malformed message", "longer than a slot");
		return true;
	}
	memcpy(f->msg, msg, len);
	if (sk_hmsg_parse(f->msg, len, &f->req, &why) != SK_OK) {
		sk_node_cut(n, "a malformed message", why);
		return true;
	}
	f->busy = true;
	n->fops_busy++;
	n->fop_excl = !shared;
	if (sk_fop_bulk(f))
		sk_bulk_start(job, f);
	else
		sk_fop_submit(f);
	return true;
}

/* ---- requests ---- */

static void sk_serve_ready(struct sk_job *job, struct sk_hnode *n,
			   const struct sk_hreq *req)
{
	if (n->ready) {
		sk_node_cut(n, "a second READY", NULL);
		return;
	}
	if (req->u.bytes.len > sizeof(n->desc)) {
		sk_node_cut(n, "a bad arena descriptor",
			    "longer than SK_BLOB_MAX");
		return;
	}
	memcpy(n->desc, req->u.bytes.data, req->u.bytes.len);
	n->desc_len = (uint16_t)req->u.bytes.len;
	n->ready = true;
	n->ready_req = req->hdr.req_id;
	job->nready++;
	sk_services_boot(job);
}

static void sk_serve_stdin(struct sk_job *job, struct sk_hnode *n,
			   const struct sk_hreq *req)
{
	if ((int)n->rank != job->opts.stdin_rank || job->stdin_eof) {
		sk_reply(n, req->hdr.req_id, SK_HMSG_REPLY, 0, NULL, 0, NULL,
			 0);
		return;
	}
	if (n->stdin_waiting) {
		sk_reply(n, req->hdr.req_id, SK_HMSG_REPLY, -EBUSY, NULL, 0,
			 NULL, 0);
		return;
	}
	n->stdin_waiting = true;
	n->stdin_req = req->hdr.req_id;
	n->stdin_max = req->u.max;
	sk_watch_start(job->loop, &job->stdin_w);
}

static bool sk_services_on_msg(struct sk_chan *chan, void *msg, size_t len)
{
	struct sk_hnode *n = sk_chan_node(chan);
	struct sk_job *job = n->job;
	struct sk_hreq req;
	const char *why = "", *bad = NULL;

	if (n->link_down)
		return true;
	if (sk_hmsg_parse(msg, len, &req, &why) != SK_OK) {
		sk_node_cut(n, "a malformed message", why);
		return true;
	}
	/* A node that has exited: what it printed and wrote without waiting
	 * for an answer (console lines; writes left behind, which return
	 * once sent) is carried out, unanswered (sk_services_node_exited).
	 * Anything else it sent, it never had the answer to. */
	if (n->exited) {
		if (!n->ready || (req.hdr.type != SK_HMSG_CONSOLE &&
				  req.hdr.type != SK_HMSG_WRITE))
			return true;
	} else if (!sk_chan_can_send(chan)) {
		return false; /* every request gets a reply: wait for a slot */
	}
	if (!n->ready && req.hdr.type != SK_HMSG_READY) {
		sk_node_cut(n, "a request before READY",
			    sk_hmsg_type_str(req.hdr.type));
		return true;
	}
	switch (req.hdr.type) {
	case SK_HMSG_READY:
		sk_serve_ready(job, n, &req);
		break;
	case SK_HMSG_CONSOLE:
		sk_job_output(job, n, req.hdr.flags, req.u.bytes.data,
			      req.u.bytes.len);
		sk_reply(n, req.hdr.req_id, SK_HMSG_REPLY, 0, NULL, 0, NULL,
			 0);
		break;
	case SK_HMSG_STDIN_READ:
		sk_serve_stdin(job, n, &req);
		break;
	case SK_HMSG_FINALIZE:
		bad = sk_conn_finalize(job, n, &req);
		break;
	case SK_HMSG_CONNECTED:
	case SK_HMSG_CONNECT:
	case SK_HMSG_LISTEN:
	case SK_HMSG_ACCEPT:
		bad = sk_conn_serve(job, n, &req);
		break;
	case SK_HMSG_BARRIER:
		bad = sk_barrier_serve(job, n, &req);
		break;
	case SK_HMSG_ABORT:
		sk_reply(n, req.hdr.req_id, SK_HMSG_REPLY, 0, NULL, 0, NULL,
			 0);
		sk_job_abort(job, req.u.abort.code ? req.u.abort.code : 1,
			     "rank %u on %s called abort (code %d): %s",
			     n->rank, n->host, req.u.abort.code,
			     req.u.abort.msg);
		break;
	default:
		return sk_serve_file(job, n, &req, msg, len);
	}
	/* connect.c's word on a request that breaks the protocol. */
	if (bad != NULL)
		sk_node_cut(n, bad, NULL);
	return true;
}

/* How long a node whose link failed (SK_ERR_UNREACHABLE: the connection
 * manager heard its kernel close it; or an operation on it flushed) has
 * for its exit status to arrive and name the cause, as mpirun names the
 * signal, before skrun blames the link. */
#define SK_LOST_GRACE_MS 500

static void sk_node_lost(struct sk_hnode *n, sk_status_t st)
{
	if ((!n->finalized || n->fin_held || n->leave_held) && !n->exited &&
	    !n->job->aborting)
		sk_job_abort(n->job, 1, "lost the fabric link to rank %u on "
					"%s (%s)",
			     n->rank, n->host, sk_status_str(st));
}

static void sk_node_lost_timer(struct sk_timer *t)
{
	struct sk_hnode *n = (struct sk_hnode *)((char *)t -
						 offsetof(struct sk_hnode,
							  lost_t));

	sk_node_lost(n, n->lost_st);
}

static void sk_services_on_error(struct sk_chan *chan, sk_status_t st)
{
	struct sk_hnode *n = sk_chan_node(chan);

	n->link_down = true;
	sk_conn_node_closed(n->job, n);
	/* Close our endpoint too, as sk_node_cut does: a node that waits
	 * for a reply (its FINALIZE's, after it finalized) then sees its
	 * link fail instead of waiting forever, and so does skrun for it. */
	n->cut_t.cb = sk_node_cut_timer;
	sk_timer_start(n->job->loop, &n->cut_t, 0);
	/* After FINALIZE's reply the node is allowed to go; otherwise its
	 * process exit (waitpid) names the cause. A node that is alive but
	 * lost its link cannot serve the job, nor end (it waits for that
	 * reply): end it. Whatever the link said: a node killed while skrun
	 * RDMA-reads its buffer shows first as that READ flushed, before
	 * the connection manager's word or its exit status (seen on rdma
	 * in the guest: e2e killwrite mid, under --enable-recovery). */
	if (!n->exited) {
		n->lost_st = st;
		n->lost_t.cb = sk_node_lost_timer;
		sk_timer_start(n->job->loop, &n->lost_t, SK_LOST_GRACE_MS);
	}
}

/* Retry BOOT replies and stdin that waited for a send slot. */
static void sk_services_on_writable(struct sk_chan *chan)
{
	struct sk_hnode *n = sk_chan_node(chan);
	unsigned i;

	for (i = 0; n->fops && i < SK_HMSG_BULK_DEPTH; i++)
		if (n->fops[i].owed && sk_chan_can_send(chan))
			sk_fop_reply(&n->fops[i]);
	sk_conn_writable(n->job, n);
	sk_services_boot(n->job);
}

/*
 * A job's chunk: the most one bulk request moves, and a quarter of each
 * node's bulk area. Bytes in flight need only cover the fabric's
 * bandwidth-delay product (tens of KiB: 12 GB/s x 3 us on InfiniBand, 7
 * GB/s x 5 us between processes), which SK_HMSG_CHUNK_MIN x 4 already
 * does; what a larger chunk buys is fewer requests, each of which costs
 * a message, a reply and a file thread's wake-up (~25 us here): at 256
 * KiB that overhead is half a chunk's copy time, at 1 MiB an eighth. So
 * chunks are as large as skrun's memory for them allows: SK_BULK_BUDGET
 * over the job's nodes, a power of two from 64 KiB to 1 MiB (1 MiB up to
 * 64 nodes, 256 KiB at 256, 64 KiB from 1024). Where that memory is
 * registered with a NIC (@pinned: rdma, whose registration pins and
 * touches every page before the first node can boot: 256 MiB took the
 * 64-node boot in the TCG guest past its timeout), at most the bounce
 * region's chunk: 1 MiB a node, as the node's own.
 */
#define SK_BULK_BUDGET (256u << 20)

uint32_t sk_services_bulk_chunk(unsigned np, bool pinned)
{
	uint64_t per = SK_BULK_BUDGET / ((uint64_t)(np ? np : 1) *
					 SK_HMSG_BULK_DEPTH);
	uint32_t c = pinned ? SK_HMSG_BOUNCE_CHUNK : SK_HMSG_BULK_MAX;

	while (c > SK_HMSG_CHUNK_MIN && c > per)
		c >>= 1;
	return c;
}

/*
 * A node's file memory (sk_file_alloc: the application's buffers that
 * skrun's threads read into and write from, with no copy on the node):
 * after its slices and their length words, in the same memory file, where
 * the area is mapped. Address space until used (the file's pages come as
 * they are touched: hostproto.h, struct sk_hmap), so the default only
 * bounds skrun's: 64 MiB a node, 4 GiB in all.
 */
#define SK_FILE_MEM_BUDGET ((size_t)4 << 30)

size_t sk_services_file_mem(unsigned np, const char **err)
{
	const char *v = sk_config_str("SKIFF_FILE_MEM_MB");
	unsigned long mb;

	*err = NULL;
	if (strcmp(v, "auto") != 0) {
		if (sk_config_ulong("SKIFF_FILE_MEM_MB", 0, 65536, &mb) !=
		    SK_OK) {
			*err = "bad SKIFF_FILE_MEM_MB";
			return 0;
		}
		return (size_t)mb << 20;
	}
	mb = (unsigned long)(SK_FILE_MEM_BUDGET / (np ? np : 1) >> 20);
	if (mb > 64)
		mb = 64;
	return (size_t)mb << 20;
}

/*
 * The node's bulk area. Where the device maps peers' memory on this host
 * (ucx's shared memory, sk_dev_attr.direct_mem), the area is a memory file
 * of its own that the node maps (BOOT carries its descriptor): its
 * transfers then copy straight into and out of the memory the file
 * threads use, with no RDMA (SK_HIO_HOSTBUF). A file per node, each node
 * told of its own only (a process of the job's user could open the others
 * through /proc, as it could ptrace the nodes); registered too, for a
 * node that does not map it (another machine, SKIFF_FILE_MAP=0).
 * Elsewhere the area is arena memory the node never sees, as on rdma.
 */
static sk_status_t sk_services_bulk(struct sk_job *job, struct sk_hnode *n)
{
	size_t area = SK_HMSG_BULK_DEPTH * (size_t)job->bulk_chunk;
	/* Mapped, the slices are followed by their length words
	 * (SK_HIO_GROW) and the node's file memory. */
	size_t shared = area + SK_HMSG_CTL_SIZE + job->file_mem;
	struct sk_dev_attr attr;
	void *p;

	if (n->bulk_shared)
		return SK_OK; /* a hello again, after a connect that failed */
	sk_dev_query(job->dev, &attr);
	if (attr.direct_mem && sk_hmap_create(shared, &n->bulk_map, &p) == 0) {
		if (sk_mr_reg(job->dev, p, shared,
			      SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE,
			      &n->bulk_mr) == SK_OK) {
			n->bulk = p;
			n->bulk_shared = true;
			return SK_OK;
		}
		sk_hmap_destroy(&n->bulk_map, p);
	}
	n->bulk = sk_arena_alloc(job->arena, area, 4096);
	return n->bulk ? SK_OK : SK_ERR_NOMEM;
}

sk_status_t sk_services_connect(struct sk_job *job, struct sk_hnode *n,
				const void *addr, size_t len)
{
	sk_status_t st;

	if (job->dev == NULL) {
		/* Exit 1: the launch failed, as for any rank that cannot
		 * start (skrun.h, SK_EXIT_LAUNCH). */
		sk_job_abort(job, 1, "rank %u on %s is a Skiff program, but "
				     "skrun has no fabric here: %s; it cannot "
				     "boot", n->rank, n->host, job->nofabric);
		return SK_ERR_NODEV;
	}
	st = sk_ep_create_attr(job->dev, &SK_CHAN_EP_ATTR, &n->ep);
	if (st != SK_OK)
		return st;
	st = sk_ep_connect(n->ep, addr, len);
	if (st != SK_OK)
		goto err_destroy;
	st = sk_services_bulk(job, n);
	if (st != SK_OK)
		goto err_destroy;
	n->chan.on_msg = sk_services_on_msg;
	n->chan.on_error = sk_services_on_error;
	n->chan.on_writable = sk_services_on_writable;
	n->chan.user = n;
	st = sk_chan_init(&n->chan, job->loop, job->arena, n->ep);
	if (st != SK_OK)
		goto err_destroy;
	return SK_OK;

err_destroy:
	sk_ep_destroy(n->ep);
	n->ep = NULL;
	return st;
}

void sk_services_disconnect(struct sk_job *job, struct sk_hnode *n)
{
	sk_chan_cleanup(&n->chan);
	sk_ep_destroy(n->ep);
	n->ep = NULL;
}

/* BOOT replies go out once every node that joined is ready (or gone). */
void sk_services_boot(struct sk_job *job)
{
	char buf[SK_HMSG_PAYLOAD_MAX];
	size_t len = sizeof(struct sk_hboot);
	unsigned r;
	int i;

	if (!job->welcomed || job->booted)
		return;
	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];

		if (n->joined && !n->ready && !n->exited && !n->link_down)
			return;
	}
	/* argv, then the forwarded environment, NUL-separated. */
	for (i = 0; i < job->opts.argc; i++) {
		size_t l = strlen(job->opts.argv[i]) + 1;

		if (l > sizeof(buf) - len)
			goto too_big;
		memcpy(buf + len, job->opts.argv[i], l);
		len += l;
	}
	size_t nenv = 0;

	for (size_t k = 0; k < job->opts.nenv; k++) {
		const char *e = job->opts.env[k];
		char tmp[SK_HMSG_PAYLOAD_MAX];
		size_t l;

		if (strchr(e, '=') == NULL) {
			const char *v = getenv(e);

			if (v == NULL)
				continue;
			snprintf(tmp, sizeof(tmp), "%s=%s", e, v);
			e = tmp;
		}
		l = strlen(e) + 1;
		if (l > sizeof(buf) - len)
			goto too_big;
		memcpy(buf + len, e, l);
		len += l;
		nenv++;
	}
	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];
		struct sk_hboot b = {.rank = r, .size = job->size,
				     .argc = (uint32_t)job->opts.argc,
				     .envc = (uint32_t)nenv,
				     .job_id = job->id,
				     .bulk_chunk = job->bulk_chunk};
		size_t dlen = n->bulk_shared ? sizeof(n->bulk_map) : 0;

		if (!n->ready || n->link_down)
			continue;
		if (!sk_chan_can_send(&n->chan))
			return; /* on_writable calls again */
		if (dlen > sizeof(buf) - len)
			dlen = 0;
		b.bulk_len = (uint32_t)dlen;
		memcpy(buf, &b, sizeof(b));
		sk_reply(n, n->ready_req, SK_HMSG_BOOT, 0, buf, len,
			 &n->bulk_map, dlen);
		n->ready = true;
		job->nboot_done++;
		n->ready_req = UINT64_MAX;
	}
	job->booted = true;
	return;

too_big:
	sk_job_abort(job, 1, "argv and -x environment exceed %zu bytes",
		     (size_t)SK_HMSG_PAYLOAD_MAX);
}

/* Host stdin became readable: serve the waiting STDIN_READ of the rank
 * that reads it (0, or --stdin's; none: no rank waits). */
void sk_services_stdin(struct sk_job *job)
{
	struct sk_hnode *n;

	if (job->opts.stdin_rank < 0 ||
	    (unsigned)job->opts.stdin_rank >= job->size) {
		sk_watch_stop(job->loop, &job->stdin_w);
		return;
	}
	n = &job->node[job->opts.stdin_rank];
	char buf[SK_HMSG_PAYLOAD_MAX];
	ssize_t r;

	if (!n->stdin_waiting || n->link_down) {
		sk_watch_stop(job->loop, &job->stdin_w);
		return;
	}
	if (!sk_chan_can_send(&n->chan))
		return;
	r = read(STDIN_FILENO, buf, n->stdin_max);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0)
		job->stdin_eof = true;
	n->stdin_waiting = false;
	sk_watch_stop(job->loop, &job->stdin_w);
	sk_reply(n, n->stdin_req, SK_HMSG_REPLY, r < 0 ? -errno : r,
		 buf, r > 0 ? (size_t)r : 0, NULL, 0);
}

/* How long after a node's exit skrun still takes what it sent before it
 * ended, at the most (while its file requests run or wait for a slot). */
#define SK_EXITED_DRAIN_MS 2000u
#define SK_EXITED_TURN_MS  5u

static void sk_node_exited_timer(struct sk_timer *t)
{
	struct sk_hnode *n = (struct sk_hnode *)((char *)t -
						 offsetof(struct sk_hnode,
							  gone_t));
	struct sk_job *job = n->job;

	if (!n->link_down && sk_fops_on_thread(n) &&
	    sk_time_ns() - n->exited_ns < SK_EXITED_DRAIN_MS * 1000000ull) {
		sk_timer_start(job->loop, &n->gone_t, SK_EXITED_TURN_MS);
		return;
	}
	sk_services_node_gone(job, n);
}

bool sk_services_draining(const struct sk_job *job)
{
	for (unsigned r = 0; r < job->size; r++)
		if (sk_timer_armed(&job->node[r].gone_t))
			return true;
	return false;
}

void sk_services_node_exited(struct sk_job *job, struct sk_hnode *n)
{
	/* Its last messages may be in the channel still (a write that
	 * returned once sent, console lines flushed just before a kill):
	 * the loop's next turns take them, then the node is gone. */
	n->exited_ns = sk_time_ns();
	n->gone_t.cb = sk_node_exited_timer;
	sk_timer_start(job->loop, &n->gone_t, SK_EXITED_TURN_MS);
}

void sk_services_node_gone(struct sk_job *job, struct sk_hnode *n)
{
	if (sk_timer_armed(&n->gone_t))
		sk_timer_stop(job->loop, &n->gone_t);
	if (sk_timer_armed(&n->lost_t))
		sk_timer_stop(job->loop, &n->lost_t);
	n->link_down = true;
	sk_conn_node_closed(job, n);
	/* A thread may be in its files now: they close when it is done.
	 * A bulk RDMA in flight touches no file. */
	if (sk_fops_on_thread(n))
		n->files_owed = true;
	else
		sk_fsrv_files_cleanup(&n->files);
	if (n->rkey) {
		sk_rkey_destroy(n->rkey);
		n->rkey = NULL;
	}
	sk_services_boot(job);
}

unsigned sk_services_files_cleanup(struct sk_job *job, bool threads_gone)
{
	unsigned r, busy = 0;

	for (r = 0; r < job->size; r++) {
		struct sk_hnode *n = &job->node[r];

		/* The registration goes before the device; the memory stays
		 * while a thread may still use it. */
		if (n->bulk_mr) {
			sk_mr_dereg(n->bulk_mr);
			n->bulk_mr = NULL;
		}
		if (!threads_gone && sk_fops_on_thread(n)) {
			busy++; /* the exit closes them */
			continue;
		}
		sk_fsrv_files_cleanup(&n->files);
		free(n->fops);
		n->fops = NULL;
		if (n->bulk_shared) {
			sk_hmap_destroy(&n->bulk_map, n->bulk);
			n->bulk = NULL;
			n->bulk_shared = false;
		}
	}
	return busy;
}
