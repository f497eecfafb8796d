#!/usr/bin/env bash
# shellcheck disable=SC2034 # the cmp_* variables are read by compare-lib.sh
# compare-rdma.sh - Skiff's benchmarks on the rdma provider next to perftest,
# meant to run INSIDE the Soft-RoCE guest (tests/softroce/guest-run, device
# rxe0, GID index 1 = ::ffff:10.9.0.1); perf/run-rdma-compare.sh starts it
# there from the host. It can also run on any host with an RDMA device
# (--dev, --gid, --host).
#
# Pairs, each a server and a client, in the same run and the same guest:
#   sk_write_lat  vs ib_write_lat   half round trip (both)
#   sk_read_lat   vs ib_read_lat    full round trip of one read
#   sk_atomic_lat vs ib_atomic_lat  full round trip, FETCH_AND_ADD and CAS
#   sk_write_bw   vs ib_write_bw    64 KiB, tx depth 128, BW average
# Latency: t_typical (median) against t_typical, both in perftest's format;
# bandwidth: BW average against BW average (MB = 2^20 bytes). Ratio =
# Skiff / perftest; targets: typical latency <= 1.10, bandwidth >= 0.95.
# Figures are medians of --trials runs, Skiff and perftest interleaved;
# under TCG single figures swing by up to 2x (tests/softroce/README.md), so
# only ratios within one run mean anything.
#
# The last line is "compare-rdma.sh: PASS ..." or "... MISS ..." or
# "... FAILED ...". Exit status: 0 every target met, 1 a run failed,
# 2 usage, 4 a target was missed.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: perf/compare-rdma.sh [--trials N] [--quick] [--keep] [--dev DEV]
                            [--gid INDEX] [--host ADDR]

  --trials N   runs per figure; medians are reported (default 3)
  --quick      fewer iterations: a smoke test, not a measurement
  --keep       keep the raw outputs (their directory is printed)
  --dev DEV    RDMA device (default rxe0)
  --gid INDEX  GID index for both tools (default 1: RoCE v2 ::ffff:10.9.0.1)
  --host ADDR  address the clients connect to over TCP (default 127.0.0.1)

Environment: BUILD (default build) picks the binaries; PORT_MIN/PORT_MAX
(default 18600-18999) the TCP ports.
EOF
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=compare-lib.sh
. "$here/compare-lib.sh"

dev=rxe0
gid=1
cmp_host=127.0.0.1
while [ $# -gt 0 ]; do
	cmp_opt compare-rdma.sh "$@" && { shift "$cmp_shift"; continue; }
	case $1 in
	--dev | --gid | --host)
		[ $# -ge 2 ] || { usage >&2; exit 2; }
		case $1 in
		--dev) dev=$2 ;;
		--gid) gid=$2 ;;
		--host) cmp_host=$2 ;;
		esac
		shift 2
		;;
	-h | --help) usage; exit 0 ;;
	*) echo "compare-rdma.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
[[ $gid =~ ^[0-9]+$ ]] || { echo "compare-rdma.sh: bad --gid" >&2; exit 2; }


cmp_fail_word=FAILED
cmp_cmd_hint="perftest, ibverbs-utils, iproute2"
cmp_setup compare-rdma.sh sk_write_lat sk_read_lat sk_atomic_lat \
	sk_write_bw -- ib_write_lat ib_read_lat ib_atomic_lat ib_write_bw \
	ibv_devinfo ss
if ! ibv_devinfo -d "$dev" 2>/dev/null | grep -q PORT_ACTIVE; then
	echo "compare-rdma.sh: FAILED: device $dev has no active port"
	exit 1
fi

if [ $quick = 1 ]; then
	lat_n=200 bw_n=200
else
	lat_n=1000 bw_n=2000
fi
depth=128

export SKIFF_PROVIDER=rdma SKIFF_DEVICE=$dev SKIFF_RDMA_GID_INDEX=$gid
pt="-d $dev -x $gid -F -p @PORT@"
cmp_peer="perftest-$(dpkg-query -W -f '${Version}' perftest 2>/dev/null || echo '?')"

cmp_tests=(
	"write_lat|lat|8|sk_write_lat -s 8 -n $lat_n|ib_write_lat|ib_write_lat $pt -s 8 -n $lat_n|ib_write_lat $pt -s 8 -n $lat_n @HOST@|"
	"write_lat|lat|4096|sk_write_lat -s 4096 -n $lat_n|ib_write_lat|ib_write_lat $pt -s 4096 -n $lat_n|ib_write_lat $pt -s 4096 -n $lat_n @HOST@|"
	"read_lat|lat|8|sk_read_lat -s 8 -n $lat_n|ib_read_lat|ib_read_lat $pt -s 8 -n $lat_n|ib_read_lat $pt -s 8 -n $lat_n @HOST@|"
	"read_lat|lat|4096|sk_read_lat -s 4096 -n $lat_n|ib_read_lat|ib_read_lat $pt -s 4096 -n $lat_n|ib_read_lat $pt -s 4096 -n $lat_n @HOST@|"
	"fadd_lat|lat|8|sk_atomic_lat -A FETCH_AND_ADD -n $lat_n|ib_atomic_lat|ib_atomic_lat $pt -A FETCH_AND_ADD -n $lat_n|ib_atomic_lat $pt -A FETCH_AND_ADD -n $lat_n @HOST@|"
	"cas_lat|lat|8|sk_atomic_lat -A CMP_AND_SWAP -n $lat_n|ib_atomic_lat|ib_atomic_lat $pt -A CMP_AND_SWAP -n $lat_n|ib_atomic_lat $pt -A CMP_AND_SWAP -n $lat_n @HOST@|"
	"write_bw|bw|65536|sk_write_bw -s 65536 -n $bw_n -t $depth|ib_write_bw|ib_write_bw $pt -s 65536 -n $bw_n -t $depth|ib_write_bw $pt -s 65536 -n $bw_n -t $depth @HOST@|"
)

echo "compare-rdma.sh: Skiff (SKIFF_PROVIDER=rdma, $dev, GID $gid) vs $cmp_peer;" \
	"$cmp_trials trial(s); $(nproc) CPUs; $(uname -r)"
cmp_main
rc=$?
case $rc in
0) echo "compare-rdma.sh: PASS: every target met" ;;
4) echo "compare-rdma.sh: MISS: some targets missed (see the table)" ;;
*) echo "compare-rdma.sh: FAILED: a run failed (see the messages above)" ;;
esac
exit $rc
