/*
 * libFuzzer target for the verbs decoders of bytes from a peer: packed
 * endpoint addresses and memory descriptors (verbs/wire.h). Each input is
 * used three ways. As it is; "sealed", with body_len and check word
 * recomputed, so that mutations reach the body instead of dying at the
 * check word; and, when it is a ucx endpoint address, "live", with the
 * worker address replaced by this process's own, so that the rest of the
 * address (indices, key table, its packed key) gets past ucp_ep_create()
 * and is fuzzed too. The inputs are fed to:
 *
 *  1. sk_wire_open and the readers, in each of the four body shapes the
 *     providers write (rdma and ucx, endpoint and descriptor; the shapes
 *     are copied from verbs/rdma/rdma_wire.c, verbs/ucx/ucx_ep.c and
 *     ucx_key.c). A body that decodes must encode back to the very same
 *     bytes, and every pointer a reader hands out must lie inside the
 *     body: a violation aborts.
 *  2. The public API on a real ucx device opened once at start:
 *     sk_rkey_unpack() on an endpoint connected to a second endpoint of
 *     the same device (it may read the key table over UCX), and
 *     sk_ep_connect() on a fresh endpoint, destroyed afterwards.
 *
 * The rdma provider's decoders need a device this host may not have; they
 * are covered by the shape replay in (1).
 *
 * Safety: a worker address tells UCX which process or host to attach to;
 * over shared memory it maps that process's segments and writes into its
 * FIFOs. A fuzzed one could reach any process of this user. So an address
 * that would get past Skiff's checks is passed on only if its worker
 * address is our own (the live variant); the harness knows which ones get
 * past, and aborts if sk_ep_connect() accepts one it should have refused.
 *
 * Environment:
 *   SKIFF_FUZZ_VERBOSE=1        keep the decoders' messages (stderr)
 *   SKIFF_FUZZ_UCX_OPAQUE=1     in the live variant, keep the fuzzed key
 *                               table rkey too: that fuzzes UCX's own
 *                               ucp_ep_rkey_unpack (and crashes in it)
 *   SKIFF_FUZZ_WRITE_SEEDS=DIR  write valid blobs of every shape to DIR
 *                               and exit (how tests/fuzz/corpus was made)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/verbs.h>

#include "../../verbs/wire.h"
#include "../lib/wire_seal.h"
#include "fuzz_check.h"
#include "fuzz_ucx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the body shapes ---- */

enum field_kind {
	F_END = 0,
	F_U8,
	F_U16,
	F_U32,
	F_U64,
	F_BYTES, /* length: the value of the earlier field @len_field */
	F_FIXED, /* length: @len */
};

struct field {
	enum field_kind kind;
	unsigned len_field;
	size_t len;
};

#define MAX_FIELDS 13

struct shape {
	const char *what;
	uint32_t magic;
	uint8_t provider;
	struct field f[MAX_FIELDS];
};

enum { RDMA_EP, RDMA_MR, UCX_EP, UCX_MR, NSHAPES };

/* Fields of the ucx endpoint address, and its index limit (ucx_ep.c). */
enum {
	UCX_EP_IDX = 0,
	UCX_EP_ALEN = 4,
	UCX_EP_KLEN = 5,
	UCX_EP_ABUF = 6,
	UCX_EP_KBUF = 7,
};
#define UCX_MAX_EPS 65535

/* One shape per entry, laid out as on the wire. */
/* clang-format off */
static const struct shape shapes[NSHAPES] = {
	/* rdma_ep_addr_pack: qpn, psn, lid, link layer, mtu, gid, ipv4,
	 * cm port, tag */
	[RDMA_EP] = {"rdma endpoint address", SK_WIRE_MAGIC_EP,
		     SK_WIRE_PROV_RDMA,
		     {{F_U32, 0, 0}, {F_U32, 0, 0}, {F_U16, 0, 0},
		      {F_U8, 0, 0}, {F_U8, 0, 0}, {F_FIXED, 0, 16},
		      {F_FIXED, 0, 4}, {F_U16, 0, 0}, {F_U64, 0, 0}}},
	/* rdma_mr_pack: addr, len, rkey, access */
	[RDMA_MR] = {"rdma memory descriptor", SK_WIRE_MAGIC_MR,
		     SK_WIRE_PROV_RDMA,
		     {{F_U64, 0, 0}, {F_U64, 0, 0}, {F_U32, 0, 0},
		      {F_U32, 0, 0}}},
	/* ucx_ep_addr_pack: index, generation, key table address and
	 * size, worker address length, key length, worker address, key;
	 * the ring: host id, pid, memfd, size, wakeup socket name */
	[UCX_EP] = {"ucx endpoint address", SK_WIRE_MAGIC_EP, SK_WIRE_PROV_UCX,
		    {{F_U32, 0, 0}, {F_U32, 0, 0}, {F_U64, 0, 0},
		     {F_U32, 0, 0}, {F_U16, 0, 0}, {F_U16, 0, 0},
		     {F_BYTES, 4, 0}, {F_BYTES, 5, 0}, {F_U64, 0, 0},
		     {F_U32, 0, 0}, {F_U32, 0, 0}, {F_U32, 0, 0},
		     {F_FIXED, 0, 16}}},
	/* ucx_mr_pack: addr, len, access, key id, cookie, key length, key */
	[UCX_MR] = {"ucx memory descriptor", SK_WIRE_MAGIC_MR, SK_WIRE_PROV_UCX,
		    {{F_U64, 0, 0}, {F_U64, 0, 0}, {F_U32, 0, 0},
		     {F_U32, 0, 0}, {F_U64, 0, 0}, {F_U16, 0, 0},
		     {F_BYTES, 5, 0}}},
};
/* clang-format on */

/* One decoded body. */
struct fields {
	uint64_t val[MAX_FIELDS];
	const void *ptr[MAX_FIELDS];
	size_t plen[MAX_FIELDS];
};

static void die(const char *what, const char *why)
{
	fprintf(stdout, "fuzz_blobs: %s: %s\n", what, why);
	fflush(stdout);
	abort();
}

/* Decode @data as @s into @out. Returns 1 if the body was read exactly. */
static int decode(const struct shape *s, const uint8_t *data, size_t size,
		  struct fields *out)
{
	const uint8_t *body, *body_end;
	struct sk_wire_reader r;

	if (sk_wire_open(data, size, s->magic, s->provider, s->what, &r))
		return 0;
	if (size < SK_WIRE_HDR_LEN + SK_WIRE_CHECK_LEN ||
	    r.left != size - SK_WIRE_HDR_LEN - SK_WIRE_CHECK_LEN)
		die(s->what, "sk_wire_open accepted a blob of the wrong size");
	body = data + SK_WIRE_HDR_LEN;
	body_end = body + r.left;

	for (unsigned i = 0; i < MAX_FIELDS && s->f[i].kind != F_END; i++) {
		const struct field *f = &s->f[i];

		out->val[i] = 0;
		out->ptr[i] = NULL;
		out->plen[i] = 0;
		switch (f->kind) {
		case F_U8:
			out->val[i] = sk_wire_get_u8(&r);
			break;
		case F_U16:
			out->val[i] = sk_wire_get_u16(&r);
			break;
		case F_U32:
			out->val[i] = sk_wire_get_u32(&r);
			break;
		case F_U64:
			out->val[i] = sk_wire_get_u64(&r);
			break;
		case F_BYTES:
		case F_FIXED:
			out->plen[i] = f->kind == F_FIXED
					       ? f->len
					       : (size_t)out->val[f->len_field];
			out->ptr[i] = sk_wire_get_bytes(&r, out->plen[i]);
			if (out->ptr[i] &&
			    ((const uint8_t *)out->ptr[i] < body ||
			     (const uint8_t *)out->ptr[i] + out->plen[i] >
				     body_end))
				die(s->what, "reader pointer outside the body");
			break;
		case F_END:
			break;
		}
	}
	return sk_wire_end(&r, s->what) == SK_OK;
}

/* Encode @in as @s into @buf. Returns the length, 0 if it did not fit. */
static size_t encode(const struct shape *s, const struct fields *in,
		     uint8_t *buf, size_t cap)
{
	struct sk_wire_writer w;
	size_t len = 0;

	sk_wire_begin(&w, buf, cap);
	for (unsigned i = 0; i < MAX_FIELDS && s->f[i].kind != F_END; i++) {
		switch (s->f[i].kind) {
		case F_U8:
			sk_wire_put_u8(&w, (uint8_t)in->val[i]);
			break;
		case F_U16:
			sk_wire_put_u16(&w, (uint16_t)in->val[i]);
			break;
		case F_U32:
			sk_wire_put_u32(&w, (uint32_t)in->val[i]);
			break;
		case F_U64:
			sk_wire_put_u64(&w, in->val[i]);
			break;
		case F_BYTES:
		case F_FIXED:
			sk_wire_put_bytes(&w, in->ptr[i], in->plen[i]);
			break;
		case F_END:
			break;
		}
	}
	if (sk_wire_finish(&w, s->magic, s->provider, &len) != SK_OK)
		return 0;
	return len;
}

/* (1): decode in every shape; what decodes must encode back unchanged. */
static void replay_shapes(const uint8_t *data, size_t size)
{
	for (unsigned k = 0; k < NSHAPES; k++) {
		const struct shape *s = &shapes[k];
		struct fields f;
		uint8_t *copy;

		if (!decode(s, data, size, &f))
			continue;
		copy = malloc(size);
		if (copy == NULL)
			die(s->what, "out of memory");
		if (encode(s, &f, copy, size) != size ||
		    memcmp(copy, data, size) != 0)
			die(s->what, "decode then encode changed the blob");
		free(copy);
		/* The range check of descriptors must take any value:
		 * address, length, and rights (field 3 rdma, 2 ucx). */
		if (k == RDMA_MR || k == UCX_MR) {
			uint32_t access = (uint32_t)f.val[k == RDMA_MR ? 3 : 2];

			(void)sk_wire_check_range(f.val[0], f.val[1], access,
						  s->what);
		}
	}
}

/* ---- (2): the public API on a live ucx device ---- */

static struct {
	struct fuzz_ucx u;
	uint8_t waddr[SK_BLOB_MAX]; /* this worker's UCX address */
	size_t waddr_len;
	uint8_t ktkey[SK_BLOB_MAX]; /* its key table's packed rkey */
	size_t ktkey_len;
	int opaque; /* fuzz the packed rkey too */
} fz;

static void api_rkey_unpack(const uint8_t *data, size_t size)
{
	struct sk_rkey *rkey;

	if (sk_rkey_unpack(fz.u.a, data, size, &rkey) == SK_OK)
		sk_rkey_destroy(rkey);
}

/*
 * Would ucx_ep_connect() hand this blob's worker address to UCX? Mirrors
 * its checks: a ucx endpoint address that decodes, with a worker address
 * and a key, and an endpoint index in range. Sets *@ours when the worker
 * address is this process's.
 */
static int ucx_ep_reaches_ucx(const uint8_t *data, size_t size, int *ours)
{
	struct fields f;

	*ours = 0;
	if (!decode(&shapes[UCX_EP], data, size, &f) ||
	    f.val[UCX_EP_ALEN] == 0 || f.val[UCX_EP_KLEN] == 0 ||
	    f.val[UCX_EP_IDX] >= UCX_MAX_EPS)
		return 0;
	*ours = f.plen[UCX_EP_ABUF] == fz.waddr_len &&
		memcmp(f.ptr[UCX_EP_ABUF], fz.waddr, fz.waddr_len) == 0;
	return 1;
}

static void api_ep_connect(const uint8_t *data, size_t size)
{
	struct sk_ep *ep;
	sk_status_t st;
	int reaches, ours;

	reaches = ucx_ep_reaches_ucx(data, size, &ours);
	if (reaches && !ours)
		return; /* another worker: see Safety above */
	if (sk_ep_create(fz.u.dev, &ep) != SK_OK)
		die("sk_ep_create", "failed");
	st = sk_ep_connect(ep, data, size);
	sk_ep_destroy(ep);
	if (st == SK_OK && !reaches)
		die("sk_ep_connect", "accepted a blob its checks refuse");
}

/* A ucx endpoint address with our own worker address put in, and unless
 * SKIFF_FUZZ_UCX_OPAQUE=1, our own key table rkey: UCX parses that one
 * without a length and crashes on some bad ones (see the README). */
static void api_ep_connect_live(const uint8_t *data, size_t size)
{
	uint8_t blob[SK_WIRE_HDR_LEN + UINT16_MAX + SK_WIRE_CHECK_LEN];
	const struct shape *s = &shapes[UCX_EP];
	struct fields f;
	uint8_t *exact;
	size_t len;

	if (fz.waddr_len == 0 || !decode(s, data, size, &f))
		return;
	f.val[UCX_EP_ALEN] = fz.waddr_len;
	f.ptr[UCX_EP_ABUF] = fz.waddr;
	f.plen[UCX_EP_ABUF] = fz.waddr_len;
	if (!fz.opaque) {
		f.val[UCX_EP_KLEN] = fz.ktkey_len;
		f.ptr[UCX_EP_KBUF] = fz.ktkey;
		f.plen[UCX_EP_KBUF] = fz.ktkey_len;
	}
	len = encode(s, &f, blob, sizeof(blob));
	if (len == 0)
		return;
	/* Exactly sized on the heap: a read past the blob is reported. */
	exact = malloc(len);
	if (exact == NULL)
		die(s->what, "out of memory");
	memcpy(exact, blob, len);
	api_ep_connect(exact, len);
	free(exact);
}

static void run_all(const uint8_t *data, size_t size)
{
	replay_shapes(data, size);
	if (fz.u.dev == NULL)
		return;
	api_rkey_unpack(data, size);
	api_ep_connect(data, size);
	api_ep_connect_live(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *sealed;

	run_all(data, size);
	/* The same bytes with a true length and check word. */
	sealed = fuzz_dup(data, size);
	if (sk_test_wire_seal(sealed, size) == 0)
		run_all(sealed, size);
	free(sealed);
	return 0;
}

/* ---- set-up, and the seed writer ---- */

static void write_built_seed(const char *dir, const char *name, unsigned k,
			     const struct fields *in)
{
	uint8_t blob[SK_BLOB_MAX];
	size_t len = encode(&shapes[k], in, blob, sizeof(blob));

	if (len == 0)
		die(name, "seed does not fit");
	fuzz_write_seed(dir, name, -1, blob, len);
}

/* Valid blobs of every shape: the ucx ones from this process, the rdma
 * ones built as rdma_wire.c would (no RDMA device needed). */
static void write_seeds(const char *dir)
{
	static const uint8_t gid[16] = {[10] = 0xff, [11] = 0xff, 192,
					168,	     1,		  10};
	static const uint8_t no_ip[4]; /* blob path: no CM address */
	const struct fields rdma_ep = {
		.val = {0x000011, 0xabcdef, 0, 2 /* Ethernet */, 3 /* 1024 */},
		.ptr = {[5] = gid, [6] = no_ip},
		.plen = {[5] = sizeof(gid), [6] = sizeof(no_ip)},
	};
	const struct fields rdma_ib = {
		.val = {0x000123, 0x000001, 0x0007, 1 /* InfiniBand */,
			5 /* 4096 */},
		.ptr = {[5] = gid, [6] = no_ip},
		.plen = {[5] = sizeof(gid), [6] = sizeof(no_ip)},
	};
	const struct fields rdma_mr = {
		.val = {0x7f0000001000ull, 65536, 0x1234, SK_ACCESS_ALL},
	};
	uint8_t blob[SK_BLOB_MAX];
	size_t len;

	write_built_seed(dir, "rdma-ep-roce", RDMA_EP, &rdma_ep);
	write_built_seed(dir, "rdma-ep-ib", RDMA_EP, &rdma_ib);
	write_built_seed(dir, "rdma-mr", RDMA_MR, &rdma_mr);
	if (fz.u.dev == NULL)
		die("seeds", "no ucx device");
	len = sizeof(blob);
	if (sk_ep_addr_pack(fz.u.b, blob, &len) != SK_OK)
		die("seeds", "sk_ep_addr_pack failed");
	fuzz_write_seed(dir, "ucx-ep", -1, blob, len);
	len = sizeof(blob);
	if (sk_mr_pack(fz.u.mr, blob, &len) != SK_OK)
		die("seeds", "sk_mr_pack failed");
	fuzz_write_seed(dir, "ucx-mr", -1, blob, len);
}

static int open_device(void)
{
	uint8_t addr_b[SK_BLOB_MAX];
	size_t len_b = sizeof(addr_b);
	struct fields f;

	if (fuzz_ucx_open(&fz.u, addr_b, &len_b))
		return -1;
	/* Our worker address, for the live variant. */
	if (!decode(&shapes[UCX_EP], addr_b, len_b, &f))
		die("open", "cannot decode our own endpoint address");
	fz.waddr_len = f.plen[UCX_EP_ABUF];
	memcpy(fz.waddr, f.ptr[UCX_EP_ABUF], fz.waddr_len);
	fz.ktkey_len = f.plen[UCX_EP_KBUF];
	memcpy(fz.ktkey, f.ptr[UCX_EP_KBUF], fz.ktkey_len);
	return 0;
}

static void close_device(void)
{
	sk_mr_dereg(fz.u.mr);
	sk_ep_destroy(fz.u.a);
	sk_ep_destroy(fz.u.b);
	sk_dev_close(fz.u.dev);
	free(fz.u.buf);
	memset(&fz, 0, sizeof(fz));
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("SKIFF_FUZZ_WRITE_SEEDS");
	const char *opaque = getenv("SKIFF_FUZZ_UCX_OPAQUE");

	(void)argc;
	(void)argv;
	fz.opaque = opaque && strcmp(opaque, "0") != 0;
	/* A key check that cannot be answered must not stall the run. */
	setenv("SKIFF_UCX_KEY_CHECK_MS", "1000", 0);

	if (open_device() != 0) {
		fprintf(stderr, "fuzz_blobs: no ucx device; fuzzing the "
				"codec only\n");
		close_device();
	}
	if (seeds) {
		write_seeds(seeds);
		close_device();
		exit(0);
	}
	fuzz_quiet_unless_verbose();
	return 0;
}
