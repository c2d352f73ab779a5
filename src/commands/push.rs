//! `git dvc push [<remote>] [<ref>…] [--all]`.

use anyhow::Result;

use crate::cli::PushArgs;
use crate::context::Ctx;
use crate::sync::{finish, open_transfer, split_remote, without_imports};
use crate::worktree::objects_for;

/// Runs `git dvc push`.
pub fn run(args: &PushArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let (remote, refs) = split_remote(&ctx, &args.args)?;
    let revs: Vec<String> = if refs.is_empty() {
        vec!["HEAD".into()]
    } else {
        refs.to_vec()
    };
    let files = without_imports(&ctx, objects_for(&ctx.repo, refs, args.all)?, &revs);
    let transfer = open_transfer(&ctx, remote)?;
    let pointers: Vec<_> = files.iter().map(|f| f.pointer).collect();
    let report = transfer.upload(&pointers);
    finish(&report, &files, "Uploaded", transfer.remote_name())
}
