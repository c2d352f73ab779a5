//! The clean and smudge filters: the heart of git-dvc.
//!
//! Clean turns content into a pointer, storing the content in the cache in
//! the same pass that hashes it. Smudge turns a pointer back into content
//! from the cache, and when the object is missing it hands Git the pointer
//! text unchanged, so a checkout never fails for want of data; one summary
//! warning per Git command says what was left behind.
//!
//! The same [`Filter`] serves the long-running protocol ([`process`]) and
//! the one-shot `git-dvc clean`/`smudge` commands.

pub mod process;

use std::io::{self, Read, Seek, Write};

use crate::cache::{self, Cache, CacheError, Checked};
use crate::oid::HashingWriter;
use crate::pointer::{MAX_POINTER_SIZE, Pointer, PointerError};
use crate::ui;

/// True when `GIT_DVC_SKIP_SMUDGE` asks to leave pointers alone.
pub fn skip_smudge_env() -> bool {
    crate::env_flag("GIT_DVC_SKIP_SMUDGE")
}

/// Content held in memory up to this size while it is passed through; larger
/// content is spooled to disk, so memory stays flat whatever the file size.
const SPOOL_IN_MEMORY: usize = 1 << 20;

/// Why a file could not be cleaned.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// Storing the content in the cache failed.
    #[error("cannot store {path} in the cache: {source}")]
    Store {
        /// The file being added.
        path: String,
        /// The cause.
        source: CacheError,
    },
    /// The worktree file changed while Git was sending it.
    #[error("{path} changed while it was being added; run `git add` again")]
    Changed {
        /// The file.
        path: String,
    },
    /// The file is two pointers with merge conflict markers, not data.
    #[error(
        "{path} holds the conflict markers of a merge of two git-dvc pointers, not data; \
         take one side with `git checkout --ours {path}` or `git checkout --theirs {path}` \
         (set GIT_DVC_ALLOW_CONFLICT_TEXT=1 to store this text as data anyway)"
    )]
    ConflictText {
        /// The file.
        path: String,
    },
    /// Reading the content from Git failed.
    #[error("cannot read {path} from git: {source}")]
    Input {
        /// The file.
        path: String,
        /// The cause.
        source: io::Error,
    },
}

/// A pathname as Git names a file to the filter, checked once where it
/// enters. Git sends whatever it was given: `git hash-object --path=/tmp/x`
/// names a file outside any worktree, `--path=` none at all. Only a safe
/// repo-relative path (non-empty, `/`-separated, no empty, `.`, `..` or
/// `.git` component, no NUL) is ever used to look at the worktree or the
/// index; any other is a name for messages, and clean works from the
/// stream alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pathname {
    text: String,
    in_repo: bool,
}

impl Pathname {
    /// Checks `text` as Git sent it.
    pub fn new(text: impl Into<String>) -> Pathname {
        let text = text.into();
        let in_repo = !text.is_empty()
            && !text.contains('\0')
            && text
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".." && !c.eq_ignore_ascii_case(".git"));
        Pathname { text, in_repo }
    }

    /// The pathname as Git sent it, for messages.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The path relative to the worktree root, when it is a safe one.
    pub fn repo_relative(&self) -> Option<&str> {
        self.in_repo.then_some(self.text.as_str())
    }
}

impl std::fmt::Display for Pathname {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.text.is_empty() {
            f.write_str("<no pathname>")
        } else {
            f.write_str(&self.text)
        }
    }
}

/// What smudge hands back to Git.
pub enum Smudged {
    /// Bytes to write as they are (a pointer left in place, small content).
    Bytes(Vec<u8>),
    /// A cached object: stream this file.
    Object(std::fs::File),
    /// Non-pointer content passed through, spooled while it was read.
    Spooled(tempfile::SpooledTempFile),
}

impl Smudged {
    /// Streams the result into `w`.
    pub fn write_to(self, w: &mut impl FnMut(&mut dyn Read) -> io::Result<u64>) -> io::Result<u64> {
        match self {
            Smudged::Bytes(b) => w(&mut &b[..]),
            Smudged::Object(mut f) => w(&mut f),
            Smudged::Spooled(mut s) => {
                s.rewind()?;
                w(&mut s)
            }
        }
    }
}

/// Filter state for one Git command: the cache, the skip switch, and what
/// to report when Git is done with us.
pub struct Filter {
    cache: Cache,
    skip_smudge: bool,
    missing: Vec<String>,
    malformed: Vec<String>,
    known: Option<Known>,
    direct_size: u64,
    completes: bool,
    awaiting: Vec<(String, Pointer)>,
    stored_big: Vec<(String, Pointer)>,
    marker: Option<crate::checkout::Marker>,
    early: Option<std::sync::Arc<crate::checkout::EarlyWriter>>,
    served: Vec<(String, Pointer)>,
}

/// Looks up the pointer a path had before (in the index), so re-cleaning
/// unchanged content never writes it again.
pub type KnownPointers = Box<dyn FnMut(&str) -> Option<Pointer>>;

struct Known {
    root: std::path::PathBuf,
    lookup: KnownPointers,
}

/// Pointers recorded in the index, looked up by path. The index is read
/// once, on the first lookup; while Git holds its lock for `git add`, the
/// file on disk still says what each path held before.
pub fn index_pointers(git_dir: &std::path::Path) -> KnownPointers {
    type Known = (
        git2::Repository,
        std::collections::HashMap<Vec<u8>, git2::Oid>,
    );
    let git_dir = git_dir.to_path_buf();
    let mut state: Option<Option<Known>> = None;
    Box::new(move |path: &str| {
        let (repo, ids) = state
            .get_or_insert_with(|| {
                let repo = crate::repo::Repo::open(&git_dir).ok()?;
                let ids = crate::index::read(&repo)
                    .ok()?
                    .into_iter()
                    .filter(|e| e.stage == 0 && e.is_file())
                    .map(|e| (e.path, e.id))
                    .collect();
                Some((repo.git, ids))
            })
            .as_ref()?;
        let id = ids.get(path.as_bytes())?;
        crate::tracked::blob_pointer(&repo.odb().ok()?, *id)
    })
}

impl Filter {
    /// A filter storing into `cache`; `skip_smudge` leaves pointers as they
    /// are (`GIT_DVC_SKIP_SMUDGE=1`, `install --skip-smudge`).
    pub fn new(cache: Cache, skip_smudge: bool) -> Filter {
        Filter {
            cache,
            skip_smudge,
            missing: Vec::new(),
            malformed: Vec::new(),
            known: None,
            direct_size: u64::MAX,
            completes: false,
            awaiting: Vec::new(),
            stored_big: Vec::new(),
            marker: None,
            early: None,
            served: Vec::new(),
        }
    }

    /// Objects of `size` or more are not sent through Git's pipe on a
    /// worktree checkout: smudge answers with the pointer text, and git-dvc
    /// writes the file itself once Git is done (see
    /// [`Filter::completes_checkout`]).
    pub fn with_direct_size(mut self, size: u64) -> Filter {
        self.direct_size = size;
        self
    }

    /// Big files stored by clean in this session, with their pointers: on
    /// a filesystem that can, their worktree copies and cache objects are
    /// made to share extents once Git is done.
    pub fn take_stored_big(&mut self) -> Vec<(String, Pointer)> {
        std::mem::take(&mut self.stored_big)
    }

    fn note_stored(&mut self, path: &Pathname, pointer: Pointer) {
        if pointer.size >= self.direct_size {
            if let Some(rel) = path.repo_relative() {
                self.stored_big.push((rel.to_string(), pointer));
            }
        }
    }

    /// True when this filter knows the worktree, so a file Git checks out
    /// may be left as its pointer for git-dvc to write once Git is done.
    pub fn writes_worktree(&self) -> bool {
        self.known.is_some()
    }

    /// Records that `path` was handed to Git as its pointer while its
    /// object downloads: once Git is done and the download has landed,
    /// git-dvc writes the file itself (on a first checkout, as soon as both
    /// the download and Git are past it). Thousands of small files are then
    /// written in parallel instead of one pipe round trip each.
    pub fn await_download(&mut self, path: &Pathname, pointer: Pointer) {
        if let (Some(early), Some(rel)) = (&self.early, path.repo_relative()) {
            early.answered(rel, pointer);
        }
        self.awaiting.push((path.as_str().to_string(), pointer));
        self.announce();
    }

    /// Lets `early` write awaited files while Git is still checking out
    /// (a first checkout: see [`crate::checkout::EarlyWriter`]).
    pub fn with_early(
        mut self,
        early: Option<std::sync::Arc<crate::checkout::EarlyWriter>>,
    ) -> Filter {
        self.early = early;
        self
    }

    /// Git sent a request: the file it was sent before is on disk.
    pub fn request_seen(&self) {
        if let Some(early) = &self.early {
            early.request_seen();
        }
    }

    /// After every download has finished: the awaited paths whose objects
    /// did not arrive are left as pointers and named in the summary
    /// warning.
    pub fn settle_awaited(&mut self) {
        for (path, p) in std::mem::take(&mut self.awaiting) {
            if !self.cache.contains(&p.oid) {
                self.missing.push(path);
            }
        }
    }

    /// Says, through `marker`, that this filter will complete the checkout
    /// it serves once Git is done (see [`crate::checkout::Marker`]).
    pub fn with_marker(mut self, marker: crate::checkout::Marker) -> Filter {
        self.marker = Some(marker);
        self
    }

    fn announce(&mut self) {
        self.completes = true;
        if let Some(m) = self.marker.as_mut() {
            m.announce();
        }
    }

    /// True when this filter left files as pointers for git-dvc to write
    /// once Git is done: it then completes the whole checkout, as the
    /// post-checkout hook would have.
    pub fn completes_checkout(&self) -> bool {
        self.completes
    }

    /// True (and the checkout left to complete) when the object is big
    /// enough to be written directly and is in the cache. The size is checked first: a
    /// checkout of thousands of small files then costs no stat each just to
    /// learn they are not deferred.
    fn deferrable(&mut self, pointer: &Pointer, worktree: bool) -> bool {
        let yes = worktree && pointer.size >= self.direct_size && self.cache.contains(&pointer.oid);
        if yes {
            self.announce();
        }
        yes
    }

    /// Lets clean recognise content it already stored: `lookup` gives the
    /// pointer a path had (the index's), `root` is the worktree holding it.
    pub fn with_known(mut self, root: std::path::PathBuf, lookup: KnownPointers) -> Filter {
        self.known = Some(Known { root, lookup });
        self
    }

    /// The pointer `path` probably still matches: the one it had, when the
    /// worktree file has that size and the object is cached. Only a safe
    /// repo-relative path is looked up; any other has no worktree file.
    fn candidate(&mut self, path: &Pathname) -> Option<(Pointer, std::path::PathBuf)> {
        let path = path.repo_relative()?;
        let known = self.known.as_mut()?;
        let p = (known.lookup)(path)?;
        let file = known.root.join(path);
        let len = std::fs::metadata(&file).ok()?.len();
        (len == p.size && self.cache.contains(&p.oid)).then_some((p, file))
    }

    /// The cache this filter stores into.
    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Clean: content in, pointer out. Empty content stays empty; a valid
    /// pointer passes through unchanged (clean of clean is clean).
    pub fn clean(
        &mut self,
        path: &Pathname,
        input: &mut impl Read,
    ) -> Result<Vec<u8>, FilterError> {
        let input_err = |source| FilterError::Input {
            path: path.to_string(),
            source,
        };
        let mut head = vec![0u8; MAX_POINTER_SIZE + 1];
        let mut n = crate::read_full(input, &mut head).map_err(input_err)?;
        if n == 0 {
            return Ok(Vec::new());
        }
        if n <= MAX_POINTER_SIZE && Pointer::parse(&head[..n]).is_ok() {
            return Ok(head[..n].to_vec());
        }
        if crate::merge::could_be_conflict_text(&head[..n]) {
            // Perhaps two pointers text-merged with conflict markers: look
            // at enough of it to tell, and never store that as data.
            head.resize(crate::merge::CONFLICT_TEXT_MAX + 1, 0);
            n += crate::read_full(input, &mut head[n..]).map_err(input_err)?;
            if crate::merge::is_conflicted_pointer_text(&head[..n])
                && !crate::env_flag("GIT_DVC_ALLOW_CONFLICT_TEXT")
            {
                return Err(FilterError::ConflictText {
                    path: path.to_string(),
                });
            }
        }
        let store_err = |source| FilterError::Store {
            path: path.to_string(),
            source,
        };
        if let Some((known, file)) = self.candidate(path) {
            // Most likely unchanged (a refresh after checkout, a touched
            // file): hash only, write nothing.
            let mut h = HashingWriter::new(io::sink());
            let _ = h.write_all(&head[..n]);
            copy_input(input, &mut h).map_err(|e| match e {
                CopyError::Read(e) => input_err(e),
                CopyError::Write(_) => unreachable!("a sink cannot fail"),
            })?;
            let (_, oid, size) = h.finish();
            if oid == known.oid && size == known.size {
                return Ok(known.encode().into_bytes());
            }
            // Same size, other content. Git read it from the worktree file:
            // store that, and accept it only if it is what Git sent.
            let mut f = std::fs::File::open(&file).map_err(input_err)?;
            let (stored, stored_size) = self.cache.insert_reader(&mut f).map_err(store_err)?;
            if stored != oid {
                return Err(FilterError::Changed {
                    path: path.to_string(),
                });
            }
            let pointer = Pointer::new(stored, stored_size);
            self.note_stored(path, pointer);
            return Ok(pointer.encode().into_bytes());
        }
        let mut w = self.cache.writer().map_err(store_err)?;
        let tmp = self.cache.tmp_dir();
        let write_err = |e| FilterError::Store {
            path: path.to_string(),
            source: CacheError::Io {
                action: "cannot write an object into",
                path: tmp.clone(),
                source: e,
            },
        };
        w.write_all(&head[..n]).map_err(write_err)?;
        copy_input(input, &mut w).map_err(|e| match e {
            CopyError::Read(e) => input_err(e),
            CopyError::Write(e) => write_err(e),
        })?;
        let (oid, size) = w.commit().map_err(store_err)?;
        ui::verbose(&format!("git-dvc: stored {path} as {}", oid.short(12)));
        let pointer = Pointer::new(oid, size);
        self.note_stored(path, pointer);
        Ok(pointer.encode().into_bytes())
    }

    /// Smudge: pointer in, content out. Never fails for a missing object:
    /// the pointer text is handed back and the path remembered for the
    /// summary warning. `worktree` says Git is checking the file out into
    /// the worktree (it may then be [deferred](Filter::with_direct_size));
    /// other smudges (`git archive`, `cat-file --filters`) always get
    /// content.
    pub fn smudge(
        &mut self,
        path: &Pathname,
        input: &mut impl Read,
        worktree: bool,
    ) -> io::Result<Smudged> {
        let mut head = [0u8; MAX_POINTER_SIZE + 1];
        let n = crate::read_full(input, &mut head)?;
        if n > MAX_POINTER_SIZE {
            return self.pass_through(&head[..n], input).map(Smudged::Spooled);
        }
        let blob = &head[..n];
        let pointer = match Pointer::parse(blob) {
            Ok(p) => p,
            Err(PointerError::NotAPointer) => return Ok(Smudged::Bytes(blob.to_vec())),
            Err(e @ PointerError::Malformed(_)) => {
                ui::verbose(&format!("git-dvc: {path}: {e}"));
                self.malformed.push(path.as_str().to_string());
                return Ok(Smudged::Bytes(blob.to_vec()));
            }
        };
        if self.skip_smudge {
            return Ok(Smudged::Bytes(blob.to_vec()));
        }
        if self.deferrable(&pointer, worktree) {
            return Ok(Smudged::Bytes(blob.to_vec()));
        }
        Ok(self.cached_content(path, &pointer, blob, worktree))
    }

    /// The checked content of `pointer`'s object, or `text` (the pointer as
    /// Git has it) when the object is missing or damaged. Nothing leaves the
    /// cache unchecked: Git cannot take back bytes once they are in the
    /// pipe, so the object is hashed first.
    fn cached_content(
        &mut self,
        path: &Pathname,
        pointer: &Pointer,
        text: &[u8],
        worktree: bool,
    ) -> Smudged {
        let name = path.as_str();
        let content = match self.cache.read_checked(&pointer.oid, pointer.size) {
            Ok(Checked::Bytes(b)) => Smudged::Bytes(b),
            Ok(Checked::File(f)) => Smudged::Object(f),
            Err(CacheError::Missing(_)) => {
                self.missing.push(name.to_string());
                return Smudged::Bytes(text.to_vec());
            }
            Err(e @ (CacheError::Corrupt { .. } | CacheError::Truncated { .. })) => {
                // Quarantined: the object is now missing, so a fetcher
                // brings a good copy, or the pointer stays.
                ui::error(&format!("{e} ({name})"));
                self.missing.push(name.to_string());
                return Smudged::Bytes(text.to_vec());
            }
            Err(e) => {
                ui::warn(&format!("{name} left as a pointer: {e}"));
                return Smudged::Bytes(text.to_vec());
            }
        };
        if worktree {
            if let Some(rel) = path.repo_relative() {
                self.served.push((rel.to_string(), *pointer));
            }
        }
        content
    }

    /// Files whose content Git wrote from this filter's answers, while the
    /// filter completes the checkout: their index entries are Git's own,
    /// and the index write that records the filter's files must keep them
    /// (see `checkout::complete_checkout`).
    pub fn take_served(&mut self) -> Vec<(String, Pointer)> {
        std::mem::take(&mut self.served)
    }

    /// Looks a pointer up without reading input: for the re-request of a
    /// delayed blob, whose content Git does not send again. The object was
    /// checked on its way into the cache, and is checked again on its way
    /// out, as every object is.
    pub fn smudge_pointer(
        &mut self,
        path: &Pathname,
        pointer: &Pointer,
        worktree: bool,
    ) -> Smudged {
        let text = pointer.encode().into_bytes();
        if self.deferrable(pointer, worktree) {
            return Smudged::Bytes(text);
        }
        self.cached_content(path, pointer, &text, worktree)
    }

    fn pass_through(
        &mut self,
        head: &[u8],
        rest: &mut impl Read,
    ) -> io::Result<tempfile::SpooledTempFile> {
        let mut spool = tempfile::SpooledTempFile::new(SPOOL_IN_MEMORY);
        spool.write_all(head)?;
        cache::copy(rest, &mut spool)?;
        Ok(spool)
    }

    /// Forgets that `path` was left as a pointer, because a download for it
    /// was queued instead; true if it had been recorded.
    pub fn take_missing(&mut self, path: &str) -> bool {
        match self.missing.iter().rposition(|p| p == path) {
            Some(i) => {
                self.missing.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// Prints the one summary warning for everything left as a pointer.
    pub fn finish(&mut self) {
        self.finish_with(None);
    }

    /// [`Filter::finish`], saying why downloads failed when they did.
    pub fn finish_with(&mut self, fetch_failure: Option<&str>) {
        if !self.missing.is_empty() {
            let why = match fetch_failure {
                Some(why) => format!("they could not be fetched ({why})"),
                None => "their objects are not in the cache".to_string(),
            };
            ui::warn(&format!(
                "{} left as pointers: {why}; run `git dvc pull` to fetch them",
                summary(&self.missing)
            ));
            self.missing.clear();
        }
        if !self.malformed.is_empty() {
            ui::warn(&format!(
                "malformed git-dvc pointers left as they are in {}; commit the real content again to repair them",
                summary(&self.malformed)
            ));
            self.malformed.clear();
        }
    }
}

enum CopyError {
    Read(io::Error),
    Write(io::Error),
}

/// Copies Git's input to `w`, telling a read failure (Git's side) from a
/// write failure (ours).
fn copy_input(input: &mut impl Read, w: &mut impl Write) -> Result<(), CopyError> {
    let mut buf = crate::StreamBuf::new();
    loop {
        let k = match input.read(buf.get()) {
            Ok(0) => return Ok(()),
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        w.write_all(&buf.get()[..k]).map_err(CopyError::Write)?;
        buf.filled(k);
    }
}

/// "3 files (a, b, c)", naming at most five.
pub fn summary(paths: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut paths = paths.to_vec();
    paths.sort();
    let mut list = paths
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        list.push_str(&format!(", and {} more", paths.len() - SHOWN));
    }
    let files = if paths.len() == 1 {
        "1 file"
    } else {
        &format!("{} files", paths.len())
    };
    format!("{files} ({list})")
}
