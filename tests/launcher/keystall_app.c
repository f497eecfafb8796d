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

#include "stall_app.h"

#include "../../libos/node.h" /* the raw host channel and bounce buffer */

int main(int argc, char **argv)
{
	struct sk_hreq_io io = {.len = 65536, .offset = 0};
	char buf[64];
	int fd;

	stall_app_args(argc, "keystall_app");
	if (sk_os_rank() == 1) {
		fd = stall_app_open(argv[1]);
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
	if (sk_os_rank() == 0)
		stall_app_speak(argv[2]);
	return 0;
}
