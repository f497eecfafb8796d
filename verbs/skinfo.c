/*
 * skinfo: what the verbs layer sees on this machine, in the spirit of
 * `ibv_devinfo` and `ucx_info`. For every provider, in the order "auto"
 * considers them, it lists the devices with their transport and port state,
 * opens each one and prints what sk_dev_query() reports; then it names the
 * provider "auto" would pick. A device that does not open is reported with
 * the reason and the listing goes on. `skinfo -c` prints every SKIFF_*
 * variable with its default and help instead, grouped by layer, and checks
 * those set. It names no layer above verbs: the Makefile links their
 * tables in (verbs/README.md, "Settings").
 *
 * It is part of the verbs layer, so it walks the internal provider table
 * (provider.h) rather than guessing names through the public API.
 */
#include <dirent.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <skiff/config.h>
#include <skiff/verbs.h>
#include <skiff/version.h>

#include "provider.h"
#include "ucx/uct_info.h"

#define SKINFO_MAX_DEVS 64
#define SKINFO_MAX_TLS	32

/* Where the kernel lists RDMA devices. */
#define SYS_IB "/sys/class/infiniband"

/* Exit codes: 0 listed and something opened, 1 nothing opened, 2 usage,
 * 3 a SKIFF_* value that a device open would refuse (-c). */
enum {
	SKINFO_OK = 0,
	SKINFO_NOTHING = 1,
	SKINFO_USAGE = 2,
	SKINFO_BAD_CONFIG = 3,
};

static const struct option long_opts[] = {
	{"help", no_argument, NULL, 'h'},
	{"config", no_argument, NULL, 'c'},
	{"provider", required_argument, NULL, 'p'},
	{"version", no_argument, NULL, 'V'},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: skinfo [-p PROVIDER] [-c] [-V] [-h]\n"
		"\n"
		"List the Skiff verbs providers, their devices and what each\n"
		"device can do, and the provider \"auto\" would pick.\n"
		"\n"
		"  -p, --provider PROVIDER\n"
		"               only this provider (");
	for (size_t i = 0; i < sk_provider_count(); i++)
		fprintf(out, "%s%s", i ? ", " : "", sk_provider_get(i)->name);
	fprintf(out,
		")\n"
		"  -c, --config print every SKIFF_* variable, its default and "
		"help,\n"
		"               and check the ones set as a device open would\n"
		"  -V, --version print Skiff's version\n"
		"  -h, --help   this text\n"
		"\n"
		"Exit status: 0 if some device opened, 1 if none did, 2 on a "
		"usage error,\n"
		"3 if -c found a SKIFF_* value that would be refused.\n");
}

static const struct sk_provider_ops *find_provider(const char *name)
{
	for (size_t i = 0; i < sk_provider_count(); i++)
		if (strcmp(sk_provider_get(i)->name, name) == 0)
			return sk_provider_get(i);
	return NULL;
}

static void print_attr(const struct sk_dev_attr *a)
{
	printf("\t\tname:           %s\n", a->name);
	printf("\t\ttransport:      %s\n", a->transport);
	printf("\t\tmax_inline:     %zu\n", a->max_inline);
	printf("\t\tmax_msg:        %zu\n", a->max_msg);
	printf("\t\tsq_depth:       %u\n", a->sq_depth);
	printf("\t\trq_depth:       %u\n", a->rq_depth);
	printf("\t\tnative_atomics: %s\n", a->native_atomics ? "yes" : "no");
	printf("\t\thas_fd:         %s\n", a->has_fd ? "yes" : "no");
}

/* The first line of a small sysfs file, without its newline; "" if none. */
static const char *sys_read(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return buf;
}

/* Which of the usual RDMA kernel modules are there (loaded or built in). */
static void rdma_modules(char *buf, size_t len)
{
	static const char *const mods[] = {"ib_core", "ib_uverbs", "rdma_rxe",
					   "siw",     "mlx5_ib",   "mlx4_ib",
					   "irdma",   "bnxt_re",   "efa"};
	size_t off = 0;
	char path[64];
	struct stat st;

	buf[0] = '\0';
	for (size_t i = 0; i < SK_ARRAY_SIZE(mods); i++) {
		snprintf(path, sizeof(path), "/sys/module/%s", mods[i]);
		if (stat(path, &st) == 0 && off < len)
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						off ? ", " : "", mods[i]);
	}
}

/*
 * Why the rdma provider lists no device, from what the kernel shows: no
 * RDMA support at all, support but no device, or devices that libibverbs
 * does not list (its user-space driver or /dev/infiniband is missing).
 */
static void rdma_why_none(void)
{
	char mods[256], names[256] = "";
	size_t off = 0;
	struct dirent *e;
	struct stat st;
	DIR *dir;

	rdma_modules(mods, sizeof(mods));
	dir = opendir(SYS_IB);
	if (dir == NULL) {
		printf("\twhy: no kernel support: %s does not exist (RDMA "
		       "modules there: %s); load a driver, e.g. for "
		       "Soft-RoCE: modprobe rdma_rxe && rdma link add rxe0 "
		       "type rxe netdev eth0\n",
		       SYS_IB, mods[0] ? mods : "none");
		return;
	}
	while ((e = readdir(dir)) != NULL)
		if (e->d_name[0] != '.' && off < sizeof(names))
			off += (size_t)snprintf(names + off,
						sizeof(names) - off, "%s%s",
						off ? ", " : "", e->d_name);
	closedir(dir);
	if (off == 0) {
		printf("\twhy: no verbs devices: %s is empty (RDMA modules: "
		       "%s); no RDMA NIC is bound to a driver and no "
		       "Soft-RoCE/siw link exists (e.g. rdma link add rxe0 "
		       "type rxe netdev eth0)\n",
		       SYS_IB, mods[0] ? mods : "none");
		return;
	}
	if (stat("/dev/infiniband", &st) != 0)
		printf("\twhy: the kernel has %s, but /dev/infiniband does "
		       "not exist: ib_uverbs is not loaded (modprobe "
		       "ib_uverbs)\n",
		       names);
	else
		printf("\twhy: the kernel has %s, but libibverbs lists none: "
		       "its user-space driver (rdma-core's provider for that "
		       "device) is missing, or /dev/infiniband/uverbs* is not "
		       "accessible to this user\n",
		       names);
}

/* Why a listed rdma device is not usable: its port's state, and for RoCE
 * the state of the network interface under it. */
static void rdma_why_unusable(const char *dev)
{
	const char *port = sk_config_str("SKIFF_RDMA_PORT");
	char path[512], state[64], phys[64], nd[64], op[64];

	/* Names in sysfs are short; a longer SKIFF_RDMA_PORT is no port. */
	snprintf(path, sizeof(path), SYS_IB "/%.64s/ports/%.16s/state", dev,
		 port);
	sys_read(path, state, sizeof(state));
	snprintf(path, sizeof(path), SYS_IB "/%.64s/ports/%.16s/phys_state",
		 dev, port);
	sys_read(path, phys, sizeof(phys));
	if (state[0] == '\0') {
		printf("\t\twhy:            port %s does not exist "
		       "(SKIFF_RDMA_PORT)\n",
		       port);
		return;
	}
	printf("\t\twhy:            port %s is %s (physical: %s)", port, state,
	       phys[0] ? phys : "?");
	snprintf(path, sizeof(path),
		 SYS_IB "/%.64s/ports/%.16s/gid_attrs/ndevs/0", dev, port);
	sys_read(path, nd, sizeof(nd));
	if (nd[0]) {
		snprintf(path, sizeof(path), "/sys/class/net/%.63s/operstate",
			 nd);
		printf("; its netdev %s is %s", nd,
		       sys_read(path, op, sizeof(op))[0] ? op : "?");
	}
	printf("\n");
}

/* The transports an open device really uses, each with its limits. */
static void show_transports(const struct sk_provider_ops *ops,
			    struct sk_dev *dev)
{
	struct sk_tl_info tl[SKINFO_MAX_TLS];
	const char *tls = getenv("UCX_TLS");
	int n;

	if (ops->dev_transports == NULL)
		return;
	n = ops->dev_transports(dev, tl, SKINFO_MAX_TLS);
	if (n < 0)
		return;
	printf("\t\ttransports in use (UCX_TLS=%s): %d\n", tls ? tls : "all",
	       n);
	for (int i = 0; i < n && i < SKINFO_MAX_TLS; i++) {
		printf("\t\t  %s/%s\n", tl[i].tl, tl[i].dev);
		fflush(stdout);
		sk_uct_print_limits(stdout, "\t\t    ", tl[i].tl, tl[i].dev);
	}
}

/* Open one listed device and print its attributes. Returns 1 if it opened. */
static int show_device(const struct sk_provider_ops *ops,
		       const struct sk_dev_info *info)
{
	struct sk_dev_attr attr;
	struct sk_dev *dev;
	sk_status_t st;

	printf("\tdevice: %s (%s)\n", info->name, info->transport);
	printf("\t\tusable:         %s\n", info->usable ? "yes" : "no");
	if (!info->usable && strcmp(ops->name, "rdma") == 0)
		rdma_why_unusable(info->name);

	/* Flush our lines first: the provider explains a failure on
	 * stderr, and the two should come out in order on a terminal. */
	fflush(stdout);
	st = sk_dev_open(ops->name, info->name, &dev);
	if (st != SK_OK) {
		printf("\t\topen:           failed: %s\n", sk_status_str(st));
		return 0;
	}
	sk_dev_query(dev, &attr);
	print_attr(&attr);
	show_transports(ops, dev);
	sk_dev_close(dev);
	return 1;
}

/* List and open the devices of one provider. Sets *usable_p when the
 * listing reports a usable device. Returns how many devices opened. */
static int show_provider(const struct sk_provider_ops *ops, int *usable_p)
{
	struct sk_dev_info info[SKINFO_MAX_DEVS];
	int n, shown, opened = 0;

	memset(info, 0, sizeof(info));
	printf("provider: %s\n", ops->name);
	n = ops->list(info, SKINFO_MAX_DEVS);
	if (n <= 0) {
		printf("\t(no devices)\n");
		if (strcmp(ops->name, "rdma") == 0)
			rdma_why_none();
		return 0;
	}
	shown = n < SKINFO_MAX_DEVS ? n : SKINFO_MAX_DEVS;
	for (int i = 0; i < shown; i++) {
		if (info[i].usable)
			*usable_p = 1;
		opened += show_device(ops, &info[i]);
	}
	if (n > shown)
		printf("\t(%d more devices not shown)\n", n - shown);
	return opened;
}

/*
 * Which provider sk_dev_open(NULL, NULL) would take: $SKIFF_PROVIDER if it
 * names one, else "auto", the first provider with a usable device.
 */
static void show_auto(const char *auto_pick)
{
	const char *env = sk_config_str("SKIFF_PROVIDER");
	const char *opens;

	printf("auto: %s\n", auto_pick ? auto_pick : "(none usable)");
	if (strcmp(env, "auto") == 0)
		return;
	opens = find_provider(env) ? env : "nothing (unknown provider)";
	printf("SKIFF_PROVIDER=%s: sk_dev_open(NULL, ...) opens %s, not auto\n",
	       env, opens);
}

/* -c: the variables, then a check of the ones set, as an open would. */
static int show_config(void)
{
	int bad;

	sk_config_print(stdout);
	fflush(stdout);
	bad = sk_config_check();
	if (bad == 0)
		return SKINFO_OK;
	fprintf(stderr,
		"skinfo: %d SKIFF_* value%s above would be refused "
		"when a device opens or a node boots\n",
		bad, bad == 1 ? "" : "s");
	return SKINFO_BAD_CONFIG;
}

int main(int argc, char **argv)
{
	const struct sk_provider_ops *only = NULL;
	const char *only_name = NULL;
	int config = 0, help = 0, version = 0, opened = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "chp:V", long_opts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'V':
			version = 1;
			break;
		case 'c':
			config = 1;
			break;
		case 'h':
			help = 1;
			break;
		case 'p':
			only_name = optarg;
			break;
		default:
			usage(stderr);
			return SKINFO_USAGE;
		}
	}
	if (only_name && (only = find_provider(only_name)) == NULL) {
		fprintf(stderr, "skinfo: unknown provider '%s'\n", only_name);
		usage(stderr);
		return SKINFO_USAGE;
	}
	if (optind != argc) {
		fprintf(stderr, "skinfo: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return SKINFO_USAGE;
	}
	if (help) {
		usage(stdout);
		return SKINFO_OK;
	}
	if (version) {
		printf("skinfo (Skiff) %s\n", SKIFF_VERSION);
		return SKINFO_OK;
	}
	if (config)
		return show_config();

	printf("skiff: %s\n", SKIFF_VERSION);
	for (size_t i = 0; i < sk_provider_count(); i++) {
		const struct sk_provider_ops *ops = sk_provider_get(i);
		int usable = 0;

		if (only && ops != only)
			continue;
		opened += show_provider(ops, &usable);
	}
	/* "auto" looks at every provider; skip the line when restricted. */
	if (only == NULL)
		show_auto(sk_provider_auto()->name);
	return opened ? SKINFO_OK : SKINFO_NOTHING;
}
