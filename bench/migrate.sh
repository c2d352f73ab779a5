#!/usr/bin/env bash
# Adopting a DVC project: `git dvc migrate dvc` (current tree, and with
# --rewrite-history) vs `dvc pull` of the same data, on the 2,800-file
# cats-and-dogs shape in two versions (registry.sh's data: v2 changes 5% of
# v1's files and adds 5% more). Run bench/setup.sh once first.
#
#   bench/migrate.sh                               # 2800 files x 64 KiB, 3 runs
#   BENCH_MIG_N=300 BENCH_RUNS=1 bench/migrate.sh  # quick
#
# Every measurement starts from a fresh clone of the DVC project (cloned,
# untimed) with the project's DVC remote, a local directory, beside it; so
# `dvc pull` and the migration both read every byte from the DVC remote
# (the clone has no DVC cache). "migrate (cache)" starts after a `dvc pull`
# instead, as a user who already has the data would.
#
# Knobs (environment):
#   BENCH_DIR        scratch dir (default /tmp/git-dvc-bench-migrate); removed at the end
#   BENCH_KEEP=1     keep BENCH_DIR afterwards
#   BENCH_MIG_N      files at v1 (default 2800)
#   BENCH_MIG_KB     size of each file in KiB (default 64)
#   BENCH_RUNS       runs per measurement (default 3; the median is reported)
#   BENCH_GITDVC     git-dvc binary (default target/release/git-dvc; never built here)
#   BENCH_DVC        dvc executable (default bench/.venv/bin/dvc)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/git-dvc-bench-migrate}"
N="${BENCH_MIG_N:-2800}"
KB="${BENCH_MIG_KB:-64}"
RUNS="${BENCH_RUNS:-3}"
KEEP="${BENCH_KEEP:-0}"
GITDVC="${BENCH_GITDVC:-$ROOT/target/release/git-dvc}"
DVC="${BENCH_DVC:-$HERE/.venv/bin/dvc}"
PY="${PYTHON:-python3}"
CHANGE=$((N / 20))
ADD=$((N / 20))

die() { echo "bench/migrate.sh: error: $*" >&2; exit 1; }
section() { printf '\n==================== %s ====================\n' "$*"; }
for n in "$N" "$KB" "$RUNS"; do [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 ]] || die "knobs must be whole numbers >= 1 ($n)"; done
[ -x "$GITDVC" ] || die "no git-dvc binary at $GITDVC (cargo build --release, or set BENCH_GITDVC)"
[ -x "$DVC" ] || die "dvc not found at $DVC: run bench/setup.sh (or set BENCH_DVC)"
case "$BENCH_DIR" in /*) ;; *) die "BENCH_DIR must be absolute" ;; esac
MARKER="$BENCH_DIR/.git-dvc-bench"
if [ -e "$BENCH_DIR" ] && [ ! -e "$MARKER" ] && [ -n "$(ls -A "$BENCH_DIR" 2>/dev/null)" ]; then
    die "$BENCH_DIR exists, is not empty and is not a bench dir"
fi
mkdir -p "$BENCH_DIR/bin" && touch "$MARKER"
cleanup() { [ "$KEEP" = 1 ] || { chmod -R u+w "$BENCH_DIR" 2>/dev/null; rm -rf "$BENCH_DIR"; }; }
trap cleanup EXIT

# Isolation: nothing of the user's git, git-dvc or DVC configuration is read.
export HOME="$BENCH_DIR/home" XDG_CONFIG_HOME="$BENCH_DIR/home/.config" XDG_CACHE_HOME="$BENCH_DIR/home/.cache"
export GIT_CONFIG_GLOBAL="$HOME/.gitconfig" GIT_CONFIG_NOSYSTEM=1
export DVC_GLOBAL_CONFIG_DIR="$HOME/dvc-global" DVC_SYSTEM_CONFIG_DIR="$HOME/dvc-system"
export DVC_SITE_CACHE_DIR="$HOME/dvc-site-cache" DVC_NO_ANALYTICS=1 LC_ALL=C
mkdir -p "$HOME" "$DVC_GLOBAL_CONFIG_DIR" "$DVC_SYSTEM_CONFIG_DIR" "$DVC_SITE_CACHE_DIR"
printf '[core]\n    analytics = false\n    check_update = false\n' >"$DVC_GLOBAL_CONFIG_DIR/config"
git config --global user.name bench && git config --global user.email bench@example.com
git config --global init.defaultBranch main && git config --global advice.detachedHead false
cp "$GITDVC" "$BENCH_DIR/bin/git-dvc"
export PATH="$BENCH_DIR/bin:$PATH"
# Outside any repository (git looks no higher than BENCH_DIR), so the
# install writes no hooks into whatever repository this was started from.
export GIT_CEILING_DIRECTORIES="$(dirname "$BENCH_DIR")"
(cd "$BENCH_DIR" && git dvc install --global --quiet)

section "versions"
echo "git-dvc: $(git dvc --version) ($GITDVC)"
echo "dvc:     $("$DVC" --version)"
echo "git:     $(git --version)"
echo "machine: $(nproc) CPUs, $(uname -sr)"
echo "parameters: BENCH_MIG_N=$N BENCH_MIG_KB=$KB BENCH_RUNS=$RUNS"

section "data and DVC project (untimed)"
DATA="$BENCH_DIR/data" WORK="$BENCH_DIR/work"
mkdir -p "$DATA" "$WORK"
"$PY" "$HERE/gendata.py" small "$DATA/v1" "$N" "$KB" 0123456789abcdef0123456789abcdef d
cp -r "$DATA/v1" "$DATA/v2"
"$PY" "$HERE/gendata.py" small "$DATA/change" "$CHANGE" "$KB" 00ff00ff00ff00ff00ff00ff00ff00ff c
"$PY" - "$DATA/change" "$DATA/v2" "$N" "$CHANGE" <<'EOF'
import os, sys
src, dst, n, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(k):
    j = i * n // k
    os.replace(os.path.join(src, f"c{i // 100:03d}", f"f{i % 100:03d}.bin"),
               os.path.join(dst, f"d{j // 100:03d}", f"f{j % 100:03d}.bin"))
EOF
"$PY" "$HERE/gendata.py" small "$DATA/v2" "$ADD" "$KB" fedcba9876543210fedcba9876543210 x
P="$WORK/project"
git init -q "$P"
(
    cd "$P"
    "$DVC" init -q
    "$DVC" remote add -q -d storage ../remote
    mkdir data && cp -r "$DATA/v1/." data/
    "$DVC" add -q data && git add -A && git commit -qm v1 && git tag v1 && "$DVC" push -q
    rm -rf data && mkdir data && cp -r "$DATA/v2/." data/
    "$DVC" add -q data && git add -A && git commit -qm v2 && git tag v2 && "$DVC" push -q
)
git clone -q --bare "$P" "$WORK/project.git"
echo "v1: $(find "$DATA/v1" -type f | wc -l) files, v2: $(find "$DATA/v2" -type f | wc -l) files; DVC remote: $(find "$WORK/remote" -type f | wc -l) objects, $(du -sh "$WORK/remote" | cut -f1)"

fresh() { # a clone of the project at $WORK/c, its DVC remote at $WORK/remote
    chmod -R u+w "$WORK/c" 2>/dev/null || true
    rm -rf "$WORK/c" "$DVC_SITE_CACHE_DIR/repo"
    git clone -q "$WORK/project.git" "$WORK/c"
}

RESULTS="$BENCH_DIR/results.tsv"
: >"$RESULTS"
measure() { # name setup-command timed-command check-command
    local name="$1" i t times=()
    for i in $(seq 1 "$RUNS"); do
        fresh
        (cd "$WORK/c" && eval "$2") >/dev/null 2>&1 || die "$name: setup failed"
        local t0 t1
        t0=$(date +%s.%N)
        (cd "$WORK/c" && eval "$3") >"$BENCH_DIR/last.log" 2>&1 || { cat "$BENCH_DIR/last.log"; die "$name failed"; }
        t1=$(date +%s.%N)
        (cd "$WORK/c" && eval "$4") || die "$name: check failed"
        t=$("$PY" -c "print(f'{$t1 - $t0:.2f}')")
        times+=("$t")
    done
    local med
    med=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%s\t%s\t%s\n' "$name" "$med" "${times[*]}" | tee -a "$RESULTS"
}

# Checks: the worktree holds v2's bytes; for history, v1 checks out v1's.
v2_ok='(cd data && find . -type f ! -name .gitignore -print0 | sort -z | xargs -0 sha256sum) | diff -q - <(cd '"$DATA"'/v2 && find . -type f -print0 | sort -z | xargs -0 sha256sum) >/dev/null'
v1_ok='git checkout -q v1 && (cd data && find . -type f -print0 | sort -z | xargs -0 sha256sum) | diff -q - <(cd '"$DATA"'/v1 && find . -type f -print0 | sort -z | xargs -0 sha256sum) >/dev/null'

section "timings (seconds; median of $RUNS, then every run)"
measure "dvc pull" ":" "$DVC pull -q" "$v2_ok"
measure "git dvc migrate dvc" ":" "git dvc migrate dvc" "$v2_ok"
measure "git dvc migrate dvc --rewrite-history --everything" ":" \
    "git dvc migrate dvc --rewrite-history --everything" "$v2_ok && $v1_ok"
measure "git dvc migrate dvc --rewrite-history --everything (after dvc pull)" "$DVC pull -q" \
    "git dvc migrate dvc --rewrite-history --everything" "$v2_ok && $v1_ok"
echo
echo "last migration's summary:"
sed 's/^/    /' "$BENCH_DIR/last.log"
