/*
 * keystall_app - the node program of e2e's silent-node check (tests/e2e/
 * jobs.sh, t_silent_node): a node asks for a bulk read, so that skrun
 * must import its arena key, and at once stops (SIGSTOP) without serving
 * anything, while another node talks on the console.
 *
 *   keystall_app FILE GO
 *
 * Rank 1 opens FILE, sends one bulk READ of it into its bounce buffer
 * without waiting for the reply, and stops itself. Once continued it reads
 * FILE again, the usual way, and prints "rank 1 served: yes" if that
 * worked. Rank 0 waits until the file GO exists here (a local check, not a
 * request to skrun), then prints "rank 0 speaks". Other ranks do nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <skiff/file.h>
#include <skiff/os.h>

#include "../../libos/node.h" /* the raw host channel and bounce buffer */

int main(int argc, char **argv)
{
	struct sk_hreq_io io = {.len = 65536, .offset = 0};
	char buf[64];
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: keystall_app FILE GO\n");
		return 2;
	}
	if (sk_os_rank() == 1) {
		fd = sk_open(argv[1], O_RDONLY);
		if (fd < 0) {
			printf("rank 1 open: %s\n", strerror(errno));
			return 1;
		}
		io.fd = fd;
		io.raddr = (uintptr_t)sk_node.bounce;
		/* On the same host the request goes out through the shared
		 * ring as the call returns; skrun's key check then needs
		 * this process to answer, which a stopped one cannot. */
		if (sk_node_post(SK_HMSG_READ, 0, &io, sizeof(io)) != 0) {
			printf("rank 1 post failed\n");
			return 1;
		}
		raise(SIGSTOP);
		printf("rank 1 served: %s\n",
		       sk_pread(fd, buf, sizeof(buf), 0) > 0 ? "yes" : "no");
		sk_close(fd);
		return 0;
	}
	if (sk_os_rank() == 0) {
		while (access(argv[2], F_OK) != 0)
			sk_os_sleep_ms(20);
		printf("rank 0 speaks\n");
		fflush(stdout);
	}
	return 0;
}
