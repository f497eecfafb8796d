#!/usr/bin/env bash
# memcached-diff.sh - kv's memcached semantics against a real memcached 1.6:
# starts a private memcached on 127.0.0.1 (a free port, no UDP, killed on
# exit) and runs $BUILD/tests/memcached_diff over tests/kv/memcached-cases.txt
# (the case file says what is compared). Needs memcached (mk/deps.sh); a
# missing one is a failure, not a skip. Takes about 3 s (one 2.2 s sleep
# for the expiry case).
#
#   BUILD      build directory (default build)
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
DIFF=$BUILD/tests/memcached_diff
MEMCACHED=${MEMCACHED:-memcached}

die() {
	echo "FAIL memcached-diff: $*"
	exit 1
}

[ -x "$DIFF" ] || die "$DIFF missing: build first (make)"
command -v "$MEMCACHED" >/dev/null ||
	die "memcached not installed; run mk/deps.sh (as root)"
"$MEMCACHED" -V | grep -q '^memcached 1\.6\.' ||
	die "want memcached 1.6, have: $("$MEMCACHED" -V)"

# memcached will not run as root without -u
user=()
[ "$(id -u)" -eq 0 ] && user=(-u root)

T=$(mktemp -d /tmp/skiff-memcached.XXXXXX)
mc_pid=
cleanup() {
	[ -n "$mc_pid" ] && kill "$mc_pid" 2>/dev/null && wait "$mc_pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port another process holds makes memcached exit at once: try another.
start_memcached() {
	local port=$1
	"$MEMCACHED" -p "$port" -U 0 -l 127.0.0.1 -m 64 "${user[@]}" \
		2>>"$T/memcached.log" &
	mc_pid=$!
	for _ in $(seq 100); do
		kill -0 "$mc_pid" 2>/dev/null || { mc_pid=; return 1; }
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
		sleep 0.05
	done
	kill "$mc_pid"
	mc_pid=
	return 1
}

port=
for _ in $(seq 20); do
	p=$((20000 + RANDOM % 20000))
	if start_memcached "$p"; then
		port=$p
		break
	fi
done
[ -n "$port" ] || die "could not start memcached: $(tail -3 "$T/memcached.log")"
echo "memcached $("$MEMCACHED" -V | cut -d' ' -f2) on 127.0.0.1:$port (pid $mc_pid)"

timeout 120 "$DIFF" "$port" tests/kv/memcached-cases.txt
