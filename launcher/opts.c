/*
 * skrun's command line, --host lists and hostfiles (opts.h). The options
 * and both host syntaxes follow Open MPI's mpirun, so that a command line
 * or hostfile written for one works with the other, within the subset
 * Skiff supports: anything outside it is refused with a message rather
 * than ignored, because a silently dropped "max_slots" or "-npernode"
 * places a job differently than its author meant.
 *
 * All of this is bytes from outside (a user, a script, a file), so every
 * number is parsed by hand (decimal digits, range-checked before it can
 * overflow), every host name is checked before it is kept, and every
 * quoted piece of input is made printable and cut short in the one-line
 * messages. Nothing here keeps state between calls; getopt does, which is
 * why it is not used.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "opts.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Longest hostfile line, not counting its end of line. */
#define HOSTFILE_LINE_MAX 1024
/* Largest hostfile sk_hostfile_load reads. */
#define HOSTFILE_SIZE_MAX (1u << 20)
/* Longest host name (RFC 1035), and label within it. */
#define HOST_NAME_MAX_LEN 253
#define HOST_LABEL_MAX	  63
/* Longest --timeout: 1e9 s in nanoseconds still fits an int64_t. */
#define TIMEOUT_MAX_S 1e9
/* Bytes of a user's string quoted in a message before it is cut. */
#define SHOW_MAX 48

/*
 * Character classes in ASCII, not <ctype.h>'s: those follow the locale,
 * and what makes a host or variable name must not.
 */
static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool is_xdigit(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_print(char c)
{
	return c >= 0x20 && c < 0x7f;
}

__attribute__((format(printf, 3, 4))) static int
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/*
 * Copy @n bytes of @s into @buf for quoting in a message: non-printable
 * bytes become '?', so that a message stays one line whatever a file
 * holds, and a long string is cut with "...".
 */
static const char *show(char *buf, size_t size, const char *s, size_t n)
{
	size_t i, max = size - 1;

	if (n > max)
		max -= 3;
	for (i = 0; i < n && i < max; i++)
		buf[i] = is_print(s[i]) ? s[i] : '?';
	if (i < n) {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

#define SHOW(buf, s, n) show(buf, sizeof(buf), s, n)

enum num_result { NUM_OK = 0, NUM_BAD, NUM_RANGE };

/*
 * A decimal number of @n bytes in [@min, @max]. Digits only: strtoul
 * would also take blanks, a sign (and wrap "-1" to ULONG_MAX) and, with
 * base 0, octal. Accumulation stops growing past @max, so no length of
 * digits overflows.
 */
static enum num_result parse_uint(const char *s, size_t n, unsigned min,
				  unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (n == 0)
		return NUM_BAD;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return NUM_BAD;
		if (v <= max)
			v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < min || v > max)
		return NUM_RANGE;
	*out = (unsigned)v;
	return NUM_OK;
}

/* One label of a DNS name: letters, digits, '-' inside (RFC 1123). */
static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || n > HOST_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/*
 * A host name as a resolver takes it: dot-separated labels (which covers
 * IPv4 addresses), or an IPv6 address when it has a ':'. Checked here so
 * that a typo fails at the command line, not as an ssh or DNS error from
 * some remote step, and so that nothing odd (a leading '-', a quote, a
 * '@') ever reaches a command line built from it.
 */
static bool host_name_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > HOST_NAME_MAX_LEN)
		return false;
	if (memchr(s, ':', n)) {
		char buf[HOST_NAME_MAX_LEN + 1];
		unsigned char addr[16];

		/* inet_pton alone would take any byte it stops at. */
		for (size_t i = 0; i < n; i++)
			if (!is_xdigit(s[i]) && s[i] != ':' && s[i] != '.')
				return false;
		memcpy(buf, s, n);
		buf[n] = '\0';
		return inet_pton(AF_INET6, buf, addr) == 1;
	}
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!label_ok(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/* ---- appending to a host list, all or nothing ---- */

/*
 * New hosts are staged on a copy of the list's array (names shared with
 * the list for its own entries, owned for the new ones) and the copy
 * replaces the array only once the whole input parsed. So a bad line 900
 * leaves the list exactly as it was, and an allocation failure halfway
 * too.
 */
struct stage {
	struct sk_host *h;
	size_t count, cap;
	size_t base; /* h[0..base) are the list's; their names are borrowed */
};

static int stage_begin(struct stage *st, const struct sk_host_list *list,
		       const char *what, char *err, size_t errlen)
{
	st->base = st->count = list->count;
	st->cap = list->count + 8;
	st->h = malloc(st->cap * sizeof(*st->h));
	if (st->h == NULL)
		return set_err(err, errlen, "%s: out of memory", what);
	if (list->count)
		memcpy(st->h, list->hosts, list->count * sizeof(*st->h));
	return 0;
}

static void stage_abort(struct stage *st)
{
	for (size_t i = st->base; i < st->count; i++)
		free(st->h[i].name);
	free(st->h);
	st->h = NULL;
}

static void stage_commit(struct stage *st, struct sk_host_list *list)
{
	free(list->hosts);
	list->hosts = st->h;
	list->count = st->count;
	st->h = NULL;
}

/* Slots of a list entry; 0 is "not given", which means 1 (opts.h). */
static unsigned host_slots(const struct sk_host *h)
{
	return h->slots ? h->slots : 1;
}

/*
 * Add @slots on host @name (@n bytes, already checked). A host named
 * again gets the slots added to its entry, as Open MPI does for both
 * "--host a,a" and a hostfile listing a host twice: the job then sees
 * one host with the sum, not two hosts that happen to be the same
 * machine. @where prefixes messages ("--host", "hostfile line 3").
 */
static int stage_add(struct stage *st, const char *name, size_t n,
		     unsigned slots, const char *where, char *err,
		     size_t errlen)
{
	char q[SHOW_MAX];

	for (size_t i = 0; i < st->count; i++) {
		struct sk_host *h = &st->h[i];
		unsigned have = host_slots(h);

		if (strncmp(h->name, name, n) != 0 || h->name[n] != '\0')
			continue;
		if (slots > SK_OPTS_MAX_SLOTS - have)
			return set_err(err, errlen,
				       "%s: host '%s' has more than %u slots "
				       "in all",
				       where, SHOW(q, name, n),
				       SK_OPTS_MAX_SLOTS);
		h->slots = have + slots;
		return 0;
	}
	if (st->count >= SK_OPTS_MAX_NODES)
		return set_err(err, errlen, "%s: more than %u hosts", where,
			       SK_OPTS_MAX_NODES);
	if (st->count == st->cap) {
		size_t cap = st->cap * 2;
		struct sk_host *h = realloc(st->h, cap * sizeof(*h));

		if (h == NULL)
			return set_err(err, errlen, "%s: out of memory", where);
		st->h = h;
		st->cap = cap;
	}
	st->h[st->count].name = strndup(name, n);
	if (st->h[st->count].name == NULL)
		return set_err(err, errlen, "%s: out of memory", where);
	st->h[st->count].slots = slots;
	st->count++;
	return 0;
}

void sk_host_list_cleanup(struct sk_host_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		free(list->hosts[i].name);
	free(list->hosts);
	list->hosts = NULL;
	list->count = 0;
}

/* ---- --host ---- */

/*
 * One --host entry: "name", "name:N", or for an IPv6 address, whose
 * colons would be ambiguous, "addr" (1 slot) or "[addr]:N".
 */
static int host_entry(struct stage *st, const char *s, size_t n, char *err,
		      size_t errlen)
{
	const char *name = s, *count = NULL, *colon;
	size_t name_len = n, count_len = 0;
	unsigned slots = 1;
	char q[SHOW_MAX], q2[SHOW_MAX];

	if (n == 0)
		return set_err(err, errlen, "--host: empty host name");
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			return set_err(err, errlen, "--host: '%s' has no ']'",
				       SHOW(q, s, n));
		name = s + 1;
		name_len = (size_t)(close - name);
		if (close + 1 < s + n) {
			if (close[1] != ':')
				return set_err(err, errlen,
					       "--host: '%s': expected ':' "
					       "after ']'",
					       SHOW(q, s, n));
			count = close + 2;
			count_len = (size_t)(s + n - count);
		}
		/* Brackets are for addresses with colons only. */
		if (!memchr(name, ':', name_len))
			return set_err(err, errlen,
				       "--host: '%s' is not a valid host name",
				       SHOW(q, s, n));
	} else {
		colon = memchr(s, ':', n);
		/* One colon splits off a count; more make an address. */
		if (colon &&
		    !memchr(colon + 1, ':', (size_t)(s + n - colon - 1))) {
			name_len = (size_t)(colon - s);
			count = colon + 1;
			count_len = (size_t)(s + n - count);
		}
	}
	if (!host_name_ok(name, name_len))
		return set_err(err, errlen,
			       "--host: '%s' is not a valid host name",
			       SHOW(q, name, name_len));
	if (count) {
		switch (parse_uint(count, count_len, 1, SK_OPTS_MAX_SLOTS,
				   &slots)) {
		case NUM_OK:
			break;
		case NUM_BAD:
			return set_err(err, errlen,
				       "--host: '%s': '%s' is not a slot count",
				       SHOW(q, s, n),
				       SHOW(q2, count, count_len));
		case NUM_RANGE:
			return set_err(err, errlen,
				       "--host: '%s': slot count '%s' is out "
				       "of range (1 to %u)",
				       SHOW(q, s, n),
				       SHOW(q2, count, count_len),
				       SK_OPTS_MAX_SLOTS);
		}
	}
	return stage_add(st, name, name_len, slots, "--host", err, errlen);
}

int sk_hosts_parse(const char *arg, struct sk_host_list *list, char *err,
		   size_t errlen)
{
	struct stage st;
	const char *p = arg, *end;

	if (arg == NULL || arg[0] == '\0')
		return set_err(err, errlen, "--host: empty host list");
	if (stage_begin(&st, list, "--host", err, errlen))
		return -1;
	for (;;) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if (host_entry(&st, p, (size_t)(end - p), err, errlen)) {
			stage_abort(&st);
			return -1;
		}
		if (*end == '\0')
			break;
		p = end + 1;
	}
	stage_commit(&st, list);
	return 0;
}

/* ---- hostfiles ---- */

/* Keywords after the host, with Open MPI's spellings of each. */
enum hf_key { HF_SLOTS, HF_MAX_SLOTS };

static const struct {
	const char *word;
	enum hf_key key;
} hf_keys[] = {
	/* clang-format off */
	{"slots", HF_SLOTS}, {"count", HF_SLOTS}, {"cpu", HF_SLOTS},
	{"max_slots", HF_MAX_SLOTS}, {"max-slots", HF_MAX_SLOTS},
	{"slots_max", HF_MAX_SLOTS}, {"slots-max", HF_MAX_SLOTS},
	{"max_cpu", HF_MAX_SLOTS},   {"max-cpu", HF_MAX_SLOTS},
	{"cpu_max", HF_MAX_SLOTS},   {"cpu-max", HF_MAX_SLOTS},
	{"max_count", HF_MAX_SLOTS}, {"max-count", HF_MAX_SLOTS},
	{"count_max", HF_MAX_SLOTS}, {"count-max", HF_MAX_SLOTS},
	/* clang-format on */
};

static bool hf_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* A word of a hostfile line: up to a blank, '=' or the end. */
static size_t hf_word(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !hf_space(s[i]) && s[i] != '=')
		i++;
	return i;
}

static size_t hf_skip_space(const char *s, size_t n, size_t i)
{
	while (i < n && hf_space(s[i]))
		i++;
	return i;
}

/*
 * One line, without its '\n' and with any comment cut off. Open MPI's
 * lexer allows blanks around '=', so "slots = 4" is taken too.
 */
static int hf_line(struct stage *st, const char *s, size_t n, const char *where,
		   size_t *nhosts, char *err, size_t errlen)
{
	unsigned val[2] = {1, 0};
	bool seen[2] = {false, false};
	const char *name;
	size_t name_len, i;
	char q[SHOW_MAX], q2[SHOW_MAX];

	i = hf_skip_space(s, n, 0);
	if (i == n)
		return 0; /* blank */
	name = s + i;
	name_len = hf_word(name, n - i);
	i = hf_skip_space(s, n, i + name_len);
	if (i < n && s[i] == '=')
		return set_err(err, errlen,
			       "%s: expected a host name first, not '%s='",
			       where, SHOW(q, name, name_len));
	if (!host_name_ok(name, name_len))
		return set_err(err, errlen, "%s: '%s' is not a valid host name",
			       where, SHOW(q, name, name_len));

	while (i < n) {
		const char *key = s + i, *v;
		size_t key_len = hf_word(key, n - i), v_len, k;
		unsigned num = 0;

		if (key_len == 0)
			return set_err(err, errlen, "%s: stray '='", where);
		for (k = 0; k < ARRAY_SIZE(hf_keys); k++)
			if (strlen(hf_keys[k].word) == key_len &&
			    memcmp(hf_keys[k].word, key, key_len) == 0)
				break;
		if (k == ARRAY_SIZE(hf_keys))
			return set_err(err, errlen,
				       "%s: unknown keyword '%s' (slots=N or "
				       "max_slots=N)",
				       where, SHOW(q, key, key_len));
		i = hf_skip_space(s, n, i + key_len);
		if (i == n || s[i] != '=')
			return set_err(err, errlen, "%s: '%s' needs '=N'",
				       where, SHOW(q, key, key_len));
		i = hf_skip_space(s, n, i + 1);
		v = s + i;
		v_len = hf_word(v, n - i);
		i = hf_skip_space(s, n, i + v_len);

		switch (parse_uint(v, v_len, 1, SK_OPTS_MAX_SLOTS, &num)) {
		case NUM_OK:
			break;
		case NUM_BAD:
			return set_err(err, errlen,
				       "%s: '%s=%s' is not a slot count", where,
				       SHOW(q, key, key_len),
				       SHOW(q2, v, v_len));
		case NUM_RANGE:
			return set_err(err, errlen,
				       "%s: '%s=%s' is out of range (1 to %u)",
				       where, SHOW(q, key, key_len),
				       SHOW(q2, v, v_len), SK_OPTS_MAX_SLOTS);
		}
		/* Open MPI adds up a repeated slots=; say so instead. */
		if (seen[hf_keys[k].key])
			return set_err(err, errlen, "%s: '%s' given twice",
				       where, SHOW(q, key, key_len));
		seen[hf_keys[k].key] = true;
		val[hf_keys[k].key] = num;
	}
	/*
	 * max_slots is checked as Open MPI does, but a struct sk_host has no
	 * place for it: Skiff's limit on a host is --oversubscribe or not.
	 */
	if (seen[HF_MAX_SLOTS] && val[HF_MAX_SLOTS] < val[HF_SLOTS])
		return set_err(err, errlen,
			       "%s: max_slots=%u is less than slots=%u", where,
			       val[HF_MAX_SLOTS], val[HF_SLOTS]);
	(*nhosts)++;
	return stage_add(st, name, name_len, val[HF_SLOTS], where, err, errlen);
}

/*
 * sk_hostfile_parse, with @what naming the file in messages; with
 * @need_hosts, a file without a single host line is an error too.
 */
static int hostfile_parse(const char *text, size_t len, const char *what,
			  bool need_hosts, struct sk_host_list *list, char *err,
			  size_t errlen)
{
	struct stage st;
	size_t pos = 0, line_no = 0, nhosts = 0;
	char where[SHOW_MAX + 64];

	if (stage_begin(&st, list, what, err, errlen))
		return -1;
	while (pos < len) {
		const char *line = text + pos, *nl, *hash;
		size_t n, raw;

		nl = memchr(line, '\n', len - pos);
		raw = nl ? (size_t)(nl - line) : len - pos;
		pos += raw + (nl != NULL);
		line_no++;
		snprintf(where, sizeof(where), "%s line %zu", what, line_no);

		/* The length rule ignores a CRLF's '\r'. */
		n = raw;
		if (n && line[n - 1] == '\r')
			n--;
		if (n > HOSTFILE_LINE_MAX) {
			set_err(err, errlen, "%s: longer than %u bytes", where,
				HOSTFILE_LINE_MAX);
			goto fail;
		}
		/* Even in a comment: a NUL means this is not a text file. */
		if (memchr(line, '\0', raw)) {
			set_err(err, errlen, "%s: NUL byte", where);
			goto fail;
		}
		hash = memchr(line, '#', n);
		if (hash)
			n = (size_t)(hash - line);
		if (hf_line(&st, line, n, where, &nhosts, err, errlen))
			goto fail;
	}
	if (need_hosts && nhosts == 0) {
		set_err(err, errlen, "%s: no hosts in it", what);
		goto fail;
	}
	stage_commit(&st, list);
	return 0;
fail:
	stage_abort(&st);
	return -1;
}

int sk_hostfile_parse(const char *text, size_t len, struct sk_host_list *list,
		      char *err, size_t errlen)
{
	return hostfile_parse(text, len, "hostfile", false, list, err, errlen);
}

int sk_hostfile_load(const char *path, struct sk_host_list *list, char *err,
		     size_t errlen)
{
	char what[SHOW_MAX + 16], q[SHOW_MAX], ebuf[128];
	size_t len = 0;
	char *buf;
	int fd, rc;

	snprintf(what, sizeof(what), "hostfile '%s'",
		 SHOW(q, path, strlen(path)));
	/* Not only regular files: "--hostfile <(...)" is a pipe. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_err(err, errlen, "%s: %s", what,
			       strerror_r(errno, ebuf, sizeof(ebuf)));
	/* One byte more than allowed tells "too big" from "just fits". */
	buf = malloc(HOSTFILE_SIZE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		return set_err(err, errlen, "%s: out of memory", what);
	}
	while (len <= HOSTFILE_SIZE_MAX) {
		ssize_t r = read(fd, buf + len, HOSTFILE_SIZE_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			set_err(err, errlen, "%s: %s", what,
				strerror_r(errno, ebuf, sizeof(ebuf)));
			rc = -1;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > HOSTFILE_SIZE_MAX) {
		set_err(err, errlen, "%s: too big (more than %u bytes)", what,
			HOSTFILE_SIZE_MAX);
		rc = -1;
		goto out;
	}
	/*
	 * The parser takes an empty file, but a job pointed at one surely
	 * meant some hosts, and would otherwise run on localhost instead.
	 */
	rc = hostfile_parse(buf, len, what, true, list, err, errlen);
out:
	free(buf);
	close(fd);
	return rc;
}

/* ---- placement ---- */

/* Slots a list offers in all (each host 1 to SK_OPTS_MAX_SLOTS). */
static unsigned long long total_slots(const struct sk_host_list *list)
{
	unsigned long long total = 0;

	for (size_t i = 0; i < list->count; i++)
		total += host_slots(&list->hosts[i]);
	return total;
}

/* How many ranks and the error when -N does not fit (mpirun's "ppr"). */
static int place_npernode(const struct sk_host_list *list,
			  const struct sk_place *p, unsigned *np_p, char *err,
			  size_t errlen)
{
	size_t nhosts = list->count ? list->count : 1;
	unsigned long long most = (unsigned long long)p->npernode * nhosts;
	unsigned np = p->np;

	if (np == 0) {
		if (most > SK_OPTS_MAX_NODES)
			return set_err(
				err, errlen,
				"-N %u on %zu host%s is %llu nodes, more "
				"than %u",
				p->npernode, nhosts, nhosts == 1 ? "" : "s",
				most, SK_OPTS_MAX_NODES);
		np = (unsigned)most;
	}
	if (np > most)
		return set_err(err, errlen,
			       "your job has requested more processes than "
			       "the ppr for this topology can support: %u "
			       "nodes requested, -N %u on %zu host%s place "
			       "%llu",
			       np, p->npernode, nhosts, nhosts == 1 ? "" : "s",
			       most);
	/* Every host that gets ranks must have the slots for them. */
	for (size_t i = 0; i < list->count && !p->oversubscribe; i++) {
		const struct sk_host *h = &list->hosts[i];
		unsigned first = (unsigned)i * p->npernode, want;
		char q[SHOW_MAX];

		if (first >= np) /* i < 4096 hosts, N <= 4096: no overflow */
			break;
		want = np - first;
		if (want > p->npernode)
			want = p->npernode;
		if (want > host_slots(h))
			return set_err(err, errlen,
				       "there are not enough slots available: "
				       "-N %u puts %u nodes on host '%s', "
				       "which has %u slot%s (give more slots, "
				       "or --oversubscribe)",
				       p->npernode, want,
				       SHOW(q, h->name, strlen(h->name)),
				       host_slots(h),
				       host_slots(h) == 1 ? "" : "s");
	}
	*np_p = np;
	return 0;
}

int sk_hosts_place(const struct sk_host_list *list, const struct sk_place *p,
		   unsigned *np_p, unsigned **host_of_p, char *err,
		   size_t errlen)
{
	unsigned long long total = total_slots(list);
	unsigned *host_of, *used = NULL;
	unsigned np = p->np, k = 0;

	if (p->npernode) {
		if (place_npernode(list, p, &np, err, errlen))
			return -1;
	} else if (np == 0) {
		if (list->count == 0)
			np = 1;
		else if (total > SK_OPTS_MAX_NODES)
			return set_err(err, errlen,
				       "the hosts have %llu slots, more than "
				       "%u nodes: give -n",
				       total, SK_OPTS_MAX_NODES);
		else
			np = (unsigned)total;
	}
	if (np > SK_OPTS_MAX_NODES)
		return set_err(err, errlen, "%u nodes is more than %u", np,
			       SK_OPTS_MAX_NODES);
	if (list->count && np > total && !p->oversubscribe)
		return set_err(err, errlen,
			       "there are not enough slots available: %u "
			       "nodes requested, %llu slot%s on %zu host%s "
			       "(give more hosts or slots, or --oversubscribe)",
			       np, total, total == 1 ? "" : "s", list->count,
			       list->count == 1 ? "" : "s");
	host_of = calloc(np, sizeof(*host_of));
	if (host_of == NULL)
		return set_err(err, errlen, "out of memory");
	/* With no hosts every node runs on localhost: index 0, all zero. */
	if (list->count == 0)
		goto out;
	if (p->npernode) {
		/* -N: a block of N on each host in order. */
		for (k = 0; k < np; k++)
			host_of[k] = k / p->npernode;
		goto out;
	}
	if (p->map_by == SK_MAP_NODE) {
		/* By node: one on each host with a free slot, in turn. */
		used = calloc(list->count, sizeof(*used));
		if (used == NULL) {
			free(host_of);
			return set_err(err, errlen, "out of memory");
		}
		while (k < np && k < total) {
			for (size_t i = 0; i < list->count && k < np; i++) {
				if (used[i] >= host_slots(&list->hosts[i]))
					continue;
				used[i]++;
				host_of[k++] = (unsigned)i;
			}
		}
		free(used);
	} else {
		/* By slot: fill the first host, then the next... */
		for (size_t i = 0; i < list->count && k < np; i++)
			for (unsigned s = 0;
			     s < host_slots(&list->hosts[i]) && k < np; s++)
				host_of[k++] = (unsigned)i;
	}
	/* ...then, oversubscribed, one more on each host in turn, as Open
	 * MPI spreads the excess evenly over the hosts. */
	for (size_t i = 0; k < np; i = (i + 1) % list->count)
		host_of[k++] = (unsigned)i;
out:
	*np_p = np;
	*host_of_p = host_of;
	return 0;
}

int sk_hosts_map(const struct sk_host_list *list, unsigned np,
		 bool oversubscribe, unsigned *np_p, unsigned **host_of_p,
		 char *err, size_t errlen)
{
	struct sk_place p = {.np = np, .oversubscribe = oversubscribe};

	return sk_hosts_place(list, &p, np_p, host_of_p, err, errlen);
}

int sk_bind_check(const struct sk_job_opts *o, const char *host,
		  unsigned nprocs, unsigned ncores, char *err, size_t errlen)
{
	char q[SHOW_MAX];

	if (o->bind != SK_BIND_CORE || o->bind_overload || o->oversubscribe ||
	    nprocs <= ncores)
		return 0;
	return set_err(err, errlen,
		       "a request was made to bind to that would result in "
		       "binding more processes than cpus on a resource: bind "
		       "to CORE, node %s, %u processes, %u core%s (give "
		       "--oversubscribe, --bind-to none or --bind-to "
		       "core:overload-allowed to allow it)",
		       SHOW(q, host, strlen(host)), nprocs, ncores,
		       ncores == 1 ? "" : "s");
}

/* ---- the command line ---- */

enum opt_id {
	OPT_NP,
	OPT_HOST,
	OPT_HOSTFILE,
	OPT_PROVIDER,
	OPT_TAG_OUTPUT,
	OPT_ENV,
	OPT_TIMEOUT,
	OPT_BIND_TO,
	OPT_REPORT_BINDINGS,
	OPT_OVERSUBSCRIBE,
	OPT_ROOT,
	OPT_HELP,
	OPT_VERSION,
	OPT_MAP_BY,
	OPT_NPERNODE,
	OPT_PERNODE,
	OPT_WDIR,
	OPT_OUTPUT_FILENAME,
	OPT_MERGE_STDERR,
};

/*
 * Names without their dashes. Each is taken with one dash or two, as
 * Open MPI 4's mpirun takes them: scripts written for it say "-np" and
 * "-hostfile" as often as "--np" and "--hostfile".
 */
static const struct opt {
	const char *name;
	enum opt_id id;
	bool has_value;
} opt_table[] = {
	{"n", OPT_NP, true},
	{"np", OPT_NP, true},
	{"c", OPT_NP, true},
	{"H", OPT_HOST, true},
	{"host", OPT_HOST, true},
	{"hostfile", OPT_HOSTFILE, true},
	{"machinefile", OPT_HOSTFILE, true},
	{"provider", OPT_PROVIDER, true},
	{"tag-output", OPT_TAG_OUTPUT, false},
	{"x", OPT_ENV, true},
	{"timeout", OPT_TIMEOUT, true},
	{"bind-to", OPT_BIND_TO, true},
	{"report-bindings", OPT_REPORT_BINDINGS, false},
	{"oversubscribe", OPT_OVERSUBSCRIBE, false},
	{"root", OPT_ROOT, true},
	{"h", OPT_HELP, false},
	{"help", OPT_HELP, false},
	{"version", OPT_VERSION, false},
	/* mpirun's -V; -v is its --verbose, which skrun does not have, and
	 * issue 9 asked for -v to print the version. */
	{"V", OPT_VERSION, false},
	{"v", OPT_VERSION, false},
	{"map-by", OPT_MAP_BY, true},
	{"N", OPT_NPERNODE, true},
	{"npernode", OPT_NPERNODE, true},
	{"pernode", OPT_PERNODE, false},
	{"wdir", OPT_WDIR, true},
	{"wd", OPT_WDIR, true},
	{"output-filename", OPT_OUTPUT_FILENAME, true},
	{"merge-stderr-to-stdout", OPT_MERGE_STDERR, false},
};

static const char usage[] =
	"Usage: skrun [options] program [args...]\n"
	"\n"
	"Run a Skiff job: -n nodes of the program, placed on the hosts by "
	"slot\n(or as --map-by or -N say).\n"
	"\n"
	"  -n, -np, -c N          number of nodes, 1 to 4096 (default: one\n"
	"                         per slot of the hosts; 1 with no hosts)\n"
	"  -H, --host H[:N],...   hosts and their slots (default 1 each);\n"
	"                         may be repeated; an IPv6 address with a\n"
	"                         slot count is written [ADDR]:N\n"
	"  --hostfile, --machinefile FILE\n"
	"                         Open MPI hostfile, lines of\n"
	"                         \"host [slots=N] [max_slots=N]\"\n"
	"  --oversubscribe        allow more nodes than slots (the rest go\n"
	"                         round-robin over the hosts)\n"
	"  --map-by slot|node|core\n"
	"                         slot: fill each host's slots in turn\n"
	"                         (default); node: one node per host in\n"
	"                         turn; core: as slot, bound to a core each\n"
	"  -N, --npernode N       N nodes on each host (--pernode: 1)\n"
	"  --provider P           fabric provider: rdma, ucx or auto\n"
	"  -x VAR[=VALUE]         set VAR in every node's environment, to\n"
	"                         VALUE or to its value here; may be repeated\n"
	"  --tag-output           prefix every line of output with its node\n"
	"  --timeout S            end the job after S seconds (S > 0, may be\n"
	"                         fractional)\n"
	"  --bind-to core|none    bind each node to a core (default: none;\n"
	"                         core with --map-by core); more nodes than\n"
	"                         cores is refused unless --oversubscribe\n"
	"                         or core:overload-allowed\n"
	"  --report-bindings      report each node's binding as it starts\n"
	"  --root DIR             directory tree the nodes' files live in\n"
	"                         (default: the nodes' working directory)\n"
	"  --wdir, -wd DIR        working directory of the nodes (default:\n"
	"                         skrun's); it must exist\n"
	"  --output-filename DIR[:nocopy]\n"
	"                         also write each node's output to\n"
	"                         DIR/1/rank.N/stdout and stderr (only there\n"
	"                         with :nocopy), as Open MPI 4.1 does\n"
	"  --merge-stderr-to-stdout\n"
	"                         send each node's stderr to its stdout\n"
	"  -h, --help             print this text\n"
	"  -V, -v, --version      print the version\n"
	"  --                     end of options\n"
	"\n"
	"Every option is also taken with a single dash (-hostfile) and with\n"
	"its value after '=' (--host=a,b). The first word that is not an\n"
	"option is the program; the words after it are its own.\n";

const char *sk_opts_usage(void)
{
	return usage;
}

static const struct opt *opt_find(const char *name, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(opt_table); i++)
		if (strlen(opt_table[i].name) == n &&
		    memcmp(opt_table[i].name, name, n) == 0)
			return &opt_table[i];
	return NULL;
}

/* A variable name as a POSIX shell takes it. */
static bool env_name_ok(const char *s, size_t n)
{
	if (n == 0 || is_digit(s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_')
			return false;
	return true;
}

static int add_env(struct sk_job_opts *o, const char *opt, const char *val,
		   char *err, size_t errlen)
{
	const char *eq = strchr(val, '=');
	size_t n = eq ? (size_t)(eq - val) : strlen(val);
	char q[SHOW_MAX], **env, *copy;

	if (!env_name_ok(val, n))
		return set_err(err, errlen, "%s: '%s' is not a variable name",
			       opt, SHOW(q, val, n));
	if (o->nenv >= SK_OPTS_MAX_ENV)
		return set_err(err, errlen, "%s: more than %u variables", opt,
			       SK_OPTS_MAX_ENV);
	env = realloc(o->env, (o->nenv + 1) * sizeof(*env));
	if (env == NULL)
		return set_err(err, errlen, "%s: out of memory", opt);
	o->env = env;
	copy = strdup(val);
	if (copy == NULL)
		return set_err(err, errlen, "%s: out of memory", opt);
	o->env[o->nenv++] = copy;
	return 0;
}

/*
 * Seconds, decimal, > 0, e.g. "30" or "0.25". strtod alone would also
 * take "inf", "nan", hex floats and leading blanks, so the characters
 * are checked first. The upper bound keeps the value convertible to
 * nanoseconds in 64 bits.
 */
static int parse_timeout(struct sk_job_opts *o, const char *opt,
			 const char *val, char *err, size_t errlen)
{
	char q[SHOW_MAX], *end;
	double v;

	if (!is_digit(val[0]) && val[0] != '.')
		goto bad;
	for (const char *p = val; *p; p++)
		if (!is_digit(*p) && !strchr(".eE+-", *p))
			goto bad;
	errno = 0;
	v = strtod(val, &end);
	if (end == val || *end != '\0')
		goto bad;
	if (v > TIMEOUT_MAX_S)
		return set_err(err, errlen,
			       "%s: '%s' is more than %.0f seconds", opt,
			       SHOW(q, val, strlen(val)), TIMEOUT_MAX_S);
	/* ERANGE here is an underflow: "1e-400" is no timeout either. */
	if (!(v > 0) || errno == ERANGE)
		goto bad;
	o->timeout_s = v;
	return 0;
bad:
	return set_err(err, errlen,
		       "%s: '%s' is not a positive number of seconds", opt,
		       SHOW(q, val, strlen(val)));
}

/*
 * --output-filename DIR[:nocopy], as Open MPI 4.1 takes it: ":nocopy"
 * keeps the output off the terminal. Only that suffix is cut: any other
 * colon is part of the path.
 */
static int parse_output_dir(struct sk_job_opts *o, const char *opt,
			    const char *val, char *err, size_t errlen)
{
	static const char nocopy[] = ":nocopy";
	size_t n = strlen(val), sn = sizeof(nocopy) - 1;
	bool cut = n >= sn && strcmp(val + n - sn, nocopy) == 0;

	if (cut)
		n -= sn;
	if (n == 0)
		return set_err(err, errlen, "%s: empty path", opt);
	free(o->output_dir);
	o->output_dir = strndup(val, n);
	if (o->output_dir == NULL)
		return set_err(err, errlen, "%s: out of memory", opt);
	o->output_nocopy = cut;
	return 0;
}

/* Apply option @id with value @val; @opt is its name as written. */
static int opt_apply(struct sk_job_opts *o, enum opt_id id, const char *opt,
		     const char *val, char *err, size_t errlen)
{
	char q[SHOW_MAX], q2[SHOW_MAX];

	switch (id) {
	case OPT_NP:
		switch (parse_uint(val, strlen(val), 1, SK_OPTS_MAX_NODES,
				   &o->np)) {
		case NUM_OK:
			return 0;
		case NUM_BAD:
			return set_err(err, errlen,
				       "%s: '%s' is not a number of nodes", opt,
				       SHOW(q, val, strlen(val)));
		case NUM_RANGE:
			return set_err(err, errlen,
				       "%s: '%s' is out of range (1 to %u)",
				       opt, SHOW(q, val, strlen(val)),
				       SK_OPTS_MAX_NODES);
		}
		return -1;
	case OPT_HOST:
		return sk_hosts_parse(val, &o->hosts, err, errlen);
	case OPT_HOSTFILE:
		/* A second one would have its hosts added to the first's. */
		if (o->hostfile)
			return set_err(
				err, errlen,
				"%s: only one hostfile per job ('%s' "
				"was given already)",
				opt, SHOW(q, o->hostfile, strlen(o->hostfile)));
		if (val[0] == '\0')
			return set_err(err, errlen, "%s: empty path", opt);
		if (sk_hostfile_load(val, &o->hosts, err, errlen))
			return -1;
		o->hostfile = val;
		return 0;
	case OPT_PROVIDER:
		if (strcmp(val, "rdma") && strcmp(val, "ucx") &&
		    strcmp(val, "auto"))
			return set_err(err, errlen,
				       "%s: '%s' is not a provider (rdma, ucx "
				       "or auto)",
				       opt, SHOW(q, val, strlen(val)));
		o->provider = val;
		return 0;
	case OPT_TAG_OUTPUT:
		o->tag_output = true;
		return 0;
	case OPT_ENV:
		return add_env(o, opt, val, err, errlen);
	case OPT_TIMEOUT:
		return parse_timeout(o, opt, val, err, errlen);
	case OPT_BIND_TO:
		o->bind_overload = false;
		if (strcmp(val, "core") == 0) {
			o->bind = SK_BIND_CORE;
		} else if (strcmp(val, "core:overload-allowed") == 0) {
			o->bind = SK_BIND_CORE;
			o->bind_overload = true;
		} else if (strcmp(val, "none") == 0) {
			o->bind = SK_BIND_NONE;
		} else {
			return set_err(err, errlen,
				       "%s: '%s' is not supported (core, "
				       "core:overload-allowed or none)",
				       opt, SHOW(q, val, strlen(val)));
		}
		o->bind_given = true;
		return 0;
	case OPT_MAP_BY:
		if (strcmp(val, "slot") == 0)
			o->map_by = SK_MAP_SLOT;
		else if (strcmp(val, "node") == 0)
			o->map_by = SK_MAP_NODE;
		else if (strcmp(val, "core") == 0)
			o->map_by = SK_MAP_CORE;
		else
			return set_err(err, errlen,
				       "%s: '%s' is not supported (slot, node "
				       "or core)",
				       opt, SHOW(q, val, strlen(val)));
		o->map_by_given = true;
		return 0;
	case OPT_NPERNODE:
		switch (parse_uint(val, strlen(val), 1, SK_OPTS_MAX_SLOTS,
				   &o->npernode)) {
		case NUM_OK:
			return 0;
		case NUM_BAD:
			return set_err(err, errlen,
				       "%s: '%s' is not a number of nodes per "
				       "host",
				       opt, SHOW(q, val, strlen(val)));
		case NUM_RANGE:
			return set_err(err, errlen,
				       "%s: '%s' is out of range (1 to %u)",
				       opt, SHOW(q, val, strlen(val)),
				       SK_OPTS_MAX_SLOTS);
		}
		return -1;
	case OPT_PERNODE:
		o->npernode = 1;
		return 0;
	case OPT_WDIR:
		if (val[0] == '\0')
			return set_err(err, errlen, "%s: empty path", opt);
		o->wdir = val;
		return 0;
	case OPT_OUTPUT_FILENAME:
		return parse_output_dir(o, opt, val, err, errlen);
	case OPT_MERGE_STDERR:
		o->merge_stderr = true;
		return 0;
	case OPT_REPORT_BINDINGS:
		o->report_bindings = true;
		return 0;
	case OPT_OVERSUBSCRIBE:
		o->oversubscribe = true;
		return 0;
	case OPT_ROOT:
		if (val[0] == '\0')
			return set_err(err, errlen, "%s: empty path", opt);
		o->root = val;
		return 0;
	case OPT_HELP:
		o->help = true;
		return 0;
	case OPT_VERSION:
		o->version = true;
		return 0;
	}
	return set_err(err, errlen, "%s: BUG: option %d not handled",
		       SHOW(q2, opt, strlen(opt)), (int)id);
}

/* The value -x SKIFF_PROVIDER gives the nodes: its own, or skrun's. */
static const char *env_provider(const struct sk_job_opts *o)
{
	static const char name[] = "SKIFF_PROVIDER";
	const char *val = NULL;

	/* The last -x of a variable is the one the nodes see. */
	for (size_t k = 0; k < o->nenv; k++) {
		const char *e = o->env[k];

		if (strncmp(e, name, sizeof(name) - 1) != 0)
			continue;
		if (e[sizeof(name) - 1] == '=')
			val = e + sizeof(name);
		else if (e[sizeof(name) - 1] == '\0')
			val = getenv(name);
	}
	return val;
}

/*
 * What options say together: -N is a placement of its own; two ways of
 * naming the job's provider must agree (the host and the nodes would
 * otherwise open different ones and never connect); --map-by core binds
 * to cores unless --bind-to says otherwise, as in mpirun.
 */
static int opts_consistent(struct sk_job_opts *o, char *err, size_t errlen)
{
	const char *pe = env_provider(o);
	char q[SHOW_MAX], q2[SHOW_MAX];

	if (o->npernode && o->map_by_given)
		return set_err(err, errlen,
			       "-N/--npernode and --map-by cannot be combined "
			       "(-N places N nodes on each host)");
	if (pe) {
		if (strcmp(pe, "rdma") && strcmp(pe, "ucx") &&
		    strcmp(pe, "auto"))
			return set_err(err, errlen,
				       "-x SKIFF_PROVIDER: '%s' is not a "
				       "provider (rdma, ucx or auto)",
				       SHOW(q, pe, strlen(pe)));
		if (o->provider && strcmp(o->provider, pe) != 0)
			return set_err(
				err, errlen,
				"--provider %s conflicts with -x "
				"SKIFF_PROVIDER=%s: give one of them",
				SHOW(q, o->provider, strlen(o->provider)),
				SHOW(q2, pe, strlen(pe)));
		o->provider_env = pe;
	}
	if (o->map_by == SK_MAP_CORE && !o->bind_given)
		o->bind = SK_BIND_CORE;
	return 0;
}

int sk_opts_parse(int argc, char **argv, struct sk_job_opts *o, char *err,
		  size_t errlen)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *word = argv[i], *name, *eq, *val = NULL;
		const struct opt *opt;
		size_t name_len;
		char shown[SHOW_MAX];

		if (strcmp(word, "--") == 0) {
			i++;
			break;
		}
		/* The program; "" too, refused below. */
		if (word[0] != '-')
			break;
		name = word + 1 + (word[1] == '-');
		eq = strchr(name, '=');
		name_len = eq ? (size_t)(eq - name) : strlen(name);
		/* Messages name the option as written, without "=value". */
		SHOW(shown, word, (size_t)(name - word) + name_len);
		opt = opt_find(name, name_len);
		if (opt == NULL) {
			if (name_len == 0)
				SHOW(shown, word, strlen(word));
			set_err(err, errlen, "unknown option '%s'", shown);
			goto fail;
		}
		if (opt->has_value) {
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				set_err(err, errlen, "%s: missing value",
					shown);
				goto fail;
			}
		} else if (eq) {
			set_err(err, errlen, "%s takes no value", shown);
			goto fail;
		}
		if (opt_apply(o, opt->id, shown, val, err, errlen))
			goto fail;
	}
	if (opts_consistent(o, err, errlen))
		goto fail;
	if (i < argc) {
		if (argv[i][0] == '\0') {
			set_err(err, errlen, "empty program name");
			goto fail;
		}
		o->argv = argv + i;
		o->argc = argc - i;
	} else if (!o->help && !o->version) {
		set_err(err, errlen, "missing program to run");
		goto fail;
	}
	return 0;
fail:
	sk_opts_cleanup(o);
	return -1;
}

void sk_opts_cleanup(struct sk_job_opts *o)
{
	sk_host_list_cleanup(&o->hosts);
	free(o->output_dir);
	for (size_t i = 0; i < o->nenv; i++)
		free(o->env[i]);
	free(o->env);
	memset(o, 0, sizeof(*o));
}
