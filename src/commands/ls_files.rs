//! `git dvc ls-files [<rev>] [--long] [--json]`.

use anyhow::Result;
use serde::Serialize;

use crate::cli::LsFilesArgs;
use crate::context::Ctx;
use crate::tracked::{self, TrackedFile};
use crate::ui::human_size;
use crate::worktree::{WorktreeState, worktree_state};

#[derive(Serialize)]
struct Row<'a> {
    path: &'a str,
    oid: String,
    size: u64,
    worktree: WorktreeState,
}

/// Runs `git dvc ls-files`.
pub fn run(args: &LsFilesArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let files = match &args.rev {
        Some(rev) => tracked::in_rev(&ctx.repo, rev)?,
        None => tracked::in_index(&ctx.repo)?,
    };
    let root = ctx.repo.workdir.clone();
    let state = |f: &TrackedFile| match &root {
        Some(r) => worktree_state(r, f),
        None => WorktreeState::Missing,
    };
    if args.json {
        let rows: Vec<Row> = files
            .iter()
            .map(|f| Row {
                path: &f.path,
                oid: format!("sha256:{}", f.pointer.oid),
                size: f.pointer.size,
                worktree: state(f),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut out = String::new();
    for f in &files {
        let mark = if state(f) == WorktreeState::Content {
            '*'
        } else {
            '-'
        };
        if args.long {
            out.push_str(&format!(
                "{} {mark} {} ({} bytes)\n",
                f.pointer.oid, f.path, f.pointer.size
            ));
        } else {
            out.push_str(&format!(
                "{} {mark} {} ({})\n",
                f.pointer.oid.short(10),
                f.path,
                human_size(f.pointer.size)
            ));
        }
    }
    print!("{out}");
    Ok(())
}
