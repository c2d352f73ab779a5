#!/usr/bin/env bash
# git-dvc remote benchmark: push, and fresh clone + pull, against a directory
# remote (on the repos' filesystem, and on a tmpfs) and a local S3-compatible
# server (s3s-fs), side by side with DVC, git-lfs (file:// remote only) and
# the floor (cp; for S3, curl with no hashing) and, for directory remotes,
# the floor of a copy that is verified (cp+sha: `cp` beside `openssl dgst
# -sha256` of the same files, on the other core). See
# bench/README.md. Run bench/setup.sh once first, and for S3
# bench/s3s-fs-install.sh (a patched s3s-fs) and `.venv/bin/pip install dvc-s3`.
#
#   bench/remote.sh                                         # full size: 1 GiB, 5000 files, 3 runs
#   BENCH_BIG_MB=16 BENCH_SMALL_N=200 BENCH_RUNS=1 bench/remote.sh   # quick
#
# Knobs (environment):
#   BENCH_DIR        scratch dir (default /tmp/git-dvc-bench-remote); removed at the end
#   BENCH_KEEP=1     keep BENCH_DIR afterwards
#   BENCH_BIG_MB     size of the scenario (a) file in MiB (default 1024)
#   BENCH_BIG_FILES  split scenario (a) into this many files of BENCH_BIG_MB/N
#                    MiB each (default 1); the issue's "2 files (102 MB)" is
#                    BENCH_BIG_MB=98 BENCH_BIG_FILES=2
#   BENCH_SMALL_N    number of files in scenario (b) (default 5000)
#   BENCH_SMALL_KB   size of each scenario (b) file in KiB (default 64)
#   BENCH_RUNS       hyperfine runs per measurement (default 3)
#   BENCH_WARMUP     hyperfine warmup runs (default 0)
#   BENCH_TOOLS      subset of "git-dvc git-lfs dvc floor cp+sha" (cp+sha:
#                    directory remotes only; not run by default)
#   BENCH_SCENARIOS  subset of "a b"
#   BENCH_REMOTES    subset of "dir tmpfs s3"
#   BENCH_TMPFS_DIR  where the tmpfs remotes go (default /dev/shm/git-dvc-bench-remote)
#   BENCH_MEM=0      skip the peak-memory runs
#   BENCH_INTERLEAVE=1  run 1 of every tool, then run 2 of every tool...
#                    (default: a tool's runs back to back), so that drift on a
#                    shared machine moves every tool alike
#   BENCH_GITDVC     git-dvc binary (default target/release/git-dvc; never built here)
#   BENCH_DVC        dvc executable (default bench/.venv/bin/dvc, needs dvc-s3 for S3)
#   BENCH_S3S        s3s-fs binary (default /tmp/s3s-bin/bin/s3s-fs, from bench/s3s-fs-install.sh)
#   BENCH_SETTLE     seconds to wait after deleting scenario (b)'s files (default 61)
#   BENCH_SYNC       set (to anything) to end every untimed prepare step with
#                    `sync`, so no run pays for the writeback of the one before
#                    (it matters where BENCH_DIR is a loop-mounted image)
#
# Scenario (b) never deletes between timed runs: what a run leaves (clone,
# remote, s3s-fs side files) is renamed into a trash dir, emptied only
# between sections, then left BENCH_SETTLE seconds. bench/README.md ("Things
# to know") says why: journal-less ext4 skips recently freed inodes.
set -euo pipefail

SCRIPT=remote.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

BENCH_DIR="${BENCH_DIR:-/tmp/git-dvc-bench-remote}"
BIG_MB="${BENCH_BIG_MB:-1024}"
BIG_FILES="${BENCH_BIG_FILES:-1}"
SMALL_N="${BENCH_SMALL_N:-5000}"
SMALL_KB="${BENCH_SMALL_KB:-64}"
RUNS="${BENCH_RUNS:-3}"
WARMUP="${BENCH_WARMUP:-0}"
TOOLS="${BENCH_TOOLS:-git-dvc git-lfs dvc floor}"
SCENARIOS="${BENCH_SCENARIOS:-a b}"
REMOTES="${BENCH_REMOTES:-dir tmpfs s3}"
TMPFS_DIR="${BENCH_TMPFS_DIR:-/dev/shm/git-dvc-bench-remote}"
MEM="${BENCH_MEM:-1}"
INTERLEAVE="${BENCH_INTERLEAVE:-0}"
KEEP="${BENCH_KEEP:-0}"
GITDVC_SRC="${BENCH_GITDVC:-$ROOT/target/release/git-dvc}"
DVC="${BENCH_DVC:-$HERE/.venv/bin/dvc}"
S3S="${BENCH_S3S:-/tmp/s3s-bin/bin/s3s-fs}" # bench/s3s-fs-install.sh puts it there
PY="${PYTHON:-python3}"
SETTLE="${BENCH_SETTLE:-61}"

# shellcheck source=bench/common.sh
. "$HERE/common.sh"

has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
has_scenario() { [[ " $SCENARIOS " == *" $1 "* ]]; }
has_remote() { [[ " $REMOTES " == *" $1 "* ]]; }

for n in "$BIG_MB" "$BIG_FILES" "$SMALL_N" "$SMALL_KB"; do
    [[ "$n" =~ ^[0-9]+$ ]] || die "size/count knobs must be whole numbers ($n)"
done
[ "$BIG_FILES" -ge 1 ] && [ "$BIG_FILES" -le 255 ] || die "BENCH_BIG_FILES must be 1..255 ($BIG_FILES)"
BIG_EACH_MB=$((BIG_MB / BIG_FILES))
if [ "$BIG_FILES" = 1 ]; then BIG_DESC="one ${BIG_MB} MiB file"; else BIG_DESC="${BIG_FILES} files of ${BIG_EACH_MB} MiB"; fi
for t in $TOOLS; do
    case "$t" in git-dvc | git-lfs | dvc | floor | cp+sha) ;; *) die "unknown tool in BENCH_TOOLS: $t" ;; esac
done
for t in $REMOTES; do
    case "$t" in dir | tmpfs | s3) ;; *) die "unknown remote in BENCH_REMOTES: $t" ;; esac
done
if has_remote tmpfs; then
    case "$TMPFS_DIR" in
        /*/*) ;;
        *) die "BENCH_TMPFS_DIR must be an absolute path below a mount point ($TMPFS_DIR)" ;;
    esac
    [[ "$TMPFS_DIR" != *[[:space:]\'\"\$\\]* ]] || die "BENCH_TMPFS_DIR must be a plain path ($TMPFS_DIR)"
fi
if has_tool git-lfs; then command -v git-lfs >/dev/null 2>&1 || die "git-lfs not found: run bench/setup.sh"; fi
if has_tool dvc; then [ -x "$DVC" ] || die "dvc not found at $DVC: run bench/setup.sh"; fi
if has_remote s3; then
    [ -x "$S3S" ] || die "s3s-fs not found at $S3S: run bench/s3s-fs-install.sh (or set BENCH_S3S, or BENCH_REMOTES=dir)"
    if has_tool dvc; then
        "$DVC" version 2>/dev/null | grep -qi 's3' || "$HERE/.venv/bin/python" -c 'import dvc_s3' 2>/dev/null ||
            die "DVC lacks S3 support: $HERE/.venv/bin/pip install dvc-s3"
    fi
fi

bench_init
if has_remote tmpfs; then
    if [ -e "$TMPFS_DIR" ] && [ ! -e "$TMPFS_DIR/.git-dvc-bench" ] && [ -n "$(ls -A "$TMPFS_DIR" 2>/dev/null)" ]; then
        die "$TMPFS_DIR exists, is not empty and is not a bench dir; pick another BENCH_TMPFS_DIR"
    fi
    mkdir -p "$TMPFS_DIR"
    touch "$TMPFS_DIR/.git-dvc-bench"
    BENCH_EXTRA_DIRS+=("$TMPFS_DIR")
    [ "$(stat -f -c %T "$TMPFS_DIR")" = "$(stat -f -c %T "$WORK")" ] && [ "$(stat -c %d "$TMPFS_DIR")" = "$(stat -c %d "$WORK")" ] &&
        die "BENCH_TMPFS_DIR ($TMPFS_DIR) must be on another filesystem than BENCH_DIR"
fi

# A global install, as a user has: a fresh clone smudges through git-dvc
# (and git-lfs) with no further command.
git dvc install --global --quiet
if has_tool git-lfs; then git lfs install --skip-repo >/dev/null; fi

section "versions and machine"
print_versions
[ -x "$S3S" ] && echo "s3s-fs:     $("$S3S" --version 2>/dev/null | head -n1 || echo '?') ($S3S)"
echo "parameters: BENCH_BIG_MB=$BIG_MB BENCH_SMALL_N=$SMALL_N BENCH_SMALL_KB=$SMALL_KB BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP"
echo "            BENCH_TOOLS='$TOOLS' BENCH_SCENARIOS='$SCENARIOS' BENCH_REMOTES='$REMOTES' BENCH_MEM=$MEM"
echo "transfer:   git-dvc transfer.jobs default (32 slots: 32 S3 requests, 8 HTTP); dvc --jobs default (4 x cpus); git-lfs lfs.concurrenttransfers default (8)"

# ---------------------------------------------------------------- S3 server
S3_PORT="" S3_ROOT="$BENCH_DIR/s3root" S3_BUCKET=bench S3_ENDPOINT=""
if has_remote s3; then
    section "S3-compatible server (s3s-fs on 127.0.0.1)"
    S3_PORT=$(free_port)
    S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
    rm -rf "$S3_ROOT"
    mkdir -p "$S3_ROOT/$S3_BUCKET" # a bucket is a directory under the root
    export AWS_ACCESS_KEY_ID=benchaccesskey AWS_SECRET_ACCESS_KEY=benchsecretkey
    export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
    RUST_LOG=warn "$S3S" --host 127.0.0.1 --port "$S3_PORT" \
        --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$S3_ROOT" \
        >"$RES/logs/s3s-fs.log" 2>&1 &
    BENCH_PIDS+=($!)
    wait_port "$S3_PORT" || { tail "$RES/logs/s3s-fs.log"; die "s3s-fs did not start"; }
    echo "s3s-fs pid ${BENCH_PIDS[-1]} on $S3_ENDPOINT, root $S3_ROOT, bucket '$S3_BUCKET'"
fi

# ---------------------------------------------------------------- data
section "deterministic data (AES-128-CTR keystream, fixed keys)"
KEY_BIG=00112233445566778899aabbccddeeff   # = run.sh's big_v1
KEY_SMALL=0123456789abcdef0123456789abcdef # = run.sh's small_v1
stamp="big=$BIG_MB files=$BIG_FILES small=$SMALL_N x $SMALL_KB KiB keys=$KEY_BIG,$KEY_SMALL v1"
if [ "$(cat "$DATA/.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$DATA" && mkdir -p "$DATA"
    t0=$SECONDS
    if has_scenario a; then
        mkdir -p "$DATA/a"
        if [ "$BIG_FILES" = 1 ]; then
            "$PY" "$HERE/gendata.py" big "$DATA/a/big.bin" "$BIG_MB" "$KEY_BIG"
        else
            for i in $(seq 1 "$BIG_FILES"); do # each file its own key: distinct objects
                "$PY" "$HERE/gendata.py" big "$DATA/a/big-$i.bin" "$BIG_EACH_MB" "${KEY_BIG%??}$(printf %02x "$i")"
            done
        fi
    fi
    if has_scenario b; then
        "$PY" "$HERE/gendata.py" small "$DATA/b" "$SMALL_N" "$SMALL_KB" "$KEY_SMALL" d
    fi
    echo "$stamp" >"$DATA/.stamp"
    echo "generated in $((SECONDS - t0)) s"
else
    echo "reusing $DATA"
fi
for s in a b; do
    has_scenario $s || continue
    manifest "$DATA/$s" >"$DATA/$s.sha256"
    echo "($s) $(wc -l <"$DATA/$s.sha256") file(s), $(du -sh "$DATA/$s" | cut -f1)"
done

# ---------------------------------------------------------------- per-tool commands
# Where each tool's data remote lives. dir: a directory on the repos'
# filesystem; tmpfs: a directory on another filesystem (no hard links
# possible); s3: a prefix in the bucket, i.e. a directory under s3s-fs's root.
# git-lfs's remote is its bare origin repo's lfs/, so for tmpfs that repo
# lives on the tmpfs too.
origin_dir() { # tool kind
    if [ "$1" = git-lfs ] && [ "$2" = tmpfs ]; then echo "$TMPFS_DIR/$1-origin.git"; else echo "$WORK/$1-origin.git"; fi
}
remote_dir() { # tool kind
    if [ "$1" = git-lfs ]; then
        echo "$(origin_dir "$1" "$2")/lfs"
        return
    fi
    case "$2" in
        dir) echo "$WORK/$1-remote" ;;
        tmpfs) echo "$TMPFS_DIR/$1-remote" ;;
        s3) echo "$S3_ROOT/$S3_BUCKET/$1" ;;
    esac
}

source_setup() { # tool kind scenario: untimed: the source repo with the data committed, git history pushed to a bare origin
    local tool=$1 kind=$2 s=$3 src="$WORK/$1-src" origin url
    origin=$(origin_dir "$tool" "$kind")
    case "$kind" in
        dir | tmpfs) url=$(remote_dir "$tool" "$kind") ;;
        s3) url="s3://$S3_BUCKET/$tool" ;;
    esac
    local cp_data="mkdir -p data && cp -r $DATA/$s/. data/"
    local to_origin="git init -q --bare $origin && git remote add origin file://$origin && git push -q --no-verify origin main"
    case "$tool" in
        git-dvc)
            local add="git dvc remote add -d storage $url --quiet"
            [ "$kind" = s3 ] && add="$add --endpoint $S3_ENDPOINT"
            echo "rm -rf $src $origin && git init -q $src && cd $src && git dvc install --local --quiet && git dvc track 'data/**' && $add && $cp_data && git add -A && git commit -qm data && $to_origin"
            ;;
        git-lfs)
            echo "rm -rf $src $origin && git init -q $src && cd $src && git lfs install --local && git lfs track 'data/**' && $cp_data && git add -A && git commit -qm data && $to_origin"
            ;;
        dvc)
            local add="$DVC remote add -q -d storage $url"
            [ "$kind" = s3 ] && add="$add && $DVC remote modify storage endpointurl $S3_ENDPOINT"
            echo "rm -rf $src $origin && git init -q $src && cd $src && $DVC init -q && $add && $cp_data && $DVC add -q data && git add -A && git commit -qm data && $to_origin"
            ;;
    esac
}

# Scenario (b)'s outputs go to the trash (a rename), everything else is
# deleted; settle empties the trash between sections (see the head).
MANY=0
TRASH="$BENCH_DIR/trash"
discard() { # path: a command that takes it out of the way
    # (a tmpfs has no such cost, and a rename cannot leave it)
    if [ "$MANY" = 1 ] && [[ "$1" != "$TMPFS_DIR"/* ]]; then
        echo "if [ -e $1 ]; then mkdir -p $TRASH && mv $1 \$(mktemp -u -p $TRASH); fi"
    else
        echo "chmod -R u+w $1 2>/dev/null; rm -rf $1"
    fi
}
settle() {
    [ -d "$TRASH" ] || return 0
    chmod -R u+w "$TRASH" 2>/dev/null || true
    rm -rf "$TRASH"
    sync
    echo "(trash emptied; waiting ${SETTLE}s for the freed inodes to be reusable)"
    sleep "$SETTLE"
}

empty_remote() { # tool kind
    local d
    d=$(remote_dir "$1" "$2")
    # s3s-fs keeps each object's metadata in dot files at its root: only
    # this tool's go (the others' objects may still be read: BENCH_INTERLEAVE).
    local side=""
    if [ "$2" = s3 ] && [ "$MANY" = 1 ]; then
        side=" && mkdir -p $TRASH && t=\$(mktemp -d -p $TRASH) && $PY $HERE/s3-side-files.py $S3_ROOT $1/ \$t"
    elif [ "$2" = s3 ]; then
        side=" && $PY $HERE/s3-side-files.py $S3_ROOT $1/"
    fi
    echo "$(discard "$d") && mkdir -p $d$side"
}

# The S3 floor: curl moving the same files to and from the same server, 32
# at a time (git-dvc's transfer.jobs; 8 before 2026-12-04 20:00 UTC, in the
# results saved earlier) in one process, one PUT or GET each, hashing
# nothing. The lists of transfers are written before the timed runs.
S3_CURL="curl -sS -f --no-progress-meter --parallel --parallel-max 32 --aws-sigv4 aws:amz:us-east-1:s3"
s3_floor_lists() { # scenario
    local f rel
    : >"$WORK/floor-up.cfg"
    : >"$WORK/floor-down.cfg"
    (cd "$DATA/$1" && find . -type f | sort) | while read -r f; do
        rel=${f#./}
        printf 'upload-file = "%s"\nurl = "%s"\n' "$DATA/$1/$rel" "$S3_ENDPOINT/$S3_BUCKET/floor/$rel" >>"$WORK/floor-up.cfg"
        printf 'url = "%s"\noutput = "%s"\n' "$S3_ENDPOINT/$S3_BUCKET/floor/$rel" "$WORK/floor-clone/$rel" >>"$WORK/floor-down.cfg"
    done
}
s3_curl() { # curl options: the S3 floor's curl, signed with the bench's key pair
    echo "$S3_CURL --user $AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY -H x-amz-content-sha256:UNSIGNED-PAYLOAD $*"
}

push_cmd() { # tool scenario kind
    local src="$WORK/$1-src"
    if [ "$1" = floor ] && [ "$3" = s3 ]; then
        s3_curl "-K $WORK/floor-up.cfg"
        return
    fi
    case "$1" in
        git-dvc) echo "cd $src && git dvc push --quiet" ;;
        git-lfs) echo "cd $src && git lfs push --all origin main >/dev/null" ;; # --all: without it git-lfs skips what origin/main (already pushed, no LFS objects yet) reaches
        dvc) echo "cd $src && $DVC push -q" ;;
        floor) echo "cp -r $DATA/$2/. $(remote_dir floor "$3")/" ;;
        cp+sha) echo "$(sha_all "$DATA/$2") & cp -r $DATA/$2/. $(remote_dir "$1" "$3")/; wait" ;;
    esac
}

clone_prep() { # tool
    local p
    p=$(discard "$WORK/$1-clone")
    # DVC keeps per-repo state (data index, hashes) in its site cache, keyed by
    # the repo's path: a fresh clone at the same path must not find it.
    [ "$1" = dvc ] && p="$p; rm -rf $DVC_SITE_CACHE_DIR/repo"
    echo "$p"
}

clone_cmd() { # tool kind
    local c="$WORK/$1-clone" origin
    origin="file://$(origin_dir "$1" "$2")"
    if [ "$1" = floor ] && [ "$2" = s3 ]; then
        s3_curl "--create-dirs -K $WORK/floor-down.cfg"
        return
    fi
    case "$1" in
        git-dvc | git-lfs) echo "git clone -q $origin $c" ;;
        dvc) echo "git clone -q $origin $c && cd $c && $DVC pull -q" ;;
        floor) echo "cp -r $(remote_dir floor "$2") $c" ;;
        cp+sha) echo "$(sha_all "$(remote_dir "$1" "$2")") & cp -r $(remote_dir "$1" "$2") $c; wait" ;;
    esac
}

is_floor() { [ "$1" = floor ] || [ "$1" = cp+sha ]; } # tool: moves files, keeps no repo

sha_all() { # dir: a command hashing every file under it, as one process (the copy has the other core)
    echo "find $1 -type f -exec openssl dgst -sha256 {} + >/dev/null"
}

count_objects() { # dir: regular files under it, ignoring s3s-fs / tool side files
    find "$1" -type f ! -name '.*' ! -name '*.tmp' 2>/dev/null | wc -l
}

# ---------------------------------------------------------------- one tool
# Each sets or reads: label want scen_push scen_clone (of the scenario).

tool_setup() { # scenario kind tool: the tool's source repo
    local s=$1 kind=$2 tool=$3
    if [ "$kind" = s3 ] && [ "$tool" = floor ]; then
        s3_floor_lists "$s"
    fi
    scen_push="$label, $kind: push"
    scen_clone="$label, $kind: clone+pull"
    if ! is_floor "$tool" && ! setup_step "$s $kind $tool source repo" "$(source_setup "$tool" "$kind" "$s")"; then
        printf '%s\t%s\tFAILED\t%s\n' "$scen_push" "$tool" "source repo setup failed (see log above)" >>"$RES/time.tsv"
        printf '%s\t%s\tFAILED\t%s\n' "$scen_clone" "$tool" "source repo setup failed (see log above)" >>"$RES/time.tsv"
        return 1
    fi
}

pushed_check() { # kind tool: the remote holds what the push should leave
    local want_push=$want got
    [ "$2" = dvc ] && want_push=$((want + 1)) # DVC also stores the listing of data/ (.dir)
    got=$(count_objects "$(remote_dir "$2" "$1")")
    if [ "$got" = "$want_push" ]; then
        check "$2" "$scen_push" ok "remote holds $got objects"
    else
        check "$2" "$scen_push" bad "REMOTE HOLDS $got OBJECTS, expected $want_push"
    fi
}

cloned_check() { # scenario tool: the clone holds the data, and Git sees it clean
    local c="$WORK/$2-clone" got msg="" st
    if is_floor "$2"; then
        got=$(count_objects "$c")
        if [ "$got" = "$want" ]; then check "$2" "$scen_clone" ok "copy holds $got files"; else check "$2" "$scen_clone" bad "COPY HOLDS $got FILES, expected $want"; fi
        return
    fi
    [ "$(manifest "$c/data")" = "$(cat "$DATA/$1.sha256")" ] || msg="CONTENT WRONG: data/ differs from the source ($(find "$c/data" -type f | head -n1 | xargs -r head -c 60 | tr -c '[:print:]' '.'))"
    st=$(cd "$c" && git status --porcelain 2>&1 | head -n 3 | tr '\n' ' ')
    [ -z "$st" ] || msg="$msg GIT STATUS DIRTY: $st"
    if [ -z "$msg" ]; then check "$2" "$scen_clone" ok "content OK, git status clean"; else check "$2" "$scen_clone" bad "$msg"; fi
}

mem_push() { # scenario kind tool
    if setup_step "mem $scen_push $3" "$(empty_remote "$3" "$2")"; then
        memrun "$scen_push" "$3" "$(push_cmd "$3" "$1" "$2")"
    fi
}

mem_clone() { # kind tool
    if setup_step "mem $scen_clone $2" "$(clone_prep "$2")"; then
        memrun "$scen_clone" "$2" "$(clone_cmd "$2" "$1")"
    fi
}

tool_push() { # scenario kind tool: push, every run into an empty remote
    local pushed=0
    if hf "$scen_push" "$3" "$(empty_remote "$3" "$2")" "$(push_cmd "$3" "$1" "$2")"; then pushed=1; fi
    pushed_check "$2" "$3"
    [ "$MEM" = 1 ] && mem_push "$1" "$2" "$3"
    [ "$pushed" = 1 ] || [ "$MEM" = 1 ]
}

tool_clone() { # scenario kind tool: clone + pull from the remote the last push filled
    if hf "$scen_clone" "$3" "$(clone_prep "$3")" "$(clone_cmd "$3" "$2")"; then
        cloned_check "$1" "$3"
    fi
    [ "$MEM" = 1 ] && mem_clone "$2" "$3"
    return 0
}

tool_discard() { # kind tool: what the tool left, and its remote
    local d rdir
    rdir=$(remote_dir "$2" "$1")
    for d in "${WORK:?}/$2-"* "$(origin_dir "$2" "$1")"; do
        sh -c "$(discard "$d")"
    done
    sh -c "$(empty_remote "$2" "$1")" && rm -rf "$rdir"
}

# ---------------------------------------------------------------- scenarios
for s in $SCENARIOS; do
    case $s in
        a)
            if [ "$BIG_FILES" = 1 ]; then label="a ${BIG_MB} MiB file"; else label="a ${BIG_FILES}x${BIG_EACH_MB} MiB files"; fi
            want=$BIG_FILES
            ;;
        b) label="b ${SMALL_N}x${SMALL_KB}K"; want=$SMALL_N ;;
        *) die "unknown scenario $s" ;;
    esac
    MANY=0
    if [ "$s" = b ]; then MANY=1; fi
    for kind in $REMOTES; do
        section "($s) $label: push, clone + pull; $kind remote"
        tools=()
        for tool in $TOOLS; do
            if [ "$kind" = s3 ] && [ "$tool" = git-lfs ]; then
                continue # git-lfs speaks only to an LFS server (or file://)
            fi
            if [ "$kind" = s3 ] && [ "$tool" = cp+sha ]; then
                continue # a directory remote's floor
            fi
            if [ "$INTERLEAVE" = 1 ]; then
                if tool_setup "$s" "$kind" "$tool"; then tools+=("$tool"); fi
            else
                tool_setup "$s" "$kind" "$tool" && tool_push "$s" "$kind" "$tool" \
                    && tool_clone "$s" "$kind" "$tool"
                tool_discard "$kind" "$tool"
            fi
        done
        if [ "$INTERLEAVE" = 1 ] && [ ${#tools[@]} -gt 0 ]; then
            # Run r of every tool, then run r+1 of every tool: drift on a
            # shared machine moves every tool alike.
            for tool in "${tools[@]}"; do hf_start "$scen_push" "$tool"; done
            for r in $(seq "$RUNS"); do
                for tool in "${tools[@]}"; do
                    RUNS=1 HF_ROUND=$r hf "$scen_push" "$tool" "$(empty_remote "$tool" "$kind")" "$(push_cmd "$tool" "$s" "$kind")" || true
                done
            done
            for tool in "${tools[@]}"; do
                hf_merge "$scen_push" "$tool" && pushed_check "$kind" "$tool"
                hf_start "$scen_clone" "$tool"
            done
            for r in $(seq "$RUNS"); do
                for tool in "${tools[@]}"; do
                    RUNS=1 HF_ROUND=$r hf "$scen_clone" "$tool" "$(clone_prep "$tool")" "$(clone_cmd "$tool" "$kind")" || true
                done
            done
            for tool in "${tools[@]}"; do
                hf_merge "$scen_clone" "$tool" && cloned_check "$s" "$tool"
                if [ "$MEM" = 1 ]; then
                    mem_push "$s" "$kind" "$tool"
                    mem_clone "$kind" "$tool"
                fi
                tool_discard "$kind" "$tool"
            done
        fi
        settle
    done
done

# ---------------------------------------------------------------- summary
section "summary"
echo "scenarios: '$SCENARIOS' (a: $BIG_DESC; b: ${SMALL_N} files x ${SMALL_KB} KiB); remotes: '$REMOTES'; tools: '$TOOLS'; ${RUNS} runs; load avg now $(cut -d' ' -f1-3 /proc/loadavg)"
echo "push: the tool's push of the committed data into an empty remote (floor: cp -r of the data into a directory, curl for S3)."
echo "clone+pull: git-dvc, git-lfs: 'git clone' alone (the smudge filter fetches); dvc: 'git clone' + 'dvc pull';"
echo "            floor: cp -r of the directory remote; for S3, curl PUT / GET of each file, 32 at a time, hashing nothing."
echo "cp+sha (dir, tmpfs): the floor's cp -r with 'openssl dgst -sha256' of the same files beside it (the least a copy that is"
echo "            verified costs on two cores; git-dvc hashes what leaves and what enters the cache, DVC and git-lfs do not)."
echo "            git-lfs: directory (file://) remote only."
echo "dir: directory remote on the repos' filesystem; tmpfs: directory remote on $TMPFS_DIR (another filesystem:"
echo "     no hard links); s3: s3s-fs on 127.0.0.1 (its root on the repos' filesystem)."
echo
"$PY" "$HERE/report.py" "$RES"
if [ -s "$RES/checks.txt" ]; then
    echo "Correctness checks that failed:"
    sed 's/^/  /' "$RES/checks.txt"
else
    echo "Correctness checks: every push left the expected number of objects on the remote, every clone the expected content and a clean git status."
fi
if grep -q $'\tFAILED\t' "$RES/time.tsv" "$RES/mem.tsv" 2>/dev/null; then
    echo "Some measurements FAILED (see above)."
fi
