#!/usr/bin/env bash
# shellcheck disable=SC2015,SC2016 # "A && B || fail" and literal $ are meant
# ssh-loopback.sh - skrun's ssh launch path, for real: a private sshd on
# 127.0.0.1 (fresh keys, a free port, killed on exit) and jobs whose host
# "127.0.0.1" is remote to skrun, so every such node goes through
# $SKIFF_SSH and `skrun --agent`. Needs root and openssh-server
# (mk/deps.sh); there is no skip: a missing sshd is a failure.
#
# Jobs run a private copy of the node program from a temporary directory,
# so `pgrep -f $T/bin/` finds exactly this test's processes: after every
# check none may be left behind. Each job is bounded by timeout(1).
# Output: one "ok"/"FAIL" line per check, then "ssh: N passed, N failed";
# exit status 1 if any failed.
#
#   BUILD      build directory (default build)
#   SSH_ONLY   run only the checks whose names match this regex
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
repo=$(pwd -P)
SKRUN=$repo/$BUILD/bin/skrun
SSHD=/usr/sbin/sshd

die() {
	echo "FAIL ssh-loopback: $*"
	echo "ssh: 0 passed, 1 failed"
	exit 1
}

[ -x "$SKRUN" ] && [ -x "$repo/$BUILD/tests/node_app" ] ||
	die "$SKRUN or $BUILD/tests/node_app missing: build first (make)"
[ -x "$SSHD" ] && command -v ssh >/dev/null && command -v ssh-keygen >/dev/null ||
	die "openssh-server/openssh-client not installed; this test is not" \
		"skipped: run mk/deps.sh (as root)"
[ "$(id -u)" -eq 0 ] || die "must run as root (sshd)"

T=$(mktemp -d /tmp/skiff-ssh.XXXXXX)
APP=$T/bin/node_app
mkdir -p "$T/bin" "$T/work"
cp "$repo/$BUILD/tests/node_app" "$APP"
sshd_pid=
cleanup() {
	[ -n "$sshd_pid" ] && kill "$sshd_pid" 2>/dev/null
	pkill -KILL -f "$T/bin/" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the private sshd ----

ssh-keygen -q -N '' -t ed25519 -f "$T/host_key" </dev/null || die "ssh-keygen"
ssh-keygen -q -N '' -t ed25519 -f "$T/client_key" </dev/null || die "ssh-keygen"
cp "$T/client_key.pub" "$T/authorized_keys"
chmod 700 "$T"
mkdir -p /run/sshd # privilege separation directory

start_sshd() {
	local port=$1
	cat >"$T/sshd_config" <<-EOF
		Port $port
		ListenAddress 127.0.0.1
		HostKey $T/host_key
		AuthorizedKeysFile $T/authorized_keys
		PermitRootLogin prohibit-password
		PubkeyAuthentication yes
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		StrictModes no
		UsePAM no
		PidFile $T/sshd.pid
		LogLevel ERROR
	EOF
	"$SSHD" -D -e -f "$T/sshd_config" 2>>"$T/sshd.log" &
	sshd_pid=$!
	for _ in $(seq 100); do
		kill -0 "$sshd_pid" 2>/dev/null || { sshd_pid=; return 1; }
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	kill "$sshd_pid"
	sshd_pid=
	return 1
}

PORT=
for _ in 1 2 3 4 5 6 7 8; do
	p=$((20000 + RANDOM % 40000))
	(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue # taken
	if start_sshd "$p"; then
		PORT=$p
		break
	fi
done
[ -n "$PORT" ] || die "sshd did not start: $(tail -5 "$T/sshd.log")"

export SKIFF_SSH="ssh -p $PORT -i $T/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
export SKIFF_BOOTSTRAP_ADDR=127.0.0.1
R=127.0.0.1 # remote to skrun: not "localhost", not this host's name

# shellcheck disable=SC2086 # SKIFF_SSH is a command line, split on purpose
timeout 20 $SKIFF_SSH -o BatchMode=yes $R true </dev/null ||
	die "cannot ssh to $R:$PORT: $(tail -5 "$T/sshd.log")"

cd "$T/work" || die "cd $T/work"

# ---- the checks, each prints why and returns 1 on failure ----

OUT=$T/out ERR=$T/err JOB='' CHECK_ONLY=${SSH_ONLY:-}
CHECK_ORPHAN_ROUNDS=15 # node, agent and ssh client
# shellcheck source-path=SCRIPTDIR source=../lib/checks.sh
. "$repo/tests/lib/checks.sh"

t_hello() {
	local r
	# A relative program path: remote nodes start in skrun's directory.
	run 60 --host $R:2 -n 2 ../bin/node_app hello
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	for r in 0 1; do
		grep -qx "hello from rank $r of 2" "$OUT" ||
			{ echo "no hello from rank $r"; return 1; }
	done
	[ "$(wc -l <"$OUT")" -eq 2 ] || { echo "extra lines"; return 1; }
}

t_mixed_ring() {
	run 60 --host localhost:1,$R:1 -n 2 "$APP" ring
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	grep -qx "rank 0 got 'token from 1' ok" "$OUT" &&
		grep -qx "rank 1 got 'token from 0' ok" "$OUT" ||
		{ echo "the ring between a local and a remote node failed"; return 1; }
}

t_exit_code() {
	run 60 --host $R:2 -n 2 "$APP" exit 5 1
	[ $RC -eq 5 ] || { echo "exit $RC, want 5"; return 1; }
	grep -q "rank 1 .* exited with status 5" "$ERR" ||
		{ echo "no message naming rank 1"; return 1; }
}

t_args() {
	local r
	run 60 --host $R:2 -n 2 "$APP" args "a b" "c'd" "" '$HOME' '*' 'e\"f'
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	for r in 0 1; do
		grep -qxF "rank $r argc=8 [$APP] [args] [a b] [c'd] [] [\$HOME] [*] [e\\\"f]" "$OUT" ||
			{ echo "rank $r: argv did not arrive intact"; return 1; }
	done
	# A program that is not a Skiff node gets its argv through ssh only.
	run 60 --host $R:1 -n 1 printf '[%s]\n' "a b" "c'd" "" '$HOME' '*' 'e\"f' ';x'
	[ $RC -eq 0 ] || { echo "printf: exit $RC"; return 1; }
	printf '[%s]\n' "a b" "c'd" "" '$HOME' '*' 'e\"f' ';x' | cmp -s - "$OUT" ||
		{ echo "plain program: argv did not arrive intact through ssh"; return 1; }
}

t_env() {
	run 60 --host $R:2 -n 2 -x SK_SSH_A="x y'z" "$APP" env SK_SSH_A
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	grep -qx "rank 0 SK_SSH_A=x y'z" "$OUT" &&
		grep -qx "rank 1 SK_SSH_A=x y'z" "$OUT" ||
		{ echo "-x VAR=val did not reach the remote nodes"; return 1; }
	SK_SSH_B="from here" run 60 --host $R:2 -n 2 -x SK_SSH_B "$APP" env SK_SSH_B
	[ $RC -eq 0 ] && grep -qx "rank 1 SK_SSH_B=from here" "$OUT" ||
		{ echo "-x VAR (its value here) did not reach the remote nodes"; return 1; }
	# A program that is not a Skiff node gets -x through the agent only.
	run 60 --host $R:1 -n 1 -x SK_SSH_A="x y'z" sh -c 'echo "A=$SK_SSH_A"'
	[ $RC -eq 0 ] && grep -qx "A=x y'z" "$OUT" ||
		{ echo "-x did not reach a remote plain program"; return 1; }
}

# start_sleepers MS: a 2-node remote job of `node_app sleep MS` in the
# background (its pid in $JOB); 0 once both nodes run, else 1 (job killed).
start_sleepers() {
	"$SKRUN" --host $R:2 -n 2 "$APP" sleep "$1" >"$OUT" 2>"$ERR" </dev/null &
	JOB=$!
	for _ in $(seq 100); do
		[ "$(pgrep -fc "^$T/bin/node_app sleep")" -ge 2 ] && return 0
		sleep 0.1
	done
	kill -KILL $JOB
	echo "the remote nodes did not start"
	return 1
}

t_lifeline() {
	local pid
	start_sleepers 60000 || return 1
	pid=$JOB
	sleep 0.5
	kill -KILL $pid
	wait $pid 2>/dev/null
	for _ in $(seq 30); do
		pgrep -f "$T/bin/node_app" >/dev/null || return 0
		sleep 0.1
	done
	echo "3 s after kill -9 of skrun, still running:"
	pgrep -af "$T/bin/node_app"
	return 1
}

t_secret() {
	# The job's secret never appears in a command line: not the local
	# ssh client's, not the remote agent's (ps, /proc/PID/cmdline). It
	# crosses the ssh channel on the agent's stdin.
	local pid seen='' agent='' line f
	start_sleepers 3000 || return 1
	pid=$JOB
	for f in /proc/[0-9]*/cmdline; do
		line=$( { tr '\0' ' ' <"$f"; } 2>/dev/null) || continue
		[[ $line == *SKIFF_JOB_SECRET* ]] && seen+=" ${f#/proc/}"
		[[ $line == *--agent*--secret-stdin* ]] && agent=1
	done
	wait $pid
	RC=$?
	[ -z "$seen" ] || { echo "the secret is in the command line of:$seen"; return 1; }
	[ -n "$agent" ] || { echo "no agent took its secret from stdin"; return 1; }
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
}

# One agent, and one ssh connection, for all the ranks of a host, as
# mpirun's one orted per host: 3 ranks on $R, one agent there.
t_one_agent() {
	local pid agents
	"$SKRUN" --host $R:3 -n 3 "$APP" sleep 3000 >"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	for _ in $(seq 100); do
		[ "$(pgrep -fc "^$T/bin/node_app sleep")" -ge 3 ] && break
		sleep 0.1
	done
	agents=$(pgrep -fc "^$SKRUN --agent")
	wait $pid
	RC=$?
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	[ "$agents" -eq 1 ] || { echo "$agents agents for one host's 3 ranks"; return 1; }
}

t_listen() {
	# With remote hosts the bootstrap listens on the address the route
	# to them leaves from (loopback here) and advertises it; before, it
	# listened on every address.
	local pid addr port bound=''
	"$SKRUN" --host $R:2 -n 2 "$APP" bootaddr 3000 >"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	for _ in $(seq 100); do
		grep -q '^bootstrap ' "$OUT" && break
		sleep 0.1
	done
	addr=$(sed -n 's/^bootstrap //p' "$OUT")
	port=${addr##*:}
	[ -n "$port" ] && bound=$(ss -Hltn "sport = :$port" | awk '{print $4}')
	wait $pid
	RC=$?
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	[ "$bound" = "127.0.0.1:$port" ] ||
		{ echo "the bootstrap listens on '$bound', not 127.0.0.1:$port"; return 1; }
	[ "${addr%:*}" = 127.0.0.1 ] || { echo "advertised $addr"; return 1; }
	# An address that is not this host's is refused, with the reason.
	# (192.0.2.1 is TEST-NET-1: bind fails locally; nothing is sent.)
	SKIFF_BOOTSTRAP_ADDR=192.0.2.1 run 30 --host $R:1 -n 1 "$APP" hello
	[ $RC -ne 0 ] && grep -q "SKIFF_BOOTSTRAP_ADDR='192.0.2.1' is not an address of this host" "$ERR" ||
		{ echo "a foreign SKIFF_BOOTSTRAP_ADDR: exit $RC"; return 1; }
}

t_crash() {
	run 60 --host $R:2 -n 2 "$APP" crash 1
	[ $RC -eq 139 ] || { echo "exit $RC, want 139 (128+SIGSEGV)"; return 1; }
	# The agent sends the rank's wait status itself, so skrun names
	# the signal, as it does for a rank forked here (ssh carries only
	# an exit code).
	grep -q "skrun: rank 1 (pid [0-9]*) on $R was killed by signal 11 (Segmentation fault)" "$ERR" ||
		{ echo "skrun did not name rank 1, its host and its signal"; return 1; }
	grep -qx "rank 1 about to crash" "$OUT" ||
		{ echo "output before the crash was lost"; return 1; }
}

t_sigint() {
	local pid dog
	"$SKRUN" --host localhost:1,$R:2 -n 3 "$APP" sleep 60000 >"$OUT" 2>"$ERR" </dev/null &
	pid=$!
	for _ in $(seq 100); do
		[ "$(pgrep -fc "^$T/bin/node_app sleep")" -ge 3 ] && break
		sleep 0.1
	done
	sleep 0.5
	kill -INT $pid
	# A watchdog, off our stdout (the caller's $(...) waits for it).
	( sleep 20; kill -KILL $pid ) >/dev/null 2>&1 &
	dog=$!
	wait $pid
	RC=$?
	kill $dog 2>/dev/null
	[ $RC -eq 130 ] || { echo "exit $RC, want 130 (128+SIGINT)"; return 1; }
}

t_ssh_fail() {
	# Nothing listens on port 1: ssh fails, skrun says so and exits.
	SKIFF_SSH="${SKIFF_SSH/-p $PORT/-p 1} -o ConnectTimeout=5" \
		run 30 --host $R:1 -n 1 "$APP" hello
	# ssh's own 255 is not the rank's status: said as an ssh failure,
	# once for the host, and the job exits 127 (could not start).
	[ $RC -eq 127 ] || { echo "exit $RC, want 127"; return 1; }
	[ "$(grep -c "ssh to $R failed (the ssh client exited 255 before skrun --agent started there" "$ERR")" -eq 1 ] ||
		{ echo "no single message naming ssh and the host"; return 1; }
	! grep -q "exited with status 255" "$ERR" ||
		{ echo "ssh's 255 reported as the rank's status"; return 1; }
}

t_rank_255() {
	# A rank that exits 255 through a working ssh: that is its status.
	run 30 --host $R:1 -n 1 sh -c 'echo before; exit 255'
	[ $RC -eq 255 ] && grep -q "rank 0 (pid [0-9]*) on $R exited with status 255" "$ERR" ||
		{ echo "exit $RC, want 255 named as the rank's"; return 1; }
	[ "$(cat "$OUT")" = before ] || { echo "output: $(cat "$OUT")"; return 1; }
}

t_wdir_merge() {
	mkdir -p "$T/work/wd"
	run 30 --host $R:2 -n 2 --wdir wd --merge-stderr-to-stdout \
		sh -c 'pwd; echo err >&2'
	[ $RC -eq 0 ] && [ "$(grep -cx "$T/work/wd" "$OUT")" -eq 2 ] &&
		[ "$(grep -cx err "$OUT")" -eq 2 ] && [ ! -s "$ERR" ] ||
		{ echo "exit $RC: --wdir/--merge on remote ranks"; return 1; }
	# A program the remote host lacks: said once for the host.
	run 30 --host $R:2 -n 2 "$T/bin/no-such-program"
	[ $RC -eq 127 ] && [ "$(grep -c "cannot start" "$ERR")" -eq 1 ] &&
		grep -q "cannot start '.*no-such-program' on $R: No such file or directory; 2 ranks could not start there" "$ERR" ||
		{ echo "missing remote program: exit $RC"; return 1; }
	# A --wdir the remote host lacks: the rank does not start elsewhere.
	run 30 --host $R:1 -n 1 --wdir /no/such/dir touch "$T/work/started"
	[ $RC -eq 127 ] && [ ! -e "$T/work/started" ] &&
		grep -q "cannot change to the working directory '/no/such/dir'" "$ERR" ||
		{ echo "missing remote --wdir: exit $RC"; return 1; }
}

t_plain() {
	local h
	h=$(hostname)
	run 60 --host $R:2 -n 2 hostname
	[ $RC -eq 0 ] || { echo "exit $RC"; return 1; }
	[ "$(grep -cx "$h" "$OUT")" -eq 2 ] && [ "$(wc -l <"$OUT")" -eq 2 ] ||
		{ echo "want two lines '$h'"; return 1; }
}

check hello t_hello
check mixed-ring t_mixed_ring
check exit-code t_exit_code
check args t_args
check env t_env
check lifeline t_lifeline
check secret t_secret
check one-agent t_one_agent
check listen t_listen
check crash t_crash
check plain t_plain
check sigint t_sigint
check ssh-fail t_ssh_fail
check rank-255 t_rank_255
check wdir-merge t_wdir_merge

summary ssh
