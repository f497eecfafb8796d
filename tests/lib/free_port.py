#!/usr/bin/env python3
"""A TCP port for a server a test is about to start.

Asking the kernel for port 0 hands out a port from the ephemeral range,
the same range every connect() draws from; between the test closing its
probe and the server binding the port, the server's own job (skrun's
links, UCX's TCP lanes) may connect from it, and the server fails with
"Address already in use". So the port comes from below that range, picked
at random (jobs running side by side rarely meet) and checked free.

As a program: prints one such port.
"""
import random
import socket

# not the module's generator: a test seeding that one keeps its sequence
_rng = random.SystemRandom()


def ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split())
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


def port_is_free(port, host="127.0.0.1"):
    s = socket.socket()
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_port(host="127.0.0.1"):
    lo, _ = ephemeral_range()
    first = 10000 if lo > 12000 else 1024
    if lo - first >= 1000:
        for _ in range(200):
            port = _rng.randrange(first, lo)
            if port_is_free(port, host):
                return port
    # no room below the range: the kernel's pick, with its small race
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":
    print(free_port())
