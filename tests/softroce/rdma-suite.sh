#!/usr/bin/env bash
# rdma-suite.sh - everything `make check` runs on the rdma provider, in one
# Soft-RoCE guest boot (booting the TCG guest is the slow part): the verbs
# conformance suite on both connection paths, the connection manager's
# cases, the arena's regions, the rpc suite, then the
# end-to-end jobs of skrun and libos (among them rpc-hostile: a node that
# attacks another's rpc with the verbs API, tests/rpc/hostile_job.c, and
# kv's jobs), skcached with memcached clients nobody here wrote and a
# cache node killed under it, and a strided fault walk.
# Run inside the guest by tests/run-checks.sh through guest-run, with
# SKIFF_PROVIDER=rdma and SKIFF_DEVICE=rxe0.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
rc=0 failed_parts=()
# part NAME CMD...: run one part; a failure is named again at the end, where
# CI's excerpt of the output (its last lines) shows it.
part() {
	local name=$1 t0=$SECONDS
	shift
	"$@" || { rc=1; failed_parts+=("$name"); }
	echo "part $name: $((SECONDS - t0)) s"
}
# The conformance suite on both connection paths (verbs/README.md,
# "Connecting"): the default (the connection manager, on rxe0's IPv4 GID)
# and the blob path; test_peer_killed prints, for each, how long after
# kill -9 of the peer its endpoint failed. Then the connection manager's
# own cases (forged requests, an idle endpoint's dead peer, settings).
echo "== verbs conformance (rdma, connection manager) =="
[[ $("$BUILD/bin/skinfo" 2>/dev/null) =~ RoCE,\ GID\ [0-9]+,\ connection\ manager ]] || {
	echo "rdma-suite: rxe0 does not connect through the connection manager by default"
	rc=1 failed_parts+=(skinfo)
}
part conformance-cm "$BUILD/tests/test_conformance"
echo "== verbs conformance (rdma, blob path) =="
part conformance-blob env SKIFF_RDMA_CONNECT=blob "$BUILD/tests/test_conformance"
echo "== the connection manager's cases (rdma) =="
part rdma-cm "$BUILD/tests/test_rdma_cm"
echo "== arena regions against a hostile peer (rdma) =="
part arena "$BUILD/tests/test_arena"
echo "== the event loop over a device (rdma: a nested turn takes its batch) =="
# (SKIFF_DEVICE unset: its tests that open ucx by name would look for rxe0
# there; rdma's first device is rxe0.)
part loop env -u SKIFF_DEVICE "$BUILD/tests/test_loop"
echo "== rpc (rdma) =="
part rpc "$BUILD/tests/test_rpc"
echo "== end-to-end jobs (rdma) =="
# Not here, since the ucx step runs them on the host in a seventh of the
# guest's time: the checks of skrun alone, which start no Skiff node or
# only 64 to count skrun's pipes (ring-64 still boots 64 nodes on rdma),
# or 40 shells for its descriptor limit (fd-limit); skrun without
# openat2 (no-openat2: the host's side); skrun's file threads
# stuck on a FIFO (slow-file, slow-file-end: the host's side); and
# kv-all-read-4, which on rdma is kv-all-4 (nothing is mapped, GETs are
# READs either way). The shared file is 32 MB, not 100: the path is the
# same past a few chunks. Two shards side by side (E2E_JOBS), one on each
# vCPU: 307 s where one took 427.
part e2e env BUILD="$BUILD" E2E_FILE_MB=32 E2E_JOBS=2 \
	E2E_SKIP='^(hello-64|usage|version|x-warn|bind|bind-refuse|placement|merge|output-file|agent-secret|fd-limit|no-openat2|slow-file|slow-file-end|kv-all-read-4)$' \
	tests/e2e/jobs.sh
# skcached over rdma-core: memccapable (text and binary), pymemcache,
# python-memcached, libmemcached's tools and memaslap (--provider checks `stats skiff` says rdma), then
# server.py's node death (the dead node's keys fail with SERVER_ERROR,
# the rest serve) and a multi-get over every node. ~80 s under TCG.
echo "== skcached: memcached clients, node death, multi-get (rdma) =="
part skcached-clients timeout 300 tests/skcached/clients.sh --provider rdma \
	--start "$BUILD/bin/skcached -n 2 -t 1 -p {port} -l 127.0.0.1"
part skcached-server timeout 300 python3 tests/skcached/server.py \
	--build "$BUILD" node-death multiget
# The fault walk of the faults step (tests/faults/walk.sh), on rdma. Under
# TCG a run takes ~3 s, so every 16th point (~35 runs, ~2 min) rather than
# all ~540 (~25 min); the full walk runs on ucx in the faults step.
echo "== fault walk, every 16th point (rdma) =="
part fault-walk env SKIFF_FAULT_STRIDE="${SKIFF_FAULT_STRIDE:-16}" \
	tests/faults/walk.sh
[ $rc -eq 0 ] || echo "rdma-suite: failed: ${failed_parts[*]}"
exit $rc
