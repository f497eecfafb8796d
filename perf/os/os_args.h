/*
 * The command-line numbers of the perf/os programs (sk_console_bw,
 * sk_file_bw): plain decimal, no sign, no suffix, at most a limit.
 * Header-only: the programs link nothing of perf/ but libos.
 */
#ifndef SKIFF_PERF_OS_ARGS_H
#define SKIFF_PERF_OS_ARGS_H

#include <stdlib.h>

/* @s as a decimal of at most @max, or 0 if it is not one; no caller
 * takes 0, so "0" is refused with the rest. */
static inline unsigned long os_parse_count(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return 0;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return 0;
	return v;
}

#endif /* SKIFF_PERF_OS_ARGS_H */
