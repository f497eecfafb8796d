#!/usr/bin/env bash
# run.sh - every kv benchmark of perf/kv/ in turn, each side by side with
# its peer (perf/README.md, "kv"): the zipf check, GET latency against
# sk_read_lat, throughput and memory against memcached, owner instructions
# by callgrind. Build first (make perf-kv). Arguments go to none of them;
# run a script alone for its options.
#
# Exit status: the worst of theirs: 1 if any run failed, else 4 if any
# target was missed, else 0.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
build=${BUILD:-build}
case $build in /*) ;; *) build=$here/../../$build ;; esac
if [ $# -gt 0 ]; then
	[ "$1" = -h ] || [ "$1" = --help ] || { echo "run.sh: takes no arguments" >&2; exit 2; }
	sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
fi
failed=0 missed=0
for cmd in "$build/perf/kv/kvb_zipf_check" "$here/vs-read-lat.sh" \
	"$here/vs-memcached.sh" "$here/owner-ir.sh"; do
	echo "== $(basename "$cmd")"
	"$cmd"
	rc=$?
	case $rc in
	0) ;;
	4) missed=1 ;;
	*) failed=1 ;; # kvb_zipf_check's 1: the generator is wrong
	esac
	echo
done
[ $failed = 1 ] && exit 1
[ $missed = 1 ] && exit 4
exit 0
