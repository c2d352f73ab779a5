#!/usr/bin/env bash
# git-dvc large-file benchmark: add+commit, switch between two versions, and
# `git status` right after, for big files (default 1 GiB and 2 GiB), side by
# side with git-lfs and the floor (`openssl dgst -sha256` + `cp`; `cp` of the
# version switched to into a new file; `cp-over`: `cp` over the other version,
# as a switch replaces it; `cp+sha`: that and `openssl dgst` of the version at
# once, the floor of a verified switch on two cores). Peak memory of the largest process of each command,
# and (as root, with xfsprogs) the disk that cache + worktree take on a
# loop-mounted reflink XFS. See bench/README.md.
#
#   bench/large.sh                                   # 1 GiB and 2 GiB, 3 runs (~20 min)
#   BENCH_LARGE_MB="64" BENCH_RUNS=1 bench/large.sh  # quick
#
# Knobs (environment):
#   BENCH_DIR        scratch dir (default /tmp/git-dvc-bench-large); removed at the end
#   BENCH_KEEP=1     keep BENCH_DIR afterwards
#   BENCH_LARGE_MB   file sizes in MiB (default "1024 2048")
#   BENCH_RUNS       hyperfine runs per measurement (default 3)
#   BENCH_WARMUP     hyperfine warmup runs (default 0)
#   BENCH_TOOLS      subset of "git-dvc git-lfs floor"
#   BENCH_MEM=0      skip the peak-memory runs
#   BENCH_XFS=0      skip the XFS disk-usage measurement
#   BENCH_GITDVC     git-dvc binary (default target/release/git-dvc; never built here)
set -euo pipefail

SCRIPT=large.sh
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

BENCH_DIR="${BENCH_DIR:-/tmp/git-dvc-bench-large}"
SIZES="${BENCH_LARGE_MB:-1024 2048}"
RUNS="${BENCH_RUNS:-3}"
WARMUP="${BENCH_WARMUP:-0}"
TOOLS="${BENCH_TOOLS:-git-dvc git-lfs floor}"
MEM="${BENCH_MEM:-1}"
XFS="${BENCH_XFS:-1}"
KEEP="${BENCH_KEEP:-0}"
GITDVC_SRC="${BENCH_GITDVC:-$ROOT/target/release/git-dvc}"
DVC=/nonexistent
PY="${PYTHON:-python3}"

# shellcheck source=bench/common.sh
. "$HERE/common.sh"

has_tool() { [[ " $TOOLS " == *" $1 "* ]]; }
for n in $SIZES; do [[ "$n" =~ ^[0-9]+$ ]] || die "BENCH_LARGE_MB must list whole numbers ($n)"; done
if has_tool git-lfs; then command -v git-lfs >/dev/null 2>&1 || die "git-lfs not found: run bench/setup.sh"; fi

bench_init
# Out of any repository: `install` run inside one also writes its hooks.
cd "$BENCH_DIR"
git dvc install --global --quiet
if has_tool git-lfs; then git lfs install --skip-repo >/dev/null; fi

section "versions and machine"
print_versions
echo "parameters: BENCH_LARGE_MB='$SIZES' BENCH_RUNS=$RUNS BENCH_WARMUP=$WARMUP BENCH_TOOLS='$TOOLS' BENCH_MEM=$MEM"
echo "git-dvc:    [checkout] direct_size default (32 MiB): every file here is written by git-dvc, not through Git's pipe"

# A repository per tool and size with v1 and v2 committed (tags v1, v2).
make_repo() { # tool dir v1 v2
    local tool=$1 dir=$2
    rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
    git init -q
    case "$tool" in
        git-dvc) git dvc track '*.bin' >/dev/null ;;
        git-lfs) git lfs track '*.bin' >/dev/null ;;
    esac
    cp "$3" big.bin && git add -A && git commit -qm v1 && git tag v1
    cp "$4" big.bin && git add -A && git commit -qm v2 && git tag v2
    cd - >/dev/null
}

for mb in $SIZES; do
    section "$mb MiB"
    d="$DATA/$mb"
    mkdir -p "$d"
    [ -s "$d/v1.bin" ] || "$PY" "$HERE/gendata.py" big "$d/v1.bin" "$mb" 00112233445566778899aabbccddeeff
    [ -s "$d/v2.bin" ] || "$PY" "$HERE/gendata.py" big "$d/v2.bin" "$mb" ffeeddccbbaa99887766554433221100
    v1="$d/v1.bin" v2="$d/v2.bin"

    # add + commit of one version into a fresh repository.
    for tool in $TOOLS; do
        r="$WORK/add-$tool-$mb"
        case "$tool" in
            git-dvc | git-lfs)
                track='git dvc track "*.bin" >/dev/null'
                [ "$tool" = git-lfs ] && track='git lfs track "*.bin" >/dev/null'
                prep="rm -rf $r && mkdir -p $r && cd $r && git init -q && $track && git add .gitattributes && git commit -qm attrs && cp $v1 big.bin && sync"
                hf "$mb MiB add+commit" "$tool" "$prep" "cd $r && git add big.bin && git commit -qm v1"
                memrun "$mb MiB add+commit" "$tool" "$prep >/dev/null; cd $r && git add big.bin && git commit -qm v1"
                ;;
            floor)
                prep="rm -rf $r && mkdir -p $r && cp $v1 $r/big.bin && sync"
                hf "$mb MiB add+commit" floor "$prep" "openssl dgst -sha256 $r/big.bin >/dev/null && cp $r/big.bin $r/copy"
                ;;
        esac
    done

    # switch between the versions, and git status right after.
    for tool in $TOOLS; do
        r="$WORK/switch-$tool-$mb"
        case "$tool" in
            git-dvc | git-lfs)
                setup_step "repo $tool $mb" "$(declare -f make_repo); make_repo $tool $r $v1 $v2" || continue
                hf "$mb MiB switch v2->v1" "$tool" "cd $r && git switch -q --detach v2 && sync" "cd $r && git switch -q --detach v1"
                hf "$mb MiB switch v1->v2" "$tool" "cd $r && git switch -q --detach v1 && sync" "cd $r && git switch -q --detach v2"
                hf "$mb MiB status after switch" "$tool" "cd $r && git switch -q --detach v1 && git switch -q --detach v2" "cd $r && git status --porcelain >/dev/null"
                memrun "$mb MiB switch v2->v1" "$tool" "cd $r && git switch -q --detach v2 && git switch -q --detach v1"
                memrun "$mb MiB status after switch" "$tool" "cd $r && git switch -q --detach v2 && git status --porcelain"
                if [ "$(cd "$r" && git status --porcelain)" = "" ] && cmp -s "$r/big.bin" "$v2"; then
                    check "$tool" "$mb MiB" ok "after the switches: v2's bytes, clean git status"
                else
                    check "$tool" "$mb MiB" bad "after the switches: wrong bytes or a dirty git status"
                fi
                ;;
            floor)
                hf "$mb MiB switch v2->v1" floor "rm -f $WORK/floor.bin && sync" "cp $v1 $WORK/floor.bin"
                hf "$mb MiB switch v1->v2" floor "rm -f $WORK/floor.bin && sync" "cp $v2 $WORK/floor.bin"
                # What a switch really does: replace the other version (its
                # blocks freed, as Git's unlink frees them), and with
                # verify-on-read also hash the object, on the second core.
                hf "$mb MiB switch v2->v1" cp-over "cp $v2 $WORK/floor.bin && sync" "cp $v1 $WORK/floor.bin"
                hf "$mb MiB switch v1->v2" cp-over "cp $v1 $WORK/floor.bin && sync" "cp $v2 $WORK/floor.bin"
                hf "$mb MiB switch v2->v1" cp+sha "cp $v2 $WORK/floor.bin && sync" "openssl dgst -sha256 $v1 >/dev/null & cp $v1 $WORK/floor.bin; wait"
                hf "$mb MiB switch v1->v2" cp+sha "cp $v1 $WORK/floor.bin && sync" "openssl dgst -sha256 $v2 >/dev/null & cp $v2 $WORK/floor.bin; wait"
                ;;
        esac
    done
    rm -rf "$WORK"/*-"$mb"
done

# Disk used by cache + worktree for two versions, on a reflink XFS.
if [ "$XFS" = 1 ]; then
    section "disk used on a reflink XFS (loop-mounted)"
    if [ "$(id -u)" != 0 ] || ! command -v mkfs.xfs >/dev/null 2>&1; then
        echo "skipped: needs root and mkfs.xfs (apt-get install xfsprogs)"
    else
        mb=$(echo "$SIZES" | awk '{print $1}')
        img="$BENCH_DIR/xfs.img" mnt="$BENCH_DIR/xfs"
        rm -f "$img"
        truncate -s $(( (mb * 4 + 512) ))M "$img"
        mkfs.xfs -q -f -m reflink=1 "$img"
        mkdir -p "$mnt"
        if mount -o loop "$img" "$mnt"; then
            for tool in $TOOLS; do
                [ "$tool" = floor ] && continue
                before=$(df -B1 --output=used "$mnt" | tail -n1)
                make_repo "$tool" "$mnt/$tool" "$DATA/$mb/v1.bin" "$DATA/$mb/v2.bin"
                (cd "$mnt/$tool" && git switch -q --detach v1 && git switch -q --detach v2 && sync)
                after=$(df -B1 --output=used "$mnt" | tail -n1)
                "$PY" -c "import sys; u=int(sys.argv[2])-int(sys.argv[1]); c=2*int(sys.argv[3])<<20; print(f'{sys.argv[4]:8s} cache + worktree + .git: {u/2**20:8.1f} MiB for {c/2**20:.0f} MiB of content: {u/c:.2f}')" "$before" "$after" "$mb" "$tool"
                rm -rf "${mnt:?}/$tool"
                sync
            done
            umount "$mnt"
        else
            echo "skipped: mount -o loop failed"
        fi
    fi
fi

echo
"$PY" "$HERE/report.py" "$RES"
if [ -s "$RES/checks.txt" ]; then
    echo "Correctness checks FAILED:"
    cat "$RES/checks.txt"
    exit 1
fi
echo "Correctness checks: after every switch, the right bytes and a clean git status."
