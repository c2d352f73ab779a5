//! `git dvc checkout [<path>…]`.

use anyhow::Result;

use crate::checkout;
use crate::cli::CheckoutArgs;
use crate::context::{Ctx, Exit};

/// Runs `git dvc checkout`.
pub fn run(args: &CheckoutArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let specs = ctx.pathspecs(&args.paths)?;
    let files = checkout::pointer_files(&ctx.repo, &specs)?;
    let report = checkout::materialize(&ctx.repo, &ctx.cache, &files, ctx.config.direct_size)?;
    report.print();
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(Exit { code: 1 }.into())
    }
}
