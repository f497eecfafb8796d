#!/usr/bin/env bash
# hist.sh - kv's linearizability check on a real job (issue 12): 4 ranks of
# tests/kv/hist_job.c, each running 4 clients at once through kv's
# asynchronous API, issue random get, gets, set, add, replace, append,
# prepend, cas, delete, incr, decr and touch on 4 shared keys and record
# what they saw; the per-rank histories are merged and
# build/tests/kv_lincheck must find every key linearizable.
#
# Then two copies of the merged history, each with one read's answer
# changed, must be rejected (kv_lincheck exit 1), so a check that passes
# means something:
#   never-written  a read's value replaced by one no client wrote
#   stale          a read that saw write W, changed to see W', a write that
#                  had answered before W began, while W had answered
#                  before the read began: a stale value, the bug a broken
#                  publish or a cache would show
#
#   tests/kv/hist.sh [OPS]      OPS per rank, default 1000
#
#   BUILD           build directory (default build)
#   HIST_KEEP       a directory to keep the histories in (default: none)
# Prints one "ok"/"FAIL" line per check and exits 1 if any failed.
set -uo pipefail

cd "$(dirname "$0")/../.." || exit 2
BUILD=${BUILD:-build}
repo=$(pwd -P)
ops=${1:-1000}
[[ $ops =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [OPS]" >&2; exit 2; }
for f in bin/skrun tests/hist_job tests/kv_lincheck; do
	[ -x "$BUILD/$f" ] || { echo "hist.sh: $BUILD/$f is missing; run make" >&2; exit 2; }
done

T=$(mktemp -d /tmp/skiff-kvhist.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp "$repo/$BUILD/tests/hist_job" "$T/hist_job"
LINCHECK=$repo/$BUILD/tests/kv_lincheck
failed=0

ok() { echo "ok   $1"; }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

(cd "$T" && SKIFF_ARENA_MB=32 timeout -k 5 300 "$repo/$BUILD/bin/skrun" \
	-n 4 ./hist_job "$ops" h) >"$T/out" 2>"$T/err" </dev/null
rc=$?
sed 's/^/  /' "$T/out"
if [ $rc -ne 0 ] || [ "$(grep -c '; history in h\.[0-3]$' "$T/out")" -ne 4 ]; then
	fail "kv-hist job" "exit $rc; $(head -5 "$T/err")"
	exit 1
fi
cat "$T"/h.[0-3] >"$T/all.txt"
[ -n "${HIST_KEEP:-}" ] && mkdir -p "$HIST_KEEP" && cp "$T"/h.[0-3] "$T/all.txt" "$HIST_KEEP/"

"$LINCHECK" "$T/all.txt" >"$T/check" 2>&1
rc=$?
sed 's/^/  /' "$T/check"
if [ $rc -eq 0 ] && [ "$(grep -c ': ok (' "$T/check")" -eq 4 ]; then
	ok "kv-hist: $((4 * ops)) operations on 4 keys, every key linearizable"
else
	fail "kv-hist" "kv_lincheck exit $rc"
fi

# mutate KIND: write $T/KIND.txt, the history with one read changed, and
# print the line changed; exit 1 if the history has no read to change.
mutate() {
	python3 - "$1" "$T/all.txt" "$T/$1.txt" <<'EOF'
import sys

kind, src, dst = sys.argv[1:4]
lines = open(src).read().split('\n')
ops = []   # (line index, fields) of answered operations
for i, l in enumerate(lines):
    f = l.split()
    if len(f) < 6 or l.startswith('#') or f[2] == 'timeout':
        continue
    ops.append((i, f))

def plain_write(f):
    # A write whose value is exactly its argument: the key's new value.
    return f[3] in ('set', 'add', 'replace', 'cas') and f[-1] == 'STORED'

def read_hit(f):
    return f[3] in ('get', 'gets') and f[6] == 'VALUE'

reads = [(i, f) for i, f in ops if read_hit(f)]
if kind == 'never-written':
    if not reads:
        sys.exit(1)
    i, f = reads[len(reads) // 2]
    f[7] = 'x:' + b'never written'.hex()
else:
    writes = {}
    for i, f in ops:
        if plain_write(f):
            writes.setdefault((f[4], f[5]), []).append(f)
    pick = None
    for i, f in reads[len(reads) // 4:]:
        w = writes.get((f[4], f[7]))
        if not w or len(w) != 1 or int(w[0][2]) >= int(f[1]):
            continue
        w = w[0]
        older = [o for o in ops if plain_write(o[1]) and
                 o[1][4] == f[4] and int(o[1][2]) < int(w[1])]
        if older:
            pick = (i, f, older[-1][1])
            break
    if pick is None:
        sys.exit(1)
    i, f, o = pick
    f[7], f[8] = o[5], o[6]
lines[i] = ' '.join(f)
open(dst, 'w').write('\n'.join(lines))
print('line %d: %s' % (i + 1, lines[i]))
EOF
}

for kind in never-written stale; do
	if ! changed=$(mutate $kind); then
		fail "kv-hist $kind" "the history has no read to change"
		continue
	fi
	"$LINCHECK" "$T/$kind.txt" >"$T/check" 2>&1
	rc=$?
	if [ $rc -eq 1 ] && grep -q 'NOT LINEARIZABLE' "$T/check"; then
		ok "kv-hist $kind: rejected ($changed)"
	else
		fail "kv-hist $kind" "kv_lincheck exit $rc, not 1, on $changed"
		sed 's/^/  /' "$T/check" | head -20
	fi
done

[ $failed -eq 0 ]
