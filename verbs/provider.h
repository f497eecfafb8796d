/*
 * The provider interface: what verbs.c dispatches to.
 *
 * A provider is a const table of function pointers. verbs.c checks the
 * caller's arguments that do not depend on the provider (NULL pointers,
 * alignment, sizes) and forwards; a slot left NULL answers
 * SK_ERR_UNSUPPORTED, never a silent success. Provider objects embed the
 * generic ones below as their first member and reach their own with
 * container_of().
 */
#ifndef SKIFF_VERBS_PROVIDER_H
#define SKIFF_VERBS_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/verbs.h>

#define sk_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#define SK_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct sk_provider_ops;

struct sk_dev {
	const struct sk_provider_ops *ops;
	struct sk_dev_attr attr;
};

struct sk_mr {
	struct sk_dev *dev;
	void *addr;
	size_t len;
	unsigned access;
};

struct sk_ep {
	struct sk_dev *dev;
	void *user;
	int connected;
};

struct sk_rkey {
	struct sk_ep *ep;
	struct sk_dev *dev;    /* the key may outlive ep (sk_rkey_destroy) */
	uint64_t addr;
	uint64_t len;
	unsigned access;
	uint8_t *direct;       /* the byte at addr, mapped here (sk_rkey_ptr),
				* or NULL */
};

/* A work request: what one post call asks for, filled by verbs.c. (Not
 * libos's struct sk_op, a loop user's completion context.) */
struct sk_wr {
	uint32_t opcode;            /* enum sk_opcode */
	unsigned flags;             /* enum sk_post_flags */
	void *ctx;
	const struct sk_mr *mr;     /* may be NULL for inline data */
	void *laddr;
	size_t len;
	const struct sk_rkey *rkey; /* NULL for send */
	uint64_t raddr;
	uint32_t imm;               /* WRITE_IMM */
	uint64_t compare_add;       /* CAS: compare; FADD: add */
	uint64_t swap;              /* CAS */
};

/* A provider's device listing entry, for skinfo and "auto". */
struct sk_dev_info {
	char name[64];
	char transport[64];
	int usable; /* has an active port / can open */
};

/* A transport a device really uses, for skinfo: "tcp" on "eth0". */
struct sk_tl_info {
	char tl[32];
	char dev[64];
};

struct sk_provider_ops {
	const char *name;

	/* Fill up to @max entries; return how many devices exist. */
	int (*list)(struct sk_dev_info *info, int max);

	sk_status_t (*dev_open)(const char *device, struct sk_dev **dev_p);
	void (*dev_close)(struct sk_dev *dev);
	int (*dev_poll)(struct sk_dev *dev, struct sk_wc *wc, int max);
	int (*dev_fd)(const struct sk_dev *dev);
	/* @quiet: the caller slept on dev_fd since the last SK_OK and saw
	 * it stay unreadable (sk_dev_rearm); a provider may then skip what
	 * only a fired channel needs. */
	sk_status_t (*dev_arm)(struct sk_dev *dev, int quiet);
	/* optional: longest sleep before the next poll, -1 none */
	int (*dev_sleep_bound)(const struct sk_dev *dev);
	/* optional (sk_dev_drain): handle what peers already delivered */
	void (*dev_drain)(struct sk_dev *dev);

	sk_status_t (*mr_reg)(struct sk_dev *dev, void *addr, size_t len,
			      unsigned access, struct sk_mr **mr_p);
	/* sk_mr_alloc: page-rounded @len, zeroed memory */
	sk_status_t (*mr_alloc)(struct sk_dev *dev, size_t len,
				unsigned access, struct sk_mr **mr_p);
	void (*mr_dereg)(struct sk_mr *mr);
	sk_status_t (*mr_pack)(const struct sk_mr *mr, void *buf,
			       size_t *len_p);

	sk_status_t (*rkey_unpack)(struct sk_ep *ep, const void *buf,
				   size_t len, struct sk_rkey **rkey_p);
	/* optional: rkey_unpack without asking the peer (verbs.h); NULL
	 * when rkey_unpack never waits */
	sk_status_t (*rkey_unpack_nowait)(struct sk_ep *ep, const void *buf,
					  size_t len, struct sk_rkey **rkey_p);
	void (*rkey_destroy)(struct sk_rkey *rkey);

	/* @sq, @rq: the endpoint's depths, powers of two, at most the
	 * device's (sk_ep_depth). */
	sk_status_t (*ep_create)(struct sk_dev *dev, uint32_t sq, uint32_t rq,
				 struct sk_ep **ep_p);
	sk_status_t (*ep_addr_pack)(const struct sk_ep *ep, void *buf,
				    size_t *len_p);
	sk_status_t (*ep_connect)(struct sk_ep *ep, const void *buf,
				  size_t len);
	void (*ep_destroy)(struct sk_ep *ep);
	sk_status_t (*ep_cancel)(struct sk_ep *ep); /* verbs.h */

	/* All one-sided, two-sided and flush operations. */
	sk_status_t (*post)(struct sk_ep *ep, const struct sk_wr *op);
	sk_status_t (*post_recv)(struct sk_ep *ep, const struct sk_mr *mr,
				 void *laddr, size_t len, void *ctx);
	/* optional: in-place receives (verbs.h) */
	void (*ep_set_inplace)(struct sk_ep *ep, int on);
	void (*ep_release)(struct sk_ep *ep, void *data);

	/* optional, for skinfo: the transports an open device really uses
	 * (after the provider's own filters, e.g. UCX_TLS). Fill up to @max;
	 * return how many there are, or -1 if it cannot tell. */
	int (*dev_transports)(struct sk_dev *dev, struct sk_tl_info *tl,
			      int max);
};

extern const struct sk_provider_ops sk_rdma_provider_ops;
extern const struct sk_provider_ops sk_ucx_provider_ops;

/* Endpoints of a device by (index, generation); see eptab.c. */
#define SK_EP_TABLE_MAX 65535
struct sk_ep_table {
	struct sk_ep **eps; /* by index; NULL = free */
	uint16_t *gen;      /* bumped each time a slot is taken */
	uint32_t n;         /* slots allocated */
};

/* Take a free slot for @ep; out: its index and new generation. */
sk_status_t sk_ep_table_add(struct sk_ep_table *t, struct sk_ep *ep,
			    uint32_t *idx_p, uint16_t *gen_p);
/* The endpoint at @idx if its generation is @gen (which, coming from a
 * peer or a completion, may be anything), else NULL. */
static inline struct sk_ep *sk_ep_table_get(const struct sk_ep_table *t,
					    uint32_t idx, uint32_t gen)
{
	if (idx >= t->n || t->eps[idx] == NULL || t->gen[idx] != gen)
		return NULL;
	return t->eps[idx];
}
void sk_ep_table_del(struct sk_ep_table *t, uint32_t idx);
void sk_ep_table_cleanup(struct sk_ep_table *t);

/* The providers, in the order "auto" considers them (for skinfo). */
size_t sk_provider_count(void);
const struct sk_provider_ops *sk_provider_get(size_t i);
/* What "auto" opens: rdma when an RDMA port is active, else ucx. */
const struct sk_provider_ops *sk_provider_auto(void);

/* Log an error once, where it is decided: "skiff: <fmt>\n" on stderr. */
void sk_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An endpoint's queue depth: @want (0: @dflt) rounded up to a power of
 * two, at most @dflt (the device's, itself a power of two). */
static inline uint32_t sk_ep_depth(uint32_t want, uint32_t dflt)
{
	uint32_t d = 1;

	if (want == 0 || want >= dflt)
		return dflt;
	while (d < want)
		d <<= 1;
	return d;
}

#endif /* SKIFF_VERBS_PROVIDER_H */
