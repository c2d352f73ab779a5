#!/usr/bin/env bash
# Installs what bench/run.sh needs, idempotently:
#   - Debian packages: git-lfs, hyperfine, time (GNU time, /usr/bin/time)
#   - DVC from PyPI into bench/.venv
# Safe to run again: it skips whatever is already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYTHON="${PYTHON:-python3}"
# Keep dvc's own site cache (otherwise /var/tmp/dvc) and analytics out of it.
export DVC_SITE_CACHE_DIR="$here/.venv/dvc-site-cache" DVC_NO_ANALYTICS=1

echo "== Debian packages: git-lfs hyperfine time openssl curl"
missing=()
command -v git-lfs   >/dev/null 2>&1 || missing+=(git-lfs)
command -v hyperfine >/dev/null 2>&1 || missing+=(hyperfine)
[ -x /usr/bin/time ]                  || missing+=(time)
command -v openssl   >/dev/null 2>&1 || missing+=(openssl)
command -v curl      >/dev/null 2>&1 || missing+=(curl) # remote.sh's S3 floor
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "   installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
    echo "   already installed"
fi

echo "== DVC in $here/.venv"
if [ -x "$here/.venv/bin/dvc" ] && "$here/.venv/bin/python" -c 'import dvc_s3' 2>/dev/null; then
    echo "   already installed: dvc $("$here/.venv/bin/dvc" --version), with dvc-s3"
else
    if [ ! -x "$here/.venv/bin/python" ]; then
        "$PYTHON" -m venv "$here/.venv"
    fi
    "$here/.venv/bin/python" -m pip install --quiet --upgrade pip
    # dvc-s3: bench/remote.sh compares S3 pushes and pulls too.
    "$here/.venv/bin/python" -m pip install --quiet dvc dvc-s3
    echo "   installed: dvc $("$here/.venv/bin/dvc" --version)"
fi

echo "== versions"
git --version
git lfs version
hyperfine --version
/usr/bin/time --version 2>&1 | head -n1
"$here/.venv/bin/dvc" --version | sed 's/^/dvc /'
