#!/usr/bin/env bash
# The fault walk (in the spirit of SQLite's): run a workload once in the
# fault build to count its fault points (skiff/fault.h), then once for
# every N from 1 to that count with the N-th point failing. Every run must
# end with a clear error or a success: no crash, no sanitizer report (ASan
# with LSan: no leak), no hang (a run past $SKIFF_FAULT_TIMEOUT s is one),
# no process left behind, and a success must have its right output.
#
#   tests/faults/walk.sh [WORKLOAD...]      default: all of them
#
# Workloads (the process the faults are aimed at, SKIFF_FAULT_PROC/_IF):
#   rpc-client   tests/faults/fault_rpc, its client: peer add, calls of
#                every size class, deferred answers, peer remove, destroy
#   rpc-server   the same, faults in its server process
#   job-rank0    skrun -n 2 node_app readfile: rank 0 prints and reads a
#                300 KB file through the host; faults in rank 0
#   job-rank1    the same job, faults in rank 1
#   job-skrun    the same job, faults in skrun
#
# Environment:
#   SKIFF_FAULT_BUILD      the fault build (default build-address-faults:
#                          make SANITIZER=address FAULTS=1), made here
#   SKIFF_FAULT_STRIDE=K   walk N = 1, 1+K, 1+2K, ... (default 1: every
#                          point); the summary says which
#   SKIFF_FAULT_TIMEOUT=S  a run that takes longer hangs (default 30)
#   SKIFF_FAULT_JOBS=J     runs at a time (default 2, this machine's cores)
#   SKIFF_FAULT_KEEP=1     keep the scratch directory (logs of every run)
#
# Prints each bad run with its log's last lines, then one line per
# workload, "WORKLOAD: P points, N runs walked: ...". Exit 0 if every run
# was good.
#
# One outcome is neither an error nor a success, and counts as "waited by
# design": with the server's large-buffer pool_get failing, rpc defers the
# large request until a buffer comes back (rpc.h's flow control). A real
# empty pool has buffers out, which come back; the injected one has none,
# so the caller's call is never answered and fault_rpc gives up (10 s).
#
# Not points: polls and arms (their number depends on timing). Waits are
# bounded by FAULT_RPC_PEER_MS=1000 for fault_rpc's peer adds in faulted
# runs (a side that failed before its hello costs that much: nothing else
# tells the other side) and SKIFF_RPC_PROBE_MS=100.
set -uo pipefail

cd "$(dirname "$0")/../.."
repo=$PWD
BUILD=${SKIFF_FAULT_BUILD:-build-address-faults}
STRIDE=${SKIFF_FAULT_STRIDE:-1}
TMO=${SKIFF_FAULT_TIMEOUT:-30}
JOBS=${SKIFF_FAULT_JOBS:-2}

case $STRIDE in '' | *[!0-9]* | 0)
	echo "walk.sh: SKIFF_FAULT_STRIDE='$STRIDE' is not a positive number" >&2
	exit 2 ;;
esac
case $JOBS in '' | *[!0-9]* | 0)
	echo "walk.sh: SKIFF_FAULT_JOBS='$JOBS' is not a positive number" >&2
	exit 2 ;;
esac
case $TMO in '' | *[!0-9]* | 0)
	echo "walk.sh: SKIFF_FAULT_TIMEOUT='$TMO' is not a positive number" >&2
	exit 2 ;;
esac

workloads=(rpc-client rpc-server job-rank0 job-rank1 job-skrun)
if [ $# -gt 0 ]; then
	for w in "$@"; do
		case " ${workloads[*]} " in *" $w "*) ;;
		*) echo "walk.sh: no workload '$w' (${workloads[*]})" >&2
		   exit 2 ;;
		esac
	done
	workloads=("$@")
fi

san=${BUILD#build-}
san=${san%-faults}
if ! nice make --no-print-directory -j2 SANITIZER="$san" FAULTS=1 \
	BUILD="$BUILD" "$BUILD/tests/fault_rpc" "$BUILD/bin/skrun" \
	"$BUILD/tests/node_app" >/dev/null; then
	echo "walk.sh: cannot build the fault build $BUILD" >&2
	exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/skiff-faults.XXXXXX")
cleanup() {
	if [ "${SKIFF_FAULT_KEEP:-0}" = 1 ]; then
		echo "logs kept in $T"
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
head -c 300000 /dev/urandom >"$T/in.bin"
want_fnv=$("$repo/$BUILD/tests/node_app" fnvfile "$T/in.bin" 2>/dev/null |
	awk '{print $NF}')

# The sanitizer's exit code is its own, so that it is never taken for a
# workload's clear error (1).
# Slow unwinding on malloc: UCX has no frame pointers, and a leak inside
# it is told from ours (lsan.supp) by the frames below its entry point.
export ASAN_OPTIONS=detect_leaks=1:exitcode=66:fast_unwind_on_malloc=0
export UBSAN_OPTIONS=exitcode=66
export LSAN_OPTIONS=suppressions=$repo/tests/faults/lsan.supp:print_suppressions=0
export SKIFF_PROVIDER=${SKIFF_PROVIDER:-ucx} # rdma: in the Soft-RoCE guest
# A dead peer found in ~0.6 s, not 5-6 s: the walk's runs stay short.
export SKIFF_RPC_PROBE_MS=100
unset SKIFF_FAULT_AT SKIFF_FAULT_PROC SKIFF_FAULT_IF SKIFF_FAULT_COUNT

# The command, target process and condition of workload $1.
setup() {
	case $1 in
	rpc-*)
		cmd=("$repo/$BUILD/tests/fault_rpc")
		proc=fault_rpc
		[ "$1" = rpc-server ] && proc=fault_rpc_srv
		cond= ;;
	job-*)
		cmd=("$repo/$BUILD/bin/skrun" -n 2 "$repo/$BUILD/tests/node_app"
		     readfile in.bin)
		proc=node_app
		cond=
		case $1 in
		job-rank0) cond=SKIFF_RANK=0 ;;
		job-rank1) cond=SKIFF_RANK=1 ;;
		job-skrun) proc=skrun ;;
		esac ;;
	esac
}

# Run the workload with fault $1 (0: none) in slot directory $2, into
# $2/{out,err,rc,left}. Each run is its own session, so whatever it leaves
# behind is found.
run() {
	local at=$1 d=$2 sid left i
	rm -f "$d"/count.* "$d"/left
	(
		cd "$d" || exit 1
		SKIFF_FAULT_AT=$at SKIFF_FAULT_PROC=$proc SKIFF_FAULT_IF=$cond \
		SKIFF_FAULT_COUNT="$d/count" \
		FAULT_RPC_PEER_MS=$([ "$at" = 0 ] || echo 1000) \
			exec setsid nice timeout -k 5 "$TMO" "${cmd[@]}" \
			>"$d/out" 2>"$d/err" </dev/null
	) &
	sid=$!
	wait $sid
	echo $? >"$d/rc"
	# The subshell was no group leader, so setsid made it a session
	# of its own without forking: the session id is its pid.
	# A process still on its way out gets 2 s to finish.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		left=$(ps -eo pid=,sid=,stat=,comm= |
			awk -v s="$sid" '$2 == s && $3 !~ /^Z/')
		[ -z "$left" ] && break
		sleep 0.2
	done
	if [ -n "$left" ]; then
		echo $left >"$d/left"
		pkill -KILL -s "$sid" 2>/dev/null || true
	fi
}

# The count of the targeted process of the run in $1.
count() {
	local f n max=0
	for f in "$1"/count."$proc".*; do
		[ -e "$f" ] || continue
		n=$(tr -d ' \n\0' <"$f")
		[ "$n" -gt "$max" ] && max=$n
	done
	echo $max
}

# Judge the run in $1: prints "" (good) or what was wrong.
judge() {
	local d=$1 rc
	rc=$(cat "$d/rc")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "hang (no end in ${TMO} s)"
	elif grep -q "Sanitizer" "$d/err"; then
		echo "sanitizer: $(grep -m1 -o '[A-Za-z]*Sanitizer: [^ ]* [^ ]*' \
			"$d/err")"
	elif [ -e "$d/left" ]; then
		echo "processes left behind: $(cat "$d/left")"
	else
		case $workload in
		rpc-*)
			case $rc in
			0 | 1) ;;
			3) echo "wrong answer reported as a success" ;;
			4)
				# rpc defers a large request while its large
				# pool is empty, until a buffer comes back
				# (rpc.h's flow control). A real empty pool has
				# buffers out that come back; an injected one
				# has none, so the call waits. By design.
				if grep -q "injected: pool_get (fault_rpc_srv)" \
					"$d/err" &&
					grep -q "large call: no answer" \
						"$d/err"; then
					echo WAIT
				else
					echo "a call never answered (10 s)"
				fi ;;
			5) echo "the server ended badly" ;;
			*) echo "exit status $rc" ;;
			esac ;;
		job-*)
			if [ "$rc" = 0 ]; then
				grep -q "read 300000 bytes fnv $want_fnv" \
					"$d/out" ||
					echo "success without the file's line"
			elif [ "$rc" -ge 128 ]; then
				echo "exit status $rc (a signal)"
			elif grep -q "killed by signal" "$d/err"; then
				echo "a node was killed by a signal"
			elif ! grep -qE "(skrun|skiff)[^:]*:" "$d/err"; then
				echo "exit status $rc without a message"
			fi ;;
		esac
	fi
}

# Judge the run of fault $1 in slot $2 and count it.
tally() {
	local n=$1 d=$2 bad
	walked=$((walked + 1))
	bad=$(judge "$d")
	grep -q "skiff: fault $n injected" "$d/err" ||
		unreached=$((unreached + 1))
	if [ "$bad" = WAIT ]; then
		waited=$((waited + 1))
	elif [ -n "$bad" ]; then
		nbad=$((nbad + 1))
		status=1
		echo "$workload: fault $n: $bad"
		tail -n 12 "$d/err" | sed 's/^/    | /'
		if [ "${SKIFF_FAULT_KEEP:-0}" = 1 ]; then
			mkdir -p "$T/bad"
			cp "$d/err" "$T/bad/$workload.$n.err"
			cp "$d/out" "$T/bad/$workload.$n.out"
		fi
	elif [ "$(cat "$d/rc")" = 0 ]; then
		ok=$((ok + 1))
	else
		errors=$((errors + 1))
	fi
}

for ((j = 0; j < JOBS; j++)); do
	mkdir -p "$T/s$j"
	cp "$T/in.bin" "$T/s$j/in.bin" # skrun's file service: no symlinks
done

status=0 t_all=$SECONDS
for workload in "${workloads[@]}"; do
	t0=$SECONDS
	setup "$workload"
	d0=$T/s0
	run 0 "$d0"
	bad=$(judge "$d0")
	points=$(count "$d0")
	if [ -n "$bad" ] || [ "$(cat "$d0/rc")" != 0 ]; then
		echo "$workload: the run without a fault failed:" \
			"${bad:-exit $(cat "$d0/rc")}"
		tail -n 20 "$d0/err" | sed 's/^/    | /'
		status=1
		continue
	fi
	if [ "$points" -eq 0 ]; then
		echo "$workload: no fault point counted (is $BUILD a FAULTS=1 build?)"
		status=1
		continue
	fi
	walked=0 errors=0 ok=0 unreached=0 nbad=0 waited=0
	# JOBS runs at a time, each in its slot; judged in order.
	for ((n = 1; n <= points; n += STRIDE * JOBS)); do
		for ((j = 0; j < JOBS; j++)); do
			k=$((n + j * STRIDE))
			[ $k -le "$points" ] && run $k "$T/s$j" &
		done
		wait
		for ((j = 0; j < JOBS; j++)); do
			k=$((n + j * STRIDE))
			[ $k -le "$points" ] && tally $k "$T/s$j"
		done
	done
	what="every point"
	[ "$STRIDE" != 1 ] && what="every ${STRIDE}th point"
	echo "$workload: $points points, $walked runs walked ($what):" \
		"$errors clear errors, $ok successes, $nbad bad$(
			[ $waited = 0 ] || echo " ($waited waited by design)");" \
		"$unreached not reached; $((SECONDS - t0)) s"
done
echo "fault walk: $((SECONDS - t_all)) s," \
	"$([ $status = 0 ] && echo ok || echo FAILED)"
exit $status
