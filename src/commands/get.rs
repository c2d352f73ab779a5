//! `git dvc get <repo> <path> [-o <out>] [--rev <rev>]`: download a file or
//! directory from a registry, anywhere, even outside a repository.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cache::Cache;
use crate::cli::GetArgs;
use crate::fsutil::Confined;
use crate::registry::fetch::{prepare, request};
use crate::registry::{self, source};
use crate::repo::Repo;
use crate::ui;

/// Where the output goes, as a trusted directory and a path below it.
/// Inside a worktree, the trusted directory is its root, so a symlink
/// committed on the way (`imp/sub -> /somewhere`) is refused; elsewhere it
/// is the directory the user named in `-o`, followed as `cp` would.
fn confine(repo: Option<&Repo>, out: &Path) -> Result<(Confined, PathBuf)> {
    if let Some(r) = repo {
        if let (Ok(root), Ok(rel)) = (r.workdir(), r.repo_relative(out)) {
            if !rel.is_empty() {
                return Ok((Confined::new(root, ""), PathBuf::from(rel)));
            }
        }
    }
    let Some(name) = out.file_name() else {
        bail!("cannot write a download to {}", out.display());
    };
    let parent = out.parent().unwrap_or(Path::new(""));
    let dir = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok((Confined::new(dir, parent), PathBuf::from(name)))
}

/// Runs `git dvc get`.
pub fn run(args: &GetArgs) -> Result<()> {
    let repo = Repo::discover().ok();
    let (path, out) = request(&args.source.path, args.source.out.as_deref())?;
    if std::fs::symlink_metadata(&out).is_ok() {
        bail!(
            "output already exists ({}); remove it or choose another with -o",
            out.display()
        );
    }
    let (root, out_rel) = confine(repo.as_ref(), &out)?;
    root.check(&out_rel, "write")?;
    let src = source::Source::open(&args.source.repo, &source::cache_root(repo.as_ref()))?;
    let mut fetched = false;
    let resolved = src.resolve(args.rev.as_deref(), &mut fetched)?;
    // Objects go to a scratch cache beside the output (same filesystem),
    // in a directory already checked like the output itself.
    let dest = root.create_parents(&out_rel)?;
    let parent = dest.parent().unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new()
        .prefix(".git-dvc-get-")
        .tempdir_in(parent)?;
    // Big files are written from their downloads' twins, not copied out of
    // the scratch cache and hashed again.
    let cache = Cache::new(scratch.path()).with_twins();
    let jobs = crate::config::Config::load(None)
        .map(|c| c.jobs)
        .unwrap_or(crate::config::DEFAULT_JOBS);
    let (plan, _) = prepare(&src, &resolved.commit, &path, &cache, jobs)?;
    registry::write_output(&src.git, &plan, &cache, &root, &out_rel)?;
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
