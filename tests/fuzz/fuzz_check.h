/*
 * Oracles and set-up shared by the fuzz targets: check() aborts
 * (libFuzzer keeps the input) with the failed condition; check_why() holds
 * a checker's refusal reason to its promise, one line of printable text;
 * fuzz_dup() gives a checker an exact-size heap copy of the input;
 * fuzz_seeds_if_asked() writes the seeds instead of fuzzing (and
 * FUZZ_INITIALIZE_WITH_SEEDS, the initializer that does only that);
 * fuzz_quiet_unless_verbose() silences the code's own refusal messages.
 */
#ifndef SKIFF_FUZZ_CHECK_H
#define SKIFF_FUZZ_CHECK_H

#include <stdint.h>
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

/* @len bytes of @data in a heap block of exactly that size (malloc(0) may
 * be NULL: then 1), so that ASan sees a read past them; free() it. Also
 * where a target rewrites fields of the input before checking it. */
static inline uint8_t *fuzz_dup(const void *data, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	check(copy != NULL);
	memcpy(copy, data, len);
	return copy;
}

/* Take the mode byte of a target that reads one off the front of
 * @data/@size. Returns it, or -1 if the input is empty. */
static inline int fuzz_take_mode(const uint8_t **data, size_t *size)
{
	if (*size < 1)
		return -1;
	(*size)--;
	return *(*data)++;
}

/* Write the seed file @dir/@name: the byte @mode first unless it is -1
 * (the targets that read a mode byte), then @len bytes of @buf. A seed
 * that cannot be written is a failed check. */
static inline void fuzz_write_seed(const char *dir, const char *name,
				   int mode, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	check(f != NULL && (mode < 0 || fputc(mode, f) != EOF) &&
	      fwrite(buf, 1, len, f) == len && fclose(f) == 0);
}

/* SKIFF_FUZZ_WRITE_SEEDS=DIR: write the target's seeds into DIR with
 * @write_seeds and exit (how each tests/fuzz/corpus* was made). */
static inline void fuzz_seeds_if_asked(void (*write_seeds)(const char *dir))
{
	const char *dir = getenv("SKIFF_FUZZ_WRITE_SEEDS");

	if (dir) {
		write_seeds(dir);
		exit(0);
	}
}

/* The LLVMFuzzerInitialize of a target whose only set-up is its seed
 * writer @write_seeds. */
#define FUZZ_INITIALIZE_WITH_SEEDS(write_seeds)                                \
	int LLVMFuzzerInitialize(int *argc, char ***argv)                      \
	{                                                                      \
		(void)argc;                                                    \
		(void)argv;                                                    \
		fuzz_seeds_if_asked(write_seeds);                              \
		return 0;                                                      \
	}

/*
 * Unless SKIFF_FUZZ_VERBOSE is set (and not 0), send stderr to /dev/null:
 * every refused input logs a line, and at thousands of inputs a second
 * that is the run's whole cost. Sanitizer reports and libFuzzer's own
 * output do not go through this FILE (glibc lets it be set).
 */
static inline void fuzz_quiet_unless_verbose(void)
{
	const char *verbose = getenv("SKIFF_FUZZ_VERBOSE");
	FILE *null;

	if (verbose != NULL && strcmp(verbose, "0") != 0)
		return;
	null = fopen("/dev/null", "w");
	if (null)
		stderr = null;
}

#endif /* SKIFF_FUZZ_CHECK_H */
