#!/usr/bin/python3
"""report.py - turn perf/bench/run.sh's raw outputs into the bench report.

usage: report.py --raw DIR --out DIR --base NAME [--mode quick|full]
                 [--trials N] [--guest 0|1] [--seconds S] [--no-plots]

DIR (--raw) holds one NAME.log per comparison script, as run.sh ran it,
and commands.tsv ("name<TAB>status<TAB>seconds<TAB>command" per script,
status "skipped" with the reason as command). Writes OUT/BASE.json (every
figure), OUT/BASE.md (a table per area) and OUT/BASE-*.png (gnuplot).

Each script prints one line per trial with both sides' figures (the sides
interleaved in that trial); from them a row takes each side's median and
min-max and the median of the per-trial ratios, counting a trial only
when both sides have a figure in it. Scripts that print only medians
(owner-ir.sh, older compare-slurm.sh and two-hosts.sh runs) give rows without a spread,
and say so. A side that gave no figure, and every row of a script that
did not run, carries a "reason". Exit status: 0 written, 1 cannot write.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SCHEMA = "skiff-bench/1"
AREAS = [  # (key, title); the first five are the issue's, always present
    ("driver", "Driver: latency and bandwidth (verbs, sk_* tools)"),
    ("rpc", "rpc"),
    ("kv", "kv"),
    ("gateway", "Gateway: skcached against memcached"),
    ("launch", "Launch: skrun against mpirun"),
    ("os", "Node I/O through the host"),
    ("wire", "Across the wire: two Soft-RoCE guests"),
]
REQUIRED_AREAS = [a for a, _ in AREAS[:5]]


def num(s):
    """A finite float from s, or None ('FAIL', '?', '-', garbage)."""
    try:
        v = float(s)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def side(name, values, spread=True, unit=None):
    """One side of a row: its figures per trial and their summary; unit
    only where it is not the row's (rpc_tput's peer counts messages)."""
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    s = {"name": name, "median": statistics.median(vals), "n": len(vals),
         "trials": vals}
    if unit:
        s["unit"] = unit
    if spread and len(vals) > 1:
        s["min"], s["max"] = min(vals), max(vals)
    return s


def judge(op, limit, value):
    if value is None:
        return "not judged"
    ok = value <= limit if op == "<=" else value >= limit
    return "met" if ok else "missed"


def make_row(test, size, unit, better, sk, peer, ratios=None, target=None,
             on="ratio", note=None, reason=None, spread=True):
    """A row of the report. sk, peer: side() or None; ratios: per-trial
    ratios (both sides present), or one ratio given by a script; target:
    (op, limit) judged on the ratio (on="ratio") or Skiff's value
    (on="skiff"); reason: why a side or the judgement is missing."""
    r = {"test": test, "size": size, "unit": unit, "better": better,
         "skiff": sk, "peer": peer}
    rv = [x for x in (ratios or []) if x is not None]
    r["ratio"] = None
    if rv:
        r["ratio"] = {"median": statistics.median(rv), "n": len(rv)}
        if spread and len(rv) > 1:
            r["ratio"]["min"], r["ratio"]["max"] = min(rv), max(rv)
    if target:
        r["target"] = {"on": on, "op": target[0], "limit": target[1]}
        v = r["ratio"]["median"] if on == "ratio" and r["ratio"] else (
            sk["median"] if on == "skiff" and sk else None)
        r["result"] = judge(target[0], target[1], v)
    else:
        r["target"] = None
        r["result"] = "no target"
    if sk is None and peer is None and not reason:
        reason = "neither side gave a figure (see the script's output)"
    if sk is None and not reason:
        reason = "Skiff's side gave no figure (see the script's output)"
    if peer is None and not reason:
        reason = "the peer gave no figure"
    if on == "ratio" and target and r["ratio"] is None and not reason:
        reason = "no trial with both sides"
    if reason:
        r["reason"] = reason
    if note:
        r["note"] = note
    return r


def target_of(text):
    """('<=', 1.1) from '<=1.10', None otherwise."""
    m = re.match(r"^(<=|>=)([0-9.]+)$", text or "")
    return (m.group(1), float(m.group(2))) if m else None


def ratio_pairs(a, b):
    """Per-trial ratios a[t] / b[t] over the trials where both exist."""
    return [a[t] / b[t] for t in a if t in b and a[t] is not None and
            b[t] is not None and b[t] > 0]


def failed(ctx, name):
    """Why a script's rows are missing: skipped, or its exit and last line."""
    c = ctx["commands"].get(name)
    if c is None:
        return "%s was not run" % name
    if c["status"] == "skipped":
        return c["command"]
    log = ctx["logs"].get(name, "")
    last = [ln.strip() for ln in log.splitlines() if ln.strip()]
    # Stripped after the cut too: a reason ending in a space is not found
    # in the markdown's (stripped) cell.
    tail = re.sub(r"[^ -~]+", "?", last[-1])[:160].strip() if last else "no output"
    prog = [w for w in c["command"].split() if "=" not in w] or ["?"]
    return "%s exited %s without figures: %s" % (prog[0], c["status"], tail)


# ---- parsers, one per script; each returns a list of (area, row) ----

def parse_cmp(text, provider, peer_tool):
    """compare-lib.sh's output (compare-ucx.sh, compare-rdma.sh)."""
    trials = {}  # (test, size) -> {"peer": name, "sk": {t: v}, "pv": {t: v}}
    for m in re.finditer(r"^\s+trial (\d+): (\S+)\s+(\d+)\s+skiff (\S+)\s+"
                         r"(\S+) (\S+)\s*$", text, re.M):
        t, test, size = int(m.group(1)), m.group(2), int(m.group(3))
        d = trials.setdefault((test, size), {"peer": m.group(5), "sk": {},
                                             "pv": {}})
        d["sk"][t], d["pv"][t] = num(m.group(4)), num(m.group(6))
    targets = {}
    for m in re.finditer(r"^(\S+)\s+(\d+)\s.*?((?:<=|>=)[0-9.]+|n/a)\s+(\S.*)$",
                         text, re.M):
        targets[(m.group(1), int(m.group(2)))] = target_of(m.group(3))
    rows = []
    for (test, size), d in trials.items():
        bw = test.endswith("_bw")
        unit, better = ("MB/s", "higher") if bw else ("us", "lower")
        tool = {"write_lat": "sk_write_lat", "read_lat": "sk_read_lat",
                "atomic_lat": "sk_atomic_lat FETCH_AND_ADD",
                "fadd_lat": "sk_atomic_lat FETCH_AND_ADD",
                "cas_lat": "sk_atomic_lat CMP_AND_SWAP",
                "write_bw": "sk_write_bw"}.get(test, test)
        row = make_row("%s (%s)" % (test, provider), size, unit, better,
                       side(tool, d["sk"].values()),
                       side(peer_tool(d["peer"]), d["pv"].values()),
                       ratio_pairs(d["sk"], d["pv"]),
                       targets.get((test, size)))
        rows.append(("driver", row))
    return rows


def parse_ucx(ctx, text):
    return parse_cmp(text, "ucx", lambda p: "ucp_get_lat" if p ==
                     "ucp_get_lat" else "ucx_perftest -t " + p)


def parse_rpc(ctx, text):
    sk, mpi, am, tput = {}, {}, {}, {}
    for m in re.finditer(r"trial (\d+):\s+(\d+) B\s+rpc\s+(\S+)\s+mpi\s+(\S+)"
                         r"\s+ucx_am\s+(\S+)", text):
        t, s = int(m.group(1)), int(m.group(2))
        sk.setdefault(s, {})[t] = num(m.group(3))
        mpi.setdefault(s, {})[t] = num(m.group(4))
        am.setdefault(s, {})[t] = num(m.group(5))
    for m in re.finditer(r"trial (\d+): rpc_tput (\d+) B calls/s: (.*)", text):
        for d, v in re.findall(r"(\d+):(\S+)", m.group(3)):
            tput.setdefault(int(d), {})[int(m.group(1))] = num(v)
    # ucp_am_bw's one-way message rate, run beside rpc_tput in each trial
    # (compare-rpc.sh's runs before it had none: their rows say no peer).
    am_bw, am_ran = {}, False
    for m in re.finditer(r"trial (\d+): ucp_am_bw (\d+) B msgs/s: (\S+)", text):
        am_ran = True
        am_bw[int(m.group(1))] = num(m.group(3))
    tput_tg = {}
    for m in re.finditer(r"^rpc/am_bw\s+(\d+)\s+\d+\s+\S+\s+ucp_am_bw\s+\S+\s+\S+"
                         r"\s+(>=[0-9.]+|-)\s", text, re.M):
        tput_tg[int(m.group(1))] = target_of(m.group(2))
    targets = {}
    for m in re.finditer(r"^rpc/(mpi|ucx)\s+(\d+)\s.*?((?:<=|>=)[0-9.]+)",
                         text, re.M):
        targets[(m.group(1), int(m.group(2)))] = target_of(m.group(3))
    rows = []
    for s in sorted(sk):
        rs = side("rpc_lat (call round trip)", sk[s].values())
        rows.append(("rpc", make_row(
            "rpc call vs MPI ping-pong (full RTT)", s, "us", "lower", rs,
            side("mpirun -n 2 mpi_pingpong", mpi[s].values()),
            ratio_pairs(sk[s], mpi[s]), targets.get(("mpi", s), ("<=", 1.0)),
            note="MPI at 4096 B is off vader's eager path (perf/README.md)"
            if s >= 4096 else None)))
        rows.append(("rpc", make_row(
            "rpc call vs UCP AM ping-pong (full RTT)", s, "us", "lower", rs,
            side("ucx_perftest -t ucp_am_lat (x2)", am[s].values()),
            ratio_pairs(sk[s], am[s]), targets.get(("ucx", s), ("<=", 1.2)))))
    am = side("ucx_perftest -t ucp_am_bw -s 32 (one way)", am_bw.values(),
              unit="msgs/s")
    for d in sorted(tput):
        if not am_ran:
            rows.append(("rpc", make_row(
                "rpc_tput calls/s, %d outstanding" % d, 32, "calls/s", "higher",
                side("rpc_tput -t %d" % d, tput[d].values()), None,
                reason="no peer: this compare-rpc.sh ran no reference for call rate")))
            continue
        # An rpc call is two messages (request and response): >= 0.5 of
        # the one-way AM message rate when pipelined; 1 outstanding is
        # round-trip bound, shown without a target.
        tgt = tput_tg[d] if d in tput_tg else (None if d == 1 else (">=", 0.5))
        rows.append(("rpc", make_row(
            "rpc_tput calls/s, %d outstanding" % d, 32, "calls/s", "higher",
            side("rpc_tput -t %d" % d, tput[d].values()), am,
            ratio_pairs(tput[d], am_bw), tgt,
            reason=None if am else "ucx_perftest -t ucp_am_bw gave no figure in "
            "any trial (see compare-rpc.sh's output)",
            note="peer in one-way AM messages/s: a call is 2 messages"
            + ("; 1 outstanding is round-trip bound (1/RTT): no target"
               if d == 1 else ""))))
    return rows


def parse_kvlat(ctx, text, provider="ucx"):
    kv, rd = {}, {}
    for m in re.finditer(r"trial (\d+): kv GET p50 (\S+) us .*?sk_read_lat "
                         r"(\S+) us", text):
        kv[int(m.group(1))], rd[int(m.group(1))] = num(m.group(2)), num(m.group(3))
    if not kv:
        return []
    m = re.search(r"^GET vs READ.*?(\d+)\s+\S+ us\s+\S+ us\s+\S+\s+(<=[0-9.]+)",
                  text, re.M)
    size = int(m.group(1)) if m else None
    tgt = target_of(m.group(2)) if m else ("<=", 2.2)
    return [("kv", make_row("GET p50 vs one READ p50 (%s)" % provider, size,
                            "us", "lower",
                            side("kvbench --mix C --remote (GET p50)", kv.values()),
                            side("sk_read_lat --alloc (t_typical)", rd.values()),
                            ratio_pairs(kv, rd), tgt))]


def parse_kvmc(ctx, text):
    mc, kv40, kv16 = {}, {}, {}
    for m in re.finditer(r"trial (\d+): memcached\+memcslap (\S+) GET/s; kv "
                         r"\(40 B/2525 B\) (\S+) GET/s; kv \(16 B/32 B\) (\S+)",
                         text):
        t = int(m.group(1))
        mc[t], kv40[t], kv16[t] = num(m.group(2)), num(m.group(3)), num(m.group(4))
    rows = []
    if mc:
        m = re.search(r"^GET/s, memcslap's sizes.*?(>=[0-9.]+)", text, re.M)
        mcs = side("memcached -t 2 + memcslap --test=get", mc.values())
        rows.append(("kv", make_row(
            "GET/s, 2 client cores, memcslap's sizes (40/2525 B)", 2525,
            "GET/s", "higher", side("skrun kvbench --mix C --remote", kv40.values()),
            mcs, ratio_pairs(kv40, mc), target_of(m.group(1)) if m else (">=", 3.0))))
        rows.append(("kv", make_row(
            "GET/s, kv at 16/32 B vs memcached at 40/2525 B", 32, "GET/s",
            "higher", side("skrun kvbench --mix C --remote", kv16.values()),
            mcs, ratio_pairs(kv16, mc),
            note="not like for like: memcslap has no size options")))
    m = re.search(r"^bytes/item beyond key and value\s+(\S+)\s+(\S+)\s+(\S+)\s+"
                  r"(\S+)", text, re.M)
    if m:
        k, c = num(m.group(1)), num(m.group(2))
        rows.append(("kv", make_row(
            "bytes per item beyond key and value (16/32 B items)", 32, "B",
            "lower", side("kv_mem", [k]), side("memcached 1.6 stats slabs", [c]),
            [k / c] if k is not None and c else [], target_of(m.group(4)) or ("<=", 1.0),
            note="one measurement, no spread")))
    return rows


def parse_kvir(ctx, text):
    mc = None
    m = re.search(r"^memcached Ir per GET \(for scale\)\s+(\S+)", text, re.M)
    if m:
        mc = num(m.group(1))
    # --trials N prints a line per trial; the judged lines are the medians
    trials = {0: [], 1: [], 2: []}
    for m in re.finditer(r"^\s+trial \d+: one-sided GET (\S+), SET (\S+), rpc GET (\S+) Ir",
                         text, re.M):
        for i in range(3):
            trials[i].append(num(m.group(i + 1)))
    rows = []
    for i, (label, pat) in enumerate((
            ("owner Ir per one-sided GET", r"owner Ir per one-sided GET"),
            ("kv's own Ir per SET", r"kv's own Ir per SET \(handlers: set - null\)"),
            ("kv's own Ir per rpc GET", r"kv's own Ir per rpc GET \(get - null\)"))):
        m = re.search("^" + pat + r"\s+(\S+)\s+(<=[0-9.]+)", text, re.M)
        if not m:
            continue
        vs = [v for v in trials[i] if v is not None] or [num(m.group(1))]
        pr = side("memcached Ir per GET (callgrind)", [mc]) if mc is not None else None
        rows.append(("kv", make_row(
            label, None, "Ir", "lower", side("owner-ir.sh (callgrind)", vs), pr,
            [v / mc for v in vs if v is not None] if mc else [],
            target_of(m.group(2)), on="skiff",
            note="target on Skiff's own count; %s" % (
                "%d trials" % len(vs) if len(vs) > 1 else "one measurement"),
            reason=None if pr else "memcached's row missing from owner-ir.sh")))
    return rows


def parse_skcached(ctx, text):
    ports, cur, runs = {}, None, {}
    for ln in text.splitlines():
        m = re.match(r"^\+ (\S+) .*-p (\d+) ", ln)
        if m and "mcload" not in m.group(1):
            ports[m.group(2)] = "memcached" if "memcached" in m.group(1) else "skiff"
            continue
        m = re.match(r"^\+ .*mcload -s [^:]+:(\d+) ", ln)
        if m:
            cur = ports.get(m.group(1))
            continue
        if ln.startswith("mcload: ") and cur:
            f = dict(re.findall(r"(\w+)=(\S+)", ln))
            key = (int(f.get("conns", 0)), int(f.get("get_pct", 0)),
                   int(f.get("value", 0)))
            runs.setdefault(key, {"skiff": [], "memcached": []})[cur].append(f)
            cur = None
    rows = []
    metrics = (("ops/s", "ops_s", "higher", (">=", 1.0)),
               ("p99 latency", "p99_us", "lower", ("<=", 1.5)),
               ("server CPU per op", "server_cpu_us_per_op", "lower", ("<=", 1.0)))
    for (c, g, v) in sorted(runs, key=lambda k: (k[0], -k[1], k[2])):
        d = runs[(c, g, v)]
        mix = "GET" if g == 100 else "%d/%d GET/SET" % (g, 100 - g)
        for label, k, better, tgt in metrics:
            sv = {i: num(f.get(k)) for i, f in enumerate(d["skiff"])}
            mv = {i: num(f.get(k)) for i, f in enumerate(d["memcached"])}
            unit = {"ops_s": "ops/s", "p99_us": "us"}.get(k, "CPU us/op")
            rows.append(("gateway", make_row(
                "%s, %d conn, %s" % (label, c, mix), v, unit, better,
                side("skcached -n 4 (mcload)", sv.values()),
                side("memcached -t 4 (mcload)", mv.values()),
                ratio_pairs(sv, mv), tgt)))
    return rows


def parse_boot(ctx, text):
    sk, mp = {}, {}
    for m in re.finditer(r"trial (\d+): N=(\d+)\s+skrun\s+(\S+) ms\s+mpirun\s+"
                         r"(\S+) ms", text):
        t, n = int(m.group(1)), int(m.group(2))
        sk.setdefault(n, {})[t], mp.setdefault(n, {})[t] = num(m.group(3)), num(m.group(4))
    rows = []
    tg = {}
    for m in re.finditer(r"^\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(<=[0-9.]+)\s", text, re.M):
        tg[int(m.group(1))] = target_of(m.group(2))
    for n in sorted(sk):
        rows.append(("launch", make_row(
            "job wall time, %d node%s" % (n, "s" if n > 1 else ""), n, "ms",
            "lower", side("skrun -n N sk_hello", sk[n].values()),
            side("mpirun -n N mpi_hello", mp[n].values()),
            ratio_pairs(sk[n], mp[n]), tg.get(n, ("<=", 0.30)))))
    for m in re.finditer(r"^\s*(\d+) \| ([0-9.]+) \[([0-9.]+)\] \S+\s+\S+ \S+\s+"
                         r"([0-9.]+)\s+(-?[0-9.]+) \| \S+ \[\S+\] \S+\s+\S+ \S+\s+"
                         r"([0-9.]+)\s+(-?[0-9.]+) \|\s+(<=[0-9.]+)", text, re.M):
        n = int(m.group(1))
        kj, mj = num(m.group(4)), num(m.group(6))
        # What compare-boot.sh says after the result, e.g. "(skrun: memory
        # run: UCX errors in the output)", goes into the note.
        end = text.find("\n", m.end())
        said = re.search(r"\((.*)\)\s*$", text[m.end():end if end >= 0 else None])
        rows.append(("launch", make_row(
            "idle job PSS, %d node%s" % (n, "s" if n > 1 else ""), n, "MiB",
            "lower", side("skrun job (skrun + nodes)", [kj]),
            side("mpirun job (mpirun + ranks)", [mj]),
            [kj / mj] if kj is not None and mj else [],
            note="one run; target: every node's PSS <= 8 MiB, here max %s; "
            "shared memory grown while idle %s MiB (skrun job) and %s (mpirun "
            "job)%s" % (m.group(3), m.group(5), m.group(7),
                        "; compare-boot.sh: " + said.group(1) if said else ""))))
        rows[-1][1]["target"] = {"on": "node PSS max", "op": "<=",
                                 "limit": target_of(m.group(8))[1]}
        rows[-1][1]["result"] = judge("<=", target_of(m.group(8))[1], num(m.group(3)))
    return rows


def parse_slurm(ctx, text):
    """compare-slurm.sh: per allocation (sbatch, then salloc), its table
    of medians and targets, then its per-trial lines ("trial T: N=n skrun
    X ms mpirun Y ms srun Z ms"), from which the rows take their spreads;
    an older output without them gives medians only."""
    rows, alloc, tab, per = [], None, {}, {}
    for ln in text.splitlines():
        if ln.startswith("sbatch"):
            alloc = "sbatch"
        elif ln.startswith("salloc"):
            alloc = "salloc"
        if alloc is None:
            continue
        m = re.match(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+"
                     r"(PASS|MISS)\s*$", ln)
        if m:
            tab[(alloc, int(m.group(1)))] = [num(m.group(k)) for k in range(2, 7)]
        m = re.match(r"^\s*trial (\d+): N=(\d+) skrun (\S+) ms mpirun (\S+) ms "
                     r"srun (\S+) ms\s*$", ln)
        if m:
            d = per.setdefault((alloc, int(m.group(2))), ({}, {}, {}))
            for k in range(3):
                d[k][int(m.group(1))] = num(m.group(3 + k))
    for (alloc, n), (s, mp, sr, r1, r2) in tab.items():
        d = per.get((alloc, n))
        for i, (peer, pv, r, tgt) in enumerate(
                (("mpirun -n N mpi_hello", mp, r1, 0.5),
                 ("srun --mpi=pmix -n N mpi_hello", sr, r2, 1.5))):
            name = "in Slurm (%s), %d node%s, vs %s" % (
                alloc, n, "s" if n > 1 else "", peer.split()[0])
            if d:
                rows.append(("launch", make_row(
                    name, n, "ms", "lower",
                    side("skrun -n N sk_hello", d[0].values()),
                    side(peer, d[1 + i].values()),
                    ratio_pairs(d[0], d[1 + i]), ("<=", tgt))))
            else:
                rows.append(("launch", make_row(
                    name, n, "ms", "lower", side("skrun -n N sk_hello", [s]),
                    side(peer, [pv]), [r], ("<=", tgt), spread=False,
                    note="compare-slurm.sh prints medians only: no spread")))
    return rows


def parse_osio(ctx, text):
    rows, vals = [], {}
    for m in re.finditer(r"trial (\d+): console (\S+)\s+(\d+) MiB\s+skrun\s+(\S+)"
                         r"\s+alone\|cat\s+(\S+)\s+-oL\s+(\S+)\s+cat\s+(\S+)", text):
        t, v = int(m.group(1)), m.group(2)
        for ref, g in (("alone | cat", 5), ("stdbuf -oL alone | cat", 6),
                       ("cat file", 7)):
            d = vals.setdefault(("console " + v, int(m.group(3)), ref), ({}, {}))
            d[0][t], d[1][t] = num(m.group(4)), num(m.group(g))
    for m in re.finditer(r"trial (\d+): file\s+(\d+) MiB\s+sk_write\s+(\S+)\s+dd"
                         r"\s+(\S+)\s+sk_read\s+(\S+)\s+dd\s+(\S+)", text):
        t, mib = int(m.group(1)), int(m.group(2))
        for test, a, b in (("file write", 3, 4), ("file read", 5, 6)):
            d = vals.setdefault((test, mib, "dd"), ({}, {}))
            d[0][t], d[1][t] = num(m.group(a)), num(m.group(b))
    for (test, mib, ref), (a, b) in vals.items():
        sk = "skrun -n 1 sk_console_bw" if test.startswith("console") else "skrun -n 1 sk_file_bw"
        rows.append(("os", make_row("%s, %d MiB" % (test, mib), mib, "MB/s",
                                    "higher", side(sk, a.values()),
                                    side(ref, b.values()), ratio_pairs(a, b))))
    return rows


def parse_fileio(ctx, text):
    """compare-file-io.sh: one node's file bandwidth against the fastest
    of dd, fio psync and fio io_uring in each trial (target >= 0.9)."""
    per = {}
    for m in re.finditer(r"trial (\d+): bs (\d+) ([wr]) skiff (\S+) dd (\S+)"
                         r" fio-psync (\S+) fio-io_uring (\S+) MB/s", text):
        t, bs, op = int(m.group(1)), int(m.group(2)), m.group(3)
        peers = [v for v in (num(m.group(g)) for g in (5, 6, 7)) if v]
        d = per.setdefault((bs, op), ({}, {}))
        d[0][t] = num(m.group(4))
        d[1][t] = max(peers) if peers else None
    m = re.search(r"compare-file-io.sh: (\d+) MiB sequential", text)
    mib = int(m.group(1)) if m else 0
    rows = []
    for (bs, op), (a, b) in sorted(per.items(), key=lambda kv: (-kv[0][0], kv[0][1] == "r")):
        what = "write" if op == "w" else "read"
        rows.append(("os", make_row(
            "file %s, one node, %d KiB requests" % (what, bs // 1024), bs // 1024,
            "MB/s", "higher", side("skrun -n 1 sk_file_bw -k -c %d" % bs, a.values()),
            side("fastest of dd, fio psync, fio io_uring", b.values()),
            ratio_pairs(a, b), (">=", 0.9),
            note="%d MiB over one file (compare-file-io.sh)" % mib)))
    return rows


def parse_mpiio(ctx, text):
    """compare-mpiio.sh: N nodes' slices of one shared file against the
    faster of Open MPI's OMPIO and ROMIO in each trial (target >= 1.0)."""
    m = re.search(r"compare-mpiio.sh: (\d+) MiB shared file, (\d+) KiB", text)
    if not m:
        return []
    mib, kib = int(m.group(1)), int(m.group(2))
    per = {}
    for m in re.finditer(r"trial (\d+): ranks (\d+) ([wr]) skiff (\S+) skiff-mem (\S+)"
                         r" ompio (\S+) romio321 (\S+) s", text):
        t, n, op = int(m.group(1)), int(m.group(2)), m.group(3)
        rate = lambda g: (mib / num(m.group(g))) if num(m.group(g)) else None
        peers = [v for v in (rate(6), rate(7)) if v]
        d = per.setdefault((n, op), ({}, {}, {}))
        d[0][t] = rate(4)
        d[1][t] = rate(5)
        d[2][t] = max(peers) if peers else None
    rows = []
    for (n, op), (a, am, b) in sorted(per.items(),
                                      key=lambda kv: (kv[0][0], kv[0][1] == "r")):
        what = "write" if op == "w" else "read"
        for mine, how, cmd in ((a, "", "skrun -n N sk_file_shared"),
                               (am, ", file memory", "skrun -n N sk_file_shared -a")):
            rows.append(("os", make_row(
                "shared file %s, %d rank%s%s" % (what, n, "s" if n > 1 else "", how),
                n, "MB/s", "higher", side(cmd, mine.values()),
                side("faster of OMPIO, ROMIO (MPI_File_%s_at_all)" % what, b.values()),
                ratio_pairs(mine, b), (">=", 1.0),
                note="%d MiB, %d KiB requests (compare-mpiio.sh)%s" % (
                    mib, kib, "; buffer from sk_file_alloc" if how else ""))))
    return rows


def parse_ckpt(ctx, text):
    """compare-console-ckpt.sh: a node's console latency while 16 others
    checkpoint, against the same job idle (target p50 <= 2.0x)."""
    per = {}
    for m in re.finditer(r"trial (\d+): (ckpt|idle) p50 (\S+) p99 (\S+) us", text):
        t, kind = int(m.group(1)), m.group(2)
        for q, g in (("p50", 3), ("p99", 4)):
            d = per.setdefault(q, ({}, {}))
            d[0 if kind == "ckpt" else 1][t] = num(m.group(g))
    w = re.search(r"1 console node beside (\d+) checkpointing", text)
    writers = int(w.group(1)) if w else 0
    rows = []
    for q in ("p50", "p99"):
        if q not in per:
            continue
        a, b = per[q]
        rows.append(("os", make_row(
            "console line %s during a %d-node checkpoint" % (q, writers), writers,
            "us", "lower", side("the checkpoint running", a.values()),
            side("the same job idle", b.values()), ratio_pairs(a, b),
            ("<=", 2.0) if q == "p50" else None,
            note="printf to skrun's stdout (compare-console-ckpt.sh)")))
    return rows


def parse_guest(ctx, text):
    parts = re.split(r"^=== bench-guest: (\S+).*$", text, flags=re.M)
    got = dict(zip(parts[1::2], parts[2::2]))
    rows = parse_cmp(got.get("rdma", ""), "rdma, Soft-RoCE guest",
                     lambda p: p)
    kv = parse_kvlat(ctx, got.get("kvlat", ""), "rdma, Soft-RoCE guest")
    rows += kv
    # kv's GET beside perftest's READ of the same boot (8 B, the nearest
    # size perftest ran): medians, not per-trial pairs.
    ib = [r for a, r in rows if r["test"].startswith("read_lat") and r["size"] == 8]
    if kv and ib and ib[0]["peer"] and kv[0][1]["skiff"]:
        k, p = kv[0][1]["skiff"], ib[0]["peer"]
        rows.append(("kv", make_row(
            "GET p50 vs ib_read_lat 8 B (rdma, Soft-RoCE guest)", 8, "us",
            "lower", k, p, [k["median"] / p["median"]], ("<=", 2.2),
            spread=False, note="same boot, different scripts: ratio of medians")))
    rows += parse_rpc_guest(got.get("rpc", ""))
    for area, r in parse_kvmc(ctx, got.get("kvmc", "")):
        r["test"] += " (rdma, Soft-RoCE guest)"
        rows.append((area, r))
    rows += parse_connect(got.get("connect", ""))
    if not ctx["logs"].get("guest") or not rows:
        return []
    return rows


def parse_rpc_guest(text):
    """rpc-guest.sh's trials: rpc_lat on rdma against ib_send_lat (x2) and
    Open MPI over UCX on rxe0, full round trips, one guest."""
    sk, ib, mpi = {}, {}, {}
    for m in re.finditer(r"^trial (\d+) size (\d+): rpc (\S+) ib_send_x2 (\S+)"
                         r" mpi (\S+)$", text, re.M):
        t, sz = int(m.group(1)), int(m.group(2))
        sk.setdefault(sz, {})[t] = num(m.group(3))
        ib.setdefault(sz, {})[t] = num(m.group(4))
        mpi.setdefault(sz, {})[t] = num(m.group(5))
    rows = []
    for sz in sorted(sk):
        rs = side("rpc_lat (rdma, call round trip)", sk[sz].values())
        rows.append(("rpc", make_row(
            "rpc call vs ib_send_lat x 2 (rdma, Soft-RoCE guest)", sz, "us",
            "lower", rs, side("ib_send_lat -d rxe0 (x2)", ib[sz].values()),
            ratio_pairs(sk[sz], ib[sz]), note="TCG guest: read the ratio")))
        rows.append(("rpc", make_row(
            "rpc call vs Open MPI/UCX ping-pong (rdma, Soft-RoCE guest)", sz,
            "us", "lower", rs,
            side("mpirun -n 2 mpi_pingpong, pml ucx on rxe0", mpi[sz].values()),
            ratio_pairs(sk[sz], mpi[sz]), note="TCG guest: read the ratio")))
    return rows


CONNECT_ROWS = [  # (key, test, unit, better)
    ("rate", "connection setup, 2 processes (sk_conn_rate)", "conn/s", "higher"),
    ("one", "connect through the host, one at a time (sk_connect -n 8)", "us", "lower"),
    ("all", "connect all pairs at once (sk_connect -n 8)", "conn/s", "higher"),
    ("boot", "64-node job, start to exit (skrun sk_hello)", "s", "lower"),
]


def parse_connect(text):
    """compare-connect.sh's trials: the connection manager (Skiff's side)
    against the blob path (the peer: ibv_rc_pingpong's way)."""
    vals = {k: ([], []) for k, _, _, _ in CONNECT_ROWS}
    for line in re.findall(r"^trial \d+: (.*)$", text, re.M):
        for part in line.split(";"):
            f = part.split()
            if len(f) == 3 and f[0] in vals:
                vals[f[0]][0].append(num(f[1]))
                vals[f[0]][1].append(num(f[2]))
    rows = []
    for k, test, unit, better in CONNECT_ROWS:
        blob, cm = vals[k]
        if not blob:
            continue
        ratios = [c / b for b, c in zip(blob, cm) if b and c]
        rows.append(("driver", make_row(
            test + " (rdma, Soft-RoCE guest)", None, unit, better,
            side("SKIFF_RDMA_CONNECT=cm", cm), side("SKIFF_RDMA_CONNECT=blob", blob),
            ratios, note="the two connection paths; no target (verbs/README.md)")))
    return rows


# two-hosts.sh's per-trial keys: (Skiff's key, peer's key) per table line.
WIRE_KEYS = {("sk_write_lat", "ib_write_lat"): ("skw", "ibw"),
             ("sk_read_lat", "ib_read_lat"): ("skr", "ibr"),
             ("rpc_lat", "ib_send_lat x 2"): ("rpc", "ibs"),
             ("rpc_lat", "Open MPI/UCX ping-pong RTT"): ("rpc", "mpi")}


def parse_wire(ctx, text):
    """two-hosts.sh's benchmark: from its per-trial lines ("wire trial T:
    skw X ibw Y ...") when it printed them, else (older runs) from its
    table of medians, without a spread."""
    trials = {}
    for m in re.finditer(r"^wire trial (\d+):(.*)$", text, re.M):
        f = m.group(2).split()
        trials[int(m.group(1))] = {f[i]: num(f[i + 1]) for i in range(0, len(f) - 1, 2)}
    rows = []
    for m in re.finditer(r"^\s+(sk_write_lat|sk_read_lat|rpc_lat)\s+\(([^)]*)\)"
                         r"\s+(\S+)\s+(.+?)\s+(\S+)\s+(\S+)\s*$", text, re.M):
        keys = WIRE_KEYS.get((m.group(1), m.group(4)))
        test = "%s (%s) vs %s" % (m.group(1), m.group(2), m.group(4))
        if trials and keys:
            sk = {t: v.get(keys[0]) for t, v in trials.items()}
            pe = {t: v.get(keys[1]) for t, v in trials.items()}
            rows.append(("wire", make_row(
                test, 8, "us", "lower", side(m.group(1), sk.values()),
                side(m.group(4), pe.values()), ratio_pairs(sk, pe),
                note="two TCG guests: read the ratio")))
            continue
        sv, pv = num(m.group(3)), num(m.group(5))
        rows.append(("wire", make_row(
            test, 8, "us", "lower", side(m.group(1), [sv]), side(m.group(4), [pv]),
            [num(m.group(6))], spread=False,
            note="two TCG guests; this two-hosts.sh printed medians only")))
    return rows


# (log name, area its rows fall in when missing, parser, what is missing)
SOURCES = [
    ("ucx", "driver", parse_ucx, "driver vs UCX (compare-ucx.sh)"),
    ("guest", "driver", parse_guest, "driver vs perftest on rxe (compare-rdma.sh in the guest)"),
    ("rpc", "rpc", parse_rpc, "rpc vs Open MPI and UCP AM (compare-rpc.sh)"),
    ("kvlat", "kv", parse_kvlat, "kv GET vs READ (vs-read-lat.sh)"),
    ("kvmc", "kv", parse_kvmc, "kv vs memcached (vs-memcached.sh)"),
    ("kvir", "kv", parse_kvir, "kv owner instructions (owner-ir.sh)"),
    ("skcached", "gateway", parse_skcached, "skcached vs memcached"),
    ("boot", "launch", parse_boot, "skrun vs mpirun (compare-boot.sh)"),
    ("slurm", "launch", parse_slurm, "skrun vs mpirun and srun in Slurm"),
    ("osio", "os", parse_osio, "console and files (compare-os-io.sh)"),
    ("fileio", "os", parse_fileio, "one node's files vs dd and fio (compare-file-io.sh)"),
    ("mpiio", "os", parse_mpiio, "shared file vs MPI-IO (compare-mpiio.sh)"),
    ("ckpt", "os", parse_ckpt, "console latency during a checkpoint (compare-console-ckpt.sh)"),
    ("wire", "wire", parse_wire, "two-host wire (two-hosts.sh)"),
]


def build(ctx):
    areas = {k: {"title": t, "rows": []} for k, t in AREAS}
    for name, area, parser, what in SOURCES:
        text = ctx["logs"].get(name, "")
        try:
            rows = parser(ctx, text) if text else []
        except (ValueError, KeyError, IndexError, ZeroDivisionError) as e:
            rows = []
            ctx["errors"].append("%s: output not understood: %s" % (name, e))
        for a, r in rows:
            r["id"] = "%s/%s/%s" % (a, r["test"], r["size"])
            r["source"] = name
            areas[a]["rows"].append(r)
        if not rows:
            areas[area]["rows"].append({
                "id": "%s/%s/-" % (area, what), "test": what, "size": None,
                "unit": None, "better": None, "skiff": None, "peer": None,
                "ratio": None, "target": None, "result": "not run",
                "reason": failed(ctx, name), "source": name})
    return areas


# ---- the machine ----

def sh(cmd):
    try:
        p = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                           timeout=20)
        out = (p.stdout or p.stderr).strip().splitlines()
        return out[0].strip() if out and p.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def machine(guest):
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    v = {}
    for k, cmd in (("ucx", "ucx_info -v | sed -n 's/^# Version //p'"),
                   ("openmpi", "mpirun --version | head -1"),
                   ("memcached", "memcached -V"),
                   ("libmemcached-tools", "dpkg-query -W -f='${Version}' libmemcached-tools"),
                   ("perftest", "dpkg-query -W -f='${Version}' perftest"),
                   ("valgrind", "valgrind --version"),
                   ("slurm", "dpkg-query -W -f='${Version}' slurmctld"),
                   ("qemu", "qemu-system-x86_64 --version | head -1"),
                   ("gnuplot", "gnuplot --version"),
                   ("gcc", "gcc --version | head -1"),
                   ("skiff", "git describe --always --dirty 2>/dev/null")):
        v[k] = sh(cmd) or "not installed"
    # A tree from `git archive` has no .git: its revision comes from the
    # environment (SKIFF_BENCH_REV), else it is said to be unknown.
    if v["skiff"] == "not installed":
        v["skiff"] = os.environ.get("SKIFF_BENCH_REV") or "unknown (not a git checkout)"
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    prov = "ucx (UCX %s over shared memory, device ucp) on the host" % v["ucx"]
    if guest:
        prov += "; rdma on rxe0 (Soft-RoCE) in QEMU TCG guests"
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "os": sh(". /etc/os-release && echo $PRETTY_NAME"),
            "load_at_report": load, "provider": prov,
            "device": "ucp (SKIFF_PROVIDER=ucx)" + ("; rxe0, GID index 1" if guest else ""),
            "versions": v}


# ---- output ----

def fmt(x):
    if x is None:
        return "-"
    a = abs(x)
    if a >= 1000:
        return "{:,.0f}".format(x)
    if a >= 100:
        return "%.1f" % x
    if a >= 1:
        return "%.2f" % x
    return "%.3f" % x


def cell(s, unit):
    if not s:
        return ""
    t = "%s %s" % (fmt(s["median"]), s.get("unit") or unit or "")
    if "min" in s:
        t += " (%s-%s)" % (fmt(s["min"]), fmt(s["max"]))
    return t.strip()


def target_text(t):
    if not t:
        return "-"
    on = {"ratio": "", "skiff": "Skiff "}.get(t["on"], t["on"] + " ")
    return "%s%s %s" % (on, t["op"], fmt(t["limit"]))


def esc(t):
    return t.replace("|", "\\|")


def row_cells(r):
    """Skiff, peer, ratio, target, result cells of a table row; a side
    with no figure says so, the reason being in the notes."""
    sk = cell(r["skiff"], r["unit"]) or "not run: see notes"
    pe = cell(r["peer"], r["unit"]) or "not run: see notes"
    if r["skiff"] and r["peer"] is None:
        pe = "none: see notes"
    ra = r["ratio"]
    rt = "-" if not ra else fmt(ra["median"]) + (
        " (%s-%s)" % (fmt(ra["min"]), fmt(ra["max"])) if "min" in ra else "")
    return (sk, pe, rt, target_text(r["target"]), r["result"])


HEADLINE = {"driver": r"^write_lat \(ucx\)", "rpc": r"^rpc call vs MPI",
            "kv": r"^GET/s, 2 client", "gateway": r"^ops/s, 16 conn, GET$",
            "launch": r"^job wall time", "os": r"^file write",
            "wire": r"^rpc_lat .* ib_send_lat"}


def headline(area, rows):
    pick = [r for r in rows if re.search(HEADLINE.get(area, "^$"), r["test"])
            and r["skiff"] and r["peer"]]
    if area == "launch" and pick:  # the largest job
        return max(pick, key=lambda r: r["size"] or 0)
    judged = [r for r in rows if r["result"] in ("met", "missed")]
    return (pick or judged or rows)[0]


def markdown(rep, plots):
    m = rep["machine"]
    L = ["# Skiff benchmarks, %s on %s" % (rep["date"], rep["host"]), "",
         "`%s` (%s run, %d trials per pair, %s s). Each cell: the median "
         "and, in brackets, min-max over the trials; ratio = Skiff / peer, "
         "the median of per-trial ratios (both sides run back to back in "
         "each trial). Compare figures only within one run: the host is a "
         "shared 2-core machine." % (rep["command"], rep["mode"],
                                     rep["trials"], rep["seconds"]), ""]
    L += ["## Headline", "",
          "One row per area (its first judged figure); the last column counts "
          "the area's rows by result.", "",
          "| area | figure | size | Skiff | peer | ratio | target | result "
          "| met / missed / no target / not run |", "|---|---|---|---|---|---|---|---|---|"]
    for k, a in rep["areas"].items():
        rs = a["rows"]
        c = [sum(1 for r in rs if r["result"] == x)
             for x in ("met", "missed", "no target", "not run")]
        h = headline(k, rs)
        L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            (k, esc(h["test"] + (" (%s)" % h["reason"] if h.get("reason") else "")),
             "-" if h["size"] is None else h["size"])
            + row_cells(h)[:5] + (" / ".join(map(str, c)),)))
    L.append("")
    for k, a in rep["areas"].items():
        L += ["## %s" % a["title"], "",
              "| test | size | Skiff | peer | ratio | target | result | notes |",
              "|---|---|---|---|---|---|---|---|"]
        for r in a["rows"]:
            notes = "; ".join(x for x in (r.get("reason"), r.get("note"), " / ".join(
                x["name"] for x in (r["skiff"], r["peer"]) if x)) if x)
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                (esc(r["test"]), "-" if r["size"] is None else r["size"])
                + row_cells(r)[:5] + (esc(notes),)))
        L.append("")
    if plots:
        L += ["## Plots", ""] + ["![%s](%s)" % (t, os.path.basename(p))
                                 for p, t in plots] + [""]
    L += ["## Machine", "",
          "- CPU: %s, %s cores; kernel %s; %s" % (m["cpu"], m["cores"],
                                                   m["kernel"], m["os"]),
          "- provider: %s; device: %s" % (m["provider"], m["device"]),
          "- load average when the report was written: %s" % m["load_at_report"]]
    L += ["- %s: %s" % (k, v) for k, v in m["versions"].items()]
    L += ["", "## Commands run", "", "| script | exit | seconds | command |",
          "|---|---|---|---|"]
    for c in rep["commands"]:
        L.append("| %s | %s | %s | `%s` |" % (c["name"], c["status"], c["seconds"],
                                              c["command"].replace("|", "\\|")))
    if rep["errors"]:
        L += ["", "## Parse errors", ""] + ["- " + e for e in rep["errors"]]
    return "\n".join(L) + "\n"


def plots(rep, out, base):
    """gnuplot PNGs; returns [(path, title)]. No gnuplot: no plots, said."""
    gp = shutil.which("gnuplot")
    if not gp:
        rep["errors"].append("gnuplot not installed: no plots (mk/deps.sh)")
        return []
    rows = [r for a in rep["areas"].values() for r in a["rows"]]
    made = []
    tmp = tempfile.mkdtemp(prefix="skiff-bench-plot.")

    def data(name, pts):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            for x, y, lo, hi in sorted(pts):
                f.write("%g %g %g %g\n" % (x, y, lo, hi))
        return p

    def pts(sel, which):
        r = []
        for row in rows:
            s = row.get(which)
            if sel(row) and s and row["size"]:
                r.append((row["size"], s["median"], s.get("min", s["median"]),
                          s.get("max", s["median"])))
        return r

    def draw(fname, title, xl, yl, logx, logy, series):
        series = [(t, p) for t, p in series if p]
        if not series:
            return
        png = os.path.join(out, "%s-%s.png" % (base, fname))
        cmd = ["set terminal pngcairo size 800,640 noenhanced",
               "set output '%s'" % png, "set title '%s'" % title,
               "set xlabel '%s'" % xl, "set ylabel '%s'" % yl, "set grid",
               "set key below"]
        if logx:
            cmd.append("set logscale x 2")
        if logy:
            cmd.append("set logscale y")
        pl = ["'%s' using 1:2:3:4 with yerrorlines title '%s'" % (
            data("%s%d.dat" % (fname, i), p), t) for i, (t, p) in enumerate(series)]
        cmd.append("plot " + ", ".join(pl))
        p = subprocess.run([gp], input="\n".join(cmd) + "\n", text=True,
                           capture_output=True)
        if p.returncode == 0 and os.path.exists(png):
            made.append((png, title))
        else:
            rep["errors"].append("gnuplot failed for %s: %s" % (fname, p.stderr.strip()[:200]))

    def t(prefix):
        return lambda r: r["test"].startswith(prefix)
    draw("latency", "Latency vs message size (host: ucx; guest: rdma on rxe0; medians, min-max)",
         "message size (bytes)", "latency (us)", True, True, [
             ("rpc_lat call RTT", pts(t("rpc call vs MPI"), "skiff")),
             ("Open MPI ping-pong RTT", pts(t("rpc call vs MPI"), "peer")),
             ("ucx_perftest ucp_am_lat RTT", pts(t("rpc call vs UCP"), "peer")),
             ("sk_write_lat (half RTT)", pts(t("write_lat (ucx)"), "skiff")),
             ("ucx_perftest ucp_put_lat", pts(t("write_lat (ucx)"), "peer")),
             ("sk_read_lat", pts(t("read_lat (ucx)"), "skiff")),
             ("ucp_get_lat", pts(t("read_lat (ucx)"), "peer")),
             ("sk_write_lat rdma (guest)", pts(t("write_lat (rdma"), "skiff")),
             ("ib_write_lat (guest)", pts(t("write_lat (rdma"), "peer")),
             ("sk_read_lat rdma (guest)", pts(t("read_lat (rdma"), "skiff")),
             ("ib_read_lat (guest)", pts(t("read_lat (rdma"), "peer"))])
    conns = lambda r: r["test"].startswith("ops/s,") and " GET" in r["test"] and "/" not in r["test"].split(",")[2]
    cpts = lambda which, v: [(int(re.search(r"(\d+) conn", r["test"]).group(1)),
                              r[which]["median"], r[which].get("min", r[which]["median"]),
                              r[which].get("max", r[which]["median"]))
                             for r in rows if conns(r) and r["size"] == v and r[which]]
    tput = [(int(re.search(r"(\d+) outstanding", r["test"]).group(1)),
             r["skiff"]["median"] / 1e3, r["skiff"].get("min", r["skiff"]["median"]) / 1e3,
             r["skiff"].get("max", r["skiff"]["median"]) / 1e3)
            for r in rows if r["test"].startswith("rpc_tput") and r["skiff"]]
    am = [(int(re.search(r"(\d+) outstanding", r["test"]).group(1)),
           r["peer"]["median"] / 1e3, r["peer"].get("min", r["peer"]["median"]) / 1e3,
           r["peer"].get("max", r["peer"]["median"]) / 1e3)
          for r in rows if r["test"].startswith("rpc_tput") and r["peer"]]
    ser = [("rpc_tput k calls/s vs outstanding calls, 32 B", tput),
           ("ucx_perftest ucp_am_bw k msgs/s, 32 B one way (one run per trial)", am)]
    for v in sorted({r["size"] for r in rows if conns(r)}):
        ser += [("skcached k GET/s vs connections, %d B" % v,
                 [(a, b / 1e3, c / 1e3, d / 1e3) for a, b, c, d in cpts("skiff", v)]),
                ("memcached k GET/s vs connections, %d B" % v,
                 [(a, b / 1e3, c / 1e3, d / 1e3) for a, b, c, d in cpts("peer", v)])]
    draw("throughput", "Throughput vs outstanding calls / client connections",
         "outstanding calls (rpc) or connections (gateway)", "thousands per second",
         True, True, ser)
    boot = lambda r: r["test"].startswith("job wall time")
    draw("launch", "Launch: job wall time vs nodes (medians, min-max)",
         "nodes (N)", "ms", True, True,
         [("skrun -n N sk_hello", pts(boot, "skiff")),
          ("mpirun -n N mpi_hello", pts(boot, "peer"))])
    shutil.rmtree(tmp, ignore_errors=True)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--mode", default="full", choices=["quick", "full"])
    ap.add_argument("--trials", type=int, default=0)
    ap.add_argument("--guest", type=int, default=0)
    ap.add_argument("--seconds", type=int, default=0)
    ap.add_argument("--no-plots", action="store_true")
    a = ap.parse_args()
    ctx = {"logs": {}, "commands": {}, "errors": []}
    cmds = []
    try:
        with open(os.path.join(a.raw, "commands.tsv"), errors="replace") as f:
            for ln in f:
                p = ln.rstrip("\n").split("\t", 3)
                if len(p) != 4:
                    ctx["errors"].append("commands.tsv: bad line: %r" % ln[:80])
                    continue
                c = {"name": p[0], "status": p[1] if p[1] == "skipped" else
                     (int(p[1]) if p[1].isdigit() else p[1]),
                     "seconds": num(p[2]), "command": p[3].strip()}
                cmds.append(c)
                ctx["commands"][p[0]] = c
    except OSError as e:
        print("report.py: cannot read %s/commands.tsv: %s" % (a.raw, e), file=sys.stderr)
        return 1
    for c in cmds:
        try:
            with open(os.path.join(a.raw, c["name"] + ".log"), errors="replace") as f:
                ctx["logs"][c["name"]] = f.read()
        except OSError:
            pass
    flags = ["--quick"] if a.mode == "quick" else []
    flags += ["--guest"] if a.guest else ["--host-only"]
    rep = {"schema": SCHEMA,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "host": platform.node().split(".")[0], "mode": a.mode,
           "trials": a.trials, "guest": bool(a.guest), "seconds": a.seconds,
           "command": "perf/bench/run.sh " + " ".join(flags + ["--trials", str(a.trials)]),
           "machine": machine(a.guest), "commands": cmds, "errors": ctx["errors"]}
    rep["areas"] = build(ctx)
    try:
        os.makedirs(a.out, exist_ok=True)
        made = [] if a.no_plots else plots(rep, a.out, a.base)
        rep["plots"] = [os.path.basename(p) for p, _ in made]
        with open(os.path.join(a.out, a.base + ".json"), "w") as f:
            json.dump(rep, f, indent=1, sort_keys=False)
            f.write("\n")
        with open(os.path.join(a.out, a.base + ".md"), "w") as f:
            f.write(markdown(rep, made))
    except OSError as e:
        print("report.py: cannot write to %s: %s" % (a.out, e), file=sys.stderr)
        return 1
    for e in ctx["errors"]:
        print("report.py: " + e, file=sys.stderr)
    print("report.py: %s/%s.md, .json and %d plot(s)" % (a.out, a.base, len(made)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
