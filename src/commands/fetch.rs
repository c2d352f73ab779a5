//! `git dvc fetch [<remote>] [<ref>…] [--all] [-- <path>…]` and
//! `git dvc pull [<remote>] [-- <path>…]`.

use anyhow::Result;

use crate::checkout::{self, matches_pathspec};
use crate::cli::{FetchArgs, PullArgs};
use crate::context::{Ctx, Exit};
use crate::sync::{download, pull_files, split_remote};
use crate::worktree::objects_for;

/// Runs `git dvc fetch`.
pub fn fetch(args: &FetchArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let (remote, refs) = split_remote(&ctx, &args.args)?;
    let specs = ctx.pathspecs(&args.paths)?;
    let mut files = objects_for(&ctx.repo, refs, args.all)?;
    files.retain(|f| matches_pathspec(&f.path, &specs));
    if refs.is_empty() && !args.all {
        // HEAD's data is for the worktree: not outside a sparse cone.
        let outside = crate::index::outside_cone(&ctx.repo)?;
        files.retain(|f| !outside.contains(f.path.as_bytes()));
    }
    download(&ctx, remote, &files)
}

/// Runs `git dvc pull`: fetch what HEAD and the index name, then check
/// it out.
pub fn pull(args: &PullArgs) -> Result<()> {
    let mut ctx = Ctx::open()?;
    let specs = ctx.pathspecs(&args.paths)?;
    let files = pull_files(&ctx, &specs)?;
    let pointer_files = checkout::pointer_files(&ctx.repo, &specs)?;
    // A big file about to be downloaded is written from the copy checked
    // as it came in (its twin), not copied out of the cache and hashed
    // again.
    ctx.cache = ctx.cache.with_twins();
    for f in &pointer_files {
        if f.pointer.size >= ctx.config.direct_size && !ctx.cache.contains(&f.pointer.oid) {
            ctx.cache.want_twin(&f.pointer.oid);
        }
    }
    let fetched = download(&ctx, args.remote.as_deref(), &files);
    let report = checkout::materialize(
        &ctx.repo,
        &ctx.cache,
        &pointer_files,
        ctx.config.direct_size,
    )?;
    report.print();
    fetched?;
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Exit { code: 1 }.into())
    }
}
