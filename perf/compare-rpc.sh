#!/usr/bin/env bash
# shellcheck disable=SC2034 # the cmp_* variables are read by compare-lib.sh
# compare-rpc.sh - the latency of a Skiff rpc call against an MPI ping-pong
# and a UCP active-message ping-pong, in the same run, on this host, over
# 127.0.0.1:
#
#   rpc_lat -s S                    (SKIFF_PROVIDER=ucx) an echo call, one
#                                   at a time, busy polling
#   mpirun -n 2 mpi_pingpong -s S   osu_latency-style MPI_Send/MPI_Recv,
#                                   Open MPI's defaults (ob1, vader shm)
#   ucx_perftest -t ucp_am_lat -s S UCP active messages, ping-pong
#
# for S = 32 and 4096 bytes (--sizes). The three run interleaved, --trials
# times, who goes first rotating. Everything is compared as a FULL round
# trip (request out to response in), medians of per-iteration samples:
# rpc_lat's t_typical as printed; mpi_pingpong's t_typical (its full-RTT
# median; its osu-style "Latency" column is half an average); ucx_perftest's
# 50.0%ile times 2 (ucx_perftest halves ping-pong tests). Each trial's
# ratios rpc / MPI and rpc / UCX are taken from the runs of that trial; the
# table gives each side's median and the median of the ratios. Targets: rpc
# / MPI <= 1.00, rpc / UCX AM <= 1.20.
#
# ucx_perftest runs with the UCX settings Skiff's ucx provider applies
# (error-handling endpoints -e, UCX_POSIX_ERROR_HANDLING=y, 500 ms keepalive,
# RX_BUFS_GROW=64) and heap buffers, as in compare-ucx.sh.
#
# Call rate: once per trial, interleaved (who goes first alternates),
#
#   rpc_tput -s 32                  calls per second with 1, 8 and 64 calls
#                                   outstanding (32-byte request, 32-byte
#                                   response, handler 1)
#   ucx_perftest -t ucp_am_bw -s 32 UCP active messages streamed one way,
#                                   32-byte payload: its message rate
#                                   (-f's last column, overall msg/s)
#
# Ratio = rpc calls/s / AM messages/s, per trial, median reported. Target
# at 8 and 64 outstanding: >= 0.50. An rpc call is two messages, a request
# and its response, each with a header, plus a handler and a completion:
# a pipelined rpc layer that costs nothing over the transport moves as
# many messages as a one-way AM stream does, i.e. half as many calls. An
# HPC developer takes that raw AM rate as the ceiling of any
# request-response layer over UCX and expects rpc to reach the half of it
# that its two messages allow; below it, rpc costs more than the messages
# it sends. With 1 call outstanding a call waits for its response, so the
# rate is 1 / round trip, a latency figure (judged in the table above):
# that row shows its ratio with no target.
#
# Exit status: 0 every target met, 1 a run failed, 2 usage, 4 a target was
# missed.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: perf/compare-rpc.sh [--trials N] [--sizes "32 4096"] [--quick] [--keep]

  --trials N    runs of each side per size; medians are reported (default 5)
  --sizes LIST  message sizes in bytes (default "32 4096")
  --quick       fewer iterations: a smoke test, not a measurement
  --keep        keep the raw outputs (their directory is printed)

Environment: BUILD (default build) picks the binaries; MPIRUN (default
mpirun) the MPI launcher; PORT_MIN/PORT_MAX (default 18600-18999) the range
TCP ports are drawn from.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=compare-lib.sh
. "$here/compare-lib.sh"

cmp_trials=5
sizes="32 4096"
while [ $# -gt 0 ]; do
	cmp_opt compare-rpc.sh "$@" && { shift "$cmp_shift"; continue; }
	case $1 in
	--sizes) [ $# -ge 2 ] || { usage >&2; exit 2; }; sizes=$2; shift 2 ;;
	--sizes=*) sizes=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "compare-rpc.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
for s in $sizes; do
	# rpc_lat takes up to 1 MiB; ucx_perftest and MPI any of these.
	if ! [[ $s =~ ^[0-9]+$ ]] || [ "$s" -gt 1048576 ]; then
		echo "compare-rpc.sh: bad size in --sizes: $s (0..1048576)" >&2
		exit 2
	fi
done
[ -n "${sizes// /}" ] || { echo "compare-rpc.sh: --sizes is empty" >&2; exit 2; }


mpirun=${MPIRUN:-mpirun}
cmp_make_hint="run make; mpi_pingpong needs mpicc"
cmp_setup compare-rpc.sh rpc_lat rpc_tput compare/mpi_pingpong -- \
	ucx_perftest ucx_info ss "$mpirun"
cmp_host=127.0.0.1

if [ $quick = 1 ]; then
	lat_n=2000 warm=200 tput_n=20000 am_n=200000
else
	lat_n=20000 warm=2000 tput_n=200000 am_n=2000000
fi

export SKIFF_PROVIDER=ucx
unset SKIFF_DEVICE
penv=(env UCX_POSIX_ERROR_HANDLING=y UCX_KEEPALIVE_INTERVAL=500ms
	UCX_POSIX_RX_BUFS_GROW=64 UCX_SYSV_RX_BUFS_GROW=64 UCX_ALLOC_PRIO=heap)
ucx_version=$(ucx_info -v 2>/dev/null | sed -n 's/^# Version //p')
mpi_version=$("$mpirun" --version 2>/dev/null | head -n 1)

cmp_tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-compare-rpc.XXXXXX")
trap cmp_cleanup EXIT
trap 'exit 130' INT TERM

# Column $4 of the last line of file $1 whose first field is $2 (the
# size) and which has at least $3 fields; fails if there is none.
# shellcheck disable=SC2317 # called from the run_* functions
value() {
	awk -v s="$2" -v nf="$3" -v col="$4" '$1 == s && NF >= nf {v = $col}
		END {if (v ~ /^[0-9.]+$/) print v; else exit 1}' "$1"
}

failed=0
declare -A rpc_vals mpi_vals ucx_vals r_mpi r_ucx tput_vals r_am
am_vals=

# run_SIDE SIZE OUT: one run; its full round trip (us) goes to got.
# shellcheck disable=SC2317 # called as run_$side
run_rpc() {
	cmp_pair "$2" "$cmp_bin/rpc_lat" -p @PORT@ -- \
		"$cmp_bin/rpc_lat" -p @PORT@ -s "$1" -n "$lat_n" @HOST@ &&
		got=$(value "$2" "$1" 9 5)
}
# shellcheck disable=SC2317
run_mpi() {
	timeout 300 "$mpirun" --allow-run-as-root --oversubscribe -n 2 \
		"$cmp_bin/compare/mpi_pingpong" -s "$1" -n "$lat_n" -w "$warm" \
		</dev/null >"$2" 2>&1 &&
		got=$(value "$2" "$1" 4 4)
}
# ucx_perftest -f prints one line of figures; column 2 is the 50.0%ile of
# half round trips (cmp_value: the last line starting with three numbers).
# shellcheck disable=SC2317
run_ucx() {
	local half
	cmp_pair "$2" "${penv[@]}" ucx_perftest -p @PORT@ -e -- \
		"${penv[@]}" ucx_perftest @HOST@ -p @PORT@ -e -f -t ucp_am_lat \
		-s "$1" -n "$lat_n" -w "$warm" &&
		half=$(cmp_value "$2" 2) &&
		got=$(awk -v h="$half" 'BEGIN{printf "%.3f", 2 * h}')
}
# shellcheck disable=SC2317
run_tput() {
	cmp_pair "$1" "$cmp_bin/rpc_tput" -p @PORT@ -- \
		"$cmp_bin/rpc_tput" -p @PORT@ -s 32 -n "$tput_n" @HOST@
}
# ucx_perftest -f's line for a bandwidth test: iterations, the three
# latencies, MB/s average and overall, msg/s average and overall: column 8
# is the overall message rate, messages per second over the whole run.
# shellcheck disable=SC2317
run_am_bw() {
	cmp_pair "$1" "${penv[@]}" ucx_perftest -p @PORT@ -e -- \
		"${penv[@]}" ucx_perftest @HOST@ -p @PORT@ -e -f -t ucp_am_bw \
		-s 32 -n "$am_n" -w "$((am_n / 100))" &&
		am_got=$(cmp_value "$1" 8)
}

echo "compare-rpc.sh: rpc_lat (SKIFF_PROVIDER=ucx) vs $mpi_version" \
	"mpi_pingpong vs ucx_perftest $ucx_version ucp_am_lat -e;" \
	"rpc_tput vs ucp_am_bw -e;" \
	"$cmp_trials trial(s); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "All figures: FULL round trips in us (ucx_perftest's half round trip x 2)."

sides=(rpc mpi ucx)
for trial in $(seq "$cmp_trials"); do
	for size in $sizes; do
		declare -A v=([rpc]='?' [mpi]='?' [ucx]='?')
		# Rotate who goes first, against drifts of the machine's load.
		for k in 0 1 2; do
			side=${sides[$(((trial - 1 + k) % 3))]}
			out=$cmp_tmp/$trial.$size.$side
			got=
			if "run_$side" "$size" "$out" && [ -n "$got" ]; then
				v[$side]=$got
			else
				echo "compare-rpc.sh: $side failed (trial $trial, size $size):" >&2
				tail -n 5 "$out" "$out.srv" 2>/dev/null >&2
				failed=1
			fi
		done
		[ "${v[rpc]}" != '?' ] && rpc_vals[$size]+="${v[rpc]} "
		[ "${v[mpi]}" != '?' ] && mpi_vals[$size]+="${v[mpi]} "
		[ "${v[ucx]}" != '?' ] && ucx_vals[$size]+="${v[ucx]} "
		if [ "${v[rpc]}" != '?' ] && [ "${v[mpi]}" != '?' ]; then
			r_mpi[$size]+="$(awk -v a="${v[rpc]}" -v b="${v[mpi]}" 'BEGIN{printf "%.4f", (b > 0) ? a / b : 0}') "
		fi
		if [ "${v[rpc]}" != '?' ] && [ "${v[ucx]}" != '?' ]; then
			r_ucx[$size]+="$(awk -v a="${v[rpc]}" -v b="${v[ucx]}" 'BEGIN{printf "%.4f", (b > 0) ? a / b : 0}') "
		fi
		printf '  trial %d: %6s B  rpc %8s  mpi %8s  ucx_am %8s  (us, full round trip)\n' \
			"$trial" "$size" "${v[rpc]}" "${v[mpi]}" "${v[ucx]}"
		unset v
	done
	# The call rate and the AM message rate, back to back, alternating
	# who goes first.
	declare -A got_tput=()
	am_got='?'
	for k in 0 1; do
		if [ $(((trial + k) % 2)) = 1 ]; then
			out=$cmp_tmp/$trial.tput
			if run_tput "$out"; then
				while read -r d c; do
					got_tput[$d]=$c
					tput_vals[$d]+="$c "
				done < <(awk '$1 == "32" && NF == 7 {print $2, $7}' "$out")
				printf '  trial %d: rpc_tput 32 B calls/s: %s\n' "$trial" \
					"$(awk '$1 == "32" && NF == 7 {printf "%s:%s ", $2, $7}' "$out")"
			else
				echo "compare-rpc.sh: rpc_tput failed (trial $trial):" >&2
				tail -n 5 "$out" "$out.srv" 2>/dev/null >&2
				failed=1
			fi
		else
			out=$cmp_tmp/$trial.am_bw
			if run_am_bw "$out" && [ -n "$am_got" ]; then
				am_vals+="$am_got "
			else
				echo "compare-rpc.sh: ucp_am_bw failed (trial $trial):" >&2
				tail -n 5 "$out" "$out.srv" 2>/dev/null >&2
				failed=1
				am_got='?'
			fi
			printf '  trial %d: ucp_am_bw 32 B msgs/s: %s\n' "$trial" "$am_got"
		fi
	done
	if [ "$am_got" != '?' ]; then
		for d in "${!got_tput[@]}"; do
			r_am[$d]+="$(awk -v a="${got_tput[$d]}" -v b="$am_got" 'BEGIN{printf "%.4f", (b > 0) ? a / b : 0}') "
		done
	fi
	unset got_tput
done

missed=0
echo
echo "Medians of $cmp_trials trial(s), FULL round trip in us (ratio: median" \
	"over trials of rpc / reference, each trial's runs back to back)"
printf '%-10s %6s %9s %-16s %9s %6s %7s  %s\n' test size rpc_us reference \
	ref_us ratio target result
row() { # NAME SIZE REFNAME REF-VALUES RATIOS TARGET
	local s r p t
	# shellcheck disable=SC2086 # the values are words
	s=$(cmp_median ${rpc_vals[$2]:-}) || s=
	# shellcheck disable=SC2086
	p=$(cmp_median $4) || p=
	# shellcheck disable=SC2086
	r=$(cmp_median $5) || r=
	if [ -z "$s" ] || [ -z "$p" ] || [ -z "$r" ]; then
		printf '%-10s %6s %9s %-16s %9s %6s %7s  %s\n' "$1" "$2" "${s:-?}" \
			"$3" "${p:-?}" - "<=$6" "NO DATA"
		return
	fi
	r=$(awk -v r="$r" 'BEGIN{printf "%.2f", r}')
	if awk -v r="$r" -v t="$6" 'BEGIN{exit !(r <= t)}'; then
		t=PASS
	else
		t=MISS
		missed=1
	fi
	printf '%-10s %6s %9.2f %-16s %9.2f %6s %7s  %s\n' "$1" "$2" "$s" "$3" \
		"$p" "$r" "<=$6" "$t"
}
for size in $sizes; do
	row rpc/mpi "$size" mpi_pingpong "${mpi_vals[$size]:-}" "${r_mpi[$size]:-}" 1.00
	row rpc/ucx "$size" ucp_am_lat "${ucx_vals[$size]:-}" "${r_ucx[$size]:-}" 1.20
done
echo
echo "rpc_tput 32-byte calls/s (handler 1) vs ucp_am_bw 32-byte one-way msgs/s," \
	"medians of $cmp_trials trial(s) (ratio: median over trials of calls/s / msgs/s;" \
	"at most 16 outstanding per peer: 64 = 4 peers x 16; 1 outstanding is" \
	"round-trip bound: no target)"
printf '%-12s %11s %5s %12s %-10s %12s %6s %7s  %s\n' test outstanding peers \
	calls/s reference msgs/s ratio target result
# shellcheck disable=SC2086 # the values are words
am_med=$(cmp_median $am_vals) || am_med=
for d in $(printf '%s\n' "${!tput_vals[@]}" | sort -n); do
	# shellcheck disable=SC2086
	c=$(cmp_median ${tput_vals[$d]})
	# shellcheck disable=SC2086
	r=$(cmp_median ${r_am[$d]:-}) || r=
	t='>=0.50'
	[ "$d" = 1 ] && t=-
	if [ -z "$am_med" ] || [ -z "$r" ]; then
		res="NO DATA"
		r=-
	else
		r=$(awk -v r="$r" 'BEGIN{printf "%.2f", r}')
		if [ "$t" = - ]; then
			res="n/a"
		elif awk -v r="$r" 'BEGIN{exit !(r >= 0.50)}'; then
			res=PASS
		else
			res=MISS
			missed=1
		fi
	fi
	am_show='?'
	[ -n "$am_med" ] && am_show=$(printf '%.0f' "$am_med")
	printf '%-12s %11s %5s %12.0f %-10s %12s %6s %7s  %s\n' rpc/am_bw "$d" \
		$(((d + 15) / 16)) "$c" ucp_am_bw "$am_show" "$r" "$t" "$res"
done
[ $failed = 1 ] && exit 1
[ $missed = 1 ] && exit 4
exit 0
