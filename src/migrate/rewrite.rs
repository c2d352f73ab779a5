//! Rewriting trees and commits with libgit2 objects written straight to
//! Git's object database, and moving refs in one `git update-ref --stdin`
//! transaction.
//!
//! Commits are rewritten from their raw bytes: only the `tree` and
//! `parent` lines change (and a signature, which no longer matches, is
//! dropped), so authors, committers, dates, encodings and messages stay
//! byte for byte. A commit whose tree and parents do not change keeps its
//! id, which is what makes a second run change nothing.

use std::collections::BTreeMap;

use git2::{ObjectType, Oid as GitOid};

use crate::error::Error;

/// One change to a tree: put a blob at a path, or delete the path (a file
/// or a whole directory).
#[derive(Debug, Clone)]
pub struct Edit {
    /// Repo-relative path, `/`-separated.
    pub path: String,
    /// The blob and its file mode, or `None` to delete.
    pub blob: Option<(GitOid, i32)>,
}

impl Edit {
    /// Puts `blob` (a regular file) at `path`.
    pub fn put(path: impl Into<String>, blob: GitOid) -> Edit {
        Edit {
            path: path.into(),
            blob: Some((blob, 0o100644)),
        }
    }

    /// Deletes `path`.
    pub fn delete(path: impl Into<String>) -> Edit {
        Edit {
            path: path.into(),
            blob: None,
        }
    }
}

/// Applies `edits` to `base` (or an empty tree) and writes the result;
/// returns the new root tree id.
pub fn apply(
    repo: &git2::Repository,
    base: Option<&git2::Tree<'_>>,
    edits: &[Edit],
) -> Result<GitOid, Error> {
    let split: Vec<(Vec<&str>, Option<Entry>)> = edits
        .iter()
        .map(|e| (e.path.split('/').collect(), e.blob))
        .collect();
    let refs: Vec<LevelEdit<'_>> = split.iter().map(|(p, b)| (p.as_slice(), *b)).collect();
    match apply_level(repo, base, &refs)? {
        Some(id) => Ok(id),
        None => Ok(repo.treebuilder(None)?.write()?),
    }
}

/// A blob id and its file mode.
type Entry = (GitOid, i32);
type LevelEdit<'a> = (&'a [&'a str], Option<Entry>);

fn apply_level(
    repo: &git2::Repository,
    base: Option<&git2::Tree<'_>>,
    edits: &[LevelEdit<'_>],
) -> Result<Option<GitOid>, Error> {
    let mut builder = repo.treebuilder(base)?;
    let mut below: BTreeMap<&str, Vec<LevelEdit<'_>>> = BTreeMap::new();
    for (comps, blob) in edits {
        match comps {
            [name] => match blob {
                Some((id, mode)) => {
                    builder.insert(name, *id, *mode)?;
                }
                None => {
                    if builder.get(name)?.is_some() {
                        builder.remove(name)?;
                    }
                }
            },
            [name, rest @ ..] => below.entry(name).or_default().push((rest, *blob)),
            [] => {}
        }
    }
    for (name, sub) in below {
        let existing = builder
            .get(name)?
            .filter(|e| e.kind() == Some(ObjectType::Tree))
            .map(|e| e.id());
        let subtree = match existing {
            Some(id) => Some(repo.find_tree(id)?),
            None => None,
        };
        if subtree.is_none() && sub.iter().all(|(_, b)| b.is_none()) {
            continue;
        }
        match apply_level(repo, subtree.as_ref(), &sub)? {
            Some(id) => {
                builder.insert(name, id, 0o040000)?;
            }
            None => {
                if builder.get(name)?.is_some() {
                    builder.remove(name)?;
                }
            }
        }
    }
    if builder.is_empty() {
        return Ok(None);
    }
    Ok(Some(builder.write()?))
}

/// Writes a copy of commit `id` with `tree` and `parents`; the same id
/// when nothing changes.
pub fn rewrite_commit(
    repo: &git2::Repository,
    id: GitOid,
    tree: GitOid,
    parents: &[GitOid],
) -> Result<GitOid, Error> {
    let odb = repo.odb()?;
    let obj = odb.read(id)?;
    let data = obj.data();
    let (header, message) = split_header(data);
    let commit = repo.find_commit(id)?;
    if commit.tree_id() == tree && commit.parent_ids().eq(parents.iter().copied()) {
        return Ok(id);
    }
    let mut out = Vec::with_capacity(data.len());
    out.extend_from_slice(format!("tree {tree}\n").as_bytes());
    for p in parents {
        out.extend_from_slice(format!("parent {p}\n").as_bytes());
    }
    let mut skipping = false;
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b" ") {
            if !skipping {
                out.extend_from_slice(line);
            }
            continue;
        }
        skipping = line.starts_with(b"gpgsig");
        if skipping || line.starts_with(b"tree ") || line.starts_with(b"parent ") {
            continue;
        }
        out.extend_from_slice(line);
    }
    out.extend_from_slice(message);
    Ok(odb.write(ObjectType::Commit, &out)?)
}

/// A commit's or tag's raw bytes split after the header's last line (its
/// newline kept in the header): the message, blank line first, is the rest.
fn split_header(data: &[u8]) -> (&[u8], &[u8]) {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or(data.len(), |i| i + 1);
    data.split_at(split)
}

/// Writes a copy of annotated tag `id` pointing at `target` (its
/// signature, which would no longer match, is dropped).
pub fn rewrite_tag(repo: &git2::Repository, id: GitOid, target: GitOid) -> Result<GitOid, Error> {
    let odb = repo.odb()?;
    let obj = odb.read(id)?;
    let data = obj.data();
    let (header, message) = split_header(data);
    let mut out = Vec::with_capacity(data.len());
    for line in header.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"object ") {
            out.extend_from_slice(format!("object {target}\n").as_bytes());
        } else {
            out.extend_from_slice(line);
        }
    }
    // A tag's signature sits at the end of its message.
    let msg = match find(message, b"-----BEGIN PGP SIGNATURE-----")
        .or_else(|| find(message, b"-----BEGIN SSH SIGNATURE-----"))
    {
        Some(i) => &message[..i],
        None => message,
    };
    out.extend_from_slice(msg);
    Ok(odb.write(ObjectType::Tag, &out)?)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_commits_keep_their_id_and_changed_ones_keep_their_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let blob = repo.blob(b"hello\n").unwrap();
        let tree = apply(&repo, None, &[Edit::put("a/b.txt", blob)]).unwrap();
        let sig =
            git2::Signature::new("A U Thor", "a@example.com", &git2::Time::new(1, 60)).unwrap();
        let t = repo.find_tree(tree).unwrap();
        let c = repo
            .commit(None, &sig, &sig, "msg\n\nbody\n", &t, &[])
            .unwrap();
        assert_eq!(rewrite_commit(&repo, c, tree, &[]).unwrap(), c);
        let tree2 = apply(
            &repo,
            Some(&t),
            &[Edit::delete("a/b.txt"), Edit::put("c", blob)],
        )
        .unwrap();
        let t2 = repo.find_tree(tree2).unwrap();
        assert!(
            t2.get_path(std::path::Path::new("a")).is_err(),
            "empty dirs go"
        );
        let c2 = rewrite_commit(&repo, c, tree2, &[]).unwrap();
        let new = repo.find_commit(c2).unwrap();
        assert_eq!(new.tree_id(), tree2);
        assert_eq!(new.message_bytes(), b"msg\n\nbody\n");
        assert_eq!(new.author().when().seconds(), 1);
        assert_eq!(new.author().when().offset_minutes(), 60);
    }
}
