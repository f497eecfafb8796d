/*
 * skinfo: what the verbs layer sees on this machine, in the spirit of
 * `ibv_devinfo` and `ucx_info`. For every provider, in the order "auto"
 * considers them, it lists the devices with their transport and port state,
 * opens each one and prints what sk_dev_query() reports; then it names the
 * provider "auto" would pick. A device that does not open is reported with
 * the reason and the listing goes on. `skinfo -c` prints every SKIFF_*
 * variable with its default and help instead.
 *
 * It is part of the verbs layer, so it walks the internal provider table
 * (provider.h) rather than guessing names through the public API.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skiff/config.h>
#include <skiff/verbs.h>
#include <skiff/version.h>

#include "provider.h"

#define SKINFO_MAX_DEVS 64

/* Exit codes: 0 listed and something opened, 1 nothing opened, 2 usage. */
enum {
	SKINFO_OK = 0,
	SKINFO_NOTHING = 1,
	SKINFO_USAGE = 2,
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: skinfo [-p PROVIDER] [-c] [-V] [-h]\n"
		"\n"
		"List the Skiff verbs providers, their devices and what each\n"
		"device can do, and the provider \"auto\" would pick.\n"
		"\n"
		"  -p PROVIDER  only this provider (");
	for (size_t i = 0; i < sk_provider_count(); i++)
		fprintf(out, "%s%s", i ? ", " : "", sk_provider_get(i)->name);
	fprintf(out,
		")\n"
		"  -c           print every SKIFF_* variable, its default and "
		"help\n"
		"  -V           print Skiff's version (also --version)\n"
		"  -h           this text\n"
		"\n"
		"Exit status: 0 if some device opened, 1 if none did, 2 on a "
		"usage error.\n");
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

/* Open one listed device and print its attributes. Returns 1 if it opened. */
static int show_device(const struct sk_provider_ops *ops,
		       const struct sk_dev_info *info)
{
	struct sk_dev_attr attr;
	struct sk_dev *dev;
	sk_status_t st;

	printf("\tdevice: %s (%s)\n", info->name, info->transport);
	printf("\t\tusable:         %s\n", info->usable ? "yes" : "no");

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

int main(int argc, char **argv)
{
	const struct sk_provider_ops *only = NULL;
	const char *only_name = NULL;
	static const struct option longopts[] = {
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	int config = 0, help = 0, version = 0, opened = 0;
	int opt;

	while ((opt = getopt_long(argc, argv, "chp:V", longopts, NULL)) != -1) {
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
	if (config) {
		sk_config_print(stdout);
		return SKINFO_OK;
	}

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
