/*
 * Wire codec for the blobs verbs hands to peers: packed endpoint addresses
 * and memory descriptors.
 *
 * Every blob is a fixed 8-byte envelope followed by a provider body; all
 * integers are little-endian:
 *
 *   0  u32 magic      SK_WIRE_MAGIC_EP, SK_WIRE_MAGIC_MR or SK_WIRE_MAGIC_CM
 *   4  u8  version    SK_WIRE_VERSION
 *   5  u8  provider   SK_WIRE_PROV_RDMA or SK_WIRE_PROV_UCX
 *   6  u16 body_len   bytes of body that follow the envelope
 *   8  ...  body
 *   8+body_len  u32 check   FNV-1a of everything before it
 *
 * The blob is exactly 12 + body_len bytes. The check catches corruption
 * before a provider hands opaque bytes (UCX addresses, packed keys) to a
 * library that trusts them; it is not a defence against a forger.
 * The bodies are described in each provider. A reader consumes fields in
 * order and remembers the first overrun, so a decoder checks once at the end
 * (sk_wire_end) that nothing was short and nothing was left over.
 */
#ifndef SKIFF_VERBS_WIRE_H
#define SKIFF_VERBS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <skiff/status.h>

#define SK_WIRE_MAGIC_EP  0x50454b53u /* "SKEP" */
#define SK_WIRE_MAGIC_MR  0x524d4b53u /* "SKMR" */
#define SK_WIRE_MAGIC_CM  0x4d434b53u /* "SKCM": rdma connection request */
#define SK_WIRE_VERSION   1
#define SK_WIRE_HDR_LEN   8
#define SK_WIRE_CHECK_LEN 4

enum sk_wire_provider {
	SK_WIRE_PROV_RDMA = 1,
	SK_WIRE_PROV_UCX  = 2,
};

struct sk_wire_reader {
	const uint8_t *p;
	size_t left;
	int overrun;
};

struct sk_wire_writer {
	uint8_t *p;
	size_t left;
	size_t written;
	int overrun;
};

/*
 * Check the envelope of @buf and open a reader on its body.
 * @what names the blob in error messages ("endpoint address").
 * Returns SK_OK, SK_ERR_MALFORMED, SK_ERR_VERSION or SK_ERR_WRONG_PROVIDER,
 * having logged why.
 */
sk_status_t sk_wire_open(const void *buf, size_t len, uint32_t magic,
			 uint8_t provider, const char *what,
			 struct sk_wire_reader *r);

/* Finish a body: SK_OK if it was read exactly, else SK_ERR_MALFORMED. */
sk_status_t sk_wire_end(const struct sk_wire_reader *r, const char *what);

uint8_t sk_wire_get_u8(struct sk_wire_reader *r);
uint16_t sk_wire_get_u16(struct sk_wire_reader *r);
uint32_t sk_wire_get_u32(struct sk_wire_reader *r);
uint64_t sk_wire_get_u64(struct sk_wire_reader *r);
/* Points into the blob; NULL (and overrun) if fewer than @len bytes left. */
const void *sk_wire_get_bytes(struct sk_wire_reader *r, size_t len);

/* Start a blob in @buf of @cap bytes; the envelope is written by finish. */
void sk_wire_begin(struct sk_wire_writer *w, void *buf, size_t cap);
void sk_wire_put_u8(struct sk_wire_writer *w, uint8_t v);
void sk_wire_put_u16(struct sk_wire_writer *w, uint16_t v);
void sk_wire_put_u32(struct sk_wire_writer *w, uint32_t v);
void sk_wire_put_u64(struct sk_wire_writer *w, uint64_t v);
void sk_wire_put_bytes(struct sk_wire_writer *w, const void *src, size_t len);

/*
 * Write the envelope and report the length in *@len_p.
 * Returns SK_ERR_INVAL if the blob did not fit or its body is too long.
 */
sk_status_t sk_wire_finish(struct sk_wire_writer *w, uint32_t magic,
			   uint8_t provider, size_t *len_p);

/* Check a descriptor's range and rights fields: a non-empty range that does
 * not wrap, and only known access bits. SK_OK or SK_ERR_MALFORMED. */
sk_status_t sk_wire_check_range(uint64_t addr, uint64_t len, uint32_t access,
				const char *what);

/* 32-bit FNV-1a, to fingerprint opaque provider bytes inside a blob. */
uint32_t sk_wire_hash32(const void *buf, size_t len);

#endif /* SKIFF_VERBS_WIRE_H */
