//! Planning: what a request at a commit of a source resolves to, entry
//! by entry, every path and mode checked (no symlinks, submodules or
//! unsafe names), and the source's default remote.

use std::path::Path;

use git2::{ObjectType, TreeWalkMode, TreeWalkResult};

use super::error::RegistryError;
use super::{Entry, EntryKind, Plan, safe_rel};
use crate::config::{self, Config, RemoteConfig};
use crate::error::{Error, GitContext};
use crate::tracked::blob_pointer;

/// Reads the request `path` at `commit` of the source `repo`.
pub fn plan(
    repo: &git2::Repository,
    commit: &str,
    path: &str,
    source_root: Option<&Path>,
) -> Result<Plan, Error> {
    let tree = repo
        .revparse_single(commit)
        .and_then(|o| o.peel_to_tree())
        .map_err(|e| RegistryError::UnreadableCommit {
            commit: commit.to_string(),
            message: e.to_string(),
        })?;
    let entry = tree
        .get_path(Path::new(path))
        .map_err(|_| RegistryError::NoSuchPath {
            commit: commit.to_string(),
            path: path.to_string(),
        })?;
    let odb = repo.odb().at(repo.path().display())?;
    let mut entries = Vec::new();
    let is_dir = entry.kind() == Some(ObjectType::Tree);
    if is_dir {
        let sub = repo.find_tree(entry.id())?;
        let mut err = None;
        sub.walk(TreeWalkMode::PreOrder, |dir, e| {
            let Some(name) = e.name() else {
                err = Some(
                    RegistryError::NotUtf8(format!(
                        "{dir}{}",
                        String::from_utf8_lossy(e.name_bytes())
                    ))
                    .into(),
                );
                return TreeWalkResult::Abort;
            };
            let rel = format!("{dir}{name}");
            match e.kind() {
                Some(ObjectType::Blob) => match classify(&odb, e.id(), e.filemode(), &rel) {
                    Ok(kind) => entries.push(Entry { rel, kind }),
                    Err(x) => {
                        err = Some(x);
                        return TreeWalkResult::Abort;
                    }
                },
                Some(ObjectType::Tree) => {}
                _ => {
                    err = Some(RegistryError::Submodule(rel.clone()).into());
                    return TreeWalkResult::Abort;
                }
            }
            TreeWalkResult::Ok
        })
        .ok();
        if let Some(e) = err {
            return Err(e);
        }
    } else {
        entries.push(Entry {
            rel: String::new(),
            kind: classify(&odb, entry.id(), entry.filemode(), path)?,
        });
    }
    if is_dir {
        for e in &entries {
            safe_rel(&e.rel)?;
        }
    }
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    let remote = source_remote(repo, &tree, source_root)?;
    Ok(Plan {
        commit: commit.to_string(),
        is_dir,
        entries,
        remote,
    })
}

fn classify(odb: &git2::Odb<'_>, id: git2::Oid, mode: i32, rel: &str) -> Result<EntryKind, Error> {
    if mode == 0o120000 {
        return Err(RegistryError::Symlink(rel.to_string()).into());
    }
    Ok(match blob_pointer(odb, id) {
        Some(p) => EntryKind::Data(p),
        None => EntryKind::Blob {
            id,
            executable: mode == 0o100755,
        },
    })
}

/// The source's default remote, from its committed `.gitdvc.toml`. A
/// relative directory URL means "relative to the source", which only makes
/// sense for a source on this machine.
fn source_remote(
    repo: &git2::Repository,
    tree: &git2::Tree<'_>,
    root: Option<&Path>,
) -> Result<Option<(String, RemoteConfig)>, Error> {
    let Some(entry) = tree.get_name(config::REPO_FILE) else {
        return Ok(None);
    };
    let blob = repo.find_blob(entry.id())?;
    let text = String::from_utf8_lossy(blob.content()).into_owned();
    let cfg = Config::from_committed_text(&text, Path::new(config::REPO_FILE))?;
    let Ok((name, mut rc)) = cfg.remote(None) else {
        return Ok(None);
    };
    if let Some(url) = rc.url.clone() {
        let local = url.strip_prefix("file://").unwrap_or(&url);
        let is_dir = !url.contains("://") || url.starts_with("file://");
        if is_dir && !local.starts_with('/') {
            match root {
                Some(r) => {
                    rc.url = Some(
                        crate::repo::normalize(&r.join(local))
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
                None => {
                    return Err(RegistryError::RelativeRemote {
                        whose: "the source's",
                        name: name.clone(),
                        url: url.clone(),
                    }
                    .into());
                }
            }
        }
    }
    Ok(Some((name, rc)))
}
