# shellcheck shell=bash
# shellcheck disable=SC2034 # RC, passed, failed: read by the callers
# checks.sh - the frame of the shell suites tests/e2e/jobs.sh,
# tests/launcher/ssh-loopback.sh and tests/examples/check.sh (sourced, not
# run): one "ok"/"FAIL" line per check and the counts, a skrun run bounded
# in time, the check that no process outlives its job, and the summary.
#
# The caller sets, before its first check:
#   T            its scratch directory; T/bin holds the programs it runs,
#                so `pgrep -f $T/bin/` finds exactly its processes
#   OUT, ERR     where a run's stdout and stderr go
#   SKRUN        the skrun binary
#   CHECK_ONLY   run only the checks whose names match this regex (may be
#                empty: all)
#   CHECK_SKIP   leave out the checks whose names match this regex, each
#                named on a "skip" line and counted in the summary
#   CHECK_ORPHAN_ROUNDS  0.2 s rounds a job's processes get to exit
#                (default 10)
#   CHECK_SHARD  "I/N": of the checks CHECK_ONLY lets through, take only
#                every Nth, from the Ith (0-based): N runs of the suite,
#                side by side, share its checks out (each names and counts
#                only its own, skipped ones too)

passed=0 failed=0 skipped=0 RC=0 failed_names=() shard_seq=0

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1: $2"
	failed_names+=("$1")
	excerpt '     | ' "$OUT"
	excerpt '     ! ' "$ERR"
	failed=$((failed + 1))
}
# excerpt PREFIX FILE: FILE's first 14 lines and its last 6, or all of it
# up to 20 (what a job said last, skrun's word on a hang, is at the end).
excerpt() {
	local n
	n=$(wc -l <"$2")
	if [ "$n" -le 20 ]; then
		sed "s/^/$1/" "$2"
	else
		head -14 "$2" | sed "s/^/$1/"
		echo "$1... $((n - 20)) more lines ..."
		tail -6 "$2" | sed "s/^/$1/"
	fi
}
want() {
	[[ -z ${CHECK_ONLY:-} || $1 =~ $CHECK_ONLY ]] || return 1
	if [[ -n ${CHECK_SHARD:-} ]]; then
		shard_seq=$((shard_seq + 1))
		(((shard_seq - 1) % ${CHECK_SHARD#*/} == ${CHECK_SHARD%/*})) ||
			return 1
	fi
	if [[ -n ${CHECK_SKIP:-} && $1 =~ $CHECK_SKIP ]]; then
		echo "skip $1 (CHECK_SKIP)"
		skipped=$((skipped + 1))
		return 1
	fi
	return 0
}

# run SECONDS ARGS...: skrun ARGS, output in $OUT/$ERR, status in $RC.
run() {
	local t=$1
	shift
	timeout -k 5 "$t" "$SKRUN" "$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
}

# await TRIES CMD...: run CMD every 0.1 s until it succeeds, at most TRIES
# times; its status is the last try's.
await() {
	local n=$1 _
	shift
	for _ in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# No process of the check may outlive its job: 0 (and their list) if some
# are still there after CHECK_ORPHAN_ROUNDS rounds, 1 if none.
orphans() {
	local _
	for _ in $(seq "${CHECK_ORPHAN_ROUNDS:-10}"); do
		pgrep -f "$T/bin/" >/dev/null || return 1
		sleep 0.2
	done
	pgrep -af "$T/bin/"
	return 0
}

# check NAME CMD...: run the check CMD (0, or prints why and returns 1)
# with $OUT and $ERR emptied, then look for processes left behind. Its
# line gives how long CMD took (a check near its run bound shows).
check() {
	local name=$1
	shift
	want "$name" || return 0
	local why t0=${EPOCHREALTIME/,/.} took st=0
	: >"$OUT"
	: >"$ERR"
	why=$("$@" 2>&1) || st=1
	took=$(awk -v a="$t0" -v b="${EPOCHREALTIME/,/.}" \
		'BEGIN { printf "%.1f", b - a }')
	if [ $st -ne 0 ]; then
		fail "$name" "$why (after $took s)"
	elif orphans >"$T/orph"; then
		fail "$name" "processes left behind: $(cat "$T/orph")"
		pkill -KILL -f "$T/bin/"
	else
		ok "$name ($took s)"
	fi
}

# summary LABEL: the counts line, naming the failed checks; fails if any
# check failed.
summary() {
	local skips=
	[ "$skipped" -eq 0 ] || skips=", $skipped skipped"
	if [ "$failed" -eq 0 ]; then
		echo "$1: $passed passed, $failed failed$skips"
	else
		echo "$1: $passed passed, $failed failed$skips (${failed_names[*]})"
	fi
	[ "$failed" -eq 0 ]
}
