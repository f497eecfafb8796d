/*
 * The file memory: where the host's area is mapped on this node, the part
 * of it after the slices (hostproto.h, SK_HMSG_AREA_MAX) that holds the
 * application's buffers. A transfer from or into it is a request per
 * piece naming its offset in the area: the host's threads pwrite(2) from
 * and pread(2) into the buffer itself, and nothing is copied here
 * (file.c). Blocks are whole pages (O_DIRECT's alignment and more), first
 * fit, in a table of their own in the node's memory (the host's pages
 * hold only data), adjacent free ones merged.
 *
 * Blocks come from sk_file_alloc, and from malloc and its kin for a
 * request of SKIFF_FILE_MALLOC_KB or more (the library OS owns the node's
 * memory: an application's large buffers are where the host reads and
 * writes files, with no copy, as MPI_Alloc_mem's would be). Past what the
 * file memory holds, or where there is none (another host, RDMA, before
 * boot), malloc is glibc's. The blocks' table has a lock of its own, a
 * spin: any thread may call malloc, and a sealed node has no futex to
 * sleep on.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <skiff/config.h>
#include <skiff/file.h>

#include "fmem.h"

SK_CONFIG_USES(sk_os_config);

#define SK_FMEM_ALIGN  4096u

/*
 * The sanitizers bring their own malloc, which must see every block: with
 * them, malloc is theirs alone and the file memory is sk_file_alloc's.
 * (SK_FMEM_HOOKS: whether malloc is ours. Not SK_FMEM_MALLOC, the kind
 * of block sk_fmem_kind names, which such a macro would shadow.)
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SK_FMEM_HOOKS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
	__has_feature(memory_sanitizer)
#define SK_FMEM_HOOKS 0
#endif
#endif
#ifndef SK_FMEM_HOOKS
#define SK_FMEM_HOOKS 1
#endif

static struct {
	struct sk_fmem_block {
		size_t off, len;
		bool   used;
		bool   malloced;
	}        b[SK_FMEM_BLOCKS];
	unsigned n;          /* blocks in b */
	unsigned used;       /* of them taken */
	char    *base;       /* set once at boot, never cleared */
	size_t   len;
	size_t   malloc_min; /* 0: malloc never comes here */
	bool     spare_core; /* this host has more cores than nodes */
	int      lock;
} sk_fmem;

static void sk_fmem_lock(void)
{
	while (__atomic_exchange_n(&sk_fmem.lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&sk_fmem.lock, __ATOMIC_RELAXED))
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#else
			;
#endif
}

static void sk_fmem_unlock(void)
{
	__atomic_store_n(&sk_fmem.lock, 0, __ATOMIC_RELEASE);
}

/* Whether @p is inside the file memory (no lock: base and len are set
 * once). */
static bool sk_fmem_in(const void *p)
{
	char *base = __atomic_load_n(&sk_fmem.base, __ATOMIC_ACQUIRE);

	return base != NULL && (uintptr_t)p - (uintptr_t)base < sk_fmem.len;
}

void sk_fmem_setup(char *base, size_t len)
{
	const char *local = getenv("SKIFF_LOCAL_SIZE");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned long kb;

	if (base == NULL || len < SK_FMEM_ALIGN)
		return;
	sk_fmem_lock();
	if (sk_fmem.base == NULL) {
		sk_fmem.len = len;
		sk_fmem.b[0] = (struct sk_fmem_block){0, len, false, false};
		sk_fmem.n = 1;
		sk_fmem.spare_core = local != NULL && cpus > 0 &&
				     strtoul(local, NULL, 10) < (unsigned long)cpus;
		if (SK_FMEM_HOOKS &&
		    sk_config_ulong("SKIFF_FILE_MALLOC_KB", 0, 1ul << 30,
				    &kb) == SK_OK && kb > 0)
			__atomic_store_n(&sk_fmem.malloc_min, (size_t)kb << 10,
					 __ATOMIC_RELAXED);
		__atomic_store_n(&sk_fmem.base, base, __ATOMIC_RELEASE);
	}
	sk_fmem_unlock();
}

static void sk_fmem_drop(unsigned i)
{
	memmove(&sk_fmem.b[i], &sk_fmem.b[i + 1],
		(sk_fmem.n - i - 1) * sizeof(sk_fmem.b[0]));
	sk_fmem.n--;
}

/* First fit of @len (whole pages), or NULL. */
static void *sk_fmem_take(size_t len, bool malloced)
{
	void *p = NULL;
	unsigned i;

	if (__atomic_load_n(&sk_fmem.base, __ATOMIC_ACQUIRE) == NULL ||
	    len > sk_fmem.len)
		return NULL;
	sk_fmem_lock();
	for (i = 0; i < sk_fmem.n; i++) {
		struct sk_fmem_block *blk = &sk_fmem.b[i];

		if (blk->used || blk->len < len)
			continue;
		if (blk->len > len) {
			/* Split: the rest stays free after it. */
			if (sk_fmem.n == SK_FMEM_BLOCKS)
				continue;
			memmove(blk + 2, blk + 1,
				(sk_fmem.n - i - 1) * sizeof(*blk));
			blk[1] = (struct sk_fmem_block){blk->off + len,
							blk->len - len, false,
							false};
			blk->len = len;
			sk_fmem.n++;
		}
		blk->used = true;
		blk->malloced = malloced;
		__atomic_add_fetch(&sk_fmem.used, 1, __ATOMIC_RELAXED);
		p = sk_fmem.base + blk->off;
		break;
	}
	sk_fmem_unlock();
	return p;
}

/* With the lock held: the taken block that starts at @p, or -1. */
static int sk_fmem_find(const void *p)
{
	for (unsigned i = 0; i < sk_fmem.n; i++)
		if (sk_fmem.b[i].used &&
		    sk_fmem.base + sk_fmem.b[i].off == (const char *)p)
			return (int)i;
	return -1;
}

static __attribute__((noreturn)) void sk_fmem_bad(const char *fn,
						 const void *p)
{
	fprintf(stderr, "skiff: %s(%p): inside the file memory, but not a "
			"block's start\n", fn, p);
	abort();
}

/* Give back the block at @p. False when @p is not in the file memory. */
static bool sk_fmem_give(const char *fn, void *p)
{
	int i;

	if (!sk_fmem_in(p))
		return false;
	sk_fmem_lock();
	i = sk_fmem_find(p);
	if (i < 0) {
		sk_fmem_unlock();
		sk_fmem_bad(fn, p);
	}
	sk_fmem.b[i].used = false;
	__atomic_sub_fetch(&sk_fmem.used, 1, __ATOMIC_RELAXED);
	if ((unsigned)i + 1 < sk_fmem.n && !sk_fmem.b[i + 1].used) {
		sk_fmem.b[i].len += sk_fmem.b[i + 1].len;
		sk_fmem_drop((unsigned)i + 1);
	}
	if (i > 0 && !sk_fmem.b[i - 1].used) {
		sk_fmem.b[i - 1].len += sk_fmem.b[i].len;
		sk_fmem_drop((unsigned)i);
	}
	sk_fmem_unlock();
	return true;
}

enum sk_fmem_kind sk_fmem_kind(const void *buf, size_t len)
{
	enum sk_fmem_kind kind = SK_FMEM_NONE;
	size_t off;

	if (!sk_fmem_in(buf))
		return SK_FMEM_NONE;
	off = (size_t)((const char *)buf - sk_fmem.base);
	sk_fmem_lock();
	for (unsigned i = 0; i < sk_fmem.n; i++) {
		const struct sk_fmem_block *blk = &sk_fmem.b[i];

		if (off < blk->off || off - blk->off >= blk->len)
			continue;
		if (blk->used && len <= blk->len - (off - blk->off))
			kind = blk->malloced ? SK_FMEM_MALLOC : SK_FMEM_FILE;
		break;
	}
	sk_fmem_unlock();
	return kind;
}

size_t sk_fmem_size(void)
{
	return __atomic_load_n(&sk_fmem.base, __ATOMIC_ACQUIRE) ? sk_fmem.len :
								  0;
}

bool sk_fmem_spare_core(void)
{
	return sk_fmem.spare_core;
}

bool sk_fmem_busy(void)
{
	return __atomic_load_n(&sk_fmem.used, __ATOMIC_RELAXED) > 0;
}

static size_t sk_fmem_round(size_t len)
{
	size_t sz = (len + SK_FMEM_ALIGN - 1) & ~(size_t)(SK_FMEM_ALIGN - 1);

	return sz < len ? 0 : sz == 0 ? SK_FMEM_ALIGN : sz;
}

#if SK_FMEM_HOOKS
/* glibc's allocator, which the functions below stand in front of (its
 * manual, "Replacing malloc"). */
extern void *__libc_malloc(size_t len);
extern void __libc_free(void *p);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t len);
extern void *__libc_memalign(size_t align, size_t len);

/* The length of the block at @p; 0 when @p is not in the file memory. */
static size_t sk_fmem_block_len(const char *fn, const void *p)
{
	size_t len;
	int i;

	if (!sk_fmem_in(p))
		return 0;
	sk_fmem_lock();
	i = sk_fmem_find(p);
	len = i < 0 ? 0 : sk_fmem.b[i].len;
	sk_fmem_unlock();
	if (i < 0)
		sk_fmem_bad(fn, p);
	return len;
}

/* A block of the file memory for a malloc of @len, or NULL. */
static void *sk_fmem_malloc(size_t len)
{
	size_t min = __atomic_load_n(&sk_fmem.malloc_min, __ATOMIC_RELAXED);
	size_t sz;

	if (min == 0 || len < min || (sz = sk_fmem_round(len)) == 0)
		return NULL;
	return sk_fmem_take(sz, true);
}

void *malloc(size_t len)
{
	void *p = sk_fmem_malloc(len);

	return p ? p : __libc_malloc(len);
}

void free(void *p)
{
	if (p != NULL && !sk_fmem_give("free", p))
		__libc_free(p);
}

void *calloc(size_t n, size_t size)
{
	size_t len;
	void *p;

	if (__builtin_mul_overflow(n, size, &len)) {
		errno = ENOMEM;
		return NULL;
	}
	p = sk_fmem_malloc(len);
	if (p == NULL)
		return __libc_calloc(n, size);
	memset(p, 0, len);
	return p;
}

void *realloc(void *p, size_t len)
{
	size_t have;
	void *q;

	if (p == NULL)
		return malloc(len);
	have = sk_fmem_block_len("realloc", p);
	if (have == 0)
		return __libc_realloc(p, len);
	if (len == 0) { /* as glibc's: freed, NULL */
		free(p);
		return NULL;
	}
	if (len <= have)
		return p;
	q = malloc(len);
	if (q == NULL)
		return NULL;
	memcpy(q, p, have);
	free(p);
	return q;
}

void *reallocarray(void *p, size_t n, size_t size)
{
	size_t len;

	if (__builtin_mul_overflow(n, size, &len)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, len);
}

void *memalign(size_t align, size_t len)
{
	void *p = align <= SK_FMEM_ALIGN ? sk_fmem_malloc(len) : NULL;

	return p ? p : __libc_memalign(align, len);
}

void *aligned_alloc(size_t align, size_t len)
{
	return memalign(align, len);
}

int posix_memalign(void **pp, size_t align, size_t len)
{
	void *p;

	if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0 ||
	    align == 0)
		return EINVAL;
	p = memalign(align, len);
	if (p == NULL)
		return ENOMEM;
	*pp = p;
	return 0;
}

void *valloc(size_t len)
{
	return memalign(SK_FMEM_ALIGN, len);
}

void *pvalloc(size_t len)
{
	size_t sz = sk_fmem_round(len);

	if (sz == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return memalign(SK_FMEM_ALIGN, sz);
}

size_t malloc_usable_size(void *p)
{
	static size_t (*libc_usable)(void *);
	size_t have;

	if (p == NULL)
		return 0;
	have = sk_fmem_block_len("malloc_usable_size", p);
	if (have > 0)
		return have;
	if (libc_usable == NULL)
		libc_usable = (size_t (*)(void *))dlsym(RTLD_NEXT,
							"malloc_usable_size");
	return libc_usable ? libc_usable(p) : 0;
}
#endif /* SK_FMEM_HOOKS */

void *sk_file_alloc(size_t len)
{
	size_t sz = sk_fmem_round(len);
	void *p;

	if (sz == 0) {
		errno = ENOMEM;
		return NULL;
	}
	p = sk_fmem_take(sz, false);
	if (p != NULL)
		return p;
	/* None left, or none here (another host, RDMA): ordinary memory,
	 * which every call takes too, through a copy. */
#if SK_FMEM_HOOKS
	return __libc_memalign(SK_FMEM_ALIGN, sz);
#else
	return aligned_alloc(SK_FMEM_ALIGN, sz);
#endif
}

void sk_file_free(void *p)
{
	if (p != NULL && !sk_fmem_give("sk_file_free", p))
		free(p);
}
