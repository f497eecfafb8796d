/*
 * skrun's host lists (opts.h): mpirun's --host values and Open MPI
 * hostfiles, checked and appended to a list all or nothing. Both syntaxes
 * follow Open MPI's, so that a hostfile written for one works with the
 * other, within the subset Skiff supports: a keyword outside it is
 * refused rather than ignored, because a silently dropped "max_slots"
 * places a job differently than its author meant.
 *
 * Every host name is checked before it is kept, so that a typo fails
 * here rather than as an ssh or DNS error, and so that nothing odd ever
 * reaches a command line built from it (spawn.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "parse.h"

/* Longest hostfile line, not counting its end of line. */
#define HOSTFILE_LINE_MAX 1024
/* Largest hostfile sk_hostfile_load reads. */
#define HOSTFILE_SIZE_MAX (1u << 20)
/* Longest host name (RFC 1035), and label within it. */
#define HOST_NAME_MAX_LEN 253
#define HOST_LABEL_MAX	  63

/* One label of a DNS name: letters, digits, '-' inside (RFC 1123). */
static bool label_ok(const char *s, size_t n)
{
	if (n == 0 || n > HOST_LABEL_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!sk_is_alnum(s[i]) && s[i] != '-')
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
bool sk_host_name_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > HOST_NAME_MAX_LEN)
		return false;
	if (memchr(s, ':', n)) {
		char buf[HOST_NAME_MAX_LEN + 1];
		unsigned char addr[16];

		/* inet_pton alone would take any byte it stops at. */
		for (size_t i = 0; i < n; i++)
			if (!sk_is_xdigit(s[i]) && s[i] != ':' && s[i] != '.')
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
		return sk_parse_err(err, errlen, "%s: out of memory", what);
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
	char q[SK_SHOW_MAX];

	for (size_t i = 0; i < st->count; i++) {
		struct sk_host *h = &st->h[i];
		unsigned have = sk_host_slots(h);

		if (strncmp(h->name, name, n) != 0 || h->name[n] != '\0')
			continue;
		if (slots > SK_OPTS_MAX_SLOTS - have)
			return sk_parse_err(
				err, errlen,
				"%s: host '%s' has more than %u slots "
				"in all",
				where, SK_SHOW(q, name, n), SK_OPTS_MAX_SLOTS);
		h->slots = have + slots;
		return 0;
	}
	if (st->count >= SK_OPTS_MAX_NODES)
		return sk_parse_err(err, errlen, "%s: more than %u hosts",
				    where, SK_OPTS_MAX_NODES);
	if (st->count == st->cap) {
		size_t cap = st->cap * 2;
		struct sk_host *h = realloc(st->h, cap * sizeof(*h));

		if (h == NULL)
			return sk_parse_err(err, errlen, "%s: out of memory",
					    where);
		st->h = h;
		st->cap = cap;
	}
	st->h[st->count].name = strndup(name, n);
	if (st->h[st->count].name == NULL)
		return sk_parse_err(err, errlen, "%s: out of memory", where);
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
	char q[SK_SHOW_MAX], q2[SK_SHOW_MAX];

	if (n == 0)
		return sk_parse_err(err, errlen, "--host: empty host name");
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (close == NULL)
			return sk_parse_err(err, errlen,
					    "--host: '%s' has no ']'",
					    SK_SHOW(q, s, n));
		name = s + 1;
		name_len = (size_t)(close - name);
		if (close + 1 < s + n) {
			if (close[1] != ':')
				return sk_parse_err(
					err, errlen,
					"--host: '%s': expected ':' "
					"after ']'",
					SK_SHOW(q, s, n));
			count = close + 2;
			count_len = (size_t)(s + n - count);
		}
		/* Brackets are for addresses with colons only. */
		if (!memchr(name, ':', name_len))
			return sk_parse_err(
				err, errlen,
				"--host: '%s' is not a valid host name",
				SK_SHOW(q, s, n));
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
	if (!sk_host_name_ok(name, name_len))
		return sk_parse_err(err, errlen,
				    "--host: '%s' is not a valid host name",
				    SK_SHOW(q, name, name_len));
	if (count) {
		switch (sk_parse_uint(count, count_len, 1, SK_OPTS_MAX_SLOTS,
				      &slots)) {
		case SK_NUM_OK:
			break;
		case SK_NUM_BAD:
			return sk_parse_err(
				err, errlen,
				"--host: '%s': '%s' is not a slot count",
				SK_SHOW(q, s, n),
				SK_SHOW(q2, count, count_len));
		case SK_NUM_RANGE:
			return sk_parse_err(
				err, errlen,
				"--host: '%s': slot count '%s' is out "
				"of range (1 to %u)",
				SK_SHOW(q, s, n), SK_SHOW(q2, count, count_len),
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
		return sk_parse_err(err, errlen, "--host: empty host list");
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
	char q[SK_SHOW_MAX], q2[SK_SHOW_MAX];

	i = hf_skip_space(s, n, 0);
	if (i == n)
		return 0; /* blank */
	name = s + i;
	name_len = hf_word(name, n - i);
	i = hf_skip_space(s, n, i + name_len);
	if (i < n && s[i] == '=')
		return sk_parse_err(err, errlen,
				    "%s: expected a host name first, not '%s='",
				    where, SK_SHOW(q, name, name_len));
	if (!sk_host_name_ok(name, name_len))
		return sk_parse_err(err, errlen,
				    "%s: '%s' is not a valid host name", where,
				    SK_SHOW(q, name, name_len));

	while (i < n) {
		const char *key = s + i, *v;
		size_t key_len = hf_word(key, n - i), v_len, k;
		unsigned num = 0;

		if (key_len == 0)
			return sk_parse_err(err, errlen, "%s: stray '='",
					    where);
		for (k = 0; k < ARRAY_SIZE(hf_keys); k++)
			if (strlen(hf_keys[k].word) == key_len &&
			    memcmp(hf_keys[k].word, key, key_len) == 0)
				break;
		if (k == ARRAY_SIZE(hf_keys))
			return sk_parse_err(
				err, errlen,
				"%s: unknown keyword '%s' (slots=N or "
				"max_slots=N)",
				where, SK_SHOW(q, key, key_len));
		i = hf_skip_space(s, n, i + key_len);
		if (i == n || s[i] != '=')
			return sk_parse_err(err, errlen, "%s: '%s' needs '=N'",
					    where, SK_SHOW(q, key, key_len));
		i = hf_skip_space(s, n, i + 1);
		v = s + i;
		v_len = hf_word(v, n - i);
		i = hf_skip_space(s, n, i + v_len);

		switch (sk_parse_uint(v, v_len, 1, SK_OPTS_MAX_SLOTS, &num)) {
		case SK_NUM_OK:
			break;
		case SK_NUM_BAD:
			return sk_parse_err(err, errlen,
					    "%s: '%s=%s' is not a slot count",
					    where, SK_SHOW(q, key, key_len),
					    SK_SHOW(q2, v, v_len));
		case SK_NUM_RANGE:
			return sk_parse_err(
				err, errlen,
				"%s: '%s=%s' is out of range (1 to %u)", where,
				SK_SHOW(q, key, key_len), SK_SHOW(q2, v, v_len),
				SK_OPTS_MAX_SLOTS);
		}
		/* Open MPI adds up a repeated slots=; say so instead. */
		if (seen[hf_keys[k].key])
			return sk_parse_err(err, errlen, "%s: '%s' given twice",
					    where, SK_SHOW(q, key, key_len));
		seen[hf_keys[k].key] = true;
		val[hf_keys[k].key] = num;
	}
	/*
	 * max_slots is checked as Open MPI does, but a struct sk_host has no
	 * place for it: Skiff's limit on a host is --oversubscribe or not.
	 */
	if (seen[HF_MAX_SLOTS] && val[HF_MAX_SLOTS] < val[HF_SLOTS])
		return sk_parse_err(err, errlen,
				    "%s: max_slots=%u is less than slots=%u",
				    where, val[HF_MAX_SLOTS], val[HF_SLOTS]);
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
	char where[SK_SHOW_MAX + 64];

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
			sk_parse_err(err, errlen, "%s: longer than %u bytes",
				     where, HOSTFILE_LINE_MAX);
			goto fail;
		}
		/* Even in a comment: a NUL means this is not a text file. */
		if (memchr(line, '\0', raw)) {
			sk_parse_err(err, errlen, "%s: NUL byte", where);
			goto fail;
		}
		hash = memchr(line, '#', n);
		if (hash)
			n = (size_t)(hash - line);
		if (hf_line(&st, line, n, where, &nhosts, err, errlen))
			goto fail;
	}
	if (need_hosts && nhosts == 0) {
		sk_parse_err(err, errlen, "%s: no hosts in it", what);
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
	char what[SK_SHOW_MAX + 16], q[SK_SHOW_MAX], ebuf[128];
	size_t len = 0;
	char *buf;
	int fd, rc;

	snprintf(what, sizeof(what), "hostfile '%s'",
		 SK_SHOW(q, path, strlen(path)));
	/* Not only regular files: "--hostfile <(...)" is a pipe. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sk_parse_err(err, errlen, "%s: %s", what,
				    strerror_r(errno, ebuf, sizeof(ebuf)));
	/* One byte more than allowed tells "too big" from "just fits". */
	buf = malloc(HOSTFILE_SIZE_MAX + 1);
	if (buf == NULL) {
		close(fd);
		return sk_parse_err(err, errlen, "%s: out of memory", what);
	}
	while (len <= HOSTFILE_SIZE_MAX) {
		ssize_t r = read(fd, buf + len, HOSTFILE_SIZE_MAX + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			sk_parse_err(err, errlen, "%s: %s", what,
				     strerror_r(errno, ebuf, sizeof(ebuf)));
			rc = -1;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > HOSTFILE_SIZE_MAX) {
		sk_parse_err(err, errlen, "%s: too big (more than %u bytes)",
			     what, HOSTFILE_SIZE_MAX);
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
