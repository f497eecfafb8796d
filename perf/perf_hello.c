/*
 * The Skiff benchmarks' hello (perf_common.h): the parameter exchange that
 * opens every sk_* tool's TCP session. Packing and checking take no
 * socket, so the fuzz target (tests/fuzz/fuzz_perf_hello.c) runs exactly
 * the checks the tools run.
 */
#include <stdio.h>
#include <string.h>

#include <skiff/le.h>

#include "perf_common.h"

/* "SKPF" in its bytes. Version 2: the integers became little-endian (they
 * were big-endian in version 1), so a peer of either refuses the other. */
#define PERF_MAGIC        0x46504b53u
#define PERF_VERSION      2
#define PERF_PROV_LEN     8

/*
 * The hello, PERF_HELLO_LEN bytes, integers little-endian:
 *    0  u32 magic "SKPF"     4  u16 version        6  u16 test id
 *    8  u64 message size    16  u64 iterations    24  u32 tx depth
 *   28  u8 all sizes        29  u8 atomic op      30  u8 events  31 zero
 *   32  provider name, NUL-padded to 8 bytes
 * The client sends it; the server checks it, adopts it and echoes it.
 */
void perf_hello_pack(const struct perf_opts *o, const char *provider,
		     uint8_t *b)
{
	memset(b, 0, PERF_HELLO_LEN);
	sk_le32_put(b, PERF_MAGIC);
	sk_le16_put(b + 4, PERF_VERSION);
	sk_le16_put(b + 6, (uint16_t)o->tool->test);
	sk_le64_put(b + 8, o->size);
	sk_le64_put(b + 16, o->iters);
	sk_le32_put(b + 24, o->tx_depth);
	b[28] = (uint8_t)o->all_sizes;
	b[29] = (uint8_t)o->atomic;
	b[30] = (uint8_t)o->events;
	strncpy((char *)b + 32, provider, PERF_PROV_LEN - 1);
}

int perf_hello_parse(const uint8_t *b, size_t len,
		     const struct perf_opts *mine,
		     const struct sk_dev_attr *attr, struct perf_opts *agreed,
		     char *err, size_t errlen)
{
	const struct perf_tool *t = mine->tool;
	char prov[PERF_PROV_LEN];
	uint64_t size, iters;
	uint32_t depth;

	/* The socket path always reads PERF_HELLO_LEN bytes; this guards
	 * other callers (the fuzz target) from reading past @b. */
	if (len != PERF_HELLO_LEN) {
		snprintf(err, errlen, "the peer's hello is %zu bytes, not %d",
			 len, PERF_HELLO_LEN);
		return -1;
	}
	if (sk_le32_get(b) != PERF_MAGIC) {
		snprintf(err, errlen, "the peer is not a Skiff benchmark (bad "
				      "magic); wrong port?");
		return -1;
	}
	if (sk_le16_get(b + 4) != PERF_VERSION) {
		snprintf(err, errlen, "the peer speaks exchange version %u, "
				      "we speak %u", sk_le16_get(b + 4),
			 PERF_VERSION);
		return -1;
	}
	if (sk_le16_get(b + 6) != t->test) {
		snprintf(err, errlen, "the peer runs another test (id %u, we "
				      "are %u); run the same tool on both "
				      "sides", sk_le16_get(b + 6), t->test);
		return -1;
	}
	memcpy(prov, b + 32, sizeof(prov));
	if (prov[PERF_PROV_LEN - 1] != '\0' ||
	    strcmp(prov, attr->provider) != 0) {
		prov[PERF_PROV_LEN - 1] = '\0';
		snprintf(err, errlen, "the peer uses provider '%s', we use "
				      "'%s'; set the same SKIFF_PROVIDER on "
				      "both", prov, attr->provider);
		return -1;
	}
	size = sk_le64_get(b + 8);
	iters = sk_le64_get(b + 16);
	depth = sk_le32_get(b + 24);
	if (size < t->min_size || size > PERF_MAX_SIZE_S ||
	    size > attr->max_msg ||
	    (t->test == PERF_TEST_ATOMIC_LAT && size != 8) ||
	    iters < t->min_iters || iters > PERF_MAX_ITERS || depth < 1 ||
	    depth > PERF_MAX_TX_DEPTH || b[28] > 1 || b[29] > 1 ||
	    b[30] > 1) {
		snprintf(err, errlen, "the peer asked for parameters out of "
				      "range (size %llu, iterations %llu, tx "
				      "depth %u); refused",
			 (unsigned long long)size, (unsigned long long)iters,
			 depth);
		return -1;
	}
	if (mine->server != NULL) {
		/* The server echoes what it adopted: it must be ours. */
		if (size != mine->size || iters != mine->iters ||
		    depth != mine->tx_depth || b[28] != mine->all_sizes ||
		    b[29] != mine->atomic) {
			snprintf(err, errlen, "the server did not agree to our "
					      "parameters");
			return -1;
		}
		*agreed = *mine;
		return 0;
	}
	/* -e (b[30]) is each side's own business: not adopted. */
	*agreed = *mine;
	agreed->size = (size_t)size;
	agreed->iters = (unsigned long)iters;
	agreed->tx_depth = depth;
	agreed->all_sizes = b[28];
	agreed->atomic = b[29];
	return 0;
}

