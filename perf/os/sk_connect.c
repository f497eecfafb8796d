/*
 * sk_connect: what connecting on first use costs (libos/README.md).
 *
 *   skrun -n N build/perf/os/sk_connect
 *
 * 1. One at a time: rank 0 connects to every other rank (sk_os_peer) while
 *    they wait in a barrier; each connection is timed, and a first message
 *    exchange after it.
 * 2. All at once: every rank connects to every other rank, starting past
 *    its own rank; the wall time from the barrier before to the barrier
 *    after gives the job's connections per second.
 * Rank 0 prints the figures. A rank that cannot connect fails the run.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <skiff/os.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	unsigned me = sk_os_rank(), n = sk_os_size(), i;
	uint64_t *ns, t0, t1;
	int bad = 0;

	if (!sk_os_booted() || n < 2) {
		fprintf(stderr, "sk_connect: run it with skrun -n 2 or more\n");
		return 2;
	}
	ns = calloc(n, sizeof(*ns));
	if (ns == NULL)
		return 1;
	sk_os_barrier();
	if (me == 0) {
		for (i = 1; i < n; i++) {
			uint64_t t = sk_time_ns();

			if (sk_os_peer(i) == NULL) {
				fprintf(stderr, "sk_connect: rank 0 cannot "
						"reach rank %u\n", i);
				bad = 1;
			}
			ns[i - 1] = sk_time_ns() - t;
		}
		qsort(ns, n - 1, sizeof(*ns), cmp_u64);
		printf("one at a time: %u connections, median %.1f us, "
		       "min %.1f us, max %.1f us\n", n - 1,
		       ns[(n - 1) / 2] / 1e3, ns[0] / 1e3, ns[n - 2] / 1e3);
	}
	sk_os_barrier();
	t0 = sk_time_ns();
	for (i = 1; i < n; i++) {
		unsigned to = (me + i) % n;

		if (sk_os_peer(to) == NULL) {
			fprintf(stderr, "sk_connect: rank %u cannot reach "
					"rank %u\n", me, to);
			bad = 1;
		}
	}
	sk_os_barrier();
	t1 = sk_time_ns();
	if (me == 0) {
		/* Rank 0's pairs were made in part 1. */
		unsigned long pairs = (unsigned long)(n - 1) * (n - 2) / 2;

		printf("all at once: %lu new pairs in %.1f ms, %.0f "
		       "connections/s\n", pairs, (t1 - t0) / 1e6,
		       pairs / ((t1 - t0) / 1e9));
	}
	free(ns);
	return bad;
}
