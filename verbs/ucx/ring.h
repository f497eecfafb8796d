/*
 * Same-host rings for the ucx provider: sends between two processes of one
 * machine go through a ring of shared memory instead of UCX active
 * messages, as Open MPI's vader fast boxes do. UCX keeps everything else
 * (RMA, atomics, peers on other hosts, messages too big for the ring), and
 * the receiver merges the two streams by sequence number (ucx_ring.c).
 *
 * A ring is one memfd, created by the receiving endpoint and mapped by the
 * sender, which opens it through /proc/<pid>/fd/<fd> as UCX's posix
 * transport does. It is a control page, then a power-of-two data area of
 * cells aligned to cache lines:
 *
 *   struct ucx_cell { seq, len, kind }   then len bytes of payload
 *
 * The sender writes the payload, then the header, then seq with release
 * semantics; the receiver takes the cell at its read position when (and
 * only when) seq is the next sequence number it expects, so a stale cell of
 * an earlier lap is never mistaken for a new one. A message that does not
 * fit before the end of the area is preceded by a WRAP cell. The receiver
 * publishes how many bytes it has consumed (ctl->head); the sender reads it
 * only when its cached copy says the ring is full.
 *
 * Sleep and wakeup: a receiver about to sleep sets ctl->sleeping and looks
 * at its rings once more; a sender that finds the flag set after a publish
 * clears it and sends one datagram to the receiver's wakeup socket, which
 * is in the receiver's completion channel. Each side's store and then load
 * are sequentially consistent (Dekker), so one of them sees the other.
 *
 * Trust: the sender can write anything into the ring. Every cell is copied
 * out of shared memory once and checked (ucx_ring_cell_check) before use;
 * a bad one fails that endpoint, nothing else.
 */
#ifndef SKIFF_VERBS_UCX_RING_H
#define SKIFF_VERBS_UCX_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <skiff/status.h>

#define UCX_RING_CTL_SIZE 4096u
#define UCX_RING_MAGIC    0x474e4952534b4653ull /* "SFKSRING" */
#define UCX_RING_WAKE_LEN 16 /* abstract socket name bytes */
/* Cells start on cache lines: the receiver polls the line the next cell
 * begins on, which then holds nothing of the cell before it. */
#define UCX_CELL_ALIGN    64u

enum ucx_cell_kind {
	UCX_CELL_MSG = 1,  /* a send: len bytes follow */
	UCX_CELL_WRAP = 2, /* skip to the start of the area */
};

struct ucx_cell {
	uint64_t seq;  /* written last, with release semantics */
	uint32_t len;  /* payload bytes (MSG) */
	uint16_t kind; /* enum ucx_cell_kind */
	uint16_t pad;
};

/* The control page; the fields each side writes sit on their own lines. */
struct ucx_ring_ctl {
	uint64_t magic;          /* set by the receiver at creation */
	uint32_t size;           /* data area bytes */
	uint32_t pad0;
	_Alignas(64) _Atomic uint64_t head;     /* receiver: bytes consumed */
	_Alignas(64) _Atomic uint32_t sleeping; /* receiver: may be asleep */
};

/* The receiver's side: its own ring. */
struct ucx_ring_rx {
	struct ucx_ring_ctl *ctl; /* NULL: no ring */
	uint8_t *data;
	uint32_t size;            /* power of two */
	int fd;                   /* the memfd, open for the peer to map */
	uint64_t rpos;            /* bytes consumed, as ctl->head */
};

/* The sender's side: the peer's ring, mapped. */
struct ucx_ring_tx {
	struct ucx_ring_ctl *ctl; /* NULL: no ring (send through UCX) */
	uint8_t *data;
	uint32_t size;
	uint64_t tail;            /* bytes written */
	uint64_t head_cache;      /* ctl->head as last read */
	int wake_fd;              /* the device's datagram socket */
	uint8_t wake_name[UCX_RING_WAKE_LEN];
};

static inline uint32_t ucx_ring_cell_bytes(uint32_t len)
{
	return (uint32_t)((sizeof(struct ucx_cell) + (size_t)len +
			   UCX_CELL_ALIGN - 1) &
			  ~(size_t)(UCX_CELL_ALIGN - 1));
}

/* Largest payload a ring of @size takes (the rest goes through UCX). */
static inline uint32_t ucx_ring_max_msg(uint32_t size)
{
	return size / 4 - (uint32_t)sizeof(struct ucx_cell);
}

/*
 * Check a cell copied out of the ring at offset @off of a @size-byte area.
 * Returns SK_OK with its kind in *kind_p, or SK_ERR_MALFORMED with a
 * reason: an unknown kind, a WRAP at offset 0, or a payload that would run
 * past the end of the area or over ucx_ring_max_msg(). Pure: fuzzed.
 */
sk_status_t ucx_ring_cell_check(const struct ucx_cell *c, uint32_t off,
				uint32_t size, const char **why);

/*
 * Write one message with sequence number @seq. Returns 1 when it is in the
 * ring (the caller may reuse its buffer), 0 when it does not fit (too big
 * or the ring is full: send it through UCX instead).
 */
static inline int ucx_ring_put(struct ucx_ring_tx *t, uint64_t seq,
			       const void *buf, uint32_t len)
{
	uint32_t need = ucx_ring_cell_bytes(len);
	uint32_t off = (uint32_t)t->tail & (t->size - 1);
	uint32_t to_end = t->size - off;
	uint32_t total = need <= to_end ? need : need + to_end;
	struct ucx_cell *c;

	if (len > ucx_ring_max_msg(t->size))
		return 0;
	if (t->tail + total - t->head_cache > t->size) {
		t->head_cache = atomic_load_explicit(&t->ctl->head,
						     memory_order_acquire);
		if (t->tail + total - t->head_cache > t->size)
			return 0;
	}
	if (need > to_end) {
		c = (struct ucx_cell *)(t->data + off);
		c->kind = UCX_CELL_WRAP;
		c->len = 0;
		atomic_store_explicit((_Atomic uint64_t *)&c->seq, seq,
				      memory_order_release);
		t->tail += to_end;
		off = 0;
	}
	c = (struct ucx_cell *)(t->data + off);
	memcpy(c + 1, buf, len);
	c->len = len;
	c->kind = UCX_CELL_MSG;
	/* Where the next cell will start, the ring holds whatever an
	 * earlier lap left: often the middle of an old payload, which the
	 * receiver, finding the ring empty, reads as a cell's seq. A payload
	 * can hold the very number it expects next (kv values carrying
	 * counters did), and it then took payload bytes for a cell. So zero
	 * that word first (no message is numbered 0); the seq store below
	 * publishes it with this cell. Unless the ring is now full: then it
	 * is the start of the oldest cell the receiver still has, a real seq
	 * already, and not ours to touch. */
	if (t->tail + need - t->head_cache < t->size)
		atomic_store_explicit(
			(_Atomic uint64_t *)(t->data + ((uint32_t)(t->tail + need) &
							(t->size - 1))),
			0, memory_order_relaxed);
	/* seq_cst, not only release: with the load of ctl->sleeping in
	 * ucx_ring_must_wake() it is one half of the sleep handshake. */
	atomic_store_explicit((_Atomic uint64_t *)&c->seq, seq,
			      memory_order_seq_cst);
	t->tail += need;
	return 1;
}

/* After a put: 1 when the receiver may be asleep and must be woken (the
 * flag is cleared here, so one sender wakes it once). */
static inline int ucx_ring_must_wake(struct ucx_ring_tx *t)
{
	return atomic_load_explicit(&t->ctl->sleeping,
				    memory_order_seq_cst) &&
	       atomic_exchange(&t->ctl->sleeping, 0);
}

/*
 * The next message, if it is the one numbered @seq: its payload and length
 * (*len_p). NULL when there is none yet, or with *why set when the cell is
 * malformed. Skips a WRAP cell. The payload stays in the ring until
 * ucx_ring_pop().
 */
static inline const void *ucx_ring_peek(struct ucx_ring_rx *r, uint64_t seq,
					uint32_t *len_p, const char **why)
{
	/* At most twice round: a WRAP moves to offset 0, where the checker
	 * refuses another. */
	for (;;) {
		uint32_t off = (uint32_t)r->rpos & (r->size - 1);
		struct ucx_cell *sc = (struct ucx_cell *)(r->data + off);
		struct ucx_cell c;

		if (atomic_load_explicit((_Atomic uint64_t *)&sc->seq,
					 memory_order_acquire) != seq)
			return NULL;
		c.len = sc->len;
		c.kind = sc->kind;
		c.seq = seq;
		if (ucx_ring_cell_check(&c, off, r->size, why) != SK_OK)
			return NULL;
		if (c.kind == UCX_CELL_MSG) {
			*len_p = c.len;
			return sc + 1;
		}
		r->rpos += r->size - off; /* WRAP */
	}
}

/* Move past the message ucx_ring_peek() returned, keeping its space. */
static inline void ucx_ring_skip(struct ucx_ring_rx *r, uint32_t len)
{
	r->rpos += ucx_ring_cell_bytes(len);
}

/* Give the sender back everything before @head (<= rpos). */
static inline void ucx_ring_publish(struct ucx_ring_rx *r, uint64_t head)
{
	atomic_store_explicit(&r->ctl->head, head, memory_order_release);
}

/* Consume the message ucx_ring_peek() returned (nothing held before it). */
static inline void ucx_ring_pop(struct ucx_ring_rx *r, uint32_t len)
{
	ucx_ring_skip(r, len);
	ucx_ring_publish(r, r->rpos);
}

/* Whether a message numbered @seq waits. seq_cst: after the store of
 * ctl->sleeping it is the receiver's half of the sleep handshake (a plain
 * load on x86). */
static inline int ucx_ring_ready(const struct ucx_ring_rx *r, uint64_t seq)
{
	uint32_t off = (uint32_t)r->rpos & (r->size - 1);

	return atomic_load_explicit(
		       (_Atomic uint64_t *)(r->data + off), /* cell seq */
		       memory_order_seq_cst) == seq;
}

/*
 * The receiver's half of the sleep handshake: say it may sleep, then look
 * once more. Returns 1 when message @seq waits (do not sleep: take it),
 * 0 when it is safe to sleep on the wakeup socket, which the sender's
 * next put then wakes (ucx_ring_must_wake). Drain the socket before (a
 * datagram left from an earlier wakeup would end the sleep at once).
 */
static inline int ucx_ring_rx_arm(struct ucx_ring_rx *r, uint64_t seq)
{
	atomic_store_explicit(&r->ctl->sleeping, 1, memory_order_seq_cst);
	return ucx_ring_ready(r, seq);
}

/* Setup (ring.c). */
struct ucx_ring_host {
	uint64_t host_id;     /* this boot of this machine; 0: unknown */
	uint32_t pid;
	int wake_fd;          /* our datagram socket, bound; -1: none */
	uint8_t wake_name[UCX_RING_WAKE_LEN];
};

/* Our identity and wakeup socket (one per device). Never fails: without
 * them the device simply has no rings (wake_fd -1, host_id 0). */
void ucx_ring_host_init(struct ucx_ring_host *h);
void ucx_ring_host_cleanup(struct ucx_ring_host *h);
/* Empty the wakeup socket (before sleeping). */
void ucx_ring_host_drain(const struct ucx_ring_host *h);

/* Create our receive ring of @size bytes (power of two). */
sk_status_t ucx_ring_rx_create(struct ucx_ring_rx *r, uint32_t size);
void ucx_ring_rx_destroy(struct ucx_ring_rx *r);

/* Map the peer's ring: the process @pid of this host holds it as @fd.
 * Returns SK_OK, or an error when the ring cannot be had (the caller then
 * sends through UCX). */
sk_status_t ucx_ring_tx_open(struct ucx_ring_tx *t, uint32_t pid, int fd,
			     uint32_t size, int wake_fd,
			     const uint8_t wake_name[UCX_RING_WAKE_LEN]);
void ucx_ring_tx_close(struct ucx_ring_tx *t);
/* Wake the peer (one datagram; a full socket means it is awake anyway). */
void ucx_ring_tx_wake(const struct ucx_ring_tx *t);

#endif /* SKIFF_VERBS_UCX_RING_H */
