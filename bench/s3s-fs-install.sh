#!/usr/bin/env bash
# Installs the S3-compatible test server bench/remote.sh uses: s3s-fs
# (crates.io), version 0.14.1 (the newest that builds with rustc 1.95; 0.17
# needs 1.96), with a two-line patch:
#
#   s3s-fs maps a key to a file under its root, so a key that names a
#   "folder" (e.g. dvc/files/md5) is a directory on disk. HeadObject and
#   GetObject on such a key then fail with "Is a directory (os error 21)" and
#   answer 500 InternalError, where S3 answers 404 NoSuchKey. `dvc pull`
#   (s3fs) does a HeadObject on its remote's prefix first and gives up on the
#   500 ("failed to connect to s3 ... 500 ... HeadObject"). The patch answers
#   NoSuchKey for a directory, as S3 does.
#
#   bench/s3s-fs-install.sh            # -> /tmp/s3s-bin/bin/s3s-fs
#   S3S_ROOT=/opt/s3s bench/s3s-fs-install.sh
#
# Needs cargo and crates.io. Idempotent: skips when the patched binary is there.
set -euo pipefail

VERSION=0.14.1
ROOT_DIR="${S3S_ROOT:-/tmp/s3s-bin}"
STAMP="$ROOT_DIR/.s3s-fs-$VERSION-patched"
JOBS="${CARGO_BUILD_JOBS:-$(nproc)}"

if [ -x "$ROOT_DIR/bin/s3s-fs" ] && [ -e "$STAMP" ]; then
    echo "already installed: $("$ROOT_DIR/bin/s3s-fs" --version) (patched) at $ROOT_DIR/bin/s3s-fs"
    exit 0
fi

work=$(mktemp -d /tmp/s3s-fs-build.XXXXXX)
trap 'rm -rf "$work"' EXIT

# Fetch the crate's source through cargo (a throwaway project depending on it).
mkdir -p "$work/fetch/src"
cat >"$work/fetch/Cargo.toml" <<EOF
[package]
name = "fetch-s3s-fs"
version = "0.0.0"
edition = "2021"

[dependencies]
s3s-fs = "=$VERSION"
EOF
echo 'fn main() {}' >"$work/fetch/src/main.rs"
(cd "$work/fetch" && cargo fetch --quiet)
src=$(cd "$work/fetch" && cargo metadata --format-version 1 --quiet |
    python3 -c 'import json,sys; m=json.load(sys.stdin); print(next(p["manifest_path"] for p in m["packages"] if p["name"]=="s3s-fs"))')
cp -r "$(dirname "$src")" "$work/s3s-fs"
chmod -R u+w "$work/s3s-fs"

python3 - "$work/s3s-fs/src/s3.rs" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
head = """        let path = self.get_object_path(&input.bucket, &input.key)?;

        if !path.exists() {
            if self.get_bucket_path(&input.bucket)?.exists().not() {
                return Err(s3_error!(NoSuchBucket));
            }
            return Err(s3_error!(NoSuchKey));
        }

        let file_metadata = try_!(fs::metadata(path).await);"""
get = """        let mut file = fs::File::open(&object_path).await.map_err(|e| s3_error!(e, NoSuchKey))?;

        let file_metadata = try_!(file.metadata().await);"""
if s.count(head) != 1 or s.count(get) != 1:
    sys.exit("s3s-fs-install: the source is not the expected one; patch not applied")
s = s.replace(head, head.replace("if !path.exists() {", "if !path.exists() || path.is_dir() {", 1))
s = s.replace(get, get + """
        if file_metadata.is_dir() {
            return Err(s3_error!(NoSuchKey));
        }""")
open(p, "w").write(s)
print("patched", p)
EOF

cargo install --quiet --force --path "$work/s3s-fs" --features binary --root "$ROOT_DIR" -j "$JOBS"
touch "$STAMP"
echo "installed: $("$ROOT_DIR/bin/s3s-fs" --version) (patched) at $ROOT_DIR/bin/s3s-fs"
