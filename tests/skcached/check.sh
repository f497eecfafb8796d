#!/usr/bin/env bash
# skcached in make check (step skcached): the server as a user relies on it
# (server.py), memcached clients nobody here wrote against it (clients.sh),
# and the differential test against a real memcached (diff.py). Each
# starts its own skcached jobs on free ports, with the default provider.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
sk=$BUILD/bin/skcached
rc=0

echo "== server.py"
timeout 600 python3 tests/skcached/server.py --build "$BUILD" || rc=1

# Gateways that sleep at once (SKIFF_GATEWAY_SPIN_US=0) here; server.py
# and diff.py run with the default spin.
echo "== clients.sh (4 cache nodes, 2 gateways that do not spin)"
SKIFF_GATEWAY_SPIN_US=0 timeout 600 tests/skcached/clients.sh \
	--start "$sk -n 4 -t 2 -p {port} -l 127.0.0.1" || rc=1

# The differential test, keys with control bytes included (skcached opens
# kv with any_keys, memcached's own key rule). -m 1024: it compares the
# protocols, not memory policies (its 1 MB values would make a 4 MiB
# partition evict where memcached's slabs have room).
echo "== diff.py (3 seeds x 5000 commands, against memcached)"
timeout 900 python3 tests/skcached/diff.py \
	--server "$sk -n 4 -t 2 -m 1024 -p {port} -l 127.0.0.1" \
	--seeds 1,2,3 --count 5000 \
	|| rc=1
exit $rc
