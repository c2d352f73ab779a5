//! `git dvc status [--json]`: the local state of every tracked file.

use std::collections::HashSet;

use anyhow::Result;
use serde::Serialize;

use crate::cli::StatusArgs;
use crate::context::Ctx;
use crate::sync;
use crate::tracked;
use crate::worktree::{WorktreeState, modified_paths, worktree_state};

#[derive(Serialize, Default)]
struct FileStatus {
    path: String,
    /// Absent for files not in the index yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    oid: Option<String>,
    size: u64,
    /// The worktree content differs from what the index records.
    modified: bool,
    /// The object is in the local cache.
    in_cache: bool,
    /// The worktree holds content, not the pointer text.
    materialized: bool,
    /// The worktree file is gone.
    deleted: bool,
    /// The remote holds the object (only with `--remote`).
    #[serde(skip_serializing_if = "Option::is_none")]
    on_remote: Option<bool>,
    /// A new file under a tracked pattern, not staged yet.
    #[serde(skip_serializing_if = "is_false")]
    untracked: bool,
    /// A merge conflict: both sides changed the data.
    #[serde(skip_serializing_if = "is_false")]
    conflicted: bool,
    /// A pointer in the index at a path no tracked pattern covers.
    #[serde(skip_serializing_if = "is_false")]
    outside_patterns: bool,
}

fn is_false(b: &bool) -> bool {
    !b
}

/// Runs `git dvc status`.
pub fn run(args: &StatusArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let root = ctx.repo.workdir()?.to_path_buf();
    let files = tracked::in_index(&ctx.repo)?;
    let stray: HashSet<String> = tracked::outside_patterns(&ctx.repo, &files)?
        .into_iter()
        .map(|f| f.path)
        .collect();
    let modified = if files.is_empty() {
        HashSet::new()
    } else {
        modified_paths(&ctx.repo)?
    };
    let missing_on_remote: Option<HashSet<crate::oid::Oid>> = match &args.remote {
        Some(name) => {
            let name = Some(name.as_str()).filter(|n| !n.is_empty());
            let transfer = sync::open_transfer(&ctx, name)?;
            let oids: Vec<_> = files.iter().map(|f| f.pointer.oid).collect();
            Some(transfer.missing_on_remote(&oids)?.into_iter().collect())
        }
        None => None,
    };
    let mut rows: Vec<FileStatus> = files
        .iter()
        .map(|f| {
            let state = worktree_state(&root, f);
            FileStatus {
                path: f.path.clone(),
                oid: Some(format!("sha256:{}", f.pointer.oid)),
                size: f.pointer.size,
                modified: state == WorktreeState::Content && modified.contains(&f.path),
                in_cache: ctx.cache.contains(&f.pointer.oid),
                materialized: state == WorktreeState::Content,
                deleted: state == WorktreeState::Missing,
                on_remote: missing_on_remote
                    .as_ref()
                    .map(|m| !m.contains(&f.pointer.oid)),
                outside_patterns: stray.contains(&f.path),
                ..FileStatus::default()
            }
        })
        .collect();
    for path in tracked::conflicted(&ctx.repo)? {
        rows.push(FileStatus {
            path,
            conflicted: true,
            materialized: true,
            in_cache: true,
            ..FileStatus::default()
        });
    }
    for path in tracked::untracked_under_patterns(&ctx.repo)? {
        let size = std::fs::metadata(root.join(&path)).map_or(0, |m| m.len());
        rows.push(FileStatus {
            path,
            size,
            untracked: true,
            materialized: true,
            in_cache: true,
            ..FileStatus::default()
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut out = String::new();
    let mut section = |title: &str, pick: &dyn Fn(&FileStatus) -> bool| {
        let paths: Vec<&str> = rows
            .iter()
            .filter(|r| pick(r))
            .map(|r| r.path.as_str())
            .collect();
        if !paths.is_empty() {
            out.push_str(title);
            out.push('\n');
            for p in paths {
                out.push_str(&format!("\t{p}\n"));
            }
        }
    };
    section(
        "Unmerged (both sides changed the data; `git add` the version to keep):",
        &|r| r.conflicted,
    );
    section("Modified (worktree differs from the index):", &|r| {
        r.modified && !r.outside_patterns
    });
    section("New, not staged yet (run `git add`):", &|r| r.untracked);
    section("Deleted from the worktree:", &|r| r.deleted);
    section("Not in cache (run `git dvc pull`):", &|r| !r.in_cache);
    section(
        "Not checked out (pointer in the worktree; run `git dvc checkout`):",
        &|r| !r.materialized && !r.deleted && r.in_cache,
    );
    section("Not on remote (run `git dvc push`):", &|r| {
        r.on_remote == Some(false)
    });
    section(
        "Pointers at paths no tracked pattern covers (run `git dvc track <path>`, then `git add <path>`):",
        &|r| r.outside_patterns,
    );
    if out.is_empty() {
        out.push_str("Everything is up to date.\n");
    }
    print!("{out}");
    Ok(())
}
