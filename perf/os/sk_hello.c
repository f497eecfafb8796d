/*
 * sk_hello: a Skiff node that prints one line and ends; perf/compare-boot.sh
 * times `skrun -n N sk_hello` (boot, one console line, finalize) against
 * mpi_hello under mpirun.
 */
#include <stdio.h>

#include <skiff/os.h>

int main(void)
{
	printf("hello from rank %u of %u\n", sk_os_rank(), sk_os_size());
	return 0;
}
