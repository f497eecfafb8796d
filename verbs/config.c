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
	 "long (0: off): Soft-RoCE and some UCX paths never fail a dead peer; "
	 "unset, off on hardware RDMA NICs"},
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

/*
 * What each variable's reader accepts, for sk_config_check (`skinfo -c`):
 * the same bounds as its sk_config_ulong call, which live beside the code
 * that uses the value. tests/config-check.sh reads those calls out of the
 * sources and checks this table against each, at its bounds and past
 * them, so the two cannot drift apart unnoticed. Variables not listed
 * take any text (a device name, a command, an address).
 */
enum sk_check_kind {
	SK_CHECK_NUM,      /* a number in [min, max] */
	SK_CHECK_POW2,     /* ... and a power of two */
	SK_CHECK_AUTO_NUM, /* "auto", or a number in [min, max] */
	SK_CHECK_WORDS,    /* one of @words */
	SK_CHECK_AUTO_WORDS, /* "auto", or a number among @words */
};

static const struct sk_config_check {
	const char        *name;
	enum sk_check_kind kind;
	unsigned long      min, max;
	const char        *words; /* space-separated */
} sk_config_checks[] = {
	{"SKIFF_PROVIDER", SK_CHECK_WORDS, 0, 0, "rdma ucx auto"},
	{"SKIFF_SQ_DEPTH", SK_CHECK_NUM, 2, 32768, NULL},
	{"SKIFF_RQ_DEPTH", SK_CHECK_NUM, 1, 32768, NULL},
	{"SKIFF_RDMA_PORT", SK_CHECK_NUM, 1, 255, NULL},
	/* The upper bounds of these two are the device's (GID table
	 * length, max_cqe): only what no device could take is refused. */
	{"SKIFF_RDMA_GID_INDEX", SK_CHECK_AUTO_NUM, 0, 0x7fffffff, NULL},
	{"SKIFF_RDMA_MTU", SK_CHECK_AUTO_WORDS, 0, 0,
	 "256 512 1024 2048 4096"},
	{"SKIFF_RDMA_MAX_INLINE", SK_CHECK_NUM, 0, 4096, NULL},
	{"SKIFF_RDMA_CQ_DEPTH", SK_CHECK_NUM, 16, 0x7fffffff, NULL},
	{"SKIFF_RDMA_TIMEOUT", SK_CHECK_NUM, 1, 31, NULL},
	{"SKIFF_RDMA_RETRY_CNT", SK_CHECK_NUM, 0, 7, NULL},
	{"SKIFF_RDMA_RD_ATOMIC", SK_CHECK_NUM, 1, 255, NULL},
	{"SKIFF_STALL_MS", SK_CHECK_NUM, 0, 86400000, NULL},
	{"SKIFF_UCX_KEEPALIVE_MS", SK_CHECK_NUM, 10, 3600000, NULL},
	{"SKIFF_UCX_UNEXP_DEPTH", SK_CHECK_NUM, 1, 1ul << 20, NULL},
	{"SKIFF_UCX_MAX_MRS", SK_CHECK_NUM, 1, 1ul << 20, NULL},
	{"SKIFF_UCX_KEY_CHECK_MS", SK_CHECK_NUM, 1, 3600000, NULL},
	{"SKIFF_UCX_SHM", SK_CHECK_NUM, 0, 1, NULL},
	{"SKIFF_UCX_RING_KB", SK_CHECK_POW2, 16, 1ul << 20, NULL},
	{"SKIFF_ARENA_MB", SK_CHECK_NUM, 1, 1ul << 20, NULL},
	{"SKIFF_LOOP_SPIN_US", SK_CHECK_NUM, 0, 1000000, NULL},
	{"SKIFF_BOOT_TIMEOUT_MS", SK_CHECK_NUM, 1, 3600000, NULL},
	{"SKIFF_RPC_PROBE_MS", SK_CHECK_NUM, 1, 3600000, NULL},
	{"SKIFF_KILL_GRACE_MS", SK_CHECK_NUM, 0, 60000, NULL},
};

/* Whether @val is one of the space-separated @words. */
static int sk_config_word(const char *words, const char *val)
{
	size_t n = strlen(val);

	for (const char *w = words; *w;) {
		size_t wl = strcspn(w, " ");

		if (wl == n && n && strncmp(w, val, n) == 0)
			return 1;
		w += wl + (w[wl] == ' ');
	}
	return 0;
}

static int sk_config_check_one(const struct sk_config_check *c)
{
	const char *val = getenv(c->name);
	unsigned long v;

	if (val == NULL)
		return 0; /* the default, which is good */
	if ((c->kind == SK_CHECK_AUTO_NUM || c->kind == SK_CHECK_AUTO_WORDS) &&
	    strcmp(val, "auto") == 0)
		return 0;
	switch (c->kind) {
	case SK_CHECK_WORDS:
	case SK_CHECK_AUTO_WORDS:
		if (sk_config_word(c->words, val))
			return 0;
		sk_log_error("%s='%s' is not one of: %s%s", c->name, val,
			     c->kind == SK_CHECK_AUTO_WORDS ? "auto " : "",
			     c->words);
		return 1;
	case SK_CHECK_NUM:
	case SK_CHECK_AUTO_NUM:
	case SK_CHECK_POW2:
		/* The very parser the reader uses, and its message. */
		if (sk_config_ulong(c->name, c->min, c->max, &v) != SK_OK)
			return 1;
		if (c->kind == SK_CHECK_POW2 && (v & (v - 1))) {
			sk_log_error("%s=%lu: not a power of two", c->name, v);
			return 1;
		}
		return 0;
	}
	return 0;
}

int sk_config_check(void)
{
	int bad = 0;

	for (size_t i = 0; i < SK_ARRAY_SIZE(sk_config_checks); i++)
		bad += sk_config_check_one(&sk_config_checks[i]);
	return bad;
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
