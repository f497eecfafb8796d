/*
 * libFuzzer target for skcached's binary protocol parser
 * (launcher/skcached/mc_bin.c): arbitrary client bytes go to mc_bin_parse
 * as the gateway's core gives them, and every command it cuts is
 * finished with plausible answers of kv, as the core would.
 *
 * The first byte of an input picks the fake kv's answers (a seed) and the
 * gateway's item_max (bit 0: 1 MiB, else 100 bytes); the rest is the
 * stream.
 *
 * Oracles, each an abort: mc_bin_parse reads only the bytes it is given
 * (each call gets an exact-size heap copy, for ASan); it returns 0 with
 * no command, or n > 0, at most the bytes given, with a command that has
 * a finish; a command that does not close needs exactly its n bytes (the
 * same n with more bytes after them, 0 with one byte fewer); whatever it
 * asks to swallow is dropped as the core would. finish returns 0, or 1
 * (a second round: incr's add) with its requests re-armed, and ends
 * within a bounded number of rounds. Every answer is a whole stream of
 * response packets (magic 0x81, lengths that add up) echoing the
 * request's opaque, stats' packets included. LeakSanitizer checks that
 * commands free all they hold.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"

#include "fuzz_check.h"
#include "../skcached/mc_bin_expect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_ROUNDS 64

static uint64_t rng;

static uint32_t next_rand(void)
{
	/* xorshift64*: the fake kv's choices, fixed by the input */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static const uint8_t value_bytes[64] = "0123456789abcdef 18446744073709551615"
				       "\r\n\0\x80\x81\xff";

/* kv's answer to @r, as kv.h says it fills a request; the buffer the
 * core lends a GET or GAT goes to *@lent_p. */
static void fake_answer(struct sk_kv_req *r, void **lent_p)
{
	static const enum sk_kv_res get_res[] = {
		SK_KV_OK, SK_KV_OK, SK_KV_NOT_FOUND, SK_KV_EFORMAT,
	};
	static const enum sk_kv_res store_res[] = {
		SK_KV_STORED, SK_KV_NOT_STORED, SK_KV_EXISTS,
		SK_KV_NOT_FOUND, SK_KV_ETOOLARGE, SK_KV_ENOMEM, SK_KV_EFORMAT,
	};
	static const enum sk_kv_res delete_res[] = {
		SK_KV_DELETED, SK_KV_NOT_FOUND, SK_KV_EFORMAT,
	};
	static const enum sk_kv_res delta_res[] = {
		SK_KV_OK, SK_KV_NOT_FOUND, SK_KV_ENONNUM, SK_KV_ENOMEM_DELTA,
		SK_KV_EFORMAT,
	};
	uint32_t x = next_rand();

	check(r->done == 0 && r->status == SK_OK);
	check(r->key != NULL && r->klen >= 1 && r->klen <= MC_KEY_MAX);
	check(r->cmd < SK_KV_CMD_COUNT);
	if (r->cmd == SK_KV_CMD_STORE)
		check(r->value != NULL || r->vlen == 0);
	r->done = 1;
	switch (x % 16) {
	case 0:
		r->status = SK_ERR_UNREACHABLE;
		return;
	case 1:
		r->status = SK_ERR_IO;
		return;
	case 2:
		/* an answer kv never gives this command */
		r->res = (enum sk_kv_res)(next_rand() % (SK_KV_RES_COUNT + 2));
		return;
	default:
		break;
	}
	x = next_rand();
	switch (r->cmd) {
	case SK_KV_CMD_GET:
	case SK_KV_CMD_GAT:
		r->res = get_res[x % 4];
		if (r->res == SK_KV_OK) {
			size_t n = next_rand() % sizeof(value_bytes);

			*lent_p = fuzz_dup(value_bytes, n);
			r->buf = *lent_p;
			r->cap = n;
			r->vlen = n;
			r->flags = next_rand();
			r->cas = (uint64_t)next_rand() << 32 | next_rand();
		}
		break;
	case SK_KV_CMD_STORE:
		r->res = store_res[x % 7];
		if (r->res == SK_KV_STORED)
			r->cas = next_rand();
		break;
	case SK_KV_CMD_DELETE:
	case SK_KV_CMD_TOUCH:
		r->res = delete_res[x % 3];
		break;
	default:
		r->res = delta_res[x % 5];
		if (r->res == SK_KV_OK) {
			r->number = (uint64_t)next_rand() << 32 | next_rand();
			r->cas = next_rand();
		}
		break;
	}
}

/* The answer bytes [@from, out_len) are whole response packets with the
 * opaque @opaque. */
static void check_answers(const struct mc_conn *c, size_t from,
			  const uint8_t *opaque)
{
	const uint8_t *o = (const uint8_t *)c->out;
	size_t off = from;

	while (off < c->out_len) {
		const uint8_t *h = o + off;
		uint32_t bl;
		uint16_t kl;

		check(c->out_len - off >= 24);
		check(h[0] == 0x81 && h[5] == 0);
		kl = (uint16_t)(h[2] << 8 | h[3]);
		bl = (uint32_t)h[8] << 24 | (uint32_t)h[9] << 16 |
		     (uint32_t)h[10] << 8 | h[11];
		check((size_t)kl + h[4] <= bl);
		check(memcmp(h + 12, opaque, 4) == 0);
		check(c->out_len - off - 24 >= bl);
		off += 24 + bl;
	}
}

static ssize_t parse_exact(struct mc_conn *c, const uint8_t *p, size_t n,
			   struct mc_cmd **cmd_p)
{
	uint8_t *copy = fuzz_dup(p, n);
	ssize_t r;

	*cmd_p = NULL;
	r = mc_bin_parse(c, (const char *)copy, n, cmd_p);
	free(copy);
	check(r >= 0 && (size_t)r <= n);
	check((r == 0) == (*cmd_p == NULL));
	check(*cmd_p == NULL || (*cmd_p)->finish != NULL);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mc_settings settings = { .cas_enabled = 1 };
	struct mc_stats stats = { .pid = 1, .limit_maxbytes = 64 << 20 };
	static struct mc_prefixes prefixes; /* stats detail's */
	struct mc_conn c;
	size_t off = 0;
	int mode = fuzz_take_mode(&data, &size);

	if (mode < 0)
		return 0;
	rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)mode ^ ((uint64_t)size << 8);
	settings.item_max = (mode & 1) ? (1u << 20) : 100;
	memset(&c, 0, sizeof(c));
	c.pub.settings = &settings;
	c.pub.settings_rw = &settings;
	c.pub.proto = 'B';
	c.stats = &stats;
	c.prefixes = &prefixes;

	while (off < size) {
		struct mc_cmd *cmd, *again;
		void *lent[MC_GET_KEYS_MAX] = { 0 };
		uint8_t opaque[4] = { 0 };
		size_t from = c.out_len;
		ssize_t n, m;
		int rounds = 0, close_after;

		c.pub.swallow = 0;
		n = parse_exact(&c, data + off, size - off, &cmd);
		if (n == 0)
			break;
		if (size - off >= 16)
			memcpy(opaque, data + off + 12, 4);
		close_after = cmd->close_after;
		if (!close_after) {
			size_t swallow = c.pub.swallow;

			/* the same command from exactly its bytes... */
			m = parse_exact(&c, data + off, (size_t)n, &again);
			check(m == n && again != NULL);
			check(c.pub.swallow == swallow);
			mc_cmd_free(again);
			/* ...and not from one byte fewer */
			m = parse_exact(&c, data + off, (size_t)n - 1, &again);
			check(m == 0);
			c.pub.swallow = swallow;
		}
		off += (size_t)n;
		/* the core drops what the command swallows */
		off += c.pub.swallow < size - off ? c.pub.swallow : size - off;
		if (cmd->special != MC_SP_NONE)
			cmd->special_status = (next_rand() % 8) == 0 ? -1 : 0;
		for (;;) {
			int r;

			for (unsigned i = 0; i < cmd->nreq; i++) {
				free(lent[i]);
				lent[i] = NULL;
				fake_answer(&cmd->req[i], &lent[i]);
			}
			r = cmd->finish(&c, cmd);
			check(r == 0 || r == 1);
			if (r == 0)
				break;
			check(cmd->nreq > 0 && ++rounds < MAX_ROUNDS);
		}
		for (unsigned i = 0; i < cmd->nreq; i++)
			free(lent[i]);
		mc_cmd_free(cmd);
		check(!c.out_failed);
		check_answers(&c, from, opaque);
		/* the output as the core sends it: keep it small */
		mc_out_consume(&c, c.out_len);
		if (close_after)
			break;
	}
	mc_conn_out_free(&c);
	return 0;
}

/* Seeds: each request of the memcached oracle's cases, the first byte
 * the mode (1: item_max 1 MiB). */
static void write_seeds(const char *dir)
{
#define SEED(name) fuzz_write_seed(dir, #name, 1, req_##name, req_##name##_len)
	SEED(set);
	SEED(get_hit);
	SEED(getk_hit);
	SEED(getq_hit_miss);
	SEED(touch_hit);
	SEED(gatk_hit);
	SEED(add_exists);
	SEED(append);
	SEED(set_cas_ok);
	SEED(deleteq_hit_miss);
	SEED(incr_init_miss);
	SEED(decrq_init_miss);
	SEED(flush_exp);
	SEED(noop);
	SEED(version);
	SEED(unknown_body);
	SEED(sasl_auth);
	SEED(stat_settings);
	SEED(quit);
	SEED(get_key251);
	SEED(short_body);
	SEED(bad_magic);
#undef SEED
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_seeds_if_asked(write_seeds);
	return 0;
}
