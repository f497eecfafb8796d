/*
 * sk_hello [--pause FILE]: a Skiff node that prints one line and ends;
 * perf/compare-boot.sh times `skrun -n N sk_hello` (boot, one console line,
 * finalize) against mpi_hello under mpirun.
 *
 * --pause FILE: after the line, stay idle on the node's loop until FILE
 * exists (looked at every 100 ms, for at most 10 minutes), then end as
 * usual. compare-boot.sh reads every node's memory in that state: booted,
 * one message sent, asleep in sk_os_sleep_ms().
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <skiff/os.h>

int main(int argc, char **argv)
{
	const char *pause = NULL;

	if (argc == 3 && strcmp(argv[1], "--pause") == 0) {
		pause = argv[2];
	} else if (argc != 1) {
		fprintf(stderr, "usage: sk_hello [--pause FILE]\n");
		return 2;
	}
	printf("hello from rank %u of %u\n", sk_os_rank(), sk_os_size());
	if (pause == NULL)
		return 0;
	fflush(stdout);
	for (int i = 0; i < 6000 && access(pause, F_OK) != 0; i++)
		sk_os_sleep_ms(100);
	return 0;
}
