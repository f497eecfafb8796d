/*
 * Fault injection, for tests only (in the spirit of SQLite's): a build made
 * with -DSK_FAULT_INJECT (make FAULTS=1) counts every fault point a process
 * passes, and makes the N-th one fail with the error the real call would
 * return. tests/faults/walk.sh walks N over every point of a workload.
 *
 * Fault points: every verbs call that reaches a provider and can fail
 * (device open, registration and packing, rkey unpack, endpoint create,
 * pack and connect, every post), every arena allocation and every pool get
 * (libos/arena.c). Polls and arms are not points: how many a run makes
 * depends on timing, and the walk needs the same sequence on every run.
 *
 *   SKIFF_FAULT_AT=N       the N-th point (from 1) fails, once; 0 or unset:
 *                          none fails, points are only counted
 *   SKIFF_FAULT_PROC=NAME  only a process of that name (its argv[0]'s last
 *                          part) counts and fails; others pass through
 *   SKIFF_FAULT_IF=VAR=VAL and only one whose environment has VAR=VAL
 *                          (SKIFF_FAULT_IF=SKIFF_RANK=1: that node of a job)
 *   SKIFF_FAULT_COUNT=PFX  each counting process keeps its count in the
 *                          file PFX.NAME.PID, up to date after every point
 *                          (so a crash or an _exit loses nothing)
 *
 * The injected failure is logged on stderr, "skiff: fault N injected:
 * WHERE". In a normal build SK_FAULT() is 0 and nothing here exists.
 * Not installed: libos includes it, as a layer below it.
 */
#ifndef SKIFF_FAULT_H
#define SKIFF_FAULT_H

#ifdef SK_FAULT_INJECT
/* Count one point named @where; nonzero if it must fail. */
int sk_fault_hit(const char *where);
#define SK_FAULT(where) __builtin_expect(sk_fault_hit(where), 0)
#else
#define SK_FAULT(where) 0
#endif

#endif /* SKIFF_FAULT_H */
