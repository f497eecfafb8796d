#!/usr/bin/env bash
# rdma-suite.sh - everything `make check` runs on the rdma provider, in one
# Soft-RoCE guest boot (booting the TCG guest is the slow part): the verbs
# conformance suite, the arena's regions, the rpc suite, then the
# end-to-end jobs of skrun and libos (among them rpc-hostile: a node that
# attacks another's rpc with the verbs API, tests/rpc/hostile_job.c).
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
exit $rc
