/*
 * sk_idle [MS]: a Skiff node that sleeps MS ms (default 10000) on its loop
 * (sk_os_sleep_ms: a timer and the completion channel, no polling), then
 * prints one line. perf/os/idle-cpu.sh measures what such a job costs.
 */
#include <stdio.h>
#include <stdlib.h>

#include <skiff/os.h>

int main(int argc, char **argv)
{
	char *end;
	unsigned long ms = 10000;

	if (argc > 1) {
		ms = strtoul(argv[1], &end, 10);
		if (*argv[1] == '\0' || *end != '\0') {
			fprintf(stderr, "usage: sk_idle [MS]\n");
			return 2;
		}
	}
	sk_os_sleep_ms(ms);
	printf("idle rank %u of %u: done\n", sk_os_rank(), sk_os_size());
	return 0;
}
