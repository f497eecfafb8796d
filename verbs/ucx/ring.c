/*
 * Same-host rings: setup, the cell checker, and wakeups (ring.h has the
 * design).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../provider.h"
#include "../wire.h"
#include "ring.h"

sk_status_t ucx_ring_cell_check(const struct ucx_cell *c, uint32_t off,
				uint32_t size, const char **why)
{
	switch (c->kind) {
	case UCX_CELL_MSG:
		if (c->len > ucx_ring_max_msg(size) ||
		    (uint64_t)off + ucx_ring_cell_bytes(c->len) > size) {
			*why = "a message runs past the ring";
			return SK_ERR_MALFORMED;
		}
		return SK_OK;
	case UCX_CELL_WRAP:
		if (off == 0) {
			*why = "a wrap cell at the start of the ring";
			return SK_ERR_MALFORMED;
		}
		return SK_OK;
	default:
		*why = "an unknown cell kind";
		return SK_ERR_MALFORMED;
	}
}

/* This boot of this machine: two endpoints with the same id can share
 * memory (same kernel). 0 when unknown. */
static uint64_t ucx_ring_host_id(void)
{
	char buf[64] = "";
	ssize_t n;
	int fd;

	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	return ((uint64_t)sk_wire_hash32(buf, (size_t)n) << 32 |
		sk_wire_hash32(buf, (size_t)n / 2)) ?: 1;
}

static socklen_t ucx_ring_sockaddr(struct sockaddr_un *sa,
				   const uint8_t name[UCX_RING_WAKE_LEN])
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* Abstract namespace: sun_path[0] = 0; gone when the socket is. */
	memcpy(sa->sun_path + 1, name, UCX_RING_WAKE_LEN);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   UCX_RING_WAKE_LEN);
}

void ucx_ring_host_init(struct ucx_ring_host *h)
{
	struct sockaddr_un sa;
	socklen_t salen;

	h->host_id = ucx_ring_host_id();
	h->pid = (uint32_t)getpid();
	h->wake_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    0);
	if (h->wake_fd < 0 || h->host_id == 0)
		goto fail;
	for (int tries = 0; tries < 4; tries++) {
		if (getrandom(h->wake_name, sizeof(h->wake_name), 0) !=
		    sizeof(h->wake_name))
			goto fail;
		memcpy(h->wake_name, "skiff", 5); /* readable in ss -x */
		salen = ucx_ring_sockaddr(&sa, h->wake_name);
		if (bind(h->wake_fd, (struct sockaddr *)&sa, salen) == 0)
			return;
	}
fail:
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	h->wake_fd = -1;
	h->host_id = 0;
}

void ucx_ring_host_cleanup(struct ucx_ring_host *h)
{
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	h->wake_fd = -1;
}

/* Every wakeup waiting, in one system call for up to 16 of them (a node
 * woken by many senders at once); recv(2) until EAGAIN took two for one. */
void ucx_ring_host_drain(const struct ucx_ring_host *h)
{
	enum { N = 16 };
	char buf[N];
	struct iovec iov[N];
	struct mmsghdr m[N];

	if (h->wake_fd < 0)
		return;
	memset(m, 0, sizeof(m));
	for (int i = 0; i < N; i++) {
		iov[i] = (struct iovec){.iov_base = &buf[i], .iov_len = 1};
		m[i].msg_hdr.msg_iov = &iov[i];
		m[i].msg_hdr.msg_iovlen = 1;
	}
	while (recvmmsg(h->wake_fd, m, N, MSG_DONTWAIT, NULL) == N)
		;
}

sk_status_t ucx_ring_rx_create(struct ucx_ring_rx *r, uint32_t size)
{
	size_t total = UCX_RING_CTL_SIZE + (size_t)size;
	void *p;
	int fd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	fd = memfd_create("skiff-ring", MFD_CLOEXEC);
	if (fd < 0)
		return sk_status_from_errno(errno);
	if (ftruncate(fd, (off_t)total) != 0) {
		sk_status_t st = sk_status_from_errno(errno);

		close(fd);
		return st;
	}
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		sk_status_t st = sk_status_from_errno(errno);

		close(fd);
		return st;
	}
	r->ctl = p;
	r->ctl->magic = UCX_RING_MAGIC;
	r->ctl->size = size;
	r->data = (uint8_t *)p + UCX_RING_CTL_SIZE;
	r->size = size;
	r->fd = fd;
	return SK_OK;
}

void ucx_ring_rx_destroy(struct ucx_ring_rx *r)
{
	if (r->ctl)
		munmap(r->ctl, UCX_RING_CTL_SIZE + (size_t)r->size);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

sk_status_t ucx_ring_tx_open(struct ucx_ring_tx *t, uint32_t pid, int fd,
			     uint32_t size, int wake_fd,
			     const uint8_t wake_name[UCX_RING_WAKE_LEN])
{
	size_t total = UCX_RING_CTL_SIZE + (size_t)size;
	char path[64];
	struct stat st;
	void *p;
	int mfd;

	memset(t, 0, sizeof(*t));
	if (fd < 0 || size < 4096 || (size & (size - 1)) || size > 1u << 30 ||
	    wake_fd < 0)
		return SK_ERR_INVAL;
	snprintf(path, sizeof(path), "/proc/%u/fd/%d", pid, fd);
	mfd = open(path, O_RDWR | O_CLOEXEC);
	if (mfd < 0)
		return sk_status_from_errno(errno);
	if (fstat(mfd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size < total) {
		close(mfd);
		return SK_ERR_INVAL;
	}
	p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	close(mfd);
	if (p == MAP_FAILED)
		return sk_status_from_errno(errno);
	t->ctl = p;
	if (t->ctl->magic != UCX_RING_MAGIC || t->ctl->size != size) {
		munmap(p, total);
		t->ctl = NULL;
		return SK_ERR_INVAL;
	}
	t->data = (uint8_t *)p + UCX_RING_CTL_SIZE;
	t->size = size;
	t->wake_fd = wake_fd;
	memcpy(t->wake_name, wake_name, UCX_RING_WAKE_LEN);
	return SK_OK;
}

void ucx_ring_tx_close(struct ucx_ring_tx *t)
{
	if (t->ctl)
		munmap(t->ctl, UCX_RING_CTL_SIZE + (size_t)t->size);
	memset(t, 0, sizeof(*t));
}

void ucx_ring_tx_wake(const struct ucx_ring_tx *t)
{
	struct sockaddr_un sa;
	socklen_t salen = ucx_ring_sockaddr(&sa, t->wake_name);
	char b = 0;

	/* EAGAIN: datagrams wait already, so the peer will wake. */
	(void)sendto(t->wake_fd, &b, 1, MSG_DONTWAIT, (struct sockaddr *)&sa,
		     salen);
}
