#!/usr/bin/env python3
"""callcycles.py - which object files of Skiff call which, from nm.

Reads the objects under BUILD/{verbs,libos,rpc,launcher,kv}, draws an edge A -> B
when A refers to a global symbol B defines, and checks two things:

  layers   an object refers only to its own layer and the layers below it
           (verbs < libos < rpc < kv; the launcher sits on libos, beside
           rpc; launcher/skcached sits on kv, and takes skrun's parsers of
           host lists from the launcher).
  cycles   no two objects of different concerns call into each other, even
           through others (a strongly connected component of the graph).

Calls through function pointers (callbacks, ops tables) draw no edge: that
is how a lower file tells an upper one. The C library's allocator, which
libos/fmem.c stands in front of in a node (malloc and its kin), is the C
library's to every caller: no edge. Exit 0 clean, 1 a finding, 2 usage.
"""
import os
import subprocess
import sys

LAYERS = {"verbs": 0, "libos": 1, "rpc": 2, "launcher": 2, "kv": 3}
MAY_USE = {"verbs": {"verbs"}, "libos": {"verbs", "libos"},
           "rpc": {"verbs", "libos", "rpc"},
           "launcher": {"verbs", "libos", "launcher"},
           "kv": {"verbs", "libos", "rpc", "kv"},
           "launcher/skcached": {"verbs", "libos", "rpc", "kv", "launcher",
                                 "launcher/skcached"}}


# The C library's names libos/fmem.c defines (glibc's "Replacing malloc").
LIBC = {"malloc", "free", "calloc", "realloc", "reallocarray", "memalign",
        "aligned_alloc", "posix_memalign", "valloc", "pvalloc",
        "malloc_usable_size"}


def layer_of(path):
    """The layer of a source path: its top directory, or a sub-layer."""
    for sub in ("launcher/skcached",):
        if path.startswith(sub + "/"):
            return sub
    return path.split("/")[0]


def objects(build):
    objs = []
    for layer in LAYERS:
        for root, _, files in os.walk(os.path.join(build, layer)):
            for f in files:
                o = os.path.join(root, f)
                # an object whose source is gone is a stale leftover
                if f.endswith(".o") and os.path.exists(
                        os.path.relpath(o, build)[:-2] + ".c"):
                    objs.append(o)
    return sorted(objs)


def nm(obj, *flags):
    out = subprocess.run(["nm", "-P", *flags, obj], check=True,
                         capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def sccs(nodes, edges):
    index, low, onstack, stack, out = {}, {}, set(), [], []

    def visit(v):  # Tarjan, recursive: the graph has a few dozen nodes
        index[v] = low[v] = len(index)
        stack.append(v)
        onstack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in onstack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                onstack.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    for v in nodes:
        if v not in index:
            visit(v)
    return out


def main():
    if len(sys.argv) != 2:
        print("usage: callcycles.py BUILD_DIR", file=sys.stderr)
        return 2
    build = sys.argv[1]
    objs = objects(build)
    if not objs:
        print(f"callcycles: no objects under {build} (run make)",
              file=sys.stderr)
        return 2
    name = {o: os.path.relpath(o, build)[:-2] + ".c" for o in objs}
    owner = {}
    for o in objs:
        for s in nm(o, "--defined-only", "-g"):
            if s not in LIBC:
                owner.setdefault(s, o)
    edges = {o: {} for o in objs}
    for o in objs:
        for s in nm(o, "-u"):
            d = owner.get(s)
            if d and d != o:
                edges[o].setdefault(d, []).append(s)
    bad = 0
    for o in objs:
        lo = layer_of(name[o])
        for d, syms in edges[o].items():
            ld = layer_of(name[d])
            if ld not in MAY_USE[lo]:
                print(f"layers: {name[o]} calls up into {name[d]}: "
                      f"{', '.join(sorted(syms)[:4])}")
                bad += 1
    for comp in sccs(objs, edges):
        if len(comp) < 2:
            continue
        bad += 1
        print("cycle: " + " <-> ".join(name[o] for o in comp))
        for o in comp:
            for d, syms in sorted(edges[o].items()):
                if d in comp:
                    print(f"    {name[o]} -> {name[d]}: "
                          f"{', '.join(sorted(syms)[:4])}")
    nedges = sum(len(e) for e in edges.values())
    print(f"callcycles: {len(objs)} objects, {nedges} edges, "
          f"{bad} finding(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
