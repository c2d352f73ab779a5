//! Materialization: replacing pointer texts in the worktree with content
//! from the cache, behind Git's back, then refreshing the index so
//! `git status` stays clean. Used by `git dvc checkout`, `pull` and the
//! post-checkout/post-merge hooks.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cache::{self, Cache, CacheError};
use crate::error::{Error, GitContext};
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

impl Report {
    /// Says what a materialization did.
    pub fn print(&self) {
        if !self.written.is_empty() {
            let n = self.written.len();
            crate::ui::info(&format!(
                "Checked out {n} file{}.",
                if n == 1 { "" } else { "s" }
            ));
        }
        if !self.missing.is_empty() {
            let paths: Vec<String> = self.missing.iter().map(|(p, _)| p.clone()).collect();
            crate::ui::warn(&format!(
                "{} left as pointers: their objects are not in the cache; run `git dvc pull` to fetch them",
                crate::filter::summary(&paths)
            ));
        }
        for (path, why) in &self.failed {
            crate::ui::error(&format!("{why} ({path})"));
        }
    }
}

/// Writes the deferred files that still hold the pointer Git checked out
/// (a later step of the same Git command may have changed them), and says
/// which could not be written.
pub fn complete_deferred(
    repo: &Repo,
    cache: &Cache,
    paths: &[String],
    direct_size: u64,
) -> Result<(), Error> {
    let wanted: std::collections::HashSet<&str> = paths.iter().map(String::as_str).collect();
    let files = pointer_files_where(repo, &|p| wanted.contains(p))?;
    let report = materialize(repo, cache, &files, direct_size)?;
    for (path, why) in &report.failed {
        crate::ui::warn(&left_as_pointer(path, why));
    }
    Ok(())
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
    pointer_files_where(repo, &|path| matches_pathspec(path, specs))
}

/// [`pointer_files`] for the paths `wanted` accepts.
pub fn pointer_files_where(
    repo: &Repo,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<PointerFile>, Error> {
    let root = repo.workdir()?;
    let odb = repo.git.odb().at(repo.git_dir.display())?;
    let mut out = Vec::new();
    for entry in crate::index::read(repo)? {
        if entry.stage != 0 || !entry.is_file() || entry.skip_worktree {
            continue;
        }
        let Some(path) = entry.path_str() else {
            continue;
        };
        if !wanted(path) {
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
/// brings those index entries up to date. Files of `direct_size` or more
/// are produced by a reflink or kernel copy and their stat data written to
/// the index directly, so neither Git nor git-dvc ever reads them again;
/// smaller ones are copied and refreshed through Git.
pub fn materialize(
    repo: &Repo,
    cache: &Cache,
    files: &[PointerFile],
    direct_size: u64,
) -> Result<Report, Error> {
    let root = repo.workdir()?;
    let mut report = Report::default();
    let (mut small, mut direct) = (Vec::new(), Vec::new());
    // Direct writes get an mtime older than the index as it is now (and
    // than the clock): see `write_direct`.
    let stamp = fs::metadata(repo.git_dir.join("index"))
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| std::time::SystemTime::now())
        .min(std::time::SystemTime::now())
        - std::time::Duration::from_secs(1);
    for f in files {
        let dest = root.join(&f.path);
        let big = f.pointer.size >= direct_size;
        let r = if big {
            write_direct(cache, &dest, f, stamp)
        } else {
            write_content(cache, &dest, f)
        };
        match r {
            Ok(()) if big => direct.push(f),
            Ok(()) => small.push(f.path.clone()),
            Err(CacheError::Missing(_)) => report.missing.push((f.path.clone(), f.pointer)),
            Err(e) => report.failed.push((f.path.clone(), e.to_string())),
        }
    }
    refresh_index(repo, &small)?;
    if !direct.is_empty() && record_stat(repo, root, &direct).is_err() {
        // An index libgit2 cannot write (split or sparse index): Git
        // refreshes it, re-reading the files once.
        let paths: Vec<String> = direct.iter().map(|f| f.path.clone()).collect();
        refresh_index(repo, &paths)?;
    }
    report.written = small;
    report.written.extend(direct.iter().map(|f| f.path.clone()));
    report.written.sort();
    Ok(report)
}

/// The warning for a file a checkout could not write.
pub fn left_as_pointer(path: &str, why: &str) -> String {
    format!("{path} left as a pointer: {why}; run `git dvc checkout` to write it")
}

/// In-memory flag telling libgit2 an entry matches the worktree, so its
/// index write does not re-read the file to settle a racy timestamp.
const ENTRY_UPTODATE: u16 = 1 << 2;

/// Writes the stat data of files git-dvc just wrote into their index
/// entries, if each entry still holds the pointer that was checked out.
/// (Their mtimes lie a second before the index as it was, see
/// [`write_direct`], so neither libgit2's nor Git's racy-timestamp rule,
/// which works in whole seconds on most builds, makes them re-read.)
fn record_stat(repo: &Repo, root: &Path, files: &[&PointerFile]) -> Result<(), Error> {
    use std::os::unix::fs::MetadataExt;
    let mut index = repo.git.index().at(repo.git_dir.join("index").display())?;
    index.read(false)?;
    for f in files {
        let Some(mut e) = index.get_path(Path::new(&f.path), 0) else {
            continue;
        };
        let blob = git2::Oid::hash_object(git2::ObjectType::Blob, f.pointer.encode().as_bytes())?;
        if e.id != blob {
            continue; // the index moved on: not ours to touch
        }
        let abs = root.join(&f.path);
        let m =
            fs::symlink_metadata(&abs).map_err(|x| Error::io("cannot stat", abs.display(), x))?;
        // The index's 32-bit fields hold what Git itself would store.
        e.ctime = git2::IndexTime::new(m.ctime() as i32, m.ctime_nsec() as u32);
        e.mtime = git2::IndexTime::new(m.mtime() as i32, m.mtime_nsec() as u32);
        e.dev = m.dev() as u32;
        e.ino = m.ino() as u32;
        e.uid = m.uid();
        e.gid = m.gid();
        e.file_size = m.len() as u32;
        e.flags_extended |= ENTRY_UPTODATE;
        index.add(&e)?;
    }
    index.write()?;
    Ok(())
}

/// After `git add` of big files: asks the kernel to make each cache object
/// share the extents of the worktree file it was cleaned from
/// (`FIDEDUPERANGE`), so the data is on disk once. The kernel compares the
/// bytes and shares only what is equal, under its own locks, so nothing is
/// trusted that was not compared, and the worktree file is not touched (its
/// stat data, and so the index, stay as they are). A filesystem that cannot
/// share extents is left alone after the first refusal.
pub fn share_extents(root: &Path, cache: &Cache, files: &[(String, Pointer)]) {
    for (path, p) in files {
        let (Ok(src), Ok(obj)) = (
            fs::File::open(root.join(path)),
            fs::File::open(cache.object_path(&p.oid)),
        ) else {
            continue;
        };
        if !src.metadata().is_ok_and(|m| m.len() == p.size) {
            continue;
        }
        // A range can come back unshared while the filesystem still has
        // the file's new blocks in flight (XFS's copy-on-write fork): once
        // its data is on disk, one more pass shares the rest.
        let shared = crate::fsutil::dedupe(&src, &obj, p.size).and_then(|n| {
            if n < p.size {
                src.sync_data()?;
                crate::fsutil::dedupe(&src, &obj, p.size)
            } else {
                Ok(n)
            }
        });
        match shared {
            Ok(n) => crate::ui::verbose(&format!(
                "git-dvc: {path} shares {n} bytes with its cache object"
            )),
            Err(e) if crate::fsutil::unsupported(&e) => return,
            Err(e) => crate::ui::verbose(&format!("git-dvc: {path}: no extents shared: {e}")),
        }
    }
}

/// Gives `tmp` the mode of the file at `dest`: Git created that file with
/// the user's umask and the index's executable bit, so exactly that mode
/// is kept (or, with no file there, the default for `executable`).
fn set_mode_like(tmp: &fs::File, dest: &Path, executable: bool) -> std::io::Result<()> {
    let mode = fs::metadata(dest)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(if executable { 0o755 } else { 0o644 });
    tmp.set_permissions(fs::Permissions::from_mode(mode))
}

/// A temp file to rename over `dest`: in the cache's temp directory when it
/// is on the same filesystem (a reflink from the cache works, and what a
/// killed process leaves is out of the worktree and removed by gc), else
/// beside `dest`.
fn temp_for(cache: &Cache, dest: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::MetadataExt;
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp_dir = cache.tmp_dir();
    let _ = fs::create_dir_all(&tmp_dir);
    let same_fs = match (fs::metadata(&tmp_dir), fs::metadata(dir)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev(),
        _ => false,
    };
    if same_fs {
        cache::locked_temp(&tmp_dir, "incoming-")
    } else {
        tempfile::Builder::new()
            .prefix(".git-dvc-")
            .tempfile_in(dir)
    }
}

/// Produces a big file from its object without passing its bytes through
/// this process: a reflink where the filesystem shares extents, else the
/// kernel's copy, into a temp file renamed over the pointer. The object is
/// hashed by a second thread while the copy runs (the check costs one read
/// of the object, in parallel), and the rename happens only if it matches.
fn write_direct(
    cache: &Cache,
    dest: &Path,
    f: &PointerFile,
    mtime: std::time::SystemTime,
) -> Result<(), CacheError> {
    let (oid, size) = (f.pointer.oid, f.pointer.size);
    let io_err = |action| {
        move |source| CacheError::Io {
            action,
            path: dest.to_path_buf(),
            source,
        }
    };
    let tmp = temp_for(cache, dest).map_err(io_err("cannot create a temp file for"))?;
    let kind = cache.copy_verified_into(&oid, size, tmp.as_file())?;
    crate::ui::verbose(&format!("git-dvc: wrote {} ({kind:?})", dest.display()));
    set_mode_like(tmp.as_file(), dest, f.executable)
        .map_err(io_err("cannot set permissions on"))?;
    // Older than the index on disk (and so than the one written next): an
    // entry newer than its index is "racily clean", which libgit2 settles
    // when writing by comparing raw bytes (unfiltered, so a pointer never
    // matches: the entry would be smudged) and Git by re-reading the file.
    tmp.as_file()
        .set_modified(mtime)
        .map_err(io_err("cannot set the time of"))?;
    crate::fsutil::replace(tmp, dest).map_err(io_err("cannot replace"))?;
    Ok(())
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
    let io_err = |action| {
        move |source| CacheError::Io {
            action,
            path: dest.to_path_buf(),
            source,
        }
    };
    let mut tmp = temp_for(cache, dest).map_err(io_err("cannot create a temp file for"))?;
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
    set_mode_like(tmp.as_file(), dest, f.executable)
        .map_err(io_err("cannot set permissions on"))?;
    tmp.persist(dest)
        .map_err(|e| io_err("cannot replace")(e.error))?;
    Ok(())
}
