#!/usr/bin/env bash
# check.sh - the `bench` step of make check (tests/run-checks.sh):
#
#   BUILD=build perf/bench/check.sh
#
# runs the quick host-only bench (perf/bench/run.sh --quick, niced: the
# machine is shared) into $BUILD/bench-check, checks the report's shape
# with check-report.py (every row has both sides or a reason; report, JSON
# and plots exist; the JSON parses and has the five areas; every script
# that ran gave figures its parser understood; no timing is asserted),
# then feeds the parsers bad input (bad-input.sh).
# Exit status: 0 all good, 1 otherwise.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
export BUILD=${BUILD:-build}
out=$BUILD/bench-check
rm -rf "$out"
t0=$SECONDS
nice -n 10 perf/bench/run.sh --quick --out "$out" || exit 1
echo "check: quick bench took $((SECONDS - t0)) s"
shopt -s nullglob
json=("$out"/*.json)
if [ ${#json[@]} != 1 ]; then
	echo "check: expected one report in $out, found ${#json[@]}" >&2
	exit 1
fi
/usr/bin/python3 perf/bench/check-report.py --figures "${json[0]}" || exit 1
perf/bench/bad-input.sh "${json[0]}"
