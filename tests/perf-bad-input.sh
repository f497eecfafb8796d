#!/usr/bin/env bash
# Bad input to the perf tools, from real processes: bad flags get a usage
# error (exit 2), and a server fed garbage over its TCP exchange refuses it
# with a message and exits 1, never with a signal or a hang.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
fails=0 passes=0

expect() { # expect CODE DESCRIPTION -- COMMAND...
	local want=$1 what=$2
	shift 3
	timeout 30 "$@" >/tmp/skiff-badin.$$ 2>&1
	local rc=$?
	if [ "$rc" = "$want" ]; then
		passes=$((passes + 1))
	else
		echo "FAIL: $what: exit $rc, expected $want"
		sed 's/^/    | /' /tmp/skiff-badin.$$ | tail -5
		fails=$((fails + 1))
	fi
}

for t in sk_write_lat sk_read_lat sk_atomic_lat sk_write_bw sk_pingpong \
	sk_conn_rate rpc_lat rpc_tput compare/ucp_get_lat; do
	bin=$BUILD/perf/$t
	expect 2 "$t unknown flag" -- "$bin" --no-such-flag
	expect 2 "$t bad size" -- "$bin" -s 12q 127.0.0.1
	expect 2 "$t bad iterations" -- "$bin" -n -5 127.0.0.1
	expect 2 "$t bad port" -- "$bin" -p 99999
done
# --chain is sk_read_lat's alone, 1 to 16.
for v in 0 17 x 2x -1; do
	expect 2 "sk_read_lat bad chain $v" -- $BUILD/perf/sk_read_lat --chain "$v" 127.0.0.1
done
expect 2 "sk_read_lat chain without a value" -- $BUILD/perf/sk_read_lat --chain
expect 2 "sk_write_lat takes no chain" -- $BUILD/perf/sk_write_lat --chain 2 127.0.0.1

# compare-connect.sh too (it needs the guest's rxe0 only afterwards).
cc=perf/compare-connect.sh
expect 2 "compare-connect unknown flag" -- $cc --no-such-flag
expect 2 "compare-connect bad trials" -- $cc --trials 0
expect 2 "compare-connect bad conns" -- $cc --conns 12q
expect 2 "compare-connect missing nodes" -- $cc --nodes

rg=perf/rpc-guest.sh
expect 2 "rpc-guest unknown flag" -- $rg --no-such-flag
expect 2 "rpc-guest bad trials" -- $rg --trials 0
expect 2 "rpc-guest bad sizes" -- $rg --sizes "8 x"
expect 2 "rpc-guest bad iters" -- $rg --iters 5

# compare-boot.sh refuses bad options before running anything (its
# limits: --sizes up to 4096 nodes, --timeout up to 3600 s); sk_hello
# refuses a stray argument.
cb=perf/compare-boot.sh
expect 2 "compare-boot unknown flag" -- $cb --no-such-flag
expect 2 "compare-boot bad trials" -- $cb --trials 0
expect 2 "compare-boot size past 4096" -- $cb --sizes "1 4097"
expect 2 "compare-boot bad size" -- $cb --sizes "4 x"
expect 2 "compare-boot empty sizes" -- $cb --sizes " "
expect 2 "compare-boot timeout past 3600" -- $cb --timeout 3601
expect 2 "compare-boot bad timeout" -- $cb --timeout 0
# perf/kv/vs-read-lat.sh refuses bad options before any job.
vr=perf/kv/vs-read-lat.sh
expect 2 "vs-read-lat unknown flag" -- $vr --no-such-flag
expect 2 "vs-read-lat bad dist" -- $vr --dist normal
expect 2 "vs-read-lat bad serve" -- $vr --serve busy
expect 2 "vs-read-lat serve without a value" -- $vr --serve
expect 2 "vs-read-lat no dist" -- $vr --dist
expect 2 "vs-read-lat bad trials" -- $vr --trials 0
expect 2 "vs-read-lat bad requests" -- $vr --requests 1e5
# gateway-ir.sh (perf/skcached/) refuses bad options before any server.
gi=perf/skcached/gateway-ir.sh
expect 2 "gateway-ir unknown flag" -- $gi --no-such-flag
expect 2 "gateway-ir one count" -- $gi --gets 1000
expect 2 "gateway-ir counts in the wrong order" -- $gi --gets "10 5"
expect 2 "gateway-ir bad count" -- $gi --gets "1 2x"
expect 2 "gateway-ir no keys" -- $gi --keys 0
expect 2 "gateway-ir value past 1 MiB" -- $gi --value-size 1048577
expect 2 "gateway-ir nodes past 64" -- $gi --nodes 65
# capacity.py (perf/skcached/) too.
cp=perf/skcached/capacity.py
expect 2 "capacity unknown flag" -- $cp --no-such-flag
expect 2 "capacity unknown load" -- $cp --loads fill,nope
expect 2 "capacity no keys" -- $cp --keys 0
expect 2 "capacity value past 1 MB" -- $cp --value 1000001
expect 2 "capacity bad memory" -- $cp --mem x
# The file benchmarks (issue 16) refuse bad options before any run.
for sc in compare-file-io compare-mpiio compare-console-ckpt; do
	expect 2 "$sc unknown flag" -- perf/$sc.sh --no-such-flag
	expect 2 "$sc bad trials" -- perf/$sc.sh --trials 0
	expect 2 "$sc trials with no number" -- perf/$sc.sh --trials
done
expect 2 "compare-file-io bad size" -- perf/compare-file-io.sh --mib 1x
expect 2 "compare-mpiio bad ranks" -- perf/compare-mpiio.sh --ranks "1 x"
expect 2 "compare-mpiio empty ranks" -- perf/compare-mpiio.sh --ranks " "
expect 2 "compare-mpiio bad request size" -- perf/compare-mpiio.sh --bs-kib 0
expect 2 "compare-console-ckpt bad writers" -- perf/compare-console-ckpt.sh --writers -1
# Their node programs, in a job, and linelat on input that is not its.
expect 2 "sk_file_shared no arguments" -- env SKIFF_PROVIDER=ucx \
	"$BUILD/bin/skrun" -n 1 "$BUILD/perf/os/sk_file_shared"
expect 2 "sk_file_shared bad size" -- env SKIFF_PROVIDER=ucx \
	"$BUILD/bin/skrun" -n 1 "$BUILD/perf/os/sk_file_shared" 1x 1024 f
expect 2 "sk_file_shared slices under a request" -- env SKIFF_PROVIDER=ucx \
	"$BUILD/bin/skrun" -n 2 "$BUILD/perf/os/sk_file_shared" 1 1024 f
expect 2 "sk_console_lat bad mode" -- "$BUILD/perf/os/sk_console_lat" 1 busy 64
expect 2 "sk_console_lat bad period" -- "$BUILD/perf/os/sk_console_lat" -p 0 1 idle 64
expect 2 "sk_file_bw bad chunk" -- "$BUILD/perf/os/sk_file_bw" -c 4 16 f
expect 1 "linelat on garbage" -- sh -c "head -c 65536 /dev/urandom | '$BUILD/perf/os/linelat'"
expect 1 "linelat on nothing" -- "$BUILD/perf/os/linelat" </dev/null
expect 2 "sk_hello --pause without a file" -- env SKIFF_PROVIDER=ucx \
	"$BUILD/perf/os/sk_hello" --pause
expect 2 "sk_hello stray argument" -- env SKIFF_PROVIDER=ucx \
	"$BUILD/perf/os/sk_hello" extra

# Garbage, a truncated exchange and an absurd length prefix to a server,
# for a verbs tool, an rpc tool and the UCP get peer.
port=$((18600 + RANDOM % 400))
for t in sk_write_lat rpc_lat compare/ucp_get_lat; do
for payload in 'garbage that is not a skiff hello' '\x01' \
	'\xff\xff\xff\xff\xff\xff\xff\xff'; do
	SKIFF_PROVIDER=ucx timeout 30 "$BUILD/perf/$t" -p $port \
		>/tmp/skiff-badsrv.$$ 2>&1 &
	srv=$!
	for _ in $(seq 100); do # until it listens (ss: iproute2)
		ss -Hltn "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	{ printf "$payload"; sleep 0.5; } >/dev/tcp/127.0.0.1/$port 2>/dev/null
	wait $srv
	rc=$?
	if [ $rc -ge 1 ] && [ $rc -lt 124 ] &&
	   grep -q . /tmp/skiff-badsrv.$$; then
		passes=$((passes + 1))
	else
		echo "FAIL: $t server fed '$payload': exit $rc"
		tail -5 /tmp/skiff-badsrv.$$ | sed 's/^/    | /'
		fails=$((fails + 1))
	fi
	port=$((port + 1))
done
done
rm -f /tmp/skiff-badin.$$ /tmp/skiff-badsrv.$$
echo "perf bad input: $passes passed, $fails failed"
[ $fails -eq 0 ]
