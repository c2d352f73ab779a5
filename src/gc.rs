//! What gc keeps: the objects HEAD, the index, the worktree, stashes and
//! other worktrees refer to (and more on request), and which objects some
//! remote other than the one being cleaned still holds.

use std::collections::HashSet;

use anyhow::Result;

use crate::context::Ctx;
use crate::oid::Oid;
use crate::repo::Repo;
use crate::sync::open_transfer;
use crate::tracked;
use crate::transfer::Transfer;
use crate::ui;
use crate::worktree::{modified_paths, pointer_of};

/// What gc keeps beyond HEAD, the index, the worktree, stashes and other
/// worktrees' checkouts.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepAlso {
    /// Every branch tip.
    pub all_branches: bool,
    /// Every tag.
    pub all_tags: bool,
    /// Every commit reachable from any ref.
    pub all_commits: bool,
}

/// Every oid the kept revisions, index and worktrees refer to.
pub fn keep_set(repo: &Repo, args: &KeepAlso) -> Result<HashSet<Oid>> {
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
        let modified = modified_paths(repo)?;
        for path in modified {
            if let Ok(Some(p)) = pointer_of(&root.join(&path)) {
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
pub fn held_elsewhere(ctx: &Ctx, oids: &[Oid], except: Option<&str>) -> HashSet<Oid> {
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

/// How gc sweeps.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    /// Delete unused objects even when no other copy is known.
    pub force: bool,
    /// Count, delete nothing.
    pub dry_run: bool,
}

/// What a sweep removed (or, dry, would remove) and kept.
#[derive(Debug, Default)]
pub struct Swept {
    /// Objects removed.
    pub removed: usize,
    /// Their bytes (cache sweeps only).
    pub bytes: u64,
    /// Unused objects kept because they may be the last copy.
    pub kept: usize,
    /// Their bytes (cache sweeps only).
    pub kept_bytes: u64,
    /// Temp files of interrupted commands removed, and their bytes.
    pub temps: (usize, u64),
}

/// The objects of `all` that nothing kept refers to.
fn unused(all: Vec<Oid>, keep: &HashSet<Oid>) -> Vec<Oid> {
    all.into_iter().filter(|o| !keep.contains(o)).collect()
}

fn verb(how: Sweep) -> &'static str {
    if how.dry_run {
        "Would remove"
    } else {
        "Removed"
    }
}

/// Removes the cache's unused objects that some remote holds (all of
/// them with `force`), and the temp files interrupted commands left.
pub fn sweep_cache(ctx: &Ctx, keep: &HashSet<Oid>, how: Sweep) -> Result<Swept> {
    let unused = unused(ctx.cache.list()?, keep);
    let held = if how.force {
        HashSet::new()
    } else {
        held_elsewhere(ctx, &unused, None)
    };
    let mut swept = Swept::default();
    for oid in unused {
        let size = std::fs::metadata(ctx.cache.object_path(&oid))
            .map(|m| m.len())
            .unwrap_or(0);
        if !how.force && !held.contains(&oid) {
            swept.kept += 1;
            swept.kept_bytes += size;
            continue;
        }
        if !how.dry_run {
            ctx.cache.remove(&oid)?;
        }
        ui::verbose(&format!("{} {oid}", verb(how)));
        swept.removed += 1;
        swept.bytes += size;
    }
    if !how.dry_run {
        swept.temps = ctx.cache.remove_stale_temps()?;
    }
    Ok(swept)
}

/// Removes the remote's unused objects that the cache or another remote
/// still holds (all of them with `force`), and its stale temp files.
pub fn sweep_remote(
    ctx: &Ctx,
    transfer: &Transfer,
    keep: &HashSet<Oid>,
    how: Sweep,
) -> Result<Swept> {
    let listed = transfer.list()?.into_iter().map(|(o, _)| o).collect();
    let unused = unused(listed, keep);
    // The last copy is the remote's unless the cache or another
    // remote still has the object.
    let held = if how.force {
        HashSet::new()
    } else {
        let mut h = held_elsewhere(ctx, &unused, Some(transfer.remote_name()));
        h.extend(unused.iter().filter(|o| ctx.cache.contains(o)).copied());
        h
    };
    let mut swept = Swept::default();
    let doomed: Vec<Oid> = unused
        .iter()
        .filter(|oid| how.force || held.contains(oid))
        .copied()
        .collect();
    swept.kept = unused.len() - doomed.len();
    swept.removed = doomed.len();
    if !how.dry_run {
        if let Some((_, e)) = transfer.delete_all(&doomed).into_iter().next() {
            return Err(e.into());
        }
    }
    if !how.dry_run {
        swept.temps = transfer.remove_stale_temps()?;
    }
    Ok(swept)
}
