/*
 * The console of a node: stdout and stderr become stdio streams whose bytes
 * go to the host in CONSOLE messages, so an unmodified printf, puts or
 * fwrite(stdout) reaches skrun's terminal. stdin reads the host's stdin, a
 * STDIN_READ at a time: skrun gives its bytes to one rank (0, or the one
 * its --stdin names) and end-of-file to the others, as mpirun does.
 *
 * Both output streams are line-buffered with a buffer of one message, so a
 * line is one message and the host sees each node's lines in the order the
 * node wrote them (one endpoint, completions in order). Before boot, after
 * finalize, or when the host link is down, bytes go to the original file
 * descriptors instead (skrun reads those through pipes), so nothing is lost.
 * A crash flushes what is buffered, best effort, before the signal's default
 * action.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "node.h"

static char sk_out_buf[SK_HMSG_PAYLOAD_MAX];
static char sk_err_buf[SK_HMSG_PAYLOAD_MAX];

static void sk_console_raw(int fd, const char *buf, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, buf, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		size -= (size_t)n;
	}
}

static ssize_t sk_console_write(void *cookie, const char *buf, size_t size)
{
	int stream = (int)(long)cookie;
	size_t off = 0;

	while (off < size) {
		size_t n = size - off;

		if (n > SK_HMSG_PAYLOAD_MAX)
			n = SK_HMSG_PAYLOAD_MAX;
		if (!sk_node_linked() ||
		    sk_node_post(SK_HMSG_CONSOLE, (uint16_t)stream, buf + off,
				 n) != 0) {
			sk_console_raw(stream, buf + off, size - off);
			break;
		}
		off += n;
	}
	return (ssize_t)size;
}

static ssize_t sk_console_read(void *cookie, char *buf, size_t size)
{
	uint32_t max = size > SK_HMSG_PAYLOAD_MAX ? SK_HMSG_PAYLOAD_MAX :
						    (uint32_t)size;
	size_t got = 0;
	int64_t rc;

	if (max == 0)
		return 0;
	if (!sk_node_linked())
		return 0;
	rc = sk_node_call(SK_HMSG_STDIN_READ, 0, &max, sizeof(max), NULL, 0,
			  buf, size, &got);
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return (ssize_t)got;
}

static int sk_console_close(void *cookie)
{
	return 0;
}

void sk_console_flush(void)
{
	fflush(stdout);
	fflush(stderr);
	if (sk_node.booted)
		sk_node_drain();
}

static volatile sig_atomic_t sk_crashing;
static struct sigaction sk_crash_old[NSIG];

static void sk_console_crash(int sig)
{
	/* Best effort: stdio's locks may be held by the code that crashed,
	 * and a second fault goes straight to the previous handler. The
	 * wait for the host's acknowledgements is bounded. */
	if (!sk_crashing) {
		sk_crashing = 1;
		if (sk_node_linked()) {
			fflush(stdout);
			fflush(stderr);
			sk_node_drain_ms(1000);
		}
	}
	/* Then whatever was there before us (a sanitizer's or UCX's report,
	 * or the default action) runs as if we had not been. */
	sigaction(sig, &sk_crash_old[sig], NULL);
	raise(sig);
}

void sk_console_install(void)
{
	cookie_io_functions_t out = {.write = sk_console_write,
				     .close = sk_console_close};
	cookie_io_functions_t in = {.read = sk_console_read,
				    .close = sk_console_close};
	static const int crash[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
	struct sigaction sa;
	FILE *o, *e, *i;
	size_t k;

	fflush(stdout);
	fflush(stderr);
	o = fopencookie((void *)1L, "w", out);
	e = fopencookie((void *)2L, "w", out);
	i = fopencookie((void *)0L, "r", in);
	if (o == NULL || e == NULL || i == NULL) {
		fprintf(stderr, "skiff: cannot make console streams\n");
		return;
	}
	setvbuf(o, sk_out_buf, _IOLBF, sizeof(sk_out_buf));
	setvbuf(e, sk_err_buf, _IOLBF, sizeof(sk_err_buf));
	stdout = o;
	stderr = e;
	stdin = i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sk_console_crash;
	sa.sa_flags = SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (k = 0; k < sizeof(crash) / sizeof(crash[0]); k++)
		sigaction(crash[k], &sa, &sk_crash_old[crash[k]]);
}
