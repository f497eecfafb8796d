/*
 * The table of SKIFF_* variables and their parser. Layers above verbs add
 * their variables here too, so there is one place to read and print them
 * (as UCX's ucs config parser and `ucx_info -c`).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/config.h>

#include "provider.h"

const struct sk_config_var sk_config_vars[] = {
	{"SKIFF_PROVIDER", "auto",
	 "fabric provider: rdma, ucx, or auto (rdma if an RDMA port is active)"},
	{"SKIFF_DEVICE", "",
	 "device to open (e.g. rxe0, mlx5_0); empty: the first usable one"},
	{"SKIFF_SQ_DEPTH", "256",
	 "operations outstanding per endpoint (send queue depth)"},
	{"SKIFF_RQ_DEPTH", "256", "receives posted per endpoint"},
	{"SKIFF_RDMA_PORT", "1", "rdma: port number of the device"},
	{"SKIFF_RDMA_GID_INDEX", "auto",
	 "rdma: GID index; auto prefers a RoCE v2 IPv4 GID"},
	{"SKIFF_RDMA_MTU", "auto",
	 "rdma: path MTU 256..4096; auto: the port's active MTU"},
	{"SKIFF_RDMA_MAX_INLINE", "220",
	 "rdma: writes and sends up to this many bytes go inline"},
	{"SKIFF_RDMA_CQ_DEPTH", "4096",
	 "rdma: initial completion queue depth (grows with endpoints)"},
	{"SKIFF_RDMA_TIMEOUT", "14",
	 "rdma: ACK timeout exponent, 4.096 us * 2^N (14: 67 ms)"},
	{"SKIFF_RDMA_RETRY_CNT", "7",
	 "rdma: transport retries before 'retry exceeded'"},
	{"SKIFF_RDMA_RD_ATOMIC", "16",
	 "rdma: reads and atomics in flight per endpoint (capped by device)"},
	{"SKIFF_STALL_MS", "5000",
	 "fail an endpoint whose oldest operation got no completion for this "
	 "long (0: off): Soft-RoCE and some UCX paths never fail a dead peer"},
	{"SKIFF_UCX_KEEPALIVE_MS", "500",
	 "ucx: peer liveness check interval; a dead peer fails within ~2x"},
	{"SKIFF_UCX_UNEXP_DEPTH", "1024",
	 "ucx: sends held per endpoint while no receive is posted"},
	{"SKIFF_UCX_MAX_MRS", "4096",
	 "ucx: registrations per device (size of the key table)"},
	{"SKIFF_UCX_KEY_CHECK_MS", "10000",
	 "ucx: bound on the round trip that checks an imported key"},
	{"SKIFF_UCX_SHM", "1",
	 "ucx: 1 sends to peers on the same host through shared-memory "
	 "rings (UCX carries the rest); 0 sends everything through UCX"},
	{"SKIFF_UCX_RING_KB", "128",
	 "ucx: size of each endpoint's receive ring, in KiB (power of two)"},
	/* libos: the node runtime */
	{"SKIFF_ARENA_MB", "16",
	 "libos: size of each node's registered arena, in MiB"},
	{"SKIFF_LOOP_SPIN_US", "50",
	 "libos: poll this long after the last event before sleeping"},
	{"SKIFF_BOOT_TIMEOUT_MS", "60000",
	 "libos: bound on the bootstrap exchange with the host"},
	{"SKIFF_SEAL", "0",
	 "libos: 1 seals nodes after boot (seccomp: only fabric system calls)"},
	/* rpc */
	{"SKIFF_RPC_PROBE_MS", "1000",
	 "rpc: while calls wait on a quiet peer, ping it this often; a peer "
	 "that answers none for 5-6x this is dead and its calls fail"},
	/* launcher: skrun */
	{"SKIFF_SSH", "ssh",
	 "skrun: command that reaches remote hosts (e.g. 'ssh -p 2222')"},
	{"SKIFF_BOOTSTRAP_ADDR", "",
	 "skrun: address nodes use to reach the host's bootstrap; empty: "
	 "127.0.0.1 for local jobs, else this host's name"},
	{"SKIFF_KILL_GRACE_MS", "300",
	 "skrun: after SIGTERM, wait this long before SIGKILL on abort"},
	{NULL, NULL, NULL},
};

static const struct sk_config_var *sk_config_find(const char *name)
{
	for (const struct sk_config_var *v = sk_config_vars; v->name; v++)
		if (strcmp(v->name, name) == 0)
			return v;
	return NULL;
}

const char *sk_config_str(const char *name)
{
	const struct sk_config_var *var = sk_config_find(name);
	const char *val;

	if (var == NULL) {
		fprintf(stderr, "skiff: BUG: config variable %s is not in the "
				"table in verbs/config.c\n", name);
		abort();
	}
	val = getenv(name);
	return val ? val : var->dflt;
}

sk_status_t sk_config_ulong(const char *name, unsigned long min,
			    unsigned long max, unsigned long *val_p)
{
	const char *text = sk_config_str(name);
	unsigned long long v;
	char *end;
	unsigned shift = 0;

	/* Digits only: strtoull would skip blanks, take a sign and read
	 * 010 as octal. */
	if (!isdigit((unsigned char)text[0]))
		goto bad;
	errno = 0;
	v = strtoull(text, &end,
		     text[0] == '0' && (text[1] | 0x20) == 'x' ? 16 : 10);
	if (end == text || errno)
		goto bad;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end != '\0' || (shift && v > (~0ull >> shift)))
		goto bad;
	v <<= shift;
	if (v < min || v > max)
		goto bad;
	*val_p = (unsigned long)v;
	return SK_OK;
bad:
	sk_log_error("%s='%s' is not a number in [%lu, %lu]", name, text, min,
		     max);
	return SK_ERR_CONFIG;
}

void sk_config_print(FILE *out)
{
	for (const struct sk_config_var *v = sk_config_vars; v->name; v++) {
		const char *cur = getenv(v->name);

		fprintf(out, "#\n# %s\n#\n", v->help);
		if (cur)
			fprintf(out, "%s=%s   (default: %s)\n", v->name, cur,
				v->dflt);
		else
			fprintf(out, "%s=%s\n", v->name, v->dflt);
	}
}
