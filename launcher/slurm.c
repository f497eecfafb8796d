/*
 * Slurm's allocation as skrun reads it (opts.h): inside salloc or sbatch,
 * the job's nodes and the tasks each may run come from the environment,
 * as Open MPI's mpirun reads them (its ras/slurm component):
 *
 *   SLURM_JOB_ID          the allocation (SLURM_JOBID, its older name)
 *   SLURM_JOB_NODELIST    its nodes, a hostlist expression:
 *                         "node[01-03,7],gpu5" (SLURM_NODELIST)
 *   SLURM_TASKS_PER_NODE  tasks on each, in the same order: "2(x3),1"
 *   SLURM_JOB_NUM_NODES   how many nodes (SLURM_NNODES), if set
 *   SLURM_NTASKS          how many tasks in all (SLURM_NPROCS), if set
 *
 * Each node becomes a host of the list with its tasks as slots. The
 * variables are outside bytes: a bad one, or two that contradict each
 * other, is an error that names them, never a guess. Pure parsing: it
 * starts nothing and reads nothing but through @get.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"

/* Longest value of a variable taken, and of one expanded host name. */
#define SLURM_VALUE_MAX 65536
#define SLURM_NAME_MAX  253
/* Bracket groups in one hostlist item ("rack[1-2]-n[1-4]" has two). */
#define SLURM_DIMS_MAX  4

struct slurm_env {
	const char *(*get)(const char *name, void *arg);
	void *arg;
};

/* The first of @names that is set, and which one it was. */
static const char *slurm_get(const struct slurm_env *env, const char *name,
			     const char *alias, const char **which)
{
	const char *v = env->get(name, env->arg);

	*which = name;
	if (v == NULL && alias != NULL) {
		v = env->get(alias, env->arg);
		if (v != NULL)
			*which = alias;
	}
	return v;
}

/* ---- the host list being built ---- */

struct slurm_hosts {
	struct sk_host *h;
	size_t count, cap;
};

static void slurm_hosts_free(struct slurm_hosts *hs)
{
	for (size_t i = 0; i < hs->count; i++)
		free(hs->h[i].name);
	free(hs->h);
	hs->h = NULL;
	hs->count = hs->cap = 0;
}

static int slurm_host_add(struct slurm_hosts *hs, const char *name, size_t n,
			  const char *var, char *err, size_t errlen)
{
	char q[SK_SHOW_MAX];

	if (!sk_host_name_ok(name, n))
		return sk_parse_err(err, errlen,
				    "%s: '%s' is not a valid host name", var,
				    SK_SHOW(q, name, n));
	for (size_t i = 0; i < hs->count; i++)
		if (strncmp(hs->h[i].name, name, n) == 0 &&
		    hs->h[i].name[n] == '\0')
			return sk_parse_err(err, errlen,
					    "%s: host '%s' is listed twice",
					    var, SK_SHOW(q, name, n));
	if (hs->count >= SK_OPTS_MAX_NODES)
		return sk_parse_err(err, errlen, "%s: more than %u hosts", var,
				    SK_OPTS_MAX_NODES);
	if (hs->count == hs->cap) {
		size_t cap = hs->cap ? 2 * hs->cap : 16;
		struct sk_host *h = realloc(hs->h, cap * sizeof(*h));

		if (h == NULL)
			return sk_parse_err(err, errlen, "%s: out of memory",
					    var);
		hs->h = h;
		hs->cap = cap;
	}
	hs->h[hs->count].name = strndup(name, n);
	if (hs->h[hs->count].name == NULL)
		return sk_parse_err(err, errlen, "%s: out of memory", var);
	hs->h[hs->count].slots = 0;
	hs->count++;
	return 0;
}

/* ---- hostlist expressions ---- */

/* One bracket group of an item, "[01-03,7]", parsed. */
struct slurm_dim {
	const char *prefix; /* the text before '[' (after the last group) */
	size_t prefix_len;
	const char *ranges; /* inside the brackets */
	size_t ranges_len;
};

/*
 * The @k-th number of a group's ranges into *@num, with its width (the
 * digits of the range's first bound, so that "[01-10]" keeps the zero).
 * Returns 1 when there is one, 0 past the last; the ranges were checked.
 */
static int slurm_dim_nth(const struct slurm_dim *d, unsigned long k,
			 unsigned long *num, int *width)
{
	const char *p = d->ranges, *end = d->ranges + d->ranges_len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *r_end = comma ? comma : end;
		const char *dash = memchr(p, '-', (size_t)(r_end - p));
		unsigned long lo = 0, hi;
		int w = (int)((dash ? dash : r_end) - p);

		for (const char *c = p; c < (dash ? dash : r_end); c++)
			lo = lo * 10 + (unsigned long)(*c - '0');
		hi = lo;
		if (dash) {
			hi = 0;
			for (const char *c = dash + 1; c < r_end; c++)
				hi = hi * 10 + (unsigned long)(*c - '0');
		}
		if (k <= hi - lo) {
			*num = lo + k;
			*width = w;
			return 1;
		}
		k -= hi - lo + 1;
		p = r_end + (comma != NULL);
	}
	return 0;
}

/*
 * Check a group's ranges: "a", "a-b" with a <= b, separated by commas,
 * numbers of at most 9 digits. *@count gets how many numbers they name.
 */
static int slurm_ranges_check(const char *s, size_t n, const char *var,
			      unsigned long *count, char *err, size_t errlen)
{
	const char *p = s, *end = s + n;
	unsigned long total = 0;
	char q[SK_SHOW_MAX];

	if (n == 0)
		return sk_parse_err(err, errlen, "%s: empty brackets '[]'", var);
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *r_end = comma ? comma : end;
		const char *dash = memchr(p, '-', (size_t)(r_end - p));
		const char *b[2] = {p, dash ? dash + 1 : p};
		const char *e[2] = {dash ? dash : r_end, r_end};
		unsigned long v[2] = {0, 0};

		for (int i = 0; i < 2; i++) {
			if (e[i] == b[i] || e[i] - b[i] > 9)
				goto bad;
			for (const char *c = b[i]; c < e[i]; c++) {
				if (!sk_is_digit(*c))
					goto bad;
				v[i] = v[i] * 10 + (unsigned long)(*c - '0');
			}
		}
		if (v[1] < v[0])
			return sk_parse_err(
				err, errlen, "%s: range '%s' runs backwards",
				var, SK_SHOW(q, p, (size_t)(r_end - p)));
		total += v[1] - v[0] + 1;
		if (total > SK_OPTS_MAX_NODES)
			return sk_parse_err(err, errlen,
					    "%s: more than %u hosts", var,
					    SK_OPTS_MAX_NODES);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*count = total;
	return 0;
bad:
	return sk_parse_err(err, errlen, "%s: '[%s]' is not a list of numbers "
			    "and ranges", var, SK_SHOW(q, s, n));
}

/*
 * One item of a hostlist, "prefix[ranges]middle[ranges]suffix" or a plain
 * name: every combination of the groups' numbers, in order, the last
 * group varying fastest (as Slurm expands them).
 */
static int slurm_item(struct slurm_hosts *hs, const char *s, size_t n,
		      const char *var, char *err, size_t errlen)
{
	struct slurm_dim dim[SLURM_DIMS_MAX];
	unsigned long count[SLURM_DIMS_MAX], k[SLURM_DIMS_MAX] = {0};
	unsigned long total = 1;
	const char *p = s, *end = s + n, *suffix;
	size_t ndim = 0, suffix_len;
	char q[SK_SHOW_MAX];

	if (n == 0)
		return sk_parse_err(err, errlen, "%s: empty host name", var);
	for (;;) {
		const char *open = memchr(p, '[', (size_t)(end - p));
		const char *close;

		if (open == NULL)
			break;
		close = memchr(open, ']', (size_t)(end - open));
		if (close == NULL)
			return sk_parse_err(err, errlen, "%s: '%s' has no ']'",
					    var, SK_SHOW(q, s, n));
		if (ndim == SLURM_DIMS_MAX)
			return sk_parse_err(err, errlen,
					    "%s: '%s' has more than %d "
					    "bracket groups",
					    var, SK_SHOW(q, s, n),
					    SLURM_DIMS_MAX);
		dim[ndim] = (struct slurm_dim){
			.prefix = p, .prefix_len = (size_t)(open - p),
			.ranges = open + 1,
			.ranges_len = (size_t)(close - open - 1)};
		if (slurm_ranges_check(dim[ndim].ranges, dim[ndim].ranges_len,
				       var, &count[ndim], err, errlen))
			return -1;
		total *= count[ndim];
		if (total > SK_OPTS_MAX_NODES)
			return sk_parse_err(err, errlen,
					    "%s: more than %u hosts", var,
					    SK_OPTS_MAX_NODES);
		ndim++;
		p = close + 1;
	}
	suffix = p;
	suffix_len = (size_t)(end - p);
	if (memchr(suffix, ']', suffix_len))
		return sk_parse_err(err, errlen, "%s: '%s' has a ']' without "
				    "'['", var, SK_SHOW(q, s, n));
	for (unsigned long h = 0; h < total; h++) {
		char name[SLURM_NAME_MAX + 1];
		size_t len = 0;

		for (size_t d = 0; d <= ndim; d++) {
			const char *part = d < ndim ? dim[d].prefix : suffix;
			size_t part_len = d < ndim ? dim[d].prefix_len
						   : suffix_len;
			unsigned long num = 0;
			int width = 0, w;

			if (part_len > SLURM_NAME_MAX - len)
				goto long_name;
			memcpy(name + len, part, part_len);
			len += part_len;
			if (d == ndim)
				break;
			slurm_dim_nth(&dim[d], k[d], &num, &width);
			w = snprintf(name + len, sizeof(name) - len, "%0*lu",
				     width, num);
			if (w < 0 || (size_t)w >= sizeof(name) - len)
				goto long_name;
			len += (size_t)w;
		}
		if (slurm_host_add(hs, name, len, var, err, errlen))
			return -1;
		/* The next combination: the last group first. */
		for (size_t d = ndim; d-- > 0;) {
			if (++k[d] < count[d])
				break;
			k[d] = 0;
		}
	}
	return 0;
long_name:
	return sk_parse_err(err, errlen, "%s: '%s' names a host longer than "
			    "%d bytes", var, SK_SHOW(q, s, n), SLURM_NAME_MAX);
}

/* A whole hostlist: items separated by commas outside brackets. */
static int slurm_nodelist(struct slurm_hosts *hs, const char *s,
			  const char *var, char *err, size_t errlen)
{
	const char *p = s, *c;
	int depth = 0;

	if (*s == '\0')
		return sk_parse_err(err, errlen, "%s is empty", var);
	for (c = s;; c++) {
		if (*c == '[')
			depth++;
		else if (*c == ']')
			depth--;
		if (depth < 0 || depth > 1) {
			char q[SK_SHOW_MAX];

			return sk_parse_err(err, errlen,
					    "%s: unbalanced brackets in '%s'",
					    var, SK_SHOW(q, s, strlen(s)));
		}
		if ((*c == ',' && depth == 0) || *c == '\0') {
			if (slurm_item(hs, p, (size_t)(c - p), var, err,
				       errlen))
				return -1;
			if (*c == '\0')
				return 0;
			p = c + 1;
		}
	}
}

static int slurm_tasks_bad(const char *entry, size_t n, const char *var,
			   char *err, size_t errlen)
{
	char q[SK_SHOW_MAX];

	return sk_parse_err(err, errlen, "%s: '%s' is not a task count such "
			    "as '4' or '2(x3)'", var, SK_SHOW(q, entry, n));
}

/*
 * SLURM_TASKS_PER_NODE, "2(x3),1": each entry a count, optionally
 * repeated; the counts go to the hosts in order. Each must fit a host's
 * slots, and there must be exactly one per host.
 */
static int slurm_tasks(struct slurm_hosts *hs, const char *s, const char *var,
		       const char *list_var, char *err, size_t errlen)
{
	const char *p = s;
	size_t host = 0;
	char q[SK_SHOW_MAX];

	if (*s == '\0')
		return sk_parse_err(err, errlen, "%s is empty", var);
	for (;;) {
		const char *end = strchr(p, ',');
		const char *paren;
		unsigned tasks, reps = 1;
		size_t n;

		if (end == NULL)
			end = p + strlen(p);
		n = (size_t)(end - p);
		paren = memchr(p, '(', n);
		if (sk_parse_uint(p, paren ? (size_t)(paren - p) : n, 1,
				  SK_OPTS_MAX_SLOTS, &tasks) != SK_NUM_OK)
			return slurm_tasks_bad(p, n, var, err, errlen);
		if (paren) {
			/* "(xN)" */
			size_t rest = (size_t)(end - paren);

			if (rest < 4 || paren[1] != 'x' || end[-1] != ')' ||
			    sk_parse_uint(paren + 2, rest - 3, 1,
					  SK_OPTS_MAX_NODES,
					  &reps) != SK_NUM_OK)
				return slurm_tasks_bad(p, n, var, err, errlen);
		}
		if (reps > hs->count - host)
			return sk_parse_err(
				err, errlen,
				"%s ('%s') gives tasks for more nodes than "
				"%s's %zu",
				var, SK_SHOW(q, s, strlen(s)), list_var,
				hs->count);
		while (reps--)
			hs->h[host++].slots = tasks;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	if (host != hs->count)
		return sk_parse_err(err, errlen,
				    "%s ('%s') gives tasks for %zu node%s, "
				    "but %s has %zu",
				    var, SK_SHOW(q, s, strlen(s)), host,
				    host == 1 ? "" : "s", list_var, hs->count);
	return 0;
}

/* A variable that must be a count, if set; 0 when it is not. */
static int slurm_count(const struct slurm_env *env, const char *name,
		       const char *alias, unsigned max, unsigned *out,
		       const char **which, char *err, size_t errlen)
{
	const char *v = slurm_get(env, name, alias, which);
	char q[SK_SHOW_MAX];

	*out = 0;
	if (v == NULL)
		return 0;
	if (sk_parse_uint(v, strlen(v), 1, max, out) != SK_NUM_OK)
		return sk_parse_err(err, errlen,
				    "%s='%s' is not a count from 1 to %u",
				    *which, SK_SHOW(q, v, strlen(v)), max);
	return 0;
}

int sk_slurm_alloc(const char *(*get)(const char *name, void *arg), void *arg,
		   struct sk_host_list *list, unsigned *ntasks, char *err,
		   size_t errlen)
{
	const struct slurm_env env = {.get = get, .arg = arg};
	struct slurm_hosts hs = {0};
	const char *job, *nodes, *tasks, *v_job, *v_nodes, *v_tasks;
	const char *v_nn, *v_nt;
	unsigned id, nn, nt, sum = 0;
	char q[SK_SHOW_MAX];

	job = slurm_get(&env, "SLURM_JOB_ID", "SLURM_JOBID", &v_job);
	if (job == NULL)
		return 0;
	nodes = slurm_get(&env, "SLURM_JOB_NODELIST", "SLURM_NODELIST",
			  &v_nodes);
	tasks = slurm_get(&env, "SLURM_TASKS_PER_NODE", NULL, &v_tasks);
	if (sk_parse_uint(job, strlen(job), 1, ~0u, &id) != SK_NUM_OK)
		return sk_parse_err(err, errlen,
				    "%s='%s' is not a Slurm job id", v_job,
				    SK_SHOW(q, job, strlen(job)));
	if (nodes == NULL || tasks == NULL)
		return sk_parse_err(err, errlen,
				    "%s is set but %s is not: not a Slurm "
				    "allocation skrun can read (unset %s to "
				    "run outside Slurm)",
				    v_job, nodes == NULL ? "SLURM_JOB_NODELIST"
							 : v_tasks,
				    v_job);
	if (strlen(nodes) > SLURM_VALUE_MAX || strlen(tasks) > SLURM_VALUE_MAX)
		return sk_parse_err(err, errlen, "%s is longer than %d bytes",
				    strlen(nodes) > SLURM_VALUE_MAX ? v_nodes
								    : v_tasks,
				    SLURM_VALUE_MAX);
	if (slurm_nodelist(&hs, nodes, v_nodes, err, errlen) ||
	    slurm_tasks(&hs, tasks, v_tasks, v_nodes, err, errlen) ||
	    slurm_count(&env, "SLURM_JOB_NUM_NODES", "SLURM_NNODES",
			SK_OPTS_MAX_NODES, &nn, &v_nn, err, errlen) ||
	    slurm_count(&env, "SLURM_NTASKS", "SLURM_NPROCS", ~0u, &nt, &v_nt,
			err, errlen))
		goto fail;
	if (nn != 0 && nn != hs.count) {
		sk_parse_err(err, errlen, "%s=%u, but %s ('%s') names %zu "
			     "node%s", v_nn, nn, v_nodes,
			     SK_SHOW(q, nodes, strlen(nodes)), hs.count,
			     hs.count == 1 ? "" : "s");
		goto fail;
	}
	for (size_t i = 0; i < hs.count; i++)
		sum += hs.h[i].slots; /* <= 4096 * 4096 */
	if (nt != 0 && nt != sum) {
		sk_parse_err(err, errlen, "%s=%u, but %s ('%s') adds up to %u",
			     v_nt, nt, v_tasks,
			     SK_SHOW(q, tasks, strlen(tasks)), sum);
		goto fail;
	}
	sk_host_list_cleanup(list);
	list->hosts = hs.h;
	list->count = hs.count;
	*ntasks = sum;
	return 1;
fail:
	slurm_hosts_free(&hs);
	return -1;
}
