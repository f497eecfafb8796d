#!/usr/bin/env bash
# jobs.sh - end-to-end tests of skrun and libos: real jobs, real nodes, the
# fabric provider given by SKIFF_PROVIDER (ucx on the host; rdma inside the
# Soft-RoCE guest, see tests/run-checks.sh).
#
# Every job runs a private copy of the node program from a temporary
# directory, so `pgrep -f $dir` finds exactly this test's processes: after
# every check no process may be left behind (no orphans). Each job is
# bounded by timeout(1). Output: one "ok"/"FAIL" line per check, then
# "e2e: N passed, N failed"; exit status 1 if any failed.
#
#   BUILD           build directory (default build)
#   E2E_FILE_MB     size of the shared-file test (default 100)
#   E2E_ONLY        run only the checks whose names match this regex
set -uo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
repo=$(pwd -P)
SKRUN=$repo/$BUILD/bin/skrun
FILE_MB=${E2E_FILE_MB:-100}

T=$(mktemp -d /tmp/skiff-e2e.XXXXXX)
APP=$T/bin/node_app
mkdir -p "$T/bin" "$T/work"
cp "$repo/$BUILD/tests/node_app" "$APP"
cd "$T/work"
cleanup() {
	pkill -KILL -f "$T/" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

passed=0 failed=0
OUT=$T/out ERR=$T/err RC=0

ok() { echo "ok   $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1: $2"
	sed 's/^/     | /' "$OUT" | head -20
	sed 's/^/     ! /' "$ERR" | head -20
	failed=$((failed + 1))
}
want() { [[ -z ${E2E_ONLY:-} || $1 =~ $E2E_ONLY ]]; }

# run SECONDS ARGS...: skrun ARGS, output in $OUT/$ERR, status in $RC.
run() {
	local t=$1
	shift
	timeout -k 5 "$t" "$SKRUN" "$@" >"$OUT" 2>"$ERR" </dev/null
	RC=$?
}

# No process of this test may outlive its job.
orphans() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		pgrep -f "$T/bin/" >/dev/null || return 1
		sleep 0.2
	done
	pgrep -af "$T/bin/"
	return 0
}

check() {
	local name=$1
	shift
	want "$name" || return 0
	local why
	if why=$("$@" 2>&1); then
		if orphans >"$T/orph"; then
			fail "$name" "processes left behind: $(cat "$T/orph")"
			pkill -KILL -f "$T/bin/"
		else
			ok "$name"
		fi
	else
		fail "$name" "$why"
	fi
}

# ---- the checks: each returns 0 or prints why and returns 1 ----

t_hello() {
	local n=$1 r
	run $((60 + n)) -n "$n" "$APP" hello
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	for ((r = 0; r < n; r++)); do
		grep -qx "hello from rank $r of $n" "$OUT" ||
			{ echo "no hello from rank $r"; return 1; }
	done
	[ "$(wc -l <"$OUT")" -eq "$n" ] || { echo "extra lines"; return 1; }
}

t_order() {
	local r i
	run 60 -n 3 --tag-output "$APP" order 300
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	for r in 0 1 2; do
		grep "^\[[0-9]*,$r\]<stdout>:rank $r line " "$OUT" |
			sed 's/.*line //' >"$T/seq.$r"
		seq 0 299 | cmp -s - "$T/seq.$r" ||
			{ echo "rank $r lines out of order or lost"; return 1; }
	done
	! grep -qv '^\[[0-9]*,[0-2]\]<stdout>:rank [0-2] line [0-9]*$' "$OUT" ||
		{ echo "untagged or torn lines"; return 1; }
}

t_files() {
	local nodes=4 mb=$((FILE_MB / 4)) want got plain
	rm -f big.dat
	run 600 -n $nodes "$APP" files $mb big.dat
	[ $RC -eq 0 ] || { echo "write/read-back job: exit $RC"; return 1; }
	[ "$(grep -c ' match$' "$OUT")" -eq $nodes ] ||
		{ echo "a slice did not read back as written"; return 1; }
	want=$("$APP" fnvpattern $((nodes * mb * 1048576)))
	plain=$("$APP" fnvfile big.dat)
	[ "$want" = "$plain" ] ||
		{ echo "file on the host: $plain, expected $want"; return 1; }
	run 600 -n 1 "$APP" readfile big.dat
	got=$(cat "$OUT")
	[ $RC -eq 0 ] && [ "$got" = "$want" ] ||
		{ echo "read through the fabric: $got, expected $want"; return 1; }
	rm -f big.dat
}

t_exit_code() {
	run 60 -n 3 "$APP" exit 5 1
	[ $RC -eq 5 ] || { echo "exit $RC, want 5"; return 1; }
	grep -q "rank 1 .* exited with status 5" "$ERR" ||
		{ echo "no message naming rank 1"; return 1; }
}

t_crash() {
	run 60 -n 3 "$APP" crash 1
	[ $RC -eq 139 ] || { echo "exit $RC, want 139 (128+SIGSEGV)"; return 1; }
	grep -q "rank 1 (pid [0-9]*) on [^ ]* was killed by signal 11" "$ERR" ||
		{ echo "no message naming rank 1, its host and the signal"; return 1; }
	grep -q "rank 1 about to crash" "$OUT" ||
		{ echo "output before the crash was lost"; return 1; }
}

t_kill() {
	local pid victim
	timeout -k 5 60 "$SKRUN" -n 3 "$APP" sleep 60000 >"$OUT" 2>"$ERR" &
	pid=$!
	for _ in $(seq 50); do
		[ "$(pgrep -fc "$T/bin/node_app sleep")" -ge 3 ] && break
		sleep 0.2
	done
	sleep 0.5
	victim=$(pgrep -f "$T/bin/node_app sleep" | tail -1)
	kill -KILL "$victim"
	wait $pid
	RC=$?
	[ $RC -eq 137 ] || { echo "exit $RC, want 137 (128+SIGKILL)"; return 1; }
	grep -q "was killed by signal 9" "$ERR" ||
		{ echo "no message about the kill"; return 1; }
}

t_timeout() {
	run 60 -n 2 --timeout 1.5 "$APP" sleep 60000
	[ $RC -eq 124 ] || { echo "exit $RC, want 124"; return 1; }
	grep -q "timed out after 1.5 s" "$ERR" || { echo "no message"; return 1; }
}

t_sigint() {
	local pid
	"$SKRUN" -n 2 "$APP" sleep 60000 >"$OUT" 2>"$ERR" &
	pid=$!
	for _ in $(seq 50); do
		[ "$(pgrep -fc "$T/bin/node_app sleep")" -ge 2 ] && break
		sleep 0.2
	done
	sleep 0.5
	kill -INT $pid
	( sleep 20; kill -KILL $pid 2>/dev/null ) >/dev/null 2>&1 &
	local guard=$!
	wait $pid
	RC=$?
	kill $guard 2>/dev/null
	[ $RC -eq 130 ] || { echo "exit $RC, want 130 (128+SIGINT)"; return 1; }
}

t_abort() {
	run 60 -n 2 "$APP" abort 7
	[ $RC -eq 7 ] || { echo "exit $RC, want 7"; return 1; }
	grep -q "rank 0 on .* called abort (code 7): test abort" "$ERR" ||
		{ echo "no abort message"; return 1; }
}

t_nofinal() {
	run 60 -n 2 "$APP" nofinal 1
	[ $RC -eq 1 ] || { echo "exit $RC, want 1"; return 1; }
	grep -q "rank 1 .* exited without finalizing" "$ERR" ||
		{ echo "no message"; return 1; }
}

t_stdin() {
	local want
	head -c 300000 /dev/urandom >in.bin
	want=$("$APP" fnvfile in.bin | sed 's/^read/stdin/')
	timeout 60 "$SKRUN" -n 2 "$APP" stdin <in.bin >"$OUT" 2>"$ERR"
	RC=$?
	[ $RC -eq 0 ] && grep -qx "$want" "$OUT" ||
		{ echo "exit $RC; want '$want'"; return 1; }
}

t_args_env() {
	run 60 -n 2 -x SK_E2E_A=hello\ world -x HOME "$APP" args "a b" "c'd" ""
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	grep -qF "rank 1 argc=5 [$APP] [args] [a b] [c'd] []" "$OUT" ||
		{ echo "argv did not arrive intact"; return 1; }
	run 60 -n 2 -x SK_E2E_A="hello world" "$APP" env SK_E2E_A
	grep -qx "rank 1 SK_E2E_A=hello world" "$OUT" ||
		{ echo "-x did not reach the nodes"; return 1; }
}

t_ring() {
	run 60 -n 4 "$APP" ring
	[ $RC -eq 0 ] && [ "$(grep -c ' ok$' "$OUT")" -eq 4 ] ||
		{ echo "exit $RC"; return 1; }
}

t_seal() {
	echo "a line from the host" >hostfile.txt
	# LeakSanitizer stops the world with clone and ptrace at exit, which
	# a sealed node may not do: no leak check in sanitizer builds here.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		SKIFF_SEAL=1 run 60 -n 2 "$APP" seal hostfile.txt
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	[ "$(grep -c '^sealed=1$' "$OUT")" -eq 2 ] || { echo "not sealed"; return 1; }
	[ "$(grep -c '^host file: a line from the host$' "$OUT")" -eq 2 ] ||
		{ echo "sealed file read failed"; return 1; }
	[ "$(grep -c '^raw open: Operation not permitted$' "$OUT")" -eq 2 ] ||
		{ echo "raw open() was not refused"; return 1; }
	[ "$(grep -c '^raw socket: Operation not permitted$' "$OUT")" -eq 2 ] ||
		{ echo "raw socket() was not refused"; return 1; }
}

t_paths() {
	echo inside >inside.txt
	ln -sfn /etc escape-link
	run 60 -n 1 "$APP" paths
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	grep -qx "open ../outside: Permission denied" "$OUT" &&
		grep -qx "open /etc/passwd: Permission denied" "$OUT" &&
		grep -q "^open a/../../outside: \(Permission denied\|No such file or directory\)$" "$OUT" &&
		grep -qx "open escape-link/passwd: Permission denied" "$OUT" &&
		grep -qx "open inside.txt: OPENED" "$OUT" &&
		grep -qx "mkdir ../x: Permission denied" "$OUT" &&
		grep -qx "unlink /etc/hostname: Permission denied" "$OUT" ||
		{ echo "a bad path was not refused"; return 1; }
	[ -e /etc/hostname ] || { echo "/etc/hostname is gone!"; return 1; }
}

t_badmsg() {
	local kind
	for kind in short len type nul result stream bulk; do
		run 60 -n 2 "$APP" badmsg $kind
		[ $RC -eq 3 ] ||
			{ echo "$kind: exit $RC, want 3 (node saw its link close)"; return 1; }
		grep -q "rank 0 on .* sent a malformed message" "$ERR" ||
			{ echo "$kind: no message about the malformed request"; return 1; }
		grep -qx "after badmsg: Transport endpoint is not connected" "$OUT" ||
			{ echo "$kind: the node's next call did not fail"; return 1; }
		grep -qx "rank 1 still served: yes" "$OUT" ||
			{ echo "$kind: the other node was not served"; return 1; }
	done
}

t_badreq() {
	echo inside >inside.txt
	run 60 -n 1 "$APP" badreq
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	grep -qx "read bad fd: Bad file descriptor" "$OUT" &&
		grep -qx "close bad fd: Bad file descriptor" "$OUT" &&
		grep -qx "lseek bad whence: Invalid argument" "$OUT" &&
		grep -qx "bulk read outside the arena: Bad address" "$OUT" &&
		grep -qx "readdir on a file: Not a directory" "$OUT" &&
		grep -qx "still served: yes" "$OUT" ||
		{ echo "a bad request was not refused"; return 1; }
}

t_secret() {
	local pid addr rc
	"$SKRUN" -n 1 "$APP" bootaddr 60000 >"$OUT" 2>"$ERR" &
	pid=$!
	for _ in $(seq 100); do
		addr=$(sed -n 's/^bootstrap //p' "$OUT")
		[ -n "$addr" ] && break
		sleep 0.1
	done
	[ -n "$addr" ] || { kill $pid; echo "no bootstrap address"; return 1; }
	SKIFF_BOOTSTRAP=$addr SKIFF_RANK=0 SKIFF_SIZE=1 \
	SKIFF_JOB_SECRET=$(printf '0%.0s' $(seq 64)) \
		timeout 20 "$APP" hello >"$T/imp.out" 2>"$T/imp.err"
	rc=$?
	SKIFF_BOOTSTRAP=$addr SKIFF_RANK=0 SKIFF_SIZE=1 SKIFF_JOB_SECRET=xyz \
		timeout 20 "$APP" hello >>"$T/imp.out" 2>>"$T/imp.err"
	kill -TERM $pid
	wait $pid
	[ $rc -eq 1 ] || { echo "impostor exited $rc, want 1"; return 1; }
	grep -q "refused rank 0: wrong job secret" "$T/imp.err" ||
		{ echo "impostor got no clear error: $(cat "$T/imp.err")"; return 1; }
	grep -q "SKIFF_JOB_SECRET must be 64 hex digits" "$T/imp.err" ||
		{ echo "a malformed secret got no clear error"; return 1; }
	grep -q "refused a bootstrap connection from .*: wrong job secret" "$ERR" ||
		{ echo "skrun did not report the refusal"; return 1; }
	! grep -q hello "$T/imp.out" || { echo "the impostor ran main()"; return 1; }
}

# A node started with a broken environment (by hand, or a broken launcher)
# says what is wrong and exits 1 before main(): no crash, no hang.
t_bootenv() {
	local ok64 env want
	ok64=$(printf '0%.0s' $(seq 64))
	while IFS='|' read -r env want; do
		# shellcheck disable=SC2086 # split on purpose
		env -u SKIFF_PROVIDER $env timeout 20 "$APP" hello \
			>"$OUT" 2>"$ERR" </dev/null
		RC=$?
		[ $RC -eq 1 ] && grep -q "skiff: boot failed: .*$want" "$ERR" &&
			! grep -q hello "$OUT" ||
			{ echo "'$env': exit $RC, $(cat "$ERR")"; return 1; }
	done <<EOF2
SKIFF_BOOTSTRAP=nocolon SKIFF_JOB_SECRET=$ok64 SKIFF_RANK=0 SKIFF_SIZE=1|is not host:port
SKIFF_BOOTSTRAP=127.0.0.1:1 SKIFF_JOB_SECRET=$ok64 SKIFF_RANK=abc SKIFF_SIZE=1|SKIFF_RANK='abc' is not a number
SKIFF_BOOTSTRAP=127.0.0.1:1 SKIFF_JOB_SECRET=$ok64 SKIFF_RANK=5 SKIFF_SIZE=2|rank 5 is outside a job of size 2
SKIFF_BOOTSTRAP=127.0.0.1:1 SKIFF_JOB_SECRET=$ok64 SKIFF_RANK=0|SKIFF_SIZE is not set
SKIFF_BOOTSTRAP=127.0.0.1:1 SKIFF_RANK=0 SKIFF_SIZE=1|SKIFF_JOB_SECRET must be 64 hex digits
SKIFF_BOOTSTRAP=127.0.0.1:1 SKIFF_JOB_SECRET=$ok64 SKIFF_RANK=0 SKIFF_SIZE=1|cannot reach the host
EOF2
}

t_usage() {
	local args
	printf 'node1 slots=2\nnode2 slots=x\n' >bad.hosts
	for args in "-n abc $APP" "-n 0 $APP" "--frob $APP" "" "-n 2" \
		"--hostfile /nonexistent $APP" "--hostfile bad.hosts $APP" \
		"--timeout -1 $APP" "--bind-to socket $APP" \
		"--host a:1 -n 5 $APP" "--provider nosuch $APP"; do
		# shellcheck disable=SC2086 # split on purpose
		run 20 $args
		if [ "$args" = "--provider nosuch $APP" ]; then
			[ $RC -ne 0 ] && [ $RC -lt 124 ] && [ -s "$ERR" ] ||
				{ echo "'skrun $args': exit $RC"; return 1; }
			continue
		fi
		[ $RC -eq 2 ] || { echo "'skrun $args': exit $RC, want 2"; return 1; }
		grep -q "^skrun: " "$ERR" ||
			{ echo "'skrun $args': no message"; return 1; }
	done
	run 20 --help
	[ $RC -eq 0 ] && grep -qi "usage" "$OUT" || { echo "--help"; return 1; }
	run 20 -n 2 "$T/bin/no-such-program"
	[ $RC -eq 127 ] && grep -q "cannot start '.*no-such-program'" "$ERR" ||
		{ echo "a missing program: exit $RC"; return 1; }
}

t_plain() {
	run 30 -n 4 hostname
	[ $RC -eq 0 ] && [ "$(wc -l <"$OUT")" -eq 4 ] ||
		{ echo "hostname: exit $RC"; return 1; }
	run 30 -n 2 sh -c 'echo "$SKIFF_RANK"; exit $((SKIFF_RANK * 3))'
	[ $RC -eq 3 ] || { echo "plain exit code: $RC, want 3"; return 1; }
	run 30 -n 2 -x SK_E2E_B=plain sh -c 'echo "b=$SK_E2E_B"'
	[ "$(grep -c '^b=plain$' "$OUT")" -eq 2 ] ||
		{ echo "-x did not reach a plain program"; return 1; }
	run 30 -n 2 --tag-output sh -c 'echo out; echo err >&2'
	grep -q '^\[[0-9]*,1\]<stdout>:out$' "$OUT" &&
		grep -q '^\[[0-9]*,0\]<stderr>:err$' "$ERR" ||
		{ echo "tags on plain output"; return 1; }
	run 30 -n 2 "$T/bin/sh-sleeper" 2>/dev/null
	cp /bin/sleep "$T/bin/sleeper"
	run 30 -n 2 --timeout 1 "$T/bin/sleeper" 60
	[ $RC -eq 124 ] || { echo "plain timeout: exit $RC"; return 1; }
}

t_bind() {
	local n
	n=$(nproc)
	run 30 -n 2 --bind-to core --report-bindings \
		sh -c 'grep Cpus_allowed_list /proc/self/status'
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	grep -q "rank 0 bound to core 0" "$ERR" ||
		{ echo "no binding report"; return 1; }
	if [ "$n" -ge 2 ]; then
		[ "$(grep -c 'Cpus_allowed_list:[[:space:]]*[0-9]*$' "$OUT")" -eq 2 ] ||
			{ echo "not bound to one CPU: $(cat "$OUT")"; return 1; }
	fi
}

check hello-1 t_hello 1
check hello-4 t_hello 4
check hello-16 t_hello 16
# 64 nodes: skrun watches 128 pipes, past the loop's old limit of 64.
check hello-64 t_hello 64
check order t_order
check exit-code t_exit_code
check crash t_crash
check kill t_kill
check timeout t_timeout
check sigint t_sigint
check abort t_abort
check nofinal t_nofinal
check stdin t_stdin
check args-env t_args_env
check ring t_ring
check seal t_seal
check paths t_paths
check badmsg t_badmsg
check badreq t_badreq
check secret t_secret
check bootenv t_bootenv
check usage t_usage
check plain t_plain
check bind t_bind
check files-${FILE_MB}MB t_files

echo "e2e (${SKIFF_PROVIDER:-auto}): $passed passed, $failed failed"
[ $failed -eq 0 ]
