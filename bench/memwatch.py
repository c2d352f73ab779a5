#!/usr/bin/env python3
"""Peak memory of one shell command, whole and per program.

    memwatch.py OUT.json 'shell command'

Runs the command as `/usr/bin/time -v sh -c CMD` and records:

* whole_kib: GNU time's "Maximum resident set size". On Linux that is the
  ru_maxrss that wait4() returns for the child, which is the largest RSS of
  any *single* process in the tree that was waited for (the child itself or
  any descendant reaped along the way) -- a max, not a sum. So for
  `git add` it is max(git, the filter process, hooks...), and cannot tell on
  its own which of them it was.
* per_program: the largest VmHWM (peak RSS) seen per program name (comm) by
  polling /proc for every descendant every few milliseconds. VmHWM only
  grows over a process's life, so the last sample before exit is close to
  the true peak; only growth in the final few milliseconds can be missed.
  This is what gives git's own peak separately from the filter's.
* exact per-invocation peaks of wrapped programs (git-dvc, git-lfs) are
  recorded separately by run.sh's PATH shims; see run.sh.

Exit status: that of the command.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

POLL_S = 0.005


def children(pid):
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def status(pid):
    """(comm, VmHWM KiB) or None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    name, hwm = None, None
    for line in text.splitlines():
        if line.startswith("Name:"):
            name = line.split(None, 1)[1].strip() if len(line.split()) > 1 else ""
        elif line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
            break
    if name is None or hwm is None:  # zombie: no memory info left
        return None
    return name, hwm


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: memwatch.py OUT.json 'shell command'")
    out_path, cmd = sys.argv[1], sys.argv[2]
    fd, time_out = tempfile.mkstemp(prefix="memwatch-", suffix=".txt")
    os.close(fd)
    start = time.monotonic()
    proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", time_out, "sh", "-c", cmd])
    peaks = {}  # (pid, name) -> max VmHWM
    while proc.poll() is None:
        stack = [proc.pid]
        seen = set()
        while stack:
            pid = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            st = status(pid) if pid != proc.pid else None  # the root is GNU time
            if st is not None:
                key = (pid, st[0])
                if st[1] > peaks.get(key, 0):
                    peaks[key] = st[1]
            stack.extend(children(pid))
        time.sleep(POLL_S)
    elapsed = time.monotonic() - start
    whole = None
    with open(time_out) as f:
        time_text = f.read()
    os.unlink(time_out)
    for line in time_text.splitlines():
        if "Maximum resident set size" in line:
            whole = int(line.rsplit(":", 1)[1])
    per_program = {}
    counts = {}
    for (_, name), hwm in peaks.items():
        if name == "time":  # a shim's GNU time wrapper
            continue
        per_program[name] = max(per_program.get(name, 0), hwm)
        counts[name] = counts.get(name, 0) + 1
    result = {
        "command": cmd,
        "exit_code": proc.returncode,
        "elapsed_s": round(elapsed, 3),
        "whole_kib": whole,
        "per_program_kib": per_program,
        "processes_seen": counts,
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
