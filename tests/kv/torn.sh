#!/usr/bin/env bash
# The torn-read stress of the kv partition store (tests/kv/stress_torn.c),
# each run with the exit status it must have:
#   - the store as built, every acceptance rule: 10^6 GETs, all good (0);
#   - the same without rule (1), the item check: immutability, quarantine
#     and the lease must hold by themselves (0);
#   - without the check, two broken owners: the publish rewriting live
#     items in place (kv_stress_torn_broken), and no quarantine
#     (--reuse-now). The stress must catch each: exit 3, a bad value
#     accepted;
#   - the same two broken owners with the check: it must catch what they
#     break, so no bad value gets through (0), at the cost of retries.
#   - a 128 KiB store that evicts (--evict, kv/README.md "When full"),
#     64 keys: with every rule and without the check (0); with no
#     quarantine (evicted and rewritten chunks reused at once), without
#     the check, it must be caught (3); with value sizes shifting
#     between large and small (--shift: free chunks of the idle large
#     classes cut into small ones), with every rule and without the
#     check (0).
#   - readers with a location cache (--loc, kv/loc.h: the cached item
#     copied alone): with every rule, without the check, and in the store
#     that evicts (0); without the look at the owner's kill (--loc-break
#     kill), even with the check, it must be caught (3); and first test_kv_loc, kv_loc_accept on what the item's
#     READ may find, built step by step, among them the case the age rule
#     alone turns down (0).
#
#   BUILD=build tests/kv/torn.sh
set -uo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
good=$BUILD/tests/kv_stress_torn
broken=$BUILD/tests/kv_stress_torn_broken
rc=0

# run WANT_STATUS WHAT PROGRAM ARGS...
run() {
	local want=$1 what=$2 t0=$SECONDS st
	shift 2
	echo "== $what (must exit $want)"
	timeout 300 nice "$@"
	st=$?
	if [ "$st" -ne "$want" ]; then
		echo "torn.sh: FAILED: $what exited $st, not $want"
		rc=1
	else
		echo "torn.sh: ok: $what exited $st ($((SECONDS - t0)) s)"
	fi
}

for p in "$good" "$broken" "$BUILD/tests/test_kv_loc"; do
	if [ ! -x "$p" ]; then
		echo "torn.sh: $p missing: make first"
		exit 1
	fi
done

run 0 "good store, all rules" "$good" --gets 1000000
run 0 "good store, no item check" "$good" --gets 1000000 --no-check
run 3 "in-place publish, no item check" "$broken" --no-check
run 3 "no quarantine, no item check" "$good" --no-check --reuse-now
run 0 "in-place publish, item check" "$broken" --gets 200000
run 0 "no quarantine, item check" "$good" --gets 200000 --reuse-now
run 0 "store that evicts, all rules" "$good" --gets 2000000 --evict 128
run 0 "store that evicts, no item check" "$good" --gets 2000000 \
	--evict 128 --no-check
run 3 "store that evicts, no quarantine, no item check" "$good" \
	--gets 2000000 --evict 128 --no-check --reuse-now
# Values large, then small, in turn (phases of 100 Q = 0.5 s): the idle
# large classes' free chunks cut into small ones under the readers.
run 0 "store that evicts, sizes shifting, all rules" "$good" \
	--gets 4000000 --evict 128 --shift --quarantine-ms 5
run 0 "store that evicts, sizes shifting, no item check" "$good" \
	--gets 4000000 --evict 128 --shift --quarantine-ms 5 --no-check
run 0 "location cache's judgement, READ orders built by hand" \
	"$BUILD/tests/test_kv_loc"
# 3 x 10^5 GETs each: the 10^6 of the issue are the first two runs'.
run 0 "location cache, all rules" "$good" --gets 300000 --loc
run 0 "location cache, no item check" "$good" --gets 300000 --loc \
	--no-check
run 0 "location cache, store that evicts" "$good" --gets 1000000 \
	--evict 128 --loc
run 3 "location cache blind to the kill" "$good" --loc-break kill
exit $rc
