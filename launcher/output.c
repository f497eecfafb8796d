/*
 * What the ranks write, on its way to skrun's stdout and stderr: a local
 * node's two pipes, a remote node's streams from its agent's frames
 * (group.c; programs that do not link Skiff, anything before boot or
 * after a crash), and through sk_job_output what Skiff nodes send over
 * the fabric (services.c). With --tag-output lines are held until whole
 * and tagged; --merge-stderr-to-stdout sends both streams to stdout;
 * --output-filename writes each rank's streams to files as well.
 *
 * At the start of a remote rank's stdout may come a line of its agent
 * (agent.c), which is not the rank's output: it is taken off here,
 * and what they said is kept for jobctl.c, which explains the rank's
 * exit with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "skrun.h"

struct sk_launch *sk_launch;

/* ---- output ---- */

void sk_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};

			poll(&pfd, 1, -1);
			continue;
		}
		if (n <= 0)
			return; /* our stdout is gone; nothing to do */
		buf += n;
		len -= (size_t)n;
	}
}

static void sk_outbuf_append(struct sk_outbuf *o, const char *buf,
			     size_t len)
{
	if (o->len + len > o->cap) {
		size_t ncap = o->cap ? o->cap : 256;
		char *nb;

		while (ncap < o->len + len)
			ncap *= 2;
		nb = realloc(o->buf, ncap);
		if (nb == NULL)
			return;
		o->buf = nb;
		o->cap = ncap;
	}
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
}

/* Output of node @n to where it goes: its --output-filename file, and
 * the terminal unless :nocopy. */
static void sk_emit(struct sk_job *job, struct sk_hnode *n, int stream,
		    const char *buf, size_t len)
{
	int f = sk_launch ? sk_launch[n->rank].outfile[stream - 1] : -1;

	if (f >= 0)
		sk_write_all(f, buf, len);
	if (!job->opts.output_nocopy)
		sk_write_all(stream == 1 ? STDOUT_FILENO : STDERR_FILENO, buf,
			     len);
}

/* A line's prefix, as Open MPI 4.1 writes it: the time it came
 * (--timestamp-output, ctime's form), the job and rank (--tag-output),
 * then the stream. */
static void sk_tagged_line(struct sk_job *job, struct sk_hnode *n,
			   int stream, const char *line, size_t len)
{
	char tag[128];
	size_t tl = 0;

	if (job->opts.timestamp_output) {
		time_t now = time(NULL);
		struct tm tm;

		if (localtime_r(&now, &tm) != NULL)
			tl = strftime(tag, sizeof(tag), "%a %b %e %H:%M:%S %Y",
				      &tm);
	}
	if (job->opts.tag_output)
		tl += (size_t)snprintf(tag + tl, sizeof(tag) - tl, "[%llu,%u]",
				       (unsigned long long)job->id, n->rank);
	tl += (size_t)snprintf(tag + tl, sizeof(tag) - tl, "<%s>:",
			       stream == 1 ? "stdout" : "stderr");

	/* Tagged in the files too, as Open MPI 4.1 does. */
	sk_emit(job, n, stream, tag, tl);
	sk_emit(job, n, stream, line, len);
}

/* Write what node @n put on @stream (1 stdout, 2 stderr). Lines of one
 * node stay whole and in order; with --tag-output or --timestamp-output
 * each gets its prefix. */
void sk_output_write(struct sk_job *job, struct sk_hnode *n, int stream,
		     const char *buf, size_t len)
{
	struct sk_outbuf *o;
	const char *nl;

	/* Over the fabric a Skiff node's two streams arrive apart: merge
	 * them here, in the order they came. */
	if (job->opts.merge_stderr)
		stream = 1;
	o = &n->out[stream - 1];
	if (!job->opts.tag_output && !job->opts.timestamp_output) {
		sk_emit(job, n, stream, buf, len);
		return;
	}
	while (len > 0 && (nl = memchr(buf, '\n', len)) != NULL) {
		size_t l = (size_t)(nl - buf) + 1;

		if (o->len) {
			sk_outbuf_append(o, buf, l);
			sk_tagged_line(job, n, stream, o->buf, o->len);
			o->len = 0;
		} else {
			sk_tagged_line(job, n, stream, buf, l);
		}
		buf += l;
		len -= l;
	}
	if (len)
		sk_outbuf_append(o, buf, len);
}

void sk_output_flush(struct sk_job *job, struct sk_hnode *n)
{
	int s;

	for (s = 1; s <= 2; s++) {
		struct sk_outbuf *o = &n->out[s - 1];

		if (o->len) {
			sk_outbuf_append(o, "\n", 1);
			sk_tagged_line(job, n, s, o->buf, o->len);
			o->len = 0;
		}
		free(o->buf);
		o->buf = NULL;
		o->cap = 0;
	}
}

/* ---- the pipes ---- */

void sk_pipe_close(struct sk_job *job, struct sk_hnode *n, int s)
{
	struct sk_watch *w = &n->pipe[s].w;

	if (w->fd < 0)
		return;
	sk_watch_stop(job->loop, w);
	close(w->fd);
	w->fd = -1;
	job->open_pipes--;
}

/* Whether the @n bytes held could still become one of the agent's lines. */
static bool sk_agent_prefix(const char *h, size_t n)
{
	static const char word[] = "\001skrun-agent";
	size_t wl = sizeof(word) - 1;

	if (memcmp(h, word, n < wl ? n : wl) != 0)
		return false;
	for (size_t i = wl; i < n; i++)
		if (!strchr(" -0123456789abcdefghijklmnopqrstuvwxyz\n", h[i]))
			return false;
	return true;
}

/* A whole line from the agent (with its newline): a failure to start the
 * rank, or something else, which is output after all. */
static void sk_agent_line(struct sk_hnode *n, struct sk_launch *l)
{
	char kind[16];
	int e, we;

	l->hdr[l->hdr_len - 1] = '\0';
	if (sscanf(l->hdr, "\001skrun-agent fail %15s %d %d", kind, &e, &we) ==
		    3 &&
	    (strcmp(kind, "exec") == 0 || strcmp(kind, "chdir") == 0)) {
		l->fail = kind[0] == 'e' ? SK_AGENT_EXEC : SK_AGENT_CHDIR;
		l->fail_errno = e;
		l->fail_wdir_errno = we;
		return;
	}
	l->hdr[l->hdr_len - 1] = '\n';
	sk_output_write(n->job, n, 1, l->hdr, l->hdr_len);
	l->hdr_done = true;
}

/*
 * The start of a remote rank's stdout: the agent's lines, which are not
 * the rank's output. Only bytes that begin with the marker's first byte
 * are held back; anything else ends the agent's part at once. Returns how
 * many bytes of @buf it took.
 */
static size_t sk_agent_eat(struct sk_hnode *n, const char *buf, size_t len)
{
	struct sk_launch *l = &sk_launch[n->rank];
	size_t i = 0;

	while (i < len && !l->hdr_done) {
		if (l->hdr_len == 0 && buf[i] != SK_AGENT_MARKER[0]) {
			l->hdr_done = true;
			break;
		}
		l->hdr[l->hdr_len++] = buf[i++];
		if (l->hdr[l->hdr_len - 1] == '\n') {
			sk_agent_line(n, l);
			l->hdr_len = 0;
		} else if (!sk_agent_prefix(l->hdr, l->hdr_len) ||
			   l->hdr_len == sizeof(l->hdr)) {
			/* Not the agent's after all: the rank's output. */
			sk_output_write(n->job, n, 1, l->hdr, l->hdr_len);
			l->hdr_len = 0;
			l->hdr_done = true;
		}
	}
	return i;
}

void sk_output_agent(struct sk_hnode *n, int stream, const char *buf,
		     size_t len)
{
	size_t used = 0;

	if (stream == 1 && !sk_launch[n->rank].hdr_done)
		used = sk_agent_eat(n, buf, len);
	if (used < len)
		sk_output_write(n->job, n, stream, buf + used, len - used);
}

void sk_output_agent_end(struct sk_hnode *n)
{
	struct sk_launch *l = &sk_launch[n->rank];

	if (l->hdr_len) { /* a cut line is output */
		sk_output_write(n->job, n, 1, l->hdr, l->hdr_len);
		l->hdr_len = 0;
	}
}

/* Read what a node's pipe holds now. Returns false at its end. */
static bool sk_pipe_read(struct sk_pipe *p)
{
	struct sk_hnode *n = p->node;
	char buf[65536];
	ssize_t r;

	r = read(p->w.fd, buf, sizeof(buf));
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return errno == EINTR;
	if (r <= 0) {
		sk_pipe_close(n->job, n, p->stream - 1);
		return false;
	}
	sk_output_write(n->job, n, p->stream, buf, (size_t)r);
	return true;
}

void sk_pipe_readable(struct sk_watch *w, unsigned revents)
{
	sk_pipe_read((struct sk_pipe *)w);
}

/* ---- --output-filename ---- */

/* mkdir -p @path (mode 0750, as Open MPI makes them). */
static int sk_mkdirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0750) != 0 && errno != EEXIST) {
			*p = c;
			return -1;
		}
		*p = c;
		if (c == '\0')
			return 0;
	}
}

/*
 * --output-filename DIR: DIR/1/rank.N/stdout and .../stderr per rank,
 * as Open MPI 4.1's mpirun writes them (1 is the job, the only one skrun
 * runs; N has as many digits as the job's size, zero-filled, so that they
 * sort). A relative DIR is skrun's directory's. With
 * --merge-stderr-to-stdout only stdout is made.
 */
int sk_outputs_open(const struct sk_job *job)
{
	const char *dir = job->opts.output_dir;
	unsigned digits = 1, r;
	char path[PATH_MAX];

	if (dir == NULL)
		return 0;
	for (unsigned v = job->size; v >= 10; v /= 10)
		digits++;
	for (r = 0; r < job->size; r++) {
		int len = snprintf(path, sizeof(path), "%s/1/rank.%0*u", dir,
				   (int)digits, r);

		if (len < 0 || (size_t)len + sizeof("/stderr") > sizeof(path)) {
			fprintf(stderr, "skrun: --output-filename '%s': path "
					"too long\n", dir);
			return SK_EXIT_USAGE;
		}
		if (sk_mkdirs(path) != 0)
			goto fail;
		for (int s = 0; s < (job->opts.merge_stderr ? 1 : 2); s++) {
			snprintf(path + len, sizeof(path) - (size_t)len, "/%s",
				 s ? "stderr" : "stdout");
			sk_launch[r].outfile[s] =
				open(path, O_WRONLY | O_CREAT | O_TRUNC |
						   O_CLOEXEC | O_APPEND, 0644);
			if (sk_launch[r].outfile[s] < 0)
				goto fail;
			path[len] = '\0';
		}
	}
	return 0;
fail:
	fprintf(stderr, "skrun: --output-filename: cannot create '%s': %s\n",
		path, strerror(errno));
	return SK_EXIT_USAGE;
}
