# Shared by bench/run.sh, bench/remote.sh, bench/registry.sh and
# bench/large.sh (sourced, not run).
#
# The sourcing script sets HERE, ROOT, BENCH_DIR, RUNS, WARMUP, MEM, KEEP, PY,
# DVC and SCRIPT (its name, for messages) before calling bench_init.

section() { printf '\n==================== %s ====================\n' "$*"; }
die() { echo "bench/$SCRIPT: error: $*" >&2; exit 1; }
slug() { echo "$*" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | sed 's/-$//'; }

# Returns a free TCP port on 127.0.0.1.
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until something listens on 127.0.0.1:$1 (at most ~10 s).
wait_port() {
    local i
    for i in $(seq 1 100); do
        if "$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2).close()' "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# Background servers started by the script; stopped by their pid at exit.
BENCH_PIDS=()
# Scratch dirs outside BENCH_DIR (each holding the marker file); removed at exit.
BENCH_EXTRA_DIRS=()

# Checks knobs, makes BENCH_DIR (with a marker), installs the cleanup trap,
# copies the git-dvc binary, and isolates HOME / git / DVC configuration.
bench_init() {
    case "$BENCH_DIR" in
        "" | / | *[[:space:]\'\"\$\\]*) die "BENCH_DIR must be a plain path without spaces or quotes ($BENCH_DIR)" ;;
        /*) ;;
        *) die "BENCH_DIR must be absolute ($BENCH_DIR)" ;;
    esac
    [[ "$RUNS" =~ ^[0-9]+$ && "$RUNS" -ge 1 ]] || die "BENCH_RUNS must be a whole number >= 1"
    [[ "$WARMUP" =~ ^[0-9]+$ ]] || die "BENCH_WARMUP must be a whole number"
    local c
    for c in git hyperfine openssl "$PY" sha256sum; do
        command -v "$c" >/dev/null 2>&1 || die "'$c' not found: run bench/setup.sh"
    done
    [ -x /usr/bin/time ] || die "/usr/bin/time (GNU time) not found: run bench/setup.sh"
    [ -x "$GITDVC_SRC" ] || die "no git-dvc binary at $GITDVC_SRC (cargo build --release, or set BENCH_GITDVC)"
    # The scripts change directory: a relative BENCH_GITDVC would stop
    # naming the binary (its build time in the header came out empty).
    GITDVC_SRC="$(cd "$(dirname "$GITDVC_SRC")" && pwd)/$(basename "$GITDVC_SRC")"

    MARKER="$BENCH_DIR/.git-dvc-bench"
    if [ -e "$BENCH_DIR" ] && [ ! -e "$MARKER" ] && [ -n "$(ls -A "$BENCH_DIR" 2>/dev/null)" ]; then
        die "$BENCH_DIR exists, is not empty and is not a bench dir; pick another BENCH_DIR"
    fi
    mkdir -p "$BENCH_DIR"
    touch "$MARKER"
    trap bench_cleanup EXIT

    DATA="$BENCH_DIR/data"
    WORK="$BENCH_DIR/work"
    RES="$BENCH_DIR/results"
    SHIM="$BENCH_DIR/shim"
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$RES" "$WORK" "$SHIM" "$BENCH_DIR/bin"
    mkdir -p "$DATA" "$WORK" "$RES/json" "$RES/mem" "$RES/logs" "$SHIM" "$BENCH_DIR/bin"

    # Benchmark a private copy, so a rebuild during the run cannot swap it.
    cp "$GITDVC_SRC" "$BENCH_DIR/bin/git-dvc"
    GITDVC_BIN="$BENCH_DIR/bin/git-dvc"

    # Never touch the user's git, git-lfs, git-dvc, DVC or AWS configuration.
    local v
    while IFS= read -r v; do unset "$v"; done < <(compgen -e | grep -E '^(GIT_|DVC_|AWS_)' || true)
    export HOME="$BENCH_DIR/home"
    export XDG_CONFIG_HOME="$HOME/.config" XDG_CACHE_HOME="$HOME/.cache" XDG_DATA_HOME="$HOME/.local/share"
    export GIT_CONFIG_GLOBAL="$HOME/.gitconfig" GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
    export DVC_NO_ANALYTICS=1 DVC_SITE_CACHE_DIR="$BENCH_DIR/dvc-site-cache"
    export AWS_CONFIG_FILE="$HOME/.aws/config" AWS_SHARED_CREDENTIALS_FILE="$HOME/.aws/credentials"
    export LC_ALL=C
    export PATH="$BENCH_DIR/bin:$PATH"
    unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
    export no_proxy=127.0.0.1,localhost NO_PROXY=127.0.0.1,localhost
    rm -rf "$HOME"
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
    git config --global protocol.file.allow always
    if [ -x "$DVC" ]; then
        (cd "$HOME" && "$DVC" config --global core.analytics false && "$DVC" config --global core.check_update false)
    fi
    [ "$(command -v git-dvc)" = "$GITDVC_BIN" ] || die "git-dvc on PATH is not $GITDVC_BIN"

    # PATH shims used only by the memory runs: each invocation of git-dvc /
    # git-lfs (filter process, hooks, push) runs under GNU time, which appends
    # "<max RSS KiB>\t<seconds>\t<command line>" to $BENCH_MEMLOG.
    make_shim git-dvc "$GITDVC_BIN"
    if command -v git-lfs >/dev/null 2>&1; then make_shim git-lfs "$(command -v git-lfs)"; fi
    # Out of any repository (the checkout the script runs from, say): a
    # `git dvc install` run inside one also writes its hooks there.
    cd "$BENCH_DIR"
}

bench_cleanup() {
    local rc=$? pid
    for pid in "${BENCH_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ "$KEEP" = 1 ]; then
        echo "(kept $BENCH_DIR)"
    elif [ -e "$MARKER" ]; then
        chmod -R u+w "$BENCH_DIR" 2>/dev/null || true # caches hold read-only objects
        rm -rf "$BENCH_DIR"
    fi
    local d
    for d in "${BENCH_EXTRA_DIRS[@]}"; do
        if [ "$KEEP" != 1 ] && [ -e "$d/.git-dvc-bench" ]; then
            chmod -R u+w "$d" 2>/dev/null || true
            rm -rf "$d"
        fi
    done
    exit "$rc"
}

make_shim() { # name real-binary
    printf '#!/bin/sh\nexec /usr/bin/time -a -o "${BENCH_MEMLOG:-/dev/null}" -f %s %s "$@"\n' \
        "'%M\t%e\t%C'" "$2" >"$SHIM/$1"
    chmod +x "$SHIM/$1"
}

print_versions() {
    echo "git-dvc:    $(git dvc --version) ($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo '?')$(cd "$ROOT" && [ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ] && echo ', src modified'); binary $GITDVC_SRC, built $(date -r "$GITDVC_SRC" '+%F %T'))"
    echo "git:        $(git --version)"
    command -v git-lfs >/dev/null 2>&1 && echo "git-lfs:    $(git lfs version)"
    [ -x "$DVC" ] && echo "dvc:        $("$DVC" --version)"
    echo "hyperfine:  $(hyperfine --version)"
    echo "python3:    $("$PY" --version 2>&1)"
    echo "kernel:     $(uname -sr)"
    echo "cpu:        $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory:     $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "bench dir:  $BENCH_DIR ($(stat -f -c %T "$BENCH_DIR"), $(df -h --output=avail "$BENCH_DIR" | tail -n1 | tr -d ' ') free)"
    echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg)"
}

note_failure() { # tsv-file scenario tool errlog
    local msg
    msg=$(grep -v '^[[:space:]]*$' "$4" 2>/dev/null | tail -n 3 | tr '\n\t' '  ' || true)
    [ -n "$msg" ] || msg="(no stderr; see hyperfine output above)"
    echo "!!! FAILED: $2 / $3: $msg"
    printf '%s\t%s\tFAILED\t%s\n' "$2" "$3" "$msg" >>"$1"
}

hf() { # scenario tool prepare command: one hyperfine measurement
    # (with HF_ROUND=r: run r of an interleaved one; see hf_start, hf_merge)
    local scen=$1 tool=$2 prep=$3 cmd=$4 id err json
    id=$(slug "$scen-$tool")
    err="$RES/logs/$id.err"
    json="$RES/json/$id.json"
    [ -z "${HF_ROUND:-}" ] || json="$RES/json/$id.round-$HF_ROUND.json"
    [ -n "${HF_ROUND:-}" ] || : >"$err"
    echo
    echo "--- $scen / $tool${HF_ROUND:+ (round $HF_ROUND)}"
    echo "    prepare: $prep"
    echo "    timed:   $cmd"
    if hyperfine --style basic --runs "$RUNS" --warmup "$WARMUP" --output=pipe \
        --export-json "$json" -n "$tool" \
        --prepare "exec 2>>$err; $prep${BENCH_SYNC:+; sync}" "exec 2>>$err; $cmd"; then
        [ -n "${HF_ROUND:-}" ] || printf '%s\t%s\t%s\t\n' "$scen" "$tool" "$json" >>"$RES/time.tsv"
        if [ -s "$err" ]; then
            echo "    (stderr:)"
            tail -n 5 "$err" | sed 's/^/    | /'
        fi
        return 0
    else
        tail -n 20 "$err" | sed 's/^/    | /'
        note_failure "$RES/time.tsv" "$scen" "$tool" "$err"
        return 1
    fi
}

hf_start() { # scenario tool: an interleaved measurement begins
    local id
    id=$(slug "$1-$2")
    : >"$RES/logs/$id.err"
    rm -f "$RES/json/$id".round-*.json
}

hf_merge() { # scenario tool: the rounds of an interleaved measurement as one
    local id json
    id=$(slug "$1-$2")
    json="$RES/json/$id.json"
    if "$PY" - "$RUNS" "$json" "$RES/json/$id".round-*.json <<'PY'; then
import json, statistics, sys
runs, out, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
times = [t for r in rounds for t in json.load(open(r))["results"][0]["times"]]
if len(times) != runs:
    sys.exit(f"{len(times)} of {runs} runs succeeded")
res = {"median": statistics.median(times), "min": min(times), "max": max(times),
       "mean": statistics.mean(times), "times": times}
json.dump({"results": [res]}, open(out, "w"))
PY
        printf '%s\t%s\t%s\t\n' "$1" "$2" "$json" >>"$RES/time.tsv"
    else
        note_failure "$RES/time.tsv" "$1" "$2" "$RES/logs/$id.err"
        return 1
    fi
}

memrun() { # scenario tool command: one run for peak memory
    local scen=$1 tool=$2 cmd=$3 id out log err
    [ "$MEM" = 1 ] || return 0
    id=$(slug "mem-$scen-$tool")
    out="$RES/mem/$id.json"
    log="$RES/mem/$id.shim.log"
    err="$RES/logs/$id.err"
    : >"$log"
    : >"$err"
    if PATH="$SHIM:$PATH" BENCH_MEMLOG="$log" "$PY" "$HERE/memwatch.py" "$out" "exec 2>>$err; $cmd" 2>>"$err"; then
        printf '%s\t%s\t%s\t%s\n' "$scen" "$tool" "$out" "$log" >>"$RES/mem.tsv"
        "$PY" "$HERE/report.py" --one "$out" "$log"
    else
        tail -n 20 "$err" | sed 's/^/    | /'
        note_failure "$RES/mem.tsv" "$scen" "$tool" "$err"
    fi
}

setup_step() { # description shell-command: untimed setup, run with errexit in its own shell
    local err
    err="$RES/logs/setup-$(slug "$1").err"
    if sh -ec "$2" >/dev/null 2>"$err"; then
        return 0
    fi
    echo "!!! setup failed: $1"
    echo "    command: $2"
    tail -n 20 "$err" | sed 's/^/    | /'
    return 1
}

check() { # tool label ok-bool message: record a correctness check
    echo "    check ($1, $2): $4"
    [ "$3" = ok ] || printf '%s\t%s\n' "$1" "$2: $4" >>"$RES/checks.txt"
}

# sha256 manifest of a directory's files, paths relative to it (sorted).
manifest() { (cd "$1" && find . -type f | sort | xargs -r sha256sum); }
