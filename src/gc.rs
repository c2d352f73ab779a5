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
