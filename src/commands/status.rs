//! `git dvc status [--json]`: the local state of every tracked file.

use anyhow::Result;

use crate::cli::StatusArgs;
use crate::context::Ctx;
use crate::worktree::{FileStatus, file_statuses};

/// Runs `git dvc status`.
pub fn run(args: &StatusArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let rows = file_statuses(&ctx, args.remote.as_deref())?;
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
