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
pub mod imports;
pub mod output;
pub mod plan;
pub mod record;
pub mod routes;
pub mod source;

pub use output::{check_output, entry_path, write_output};
pub use plan::plan;
pub use routes::{OpenRoute, Route, import_routes, open_routes};

use std::collections::BTreeMap;
use std::path::{Component, Path};

use self::error::RegistryError;
use crate::config::RemoteConfig;
use crate::error::Error;
use crate::pointer::Pointer;

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
