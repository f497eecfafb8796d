/*
 * The ucx provider's SKIFF_* variables (skiff/config.h), read in ucx_dev.c
 * when a device opens. verbs/config.c registers this table with its own.
 */
#include <stddef.h>

#include <skiff/config.h>

static const struct sk_config_var sk_ucx_config_vars[] = {
	{"SKIFF_UCX_KEEPALIVE_MS", "500",
	 "peer liveness check interval; a dead peer fails within ~2x",
	 SK_CONFIG_NUM, 10, 3600000, NULL},
	{"SKIFF_UCX_UNEXP_DEPTH", "1024",
	 "sends held per endpoint while no receive is posted",
	 SK_CONFIG_NUM, 1, 1ul << 20, NULL},
	{"SKIFF_UCX_MAX_MRS", "4096",
	 "registrations per device (size of the key table)",
	 SK_CONFIG_NUM, 1, 1ul << 20, NULL},
	{"SKIFF_UCX_KEY_CHECK_MS", "10000",
	 "bound on the round trip that checks an imported key",
	 SK_CONFIG_NUM, 1, 3600000, NULL},
	{"SKIFF_UCX_SHM", "1",
	 "1 sends to peers on the same host through shared-memory rings "
	 "(UCX carries the rest); 0 sends everything through UCX",
	 SK_CONFIG_NUM, 0, 1, NULL},
	{"SKIFF_UCX_RING_KB", "128",
	 "size of each endpoint's receive ring, in KiB (power of two)",
	 SK_CONFIG_POW2, 16, 1ul << 20, NULL},
	{NULL, NULL, NULL, 0, 0, 0, NULL},
};

struct sk_config_table sk_ucx_config = {
	.layer = "verbs/ucx: the UCX provider",
	.order = SK_CONFIG_ORDER_PROVIDER + 1,
	.vars = sk_ucx_config_vars,
};
