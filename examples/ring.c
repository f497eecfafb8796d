/*
 * ring: a token goes around the nodes by one-sided RDMA writes.
 *
 *   skiffcc ring.c -o ring
 *   skrun -n 4 ./ring [LAPS]          (default 1 lap; at least 2 nodes)
 *
 * Each node gives its mailbox a region of its own, registered for remote
 * write and nothing else, and sends its left neighbour that region's
 * descriptor and the mailbox's address (a send on their endpoint), so the
 * left neighbour can write into the mailbox and nowhere else. To pass the token, a node RDMA-writes a
 * message into the right neighbour's mailbox, flushes, then does a
 * write-with-immediate of the token's hop count: the immediate wakes the
 * neighbour (it consumes one of its posted receives) and the data are visible
 * there by then. No node sends the token's data with a send; the receiver never
 * copies it.
 *
 * What it shows: sk_os_peer() (a connected endpoint to every other node),
 * sk_os_arena() (memory registered once at boot: everything the fabric
 * touches lives there; its own registration is for local use) and
 * sk_arena_region() (the part a peer may write), sk_os_loop() (completions dispatched to each
 * operation's struct sk_op), packing and unpacking a memory descriptor,
 * sk_post_write, sk_ep_flush and sk_post_write_imm.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/os.h>

#define MSG_LEN 64

/* One posted operation: the loop calls ->op.done with its completion. */
struct op {
	struct sk_op op;
	bool done;
	sk_status_t status;
	uint32_t opcode;
	uint32_t imm;
	uint32_t len;
};

static void op_done(struct sk_op *sop, const struct sk_wc *wc)
{
	struct op *o = (struct op *)sop; /* op is the first member */

	o->done = true;
	o->status = wc->status;
	o->opcode = wc->opcode;
	o->imm = wc->imm;
	o->len = wc->byte_len;
}

static void op_init(struct op *o)
{
	memset(o, 0, sizeof(*o));
	o->op.done = op_done;
}

/* Serve the node's loop until @o completed; fail the job if it failed. */
static void wait_op(struct op *o, const char *what)
{
	while (!o->done)
		if (sk_loop_run_once(sk_os_loop(), -1) < 0)
			sk_os_abort(1, "ring: rank %u: the device failed",
				    sk_os_rank());
	if (o->status != SK_OK)
		sk_os_abort(1, "ring: rank %u: %s: %s", sk_os_rank(), what,
			    sk_status_str(o->status));
}

static void check(sk_status_t st, const char *what)
{
	if (st != SK_OK)
		sk_os_abort(1, "ring: rank %u: %s: %s", sk_os_rank(), what,
			    sk_status_str(st));
}

/* What a node holds for the ring. */
struct ring {
	unsigned rank, size, left;
	const struct sk_mr *mr; /* the arena's registration (local) */
	struct sk_region box;   /* the mailbox's: the left neighbour writes */
	struct sk_ep *to_left, *to_right;
	struct sk_rkey *rkey; /* the right neighbour's mailbox region */
	uint64_t raddr;	      /* its mailbox */
	char *mailbox;	      /* MSG_LEN of text, then the count */
	char *out;	      /* what I write to the right */
	char *rx_buf;	      /* for the receives the immediates use */
	struct op imm_rx;
};

static void post_token_receive(struct ring *r)
{
	op_init(&r->imm_rx);
	check(sk_post_recv(r->to_left, r->mr, r->rx_buf, 64, &r->imm_rx.op),
	      "post receive");
}

/*
 * Wait for the token from the left; it must be hop @expect. Post the
 * receive for the next one (if @more) before the token moves on, so it
 * is there when the token comes round again.
 */
static void take_token(struct ring *r, uint64_t expect, bool more)
{
	uint64_t hops;

	wait_op(&r->imm_rx, "receive the token");
	if (r->imm_rx.opcode != SK_OP_RECV_IMM)
		sk_os_abort(1,
			    "ring: rank %u: got a %s, not a write with "
			    "immediate",
			    r->rank, sk_opcode_str(r->imm_rx.opcode));
	hops = *(uint64_t *)(r->mailbox + MSG_LEN);
	if (hops != expect || r->imm_rx.imm != (uint32_t)expect)
		sk_os_abort(1,
			    "ring: rank %u: token %" PRIu64 " (immediate "
			    "%" PRIu32 "), expected %" PRIu64,
			    r->rank, hops, r->imm_rx.imm, expect);
	printf("ring: rank %u got token %" PRIu64 " from rank %u: '%s'\n",
	       r->rank, hops, r->left, r->mailbox);
	if (more)
		post_token_receive(r);
}

/* Pass hop @hops to the right neighbour. */
static void pass_token(struct ring *r, uint64_t hops)
{
	uint64_t *count = (uint64_t *)(r->out + MSG_LEN);
	struct op wr, fl, wr_imm;

	snprintf(r->out, MSG_LEN, "hop %" PRIu64 ", written by rank %u", hops,
		 r->rank);
	*count = hops;
	/* The text by a plain write, which completes silently... */
	op_init(&wr);
	check(sk_post_write(r->to_right, r->mr, r->out, MSG_LEN, r->rkey,
			    r->raddr, SK_POST_UNSIGNALED, &wr.op),
	      "write");
	/* ...and is visible at the target once a flush posted after it
	 * completes: only then may the neighbour be told. */
	op_init(&fl);
	check(sk_ep_flush(r->to_right, &fl.op), "flush");
	wait_op(&fl, "flush");
	/* The count by a write with immediate: the neighbour's completion
	 * carries the immediate, and the count is in its mailbox by then. */
	op_init(&wr_imm);
	check(sk_post_write_imm(r->to_right, r->mr, count, 8, r->rkey,
				r->raddr + MSG_LEN, (uint32_t)hops, 0,
				&wr_imm.op),
	      "write with immediate");
	wait_op(&wr_imm, "write with immediate");
}

int main(int argc, char **argv)
{
	struct ring r = {0};
	struct sk_arena *arena = sk_os_arena();
	unsigned laps = 1, lap;
	struct op desc_rx, desc_tx;
	char *desc, *right_desc;
	size_t desc_len = SK_BLOB_MAX;
	uint64_t addr;

	r.rank = sk_os_rank();
	r.size = sk_os_size();
	if (argc > 1) {
		char *end;
		unsigned long v = strtoul(argv[1], &end, 10);

		if (end == argv[1] || *end != '\0' || v < 1 || v > 1000) {
			if (r.rank == 0)
				fprintf(stderr,
					"ring: LAPS must be 1 to 1000, "
					"not '%s'\n",
					argv[1]);
			return 2;
		}
		laps = (unsigned)v;
	}
	if (r.size < 2) {
		fprintf(stderr,
			"ring: needs at least 2 nodes (skrun -n 4 %s)\n",
			argv[0]);
		return 2;
	}
	r.left = (r.rank + r.size - 1) % r.size;
	r.to_left = sk_os_peer(r.left);
	r.to_right = sk_os_peer((r.rank + 1) % r.size);
	r.mr = sk_arena_mr(arena);

	/*
	 * Every buffer the fabric reads or writes comes from the arena,
	 * which is registered already (for local use). The mailbox, the
	 * one buffer a peer writes, is a region with remote write only:
	 * its key is all the neighbour gets. A descriptor message is the
	 * mailbox's address (8 bytes, in this machine's order: every node
	 * runs this program) and the packed descriptor of its region.
	 */
	check(sk_arena_region(arena, MSG_LEN + 8, SK_ACCESS_REMOTE_WRITE,
			      &r.box),
	      "mailbox region");
	r.mailbox = r.box.base;
	r.out = (char *)sk_arena_alloc(arena, MSG_LEN + 8, 64);
	r.rx_buf = (char *)sk_arena_alloc(arena, 64, 64);
	desc = (char *)sk_arena_alloc(arena, 8 + SK_BLOB_MAX, 64);
	right_desc = (char *)sk_arena_alloc(arena, 8 + SK_BLOB_MAX, 64);
	if (!r.mailbox || !r.out || !r.rx_buf || !desc || !right_desc)
		sk_os_abort(1, "ring: rank %u: arena exhausted", r.rank);

	/*
	 * Swap descriptors: mine goes to the left neighbour, the right
	 * one's comes to me. Receives are posted before anything is sent,
	 * and one endpoint consumes them in posting order: with 2 nodes,
	 * left and right are one endpoint, and the peer's descriptor (a
	 * send) comes before its first write with immediate.
	 */
	op_init(&desc_rx);
	check(sk_post_recv(r.to_right, r.mr, right_desc, 8 + SK_BLOB_MAX,
			   &desc_rx.op),
	      "post receive");
	post_token_receive(&r);
	/* The descriptor covers the mailbox's page and nothing else. */
	addr = (uint64_t)(uintptr_t)r.mailbox;
	memcpy(desc, &addr, 8);
	check(sk_mr_pack(r.box.mr, desc + 8, &desc_len), "pack descriptor");
	op_init(&desc_tx);
	check(sk_post_send(r.to_left, r.mr, desc, 8 + desc_len, 0, &desc_tx.op),
	      "send descriptor");
	wait_op(&desc_tx, "send descriptor");
	wait_op(&desc_rx, "receive descriptor");
	if (desc_rx.len <= 8)
		sk_os_abort(1, "ring: rank %u: short descriptor message",
			    r.rank);
	check(sk_rkey_unpack(r.to_right, right_desc + 8, desc_rx.len - 8,
			     &r.rkey),
	      "unpack the right neighbour's descriptor");
	memcpy(&r.raddr, right_desc, 8);
	/* The mailbox must lie inside what the descriptor covers. */
	if (r.raddr < sk_rkey_addr(r.rkey) ||
	    r.raddr + MSG_LEN + 8 > sk_rkey_addr(r.rkey) + sk_rkey_len(r.rkey))
		sk_os_abort(1,
			    "ring: rank %u: the mailbox is outside the "
			    "right neighbour's mailbox region",
			    r.rank);

	/* Hop h lands on rank h % size: rank 0 starts each lap with hop
	 * lap * size + 1 and takes the token back as hop (lap + 1) * size. */
	for (lap = 0; lap < laps; lap++) {
		uint64_t base = (uint64_t)lap * r.size;

		if (r.rank != 0) {
			take_token(&r, base + r.rank, lap + 1 < laps);
			pass_token(&r, base + r.rank + 1);
		} else {
			pass_token(&r, base + 1);
			take_token(&r, base + r.size, lap + 1 < laps);
		}
	}
	if (r.rank == 0)
		printf("ring: the token went %u time%s around %u nodes "
		       "(%u hops)\n",
		       laps, laps == 1 ? "" : "s", r.size, laps * r.size);
	sk_rkey_destroy(r.rkey);
	/* Every write to the mailbox has landed (the last token is in):
	 * the neighbour's key may stop working. */
	sk_arena_region_release(arena, &r.box);
	return 0;
}
