#!/usr/bin/env python3
"""skcached as a server, end to end (tests/skcached/README.md).

Starts real skcached jobs (skrun, gateways and cache nodes over the default
provider) and checks what a memcached user relies on beyond the protocol:
the command line, SIGTERM and SIGINT, -c, a cache node that dies, and bad
clients (a line that never ends, garbage, a client that vanishes mid-value
or never reads), none of which may hurt other clients or the stored data.

    tests/skcached/server.py [--build DIR] [CHECK...]

Prints one line per check ("ok   NAME" or "FAIL NAME: why") and exits 1 if
any failed.
"""
import argparse
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from free_port import free_port  # noqa: E402

BUILD = "build"
TIMEOUT = 30.0


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


class Server:
    """One skcached job; its ranks are found by their command line."""

    def __init__(self, *args, nodes=2, threads=1, listen=["-l", "127.0.0.1"]):
        self.port = free_port()
        self.argv = [os.path.join(BUILD, "bin", "skcached"), "-n", str(nodes),
                     "-t", str(threads), "-p", str(self.port)] + listen + \
            list(args)
        self.log = open(os.path.join(LOGDIR, "skcached-%d.log" % self.port),
                        "w+")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        end = time.time() + TIMEOUT
        while True:
            try:
                c = self.conn()
                c.sendall(b"version\r\n")
                check(readline(c).startswith(b"VERSION "), "no VERSION")
                c.close()
                return
            except OSError:
                if self.proc.poll() is not None or time.time() > end:
                    self.stop(signal.SIGKILL)
                    raise Fail("skcached did not start: %s" % self.output())
                time.sleep(0.1)

    def conn(self):
        c = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return c

    def ranks(self):
        out = subprocess.run(["pgrep", "-f", "skcached-node --gateways"],
                             capture_output=True, text=True).stdout.split()
        mine = []
        for pid in out:
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    cmd = f.read().split(b"\0")
            except OSError:
                continue
            if cmd[0].endswith(b"skcached-node") and \
                    str(self.port).encode() in cmd:
                mine.append(int(pid))
        return sorted(mine)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-2000:]

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Fail("skcached did not end within %d s of %s" %
                       (TIMEOUT, signal.Signals(sig).name))


def readline(c):
    d = b""
    while not d.endswith(b"\r\n"):
        b = c.recv(1)
        if not b:
            raise Fail("connection closed after %r" % d)
        d += b
    return d


def until(c, end):
    d = b""
    while not d.endswith(end):
        b = c.recv(65536)
        if not b:
            raise Fail("connection closed after %r" % d[-200:])
        d += b
    return d


def get(c, key):
    """The value, None when absent, or the SERVER_ERROR line."""
    c.sendall(b"get " + key + b"\r\n")
    line = readline(c)
    if line == b"END\r\n":
        return None
    if line.startswith(b"SERVER_ERROR"):
        return line
    check(line.startswith(b"VALUE " + key + b" "), "get: %r" % line)
    n = int(line.split()[3])
    data = until(c, b"END\r\n")
    check(len(data) == n + 2 + 5, "get %r: %d bytes for %d" %
          (key, len(data), n))
    return data[:n]


def store(c, key, value, cmd=b"set"):
    c.sendall(b"%s %s 0 0 %d\r\n%s\r\n" % (cmd, key, len(value), value))
    return readline(c)


def closed(c, wait=TIMEOUT):
    """Whether the server closed @c (reading and dropping what comes)."""
    c.settimeout(wait)
    try:
        while True:
            if not c.recv(65536):
                return True
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


# ---- the checks ----

def t_signals():
    """SIGTERM and SIGINT stop the nodes, and skcached exits 0."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        s = Server()
        c = s.conn()
        check(store(c, b"k", b"v") == b"STORED\r\n", "set")
        ranks = s.ranks()
        check(len(ranks) == 3, "ranks %r, want 1 gateway + 2 nodes" % ranks)
        rc = s.stop(sig)
        check(rc == 0, "exit %d after %s, want 0: %s" %
              (rc, sig.name, s.output()))
        left = [p for p in ranks if os.path.exists("/proc/%d" % p)]
        check(not left, "ranks left after %s: %r" % (sig.name, left))


def t_flags():
    """memcached's flags: those meaningless here are refused, never
    ignored; bad values are usage errors."""
    sk = os.path.join(BUILD, "bin", "skcached")
    for args, want in ((["-d"], "means nothing here"),
                       (["-U", "11211"], "UDP is not served"),
                       (["-I", "2m"], "from 1k to 1m"),
                       (["-I", "1000"], "from 1k to 1m"),
                       (["-t", "0"], "1 to 64"),
                       (["-n", "0"], "1 to 1024"),
                       (["-p", "70000"], "1 to 65535"),
                       (["-c", "x"], "1 to 1000000"),
                       (["--no-such-flag"], "unknown option"),
                       (["-p"], "needs a value")):
        r = subprocess.run([sk] + args, capture_output=True, text=True,
                           timeout=TIMEOUT)
        check(r.returncode == 2, "%s: exit %d, want 2" % (args, r.returncode))
        check(want in r.stderr, "%s: %r lacks %r" % (args, r.stderr, want))
    for bad in ("x", "-1", "1000001", "5us", "99999999999999999999999"):
        env = dict(os.environ, SKIFF_GATEWAY_SPIN_US=bad)
        r = subprocess.run([sk, "-p", "1"], capture_output=True, text=True,
                           timeout=TIMEOUT, env=env)
        check(r.returncode == 2, "SKIFF_GATEWAY_SPIN_US=%s: exit %d, want 2"
              % (bad, r.returncode))
        check("SKIFF_GATEWAY_SPIN_US=%s: microseconds, 0 to 1000000" % bad
              in r.stderr, "SKIFF_GATEWAY_SPIN_US=%s: %r" % (bad, r.stderr))
    r = subprocess.run([sk, "-h"], capture_output=True, text=True)
    check(r.returncode == 0 and "Usage: skcached" in r.stdout and
          "SKIFF_GATEWAY_SPIN_US" in r.stdout, "-h")
    r = subprocess.run([sk, "-V"], capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.startswith("skcached 1.6"), "-V")


def has_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def t_port():
    """A port in use is refused in memcached's words with its exit status
    (71), whoever holds it, another skcached too; without -l every
    wildcard address is served, IPv6's as well, as memcached does."""
    sk = os.path.join(BUILD, "bin", "skcached")
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    port = held.getsockname()[1]
    for args, want in (
            (["-l", "127.0.0.1"], "failed to listen on one of interface(s) "
             "127.0.0.1: Address already in use"),
            ([], "failed to listen on TCP port %d: Address already in use"
             % port)):
        r = subprocess.run([sk, "-n", "1", "-p", str(port)] + args,
                           capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 71, "%s on a held port: exit %d, want 71: %r"
              % (args, r.returncode, r.stderr))
        check(want in r.stderr, "%s: %r lacks %r" % (args, r.stderr, want))
    held.close()
    # A -l that names no address is refused the same way, before any rank.
    r = subprocess.run([sk, "-n", "1", "-p", str(port), "-l",
                        "no-such-host.invalid"],
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(r.returncode == 71 and "failed to listen on one of interface(s) "
          "no-such-host.invalid: " in r.stderr,
          "-l no-such-host.invalid: exit %d: %r" % (r.returncode, r.stderr))
    s = Server(listen=[])
    try:
        c = s.conn()
        check(store(c, b"k", b"first") == b"STORED\r\n", "set")
        r = subprocess.run([sk, "-n", "1", "-p", str(s.port)],
                           capture_output=True, text=True, timeout=TIMEOUT)
        check(r.returncode == 71 and "Address already in use" in r.stderr,
              "a second skcached on the port: exit %d: %r" %
              (r.returncode, r.stderr))
        # Every connection still reaches the first one's table.
        for _ in range(8):
            c2 = s.conn()
            check(get(c2, b"k") == b"first", "the port was shared")
            c2.close()
        if has_ipv6_loopback():
            c6 = socket.create_connection(("::1", s.port), timeout=TIMEOUT)
            check(get(c6, b"k") == b"first", "no answer on ::1")
            c6.close()
    finally:
        check(s.stop() == 0, "exit: " + s.output())


def stats_of(c, group=b""):
    c.sendall(b"stats" + group + b"\r\n")
    d = {}
    while True:
        line = readline(c)
        if line == b"END\r\n":
            return d
        p = line.split()
        check(len(p) == 3 and p[0] == b"STAT", "stats line %r" % line)
        d[p[1].decode()] = p[2].decode()


def bin_set(c, key, value):
    """A binary protocol set; its status."""
    extras = struct.pack(">II", 0, 0)
    c.sendall(struct.pack(">BBHBBHIIQ", 0x80, 0x01, len(key), len(extras),
                          0, 0, len(extras) + len(key) + len(value), 0, 0)
              + extras + key + value)
    h = b""
    while len(h) < 24:
        h += c.recv(24 - len(h))
    status, body = struct.unpack(">6xH I", h[:12])
    while body > 0:
        body -= len(c.recv(body))
    return status


def too_large(s, cs):
    """Stores past -I (text set, meta ms, binary set) count as
    store_too_large, not as sets; the old item a set drops, as memcached's
    "stale data" rule does, counts as no delete; the listeners accept."""
    a = cs[0]
    big = b"y" * ((1 << 20) + 1)
    for k in (b"tl1", b"tl2", b"tl3"):
        check(store(a, k, b"old") == b"STORED\r\n", "set " + k.decode())
    a.sendall(b"stats reset\r\n")
    check(readline(a) == b"RESET\r\n", "stats reset")
    a.sendall(b"set tl1 0 0 %d\r\n" % len(big) + big + b"\r\n")
    check(readline(a) == b"SERVER_ERROR object too large for cache\r\n",
          "set too large")
    a.sendall(b"ms tl2 %d T0\r\n" % len(big) + big + b"\r\n")
    check(readline(a) == b"SERVER_ERROR object too large for cache\r\n",
          "ms too large")
    b = s.conn()
    check(bin_set(b, b"tl3", big) == 0x0003, "binary set too large")
    b.close()
    for k in (b"tl1", b"tl2", b"tl3"):
        check(get(a, k) is None, "a too-large store left %s's old item" %
              k.decode())
    for i, c in enumerate(cs):
        d = stats_of(c)
        got = {k: d.get(k) for k in ("store_too_large", "store_no_memory",
                                     "cmd_set", "delete_hits",
                                     "delete_misses", "accepting_conns")}
        want = {"store_too_large": "3", "store_no_memory": "0",
                "cmd_set": "0", "delete_hits": "0", "delete_misses": "0",
                "accepting_conns": "1"}
        check(got == want, "too large, connection %d: %r, want %r" %
              (i, got, want))


def t_stats():
    """stats is the server's whichever gateway a connection reached (as
    memcached's threads' sums), stats reset zeroes it for all, pid is
    skcached's; me counts as cmd_meta, an incr of a non-number as no
    miss (memcached 1.6's counts)."""
    s = Server(threads=2)
    try:
        cs = [s.conn() for _ in range(8)]
        a = cs[0]
        check(store(a, b"k", b"v") == b"STORED\r\n", "set")
        # memcached's version as bare digits: clients parse it (npm's
        # memcached matches /(\d+)\.(\d+)\.(\d+)$/)
        a.sendall(b"version\r\n")
        v = readline(a)
        check(re.match(rb"VERSION \d+\.\d+\.\d+\r\n$", v) is not None,
              "version %r" % v)
        for _ in range(10):
            check(get(a, b"k") == b"v", "get")
        check(get(a, b"absent") is None, "get absent")
        check(store(a, b"m", b"x") == b"STORED\r\n", "set m")
        a.sendall(b"me m\r\n")
        check(readline(a).startswith(b"ME m "), "me")
        a.sendall(b"incr m 1\r\nincr nope 1\r\n")
        check(readline(a).startswith(b"CLIENT_ERROR cannot increment"),
              "incr of a non-number")
        check(readline(a) == b"NOT_FOUND\r\n", "incr absent")
        want = {"cmd_get": "11", "get_hits": "10", "get_misses": "1",
                "cmd_set": "2", "cmd_meta": "1", "incr_misses": "1",
                "incr_hits": "0", "curr_connections": "8",
                "pid": str(s.proc.pid), "threads": "2"}
        for i, c in enumerate(cs):
            # A gateway sees a connection open or close (the start's
            # probe) in its own time: the count settles.
            for _ in range(50):
                d = stats_of(c)
                if d.get("curr_connections") == "8":
                    break
                time.sleep(0.1)
            got = {k: d.get(k) for k in want}
            check(got == want, "connection %d: %r, want %r" % (i, got, want))
        cs[5].sendall(b"stats reset\r\n")
        check(readline(cs[5]) == b"RESET\r\n", "stats reset")
        check(get(cs[6], b"k") == b"v", "get after reset")
        for i, c in enumerate(cs):
            d = stats_of(c)
            check(d["cmd_get"] == "1" and d["get_hits"] == "1" and
                  d["cmd_set"] == "0" and d["curr_connections"] == "8",
                  "after reset, connection %d: %r" % (i, d))
        too_large(s, cs)
        # stats settings: memcached's names for what skcached was given
        d = stats_of(cs[0], b" settings")
        want = {"maxconns": "1024", "tcpport": str(s.port), "udpport": "0",
                "inter": "127.0.0.1", "num_threads": "2",
                "item_size_max": "1048576", "cas_enabled": "yes"}
        got = {k: d.get(k) for k in want}
        check(got == want, "stats settings: %r, want %r" % (got, want))
        classes(cs)
        cachedump(cs)
        detail(cs)
        conns(s, cs)
        rusage(s, cs)
    finally:
        check(s.stop() == 0, "exit: " + s.output())


def rusage(s, cs):
    """rusage_user and rusage_system in memcached's form, the CPU of
    every gateway whichever one answers: after a load on one gateway,
    the other's answer is not behind by more than the clock ticks in
    which /proc counts."""
    def cpu(c):
        d = stats_of(c)
        for f in ("rusage_user", "rusage_system"):
            check(re.match(r"\d+\.\d{6}$", d.get(f, "")) is not None,
                  "%s %r" % (f, d.get(f)))
        return float(d["rusage_user"]) + float(d["rusage_system"])
    # one connection on each gateway (stats skiff says which answers)
    by_gw = {}
    # which gateway takes a connection is the kernel's choice: more
    # until both have one
    extra = [s.conn() for _ in range(32)]
    for c in cs + extra:
        if len(by_gw) == 2:
            break
        c.sendall(b"stats skiff\r\n")
        gw = None
        while True:
            line = readline(c)
            if line == b"END\r\n":
                break
            if line.startswith(b"STAT gateway "):
                gw = line.split()[2].decode()
        by_gw.setdefault(gw, c)
    check(len(by_gw) == 2, "connections reach gateways %r" % sorted(by_gw))
    a, b = by_gw["0"], by_gw["1"]
    # Round trips on a until its CPU has grown by 0.2 s: b, idle, would
    # be that far behind if it did not count a's.
    start = last = cpu(a)
    check(last > 0, "rusage at the start: %r" % last)
    check(store(a, b"r", b"x") == b"STORED\r\n", "set r")
    for _ in range(100):
        if last - start >= 0.2:
            break
        for _ in range(500):
            check(get(a, b"r") == b"x", "get r")
        last = cpu(a)
    check(last - start >= 0.2, "rusage %.6f after the load, %.6f before" %
          (last, start))
    other = cpu(b)
    check(other >= last - 0.03, "gateway 1's rusage %.6f, gateway 0's "
          "%.6f before it" % (other, last))
    check(cpu(a) >= other - 0.03, "gateway 0's rusage after gateway 1's")


def classes(cs):
    """stats items and stats slabs: the nodes' size classes, memcached's
    names, each class the smallest chunk its items fit (kv's items take
    a 32-byte header, the key and the value, padded to 16 bytes); every
    gateway sees the same."""
    big = b"b" * 2000
    for i in range(3):
        check(store(cs[0], b"big%d" % i, big) == b"STORED\r\n", "set big")
    cs[0].sendall(b"set bigx 0 100 2000\r\n" + big + b"\r\n")
    check(readline(cs[0]) == b"STORED\r\n", "set bigx")
    size = (32 + 4 + 2000 + 15) // 16 * 16
    items = int(stats_of(cs[0])["curr_items"])
    for c in cs[:2]:
        it = stats_of(c, b" items")
        sl = stats_of(c, b" slabs")
        num = {int(k.split(":")[1]): int(v) for k, v in it.items()
               if k.endswith(":number")}
        check(sum(num.values()) == items,
              "items:N:number add up to %d, curr_items %d" %
              (sum(num.values()), items))
        ids = sorted({int(k.split(":")[0]) for k in sl if ":" in k})
        check(int(sl["active_slabs"]) == len(ids) and set(num) <= set(ids),
              "slabs %r against items %r" % (sl, it))
        malloced = 0
        for n in ids:
            f = {k: int(sl["%d:%s" % (n, k)]) for k in
                 ("chunk_size", "total_chunks", "used_chunks",
                  "free_chunks", "total_pages", "chunks_per_page",
                  "cmd_set")}
            check(f["used_chunks"] == num.get(n, 0) and
                  f["used_chunks"] + f["free_chunks"] == f["total_chunks"]
                  and f["total_pages"] >= 1 and f["cmd_set"] >= 1 and
                  f["chunks_per_page"] == (1 << 20) // f["chunk_size"],
                  "class %d: %r" % (n, f))
            malloced += f["total_chunks"] * f["chunk_size"]
        check(int(sl["total_malloced"]) == malloced, "total_malloced")
        # The 2000-byte values: four items in one class, the smallest
        # that holds them.
        n = [n for n in ids if int(sl["%d:chunk_size" % n]) >= size][0]
        check(num.get(n) == 4 and
              int(it["items:%d:mem_requested" % n]) == 4 * size and
              int(it["items:%d:evicted" % n]) == 0 and
              int(it["items:%d:evicted_nonzero" % n]) == 0 and
              int(it["items:%d:crawler_reclaimed" % n]) == 0,
              "class %d of the 2000-byte values: %r" % (n, it))


def dump_lines(c, cmd):
    """The ITEM lines of a stats cachedump, and the answer's bytes."""
    c.sendall(cmd + b"\r\n")
    lines, n = [], 0
    while True:
        line = readline(c)
        n += len(line)
        if line == b"END\r\n":
            return lines, n
        check(line.startswith(b"ITEM "), "%s: %r" % (cmd, line))
        lines.append(line)


def cachedump(cs):
    """stats cachedump CLASS LIMIT: each key of the class on every node,
    as memcached prints them (value bytes, expiry in Unix seconds, 0 for
    none), LIMIT of them (0: all, up to 2 MiB of answer with END, as
    memcached's); gathered from the nodes over many rounds; memcached's
    errors for bad arguments."""
    sl = stats_of(cs[0], b" slabs")
    size = (32 + 4 + 2000 + 15) // 16 * 16
    ids = sorted({int(k.split(":")[0]) for k in sl if ":" in k})
    n = [n for n in ids if int(sl["%d:chunk_size" % n]) >= size][0]
    now = int(time.time())
    for c in cs[:2]:
        lines, _ = dump_lines(c, b"stats cachedump %d 0" % n)
        got = {}
        for line in lines:
            m = re.match(rb"ITEM (\S+) \[(\d+) b; (\d+) s\]\r\n$", line)
            check(m is not None, "cachedump line %r" % line)
            got[m.group(1)] = (int(m.group(2)), int(m.group(3)))
        check(sorted(got) == [b"big0", b"big1", b"big2", b"bigx"] and
              all(got[b"big%d" % i] == (2000, 0) for i in range(3)) and
              got[b"bigx"][0] == 2000 and
              abs(got[b"bigx"][1] - (now + 100)) <= 2,
              "cachedump of class %d: %r" % (n, got))
        check(len(dump_lines(c, b"stats cachedump %d 3" % n)[0]) == 3,
              "cachedump with a limit of 3")
    for cmd, want in ((b"stats cachedump", b"CLIENT_ERROR bad command line"),
                      (b"stats cachedump 1", b"CLIENT_ERROR bad command line"),
                      (b"stats cachedump 1 x",
                       b"CLIENT_ERROR bad command line format"),
                      (b"stats cachedump 64 0",
                       b"CLIENT_ERROR Illegal slab id"),
                      (b"stats cachedump 0 0", b"END"),
                      (b"stats cachedump 63 0", b"END")):
        cs[1].sendall(cmd + b"\r\n")
        check(readline(cs[1]) == want + b"\r\n", "%s: not %s" % (cmd, want))
    # Past 2 MiB: 9,000 keys of 240 bytes in one class (kv's owners
    # answer 8 KiB at a time, some thirty keys).
    key = b"%0236d"
    a = cs[2]
    a.sendall(b"".join(b"set " + key % i + b" 0 0 1 noreply\r\nv\r\n"
                       for i in range(9000)))
    check(store(a, key % 9000, b"v") == b"STORED\r\n", "set long keys")
    it = stats_of(a, b" items")
    n = max(((int(v), int(k.split(":")[1])) for k, v in it.items()
             if k.endswith(":number")))[1]
    lines, nbytes = dump_lines(a, b"stats cachedump %d 0" % n)
    check(8000 < len(lines) < 9001 and nbytes <= 2 << 20 and
          nbytes + 260 > 2 << 20,
          "cachedump past 2 MiB: %d lines, %d bytes" % (len(lines), nbytes))
    lines, _ = dump_lines(a, b"stats cachedump %d 100" % n)
    check(len(lines) == 100, "cachedump with a limit of 100")


def detail(cs):
    """stats detail: counts by key prefix, the server's whichever gateway
    a connection reached (they share one table), on and off for all,
    cleared by stats reset."""
    for c in cs:
        c.sendall(b"stats detail on\r\n")
        check(readline(c) == b"OK\r\n", "stats detail on")
    check(stats_of(cs[1], b" settings").get("detail_enabled") == "yes",
          "detail_enabled after on")
    for i, c in enumerate(cs):
        check(store(c, b"dt:%d" % i, b"v") == b"STORED\r\n", "set dt:")
        check(get(c, b"dt:%d" % i) == b"v", "get dt:")
        check(get(c, b"dt:none") is None, "get dt:none")
        c.sendall(b"delete dt:%d\r\n" % i)
        check(readline(c) == b"DELETED\r\n", "delete dt:")
    n = len(cs)
    want = b"PREFIX dt get %d hit %d set %d del %d\r\n" % (2 * n, n, n, n)
    for c in cs:
        c.sendall(b"stats detail dump\r\n")
        lines = [readline(c)]
        while lines[-1] != b"END\r\n":
            lines.append(readline(c))
        check(want in lines, "stats detail dump: %r, want %r" % (lines, want))
    cs[0].sendall(b"stats detail off\r\nstats reset\r\nstats detail dump\r\n")
    check(readline(cs[0]) == b"OK\r\n" and readline(cs[0]) == b"RESET\r\n"
          and readline(cs[0]) == b"END\r\n", "after off and reset")
    check(store(cs[5], b"dt:x", b"v") == b"STORED\r\n", "set when off")
    cs[5].sendall(b"stats detail dump\r\n")
    check(readline(cs[5]) == b"END\r\n", "counted while off")
    check(stats_of(cs[1], b" settings").get("detail_enabled") == "no",
          "detail_enabled after off")


def conns(s, cs):
    """stats conns: every gateway's listener and connections, each with
    memcached's lines; the connection asking is conn_parse_cmd, one whose
    value is still coming conn_nread; a closed one goes."""
    part = s.conn()
    part.sendall(b"set conns:part 0 0 10\r\nabc")
    time.sleep(0.5)

    def table(c):
        d = stats_of(c, b" conns")
        ents = {}
        for k, v in d.items():
            n, _, field = k.partition(":")
            ents.setdefault(n, {})[field] = v
        return ents

    ents = table(cs[3])
    mine = {"tcp:%s:%d" % c.getsockname()[:2] for c in cs + [part]}
    clients = {e["addr"]: e for e in ents.values()
               if e.get("state") != "conn_listening"}
    listeners = [e for e in ents.values()
                 if e.get("state") == "conn_listening"]
    check(mine <= set(clients), "stats conns: %r, want %r" % (ents, mine))
    check(len(listeners) == 2 and all(
        e["addr"] == "tcp:127.0.0.1:%d" % s.port for e in listeners),
        "stats conns: listeners %r (2 gateways)" % listeners)
    for c in clients.values():
        check(c.get("listen_addr") == "tcp:127.0.0.1:%d" % s.port and
              c["secs_since_last_cmd"].isdigit(), "entry %r" % c)
    ask = clients["tcp:%s:%d" % cs[3].getsockname()[:2]]
    check(ask["state"] == "conn_parse_cmd", "the asking one: %r" % ask)
    p = clients["tcp:%s:%d" % part.getsockname()[:2]]
    check(p["state"] == "conn_nread", "half a value: %r" % p)
    others = [c["state"] for a, c in clients.items()
              if a in mine and c is not ask and c is not p]
    check(others and all(st == "conn_read" for st in others),
          "idle ones: %r" % others)
    gone = "tcp:%s:%d" % part.getsockname()[:2]
    part.close()
    for _ in range(50):
        if all(e.get("addr") != gone for e in table(cs[3]).values()):
            break
        time.sleep(0.1)
    else:
        raise Fail("a closed connection still in stats conns")


def t_conn_limit():
    """Past -c, a new connection is told so and closed (memcached's
    maxconns_fast); one that closes makes room."""
    s = Server("-c", "4", threads=2)
    try:
        # The start's probe connection counts until its gateway has seen
        # it close (as in memcached): try again until 4 fit.
        for _ in range(50):
            cs = [s.conn() for _ in range(4)]
            got = []
            for c in cs:
                c.sendall(b"version\r\n")
                got.append(readline(c))
            if all(g.startswith(b"VERSION") for g in got):
                break
            for c in cs:
                c.close()
            time.sleep(0.2)
        check(all(g.startswith(b"VERSION") for g in got),
              "4 connections under -c 4: %r" % got)
        extra = s.conn()
        check(readline(extra) == b"ERROR Too many open connections\r\n",
              "no refusal past -c")
        check(closed(extra, 5), "the refused connection stays open")
        cs.pop().close()
        time.sleep(0.5)
        c = s.conn()
        c.sendall(b"version\r\n")
        check(readline(c).startswith(b"VERSION"), "no room after a close")
    finally:
        check(s.stop() == 0, "exit: " + s.output())


def t_node_death():
    """A cache node killed: its keys answer SERVER_ERROR, the others'
    are served, sets to live nodes work, stats answers, nothing hangs."""
    s = Server(nodes=3)
    try:
        c = s.conn()
        keys = [b"key:%d" % i for i in range(90)]
        for k in keys:
            check(store(c, k, k + b"=v") == b"STORED\r\n", "set")
        ranks = s.ranks()
        check(len(ranks) == 4, "ranks %r" % ranks)
        c.sendall(b"stats skiff\r\n")
        st = until(c, b"END\r\n").decode()
        held = {}
        limit = 0
        for line in st.splitlines():
            f = line.split()
            if len(f) == 3 and f[1].endswith(":curr_items"):
                held[int(f[1][4:].split(":")[0])] = int(f[2])
            if len(f) == 3 and f[1].endswith(":limit_maxbytes"):
                limit += int(f[2])
        check(sum(held.values()) == len(keys), "stats skiff: %r" % held)
        # -m is item memory, as memcached's: the nodes' shares add up
        # to stats' limit_maxbytes (the indexes come on top).
        want = int(stats_of(c)["limit_maxbytes"])
        check(limit == want, "nodes' limit_maxbytes add up to %d, "
              "stats says %d" % (limit, want))
        # ranks are 0 (gateway), 1..3 (nodes): kill node 2.
        os.kill(ranks[2], signal.SIGKILL)
        t0 = time.time()
        lost = found = 0
        for k in keys:
            v = get(c, k)
            if isinstance(v, bytes) and v.startswith(b"SERVER_ERROR"):
                lost += 1
            else:
                check(v == k + b"=v", "get %r: %r" % (k, v))
                found += 1
        check(lost == held[2], "%d keys failed, node 2 held %d" %
              (lost, held[2]))
        check(time.time() - t0 < 20, "gets took %.1f s" % (time.time() - t0))
        # One multi-get over every node: the live ones' values, then the
        # error in END's place.
        c.sendall(b"get " + b" ".join(keys) + b"\r\n")
        data = until(c, b"\r\n")
        while not (data.endswith(b"END\r\n") or
                   data.split(b"\r\n")[-2].startswith(b"SERVER_ERROR")):
            data += until(c, b"\r\n")
        check(data.count(b"VALUE ") == found, "multi-get: %d values, want %d"
              % (data.count(b"VALUE "), found))
        stored = 0
        for i in range(30):
            r = store(c, b"new:%d" % i, b"x")
            stored += r == b"STORED\r\n"
            check(r in (b"STORED\r\n", b"SERVER_ERROR node unreachable\r\n"),
                  "set after the death: %r" % r)
        check(stored > 0, "no set reached a live node")
        c.sendall(b"stats\r\n")
        st = until(c, b"END\r\n")
        check(b"STAT skiff_nodes 2\r\n" in st, "stats: %r" % st[-300:])
        # The classes and the keys of the live nodes (the keys above
        # and new:N are of kv's first class).
        it = stats_of(c, b" items")
        check(int(it.get("items:1:number", 0)) == found + stored,
              "stats items: %r, want %d items" % (it, found + stored))
        lines, _ = dump_lines(c, b"stats cachedump 1 0")
        check(len(lines) == found + stored,
              "cachedump: %d keys, want %d" % (len(lines), found + stored))
    finally:
        rc = s.stop()
    # The job lost a node: skrun reports it (128 + SIGKILL), as mpirun.
    check(rc == 137, "exit %d, want 137 (a node was killed)" % rc)


def t_bad_clients():
    """Bad clients hurt neither the others nor the table."""
    s = Server("-I", "1m")
    try:
        good = s.conn()
        check(store(good, b"keep", b"safe") == b"STORED\r\n", "set")

        # A line that never ends: the connection is closed, memory bounded.
        c = s.conn()
        try:
            for _ in range(64):
                c.sendall(b"a" * 4096)
        except OSError:
            pass
        check(closed(c), "an endless line was not closed")

        # Garbage, text and binary.
        for junk in (os.urandom(5000), b"\x80" + os.urandom(3000),
                     b"\x00\xff\r\n" * 100):
            c = s.conn()
            try:
                c.sendall(junk)
            except OSError:
                pass
            c.close()

        # A client that vanishes mid-value: nothing is stored.
        c = s.conn()
        c.sendall(b"set half 0 0 1000\r\n" + b"x" * 10)
        c.close()

        # Too large a value: refused, its data dropped, the next command
        # understood.
        c = s.conn()
        big = b"y" * ((1 << 20) + 1)
        c.sendall(b"set big 0 0 %d\r\n" % len(big) + big + b"\r\n")
        check(readline(c) == b"SERVER_ERROR object too large for cache\r\n",
              "too large")
        c.sendall(b"version\r\n")
        check(readline(c).startswith(b"VERSION"), "after too large")
        c.close()

        # A client that never reads: a large value asked for again and
        # again; the gateway stops reading it rather than grow.
        c = s.conn()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        check(store(c, b"fat", b"z" * 500000) == b"STORED\r\n", "set fat")
        c.settimeout(0.2)
        sent = 0
        try:
            while sent < 400 << 20:
                sent += c.send(b"get fat\r\n" * 1000)
        except (socket.timeout, TimeoutError, BlockingIOError):
            pass
        check(sent < 400 << 20, "the gateway read 400 MB of requests whose "
              "answers nobody read")
        gw = s.ranks()[0]
        with open("/proc/%d/status" % gw) as f:
            rss = [int(l.split()[1]) for l in f if l.startswith("VmRSS")][0]
        check(rss < 512 * 1024, "gateway RSS %d KiB" % rss)

        # Meanwhile the good client is served, and the table is intact.
        check(get(good, b"keep") == b"safe", "keep")
        check(get(good, b"half") is None, "half a value was stored")
        check(get(good, b"big") is None, "too large a value was stored")
        c.close()
        good.sendall(b"version\r\n")
        check(readline(good).startswith(b"VERSION"), "good client")
    finally:
        check(s.stop() == 0, "exit: " + s.output())


def t_multiget():
    """One get of many keys over every node, as pipelined sets left them."""
    s = Server(nodes=4, threads=2)
    try:
        c = s.conn()
        keys = [b"m:%d" % i for i in range(200)]
        c.sendall(b"".join(b"set %s %d 0 %d noreply\r\n%s\r\n" %
                           (k, i, len(k), k) for i, k in enumerate(keys)))
        c.sendall(b"get " + b" ".join(keys) + b"\r\n")
        data = until(c, b"END\r\n")
        check(data.count(b"VALUE ") == len(keys), "%d of %d values" %
              (data.count(b"VALUE "), len(keys)))
        for i, k in enumerate(keys):
            check(b"VALUE %s %d %d\r\n%s\r\n" % (k, i, len(k), k) in data,
                  "value of %r" % k)
        # stats reset zeroes the counters, not the items (memcached's).
        c.sendall(b"stats reset\r\n")
        check(until(c, b"\r\n") == b"RESET\r\n", "stats reset")
        c.sendall(b"get m:1\r\n")
        until(c, b"END\r\n")
        c.sendall(b"get nosuch\r\n")
        until(c, b"END\r\n")
        c.sendall(b"stats\r\n")
        st = until(c, b"END\r\n")
        for want in (b"STAT cmd_get 2\r\n", b"STAT get_hits 1\r\n",
                     b"STAT get_misses 1\r\n", b"STAT cmd_set 0\r\n",
                     b"STAT total_items 0\r\n", b"STAT curr_items 200\r\n"):
            check(want in st, "after stats reset, no %r in %r" % (want, st))
    finally:
        check(s.stop() == 0, "exit: " + s.output())


def t_rounds():
    """Pipelined commands of one key, the first of which takes a second
    round: what a later one sees is what one after the other gives
    (memcached 1.6.18: "ma k N0 J5" then "get k" reads 5; "ma k D3 T100"
    then "mg k v t" reads 8 and t100). Half of the vivify pairs missed
    before the gateway waited for answers, not just for done requests."""
    s = Server(nodes=4, threads=1)
    try:
        c = s.conn()
        for i in range(300):
            k = b"r:%d" % i
            c.sendall(b"ma %s N0 J5\r\nget %s\r\nma %s D3 T100\r\n"
                      b"mg %s v t\r\nmn\r\n" % (k, k, k, k))
            data = until(c, b"MN\r\n")
            # t100, or t99 where the clock's second turned in between
            check(data.replace(b" t99\r\n", b" t100\r\n") ==
                  b"HD\r\nVALUE %s 0 1\r\n5\r\nEND\r\nHD\r\n"
                  b"VA 1 t100\r\n8\r\nMN\r\n" % k,
                  "pair %d answered %r" % (i, data))
    finally:
        check(s.stop() == 0, "exit: " + s.output())


def t_sizes():
    """Values on both sides of a GET's first buffer (16 KiB, which a longer
    value outgrows and is read again in one as long; the gateway then
    starts GETs that long until 32 shorter ones in a row): each comes
    back byte for byte, alone, in a multi-get beside short ones, and
    after runs of short GETs."""
    s = Server("-I", "1m", nodes=2)
    try:
        c = s.conn()
        sizes = [0, 100, 16383, 16384, 16385, 70000, 500000, 1000000]
        vals = {}
        for n in sizes:
            k = b"z:%d" % n
            vals[k] = bytes((i * 7 + n) & 0xff for i in range(n))
            c.sendall(b"set %s %d 0 %d\r\n%s\r\n" % (k, n & 0xffff, n,
                                                      vals[k]))
            check(until(c, b"\r\n") == b"STORED\r\n", "set %r" % k)

        def want(k):
            v = vals[k]
            return b"VALUE %s %d %d\r\n%s\r\n" % (k, len(v) & 0xffff,
                                                   len(v), v)
        order = [b"z:500000", b"z:100", b"z:1000000", b"z:16385", b"z:0",
                 b"z:16384", b"z:70000", b"z:16383"] + [b"z:100"] * 40 + \
            [b"z:1000000", b"z:16385"]
        for k in order:
            c.sendall(b"get %s\r\n" % k)
            got = until(c, b"END\r\n")
            check(got == want(k) + b"END\r\n", "get %r: %d bytes" %
                  (k, len(got)))
        ks = list(vals)
        for mix in (ks, ks[::-1]):
            c.sendall(b"get " + b" ".join(mix) + b"\r\n")
            got = until(c, b"END\r\n")
            check(got == b"".join(want(k) for k in mix) + b"END\r\n",
                  "multi-get of every size: %d bytes" % len(got))
    finally:
        check(s.stop() == 0, "exit: " + s.output())


def metadump_raw(c, arg=b"all", wait=0):
    """An lru_crawler metadump's answer, END included. @wait: seconds to
    leave it unread first (the gateway must wait for the client, not
    buffer it all)."""
    c.sendall(b"lru_crawler metadump " + arg + b"\r\n")
    time.sleep(wait)
    return until(c, b"END\r\n")


def metadump_of(c, arg):
    """The items an lru_crawler metadump lists: {key: fields}, each key
    URI-decoded and listed once."""
    data = metadump_raw(c, arg)
    got = {}
    for line in data[:-len(b"END\r\n")].split(b"\n")[:-1]:
        m = re.match(rb"key=(\S+) exp=(-1|\d+) cas=(\d+) cls=(\d+) "
                     rb"size=(\d+)$", line)
        check(m is not None, "metadump line %r" % line[:200])
        key = re.sub(rb"%([0-9A-F]{2})",
                     lambda h: bytes([int(h.group(1), 16)]), m.group(1))
        check(key not in got, "metadump lists %r twice" % key)
        got[key] = tuple(int(x) for x in m.groups()[1:])
    return got


def t_metadump():
    """lru_crawler metadump (memcached-tool's keys and dump read it): every
    unexpired key of every node once, URI-encoded, with its expiry, CAS,
    class and size; a class list lists those classes only; past the
    gateway's output bound (4 MiB) the walk waits for the client to read,
    while another connection is served."""
    # -m 256: room for every key (a full partition would evict some)
    s = Server("-m", "256", nodes=4, threads=1)
    try:
        a, b = s.conn(), s.conn()
        check(metadump_of(a, b"all") == {}, "an empty table's metadump")
        now = int(time.time())
        odd = [b"k%20y", b"a/b\x01", b"~._-Zz9"]
        for k in odd:
            check(store(a, k, b"x") == b"STORED\r\n", "set %r" % k)
        a.sendall(b"set big 0 100 3000\r\n" + b"y" * 3000 + b"\r\n")
        check(readline(a) == b"STORED\r\n", "set big")
        a.sendall(b"set gone 0 1 1\r\nz\r\n")
        check(readline(a) == b"STORED\r\n", "set gone")
        time.sleep(2.1)
        got = metadump_of(a, b"all")
        check(sorted(got) == sorted(odd + [b"big"]),
              "metadump all: %r" % sorted(got))
        check(got[b"big"][0] in range(now + 99, now + 103) and
              got[b"big"][3] == (32 + 3 + 3000 + 15) // 16 * 16,
              "big's fields %r" % (got[b"big"],))
        check(all(got[k][0] == -1 and got[k][1] > 0 for k in odd),
              "no expiry, a CAS: %r" % got)
        cls = got[b"big"][2]
        check(metadump_of(a, b"hash") == got, "metadump hash")
        check(sorted(metadump_of(a, b"%d" % cls)) == [b"big"],
              "metadump of big's class %d" % cls)
        small = {got[k][2] for k in odd}
        check(sorted(metadump_of(a, b",".join(b"%d" % n for n in small))) ==
              sorted(odd), "metadump of classes %r" % small)
        for arg, want in ((b"0", b"BADCLASS invalid class id"),
                          (b"64", b"BADCLASS invalid class id"),
                          (b",", b"NOTSTARTED no items to crawl")):
            a.sendall(b"lru_crawler metadump " + arg + b"\r\n")
            check(readline(a) == want + b"\r\n", "metadump %r" % arg)
        # 250,000 keys: 11 MB of lines, past the gateway's 4 MiB and what
        # the kernel holds for a client with a small receive buffer (the
        # gateway then waits with its walk); read after a pause, while
        # another connection is served.
        a.sendall(b"".join(b"set md%06d 0 0 1 noreply\r\nv\r\n" % i
                           for i in range(250000)))
        check(store(a, b"last", b"v") == b"STORED\r\n", "the sets")
        check(stats_of(a)["evictions"] == "0", "evictions")
        r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        r.settimeout(60)  # a walk that never goes on fails, not hangs
        r.connect(("127.0.0.1", s.port))
        r.sendall(b"lru_crawler metadump all\r\n")
        time.sleep(1)
        check(store(b, b"during", b"v") == b"STORED\r\n" and
              get(b, b"during") == b"v", "another client during the dump")
        data = until(r, b"END\r\n")
        keys = set(re.findall(rb"^key=(md\d{6}) ", data, re.M))
        check(len(keys) == 250000 and len(data) > 8 << 20,
              "the long metadump: %d of 250000 keys, %d bytes" %
              (len(keys), len(data)))
        check(get(r, b"last") == b"v", "a get after it")
        r.close()
        # Left unread a second, then read at once: the gateway's 4 MiB
        # goes out in a write or two, and the walk must go on by itself.
        a.settimeout(60)
        keys = set(re.findall(rb"^key=(md\d{6}) ",
                              metadump_raw(a, wait=1), re.M))
        check(len(keys) == 250000, "read late: %d of 250000 keys" % len(keys))
    finally:
        check(s.stop() == 0, "exit: " + s.output())


CHECKS = {"signals": t_signals, "flags": t_flags, "port": t_port,
          "stats": t_stats, "metadump": t_metadump,
          "conn-limit": t_conn_limit,
          "node-death": t_node_death, "bad-clients": t_bad_clients,
          "multiget": t_multiget, "rounds": t_rounds, "sizes": t_sizes}


def main():
    global BUILD, LOGDIR
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("checks", nargs="*")
    a = ap.parse_args()
    BUILD = a.build
    LOGDIR = os.path.join(BUILD, "check", "skcached")
    os.makedirs(LOGDIR, exist_ok=True)
    failed = 0
    for name in a.checks or CHECKS:
        t0 = time.time()
        try:
            CHECKS[name]()
            print("ok   %-12s (%.1f s)" % (name, time.time() - t0), flush=True)
        except Fail as e:
            print("FAIL %-12s %s" % (name, e), flush=True)
            failed += 1
    print("skcached server: %d passed, %d failed" %
          (len(a.checks or CHECKS) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
