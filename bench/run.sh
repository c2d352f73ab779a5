#!/usr/bin/env bash
# git-dvc benchmark: git-dvc vs git-lfs vs DVC vs the raw floor (hash + cp),
# side by side. See bench/README.md. Run bench/setup.sh once first.
#
#   bench/run.sh                                   # full size: 1 GiB, 5000 files, 3 runs
#   BENCH_BIG_MB=64 BENCH_SMALL_N=500 BENCH_RUNS=2 bench/run.sh   # quick
#
# Knobs (environment):
#   BENCH_DIR        scratch dir (default /tmp/git-dvc-bench); removed at the end
#   BENCH_KEEP=1     keep BENCH_DIR (repos, data, hyperfine JSON) afterwards
#   BENCH_BIG_MB     size of the scenario (a) file in MiB (default 1024)
#   BENCH_SMALL_N    number of files in scenario (b) v1 (default 5000)
#   BENCH_SMALL_EXTRA files v2 adds in scenario (b) (default BENCH_SMALL_N/5)
#   BENCH_SMALL_KB   size of each scenario (b) file in KiB (default 64)
#   BENCH_RUNS       hyperfine runs per measurement (default 3)
#   BENCH_WARMUP     hyperfine warmup runs (default 0)
#   BENCH_TOOLS      subset of "git-dvc git-lfs dvc floor"
#   BENCH_SCENARIOS  subset of "a b"
#   BENCH_MEM=0      skip the peak-memory runs
#   BENCH_BUILD=0    skip `cargo build --release`
#   BENCH_DVC        dvc executable (default bench/.venv/bin/dvc)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

BENCH_DIR="${BENCH_DIR:-/tmp/git-dvc-bench}"
BIG_MB="${BENCH_BIG_MB:-1024}"
SMALL_N="${BENCH_SMALL_N:-5000}"
SMALL_EXTRA="${BENCH_SMALL_EXTRA:-$((SMALL_N / 5))}"
SMALL_KB="${BENCH_SMALL_KB:-64}"
RUNS="${BENCH_RUNS:-3}"
WARMUP="${BENCH_WARMUP:-0}"
TOOLS="${BENCH_TOOLS:-git-dvc git-lfs dvc floor}"
SCENARIOS="${BENCH_SCENARIOS:-a b}"
MEM="${BENCH_MEM:-1}"
KEEP="${BENCH_KEEP:-0}"
BUILD="${BENCH_BUILD:-1}"
DVC="${BENCH_DVC:-$HERE/.venv/bin/dvc}"
PY="${PYTHON:-python3}"

SCRIPT=run.sh
# section, die, slug, make_shim, note_failure, hf, memrun.
# shellcheck source=bench/common.sh
. "$HERE/common.sh"
# common.sh's hf returns 1 when a measurement fails; here the failure is
# recorded (note_failure) and the run goes on to the next tool, as before.
hf_continue() { hf "$@" || true; }
has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
has_scenario() { [[ " $SCENARIOS " == *" $1 "* ]]; }

# ---------------------------------------------------------------- checks
case "$BENCH_DIR" in
    "" | / | *[[:space:]\'\"\$\\]*) die "BENCH_DIR must be a plain path without spaces or quotes ($BENCH_DIR)" ;;
    /*) ;;
    *) die "BENCH_DIR must be absolute ($BENCH_DIR)" ;;
esac
for n in "$BIG_MB" "$SMALL_N" "$SMALL_EXTRA" "$SMALL_KB" "$RUNS" "$WARMUP"; do
    [[ "$n" =~ ^[0-9]+$ ]] || die "size/count knobs must be whole numbers ($n)"
done
[ "$RUNS" -ge 1 ] || die "BENCH_RUNS must be at least 1"
for t in $TOOLS; do
    case "$t" in git-dvc | git-lfs | dvc | floor) ;; *) die "unknown tool in BENCH_TOOLS: $t" ;; esac
done
need=(git hyperfine openssl "$PY" sha256sum)
has_tool git-lfs && need+=(git-lfs)
[ "$BUILD" = 1 ] && need+=(cargo)
for c in "${need[@]}"; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' not found: run bench/setup.sh"
done
[ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) not found: run bench/setup.sh"
if has_tool dvc; then
    [ -x "$DVC" ] || die "dvc not found at $DVC: run bench/setup.sh"
fi

MARKER="$BENCH_DIR/.git-dvc-bench"
if [ -e "$BENCH_DIR" ] && [ ! -e "$MARKER" ] && [ -n "$(ls -A "$BENCH_DIR" 2>/dev/null)" ]; then
    die "$BENCH_DIR exists, is not empty and is not a bench dir; pick another BENCH_DIR"
fi
mkdir -p "$BENCH_DIR"
touch "$MARKER"

cleanup() {
    local rc=$?
    if [ "$KEEP" = 1 ]; then
        echo "(kept $BENCH_DIR)"
    elif [ -e "$MARKER" ]; then
        chmod -R u+w "$BENCH_DIR" 2>/dev/null || true # caches hold read-only objects
        rm -rf "$BENCH_DIR"
    fi
    exit "$rc"
}
trap cleanup EXIT

DATA="$BENCH_DIR/data"
WORK="$BENCH_DIR/work"
RES="$BENCH_DIR/results"
SHIM="$BENCH_DIR/shim"
rm -rf "$RES" "$WORK" "$SHIM" "$BENCH_DIR/bin"
mkdir -p "$DATA" "$WORK" "$RES/json" "$RES/mem" "$RES/logs" "$SHIM"

# ---------------------------------------------------------------- build
section "build git-dvc (cargo build --release)"
if [ "$BUILD" = 1 ]; then
    (cd "$ROOT" && cargo build --release 2>&1 | tail -n 3)
fi
[ -x "$ROOT/target/release/git-dvc" ] || die "$ROOT/target/release/git-dvc not built"
# Benchmark a private copy, so a rebuild during the run cannot swap it.
mkdir -p "$BENCH_DIR/bin"
cp "$ROOT/target/release/git-dvc" "$BENCH_DIR/bin/git-dvc"
GITDVC_BIN="$BENCH_DIR/bin/git-dvc"

# ---------------------------------------------------------------- isolation
# Never touch the user's git, git-lfs, git-dvc or DVC configuration.
while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(GIT_|DVC_)' || true)
export HOME="$BENCH_DIR/home"
export XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache" XDG_DATA_HOME="$HOME/.local/share"
export GIT_CONFIG_GLOBAL="$HOME/.gitconfig" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
export DVC_NO_ANALYTICS=1 DVC_SITE_CACHE_DIR="$BENCH_DIR/dvc-site-cache"
export LC_ALL=C
export PATH="$BENCH_DIR/bin:$PATH"
mkdir -p "$HOME" "$XDG_CONFIG_HOME"
: >"$GIT_CONFIG_GLOBAL"
git config --global user.name "git-dvc bench"
git config --global user.email "bench@example.invalid"
git config --global init.defaultBranch main
git config --global advice.detachedHead false
git config --global gc.auto 0
git config --global maintenance.auto false
git config --global core.autocrlf false
git config --global commit.gpgSign false
if has_tool dvc; then
    (cd "$HOME" && "$DVC" config --global core.analytics false && "$DVC" config --global core.check_update false)
fi
[ "$(command -v git-dvc)" = "$GITDVC_BIN" ] || die "git-dvc on PATH is not $GITDVC_BIN"

# PATH shims used only by the memory runs: each invocation of git-dvc /
# git-lfs (filter process, hooks) runs under GNU time, which appends
# "<max RSS KiB>\t<seconds>\t<command line>" to $BENCH_MEMLOG.
make_shim git-dvc "$GITDVC_BIN"
has_tool git-lfs && make_shim git-lfs "$(command -v git-lfs)"

# ---------------------------------------------------------------- versions
section "versions and machine"
echo "git-dvc:    $(git dvc --version) ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && [ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ] && echo ', src modified'))"
echo "git:        $(git --version)"
has_tool git-lfs && echo "git-lfs:    $(git lfs version)"
has_tool dvc && echo "dvc:        $("$DVC" --version)"
echo "hyperfine:  $(hyperfine --version)"
echo "openssl:    $(openssl version)"
echo "python3:    $("$PY" --version 2>&1)"
echo "kernel:     $(uname -sr)"
echo "cpu:        $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory:     $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "bench dir:  $BENCH_DIR ($(stat -f -c %T "$BENCH_DIR"), $(df -h --output=avail "$BENCH_DIR" | tail -n1 | tr -d ' ') free)"
echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg)"
echo "parameters: BENCH_BIG_MB=$BIG_MB BENCH_SMALL_N=$SMALL_N BENCH_SMALL_EXTRA=$SMALL_EXTRA BENCH_SMALL_KB=$SMALL_KB BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP"
echo "            BENCH_TOOLS='$TOOLS' BENCH_SCENARIOS='$SCENARIOS' BENCH_MEM=$MEM"

# ---------------------------------------------------------------- data
section "deterministic data (AES-128-CTR keystream, fixed keys)"
KEY_BIG1=00112233445566778899aabbccddeeff
KEY_BIG2=ffeeddccbbaa99887766554433221100
KEY_SMALL1=0123456789abcdef0123456789abcdef
KEY_SMALL2=fedcba9876543210fedcba9876543210
stamp="big=$BIG_MB small=$SMALL_N+$SMALL_EXTRA x $SMALL_KB KiB keys=$KEY_BIG1,$KEY_BIG2,$KEY_SMALL1,$KEY_SMALL2 v1"
if [ "$(cat "$DATA/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$DATA" && mkdir -p "$DATA"
    t0=$SECONDS
    if has_scenario a; then
        "$PY" "$HERE/gendata.py" big "$DATA/big_v1.bin" "$BIG_MB" "$KEY_BIG1"
        "$PY" "$HERE/gendata.py" big "$DATA/big_v2.bin" "$BIG_MB" "$KEY_BIG2"
    fi
    if has_scenario b; then
        "$PY" "$HERE/gendata.py" small "$DATA/small_v1" "$SMALL_N" "$SMALL_KB" "$KEY_SMALL1" d
        "$PY" "$HERE/gendata.py" small "$DATA/small_extra" "$SMALL_EXTRA" "$SMALL_KB" "$KEY_SMALL2" x
        (cd "$DATA/small_v1" && find . -type f | sort | xargs -r sha256sum) >"$DATA/small_v1.sha256"
        (cd "$DATA/small_extra" && find . -type f | sort | xargs -r sha256sum) >"$DATA/small_extra.sha256"
        sort -k2 "$DATA/small_v1.sha256" "$DATA/small_extra.sha256" >"$DATA/small_v2.sha256"
    fi
    echo "$stamp" >"$DATA/.stamp"
    echo "generated in $((SECONDS - t0)) s"
else
    echo "reusing $DATA"
fi
has_scenario a && ls -l "$DATA"/big_v*.bin && sha256sum "$DATA"/big_v*.bin
has_scenario b && echo "small_v1: $(find "$DATA/small_v1" -type f | wc -l) files in $(find "$DATA/small_v1" -mindepth 1 -type d | wc -l) dirs; small_extra (v2 adds): $(find "$DATA/small_extra" -type f | wc -l) files in $(find "$DATA/small_extra" -mindepth 1 -type d | wc -l) dirs; $(du -sh "$DATA/small_v1" | cut -f1) + $(du -sh "$DATA/small_extra" | cut -f1)"

# ---------------------------------------------------------------- per-tool commands
# Each prints a POSIX sh command string; the same strings are run by
# hyperfine (timed), by the memory runs and by the untimed repo setup.

init_cmd() { # tool repo: a fresh repository set up for the tool, with an empty data/
    local r=$2
    case $1 in
        git-dvc) echo "rm -rf $r && git init -q $r && cd $r && git dvc install --local --quiet && git dvc track 'data/**' >/dev/null && git add .gitattributes && git commit -qm init && mkdir data" ;;
        git-lfs) echo "rm -rf $r && git init -q $r && cd $r && git lfs install --local >/dev/null && git lfs track 'data/**' >/dev/null && git add .gitattributes && git commit -qm init && mkdir data" ;;
        dvc) echo "rm -rf $r && git init -q $r && cd $r && $DVC init -q && git commit -qm init && mkdir data" ;;
    esac
}

add_cmd() { # tool repo: stage and commit whatever is in data/ (the timed step)
    case $1 in
        git-dvc | git-lfs) echo "cd $2 && git add -A && git commit -qm x" ;;
        dvc) echo "cd $2 && $DVC add -q data && git add data.dvc .gitignore && git commit -qm x" ;;
    esac
}

switch_cmd() { # tool repo rev
    case $1 in
        git-dvc | git-lfs) echo "cd $2 && git checkout -q $3" ;;
        dvc) echo "cd $2 && git checkout -q $3 && $DVC checkout -q" ;;
    esac
}

setup_repo() { # description shell-command: untimed setup, run with errexit in its own shell
    local err="$RES/logs/setup-$(slug "$1").err"
    if sh -ec "$2" >/dev/null 2>"$err"; then
        return 0
    fi
    echo "!!! setup failed: $1"
    tail -n 20 "$err" | sed 's/^/    | /'
    return 1
}

verify() { # tool repo-data-path expected(file|manifest) label
    local tool=$1 path=$2 want=$3 label=$4 got status
    if [ -f "$path" ]; then
        if cmp -s "$path" "$want"; then got="content OK"; else got="CONTENT WRONG ($(head -c 60 "$path" | tr -c '[:print:]' '.'))"; fi
    else
        if [ "$(cd "$path" && find . -type f | sort | xargs -r sha256sum)" = "$(cat "$want")" ]; then got="content OK"; else got="CONTENT WRONG (tree differs from $label)"; fi
    fi
    if [ "$tool" != floor ]; then
        local dir=$path
        [ -d "$dir" ] || dir=$(dirname "$path")
        status=$(cd "$dir" && git status --porcelain 2>&1 | head -n 3 | tr '\n' ' ' || true)
        [ -z "$status" ] && got="$got, git status clean" || got="$got, GIT STATUS DIRTY: $status"
    fi
    echo "    check after switch to $label: $got"
    [[ "$got" == "content OK"* ]] || printf '%s\t%s\n' "$tool" "$label: $got" >>"$RES/checks.txt"
}

# ---------------------------------------------------------------- scenario (a)
if has_scenario a; then
    A="a ${BIG_MB} MiB file"
    section "(a) one ${BIG_MB} MiB file: add + commit"
    for tool in $TOOLS; do
        r="$WORK/a-add-$tool"
        if [ "$tool" = floor ]; then
            prep="rm -rf $r && mkdir -p $r"
            cmd="openssl dgst -sha256 $DATA/big_v1.bin >/dev/null && cp $DATA/big_v1.bin $r/big.bin"
        else
            prep="$(init_cmd "$tool" "$r") && cp $DATA/big_v1.bin $r/data/big.bin"
            cmd="$(add_cmd "$tool" "$r")"
        fi
        hf_continue "$A: add+commit" "$tool" "$prep" "$cmd"
        if [ "$MEM" = 1 ] && setup_repo "mem a add $tool" "$prep"; then
            memrun "$A: add+commit" "$tool" "$cmd"
        fi
        chmod -R u+w "$r" 2>/dev/null || true
        rm -rf "$r"
    done

    section "(a) one ${BIG_MB} MiB file: switch between two versions"
    for tool in $TOOLS; do
        r="$WORK/a-switch-$tool"
        if [ "$tool" = floor ]; then
            mkdir -p "$r"
            f="$r/big.bin"
            prep_v2="cp $DATA/big_v1.bin $f"
            cmd_v2="cp $DATA/big_v2.bin $f"
            prep_v1="cp $DATA/big_v2.bin $f"
            cmd_v1="cp $DATA/big_v1.bin $f"
        else
            f="$r/data/big.bin"
            if ! setup_repo "a switch $tool" "$(init_cmd "$tool" "$r") && cp $DATA/big_v1.bin data/big.bin && $(add_cmd "$tool" "$r") && git tag v1 && cp $DATA/big_v2.bin data/big.bin && $(add_cmd "$tool" "$r") && git tag v2"; then
                printf '%s\t%s\tFAILED\t%s\n' "$A: switch v1->v2" "$tool" "repo setup failed (see log above)" >>"$RES/time.tsv"
                printf '%s\t%s\tFAILED\t%s\n' "$A: switch v2->v1" "$tool" "repo setup failed (see log above)" >>"$RES/time.tsv"
                continue
            fi
            prep_v2="$(switch_cmd "$tool" "$r" v1)"
            cmd_v2="$(switch_cmd "$tool" "$r" v2)"
            prep_v1="$(switch_cmd "$tool" "$r" v2)"
            cmd_v1="$(switch_cmd "$tool" "$r" v1)"
        fi
        hf_continue "$A: switch v1->v2" "$tool" "$prep_v2" "$cmd_v2"
        verify "$tool" "$f" "$DATA/big_v2.bin" v2
        hf_continue "$A: switch v2->v1" "$tool" "$prep_v1" "$cmd_v1"
        verify "$tool" "$f" "$DATA/big_v1.bin" v1
        if [ "$MEM" = 1 ] && setup_repo "mem a switch $tool" "$prep_v2"; then
            memrun "$A: switch v1->v2" "$tool" "$cmd_v2"
        fi
        chmod -R u+w "$r" 2>/dev/null || true
        rm -rf "$r"
    done
fi

# ---------------------------------------------------------------- scenario (b)
if has_scenario b; then
    B="b ${SMALL_N} x ${SMALL_KB} KiB"
    section "(b) ${SMALL_N} files of ${SMALL_KB} KiB: add + commit"
    for tool in $TOOLS; do
        r="$WORK/b-add-$tool"
        if [ "$tool" = floor ]; then
            prep="rm -rf $r && mkdir -p $r"
            cmd="find $DATA/small_v1 -type f -exec openssl dgst -sha256 {} + >/dev/null && cp -r $DATA/small_v1 $r/data"
        else
            prep="$(init_cmd "$tool" "$r") && cp -r $DATA/small_v1/. $r/data/"
            cmd="$(add_cmd "$tool" "$r")"
        fi
        hf_continue "$B: add+commit" "$tool" "$prep" "$cmd"
        if [ "$MEM" = 1 ] && setup_repo "mem b add $tool" "$prep"; then
            memrun "$B: add+commit" "$tool" "$cmd"
        fi
        chmod -R u+w "$r" 2>/dev/null || true
        rm -rf "$r"
    done

    section "(b) switch v1 (${SMALL_N} files) <-> v2 (+${SMALL_EXTRA} files)"
    for tool in $TOOLS; do
        r="$WORK/b-switch-$tool"
        if [ "$tool" = floor ]; then
            mkdir -p "$r/data"
            cp -r "$DATA/small_v1/." "$r/data/"
            # the floor writes (v1->v2) or deletes (v2->v1) just the files that differ
            prep_v2="rm -rf $r/data/x*"
            cmd_v2="cp -r $DATA/small_extra/. $r/data/"
            prep_v1="cp -r $DATA/small_extra/. $r/data/"
            cmd_v1="rm -rf $r/data/x*"
        else
            if ! setup_repo "b switch $tool" "$(init_cmd "$tool" "$r") && cp -r $DATA/small_v1/. data/ && $(add_cmd "$tool" "$r") && git tag v1 && cp -r $DATA/small_extra/. data/ && $(add_cmd "$tool" "$r") && git tag v2"; then
                printf '%s\t%s\tFAILED\t%s\n' "$B: switch v1->v2" "$tool" "repo setup failed (see log above)" >>"$RES/time.tsv"
                printf '%s\t%s\tFAILED\t%s\n' "$B: switch v2->v1" "$tool" "repo setup failed (see log above)" >>"$RES/time.tsv"
                continue
            fi
            prep_v2="$(switch_cmd "$tool" "$r" v1)"
            cmd_v2="$(switch_cmd "$tool" "$r" v2)"
            prep_v1="$(switch_cmd "$tool" "$r" v2)"
            cmd_v1="$(switch_cmd "$tool" "$r" v1)"
        fi
        hf_continue "$B: switch v1->v2" "$tool" "$prep_v2" "$cmd_v2"
        verify "$tool" "$r/data" "$DATA/small_v2.sha256" v2
        hf_continue "$B: switch v2->v1" "$tool" "$prep_v1" "$cmd_v1"
        verify "$tool" "$r/data" "$DATA/small_v1.sha256" v1
        if [ "$MEM" = 1 ] && setup_repo "mem b switch $tool" "$prep_v2"; then
            memrun "$B: switch v1->v2" "$tool" "$cmd_v2"
        fi
        chmod -R u+w "$r" 2>/dev/null || true
        rm -rf "$r"
    done
fi

# ---------------------------------------------------------------- summary
section "summary"
echo "scenarios: '$SCENARIOS' (a: ${BIG_MB} MiB file; b: ${SMALL_N} (+${SMALL_EXTRA}) files x ${SMALL_KB} KiB); tools: '$TOOLS'; ${RUNS} runs; load avg now $(cut -d' ' -f1-3 /proc/loadavg)"
echo
"$PY" "$HERE/report.py" "$RES"
if [ -s "$RES/checks.txt" ]; then
    echo "Correctness checks that failed:"
    sed 's/^/  /' "$RES/checks.txt"
else
    echo "Correctness checks: every switch left the expected content (and, for git-based tools, a clean git status)."
fi
if grep -q $'\tFAILED\t' "$RES/time.tsv" "$RES/mem.tsv" 2>/dev/null; then
    echo "Some measurements FAILED (see above)."
fi
