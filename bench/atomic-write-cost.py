#!/usr/bin/env python3
"""What writing a small worktree file atomically costs, outside git-dvc.

    python3 bench/atomic-write-cost.py MODE DIR   # MODE: twin | twin-lean | inplace

Creates 6,000 pointer-sized files under DIR/w, syncs, then times replacing
each with 64 KiB of content, as a clone does once an object has landed:

  twin       git-dvc's sequence: a temp file (0600) written, fstat, fchmod,
             utimensat, lstat of the pointer, RENAME_EXCHANGE over it, unlink
             of the old pointer;
  twin-lean  the same without the fchmod and the two stats (a temp created
             with the worktree's mode);
  inplace    open the pointer file, pwrite the content, utimensat: not
             atomic (a killed process leaves a half-written file), which
             git-dvc does not do.

Prints wall, user and system time of the loop. Run each mode a few times,
alternating, with DIR on the filesystem of interest.
"""

import ctypes
import os
import sys
import time

N = 6000
RENAME_EXCHANGE = 2
AT_FDCWD = -100
libc = ctypes.CDLL(None, use_errno=True)


def exchange(a, b):
    if libc.renameat2(AT_FDCWD, a.encode(), AT_FDCWD, b.encode(), RENAME_EXCHANGE) != 0:
        raise OSError(ctypes.get_errno(), "renameat2")


def main():
    mode, root = sys.argv[1], sys.argv[2]
    if mode not in ("twin", "twin-lean", "inplace"):
        sys.exit(__doc__)
    data = os.urandom(65536)
    os.makedirs(f"{root}/w", exist_ok=True)
    os.makedirs(f"{root}/t", exist_ok=True)
    for i in range(N):
        with open(f"{root}/w/f{i}", "wb") as f:
            f.write(b"x" * 115)
    os.sync()
    t0, c0 = time.time(), os.times()
    for i in range(N):
        dest = f"{root}/w/f{i}"
        if mode == "inplace":
            fd = os.open(dest, os.O_WRONLY)
            os.pwrite(fd, data, 0)
            os.utime(fd, (1, 1))
            os.close(fd)
            continue
        tmp = f"{root}/t/incoming-{i}"
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600 if mode == "twin" else 0o644)
        os.write(fd, data)
        if mode == "twin":
            os.fstat(fd)
            os.fchmod(fd, 0o644)
        os.utime(fd, (1, 1))
        if mode == "twin":
            os.lstat(dest)
        exchange(tmp, dest)
        os.unlink(tmp)
        os.close(fd)
    c1, t1 = os.times(), time.time()
    print(f"{mode}: wall {t1 - t0:.3f} s user {c1.user - c0.user:.3f} sys {c1.system - c0.system:.3f}")


if __name__ == "__main__":
    main()
