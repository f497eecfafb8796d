#!/usr/bin/env bash
# rpc-guest.sh - rpc on the rdma provider against ib_send_lat and Open MPI
# over UCX on rxe, in ONE Soft-RoCE guest (perf/bench/guest.sh runs it in
# make bench's boot; tests/softroce/two-hosts.sh does the same across the
# wire between two guests):
#
#   rpc_lat -s S                  SKIFF_PROVIDER=rdma, an echo call, busy
#                                 polling; t_typical, a full round trip
#   ib_send_lat -s S  (x 2)       perftest's send/receive ping-pong on rxe0,
#                                 GID index 1; t_typical is half a round
#                                 trip, so twice it is the round trip
#   mpirun -n 2 mpi_pingpong -s S Open MPI with the ucx pml on rxe0, both
#                                 ranks here, with the settings Open MPI 4.1
#                                 needs on rxe (UCX_TLS=rc_verbs,ud_verbs,
#                                 self and GID index 0: with index 1 UCX's
#                                 UD endpoints time out); t_typical, a full
#                                 round trip
#
# Each trial runs the three interleaved (who goes first rotating) and
# prints one line, "trial T size S: rpc R ib_send_x2 I mpi M" (microseconds,
# "-" where a side failed), which perf/bench/report.py reads for medians,
# spreads and per-trial ratios; the table at the end has the medians.
# Under TCG every figure is inflated alike (perf/README.md, "Timing in the
# guest"): read the ratios. Exit status: 0 all ran, 1 a run failed, 2 usage.
set -uo pipefail

trials=3
sizes="8 4096"
iters=500
usage() {
	cat <<'EOF'
usage: perf/rpc-guest.sh [--trials T] [--sizes "8 4096"] [--iters N]
Run inside the Soft-RoCE guest (rxe0, GID index 1) after 'make'; BUILD
(default build).
EOF
}
while [ $# -gt 0 ]; do
	case $1 in
	--trials) [[ ${2:-} =~ ^[1-9][0-9]{0,2}$ ]] || { usage >&2; exit 2; }; trials=$2; shift 2 ;;
	--iters) [[ ${2:-} =~ ^[1-9][0-9]{1,6}$ ]] || { usage >&2; exit 2; }; iters=$2; shift 2 ;;
	--sizes) [[ ${2:-} =~ ^[1-9][0-9]{0,6}( [1-9][0-9]{0,6})*$ ]] || { usage >&2; exit 2; }; sizes=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "rpc-guest.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
B=${BUILD:-build}
for f in perf/rpc_lat perf/compare/mpi_pingpong; do
	[ -x "$B/$f" ] || { echo "rpc-guest.sh: $B/$f is missing; run 'make' first" >&2; exit 1; }
done
[ -e /sys/class/infiniband/rxe0 ] ||
	{ echo "rpc-guest.sh: no rxe0 here (run it in the Soft-RoCE guest)" >&2; exit 1; }
export SKIFF_PROVIDER=rdma SKIFF_DEVICE=rxe0 SKIFF_RDMA_GID_INDEX=1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
port=$((20000 + RANDOM % 20000))
fail=0

# value FILE SIZE MINFIELDS COL: column COL of the last line of FILE whose
# first field is SIZE and which has at least MINFIELDS fields.
value() {
	awk -v s="$2" -v nf="$3" -v col="$4" '$1 == s && NF >= nf {v = $col}
		END {if (v ~ /^[0-9.]+$/) print v; else exit 1}' "$1"
}

# pair OUT TOOL ARGS...: TOOL's server and client here, on a fresh port.
pair() {
	local out=$1 tool=$2 s rc
	shift 2
	port=$((port + 1))
	timeout 120 "$tool" -p "$port" "$@" >"$out.srv" 2>&1 &
	s=$!
	sleep 0.3
	timeout 120 "$tool" -p "$port" "$@" 127.0.0.1 >"$out" 2>&1
	rc=$?
	wait "$s" || rc=1
	[ $rc = 0 ] || { echo "rpc-guest.sh: $tool $* failed:" >&2; tail -3 "$out" "$out.srv" >&2; }
	return $rc
}

side() { # side NAME SIZE: one figure, or "-"
	local f=$tmp/out v
	case $1 in
	rpc) pair $f "$B/perf/rpc_lat" -s "$2" -n "$iters" && v=$(value $f "$2" 9 5) ;;
	ibs) pair $f ib_send_lat -d rxe0 -x 1 -F -s "$2" -n "$iters" &&
		v=$(value $f "$2" 5 5) && v=$(awk -v x="$v" 'BEGIN {printf "%.2f", 2 * x}') ;;
	mpi) timeout 180 mpirun --allow-run-as-root -n 2 --mca pml ucx \
		--mca osc ucx --mca pml_ucx_tls any --mca pml_ucx_devices any \
		--mca btl ^openib -x UCX_NET_DEVICES=rxe0:1 \
		-x UCX_TLS=rc_verbs,ud_verbs,self -x UCX_IB_GID_INDEX=0 \
		"$B/perf/compare/mpi_pingpong" -s "$2" -n "$iters" -w 50 \
		</dev/null >$f 2>&1 && v=$(value $f "$2" 4 4) ||
		{ echo "rpc-guest.sh: mpirun mpi_pingpong -s $2 failed:" >&2; tail -3 $f >&2; } ;;
	esac
	echo "${v:--}"
}

declare -A got
for t in $(seq "$trials"); do
	for s in $sizes; do
		case $((t % 3)) in
		1) order="rpc ibs mpi" ;;
		2) order="ibs mpi rpc" ;;
		*) order="mpi rpc ibs" ;;
		esac
		declare -A now=()
		for k in $order; do
			now[$k]=$(side $k "$s")
			[ "${now[$k]}" != - ] || fail=1
		done
		echo "trial $t size $s: rpc ${now[rpc]} ib_send_x2 ${now[ibs]} mpi ${now[mpi]}"
		for k in rpc ibs mpi; do
			[ "${now[$k]}" = - ] || got[$k.$s]+="${now[$k]} "
		done
		unset now
	done
done

med() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "-"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-"}'; }
echo
echo "rpc on rdma (rxe0, one guest, TCG: ratios only), full round trips in us, medians of $trials"
printf '| %6s | %10s | %16s | %8s | %12s | %12s |\n' size rpc_lat "ib_send_lat x 2" "Open MPI" "rpc/ib_send" "rpc/Open MPI"
printf '|-------:|-----------:|-----------------:|---------:|-------------:|-------------:|\n'
for s in $sizes; do
	r=$(med "${got[rpc.$s]:-}") i=$(med "${got[ibs.$s]:-}") m=$(med "${got[mpi.$s]:-}")
	printf '| %6s | %10s | %16s | %8s | %12s | %12s |\n' "$s" "$r" "$i" "$m" "$(ratio "$r" "$i")" "$(ratio "$r" "$m")"
done
exit $fail
