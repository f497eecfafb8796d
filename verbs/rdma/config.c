/*
 * The rdma provider's SKIFF_* variables (skiff/config.h), read in rdma_dev.c
 * when a device opens. verbs/config.c registers this table with its own.
 */
#include <stddef.h>

#include <skiff/config.h>

static const struct sk_config_var sk_rdma_config_vars[] = {
	{"SKIFF_RDMA_PORT", "1", "port number of the device",
	 SK_CONFIG_NUM, 1, 255, NULL},
	/* The upper bounds of GID index and CQ depth are the device's (GID
	 * table length, max_cqe): only what no device could take is
	 * refused here. */
	{"SKIFF_RDMA_GID_INDEX", "auto",
	 "GID index; auto prefers a RoCE v2 IPv4 GID",
	 SK_CONFIG_AUTO_NUM, 0, 0x7fffffff, NULL},
	{"SKIFF_RDMA_MTU", "auto",
	 "path MTU 256..4096; auto: the port's active MTU",
	 SK_CONFIG_AUTO_WORDS, 0, 0, "256 512 1024 2048 4096"},
	{"SKIFF_RDMA_MAX_INLINE", "220",
	 "writes and sends up to this many bytes go inline",
	 SK_CONFIG_NUM, 0, 4096, NULL},
	{"SKIFF_RDMA_CQ_DEPTH", "4096",
	 "initial completion queue depth (grows with endpoints)",
	 SK_CONFIG_NUM, 16, 0x7fffffff, NULL},
	{"SKIFF_RDMA_TIMEOUT", "14",
	 "ACK timeout exponent, 4.096 us * 2^N (14: 67 ms)",
	 SK_CONFIG_NUM, 1, 31, NULL},
	{"SKIFF_RDMA_RETRY_CNT", "7",
	 "transport retries before 'retry exceeded'",
	 SK_CONFIG_NUM, 0, 7, NULL},
	{"SKIFF_RDMA_RD_ATOMIC", "16",
	 "reads and atomics in flight per endpoint (capped by device)",
	 SK_CONFIG_NUM, 1, 255, NULL},
	{"SKIFF_RDMA_CONNECT", "auto",
	 "how endpoints connect: cm (librdmacm, by IP address), blob (QPN "
	 "and GID from the packed address); auto: cm where the device has "
	 "an IPv4 address and rdma_ucm is loaded",
	 SK_CONFIG_AUTO_WORDS, 0, 0, "cm blob"},
	{"SKIFF_RDMA_CM_ADDR", "",
	 "the device's IPv4 address for the connection manager (default: "
	 "from its RoCE GID; needed on InfiniBand: the IPoIB address)",
	 SK_CONFIG_TEXT, 0, 0, NULL},
	{"SKIFF_RDMA_CM_TIMEOUT_MS", "2000",
	 "address and route resolution timeout, each",
	 SK_CONFIG_NUM, 10, 600000, NULL},
	{NULL, NULL, NULL, 0, 0, 0, NULL},
};

struct sk_config_table sk_rdma_config = {
	.layer = "verbs/rdma: the RDMA provider",
	.order = SK_CONFIG_ORDER_PROVIDER,
	.vars = sk_rdma_config_vars,
};
