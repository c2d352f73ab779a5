//! Reading Git's index, whatever form Git wrote it in.
//!
//! libgit2 reads the common index quickly and in-process, but refuses the
//! mandatory extensions large repositories turn on (`core.splitIndex`'s
//! `link`, the sparse index's `sdir`). Those are read through Git itself
//! (`git ls-files`), which understands every index Git can write; both
//! paths give the same entries, with the skip-worktree bit sparse
//! checkouts set on files outside the cone.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use crate::error::Error;
use crate::repo::Repo;

/// Extended flag bit of an entry outside the sparse-checkout cone.
const SKIP_WORKTREE: u16 = 1 << 14;

/// One index entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Repo-relative path, as Git spells it (bytes need not be UTF-8).
    pub path: Vec<u8>,
    /// Git's file mode (`0o100644`, `0o100755`, `0o120000`…).
    pub mode: u32,
    /// The blob.
    pub id: git2::Oid,
    /// Merge stage: 0 normally, 1–3 for the sides of a conflict.
    pub stage: u8,
    /// Outside the sparse-checkout cone: no worktree file is expected.
    pub skip_worktree: bool,
}

impl Entry {
    /// True for a regular file (the only kind a pointer can be).
    pub fn is_file(&self) -> bool {
        self.mode & 0o170000 == 0o100000
    }

    /// The path as UTF-8, when it is.
    pub fn path_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.path).ok()
    }

    /// The path as an OS path, relative to the worktree root.
    pub fn os_path(&self) -> &OsStr {
        OsStr::from_bytes(&self.path)
    }
}

/// Every entry of the index, in index order.
pub fn read(repo: &Repo) -> Result<Vec<Entry>, Error> {
    match read_libgit2(&repo.git) {
        Ok(entries) => Ok(entries),
        Err(_) => read_with_git(repo),
    }
}

/// [`read`] for a repository known only by its git dir (the filter).
pub fn read_at(git_dir: &std::path::Path) -> Result<Vec<Entry>, Error> {
    read(&Repo::open(git_dir)?)
}

/// Paths outside the sparse-checkout cone (skip-worktree entries): data
/// there is neither reported, fetched nor checked out.
pub fn outside_cone(repo: &Repo) -> Result<std::collections::HashSet<Vec<u8>>, Error> {
    Ok(read(repo)?
        .into_iter()
        .filter(|e| e.skip_worktree)
        .map(|e| e.path)
        .collect())
}

fn read_libgit2(git: &git2::Repository) -> Result<Vec<Entry>, git2::Error> {
    let mut index = git.index()?;
    // The handle may be cached from earlier in this process: see what is on
    // disk now.
    index.read(false)?;
    Ok(index
        .iter()
        .map(|e| Entry {
            stage: ((e.flags >> 12) & 3) as u8,
            skip_worktree: e.flags_extended & SKIP_WORKTREE != 0,
            mode: e.mode,
            id: e.id,
            path: e.path,
        })
        .collect())
}

/// `git ls-files --stage -t -z`: `<tag> <mode> <sha> <stage>\t<path>\0`,
/// tag `S` marking skip-worktree entries.
fn read_with_git(repo: &Repo) -> Result<Vec<Entry>, Error> {
    let out = repo.git_output(["ls-files", "--stage", "-t", "-z"])?;
    let mut entries = Vec::new();
    for rec in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let bad = || Error::Git {
            command: "git ls-files --stage -t -z".into(),
            message: format!("unexpected output {:?}", String::from_utf8_lossy(rec)),
        };
        let tab = rec.iter().position(|&b| b == b'\t').ok_or_else(bad)?;
        let head = std::str::from_utf8(&rec[..tab]).map_err(|_| bad())?;
        let mut f = head.split(' ');
        let (Some(tag), Some(mode), Some(sha), Some(stage), None) =
            (f.next(), f.next(), f.next(), f.next(), f.next())
        else {
            return Err(bad());
        };
        entries.push(Entry {
            path: rec[tab + 1..].to_vec(),
            mode: u32::from_str_radix(mode, 8).map_err(|_| bad())?,
            id: git2::Oid::from_str(sha).map_err(|_| bad())?,
            stage: stage.parse().map_err(|_| bad())?,
            skip_worktree: tag == "S",
        });
    }
    Ok(entries)
}
