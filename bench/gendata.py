#!/usr/bin/env python3
"""Deterministic benchmark data: the same bytes on every machine and run.

    gendata.py big   OUT_FILE SIZE_MB KEY_HEX
    gendata.py small OUT_DIR  COUNT FILE_KB KEY_HEX DIR_PREFIX

The byte stream is AES-128-CTR over zeros (`openssl enc`) with a fixed key
and IV: incompressible like real data, but reproducible (no /dev/urandom).
`small` writes COUNT files of FILE_KB KiB as
OUT_DIR/<DIR_PREFIX><nnn>/f<nnn>.bin, 100 files per folder.
"""

import os
import shlex
import subprocess
import sys

IV = "00000000000000000000000000000000"
FILES_PER_DIR = 100


def stream(key_hex, nbytes):
    cmd = (
        f"head -c {nbytes} /dev/zero | "
        f"openssl enc -aes-128-ctr -nosalt -K {shlex.quote(key_hex)} -iv {IV}"
    )
    return subprocess.Popen(["sh", "-c", cmd], stdout=subprocess.PIPE, bufsize=1 << 20)


def finish(proc):
    proc.stdout.close()
    if proc.wait() != 0:
        sys.exit(f"gendata: openssl failed ({proc.returncode})")


def big(out, size_mb, key_hex):
    nbytes = int(size_mb) << 20
    proc = stream(key_hex, nbytes)
    tmp = out + ".tmp"
    with open(tmp, "wb") as f:
        left = nbytes
        while left:
            chunk = proc.stdout.read(min(left, 1 << 20))
            if not chunk:
                sys.exit("gendata: short stream")
            f.write(chunk)
            left -= len(chunk)
    finish(proc)
    os.replace(tmp, out)


def small(out_dir, count, file_kb, key_hex, prefix):
    count, size = int(count), int(file_kb) << 10
    proc = stream(key_hex, count * size)
    for i in range(count):
        d = os.path.join(out_dir, f"{prefix}{i // FILES_PER_DIR:03d}")
        if i % FILES_PER_DIR == 0:
            os.makedirs(d, exist_ok=True)
        data = proc.stdout.read(size)
        if len(data) != size:
            sys.exit("gendata: short stream")
        with open(os.path.join(d, f"f{i % FILES_PER_DIR:03d}.bin"), "wb") as f:
            f.write(data)
    finish(proc)


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "big" and len(sys.argv) == 5:
        big(*sys.argv[2:])
    elif len(sys.argv) >= 2 and sys.argv[1] == "small" and len(sys.argv) == 7:
        small(*sys.argv[2:])
    else:
        sys.exit(__doc__)
