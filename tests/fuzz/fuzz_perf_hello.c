/*
 * libFuzzer target for the benchmarks' checks of their peer's bytes
 * (perf/perf_common.h): perf_hello_parse(), which every sk_* tool runs on
 * the 40-byte hello its peer sends over TCP, and perf_blob_len_check(),
 * which judges the length prefix of the endpoint address and memory
 * descriptor that follow. An input is laid out as:
 *
 *   byte 0    our side: bits 0-2 the tool (mod 5), bit 3 client (else
 *             server), bits 4-5 our provider (rdma, ucx, "", "abcdefg"),
 *             bits 6-7 our device's max_msg (SIZE_MAX, 2^30, 65536, 8)
 *   byte 1    a client's own parameters: bit 0 clear, those a server
 *             adopts from this very hello (an honest echo), else the
 *             tool's defaults; bits 1-3 then change one of them by one
 *             (size, iterations, tx depth, -a, -A, -e); bits 4-7 an err
 *             buffer size for a second, truncating call (0: NULL, 0)
 *   2..41     the hello, cut short if the input is
 *   42..      what follows on the socket: up to two blobs, each a
 *             little-endian u32 length and that many bytes
 *
 * The parser gets a heap copy that ends exactly where the hello does, so
 * ASan sees any read past it. Oracles, each an abort:
 *
 *  - a hello is accepted exactly when ref_hello_ok(), written from the
 *    layout documented in perf_hello.c and the limits of perf_opts.h
 *    and the sk_* tools, accepts it: every accepted hello meets every
 *    documented constraint, and nothing in range is refused;
 *  - a server's agreed options are its own with the hello's size,
 *    iterations, tx depth, -a and -A; a client's are its own; a refusal
 *    leaves them untouched;
 *  - a hello a server accepts packs back to the same bytes (but for byte
 *    31 and the padding between the provider name's NUL and the last
 *    byte, which nobody reads), and the server's echo of it is accepted
 *    by a client that asked for it;
 *  - a refusal has a reason: non-empty, and one line of printable text
 *    unless the peer's provider name (echoed in it) is not; a truncated
 *    err is a NUL-terminated prefix of the full one;
 *  - a blob length is accepted exactly when it is 1..SK_BLOB_MAX.
 *
 * Environment:
 *   SKIFF_FUZZ_WRITE_SEEDS=DIR  write seeds to DIR and exit (how
 *                               tests/fuzz/corpus_perf_hello was made):
 *                               for each tool, its default hello as a
 *                               server and as a client receives it, and
 *                               hellos with -a, -A, -t and -e
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/le.h>

#include "perf_common.h"

#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The hello's rules as documented in perf_hello.c; kept apart from the
 * code's own defines on purpose, so a changed limit shows up here. */
#define SPEC_MAGIC	  "SKPF"
#define SPEC_VERSION	  2
#define SPEC_MAX_SIZE	  (1ull << 30) /* largest -s */
#define SPEC_MAX_TX_DEPTH 65536u
#define SPEC_PROV_LEN	  8
#define ERR_LEN		  256
#define CFG_LEN		  2

/* The tools' identities, as in perf/sk_*.c (the fields the checks read,
 * and the defaults a client starts from). */
/* clang-format off */
static const struct perf_tool tools[] = {
	{.name = "sk_write_lat", .test = PERF_TEST_WRITE_LAT,
	 .opts = PERF_OPT_ALL, .def_size = 2, .def_iters = 1000,
	 .min_iters = 2, .min_size = 1, .slots = 2},
	{.name = "sk_read_lat", .test = PERF_TEST_READ_LAT,
	 .opts = PERF_OPT_ALL, .def_size = 2, .def_iters = 1000,
	 .min_iters = 1, .min_size = 1, .slots = 1},
	{.name = "sk_atomic_lat", .test = PERF_TEST_ATOMIC_LAT,
	 .opts = PERF_OPT_ALL | PERF_OPT_ATOMIC, .def_size = 8,
	 .def_iters = 1000, .min_iters = 1, .min_size = 8, .slots = 1},
	{.name = "sk_write_bw", .test = PERF_TEST_WRITE_BW,
	 .opts = PERF_OPT_ALL | PERF_OPT_TX_DEPTH, .def_size = 65536,
	 .def_iters = 5000, .min_iters = 1, .min_size = 1, .slots = 1},
	{.name = "sk_pingpong", .test = PERF_TEST_PINGPONG,
	 .opts = PERF_OPT_EVENTS, .def_size = 4096, .def_iters = 1000,
	 .min_iters = 1, .min_size = 1, .slots = 4},
};
/* clang-format on */
#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

static const char *const providers[4] = {"rdma", "ucx", "", "abcdefg"};
static const size_t max_msgs[4] = {SIZE_MAX, 1ul << 30, 65536, 8};

enum bump {
	BUMP_NONE,
	BUMP_SIZE,
	BUMP_ITERS,
	BUMP_DEPTH,
	BUMP_ALL,
	BUMP_ATOMIC,
	BUMP_EVENTS,
};

/* The options perf_opts_parse() gives @t with no flags. */
static struct perf_opts tool_defaults(const struct perf_tool *t)
{
	return (struct perf_opts){
		.tool = t,
		.port = PERF_DEFAULT_PORT,
		.size = t->def_size,
		.iters = t->def_iters,
		.tx_depth = 128,
		.atomic = PERF_ATOMIC_FADD,
	};
}

/* The documented rules, from scratch. @mine->server set: a client. */
static int ref_hello_ok(const uint8_t *b, size_t len,
			const struct perf_opts *mine,
			const struct sk_dev_attr *attr)
{
	const struct perf_tool *t = mine->tool;
	uint64_t size, iters, depth;
	const void *nul;

	if (len != PERF_HELLO_LEN || memcmp(b, SPEC_MAGIC, 4) != 0 ||
	    sk_le16_get(b + 4) != SPEC_VERSION || sk_le16_get(b + 6) != t->test)
		return 0;
	/* NUL-padded to 8 bytes: the last is NUL; what follows the name's
	 * own NUL before it is not read. */
	nul = memchr(b + 32, '\0', SPEC_PROV_LEN);
	if (b[32 + SPEC_PROV_LEN - 1] != '\0' ||
	    (size_t)((const uint8_t *)nul - (b + 32)) !=
		    strlen(attr->provider) ||
	    memcmp(b + 32, attr->provider, strlen(attr->provider)) != 0)
		return 0;
	size = sk_le64_get(b + 8);
	iters = sk_le64_get(b + 16);
	depth = sk_le32_get(b + 24);
	if (size < t->min_size || size > SPEC_MAX_SIZE ||
	    size > attr->max_msg ||
	    (t->test == PERF_TEST_ATOMIC_LAT && size != 8))
		return 0;
	if (iters < t->min_iters || iters > PERF_MAX_ITERS)
		return 0;
	if (depth < 1 || depth > SPEC_MAX_TX_DEPTH)
		return 0;
	if (b[28] > 1 || b[29] > 1 || b[30] > 1)
		return 0;
	if (mine->server == NULL)
		return 1;
	/* A client takes back only what it asked for; -e is its own. */
	return size == mine->size && iters == mine->iters &&
	       depth == mine->tx_depth && b[28] == mine->all_sizes &&
	       b[29] == mine->atomic;
}

/* @err is a reason: one non-empty line; printable if the peer's
 * provider name, which the provider refusal quotes, is. */
static void check_reason(const char *err, size_t errlen, const uint8_t *b,
			 size_t len)
{
	const char *nul = memchr(err, '\0', errlen);
	int printable = 1;

	check(nul != NULL);
	check(nul != err);
	if (len == PERF_HELLO_LEN)
		for (unsigned i = 32; i < 32 + SPEC_PROV_LEN - 1 && b[i]; i++)
			if (b[i] < 0x20 || b[i] >= 0x7f)
				printable = 0;
	if (!printable)
		return;
	for (const char *p = err; p < nul; p++)
		check(*p >= 0x20 && *p < 0x7f);
}

/* What a server's @agreed must be after accepting @b. */
static void check_adopted(const uint8_t *b, const struct perf_opts *mine,
			  const struct perf_opts *agreed)
{
	check(agreed->tool == mine->tool);
	check(agreed->server == mine->server);
	check(agreed->provider == mine->provider);
	check(agreed->device == mine->device);
	check(agreed->port == mine->port);
	check(agreed->events == mine->events);
	check(agreed->size == sk_le64_get(b + 8));
	check(agreed->iters == sk_le64_get(b + 16));
	check(agreed->tx_depth == sk_le32_get(b + 24));
	check(agreed->all_sizes == b[28]);
	check(agreed->atomic == b[29]);
}

static void check_same_opts(const struct perf_opts *a,
			    const struct perf_opts *b)
{
	check(a->tool == b->tool && a->server == b->server &&
	      a->provider == b->provider && a->device == b->device &&
	      a->port == b->port && a->size == b->size &&
	      a->iters == b->iters && a->tx_depth == b->tx_depth &&
	      a->all_sizes == b->all_sizes && a->atomic == b->atomic &&
	      a->events == b->events);
}

/* A hello the server accepted: it packs back to itself, and its echo
 * satisfies the client that sent it. */
static void check_round_trip(const uint8_t *b, const struct perf_opts *agreed,
			     const struct sk_dev_attr *attr)
{
	struct perf_opts client = *agreed, back;
	uint8_t packed[PERF_HELLO_LEN];
	size_t plen = strlen(attr->provider);
	char err[ERR_LEN];

	/* The server does not adopt -e; the client that sent it had it. */
	client.events = b[30];
	client.server = "peer";
	perf_hello_pack(&client, attr->provider, packed);
	check(memcmp(packed, b, 31) == 0);
	check(memcmp(packed + 32, b + 32, plen + 1) == 0);
	check(packed[PERF_HELLO_LEN - 1] == b[PERF_HELLO_LEN - 1]);

	perf_hello_pack(agreed, attr->provider, packed);
	check(perf_hello_parse(packed, sizeof(packed), &client, attr, &back,
			       err, sizeof(err)) == 0);
	check_same_opts(&back, &client);
}

/* A client's own options: see byte 1 in the comment at the top. */
static struct perf_opts client_opts(const uint8_t *b, size_t len,
				    const struct perf_tool *t,
				    const struct sk_dev_attr *attr, uint8_t how)
{
	struct perf_opts o = tool_defaults(t), adopted;
	char err[ERR_LEN];

	if (!(how & 1) &&
	    perf_hello_parse(b, len, &o, attr, &adopted, err, sizeof(err)) == 0)
		o = adopted;
	o.server = "peer";
	switch ((how >> 1) & 7) {
	case BUMP_SIZE:
		o.size++;
		break;
	case BUMP_ITERS:
		o.iters++;
		break;
	case BUMP_DEPTH:
		o.tx_depth++;
		break;
	case BUMP_ALL:
		o.all_sizes ^= 1;
		break;
	case BUMP_ATOMIC:
		o.atomic ^= 1;
		break;
	case BUMP_EVENTS:
		o.events ^= 1;
		break;
	default:
		break;
	}
	return o;
}

static void fuzz_hello(const uint8_t *cfg, const uint8_t *data, size_t size)
{
	const struct perf_tool *t = &tools[(cfg[0] & 7) % NTOOLS];
	const struct sk_dev_attr attr = {
		.provider = providers[(cfg[0] >> 4) & 3],
		.max_msg = max_msgs[cfg[0] >> 6],
	};
	size_t len = size < PERF_HELLO_LEN ? size : PERF_HELLO_LEN;
	size_t small = cfg[1] >> 4;
	struct perf_opts mine, agreed, untouched;
	char err[ERR_LEN], *err_small;
	uint8_t *b;
	int ret;

	/* Exactly sized on the heap. */
	b = fuzz_dup(data, len);

	if (cfg[0] & 8)
		mine = client_opts(b, len, t, &attr, cfg[1]);
	else
		mine = tool_defaults(t);

	memset(&agreed, 0xa5, sizeof(agreed));
	untouched = agreed;
	memset(err, 'E', sizeof(err));
	ret = perf_hello_parse(b, len, &mine, &attr, &agreed, err, sizeof(err));
	check(ret == 0 || ret == -1);
	check((ret == 0) == ref_hello_ok(b, len, &mine, &attr));
	if (ret == 0) {
		if (mine.server == NULL) {
			check_adopted(b, &mine, &agreed);
			check_round_trip(b, &agreed, &attr);
		} else {
			check_same_opts(&agreed, &mine);
		}
	} else {
		check(memcmp(&agreed, &untouched, sizeof(agreed)) == 0);
		check_reason(err, sizeof(err), b, len);
	}

	/* Again into a small buffer: same verdict, a prefix of the reason. */
	err_small = small ? malloc(small) : NULL;
	check(small == 0 || err_small != NULL);
	check(perf_hello_parse(b, len, &mine, &attr, &agreed, err_small,
			       small) == ret);
	if (ret != 0 && small) {
		check(memchr(err_small, '\0', small) != NULL);
		check(strncmp(err_small, err, small - 1) == 0);
	}
	free(err_small);
	free(b);
}

/* The socket after the hello: two blobs, as perf_ctx_connect() reads
 * them, each stopping the exchange if refused. */
static void fuzz_blobs(const uint8_t *data, size_t size)
{
	static const char *const what[2] = {"an endpoint address",
					    "a memory descriptor"};
	char err[ERR_LEN];

	for (unsigned i = 0; i < 2 && size >= 4; i++) {
		uint32_t len = sk_le32_get(data);
		int ret;

		memset(err, 'E', sizeof(err));
		ret = perf_blob_len_check(len, SK_BLOB_MAX, what[i], err,
					  sizeof(err));
		check(ret == 0 || ret == -1);
		check((ret == 0) == (len >= 1 && len <= SK_BLOB_MAX));
		if (ret != 0) {
			check_reason(err, sizeof(err), NULL, 0);
			check(strstr(err, what[i]) != NULL);
			return;
		}
		data += 4;
		size -= 4;
		if (size < len)
			return; /* the peer closed mid-blob */
		data += len;
		size -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < CFG_LEN)
		return 0;
	fuzz_hello(data, data + CFG_LEN, size - CFG_LEN);
	if (size > CFG_LEN + PERF_HELLO_LEN)
		fuzz_blobs(data + CFG_LEN + PERF_HELLO_LEN,
			   size - CFG_LEN - PERF_HELLO_LEN);
	return 0;
}

/* ---- the seed writer ---- */

static int seed_accepted(const uint8_t *seed)
{
	const struct perf_tool *t = &tools[(seed[0] & 7) % NTOOLS];
	const struct sk_dev_attr attr = {
		.provider = providers[(seed[0] >> 4) & 3],
		.max_msg = max_msgs[seed[0] >> 6],
	};
	const uint8_t *b = seed + CFG_LEN;
	struct perf_opts mine = tool_defaults(t), agreed;
	char err[ERR_LEN];

	if (seed[0] & 8)
		mine = client_opts(b, PERF_HELLO_LEN, t, &attr, seed[1]);
	return perf_hello_parse(b, PERF_HELLO_LEN, &mine, &attr, &agreed, err,
				sizeof(err)) == 0;
}

/*
 * One seed: our side @cfg0 (client bit set: the hello is the server's
 * echo of @o, which our client asked for), @o's hello as @prov packs it,
 * then two blobs of plausible lengths.
 */
static void write_seed(const char *dir, const char *name, uint8_t cfg0,
		       const struct perf_opts *o)
{
	static const uint32_t blob_len[2] = {64, 48};
	uint8_t seed[CFG_LEN + PERF_HELLO_LEN + 8 + 64 + 48] = {0};
	uint8_t *p = seed + CFG_LEN + PERF_HELLO_LEN;
	char path[4096];
	FILE *f;

	seed[0] = cfg0;
	seed[1] = 0; /* a client asked for exactly what it gets */
	perf_hello_pack(o, providers[(cfg0 >> 4) & 3], seed + CFG_LEN);
	for (unsigned i = 0; i < 2; i++) {
		sk_le32_put(p, blob_len[i]);
		p += 4 + blob_len[i];
	}
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(seed, 1, sizeof(seed), f) != sizeof(seed) ||
	    fclose(f) != 0) {
		fprintf(stderr, "fuzz_perf_hello: cannot write %s\n", path);
		exit(1);
	}
	/* The oracles hold for it, and it is accepted: a refused seed
	 * would teach the fuzzer little. */
	fuzz_hello(seed, seed + CFG_LEN, PERF_HELLO_LEN);
	if (!seed_accepted(seed)) {
		fprintf(stderr, "fuzz_perf_hello: seed %s is refused\n", name);
		exit(1);
	}
}

enum { PROV_RDMA = 0 << 4, PROV_UCX = 1 << 4, CLIENT = 8 };

static void write_seeds(const char *dir)
{
	char name[64];

	for (unsigned i = 0; i < NTOOLS; i++) {
		struct perf_opts o = tool_defaults(&tools[i]);

		snprintf(name, sizeof(name), "server-%s", tools[i].name);
		write_seed(dir, name, (uint8_t)(i | PROV_UCX), &o);
		snprintf(name, sizeof(name), "client-%s", tools[i].name);
		write_seed(dir, name, (uint8_t)(i | PROV_UCX | CLIENT), &o);
	}
	{
		struct perf_opts o = tool_defaults(&tools[0]);

		o.all_sizes = 1;
		write_seed(dir, "server-sk_write_lat-all-rdma",
			   (uint8_t)(0 | PROV_RDMA), &o);
	}
	{
		struct perf_opts o = tool_defaults(&tools[2]);

		o.atomic = PERF_ATOMIC_CAS;
		write_seed(dir, "server-sk_atomic_lat-cas",
			   (uint8_t)(2 | PROV_UCX), &o);
	}
	{
		struct perf_opts o = tool_defaults(&tools[3]);

		o.tx_depth = 16;
		o.size = 1ul << 20;
		o.iters = 100;
		write_seed(dir, "client-sk_write_bw-t16-rdma",
			   (uint8_t)(3 | PROV_RDMA | CLIENT), &o);
	}
	{
		struct perf_opts o = tool_defaults(&tools[4]);

		o.events = 1;
		write_seed(dir, "server-sk_pingpong-events",
			   (uint8_t)(4 | PROV_UCX), &o);
	}
}

FUZZ_INITIALIZE_WITH_SEEDS(write_seeds)
