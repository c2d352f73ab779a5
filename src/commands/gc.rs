//! `git dvc gc`: delete cache (or remote) objects nothing kept refers to.
//!
//! Always kept: HEAD, the index, the worktree, stashes and the HEADs of
//! other worktrees (git-lfs's users lost staged and stashed data to
//! narrower keep sets). `--all-branches`, `--all-tags`, `--all-commits`
//! keep more. An object no remote is known to hold is never deleted
//! without `--force`: gc must not destroy the last copy of anything.

use anyhow::Result;

use crate::cli::GcArgs;
use crate::context::Ctx;
use crate::gc::{KeepAlso, Sweep, keep_set, sweep_cache, sweep_remote};
use crate::sync::open_transfer;
use crate::ui::{self, human_size};

/// Runs `git dvc gc`.
pub fn run(args: &GcArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let keep = keep_set(
        &ctx.repo,
        &KeepAlso {
            all_branches: args.all_branches,
            all_tags: args.all_tags,
            all_commits: args.all_commits,
        },
    )?;
    let how = Sweep {
        force: args.force,
        dry_run: args.dry_run,
    };
    let verb = if args.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    match &args.remote {
        None => {
            let swept = sweep_cache(&ctx, &keep, how)?;
            ui::info(&format!(
                "{verb} {} object{} ({}) from the cache.",
                swept.removed,
                plural(swept.removed),
                human_size(swept.bytes)
            ));
            report_temps(swept.temps, "the cache");
            if swept.kept > 0 {
                ui::warn(&format!(
                    "kept {} unused object{} ({}) that no remote is known to hold; push them first, or use --force to delete them anyway",
                    swept.kept,
                    plural(swept.kept),
                    human_size(swept.kept_bytes)
                ));
            }
        }
        Some(name) => {
            let transfer = open_transfer(&ctx, Some(name))?;
            let swept = sweep_remote(&ctx, &transfer, &keep, how)?;
            ui::info(&format!(
                "{verb} {} object{} from remote '{}'.",
                swept.removed,
                plural(swept.removed),
                transfer.remote_name()
            ));
            report_temps(swept.temps, &format!("remote '{}'", transfer.remote_name()));
            if swept.kept > 0 {
                ui::warn(&format!(
                    "kept {} unused object{} that only remote '{}' holds; use --force to delete them anyway",
                    swept.kept,
                    plural(swept.kept),
                    transfer.remote_name()
                ));
            }
        }
    }
    Ok(())
}

/// One line for the temp files of interrupted commands, when there were any.
fn report_temps((files, bytes): (usize, u64), from: &str) {
    if files > 0 {
        ui::info(&format!(
            "Removed {files} temp file{} ({}) left by interrupted commands from {from}.",
            plural(files),
            human_size(bytes)
        ));
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
