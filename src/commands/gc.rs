//! `git dvc gc`: delete cache (or remote) objects nothing kept refers to.
//!
//! Always kept: HEAD, the index, the worktree, stashes and the HEADs of
//! other worktrees (git-lfs's users lost staged and stashed data to
//! narrower keep sets). `--all-branches`, `--all-tags`, `--all-commits`
//! keep more. An object no remote is known to hold is never deleted
//! without `--force`: gc must not destroy the last copy of anything.

use std::collections::HashSet;

use anyhow::Result;

use crate::cli::GcArgs;
use crate::context::Ctx;
use crate::gc::{KeepAlso, held_elsewhere, keep_set};
use crate::oid::Oid;
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
    let verb = if args.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    match &args.remote {
        None => {
            let unused = unused(ctx.cache.list()?, &keep);
            let held = if args.force {
                HashSet::new()
            } else {
                held_elsewhere(&ctx, &unused, None)
            };
            let (mut removed, mut bytes, mut kept, mut kept_bytes) = (0usize, 0u64, 0usize, 0u64);
            for oid in unused {
                let size = std::fs::metadata(ctx.cache.object_path(&oid))
                    .map(|m| m.len())
                    .unwrap_or(0);
                if !args.force && !held.contains(&oid) {
                    kept += 1;
                    kept_bytes += size;
                    continue;
                }
                if !args.dry_run {
                    ctx.cache.remove(&oid)?;
                }
                ui::verbose(&format!("{verb} {oid}"));
                removed += 1;
                bytes += size;
            }
            ui::info(&format!(
                "{verb} {removed} object{} ({}) from the cache.",
                plural(removed),
                human_size(bytes)
            ));
            if !args.dry_run {
                report_temps(ctx.cache.remove_stale_temps()?, "the cache");
            }
            if kept > 0 {
                ui::warn(&format!(
                    "kept {kept} unused object{} ({}) that no remote is known to hold; push them first, or use --force to delete them anyway",
                    plural(kept),
                    human_size(kept_bytes)
                ));
            }
        }
        Some(name) => {
            let transfer = open_transfer(&ctx, Some(name))?;
            let unused = unused(transfer.list()?, &keep);
            // The last copy is the remote's unless the cache or another
            // remote still has the object.
            let held = if args.force {
                HashSet::new()
            } else {
                let mut h = held_elsewhere(&ctx, &unused, Some(transfer.remote_name()));
                h.extend(unused.iter().filter(|o| ctx.cache.contains(o)).copied());
                h
            };
            let (mut removed, mut kept) = (0usize, 0usize);
            for oid in &unused {
                if !args.force && !held.contains(oid) {
                    kept += 1;
                    continue;
                }
                if !args.dry_run {
                    transfer.delete(oid)?;
                }
                removed += 1;
            }
            ui::info(&format!(
                "{verb} {removed} object{} from remote '{}'.",
                plural(removed),
                transfer.remote_name()
            ));
            if !args.dry_run {
                let temps = transfer.remove_stale_temps()?;
                report_temps(temps, &format!("remote '{}'", transfer.remote_name()));
            }
            if kept > 0 {
                ui::warn(&format!(
                    "kept {kept} unused object{} that only remote '{}' holds; use --force to delete them anyway",
                    plural(kept),
                    transfer.remote_name()
                ));
            }
        }
    }
    Ok(())
}

/// The objects of `all` that nothing kept refers to.
fn unused(all: Vec<Oid>, keep: &HashSet<Oid>) -> Vec<Oid> {
    all.into_iter().filter(|o| !keep.contains(o)).collect()
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
