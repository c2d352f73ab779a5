//! `git dvc gc`: delete cache (or remote) objects nothing kept refers to.
//!
//! Always kept: HEAD, the index, the worktree, stashes and the HEADs of
//! other worktrees (git-lfs's users lost staged and stashed data to
//! narrower keep sets). `--all-branches`, `--all-tags`, `--all-commits`
//! keep more. An object no remote is known to hold is never deleted
//! without `--force`: gc must not destroy the last copy of anything.

use std::collections::HashSet;

use anyhow::Result;

use super::Ctx;
use super::transfer_common::open_transfer;
use crate::cli::GcArgs;
use crate::oid::Oid;
use crate::tracked;
use crate::ui::{self, human_size};

/// Every oid the kept revisions, index and worktrees refer to.
pub fn keep_set(ctx: &Ctx, args: &GcArgs) -> Result<HashSet<Oid>> {
    let repo = &ctx.repo;
    let mut keep: HashSet<Oid> = HashSet::new();
    let mut add =
        |files: Vec<tracked::TrackedFile>| keep.extend(files.into_iter().map(|f| f.pointer.oid));
    if repo.git.head().is_ok() {
        add(tracked::in_rev(repo, "HEAD")?);
    }
    add(tracked::in_index_all(repo)?);
    // The worktree: modified tracked files, whose content `git status` may
    // have stored already.
    if let Some(root) = repo.workdir.clone() {
        let modified = super::status::modified_paths(ctx)?;
        for path in modified {
            if let Ok(Some(p)) = super::pointer::pointer_of(&root.join(&path)) {
                add(vec![tracked::TrackedFile { path, pointer: p }]);
            }
        }
    }
    let mut revs: Vec<String> = Vec::new();
    // Stashes: the stash commit, its index and untracked parents.
    let stashes = repo
        .git_output(["stash", "list", "--format=%H"])
        .unwrap_or_default();
    for sha in String::from_utf8_lossy(&stashes).lines() {
        revs.push(sha.to_string());
        revs.push(format!("{sha}^2"));
    }
    // Other worktrees' checkouts.
    let wts = repo
        .git_output(["worktree", "list", "--porcelain"])
        .unwrap_or_default();
    for line in String::from_utf8_lossy(&wts).lines() {
        if let Some(sha) = line.strip_prefix("HEAD ") {
            revs.push(sha.to_string());
        }
    }
    let mut list = |args: &[&str]| -> Result<()> {
        let out = repo.git_output(args)?;
        revs.extend(String::from_utf8_lossy(&out).lines().map(str::to_string));
        Ok(())
    };
    if args.all_branches {
        list(&["for-each-ref", "--format=%(objectname)", "refs/heads"])?;
    }
    if args.all_tags {
        list(&["for-each-ref", "--format=%(objectname)", "refs/tags"])?;
    }
    for rev in revs {
        if let Ok(files) = tracked::in_rev(repo, &rev) {
            add(files);
        }
    }
    if args.all_commits {
        add(tracked::in_history(repo, &["--all".to_string()], &[])?);
    }
    Ok(keep)
}

/// Of `oids`, those some configured remote other than `except` holds.
fn held_elsewhere(ctx: &Ctx, oids: &[Oid], except: Option<&str>) -> HashSet<Oid> {
    let mut held = HashSet::new();
    for name in ctx.config.remotes.keys() {
        if Some(name.as_str()) == except {
            continue;
        }
        let Ok(transfer) = open_transfer(ctx, Some(name)) else {
            continue;
        };
        let todo: Vec<Oid> = oids
            .iter()
            .filter(|o| !held.contains(*o))
            .copied()
            .collect();
        match transfer.missing_on_remote(&todo) {
            Ok(missing) => {
                let missing: HashSet<Oid> = missing.into_iter().collect();
                held.extend(todo.into_iter().filter(|o| !missing.contains(o)));
            }
            Err(e) => ui::warn(&format!("cannot check what remote '{name}' holds: {e}")),
        }
    }
    held
}

/// Runs `git dvc gc`.
pub fn run(args: &GcArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let keep = keep_set(&ctx, args)?;
    let verb = if args.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    match &args.remote {
        None => {
            let unused: Vec<Oid> = ctx
                .cache
                .list()?
                .into_iter()
                .filter(|o| !keep.contains(o))
                .collect();
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
            let on_remote = transfer.block_on(transfer.remote().list())?;
            let unused: Vec<Oid> = on_remote
                .into_iter()
                .filter(|o| !keep.contains(o))
                .collect();
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
                    transfer.block_on(transfer.remote().delete(oid))?;
                }
                removed += 1;
            }
            ui::info(&format!(
                "{verb} {removed} object{} from remote '{}'.",
                plural(removed),
                transfer.remote_name()
            ));
            if !args.dry_run {
                let temps = transfer.block_on(transfer.remote().remove_stale_temps())?;
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
