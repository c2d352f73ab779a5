//! Listing tracked data: which blobs of a tree or of the index are pointers.

use git2::{ObjectType, Oid as GitOid, TreeWalkMode, TreeWalkResult};

use crate::error::Error;
use crate::pointer::Pointer;
use crate::repo::Repo;

/// One tracked file as Git stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedFile {
    /// Repo-relative path.
    pub path: String,
    /// Its pointer.
    pub pointer: Pointer,
}

/// The pointer in blob `id`, reading the blob only when its size allows.
pub fn blob_pointer(odb: &git2::Odb<'_>, id: GitOid) -> Option<Pointer> {
    let (size, kind) = odb.read_header(id).ok()?;
    if kind != ObjectType::Blob || !Pointer::could_be(size as u64) {
        return None;
    }
    let obj = odb.read(id).ok()?;
    Pointer::parse(obj.data()).ok()
}

/// Tracked files in the index (stage 0), in index order.
pub fn in_index(repo: &Repo) -> Result<Vec<TrackedFile>, Error> {
    let index = repo.git.index()?;
    let odb = repo.git.odb()?;
    let mut out = Vec::new();
    for e in index.iter() {
        if (e.flags >> 12) & 3 != 0 || (e.mode & 0o170000) != 0o100000 {
            continue;
        }
        let Ok(path) = String::from_utf8(e.path) else {
            continue;
        };
        if let Some(pointer) = blob_pointer(&odb, e.id) {
            out.push(TrackedFile { path, pointer });
        }
    }
    Ok(out)
}

/// Tracked files in the tree of `rev` (a commit, tag or tree).
pub fn in_rev(repo: &Repo, rev: &str) -> Result<Vec<TrackedFile>, Error> {
    let obj = repo
        .git
        .revparse_single(rev)
        .map_err(|_| Error::Other(format!("unknown revision ({rev})")))?;
    let tree = obj
        .peel_to_tree()
        .map_err(|_| Error::Other(format!("not a commit or tree ({rev})")))?;
    in_tree(repo, &tree)
}

/// Tracked files in `tree`.
pub fn in_tree(repo: &Repo, tree: &git2::Tree<'_>) -> Result<Vec<TrackedFile>, Error> {
    let odb = repo.git.odb()?;
    let mut out = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Blob) && entry.filemode() & 0o170000 == 0o100000 {
            if let Some(pointer) = blob_pointer(&odb, entry.id()) {
                if let Some(name) = entry.name() {
                    out.push(TrackedFile {
                        path: format!("{dir}{name}"),
                        pointer,
                    });
                }
            }
        }
        TreeWalkResult::Ok
    })?;
    Ok(out)
}

/// Pointers in every blob reachable from `revs` but not from `not`
/// (`--not` arguments, e.g. `--remotes=origin`), with one path each.
/// Blobs larger than a pointer are never even listed.
pub fn in_history(repo: &Repo, revs: &[String], not: &[String]) -> Result<Vec<TrackedFile>, Error> {
    if revs.is_empty() {
        return Ok(Vec::new());
    }
    let mut args: Vec<String> = vec![
        "rev-list".into(),
        "--objects".into(),
        "--filter=blob:limit=201".into(),
    ];
    args.extend(revs.iter().cloned());
    if !not.is_empty() {
        args.push("--not".into());
        args.extend(not.iter().cloned());
    }
    let out = repo.git_output(&args)?;
    let odb = repo.git.odb()?;
    let mut seen = std::collections::HashSet::new();
    let mut files = Vec::new();
    for line in String::from_utf8_lossy(&out).lines() {
        let (sha, path) = line.split_once(' ').unwrap_or((line, ""));
        let Ok(id) = GitOid::from_str(sha) else {
            continue;
        };
        if path.is_empty() || !seen.insert(id) {
            continue;
        }
        if let Some(pointer) = blob_pointer(&odb, id) {
            files.push(TrackedFile {
                path: path.to_string(),
                pointer,
            });
        }
    }
    Ok(files)
}
