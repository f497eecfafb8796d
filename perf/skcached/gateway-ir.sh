#!/usr/bin/env bash
# gateway-ir.sh - the user-space instructions (callgrind Ir, all threads)
# skcached's gateway spends per memcached GET, next to memcached's own per
# GET, in one run: the instruction side of vs-memcached.sh's "CPU per op",
# which time alone cannot split (wake-ups, the kernel, the cache nodes).
#
# skcached: the job skcached would start (`skrun -n 1+N --enable-recovery
# skcached-node --gateways 1 ...`), with rank 0, the one gateway, under
# callgrind (perf/skcached/gw-wrap.sh); N cache nodes run natively. The
# gateway runs without its spin (no --spin-us: 0): what a spin executes
# is time waited between requests, not work per GET.
# memcached: `memcached -t 1` under callgrind (descriptor limit as in
# perf/kv/owner-ir.sh: -c 1012 under ulimit -n 1024).
# The same client for both, one connection, one request at a time: it sets
# --keys keys (--value-size bytes), then GETs them round robin, N1 and then
# N2 times in two runs of each server (--gets, default "1000 10000"); the
# figure is (Ir2 - Ir1) / (N2 - N1): start, load and exit cancel. Every
# answer is checked.
#
# Not a timing: instruction counts hold on a loaded host. Target (issue
# 13's CPU per op, on instructions): the gateway's Ir per GET <= 1.0x
# memcached's. Exit status: 0 met, 1 a run failed, 2 usage, 4 missed.
set -uo pipefail

usage() {
	cat <<'EOF'
usage: perf/skcached/gateway-ir.sh [--gets "N1 N2"] [--keys N] [--value-size B]
                                   [--nodes N] [--keep] [--verbose]

  --gets "N1 N2"   GETs of the two runs of each server (default "1000 10000")
  --keys N         keys set first (default 100)   --value-size B  (default 32)
  --nodes N        skcached's cache nodes (default 2)
  --keep           keep the callgrind outputs     --verbose  each command

Environment: BUILD (default build), SKIFF_PROVIDER (default ucx).
EOF
}

gets="1000 10000" keys=100 vsize=32 nodes=2 verbose=0 cmp_keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--gets) [ $# -ge 2 ] || { usage >&2; exit 2; }; gets=$2; shift 2 ;;
	--keys) [ $# -ge 2 ] || { usage >&2; exit 2; }; keys=$2; shift 2 ;;
	--value-size) [ $# -ge 2 ] || { usage >&2; exit 2; }; vsize=$2; shift 2 ;;
	--nodes) [ $# -ge 2 ] || { usage >&2; exit 2; }; nodes=$2; shift 2 ;;
	--keep) cmp_keep=1; shift ;;
	--verbose) verbose=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "gateway-ir.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
	esac
done
read -r n1 n2 extra <<<"$gets"
if ! [[ ${n1:-} =~ ^[1-9][0-9]*$ && ${n2:-} =~ ^[1-9][0-9]*$ ]] ||
	[ -n "${extra:-}" ] || [ "$n1" -ge "$n2" ] || [ "$n2" -gt 10000000 ]; then
	echo "gateway-ir.sh: bad --gets: '$gets' (two counts, N1 < N2)" >&2
	exit 2
fi
for v in "keys:$keys:1:1000000" "value-size:$vsize:1:1048576" "nodes:$nodes:1:64"; do
	IFS=: read -r name val lo hi <<<"$v"
	if ! [[ $val =~ ^[1-9][0-9]*$ ]] || [ "$val" -lt "$lo" ] || [ "$val" -gt "$hi" ]; then
		echo "gateway-ir.sh: bad --$name: '$val' ($lo to $hi)" >&2
		exit 2
	fi
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# shellcheck source-path=SCRIPTDIR source=../compare-lib.sh
. "$here/../compare-lib.sh"
cmp_cmd_hint="apt-get install valgrind memcached python3 iproute2"
cmp_setup gateway-ir.sh -- valgrind memcached /usr/bin/python3 ss
bindir=$(cd "$cmp_bin/../bin" 2>/dev/null && pwd -P) ||
	cmp_die "$cmp_bin/../bin missing (run make)"
for b in skrun skcached-node; do
	[ -x "$bindir/$b" ] || cmp_die "$bindir/$b missing (run make)"
done
export SKIFF_PROVIDER=${SKIFF_PROVIDER:-ucx}
# Per second, not per GET (as in perf/kv/owner-ir.sh).
export SKIFF_UCX_KEEPALIVE_MS=${SKIFF_UCX_KEEPALIVE_MS:-3600000}
cmp_tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-gateway-ir.XXXXXX")
srv_pid=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ -n "$srv_pid" ]; then
		kill -TERM "$srv_pid" 2>/dev/null
		wait "$srv_pid" 2>/dev/null
	fi
	cmp_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The client: set the keys, GET them round robin N times, check every
# answer; prints the hits.
client() {	# client PORT N
	/usr/bin/python3 - "$1" "$2" "$keys" "$vsize" <<'PY'
import socket, sys
port, n, keys, vsize = (int(a) for a in sys.argv[1:5])
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
val = b"v" * vsize
for i in range(keys):
    s.sendall(b"set k%015d 0 0 %d\r\n%s\r\n" % (i, vsize, val))
    if f.readline() != b"STORED\r\n":
        sys.exit("set %d not stored" % i)
hits = 0
for j in range(n):
    s.sendall(b"get k%015d\r\n" % (j % keys))
    line = f.readline()
    if line.startswith(b"VALUE "):
        if f.read(vsize + 2) != val + b"\r\n" or f.readline() != b"END\r\n":
            sys.exit("get %d: a wrong answer" % j)
        hits += 1
    elif line != b"END\r\n":
        sys.exit("get %d: %r" % (j, line))
print(hits)
PY
}

# serve TAG N: start the server TAG under callgrind, wait for its port,
# run the client, stop it; sets ir.
serve() {
	local tag=$1 n=$2 port out hits i
	out=$cmp_tmp/$tag.$n
	port=$(cmp_pick_port) || { echo "gateway-ir.sh: no free port" >&2; return 1; }
	if [ "$tag" = skcached ]; then
		local -a cmd=("$bindir/skrun" -n $((1 + nodes)) --enable-recovery
			-x "SKIFF_ARENA_MB=112" -x "GW_IR_OUT=$out.cg"
			-x "GW_IR_NODE=$bindir/skcached-node" "$here/gw-wrap.sh"
			--gateways 1 --port "$port" --listen 127.0.0.1 --conns 64
			--item-max 1048576 --mem-mb 64 --verbose 0)
		[ "$verbose" = 1 ] && echo "+ ${cmd[*]}"
		SKIFF_LOOP_SPIN_US=0 SKIFF_KILL_GRACE_MS=10000 "${cmd[@]}" \
			</dev/null >"$out" 2>&1 &
	else
		[ "$verbose" = 1 ] && echo "+ valgrind --tool=callgrind memcached -t 1 -c 1012 -p $port"
		(ulimit -n 1024 && exec valgrind --tool=callgrind \
			"--callgrind-out-file=$out.cg" memcached -t 1 -c 1012 \
			-U 0 -l 127.0.0.1 -p "$port" -u root) </dev/null >"$out" 2>&1 &
	fi
	srv_pid=$!
	for ((i = 0; i < 600; i++)); do
		(: </dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
		kill -0 "$srv_pid" 2>/dev/null || break
		sleep 0.1
	done
	hits=$(client "$port" "$n" 2>>"$out")
	kill -TERM "$srv_pid" 2>/dev/null
	wait "$srv_pid" 2>/dev/null
	srv_pid=
	if [ "${hits:-}" != "$n" ]; then
		echo "gateway-ir.sh: $tag answered ${hits:-no} hits of $n GETs:" >&2
		tail -n 8 "$out" >&2
		return 1
	fi
	ir=$(sed -n 's/^summary: *//p' "$out.cg" 2>/dev/null | head -n 1)
	[[ ${ir:-} =~ ^[0-9]+$ ]] || { echo "gateway-ir.sh: no callgrind total in $out.cg" >&2; return 1; }
}

declare -A per
printf 'gateway-ir.sh: user-space Ir per GET (callgrind, all threads); SKIFF_PROVIDER=%s; %s keys of %s B; runs of %s and %s GETs; one connection\n\n' \
	"$SKIFF_PROVIDER" "$keys" "$vsize" "$n1" "$n2"
printf '%-34s %12s %12s %10s\n' server Ir1 Ir2 "Ir/GET"
for tag in skcached memcached; do
	serve "$tag" "$n1" || exit 1
	ir1=$ir
	serve "$tag" "$n2" || exit 1
	per[$tag]=$(awk -v a="$ir1" -v b="$ir" -v n="$((n2 - n1))" 'BEGIN { printf "%.1f", (b - a) / n }')
	label="skcached gateway (rank 0, $nodes nodes)"
	[ "$tag" = memcached ] && label="memcached -t 1 ($(memcached -V | cut -d' ' -f2))"
	printf '%-34s %12s %12s %10s\n' "$label" "$ir1" "$ir" "${per[$tag]}"
done
ratio=$(awk -v a="${per[skcached]}" -v b="${per[memcached]}" 'BEGIN { printf "%.2f", a / b }')
met=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.0) ? "PASS" : "MISS" }')
printf '\ngateway Ir per GET / memcached Ir per GET: %s (target <= 1.00): %s\n' "$ratio" "$met"
[ "$cmp_keep" = 1 ] && echo "gateway-ir.sh: raw outputs kept in $cmp_tmp"
[ "$met" = PASS ] || exit 4
