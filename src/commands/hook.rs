//! `git dvc hook <name>`: the work behind the hook scripts.

use std::io::Read;

use anyhow::{Result, bail};

use crate::checkout;
use crate::cli::HookArgs;
use crate::context::Ctx;
use crate::sync::{finish, open_transfer, pushed_files, without_imports};
use crate::ui;

/// Runs a hook.
pub fn hook(args: &HookArgs) -> Result<()> {
    match args.name.as_str() {
        "post-checkout" | "post-merge" => post_checkout(),
        "pre-push" => pre_push(args),
        "pre-commit" => {
            // A warning, never a refusal: the commit is the user's call.
            if let Err(e) = pre_commit() {
                ui::warn(&format!("{e:#}"));
            }
            Ok(())
        }
        other => bail!("unknown hook ({other})"),
    }
}

/// True when smudging is switched off (env or a `--skip-smudge` install).
fn smudge_skipped(ctx: &Ctx) -> bool {
    crate::filter::skip_smudge_env()
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
    // The filter of this checkout writes what it left as pointers once Git
    // is done, and this hook's job with it.
    if checkout::Marker::pending(&ctx.repo.git_dir) {
        return Ok(());
    }
    let files: Vec<_> = checkout::pointer_files(&ctx.repo, &[])?
        .into_iter()
        .filter(|f| ctx.cache.contains(&f.pointer.oid))
        .collect();
    let report = checkout::materialize(&ctx.repo, &ctx.cache, &files, ctx.config.direct_size)?;
    for (path, why) in &report.failed {
        ui::warn(&checkout::left_as_pointer(path, why));
    }
    Ok(())
}

/// Before `git commit`: say so when a pointer is about to be committed as a
/// plain file because no pattern tracks its (new) path, and how to fix it.
fn pre_commit() -> Result<()> {
    let repo = crate::repo::Repo::discover()?;
    let added = crate::tracked::staged_additions(&repo)?;
    if added.is_empty() {
        return Ok(());
    }
    for f in crate::tracked::outside_patterns(&repo, &added)? {
        ui::warn(&stray_pointer_advice(&f.path));
    }
    Ok(())
}

/// What to say about a pointer at a path no pattern tracks.
pub fn stray_pointer_advice(path: &str) -> String {
    format!(
        "{path} holds a git-dvc pointer, but no tracked pattern covers that path (moved or copied outside `git dvc track` patterns?), so Git records the pointer text as a plain file; \
         track it with `git dvc track '{path}'` and `git add '{path}'`, or move it back under a tracked name with `git mv`"
    )
}

/// Before `git push` sends refs: upload every object the pushed commits
/// name that the remote's tracking refs do not already cover. A failed
/// upload fails the hook, and Git then pushes nothing.
fn pre_push(args: &HookArgs) -> Result<()> {
    let mut lines = String::new();
    std::io::stdin().read_to_string(&mut lines)?;
    if crate::env_flag("GIT_DVC_SKIP_PUSH") {
        return Ok(());
    }
    let ctx = Ctx::open()?;
    let git_remote = args.args.first().cloned().unwrap_or_default();
    let (files, revs) = pushed_files(&ctx, &git_remote, &lines)?;
    let files = without_imports(&ctx, files, &revs);
    if files.is_empty() {
        return Ok(());
    }
    if ctx.config.remote(None).is_err() {
        anyhow::bail!(
            "the pushed commits name {} data objects but no git-dvc remote is configured; add one with `git dvc remote add -d <name> <url>` (or push with GIT_DVC_SKIP_PUSH=1)",
            files.len()
        );
    }
    let transfer = open_transfer(&ctx, None)?;
    let pointers: Vec<_> = files.iter().map(|f| f.pointer).collect();
    let report = transfer.upload(&pointers);
    finish(&report, &files, "Uploaded", transfer.remote_name())
}
