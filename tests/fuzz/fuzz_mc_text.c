/*
 * libFuzzer target for skcached's text and meta protocol parser
 * (launcher/skcached/mc_text.c): arbitrary client bytes, cut into
 * commands as the gateway's core would (swallowing what the parser asks
 * it to), each request answered with a plausible kv result drawn from the
 * input's first bytes (found with a value, missing, stored, a number, a
 * dead node...), every finish run, re-armed rounds included, and
 * everything freed. The first byte seeds the results; the second cuts
 * the input in two, fed one after the other, so that a command split
 * across reads is parsed too.
 *
 * Oracles, each an abort: mc_text_parse consumes at most what it was
 * given and hands a command with a finish whenever it consumes; it waits
 * (returns 0) only while a command could still be whole (no newline yet
 * and the line within a get's longest, or a value still due within
 * item_max); finish answers 0 or 1 and re-arms at most twice; ASan and
 * LeakSanitizer check the rest.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define ITEM_MAX 64u

static uint32_t rng;

static uint32_t next(void)
{
	rng = rng * 1103515245u + 12345u;
	return rng >> 8;
}

static void answer(struct sk_kv_req *q)
{
	static const char *const vals[] = { "", "x", "12", "hello world",
					    "\r\n\0bin" };
	static const enum sk_kv_res res[] = {
		SK_KV_STORED, SK_KV_NOT_STORED, SK_KV_EXISTS, SK_KV_NOT_FOUND,
		SK_KV_DELETED, SK_KV_TOUCHED, SK_KV_OK, SK_KV_EFORMAT,
		SK_KV_ENONNUM, SK_KV_ETOOLARGE, SK_KV_ENOMEM,
		SK_KV_ENOMEM_DELTA,
	};
	uint32_t r = next();

	check(q->key != NULL || q->klen == 0);
	check(q->cmd < SK_KV_CMD_COUNT);
	if (q->cmd == SK_KV_CMD_STORE)
		check(q->vlen <= ITEM_MAX && (q->value != NULL || !q->vlen));
	q->status = r % 11 == 0 ? SK_ERR_UNREACHABLE : SK_OK;
	q->res = res[(r >> 4) % (sizeof(res) / sizeof(res[0]))];
	if (q->cmd == SK_KV_CMD_GET || q->cmd == SK_KV_CMD_GAT) {
		if (r & 0x100)
			q->res = SK_KV_OK;
		if (q->res == SK_KV_OK) {
			const char *v = vals[(r >> 9) % 5];
			size_t n = (r >> 9) % 5 == 4 ? 7 : strlen(v);

			q->buf = malloc(n ? n : 1);
			check(q->buf != NULL);
			memcpy(q->buf, v, n);
			q->vlen = q->cap = n;
		}
		q->flags = next();
		q->expiry = r & 0x200 ? 0 : next();
	}
	q->cas = ((uint64_t)next() << 32) | next();
	q->number = ((uint64_t)next() << 32) | next();
	q->done = 1;
}

/* Parse and finish the @len bytes at @buf; returns the bytes consumed,
 * *closed when a command closed the connection. */
static size_t run(struct mc_conn *c, const char *buf, size_t len,
		  bool *closed)
{
	size_t pos = 0;

	while (pos < len && !*closed) {
		struct mc_cmd *cmd = NULL;
		const char *nl;
		unsigned i, rounds = 0;
		ssize_t n;
		int rc;

		if (c->pub.swallow) {
			size_t d = len - pos < c->pub.swallow ?
				   len - pos : c->pub.swallow;

			c->pub.swallow -= d;
			pos += d;
			continue;
		}
		n = mc_text_parse(c, buf + pos, len - pos, &cmd);
		check(n >= 0 && (size_t)n <= len - pos);
		if (n == 0) {
			check(cmd == NULL);
			nl = memchr(buf + pos, '\n', len - pos);
			if (nl == NULL)
				check(len - pos <= 300000);
			else
				check((size_t)(buf + len - nl - 1) <
				      ITEM_MAX + 2);
			break;
		}
		check(cmd != NULL && cmd->finish != NULL);
		pos += (size_t)n;
		for (i = 0; i < cmd->nreq; i++)
			answer(&cmd->req[i]);
		while ((rc = cmd->finish(c, cmd)) == 1) {
			check(++rounds <= 2);
			for (i = 0; i < cmd->nreq; i++)
				if (!cmd->req[i].done)
					answer(&cmd->req[i]);
		}
		check(rc == 0);
		for (i = 0; i < cmd->nreq; i++)
			if (cmd->req[i].cmd == SK_KV_CMD_GET ||
			    cmd->req[i].cmd == SK_KV_CMD_GAT)
				free(cmd->req[i].buf);
		if (cmd->close_after)
			*closed = true;
		mc_cmd_free(cmd);
		mc_out_consume(c, c->out_len);
	}
	return pos;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_settings set = { .item_max = ITEM_MAX, .cas_enabled = 1 };
	/* stats detail's table, shared by the inputs as by a server's
	 * gateways (the first "stats detail on" turns it on for good) */
	static struct mc_prefixes prefixes;
	struct mc_conn c = { .pub.settings = &set, .pub.settings_rw = &set,
			     .prefixes = &prefixes };
	bool closed = false;
	size_t cut, done;
	char *in;

	if (size < 2)
		return 0;
	rng = data[0];
	in = (char *)fuzz_dup(data + 2, size - 2);
	size -= 2;
	cut = size ? data[1] % (size + 1) : 0;
	/* the first part, then whatever it left with the rest */
	done = run(&c, in, cut, &closed);
	if (!closed)
		run(&c, in + done, size - done, &closed);
	mc_conn_out_free(&c);
	free(in);
	return 0;
}

static void write_seeds(const char *dir)
{
	static const char *const seeds[] = {
		"\x01\x05get a b c\r\ngets x\r\n",
		"\x02\x03set a 0 0 2\r\nhi\r\nadd b 1 2 1 noreply\r\nx\r\n",
		"\x03\x08" "cas a 0 0 1 5\r\nx\r\ndelete a 0\r\nincr n 5\r\n",
		"\x04\x09mg a v k t c f s O1 q\r\nmn\r\nms b 2 c k MR\r\nhi\r\n",
		"\x05\x02ma n N0 J10 T5 v\r\nmd b q k\r\nme a\r\nmg Zm9v b k\r\n",
		("\x06\x07gat 10 a\r\ntouch a 5\r\nflush_all 10\r\nstats\r\n"
		 "verbosity 1\r\nversion\r\nquit\r\n"),
		"\x07\x01set a 0 0 100\r\nxx\r\n",
		("\x08\x01stats items\r\nstats slabs\r\n"
		 "stats cachedump 1 0\r\nstats cachedump 64 x\r\n"
		 "stats detail on\r\nget a:b\r\ndelete a:c\r\n"
		 "stats detail dump\r\nstats detail\r\n"),
	};
	char name[32];
	size_t i;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		snprintf(name, sizeof(name), "seed%zu", i);
		fuzz_write_seed(dir, name, -1, seeds[i], strlen(seeds[i]));
	}
}

FUZZ_INITIALIZE_WITH_SEEDS(write_seeds)
