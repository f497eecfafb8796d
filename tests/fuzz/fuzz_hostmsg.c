/*
 * libFuzzer target for the host's checkers of node bytes (hostproto.h):
 * sk_hmsg_parse(), which every host-service request passes over the fabric
 * (libos/hostproto.c), and sk_boot_hello_parse(), which reads the TCP
 * bootstrap hello (launcher/bootsrv.c). The first byte of an input says
 * what to do with the rest:
 *
 *   bit 0     0: the rest is a request (sk_hmsg_parse)
 *             1: the rest is a hello (sk_boot_hello_parse)
 *   bit 1     seal it: a request gets its header's len set to the bytes
 *             after the header and its result cleared, a hello its magic
 *             and version set right, so mutations reach the type checks
 *   bits 2-7  for a hello, the job size the host expects, minus one
 *
 * The parsers see a buffer that ends exactly where the input does, so
 * ASan sees any read past it. Oracles, each an abort:
 *
 *  - a request is accepted exactly when a model of the rules written from
 *    hostproto.h (ref_request_ok below) accepts it; an accepted one has
 *    its fixed fields equal to the bytes, its data pointers at the right
 *    offsets, and its strings NUL-terminated at the end of the message;
 *    parsing again into a differently filled struct gives the same struct;
 *  - a hello gets the verdict (1 whole, 0 need more, -1 malformed) that
 *    a model of its rules (ref_hello below) gives; a whole one has its
 *    header equal to the bytes and its one blob, 1..SK_BLOB_MAX bytes,
 *    right after its u16 length, ending at used <= len; the same bytes
 *    cut at used parse the same, cut one shorter need more (0); and a
 *    prefix's verdict holds for the whole input: a prefix refused (-1)
 *    means the input is refused, a prefix whole (1) the same hello;
 *  - every refusal has a reason: one line of printable text.
 *
 * Environment:
 *   SKIFF_FUZZ_WRITE_SEEDS=DIR  write seeds to DIR and exit (how
 *                               tests/fuzz/corpus_hostmsg was made):
 *                               valid requests of every type, one a byte
 *                               over a slot, and three hellos
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <skiff/config.h>
#include <skiff/hostproto.h>
#include <skiff/le.h>

#include "job.h"
#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HDR       sizeof(struct sk_hmsg_hdr)
#define HELLO     sizeof(struct sk_boot_hello)

/* ---- requests ---- */

/* A path as the rules want it: [q, q + n) is non-empty, fits, and ends
 * with its only NUL. */
static int ref_path_ok(const uint8_t *q, size_t n)
{
	return n >= 2 && n <= SK_HMSG_PATH_MAX &&
	       memchr(q, '\0', n) == q + n - 1;
}

/* The rules of hostproto.h, one by one, from the bytes. */
static int ref_request_ok(const uint8_t *b, size_t len)
{
	const uint8_t *p = b + HDR;
	uint16_t type, flags;
	size_t plen;

	if (len < HDR || len > SK_HMSG_SLOT_SIZE)
		return 0;
	plen = len - HDR;
	type = sk_le16_get(b);
	flags = sk_le16_get(b + 2);
	if (sk_le32_get(b + 4) != plen || sk_le64_get(b + 16) != 0)
		return 0;
	switch (type) {
	case SK_HMSG_READY:
		return plen >= 1;
	case SK_HMSG_CONSOLE:
		return flags == 1 || flags == 2;
	case SK_HMSG_STDIN_READ:
		return plen == 4 && sk_le32_get(p) >= 1 &&
		       sk_le32_get(p) <= SK_HMSG_PAYLOAD_MAX;
	case SK_HMSG_FINALIZE:
		return plen == 0 && (flags & ~SK_HFIN_LEAVE) == 0;
	case SK_HMSG_ABORT:
		return plen >= 5 && p[plen - 1] == '\0';
	case SK_HMSG_OPEN:
	case SK_HMSG_MKDIR:
		return plen >= 8 && ref_path_ok(p + 8, plen - 8);
	case SK_HMSG_UNLINK:
	case SK_HMSG_STAT:
		return ref_path_ok(p, plen);
	case SK_HMSG_RENAME: {
		/* two paths: the first ends at the first NUL */
		const uint8_t *nul = plen ? memchr(p, '\0', plen) : NULL;
		size_t l1 = nul ? (size_t)(nul - p) + 1 : 0;

		return nul && ref_path_ok(p, l1) &&
		       ref_path_ok(p + l1, plen - l1);
	}
	case SK_HMSG_FSYNC:
		return plen == 8 && (flags & ~SK_HFSYNC_DATA) == 0 &&
		       sk_le32_get(p + 4) == 0;
	case SK_HMSG_FTRUNCATE:
		return plen == 16 && sk_le32_get(p + 4) == 0 &&
		       (int64_t)sk_le64_get(p + 8) >= 0;
	case SK_HMSG_CLOSE:
	case SK_HMSG_FSTAT:
	case SK_HMSG_READDIR:
		return plen == 8;
	case SK_HMSG_LSEEK:
		return plen == 16;
	case SK_HMSG_READ:
	case SK_HMSG_WRITE:
		if (plen < 24 || (int64_t)sk_le64_get(p + 8) < -1 ||
		    (flags & ~(SK_HIO_HOSTBUF | SK_HIO_WHOLE | SK_HIO_GROW)) !=
			    0 ||
		    (type == SK_HMSG_READ &&
		     (flags & (SK_HIO_WHOLE | SK_HIO_GROW))) ||
		    ((flags & SK_HIO_GROW) &&
		     (flags & (SK_HIO_HOSTBUF | SK_HIO_WHOLE)) !=
			     (SK_HIO_HOSTBUF | SK_HIO_WHOLE)))
			return 0;
		if (flags & SK_HIO_HOSTBUF) /* a range of the host's area */
			return plen == 24 &&
			       sk_le32_get(p + 4) <= SK_HMSG_BULK_MAX &&
			       sk_le64_get(p + 16) + sk_le32_get(p + 4) <=
				       SK_HMSG_AREA_MAX &&
			       sk_le64_get(p + 16) <= SK_HMSG_AREA_MAX;
		if (sk_le64_get(p + 16) != 0) /* then at most a key */
			return plen - 24 <= SK_BLOB_MAX &&
			       sk_le32_get(p + 4) <= SK_HMSG_BULK_MAX;
		if (type == SK_HMSG_READ)
			return plen == 24 && sk_le32_get(p + 4) <= SK_HMSG_PAYLOAD_MAX;
		return sk_le32_get(p + 4) == plen - 24;
	case SK_HMSG_CONNECT:
		/* rank (any), service, no flags, then an address */
		return plen >= 8 && sk_le16_get(p + 4) < SK_HSERVICE_MAX &&
		       sk_le16_get(p + 6) == 0 && plen - 8 >= 1 &&
		       plen - 8 <= SK_BLOB_MAX;
	case SK_HMSG_ACCEPT:
		if (plen < 8 || sk_le16_get(p + 4) >= SK_HSERVICE_MAX)
			return 0;
		switch (sk_le16_get(p + 6)) {
		case 0:
		case SK_HACCEPT_MERGED:
			return plen - 8 >= 1 && plen - 8 <= SK_BLOB_MAX;
		case SK_HACCEPT_REFUSED: /* no endpoint, no address */
			return plen == 8;
		default:
			return 0;
		}
	case SK_HMSG_CONNECTED:
		/* rank (any), service, no flags, nothing more */
		return plen == 8 && sk_le16_get(p + 4) < SK_HSERVICE_MAX &&
		       sk_le16_get(p + 6) == 0;
	case SK_HMSG_LISTEN:
	case SK_HMSG_BARRIER:
		return plen == 0;
	default:
		return 0;
	}
}

/* @s is the NUL-terminated string that ends the message at @end. */
static void check_tail_str(const char *s, const uint8_t *start,
			   const uint8_t *end)
{
	const uint8_t *q = (const uint8_t *)s;

	check(q == start);
	check(q < end);
	check(memchr(q, '\0', (size_t)(end - q)) == end - 1);
}

static void check_request(const uint8_t *b, size_t len,
			  const struct sk_hreq *r)
{
	const uint8_t *p = b + HDR, *end = b + len;
	size_t plen = len - HDR;

	check(len >= HDR && len <= SK_HMSG_SLOT_SIZE);
	check(memcmp(&r->hdr, b, HDR) == 0);
	check(r->hdr.len == plen && r->hdr.result == 0);
	switch (r->hdr.type) {
	case SK_HMSG_READY:
	case SK_HMSG_CONSOLE:
		check(r->u.bytes.data == p && r->u.bytes.len == plen);
		break;
	case SK_HMSG_STDIN_READ:
		check(r->u.max == sk_le32_get(p));
		break;
	case SK_HMSG_ABORT:
		check(r->u.abort.code == (int32_t)sk_le32_get(p));
		check(r->u.abort.msg == (const char *)p + 4);
		check(end[-1] == '\0');
		break;
	case SK_HMSG_OPEN:
		check(memcmp(&r->u.open.o, p, 8) == 0);
		check_tail_str(r->u.open.path, p + 8, end);
		break;
	case SK_HMSG_MKDIR:
		check(memcmp(&r->u.mkdir.m, p, 8) == 0);
		check_tail_str(r->u.mkdir.path, p + 8, end);
		break;
	case SK_HMSG_UNLINK:
	case SK_HMSG_STAT:
		check_tail_str(r->u.path, p, end);
		break;
	case SK_HMSG_RENAME:
		check(r->u.rename.from == (const char *)p);
		check(strlen(r->u.rename.from) + 1 <= SK_HMSG_PATH_MAX);
		check_tail_str(r->u.rename.to, p + strlen(r->u.rename.from) + 1,
			       end);
		break;
	case SK_HMSG_FSYNC:
		check(plen == 8 && memcmp(&r->u.fd, p, 8) == 0);
		check((r->hdr.flags & ~SK_HFSYNC_DATA) == 0);
		break;
	case SK_HMSG_FTRUNCATE:
		check(plen == 16 && memcmp(&r->u.trunc, p, 16) == 0);
		check(r->u.trunc.length >= 0);
		break;
	case SK_HMSG_CLOSE:
	case SK_HMSG_FSTAT:
	case SK_HMSG_READDIR:
		check(plen == 8 && memcmp(&r->u.fd, p, 8) == 0);
		break;
	case SK_HMSG_LSEEK:
		check(plen == 16 && memcmp(&r->u.lseek, p, 16) == 0);
		break;
	case SK_HMSG_READ:
	case SK_HMSG_WRITE:
		check(memcmp(&r->io, p, 24) == 0);
		check(r->io.offset >= -1);
		check((r->hdr.flags &
		       ~(SK_HIO_HOSTBUF | SK_HIO_WHOLE | SK_HIO_GROW)) == 0);
		check(r->hdr.type == SK_HMSG_WRITE ||
		      !(r->hdr.flags & (SK_HIO_WHOLE | SK_HIO_GROW)));
		check(!(r->hdr.flags & SK_HIO_GROW) ||
		      ((r->hdr.flags & SK_HIO_HOSTBUF) &&
		       (r->hdr.flags & SK_HIO_WHOLE)));
		if (r->hdr.flags & SK_HIO_HOSTBUF) {
			check(plen == 24 && r->u.bytes.len == 0);
			check(r->io.len <= SK_HMSG_BULK_MAX &&
			      r->io.raddr <= SK_HMSG_AREA_MAX - r->io.len);
		} else if (r->io.raddr) {
			check(r->io.len <= SK_HMSG_BULK_MAX);
			check(r->u.bytes.data == p + 24);
			check(r->u.bytes.len == plen - 24);
			check(r->u.bytes.len <= SK_BLOB_MAX);
		} else if (r->hdr.type == SK_HMSG_WRITE) {
			check(r->u.bytes.data == p + 24);
			check(r->u.bytes.len == r->io.len);
			check(p + 24 + r->u.bytes.len == end);
		} else {
			check(plen == 24);
			check(r->io.len <= SK_HMSG_PAYLOAD_MAX);
			check(r->u.bytes.len == 0);
		}
		break;
	case SK_HMSG_FINALIZE:
		check((r->hdr.flags & ~SK_HFIN_LEAVE) == 0);
		/* fall through */
	case SK_HMSG_LISTEN:
	case SK_HMSG_BARRIER:
		check(plen == 0);
		break;
	case SK_HMSG_CONNECT:
	case SK_HMSG_ACCEPT:
		check(plen >= 8 && memcmp(&r->u.peer.p, p, 8) == 0);
		check(r->u.peer.p.service < SK_HSERVICE_MAX);
		check((const uint8_t *)r->u.peer.blob == p + 8);
		check(r->u.peer.len == plen - 8);
		check(r->u.peer.len <= SK_BLOB_MAX);
		if (r->hdr.type == SK_HMSG_ACCEPT &&
		    (r->u.peer.p.flags & SK_HACCEPT_REFUSED))
			check(r->u.peer.len == 0 &&
			      r->u.peer.p.flags == SK_HACCEPT_REFUSED);
		else
			check(r->u.peer.len >= 1);
		break;
	case SK_HMSG_CONNECTED:
		check(plen == 8 && memcmp(&r->u.peer.p, p, 8) == 0);
		check(r->u.peer.p.service < SK_HSERVICE_MAX);
		check(r->u.peer.p.flags == 0);
		break;
	default:
		check(!"an unknown type was accepted");
	}
}

static void fuzz_request(const uint8_t *b, size_t len)
{
	struct sk_hreq r, again;
	const char *why = NULL;
	sk_status_t st;
	int want = ref_request_ok(b, len);

	memset(&r, 0xa5, sizeof(r));
	st = sk_hmsg_parse(b, len, &r, &why);
	if (st != SK_OK) {
		check(st == SK_ERR_MALFORMED);
		check_why(why);
		if (want) {
			fprintf(stderr, "refused a valid request: %s\n", why);
			abort();
		}
		return;
	}
	if (!want) {
		fprintf(stderr, "accepted an invalid request (type %u)\n",
			r.hdr.type);
		abort();
	}
	check_request(b, len, &r);
	memset(&again, 0x5a, sizeof(again));
	check(sk_hmsg_parse(b, len, &again, &why) == SK_OK);
	check(memcmp(&r, &again, sizeof(r)) == 0);
}

/* ---- hellos ---- */

/* The hello's rules, from the bytes: 1 whole, 0 need more, -1 malformed. */
static int ref_hello(const uint8_t *b, size_t len, unsigned max_size,
		     size_t *used_p)
{
	uint16_t l;

	if (len < HELLO)
		return 0;
	if (sk_le32_get(b) != SK_BOOT_MAGIC || sk_le16_get(b + 4) != SK_BOOT_VERSION ||
	    sk_le32_get(b + 12) == 0 || sk_le32_get(b + 12) > max_size)
		return -1;
	if (len < HELLO + 2)
		return 0;
	l = sk_le16_get(b + HELLO);
	if (l == 0 || l > SK_BLOB_MAX)
		return -1;
	if (len < HELLO + 2 + l)
		return 0;
	*used_p = HELLO + 2 + l;
	return 1;
}

struct hello_out {
	struct sk_boot_hello h;
	const void *blob;
	uint16_t    blob_len;
	size_t      used;
	const char *why;
};

static int hello_parse(const uint8_t *b, size_t len, unsigned max_size,
		       struct hello_out *o)
{
	size_t want_used = 0;
	int rc, want = ref_hello(b, len, max_size, &want_used);

	o->blob = NULL;
	o->blob_len = 0;
	o->why = NULL;
	o->used = SIZE_MAX;
	rc = sk_boot_hello_parse(b, len, max_size, &o->h, &o->blob,
				 &o->blob_len, &o->used, &o->why);
	if (rc != want) {
		fprintf(stderr, "hello of %zu bytes (max size %u): %d, the "
			"rules say %d (%s)\n", len, max_size, rc, want,
			o->why ? o->why : "no reason");
		abort();
	}
	if (rc < 0)
		check_why(o->why);
	if (rc == 1)
		check(o->used == want_used);
	return rc;
}

static void check_hello(const uint8_t *b, size_t len, unsigned max_size,
			const struct hello_out *o)
{
	check(o->used <= len && o->used >= HELLO + 2 + 1);
	check(memcmp(&o->h, b, HELLO) == 0);
	check(o->h.magic == SK_BOOT_MAGIC && o->h.version == SK_BOOT_VERSION);
	check(o->h.size >= 1 && o->h.size <= max_size);
	check(o->blob_len >= 1 && o->blob_len <= SK_BLOB_MAX);
	check(sk_le16_get(b + HELLO) == o->blob_len);
	check((const uint8_t *)o->blob == b + HELLO + 2);
	check(HELLO + 2 + o->blob_len == o->used);
	check(o->used <= SK_BOOT_MSG_MAX);
}

static void fuzz_hello(const uint8_t *b, size_t len, unsigned max_size)
{
	struct hello_out o, p;
	int rc = hello_parse(b, len, max_size, &o);
	size_t half = len / 2;
	int prc;

	if (rc == 1) {
		check_hello(b, len, max_size, &o);
		/* The same hello, and nothing after it. */
		check(hello_parse(b, o.used, max_size, &p) == 1);
		check(p.used == o.used && p.blob == o.blob &&
		      p.blob_len == o.blob_len);
		check(hello_parse(b, o.used - 1, max_size, &p) == 0);
	}
	/* More bytes never change a verdict: a prefix found malformed
	 * stays malformed, a prefix found whole is the same hello. */
	prc = hello_parse(b, half, max_size, &p);
	if (prc == -1)
		check(rc == -1);
	if (prc == 1)
		check(rc == 1 && p.used == o.used);
}

/* ---- seeds ---- */

static void write_seed(const char *dir, const char *name, uint8_t mode,
		       const uint8_t *b, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fputc(mode, f) == EOF ||
	    fwrite(b, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "fuzz_hostmsg: cannot write %s\n", path);
		exit(1);
	}
}

/* A request: header, then @n payload bytes. */
static size_t mk_req(uint8_t *b, uint16_t type, uint16_t flags, uint64_t id,
		     const void *pl, size_t n)
{
	memset(b, 0, HDR);
	sk_le16_put(b, type);
	sk_le16_put(b + 2, flags);
	sk_le32_put(b + 4, (uint32_t)n);
	sk_le64_put(b + 8, id);
	memcpy(b + HDR, pl, n);
	return HDR + n;
}

/* A payload of two u32s then a string with its NUL. */
static size_t pl_2x32_str(uint8_t *pl, uint32_t a, uint32_t b, const char *s)
{
	sk_le32_put(pl, a);
	sk_le32_put(pl + 4, b);
	memcpy(pl + 8, s, strlen(s) + 1);
	return 8 + strlen(s) + 1;
}

static size_t pl_io(uint8_t *pl, int32_t fd, uint32_t len, int64_t off,
		    uint64_t raddr)
{
	sk_le32_put(pl, (uint32_t)fd);
	sk_le32_put(pl + 4, len);
	sk_le64_put(pl + 8, (uint64_t)off);
	sk_le64_put(pl + 16, raddr);
	return 24;
}

static void write_request(const char *dir, const char *name, uint16_t type,
			  uint16_t flags, const uint8_t *pl, size_t n)
{
	static uint64_t id = 1;
	static uint8_t b[SK_HMSG_SLOT_SIZE + 1];
	size_t len;

	check(HDR + n <= sizeof(b));
	len = mk_req(b, type, flags, id++, pl, n);
	/* All are valid but one, which is a byte over a slot. */
	check(ref_request_ok(b, len) == (len <= SK_HMSG_SLOT_SIZE));
	write_seed(dir, name, 0, b, len);
}

/* A payload of struct sk_hreq_peer, then an address of @alen bytes. */
static size_t pl_peer(uint8_t *pl, uint32_t rank, uint16_t service,
		      uint16_t flags, size_t alen)
{
	sk_le32_put(pl, rank);
	sk_le16_put(pl + 4, service);
	sk_le16_put(pl + 6, flags);
	for (size_t j = 0; j < alen; j++)
		pl[8 + j] = (uint8_t)(0x21 + j);
	return 8 + alen;
}

/* A hello of a job of @size (1..64: the mode byte's bits 2-7 say it),
 * and its one blob of @blen bytes. */
static void write_hello(const char *dir, const char *name, uint32_t rank,
			uint32_t size, uint16_t blen)
{
	uint8_t b[SK_BOOT_MSG_MAX];
	size_t len = HELLO;
	struct hello_out o;

	check(size >= 1 && size <= 64 && len + 2 + blen <= sizeof(b));
	memset(b, 0, len);
	sk_le32_put(b, SK_BOOT_MAGIC);
	sk_le16_put(b + 4, SK_BOOT_VERSION);
	sk_le32_put(b + 8, rank);
	sk_le32_put(b + 12, size);
	for (size_t k = 0; k < SK_BOOT_SECRET_LEN; k++)
		b[16 + k] = (uint8_t)(0x11 * k);
	sk_le16_put(b + len, blen);
	len += 2;
	for (size_t j = 0; j < blen; j++)
		b[len++] = (uint8_t)(0x40 + j);
	check(hello_parse(b, len, size, &o) == 1 && o.used == len);
	write_seed(dir, name, (uint8_t)(1 | (size - 1) << 2), b, len);
}

static void write_seeds(const char *dir)
{
	static const uint8_t desc[16] = {0x53, 0x4b, 0x4d, 0x52, 1, 2, 16};
	static uint8_t pl[SK_HMSG_PAYLOAD_MAX + 1];
	size_t n;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "fuzz_hostmsg: cannot create %s\n", dir);
		exit(1);
	}
	write_request(dir, "ready", SK_HMSG_READY, 0, desc, sizeof(desc));
	write_request(dir, "console-stdout", SK_HMSG_CONSOLE, 1,
		      (const uint8_t *)"hello from rank 0\n", 18);
	write_request(dir, "console-stderr", SK_HMSG_CONSOLE, 2,
		      (const uint8_t *)"warning\n", 8);
	sk_le32_put(pl, 4096);
	write_request(dir, "stdin-read", SK_HMSG_STDIN_READ, 0, pl, 4);
	write_request(dir, "finalize", SK_HMSG_FINALIZE, 0, pl, 0);
	sk_le32_put(pl, (uint32_t)-6);
	memcpy(pl + 4, "assertion failed", 17);
	write_request(dir, "abort", SK_HMSG_ABORT, 0, pl, 4 + 17);
	n = pl_2x32_str(pl, 0x241, 0644, "out/result.txt");
	write_request(dir, "open-create", SK_HMSG_OPEN, 0, pl, n);
	n = pl_2x32_str(pl, 0x10000, 0, "data/");
	write_request(dir, "open-dir", SK_HMSG_OPEN, 0, pl, n);
	/* The longest path, and the largest requests: without inputs this
	 * long, libFuzzer (-max_len: the longest seed) never tries the
	 * limits of SK_HMSG_PATH_MAX and SK_HMSG_SLOT_SIZE. */
	sk_le32_put(pl, 0);
	sk_le32_put(pl + 4, 0);
	memset(pl + 8, 'p', SK_HMSG_PATH_MAX - 1);
	pl[8 + SK_HMSG_PATH_MAX - 1] = '\0';
	write_request(dir, "open-longest-path", SK_HMSG_OPEN, 0, pl,
		      8 + SK_HMSG_PATH_MAX);
	memset(pl, 'c', SK_HMSG_PAYLOAD_MAX + 1);
	write_request(dir, "console-whole-slot", SK_HMSG_CONSOLE, 1, pl,
		      SK_HMSG_PAYLOAD_MAX);
	write_request(dir, "console-over-slot", SK_HMSG_CONSOLE, 1, pl,
		      SK_HMSG_PAYLOAD_MAX + 1);
	sk_le32_put(pl, 5);
	sk_le32_put(pl + 4, 0);
	write_request(dir, "close", SK_HMSG_CLOSE, 0, pl, 8);
	write_request(dir, "fstat", SK_HMSG_FSTAT, 0, pl, 8);
	write_request(dir, "readdir", SK_HMSG_READDIR, 0, pl, 8);
	n = pl_io(pl, 5, 4096, -1, 0);
	write_request(dir, "read-inline", SK_HMSG_READ, 0, pl, n);
	n = pl_io(pl, 5, SK_HMSG_BULK_MAX, 0, 0x7f0012340000ull);
	write_request(dir, "read-bulk", SK_HMSG_READ, 0, pl, n);
	n = pl_io(pl, 5, 12, 100, 0);
	memcpy(pl + n, "hello, file\n", 12);
	write_request(dir, "write-inline", SK_HMSG_WRITE, 0, pl, n + 12);
	n = pl_io(pl, 5, 65536, -1, 0x7f0012340000ull);
	write_request(dir, "write-bulk", SK_HMSG_WRITE, 0, pl, n);
	sk_le32_put(pl, 5);
	sk_le32_put(pl + 4, 1);
	sk_le64_put(pl + 8, (uint64_t)-8);
	write_request(dir, "lseek", SK_HMSG_LSEEK, 0, pl, 16);
	write_request(dir, "unlink", SK_HMSG_UNLINK, 0,
		      (const uint8_t *)"tmp/old.log", 12);
	n = pl_2x32_str(pl, 0755, 0, "out/run-1");
	write_request(dir, "mkdir", SK_HMSG_MKDIR, 0, pl, n);
	n = pl_peer(pl, 1, 0, 0, 40);
	write_request(dir, "connect", SK_HMSG_CONNECT, 0, pl, n);
	n = pl_peer(pl, 3, SK_HSERVICE_MAX - 1, 0, SK_BLOB_MAX);
	write_request(dir, "connect-longest-address", SK_HMSG_CONNECT, 0, pl,
		      n);
	write_request(dir, "listen", SK_HMSG_LISTEN, 0, pl, 0);
	n = pl_peer(pl, 0, 0, 0, 40);
	write_request(dir, "accept", SK_HMSG_ACCEPT, 0, pl, n);
	n = pl_peer(pl, 2, 5, SK_HACCEPT_MERGED, 36);
	write_request(dir, "accept-merged", SK_HMSG_ACCEPT, 0, pl, n);
	n = pl_peer(pl, 2, 0, SK_HACCEPT_REFUSED, 0);
	write_request(dir, "accept-refused", SK_HMSG_ACCEPT, 0, pl, n);
	write_request(dir, "barrier", SK_HMSG_BARRIER, 0, pl, 0);
	n = pl_peer(pl, 1, 0, 0, 0);
	write_request(dir, "connected", SK_HMSG_CONNECTED, 0, pl, n);
	write_request(dir, "stat", SK_HMSG_STAT, 0,
		      (const uint8_t *)"data/in.dat", 12);
	write_request(dir, "rename", SK_HMSG_RENAME, 0,
		      (const uint8_t *)"ckpt.tmp\0ckpt.1", 16);
	sk_le32_put(pl, 5);
	sk_le32_put(pl + 4, 0);
	write_request(dir, "fsync", SK_HMSG_FSYNC, 0, pl, 8);
	write_request(dir, "fdatasync", SK_HMSG_FSYNC, SK_HFSYNC_DATA, pl, 8);
	sk_le64_put(pl + 8, (uint64_t)5 << 30);
	write_request(dir, "ftruncate", SK_HMSG_FTRUNCATE, 0, pl, 16);
	write_hello(dir, "hello-1", 0, 1, 40);
	write_hello(dir, "hello-3", 1, 3, 36);
	write_hello(dir, "hello-longest", 63, 64, SK_BLOB_MAX);
	/* Chunks of a pipelined transfer: in the host's mapped area, and
	 * from the caller's buffer with its key after the struct. */
	n = pl_io(pl, 5, SK_HMSG_BULK_MAX, 1ll << 32, 2 * SK_HMSG_BULK_MAX);
	write_request(dir, "read-hostbuf", SK_HMSG_READ, SK_HIO_HOSTBUF, pl, n);
	write_request(dir, "write-hostbuf", SK_HMSG_WRITE, SK_HIO_HOSTBUF, pl,
		      n);
	n = pl_io(pl, 5, SK_HMSG_BULK_MAX, 0, 0x7f0012340000ull);
	memset(pl + n, 0x5a, 120);
	write_request(dir, "read-key", SK_HMSG_READ, 0, pl, n + 120);
	write_request(dir, "write-key", SK_HMSG_WRITE, 0, pl, n + 120);
	n = pl_io(pl, 5, SK_HMSG_BULK_MAX, 1ll << 20, SK_HMSG_BULK_MAX);
	write_request(dir, "write-behind", SK_HMSG_WRITE,
		      SK_HIO_HOSTBUF | SK_HIO_WHOLE, pl, n);
	write_request(dir, "write-grow", SK_HMSG_WRITE,
		      SK_HIO_HOSTBUF | SK_HIO_WHOLE | SK_HIO_GROW, pl, n);
	write_request(dir, "finalize-leave", SK_HMSG_FINALIZE, SK_HFIN_LEAVE,
		      pl, 0);
}

FUZZ_INITIALIZE_WITH_SEEDS(write_seeds)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int mode = fuzz_take_mode(&data, &size);
	uint8_t *copy;

	if (mode < 0)
		return 0;
	if (!(mode & 2)) {
		/* libFuzzer's buffer ends where the input does. */
		if (mode & 1)
			fuzz_hello(data, size, 1u + (mode >> 2));
		else
			fuzz_request(data, size);
		return 0;
	}
	copy = fuzz_dup(data, size);
	if (mode & 1) {
		if (size >= 6) {
			sk_le32_put(copy, SK_BOOT_MAGIC);
			sk_le16_put(copy + 4, SK_BOOT_VERSION);
		}
		fuzz_hello(copy, size, 1u + (mode >> 2));
	} else {
		if (size >= HDR) {
			sk_le32_put(copy + 4, (uint32_t)(size - HDR));
			sk_le64_put(copy + 16, 0);
		}
		fuzz_request(copy, size);
	}
	free(copy);
	return 0;
}

/*
 * Link-time stand-ins for what bootsrv.c's connection handling calls in
 * the event loop and the verbs library (those of skrun.c and services.c
 * are tests/lib/bootsrv_standins.c). Only sk_boot_hello_parse runs here,
 * and it calls none of them; linking the real ones would bring in UCX and
 * the whole host. Each aborts, so a call shows up as a crash rather than
 * passing on a fake.
 */
const char *sk_config_str(const char *name)
{
	abort();
}

sk_status_t sk_ep_addr_pack(const struct sk_ep *ep, void *buf, size_t *len_p)
{
	abort();
}

void sk_watch_start(struct sk_loop *loop, struct sk_watch *w)
{
	abort();
}

void sk_watch_stop(struct sk_loop *loop, struct sk_watch *w)
{
	abort();
}

void sk_timer_start(struct sk_loop *loop, struct sk_timer *timer, uint64_t ms)
{
	abort();
}

void sk_timer_stop(struct sk_loop *loop, struct sk_timer *timer)
{
	abort();
}
