//! Routes: a clone of a project that imported data fetches each import's
//! files from the import's source remote (as DVC does), read from the
//! `*.import.toml` records of the commit being checked out.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{ObjectType, TreeWalkMode, TreeWalkResult};

use super::{dvc, record};
use crate::config::RemoteConfig;

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
                        out.push(Route {
                            prefix: format!("{dir}{stem}"),
                            remote: rc,
                            md5,
                        });
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
#[derive(Debug, Clone)]
pub struct Route {
    /// The import's output, repo-relative: files at or below it route here.
    pub prefix: String,
    /// The source's remote, as the record names it.
    pub remote: RemoteConfig,
    /// For a DVC source: each object's md5, by sha256 (empty otherwise).
    pub md5: BTreeMap<crate::oid::Oid, String>,
}

pub use crate::transfer::delay::OpenRoute;

/// Opens the remotes of `routes`; ones that cannot be opened are skipped
/// with a warning (their files stay pointers).
pub fn open_routes(routes: Vec<Route>, base: Option<&Path>) -> Vec<OpenRoute> {
    use std::sync::Arc;
    routes
        .into_iter()
        .filter_map(
            |Route {
                 prefix,
                 remote,
                 md5,
             }| {
                match crate::remote::open(&format!("import:{prefix}"), &remote, base) {
                    Ok(r) if md5.is_empty() => Some(OpenRoute { prefix, remote: r }),
                    Ok(r) => Some(OpenRoute {
                        prefix,
                        remote: Arc::new(dvc::DvcObjects::new(r, md5))
                            as Arc<dyn crate::remote::Remote>,
                    }),
                    Err(e) => {
                        crate::ui::warn(&e.to_string());
                        None
                    }
                }
            },
        )
        .collect()
}
