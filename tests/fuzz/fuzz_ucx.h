/*
 * Set-up shared by the fuzz targets that open a UCX device (fuzz_blobs,
 * fuzz_ucx_rkey): the device with two endpoints connected to each other
 * and one page registered for every remote access, which the decoders
 * under test import blobs against; and LeakSanitizer's suppressions for
 * UCX. Include once per target, after <skiff/verbs.h> and fuzz_check.h.
 */
#ifndef SKIFF_FUZZ_UCX_H
#define SKIFF_FUZZ_UCX_H

#include <stdint.h>
#include <stdlib.h>

struct fuzz_ucx {
	struct sk_dev *dev;
	struct sk_ep *a, *b; /* connected to each other */
	void *buf;           /* 4 KiB, registered as mr */
	struct sk_mr *mr;
};

/* Open @u on the ucx provider; b's packed address is left in @addr_b
 * (@len_b: its room in, its length out). Returns 0, or -1 if any step
 * failed (the target says so and exits). */
static inline int fuzz_ucx_open(struct fuzz_ucx *u, uint8_t *addr_b,
				size_t *len_b)
{
	uint8_t addr_a[SK_BLOB_MAX];
	size_t len_a = sizeof(addr_a);

	if (sk_dev_open("ucx", NULL, &u->dev) != SK_OK)
		return -1;
	if (sk_ep_create(u->dev, &u->a) || sk_ep_create(u->dev, &u->b) ||
	    sk_ep_addr_pack(u->a, addr_a, &len_a) ||
	    sk_ep_addr_pack(u->b, addr_b, len_b) ||
	    sk_ep_connect(u->a, addr_b, *len_b) ||
	    sk_ep_connect(u->b, addr_a, len_a))
		return -1;
	u->buf = aligned_alloc(4096, 4096);
	if (u->buf == NULL ||
	    sk_mr_reg(u->dev, u->buf, 4096,
		      SK_ACCESS_REMOTE_READ | SK_ACCESS_REMOTE_WRITE |
			      SK_ACCESS_REMOTE_ATOMIC,
		      &u->mr))
		return -1;
	return 0;
}

/*
 * LeakSanitizer sees neither UCX's shared memory nor its tagged endpoint
 * pointers, so live UCX objects look leaked: those of the device made at
 * start, and endpoints that a force close hands to the worker to free
 * later (20000 connect/destroy rounds on one device hold the heap flat).
 * UCX is built without frame pointers, so a leak report's stack ends in
 * the UCX library that allocated: suppress by library. Memory that Skiff
 * allocates itself is still checked after every input.
 */
const char *__lsan_default_suppressions(void);

const char *__lsan_default_suppressions(void)
{
	return "leak:LLVMFuzzerInitialize\n"
	       "leak:libucp.so\n"
	       "leak:libuct.so\n"
	       "leak:libucs.so\n";
}

#endif /* SKIFF_FUZZ_UCX_H */
