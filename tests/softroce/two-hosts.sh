#!/usr/bin/env bash
# shellcheck disable=SC2015 # "A && B || fail" is meant
# two-hosts.sh - a Skiff job across two hosts over real RDMA (issue 14):
# two Soft-RoCE guests (tests/softroce/guest-run --wire), each with its
# own rxe0 on a virtio-net NIC, joined by QEMU's dgram backend (UDP
# between two 127.0.0.1 ports: the guests' 10.10.0.x addresses exist only
# inside them). Guest A runs sshd; guest B runs skrun --host
# guest-a,guest-b with SKIFF_PROVIDER=rdma, so rank 0 starts on A through
# ssh and skrun --agent, and every byte between the nodes and the host
# crosses the wire:
#   hello; the ring (node to node, one-sided); the shared file (bulk data
#   from the remote node through the host's file service); a node killed
#   on the remote host (the job aborts with 137, nothing left on either
#   guest); rpc between the nodes; kv (each node reads the other's keys by
#   one-sided READs); and rxe0's packet counters risen on both guests.
# A directory shared by both guests (--share) carries the ssh key, the
# ready and done flags and guest A's counters. First of all, guest-run's
# own bad arguments (tests/softroce/guest-run-args.sh, no guest booted).
#
# Then, in the same boot, as a benchmark rather than a test (it prints a
# table and never fails the run; TWO_HOSTS_BENCH=0 leaves it out): 8-byte
# latency across the wire of sk_write_lat and sk_read_lat beside
# ib_write_lat and ib_read_lat, and of rpc_lat's call round trip beside
# twice ib_send_lat and Open MPI's ping-pong over UCX on rxe; medians of
# 3 (TWO_HOSTS_TRIALS), as ratios (TCG: absolute figures mean little).
#
#   tests/softroce/two-hosts.sh            run it (host side)
#   tests/softroce/two-hosts.sh --guest a|b DIR   (inside a guest)
#
# Output: one "ok"/"FAIL" line per check from guest B, then "two-hosts: N
# passed, N failed". Exit status: 0 all passed, 1 a check failed, 2 a bad
# TWO_HOSTS_TRIALS, 125 a guest could not run (guest-run's), 124 the bound
# (--timeout) expired.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
repo=$(pwd -P)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$repo/$BUILD ;; esac

A_IP=10.10.0.1 B_IP=10.10.0.2
# A job's processes: skrun, its agents, the node programs.
JOBPAT="$BUILD/(bin/skrun|tests/)"

# ---- inside a guest ----------------------------------------------------------

counters() {	# "sent rcvd" packets of rxe0
	local d=/sys/class/infiniband/rxe0/ports/1/hw_counters
	echo "$(cat $d/sent_pkts) $(cat $d/rcvd_pkts)"
}

await_file() {	# await_file PATH TENTHS
	local i
	for ((i = 0; i < $2; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

# Every ssh reads the host's /root/.bashrc; blank it in this guest's
# overlay (SOFT-ROCE.md: 18 s down to 2-5 s a connection).
ssh_setup() {
	local dir=$1
	: >/root/.bashrc
	mkdir -p /root/.ssh /run/sshd
	chmod 700 /root/.ssh
	cp "$dir/id" /root/.ssh/id_ed25519
	cp "$dir/id.pub" /root/.ssh/authorized_keys
	chmod 600 /root/.ssh/id_ed25519 /root/.ssh/authorized_keys
	cat >/root/.ssh/config <<'EOF'
Host *
	BatchMode yes
	StrictHostKeyChecking no
	UserKnownHostsFile /dev/null
	LogLevel ERROR
	KexAlgorithms curve25519-sha256
EOF
}

guest_a() {
	local dir=$1 c0
	ssh_setup "$dir"
	/usr/sbin/sshd -o UsePAM=no -o PermitRootLogin=prohibit-password \
		-o UseDNS=no || { echo "guest A: sshd did not start"; return 1; }
	c0=$(counters)
	touch "$dir/a.ready"
	# Guest B's checks run now; wait for its word (bounded by the host's
	# --timeout anyway).
	await_file "$dir/b.done" 2400 || { echo "guest A: guest B never finished"; return 1; }
	echo "$c0 $(counters)" >"$dir/a.counters"
	# Nothing of the job may be left on this host.
	pgrep -af "$JOBPAT" >"$dir/a.left"
	touch "$dir/a.done"
}

guest_b() {
	local dir=$1 c0 passed=0 failed=0
	ssh_setup "$dir"
	await_file "$dir/a.ready" 1200 || { echo "FAIL guest A not ready"; touch "$dir/b.done"; return 1; }
	c0=$(counters)
	# The connection manager's path (verbs/README.md, "Connecting"), as
	# clusters connect: insisted on, so that a guest without it fails.
	export SKIFF_PROVIDER=rdma SKIFF_DEVICE=rxe0 SKIFF_RDMA_CONNECT=cm
	local skrun=$BUILD/bin/skrun out=/tmp/out err=/tmp/err rc
	ok() { echo "ok   $1"; passed=$((passed + 1)); }
	fail() {
		echo "FAIL $1: $2"
		sed 's/^/     | /' $out | head -10
		sed 's/^/     ! /' $err | head -10
		failed=$((failed + 1))
	}
	job() {	# job SECONDS ARGS...: skrun across the wire
		local t=$1
		shift
		timeout -k 5 "$t" "$skrun" --host guest-a,guest-b "$@" >$out 2>$err </dev/null
		rc=$?
	}

	timeout 30 ssh guest-a true && ok ssh || fail ssh "no ssh to guest-a"

	# Where each rank runs: rank 0 on guest A, rank 1 here.
	job 120 -n 2 --tag-output hostname
	[ $rc -eq 0 ] && grep -qx "\[[0-9]*,0\]<stdout>:guest-a" $out &&
		grep -qx "\[[0-9]*,1\]<stdout>:guest-b" $out && ok placement ||
		fail placement "exit $rc"

	job 120 -n 2 "$BUILD/tests/node_app" hello
	[ $rc -eq 0 ] && grep -qx "hello from rank 0 of 2" $out &&
		grep -qx "hello from rank 1 of 2" $out && ok hello ||
		fail hello "exit $rc"

	job 120 -n 2 "$BUILD/tests/node_app" ring
	[ $rc -eq 0 ] && [ "$(grep -c ' ok$' $out)" -eq 2 ] && ok ring ||
		fail ring "exit $rc"

	# Rank 0 runs on guest A: its slice crosses the wire to the file
	# service here, and back.
	rm -f /tmp/shared.dat
	job 300 -n 2 --wdir /tmp "$BUILD/tests/node_app" files 1 shared.dat
	local want got
	want=$("$BUILD/tests/node_app" fnvpattern $((2 * 1048576)))
	got=$("$BUILD/tests/node_app" fnvfile /tmp/shared.dat 2>&1)
	[ $rc -eq 0 ] && [ "$(grep -c ' match$' $out)" -eq 2 ] && [ "$want" = "$got" ] &&
		ok shared-file || fail shared-file "exit $rc; on this host: $got, want $want"

	job 120 -n 2 "$BUILD/tests/rpc_job" all
	[ $rc -eq 0 ] && [ "$(grep -c ' peers ok$' $out)" -eq 2 ] && ok rpc ||
		fail rpc "exit $rc"

	# kv across the wire: each node stores keys, then reads the other's
	# back; the GETs of the remote owner's keys are one-sided READs.
	# Keys land on owners by a hash keyed with the job's secret: with 8
	# keys a node owned all the other's 1 time in 128; with 64, 2^-63.
	job 120 -n 2 "$BUILD/examples/kv_hello" 64
	[ $rc -eq 0 ] &&
		[ "$(grep -c 'read back the 64 keys of the 1 other node: [1-9][0-9]* one-sided GETs' $out)" -eq 2 ] &&
		ok kv || fail kv "exit $rc"

	# A node killed on the remote host: the job ends with 137, and no
	# process of it is left on either guest.
	timeout -k 5 120 "$skrun" --host guest-a,guest-b -n 2 \
		"$BUILD/tests/node_app" sleep 60000 >$out 2>$err </dev/null &
	local pid=$! i
	for ((i = 0; i < 300; i++)); do
		timeout 20 ssh guest-a pgrep -f "'^$BUILD/tests/node_app sleep'" >/dev/null && break
		sleep 0.2
	done
	timeout 20 ssh guest-a pkill -KILL -f "'^$BUILD/tests/node_app sleep'"
	wait $pid
	rc=$?
	local left_b left_a
	sleep 0.5
	left_b=$(pgrep -af "$JOBPAT")
	left_a=$(timeout 20 ssh guest-a pgrep -af "'$JOBPAT'")
	[ $rc -eq 137 ] && grep -q "was killed by signal 9" $err && [ -z "$left_a$left_b" ] &&
		ok remote-kill || fail remote-kill "exit $rc (want 137); left on A: '$left_a', on B: '$left_b'"

	[ "${TWO_HOSTS_BENCH:-1}" = 0 ] || bench
	touch "$dir/b.done"
	await_file "$dir/a.done" 600 || echo "guest A did not report"
	local a
	read -r -a a <"$dir/a.counters" 2>/dev/null || a=(0 0 0 0)
	local b1
	b1=$(counters)
	read -r -a b0 <<<"$c0"
	read -r -a b <<<"$b1"
	echo "rxe0 packets: guest A sent $((a[2] - a[0])), received $((a[3] - a[1])); guest B sent $((b[0] - b0[0])), received $((b[1] - b0[1]))"
	[ $((a[2] - a[0])) -gt 1000 ] && [ $((a[3] - a[1])) -gt 1000 ] &&
		[ $((b[0] - b0[0])) -gt 1000 ] && [ $((b[1] - b0[1])) -gt 1000 ] &&
		ok wire-counters || fail wire-counters "rxe0's counters did not rise on both guests"
	[ ! -s "$dir/a.left" ] && ok a-clean || fail a-clean "left on guest A: $(cat "$dir/a.left")"
	echo "two-hosts: $passed passed, $failed failed"
	[ $failed -eq 0 ]
}

# ---- the benchmark, in the same boot (not a test: it prints, never fails) --

# value FILE SIZE MINFIELDS COL: column COL of the last line of FILE whose
# first field is SIZE and which has at least MINFIELDS fields.
value() {
	awk -v s="$2" -v nf="$3" -v col="$4" '$1 == s && NF >= nf {v = $col}
		END {if (v ~ /^[0-9.]+$/) print v; else exit 1}' "$1"
}

# pair OUT PORT TOOL ARGS...: TOOL's server on guest A (through ssh), its
# client here connecting to guest-a, retried while the server is not up.
pair() {
	local out=$1 port=$2 tool=$3 i spid
	shift 3
	timeout 60 ssh guest-a "cd /tmp && exec $tool -p $port $*" \
		>"$out.server" 2>&1 &
	spid=$!
	for ((i = 0; i < 40; i++)); do
		timeout 30 "$tool" -p "$port" "$@" guest-a >"$out" 2>&1 && break
		sleep 0.5
	done
	wait $spid 2>/dev/null
	[ $i -lt 40 ]
}

bench() {
	local trials=${TWO_HOSTS_TRIALS:-3} t port=18700 lat_n=500 f v
	local -A got seen
	local line k w
	local perf=$BUILD/perf mpi=(mpirun --allow-run-as-root --host guest-a,guest-b
		-n 2 --mca pml ucx --mca osc ucx --mca pml_ucx_tls any
		--mca pml_ucx_devices any --mca btl ^openib
		--mca oob_tcp_if_include 10.10.0.0/24 -x UCX_NET_DEVICES=rxe0:1
		-x UCX_TLS=rc_verbs,ud_verbs,self -x UCX_IB_GID_INDEX=0)
	f=/tmp/bench
	for ((t = 1; t <= trials; t++)); do
		pair $f $((port++)) "$perf/sk_write_lat" -s 8 -n $lat_n &&
			got[skw]+=" $(value $f 8 5 5)"
		pair $f $((port++)) ib_write_lat -d rxe0 -x 1 -F -s 8 -n $lat_n &&
			got[ibw]+=" $(value $f 8 5 5)"
		pair $f $((port++)) "$perf/sk_read_lat" -s 8 -n $lat_n &&
			got[skr]+=" $(value $f 8 5 5)"
		pair $f $((port++)) ib_read_lat -d rxe0 -x 1 -F -s 8 -n $lat_n &&
			got[ibr]+=" $(value $f 8 5 5)"
		pair $f $((port++)) "$perf/rpc_lat" -s 8 -n $lat_n &&
			got[rpc]+=" $(value $f 8 9 5)"
		pair $f $((port++)) ib_send_lat -d rxe0 -x 1 -F -s 8 -n $lat_n &&
			got[ibs]+=" $(value $f 8 5 5 | awk '{ printf "%.2f", 2 * $1 }')"
		timeout 120 "${mpi[@]}" "$perf/compare/mpi_pingpong" -s 8 -n $lat_n \
			-w 50 </dev/null >$f 2>&1 && got[mpi]+=" $(value $f 8 4 4)"
		# This trial's figures, for perf/bench/report.py's spreads
		# and per-trial ratios ("-": that side gave none).
		line="wire trial $t:"
		for k in skw ibw skr ibr rpc ibs mpi; do
			read -r -a w <<<"${got[$k]:-}"
			if [ ${#w[@]} -gt "${seen[$k]:-0}" ]; then
				line+=" $k ${w[-1]}"
			else
				line+=" $k -"
			fi
			seen[$k]=${#w[@]}
		done
		echo "$line"
	done
	med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
	ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
	local skw ibw skr ibr rpc ibs mpiv
	skw=$(med "${got[skw]:-}") ibw=$(med "${got[ibw]:-}")
	skr=$(med "${got[skr]:-}") ibr=$(med "${got[ibr]:-}")
	rpc=$(med "${got[rpc]:-}") ibs=$(med "${got[ibs]:-}") mpiv=$(med "${got[mpi]:-}")
	echo "benchmark across the wire (rxe0 to rxe0, TCG: ratios only), 8 B, medians of $trials:"
	printf '  %-34s %10s  %-30s %10s  %s\n' "Skiff" "us" "peer" "us" "ratio"
	printf '  %-34s %10s  %-30s %10s  %s\n' "sk_write_lat (half RTT)" "$skw" "ib_write_lat" "$ibw" "$(ratio "$skw" "$ibw")"
	printf '  %-34s %10s  %-30s %10s  %s\n' "sk_read_lat (RTT)" "$skr" "ib_read_lat" "$ibr" "$(ratio "$skr" "$ibr")"
	printf '  %-34s %10s  %-30s %10s  %s\n' "rpc_lat (call RTT)" "$rpc" "ib_send_lat x 2" "$ibs" "$(ratio "$rpc" "$ibs")"
	printf '  %-34s %10s  %-30s %10s  %s\n' "rpc_lat (call RTT)" "$rpc" "Open MPI/UCX ping-pong RTT" "$mpiv" "$(ratio "$rpc" "$mpiv")"
}

if [ "${1:-}" = --guest ]; then
	[ $# -eq 3 ] || { echo "usage: two-hosts.sh --guest a|b DIR" >&2; exit 2; }
	case $2 in
	a) guest_a "$3" ;;
	b) guest_b "$3" ;;
	*) echo "two-hosts.sh: --guest a or b" >&2; exit 2 ;;
	esac
	exit
fi

# ---- on the host -------------------------------------------------------------

gr=tests/softroce/guest-run
[[ ${TWO_HOSTS_TRIALS:-3} =~ ^[1-9][0-9]?$ ]] || {
	echo "two-hosts: TWO_HOSTS_TRIALS must be 1-99, not '$TWO_HOSTS_TRIALS'" >&2
	exit 2
}
# Its bad arguments first: refused before any guest boots.
BUILD=$BUILD tests/softroce/guest-run-args.sh || exit 1
"$gr" --check-deps >/dev/null || exit 125
for f in bin/skrun tests/node_app tests/rpc_job examples/kv_hello; do
	[ -x "$BUILD/$f" ] || { echo "two-hosts.sh: $BUILD/$f missing: build first (make)" >&2; exit 1; }
done
command -v ssh-keygen >/dev/null && [ -x /usr/sbin/sshd ] ||
	{ echo "two-hosts.sh: openssh-server and openssh-client needed (mk/deps.sh)" >&2; exit 1; }
mkdir -p "$BUILD/softroce"
dir=$(mktemp -d "$BUILD/softroce/wire.XXXXXX") || exit 1
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ssh-keygen -q -N '' -t ed25519 -f "$dir/id" </dev/null || exit 1
read -r pa pb < <(python3 -c '
import socket
s = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

start=$(date +%s)
"$gr" --smp 1 --mem 1536 --timeout 400 --name guest-a --hosts "$B_IP guest-b" \
	--wire "$pa:$pb:$A_IP/24" --share "$dir" --env BUILD="$BUILD" \
	-- tests/softroce/two-hosts.sh --guest a "$dir" >"$dir/a.log" 2>&1 &
pids+=($!)
"$gr" --smp 1 --mem 1536 --timeout 400 --name guest-b --hosts "$A_IP guest-a" \
	--wire "$pb:$pa:$B_IP/24" --share "$dir" --env BUILD="$BUILD" \
	--env TWO_HOSTS_BENCH="${TWO_HOSTS_BENCH:-1}" \
	--env TWO_HOSTS_TRIALS="${TWO_HOSTS_TRIALS:-3}" \
	-- tests/softroce/two-hosts.sh --guest b "$dir" &
pids+=($!)
wait "${pids[1]}"
rc_b=$?
wait "${pids[0]}"
rc_a=$?
pids=()
echo "two-hosts: both guests done in $(($(date +%s) - start)) s (guest A: exit $rc_a)"
[ $rc_a -eq 0 ] || sed 's/^/guest A | /' "$dir/a.log" | tail -20
[ $rc_b -eq 0 ] && [ $rc_a -eq 0 ] && exit 0
[ $rc_b -ne 0 ] && exit $rc_b
exit 1
