#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2016 # "A && B || fail" and literal $ are meant
# jobs.sh - skrun inside Slurm, for real (issue 14): a one-machine Slurm
# cluster from Debian's packages (tests/slurm/cluster.sh: munged,
# slurmctld and slurmd in a scratch directory, on loopback), and Skiff
# jobs through salloc and sbatch, whose ranks skrun starts with srun,
# one step per host.
# Needs root and slurmctld, slurmd, slurm-client and munge (mk/deps.sh);
# there is no skip: missing ones are a failure.
#
# Each check is one job; after it neither the OS (`pgrep -f $T/bin/`: the
# node program, its agent and its srun all name it) nor Slurm (squeue)
# may show anything of it. The job over its Slurm time limit is submitted
# first and checked last, since Slurm's limits count in minutes.
# Output: one "ok"/"FAIL" line per check, then "slurm: N passed, N
# failed"; exit status 1 if any failed. The cluster is stopped at the end
# and must leave nothing behind.
#
#   BUILD       build directory (default build)
#   SLURM_ONLY  run only the checks whose names match this regex
#   SLURM_QUICK 1: leave out the time-limit job (it takes ~1.5 min)
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
repo=$(pwd -P)
SKRUN=$repo/$BUILD/bin/skrun

die() {
	echo "FAIL slurm: $*"
	echo "slurm: 0 passed, 1 failed"
	exit 1
}

[ -x "$SKRUN" ] && [ -x "$repo/$BUILD/tests/node_app" ] &&
	[ -x "$repo/$BUILD/examples/hello" ] ||
	die "$SKRUN, $BUILD/tests/node_app or $BUILD/examples/hello missing: build first (make)"
tests/slurm/cluster.sh check-deps || die "Slurm is not installed; this test is not skipped: run mk/deps.sh (as root)"
[ "$(id -u)" -eq 0 ] || die "must run as root (slurmd)"

T=$(mktemp -d /tmp/skiff-slurm.XXXXXX)
chmod 755 "$T" # munged wants every parent of its socket searchable
APP=$T/bin/node_app HELLO=$T/bin/hello
mkdir -p "$T/bin" "$T/work"
cp "$repo/$BUILD/tests/node_app" "$APP"
cp "$repo/$BUILD/examples/hello" "$HELLO"
cluster_up=0
cleanup() {
	if [ $cluster_up = 1 ]; then
		tests/slurm/cluster.sh stop "$T/cluster" >/dev/null 2>&1
	fi
	pkill -KILL -f "$T/bin/" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t0=$(date +%s.%N)
tests/slurm/cluster.sh start "$T/cluster" 32 >/dev/null ||
	die "the cluster did not come up"
cluster_up=1
# shellcheck disable=SC1091
. "$T/cluster/env"
# elapsed T0: seconds since T0 (a date +%s.%N), to 2 decimals
elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
echo "cluster: munged, slurmctld and slurmd up in $(elapsed "$t0") s" \
	"($(sinfo -h -o '%P: %D node, %c CPUs'))"
cd "$T/work" || die "cd"

OUT=$T/out ERR=$T/err CHECK_ONLY=${SLURM_ONLY:-}
# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
. "$repo/tests/lib/checks.sh"

# After a check, Slurm too must be done with it: no job left running but
# the time-limit one.
slurm_idle() {
	[ -z "$(squeue -h -t R,CG,PD -o %i 2>/dev/null | grep -vx "${limit_job:-none}")" ]
}
scheck() {
	local name=$1
	want "$name" || return 0
	check "$@"
	if ! await 50 slurm_idle; then
		fail "$name" "Slurm still shows: $(squeue -h -o '%i %j %T %M')"
		squeue -h -o %i | grep -vx "${limit_job:-none}" | xargs -r scancel
		await 50 slurm_idle
	fi
}

# jobstate ID: "STATE EXITCODE" of a job Slurm still remembers.
jobstate() {
	scontrol show job "$1" 2>/dev/null |
		sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p; s/.* ExitCode=\([0-9:]*\).*/\1/p' |
		tr '\n' ' ' | sed 's/ $//'
}
job_over() { ! squeue -h -j "$1" -o %T 2>/dev/null | grep -q .; }

# sbatch_wait SECONDS ARGS...: submit, wait for the end; ID in $JOB,
# "STATE EXITCODE" in $STATE.
sbatch_wait() {
	local t=$1
	shift
	JOB=$(sbatch --parsable -o "$OUT" -e "$ERR" "$@") || return 1
	await $((t * 10)) job_over "$JOB" || { echo "job $JOB still running after $t s"; return 1; }
	STATE=$(jobstate "$JOB")
}

# ---- the checks: each returns 0 or prints why and returns 1 ----

# The ranks of a host are one Slurm step of the allocation, as mpirun's
# orted per node: SLURM_STEP_ID set and the same for all four (the one
# machine is one node), and each knows its place on the host.
t_steps() {
	timeout -k 5 60 salloc -Q -n 4 "$SKRUN" "$APP" env SLURM_STEP_ID \
		>"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	[ "$(grep -c '^rank [0-3] SLURM_STEP_ID=[0-9][0-9]*$' "$OUT")" -eq 4 ] ||
		{ echo "not 4 ranks with a step id"; return 1; }
	[ "$(sed 's/.*=//' "$OUT" | sort -u | wc -l)" -eq 1 ] ||
		{ echo "the ranks of one host are in different steps: $(cat "$OUT")"; return 1; }
	timeout -k 5 60 salloc -Q -n 4 "$SKRUN" "$APP" env SKIFF_LOCAL_RANK \
		>"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	for r in 0 1 2 3; do
		grep -qx "rank $r SKIFF_LOCAL_RANK=$r" "$OUT" ||
			{ echo "rank $r's local rank: $(cat "$OUT")"; return 1; }
	done
}

# What plain programs write crosses the step's one stream complete: 4
# ranks of seq, 20000 lines each on stdout and 100 on stderr, every byte
# there. Untagged, as with mpirun, two ranks' lines can interleave where a
# rank's write ended mid-line (seq writes 4 KiB blocks to its pipe; CI run
# 34 saw it once, after many runs where the ranks happened not to
# overlap), so lines are checked whole under --tag-output, where skrun
# assembles each rank's lines: every rank's 1..5000, in order.
t_output() {
	local r
	timeout -k 5 60 salloc -Q -n 4 "$SKRUN" sh -c \
		'seq 1 20000; seq 1 100 >&2' >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 0 ] || { echo "exit $RC: $(head -3 "$ERR")"; return 1; }
	[ "$(wc -c <"$OUT")" -eq $((4 * $(seq 1 20000 | wc -c))) ] &&
		! grep -q '[^0-9]' "$OUT" ||
		{ echo "stdout: $(wc -c <"$OUT") bytes, not 4 x seq 1 20000"; return 1; }
	[ "$(wc -c <"$ERR")" -eq $((4 * $(seq 1 100 | wc -c))) ] ||
		{ echo "stderr: not 4 x seq 1 100: $(head -3 "$ERR")"; return 1; }
	timeout -k 5 60 salloc -Q -n 4 "$SKRUN" --tag-output sh -c \
		'seq 1 5000; echo to-stderr >&2' >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 0 ] || { echo "--tag-output: exit $RC"; return 1; }
	for r in 0 1 2 3; do
		sed -n "s/^\[[0-9]*,$r\]<stdout>://p" "$OUT" | cmp -s - <(seq 1 5000) ||
			{ echo "rank $r: its tagged lines are not 1..5000 in order"; return 1; }
		grep -q "^\[[0-9]*,$r\]<stderr>:to-stderr$" "$ERR" ||
			{ echo "rank $r: no tagged stderr"; return 1; }
	done
}

# A program the step's host cannot start: said once for the host, 127.
t_nostart() {
	timeout -k 5 60 salloc -Q -n 3 "$SKRUN" "$T/bin/no-such-program" \
		>"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 127 ] || { echo "exit $RC, want 127: $(cat "$ERR")"; return 1; }
	grep -q "cannot start '$T/bin/no-such-program' on .*: No such file or directory; 3 ranks could not start there" "$ERR" ||
		{ echo "no message: $(cat "$ERR")"; return 1; }
	[ "$(grep -c 'cannot start' "$ERR")" -eq 1 ] ||
		{ echo "said more than once: $(cat "$ERR")"; return 1; }
}

# A host's 200 ranks in one step: 400 pipe ends in its agent, under a
# soft descriptor limit of 256 (Slurm passes the submitter's limits to
# the step). The agent raises it to the hard limit, as Open MPI's
# daemons do, and each rank gets 256 back.
t_many_ranks() {
	timeout -k 5 120 salloc -Q -n 4 bash -c \
		'ulimit -Sn 256; exec "$0" --oversubscribe -n 200 sh -c "ulimit -n"' \
		"$SKRUN" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 0 ] && [ "$(grep -cx 256 "$OUT")" -eq 200 ] ||
		{ echo "exit $RC: $(sort "$OUT" | uniq -c | head -3) $(head -3 "$ERR")"; return 1; }
}

# The step's agent killed under its ranks: Slurm ends the step, and skrun
# says so and ends the job; nothing is left (scheck's look).
t_agent_killed() {
	local pid agent
	timeout -k 5 60 salloc -Q -n 3 "$SKRUN" "$APP" sleep 60000 \
		>"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	await 200 ranks_up sleep 3 || { echo "ranks did not start"; return 1; }
	agent=$(pgrep -f "^$SKRUN --agent")
	[ -n "$agent" ] || { kill $pid; echo "no agent"; return 1; }
	kill -KILL $agent
	wait $pid
	RC=$?
	[ $RC -ne 0 ] || { echo "exit 0"; return 1; }
	grep -q "the Slurm step on .* (srun pid [0-9]*) .* before 3 of its ranks had ended" "$ERR" ||
		{ echo "exit $RC, no message about the step: $(cat "$ERR")"; return 1; }
	await 50 no_ranks_left ||
		{ echo "ranks left: $(pgrep -af "^$APP sleep")"; return 1; }
}

# In a batch script skrun runs on a node of the allocation (SLURMD_NODENAME)
# and forks that node's ranks, as mpirun does: they are in the batch
# step, not steps of their own; Slurm still sees them (listpids).
t_sbatch_forks() {
	JOB=$(sbatch --parsable -o "$OUT" -e "$ERR" -n 3 \
		--wrap "$SKRUN $APP env SLURM_STEP_ID") || return 1
	await 600 job_over "$JOB" || { echo "job $JOB still running"; return 1; }
	STATE=$(jobstate "$JOB")
	[ "$STATE" = "COMPLETED 0:0" ] || { echo "job $JOB: $STATE"; return 1; }
	[ "$(grep -c '^rank [0-2] SLURM_STEP_ID=(unset)$' "$OUT")" -eq 3 ] ||
		{ echo "not 3 ranks in the batch step"; return 1; }
	JOB=$(sbatch --parsable -o "$OUT" -e "$ERR" -n 3 \
		--wrap "$SKRUN $APP sleep 60000") || return 1
	await 200 ranks_up sleep 3 || { echo "ranks did not start"; return 1; }
	local listed nodes
	listed=$(scontrol listpids "$JOB" 2>&1)
	nodes=$(pgrep -f "^$APP sleep")
	scancel "$JOB"
	for p in $nodes; do
		echo "$listed" | grep -q "^$p  *$JOB  *batch " ||
			{ echo "node pid $p not in the batch step: $listed"; return 1; }
	done
	await 150 job_over "$JOB" || { echo "job $JOB still running after scancel"; return 1; }
}

t_salloc_hello() {
	local n=$1 r
	timeout -k 5 120 salloc -Q -n "$n" "$SKRUN" "$HELLO" \
		>"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	for ((r = 0; r < n; r++)); do
		grep -q "^hello from rank $r of $n on " "$OUT" ||
			{ echo "no hello from rank $r"; return 1; }
	done
}

t_sbatch_hello() {
	local n=$1 r
	sbatch_wait 120 -n "$n" --wrap "$SKRUN $HELLO" || return 1
	[ "$STATE" = "COMPLETED 0:0" ] || { echo "job $JOB: $STATE"; return 1; }
	for ((r = 0; r < n; r++)); do
		grep -q "^hello from rank $r of $n on " "$OUT" ||
			{ echo "no hello from rank $r"; return 1; }
	done
}

# File I/O through the host's file service: 4 nodes write their slices
# of one file and read them back; the host's bytes are checked too.
t_files() {
	local want plain
	rm -f big.dat
	timeout -k 5 300 salloc -Q -n 4 "$SKRUN" "$APP" files 2 big.dat \
		>"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	[ "$(grep -c ' match$' "$OUT")" -eq 4 ] ||
		{ echo "a slice did not read back as written"; return 1; }
	want=$("$APP" fnvpattern $((4 * 2 * 1048576)))
	plain=$("$APP" fnvfile big.dat)
	[ "$want" = "$plain" ] || { echo "file on the host: $plain, expected $want"; return 1; }
	rm -f big.dat
}

t_exit_code() {
	timeout -k 5 60 salloc -Q -n 3 "$SKRUN" "$APP" exit 5 1 \
		>"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 5 ] || { echo "exit $RC, want 5"; return 1; }
	grep -q "rank 1 .* exited with status 5" "$ERR" ||
		{ echo "no message naming rank 1"; return 1; }
}

ranks_up() { [ "$(pgrep -fc "^$APP $1")" -ge "$2" ]; }
no_ranks_left() { ! pgrep -f "^$APP " >/dev/null; }

# A node killed: the job aborts (the time it took is printed, not
# asserted), with 128 + SIGKILL.
t_kill() {
	local pid victim t_kill
	timeout -k 5 60 salloc -Q -n 3 "$SKRUN" "$APP" sleep 60000 \
		>"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	await 200 ranks_up sleep 3 || { echo "ranks did not start"; return 1; }
	sleep 0.5
	victim=$(pgrep -f "^$APP sleep" | tail -1)
	t_kill=$(date +%s.%N)
	kill -KILL "$victim"
	wait $pid
	RC=$?
	echo "kill -9 of a node to the end of salloc: $(elapsed "$t_kill") s" \
		>>"$T/figures"
	[ $RC -eq 137 ] || { echo "exit $RC, want 137 (128+SIGKILL)"; return 1; }
	grep -q "was killed by signal 9" "$ERR" ||
		{ echo "no message about the kill"; return 1; }
}

t_timeout() {
	timeout -k 5 60 salloc -Q -n 2 "$SKRUN" --timeout 1.5 "$APP" sleep 60000 \
		>"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 124 ] || { echo "exit $RC, want 124"; return 1; }
	grep -q "timed out after 1.5 s" "$ERR" || { echo "no message"; return 1; }
}

# A signal to skrun reaches the ranks through srun and the agents; the
# job's status is 128 + the signal.
t_signal() {
	local sig=$1 want=$2 pid sk
	timeout -k 5 60 salloc -Q -n 2 "$SKRUN" "$APP" sleep 60000 \
		>"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	await 200 ranks_up sleep 2 || { echo "ranks did not start"; return 1; }
	sleep 0.3
	sk=$(pgrep -f "^$SKRUN $APP sleep")
	[ -n "$sk" ] || { echo "no skrun"; return 1; }
	kill -"$sig" "$sk"
	wait $pid
	RC=$?
	[ $RC -eq "$want" ] || { echo "exit $RC, want $want"; return 1; }
	grep -q "skrun: got $sig; forwarding it to the nodes" "$ERR" ||
		{ echo "skrun did not say it forwarded $sig"; return 1; }
}

# Slurm knows the ranks: scontrol listpids shows each node's pid.
t_listpids() {
	local pid job nodes listed
	timeout -k 5 60 salloc -Q -n 3 "$SKRUN" "$APP" sleep 60000 \
		>"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	await 200 ranks_up sleep 3 || { echo "ranks did not start"; return 1; }
	job=$(squeue -h -o %i | grep -vx "${limit_job:-none}" | head -1)
	listed=$(scontrol listpids "$job" 2>&1)
	nodes=$(pgrep -f "^$APP sleep")
	for p in $nodes; do
		echo "$listed" | grep -q "^$p " ||
			{ kill $pid; echo "node pid $p not in scontrol listpids: $listed"; return 1; }
	done
	scancel "$job"
	wait $pid
	return 0
}

# scancel of a batch job: Slurm signals skrun and its ranks together (they
# are in the batch step); skrun says it got TERM, before or after a rank's
# death from the same signal, the job is CANCELLED and nothing is left.
t_scancel() {
	JOB=$(sbatch --parsable -o "$OUT" -e "$ERR" -n 3 \
		--wrap "$SKRUN $APP sleep 60000") || return 1
	await 200 ranks_up sleep 3 || { echo "ranks did not start"; return 1; }
	sleep 0.3
	scancel "$JOB"
	await 150 job_over "$JOB" || { echo "job $JOB still running after scancel"; return 1; }
	STATE=$(jobstate "$JOB")
	[[ $STATE == CANCELLED* ]] || { echo "job $JOB: $STATE"; return 1; }
	grep -Eq "skrun: got TERM(; forwarding it to the nodes| while the job was ending; (killing the nodes|its nodes had all exited))" "$ERR" ||
		{ echo "skrun did not report the cancel"; return 1; }
}

# The batch scripts of examples/slurm/, as a user submits them, from the
# directory that holds the programs, with skrun on PATH. kv.sbatch asks
# for 4 nodes: here 1 node and its 8 tasks.
t_examples() {
	cp "$repo/$BUILD/examples/kv_hello" "$T/bin/"
	PATH=$repo/$BUILD/bin:$PATH sbatch_wait 120 --chdir "$T/bin" \
		"$repo/examples/slurm/hello.sbatch" || return 1
	[ "$STATE" = "COMPLETED 0:0" ] || { echo "hello.sbatch: job $JOB: $STATE"; return 1; }
	[ "$(grep -c "^hello from rank [0-9]* of 16 on " "$OUT")" -eq 16 ] ||
		{ echo "hello.sbatch: not 16 hellos"; return 1; }
	PATH=$repo/$BUILD/bin:$PATH sbatch_wait 120 --chdir "$T/bin" \
		--nodes=1 "$repo/examples/slurm/kv.sbatch" || return 1
	[ "$STATE" = "COMPLETED 0:0" ] || { echo "kv.sbatch: job $JOB: $STATE"; return 1; }
	grep -q "^skrun exited with 0$" "$OUT" ||
		{ echo "kv.sbatch: skrun did not exit 0"; return 1; }
}

# skrun -n N outside an allocation: as before, no srun.
t_outside() {
	env -u SLURM_JOB_ID -u SLURM_JOBID timeout -k 5 60 "$SKRUN" -n 2 \
		"$APP" env SLURM_STEP_ID >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	[ "$(grep -c 'SLURM_STEP_ID=(unset)$' "$OUT")" -eq 2 ] ||
		{ echo "ranks ran as Slurm steps"; return 1; }
}

# Set-ups that cannot work say what is wrong, and no rank starts.
t_bad_setups() {
	SLURM_JOB_ID=99 SLURM_JOB_NODELIST='node[1-2]' SLURM_TASKS_PER_NODE=4 \
		timeout 20 "$SKRUN" "$APP" hello >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 2 ] && grep -q "inside a Slurm allocation, but SLURM_TASKS_PER_NODE ('4') gives tasks for 1 node, but SLURM_JOB_NODELIST has 2" "$ERR" ||
		{ echo "contradicting variables: exit $RC: $(cat "$ERR")"; return 1; }
	SLURM_JOB_ID=99 SLURM_TASKS_PER_NODE=4 \
		timeout 20 "$SKRUN" "$APP" hello >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 2 ] && grep -q "SLURM_JOB_ID is set but SLURM_JOB_NODELIST is not" "$ERR" ||
		{ echo "no node list: exit $RC: $(cat "$ERR")"; return 1; }
	timeout -k 5 30 salloc -Q -n 2 env SKIFF_SRUN=no-such-srun "$SKRUN" \
		"$APP" hello >"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 127 ] && grep -q "'no-such-srun' is not on PATH" "$ERR" ||
		{ echo "no srun: exit $RC: $(cat "$ERR")"; return 1; }
	timeout -k 5 30 srun -Q -n 1 "$SKRUN" -n 2 "$APP" hello \
		>"$OUT" 2>"$ERR" </dev/null
	RC=$?
	[ $RC -eq 2 ] && grep -q "started as a task of Slurm step" "$ERR" ||
		{ echo "skrun inside srun: exit $RC: $(cat "$ERR")"; return 1; }
	! grep -q "hello from" "$OUT" || { echo "a rank started"; return 1; }
}

# Over the Slurm time limit (1 minute, the least Slurm takes): Slurm
# signals skrun and its ranks together; skrun says it got TERM, the job
# ends TIMEOUT and nothing is left.
# Its own copy of the node program, outside $T/bin, so that the other
# checks' look for leftovers does not see it.
limit_job=
limit_submit() {
	mkdir -p "$T/limit"
	cp "$APP" "$T/limit/node_app"
	limit_job=$(sbatch --parsable --time=1 -o "$T/limit.out" -e "$T/limit.err" \
		-n 2 --wrap "$SKRUN $T/limit/node_app sleep 600000")
}
t_time_limit() {
	[ -n "$limit_job" ] || { echo "not submitted"; return 1; }
	await 1500 job_over "$limit_job" || { echo "job $limit_job still running after its limit"; return 1; }
	STATE=$(jobstate "$limit_job")
	[[ $STATE == TIMEOUT* ]] || { echo "job $limit_job: $STATE"; return 1; }
	grep -Eq "skrun: got TERM(; forwarding it to the nodes| while the job was ending; (killing the nodes|its nodes had all exited))" "$T/limit.err" ||
		{ echo "skrun did not report Slurm's signal: $(cat "$T/limit.err")"; return 1; }
	! pgrep -f "$T/limit/" >/dev/null ||
		{ echo "left behind: $(pgrep -af "$T/limit/")"; return 1; }
}

if [ "${SLURM_QUICK:-0}" != 1 ] && want time-limit; then
	limit_submit
fi
scheck steps t_steps
scheck output t_output
scheck nostart t_nostart
scheck agent-killed t_agent_killed
scheck many-ranks t_many_ranks
scheck sbatch-forks t_sbatch_forks
scheck salloc-hello-4 t_salloc_hello 4
scheck salloc-hello-16 t_salloc_hello 16
scheck sbatch-hello-4 t_sbatch_hello 4
scheck sbatch-hello-16 t_sbatch_hello 16
scheck files t_files
scheck exit-code t_exit_code
scheck node-killed t_kill
scheck timeout t_timeout
scheck sigterm t_signal TERM 143
scheck sigint t_signal INT 130
scheck listpids t_listpids
scheck scancel t_scancel
scheck examples t_examples
scheck outside t_outside
scheck bad-setups t_bad_setups
if [ "${SLURM_QUICK:-0}" != 1 ]; then
	scheck time-limit t_time_limit
fi

cd "$repo" || exit 1
cluster_up=0
if ! tests/slurm/cluster.sh stop "$T/cluster" 2>"$T/stop.err"; then
	echo "FAIL teardown: $(cat "$T/stop.err")"
	failed=$((failed + 1))
else
	left=
	for d in slurmctld slurmd munged slurmstepd; do
		left+=$(pgrep -ax "$d")
	done
	[ -z "$left" ] && ok teardown ||
		{ echo "FAIL teardown: daemons left: $left"; failed=$((failed + 1)); }
fi
[ -f "$T/figures" ] && cat "$T/figures"
summary slurm
