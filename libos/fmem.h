/*
 * The file memory's blocks (fmem.c): where the host's area is mapped on
 * this node, the part of it after the slices that the application's
 * buffers may live in, so that skrun's threads pread(2) into and
 * pwrite(2) from them with no copy here. Blocks come from sk_file_alloc
 * and, past SKIFF_FILE_MALLOC_KB, from malloc (libos/README.md, "File
 * memory").
 */
#ifndef SKIFF_LIBOS_FMEM_H
#define SKIFF_LIBOS_FMEM_H

#include <stdbool.h>
#include <stddef.h>

/* The most blocks, taken and free, the table holds: at most 256 taken at
 * once, 255 where the last would have to be cut from a free one. Past
 * that, sk_file_alloc and malloc give ordinary memory, as when the file
 * memory is used up (e2e filemem tests at and past it). */
#define SK_FMEM_BLOCKS 256u

enum sk_fmem_kind {
	SK_FMEM_NONE,   /* not (wholly) inside one block */
	SK_FMEM_FILE,   /* a block of sk_file_alloc's */
	SK_FMEM_MALLOC, /* a block malloc gave */
};

/* Take @len bytes at @base as the file memory (boot, once mapped), and
 * read SKIFF_FILE_MALLOC_KB. */
void sk_fmem_setup(char *base, size_t len);
/* The kind of block [@buf, @buf + @len) lies in. */
enum sk_fmem_kind sk_fmem_kind(const void *buf, size_t len);
/* How long the file memory is: 0 where there is none. */
size_t sk_fmem_size(void);
/* Whether this host has more cores than it has nodes of the job (read
 * at boot): then a node's copy runs beside the host's threads. */
bool sk_fmem_spare_core(void);
/* Whether any block is taken: the mapping then outlives the node's
 * teardown (a free after it, an exit handler's, must find it). */
bool sk_fmem_busy(void);

#endif /* SKIFF_LIBOS_FMEM_H */
