#!/usr/bin/env bash
# compare-boot.sh - what a whole job costs to start and end, and what its
# processes hold in memory while idle: skrun with a Skiff node against
# mpirun with an MPI program, on this host.
#
#   skrun -n N build/perf/os/sk_hello
#   mpirun --allow-run-as-root --oversubscribe -n N build/perf/os/mpi_hello
#
# Both programs print one line per rank ("hello from rank R of N") and end:
# sk_hello boots libos (fabric device, arena, endpoints, rank and argv over
# the fabric) and finalizes; mpi_hello calls MPI_Init and MPI_Finalize.
#
# Wall time: the whole command, CLOCK_MONOTONIC from before fork to after
# wait (perf/os/walltime), the two sides interleaved and alternating who
# goes first, --trials times per size; one untimed run of each first warms
# the caches. Every run must exit 0 within --timeout and print exactly N
# distinct hello lines for ranks 0..N-1. A side that fails at a size is
# reported as failed there and not run again at that size.
#
# Memory: one more run per side and size with `--pause FILE`: every rank
# prints its line and then idles (sk_hello asleep on its loop, mpi_hello in
# usleep) until FILE exists. Once all N lines are out, the script reads
# /proc/PID/smaps_rollup of the launcher and of every rank (the launcher's
# descendants running the program), then creates FILE and waits for a
# clean end. PSS divides each shared page among the processes that map it
# (libraries, shared-memory segments), so the PSS of the ranks and the
# launcher add up to the job's whole footprint; RSS counts shared pages in
# full in every process.
#
# Targets: skrun / mpirun wall time <= 0.30 (median over trials of the
# per-trial ratios) at every N; an idle node's PSS <= 8 MiB (every node:
# the maximum over the nodes is judged).
#
# Exit status: 0 every target met, 1 a run failed, 2 usage, 4 a target was
# missed.
set -uo pipefail

usage() {
	cat <<'EOF_USAGE'
usage: perf/compare-boot.sh [--trials T] [--sizes "1 4 16 64 256"] [--timeout S]
                            [--no-memory] [--verbose] [--keep]

  --trials T     timed runs of each command per size; medians are reported
                 (default 3)
  --sizes LIST   job sizes N (default "1 4 16 64 256")
  --timeout S    seconds one run may take before it counts as failed
                 (default 120)
  --no-memory    skip the idle-memory runs
  --verbose      print every command as it is run
  --keep         keep the raw outputs (their directory is printed)

Environment: BUILD (default build) picks the binaries (make perf-os builds
them); MPIRUN (default mpirun) the launcher of the reference.
EOF_USAGE
}

trials=3
sizes="1 4 16 64 256"
run_timeout=120
memory=1
os_verbose=0
os_keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--trials) [ $# -ge 2 ] || { usage >&2; exit 2; }; trials=$2; shift 2 ;;
	--trials=*) trials=${1#*=}; shift ;;
	--sizes) [ $# -ge 2 ] || { usage >&2; exit 2; }; sizes=$2; shift 2 ;;
	--sizes=*) sizes=${1#*=}; shift ;;
	--timeout) [ $# -ge 2 ] || { usage >&2; exit 2; }; run_timeout=$2; shift 2 ;;
	--timeout=*) run_timeout=${1#*=}; shift ;;
	--no-memory) memory=0; shift ;;
	--verbose) os_verbose=1; shift ;;
	--keep) os_keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "compare-boot.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
[[ $trials =~ ^[1-9][0-9]*$ ]] || { echo "compare-boot.sh: bad --trials: $trials" >&2; exit 2; }
if ! [[ $run_timeout =~ ^[1-9][0-9]*$ ]] || [ "$run_timeout" -gt 3600 ]; then
	echo "compare-boot.sh: bad --timeout (1-3600 s): $run_timeout" >&2
	exit 2
fi
for n in $sizes; do
	if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 4096 ]; then
		echo "compare-boot.sh: bad size in --sizes: $n" >&2
		exit 2
	fi
done
[ -n "${sizes// /}" ] || { echo "compare-boot.sh: --sizes is empty" >&2; exit 2; }

os_name=compare-boot.sh
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=os/lib.sh
. "$here/os/lib.sh"
mpirun=${MPIRUN:-mpirun}
command -v "$mpirun" >/dev/null ||
	{ echo "compare-boot.sh: $mpirun missing (apt-get install openmpi-bin)" >&2; exit 1; }
os_setup sk_hello || exit 1
[ -x "$os_bin/mpi_hello" ] ||
	{ echo "compare-boot.sh: $os_bin/mpi_hello missing (needs mpicc; run make perf-os)" >&2; exit 1; }

# shellcheck disable=SC2317 # called as ${side}_cmd
sk_cmd() { echo "$os_skrun" -n "$1" "$os_bin/sk_hello"; }
# shellcheck disable=SC2317
mpi_cmd() {
	echo "$mpirun" --allow-run-as-root --oversubscribe -n "$1" "$os_bin/mpi_hello"
}
# shellcheck disable=SC2317
sk_prog() { echo "$os_bin/sk_hello"; }
# shellcheck disable=SC2317
mpi_prog() { echo "$os_bin/mpi_hello"; }

# Whether file $1 holds exactly the hello lines of ranks 0..$2-1.
hellos_ok() {
	awk -v n="$2" '
		$0 ~ "^hello from rank [0-9]+ of " n "$" { if (!seen[$4]++) good++; next }
		{ bad++ }
		END { exit !(good == n && bad == 0 && NR == n) }' "$1"
}

# Why a run failed, from its status $1 and its output file $2.
why() {
	case $1 in
	124 | 137) echo "timed out after ${run_timeout} s" ;;
	0)
		if grep -q 'UCX  ERROR' "$2" 2>/dev/null; then
			echo "UCX errors in the output"
		else
			echo "wrong output"
		fi
		;;
	*) echo "exit $1" ;;
	esac
}

declare -A failed_at # [side.n] = why
failed=0

# run SIDE N TRIAL: one timed run; its wall time in ms goes to got.
run() {
	local side=$1 n=$2 trial=$3 out rc
	local -a cmd
	read -r -a cmd <<<"$("${side}_cmd" "$n")"
	out=$os_tmp/$side.$n.$trial.out
	os_time "$out" timeout -k 5 "$run_timeout" "${cmd[@]}"
	rc=$?
	got=$os_ms
	if [ "$rc" != 0 ]; then
		echo "$os_name: ${cmd[*]} exited $rc (trial $trial)" >&2
		os_tail "$out"
		failed_at[$side.$n]=$(why "$rc" "$out")
		return 1
	fi
	if ! hellos_ok "$out" "$n"; then
		echo "$os_name: ${cmd[*]} did not print $n hello lines (trial $trial, $got ms):" >&2
		os_tail "$out"
		failed_at[$side.$n]=$(why 0 "$out")
		return 1
	fi
	return 0
}

# How many hello lines file $1 holds so far.
hellos() {
	local c
	c=$(grep -c '^hello from rank' "$1" 2>/dev/null)
	echo "${c:-0}"
}

# smaps_rollup PID: "PSS RSS" in KiB (nothing if the process is gone).
rollup() {
	awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } END { if (r != "") print p, r }' \
		"/proc/$1/smaps_rollup" 2>/dev/null
}

# The descendants of PID $1 that run program $2.
ranks_of() {
	local root=$1 prog=$2 pid
	ps -e -o pid= -o ppid= | awk -v root="$root" '
		{ parent[$1] = $2; pids[NR] = $1 }
		END { for (i = 1; i <= NR; i++) { p = pids[i]; q = p
			while (q in parent && q != root && q > 1) q = parent[q]
			if (q == root && p != root) print p } }' |
		while read -r pid; do
			[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$prog" ] && echo "$pid"
		done
}

# The system's shared memory (/proc/meminfo's Shmem), KiB.
shmem() {
	awk '/^Shmem:/ { print $2 }' /proc/meminfo
}

# memory SIDE N: one paused run; sets mem[SIDE.N] to "node_pss_med
# node_pss_max node_rss_med launcher_pss launcher_rss job_pss shmem"
# (KiB), or failed_at on failure. shmem is the system's Shmem growth
# from before the launch to the pause: the shared-memory files the job
# made, mapped or not (PSS sees only pages a process maps, so memory a
# launcher writes into a file and never maps shows only here).
declare -A mem
memory_run() {
	local side=$1 n=$2 out pause pid prog i rc nodes vals lp shm0
	local -a cmd
	read -r -a cmd <<<"$("${side}_cmd" "$n")"
	prog=$("${side}_prog")
	out=$os_tmp/$side.$n.mem.out
	pause=$os_tmp/$side.$n.resume
	os_show ">$out" "${cmd[@]}" --pause "$pause"
	shm0=$(shmem)
	"${cmd[@]}" --pause "$pause" </dev/null >"$out" 2>"$os_tmp/last.err" &
	pid=$!
	for ((i = 0; i < run_timeout * 10; i++)); do
		[ "$(hellos "$out")" -ge "$n" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$(hellos "$out")" -lt "$n" ]; then
		echo "$os_name: ${cmd[*]} --pause: not all $n ranks reached the pause" >&2
		kill -TERM "$pid" 2>/dev/null
		sleep 2
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		os_tail "$out"
		failed_at[$side.$n]="memory run: $(why 124 "$out")"
		return 1
	fi
	sleep 0.5 # the last line out: let every rank settle into its sleep
	nodes=$(ranks_of "$pid" "$prog")
	vals=$(for p in $nodes; do rollup "$p"; done)
	lp=$(rollup "$pid")
	if [ "$(wc -l <<<"$vals")" = "$n" ] && [ -n "$lp" ]; then
		local pss rss max total
		pss=$(cut -d' ' -f1 <<<"$vals" | sort -n)
		rss=$(cut -d' ' -f2 <<<"$vals" | sort -n)
		max=$(tail -n 1 <<<"$pss")
		total=$(awk -v l="${lp%% *}" '{ t += $1 } END { print t + l }' <<<"$vals")
		# shellcheck disable=SC2086 # the values are words
		mem[$side.$n]="$(os_median $pss) $max $(os_median $rss) $lp $total $(($(shmem) - shm0))"
	else
		echo "$os_name: ${cmd[*]}: found $(wc -w <<<"$nodes") of $n ranks to measure" >&2
		failed_at[$side.$n]="memory run: ranks not found"
	fi
	touch "$pause"
	for ((i = 0; i < run_timeout * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		sleep 2
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	if [ "$rc" != 0 ] || ! hellos_ok "$out" "$n"; then
		echo "$os_name: ${cmd[*]} --pause exited $rc or printed wrong lines" >&2
		os_tail "$out"
		failed_at[$side.$n]="memory run: $(why "$rc" "$out")"
		return 1
	fi
	[ -n "${mem[$side.$n]:-}" ] || return 1
	return 0
}

echo "compare-boot.sh: skrun -n N sk_hello vs $("$mpirun" --version 2>/dev/null |
	head -n 1) -n N mpi_hello; $trials trial(s); $(nproc) CPUs;" \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"

first=${sizes%% *}
for side in sk mpi; do
	run "$side" "$first" warmup || failed=1
done
unset 'failed_at[sk.'"$first"']' 'failed_at[mpi.'"$first"']'

declare -A sk_vals mpi_vals ratio_vals
for trial in $(seq "$trials"); do
	for n in $sizes; do
		sv='-' mv='-'
		if [ $((trial % 2)) = 1 ]; then order="sk mpi"; else order="mpi sk"; fi
		for side in $order; do
			[ -n "${failed_at[$side.$n]:-}" ] && continue
			if run "$side" "$n" "$trial"; then
				if [ "$side" = sk ]; then sv=$got; else mv=$got; fi
			else
				failed=1
				if [ "$side" = sk ]; then sv=FAIL; else mv=FAIL; fi
			fi
		done
		[[ $sv =~ ^[0-9] ]] && sk_vals[$n]+="$sv "
		[[ $mv =~ ^[0-9] ]] && mpi_vals[$n]+="$mv "
		[[ $sv =~ ^[0-9] ]] && [[ $mv =~ ^[0-9] ]] &&
			ratio_vals[$n]+="$(os_div "$sv" "$mv") "
		printf '  trial %d: N=%-4s skrun %10s ms  mpirun %10s ms\n' \
			"$trial" "$n" "$sv" "$mv"
	done
done

if [ $memory = 1 ]; then
	for n in $sizes; do
		for side in sk mpi; do
			# After a timeout, do not wait for another.
			[[ ${failed_at[$side.$n]:-} == timed* ]] && continue
			memory_run "$side" "$n" || failed=1
		done
	done
fi

missed=0
echo
echo "Wall time of the whole command, medians of $trials trial(s), ms" \
	"(ratio: median over trials of skrun / mpirun)"
printf '%5s %10s %10s %7s %7s  %s\n' N skrun_ms mpirun_ms ratio target result
for n in $sizes; do
	# shellcheck disable=SC2086 # the values are words
	s=$(os_median ${sk_vals[$n]:-}) && s=$(os_fmt "$s" 1) || s=-
	# shellcheck disable=SC2086
	m=$(os_median ${mpi_vals[$n]:-}) && m=$(os_fmt "$m" 1) || m=-
	# shellcheck disable=SC2086
	r=$(os_median ${ratio_vals[$n]:-}) && r=$(os_fmt "$r" 2) || r=-
	if [ "$r" = - ]; then
		result="NO DATA"
		[ -n "${failed_at[sk.$n]:-}" ] && result+="; skrun: ${failed_at[sk.$n]}"
		[ -n "${failed_at[mpi.$n]:-}" ] && result+="; mpirun: ${failed_at[mpi.$n]}"
	elif awk -v r="$r" 'BEGIN{exit !(r <= 0.3)}'; then
		result=PASS
	else
		result=MISS
		missed=1
	fi
	printf '%5s %10s %10s %7s %7s  %s\n' "$n" "$s" "$m" "$r" "<=0.30" "$result"
done

if [ $memory = 1 ]; then
	echo
	echo "Memory of an idle job, MiB: per node the median PSS [max] and median" \
		"RSS; the launcher's PSS and RSS; the job's PSS (launcher + all nodes);" \
		"shm: the system's shared memory grown since the launch (files the" \
		"job made, mapped or not: not to be added to PSS)"
	printf '%5s | %-24s %-13s %8s %7s | %-24s %-13s %8s %7s | %7s  %s\n' N \
		"sk node pss [max] rss" "skrun pss rss" "job_pss" "shm" \
		"mpi rank pss [max] rss" "mpirun pss rss" "job_pss" "shm" target result
	for n in $sizes; do
		line=$(printf '%5s |' "$n")
		for side in sk mpi; do
			if [ -n "${mem[$side.$n]:-}" ]; then
				line+=$(awk '{ printf " %-24s %-13s %8.1f %7.1f |",
					sprintf("%.2f [%.2f] %.2f", $1/1024, $2/1024, $3/1024),
					sprintf("%.2f %.2f", $4/1024, $5/1024), $6/1024, $7/1024 }' <<<"${mem[$side.$n]}")
			else
				line+=$(printf ' %-24s %-13s %8s %7s |' "-" "-" "-" "-")
			fi
		done
		if [ -n "${mem[sk.$n]:-}" ]; then
			if awk '{ exit !($2 <= 8 * 1024) }' <<<"${mem[sk.$n]}"; then
				result=PASS
			else
				result=MISS
				missed=1
			fi
			result+="${failed_at[sk.$n]:+ (skrun: ${failed_at[sk.$n]})}"
		else
			result="NO DATA${failed_at[sk.$n]:+; skrun: ${failed_at[sk.$n]}}"
		fi
		printf '%s %7s  %s\n' "$line" "<=8.00" "$result"
	done
fi
[ $failed = 1 ] && exit 1
[ $missed = 1 ] && exit 4
exit 0
