//! `git dvc diff [<rev> [<rev>]] [--json]`: tracked data that changed.

use anyhow::Result;

use crate::cli::DiffArgs;
use crate::context::Ctx;
use crate::worktree::{Obj, diff, rev_side, worktree_side};

/// Runs `git dvc diff`.
pub fn run(args: &DiffArgs) -> Result<()> {
    let ctx = Ctx::open()?;
    let old = rev_side(&ctx.repo, args.old.as_deref().unwrap_or("HEAD"))?;
    let new = match &args.new {
        Some(rev) => rev_side(&ctx.repo, rev)?,
        None => worktree_side(&ctx.repo)?,
    };
    let diff = diff(&old, &new);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&diff)?);
        return Ok(());
    }
    let short = |o: &Obj| format!("{}…", &o.oid[7..15]);
    let mut out = String::new();
    for c in &diff.added {
        let n = c.new.as_ref().expect("added has new");
        out.push_str(&format!(
            "added:    {} (size {}, oid {})\n",
            c.path,
            n.size,
            short(n)
        ));
    }
    for c in &diff.modified {
        let (o, n) = (c.old.as_ref().expect("old"), c.new.as_ref().expect("new"));
        out.push_str(&format!(
            "modified: {} (size {} -> {}, oid {} -> {})\n",
            c.path,
            o.size,
            n.size,
            short(o),
            short(n)
        ));
    }
    for c in &diff.deleted {
        let o = c.old.as_ref().expect("deleted has old");
        out.push_str(&format!(
            "deleted:  {} (size {}, oid {})\n",
            c.path,
            o.size,
            short(o)
        ));
    }
    print!("{out}");
    Ok(())
}
