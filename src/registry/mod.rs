//! Data registries: reading datasets out of other repositories.
//!
//! A source is any repository `git clone` understands. It is cloned once
//! (bare) into a cache of sources and fetched again only when a rev is
//! unknown or follows a branch. At the resolved commit, pointers name the
//! objects, plain Git files are copied as they are, and the source's own
//! `.gitdvc.toml` names the remote holding the objects.
//!
//! Everything a source says is untrusted: paths are checked before any
//! byte is written, nothing lands outside the output, and every object is
//! verified against its id on download.

pub mod dvc;
pub mod error;
pub mod fetch;
pub mod record;
pub mod source;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use git2::{ObjectType, TreeWalkMode, TreeWalkResult};

use self::error::RegistryError;
use crate::cache::{self, Cache};
use crate::config::{self, Config, RemoteConfig};
use crate::error::{Error, GitContext};
use crate::fsutil::Confined;
use crate::pointer::Pointer;
use crate::tracked::blob_pointer;

/// One file of a requested dataset.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Path below the output ("" when the request is a single file).
    pub rel: String,
    /// Where its bytes come from.
    pub kind: EntryKind,
}

/// Where an entry's bytes come from.
#[derive(Debug, Clone)]
pub enum EntryKind {
    /// A git-dvc pointer: the object is fetched from the source's remote.
    Data(Pointer),
    /// A DVC object named by md5, fetched from the DVC remote.
    Dvc {
        /// md5 hex.
        md5: String,
    },
    /// A plain Git blob, copied as it is.
    Blob {
        /// The blob.
        id: git2::Oid,
        /// Mode 100755.
        executable: bool,
    },
}

/// What a request resolved to.
#[derive(Debug)]
pub struct Plan {
    /// The commit read.
    pub commit: String,
    /// True when the request named a directory.
    pub is_dir: bool,
    /// The files, sorted by path.
    pub entries: Vec<Entry>,
    /// The source's default remote at that commit, if it has one.
    pub remote: Option<(String, RemoteConfig)>,
}

/// Checks a path from a source: relative, no `..`, no empty or `.` parts.
pub fn safe_rel(rel: &str) -> Result<(), Error> {
    let bad = rel.starts_with('/')
        || rel.contains('\\')
        || rel.contains('\0')
        || Path::new(rel)
            .components()
            .any(|c| !matches!(c, Component::Normal(_)))
        || rel
            .split('/')
            .any(|c| c.is_empty() || c == "." || c == "..");
    if bad {
        return Err(RegistryError::UnsafePath(rel.to_string()).into());
    }
    Ok(())
}

/// Normalises the path the user asked for inside the source.
pub fn request_path(path: &str) -> Result<String, Error> {
    let p = path.trim_start_matches("./").trim_end_matches('/');
    if p.is_empty() {
        return Err(RegistryError::NoPath.into());
    }
    safe_rel(p)?;
    Ok(p.to_string())
}

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

/// Where entry `rel` of an output lands, relative to the same base as
/// `out` (a single-file entry is the output itself).
pub fn entry_path(out: &Path, rel: &str) -> PathBuf {
    if rel.is_empty() {
        out.to_path_buf()
    } else {
        out.join(rel)
    }
}

/// Checks, before anything is written, that every file of the plan can be
/// written at `out` below `root` without passing through a symbolic link
/// or a non-directory already there.
pub fn check_output(plan: &Plan, root: &Confined, out: &Path) -> Result<(), Error> {
    for e in &plan.entries {
        root.check(&entry_path(out, &e.rel), "write")?;
    }
    Ok(())
}

/// Writes the plan's files at `out` below `root`, reading data objects
/// from `cache` (already downloaded) and blobs from the source. Every path
/// is checked first (see [`check_output`]), so a refusal leaves nothing
/// half-written; each file appears atomically, and nothing is written
/// outside `root`.
pub fn write_output(
    repo: &git2::Repository,
    plan: &Plan,
    cache: &Cache,
    root: &Confined,
    out: &Path,
) -> Result<Vec<PathBuf>, Error> {
    check_output(plan, root, out)?;
    let mut written = Vec::new();
    for e in &plan.entries {
        let dest = root.create_parents(&entry_path(out, &e.rel))?;
        let dir = dest.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".git-dvc-")
            .tempfile_in(dir)
            .map_err(|x| Error::io("cannot create a temp file in", dir.display(), x))?;
        let mut executable = false;
        match &e.kind {
            EntryKind::Data(p) => {
                // Checked as it streams: a corrupt object fails here, is
                // quarantined, and the output never gets its bytes.
                let mut src = cache.open_verified(&p.oid, p.size)?;
                cache::copy(&mut src, tmp.as_file_mut()).map_err(|x| {
                    match cache::corruption(x) {
                        Ok(c) => Error::from(c),
                        Err(x) => Error::io("cannot write", dest.display(), x),
                    }
                })?;
            }
            EntryKind::Dvc { md5 } => {
                return Err(RegistryError::NotFetched {
                    md5: md5.clone(),
                    path: dest.display().to_string(),
                }
                .into());
            }
            EntryKind::Blob { id, executable: x } => {
                let blob = repo.find_blob(*id)?;
                tmp.write_all(blob.content())
                    .map_err(|x| Error::io("cannot write", dest.display(), x))?;
                executable = *x;
            }
        }
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(fs::Permissions::from_mode(if executable {
                0o755
            } else {
                0o644
            }));
        tmp.persist(&dest)
            .map_err(|x| Error::io("cannot write", dest.display(), x.error))?;
        written.push(dest);
    }
    Ok(written)
}

/// The data objects a plan needs.
pub fn data_pointers(plan: &Plan) -> Vec<Pointer> {
    plan.entries
        .iter()
        .filter_map(|e| match e.kind {
            EntryKind::Data(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// Files of a plan by path, with their content ids (for records/updates).
pub fn file_map(repo: &git2::Repository, plan: &Plan) -> BTreeMap<String, (String, u64)> {
    plan.entries
        .iter()
        .map(|e| {
            let (oid, size) = match &e.kind {
                EntryKind::Data(p) => (p.oid.to_hex(), p.size),
                EntryKind::Dvc { .. } => (String::new(), 0),
                EntryKind::Blob { id, .. } => {
                    let content = repo
                        .find_blob(*id)
                        .map(|b| b.content().to_vec())
                        .unwrap_or_default();
                    let (oid, size) = crate::oid::Oid::hash_reader(&content[..]).unwrap_or((
                        crate::oid::Oid::from_hex(crate::oid::Oid::EMPTY_HEX).expect("valid"),
                        0,
                    ));
                    (oid.to_hex(), size)
                }
            };
            (e.rel.clone(), (oid, size))
        })
        .collect()
}

/// Import outputs and the remotes their data comes from, from the
/// `*.import.toml` records in `tree`: a clone of a project that imported
/// data fetches it from the source's remote, as DVC does.
pub fn import_routes(repo: &git2::Repository, tree: &git2::Tree<'_>) -> Vec<Route> {
    let mut out = Vec::new();
    let _ = tree.walk(TreeWalkMode::PreOrder, |dir, e| {
        let name = e.name().unwrap_or("");
        if e.kind() == Some(ObjectType::Blob) {
            if let Some(stem) = name.strip_suffix(".import.toml") {
                // Checked like any record: an invalid one routes nothing.
                let rec = repo.find_blob(e.id()).ok().and_then(|b| {
                    record::ImportRecord::parse(
                        &String::from_utf8_lossy(b.content()),
                        Path::new(&format!("{dir}{name}")),
                    )
                    .ok()
                });
                if let Some(rec) = rec {
                    let md5: BTreeMap<crate::oid::Oid, String> = rec
                        .files
                        .values()
                        .filter_map(|f| {
                            let oid = crate::oid::Oid::from_hex(f.oid.strip_prefix("sha256:")?)?;
                            Some((oid, f.md5.clone()?))
                        })
                        .collect();
                    if let Some(rc) = rec.remote {
                        out.push((format!("{dir}{stem}"), rc, md5));
                    }
                }
            }
        }
        TreeWalkResult::Ok
    });
    out
}

/// An import output, its source's remote, and (for a DVC source) the md5
/// of each object by sha256.
pub type Route = (String, RemoteConfig, BTreeMap<crate::oid::Oid, String>);

/// Opens the remotes of `routes`; ones that cannot be opened are skipped
/// with a warning (their files stay pointers).
pub fn open_routes(
    routes: Vec<Route>,
    base: Option<&Path>,
) -> Vec<(String, std::sync::Arc<dyn crate::remote::Remote>)> {
    use std::sync::Arc;
    routes
        .into_iter()
        .filter_map(|(prefix, rc, md5)| {
            match crate::remote::open(&format!("import:{prefix}"), &rc, base) {
                Ok(r) if md5.is_empty() => Some((prefix, r)),
                Ok(r) => Some((
                    prefix,
                    Arc::new(dvc::DvcObjects::new(r, md5)) as Arc<dyn crate::remote::Remote>,
                )),
                Err(e) => {
                    crate::ui::warn(&e.to_string());
                    None
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_paths_are_refused() {
        for bad in [
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/./b",
            "a\\b",
            "",
        ] {
            assert!(safe_rel(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["a", "a/b.txt", "dir/sub/file name.bin", "..data"] {
            assert!(safe_rel(good).is_ok(), "{good:?} refused");
        }
    }
}
