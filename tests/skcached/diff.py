#!/usr/bin/env python3
# diff.py - the differential test of a memcached-protocol server: the same
# random sessions of text and meta commands are sent to a real memcached
# 1.6 (the oracle) and to the server under test, and the two must answer
# identically, apart from CAS values and stats numbers (issue 13).
#
# Each command (or a small pipelined batch of them) is followed by "mn";
# the answer is every byte up to the matching "MN", so noreply and quiet
# commands need no special reading. Values never hold a capital letter,
# so "MN" cannot appear inside one.
#
# Normalisation, applied to each server's answers independently:
#   - CAS values: each server's (key, CAS number) pairs are mapped to
#     tokens in the order that server first showed them (#1, #2, ...).
#     A command on a key that needs a CAS picks one of that key's tokens,
#     and each server is sent its own number for it; so a server must
#     hand back the same CAS for an unchanged item, a new one after a
#     change (never one the key had before), and accept the one it gave.
#     CAS numbers may repeat across keys (memcached's do not, but a
#     client never compares two keys' CAS). Meta commands that ask for
#     c also ask for k, so that each CAS comes with its key.
#   - stats: every "STAT name value" line becomes "STAT" (names too,
#     unless --stats-names), "VERSION x" becomes "VERSION".
#   - mg's t (seconds left): the two servers' figures may differ by 2 s
#     (the clock ticks during a run; they are asked a moment apart).
# Nothing else depends on the wall clock: expiry is 0, hours ahead, a
# negative number (expired at once), or an absolute time long past or
# far ahead; flush_all is only sent without a delay.
#
# Usage: diff.py (--server 'CMD {port}' | --addr HOST:PORT)
#                [--ref 'CMD {port}' | --ref-addr HOST:PORT]
#                [--seeds 1,2,3] [--count 5000] [--stats-names]
#                [--max-mismatches N] [-v]
#                [--without-ctl-keys] [--without-flags [CMD:]LETTERS,...]
#                [--without-huge]
# (the --without options narrow the sessions, to look past a known
# difference; the test is the run without them)
# A command line gets a free port in place of {port}, is started, waited
# for and killed at the end. The default reference is the memcached on
# PATH (`memcached -p {port} -U 0 -l 127.0.0.1`).
# Exit status: 0 identical, 1 a mismatch (seed, index, command and both
# answers printed), 2 usage or a server that cannot be started/reached.

import argparse
import os
import random
import select
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from free_port import free_port  # noqa: E402

TTL_SLACK = 2          # seconds two servers' mg t may differ by (clock)
TIMEOUT = 5.0          # seconds to wait for one answer before "<timeout>"
MAX_ITEM = 1024 * 1024  # memcached's default -I


class Fail(Exception):
    pass


class Server:
    """One server: started from a command line, or just an address."""

    def __init__(self, name, cmd=None, addr=None):
        self.name = name
        self.proc = None
        if cmd is not None:
            port = free_port()
            argv = shlex.split(cmd.replace("{port}", str(port)))
            if not argv:
                raise Fail("%s: empty command line" % name)
            # its output goes to a file, shown if it fails to start or dies
            self.log = tempfile.TemporaryFile()
            try:
                # own process group: the whole tree is stopped at the end
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                             stdout=self.log,
                                             stderr=subprocess.STDOUT,
                                             start_new_session=True)
            except OSError as e:
                raise Fail("%s: cannot start %s: %s" % (name, argv[0], e))
            self.host, self.port = "127.0.0.1", port
            deadline = time.time() + 30
            while True:
                if self.proc.poll() is not None:
                    raise Fail("%s: '%s' exited with status %d before "
                               "listening:\n%s" % (name, " ".join(argv),
                                                   self.proc.returncode,
                                                   self.output()))
                try:
                    socket.create_connection((self.host, port), 1).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        self.stop()
                        raise Fail("%s: nothing listens on port %d after "
                                   "30 s" % (name, port))
                    time.sleep(0.1)
        else:
            host, _, port = addr.rpartition(":")
            if not host or not port.isdigit():
                raise Fail("%s: bad address '%s' (HOST:PORT)" % (name, addr))
            self.host, self.port = host, int(port)
        self.sock = None
        self.buf = b""
        self.cas_tok = {}   # (key, this server's CAS number) -> token
        self.tok_cas = {}   # token -> this server's CAS number
        self.tok_key = {}   # token -> its key
        self.connect()

    def output(self):
        """The last lines the started server printed."""
        if self.proc is None:
            return ""
        self.log.seek(0)
        return b"\n".join(self.log.read().splitlines()[-20:]).decode(
            errors="replace")

    def dead(self):
        """A message if the server this script started has exited."""
        if self.proc is None or self.proc.poll() is None:
            return None
        return "%s exited with status %d:\n%s" % (
            self.name, self.proc.returncode, self.output())

    def connect(self):
        if self.sock:
            self.sock.close()
        try:
            self.sock = socket.create_connection((self.host, self.port), 10)
        except OSError as e:
            raise Fail("%s: cannot connect to %s:%d: %s" %
                       (self.name, self.host, self.port, e))
        self.sock.settimeout(TIMEOUT)
        self.buf = b""

    def stop(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except (OSError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait()

    def exchange(self, data, n_mn):
        """Send data; return the bytes up to the n_mn-th "MN" line (or
        what came before EOF or a timeout, marked). A closed or timed-out
        connection is reopened for the next exchange."""
        # Read while sending: a server may answer an error early in a
        # long send and then close (memcached, on a value that follows a
        # bad line, closes for a line too long), and an answer the client
        # has not read when the server's reset arrives is lost: read first,
        # as a client that pipelines would.
        out = self.buf
        self.buf = b""
        sent = 0
        try:
            while sent < len(data):
                r, w, _ = select.select([self.sock], [self.sock], [],
                                        TIMEOUT)
                if r:
                    d = self.sock.recv(1 << 20)
                    if not d:
                        raise OSError("EOF")
                    out += d
                if w:
                    sent += self.sock.send(data[sent:sent + (1 << 16)])
                if not r and not w:
                    raise socket.timeout()
        except OSError:
            self.connect()
            return out + (b"<closed before send>\r\n" if sent == 0 else
                          b"<closed>\r\n")
        seen = 0
        pos = 0
        while True:
            # count MN lines at line starts in out[pos:]
            while True:
                i = out.find(b"MN\r\n", pos)
                if i < 0:
                    pos = max(pos, len(out) - 3)
                    break
                if i == 0 or out[i - 2:i] == b"\r\n":
                    seen += 1
                    pos = i + 4
                    if seen == n_mn:
                        self.buf = out[pos:]
                        return out[:pos]
                else:
                    pos = i + 1
            try:
                d = self.sock.recv(1 << 20)
            except socket.timeout:
                self.connect()
                return out + b"<timeout>\r\n"
            except OSError:
                self.connect()
                return out + b"<closed>\r\n"
            if not d:
                self.connect()
                return out + b"<closed>\r\n"
            out += d

    def token(self, key, cas):
        """CAS numbers are tokens per key: memcached's are unique across
        keys too, but a client compares a CAS only with its own key's,
        so a server may number each key (or node) on its own."""
        t = self.cas_tok.get((key, cas))
        if t is None:
            t = "#%d" % (len(self.cas_tok) + 1)
            self.cas_tok[(key, cas)] = t
            self.tok_cas[t] = cas
            self.tok_key[t] = key
        return t

    def normalize(self, raw, stats_names):
        """The answer as a list of lines with CAS numbers, stats and
        versions replaced as described at the top. Value data lines are
        kept as they are (a VALUE/VA header gives their length)."""
        lines = []
        self.ttls = []
        i = 0
        while i < len(raw):
            j = raw.find(b"\r\n", i)
            if j < 0:
                lines.append(raw[i:] + b"<no CRLF>")
                break
            line = raw[i:j]
            i = j + 2
            w = line.split(b" ")
            nbytes = None
            if w[0] == b"VALUE" and len(w) in (4, 5):
                if len(w) == 5 and w[4].isdigit():
                    w[4] = self.token(w[1], int(w[4])).encode()
                if w[3].isdigit():
                    nbytes = int(w[3])
            elif w[0] in (b"VA", b"HD", b"EN", b"NF", b"NS", b"EX"):
                if w[0] == b"VA" and len(w) > 1 and w[1].isdigit():
                    nbytes = int(w[1])
                # the generator asks for k wherever it asks for c
                key = ([f[1:] for f in w[1:] if f[:1] == b"k"] or [None])[0]
                for k in range(1, len(w)):
                    f = w[k]
                    if f[:1] == b"c" and f[1:].isdigit():
                        w[k] = b"c" + self.token(key, int(f[1:])).encode()
                    elif f[:1] == b"t" and f[1:].isdigit():
                        w[k] = b"t~"
                        self.ttls.append(int(f[1:]))
            elif w[0] == b"STAT":
                # one line for the whole list: its length is the server's
                # business, and so are its names unless --stats-names
                names = w[1:2] if stats_names else []
                if lines and lines[-1].startswith(b"STAT"):
                    if names:
                        # in sorted order: the order is not the protocol's
                        ws = sorted(lines[-1].split(b" ")[1:] + names)
                        lines[-1] = b" ".join([b"STAT"] + ws)
                else:
                    lines.append(b" ".join([b"STAT"] + names))
                continue
            elif w[0] == b"VERSION":
                w = [b"VERSION"]
            lines.append(b" ".join(w))
            if nbytes is not None and i + nbytes + 2 <= len(raw):
                lines.append(b"  data: " + raw[i:i + nbytes])
                i += nbytes
                if raw[i:i + 2] == b"\r\n":
                    i += 2
                else:
                    lines.append(b"<data not followed by CRLF>")
        return lines


# ---- the generator ---------------------------------------------------

# No stored byte is ever '-': memcached 1.6's incr/decr on a value of 2^63
# or more checks for a minus sign with strchr() from the value's start,
# which runs past the value's "\r\n" into whatever the slab chunk held
# before, up to a NUL; a '-' left there by an older item makes the same
# command "non-numeric" on one run and not the next. Minus signs still
# come on command lines (deltas, flags, exptimes), which are parsed whole.
NUMS = [b"0", b"1", b"42", b"18446744073709551615", b"18446744073709551614",
        b"18446744073709551616", b"9223372036854775807",
        b"9223372036854775808", b"00012", b"+1", b"12 ", b" 12", b"abc", b"",
        b"4294967296", b"99999999999999999999", b"1\r\n2"]
DELTAS = [b"1", b"0", b"7", b"1000", b"18446744073709551615",
          b"18446744073709551614", b"9223372036854775808",
          b"18446744073709551616", b"-1", b"abc", b"1x", b"0001"]
# hours ahead, never expiring, expired at once, absolute past (1970 + 31
# days), absolute far ahead (2033), and out of range for memcached's int
EXPS = [b"0", b"0", b"0", b"0", b"0", b"0", b"3600", b"7200", b"-1", b"-3600", b"2678401",
        b"2000000000"]
BAD_EXPS = [b"abc", b"2147483648", b"-2147483649", b"1.5"]
FLAGS = [b"0", b"0", b"1", b"65535", b"4294967295"]
BAD_FLAGS = [b"4294967296", b"-1", b"x", b"18446744073709551616"]
ALPHA = b"abcdefghijklmnopqrstuvwxyz0123456789 _.\r\n\x00\xff"


class Gen:
    def __init__(self, seed, no_ctl=False, no_flags=b"", no_huge=False):
        self.r = random.Random(seed)
        # "LETTERS" for every meta command, or "cmd:LETTERS,..." for some
        self.no_flags = {}
        for part in no_flags.split(b","):
            cmd, _, letters = part.rpartition(b":")
            for i in range(len(letters)):
                self.no_flags.setdefault(cmd or None, set()).add(
                    letters[i:i + 1])
        self.no_huge = no_huge
        p = b"d%d_" % seed
        # (three with a prefix, for stats detail's counts)
        self.keys = [p + k for k in (b"a", b"x:b", b"x:c", b"y:d", b"e",
                                     b"f")]
        self.keys.append(p + b"n")             # mostly numeric
        self.keys.append(p.ljust(250, b"L"))  # the longest valid key
        # rare keys: one byte too long (refused), and control bytes, which
        # memcached's tokenizer keeps in a key (memaslap's start with 0x10s)
        self.bad = [p.ljust(251, b"L"),
                    p + b"ctl\x01x", p + b"\x7f", b"\x10\x10" + p + b"m",
                    p + b"t\tb", p + b"c\rr"]
        if no_ctl:                            # --without-ctl-keys
            self.bad = [self.bad[0], p + b"ctl_x", p + b"_"]

    def key(self):
        r = self.r
        if r.random() < 0.03:
            return r.choice(self.bad)
        return r.choice(self.keys)

    def value(self):
        r = self.r
        x = r.random()
        if x < 0.35:
            return r.choice(NUMS)
        if x < 0.93:
            return bytes(r.choice(ALPHA) for _ in range(r.randint(0, 40)))
        if x < 0.99:
            return bytes(r.choice(ALPHA[:26]) for _ in range(r.randint(
                1000, 5000)))
        if x < 0.995:
            # well inside -I 1m (--without-huge: 100 KB)
            return b"v" * (100000 if self.no_huge else 1000000)
        return b"w" * (MAX_ITEM + 100)            # past it

    def exp(self):
        r = self.r
        return r.choice(BAD_EXPS if r.random() < 0.03 else EXPS)

    def flags(self):
        r = self.r
        return r.choice(BAD_FLAGS if r.random() < 0.03 else FLAGS)

    def cas(self, key, toks, good=False):
        """A CAS token this key showed before (most of the time) or a
        number no server gave."""
        r = self.r
        toks = toks.get(key)
        if toks and r.random() < 0.8:
            # the newest tokens are the likeliest to still be current
            if r.random() < 0.6:
                return r.choice(toks[-3:]).encode()
            return r.choice(toks).encode()
        return r.choice([b"=999999999999", b"=0",
                         b"=18446744073709551615"] +
                        ([] if good else [b"=abc"]))

    def noreply(self):
        return b" noreply" if self.r.random() < 0.15 else b""

    def storage(self, cmd, toks):
        r = self.r
        v = self.value()
        if len(v) > 4096:
            # A big value that memcached reads as a command line (after a
            # refused line) makes it close the connection while the value
            # is still being sent: what each side then reads depends on
            # timing. So big values only come on good lines.
            key = r.choice(self.keys)
            line = [cmd, key, r.choice(FLAGS), r.choice(EXPS), b"%d" % len(v)]
            if cmd == b"cas":
                line.append(self.cas(key, toks, good=True))
            return b" ".join(line) + self.noreply() + b"\r\n" + v + b"\r\n"
        n = b"%d" % len(v)
        x = r.random()
        if x < 0.02:
            v += b"xyz"              # longer than announced: bad data chunk
        elif x < 0.03:
            n = r.choice([b"abc", b"-1"])
        key = self.key()
        line = [cmd, key, self.flags(), self.exp(), n]
        if cmd == b"cas":
            line.append(self.cas(key, toks))
        if n in (b"abc", b"-1"):
            # refused before any data: memcached swallows nothing, so
            # send none (the data would be read as commands)
            return b" ".join(line) + self.noreply() + b"\r\n"
        return b" ".join(line) + self.noreply() + b"\r\n" + v + b"\r\n"

    def meta_flags(self, pool, cmd):
        r = self.r
        fl = r.sample(pool, r.randint(0, min(len(pool), 5)))
        # --without-flags: the draw is the same, the letters are dropped,
        # so the rest of the session stays what it was
        drop = self.no_flags.get(None, set()) | \
            self.no_flags.get(cmd, set())
        fl = [f for f in fl if f[:1] not in drop]
        if b"T-1" in fl and b"t" in fl:
            # memcached's t of an item it just expired is its exptime less
            # its own uptime clock, as an unsigned number (2^32 - 61 a
            # minute after its start): not a figure two servers share
            fl.remove(b"t")
        if b"c" in fl and b"k" not in fl:
            fl.append(b"k")     # CAS tokens are per key: name it
        return b"".join(b" " + f for f in fl)

    def command(self, toks):
        r = self.r
        x = r.random()
        k = self.key
        if x < 0.30:
            return self.storage(r.choice([b"set", b"set", b"add", b"replace",
                                          b"append", b"prepend", b"cas"]),
                                toks)
        if x < 0.45:
            c = r.choice([b"get", b"gets", b"gets"])
            ks = b" ".join(k() for _ in range(r.randint(1, 4)))
            return c + b" " + ks + b"\r\n"
        if x < 0.50:
            c = r.choice([b"gat", b"gats"])
            ks = b" ".join(k() for _ in range(r.randint(1, 3)))
            return c + b" " + self.exp() + b" " + ks + b"\r\n"
        if x < 0.56:
            tail = b" 0" if r.random() < 0.05 else b""
            return b"delete " + k() + tail + self.noreply() + b"\r\n"
        if x < 0.64:
            c = r.choice([b"incr", b"decr"])
            key = self.keys[6] if r.random() < 0.6 else k()
            return c + b" " + key + b" " + r.choice(DELTAS) + \
                self.noreply() + b"\r\n"
        if x < 0.67:
            return b"touch " + k() + b" " + self.exp() + self.noreply() + \
                b"\r\n"
        if x < 0.77:
            fl = [b"v", b"v", b"k", b"s", b"f", b"t", b"c", b"q", b"O123",
                  b"T3600", b"T-1", b"N3600", b"E77", b"R30", b"R5400"]
            # (R's times are apart from every expiry the sessions give,
            # 3600 and 7200: at an equal one the win would depend on which
            # second each server's clock is in)
            if r.random() < 0.03:
                fl.append(b"z")
            return b"mg " + k() + self.meta_flags(fl, b"mg") + b"\r\n"
        if x < 0.86:
            v = self.value()
            key = k()
            fl = [b"T0", b"T3600", b"T-1", b"F7", b"F4294967295", b"c", b"k",
                  b"q", b"O9", b"I", b"MS", b"ME", b"MA", b"MP", b"MR",
                  b"E1234"]
            fl.append(b"C" + self.cas(key, toks))
            if r.random() < 0.02:
                fl.append(b"Mx")
            return b"ms " + key + b" %d" % len(v) + \
                self.meta_flags(fl, b"ms") + \
                b"\r\n" + v + b"\r\n"
        if x < 0.89:
            key = k()
            fl = [b"q", b"k", b"O5", b"I", b"T3600", b"x"]
            fl.append(b"C" + self.cas(key, toks))
            return b"md " + key + self.meta_flags(fl, b"md") + b"\r\n"
        if x < 0.95:
            key = self.keys[6] if r.random() < 0.6 else k()
            fl = [b"N3600", b"J10", b"J18446744073709551615", b"D5",
                  b"D18446744073709551615", b"MI", b"MD", b"M+", b"M-",
                  b"v", b"t", b"c", b"k", b"q", b"O3", b"T7200"]
            fl.append(b"C" + self.cas(key, toks))
            return b"ma " + key + self.meta_flags(fl, b"ma") + b"\r\n"
        if x < 0.96:
            return b"mn\r\n"
        y = r.random()
        if y < 0.2:
            return b"flush_all" + r.choice([b"", b" 0", b" noreply"]) + \
                b"\r\n"
        if y < 0.4:
            # (stats items is left out: memcached's flush_all leaves
            # its items counted until they are touched, kv's go at once)
            return r.choice([b"version\r\n", b"verbosity 1\r\n",
                             b"verbosity 0 noreply\r\n", b"stats\r\n",
                             b"stats slabs\r\n", b"stats cachedump\r\n",
                             b"stats cachedump 1\r\n",
                             b"stats cachedump x 0\r\n",
                             b"stats cachedump 0 0\r\n",
                             b"stats cachedump 64 0\r\n",
                             b"stats cachedump 3 -1\r\n",
                             b"shutdown\r\n", b"shutdown graceful\r\n",
                             b"stats detail\r\n", b"stats detail x\r\n",
                             b"stats detail on\r\n",
                             b"stats detail off\r\n",
                             b"stats detail dump\r\n",
                             b"stats conns\r\n"])
        if y < 0.7:
            return r.choice([b"bogus\r\n", b"\r\n", b"GET " + k() + b"\r\n",
                             b"get\r\n", b"set " + k() + b"\r\n",
                             b"incr " + k() + b"\r\n", b"mg\r\n",
                             b"touch " + k() + b"\r\n"])
        if y < 0.75:
            return b"quit\r\n"
        return b"get " + self.keys[0] + b"\r\n"


def resolve(cmd, srv):
    """Replace each "=TOKEN" the generator put in a CAS position of the
    command line (not the data after it) with this server's number for
    it; "=#N" that this server never showed becomes a number no server
    hands out, "=NUMBER" and "=junk" are sent as they are."""
    j = cmd.find(b"\r\n")
    line, rest = cmd[:j], cmd[j:]
    out = []
    for w in line.split(b" "):
        head = b""
        if w[:2] == b"C=":
            head, w = b"C", w[1:]
        if w[:1] == b"=":
            t = w[1:].decode()
            if t.startswith("#"):
                w = b"%d" % srv.tok_cas.get(t, 999999999999)
            else:
                w = t.encode()
        out.append(head + w)
    return b" ".join(out) + rest


def show(b, limit=400):
    s = repr(b)
    return s if len(s) <= limit else s[:limit] + "...(%d bytes)" % len(b)


SPACE = b" \t\n\v\f\r"


def strtoull_ok(b):
    """memcached's safe_strtoull on a NUL-terminated token: the number, or
    None where memcached refuses it."""
    t = b.lstrip(SPACE)
    if t[:1] in (b"+", b"-"):
        neg, t = t[:1] == b"-", t[1:]
    else:
        neg = False
    d = len(t) - len(t.lstrip(b"0123456789"))
    if d == 0 or (t[d:] and t[d:d + 1] not in SPACE):
        return None
    v = int(t[:d])
    if v >= 2 ** 64:
        return None                      # ERANGE
    if neg:
        v = (2 ** 64 - v) % 2 ** 64      # strtoull negates...
        if v >= 2 ** 63 or v == 0:
            return None if v >= 2 ** 63 else 0
    return v


def mc_time(ref):
    """The reference's clock (stats' time), or ours if it says none."""
    for line in ref.exchange(b"stats\r\nmn\r\n", 1).split(b"\r\n"):
        f = line.split(b" ")
        if len(f) == 3 and f[:2] == [b"STAT", b"time"] and f[2].isdigit():
            return int(f[2])
    return int(time.time())


def big_incr(ref, sut, cmd):
    """memcached's incr/decr of a stored number of 2^63 or more looks for
    a minus sign past the value's end (see NUMS): the oracle's answer then
    depends on stale slab bytes. For such a command, ask the reference
    what it holds and give (command, the answer memcached means, what to
    send the reference instead: a set of the result, the bytes of the
    question to each server). None: ask it as usual. An ma becomes
    "incr KEY 1" here, so that the answer is known. The question (an mg)
    goes to both servers, as it may change state (a stale item's win
    flag), and its answers are compared with the command's."""
    w = cmd.split(b"\r\n")[0].split(b" ")
    if w[0] not in (b"incr", b"decr", b"ma") or len(w) < 2:
        return None, (b"", b"")
    ask = b"mg " + w[1] + b" v f t\r\nmn\r\n"
    raw = ref.exchange(ask, 1)
    asked = (raw, sut.exchange(ask, 1))
    head, _, rest = raw.partition(b"\r\n")
    h = head.split(b" ")
    if h[0] != b"VA" or len(h) != 4:
        return None, asked
    data = rest[:int(h[1])]
    t = data.lstrip(SPACE)
    d = len(t) - len(t.lstrip(b"0123456789"))
    if d == 0 or int(t[:d]) < 2 ** 63 or int(t[:d]) >= 2 ** 64 or \
            (t[d:] and t[d:d + 1] not in SPACE):
        return None, asked
    v = int(t[:d])
    if w[0] == b"ma":
        cmd = b"incr " + w[1] + b" 1\r\n"
        w = cmd[:-2].split(b" ")
    if len(w) not in (3, 4) or (len(w) == 4 and w[3] != b"noreply"):
        return None, asked
    delta = strtoull_ok(w[2])
    if delta is None or b"-" in w[2] and delta >= 2 ** 63:
        return None, asked
    nv = (v + delta) % 2 ** 64 if w[0] == b"incr" else max(v - delta, 0)
    digits = b"%d" % nv
    new = digits.ljust(len(data)) if len(digits) <= len(data) else digits
    flags = int(h[2][1:])
    ttl = int(h[3][1:])
    if ttl < 0:
        exp = 0
    elif ttl > 30 * 86400:
        # memcached: an absolute time, its expiry = its own clock (stats'
        # time: coarse, a second or so behind ours) + the TTL it showed.
        # Our clock in its place moved the item's expiry on by that much
        # at every such fix (3 s in one run: past the slack), and could
        # pass 2^31 - 1, where the set would be refused.
        exp = min(mc_time(ref) + ttl, 2 ** 31 - 1)
    else:
        exp = max(ttl, 1)
    fix = b"set %s %d %d %d noreply\r\n%s\r\n" % (w[1], flags, exp,
                                                  len(new), new)
    answer = b"" if len(w) == 4 else digits + b"\r\n"
    return (cmd, answer, fix), asked


def run_seed(seed, count, ref, sut, stats_names, verbose, stats, a):
    g = Gen(seed, a.without_ctl_keys, a.without_flags.encode(),
            a.without_huge)
    for s in (ref, sut):
        s.connect()
        s.exchange(b"flush_all\r\nmn\r\n", 1)
    i = 0
    pending = None
    while i < count:
        toks = {}
        for t in sorted(set(ref.tok_cas) & set(sut.tok_cas),
                        key=lambda t: int(t[1:])):
            if ref.tok_key[t] == sut.tok_key[t]:
                toks.setdefault(ref.tok_key[t], []).append("=" + t)
        n = 1 if g.r.random() < 0.85 else g.r.randint(2, 4)
        batch = []
        while len(batch) < min(n, count - i):
            c = pending or g.command(toks)
            pending = None
            if batch and c.split(b" ", 1)[0] in (b"incr", b"decr", b"ma"):
                # memcached pads an incr's result with spaces in place
                # only when nothing else holds the item, and a read
                # earlier in the same batch may still hold it for its
                # answer: arithmetic opens a batch, so that the oracle
                # answers one way
                pending = c
                break
            if batch and is_long_key_get(c):
                # memcached drops the answers still queued before a get
                # whose key is over 250 bytes (its error resets the
                # connection's responses): such a get opens a batch too
                pending = c
                break
            batch.append(c)
        n_mn = 1 + sum(1 for c in batch if c == b"mn\r\n")
        big, asked = None, (b"", b"")
        w0 = batch[0].split(b"\r\n")[0].split(b" ")
        if w0[0] in (b"incr", b"decr", b"ma") and len(w0) >= 2:
            big, asked = big_incr(ref, sut, batch[0])
        if big:
            batch[0] = big[0]
        answers = []
        for s, pre in zip((ref, sut), asked):
            cmds = [resolve(c, s) for c in batch]
            if big and s is ref:
                cmds[0], pre = big[2], pre + big[1]
            elif big:
                # the same set after the incr, whose value it already
                # holds: both count a set (stats detail)
                cmds.insert(1, big[2])
            raw = s.exchange(b"".join(cmds) + b"mn\r\n", n_mn)
            answers.append(s.normalize(pre + raw, stats_names))
        if answers[0] == answers[1] and any(
                abs(a - b) > TTL_SLACK for a, b in zip(ref.ttls, sut.ttls)):
            answers = [a + [b"<t: %s>" % b" ".join(b"%d" % x for x in s.ttls)]
                       for a, s in zip(answers, (ref, sut))]
        if big:
            stats["big"] += 1
        # the stale-item and win-token flags the reference showed (mg's
        # W, X and Z after md I, ms I and N), to show they were reached
        for line in answers[0]:
            if line[:3] in (b"VA ", b"HD ", b"HD"):
                for f in line.split(b" ")[1:]:
                    if f in (b"W", b"X", b"Z"):
                        stats["tokens"][f] = stats["tokens"].get(f, 0) + 1
        for s in (ref, sut):
            if s.dead():
                raise Fail("seed %d, command %d: %s" % (seed, i, s.dead()))
        if answers[0] != answers[1]:
            print("diff.py: MISMATCH seed %d, command %d%s:" %
                  (seed, i, "" if len(batch) == 1 else
                   "-%d (one pipelined batch)" % (i + len(batch) - 1)))
            if asked[0]:
                print("  (the batch was preceded by: mg %s v f t, whose "
                      "answer comes first)" % show(w0[1], 60))
            for j, c in enumerate(batch):
                print("  command %d: %s" % (i + j, show(c)))
                if any(b"=#" in w for w in c.split(b" ")):
                    print("    to %s: %s" % (ref.name, show(resolve(c, ref))))
                    print("    to %s: %s" % (sut.name, show(resolve(c, sut))))
            for s, a in zip((ref, sut), answers):
                print("  %s answered:" % s.name)
                for line in a:
                    print("    " + show(line))
            # what each side holds now under the keys of the batch
            keys = [k for k in g.keys + g.bad
                    if any(k in c.split(b"\r\n")[0].split(b" ")
                           for c in batch)]
            for k in keys:
                for s in (ref, sut):
                    raw = s.exchange(b"mg " + k + b" s f t v\r\nmn\r\n", 1)
                    print("  now at %s: mg %s -> %s" %
                          (s.name, show(k, 40), show(raw, 200)))
            stats["mismatches"] += 1
            name = batch[0].split(b"\r\n")[0].split(b" ")[0]
            stats["by"][name] = stats["by"].get(name, 0) + 1
            if stats["mismatches"] >= stats["max"]:
                return False
            # go on from a known state: both emptied, and both sessions
            # opened anew (a half-read answer must not leak onward)
            # and CAS tokens counted anew: one side may have shown a CAS
            # the other did not
            for s in (ref, sut):
                s.connect()
                s.exchange(b"flush_all\r\nmn\r\n", 1)
                s.cas_tok.clear()
                s.tok_cas.clear()
                s.tok_key.clear()
        if verbose:
            for j, c in enumerate(batch):
                print("%d %s" % (i + j, show(c, 120)))
            for line in answers[0]:
                print("    " + show(line, 120))
        i += len(batch)
    return stats["mismatches"] == 0


def is_long_key_get(c):
    """A get-family command with a key past 250 bytes."""
    w = c.split(b"\r\n")[0].split(b" ")
    return w[0] in (b"get", b"gets", b"gat", b"gats") and \
        any(len(k) > 250 for k in w[1:])


def main():
    ap = argparse.ArgumentParser(
        description="differential test: the server under test against a "
        "real memcached, random text and meta sessions")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--server", metavar="CMD",
                   help="command line that starts the server under test; "
                   "{port} is replaced by a free port")
    g.add_argument("--addr", metavar="HOST:PORT",
                   help="a server under test that is already running")
    r = ap.add_mutually_exclusive_group()
    r.add_argument("--ref", metavar="CMD",
                   help="command line of the reference (default: memcached "
                   "-p {port} -U 0 -l 127.0.0.1 -o no_lru_maintainer,"
                   "no_lru_crawler)")
    r.add_argument("--ref-addr", metavar="HOST:PORT")
    ap.add_argument("--seeds", default="1,2,3",
                    help="comma-separated seeds (default 1,2,3)")
    ap.add_argument("--count", type=int, default=5000,
                    help="commands per seed (default 5000)")
    ap.add_argument("--stats-names", action="store_true",
                    help="also compare the names of stats fields")
    ap.add_argument("--max-mismatches", type=int, default=1, metavar="N",
                    help="report up to N mismatches per seed, emptying both "
                    "servers after each to go on (default 1: stop at the "
                    "first)")
    # To look past known differences (triage only: a passing run with
    # any of these is not the test)
    ap.add_argument("--without-ctl-keys", action="store_true",
                    help="triage: no keys with control bytes")
    ap.add_argument("--without-flags", default="", metavar="LETTERS",
                    help="no meta flags with these letters, in every meta "
                    "command (NIC) or in some (mg:N,md:IC)")
    ap.add_argument("--without-huge", action="store_true",
                    help="triage: 100 KB values instead of 1 MB ones")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every command and its answer")
    a = ap.parse_args()
    try:
        seeds = [int(x) for x in a.seeds.split(",")]
    except ValueError:
        ap.error("--seeds: comma-separated integers, not '%s'" % a.seeds)
    if a.count < 1:
        ap.error("--count: at least 1")
    ref_cmd = a.ref
    if a.ref is None and a.ref_addr is None:
        # The LRU maintainer and crawler threads take references on
        # items, and while one holds an item memcached's incr makes a new
        # item of the bare digits instead of padding the old one with
        # spaces: without them the oracle answers one way.
        ref_cmd = ("memcached -p {port} -U 0 -l 127.0.0.1 "
                   "-o no_lru_maintainer,no_lru_crawler")
        if os.getuid() == 0:
            ref_cmd += " -u root"
    if a.max_mismatches < 1:
        ap.error("--max-mismatches: at least 1")
    servers = []
    failed = 0
    try:
        ref = Server("reference", ref_cmd, a.ref_addr)
        servers.append(ref)
        sut = Server("under test", a.server, a.addr)
        servers.append(sut)
        for seed in seeds:
            t0 = time.time()
            st = {"big": 0, "mismatches": 0, "by": {}, "tokens": {},
                  "max": a.max_mismatches}
            if not run_seed(seed, a.count, ref, sut, a.stats_names,
                            a.verbose, st, a):
                failed += 1
                print("diff.py: seed %d: %d mismatch(es)%s; first commands: %s"
                      % (seed, st["mismatches"],
                         " (stopped at --max-mismatches)"
                         if st["mismatches"] >= a.max_mismatches else "",
                         ", ".join("%s x%d" % (k.decode(errors="replace"), n)
                                   for k, n in sorted(st["by"].items()))))
                if st["mismatches"] >= a.max_mismatches:
                    return 1
                continue
            print("diff.py: seed %d: %d commands, identical answers (%.1f s;"
                  " %d incr/decr of numbers >= 2^63 checked against computed"
                  " results; mg flags W %d, X %d, Z %d)"
                  % (seed, a.count, time.time() - t0, st["big"],
                     st["tokens"].get(b"W", 0), st["tokens"].get(b"X", 0),
                     st["tokens"].get(b"Z", 0)))
        if failed:
            print("diff.py: FAILED, %d of %d seeds had mismatches" %
                  (failed, len(seeds)))
            return 1
        print("diff.py: OK, %d seeds x %d commands" % (len(seeds), a.count))
        return 0
    except Fail as e:
        print("diff.py: %s" % e, file=sys.stderr)
        return 2
    finally:
        for s in servers:
            s.stop()


if __name__ == "__main__":
    sys.exit(main())
