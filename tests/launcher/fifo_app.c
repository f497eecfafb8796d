/*
 * fifo_app - the node program of e2e's file-threads check (tests/e2e/
 * jobs.sh, t_slow_file): one node waits in a file read on the host while
 * another talks on the console.
 *
 *   fifo_app PATH GO
 *
 * Rank 1 opens PATH through the host's file service and reads it once,
 * then prints "rank 1 read: <bytes>". Rank 0 waits until the file GO
 * exists here (a local check, not a request to the host), then prints
 * "rank 0 speaks". Other ranks do nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <skiff/file.h>
#include <skiff/os.h>

#include "stall_app.h"

int main(int argc, char **argv)
{
	char buf[256];
	ssize_t n;
	int fd;

	stall_app_args(argc, "fifo_app");
	if (sk_os_rank() == 1) {
		fd = stall_app_open(argv[1]);
		n = sk_read(fd, buf, sizeof(buf) - 1);
		if (n < 0) {
			printf("rank 1 read failed: %s\n", strerror(errno));
			return 1;
		}
		buf[n] = '\0';
		printf("rank 1 read: %s", buf);
		sk_close(fd);
		return 0;
	}
	if (sk_os_rank() == 0)
		stall_app_speak(argv[2]);
	return 0;
}
