#!/usr/bin/env bash
# shellcheck disable=SC2034 # the cmp_* variables are read by compare-lib.sh
# compare-ucx.sh - Skiff's benchmarks on the ucx provider next to plain UCX:
# ucx_perftest (package ucx-utils) and, for gets, perf/compare/ucp_get_lat,
# in the same run, on this host, over 127.0.0.1.
#
# Each pair runs server and client as two processes. Like is compared with
# like (perf/README.md explains each pairing):
#   sk_write_lat  vs ucp_put_lat  ping-pong, both poll memory; half round trip
#   sk_read_lat   vs ucp_get_lat  one get at a time, waited for: full op
#   sk_atomic_lat vs ucp_fadd     one fetch-and-add at a time: full op
#   sk_write_bw   vs ucp_put_bw   64 KiB puts, the same window (-t / -O 128)
# The two latency pairs of writes and reads run at each size of --sizes
# (default 8 and 4096 bytes; make bench's full run passes five, for its
# latency-against-size plot); the atomic is 8 bytes, the bandwidth pair
# 64 KiB.
# Latency: Skiff's t_typical (median) against ucx_perftest's 50.0%ile or
# ucp_get_lat's t_typical (median, sk_read_lat's own table); bandwidth:
# Skiff's BW average against ucx_perftest's overall MB/s (both MB = 2^20
# bytes). Ratio = Skiff / reference; targets: latency <= 1.10, bandwidth
# >= 0.95. Figures are medians of --trials runs, Skiff and the reference
# interleaved: a 2-core machine shared with other jobs is noisy.
#
# Why ucp_get_lat and not ucx_perftest -t ucp_get: before UCX 1.22 (PR
# #11418, "Progress responder for SW GET") ucx_perftest's server does not
# progress during a get test, it waits in a barrier that polls its socket
# every 1 ms. With -e small gets are emulated in software (active messages
# the target must progress), so each get waits for that poll (~1100 us);
# without -e the figure is a pipelined rate, not one get at a time.
# ucp_get_lat (plain UCP, no Skiff code on its data path) does one
# ucp_get_nbx at a time like sk_read_lat, its server busy polls its worker
# like Skiff's, and it prints sk_read_lat's table.
#
# ucx_perftest runs with -e (error-handling endpoints, which Skiff's ucx
# provider always creates), the UCX settings Skiff's provider applies
# (UCX_POSIX_ERROR_HANDLING=y, UCX_KEEPALIVE_INTERVAL=500ms,
# UCX_{POSIX,SYSV}_RX_BUFS_GROW=64), and
# UCX_ALLOC_PRIO=heap so that its buffers are ordinary memory, like the
# application buffers Skiff registers. ucp_get_lat applies the same
# settings itself, as Skiff does: error-handling endpoints, those two
# variables, the same UCP features, and page-aligned heap buffers mapped
# with ucp_mem_map.
#
# Exit status: 0 every judged target met, 1 a run failed, 2 usage, 4 a
# target was missed.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: perf/compare-ucx.sh [--trials N] [--sizes "8 4096"] [--quick] [--keep]

  --trials N   runs per figure; medians are reported (default 3)
  --sizes LIST sizes in bytes of the write and read latency pairs
               (default "8 4096")
  --quick      fewer iterations: a smoke test, not a measurement
  --keep       keep the raw outputs (their directory is printed)

Environment: BUILD (default build) picks the binaries; PORT_MIN/PORT_MAX
(default 18600-18999) the range TCP ports are drawn from.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=compare-lib.sh
. "$here/compare-lib.sh"

sizes="8 4096"
while [ $# -gt 0 ]; do
	cmp_opt compare-ucx.sh "$@" && { shift "$cmp_shift"; continue; }
	case $1 in
	--sizes) [ $# -ge 2 ] || { usage >&2; exit 2; }; sizes=$2; shift 2 ;;
	--sizes=*) sizes=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "compare-ucx.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
for s in $sizes; do
	if ! [[ $s =~ ^[1-9][0-9]*$ ]] || [ "$s" -gt 1048576 ]; then
		echo "compare-ucx.sh: bad size in --sizes: $s (1..1048576)" >&2
		exit 2
	fi
done
[ -n "${sizes// /}" ] || { echo "compare-ucx.sh: --sizes is empty" >&2; exit 2; }


cmp_setup compare-ucx.sh sk_write_lat sk_read_lat sk_atomic_lat \
	sk_write_bw compare/ucp_get_lat -- ucx_perftest ucx_info ss
cmp_host=127.0.0.1

if [ $quick = 1 ]; then
	lat_n=2000 bw_n=500 warm=200
else
	lat_n=20000 bw_n=20000 warm=2000
fi
depth=128

export SKIFF_PROVIDER=ucx
unset SKIFF_DEVICE
ucx_version=$(ucx_info -v 2>/dev/null | sed -n 's/^# Version //p')
cmp_peer="UCX-$ucx_version"
cmp_col_peer_lat=2
cmp_col_peer_bw=6

# compare-lib.sh reads one reference column per kind of test: column 2 for
# latency, ucx_perftest -f's 50.0%ile. ucp_get_lat prints sk_read_lat's
# table instead, where the median (t_typical) is column 5, as for Skiff's
# tools: recognise that table by its header and read Skiff's column.
eval "cmp_lib_value() $(declare -f cmp_value | tail -n +2)"
cmp_value() {
	if grep -q 't_typical\[usec\]' "$1"; then
		cmp_lib_value "$1" "$cmp_col_skiff_lat"
	else
		cmp_lib_value "$@"
	fi
}

penv="env UCX_POSIX_ERROR_HANDLING=y UCX_KEEPALIVE_INTERVAL=500ms UCX_POSIX_RX_BUFS_GROW=64 UCX_SYSV_RX_BUFS_GROW=64 UCX_ALLOC_PRIO=heap"
psrv="$penv ucx_perftest -p @PORT@ -e"
pcli="$penv ucx_perftest @HOST@ -p @PORT@ -e -f"
# ucp_get_lat sets the UCX variables itself, as Skiff's provider does.
gsrv="$cmp_bin/compare/ucp_get_lat -p @PORT@"
gcli="$cmp_bin/compare/ucp_get_lat -p @PORT@"

cmp_tests=()
for s in $sizes; do
	cmp_tests+=("write_lat|lat|$s|sk_write_lat -s $s -n $lat_n|ucp_put_lat|$psrv|$pcli -t ucp_put_lat -s $s -n $lat_n -w $warm|")
done
for s in $sizes; do
	cmp_tests+=("read_lat|lat|$s|sk_read_lat -s $s -n $lat_n|ucp_get_lat|$gsrv|$gcli -s $s -n $lat_n -w $warm @HOST@|")
done
cmp_tests+=(
	"atomic_lat|lat|8|sk_atomic_lat -A FETCH_AND_ADD -n $lat_n|ucp_fadd|$psrv|$pcli -t ucp_fadd -s 8 -n $lat_n -w $warm|"
	"write_bw|bw|65536|sk_write_bw -s 65536 -n $bw_n -t $depth|ucp_put_bw|$psrv|$pcli -t ucp_put_bw -s 65536 -n $bw_n -w $((warm / 4)) -O $depth|"
)

echo "compare-ucx.sh: Skiff (SKIFF_PROVIDER=ucx) vs ucx_perftest $ucx_version -e" \
	"and ucp_get_lat;" \
	"$cmp_trials trial(s); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
cmp_main
exit $?
