//! `git dvc hook <name>`: the work behind the hook scripts.

use std::io::Read;

use anyhow::{Result, bail};

use super::Ctx;
use crate::checkout;
use crate::cli::HookArgs;
use crate::ui;

/// Runs a hook.
pub fn hook(args: &HookArgs) -> Result<()> {
    match args.name.as_str() {
        "post-checkout" | "post-merge" => post_checkout(),
        "pre-push" => pre_push(args),
        other => bail!("unknown hook ({other})"),
    }
}

/// True when smudging is switched off (env or a `--skip-smudge` install).
fn smudge_skipped(ctx: &Ctx) -> bool {
    super::filter::skip_smudge_env()
        || ctx
            .repo
            .git
            .config()
            .ok()
            .and_then(|c| c.get_string("filter.dvc.process").ok())
            .is_some_and(|v| v.split_whitespace().any(|w| w == "--skip"))
}

/// After a checkout or merge: materialize pointer files whose objects are
/// in the cache (those the smudge filter could not fill). Quiet about the
/// rest: the filter already warned once.
fn post_checkout() -> Result<()> {
    let ctx = Ctx::open()?;
    if smudge_skipped(&ctx) || ctx.repo.workdir.is_none() {
        return Ok(());
    }
    // Mid-rebase, every step checks out; the final one is enough.
    if ["rebase-merge", "rebase-apply"]
        .iter()
        .any(|d| ctx.repo.git_dir.join(d).exists())
    {
        return Ok(());
    }
    let files: Vec<_> = checkout::pointer_files(&ctx.repo, &[])?
        .into_iter()
        .filter(|f| ctx.cache.contains(&f.pointer.oid))
        .collect();
    let report = checkout::materialize(&ctx.repo, &ctx.cache, &files)?;
    for (path, why) in &report.failed {
        ui::warn(&format!("{path} left as a pointer: {why}"));
    }
    Ok(())
}

fn pre_push(_args: &HookArgs) -> Result<()> {
    // Git waits for us to read the ref lines; uploading arrives with the
    // transfer engine.
    let mut lines = String::new();
    std::io::stdin().read_to_string(&mut lines)?;
    Ok(())
}
