/*
 * skrun's view of a job: the nodes it started and the state of each, shared
 * by the launcher's parts, and the calls of the parts below skrun's own.
 *
 * The parts call downward only, in this order (README.md):
 *   job.c      replies to a node; sk_job_abort and sk_job_output, which
 *              reach skrun through the ops it hands down (struct sk_job_ops)
 *   connect.c  connections between nodes, the barrier
 *   services.c the host services over the fabric (uses connect.c, the
 *              file threads fileq.c and the file service fileserv.c)
 *   bootsrv.c  the TCP bootstrap (uses services.c)
 * and above them skrun's own parts (skrun.h): processes, output and job
 * control. A lower part that must tell skrun something calls through the
 * ops, never a function of skrun's.
 */
#ifndef SKIFF_LAUNCHER_JOB_H
#define SKIFF_LAUNCHER_JOB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <skiff/arena.h>
#include <skiff/chan.h>
#include <skiff/hostproto.h>
#include <skiff/loop.h>
#include <skiff/verbs.h>

#include "fileserv.h"
#include "opts.h"

/* Output of one node stream, held back until a whole line is in when lines
 * are tagged. */
struct sk_outbuf {
	char  *buf;
	size_t len, cap;
};

struct sk_fop;

/* One of a node's output pipes. */
struct sk_pipe {
	struct sk_watch  w;
	struct sk_hnode *node;
	int              stream; /* 1 stdout, 2 stderr */
};

#define SK_NO_RANK UINT32_MAX

/* A node's CONNECT, held by the host until the node it names answers. A
 * node has at most one in flight (libos/peer.c). */
struct sk_hconn {
	bool             active;
	bool             delivered;   /* PEER went to the target */
	bool             answer_owed; /* the reply waits for a send slot */
	unsigned         to;
	uint16_t         service;
	uint16_t         blob_len;
	uint64_t         req_id;
	int64_t          result;
	struct sk_hnode *next;        /* in the target's queue */
	char             blob[SK_BLOB_MAX]; /* ours, then the answer's */
};

struct sk_hnode {
	unsigned          rank;
	const char       *host;      /* where it runs */
	bool              local;     /* on this machine */
	bool              srun;      /* its host's agent is a Slurm step */
	pid_t             pid;       /* the node (on its host), or its
	                              * agent's ssh or srun until known */
	struct sk_pipe    pipe[2];   /* its stdout and stderr pipes */
	struct sk_outbuf  out[2];    /* partial lines, with --tag-output */
	struct sk_job    *job;

	/* lifecycle */
	bool              joined;    /* a hello with the secret was accepted */
	bool              ready;     /* READY received */
	bool              finalized; /* FINALIZE received */
	bool              exited;
	int               status;    /* from waitpid */

	/* fabric */
	struct sk_ep     *ep;
	struct sk_chan    chan;
	struct sk_rkey   *rkey;      /* its bounce region, imported on first
	                              * use */
	uint16_t          desc_len;  /* that region's descriptor, from READY */
	char              desc[SK_BLOB_MAX];
	bool              link_down;
	struct sk_timer   cut_t;     /* closes the endpoint after a cut */
	struct sk_timer   lost_t;    /* its link failed: wait for its exit */
	struct sk_timer   gone_t;    /* exited: its last messages, then gone */
	uint64_t          exited_ns; /* when its exit was seen */
	sk_status_t       lost_st;
	uint64_t          ready_req;
	bool              stdin_waiting;
	uint64_t          stdin_req;
	uint32_t          stdin_max;

	/* connections between nodes (connect.c) */
	struct sk_hconn   conn;       /* its own CONNECT */
	struct sk_hnode  *connq_head; /* CONNECTs to it, oldest first */
	struct sk_hnode  *connq_tail;
	struct sk_hnode  *serving;    /* the CONNECT it is answering */
	bool              listening;  /* its LISTEN/ACCEPT awaits a PEER */
	uint64_t          listen_req;
	bool              conn_closed; /* finalized or gone: refuse */
	unsigned          confirm_to; /* owes CONNECTED to (or SK_NO_RANK) */
	unsigned          unconfirmed; /* ACCEPTs whose node is not up */
	bool              fin_held;   /* FINALIZE waits for them */
	uint64_t          fin_req;
	bool              left;       /* the second FINALIZE (LEAVE) came */
	bool              leave_held; /* its reply waits for every node's */
	uint64_t          leave_req;
	bool              in_barrier;
	bool              barrier_owed;
	uint64_t          barrier_req;

	/* files */
	struct sk_fsrv_files files;
	char             *bulk;      /* SK_HMSG_BULK_DEPTH * job->bulk_chunk */
	/* When shared with the node (the node may map it, SK_HIO_HOSTBUF):
	 * a memory file of its own, and its registration, for a node that
	 * does not map it (its transfers then go by RDMA). */
	bool              bulk_shared;
	struct sk_hmap    bulk_map;
	struct sk_mr     *bulk_mr;
	struct sk_fop    *fops;      /* SK_HMSG_BULK_DEPTH requests (services.c) */
	unsigned          fops_busy; /* in flight */
	bool              fop_excl;  /* the one in flight has the files alone */
	bool              files_owed; /* gone while a thread had its files */
};

/*
 * What skrun does for the parts below it, which never call up: skrun hands
 * these down in sk_job.ops before any of them runs. Called on the loop's
 * thread only.
 */
struct sk_job_ops {
	/* End the job with exit status @code unless it is ending already,
	 * saying why (@fmt and @ap, printf's). */
	void (*abort)(struct sk_job *job, int code, const char *fmt,
		      va_list ap) __attribute__((format(printf, 3, 0)));
	/* Bytes node @n wrote on @stream (1 stdout, 2 stderr). */
	void (*output)(struct sk_job *job, struct sk_hnode *n, int stream,
		       const char *buf, size_t len);
};

struct sk_job {
	const struct sk_job_ops *ops; /* skrun's, for the parts below it */
	struct sk_job_opts opts;
	unsigned          size;
	struct sk_hnode  *node;       /* [size] */
	uint32_t          bulk_chunk; /* sk_services_bulk_chunk(size) */
	size_t            file_mem;   /* a node's, after its mapped slices */
	uint64_t          id;
	uint8_t           secret[SK_BOOT_SECRET_LEN];
	char              secret_hex[2 * SK_BOOT_SECRET_LEN + 1];
	char              hostname[256];
	bool              srun;      /* inside Slurm: ranks are srun steps */
	const char       *slurm_node; /* inside sbatch: the allocation's
				       * node skrun runs on, whose ranks it
				       * forks, or NULL */

	struct sk_dev    *dev;
	struct sk_loop   *loop;
	struct sk_arena  *arena;
	struct sk_fsrv    fsrv;
	const char       *provider;   /* the host's, given to every node */
	const char       *nofabric;   /* why there is no dev, or NULL */

	/* bootstrap server */
	int               listen_fd;
	struct sk_watch   listen_w;
	char              boot_addr[300]; /* host:port for the nodes */
	/* SKIFF_BOOT_TIMEOUT_MS: a node gives up on its welcome after it,
	 * so a connection with no whole hello by then is no node's. */
	unsigned long     boot_timeout_ms;
	unsigned          njoined, nready, nboot_done;
	unsigned          nbarrier;   /* nodes in the barrier */
	bool              welcomed;   /* every node joined or left */
	bool              booted;     /* the BOOT replies went out */

	/* job control */
	int               sig_fd;
	struct sk_watch   sig_w;
	struct sk_timer   timeout_t;
	struct sk_timer   kill_t;
	bool              aborting;
	bool              killed;     /* SIGKILL sent */
	int               fwd_sig;    /* a signal skrun forwarded, or 0 */
	int               exit_code;  /* the first failure's */
	bool              have_code;
	unsigned          nexited;
	unsigned          open_pipes;
	bool              stdin_eof;
	struct sk_watch   stdin_w;
};

/* job.c: what every part may call, whatever its place */

/* Answer request @req_id of node @n with a message of @type: @result and
 * the payload @p1 (@len1 bytes) then @p2 (@len2). Nothing when its link
 * is down. The caller has checked sk_chan_can_send(). */
void sk_reply(struct sk_hnode *n, uint64_t req_id, uint16_t type,
	      int64_t result, const void *p1, size_t len1, const void *p2,
	      size_t len2);
/* End the job (job->ops->abort): "skrun: <why>; aborting the job". */
void sk_job_abort(struct sk_job *job, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Node @n's output (job->ops->output). Lines of one node stay whole and
 * in order; with --tag-output each gets its tag. */
void sk_job_output(struct sk_job *job, struct sk_hnode *n, int stream,
		   const char *buf, size_t len);

/* connect.c: connections between nodes, and the barrier */

/* A CONNECT, CONNECTED, LISTEN or ACCEPT (sk_conn_serve) or a BARRIER
 * (sk_barrier_serve) from @n. Returns NULL, or what @n sent that breaks
 * the protocol ("a second LISTEN"): the caller cuts it off. */
const char *sk_conn_serve(struct sk_job *job, struct sk_hnode *n,
			  const struct sk_hreq *req);
const char *sk_barrier_serve(struct sk_job *job, struct sk_hnode *n,
			     const struct sk_hreq *req);
/* The node finalized, exited or lost its link: refuse what waits for it,
 * drop what it asked, and let a barrier go on without it. */
void sk_conn_node_closed(struct sk_job *job, struct sk_hnode *n);
/* FINALIZE from @n: answer it once every node that connected to it has
 * its end up and every node has finalized; the second (SK_HFIN_LEAVE),
 * once every node has sent its own. Returns NULL, or what breaks the
 * protocol (a LEAVE before the FINALIZE's reply, a second of either). */
const char *sk_conn_finalize(struct sk_job *job, struct sk_hnode *n,
			     const struct sk_hreq *req);
/* Answer the FINALIZEs held for every node to finalize, if they now are
 * (a node finalized or went). */
void sk_conn_fin_release(struct sk_job *job);
/* Send what waited for a send slot to @n. */
void sk_conn_writable(struct sk_job *job, struct sk_hnode *n);

/* services.c */

/* Close a node's link for a protocol violation, saying what it sent. */
void sk_node_cut(struct sk_hnode *n, const char *what, const char *why);
/* The most one bulk file request of a job of @np nodes moves (BOOT's
 * bulk_chunk): each node's bulk area is SK_HMSG_BULK_DEPTH of them;
 * @pinned: skrun's registered memory is pinned (no direct_mem). */
uint32_t sk_services_bulk_chunk(unsigned np, bool pinned);
/* The file memory each node of @np gets after its mapped slices, for
 * sk_file_alloc (SKIFF_FILE_MEM_MB, else a share of skrun's budget); 0
 * with @err set for a bad setting. */
size_t sk_services_file_mem(unsigned np, const char **err);
sk_status_t sk_services_connect(struct sk_job *job, struct sk_hnode *n,
				const void *addr, size_t len);
/* Undo sk_services_connect (its bulk buffer stays in the arena). */
void sk_services_disconnect(struct sk_job *job, struct sk_hnode *n);
void sk_services_boot(struct sk_job *job);
void sk_services_stdin(struct sk_job *job);
/* A node's process ended: its last console lines and writes still in the
 * channel are taken for a few loop turns (while its file requests run, up
 * to 2 s), then sk_services_node_gone. */
void sk_services_node_exited(struct sk_job *job, struct sk_hnode *n);
/* Whether a node that exited is still being drained so. */
bool sk_services_draining(const struct sk_job *job);
void sk_services_node_gone(struct sk_job *job, struct sk_hnode *n);
/* At the job's end: close what the nodes left open, except, unless
 * @threads_gone (sk_fileq_stop found no request running), the files a
 * thread may still be in. Returns how many nodes had one. */
unsigned sk_services_files_cleanup(struct sk_job *job, bool threads_gone);

/* bootsrv.c */

int sk_bootsrv_start(struct sk_job *job, bool remote);
/* A node left before joining (or the job ends): welcome what can be. */
void sk_bootsrv_check(struct sk_job *job);
void sk_bootsrv_stop(struct sk_job *job);

/*
 * Check a bootstrap hello (@buf, @len bytes, from an untrusted socket).
 * Returns 1 when the whole message is in (*@used_p bytes: the hello and its
 * blob, whose pointer and length go to @blob_p and @blob_len_p, pointing into
 * @buf), 0 when more bytes are needed, -1 when it is malformed (@why set).
 * @max_size bounds hello->size.
 */
int sk_boot_hello_parse(const void *buf, size_t len, unsigned max_size,
			struct sk_boot_hello *hello, const void **blob_p,
			uint16_t *blob_len_p, size_t *used_p, const char **why);

#endif /* SKIFF_LAUNCHER_JOB_H */
