/*
 * libFuzzer target for the frames of a Slurm step's agent
 * (sk_frame_feed, launcher/frame.c), which skrun reads from srun's stdout:
 * outside bytes that crossed srun and slurmstepd. The first byte is the
 * step's rank count (0 to 255), the second picks how the rest is cut
 * into reads; the rest is the stream.
 *
 * Oracles, each an abort: every event names a rank of the step; output
 * pieces are 1 to SK_FRAME_DATA_MAX bytes lying inside the input; a pid
 * is 1 to INT32_MAX; an exit value is a wait status of an ended process
 * (exited, or killed by signal 1-64). Fed whole and fed in pieces, the
 * stream gives the same output bytes, values and verdict; once it fails
 * no event follows, the message is one printable line, and the reader is
 * not idle.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "parse.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

struct trace {
	const uint8_t *in;
	size_t in_len;
	unsigned nranks;
	bool failed;
	int last_kind;
	unsigned last_idx;
	size_t out_len, nvals, events;
	/* what came out, for comparing the two feeds (reset by lengths) */
	uint32_t vals[(1 << 16) / (SK_FRAME_HDR + 4) + 1];
	uint8_t out[3 << 16];
};

static const char *on_frame(void *arg, const struct sk_frame_ev *ev)
{
	struct trace *t = arg;

	check(!t->failed);
	check(ev->idx < t->nranks);
	t->events++;
	switch (ev->kind) {
	case SK_FRAME_OUT:
	case SK_FRAME_ERR:
		check(ev->len >= 1 && ev->len <= SK_FRAME_DATA_MAX);
		check((const uint8_t *)ev->data >= t->in &&
		      (const uint8_t *)ev->data + ev->len <= t->in + t->in_len);
		check(t->out_len + ev->len + 3 <= sizeof(t->out));
		/* Pieces fall where the reads cut: tag runs, not pieces. */
		if ((int)ev->kind != t->last_kind || ev->idx != t->last_idx) {
			t->out[t->out_len++] = (uint8_t)ev->kind;
			t->out[t->out_len++] = (uint8_t)ev->idx;
			t->out[t->out_len++] = (uint8_t)(ev->idx >> 8);
			t->last_kind = (int)ev->kind;
			t->last_idx = ev->idx;
		}
		memcpy(t->out + t->out_len, ev->data, ev->len);
		t->out_len += ev->len;
		break;
	case SK_FRAME_PID:
		check(ev->value >= 1 && ev->value <= INT32_MAX);
		break;
	case SK_FRAME_EXIT: {
		int st = (int)ev->value;

		check(WIFEXITED(st) || (WIFSIGNALED(st) && WTERMSIG(st) >= 1 &&
					WTERMSIG(st) <= 64));
		break;
	}
	default:
		check(!"an event of no kind");
	}
	if (ev->kind == SK_FRAME_PID || ev->kind == SK_FRAME_EXIT) {
		check(t->nvals < sizeof(t->vals) / sizeof(t->vals[0]));
		t->vals[t->nvals++] = ev->value ^ (uint32_t)ev->kind << 28 ^
				      (uint32_t)ev->idx << 20;
	}
	return NULL;
}

static int feed(struct trace *t, const uint8_t *buf, size_t len,
		unsigned pattern)
{
	struct sk_frame_rd rd;
	size_t off = 0;
	int rc = 0;

	sk_frame_rd_init(&rd, t->nranks);
	while (off < len && rc == 0) {
		/* pattern 0: whole; else reads of 1 to pattern bytes. */
		size_t n = pattern == 0 ? len - off
					: 1 + (off * 7 + pattern) % pattern;

		if (n > len - off)
			n = len - off;
		rc = sk_frame_feed(&rd, (const char *)buf + off, n, on_frame,
				   t);
		off += n;
	}
	if (rc != 0) {
		check_why(rd.err);
		check(!sk_frame_rd_idle(&rd));
		t->failed = true;
		/* Sticky. */
		check(sk_frame_feed(&rd, (const char *)buf, len, on_frame, t) ==
		      -1);
	}
	return rc;
}

static struct trace a, b;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned nranks, pattern;
	uint8_t *copy;
	int ra, rb;

	if (size < 2 || size > (1 << 16) - 64)
		return 0;
	nranks = data[0];
	pattern = data[1] % 17;
	copy = fuzz_dup(data + 2, size - 2);
	memset(&a, 0, offsetof(struct trace, vals));
	memset(&b, 0, offsetof(struct trace, vals));
	a.in = b.in = copy;
	a.in_len = b.in_len = size - 2;
	a.nranks = b.nranks = nranks;
	ra = feed(&a, copy, size - 2, 0);
	rb = feed(&b, copy, size - 2, pattern ? pattern : 1);
	check(ra == rb);
	check(a.out_len == b.out_len && memcmp(a.out, b.out, a.out_len) == 0);
	check(a.nvals == b.nvals &&
	      memcmp(a.vals, b.vals, a.nvals * sizeof(a.vals[0])) == 0);
	free(copy);
	return 0;
}

/* A step of 3: output of every kind, a pid, exits by code and signal;
 * and one damaged stream of each kind. */
static void write_seeds(const char *dir)
{
	uint8_t s[256];
	size_t n = 0;

	s[n++] = 3;
	s[n++] = 5;
	sk_frame_value(s + n, SK_FRAME_PID, 0, 1234);
	n += SK_FRAME_HDR + 4;
	sk_frame_header(s + n, SK_FRAME_OUT, 0, 6);
	memcpy(s + n + SK_FRAME_HDR, "hello\n", 6);
	n += SK_FRAME_HDR + 6;
	sk_frame_header(s + n, SK_FRAME_ERR, 2, 5);
	memcpy(s + n + SK_FRAME_HDR, "oops\n", 5);
	n += SK_FRAME_HDR + 5;
	sk_frame_value(s + n, SK_FRAME_EXIT, 0, 0);
	n += SK_FRAME_HDR + 4;
	sk_frame_value(s + n, SK_FRAME_EXIT, 1, 9);
	n += SK_FRAME_HDR + 4;
	sk_frame_value(s + n, SK_FRAME_EXIT, 2, 5 << 8);
	n += SK_FRAME_HDR + 4;
	fuzz_write_seed(dir, "step3", -1, s, n);
	/* Cut in the middle of a frame. */
	fuzz_write_seed(dir, "cut", -1, s, n - 3);
	/* A rank index past the step. */
	s[2 + 2] = 7;
	fuzz_write_seed(dir, "badidx", -1, s, n);
	s[2 + 2] = 0;
	/* A stopped process is no exit. */
	sk_frame_value(s + 2, SK_FRAME_EXIT, 1, 0x137f);
	fuzz_write_seed(dir, "stopped", -1, s, 2 + SK_FRAME_HDR + 4);
}

FUZZ_INITIALIZE_WITH_SEEDS(write_seeds)
