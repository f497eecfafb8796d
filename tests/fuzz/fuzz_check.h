/*
 * Oracles shared by the fuzz targets: check() aborts (libFuzzer keeps the
 * input) with the failed condition; check_why() holds a checker's refusal
 * reason to its promise, one line of printable text.
 */
#ifndef SKIFF_FUZZ_CHECK_H
#define SKIFF_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define check(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, \
				__LINE__, #cond);                              \
			abort();                                               \
		}                                                              \
	} while (0)

static inline void check_why(const char *why)
{
	size_t n;

	check(why != NULL);
	n = strlen(why);
	check(n > 0 && n < 200);
	for (size_t i = 0; i < n; i++)
		check(why[i] >= 0x20 && why[i] < 0x7f);
}

#endif /* SKIFF_FUZZ_CHECK_H */
