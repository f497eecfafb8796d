/*
 * rpc's SKIFF_* variables (skiff/config.h). rpc.c, which reads them,
 * names this table with SK_CONFIG_USES, which links this object, and so
 * its registration, into every program that uses rpc.
 */
#include <stddef.h>

#include <skiff/config.h>

static const struct sk_config_var sk_rpc_config_vars[] = {
	{"SKIFF_RPC_PROBE_MS", "1000",
	 "while calls wait on a quiet peer, ping it this often; a peer that "
	 "answers none for 5-6x this is dead and its calls fail",
	 SK_CONFIG_NUM, 1, 3600000, NULL},
	{NULL, NULL, NULL, 0, 0, 0, NULL},
};

struct sk_config_table sk_rpc_config = {
	.layer = "rpc: request/response",
	.order = SK_CONFIG_ORDER_RPC,
	.vars = sk_rpc_config_vars,
};
SK_CONFIG_REGISTER_TABLE(sk_rpc_config)
