/*
 * libFuzzer target for skrun's reading of a Slurm allocation
 * (sk_slurm_alloc, launcher/slurm.c): the environment of salloc or sbatch
 * is outside bytes. The input is up to five values separated by NUL
 * bytes, given in order to SLURM_JOB_NODELIST, SLURM_TASKS_PER_NODE,
 * SLURM_JOB_NUM_NODES, SLURM_NTASKS and SLURM_JOB_ID (which defaults to
 * "1" when the input has fewer parts); a missing part is an unset
 * variable.
 *
 * Oracles, each an abort: every message is one NUL-terminated line of
 * printable text; a refusal leaves the list exactly as it was (it starts
 * with one host, "keep", of 3 slots); an acceptance gives 1 to 4096 hosts
 * with valid, unique names, 1 to 4096 slots each, summing to *ntasks, and
 * matching SLURM_JOB_NUM_NODES and SLURM_NTASKS where those were given.
 * LeakSanitizer checks the error paths free what they allocated.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"
#include "parse.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_LEN 256
#define NPARTS  5

static const char *const names[NPARTS] = {
	"SLURM_JOB_NODELIST", "SLURM_TASKS_PER_NODE", "SLURM_JOB_NUM_NODES",
	"SLURM_NTASKS", "SLURM_JOB_ID",
};

struct fenv {
	char *val[NPARTS];
};

static const char *fenv_get(const char *name, void *arg)
{
	struct fenv *e = arg;

	for (int i = 0; i < NPARTS; i++)
		if (strcmp(name, names[i]) == 0)
			return e->val[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sk_host_list l = {0};
	struct fenv e = {{NULL}};
	struct sk_host *before;
	char *copy, *p, err[ERR_LEN];
	unsigned nt = 12345, sum = 0;
	int rc, nparts = 0;

	if (size > 1 << 16)
		return 0;
	copy = malloc(size + 1);
	check(copy != NULL);
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (p = copy; nparts < NPARTS; nparts++) {
		e.val[nparts] = p;
		p += strlen(p);
		if (p == copy + size)
			break;
		p++;
	}
	if (e.val[4] == NULL)
		e.val[4] = "1";
	check(sk_hosts_parse("keep:3", &l, err, sizeof(err)) == 0);
	before = l.hosts;
	memset(err, 'E', sizeof(err));
	rc = sk_slurm_alloc(fenv_get, &e, &l, &nt, err, sizeof(err));
	if (rc <= 0) {
		check(l.count == 1 && l.hosts == before);
		check(strcmp(l.hosts[0].name, "keep") == 0);
		check(l.hosts[0].slots == 3 && nt == 12345);
		if (rc < 0) {
			const char *nul = memchr(err, '\0', sizeof(err));

			check(nul != NULL && nul != err);
			for (const char *c = err; c < nul; c++)
				check(*c >= 0x20 && *c < 0x7f);
		}
	} else {
		check(l.count >= 1 && l.count <= SK_OPTS_MAX_NODES);
		for (size_t i = 0; i < l.count; i++) {
			const char *n = l.hosts[i].name;

			check(sk_host_name_ok(n, strlen(n)));
			check(l.hosts[i].slots >= 1 &&
			      l.hosts[i].slots <= SK_OPTS_MAX_SLOTS);
			sum += l.hosts[i].slots;
			for (size_t j = 0; j < i && l.count <= 256; j++)
				check(strcmp(n, l.hosts[j].name) != 0);
		}
		check(sum == nt);
		if (e.val[2] != NULL)
			check(strtoul(e.val[2], NULL, 10) == l.count);
		if (e.val[3] != NULL)
			check(strtoul(e.val[3], NULL, 10) == nt);
	}
	sk_host_list_cleanup(&l);
	free(copy);
	return 0;
}
