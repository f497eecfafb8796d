// SPDX-License-Identifier: MIT
/*
 * tests/kv/memcached_diff.c - kv's memcached semantics against a real
 * memcached, byte for byte.
 *
 *   memcached_diff PORT CASEFILE
 *
 * CASEFILE (tests/kv/memcached-cases.txt) holds the cases, each written
 * from memcached's doc/protocol.txt with the replies the doc promises. Each
 * case runs on an empty table (flush_all; a fresh model), as blocks of
 * request lines and expected reply lines. A block's bytes, followed by the
 * no-op "mn", go to the memcached on 127.0.0.1:PORT and to the reference
 * model (sem_model.c, which runs on kv/sem.c); each reply, up to the "MN",
 * must equal the expected lines exactly. So memcached is the oracle: a
 * case that memcached 1.6 answers differently from the file fails, and so
 * does one the model answers differently. A block without variables or
 * divergences is also compared directly, memcached's bytes to the model's.
 *
 * Case file syntax, one item a line:
 *   # ...          comment          = NAME       a new case
 *   > TEXT         a request line, sent as TEXT "\r\n"
 *   < TEXT         a reply line expected from both
 *   ! TEXT         a reply line from memcached only  } a divergence kv
 *   ~ TEXT         a reply line from the model only  } makes on purpose
 *   sleep MS       wait (time-dependent cases)
 * TEXT escapes: \r \n \t \0 \\ \xHH; {c*N} is N copies of byte c; {now+N}
 * and {now-N} the Unix time plus/minus N. $NAME in a reply line matches a
 * decimal number (a cas unique) and binds it, per side; in a request line
 * it is replaced by that side's value. Distinct names bind distinct values.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sem_model.h"
#include "../lib/hex.h"

#define MAX_VARS 16

struct vars {
	int n;
	char name[MAX_VARS][16];
	char val[MAX_VARS][24];
};

struct block {
	struct skm_buf req;	 /* unescaped, variables still as $NAME */
	struct skm_buf want[2]; /* 0: memcached, 1: model */
	bool diverges, has_vars;
};

static int sock = -1;
static int n_cases, n_blocks, n_direct, n_diverging, n_fail;
static const char *case_name = "?";
static int case_line;

__attribute__((format(printf, 1, 2), noreturn)) static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "memcached_diff: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static void put(struct skm_buf *b, const void *p, size_t n)
{
	if (skm_buf_put(b, p, n))
		die("%s", "out of memory");
}

/* TEXT of a case line into bytes; $NAME is kept as written. */
static void unescape(const char *s, struct skm_buf *b)
{
	while (*s) {
		if (*s == '\\') {
			char c = s[1];
			int h, l;

			switch (c) {
			case 'r': put(b, "\r", 1); break;
			case 'n': put(b, "\n", 1); break;
			case 't': put(b, "\t", 1); break;
			case '0': put(b, "", 1); break;
			case '\\': put(b, "\\", 1); break;
			case 'x':
				h = sk_test_hexval(s[2]);
				l = h < 0 ? -1 : sk_test_hexval(s[3]);
				if (l < 0)
					die("bad \\x escape in %s", s);
				c = (char)(h * 16 + l);
				put(b, &c, 1);
				s += 2;
				break;
			default:
				die("bad escape in %s", s);
			}
			s += 2;
		} else if (*s == '{') {
			const char *e = strchr(s, '}');
			char tmp[32];
			long n;

			if (!e)
				die("unclosed { in %s", s);
			if (!strncmp(s, "{now", 4)) {
				n = strtol(s + 4, NULL, 10);
				snprintf(tmp, sizeof(tmp), "%lld",
					 (long long)time(NULL) + n);
				put(b, tmp, strlen(tmp));
			} else if (s[2] == '*') {
				n = strtol(s + 3, NULL, 10);
				if (n < 0 || n > (2 << 20))
					die("bad repeat in %s", s);
				while (n--)
					put(b, s + 1, 1);
			} else {
				die("bad {} in %s", s);
			}
			s = e + 1;
		} else {
			put(b, s, 1);
			s++;
		}
	}
}

static bool var_start(const char *p, const char *end)
{
	return p + 1 < end && p[0] == '$' && p[1] >= 'A' && p[1] <= 'Z';
}

static size_t var_name(const char *p, const char *end, char name[16])
{
	size_t n = 1;

	while (p + n < end && n < 15 &&
	       ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))
		n++;
	memcpy(name, p + 1, n - 1);
	name[n - 1] = '\0';
	return n;
}

static int var_find(struct vars *v, const char *name)
{
	int i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->name[i], name))
			return i;
	return -1;
}

/* The request with this side's variables put in. */
static void subst(const struct skm_buf *req, struct vars *v,
		  struct skm_buf *out)
{
	const char *p = req->p, *end = req->p + req->len;

	while (p < end) {
		char name[16];
		int i;

		if (!var_start(p, end)) {
			put(out, p++, 1);
			continue;
		}
		p += var_name(p, end, name);
		i = var_find(v, name);
		if (i < 0)
			die("request uses unbound $%s", name);
		put(out, v->val[i], strlen(v->val[i]));
	}
}

/* Does got match want, binding variables? */
static bool match(const struct skm_buf *want, const char *got, size_t glen,
		  struct vars *v)
{
	const char *p = want->p, *end = want->p + want->len;
	size_t g = 0;

	while (p < end) {
		char name[16], val[24];
		size_t n = 0;
		int i, j;

		if (!var_start(p, end)) {
			if (g >= glen || got[g] != *p)
				return false;
			g++;
			p++;
			continue;
		}
		p += var_name(p, end, name);
		while (g < glen && got[g] >= '0' && got[g] <= '9' && n < 23)
			val[n++] = got[g++];
		if (n == 0)
			return false;
		val[n] = '\0';
		i = var_find(v, name);
		if (i >= 0) {
			if (strcmp(v->val[i], val))
				return false;
			continue;
		}
		for (j = 0; j < v->n; j++)
			if (!strcmp(v->val[j], val))
				return false; /* another name, same value */
		if (v->n == MAX_VARS)
			die("%s", "too many variables");
		snprintf(v->name[v->n], sizeof(v->name[0]), "%s", name);
		snprintf(v->val[v->n], sizeof(v->val[0]), "%s", val);
		v->n++;
	}
	return g == glen;
}

static void show(const char *what, const char *p, size_t n)
{
	size_t i;

	fprintf(stderr, "    %s (%zu bytes): ", what, n);
	for (i = 0; i < n && i < 400; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			fputs("\\r", stderr);
		else if (c == '\n')
			fputs("\\n", stderr);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fprintf(stderr, "%s\n", i < n ? "..." : "");
}

static void send_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(sock, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("send to memcached: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/* memcached's replies up to and including the "MN\r\n" line. */
static void recv_until_mn(struct skm_buf *b)
{
	char buf[65536];

	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		ssize_t r;

		if (b->len >= 4 && !memcmp(b->p + b->len - 4, "MN\r\n", 4) &&
		    (b->len == 4 || !memcmp(b->p + b->len - 6, "\r\n", 2)))
			return;
		if (poll(&pfd, 1, 10000) != 1) {
			show("memcached said so far", b->p, b->len);
			die("%s", "no MN from memcached within 10 s");
		}
		r = recv(sock, buf, sizeof(buf), 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("%s", "memcached closed the connection");
		put(b, buf, (size_t)r);
	}
}

static uint64_t wall_now(void *arg)
{
	return (uint64_t)time(NULL);
}

struct run {
	struct skm *m;
	struct vars v[2];
	bool failed;
};

static void run_block(struct run *r, struct block *bl)
{
	struct skm_buf req[2] = { 0 }, got[2] = { 0 };
	static const char *side[2] = { "memcached", "kv model" };
	int s;
	long used;

	n_blocks++;
	for (s = 0; s < 2; s++) {
		subst(&bl->req, &r->v[s], &req[s]);
		put(&req[s], "mn\r\n", 4);
	}
	send_all(req[0].p, req[0].len);
	recv_until_mn(&got[0]);
	used = skm_exec(r->m, req[1].p, req[1].len, &got[1]);
	if (used < 0)
		die("%s", "model out of memory");
	if ((size_t)used != req[1].len)
		die("model left an incomplete command in case %s", case_name);
	for (s = 0; s < 2; s++) {
		put(&bl->want[s], "MN\r\n", 4);
		if (match(&bl->want[s], got[s].p, got[s].len, &r->v[s]))
			continue;
		fprintf(stderr, "FAIL %s (block ending line %d): %s differs\n",
			case_name, case_line, side[s]);
		show("sent", req[s].p, req[s].len);
		show("expected", bl->want[s].p, bl->want[s].len);
		show("got", got[s].p, got[s].len);
		r->failed = true;
	}
	if (bl->diverges) {
		n_diverging++;
	} else if (!bl->has_vars) {
		n_direct++;
		if (got[0].len != got[1].len ||
		    memcmp(got[0].p, got[1].p, got[0].len)) {
			fprintf(stderr, "FAIL %s: memcached and model differ\n",
				case_name);
			r->failed = true;
		}
	}
	for (s = 0; s < 2; s++) {
		skm_buf_free(&req[s]);
		skm_buf_free(&got[s]);
	}
}

static void block_reset(struct block *bl)
{
	skm_buf_free(&bl->req);
	skm_buf_free(&bl->want[0]);
	skm_buf_free(&bl->want[1]);
	bl->diverges = bl->has_vars = false;
}

static bool block_empty(const struct block *bl)
{
	return !bl->req.len && !bl->want[0].len && !bl->want[1].len;
}

static void case_end(struct run *r)
{
	if (!r->m)
		return;
	n_cases++;
	if (r->failed)
		n_fail++;
	else
		printf("ok   %s\n", case_name);
	skm_free(r->m);
	r->m = NULL;
}

static void case_start(struct run *r, const char *name)
{
	struct skm_buf got = { 0 };
	static char namebuf[256];

	case_end(r);
	snprintf(namebuf, sizeof(namebuf), "%s", name);
	case_name = namebuf;
	memset(r, 0, sizeof(*r));
	r->m = skm_new(wall_now, NULL);
	if (!r->m)
		die("%s", "out of memory");
	/* flush_all also fences by CAS, so it empties memcached exactly */
	send_all("flush_all\r\nmn\r\n", 15);
	recv_until_mn(&got);
	if (got.len != 8 || memcmp(got.p, "OK\r\nMN\r\n", 8))
		die("flush_all before case %s failed", name);
	skm_buf_free(&got);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct block bl = { 0 };
	struct run r = { 0 };
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool in_want = false;
	FILE *f;
	int lineno = 0;

	if (argc != 3)
		die("%s", "usage: memcached_diff PORT CASEFILE");
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sock = socket(AF_INET, SOCK_STREAM, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)))
		die("cannot connect to memcached on port %s", argv[1]);
	f = fopen(argv[2], "r");
	if (!f)
		die("cannot open %s", argv[2]);

	while ((n = getline(&line, &cap, f)) >= 0) {
		char *t;

		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		/* ">" or "<" alone: an empty line */
		t = n >= 2 ? line + 2 : line + n;
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '=' || line[0] == '>' || !strncmp(line, "sleep", 5)) {
			/* a request after replies starts the next block */
			if (in_want || line[0] != '>') {
				if (!block_empty(&bl)) {
					case_line = lineno - 1;
					run_block(&r, &bl);
				}
				block_reset(&bl);
				in_want = false;
			}
		}
		if (line[0] == '=') {
			case_start(&r, line + 2);
		} else if (!strncmp(line, "sleep ", 6)) {
			struct timespec ts;
			long ms = atol(line + 6);

			ts.tv_sec = ms / 1000;
			ts.tv_nsec = (ms % 1000) * 1000000;
			nanosleep(&ts, NULL);
		} else if (!r.m) {
			die("line outside a case: %s", line);
		} else if (line[0] == '>' && (n == 1 || line[1] == ' ')) {
			unescape(t, &bl.req);
			put(&bl.req, "\r\n", 2);
			if (strchr(t, '$'))
				bl.has_vars = true;
		} else if (strchr("<!~", line[0]) && (n == 1 || line[1] == ' ')) {
			in_want = true;
			if (line[0] != '~') {
				unescape(t, &bl.want[0]);
				put(&bl.want[0], "\r\n", 2);
			}
			if (line[0] != '!') {
				unescape(t, &bl.want[1]);
				put(&bl.want[1], "\r\n", 2);
			}
			if (line[0] != '<')
				bl.diverges = true;
			if (strchr(t, '$'))
				bl.has_vars = true;
		} else {
			die("bad case line: %s", line);
		}
	}
	if (!block_empty(&bl)) {
		case_line = lineno;
		run_block(&r, &bl);
	}
	block_reset(&bl);
	case_end(&r);
	free(line);
	fclose(f);
	close(sock);
	printf("memcached_diff: %d cases, %d exchanges (%d compared directly "
	       "memcached == model, %d with a documented divergence): "
	       "%d cases failed\n",
	       n_cases, n_blocks, n_direct, n_diverging, n_fail);
	return n_fail || n_cases == 0 ? 1 : 0;
}
