/*
 * Private to libos: the node's console (console.c), a service boot.c
 * starts once the host link is up and flushes at finalize and abort.
 */
#ifndef SKIFF_LIBOS_CONSOLE_H
#define SKIFF_LIBOS_CONSOLE_H

/* Replace stdout, stderr and stdin by streams over the host link, and
 * chain the crash handlers that flush them. */
void sk_console_install(void);
/* Write what the streams hold and wait for the host's replies. */
void sk_console_flush(void);

#endif /* SKIFF_LIBOS_CONSOLE_H */
