/*
 * The fault injector of test builds (skiff/fault.h). One counter per
 * process, shared by its threads; the environment is read at the first
 * point, and again in a forked child, which counts from 1 on its own.
 */
#ifdef SK_FAULT_INJECT

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <skiff/fault.h>

#define SK_FAULT_LINE 24 /* the count file: "%23lu\n" */

enum { SK_FAULT_UNSET, SK_FAULT_OFF, SK_FAULT_ON };

static pthread_mutex_t sk_fault_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int sk_fault_state;
static _Atomic unsigned long sk_fault_n;
static unsigned long sk_fault_at;
static char *sk_fault_map; /* the count file, mapped; NULL: none */
static unsigned long sk_fault_written; /* the count in it */

static void sk_fault_child(void)
{
	/* A new process: its own count and file. The parent's mapping
	 * stays mapped (unmapping is no business of a fork handler), it
	 * is simply no longer written. */
	pthread_mutex_init(&sk_fault_lock, NULL);
	sk_fault_map = NULL;
	sk_fault_written = 0;
	atomic_store(&sk_fault_n, 0);
	atomic_store(&sk_fault_state, SK_FAULT_UNSET);
}

static void sk_fault_open_count(const char *pfx)
{
	char path[4096];
	int fd;
	void *m;

	if (snprintf(path, sizeof(path), "%s.%s.%d", pfx,
		     program_invocation_short_name, (int)getpid()) >=
	    (int)sizeof(path))
		goto fail;
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	if (ftruncate(fd, SK_FAULT_LINE) != 0) {
		close(fd);
		goto fail;
	}
	m = mmap(NULL, SK_FAULT_LINE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	close(fd);
	if (m == MAP_FAILED)
		goto fail;
	sk_fault_map = m;
	memcpy(sk_fault_map, "                      0\n", SK_FAULT_LINE);
	return;
fail:
	/* A walk that cannot count would walk nothing and pass: stop. */
	fprintf(stderr, "skiff: SKIFF_FAULT_COUNT=%s: cannot keep a count "
			"there: %s\n", pfx, strerror(errno));
	abort();
}

/* SKIFF_FAULT_IF=VAR=VALUE: whether this process has VAR=VALUE. */
static int sk_fault_if(const char *cond)
{
	const char *eq;

	if (cond == NULL || *cond == '\0')
		return 1;
	eq = strchr(cond, '=');
	if (eq == NULL || eq == cond) {
		fprintf(stderr, "skiff: SKIFF_FAULT_IF='%s' is not VAR=VALUE\n",
			cond);
		abort();
	}
	for (char **e = environ; *e; e++)
		if (strncmp(*e, cond, (size_t)(eq - cond) + 1) == 0)
			return strcmp(*e + (eq - cond) + 1, eq + 1) == 0;
	return 0;
}

static void sk_fault_init(void)
{
	static int atfork;
	const char *who = getenv("SKIFF_FAULT_PROC");
	const char *at = getenv("SKIFF_FAULT_AT");
	const char *pfx = getenv("SKIFF_FAULT_COUNT");
	char *end;

	if (!atfork) {
		pthread_atfork(NULL, NULL, sk_fault_child);
		atfork = 1;
	}
	if ((who && *who && strcmp(who, program_invocation_short_name)) ||
	    !sk_fault_if(getenv("SKIFF_FAULT_IF"))) {
		atomic_store(&sk_fault_state, SK_FAULT_OFF);
		return;
	}
	if (at && *at) {
		errno = 0;
		sk_fault_at = strtoul(at, &end, 10);
		if (errno || *end) {
			fprintf(stderr, "skiff: SKIFF_FAULT_AT='%s' is not a "
					"number\n", at);
			abort();
		}
	}
	if (pfx && *pfx)
		sk_fault_open_count(pfx);
	atomic_store(&sk_fault_state, SK_FAULT_ON);
}

int sk_fault_hit(const char *where)
{
	unsigned long n;

	if (atomic_load(&sk_fault_state) == SK_FAULT_UNSET) {
		pthread_mutex_lock(&sk_fault_lock);
		if (atomic_load(&sk_fault_state) == SK_FAULT_UNSET)
			sk_fault_init();
		pthread_mutex_unlock(&sk_fault_lock);
	}
	if (atomic_load(&sk_fault_state) != SK_FAULT_ON)
		return 0;
	n = atomic_fetch_add(&sk_fault_n, 1) + 1;
	if (sk_fault_map) {
		/* The largest count wins, whatever order threads come in. */
		char line[SK_FAULT_LINE + 1];

		pthread_mutex_lock(&sk_fault_lock);
		if (n > sk_fault_written) {
			sk_fault_written = n;
			snprintf(line, sizeof(line), "%23lu\n", n);
			memcpy(sk_fault_map, line, SK_FAULT_LINE);
		}
		pthread_mutex_unlock(&sk_fault_lock);
	}
	if (n != sk_fault_at)
		return 0;
	fprintf(stderr, "skiff: fault %lu injected: %s (%s)\n", n, where,
		program_invocation_short_name);
	return 1;
}

#endif /* SK_FAULT_INJECT */
