/*
 * linelat: read lines on stdin; for each that holds "console_lat SEQ NS",
 * take CLOCK_MONOTONIC now minus NS (the node's printf time, on this
 * host's clock) as that line's latency. Other lines pass to stderr.
 * Prints "lines N p50_us X p99_us Y max_us Z" at the end of input.
 * Exit status 0, 1 when no such line came.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	char line[4096];
	double *lat = NULL;
	size_t n = 0, cap = 0;

	while (fgets(line, sizeof(line), stdin)) {
		struct timespec ts;
		unsigned long long seq, ns;
		const char *p = strstr(line, "console_lat ");

		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (p == NULL || sscanf(p, "console_lat %llu %llu", &seq,
					&ns) != 2) {
			fputs(line, stderr);
			continue;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			lat = realloc(lat, cap * sizeof(*lat));
			if (lat == NULL)
				return 1;
		}
		lat[n++] = ((double)ts.tv_sec * 1e9 + (double)ts.tv_nsec -
			    (double)ns) / 1e3;
	}
	if (n == 0) {
		fprintf(stderr, "linelat: no console_lat lines\n");
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp);
	printf("lines %zu p50_us %.1f p99_us %.1f max_us %.1f\n", n,
	       lat[n / 2], lat[(size_t)((double)(n - 1) * 0.99)], lat[n - 1]);
	free(lat);
	return 0;
}
