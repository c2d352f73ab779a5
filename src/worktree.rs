//! The worktree model: what the worktree holds for each tracked file,
//! which files Git sees as modified, and the sets of pointers that
//! commands compare, push or keep.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{BufReader, Read};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::checkout::read_pointer_file;
use crate::context::Ctx;
use crate::oid::Oid;
use crate::pointer::{MAX_POINTER_SIZE, Pointer};
use crate::repo::Repo;
use crate::tracked::{self, TrackedFile};

/// What the worktree holds for a tracked file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorktreeState {
    /// The content (by size; not re-hashed).
    Content,
    /// The pointer text.
    Pointer,
    /// No file, or something else.
    Missing,
}

/// Looks at the worktree file without hashing it: a file that parses as a
/// pointer is one (clean passes pointer texts through, so no stored content
/// is ever a pointer text); anything else is content.
pub fn worktree_state(root: &Path, f: &TrackedFile) -> WorktreeState {
    let path = root.join(&f.path);
    match fs::symlink_metadata(&path) {
        Ok(m) if m.is_file() => {
            if Pointer::could_be(m.len()) && read_pointer_file(&path).is_some() {
                WorktreeState::Pointer
            } else {
                WorktreeState::Content
            }
        }
        _ => WorktreeState::Missing,
    }
}

/// Paths whose worktree content differs from the index, as Git sees them
/// through the clean filter.
pub fn modified_paths(repo: &Repo) -> Result<HashSet<String>> {
    let out = repo.git_output(["diff", "--name-only", "-z", "--no-renames"])?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// The pointer for the file at `path`: parsed when it is one, else its
/// content hashed (not stored). `None` for an empty file.
pub fn pointer_of(path: &Path) -> Result<Option<Pointer>> {
    let file = File::open(path).with_context(|| format!("cannot read ({})", path.display()))?;
    let mut reader = BufReader::with_capacity(crate::IO_BUF, file);
    let mut head = Vec::with_capacity(MAX_POINTER_SIZE + 1);
    (&mut reader)
        .take(MAX_POINTER_SIZE as u64 + 1)
        .read_to_end(&mut head)
        .with_context(|| format!("cannot read ({})", path.display()))?;
    if head.is_empty() {
        return Ok(None);
    }
    if let Ok(p) = Pointer::parse(&head) {
        return Ok(Some(p));
    }
    let (oid, size) = Oid::hash_reader((&head[..]).chain(reader))
        .with_context(|| format!("cannot read ({})", path.display()))?;
    Ok(Some(Pointer::new(oid, size)))
}

/// The objects a push or fetch covers: HEAD's tree, the given refs' trees,
/// or with `all` everything reachable from every ref.
pub fn objects_for(repo: &Repo, refs: &[String], all: bool) -> Result<Vec<TrackedFile>> {
    if all {
        return Ok(tracked::in_history(repo, &["--all".to_string()], &[])?);
    }
    if refs.is_empty() {
        return Ok(tracked::in_rev(repo, "HEAD")?);
    }
    let mut files = Vec::new();
    for r in refs {
        files.extend(tracked::in_rev(repo, r)?);
    }
    Ok(files)
}

/// Tracked data by path, as one side of a diff.
pub type Side = BTreeMap<String, Pointer>;

/// The tracked files at `rev`; nothing for `HEAD` before the first commit.
pub fn rev_side(repo: &Repo, rev: &str) -> Result<Side> {
    // A repository with no commit yet compares against nothing.
    if rev == "HEAD" && repo.git.head().is_err() {
        return Ok(Side::new());
    }
    Ok(tracked::in_rev(repo, rev)?
        .into_iter()
        .map(|t| (t.path, t.pointer))
        .collect())
}

/// The worktree as git-dvc sees it: the index's pointers, with modified
/// files hashed (not stored) and deleted ones dropped.
pub fn worktree_side(repo: &Repo) -> Result<Side> {
    let root = repo.workdir()?.to_path_buf();
    let modified = modified_paths(repo)?;
    let mut side = Side::new();
    for f in tracked::in_index(repo)? {
        match worktree_state(&root, &f) {
            WorktreeState::Missing => continue,
            WorktreeState::Content if modified.contains(&f.path) => {
                let path = root.join(&f.path);
                let file = File::open(&path)
                    .with_context(|| format!("cannot read ({})", path.display()))?;
                let (oid, size) = Oid::hash_reader(file)?;
                if size > 0 {
                    side.insert(f.path, Pointer::new(oid, size));
                }
            }
            _ => {
                side.insert(f.path, f.pointer);
            }
        }
    }
    Ok(side)
}

#[derive(Serialize, Default)]
/// One row of `git dvc status`: the local state of a tracked file (or of
/// a conflicted or not-yet-staged one).
pub struct FileStatus {
    /// The repo-relative path.
    pub path: String,
    /// Absent for files not in the index yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oid: Option<String>,
    /// The size of the data.
    pub size: u64,
    /// The worktree content differs from what the index records.
    pub modified: bool,
    /// The object is in the local cache.
    pub in_cache: bool,
    /// The worktree holds content, not the pointer text.
    pub materialized: bool,
    /// The worktree file is gone.
    pub deleted: bool,
    /// The remote holds the object (only with `--remote`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_remote: Option<bool>,
    /// A new file under a tracked pattern, not staged yet.
    #[serde(skip_serializing_if = "is_false")]
    pub untracked: bool,
    /// A merge conflict: both sides changed the data.
    #[serde(skip_serializing_if = "is_false")]
    pub conflicted: bool,
    /// A pointer in the index at a path no tracked pattern covers.
    #[serde(skip_serializing_if = "is_false")]
    pub outside_patterns: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// The local state of every tracked file, conflicted path and new file
/// under a tracked pattern (`git dvc status`). With `remote` (a name, or
/// empty for the default), whether that remote holds each object too.
pub fn file_statuses(ctx: &Ctx, remote: Option<&str>) -> Result<Vec<FileStatus>> {
    let root = ctx.repo.workdir()?.to_path_buf();
    let files = tracked::in_index(&ctx.repo)?;
    let stray: HashSet<String> = tracked::outside_patterns(&ctx.repo, &files)?
        .into_iter()
        .map(|f| f.path)
        .collect();
    let modified = if files.is_empty() {
        HashSet::new()
    } else {
        modified_paths(&ctx.repo)?
    };
    let missing_on_remote: Option<HashSet<crate::oid::Oid>> = match remote {
        Some(name) => {
            let name = Some(name).filter(|n| !n.is_empty());
            let transfer = crate::sync::open_transfer(ctx, name)?;
            let oids: Vec<_> = files.iter().map(|f| f.pointer.oid).collect();
            Some(transfer.missing_on_remote(&oids)?.into_iter().collect())
        }
        None => None,
    };
    let mut rows: Vec<FileStatus> = files
        .iter()
        .map(|f| {
            let state = worktree_state(&root, f);
            FileStatus {
                path: f.path.clone(),
                oid: Some(format!("sha256:{}", f.pointer.oid)),
                size: f.pointer.size,
                modified: state == WorktreeState::Content && modified.contains(&f.path),
                in_cache: ctx.cache.contains(&f.pointer.oid),
                materialized: state == WorktreeState::Content,
                deleted: state == WorktreeState::Missing,
                on_remote: missing_on_remote
                    .as_ref()
                    .map(|m| !m.contains(&f.pointer.oid)),
                outside_patterns: stray.contains(&f.path),
                ..FileStatus::default()
            }
        })
        .collect();
    for path in tracked::conflicted(&ctx.repo)? {
        rows.push(FileStatus {
            path,
            conflicted: true,
            materialized: true,
            in_cache: true,
            ..FileStatus::default()
        });
    }
    for path in tracked::untracked_under_patterns(&ctx.repo)? {
        let size = std::fs::metadata(root.join(&path)).map_or(0, |m| m.len());
        rows.push(FileStatus {
            path,
            size,
            untracked: true,
            materialized: true,
            in_cache: true,
            ..FileStatus::default()
        });
    }
    Ok(rows)
}

#[derive(Serialize)]
/// An object as `diff` shows it.
pub struct Obj {
    /// `sha256:<hex>`.
    pub oid: String,
    /// Its size.
    pub size: u64,
}

impl From<&Pointer> for Obj {
    fn from(p: &Pointer) -> Obj {
        Obj {
            oid: format!("sha256:{}", p.oid),
            size: p.size,
        }
    }
}

#[derive(Serialize)]
/// One changed path.
pub struct Change {
    /// The path.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Before (absent when added).
    pub old: Option<Obj>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// After (absent when deleted).
    pub new: Option<Obj>,
}

#[derive(Serialize, Default)]
/// What changed between two sides.
pub struct Diff {
    /// Paths only the new side has.
    pub added: Vec<Change>,
    /// Paths whose pointer changed.
    pub modified: Vec<Change>,
    /// Paths only the old side has.
    pub deleted: Vec<Change>,
}

/// The changes from `old` to `new`, by path.
pub fn diff(old: &Side, new: &Side) -> Diff {
    let mut diff = Diff::default();
    for (path, p) in new {
        match old.get(path) {
            None => diff.added.push(Change {
                path: path.clone(),
                old: None,
                new: Some(p.into()),
            }),
            Some(o) if o != p => diff.modified.push(Change {
                path: path.clone(),
                old: Some(o.into()),
                new: Some(p.into()),
            }),
            Some(_) => {}
        }
    }
    for (path, o) in old {
        if !new.contains_key(path) {
            diff.deleted.push(Change {
                path: path.clone(),
                old: Some(o.into()),
                new: None,
            });
        }
    }
    diff
}
