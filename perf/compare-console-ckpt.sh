#!/usr/bin/env bash
# compare-console-ckpt.sh - a node's console latency while 16 others write
# a checkpoint through the same skrun, against the same job idle, in the
# same run (issue: "the console latency of another node stays within 2x
# of idle").
#
#   skrun -n 17 --tag-output --root DIR sk_console_lat S ckpt MIB | linelat
#   skrun -n 17 --tag-output --root DIR sk_console_lat S idle MIB | linelat
#
# Rank 0 prints a line every 5 ms for S seconds, each carrying the
# CLOCK_MONOTONIC time of its printf; linelat, reading skrun's stdout on
# this host, takes now minus that: the line's trip from printf through
# the fabric, skrun and its stdout pipe. Meanwhile ranks 1-16 write their
# slices of a MIB MiB file (1 MiB sk_write calls, over and over: "ckpt"),
# or sleep ("idle"). Trials alternate which goes first. Reported: p50 and
# p99 of each trial's lines (medians over trials), the ratios ckpt/idle,
# and the checkpoint's MB/s. Target: p50 ratio <= 2.0. No timing is
# asserted: the exit status says whether every run worked.
#
# Exit status: 0 every run succeeded, 1 a run failed, 2 usage.
set -uo pipefail

usage() {
	cat <<'EOF_USAGE'
usage: perf/compare-console-ckpt.sh [--trials T] [--seconds S] [--writers W]
                                    [--mib M] [--dir DIR] [--quick]

  --trials T    runs of each (default 3)
  --seconds S   how long each run prints and writes (default 3)
  --writers W   the checkpointing nodes (default 16)
  --mib M       the checkpoint file (default 4096)
  --dir DIR     where it goes (default /dev/shm, else TMPDIR)
  --quick       1 trial, 1 s, 4 writers, 256 MiB: a smoke test

Environment: BUILD (default build) picks the binaries (make perf-os).
EOF_USAGE
}

trials=3
secs=3
writers=16
mib=4096
dir=
os_verbose=0
os_keep=0
num() {
	if ! [[ $2 =~ ^[1-9][0-9]*$ ]] || [ "$2" -gt 65536 ]; then
		echo "compare-console-ckpt.sh: bad $1: $2" >&2
		exit 2
	fi
}
while [ $# -gt 0 ]; do
	case $1 in
	--trials | --seconds | --writers | --mib | --dir)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		set -- "$1=$2" "${@:3}" ;;
	--trials=*) num --trials "${1#*=}"; trials=${1#*=}; shift ;;
	--seconds=*) num --seconds "${1#*=}"; secs=${1#*=}; shift ;;
	--writers=*) num --writers "${1#*=}"; writers=${1#*=}; shift ;;
	--mib=*) num --mib "${1#*=}"; mib=${1#*=}; shift ;;
	--dir=*) dir=${1#*=}; shift ;;
	--quick) trials=1 secs=1 writers=4 mib=256; shift ;;
	--verbose) os_verbose=1; shift ;;
	--keep) os_keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

os_name=compare-console-ckpt.sh
# shellcheck source-path=SCRIPTDIR source=os/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/os/lib.sh"
os_setup sk_console_lat linelat || exit 1
if [ -z "$dir" ]; then
	dir=/dev/shm
	[ -w /dev/shm ] && [ "$(df -Pm /dev/shm | awk 'NR==2{print $4}')" -gt $((mib + 256)) ] ||
		dir=${TMPDIR:-/tmp}
fi
data=$(mktemp -d "$dir/skiff-ckpt.XXXXXX") || exit 1
trap 'rm -rf "$data"; os_cleanup' EXIT

failed=0
fail() { echo "$os_name: $*" >&2; failed=1; }
declare -A vals
n=$((writers + 1))

run() { # idle|ckpt
	local out=$os_tmp/lat.out err=$os_tmp/lat.err p50 p99 wrote
	os_show "| linelat" "$os_skrun" -n "$n" --tag-output --root "$data" \
		"$os_bin/sk_console_lat" "$secs" "$1" "$mib"
	"$os_skrun" -n "$n" --tag-output --root "$data" "$os_bin/sk_console_lat" \
		"$secs" "$1" "$mib" </dev/null 2>"$err" | "$os_bin/linelat" >"$out" 2>>"$err"
	local rc=("${PIPESTATUS[@]}")
	if [ "${rc[0]}" != 0 ] || [ "${rc[1]}" != 0 ]; then
		fail "$1 run failed (skrun ${rc[0]}, linelat ${rc[1]})"
		tail -n 5 "$err" >&2
		return 1
	fi
	read -r p50 p99 < <(awk '$1 == "lines" { print $4, $6 }' "$out")
	[ -n "${p99:-}" ] || { fail "$1: no latency figures"; return 1; }
	wrote=$(awk '/ckpt_mib/ { s += $NF } END { print s + 0 }' "$err")
	vals[$1.p50]+="$p50 "
	vals[$1.p99]+="$p99 "
	vals[$1.mbs]+="$(awk -v m="$wrote" -v s="$secs" 'BEGIN { printf "%.0f", m / s }') "
	echo "  trial $trial: $1 p50 $p50 p99 $p99 us, checkpoint $wrote MiB in $secs s"
}

echo "$os_name: 1 console node beside $writers checkpointing, $secs s a run," \
	"$mib MiB file; $trials trial(s); data in $dir; $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
for trial in $(seq "$trials"); do
	if [ $((trial % 2)) = 1 ]; then run ckpt; run idle; else run idle; run ckpt; fi
	rm -f "$data/ckpt.dat"
done

printf '\n| console line (us) | idle | during checkpoint | ratio | target |\n|---|---|---|---|---|\n'
for q in p50 p99; do
	# shellcheck disable=SC2086 # lists of numbers
	i=$(os_median ${vals[idle.$q]:-}) || { fail "no idle figures"; break; }
	# shellcheck disable=SC2086
	c=$(os_median ${vals[ckpt.$q]:-}) || { fail "no checkpoint figures"; break; }
	r=$(os_div "$c" "$i")
	t="-"
	[ $q = p50 ] && t=$(awk -v r="$r" 'BEGIN{print (r <= 2.0) ? "<= 2.0 met" : "<= 2.0 missed"}')
	printf '| %s | %s | %s | %.2fx | %s |\n' "$q" "$i" "$c" "$r" "$t"
done
# shellcheck disable=SC2086
echo "checkpoint: $(os_median ${vals[ckpt.mbs]:-0}) MB/s from $writers nodes (median)"
exit $failed
