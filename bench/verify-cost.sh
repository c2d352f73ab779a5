#!/usr/bin/env bash
# What checking content as it leaves the cache costs: the same commands with
# two git-dvc binaries, one that checks (this tree) and one that does not
# (an older build), on the same data, in one run.
#
#   BENCH_OLD=/path/to/old/git-dvc BENCH_NEW=target/release/git-dvc bench/verify-cost.sh
#
# Knobs: BENCH_DIR (default /tmp/git-dvc-bench-verify), BENCH_N files of
# BENCH_KB KiB (default 2000 x 256), BENCH_RUNS (default 5).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="${BENCH_DIR:-/tmp/git-dvc-bench-verify}"
N="${BENCH_N:-2000}"
KB="${BENCH_KB:-256}"
RUNS="${BENCH_RUNS:-5}"
OLD="${BENCH_OLD:?set BENCH_OLD to a git-dvc binary without the checks}"
NEW="${BENCH_NEW:-$HERE/../target/release/git-dvc}"
case "$DIR" in /tmp/*) ;; *) echo "BENCH_DIR must be under /tmp" >&2; exit 1 ;; esac
rm -rf "$DIR" && mkdir -p "$DIR/bin-old" "$DIR/bin-new"
cp "$OLD" "$DIR/bin-old/git-dvc"
cp "$NEW" "$DIR/bin-new/git-dvc"
export HOME="$DIR/home" GIT_CONFIG_NOSYSTEM=1 LC_ALL=C
mkdir -p "$HOME"
git config --global user.name bench && git config --global user.email bench@example.invalid
git config --global init.defaultBranch main
cd "$DIR"
PATH="$DIR/bin-new:$PATH" git-dvc install --global --quiet

echo "== data: $N files x $KB KiB"
python3 "$HERE/gendata.py" small "$DIR/data" "$N" "$KB" 0123456789abcdef0123456789abcdef d >/dev/null
for v in old new; do
    r="$DIR/repo-$v"
    mkdir -p "$r" && cd "$r" && git init -q
    PATH="$DIR/bin-$v:$PATH" git dvc track 'data/**' >/dev/null
    cp -r "$DIR/data" data
    PATH="$DIR/bin-$v:$PATH" git add -A >/dev/null && PATH="$DIR/bin-$v:$PATH" git commit -qm v1
    PATH="$DIR/bin-$v:$PATH" git dvc remote add -d --local r "$DIR/remote-$v" >/dev/null
done
cd "$DIR"
echo "old: $("$DIR/bin-old/git-dvc" --version)  new: $("$DIR/bin-new/git-dvc" --version)"
echo "load avg: $(cut -d' ' -f1-3 /proc/loadavg)"

for v in old new; do
    hyperfine --style basic --runs "$RUNS" -n "git checkout ($v)" \
        --prepare "cd $DIR/repo-$v && rm -rf data && sync" \
        "cd $DIR/repo-$v && PATH=$DIR/bin-$v:\$PATH git checkout -- data" \
        --export-json "$DIR/checkout-$v.json" >/dev/null
    hyperfine --style basic --runs "$RUNS" -n "git dvc checkout ($v)" \
        --prepare "cd $DIR/repo-$v && rm -rf data && GIT_DVC_SKIP_SMUDGE=1 PATH=$DIR/bin-$v:\$PATH git checkout -- data && sync" \
        "cd $DIR/repo-$v && PATH=$DIR/bin-$v:\$PATH git dvc checkout --quiet" \
        --export-json "$DIR/dvccheckout-$v.json" >/dev/null
    hyperfine --style basic --runs "$RUNS" -n "git dvc push ($v)" \
        --prepare "rm -rf $DIR/remote-$v && sync" \
        "cd $DIR/repo-$v && PATH=$DIR/bin-$v:\$PATH git dvc push --quiet" \
        --export-json "$DIR/push-$v.json" >/dev/null
done
python3 - "$DIR" <<'EOF'
import json, statistics, sys
d = sys.argv[1]
print(f"{'command':22s} {'old median':>11s} {'new median':>11s} {'new/old':>8s}")
for what, name in [("checkout", "git checkout"), ("dvccheckout", "git dvc checkout"), ("push", "git dvc push")]:
    m = {}
    for v in ("old", "new"):
        times = json.load(open(f"{d}/{what}-{v}.json"))["results"][0]["times"]
        m[v] = statistics.median(times)
    print(f"{name:22s} {m['old']:10.3f}s {m['new']:10.3f}s {m['new']/m['old']:7.2f}x")
EOF
