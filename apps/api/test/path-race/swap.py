#!/usr/bin/env python3
"""Swap two directory entries in a tight loop with renameat2(RENAME_EXCHANGE), atomically.

Usage: swap.py <a> <b>
Runs until stdin is closed (the test closes it, or dies) or SIGTERM, then prints the number of
swaps done as the last line of stdout and leaves the entries the way they were at the start
(an even number of swaps). Used by the path race test: <a> is a real folder of the library, <b>
a symlink to a folder outside it; every swap makes the library path point outside for an instant.
"""
import ctypes
import os
import signal
import sys
import threading

AT_FDCWD = -100
RENAME_EXCHANGE = 2
SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276}.get(os.uname().machine)

libc = ctypes.CDLL(None, use_errno=True)
if hasattr(libc, "renameat2"):
    renameat2 = libc.renameat2
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]

    def exchange(a, b):
        return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
else:
    if SYS_RENAMEAT2 is None:
        sys.exit("renameat2 is not available on this machine")
    syscall = libc.syscall

    def exchange(a, b):
        return syscall(SYS_RENAMEAT2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)


def main():
    a = os.fsencode(sys.argv[1])
    b = os.fsencode(sys.argv[2])
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_stdin():
        sys.stdin.buffer.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    # Checked first so a machine without RENAME_EXCHANGE fails loudly instead of racing nothing.
    if exchange(a, b) != 0 or exchange(a, b) != 0:
        err = ctypes.get_errno()
        sys.exit(f"renameat2(RENAME_EXCHANGE) failed: {os.strerror(err)}")
    print("ready", flush=True)
    swaps = 2
    while not stop.is_set():
        for _ in range(256):  # pairs: each pair leaves the entries as they were
            if exchange(a, b) != 0 or exchange(a, b) != 0:
                err = ctypes.get_errno()
                sys.exit(f"renameat2(RENAME_EXCHANGE) failed after {swaps} swaps: {os.strerror(err)}")
            swaps += 2
    print(swaps, flush=True)


main()
