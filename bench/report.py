#!/usr/bin/env python3
"""Summary tables for bench/run.sh (stdlib only).

    report.py RESULTS_DIR
    report.py --one MEMWATCH_JSON SHIM_LOG

Reads RESULTS_DIR/time.tsv (scenario, tool, hyperfine JSON or FAILED, note)
and RESULTS_DIR/mem.tsv (scenario, tool, memwatch JSON or FAILED, shim log).
"""

import json
import os
import sys

TOOLS = ["git-dvc", "git-lfs", "dvc", "floor", "cp-over", "cp+sha"]


def read_tsv(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                rows.append(line.split("\t"))
    return rows


def ordered(rows):
    """{scenario: {tool: row}} keeping first-seen scenario order."""
    out = {}
    for r in rows:
        out.setdefault(r[0], {})[r[1]] = r
    return out


def fmt_s(x):
    return "-" if x is None else f"{x:.3f}"


def fmt_ratio(a, b):
    if a is None or b is None or b <= 0:
        return "-"
    return f"{a / b:.2f}x"


def mib(kib):
    return "-" if kib is None else f"{kib / 1024:.1f}"


def time_table(results):
    rows = read_tsv(os.path.join(results, "time.tsv"))
    if not rows:
        return
    print("Time: median of hyperfine runs, seconds (warm page cache).")
    print("x git-dvc = this tool's median / git-dvc's; x floor = / the floor's.")
    print()
    hdr = f"{'scenario':<34} {'tool':<8} {'median':>8} {'min':>8} {'max':>8} {'runs':>4} {'x git-dvc':>10} {'x floor':>8}"
    print(hdr)
    print("-" * len(hdr))
    failures = []
    for scen, by_tool in ordered(rows).items():
        stats = {}
        for tool, r in by_tool.items():
            if r[2] == "FAILED":
                stats[tool] = None
                failures.append((scen, tool, r[3] if len(r) > 3 else ""))
                continue
            with open(r[2]) as f:
                res = json.load(f)["results"][0]
            stats[tool] = (res["median"], res["min"], res["max"], len(res["times"]))
        med = {t: (s[0] if s else None) for t, s in stats.items()}
        for tool in TOOLS:
            if tool not in stats:
                continue
            s = stats[tool]
            if s is None:
                print(f"{scen:<34} {tool:<8} {'FAILED':>8}")
                continue
            print(
                f"{scen:<34} {tool:<8} {fmt_s(s[0]):>8} {fmt_s(s[1]):>8} {fmt_s(s[2]):>8} {s[3]:>4} "
                f"{fmt_ratio(s[0], med.get('git-dvc')):>10} {fmt_ratio(s[0], med.get('floor')):>8}"
            )
        print()
    for scen, tool, note in failures:
        print(f"FAILED: {scen} / {tool}: {note}")
    if failures:
        print()


def shim_peaks(path):
    """[(kib, 'subcommand ...')] from a shim log of `%M<TAB>%e<TAB>%C` lines."""
    out = []
    if not path or not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or not parts[0].isdigit():
                continue  # e.g. "Command exited with non-zero status"
            argv = parts[2].split()
            # drop the binary's path and hook arguments (commit ids):
            # keep "filter-process", "hook post-checkout", "post-checkout", ...
            words = argv[1:3] if argv[1:2] == ["hook"] else argv[1:2]
            out.append((int(parts[0]), " ".join(words)))
    return out


def mem_table(results):
    rows = read_tsv(os.path.join(results, "mem.tsv"))
    if not rows:
        return
    print("Peak memory (resident set), MiB, one run each.")
    print("  whole   = /usr/bin/time -v 'Maximum resident set size' of the command: the")
    print("            largest single process in its tree (git, the filter, hooks...).")
    print("  own     = the tool's own processes, exact (git-dvc / git-lfs wrapped in")
    print("            /usr/bin/time via a PATH shim; max over its invocations; dvc and")
    print("            the floor: sampled like 'git').")
    print("  git     = largest git process, sampled VmHWM from /proc every 5 ms.")
    print()
    hdr = f"{'scenario':<34} {'tool':<8} {'whole':>8} {'own':>8} {'git':>8}  own, per invocation"
    print(hdr)
    print("-" * len(hdr))
    for scen, by_tool in ordered(rows).items():
        for tool in TOOLS:
            r = by_tool.get(tool)
            if r is None:
                continue
            if r[2] == "FAILED":
                print(f"{scen:<34} {tool:<8} {'FAILED':>8}  {r[3] if len(r) > 3 else ''}")
                continue
            with open(r[2]) as f:
                m = json.load(f)
            prog = m.get("per_program_kib", {})
            git = max((v for k, v in prog.items() if k == "git"), default=None)
            detail = ""
            if tool in ("git-dvc", "git-lfs"):
                peaks = shim_peaks(r[3] if len(r) > 3 else None)
                own = max((p for p, _ in peaks), default=None)
                detail = ", ".join(f"{c} {mib(p)}" for p, c in peaks)
            elif tool == "dvc":
                own = prog.get("dvc")
                others = {k: v for k, v in prog.items() if k not in ("git", "sh", "dvc")}
                detail = ", ".join(f"{k} {mib(v)}" for k, v in sorted(others.items()))
            else:
                own = max((v for k, v in prog.items() if k not in ("git", "sh")), default=None)
                detail = ", ".join(f"{k} {mib(v)}" for k, v in sorted(prog.items()) if k != "sh")
            if m.get("exit_code"):
                detail = f"(exit {m['exit_code']}) " + detail
            print(f"{scen:<34} {tool:<8} {mib(m.get('whole_kib')):>8} {mib(own):>8} {mib(git):>8}  {detail}")
        print()


def one(mem_json, shim_log):
    """One line about one memory run, for run.sh's running commentary."""
    with open(mem_json) as f:
        m = json.load(f)
    prog = ", ".join(f"{k} {mib(v)}" for k, v in sorted(m["per_program_kib"].items()))
    exact = ", ".join(f"{c} {mib(p)}" for p, c in shim_peaks(shim_log))
    print(f"    memory: whole {mib(m['whole_kib'])} MiB; per program (sampled) {prog}"
          + (f"; exact: {exact}" if exact else ""))


def main():
    if sys.argv[1:2] == ["--one"]:
        one(sys.argv[2], sys.argv[3])
        return
    results = sys.argv[1]
    time_table(results)
    mem_table(results)


if __name__ == "__main__":
    main()
