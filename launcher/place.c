/*
 * Where each rank runs (opts.h): mpirun's placements over a host list (by
 * slot, by node, -N per host, --oversubscribe's round-robin), and its
 * refusal to bind more ranks than a host has cores. Pure arithmetic on
 * the list opts.c and hosts.c made; it starts nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* Slots a list offers in all (each host 1 to SK_OPTS_MAX_SLOTS). */
static unsigned long long total_slots(const struct sk_host_list *list)
{
	unsigned long long total = 0;

	for (size_t i = 0; i < list->count; i++)
		total += sk_host_slots(&list->hosts[i]);
	return total;
}

/* How many ranks and the error when -N does not fit (mpirun's "ppr"). */
static int place_npernode(const struct sk_host_list *list,
			  const struct sk_place *p, unsigned *np_p, char *err,
			  size_t errlen)
{
	size_t nhosts = list->count ? list->count : 1;
	unsigned long long most = (unsigned long long)p->npernode * nhosts;
	unsigned np = p->np;

	if (np == 0) {
		if (most > SK_OPTS_MAX_NODES)
			return sk_parse_err(
				err, errlen,
				"-N %u on %zu host%s is %llu nodes, more "
				"than %u",
				p->npernode, nhosts, nhosts == 1 ? "" : "s",
				most, SK_OPTS_MAX_NODES);
		np = (unsigned)most;
	}
	if (np > most)
		return sk_parse_err(
			err, errlen,
			"your job has requested more processes than "
			"the ppr for this topology can support: %u "
			"nodes requested, -N %u on %zu host%s place "
			"%llu",
			np, p->npernode, nhosts, nhosts == 1 ? "" : "s", most);
	/* Every host that gets ranks must have the slots for them. */
	for (size_t i = 0; i < list->count && !p->oversubscribe; i++) {
		const struct sk_host *h = &list->hosts[i];
		unsigned first = (unsigned)i * p->npernode, want;
		char q[SK_SHOW_MAX];

		if (first >= np) /* i < 4096 hosts, N <= 4096: no overflow */
			break;
		want = np - first;
		if (want > p->npernode)
			want = p->npernode;
		if (want > sk_host_slots(h))
			return sk_parse_err(
				err, errlen,
				"there are not enough slots available: "
				"-N %u puts %u nodes on host '%s', "
				"which has %u slot%s (give more slots, "
				"or --oversubscribe)",
				p->npernode, want,
				SK_SHOW(q, h->name, strlen(h->name)),
				sk_host_slots(h),
				sk_host_slots(h) == 1 ? "" : "s");
	}
	*np_p = np;
	return 0;
}

int sk_hosts_place(const struct sk_host_list *list, const struct sk_place *p,
		   unsigned *np_p, unsigned **host_of_p, char *err,
		   size_t errlen)
{
	unsigned long long total = total_slots(list);
	unsigned *host_of, *used = NULL;
	unsigned np = p->np, k = 0;

	if (p->npernode) {
		if (place_npernode(list, p, &np, err, errlen))
			return -1;
	} else if (np == 0) {
		if (list->count == 0)
			np = 1;
		else if (total > SK_OPTS_MAX_NODES)
			return sk_parse_err(
				err, errlen,
				"the hosts have %llu slots, more than "
				"%u nodes: give -n",
				total, SK_OPTS_MAX_NODES);
		else
			np = (unsigned)total;
	}
	if (np > SK_OPTS_MAX_NODES)
		return sk_parse_err(err, errlen, "%u nodes is more than %u", np,
				    SK_OPTS_MAX_NODES);
	if (list->count && np > total && !p->oversubscribe)
		return sk_parse_err(
			err, errlen,
			"there are not enough slots available: %u "
			"nodes requested, %llu slot%s on %zu host%s "
			"(give more hosts or slots, or --oversubscribe)",
			np, total, total == 1 ? "" : "s", list->count,
			list->count == 1 ? "" : "s");
	host_of = calloc(np, sizeof(*host_of));
	if (host_of == NULL)
		return sk_parse_err(err, errlen, "out of memory");
	/* With no hosts every node runs on localhost: index 0, all zero. */
	if (list->count == 0)
		goto out;
	if (p->npernode) {
		/* -N: a block of N on each host in order. */
		for (k = 0; k < np; k++)
			host_of[k] = k / p->npernode;
		goto out;
	}
	if (p->map_by == SK_MAP_NODE) {
		/* By node: one on each host with a free slot, in turn. */
		used = calloc(list->count, sizeof(*used));
		if (used == NULL) {
			free(host_of);
			return sk_parse_err(err, errlen, "out of memory");
		}
		while (k < np && k < total) {
			for (size_t i = 0; i < list->count && k < np; i++) {
				if (used[i] >= sk_host_slots(&list->hosts[i]))
					continue;
				used[i]++;
				host_of[k++] = (unsigned)i;
			}
		}
		free(used);
	} else {
		/* By slot: fill the first host, then the next... */
		for (size_t i = 0; i < list->count && k < np; i++)
			for (unsigned s = 0;
			     s < sk_host_slots(&list->hosts[i]) && k < np; s++)
				host_of[k++] = (unsigned)i;
	}
	/* ...then, oversubscribed, one more on each host in turn, as Open
	 * MPI spreads the excess evenly over the hosts. */
	for (size_t i = 0; k < np; i = (i + 1) % list->count)
		host_of[k++] = (unsigned)i;
out:
	*np_p = np;
	*host_of_p = host_of;
	return 0;
}

int sk_hosts_map(const struct sk_host_list *list, unsigned np,
		 bool oversubscribe, unsigned *np_p, unsigned **host_of_p,
		 char *err, size_t errlen)
{
	struct sk_place p = {.np = np, .oversubscribe = oversubscribe};

	return sk_hosts_place(list, &p, np_p, host_of_p, err, errlen);
}

int sk_bind_check(const struct sk_job_opts *o, const char *host,
		  unsigned nprocs, unsigned ncores, char *err, size_t errlen)
{
	char q[SK_SHOW_MAX];

	if (o->bind != SK_BIND_CORE || o->bind_overload || o->oversubscribe ||
	    nprocs <= ncores)
		return 0;
	return sk_parse_err(
		err, errlen,
		"a request was made to bind to that would result in "
		"binding more processes than cpus on a resource: bind "
		"to CORE, node %s, %u processes, %u core%s (give "
		"--oversubscribe, --bind-to none or --bind-to "
		"core:overload-allowed to allow it)",
		SK_SHOW(q, host, strlen(host)), nprocs, ncores,
		ncores == 1 ? "" : "s");
}
