/*
 * libFuzzer target for skrun's parsers of outside bytes (launcher/opts.h):
 * hostfiles, --host lists and, with care, the whole command line. The
 * first byte of an input says what to do with the rest:
 *
 *   bits 0-1  0: the rest is a hostfile (sk_hostfile_parse, not
 *                NUL-terminated, so ASan sees any read past its end)
 *             1: the rest is one --host value (sk_hosts_parse)
 *             2: the rest is a --host value, a NUL, then a hostfile,
 *                both parsed onto the same list
 *             3: the rest is skrun's argv, words split at NUL bytes
 *                (sk_opts_parse); inputs naming a hostfile are skipped,
 *                since it would open whatever file the input names
 *   bit 2     start from a list that already holds hosts, so that
 *             merging into it and leaving it alone on errors are tested
 *   bit 3     --oversubscribe for the placement below
 *   bits 4-7  np for sk_hosts_map on the resulting list (x 7; 0 = all),
 *             and for sk_hosts_place by node and with -N 1 + np % 5
 *
 * Every input's rest is also one line of an agent's lifeline
 * (sk_parse_agent_sig, parse.h): a signal only for "SIG " and decimal
 * digits whose value is that signal, one of the five skrun forwards.
 *
 * Oracles, each an abort: every message is one NUL-terminated line of
 * printable text; after a successful parse every host has a valid,
 * non-empty and unique name and 1 to SK_OPTS_MAX_SLOTS slots, the hosts
 * that were there are still there, in place, with as many slots or more;
 * after a failed one the list is exactly as it was (same array, same name
 * pointers, same bytes), and a failed sk_opts_parse leaves its struct
 * zeroed. A placement puts every node on a host of the list, within its
 * slots unless oversubscribed. LeakSanitizer checks the error paths free
 * what they allocated.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>

#include "opts.h"
#include "parse.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_agent_sig(const uint8_t *data, size_t size)
{
	int sig = sk_parse_agent_sig((const char *)data, size);
	unsigned long v = 0;

	if (sig == 0)
		return;
	check(sig == SIGTERM || sig == SIGINT || sig == SIGHUP ||
	      sig == SIGQUIT || sig == SIGKILL);
	check(size > 4 && memcmp(data, "SIG ", 4) == 0);
	for (size_t i = 4; i < size; i++) {
		check(data[i] >= '0' && data[i] <= '9');
		v = v * 10 + (data[i] - '0');
	}
	check(v == (unsigned long)sig);
}

#define MAX_WORDS 64
#define ERR_LEN	  256

/* Filled with a non-NUL byte first, so a missing terminator shows. */
static void err_reset(char *err)
{
	memset(err, 'E', ERR_LEN);
}

static void check_err(const char *err)
{
	const char *nul = memchr(err, '\0', ERR_LEN);

	check(nul != NULL);
	check(nul != err);
	for (const char *p = err; p < nul; p++)
		check(*p >= 0x20 && *p < 0x7f);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_list(const struct sk_host_list *l)
{
	char **names;

	check(l->count <= SK_OPTS_MAX_NODES);
	check(l->count == 0 || l->hosts != NULL);
	for (size_t i = 0; i < l->count; i++) {
		const char *n = l->hosts[i].name;
		size_t len;

		check(n != NULL);
		len = strlen(n);
		check(len >= 1 && len <= 253);
		for (size_t j = 0; j < len; j++)
			check((n[j] >= 'a' && n[j] <= 'z') ||
			      (n[j] >= 'A' && n[j] <= 'Z') ||
			      (n[j] >= '0' && n[j] <= '9') || n[j] == '-' ||
			      n[j] == '.' || n[j] == ':');
		check(n[0] != '-');
		check(l->hosts[i].slots >= 1);
		check(l->hosts[i].slots <= SK_OPTS_MAX_SLOTS);
	}
	/* A host named twice is one entry with the slots added. */
	if (l->count < 2)
		return;
	names = malloc(l->count * sizeof(*names));
	check(names != NULL);
	for (size_t i = 0; i < l->count; i++)
		names[i] = l->hosts[i].name;
	qsort(names, l->count, sizeof(*names), cmp_name);
	for (size_t i = 1; i < l->count; i++)
		check(strcmp(names[i - 1], names[i]) != 0);
	free(names);
}

/* What a list held before a parse: the array and a copy of each entry. */
struct snapshot {
	struct sk_host *hosts;
	size_t count;
	struct sk_host *copy;
	char **names;
};

static void snap_take(struct snapshot *s, const struct sk_host_list *l)
{
	s->hosts = l->hosts;
	s->count = l->count;
	s->copy = malloc((l->count + 1) * sizeof(*s->copy));
	s->names = malloc((l->count + 1) * sizeof(*s->names));
	check(s->copy && s->names);
	for (size_t i = 0; i < l->count; i++) {
		s->copy[i] = l->hosts[i];
		s->names[i] = strdup(l->hosts[i].name);
		check(s->names[i] != NULL);
	}
}

/*
 * After a parse: on failure the list is untouched; on success the old
 * entries are the first ones still, merged hosts grown, never shrunk.
 */
static void snap_check(struct snapshot *s, const struct sk_host_list *l,
		       bool ok)
{
	if (!ok) {
		check(l->hosts == s->hosts);
		check(l->count == s->count);
	} else {
		check(l->count >= s->count);
	}
	for (size_t i = 0; i < s->count; i++) {
		check(l->hosts[i].name == s->copy[i].name);
		check(strcmp(l->hosts[i].name, s->names[i]) == 0);
		if (ok)
			check(l->hosts[i].slots >= s->copy[i].slots);
		else
			check(l->hosts[i].slots == s->copy[i].slots);
		free(s->names[i]);
	}
	free(s->names);
	free(s->copy);
}

static void check_map(const struct sk_host_list *l, unsigned np, bool over)
{
	unsigned got = 0, *host_of = NULL, *used;
	unsigned long long total = 0;
	char err[ERR_LEN];

	for (size_t i = 0; i < l->count; i++)
		total += l->hosts[i].slots;
	err_reset(err);
	if (sk_hosts_map(l, np, over, &got, &host_of, err, ERR_LEN)) {
		check_err(err);
		/* Refused only for too many nodes or too few slots. */
		check(np == 0 ? total > SK_OPTS_MAX_NODES
			      : np > SK_OPTS_MAX_NODES ||
					(np > total && !over && l->count));
		return;
	}
	check(host_of != NULL);
	if (np)
		check(got == np);
	else
		check(got == (l->count ? total : 1));
	if (l->count == 0) {
		for (unsigned k = 0; k < got; k++)
			check(host_of[k] == 0);
		free(host_of);
		return;
	}
	used = calloc(l->count, sizeof(*used));
	check(used != NULL);
	for (unsigned k = 0; k < got; k++) {
		check(host_of[k] < l->count);
		used[host_of[k]]++;
		/* By slot: a node is never on an earlier host than the one
		 * before it, until the slots run out and placement wraps. */
		if (k && k < total)
			check(host_of[k] >= host_of[k - 1]);
	}
	for (size_t i = 0; i < l->count; i++)
		if (!over || got <= total)
			check(used[i] <= l->hosts[i].slots);
	free(used);
	free(host_of);
}

/*
 * --map-by node and -N on the same list: every rank on a host of the list
 * and within its slots unless oversubscribed; by node, the hosts' counts
 * differ by at most one until a host is full; with -N, rank k is on host
 * k / N.
 */
static void check_place(const struct sk_host_list *l, unsigned np, bool over)
{
	struct sk_place p = {.np = np, .oversubscribe = over};
	unsigned got, *host_of, *used, lo, hi;
	char err[ERR_LEN];

	if (l->count == 0)
		return;
	for (int pass = 0; pass < 2; pass++) {
		p.map_by = pass ? SK_MAP_SLOT : SK_MAP_NODE;
		p.npernode = pass ? 1 + np % 5 : 0;
		lo = ~0u;
		hi = 0;
		err_reset(err);
		if (sk_hosts_place(l, &p, &got, &host_of, err, ERR_LEN)) {
			check_err(err);
			continue;
		}
		used = calloc(l->count, sizeof(*used));
		check(used != NULL);
		for (unsigned k = 0; k < got; k++) {
			check(host_of[k] < l->count);
			used[host_of[k]]++;
			if (p.npernode)
				check(host_of[k] == k / p.npernode);
		}
		for (size_t i = 0; i < l->count; i++) {
			if (!over)
				check(used[i] <= l->hosts[i].slots);
			if (used[i] < l->hosts[i].slots) {
				lo = used[i] < lo ? used[i] : lo;
				hi = used[i] > hi ? used[i] : hi;
			}
		}
		if (!p.npernode && !over && lo != ~0u)
			check(hi <= lo + 1);
		free(used);
		free(host_of);
	}
}

static bool parse_hosts(const uint8_t *s, size_t n, struct sk_host_list *l)
{
	char *arg = malloc(n + 1), err[ERR_LEN];
	struct snapshot snap;
	bool ok;

	check(arg != NULL);
	memcpy(arg, s, n);
	arg[n] = '\0';
	snap_take(&snap, l);
	err_reset(err);
	ok = sk_hosts_parse(arg, l, err, ERR_LEN) == 0;
	if (!ok)
		check_err(err);
	snap_check(&snap, l, ok);
	check_list(l);
	free(arg);
	return ok;
}

static bool parse_hostfile(const uint8_t *s, size_t n, struct sk_host_list *l)
{
	struct snapshot snap;
	char err[ERR_LEN];
	bool ok;

	snap_take(&snap, l);
	err_reset(err);
	ok = sk_hostfile_parse((const char *)s, n, l, err, ERR_LEN) == 0;
	if (!ok)
		check_err(err);
	snap_check(&snap, l, ok);
	check_list(l);
	return ok;
}

static bool env_name_ok(const char *s)
{
	size_t n = strcspn(s, "=");

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static void fuzz_argv(const uint8_t *data, size_t size, unsigned np, bool over)
{
	static const struct sk_job_opts zero;
	char *buf = malloc(size + 1), *argv[MAX_WORDS + 2], err[ERR_LEN];
	struct sk_job_opts o;
	int argc = 1;

	check(buf != NULL);
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "skrun";
	for (char *p = buf; p <= buf + size && argc <= MAX_WORDS;
	     p += strlen(p) + 1) {
		/* --hostfile would read any file the input names. */
		if (strstr(p, "file"))
			goto out;
		argv[argc++] = p;
	}
	argv[argc] = NULL;

	err_reset(err);
	if (sk_opts_parse(argc, argv, &o, err, ERR_LEN)) {
		check_err(err);
		check(memcmp(&o, &zero, sizeof(o)) == 0);
		goto out;
	}
	check(o.np <= SK_OPTS_MAX_NODES);
	check(o.hostfile == NULL);
	check(o.provider == NULL || strcmp(o.provider, "rdma") == 0 ||
	      strcmp(o.provider, "ucx") == 0 ||
	      strcmp(o.provider, "auto") == 0);
	check(o.root == NULL || o.root[0] != '\0');
	check(o.bind == SK_BIND_NONE || o.bind == SK_BIND_CORE);
	check(o.timeout_s == 0 || (o.timeout_s > 0 && o.timeout_s <= 1e9));
	check(o.nenv <= SK_OPTS_MAX_ENV);
	for (size_t i = 0; i < o.nenv; i++)
		check(env_name_ok(o.env[i]));
	if (o.argc) {
		check(o.argv >= argv + 1 && o.argv + o.argc == argv + argc);
		check(o.argv[0][0] != '\0');
	} else {
		check(o.argv == NULL && (o.help || o.version));
	}
	check_list(&o.hosts);
	check_map(&o.hosts, o.np ? o.np : np, over || o.oversubscribe);
	sk_opts_cleanup(&o);
	check(memcmp(&o, &zero, sizeof(o)) == 0);
out:
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_host_list list = {0};
	unsigned mode, np;
	bool over;
	char err[ERR_LEN];

	if (size < 1)
		return 0;
	mode = data[0] & 3;
	over = data[0] & 8;
	np = (unsigned)(data[0] >> 4) * 7;
	data++;
	size--;

	check_agent_sig(data, size);
	if (mode == 3) {
		fuzz_argv(data, size, np, over);
		return 0;
	}
	if (data[-1] & 4) {
		check(sk_hosts_parse("a:2,node-1.example,fe80::1", &list, err,
				     ERR_LEN) == 0);
		check(sk_hostfile_parse("b slots=3\na\n", 12, &list, err,
					ERR_LEN) == 0);
	}
	switch (mode) {
	case 0:
		parse_hostfile(data, size, &list);
		break;
	case 1:
		parse_hosts(data, size, &list);
		break;
	case 2: {
		const uint8_t *nul = memchr(data, '\0', size);
		size_t n = nul ? (size_t)(nul - data) : size;

		parse_hosts(data, n, &list);
		if (nul)
			parse_hostfile(nul + 1, size - n - 1, &list);
		break;
	}
	}
	check_map(&list, np, over);
	check_place(&list, np, over);
	sk_host_list_cleanup(&list);
	check(list.hosts == NULL && list.count == 0);
	return 0;
}
