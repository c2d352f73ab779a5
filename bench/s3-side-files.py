#!/usr/bin/env python3
"""Takes away s3s-fs's side files of the objects under one key prefix.

    s3-side-files.py ROOT PREFIX [TRASH_DIR]

s3s-fs keeps each object's metadata (its ETag among it) in dot files at its
root, named .bucket-<b64 bucket>.object-<b64 key>.<kind>.json. Emptying one
tool's remote must take only that tool's: without its ETag file, s3s-fs
computes an object's MD5 again on every GET, ranged ones included (a 1 GiB
object fetched in 64 parts then took 80 s instead of 4). Moved into
TRASH_DIR when given (see remote.sh on freed inodes), else deleted.
"""

import base64
import os
import shutil
import sys


def key_of(name):
    if not name.startswith(".bucket-") or ".object-" not in name:
        return None
    b64 = name.split(".object-", 1)[1].split(".", 1)[0]
    try:
        return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4)).decode()
    except ValueError:
        return None


def main(root, prefix, trash=None):
    for name in os.listdir(root):
        key = key_of(name)
        if key is None or not key.startswith(prefix):
            continue
        path = os.path.join(root, name)
        if trash:
            shutil.move(path, os.path.join(trash, name))
        else:
            os.remove(path)


if __name__ == "__main__":
    main(*sys.argv[1:])
