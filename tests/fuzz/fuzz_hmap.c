/*
 * libFuzzer target for the node's reader of BOOT's area descriptor,
 * sk_hmap_open() (libos/hostmap.c, struct sk_hmap in hostproto.h): the 64
 * bytes by which a node opens and maps skrun's memory file.
 *
 * The target makes a real area first (sk_hmap_create, 1 MiB), and holds
 * a plain file and a memory file of another name open beside it. The
 * first byte of an input says which fields of the descriptor that
 * follows are overwritten with the real area's before the call, so that
 * mutations reach every check past the ones before them:
 *
 *   bit 0  magic       bit 3  len
 *   bit 1  boot id     bit 4  pid (this process)
 *   bit 2  fd          bits 5-6  with bit 2: which descriptor
 *                      (0 the area, 1 the plain file, 2 the other
 *                      memory file, 3 the area again)
 *
 * The descriptor is the rest of the input, whatever its length (64 is
 * the only one accepted). Oracles, each an abort:
 *
 *  - the rules the header states, modelled here (ref_static): a wrong
 *    length, magic, fd < 0, pid 0, len 0 or past SK_HMSG_AREA_MAX, or a
 *    boot id without its NUL is refused with EINVAL; another boot id with
 *    EXDEV;
 *  - this process's own area, its own length: mapped, *len_p its length,
 *    and the same pages (a byte written through the new mapping reads
 *    back through the area's);
 *  - this process's plain file or other memory file, or the area at a
 *    length not its own: refused;
 *  - anything accepted is a memory file named as skrun names it, of the
 *    length asked (another process's descriptor may be one: a job
 *    running beside the fuzzer), and is unmapped again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <skiff/hostproto.h>

#include "fuzz_check.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define AREA_LEN ((size_t)1 << 20)

static struct sk_hmap area;
static char *area_p;
static int fd_plain = -1, fd_other = -1;

static void write_seeds(const char *dir)
{
	struct sk_hmap d = {0};

	/* Every field the real one's, and each left as given in turn. */
	fuzz_write_seed(dir, "all", 0x1f, &d, sizeof(d));
	fuzz_write_seed(dir, "no_magic", 0x1e, &d, sizeof(d));
	fuzz_write_seed(dir, "no_boot", 0x1d, &d, sizeof(d));
	fuzz_write_seed(dir, "no_fd", 0x1b, &d, sizeof(d));
	fuzz_write_seed(dir, "no_len", 0x17, &d, sizeof(d));
	fuzz_write_seed(dir, "no_pid", 0x0f, &d, sizeof(d));
	fuzz_write_seed(dir, "plain", 0x3f, &d, sizeof(d));
	fuzz_write_seed(dir, "other", 0x5f, &d, sizeof(d));
	fuzz_write_seed(dir, "short", 0x1f, &d, sizeof(d) - 1);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char tmpl[] = "/tmp/fuzz_hmap.XXXXXX";
	void *p;

	(void)argc;
	(void)argv;
	fuzz_seeds_if_asked(write_seeds);
	check(sk_hmap_create(AREA_LEN, &area, &p) == 0);
	area_p = p;
	fd_plain = mkstemp(tmpl);
	check(fd_plain >= 0 && unlink(tmpl) == 0 &&
	      ftruncate(fd_plain, (off_t)AREA_LEN) == 0);
	fd_other = memfd_create("not-skiff", MFD_CLOEXEC);
	check(fd_other >= 0 && ftruncate(fd_other, (off_t)AREA_LEN) == 0);
	return 0;
}

/* The header's rules that need no file: 0, or the errno they give. */
static int ref_static(const struct sk_hmap *d, size_t len)
{
	if (len != sizeof(*d) || d->magic != SK_HMAP_MAGIC || d->fd < 0 ||
	    d->pid == 0 || d->len == 0 || d->len > SK_HMSG_AREA_MAX ||
	    d->boot_id[SK_HMAP_BOOT_ID_LEN - 1] != '\0')
		return EINVAL;
	if (memcmp(d->boot_id, area.boot_id, SK_HMAP_BOOT_ID_LEN) != 0)
		return EXDEV;
	return 0;
}

/* Whether /proc/@pid/fd/@fd is a memory file as skrun names it, of @len
 * bytes. */
static int ref_is_area(uint32_t pid, int32_t fd, uint64_t len)
{
	char path[64], link[64];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/fd/%d", pid, fd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = '\0';
	return strncmp(link, "/memfd:skiff-area", 17) == 0 &&
	       stat(path, &st) == 0 && (uint64_t)st.st_size == len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int mode = fuzz_take_mode(&data, &size);
	struct sk_hmap d = {0};
	uint8_t *buf;
	size_t got = 0;
	int want;
	void *p;

	if (mode < 0)
		return 0;
	buf = fuzz_dup(data, size);
	memcpy(&d, buf, size < sizeof(d) ? size : sizeof(d));
	if (mode & 0x01)
		d.magic = area.magic;
	if (mode & 0x02)
		memcpy(d.boot_id, area.boot_id, sizeof(d.boot_id));
	if (mode & 0x04) {
		const int *const fds[] = {&area.fd, &fd_plain, &fd_other,
					  &area.fd};

		d.fd = *fds[(mode >> 5) & 3];
	}
	if (mode & 0x08)
		d.len = area.len;
	if (mode & 0x10)
		d.pid = area.pid;
	memcpy(buf, &d, size < sizeof(d) ? size : sizeof(d));

	errno = 0;
	p = sk_hmap_open(buf, size, &got);
	want = ref_static(&d, size);
	if (want != 0) {
		check(p == NULL && errno == want);
	} else if (d.pid == area.pid && d.fd == area.fd && d.len == area.len) {
		/* Our own area: the same pages. */
		check(p != NULL && got == area.len);
		((volatile char *)p)[d.len - 1] = (char)(mode + 1);
		check(area_p[d.len - 1] == (char)(mode + 1));
	} else if (d.pid == area.pid &&
		   (d.fd == fd_plain || d.fd == fd_other || d.fd == area.fd)) {
		check(p == NULL);
	}
	if (p != NULL) {
		check(got == d.len && ref_is_area(d.pid, d.fd, d.len));
		check(munmap(p, got) == 0);
	}
	free(buf);
	return 0;
}
