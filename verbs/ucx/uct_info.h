/*
 * skinfo's window on UCT (uct_info.c): the limits of one UCX transport on
 * one device, as `ucx_info -d` prints them. No UCX header leaks out of
 * here, so skinfo.c stays free of them.
 */
#ifndef SKIFF_VERBS_UCT_INFO_H
#define SKIFF_VERBS_UCT_INFO_H

#include <stdio.h>

/*
 * Print transport @tl on device @dev ("tcp", "eth0"): its type,
 * bandwidth, latency and the largest put/get/active message of each
 * kind, each line starting with @indent. Returns 0, or -1 when UCT does
 * not offer it or cannot open it here (said on @out too).
 */
int sk_uct_print_limits(FILE *out, const char *indent, const char *tl,
			const char *dev);

#endif /* SKIFF_VERBS_UCT_INFO_H */
