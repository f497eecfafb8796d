/*
 * sk_console_bw [-l LINE] [-b BLOCK] MIB: write MIB MiB of text to stdout.
 *
 *   -l LINE   length of a line, newline included (default 100)
 *   -b BLOCK  one fwrite per BLOCK bytes (default: one fwrite per line)
 *
 * Line k is LINE-1 times the letter 'a' + k % 26 and a newline; the last
 * line is cut short so that the total is exactly MIB MiB. The text is the
 * same with and without -b; perf/compare-os-io.sh checks it once with cksum.
 *
 * Under skrun the bytes go to the host as console messages (libos's
 * stdout, line-buffered); run alone (not booted), the program writes plain
 * stdio to its stdout, which is the script's reference. The text is built
 * once: the loop is fwrite alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "os_args.h"

static void usage(void)
{
	fprintf(stderr, "usage: sk_console_bw [-l LINE] [-b BLOCK] MIB\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long line = 100, block = 0, mib;
	size_t total, off, period, len, i;
	char *text;
	int c;

	while ((c = getopt(argc, argv, "l:b:")) != -1) {
		switch (c) {
		case 'l':
			line = os_parse_count(optarg, 1u << 20);
			if (line < 2)
				usage();
			break;
		case 'b':
			block = os_parse_count(optarg, 64u << 20);
			if (block == 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	mib = os_parse_count(argv[optind], 1u << 16);
	if (mib == 0)
		usage();
	total = (size_t)mib << 20;

	/* One period of the text (26 lines), then enough of the next for a
	 * block starting anywhere in the first. */
	period = 26 * line;
	len = period + (block > line ? block : line);
	text = malloc(len);
	if (text == NULL) {
		perror("sk_console_bw: malloc");
		return 1;
	}
	for (i = 0; i < len; i++)
		text[i] = (i % line == line - 1) ? '\n' :
			  (char)('a' + (i / line) % 26);

	if (block == 0)
		block = line; /* a line per call; off stays line-aligned */
	for (off = 0; off < total; off += block) {
		size_t n = total - off < block ? total - off : block;

		if (fwrite(text + off % period, 1, n, stdout) != n) {
			perror("sk_console_bw: fwrite");
			return 1;
		}
	}
	if (fflush(stdout) != 0) {
		perror("sk_console_bw: fflush");
		return 1;
	}
	free(text);
	return 0;
}
