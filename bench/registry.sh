#!/usr/bin/env bash
# git-dvc data-registry benchmark: `git dvc import` + `git dvc update` from a
# git-dvc registry vs `dvc import` + `dvc update` from an equivalent DVC
# registry, same data, both registries' data served read-only over HTTP by a
# static server. See bench/README.md. Run bench/setup.sh once first.
#
#   bench/registry.sh                                    # full size: 2800 files, 3 runs
#   BENCH_REG_N=200 BENCH_RUNS=1 bench/registry.sh       # quick
#
# Knobs (environment):
#   BENCH_DIR        scratch dir (default /tmp/git-dvc-bench-registry); removed at the end
#   BENCH_KEEP=1     keep BENCH_DIR afterwards
#   BENCH_REG_N      files in the registry at v1 (default 2800)
#   BENCH_REG_KB     size of each file in KiB (default 64)
#   BENCH_REG_CHANGE files v2 changes (default BENCH_REG_N / 20)
#   BENCH_REG_ADD    files v2 adds (default BENCH_REG_N / 20)
#   BENCH_RUNS       hyperfine runs per measurement (default 3)
#   BENCH_WARMUP     hyperfine warmup runs (default 0)
#   BENCH_TOOLS      subset of "git-dvc dvc"
#   BENCH_COMMIT=0   skip the "+ git commit" measurements
#   BENCH_MEM=0      skip the peak-memory runs
#   BENCH_GITDVC     git-dvc binary (default target/release/git-dvc; never built here)
#   BENCH_DVC        dvc executable (default bench/.venv/bin/dvc)
set -euo pipefail

SCRIPT=registry.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

BENCH_DIR="${BENCH_DIR:-/tmp/git-dvc-bench-registry}"
REG_N="${BENCH_REG_N:-2800}"
REG_KB="${BENCH_REG_KB:-64}"
REG_CHANGE="${BENCH_REG_CHANGE:-$((REG_N / 20))}"
REG_ADD="${BENCH_REG_ADD:-$((REG_N / 20))}"
RUNS="${BENCH_RUNS:-3}"
WARMUP="${BENCH_WARMUP:-0}"
TOOLS="${BENCH_TOOLS:-git-dvc dvc}"
COMMIT="${BENCH_COMMIT:-1}"
MEM="${BENCH_MEM:-1}"
KEEP="${BENCH_KEEP:-0}"
GITDVC_SRC="${BENCH_GITDVC:-$ROOT/target/release/git-dvc}"
DVC="${BENCH_DVC:-$HERE/.venv/bin/dvc}"
PY="${PYTHON:-python3}"

# shellcheck source=bench/common.sh
. "$HERE/common.sh"

has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }

for n in "$REG_N" "$REG_KB" "$REG_CHANGE" "$REG_ADD"; do
    [[ "$n" =~ ^[0-9]+$ ]] || die "size/count knobs must be whole numbers ($n)"
done
[ "$REG_N" -ge 1 ] || die "BENCH_REG_N must be at least 1"
[ "$REG_CHANGE" -le "$REG_N" ] || die "BENCH_REG_CHANGE cannot exceed BENCH_REG_N"
for t in $TOOLS; do
    case "$t" in git-dvc | dvc) ;; *) die "unknown tool in BENCH_TOOLS: $t" ;; esac
done
if has_tool dvc; then
    [ -x "$DVC" ] || die "dvc not found at $DVC: run bench/setup.sh"
    "$HERE/.venv/bin/python" -c 'import dvc_http' 2>/dev/null || die "DVC lacks HTTP support: $HERE/.venv/bin/pip install dvc-http"
fi

bench_init
git dvc install --global --quiet

section "versions and machine"
print_versions
echo "parameters: BENCH_REG_N=$REG_N BENCH_REG_KB=$REG_KB BENCH_REG_CHANGE=$REG_CHANGE BENCH_REG_ADD=$REG_ADD BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP"
echo "            BENCH_TOOLS='$TOOLS' BENCH_COMMIT=$COMMIT BENCH_MEM=$MEM"

# ---------------------------------------------------------------- data
section "deterministic data (AES-128-CTR keystream, fixed keys)"
KEY_V1=0123456789abcdef0123456789abcdef     # = run.sh's small_v1
KEY_CHANGE=00ff00ff00ff00ff00ff00ff00ff00ff
KEY_ADD=fedcba9876543210fedcba9876543210    # = run.sh's small_extra
stamp="reg=$REG_N x $REG_KB KiB change=$REG_CHANGE add=$REG_ADD keys=$KEY_V1,$KEY_CHANGE,$KEY_ADD v1"
if [ "$(cat "$DATA/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$DATA" && mkdir -p "$DATA"
    t0=$SECONDS
    "$PY" "$HERE/gendata.py" small "$DATA/v1" "$REG_N" "$REG_KB" "$KEY_V1" d
    # v2 = v1 with REG_CHANGE files (spread evenly) rewritten, plus REG_ADD new files in new folders
    cp -r "$DATA/v1" "$DATA/v2"
    if [ "$REG_CHANGE" -gt 0 ]; then
        "$PY" "$HERE/gendata.py" small "$DATA/change" "$REG_CHANGE" "$REG_KB" "$KEY_CHANGE" c
        "$PY" - "$DATA/change" "$DATA/v2" "$REG_N" "$REG_CHANGE" <<'EOF'
import os, sys
src, dst, n, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for i in range(k):
    j = i * n // k  # spread over the whole registry
    os.replace(os.path.join(src, f"c{i // 100:03d}", f"f{i % 100:03d}.bin"),
               os.path.join(dst, f"d{j // 100:03d}", f"f{j % 100:03d}.bin"))
EOF
        rm -rf "$DATA/change"
    fi
    if [ "$REG_ADD" -gt 0 ]; then
        "$PY" "$HERE/gendata.py" small "$DATA/v2" "$REG_ADD" "$REG_KB" "$KEY_ADD" x
    fi
    echo "$stamp" >"$DATA/.stamp"
    echo "generated in $((SECONDS - t0)) s"
else
    echo "reusing $DATA"
fi
manifest "$DATA/v1" >"$DATA/v1.sha256"
manifest "$DATA/v2" >"$DATA/v2.sha256"
echo "v1: $(wc -l <"$DATA/v1.sha256") files, $(du -sh "$DATA/v1" | cut -f1)"
echo "v2: $(wc -l <"$DATA/v2.sha256") files ($(diff "$DATA/v1.sha256" "$DATA/v2.sha256" | grep -c '^<' || true) of v1's changed, $(($(wc -l <"$DATA/v2.sha256") - $(wc -l <"$DATA/v1.sha256"))) added), $(du -sh "$DATA/v2" | cut -f1)"

# ---------------------------------------------------------------- HTTP server
section "static HTTP server over the registries' directory remotes"
WWW="$BENCH_DIR/www"
rm -rf "$WWW" && mkdir -p "$WWW/gitdvc" "$WWW/dvc"
PORT=$(free_port)
"$PY" -m http.server --bind 127.0.0.1 "$PORT" --directory "$WWW" >"$RES/logs/http-server.log" 2>&1 &
BENCH_PIDS+=($!)
wait_port "$PORT" || { tail "$RES/logs/http-server.log"; die "http.server did not start"; }
echo "python3 -m http.server pid ${BENCH_PIDS[-1]} on http://127.0.0.1:$PORT/, serving $WWW (gitdvc/, dvc/)"

# ---------------------------------------------------------------- registries
# Each registry is built in an authoring repo, v1 and v2 committed and tagged,
# data pushed to a directory under $WWW (its read-only HTTP remote is what the
# committed config names), history pushed to a bare repo. The consumers import
# from file://<bare repo>, which holds neither worktree nor cache, so every
# byte of data comes over HTTP. The bare repo's main is set to v1 for import
# and moved to v2 before update (update follows the branch).
section "registries (untimed)"
reg_setup() { # tool
    local a="$WORK/reg-$1" b="$WORK/reg-$1.git"
    local v2="rm -rf data && mkdir data && cp -r $DATA/v2/. data/"
    local bare="git init -q --bare $b && git push -q --no-verify file://$b main v1 v2"
    case "$1" in
        git-dvc)
            echo "rm -rf $a $b && git init -q $a && cd $a && git dvc install --local --quiet && git dvc track 'data/**' >/dev/null \
&& git dvc remote add -d storage http://127.0.0.1:$PORT/gitdvc --quiet && git dvc remote set storage read_only true --quiet \
&& git dvc remote add upload $WWW/gitdvc --local --quiet \
&& mkdir data && cp -r $DATA/v1/. data/ && git add -A && git commit -qm v1 && git tag v1 && git dvc push upload --quiet \
&& $v2 && git add -A && git commit -qm v2 && git tag v2 && git dvc push upload --quiet && $bare"
            ;;
        dvc)
            echo "rm -rf $a $b && git init -q $a && cd $a && $DVC init -q \
&& $DVC remote add -q -d storage http://127.0.0.1:$PORT/dvc && $DVC remote add -q --local upload $WWW/dvc \
&& mkdir data && cp -r $DATA/v1/. data/ && $DVC add -q data && git add -A && git commit -qm v1 && git tag v1 && $DVC push -q -r upload \
&& $v2 && $DVC add -q data && git add -A && git commit -qm v2 && git tag v2 && $DVC push -q -r upload && $bare"
            ;;
    esac
}
READY=""
for tool in $TOOLS; do
    if setup_step "registry $tool" "$(reg_setup "$tool")"; then
        READY="$READY $tool"
        d=$([ "$tool" = git-dvc ] && echo gitdvc || echo dvc)
        echo "$tool registry: $(git -C "$WORK/reg-$tool.git" rev-parse --short v1) (v1), $(git -C "$WORK/reg-$tool.git" rev-parse --short v2) (v2); HTTP remote http://127.0.0.1:$PORT/$d/ holds $(find "$WWW/$d" -type f | wc -l) objects ($(du -sh "$WWW/$d" | cut -f1))"
        # the authoring repo (worktree and cache) is not needed any more
        chmod -R u+w "$WORK/reg-$tool"
        rm -rf "$WORK/reg-$tool"
    else
        for m in import update; do
            printf '%s\t%s\tFAILED\t%s\n' "$m" "$tool" "registry setup failed (see log above)" >>"$RES/time.tsv"
        done
    fi
done
echo "committed remote config:"
for tool in $READY; do
    case $tool in
        git-dvc) git -C "$WORK/reg-git-dvc.git" show v1:.gitdvc.toml | sed 's|^|    git-dvc .gitdvc.toml \| |' ;;
        dvc) git -C "$WORK/reg-dvc.git" show v1:.dvc/config | sed 's|^|    dvc .dvc/config      \| |' ;;
    esac
done

# ---------------------------------------------------------------- per-tool commands
consumer() { echo "$WORK/use-$1"; }

main_to() { # tool tag: point the registry's main branch at a tag
    echo "git -C $WORK/reg-$1.git update-ref refs/heads/main \$(git -C $WORK/reg-$1.git rev-parse $2^{commit})"
}

fresh_consumer() { # tool: an empty repo with one commit
    local c
    c=$(consumer "$1")
    case "$1" in
        git-dvc) echo "chmod -R u+w $c 2>/dev/null; rm -rf $c && git init -q $c && cd $c && git commit -q --allow-empty -m init" ;;
        # DVC keeps per-repo state in its site cache, keyed by the repo's path:
        # a fresh consumer at the same path must not find the last one's.
        dvc) echo "chmod -R u+w $c 2>/dev/null; rm -rf $c $DVC_SITE_CACHE_DIR/repo && git init -q $c && cd $c && $DVC init -q && git commit -qm init" ;;
    esac
}

import_cmd() { # tool
    case "$1" in
        git-dvc) echo "cd $(consumer git-dvc) && git dvc import --quiet file://$WORK/reg-git-dvc.git data" ;;
        dvc) echo "cd $(consumer dvc) && $DVC import -q file://$WORK/reg-dvc.git data" ;;
    esac
}

update_cmd() { # tool
    case "$1" in
        git-dvc) echo "cd $(consumer git-dvc) && git dvc update --quiet data" ;;
        dvc) echo "cd $(consumer dvc) && $DVC update -q data.dvc" ;;
    esac
}

commit_cmd() { # tool: what the user commits after an import or update
    case "$1" in
        git-dvc) echo "cd $(consumer git-dvc) && git add -A && git commit -qm data" ;;
        dvc) echo "cd $(consumer dvc) && git add -A && git commit -qm data" ;;
    esac
}

verify() { # tool label version commit?(1/0)
    local c msg=""
    c=$(consumer "$1")
    [ "$(manifest "$c/data")" = "$(cat "$DATA/$3.sha256")" ] ||
        msg="CONTENT WRONG: data/ is not $3 ($(cd "$c/data" 2>/dev/null && find . -type f | wc -l) files)"
    if [ "$4" = 1 ]; then
        local st
        st=$(cd "$c" && git status --porcelain 2>&1 | head -n 3 | tr '\n' ' ')
        [ -z "$st" ] || msg="$msg GIT STATUS DIRTY: $st"
    fi
    if [ -z "$msg" ]; then
        check "$1" "$2" ok "data/ is $3$([ "$4" = 1 ] && echo ', git status clean')"
    else
        check "$1" "$2" bad "$msg"
    fi
}

# ---------------------------------------------------------------- measurements
section "import (registry main = v1; fresh consumer repo each run)"
for tool in $READY; do
    prep="$(main_to "$tool" v1) && $(fresh_consumer "$tool")"
    hf "import" "$tool" "$prep" "$(import_cmd "$tool")" && verify "$tool" import v1 0
    if [ "$COMMIT" = 1 ]; then
        hf "import + git commit" "$tool" "$prep" "$(import_cmd "$tool") && $(commit_cmd "$tool")" && verify "$tool" "import + git commit" v1 1
    fi
    if [ "$MEM" = 1 ] && setup_step "mem import $tool" "$prep"; then
        memrun "import" "$tool" "$(import_cmd "$tool")"
    fi
done

section "update (consumer imported v1 and committed; registry main moved to v2: $REG_CHANGE changed, $REG_ADD added)"
for tool in $READY; do
    prep="$(main_to "$tool" v1) && $(fresh_consumer "$tool") && $(import_cmd "$tool") && $(commit_cmd "$tool") && $(main_to "$tool" v2)"
    hf "update" "$tool" "$prep" "$(update_cmd "$tool")" && verify "$tool" update v2 0
    if [ "$COMMIT" = 1 ]; then
        hf "update + git commit" "$tool" "$prep" "$(update_cmd "$tool") && $(commit_cmd "$tool")" && verify "$tool" "update + git commit" v2 1
    fi
    if [ "$MEM" = 1 ] && setup_step "mem update $tool" "$prep"; then
        memrun "update" "$tool" "$(update_cmd "$tool")"
    fi
done

# ---------------------------------------------------------------- summary
section "summary"
echo "registry: $REG_N files x $REG_KB KiB at v1; v2 changes $REG_CHANGE and adds $REG_ADD; data over HTTP (python3 -m http.server); tools: '$TOOLS'; ${RUNS} runs; load avg now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "import: 'git dvc import file://<registry> data' / 'dvc import file://<registry> data' into a fresh repo."
echo "update: 'git dvc update data' / 'dvc update data.dvc' after the registry's main moved from v1 to v2."
echo "+ git commit: the same, then 'git add -A && git commit' (what the user commits: the data through"
echo "the clean filter and data.import.toml for git-dvc; data.dvc and .gitignore for DVC)."
echo "http.server requests served (all runs, setup included):"
for d in gitdvc dvc; do
    echo "  /$d/: $(grep -c "\"GET /$d/" "$RES/logs/http-server.log" || true) GET, $(grep -c "\"HEAD /$d/" "$RES/logs/http-server.log" || true) HEAD, $(grep -E "\"[A-Z]+ /$d/" "$RES/logs/http-server.log" | grep -cE '" (4|5)[0-9][0-9] ' || true) answered 4xx/5xx"
done
echo
"$PY" "$HERE/report.py" "$RES"
if [ -s "$RES/checks.txt" ]; then
    echo "Correctness checks that failed:"
    sed 's/^/  /' "$RES/checks.txt"
else
    echo "Correctness checks: every import left v1, every update v2, byte for byte (and a clean git status after each commit)."
fi
if grep -q $'\tFAILED\t' "$RES/time.tsv" "$RES/mem.tsv" 2>/dev/null; then
    echo "Some measurements FAILED (see above)."
fi
