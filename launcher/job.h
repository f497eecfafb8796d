/*
 * skrun's view of a job: the nodes it started and the state of each, shared
 * by the launcher's parts (skrun.c: processes and job control; bootsrv.c:
 * the TCP bootstrap; services.c: the host services over the fabric).
 */
#ifndef SKIFF_LAUNCHER_JOB_H
#define SKIFF_LAUNCHER_JOB_H

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

/* One of a node's output pipes. */
struct sk_pipe {
	struct sk_watch  w;
	struct sk_hnode *node;
	int              stream; /* 1 stdout, 2 stderr */
};

struct sk_hnode {
	unsigned          rank;
	const char       *host;      /* where it runs */
	bool              local;     /* forked here, else through ssh */
	pid_t             pid;       /* the node, or its ssh client */
	int               stdin_fd;  /* ssh lifeline (remote), else -1 */
	struct sk_pipe    pipe[2];   /* its stdout and stderr pipes */
	struct sk_outbuf  out[2];    /* partial lines, with --tag-output */
	struct sk_job    *job;

	/* lifecycle */
	bool              joined;    /* a hello with the secret was accepted */
	bool              ready;     /* READY received */
	bool              finalized; /* FINALIZE received */
	bool              exited;
	int               status;    /* from waitpid */

	/* bootstrap */
	int               conn_fd;   /* held open until the welcome */
	void            **blob;      /* [size] addresses it made per peer */
	uint16_t         *blob_len;

	/* fabric */
	struct sk_ep     *ep;
	struct sk_chan    chan;
	struct sk_rkey   *rkey;      /* its arena */
	bool              link_down;
	struct sk_timer   cut_t;     /* closes the endpoint after a cut */
	uint64_t          ready_req;
	bool              stdin_waiting;
	uint64_t          stdin_req;
	uint32_t          stdin_max;

	/* files */
	struct sk_fsrv_files files;
	char             *bulk;      /* SK_HMSG_BULK_MAX in the host arena */
	struct sk_op      bulk_op;
	bool              bulk_busy;
	struct sk_hreq_io bulk_io;
	uint16_t          bulk_type;
	uint64_t          bulk_req;
};

struct sk_job {
	struct sk_job_opts opts;
	unsigned          size;
	struct sk_hnode  *node;       /* [size] */
	uint64_t          id;
	uint8_t           secret[SK_BOOT_SECRET_LEN];
	char              secret_hex[2 * SK_BOOT_SECRET_LEN + 1];
	char              hostname[256];

	struct sk_dev    *dev;
	struct sk_loop   *loop;
	struct sk_arena  *arena;
	struct sk_fsrv    fsrv;
	const char       *provider;   /* the host's, given to every node */

	/* bootstrap server */
	int               listen_fd;
	struct sk_watch   listen_w;
	char              boot_addr[300]; /* host:port for the nodes */
	unsigned          njoined, nready, nboot_done;
	bool              welcomed;   /* the welcomes went out */
	bool              booted;     /* the BOOT replies went out */

	/* job control */
	int               sig_fd;
	struct sk_watch   sig_w;
	struct sk_timer   timeout_t;
	struct sk_timer   kill_t;
	bool              aborting;
	bool              killed;     /* SIGKILL sent */
	int               exit_code;  /* the first failure's */
	bool              have_code;
	unsigned          nexited;
	unsigned          open_pipes;
	bool              stdin_eof;
	struct sk_watch   stdin_w;
};

/* skrun.c */
void sk_job_abort(struct sk_job *job, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sk_job_output(struct sk_job *job, struct sk_hnode *n, int stream,
		   const char *buf, size_t len);

/* bootsrv.c */
int sk_bootsrv_start(struct sk_job *job, bool remote);
/* A node left before joining (or the job ends): welcome what can be. */
void sk_bootsrv_check(struct sk_job *job);
void sk_bootsrv_stop(struct sk_job *job);

/*
 * Check a bootstrap hello (@buf, @len bytes, from an untrusted socket).
 * Returns 1 when the whole message is in (*@used_p bytes: the hello and its
 * blobs, whose pointers and lengths go to @blob/@blob_len, [1 + size]
 * entries, pointing into @buf), 0 when more bytes are needed, -1 when it is
 * malformed (@why set). @max_size bounds hello->size before any blob is
 * looked at.
 */
int sk_boot_hello_parse(const void *buf, size_t len, unsigned max_size,
			struct sk_boot_hello *hello, const void **blob,
			uint16_t *blob_len, size_t *used_p, const char **why);

/* services.c */
sk_status_t sk_services_connect(struct sk_job *job, struct sk_hnode *n,
				const void *addr, size_t len);
void sk_services_boot(struct sk_job *job);
void sk_services_stdin(struct sk_job *job);
void sk_services_node_gone(struct sk_job *job, struct sk_hnode *n);

#endif /* SKIFF_LAUNCHER_JOB_H */
