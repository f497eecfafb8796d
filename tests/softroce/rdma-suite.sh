#!/usr/bin/env bash
# rdma-suite.sh - everything `make check` runs on the rdma provider, in one
# Soft-RoCE guest boot (booting the TCG guest is the slow part): the verbs
# conformance suite, the arena's regions, the rpc suite, then the
# end-to-end jobs of skrun and libos (among them rpc-hostile: a node that
# attacks another's rpc with the verbs API, tests/rpc/hostile_job.c), and
# a strided fault walk.
# Run inside the guest by tests/run-checks.sh through guest-run, with
# SKIFF_PROVIDER=rdma and SKIFF_DEVICE=rxe0.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
rc=0
echo "== verbs conformance (rdma) =="
"$BUILD/tests/test_conformance" || rc=1
echo "== arena regions against a hostile peer (rdma) =="
"$BUILD/tests/test_arena" || rc=1
echo "== rpc (rdma) =="
"$BUILD/tests/test_rpc" || rc=1
echo "== end-to-end jobs (rdma) =="
BUILD=$BUILD tests/e2e/jobs.sh || rc=1
# The fault walk of the faults step (tests/faults/walk.sh), on rdma. Under
# TCG a run takes ~3 s, so every 16th point (~35 runs, ~2 min) rather than
# all ~540 (~25 min); the full walk runs on ucx in the faults step.
echo "== fault walk, every 16th point (rdma) =="
SKIFF_FAULT_STRIDE=${SKIFF_FAULT_STRIDE:-16} tests/faults/walk.sh || rc=1
exit $rc
