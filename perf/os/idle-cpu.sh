#!/usr/bin/env bash
# idle-cpu.sh - what an idle Skiff job costs in CPU: skrun and N nodes that
# sleep on their loops (build/perf/os/sk_idle: sk_os_sleep_ms, a timer and
# the completion channel).
#
# Each trial starts `skrun -n N sk_idle MS`, waits --settle seconds for the
# boot to finish, then reads utime + stime of skrun and of every node (all
# their threads: /proc/PID/stat, fields 14 and 15, in clock ticks) at the
# start and at the end of a --window seconds window. CPU % is of one core:
# 100 * ticks / CLK_TCK / window. The sum of the threads' run times from
# /proc/PID/task/*/schedstat (nanoseconds, not sampled at ticks) is printed
# next to it as a cross-check. The job must then end by itself with exit 0
# and N "done" lines. The target, judged on the median of the trials'
# totals from /proc/PID/stat: skrun and all the nodes together under 5% of
# one core.
#
# Exit status: 0 target met, 1 a run failed, 2 usage, 4 target missed.
set -uo pipefail

usage() {
	cat <<'EOF_USAGE'
usage: perf/os/idle-cpu.sh [--trials T] [--nodes N] [--settle S] [--window S]
                           [--verbose] [--keep]

  --trials T    jobs to measure; the median total is judged (default 3)
  --nodes N     nodes per job (default 8)
  --settle S    seconds from skrun's start to the window (default 2)
  --window S    seconds of the measurement window (default 5)
  --verbose     print every command as it is run, and each process's figure
  --keep        keep the raw outputs (their directory is printed)

Environment: BUILD (default build) picks the binaries (make perf-os).
EOF_USAGE
}

trials=3
nodes=8
settle=2
window=5
os_verbose=0
os_keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--trials | --nodes | --settle | --window)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		set -- "$1=$2" "${@:3}" ;;
	--trials=*) trials=${1#*=}; shift ;;
	--nodes=*) nodes=${1#*=}; shift ;;
	--settle=*) settle=${1#*=}; shift ;;
	--window=*) window=${1#*=}; shift ;;
	--verbose) os_verbose=1; shift ;;
	--keep) os_keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "idle-cpu.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
for v in trials nodes settle window; do
	if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]] || [ "${!v}" -gt 4096 ]; then
		echo "idle-cpu.sh: bad --$v: ${!v}" >&2
		exit 2
	fi
done

os_name=idle-cpu.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"
# cmp_reap: the job's bounded wait.
# shellcheck source-path=SCRIPTDIR source=../compare-lib.sh
. "$here/../compare-lib.sh"
os_setup sk_idle || exit 1
hz=$(getconf CLK_TCK)
# The nodes sleep past the window, then end by themselves.
sleep_ms=$(( (settle + window + 1) * 1000 ))
target=5

# ticks PID: utime + stime of the process (all threads); fields after the
# last ')' (the name may hold anything) start at field 3.
ticks() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	awk '{print $12 + $13}' <<<"$s"
}

# runns PID: the threads' run time in ns (schedstat's first field).
runns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{n += $1} END{print n + 0}'
}

pct() { awk -v t="$1" -v d="$2" 'BEGIN{printf "%.2f", 100 * t / d}'; }

failed=0
totals='' skruns='' avgs='' maxs='' exacts=''
echo "idle-cpu.sh: skrun -n $nodes sk_idle $sleep_ms; window ${window} s after" \
	"${settle} s; $trials trial(s); $(nproc) CPUs; CLK_TCK $hz;" \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"

for trial in $(seq "$trials"); do
	out=$os_tmp/job.$trial.out
	os_show ">$out" "$os_skrun" -n "$nodes" "$os_bin/sk_idle" "$sleep_ms"
	"$os_skrun" -n "$nodes" "$os_bin/sk_idle" "$sleep_ms" </dev/null \
		>"$out" 2>"$os_tmp/last.err" &
	sk=$!
	sleep "$settle"
	mapfile -t pids < <(cat /proc/"$sk"/task/*/children 2>/dev/null | tr " " "\n" | grep .)
	if [ "${#pids[@]}" != "$nodes" ]; then
		echo "$os_name: skrun has ${#pids[@]} children after ${settle} s, not $nodes" >&2
		failed=1
	fi
	declare -A t0=() n0=()
	for p in "$sk" "${pids[@]}"; do
		t0[$p]=$(ticks "$p") || t0[$p]=
		n0[$p]=$(runns "$p")
	done
	sleep "$window"
	tot=0 tot_ns=0 sk_t=0 max=0 sum_nodes=0
	for p in "$sk" "${pids[@]}"; do
		t1=$(ticks "$p") || t1=
		n1=$(runns "$p")
		if [ -z "${t0[$p]}" ] || [ -z "$t1" ]; then
			echo "$os_name: process $p ended inside the window" >&2
			failed=1
			continue
		fi
		d=$((t1 - t0[$p]))
		dn=$((n1 - n0[$p]))
		tot=$((tot + d))
		tot_ns=$((tot_ns + dn))
		if [ "$p" = "$sk" ]; then
			sk_t=$d
			name=skrun
		else
			sum_nodes=$((sum_nodes + d))
			[ "$d" -gt "$max" ] && max=$d
			name="node $p"
		fi
		[ "$os_verbose" = 1 ] && printf '    %-12s %3d ticks  %6s %%  (schedstat %6s %%)\n' \
			"$name" "$d" "$(pct "$d" $((hz * window)))" \
			"$(pct "$dn" $((window * 1000000000)))"
	done
	# The job ends by itself: exit 0, a "done" line per node.
	cmp_reap "$sk" $((sleep_ms / 1000 + 30))
	rc=$cmp_reaped_rc
	got=$(grep -c "^idle rank [0-9]* of $nodes: done$" "$out")
	if [ "$rc" != 0 ] || [ "$got" != "$nodes" ]; then
		echo "$os_name: the job (trial $trial) exited $rc with $got of $nodes done lines" >&2
		os_tail "$out"
		failed=1
	fi
	d=$((hz * window))
	tp=$(pct "$tot" "$d")
	n=${#pids[@]}
	[ "$n" -gt 0 ] || n=1
	avg=$(awk -v s="$sum_nodes" -v n="$n" -v d="$d" 'BEGIN{printf "%.2f", 100 * s / n / d}')
	totals+="$tp " skruns+="$(pct "$sk_t" "$d") " avgs+="$avg "
	maxs+="$(pct "$max" "$d") " exacts+="$(pct "$tot_ns" $((window * 1000000000))) "
	printf '  trial %d: total %6s %%  skrun %6s %%  per node avg %6s %%  max %6s %%  (schedstat total %6s %%)\n' \
		"$trial" "$tp" "$(pct "$sk_t" "$d")" "$avg" "$(pct "$max" "$d")" \
		"$(pct "$tot_ns" $((window * 1000000000)))"
done

# shellcheck disable=SC2086 # the values are words
med() { os_fmt "$(os_median $1)" 2; }
echo
echo "Medians of $trials trial(s), CPU % of one core over ${window} s, idle job of" \
	"$nodes nodes (utime + stime, /proc/PID/stat)"
printf '%6s %8s %8s %13s %13s %16s %7s  %s\n' nodes total_% skrun_% node_avg_% \
	node_max_% schedstat_tot_% target result
tm=$(med "$totals")
if awk -v t="$tm" -v g="$target" 'BEGIN{exit !(t < g)}'; then result=PASS; else result=MISS; fi
printf '%6s %8s %8s %13s %13s %16s %7s  %s\n' "$nodes" "$tm" "$(med "$skruns")" \
	"$(med "$avgs")" "$(med "$maxs")" "$(med "$exacts")" "<$target" "$result"
[ $failed = 1 ] && exit 1
[ $result = MISS ] && exit 4
exit 0
