/*
 * Sealed mode (SKIFF_SEAL=1): after boot, a seccomp filter lets the node
 * make only the system calls its fabric provider and the C runtime need to
 * keep running: memory, time, sleeping on descriptors it already has,
 * reading and writing them, the verbs ioctl, signals to itself, and exit.
 * Everything else (open, socket, connect, fork, exec, ...) fails with
 * EPERM, so the node's only way to the world is the fabric: its printf and
 * its file reads still work because they cross it to the host.
 *
 * The filter covers every thread of the process (TSYNC), including the
 * provider's progress threads started during boot.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seal.h"
#include "node.h"

#if defined(__x86_64__)
#define SK_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SK_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "sealed mode: add this architecture's AUDIT_ARCH"
#endif

static const int sk_seal_allowed[] = {
	/* descriptors the node already holds */
	SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_close, SYS_ioctl,
	SYS_fcntl, SYS_ppoll, SYS_epoll_pwait, SYS_epoll_ctl,
	SYS_sendmsg, SYS_recvmsg, SYS_recvmmsg, SYS_sendto, SYS_recvfrom,
	SYS_getsockopt, SYS_setsockopt, SYS_shutdown,
#ifdef SYS_poll
	SYS_poll, SYS_epoll_wait, SYS_select,
#endif
	SYS_pselect6,
	/* memory */
	SYS_mmap, SYS_munmap, SYS_mremap, SYS_madvise, SYS_mprotect, SYS_brk,
	SYS_shmdt,
	/* time and waiting */
	SYS_futex, SYS_nanosleep, SYS_clock_nanosleep, SYS_clock_gettime,
	SYS_gettimeofday, SYS_sched_yield, SYS_restart_syscall,
	/* threads, signals and exit */
	SYS_getpid, SYS_gettid, SYS_tgkill, SYS_rt_sigprocmask,
	SYS_rt_sigaction, SYS_rt_sigreturn, SYS_sigaltstack,
	SYS_set_robust_list, SYS_rseq, SYS_sched_getaffinity, SYS_getrandom,
	SYS_exit, SYS_exit_group,
};

int sk_seal(void)
{
	enum { N = sizeof(sk_seal_allowed) / sizeof(sk_seal_allowed[0]) };
	struct sock_filter f[4 + 2 * N + 1];
	struct sock_fprog prog = {.filter = f};
	unsigned i, k = 0;

	f[k++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
					      SK_AUDIT_ARCH, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
					      SECCOMP_RET_KILL_PROCESS);
	f[k++] = (struct sock_filter)BPF_STMT(
		BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	for (i = 0; i < N; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(
			BPF_JMP | BPF_JEQ | BPF_K,
			(unsigned)sk_seal_allowed[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
						      SECCOMP_RET_ALLOW);
	}
	f[k++] = (struct sock_filter)BPF_STMT(
		BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
	prog.len = (unsigned short)k;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		fprintf(stderr, "skiff: seal: no_new_privs: %s\n",
			strerror(errno));
		return -1;
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		    SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
		fprintf(stderr, "skiff: seal: seccomp: %s\n", strerror(errno));
		return -1;
	}
	sk_node.sealed = true;
	return 0;
}
