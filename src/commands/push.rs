//! `git dvc push [<remote>] [<ref>…] [--all]`.

use anyhow::Result;

use super::Ctx;
use super::transfer_common::{finish, open_transfer, split_remote};
use crate::cli::PushArgs;
use crate::tracked::{self, TrackedFile};

/// The objects a push covers: HEAD's tree, the given refs' trees, or with
/// `--all` everything reachable from every ref.
pub fn objects_for(ctx: &Ctx, refs: &[String], all: bool) -> Result<Vec<TrackedFile>> {
    if all {
        return Ok(tracked::in_history(&ctx.repo, &["--all".to_string()], &[])?);
    }
    if refs.is_empty() {
        return Ok(tracked::in_rev(&ctx.repo, "HEAD")?);
    }
    let mut files = Vec::new();
    for r in refs {
        files.extend(tracked::in_rev(&ctx.repo, r)?);
    }
    Ok(files)
}

/// Runs `git dvc push`.
pub fn run(args: &PushArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let (remote, refs) = split_remote(&ctx, &args.args)?;
    let revs: Vec<String> = if refs.is_empty() {
        vec!["HEAD".into()]
    } else {
        refs.to_vec()
    };
    let files =
        super::transfer_common::without_imports(&ctx, objects_for(&ctx, refs, args.all)?, &revs);
    let transfer = open_transfer(&ctx, remote)?;
    let pointers: Vec<_> = files.iter().map(|f| f.pointer).collect();
    let report = transfer.upload(&pointers);
    finish(&report, &files, "Uploaded", transfer.remote_name())
}
