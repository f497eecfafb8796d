#!/usr/bin/env bash
# run-rdma-compare.sh - on the host: boot the Soft-RoCE guest with
# tests/softroce/guest-run and run perf/compare-rdma.sh in it (Skiff's rdma
# provider on rxe0 next to perftest, same guest, same run). Arguments after
# the options go to compare-rdma.sh (e.g. --trials 5, --quick). The exit
# status is compare-rdma.sh's (0 pass, 1 failed run, 4 target missed), or
# guest-run's own (124 timeout, 125 the guest failed).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: perf/run-rdma-compare.sh [--timeout S] [--] [compare-rdma.sh options]

  --timeout S   bound on the whole guest run (default 900)

Needs 'make' to have built $BUILD (default build) and the packages that
tests/softroce/guest-run --check-deps asks for.
EOF
}

timeout_s=900
while [ $# -gt 0 ]; do
	case $1 in
	--timeout) [ $# -ge 2 ] || { usage >&2; exit 2; }; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; break ;;
	*) break ;;
	esac
done

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
guest_run=$root/tests/softroce/guest-run
if [ ! -x "$guest_run" ]; then
	echo "run-rdma-compare.sh: $guest_run is missing (not built yet?)" >&2
	exit 1
fi
build=${BUILD:-build}
if [ ! -x "$root/$build/perf/sk_write_lat" ] && [ ! -x "$build/perf/sk_write_lat" ]; then
	echo "run-rdma-compare.sh: $build/perf has no benchmarks; run 'make' first" >&2
	exit 1
fi

# guest-run runs the command in the current directory, which the guest
# sees at the same path (the host root is its read-only root).
cd "$root"
envs=()
[ -z "${BUILD:-}" ] || envs+=(--env BUILD)
[ -z "${PORT_MIN:-}" ] || envs+=(--env PORT_MIN)
[ -z "${PORT_MAX:-}" ] || envs+=(--env PORT_MAX)
exec "$guest_run" --timeout "$timeout_s" ${envs[@]+"${envs[@]}"} -- \
	perf/compare-rdma.sh "$@"
