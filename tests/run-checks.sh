#!/usr/bin/env bash
# The body of `make check`: every test suite, each as its own step, then one
# closing line "N passed, N failed" that CI reads.
#
#   unit        codec and configuration tests (cmocka)
#   ucx         the verbs conformance suite, ucx provider, real processes
#   fuzz        the blob decoders under libFuzzer, a bounded run
#   perfin      bad flags and garbage TCP exchanges to the perf tools
#   asan/ubsan/tsan  unit + ucx conformance again, sanitizer builds
#   rdma        the conformance suite on Soft-RoCE inside a QEMU guest
#
# SKIFF_CHECK_SKIP="asan rdma" leaves steps out (printed as skipped; CI
# never sets it). Logs go to $BUILD/check/<step>.log.
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
LOGS=$BUILD/check
mkdir -p "$LOGS"
passed=0 failed=0 skipped=0
failures=()

step() {
	local name=$1
	shift
	if [[ " ${SKIFF_CHECK_SKIP:-} " == *" $name "* ]]; then
		printf '%-8s SKIPPED (SKIFF_CHECK_SKIP)\n' "$name"
		skipped=$((skipped + 1))
		return
	fi
	local t0=$SECONDS
	printf '%-8s ... ' "$name"
	if "$@" >"$LOGS/$name.log" 2>&1; then
		printf 'ok (%ds)\n' $((SECONDS - t0))
		passed=$((passed + 1))
	else
		printf 'FAILED (%ds), last lines of %s:\n' $((SECONDS - t0)) \
			"$LOGS/$name.log"
		tail -n 25 "$LOGS/$name.log" | sed 's/^/    | /'
		failed=$((failed + 1))
		failures+=("$name")
	fi
}

unit() {
	local b=$1
	"$b/tests/test_wire" && "$b/tests/test_config"
}

conformance() {
	SKIFF_PROVIDER=ucx timeout 600 "$1/tests/test_conformance"
}

fuzz() {
	local corpus rc
	corpus=$(mktemp -d)
	cp tests/fuzz/corpus/* "$corpus"/
	timeout 300 build-fuzz/fuzz_blobs -max_total_time=30 \
		-print_final_stats=1 -artifact_prefix="$LOGS/" "$corpus"
	rc=$?
	rm -rf "$corpus"
	return $rc
}

sanitized() {
	local san=$1
	make --no-print-directory SANITIZER="$san" BUILD="build-$san" all \
		>/dev/null &&
		ASAN_OPTIONS=detect_leaks=1 unit "build-$san" &&
		conformance "build-$san"
}

env_sanitized() {
	local var=$1
	shift
	export "${var?}"
	sanitized "$@"
}

rdma() {
	timeout 1500 tests/softroce/guest-run --timeout 1400 \
		--env SKIFF_PROVIDER=rdma --env SKIFF_DEVICE=rxe0 \
		-- "$BUILD/tests/test_conformance"
}

step unit unit "$BUILD"
step ucx conformance "$BUILD"
step fuzz fuzz
step perfin env BUILD="$BUILD" tests/perf-bad-input.sh
step asan sanitized address
step ubsan sanitized undefined
# UCX's memory-event hooks (UCM) and TSan's interceptors crash each other;
# Skiff does not use UCX's registration cache, so switch the hooks off.
step tsan env_sanitized UCX_MEM_EVENTS=no thread
step rdma rdma

echo
if [ $failed -ne 0 ]; then
	echo "failed steps: ${failures[*]} (logs in $LOGS/)"
fi
if [ $skipped -ne 0 ]; then
	echo "check: $passed passed, $failed failed, $skipped skipped"
else
	echo "check: $passed passed, $failed failed"
fi
[ $failed -eq 0 ]
