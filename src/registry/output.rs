//! Output: writing a plan's files below a confined directory, each
//! checked before the first is written and each appearing atomically.

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::error::RegistryError;
use super::{EntryKind, Plan};
use crate::cache::{self, Cache};
use crate::error::Error;
use crate::fsutil::Confined;

/// Data files at least this big are not copied through a buffer: each is
/// its download's twin renamed into place (see [`Cache::with_twins`]), or a
/// reflink / kernel copy of its object hashed beside the copy.
pub const BIG_FILE: u64 = 8 << 20;

/// Where entry `rel` of an output lands, relative to the same base as
/// `out` (a single-file entry is the output itself).
pub fn entry_path(out: &Path, rel: &str) -> PathBuf {
    if rel.is_empty() {
        out.to_path_buf()
    } else {
        out.join(rel)
    }
}

/// Checks, before anything is written, that every file of the plan can be
/// written at `out` below `root` without passing through a symbolic link
/// or a non-directory already there.
pub fn check_output(plan: &Plan, root: &Confined, out: &Path) -> Result<(), Error> {
    for e in &plan.entries {
        root.check(&entry_path(out, &e.rel), "write")?;
    }
    Ok(())
}

/// Writes the plan's files at `out` below `root`, reading data objects
/// from `cache` (already downloaded) and blobs from the source. Every path
/// is checked first (see [`check_output`]), so a refusal leaves nothing
/// half-written; each file appears atomically, and nothing is written
/// outside `root`.
pub fn write_output(
    repo: &git2::Repository,
    plan: &Plan,
    cache: &Cache,
    root: &Confined,
    out: &Path,
) -> Result<Vec<PathBuf>, Error> {
    check_output(plan, root, out)?;
    let mut written = Vec::new();
    for e in &plan.entries {
        let dest = root.create_parents(&entry_path(out, &e.rel))?;
        let dir = dest.parent().unwrap_or(Path::new("."));
        if let EntryKind::Data(p) = &e.kind {
            // The copy checked as it came down, when a rename can place it.
            let twin = fs::metadata(dir)
                .ok()
                .and_then(|d| cache.take_twin_for(&p.oid, p.size, d.dev()));
            if let Some(twin) = twin {
                set_mode(twin.as_file(), false);
                crate::fsutil::replace(twin, &dest)
                    .map_err(|x| Error::io("cannot write", dest.display(), x))?;
                crate::ui::verbose(&format!("git-dvc: wrote {} (its twin)", dest.display()));
                written.push(dest);
                continue;
            }
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(".git-dvc-")
            .tempfile_in(dir)
            .map_err(|x| Error::io("cannot create a temp file in", dir.display(), x))?;
        let mut executable = false;
        match &e.kind {
            EntryKind::Data(p) => {
                // Checked as it streams: a corrupt object fails here, is
                // quarantined, and the output never gets its bytes.
                if p.size >= BIG_FILE {
                    let kind = cache.copy_verified_into(&p.oid, p.size, tmp.as_file())?;
                    crate::ui::verbose(&format!("git-dvc: wrote {} ({kind:?})", dest.display()));
                } else {
                    let mut src = cache.open_verified(&p.oid, p.size)?;
                    cache::copy(&mut src, tmp.as_file_mut()).map_err(
                        |x| match cache::corruption(x) {
                            Ok(c) => Error::from(c),
                            Err(x) => Error::io("cannot write", dest.display(), x),
                        },
                    )?;
                }
            }
            EntryKind::Dvc { md5 } => {
                return Err(RegistryError::NotFetched {
                    md5: md5.clone(),
                    path: dest.display().to_string(),
                }
                .into());
            }
            EntryKind::Blob { id, executable: x } => {
                let blob = repo.find_blob(*id)?;
                tmp.write_all(blob.content())
                    .map_err(|x| Error::io("cannot write", dest.display(), x))?;
                executable = *x;
            }
        }
        set_mode(tmp.as_file(), executable);
        tmp.persist(&dest)
            .map_err(|x| Error::io("cannot write", dest.display(), x.error))?;
        written.push(dest);
    }
    Ok(written)
}

/// An output file's mode: what a checkout gives a file, by its executable
/// bit.
fn set_mode(file: &fs::File, executable: bool) {
    use std::os::unix::fs::PermissionsExt;
    let mode = if executable { 0o755 } else { 0o644 };
    let _ = file.set_permissions(fs::Permissions::from_mode(mode));
}
