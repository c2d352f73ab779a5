//! `git dvc get <repo> <path> [-o <out>] [--rev <rev>]`: download a file or
//! directory from a registry, anywhere, even outside a repository.

use std::path::PathBuf;

use anyhow::{Result, bail};

use super::registry_common::prepare;
use crate::cache::Cache;
use crate::cli::GetArgs;
use crate::registry::{self, source};
use crate::repo::Repo;
use crate::ui;

/// The default output: the last component of the path asked for.
pub fn default_out(path: &str) -> PathBuf {
    PathBuf::from(path.rsplit('/').next().unwrap_or(path))
}

/// Runs `git dvc get`.
pub fn run(args: &GetArgs) -> Result<()> {
    let repo = Repo::discover().ok();
    let path = registry::request_path(&args.path)?;
    let out = args.out.clone().unwrap_or_else(|| default_out(&path));
    if std::fs::symlink_metadata(&out).is_ok() {
        bail!(
            "output already exists ({}); remove it or choose another with -o",
            out.display()
        );
    }
    let src = source::Source::open(&args.repo, &source::cache_root(repo.as_ref()))?;
    let mut fetched = false;
    let resolved = src.resolve(args.rev.as_deref(), &mut fetched)?;
    // Objects go to a scratch cache beside the output (same filesystem).
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(parent)?;
    let scratch = tempfile::Builder::new()
        .prefix(".git-dvc-get-")
        .tempdir_in(parent)?;
    let cache = Cache::new(scratch.path());
    let jobs = crate::config::Config::load(None)
        .map(|c| c.jobs)
        .unwrap_or(crate::config::DEFAULT_JOBS);
    let (plan, _) = prepare(&src, &resolved.commit, &path, &cache, jobs)?;
    registry::write_output(&src.git, &plan, &cache, &out)?;
    ui::info(&format!(
        "Downloaded {} ({} file{}) from {} at {}.",
        out.display(),
        plan.entries.len(),
        if plan.entries.len() == 1 { "" } else { "s" },
        src.url,
        &resolved.commit[..10]
    ));
    Ok(())
}
