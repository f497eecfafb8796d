/*
 * A node's bulk area as a memory file the host makes and the node maps
 * (hostproto.h, struct sk_hmap): both sides' halves, so that the one
 * format has one owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <skiff/hostproto.h>

#define SK_HMAP_NAME "skiff-area"
/* How /proc/PID/fd/N reads for it (then " (deleted)"). */
#define SK_HMAP_LINK "/memfd:" SK_HMAP_NAME

/* This kernel's boot id, NUL-padded; -errno when it cannot be read. */
static int sk_hmap_boot_id(char id[SK_HMAP_BOOT_ID_LEN])
{
	ssize_t n;
	int fd;

	memset(id, 0, SK_HMAP_BOOT_ID_LEN);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, id, SK_HMAP_BOOT_ID_LEN - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	if (id[n - 1] == '\n')
		id[n - 1] = '\0';
	return 0;
}

int sk_hmap_create(size_t len, struct sk_hmap *d, void **p)
{
	int fd, err;

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (len == 0 || len > SK_HMSG_AREA_MAX)
		return -EINVAL;
	err = sk_hmap_boot_id(d->boot_id);
	if (err)
		return err;
	/* Close-on-exec: no node inherits another node's area. */
	fd = memfd_create(SK_HMAP_NAME, MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)len) != 0) {
		err = -errno;
		close(fd);
		return err;
	}
	*p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (*p == MAP_FAILED) {
		err = -errno;
		close(fd);
		*p = NULL;
		return err;
	}
	d->magic = SK_HMAP_MAGIC;
	d->pid = (uint32_t)getpid();
	d->fd = fd;
	d->len = len;
	return 0;
}

void sk_hmap_destroy(struct sk_hmap *d, void *p)
{
	if (p != NULL)
		munmap(p, d->len);
	if (d->fd >= 0)
		close(d->fd);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}

void *sk_hmap_open(const void *desc, size_t len, size_t *len_p)
{
	struct sk_hmap d;
	char id[SK_HMAP_BOOT_ID_LEN], path[64], link[64];
	struct stat st;
	ssize_t n;
	void *p;
	int fd, err;

	if (len != sizeof(d)) {
		errno = EINVAL;
		return NULL;
	}
	memcpy(&d, desc, sizeof(d));
	if (d.magic != SK_HMAP_MAGIC || d.fd < 0 || d.pid == 0 ||
	    d.len == 0 || d.len > SK_HMSG_AREA_MAX ||
	    d.boot_id[SK_HMAP_BOOT_ID_LEN - 1] != '\0') {
		errno = EINVAL;
		return NULL;
	}
	err = sk_hmap_boot_id(id);
	if (err) {
		errno = -err;
		return NULL;
	}
	if (memcmp(id, d.boot_id, sizeof(id)) != 0) {
		errno = EXDEV;
		return NULL;
	}
	snprintf(path, sizeof(path), "/proc/%u/fd/%d", d.pid, d.fd);
	/* The host's memory file, not whatever that pid and descriptor
	 * name here (another pid namespace on the same kernel). */
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return NULL;
	link[n] = '\0';
	if (strncmp(link, SK_HMAP_LINK, strlen(SK_HMAP_LINK)) != 0) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != d.len) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	p = mmap(NULL, d.len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	err = errno;
	close(fd);
	if (p == MAP_FAILED) {
		errno = err;
		return NULL;
	}
	*len_p = d.len;
	return p;
}
