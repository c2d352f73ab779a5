//! `git dvc fetch [<remote>] [<ref>…] [--all] [-- <path>…]` and
//! `git dvc pull [<remote>] [-- <path>…]`.

use anyhow::Result;

use super::checkout::{pathspecs, print_report};
use super::transfer_common::{finish, open_transfer, split_remote};
use super::{Ctx, Exit};
use crate::checkout::{self, matches_pathspec};
use crate::cli::{FetchArgs, PullArgs};
use crate::tracked::{self, TrackedFile};

fn download(ctx: &Ctx, remote: Option<&str>, files: &[TrackedFile]) -> Result<()> {
    let missing: Vec<_> = files
        .iter()
        .filter(|f| !ctx.cache.contains(&f.pointer.oid))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let transfer = open_transfer(ctx, remote)?;
    let pointers: Vec<_> = missing.iter().map(|f| f.pointer).collect();
    let report = transfer.download(&pointers);
    finish(&report, &missing, "Downloaded", transfer.remote_name())
}

/// Runs `git dvc fetch`.
pub fn fetch(args: &FetchArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let (remote, refs) = split_remote(&ctx, &args.args);
    let specs = pathspecs(&ctx, &args.paths)?;
    let mut files = super::push::objects_for(&ctx, refs, args.all)?;
    files.retain(|f| matches_pathspec(&f.path, &specs));
    download(&ctx, remote, &files)
}

/// Runs `git dvc pull`: fetch what the index names, then check it out.
pub fn pull(args: &PullArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let specs = pathspecs(&ctx, &args.paths)?;
    let mut files = tracked::in_index(&ctx.repo)?;
    files.retain(|f| matches_pathspec(&f.path, &specs));
    let fetched = download(&ctx, args.remote.as_deref(), &files);
    let pointer_files = checkout::pointer_files(&ctx.repo, &specs)?;
    let report = checkout::materialize(&ctx.repo, &ctx.cache, &pointer_files)?;
    print_report(&report);
    fetched?;
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Exit { code: 1 }.into())
    }
}
