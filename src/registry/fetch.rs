//! What get, import and update share: reading a request from a source
//! (git-dvc or DVC) into a plan, and fetching the objects it needs into a
//! cache, every one verified.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anyhow::{Result, anyhow};

use super::error::RegistryError;
use super::source::Source;
use super::{Entry, EntryKind, Plan, data_pointers, dvc};
use crate::cache::Cache;
use crate::error::GitContext;
use crate::pointer::Pointer;
use crate::registry;
use crate::remote::{self, Remote, dir::DirRemote};
use crate::transfer::Transfer;

/// Downloads the plan's data objects the cache lacks: first from the
/// source's own cache when it is on this machine, then from the source's
/// remote. Every object is verified.
pub fn fetch_plan(plan: &Plan, source: &Source, cache: &Cache, jobs: usize) -> Result<()> {
    let mut wanted: Vec<_> = data_pointers(plan)
        .into_iter()
        .filter(|p| !cache.contains(&p.oid))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    // A big file is written from the copy checked as it came in, when the
    // caller's cache keeps such twins.
    for p in wanted.iter().filter(|p| p.size >= super::output::BIG_FILE) {
        cache.want_twin(&p.oid);
    }
    if let Some(root) = &source.local_root {
        let dir = root.join(".git").join("dvc").join("cache");
        if dir.is_dir() {
            let local = remote::read_only(Arc::new(DirRemote::new("source cache", &dir)));
            let t = Transfer::new(local, cache.clone(), jobs)?;
            let _ = t.download(&wanted);
            wanted.retain(|p| !cache.contains(&p.oid));
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let Some((name, rc)) = &plan.remote else {
        return Err(RegistryError::NoRemote {
            count: wanted.len(),
            url: source.url.clone(),
        }
        .into());
    };
    let remote = remote::open(name, rc, source.local_root.as_deref())?;
    let t = Transfer::new(remote, cache.clone(), jobs)?;
    let report = t.download(&wanted);
    if let Some((oid, e)) = report.failed.first() {
        return Err(anyhow!("{e}")).map_err(|e| {
            e.context(format!(
                "{} of {} objects could not be fetched from the source's remote, first {oid}",
                report.failed.len(),
                wanted.len()
            ))
        });
    }
    Ok(())
}

/// Reads the request at `commit` — from a git-dvc source or a DVC project —
/// and fetches every object it needs into `cache`. DVC objects are
/// verified by md5 and come back as ordinary data entries under their
/// sha256; the returned map gives each file's md5 for the record.
pub fn prepare(
    src: &Source,
    commit: &str,
    path: &str,
    cache: &Cache,
    jobs: usize,
) -> Result<(Plan, BTreeMap<String, String>)> {
    let tree = src
        .git
        .revparse_single(commit)
        .and_then(|o| o.peel_to_tree())
        .at(format!("commit {commit} of {}", src.url))?;
    if !dvc::is_project(&tree) {
        let plan = registry::plan(&src.git, commit, path, src.local_root.as_deref())?;
        fetch_plan(&plan, src, cache, jobs)?;
        return Ok((plan, BTreeMap::new()));
    }
    let outs = dvc::outputs(&src.git, &tree)?;
    let rc = dvc::remote(&src.git, &tree, src.local_root.as_deref())?;
    let remote: Option<Arc<dyn Remote>> = match &rc {
        Some((name, rc)) => Some(remote::open(name, rc, src.local_root.as_deref())?),
        None => None,
    };
    let need_remote = || {
        remote.clone().ok_or_else(|| {
            anyhow::Error::from(RegistryError::NoDvcRemote {
                url: src.url.clone(),
            })
        })
    };
    let (mut entries, is_dir) = dvc_entries(src, &tree, commit, path, &outs, &need_remote, cache)?;
    let got = fetch_dvc_objects(&entries, &need_remote, cache, jobs)?;
    let mut md5_of = BTreeMap::new();
    for e in &mut entries {
        if let EntryKind::Dvc { md5 } = &e.kind {
            md5_of.insert(e.rel.clone(), md5.clone());
            e.kind = EntryKind::Data(got[md5]);
        }
    }
    entries.sort_by(|a, b| a.rel.cmp(&b.rel));
    entries.dedup_by(|a, b| a.rel == b.rel);
    Ok((
        Plan {
            commit: commit.to_string(),
            is_dir,
            entries,
            remote: rc,
        },
        md5_of,
    ))
}

/// The remote a DVC source's objects come from, or why there is none.
type NeedRemote<'a> = dyn Fn() -> Result<Arc<dyn Remote>> + 'a;

/// The entries a request names in a DVC project: the outputs it is, lies
/// in or contains (directories listed from their `.dir` manifests), and
/// the plain Git files beside them; and whether the request is a
/// directory.
fn dvc_entries(
    src: &Source,
    tree: &git2::Tree<'_>,
    commit: &str,
    path: &str,
    outs: &[dvc::DvcOut],
    need_remote: &NeedRemote<'_>,
    cache: &Cache,
) -> Result<(Vec<Entry>, bool)> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut is_dir = true;
    let inside = |p: &str, dir: &str| {
        p.len() > dir.len() && p.starts_with(dir) && p.as_bytes()[dir.len()] == b'/'
    };
    for out in outs {
        // The request is the output, lies inside it, or contains it.
        let (base, within) = if out.path == path {
            (String::new(), String::new())
        } else if inside(path, &out.path) && out.is_dir() {
            (String::new(), path[out.path.len() + 1..].to_string())
        } else if inside(&out.path, path) {
            (out.path[path.len() + 1..].to_string(), String::new())
        } else {
            continue;
        };
        let join = |a: &str, b: &str| {
            if a.is_empty() {
                b.to_string()
            } else if b.is_empty() {
                a.to_string()
            } else {
                format!("{a}/{b}")
            }
        };
        if out.is_dir() {
            let r = need_remote()?;
            let listing = crate::runtime::block_on(dvc::manifest(r.as_ref(), &out.md5, cache))?;
            for (rel, md5) in listing {
                let rel = if within.is_empty() {
                    rel
                } else if rel == within {
                    String::new()
                } else if let Some(rest) = rel.strip_prefix(&format!("{within}/")) {
                    rest.to_string()
                } else {
                    continue;
                };
                entries.push(Entry {
                    rel: join(&base, &rel),
                    kind: EntryKind::Dvc { md5 },
                });
            }
        } else {
            if out.path == path {
                is_dir = false;
            }
            entries.push(Entry {
                rel: base,
                kind: EntryKind::Dvc {
                    md5: out.md5.clone(),
                },
            });
        }
    }
    // Plain Git files beside the outputs (not DVC's own metafiles).
    if let Ok(e) = tree.get_path(std::path::Path::new(path)) {
        if entries.is_empty() && e.kind() == Some(git2::ObjectType::Blob) {
            is_dir = false;
        }
        let sub = registry::plan(&src.git, commit, path, src.local_root.as_deref())?;
        for e in sub.entries {
            let name = e.rel.rsplit('/').next().unwrap_or(&e.rel);
            if !name.ends_with(".dvc") && name != ".gitignore" && name != "dvc.lock" {
                entries.push(e);
            }
        }
    }
    if entries.is_empty() {
        return Err(RegistryError::NoSuchDvcPath {
            commit: commit[..10.min(commit.len())].to_string(),
            path: path.to_string(),
        }
        .into());
    }
    if is_dir && entries.len() == 1 && entries[0].rel.is_empty() {
        is_dir = false;
    }
    Ok((entries, is_dir))
}

/// Fetches every DVC object the entries name, once each: verified by md5,
/// stored under sha256. Returns each object's pointer by md5.
fn fetch_dvc_objects(
    entries: &[Entry],
    need_remote: &NeedRemote<'_>,
    cache: &Cache,
    jobs: usize,
) -> Result<HashMap<String, Pointer>> {
    let mut md5s: Vec<String> = entries
        .iter()
        .filter_map(|e| match &e.kind {
            EntryKind::Dvc { md5 } => Some(md5.clone()),
            _ => None,
        })
        .collect();
    md5s.sort();
    md5s.dedup();
    let mut got: HashMap<String, Pointer> = HashMap::new();
    if !md5s.is_empty() {
        let r = need_remote()?;
        // Each object is one streamed GET (`get_raw`), whatever its size.
        let one_request = |_: &String| r.slots_for(0);
        let results = crate::transfer::each(jobs, md5s, false, one_request, |md5| {
            let (r, cache) = (r.clone(), cache.clone());
            async move {
                crate::transfer::with_retries(|| dvc::fetch_md5(r.as_ref(), &md5, None, &cache))
                    .await
            }
        });
        for (md5, res) in results {
            let (oid, size) = res?;
            if size == 0 {
                return Err(RegistryError::EmptyDvcObject { md5 }.into());
            }
            got.insert(md5, Pointer::new(oid, size));
        }
    }
    Ok(got)
}

/// The default output: the last component of the path asked for.
pub fn default_out(path: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(path.rsplit('/').next().unwrap_or(path))
}

/// The request as the user gave it, checked and normalised
/// ([`super::request_path`]), and where its copy goes: `out`, or by default
/// the last component of the path.
pub fn request(
    path: &str,
    out: Option<&std::path::Path>,
) -> Result<(String, std::path::PathBuf), crate::error::Error> {
    let path = super::request_path(path)?;
    let out = out.map_or_else(|| default_out(&path), std::path::Path::to_path_buf);
    Ok((path, out))
}
