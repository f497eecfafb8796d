#!/usr/bin/env python3
"""How many items a full server keeps at the same -m: memcached and
skcached side by side, each started afresh on a free port.

Two loads, each on one connection, every answer read:

  fill   N distinct keys (key:0000000000 on) of V-byte values, `set`
         pipelined 200 to a write, PAUSE seconds between writes (0.04:
         about 5,000 SET/s); then `stats` curr_items, and a GET of the
         last 20,000 keys (how many of the newest are readable).
  shift  4,000 SETs of 64 KiB values, a 6 s pause (long enough for the
         large values' class to go idle), then 200,000 SETs of 100-byte
         values over new keys: the seconds they took and the items kept
         (kv/README.md, "When full": a class gone idle gives its free
         chunks to a smaller one).

Prints one line per server and load, then the ratios test / memcached
for items kept (fill) and for time (shift). A memory figure, not a
target: memcached's items are the yardstick.

  perf/skcached/capacity.py [--mem MB] [--keys N] [--value B]
        [--pause S] [--loads fill,shift] [--server CMD] [--ref CMD]

CMD has {port} for the port; the defaults are `build/bin/skcached -n 4
-m MB -p {port} -U 0 -l 127.0.0.1` and `memcached -m MB -p {port} -U 0
-l 127.0.0.1 -t 4` (with -u root as root).
"""
import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
import free_port  # noqa: E402


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.s.makefile("rb")

    def sets(self, keys, vlen, pause=0.0):
        """Set keys (an iterable of ints) to vlen-byte values, 200 to a
        write; returns the answers that were not STORED."""
        val = b"x" * vlen
        keys = list(keys)
        bad = 0
        for b in range(0, len(keys), 200):
            part = keys[b:b + 200]
            self.s.sendall(b"".join(
                b"set key:%010d 0 0 %d\r\n%s\r\n" % (k, vlen, val)
                for k in part))
            for _ in part:
                if self.f.readline() != b"STORED\r\n":
                    bad += 1
            if pause:
                time.sleep(pause)
        return bad

    def hits(self, keys):
        keys = list(keys)
        n = 0
        for b in range(0, len(keys), 100):
            self.s.sendall(b"get " + b" ".join(
                b"key:%010d" % k for k in keys[b:b + 100]) + b"\r\n")
            while True:
                line = self.f.readline()
                if not line:
                    raise RuntimeError("connection closed")
                if line.startswith(b"END"):
                    break
                if line.startswith(b"VALUE"):
                    n += 1
                    self.f.readline()
        return n

    def stat(self, name):
        self.s.sendall(b"stats\r\n")
        v = None
        while True:
            line = self.f.readline().decode()
            if not line or line.startswith("END"):
                return v
            p = line.split()
            if len(p) == 3 and p[1] == name:
                v = int(p[2])


def start(cmd, port):
    argv = shlex.split(cmd.replace("{port}", str(port)))
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    t0 = time.time()
    while time.time() - t0 < 60:
        if p.poll() is not None:
            raise RuntimeError("%s exited %d: %s" % (
                argv[0], p.returncode, p.stderr.read().decode()[-500:]))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.2)
    stop(p)
    raise RuntimeError("%s: no answer on port %d" % (argv[0], port))


def stop(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)
        p.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def run(name, cmd, a):
    out = {}
    for load in a.loads:
        port = free_port.free_port()
        p = start(cmd, port)
        try:
            c = Conn(port)
            if load == "fill":
                bad = c.sets(range(a.keys), a.value, a.pause)
                items = c.stat("curr_items")
                last = c.hits(range(max(0, a.keys - 20000), a.keys))
                print("%-9s fill  %d keys of %d B: %d kept, %d of the "
                      "last %d readable, %d not stored" %
                      (name, a.keys, a.value, items, last,
                       min(a.keys, 20000), bad), flush=True)
                out["fill"] = items
            else:
                bad = c.sets(range(4000), 65536)
                time.sleep(6)
                t0 = time.time()
                bad += c.sets(range(4000, 204000), 100)
                secs = time.time() - t0
                items = c.stat("curr_items")
                print("%-9s shift 200,000 SETs of 100 B after 64 KiB "
                      "ones: %.2f s, %d kept, %d not stored" %
                      (name, secs, items, bad), flush=True)
                out["shift"] = secs
        finally:
            stop(p)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mem", type=int, default=64)
    ap.add_argument("--keys", type=int, default=80000)
    ap.add_argument("--value", type=int, default=1024)
    ap.add_argument("--pause", type=float, default=0.04)
    ap.add_argument("--loads", default="fill,shift")
    ap.add_argument("--server")
    ap.add_argument("--ref")
    a = ap.parse_args()
    a.loads = [x for x in a.loads.split(",") if x]
    if not a.loads or any(x not in ("fill", "shift") for x in a.loads):
        ap.error("--loads: fill, shift or both")
    if a.keys < 1 or a.value < 1 or a.value > 1000000 or a.mem < 1:
        ap.error("--keys, --value (up to 1000000) and --mem: positive")
    build = os.environ.get("BUILD", "build")
    server = a.server or ("%s/bin/skcached -n 4 -m %d -p {port} -U 0 "
                          "-l 127.0.0.1" % (os.path.join(ROOT, build),
                                            a.mem))
    ref = a.ref or ("memcached -m %d -p {port} -U 0 -l 127.0.0.1 -t 4%s" %
                    (a.mem, " -u root" if os.getuid() == 0 else ""))
    try:
        mc = run("memcached", ref, a)
        sk = run("test", server, a)
    except (RuntimeError, OSError) as e:
        print("capacity.py: %s" % e, file=sys.stderr)
        return 1
    if "fill" in mc and mc["fill"]:
        print("items kept, test / memcached: %.2fx" %
              (sk["fill"] / mc["fill"]))
    if "shift" in mc and mc["shift"]:
        print("time for the small SETs, test / memcached: %.2fx" %
              (sk["shift"] / mc["shift"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
