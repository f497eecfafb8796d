/*
 * libos's SKIFF_* variables (skiff/config.h). The files that read them
 * (arena.c, boot.c, file.c, loop.c, peer.c; rpc and skrun read the boot timeout
 * too) name this table with SK_CONFIG_USES, which links this object, and
 * so its registration, into every program that reads one.
 */
#include <stddef.h>

#include <skiff/config.h>

static const struct sk_config_var sk_os_config_vars[] = {
	{"SKIFF_ARENA_MB", "16", "size of each node's registered arena, in MiB",
	 SK_CONFIG_NUM, 1, 1ul << 20, NULL},
	{"SKIFF_LOOP_SPIN_US", "50",
	 "poll this long after the last event before sleeping",
	 SK_CONFIG_NUM, 0, 1000000, NULL},
	{"SKIFF_FILE_ZCOPY_KB", "512",
	 "file transfers this large move from the caller's buffer "
	 "(registered for the call) with no copy; 0 never",
	 SK_CONFIG_NUM, 0, 1ul << 30, NULL},
	{"SKIFF_FILE_MALLOC_KB", "512",
	 "malloc'd blocks this large come from the file memory where the "
	 "host's area is mapped (file transfers from them move no byte on "
	 "the node); 0 never",
	 SK_CONFIG_NUM, 0, 1ul << 30, NULL},
	{"SKIFF_FILE_MAP", "1",
	 "1 maps the host's file buffer where it is shared memory on this "
	 "host (no RDMA for file bytes); 0 uses RDMA",
	 SK_CONFIG_NUM, 0, 1, NULL},
	{"SKIFF_BOOT_TIMEOUT_MS", "60000",
	 "bound on the bootstrap exchange with the host",
	 SK_CONFIG_NUM, 1, 3600000, NULL},
	/* Read as text by boot.c, which says what it takes. */
	{"SKIFF_SEAL", "0",
	 "1 seals nodes after boot (seccomp: only fabric system calls)",
	 SK_CONFIG_TEXT, 0, 0, NULL},
	{NULL, NULL, NULL, 0, 0, 0, NULL},
};

struct sk_config_table sk_os_config = {
	.layer = "libos: the node runtime",
	.order = SK_CONFIG_ORDER_OS,
	.vars = sk_os_config_vars,
};
SK_CONFIG_REGISTER_TABLE(sk_os_config)
