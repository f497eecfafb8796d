#!/usr/bin/env bash
# run.sh - `make bench`: every Skiff benchmark next to its peer, in one run,
# into one report a person reads at a glance and a tool parses.
#
#   perf/bench/run.sh [--quick] [--host-only | --guest] [--trials N]
#                     [--out DIR] [--keep]
#
# It runs the existing comparison scripts (perf/README.md has each one's
# pairing and method), keeps their output, and hands it to report.py,
# which parses their per-trial lines, takes medians, spreads (min-max) and
# per-trial ratios (a ratio counts only when both sides ran in the same
# trial of the same run; every script interleaves the two sides), and
# writes DIR/<date>-<host>.md, .json and -*.png (gnuplot).
#
#   --quick      host part only, short trials: a smoke run of the whole
#                chain for `make check` (~35 s), not a measurement
#   --host-only  (default) no Soft-RoCE guest
#   --guest      also the guest part: one guest boot with the rdma provider
#                on rxe0 (perftest vs the driver, rpc vs ib_send_lat and
#                Open MPI over UCX, kv GET vs READ and vs memcached, the
#                two connection paths), and the two-guest wire benchmark
#                (rpc vs ib_send_lat across the wire)
#   --trials N   trials per pair (default 5; --quick 3)
#   --out DIR    where the report goes (default perf/results)
#   --keep       keep the scripts' raw outputs in DIR/<base>.raw/
#
# Environment: BUILD (default build). Exit status: 0 the report was
# written (targets missed or peers absent are in the report, not the
# status), 1 no report could be made, 2 usage.
set -uo pipefail

usage() { sed -n '2,/^set -uo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }

quick=0 guest=0 trials='' out='' keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--host-only) guest=0 ;;
	--guest) guest=1 ;;
	--trials) [ $# -ge 2 ] || { usage >&2; exit 2; }; trials=$2; shift ;;
	--trials=*) trials=${1#*=} ;;
	--out) [ $# -ge 2 ] || { usage >&2; exit 2; }; out=$2; shift ;;
	--out=*) out=${1#*=} ;;
	--keep) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
if [ $quick = 1 ] && [ $guest = 1 ]; then
	echo "run.sh: --quick is the host part only; drop --guest" >&2
	exit 2
fi
[ -n "$trials" ] || trials=$((quick ? 3 : 5))
[[ $trials =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: bad --trials: $trials" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$root" || exit 1
export BUILD=${BUILD:-build}
out=${out:-perf/results}
mkdir -p "$out" || { echo "run.sh: cannot make $out" >&2; exit 1; }
py=/usr/bin/python3 # not pyenv's python3 on the PATH
[ -x $py ] || { echo "run.sh: $py missing (apt-get install python3)" >&2; exit 1; }
for t in sk_write_lat rpc_lat kv/kvbench os/sk_hello skcached/mcload; do
	[ -x "$BUILD/perf/$t" ] ||
		{ echo "run.sh: $BUILD/perf/$t missing (run make -j2 all)" >&2; exit 1; }
done

base=$(date -u +%Y-%m-%d)-$(hostname -s)
if [ $keep = 1 ]; then
	raw=$out/$base.raw
	rm -rf "$raw" && mkdir -p "$raw" || exit 1
else
	raw=$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench.XXXXXX") || exit 1
fi
bench_pid=
cleanup() {
	[ -n "$bench_pid" ] && kill -TERM "$bench_pid" 2>/dev/null
	[ $keep = 1 ] || rm -rf "$raw"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
t_start=$(date +%s)

# bench NAME COMMAND...: run one script, its output (stdout and stderr) to
# $raw/NAME.log, and a line "NAME<TAB>status<TAB>seconds<TAB>command" to
# $raw/commands.tsv. A failed script is reported, not fatal: report.py
# turns a missing or failed side into a row with a reason. A script gets
# $limit seconds (status 124 after that).
limit=$((quick ? 300 : 1800))
bench() {
	local name=$1 t0 rc
	shift
	t0=$(date +%s.%N)
	printf 'bench: %-10s %s\n' "$name" "$*"
	timeout -k 10 "$limit" "$@" >"$raw/$name.log" 2>&1 </dev/null &
	bench_pid=$!
	wait $bench_pid
	rc=$?
	bench_pid=
	printf '%s\t%s\t%s\t%s\n' "$name" "$rc" \
		"$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')" \
		"BUILD=$BUILD $(printf '%q ' "$@")" >>"$raw/commands.tsv"
	printf 'bench: %-10s exit %s, %s\n' "$name" "$rc" \
		"$(tail -n 1 "$raw/commands.tsv" | cut -f3) s"
}

# skip NAME WHY: a script left out of this run; its rows say why.
skip() {
	printf '%s\tskipped\t0\t%s\n' "$1" "$2" >>"$raw/commands.tsv"
	printf 'bench: %-10s skipped: %s\n' "$1" "$2"
}

: >"$raw/commands.tsv"
T=(--trials "$trials")
if [ $quick = 1 ]; then
	bench ucx perf/compare-ucx.sh "${T[@]}" --quick
	bench rpc perf/compare-rpc.sh "${T[@]}" --quick --sizes "32 4096"
	bench kvlat perf/kv/vs-read-lat.sh "${T[@]}" --requests 5000
	bench kvmc perf/kv/vs-memcached.sh "${T[@]}" --gets 5000 --items 100000
	skip kvir "owner-ir.sh runs the owner under callgrind (minutes of CPU): full run only"
	bench skcached perf/skcached/vs-memcached.sh "${T[@]}" --verbose \
		--time 0.5 --warmup 0.2 --conns "1 4 16" --mixes 100 --values 32
	bench boot perf/compare-boot.sh "${T[@]}" --sizes "1 4" --no-memory
	skip slurm "compare-slurm.sh brings a Slurm cluster up (~60 s): full run only"
	bench osio perf/compare-os-io.sh "${T[@]}" --quick
	bench fileio perf/compare-file-io.sh "${T[@]}" --quick
	bench mpiio perf/compare-mpiio.sh "${T[@]}" --quick
	bench ckpt perf/compare-console-ckpt.sh "${T[@]}" --quick
else
	# Five sizes for the latency-against-size plot (--quick keeps 8, 4096).
	bench ucx perf/compare-ucx.sh "${T[@]}" --sizes "8 64 512 4096 32768"
	bench rpc perf/compare-rpc.sh "${T[@]}" --sizes "32 256 1024 4096"
	bench kvlat perf/kv/vs-read-lat.sh "${T[@]}"
	bench kvmc perf/kv/vs-memcached.sh "${T[@]}"
	bench kvir perf/kv/owner-ir.sh --ops "1000 5000" --trials "$trials"
	bench skcached perf/skcached/vs-memcached.sh "${T[@]}" --verbose --time 1.5
	bench boot perf/compare-boot.sh "${T[@]}" --sizes "1 4 16 64 256"
	if [ "$(id -u)" = 0 ] && command -v slurmctld >/dev/null; then
		bench slurm perf/compare-slurm.sh "${T[@]}"
	else
		skip slurm "compare-slurm.sh needs root and slurmctld (mk/deps.sh)"
	fi
	bench osio perf/compare-os-io.sh "${T[@]}"
	bench fileio perf/compare-file-io.sh "${T[@]}"
	bench mpiio perf/compare-mpiio.sh "${T[@]}"
	bench ckpt perf/compare-console-ckpt.sh "${T[@]}"
fi

if [ $guest = 1 ]; then
	# One boot: the driver against perftest, then kv's GET against READ
	# (perf/bench/guest.sh splits the two outputs with marker lines).
	bench guest tests/softroce/guest-run --timeout 2400 --mem 3072 \
		--env BUILD -- perf/bench/guest.sh --trials "$trials"
	bench wire tests/softroce/two-hosts.sh
else
	skip guest "no Soft-RoCE guest in this run (--host-only; --guest adds it)"
	skip wire "no Soft-RoCE guests in this run (--host-only; --guest adds it)"
fi

mode=full
[ $quick = 1 ] && mode=quick
$py perf/bench/report.py --raw "$raw" --out "$out" --base "$base" \
	--mode "$mode" --trials "$trials" --guest "$guest" \
	--seconds $(($(date +%s) - t_start)) || exit 1
echo "bench: done in $(($(date +%s) - t_start)) s: $out/$base.md"
