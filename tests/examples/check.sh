#!/usr/bin/env bash
# check.sh - run the example programs of a directory under skrun and check
# what they print and how they exit.
#
#   tests/examples/check.sh SKRUN DIR [VERSION]
#
# DIR holds built examples (build/examples, or one built out of tree by
# tests/install/out-of-tree.sh); SKRUN is the skrun to start them with.
# VERSION, if given, is the Skiff version hello must report. Examples this
# script has no checks of its own for (a new examples/*.c) must run on 4
# nodes and exit 0. Prints one "ok"/"FAIL" line per check; exit status 1
# if any failed, 2 on bad arguments.
set -uo pipefail

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 SKRUN DIR [VERSION]" >&2
	exit 2
fi
SKRUN=$1 DIR=$2 VERSION=${3:-}
[ -x "$SKRUN" ] || { echo "check.sh: $SKRUN is not executable" >&2; exit 2; }
[ -d "$DIR" ] || { echo "check.sh: $DIR is not a directory" >&2; exit 2; }
# Absolute: the jobs run in a scratch directory.
SKRUN=$(cd "$(dirname "$SKRUN")" && pwd)/${SKRUN##*/}
DIR=$(cd "$DIR" && pwd)

T=$(mktemp -d /tmp/skiff-examples.XXXXXX)
trap 'rm -rf "$T"' EXIT
OUT=$T/out ERR=$T/err
# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/checks.sh"

# run ARGS...: skrun ARGS in the scratch directory, bounded in time.
run() {
	(cd "$T/work" && timeout -k 5 60 "$SKRUN" "$@") >"$OUT" 2>"$ERR" \
		</dev/null
	RC=$?
}

lines() { grep -c -- "$1" "$OUT"; }

# refused CHECK STATUS TEXT [CMD...]: ok when the last run exited STATUS
# with TEXT on its stderr (and CMD, if given, succeeds).
refused() {
	local check=$1 status=$2 text=$3
	shift 3
	if [ "$RC" -eq "$status" ] && grep -q -- "$text" "$ERR" &&
		{ [ $# -eq 0 ] || "$@"; }; then
		ok "$check"
	else
		fail "$check" "exit status $RC"
	fi
}

# verdict CHECK WHY: ok when WHY (the reasons it failed) is empty.
verdict() {
	if [ -z "$2" ]; then
		ok "$1"
	else
		fail "$1" "$2"
	fi
}

check_hello() {
	local p=$1 r why=''
	run -n 4 "$p" a 'b c'
	[ $RC -eq 0 ] || why="exit status $RC"
	for r in 0 1 2 3; do
		grep -q "^hello from rank $r of 4 on .* (Skiff ${VERSION:-[0-9.]*}, booted)\$" \
			"$OUT" || why+=" no hello from rank $r;"
		grep -qF "rank $r argv: [$p] [a] [b c]" "$OUT" ||
			why+=" no argv of rank $r;"
	done
	verdict "$name: 4 nodes, argv" "$why"

	# Every node exits 3: so does skrun, and it names a rank that did.
	run -n 4 "$p" --exit 3
	why=
	[ $RC -eq 3 ] || why="exit status $RC, not 3;"
	[ "$(lines 'exits with 3$')" -ge 1 ] || why+=" no 'exits with 3';"
	grep -q 'exited with status 3' "$ERR" || why+=" skrun did not say why;"
	verdict "$name --exit 3" "$why"

	run -n 2 "$p" --exit 256
	refused "$name --exit 256 refused" 2 "'256' is not a code from 0 to 255"
}

check_ring() {
	local p=$1 r why=''
	run -n 4 "$p"
	[ $RC -eq 0 ] || why="exit status $RC;"
	for r in 1 2 3; do
		grep -qFx "ring: rank $r got token $r from rank $((r - 1)): 'hop $r, written by rank $((r - 1))'" \
			"$OUT" || why+=" rank $r did not get token $r;"
	done
	grep -qFx "ring: rank 0 got token 4 from rank 3: 'hop 4, written by rank 3'" \
		"$OUT" || why+=" the token did not come back;"
	grep -qFx 'ring: the token went 1 time around 4 nodes (4 hops)' \
		"$OUT" || why+=" no summary;"
	verdict "$name: 4 nodes" "$why"

	run -n 3 "$p" 5
	if [ $RC -eq 0 ] && [ "$(lines ' got token ')" -eq 15 ] &&
		grep -qFx 'ring: the token went 5 times around 3 nodes (15 hops)' "$OUT"; then
		ok "$name: 5 laps on 3 nodes"
	else
		fail "$name: 5 laps on 3 nodes" "exit status $RC"
	fi

	run -n 1 "$p"
	refused "$name: 1 node refused" 2 'needs at least 2 nodes'
}

check_file_io() {
	local p=$1 r why='' n=2048
	rm -f "$T/work/shared.txt"
	run -n 4 "$p" shared.txt $n
	[ $RC -eq 0 ] || why="exit status $RC;"
	for r in 0 1 2 3; do
		grep -qFx "file_io: rank $r wrote and read back its $n lines of shared.txt ($((n * 32)) bytes at offset $((r * n * 32))): ok" \
			"$OUT" || why+=" no ok from rank $r;"
	done
	# The whole file, as the host has it, byte for byte.
	awk -v n=$n 'BEGIN { for (r = 0; r < 4; r++) for (l = 0; l < n; l++)
		printf "%-31s\n", "rank " r " line " l }' >"$T/expect"
	cmp -s "$T/expect" "$T/work/shared.txt" ||
		why+=" shared.txt is not the 4 slices;"
	verdict "$name: 4 slices" "$why"

	run -n 2 "$p" ../outside.txt 10
	refused "$name: a path out of the root refused" 1 \
		'open ../outside.txt: Permission denied' test ! -e "$T/outside.txt"
}

check_rpc_sum() {
	local p=$1 r why=''
	run -n 4 "$p"
	[ $RC -eq 0 ] || why="exit status $RC;"
	for r in 1 2 3; do
		grep -qFx "rank $r: $r + $((1000 * r)) = $((1001 * r))" "$OUT" ||
			why+=" no answer for rank $r;"
	done
	[ "$(wc -l <"$OUT")" -eq 3 ] || why+=" extra lines;"
	verdict "$name: 4 nodes" "$why"

	run -n 1 "$p"
	refused "$name: 1 node refused" 2 'skrun -n 2 or more'
}

check_kv_hello() {
	local p=$1 r o why=''
	run -n 4 "$p" 3
	[ $RC -eq 0 ] || why="exit status $RC;"
	for r in 0 1 2 3; do
		grep -qFx "kv_hello: rank $r stored 3 keys" "$OUT" ||
			why+=" rank $r stored nothing;"
		grep -q "^kv_hello: rank $r read back the 9 keys of the 3 other nodes: " \
			"$OUT" || why+=" rank $r did not read the others' keys;"
		for o in 0 1 2 3; do
			[ $o = "$r" ] && continue
			grep -q "^kv_hello: rank $r read hello:$o:0 = 'rank $o says hello 0' (stored by rank $o, kept by rank [0-3])\$" \
				"$OUT" || why+=" rank $r did not show rank $o's key;"
		done
	done
	verdict "$name: 4 nodes, 3 keys each" "$why"

	run -n 2 "$p" --bench 100
	why=
	[ $RC -eq 0 ] || why="exit status $RC;"
	[ "$(lines '^kv_hello: rank [01]: [1-9][0-9]* GETs in [0-9.]* s, [0-9]* GETs/s')" -eq 2 ] ||
		why+=" no GET rate from both ranks;"
	verdict "$name --bench 100 (ms)" "$why"

	run -n 1 "$p"
	refused "$name: 1 node refused" 2 'skrun -n 2 or more'
	run -n 2 "$p" 0
	refused "$name: 0 keys refused" 2 'usage: kv_hello'
}

mkdir -p "$T/work"
found=0
for p in "$DIR"/*; do
	if [ ! -f "$p" ] || [ ! -x "$p" ]; then
		continue
	fi
	name=${p##*/}
	found=$((found + 1))
	case $name in
	hello | hello_cxx) check_hello "$p" ;;
	ring) check_ring "$p" ;;
	file_io) check_file_io "$p" ;;
	rpc_sum) check_rpc_sum "$p" ;;
	kv_hello) check_kv_hello "$p" ;;
	*)
		run -n 4 "$p"
		if [ $RC -eq 0 ]; then
			ok "$name: 4 nodes exit 0 (no checks of its own here)"
		else
			fail "$name: 4 nodes" "exit status $RC"
		fi
		;;
	esac
done
[ $found -gt 0 ] || { echo "FAIL no example programs in $DIR"; failed=$((failed + 1)); }

summary "examples ($DIR)"
