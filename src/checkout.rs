//! Materialization: replacing pointer texts in the worktree with content
//! from the cache, behind Git's back, then recording the new files' stat
//! data in the index so `git status` stays clean without reading them.
//! Used by `git dvc checkout`, `pull`, the post-checkout/post-merge hooks,
//! and the filter when it completes a checkout.

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

/// Tells the post-checkout hook that a filter process will complete the
/// checkout it runs in. A filter that left files as pointers (big ones to
/// write directly, small ones still downloading) writes them once Git is
/// done, and does the hook's whole job with them; the hook, which runs
/// before that, steps aside. The filter holds a shared lock on a file in
/// the git dir; the kernel drops it when the filter exits, so a killed
/// filter never silences a later hook.
pub struct Marker {
    path: std::path::PathBuf,
    held: Option<fs::File>,
}

impl Marker {
    /// The marker of the worktree whose git dir is `git_dir`.
    pub fn new(git_dir: &Path) -> Marker {
        Marker {
            path: git_dir.join("dvc-checkout-pending"),
            held: None,
        }
    }

    /// Takes the lock, once. If it cannot be taken the hook does its job
    /// as usual, which only costs time.
    pub fn announce(&mut self) {
        if self.held.is_some() {
            return;
        }
        let Ok(f) = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.path)
        else {
            return;
        };
        if rustix::fs::flock(&f, rustix::fs::FlockOperation::LockShared).is_ok() {
            self.held = Some(f);
        }
    }

    /// True when a live filter has announced that it completes the
    /// checkout (its lock is held).
    pub fn pending(git_dir: &Path) -> bool {
        let Ok(f) = fs::File::open(git_dir.join("dvc-checkout-pending")) else {
            return false;
        };
        rustix::fs::flock(&f, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err()
    }
}

/// After a checkout whose filter left files as pointers: writes them and
/// every other pointer file whose object is cached (the post-checkout
/// hook's job, which the hook left to this), records the stat data of
/// those and of the files `early` wrote while Git ran, keeps Git's own for
/// the files it wrote from the filter's answers (`served`), and says
/// which could not be written.
pub fn complete_checkout(
    repo: &Repo,
    cache: &Cache,
    direct_size: u64,
    early: Vec<PointerFile>,
    served: &[(String, Pointer)],
) -> Result<(), Error> {
    let files: Vec<_> = pointer_files(repo, &[])?
        .into_iter()
        .filter(|f| cache.contains(&f.pointer.oid))
        .collect();
    let report = write_files(repo, cache, &files, direct_size, early, served)?;
    for (path, why) in &report.failed {
        crate::ui::warn(&left_as_pointer(path, why));
    }
    Ok(())
}

/// Writes, while Git is still checking out, the files of a first checkout
/// (a clone, a new worktree: no index before it) whose objects the filter
/// downloads. Git writes each such file as its pointer text and moves on
/// to the next; once a download has landed and Git has asked for a later
/// file (so it is done with this one), the content replaces the pointer
/// at once, instead of after the last download. The copy is the one
/// `git dvc checkout` makes (hashed as it leaves the cache, swapped in
/// atomically) and is made only over the exact pointer Git wrote; a file
/// not written here is written when Git is done, as before. The files'
/// stat data goes into the index once Git has written it
/// ([`complete_checkout`]).
pub struct EarlyWriter {
    root: std::path::PathBuf,
    writer: Writer,
    direct_size: u64,
    /// Requests Git has sent so far: a file answered at request `n` is
    /// written by Git before request `n + 1` arrives.
    requests: std::sync::atomic::AtomicU64,
    /// Files answered with their pointer, by path: the request they were
    /// answered at, and the pointer.
    answered: std::sync::Mutex<std::collections::HashMap<String, (u64, Pointer)>>,
    /// Files whose objects landed before Git moved past them: the next
    /// landing writes them, once it has.
    landed_early: std::sync::Mutex<Vec<(String, u64, Pointer)>>,
    /// Paths whose objects landed before the filter said it answered
    /// them (the download starts before the answer is sent).
    unanswered: std::sync::Mutex<std::collections::HashSet<String>>,
    written: std::sync::Mutex<Vec<PointerFile>>,
}

impl EarlyWriter {
    /// A writer for the checkout about to run, or `None` when the
    /// repository already has an index: Git is then updating a worktree
    /// the user works in, and files are written only once Git is done.
    pub fn for_first_checkout(
        repo: &Repo,
        cache: &Cache,
        direct_size: u64,
    ) -> Option<std::sync::Arc<EarlyWriter>> {
        let root = repo.workdir.clone()?;
        if fs::symlink_metadata(repo.git_dir.join("index")).is_ok() {
            return None;
        }
        // No index yet: the one Git writes at the end is newer than this.
        let stamp = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
        Some(std::sync::Arc::new(EarlyWriter {
            root,
            writer: Writer::new(cache, stamp),
            direct_size,
            requests: Default::default(),
            answered: Default::default(),
            landed_early: Default::default(),
            unanswered: Default::default(),
            written: Default::default(),
        }))
    }

    /// Git sent another request: every file answered before it is on disk.
    pub fn request_seen(&self) {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// `path` (safe, repo-relative) was answered with `pointer` in the
    /// current request, for its object is still downloading.
    pub fn answered(&self, path: &str, pointer: Pointer) {
        let now = self.requests.load(std::sync::atomic::Ordering::Acquire);
        // Locked in the order `landed` takes them, so each path is seen
        // by one of the two.
        let Ok(mut answered) = self.answered.lock() else {
            return;
        };
        if self.unanswered.lock().is_ok_and(|mut u| u.remove(path)) {
            drop(answered);
            // Landed already: written by a later landing, or at the end.
            if let Ok(mut waiting) = self.landed_early.lock() {
                waiting.push((path.to_string(), now, pointer));
            }
            return;
        }
        answered.insert(path.to_string(), (now, pointer));
    }

    /// The object of `path` is in the cache: writes the file now if Git
    /// is done with it, else at a later landing (a download can be quicker
    /// than Git's next request), with any landed earlier that Git is now
    /// done with. Anything that stops a file leaves the pointer, which the
    /// end of the checkout writes (and reports) as usual.
    pub fn landed(&self, path: &str) {
        let Ok(mut answered) = self.answered.lock() else {
            return;
        };
        let Some((at, pointer)) = answered.remove(path) else {
            if let Ok(mut u) = self.unanswered.lock() {
                u.insert(path.to_string());
            }
            return;
        };
        drop(answered);
        // Git may not have written a file answered at the latest request.
        let now = self.requests.load(std::sync::atomic::Ordering::Acquire);
        let mut ready = Vec::new();
        if let Ok(mut waiting) = self.landed_early.lock() {
            waiting.push((path.to_string(), at, pointer));
            waiting.retain(|(path, at, pointer)| {
                let done = *at < now;
                if done {
                    ready.push((path.clone(), *pointer));
                }
                !done
            });
        }
        for (path, pointer) in ready {
            self.write(&path, pointer);
        }
    }

    /// Writes `path` over the exact pointer Git wrote there.
    fn write(&self, path: &str, pointer: Pointer) {
        use std::os::unix::fs::PermissionsExt;
        let dest = self.root.join(path);
        let Ok(meta) = fs::symlink_metadata(&dest) else {
            return;
        };
        if !meta.is_file() || read_pointer_file(&dest) != Some(pointer) {
            return;
        }
        let file = PointerFile {
            path: path.to_string(),
            pointer,
            executable: meta.permissions().mode() & 0o111 != 0,
        };
        if self.writer.write(&dest, &file, self.direct_size).is_ok() {
            if let Ok(mut w) = self.written.lock() {
                w.push(file);
            }
        }
    }

    /// The files written so far.
    pub fn take_written(&self) -> Vec<PointerFile> {
        self.written
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default()
    }
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
    let odb = repo.git.odb().at(repo.git_dir.display())?;
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

/// Files a materialization writes on each thread before it is worth
/// starting another: below this, a thread costs more than it saves.
const FILES_PER_THREAD: usize = 32;

/// Writes the content of each pointer file whose object is cached, then
/// writes the new files' stat data into their index entries, so neither
/// Git nor git-dvc reads them again to learn they are clean. Files of
/// `direct_size` or more are produced by a reflink or kernel copy; smaller
/// ones are copied. Every object is checked against its id as it is read.
/// Files are written on a few threads at once: for thousands of small
/// files the time goes to creating, writing and renaming them, which the
/// filesystem does in parallel; each big file gets a thread of its own.
pub fn materialize(
    repo: &Repo,
    cache: &Cache,
    files: &[PointerFile],
    direct_size: u64,
) -> Result<Report, Error> {
    write_files(repo, cache, files, direct_size, Vec::new(), &[])
}

/// [`materialize`], also recording the stat data of `already`, files
/// written earlier in the same checkout, and keeping that of `served`
/// (see [`record_stat`]).
fn write_files(
    repo: &Repo,
    cache: &Cache,
    files: &[PointerFile],
    direct_size: u64,
    already: Vec<PointerFile>,
    served: &[(String, Pointer)],
) -> Result<Report, Error> {
    let root = repo.workdir()?;
    let mut report = Report::default();
    if files.is_empty() && already.is_empty() {
        return Ok(report);
    }
    // Written files get an mtime older than the index as it is now (and
    // than the clock): see `Writer::finish`.
    let stamp = fs::metadata(repo.git_dir.join("index"))
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| std::time::SystemTime::now())
        .min(std::time::SystemTime::now())
        - std::time::Duration::from_secs(1);
    let writer = Writer::new(cache, stamp);
    let write = |f: &PointerFile| writer.write(&root.join(&f.path), f, direct_size);
    let big = files
        .iter()
        .filter(|f| f.pointer.size >= direct_size)
        .count();
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(big + (files.len() - big).div_ceil(FILES_PER_THREAD));
    let results = crate::par_map(files, threads, write);
    let mut written: Vec<&PointerFile> = already.iter().collect();
    for (f, r) in files.iter().zip(results) {
        match r {
            Ok(()) => written.push(f),
            Err(CacheError::Missing(_)) => report.missing.push((f.path.clone(), f.pointer)),
            Err(e) => report.failed.push((f.path.clone(), e.to_string())),
        }
    }
    if !written.is_empty() && record_stat(repo, root, &written, served).is_err() {
        // An index libgit2 cannot write (split or sparse index): Git
        // refreshes it, re-reading the files once.
        let paths: Vec<String> = written.iter().map(|f| f.path.clone()).collect();
        refresh_index(repo, &paths)?;
    }
    report.written = written.iter().map(|f| f.path.clone()).collect();
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
/// [`Writer::finish`], so neither libgit2's nor Git's racy-timestamp rule,
/// which works in whole seconds on most builds, makes them re-read.)
///
/// `served` are files Git wrote itself from the filter's answers in the
/// same checkout, just before writing the index: their entries hold Git's
/// stat data, likely in the index's own second. libgit2 would take them
/// for racily clean and, comparing raw bytes with the pointer blob, mark
/// them changed (size 0), so the next `git status` re-reads them all;
/// they are marked up to date instead, as Git left them.
fn record_stat(
    repo: &Repo,
    root: &Path,
    files: &[&PointerFile],
    served: &[(String, Pointer)],
) -> Result<(), Error> {
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
    for (path, pointer) in served {
        let Some(mut e) = index.get_path(Path::new(path), 0) else {
            continue;
        };
        let blob = git2::Oid::hash_object(git2::ObjectType::Blob, pointer.encode().as_bytes())?;
        if e.id == blob {
            e.flags_extended |= ENTRY_UPTODATE;
            index.add(&e)?;
        }
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

/// What every file of one materialization shares, looked up once: the
/// cache, its temp directory and that directory's filesystem, and the
/// mtime given to the files written.
struct Writer {
    cache: Cache,
    tmp_dir: std::path::PathBuf,
    tmp_dev: Option<u64>,
    mtime: std::time::SystemTime,
}

impl Writer {
    fn new(cache: &Cache, mtime: std::time::SystemTime) -> Writer {
        use std::os::unix::fs::MetadataExt;
        let tmp_dir = cache.tmp_dir();
        let _ = fs::create_dir_all(&tmp_dir);
        let tmp_dev = fs::metadata(&tmp_dir).ok().map(|m| m.dev());
        Writer {
            cache: cache.clone(),
            tmp_dir,
            tmp_dev,
            mtime,
        }
    }

    /// A temp file to rename over `dest`, and the mode to give it. The
    /// temp file is in the cache's temp directory when that is on the
    /// same filesystem (a reflink from the cache works, and what a killed
    /// process leaves is out of the worktree and removed by gc), else
    /// beside `dest`. The mode is that of the file at `dest`: Git created
    /// it with the user's umask and the index's executable bit, so exactly
    /// that mode is kept (or, with no file there, the default for
    /// `executable`).
    fn temp_for(
        &self,
        dest: &Path,
        executable: bool,
    ) -> std::io::Result<(tempfile::NamedTempFile, u32)> {
        use std::os::unix::fs::MetadataExt;
        let (mode, dev) = match fs::metadata(dest) {
            Ok(m) => (m.permissions().mode() & 0o7777, Some(m.dev())),
            Err(_) => (if executable { 0o755 } else { 0o644 }, None),
        };
        let tmp = if dev.is_some() && dev == self.tmp_dev {
            cache::locked_temp(&self.tmp_dir, "incoming-")?
        } else {
            tempfile::Builder::new()
                .prefix(".git-dvc-")
                .tempfile_in(dest.parent().unwrap_or(Path::new(".")))?
        };
        Ok((tmp, mode))
    }

    /// Writes `f`'s content over its pointer at `dest`: its object's twin
    /// when the download made one (see [`Cache::with_twins`]), else a copy
    /// of the object, checked as it leaves the cache.
    fn write(&self, dest: &Path, f: &PointerFile, direct_size: u64) -> Result<(), CacheError> {
        if let Some((twin, mode)) = self.twin_for(dest, f) {
            self.finish(twin.as_file(), mode, dest)?;
            crate::fsutil::replace(twin, dest).map_err(cache::io_err("cannot replace", dest))?;
            crate::ui::verbose(&format!("git-dvc: wrote {} (its twin)", dest.display()));
            return Ok(());
        }
        match f.pointer.size >= direct_size {
            true => write_direct(self, dest, f),
            false => write_content(self, dest, f),
        }
    }

    /// The twin of `f`'s object, and the mode to give it (the pointer
    /// file's), when there is one that can be renamed over `dest` (see
    /// [`Cache::take_twin_for`]).
    fn twin_for(&self, dest: &Path, f: &PointerFile) -> Option<(tempfile::NamedTempFile, u32)> {
        use std::os::unix::fs::MetadataExt;
        let m = fs::metadata(dest).ok()?;
        let twin = self
            .cache
            .take_twin_for(&f.pointer.oid, f.pointer.size, m.dev())?;
        Some((twin, m.permissions().mode() & 0o7777))
    }

    /// Gives a filled temp file its mode and mtime. The mtime lies before
    /// the index on disk (and so before the one written next): an entry
    /// newer than its index is "racily clean", which libgit2 settles when
    /// writing by comparing raw bytes (unfiltered, so a pointer never
    /// matches: the entry would be smudged) and Git by re-reading the file.
    fn finish(&self, tmp: &fs::File, mode: u32, dest: &Path) -> Result<(), CacheError> {
        tmp.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(cache::io_err("cannot set permissions on", dest))?;
        tmp.set_modified(self.mtime)
            .map_err(cache::io_err("cannot set the time of", dest))
    }
}

/// Produces a big file from its object without passing its bytes through
/// this process: a reflink where the filesystem shares extents, else the
/// kernel's copy, into a temp file renamed over the pointer. The object is
/// hashed by a second thread while the copy runs (the check costs one read
/// of the object, in parallel), and the rename happens only if it matches.
fn write_direct(w: &Writer, dest: &Path, f: &PointerFile) -> Result<(), CacheError> {
    let (oid, size) = (f.pointer.oid, f.pointer.size);
    let (tmp, mode) = w
        .temp_for(dest, f.executable)
        .map_err(cache::io_err("cannot create a temp file for", dest))?;
    let kind = w.cache.copy_verified_into(&oid, size, tmp.as_file())?;
    crate::ui::verbose(&format!("git-dvc: wrote {} ({kind:?})", dest.display()));
    w.finish(tmp.as_file(), mode, dest)?;
    crate::fsutil::replace(tmp, dest).map_err(cache::io_err("cannot replace", dest))?;
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

/// Copies a small object into a temp file renamed over the pointer at
/// `dest`, hashing it as it is read.
fn write_content(w: &Writer, dest: &Path, f: &PointerFile) -> Result<(), CacheError> {
    let cache = &w.cache;
    let mut src = cache.open_verified(&f.pointer.oid, f.pointer.size)?;
    let (mut tmp, mode) = w
        .temp_for(dest, f.executable)
        .map_err(cache::io_err("cannot create a temp file for", dest))?;
    // A corrupt object fails here, before the rename: the worktree keeps
    // its pointer and nothing is staged.
    let copied = cache::copy(&mut src, tmp.as_file_mut())
        .map_err(|e| cache::corruption(e).unwrap_or_else(cache::io_err("cannot write", dest)))?;
    if copied != f.pointer.size {
        return Err(CacheError::WrongSize {
            oid: f.pointer.oid,
            expected: f.pointer.size,
            actual: copied,
            path: cache.object_path(&f.pointer.oid),
        });
    }
    w.finish(tmp.as_file(), mode, dest)?;
    crate::fsutil::replace(tmp, dest).map_err(cache::io_err("cannot replace", dest))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oid::Oid;

    /// A repository with no index yet (a clone Git is checking out), a
    /// cache holding `content`, and its pointer written at `data/a.bin`
    /// and `data/b.bin`, as Git writes them.
    fn first_checkout(content: &[u8]) -> (tempfile::TempDir, Repo, Cache, Pointer) {
        let dir = tempfile::tempdir().unwrap();
        git2::Repository::init(dir.path()).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        let cache = Cache::new(dir.path().join(".git/dvc/cache"));
        let oid = Oid::hash_bytes(content);
        cache.insert_verified_bytes(&oid, content).unwrap();
        let pointer = Pointer {
            oid,
            size: content.len() as u64,
        };
        fs::create_dir_all(dir.path().join("data")).unwrap();
        for name in ["a.bin", "b.bin"] {
            fs::write(dir.path().join("data").join(name), pointer.encode()).unwrap();
        }
        (dir, repo, cache, pointer)
    }

    /// A file is written early only once Git has sent a later request (it
    /// has written the pointer by then), only over that exact pointer, and
    /// is then listed for the index; anything else is left for the end of
    /// the checkout.
    #[test]
    fn a_first_checkout_writes_a_landed_file_once_git_has_moved_past_it() {
        let content = b"the real content, not a pointer";
        let (dir, repo, cache, pointer) = first_checkout(content);
        let early = EarlyWriter::for_first_checkout(&repo, &cache, u64::MAX).unwrap();
        let read = |p: &str| fs::read(dir.path().join(p)).unwrap();

        // Landed while Git may still be writing it: left alone.
        early.request_seen();
        early.answered("data/a.bin", pointer);
        early.landed("data/a.bin");
        assert_eq!(read("data/a.bin"), pointer.encode().as_bytes());

        // Git asked for the next file: this one is on disk, and replaced
        // when its object lands, and so is the one that landed before.
        early.answered("data/b.bin", pointer);
        early.request_seen();
        early.landed("data/b.bin");
        assert_eq!(read("data/b.bin"), content);
        assert_eq!(read("data/a.bin"), content);
        let mut written: Vec<String> = early.take_written().into_iter().map(|f| f.path).collect();
        written.sort();
        assert_eq!(written, ["data/a.bin", "data/b.bin"]);
        fs::write(dir.path().join("data/a.bin"), pointer.encode()).unwrap();

        // Landed before the filter said it answered it (the download
        // starts first): written by the next landing once Git is past it.
        fs::write(dir.path().join("data/b.bin"), pointer.encode()).unwrap();
        early.landed("data/a.bin");
        early.answered("data/a.bin", pointer);
        assert_eq!(read("data/a.bin"), pointer.encode().as_bytes());
        early.request_seen();
        early.answered("data/b.bin", pointer);
        early.landed("data/b.bin");
        assert_eq!(read("data/a.bin"), content);
        assert_eq!(
            read("data/b.bin"),
            pointer.encode().as_bytes(),
            "Git is on it"
        );
        assert_eq!(early.take_written().len(), 1);
        fs::write(dir.path().join("data/a.bin"), pointer.encode()).unwrap();

        // Not a path it answered, or no longer the pointer: untouched.
        early.landed("data/a.bin");
        fs::write(dir.path().join("data/a.bin"), b"edited").unwrap();
        early.answered("data/a.bin", pointer);
        early.request_seen();
        early.landed("data/a.bin");
        assert_eq!(read("data/a.bin"), b"edited");
        assert!(early.take_written().is_empty());
    }

    /// A file whose object was downloaded with a twin is that twin,
    /// renamed over the pointer (nothing read from the cache: here the
    /// object is even gone), with the mode Git gave the pointer; a twin
    /// of the wrong size is not used.
    #[test]
    fn a_downloaded_file_is_its_twin_renamed_over_the_pointer() {
        let content = b"downloaded content, checked once";
        let (dir, repo, cache, pointer) = first_checkout(content);
        let cache = cache.with_twins();
        let oid = pointer.oid;
        fs::set_permissions(
            dir.path().join("data/a.bin"),
            fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        cache.remove(&oid).unwrap();
        cache.want_twin(&oid);
        cache.insert_verified_bytes(&oid, content).unwrap();
        cache.remove(&oid).unwrap();

        let early = EarlyWriter::for_first_checkout(&repo, &cache, u64::MAX).unwrap();
        early.answered("data/a.bin", pointer);
        early.request_seen();
        early.landed("data/a.bin");
        let a = dir.path().join("data/a.bin");
        assert_eq!(fs::read(&a).unwrap(), content);
        assert_eq!(
            fs::metadata(&a).unwrap().permissions().mode() & 0o777,
            0o640
        );
        let left: Vec<_> = fs::read_dir(cache.tmp_dir()).unwrap().collect();
        assert!(left.is_empty(), "the twin was moved, not copied: {left:?}");

        // A pointer naming another size: the twin is dropped, the object
        // (missing here) is looked for, and the pointer stays.
        cache.want_twin(&oid);
        cache.insert_verified_bytes(&oid, content).unwrap();
        cache.remove(&oid).unwrap();
        let lying = Pointer {
            size: pointer.size + 1,
            ..pointer
        };
        fs::write(dir.path().join("data/b.bin"), lying.encode()).unwrap();
        early.answered("data/b.bin", lying);
        early.request_seen();
        early.landed("data/b.bin");
        assert_eq!(
            fs::read(dir.path().join("data/b.bin")).unwrap(),
            lying.encode().as_bytes()
        );
        assert!(cache.take_twin(&oid).is_none());
    }

    /// With an index, Git is updating a worktree someone works in: files
    /// are written only once Git is done.
    #[test]
    fn a_checkout_over_an_index_writes_nothing_early() {
        let (dir, repo, cache, _) = first_checkout(b"content");
        fs::write(dir.path().join(".git/index"), b"").unwrap();
        assert!(EarlyWriter::for_first_checkout(&repo, &cache, u64::MAX).is_none());
    }

    #[test]
    fn the_marker_is_pending_only_while_its_filter_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!Marker::pending(dir.path()), "no marker file");
        let mut m = Marker::new(dir.path());
        assert!(!Marker::pending(dir.path()));
        m.announce();
        m.announce();
        assert!(Marker::pending(dir.path()));
        // The lock goes with the filter (here its handle; the kernel drops
        // it when a process dies), and the file left behind says nothing.
        drop(m);
        assert!(dir.path().join("dvc-checkout-pending").is_file());
        assert!(!Marker::pending(dir.path()));
    }
}
