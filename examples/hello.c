/*
 * hello: the smallest Skiff node program.
 *
 *   skiffcc hello.c -o hello
 *   skrun -n 4 ./hello a b c        every node prints its rank and argv
 *   skrun -n 4 ./hello --exit 3     ... and every node exits 3: so does skrun
 *
 * main() is an ordinary main: linked with libskiff_os and -Wl,--wrap=main
 * (skiffcc does both), the program boots as a node before main() runs, so
 * printf already goes to the host's console (skrun's stdout), and argv is
 * the one given to skrun. Run without skrun, it is rank 0 of a job of 1.
 *
 * It is plain C that also compiles as C++ (tests/install builds it so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skiff/os.h>
#include <skiff/version.h>

int main(int argc, char **argv)
{
	unsigned rank = sk_os_rank(), size = sk_os_size();
	char host[256], *line;
	size_t len = 1, at = 0;
	int code = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--exit") == 0) {
			char *end;
			long v;

			if (i + 1 == argc) {
				fprintf(stderr, "hello: --exit needs a code\n");
				return 2;
			}
			v = strtol(argv[i + 1], &end, 10);
			if (end == argv[i + 1] || *end != '\0' || v < 0 ||
			    v > 255) {
				fprintf(stderr,
					"hello: --exit: '%s' is not a code "
					"from 0 to 255\n",
					argv[i + 1]);
				return 2;
			}
			code = (int)v;
			i++;
		}
	}

	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "?");
	host[sizeof(host) - 1] = '\0';
	printf("hello from rank %u of %u on %s (Skiff %s, %s)\n", rank, size,
	       host, SKIFF_VERSION, sk_os_booted() ? "booted" : "not booted");

	/* The whole argv in one printf: output of different nodes is
	 * interleaved line by line only if each line leaves in one piece. */
	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 3;
	line = (char *)malloc(len);
	if (line == NULL) {
		fprintf(stderr, "hello: out of memory\n");
		return 1;
	}
	line[0] = '\0';
	for (i = 0; i < argc; i++)
		at += (size_t)sprintf(line + at, " [%s]", argv[i]);
	printf("rank %u argv:%s\n", rank, line);
	free(line);

	if (code != 0)
		printf("rank %u exits with %d\n", rank, code);
	return code;
}
