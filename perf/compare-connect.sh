#!/usr/bin/env bash
# compare-connect.sh - the rdma provider's two connection paths side by
# side, in one Soft-RoCE boot: SKIFF_RDMA_CONNECT=blob (QPN and GID from the
# packed address, as ibv_rc_pingpong) against SKIFF_RDMA_CONNECT=cm
# (librdmacm: address and route resolved from the peer's IP address, a
# connection the peer's kernel ends when it exits). Run it INSIDE the guest
# (perf/run-rdma-compare.sh shows how to get there; perf/bench/guest.sh
# runs it in make bench's boot).
#
#   1. setup rate between two processes: build/perf/sk_conn_rate (create,
#      swap addresses over TCP, connect, one signaled write, destroy);
#   2. setup between the nodes of a job: skrun -n 8 build/perf/os/sk_connect
#      (one at a time through the host, then all pairs at once);
#   3. the start-to-exit time of a 64-node job: skrun -n 64 sk_hello, whose
#      boot connects every node to the host (walltime).
#
# The paths alternate within each trial; each figure is the median over
# --trials. The time from kill -9 of a peer to its endpoint failing is the
# conformance suite's test_peer_killed line (tests/verbs/test_conformance.c),
# printed by make check's rdma step for both paths.
#
# Exit status: 0 all ran, 1 a run failed, 2 usage. No target is judged: the
# paths are compared to choose a default (verbs/rdma/README.md says which).
set -uo pipefail

trials=3
conns=200
nodes=64
usage() {
	cat <<'EOF'
usage: perf/compare-connect.sh [--trials T] [--conns N] [--nodes N]
  --trials T  trials per figure (default 3)
  --conns N   connections per sk_conn_rate run (default 200)
  --nodes N   nodes of the boot-time job (default 64)
Run inside the Soft-RoCE guest, after 'make'; BUILD (default build).
EOF
}
num() { [[ $2 =~ ^[1-9][0-9]{0,4}$ ]] || { echo "compare-connect.sh: $1 wants a number 1..99999, not '$2'" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
	case $1 in
	--trials) [ $# -ge 2 ] || { usage >&2; exit 2; }; num "$1" "$2"; trials=$2; shift 2 ;;
	--conns) [ $# -ge 2 ] || { usage >&2; exit 2; }; num "$1" "$2"; conns=$2; shift 2 ;;
	--nodes) [ $# -ge 2 ] || { usage >&2; exit 2; }; num "$1" "$2"; nodes=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "compare-connect.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
B=${BUILD:-build}
for f in perf/sk_conn_rate perf/os/sk_connect perf/os/sk_hello perf/os/walltime bin/skrun; do
	[ -x "$B/$f" ] || { echo "compare-connect.sh: $B/$f is missing; run 'make' first" >&2; exit 1; }
done
export SKIFF_PROVIDER=rdma
info=$("$B/bin/skinfo" 2>/dev/null)
if [[ $info != *"connection manager"* ]]; then
	echo "compare-connect.sh: no rdma device with the connection manager here (run it in the Soft-RoCE guest)" >&2
	exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
port=$((20000 + RANDOM % 20000))
fail=0

# One sk_conn_rate pair: connections/s on stdout.
conn_rate() {
	local path=$1 out=$tmp/cr.$1 s
	port=$((port + 1))
	SKIFF_RDMA_CONNECT=$path timeout 120 "$B/perf/sk_conn_rate" -n "$conns" -p "$port" >"$out.srv" 2>&1 &
	s=$!
	sleep 0.3
	SKIFF_RDMA_CONNECT=$path timeout 120 "$B/perf/sk_conn_rate" -n "$conns" -p "$port" localhost >"$out" 2>&1
	local rc=$?
	wait "$s" || rc=1
	grep -q "transport: .*$( [ "$path" = cm ] && echo 'connection manager' || echo 'blob connect')" "$out" || rc=1
	if [ $rc != 0 ]; then
		echo "compare-connect.sh: sk_conn_rate ($path) failed:" >&2
		tail -5 "$out" "$out.srv" >&2
		return 1
	fi
	awk '/connections\/s:/ {print $2}' "$out"
}

# skrun -n 8 sk_connect: "one-at-a-time median us" and "all-at-once per s".
job_connect() {
	local out=$tmp/jc.$1
	if ! SKIFF_RDMA_CONNECT=$1 timeout 300 "$B/bin/skrun" -n 8 "$B/perf/os/sk_connect" >"$out" 2>&1; then
		echo "compare-connect.sh: sk_connect ($1) failed:" >&2
		tail -5 "$out" >&2
		return 1
	fi
	awk '/one at a time:/ {for (i = 1; i <= NF; i++) if ($i == "median") m = $(i + 1)}
	     /all at once:/ {for (i = 1; i <= NF; i++) if ($i ~ /connections\/s/ || $i == "connections/s,") r = $(i - 1)}
	     END {print m, r}' "$out"
}

# skrun -n $nodes sk_hello: start-to-exit seconds.
boot() {
	local out=$tmp/boot.$1
	if ! SKIFF_RDMA_CONNECT=$1 timeout 600 "$B/perf/os/walltime" -o "$out.ns" \
		"$B/bin/skrun" -n "$nodes" "$B/perf/os/sk_hello" >"$out" 2>&1 ||
		[ "$(grep -c '^hello from rank' "$out")" != "$nodes" ]; then
		echo "compare-connect.sh: skrun -n $nodes sk_hello ($1) failed:" >&2
		tail -5 "$out" >&2
		return 1
	fi
	awk '{printf "%.3f\n", $1 / 1e9}' "$out.ns"
}

# One line per trial, both paths' figures side by side ("-": failed), for
# perf/bench/report.py: "trial T: rate B C; one B C; all B C; boot B C".
declare -A v
for t in $(seq "$trials"); do
	declare -A now=()
	for path in $( ((t % 2)) && echo "blob cm" || echo "cm blob"); do
		r=$(conn_rate "$path") && now[rate.$path]=$r || fail=1
		m='' a=''
		job_connect "$path" >"$tmp/jc" && read -r m a <"$tmp/jc" || fail=1
		[ -n "$m" ] && now[one.$path]=$m && now[all.$path]=$a
		s=$(boot "$path") && now[boot.$path]=$s || fail=1
	done
	line="trial $t:"
	for k in rate one all boot; do
		line+=" $k ${now[$k.blob]:--} ${now[$k.cm]:--};"
		for path in blob cm; do
			[ -z "${now[$k.$path]:-}" ] || v[$k.$path]+="${now[$k.$path]} "
		done
	done
	echo "${line%;}"
	unset now
done

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{a[NR] = $1} END {if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "-"}'; }
row() {
	local name=$1 key=$2 b c
	b=$(echo "${v[$key.blob]:-}" | median)
	c=$(echo "${v[$key.cm]:-}" | median)
	awk -v n="$name" -v b="$b" -v c="$c" 'BEGIN {
		r = (b + 0 > 0 && c != "-") ? sprintf("%.2f", c / b) : "-"
		printf "| %-44s | %10s | %10s | %6s |\n", n, b, c, r }'
}
echo
echo "Connection paths on $(hostname), rdma on rxe0, median of $trials trials"
echo "| figure                                       |       blob |         cm | cm/blob |"
echo "|----------------------------------------------|-----------:|-----------:|-------:|"
row "sk_conn_rate, connections/s (2 processes)" rate
row "sk_connect -n 8, one at a time, median us" one
row "sk_connect -n 8, all at once, connections/s" all
row "skrun -n $nodes sk_hello, start to exit, s" boot
exit $fail
