#!/usr/bin/env bash
# bad-input.sh - the bench's parsers against bad bytes. Given a good report
# (REPORT.json with its .md and plots, as report.py wrote it):
#
#   perf/bench/bad-input.sh REPORT.json
#
#   check-report.py  passes the report as it is, and fails each broken copy:
#                    truncated or non-object JSON, another schema, an area
#                    gone, a row with a side and no reason, a figure that is
#                    not the median of its trials, a result that does not
#                    follow from its target, a NaN, a markdown line missing
#                    or with an empty cell, a plot missing or not a PNG
#   compare.py       exits 2 on a missing file, bad JSON or another schema;
#                    0 on two good reports, and calls a change beyond both
#                    spreads a regression
#   report.py        on garbage, truncated and failed script outputs writes
#                    a report whose rows state reasons (which check-report
#                    passes; among them rpc_tput rows whose ucp_am_bw peer
#                    printed no number), and exits 1 without commands.tsv
#
# Exit status: 0 every case behaved, 1 a case did not (each is named).
set -uo pipefail

if [ $# != 1 ] || [ ! -f "$1" ]; then
	echo "usage: bad-input.sh REPORT.json" >&2
	exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
py=/usr/bin/python3
good=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")
base=$(basename "$good" .json)
work=$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench-bad.XXXXXX") || exit 1
trap '[ -n "${BENCH_KEEP_BAD:-}" ] || rm -rf "$work"' EXIT
fails=0 n=0

ok() { n=$((n + 1)); echo "ok   $*"; }
no() { n=$((n + 1)); fails=$((fails + 1)); echo "FAIL $*"; }

# fresh: a copy of the good report in $work/r; prints the JSON's path.
fresh() {
	rm -rf "$work/r" && mkdir "$work/r" &&
		cp "$good" "${good%.json}.md" "$(dirname "$good")/$base"-*.png "$work/r/" &&
		echo "$work/r/$base.json"
}

# edit PY: run PY with the report's JSON loaded as r, then write it back.
edit() {
	$py - "$work/r/$base.json" "$1" <<'EOF'
import json, sys
p, code = sys.argv[1], sys.argv[2]
r = json.load(open(p))
exec(code)
json.dump(r, open(p, "w"))
EOF
}

# must_fail NAME: check-report.py must reject the copy in $work/r.
must_fail() {
	if $py "$here/check-report.py" "$work/r/$base.json" >"$work/out" 2>&1; then
		no "check-report accepted: $1"
	elif [ "$(wc -l <"$work/out")" -ge 1 ] && grep -q '^check-report: ' "$work/out"; then
		ok "check-report rejects: $1 ($(head -n 1 "$work/out" | cut -c1-90))"
	else
		no "check-report failed without a message: $1"
	fi
}

j=$(fresh)
if $py "$here/check-report.py" "$j" >"$work/out" 2>&1; then
	ok "check-report accepts the good report"
else
	no "check-report rejects the good report: $(head -n 3 "$work/out")"
fi

fresh >/dev/null; head -c 200 "$good" >"$work/r/$base.json"; must_fail "truncated JSON"
fresh >/dev/null; echo '[1, 2]' >"$work/r/$base.json"; must_fail "JSON that is not an object"
fresh >/dev/null; printf '\xff\xfe{' >"$work/r/$base.json"; must_fail "bytes that are not UTF-8"
fresh >/dev/null; edit 'r["schema"] = "other/9"'; must_fail "another schema"
fresh >/dev/null; edit 'del r["areas"]["kv"]'; must_fail "area kv gone"
fresh >/dev/null; edit 'r["areas"]["gateway"]["rows"] = []'; must_fail "area gateway without rows"
fresh >/dev/null
edit '
row = next(x for a in r["areas"].values() for x in a["rows"] if x["peer"])
row["peer"] = None; row.pop("reason", None)'
must_fail "a row without its peer and without a reason"
fresh >/dev/null
edit '
row = next(x for a in r["areas"].values() for x in a["rows"] if x["skiff"] and len(x["skiff"]["trials"]) > 1)
row["skiff"]["median"] = row["skiff"]["median"] * 0.5'
must_fail "a figure that is not the median of its trials (hand-edited)"
fresh >/dev/null
edit '
row = next(x for a in r["areas"].values() for x in a["rows"] if x["result"] in ("met", "missed") and x["target"]["on"] == "ratio")
row["result"] = "met" if row["result"] == "missed" else "missed"'
must_fail "a result that does not follow from its target"
fresh >/dev/null
edit '
row = next(x for a in r["areas"].values() for x in a["rows"] if x["skiff"])
row["skiff"]["median"] = float("nan")'
must_fail "a NaN median"
fresh >/dev/null
edit '
row = next(x for a in r["areas"].values() for x in a["rows"] if x["skiff"])
row["skiff"]["trials"] = ["12"]'
must_fail "a trial that is not a number"
fresh >/dev/null; edit 'r["plots"] = []'; must_fail "no plots listed"
fresh >/dev/null; rm -f "$work/r/$base"-latency.png; must_fail "the latency plot missing"
fresh >/dev/null; echo "not a png" >"$work/r/$base-launch.png"; must_fail "a plot that is not a PNG"
fresh >/dev/null; rm -f "$work/r/$base.md"; must_fail "the markdown missing"
fresh >/dev/null
$py - "$work/r/$base.md" <<'EOF'
import sys
p = sys.argv[1]
L = open(p).read().split("\n")
i = next(i for i, l in enumerate(L) if l.startswith("| ") and "(rpc" not in l and l.count("|") == 9 and "---" not in L[i] and i > 0 and L[i - 1].startswith("|---"))
del L[i]
open(p, "w").write("\n".join(L))
EOF
must_fail "a markdown table line missing"
fresh >/dev/null
$py - "$work/r/$base.md" <<'EOF'
import re, sys
p = sys.argv[1]
L = open(p).read().split("\n")
h = L.index(next(l for l in L if l.startswith("## rpc")))
i = next(i for i in range(h, len(L)) if L[i].startswith("| ") and "---" not in L[i] and not L[i].startswith("| test"))
c = L[i].split(" | ")
c[3] = ""
L[i] = " | ".join(c)
open(p, "w").write("\n".join(L))
EOF
must_fail "a markdown line with an empty peer cell"

# compare.py
echo '{"schema": "skiff-bench/1", "areas": ' >"$work/trunc.json"
for bad in /nonexistent.json "$work/trunc.json"; do
	$py "$here/compare.py" "$bad" "$good" >/dev/null 2>"$work/err"
	rc=$?
	if [ $rc = 2 ] && grep -q '^compare: ' "$work/err"; then
		ok "compare exits 2 on $(basename "$bad")"
	else
		no "compare exit $rc on $(basename "$bad")"
	fi
done
echo '{"schema": "x"}' >"$work/other.json"
$py "$here/compare.py" "$good" "$work/other.json" >/dev/null 2>&1
if [ $? = 2 ]; then
	ok "compare exits 2 on another schema"
else
	no "compare accepts another schema"
fi
j=$(fresh)
edit '
for a in r["areas"].values():
    for x in a["rows"]:
        s = x["skiff"]
        if s and "min" in s and x["better"] == "lower":
            for k in ("median", "min", "max"):
                s[k] *= 10
            s["trials"] = [t * 10 for t in s["trials"]]'
if $py "$here/compare.py" "$good" "$j" >"$work/out" 2>&1 &&
	grep -q 'regression$' "$work/out" && ! grep -q 'improvement$' "$work/out"; then
	ok "compare calls a tenfold latency a regression, exit 0"
else
	no "compare on a tenfold latency: $(tail -n 1 "$work/out")"
fi
if $py "$here/compare.py" "$good" "$good" >"$work/out" 2>&1 &&
	! grep -qE '(regression|improvement)$' "$work/out"; then
	ok "compare of a report with itself: no change"
else
	no "compare of a report with itself: $(tail -n 1 "$work/out")"
fi

# report.py on bad script outputs
raw=$work/raw
mkdir -p "$raw"
# Garbage, then a last line whose 160th byte (where a reason is cut) is a
# space: 1 run in 100 or so of the garbage alone did that.
{
	head -c 3000 /dev/urandom
	printf '\n%0159d tail of the line\n' 0
} >"$raw/ucx.log"
{
	printf '  trial 1: write_lat       8  skiff FAIL       ucp_put_lat 0.9\n  trial x: read_lat\n'
	printf '  trial 1: rpc_tput 32 B calls/s: 1:7 8:x 64:inf\n  trial 1: ucp_am_bw 32 B msgs/s: nan\n'
	printf '  trial 2: ucp_am_bw 32 B msgs/s: ?\nrpc/am_bw 8 1 7 ucp_am_bw ? - >=zz MISS\n'
} >"$raw/rpc.log"
printf '  trial 1: kv GET p50 nan us (rpc fallbacks 0), sk_read_lat inf us\n' >"$raw/kvlat.log"
printf '  trial 1: memcached+memcslap 9 GET/s; kv (40 B/2525 B) ? GET/s; kv (16 B/32 B) -1e999 GET/s\n' >"$raw/kvmc.log"
printf '+ memcached -p 1 -U 0\nmcload: conns=x get_pct=100 ops_s=5\n+ nice mcload -s 127.0.0.1:1 \nmcload: conns=4 ops_s=\n' >"$raw/skcached.log"
printf '  trial 1: N=4    skrun 1e400 ms  mpirun 5 ms\n    4 | a [b] c\n' >"$raw/boot.log"
: >"$raw/osio.log"
{
	printf 'ucx\t1\t1.0\tperf/compare-ucx.sh\n'
	printf 'rpc\t0\t1.0\tperf/compare-rpc.sh\n'
	printf 'kvlat\t4\t1.0\tperf/kv/vs-read-lat.sh\n'
	printf 'kvmc\t0\tx\tperf/kv/vs-memcached.sh\n'
	printf 'skcached\t0\t1.0\tperf/skcached/vs-memcached.sh\n'
	printf 'boot\t0\t1.0\tperf/compare-boot.sh\n'
	printf 'osio\t0\t1.0\tperf/compare-os-io.sh\n'
	printf 'a line without tabs\n'
	printf 'slurm\tskipped\t0\tnot in this run\n'
} >"$raw/commands.tsv"
if $py "$here/report.py" --raw "$raw" --out "$work/rep" --base bad --no-plots \
	>"$work/out" 2>&1 &&
	$py "$here/check-report.py" --plots "" "$work/rep/bad.json" >>"$work/out" 2>&1; then
	ok "report.py on garbage outputs: every row states a reason"
else
	no "report.py on garbage outputs: $(tail -n 3 "$work/out")"
fi
if $py "$here/check-report.py" --figures --plots "" "$work/rep/bad.json" >"$work/out" 2>&1; then
	no "check-report --figures accepts scripts that ran and gave no figures"
elif grep -q 'ucx ran (exit 1) but no row' "$work/out"; then
	ok "check-report --figures names a script that ran and gave no figures"
else
	no "check-report --figures: $(head -n 2 "$work/out")"
fi
mkdir -p "$work/empty"
if $py "$here/report.py" --raw "$work/empty" --out "$work/rep" --base e >/dev/null 2>&1; then
	no "report.py without commands.tsv exits 0"
else
	ok "report.py without commands.tsv fails"
fi

echo "bad-input: $((n - fails)) of $n cases behaved"
[ $fails = 0 ]
