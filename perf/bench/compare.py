#!/usr/bin/python3
"""compare.py - compare two bench reports (`make bench-compare OLD= NEW=`).

usage: compare.py OLD.json NEW.json

For every row the two reports share (same id), Skiff's figure and the
ratio to the peer are compared. A change counts only when it is beyond
both runs' own spread: the new median lies outside the old run's min-max
and the old median outside the new run's. Then it is a "regression" or an
"improvement" by the row's direction (latency lower is better, rates
higher). Rows without a spread in either run (one measurement, or a
script that prints medians only) are listed as "no spread", never judged.
The ratio is the figure to trust across machines and days: it was taken
against a peer that ran in the same trials.

Exit status: 0 compared (whatever changed), 2 bad input (a file that is
missing, not JSON, or not a skiff-bench/1 report).
"""
import json
import math
import sys

SCHEMA = "skiff-bench/1"


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            rep = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        fail("%s: not a readable JSON file: %s" % (path, e))
    if not isinstance(rep, dict) or rep.get("schema") != SCHEMA or \
            not isinstance(rep.get("areas"), dict):
        fail("%s: not a %s report" % (path, SCHEMA))
    rows = {}
    for a in rep["areas"].values():
        for r in (a.get("rows") or []) if isinstance(a, dict) else []:
            if isinstance(r, dict) and isinstance(r.get("id"), str):
                rows[r["id"]] = r
    return rep, rows


def fail(msg):
    print("compare: " + msg, file=sys.stderr)
    sys.exit(2)


def fig(s):
    """(median, min, max) of a side or ratio; min/max None without spread."""
    if not isinstance(s, dict):
        return None
    m = s.get("median")
    if not isinstance(m, (int, float)) or isinstance(m, bool) or not math.isfinite(m):
        return None
    lo, hi = s.get("min"), s.get("max")
    ok = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (lo, hi))
    return (m, lo, hi) if ok else (m, None, None)


def verdict(old, new, better):
    if old is None or new is None:
        return None, "missing in one run"
    (om, olo, ohi), (nm, nlo, nhi) = old, new
    change = (nm - om) / om * 100 if om else float("inf")
    if None in (olo, ohi, nlo, nhi):
        return change, "no spread"
    if olo <= nm <= ohi or nlo <= om <= nhi:
        return change, "within spread"
    up = nm > om
    good = up if better == "higher" else not up
    return change, "improvement" if good else "regression"


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    orep, orows = load(argv[0])
    nrep, nrows = load(argv[1])
    print("old: %s (%s, %s run)" % (argv[0], orep.get("date"), orep.get("mode")))
    print("new: %s (%s, %s run)" % (argv[1], nrep.get("date"), nrep.get("mode")))
    print("%-64s %-6s %12s %12s %8s  %s" % ("row", "figure", "old", "new", "change", "verdict"))
    counts = {}
    for rid in [k for k in nrows if k in orows]:
        o, n = orows[rid], nrows[rid]
        better = n.get("better")
        for what, key, dirn in (("Skiff", "skiff", better), ("ratio", "ratio", better)):
            of, nf = fig(o.get(key)), fig(n.get(key))
            if of is None and nf is None:
                continue
            ch, v = verdict(of, nf, dirn)
            counts[v] = counts.get(v, 0) + 1
            print("%-64s %-6s %12s %12s %8s  %s" % (
                rid[:64], what, "-" if of is None else "%.4g" % of[0],
                "-" if nf is None else "%.4g" % nf[0],
                "-" if ch is None else "%+.1f%%" % ch, v))
    only = sorted(set(orows) ^ set(nrows))
    for rid in only:
        print("%-64s only in the %s run" % (rid[:64], "old" if rid in orows else "new"))
    print("compare: " + ", ".join("%d %s" % (c, v) for v, c in sorted(counts.items()))
          + ("; %d rows in one run only" % len(only) if only else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
