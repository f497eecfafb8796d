#!/usr/bin/env python3
# bootpeer.py - misbehaving peers of Skiff's TCP bootstrap, for
# tests/e2e/jobs.sh. Each mode writes one line to the file given as its
# first argument once it is in place, then holds its sockets until killed.
#
#   blackhole FILE
#       A listener on 127.0.0.1 that never accepts, its backlog filled by
#       connections of its own: the kernel then drops new SYNs, as a
#       filtered port or an unreachable host does, so a connect() waits
#       for its SYN retries (minutes). FILE gets "127.0.0.1:PORT".
#   silent FILE HOST:PORT N
#       N connections to the bootstrap that send nothing.
#   trickle FILE HOST:PORT N
#       N connections that each send a plausible hello one byte at a time,
#       a byte every 100 ms, never finishing (the hello's address length
#       says more bytes follow than will ever come).
#   drip FILE HOST:PORT N
#       N connections that each send a whole hello with a wrong secret at
#       once, then one more byte every 0.5 s, for as long as they live: a
#       server that reads until the client stops would never stop.
# FILE gets "ready" once the connections are up.
import os
import socket
import struct
import sys
import time


def ready(path, line):
    with open(path + ".tmp", "w") as f:
        f.write(line + "\n")
    os.rename(path + ".tmp", path)


def blackhole(path):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    held = []
    # Fill the accept queue: connect until one connection is not
    # completed by the kernel any more.
    for _ in range(64):
        c = socket.socket()
        c.settimeout(0.5)
        try:
            c.connect(("127.0.0.1", port))
        except OSError:
            c.close()
            break
        held.append(c)
    ready(path, "127.0.0.1:%d" % port)
    while True:
        time.sleep(3600)


def connect(addr):
    host, port = addr.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def silent(path, addr, n):
    held = [connect(addr) for _ in range(n)]
    ready(path, "ready")
    while True:
        time.sleep(3600)


def trickle(path, addr, n):
    conns = [connect(addr) for _ in range(n)]
    # A well-formed hello (hostproto.h, struct sk_boot_hello: magic,
    # version 2, rank 0 of a job of 1, a secret) that promises a
    # 1000-byte address: the server cannot tell it from a slow node until
    # the last byte, which never comes in time.
    msg = struct.pack("<IHHII", 0x544B4253, 2, 0, 0, 1) + b"\x00" * 32
    msg += struct.pack("<H", 1000) + b"\x01" * 1000
    ready(path, "ready")
    for i in range(len(msg)):
        for c in conns:
            try:
                c.send(msg[i:i + 1])
            except OSError:
                pass
        time.sleep(0.1)
    while True:
        time.sleep(3600)


def drip(path, addr, n):
    conns = [connect(addr) for _ in range(n)]
    hello = struct.pack("<IHHII", 0x544B4253, 2, 0, 0, 1) + b"\x5a" * 32
    for c in conns:
        c.send(hello)
    ready(path, "ready")
    while True:
        for c in conns:
            try:
                c.send(b"\x00")
            except OSError:
                pass
        time.sleep(0.5)


def main():
    mode = sys.argv[1]
    if mode == "blackhole":
        blackhole(sys.argv[2])
    elif mode == "silent":
        silent(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "trickle":
        trickle(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif mode == "drip":
        drip(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit("bootpeer.py: unknown mode " + mode)


main()
