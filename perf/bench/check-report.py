#!/usr/bin/python3
"""check-report.py - check a bench report's shape, never its timings.

usage: check-report.py [--figures] [--areas A,B,...] [--plots P,Q,...] REPORT.json

REPORT.json and the REPORT.md beside it are perf/bench/report.py's. Checked:
the JSON parses and is a skiff-bench/1 report; every required area (default
driver,rpc,kv,gateway,launch) has rows; every row has both sides' figures
(finite medians that are the medians of their trials) or a stated reason,
and a result that follows from its target; the markdown has a table per
area with one line per row, both value cells filled, and the reason in the
notes where a side is missing; the plots named (default latency,
throughput,launch) exist as PNG files. With --figures, also every script
that ran (not skipped) gave at least one row with both sides' figures: a
script whose output the parser no longer understands shows here. Exit 0
all good; 1 with one line per problem; 2 usage.
"""
import json
import math
import os
import re
import statistics
import sys

SCHEMA = "skiff-bench/1"
RESULTS = {"met", "missed", "no target", "not run", "not judged"}
problems = []


def bad(msg):
    problems.append(msg)


def finite(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_side(rid, which, s):
    if s is None:
        return False
    if not isinstance(s, dict):
        bad("%s: %s is not an object" % (rid, which))
        return False
    if not finite(s.get("median")):
        bad("%s: %s has no finite median" % (rid, which))
        return False
    if not isinstance(s.get("name"), str) or not s["name"]:
        bad("%s: %s has no name" % (rid, which))
    tr = s.get("trials")
    if isinstance(tr, list) and tr:
        if not all(finite(t) for t in tr):
            bad("%s: %s has a trial that is not a number" % (rid, which))
        elif abs(statistics.median(tr) - s["median"]) > 1e-9 * max(1, abs(s["median"])):
            bad("%s: %s median %r is not the median of its trials" % (rid, which, s["median"]))
        elif "min" in s and (s["min"] != min(tr) or s["max"] != max(tr)):
            bad("%s: %s min-max is not its trials'" % (rid, which))
    else:
        bad("%s: %s has no trials" % (rid, which))
    return True


def check_row(area, r):
    if not isinstance(r, dict):
        bad("%s: a row is not an object" % area)
        return
    rid = r.get("id") if isinstance(r.get("id"), str) else "%s/?" % area
    if not isinstance(r.get("test"), str) or not r["test"]:
        bad("%s: no test name" % rid)
    has_sk = check_side(rid, "skiff", r.get("skiff"))
    has_pe = check_side(rid, "peer", r.get("peer"))
    reason = r.get("reason")
    if (not has_sk or not has_pe) and not (isinstance(reason, str) and reason.strip()):
        bad("%s: a side has no figure and the row states no reason" % rid)
    res = r.get("result")
    if res not in RESULTS:
        bad("%s: result %r is not one of %s" % (rid, res, sorted(RESULTS)))
        return
    t, ra = r.get("target"), r.get("ratio")
    if ra is not None and not (isinstance(ra, dict) and finite(ra.get("median"))):
        bad("%s: ratio has no finite median" % rid)
        ra = None
    if res in ("met", "missed"):
        if not (isinstance(t, dict) and t.get("op") in ("<=", ">=") and finite(t.get("limit"))):
            bad("%s: judged %s without a target" % (rid, res))
            return
        if t.get("on") == "ratio":
            if ra is None:
                bad("%s: judged on a ratio it does not have" % rid)
                return
            v = ra["median"]
        elif t.get("on") == "skiff" and has_sk:
            v = r["skiff"]["median"]
        else:
            return  # judged on a figure of the script's (e.g. node PSS max)
        ok = v <= t["limit"] if t["op"] == "<=" else v >= t["limit"]
        if ok != (res == "met"):
            bad("%s: result %s does not follow from %s %s %s" % (rid, res, v, t["op"], t["limit"]))


def md_tables(text):
    """{heading: [cells of each data line]} for the markdown's tables."""
    tables, head = {}, None
    for ln in text.splitlines():
        if ln.startswith("## "):
            head = ln[3:].strip()
            continue
        if head and ln.startswith("|") and not re.match(r"^\|[-| ]+\|$", ln):
            cells = [c.strip().replace("\\|", "|")
                     for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]]
            tables.setdefault(head, []).append(cells)
    return {h: rows[1:] for h, rows in tables.items()}  # drop the column heads


def main(argv):
    areas = ["driver", "rpc", "kv", "gateway", "launch"]
    plots = ["latency", "throughput", "launch"]
    args = list(argv)
    figures = False
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--figures":
            figures = True
        elif opt in ("--areas", "--plots") and args:
            v = [x for x in args.pop(0).split(",") if x]
            if opt == "--areas":
                areas = v
            else:
                plots = v
        else:
            print(__doc__.strip().splitlines()[2], file=sys.stderr)
            return 2
    if len(args) != 1 or not args[0].endswith(".json"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    path = args[0]
    try:
        with open(path, encoding="utf-8") as f:
            rep = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as e:
        print("check-report: %s: not a readable JSON file: %s" % (path, e))
        return 1
    if not isinstance(rep, dict) or rep.get("schema") != SCHEMA:
        print("check-report: %s: not a %s report" % (path, SCHEMA))
        return 1
    ar = rep.get("areas")
    if not isinstance(ar, dict):
        bad("no areas")
        ar = {}
    for a in areas:
        if not isinstance(ar.get(a), dict) or not isinstance(ar[a].get("rows"), list) \
                or not ar[a]["rows"]:
            bad("area %s is missing or has no rows" % a)
    for a, v in ar.items():
        for r in (v.get("rows") if isinstance(v, dict) and isinstance(v.get("rows"), list) else []):
            check_row(a, r)
    if not isinstance(rep.get("machine"), dict) or not rep["machine"].get("versions"):
        bad("no machine section")
    if not isinstance(rep.get("commands"), list) or not rep["commands"]:
        bad("no commands")
    elif figures:
        rows = [r for v in ar.values() if isinstance(v, dict)
                for r in (v.get("rows") if isinstance(v.get("rows"), list) else [])
                if isinstance(r, dict)]
        for c in rep["commands"]:
            if not isinstance(c, dict) or c.get("status") == "skipped":
                continue
            if not any(r.get("source") == c.get("name") and r.get("skiff")
                       and r.get("peer") for r in rows):
                bad("%s ran (exit %s) but no row of it has both sides' figures"
                    % (c.get("name"), c.get("status")))

    md = path[:-5] + ".md"
    try:
        with open(md, encoding="utf-8") as f:
            tabs = md_tables(f.read())
    except (OSError, UnicodeDecodeError) as e:
        bad("%s: %s" % (md, e))
        tabs = {}
    for a, v in ar.items():
        if not isinstance(v, dict) or not isinstance(v.get("rows"), list):
            continue
        lines = tabs.get(v.get("title"))
        if lines is None:
            bad("%s: no table for area %s (%r)" % (md, a, v.get("title")))
            continue
        if len(lines) != len(v["rows"]):
            bad("%s: area %s has %d table lines for %d rows" % (md, a, len(lines), len(v["rows"])))
        for cells, r in zip(lines, v["rows"]):
            if len(cells) != 8:
                bad("%s: %s: a line with %d cells, not 8" % (md, a, len(cells)))
                continue
            for i, side in ((2, "Skiff"), (3, "peer")):
                if not cells[i] or cells[i] == "-":
                    bad("%s: %s: %s cell empty in %r" % (md, a, side, cells[0]))
                elif not re.match(r"^-?[0-9]", cells[i]) and not (
                        isinstance(r, dict) and r.get("reason") and r["reason"] in cells[7]):
                    bad("%s: %s: %s has no figure and no reason in %r" % (md, a, side, cells[0]))
    names = rep.get("plots") if isinstance(rep.get("plots"), list) else []
    d = os.path.dirname(path) or "."
    for p in plots:
        hit = [n for n in names if isinstance(n, str) and n.endswith("-%s.png" % p)]
        if not hit:
            bad("plot %s not listed in the report" % p)
            continue
        try:
            with open(os.path.join(d, hit[0]), "rb") as f:
                if f.read(8) != b"\x89PNG\r\n\x1a\n":
                    bad("%s is not a PNG file" % hit[0])
        except OSError as e:
            bad("plot %s: %s" % (p, e))
    for p in problems:
        print("check-report: %s" % p)
    if not problems:
        n = sum(len(v["rows"]) for v in ar.values())
        print("check-report: %s: %d rows in %d areas, report and %d plots: OK"
              % (path, n, len(ar), len(plots)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
