/*
 * deny_syscall NR PROGRAM [ARGS...]: run PROGRAM with system call NR
 * answering ENOSYS, as an old kernel or a container's seccomp profile
 * does for calls it does not know. e2e's no-openat2 check runs skrun so,
 * with openat2(2) (437) refused.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char *end;
	long nr;

	if (argc < 3) {
		fprintf(stderr, "usage: deny_syscall NR PROGRAM [ARGS...]\n");
		return 2;
	}
	errno = 0;
	nr = strtol(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || nr < 0 || nr > 4095) {
		fprintf(stderr, "deny_syscall: bad system call number '%s'\n",
			argv[1]);
		return 2;
	}

	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = sizeof(code) / sizeof(code[0]),
		.filter = code,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
		fprintf(stderr, "deny_syscall: seccomp: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "deny_syscall: %s: %s\n", argv[2], strerror(errno));
	return 127;
}
