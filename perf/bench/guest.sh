#!/usr/bin/env bash
# guest.sh - the guest part of perf/bench/run.sh, run INSIDE the Soft-RoCE
# guest (tests/softroce/guest-run: rxe0, GID index 1), so that one boot
# serves every rdma pair:
#
#   perf/compare-rdma.sh        the driver (sk_*) next to perftest (ib_*)
#   perf/kv/vs-read-lat.sh      kv's GET next to sk_read_lat (rdma); the
#                               report sets it beside ib_read_lat of the
#                               same boot too
#   perf/rpc-guest.sh           rpc_lat against ib_send_lat x 2 and Open MPI
#                               over UCX on rxe0
#   perf/kv/vs-memcached.sh     kv's GET rate against memcached + memcslap,
#                               in the guest, on rdma
#   perf/compare-connect.sh     the connection manager against the blob
#                               path: setup rate, a 64-node job's boot
#
#   guest.sh [--trials N]
#
# Each part's output follows a line "=== bench-guest: NAME" (report.py
# splits on it). Exit status: 0 both ran (targets are judged in the
# report), 1 one of them failed to run.
set -uo pipefail

trials=3
case ${1:-} in
--trials) trials=${2:?usage: guest.sh [--trials N]} ;;
"") ;;
*) echo "guest.sh: usage: guest.sh [--trials N]" >&2; exit 2 ;;
esac
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1

rc=0
echo "=== bench-guest: rdma"
perf/compare-rdma.sh --trials "$trials"
s=$?
[ $s = 0 ] || [ $s = 4 ] || rc=1
echo "=== bench-guest: kvlat"
SKIFF_PROVIDER=rdma SKIFF_DEVICE=rxe0 SKIFF_RDMA_GID_INDEX=1 \
	perf/kv/vs-read-lat.sh --trials "$trials" --requests 2000
s=$?
[ $s = 0 ] || [ $s = 4 ] || rc=1
echo "=== bench-guest: rpc"
perf/rpc-guest.sh --trials "$trials"
[ $? = 0 ] || rc=1
echo "=== bench-guest: kvmc"
# Arenas of 256 MiB: two nodes of vs-memcached.sh's 1 GiB default do not
# fit beside memcached in the guest's 3 GiB.
SKIFF_PROVIDER=rdma SKIFF_DEVICE=rxe0 SKIFF_RDMA_GID_INDEX=1 SKIFF_ARENA_MB=256 \
	perf/kv/vs-memcached.sh --no-memory --trials "$trials" --gets 5000 --kv-keys 2000
s=$?
[ $s = 0 ] || [ $s = 4 ] || rc=1
echo "=== bench-guest: connect"
perf/compare-connect.sh --trials "$trials"
[ $? = 0 ] || rc=1
echo "=== bench-guest: end (status $rc)"
exit $rc
