/*
 * Private to libos: sealed mode (seal.c), which boot.c applies last.
 */
#ifndef SKIFF_LIBOS_SEAL_H
#define SKIFF_LIBOS_SEAL_H

/* Install the seccomp filter on every thread. 0 or a negated errno. */
int sk_seal(void);

#endif /* SKIFF_LIBOS_SEAL_H */
