//! Materialization: replacing pointer texts in the worktree with content
//! from the cache, behind Git's back, then refreshing the index so
//! `git status` stays clean. Used by `git dvc checkout`, `pull` and the
//! post-checkout/post-merge hooks.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cache::{self, Cache, CacheError};
use crate::error::Error;
use crate::pointer::{MAX_POINTER_SIZE, Pointer};
use crate::repo::Repo;

/// A tracked file whose worktree copy is a pointer text.
#[derive(Debug, Clone)]
pub struct PointerFile {
    /// Repo-relative path.
    pub path: String,
    /// The pointer it holds.
    pub pointer: Pointer,
    /// Executable bit from the index.
    pub executable: bool,
}

/// What a materialization did.
#[derive(Debug, Default)]
pub struct Report {
    /// Files now holding their content.
    pub written: Vec<String>,
    /// Files left as pointers: object not in the cache.
    pub missing: Vec<(String, Pointer)>,
    /// Files left as pointers because the cached object is damaged.
    pub failed: Vec<(String, String)>,
}

/// True when `path` is one of `specs` or lies under one ("." is all).
pub fn matches_pathspec(path: &str, specs: &[String]) -> bool {
    specs.is_empty()
        || specs.iter().any(|s| {
            let s = s.trim_end_matches('/');
            s.is_empty()
                || s == "."
                || path == s
                || (path.starts_with(s) && path.as_bytes().get(s.len()) == Some(&b'/'))
        })
}

/// Finds index entries (restricted to `specs`) whose worktree file holds a
/// pointer text. Cheap: only files no larger than a pointer are opened.
/// Entries outside a sparse-checkout cone have no worktree file to fill.
pub fn pointer_files(repo: &Repo, specs: &[String]) -> Result<Vec<PointerFile>, Error> {
    let root = repo.workdir()?;
    let odb = repo.git.odb()?;
    let mut out = Vec::new();
    for entry in crate::index::read(repo)? {
        if entry.stage != 0 || !entry.is_file() || entry.skip_worktree {
            continue;
        }
        let Some(path) = entry.path_str() else {
            continue;
        };
        if !matches_pathspec(path, specs) {
            continue;
        }
        let abs = root.join(entry.os_path());
        let Ok(meta) = fs::symlink_metadata(&abs) else {
            continue;
        };
        if !meta.is_file() || !Pointer::could_be(meta.len()) {
            continue;
        }
        let Some(pointer) = read_pointer_file(&abs) else {
            continue;
        };
        if pointer.size <= MAX_POINTER_SIZE as u64 && meta.len() == pointer.size {
            // A small content file that happens to look like a pointer is
            // told apart by what the index holds.
            if crate::tracked::blob_pointer(&odb, entry.id) != Some(pointer) {
                continue;
            }
        }
        out.push(PointerFile {
            path: path.to_string(),
            pointer,
            executable: entry.mode & 0o111 != 0,
        });
    }
    let paths: Vec<&[u8]> = out.iter().map(|f| f.path.as_bytes()).collect();
    let filtered = crate::attributes::dvc_filtered(repo, &paths)?;
    let mut filtered = filtered.into_iter();
    out.retain(|_| filtered.next().unwrap_or(false));
    Ok(out)
}

/// Reads a small file and parses it as a pointer.
pub fn read_pointer_file(path: &Path) -> Option<Pointer> {
    let mut buf = Vec::with_capacity(MAX_POINTER_SIZE + 1);
    fs::File::open(path)
        .ok()?
        .take(MAX_POINTER_SIZE as u64 + 1)
        .read_to_end(&mut buf)
        .ok()?;
    Pointer::parse(&buf).ok()
}

/// Writes the content of each pointer file whose object is cached, then
/// refreshes those index entries.
pub fn materialize(repo: &Repo, cache: &Cache, files: &[PointerFile]) -> Result<Report, Error> {
    let root = repo.workdir()?;
    let mut report = Report::default();
    for f in files {
        match write_content(cache, &root.join(&f.path), f) {
            Ok(()) => report.written.push(f.path.clone()),
            Err(CacheError::Missing(_)) => report.missing.push((f.path.clone(), f.pointer)),
            Err(e) => report.failed.push((f.path.clone(), e.to_string())),
        }
    }
    refresh_index(repo, &report.written)?;
    Ok(report)
}

/// Tells Git the files changed on disk but not in content, so their index
/// entries get fresh stat data (Git runs the clean filter to confirm).
pub fn refresh_index(repo: &Repo, paths: &[String]) -> Result<(), Error> {
    if paths.is_empty() {
        return Ok(());
    }
    let mut input = Vec::new();
    for p in paths {
        input.extend_from_slice(p.as_bytes());
        input.push(0);
    }
    repo.git_with_input(["update-index", "-q", "--refresh", "-z", "--stdin"], &input)?;
    Ok(())
}

fn write_content(cache: &Cache, dest: &Path, f: &PointerFile) -> Result<(), CacheError> {
    let mut src = cache.open_verified(&f.pointer.oid, f.pointer.size)?;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let io_err = |action| {
        move |source| CacheError::Io {
            action,
            path: dest.to_path_buf(),
            source,
        }
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".git-dvc-")
        .tempfile_in(dir)
        .map_err(io_err("cannot create a temp file beside"))?;
    // A corrupt object fails here, before the rename: the worktree keeps
    // its pointer and nothing is staged.
    let copied = cache::copy(&mut src, tmp.as_file_mut())
        .map_err(|e| cache::corruption(e).unwrap_or_else(io_err("cannot write")))?;
    if copied != f.pointer.size {
        return Err(CacheError::WrongSize {
            oid: f.pointer.oid,
            expected: f.pointer.size,
            actual: copied,
            path: cache.object_path(&f.pointer.oid),
        });
    }
    // Git created the pointer file with the user's umask and the index's
    // executable bit: keep exactly that mode.
    let mode = fs::metadata(dest)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(if f.executable { 0o755 } else { 0o644 });
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err("cannot set permissions on"))?;
    tmp.persist(dest)
        .map_err(|e| io_err("cannot replace")(e.error))?;
    Ok(())
}
