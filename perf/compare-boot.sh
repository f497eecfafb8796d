#!/usr/bin/env bash
# compare-boot.sh - how long a whole job takes to start and end: skrun with
# a Skiff node against mpirun with an MPI program, on this host.
#
#   skrun -n N build/perf/os/sk_hello
#   mpirun --allow-run-as-root --oversubscribe -n N build/perf/os/mpi_hello
#
# Both programs print one line per rank ("hello from rank R of N") and end:
# sk_hello boots libos (fabric device, arena, endpoints to the host and to
# every peer, rank and argv over the fabric) and finalizes; mpi_hello calls
# MPI_Init and MPI_Finalize. The figure is the wall time of the whole
# command, CLOCK_MONOTONIC from before fork to after wait (perf/os/walltime),
# for N = 1, 4, 16 (--sizes), the two interleaved and alternating who goes
# first, --trials times; one untimed run of each first warms the caches.
# Every run must exit 0 and print exactly N distinct hello lines for ranks
# 0..N-1. The table gives each side's median and the median of the
# per-trial ratios skrun / mpirun; the target is ratio <= 0.5 (skrun at
# least twice as fast).
#
# Exit status: 0 every target met, 1 a run failed, 2 usage, 4 a target was
# missed.
set -uo pipefail

usage() {
	cat <<'EOF_USAGE'
usage: perf/compare-boot.sh [--trials T] [--sizes "1 4 16"] [--verbose] [--keep]

  --trials T     timed runs of each command per size; medians are reported
                 (default 5)
  --sizes LIST   job sizes N (default "1 4 16")
  --verbose      print every command as it is run
  --keep         keep the raw outputs (their directory is printed)

Environment: BUILD (default build) picks the binaries (make perf-os builds
them); MPIRUN (default mpirun) the launcher of the reference.
EOF_USAGE
}

trials=5
sizes="1 4 16"
os_verbose=0
os_keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--trials) [ $# -ge 2 ] || { usage >&2; exit 2; }; trials=$2; shift 2 ;;
	--trials=*) trials=${1#*=}; shift ;;
	--sizes) [ $# -ge 2 ] || { usage >&2; exit 2; }; sizes=$2; shift 2 ;;
	--sizes=*) sizes=${1#*=}; shift ;;
	--verbose) os_verbose=1; shift ;;
	--keep) os_keep=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "compare-boot.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
[[ $trials =~ ^[1-9][0-9]*$ ]] || { echo "compare-boot.sh: bad --trials: $trials" >&2; exit 2; }
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

# Whether file $1 holds exactly the hello lines of ranks 0..$2-1.
hellos_ok() {
	awk -v n="$2" '
		$0 ~ "^hello from rank [0-9]+ of " n "$" { if (!seen[$4]++) good++; next }
		{ bad++ }
		END { exit !(good == n && bad == 0 && NR == n) }' "$1"
}

# run SIDE N TRIAL: one timed run; its wall time in ms goes to got.
run() {
	local side=$1 n=$2 trial=$3 out rc
	local -a cmd
	read -r -a cmd <<<"$("${side}_cmd" "$n")"
	out=$os_tmp/$side.$n.$trial.out
	os_time "$out" timeout 300 "${cmd[@]}"
	rc=$?
	got=$os_ms
	if [ "$rc" != 0 ]; then
		echo "$os_name: ${cmd[*]} exited $rc (trial $trial)" >&2
		os_tail "$out"
		return 1
	fi
	if ! hellos_ok "$out" "$n"; then
		echo "$os_name: ${cmd[*]} did not print $n hello lines (trial $trial):" >&2
		os_tail "$out"
		return 1
	fi
	return 0
}

echo "compare-boot.sh: skrun -n N sk_hello vs $("$mpirun" --version 2>/dev/null |
	head -n 1) -n N mpi_hello; $trials trial(s); $(nproc) CPUs;" \
	"load $(cut -d' ' -f1-3 /proc/loadavg)"

failed=0
first=${sizes%% *}
for side in sk mpi; do
	run "$side" "$first" warmup || failed=1
done

declare -A sk_vals mpi_vals ratio_vals
for trial in $(seq "$trials"); do
	for n in $sizes; do
		sv='?' mv='?'
		if [ $((trial % 2)) = 1 ]; then order="sk mpi"; else order="mpi sk"; fi
		for side in $order; do
			if run "$side" "$n" "$trial"; then
				if [ "$side" = sk ]; then sv=$got; else mv=$got; fi
			else
				failed=1
			fi
		done
		[ "$sv" != '?' ] && sk_vals[$n]+="$sv "
		[ "$mv" != '?' ] && mpi_vals[$n]+="$mv "
		[ "$sv" != '?' ] && [ "$mv" != '?' ] &&
			ratio_vals[$n]+="$(os_div "$sv" "$mv") "
		printf '  trial %d: N=%-4s skrun %10s ms  mpirun %10s ms\n' \
			"$trial" "$n" "$sv" "$mv"
	done
done

missed=0
echo
echo "Medians of $trials trial(s), wall time of the whole command (ratio:" \
	"median over trials of skrun / mpirun)"
printf '%5s %10s %10s %7s %7s  %s\n' N skrun_ms mpirun_ms ratio target result
for n in $sizes; do
	# shellcheck disable=SC2086 # the values are words
	s=$(os_median ${sk_vals[$n]:-}) || s=
	# shellcheck disable=SC2086
	m=$(os_median ${mpi_vals[$n]:-}) || m=
	# shellcheck disable=SC2086
	r=$(os_median ${ratio_vals[$n]:-}) || r=
	if [ -z "$s" ] || [ -z "$m" ] || [ -z "$r" ]; then
		printf '%5s %10s %10s %7s %7s  %s\n' "$n" "$(os_fmt "${s:-0}" 1)" "${m:-?}" - "<=0.50" "NO DATA"
		continue
	fi
	r=$(os_fmt "$r" 2)
	if awk -v r="$r" 'BEGIN{exit !(r <= 0.5)}'; then
		result=PASS
	else
		result=MISS
		missed=1
	fi
	printf '%5s %10s %10s %7s %7s  %s\n' "$n" "$(os_fmt "$s" 1)" \
		"$(os_fmt "$m" 1)" "$r" "<=0.50" "$result"
done
[ $failed = 1 ] && exit 1
[ $missed = 1 ] && exit 4
exit 0
