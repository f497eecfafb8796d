#!/usr/bin/env bash
# demo.sh - the Skiff demo, run by `make demo`: an sk_pingpong server and
# client on 127.0.0.1 with the default provider (SKIFF_PROVIDER, else auto:
# rdma if an RDMA port is active, else ucx), then a 4-node job under skrun
# (hello, a ring of node-to-node sends, a shared file written and read
# back through the host), then rpc_lat (rpc round trips, 32 B and 4 KiB),
# rpc between nodes, and kv: 4 nodes load keys into the distributed hash
# table, read each other's back one-sided, and time GETs for a second.
# Both sides' output is shown as
# it comes, prefixed [server] and [client]; the demo fails if either side
# fails or if the pair does not finish within DEMO_TIMEOUT seconds.
#
# Environment: BUILD (default build) picks the binaries; DEMO_TIMEOUT
# (default 120) bounds the run; DEMO_KVBENCH, if set, is the node program
# and arguments of the kv act's benchmark (default: kvbench, YCSB B);
# PORT_MIN/PORT_MAX (default 18600-18999) the
# TCP ports tried. Extra arguments go to both sides (e.g. -n 100 -s 65536).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
bin=$build/perf/sk_pingpong
timeout_s=${DEMO_TIMEOUT:-120}
# The benchmarks' port picking and listen wait (PORT_MIN/PORT_MAX).
# shellcheck source-path=SCRIPTDIR source=../perf/compare-lib.sh
. "$root/perf/compare-lib.sh"

if [ ! -x "$bin" ]; then
	echo "demo: $bin is missing; run 'make' first" >&2
	exit 1
fi
[[ $timeout_s =~ ^[1-9][0-9]*$ ]] || { echo "demo: bad DEMO_TIMEOUT" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skiff-demo.XXXXXX")
pipes=()

# Stop whatever of ours still runs (by pid), then remove the scratch files.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local side p
	for side in server client; do
		p=$(cat "$tmp/$side.pid" 2>/dev/null) || continue
		kill -0 "$p" 2>/dev/null || continue
		kill -TERM "$p" 2>/dev/null
		sleep 0.5
		kill -KILL "$p" 2>/dev/null
	done
	for p in ${pipes[@]+"${pipes[@]}"}; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT TERM

# start SIDE ARGS...: run sk_pingpong in the background, its output
# prefixed with [SIDE]; its pid and exit status land in $tmp/SIDE.{pid,rc}.
start() {
	local side=$1
	shift
	rm -f "$tmp/$side.pid" "$tmp/$side.rc"
	(
		"$bin" "$@" </dev/null 2>&1 &
		echo $! >"$tmp/$side.pid"
		wait $!
		echo $? >"$tmp/$side.rc"
	) | sed -u "s/^/[$side] /" &
	pipes+=($!)
	while [ ! -s "$tmp/$side.pid" ]; do
		sleep 0.01
	done
}

# Wait until the server listens on $1 (0), or exits or 20 s pass (1).
server_ready() { cmp_wait_listen "$(cat "$tmp/server.pid")" "$1"; }

# Wait for both sides to exit (at most DEMO_TIMEOUT); fail unless both
# exited 0. $1 names the pair in messages.
finish_pair() {
	local deadline=$((SECONDS + timeout_s)) p src crc
	while [ ! -e "$tmp/server.rc" ] || [ ! -e "$tmp/client.rc" ]; do
		if [ $SECONDS -ge $deadline ]; then
			echo "demo: FAILED: $1 gave no result after ${timeout_s}s; stopping both sides" >&2
			exit 1
		fi
		sleep 0.1
	done
	for p in "${pipes[@]}"; do
		wait "$p" 2>/dev/null
	done
	pipes=()
	src=$(cat "$tmp/server.rc")
	crc=$(cat "$tmp/client.rc")
	if [ "$src" != 0 ] || [ "$crc" != 0 ]; then
		echo "demo: FAILED: $1 (server exit status $src, client exit status $crc)" >&2
		exit 1
	fi
}

port=
for attempt in 1 2 3 4 5; do
	port=$(cmp_pick_port) || { echo "demo: no free port in $cmp_port_min-$cmp_port_max" >&2; exit 1; }
	echo "demo: sk_pingpong on 127.0.0.1 port $port, provider ${SKIFF_PROVIDER:-auto}" \
		"(build: $build)"
	start server -p "$port" "$@"
	server_ready "$port" && break
	# A port taken between our look and the server's bind: try another.
	while [ ! -e "$tmp/server.rc" ]; do sleep 0.05; done
	rc=$(cat "$tmp/server.rc")
	if [ "$rc" != 3 ] || [ $attempt = 5 ]; then
		echo "demo: FAILED: the server did not start (exit status $rc)" >&2
		exit 1
	fi
	port=
done

start client -p "$port" "$@" 127.0.0.1
finish_pair sk_pingpong
echo "demo: ping-pong OK (server and client both exited 0)"

# Part 2: a 4-node Skiff job under skrun. Every node's printf, its file
# writes and reads, and a token passed around the ring of nodes cross the
# fabric; skrun is the host that serves them.
skrun=$build/bin/skrun
app=$build/tests/node_app
job() {
	echo "demo: \$ skrun $*"
	(cd "$tmp" && timeout "$timeout_s" "$skrun" "$@") 2>&1 | sed -u 's/^/[job] /'
	local rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || { echo "demo: FAILED: skrun exited $rc" >&2; exit 1; }
}
job -n 4 "$app" hello
job -n 4 "$app" ring
job -n 4 "$app" files 8 demo.dat
echo "demo: $(ls -l "$tmp/demo.dat" | awk '{print $5}') bytes written by 4 nodes through the host, each slice read back and verified"

# Part 3: rpc round trips (rpc_lat), 32 bytes and 4 KiB, one call at a time.
bin=$build/perf/rpc_lat
port=$(cmp_pick_port) || { echo "demo: no free port in $cmp_port_min-$cmp_port_max" >&2; exit 1; }
echo "demo: rpc_lat on 127.0.0.1 port $port (full round trips; perf/README.md compares them with MPI and UCX)"
start server -p "$port"
server_ready "$port" || { echo "demo: FAILED: the rpc_lat server did not start" >&2; exit 1; }
start client -p "$port" -n 20000 127.0.0.1
finish_pair rpc_lat

# Part 4: rpc inside a job, as examples/rpc_sum.c writes it: rank 0 serves,
# every other rank connects to it on first use and calls.
job -n 8 "$build/examples/rpc_sum"

# Part 5: kv, the distributed hash table (examples/kv_hello.c): every node
# stores 64 keys and reads the other nodes' back; a GET of another node's
# key READs its memory without its CPU (the one-sided count is
# sk_kv_stats'). Then a second of kvbench (perf/kv/kvbench.c): YCSB B
# (95% GETs, 5% sets) on zipf-popular keys, 16 requests in flight per
# node, every value checked; its memtier-style table and one line. Every
# node is busy the whole second (its GETs finish at once), so with fewer
# cores than nodes a set (an rpc to the key's owner) waits until the
# owner gets a core: the sets' p99 is the scheduler's time slice there.
job -n 4 "$build/examples/kv_hello" 64
read -r -a kvbench <<<"${DEMO_KVBENCH:-$build/perf/kv/kvbench --mix B --dist zipf --keys 20000 --time 1 --depth 16}"
SKIFF_ARENA_MB=${SKIFF_ARENA_MB:-64} job -n 4 "${kvbench[@]}" >"$tmp/kvbench.out"
if grep -q '^\[job\] kvbench: mix=' "$tmp/kvbench.out"; then
	grep -E '^(demo: \$|\[job\] (kvbench: [0-9]+ ranks|Type|Sets|Gets|Totals|kvbench: [0-9]+ updates waited))' "$tmp/kvbench.out"
	sed -n 's/^\[job\] kvbench: mix=\([A-Za-z]*\) .* ranks=\([0-9]*\) .* ops_s=\([0-9]*\) get_ops_s=\([0-9]*\) .* get_p50_us=\([0-9.]*\) .* errors=\([0-9]*\) bad_values=\([0-9]*\).*/demo: kv: kvbench mix \1 on \2 nodes: \3 ops\/s (\4 GETs\/s), GET p50 \5 us, \6 errors, \7 bad values/p' "$tmp/kvbench.out"
	cores=$(nproc 2>/dev/null || echo 4)
	[ "$cores" -lt 4 ] &&
		echo "demo: kv: the 4 nodes keep $cores cores busy: a set waits for its owner's turn on one (the sets' p99), a GET reads the owner's memory without it"
else
	cat "$tmp/kvbench.out"
fi

# Part 6: skcached, memcached's protocols in front of the table: 4 cache
# nodes and 2 gateways, then ordinary memcached clients nobody here wrote
# (pymemcache, and libmemcached's memccp/memccat) store values through it
# and read them back; SIGTERM ends the job, and skcached exits 0.
port=$(cmp_pick_port) || { echo "demo: no free port in $cmp_port_min-$cmp_port_max" >&2; exit 1; }
echo "demo: \$ skcached -n 4 -t 2 -p $port -l 127.0.0.1"
"$build/bin/skcached" -n 4 -t 2 -p "$port" -l 127.0.0.1 \
	> >(sed -u 's/^/[skcached] /') 2>&1 &
skc_pid=$!
skc_up() { ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; }
for _ in $(seq 200); do
	skc_up && break
	kill -0 "$skc_pid" 2>/dev/null || break
	sleep 0.1
done
skc_up || { echo "demo: FAILED: skcached did not start" >&2; exit 1; }
# Debian's python3, whose python3-pymemcache this is (not a python3 that
# PATH may find first, such as pyenv's).
echo "demo: \$ /usr/bin/python3 (pymemcache) on 127.0.0.1:$port"
timeout "$timeout_s" /usr/bin/python3 - "$port" <<'PY' || { echo "demo: FAILED: the pymemcache client" >&2; kill -TERM "$skc_pid"; exit 1; }
import sys
from pymemcache.client.base import Client
c = Client(("127.0.0.1", int(sys.argv[1])))
c.set("greeting", "hello from a memcached client", expire=0)
c.set("answer", "42")
print("[pymemcache] set greeting, answer")
print("[pymemcache] get greeting ->", c.get("greeting").decode())
print("[pymemcache] incr answer 1 ->", c.incr("answer", 1))
keys = ["key:%d" % i for i in range(100)]
c.set_many({k: k.upper() for k in keys})
got = c.get_many(keys)
assert all(got[k] == k.upper().encode() for k in keys), "get_many"
print("[pymemcache] set_many then get_many of 100 keys over the 4 nodes: all %d back" % len(got))
st = c.stats("skiff")
items = [st[b"node%d:curr_items" % r] for r in range(2, 6)]
print("[pymemcache] stats skiff, items on each cache node:",
      " ".join(str(int(x)) for x in items))
PY
head -c 100000 /dev/urandom >"$tmp/blob.bin"
(cd "$tmp" && memccp --servers="127.0.0.1:$port" blob.bin && mv blob.bin blob.orig && memccat --servers="127.0.0.1:$port" --file=blob.bin blob.bin) || { echo "demo: FAILED: memccp/memccat" >&2; kill -TERM "$skc_pid"; exit 1; }
cmp -s "$tmp/blob.orig" "$tmp/blob.bin" || { echo "demo: FAILED: memccat gave other bytes" >&2; kill -TERM "$skc_pid"; exit 1; }
echo "demo: memccp then memccat of a 100000-byte file through skcached: identical"
kill -TERM "$skc_pid"
wait "$skc_pid"
rc=$?
[ "$rc" = 0 ] || { echo "demo: FAILED: skcached exited $rc after SIGTERM" >&2; exit 1; }
echo "demo: skcached stopped by SIGTERM, exit 0"
echo "demo: OK (ping-pong, a 4-node skrun job, rpc round trips, rpc between nodes, kv, skcached)"

