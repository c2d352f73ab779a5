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
