#!/bin/sh
# on-rank.sh RANK WRAPPER... -- PROGRAM ARGS...: run as a skrun job's
# program, so that only rank RANK runs under WRAPPER (valgrind, for
# perf/kv/owner-ir.sh) and the others run PROGRAM as it is. skrun puts each
# node's rank in SKIFF_RANK. The node gets skrun's whole command line, so
# PROGRAM must find its own arguments in it (kvbench takes those after the
# word naming it).
if [ $# -lt 3 ]; then
	echo "usage: on-rank.sh RANK WRAPPER... -- PROGRAM [ARGS...]" >&2
	exit 2
fi
rank=$1
shift
case $rank in *[!0-9]* | '') echo "on-rank.sh: bad rank '$rank'" >&2; exit 2 ;; esac
if [ "${SKIFF_RANK:-}" = "$rank" ]; then
	n=0
	for a in "$@"; do
		[ "$a" = -- ] && break
		n=$((n + 1))
	done
	[ "$n" -lt $# ] || { echo "on-rank.sh: no -- before the program" >&2; exit 2; }
	# Drop the "--": WRAPPER... PROGRAM ARGS...
	i=0
	for a in "$@"; do
		shift
		if [ "$i" = "$n" ]; then
			:
		else
			set -- "$@" "$a"
		fi
		i=$((i + 1))
	done
	exec "$@"
fi
while [ $# -gt 0 ] && [ "$1" != -- ]; do shift; done
[ $# -gt 1 ] || { echo "on-rank.sh: no program after --" >&2; exit 2; }
shift
exec "$@"
