//! What get, import and update share: opening a source, and fetching the
//! objects a plan needs into a cache.

use std::sync::Arc;

use anyhow::{Result, anyhow, bail};

use crate::cache::Cache;
use crate::registry::source::Source;
use crate::registry::{Plan, data_pointers};
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
    if let Some(root) = &source.local_root {
        let dir = root.join(".git").join("dvc").join("cache");
        if dir.is_dir() {
            let local: Arc<dyn Remote> = Arc::new(DirRemote::new("source cache", &dir, true));
            let t = Transfer::new(local, cache.clone(), jobs)?;
            let _ = t.download(&wanted);
            wanted.retain(|p| !cache.contains(&p.oid));
        }
    }
    if wanted.is_empty() {
        return Ok(());
    }
    let Some((name, rc)) = &plan.remote else {
        bail!(
            "the source names {} data objects but has no remote to fetch them from ({})",
            wanted.len(),
            source.url
        );
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
